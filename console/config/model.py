"""The configuration as fleettop's modules see it: frozen dataclasses, one per section.

:func:`console.config.load_config` builds them from a checked file (the dict to
dataclass mapping is declared once, in :mod:`console.config.convert`); modules and
tests may also construct them directly. SNMP field names, meanings and units follow
hat-gateway's SNMP manager device schema (hat-gateway ``schemas_json/snmp.yaml``,
``$defs/manager``), SNMPv3 included (RFC 3414 USM, RFC 3826 AES, RFC 7860 SHA-2).
Credentials are :class:`~console.secrets.Secret`. Every default here equals the
schema's ``default`` (``tests/test_config.py`` walks both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, get_args

from console.events import topic_pattern
from console.secrets import Secret

__all__ = [
    "MQTT_PROTOCOLS",
    "RESERVED_NAME_PREFIX",
    "SEVERITY_NAMES",
    "SNMP_VERSIONS",
    "AlarmRule",
    "AlarmsConfig",
    "AstarteDeviceConfig",
    "AuthProtocol",
    "BrokerConfig",
    "BrokerTls",
    "Config",
    "DeviceConfig",
    "DeviceRule",
    "JsonFields",
    "MonitorConfig",
    "MonitorPolicy",
    "MqttDeviceConfig",
    "MqttProtocol",
    "MqttSubscription",
    "MqttTransport",
    "NotificationsConfig",
    "PayloadRule",
    "PrivProtocol",
    "ReconnectConfig",
    "RecordConfig",
    "RetentionConfig",
    "RuleStatus",
    "SeverityName",
    "SnmpAuthentication",
    "SnmpContext",
    "SnmpDeviceConfig",
    "SnmpPrivacy",
    "SnmpVersion",
    "StoreConfig",
    "TrapUser",
    "TrapsConfig",
    "UiConfig",
]

#: Device names may not start with this: it marks trap senders without a device
#: (``@192.0.2.7``) and fleettop's own parts (``@receiver``), see docs/events.md.
RESERVED_NAME_PREFIX: Final = "@"

SnmpVersion = Literal["V1", "V2C", "V3"]
SNMP_VERSIONS: Final[tuple[str, ...]] = get_args(SnmpVersion)


AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
"""SNMPv3 USM authentication protocols (RFC 3414, RFC 7860 for the SHA-2 family)."""
PrivProtocol = Literal["DES", "3DES", "AES", "AES192", "AES256"]
"""SNMPv3 USM privacy protocols (RFC 3414 DES, RFC 3826 AES-128; 3DES, AES192 and
AES256 as the Reeder drafts Net-SNMP and pysnmp implement)."""


@dataclass(frozen=True, slots=True)
class SnmpAuthentication:
    """The ``authentication:`` of an SNMPv3 user: protocol and password (a Secret)."""

    type: AuthProtocol
    password: Secret


@dataclass(frozen=True, slots=True)
class SnmpPrivacy:
    """The ``privacy:`` of an SNMPv3 user: protocol and password (a Secret)."""

    type: PrivProtocol
    password: Secret


@dataclass(frozen=True, slots=True)
class SnmpContext:
    """The optional SNMPv3 ``context:``: context engine ID (hex text, empty for the
    agent's own) and context name (RFC 3411 §3.3). The loader gives ``engine_id`` as
    lower-case hex digits only (no ``0x``, no separators): ``bytes.fromhex`` reads it."""

    engine_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class SnmpDeviceConfig:
    """The ``snmp:`` section of one device; field names follow hat-gateway's SNMP
    manager device schema. Durations are in seconds.

    OIDs are normalised dotted-decimal strings without a leading dot (see
    :func:`normalize_oid`); ``polling_oids`` keeps the configured order.
    """

    remote_host: str
    version: SnmpVersion
    community: Secret | None
    polling_oids: tuple[str, ...]
    remote_port: int = 161
    connect_delay: float = 5.0
    request_timeout: float = 2.0
    request_retry_count: int = 1
    request_retry_delay: float = 0.5
    polling_delay: float = 5.0
    string_hex_oids: frozenset[str] = frozenset()
    max_varbinds_per_request: int = 32
    table_refresh: float = 5.0
    """Seconds between two refreshes of a table screen (Interfaces, any table)."""
    write_community: Secret | None = None
    """V1/V2C community for operator SETs, when it differs from ``community`` (the
    usual read-only / read-write split); ``None`` writes with ``community``."""
    user: str | None = None
    """SNMPv3 user name (V3 only). The security level follows from what is given:
    no ``authentication`` noAuthNoPriv, ``authentication`` alone authNoPriv, both
    authPriv (RFC 3414)."""
    authentication: SnmpAuthentication | None = None
    privacy: SnmpPrivacy | None = None
    context: SnmpContext | None = None


MqttProtocol = Literal["3.1.1", "5"]
"""MQTT protocol version of a broker connection (OASIS MQTT 3.1.1, MQTT 5.0)."""
MQTT_PROTOCOLS: Final[tuple[str, ...]] = get_args(MqttProtocol)
MqttTransport = Literal["tcp", "websockets"]


@dataclass(frozen=True, slots=True)
class AstarteDeviceConfig:
    """The ``astarte:`` of a device's ``mqtt:`` section: its topics are
    ``REALM/DEVICE_ID/INTERFACE/PATH`` (Astarte's MQTT v1 protocol)."""

    realm: str
    device_id: str

    @property
    def base_topic(self) -> str:
        """``REALM/DEVICE_ID``: the introspection topic and the prefix of the rest."""
        return f"{self.realm}/{self.device_id}"


@dataclass(frozen=True, slots=True)
class MqttDeviceConfig:
    """The ``mqtt:`` section of one device: which broker and which topics are its own.

    Attributes:
        broker: the ``name`` of a configured broker.
        topic: the device's topic filter, or ``None`` for an Astarte device (then
            :attr:`filter` is ``REALM/DEVICE_ID/#``).
        qos: maximum QoS of the device's own subscription, when one is needed.
        astarte: set for an Astarte device.
        status_topic: topic of online/offline (Last Will) messages, or ``None``.
        online_payload, offline_payload: the ``status_topic`` payloads (UTF-8).
        timeout: seconds without a message before the device is OFFLINE (when it
            has no ``status_topic``).
    """

    broker: str
    topic: str | None = None
    qos: int = 1
    astarte: AstarteDeviceConfig | None = None
    status_topic: str | None = None
    online_payload: str = "online"
    offline_payload: str = "offline"
    timeout: float = 60.0

    @property
    def filter(self) -> str:
        """The topic filter of the device's messages."""
        if self.topic is not None:
            return self.topic
        assert self.astarte is not None  # the schema requires topic or astarte
        return f"{self.astarte.base_topic}/#"


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device of the fleet: a unique ``name`` and one section per protocol (at
    least one of ``snmp`` and ``mqtt``)."""

    name: str
    snmp: SnmpDeviceConfig | None = None
    mqtt: MqttDeviceConfig | None = None


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """The ``tls:`` of a broker. Paths are absolute (relative ones start at the
    configuration file's directory); ``insecure`` skips certificate and host name
    verification."""

    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class MqttSubscription:
    """One topic filter (MQTT 3.1.1 §4.7) and its maximum QoS (0, 1 or 2)."""

    topic: str
    qos: int = 0


@dataclass(frozen=True, slots=True)
class ReconnectConfig:
    """Reconnection backoff, seconds: ``min`` first, doubling up to ``max``, each
    delay spread by a random ± ``jitter`` fraction of itself. The default cap (4 s,
    at most 4.8 s with the jitter) reconnects to a broker that is back within 5 s."""

    min: float = 1.0
    max: float = 4.0
    jitter: float = 0.2


@dataclass(frozen=True, slots=True)
class JsonFields:
    """Which leaves of a JSON object payload become values (``docs/payloads.md``):
    at most ``limit`` of one payload, only under ``include`` pointers when some are
    given, never under ``exclude`` ones (JSON Pointers, RFC 6901)."""

    enabled: bool = True
    limit: int = 64
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """The status topic of the devices a device rule finds (``docs/payloads.md``): a
    template with ``{device}`` (``tele/{device}/LWT``), the payloads that mean online
    and offline, and, for a JSON object payload, the JSON Pointer of the text to
    compare (``/state`` for Zigbee2MQTT's ``{"state": "online"}``)."""

    topic: str
    online: str = "online"
    offline: str = "offline"
    field: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceRule:
    """A device template (:func:`console.topics.parse_template`), the freshness
    timeout (seconds) of the devices it finds, which JSON leaves become values and
    their status topic (``None``: ONLINE while messages arrive)."""

    template: str
    timeout: float = 60.0
    fields: JsonFields = field(default_factory=JsonFields)
    status: RuleStatus | None = None


@dataclass(frozen=True, slots=True)
class PayloadRule:
    """The decoder (``msgpack``, ``cbor``, ``json``, ``text``, ``bson``, ``binary``) of
    the payloads of the topics ``topic`` (a filter) matches."""

    topic: str
    format: str


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """One entry of ``brokers:``: an MQTT broker connection (paho-mqtt).

    Durations are seconds. ``password`` is a :class:`~console.secrets.Secret`.
    ``client_id`` ``None`` means ``fleettop-`` and random letters, new per start.
    ``session_expiry`` is MQTT 5's Session Expiry Interval (ignored by 3.1.1).
    """

    name: str
    host: str
    port: int = 1883
    transport: MqttTransport = "tcp"
    websocket_path: str = "/mqtt"
    tls: BrokerTls | None = None
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    keepalive: int = 60
    protocol: MqttProtocol = "5"
    clean_start: bool = True
    session_expiry: int = 0
    subscriptions: tuple[MqttSubscription, ...] = ()
    reconnect: ReconnectConfig = field(default_factory=ReconnectConfig)
    display_limit: int = 65536
    device_rules: tuple[DeviceRule, ...] = ()
    payloads: tuple[PayloadRule, ...] = ()
    sparkplug: bool = True
    discovery_prefix: str | None = "homeassistant"


@dataclass(frozen=True, slots=True)
class TopicsUiConfig:
    """``ui.topics``: the Topics screen's memory bounds (``console/explorer/tree.py``).

    ``max_topics`` topics are kept (the least recently seen trimmed first); each keeps
    its newest ``history_messages`` messages within ``history_bytes`` payload bytes,
    and all histories together within ``history_total_bytes``.
    """

    max_topics: int = 100_000
    history_messages: int = 50
    history_bytes: int = 256 * 1024
    history_total_bytes: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UiConfig:
    """The ``ui:`` section: theme name and key remapping (binding id -> keys).

    ``keymap`` values are comma-separated Textual key names without spaces
    (``"ctrl+q,f10"``), the form Textual's ``App.set_keymap`` takes.
    """

    theme: str = "fleettop"
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    topics: TopicsUiConfig = field(default_factory=lambda: TopicsUiConfig())


@dataclass(frozen=True, slots=True)
class TrapUser:
    """An SNMPv3 user the trap receiver accepts. ``engine_id`` (hex) is the sender's
    authoritative engine ID, required to accept its TRAPs; INFORMs discover it
    (RFC 3414 §3.2, RFC 3412)."""

    user: str
    engine_id: str | None = None
    """Lower-case hex digits (as :attr:`SnmpContext.engine_id`), or ``None``."""
    authentication: SnmpAuthentication | None = None
    privacy: SnmpPrivacy | None = None


@dataclass(frozen=True, slots=True)
class TrapsConfig:
    """The ``traps:`` section: where the notification receiver listens, the v1/v2c
    communities and the v3 users it accepts. ``listen_host`` is an IPv4 address, a
    host name or an IPv6 address (without the brackets of the ``listen`` text);
    ``listen_port`` a UDP port 1..65535."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 1162
    communities: tuple[Secret, ...] = ()
    users: tuple[TrapUser, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The ``store:`` section: the SQLite property store (``docs/store.md``).

    Attributes:
        enabled: persist what devices report; ``False`` runs without a store.
        path: the database file; ``None`` is the default location,
            ``$FLEETTOP_DATA_DIR/fleettop.db`` or the user data directory's.
        batch_window: longest time a write waits before its batch commits, seconds
            (what a ``kill -9`` can lose at most).
        batch_size: most writes in one transaction.
    """

    enabled: bool = True
    path: Path | None = None
    batch_window: float = 0.1
    batch_size: int = 1000


SeverityName = Literal["info", "warning", "error", "critical"]
"""An alarm severity as written in the file (syslog's names, RFC 5424 §6.2.1, reduced
to four); :meth:`console.notifications.model.Severity.parse` reads it."""
SEVERITY_NAMES: Final[tuple[str, ...]] = get_args(SeverityName)


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    """How long the stored notification stream is kept: rows older than ``max_age``
    seconds, and the oldest rows past ``max_count``, are deleted (at start and every
    minute). ``None`` disables that limit."""

    max_age: float | None = 604800.0
    max_count: int | None = 1_000_000


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    """The ``notifications:`` section: the stream's memory and persistence bounds.

    Attributes:
        ring_size: notifications kept in memory per pane (the stream and each
            monitor); older ones stay browsable from the store.
        replay: notifications put back on screen (marked as history) after a restart.
        retention: how much of the stored stream is kept.
        ring_bytes: payload bytes kept in memory per pane (the stream and each
            monitor); the oldest entries fall off first.
        payload_bytes: the most of one payload kept in memory; a larger one is kept
            truncated, its size noted.
        stored_payload_bytes: the most of one payload written to the store (and to
            monitor recordings); the rest is truncated, its size noted.
        mask: the categories (``console.notifications.model.Category`` values) the
            stream shows when the Notifications screen opens; by default every one
            but ``property``.
    """

    ring_size: int = 10_000
    replay: int = 500
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    ring_bytes: int = 67_108_864
    payload_bytes: int = 65_536
    stored_payload_bytes: int = 1_048_576
    mask: tuple[str, ...] = (
        "trap", "message", "status", "read", "write", "log", "audit", "alarm",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """One entry of ``alarms.rules``: what raises an alarm, with which severity, and
    what clears it. Exactly one source is set (:attr:`source`):

    * ``trap``: a trap (numeric OID or MIB name) raises with this rule's severity
      instead of ``alarms.traps``; ``clear_trap`` (e.g. linkUp for linkDown, RFC 2863
      §6) clears it; ``index`` (a var-bind object, e.g. ``IF-MIB::ifIndex``) keeps one
      alarm per instance of that var-bind.
    * ``oid``: polled/read SNMP values under this OID prefix, against ``above`` and/or
      ``below``;
    * ``interface`` (+ optional ``path``, an MQTT-style filter over the Astarte path):
      Astarte property/datastream values, against ``above`` and/or ``below``;
    * ``topic`` (an MQTT topic filter): with ``above``/``below``, numeric message
      payloads; without, every matching message raises (or re-occurs), no auto-clear.
    * ``field`` (a JSON Pointer, with an optional ``topic`` filter): that leaf of JSON
      object payloads (``("mqtt", D, "field", TOPIC, POINTER)`` events), against
      ``above`` and/or ``below``.

    A threshold alarm clears when the value is back in range by ``deadband``
    (hysteresis): below ``above - deadband`` and above ``below + deadband``.
    ``device`` is an fnmatch glob of the device names the rule applies to.
    OIDs are normalised dotted decimal; ``trap``, ``clear_trap`` and ``index`` are
    kept as written (a numeric OID normalised), names resolved at start.
    """

    name: str
    severity: SeverityName = "warning"
    message: str | None = None
    device: str = "*"
    oid: str | None = None
    interface: str | None = None
    path: str | None = None
    topic: str | None = None
    field: str | None = None
    trap: str | None = None
    clear_trap: str | None = None
    index: str | None = None
    above: float | None = None
    below: float | None = None
    deadband: float = 0.0

    @property
    def source(self) -> Literal["trap", "oid", "interface", "topic", "field"]:
        """Which source the rule watches."""
        if self.trap is not None:
            return "trap"
        if self.field is not None:
            return "field"
        if self.oid is not None:
            return "oid"
        if self.interface is not None:
            return "interface"
        return "topic"

    @property
    def has_threshold(self) -> bool:
        """True when ``above`` or ``below`` is set."""
        return self.above is not None or self.below is not None


@dataclass(frozen=True, slots=True)
class AlarmsConfig:
    """The ``alarms:`` section.

    Attributes:
        traps: severity of the alarm every trap raises (one per device and trap OID,
            re-occurring), ``None`` for no trap alarms but those of ``rules``.
        disconnected: severity of the alarm an SNMP device or a broker going
            DISCONNECTED, or an MQTT device going OFFLINE, raises (cleared when it is
            back); ``None`` for none.
        rules: threshold, topic-pattern and per-trap rules, in file order.
    """

    traps: SeverityName | None = "warning"
    disconnected: SeverityName | None = "error"
    rules: tuple[AlarmRule, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordConfig:
    """A monitor's ``record:``: JSON lines appended to ``path`` (absolute), rotated
    when the file would exceed ``max_bytes`` bytes, keeping ``backups`` old files
    (``path.1`` newest .. ``path.N``; 0 truncates instead)."""

    path: Path
    max_bytes: int = 10_485_760
    backups: int = 3


MonitorPolicy = Literal["drop_oldest", "block"]
"""What a monitor does when it falls behind: drop its oldest waiting events (counted)
or slow the producers down (:class:`console.events.Policy`)."""


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """One entry of ``monitors:``: a named, batched subscription (a tab of the
    Notifications screen).

    Attributes:
        name: unique monitor name.
        events: bus patterns (tuples of segments, ``?`` one, trailing ``*`` the rest).
        topics: MQTT topic filters of received messages.
        batch_size: most notifications per delivered batch (>= 1).
        batch_duration: seconds a batch stays open after its first event (>= 0).
        policy: backpressure when the monitor falls behind.
        record: JSONL recording, or ``None``.
        transport: where batches are delivered (``docs/monitors.md``): ``"http"``,
            ``"tcp"``, or ``None`` (a tab only).
        url, method, token: the HTTP destination, its method and its basic-auth
            ``user:password`` (a :class:`Secret`).
        connect_timeout, response_timeout: HTTP timeouts, milliseconds (0: 5000).
        compression: ``"zlib"`` (``"gzip"`` is its synonym) or ``"none"``.
        auto_replay: keep undelivered batches and deliver them first when back.
        listen_host, listen_port: where a TCP monitor listens (port 0: any free).
        ack: TCP acknowledgement, ``"explicit"`` (by sequence number) or ``"off"``.
        tls: HTTP client TLS (verification on unless ``insecure``) or the TCP
            server's certificate; ``None``: defaults (HTTP) or plain TCP.
        retry: backoff between the attempts of a failed batch, seconds.
        disable_after: seconds unreachable before an HTTP monitor is DISABLED.
        max_pending, max_pending_bytes: bounds of the batches kept for delivery.
    """

    name: str
    events: tuple[tuple[str, ...], ...] = ()
    topics: tuple[str, ...] = ()
    batch_size: int = 100
    batch_duration: float = 1.0
    policy: MonitorPolicy = "drop_oldest"
    record: RecordConfig | None = None
    transport: Literal["http", "tcp"] | None = None
    url: str | None = None
    method: Literal["PUT", "POST"] = "PUT"
    token: Secret | None = None
    connect_timeout: int = 5000
    response_timeout: int = 5000
    compression: Literal["none", "zlib", "gzip"] = "none"
    auto_replay: bool = False
    listen_host: str | None = None
    listen_port: int | None = None
    ack: Literal["explicit", "off"] = "off"
    tls: BrokerTls | None = None
    retry: ReconnectConfig = field(default_factory=ReconnectConfig)
    disable_after: float = 86400.0
    max_pending: int = 10_000
    max_pending_bytes: int = 67_108_864

    @property
    def patterns(self) -> tuple[tuple[str, ...], ...]:
        """Every bus pattern of the monitor: :attr:`events`, then each topic filter as
        a message pattern (:func:`topic_pattern`), duplicates removed."""
        found = [*self.events, *(topic_pattern(topic) for topic in self.topics)]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration. ``source`` is the file it came from, if any
    (``None`` for :func:`parse_config`)."""

    devices: tuple[DeviceConfig, ...] = ()
    ui: UiConfig = field(default_factory=UiConfig)
    source: Path | None = None
    traps: TrapsConfig | None = None
    """The trap and inform receiver, or ``None`` when not configured."""
    mib_paths: tuple[Path, ...] = ()
    """Extra MIB source directories, compiled once by pysmi and cached. The loader
    gives absolute paths (relative ones resolved against the configuration file's
    directory, or the working directory for :func:`parse_config`), each an existing
    directory when the file was checked."""
    store: StoreConfig = field(default_factory=StoreConfig)
    """The property store."""
    brokers: tuple[BrokerConfig, ...] = ()
    """The MQTT brokers, in configuration order."""
    interfaces_dir: Path | None = None
    """The Astarte interface directory (absolute), checked to hold only valid
    interfaces when the file was checked; ``None`` when not configured."""
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    """The notification stream's ring, replay and retention."""
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    """What raises alarms."""
    monitors: tuple[MonitorConfig, ...] = ()
    """The monitors, in configuration order."""
