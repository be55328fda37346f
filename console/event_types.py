"""The vocabulary of the event bus (:mod:`console.events`): the :class:`Event`, its
type and pattern aliases, the backpressure :class:`Policy`, the counters of a
subscription, and patterns: :func:`matches` (``?`` one segment, a trailing ``*`` the
rest), :func:`topic_pattern` (an MQTT topic filter as a pattern) and
:func:`event_pattern` (a monitor's ``events`` entry as a pattern).

Everything here is re-exported by :mod:`console.events`; import it from there.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

__all__ = [
    "DEFAULT_MAXSIZE",
    "DEFAULT_SNAPSHOT_LIMIT",
    "Event",
    "EventHandler",
    "EventType",
    "JsonValue",
    "Pattern",
    "Policy",
    "SubscriptionStats",
    "event_pattern",
    "matches",
    "matches_any",
    "topic_pattern",
    "validate_pattern",
]

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
EventType: TypeAlias = tuple[str, ...]
Pattern: TypeAlias = tuple[str, ...]
EventHandler: TypeAlias = Callable[[Any], Awaitable[None] | None]

#: How many distinct event types :meth:`EventManager.snapshot` remembers before the
#: least recently published ones are forgotten (bounded memory with 100k+ topics).
DEFAULT_SNAPSHOT_LIMIT = 200_000
#: Default per-subscription queue bound (events, or distinct types for coalescing).
DEFAULT_MAXSIZE = 10_000


class Event(NamedTuple):
    """One thing that happened, as published on the bus. Immutable.

    A :class:`~typing.NamedTuple` rather than a frozen dataclass: an event is made
    on every publish, and a named tuple is built in about 200 ns where a frozen
    dataclass takes about 500 ns (its ``__init__`` goes through
    ``object.__setattr__`` per field). Use ``event._replace(...)`` for a copy.

    Attributes:
        type: hierarchical event type, e.g. ``("snmp", "core-sw1", "read",
            "1.3.6.1.2.1.1.3.0")``.
        payload: JSON-serialisable data (so events can cross a broker or a file).
        timestamp: wall-clock time the bus accepted the event, seconds since the epoch.
        source_timestamp: when the source says it happened (seconds since the epoch),
            or ``None`` when the source gives no time.
        seq: bus-wide sequence number, strictly increasing in publish order.
    """

    type: EventType
    payload: JsonValue
    timestamp: float
    source_timestamp: float | None
    seq: int

    def to_json(self) -> dict[str, JsonValue]:
        """Return the event as a JSON-ready dict: ``seq``, ``type`` (list),
        ``timestamp``, ``source_timestamp`` and ``payload``."""
        return {
            "seq": self.seq,
            "type": list(self.type),
            "timestamp": self.timestamp,
            "source_timestamp": self.source_timestamp,
            "payload": self.payload,
        }


class Policy(enum.Enum):
    """Backpressure policy of one subscription (see the module docstring)."""

    DROP_OLDEST = "drop_oldest"
    LATEST_PER_TYPE = "latest_per_type"
    BLOCK = "block"


@dataclass(slots=True)
class SubscriptionStats:
    """Counters of one subscription, readable at any time (the status bar shows them).

    Attributes:
        delivered: events handed to the handler (each event of a batch counts).
        dropped: events discarded because the queue was full.
        coalesced: events replaced by a newer event of the same type
            (``LATEST_PER_TYPE`` only).
        overflow: events kept past ``maxsize`` by a non-waiting publish into a
            ``BLOCK`` subscription.
        errors: handler calls that raised.
    """

    delivered: int = 0
    dropped: int = 0
    coalesced: int = 0
    overflow: int = 0
    errors: int = 0


def validate_pattern(pattern: Sequence[str]) -> Pattern:
    pattern = tuple(pattern)
    for i, segment in enumerate(pattern):
        if not isinstance(segment, str):
            raise TypeError(f"pattern segment {segment!r} is not a string")
        if segment == "*" and i != len(pattern) - 1:
            raise ValueError(f"'*' may only be the last segment of a pattern: {pattern!r}")
    return pattern


def matches(pattern: Pattern, event_type: EventType) -> bool:
    """Tell whether ``event_type`` matches ``pattern``.

    ``"?"`` matches one segment; a trailing ``"*"`` matches zero or more segments.

    >>> matches(("snmp", "?", "read", "*"), ("snmp", "sw1", "read", "1.3.6.1"))
    True
    >>> matches(("snmp", "?"), ("snmp", "sw1", "status"))
    False
    """
    if pattern and pattern[-1] == "*":
        head = pattern[:-1]
        if len(event_type) < len(head):
            return False
    else:
        head = pattern
        if len(event_type) != len(head):
            return False
    return all(p == "?" or p == s for p, s in zip(head, event_type, strict=False))


def topic_pattern(topic_filter: str) -> tuple[str, ...]:
    """The bus pattern of the message events an MQTT topic filter selects:
    ``site/+/temp`` -> ``("mqtt", "?", "message", "site", "?", "temp")``, ``#`` -> ``*``.
    A filter ending in ``/#`` also matches its parent (MQTT 3.1.1 §4.7.1.2), as the
    trailing ``*`` matches zero segments."""
    levels = ["?" if level == "+" else "*" if level == "#" else level
              for level in topic_filter.split("/")]  # fmt: skip
    return ("mqtt", "?", "message", *levels)


def event_pattern(text: str | Sequence[str]) -> tuple[str, ...]:
    """A monitor ``events`` entry as a bus pattern: a string is split on ``/``
    (``"snmp/?/trap/*"``), a list is taken segment by segment (for segments holding a
    ``/``, such as an Astarte path).

    Raises:
        ValueError: empty, an empty segment, or ``*`` before the last segment.
    """
    segments = tuple(text.split("/")) if isinstance(text, str) else tuple(text)
    shown = text if isinstance(text, str) else "/".join(segments)
    if not segments or segments == ("",):
        raise ValueError("an event pattern must not be empty")
    if any(segment == "" for segment in segments):
        raise ValueError(f"{shown!r} is not an event pattern: a segment is empty")
    if "*" in segments[:-1]:
        raise ValueError(
            f"{shown!r} is not an event pattern: '*' may only be the last segment, "
            "like 'snmp/?/trap/*'"
        )
    return segments


def matches_any(patterns: tuple[Pattern, ...], event_type: EventType) -> bool:
    """Whether ``event_type`` matches one of ``patterns``."""
    return any(matches(pattern, event_type) for pattern in patterns)
