"""Display formatting: values, counters, times (console/format.py, no Textual)."""

from __future__ import annotations

import re
import struct
from datetime import UTC, timedelta, timezone

import pytest

from console.format import (
    MISSING,
    Clock,
    decode_opaque_float,
    editable_text,
    format_count,
    format_counter_rate,
    format_duration,
    format_hex,
    format_mib_name,
    format_ms,
    format_rate,
    format_snmp_version,
    format_timeticks,
    format_value,
    oid_sort_key,
    parse_value_text,
    printable,
    truncate,
)

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.mark.parametrize(
    ("ticks", "text"),
    [
        (0, "0d 00:00:00.00"),
        (1, "0d 00:00:00.01"),
        (100, "0d 00:00:01.00"),
        (6_000, "0d 00:01:00.00"),
        (360_000, "0d 01:00:00.00"),
        (8_640_000, "1d 00:00:00.00"),
        (8_640_000 + 366_012, "1d 01:01:00.12"),
        (2**32 - 1, "497d 02:27:52.95"),
        (-150, "-0d 00:00:01.50"),
    ],
)
def test_timeticks(ticks: int, text: str) -> None:
    assert format_timeticks(ticks) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (1000, "1,000"), (1_234_567, "1,234,567"), (-42_000, "-42,000")],
)
def test_count_has_thousands_separators(value: int, text: str) -> None:
    assert format_count(value) == text


def test_missing_numbers_show_a_dash() -> None:
    assert format_count(None) == MISSING
    assert format_ms(None) == MISSING


def test_ms_has_one_decimal() -> None:
    assert format_ms(3.14159) == "3.1"
    assert format_ms(1234.56) == "1,234.6"


def test_rate() -> None:
    assert format_rate(None) == "—/s"
    assert format_rate(0.25) == "0.2/s"
    assert format_rate(3.0) == "3.0/s"
    assert format_rate(1234.4) == "1,234/s"


def test_hex_is_grouped_in_bytes() -> None:
    assert format_hex("001a2b3c4d5e") == "00 1a 2b 3c 4d 5e"
    assert format_hex("DEADBEEF") == "de ad be ef"
    assert format_hex("") == ""


def test_duration() -> None:
    assert format_duration(0) == "0s"
    assert format_duration(59.9) == "59s"
    assert format_duration(185) == "3m05s"
    assert format_duration(2 * 3600 + 7 * 60) == "2h07m"
    assert format_duration(4 * 86400 + 3 * 3600) == "4d03h"


def test_snmp_version() -> None:
    assert format_snmp_version("V2C") == "v2c"
    assert format_snmp_version("V1") == "v1"


def test_printable_escapes_control_characters() -> None:
    assert printable("plain text") == "plain text"
    assert printable("a\r\nb\tc") == "a\\r\\nb\\tc"
    assert printable("\x1b[31mred") == "\\x1b[31mred"
    assert printable("caf\u00e9 \u2603") == "caf\u00e9 \u2603"


def test_truncate() -> None:
    assert truncate("abcdef", None) == "abcdef"
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abcdef", 1) == "…"
    assert truncate("abcdef", 0) == ""


@pytest.mark.parametrize(
    ("data_type", "value", "text"),
    [
        ("TIME_TICKS", 12_345, "0d 00:02:03.45"),
        ("COUNTER", 4_294_967_295, "4,294,967,295"),
        ("BIG_COUNTER", 18_446_744_073_709_551_615, "18,446,744,073,709,551,615"),
        ("UNSIGNED", 1_000_000_000, "1,000,000,000"),
        ("INTEGER", -93, "-93"),
        ("INTEGER", 100_000, "100000"),
        ("STRING", "Linux sw1\r\n5.10", "Linux sw1\\r\\n5.10"),
        ("STRING", "[bold]not markup[/]", "[bold]not markup[/]"),
        ("STRING_HEX", "00a1ff", "00 a1 ff"),
        ("ARBITRARY", "0102", "01 02"),
        ("OBJECT_ID", "1.3.6.1.4.1.8072", "1.3.6.1.4.1.8072"),
        ("IP_ADDRESS", "192.0.2.1", "192.0.2.1"),
        ("ERROR", "NO_SUCH_OBJECT", "NO_SUCH_OBJECT"),
        ("COUNTER", None, MISSING),
        ("SOMETHING_NEW", [1, 2], "[1, 2]"),
        ("TIME_TICKS", True, "True"),
    ],
)
def test_value(data_type: str, value: object, text: str) -> None:
    assert format_value(data_type, value, width=None) == text  # type: ignore[arg-type]


def test_value_is_cut_to_width() -> None:
    assert format_value("STRING", "x" * 100, width=10) == "x" * 9 + "…"


def test_oid_sort_key_is_numeric() -> None:
    oids = ["1.3.6.1.2.1.2.2.1.10.1", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2"]
    assert sorted(oids, key=oid_sort_key) == [
        "1.3.6.1.2",
        "1.3.6.1.2.1.1.3.0",
        "1.3.6.1.2.1.2.2.1.2.1",
        "1.3.6.1.2.1.2.2.1.10.1",
    ]
    assert oid_sort_key("1.x") > oid_sort_key("1.999")


def test_clock_time_of_day_in_its_zone() -> None:
    utc = Clock(now=lambda: T0, tz=UTC)
    assert utc.time_of_day(T0) == "22:13:20"
    assert utc.time_of_day(None) == MISSING
    plus_two = Clock(now=lambda: T0, tz=timezone(timedelta(hours=2)))
    assert plus_two.time_of_day(T0) == "00:13:20"


def test_clock_age_uses_its_now() -> None:
    clock = Clock(now=lambda: T0, tz=UTC)
    assert clock.age(T0 - 185) == "3m05s"
    assert clock.age(T0 + 10) == "0s"
    assert clock.age(None) == MISSING


def test_mib_name_fits_its_width() -> None:
    name = "UPS-MIB::upsEstimatedMinutesRemaining.0"
    assert format_mib_name(name, None) == name
    assert format_mib_name(name, 40) == name
    assert format_mib_name(name, 30) == "upsEstimatedMinutesRemaining.0"
    assert format_mib_name(name, 12) == "…Remaining.0"
    assert format_mib_name(None, 10) == ""
    assert format_mib_name("", 10) == ""


# -- opaque floats, counter rates, operator input ----------------------------------------


def _opaque(fmt: str, tag: str, number: float) -> str:
    return tag + struct.pack(fmt, number).hex()


@pytest.mark.parametrize(
    ("hex_value", "text"),
    [
        (_opaque(">f", "9f7804", 3.14159), "3.14159 (opaque float)"),
        (_opaque(">f", "9f7804", -0.5), "-0.5 (opaque float)"),
        (_opaque(">d", "9f7908", 2.718281828459045), "2.71828182846 (opaque double)"),
        ("9F780440490FD0", "3.14159 (opaque float)"),
        ("9f7804404910", "9f 78 04 40 49 10"),  # too short: plain bytes
        ("0102", "01 02"),
    ],
)
def test_opaque_floats_are_decoded_for_display(hex_value: str, text: str) -> None:
    assert format_value("ARBITRARY", hex_value) == text


def test_decode_opaque_float() -> None:
    assert decode_opaque_float(_opaque(">f", "9f7804", 0.25)) == 0.25
    assert decode_opaque_float(_opaque(">d", "9f7908", 1e300)) == 1e300
    assert decode_opaque_float("9f7804zzzzzzzz") is None
    assert decode_opaque_float("") is None
    # only ARBITRARY: the same bytes in a STRING_HEX are bytes
    assert format_value("STRING_HEX", _opaque(">f", "9f7804", 0.25)) == "9f 78 04 3e 80 00 00"


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (None, MISSING),
        (0.0, "0/s"),
        (0.25, "0.25/s"),
        (56.71, "56.7/s"),
        (1_234.4, "1,234/s"),
        (9_999.4, "9,999/s"),
        (12_345.0, "12.3k/s"),
        (835_313.0, "835k/s"),
        (999_960.0, "1.0M/s"),
        (34_723_736.2, "34.7M/s"),
        (1.25e9, "1.2G/s"),
        (2.0**64, "18.4E/s"),
    ],
)
def test_counter_rate_text(rate: float | None, text: str) -> None:
    assert format_counter_rate(rate) == text


def test_counter_rate_in_full() -> None:
    assert format_counter_rate(34_723_736.2, compact=False) == "34,723,736/s"
    assert format_counter_rate(56.71, compact=False) == "56.7/s"


@pytest.mark.parametrize(
    ("data_type", "text", "value"),
    [
        ("INTEGER", " -42 ", -42),
        ("UNSIGNED", "1,000,000", 1_000_000),
        ("BIG_COUNTER", "18_446_744_073_709_551_615", 2**64 - 1),
        ("TIME_TICKS", "12345", 12_345),
        ("TIME_TICKS", "1d 01:01:00.12", 8_640_000 + 366_012),
        ("TIME_TICKS", "00:01:00", 6_000),
        ("TIME_TICKS", "0d 00:00:01.5", 150),
        ("STRING", "  keep  spaces ", "  keep  spaces "),
        ("STRING_HEX", " 00 1a 2b ", "00 1a 2b"),
        ("IP_ADDRESS", " 192.0.2.1", "192.0.2.1"),
    ],
)
def test_parse_value_text(data_type: str, text: str, value: object) -> None:
    assert parse_value_text(data_type, text) == value


@pytest.mark.parametrize(
    ("data_type", "text", "message"),
    [
        ("INTEGER", "abc", "INTEGER value 'abc' is not an integer"),
        ("COUNTER", "1.5", "COUNTER value '1.5' is not an integer"),
        ("INTEGER", "", "INTEGER value '' is not an integer"),
        ("TIME_TICKS", "1 day", "is not an integer (hundredths of a second) or Nd hh:mm:ss.cc"),
    ],
)
def test_parse_value_text_rejects(data_type: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_value_text(data_type, text)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("INTEGER", -7),
        ("COUNTER", 4_294_967_295),
        ("TIME_TICKS", 8_640_000 + 366_012),
        ("STRING", "NOC <noc@example.net>"),
        ("STRING_HEX", "001a2b"),
        ("ARBITRARY", "9f780440490fd0"),
        ("OBJECT_ID", "1.3.6.1.4.1.8072"),
        ("IP_ADDRESS", "192.0.2.1"),
    ],
)
def test_editable_text_reads_back(data_type: str, value: object) -> None:
    text = editable_text(data_type, value)  # type: ignore[arg-type]
    parsed = parse_value_text(data_type, text)
    if data_type in {"STRING_HEX", "ARBITRARY"}:
        assert str(parsed).replace(" ", "") == value
    else:
        assert parsed == value


def test_editable_text_of_nothing_is_empty() -> None:
    assert editable_text("ERROR", "NO_SUCH_INSTANCE") == ""
    assert editable_text("STRING", None) == ""
    assert editable_text("INTEGER", 100_000) == "100000"  # no separators to edit
