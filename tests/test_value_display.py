"""Values formatted by their MIB (:mod:`console.snmpdisplay`) over real compiled
MIBs: IF-MIB from fleettop's vendored source and the DISPLAY-HINT test module
``tests/data/hintmibs/FLEETTOP-HINTS-MIB.txt``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmpdisplay import ValueFormatter, render

HINT_MIBS = Path(__file__).parent / "data" / "hintmibs"
HINTS = "1.3.6.1.4.1.32473.19.1"


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> MibResolver:
    cache = tmp_path_factory.mktemp("mibcache")
    found = MibResolver(mib_paths=[BASE_DIR, HINT_MIBS], cache_dir=cache)
    found.load()
    return found


@pytest.fixture
def formatter(resolver: MibResolver) -> ValueFormatter:
    return ValueFormatter(lambda: resolver.info)


def test_enumerations_hints_and_plain_values(formatter: ValueFormatter) -> None:
    show = formatter.display
    assert show("1.3.6.1.2.1.2.2.1.8.3", {"type": "INTEGER", "value": 2}) == "down(2)"
    assert show("1.3.6.1.2.1.2.2.1.7.3", {"type": "INTEGER", "value": 1}) == "up(1)"
    assert show("1.3.6.1.2.1.2.2.1.3.3", {"type": "INTEGER", "value": 6}) == "ethernetCsmacd(6)"
    mac = {"type": "STRING_HEX", "value": "000c29a45b07"}
    assert show("1.3.6.1.2.1.2.2.1.6.3", mac) == "00:0c:29:a4:5b:07"
    # no MIB object: as ever
    assert show("1.3.6.1.4.1.99999.1.0", mac) == "00 0c 29 a4 5b 07"
    counter = {"type": "COUNTER", "value": 1234567}
    assert show("1.3.6.1.2.1.2.2.1.10.3", counter) == "1,234,567"
    # an error stays an error, an unnamed enumeration value its number
    error = {"type": "ERROR", "value": "NO_SUCH_INSTANCE"}
    assert show("1.3.6.1.2.1.2.2.1.8.3", error) == "NO_SUCH_INSTANCE"
    assert show("1.3.6.1.2.1.2.2.1.8.3", {"type": "INTEGER", "value": 99}) == "99"


def test_units_and_hints_of_the_test_module(formatter: ValueFormatter) -> None:
    show = formatter.display
    assert show(f"{HINTS}.21.0", {"type": "INTEGER", "value": 5}) == "5 seconds"
    assert show(f"{HINTS}.23.0", {"type": "INTEGER", "value": 1234}) == "12.34 volts"
    date = {"type": "STRING_HEX", "value": "07c8051a0d1e0f002d0400"}
    assert show(f"{HINTS}.2.0", date) == "1992-5-26,13:30:15.0,-4:0"
    bits = {"type": "STRING_HEX", "value": "a040"}
    assert show(f"{HINTS}.20.0", bits) == "zero(0) two(2) nine(9)"


def test_a_hint_that_does_not_fit_the_value_falls_back(formatter: ValueFormatter) -> None:
    """An agent that answers an INTEGER where the MIB says OCTET STRING (a wrong
    type): the value as it came."""
    assert formatter.display(f"{HINTS}.1.0", {"type": "INTEGER", "value": 7}) == "7"


def test_width_and_missing(formatter: ValueFormatter) -> None:
    mac = {"type": "STRING_HEX", "value": "000c29a45b07"}
    assert formatter.display("1.3.6.1.2.1.2.2.1.6.3", mac, width=8) == "00:0c:2…"
    assert formatter.display("1.3.6.1.2.1.2.2.1.6.3", None) == "—"
    assert render(mac, None) == "00 0c 29 a4 5b 07"


def test_no_mib_loaded_shows_values_as_ever() -> None:
    formatter = ValueFormatter(lambda: None)
    assert formatter.display("1.3.6.1.2.1.2.2.1.8.3", {"type": "INTEGER", "value": 2}) == "2"


def test_inet_address_by_its_sibling_type() -> None:
    """RFC 4001: an InetAddress is read by the InetAddressType defined before it in
    its row; the caller passes the row as ``context``."""
    from console.snmp.mibmeta import MibObject, MibSyntax

    entry = (1, 3, 6, 1, 4, 1, 32473, 8, 1)
    kind = MibObject(
        "T", "tAddrType", (*entry, 2), "column", MibSyntax("INTEGER", "INTEGER", "InetAddressType")
    )
    addr = MibObject(
        "T", "tAddr", (*entry, 3), "column", MibSyntax("OCTET STRING", "STRING", "InetAddress")
    )
    other = MibObject(
        "T", "tOther", (*entry, 4), "column", MibSyntax("OCTET STRING", "STRING", "InetAddress")
    )

    class Info:
        def find(self, oid: str) -> tuple[MibObject, tuple[int, ...]] | None:
            arcs = tuple(int(a) for a in oid.split("."))
            for obj in (kind, addr, other):
                if arcs[: len(obj.oid)] == obj.oid:
                    return obj, arcs[len(obj.oid) :]
            return None

        instance_of = find  # every object here is a column with a SYNTAX

        def children(self, oid: tuple[int, ...]) -> list[MibObject]:
            return [kind, addr, other] if tuple(oid) == entry else []

    formatter = ValueFormatter(lambda: Info())  # type: ignore[arg-type,return-value]
    row = ".".join(map(str, entry))
    assert formatter.address_type_oid(f"{row}.3.7") == f"{row}.2.7"
    assert formatter.address_type_oid(f"{row}.4.7") == f"{row}.2.7"
    dns = {"type": "STRING", "value": "ntp.example.org"}
    v4 = {"type": "STRING_HEX", "value": "c0000201"}
    context = {f"{row}.2.7": {"type": "INTEGER", "value": 16}}
    assert formatter.display(f"{row}.3.7", dns, context=context) == "ntp.example.org"
    assert formatter.display(f"{row}.3.7", v4) == "192.0.2.1"  # by its length
    v6 = {"type": "STRING_HEX", "value": "fe80000000000000021279fffe62f940"}
    context = {f"{row}.2.7": {"type": "INTEGER", "value": 2}}
    assert formatter.display(f"{row}.3.7", v6, context=context) == "fe80::212:79ff:fe62:f940"


def test_table_cells_use_the_same_forms() -> None:
    """The grid (and the Interfaces view, IF-MIB built in without a MIB) shows values
    as every other screen: ``up(1)``, a MAC address by its hint."""
    from console.tables.index import format_cell
    from console.tables.schema import IF_TABLE, builtin_schema

    schema = builtin_schema(IF_TABLE)
    assert schema is not None
    status = schema.column("ifOperStatus")
    mac = schema.column("ifPhysAddress")
    speed = schema.column("ifSpeed")
    assert status is not None
    assert mac is not None
    assert speed is not None
    assert format_cell(status, "INTEGER", 2) == "down(2)"
    assert format_cell(mac, "STRING_HEX", "000c29a45b07") == "00:0c:29:a4:5b:07"
    assert format_cell(speed, "UNSIGNED", 1000000000) == "1000000000"
    assert format_cell(status, "ERROR", "NO_SUCH_INSTANCE") == "—"


def test_properties_show_and_export_the_mib_form_beside_the_raw_value(
    formatter: ValueFormatter,
) -> None:
    """The Properties browser and its export: an SNMP value as its MIB defines it
    (``display``), the raw value kept (``value``); other properties unchanged."""
    from console.store import Ownership, Property, PropertyType, Source
    from console.store.browse import display_value, property_from_row, property_row
    from console.store.snmp import SNMP_INTERFACE

    def mib(oid: str, data: Any) -> str:
        return formatter.display(oid, data)

    status = Property(
        "sw1", SNMP_INTERFACE, 1, 0, "/1.3.6.1.2.1.2.2.1.8.3", PropertyType.INTEGER, 2,
        Ownership.DEVICE, Source.SNMP, 0, "INTEGER",
    )  # fmt: skip
    assert display_value(status) == "2"
    assert display_value(status, mib=mib) == "down(2)"
    row = property_row(status, mib=mib)
    assert (row["value"], row["display"]) == (2, "down(2)")
    assert property_from_row(row) == status  # display is not read back
    other = Property(
        "d", "i", 1, 0, "/p", PropertyType.STRING, "x", Ownership.DEVICE, Source.MQTT, 0, None
    )
    assert property_row(other, mib=mib)["display"] == "x"
