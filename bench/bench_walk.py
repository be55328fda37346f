"""SNMP walk throughput: fleettop's ``SnmpDevice.walk`` vs Net-SNMP's ``snmpbulkwalk``
vs a bare pysnmp ``bulk_walk_cmd`` loop.

All three walk Debian ``snmpd``'s whole tree (from ``1.3.6.1``, v2c, loopback) with
the same GETBULK max-repetitions (:data:`REPETITIONS`), in alternating rounds so a
noisy neighbour hits them alike; the best round of each counts.

* ``snmpbulkwalk -v2c -Cr<REPETITIONS> -On -Oq``: a subprocess, timed from spawn to
  exit (its start-up, ~10 ms, is included); output to a pipe, lines counted.
* bare pysnmp: ``bulk_walk_cmd(..., lexicographicMode=False, lookupMib=False)`` on
  its own engine, var-binds counted, values left undecoded.
* fleettop: ``SnmpDevice.walk`` on a started device (timeout/retries of its
  config), every value decoded to a data dict, remembered for writes, yielded one
  by one, and the walk event published.

Usage: ``python -m bench.bench_walk`` (or ``python -m bench walk``); about 10 s idle,
at most ~20 s on a loaded machine (no round starts after :data:`BUDGET_S`).
Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
import warnings
from typing import Any

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

__all__ = ["main"]

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


async def _run() -> dict[str, Any]:
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


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"root", "max_repetitions", "rounds", "varbinds" (per side, last round),
        "varbinds_per_s" (best round per side), "rounds_varbinds_per_s",
        "ratio_fleettop_vs_bare_pysnmp", "ratio_fleettop_vs_snmpbulkwalk"}``.

    Raises:
        RuntimeError: snmpd or snmpbulkwalk is missing, or a walk failed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run())
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
