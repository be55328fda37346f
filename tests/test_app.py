"""Pilot tests of the Textual app: the Devices, OIDs and help screens.

Most tests drive the UI the way the app is meant to be fed, only through the bus:
:class:`CraftedRuntime` has configured devices but no pollers, and each test
publishes the events of ``docs/events.md`` itself. The last tests run the real
embedded demo (``Runtime(demo=True)``).

Waiting is bounded polling with ``pilot.pause()`` (:func:`wait_for`), never a
timed assertion.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.color import Color
from textual.geometry import Region
from textual.message import Message
from textual.notifications import Notify
from textual.strip import Strip
from textual.widgets import DataTable, Static

from console.app import FleettopApp
from console.bridge import UI_PROMPT_PATTERNS, Bridge
from console.config import Config, UiConfig
from console.events import Event, EventManager
from console.fleet import FleetState
from console.runtime import Runtime
from screens.command_line import Command, CommandLineScreen, parse_command
from screens.devices import DevicesScreen
from screens.help import HelpScreen, HelpSection, help_rows
from screens.navigation import help_sections
from screens.notifications import NotificationsScreen
from screens.oids import OidsScreen
from screens.startup import StartupErrorScreen
from screens.walk import WalkScreen
from tests.ui_helpers import (
    COMMUNITY,
    ENTERPRISE,
    FLEET,
    IF_IN_OCTETS_1,
    IF_PHYS_ADDRESS_1,
    SIZE,
    SYS_DESCR,
    SYS_UPTIME,
    T0,
    Crafted,
    CraftedRuntime,
    FakeBackend,
    Notices,
    attach,
    cell,
    devices_screen,
    make_app,
    poll,
    publish,
    read,
    screen_text,
    shown,
    shown_keys,
    status,
    wait_for,
)
from themes import FLEETTOP_THEME
from widgets.device_table import DeviceTable
from widgets.status_bar import RateMeter, StatusBar
from widgets.value_table import ValueTable, row_key

# -- the bridge's state (plain Python) ------------------------------------------------


def event(crafted: Crafted, seq: int) -> Event:
    """A crafted event as the bus would stamp it."""
    event_type, payload, source_timestamp = crafted
    return Event(event_type, payload, T0, source_timestamp, seq)


def test_state_folds_status_poll_and_reads() -> None:
    state = FleetState()
    changes = state.apply(
        [
            event(status("sw", "CONNECTING"), 1),
            event(status("sw", "CONNECTED", at=T0 + 1), 2),
            event(poll("sw", rtt=2.5, values=3, errors=1, polls=7), 3),
            event(read("sw", SYS_UPTIME, "TIME_TICKS", 100, cause="INTERROGATE"), 4),
            event(read("sw", SYS_UPTIME, "TIME_TICKS", 200, at=T0 + 5), 5),
        ]
    )
    assert changes.devices == {"sw"}
    assert changes.values == {("sw", SYS_UPTIME)}
    device = state.device("sw")
    assert (device.status, device.status_since) == ("CONNECTED", T0 + 1)
    assert (device.rtt_ms, device.values, device.errors, device.polls) == (2.5, 3, 1, 7)
    value = state.value(("sw", SYS_UPTIME))
    assert value is not None
    assert (value.value, value.changes, value.first_seen, value.last_change) == (
        200,
        1,
        T0,
        T0 + 5,
    )


def test_state_ignores_malformed_and_foreign_events() -> None:
    state = FleetState()
    changes = state.apply(
        [
            event((("snmp", "sw", "status"), "not a dict", None), 1),
            event((("snmp", "sw", "status"), {"status": 3}, None), 2),
            event((("snmp", "sw", "read", "1.3"), {"data": "nope"}, None), 3),
            event((("snmp", "sw", "read", "1.3"), {"cause": "CHANGE"}, None), 4),
            event((("log", "error"), {"message": "x", "source": "y"}, None), 5),
            event((("mqtt", "b", "message"), {"x": 1}, None), 6),
        ]
    )
    assert not changes
    assert len(state) == 0


def test_state_keeps_a_bounded_number_of_values() -> None:
    state = FleetState(value_limit=3)
    state.apply([event(read("sw", f"1.3.{i}", "INTEGER", i), i) for i in range(5)])
    assert len(state) == 3
    assert [v.oid for v in state.values("sw")] == ["1.3.2", "1.3.3", "1.3.4"]
    assert state.value(("sw", "1.3.0")) is None


def test_same_value_again_is_not_a_change() -> None:
    state = FleetState()
    state.apply([event(read("sw", "1.3", "INTEGER", 1), 1)])
    state.apply([event(read("sw", "1.3", "INTEGER", 1, cause="REQUESTED"), 2)])
    value = state.value(("sw", "1.3"))
    assert value is not None
    assert (value.changes, value.cause) == (0, "REQUESTED")


async def test_bridge_posts_one_message_per_pending_batch() -> None:
    """Batches that arrive while a message waits only add to its changes."""
    posted: list[object] = []

    class Target:
        def post_message(self, message: object) -> bool:
            posted.append(message)
            return True

    async with EventManager() as bus:
        bus.publish(*status("sw", "CONNECTED")[:2])
        bridge = Bridge(bus, Target(), FleetState(), frame=0.01)  # type: ignore[arg-type]
        bridge.open()
        assert len(posted) == 1  # the snapshot
        for i in range(3):
            bus.publish(*read("sw", f"1.3.{i}", "INTEGER", i)[:2])
            await bus.drain()
        assert len(posted) == 1
        changes = bridge.take_changes()
        assert changes.devices == {"sw"}
        assert changes.values == {("sw", "1.3.0"), ("sw", "1.3.1"), ("sw", "1.3.2")}
        bus.publish(*read("sw", "1.3.0", "INTEGER", 9)[:2])
        await bus.drain()
        assert len(posted) == 2
        [subscription] = bridge.subscriptions
        assert subscription.policy.value == "latest_per_type"
        bridge.close()
        assert not bus.subscriptions


async def test_bridge_folds_a_device_status_without_waiting_for_the_frame() -> None:
    """A device's connection status reaches the UI as soon as it is published (the
    app's prompt patterns), not when the frame's batch closes; the rest waits for it."""
    posted: list[object] = []
    arrived = asyncio.Event()

    class Target:
        def post_message(self, message: object) -> bool:
            posted.append(message)
            arrived.set()
            return True

    async with EventManager() as bus:
        state = FleetState()
        bridge = Bridge(
            bus,
            Target(),  # type: ignore[arg-type]
            state,
            frame=3600.0,  # a batch that never closes during the test
            prompt=UI_PROMPT_PATTERNS,
        )
        bridge.open()
        bus.publish(*read("sw", "1.3.0", "INTEGER", 1)[:2])
        bus.publish(*status("sw", "CONNECTED")[:2])
        async with asyncio.timeout(10):  # not a speed bound: without it, it never comes
            await arrived.wait()
        assert len(posted) == 1
        changes = bridge.take_changes()
        assert changes.devices == {"sw"}
        assert not changes.values  # the value waits for the frame
        assert state.device("sw").status == "CONNECTED"
        bridge.close()


def test_rate_meter() -> None:
    meter = RateMeter()
    assert meter.sample(10.0, 100) is None
    assert meter.sample(10.0, 150) is None  # no time passed: no rate
    assert meter.sample(12.0, 160) == 30.0
    assert meter.sample(13.0, 160) == 0.0


def test_help_rows_apply_the_keymap() -> None:
    rows = help_rows(
        help_sections(FleettopApp), {"app.help": "h,f1"}, lambda b: b.key_display or b.key
    )
    by_id = {row.binding_id: row for row in rows}
    assert by_id["app.help"].keys == "h / f1"
    assert by_id["app.quit"].keys == "q"
    assert by_id["devices.open"].description == "OIDs"
    assert all(row.description for row in rows)


def test_every_app_binding_has_an_id_and_a_description() -> None:
    sections = [s for s in help_sections(FleettopApp) if s.title != "Tables"]
    own = [b for s in sections for b in s.bindings if not b.key.startswith("ctrl+")]
    assert own
    for binding in own:
        assert binding.id, binding
        assert binding.description, binding


def test_help_section_takes_only_own_bindings() -> None:
    section = HelpSection.of("OIDs", ValueTable)
    assert section.bindings == ()


# -- Pilot: the Devices screen --------------------------------------------------------


async def test_rows_exist_from_config_before_any_event() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        assert shown_keys(table) == ["core-sw1", "ap-lobby", "ups-1"]
        assert cell(table, "core-sw1", "address") == "127.0.0.1:16101"
        assert cell(table, "core-sw1", "protocol") == "SNMP v2c"
        assert cell(table, "ups-1", "protocol") == "SNMP v1"
        assert cell(table, "ap-lobby", "status") == "—"
        assert "connected 0/3" in str(screen.query_one(StatusBar).content)


async def test_status_events_update_rows_in_place_with_colours() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        index = table.get_row_index("ap-lobby")
        theme = FLEETTOP_THEME

        def colour(row: str) -> str:
            """The theme colour (success, warning, error) nearest the status cell's."""
            style = table.get_cell(row, "status").style
            assert not isinstance(style, str)
            assert style.color is not None
            assert style.color.triplet is not None
            rgb = tuple(style.color.triplet)
            palette = {"success": theme.success, "warning": theme.warning, "error": theme.error}

            def distance(name: str) -> int:
                other = Color.parse(palette[name] or "#000000").rgb
                return sum(abs(a - b) for a, b in zip(rgb, other, strict=True))

            return min(palette, key=distance)

        publish(app, status("ap-lobby", "CONNECTING"))
        await wait_for(pilot, lambda: cell(table, "ap-lobby", "status") == "CONNECTING", "yellow")
        assert colour("ap-lobby") == "warning"

        publish(app, status("ap-lobby", "CONNECTED", at=T0 + 1))
        await wait_for(pilot, lambda: cell(table, "ap-lobby", "status") == "CONNECTED", "green")
        assert colour("ap-lobby") == "success"

        reason = "no response after 2 tries (timeout 0.5 s)"
        publish(app, status("ap-lobby", "DISCONNECTED", reason, at=T0 + 2))
        await wait_for(pilot, lambda: cell(table, "ap-lobby", "status") == "DISCONNECTED", "red")
        assert colour("ap-lobby") == "error"
        assert cell(table, "ap-lobby", "reason") == reason

        assert table.row_count == 3
        assert table.get_row_index("ap-lobby") == index

        table.move_cursor(row=index)
        detail = screen.query_one("#device-detail", Static)
        await wait_for(pilot, lambda: reason in str(detail.content), "the reason in the detail")
        assert "DISCONNECTED since 22:13:22" in str(detail.content)


async def test_poll_events_fill_the_statistics() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        publish(app, poll("core-sw1", rtt=12.345, values=32, errors=1234, polls=9, at=T0 + 61))
        await wait_for(pilot, lambda: cell(table, "core-sw1", "rtt") == "12.3", "the poll")
        assert cell(table, "core-sw1", "last_poll") == "22:14:21"
        assert cell(table, "core-sw1", "values") == "32"
        assert cell(table, "core-sw1", "errors") == "1,234"


async def test_unconfigured_device_gets_a_row() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        publish(app, status("stray", "CONNECTED"))
        await wait_for(pilot, lambda: "stray" in table.rows, "the stray row")
        assert cell(table, "stray", "address") == "—"
        assert "connected 1/4" in str(screen.query_one(StatusBar).content)


async def test_snapshot_is_shown_on_open() -> None:
    """Events published before the UI subscribed show at once."""
    app = make_app(
        seed=[status("ups-1", "CONNECTED"), poll("ups-1", rtt=1, values=2, errors=0, polls=1)]
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        assert cell(table, "ups-1", "status") == "CONNECTED"
        assert cell(table, "ups-1", "values") == "2"


async def test_community_is_never_displayed() -> None:
    app = make_app(
        seed=[status("core-sw1", "CONNECTED"), read("core-sw1", SYS_UPTIME, "TIME_TICKS", 1)]
    )
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        assert COMMUNITY not in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        assert COMMUNITY not in screen_text(app)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help")
        assert COMMUNITY not in screen_text(app)


async def test_status_bar_counts_and_shows_drops() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        bar = screen.query_one(StatusBar)
        publish(app, status("core-sw1", "CONNECTED"), status("ups-1", "CONNECTED"))
        await wait_for(pilot, lambda: "connected 2/3" in str(bar.content), "2/3 connected")
        # A stuck coalescing subscriber with room for one event type drops the rest.
        stuck = asyncio.Event()

        async def stuck_handler(_: object) -> None:
            await stuck.wait()

        app.runtime.bus.subscribe(("x", "?"), stuck_handler, policy="latest_per_type", maxsize=1)
        for i in range(5):
            app.runtime.bus.publish(("x", str(i)), i)
        assert app.runtime.bus.dropped >= 3
        await wait_for(pilot, lambda: "dropped 0" not in str(bar.content), "the drop count")
        assert f"dropped {app.runtime.bus.dropped}" in str(bar.content)
        stuck.set()


# -- Pilot: the OIDs screen and navigation --------------------------------------------


async def test_enter_opens_the_oids_of_the_highlighted_device_and_escape_returns() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        publish(
            app,
            read("core-sw1", SYS_UPTIME, "TIME_TICKS", 100),
            read("ap-lobby", SYS_UPTIME, "TIME_TICKS", 555),
            read("ap-lobby", IF_IN_OCTETS_1, "COUNTER", 1_000_000),
        )
        await wait_for(pilot, lambda: len(app.state) == 3, "three values")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        oids = app.screen
        assert isinstance(oids, OidsScreen)
        assert oids.device == "ap-lobby"
        table = oids.query_one(ValueTable)
        await wait_for(pilot, lambda: table.row_count == 2, "two rows")
        assert shown_keys(table) == [
            row_key(("ap-lobby", SYS_UPTIME)),
            row_key(("ap-lobby", IF_IN_OCTETS_1)),
        ]
        assert cell(table, row_key(("ap-lobby", SYS_UPTIME)), "value") == "0d 00:00:05.55"
        assert cell(table, row_key(("ap-lobby", IF_IN_OCTETS_1)), "value") == "1,000,000"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on the devices")


async def test_devices_screen_previews_the_live_values_of_the_highlighted_device() -> None:
    """The first screen shows live OIDs at once: the highlighted device's values, updated
    in place, and another device's when the cursor moves."""
    app = make_app(
        seed=[
            read("core-sw1", SYS_UPTIME, "TIME_TICKS", 100),
            read("ap-lobby", SYS_UPTIME, "TIME_TICKS", 555),
            read("ap-lobby", IF_IN_OCTETS_1, "COUNTER", 7),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        preview = screen.query_one("#preview", ValueTable)
        core_uptime = row_key(("core-sw1", SYS_UPTIME))
        await wait_for(pilot, lambda: preview.row_count == 1, "core-sw1's value")
        assert cell(preview, core_uptime, "value") == "0d 00:00:01.00"
        publish(app, read("core-sw1", SYS_UPTIME, "TIME_TICKS", 200))
        await wait_for(
            pilot, lambda: cell(preview, core_uptime, "value") == "0d 00:00:02.00", "update"
        )
        publish(app, read("ap-lobby", SYS_UPTIME, "TIME_TICKS", 777))  # not previewed: no row
        await pilot.pause(0.1)
        assert shown_keys(preview) == [core_uptime]
        await pilot.press("down")
        await wait_for(pilot, lambda: preview.device == "ap-lobby", "the preview to follow")
        assert shown_keys(preview) == [
            row_key(("ap-lobby", SYS_UPTIME)),
            row_key(("ap-lobby", IF_IN_OCTETS_1)),
        ]
        assert cell(preview, row_key(("ap-lobby", SYS_UPTIME)), "value") == "0d 00:00:07.77"


async def test_the_device_rows_paint_before_the_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    """At start the devices' rows (their status) come in a frame of their own: the
    preview of the highlighted device's values, most of the screen's first frame,
    fills once that frame is drawn (issue 11 §6)."""
    preview_rows_at_first_paint: list[int] = []
    render_lines = DeviceTable.render_lines

    def spy(table: DeviceTable, crop: Region) -> list[Strip]:
        if table.row_count and not preview_rows_at_first_paint:
            preview = table.screen.query_one("#preview", ValueTable)
            preview_rows_at_first_paint.append(preview.row_count)
        return render_lines(table, crop)

    monkeypatch.setattr(DeviceTable, "render_lines", spy)
    app = make_app(seed=[read("core-sw1", SYS_UPTIME, "TIME_TICKS", 100)])
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        preview = screen.query_one("#preview", ValueTable)
        await wait_for(pilot, lambda: preview.row_count == 1, "core-sw1's value")
    assert preview_rows_at_first_paint == [0]


async def test_values_update_in_place() -> None:
    app = make_app(seed=[read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 1, cause="INTERROGATE")])
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        table = app.screen.query_one(ValueTable)
        key = row_key(("core-sw1", IF_IN_OCTETS_1))
        await wait_for(pilot, lambda: key in table.rows, "the row")
        assert cell(table, key, "cause") == "INTERROGATE"
        assert cell(table, key, "changes") == "0"
        assert cell(table, key, "changed") == "22:13:20"
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 2000, at=T0 + 2))
        await wait_for(pilot, lambda: cell(table, key, "changes") == "1", "the first change")
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 3000, at=T0 + 3))
        await wait_for(pilot, lambda: cell(table, key, "changes") == "2", "the second change")
        assert cell(table, key, "value") == "3,000"
        assert cell(table, key, "cause") == "CHANGE"
        assert cell(table, key, "changed") == "22:13:23"
        assert table.row_count == 1


async def test_values_show_mib_names_types_and_no_markup() -> None:
    app = make_app(
        seed=[
            read("core-sw1", SYS_DESCR, "STRING", "[bold]sw[/] 5.10\r\nbuild"),
            read("core-sw1", IF_PHYS_ADDRESS_1, "STRING_HEX", "001a2b3c4d5e"),
            read("core-sw1", ENTERPRISE, "ERROR", "NO_SUCH_OBJECT"),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        table = app.screen.query_one(ValueTable)
        descr = row_key(("core-sw1", SYS_DESCR))
        await wait_for(pilot, lambda: cell(table, descr, "name") != "", "the MIB name")
        assert cell(table, descr, "name") == "SNMPv2-MIB::sysDescr.0"
        assert cell(table, descr, "value") == "[bold]sw[/] 5.10\\r\\nbuild"
        assert cell(table, descr, "type") == "STRING"
        mac = row_key(("core-sw1", IF_PHYS_ADDRESS_1))
        assert cell(table, mac, "value") == "00 1a 2b 3c 4d 5e"
        assert cell(table, row_key(("core-sw1", ENTERPRISE)), "name") == ""
        # numeric OID order, not arrival order
        assert shown_keys(table)[0] == descr


async def test_all_devices_view() -> None:
    app = make_app(
        seed=[
            read("ups-1", SYS_UPTIME, "TIME_TICKS", 1),
            read("core-sw1", SYS_UPTIME, "TIME_TICKS", 2),
        ]
    )
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        oids = app.screen
        assert isinstance(oids, OidsScreen)
        assert oids.device is None
        table = oids.query_one(ValueTable)
        assert [cell(table, k or "", "device") for k in shown_keys(table)] == ["core-sw1", "ups-1"]


async def test_hidden_devices_screen_catches_up_on_return() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        publish(app, status("ups-1", "CONNECTED"))
        await wait_for(pilot, lambda: app.state.device("ups-1").status == "CONNECTED", "state")
        assert cell(table, "ups-1", "status") == "—"  # hidden: no rendering work
        await pilot.press("escape")
        await wait_for(pilot, lambda: cell(table, "ups-1", "status") == "CONNECTED", "catch up")


# -- Pilot: help, keymap, lifecycle ---------------------------------------------------


async def test_question_mark_opens_help_listing_the_bindings() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help")
        table = app.screen.query_one("#help-table", DataTable)
        rows = {table.get_row_at(i)[3].plain: table.get_row_at(i) for i in range(table.row_count)}
        for binding_id in ("app.quit", "app.help", "devices.open", "devices.all_oids",
                           "screen.back"):  # fmt: skip
            assert binding_id in rows
        assert rows["app.help"][1].plain == "?"
        assert rows["app.quit"][1].plain == "q"
        assert rows["devices.open"][2].plain == "OIDs"
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "help closed")


async def test_keymap_from_config_remaps_bindings() -> None:
    config = Config(devices=FLEET, ui=UiConfig(keymap={"app.help": "h", "devices.open": "o"}))
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, DevicesScreen)
        await pilot.press("h")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help on h")
        table = app.screen.query_one("#help-table", DataTable)
        keys = {
            table.get_row_at(i)[3].plain: table.get_row_at(i)[1].plain
            for i in range(table.row_count)
        }
        assert keys["app.help"] == "h"
        assert keys["devices.open"] == "o"
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "help closed")
        await pilot.press("down", "o")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "OIDs on o")
        assert isinstance(app.screen, OidsScreen)
        assert app.screen.device == "ap-lobby"


async def test_bad_ui_config_is_reported_not_fatal() -> None:
    notices: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notices.append(str(message.notification.message))

    config = Config(devices=FLEET, ui=UiConfig(theme="no-such-theme", keymap={"[nope]": "z"}))
    app = make_app(config)
    async with app.run_test(size=SIZE, notifications=True, message_hook=hook) as pilot:
        await devices_screen(pilot)
        await wait_for(pilot, lambda: len(notices) >= 2, "two warnings")
        assert app.theme == "fleettop"
    assert "ui.theme: unknown theme 'no-such-theme'" in notices
    assert "ui.keymap: unknown binding id '[nope]'" in notices


async def test_quit_closes_the_runtime() -> None:
    app = make_app()
    runtime = app.runtime
    assert isinstance(runtime, CraftedRuntime)
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        await pilot.press("q")
    assert runtime.closed == 1
    assert runtime.bus.closed
    assert app.return_code == 0


async def test_startup_failure_is_shown_not_raised() -> None:
    app = make_app(fail=OSError("cannot bind 127.0.0.1:161: permission denied"))
    runtime = app.runtime
    assert isinstance(runtime, CraftedRuntime)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shown(app, StartupErrorScreen), "error screen")
        text = str(app.screen.query_one("#startup-error-text", Static).content)
        assert text == "OSError: cannot bind 127.0.0.1:161: permission denied"
        await pilot.press("q")
    assert runtime.closed == 1
    assert app.return_code == 1


# -- Pilot: the real demo -------------------------------------------------------------


@pytest.mark.timeout(90)
async def test_demo_values_change_on_screen() -> None:
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        names = shown_keys(table)
        assert names[:3] == ["core-sw1", "ap-lobby", "ups-1"]
        await wait_for(
            pilot,
            lambda: cell(table, "core-sw1", "status") == "CONNECTED",
            "core-sw1 up",
            attempts=1500,
        )
        await wait_for(pilot, lambda: cell(table, "core-sw1", "values") != "—", "a poll")
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
        oids = app.screen
        assert isinstance(oids, OidsScreen)
        assert oids.device == "core-sw1"
        values = oids.query_one(ValueTable)
        uptime = row_key(("core-sw1", SYS_UPTIME))
        await wait_for(pilot, lambda: uptime in values.rows, "sysUpTime", attempts=1000)
        first = cell(values, uptime, "value")
        await wait_for(
            pilot,
            lambda: cell(values, uptime, "value") != first,
            "sysUpTime to move",
            attempts=1000,
        )
        assert cell(values, uptime, "type") == "TIME_TICKS"
        assert cell(values, uptime, "value").startswith("0d ")
        await wait_for(pilot, lambda: cell(values, uptime, "name") != "", "MIB name", attempts=1000)
        assert cell(values, uptime, "name") == "SNMPv2-MIB::sysUpTime.0"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on the devices")
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.parametrize("freeze", [False, True])
async def test_the_gc_policy_is_installed_only_when_asked_and_undone_at_exit(
    freeze: bool,
) -> None:
    import gc

    gc.unfreeze()
    app = make_app()
    app.freeze_heap = freeze
    try:
        async with app.run_test(size=SIZE) as pilot:
            await devices_screen(pilot)
            await pilot.pause()
            # the app, its screens and the runtime are in the permanent generation
            assert (gc.get_freeze_count() > 0) is freeze
            assert app.gc_policy.installed is freeze
        assert not app.gc_policy.installed
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()  # the test process runs many apps: give it its collector back


async def test_a_start_with_the_collector_paused_turns_it_back_on() -> None:
    """The command line starts the UI with the cyclic collector off (``gc_paused``);
    the app turns it back on, its policy installed, once the runtime has started."""
    import gc

    from tests.ui_helpers import FLEET, CraftedRuntime, fake_mib_names, fixed_clock

    gc.unfreeze()
    gc.disable()
    app = FleettopApp(
        CraftedRuntime(Config(devices=FLEET)),
        clock=fixed_clock(),
        mib_names=fake_mib_names(),
        freeze_heap=True,
        gc_paused=True,
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await devices_screen(pilot)
            await wait_for(pilot, gc.isenabled, "the collector back")
            assert app.gc_policy.installed
            assert gc.get_freeze_count() > 0
        assert not app.gc_policy.installed
    finally:
        gc.enable()
        gc.unfreeze()


async def test_help_lists_each_line_once_and_shows_whole_ids() -> None:
    rows = help_rows(help_sections(FleettopApp), {}, lambda b: b.key_display or b.key)
    lines = [(row.section, row.keys, row.description, row.binding_id) for row in rows]
    assert len(lines) == len(set(lines))  # the dialogs' escape Cancel: once
    assert [line[1:] for line in lines if line[0] == "Dialogs"].count(
        ("escape", "Cancel", "screen.cancel")
    ) <= 1
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await devices_screen(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help")
        table = app.screen.query_one("#help-table", DataTable)
        await pilot.pause()
        # every column fits: no id is cut at the box's edge (page_dow)
        assert table.virtual_size.width <= table.scrollable_content_region.width


def test_command_line_parses_k9s_commands() -> None:
    assert parse_command("devices") == Command("devices")
    assert parse_command(":prop") == Command("properties")
    assert parse_command("q") == Command("quit")
    assert parse_command("walk 1.3.6.1.2.1.1") == Command("walk", ("1.3.6.1.2.1.1",))
    assert parse_command("walk sysName core-sw1") == Command("walk", ("sysName", "core-sw1"))
    for bad, why in (("", "type a command"), ("bogus", "unknown command"), ("walk", "needs")):
        with pytest.raises(ValueError, match=why):
            parse_command(bad)


async def test_colon_command_line_navigates_and_completes() -> None:
    notices = Notices()
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        devices = await devices_screen(pilot)
        attach(app, FakeBackend("core-sw1", app.runtime.bus))
        await pilot.press("colon")
        await wait_for(pilot, lambda: shown(app, CommandLineScreen), "the command line")
        await pilot.press(*"noti", "tab", "enter")  # completed to notifications
        await wait_for(pilot, lambda: shown(app, NotificationsScreen), "the Notifications")
        await pilot.press("colon", *"devices", "enter")
        await wait_for(pilot, lambda: app.screen is devices, "back on the Devices")
        await pilot.press("colon", *"bogus", "enter")
        await wait_for(pilot, lambda: notices.has("unknown command 'bogus'"), "the refusal")
        assert app.screen is devices
        await pilot.press("colon", *"walk 1.3.6.1.2.1.1", "enter")
        await wait_for(pilot, lambda: shown(app, WalkScreen), "the walk")
        assert isinstance(app.screen, WalkScreen)
        assert (app.screen.device, app.screen.root) == ("core-sw1", "1.3.6.1.2.1.1")
