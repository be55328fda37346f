"""Pilot tests of the Walk screen at full size: a real device's recording (snmpsim's
``UPS/apc-8641``, 4,179 var-binds) walked through a real ``SnmpDevice`` ends with
every recorded OID on screen, in order, with its value; ``/`` filters by OID subtree,
MIB name and text; escape stops a walk mid-way, and the agent sees no request after
it (a UDP relay between the device and snmpsim counts them); a long OID leaves the
VALUE column on screen at 80 columns.

Waiting is bounded polling (``wait_for``), never a timed assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from textual.widgets import Input, Static

from console.app import FleettopApp
from console.config import SnmpDeviceConfig
from console.oid import parse_oid
from console.secrets import Secret
from console.snmp.manager import SnmpDevice
from screens.walk import WalkScreen
from tests.snmpsim_peers import Snmpsim, recording_lines
from tests.ui_helpers import FakeBackend, attach, devices_screen, focused, make_app, shown, wait_for
from widgets.walk_table import MIN_VALUE_WIDTH, WalkTable

RECORDING = "UPS/apc-8641"
COMMUNITY = "apc"
ROOT = "1.3.6.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYSTEM = "1.3.6.1.2.1.1"


def recorded() -> list[tuple[str, str, str]]:
    """``(oid, tag, value)`` of the recording, in OID order."""
    rows = [tuple(line.split("|", 2)) for line in recording_lines(RECORDING) if "|" in line]
    rows.sort(key=lambda row: parse_oid(row[0]))
    return [(oid, tag, value) for oid, tag, value in rows]


class Relay(asyncio.DatagramProtocol):
    """A UDP relay from the device to snmpsim that counts the requests, and holds
    them (unanswered) from request :attr:`hold_after` on."""

    def __init__(self, agent: tuple[str, int]) -> None:
        self.agent = agent
        self.requests = 0
        self.answers = 0
        self.hold_after: int | None = None
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.upstream: dict[tuple[str, int], asyncio.DatagramTransport] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        if self.hold_after is not None and self.requests > self.hold_after:
            self.held.append((data, addr))
            return
        asyncio.get_running_loop().create_task(self._forward(data, addr))

    async def _forward(self, data: bytes, client: tuple[str, int]) -> None:
        relay = self

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, answer: bytes, _addr: tuple[str, int]) -> None:
                if relay.transport is not None:
                    relay.answers += 1
                    relay.transport.sendto(answer, client)

        upstream = self.upstream.get(client)
        if upstream is None:
            upstream, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                Back, remote_addr=self.agent
            )
            self.upstream[client] = upstream
        upstream.sendto(data)

    def release(self) -> None:
        """Forward the held requests (their answers go back to the device)."""
        held, self.held, self.hold_after = self.held, [], None
        for data, addr in held:
            asyncio.get_running_loop().create_task(self._forward(data, addr))

    def close(self) -> None:
        for upstream in self.upstream.values():
            upstream.close()
        if self.transport is not None:
            self.transport.close()


@contextlib.asynccontextmanager
async def device_via_relay(app: FleettopApp, agent: Snmpsim) -> AsyncIterator[Relay]:
    """A real ``SnmpDevice`` ``core-sw1`` of ``app``, reaching ``agent`` through a
    :class:`Relay`, connected."""
    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(
        lambda: Relay(agent.address), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    conf = SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=port,
        version="V2C",
        community=Secret(COMMUNITY),
        polling_oids=(SYS_UPTIME,),
        polling_delay=3600.0,
        request_timeout=30.0,
        request_retry_count=0,
    )
    try:
        async with SnmpDevice("core-sw1", conf, app.runtime.bus) as device:
            app.runtime.snmp_devices["core-sw1"] = device
            yield relay
    finally:
        relay.close()


async def open_walk(pilot: Any, app: FleettopApp, root: str) -> WalkScreen:
    await wait_for(pilot, lambda: app.screen.is_mounted, "the first screen")
    await pilot.press("colon", *f"walk {root} core-sw1", "enter")
    await wait_for(pilot, lambda: shown(app, WalkScreen), "the walk screen")
    screen = app.screen
    assert isinstance(screen, WalkScreen)
    return screen


@pytest.mark.peer("snmpsim")
@pytest.mark.timeout(240)
async def test_a_real_device_walk_shows_every_row_in_order_and_filters() -> None:
    expected = recorded()
    assert len(expected) > 4000
    app = make_app()
    with Snmpsim({COMMUNITY: RECORDING}) as agent:
        async with app.run_test(size=(120, 40)) as pilot:
            await devices_screen(pilot)
            async with device_via_relay(app, agent):
                await check_full_walk(pilot, app, expected)


async def check_full_walk(
    pilot: Any, app: FleettopApp, expected: list[tuple[str, str, str]]
) -> None:
    if True:
        if True:
            walk = await open_walk(pilot, app, ROOT)
            table = walk.query_one(WalkTable)
            await wait_for(pilot, lambda: walk.outcome is not None, "the walk", attempts=6000)
            assert walk.outcome == "complete"
            await wait_for(pilot, lambda: table.total == len(expected), "every row")
            assert table.shown_oids == [oid for oid, _, _ in expected]
            for oid, tag, value in expected:
                if tag == "2":  # INTEGER, recorded as is
                    assert table.data[oid]["value"] == int(value), oid
                elif tag == "4x" and bytes.fromhex(value).isascii():
                    text = bytes.fromhex(value).decode()
                    if text.isprintable():
                        assert table.value_text(oid) == text, oid
            progress = str(walk.query_one("#walk-progress", Static).content)
            assert progress.startswith(f"complete  {ROOT}  │ {len(expected):,} OIDs in ")

            # / then a subtree, a MIB name, then text (sysContact's recorded value)
            await pilot.press("slash", *SYSTEM)
            system = [oid for oid, _, _ in expected if oid.startswith(SYSTEM + ".")]
            await wait_for(pilot, lambda: table.shown_oids == system, "the system group")
            await pilot.press("enter")
            assert walk.focused is table
            filter_field = walk.query_one("#walk-filter", Input)
            await pilot.press("slash")
            assert focused(walk) is filter_field
            filter_field.value = ""
            await wait_for(pilot, lambda: table.row_count == len(expected), "every row again")
            await pilot.press(*"sysUpTime")
            await wait_for(pilot, lambda: table.shown_oids == [SYS_UPTIME], "the name's subtree")
            filter_field.value = ""
            await pilot.press(*"jOHN", "space", *"dOE")
            contact = [
                oid
                for oid, tag, value in expected
                if tag == "4x" and "john doe" in bytes.fromhex(value).decode("latin-1").casefold()
            ]
            assert contact
            await wait_for(pilot, lambda: table.shown_oids == contact, "the text")
            progress = str(walk.query_one("#walk-progress", Static).content)
            assert f"filter jOHN dOE: {len(contact)} shown" in progress
            await pilot.press("escape")  # from the filter back to the rows
            assert focused(walk) is table
            assert isinstance(app.screen, WalkScreen)


@pytest.mark.peer("snmpsim")
@pytest.mark.timeout(240)
async def test_escape_stops_a_walk_midway_and_the_agent_hears_no_more() -> None:
    app = make_app()
    with Snmpsim({COMMUNITY: RECORDING}) as agent:
        async with app.run_test(size=(120, 40)) as pilot:
            await devices_screen(pilot)
            async with device_via_relay(app, agent) as relay:
                await check_escape(pilot, app, relay)


async def check_escape(pilot: Any, app: FleettopApp, relay: Relay) -> None:
    if True:
        if True:
            relay.hold_after = relay.requests + 40  # 40 GETBULKs (~1,000 rows), then silence
            walk = await open_walk(pilot, app, ROOT)
            table = walk.query_one(WalkTable)
            await wait_for(pilot, lambda: relay.held, "the walk waiting on its 41st request")
            await wait_for(pilot, lambda: table.total == walk.count, "the rows so far")
            assert walk.running
            sent = relay.requests
            await pilot.press("escape")
            await wait_for(pilot, lambda: walk.outcome == "cancelled", "the cancel")
            assert 0 < table.total < 4000
            # the held request is answered now: a running walk would ask for more
            answers = relay.answers
            relay.release()
            await wait_for(pilot, lambda: relay.answers > answers, "the held request answered")
            device = app.runtime.snmp_devices["core-sw1"]
            await device.read(SYS_UPTIME)
            assert relay.requests == sent + 1  # only that read
            assert walk.outcome == "cancelled"
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, WalkScreen), "back")


async def test_a_long_oid_leaves_the_value_on_screen_at_80_columns() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await devices_screen(pilot)
        backend = attach(app, FakeBackend("core-sw1", app.runtime.bus))
        long_oid = SYSTEM + ".9.1.3." + ".".join(str(1000 + i) for i in range(40))
        backend.walk_rows = [
            (f"{SYSTEM}.1.0", {"type": "STRING", "value": "short"}),
            (long_oid, {"type": "STRING", "value": "VALUE-STAYS-ON-SCREEN"}),
        ]
        walk = await open_walk(pilot, app, SYSTEM)
        table = walk.query_one(WalkTable)
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk")
        await wait_for(pilot, lambda: table.row_count == 2, "two rows")
        assert table.region.right <= 80
        line = table.render_line(2).text  # the header, the short row, the long one
        assert "VALUE-STAYS-ON-SCREEN" in line
        assert line.startswith("…")  # the OID's start is cut, its index arcs stay
        assert long_oid.endswith(line.split(" ", 1)[0].lstrip("…"))
        value_column = line.index("VALUE-STAYS-ON-SCREEN")
        assert table.scrollable_content_region.width - value_column >= MIN_VALUE_WIDTH


async def test_thousands_of_rows_arrive_in_order_in_frame_batches() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await devices_screen(pilot)
        backend = attach(app, FakeBackend("core-sw1", app.runtime.bus))
        base = "1.3.6.1.2.1.31.1.1.1.6"
        backend.walk_rows = [
            (f"{base}.{i}", {"type": "BIG_COUNTER", "value": i * 1000}) for i in range(1, 20_001)
        ]
        walk = await open_walk(pilot, app, base)
        table = walk.query_one(WalkTable)
        batches: list[int] = []
        add = table.add

        def counting_add(rows: list[tuple[str, dict[str, Any]]]) -> int:
            batches.append(len(rows))
            return add(rows)

        table.add = counting_add  # type: ignore[method-assign,assignment]
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk", attempts=3000)
        await wait_for(pilot, lambda: table.total == 20_000, "every row")
        assert table.shown_oids == [oid for oid, _ in backend.walk_rows]
        assert table.value_text(f"{base}.20000") == "20,000,000"
        assert len(batches) < 20_000 // 10  # batches per frame, not a row at a time
        await pilot.press("end")
        assert table.highlighted_oid == f"{base}.20000"
        await pilot.press("home", "down")
        assert table.highlighted_oid == f"{base}.2"


async def test_a_whole_agent_walk_from_the_command_line_and_a_table_from_a_row() -> None:
    """``:walk .`` walks everything the agent has, outside 1.3.6.1 too (issue 12 §2),
    and ``t`` on a row opens that OID's table (issue 12 §3: from the walk of a table
    column)."""
    from pysnmp.proto import rfc1902

    from screens.table import TableScreen
    from tests.snmp_peers import WalkAgent

    values = {
        "0.0.1": rfc1902.Integer(1),
        "1.0.8802.1.1.2.1.1.1.0": rfc1902.Integer(30),  # LLDP, as a C3560 has
        "1.3.6.1.2.1.1.5.0": rfc1902.OctetString(b"sw1"),
        "1.3.6.1.2.1.2.2.1.2.1": rfc1902.OctetString(b"eth0"),
        "2.999.1": rfc1902.Integer(7),
    }
    app = make_app()
    async with WalkAgent(values) as agent, app.run_test(size=(120, 40)) as pilot:
        await devices_screen(pilot)
        conf = SnmpDeviceConfig(
            remote_host="127.0.0.1",
            remote_port=agent.port,
            version="V2C",
            community=Secret("public"),
            polling_oids=("1.3.6.1.2.1.1.5.0",),
            polling_delay=3600.0,
        )
        async with SnmpDevice("core-sw1", conf, app.runtime.bus) as device:
            app.runtime.snmp_devices["core-sw1"] = device
            walk = await open_walk(pilot, app, ".")
            table = walk.query_one(WalkTable)
            await wait_for(pilot, lambda: walk.outcome is not None, "the walk")
            assert walk.outcome == "complete"
            assert walk.root == "."
            await wait_for(pilot, lambda: table.total == len(values), "every row")
            assert table.shown_oids == sorted(values, key=parse_oid)
            progress = str(walk.query_one("#walk-progress", Static).content)
            assert progress.startswith("complete  .  │ 5 OIDs in ")
            table.focus()
            await wait_for(pilot, lambda: table.highlighted_oid is not None, "a row")
            while table.highlighted_oid != "1.3.6.1.2.1.2.2.1.2.1":
                await pilot.press("down")
            await pilot.press("t")
            await wait_for(pilot, lambda: shown(app, TableScreen), "the table screen")
            assert isinstance(app.screen, TableScreen)
