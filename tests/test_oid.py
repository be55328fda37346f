"""The numeric OID rules (console/oid.py), shared by the configuration loader and the
SNMP backend: accepted texts, their normal form, and the exact rejection messages."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import console.config
import console.snmp
import console.snmp.codec
from console.oid import MAX_ARC, MAX_ARCS, MIN_ARCS, format_oid, normalize_oid, parse_oid

MANY = ".".join(["1"] * 129)
HUGE_ARC = "1.3." + "9" * 5000


@pytest.mark.parametrize(
    ("text", "arcs", "normal"),
    [
        ("1.3.6.1.2.1.1.5.0", (1, 3, 6, 1, 2, 1, 1, 5, 0), "1.3.6.1.2.1.1.5.0"),
        (".1.3.6.1", (1, 3, 6, 1), "1.3.6.1"),
        ("0.0", (0, 0), "0.0"),
        ("1.39", (1, 39), "1.39"),
        ("0.39", (0, 39), "0.39"),
        ("2.999.1", (2, 999, 1), "2.999.1"),
        ("1.3.0006", (1, 3, 6), "1.3.6"),
        ("1.3.000", (1, 3, 0), "1.3.0"),
        ("1.3.4294967295", (1, 3, MAX_ARC), "1.3.4294967295"),
        ("1.3.0004294967295", (1, 3, MAX_ARC), "1.3.4294967295"),
        (" 0.0 ", (0, 0), "0.0"),
        ("\t.1.3.6.1\n", (1, 3, 6, 1), "1.3.6.1"),
        (".".join(["1"] * 128), (1,) * 128, ".".join(["1"] * 128)),
    ],
)
def test_valid_oids(text: str, arcs: tuple[int, ...], normal: str) -> None:
    assert parse_oid(text) == arcs
    assert normalize_oid(text) == normal
    assert format_oid(arcs) == normal


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "'' is not a numeric OID: it is empty"),
        (".", "'.' is not a numeric OID: it is empty"),
        ("  ", "'  ' is not a numeric OID: it is empty"),
        ("1", "'1' is not a numeric OID: it needs at least two arcs, like 1.3"),
        (".1", "'.1' is not a numeric OID: it needs at least two arcs, like 1.3"),
        ("1.3.x", "'1.3.x' is not a numeric OID: arc 3 ('x') is not a number"),
        ("x", "'x' is not a numeric OID: arc 1 ('x') is not a number"),
        ("1.-3", "'1.-3' is not a numeric OID: arc 2 ('-3') is negative"),
        ("1.+3", "'1.+3' is not a numeric OID: arc 2 ('+3') is not a number"),
        ("1.3.²", "'1.3.²' is not a numeric OID: arc 3 ('²') is not a number"),
        ("1.3.٣", "'1.3.٣' is not a numeric OID: arc 3 ('٣') is not a number"),
        ("1. 3", "'1. 3' is not a numeric OID: arc 2 (' 3') is not a number"),
        (
            "SNMPv2-MIB::sysDescr.0",
            "'SNMPv2-MIB::sysDescr.0' is not a numeric OID: "
            "arc 1 ('SNMPv2-MIB::sysDescr') is not a number",
        ),
        (
            "1..3",
            "'1..3' is not a numeric OID: arc 2 is empty (two dots in a row, or a trailing dot)",
        ),
        (
            "1.3.",
            "'1.3.' is not a numeric OID: arc 3 is empty (two dots in a row, or a trailing dot)",
        ),
        (
            "..1.3",
            "'..1.3' is not a numeric OID: arc 1 is empty (two dots in a row, or a trailing dot)",
        ),
        ("3.1", "'3.1' is not a numeric OID: the first arc must be 0, 1 or 2, not 3"),
        (
            "1.40",
            "'1.40' is not a numeric OID: the second arc must be 0..39 when the first is 1, not 40",
        ),
        (
            "0.40.1",
            "'0.40.1' is not a numeric OID: "
            "the second arc must be 0..39 when the first is 0, not 40",
        ),
        (
            "1.3.4294967296",
            "'1.3.4294967296' is not a numeric OID: arc 3 (4294967296) is larger than 4294967295",
        ),
        (
            HUGE_ARC,
            f"'{HUGE_ARC[:117]}...' is not a numeric OID: "
            "arc 3 (99999999999999999...) is larger than 4294967295",
        ),
        (
            MANY,
            f"'{MANY[:117]}...' is not a numeric OID: it has 129 arcs, more than the 128 allowed",
        ),
    ],
)
def test_invalid_oids_name_the_text_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"is not a numeric OID") as info:
        parse_oid(text)
    assert str(info.value) == message
    with pytest.raises(ValueError, match=r"is not a numeric OID") as info:
        normalize_oid(text)
    assert str(info.value) == message


def test_non_strings_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"^123 is not a numeric OID: expected a string, not int$"):
        parse_oid(123)  # type: ignore[arg-type]


def test_format_oid_does_not_validate() -> None:
    # prefixes and index suffixes are formatted too (the MIB resolver needs them)
    assert format_oid((1,)) == "1"
    assert format_oid([99, 0]) == "99.0"
    assert format_oid(()) == ""


def test_limits() -> None:
    assert (MIN_ARCS, MAX_ARCS, MAX_ARC) == (2, 128, 4294967295)


@pytest.mark.parametrize("module", [console.config, console.snmp.codec, console.snmp])
def test_callers_re_export_the_one_implementation(module: ModuleType) -> None:
    assert module.normalize_oid is normalize_oid
    assert "normalize_oid" in module.__all__
    if module is not console.config:
        assert module.parse_oid is parse_oid
        assert module.format_oid is format_oid


def test_oid_module_is_pure_python() -> None:
    code = (
        "import sys, console.oid; "
        "print(sorted(m for m in ('pysnmp', 'pyasn1', 'textual') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
