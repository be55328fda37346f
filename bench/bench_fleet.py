"""A fleet through a broker: polled var-binds per second reaching a viewer, with one
collector and with two (``--shard 1/2``, ``2/2``), against the same devices polled by
one local ``fleettop run --headless`` (the baseline, same run, same machine).

Setup: Debian ``snmpd`` agents on loopback, one per :data:`PER_AGENT` devices (N
device names over ceil(N/100) agents: for the poller these are N devices, each with
its own polling loop and requests; a single agent for every device saturated first at
~150 devices, which the figures then showed as the local baseline flattening), each device polls
:data:`OIDS` (8 leaves of ``system``) with ``polling_delay`` :data:`DELAY` s, no
store. A mosquitto on loopback carries the collectors' events to one console: the
attach app (``FleettopApp`` over a :class:`~console.collect.remote.RemoteRuntime`, as
``fleettop attach`` runs it) headless in this process (``run_test``, :data:`SIZE`).

Measured, over :data:`WINDOW` s, starting :data:`WARMUP` s after every device has
published its first poll (at most :data:`WARMUP_MAX` s), for each N:

* ``local``: var-binds of the ``("snmp", D, "poll")`` events (their ``values``)
  printed by ``fleettop run --headless`` per second; its CPU (s/s) and RSS;
* ``one``/``two``: the same sum over the poll events the console received through
  the broker; each collector's, mosquitto's and the console's CPU (s/s) and RSS (MB;
  the console's is this process's, which hosted the earlier runs too: an upper bound);
* ``keys``: the console's key -> repaint latency on the Devices screen
  (:data:`SAMPLES` presses of :data:`KEYS`, from the press to the device table's
  first paint after its cursor moved: :class:`_CursorProbe`, with
  :func:`bench.measure.press_keys`) while the fleet runs (``loaded``, during the
  window) and, as the baseline, on the same console once the collectors have stopped
  (``idle``: the same rows, now STALE, no traffic); ``p99_ratio`` = loaded / idle.

Ratios: ``one / local`` and ``two / local`` (target: report; the brief's question is
how the cost grows with N and whether a second collector adds capacity on a 2-core
machine that also runs snmpd, mosquitto and the console).

Usage: ``python -m bench fleet`` or ``python -m bench.bench_fleet [--devices 100,300]``.
Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.measure import PaintProbe, latency_stats, press_keys
from bench.peers import free_tcp_port, program, snmpd
from console.collect.link import broker_from_url
from console.collect.remote import RemoteRuntime
from console.events import Event

_ROOT = Path(__file__).resolve().parent.parent
OIDS = [f"1.3.6.1.2.1.1.{i}.0" for i in range(1, 9)]
DELAY = 0.5
WARMUP = 3.0
WARMUP_MAX = 30.0
WINDOW = 8.0
SIZES = (100, 200, 400)
#: Devices per snmpd agent: one agent answers ~600 GETs/s here before requests time
#: out in its socket buffer (every device polls 2 GETs/s), so N devices get
#: ceil(N / PER_AGENT) agents and the fleet, not one agent, is measured.
PER_AGENT = 100
_TICK = os.sysconf("SC_CLK_TCK")
#: The console's terminal (columns, rows), its key cycle on the Devices screen, the
#: presses per measurement, the pause between presses (min, max) s, and how long a
#: press may wait for its paint, s.
SIZE = (160, 50)
KEYS = ("down", "down", "up", "up")
SAMPLES = 20
THINK = (0.05, 0.15)
KEY_TIMEOUT = 3.0
#: The most one measurement of :data:`SAMPLES` keys may take, s: a saturated console
#: (its loop never idle, so Pilot's presses wait) is reported ``saturated``.
KEYS_LIMIT = 45.0


def agents_for(count: int) -> int:
    """How many snmpd agents answer ``count`` devices (:data:`PER_AGENT` each)."""
    return max(1, -(-count // PER_AGENT))


def fleet_yaml(ports: int | list[int], count: int, delay: float = DELAY) -> str:
    """The bench's fleet: ``count`` devices spread over the agents on ``ports``."""
    ports = [ports] if isinstance(ports, int) else ports
    lines = ["devices:"]
    for i in range(count):
        lines += [
            f"  - name: d{i:05d}",
            "    snmp:",
            "      remote_host: 127.0.0.1",
            f"      remote_port: {ports[i % len(ports)]}",
            "      version: V2C",
            "      community: public",
            f"      polling_delay: {delay}",
            f"      polling_oids: [{', '.join(OIDS)}]",
        ]
    lines += ["store:", "  enabled: false"]
    return "\n".join(lines) + "\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far, s (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def mosquitto() -> Iterator[tuple[int, int]]:
    """A mosquitto on a free port; yields ``(port, pid)``."""
    port = free_tcp_port()
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-") as workdir:
        conf = Path(workdir) / "mosquitto.conf"
        user = ["user root"] if os.geteuid() == 0 else []
        conf.write_text(
            "\n".join(
                [*user, f"listener {port} 127.0.0.1", "allow_anonymous true",
                 "max_queued_messages 1000000", "max_inflight_messages 1000"]
            )
            + "\n"
        )  # fmt: skip
        process = subprocess.Popen(
            [program("mosquitto"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            yield port, process.pid
        finally:
            process.terminate()
            process.wait(5)


def _fleettop(*args: str, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", *args],
        cwd=_ROOT,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def _stop(*processes: subprocess.Popen[bytes], wait: float = 15.0) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def measure_local(config: Path, count: int) -> dict[str, float]:
    """``fleettop run --headless`` printing its poll events: var-binds/s, CPU, RSS."""
    process = _fleettop(
        "run", str(config), "--headless", "--filter", "snmp/?/poll", stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    values = 0
    buffer = b""
    start = time.monotonic()
    began = cpu0 = 0.0
    polled: set[str] = set()
    try:
        while not began or time.monotonic() - began < WINDOW:
            time.sleep(0.1)
            chunk = process.stdout.read() or b""
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            if not began:
                polled.update(json.loads(line)["type"][1] for line in lines)
                if len(polled) >= count or time.monotonic() - start > WARMUP_MAX:
                    time.sleep(WARMUP)
                    # drop what came meanwhile, keep the start of its last (partial) line
                    buffer = (buffer + (process.stdout.read() or b"")).rsplit(b"\n", 1)[-1]
                    began, cpu0 = time.monotonic(), cpu_seconds(process.pid)
                continue
            for line in lines:
                payload = json.loads(line).get("payload") or {}
                values += int(payload.get("values") or 0)
        elapsed = time.monotonic() - began
        return {
            "varbinds_per_s": round(values / elapsed),
            "cpu": round((cpu_seconds(process.pid) - cpu0) / elapsed, 2),
            "rss_mb": round(rss_mb(process.pid), 1),
        }
    finally:
        _stop(process)


class _CursorProbe(PaintProbe):
    """Times one key on the Devices screen's table: from its cursor moving
    (``watch_cursor_coordinate``, wrapped) to the table's first paint after it."""

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self.armed = False
        watch = table.watch_cursor_coordinate

        def watch_probe(old: Any, new: Any) -> None:
            watch(old, new)
            if self.armed and old != new:
                self.changed()

        table.watch_cursor_coordinate = watch_probe

    def arm(self, key: str) -> bool:
        """Expect any key's cursor move."""
        self.reset()
        self.armed = True
        return True

    def disarm(self) -> None:
        """Moves no longer count."""
        self.armed = False


async def _keys(pilot: Any, probe: _CursorProbe, seed: int) -> dict[str, Any]:
    """:data:`SAMPLES` presses of :data:`KEYS`: latency stats (ms), timeouts; only
    ``{"n": 0, "saturated": True}`` when they take over :data:`KEYS_LIMIT` s."""
    try:
        async with asyncio.timeout(KEYS_LIMIT):
            by_key, timeouts, _ = await press_keys(
                pilot, probe, random.Random(seed), KEYS, SAMPLES,
                think=THINK, key_timeout=KEY_TIMEOUT,
            )  # fmt: skip
    except TimeoutError:
        probe.disarm()
        return {"n": 0, "saturated": True}
    every = [v for values in by_key.values() for v in values]
    return {**latency_stats(every), "timeouts": timeouts}


async def _until(check: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {limit} s")
        await asyncio.sleep(0.05)


async def measure_distributed(
    config: Path, count: int, broker: tuple[int, int], shards: int
) -> dict[str, Any]:
    """``shards`` collectors and one attached console app: var-binds/s at the
    console, key -> repaint latency (loaded, then idle), CPUs and RSS."""
    from console.app import FleettopApp
    from screens.devices import DevicesScreen
    from widgets.device_table import DeviceTable

    port, broker_pid = broker
    url = f"mqtt://127.0.0.1:{port}"
    names = [f"c{k}" for k in range(1, shards + 1)]
    collectors = [
        _fleettop("collect", str(config), "--broker", url, "--name", name,
                  *(["--shard", f"{k}/{shards}"] if shards > 1 else []))
        for k, name in enumerate(names, 1)
    ]  # fmt: skip
    console = RemoteRuntime(broker_from_url(url))
    app = FleettopApp(runtime_factory=lambda: console, freeze_heap=True)  # as attach runs it
    counted = {"values": 0, "on": False}
    polled: set[str] = set()

    def on_polls(batch: list[Event]) -> None:
        polled.update(event.type[1] for event in batch)
        if counted["on"]:
            for event in batch:
                payload = event.payload
                if isinstance(payload, dict):
                    counted["values"] += int(payload.get("values") or 0)  # type: ignore[call-overload]

    try:
        async with app.run_test(size=SIZE) as pilot:
            await _until(lambda: isinstance(app.screen, DevicesScreen), 60, "the console")
            console.bus.subscribe(
                ("snmp", "?", "poll"), on_polls, batch_size=1000, batch_duration=0.1
            )
            table = app.screen.query_one(DeviceTable)
            deadline = time.monotonic() + WARMUP_MAX
            while len(polled) < count and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(WARMUP)
            await _until(lambda: table.row_count >= min(count, 12), 10, "the device table")
            table.focus()
            table.move_cursor(row=5)
            probe = _CursorProbe(table)
            pids = [p.pid for p in collectors]
            cpu0 = [cpu_seconds(pid) for pid in pids]
            broker0, console0 = cpu_seconds(broker_pid), cpu_seconds(os.getpid())
            counted["on"] = True
            began = time.monotonic()
            loaded = await _keys(pilot, probe, count)
            await asyncio.sleep(max(0.0, WINDOW - (time.monotonic() - began)))
            await console.bus.drain()
            elapsed = time.monotonic() - began
            counted["on"] = False
            result: dict[str, Any] = {
                "varbinds_per_s": round(counted["values"] / elapsed),
                "collectors_cpu": [
                    round((cpu_seconds(pid) - c) / elapsed, 2)
                    for pid, c in zip(pids, cpu0, strict=True)
                ],
                "collectors_rss_mb": [round(rss_mb(pid), 1) for pid in pids],
                "mosquitto_cpu": round((cpu_seconds(broker_pid) - broker0) / elapsed, 2),
                "mosquitto_rss_mb": round(rss_mb(broker_pid), 1),
                "console_cpu": round((cpu_seconds(os.getpid()) - console0) / elapsed, 2),
                "console_rss_mb": round(rss_mb(os.getpid()), 1),
                "devices_seen": len(console.owners),
            }
            # the baseline: the same console, the same rows, no traffic
            await asyncio.to_thread(_stop, *collectors, wait=5.0)
            await asyncio.sleep(2.0)
            idle = await _keys(pilot, probe, count + 1)
            result["keys"] = {
                "loaded": loaded,
                "idle": idle,
                "p99_ratio": round(loaded.get("p99_ms", 0) / max(0.1, idle.get("p99_ms", 0)), 2),
            }
            return result
    finally:
        _stop(*collectors)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return the JSON summary."""
    parser = argparse.ArgumentParser(prog="bench_fleet")
    parser.add_argument("--devices", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--delay", type=float, default=DELAY, help="polling_delay, s")
    args = parser.parse_args([] if argv is None else argv)
    sizes = [int(n) for n in args.devices.split(",")]
    results: dict[str, Any] = {"oids_per_device": len(OIDS), "polling_delay_s": args.delay}
    with contextlib.ExitStack() as stack:
        agents = [stack.enter_context(snmpd()) for _ in range(agents_for(max(sizes)))]
        broker = stack.enter_context(mosquitto())
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        time.sleep(0.5)
        for count in sizes:
            config = Path(tmp) / f"fleet-{count}.yaml"
            config.write_text(fleet_yaml(agents[: agents_for(count)], count, args.delay))
            local = measure_local(config, count)
            one = asyncio.run(measure_distributed(config, count, broker, 1))
            two = asyncio.run(measure_distributed(config, count, broker, 2))
            results[str(count)] = {
                "agents": agents_for(count),
                "target_varbinds_per_s": round(count * len(OIDS) / args.delay),
                "local": local,
                "one_collector": one,
                "two_collectors": two,
                "one_over_local": round(one["varbinds_per_s"] / max(1, local["varbinds_per_s"]), 2),
                "two_over_local": round(two["varbinds_per_s"] / max(1, local["varbinds_per_s"]), 2),
            }
            print(json.dumps({str(count): results[str(count)]}), flush=True)
    results["growth"] = growth(results, sizes)
    print(json.dumps(results, indent=2))
    return results


def growth(results: dict[str, Any], sizes: list[int]) -> dict[str, list[Any]]:
    """Each figure by agent count (one value per size of ``sizes``, in order): how
    the throughput, the console's key p99 and each process's CPU and RSS grow."""
    rows: dict[str, list[Any]] = {"agents": sizes}
    for mode in ("one_collector", "two_collectors"):
        runs = [results[str(n)][mode] for n in sizes]
        rows[f"{mode}.varbinds_per_s"] = [r["varbinds_per_s"] for r in runs]
        rows[f"{mode}.key_p99_ms"] = [r["keys"]["loaded"].get("p99_ms") for r in runs]
        rows[f"{mode}.idle_key_p99_ms"] = [r["keys"]["idle"].get("p99_ms") for r in runs]
        for key in ("collectors_cpu", "collectors_rss_mb", "mosquitto_cpu",
                    "mosquitto_rss_mb", "console_cpu", "console_rss_mb"):  # fmt: skip
            rows[f"{mode}.{key}"] = [r[key] for r in runs]
    rows["local.cpu"] = [results[str(n)]["local"]["cpu"] for n in sizes]
    rows["local.rss_mb"] = [results[str(n)]["local"]["rss_mb"] for n in sizes]
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
