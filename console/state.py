"""The fleet as the UI shows it: plain Python folded from bus events, no Textual.

:class:`FleetState` keeps each device's status and poll statistics and the latest
value of every OID with its change count; :meth:`FleetState.apply` folds a batch of
events and returns the :class:`Changes`. The bridge (``console/bridge.py``) feeds it
from the bus; the screens read it. Keeping it out of the bridge keeps the
Textual-aware part of the core thin and this part testable without a terminal.

Counter rates
-------------
``COUNTER`` and ``BIG_COUNTER`` values carry a per-second rate (:attr:`ValueState.
rate`) computed from two consecutive samples, ``(value, time)`` (the event's source
timestamp, else the bus's), by :func:`counter_rate`:

* the delta is taken modulo the counter's width (2^32 for ``COUNTER``, 2^64 for
  ``BIG_COUNTER``), so one wrap between two samples is counted right;
* a delta of half the counter's range or more is not a rate but a
  **discontinuity** (the counter was reset, or jumped: RFC 2578 §7.1.6 lets an
  agent do so at re-initialisation): the rate is unknown (``None``, shown ``—``)
  and the new value becomes the baseline. So a device restart, whose counters
  start again from a small value, never shows a giant rate;
* a device restart is also seen directly: when the device's ``sysUpTime.0`` goes
  back, every counter of that device loses its rate and its baseline (samples
  taken since the previous ``sysUpTime.0`` sample are kept as the new baseline);
* the poller publishes values only when they change, so a counter that stops
  moving would keep its last rate forever. A ``poll`` event of its device proves
  it was read again, unchanged: its rate becomes 0 and its baseline time moves to
  the poll's time (only for OIDs seen from polling, not for operator reads).

Last-known values
-----------------
At startup the runtime publishes every value the property store kept from an
earlier run as ``("snmp", DEVICE, "stored", OID)`` (``docs/events.md``). Each becomes
a :class:`ValueState` with ``stale=True`` and cause :data:`STORED` (unless a fresh
read of the OID is already known, which always wins); the first fresh read clears
``stale``. A stale value never serves as a counter's rate baseline, and its
replacement by the fresh read is not counted as a change: the UI did not see it
change.

Store and audit
---------------
``("store", "status")`` becomes :attr:`FleetState.store` (a :class:`StoreStatus`:
persistent or why not), and every ``("audit", DEVICE, ACTION)`` event moves
:attr:`FleetState.audit_seq`, so an audit view knows when to reload.

Alarms
------
Every ``("alarm", DEVICE, ID)`` event carries the alarm as it is now
(``Alarm.to_payload()``, ``console/notifications/alarms.py``): it becomes an
:class:`~console.notifications.alarms.Alarm` in :attr:`FleetState.alarms` (by id),
and a closed one (cleared and acknowledged) leaves it. :attr:`FleetState.unacked`
counts the open alarms not acknowledged yet (the status bar), and each device's
:attr:`DeviceState.alarm` is the severity of its worst open alarm (the device
table); ``@`` names (brokers, trap senders that are no configured device) and
``fleettop`` get no device row for it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

from console.events import DEFAULT_SNAPSHOT_LIMIT, Event, JsonValue
from console.notifications.alarms import Alarm
from console.notifications.model import Severity

if TYPE_CHECKING:
    from console.mqtt_state import MqttFold

__all__ = [
    "CONNECTED",
    "COUNTER_MODULI",
    "ONLINE",
    "STORED",
    "SYS_UPTIME",
    "Changes",
    "DeviceState",
    "FleetState",
    "StoreStatus",
    "ValueKey",
    "ValueState",
    "counter_rate",
]

mlog = logging.getLogger(__name__)

ValueKey: TypeAlias = tuple[str, str]
"""``(device, oid)``: the key of one polled value (and of its table row)."""

CONNECTED = "CONNECTED"

ONLINE = "ONLINE"
"""The status of an MQTT device that is heard from."""
"""The status of a device that answers."""

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
"""``SNMPv2-MIB::sysUpTime.0``: when it goes back, the device restarted."""

COUNTER_MODULI: dict[str, int] = {"COUNTER": 2**32, "BIG_COUNTER": 2**64}
"""The data types that get a rate, and the value at which each wraps to 0."""

STORED = "STORED"
"""The cause of a last-known value from the property store, not read yet."""

_POLLED_CAUSES = frozenset({"INTERROGATE", "CHANGE"})

Sample: TypeAlias = tuple[int, float]
"""A counter sample: ``(value, time in s since the epoch)``."""


def counter_rate(data_type: str, previous: Sample, current: Sample) -> float | None:
    """Return the per-second rate of a counter between two samples, or ``None``.

    Args:
        data_type: ``COUNTER`` (wraps at 2^32) or ``BIG_COUNTER`` (2^64).
        previous: the earlier ``(value, time)``.
        current: the later ``(value, time)``.

    Returns:
        The delta (modulo the counter's width: one wrap is counted right) per second;
        ``None`` when no time passed or the delta is half the range or more (a reset
        or a jump, not a rate: see the module docstring).
    """
    modulus = COUNTER_MODULI[data_type]
    elapsed = current[1] - previous[1]
    if elapsed <= 0:
        return None
    delta = (current[0] - previous[0]) % modulus
    if delta >= modulus // 2:
        return None
    return delta / elapsed


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
        uptime: the last ``sysUpTime.0`` sample, ``(ticks, time)``, if it is polled.
        restarts: how often ``sysUpTime.0`` went back since the UI started.
        alarm: the severity of the device's worst open alarm, or ``None``.
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
    uptime: Sample | None = None
    restarts: int = 0
    alarm: Severity | None = None
    # MQTT (console/mqtt_state.py): one row per device, both protocols' statuses
    mqtt_status: str | None = None
    mqtt_reason: str | None = None
    mqtt_since: float | None = None
    broker: str | None = None
    last_seen: float | None = None
    msg_rate: float | None = None
    messages: int | None = None


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
        session_id: the operator session of the last event (``None`` for polling).
        rate: per-second rate of a ``COUNTER`` or ``BIG_COUNTER``; ``None`` when
            unknown or not a counter (see the module docstring).
        polled: the OID has been seen from polling (``INTERROGATE`` or ``CHANGE``),
            and not removed from polling since.
        sample: the counter's baseline ``(value, time)`` for the next rate.
        stale: the value is the last one the property store knew from an earlier
            run (cause :data:`STORED`; ``first_seen`` and ``last_change`` are when it
            was read then), and no fresh read has arrived yet.
    """

    device: str
    oid: str
    data_type: str
    value: JsonValue
    cause: str
    first_seen: float
    last_change: float
    changes: int = 0
    session_id: str | None = None
    rate: float | None = None
    polled: bool = False
    sample: Sample | None = None
    stale: bool = False
    protocol: str = "snmp"

    @property
    def key(self) -> ValueKey:
        """``(device, oid)``."""
        return (self.device, self.oid)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The property store as the runtime announced it (``("store", "status")``).

    Attributes:
        persistent: values and audit entries are kept in the store file.
        path: the store file, or ``None`` when the store is disabled.
        error: why the store could not be used (locked, corrupt...), or ``None``.
    """

    persistent: bool
    path: str | None
    error: str | None

    @property
    def failed(self) -> bool:
        """True when the store is enabled but unusable: fleettop runs without
        persistence although it was asked for (an operator must see it)."""
        return not self.persistent and self.error is not None


@dataclass(slots=True)
class Changes:
    """What changed in a :class:`FleetState`: device names, value keys, and whether
    the store status, the audit log or the alarms changed."""

    devices: set[str] = field(default_factory=set)
    values: set[ValueKey] = field(default_factory=set)
    store: bool = False
    audit: bool = False
    alarms: bool = False

    def merge(self, other: Changes) -> None:
        """Add everything ``other`` holds to this set of changes."""
        self.devices |= other.devices
        self.values |= other.values
        self.store = self.store or other.store
        self.audit = self.audit or other.audit
        self.alarms = self.alarms or other.alarms

    def __bool__(self) -> bool:
        return bool(self.devices or self.values or self.store or self.audit or self.alarms)


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
        self._counters: dict[str, dict[str, ValueState]] = {}
        self._value_limit = value_limit
        self.store: StoreStatus | None = None
        """The property store's status, once announced."""
        self.audit_seq = 0
        """The bus sequence number of the latest audit event seen (0: none): it
        moves whenever an operator action is recorded."""
        self.alarms: dict[int, Alarm] = {}
        """Open alarms by id (a closed one, cleared and acknowledged, is removed)."""
        self._device_alarms: dict[str, dict[int, Alarm]] = {}
        self._alarm_devices: set[str] = set()
        from console.mqtt_state import MqttFold

        self.mqtt: MqttFold = MqttFold(self)
        """The MQTT side: brokers, value sources, seen topics, payloads."""

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

    @property
    def unacked(self) -> int:
        """Open alarms not acknowledged yet."""
        return sum(1 for alarm in self.alarms.values() if alarm.acked_at is None)

    def worst_alarm(self, device: str) -> Severity | None:
        """The severity of ``device``'s worst open alarm, or ``None``."""
        return max(
            (alarm.severity for alarm in self._device_alarms.get(device, {}).values()),
            default=None,
        )

    # -- operator changes ------------------------------------------------------------

    def stop_polling(self, key: ValueKey) -> Changes:
        """Note that the operator removed ``key`` from polling: its value stays, but
        poll events no longer prove it unchanged (its rate becomes unknown)."""
        changes = Changes()
        value = self._values.get(key)
        if value is not None:
            value.polled = False
            value.rate = None
            changes.values.add(key)
        return changes

    # -- folding -------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> Changes:
        """Fold ``events`` into the state; return what changed.

        Events that are not SNMP status, poll, read or stored events, the store
        status or audit events, or whose payload does not follow ``docs/events.md``,
        are ignored (and logged at debug level).
        """
        changes = Changes()
        for event in events:
            try:
                self._apply_one(event, changes)
            except (KeyError, TypeError, ValueError) as exc:
                mlog.debug("ignoring malformed event %s: %s", "/".join(event.type), exc)
        if self._alarm_devices:
            self._settle_alarms(changes)
        return changes

    def _apply_one(self, event: Event, changes: Changes) -> None:
        head = event.type[0] if event.type else None
        payload = event.payload
        if head == "mqtt":
            self.mqtt.apply_one(event, changes)
            return
        if head != "snmp":
            if head == "store" and event.type == ("store", "status"):
                self._apply_store(payload, changes)
            elif head == "audit" and len(event.type) == 3 and isinstance(payload, dict):
                self.audit_seq = max(self.audit_seq, event.seq)
                changes.audit = True
            elif head == "alarm" and len(event.type) == 3 and isinstance(payload, dict):
                self._apply_alarm(payload, changes)
            return
        kind = event.type[2] if len(event.type) >= 3 else None
        if kind is None or not isinstance(payload, dict):
            return
        device = event.type[1]
        when = event.source_timestamp if event.source_timestamp is not None else event.timestamp
        if kind == "status" and len(event.type) == 3:
            self._apply_status(device, payload, when, changes)
            changes.devices.add(device)
        elif kind == "poll" and len(event.type) == 3:
            self._apply_poll(device, payload, when, changes)
            changes.devices.add(device)
        elif kind == "read" and len(event.type) == 4:
            self._apply_read(device, event.type[3], payload, when, changes)
            changes.values.add((device, event.type[3]))
        elif (
            kind == "stored"
            and len(event.type) == 4
            and self._apply_stored(device, event.type[3], payload, when)
        ):
            changes.values.add((device, event.type[3]))

    def _apply_store(self, payload: JsonValue, changes: Changes) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("persistent"), bool):
            raise TypeError("a store status needs a boolean 'persistent'")
        path, error = payload.get("path"), payload.get("error")
        self.store = StoreStatus(
            persistent=bool(payload["persistent"]),
            path=path if isinstance(path, str) else None,
            error=error if isinstance(error, str) else None,
        )
        changes.store = True

    def _apply_alarm(self, payload: dict[str, JsonValue], changes: Changes) -> None:
        """An alarm as it is now: kept while open, removed once closed. The worst
        open alarm of its device (and of the device it had before) is recomputed
        once per batch (:meth:`_settle_alarms`)."""
        alarm = Alarm.from_payload(payload)  # malformed: apply() logs and skips it
        previous = self.alarms.pop(alarm.id, None)
        if previous is not None:
            self._device_alarms.get(previous.device, {}).pop(alarm.id, None)
            self._alarm_devices.add(previous.device)
        closed = payload.get("closed") is True or (
            alarm.cleared_at is not None and alarm.acked_at is not None
        )
        if not closed:
            self.alarms[alarm.id] = alarm
            self._device_alarms.setdefault(alarm.device, {})[alarm.id] = alarm
        self._alarm_devices.add(alarm.device)
        changes.alarms = True

    def _settle_alarms(self, changes: Changes) -> None:
        """Set the worst open alarm of each device whose alarms changed in this
        batch (``@`` names and ``fleettop`` get no device row)."""
        for name in self._alarm_devices:
            open_alarms = self._device_alarms.get(name)
            if not open_alarms:
                self._device_alarms.pop(name, None)
            if not name or name.startswith("@") or name == "fleettop":
                continue
            worst = max((a.severity for a in (open_alarms or {}).values()), default=None)
            state = self.devices.get(name)
            if state is None and worst is None:
                continue
            state = state or self._device(name)
            if state.alarm != worst:
                state.alarm = worst
                changes.devices.add(name)
        self._alarm_devices.clear()

    def _apply_stored(
        self, name: str, oid: str, payload: dict[str, JsonValue], when: float
    ) -> bool:
        """A last-known value from the store: stale until a fresh read; ignored when
        a fresh read is already known. Returns True when the state changed."""
        data = payload["data"]
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise TypeError("data is not an object with a type")
        updated_ms = payload.get("updated_ms")
        if _is_int(updated_ms):
            when = updated_ms / 1000
        key = (name, oid)
        state = self._values.get(key)
        if state is not None and not state.stale:
            return False
        data_type, value = str(data["type"]), data.get("value")
        if state is None:
            state = ValueState(name, oid, data_type, value, STORED, when, when, stale=True)
            self._values[key] = state
            self._by_device.setdefault(name, {})[oid] = state
            self._device(name)
        else:
            state.data_type, state.value = data_type, value
            state.first_seen = state.last_change = when
        self._evict()
        return True

    def ensure_device(self, name: str) -> DeviceState:
        """The state of device ``name``, created when unknown."""
        return self._device(name)

    def put_value(
        self,
        key: ValueKey,
        data_type: str,
        value: JsonValue,
        cause: str,
        when: float,
        *,
        protocol: str,
    ) -> ValueState:
        """Set the latest value of ``key`` from another protocol's folding (counted
        as a change when it differs); returns its state."""
        state = self._values.get(key)
        if state is None:
            state = ValueState(key[0], key[1], data_type, value, cause, when, when)
            state.protocol = protocol
            self._values[key] = state
            self._by_device.setdefault(key[0], {})[key[1]] = state
            self._device(key[0])
        else:
            if (data_type, value) != (state.data_type, state.value):
                state.changes += 1
                state.last_change = when
            state.data_type, state.value, state.cause = data_type, value, cause
            self._values.move_to_end(key)
        self._evict()
        return state

    def drop_value(self, key: ValueKey) -> None:
        """Forget the value of ``key``."""
        if self._values.pop(key, None) is not None:
            self._by_device.get(key[0], {}).pop(key[1], None)
            self._counters.get(key[0], {}).pop(key[1], None)

    def _device(self, name: str) -> DeviceState:
        state = self.devices.get(name)
        if state is None:
            state = self.devices[name] = DeviceState(name)
        return state

    def _apply_status(
        self, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        status = payload["status"]
        reason = payload.get("reason")
        if not isinstance(status, str):
            raise TypeError("status is not a string")
        state = self._device(name)
        if status != state.status:
            state.status_since = when
            if status != CONNECTED:  # rates are unknown while the device is away
                for counter in self._counters.get(name, {}).values():
                    if counter.rate is not None:
                        counter.rate = None
                        changes.values.add(counter.key)
        state.status = status
        state.reason = reason if isinstance(reason, str) else None

    def _apply_poll(
        self, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        state = self._device(name)
        previous = state.last_poll
        state.rtt_ms = _number(payload.get("rtt_ms"))
        state.values = _integer(payload.get("values"))
        state.errors = _integer(payload.get("errors"))
        state.polls = _integer(payload.get("polls"))
        state.last_poll = _number(payload.get("last_poll"))
        now = state.last_poll if state.last_poll is not None else when
        if previous is None:
            return
        # A polled counter not published since the previous cycle ended was read
        # again unchanged in this one: it is not moving.
        for counter in self._counters.get(name, {}).values():
            sample = counter.sample
            if counter.polled and sample is not None and sample[1] <= previous < now:
                counter.sample = (sample[0], now)
                if counter.rate != 0.0:
                    counter.rate = 0.0
                    changes.values.add(counter.key)

    def _apply_read(
        self,
        name: str,
        oid: str,
        payload: dict[str, JsonValue],
        when: float,
        changes: Changes,
    ) -> None:
        data = payload["data"]
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
        data_type = data["type"]
        if not isinstance(data_type, str):
            raise TypeError("data type is not a string")
        value = data.get("value")
        cause = payload.get("cause")
        cause_text = cause if isinstance(cause, str) else ""
        session_id = payload.get("session_id")
        key = (name, oid)
        state = self._values.get(key)
        if state is None:
            state = ValueState(name, oid, data_type, value, cause_text, when, when)
            self._values[key] = state
            self._by_device.setdefault(name, {})[oid] = state
            self._device(name)
            previous_type = None
        elif state.stale:
            # the first fresh read of a last-known value: seen now, not a change the
            # UI saw, and no rate baseline from an earlier run
            if (data_type, value) != (state.data_type, state.value):
                state.last_change = when
            state.first_seen = when
            state.stale = False
            state.data_type, state.value, state.cause = data_type, value, cause_text
            self._values.move_to_end(key)
            previous_type = None
        else:
            if (data_type, value) != (state.data_type, state.value):
                state.changes += 1
                state.last_change = when
            previous_type = state.data_type
            state.data_type = data_type
            state.value = value
            state.cause = cause_text
            self._values.move_to_end(key)
        state.session_id = session_id if isinstance(session_id, str) else None
        state.polled = state.polled or cause_text in _POLLED_CAUSES
        self._sample(state, previous_type, when)
        if oid == SYS_UPTIME:
            self._check_restart(state, when, changes)
        self._evict()

    def _sample(self, state: ValueState, previous_type: str | None, when: float) -> None:
        """Take a counter sample and update the rate (see the module docstring)."""
        value = state.value
        if state.data_type not in COUNTER_MODULI or not _is_int(value):
            state.rate = state.sample = None
            self._counters.get(state.device, {}).pop(state.oid, None)
            return
        current = (value, when)
        previous = state.sample if previous_type == state.data_type else None
        if previous is None:
            state.rate = None
        elif when > previous[1]:
            state.rate = counter_rate(state.data_type, previous, current)
        state.sample = current
        self._counters.setdefault(state.device, {})[state.oid] = state

    def _check_restart(self, uptime: ValueState, when: float, changes: Changes) -> None:
        """``sysUpTime.0`` went back: the device restarted, its counters' rates and
        their pre-restart baselines are void."""
        ticks = uptime.value
        if uptime.data_type != "TIME_TICKS" or not _is_int(ticks):
            return
        device = self._device(uptime.device)
        previous, device.uptime = device.uptime, (ticks, when)
        if previous is None or ticks >= previous[0]:
            return
        device.restarts += 1
        changes.devices.add(device.name)
        for counter in self._counters.get(device.name, {}).values():
            if counter.rate is not None:
                counter.rate = None
                changes.values.add(counter.key)
            if counter.sample is not None and counter.sample[1] <= previous[1]:
                counter.sample = None

    def _evict(self) -> None:
        while len(self._values) > self._value_limit:
            (device, oid), _ = self._values.popitem(last=False)
            per_device = self._by_device.get(device)
            if per_device is not None:
                per_device.pop(oid, None)
            self._counters.get(device, {}).pop(oid, None)


def _number(value: JsonValue) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _integer(value: JsonValue) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _is_int(value: JsonValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
