"""fleettop's public MQTT namespace, version 1 (``docs/distributed.md``): topic names,
what is retained, the collector's status and device descriptions, and the shards.

Topics (``{collector}`` a collector's name, segments percent-encoded by
:func:`encode_segment`)::

    fleettop/v1/{collector}/status                 retained: online / offline (Last Will)
    fleettop/v1/{collector}/device/{device}        retained: the device, secrets stripped
    fleettop/v1/{collector}/interface/{name}       retained: an Astarte interface (JSON)
    fleettop/v1/{collector}/event/{type...}        one bus event (the --headless JSON)
    fleettop/request/v1/{collector}/{action}       an operator request (MQTT 5 request)
    fleettop/reply/v1/{client_id}                  the replies to one console

An event's type segments become topic levels; a segment holding ``/``, ``+``, ``#``
or ``%`` has them written ``%2F``, ``%2B``, ``%23``, ``%25`` (an Astarte path
``/s1/enable`` is one level, ``%2Fs1%2Fenable``). The payload carries the type as a
list too, so a reader never has to decode a topic.

This module is pure (standard library and the configuration model only).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from console.config import (
    AstarteDeviceConfig,
    DeviceConfig,
    MqttDeviceConfig,
    SnmpDeviceConfig,
)
from console.event_types import EventType, JsonValue, Pattern, matches_any

__all__ = [
    "FORMAT",
    "NOT_PUBLISHED",
    "REPLY_ROOT",
    "REQUEST_ROOT",
    "ROOT",
    "STREAM_EVENTS",
    "check_name",
    "decode_segment",
    "device_from_public",
    "device_topic",
    "encode_segment",
    "event_topic",
    "interface_topic",
    "is_retained",
    "parse_shard",
    "parse_topic",
    "public_device",
    "request_topic",
    "shard_of",
    "status_topic",
]

#: The namespace root of version 1; a later incompatible format gets ``fleettop/v2``.
ROOT: Final = "fleettop/v1"
#: Where operator requests go: ``fleettop/request/v1/{collector}/{action}``.
REQUEST_ROOT: Final = "fleettop/request/v1"
#: Where a console receives the replies: ``fleettop/reply/v1/{client_id}``.
REPLY_ROOT: Final = "fleettop/reply/v1"
#: The ``format`` field of every status and reply payload.
FORMAT: Final = "fleettop/v1"

#: Events that are happenings, not state: published without the retain flag (a
#: console attaching later does not receive old ones).
STREAM_EVENTS: Final[tuple[Pattern, ...]] = (
    ("mqtt", "?", "message", "*"),
    ("mqtt", "?", "publish"),
    ("snmp", "?", "trap", "*"),
    ("snmp", "?", "write", "*"),
    ("snmp", "?", "walk", "*"),
    ("audit", "*"),
    ("log", "*"),
)
#: Events a collector keeps to itself: the last-known values its store replays at
#: start (the retained ``read`` events already carry the last values).
NOT_PUBLISHED: Final[tuple[Pattern, ...]] = (("snmp", "?", "stored", "*"),)

_ESCAPES: Final = {"%": "%25", "/": "%2F", "+": "%2B", "#": "%23"}
_ESCAPED: Final = re.compile("%(25|2F|2B|23)", re.IGNORECASE)
_UNESCAPE: Final = {"25": "%", "2F": "/", "2B": "+", "23": "#"}
_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def encode_segment(segment: str) -> str:
    """One event-type segment as one topic level: ``%``, ``/``, ``+``, ``#`` escaped
    (``%25``, ``%2F``, ``%2B``, ``%23``); everything else as is."""
    if not any(char in segment for char in _ESCAPES):
        return segment
    return "".join(_ESCAPES.get(char, char) for char in segment)


def decode_segment(level: str) -> str:
    """The inverse of :func:`encode_segment`."""
    if "%" not in level:
        return level
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1).upper()], level)


def check_name(name: str) -> str:
    """Return ``name`` if it may name a collector: 1-64 of ``A-Z a-z 0-9 _ . -``
    (one topic level, no wildcard, usable as an MQTT username in an ACL).

    Raises:
        ValueError: it may not, with the rule.
    """
    if not _NAME.match(name):
        raise ValueError(f"collector name {name!r}: use 1 to 64 letters, digits, '_', '.' or '-'")
    return name


def status_topic(collector: str) -> str:
    """``fleettop/v1/{collector}/status``."""
    return f"{ROOT}/{collector}/status"


def device_topic(collector: str, device: str) -> str:
    """``fleettop/v1/{collector}/device/{device}``."""
    return f"{ROOT}/{collector}/device/{encode_segment(device)}"


def interface_topic(collector: str, name: str) -> str:
    """``fleettop/v1/{collector}/interface/{name}``: an Astarte interface's JSON."""
    return f"{ROOT}/{collector}/interface/{encode_segment(name)}"


def event_topic(collector: str, event_type: Sequence[str]) -> str:
    """``fleettop/v1/{collector}/event/{segment}/...`` for one bus event type."""
    return f"{ROOT}/{collector}/event/" + "/".join(encode_segment(s) for s in event_type)


def request_topic(collector: str, action: str) -> str:
    """``fleettop/request/v1/{collector}/{action}``."""
    return f"{REQUEST_ROOT}/{collector}/{action}"


def parse_topic(topic: str) -> tuple[str, str, tuple[str, ...]] | None:
    """Split a topic of :data:`ROOT`: ``(collector, kind, rest)`` with ``kind`` one
    of ``status``, ``device``, ``interface``, ``event`` and ``rest`` the decoded levels after it;
    ``None`` for anything else."""
    levels = topic.split("/")
    if len(levels) < 4 or f"{levels[0]}/{levels[1]}" != ROOT:
        return None
    collector, kind, rest = levels[2], levels[3], levels[4:]
    if kind == "status" and not rest:
        return collector, kind, ()
    if kind in ("device", "event", "interface") and rest:
        return collector, kind, tuple(decode_segment(level) for level in rest)
    return None


def is_retained(event_type: EventType) -> bool:
    """Whether an event is state (retained) rather than a happening."""
    return not matches_any(STREAM_EVENTS, event_type)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N.

    Raises:
        ValueError: not of that form, with an example.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--shard {text!r}: expected K/N with 1 <= K <= N, such as 1/2")
    return int(match.group(1)), int(match.group(2))


def shard_of(name: str, count: int) -> int:
    """The shard (1..``count``) that owns ``name``: rendezvous (highest random
    weight) hashing, Thaler and Ravishankar 1998, with BLAKE2b-64 weights. Adding a
    shard moves only the names the new shard wins; every process computes the same
    answer with no coordination."""

    def weight(shard: int) -> bytes:
        return hashlib.blake2b(f"{shard}\x00{name}".encode(), digest_size=8).digest()

    return max(range(1, count + 1), key=weight)


# -- devices, secrets stripped -------------------------------------------------------

_SNMP_PUBLIC: Final = (
    "remote_host",
    "remote_port",
    "version",
    "polling_delay",
    "request_timeout",
    "request_retry_count",
    "connect_delay",
    "max_varbinds_per_request",
)


def public_device(device: DeviceConfig) -> dict[str, JsonValue]:
    """The retained description of a device: its name, SNMP agent address, version
    and polling settings, its MQTT broker and topics. Never a community, a v3 user,
    key or password (a console never receives a collector's secrets)."""
    out: dict[str, JsonValue] = {"name": device.name, "snmp": None, "mqtt": None}
    if device.snmp is not None:
        snmp: dict[str, JsonValue] = {key: getattr(device.snmp, key) for key in _SNMP_PUBLIC}
        snmp["polling_oids"] = list(device.snmp.polling_oids)
        out["snmp"] = snmp
    if device.mqtt is not None:
        mqtt = device.mqtt
        out["mqtt"] = {
            "broker": mqtt.broker,
            "topic": mqtt.topic,
            "qos": mqtt.qos,
            "astarte": None
            if mqtt.astarte is None
            else {"realm": mqtt.astarte.realm, "device_id": mqtt.astarte.device_id},
            "status_topic": mqtt.status_topic,
            "timeout": mqtt.timeout,
        }
    return out


def device_from_public(data: Mapping[str, Any]) -> DeviceConfig:
    """A :class:`DeviceConfig` from :func:`public_device`'s output (no credentials:
    a console never talks to the device itself).

    Raises:
        ValueError: not a device description.
    """
    try:
        name = str(data["name"])
        snmp = data.get("snmp")
        mqtt = data.get("mqtt")
        snmp_conf = None
        if isinstance(snmp, Mapping):
            snmp_conf = SnmpDeviceConfig(
                remote_host=str(snmp["remote_host"]),
                version=snmp["version"],
                community=None,
                polling_oids=tuple(str(oid) for oid in snmp.get("polling_oids", ())),
                remote_port=int(snmp["remote_port"]),
                polling_delay=float(snmp["polling_delay"]),
                request_timeout=float(snmp["request_timeout"]),
                request_retry_count=int(snmp["request_retry_count"]),
                connect_delay=float(snmp["connect_delay"]),
                max_varbinds_per_request=int(snmp["max_varbinds_per_request"]),
            )
        mqtt_conf = None
        if isinstance(mqtt, Mapping):
            astarte = mqtt.get("astarte")
            mqtt_conf = MqttDeviceConfig(
                broker=str(mqtt["broker"]),
                topic=mqtt.get("topic"),
                qos=int(mqtt.get("qos", 1)),
                astarte=AstarteDeviceConfig(str(astarte["realm"]), str(astarte["device_id"]))
                if isinstance(astarte, Mapping)
                else None,
                status_topic=mqtt.get("status_topic"),
                timeout=float(mqtt.get("timeout", 60.0)),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a fleettop/v1 device description: {exc}") from None
    return DeviceConfig(name=name, snmp=snmp_conf, mqtt=mqtt_conf)
