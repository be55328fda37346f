"""The checked-form dialogs (write, publish, MQTT set, export): keys typed at paste
speed are applied in the order typed, every dialog sits in the middle of the screen,
enter on a checkbox submits; and the write dialog typed into through a real terminal
(tmux) against the demo, the agent read back with Net-SNMP's ``snmpget``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Static

import console.demo
from console.app import FleettopApp
from console.astarte import load_interface
from console.config import Config
from screens.export import ExportChoice, ExportScreen
from screens.mqtt_set import MqttSetScreen, SetRequest
from screens.oids import OidsScreen
from screens.publish import PublishRequest, PublishScreen
from screens.write import WriteScreen
from tests.conftest import require_program
from tests.ui_helpers import (
    FLEET,
    SIZE,
    SYS_DESCR,
    CraftedRuntime,
    FakeBackend,
    FakeMib,
    attach,
    burst,
    devices_screen,
    fixed_clock,
    make_app,
    read,
    shown,
    wait_for,
)
from widgets.mib_names import MibNames
from widgets.value_table import ValueTable

SAMPLING_RATE = (
    Path(console.demo.__file__).parent
    / "interfaces"
    / "org.astarte-platform.genericsensors.SamplingRate.json"
)


async def opened(pilot: Any, screen: Screen[Any]) -> list[Any]:
    """Push ``screen`` over the Devices screen; the list receives its result."""
    app = pilot.app
    await devices_screen(pilot)
    results: list[Any] = []
    app.push_screen(screen, results.append)
    await wait_for(pilot, lambda: shown(app, type(screen)), "the dialog")
    return results


def seeded_app() -> Any:
    return make_app(seed=[read("core-sw1", SYS_DESCR, "STRING", "sw", cause="INTERROGATE")])


# -- keys at paste speed ----------------------------------------------------------------


async def test_write_dialog_applies_a_burst_of_keys_in_order() -> None:
    """The value is pre-selected: typed text replaces it; ``end`` then text appends,
    with ``left`` and ``backspace`` where they were typed (they used to run after the
    characters that followed them)."""
    app = seeded_app()
    async with app.run_test(size=SIZE) as pilot:
        await devices_screen(pilot)  # the runtime starts after the first frame
        await wait_for(pilot, lambda: app.state.value(("core-sw1", SYS_DESCR)) is not None, "seed")
        current = app.state.value(("core-sw1", SYS_DESCR))
        assert current is not None
        results = await opened(pilot, WriteScreen("core-sw1", SYS_DESCR, None, current))
        burst(app, [*"ctl-write", "enter"])
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [{"type": "STRING", "value": "ctl-write"}]

        results = await opened(pilot, WriteScreen("core-sw1", SYS_DESCR, None, current))
        burst(app, ["end", *"-ctl-write", "left", "backspace", "home", "x", "enter"])
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [{"type": "STRING", "value": "xsw-ctl-wrie"}]


class SlowMib(FakeMib):
    """:class:`FakeMib` whose names wait for :attr:`ready` (a MIB tree still loading)."""

    def __init__(self) -> None:
        self.ready = threading.Event()

    def resolve(self, oid: str) -> str | None:
        """The name of ``oid`` once :attr:`ready` is set (at most 30 s later)."""
        self.ready.wait(30)
        return super().resolve(oid)


async def test_w_then_text_in_a_burst_lands_in_the_write_dialog() -> None:
    """Issue 11 §4: the dialog used to open only once the MIB name was resolved (in a
    thread), and the keys typed meanwhile went to the OIDs screen underneath."""
    mib = SlowMib()
    seed = [read("core-sw1", SYS_DESCR, "STRING", "sw", cause="INTERROGATE")]
    app = FleettopApp(
        CraftedRuntime(Config(devices=FLEET), seed=seed),
        clock=fixed_clock(),
        mib_names=MibNames(lambda: mib),
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await devices_screen(pilot)
            attach(app, FakeBackend("core-sw1", app.runtime.bus))
            await pilot.press("enter")
            await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs screen")
            table = app.screen.query_one(ValueTable)
            await wait_for(pilot, lambda: table.select_key(("core-sw1", SYS_DESCR)), "the row")
            burst(app, ["w", *"ctl-write"])
            await wait_for(pilot, lambda: shown(app, WriteScreen), "the write dialog")
            dialog = app.screen
            assert isinstance(dialog, WriteScreen)
            value = dialog.query_one("#write-value", Input)
            await wait_for(pilot, lambda: value.value == "ctl-write", "the typed value")
            target = dialog.query_one("#write-target", Static)
            assert "sysDescr" not in str(target.content)
            mib.ready.set()  # the name arrives: the dialog shows it, the text stays
            await wait_for(pilot, lambda: "sysDescr" in str(target.content), "the MIB name")
            assert value.value == "ctl-write"
    finally:
        mib.ready.set()


async def test_export_name_typed_in_a_burst_keeps_every_character(tmp_path: Path) -> None:
    app = seeded_app()
    async with app.run_test(size=SIZE) as pilot:
        results = await opened(pilot, ExportScreen("Export", "rows.jsonl", directory=tmp_path))
        burst(app, ["end", *["backspace"] * 5, *"csv", "enter"])
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [ExportChoice(tmp_path / "rows.csv", "jsonl")]

        results = await opened(pilot, ExportScreen("Export", "rows.jsonl", directory=tmp_path))
        burst(app, [*"fleet-rows.jsonl", "enter"])
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [ExportChoice(tmp_path / "fleet-rows.jsonl", "jsonl")]


# -- layout and keys ------------------------------------------------------------------------


def dialogs() -> list[Screen[Any]]:
    interface = load_interface(SAMPLING_RATE)
    path = "/room/samplingPeriod"
    return [
        PublishScreen(["plant"], ["site/a"], "site/a"),
        MqttSetScreen("thermostat-1", interface, path, "10"),
        ExportScreen("Export", "rows.jsonl"),
    ]


@pytest.mark.parametrize("index", range(3), ids=["publish", "set", "export"])
async def test_every_dialog_is_in_the_middle_of_the_screen(index: int) -> None:
    app = seeded_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = dialogs()[index]
        await opened(pilot, dialog)
        box = dialog.query_one(".dialog").region
        width, height = SIZE
        assert abs(box.x - (width - box.right)) <= 1, box
        assert abs(box.y - (height - box.bottom)) <= 1, box


async def test_enter_on_the_retain_checkbox_publishes_and_space_toggles() -> None:
    app = seeded_app()
    async with app.run_test(size=SIZE) as pilot:
        dialog = PublishScreen(["plant"], [], "site/a")
        results = await opened(pilot, dialog)
        retain = dialog.query_one("#publish-retain", Checkbox)
        dialog.set_focus(retain)
        await pilot.pause()
        await pilot.press("space")
        assert retain.value
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [PublishRequest("plant", "site/a", b"", 1, True)]


async def test_set_dialog_checks_and_submits() -> None:
    app = seeded_app()
    async with app.run_test(size=SIZE) as pilot:
        interface = load_interface(SAMPLING_RATE)
        path = "/room/samplingPeriod"
        dialog = MqttSetScreen("thermostat-1", interface, path, "10")
        results = await opened(pilot, dialog)
        burst(app, [*"fast"])
        await wait_for(pilot, lambda: "integer" in dialog.error, "the inline error")
        burst(app, [*["backspace"] * 4, *"25", "enter"])
        await wait_for(pilot, lambda: bool(results), "the dialog's answer")
        assert results == [SetRequest(interface, path, 25)]


# -- through a real terminal --------------------------------------------------------------


class Tmux:
    """``fleettop demo`` in a detached tmux session of 140x40."""

    def __init__(self, program: str, name: str) -> None:
        self.program = program
        self.name = name

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``tmux ARGS`` on the test's own server (``-L``: never another one's)."""
        return subprocess.run(
            [self.program, "-L", self.name, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
        )

    def keys(self, *keys: str, literal: bool = False) -> None:
        """``send-keys`` (``-l``: the text as typed, at once)."""
        flags = ["-l", "--"] if literal else []
        self.run("send-keys", "-t", self.name, *flags, *keys)

    def screen(self) -> str:
        """``capture-pane``: the text on screen."""
        return self.run("capture-pane", "-t", self.name, "-p").stdout

    def wait(self, pattern: str, what: str, seconds: float = 30.0) -> re.Match[str]:
        """The first match of ``pattern`` on screen; fails after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            found = re.search(pattern, self.screen())
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.screen()}")
            time.sleep(0.05)


@pytest.fixture
def demo_in_tmux(tmp_path: Path) -> Iterator[Tmux]:
    program = require_program("tmux")
    name = f"fleettop-forms-{os.getpid()}"
    root = Path(__file__).resolve().parent.parent
    command = " ".join(
        [
            f"cd {root} && unset COLUMNS LINES &&",  # the size is the terminal's
            f"FLEETTOP_DATA_DIR={tmp_path} PYTHONPATH={root}",
            f"{sys.executable} -m console.cli demo",
        ]
    )
    tmux = Tmux(program, name)
    tmux.run("new-session", "-d", "-s", name, "-x", "140", "-y", "40", command)
    try:
        yield tmux
    finally:
        subprocess.run([program, "-L", name, "kill-server"], check=False)


def agent_value(snmpget: str, port: int, oid: str) -> str:
    """The agent's string at ``oid``, read with Net-SNMP."""
    result = subprocess.run(
        [snmpget, "-v2c", "-c", "public", "-Oqv", "-t", "2", f"127.0.0.1:{port}", oid],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip().removeprefix('"').removesuffix('"')


SYS_CONTACT = "1.3.6.1.2.1.1.4.0"


@pytest.mark.peer("tmux")
@pytest.mark.timeout(180)
def test_write_typed_at_paste_speed_through_tmux_reaches_the_agent(demo_in_tmux: Tmux) -> None:
    """``w`` on sysContact.0 of the demo's core-sw1, ``End``, the text with
    ``send-keys -l`` (one write to the terminal), enter, ``y``: the agent holds every
    character, appended (three times)."""
    snmpget = require_program("snmpget")
    tmux = demo_in_tmux
    port = int(tmux.wait(r"core-sw1\s+127\.0\.0\.1:(\d+)\s+SNMP v2c\s+CONNECTED", "demo").group(1))
    tmux.keys("Enter")  # the first row: core-sw1
    tmux.wait(r"OIDs · core-sw1[\s\S]*sysContact\.0", "the OIDs of core-sw1")
    tmux.keys("Down", "Down", "Down")
    tmux.wait(r"core-sw1  1\.3\.6\.1\.2\.1\.1\.4\.0  SNMPv2-MIB::sysContact\.0", "sysContact")
    expected = agent_value(snmpget, port, SYS_CONTACT)
    for attempt in range(3):
        # the dialog starts from the value the UI shows: wait until it is the agent's
        tmux.wait(re.escape(expected), "the value read back on screen")
        tmux.keys("w")
        tmux.wait(r"Write to core-sw1 ", "the write dialog")
        tmux.keys("End")
        text = f"-ctl-write{attempt}"
        tmux.keys(text, literal=True)
        tmux.keys("Enter")
        tmux.wait(r"Write to core-sw1\?", "the confirmation")
        tmux.keys("y")
        expected += text
        deadline = time.monotonic() + 20
        while agent_value(snmpget, port, SYS_CONTACT) != expected:
            assert time.monotonic() < deadline, agent_value(snmpget, port, SYS_CONTACT)
            time.sleep(0.1)
        tmux.wait(r"fleettop — OIDs · core-sw1", "back on the OIDs screen")


# -- the audit table ------------------------------------------------------------------------


async def test_audit_result_column_is_on_a_140_column_screen() -> None:
    """The RESULT column comes before the long target and values (it used to be the
    last one, off a 140-column screen)."""
    from textual.app import App, ComposeResult

    from console.events import JsonValue
    from console.store import AuditEntry
    from tests.ui_helpers import fixed_clock
    from widgets.audit_table import AuditTable

    long_value: JsonValue = {"type": "STRING", "value": "x" * 200}
    entry = AuditEntry(
        7, 1_700_000_000_000, "operator", "snmp.set", "core-sw1",
        "1.3.6.1.4.1.8072.9999.9999.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18",
        long_value, long_value, "NOT_WRITABLE", None,
    )  # fmt: skip

    class Audit(App[None]):
        def compose(self) -> ComposeResult:
            yield AuditTable(fixed_clock())

    app = Audit()
    async with app.run_test(size=(140, 10)) as pilot:
        table = app.query_one(AuditTable)
        table.add_entries([entry])
        await pilot.pause()
        widths = {
            key.value: column.get_render_width(table) for key, column in table.columns.items()
        }
        keys = list(widths)
        end = sum(widths[key] for key in keys[: keys.index("result") + 1])
        assert end <= 140, widths
        assert table.get_cell("7", "result").plain == "NOT_WRITABLE"


# -- the terminal going away ----------------------------------------------------------------


def demo_process(marker: Path) -> int | None:
    """The pid of the ``fleettop demo`` whose data directory is ``marker``, or None."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if b"console.cli" in command and f"FLEETTOP_DATA_DIR={marker}".encode() in environ:
            return int(entry.name)
    return None


@pytest.mark.peer("tmux")
@pytest.mark.timeout(120)
def test_a_closed_terminal_ends_fleettop_even_when_no_sighup_reaches_it(tmp_path: Path) -> None:
    """A closed terminal window hangs up its terminal; a parent such as ``make demo``
    keeps SIGHUP from fleettop (here: ``trap '' HUP`` in the shell that starts it, so
    fleettop inherits it ignored). fleettop still notices the dead terminal and quits,
    closing its runtime, instead of spinning on it forever."""
    program = require_program("tmux")
    name = f"fleettop-hangup-{os.getpid()}"
    root = Path(__file__).resolve().parent.parent
    command = (
        f"cd {root} && unset COLUMNS LINES && trap '' HUP && "
        f"FLEETTOP_DATA_DIR={tmp_path} PYTHONPATH={root} {sys.executable} -m console.cli demo"
    )
    tmux = Tmux(program, name)
    tmux.run("new-session", "-d", "-s", name, "-x", "140", "-y", "40", command)
    try:
        tmux.wait(r"core-sw1\s+127\.0\.0\.1:\d+\s+SNMP v2c\s+CONNECTED", "the demo")
        pid = demo_process(tmp_path)
        assert pid is not None
    finally:
        subprocess.run([program, "-L", name, "kill-server"], check=False)
    deadline = time.monotonic() + 30  # bounds a hung test; the check runs every second
    while demo_process(tmp_path) is not None:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            raise AssertionError("fleettop kept running on a terminal that hung up")
        time.sleep(0.1)
