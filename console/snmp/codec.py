"""SNMP values <-> fleettop data dicts.

The data dicts are hat-gateway's SNMP data shape (its ``snmp.yaml`` data schema),
listed in ``docs/events.md``: ``{"type": TYPE, "value": VALUE}`` where ``TYPE`` is one
of :class:`DataType` and ``VALUE`` an int or a str.

* :func:`from_pysnmp` turns a value from a pysnmp response var-bind into a data dict;
  it runs on the polling hot path, so it dispatches on the value's ASN.1 tag set with
  one dict look-up and never touches MIBs.
* :func:`to_pysnmp` is the reverse, for SET requests: it validates the data dict
  (type known, value of the right Python type and in range) and raises
  :class:`ValueError` with an operator-readable message otherwise.
* :func:`pdu_error_name` names a PDU error-status (RFC 3416 §3) in upper snake case;
  :func:`error_data` builds the ``ERROR`` data dict.
* :func:`parse_oid` / :func:`format_oid` / :func:`normalize_oid` are re-exported from
  :mod:`console.oid`, the one implementation of the numeric OID rules (no MIB names:
  see :mod:`console.snmp.mib` for those).

Reference: hat-gateway ``devices/snmp/manager.py`` (``_event_type_from_response``,
``_event_value_from_response``, ``_value_from_event``); RFC 3416 (PDU error-status),
RFC 2578 (SMIv2 base types).
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905

from console.events import JsonValue
from console.oid import format_oid, normalize_oid, parse_oid

__all__ = [
    "DATA_TYPES",
    "ERROR_NAMES",
    "PDU_ERROR_NAMES",
    "USM_ERROR_NAMES",
    "VALUE_ERROR_NAMES",
    "Data",
    "DataType",
    "error_data",
    "format_oid",
    "from_pysnmp",
    "normalize_oid",
    "parse_oid",
    "pdu_error_name",
    "to_pysnmp",
]

#: A data dict: ``{"type": str, "value": int | str}`` (JSON-ready, published as is).
Data: TypeAlias = dict[str, JsonValue]


class DataType(enum.StrEnum):
    """The ``type`` of a data dict (hat-gateway's SNMP data types)."""

    INTEGER = "INTEGER"
    """Integer32 / INTEGER: int in -2^31..2^31-1."""
    UNSIGNED = "UNSIGNED"
    """Gauge32 / Unsigned32: int in 0..2^32-1."""
    COUNTER = "COUNTER"
    """Counter32: int in 0..2^32-1."""
    BIG_COUNTER = "BIG_COUNTER"
    """Counter64: int in 0..2^64-1."""
    TIME_TICKS = "TIME_TICKS"
    """TimeTicks: int in hundredths of a second, 0..2^32-1."""
    STRING = "STRING"
    """OCTET STRING that is readable text: valid UTF-8 without control characters
    other than tab, LF and CR (anything else is :attr:`STRING_HEX`)."""
    STRING_HEX = "STRING_HEX"
    """OCTET STRING as lower-case hex (for OIDs listed in ``string_hex_oids``)."""
    OBJECT_ID = "OBJECT_ID"
    """OBJECT IDENTIFIER as dotted text without a leading dot."""
    IP_ADDRESS = "IP_ADDRESS"
    """IpAddress as a dotted quad."""
    ARBITRARY = "ARBITRARY"
    """Opaque (and any unknown type) as lower-case hex."""
    ERROR = "ERROR"
    """No value: ``value`` is an error name (see :data:`ERROR_NAMES`)."""


#: Every data type name, in documentation order.
DATA_TYPES: Final = tuple(t.value for t in DataType)

#: PDU error-status names by error-status number (RFC 3416 §3), upper snake case.
#: Index 0 (noError) is ``NO_ERROR`` and never appears in an ``ERROR`` data dict.
PDU_ERROR_NAMES: Final[tuple[str, ...]] = (
    "NO_ERROR",
    "TOO_BIG",
    "NO_SUCH_NAME",
    "BAD_VALUE",
    "READ_ONLY",
    "GEN_ERR",
    "NO_ACCESS",
    "WRONG_TYPE",
    "WRONG_LENGTH",
    "WRONG_ENCODING",
    "WRONG_VALUE",
    "NO_CREATION",
    "INCONSISTENT_VALUE",
    "RESOURCE_UNAVAILABLE",
    "COMMIT_FAILED",
    "UNDO_FAILED",
    "AUTHORIZATION_ERROR",
    "NOT_WRITABLE",
    "INCONSISTENT_NAME",
)

#: Error names carried by a var-bind value rather than by the PDU (RFC 3416 §3:
#: the ``unSpecified`` NULL and the three exceptions; ``EMPTY`` is hat-gateway's
#: name for a NULL value).
VALUE_ERROR_NAMES: Final[tuple[str, ...]] = (
    "NO_SUCH_OBJECT",
    "NO_SUCH_INSTANCE",
    "END_OF_MIB_VIEW",
    "EMPTY",
    "UNSPECIFIED",
)

#: SNMPv3 USM failures an agent reports instead of answering (RFC 3414 §3.2, named
#: after the usmStats counter its Report-PDU carries: ``usmStatsWrongDigests`` ->
#: ``WRONG_DIGESTS``), as hat-gateway names them. The manager gives every value the
#: request asked for this ``ERROR``.
USM_ERROR_NAMES: Final[tuple[str, ...]] = (
    "NOT_IN_TIME_WINDOWS",
    "UNKNOWN_USER_NAMES",
    "UNKNOWN_ENGINE_IDS",
    "WRONG_DIGESTS",
    "DECRYPTION_ERRORS",
)

#: Every valid ``value`` of an ``ERROR`` data dict.
ERROR_NAMES: Final[frozenset[str]] = frozenset(
    VALUE_ERROR_NAMES + PDU_ERROR_NAMES[1:] + USM_ERROR_NAMES
)

_MAX_OCTETS: Final = 65535  # SMIv2 OCTET STRING size limit (RFC 2578 §7.1.2)

_INT32: Final = (-(2**31), 2**31 - 1)
_UINT32: Final = (0, 2**32 - 1)
_UINT64: Final = (0, 2**64 - 1)


# -- pysnmp -> data ----------------------------------------------------------------


def error_data(name: str) -> Data:
    """Return the ``ERROR`` data dict for error ``name`` (one of :data:`ERROR_NAMES`).

    Raises:
        ValueError: ``name`` is not a known error name.
    """
    if name not in ERROR_NAMES:
        raise ValueError(f"{name!r} is not an SNMP error name")
    return {"type": "ERROR", "value": name}


def pdu_error_name(status: int) -> str:
    """Name a PDU error-status number (RFC 3416 §3) in upper snake case:
    ``2`` -> ``"NO_SUCH_NAME"``. Unknown numbers (a misbehaving agent) map to
    ``"GEN_ERR"``, the catch-all error of RFC 3416."""
    status = int(status)
    if 0 <= status < len(PDU_ERROR_NAMES):
        return PDU_ERROR_NAMES[status]
    return "GEN_ERR"


def _int_data(kind: str) -> Callable[[Any, bool], Data]:
    def convert(value: Any, string_hex: bool) -> Data:
        return {"type": kind, "value": int(value)}

    return convert


#: Control characters (Unicode category Cc) an operator-readable string may not hold;
#: tab, line feed and carriage return are allowed.
_BINARY_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _string(value: Any, string_hex: bool) -> Data:
    """An OCTET STRING is ``STRING`` when it is readable text: valid UTF-8 without
    control characters other than tab, LF and CR; else (raw bytes such as a MAC
    address, or an OID listed in ``string_hex_oids``) ``STRING_HEX``."""
    octets: bytes = value.asOctets()
    if not string_hex:
        try:
            text = octets.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if text.isprintable() or _BINARY_CONTROLS.search(text) is None:
                return {"type": "STRING", "value": text}
    return {"type": "STRING_HEX", "value": octets.hex()}


def _object_id(value: Any, string_hex: bool) -> Data:
    return {"type": "OBJECT_ID", "value": ".".join(map(str, value.asTuple()))}


def _ip_address(value: Any, string_hex: bool) -> Data:
    octets: bytes = value.asOctets()
    if len(octets) == 4:
        return {"type": "IP_ADDRESS", "value": ".".join(map(str, octets))}
    # malformed (RFC 2578 fixes the size at 4): keep the bytes visible
    return {"type": "ARBITRARY", "value": octets.hex()}


def _arbitrary(value: Any, string_hex: bool) -> Data:
    return {"type": "ARBITRARY", "value": value.asOctets().hex()}


def _error(name: str) -> Callable[[Any, bool], Data]:
    data = {"type": "ERROR", "value": name}

    def convert(value: Any, string_hex: bool) -> Data:
        return dict(data)

    return convert


# One dict look-up per value on the hot path: the ASN.1 tag set identifies the
# SMI type exactly (Integer32 and INTEGER share one; Gauge32 and Unsigned32 too).
_BY_TAGSET: Final[dict[Any, Callable[[Any, bool], Data]]] = {
    rfc1902.Integer32.tagSet: _int_data("INTEGER"),
    rfc1902.Gauge32.tagSet: _int_data("UNSIGNED"),
    rfc1902.Counter32.tagSet: _int_data("COUNTER"),
    rfc1902.Counter64.tagSet: _int_data("BIG_COUNTER"),
    rfc1902.TimeTicks.tagSet: _int_data("TIME_TICKS"),
    rfc1902.OctetString.tagSet: _string,
    rfc1902.ObjectIdentifier.tagSet: _object_id,
    rfc1902.IpAddress.tagSet: _ip_address,
    rfc1902.Opaque.tagSet: _arbitrary,
    rfc1905.NoSuchObject.tagSet: _error("NO_SUCH_OBJECT"),
    rfc1905.NoSuchInstance.tagSet: _error("NO_SUCH_INSTANCE"),
    rfc1905.EndOfMibView.tagSet: _error("END_OF_MIB_VIEW"),
    univ.Null.tagSet: _error("EMPTY"),
}


def from_pysnmp(value: Any, *, string_hex: bool = False) -> Data:
    """Convert a pysnmp var-bind value to a data dict.

    Args:
        value: a pysnmp/pyasn1 value from a response var-bind (``Integer32``,
            ``OctetString``, ``Counter64``, ``NoSuchInstance``, ...).
        string_hex: the OID is listed in ``string_hex_oids``: an OCTET STRING becomes
            ``STRING_HEX`` instead of ``STRING``.

    Returns:
        ``{"type": TYPE, "value": VALUE}`` as in ``docs/events.md``: ints for the
        numeric types (``TIME_TICKS`` in hundredths of a second), text for the
        others, an error name for ``ERROR`` (``NO_SUCH_OBJECT``, ``NO_SUCH_INSTANCE``,
        ``END_OF_MIB_VIEW``, or ``EMPTY`` for a NULL value). A value of a type
        outside SMIv2 becomes ``ARBITRARY`` with the hex of its octets (or of its
        BER encoding). Never raises for a decoded pysnmp value.
    """
    convert = _BY_TAGSET.get(value.tagSet)
    if convert is not None:
        return convert(value, string_hex)
    return _fallback(value, string_hex)


def _fallback(value: Any, string_hex: bool) -> Data:
    # subtypes with extra tags, or types unknown to SMIv2
    for cls, convert in (
        (rfc1905.NoSuchObject, _BY_TAGSET[rfc1905.NoSuchObject.tagSet]),
        (rfc1905.NoSuchInstance, _BY_TAGSET[rfc1905.NoSuchInstance.tagSet]),
        (rfc1905.EndOfMibView, _BY_TAGSET[rfc1905.EndOfMibView.tagSet]),
        (univ.Null, _BY_TAGSET[univ.Null.tagSet]),
        (rfc1902.IpAddress, _ip_address),
        (rfc1902.Opaque, _arbitrary),
    ):
        if isinstance(value, cls):
            return convert(value, string_hex)
    as_octets = getattr(value, "asOctets", None)
    if callable(as_octets):
        return {"type": "ARBITRARY", "value": bytes(as_octets()).hex()}
    try:
        return {"type": "ARBITRARY", "value": bytes(ber_encoder.encode(value)).hex()}
    except Exception:
        return {"type": "ERROR", "value": "UNSPECIFIED"}


# -- data -> pysnmp ----------------------------------------------------------------


def _check_int(kind: str, value: object, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{kind} value must be an integer, not {type(value).__name__}")
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{kind} value {value} is out of range {low}..{high}")
    return value


def _check_str(kind: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{kind} value must be a string, not {type(value).__name__}")
    return value


def _check_octets(kind: str, octets: bytes) -> bytes:
    if len(octets) > _MAX_OCTETS:
        raise ValueError(f"{kind} value is {len(octets)} bytes long, above {_MAX_OCTETS}")
    return octets


def _hex_octets(kind: str, value: object) -> bytes:
    text = _check_str(kind, value)
    digits = "".join(text.replace(":", " ").split())
    try:
        octets = bytes.fromhex(digits)
    except ValueError:
        raise ValueError(f"{kind} value {text!r} is not hexadecimal bytes") from None
    return _check_octets(kind, octets)


def to_pysnmp(data: Mapping[str, object]) -> Any:
    """Convert a data dict to a pysnmp value for a SET var-bind.

    Args:
        data: ``{"type": TYPE, "value": VALUE}`` with ``TYPE`` one of
            ``INTEGER`` (int, -2^31..2^31-1), ``UNSIGNED``, ``COUNTER``, ``TIME_TICKS``
            (int, 0..2^32-1; time ticks in hundredths of a second), ``BIG_COUNTER``
            (int, 0..2^64-1), ``STRING`` (text, sent as UTF-8), ``STRING_HEX`` and
            ``ARBITRARY`` (hex text; spaces and colons between bytes are allowed),
            ``OBJECT_ID`` (numeric OID text), ``IP_ADDRESS`` (dotted quad).

    Returns:
        The pysnmp value: ``Integer32``, ``Unsigned32``, ``Counter32``,
        ``Counter64``, ``TimeTicks``, ``OctetString``, ``ObjectIdentifier``,
        ``IpAddress`` or ``Opaque``.

    Raises:
        ValueError: with an operator-readable message: not a mapping, a missing or
            unknown type, ``ERROR`` (not writable), a value of the wrong Python type,
            out of range, not hex, not an OID, not an IPv4 address, or octets longer
            than 65535 bytes.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"SNMP data must be a mapping with 'type' and 'value', not {data!r}")
    kind = data.get("type")
    if "value" not in data:
        raise ValueError("SNMP data has no 'value'")
    value = data["value"]
    if kind == "INTEGER":
        return rfc1902.Integer32(_check_int(kind, value, _INT32))
    if kind == "UNSIGNED":
        return rfc1902.Unsigned32(_check_int(kind, value, _UINT32))
    if kind == "COUNTER":
        return rfc1902.Counter32(_check_int(kind, value, _UINT32))
    if kind == "BIG_COUNTER":
        return rfc1902.Counter64(_check_int(kind, value, _UINT64))
    if kind == "TIME_TICKS":
        return rfc1902.TimeTicks(_check_int(kind, value, _UINT32))
    if kind == "STRING":
        text = _check_str(kind, value)
        return rfc1902.OctetString(_check_octets(kind, text.encode("utf-8")))
    if kind == "STRING_HEX":
        return rfc1902.OctetString(_hex_octets(kind, value))
    if kind == "ARBITRARY":
        return rfc1902.Opaque(_hex_octets(kind, value))
    if kind == "OBJECT_ID":
        return rfc1902.ObjectIdentifier(parse_oid(_check_str(kind, value)))
    if kind == "IP_ADDRESS":
        text = _check_str(kind, value)
        try:
            address = ipaddress.IPv4Address(text.strip())
        except ValueError:
            raise ValueError(f"IP_ADDRESS value {text!r} is not an IPv4 address") from None
        return rfc1902.IpAddress(address.packed)
    if kind == "ERROR":
        raise ValueError("ERROR data cannot be written to an agent")
    if kind is None:
        raise ValueError("SNMP data has no 'type'")
    raise ValueError(f"unknown SNMP data type {kind!r}; expected one of {', '.join(DATA_TYPES)}")
