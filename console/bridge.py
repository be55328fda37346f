"""The bridge from the event bus to the Textual UI.

The UI is fed only through the bus. :class:`Bridge` makes one batched, coalescing
subscription (``Policy.LATEST_PER_TYPE``, a batch per frame of
:data:`FRAME_SECONDS`), folds each batch into a :class:`FleetState` (plain Python:
device statuses and poll statistics, the latest value of every OID with its change
count) and tells the app with one :class:`Bridge.Changed` message what changed.

At most one ``Changed`` message waits in the app's queue at a time: while one is
pending, later batches only add to the pending :class:`Changes`, which the handler
takes with :meth:`Bridge.take_changes`. A slow UI therefore sees fewer, larger
updates instead of a growing queue.

:meth:`Bridge.open` first folds :meth:`~console.events.EventManager.snapshot` into
the state, so a UI opened late shows the current values at once.

This module and ``console/app.py`` are the only core modules that import Textual.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from textual.message import Message
from textual.message_pump import MessagePump

from console.events import (
    DEFAULT_SNAPSHOT_LIMIT,
    Event,
    EventManager,
    JsonValue,
    Pattern,
    Policy,
    Subscription,
)

__all__ = [
    "CONNECTED",
    "FRAME_SECONDS",
    "SNMP_PATTERN",
    "Bridge",
    "Changes",
    "DeviceState",
    "FleetState",
    "ValueKey",
    "ValueState",
]

mlog = logging.getLogger(__name__)

#: How long a batch stays open: the UI renders at most this often (15 frames/s).
FRAME_SECONDS = 1 / 15
#: Everything SNMP: device statuses, poll statistics and polled values.
SNMP_PATTERN: Pattern = ("snmp", "*")

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
        """Iterate over the values of ``device``, or of every device when ``None``."""
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


class Bridge:
    """Subscribe to the bus for the UI and post :class:`Bridge.Changed` to ``target``.

    Args:
        bus: the runtime's event manager.
        target: where ``Changed`` messages go (the app).
        state: the state to fold events into.
        patterns: what to subscribe to (one coalescing subscription per pattern).
        frame: batch duration in seconds.
    """

    class Changed(Message):
        """Something in the bridge's state changed; take it with
        :meth:`Bridge.take_changes` (handler: ``on_bridge_changed``)."""

        def __init__(self, bridge: Bridge) -> None:
            super().__init__()
            self.bridge = bridge
            """The bridge that posted the message."""

    def __init__(
        self,
        bus: EventManager,
        target: MessagePump,
        state: FleetState,
        *,
        patterns: Sequence[Pattern] = (SNMP_PATTERN,),
        frame: float = FRAME_SECONDS,
    ) -> None:
        self.bus = bus
        self.state = state
        self._target = target
        self._patterns = tuple(patterns)
        self._frame = frame
        self._subscriptions: list[Subscription] = []
        self._pending = Changes()
        self._posted = False

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The bridge's live subscriptions (their ``stats`` show coalescing and drops)."""
        return tuple(self._subscriptions)

    def open(self) -> None:
        """Fold the bus snapshot into the state, then subscribe (no event is missed:
        both happen without yielding to the loop)."""
        if self._subscriptions:
            return
        for pattern in self._patterns:
            self._add(self.state.apply(self.bus.snapshot(pattern)))
            self._subscriptions.append(
                self.bus.subscribe(
                    pattern,
                    self._on_batch,
                    policy=Policy.LATEST_PER_TYPE,
                    batch_duration=self._frame,
                    name=f"ui.{'/'.join(pattern)}",
                )
            )

    def close(self) -> None:
        """Unsubscribe; the state keeps what it knows."""
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()

    def take_changes(self) -> Changes:
        """Return the changes gathered since the last call and start a new set."""
        changes, self._pending = self._pending, Changes()
        self._posted = False
        return changes

    def _on_batch(self, events: list[Event]) -> None:
        self._add(self.state.apply(events))

    def _add(self, changes: Changes) -> None:
        if not changes:
            return
        self._pending.merge(changes)
        if not self._posted:
            self._posted = self._target.post_message(self.Changed(self))
