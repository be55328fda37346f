"""The devices and the latest values of the fleet, bounded (no folding, no Textual).

:class:`FleetValues` is what the protocol folds (:mod:`console.fleet.snmp`,
:mod:`console.fleet.mqtt`) write into and what the screens read: devices by name,
and the latest :class:`~console.fleet.model.ValueState` of each ``(device, key)``,
in the order each key was first seen. Values are bounded like the bus snapshot:
past ``value_limit`` keys, the least recently updated one is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from console.events import DEFAULT_SNAPSHOT_LIMIT, JsonValue
from console.fleet.model import DeviceState, ValueKey, ValueState

__all__ = ["FleetValues"]


class FleetValues:
    """Devices and their latest values (see the module docstring).

    Args:
        value_limit: values kept at most (the least recently updated goes first).
    """

    def __init__(self, *, value_limit: int = DEFAULT_SNAPSHOT_LIMIT) -> None:
        self.devices: dict[str, DeviceState] = {}
        """Known devices by name (any device that published something)."""
        self.counters: dict[str, dict[str, ValueState]] = {}
        """The values that carry a counter sample, by device then key (the SNMP fold
        keeps it; a forgotten value leaves it)."""
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

    # -- writing (the folds) -------------------------------------------------------

    def ensure_device(self, name: str) -> DeviceState:
        """The state of device ``name``, created when unknown."""
        state = self.devices.get(name)
        if state is None:
            state = self.devices[name] = DeviceState(name)
        return state

    def add_value(self, state: ValueState) -> ValueState:
        """Keep a new value (its device is created when unknown); returns it."""
        self._values[state.key] = state
        self._by_device.setdefault(state.device, {})[state.oid] = state
        self.ensure_device(state.device)
        return state

    def touch(self, key: ValueKey) -> None:
        """``key`` was just updated: it is the last to be forgotten."""
        self._values.move_to_end(key)

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
        """Set the latest value of ``key`` (counted as a change when it differs);
        returns its state."""
        state = self._values.get(key)
        if state is None:
            state = ValueState(key[0], key[1], data_type, value, cause, when, when)
            state.protocol = protocol
            self.add_value(state)
        else:
            if (data_type, value) != (state.data_type, state.value):
                state.changes += 1
                state.last_change = when
            state.data_type, state.value, state.cause = data_type, value, cause
            self._values.move_to_end(key)
        self.evict()
        return state

    def drop_value(self, key: ValueKey) -> None:
        """Forget the value of ``key``."""
        if self._values.pop(key, None) is not None:
            self._by_device.get(key[0], {}).pop(key[1], None)
            self.counters.get(key[0], {}).pop(key[1], None)

    def evict(self) -> None:
        """Forget the least recently updated values past the limit."""
        while len(self._values) > self._value_limit:
            (device, oid), _ = self._values.popitem(last=False)
            per_device = self._by_device.get(device)
            if per_device is not None:
                per_device.pop(oid, None)
            self.counters.get(device, {}).pop(oid, None)
