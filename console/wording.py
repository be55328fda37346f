"""How error messages describe a value without echoing it whole.

One vocabulary per source format, one function each way: the configuration speaks
YAML's words (a *mapping*, a *number*, an *empty value*), Astarte interfaces and MQTT
payloads speak JSON's (an *object*, a *float*, *nothing*). Messages say what a value
is (:func:`kind`) and show it only when it is a short scalar (:func:`shown`), so a
secret or a megabyte of payload never lands in an error whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["JSON_WORDS", "YAML_WORDS", "Words", "kind", "shown"]


@dataclass(frozen=True, slots=True)
class Words:
    """The words of one format for the kinds of value that differ between formats.

    Attributes:
        none: for ``None``.
        float: for a ``float``.
        mapping: for a :class:`~collections.abc.Mapping`.
        binary: for ``bytes``/``bytearray``.
        limit: strings longer than this many characters are cut in :func:`shown`.
    """

    none: str
    float: str
    mapping: str
    binary: str
    limit: int


#: The configuration file (YAML 1.1 as PyYAML reads it).
YAML_WORDS: Final = Words(
    none="an empty value", float="a number", mapping="a mapping", binary="binary data", limit=60
)
#: Astarte interfaces, their values and JSON payloads.
JSON_WORDS: Final = Words(
    none="nothing", float="a float", mapping="an object", binary="bytes", limit=40
)


def kind(value: object, words: Words = YAML_WORDS) -> str:
    """What ``value`` is, without showing it: ``"a string"``, ``"a list"``...

    YAML timestamps come out as ``"a date"`` / ``"a datetime"``; tuples are lists.
    """
    if value is None:
        return words.none
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return words.float
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes | bytearray):
        return words.binary
    if isinstance(value, dt.datetime):
        return "a datetime"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return words.mapping
    return f"a {type(value).__name__}"


def shown(value: object, words: Words = YAML_WORDS) -> str:
    """``value`` for a message: scalars as written (strings quoted and cut at
    ``words.limit`` characters, booleans in lower case), binary data by its length,
    collections by kind only."""
    if value is None:
        return words.none
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        limit = words.limit
        return repr(value if len(value) <= limit else value[: limit - 3] + "...")
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    return kind(value, words)
