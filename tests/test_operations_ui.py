"""Pilot tests of the operator's side: read (``r``), get (``g``), write (``w``), walk
(``W``), the polling list (``a``/``x``), read-only mode, counter rates on screen and
the command palette.

Two kinds of runtime: the real embedded demo (``Runtime(demo=True)``: real agents,
real ``SnmpDevice`` read/write/walk) and a :class:`CraftedRuntime` with a scripted
:class:`FakeBackend` where a test needs an outcome the demo cannot give on demand
(a successful or failing SET, a walk that stays open until cancelled).

What the operator is shown is checked against what the bus says: the write test
asserts that the notification names exactly the outcome of the ``write`` event.
Waiting is bounded polling (``wait_for``), never a timed assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from textual.command import CommandList
from textual.widgets import Button, Input, Select, Static

from console.app import FleettopApp, help_sections
from console.events import Event
from console.format import format_counter_rate
from console.runtime import Runtime
from console.snmp.errors import SnmpNotConnectedError
from screens.confirm import ConfirmScreen
from screens.controllers.snmp import Operator
from screens.get import OidPromptScreen
from screens.help import help_rows
from screens.oids import OidsScreen
from screens.snmp_chart import SnmpChartScreen
from screens.walk import SYSTEM_GROUP, WalkScreen, walk_root
from screens.write import WriteScreen, check_write
from tests.ui_helpers import (
    IF_IN_OCTETS_1,
    SIZE,
    SYS_DESCR,
    SYS_UPTIME,
    T0,
    FakeBackend,
    Notices,
    attach,
    cell,
    devices_screen,
    fake_mib_names,
    focused,
    make_app,
    publish,
    read,
    screen_text,
    shown,
    wait_for,
)
from widgets.commands import binding_commands
from widgets.mib_names import MibNames
from widgets.oid_input import suggestion
from widgets.status_bar import StatusBar
from widgets.value_table import ValueTable, row_key
from widgets.walk_table import WalkTable

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
IF_MTU_1 = "1.3.6.1.2.1.2.2.1.4.1"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_MTU = "1.3.6.1.2.1.2.2.1.4"
DEMO_TIMEOUT = 90


# -- helpers ------------------------------------------------------------------------


class Recorder:
    """Events of one pattern, as the bus delivers them."""

    def __init__(self, app: FleettopApp, *pattern: str) -> None:
        self.events: list[Event] = []
        app.runtime.bus.subscribe(pattern, self.events.append)

    def payloads(self, **match: object) -> list[dict[str, object]]:
        """Payloads whose fields equal ``match``."""
        found: list[dict[str, object]] = []
        for event in self.events:
            payload = event.payload
            if isinstance(payload, dict) and all(payload.get(k) == v for k, v in match.items()):
                found.append(dict(payload))
        return found


def operator(app: FleettopApp) -> Operator:
    assert app.operator is not None
    return app.operator


async def oids_of(pilot: object, app: FleettopApp, device: str = "core-sw1") -> OidsScreen:
    """From the Devices screen, open the OIDs of ``device`` (the first row)."""
    await devices_screen(pilot)  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, OidsScreen)
    assert screen.device == device
    return screen


async def demo_oids(pilot: object, app: FleettopApp) -> tuple[OidsScreen, ValueTable]:
    """The OIDs screen of the demo's core-sw1, once it is connected and polled."""
    screen = await oids_of(pilot, app)
    table = screen.query_one(ValueTable)
    contact = row_key(("core-sw1", SYS_CONTACT))
    await wait_for(pilot, lambda: contact in table.rows, "sysContact", attempts=1500)  # type: ignore[arg-type]
    return screen, table


async def select(pilot: object, table: ValueTable, device: str, oid: str) -> None:
    """Put the cursor on the row of ``(device, oid)``."""
    assert table.select_key((device, oid))
    await pilot.pause()  # type: ignore[attr-defined]
    assert table.highlighted_key == (device, oid)


async def screen_of(pilot: object, app: FleettopApp, kind: type, what: str) -> None:
    await wait_for(pilot, lambda: shown(app, kind), what)  # type: ignore[arg-type]


def text_of(widget: Static) -> str:
    return str(widget.content)


# -- unit: pure helpers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("oid", "name", "root"),
    [
        ("1.3.6.1.2.1.2.2.1.10.3", "IF-MIB::ifInOctets.3", "1.3.6.1.2.1.2.2.1.10"),
        ("1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0", SYSTEM_GROUP),
        (
            "1.3.6.1.2.1.4.20.1.1.127.0.0.1",
            "RFC1213-MIB::ipAdEntAddr.127.0.0.1",
            "1.3.6.1.2.1.4.20.1.1",
        ),
        ("1.3.6.1.2.1.2.2", "IF-MIB::ifTable", "1.3.6.1.2.1.2.2"),
        ("1.3.6.1.4.1.32473.9.9.0", None, "1.3.6.1.4.1.32473.9.9"),
        ("1.3.6.1.4.1.9.1", 'X-MIB::thing."ab"', "1.3.6.1.4.1.9"),
    ],
)
def test_walk_root_is_the_column_or_the_group(oid: str, name: str | None, root: str) -> None:
    assert walk_root(oid, name) == root


def test_suggestion_extends_what_was_typed() -> None:
    names = ["SNMPv2-MIB::sysUpTime", "IF-MIB::ifInErrors"]
    assert suggestion("sysU", names) == "sysUpTime"
    assert suggestion("sysu", names) == "sysupTime"  # the typed part is kept as typed
    assert suggestion("SNMPv2-MIB::sys", names) == "SNMPv2-MIB::sysUpTime"
    assert suggestion("sysUpTime", names) is None
    assert suggestion("nothing", names) is None


def test_mib_names_lookup_and_complete() -> None:
    names = fake_mib_names()
    assert names.lookup(" .1.3.6.1.2.1.1.3.0 ") == SYS_UPTIME
    assert names.lookup("SNMPv2-MIB::sysDescr.0") == SYS_DESCR
    with pytest.raises(ValueError, match=r"did you mean 'sysDescr\.0'"):
        names.lookup("sysDscr.0")
    assert names.complete("sysU") == ["SNMPv2-MIB::sysUpTime"]
    assert names.complete("1.3.6") == []
    # a resolver that cannot look names up still takes numeric OIDs
    bare = MibNames(lambda: {SYS_UPTIME: "x"}.get)
    assert bare.lookup("1.3.6.1") == "1.3.6.1"
    with pytest.raises(ValueError, match="enter a numeric OID"):
        bare.lookup("sysUpTime.0")
    assert bare.complete("sys") == []
    with pytest.raises(ValueError, match="not a numeric OID"):
        names.lookup("1.3.x")


@pytest.mark.parametrize(
    ("data_type", "text", "error"),
    [
        ("INTEGER", "abc", "INTEGER value 'abc' is not an integer"),
        ("INTEGER", "2147483648", "out of range"),
        ("UNSIGNED", "-1", "out of range 0..4294967295"),
        ("STRING_HEX", "0g", "is not hexadecimal bytes"),
        ("IP_ADDRESS", "300.1.1.1", "is not an IPv4 address"),
        ("OBJECT_ID", "1.3.x", "not a numeric OID"),
    ],
)
def test_check_write_rejects_before_sending(data_type: str, text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_write(data_type, text)


def test_check_write_builds_the_data() -> None:
    assert check_write("TIME_TICKS", "0d 00:00:01.50") == {"type": "TIME_TICKS", "value": 150}
    assert check_write("STRING", "ops") == {"type": "STRING", "value": "ops"}


def test_help_lists_the_operator_bindings() -> None:
    rows = help_rows(help_sections(), {}, lambda b: b.key_display or b.key)
    ids = {(row.section, row.binding_id) for row in rows}
    for binding_id in ("snmp.read", "snmp.get", "snmp.write", "snmp.walk", "snmp.poll_add",
                       "snmp.poll_remove", "snmp.chart", "snmp.chart.window"):  # fmt: skip
        assert ("OIDs", binding_id) in ids
    assert ("Devices", "snmp.get") in ids
    assert ("Walk", "snmp.poll_add") in ids
    assert ("Dialogs", "dialog.confirm") in ids


# -- crafted: rates on screen ---------------------------------------------------------


async def test_rate_column_shows_counter_rates_across_a_32_bit_wrap() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await oids_of(pilot, app)
        table = screen.query_one(ValueTable)
        key = row_key(("core-sw1", IF_IN_OCTETS_1))
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 2**32 - 1_000, at=T0))
        await wait_for(pilot, lambda: key in table.rows, "the counter row")
        assert cell(table, key, "rate") == "—"  # one sample: no rate yet
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 3_000, at=T0 + 2))
        await wait_for(pilot, lambda: cell(table, key, "rate") == "2,000/s", "the wrapped rate")
        assert cell(table, key, "value") == "3,000"
        detail = screen.query_one("#value-detail", Static)
        await wait_for(pilot, lambda: "rate 2,000/s" in text_of(detail), "the rate in detail")
        # a counter reset (more than half the range back) shows no rate, not a giant one
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 2_500_000_000, at=T0 + 3))
        await wait_for(pilot, lambda: cell(table, key, "rate") == "—", "no rate after a jump")
        publish(app, read("core-sw1", SYS_UPTIME, "TIME_TICKS", 100, at=T0 + 3))
        await wait_for(pilot, lambda: row_key(("core-sw1", SYS_UPTIME)) in table.rows, "uptime")
        assert cell(table, row_key(("core-sw1", SYS_UPTIME)), "rate") == ""  # not a counter


async def test_c_charts_a_counter_rate_across_a_32_bit_wrap_with_min_max_last() -> None:
    notices = Notices()
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen = await oids_of(pilot, app)
        table = screen.query_one(ValueTable)
        key = row_key(("core-sw1", IF_IN_OCTETS_1))
        # one at a time: the UI's subscription keeps only the newest read of an OID
        for at, value, rate in ((T0, 2**32 - 1_000, "—"), (T0 + 2, 3_000, "2,000/s"),
                                (T0 + 3, 4_000, "1,000/s")):  # fmt: skip
            publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", value, at=at))
            await wait_for(pilot, lambda: key in table.rows, "the counter row")
            await wait_for(pilot, lambda r=rate: cell(table, key, "rate") == r, rate)  # type: ignore[misc]
        publish(app, read("core-sw1", SYS_DESCR, "STRING", "a switch", at=T0))
        await wait_for(pilot, lambda: row_key(("core-sw1", SYS_DESCR)) in table.rows, "text")
        await select(pilot, table, "core-sw1", SYS_DESCR)
        await pilot.press("c")
        await wait_for(pilot, lambda: notices.has("no chart for a STRING value"), "refused")
        assert shown(app, OidsScreen)
        await select(pilot, table, "core-sw1", IF_IN_OCTETS_1)
        await pilot.press("c")
        await wait_for(pilot, lambda: shown(app, SnmpChartScreen), "the chart")
        chart = app.screen
        assert isinstance(chart, SnmpChartScreen)
        assert chart.key == ("core-sw1", IF_IN_OCTETS_1)
        assert "rate: nothing in the window" in chart.stats_text  # T0 is long ago
        await pilot.press("w", "w", "w")  # 15 min, 1 h, all
        assert "window all" in chart.stats_text
        assert "rate: min 1,000/s  max 2,000/s  last 1,000/s  (2 points)" in chart.stats_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "back")


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_the_chart_of_a_demo_counter_ends_on_the_rate_the_oids_screen_shows() -> None:
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await demo_oids(pilot, app)
        key = ("core-sw1", IF_IN_OCTETS_1)

        def rate() -> float | None:
            value = app.state.value(key)
            return value.rate if value is not None else None

        await wait_for(pilot, lambda: rate() is not None, "a rate", attempts=1500)
        await select(pilot, table, *key)
        detail = screen.query_one("#value-detail", Static)
        shown_rate = format_counter_rate(rate(), compact=False)
        await wait_for(pilot, lambda: f"rate {shown_rate}" in text_of(detail), "the rate shown")
        await pilot.press("c")
        await wait_for(pilot, lambda: shown(app, SnmpChartScreen), "the chart")
        chart = app.screen
        assert isinstance(chart, SnmpChartScreen)

        def ends_on_the_rate() -> bool:
            chart.draw()
            return f"last {format_counter_rate(rate(), compact=False)}  (" in chart.stats_text

        await wait_for(pilot, ends_on_the_rate, "the chart's last point is the rate")
        assert "rate: min " in chart.stats_text
        assert "window 5 min" in chart.stats_text


# -- demo: r, g, w, W, a, x -----------------------------------------------------------


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_r_reads_the_selected_oid_with_a_session_id() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen, table = await demo_oids(pilot, app)
        reads = Recorder(app, "snmp", "core-sw1", "read", SYS_CONTACT)
        await select(pilot, table, "core-sw1", SYS_CONTACT)
        await pilot.press("r")
        await wait_for(pilot, lambda: reads.payloads(cause="REQUESTED"), "the REQUESTED read")
        [payload] = reads.payloads(cause="REQUESTED")
        session = operator(app).sessions[-1]
        assert payload["session_id"] == session
        assert len(session) == 32
        int(session, 16)
        key = row_key(("core-sw1", SYS_CONTACT))
        await wait_for(pilot, lambda: cell(table, key, "cause") == "REQUESTED", "the row")
        value = app.state.value(("core-sw1", SYS_CONTACT))
        assert value is not None
        assert value.session_id == session
        shown = f"core-sw1 SNMPv2-MIB::sysContact.0 = {value.value}  (STRING)"
        await wait_for(pilot, lambda: notices.has(shown), "the notification")
        detail = screen.query_one("#value-detail", Static)
        assert f"REQUESTED  session {session[:8]}" in text_of(detail)


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_g_checks_the_name_then_reads_any_oid() -> None:
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await demo_oids(pilot, app)
        reads = Recorder(app, "snmp", "core-sw1", "read", "*")
        await pilot.press("g")
        await screen_of(pilot, app, OidPromptScreen, "the OID prompt")
        prompt = app.screen
        assert isinstance(prompt, OidPromptScreen)
        field = prompt.query_one(Input)
        await pilot.press(*"ifMt")
        completions = prompt.query_one("#oid-completions", Static)
        await wait_for(pilot, lambda: "IF-MIB::ifMtu" in text_of(completions), "completions")
        await wait_for(pilot, lambda: field._suggestion == "ifMtu", "the inline suggestion")
        field.value = ""
        await pilot.press(*"IF-MIB::ifMut.1", "enter")
        await wait_for(pilot, lambda: prompt.error != "", "the inline error")
        assert "unknown MIB object 'ifMut'" in prompt.error
        assert "did you mean 'ifMtu'?" in prompt.error
        assert app.screen is prompt  # still asking
        assert not reads.payloads(cause="REQUESTED")  # nothing sent
        assert operator(app).sessions == []
        field.value = ""
        await pilot.press(*"IF-MIB::ifMtu.1", "enter")
        await wait_for(pilot, lambda: app.screen is screen, "the prompt closed")
        key = row_key(("core-sw1", IF_MTU_1))
        await wait_for(pilot, lambda: key in table.rows, "the result row")
        assert cell(table, key, "cause") == "REQUESTED"
        assert cell(table, key, "value") == "9216"
        assert reads.payloads(cause="REQUESTED")[0]["session_id"] == operator(app).sessions[-1]
        await wait_for(pilot, lambda: table.highlighted_key == ("core-sw1", IF_MTU_1), "cursor")
        detail = screen.query_one("#value-detail", Static)
        await wait_for(pilot, lambda: "IF-MIB::ifMtu.1" in text_of(detail), "the detail line")
        assert "9216" in text_of(detail)
        # a on the get result: polled from the next cycle (first value INTERROGATE)
        await pilot.press("a")
        backend = app.runtime.snmp_devices["core-sw1"]
        assert IF_MTU_1 in backend.polling_oids
        await wait_for(
            pilot, lambda: reads.payloads(cause="INTERROGATE"), "the first poll", attempts=1000
        )
        assert cell(table, key, "cause") in {"INTERROGATE", "REQUESTED"}


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_w_validates_confirms_and_shows_the_write_outcome() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        _, table = await demo_oids(pilot, app)
        writes = Recorder(app, "snmp", "core-sw1", "write", "*")
        await select(pilot, table, "core-sw1", SYS_CONTACT)
        old = cell(table, row_key(("core-sw1", SYS_CONTACT)), "value")

        await pilot.press("w")
        await screen_of(pilot, app, WriteScreen, "the write dialog")
        dialog = app.screen
        assert isinstance(dialog, WriteScreen)
        kind = dialog.query_one("#write-type", Select)
        field = dialog.query_one("#write-value", Input)
        ok = dialog.query_one("#write-ok", Button)
        assert (kind.value, field.value, dialog.error, ok.disabled) == ("STRING", old, "", False)
        # the MIB's SYNTAX (DisplayString) decides the types: text or hex, nothing else
        await wait_for(pilot, lambda: dialog.mib_known, "the MIB object")
        assert [option[1] for option in kind._options] == ["STRING", "STRING_HEX"]
        # the wrong type for the text: an inline error, Write disabled, enter sends nothing
        kind.value = "STRING_HEX"
        await wait_for(pilot, lambda: dialog.error != "", "the inline error")
        assert dialog.error == f"STRING_HEX value {old!r} is not hexadecimal bytes"
        assert ok.disabled
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        kind.value = "STRING"
        field.value = "ops@example.net"
        await wait_for(pilot, lambda: not ok.disabled, "a valid value")

        # confirm, then cancel: nothing is sent
        await pilot.press("enter")
        await screen_of(pilot, app, ConfirmScreen, "the confirmation")
        body = text_of(app.screen.query_one("#confirm-body", Static))
        for part in ("core-sw1", SYS_CONTACT, "SNMPv2-MIB::sysContact.0", old, "→",
                     "ops@example.net"):  # fmt: skip
            assert part in body
        assert app.screen.focused is app.screen.query_one("#confirm-no", Button)  # safe default
        await pilot.press("n")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "back on the OIDs")
        assert notices.has("write cancelled: nothing was sent")
        assert operator(app).sessions == []
        assert writes.events == []

        # again, and confirm: the outcome shown is the write event's
        await pilot.press("w")
        await screen_of(pilot, app, WriteScreen, "the write dialog")
        app.screen.query_one("#write-value", Input).value = "ops@example.net"
        await pilot.press("enter")
        await screen_of(pilot, app, ConfirmScreen, "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: writes.events, "the write event", attempts=1000)
        [payload] = writes.payloads()
        assert payload["session_id"] == operator(app).sessions[-1]
        assert payload["data"] == {"type": "STRING", "value": "ops@example.net"}
        label = "core-sw1 SNMPv2-MIB::sysContact.0"
        if payload["success"]:
            expected, severity = f"{label} written: ops@example.net", "information"
        else:
            expected, severity = f"{label} not written: {payload['error']}", "error"
        await wait_for(pilot, lambda: notices.has(expected), f"the notification {expected!r}")
        assert (severity, expected) in notices.shown


@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_walk_streams_a_column_and_a_adds_to_polling() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        screen, table = await demo_oids(pilot, app)
        walks = Recorder(app, "snmp", "core-sw1", "walk", "*")
        await wait_for(pilot, lambda: row_key(("core-sw1", IF_IN_OCTETS_1)) in table.rows, "row")
        await select(pilot, table, "core-sw1", IF_IN_OCTETS_1)
        await pilot.press("W")
        await screen_of(pilot, app, WalkScreen, "the walk screen")
        walk = app.screen
        assert isinstance(walk, WalkScreen)
        assert walk.root == IF_IN_OCTETS  # the column of the selected OID
        rows = walk.query_one(WalkTable)
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk", attempts=1000)
        await wait_for(pilot, lambda: rows.row_count == 4, "four interfaces")
        progress = text_of(walk.query_one("#walk-progress", Static))
        assert progress.startswith(f"complete  {IF_IN_OCTETS}")
        assert "4 OIDs" in progress
        assert rows.highlighted_oid == IF_IN_OCTETS_1
        await wait_for(pilot, lambda: walks.events, "the walk event")
        assert walks.payloads()[0]["count"] == 4
        assert walks.payloads()[0]["complete"] is True
        await pilot.press("a")  # already polled
        await wait_for(pilot, lambda: notices.has("ifInOctets.1 is already polled"), "notice")

        # another subtree, typed as a MIB name; a adds its first OID to polling
        await pilot.press("e")
        field = walk.query_one("#walk-root", Input)
        assert walk.focused is field
        field.value = ""
        await pilot.press(*"IF-MIB::ifMtu", "enter")
        await wait_for(pilot, lambda: walk.root == IF_MTU, "the new walk")
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk", attempts=1000)
        await wait_for(pilot, lambda: rows.row_count == 4, "four MTUs")
        assert focused(walk) is rows
        assert rows.highlighted_oid == IF_MTU_1
        await pilot.press("a")
        assert IF_MTU_1 in app.runtime.snmp_devices["core-sw1"].polling_oids
        await wait_for(pilot, lambda: notices.has("ifMtu.1: polled from the next cycle"), "ok")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on the OIDs")
        key = row_key(("core-sw1", IF_MTU_1))
        await wait_for(pilot, lambda: key in table.rows, "the newly polled OID", attempts=1000)


def devices_announce_polling() -> bool:
    """True once the SNMP device publishes its polling list, as ``docs/events.md``
    documents it (cross-team contract 1): the fleet state learns from that event,
    not from the operator, that an OID is no longer polled."""
    events = Path(__file__).parents[1] / "docs" / "events.md"
    return '`("snmp", DEVICE, "polling")`' in events.read_text(encoding="utf-8")


@pytest.mark.xfail(
    not devices_announce_polling(),
    reason="the SNMP device does not publish its polling list yet (contract 1)",
    strict=True,
)
@pytest.mark.timeout(DEMO_TIMEOUT)
async def test_x_removes_from_polling_after_confirmation() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        _, table = await demo_oids(pilot, app)
        backend = app.runtime.snmp_devices["core-sw1"]
        await select(pilot, table, "core-sw1", SYS_CONTACT)
        await pilot.press("x")
        await screen_of(pilot, app, ConfirmScreen, "the confirmation")
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "cancelled")
        assert SYS_CONTACT in backend.polling_oids
        await pilot.press("x")
        await screen_of(pilot, app, ConfirmScreen, "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: SYS_CONTACT not in backend.polling_oids, "removed")
        await wait_for(
            pilot, lambda: notices.has("sysContact.0: no longer polled"), "the notification"
        )
        value = app.state.value(("core-sw1", SYS_CONTACT))
        assert value is not None
        assert not value.polled
        await pilot.press("x")  # not polled any more: said, nothing asked
        await wait_for(pilot, lambda: notices.has("sysContact.0 is not polled"), "the notice")
        assert isinstance(app.screen, OidsScreen)


# -- crafted backend: outcomes the demo cannot give on demand -----------------------------


def crafted(read_only: bool = False) -> tuple[FleettopApp, Notices]:
    app = make_app(seed=[read("core-sw1", SYS_DESCR, "STRING", "sw", cause="INTERROGATE")],
                   read_only=read_only)  # fmt: skip
    return app, Notices()


async def fake_backend(pilot: object, app: FleettopApp) -> FakeBackend:
    await devices_screen(pilot)  # type: ignore[arg-type]
    backend = attach(app, FakeBackend("core-sw1", app.runtime.bus, polling=[SYS_DESCR]))
    backend.values[SYS_DESCR] = {"type": "STRING", "value": "sw"}
    return backend


async def write_through_dialogs(pilot: object, app: FleettopApp, text: str) -> None:
    """``w`` on the selected row, type ``text``, enter, then ``y``."""
    await pilot.press("w")  # type: ignore[attr-defined]
    await screen_of(pilot, app, WriteScreen, "the write dialog")
    app.screen.query_one("#write-value", Input).value = text
    await pilot.press("enter")  # type: ignore[attr-defined]
    await screen_of(pilot, app, ConfirmScreen, "the confirmation")
    await pilot.press("y")  # type: ignore[attr-defined]


NOT_CONNECTED = SnmpNotConnectedError("SNMP device 'core-sw1' is not connected (status CONNECTING)")
DESCR = "core-sw1 SNMPv2-MIB::sysDescr.0"


@pytest.mark.parametrize(
    ("result", "error", "expected", "severity"),
    [
        ({"success": True, "error": None}, None, f"{DESCR} written: new", "information"),
        (
            {"success": False, "error": "WRONG_TYPE"},
            None,
            f"{DESCR} not written: WRONG_TYPE",
            "error",
        ),
        ({"success": False, "error": "TIMEOUT"}, None, f"{DESCR} not written: TIMEOUT", "error"),
        (None, NOT_CONNECTED, f"write {DESCR} failed: {NOT_CONNECTED}", "error"),
    ],
)
async def test_write_outcomes_are_shown(
    result: dict[str, object] | None, error: Exception | None, expected: str, severity: str
) -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        if result is not None:
            backend.write_result = result  # type: ignore[assignment]
        backend.write_error = error
        await oids_of(pilot, app)
        await write_through_dialogs(pilot, app, "new")
        await wait_for(pilot, lambda: any(expected in m for m in notices.messages), expected)
        assert any(s == severity and expected in m for s, m in notices.shown)
        [(oid, data, session)] = backend.writes
        assert (oid, data, session) == (
            SYS_DESCR,
            {"type": "STRING", "value": "new"},
            operator(app).sessions[-1],
        )


async def test_read_only_refuses_writes() -> None:
    app, notices = crafted(read_only=True)
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        screen = await oids_of(pilot, app)
        assert "READ-ONLY" in text_of(screen.query_one(StatusBar))
        await pilot.press("w")
        await wait_for(pilot, lambda: notices.has("read-only mode: writes are disabled"), "why")
        assert isinstance(app.screen, OidsScreen)  # no dialog
        assert operator(app).write("core-sw1", SYS_DESCR, {"type": "STRING", "value": "x"}) is None
        await pilot.pause()
        assert backend.writes == []
        # reads still work
        await pilot.press("r")
        await wait_for(pilot, lambda: backend.reads, "the read")
    assert app.read_only


async def test_walk_escape_cancels_and_rows_arrive_in_batches() -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        base = "1.3.6.1.2.1.1.9.1.3"
        backend.walk_rows = [
            (f"{base}.{i}", {"type": "STRING", "value": f"row {i}"}) for i in range(1, 301)
        ]
        backend.pause_after = 120
        screen = await oids_of(pilot, app)
        await pilot.press("W")
        await screen_of(pilot, app, WalkScreen, "the walk screen")
        walk = app.screen
        assert isinstance(walk, WalkScreen)
        assert walk.root == SYSTEM_GROUP  # sysDescr.0 is a scalar: its group
        rows = walk.query_one(WalkTable)
        batches: list[int] = []
        add: Callable[..., int] = rows.add

        def counting_add(new: list[tuple[str, dict[str, object]]]) -> int:
            batches.append(len(new))
            return add(new)

        rows.add = cast(Callable[..., int], counting_add)  # type: ignore[method-assign]
        await wait_for(pilot, lambda: rows.row_count == 120, "the first 120 rows")
        assert walk.running
        assert walk.count == 120
        progress = walk.query_one("#walk-progress", Static)
        await wait_for(pilot, lambda: "120 OIDs" in text_of(progress), "the count")
        assert text_of(progress).startswith("walking")
        assert f"at {base}.120" in text_of(progress)
        assert sum(batches) <= 120
        assert len(batches) < 120  # a batch per frame, never a row at a time

        await pilot.press("escape")
        await wait_for(pilot, lambda: walk.outcome == "cancelled", "the cancel")
        assert backend.walks_closed == 1  # the generator was closed
        assert isinstance(app.screen, WalkScreen)  # the rows stay to look at
        await wait_for(pilot, lambda: text_of(progress).startswith("cancelled"), "the progress")
        assert rows.row_count == 120
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on the OIDs")


async def test_devices_screen_get_selects_the_result_in_the_preview() -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        backend.values[SYS_UPTIME] = {"type": "TIME_TICKS", "value": 4_200}
        await pilot.press("g")
        await screen_of(pilot, app, OidPromptScreen, "the OID prompt")
        await pilot.press(*"sysUpTime.0", "enter")
        preview = app.screen.query_one("#preview", ValueTable)
        await wait_for(pilot, lambda: preview.highlighted_key == ("core-sw1", SYS_UPTIME), "row")
        assert cell(preview, row_key(("core-sw1", SYS_UPTIME)), "value") == "0d 00:00:42.00"
        assert backend.reads == [(SYS_UPTIME, operator(app).sessions[-1])]
        await wait_for(
            pilot, lambda: notices.has("SNMPv2-MIB::sysUpTime.0 = 0d 00:00:42.00"), "notice"
        )


async def test_no_backend_is_said_not_raised() -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        await oids_of(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: notices.has("core-sw1: no SNMP backend"), "the notice")
        assert operator(app).sessions == []


# -- the command palette --------------------------------------------------------------


async def test_palette_commands_come_from_the_screen_bindings() -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        screen = await oids_of(pilot, app)
        commands = {command.title: command for command in binding_commands(screen)}
        for title in ("Back", "Read", "Get", "Write", "Walk", "Poll", "Unpoll"):
            assert title in commands
        assert commands["Read"].keys == "r"
        assert commands["Walk"].keys == "W"
        assert "Quit" not in commands  # the app's own: the palette has them already
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen is not screen, "the palette")
        palette = app.screen
        await pilot.press(*"Read")
        hits = palette.query_one(CommandList)
        await wait_for(pilot, lambda: hits.option_count > 0, "the hits")
        assert "Read" in str(hits.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await wait_for(pilot, lambda: backend.reads, "the read from the palette")
        assert backend.reads == [(SYS_DESCR, operator(app).sessions[-1])]
        assert "s3cret" not in screen_text(app)


async def test_devices_screen_walks_the_system_group() -> None:
    app, notices = crafted()
    async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
        backend = await fake_backend(pilot, app)
        backend.walk_rows = [
            (SYS_DESCR, {"type": "STRING", "value": "sw"}),
            (SYS_UPTIME, {"type": "TIME_TICKS", "value": 4_200}),
            (IF_MTU_1, {"type": "INTEGER", "value": 1500}),  # outside the subtree
        ]
        devices = app.screen
        await pilot.press("W")
        await screen_of(pilot, app, WalkScreen, "the walk screen")
        walk = app.screen
        assert isinstance(walk, WalkScreen)
        assert (walk.device, walk.root) == ("core-sw1", SYSTEM_GROUP)
        await wait_for(pilot, lambda: walk.outcome == "complete", "the walk")
        rows = walk.query_one(WalkTable)
        await wait_for(pilot, lambda: rows.row_count == 2, "two rows")
        assert rows.value_text(SYS_UPTIME) == "0d 00:00:42.00"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is devices, "back on the devices")
