"""Property paths and the ``path_filter`` of the store's queries.

Paths are Astarte-style: they start with ``/`` and their levels are separated by
``/`` (``/sensors/temp/value``; the SNMP feeder's paths are ``/`` + the numeric OID,
one level). A ``path_filter`` is one of:

* an MQTT-style pattern, when it contains ``+`` or ``#``: ``+`` matches exactly one
  level, ``#`` (only as the last level) matches that level and everything below, and
  also the parent itself, as in MQTT (``/sensors/#`` matches ``/sensors``). Matching
  is case-sensitive. A pattern without a leading ``/`` gets one (``sensors/+`` is
  ``/sensors/+``; ``#`` alone matches every path);
* otherwise a substring, matched case-insensitively for ASCII letters
  (``temp`` matches ``/sensors/Temp/value``).

For a pattern, SQLite first narrows the rows with a ``LIKE`` on the literal prefix
(before the first wildcard) and a ``GLOB`` in which every ``+`` is a ``*`` (a
superset of the matches, checked in C), then :func:`path_matches`, registered on
the read connection as the SQL function :data:`SQL_FUNCTION`, decides exactly with
MQTT's matcher (:func:`console.topics.levels_match`).
"""

from __future__ import annotations

import functools
from typing import Final, NamedTuple

from console.topics import levels_match

__all__ = [
    "SQL_FUNCTION",
    "PathFilter",
    "check_text",
    "compile_path_filter",
    "is_pattern",
    "path_matches",
    "validate_path",
]

#: Name of the SQL function ``fleettop_path_match(pattern, path) -> 0 | 1``.
SQL_FUNCTION: Final = "fleettop_path_match"
_LIKE_ESCAPE: Final = "\\"


class PathFilter(NamedTuple):
    """A compiled ``path_filter``: an SQL condition on the ``path`` column and its
    parameters."""

    sql: str
    params: tuple[str, ...]


def check_text(kind: str, text: str) -> str:
    """Return ``text`` if SQLite can store it (UTF-8 encodable: no lone surrogates).

    Raises:
        ValueError: ``text`` cannot be encoded as UTF-8.
    """
    if not text.isascii():  # O(1) in CPython: the common case costs nothing
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{kind} {text!r} is not valid Unicode ({exc.reason})") from None
    return text


def validate_path(path: object) -> str:
    """Return ``path`` if it is a valid property path.

    Raises:
        ValueError: not a string, does not start with ``/``, contains ``+``, ``#``
            (reserved for filters) or NUL, or is not valid Unicode.
    """
    if not isinstance(path, str):
        raise ValueError(f"a property path must be a string, not {type(path).__name__}")
    if not path.startswith("/"):
        raise ValueError(f"property path {path!r} must start with '/'")
    for char in ("+", "#", "\x00"):
        if char in path:
            raise ValueError(f"property path {path!r} must not contain {char!r}")
    return check_text("property path", path)


def is_pattern(path_filter: str) -> bool:
    """True when ``path_filter`` is an MQTT-style pattern (contains ``+`` or ``#``)."""
    return "+" in path_filter or "#" in path_filter


@functools.lru_cache(maxsize=64)
def _levels(pattern: str) -> tuple[str, ...]:
    """The levels of a valid pattern, with its leading ``/`` added if missing.

    Raises:
        ValueError: ``+`` or ``#`` is not a whole level, or ``#`` is not the last one.
    """
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    levels = tuple(pattern.split("/"))
    for index, level in enumerate(levels):
        if ("+" in level or "#" in level) and level not in ("+", "#"):
            raise ValueError(
                f"path filter {pattern!r}: '+' and '#' must each be a whole level"
                f" (between slashes), not part of {level!r}"
            )
        if level == "#" and index != len(levels) - 1:
            raise ValueError(f"path filter {pattern!r}: '#' may only be the last level")
    return levels


def path_matches(pattern: str, path: str) -> bool:
    """Tell whether ``path`` matches the MQTT-style ``pattern`` (see the module doc).

    >>> path_matches("/sensors/+/value", "/sensors/t1/value")
    True
    >>> path_matches("/sensors/#", "/sensors")
    True
    >>> path_matches("/sensors/+", "/sensors/t1/value")
    False

    Raises:
        ValueError: the pattern is malformed.
    """
    return levels_match(_levels(pattern), path.split("/"))


def _sql_path_match(pattern: str, path: str) -> int:
    """:func:`path_matches` for SQLite (a malformed pattern matches nothing: patterns
    are validated before a query is built)."""
    try:
        return 1 if path_matches(pattern, path) else 0
    except ValueError:
        return 0


def _like_escape(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def compile_path_filter(path_filter: str) -> PathFilter:
    """Compile a ``path_filter`` into an SQL condition on ``path``.

    Raises:
        ValueError: a malformed MQTT-style pattern (the message says why).
    """
    if not isinstance(path_filter, str):
        raise ValueError(f"a path filter must be a string, not {type(path_filter).__name__}")
    check_text("path filter", path_filter)
    if not is_pattern(path_filter):
        return PathFilter(
            f"path LIKE ? ESCAPE '{_LIKE_ESCAPE}'", (f"%{_like_escape(path_filter)}%",)
        )
    levels = _levels(path_filter)
    pattern = "/".join(levels)
    first = next(i for i, level in enumerate(levels) if level in ("+", "#"))
    prefix = "/".join(levels[:first]) + "/"
    if levels[first] == "#":
        prefix = prefix[:-1]  # '#' also matches the parent level itself
    return PathFilter(
        f"(path LIKE ? ESCAPE '{_LIKE_ESCAPE}' AND path GLOB ? AND {SQL_FUNCTION}(?, path))",
        (_like_escape(prefix) + "%", _glob(levels), pattern),
    )


def _glob(levels: tuple[str, ...]) -> str:
    """A GLOB that every path matching the pattern ``levels`` matches (a superset:
    ``+`` becomes ``*``, which also crosses slashes; ``#`` ends it with ``*``), so
    SQLite's C code drops most rows before the exact Python check runs."""
    parts: list[str] = []
    for level in levels:
        if level == "#":
            return "/".join(parts) + "*"
        parts.append("*" if level == "+" else _glob_escape(level))
    return "/".join(parts)


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)
