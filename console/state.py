"""The fleet as the UI shows it: plain Python folded from bus events, no Textual.

:class:`FleetState` keeps each device's status and poll statistics and the latest
value of every OID with its change count; :meth:`FleetState.apply` folds a batch of
events and returns the :class:`Changes`. The bridge (``console/bridge.py``) feeds it
from the bus; the screens read it. Keeping it out of the bridge keeps the
Textual-aware part of the core thin and this part testable without a terminal.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from console.events import DEFAULT_SNAPSHOT_LIMIT, Event, JsonValue

__all__ = [
    "CONNECTED",
    "Changes",
    "DeviceState",
    "FleetState",
    "ValueKey",
    "ValueState",
]

mlog = logging.getLogger(__name__)

ValueKey: TypeAlias = tuple[str, str]
"""``(device, oid)``: the key of one polled value (and of its table row)."""

CONNECTED = "CONNECTED"
"""The status of a device that answers."""


@dataclass(slots=True)
class DeviceState:
    """What the UI knows of one device, from its status and poll events.

    Attributes:
        name: the device name.
        status: ``CONNECTING``, ``CONNECTED``, ``DISCONNECTED``, or ``None`` before
            the first status event.
        reason: why the status is what it is (``None`` when the source gave none).
        status_since: when the status last changed (s since the epoch).
        rtt_ms: mean round trip of the last polling cycle, in milliseconds.
        values: OIDs that returned a value in the last cycle.
        errors: failed requests and error values since the poller started.
        polls: completed polling cycles since the poller started.
        last_poll: when the last cycle completed (s since the epoch).
    """

    name: str
    status: str | None = None
    reason: str | None = None
    status_since: float | None = None
    rtt_ms: float | None = None
    values: int | None = None
    errors: int | None = None
    polls: int | None = None
    last_poll: float | None = None


@dataclass(slots=True)
class ValueState:
    """The latest value of one polled OID.

    Attributes:
        device: the device name.
        oid: the dotted numeric OID.
        data_type: the SNMP data type (``docs/events.md``), e.g. ``COUNTER``.
        value: the value as published.
        cause: ``INTERROGATE``, ``CHANGE`` or ``REQUESTED``.
        first_seen: when the UI first saw the OID (s since the epoch).
        last_change: when the value last changed, or was first seen.
        changes: value changes the UI has seen since it started.
    """

    device: str
    oid: str
    data_type: str
    value: JsonValue
    cause: str
    first_seen: float
    last_change: float
    changes: int = 0

    @property
    def key(self) -> ValueKey:
        """``(device, oid)``."""
        return (self.device, self.oid)


@dataclass(slots=True)
class Changes:
    """What changed in a :class:`FleetState`: device names and value keys."""

    devices: set[str] = field(default_factory=set)
    values: set[ValueKey] = field(default_factory=set)

    def merge(self, other: Changes) -> None:
        """Add everything ``other`` holds to this set of changes."""
        self.devices |= other.devices
        self.values |= other.values

    def __bool__(self) -> bool:
        return bool(self.devices or self.values)


class FleetState:
    """The fleet as the UI shows it, folded from bus events (no Textual).

    Values are bounded like the bus snapshot: past ``value_limit`` OIDs, the least
    recently updated one is forgotten.
    """

    def __init__(self, *, value_limit: int = DEFAULT_SNAPSHOT_LIMIT) -> None:
        self.devices: dict[str, DeviceState] = {}
        """Known devices by name (any device that published something)."""
        self._values: OrderedDict[ValueKey, ValueState] = OrderedDict()
        self._by_device: dict[str, dict[str, ValueState]] = {}
        self._value_limit = value_limit

    # -- reading -------------------------------------------------------------------

    def device(self, name: str) -> DeviceState:
        """Return the state of device ``name`` (an empty one if nothing is known)."""
        return self.devices.get(name) or DeviceState(name)

    def value(self, key: ValueKey) -> ValueState | None:
        """Return the latest value of ``(device, oid)``, or ``None``."""
        return self._values.get(key)

    def values(self, device: str | None = None) -> Iterator[ValueState]:
        """Iterate over the values of ``device`` (every device when ``None``), in the
        order each OID was first seen, so table rows keep their places."""
        if device is None:
            return iter(list(self._values.values()))
        return iter(list(self._by_device.get(device, {}).values()))

    def __len__(self) -> int:
        return len(self._values)

    # -- folding -------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> Changes:
        """Fold ``events`` into the state; return what changed.

        Events that are not SNMP status, poll or read events, or whose payload does
        not follow ``docs/events.md``, are ignored (and logged at debug level).
        """
        changes = Changes()
        for event in events:
            try:
                self._apply_one(event, changes)
            except (KeyError, TypeError, ValueError) as exc:
                mlog.debug("ignoring malformed event %s: %s", "/".join(event.type), exc)
        return changes

    def _apply_one(self, event: Event, changes: Changes) -> None:
        kind = event.type[2] if len(event.type) >= 3 and event.type[0] == "snmp" else None
        payload = event.payload
        if kind is None or not isinstance(payload, dict):
            return
        device = event.type[1]
        when = event.source_timestamp if event.source_timestamp is not None else event.timestamp
        if kind == "status" and len(event.type) == 3:
            self._apply_status(device, payload, when)
            changes.devices.add(device)
        elif kind == "poll" and len(event.type) == 3:
            self._apply_poll(device, payload)
            changes.devices.add(device)
        elif kind == "read" and len(event.type) == 4:
            self._apply_read(device, event.type[3], payload, when)
            changes.values.add((device, event.type[3]))

    def _device(self, name: str) -> DeviceState:
        state = self.devices.get(name)
        if state is None:
            state = self.devices[name] = DeviceState(name)
        return state

    def _apply_status(self, name: str, payload: dict[str, JsonValue], when: float) -> None:
        status = payload["status"]
        reason = payload.get("reason")
        if not isinstance(status, str):
            raise TypeError("status is not a string")
        state = self._device(name)
        if status != state.status:
            state.status_since = when
        state.status = status
        state.reason = reason if isinstance(reason, str) else None

    def _apply_poll(self, name: str, payload: dict[str, JsonValue]) -> None:
        state = self._device(name)
        state.rtt_ms = _number(payload.get("rtt_ms"))
        state.values = _integer(payload.get("values"))
        state.errors = _integer(payload.get("errors"))
        state.polls = _integer(payload.get("polls"))
        state.last_poll = _number(payload.get("last_poll"))

    def _apply_read(self, name: str, oid: str, payload: dict[str, JsonValue], when: float) -> None:
        data = payload["data"]
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
        data_type = data["type"]
        if not isinstance(data_type, str):
            raise TypeError("data type is not a string")
        value = data.get("value")
        cause = payload.get("cause")
        cause_text = cause if isinstance(cause, str) else ""
        key = (name, oid)
        state = self._values.get(key)
        if state is None:
            state = ValueState(name, oid, data_type, value, cause_text, when, when)
            self._values[key] = state
            self._by_device.setdefault(name, {})[oid] = state
            self._device(name)
            self._evict()
            return
        if (data_type, value) != (state.data_type, state.value):
            state.changes += 1
            state.last_change = when
        state.data_type = data_type
        state.value = value
        state.cause = cause_text
        self._values.move_to_end(key)

    def _evict(self) -> None:
        while len(self._values) > self._value_limit:
            (device, oid), _ = self._values.popitem(last=False)
            per_device = self._by_device.get(device)
            if per_device is not None:
                per_device.pop(oid, None)


def _number(value: JsonValue) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _integer(value: JsonValue) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
