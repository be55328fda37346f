"""Recent values of properties, from the live events of the bus (no Textual).

A property browser shows a sparkline of a numeric property's recent values. The
store keeps only the last value of each property, so :class:`ValueHistory` keeps
the recent ones in memory, bounded twice: at most ``points`` values per property
and at most ``keys`` properties (the least recently updated is forgotten first).

:func:`live_value` reads one event as the property it updates:

* ``("snmp", DEVICE, "read", OID)``: interface ``org.fleettop.snmp.Values`` major 1,
  path ``/`` + OID, typed as the store's feeder types it
  (:func:`console.store.snmp.property_from_data`), source ``snmp``;
* ``("mqtt", DEVICE, "property", INTERFACE, PATH)``: the Astarte value (its JSON
  form, ``docs/events.md``), source ``mqtt``; an unset has the value ``None``;
  an invalid value (``valid`` false) is not a value.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypeAlias

from console.events import Event
from console.store.browse import value_from_json
from console.store.snmp import SNMP_INTERFACE, property_from_data
from console.store.values import PropertyType, PropertyValue, Source

__all__ = [
    "LIVE_PATTERNS",
    "LiveValue",
    "PropertyKey",
    "ValueHistory",
    "live_value",
    "numeric",
]

mlog = logging.getLogger(__name__)

PropertyKey: TypeAlias = tuple[str, str, str]
"""``(device, interface, path)``: the key of one property."""

#: The bus patterns whose events :func:`live_value` reads.
LIVE_PATTERNS: Final = (("snmp", "?", "read", "*"), ("mqtt", "?", "property", "*"))
#: Values kept per property unless told otherwise.
DEFAULT_POINTS: Final = 120
#: Properties with a history unless told otherwise.
DEFAULT_KEYS: Final = 10_000


@dataclass(frozen=True, slots=True)
class LiveValue:
    """A property's new value, as an event reported it.

    Attributes:
        key: ``(device, interface, path)``.
        type: the property type.
        value: the value (``None``: the property was unset).
        updated_ms: when, ms since the epoch (the event's source time, else the bus's).
        native_type: the SNMP data type of an SNMP value, else ``None``.
        source: where it came from (``snmp`` or ``mqtt``).
    """

    key: PropertyKey
    type: PropertyType
    value: PropertyValue | None
    updated_ms: int
    native_type: str | None
    source: Source


def numeric(value: object) -> float | None:
    """``value`` as a float when it is a number (not a bool), else ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def live_value(event: Event) -> LiveValue | None:
    """The property value ``event`` reports, or ``None`` (another event, or a
    payload that does not follow ``docs/events.md``)."""
    kind, payload = event.type, event.payload
    if not isinstance(payload, dict):
        return None
    stamp = event.source_timestamp if event.source_timestamp is not None else event.timestamp
    updated_ms = int(stamp * 1000)
    try:
        if len(kind) == 4 and kind[0] == "snmp" and kind[2] == "read":
            data = payload.get("data")
            if not isinstance(data, dict):
                return None
            type_, value = property_from_data(data)
            key = (kind[1], SNMP_INTERFACE, "/" + kind[3])
            return LiveValue(key, type_, value, updated_ms, str(data["type"]), Source.SNMP)
        if len(kind) == 5 and kind[0] == "mqtt" and kind[2] == "property":
            type_name = payload.get("type")
            if payload.get("valid") is False or not isinstance(type_name, str):
                return None
            type_ = PropertyType(type_name)
            raw = payload.get("value")
            live = None if payload.get("unset") is True else value_from_json(type_, raw)
            return LiveValue(
                (kind[1], kind[3], kind[4]), type_, live, updated_ms, None, Source.MQTT
            )
    except (ValueError, KeyError, TypeError) as exc:
        mlog.debug("not a live value: %s: %s", "/".join(kind), exc)
    return None


class ValueHistory:
    """Recent numeric values per property, bounded (see the module doc).

    Args:
        points: values kept per property (the oldest is dropped first).
        keys: properties kept (the least recently updated is forgotten first).
    """

    def __init__(self, *, points: int = DEFAULT_POINTS, keys: int = DEFAULT_KEYS) -> None:
        if points < 1 or keys < 1:
            raise ValueError("points and keys must be positive")
        self._points = points
        self._keys = keys
        self._series: OrderedDict[PropertyKey, deque[tuple[int, float]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._series)

    def add(self, key: PropertyKey, updated_ms: int, value: object) -> bool:
        """Append ``value`` at ``updated_ms`` to ``key``'s history; True when kept (a
        number not older than the last point: a value already seen is not repeated)."""
        number = numeric(value)
        if number is None:
            return False
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = deque(maxlen=self._points)
            if len(self._series) > self._keys:
                self._series.popitem(last=False)
        else:
            self._series.move_to_end(key)
            if series and updated_ms <= series[-1][0]:
                if updated_ms == series[-1][0]:
                    series[-1] = (updated_ms, number)
                return updated_ms == series[-1][0]
        series.append((updated_ms, number))
        return True

    def values(self, key: PropertyKey) -> list[float]:
        """``key``'s recent values, oldest first (empty when none)."""
        series = self._series.get(key)
        return [value for _, value in series] if series else []

    def fold(self, events: Iterable[Event]) -> dict[PropertyKey, LiveValue]:
        """Add every numeric value ``events`` report; return the newest
        :class:`LiveValue` per property (numeric or not)."""
        latest: dict[PropertyKey, LiveValue] = {}
        for event in events:
            live = live_value(event)
            if live is None:
                continue
            latest[live.key] = live
            self.add(live.key, live.updated_ms, live.value)
        return latest
