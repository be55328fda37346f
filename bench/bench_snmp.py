"""SNMP polling throughput: fleettop's SnmpDevice vs a bare pysnmp ``get_cmd`` loop.

Both sides poll the same OIDs from the same Debian ``snmpd`` (loopback, v2c), with
the same batching (``BATCH`` var-binds per GET) and the same number of GETs in
flight (``IN_FLIGHT``), in the same run, alternating rounds so a noisy neighbour
hits both alike. The bare loop is the strongest plain pysnmp loop we know:
pre-built ``ObjectType`` lists, ``lookupMib=False``, values left undecoded. fleettop
additionally decodes every value to a data dict, compares it with the cache and
publishes the changes on the bus (no subscribers but a poll counter).

Usage: ``python -m bench.bench_snmp`` (or ``python -m bench snmp``); about 25 s.
Prints a JSON summary and returns it from :func:`main`. Target: ratio >= 0.8.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
#: Var-binds per GET, both sides.
BATCH = 40
#: GETs in flight, both sides.
IN_FLIGHT = 4
#: Seconds measured per round and side.
ROUND_SECONDS = 3.5
#: Rounds per side (alternated).
ROUNDS = 3
TARGET_RATIO = 0.8

_CONF = """\
rocommunity public 127.0.0.1
dontLogTCPWrappersConnects yes
"""


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _snmpd() -> Iterator[int]:
    """Run Debian snmpd on a free loopback port; yield the port."""
    program = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not os.path.exists(program):
        raise RuntimeError("snmpd is not installed (apt-get install snmpd)")
    port = _free_udp_port()
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-") as workdir:
        conf = Path(workdir) / "snmpd.conf"
        conf.write_text(_CONF)
        env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": workdir}
        process = subprocess.Popen(
            [program, "-f", "-Lo", "-C", "-I", "-smux", "-c", str(conf), f"udp:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            yield port
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


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


async def _bare_round(port: int, oids: list[str], seconds: float) -> tuple[int, float]:
    """Bare pysnmp: GET every batch (IN_FLIGHT at once) in cycles for ``seconds``.

    Returns ``(var-binds received, elapsed s)`` over whole cycles."""
    engine = SnmpEngine()
    try:
        auth = CommunityData("public")
        context = ContextData()
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=2, retries=0)
        batches = [
            [ObjectType(ObjectIdentity(oid)) for oid in oids[i : i + BATCH]]
            for i in range(0, len(oids), BATCH)
        ]

        async def worker(pending: Iterator[list[Any]]) -> int:
            got = 0
            for batch in pending:
                indication, status, _index, var_binds = await get_cmd(
                    engine, auth, target, context, *batch, lookupMib=False
                )
                if indication or status:
                    raise RuntimeError(f"bare GET failed: {indication or status}")
                got += len(var_binds)
            return got

        async def cycle() -> int:
            pending = iter(batches)
            counts = await asyncio.gather(*(worker(pending) for _ in range(IN_FLIGHT)))
            return sum(counts)

        await cycle()  # warm-up: ObjectType resolution, socket
        received = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            received += await cycle()
        return received, time.perf_counter() - started
    finally:
        engine.close_dispatcher()
        await asyncio.sleep(0)


async def _fleettop_round(port: int, oids: list[str], seconds: float) -> dict[str, Any]:
    """fleettop: one SnmpDevice polling continuously (polling_delay 0) for ``seconds``.

    Returns var-binds, elapsed s (between the first and last measured poll events)
    and the read events published."""
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
            await asyncio.wait_for(done.wait(), seconds * 4 + 10)
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


async def _run() -> dict[str, Any]:
    results: dict[str, Any] = {"oids": OIDS, "batch": BATCH, "in_flight": IN_FLIGHT}
    with _snmpd() as port:
        oids = await _discover(port, OIDS)
        results["oids"] = len(oids)
        bare_rates: list[float] = []
        ours_rates: list[float] = []
        events = 0
        for _ in range(ROUNDS):
            gc.collect()
            received, elapsed = await _bare_round(port, oids, ROUND_SECONDS)
            bare_rates.append(received / elapsed)
            gc.collect()
            ours = await _fleettop_round(port, oids, ROUND_SECONDS)
            ours_rates.append(ours["varbinds"] / ours["elapsed"])
            events += ours["events"]
    bare = max(bare_rates)
    fleet = max(ours_rates)
    results.update(
        {
            "bare_varbinds_per_s": round(bare),
            "fleettop_varbinds_per_s": round(fleet),
            "bare_rounds": [round(r) for r in bare_rates],
            "fleettop_rounds": [round(r) for r in ours_rates],
            "bare_pdus_per_s": round(bare / BATCH),
            "fleettop_events_published": events,
            "ratio": round(fleet / bare, 3),
            "target_ratio": TARGET_RATIO,
            "target_met": fleet / bare >= TARGET_RATIO,
        }
    )
    return results


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"oids", "batch", "in_flight", "bare_varbinds_per_s",
        "fleettop_varbinds_per_s", "bare_rounds", "fleettop_rounds",
        "bare_pdus_per_s", "fleettop_events_published", "ratio" (fleettop / bare, best
        round of each), "target_ratio", "target_met"}``.

    Raises:
        RuntimeError: snmpd is missing or does not answer.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run())
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
