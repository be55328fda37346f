"""Snapshot tests of the screens (``snap_compare``, fixed terminal size).

Determinism: the content comes only from crafted events (see ``tests/test_app.py``)
with fixed source timestamps; the app gets a fixed clock in UTC
(``Clock(now=lambda: T0, tz=timezone.utc)``) through its ``clock`` argument, so every
time on screen and the events/s rate (no time passes: ``—/s``) are the same on every
run; MIB names come from a dict; inputs do not blink; the dialogs and the walk screen
talk to a scripted backend (``FakeBackend``). Each snapshot waits, by bounded polling, until the
screen shows what it should before the picture is taken.

Regenerate with ``make snapshots`` (``pytest tests/test_snapshots.py
--snapshot-update``) and look at the SVGs in ``tests/__snapshots__/`` before
committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.store import SNMP_INTERFACE
from screens.confirm import ConfirmScreen
from screens.devices import DevicesScreen
from screens.help import HelpScreen
from screens.oids import OidsScreen
from screens.properties import PropertiesScreen
from screens.startup import StartupErrorScreen
from screens.walk import WalkScreen
from screens.write import WriteScreen
from tests.store_helpers import store_app
from tests.ui_helpers import (
    IF_IN_OCTETS_1,
    IF_PHYS_ADDRESS_1,
    SYS_DESCR,
    SYS_UPTIME,
    T0,
    FakeBackend,
    attach,
    make_app,
    poll,
    publish,
    read,
    status,
    wait_for,
)
from widgets.property_tree import PropertyTree
from widgets.value_table import ValueTable, row_key

TERMINAL = (130, 26)
IF_OPER_STATUS_1 = "1.3.6.1.2.1.2.2.1.8.1"
UPS_LOAD = "1.3.6.1.4.1.32473.3.1.4.0"

FLEET_EVENTS = [
    status("core-sw1", "CONNECTING", at=T0 - 120),
    status("core-sw1", "CONNECTED", at=T0 - 118),
    poll("core-sw1", rtt=3.4, values=32, errors=0, polls=118, at=T0 - 1),
    status("ap-lobby", "DISCONNECTED", "no response after 2 tries (timeout 0.5 s)", at=T0 - 7),
    poll("ap-lobby", rtt=11.6, values=23, errors=14, polls=96, at=T0 - 9),
    status("ups-1", "CONNECTING", at=T0 - 2),
    read(
        "core-sw1",
        SYS_DESCR,
        "STRING",
        "fleettop demo switch FT-SW48, firmware 4.2.1 (simulated)",
        cause="INTERROGATE",
        at=T0 - 118,
    ),
    read("core-sw1", SYS_UPTIME, "TIME_TICKS", 123_456_789, at=T0 - 1),
    read("core-sw1", IF_OPER_STATUS_1, "INTEGER", 2, at=T0 - 30),
    read(
        "core-sw1",
        IF_PHYS_ADDRESS_1,
        "STRING_HEX",
        "001a2b3c4d5e",
        cause="INTERROGATE",
        at=T0 - 118,
    ),
    read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 3_974_576_394, at=T0 - 1),
    read("core-sw1", UPS_LOAD, "ERROR", "NO_SUCH_OBJECT", cause="INTERROGATE", at=T0 - 118),
    read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 3_974_581_002, at=T0),
    read("core-sw1", IF_OPER_STATUS_1, "INTEGER", 1, at=T0),
]


def settle(
    screen_type: type, condition: Callable[[Pilot[None]], bool] | None = None
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Wait (bounded) for a screen of ``screen_type`` and ``condition``, then for
    the workers (MIB names) to finish."""

    async def run_before(pilot: Pilot[None]) -> None:
        def composed() -> bool:
            return isinstance(pilot.app.screen, screen_type) and pilot.app.screen.is_mounted

        await wait_for(pilot, composed, "the screen")
        if condition is not None:
            await wait_for(pilot, lambda: condition(pilot), "the content")
        # every worker but an open dialog's flow (it waits for the dialog)
        busy = [worker for worker in pilot.app.workers if worker.group != "dialog"]
        if busy:  # an empty list would mean every worker
            await pilot.app.workers.wait_for_complete(busy)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def test_devices_screen(snap_compare: Callable[..., bool]) -> None:
    app = make_app(seed=FLEET_EVENTS)
    assert snap_compare(app, terminal_size=TERMINAL, run_before=settle(DevicesScreen))


def named(pilot: Pilot[None]) -> bool:
    """The OIDs screen shows MIB names."""
    table = pilot.app.screen.query_one(ValueTable)
    return table.get_cell(row_key(("core-sw1", SYS_UPTIME)), "name").plain != ""


async def open_oids(pilot: Pilot[None]) -> None:
    """From the Devices screen to core-sw1's OIDs, names resolved."""
    await settle(DevicesScreen)(pilot)
    await pilot.press("enter")
    await settle(OidsScreen, named)(pilot)


async def select_row(pilot: Pilot[None], oid: str) -> None:
    """Put the OIDs screen's cursor on core-sw1's ``oid``."""
    assert pilot.app.screen.query_one(ValueTable).select_key(("core-sw1", oid))
    await pilot.pause()


def test_oids_screen(snap_compare: Callable[..., bool]) -> None:
    """The RATE column: ifInOctets.1 was seen twice, 4,608 octets 1 s apart."""
    app = make_app(seed=FLEET_EVENTS)

    async def with_rate(pilot: Pilot[None]) -> None:
        await open_oids(pilot)
        publish(app, read("core-sw1", IF_IN_OCTETS_1, "COUNTER", 3_974_585_610, at=T0 + 1))
        table = pilot.app.screen.query_one(ValueTable)
        key = row_key(("core-sw1", IF_IN_OCTETS_1))
        await settle(OidsScreen, lambda _: table.get_cell(key, "rate").plain != "—")(pilot)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=with_rate)


def test_write_dialog(snap_compare: Callable[..., bool]) -> None:
    app = make_app(seed=FLEET_EVENTS)

    async def open_write(pilot: Pilot[None]) -> None:
        await open_oids(pilot)
        attach(app, FakeBackend("core-sw1", app.runtime.bus))
        await select_row(pilot, SYS_DESCR)
        await pilot.press("w")
        await settle(WriteScreen)(pilot)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=open_write)


def test_write_confirmation(snap_compare: Callable[..., bool]) -> None:
    app = make_app(seed=FLEET_EVENTS)

    async def confirm(pilot: Pilot[None]) -> None:
        await open_oids(pilot)
        attach(app, FakeBackend("core-sw1", app.runtime.bus))
        await select_row(pilot, SYS_DESCR)
        await pilot.press("w")
        await settle(WriteScreen)(pilot)
        pilot.app.screen.query_one("#write-value", Input).value = "core switch, rack A2"
        await pilot.press("enter")
        await settle(ConfirmScreen)(pilot)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=confirm)


def test_walk_screen(snap_compare: Callable[..., bool]) -> None:
    app = make_app(seed=FLEET_EVENTS)
    column = IF_IN_OCTETS_1.rpartition(".")[0]

    async def walk(pilot: Pilot[None]) -> None:
        await open_oids(pilot)
        backend = attach(app, FakeBackend("core-sw1", app.runtime.bus))
        backend.walk_rows = [
            (f"{column}.{i}", {"type": "COUNTER", "value": 3_974_576_394 * i % 2**32})
            for i in range(1, 5)
        ]
        await select_row(pilot, IF_IN_OCTETS_1)
        await pilot.press("W")

        def walked(pilot: Pilot[None]) -> bool:
            screen = pilot.app.screen
            return isinstance(screen, WalkScreen) and screen.outcome == "complete"

        await settle(WalkScreen, walked)(pilot)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=walk)


def test_help_screen(snap_compare: Callable[..., bool]) -> None:
    app = make_app(seed=FLEET_EVENTS)

    async def open_help(pilot: Pilot[None]) -> None:
        await settle(DevicesScreen)(pilot)
        await pilot.press("question_mark")
        await settle(HelpScreen)(pilot)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=open_help)


def test_startup_error_screen(snap_compare: Callable[..., bool]) -> None:
    app = make_app(fail=OSError("[Errno 98] cannot bind 127.0.0.1:16100: address already in use"))
    assert snap_compare(app, terminal_size=TERMINAL, run_before=settle(StartupErrorScreen))


def test_properties_screen(snap_compare: Callable[..., bool], tmp_path: Path) -> None:
    """The Properties screen over a crafted store: core-sw1 and ap-lobby expanded,
    ifInOctets.1 selected with three live values (the sparkline)."""
    app = store_app(tmp_path / "store.db")

    async def browse(pilot: Pilot[None]) -> None:
        await settle(DevicesScreen)(pilot)
        await pilot.press("P")
        await settle(
            PropertiesScreen,
            lambda p: (
                isinstance(p.app.screen, PropertiesScreen) and p.app.screen.filter_shown is not None
            ),
        )(pilot)
        screen = pilot.app.screen
        tree = screen.query_one(PropertyTree)
        for device in list(tree.root.children):
            if device.data is None or device.data.device == "ups-1":
                continue
            device.expand()
            await wait_for(pilot, lambda d=device: bool(d.children), "the interfaces")  # type: ignore[misc]
            for interface in device.children:
                interface.expand()
        await wait_for(pilot, lambda: tree.loaded_properties == 9, "the paths")
        for i in range(1, 4):
            publish(
                app,
                read(
                    "core-sw1",
                    IF_IN_OCTETS_1,
                    "COUNTER",
                    3_974_581_002 + i * i * 4608,
                    at=T0 - 3 + i,
                ),
            )
        leaf = tree.leaf(("core-sw1", SNMP_INTERFACE, "/" + IF_IN_OCTETS_1))
        assert leaf is not None
        tree.move_cursor(leaf)
        caption = screen.query_one("#property-spark-label", Static)
        await settle(PropertiesScreen, lambda _: "recent values: 3" in str(caption.content))(pilot)

    assert snap_compare(app, terminal_size=(130, 34), run_before=browse)
