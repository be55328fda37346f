"""RFC 2579 §3.1 DISPLAY-HINTs, enumerations, BITS, InetAddress and UNITS
(:mod:`console.displayhint`), one test per rule of the RFC, with the RFC's own
examples and the textual conventions of the IETF MIBs that use each form."""

from __future__ import annotations

import pytest

from console.displayhint import (
    HintError,
    OctetSpec,
    bits_labels,
    enum_label,
    inet_address,
    integer_by_hint,
    octets_by_hint,
    parse_octet_hint,
    with_units,
)

DATE_AND_TIME = "2d-1d-1d,1d:1d:1d.1d,1a1d:1d"


def test_date_and_time_is_the_rfc_example() -> None:
    """RFC 2579's DateAndTime DESCRIPTION: Tuesday May 26, 1992 at 1:30:15 PM EDT
    "would be displayed as: 1992-5-26,13:30:15.0,-4:0"."""
    octets = bytes([0x07, 0xC8, 5, 26, 13, 30, 15, 0, ord("-"), 4, 0])
    assert octets_by_hint(DATE_AND_TIME, octets) == "1992-5-26,13:30:15.0,-4:0"


def test_date_and_time_without_its_zone_ignores_the_specifications_left() -> None:
    """DateAndTime's 8-octet form: "If the octets of the value are exhausted before
    all the octet-format specification have been used, then the excess
    specifications are ignored" (no trailing ``,``)."""
    octets = bytes([0x07, 0xC8, 5, 26, 13, 30, 15, 0])
    assert octets_by_hint(DATE_AND_TIME, octets) == "1992-5-26,13:30:15.0"


def test_mac_address_one_hex_octet_with_a_separator() -> None:
    """MacAddress / PhysAddress ``1x:``: the separator after each octet but the last
    (never the last character of the display); two digits per octet."""
    assert octets_by_hint("1x:", bytes.fromhex("000c29a45b07")) == "00:0c:29:a4:5b:07"
    assert octets_by_hint("1x:", b"") == ""


def test_display_string_255a_and_utf8_255t() -> None:
    """DisplayString ``255a``; SnmpAdminString ``255t`` (UTF-8, RFC 3411)."""
    assert octets_by_hint("255a", b"Linux sw1 5.10") == "Linux sw1 5.10"
    assert octets_by_hint("255t", "Zürich été".encode()) == "Zürich été"


def test_the_last_specification_is_reused_for_the_octets_left() -> None:
    """ "If additional octets remain in the value after interpreting all the
    octet-format specifications, then the last octet-format specification is
    re-interpreted": ``1d.`` on five octets, and ``255a`` on 300."""
    assert octets_by_hint("1d.", bytes([10, 0, 0, 1, 255])) == "10.0.0.1.255"
    assert octets_by_hint("255a", b"x" * 300) == "x" * 300
    # the whole hint is not restarted: 1d.1d%4d on 2+4+4 octets
    assert octets_by_hint("1d.1d%4d", bytes([1, 2, 0, 0, 0, 3, 0, 0, 0, 4])) == "1.2%34"


def test_multi_octet_numbers_are_big_endian_and_a_short_tail_uses_what_is_left() -> None:
    """``2d``: two octets a number, most significant first; "If less than this number
    of octets remain in the value, then the lesser number of octets are used"."""
    assert octets_by_hint("2d", bytes.fromhex("0001ff00010203")) == "1652802583"
    assert octets_by_hint("4x", bytes.fromhex("0000000fdeadbeef01")) == "0000000fdeadbeef01"
    assert octets_by_hint("1o ", bytes([7, 8, 255])) == "7 10 377"


def test_the_repeat_indicator_separator_and_terminator() -> None:
    """``*``: the next octet is the repeat count; the separator follows each
    application "however, this character is not produced for display if it would be
    immediately followed by the display of the repeat terminator character"; the
    terminator follows all the repetitions."""
    hint = "*1x:/1d."
    assert octets_by_hint(hint, bytes.fromhex("03aabbcc0102")) == "aa:bb:cc/1.2"
    # a repeat count of zero: no item, the terminator alone
    assert octets_by_hint(hint, bytes.fromhex("000102")) == "/1.2"
    # the count runs past the value: the repetitions stop with the octets
    assert octets_by_hint(hint, bytes.fromhex("05aabb")) == "aa:bb"


def test_zone_and_grouped_hex_forms_of_inet_address_tcs() -> None:
    """INET-ADDRESS-MIB's InetAddressIPv4z ``1d.1d.1d.1d%4d`` and a UUID-like
    grouping (``4x-2x-2x-1x1x-6x``): each group zero-padded to its octets."""
    assert octets_by_hint("1d.1d.1d.1d%4d", bytes.fromhex("0a00000100000003")) == "10.0.0.1%3"
    uuid = bytes.fromhex("0123456789abcdef0123456789abcdef")
    assert octets_by_hint("4x-2x-2x-1x1x-6x", uuid) == "01234567-89ab-cdef-0123-456789abcdef"


def test_parsing_the_five_parts() -> None:
    assert parse_octet_hint("*1x:/1d.") == (
        OctetSpec(repeat=True, length=1, format="x", separator=":", terminator="/"),
        OctetSpec(repeat=False, length=1, format="d", separator=".", terminator=""),
    )
    # a terminator only with a repeat indicator: here ',' starts... nothing, it is
    # a separator followed by the next specification
    assert parse_octet_hint("1d,1a")[0].terminator == ""


@pytest.mark.parametrize("hint", ["", "x", "1", "1q", "*", "1d*"])
def test_malformed_octet_hints_raise_hint_error(hint: str) -> None:
    with pytest.raises(HintError, match="DISPLAY-HINT"):
        octets_by_hint(hint, b"\x01\x02")


def test_a_last_specification_of_length_zero_is_refused() -> None:
    """``0a`` uses no octet: reused for the octets left it would never end, so the
    hint does not fit the value (the caller shows the raw value instead)."""
    assert octets_by_hint("1d-0a", bytes([1])) == "1"
    with pytest.raises(HintError, match="uses no octet"):
        octets_by_hint("1d-0a", bytes([1, 2]))


def test_integer_fixed_point() -> None:
    """``d-2``: "an implied decimal point" two digits from the right; the RFC's
    rule for negatives: the minus sign right before the digits."""
    assert integer_by_hint("d-2", 1234) == "12.34"
    assert integer_by_hint("d-2", 5) == "0.05"
    assert integer_by_hint("d-2", -5) == "-0.05"
    assert integer_by_hint("d-3", 123456) == "123.456"
    assert integer_by_hint("d-0", 7) == "7"
    assert integer_by_hint("d", -3) == "-3"
    # exact, not through a float
    assert integer_by_hint("d-2", 2**53 + 1) == "90071992547409.93"


def test_integer_hex_octal_binary_omit_leading_zeros() -> None:
    """ "leading zeros are omitted, and for negative values, a minus sign is rendered
    immediately before the digits"."""
    assert integer_by_hint("x", 255) == "ff"
    assert integer_by_hint("x", -255) == "-ff"
    assert integer_by_hint("o", 8) == "10"
    assert integer_by_hint("b", 5) == "101"
    assert integer_by_hint("b", 0) == "0"


@pytest.mark.parametrize("hint", ["x-2", "d-", "d-x", "255a", "q", ""])
def test_malformed_integer_hints_raise_hint_error(hint: str) -> None:
    with pytest.raises(HintError, match="DISPLAY-HINT"):
        integer_by_hint(hint, 1)


def test_enumerations_as_net_snmp_prints_them() -> None:
    names = {1: "up", 2: "down", 3: "testing"}
    assert enum_label(1, names) == "up(1)"
    assert enum_label(7, names) == "7"  # a value the MIB does not name


def test_bits_by_name_most_significant_bit_first() -> None:
    """RFC 2578 §7.1.4: bit 0 is the first octet's most significant bit."""
    names = {0: "zero", 2: "two", 9: "nine"}
    assert bits_labels(bytes.fromhex("a040"), names) == "zero(0) two(2) nine(9)"
    assert bits_labels(bytes.fromhex("0008"), names) == "12"
    assert bits_labels(b"\x00", names) == ""


def test_inet_address_by_its_type_and_by_its_length() -> None:
    """RFC 4001: the InetAddressType says how to read the octets; RFC 5952 text for
    IPv6."""
    v6 = bytes.fromhex("fe80000000000000021279fffe62f940")
    assert inet_address(v6, 2) == "fe80::212:79ff:fe62:f940"
    assert inet_address(bytes([10, 0, 0, 1]), 1) == "10.0.0.1"
    assert inet_address(bytes([10, 0, 0, 1, 0, 0, 0, 3]), 3) == "10.0.0.1%3"
    assert inet_address(v6 + bytes([0, 0, 0, 4]), 4) == "fe80::212:79ff:fe62:f940%4"
    assert inet_address(b"ntp.example.org", 16) == "ntp.example.org"
    assert inet_address(b"", 0) == ""
    # no type (or unknown(0)): by the length
    assert inet_address(bytes([192, 0, 2, 1])) == "192.0.2.1"
    assert inet_address(v6) == "fe80::212:79ff:fe62:f940"
    # a length that does not fit the type: the bytes, not a wrong address
    assert inet_address(bytes([1, 2, 3]), 1) == "01 02 03"


def test_units_follow_the_value() -> None:
    """Net-SNMP prints ``INTEGER: 5 seconds``."""
    assert with_units("5", "seconds") == "5 seconds"
    assert with_units("5", None) == "5"
