"""The value forms of the configuration that JSON Schema cannot express itself:
numeric OIDs (:func:`console.oid.normalize_oid`), SNMP engine IDs (RFC 3411),
``host:port``, MQTT topic names, filters and device templates, OIDs or MIB names, and
file system paths. Each ``is_*`` function is a jsonschema format check (non-strings
pass: ``type`` reports them; a bad string raises ``ValueError`` whose message quotes
it); :data:`FORMAT_CHECKS` lists them by format name.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Final

from console.oid import normalize_oid
from console.topics import parse_template, validate_filter, validate_topic

__all__ = [
    "FORMAT_CHECKS",
    "absolute_path",
    "check_snmp_object",
    "normalize_engine_id",
    "oid_form",
    "split_host_port",
]

# --------------------------------------------------------------------------- OIDs

#: :func:`~console.oid.normalize_oid`, remembered: a fleet lists the same OIDs on
#: many devices, and each is checked, compared and converted.
oid_form: Final[Callable[[str], str]] = lru_cache(maxsize=16_384)(normalize_oid)


def _is_oid(instance: object) -> bool:
    """``snmp-oid`` format check for jsonschema: non-strings pass (``type`` reports
    them); raises ``ValueError`` from :func:`normalize_oid` for a bad OID."""
    return not isinstance(instance, str) or bool(oid_form(instance))


# --------------------------------------------------------------------------- engine IDs

_ENGINE_ID_BYTES: Final = (5, 32)  # RFC 3411 SnmpEngineID: OCTET STRING (SIZE(5..32))


def normalize_engine_id(text: str) -> str:
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
    return not isinstance(instance, str) or normalize_engine_id(instance) is not None


# --------------------------------------------------------------------------- host:port

_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def split_host_port(text: str) -> tuple[str, int]:
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
    return not isinstance(instance, str) or bool(split_host_port(instance))


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
        return oid_form(stripped)
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


#: The schema's ``format`` names and their checks.
FORMAT_CHECKS: Final[Mapping[str, Callable[[object], bool]]] = {
    "snmp-oid": _is_oid,
    "snmp-engine-id": _is_engine_id,
    "host-port": _is_host_port,
    "mqtt-filter": _is_mqtt_filter,
    "mqtt-topic": _is_mqtt_topic,
    "mqtt-template": _is_mqtt_template,
    "snmp-object": _is_snmp_object,
}


def absolute_path(text: str, base: Path) -> Path:
    """A path from the file (``mib_paths``, ``store.path``, TLS files, a monitor's
    ``record.path``, ``interfaces_dir``) made absolute: ``~`` expanded, relative paths
    joined to ``base`` (the configuration file's directory), ``..`` collapsed."""
    path = Path(text).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))
