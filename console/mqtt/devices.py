"""MQTT devices: which device a topic belongs to, whether the device is online, and
what its Astarte messages mean.

Routing (:class:`DeviceRouter`, one per broker), first match wins:

1. a configured device's ``status_topic`` (its online/offline or Last Will topic);
2. a configured Astarte device (``mqtt.astarte``): ``REALM/DEVICE_ID`` is its
   introspection, ``REALM/DEVICE_ID/control/...`` Astarte control messages, and
   ``REALM/DEVICE_ID/INTERFACE/PATH`` data (Astarte MQTT v1 protocol);
3. a configured device's ``mqtt.topic`` filter, in configuration order;
4. the status topics of the broker's ``device_rules`` (``status.topic``,
   ``tele/{device}/LWT``), then their templates (``site/{device}/telemetry/#``): the
   device is named by the topic, and appears when its first message arrives
   (``{interface}`` in the template makes it Astarte-style); a rule's ``status``
   gives it its status topic, payloads and ``field``.

Routes are cached per topic (at most :data:`ROUTE_CACHE` topics; the cache starts
over when full), so a steady stream costs one dict lookup per message.

Status (:class:`DeviceStatus`, published on change as ``("mqtt", DEVICE,
"status")``): with a ``status_topic``, ``ONLINE``/``OFFLINE`` as its payload says
(``online_payload`` / ``offline_payload``; an empty retained payload -> ``UNKNOWN``);
without one, ``ONLINE`` when a message arrives and ``OFFLINE`` after ``timeout``
seconds without one (freshness). Every device of a broker becomes ``UNKNOWN`` while
the broker is not connected (fleettop cannot know). When the broker is back, a device
with a status topic gets the status that topic had set before the outage (a birth
message that was not retained is not sent again), until the topic says otherwise (a
retained Last Will published meanwhile arrives with the new subscription); a device
without one is ``ONLINE`` again with its first message.

Astarte data (:func:`astarte_events`): the BSON payload ``{"v": value, "t":
timestamp}`` is decoded and checked against the interface of ``interfaces_dir``
(:mod:`console.astarte`), then published as
``("mqtt", DEVICE, "property", INTERFACE, PATH)`` or
``("mqtt", DEVICE, "datastream", INTERFACE, PATH)``; an object-aggregated datastream
is one event whose value holds every field. A payload that does not validate is
still published, with ``valid`` false and the reason in ``error``.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.astarte import Interface, ValidationError, to_json_value
from console.config import (
    BrokerConfig,
    DeviceConfig,
    JsonFields,
    MqttDeviceConfig,
    RuleStatus,
)
from console.events import JsonValue
from console.mqtt.codec import decode_bson, is_bson, json_ready
from console.topics import DeviceTemplate, filter_matches, parse_template

__all__ = [
    "EMPTY_CACHE",
    "PURGE_CONTROLS",
    "ROUTE_CACHE",
    "DeviceRouter",
    "DeviceState",
    "DeviceStatus",
    "Route",
    "astarte_events",
    "parse_introspection",
    "purge_list",
]

#: Astarte control topics (after ``REALM/DEVICE_ID/``) that carry a purge list, and
#: the ownership of the properties they list (Astarte MQTT v1 protocol; the SDK's
#: ``device_mqtt.py``): the device's own properties it holds, the server's it should.
PURGE_CONTROLS: Final = {
    "control/producer/properties": "device",
    "control/consumer/properties": "server",
}
#: The Astarte control topic (after ``REALM/DEVICE_ID/``) a device sends on each
#: clean session: its cache of server-owned properties is empty (the SDK's
#: ``__send_empty_cache``, payload ``1``; Astarte then sends them and
#: ``control/consumer/properties`` again).
EMPTY_CACHE: Final = "control/emptyCache"
#: Longest purge list read (uncompressed bytes).
MAX_PURGE_BYTES: Final = 16 * 1024 * 1024


def purge_list(payload: bytes) -> list[tuple[str, str]]:
    """The ``(interface, path)`` pairs of an Astarte purge list: a 4-byte length of the
    uncompressed list (little-endian, as the Astarte SDK for Python writes it; the
    length is not relied on) then the zlib-deflated UTF-8 text
    ``INTERFACE/PATH;INTERFACE/PATH`` (empty: no property).

    Raises:
        ValueError: shorter than 4 bytes, not zlib data, longer than
            :data:`MAX_PURGE_BYTES` uncompressed, not UTF-8, or an entry without a path.
    """
    import zlib

    if len(payload) < 4:
        raise ValueError(f"a purge list is a 4-byte length and zlib data, got {len(payload)} bytes")
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(payload[4:], MAX_PURGE_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"the purge list is not zlib data: {exc}") from None
    if len(raw) > MAX_PURGE_BYTES:
        raise ValueError(f"the purge list is longer than {MAX_PURGE_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the purge list is not UTF-8 text") from None
    found: list[tuple[str, str]] = []
    for entry in filter(None, text.split(";")):
        interface, slash, path = entry.partition("/")
        if not slash or not interface:
            raise ValueError(f"purge list entry {entry[:80]!r} is not INTERFACE/PATH")
        found.append((interface, "/" + path))
    return found


#: Topics whose route is remembered per broker (the cache starts over when full).
ROUTE_CACHE: Final = 100_000
_DEFAULT_FIELDS: Final = JsonFields()


class DeviceStatus(enum.StrEnum):
    """An MQTT device's status, as published in ``("mqtt", DEVICE, "status")``."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a topic belongs.

    Attributes:
        device: the device name.
        kind: ``data`` (an ordinary message), ``status`` (the device's status
            topic), ``introspection`` or ``control`` (Astarte).
        astarte: the message is Astarte data (``interface`` and ``path`` set).
        interface: the Astarte interface name, or ``None``.
        path: the Astarte path (``/a/b``), or ``None``.
        event_type: the message event type, ``("mqtt", device, "message",
            *levels)``.
        base: for Astarte(-style) devices, the topic prefix before the interface
            (``REALM/DEVICE_ID``), where operator sets go; else ``None``.
        fields: which leaves of a JSON object payload become values
            (:mod:`console.mqtt.fields`): the template's ``fields``, the defaults for
            a configured device's own topics; ``None`` for status, Astarte and
            control topics.
    """

    device: str
    kind: str
    astarte: bool
    interface: str | None
    path: str | None
    event_type: tuple[str, ...]
    base: str | None = None
    fields: JsonFields | None = None


@dataclass(slots=True)
class DeviceState:
    """What fleettop knows of one MQTT device (updated on the loop).

    Attributes:
        name, broker: the device and its broker.
        timeout: freshness timeout, seconds.
        status_topic: the configured status topic, or ``None``.
        online_payload, offline_payload: the status topic's payloads (bytes).
        discovered: found by a ``device_rules`` template, not configured.
        astarte_base: ``REALM/DEVICE_ID`` for a configured Astarte device.
        status, reason: the current status and why.
        last_seen: receive time of the last message (s since the epoch), or ``None``.
        messages: messages received since start.
        reported_messages, reported_at, rate_reported: what the last ``stats``
            event said (count, when, whether its rate was above 0).
        interfaces: the Astarte introspection last received: ``name -> (major,
            minor)``.
        before_outage: the status and reason the device's status topic had set when
            its broker went away (the device is ``UNKNOWN`` meanwhile), or ``None``:
            restored when the broker is back, until the status topic says otherwise.
        empty_cache_at: when the device last sent Astarte's ``control/emptyCache``
            (a clean session), or ``None``.
        status_field: for a status payload that is a JSON object, the JSON Pointer
            of the text compared with the online/offline payloads (a device rule's
            ``status.field``), or ``None``.
    """

    name: str
    broker: str
    timeout: float = 60.0
    status_topic: str | None = None
    online_payload: bytes = b"online"
    offline_payload: bytes = b"offline"
    discovered: bool = False
    astarte_base: str | None = None
    status: DeviceStatus = DeviceStatus.UNKNOWN
    reason: str | None = "no message yet"
    last_seen: float | None = None
    messages: int = 0
    reported_messages: int = 0
    reported_at: float = 0.0
    rate_reported: bool = False
    interfaces: dict[str, tuple[int, int]] = field(default_factory=dict)
    before_outage: tuple[DeviceStatus, str | None] | None = None
    empty_cache_at: float | None = None
    status_field: str | None = None

    @classmethod
    def from_config(cls, device: DeviceConfig) -> DeviceState:
        """The state of a configured device (``device.mqtt`` must be set)."""
        mqtt = device.mqtt
        assert mqtt is not None
        return cls(
            name=device.name,
            broker=mqtt.broker,
            timeout=mqtt.timeout,
            status_topic=mqtt.status_topic,
            online_payload=mqtt.online_payload.encode(),
            offline_payload=mqtt.offline_payload.encode(),
            astarte_base=None if mqtt.astarte is None else mqtt.astarte.base_topic,
        )


def _levels(topic: str) -> tuple[str, ...]:
    # interned: the levels of 100k topics repeat (a device name, a metric name), and
    # each route and the bus's latest event of its topic keep them
    return tuple(map(sys.intern, topic.split("/")))


class DeviceRouter:
    """Maps the topics of one broker to devices (see the module docstring).

    Args:
        broker: the broker's configuration (its ``device_rules``).
        devices: the configured devices whose ``mqtt.broker`` is this broker.
    """

    def __init__(self, broker: BrokerConfig, devices: Sequence[DeviceConfig]) -> None:
        self.broker = broker.name
        self._source = "@" + broker.name
        self._status: dict[str, str] = {}
        self._astarte: list[tuple[str, str]] = []
        self._filters: list[tuple[str, str]] = []
        for device in devices:
            mqtt: MqttDeviceConfig | None = device.mqtt
            if mqtt is None or mqtt.broker != broker.name:
                continue
            if mqtt.status_topic is not None:
                self._status.setdefault(mqtt.status_topic, device.name)
            if mqtt.astarte is not None:
                self._astarte.append((mqtt.astarte.base_topic, device.name))
            if mqtt.topic is not None or mqtt.astarte is None:
                self._filters.append((mqtt.filter, device.name))
        self.templates: tuple[tuple[DeviceTemplate, float], ...] = tuple(
            (parse_template(rule.template), rule.timeout) for rule in broker.device_rules
        )
        self._template_fields = tuple(rule.fields for rule in broker.device_rules)
        self._rule_status = tuple(rule.status for rule in broker.device_rules)
        self.status_templates: tuple[tuple[DeviceTemplate, RuleStatus], ...] = tuple(
            (parse_template(rule.status.topic), rule.status)
            for rule in broker.device_rules
            if rule.status is not None
        )
        """The rules' status topic templates (subscribed to with the templates)."""
        self._cache: dict[str, Route | None] = {}
        self._unrouted: dict[str, tuple[str, ...]] = {}
        self._payload_rules = tuple((rule.topic, rule.format) for rule in broker.payloads)
        self.sparkplug = broker.sparkplug
        self.discovery_prefix = broker.discovery_prefix
        """Home Assistant's discovery prefix on this broker, or ``None``."""
        """Read the Sparkplug B namespace (``spBv1.0/...``) of this broker."""
        self._formats: dict[str, str | None] = {}

    @property
    def has_payload_rules(self) -> bool:
        """Whether the broker configures decoders for some topics (``payloads:``)."""
        return bool(self._payload_rules)

    def declared_format(self, topic: str) -> str | None:
        """The decoder configured for ``topic`` (the first matching ``payloads:``
        filter), or ``None`` (cached with the routes)."""
        try:
            return self._formats[topic]
        except KeyError:
            pass
        if len(self._formats) >= ROUTE_CACHE:
            self._formats.clear()
        found = next((fmt for f, fmt in self._payload_rules if filter_matches(f, topic)), None)
        self._formats[topic] = found
        return found

    def unrouted_type(self, topic: str) -> tuple[str, ...]:
        """The event type of a message that belongs to no device:
        ``("mqtt", "@BROKER", "message", *levels)`` (cached with the routes)."""
        event_type = self._unrouted.get(topic)
        if event_type is None:
            if len(self._unrouted) >= ROUTE_CACHE:
                self._unrouted.clear()
            event_type = self._unrouted[topic] = ("mqtt", self._source, "message", *_levels(topic))
        return event_type

    def route(self, topic: str) -> Route | None:
        """The device ``topic`` belongs to, or ``None`` (cached)."""
        try:
            return self._cache[topic]
        except KeyError:
            pass
        if len(self._cache) >= ROUTE_CACHE:
            self._cache.clear()
        route = self._cache[topic] = self._find(topic)
        return route

    def template_timeout(self, topic: str) -> float:
        """The freshness timeout of the template that matched ``topic`` (60 s when
        none did)."""
        for template, timeout in self.templates:
            if template.match(topic) is not None:
                return timeout
        return 60.0

    def rule_status(self, topic: str, device: str) -> tuple[str, RuleStatus] | None:
        """The status topic of ``device`` and its rule's settings when the rule that
        found it (by ``topic``, a data or status topic) has a ``status``, else
        ``None``."""
        for (template, _), status in zip(self.templates, self._rule_status, strict=True):
            if status is not None and template.match(topic) is not None:
                return status.topic.replace("{device}", device), status
        for template, status in self.status_templates:
            if template.match(topic) is not None:
                return status.topic.replace("{device}", device), status
        return None

    def _find(self, topic: str) -> Route | None:
        levels = _levels(topic)
        device = self._status.get(topic)
        if device is not None:
            return Route(device, "status", False, None, None, ("mqtt", device, "message", *levels))
        for base, device in self._astarte:
            event_type = ("mqtt", device, "message", *levels)
            if topic == base:
                return Route(device, "introspection", False, None, None, event_type, base)
            if topic.startswith(base + "/"):
                interface, _, rest = topic[len(base) + 1 :].partition("/")
                if interface == "control":
                    return Route(device, "control", False, None, None, event_type, base)
                path = "/" + rest if rest else ""
                return Route(device, "data", True, interface, path, event_type, base)
        for topic_filter, device in self._filters:
            if filter_matches(topic_filter, topic):
                return Route(
                    device,
                    "data",
                    False,
                    None,
                    None,
                    ("mqtt", device, "message", *levels),
                    fields=_DEFAULT_FIELDS,
                )
        for template, _status in self.status_templates:
            found = template.match(topic)
            if found is not None:
                event_type = ("mqtt", found.device, "message", *levels)
                return Route(found.device, "status", False, None, None, event_type)
        for (template, _), fields in zip(self.templates, self._template_fields, strict=True):
            found = template.match(topic)
            if found is None:
                continue
            event_type = ("mqtt", found.device, "message", *levels)
            if found.interface is None or template.interface_level is None:
                return Route(found.device, "data", False, None, None, event_type, fields=fields)
            base = "/".join(levels[: template.interface_level])
            if found.interface == "control":
                return Route(found.device, "control", False, None, None, event_type, base)
            return Route(found.device, "data", True, found.interface, found.path, event_type, base)
        return None


def parse_introspection(payload: bytes) -> dict[str, tuple[int, int]]:
    """An Astarte introspection payload, ``name:major:minor;...`` (Astarte MQTT v1
    protocol), as ``{interface name: (major, minor)}``; entries without two integer
    versions are left out (never raises)."""
    found: dict[str, tuple[int, int]] = {}
    for entry in filter(None, payload.decode("utf-8", "replace").split(";")):
        name, _, version = entry.partition(":")
        major, _, minor = version.partition(":")
        if major.isdigit() and minor.isdigit():
            found[name] = (int(major), int(minor))
    return found


def _timestamp(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _native(type_name: str, value: Any) -> Any:
    """A BSON-decoded value as the Python type validation expects (``Int64`` ->
    ``int``, naive datetimes as UTC). A BSON integer stays an integer, so an
    integer sent for a ``double`` mapping is reported, as the SDK does."""
    scalar = type_name.removesuffix("array")
    if type_name.endswith("array") and isinstance(value, list):
        return [_native(scalar, item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def astarte_events(
    device: str,
    broker: str,
    topic: str,
    interface_name: str,
    path: str,
    payload: bytes,
    interfaces: Mapping[str, Interface],
) -> tuple[tuple[str, ...], dict[str, JsonValue], float | None]:
    """The event for one Astarte data message: ``(type, payload, source_timestamp)``.

    The type is ``("mqtt", DEVICE, "property" | "datastream", INTERFACE, PATH)``
    (``datastream`` also for an interface that is not in ``interfaces``). The
    payload (``docs/events.md``) holds the decoded value in its JSON form, the
    mapping's type, ``unset`` (an empty payload on a property), ``valid`` and
    ``error`` (why it does not fit the interface, or cannot be decoded), and the
    explicit ``timestamp`` (ISO 8601), which is also the source timestamp.
    """
    interface = interfaces.get(interface_name)
    kind = "property" if interface is not None and interface.is_properties else "datastream"
    data: dict[str, JsonValue] = {
        "broker": broker,
        "topic": topic,
        "interface": interface_name,
        "version": None if interface is None else interface.version,
        "ownership": None if interface is None else interface.ownership,
        "path": path,
        "type": None,
        "value": None,
        "timestamp": None,
        "unset": False,
        "aggregation": "individual" if interface is None else interface.aggregation,
        "valid": interface is not None,
        "error": None if interface is not None else f"interface {interface_name} is unknown",
    }
    event_type = ("mqtt", device, kind, interface_name, path)
    if not payload:
        data["unset"] = True
        if interface is not None:
            try:
                interface.validate_unset(path)
            except ValidationError as exc:
                data["valid"], data["error"] = False, str(exc)
            mapping = interface.mapping(path)
            data["type"] = None if mapping is None else mapping.type
        return event_type, data, None
    if not is_bson(payload):
        data["valid"], data["error"] = False, "not a BSON document (Astarte sends {v, t} in BSON)"
        return event_type, data, None
    try:
        document = decode_bson(payload)
    except ValueError as exc:
        data["valid"], data["error"] = False, str(exc)
        return event_type, data, None
    if "v" not in document:
        data["valid"], data["error"] = False, "the BSON document has no 'v' field"
        data["value"] = json_ready(document)
        return event_type, data, None
    raw = document["v"]
    timestamp = _timestamp(document.get("t"))
    source_timestamp = None if timestamp is None else timestamp.timestamp()
    if timestamp is not None:
        data["timestamp"] = to_json_value("datetime", timestamp)
    if interface is None:
        data["value"] = json_ready(raw)
        return event_type, data, source_timestamp
    if interface.is_object and isinstance(raw, dict):
        values: dict[str, JsonValue] = {}
        types: dict[str, JsonValue] = {}
        native: dict[str, Any] = {}
        for key, item in raw.items():
            mapping = interface.mapping(f"{path}/{key}")
            if mapping is None:
                values[key] = json_ready(item)
                types[key] = None
                native[key] = item
                continue
            native[key] = _native(mapping.type, item)
            values[key] = json_ready(to_json_value(mapping.type, native[key]))
            types[key] = mapping.type
        data["value"], data["type"] = values, "object"
        data["types"] = types
        value: Any = native
    else:
        mapping = interface.mapping(path)
        value = _native(mapping.type, raw) if mapping is not None else raw
        data["type"] = None if mapping is None else mapping.type
        data["value"] = (
            json_ready(value) if mapping is None else json_ready(to_json_value(mapping.type, value))
        )
    try:
        interface.validate_payload(path, value, timestamp)
    except ValidationError as exc:
        data["valid"], data["error"] = False, str(exc)
    return event_type, data, source_timestamp
