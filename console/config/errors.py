"""The configuration package's exceptions and the problem record they carry.

Hierarchy (everything a caller of :mod:`console.config` may see)::

    Exception
    ├── ConfigError        the file or text is not a valid configuration; carries
    │                      every Problem found (load_config, parse_config)
    └── ValueError         a single value is not of its form (raised by the public
                           value checks: normalize_oid, check_snmp_object, and the
                           schema's format checks, which jsonschema turns into
                           Problems)

Internal, never leaving the package:

    Exception
    └── DocumentTooLarge   aliases expand the document past the node budget;
                           becomes a Problem

:func:`console.config.check_config` never raises for a bad file: every failure,
unreadable, undecodable, malformed or too deep, is a :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ConfigError", "DocumentTooLarge", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file.

    Attributes:
        file: the file name as given (or the ``source`` of :func:`parse_config`).
        line: 1-based line of the offending key or value, or ``None`` for problems
            about the whole file (unreadable, empty).
        field: dotted path of the offending field, such as
            ``devices[0].snmp.community``; ``""`` for the whole document.
        message: what is wrong and, when possible, how to fix it. Never contains a
            secret value.

    ``str(problem)`` is ``file:line: field: message`` (the line and field parts are
    left out when absent).
    """

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """The configuration is invalid. ``problems`` lists every problem found (at least
    one), sorted by line; ``str()`` is one ``file:line: field: message`` per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class DocumentTooLarge(Exception):
    """Internal: aliases expand the document past the node budget
    (:data:`console.config.source.MAX_ALIASED_NODES`); reported as a Problem."""
