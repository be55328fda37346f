"""The fleet as the UI shows it: plain Python folded from bus events, no Textual.

:class:`FleetState` keeps each device's status and poll statistics and the latest
value of every OID and MQTT value with its change count; :meth:`FleetState.apply`
folds a batch of events and returns the :class:`~console.fleet.model.Changes`. The
bridge (``console/bridge.py``) feeds it from the bus; the screens read it. Keeping
it out of the bridge keeps the Textual-aware part of the core thin and this part
testable without a terminal. SNMP events are folded by
:class:`~console.fleet.snmp.SnmpFold` (rates, restarts, the polling list,
last-known values), MQTT events by :class:`~console.fleet.mqtt.MqttFold`.

Store and audit
---------------
``("store", "status")`` becomes :attr:`FleetState.store` (a :class:`StoreStatus`:
persistent or why not), and every ``("audit", DEVICE, ACTION)`` event moves
:attr:`FleetState.audit_seq`, so an audit view knows when to reload.

Trap receiver
-------------
``("snmp", "@receiver", "status")`` (published when the receiver cannot listen)
becomes :attr:`FleetState.receiver` (a :class:`ReceiverStatus`), not a device.

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

Live property values
--------------------
The Properties screen shows each property's recent values. While the bridge
follows them (:data:`~console.history.LIVE_PATTERNS`, every event, not coalesced),
:meth:`FleetState.apply_live` folds them into :attr:`FleetState.history` and
returns the newest value per property in :attr:`Changes.live`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from console.events import DEFAULT_SNAPSHOT_LIMIT, Event, JsonValue
from console.fleet.model import Changes, MibStatus, ReceiverStatus, StoreStatus
from console.fleet.mqtt import MqttFold
from console.fleet.snmp import SnmpFold
from console.fleet.values import FleetValues
from console.history import ValueHistory
from console.notifications.alarms import Alarm
from console.notifications.model import Severity

__all__ = ["FleetState"]

mlog = logging.getLogger(__name__)

#: The trap receiver's status event (``console.snmp.traps.RECEIVER_STATUS``: the
#: fleet state does not import the SNMP backend).
_RECEIVER_STATUS = ("snmp", "@receiver", "status")


class FleetState(FleetValues):
    """The fleet as the UI shows it, folded from bus events (no Textual).

    Values are bounded like the bus snapshot: past ``value_limit`` OIDs, the least
    recently updated one is forgotten.
    """

    def __init__(self, *, value_limit: int = DEFAULT_SNAPSHOT_LIMIT) -> None:
        super().__init__(value_limit=value_limit)
        self.store: StoreStatus | None = None
        """The property store's status, once announced."""
        self.receiver: ReceiverStatus | None = None
        """The trap receiver's status, once announced (only when it failed)."""
        self.mibs: MibStatus | None = None
        """The MIB names' status (``("mib", "status")``), once announced."""
        self.audit_seq = 0
        """The bus sequence number of the latest audit event seen (0: none): it
        moves whenever an operator action is recorded."""
        self.alarms: dict[int, Alarm] = {}
        """Open alarms by id (a closed one, cleared and acknowledged, is removed)."""
        self._device_alarms: dict[str, dict[int, Alarm]] = {}
        self._alarm_devices: set[str] = set()
        self.snmp = SnmpFold(self)
        """The SNMP side: statuses, polls, values, rates, the polling lists."""
        self.mqtt = MqttFold(self)
        """The MQTT side: brokers, value sources, seen topics, payloads."""
        self.history = ValueHistory()
        """Recent numeric values per property (:meth:`apply_live`)."""

    # -- reading -------------------------------------------------------------------

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

    # -- folding -------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> Changes:
        """Fold ``events`` into the state; return what changed.

        Events that are not SNMP or MQTT events, the store status, audit or alarm
        events, or whose payload does not follow ``docs/events.md``, are ignored
        (and logged at debug level).
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

    def apply_live(self, events: Iterable[Event]) -> Changes:
        """Fold the live property values of ``events`` into :attr:`history`; the
        changes hold the newest value per property (:attr:`Changes.live`)."""
        return Changes(live=self.history.fold(events))

    def _apply_one(self, event: Event, changes: Changes) -> None:
        head = event.type[0] if event.type else None
        payload = event.payload
        if event.type == _RECEIVER_STATUS:
            self._apply_receiver(payload, changes)
        elif head == "snmp":
            self.snmp.apply_one(event, changes)
        elif head == "mqtt":
            self.mqtt.apply_one(event, changes)
        elif head == "store" and event.type == ("store", "status"):
            self._apply_store(payload, changes)
        elif head == "audit" and len(event.type) == 3 and isinstance(payload, dict):
            self.audit_seq = max(self.audit_seq, event.seq)
            changes.audit = True
        elif head == "alarm" and len(event.type) == 3 and isinstance(payload, dict):
            self._apply_alarm(payload, changes)
        elif event.type == ("mib", "status"):
            self._apply_mibs(payload, changes)

    def _apply_mibs(self, payload: JsonValue, changes: Changes) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("state"), str):
            raise TypeError("a MIB status needs a string 'state'")
        counts = {
            key: value if isinstance(value := payload.get(key), int) else 0
            for key in ("done", "total", "modules", "failed", "generation")
        }
        self.mibs = MibStatus(str(payload["state"]), **counts)
        changes.mibs = True

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

    def _apply_receiver(self, payload: JsonValue, changes: Changes) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("status"), str):
            raise TypeError("a receiver status needs a string 'status'")
        listen, reason = (_text(payload.get(key)) for key in ("listen", "reason"))
        self.receiver = ReceiverStatus(str(payload["status"]), listen, reason)
        changes.receiver = True

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
            state = state or self.ensure_device(name)
            if state.alarm != worst:
                state.alarm = worst
                changes.devices.add(name)
        self._alarm_devices.clear()


def _text(value: JsonValue) -> str | None:
    """``value`` if it is a string, else ``None``."""
    return value if isinstance(value, str) else None
