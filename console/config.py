"""fleettop configuration: YAML -> schema validation -> frozen dataclasses.

The file is checked completely before anything starts, and every problem is reported
in one pass, each as ``file:line: field: message``:

1. the text is composed with PyYAML's pure-Python ``SafeLoader``, keeping the start
   mark (line) of every key and value; duplicate keys, unknown tags and non-finite
   numbers are problems;
2. ``${ENV_VAR}`` references inside string values are substituted (``$${`` is a
   literal ``${``); a variable that is not set is a problem naming the variable;
3. the data is validated against ``console/schemas/config.yaml`` (JSON Schema
   2020-12, with the ``snmp-oid`` format checked by :func:`normalize_oid`, re-exported
   from :mod:`console.oid`, where the OID rules live, and the ``snmp-engine-id`` and
   ``host-port`` formats checked here); each schema error is mapped back to the line
   of the offending key or value;
4. checks the schema cannot express: device names starting with ``@`` (reserved),
   duplicate device names, duplicate polling OIDs, duplicate trap users, MIB
   directories that do not exist, alarm rules without exactly one source or with an
   empty threshold band, duplicate rule and monitor names, monitors without
   patterns, malformed event patterns;
5. only when there is no problem, the frozen dataclasses below are built.

SNMP field names, meanings and units follow hat-gateway's SNMP manager device schema
(hat-gateway ``schemas_json/snmp.yaml``, ``$defs/manager``), SNMPv3 included (``user``,
``authentication``, ``privacy``, ``context``; RFC 3414 USM, RFC 3826 AES, RFC 7860
SHA-2). Credentials (communities, USM passwords) become
:class:`~console.secrets.Secret` and never appear in problems, logs or reprs.
``docs/configuration.md`` is the operator reference.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

import jsonschema
import yaml

from console.mqtt.topics import parse_template, validate_filter, validate_topic
from console.oid import normalize_oid
from console.secrets import Secret
from console.wording import kind as _kind
from console.wording import shown as _shown

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
    "ConfigError",
    "DeviceConfig",
    "DeviceRule",
    "MonitorConfig",
    "MonitorPolicy",
    "MqttDeviceConfig",
    "MqttProtocol",
    "MqttSubscription",
    "MqttTransport",
    "NotificationsConfig",
    "PrivProtocol",
    "Problem",
    "ReconnectConfig",
    "RecordConfig",
    "RetentionConfig",
    "SeverityName",
    "SnmpAuthentication",
    "SnmpContext",
    "SnmpDeviceConfig",
    "SnmpPrivacy",
    "SnmpVersion",
    "TrapUser",
    "TrapsConfig",
    "UiConfig",
    "check_config",
    "check_snmp_object",
    "config_schema",
    "event_pattern",
    "load_config",
    "normalize_oid",
    "parse_config",
    "topic_pattern",
]

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
class DeviceRule:
    """A device template (:func:`console.mqtt.topics.parse_template`) and the
    freshness timeout (seconds) of the devices it finds."""

    template: str
    timeout: float = 60.0


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


@dataclass(frozen=True, slots=True)
class UiConfig:
    """The ``ui:`` section: theme name and key remapping (binding id -> keys).

    ``keymap`` values are comma-separated Textual key names without spaces
    (``"ctrl+q,f10"``), the form Textual's ``App.set_keymap`` takes.
    """

    theme: str = "fleettop"
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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
    """

    ring_size: int = 10_000
    replay: int = 500
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    ring_bytes: int = 67_108_864
    payload_bytes: int = 65_536
    stored_payload_bytes: int = 1_048_576


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
    trap: str | None = None
    clear_trap: str | None = None
    index: str | None = None
    above: float | None = None
    below: float | None = None
    deadband: float = 0.0

    @property
    def source(self) -> Literal["trap", "oid", "interface", "topic"]:
        """Which source the rule watches."""
        if self.trap is not None:
            return "trap"
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
    """

    name: str
    events: tuple[tuple[str, ...], ...] = ()
    topics: tuple[str, ...] = ()
    batch_size: int = 100
    batch_duration: float = 1.0
    policy: MonitorPolicy = "drop_oldest"
    record: RecordConfig | None = None

    @property
    def patterns(self) -> tuple[tuple[str, ...], ...]:
        """Every bus pattern of the monitor: :attr:`events`, then each topic filter as
        a message pattern (:func:`topic_pattern`), duplicates removed."""
        found = [*self.events, *(topic_pattern(topic) for topic in self.topics)]
        return tuple(dict.fromkeys(found))


def topic_pattern(topic_filter: str) -> tuple[str, ...]:
    """The bus pattern of the message events an MQTT topic filter selects:
    ``site/+/temp`` -> ``("mqtt", "?", "message", "site", "?", "temp")``, ``#`` -> ``*``.
    A filter ending in ``/#`` also matches its parent (MQTT 3.1.1 §4.7.1.2), as the
    trailing ``*`` matches zero segments."""
    levels = ["?" if level == "+" else "*" if level == "#" else level
              for level in topic_filter.split("/")]  # fmt: skip
    return ("mqtt", "?", "message", *levels)


def event_pattern(text: str | Sequence[str]) -> tuple[str, ...]:
    """A monitor ``events`` entry as a bus pattern: a string is split on ``/``
    (``"snmp/?/trap/*"``), a list is taken segment by segment (for segments holding a
    ``/``, such as an Astarte path).

    Raises:
        ValueError: empty, an empty segment, or ``*`` before the last segment.
    """
    segments = tuple(text.split("/")) if isinstance(text, str) else tuple(text)
    shown = text if isinstance(text, str) else "/".join(segments)
    if not segments or segments == ("",):
        raise ValueError("an event pattern must not be empty")
    if any(segment == "" for segment in segments):
        raise ValueError(f"{shown!r} is not an event pattern: a segment is empty")
    if "*" in segments[:-1]:
        raise ValueError(
            f"{shown!r} is not an event pattern: '*' may only be the last segment, "
            "like 'snmp/?/trap/*'"
        )
    return segments


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


# --------------------------------------------------------------------------- problems


_DocPath = tuple[str | int, ...]
"""A location in the document: mapping keys and sequence indexes from the top."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _field_name(path: _DocPath) -> str:
    """``("devices", 0, "snmp", "community")`` -> ``devices[0].snmp.community``; keys
    other than letters, digits, ``_`` and ``-`` are quoted (``ui.keymap['app.quit']``)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file.

    Attributes:
        file: the file name as given (or the ``source`` of :func:`parse_config`).
        line: 1-based line of the offending key or value, or ``None`` for problems
            about the whole file (unreadable, empty).
        field: dotted path of the offending field, such as
            ``devices[0].snmp.community``; ``""`` for the whole document.
        message: what is wrong and, when possible, how to fix it. Never contains a
            secret value.

    ``str(problem)`` is ``file:line: field: message`` (the line and field parts are
    left out when absent).
    """

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """The configuration is invalid. ``problems`` lists every problem found (at least
    one), sorted by line; ``str()`` is one ``file:line: field: message`` per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# --------------------------------------------------------------------------- OIDs


def _is_oid(instance: object) -> bool:
    """``snmp-oid`` format check for jsonschema: non-strings pass (``type`` reports
    them); raises ``ValueError`` from :func:`normalize_oid` for a bad OID."""
    return not isinstance(instance, str) or bool(normalize_oid(instance))


# --------------------------------------------------------------------------- engine IDs

_ENGINE_ID_BYTES: Final = (5, 32)  # RFC 3411 SnmpEngineID: OCTET STRING (SIZE(5..32))


def _normalize_engine_id(text: str) -> str:
    """An SNMP engine ID written in hex -> lower-case hex digits only.

    An optional ``0x`` prefix and ``:`` or blanks between bytes are allowed (as
    Net-SNMP prints engine IDs); the empty string stays empty (the caller decides
    whether it is allowed).

    Raises:
        ValueError: not hex, an odd number of digits, or not 5..32 bytes
            (RFC 3411 §5 ``SnmpEngineID``); the message starts with ``text``.
    """
    digits = text.strip()
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    digits = "".join(digits.replace(":", " ").split())
    if not digits:
        if text.strip():
            raise ValueError(f"{text!r} is not an SNMP engine ID: no hex digits")
        return ""
    bad = next((c for c in digits if c not in string.hexdigits), None)
    if bad is not None:
        raise ValueError(f"{text!r} is not an SNMP engine ID: {bad!r} is not a hex digit")
    if len(digits) % 2:
        raise ValueError(
            f"{text!r} is not an SNMP engine ID: {len(digits)} hex digits, an odd number "
            "(write two digits per byte)"
        )
    low, high = _ENGINE_ID_BYTES
    if not low <= len(digits) // 2 <= high:
        raise ValueError(
            f"{text!r} is not an SNMP engine ID: {len(digits) // 2} bytes, expected "
            f"{low} to {high} (RFC 3411)"
        )
    return digits.lower()


def _is_engine_id(instance: object) -> bool:
    """``snmp-engine-id`` format check: non-strings pass; raises ``ValueError``."""
    return not isinstance(instance, str) or _normalize_engine_id(instance) is not None


# --------------------------------------------------------------------------- host:port

_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _split_host_port(text: str) -> tuple[str, int]:
    """``"host:port"`` -> ``(host, port)``: an IPv4 address, a host name (RFC 1123
    labels), or an IPv6 address in brackets (returned without them); the port is
    1..65535.

    Raises:
        ValueError: with the reason; the message starts with ``text``.
    """
    where = f"{text!r} is not host:port"
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"{where}: ']' is missing after the IPv6 address")
        if not rest.startswith(":"):
            raise ValueError(f"{where}: the port is missing (like '[::1]:1162')")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{where}: {host!r} is not an IPv6 address") from None
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise ValueError(f"{where}: the port is missing (like '127.0.0.1:1162')")
        if ":" in host:  # '::1:1162' is itself an IPv6 address: only brackets tell
            raise ValueError(
                f"{where}: write an IPv6 address in brackets, then the port, like '[::1]:1162'"
            )
        _check_host(host, where)
    if not port_text.isdigit() or not port_text.isascii():
        raise ValueError(f"{where}: the port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: the port {port} is not between 1 and 65535")
    return host, port


def _check_host(host: str, where: str) -> None:
    """Raise ``ValueError`` unless ``host`` is an IPv4 address or a host name."""
    if not host:
        raise ValueError(f"{where}: the host is missing (like '127.0.0.1:1162')")
    labels = host.removesuffix(".").split(".")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{where}: {host!r} is not an IPv4 address") from None
        return
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{where}: {host!r} is not a host name or an IP address")


def _is_host_port(instance: object) -> bool:
    """``host-port`` format check: non-strings pass; raises ``ValueError``."""
    return not isinstance(instance, str) or bool(_split_host_port(instance))


def _is_mqtt_filter(instance: object) -> bool:
    """``mqtt-filter`` format check (MQTT 3.1.1 §4.7): raises ``ValueError``."""
    return not isinstance(instance, str) or bool(validate_filter(instance))


def _is_mqtt_topic(instance: object) -> bool:
    """``mqtt-topic`` format check (a topic name, no wildcards): raises ``ValueError``."""
    return not isinstance(instance, str) or bool(validate_topic(instance))


_SNMP_NAME: Final = re.compile(r"(?:[A-Za-z][A-Za-z0-9-]*::)?[A-Za-z][A-Za-z0-9-]*(?:\.\d+)*")


def check_snmp_object(text: str) -> str:
    """Return ``text`` if it is a numeric OID (normalised) or a MIB name
    (``MODULE::name``, ``name``, either with a numeric ``.INDEX``); the name itself
    is resolved later, with the MIBs loaded.

    Raises:
        ValueError: neither form; the message quotes ``text``.
    """
    stripped = text.strip()
    if stripped.lstrip(".")[:1].isdigit():
        return normalize_oid(stripped)
    if not _SNMP_NAME.fullmatch(stripped):
        raise ValueError(
            f"{text!r} is neither a numeric OID nor a MIB name like 'IF-MIB::linkDown'"
        )
    return stripped


def _is_snmp_object(instance: object) -> bool:
    """``snmp-object`` format check (OID or MIB name): raises ``ValueError``."""
    return not isinstance(instance, str) or bool(check_snmp_object(instance))


def _is_mqtt_template(instance: object) -> bool:
    """``mqtt-template`` format check (a device template): raises ``ValueError``."""
    return not isinstance(instance, str) or bool(parse_template(instance))


# --------------------------------------------------------------------------- schema

_SCHEMA_RESOURCE: Final = ("schemas", "config.yaml")


@cache
def config_schema() -> Mapping[str, Any]:
    """Return the configuration JSON Schema (``console/schemas/config.yaml``, package
    data), parsed once. Do not mutate it.

    Raises:
        OSError: the schema file is missing from the installed package.
    """
    text = resources.files("console").joinpath(*_SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = yaml.safe_load(text)
    return schema


@cache
def _validator() -> jsonschema.protocols.Validator:
    """The schema validator, with fleettop's formats asserted (``snmp-oid``,
    ``snmp-engine-id``, ``host-port``)."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("snmp-oid", raises=ValueError)(_is_oid)
    checker.checks("snmp-engine-id", raises=ValueError)(_is_engine_id)
    checker.checks("host-port", raises=ValueError)(_is_host_port)
    checker.checks("mqtt-filter", raises=ValueError)(_is_mqtt_filter)
    checker.checks("mqtt-topic", raises=ValueError)(_is_mqtt_topic)
    checker.checks("mqtt-template", raises=ValueError)(_is_mqtt_template)
    checker.checks("snmp-object", raises=ValueError)(_is_snmp_object)
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``) of the configuration schema."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = config_schema()
    for part in ref[2:].split("/"):
        target = target[part]
    return _resolve(target)


# --------------------------------------------------------------------------- YAML

_STR_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_MAX_NODES: Final = 100_000


_ENV_REFERENCE: Final = r"""
    \$(?:
        (?P<escaped>\$(?=\{))                   |
        \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}  |
        (?P<named>(?!))                         |
        (?P<invalid>\{)
    )
"""


class _EnvTemplate(string.Template):
    """``${NAME}`` references; ``$${`` is a literal ``${``; a lone ``$`` stays as is."""

    pattern = _ENV_REFERENCE  # type: ignore[assignment]  # Template compiles the string


class _TooLarge(Exception):
    """The document expands (through aliases) to more than ``_MAX_NODES`` nodes."""


@dataclass
class _Found:
    """A problem before it is given its file name."""

    line: int | None
    path: _DocPath
    message: str


@dataclass
class _Document:
    """Plain data built from the YAML nodes, with where each part came from.

    ``key_lines[path]`` is the line of the key naming ``path``; ``value_lines[path]``
    the line where its value starts. ``from_env`` holds paths whose value came from an
    environment variable, and ``secrets`` the credential values seen (``x-secret``
    fields, substituted variables): neither is ever echoed. ``broken`` paths already
    have a problem, so schema errors at or below them are not reported twice.
    """

    data: object = None
    key_lines: dict[_DocPath, int] = field(default_factory=dict)
    value_lines: dict[_DocPath, int] = field(default_factory=dict)
    from_env: set[_DocPath] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    broken: set[_DocPath] = field(default_factory=set)
    found: list[_Found] = field(default_factory=list)

    def report(self, path: _DocPath, line: int | None, message: str) -> None:
        """Record a problem at ``path`` and mark the path as already reported."""
        self.found.append(_Found(line, path, message))
        self.broken.add(path)

    def line_of(self, path: _DocPath, *, key: bool = False) -> int | None:
        """Line of the key naming ``path`` (``key=True``, falling back to the value),
        or of its value."""
        if key and path in self.key_lines:
            return self.key_lines[path]
        return self.value_lines.get(path)

    def hidden(self, path: _DocPath, value: object = None) -> bool:
        """Whether the value at ``path`` must not be echoed: it came (wholly or partly)
        from the environment, or it is, or contains, a credential seen elsewhere (a
        community pasted into the wrong field); credentials shorter than 6 characters
        only count when equal, so short ones do not hide every name holding a letter."""
        if any(path[:n] in self.from_env for n in range(len(path) + 1)):
            return True
        if not isinstance(value, str):
            return False
        return any(
            value == secret or (len(secret) >= 6 and secret in value) for secret in self.secrets
        )


def _line(mark: yaml.Mark | None) -> int | None:
    """1-based line of a YAML mark (marks count from 0)."""
    return None if mark is None else mark.line + 1


def _yaml_message(error: yaml.MarkedYAMLError) -> str:
    """The YAML error's own words, without the source snippet (it may hold a secret):
    ``invalid YAML: <problem> (<context> at line N)``."""
    text = f"invalid YAML: {error.problem or error.context or 'cannot parse'}"
    if error.problem and error.context:
        where = _line(error.context_mark)
        text += f" ({error.context} at line {where})" if where else f" ({error.context})"
    return text


class _Builder:
    """Builds :class:`_Document` data from composed nodes, substituting ``${VAR}``."""

    def __init__(self, loader: yaml.SafeLoader, environ: Mapping[str, str]) -> None:
        self._loader = loader
        self._environ = environ
        self._active: set[int] = set()
        self._missing: set[tuple[int, str]] = set()  # (line, name) already reported
        self._count = 0
        self.doc = _Document()

    def build(self, node: yaml.Node, path: _DocPath) -> object:
        """Plain data (dict, list, scalar) for ``node`` found at ``path``, recording its
        lines; YAML-level problems are reported and the value becomes ``None``.

        Raises:
            _TooLarge: aliases expand the document past ``_MAX_NODES`` nodes.
        """
        self._count += 1
        if self._count > _MAX_NODES:
            raise _TooLarge
        line = node.start_mark.line + 1
        self.doc.value_lines[path] = line
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path, line)
        if id(node) in self._active:
            self.doc.report(path, line, "an alias refers to its own anchor (recursive data)")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: _DocPath) -> dict[str, object]:
        """A dict for a mapping node: duplicate own keys are problems, merge keys
        (``<<``) are resolved by PyYAML, later keys override merged ones."""
        first_line: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                key_line = key_node.start_mark.line + 1
                if key_node.value in first_line:
                    self.doc.report(
                        (*path, key_node.value),
                        key_line,
                        f"duplicate key {key_node.value!r} (first at line "
                        f"{first_line[key_node.value]})",
                    )
                else:
                    first_line[key_node.value] = key_line
        try:
            self._loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        except yaml.MarkedYAMLError as error:
            self.doc.report(path, _line(error.problem_mark), _yaml_message(error))
            return {}
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.report(
                    path,
                    key_node.start_mark.line + 1,
                    "keys must be plain text, not lists or mappings",
                )
                continue
            key = key_node.value
            self.doc.key_lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.ScalarNode, path: _DocPath, line: int) -> object:
        """The scalar as PyYAML's safe constructor reads it (YAML 1.1 types), with
        ``${VAR}`` substituted in strings; unknown tags and ``.inf``/``.nan`` are
        problems."""
        try:
            value: object = self._loader.construct_object(node)
        except yaml.MarkedYAMLError as error:
            self.doc.report(path, _line(error.problem_mark) or line, _yaml_message(error))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.doc.report(path, line, "must be a finite number (.inf and .nan are not allowed)")
            return None
        if node.tag == _STR_TAG and isinstance(value, str) and "$" in value:
            return self._substitute(value, path, line)
        return value

    def _substitute(self, value: str, path: _DocPath, line: int) -> str:
        """``value`` with its ``${NAME}`` references replaced from the environment; a
        malformed reference or an unset variable is a problem (``value`` is kept)."""
        template = _EnvTemplate(value)
        if not template.is_valid():
            self.doc.report(
                path,
                line,
                "malformed ${...} reference: write ${NAME} (letters, digits and '_'), "
                "or $${ for a literal '${'",
            )
            return value
        names = template.get_identifiers()
        missing = [name for name in names if name not in self._environ]
        for name in missing:
            if (line, name) in self._missing:  # the same text reached again via an alias
                self.doc.broken.add(path)
                continue
            self._missing.add((line, name))
            self.doc.report(path, line, f"environment variable {name!r} is not set")
        if missing:
            return value
        if names:
            self.doc.from_env.add(path)
            self.doc.secrets.update(self._environ[name] for name in names)
        return template.substitute(self._environ)


# --------------------------------------------------------------------------- messages

_TYPE_NAMES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "a mapping",
    "null": "an empty value",
}


def _typed(value: object) -> str:
    """``value`` with its kind, for type errors: ``"the string 'fast'"``; other than
    text, numbers and booleans, only the kind (``"a list"``, ``"a date"``)."""
    if not isinstance(value, str | int | float):
        return _kind(value)
    kind = _kind(value).split(" ", 1)[1]
    return f"the {kind} {_shown(value)}"


def _schema_of(error: jsonschema.ValidationError) -> Mapping[str, Any]:
    """The (sub)schema holding the failed keyword, as a mapping."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _listed(error: jsonschema.ValidationError) -> list[Any]:
    """The failed keyword's value as a list (``type: string`` -> ``["string"]``)."""
    value = error.validator_value
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if isinstance(value, str) else []


class _Messages:
    """Turns jsonschema errors into :class:`_Found` problems (one or more each)."""

    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self._seen: set[tuple[_DocPath, str]] = set()

    def add(self, path: _DocPath, line: int | None, message: str) -> None:
        """Record a problem once (the same error can come from several subschemas)."""
        if (path, message) not in self._seen:
            self._seen.add((path, message))
            self.doc.found.append(_Found(line, path, message))

    def got(self, error: jsonschema.ValidationError, path: _DocPath, *, typed: bool = False) -> str:
        """The offending value (with its kind when ``typed``), or only its kind when it
        is secret or came from the environment."""
        if _schema_of(error).get("x-secret") is True or self.doc.hidden(path, error.instance):
            return _kind(error.instance)
        return _typed(error.instance) if typed else _shown(error.instance)

    def convert(self, error: jsonschema.ValidationError) -> None:
        """Word one jsonschema error, at the line of the offending key or value;
        errors at or below an already reported path are dropped."""
        path: _DocPath = tuple(error.absolute_path)
        if any(path[:n] in self.doc.broken for n in range(len(path) + 1)):
            return
        schema = _schema_of(error)
        keyword = error.validator
        line = self.doc.line_of(path)
        if keyword == "additionalProperties":
            self._unknown_keys(error, path, schema)
        elif keyword == "required":
            self._required(error, path, schema)
        elif keyword == "type":
            self.add(path, line, self._type(error, path, schema))
        elif keyword == "enum":
            self.add(path, line, self._enum(error, path, schema))
        elif keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            self.add(path, line, f"must be {_bounds(schema)}, got {self.got(error, path)}")
        elif keyword == "minLength":
            self.add(path, line, self._min_length(schema))
        elif keyword == "maxLength":
            self.add(path, line, f"must be at most {schema.get('maxLength')} characters long")
        elif keyword == "pattern":
            expected = schema.get("x-expected", "a different form")
            self.add(path, line, f"expected {expected}, got {self.got(error, path)}")
        elif keyword == "format":
            self.add(path, line, self._format(error, path))
        elif keyword == "anyOf":
            self._any_of(path, schema)
        elif keyword == "not":
            self._forbidden(error, path, schema)
        elif keyword == "dependentRequired":
            self._dependent(error, path, schema)
        else:  # a keyword this module does not word: never echo the value
            self.add(path, line, f"invalid value (fails the schema's {keyword!r} rule)")

    def _unknown_keys(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> None:
        known: Mapping[str, Any] = schema.get("properties", {})
        if not isinstance(error.instance, dict):
            return
        patterns: Mapping[str, Any] = schema.get("patternProperties", {})
        for key in error.instance:
            if key in known or any(re.search(pattern, key) for pattern in patterns):
                continue
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, list(known), n=1)
            home = [
                name for name, sub in known.items() if key in _resolve(sub).get("properties", {})
            ]
            if close:
                message += f"; did you mean {close[0]!r}?"
            elif home:
                message += f"; it belongs in the {home[0]!r} section"
            elif known:
                message += f"; expected one of: {', '.join(known)}"
            self.add((*path, key), self.doc.line_of((*path, key), key=True), message)

    def _required(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> None:
        if not isinstance(error.instance, dict):
            return
        # a conditional requirement (`if`/`then`) says why in the `then` description
        why = schema.get("description") if "then" in error.schema_path else None
        for name in _listed(error):
            if name not in error.instance:
                message = f"missing required key {name!r}"
                if why:
                    message += f" ({why})"
                self.add((*path, name), self.doc.line_of(path, key=True), message)

    def _forbidden(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> None:
        """A ``not`` of ``required`` branches (in a ``then``): each of those keys that
        is present is a problem at its own line; the subschema's ``description`` is
        the message (``"not allowed with version V3: ..."``)."""
        why = schema.get("description") or "not allowed here"
        names = _required_names(error.validator_value)
        present = [n for n in names if isinstance(error.instance, dict) and n in error.instance]
        for name in present:
            self.add((*path, name), self.doc.line_of((*path, name), key=True), why)
        if not present:
            self.add(path, self.doc.line_of(path), "invalid value (fails the schema's 'not' rule)")

    def _dependent(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> None:
        """``dependentRequired``: a key that needs others; reported at that key, with
        the schema's ``x-why``."""
        needs = error.validator_value
        if not isinstance(error.instance, dict) or not isinstance(needs, Mapping):
            return
        why = schema.get("x-why")
        for name, required in needs.items():
            missing = [n for n in required if n not in error.instance]
            if name in error.instance and missing:
                message = f"needs {', '.join(repr(n) for n in missing)} too"
                if why:
                    message += f" ({why})"
                self.add((*path, name), self.doc.line_of((*path, name), key=True), message)

    def _any_of(self, path: _DocPath, schema: Mapping[str, Any]) -> None:
        """An ``anyOf`` of ``required`` branches: one of these keys must be present."""
        names = [
            name
            for branch in schema.get("anyOf", [])
            if set(branch) == {"required"}
            for name in branch["required"]
        ]
        line = self.doc.line_of(path, key=True)
        if len(names) == 1:
            self.add((*path, names[0]), line, f"missing required key {names[0]!r}")
        elif names:
            self.add(path, line, f"needs at least one of these keys: {', '.join(names)}")
        else:
            self.add(path, line, "does not match any of the allowed forms")

    def _type(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> str:
        names = _listed(error)
        expected = schema.get("x-expected") or " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        message = f"expected {expected}, got {self.got(error, path, typed=True)}"
        if "string" in names and isinstance(error.instance, int | float):
            message += " (quote it so YAML reads it as text)"
        return message

    def _enum(
        self, error: jsonschema.ValidationError, path: _DocPath, schema: Mapping[str, Any]
    ) -> str:
        choices = list(
            dict.fromkeys("null" if choice is None else str(choice) for choice in _listed(error))
        )
        message = f"expected one of {', '.join(choices)}, got {self.got(error, path)}"
        if isinstance(error.instance, str) and not self.doc.hidden(path, error.instance):
            # case, '-' and '_' aside ('sha-256' -> 'SHA256'), then the schema's
            # x-aliases (other tools' names: 'AES-128' -> 'AES'), then spelling
            folded = {_fold(choice): choice for choice in choices}
            aliases: Mapping[str, str] = schema.get("x-aliases", {})
            folded.update({_fold(alias): choice for alias, choice in aliases.items()})
            close = folded.get(_fold(error.instance)) or next(
                iter(difflib.get_close_matches(error.instance, choices, n=1)), None
            )
            if close:
                message += f"; did you mean {close!r}?"
        return message

    def _min_length(self, schema: Mapping[str, Any]) -> str:
        least = schema.get("minLength", 1)
        if least <= 1:
            return "must not be empty"
        why = schema.get("x-why")
        message = f"must be at least {least} characters long"
        return f"{message} ({why})" if why else message

    def _format(self, error: jsonschema.ValidationError, path: _DocPath) -> str:
        if self.doc.hidden(path, error.instance) or _schema_of(error).get("x-secret"):
            return _FORMAT_HIDDEN.get(str(error.validator_value), "has an invalid form")
        # the cause names the text: "'1.3.x' is not a numeric OID: arc 3 ('x') is ..."
        return str(error.cause)


#: Format problems for values that must not be echoed (from the environment).
_FORMAT_HIDDEN: Final = {
    "snmp-oid": "is not a numeric OID",
    "snmp-engine-id": "is not an SNMP engine ID in hex (5 to 32 bytes)",
    "host-port": "is not host:port (an IPv6 host goes in brackets)",
    "mqtt-filter": "is not an MQTT topic filter",
    "mqtt-topic": "is not an MQTT topic name",
    "mqtt-template": "is not a device template",
    "snmp-object": "is not a numeric OID or a MIB name",
}


def _fold(text: str) -> str:
    """``text`` compared loosely: case, ``-``, ``_`` and blanks ignored."""
    return "".join(text.casefold().replace("-", "").replace("_", "").split())


def _required_names(schema: object) -> list[str]:
    """The key names of a ``{required: [...]}`` schema or of an ``anyOf`` of them."""
    if not isinstance(schema, Mapping):
        return []
    names = [str(name) for name in schema.get("required", [])]
    for branch in schema.get("anyOf", []):
        names += _required_names(branch)
    return names


def _bounds(schema: Mapping[str, Any]) -> str:
    """``"between 1 and 65535"``, ``"greater than 0 and at most 86400 (seconds)"``..."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        text = f"between {low} and {high}"
    else:
        parts = []
        if low is not None:
            parts.append(f"at least {low}")
        if schema.get("exclusiveMinimum") is not None:
            parts.append(f"greater than {schema['exclusiveMinimum']}")
        if high is not None:
            parts.append(f"at most {high}")
        if schema.get("exclusiveMaximum") is not None:
            parts.append(f"less than {schema['exclusiveMaximum']}")
        text = " and ".join(parts)
    unit = schema.get("x-unit")
    return f"{text} ({unit})" if unit else text


# --------------------------------------------------------------------------- checks


@cache
def _secret_keys() -> frozenset[str]:
    """Names of the schema properties marked ``x-secret: true`` (``community``...)."""

    def walk(node: object) -> Iterable[str]:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and sub.get("x-secret") is True:
                    yield name
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return frozenset(walk(config_schema()))


def _secret_values(data: object) -> Iterable[str]:
    """Every non-empty string under a secret key anywhere in ``data`` (even in the
    wrong section), so that no problem message echoes it."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in _secret_keys():
                values = value if isinstance(value, list) else [value]
                yield from (v for v in values if isinstance(v, str) and v)
            yield from _secret_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _secret_values(item)


#: Device names may not start with this: it marks trap senders without a device
#: (``@192.0.2.7``) and fleettop's own parts (``@receiver``), see docs/events.md.
RESERVED_NAME_PREFIX: Final = "@"


def _reserved_names(doc: _Document) -> None:
    """Report device names starting with ``@``. Runs before the schema, so that the
    name pattern does not report the same name again in vaguer words."""
    data = doc.data
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        return
    for index, device in enumerate(devices):
        name = device.get("name") if isinstance(device, dict) else None
        if isinstance(name, str) and name.startswith(RESERVED_NAME_PREFIX):
            path = ("devices", index, "name")
            doc.report(
                path,
                doc.line_of(path),
                "device names must not start with '@': it marks trap senders without a "
                "device and fleettop's own parts (see docs/events.md)",
            )


def _cross_checks(doc: _Document, base: Path) -> None:
    """Checks across entries, or of the file system, that JSON Schema cannot express:
    device names are unique; no OID is listed twice in a device's ``polling_oids``
    (compared normalised); no trap user is listed twice; every ``mib_paths`` entry is
    an existing directory (relative ones resolved against ``base``)."""
    data = doc.data
    if not isinstance(data, dict):
        return
    _trap_users(doc, data.get("traps"))
    _mib_directories(doc, data.get("mib_paths"), base)
    brokers = _brokers(doc, data.get("brokers"), base)
    _interfaces_dir(doc, data.get("interfaces_dir"), base)
    _alarm_rules(doc, data.get("alarms"))
    _monitors(doc, data.get("monitors"))
    devices = data.get("devices")
    if not isinstance(devices, list):
        return
    _device_brokers(doc, devices, brokers)
    names: dict[str, int | None] = {}
    for index, device in enumerate(devices):
        if not isinstance(device, dict):
            continue
        name, name_path = device.get("name"), ("devices", index, "name")
        if isinstance(name, str):
            if name in names:
                shown = "" if doc.hidden(name_path, name) else f" {name!r}"
                doc.report(
                    name_path,
                    doc.line_of(name_path),
                    f"duplicate device name{shown} (first defined at line {names[name]})",
                )
            else:
                names[name] = doc.line_of(name_path)
        snmp = device.get("snmp")
        oids = snmp.get("polling_oids") if isinstance(snmp, dict) else None
        if isinstance(oids, list):
            _duplicate_oids(doc, ("devices", index, "snmp", "polling_oids"), oids)


def _brokers(doc: _Document, brokers: object, base: Path) -> list[str]:
    """Report duplicate broker names and TLS files that do not exist; return the
    broker names (for the devices' ``mqtt.broker``)."""
    names: dict[str, int | None] = {}
    if not isinstance(brokers, list):
        return []
    for index, broker in enumerate(brokers):
        if not isinstance(broker, dict):
            continue
        name, path = broker.get("name"), ("brokers", index, "name")
        if isinstance(name, str):
            if name in names:
                doc.report(
                    path,
                    doc.line_of(path),
                    f"duplicate broker name {name!r} (first defined at line {names[name]})",
                )
            else:
                names[name] = doc.line_of(path)
        tls = broker.get("tls")
        if not isinstance(tls, dict):
            continue
        for key in ("ca_certs", "certfile", "keyfile"):
            text = tls.get(key)
            if not isinstance(text, str) or not text:
                continue
            file = _mib_directory(text, base)
            if not file.is_file():
                item = ("brokers", index, "tls", key)
                shown = "" if doc.hidden(item, text) else f" {str(file)!r}"
                doc.report(item, doc.line_of(item), f"no such file{shown}")
    return list(names)


def _device_brokers(doc: _Document, devices: list[object], brokers: list[str]) -> None:
    """Report each device ``mqtt.broker`` that names no configured broker."""
    for index, device in enumerate(devices):
        mqtt = device.get("mqtt") if isinstance(device, dict) else None
        broker = mqtt.get("broker") if isinstance(mqtt, dict) else None
        if not isinstance(broker, str) or not broker or broker in brokers:
            continue
        path = ("devices", index, "mqtt", "broker")
        message = f"no broker named {broker!r} in 'brokers'"
        close = difflib.get_close_matches(broker, brokers, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif brokers:
            message += f" (configured: {', '.join(brokers)})"
        else:
            message += " (there is no 'brokers' section)"
        doc.report(path, doc.line_of(path), message)


def _interfaces_dir(doc: _Document, text: object, base: Path) -> None:
    """Report an ``interfaces_dir`` that is not a directory, and every problem of
    every interface file in it (``FILE: FIELD: message``)."""
    if not isinstance(text, str) or not text:
        return
    path = ("interfaces_dir",)
    directory = _mib_directory(text, base)
    if not directory.is_dir():
        shown = "" if doc.hidden(path, text) else f" {str(directory)!r}"
        doc.report(path, doc.line_of(path), f"no such directory{shown}")
        return
    from console.mqtt.interfaces import check_interfaces

    for error in check_interfaces(directory):
        doc.report(path, doc.line_of(path), str(error))


_RULE_SOURCES: Final = ("trap", "oid", "interface", "topic")


def _unique_names(doc: _Document, items: list[object], where: tuple[str, ...], what: str) -> None:
    """Report each ``name`` of the mappings in ``items`` (at ``where``) that repeats."""
    names: dict[str, int | None] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        path: _DocPath = (*where, index, "name")
        if name in names:
            doc.report(
                path,
                doc.line_of(path),
                f"duplicate {what} name {name!r} (first defined at line {names[name]})",
            )
        else:
            names[name] = doc.line_of(path)


def _alarm_rules(doc: _Document, alarms: object) -> None:
    """Report rules without exactly one source, thresholds where they do not belong
    or missing where they must be, ``above`` not greater than ``below``, a
    ``deadband`` wider than the band, Astarte path filters that are not valid, and
    duplicate rule names."""
    rules = alarms.get("rules") if isinstance(alarms, dict) else None
    if not isinstance(rules, list):
        return
    _unique_names(doc, rules, ("alarms", "rules"), "rule")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        here = ("alarms", "rules", index)
        sources = [key for key in _RULE_SOURCES if rule.get(key) is not None]
        if not sources:
            doc.report(
                here,
                doc.line_of(here, key=True),
                "a rule needs one source: trap, oid, interface or topic",
            )
            continue
        if len(sources) > 1:
            second = (*here, sources[1])
            doc.report(
                second,
                doc.line_of(second, key=True),
                f"a rule watches exactly one source, and this one also has {sources[0]!r}",
            )
            continue
        source = sources[0]
        above, below = rule.get("above"), rule.get("below")
        has_threshold = above is not None or below is not None
        for key, allowed in (("clear_trap", "trap"), ("index", "trap"), ("path", "interface")):
            if rule.get(key) is not None and source != allowed:
                path = (*here, key)
                doc.report(path, doc.line_of(path, key=True), f"only allowed with {allowed!r}")
        if source == "trap":
            for key in ("above", "below"):
                if rule.get(key) is not None:
                    path = (*here, key)
                    doc.report(
                        path,
                        doc.line_of(path, key=True),
                        "a trap rule has no threshold (a trap carries no single value)",
                    )
        elif source in ("oid", "interface") and not has_threshold:
            path = (*here, source)
            doc.report(
                path,
                doc.line_of(path, key=True),
                "needs 'above' and/or 'below' (a value rule raises outside its range)",
            )
        numbers = [v for v in (above, below) if v is not None]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            continue  # reported by the schema
        deadband = rule.get("deadband", 0)
        if above is not None and below is not None:
            if above <= below:
                path = (*here, "above")
                doc.report(
                    path,
                    doc.line_of(path),
                    f"must be greater than 'below' ({below}), got {above}",
                )
            elif isinstance(deadband, int | float) and deadband * 2 >= above - below:
                path = (*here, "deadband")
                doc.report(
                    path,
                    doc.line_of(path),
                    f"must be less than half of above - below ({(above - below) / 2:g}), "
                    f"got {deadband}",
                )
        text = rule.get("path")
        if isinstance(text, str) and text.startswith("/"):
            try:
                validate_filter(text[1:] or "#")
            except ValueError as error:
                path = (*here, "path")
                reason = str(error).split(": ", 1)[-1]
                doc.report(path, doc.line_of(path), f"{text!r} is not a path filter: {reason}")


def _monitors(doc: _Document, monitors: object) -> None:
    """Report duplicate monitor names, monitors with neither events nor topics, and
    event patterns that are not valid."""
    if not isinstance(monitors, list):
        return
    _unique_names(doc, monitors, ("monitors",), "monitor")
    for index, monitor in enumerate(monitors):
        if not isinstance(monitor, dict):
            continue
        here = ("monitors", index)
        events, topics = monitor.get("events"), monitor.get("topics")
        if not events and not topics:
            doc.report(
                here,
                doc.line_of(here, key=True),
                "a monitor needs 'events' or 'topics' (at least one pattern or filter)",
            )
        if not isinstance(events, list):
            continue
        for number, item in enumerate(events):
            path = (*here, "events", number)
            if isinstance(item, list) and not all(isinstance(part, str) for part in item):
                continue  # reported by the schema
            if not isinstance(item, str | list):
                continue
            try:
                event_pattern(item)
            except ValueError as error:
                doc.report(path, doc.line_of(path), str(error))


def _trap_users(doc: _Document, traps: object) -> None:
    """Report a trap user listed twice for the same engine ID (the receiver's USM
    table holds one entry per user name and engine ID, RFC 3414 usmUserTable)."""
    users = traps.get("users") if isinstance(traps, dict) else None
    if not isinstance(users, list):
        return
    seen: dict[tuple[str, str], int | None] = {}
    for index, user in enumerate(users):
        if not isinstance(user, dict):
            continue
        name, engine_id = user.get("user"), user.get("engine_id", "")
        if not isinstance(name, str) or not isinstance(engine_id, str):
            continue
        try:
            key = (name, _normalize_engine_id(engine_id))
        except ValueError:
            continue  # reported by the schema
        path = ("traps", "users", index, "user")
        if key not in seen:
            seen[key] = doc.line_of(path)
            continue
        shown = "" if doc.hidden(path, name) else f" {name!r}"
        engine = f" for engine ID {key[1]}" if key[1] else ""
        doc.report(
            path,
            doc.line_of(path),
            f"duplicate trap user{shown}{engine} (first defined at line {seen[key]})",
        )


def _mib_directory(text: str, base: Path) -> Path:
    """A path from the file (a ``mib_paths`` entry, ``store.path``) made absolute:
    ``~`` expanded, relative paths joined to ``base`` (the configuration file's
    directory), ``..`` collapsed."""
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _mib_directories(doc: _Document, paths: object, base: Path) -> None:
    """Report each ``mib_paths`` entry that is not an existing directory."""
    if not isinstance(paths, list):
        return
    for index, text in enumerate(paths):
        if not isinstance(text, str) or not text:
            continue  # reported by the schema
        directory = _mib_directory(text, base)
        if directory.is_dir():
            continue
        path = ("mib_paths", index)
        shown = "" if doc.hidden(path, text) else f" {str(directory)!r}"
        if directory.exists():
            message = f"{shown.strip() or 'it'} is not a directory"
        else:
            message = f"no such directory{shown}"
            if not Path(text).expanduser().is_absolute():
                message += " (a relative path starts at the configuration file's directory)"
        doc.report(path, doc.line_of(path), message)


def _duplicate_oids(doc: _Document, path: _DocPath, oids: list[object]) -> None:
    """Report each OID of list ``oids`` (at ``path``) that repeats an earlier one."""
    seen: dict[str, int] = {}
    for index, oid in enumerate(oids):
        if not isinstance(oid, str):
            continue
        try:
            normal = normalize_oid(oid)
        except ValueError:
            continue  # reported by the schema
        item = (*path, index)
        if normal in seen:
            first = (*path, seen[normal])
            doc.report(
                item,
                doc.line_of(item),
                f"OID {normal} is listed twice (first as {_field_name(first[-2:])}, "
                f"line {doc.line_of(first)})",
            )
        else:
            seen[normal] = index


# --------------------------------------------------------------------------- building


def _build_snmp(data: Mapping[str, Any]) -> SnmpDeviceConfig:
    """An :class:`SnmpDeviceConfig` from a validated ``snmp:`` mapping; absent fields
    take the dataclass defaults."""
    options: dict[str, Any] = {}
    for name in ("remote_port", "request_retry_count", "max_varbinds_per_request"):
        if name in data:
            options[name] = int(data[name])
    for name in ("connect_delay", "request_timeout", "request_retry_delay", "polling_delay"):
        if name in data:
            options[name] = float(data[name])
    if "string_hex_oids" in data:
        options["string_hex_oids"] = frozenset(
            normalize_oid(oid) for oid in data["string_hex_oids"]
        )
    if "user" in data:
        options["user"] = data["user"]
    if "authentication" in data:
        options["authentication"] = _build_authentication(data["authentication"])
    if "privacy" in data:
        options["privacy"] = _build_privacy(data["privacy"])
    if "context" in data:
        context = data["context"]
        options["context"] = SnmpContext(
            engine_id=_normalize_engine_id(context.get("engine_id", "")),
            name=context.get("name", ""),
        )
    if "write_community" in data:
        options["write_community"] = Secret(data["write_community"])
    community = data.get("community")
    return SnmpDeviceConfig(
        remote_host=data["remote_host"],
        version=data["version"],
        community=None if community is None else Secret(community),
        polling_oids=tuple(normalize_oid(oid) for oid in data["polling_oids"]),
        **options,
    )


def _build_authentication(data: Mapping[str, Any]) -> SnmpAuthentication:
    """A validated ``authentication:`` mapping; the password becomes a Secret."""
    return SnmpAuthentication(type=data["type"], password=Secret(data["password"]))


def _build_privacy(data: Mapping[str, Any]) -> SnmpPrivacy:
    """A validated ``privacy:`` mapping; the password becomes a Secret."""
    return SnmpPrivacy(type=data["type"], password=Secret(data["password"]))


def _build_traps(data: Mapping[str, Any]) -> TrapsConfig:
    """A :class:`TrapsConfig` from a validated ``traps:`` mapping."""
    options: dict[str, Any] = {}
    if "listen" in data:
        options["listen_host"], options["listen_port"] = _split_host_port(data["listen"])
    users = []
    for user in data.get("users", []):
        engine_id = user.get("engine_id")
        authentication = user.get("authentication")
        privacy = user.get("privacy")
        users.append(
            TrapUser(
                user=user["user"],
                engine_id=None if engine_id is None else _normalize_engine_id(engine_id),
                authentication=None
                if authentication is None
                else _build_authentication(authentication),
                privacy=None if privacy is None else _build_privacy(privacy),
            )
        )
    return TrapsConfig(
        communities=tuple(Secret(community) for community in data.get("communities", [])),
        users=tuple(users),
        **options,
    )


def _build_device(data: Mapping[str, Any]) -> DeviceConfig:
    """A :class:`DeviceConfig` from a validated device mapping."""
    snmp = data.get("snmp")
    mqtt = data.get("mqtt")
    return DeviceConfig(
        name=data["name"],
        snmp=None if snmp is None else _build_snmp(snmp),
        mqtt=None if mqtt is None else _build_device_mqtt(mqtt),
    )


def _build_device_mqtt(data: Mapping[str, Any]) -> MqttDeviceConfig:
    """A :class:`MqttDeviceConfig` from a validated device ``mqtt:`` mapping."""
    options: dict[str, Any] = {
        k: data[k]
        for k in ("topic", "qos", "status_topic", "online_payload", "offline_payload")
        if data.get(k) is not None
    }
    if "timeout" in data:
        options["timeout"] = float(data["timeout"])
    astarte = data.get("astarte")
    if astarte is not None:
        options["astarte"] = AstarteDeviceConfig(astarte["realm"], astarte["device_id"])
    return MqttDeviceConfig(broker=data["broker"], **options)


def _build_broker(data: Mapping[str, Any], base: Path) -> BrokerConfig:
    """A :class:`BrokerConfig` from a validated ``brokers:`` entry; TLS paths are
    made absolute against ``base``."""
    options: dict[str, Any] = {
        k: data[k]
        for k in (
            "port",
            "transport",
            "websocket_path",
            "username",
            "client_id",
            "keepalive",
            "clean_start",
            "session_expiry",
            "display_limit",
        )
        if data.get(k) is not None
    }
    if data.get("protocol") is not None:
        options["protocol"] = str(data["protocol"])
    if data.get("password") is not None:
        options["password"] = Secret(data["password"])
    tls = data.get("tls")
    if tls is not None:
        options["tls"] = BrokerTls(
            **{
                k: _mib_directory(tls[k], base)
                for k in ("ca_certs", "certfile", "keyfile")
                if tls.get(k) is not None
            },
            insecure=bool(tls.get("insecure", False)),
        )
    options["subscriptions"] = tuple(
        MqttSubscription(sub["topic"], int(sub.get("qos", 0)))
        for sub in data.get("subscriptions", [])
    )
    reconnect = data.get("reconnect", {})
    options["reconnect"] = ReconnectConfig(
        **{k: float(reconnect[k]) for k in ("min", "max", "jitter") if k in reconnect}
    )
    options["device_rules"] = tuple(
        DeviceRule(rule["template"], float(rule.get("timeout", 60.0)))
        for rule in data.get("device_rules", [])
    )
    return BrokerConfig(name=data["name"], host=data["host"], **options)


def _build_ui(data: Mapping[str, Any]) -> UiConfig:
    """A :class:`UiConfig` from a validated ``ui:`` mapping; keymap values lose the
    spaces around their commas."""
    keymap = {
        binding: ",".join(key.strip() for key in keys.split(","))
        for binding, keys in data.get("keymap", {}).items()
    }
    if "theme" in data:
        return UiConfig(theme=data["theme"], keymap=MappingProxyType(keymap))
    return UiConfig(keymap=MappingProxyType(keymap))


def _build_store(data: Mapping[str, Any], base: Path) -> StoreConfig:
    """A :class:`StoreConfig` from a validated ``store:`` mapping; a relative
    ``path`` starts at ``base`` (the configuration file's directory)."""
    options: dict[str, Any] = {
        k: data[k] for k in ("enabled", "batch_window", "batch_size") if k in data
    }
    if data.get("path") is not None:
        options["path"] = _mib_directory(data["path"], base)
    return StoreConfig(**options)


def _build_notifications(data: Mapping[str, Any]) -> NotificationsConfig:
    """A :class:`NotificationsConfig` from a validated ``notifications:`` mapping."""
    retention = data.get("retention", {})
    options: dict[str, Any] = {
        k: int(data[k])
        for k in ("ring_size", "replay", "ring_bytes", "payload_bytes", "stored_payload_bytes")
        if k in data
    }
    defaults = RetentionConfig()
    max_age = retention.get("max_age", defaults.max_age)
    max_count = retention.get("max_count", defaults.max_count)
    options["retention"] = RetentionConfig(
        max_age=None if max_age is None else float(max_age),
        max_count=None if max_count is None else int(max_count),
    )
    return NotificationsConfig(**options)


def _build_rule(data: Mapping[str, Any]) -> AlarmRule:
    """An :class:`AlarmRule` from a validated, cross-checked rule mapping."""
    options: dict[str, Any] = {
        k: data[k]
        for k in ("severity", "message", "device", "interface", "path", "topic")
        if data.get(k) is not None
    }
    if data.get("oid") is not None:
        options["oid"] = normalize_oid(data["oid"])
    for key in ("trap", "clear_trap", "index"):
        if data.get(key) is not None:
            options[key] = check_snmp_object(data[key])
    for key in ("above", "below"):
        if data.get(key) is not None:
            options[key] = float(data[key])
    if "deadband" in data:
        options["deadband"] = float(data["deadband"])
    return AlarmRule(name=data["name"], **options)


def _build_alarms(data: Mapping[str, Any]) -> AlarmsConfig:
    """An :class:`AlarmsConfig` from a validated ``alarms:`` mapping."""
    options: dict[str, Any] = {k: data[k] for k in ("traps", "disconnected") if k in data}
    return AlarmsConfig(rules=tuple(_build_rule(rule) for rule in data.get("rules", [])), **options)


def _build_monitor(data: Mapping[str, Any], base: Path) -> MonitorConfig:
    """A :class:`MonitorConfig` from a validated monitor mapping; a relative
    ``record.path`` starts at ``base``."""
    options: dict[str, Any] = {k: data[k] for k in ("batch_size", "policy") if k in data}
    if "batch_duration" in data:
        options["batch_duration"] = float(data["batch_duration"])
    record = data.get("record")
    if record is not None:
        options["record"] = RecordConfig(
            path=_mib_directory(record["path"], base),
            **{k: int(record[k]) for k in ("max_bytes", "backups") if k in record},
        )
    return MonitorConfig(
        name=data["name"],
        events=tuple(dict.fromkeys(event_pattern(item) for item in data.get("events", []))),
        topics=tuple(dict.fromkeys(data.get("topics", []))),
        **options,
    )


def _build(data: Mapping[str, Any], source: Path | None, base: Path) -> Config:
    """A :class:`Config` from validated top-level data; ``base`` is the directory
    relative ``mib_paths`` start at."""
    traps = data.get("traps")
    return Config(
        devices=tuple(_build_device(device) for device in data.get("devices", [])),
        ui=_build_ui(data.get("ui", {})),
        source=source,
        traps=None if traps is None else _build_traps(traps),
        mib_paths=tuple(_mib_directory(text, base) for text in data.get("mib_paths", [])),
        store=_build_store(data.get("store", {}), base),
        brokers=tuple(_build_broker(broker, base) for broker in data.get("brokers", [])),
        interfaces_dir=None
        if data.get("interfaces_dir") is None
        else _mib_directory(data["interfaces_dir"], base),
        notifications=_build_notifications(data.get("notifications", {})),
        alarms=_build_alarms(data.get("alarms", {})),
        monitors=tuple(_build_monitor(monitor, base) for monitor in data.get("monitors", [])),
    )


# --------------------------------------------------------------------------- public API


def _analyse(
    text: str, source: str, environ: Mapping[str, str] | None, path: Path | None
) -> tuple[Config | None, list[Problem]]:
    """Parse, validate and build; returns the config (``None`` when invalid) and the
    problems sorted by line. Relative ``mib_paths`` start at the directory of
    ``path``, or at the working directory when there is no file."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    base = (Path.cwd() if path is None else path.parent).absolute()
    loader = yaml.SafeLoader(text)
    try:
        doc = _read(loader, env)
    finally:
        loader.dispose()
    if isinstance(doc.data, dict):
        doc.secrets.update(_secret_values(doc.data))
        _reserved_names(doc)
        messages = _Messages(doc)
        for error in _validator().iter_errors(doc.data):
            messages.convert(error)
        _cross_checks(doc, base)
    order = {path: index for index, path in enumerate(doc.value_lines)}

    def position(found: _Found) -> tuple[int, int]:
        """Sort key: the line, then document order (the nearest ancestor recorded)."""
        path = found.path
        while path and path not in order:
            path = path[:-1]
        return found.line or 0, order.get(path, 0)

    problems = [
        Problem(source, found.line, _field_name(found.path), found.message)
        for found in sorted(doc.found, key=position)
    ]
    if problems or not isinstance(doc.data, dict):
        return None, problems
    return _build(doc.data, path, base), problems


def _read(loader: yaml.SafeLoader, environ: Mapping[str, str]) -> _Document:
    """Compose the single YAML document and build its data (stage 1 and 2)."""
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        doc = _Document()
        doc.report((), _line(error.problem_mark), _yaml_message(error))
        return doc
    if root is None:
        doc = _Document()
        doc.report((), None, "the file is empty; expected a mapping with a 'devices' list")
        return doc
    builder = _Builder(loader, environ)
    try:
        builder.doc.data = builder.build(root, ())
    except _TooLarge:
        builder.doc.report((), None, f"the document expands to more than {_MAX_NODES} values")
    doc = builder.doc
    if not isinstance(doc.data, dict) and () not in doc.broken:
        doc.report(
            (),
            doc.line_of(()),
            f"the top level must be a mapping with a 'devices' list, got {_kind(doc.data)}",
        )
    return doc


def _read_file(path: str | os.PathLike[str]) -> tuple[str | None, Problem | None]:
    """The file's text (UTF-8, an optional BOM dropped), or the problem reading it."""
    name = os.fspath(path)
    try:
        return Path(path).read_text(encoding="utf-8-sig"), None
    except UnicodeDecodeError as error:
        return None, Problem(name, None, "", f"not UTF-8 text (bad byte at offset {error.start})")
    except OSError as error:
        return None, Problem(name, None, "", f"cannot read the file: {error.strerror or error}")


def parse_config(
    text: str, *, source: str = "<string>", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate configuration ``text`` (YAML) and return it as a :class:`Config`.

    Args:
        text: the YAML document.
        source: the name problems give as their file (``Config.source`` stays ``None``).
        environ: variables for ``${NAME}`` substitution; ``os.environ`` when ``None``.

    Raises:
        ConfigError: the text is not a valid configuration; ``.problems`` lists every
            problem found.
    """
    config, problems = _analyse(text, source, environ, None)
    if config is None:
        raise ConfigError(problems)
    return config


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, validate and return the configuration file at ``path`` (UTF-8 YAML).

    ``Config.source`` is ``Path(path)``; problems name the file as ``str(path)``.
    ``environ`` (default ``os.environ``) supplies ``${NAME}`` substitutions.

    Raises:
        ConfigError: the file cannot be read or is not a valid configuration;
            ``.problems`` lists every problem found.
    """
    text, problem = _read_file(path)
    if text is None:
        raise ConfigError([problem] if problem else [])
    config, problems = _analyse(text, os.fspath(path), environ, Path(path))
    if config is None:
        raise ConfigError(problems)
    return config


def check_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """Return every problem of the configuration file at ``path``, sorted by line; an
    empty list means :func:`load_config` would succeed. Never raises for a bad file
    (an unreadable one is a problem too). ``environ`` as for :func:`load_config`."""
    text, problem = _read_file(path)
    if text is None:
        return [problem] if problem else []
    return _analyse(text, os.fspath(path), environ, Path(path))[1]
