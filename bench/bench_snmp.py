"""SNMP polling throughput: fleettop's SnmpDevice against a bare pysnmp loop,
hat-gateway's SNMP driver (hat-drivers) and Net-SNMP's C library, on one snmpd.

Every side reads the same ``OIDS`` leaves of mib-2 (the first ones in walk order)
from the same Debian ``snmpd`` (loopback, v2c), as GETs of ``BATCH`` var-binds with
``IN_FLIGHT`` GETs outstanding, in the same run, alternating rounds so a noisy
neighbour hits all alike; each side's best round counts. The figure is var-binds
received per second.

Sides
-----
* ``pysnmp``: the strongest plain pysnmp loop we know: pre-built ``ObjectType``
  lists, ``lookupMib=False``, values left undecoded.
* ``fleettop``: one :class:`~console.snmp.manager.SnmpDevice` polling continuously
  (``polling_delay`` 0). It does more: decodes every value to a data dict, compares
  it with the cache and publishes the changes on the bus.
* ``hat``: hat-drivers' ``create_v2c_manager`` (the driver hat-gateway's SNMP device
  uses) sending ``GetDataReq`` of ``BATCH`` names, ``IN_FLIGHT`` workers; it decodes
  values into its own data tuples. Skipped, with the reason, when hat-drivers is not
  installed (``pip install -e '.[bench]'``).
* ``netsnmp``: Net-SNMP's C stack, fairly: ``IN_FLIGHT`` ``snmptest`` processes
  (package ``snmp``), each reading a script of GETs of the same ``BATCH`` OIDs from
  stdin and sending them one after the other, so each process keeps one GET in
  flight and the process start (~5 ms) is paid once per ~2 s. Output is parsed
  only after the clock stops. ``snmpget``/``snmpbulkget`` cannot be used that way:
  one process per request costs more than the request (see
  ``netsnmp_snmpget_per_process_varbinds_per_s``: one ``snmpget`` of ``BATCH`` OIDs per
  process, ``IN_FLIGHT`` processes at a time, measured once for reference), and
  ``snmpbulkwalk`` can neither read chosen OIDs nor stop at an OID.

The machine has 2 cores; snmpd takes one. The Python sides run on one core (one
event loop); the ``netsnmp`` processes may use both.

Usage: ``python -m bench.bench_snmp [--profile]`` (or ``python -m bench snmp``);
about 45 s. ``--profile`` also runs cProfile over one measured fleettop window and
prints where the time goes. Prints a JSON summary and returns it from :func:`main`.
Target: fleettop / pysnmp >= 0.8.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import importlib
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.peers import NET_SNMP_ENV, program, snmpd
from console.config import SnmpDeviceConfig
from console.events import Event, EventManager
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

__all__ = ["main"]

#: OIDs polled (leaves of mib-2 served by snmpd, in walk order).
OIDS = 1200
#: Var-binds per GET, every side.
BATCH = 40
#: GETs in flight, every side (processes for netsnmp).
IN_FLIGHT = 4
#: Seconds measured per round and side.
ROUND_SECONDS = 2.5
#: Rounds per side (alternated).
ROUNDS = 3
#: Seconds of the one-off snmpget-per-process reference.
SNMPGET_SECONDS = 1.5
TARGET_RATIO = 0.8


async def _discover(port: int, count: int) -> list[str]:
    """Walk mib-2 (waiting for the agent to come up) and return ``count`` OIDs."""
    engine = SnmpEngine()
    try:
        auth = CommunityData("public")
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.5, retries=0)
        deadline = time.monotonic() + 10
        while True:
            indication, *_ = await get_cmd(
                engine, auth, target, ContextData(), ObjectType(ObjectIdentity("1.3.6.1.2.1.1.3.0"))
            )
            if indication is None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd did not answer")
        oids: list[str] = []
        async for indication, status, _index, var_binds in bulk_walk_cmd(
            engine,
            auth,
            await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=1),
            ContextData(),
            0,
            50,
            ObjectType(ObjectIdentity("1.3.6.1.2.1")),
            lexicographicMode=False,
            lookupMib=False,
        ):
            if indication or status:
                break
            oids.extend(str(name) for name, _value in var_binds)
            if len(oids) >= count:
                break
        return oids[:count]
    finally:
        engine.close_dispatcher()
        await asyncio.sleep(0)


def _batches(oids: list[str]) -> list[list[str]]:
    return [oids[i : i + BATCH] for i in range(0, len(oids), BATCH)]


async def _cycles(
    batches: list[Any], get: Callable[[Any], Any], seconds: float
) -> tuple[int, float]:
    """Run ``get`` over every batch (IN_FLIGHT workers) in whole cycles for
    ``seconds``, after one warm-up cycle. ``get`` returns the var-binds received.

    Returns ``(var-binds received, elapsed s)``."""

    async def worker(pending: Iterator[Any]) -> int:
        got = 0
        for batch in pending:
            got += await get(batch)
        return got

    async def cycle() -> int:
        pending = iter(batches)
        return sum(await asyncio.gather(*(worker(pending) for _ in range(IN_FLIGHT))))

    await cycle()  # warm-up: resolution, sockets, first-use costs
    received = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        received += await cycle()
    return received, time.perf_counter() - started


async def _pysnmp_round(port: int, oids: list[str], seconds: float) -> float:
    """Bare pysnmp; returns var-binds/s."""
    engine = SnmpEngine()
    try:
        auth = CommunityData("public")
        context = ContextData()
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=0)
        batches = [[ObjectType(ObjectIdentity(oid)) for oid in b] for b in _batches(oids)]

        async def get(batch: list[Any]) -> int:
            indication, status, _index, var_binds = await get_cmd(
                engine, auth, target, context, *batch, lookupMib=False
            )
            if indication or status:
                raise RuntimeError(f"bare GET failed: {indication or status}")
            return len(var_binds)

        received, elapsed = await _cycles(batches, get, seconds)
        return received / elapsed
    finally:
        engine.close_dispatcher()
        await asyncio.sleep(0)


def _hat_available() -> str | None:
    """``None`` when hat-drivers imports, else why not."""
    try:
        importlib.import_module("hat.drivers.snmp")
    except ImportError as exc:
        return f"hat-drivers not installed ({exc}); pip install -e '.[bench]'"
    return None


async def _hat_round(port: int, oids: list[str], seconds: float) -> float:
    """hat-drivers' v2c manager; returns var-binds/s."""
    net = importlib.import_module("hat.drivers.net")  # untyped: no stubs
    snmp = importlib.import_module("hat.drivers.snmp")
    manager = await snmp.create_v2c_manager(net.UdpAddress("127.0.0.1", port), "public")
    try:
        batches = [
            snmp.GetDataReq(names=[tuple(int(a) for a in oid.split(".")) for oid in b])
            for b in _batches(oids)
        ]

        async def get(request: Any) -> int:
            response = await asyncio.wait_for(manager.send(request), 2)
            if isinstance(response, snmp.Error):
                raise RuntimeError(f"hat GET failed: {response}")
            return len(response)

        received, elapsed = await _cycles(batches, get, seconds)
        return received / elapsed
    finally:
        await manager.async_close()


async def _fleettop_round(
    port: int, oids: list[str], seconds: float, profiler: cProfile.Profile | None = None
) -> dict[str, Any]:
    """fleettop: one SnmpDevice polling continuously (polling_delay 0) for ``seconds``.

    Returns var-binds, elapsed s (between the first and last measured poll events)
    and the read events published. ``profiler`` runs over the measured window only."""
    async with EventManager() as bus:
        polls: list[tuple[float, int]] = []
        done = asyncio.Event()
        warmed = asyncio.Event()
        start_at: list[float] = []

        def on_poll(event: Event) -> None:
            now = time.perf_counter()
            assert isinstance(event.payload, dict)
            polls.append((now, int(event.payload["polls"])))  # type: ignore[arg-type]
            warmed.set()
            if start_at and now - start_at[0] >= seconds:
                done.set()

        bus.subscribe(("snmp", "?", "poll"), on_poll)
        conf = SnmpDeviceConfig(
            remote_host="127.0.0.1",
            remote_port=port,
            version="V2C",
            community=Secret("public"),
            polling_oids=tuple(oids),
            polling_delay=0.0,
            request_timeout=2.0,
            request_retry_count=0,
            max_varbinds_per_request=BATCH,
        )
        device = SnmpDevice("bench", conf, bus, max_in_flight=IN_FLIGHT)
        await device.start()
        try:
            await asyncio.wait_for(warmed.wait(), 30)  # warm-up cycle: INTERROGATE of all
            published_before = bus.published
            start_at.append(time.perf_counter())
            first = len(polls)
            if profiler is not None:
                profiler.enable()
            try:
                await asyncio.wait_for(done.wait(), seconds * 4 + 10)
            finally:
                if profiler is not None:
                    profiler.disable()
        finally:
            await device.aclose()
        measured = polls[first - 1 :]
        cycles = len(measured) - 1
        elapsed = measured[-1][0] - measured[0][0]
        return {
            "varbinds": cycles * len(oids),
            "elapsed": elapsed,
            "events": bus.published - published_before,
        }


def _count_varbinds(path: Path) -> int:
    """Var-bind lines (``.1.3...`` with -On -Oq) in Net-SNMP output."""
    with path.open("rb") as output:
        return sum(1 for line in output if line.startswith(b".1"))


def _netsnmp_run(port: int, script: Path, workdir: Path) -> tuple[int, float]:
    """IN_FLIGHT snmptest processes, each sending every GET of ``script``; returns
    (var-binds received, wall seconds from the first spawn to the last exit)."""
    snmptest = program("snmptest")
    command = [snmptest, "-v2c", "-c", "public", "-On", "-Oq", "-t", "2", "-r", "0"]
    outputs = [workdir / f"out-{i}.txt" for i in range(IN_FLIGHT)]
    started = time.perf_counter()
    processes = []
    for output in outputs:
        with script.open("rb") as stdin, output.open("wb") as stdout:
            processes.append(
                subprocess.Popen(
                    [*command, f"udp:127.0.0.1:{port}"],
                    stdin=stdin,
                    stdout=stdout,
                    stderr=subprocess.STDOUT,
                    env=NET_SNMP_ENV,
                )
            )
    for process in processes:
        process.wait(120)
    elapsed = time.perf_counter() - started
    return sum(_count_varbinds(o) for o in outputs), elapsed


def _write_script(path: Path, oids: list[str], cycles: int) -> None:
    """snmptest input: each GET is its OIDs one per line, then an empty line."""
    one_cycle = "".join("\n".join(b) + "\n\n" for b in _batches(oids))
    path.write_text(one_cycle * cycles)


class _NetSnmp:
    """The ``netsnmp`` side: a calibrated snmptest script per round."""

    def __init__(self, port: int, oids: list[str], workdir: Path) -> None:
        self.port = port
        self.oids = oids
        self.workdir = workdir
        self.script = workdir / "gets.txt"
        self.cycles = 0

    def round(self, seconds: float) -> float:
        if not self.cycles:  # calibrate: how many cycles one process does in `seconds`
            _write_script(self.script, self.oids, 3)
            received, elapsed = _netsnmp_run(self.port, self.script, self.workdir)
            per_process = received / IN_FLIGHT / elapsed
            self.cycles = max(3, round(per_process * seconds / len(self.oids)))
            _write_script(self.script, self.oids, self.cycles)
        expected = self.cycles * len(self.oids) * IN_FLIGHT
        received, elapsed = _netsnmp_run(self.port, self.script, self.workdir)
        if received < expected:
            raise RuntimeError(f"snmptest got {received} of {expected} var-binds")
        return received / elapsed


async def _snmpget_per_process(port: int, oids: list[str], seconds: float) -> float:
    """One ``snmpget`` process per GET of BATCH OIDs, IN_FLIGHT at a time."""
    snmpget = program("snmpget")
    batches = _batches(oids)

    async def get(batch: list[str]) -> int:
        process = await asyncio.create_subprocess_exec(
            *[snmpget, "-v2c", "-c", "public", "-On", "-Oq", "-t", "2", "-r", "0"],
            f"udp:127.0.0.1:{port}",
            *batch,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=NET_SNMP_ENV,
        )
        output, _ = await process.communicate()
        return sum(1 for line in output.splitlines() if line.startswith(b".1"))

    received, elapsed = await _cycles(batches, get, seconds)
    return received / elapsed


def _profile_report(profiler: cProfile.Profile) -> dict[str, Any]:
    """Top functions by own time, and own time per package, of a profiled window."""
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    groups: dict[str, float] = {}
    for (filename, _line, _name), entry in raw.items():
        group = "other"
        for marker, name in (
            ("/pyasn1/", "pyasn1 (BER codec, value objects)"),
            ("/pysnmp/", "pysnmp (engine, message processing)"),
            ("/console/", "fleettop (console/)"),
            ("asyncio", "asyncio"),
        ):
            if marker in filename:
                group = name
                break
        if filename == "~":
            group = "builtins (C)"
        groups[group] = groups.get(group, 0.0) + entry[2]
    text = io.StringIO()
    stats.stream = text  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(15)
    return {
        "own_time_share": {k: round(v / total, 3) for k, v in sorted(groups.items())},
        "top": text.getvalue(),
    }


async def _run(profile: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"oids": OIDS, "batch": BATCH, "in_flight": IN_FLIGHT}
    hat_missing = _hat_available()
    rates: dict[str, list[float]] = {"pysnmp": [], "fleettop": [], "netsnmp": []}
    if hat_missing is None:
        rates["hat"] = []
    events = 0
    with snmpd() as port, tempfile.TemporaryDirectory(prefix="fleettop-bench-") as work:
        oids = await _discover(port, OIDS)
        results["oids"] = len(oids)
        netsnmp = _NetSnmp(port, oids, Path(work))
        for _ in range(ROUNDS):
            for side in rates:
                gc.collect()
                if side == "pysnmp":
                    rate = await _pysnmp_round(port, oids, ROUND_SECONDS)
                elif side == "fleettop":
                    ours = await _fleettop_round(port, oids, ROUND_SECONDS)
                    rate = ours["varbinds"] / ours["elapsed"]
                    events += ours["events"]
                elif side == "hat":
                    rate = await _hat_round(port, oids, ROUND_SECONDS)
                else:
                    rate = await asyncio.to_thread(netsnmp.round, ROUND_SECONDS)
                rates[side].append(rate)
        snmpget = await _snmpget_per_process(port, oids, SNMPGET_SECONDS)
        profiled: dict[str, Any] | None = None
        if profile:
            profiler = cProfile.Profile()
            await _fleettop_round(port, oids, ROUND_SECONDS, profiler)
            profiled = _profile_report(profiler)
    best = {side: max(values) for side, values in rates.items()}
    fleet = best["fleettop"]
    for side, values in rates.items():
        results[f"{side}_varbinds_per_s"] = round(best[side])
        results[f"{side}_rounds"] = [round(r) for r in values]
    results["netsnmp_snmptest_cycles_per_process"] = netsnmp.cycles
    results["netsnmp_snmpget_per_process_varbinds_per_s"] = round(snmpget)
    if hat_missing is not None:
        results["hat"] = f"skipped: {hat_missing}"
    results["fleettop_events_published"] = events
    ratios = {
        f"fleettop_vs_{side}": round(fleet / best[side], 3) for side in best if side != "fleettop"
    }
    ratios["fleettop_vs_netsnmp_snmpget_per_process"] = round(fleet / snmpget, 3)
    results["ratios"] = ratios
    results["ratio"] = ratios["fleettop_vs_pysnmp"]
    results["target_ratio"] = TARGET_RATIO
    results["target_met"] = ratios["fleettop_vs_pysnmp"] >= TARGET_RATIO
    if profiled is not None:
        results["fleettop_profile_own_time_share"] = profiled["own_time_share"]
        results["fleettop_profile_top"] = profiled["top"]
    return results


def main(profile: bool = False) -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Args:
        profile: also profile one measured fleettop window (cProfile) and add
            ``fleettop_profile_own_time_share`` (own time per package, 0..1) and
            ``fleettop_profile_top`` (pstats text) to the summary.

    Returns:
        ``{"oids", "batch", "in_flight", "<side>_varbinds_per_s" and
        "<side>_rounds" for pysnmp, fleettop, netsnmp and hat (var-binds/s; best
        round, every round), "netsnmp_snmptest_cycles_per_process",
        "netsnmp_snmpget_per_process_varbinds_per_s", "fleettop_events_published",
        "ratios" (fleettop / each side, best rounds), "ratio" (fleettop / pysnmp),
        "target_ratio", "target_met"}``; ``"hat"`` says why when hat-drivers is
        missing.

    Raises:
        RuntimeError: snmpd, snmptest or snmpget is missing, or a side's request
            failed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run(profile))
    top = results.pop("fleettop_profile_top", None)
    print(json.dumps(results, indent=2))
    if top:
        print(top)
    return results


if __name__ == "__main__":
    main(profile="--profile" in sys.argv[1:])
