"""The MIB browser (``M``, ``:mibs``) and the write dialog checked against the MIB.

What the browser shows of an object is compared with Net-SNMP's ``snmptranslate -Td``
over fleettop's vendored IF-MIB and SNMPv2-MIB sources (SYNTAX enumerations and
ranges, MAX-ACCESS, STATUS, UNITS, INDEX, AUGMENTS, DESCRIPTION). The Pilot tests run
the real app over a runtime whose one device is Debian's ``snmpd``: the browser's
get, walk, table and poll reach the agent and the right screens, and the write
dialog refuses read-only objects, out-of-range numbers, oversized strings and
unknown enumerations before anything is sent, while an enumeration written by its
label reaches the agent (read back with ``snmpget``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Static

from console.app import FleettopApp
from console.config import Config, DeviceConfig, SnmpDeviceConfig, StoreConfig
from console.events import Event
from console.runtime import Runtime
from console.secrets import Secret
from console.snmp.mib import MibResolver
from console.snmp.mibmeta import MibInfo
from console.snmp.mibs import BASE_DIR
from console.snmp.mibtexts import MibTexts, reflow, scan_descriptions
from console.snmp.mibtree import MibTree, detail_fields
from console.snmp.mibwrite import (
    check_against_mib,
    enum_value,
    write_object,
    write_types,
)
from screens.command_line import parse_command
from screens.confirm import ConfirmScreen
from screens.get import OidPromptScreen
from screens.mibs import MibBrowserScreen, search_objects
from screens.oids import OidsScreen
from screens.table import TableScreen
from screens.walk import WalkScreen
from screens.write import WRITE_TYPES, WriteScreen, check_mib_write
from tests.snmp_peers import Snmpd, snmpget
from tests.ui_helpers import Notices, devices_screen, shown, wait_for
from widgets.mib_tree import MibTreeView
from widgets.value_table import ValueTable

DEBIAN_MIBS = Path("/usr/share/snmp/mibs")
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
AUTHEN_TRAPS = "1.3.6.1.2.1.11.30.0"  # SNMPv2-MIB::snmpEnableAuthenTraps, enabled(1)/disabled(2)
SET_SERIAL = "1.3.6.1.6.3.1.1.6.1.0"  # SNMPv2-MIB::snmpSetSerialNo, TestAndIncr
ENTERPRISE = "1.3.6.1.4.1.32473.1.1.0"
TIMEOUT = 120


# -- the MIBs, as the runtime loads them ----------------------------------------------


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> MibInfo:
    resolver = MibResolver(mib_paths=[BASE_DIR], cache_dir=tmp_path_factory.mktemp("mibcache"))
    resolver.load()
    found = resolver.info
    assert found is not None
    return found


@pytest.fixture(scope="module")
def texts() -> MibTexts:
    import pysnmp.smi.mibs as bundled

    return MibTexts.from_sources([BASE_DIR], [Path(bundled.__file__).parent])


def _translate(*names: str) -> dict[str, str]:
    """``snmptranslate -Td`` of each name (one run each: a DESCRIPTION may hold blank
    lines): name -> its block."""
    program = shutil.which("snmptranslate")
    if program is None:
        pytest.skip("Net-SNMP's snmptranslate (Debian snmp)")
    blocks: dict[str, str] = {}
    for name in names:
        out = subprocess.run(
            [program, "-M", f"{BASE_DIR}:{DEBIAN_MIBS}", "-m", "IF-MIB:SNMPv2-MIB", "-Td", name],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        blocks[name] = out.strip().partition("\n")[2]
    return blocks


def _field(block: str, key: str) -> str | None:
    match = re.search(rf"^  {key}\t(.*?)(?=^  [A-Z-]+\t|^::=|\Z)", block, re.M | re.S)
    return match.group(1).strip() if match else None


def _quoted(block: str, key: str) -> str | None:
    found = _field(block, key)
    return found.strip('"') if found is not None else None


def _words(text: str) -> list[str]:
    return text.replace('"', " ").split()


DETAILED = (
    "IF-MIB::ifOperStatus",
    "IF-MIB::ifAdminStatus",
    "IF-MIB::ifEntry",
    "IF-MIB::ifXEntry",
    "IF-MIB::ifHighSpeed",
    "IF-MIB::ifPhysAddress",
    "IF-MIB::linkDown",
    "SNMPv2-MIB::sysDescr",
    "SNMPv2-MIB::snmpEnableAuthenTraps",
    "SNMPv2-MIB::sysUpTime",
)


def test_details_are_what_snmptranslate_says(info: MibInfo, texts: MibTexts) -> None:
    blocks = _translate(*DETAILED)
    for qualified in DETAILED:
        module, _, name = qualified.partition("::")
        obj = info.named(module, name)
        assert obj is not None, qualified
        fields = dict(detail_fields(obj, info, texts.description(module, name)))
        block = blocks[qualified]
        assert _words(fields["DESCRIPTION"]) == _words(_field(block, "DESCRIPTION") or ""), name
        if obj.kind != "notification":  # snmptranslate prints no STATUS of those
            assert fields.get("STATUS") == _field(block, "STATUS"), name
        assert fields.get("MAX-ACCESS") == _field(block, "MAX-ACCESS"), name
        assert fields.get("UNITS") == _quoted(block, "UNITS"), name
        assert fields.get("DISPLAY-HINT") == _quoted(block, "DISPLAY-HINT"), name
        syntax = _field(block, "SYNTAX")
        if syntax is not None:
            enums = re.findall(r"(\w+)\((-?\d+)\)", syntax.partition("{")[2])
            shown = re.findall(r"(\w+)\((-?\d+)\)", fields["SYNTAX"].partition("{")[2])
            assert shown == enums, name
            ranges = re.search(r"\(([-\d.| ]+)\)\s*$", syntax)
            if ranges and not enums:
                assert f"{ranges.group(1).replace(' ', '')})" in fields["SYNTAX"].replace(" ", "")
        index = _field(block, "INDEX")
        if index is not None:
            expected = [w.strip() for w in index.strip("{} ").split(",")]
            assert [i.rpartition("::")[2] for i in fields["INDEX"].split(", ")] == expected
        augments = _field(block, "AUGMENTS")
        if augments is not None:
            assert fields["AUGMENTS"].rpartition("::")[2] == augments.strip("{} ")
        objects = _field(block, "OBJECTS")
        if objects is not None:
            expected = [w.strip() for w in objects.strip("{} ").split(",")]
            assert [o.rpartition("::")[2] for o in fields["OBJECTS"].split(", ")] == expected
    oper = dict(detail_fields(info.named("IF-MIB", "ifOperStatus"), info))  # type: ignore[arg-type]
    assert "IF-MIB::linkDown" in oper["NOTIFICATIONS"]
    assert "IF-MIB::linkUp" in oper["NOTIFICATIONS"]


def test_texts_are_read_from_sources_and_pysnmp_code(texts: MibTexts) -> None:
    assert texts.description("IF-MIB", "ifOperStatus").startswith(
        "The current operational state of the interface."
    )
    # pysnmp's own compiled modules: SNMP-FRAMEWORK-MIB has no source here
    assert "administratively-unique" in texts.description("SNMP-FRAMEWORK-MIB", "snmpEngineID")
    # a phrase across a line break of the source
    assert ("IF-MIB", "ifOperStatus") in texts.search("no operational packets can be passed")
    source = """X-MIB DEFINITIONS ::= BEGIN
    IMPORTS OBJECT-TYPE FROM SNMPv2-SMI;  -- OBJECT-TYPE "not a text" --
    Thing ::= TEXTUAL-CONVENTION
        STATUS current
        DESCRIPTION "A thing."
        SYNTAX INTEGER
    aThing OBJECT-TYPE -- a comment with DESCRIPTION "no"
        SYNTAX Thing
        DESCRIPTION
            "First line.
             Second line."
        ::= { x 1 }
    END"""
    assert scan_descriptions(source) == {
        ("X-MIB", "Thing"): "A thing.",
        ("X-MIB", "aThing"): "First line.\nSecond line.",
    }


def test_reflow_joins_the_lines_of_a_paragraph_only() -> None:
    text = "One\nsentence.\n\nValues:\n- a\n- b\n  indented\nend"
    assert reflow(text) == "One sentence.\n\nValues:\n- a\n- b\n  indented end"


def test_search_by_name_oid_and_text(info: MibInfo, texts: MibTexts) -> None:
    by_name = [o.qualified for o in search_objects(info, texts, "ifOperSt")]
    assert "IF-MIB::ifOperStatus" in by_name
    by_oid = search_objects(info, texts, "1.3.6.1.2.1.2.2.1.7")
    assert by_oid[0].qualified == "IF-MIB::ifAdminStatus"
    by_text = [o.qualified for o in search_objects(info, texts, "operational packets")]
    assert "IF-MIB::ifOperStatus" in by_text
    assert "IF-MIB::ifOperStatus" not in [o.qualified for o in info.search("operational")]
    # the names the screens show, an instance suffix included
    shown = [o.qualified for o in search_objects(info, texts, "IF-MIB::ifOperStatus.3")]
    assert shown == ["IF-MIB::ifOperStatus"]
    assert len(search_objects(info, texts, "if-mib::")) == len(info.module_objects("IF-MIB"))


def test_the_tree_nests_objects_by_oid_and_opens_lazily(info: MibInfo) -> None:
    tree = MibTree(info)
    rows = tree.rows()
    assert [r.module for r in rows] == sorted((r.module for r in rows), key=str.casefold)
    assert all(r.obj is None and not r.expanded for r in rows)
    entry = info.named("IF-MIB", "ifEntry")
    assert entry is not None
    tree.reveal(entry)
    rows = tree.rows()
    keys = [r.key for r in rows]
    at = keys.index("IF-MIB::ifEntry")
    table = rows[keys.index("IF-MIB::ifTable")]
    assert rows[at].depth == table.depth + 1
    assert (rows[at].expanded, rows[at].children) == (False, 22)  # its 22 columns
    assert tree.toggle("IF-MIB::ifEntry")
    rows = tree.rows()
    assert rows[at + 1].key == "IF-MIB::ifIndex"
    assert rows[at + 1].depth == rows[at].depth + 1


# -- writes checked against the MIB -------------------------------------------------


def test_write_checks_come_from_the_syntax(info: MibInfo) -> None:
    admin = write_object(info, "1.3.6.1.2.1.2.2.1.7.3")
    assert admin is not None
    assert admin.qualified == "IF-MIB::ifAdminStatus"
    assert write_types(admin) == ("INTEGER",)
    assert [enum_value(admin, t) for t in ("down", "DOWN", "down(2)", "2")] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match=r"'sideways' is not a value of IF-MIB::ifAdminStatus"):
        enum_value(admin, "sideways")
    with pytest.raises(ValueError, match=r"one of up\(1\), down\(2\), testing\(3\)"):
        enum_value(admin, "up(2)")
    phys = write_object(info, "1.3.6.1.2.1.2.2.1.6.3")
    assert phys is not None
    assert write_types(phys) == ("STRING_HEX", "STRING")  # 1x: shows no text
    oper = write_object(info, "1.3.6.1.2.1.2.2.1.8.3")
    assert oper is not None
    with pytest.raises(ValueError, match=r"ifOperStatus is read-only \(MAX-ACCESS\)"):
        check_against_mib(oper, {"type": "INTEGER", "value": 1})
    name = write_object(info, SYS_NAME)
    assert name is not None
    assert check_mib_write(name, "STRING", "é" * 127) == {"type": "STRING", "value": "é" * 127}
    with pytest.raises(ValueError, match=r"256 octets do not fit .*sysName: SIZE\(0..255\)"):
        check_mib_write(name, "STRING", "é" * 128)
    serial = write_object(info, SET_SERIAL)
    assert serial is not None
    with pytest.raises(ValueError, match=r"-1 is out of range for .*SerialNo: 0..2147483647"):
        check_mib_write(serial, "INTEGER", "-1")
    assert write_object(info, ENTERPRISE) is None
    assert write_object(info, "1.3.6.1.2.1.2.2") is None  # a table is no instance


# -- the app over Debian snmpd --------------------------------------------------------


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    with Snmpd(tmp_path / "snmpd") as agent:
        yield agent


def _config(agent: Snmpd) -> Config:
    polled = (SYS_UPTIME, SYS_NAME, AUTHEN_TRAPS, SET_SERIAL)
    device = DeviceConfig(
        "agent",
        SnmpDeviceConfig(
            remote_host="127.0.0.1",
            remote_port=agent.port,
            version="V2C",
            community=Secret("private"),
            polling_oids=polled,
            polling_delay=30.0,
        ),
    )
    return Config(devices=(device,), mib_paths=(BASE_DIR,), store=StoreConfig(enabled=False))


@pytest.fixture
def app(snmpd: Snmpd) -> FleettopApp:
    return FleettopApp(Runtime(_config(snmpd)))


class Events:
    def __init__(self, app: FleettopApp, *pattern: str) -> None:
        self.events: list[Event] = []
        app.runtime.bus.subscribe(pattern, self.events.append)

    def oids(self) -> list[object]:
        return [e.type[3] for e in self.events]


async def _ready(pilot: object, app: FleettopApp) -> None:
    await devices_screen(pilot)  # type: ignore[arg-type]
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: app.state.mibs is not None and app.state.mibs.state == "loaded",
        "the MIBs compiled",
        attempts=6000,
    )


async def _browser(pilot: object, app: FleettopApp) -> MibBrowserScreen:
    await wait_for(pilot, lambda: shown(app, MibBrowserScreen), "the MIB browser")  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, MibBrowserScreen)
    await wait_for(pilot, lambda: screen.texts is not None, "the texts", attempts=2000)  # type: ignore[arg-type]
    return screen


def _detail(screen: MibBrowserScreen) -> str:
    return str(screen.query_one("#mibs-detail", Static).content)


@pytest.mark.timeout(TIMEOUT)
async def test_the_browser_searches_describes_and_acts(app: FleettopApp, snmpd: Snmpd) -> None:
    notices = Notices()
    async with app.run_test(size=(160, 40), notifications=True, message_hook=notices.hook) as pilot:
        await _ready(pilot, app)
        reads = Events(app, "snmp", "agent", "read", "*")
        await pilot.press("M")
        screen = await _browser(pilot, app)
        tree = screen.query_one(MibTreeView)
        assert {"IF-MIB", "SNMPv2-MIB"} <= {row.module for row in tree.rows}

        # a search by DESCRIPTION text, then enter shows the match in its module
        await pilot.press("slash", *"no operational packets")
        await wait_for(pilot, lambda: tree.rows and tree.rows[0].depth == 0 and tree.rows[0].obj
                       is not None, "the matches")  # fmt: skip
        assert "IF-MIB::ifOperStatus" in [row.key for row in tree.rows]
        await pilot.press("enter")  # back to the list
        assert tree.has_focus
        tree.move_cursor([row.key for row in tree.rows].index("IF-MIB::ifOperStatus"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.mib_tree is not None and not screen.mib_tree.searching,
                       "the tree again")  # fmt: skip
        assert tree.highlighted is not None
        assert tree.highlighted.key == "IF-MIB::ifOperStatus"
        assert tree.highlighted.depth == 4  # IF-MIB > interfaces > ifTable > ifEntry > it
        detail = _detail(screen)
        for part in ("1.3.6.1.2.1.2.2.1.8", "up(1), down(2), testing(3)", "read-only",
                     "IF-MIB::linkDown", "INDEX", "IF-MIB::ifIndex",
                     "The current operational state of the interface."):  # fmt: skip
            assert part in detail, part

        # g on a scalar: a GET of its .0 on the picked device
        assert screen.device == "agent"
        assert screen.select("SNMPv2-MIB", "sysContact")
        await pilot.press("g")
        await wait_for(pilot, lambda: SYS_CONTACT in reads.oids(), "the read of sysContact")
        await wait_for(pilot, lambda: notices.has("agent SNMPv2-MIB::sysContact.0 = "),
                       "the value shown")  # fmt: skip
        # g on a column: the instance asked for, the name filled in
        assert screen.select("IF-MIB", "ifDescr")
        await pilot.press("g")
        await wait_for(pilot, lambda: shown(app, OidPromptScreen), "the instance prompt")
        prompt = app.screen.query_one("#oid-input", Input)
        assert prompt.value == "IF-MIB::ifDescr."
        await pilot.press("end", "1", "enter")
        await wait_for(pilot, lambda: "1.3.6.1.2.1.2.2.1.2.1" in reads.oids(), "ifDescr.1 read")
        await _browser(pilot, app)
        assert screen.select("SNMPv2-MIB", "sysContact")
        # a: polled from now on
        await pilot.press("a")
        backend = app.runtime.snmp_devices["agent"]
        await wait_for(pilot, lambda: SYS_CONTACT in backend.polling_oids, "polling sysContact")
        # W walks the object; t opens a table; a table is no value to get
        assert screen.select("IF-MIB", "ifTable")
        await pilot.press("g")
        await wait_for(pilot, lambda: notices.has("IF-MIB::ifTable is a table, not a value"),
                       "why not")  # fmt: skip
        await pilot.press("W")
        await wait_for(pilot, lambda: shown(app, WalkScreen), "the walk")
        walk = app.screen
        assert isinstance(walk, WalkScreen)
        assert (walk.device, walk.root) == ("agent", "1.3.6.1.2.1.2.2")
        await wait_for(pilot, lambda: not walk.running, "the walk to end", attempts=2000)
        await pilot.press("escape")
        await _browser(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: shown(app, TableScreen), "the table")
        await pilot.press("escape")
        await _browser(pilot, app)
        await pilot.press("escape")
        await devices_screen(pilot)

        # :mibs TEXT opens it searching
        assert parse_command("mibs ifAdmin").args == ("ifAdmin",)
        await pilot.press("colon", *"mibs 1.3.6.1.2.1.2.2.1.7", "enter")
        screen = await _browser(pilot, app)
        tree = screen.query_one(MibTreeView)
        await wait_for(pilot, lambda: tree.rows and tree.rows[0].key == "IF-MIB::ifAdminStatus",
                       "the OID's object first")  # fmt: skip


async def _write_dialog(pilot: object, app: FleettopApp, oid: str) -> WriteScreen:
    if not shown(app, OidsScreen):
        await pilot.press("enter")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the OIDs")  # type: ignore[arg-type]
    table = app.screen.query_one(ValueTable)
    await wait_for(pilot, lambda: table.select_key(("agent", oid)), f"the row {oid}",  # type: ignore[arg-type]
                   attempts=2000)  # fmt: skip
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("w")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: shown(app, WriteScreen), "the write dialog")  # type: ignore[arg-type]
    dialog = app.screen
    assert isinstance(dialog, WriteScreen)
    await wait_for(pilot, lambda: dialog.mib_known, "the MIB object")  # type: ignore[arg-type]
    return dialog


@pytest.mark.timeout(TIMEOUT)
async def test_writes_are_checked_against_the_mib(app: FleettopApp, snmpd: Snmpd) -> None:
    notices = Notices()
    async with app.run_test(size=(160, 40), notifications=True, message_hook=notices.hook) as pilot:
        await _ready(pilot, app)
        writes = Events(app, "snmp", "agent", "write", "*")

        # read-only: refused in the dialog, nothing can be sent
        dialog = await _write_dialog(pilot, app, SYS_UPTIME)
        ok = dialog.query_one("#write-ok", Button)
        await wait_for(pilot, lambda: "read-only (MAX-ACCESS)" in dialog.error, "the refusal")
        assert ok.disabled
        await pilot.press("enter")
        assert app.screen is dialog
        await pilot.press("escape")

        # an enumeration: its labels offered; a wrong one refused; a label written
        before = snmpget(snmpd, [AUTHEN_TRAPS])[AUTHEN_TRAPS].value
        label = {1: "enabled(1)", 2: "disabled(2)"}[int(before)]
        dialog = await _write_dialog(pilot, app, AUTHEN_TRAPS)
        kind = dialog.query_one("#write-type", Select)
        assert (kind.value, kind.disabled) == ("INTEGER", True)
        # the current value as the MIB defines it (issue 13 §1)
        target = dialog.query_one("#write-target", Static)
        assert f"now INTEGER  {label}" in str(target.content)
        enum = dialog.query_one("#write-enum", Select)
        assert [str(option[0]) for option in enum._options if option[1] != Select.NULL] == [
            "enabled(1)",
            "disabled(2)",
        ]
        field = dialog.query_one("#write-value", Input)
        field.value = "3"
        await wait_for(pilot, lambda: "not a value of SNMPv2-MIB::snmpEnableAuthenTraps"
                       in dialog.error, "the enumeration refused")  # fmt: skip
        enum.value = 2
        await wait_for(pilot, lambda: field.value == "disabled" and not dialog.error, "the label")
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: writes.events, "the write", attempts=2000)
        [event] = writes.events
        assert isinstance(event.payload, dict)
        assert event.payload["data"] == {"type": "INTEGER", "value": 2}
        assert event.payload["display"] == "disabled(2)"  # beside the raw value
        assert event.payload["previous_display"] == label
        assert event.payload["success"] is True
        assert snmpget(snmpd, [AUTHEN_TRAPS])[AUTHEN_TRAPS].value == 2

        # SIZE and range: the reason shown, Write disabled
        dialog = await _write_dialog(pilot, app, SYS_NAME)
        kind = dialog.query_one("#write-type", Select)
        assert [option[1] for option in kind._options] == ["STRING", "STRING_HEX"]
        dialog.query_one("#write-value", Input).value = "x" * 256
        await wait_for(pilot, lambda: "256 octets do not fit SNMPv2-MIB::sysName: SIZE(0..255)"
                       in dialog.error, "the size refused")  # fmt: skip
        assert dialog.query_one("#write-ok", Button).disabled
        await pilot.press("escape")
        dialog = await _write_dialog(pilot, app, SET_SERIAL)
        dialog.query_one("#write-value", Input).value = "-5"
        await wait_for(pilot, lambda: "-5 is out of range" in dialog.error, "the range refused")
        await pilot.press("escape")
        assert len(writes.events) == 1  # nothing more was sent

        # no MIB defines it: the free typed entry
        free = WriteScreen("agent", ENTERPRISE, None, None)
        await app.push_screen(free)
        free.show_mib(None)
        await pilot.pause()
        options = [option[1] for option in free.query_one("#write-type", Select)._options]
        assert options == list(WRITE_TYPES)
        assert not free.query_one("#write-enum-field").display
