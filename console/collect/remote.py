"""``fleettop attach``: a runtime with no backends of its own, fed by the broker.

:class:`RemoteRuntime` is a :class:`~console.runtime.Runtime` whose only publisher
is the broker: it subscribes ``fleettop/v1/#`` and republishes every collector's
events onto its own bus, so the app, the bridge and every screen work as in a local
run, across all collectors. It keeps:

* the devices each collector announced (``device`` topics, secrets stripped) as
  its configuration's devices (those known when it is ready: after the retained
  messages settled, at most :data:`SETTLE_MAX` s after the connection);
* for each device an SNMP backend, :class:`RemoteSnmpDevice`, whose reads, writes,
  walks and polling changes are MQTT 5 requests to the collector that owns the
  device (a timeout and the collector's refusal are :class:`RemoteError` s);
* alarms under the console's own ids (:attr:`RemoteRuntime.alarm_ids`: every
  collector numbers its alarms from 1), acknowledged with the collector's;
* the collectors' status: when one goes offline (its Last Will, 1.5 x its keepalive
  after it vanished) its devices' status events are published again as ``STALE``
  with the time it went away (``reason``: ``collector c1 offline since 12:04:31``),
  their last values kept; status events arriving while it is offline are published
  as ``STALE`` too; when it is back, the last real status of each is published again.

History: the console keeps what the stream brought since it attached, in its own
notification center (in memory, ``notifications.ring_size`` entries); older history
stays in each collector's store (``fleettop run`` on that store, or its exports).
The retained state (statuses, last values, polling lists, open alarms) arrives at
once on attach. The console has no store: the Properties screen says so.

A part of the fleet: ``collectors`` narrows the subscription to those collectors'
namespaces (the broker sends nothing else), ``devices`` drops the messages of
other devices on arrival (``fleettop attach --collector NAME --device GLOB``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch
import getpass
import json
import logging
import socket
import time
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from console.collect.link import BrokerLink, Message, RemoteError
from console.collect.namespace import ROOT, device_from_public, parse_topic
from console.collect.remote_mqtt import RemoteMqttFleet
from console.config import BrokerConfig, Config, DeviceConfig, StoreConfig
from console.events import EventType, JsonValue
from console.oid import normalize_oid
from console.runtime import Runtime

if TYPE_CHECKING:
    from console.mqtt.fleet import MqttFleet
    from console.notifications.alarms import AlarmBook
    from console.snmp.manager import SnmpDevice

__all__ = [
    "CONNECT_WAIT",
    "REQUEST_TIMEOUT",
    "SETTLE_MAX",
    "STALE",
    "CollectorState",
    "RemoteAlarms",
    "RemoteError",
    "RemoteRuntime",
    "RemoteSnmpDevice",
]

mlog = logging.getLogger(__name__)

#: The status a device of an offline collector is shown with.
STALE: Final = "STALE"
#: Seconds :meth:`RemoteRuntime.start` waits for the first connection.
CONNECT_WAIT: Final = 5.0
#: Seconds without a message after which the retained state counts as received...
SETTLE_QUIET: Final = 0.3
#: ... and at most this long after the connection.
SETTLE_MAX: Final = 2.0
#: Seconds an operator request waits for its answer (a walk: between two chunks).
REQUEST_TIMEOUT: Final = 10.0
_STATUS_PROTOCOLS: Final = ("snmp", "mqtt")
_DEVICE_EVENTS: Final = frozenset({"snmp", "mqtt", "alarm", "audit"})

Data = dict[str, JsonValue]


@dataclasses.dataclass(slots=True)
class CollectorState:
    """What the console knows of one collector.

    Attributes:
        name: the collector's name.
        online: its last status said ``online``.
        status: its last status payload (``docs/distributed.md``).
        offline_since: when it went offline (s since the epoch), ``None`` while
            online or when it was already offline when the console attached.
    """

    name: str
    online: bool = False
    status: dict[str, Any] = dataclasses.field(default_factory=dict)
    offline_since: float | None = None


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def _identity(broker: BrokerConfig) -> str:
    """The operator's identity: the MQTT username, else ``user@host``."""
    if broker.username:
        return broker.username
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class RemoteRuntime(Runtime):
    """A runtime fed by a broker (the module docstring).

    Args:
        broker: the fleet's broker (:func:`~console.collect.link.broker_from_url`).
        request_timeout: seconds an operator request waits for its answer.
        collectors: follow only these collectors (``fleettop attach --collector``):
            the console subscribes ``fleettop/v1/NAME/#`` for each instead of
            ``fleettop/v1/#``, so the broker sends it nothing else. Empty: all.
        devices: follow only the devices whose name matches one of these globs
            (``fnmatch``: ``core-*``, ``sw[12]``; ``fleettop attach --device``); the
            other devices' messages are dropped on arrival, by topic, before they
            are decoded. The collectors' own parts (``@receiver``, ``@BROKER``) and
            logs are kept. Empty: all.

    Attributes:
        link: the broker connection.
        collectors: the collectors seen, by name.
        owners: the collector of each device, by device name.
        identity: who the operator is, written in the collectors' audit logs.
    """

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        collectors: Sequence[str] = (),
        devices: Sequence[str] = (),
    ) -> None:
        super().__init__(Config(store=StoreConfig(enabled=False)))
        self.request_timeout = request_timeout
        self.followed = tuple(collectors)
        """The collectors followed (empty: every one)."""
        self._device_globs = tuple(devices)
        self._device_match: dict[str, bool] = {}
        self.identity = _identity(broker)
        self.collectors: dict[str, CollectorState] = {}
        self.owners: dict[str, str] = {}
        self.alarm_owners: dict[str, str] = {}
        self.alarm_ids: dict[tuple[str, str], int] = {}
        """The console's id of each collector's alarm, by ``(collector, its id)``:
        every collector numbers its alarms from 1, so the console numbers them
        again (in the order it first sees them) and its screens never mix two."""
        self.remote_alarm_ids: dict[str, int] = {}
        """The collector's own id of each alarm, by the console's id."""
        """The collector of each alarm, by alarm id (a trap's alarm may belong to a
        sender no collector announces, ``@192.0.2.7``)."""
        self._described: dict[str, DeviceConfig] = {}
        self.remote_devices: dict[str, RemoteSnmpDevice] = {}
        """The SNMP backends of the announced devices, by name."""
        # the app hands snmp_devices to the operator, which uses only what
        # SnmpBackend (screens.controllers.snmp) declares: RemoteSnmpDevice has it
        self.snmp_devices = cast("dict[str, SnmpDevice]", self.remote_devices)
        # likewise the Notifications screen asks the book for ack and ack_all only
        self.alarms = cast("AlarmBook", RemoteAlarms(self))
        self.remote_mqtt = RemoteMqttFleet(self)
        """The brokers, interfaces and MQTT devices of the collectors; publish, set
        and unset as requests."""
        # and the MQTT operator asks the fleet for what RemoteMqttFleet has
        self.mqtt = cast("MqttFleet", self.remote_mqtt)
        self._last_status: dict[EventType, JsonValue] = {}
        self._last_message = 0.0
        self._attached_at = time.time()
        self.link = BrokerLink(
            broker,
            subscriptions=tuple(f"{ROOT}/{name}/#" for name in self.followed) or (f"{ROOT}/#",),
            on_messages=self._on_messages,
            on_disconnect=self._on_disconnect,
            on_connect=self._on_connect,
        )

    async def start(self) -> None:
        """Create the bus and the notification center, connect, wait until the
        retained state has arrived (:data:`SETTLE_QUIET`, at most :data:`SETTLE_MAX`
        s), take the announced devices as the configuration, set :attr:`ready`.
        A broker that does not answer within :data:`CONNECT_WAIT` s is logged; the
        link keeps trying and the console starts anyway."""
        if self.started:
            return
        bus = await self.start_bus()
        from console.notifications.center import NotificationCenter
        from console.snmp.mib import MibResolver

        self.mib = MibResolver()
        conf = self.config.notifications
        center = NotificationCenter(
            bus,
            ring_size=conf.ring_size,
            ring_bytes=conf.ring_bytes,
            payload_bytes=conf.payload_bytes,
        )
        self.notifications = center
        self._on_close("the notification center", center.aclose)
        await center.start()
        bus.publish(("store", "status"), {"persistent": False, "path": None, "error": None})
        self.link.start()
        self._on_close("the broker link", self.link.aclose)
        try:
            await asyncio.wait_for(self.link.connected.wait(), CONNECT_WAIT)
        except TimeoutError:
            mlog.error(
                "broker %s:%d: not connected after %g s (%s); still trying",
                self.link.broker.host,
                self.link.broker.port,
                CONNECT_WAIT,
                self.link.last_error or "no answer",
            )
        else:
            await self._settle()
        self._config = dataclasses.replace(self.config, devices=tuple(self._described.values()))
        self.ready.set()
        self._started = True

    async def _settle(self) -> None:
        deadline = time.monotonic() + SETTLE_MAX
        self._last_message = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(SETTLE_QUIET / 3)
            if time.monotonic() - self._last_message >= SETTLE_QUIET:
                return

    # -- the broker ---------------------------------------------------------------------

    def _on_connect(self) -> None:
        if self.link.connections > 1:
            mlog.warning("connected to the broker again")

    def _on_disconnect(self, reason: str) -> None:
        mlog.warning("the broker connection was lost (%s): reconnecting", reason)

    def _on_messages(self, messages: list[Message]) -> None:
        self._last_message = time.monotonic()
        bus = self._bus
        if bus is None or bus.closed:
            return
        for message in messages:
            parsed = parse_topic(message.topic)
            if parsed is None or not message.payload:
                continue  # not ours, or a retained message cleared
            collector, kind, levels = parsed
            if self._device_globs and not self._follows(kind, levels):
                continue
            try:
                data = json.loads(message.payload)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                if kind == "status":
                    self._collector_status(collector, data, message)
                elif kind == "device":
                    self._device(collector, data)
                elif kind == "interface":
                    self.remote_mqtt.interface(data)
                else:
                    self._event(collector, data)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                mlog.warning("ignoring %s: %s", message.topic, exc)

    def _follows(self, kind: str, levels: tuple[str, ...]) -> bool:
        """Whether a message of ``kind`` with topic ``levels`` concerns a followed
        device (or no device: statuses, interfaces, ``@`` parts, logs)."""
        if kind == "device":
            name = levels[0]
        elif kind == "event" and len(levels) >= 2 and levels[0] in _DEVICE_EVENTS:
            name = levels[1]
        else:
            return True
        if name.startswith("@"):
            return True
        known = self._device_match.get(name)
        if known is None:
            known = any(fnmatch.fnmatchcase(name, glob) for glob in self._device_globs)
            self._device_match[name] = known
        return known

    def _device(self, collector: str, data: Mapping[str, Any]) -> None:
        device = device_from_public(data)
        self._described[device.name] = device
        self.owners[device.name] = collector
        if device.mqtt is not None:
            astarte = data["mqtt"].get("astarte")
            self.remote_mqtt.described(device.name, device.mqtt.broker, astarte)
        if device.snmp is not None and device.name not in self.remote_devices:
            self.remote_devices[device.name] = RemoteSnmpDevice(self, device.name)

    def _event(self, collector: str, data: Mapping[str, Any]) -> None:
        raw = data["type"]
        if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
            raise ValueError("'type' is not a list of strings")
        event_type: EventType = tuple(raw)
        if event_type == ("store", "status"):
            return  # the collector's own store; the console has none
        payload: JsonValue = data.get("payload")
        when = data.get("source_timestamp") or data.get("timestamp")
        source = float(when) if isinstance(when, int | float) else None
        device = event_type[1] if len(event_type) >= 2 else "@"
        # an announced device belongs to its announcer: the trap receiver's shard
        # publishes the traps (and their alarms) of other shards' devices too
        owned = event_type[0] in _DEVICE_EVENTS and not device.startswith("@")
        if owned and device not in self._described:
            self.owners[device] = collector
        if event_type[0] == "mqtt":
            self.remote_mqtt.event(collector, event_type, payload)
        if event_type[0] == "alarm" and len(event_type) == 3:
            event_type, payload = self._local_alarm(collector, event_type, payload)
            self.alarm_owners[event_type[2]] = collector
        if self._is_status(event_type):
            self._last_status[event_type] = payload
            state = self.collectors.get(collector)
            if state is not None and not state.online:
                payload = self._stale(payload, state)
        self.bus.publish(event_type, payload, source_timestamp=source)

    def _local_alarm(
        self, collector: str, event_type: EventType, payload: JsonValue
    ) -> tuple[EventType, JsonValue]:
        """An alarm event with the console's id for the collector's (type and
        payload ``id``)."""
        remote = event_type[2]
        local = self.alarm_ids.get((collector, remote))
        if local is None:
            local = self.alarm_ids[(collector, remote)] = len(self.alarm_ids) + 1
            with contextlib.suppress(ValueError):
                self.remote_alarm_ids[str(local)] = int(remote)
        if isinstance(payload, dict):
            payload = {**payload, "id": local}
        return (event_type[0], event_type[1], str(local)), payload

    @staticmethod
    def _is_status(event_type: EventType) -> bool:
        return (
            len(event_type) == 3
            and event_type[0] in _STATUS_PROTOCOLS
            and event_type[2] == "status"
            and not event_type[1].startswith("@")
        )

    def _stale(self, payload: JsonValue, state: CollectorState) -> Data:
        stale: Data = dict(payload) if isinstance(payload, dict) else {}
        if state.offline_since is not None:
            reason = f"collector {state.name} offline since {_clock(state.offline_since)}"
        else:
            reason = (
                f"collector {state.name} offline (since before {_clock(self._attached_at)},"
                " when this console attached)"
            )
        stale.update(status=STALE, reason=reason, stale_since=state.offline_since)
        return stale

    def _collector_status(self, collector: str, data: Mapping[str, Any], message: Message) -> None:
        seen = collector in self.collectors
        state = self.collectors.setdefault(collector, CollectorState(collector))
        was_online = state.online or not seen
        state.status = dict(data)
        state.online = data.get("status") == "online"
        if state.online:
            state.offline_since = None
            if not was_online:  # back: the last real statuses again
                for event_type, payload in self._owned_statuses(collector):
                    self.bus.publish(event_type, payload)
            return
        state.offline_since = None if message.retain else message.received
        mlog.warning(
            "collector %s is offline%s: its devices are STALE",
            collector,
            "" if state.offline_since is None else f" since {_clock(state.offline_since)}",
        )
        shown = set()
        for event_type, payload in self._owned_statuses(collector):
            shown.add(event_type[1])
            self.bus.publish(event_type, self._stale(payload, state))
        for name, device in self._described.items():
            if self.owners.get(name) == collector and device.snmp is not None and name not in shown:
                self.bus.publish(("snmp", name, "status"), self._stale(None, state))

    def _owned_statuses(self, collector: str) -> list[tuple[EventType, JsonValue]]:
        return [
            (event_type, payload)
            for event_type, payload in self._last_status.items()
            if self.owners.get(event_type[1]) == collector
        ]

    # -- requests -----------------------------------------------------------------------

    def owner(self, device: str) -> str:
        """The collector that owns ``device``.

        Raises:
            RemoteError: no collector announced it.
        """
        collector = self.owners.get(device)
        if collector is None:
            raise RemoteError(f"{device}: no collector announces this device")
        return collector

    async def request(self, device: str, action: str, body: Data) -> JsonValue:
        """One request about ``device`` to its collector, with the operator's
        identity; returns the reply's ``result``.

        Raises:
            RemoteError: unknown device, the collector offline, no answer in time,
                or its refusal.
        """
        return await self.request_to(self.owner(device), action, {**body, "device": device})

    async def request_to(self, collector: str, action: str, body: Data) -> JsonValue:
        """One request to ``collector``, with the operator's identity.

        Raises:
            RemoteError: the collector offline, no answer in time, or its refusal.
        """
        state = self.collectors.get(collector)
        if state is not None and not state.online:
            raise RemoteError(f"{collector}: offline, {action} not sent (the device is STALE)")
        body = {**body, "operator": self.identity}
        return await self.link.request(collector, action, body, wait=self.request_timeout)


class RemoteAlarms:
    """Acknowledgements of the collectors' alarms (what the Notifications screen
    asks of :class:`~console.notifications.alarms.AlarmBook`): each is an
    ``alarm.ack`` request to the collector that raised the alarm, whose book
    acknowledges, audits and publishes it; the acknowledged alarm comes back on the
    bus. A failed request is logged (the operator sees it as a notification)."""

    def __init__(self, runtime: RemoteRuntime) -> None:
        self._runtime = runtime

    def _open(self, alarm_id: int) -> tuple[str, Data] | None:
        """The collector and payload of open alarm ``alarm_id``, from the bus."""
        collector = self._runtime.alarm_owners.get(str(alarm_id))
        if collector is None:
            return None
        for event in self._runtime.bus.snapshot(("alarm", "?", str(alarm_id))):
            payload = event.payload
            if isinstance(payload, dict) and payload.get("closed") is not True:
                return collector, payload
        return None

    def ack(self, alarm_id: int) -> Data | None:
        """Ask the alarm's collector to acknowledge it; returns the alarm as last
        published, or ``None`` when no open alarm has this id."""
        found = self._open(alarm_id)
        if found is None:
            return None
        collector, payload = found
        self._send(collector, [alarm_id])
        return payload

    def ack_all(self, alarm_ids: Iterable[int]) -> int:
        """Ask for each open, unacknowledged alarm of ``alarm_ids`` (one request per
        collector); returns how many were asked for."""
        by_collector: dict[str, list[JsonValue]] = {}
        for alarm_id in alarm_ids:
            found = self._open(alarm_id)
            if found is not None and found[1].get("acked") is not True:
                by_collector.setdefault(found[0], []).append(alarm_id)
        for collector, ids in by_collector.items():
            self._send(collector, ids)
        return sum(len(ids) for ids in by_collector.values())

    def _send(self, collector: str, ids: list[JsonValue]) -> None:
        """Ask ``collector`` to acknowledge the alarms of the console's ``ids`` (sent
        as the collector's own ids)."""
        runtime = self._runtime
        ids = [runtime.remote_alarm_ids.get(str(i), i) for i in ids]

        async def send() -> None:
            try:
                await runtime.request_to(collector, "alarm.ack", {"ids": ids})
            except RemoteError as exc:
                mlog.warning("acknowledging alarms %s failed: %s", ids, exc)

        with contextlib.suppress(RuntimeError):  # closing
            runtime.spawn(send(), name="alarm.ack")


class RemoteSnmpDevice:
    """The SNMP backend of a remote device (what the UI's
    :class:`~screens.controllers.snmp.SnmpBackend` asks for): every call is a
    request to the collector that owns the device. The results arrive on the bus
    as in a local run (the collector's read and write events)."""

    def __init__(self, runtime: RemoteRuntime, name: str) -> None:
        self._runtime = runtime
        self.name = name

    @property
    def polling_oids(self) -> tuple[str, ...]:
        """The polled OIDs, from the collector's last ``polling`` event."""
        latest = self._runtime.bus.latest(("snmp", self.name, "polling"))
        if latest is not None and isinstance(latest.payload, dict):
            oids = latest.payload.get("oids")
            if isinstance(oids, list):
                return tuple(str(oid) for oid in oids)
        conf = self._runtime.config
        device = next((d for d in conf.devices if d.name == self.name), None)
        return () if device is None or device.snmp is None else device.snmp.polling_oids

    async def read(self, oid: str, session_id: str | None = None) -> Data:
        """GET one OID through the collector; returns its read payload.

        Raises:
            RemoteError: see :meth:`RemoteRuntime.request`.
        """
        result = await self._runtime.request(
            self.name, "snmp.read", {"oid": oid, "session_id": session_id}
        )
        return result if isinstance(result, dict) else {}

    async def write(self, oid: str, data: Mapping[str, Any], session_id: str | None = None) -> Data:
        """SET one OID through the collector (which may refuse: read-only); returns
        its write payload.

        Raises:
            RemoteError: see :meth:`RemoteRuntime.request`.
        """
        result = await self._runtime.request(
            self.name, "snmp.write", {"oid": oid, "data": dict(data), "session_id": session_id}
        )
        return result if isinstance(result, dict) else {}

    async def walk(
        self, oid: str, *, session_id: str | None = None, max_repetitions: int = 25
    ) -> AsyncGenerator[tuple[str, Data], None]:
        """The var-binds of the subtree ``oid``, walked by the collector and sent in
        chunks.

        Raises:
            RemoteError: see :meth:`RemoteRuntime.request`.
        """
        runtime = self._runtime
        collector = runtime.owner(self.name)
        body: Data = {
            "device": self.name,
            "oid": oid,
            "session_id": session_id,
            "operator": runtime.identity,
        }
        async for reply in runtime.link.request_stream(
            collector, "snmp.walk", body, wait=runtime.request_timeout * 3
        ):
            for row in reply.get("rows") or ():
                yield str(row[0]), dict(row[1])

    def add_polling_oid(self, oid: str) -> str:
        """Ask the collector to poll ``oid`` too; the new polling list comes back on
        the bus. A failure is logged (the operator sees it as a notification).

        Raises:
            ValueError: not a numeric OID.
        """
        normal = normalize_oid(oid)
        self._send("snmp.poll_add", normal)
        return normal

    def remove_polling_oid(self, oid: str) -> bool:
        """Ask the collector to stop polling ``oid``; False when it is not polled."""
        normal = normalize_oid(oid)
        if normal not in self.polling_oids:
            return False
        self._send("snmp.poll_remove", normal)
        return True

    def _send(self, action: str, oid: str) -> None:
        async def send() -> None:
            try:
                await self._runtime.request(self.name, action, {"oid": oid})
            except RemoteError as exc:
                mlog.warning("%s %s %s failed: %s", action, self.name, oid, exc)

        with contextlib.suppress(RuntimeError):  # closing
            self._runtime.spawn(send(), name=f"{action} {self.name}")
