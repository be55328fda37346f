"""Unit tests of console.snmp.codec (pysnmp values <-> data dicts). The OID rules
(console.oid) are tested in tests/test_oid.py, MIB names (console.snmp.mib) in
tests/test_mib.py."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905

from console.snmp import codec
from console.snmp.codec import (
    DATA_TYPES,
    ERROR_NAMES,
    PDU_ERROR_NAMES,
    error_data,
    from_pysnmp,
    pdu_error_name,
    to_pysnmp,
)

# -- pysnmp -> data -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (rfc1902.Integer32(-42), {"type": "INTEGER", "value": -42}),
        (rfc1902.Integer(7), {"type": "INTEGER", "value": 7}),
        (univ.Integer(2**31 - 1), {"type": "INTEGER", "value": 2**31 - 1}),
        (rfc1902.Gauge32(10_000_000), {"type": "UNSIGNED", "value": 10_000_000}),
        (rfc1902.Unsigned32(2**32 - 1), {"type": "UNSIGNED", "value": 2**32 - 1}),
        (rfc1902.Counter32(3193), {"type": "COUNTER", "value": 3193}),
        (rfc1902.Counter64(2**64 - 1), {"type": "BIG_COUNTER", "value": 2**64 - 1}),
        (rfc1902.TimeTicks(12345), {"type": "TIME_TICKS", "value": 12345}),
        (rfc1902.OctetString(b"Linux sw1"), {"type": "STRING", "value": "Linux sw1"}),
        (rfc1902.OctetString("żółw".encode()), {"type": "STRING", "value": "żółw"}),
        (rfc1902.OctetString(b"a\tb\r\n"), {"type": "STRING", "value": "a\tb\r\n"}),
        (rfc1902.OctetString("żółw\u00a0".encode()), {"type": "STRING", "value": "żółw\u00a0"}),
        (rfc1902.OctetString(b""), {"type": "STRING", "value": ""}),
        # not readable text: invalid UTF-8, or control characters other than \t \n \r
        (rfc1902.OctetString(b"a\xffb"), {"type": "STRING_HEX", "value": "61ff62"}),
        (rfc1902.OctetString(b"\x00\x1a+<M^"), {"type": "STRING_HEX", "value": "001a2b3c4d5e"}),
        (rfc1902.OctetString(b"ok\x1b[2J"), {"type": "STRING_HEX", "value": "6f6b1b5b324a"}),
        (rfc1902.OctetString(b"\x7f"), {"type": "STRING_HEX", "value": "7f"}),
        (rfc1902.OctetString("\u0085".encode()), {"type": "STRING_HEX", "value": "c285"}),
        (rfc1902.Bits(b"\x80"), {"type": "STRING_HEX", "value": "80"}),
        (
            rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
            {"type": "OBJECT_ID", "value": "1.3.6.1.4.1.8072.3.2.10"},
        ),
        (rfc1902.IpAddress("192.0.2.7"), {"type": "IP_ADDRESS", "value": "192.0.2.7"}),
        (
            rfc1902.Opaque(b"\x9f\x78\x04\x3e\x09\x80\x00"),
            {"type": "ARBITRARY", "value": "9f78043e098000"},
        ),
        (rfc1905.NoSuchObject(""), {"type": "ERROR", "value": "NO_SUCH_OBJECT"}),
        (rfc1905.noSuchObject, {"type": "ERROR", "value": "NO_SUCH_OBJECT"}),
        (rfc1905.noSuchInstance, {"type": "ERROR", "value": "NO_SUCH_INSTANCE"}),
        (rfc1905.endOfMibView, {"type": "ERROR", "value": "END_OF_MIB_VIEW"}),
        (rfc1905.unSpecified, {"type": "ERROR", "value": "EMPTY"}),
        (univ.Null(""), {"type": "ERROR", "value": "EMPTY"}),
    ],
)
def test_from_pysnmp_maps_every_type(value: object, expected: dict[str, object]) -> None:
    assert from_pysnmp(value) == expected


def test_from_pysnmp_string_hex() -> None:
    value = rfc1902.OctetString(b"\x9a\xdc\xf2\x16\x05\xd5")
    assert from_pysnmp(value, string_hex=True) == {"type": "STRING_HEX", "value": "9adcf21605d5"}
    # string_hex only changes OCTET STRINGs
    assert from_pysnmp(rfc1902.Integer32(1), string_hex=True) == {"type": "INTEGER", "value": 1}


def test_from_pysnmp_unknown_types_become_arbitrary() -> None:
    assert from_pysnmp(univ.OctetString(b"\x01\x02").subtype(implicitTag=_app_tag(9))) == {
        "type": "ARBITRARY",
        "value": "0102",
    }
    # a value with no octets of its own is BER-encoded
    data = from_pysnmp(univ.Boolean(True))
    assert data == {"type": "ARBITRARY", "value": "010101"}


def _app_tag(number: int) -> object:
    from pyasn1.type import tag

    return tag.Tag(tag.tagClassApplication, tag.tagFormatSimple, number)


def test_from_pysnmp_values_are_fresh_dicts() -> None:
    first = from_pysnmp(rfc1905.noSuchObject)
    first["value"] = "tampered"
    assert from_pysnmp(rfc1905.noSuchObject)["value"] == "NO_SUCH_OBJECT"


def test_opaque_float_is_the_raw_opaque_payload() -> None:
    payload = b"\x9f\x78\x04" + struct.pack(">f", 0.5)
    data = from_pysnmp(rfc1902.Opaque(payload))
    assert data["type"] == "ARBITRARY"
    assert struct.unpack(">f", bytes.fromhex(str(data["value"]))[3:])[0] == 0.5


# -- error names ---------------------------------------------------------------------

RFC3416_ERROR_STATUS = [
    (1, "TOO_BIG"),
    (2, "NO_SUCH_NAME"),
    (3, "BAD_VALUE"),
    (4, "READ_ONLY"),
    (5, "GEN_ERR"),
    (6, "NO_ACCESS"),
    (7, "WRONG_TYPE"),
    (8, "WRONG_LENGTH"),
    (9, "WRONG_ENCODING"),
    (10, "WRONG_VALUE"),
    (11, "NO_CREATION"),
    (12, "INCONSISTENT_VALUE"),
    (13, "RESOURCE_UNAVAILABLE"),
    (14, "COMMIT_FAILED"),
    (15, "UNDO_FAILED"),
    (16, "AUTHORIZATION_ERROR"),
    (17, "NOT_WRITABLE"),
    (18, "INCONSISTENT_NAME"),
]


@pytest.mark.parametrize(("status", "name"), RFC3416_ERROR_STATUS)
def test_pdu_error_names_follow_rfc3416(status: int, name: str) -> None:
    assert pdu_error_name(status) == name
    assert error_data(name) == {"type": "ERROR", "value": name}
    assert name in ERROR_NAMES


def test_pdu_error_names_match_pysnmp() -> None:
    from pysnmp.proto.rfc1905 import errorStatus

    for status, name in RFC3416_ERROR_STATUS:
        camel = errorStatus.namedValues.getName(status)
        assert name == "".join("_" + c if c.isupper() else c.upper() for c in camel)


def test_pdu_error_name_of_unknown_status_is_gen_err() -> None:
    assert pdu_error_name(99) == "GEN_ERR"
    assert pdu_error_name(0) == "NO_ERROR"
    assert "NO_ERROR" not in ERROR_NAMES


@pytest.mark.parametrize(
    "name", ["NO_SUCH_OBJECT", "NO_SUCH_INSTANCE", "END_OF_MIB_VIEW", "EMPTY", "UNSPECIFIED"]
)
def test_value_error_names(name: str) -> None:
    assert error_data(name) == {"type": "ERROR", "value": name}


def test_error_data_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="not an SNMP error name"):
        error_data("OOPS")


def test_catalog_of_types() -> None:
    assert DATA_TYPES == (
        "INTEGER",
        "UNSIGNED",
        "COUNTER",
        "BIG_COUNTER",
        "TIME_TICKS",
        "STRING",
        "STRING_HEX",
        "OBJECT_ID",
        "IP_ADDRESS",
        "ARBITRARY",
        "ERROR",
    )
    assert len(PDU_ERROR_NAMES) == 19


# -- data -> pysnmp -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        ({"type": "INTEGER", "value": -(2**31)}, rfc1902.Integer32, -(2**31)),
        ({"type": "INTEGER", "value": 2**31 - 1}, rfc1902.Integer32, 2**31 - 1),
        ({"type": "UNSIGNED", "value": 2**32 - 1}, rfc1902.Unsigned32, 2**32 - 1),
        ({"type": "COUNTER", "value": 0}, rfc1902.Counter32, 0),
        ({"type": "BIG_COUNTER", "value": 2**64 - 1}, rfc1902.Counter64, 2**64 - 1),
        ({"type": "TIME_TICKS", "value": 100}, rfc1902.TimeTicks, 100),
    ],
)
def test_to_pysnmp_integers(data: dict[str, object], cls: Any, expected: int) -> None:
    value = to_pysnmp(data)
    assert value.tagSet == cls.tagSet
    assert int(value) == expected


def test_to_pysnmp_octets_and_addresses() -> None:
    assert to_pysnmp({"type": "STRING", "value": "żółw"}).asOctets() == "żółw".encode()
    hex_value = to_pysnmp({"type": "STRING_HEX", "value": "9a:dc f2 16"})
    assert hex_value.tagSet == rfc1902.OctetString.tagSet
    assert hex_value.asOctets() == b"\x9a\xdc\xf2\x16"
    opaque = to_pysnmp({"type": "ARBITRARY", "value": "9f7804"})
    assert opaque.tagSet == rfc1902.Opaque.tagSet
    assert opaque.asOctets() == b"\x9f\x78\x04"
    oid = to_pysnmp({"type": "OBJECT_ID", "value": ".1.3.6.1.4.1.8072"})
    assert tuple(oid) == (1, 3, 6, 1, 4, 1, 8072)
    address = to_pysnmp({"type": "IP_ADDRESS", "value": "192.0.2.1"})
    assert address.tagSet == rfc1902.IpAddress.tagSet
    assert address.asOctets() == bytes([192, 0, 2, 1])


@pytest.mark.parametrize(
    "data",
    [
        {"type": "INTEGER", "value": 5},
        {"type": "UNSIGNED", "value": 5},
        {"type": "COUNTER", "value": 5},
        {"type": "BIG_COUNTER", "value": 2**40},
        {"type": "TIME_TICKS", "value": 5},
        {"type": "STRING", "value": "héllo"},
        {"type": "STRING_HEX", "value": "00ff10"},
        {"type": "OBJECT_ID", "value": "1.3.6.1.2.1"},
        {"type": "IP_ADDRESS", "value": "10.0.0.1"},
        {"type": "ARBITRARY", "value": "9f780400000000"},
    ],
)
def test_round_trip(data: dict[str, object]) -> None:
    assert from_pysnmp(to_pysnmp(data), string_hex=data["type"] == "STRING_HEX") == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "INTEGER", "value": 2**31}, "INTEGER value 2147483648 is out of range"),
        ({"type": "INTEGER", "value": -(2**31) - 1}, "out of range -2147483648..2147483647"),
        ({"type": "UNSIGNED", "value": -1}, "UNSIGNED value -1 is out of range 0..4294967295"),
        ({"type": "UNSIGNED", "value": 2**32}, "out of range 0..4294967295"),
        ({"type": "COUNTER", "value": 2**32}, "COUNTER value 4294967296 is out of range"),
        ({"type": "TIME_TICKS", "value": -5}, "TIME_TICKS value -5 is out of range"),
        ({"type": "BIG_COUNTER", "value": 2**64}, "out of range 0..18446744073709551615"),
        ({"type": "INTEGER", "value": "5"}, "INTEGER value must be an integer, not str"),
        ({"type": "COUNTER", "value": True}, "must be an integer, not bool"),
        ({"type": "INTEGER", "value": 1.5}, "must be an integer, not float"),
        ({"type": "STRING", "value": 5}, "STRING value must be a string, not int"),
        ({"type": "STRING", "value": "x" * 65536}, "65536 bytes long, above 65535"),
        ({"type": "STRING_HEX", "value": "zz"}, "STRING_HEX value 'zz' is not hexadecimal"),
        ({"type": "STRING_HEX", "value": "abc"}, "is not hexadecimal bytes"),
        ({"type": "ARBITRARY", "value": "0x12"}, "ARBITRARY value '0x12' is not hexadecimal"),
        (
            {"type": "OBJECT_ID", "value": "1.3.x"},
            "'1.3.x' is not a numeric OID: arc 3 ('x') is not a number",
        ),
        ({"type": "IP_ADDRESS", "value": "300.1.1.1"}, "'300.1.1.1' is not an IPv4 address"),
        ({"type": "IP_ADDRESS", "value": "::1"}, "is not an IPv4 address"),
        ({"type": "ERROR", "value": "GEN_ERR"}, "ERROR data cannot be written"),
        ({"type": "FLOAT", "value": 1}, "unknown SNMP data type 'FLOAT'"),
        ({"value": 1}, "SNMP data has no 'type'"),
        ({"type": "INTEGER"}, "SNMP data has no 'value'"),
    ],
)
def test_to_pysnmp_rejects_with_a_readable_message(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        to_pysnmp(data)
    assert message in str(info.value)


def test_to_pysnmp_rejects_non_mappings() -> None:
    with pytest.raises(ValueError, match="must be a mapping"):
        to_pysnmp([1, 2])  # type: ignore[arg-type]


def test_module_exports() -> None:
    for name in codec.__all__:
        assert hasattr(codec, name)
