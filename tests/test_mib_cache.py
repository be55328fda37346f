"""The MIB cache (issue 12 §4): each module compiled once, keyed by its source and
its imports; a restart compiles and parses nothing; an edit compiles the module and
its dependants; a new directory compiles only its modules; compiling runs in the
background with progress (the runtime's ``("mib", "status")``, the status bar) while
the console stays usable; ``fleettop mibs`` and ``fleettop check`` report failures.

Compiles are counted from the compiler's result (``CompiledMibs.compiled``) and by
making the compiler raise, never by timing. Every test has its own cache root.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console.config import Config, StoreConfig
from console.events import Event, JsonValue
from console.runtime import Runtime
from console.snmp import mibs
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR, CACHE_ENV, compile_mibs, plan_mibs
from tests.mib_helpers import DATA, copy_set, renamed_copies

#: Sources that compile with fleettop's base modules alone, on every machine: an
#: import chain FLEETTOP-TEST-MIB -> IF-MIB -> IANAifType-MIB.
CHAIN = (
    BASE_DIR / "IANAifType-MIB.mib",
    BASE_DIR / "IF-MIB.mib",
    DATA / "FLEETTOP-TEST-MIB.txt",
)
ROOT = Path(__file__).resolve().parents[1]


def _names(suffix: str) -> set[str]:
    return {f"IANAifType-MIB-{suffix}", f"IF-MIB-{suffix}", f"FLEETTOP-TEST-MIB-{suffix}"}


def test_a_restart_compiles_and_parses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, cache = tmp_path / "mibs", tmp_path / "cache"
    made = renamed_copies(CHAIN, source, range(2))
    first = compile_mibs([source], cache_dir=cache)
    assert sorted(first.compiled) == sorted(made)
    assert first.problems == ()

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError("compiled or parsed on a restart")

    monkeypatch.setattr(mibs, "_compile", never)  # the compiler
    monkeypatch.setattr(mibs, "_parse_header", never)  # even the header regex
    again = compile_mibs([source], cache_dir=cache)
    assert again.compiled == ()
    assert again.cached
    assert again.files == first.files

    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=cache, background=True)
    assert resolver.load_cached() == ()
    assert set(made) <= set(resolver.modules)
    assert resolver.lookup("FLEETTOP-TEST-MIB-C1::ftLabel.0") == "1.3.6.1.4.1.32473.1.2.0"
    assert resolver.module_objects()["FLEETTOP-TEST-MIB-C1"] == 18


def test_a_changed_source_compiles_it_and_its_dependants(tmp_path: Path) -> None:
    source, cache = tmp_path / "mibs", tmp_path / "cache"
    renamed_copies(CHAIN, source, range(2))
    compile_mibs([source], cache_dir=cache)

    # an edit at the bottom of copy 0's chain: the module and everything above it
    bottom = source / "IANAifType-MIB-C0.txt"
    bottom.write_text(bottom.read_text().replace("other(1)", "other(1)  -- edited"))
    edited = compile_mibs([source], cache_dir=cache)
    assert set(edited.compiled) == _names("C0")

    # an edit at the top of copy 1's chain: that module alone
    top = source / "FLEETTOP-TEST-MIB-C1.txt"
    top.write_text(top.read_text().replace('"Cabinet temperature."', '"Air temperature."'))
    assert compile_mibs([source], cache_dir=cache).compiled == ("FLEETTOP-TEST-MIB-C1",)

    # an import that was absent appears: its dependant compiles again
    orphan_dir = tmp_path / "orphan"
    orphan_dir.mkdir()
    shutil.copy(DATA / "FLEETTOP-ORPHAN-MIB.txt", orphan_dir)
    compile_mibs([orphan_dir], cache_dir=cache)
    assert plan_mibs([orphan_dir], cache_dir=cache).pending() == []
    (orphan_dir / "FLEETTOP-ABSENT-TC.txt").write_text(_ABSENT_TC)
    plan = plan_mibs([orphan_dir], cache_dir=cache)
    assert plan.pending() == ["FLEETTOP-ABSENT-TC", "FLEETTOP-ORPHAN-MIB"]


_ABSENT_TC = """FLEETTOP-ABSENT-TC DEFINITIONS ::= BEGIN
IMPORTS
    TEXTUAL-CONVENTION FROM SNMPv2-TC;
FtAbsentType ::= TEXTUAL-CONVENTION
    STATUS      current
    DESCRIPTION "A type that now exists."
    SYNTAX      INTEGER (0..10)
END
"""


def test_a_new_directory_compiles_only_its_modules(tmp_path: Path) -> None:
    old, new, cache = tmp_path / "mibs", tmp_path / "vendor", tmp_path / "cache"
    renamed_copies(CHAIN, old, range(2))
    compile_mibs([old], cache_dir=cache)
    added = copy_set(CHAIN, new, "N1")
    result = compile_mibs([old, new], cache_dir=cache)
    assert sorted(result.compiled) == sorted(added)
    assert set(added) | _names("C0") | _names("C1") <= set(result.modules)


def test_a_failed_module_is_cached_and_reported_again(tmp_path: Path) -> None:
    source, cache = tmp_path / "mibs", tmp_path / "cache"
    source.mkdir()
    shutil.copy(DATA / "FLEETTOP-BROKEN-MIB.txt", source)
    first = compile_mibs([source], cache_dir=cache)
    (problem,) = first.problems
    assert "Bad grammar" in problem.reason
    again = compile_mibs([source], cache_dir=cache)
    assert again.compiled == ()
    assert again.problems == first.problems


def test_background_compile_reports_progress_then_swaps_names_in(tmp_path: Path) -> None:
    source, cache = tmp_path / "mibs", tmp_path / "cache"
    renamed_copies(CHAIN, source, range(3))
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=cache, background=True)
    pending = resolver.load_cached()
    assert len(pending) == 9
    generation = resolver.generation
    with pytest.raises(ValueError, match="unknown MIB module"):
        resolver.lookup("FLEETTOP-TEST-MIB-C2::ftLabel.0")  # a lookup never compiles
    steps: list[tuple[int, int]] = []
    result = resolver.compile_pending(lambda done, total: steps.append((done, total)))
    assert result is not None
    assert len(result.compiled) == 9
    assert steps[0] == (0, 9)
    assert steps[-1] == (9, 9)
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)
    assert resolver.generation == generation + 1
    assert resolver.pending == ()
    assert resolver.lookup("FLEETTOP-TEST-MIB-C2::ftLabel.0") == "1.3.6.1.4.1.32473.1.2.0"


def test_a_cancelled_compile_keeps_what_it_compiled(tmp_path: Path) -> None:
    source, cache = tmp_path / "mibs", tmp_path / "cache"
    renamed_copies(CHAIN, source, range(4))
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=cache, background=True)
    assert len(resolver.load_cached()) == 12
    done_first = threading.Event()

    def progress(done: int, total: int) -> None:
        if done:
            done_first.set()
            resolver.cancel()  # kills the child in the middle of the next chunk

    resolver.compile_pending(progress)
    assert done_first.is_set()
    assert resolver.pending  # the names were not swapped: still the cached ones
    left = plan_mibs([source], cache_dir=cache).pending()
    assert 0 < len(left) < 12  # the first chunk stayed compiled


# -- the runtime: in the background, with progress on the bus -------------------------


async def test_the_runtime_compiles_in_the_background(tmp_path: Path) -> None:
    source = tmp_path / "mibs"
    renamed_copies(CHAIN, source, range(2))
    config = Config(mib_paths=(source,), store=StoreConfig(enabled=False))
    runtime = Runtime(config)
    seen: list[dict[str, object]] = []
    bus = await runtime.start_bus()

    def collect(event: Event) -> None:
        assert isinstance(event.payload, dict)
        seen.append(dict(event.payload))

    bus.subscribe(("mib", "status"), collect)
    try:
        await runtime.start()  # returns while the MIBs compile
        task = runtime.mib_compile
        assert task is not None
        await asyncio.wait_for(task, 120)
        await bus.drain()
    finally:
        await runtime.aclose()
    states = [entry["state"] for entry in seen]
    assert states[0] == "loading"
    assert states[-1] == "loaded"
    compiling = [entry for entry in seen if entry["state"] == "compiling"]
    assert compiling[0]["done"] == 0
    assert compiling[0]["total"] == 6
    assert compiling[-1]["done"] == 6
    assert seen[-1]["failed"] == 0
    assert runtime.mib is not None
    assert runtime.mib.resolve("1.3.6.1.4.1.32473.1.2.0") is not None


# -- fleettop mibs / fleettop check ----------------------------------------------------


def _fleettop(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**__import__("os").environ, CACHE_ENV: str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def _config(tmp_path: Path, *names: str) -> Path:
    source = tmp_path / "mibs"
    source.mkdir()
    for name in names:
        shutil.copy(DATA / f"{name}.txt", source)
    config = tmp_path / "fleet.yaml"
    config.write_text(f"mib_paths: [{source}]\n")
    return config


def test_fleettop_mibs_lists_loaded_and_failed_modules(tmp_path: Path) -> None:
    config = _config(tmp_path, "FLEETTOP-TEST-MIB", "FLEETTOP-BROKEN-MIB", "FLEETTOP-ORPHAN-MIB")
    cache = tmp_path / "cache"
    done = _fleettop("mibs", str(config), cache=cache)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    test_row = next(line for line in lines if line.startswith("FLEETTOP-TEST-MIB "))
    assert test_row.split()[1] == "18"  # objects
    assert test_row.endswith("FLEETTOP-TEST-MIB.txt")
    assert "FLEETTOP-BROKEN-MIB" in done.stdout
    assert "Bad grammar near offset 611 at MIB FLEETTOP-BROKEN-MIB, line 20" in done.stdout
    assert "missing imports: FLEETTOP-ABSENT-TC" in done.stdout
    assert "3 loaded, 2 failed" in done.stdout

    as_json = _fleettop("mibs", str(config), "--json", cache=cache)
    assert as_json.returncode == 2
    report = json.loads(as_json.stdout)
    assert report["compiled"] == []  # the second run: all from the cache
    loaded = {row["module"]: row for row in report["loaded"]}
    assert loaded["FLEETTOP-TEST-MIB"]["objects"] == 18
    assert loaded["IF-MIB"]["file"].endswith("IF-MIB.mib")
    failed = {row["module"]: row for row in report["failed"]}
    assert failed["FLEETTOP-BROKEN-MIB"]["file"].endswith("FLEETTOP-BROKEN-MIB.txt")
    assert "Bad grammar" in failed["FLEETTOP-BROKEN-MIB"]["reason"]
    assert failed["FLEETTOP-ORPHAN-MIB"]["missing"] == ["FLEETTOP-ABSENT-TC"]


def test_fleettop_mibs_exits_0_when_every_module_loads(tmp_path: Path) -> None:
    config = _config(tmp_path, "FLEETTOP-TEST-MIB")
    done = _fleettop("mibs", str(config), cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 loaded, 0 failed" in done.stdout


def test_fleettop_check_warns_about_failed_mibs(tmp_path: Path) -> None:
    config = _config(tmp_path, "FLEETTOP-TEST-MIB", "FLEETTOP-BROKEN-MIB")
    done = _fleettop("check", str(config), cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert f"{config}: OK" in done.stdout
    (warning,) = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert "FLEETTOP-BROKEN-MIB.txt (FLEETTOP-BROKEN-MIB) not loaded: Bad grammar" in warning


# -- the console while MIBs compile ------------------------------------------------------


def _status(app: object) -> str:
    """The status bar's text on the current screen."""
    from console.app import FleettopApp
    from widgets.status_bar import StatusBar

    assert isinstance(app, FleettopApp)
    bars = app.screen.query(StatusBar)
    return str(bars.first().render()) if bars else ""


async def test_the_console_is_usable_while_mibs_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large set (16 copies of the chain: 48 modules, tens of seconds of pysmi): the
    status bar shows the progress, a key opens the help screen and it closes again,
    all before the compile ends; quitting stops the compile (the child is killed)."""
    from console.app import FleettopApp
    from screens.devices import DevicesScreen
    from screens.help import HelpScreen
    from tests.ui_helpers import fixed_clock, shown, wait_for

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    source = tmp_path / "mibs"
    renamed_copies(CHAIN, source, range(16))
    runtime = Runtime(Config(mib_paths=(source,), store=StoreConfig(enabled=False)))
    app = FleettopApp(runtime, clock=fixed_clock())
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "devices screen", attempts=1500)
        await wait_for(
            pilot,
            lambda: app.state.mibs is not None and app.state.mibs.state == "compiling",
            "the compile to start",
            attempts=3000,
        )
        await wait_for(pilot, lambda: "MIBs: compiling" in _status(app), "progress")
        task = runtime.mib_compile
        assert task is not None
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "help screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, DevicesScreen), "back to devices")
        assert not task.done()  # all of it answered while the compile ran
        assert runtime.mib is not None
        assert runtime.mib.pending
    assert task.done()  # closing the runtime stopped the compile


def test_the_stubbed_base_modules_are_pysmis() -> None:
    """A restart names pysmi's base modules without importing pysmi's code generator."""
    from pysmi.codegen.pysnmp import PySnmpCodeGen

    assert tuple(PySnmpCodeGen.baseMibs) == mibs.PYSMI_BASE_MIBS


async def test_names_fill_in_when_new_mibs_are_loaded() -> None:
    """An OID no loaded MIB names shows without a name; once the runtime announces a
    new generation of names (``("mib", "status")``), the table asks again and the
    name fills in."""
    from console.app import FleettopApp
    from console.config import Config as AppConfig
    from screens.oids import OidsScreen
    from tests.ui_helpers import (
        ENTERPRISE,
        FLEET,
        CraftedRuntime,
        cell,
        devices_screen,
        fixed_clock,
        publish,
        read,
        shown,
        status,
        wait_for,
    )
    from widgets.mib_names import MibNames
    from widgets.value_table import ValueTable, row_key

    known: dict[str, str] = {}
    names = MibNames(lambda: known.get)
    seed = [status("core-sw1", "CONNECTED"), read("core-sw1", ENTERPRISE, "INTEGER", 7)]
    app = FleettopApp(
        CraftedRuntime(AppConfig(devices=FLEET), seed=seed), clock=fixed_clock(), mib_names=names
    )
    async with app.run_test(size=(160, 30)) as pilot:
        await devices_screen(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "OIDs screen")
        table = app.screen.query_one(ValueTable)
        key = row_key(("core-sw1", ENTERPRISE))
        await wait_for(pilot, lambda: key in table.rows, "the value row")
        await wait_for(pilot, lambda: ENTERPRISE in names._names, "the first lookup")
        assert cell(table, key, "name") == ""
        known[ENTERPRISE] = "FLEETTOP-TEST-MIB::ftTest.0"
        status_payload: JsonValue = {"state": "loaded", "modules": 3, "generation": 2}
        publish(app, (("mib", "status"), status_payload, None))
        await wait_for(pilot, lambda: cell(table, key, "name") != "", "the name to fill in")
        assert cell(table, key, "name") == "ftTest.0"  # shown without its module
