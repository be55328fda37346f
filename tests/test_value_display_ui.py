"""Pilot tests: the screens show SNMP values as their MIB defines them (issue 13
§1) -- the Walk screen and the OIDs screen (its table and its detail line, which
keeps the raw value beside) -- with real MIBs (IF-MIB from fleettop's vendored
source, the DISPLAY-HINT test module) loaded by a real ``MibResolver``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from console.app import FleettopApp
from console.config import Config
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from screens.oids import OidsScreen
from screens.walk import WalkScreen
from tests.ui_helpers import (
    FLEET,
    CraftedRuntime,
    FakeBackend,
    Notices,
    attach,
    devices_screen,
    fixed_clock,
    read,
    shown,
    wait_for,
)
from widgets.mib_names import MibNames
from widgets.value_table import ValueTable, row_key
from widgets.walk_table import WalkTable

HINT_MIBS = Path(__file__).parent / "data" / "hintmibs"
IF_OPER_STATUS_1 = "1.3.6.1.2.1.2.2.1.8.1"
IF_PHYS_ADDRESS_1 = "1.3.6.1.2.1.2.2.1.6.1"
IF_IN_OCTETS_1 = "1.3.6.1.2.1.2.2.1.10.1"
HINTS = "1.3.6.1.4.1.32473.19.1"


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> MibResolver:
    found = MibResolver(
        mib_paths=[BASE_DIR, HINT_MIBS], cache_dir=tmp_path_factory.mktemp("mibcache")
    )
    found.load()
    return found


def app_with_mibs(resolver: MibResolver, seed: Any = ()) -> FleettopApp:
    runtime = CraftedRuntime(Config(devices=FLEET), seed=seed)
    return FleettopApp(runtime, clock=fixed_clock(), mib_names=MibNames(lambda: resolver))


async def test_the_walk_screen_shows_values_by_their_mib(resolver: MibResolver) -> None:
    app = app_with_mibs(resolver)
    async with app.run_test(size=(120, 30)) as pilot:
        await devices_screen(pilot)
        backend = attach(app, FakeBackend("core-sw1", app.runtime.bus))
        backend.walk_rows = [
            (IF_PHYS_ADDRESS_1, {"type": "STRING_HEX", "value": "000c29a45b07"}),
            (IF_OPER_STATUS_1, {"type": "INTEGER", "value": 2}),
            (IF_IN_OCTETS_1, {"type": "COUNTER", "value": 1234567}),
            (f"{HINTS}.2.0", {"type": "STRING_HEX", "value": "07c8051a0d1e0f002d0400"}),
            (f"{HINTS}.23.0", {"type": "INTEGER", "value": 1234}),
        ]
        await wait_for(pilot, lambda: app.screen.is_mounted, "the first screen")
        await pilot.press("colon", *"walk 1.3.6.1 core-sw1", "enter")
        await wait_for(pilot, lambda: shown(app, WalkScreen), "the walk screen", attempts=1500)
        walk = app.screen
        assert isinstance(walk, WalkScreen)
        table = walk.query_one(WalkTable)
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk", attempts=1500)
        await wait_for(pilot, lambda: table.value_text(IF_OPER_STATUS_1) == "down(2)", "the label")
        assert table.value_text(IF_PHYS_ADDRESS_1) == "00:0c:29:a4:5b:07"
        assert table.value_text(IF_IN_OCTETS_1) == "1,234,567"
        assert table.value_text(f"{HINTS}.2.0") == "1992-5-26,13:30:15.0,-4:0"
        assert table.value_text(f"{HINTS}.23.0") == "12.34 volts"
        # what the screen draws, and the text filter finds the label
        assert any("down(2)" in table.render_line(y).text for y in range(1, 7))
        await pilot.press("slash", *"down(2")
        await wait_for(pilot, lambda: table.shown_oids == [IF_OPER_STATUS_1], "the filter")


async def test_the_oids_table_and_detail_line_show_the_label_and_the_raw_value(
    resolver: MibResolver,
) -> None:
    seed = [
        read("core-sw1", IF_OPER_STATUS_1, "INTEGER", 1, cause="INTERROGATE"),
        read("core-sw1", IF_PHYS_ADDRESS_1, "STRING_HEX", "000c29a45b07", cause="INTERROGATE"),
    ]
    app = app_with_mibs(resolver, seed)
    notices = Notices()
    async with app.run_test(size=(160, 30), message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        backend = attach(app, FakeBackend("core-sw1", app.runtime.bus))
        backend.values[IF_OPER_STATUS_1] = {"type": "INTEGER", "value": 2}
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        screen = app.screen
        assert isinstance(screen, OidsScreen)
        table = screen.query_one(ValueTable)
        status = row_key(("core-sw1", IF_OPER_STATUS_1))
        mac = row_key(("core-sw1", IF_PHYS_ADDRESS_1))

        def cell(key: str) -> str:
            return str(table.get_cell(key, "value")) if key in table.rows else ""

        await wait_for(pilot, lambda: cell(status) == "up(1)", "the label in the table")
        await wait_for(pilot, lambda: cell(mac) == "00:0c:29:a4:5b:07", "the MAC address")
        assert table.select_key(("core-sw1", IF_OPER_STATUS_1))
        detail = screen.query_one("#value-detail", Static)
        await wait_for(pilot, lambda: "up(1)   raw 1" in str(detail.content), "the detail")
        # r reads it now: the answer's notification names the label too
        await pilot.press("r")
        answer = "core-sw1 IF-MIB::ifOperStatus.1 = down(2)  (INTEGER)"
        await wait_for(pilot, lambda: notices.has(answer), "the read's notification")
