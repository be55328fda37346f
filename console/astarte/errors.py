"""Every exception the Astarte interface model raises, in one place.

The hierarchy (as httpx's ``_exceptions.py``)::

    ValueError
    ├── InterfaceError        an Astarte interface file is not a valid interface
    └── ValidationError       a path or value does not fit an interface

Both are bad input: the configuration checker and the operator forms report
``str(error)`` as it is. Messages never contain a whole payload.
"""

from __future__ import annotations

__all__ = ["InterfaceError", "ValidationError"]


class InterfaceError(ValueError):
    """An interface file is not a valid Astarte interface.

    Attributes:
        file: the file name (or the name given to
            :func:`~console.astarte.parse_interface`).
        field: the offending field, such as ``mappings[2].type``; ``""`` for the
            whole file.
        message: what is wrong.

    ``str()`` is ``FILE: FIELD: message``.
    """

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class ValidationError(ValueError):
    """A path or value does not fit an interface; the message says what to change."""
