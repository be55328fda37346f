"""Every MQTT broker connection and MQTT device of a configuration, and the
operator's publish, set and unset.

:class:`MqttFleet` owns one :class:`~console.mqtt.client.BrokerConnection` per
``brokers:`` entry (subscribed to the broker's filters plus the devices' own
filters they do not cover), one :class:`~console.mqtt.devices.DeviceRouter` per
broker, the state of every MQTT device, the Astarte interfaces of
``interfaces_dir``, and a ticker task that publishes device statistics and applies
freshness timeouts once a second.

Events (``docs/events.md``): message events ``("mqtt", DEVICE | "@BROKER",
"message", *LEVELS)``, Astarte ``property`` / ``datastream`` / ``introspection``
events, device ``status`` and ``stats``, broker ``status`` and ``subscribed``, and
``publish`` results. The echo of an operator publish (a message marked ``own``,
:mod:`console.mqtt.publishes`) is shown as a message event, of its device if that
device exists and of the broker otherwise, but it is not a device's traffic: it
discovers no device, counts no message and changes no status, so a publish to a
topic that a ``device_rules`` template matches does not make up a device that
would then go OFFLINE (and raise an alarm) when the operator stops publishing.
Message events are published with
:meth:`~console.events.EventManager.publish_wait` (a ``BLOCK`` subscriber slows the
broker connection down instead of losing messages).

Operator writes (Astarte semantics, the SDK's ``Device.send`` / ``unset_property``):

* :meth:`MqttFleet.publish` -- any topic and payload on a broker;
* :meth:`MqttFleet.set` -- a value on a **server-owned** interface of an Astarte
  device, validated against the mapping's type (:meth:`Interface.validate_payload`),
  BSON ``{"v": value}`` (``"t"`` with an explicit timestamp) to
  ``REALM/DEVICE_ID/INTERFACE/PATH`` with the interface's QoS (properties 2,
  datastreams by reliability); a device-owned interface is refused with the reason;
* :meth:`MqttFleet.unset` -- an empty payload, for a property whose mapping has
  ``allow_unset``.

Each finished publish (success or failure) is published as ``("mqtt", TARGET,
"publish")``; invalid input and a disconnected broker raise instead (as SNMP writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from console.astarte import (
    Interface,
    InterfaceError,
    ValidationError,
    load_interfaces,
    to_json_value,
)
from console.config import Config, DeviceConfig, MqttSubscription
from console.events import EventManager, JsonValue, Policy
from console.lifecycle import ClosesOnce
from console.mqtt.client import (
    BrokerConnection,
    BrokerStatus,
    MessageHandler,
    MqttMessage,
    PublishResult,
)
from console.mqtt.client import message_payload as _message_payload
from console.mqtt.devices import (
    EMPTY_CACHE,
    PURGE_CONTROLS,
    DeviceRouter,
    DeviceState,
    DeviceStatus,
    Route,
    astarte_events,
    parse_introspection,
    purge_list,
)
from console.mqtt.fields import FieldTracker, field_events, leaves, payload_object, resolve
from console.mqtt.homeassistant import Discovery, Entity
from console.mqtt.metadata import check_content_type, check_user_properties
from console.mqtt.sparkplug import (
    NAMESPACE,
    SparkplugError,
    SparkplugTopic,
    SparkplugTracker,
    parse_topic,
)
from console.mqtt.sparkplug_command import command_payload

__all__ = ["STATS_INTERVAL", "MqttFleet"]

mlog = logging.getLogger(__name__)

SPARKPLUG_PREFIX: Final = NAMESPACE + "/"

#: Seconds between device statistics / freshness checks.
STATS_INTERVAL: Final = 1.0


def _bson_value(type_name: str, value: Any) -> Any:
    """``value`` as BSON should carry it for ``type_name``: ``longinteger`` as int64
    (Astarte expects 64-bit integers even when small)."""
    from bson.int64 import Int64

    if type_name == "longinteger" and isinstance(value, int):
        return Int64(value)
    if type_name == "longintegerarray" and isinstance(value, list):
        return [Int64(item) for item in value]
    return value


def _pointed_text(payload: bytes, pointer: str) -> bytes:
    """The text at JSON Pointer ``pointer`` of a JSON object payload (UTF-8), or
    ``payload`` itself when it is no such object or lacks the pointer."""
    import json

    try:
        value = resolve(json.loads(payload), pointer)
    except (ValueError, RecursionError, LookupError):
        return payload
    return value.encode() if isinstance(value, str) else payload


class MqttFleet(ClosesOnce):
    """The MQTT side of fleettop (see the module docstring).

    Args:
        config: the configuration (its ``brokers``, MQTT devices and
            ``interfaces_dir``).
        bus: the event manager; create the fleet on its loop.
        interfaces: Astarte interfaces by name; default: loaded from
            ``config.interfaces_dir`` (a directory that no longer loads is logged
            as an error and no interfaces are used).

    Attributes:
        connections: broker name -> connection.
        devices: device name -> state (configured devices first; discovered ones
            join as their first message arrives).
        interfaces: interface name -> interface.
    """

    def __init__(
        self,
        config: Config,
        bus: EventManager,
        *,
        interfaces: Mapping[str, Interface] | None = None,
    ) -> None:
        self._config = config
        self._bus = bus
        if interfaces is None:
            interfaces = {}
            if config.interfaces_dir is not None:
                try:
                    interfaces = load_interfaces(config.interfaces_dir)
                except InterfaceError as exc:
                    mlog.error("Astarte interfaces not loaded: %s", exc)
        self.interfaces: dict[str, Interface] = dict(interfaces)
        self._mqtt_devices: dict[str, DeviceConfig] = {
            d.name: d for d in config.devices if d.mqtt is not None
        }
        self.devices: dict[str, DeviceState] = {
            name: DeviceState.from_config(device) for name, device in self._mqtt_devices.items()
        }
        self.connections: dict[str, BrokerConnection] = {}
        self.routers: dict[str, DeviceRouter] = {}
        self.sparkplug: dict[str, SparkplugTracker] = {}
        """The Sparkplug B host state of each broker that reads the namespace."""
        self._field_tracker = FieldTracker()
        self.discovery: dict[str, Discovery] = {}
        """The Home Assistant discovery of each broker with a ``discovery_prefix``."""
        self._ha_tracker = FieldTracker()
        self._ha_errors: dict[tuple[str, str], str] = {}
        self._started = False

    async def start(self) -> None:
        """Publish every configured device's initial status, connect every broker and
        start the ticker.

        Raises:
            RuntimeError: started twice.
        """
        if self._started:
            raise RuntimeError("the MQTT fleet was already started")
        self._started = True
        now = time.time()
        for state in self.devices.values():
            state.reported_at = now
            self._publish_status(state)
        for broker in self._config.brokers:
            devices = [
                d for d in self._mqtt_devices.values() if d.mqtt and d.mqtt.broker == broker.name
            ]
            router = DeviceRouter(broker, devices)
            extra = [MqttSubscription(d.mqtt.filter, d.mqtt.qos) for d in devices if d.mqtt]
            extra += [
                MqttSubscription(d.mqtt.status_topic, 1)
                for d in devices
                if d.mqtt and d.mqtt.status_topic
            ]
            extra += [MqttSubscription(template.filter, 1) for template, _ in router.templates]
            extra += [MqttSubscription(t.filter, 1) for t, _ in router.status_templates]
            self.routers[broker.name] = router
            connection = BrokerConnection(
                broker,
                self._bus,
                handler=self._handler(broker.name, router),
                extra_subscriptions=extra,
                on_status=self._on_broker_status,
            )
            self.connections[broker.name] = connection
            await connection.start()
        self.spawn(self._tick(), name="mqtt-devices")

    async def _close(self) -> None:
        """Stop the ticker, then close every connection."""
        await self.cancel_tasks()
        results = await asyncio.gather(
            *(c.aclose() for c in self.connections.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                mlog.warning("closing a broker connection failed: %s", result)

    # -- received messages ----------------------------------------------------------

    def _handler(self, broker: str, router: DeviceRouter) -> MessageHandler:
        """The message handler of one broker (the hot path: ~3 µs a message)."""
        bus = self._bus
        devices = self.devices
        route_of = router.route
        unrouted = router.unrouted_type
        online = DeviceStatus.ONLINE
        message_payload = _message_payload
        declared_format = router.declared_format
        sparkplug = SparkplugTracker(broker) if router.sparkplug else None
        if sparkplug is not None:
            self.sparkplug[broker] = sparkplug
        prefix = router.discovery_prefix
        discovery = None if prefix is None else Discovery(prefix)
        if discovery is not None:
            self.discovery[broker] = discovery
        ha_prefix = f"{prefix}/"
        if router.has_payload_rules:
            declared = router.declared_format

            def message_payload(
                m: MqttMessage, broker: str, device: str | None
            ) -> dict[str, JsonValue]:
                payload = _message_payload(m, broker, device)
                fmt = declared(m.topic)
                if fmt is not None:
                    payload["format"] = fmt
                return payload

        async def handle(messages: list[MqttMessage]) -> None:
            # publish_wait only when some subscriber may push back (BLOCK policy);
            # checked once per chunk of at most CHUNK messages
            blocking = any(s.policy is Policy.BLOCK for s in bus.subscriptions)
            for m in messages:
                if (
                    sparkplug is not None
                    and m.topic.startswith(SPARKPLUG_PREFIX)
                    and await self._sparkplug(sparkplug, broker, m, message_payload)
                ):
                    continue
                route = route_of(m.topic)
                if (
                    discovery is not None
                    and not m.own
                    and (m.topic.startswith(ha_prefix) or discovery.watches(m.topic))
                    and await self._homeassistant(discovery, broker, route, m, message_payload)
                ):
                    continue
                if route is None:
                    if blocking:
                        await bus.publish_wait(unrouted(m.topic), message_payload(m, broker, None))
                    else:
                        bus.publish(unrouted(m.topic), message_payload(m, broker, None))
                    continue
                state = devices.get(route.device)
                if m.own:
                    # the echo of an operator publish: shown, never taken for traffic
                    # of a device (it creates none and changes no device's status)
                    if state is None:
                        await bus.publish_wait(unrouted(m.topic), message_payload(m, broker, None))
                        continue
                    await bus.publish_wait(
                        route.event_type, message_payload(m, broker, route.device)
                    )
                    if route.astarte:
                        await self._astarte(route, broker, m)
                    continue
                if state is None:
                    state = self._discover(route.device, broker, router, m.topic)
                    state.astarte_base = route.base
                state.messages += 1
                state.last_seen = m.received
                if blocking:
                    await bus.publish_wait(
                        route.event_type, message_payload(m, broker, route.device)
                    )
                else:
                    bus.publish(route.event_type, message_payload(m, broker, route.device))
                if route.kind == "status":
                    self._status_message(state, m.payload)
                    continue
                if state.status is not online and state.status_topic is None:
                    self._set_status(state, online, None)
                if route.fields is not None and route.fields.enabled and not route.astarte:
                    await self._fields(route, broker, m, declared_format(m.topic))
                if route.astarte:
                    await self._astarte(route, broker, m)
                elif route.kind == "introspection":
                    self._introspection(state, m.payload)
                elif route.kind == "control" and route.base is not None:
                    await self._control(route, broker, m)

        return handle

    async def _fields(
        self, route: Route, broker: str, m: MqttMessage, declared: str | None
    ) -> None:
        """The ``field`` events of the leaves of a JSON object payload that are new or
        changed (:mod:`console.mqtt.fields`)."""
        fields = route.fields
        assert fields is not None
        properties = m.properties
        content_type = properties.get("ContentType") if properties else None
        document = payload_object(m.payload, content_type, declared)
        if document is None:
            return
        found = leaves(document, fields)
        if not found:
            return
        changes = self._field_tracker.changes(route.device, m.topic, found)
        for event_type, payload in field_events(route.device, broker, m.topic, m.received, changes):
            await self._bus.publish_wait(event_type, payload)

    async def _homeassistant(
        self,
        discovery: Discovery,
        broker: str,
        route: Route | None,
        m: MqttMessage,
        message_payload: Callable[[MqttMessage, str, str | None], dict[str, JsonValue]],
    ) -> bool:
        """A discovery config, or a state or availability topic of a discovered entity
        (:mod:`console.mqtt.homeassistant`). The message event goes to the entity's
        device unless a configured device or rule owns the topic (then ``False``:
        routed as usual, after the entity's values).

        Events: ``("mqtt", DEVICE, "entity", COMPONENT, OBJECT_ID)`` for each entity
        announced or removed, ``field`` events of its value (keyed by its state topic
        and pointer), device ``status`` from its availability, and ``warning`` for a
        config or template fleettop cannot use (a template's error once until it
        changes)."""
        bus = self._bus
        owner: str | None = None
        outcome = discovery.config(m.topic, m.payload)
        if outcome is not None:
            for entity in outcome.removed:
                owner = owner or entity.device
                self._ha_errors.pop((entity.device, entity.value_key), None)
                await bus.publish_wait(
                    ("mqtt", entity.device, "entity", entity.component, entity.object_id),
                    {"broker": broker, **entity.describe(), "removed": True},
                )
            new_topics: list[str] = []
            for entity in outcome.added:
                owner = owner or entity.device
                self._ha_device(entity, broker)
                await bus.publish_wait(
                    ("mqtt", entity.device, "entity", entity.component, entity.object_id),
                    {"broker": broker, **entity.describe()},
                )
                if entity.state_topic:
                    new_topics.append(entity.state_topic)
                new_topics += [a.topic for a in entity.availability]
            for object_id, text in outcome.errors:
                bus.publish(
                    ("mqtt", "@" + broker, "warning"),
                    {"broker": broker, "topic": m.topic, "object_id": object_id, "message": text},
                )
            connection = self.connections.get(broker)
            if new_topics and connection is not None:
                connection.subscribe_more(new_topics)
        entities = discovery.state(m.topic, m.payload)
        by_device: dict[str, list[tuple[str, JsonValue]]] = {}
        extras: dict[tuple[str, str], Entity] = {}
        for entity, value, error in entities:
            owner = owner or entity.device
            state = self.devices.get(entity.device) or self._ha_device(entity, broker)
            state.last_seen = m.received
            if not entity.availability and state.status is not DeviceStatus.ONLINE:
                self._set_status(state, DeviceStatus.ONLINE, None)
            key = (entity.device, entity.value_key)
            if error is not None:
                if self._ha_errors.get(key) != error:
                    self._ha_errors[key] = error
                    bus.publish(
                        ("mqtt", entity.device, "warning"),
                        {"broker": broker, "topic": m.topic, "message": error},
                    )
                continue
            self._ha_errors.pop(key, None)
            by_device.setdefault(entity.device, []).append((entity.value_key, value))
            extras[key] = entity
        for device, found in by_device.items():
            changes = self._ha_tracker.changes(device, m.topic, found)
            for event_type, payload in field_events(device, broker, m.topic, m.received, changes):
                entity = extras[(device, str(payload["pointer"]))]
                payload["unit"] = entity.unit
                payload["entity"] = entity.label
                await bus.publish_wait(event_type, payload)
        for device, available in discovery.availability(m.topic, m.payload).items():
            owner = owner or device
            target_state = self.devices.get(device)
            if target_state is None or available is None:
                continue
            state = target_state
            if available:
                self._set_status(state, DeviceStatus.ONLINE, None)
            else:
                self._set_status(state, DeviceStatus.OFFLINE, f"{m.topic} says not available")
        if route is not None:
            return False
        if outcome is None and owner is None:
            return False
        target = owner if owner is not None and owner in self.devices else None
        if target is not None:
            self.devices[target].messages += 1
        event_type = ("mqtt", target or "@" + broker, "message", *m.topic.split("/"))
        await bus.publish_wait(event_type, message_payload(m, broker, target))
        return True

    def _ha_device(self, entity: Entity, broker: str) -> DeviceState:
        """The device of a discovered Home Assistant entity, created on its first
        announcement: no freshness timeout (Home Assistant keeps an entity without
        availability available) unless an entity has ``expire_after`` (the
        shortest is the device's timeout); with availability topics, the status
        they say."""
        state = self.devices.get(entity.device)
        if state is None:
            state = DeviceState(
                name=entity.device,
                broker=broker,
                timeout=float("inf"),
                discovered=True,
                reported_at=time.time(),
            )
            self.devices[entity.device] = state
            self._publish_status(state)
        if entity.availability and state.discovered and state.status_topic is None:
            state.status_topic = entity.availability[0].topic
        if entity.expire_after is not None and state.discovered:
            state.timeout = min(state.timeout, entity.expire_after)
        return state

    async def _sparkplug(
        self,
        tracker: SparkplugTracker,
        broker: str,
        m: MqttMessage,
        message_payload: Callable[[MqttMessage, str, str | None], dict[str, JsonValue]],
    ) -> bool:
        """One message of the Sparkplug B namespace (:mod:`console.mqtt.sparkplug`):
        its message event (``format`` ``sparkplug``) under the edge node or device,
        then its metric values, status changes and warnings. ``False`` for a topic
        that is no edge node's or device's (``STATE``): routed as any other."""
        bus = self._bus
        try:
            topic = parse_topic(m.topic)
        except SparkplugError as exc:
            payload = message_payload(m, broker, None)
            await bus.publish_wait(("mqtt", "@" + broker, "message", *m.topic.split("/")), payload)
            bus.publish(
                ("mqtt", "@" + broker, "warning"),
                {"broker": broker, "topic": m.topic, "message": str(exc)},
            )
            return True
        if topic is None or topic.message_type == "STATE":
            return False
        name = topic.device_name
        state = self.devices.get(name)
        if m.own:  # an operator's command echoed: shown, not the node's state
            payload = message_payload(m, broker, name if state is not None else None)
            payload["format"] = "sparkplug"
            target = name if state is not None else "@" + broker
            await bus.publish_wait(("mqtt", target, "message", *m.topic.split("/")), payload)
            return True
        state = state or self._sparkplug_device(name, broker, topic)
        state.messages += 1
        state.last_seen = m.received
        payload = message_payload(m, broker, name)
        payload["format"] = "sparkplug"
        await bus.publish_wait(("mqtt", name, "message", *m.topic.split("/")), payload)
        out = tracker.handle(topic, m.topic, m.payload)
        for device, text in out.warnings:
            bus.publish(
                ("mqtt", device, "warning"),
                {"broker": broker, "topic": m.topic, "message": text},
            )
        for device, status, reason in out.status:
            target_state = self.devices.get(device)
            if target_state is None:
                target_state = self._sparkplug_device(device, broker, topic)
            self._set_status(target_state, DeviceStatus(status), reason)
        for device, metric, source_ts in out.metrics:
            await bus.publish_wait(
                ("mqtt", device, "metric", str(metric["name"])),
                metric,
                source_timestamp=source_ts,
            )
        return True

    def _sparkplug_device(self, name: str, broker: str, topic: SparkplugTopic) -> DeviceState:
        """A Sparkplug edge node or device seen for the first time: discovered, its
        status from its BIRTH and DEATH messages (its ``status_topic`` is its DEATH
        topic; no freshness timeout: Sparkplug reports by exception)."""
        if name == topic.device_name and topic.device is not None:
            death = f"spBv1.0/{topic.group}/DDEATH/{topic.edge_node}/{topic.device}"
        else:
            death = f"spBv1.0/{topic.group}/NDEATH/{topic.edge_node}"
        state = DeviceState(
            name=name,
            broker=broker,
            discovered=True,
            reported_at=time.time(),
            status_topic=death,
        )
        self.devices[name] = state
        return state

    async def _astarte(self, route: Route, broker: str, m: MqttMessage) -> None:
        """Publish the property or datastream event of one Astarte data message."""
        assert route.interface is not None
        assert route.path is not None
        event_type, payload, source_ts = astarte_events(
            route.device, broker, m.topic, route.interface, route.path, m.payload, self.interfaces
        )
        await self._bus.publish_wait(event_type, payload, source_timestamp=source_ts)

    def _discover(self, name: str, broker: str, router: DeviceRouter, topic: str) -> DeviceState:
        state = DeviceState(
            name=name,
            broker=broker,
            timeout=router.template_timeout(topic),
            discovered=True,
            reported_at=time.time(),
        )
        found = router.rule_status(topic, name)
        if found is not None:
            state.status_topic, status = found
            state.online_payload = status.online.encode()
            state.offline_payload = status.offline.encode()
            state.status_field = status.field
        self.devices[name] = state
        return state

    def _status_message(self, state: DeviceState, payload: bytes) -> None:
        state.before_outage = None  # the topic speaks for itself again
        if state.status_field is not None and payload[:1] == b"{":
            payload = _pointed_text(payload, state.status_field)
        if payload == state.online_payload:
            self._set_status(state, DeviceStatus.ONLINE, None)
        elif payload == state.offline_payload:
            self._set_status(state, DeviceStatus.OFFLINE, f"{state.status_topic} says offline")
        elif not payload:
            self._set_status(state, DeviceStatus.UNKNOWN, f"{state.status_topic} was cleared")

    async def _control(self, route: Route, broker: str, m: MqttMessage) -> None:
        """An Astarte control message: a purge list (``control/producer/properties``,
        ``control/consumer/properties``) becomes ``("mqtt", DEVICE, "purge")``, which
        the store applies (:class:`~console.store.mqtt.MqttPropertyFeeder`); one that
        does not decode is a warning. ``control/emptyCache`` (the SDK sends ``1`` on
        each clean session, before its properties and purge list) becomes
        ``("mqtt", DEVICE, "empty_cache")`` and the device's ``empty_cache_at``: as
        Astarte reads it, the device's cache of server-owned properties is empty and
        the server is to send them and ``control/consumer/properties`` again (Astarte
        ignores the payload; fleettop, not that server, publishes nothing)."""
        assert route.base is not None
        control = m.topic[len(route.base) + 1 :]
        if control == EMPTY_CACHE:
            state = self.devices.get(route.device)
            if state is not None:
                state.empty_cache_at = m.received
            await self._bus.publish_wait(
                ("mqtt", route.device, "empty_cache"),
                {
                    "broker": broker,
                    "topic": m.topic,
                    "payload": m.payload[:64].decode("utf-8", "replace"),
                    "received": m.received,
                },
            )
            return
        ownership = PURGE_CONTROLS.get(control)
        if ownership is None:
            return
        try:
            keep = purge_list(m.payload)
        except ValueError as exc:
            self._bus.publish(
                ("mqtt", route.device, "warning"),
                {"broker": broker, "topic": m.topic, "message": f"{control}: {exc}"},
            )
            return
        await self._bus.publish_wait(
            ("mqtt", route.device, "purge"),
            {
                "broker": broker,
                "topic": m.topic,
                "ownership": ownership,
                "keep": [[interface, path] for interface, path in keep],
            },
        )

    def _introspection(self, state: DeviceState, payload: bytes) -> None:
        """Astarte introspection: ``name:major:minor;...`` (Astarte MQTT v1)."""
        state.interfaces = found = parse_introspection(payload)
        self._bus.publish(
            ("mqtt", state.name, "introspection"),
            {
                "broker": state.broker,
                "interfaces": [
                    {
                        "name": name,
                        "major": major,
                        "minor": minor,
                        "known": name in self.interfaces,
                    }
                    for name, (major, minor) in found.items()
                ],
            },
        )

    # -- status and statistics -------------------------------------------------------

    def _set_status(self, state: DeviceState, status: DeviceStatus, reason: str | None) -> None:
        if (state.status, state.reason) == (status, reason):
            return
        state.status, state.reason = status, reason
        self._publish_status(state)

    def _publish_status(self, state: DeviceState) -> None:
        if self._bus.closed:
            return
        self._bus.publish(
            ("mqtt", state.name, "status"),
            {
                "status": str(state.status),
                "reason": state.reason,
                "broker": state.broker,
                "last_seen": state.last_seen,
                "discovered": state.discovered,
            },
        )

    def _on_broker_status(self, broker: str, status: BrokerStatus, reason: str | None) -> None:
        """A broker's status changed: its devices are ``UNKNOWN`` while it is away; once
        it is back, a device with a status topic has the status that topic had set
        before (module docstring)."""
        for state in self.devices.values():
            if state.broker != broker:
                continue
            if status is BrokerStatus.CONNECTED:
                if state.before_outage is not None:
                    before, state.before_outage = state.before_outage, None
                    self._set_status(state, *before)
                continue
            if (
                state.status_topic is not None
                and state.before_outage is None
                and state.status is not DeviceStatus.UNKNOWN
            ):
                state.before_outage = (state.status, state.reason)
            self._set_status(state, DeviceStatus.UNKNOWN, f"broker {broker} is {status}")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            self.tick(time.time())

    def tick(self, now: float) -> None:
        """Publish the statistics of every device whose message count changed since
        the last report (and once more when its rate falls to 0), and mark devices
        OFFLINE whose last message is older than their timeout (those without a
        status topic). The ticker task calls it every :data:`STATS_INTERVAL` s."""
        for state in list(self.devices.values()):
            if (
                state.status is DeviceStatus.ONLINE
                and state.status_topic is None
                and state.last_seen is not None
                and now - state.last_seen > state.timeout
            ):
                self._set_status(state, DeviceStatus.OFFLINE, f"no message for {state.timeout:g} s")
            new = state.messages - state.reported_messages
            if not new and not state.rate_reported:
                continue
            elapsed = now - state.reported_at
            rate = new / elapsed if elapsed > 0 else 0.0
            self._bus.publish(
                ("mqtt", state.name, "stats"),
                {
                    "broker": state.broker,
                    "messages": state.messages,
                    "last_seen": state.last_seen,
                    "rate": round(rate, 3),
                },
            )
            state.reported_messages, state.reported_at = state.messages, now
            state.rate_reported = rate > 0

    # -- operator writes ---------------------------------------------------------------

    def _connection(self, broker: str) -> BrokerConnection:
        try:
            return self.connections[broker]
        except KeyError:
            raise ValueError(
                f"no broker named {broker!r} (configured: {', '.join(self.connections) or 'none'})"
            ) from None

    async def publish(
        self,
        broker: str,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        retain: bool = False,
        *,
        session_id: str | None = None,
        content_type: str | None = None,
        user_properties: Sequence[tuple[str, str]] = (),
    ) -> PublishResult:
        """Publish ``payload`` to ``topic`` on ``broker``; the result is also published
        as ``("mqtt", "@BROKER", "publish")`` (with ``content_type`` and
        ``user_properties`` when given).

        ``content_type`` and ``user_properties`` (``(name, value)`` pairs, in order)
        are MQTT 5 PUBLISH properties (MQTT 5.0 §3.3.2.3.9, §3.3.2.3.7).

        Raises:
            ValueError: no such broker, a bad topic name or QoS, a content type or
                user property that is no MQTT UTF-8 string, or either on a broker
                spoken to with MQTT 3.1.1 (which has no properties).
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        connection = self._connection(broker)
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        properties = None
        extra: dict[str, Any] = {}
        if content_type or user_properties:
            if connection.config.protocol != "5":
                raise ValueError(
                    f"broker {broker} is spoken to with MQTT {connection.config.protocol}: "
                    "a content type and user properties need MQTT 5 (protocol: 5)"
                )
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            pairs = check_user_properties(user_properties)
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if content_type:
                properties.ContentType = extra["content_type"] = check_content_type(content_type)
            if pairs:
                properties.UserProperty = pairs
                extra["user_properties"] = [[name, value] for name, value in pairs]
        return await self._publish(
            connection,
            connection.source,
            broker,
            topic,
            data,
            qos,
            retain,
            session_id=session_id,
            operation="publish",
            properties=properties,
            **extra,
        )

    def _astarte_target(self, device: str, interface_name: str) -> tuple[str, str, Interface]:
        """``(broker, base topic, interface)`` for an operator set on ``device``: a
        configured Astarte device, or one found by an ``{interface}`` template."""
        state = self.devices.get(device)
        if state is None or state.astarte_base is None:
            raise ValidationError(
                f"{device} is not an Astarte device (give it mqtt.astarte: realm and "
                "device_id, or match it with a device_rules template with {interface})"
            )
        interface = self.interfaces.get(interface_name)
        if interface is None:
            known = ", ".join(sorted(self.interfaces)) or "none loaded"
            raise ValidationError(
                f"interface {interface_name} is not in interfaces_dir (known: {known})"
            )
        if not interface.server_owned:
            raise ValidationError(
                f"{interface_name} is device-owned: only {device} publishes it; fleettop "
                "sets server-owned interfaces only"
            )
        return state.broker, state.astarte_base, interface

    async def set(
        self,
        device: str,
        interface_name: str,
        path: str,
        value: object,
        *,
        timestamp: dt.datetime | None = None,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Set ``path`` of a server-owned interface of Astarte device ``device`` to
        ``value`` (a property; on a server-owned datastream, send a value).
        ``previous`` (the value the caller last saw, or None) is copied into the
        result event, as an SNMP write's ``previous``.

        Raises:
            ValidationError: not an Astarte device, unknown or device-owned
                interface, a path or value that does not fit the mapping.
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        import bson

        broker, base, interface = self._astarte_target(device, interface_name)
        interface.validate_payload(path, value, timestamp)
        if interface.is_object:
            assert isinstance(value, Mapping)
            document: dict[str, Any] = {
                "v": {
                    key: _bson_value(getattr(interface.mapping(f"{path}/{key}"), "type", ""), item)
                    for key, item in value.items()
                }
            }
            shown: JsonValue = {
                key: to_json_value(
                    getattr(interface.mapping(f"{path}/{key}"), "type", "string"), item
                )
                for key, item in value.items()
            }
            type_name = "object"
        else:
            mapping = interface.validate_path(path)
            document = {"v": _bson_value(mapping.type, value)}
            shown = to_json_value(mapping.type, value)
            type_name = mapping.type
        if timestamp is not None:
            document["t"] = timestamp
        payload = bson.encode(document)
        topic = f"{base}/{interface_name}{path}"
        qos = interface.qos(path)
        return await self._publish(
            self._connection(broker),
            device,
            broker,
            topic,
            payload,
            qos,
            False,
            session_id=session_id,
            operation="set",
            interface=interface_name,
            path=path,
            type=type_name,
            value=shown,
            previous=previous,
        )

    async def unset(
        self,
        device: str,
        interface_name: str,
        path: str,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Unset property ``path`` of a server-owned interface (an empty payload, QoS
        2); only where the mapping has ``allow_unset``. ``previous``: as :meth:`set`.

        Raises:
            ValidationError: as :meth:`set`, or the mapping does not allow unset.
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        broker, base, interface = self._astarte_target(device, interface_name)
        mapping = interface.validate_unset(path)
        topic = f"{base}/{interface_name}{path}"
        return await self._publish(
            self._connection(broker),
            device,
            broker,
            topic,
            b"",
            2,
            False,
            session_id=session_id,
            operation="unset",
            interface=interface_name,
            path=path,
            type=mapping.type,
            value=None,
            previous=previous,
        )

    async def command(
        self,
        device: str,
        name: str,
        value: object,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Write metric ``name`` of a Sparkplug B edge node or device: an NCMD
        (``spBv1.0/GROUP/NCMD/EDGE``) or DCMD (``.../DCMD/EDGE/DEVICE``) with the metric
        typed by the datatype its BIRTH declared
        (:func:`~console.mqtt.sparkplug_command.command_payload`), QoS 0, not retained
        (Sparkplug 3.0 §7.4). The result is published as ``("mqtt", DEVICE,
        "publish")`` with ``operation`` ``set``, ``interface``
        ``org.eclipse.tahu.Sparkplug`` and ``path`` ``/NAME`` (audited as a set).

        Raises:
            ValidationError: not a Sparkplug device, a metric no BIRTH declared, a
                value that does not fit its datatype (the reason).
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        from console.mqtt.tahu import DATATYPE_NAMES

        state = self.devices.get(device)
        tracker = None if state is None else self.sparkplug.get(state.broker)
        where = None if tracker is None else tracker.location(device)
        if state is None or tracker is None or where is None:
            raise ValidationError(f"{device} is not a Sparkplug B edge node or device")
        datatype = tracker.datatype_of(device, name)
        if not datatype:
            raise ValidationError(
                f"{device} declared no metric {name!r} in its last BIRTH (fleettop writes "
                "the metrics a BIRTH typed)"
            )
        try:
            data = command_payload(name, datatype, value, int(time.time() * 1000))
        except SparkplugError as exc:
            raise ValidationError(str(exc)) from None
        group, edge, device_id = where
        kind = "NCMD" if device_id is None else "DCMD"
        topic = f"{NAMESPACE}/{group}/{kind}/{edge}" + (f"/{device_id}" if device_id else "")
        shown: JsonValue = value if isinstance(value, int | float | str | bool) else str(value)
        return await self._publish(
            self._connection(state.broker),
            device,
            state.broker,
            topic,
            data,
            0,
            False,
            session_id=session_id,
            operation="set",
            interface="org.eclipse.tahu.Sparkplug",
            path=f"/{name}",
            type=DATATYPE_NAMES.get(datatype, str(datatype)),
            value=shown,
            previous=previous,
        )

    async def _publish(
        self,
        connection: BrokerConnection,
        target: str,
        broker: str,
        topic: str,
        data: bytes,
        qos: int,
        retain: bool,
        *,
        session_id: str | None,
        operation: str,
        properties: Any = None,
        **fields: Any,
    ) -> PublishResult:
        """Publish on ``connection`` (with the MQTT 5 ``properties``, paho's, when
        given) and the result as ``("mqtt", TARGET, "publish")`` (``fields``: the
        Astarte interface, path, type and value; a publish's content type and user
        properties)."""
        result = await connection.publish(topic, data, qos, retain, properties=properties)
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "interface": None,
            "path": None,
            "type": None,
            "value": None,
            "previous": None,
            "operation": operation,
            "broker": broker,
            "topic": topic,
            "qos": qos,
            "retain": retain,
            "size": len(data),
            **fields,
            "success": result.success,
            "error": result.error,
            "reason_code": result.reason_code,
        }
        with contextlib.suppress(RuntimeError):  # the bus closed meanwhile
            self._bus.publish(("mqtt", target, "publish"), payload)
        return result
