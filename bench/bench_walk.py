"""SNMP walks: the Walk screen against the same walk without the UI, with the key
latency during it; and walk throughput against Net-SNMP and bare pysnmp.

**screen** (issue 12 §1): a real device's recording (:data:`RECORDING`, the Cisco
C3560 of ``snmpsim-data``, 33k var-binds under :data:`SCREEN_ROOT`) served by snmpsim
(:class:`tests.snmpsim_peers.Snmpsim`) on loopback, walked by the same backend code
both ways, in alternating rounds (:data:`SCREEN_ROUNDS` each; each on-screen round
is compared with the headless round just before it, and the median of those ratios
counts, so a load that comes and goes on a shared machine hits both sides of a pair
alike):

* headless: a :class:`~console.runtime.Runtime` whose one device is the recording,
  ``SnmpDevice.walk`` consumed in a loop, timed from the first call to the last
  var-bind;
* on screen: the whole app over an identical runtime (``FleettopApp.run_test``,
  :data:`SIZE`; headless Textual still composes and renders every frame, only the
  terminal write is skipped), the walk opened with ``:walk ROOT DEVICE``; timed from
  the moment the Walk screen shows (it starts the walk as it mounts; polled every
  5 ms) until it says ``complete`` with every row in its table.

Target: on-screen rate / headless rate >= :data:`RATIO_BOUND`. Then one more
on-screen walk with key presses: ``down``/``up`` every 20-80 ms while it runs, each
timed from just before the press until the walk table has painted after its cursor
moved (the table's ``move_cursor`` and ``render_lines`` wrapped, as
``bench_notifications`` does). Target: p99 <= :data:`LATENCY_BOUND_MS` ms.

**throughput**: the earlier comparison, all three walk Debian ``snmpd``'s whole tree
(from ``1.3.6.1``, v2c, loopback) with the same GETBULK max-repetitions
(:data:`REPETITIONS`), in alternating rounds; the best round of each counts.

* ``snmpbulkwalk -v2c -Cr<REPETITIONS> -On -Oq``: a subprocess, timed from spawn to
  exit (its start-up, ~10 ms, is included); output to a pipe, lines counted.
* bare pysnmp: ``bulk_walk_cmd(..., lexicographicMode=False, lookupMib=False)`` on
  its own engine, var-binds counted, values left undecoded.
* fleettop: ``SnmpDevice.walk`` on a started device (timeout/retries of its
  config), every value decoded to a data dict, remembered for writes, yielded one
  by one, and the walk event published.

Usage: ``python -m bench.bench_walk`` (or ``python -m bench walk``); about 1-2
minutes. ``--only screen`` or ``--only throughput`` runs one part. Prints a JSON
summary and returns it from :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench.measure import latency_stats
from bench.peers import NET_SNMP_ENV, program, snmpd
from console.config import SnmpDeviceConfig
from console.events import EventManager
from console.secrets import Secret
from console.snmp.manager import SnmpDevice

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_walk_cmd,
        get_cmd,
    )

__all__ = ["LATENCY_BOUND_MS", "RATIO_BOUND", "main"]

#: GETBULK max-repetitions, all three sides.
REPETITIONS = 25
#: Rounds per side (alternated), at most.
ROUNDS = 3
#: No new round starts after this many seconds (a loaded machine walks slowly).
BUDGET_S = 10.0
#: The walked subtree: everything.
ROOT = "1.3.6.1"


async def _wait_ready(port: int) -> None:
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.5, retries=0)
        deadline = time.monotonic() + 10
        while True:
            indication, *_ = await get_cmd(
                engine,
                CommunityData("public"),
                target,
                ContextData(),
                ObjectType(ObjectIdentity("1.3.6.1.2.1.1.3.0")),
            )
            if indication is None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd did not answer")
    finally:
        engine.close_dispatcher()
        await asyncio.sleep(0)


async def _net_snmp_round(port: int) -> tuple[int, float]:
    """``snmpbulkwalk``: return ``(var-binds, elapsed s)``."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        program("snmpbulkwalk"),
        "-v2c",
        "-c",
        "public",
        f"-Cr{REPETITIONS}",
        "-On",
        "-Oq",
        f"127.0.0.1:{port}",
        ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=NET_SNMP_ENV,
    )
    output, _ = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"snmpbulkwalk exited with {process.returncode}")
    lines = output.decode(errors="replace").splitlines()
    count = sum(1 for line in lines if line.startswith(".") and "No more variables" not in line)
    return count, elapsed


async def _bare_round(port: int) -> tuple[int, float]:
    """Bare pysnmp ``bulk_walk_cmd``: return ``(var-binds, elapsed s)``."""
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=1)
        count = 0
        started = time.perf_counter()
        async for indication, status, _index, var_binds in bulk_walk_cmd(
            engine,
            CommunityData("public"),
            target,
            ContextData(),
            0,
            REPETITIONS,
            ObjectType(ObjectIdentity(ROOT)),
            lexicographicMode=False,
            lookupMib=False,
        ):
            if indication or status:
                raise RuntimeError(f"bare walk failed: {indication or status}")
            count += len(var_binds)
        return count, time.perf_counter() - started
    finally:
        engine.close_dispatcher()
        await asyncio.sleep(0)


async def _fleettop_round(port: int) -> tuple[int, float]:
    """``SnmpDevice.walk``: return ``(var-binds, elapsed s)``."""
    async with EventManager() as bus:
        conf = SnmpDeviceConfig(
            remote_host="127.0.0.1",
            remote_port=port,
            version="V2C",
            community=Secret("public"),
            polling_oids=(),
            polling_delay=60.0,
            request_timeout=2.0,
            request_retry_count=1,
        )
        connected = asyncio.Event()
        bus.subscribe(
            ("snmp", "bench", "status"),
            lambda event: connected.set() if event.payload["status"] == "CONNECTED" else None,
        )
        async with SnmpDevice("bench", conf, bus) as device:
            await asyncio.wait_for(connected.wait(), 10)
            count = 0
            started = time.perf_counter()
            async with contextlib.aclosing(device.walk(ROOT, max_repetitions=REPETITIONS)) as rows:
                async for _oid, _data in rows:
                    count += 1
            return count, time.perf_counter() - started


async def _throughput() -> dict[str, Any]:
    results: dict[str, Any] = {"root": ROOT, "max_repetitions": REPETITIONS}
    sides = {
        "snmpbulkwalk": _net_snmp_round,
        "bare_pysnmp": _bare_round,
        "fleettop": _fleettop_round,
    }
    rates: dict[str, list[float]] = {name: [] for name in sides}
    counts: dict[str, int] = {}
    with snmpd() as port:
        await _wait_ready(port)
        started = time.perf_counter()
        for _ in range(ROUNDS):
            if rates["fleettop"] and time.perf_counter() - started > BUDGET_S:
                break
            for name, run in sides.items():
                gc.collect()
                count, elapsed = await run(port)
                counts[name] = count
                rates[name].append(count / elapsed)
    best = {name: max(values) for name, values in rates.items()}
    results.update(
        {
            "rounds": len(rates["fleettop"]),
            "varbinds": counts,
            "varbinds_per_s": {name: round(rate) for name, rate in best.items()},
            "rounds_varbinds_per_s": {
                name: [round(rate) for rate in values] for name, values in rates.items()
            },
            "ratio_fleettop_vs_bare_pysnmp": round(best["fleettop"] / best["bare_pysnmp"], 3),
            "ratio_fleettop_vs_snmpbulkwalk": round(best["fleettop"] / best["snmpbulkwalk"], 3),
        }
    )
    return results


# -- the Walk screen against the headless walk -------------------------------------------

#: The recording walked on screen (snmpsim-data: an Isilon OneFS storage cluster).
RECORDING = "storage/isilon-onefs"
#: Its snmpsim community, and fleettop's device name.
DEVICE = "isilon"
#: The subtree walked.
SCREEN_ROOT = "1.3.6.1"
#: Rounds of each side (alternated).
SCREEN_ROUNDS = 3
#: The terminal of the on-screen walk.
SIZE = (160, 50)
#: Target: on-screen rate / headless rate.
RATIO_BOUND = 0.8
#: Target: key press -> repaint, p99, during the walk.
LATENCY_BOUND_MS = 100.0
#: Keys pressed after the walk, for the idle baseline.
IDLE_KEYS = 60
#: Think time between key presses, seconds.
THINK = (0.02, 0.08)
#: A key press not painted within this many seconds counts as a timeout.
KEY_TIMEOUT = 5.0


def _runtime(port: int, work: Path) -> Any:
    from console.config import parse_config
    from console.runtime import Runtime

    config = parse_config(
        f"""
devices:
  - name: {DEVICE}
    snmp:
      remote_host: 127.0.0.1
      remote_port: {port}
      version: V2C
      community: {DEVICE}
      polling_delay: 3600
      polling_oids: [1.3.6.1.2.1.1.3.0]
store: {{path: "{work / "store.db"}"}}
""",
        environ={},
    )
    return Runtime(config)


async def _connected(runtime: Any) -> Any:
    device = runtime.snmp_devices[DEVICE]
    deadline = time.monotonic() + 30
    while getattr(device, "status", "CONNECTED") != "CONNECTED":
        if time.monotonic() > deadline:
            raise RuntimeError("the recording's device did not connect")
        await asyncio.sleep(0.05)
    return device


async def _headless_round(port: int, work: Path) -> tuple[int, float]:
    """``SnmpDevice.walk`` of a runtime without the UI: ``(var-binds, elapsed s)``."""
    runtime = _runtime(port, work)
    await runtime.start()
    try:
        device = await _connected(runtime)
        count = 0
        started = time.perf_counter()
        async with contextlib.aclosing(device.walk(SCREEN_ROOT)) as rows:
            async for _oid, _data in rows:
                count += 1
        return count, time.perf_counter() - started
    finally:
        await runtime.aclose()


class _KeyProbe:
    """Times a key: from the press until the walk table painted after the cursor
    moved (its ``move_cursor`` and ``render_lines`` wrapped)."""

    def __init__(self, table: Any) -> None:
        self.moved_at: float | None = None
        self.painted_at: float | None = None
        self.painted = asyncio.Event()
        move_cursor, render_lines = table.move_cursor, table.render_lines

        def move_probe(position: int) -> None:
            move_cursor(position)
            if self.moved_at is None:
                self.moved_at = time.perf_counter()

        def render_probe(crop: Any) -> Any:
            strips = render_lines(crop)
            if self.moved_at is not None and self.painted_at is None:
                self.painted_at = time.perf_counter()
                self.painted.set()
            return strips

        table.move_cursor = move_probe
        table.render_lines = render_probe

    def arm(self) -> None:
        self.moved_at = self.painted_at = None
        self.painted.clear()


async def _screen_round(port: int, work: Path, *, keys: bool) -> dict[str, Any]:
    """The walk on the Walk screen: var-binds, elapsed s, and with ``keys`` the key
    latencies (ms) measured while it ran."""
    from console.app import FleettopApp
    from screens.devices import DevicesScreen
    from screens.walk import WalkScreen
    from widgets.walk_table import WalkTable

    app = FleettopApp(_runtime(port, work))
    latencies: list[float] = []
    timeouts = 0
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, DevicesScreen) and app.screen.is_mounted, 300)
        await _connected(app.runtime)
        await pilot.press("colon", *f"walk {SCREEN_ROOT} {DEVICE}")
        await pilot.press("enter")
        await _until(lambda: isinstance(app.screen, WalkScreen) and app.screen.is_mounted, 300)
        started = time.perf_counter()
        walk = app.screen
        table = walk.query_one(WalkTable)
        rng = random.Random(12)
        probe = _KeyProbe(table) if keys else None
        down = True
        while walk.outcome is None or table.total < walk.count:
            if probe is None or walk.outcome is not None:
                await asyncio.sleep(0.005)
                continue
            latency = await _timed_key(app, probe, "down" if down else "up")
            down = not down
            if latency is None:
                timeouts += 1
            else:
                latencies.append(latency)
            await asyncio.sleep(rng.uniform(*THINK))
        elapsed = time.perf_counter() - started
        if walk.outcome != "complete":
            raise RuntimeError(f"the walk on screen ended {walk.outcome}")
        idle: list[float] = []
        if probe is not None:  # the baseline: the same keys once the walk is over
            for n in range(IDLE_KEYS):
                latency = await _timed_key(app, probe, "up" if n % 2 else "down")
                if latency is not None:
                    idle.append(latency)
                await asyncio.sleep(rng.uniform(*THINK))
        return {
            "count": walk.count,
            "elapsed": elapsed,
            "latencies": latencies,
            "idle_latencies": idle,
            "timeouts": timeouts,
        }


async def _timed_key(app: Any, probe: _KeyProbe, key: str) -> float | None:
    """Press ``key``; ms until the table painted its move (``None``: not within
    :data:`KEY_TIMEOUT`)."""
    probe.arm()
    t0 = time.perf_counter()
    _key(app, key)
    try:
        async with asyncio.timeout(KEY_TIMEOUT):
            await probe.painted.wait()
    except TimeoutError:
        return None
    assert probe.painted_at is not None
    return (probe.painted_at - t0) * 1000


def _key(app: Any, key: str) -> None:
    """Hand ``key`` to the app's driver, as a terminal's input thread does (Pilot's
    ``press`` would then also wait for the app to go idle)."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(app)
    app._driver.send_message(event)


async def _until(condition: Any, limit: float = 30.0) -> None:
    """Poll ``condition()`` every 5 ms until true.

    Raises:
        RuntimeError: still false after ``limit`` seconds.
    """
    for _ in range(int(limit / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise RuntimeError("timed out")


async def _screen() -> dict[str, Any]:
    from tests.snmpsim_peers import Snmpsim

    headless: list[float] = []
    screen: list[float] = []
    counts: dict[str, int] = {}
    with Snmpsim({DEVICE: RECORDING}) as agent, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for round_ in range(SCREEN_ROUNDS):
            gc.collect()
            count, elapsed = await _headless_round(agent.port, work / f"h{round_}")
            counts["headless"] = count
            headless.append(count / elapsed)
            gc.collect()
            run = await _screen_round(agent.port, work / f"s{round_}", keys=False)
            counts["screen"] = run["count"]
            screen.append(run["count"] / run["elapsed"])
        gc.collect()
        keyed = await _screen_round(agent.port, work / "keys", keys=True)
    if counts["screen"] != counts["headless"]:
        raise RuntimeError(f"the two walks differ: {counts}")
    # each on-screen round against the headless round just before it (same load),
    # the median of those ratios counts: the best of each side would pick the
    # quietest moment of a shared machine for one side only
    pairs = [shown / alone for shown, alone in zip(screen, headless, strict=True)]
    ratio = statistics.median(pairs)
    latency = latency_stats(keyed["latencies"])
    p99 = latency.get("p99_ms")
    return {
        "recording": RECORDING,
        "root": SCREEN_ROOT,
        "terminal": f"{SIZE[0]}x{SIZE[1]} (Textual headless: frames rendered, not written)",
        "rounds": SCREEN_ROUNDS,
        "varbinds": counts["screen"],
        "headless_varbinds_per_s": [round(rate) for rate in headless],
        "screen_varbinds_per_s": [round(rate) for rate in screen],
        "round_ratios": [round(pair, 3) for pair in pairs],
        "ratio_screen_vs_headless": round(ratio, 3),
        "ratio_bound": RATIO_BOUND,
        "ratio_met": ratio >= RATIO_BOUND,
        "keyed_walk_varbinds_per_s": round(keyed["count"] / keyed["elapsed"]),
        "key_latency": latency,
        "idle_key_latency": latency_stats(keyed["idle_latencies"]),
        "key_timeouts": keyed["timeouts"],
        "latency_bound_ms": LATENCY_BOUND_MS,
        "latency_met": p99 is not None and p99 <= LATENCY_BOUND_MS and not keyed["timeouts"],
    }


async def _run(parts: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if "screen" in parts:
        results["screen"] = await _screen()
    if "throughput" in parts:
        results["throughput"] = await _throughput()
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Args:
        argv: ``["--only", "screen"|"throughput"]`` to run one part; ``None`` reads
            nothing from the command line (both parts).

    Returns:
        ``{"screen": {"recording", "root", "terminal", "rounds", "varbinds",
        "headless_varbinds_per_s", "screen_varbinds_per_s" (per round),
        "round_ratios" (each on-screen round over the headless one before it),
        "ratio_screen_vs_headless" (their median), "ratio_bound", "ratio_met",
        "keyed_walk_varbinds_per_s", "key_latency" ({"n", "p50_ms", "p95_ms",
        "p99_ms", "max_ms"}), "idle_key_latency" (the same, walk over),
        "key_timeouts", "latency_bound_ms", "latency_met"},
        "throughput": {"root", "max_repetitions", "rounds", "varbinds" (per side,
        last round), "varbinds_per_s" (best round per side), "rounds_varbinds_per_s",
        "ratio_fleettop_vs_bare_pysnmp", "ratio_fleettop_vs_snmpbulkwalk"}}``.

    Raises:
        RuntimeError: snmpd, snmpbulkwalk or snmpsim is missing, a walk failed, or the
            two walks of the recording differ.
    """
    parser = argparse.ArgumentParser(prog="bench_walk")
    parser.add_argument("--only", choices=["screen", "throughput"])
    args = parser.parse_args([] if argv is None else argv)
    parts = [args.only] if args.only else ["screen", "throughput"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run(parts))
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
