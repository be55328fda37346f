"""The SNMP side of the fleet state: ``("snmp", ...)`` bus events folded into
device statuses, poll statistics and polled values (``docs/events.md``), no Textual.

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

The polling list
----------------
``("snmp", DEVICE, "polling")`` (``{"oids": [...]}``) announces a device's polling
list when it starts and after every change. An OID that left it (or that is not in
it although it was seen from polling) is no longer ``polled``: its value stays,
but poll events no longer prove it unchanged (its rate becomes unknown).

Last-known values
-----------------
At startup the runtime publishes every value the property store kept from an
earlier run as ``("snmp", DEVICE, "stored", OID)``. Each becomes a
:class:`ValueState` with ``stale=True`` and cause :data:`STORED` (unless a fresh
read of the OID is already known, which always wins); the first fresh read clears
``stale``. A stale value never serves as a counter's rate baseline, and its
replacement by the fresh read is not counted as a change: the UI did not see it
change.
"""

from __future__ import annotations

from typing import Final, TypeGuard

from console.events import Event, JsonValue
from console.fleet.model import (
    CONNECTED,
    STORED,
    Changes,
    Sample,
    ValueKey,
    ValueState,
    unpack,
)
from console.fleet.series import RATE_TYPES, VALUE_TYPES, SnmpSeries
from console.fleet.values import FleetValues

__all__ = ["COUNTER_MODULI", "SYS_UPTIME", "SnmpFold", "counter_rate"]

SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
"""``SNMPv2-MIB::sysUpTime.0``: when it goes back, the device restarted."""

COUNTER_MODULI: dict[str, int] = {"COUNTER": 2**32, "BIG_COUNTER": 2**64}
"""The data types that get a rate, and the value at which each wraps to 0."""

_POLLED_CAUSES = frozenset({"INTERROGATE", "CHANGE"})


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


class SnmpFold:
    """Fold SNMP events into ``values`` (see the module docstring).

    Args:
        values: the devices and values the events go to.
    """

    def __init__(self, values: FleetValues) -> None:
        self._values = values
        self.series = SnmpSeries()
        """Recent points of the numeric values and counter rates, for the OIDs
        screen's chart (:mod:`console.fleet.series`)."""

    def apply_one(self, event: Event, changes: Changes) -> None:
        """Fold one ``("snmp", DEVICE, KIND, ...)`` event into the values and note
        what changed in ``changes``.

        Raises:
            KeyError, TypeError, ValueError: the payload does not follow
                ``docs/events.md`` (the caller logs and skips the event).
        """
        parts = unpack(event)
        if parts is None:
            return
        device, kind, payload, when = parts
        if kind == "status" and len(event.type) == 3:
            self._status(device, payload, when, changes)
            changes.devices.add(device)
        elif kind == "poll" and len(event.type) == 3:
            self._poll(device, payload, when, changes)
            changes.devices.add(device)
        elif kind == "polling" and len(event.type) == 3:
            self._polling(device, payload, changes)
        elif kind == "read" and len(event.type) == 4:
            self._read(device, event.type[3], payload, when, changes)
            changes.values.add((device, event.type[3]))
        elif (
            kind == "stored"
            and len(event.type) == 4
            and self._stored(device, event.type[3], payload, when)
        ):
            changes.values.add((device, event.type[3]))

    def _polling(self, name: str, payload: dict[str, JsonValue], changes: Changes) -> None:
        """The device's polling list: an OID that left it is no longer ``polled``."""
        oids = payload["oids"]
        if not isinstance(oids, list) or not all(isinstance(oid, str) for oid in oids):
            raise TypeError("oids is not a list of OIDs")
        polling = tuple(str(oid).lstrip(".") for oid in oids)
        device = self._values.ensure_device(name)
        left = set(device.polling or ()).difference(polling)
        device.polling = polling
        kept = set(polling)
        for value in self._values.values(name):
            if value.protocol != "snmp" or value.oid in kept:
                continue
            if value.polled or value.oid in left:
                value.polled = False
                value.rate = None
                changes.values.add(value.key)

    def _stored(self, name: str, oid: str, payload: dict[str, JsonValue], when: float) -> bool:
        """A last-known value from the store: stale until a fresh read; ignored when
        a fresh read is already known. Returns True when the state changed."""
        data = payload["data"]
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise TypeError("data is not an object with a type")
        updated_ms = payload.get("updated_ms")
        if _is_int(updated_ms):
            when = updated_ms / 1000
        state = self._values.value((name, oid))
        if state is not None and not state.stale:
            return False
        data_type, value = str(data["type"]), data.get("value")
        if state is None:
            self._values.add_value(
                ValueState(name, oid, data_type, value, STORED, when, when, stale=True)
            )
        else:
            state.data_type, state.value = data_type, value
            state.first_seen = state.last_change = when
        self._values.evict()
        return True

    def _status(
        self, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        status = payload["status"]
        reason = payload.get("reason")
        if not isinstance(status, str):
            raise TypeError("status is not a string")
        state = self._values.ensure_device(name)
        if status != state.status:
            state.status_since = when
            if status != CONNECTED:  # rates are unknown while the device is away
                for counter in self._values.counters.get(name, {}).values():
                    if counter.rate is not None:
                        counter.rate = None
                        changes.values.add(counter.key)
        state.status = status
        state.reason = reason if isinstance(reason, str) else None

    def _poll(
        self, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        state = self._values.ensure_device(name)
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
        for counter in self._values.counters.get(name, {}).values():
            sample = counter.sample
            if counter.polled and sample is not None and sample[1] <= previous < now:
                counter.sample = (sample[0], now)
                self.series.add(counter.key, now, 0.0)
                if counter.rate != 0.0:
                    counter.rate = 0.0
                    changes.values.add(counter.key)

    def _read(
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
        state = self._values.value(key)
        if state is None:
            state = ValueState(name, oid, data_type, value, cause_text, when, when)
            self._values.add_value(state)
            previous_type = None
        elif state.stale:
            # the first fresh read of a last-known value: seen now, not a change the
            # UI saw, and no rate baseline from an earlier run
            if (data_type, value) != (state.data_type, state.value):
                state.last_change = when
            state.first_seen = when
            state.stale = False
            state.data_type, state.value, state.cause = data_type, value, cause_text
            self._values.touch(key)
            previous_type = None
        else:
            if (data_type, value) != (state.data_type, state.value):
                state.changes += 1
                state.last_change = when
            previous_type = state.data_type
            state.data_type = data_type
            state.value = value
            state.cause = cause_text
            self._values.touch(key)
        state.session_id = session_id if isinstance(session_id, str) else None
        state.polled = state.polled or cause_text in _POLLED_CAUSES
        self._sample(state, previous_type, when)
        self._chart(key, state, previous_type, when)
        if oid == SYS_UPTIME:
            self._check_restart(state, when, changes)
        self._values.evict()

    def _sample(self, state: ValueState, previous_type: str | None, when: float) -> None:
        """Take a counter sample and update the rate (see the module docstring)."""
        value = state.value
        counters = self._values.counters
        if state.data_type not in COUNTER_MODULI or not _is_int(value):
            state.rate = state.sample = None
            counters.get(state.device, {}).pop(state.oid, None)
            return
        current = (value, when)
        previous = state.sample if previous_type == state.data_type else None
        if previous is None:
            state.rate = None
        elif when > previous[1]:
            state.rate = counter_rate(state.data_type, previous, current)
        state.sample = current
        counters.setdefault(state.device, {})[state.oid] = state

    def _chart(
        self, key: ValueKey, state: ValueState, previous_type: str | None, when: float
    ) -> None:
        """Add the value's point (or its counter's rate) to :attr:`series`
        (:func:`~console.fleet.series.charted` says which)."""
        data_type = state.data_type
        if previous_type is not None and previous_type != data_type:
            self.series.forget(key)
        if data_type in RATE_TYPES:
            if state.rate is not None:
                self.series.add(key, when, state.rate)
        elif data_type in VALUE_TYPES and _is_int(state.value):
            self.series.add(key, when, float(state.value))

    def _check_restart(self, uptime: ValueState, when: float, changes: Changes) -> None:
        """``sysUpTime.0`` went back: the device restarted, its counters' rates and
        their pre-restart baselines are void."""
        ticks = uptime.value
        if uptime.data_type != "TIME_TICKS" or not _is_int(ticks):
            return
        device = self._values.ensure_device(uptime.device)
        previous, device.uptime = device.uptime, (ticks, when)
        if previous is None or ticks >= previous[0]:
            return
        device.restarts += 1
        changes.devices.add(device.name)
        for counter in self._values.counters.get(device.name, {}).values():
            if counter.rate is not None:
                counter.rate = None
                changes.values.add(counter.key)
            if counter.sample is not None and counter.sample[1] <= previous[1]:
                counter.sample = None


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
