"""The device table under a busy fleet (``widgets/row_table.py``,
``widgets/device_table.py``), in a real Textual app (Pilot): rows out of view are
written when they scroll into view, a column widens at once for a wider value and
shrinks once its values got narrower, and every cell shows the last value given."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

import screens.devices
from console.config import Config, DeviceConfig
from console.fleet import DeviceState
from console.format import Clock
from tests.ui_helpers import FLEET, SIZE, devices_screen, make_app, publish, status, wait_for
from tests.ui_helpers import cell as ui_cell
from widgets.device_table import DeviceTable
from widgets.row_table import FIT_SECONDS

NAMES = [f"dev{i:03d}" for i in range(200)]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DeviceTable([DeviceConfig(name) for name in NAMES], Clock(), id="devices")


def cell(table: DeviceTable, name: str, column: str) -> str:
    value = table.get_cell(name, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_rows_out_of_view_are_written_when_scrolled_to() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(DeviceTable)
        await pilot.pause()
        table.show(DeviceState(name, status="CONNECTED", errors=7) for name in NAMES)
        assert cell(table, NAMES[0], "status") == "CONNECTED"
        last = NAMES[-1]
        assert cell(table, last, "status") != "CONNECTED"  # out of view: not yet
        table.move_cursor(row=len(NAMES) - 1)  # scrolls to the end
        for _ in range(50):
            await pilot.pause()
            if cell(table, last, "status") == "CONNECTED":
                break
        assert cell(table, last, "status") == "CONNECTED"
        assert cell(table, last, "errors") == "7"
        # a newer state while out of view replaces the noted one
        table.show([DeviceState(NAMES[0], status="DISCONNECTED", errors=9)])
        table.move_cursor(row=0)
        for _ in range(50):
            await pilot.pause()
            if cell(table, NAMES[0], "status") == "DISCONNECTED":
                break
        assert (cell(table, NAMES[0], "status"), cell(table, NAMES[0], "errors")) == (
            "DISCONNECTED",
            "9",
        )


async def test_a_column_widens_at_once_and_shrinks_later() -> None:
    app = TableApp()
    async with app.run_test(size=(200, 30)) as pilot:
        table = app.query_one(DeviceTable)
        await pilot.pause()
        reason = table.columns[next(k for k in table.columns if k.value == "reason")]
        narrow = reason.content_width
        table.show([DeviceState(NAMES[0], reason="x" * 40)])
        await pilot.pause()
        assert reason.content_width == 40
        table.show([DeviceState(NAMES[0], reason="short")])
        await pilot.pause()
        assert reason.content_width == 40  # not re-measured at every narrower value
        fitted = max(narrow, len("short"))
        for _ in range(int(FIT_SECONDS * 40)):  # its timer: FIT_SECONDS, then a frame
            await pilot.pause(0.05)
            if reason.content_width == fitted:
                break
        assert reason.content_width == fitted


async def test_a_status_change_shows_at_once_whatever_the_row_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Devices screen rewrites rows at most every ROWS_SECONDS, but a device's
    new status is never held back: made an hour here, a second status must still
    show (the first of a quiet spell shows at once either way)."""
    monkeypatch.setattr(screens.devices, "ROWS_SECONDS", 3600.0)
    app = make_app(Config(devices=FLEET))
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        publish(app, status("core-sw1", "CONNECTED"))
        await wait_for(pilot, lambda: ui_cell(table, "core-sw1", "status") == "CONNECTED", "up")
        publish(app, status("core-sw1", "DISCONNECTED", "timeout"))
        await wait_for(
            pilot, lambda: ui_cell(table, "core-sw1", "status") == "DISCONNECTED", "down at once"
        )
