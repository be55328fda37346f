"""SNMP tables as grids (console/tables, console/snmp/table.py, screens/table.py),
against real agents: a recording of a Cisco C3560 served by snmpsim, compared
cell for cell with Net-SNMP's ``snmptable`` of the same agent (MIB texts from
``console/snmp/mibs/base``), and Debian's snmpd; index decoding checked against
pysnmp's own ``MibTableRow`` decoding; the Interfaces screen through Pilot."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from console.config import Config, DeviceConfig, SnmpDeviceConfig
from console.events import EventManager
from console.secrets import Secret
from console.snmp.manager import SnmpDevice
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmp.table import fetch_columns
from console.tables.grid import TableGrid
from console.tables.index import decode_index, index_text
from console.tables.schema import builtin_schema, schema_from_mib, table_schema
from console.tables.views import generic_view, interfaces_view
from tests.conftest import require_program
from tests.snmp_peers import Snmpd
from tests.snmpsim_peers import Snmpsim
from tests.waiting import eventually

pytestmark = pytest.mark.peer("snmpsim")

C3560 = "network/switch/cisco-c3560"
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_X_TABLE = "1.3.6.1.2.1.31.1.1"
IP_ADDR_TABLE = "1.3.6.1.2.1.4.20"


@pytest.fixture(scope="module")
def c3560() -> Iterator[Snmpsim]:
    with Snmpsim({"c3560": C3560}) as agent:
        yield agent


@pytest.fixture(scope="module")
def resolver() -> MibResolver:
    found = MibResolver()
    found.load()
    return found


def conf(
    port: int, community: str, version: str = "V2C", oids: tuple[str, ...] = ()
) -> SnmpDeviceConfig:
    return SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=port,
        version=version,  # type: ignore[arg-type]
        community=Secret(community),
        polling_oids=oids,
        request_timeout=5.0,
        connect_delay=0.3,
    )


async def fetch_grid(
    port: int, community: str, view: Any, *, version: str = "V2C", totals: bool = True
) -> TableGrid:
    grid = TableGrid(view)
    grid.totals = totals
    async with EventManager() as bus, SnmpDevice("dev", conf(port, community, version), bus) as dev:
        await eventually(lambda: dev.status == "CONNECTED")
        fetch = await dev.fetch_columns([c.oid for c in view.polled])
        assert fetch.complete
        grid.update(fetch.columns, 0.0)
    return grid


def snmptable(
    port: int, community: str, table: str, *, version: str = "2c"
) -> list[dict[str, str]]:
    """``snmptable -Cb -Ci`` rows (tab-separated), header -> cell."""
    program = require_program("snmptable")
    options = ["-Cb", "-Ci", "-Cf", "\t", "-t", "5"]
    out = subprocess.run(
        [program, f"-v{version}", "-c", community, *options, f"127.0.0.1:{port}", table],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"MIBDIRS": str(BASE_DIR), "MIBS": "IF-MIB:RFC1213-MIB", "PATH": "/usr/bin:/bin"},
    ).stdout
    lines = [line for line in out.splitlines() if "\t" in line]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def as_net_snmp(text: str) -> str:
    """A fleettop cell in snmptable's form: missing ``?``, TimeTicks
    ``d:hh:mm:ss.cc``, hex octets without leading zeros (``e8:4:62``), an
    enumeration's label without its number (fleettop: ``up(1)``, as every screen
    shows it; snmptable: ``up``)."""
    if text == "—":
        return "?"
    label = re.fullmatch(r"([A-Za-z][\w-]*)\(-?\d+\)", text)
    if label:
        return label.group(1)
    ticks = re.fullmatch(r"(\d+)d (\d\d):(\d\d:\d\d\.\d\d)", text)
    if ticks:
        days, hours, rest = ticks.groups()
        return f"{days}:{int(hours)}:{rest}"
    if re.fullmatch(r"([0-9a-f]{2}:)+[0-9a-f]{2}", text):
        return ":".join(part.lstrip("0") or "0" for part in text.split(":"))
    return text


# -- cell for cell against snmptable ----------------------------------------------------


def compare(grid: TableGrid, rows: list[dict[str, str]], prefix: str) -> int:
    """Assert every snmptable cell equals the grid's; return the cells compared."""
    by_index = {index_text(row.index): row for row in grid.rows.values()}
    assert sorted(by_index) == sorted(row["index"] for row in rows)
    compared = 0
    for expected in rows:
        row = by_index[expected["index"]]
        for header, value in expected.items():
            if header == "index":
                continue
            key = prefix + header
            shown = row.cells[key].text if key in row.cells else index_text(row.index)
            assert as_net_snmp(shown) == value, (expected["index"], key, shown, value)
            compared += 1
    return compared


async def test_the_if_mib_grid_matches_snmptable_cell_for_cell(c3560: Snmpsim) -> None:
    schema = builtin_schema(IF_TABLE)
    assert schema is not None
    assert schema.joined == ("ifXTable",)
    grid = await fetch_grid(c3560.port, "c3560", generic_view(schema))
    if_table = await asyncio.to_thread(snmptable, c3560.port, "c3560", "IF-MIB::ifTable")
    if_x_table = await asyncio.to_thread(snmptable, c3560.port, "c3560", "IF-MIB::ifXTable")
    assert len(if_table) == len(grid.rows) >= 40
    # ifTable and ifXTable joined on ifIndex (AUGMENTS): one grid, every cell of both
    cells = compare(grid, if_table, "if") + compare(grid, if_x_table, "if")
    assert cells >= 40 * (22 + 19)


async def test_ip_addresses_decoded_from_the_index_match_snmptable(
    c3560: Snmpsim, resolver: MibResolver
) -> None:
    schema = table_schema(resolver.mib_builder, IP_ADDR_TABLE)
    assert schema is not None
    assert [(p.name, p.kind) for p in schema.index] == [("ipAdEntAddr", "IP_ADDRESS")]
    grid = await fetch_grid(c3560.port, "c3560", generic_view(schema))
    expected = await asyncio.to_thread(snmptable, c3560.port, "c3560", "RFC1213-MIB::ipAddrTable")
    assert compare(grid, expected, "ipAdEnt") == 2 * 5
    # the index column is decoded, not polled
    assert "ipAdEntAddr" not in {c.name for c in grid.view.polled}


# -- index decoding on Debian snmpd, against pysnmp's own decoding -----------------------


@pytest.mark.peer("snmpd")
async def test_string_ip_and_oid_indexes_decode_as_pysnmp_decodes_them(
    tmp_path: Any, resolver: MibResolver
) -> None:
    builder = resolver.mib_builder
    tables = {
        "vacmAccessTable": "1.3.6.1.6.3.16.1.4",  # string, string, integer, integer
        "vacmViewTreeFamilyTable": "1.3.6.1.6.3.16.1.5.2",  # string, OBJECT IDENTIFIER
        "tcpConnTable": "1.3.6.1.2.1.6.13",  # IpAddress, port, IpAddress, port
    }
    with Snmpd(tmp_path) as agent:
        for name, oid in tables.items():
            schema = table_schema(builder, oid)
            assert schema is not None
            assert schema.name == name
            grid = await fetch_grid(agent.port, "public", generic_view(schema))
            assert grid.rows, name
            _oid, labels, _suffix = resolver._view.get_node_name(schema.entry)
            (row_node,) = builder.import_symbols(schema.module, str(labels[-1]))
            for arcs, row in grid.rows.items():
                assert not row.index.raw
                reference = row_node.getIndicesFromInstId(arcs)
                for (kind, value), theirs in zip(row.index.values, reference, strict=True):
                    if kind == "OBJECT_ID":
                        assert value == ".".join(map(str, theirs))
                    elif kind == "STRING":
                        assert value == theirs.asOctets().decode()
                    elif kind == "INTEGER":
                        assert value == int(theirs)
                    else:
                        assert str(value) == theirs.prettyPrint()
                # an enumerated index object shows its label (vacmAccessSecurityLevel)
                if name == "vacmAccessTable":
                    assert row.cells["vacmAccessSecurityLevel"].text in (
                        "noAuthNoPriv",
                        "authNoPriv",
                        "authPriv",
                    )


async def test_cells_of_a_column_with_units_show_them(tmp_path: Any, resolver: MibResolver) -> None:
    """Issue 13 §1: a column whose OBJECT-TYPE has UNITS shows them after each value,
    as Net-SNMP prints them (``hrStorageAllocationUnits`` ``UNITS "Bytes"``:
    ``4096 Bytes``), still sorted as numbers; columns without UNITS show none."""
    schema = table_schema(resolver.mib_builder, "1.3.6.1.2.1.25.2.3")  # hrStorageTable
    assert schema is not None
    units = schema.column("hrStorageAllocationUnits")
    assert units is not None
    assert units.units == "Bytes"
    with Snmpd(tmp_path) as agent:
        grid = await fetch_grid(agent.port, "public", generic_view(schema))
    assert grid.rows
    for row in grid.rows.values():
        cell = row.cells["hrStorageAllocationUnits"]
        number, _, unit = cell.text.partition(" ")
        assert unit == "Bytes", cell.text
        assert cell.sort == (0, float(number))
        assert row.cells["hrStorageSize"].text.isdigit()


def test_an_implied_string_index_takes_the_rest_of_the_instance(resolver: MibResolver) -> None:
    builder = resolver.mib_builder
    schema = table_schema(builder, "1.3.6.1.6.3.12.1.2")  # SNMP-TARGET-MIB::snmpTargetAddrTable
    assert schema is not None
    assert [p.implied for p in schema.index] == [True]
    (row_node,) = builder.import_symbols("SNMP-TARGET-MIB", "snmpTargetAddrEntry")
    (name_node,) = builder.import_symbols("SNMP-TARGET-MIB", "snmpTargetAddrName")
    arcs = tuple(row_node.getInstIdFromIndices(name_node.syntax.clone("nms-1")))
    assert arcs == tuple(b"nms-1")  # IMPLIED: no length arc
    assert decode_index(schema.index, arcs).values == (("STRING", "nms-1"),)
    # AUGMENTS: SNMP-COMMUNITY-MIB's snmpTargetAddrExtTable joins the table's rows
    assert schema.joined == ("snmpTargetAddrExtTable",)
    assert schema.column("snmpTargetAddrTMask") is not None
    # a short instance is shown raw, never dropped
    short = schema_from_mib(builder, IP_ADDR_TABLE)
    assert short is not None
    assert decode_index(short.index, (10, 1)).raw


def test_opening_the_augmenting_table_opens_the_joined_grid(resolver: MibResolver) -> None:
    schema = table_schema(resolver.mib_builder, IF_X_TABLE + ".1.18.10101")
    assert schema is not None
    # IF-MIB is always loaded: its deprecated ifTestTable AUGMENTS ifEntry too (the
    # table screen hides a joined table's columns that no row has)
    assert (schema.name, schema.joined) == ("ifTable", ("ifXTable", "ifTestTable"))
    assert schema.column("ifAlias") is not None
    assert schema.column("ifDescr") is not None


# -- rates and sorting ---------------------------------------------------------------------


def _fetch(
    rows: dict[int, tuple[str, int, int]],
) -> dict[tuple[int, ...], dict[tuple[int, ...], Any]]:
    """ifIndex -> (ifName, ifHCInOctets, ifInErrors) as a fetch."""
    entry_x = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
    entry = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    return {
        (*entry_x, 1): {(i,): {"type": "STRING", "value": r[0]} for i, r in rows.items()},
        (*entry_x, 6): {(i,): {"type": "BIG_COUNTER", "value": r[1]} for i, r in rows.items()},
        (*entry, 14): {(i,): {"type": "COUNTER", "value": r[2]} for i, r in rows.items()},
    }


def test_counters_become_rates_on_refresh_with_wraps_counted() -> None:
    grid = TableGrid(interfaces_view())
    first = grid.update(_fetch({1: ("a", 2**64 - 800, 2**32 - 10), 2: ("b", 1000, 5)}), 100.0)
    assert first.added == ((1,), (2,))
    assert grid.rows[(1,)].cells["in_bits"].text == "—"
    changes = grid.update(_fetch({1: ("a", 200, 20), 2: ("b", 1000 + 125_000, 5)}), 102.0)
    assert set(changes.updated) == {(1,), (2,)}
    # 64-bit wrap: 1,000 octets in 2 s = 4,000 bit/s; 32-bit wrap: 30 errors in 2 s
    assert grid.rate((1,), "ifHCInOctets") == 500.0
    assert grid.text((1,))["in_bits"] == "4 kbit/s"
    assert grid.text((1,))["in_errors"] == "15.0/s"
    assert grid.text((2,))["in_bits"] == "500 kbit/s"
    # a jump of half the range or more is a reset, not a rate
    grid.update(_fetch({1: ("a", 2**63 + 500, 20), 2: ("b", 126_000, 5)}), 104.0)
    assert grid.text((1,))["in_bits"] == "—"
    assert grid.order("in_bits", reverse=True) == [(2,), (1,)]  # missing last either way
    assert grid.order("in_bits") == [(2,), (1,)]
    assert grid.order("name", reverse=True) == [(2,), (1,)]
    # a row gone from the agent leaves the grid
    assert grid.update(_fetch({2: ("b", 127_000, 5)}), 106.0).removed == ((1,),)


# -- the Interfaces screen (Pilot) -----------------------------------------------------------


async def test_the_interfaces_screen_opens_with_i_and_sorts(c3560: Snmpsim) -> None:
    from console.app import FleettopApp
    from console.runtime import Runtime
    from screens.oids import OidsScreen
    from screens.table import TableScreen, open_table
    from tests.ui_helpers import Notices, devices_screen, screen_text, wait_for
    from widgets.table_grid import GridTable
    from widgets.value_table import ValueTable

    ip_if_index = "1.3.6.1.2.1.4.20.1.2.10.1.100.148"  # ipAdEntIfIndex.10.1.100.148
    # the community ("c3560", the recording's name) is a secret: the device is "sw1"
    device = DeviceConfig("sw1", conf(c3560.port, "c3560", oids=(ip_if_index,)))
    app = FleettopApp(Runtime(Config(devices=(device,))))
    notices = Notices()
    async with app.run_test(size=(160, 40), notifications=True, message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        await wait_for(pilot, lambda: app.runtime.snmp_devices["sw1"].status == "CONNECTED", "up")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TableScreen), "table screen")
        screen = app.screen
        assert isinstance(screen, TableScreen)
        await wait_for(pilot, lambda: screen.refreshes >= 1, "first refresh", attempts=1500)
        table = screen.query_one(GridTable)
        assert table.row_count == len(screen.grid.rows) >= 40  # type: ignore[union-attr]
        assert table.get_row("10101")[1].plain == "Gi0/1"  # ifName
        assert [c.label.plain for c in table.columns.values()][:3] == ["ifIndex", "Name", "Alias"]
        # only the columns shown were read
        polled = {c.name for c in screen.grid.view.polled}  # type: ignore[union-attr]
        assert "ifType" not in polled
        assert "ifHCInOctets" in polled
        await pilot.press("greater_than_sign", "greater_than_sign")  # sort by Name
        assert table.sort_column == "name"
        names = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert names == sorted(names, key=str.casefold)
        await pilot.press("down", "down", "down")
        highlighted = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        before = table.cursor_row
        await pilot.press("s")
        names = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        assert names == sorted(names, key=str.casefold, reverse=True)
        # the cursor stays on its row wherever the sort moves it
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key == highlighted
        assert table.cursor_row == table.row_count - 1 - before
        # r reads again: counters become per-second rates
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.refreshes >= 2, "second refresh", attempts=1500)
        assert table.get_row("10101")[6].plain.endswith("bit/s")  # In
        # x hides the sort column: no longer shown nor read; X brings it back
        await pilot.press("x")
        assert "name" not in table.column_keys()
        assert "ifName" not in {c.name for c in screen.grid.view.polled}  # type: ignore[union-attr]
        await pilot.press("X")
        assert "name" in table.column_keys()
        assert table.row_count >= 40
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TableScreen), "back")
        # T on the OIDs screen: the selected OID's table (ipAddrTable, IP address index)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OidsScreen), "OIDs screen")
        values = app.screen.query_one(ValueTable)
        await wait_for(pilot, lambda: values.highlighted_key is not None, "the polled value")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TableScreen), "table screen")
        ip_screen = app.screen
        assert isinstance(ip_screen, TableScreen)
        await wait_for(pilot, lambda: ip_screen.refreshes >= 1, "ipAddrTable", attempts=1500)
        ip_table = ip_screen.query_one(GridTable)
        assert ip_screen.grid is not None
        assert ip_screen.grid.view.schema.name == "ipAddrTable"
        assert ip_table.get_row("10.1.100.148")[0].plain == "10.1.100.148"
        assert ip_table.row_count == 2
        assert "c3560" not in screen_text(app)
        # a scalar is no table: said so, nothing raised
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, OidsScreen), "OIDs screen")
        scalar = open_table(app, ip_screen.context, "sw1", "1.3.6.1.2.1.1.3.0")
        assert scalar is not None
        await wait_for(pilot, lambda: scalar.state.startswith("failed"), "refused")
        assert "no loaded MIB defines a table there" in scalar.state
        assert notices.has("sw1: 1.3.6.1.2.1.1.3.0: no loaded MIB defines a table there")
        # a device without SNMP: told, nothing pushed
        assert open_table(app, ip_screen.context, "nowhere") is None
        await wait_for(pilot, lambda: notices.has("nowhere:"), "the refusal")
        assert notices.has("nowhere: no SNMP backend for this device")


@pytest.mark.peer("snmpd")
async def test_snmpv1_reads_the_interfaces_with_getnext_and_32_bit_counters(
    tmp_path: Any,
) -> None:
    with Snmpd(tmp_path) as agent:
        v1 = await fetch_grid(
            agent.port, "public", interfaces_view(high_capacity=False), version="V1"
        )
        v2 = await fetch_grid(agent.port, "public", interfaces_view())
        raw = await asyncio.to_thread(
            snmptable, agent.port, "public", "IF-MIB::ifTable", version="1"
        )
    assert "ifHCInOctets" not in {c.name for c in v1.view.polled}
    assert list(v1.rows) == list(v2.rows)
    assert v1.rows
    for arcs in v1.rows:
        same = ("ifIndex", "name", "ifAdminStatus", "ifOperStatus")
        assert [v1.text(arcs)[k] for k in same] == [v2.text(arcs)[k] for k in same]
    assert sorted(row["index"] for row in raw) == sorted(
        index_text(r.index) for r in v1.rows.values()
    )


def test_the_built_in_if_mib_agrees_with_the_compiled_if_mib() -> None:
    """The built-in ifTable + ifXTable (used when no IF-MIB is loaded) is what pysmi
    compiles from IF-MIB's source: names, OIDs, types, enumerations, hints, index."""
    compiled_mib = MibResolver(mib_paths=[BASE_DIR])
    compiled_mib.load()
    assert "IF-MIB" in compiled_mib.modules
    compiled = schema_from_mib(compiled_mib.mib_builder, IF_TABLE)
    built_in = builtin_schema(IF_TABLE)
    assert compiled is not None
    assert built_in is not None
    # IF-MIB's ifTestTable AUGMENTS ifEntry too, but it is deprecated (RFC 2863): left
    # out, now that the MIB's STATUS clauses load with its texts
    assert (compiled.name, compiled.joined) == ("ifTable", ("ifXTable",))
    assert [(p.name, p.kind, p.implied) for p in compiled.index] == [
        (p.name, p.kind, p.implied) for p in built_in.index
    ]

    def shape(schema: Any) -> list[tuple[Any, ...]]:
        return [
            (c.name, c.oid, c.data_type, dict(c.enums), c.table)
            for c in schema.columns
            if c.table != "ifTestTable"
        ]

    assert shape(compiled) == shape(built_in)
    hints = {c.name: c.hint for c in compiled.columns}
    assert hints["ifPhysAddress"] == "1x:"
    assert hints["ifDescr"] == "255a"


# -- agents that answer GETBULK badly ----------------------------------------------------


class BulkAgent(asyncio.DatagramProtocol):
    """A v2c GETBULK responder over ``values`` (OID arcs -> Integer): ``max_answer``
    var-binds at most, else ``tooBig``; ``stuck`` answers the OID asked (not
    increasing); ``endless`` answers ever longer OIDs inside the column."""

    def __init__(self, values: dict[tuple[int, ...], int], *, max_answer: int = 1000) -> None:
        self.values = dict(sorted(values.items()))
        self.max_answer = max_answer
        self.stuck = False
        self.endless = False
        self.asked: list[int] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def _next(self, arcs: tuple[int, ...]) -> tuple[tuple[int, ...], Any]:
        from pysnmp.proto import rfc1902, rfc1905

        if self.stuck:
            return arcs, rfc1902.Integer(1)
        if self.endless:
            return (*arcs, 1), rfc1902.Integer(1)
        for oid, value in self.values.items():
            if oid > arcs:
                return oid, rfc1902.Integer(value)
        return arcs, rfc1905.endOfMibView

    def datagram_received(self, data: bytes, addr: Any) -> None:
        from pyasn1.codec.ber import decoder, encoder
        from pysnmp.proto import api

        proto: Any = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
        request, _ = decoder.decode(data, asn1Spec=proto.Message())
        pdu = proto.apiMessage.get_pdu(request)
        response = proto.apiMessage.get_response(request)
        out = proto.apiMessage.get_pdu(response)
        asked = [tuple(name) for name, _ in proto.apiPDU.get_varbinds(pdu)]
        if not pdu.isSameTypeWith(proto.GetBulkRequestPDU()):  # the device's probe GET
            from pysnmp.proto import rfc1905

            proto.apiPDU.set_varbinds(out, [(name, rfc1905.noSuchObject) for name in asked])
            self.transport.sendto(encoder.encode(response), addr)
            return
        repetitions = int(proto.apiBulkPDU.get_max_repetitions(pdu))
        self.asked.append(len(asked) * repetitions)
        if len(asked) * repetitions > self.max_answer:
            proto.apiPDU.set_error_status(out, 1)  # tooBig
            proto.apiPDU.set_varbinds(out, proto.apiPDU.get_varbinds(pdu))
        else:
            answers = []
            cursors = list(asked)
            for _ in range(repetitions):
                for position, cursor in enumerate(cursors):
                    name, value = self._next(cursor)
                    cursors[position] = name
                    answers.append((name, value))
            proto.apiPDU.set_varbinds(out, answers)
        self.transport.sendto(encoder.encode(response), addr)


async def _bulk_device(agent: BulkAgent) -> Any:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    return transport, transport.get_extra_info("sockname")[1]


COLUMNS: tuple[tuple[int, ...], ...] = (
    (1, 3, 6, 1, 4, 1, 99, 1, 1, 2),
    (1, 3, 6, 1, 4, 1, 99, 1, 1, 3),
)


async def test_a_fetch_halves_what_it_asks_on_too_big_and_stops_a_broken_agent() -> None:
    from console.snmp.errors import SnmpOperationError

    rows: dict[tuple[int, ...], int] = {
        (*column, i): i * 10 + n for n, column in enumerate(COLUMNS) for i in range(1, 31)
    }
    agent = BulkAgent(rows, max_answer=16)
    transport, port = await _bulk_device(agent)
    try:
        async with EventManager() as bus, SnmpDevice("odd", conf(port, "public"), bus) as dev:
            await eventually(lambda: dev.status == "CONNECTED")
            fetch = await dev.fetch_columns(COLUMNS, max_varbinds=100)
            # tooBig: 100 -> 50 -> 25 -> 12 var-binds asked, then the whole table
            assert agent.asked[:4] == [100, 50, 24, 12]
            assert {c: len(v) for c, v in fetch.columns.items()} == {c: 30 for c in COLUMNS}
            assert fetch.columns[COLUMNS[1]][(7,)] == {"type": "INTEGER", "value": 71}
            agent.stuck = True
            with pytest.raises(SnmpOperationError) as stuck:
                await dev.fetch_columns(COLUMNS)
            assert stuck.value.error == "OID_NOT_INCREASING"
            agent.stuck, agent.endless = False, True
            endless = await fetch_columns(dev._link, COLUMNS, max_varbinds=10, limit=500)
            assert (endless.complete, endless.varbinds) == (False, 500)
    finally:
        transport.close()
