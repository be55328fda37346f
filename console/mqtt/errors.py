"""Every exception the MQTT backend raises to its callers, in one place.

The hierarchy (as httpx's ``_exceptions.py``, each class documents when it is raised)::

    ValueError
    ├── InterfaceError        an Astarte interface file is not a valid interface
    └── ValidationError       a path or value does not fit an interface
    Exception
    └── MqttError             a broker connection refused a request
        └── MqttNotConnectedError (also a ConnectionError)
                              an operator publish while the broker is not CONNECTED

Bad input is a :class:`ValueError` (the configuration checker and the operator
forms report ``str(error)`` as it is); a broker that cannot do what was asked is an
:class:`MqttError`. A publish that reaches the broker but fails is not an exception:
it is a :class:`~console.mqtt.publishes.PublishResult` with ``success`` false.
Messages never contain a password or a whole payload.
"""

from __future__ import annotations

__all__ = ["InterfaceError", "MqttError", "MqttNotConnectedError", "ValidationError"]


class InterfaceError(ValueError):
    """An interface file is not a valid Astarte interface.

    Attributes:
        file: the file name (or the name given to
            :func:`~console.mqtt.interfaces.parse_interface`).
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


class MqttError(Exception):
    """Base class of the errors a broker connection raises to callers."""


class MqttNotConnectedError(MqttError, ConnectionError):
    """An operator publish was asked while the broker is not ``CONNECTED``."""
