"""Pilot tests of the Notifications screen: the stream (mask, filters, pause, detail,
copy, export), the alarms (ack, ack-all), the unacknowledged count in the status bar
and the worst alarm on a device row; plus the fleet state's alarm folding.

The runtime is a :class:`CraftedRuntime` with a real
:class:`~console.notifications.center.NotificationCenter` and
:class:`~console.notifications.alarms.AlarmBook` over its bus; the tests publish the
events of ``docs/events.md`` themselves. Waiting is bounded polling, never a timed
assertion.
"""

from __future__ import annotations

import asyncio
import base64
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Input, Select, Static, TabbedContent

from console.app import FleettopApp
from console.bridge import NotificationFeed
from console.config import AlarmsConfig, Config, MonitorConfig, NotificationsConfig, UiConfig
from console.events import Event, JsonValue
from console.fleet import FleetState
from console.notifications.alarms import AlarmBook
from console.notifications.center import NotificationCenter
from console.notifications.export import read_notifications_csv, read_notifications_jsonl
from console.notifications.model import Category, Notification, Severity, classify
from console.notifications.monitors import MonitorSet
from console.notifications.storage import NotificationLog
from console.store import PropertyStore
from screens.confirm import ConfirmScreen
from screens.devices import DevicesScreen
from screens.export import ExportScreen
from screens.notifications import ALARMS_TAB, STREAM_TAB, NotificationsScreen, monitor_tab
from tests.ui_helpers import (
    FLEET,
    IF_PHYS_ADDRESS_1,
    SIZE,
    T0,
    Crafted,
    CraftedRuntime,
    cell,
    devices_screen,
    fake_mib_names,
    fixed_clock,
    focused,
    publish,
    screen_text,
    shown,
    status,
    wait_for,
)
from widgets import notification_pane
from widgets.alarm_table import AlarmTable
from widgets.category_mask import CategoryMask
from widgets.device_table import DeviceTable
from widgets.mib_names import MibNames
from widgets.notification_list import HISTORY_MARK, notification_line, snmp_oid
from widgets.notification_pane import NotificationPane
from widgets.status_bar import StatusBar

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX_1 = "1.3.6.1.2.1.2.2.1.1.1"
BINARY = b"\x00\x01\x02\xffABC"


class NotifyingRuntime(CraftedRuntime):
    """A crafted runtime with a notification center and an alarm book on its bus."""

    def __init__(
        self, config: Config | None = None, *, store: Path | None = None, ring: int = 1000
    ) -> None:
        super().__init__(config or Config(devices=FLEET))
        self._store_path = store
        self._ring = ring
        self.store: PropertyStore | None = None
        self.notifications: NotificationCenter | None = None
        self.alarms: AlarmBook | None = None
        self.monitors: MonitorSet | None = None

    async def start(self) -> None:
        """The bus, then the center, the alarm book and the monitors."""
        await super().start()
        log = None
        if self._store_path is not None:
            self.store = await PropertyStore.open(self._store_path, batch_window=0.01)
            log = NotificationLog(self.store)
        self.notifications = NotificationCenter(
            self.bus, ring_size=self._ring, batch_duration=0.01, log=log, replay=self._ring
        )
        await self.notifications.start()
        self.alarms = AlarmBook(self.bus, AlarmsConfig(), clock=lambda: T0 + 60)
        await self.alarms.start()
        self.monitors = MonitorSet(self.bus, self.config.monitors, ring_size=1000)
        await self.monitors.start()

    async def aclose(self) -> None:
        """Close the monitors, the book and the center, then the bus."""
        for part in (self.monitors, self.alarms, self.notifications):
            if part is not None:
                await part.aclose()
        if self.store is not None:
            await self.store.aclose()
        await super().aclose()


def make_app(
    config: Config | None = None, *, store: Path | None = None, ring: int = 1000
) -> FleettopApp:
    """An app over a :class:`NotifyingRuntime` with a fixed clock."""
    runtime = NotifyingRuntime(config, store=store, ring=ring)
    return FleettopApp(runtime, clock=fixed_clock(), mib_names=fake_mib_names())


def trap(device: str = "core-sw1", *, if_index: int = 1) -> Crafted:
    """A linkDown trap with a named and an unnamed varbind."""
    payload: JsonValue = {
        "sender": "127.0.0.1:16101",
        "version": "V2C",
        "user": None,
        "inform": False,
        "trap_oid": LINK_DOWN,
        "trap_name": "IF-MIB::linkDown",
        "uptime": 4200,
        "varbinds": [
            {"oid": IF_INDEX_1, "name": "IF-MIB::ifIndex.1", "type": "INTEGER", "value": if_index},
            {"oid": IF_PHYS_ADDRESS_1, "name": None, "type": "OCTET_STRING", "value": "00:11"},
        ],
        "v1": None,
    }
    return (("snmp", device, "trap", LINK_DOWN), payload, T0)


def message(topic: str = "site/bin", data: bytes = BINARY) -> Crafted:
    """An MQTT message on the broker ``plant``."""
    payload: JsonValue = {
        "broker": "plant",
        "device": None,
        "topic": topic,
        "payload": base64.b64encode(data).decode(),
        "size": len(data),
        "qos": 1,
        "retain": False,
        "properties": None,
        "received": T0,
    }
    return (("mqtt", "@plant", "message", *topic.split("/")), payload, T0)


def log(text: str) -> Crafted:
    """A warning of fleettop's own."""
    return (("log", "warning"), {"message": text, "source": "test"}, T0)


async def open_notifications(pilot: Any) -> NotificationsScreen:
    """From the Devices screen, ``N``; wait until the screen shows."""
    app = pilot.app
    await devices_screen(pilot)
    await pilot.press("N")
    await wait_for(pilot, lambda: shown(app, NotificationsScreen), "notifications screen")
    screen = app.screen
    assert isinstance(screen, NotificationsScreen)
    await wait_for(pilot, lambda: screen.stream is not None, "the stream pane")
    return screen


def stream(screen: NotificationsScreen) -> NotificationPane:
    """The Stream tab's pane."""
    pane = screen.stream
    assert pane is not None
    return pane


def drawn(pane: NotificationPane) -> list[Notification]:
    """The entries the list widget holds."""
    return list(pane.entry_list.rows)


def categories(pane: NotificationPane) -> set[Category]:
    """The categories of the entries drawn."""
    return {n.category for n in drawn(pane)}


async def fill(pilot: Any, app: FleettopApp, pane: NotificationPane, *events: Crafted) -> None:
    """Publish ``events`` and wait until the list has drawn as many more entries."""
    before = len(drawn(pane))
    publish(app, *events)
    await wait_for(pilot, lambda: len(drawn(pane)) >= before + len(events), "entries drawn")


# -- the fleet state's alarms (plain Python) --------------------------------------------


def alarm_payload(alarm_id: int, device: str, severity: str, **changes: Any) -> dict[str, Any]:
    """An ``Alarm.to_payload()`` dict."""
    payload: dict[str, Any] = {
        "id": alarm_id,
        "key": f"k{alarm_id}",
        "rule": "trap",
        "device": device,
        "severity": severity,
        "message": "link down",
        "source": "snmp/x/trap",
        "raised_at": T0,
        "updated_at": T0,
        "count": 1,
        "cleared_at": None,
        "acked_at": None,
        "state": "active",
        "acked": False,
        "closed": False,
        "history": False,
        "value": None,
    }
    payload.update(changes)
    return payload


def alarm_event(payload: dict[str, Any], seq: int) -> Event:
    """The ``("alarm", DEVICE, ID)`` event of ``payload``."""
    return Event(("alarm", payload["device"], str(payload["id"])), payload, T0, None, seq)


def test_state_folds_alarms_worst_per_device_and_closing() -> None:
    state = FleetState()
    changes = state.apply(
        [
            alarm_event(alarm_payload(1, "sw", "warning"), 1),
            alarm_event(alarm_payload(2, "sw", "critical"), 2),
            alarm_event(alarm_payload(3, "@plant", "error"), 3),
        ]
    )
    assert changes.alarms
    assert changes.devices == {"sw"}
    assert "@plant" not in state.devices
    assert state.unacked == 3
    assert state.device("sw").alarm is Severity.CRITICAL
    assert state.alarms[2].state == "active"
    changes = state.apply(
        [alarm_event(alarm_payload(2, "sw", "critical", acked_at=T0 + 1, acked=True), 4)]
    )
    assert state.unacked == 2
    assert not changes.devices  # still the worst
    changes = state.apply(
        [
            alarm_event(
                alarm_payload(2, "sw", "critical", acked_at=T0 + 1, cleared_at=T0 + 2, closed=True),
                5,
            )
        ]
    )
    assert 2 not in state.alarms
    assert changes.devices == {"sw"}
    assert state.device("sw").alarm is Severity.WARNING
    state.apply([alarm_event(alarm_payload(1, "sw", "warning", closed=True), 6)])
    assert state.device("sw").alarm is None


def test_state_ignores_malformed_alarms() -> None:
    state = FleetState()
    changes = state.apply(
        [
            Event(("alarm", "sw", "1"), {"id": "one"}, T0, None, 1),
            Event(("alarm", "sw", "2"), "not a dict", T0, None, 2),
        ]
    )
    assert not changes
    assert not state.alarms


class _Listened:
    """A source that records its listener (what a center or monitor offers)."""

    def __init__(self) -> None:
        self.callback: Any = None
        self.stopped = False

    def listen(self, callback: Any) -> Any:
        self.callback = callback

        def unlisten() -> None:
            self.stopped = True

        return unlisten

    def deliver(self, batch: list[int]) -> None:
        """Call the listener with ``batch``, as the source would."""
        self.callback(batch)


class _Target:
    """Records the messages posted to it (stands for the pane)."""

    def __init__(self) -> None:
        self.posted: list[Any] = []

    def post_message(self, message: Any) -> bool:
        self.posted.append(message)
        return True


def test_notification_feed_posts_one_message_per_take_and_is_bounded() -> None:
    """The bridge's feed: batches join one buffer (the newest ``limit`` kept, the rest
    counted), one ``Arrived`` waits at a time, and closing stops listening."""
    source, target = _Listened(), _Target()
    feed: NotificationFeed[int] = NotificationFeed(source, target, limit=3)  # type: ignore[arg-type]
    assert source.callback is None
    feed.open()
    source.deliver([1, 2])
    source.deliver([3, 4])
    assert len(target.posted) == 1
    assert isinstance(target.posted[0], NotificationFeed.Arrived)
    assert target.posted[0].feed is feed
    assert (feed.take(), feed.dropped) == ([2, 3, 4], 1)
    assert feed.take() == []
    source.deliver([5])
    assert len(target.posted) == 2
    feed.close()
    assert source.stopped
    assert feed.take() == []


def test_history_entries_are_marked() -> None:
    live = Notification(1, T0, Category.LOG, Severity.INFO, "fleettop", ("log", "info"), {})
    old = Notification(
        -5, T0, Category.LOG, Severity.INFO, "fleettop", ("log", "info"), {}, history=True
    )
    assert HISTORY_MARK not in notification_line(live, fixed_clock())[0]
    assert HISTORY_MARK in notification_line(old, fixed_clock())[0]


# -- Pilot: the stream ---------------------------------------------------------------------


async def test_mask_toggles_by_key_and_click_with_counts() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, trap(), message(), log("disk almost full"))
        assert {Category.TRAP, Category.MESSAGE, Category.LOG} <= categories(pane)
        mask = pane.query_one(CategoryMask)
        await wait_for(pilot, lambda: mask.chip_text(Category.TRAP) == "1 trap 1", "trap count")
        assert mask.chip_text(Category.MESSAGE) == "2 message 1"

        await pilot.press("1")
        await wait_for(pilot, lambda: Category.TRAP not in categories(pane), "traps hidden")
        assert not mask.is_on(Category.TRAP)
        assert Category.MESSAGE in categories(pane)
        assert mask.chip_text(Category.TRAP) == "1 trap 1"  # still counted

        await pilot.click(f"#{pane.id} #mask-message")
        await wait_for(pilot, lambda: Category.MESSAGE not in categories(pane), "messages hidden")
        assert not mask.is_on(Category.MESSAGE)

        await pilot.press("1")
        await wait_for(pilot, lambda: Category.TRAP in categories(pane), "traps back")
        assert mask.is_on(Category.TRAP)
        assert Category.MESSAGE not in pane.filter.categories


async def test_device_text_and_regex_filters() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, trap("core-sw1"), trap("ap-lobby"), log("disk almost full"))

        await pilot.press("d")
        assert isinstance(screen.focused, Input)
        await pilot.press(*"ap-*")
        await wait_for(
            pilot, lambda: {n.device for n in drawn(pane)} == {"ap-lobby"}, "ap-lobby only"
        )
        await pilot.press("escape")
        assert focused(screen) is pane.entry_list

        pane.query_one(".notification-device", Input).value = ""
        await pilot.press("slash")
        await pilot.press(*"DISK")
        await wait_for(
            pilot, lambda: {n.category for n in drawn(pane)} == {Category.LOG}, "text filter"
        )

        text = pane.query_one(".notification-text", Input)
        text.value = "/trap/.*link(up|down)/"
        await wait_for(
            pilot,
            lambda: bool(drawn(pane)) and all(n.category is Category.TRAP for n in drawn(pane)),
            "regex filter",
        )
        count = len(drawn(pane))
        assert count == 2

        text.value = "/link(/"
        error = pane.query_one(".notification-filter-error", Static)
        await wait_for(pilot, lambda: "bad regular expression" in str(error.content), "error")
        assert pane.filter.text == "/trap/.*link(up|down)/"  # the previous filter stays
        assert len(drawn(pane)) == count

        text.value = ""
        await wait_for(pilot, lambda: not str(error.content), "error gone")
        assert len(drawn(pane)) >= 3


async def test_space_pauses_with_a_badge_and_resumes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, log("one"))
        await pilot.press("space")
        assert pane.paused
        frozen = drawn(pane)
        publish(app, log("two"), log("three"), log("four"))
        await wait_for(pilot, lambda: pane.arrived_while_paused == 3, "three counted")
        badge = pane.query_one(".notification-badge", Static)
        await wait_for(pilot, lambda: "3 new" in str(badge.content), "the badge")
        assert drawn(pane) == frozen

        await pilot.press("space")
        assert not pane.paused
        await wait_for(pilot, lambda: len(drawn(pane)) == len(frozen) + 3, "caught up")
        assert "following" in str(badge.content)
        assert pane.entry_list.highlighted is drawn(pane)[-1]

        # moving the cursor off the newest entry pauses too
        await pilot.press("up")
        assert pane.paused


def badge_count(badge: Static) -> int:
    """The number of new entries the pause badge shows (``-1``: following)."""
    text = str(badge.content)
    if not text.startswith("❚❚ paused · "):
        return -1
    return int(text.removeprefix("❚❚ paused · ").removesuffix(" new").replace(",", ""))


async def click_line(pilot: Any, pane: NotificationPane, line: int) -> Notification:
    """Click the ``line``-th visible line of the list; returns the entry drawn there."""
    entries = pane.entry_list
    region, content = entries.region, entries.content_region
    target = drawn(pane)[round(entries.scroll_y) + line]
    offset = (content.x - region.x + 2, content.y - region.y + line)
    assert await pilot.click(entries, offset=offset)
    return target


async def sixty_logs_shown(
    pilot: Any, app: FleettopApp
) -> tuple[NotificationCenter, NotificationPane]:
    """60 log entries in the center's ring, then the Notifications screen open with
    them drawn; returns the center and the stream pane."""
    await devices_screen(pilot)
    runtime = app.runtime
    assert isinstance(runtime, NotifyingRuntime)
    center = runtime.notifications
    assert center is not None
    publish(app, *(log(f"entry {i}") for i in range(60)))
    await wait_for(pilot, lambda: len(center.entries) >= 60, "the ring")
    screen = await open_notifications(pilot)
    pane = stream(screen)
    await wait_for(pilot, lambda: len(drawn(pane)) >= 60, "the ring drawn")
    return center, pane


async def test_moving_off_the_newest_entry_pauses_on_the_entry_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``up``, ``pageup``, ``home`` and a click while following, with arrivals waiting
    for the next frame (held back here: the frame never comes): the cursor stays on
    the entry the operator chose, the pane pauses, the badge counts what arrives;
    filter changes keep the entry; ``space`` follows again."""
    monkeypatch.setattr(notification_pane, "FRAME_SECONDS", 3600.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        center, pane = await sixty_logs_shown(pilot, app)
        entries = pane.entry_list
        height = entries.scrollable_content_region.height
        assert 2 < height < 60
        topics = iter(f"site/{i}" for i in range(1000))

        async def arrivals_waiting() -> None:
            publish(app, *(message(next(topics)) for _ in range(5)))
            await wait_for(
                pilot, lambda: len(pane.shown) == len(drawn(pane)) + 5, "arrivals waiting"
            )

        for action in ("up", "pageup", "home", "click"):
            rows = drawn(pane)
            assert not pane.paused
            assert entries.highlighted is rows[-1]
            await arrivals_waiting()
            if action == "click":
                chosen = await click_line(pilot, pane, 1)
            else:
                chosen = {"up": rows[-2], "pageup": rows[-height], "home": rows[0]}[action]
                await pilot.press(action)
            assert pane.paused, action
            assert entries.highlighted is chosen, action
            assert len(drawn(pane)) == len(rows) + 5  # what was in is shown, not new
            assert pane.badge == "❚❚ paused · 0 new"

            frozen = drawn(pane)
            publish(app, message(next(topics)), log("late"), log("later"))
            await wait_for(pilot, lambda: pane.arrived_while_paused == 3, "three counted")
            assert entries.highlighted is chosen, action
            assert drawn(pane) == frozen
            assert pane.badge == "❚❚ paused · 3 new"

            if action == "up":  # filters keep the entry while it matches
                await pilot.press("2")  # no messages
                await wait_for(pilot, lambda: Category.MESSAGE not in categories(pane), "hidden")
                assert entries.highlighted is chosen
                await pilot.press("2")
                await wait_for(pilot, lambda: Category.MESSAGE in categories(pane), "shown")
                assert entries.highlighted is chosen
                assert pane.paused

            await pilot.press("space")
            assert not pane.paused
            assert entries.highlighted is drawn(pane)[-1], action
            assert entries.highlighted is center.entries[-1]


async def test_home_at_the_cap_keeps_the_oldest_entry_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list holds as many entries as the ring (its cap) and five more wait for
    the next frame (held back here): ``home`` pauses, and drawing the waiting entries
    on pausing must not drop the oldest one, under the cursor (it used to: the cursor
    then fell back to the newest entry)."""
    monkeypatch.setattr(notification_pane, "FRAME_SECONDS", 3600.0)
    app = make_app(ring=60)
    async with app.run_test(size=SIZE) as pilot:
        center, pane = await sixty_logs_shown(pilot, app)
        entries = pane.entry_list
        assert len(drawn(pane)) == 60
        assert pane.ring_size == 60
        oldest = drawn(pane)[0]
        publish(app, *(message(f"site/{i}") for i in range(5)))
        await wait_for(pilot, lambda: pane.counts[Category.MESSAGE] == 5, "arrivals waiting")
        assert drawn(pane)[0] is oldest

        await pilot.press("home")
        assert pane.paused
        assert entries.highlighted is oldest
        assert entries.cursor == 0
        assert drawn(pane)[0] is oldest
        assert len(drawn(pane)) == 65  # what had arrived is shown, the chosen entry kept
        publish(app, log("late"))
        await wait_for(pilot, lambda: pane.arrived_while_paused == 1, "one counted")
        assert entries.highlighted is oldest

        await pilot.press("space")
        assert not pane.paused
        assert len(drawn(pane)) == 60
        assert entries.highlighted is drawn(pane)[-1] is center.entries[-1]


async def test_moving_off_the_newest_entry_pauses_under_a_live_stream() -> None:
    """A message every 20 ms (three per frame of the list): ``up``, ``pageup``, ``home`` and a click
    leave the cursor off the newest entry, on the same entry while paused."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        entries = pane.entry_list
        await fill(pilot, app, pane, *(log(f"entry {i}") for i in range(60)))
        badge = pane.query_one(".notification-badge", Static)
        stop = asyncio.Event()

        async def feed() -> None:
            count = 0
            while not stop.is_set():
                publish(app, message(f"site/{count}"))
                count += 1
                await asyncio.sleep(0.02)

        feeder = asyncio.create_task(feed())
        try:
            for action in ("up", "pageup", "home", "click"):
                # following; arrivals keep coming every 20 ms, so entries wait to be
                # drawn at most moments (the deterministic case is the test above)
                await wait_for(
                    pilot, lambda: not pane.paused and len(drawn(pane)) >= 2, "following"
                )
                if action == "click":
                    await click_line(pilot, pane, 1)
                else:
                    await pilot.press(action)
                assert pane.paused, action
                chosen = entries.highlighted
                frozen = drawn(pane)
                assert chosen is not None
                assert chosen is not frozen[-1], action
                if action == "home":
                    assert chosen is frozen[0]
                await wait_for(pilot, lambda: pane.arrived_while_paused >= 5, "arrivals counted")
                await wait_for(pilot, lambda: badge_count(badge) >= 5, "the badge counts")
                assert entries.highlighted is chosen, action
                assert drawn(pane) == frozen

                await pilot.press("space")
                assert not pane.paused
                assert entries.highlighted is drawn(pane)[-1]
        finally:
            stop.set()
            await feeder


async def test_detail_of_a_trap_shows_varbinds_with_mib_names_and_copies() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, trap())
        await pilot.press("2", "3", "4", "5", "6", "7", "8", "9")  # traps only
        await wait_for(pilot, lambda: categories(pane) == {Category.TRAP}, "traps only")
        detail = pane.detail
        await wait_for(pilot, lambda: "IF-MIB::ifPhysAddress.1" in detail.text, "MIB name")
        text = detail.text
        assert "varbinds:" in text
        assert "IF-MIB::ifIndex.1" in text
        assert IF_PHYS_ADDRESS_1 in text
        assert "IF-MIB::linkDown" in text

        await pilot.press("c")
        assert app.clipboard == text


async def test_detail_of_a_binary_message_is_a_hex_dump() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, message())
        pane.query_one(".notification-text", Input).value = "site/bin"
        await wait_for(
            pilot, lambda: categories(pane) == {Category.MESSAGE}, "the message selected"
        )
        detail = pane.detail
        await wait_for(pilot, lambda: "00 01 02 ff" in detail.text, "hex dump")
        assert "binary, 7 bytes" in detail.text
        assert "|....ABC|" in detail.text


async def test_export_writes_what_the_filter_shows(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        tricky = 'a "quoted", comma\nand a newline'
        await fill(pilot, app, pane, trap(), message(data=b'{"t": 21.5}'), log(tricky))
        await pilot.press("1")  # no traps
        await wait_for(pilot, lambda: Category.TRAP not in categories(pane), "traps hidden")
        expected = [n.id for n in pane.shown]

        def exported(count: int) -> bool:
            return screen.exports == count

        for name, reader in (
            ("out.jsonl", read_notifications_jsonl),
            ("out.csv", read_notifications_csv),
        ):
            done = screen.exports
            await pilot.press("e")
            await wait_for(pilot, lambda: shown(app, ExportScreen), "export dialog")
            if name.endswith(".csv"):
                app.screen.query_one("#export-format", Select).value = "csv"
                await pilot.pause()
            app.screen.query_one("#export-file", Input).value = str(tmp_path / name)
            await pilot.press("enter")
            await wait_for(pilot, partial(exported, done + 1), "export written")
            records = reader(tmp_path / name)
            assert [r["id"] for r in records] == expected
            assert all(r["category"] != "trap" for r in records)
            assert any(
                isinstance(r["payload"], dict) and r["payload"].get("message") == tricky
                for r in records
            )


# -- Pilot: alarms ---------------------------------------------------------------------------


async def test_alarms_tab_ack_and_ack_all() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        publish(app, trap("core-sw1"), status("ap-lobby", "DISCONNECTED", "timeout"))
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.active_tab == ALARMS_TAB, "alarms tab")
        table = screen.query_one(AlarmTable)
        await wait_for(pilot, lambda: table.row_count == 2, "two alarms")
        tabs_label = str(screen.query_one(TabbedContent).get_tab(ALARMS_TAB).label)
        assert "2 unacked" in tabs_label
        state = app.state
        by_device = {a.device: a for a in state.alarms.values()}
        disconnected = by_device["ap-lobby"]
        assert cell(table, str(disconnected.id), "severity") == "error"
        assert cell(table, str(disconnected.id), "state") == "active"
        assert cell(table, str(disconnected.id), "acked") == "no"

        table.move_cursor(row=table.get_row_index(str(disconnected.id)))
        await pilot.press("a")
        await wait_for(
            pilot, lambda: cell(table, str(disconnected.id), "acked") == "yes", "acknowledged"
        )
        assert state.unacked == 1
        assert table.row_count == 2  # active: it stays until it clears

        await pilot.press("A")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: state.unacked == 0, "all acknowledged")
        # the trap alarm had nothing to clear: acknowledged, it closed
        await wait_for(pilot, lambda: table.row_count == 1, "the trap alarm closed")
        await wait_for(
            pilot,
            lambda: "0 unacked" in str(screen.query_one(TabbedContent).get_tab(ALARMS_TAB).label),
            "tab label",
        )

        publish(app, status("ap-lobby", "CONNECTED"))
        await wait_for(pilot, lambda: table.row_count == 0, "cleared and acked: closed")


async def test_unacked_count_on_every_screen_and_worst_alarm_on_device_row() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        publish(app, trap("core-sw1"), status("ap-lobby", "DISCONNECTED", "timeout"))
        bar = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "alarms 2 unacked" in str(bar.content), "the count")
        table = screen.query_one(DeviceTable)
        await wait_for(pilot, lambda: cell(table, "ap-lobby", "alarm") == "error", "worst")
        assert cell(table, "core-sw1", "alarm") == "warning"
        assert cell(table, "ups-1", "alarm") == ""

        notifications = await open_notifications(pilot)
        other_bar = notifications.query_one(StatusBar)
        assert "alarms 2 unacked" in str(other_bar.content)
        await pilot.press("D")
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "back to devices")


async def test_screen_is_kept_and_keys_are_remappable() -> None:
    config = Config(devices=FLEET, ui=UiConfig(keymap={"notifications.pause": "p"}))
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await pilot.press("p")
        assert pane.paused
        await pilot.press("D")
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "devices")
        await pilot.press("N")
        await wait_for(pilot, lambda: shown(app, NotificationsScreen), "notifications again")
        assert app.screen is screen
        assert stream(screen).paused
        assert screen.active_tab == STREAM_TAB


async def test_monitor_tab_shows_only_its_topics() -> None:
    temps = MonitorConfig("temps", topics=("site/+/temp",), batch_size=5, batch_duration=0.01)
    app = make_app(Config(devices=FLEET, monitors=(temps,)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        await pilot.press("t", "t")
        await wait_for(pilot, lambda: screen.active_tab == monitor_tab(0), "the monitor tab")
        pane = screen.monitor_pane(0)
        assert pane.categories[-1] is Category.EVENT  # key 0
        publish(app, message("site/a/temp", b"21.5"), message("site/b/hum", b"40"), log("x"))
        publish(app, message("site/c/temp", b"19"))
        await wait_for(pilot, lambda: len(drawn(pane)) == 2, "two temperatures")
        assert [n.topic for n in drawn(pane)] == ["site/a/temp", "site/c/temp"]
        info = screen.query_one("#monitor-info-0", Static)
        await wait_for(pilot, lambda: "site/+/temp" in str(info.content), "the monitor's line")
        # the stream pane has everything
        assert len(stream(screen).shown) >= 4


async def test_history_is_replayed_marked_and_older_entries_load_from_the_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    app = make_app(store=path, ring=5)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        publish(app, *(log(f"entry {i}") for i in range(12)))
        await wait_for(
            pilot,
            lambda: [n.summary for n in drawn(pane)] == [f"entry {i}" for i in range(7, 12)],
            "the ring's five",
        )
        runtime = app.runtime
        assert isinstance(runtime, NotifyingRuntime)
        assert runtime.store is not None
        await runtime.store.flush()

        await pilot.press("o")
        # at most a ring's worth of older entries: the newest 5 of the 7 stored
        await wait_for(pilot, lambda: pane.older_loaded == 5, "older entries")
        assert pane.paused
        rows = drawn(pane)
        assert [n.summary for n in rows] == [f"entry {i}" for i in range(2, 12)]
        assert [n.history for n in rows] == [True] * 5 + [False] * 5
        assert pane.entry_list.highlighted is rows[-1]  # the cursor stayed on its entry

    again = make_app(store=path, ring=5)
    async with again.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await wait_for(pilot, lambda: len(drawn(pane)) == 5, "replayed entries")
        assert all(n.history for n in drawn(pane))
        assert HISTORY_MARK in screen_text(again)


def test_snmp_lines_name_their_oid_with_the_mibs() -> None:
    names = MibNames()  # the real resolver: pysnmp with the bundled IETF MIBs
    change = classify(
        Event(
            ("snmp", "sw1", "read", "1.3.6.1.2.1.1.3.0"),
            {"session_id": None, "cause": "CHANGE", "data": {"type": "TIME_TICKS", "value": 5}},
            T0,
            None,
            7,
        )
    )
    assert change is not None
    assert snmp_oid(change) == "1.3.6.1.2.1.1.3.0"
    name = names.resolve("1.3.6.1.2.1.1.3.0")
    assert name == "SNMPv2-MIB::sysUpTime.0"
    line = notification_line(change, fixed_clock(), name)[2]
    assert "SNMPv2-MIB::sysUpTime.0 changed to 5 (TIME_TICKS)" in line
    assert "1.3.6.1.2.1.1.3.0" not in line
    log = Notification(1, T0, Category.LOG, Severity.INFO, "fleettop", ("log", "info"), {})
    assert snmp_oid(log) is None


async def test_detail_follows_the_stream_slowly_and_the_operator_at_once() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = stream(await open_notifications(pilot))
        await fill(pilot, app, pane, *(log(f"entry {i}") for i in range(5)))
        # following: the detail catches up with the newest entry (throttled)
        await wait_for(
            pilot, lambda: pane.detail.notification is drawn(pane)[-1], "detail of the newest"
        )
        for burst in range(3):
            publish(app, *(log(f"burst {burst}.{i}") for i in range(4)))
            await pilot.pause(1 / 30)
        await wait_for(
            pilot, lambda: pane.detail.notification is drawn(pane)[-1], "detail catches up"
        )
        assert "burst 2.3" in pane.detail.text
        # the operator's choice shows at once, not after the follow-mode delay
        await pilot.press("up")
        assert pane.detail.notification is pane.entry_list.highlighted
        assert pane.entry_list.highlighted is drawn(pane)[-2]


# -- what a new user stumbled on (issue 11 §7) --------------------------------------------


def visible_text(widget: Widget) -> str:
    """The text a widget draws in its region (what is cut off is not there)."""
    lines = widget.render_lines(Region(0, 0, widget.region.width, widget.region.height))
    return "\n".join("".join(segment.text for segment in line) for line in lines)


async def test_a_regex_filters_as_typed_and_a_bad_one_keeps_the_last_good_one() -> None:
    """``/link(`` typed key by key: ``/link`` is the regular expression typed so far
    (not the plain text ``/link``, which matches nothing and used to stay in force),
    so the traps stay listed when ``(`` makes it bad; the reason shows whole."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, trap("core-sw1"), trap("ap-lobby"), log("disk almost full"))
        await pilot.press("slash")
        await pilot.press(*"/link")
        await wait_for(pilot, lambda: pane.filter.text == "/link/", "the regex typed so far")
        matching = drawn(pane)
        assert matching
        assert all(n.category is not Category.LOG for n in matching)
        await pilot.press("(")
        error = pane.query_one(".notification-filter-error", Static)
        await wait_for(pilot, lambda: "bad regular expression" in str(error.content), "error")
        assert pane.filter.text == "/link/"
        assert drawn(pane) == matching
        await pilot.pause()
        shown_text = " ".join(visible_text(error).split())
        assert shown_text == " ".join(str(error.content).split())  # whole, "at position 4"
        await pilot.press("backspace")
        await wait_for(pilot, lambda: not str(error.content), "error gone")
        assert not error.display


async def test_alarms_sorted_by_severity_then_time_cursor_on_the_first_and_visible() -> None:
    """The worst alarm first (then the newest); the cursor starts on it, and ``a``
    acknowledges it; the cursor row is marked without colour too (underlined)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_notifications(pilot)
        publish(app, trap("core-sw1"))
        await wait_for(pilot, lambda: len(app.state.alarms) == 1, "the trap alarm")
        publish(app, status("ap-lobby", "DISCONNECTED", "timeout"), trap("ups-1"))
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.active_tab == ALARMS_TAB, "alarms tab")
        table = screen.query_one(AlarmTable)
        await wait_for(pilot, lambda: table.row_count == 3, "three alarms")
        alarms = app.state.alarms
        severities = [alarms[i].severity for i in table.shown_ids]
        assert severities == sorted(severities, reverse=True)
        assert severities[0] is Severity.ERROR
        first = table.shown_ids[0]
        assert table.cursor_row == 0
        assert table.highlighted_alarm == first
        assert table.get_component_rich_style("datatable--cursor").underline

        await pilot.press("a")
        await wait_for(pilot, lambda: alarms[first].acked, "the first alarm acknowledged")
        assert sum(1 for a in alarms.values() if a.acked) == 1


async def test_at_80x24_the_summary_and_every_chip_show() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_notifications(pilot)
        pane = stream(screen)
        await fill(pilot, app, pane, log("disk almost full"), trap("core-sw1"))
        await pilot.pause()
        assert "disk almost full" in visible_text(pane.entry_list)
        mask = pane.query_one(CategoryMask)
        right = mask.region.right
        for category in mask.categories:
            chip = mask.query_one(f"#mask-{category.value}")
            assert chip.region.right <= right, category
            assert chip.region.width >= len(mask.chip_text(category)), category
        assert mask.chip_text(Category.LOG).startswith("7 log")


def value_change(device: str = "core-sw1", value: str = "noc") -> Crafted:
    """A polled SNMP value that changed (the ``property`` category)."""
    payload: JsonValue = {
        "session_id": None,
        "cause": "CHANGE",
        "data": {"type": "STRING", "value": value},
    }
    return (("snmp", device, "read", "1.3.6.1.2.1.1.4.0"), payload, T0)


async def test_the_stream_opens_with_the_configured_mask() -> None:
    # issue 11 §7: `property` made 87% of the demo's stream; by default it is off
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = stream(await open_notifications(pilot))
        mask = pane.query_one(CategoryMask)
        publish(app, value_change(), trap(), log("disk almost full"))
        await wait_for(pilot, lambda: mask.chip_text(Category.PROPERTY) == "6 property 1", "count")
        await wait_for(pilot, lambda: {Category.TRAP, Category.LOG} <= categories(pane), "drawn")
        assert Category.PROPERTY not in categories(pane)
        assert not mask.is_on(Category.PROPERTY)
        assert all(mask.is_on(c) for c in pane.categories if c is not Category.PROPERTY)
        await pilot.press("6")
        await wait_for(pilot, lambda: Category.PROPERTY in categories(pane), "values shown")

    only = NotificationsConfig(mask=("property", "alarm"))
    app = make_app(Config(devices=FLEET, notifications=only))
    async with app.run_test(size=SIZE) as pilot:
        pane = stream(await open_notifications(pilot))
        mask = pane.query_one(CategoryMask)
        publish(app, trap(), value_change(value="ops"))
        await wait_for(pilot, lambda: mask.chip_text(Category.TRAP) == "1 trap 1", "trap count")
        # the trap's alarm shows, the trap does not
        want = {Category.PROPERTY, Category.ALARM}
        await wait_for(pilot, lambda: categories(pane) == want, "values and alarms only")
        assert [c for c in pane.categories if mask.is_on(c)] == [Category.PROPERTY, Category.ALARM]


async def test_delivering_monitor_tab_shows_status_and_r_reenables() -> None:
    """A delivering monitor's tab shows its status, last connect, last sent, pending
    and retries; an unreachable URL makes it DISABLED (disable_after 0.3 s) and ``R``
    re-enables it; once the endpoint answers, ACTIVE with a last-sent time."""
    from console.config import ReconnectConfig
    from tests.delivery_peers import Endpoint
    from widgets.delivery_status import DeliveryStatusLine

    endpoint = Endpoint()  # not listening yet
    noc = MonitorConfig(
        "noc",
        events=(("log", "*"),),
        batch_size=5,
        batch_duration=0.01,
        transport="http",
        url=endpoint.url,
        auto_replay=True,
        disable_after=0.3,
        retry=ReconnectConfig(min=0.02, max=0.1, jitter=0.0),
    )
    app = make_app(Config(devices=FLEET, monitors=(noc,)))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_notifications(pilot)
            await pilot.press("t")
            await wait_for(pilot, lambda: screen.active_tab == ALARMS_TAB, "alarms", attempts=2000)
            await pilot.press("t")
            await wait_for(
                pilot, lambda: screen.active_tab == monitor_tab(0), "the monitor tab", attempts=2000
            )
            line = screen.query_one("#monitor-delivery-0", DeliveryStatusLine)

            def text() -> str:
                return str(line.content)

            publish(app, log("to the NOC"))
            await wait_for(pilot, lambda: "DISABLED" in text(), "DISABLED on the tab")
            assert f"PUT {endpoint.url}" in text()
            assert "last connect —" in text()
            assert "last sent —" in text()
            assert "pending 0" in text()
            assert "nothing delivered for 0.3 s" in text()
            await endpoint.start()
            await pilot.press("R")
            await wait_for(pilot, lambda: "CONNECTING" in text(), "re-enabled")
            publish(app, log("after the re-enable"))
            await wait_for(pilot, lambda: "ACTIVE" in text(), "ACTIVE on the tab")
            await wait_for(pilot, lambda: "last sent —" not in text(), "a last-sent time")
            assert "delivered 1" in text()
            assert [e["payload"]["message"] for e in endpoint.batches[0]["events"]] == [
                "after the re-enable"
            ]
    finally:
        await endpoint.stop()
