"""The MQTT side of the fleet state: plain Python folded from ``("mqtt", ...)`` bus
events (``docs/events.md``), no Textual.

:class:`MqttFold` belongs to a :class:`~console.fleet.FleetState` (its ``mqtt``)
and folds what the Devices and values screens show:

* broker status (``("mqtt", "@BROKER", "status")``): status, reason, address;
* device status and statistics into the device's
  :class:`~console.fleet.model.DeviceState` (``mqtt_status``, ``msg_rate``...). A device
  with both ``snmp:`` and ``mqtt:`` keeps **one** row: SNMP's status in ``status``,
  MQTT's in ``mqtt_status`` (the table shows both);
* Astarte ``property`` / ``datastream`` values as values of the device, keyed
  ``(device, INTERFACE + PATH)`` (an object datastream is one value whose value is
  the object of its fields);
* plain message events of a device that is not Astarte as values keyed
  ``(device, TOPIC)``.

Payloads stay encoded (base64, as on the bus) until shown: the table line decodes
at most :data:`LINE_LIMIT` bytes, the detail view decodes with the display limit
(64 KiB) once per received payload (:meth:`MqttFold.payload`, cached).

Payloads are bounded by bytes too: of each topic's latest message only the first
``display_limit`` (+1) bytes are kept, with the message's real size
(:attr:`MqttValueInfo.size`), so the detail says ``… truncated: N of M bytes shown``
and 30 messages of 10 MB keep ~2 MB, not 300. Over all topics, kept payloads beyond
:data:`LINE_LIMIT` bytes are bounded by ``payload_budget`` (:data:`PAYLOAD_BUDGET`
bytes): past it, the least recently updated ones are cut down to
:data:`LINE_LIMIT` bytes (their size still noted).

Memory is bounded: at most :data:`VALUES_PER_DEVICE` message topics per device and
:data:`MESSAGE_TOPIC_LIMIT` over all devices (the least recently updated one goes;
the notification stream and its store keep every message), :data:`TOPIC_LIMIT` topics remembered for
the publish dialog's completion, and the payload cache holds one entry per shown
value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from console.events import Event, JsonValue
from console.fleet.model import MQTT, Changes, DeviceState, ValueKey, unpack
from console.fleet.values import FleetValues
from console.mqtt.codec import DEFAULT_DISPLAY_LIMIT, DecodedPayload, decode_payload

if TYPE_CHECKING:
    from console.config import DeviceConfig

__all__ = [
    "LINE_LIMIT",
    "MESSAGE_TOPIC_LIMIT",
    "MQTT",
    "PAYLOAD_BUDGET",
    "TOPIC_LIMIT",
    "VALUES_PER_DEVICE",
    "BrokerInfo",
    "MqttFold",
    "MqttValueInfo",
    "device_status",
    "mqtt_address",
    "mqtt_protocol",
    "mqtt_reason",
    "object_text",
]

LINE_LIMIT: Final = 512
"""Bytes of a payload decoded for its one-line table cell."""
VALUES_PER_DEVICE: Final = 500
"""Message topics kept per device (Astarte values are bounded by the interfaces)."""
MESSAGE_TOPIC_LIMIT: Final = 50_000
"""Message topics kept over all devices (a flood over 100k topics keeps the 50k most
recently updated ones as rows)."""
PAYLOAD_BUDGET: Final = 16 * 1024 * 1024
"""Bytes of kept payloads (beyond each one's first :data:`LINE_LIMIT`) over all
topics."""
TOPIC_LIMIT: Final = 1000
"""Topics remembered for completion in the publish dialog."""


@dataclass(slots=True)
class BrokerInfo:
    """A broker connection as the UI shows it."""

    name: str
    status: str | None = None
    reason: str | None = None
    address: str | None = None
    protocol: str | None = None


@dataclass(slots=True)
class MqttValueInfo:
    """Where an MQTT value comes from, beside its :class:`~console.fleet.model.ValueState`.

    Attributes:
        broker: the broker's name.
        topic: the topic of the last message.
        interface: the Astarte interface, or ``None`` for a plain topic.
        path: the Astarte path, or ``None``.
        ownership: ``device`` or ``server`` (Astarte only).
        aggregation: ``individual`` or ``object`` (Astarte only).
        valid: the value fits its interface.
        error: why it does not, or ``None``.
        payload: the last payload in base64 (plain topics), or ``None``: at most
            its first ``display_limit`` + 1 bytes (see the module docstring).
        size: its size in bytes (the whole message's).
        count: messages seen for this value.
        content_type: the last message's MQTT 5 Content Type, or ``None``.
        declared: the decoder configured for the topic (``payloads:``), or ``None``.
        properties: the last message's MQTT 5 properties (``docs/events.md``), or
            ``None``.
        unit: the value's unit (a Home Assistant entity's ``unit_of_measurement``),
            or ``None``.
        entity: the Home Assistant entity whose value it is (its name), or ``None``.
    """

    broker: str
    topic: str
    interface: str | None = None
    path: str | None = None
    ownership: str | None = None
    aggregation: str | None = None
    valid: bool = True
    error: str | None = None
    payload: str | None = None
    size: int = 0
    count: int = 0
    content_type: str | None = None
    declared: str | None = None
    properties: dict[str, JsonValue] | None = None
    unit: str | None = None
    entity: str | None = None


class MqttFold:
    """Fold MQTT events into ``state`` (see the module docstring).

    Args:
        state: the devices and values the events go to.
        display_limit: bytes of a payload decoded for the detail view (and kept).
        message_limit: message topics kept over all devices.
        payload_budget: bytes of kept payloads beyond :data:`LINE_LIMIT` each, over
            all topics.
    """

    def __init__(
        self,
        state: FleetValues,
        *,
        display_limit: int = DEFAULT_DISPLAY_LIMIT,
        message_limit: int = MESSAGE_TOPIC_LIMIT,
        payload_budget: int = PAYLOAD_BUDGET,
    ) -> None:
        self.message_limit = message_limit
        self.payload_budget = payload_budget
        """Bytes of kept payloads beyond :data:`LINE_LIMIT` each, over all topics."""
        self._kept: OrderedDict[ValueKey, int] = OrderedDict()
        self._kept_chars = 0
        self._recent: OrderedDict[ValueKey, None] = OrderedDict()
        self._state = state
        self.display_limit = display_limit
        """Bytes decoded for the detail view."""
        self.brokers: dict[str, BrokerInfo] = {}
        """Brokers by name (without the ``@``)."""
        self.info: dict[ValueKey, MqttValueInfo] = {}
        """Where each MQTT value comes from."""
        self._topics: OrderedDict[str, str] = OrderedDict()
        self._messages: dict[str, OrderedDict[str, None]] = {}
        self._astarte: set[str] = set()
        self._decoded: dict[ValueKey, tuple[int, DecodedPayload]] = {}
        self._counts: dict[str, int] = {}

    # -- reading -------------------------------------------------------------------

    def topics(self, broker: str | None = None) -> list[str]:
        """Topics seen lately (most recent last), of ``broker`` or of every broker."""
        return [t for t, b in self._topics.items() if broker is None or b == broker]

    def value_count(self, device: str) -> int:
        """How many MQTT values ``device`` has."""
        return self._counts.get(device, 0)

    def broker_of(self, device: str) -> BrokerInfo | None:
        """The broker of an MQTT device, if known."""
        name = self._state.device(device).broker
        return self.brokers.get(name) if name else None

    def payload(self, key: ValueKey) -> DecodedPayload | None:
        """The payload of a plain-topic value decoded for display (display limit,
        visible truncation), cached until the next message of that value."""
        info = self.info.get(key)
        if info is None or info.payload is None:
            return None
        cached = self._decoded.get(key)
        if cached is not None and cached[0] == info.count:
            return cached[1]
        decoded = decode_payload(
            _b64_prefix(info.payload, self.display_limit + 1),
            limit=self.display_limit,
            content_type=info.content_type,
            declared=info.declared,
        )
        decoded = _with_size(decoded, info.size, self.display_limit)
        self._decoded.clear()  # only the shown value is worth keeping
        self._decoded[key] = (info.count, decoded)
        return decoded

    # -- folding -------------------------------------------------------------------

    def apply_one(self, event: Event, changes: Changes) -> None:
        """Fold one ``("mqtt", ...)`` event."""
        parts = unpack(event)
        if parts is None:
            return
        target, kind, payload, when = parts
        if target.startswith("@"):
            if kind == "status" and len(event.type) == 3:
                self._broker_status(target[1:], payload, changes)
            elif kind == "message":
                self._remember_topic(payload)
            return
        if kind == "status" and len(event.type) == 3:
            self._device_status(target, payload, when, changes)
        elif kind == "stats" and len(event.type) == 3:
            self._device_stats(target, payload, changes)
        elif kind in ("property", "datastream") and len(event.type) == 5:
            self._astarte_value(target, kind, event.type[3], event.type[4], payload, when, changes)
        elif kind == "introspection":
            self._become_astarte(target, changes)
        elif kind == "metric" and len(event.type) == 4:
            self._metric(target, event.type[3], payload, when, changes)
        elif kind == "purge" and len(event.type) == 3:
            self._purge(target, payload, changes)
        elif kind == "field" and len(event.type) == 5:
            self._field(target, event.type[3], event.type[4], payload, when, changes)
        elif kind == "entity" and len(event.type) == 5:
            self._entity(target, payload, changes)
        elif kind == "message":
            self._remember_topic(payload)
            if target not in self._astarte and payload.get("format") != "sparkplug":
                self._message(target, payload, when, changes)

    def _broker_status(self, name: str, payload: dict[str, JsonValue], changes: Changes) -> None:
        broker = self.brokers.setdefault(name, BrokerInfo(name))
        broker.status = _text(payload.get("status"))
        broker.reason = _text(payload.get("reason"))
        broker.address = _text(payload.get("address")) or broker.address
        broker.protocol = _text(payload.get("protocol")) or broker.protocol
        changes.devices.update(
            device.name for device in self._state.devices.values() if device.broker == name
        )

    def _device_status(
        self, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        status = payload["status"]
        if not isinstance(status, str):
            raise TypeError("status is not a string")
        device = self._state.ensure_device(name)
        if status != device.mqtt_status:
            device.mqtt_since = when
        device.mqtt_status = status
        device.mqtt_reason = _text(payload.get("reason"))
        device.broker = _text(payload.get("broker")) or device.broker
        last_seen = payload.get("last_seen")
        if isinstance(last_seen, int | float) and not isinstance(last_seen, bool):
            device.last_seen = float(last_seen)
        changes.devices.add(name)

    def _device_stats(self, name: str, payload: dict[str, JsonValue], changes: Changes) -> None:
        device = self._state.ensure_device(name)
        device.broker = _text(payload.get("broker")) or device.broker
        rate, messages, last_seen = (
            payload.get("rate"),
            payload.get("messages"),
            payload.get("last_seen"),
        )
        if isinstance(rate, int | float) and not isinstance(rate, bool):
            device.msg_rate = float(rate)
        if isinstance(messages, int) and not isinstance(messages, bool):
            device.messages = messages
        if isinstance(last_seen, int | float) and not isinstance(last_seen, bool):
            device.last_seen = float(last_seen)
        changes.devices.add(name)

    def _become_astarte(self, device: str, changes: Changes) -> None:
        """An Astarte device: its values come from property/datastream events, so its
        raw message rows go."""
        if device in self._astarte:
            return
        self._astarte.add(device)
        for topic in self._messages.pop(device, {}):
            self._recent.pop((device, topic), None)
            self._drop((device, topic), changes)

    def _new_info(self, key: ValueKey, broker: JsonValue, topic: str) -> MqttValueInfo:
        info = self.info[key] = MqttValueInfo(broker=str(broker or ""), topic=topic)
        self._counts[key[0]] = self._counts.get(key[0], 0) + 1
        return info

    @property
    def payload_bytes(self) -> int:
        """Bytes of payload kept over all topics beyond :data:`LINE_LIMIT` each
        (base64 characters x 3/4)."""
        return self._kept_chars * 3 // 4

    def _keep(self, key: ValueKey, info: MqttValueInfo, data: str) -> None:
        """Keep the first ``display_limit`` + 1 bytes of ``data`` (base64) as the
        value's payload, within the payload budget."""
        kept = data[: _b64_chars(self.display_limit + 1)]
        info.payload = kept
        self._kept_chars -= self._kept.pop(key, 0)
        extra = len(kept) - _b64_chars(LINE_LIMIT + 1)
        if extra <= 0:
            return
        self._kept[key] = extra
        self._kept_chars += extra
        while self._kept_chars * 3 // 4 > self.payload_budget and self._kept:
            old, chars = self._kept.popitem(last=False)
            self._kept_chars -= chars
            old_info = self.info.get(old)
            if old_info is not None and old_info.payload is not None:
                old_info.payload = old_info.payload[: _b64_chars(LINE_LIMIT + 1)]
                self._decoded.pop(old, None)

    def _drop(self, key: ValueKey, changes: Changes) -> None:
        self._kept_chars -= self._kept.pop(key, 0)
        if self.info.pop(key, None) is not None:
            self._counts[key[0]] = self._counts.get(key[0], 1) - 1
        self._decoded.pop(key, None)
        self._state.drop_value(key)
        changes.values.add(key)
        changes.devices.add(key[0])

    def _remember_topic(self, payload: dict[str, JsonValue]) -> None:
        topic, broker = payload.get("topic"), payload.get("broker")
        if isinstance(topic, str):
            self._topics[topic] = broker if isinstance(broker, str) else ""
            self._topics.move_to_end(topic)
            while len(self._topics) > TOPIC_LIMIT:
                self._topics.popitem(last=False)

    def _astarte_value(
        self,
        device: str,
        kind: str,
        interface: str,
        path: str,
        payload: dict[str, JsonValue],
        when: float,
        changes: Changes,
    ) -> None:
        self._become_astarte(device, changes)
        key = (device, f"{interface}{path}")
        info = self.info.get(key)
        if info is None:
            info = self._new_info(key, payload.get("broker"), str(payload.get("topic") or ""))
        info.interface, info.path = interface, path
        device_state = self._state.ensure_device(device)
        device_state.broker = device_state.broker or info.broker or None
        info.ownership = _text(payload.get("ownership"))
        info.aggregation = _text(payload.get("aggregation"))
        info.valid = payload.get("valid") is not False
        info.error = _text(payload.get("error"))
        info.count += 1
        unset = payload.get("unset") is True
        data_type = _text(payload.get("type")) or "unknown"
        cause = "unset" if unset else kind
        value = payload.get("value")
        self._state.put_value(key, data_type, value, cause, when, protocol=MQTT)
        self._rate(key, info.count, when)
        changes.values.add(key)
        changes.devices.add(device)

    def _purge(self, device: str, payload: dict[str, JsonValue], changes: Changes) -> None:
        """An Astarte purge list (``("mqtt", DEVICE, "purge")``): the device's property
        values of that ownership that are not listed go, as from the store."""
        keep_list = payload.get("keep")
        keep = {
            f"{pair[0]}{pair[1]}"
            for pair in (keep_list if isinstance(keep_list, list) else [])
            if isinstance(pair, list) and len(pair) == 2
        }
        ownership = payload.get("ownership")
        doomed = [
            key
            for key, info in self.info.items()
            if key[0] == device
            and info.interface is not None
            and info.ownership == ownership
            and info.aggregation != "object"
            and key[1] not in keep
            and self._state.value(key) is not None
            and self._state.value(key).cause in ("property", "unset")  # type: ignore[union-attr]
        ]
        for key in doomed:
            self._drop(key, changes)

    def _field(
        self,
        device: str,
        topic: str,
        pointer: str,
        payload: dict[str, JsonValue],
        when: float,
        changes: Changes,
    ) -> None:
        """A JSON field (``("mqtt", DEVICE, "field", TOPIC, POINTER)``): the value
        ``(device, TOPIC#POINTER)``, typed by its JSON type; the cause is ``field``."""
        key = (device, f"{topic}#{pointer}")
        info = self.info.get(key)
        if info is None:
            info = self._new_info(key, payload.get("broker"), topic)
        info.path = pointer
        info.count += 1
        if "entity" in payload:
            info.unit, info.entity = _text(payload.get("unit")), _text(payload.get("entity"))
        device_state = self._state.ensure_device(device)
        device_state.broker = device_state.broker or info.broker or None
        data_type = _text(payload.get("type")) or "unknown"
        value = self._state.put_value(
            key, data_type, payload.get("value"), "field", when, protocol=MQTT
        )
        value.unit = info.unit
        self._rate(key, info.count, when)
        changes.values.add(key)
        changes.devices.add(device)

    def _entity(self, device: str, payload: dict[str, JsonValue], changes: Changes) -> None:
        """A Home Assistant entity announced or removed (``("mqtt", DEVICE, "entity",
        COMPONENT, OBJECT_ID)``): a removed entity's value row goes."""
        topic, value_key = payload.get("state_topic"), payload.get("value_key")
        if payload.get("removed") is True and isinstance(topic, str) and isinstance(value_key, str):
            key = (device, f"{topic}#{value_key}")
            if key in self.info:
                self._drop(key, changes)

    def _metric(
        self, device: str, name: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        """A Sparkplug B metric (``("mqtt", DEVICE, "metric", NAME)``): the value
        ``(device, NAME)``, typed by its Sparkplug datatype; the cause is the message
        type (``NBIRTH``, ``DDATA``...)."""
        key = (device, name)
        info = self.info.get(key)
        if info is None:
            info = self._new_info(key, payload.get("broker"), str(payload.get("topic") or ""))
        info.topic = str(payload.get("topic") or info.topic)
        info.ownership, info.aggregation = "device", "individual"
        info.count += 1
        device_state = self._state.ensure_device(device)
        device_state.broker = device_state.broker or info.broker or None
        data_type = _text(payload.get("datatype")) or "Unknown"
        cause = _text(payload.get("message_type")) or "metric"
        self._state.put_value(key, data_type, payload.get("value"), cause, when, protocol=MQTT)
        self._rate(key, info.count, when)
        changes.values.add(key)
        changes.devices.add(device)

    def _message(
        self, device: str, payload: dict[str, JsonValue], when: float, changes: Changes
    ) -> None:
        topic, data = payload.get("topic"), payload.get("payload")
        if not isinstance(topic, str) or not isinstance(data, str):
            raise TypeError("a message needs a topic and a base64 payload")
        size = payload.get("size")
        key = (device, topic)
        topics = self._messages.setdefault(device, OrderedDict())
        topics[topic] = None
        topics.move_to_end(topic)
        while len(topics) > VALUES_PER_DEVICE:
            old, _ = topics.popitem(last=False)
            self._recent.pop((device, old), None)
            self._drop((device, old), changes)
        recent = self._recent
        recent[key] = None
        recent.move_to_end(key)
        while len(recent) > self.message_limit:
            (old_device, old_topic), _ = recent.popitem(last=False)
            device_topics = self._messages.get(old_device)
            if device_topics is not None:
                device_topics.pop(old_topic, None)
            self._drop((old_device, old_topic), changes)
        info = self.info.get(key)
        if info is None:
            info = self._new_info(key, payload.get("broker"), topic)
        self._keep(key, info, data)
        device_state = self._state.ensure_device(device)
        device_state.broker = device_state.broker or info.broker or None
        if isinstance(size, int) and not isinstance(size, bool):
            info.size = size
        else:
            info.size = len(data) * 3 // 4 - len(data[-2:]) + len(data[-2:].rstrip("="))
        info.count += 1
        properties = payload.get("properties")
        info.properties = properties if isinstance(properties, dict) else None
        info.content_type = _text(info.properties.get("ContentType")) if info.properties else None
        info.declared = _text(payload.get("format"))
        line = decode_payload(
            _b64_prefix(data, LINE_LIMIT + 1),
            limit=LINE_LIMIT,
            pretty=False,
            content_type=info.content_type,
            declared=info.declared,
        )
        line = _with_size(line, info.size, LINE_LIMIT)
        data_type = f"{line.format}, truncated" if line.truncated else line.format
        self._state.put_value(key, data_type, line.line, "message", when, protocol=MQTT)
        self._rate(key, info.count, when)
        changes.values.add(key)
        changes.devices.add(device)

    def _rate(self, key: ValueKey, count: int, when: float) -> None:
        """Messages per second of one value, since the UI first saw it."""
        value = self._state.value(key)
        if value is None:
            return
        elapsed = when - value.first_seen
        value.rate = (count - 1) / elapsed if count > 1 and elapsed > 0 else None


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _b64_chars(limit: int) -> int:
    """Base64 characters that encode the first ``limit`` bytes (and up to 2 more)."""
    return ((limit + 2) // 3) * 4


def _b64_prefix(data: str, limit: int) -> bytes:
    """At most ``limit`` bytes (and a few more) of base64 ``data``, decoding only
    what is needed."""
    try:
        return base64.b64decode(data[: _b64_chars(limit)])
    except (binascii.Error, ValueError):
        return b""


def _with_size(decoded: DecodedPayload, size: int, limit: int) -> DecodedPayload:
    """``decoded`` (made from a prefix of a payload of ``size`` bytes) with the
    payload's real size in its truncation line."""
    if size <= limit or decoded.size >= size:
        return decoded
    shown = min(limit, decoded.size)
    note = f"… truncated: {shown:,} of {size:,} bytes shown"
    text, _, _ = decoded.text.rpartition("\n… truncated:")
    line, _, _ = decoded.line.rpartition(" … truncated:")
    text = text or decoded.text
    line = line or decoded.line
    one_line = f"{line} {note}"
    return DecodedPayload(
        decoded.format,
        f"{text}\n{note}",
        one_line if len(one_line) <= 200 else one_line[:199] + "…",
        size,
        True,
        decoded.value,
    )


def object_text(value: JsonValue) -> str:
    """An object datastream's fields on one line: ``latitude=45.1, longitude=7.6``."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def device_status(device: DeviceState) -> str | None:
    """The status shown for a device: SNMP's, MQTT's, or both (``CONNECTED / ONLINE``)
    for a device with both protocols."""
    if device.mqtt_status is None:
        return device.status
    if device.status is None:
        return device.mqtt_status
    return f"{device.status} / {device.mqtt_status}"


def mqtt_protocol(device: DeviceState, config: DeviceConfig | None) -> str | None:
    """``MQTT BROKER`` for an MQTT device (``None`` for an SNMP-only one)."""
    broker = device.broker or (config.mqtt.broker if config and config.mqtt else None)
    return f"MQTT {broker}" if broker else None


def mqtt_address(device: DeviceState, fold: MqttFold | None) -> str | None:
    """The ``host:port`` of an MQTT device's broker, when known."""
    if fold is None or device.broker is None:
        return None
    broker = fold.brokers.get(device.broker)
    return broker.address if broker is not None and broker.address else None


def mqtt_reason(device: DeviceState, fold: MqttFold | None) -> str | None:
    """Why an MQTT device's broker is not connected (its reason), else the device's
    own reason."""
    broker = fold.brokers.get(device.broker) if fold and device.broker else None
    if broker is not None and broker.status == "DISCONNECTED":
        return f"broker {broker.name} DISCONNECTED: {broker.reason or 'no reason given'}"
    return device.mqtt_reason
