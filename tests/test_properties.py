"""The Properties screen, the audit tab, last-known (stale) values and the
"no persistence" warning.

Three levels: plain Python (the state's stale values, the JSON forms and exports of
properties, the value history, the store's browser queries); Pilot tests on a
crafted runtime with a real property store in ``tmp_path`` (:class:`StoreRuntime`:
paging, filters, read-only mode, navigation); and Pilot tests on the real embedded
demo (``Runtime(demo=True)``; each test has its own ``FLEETTOP_DATA_DIR``, so its
store starts empty): the tree after polling, the filter, a set with confirmation
that lands in the audit tab, a delete, exports read back, stale values after a
restart, and a damaged store file.

Waiting is bounded polling (``wait_for``), never a timed assertion.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Input, Select, Static, TabbedContent
from textual.widgets.tree import TreeNode

from console.app import FleettopApp
from console.events import Event, JsonValue
from console.fleet import STORED, FleetState
from console.history import ValueHistory, live_value
from console.runtime import Runtime
from console.snmp.manager import SnmpDevice
from console.store import (
    SNMP_INTERFACE,
    AuditAction,
    Ownership,
    Property,
    PropertyStore,
    PropertyType,
    PropertyValue,
    Source,
)
from console.store.browse import (
    display_value,
    export_properties,
    json_value,
    property_from_row,
    property_row,
    read_properties_csv,
    read_properties_jsonl,
    value_from_json,
)
from screens.confirm import ConfirmScreen
from screens.export import ExportScreen
from screens.help import HelpScreen, help_rows
from screens.navigation import help_sections
from screens.oids import OidsScreen
from screens.properties import AUDIT_TAB, PropertiesScreen
from screens.write import WriteScreen
from tests.store_helpers import (
    CRAFTED_PROPS,
    SENSORS,
    SETTINGS,
    T0_MS,
    Prop,
    properties_screen,
    snmp_prop,
    store_app,
)
from tests.ui_helpers import (
    IF_IN_OCTETS_1,
    SIZE,
    SYS_UPTIME,
    T0,
    Notices,
    cell,
    devices_screen,
    focused,
    make_app,
    publish,
    read,
    shown,
    wait_for,
)
from widgets.audit_table import AuditTable
from widgets.property_detail import PropertyDetail
from widgets.property_tree import EntryKind, PropertyTree
from widgets.status_bar import StatusBar
from widgets.value_table import ValueTable, row_key

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
DEMO_TIMEOUT = 90


def stamp(event_type: tuple[str, ...], payload: object, seq: int, at: float = T0) -> Event:
    """An event as the bus would stamp it."""
    return Event(event_type, payload, at, at, seq)  # type: ignore[arg-type]


def stored(device: str, oid: str, data_type: str, value: object, ms: int) -> Event:
    """A ``("snmp", DEVICE, "stored", OID)`` event."""
    payload = {"data": {"type": data_type, "value": value}, "updated_ms": ms}
    return stamp(("snmp", device, "stored", oid), payload, 1, ms / 1000)


def fresh(device: str, oid: str, data_type: str, value: JsonValue, seq: int, at: float) -> Event:
    """A polled read event."""
    event_type, payload, _ = read(device, oid, data_type, value, cause="CHANGE", at=at)
    return stamp(event_type, payload, seq, at)


# -- the state: stale values, store status, audit -----------------------------------------


def test_stored_value_is_stale_until_the_first_fresh_read() -> None:
    state = FleetState()
    changes = state.apply([stored("sw", SYS_CONTACT, "STRING", "NOC", T0_MS - 3_600_000)])
    assert changes.values == {("sw", SYS_CONTACT)}
    value = state.value(("sw", SYS_CONTACT))
    assert value is not None
    assert (value.stale, value.cause, value.value, value.changes) == (True, STORED, "NOC", 0)
    assert value.last_change == T0 - 3600
    state.apply([fresh("sw", SYS_CONTACT, "STRING", "ops", 2, T0)])
    assert (value.stale, value.cause, value.value) == (False, "CHANGE", "ops")
    assert value.changes == 0  # the UI did not see it change
    assert (value.first_seen, value.last_change) == (T0, T0)


def test_a_fresh_read_wins_over_a_late_stored_value() -> None:
    state = FleetState()
    state.apply([fresh("sw", SYS_CONTACT, "STRING", "ops", 1, T0)])
    changes = state.apply([stored("sw", SYS_CONTACT, "STRING", "NOC", T0_MS - 1000)])
    assert not changes
    value = state.value(("sw", SYS_CONTACT))
    assert value is not None
    assert (value.stale, value.value) == (False, "ops")


def test_a_stored_counter_is_no_rate_baseline() -> None:
    state = FleetState()
    oid = "1.3.6.1.2.1.2.2.1.10.1"
    state.apply([stored("sw", oid, "COUNTER", 1000, T0_MS - 10_000)])
    state.apply([fresh("sw", oid, "COUNTER", 5000, 2, T0)])
    value = state.value(("sw", oid))
    assert value is not None
    assert value.rate is None  # not (5000 - 1000) / 10 s: the device may have restarted
    state.apply([fresh("sw", oid, "COUNTER", 5100, 3, T0 + 1)])
    assert value.rate == 100.0


def test_store_status_and_audit_events_are_folded() -> None:
    state = FleetState()
    changes = state.apply(
        [
            stamp(("store", "status"), {"persistent": False, "path": "/x", "error": "locked"}, 4),
            stamp(("audit", "sw", "snmp.set"), {"action": "snmp.set"}, 9),
        ]
    )
    assert changes.store
    assert changes.audit
    assert state.store is not None
    assert (state.store.persistent, state.store.error, state.store.failed) == (
        False,
        "locked",
        True,
    )
    assert state.audit_seq == 9
    state.apply(
        [stamp(("store", "status"), {"persistent": False, "path": None, "error": None}, 10)]
    )
    assert not state.store.failed  # disabled on purpose is not a failure


# -- JSON forms, rows, exports ------------------------------------------------------------

WHEN = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("type_", "value", "json"),
    [
        (PropertyType.INTEGER, -5, -5),
        (PropertyType.DOUBLE, 0.5, 0.5),
        (PropertyType.BOOLEAN, False, False),
        (PropertyType.STRING, "a\nb", "a\nb"),
        (PropertyType.BINARYBLOB, b"\x00\xff", "AP8="),
        (PropertyType.DATETIME, WHEN, "2024-05-01T12:00:00.123Z"),
        (PropertyType.LONGINTEGERARRAY, [2**62, -1], [2**62, -1]),
        (PropertyType.BINARYBLOBARRAY, [b"a", b""], ["YQ==", ""]),
        (PropertyType.DATETIMEARRAY, [WHEN], ["2024-05-01T12:00:00.123Z"]),
    ],
)
def test_json_forms_round_trip(type_: PropertyType, value: object, json: object) -> None:
    assert json_value(type_, value) == json  # type: ignore[arg-type]
    assert value_from_json(type_, json) == value


def test_value_from_json_checks_like_the_store() -> None:
    with pytest.raises(ValueError, match="outside"):
        value_from_json(PropertyType.INTEGER, 2**31)
    with pytest.raises(ValueError, match="base64"):
        value_from_json(PropertyType.BINARYBLOB, "not base64!")
    with pytest.raises(ValueError, match="time zone"):
        value_from_json(PropertyType.DATETIME, "2024-05-01T12:00:00")


def test_display_value_per_type() -> None:
    def prop(type_: PropertyType, value: PropertyValue, native: str | None = None) -> Property:
        return Property(
            "d", "i", 1, 0, "/p", type_, value, Ownership.DEVICE, Source.MQTT, 0, native
        )

    assert display_value(prop(PropertyType.LONGINTEGER, 8_640_012, "TIME_TICKS")) == (
        "1d 00:00:00.12"
    )
    assert display_value(prop(PropertyType.BINARYBLOB, b"\x00\x1a\x2b")) == "00 1a 2b"
    assert display_value(prop(PropertyType.DATETIME, WHEN)) == "2024-05-01T12:00:00.123Z"
    assert display_value(prop(PropertyType.DOUBLEARRAY, [1.0, 2.5])) == "[1.0,2.5]"
    assert display_value(prop(PropertyType.BOOLEAN, True)) == "true"
    assert display_value(prop(PropertyType.STRING, "a\x1bb")) == "a\\x1bb"
    long_list = prop(PropertyType.INTEGERARRAY, list(range(40)))
    assert display_value(long_list, pretty=True).count("\n") == 41
    assert display_value(prop(PropertyType.STRING, "x" * 50), width=10) == "xxxxxxxxx…"


def test_property_rows_round_trip_through_csv_text() -> None:
    prop = Property(
        "d", "i", 2, 1, "/a", PropertyType.STRINGARRAY, ["x,y", '"q"'], Ownership.SERVER,
        Source.OPERATOR, T0_MS, None,
    )  # fmt: skip
    row = property_row(prop)
    assert row["updated"] == "2023-11-14T22:13:20.000Z"
    assert property_from_row(row) == prop
    text_row = {k: (str(v) if isinstance(v, int) else v) for k, v in row.items()}
    text_row["native_type"] = ""
    assert property_from_row(text_row, from_csv=True) == prop


async def filled_store(path: Path, props: tuple[Prop, ...] = CRAFTED_PROPS) -> PropertyStore:
    store = await PropertyStore.open(path)
    for prop in props:
        await store.store_prop(*prop.args, **prop.kwargs)  # type: ignore[arg-type]
    await store.flush()
    return store


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_export_properties_reads_back_exactly(tmp_path: Path, fmt: str) -> None:
    async with await filled_store(tmp_path / "s.db") as store:
        path = tmp_path / f"out.{fmt}"
        count = await export_properties(store, path, format=fmt, page=3)  # type: ignore[arg-type]
        expected = await store.query(limit=None)
        assert count == len(expected) == len(CRAFTED_PROPS)
        reader = read_properties_jsonl if fmt == "jsonl" else read_properties_csv
        assert reader(path) == expected
        filtered = await export_properties(store, path, format=fmt, path_filter="/+/value")  # type: ignore[arg-type]
        assert [p.path for p in reader(path)] == ["/temp/value"] == ["/temp/value"][:filtered]
        with pytest.raises(ValueError, match=r"malformed|not allowed|must"):
            await export_properties(
                store, tmp_path / "bad.jsonl", format="jsonl", path_filter="/a+/b"
            )
        assert not (tmp_path / "bad.jsonl").exists()


async def test_store_browser_queries(tmp_path: Path) -> None:
    async with await filled_store(tmp_path / "s.db") as store:
        assert await store.device_counts() == [("ap-lobby", 4), ("core-sw1", 5), ("ups-1", 1)]
        assert await store.device_counts("1.1.4") == [("core-sw1", 1), ("ups-1", 1)]
        assert await store.interface_counts("ap-lobby") == [(SENSORS, 1, 3, 2), (SETTINGS, 2, 1, 2)]
        assert await store.interface_counts("ap-lobby", "/+/value") == [(SENSORS, 1, 3, 1)]
        assert await store.count(major=2) == 2
        assert [p.path for p in await store.query("ap-lobby", SETTINGS, major=1)] == []


async def test_patterns_with_glob_characters_in_paths(tmp_path: Path) -> None:
    """The GLOB pre-filter of patterns takes ``*``, ``?`` and ``[`` in paths literally."""
    odd = ("/a*b/x", "/a?b/x", "/a[b/x", "/axb/x", "/a*b/x/y")
    props = tuple(Prop("d", SENSORS, path, 1, PropertyType.INTEGER) for path in odd)
    async with await filled_store(tmp_path / "s.db", props) as store:
        for pattern, expected in [
            ("/a*b/+", ["/a*b/x"]),
            ("/a?b/+", ["/a?b/x"]),
            ("/a[b/#", ["/a[b/x"]),
            ("/+/x", ["/a*b/x", "/a?b/x", "/a[b/x", "/axb/x"]),
            ("/a*b/#", ["/a*b/x", "/a*b/x/y"]),
        ]:
            found = [p.path for p in await store.query(path_filter=pattern)]
            assert sorted(found) == sorted(expected), pattern


# -- the value history ------------------------------------------------------------------


def test_history_is_bounded_and_reads_snmp_and_mqtt_events() -> None:
    history = ValueHistory(points=3, keys=2)
    events = [fresh("sw", "1.3", "INTEGER", i, i, T0 + i) for i in range(5)]
    latest = history.fold(events)
    key = ("sw", SNMP_INTERFACE, "/1.3")
    assert latest[key].value == 4
    assert history.values(key) == [2.0, 3.0, 4.0]
    assert not history.add(key, int((T0 + 1) * 1000), 9)  # older than the last point
    history.fold([fresh("sw", "1.4", "STRING", "x", 6, T0)])  # not a number: no series
    history.fold([fresh("sw", "1.5", "COUNTER", 1, 7, T0), fresh("sw", "1.6", "COUNTER", 1, 8, T0)])
    assert len(history) == 2
    assert history.values(key) == []
    mqtt = stamp(
        ("mqtt", "ap", "property", SENSORS, "/t/value"),
        {"type": "double", "value": 21.5, "unset": False, "valid": True},
        9,
    )
    live = live_value(mqtt)
    assert live is not None
    assert (live.key, live.value, live.source) == (("ap", SENSORS, "/t/value"), 21.5, Source.MQTT)
    invalid = mqtt._replace(payload={"type": "double", "value": "x", "valid": False})
    assert live_value(invalid) is None


# -- Pilot: a crafted store ---------------------------------------------------------------


def tree_of(screen: PropertiesScreen) -> PropertyTree:
    return screen.query_one(PropertyTree)


def label_text(node: TreeNode[Any]) -> str:
    """A tree node's label as plain text (Textual types ``label`` as ``str | Text``;
    the tree stores the Text it made of it)."""
    label = node.label
    assert isinstance(label, Text)
    return label.plain


def labels(tree: PropertyTree) -> list[str]:
    """Every visible node's label, depth-first."""
    found: list[str] = []

    def walk(node: object) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            found.append(child.label.plain)
            if child.is_expanded:
                walk(child)

    walk(tree.root)
    return found


async def expand_all(pilot: object, tree: PropertyTree) -> None:
    """Expand every device and interface, waiting for each load."""
    for device in list(tree.root.children):
        device.expand()
        await wait_for(pilot, lambda d=device: d.data.loaded > 0, "interfaces")  # type: ignore[arg-type, misc]
        for interface in list(device.children):
            interface.expand()
            await wait_for(pilot, lambda i=interface: i.data.loaded > 0, "paths")  # type: ignore[arg-type, misc]


def counts_text(screen: PropertiesScreen) -> str:
    return str(screen.query_one("#property-counts", Static).content)


async def test_tree_is_lazy_and_shows_versions_and_values(tmp_path: Path) -> None:
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        assert labels(tree) == ["ap-lobby  4", "core-sw1  5", "ups-1  1"]
        assert tree.loaded_properties == 0  # nothing below the devices yet
        assert counts_text(screen) == "10 / 10 properties"
        await expand_all(pilot, tree)
        shown_labels = labels(tree)
        assert f"{SENSORS}  v1.3  2" in shown_labels
        assert f"{SETTINGS}  v2.1  2" in shown_labels
        assert "/clock/synced  2023-11-14T22:00:00.000Z" in shown_labels
        assert "/1.3.6.1.2.1.1.3.0  SNMPv2-MIB::sysUpTime.0  14d 06:56:07.89" in shown_labels
        assert "/temp/history  [20.0,20.5,21.5]" in shown_labels
        # the detail of a property
        leaf = tree.leaf(("ap-lobby", SETTINGS, "/clock/synced"))
        assert leaf is not None
        tree.move_cursor(leaf)
        detail = screen.query_one(PropertyDetail)
        await wait_for(pilot, lambda: detail.prop is not None, "the detail")
        header = str(screen.query_one("#property-header", Static).content)
        for part in ("ap-lobby", SETTINGS, "v2.1", "/clock/synced", "datetime", "server",
                     "operator", "2023-11-14 22:13:20 (0s ago)"):  # fmt: skip
            assert part in header


async def test_filter_narrows_counts_and_refuses_a_bad_pattern(tmp_path: Path) -> None:
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await pilot.press("slash")
        assert isinstance(screen.focused, Input)
        await pilot.press(*"1.1.4")
        await wait_for(pilot, lambda: screen.filter_shown == "1.1.4", "the filter")
        assert counts_text(screen) == "2 / 10 properties"
        # a few matches: the tree opens all the way
        await wait_for(pilot, lambda: tree.loaded_properties == 2, "the matches")
        assert "/1.3.6.1.2.1.1.4.0  Facilities" in labels(tree)
        screen.query_one("#property-filter", Input).value = "/+/value"
        await wait_for(pilot, lambda: screen.filter_shown == "/+/value", "a pattern")
        assert counts_text(screen) == "1 / 10 properties"
        screen.query_one("#property-filter", Input).value = "/a+/b"
        await wait_for(pilot, lambda: screen.filter_error is not None, "the refusal")
        assert counts_text(screen).startswith("bad filter: ")
        assert screen.filter_shown == "/+/value"  # the tree stays as it was
        await pilot.press("escape")  # from the filter back to the tree, not off the screen
        assert focused(screen) is tree
        assert app.screen is screen


async def test_the_cursor_lands_on_a_node_added_a_moment_ago(tmp_path: Path) -> None:
    """Lines above a node change (a device opens): moving the cursor to the node at
    once still lands on it, not on whatever had its old line number."""
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        ap_lobby = tree.root.children[0]
        ap_lobby.collapse()
        await pilot.pause()
        leaf = tree.leaf(("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT))
        assert leaf is not None
        tree.move_cursor(leaf)
        ap_lobby.expand()  # six lines appear above the leaf
        tree.move_cursor(leaf)
        assert tree.cursor_node is leaf
        assert tree.highlighted_property is not None
        assert tree.highlighted_property.path == "/" + SYS_CONTACT


async def test_paths_are_paged_with_a_more_node(tmp_path: Path) -> None:
    many = tuple(
        Prop("plant-1", SENSORS, f"/s{i:04d}/value", i, PropertyType.INTEGER) for i in range(1_200)
    )
    app = store_app(tmp_path / "s.db", props=many, audit=())
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        [device] = tree.root.children
        device.expand()
        await wait_for(pilot, lambda: device.children, "the interface")
        [interface] = device.children
        interface.expand()
        await wait_for(pilot, lambda: tree.loaded_properties == 500, "the first page")
        more = interface.children[-1]
        assert more.data is not None
        assert more.data.kind is EntryKind.MORE
        assert label_text(more).startswith("more… (500 of 1,200 shown")
        tree.select_node(more)
        await wait_for(pilot, lambda: tree.loaded_properties == 1_000, "the second page")
        tree.select_node(interface.children[-1])
        await wait_for(pilot, lambda: tree.loaded_properties == 1_200, "the last page")
        assert interface.children[-1].data.kind is EntryKind.PROPERTY  # type: ignore[union-attr]
        assert len(interface.children) == 1_200


async def test_read_only_refuses_set_unset_and_delete(tmp_path: Path) -> None:
    notices = Notices()
    app = store_app(tmp_path / "s.db", read_only=True)
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        leaf = tree.leaf(("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT))
        assert leaf is not None
        tree.move_cursor(leaf)
        for key in "wud":
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen  # no dialog
        assert notices.messages.count("read-only mode: writes are disabled") == 3
        store = app.runtime.store
        assert store is not None
        assert await store.get_prop("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT) is not None
        assert "READ-ONLY" in str(app.screen.query_one(StatusBar).content)


async def test_unset_and_set_say_what_applies(tmp_path: Path) -> None:
    notices = Notices()
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        leaf = tree.leaf(("ap-lobby", SETTINGS, "/radio/enable"))
        assert leaf is not None
        tree.move_cursor(leaf)

        def no_broker_notes() -> int:
            return sum("no MQTT broker is configured" in m for m in notices.messages)

        await pilot.press("u")  # an MQTT property, and this app has no broker
        await wait_for(pilot, lambda: no_broker_notes() == 1, "the unset note")
        await pilot.press("w")
        await wait_for(pilot, lambda: no_broker_notes() == 2, "the set note")
        await pilot.press("r")
        await wait_for(pilot, lambda: notices.has("refresh reads SNMP"), "the refresh note")


async def test_navigation_from_every_screen(tmp_path: Path) -> None:
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE) as pilot:
        devices = await devices_screen(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs")
        await pilot.press("P")
        await wait_for(pilot, lambda: shown(app, PropertiesScreen), "the Properties")
        properties = app.screen
        await pilot.press("D")
        await wait_for(pilot, lambda: app.screen is devices, "back on the Devices")
        await pilot.press("P")
        await wait_for(pilot, lambda: app.screen is properties, "the same Properties screen")
        # typed into the filter, P is a letter, not navigation
        await pilot.press("slash", "P")
        assert properties.query_one("#property-filter", Input).value == "P"
        assert app.screen is properties
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is devices, "back with escape")
        # not from a dialog
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help")
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(help_sections(FleettopApp), {}, app.get_key_display)
        ids = {(row.section, row.binding_id) for row in rows}
        assert ("Global", "nav.properties") in ids
        assert ("Global", "nav.devices") in ids
        for name in ("filter", "refresh", "set", "unset", "delete", "export", "reload", "tab"):
            assert ("Properties", f"properties.{name}") in ids


async def test_without_a_store_the_screen_says_why() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        message = str(screen.query_one("#property-unavailable", Static).content)
        assert "disabled" in message
        assert not screen.query(PropertyTree)
        assert "NO PERSISTENCE" not in str(screen.query_one(StatusBar).content)


async def test_an_empty_tree_shows_the_first_values_when_they_arrive(tmp_path: Path) -> None:
    app = store_app(tmp_path / "s.db", props=(), audit=())
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        assert not tree.root.children
        assert counts_text(screen) == "0 / 0 properties"
        store = app.runtime.store
        assert store is not None
        prop = CRAFTED_PROPS[2]
        await store.store_prop(*prop.args, **prop.kwargs)  # type: ignore[arg-type]
        publish(app, read("core-sw1", SYS_CONTACT, "STRING", "NOC <noc@example.net>"))
        await wait_for(pilot, lambda: bool(tree.root.children), "the first device")
        assert labels(tree) == ["core-sw1  1"]
        assert counts_text(screen) == "1 / 1 properties"


async def test_live_values_update_the_leaf_and_the_sparkline(tmp_path: Path) -> None:
    oid = "1.3.6.1.2.1.2.2.1.10.1"
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        key = ("core-sw1", SNMP_INTERFACE, "/" + oid)
        leaf = tree.leaf(key)
        assert leaf is not None
        tree.move_cursor(leaf)
        for i in range(1, 4):
            publish(app, read("core-sw1", oid, "COUNTER", 3_974_581_002 + 1000 * i, at=T0 + i))
        detail = screen.query_one(PropertyDetail)
        await wait_for(
            pilot,
            lambda: detail.prop is not None and detail.prop.value == 3_974_584_002,
            "the live value",
        )
        assert label_text(leaf).endswith("3,974,584,002")
        caption = str(screen.query_one("#property-spark-label", Static).content)
        assert caption == "recent values: 3, min 3,974,582,002, max 3,974,584,002"
        assert screen.history.values(key) == [3_974_582_002.0, 3_974_583_002.0, 3_974_584_002.0]


async def test_delete_confirmed_removes_and_audits(tmp_path: Path) -> None:
    notices = Notices()
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        key = ("ap-lobby", SENSORS, "/temp/history")
        leaf = tree.leaf(key)
        assert leaf is not None
        tree.move_cursor(leaf)
        await pilot.press("d")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        body = str(app.screen.query_one("#confirm-body", Static).content)
        assert "/temp/history" in body
        assert "[20.0,20.5,21.5]" in body
        await pilot.press("n")  # first cancel: nothing changes
        await wait_for(pilot, lambda: app.screen is screen, "back")
        store = app.runtime.store
        assert store is not None
        assert await store.get_prop(*key) is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: tree.leaf(key) is None, "the leaf to go")
        assert await store.get_prop(*key) is None
        assert counts_text(screen) == "9 / 9 properties"
        assert f"{SENSORS}  v1.3  1" in labels(tree)
        [entry, *_] = await app.runtime.audit.log.query_audit()  # type: ignore[union-attr]
        assert (entry.action, entry.device, entry.target, entry.new) == (
            "store.delete", "ap-lobby", f"{SENSORS}/temp/history", None,
        )  # fmt: skip
        assert entry.old == {"type": "doublearray", "value": [20.0, 20.5, 21.5]}
        await pilot.press("t")
        table = screen.query_one(AuditTable)
        await wait_for(pilot, lambda: str(entry.id) in table.rows, "the audit row")
        assert cell(table, str(entry.id), "action") == "store.delete"


async def test_audit_tab_lists_newest_first_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    notices = Notices()
    app = store_app(tmp_path / "s.db")
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await properties_screen(pilot)
        await pilot.press("t")
        assert screen.query_one(TabbedContent).active == AUDIT_TAB
        table = screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 2, "the entries")
        assert [cell(table, k, "device") for k in ("2", "1")] == ["ups-1", "core-sw1"]
        assert table.get_row_index("2") == 0  # newest first
        assert cell(table, "2", "result") == "NOT_WRITABLE"
        assert cell(table, "1", "change") == "NOC → NOC <noc@example.net>"
        assert cell(table, "2", "time") == "2023-11-14 22:12:50"
        await pilot.press("e")
        await wait_for(pilot, lambda: shown(app, ExportScreen), "the export dialog")
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        field = dialog.query_one("#export-file", Input)
        assert field.value == "fleettop-audit-20231114-221320.jsonl"
        dialog.query_one("#export-format", Select).value = "csv"
        await wait_for(pilot, lambda: field.value.endswith(".csv"), "the extension")
        await pilot.press("enter")
        path = tmp_path / "fleettop-audit-20231114-221320.csv"
        await wait_for(pilot, lambda: notices.has("2 audit entries written to"), "the export")
        assert notices.has(str(path))
        from console.store import read_audit_csv

        entries = read_audit_csv(path)
        assert [e.device for e in entries] == ["ups-1", "core-sw1"]


# -- Pilot: the real demo ------------------------------------------------------------------


async def demo_stored(app: FleettopApp, pilot: object, count: int = 60) -> PropertyStore:
    """Wait until the demo's feeder stored ``count`` values; return the store."""
    runtime = app.runtime
    await wait_for(pilot, lambda: runtime.store_feeder is not None, "the store", attempts=1500)  # type: ignore[arg-type]
    feeder = runtime.store_feeder
    assert feeder is not None
    assert runtime.store is not None
    await wait_for(pilot, lambda: feeder.stored >= count, "stored values", attempts=1500)  # type: ignore[arg-type]
    await runtime.store.flush()
    return runtime.store


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_tree_shows_stored_values_and_filters() -> None:
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        store = await demo_stored(app, pilot)
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        devices = [node.data.device for node in tree.root.children]  # type: ignore[union-attr]
        assert {"core-sw1", "ap-lobby", "ups-1"} <= set(devices)
        core = next(n for n in tree.root.children if n.data.device == "core-sw1")  # type: ignore[union-attr]
        tree.move_cursor(core)
        await pilot.press("enter")
        await wait_for(pilot, lambda: core.children, "core-sw1's interfaces")
        [interface] = core.children
        assert label_text(interface).startswith(f"{SNMP_INTERFACE}  v1.0  ")
        interface.expand()
        contact = ("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT)
        await wait_for(pilot, lambda: tree.leaf(contact) is not None, "sysContact")
        # the filter: substring, as typed
        total = await store.count()
        await pilot.press("slash", *"1.1.4.0")
        await wait_for(pilot, lambda: screen.filter_shown == "1.1.4.0", "the filter")
        assert screen.shown == await store.count(path_filter="1.1.4.0") == 3
        assert screen.total >= total
        assert counts_text(screen) == f"3 / {screen.total:,} properties"
        await wait_for(pilot, lambda: tree.loaded_properties == 3, "the matches")
        for device in ("core-sw1", "ap-lobby", "ups-1"):
            assert tree.leaf((device, SNMP_INTERFACE, "/1.3.6.1.2.1.1.4.0")) is not None
        await pilot.press("q")


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_set_with_confirmation_updates_and_is_audited() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        await demo_stored(app, pilot)
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        screen.query_one("#property-filter", Input).value = SYS_CONTACT
        key = ("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT)
        await wait_for(pilot, lambda: tree.leaf(key) is not None, "sysContact")
        leaf = tree.leaf(key)
        assert leaf is not None
        tree.move_cursor(leaf)
        tree.focus()
        await pilot.press("w")
        await wait_for(pilot, lambda: shown(app, WriteScreen), "the write dialog")
        app.screen.query_one("#write-value", Input).value = "ops@example.net"
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        detail = screen.query_one(PropertyDetail)
        await wait_for(
            pilot,
            lambda: detail.prop is not None and detail.prop.value == "ops@example.net",
            "the new value",
            attempts=1500,
        )
        assert label_text(leaf).endswith("ops@example.net")
        assert notices.has("written: ops@example.net")
        await pilot.press("t")
        table = screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the audit entry", attempts=1500)
        [row] = table.rows
        assert cell(table, row, "action") == "snmp.set"
        assert cell(table, row, "target") == SYS_CONTACT
        assert cell(table, row, "change").endswith("→ ops@example.net")
        assert cell(table, row, "result") == "ok"
        await pilot.press("q")


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_delete_with_confirmation_removes_and_audits() -> None:
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        store = await demo_stored(app, pilot)
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        key = ("ups-1", SNMP_INTERFACE, "/" + SYS_CONTACT)
        screen.query_one("#property-filter", Input).value = SYS_CONTACT
        await wait_for(pilot, lambda: tree.leaf(key) is not None, "ups-1 sysContact")
        old = await store.get_prop(*key)
        assert old is not None
        tree.move_cursor(tree.leaf(key))
        tree.focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: tree.leaf(key) is None, "the leaf to go")
        assert await store.get_prop(*key) is None
        recorder = app.runtime.audit
        assert recorder is not None
        [entry] = await recorder.log.query_audit(action=AuditAction.STORE_DELETE)
        assert (entry.device, entry.target, entry.new, entry.result) == (
            "ups-1", f"{SNMP_INTERFACE}/{SYS_CONTACT}", None, "ok",
        )  # fmt: skip
        assert entry.old == {"type": "STRING", "value": old.value}
        await pilot.press("t")
        table = screen.query_one(AuditTable)
        await wait_for(pilot, lambda: str(entry.id) in table.rows, "the audit row")
        await pilot.press("q")


@pytest.mark.timeout(DEMO_TIMEOUT)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_demo_export_parses_back_to_the_shown_properties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.chdir(tmp_path)
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        store = await demo_stored(app, pilot)
        screen = await properties_screen(pilot)
        screen.query_one("#property-filter", Input).value = "1.3.6.1.2.1.1."
        await wait_for(pilot, lambda: screen.filter_shown == "1.3.6.1.2.1.1.", "the filter")
        tree_of(screen).focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: shown(app, ExportScreen), "the export dialog")
        dialog = app.screen
        dialog.query_one("#export-format", Select).value = fmt
        field = dialog.query_one("#export-file", Input)
        await wait_for(pilot, lambda: field.value.endswith("." + fmt), "the extension")
        field.value = f"props.{fmt}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: notices.has("properties written to"), "the export")
        reader = read_properties_jsonl if fmt == "jsonl" else read_properties_csv
        exported = reader(tmp_path / f"props.{fmt}")
        expected = await store.query(path_filter="1.3.6.1.2.1.1.", limit=None)
        keys = [(p.device, p.interface, p.path) for p in exported]
        assert keys == [(p.device, p.interface, p.path) for p in expected]
        assert len(keys) == screen.shown
        by_key = {(p.device, p.interface, p.path): p for p in exported}
        contact = by_key[("core-sw1", SNMP_INTERFACE, "/" + SYS_CONTACT)]
        assert (contact.type, contact.native_type, contact.source) == (
            PropertyType.STRING, "STRING", Source.SNMP,
        )  # fmt: skip
        assert notices.has(f"{len(keys)} properties written to {tmp_path / f'props.{fmt}'}")
        await pilot.press("q")


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_restart_shows_stale_values_at_once_then_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a first run fills FLEETTOP_DATA_DIR/demo.db
    first = Runtime(demo=True)
    await first.start()
    try:
        feeder = first.store_feeder
        assert feeder is not None
        for _ in range(1500):
            if feeder.stored >= 60:
                break
            await asyncio.sleep(0.02)
    finally:
        await first.aclose()
    assert await asyncio.to_thread(Path(os.environ["FLEETTOP_DATA_DIR"], "demo.db").exists)

    # the second run polls only once the test lets it
    gate = asyncio.Event()
    poll_cycle = SnmpDevice._poll_cycle

    async def gated(self: SnmpDevice, target: object) -> None:
        await gate.wait()
        await poll_cycle(self, target)

    monkeypatch.setattr(SnmpDevice, "_poll_cycle", gated)
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        preview = screen.query_one("#preview", ValueTable)
        key = row_key(("core-sw1", SYS_CONTACT))
        await wait_for(pilot, lambda: key in preview.rows, "the stored sysContact")
        assert cell(preview, key, "cause") == STORED
        value = app.state.value(("core-sw1", SYS_CONTACT))
        assert value is not None
        assert value.stale
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs")
        oids = app.screen
        table = oids.query_one(ValueTable)
        assert table.select_key(("core-sw1", SYS_CONTACT))
        await pilot.pause()
        detail = str(oids.query_one("#value-detail", Static).content)
        assert "last known from " in detail
        assert ", not read yet" in detail
        assert str(table.get_cell(key, "value").style) != ""  # dimmed
        gate.set()
        await wait_for(
            pilot, lambda: cell(table, key, "cause") != STORED, "the fresh read", attempts=1500
        )
        assert not value.stale
        assert cell(table, key, "cause") == "INTERROGATE"
        await pilot.pause()
        detail = str(oids.query_one("#value-detail", Static).content)
        assert "not read yet" not in detail
        await pilot.press("q")


GARBAGE = b"this is not an SQLite database" * 100


@pytest.fixture
def damaged_store() -> Path:
    """A demo.db in the test's data directory that is not a database."""
    path = Path(os.environ["FLEETTOP_DATA_DIR"], "demo.db")
    path.write_bytes(GARBAGE)
    return path


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_damaged_store_says_no_persistence(damaged_store: Path) -> None:
    path = damaged_store
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await devices_screen(pilot)
        assert app.runtime.store is None
        assert app.runtime.store_error is not None
        bar = screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "NO PERSISTENCE" in str(bar.content), "the status bar")
        assert notices.has(app.runtime.store_error.rstrip("."))
        assert notices.has("without keeping values or audit entries")
        properties = await properties_screen(pilot)
        message = str(properties.query_one("#property-unavailable", Static).content)
        assert message.startswith("No persistence: the property store could not be used.")
        assert str(path) in message
        assert await asyncio.to_thread(path.read_bytes) == GARBAGE  # left alone
        await pilot.press("q")


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_demo_unset_of_an_mqtt_property_with_confirmation() -> None:
    """The thermostat's server-owned SamplingRate property: `u` on the Properties
    screen confirms, unsets it through the broker, and the store and the audit log
    follow."""
    rate = "org.astarte-platform.genericsensors.SamplingRate"
    key = ("thermostat-1", rate, "/room/samplingPeriod")
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)
        store = await demo_stored(app, pilot, count=10)
        fleet = app.runtime.mqtt
        assert fleet is not None
        await wait_for(
            pilot,
            lambda: (  # the broker starts after the devices: the fleet shows before it
                "demo-broker" in fleet.connections
                and fleet.connections["demo-broker"].status == "CONNECTED"
            ),
            "the demo broker",
            attempts=1500,
        )
        status = ("mqtt", "thermostat-1", "status")

        def discovered() -> bool:  # found by its device_rules template on its first message
            event = app.runtime.bus.latest(status)
            return event is not None and event.payload.get("status") == "ONLINE"  # type: ignore[union-attr]

        await wait_for(pilot, discovered, "the thermostat", attempts=1500)
        assert (await fleet.set(*key, 9)).success
        live = ("thermostat-1", rate + key[2])
        await wait_for(pilot, lambda: app.state.value(live) is not None, "the live value")

        async def stored_value() -> object:
            await store.flush()
            prop = await store.get_prop(*key)
            return None if prop is None else prop.value

        for _ in range(200):
            if await stored_value() == 9:
                break
            await pilot.pause(0.02)
        assert await stored_value() == 9
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        screen.query_one("#property-filter", Input).value = "samplingPeriod"
        await wait_for(pilot, lambda: tree.leaf(key) is not None, "the thermostat's leaf")
        tree.move_cursor(tree.leaf(key))
        tree.focus()
        await pilot.press("u")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        for _ in range(400):
            if await stored_value() is None:
                break
            await pilot.pause(0.02)
        assert await stored_value() is None  # the unset deleted it, as the SDK does
        recorder = app.runtime.audit
        assert recorder is not None
        await store.flush()
        entries = await recorder.log.query_audit(device="thermostat-1", action="mqtt.unset")
        assert [(e.target, e.result) for e in entries] == [(f"{rate} /room/samplingPeriod", "ok")]


def footer_ids(app: FleettopApp) -> set[str]:
    """The ids of the bindings the footer offers on the screen showing."""
    return {
        active.binding.id or ""
        for active in app.screen.active_bindings.values()
        if active.binding.show
    }


@pytest.mark.parametrize("read_only", [False, True])
async def test_the_footer_offers_no_write_key_in_read_only_mode(
    tmp_path: Path, read_only: bool
) -> None:
    writes = {"properties.set", "properties.unset", "properties.delete"}
    app = store_app(tmp_path / "s.db", read_only=read_only)
    async with app.run_test(size=(200, 30)) as pilot:
        devices = await devices_screen(pilot)
        assert ("mqtt.publish" in footer_ids(app)) is not read_only
        screen = await properties_screen(pilot)
        offered = footer_ids(app)
        assert "properties.filter" in offered
        assert offered.isdisjoint(writes) if read_only else writes <= offered
        assert app.screen is screen
        await pilot.press("D")
        await wait_for(pilot, lambda: app.screen is devices, "the Devices")


async def test_oids_sort_as_numbers_in_the_tree(tmp_path: Path) -> None:
    oids = ["1.3.6.1.2.1.2.2.1.10.1", "1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.2.10"]
    oids += ["1.3.6.1.2.1.2.2.1.2.2"]
    props = [snmp_prop("core-sw1", oid, "INTEGER", n) for n, oid in enumerate(oids)]
    app = store_app(tmp_path / "s.db", props=props, audit=())
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        interface = tree.root.children[0].children[0]
        paths = [str(leaf.data.prop.path) for leaf in interface.children]  # type: ignore[union-attr]
        assert paths == [
            "/1.3.6.1.2.1.2.2.1.2.1",
            "/1.3.6.1.2.1.2.2.1.2.2",
            "/1.3.6.1.2.1.2.2.1.2.10",
            "/1.3.6.1.2.1.2.2.1.10.1",
        ]


async def test_filter_by_the_mib_name_the_tree_shows(tmp_path: Path) -> None:
    props = [
        snmp_prop("core-sw1", IF_IN_OCTETS_1, "COUNTER", 10),
        snmp_prop("core-sw1", SYS_UPTIME, "TIME_TICKS", 5),
        Prop("ap-lobby", SENSORS, "/temp/value", 21.5, PropertyType.DOUBLE),
    ]
    app = store_app(tmp_path / "s.db", props=props, audit=())
    async with app.run_test(size=SIZE) as pilot:
        screen = await properties_screen(pilot)
        await pilot.press("slash", *"ifInOctets.1")
        await wait_for(pilot, lambda: screen.filter_shown == "ifInOctets.1", "the name filter")
        assert (screen.shown, screen.total) == (1, 3)
        tree = tree_of(screen)
        await expand_all(pilot, tree)
        assert tree.leaf(("core-sw1", SNMP_INTERFACE, "/" + IF_IN_OCTETS_1)) is not None
        screen.query_one("#property-filter", Input).value = "temp"  # a path, not a name
        await wait_for(pilot, lambda: screen.filter_shown == "temp", "the path filter")
        assert (screen.shown, screen.total) == (1, 3)
