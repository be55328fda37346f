"""Memory after large MQTT payloads (issue 11 §1): 30 messages of 10 MB each published
through a real mosquitto to a fleettop runtime; the RSS after them must be at most
:data:`RSS_BOUND_MB` above its level before them.

Each measurement runs in a child process of its own (``--phase NAME``), so its RSS
and peak belong to it alone; the broker is Debian mosquitto on a free port
(:func:`bench.peers.mosquitto`), the payloads are published by ``mosquitto_pub -f``
in separate processes (one file of :data:`SIZE` bytes, :data:`COUNT` times, on
``big/N``), so the publisher's memory is not the measured process's. The runtime
subscribes to ``big/#`` and keeps a real store file (notifications stored) in a
temporary directory.

Phases:

* ``runtime``: the headless :class:`~console.runtime.Runtime` (bus, store, MQTT
  broker connection, notification center, alarm book, monitors) with the default
  ``notifications:`` limits;
* ``unbounded``: the same runtime with the limits raised past the payloads
  (``ring_bytes`` 16 GiB, ``payload_bytes`` 64 MiB, ``stored_payload_bytes`` 1 GiB):
  what the notification path holds without the byte budgets (a reference: the
  runtime still fixes the allocator's mmap threshold,
  :func:`console.gcpolicy.return_large_blocks`);
* ``app``: the whole Textual app (``FleettopApp(runtime).run_test()``, the
  Notifications screen shown) with the default limits: what is left is the UI's
  (its latest message per topic, the detail) and the MQTT hand-over's.

Baseline: ``VmRSS`` once the broker's SUBACK arrived (and, for ``app``, the
Notifications screen drew); after: ``VmRSS`` once the 30th message reached the
notification center's listeners and the store writer committed (``flush``), plus
1 s; then again after a full collection and glibc's ``malloc_trim`` (what live
objects take). Reported per phase: baseline, after, delta, peak (``ru_maxrss``), the ring's
entries and payload bytes, the largest stored payload row, and ``ok`` (delta <=
:data:`RSS_BOUND_MB`; the ``unbounded`` phase is a reference, never ``ok``-checked).

Usage: ``python -m bench.bench_payloads [PHASE ...]`` (or ``python -m bench payloads``);
about a minute. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import Arrivals, peak_mb, rss_mb, run_phase
from bench.peers import mosquitto, program
from console.config import parse_config
from console.runtime import Runtime

__all__ = ["COUNT", "RSS_BOUND_MB", "SIZE", "main"]

#: Messages published, and the bytes of each.
COUNT = 30
SIZE = 10 * 1024 * 1024
#: RSS after the messages, at most this many MB above its level before them.
RSS_BOUND_MB = 150.0
PHASES = ("runtime", "unbounded", "app")
_ROOT = Path(__file__).resolve().parent.parent
_UNBOUNDED = (
    "notifications: {ring_bytes: 17179869184, payload_bytes: 67108864,"
    " stored_payload_bytes: 1073741824}\n"
)


def _trimmedrss_mb() -> float | None:
    """``VmRSS`` after a full collection and glibc's ``malloc_trim(0)`` (free memory
    the allocator still held handed back): what live objects take. ``None`` off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    gc.collect()
    libc.malloc_trim(0)
    return round(rss_mb(), 1)


def _runtime(port: int, store: Path, *, unbounded: bool) -> Runtime:
    text = f"""
brokers:
  - name: bench
    host: 127.0.0.1
    port: {port}
    client_id: bench-payloads
    subscriptions: [{{topic: "big/#", qos: 0}}]
store: {{path: "{store}"}}
"""
    return Runtime(parse_config(text + (_UNBOUNDED if unbounded else ""), environ={}))


async def _subscribed(runtime: Runtime, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not runtime.bus.latest(("mqtt", "@bench", "subscribed")):
        if time.monotonic() > deadline:
            raise RuntimeError("the broker subscription was not acknowledged")
        await asyncio.sleep(0.05)


async def _publish(port: int, blob: Path) -> None:
    """``mosquitto_pub -f blob`` :data:`COUNT` times, one process each, in turn."""
    tool = program("mosquitto_pub")
    for n in range(COUNT):
        proc = await asyncio.create_subprocess_exec(
            tool, "-h", "127.0.0.1", "-p", str(port), "-t", f"big/{n}", "-f", str(blob),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"mosquitto_pub failed: {err.decode().strip()}")


async def _measure(runtime: Runtime, port: int, blob: Path, baseline: float) -> dict[str, Any]:
    """Publish, wait for every message, let the store commit; the figures."""
    center = runtime.notifications
    assert center is not None
    arrivals = Arrivals()
    center.listen(arrivals)
    started = time.perf_counter()
    await _publish(port, blob)
    complete = await arrivals.wait_for(COUNT, limit=120)
    elapsed = time.perf_counter() - started
    if runtime.store is not None:
        await runtime.store.flush()
    await asyncio.sleep(1.0)
    after = rss_mb()
    ring = center.entries
    trimmed = _trimmedrss_mb()
    return {
        "received": arrivals.count,
        "complete": complete,
        "elapsed_s": round(elapsed, 1),
        "rss_baseline_mb": round(baseline, 1),
        "rss_after_mb": round(after, 1),
        "rss_delta_mb": round(after - baseline, 1),
        "rss_peak_mb": round(peak_mb(), 1),
        "rss_after_trim_mb": trimmed,
        "ring_len": len(ring),
        "ring_payload_mb": round(getattr(ring, "bytes", 0) / 2**20, 2),
    }


def _largest_row(store: Path) -> int:
    with contextlib.closing(sqlite3.connect(store)) as db:
        row = db.execute(
            "SELECT coalesce(max(length(payload)), 0) FROM notifications WHERE category = 'message'"
        ).fetchone()
    return int(row[0])


async def _phase(name: str) -> dict[str, Any]:
    with mosquitto() as port, tempfile.TemporaryDirectory(prefix="fleettop-bench-") as tmp:
        work = Path(tmp)
        blob = work / "blob.bin"
        blob.write_bytes((bytes(range(256)) * (SIZE // 256 + 1))[:SIZE])
        store = work / "payloads.db"
        runtime = _runtime(port, store, unbounded=name == "unbounded")
        if name == "app":
            result = await _app_phase(runtime, port, blob)
        else:
            await runtime.start()
            try:
                await _subscribed(runtime)
                await asyncio.sleep(0.5)
                result = await _measure(runtime, port, blob, rss_mb())
            finally:
                await runtime.aclose()
        result["largest_stored_payload_mb"] = round(_largest_row(store) / 2**20, 2)
    result["phase"] = name
    result["bound_mb"] = RSS_BOUND_MB
    result["ok"] = bool(result["complete"] and result["rss_delta_mb"] <= RSS_BOUND_MB)
    return result


async def _app_phase(runtime: Runtime, port: int, blob: Path) -> dict[str, Any]:
    from console.app import FleettopApp
    from screens.notifications import NotificationsScreen

    app = FleettopApp(runtime, freeze_heap=True)  # as `fleettop` runs it
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.monotonic() + 30
        while not runtime.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the runtime did not start")
            await pilot.pause(0.05)
        await _subscribed(runtime)
        await pilot.press("N")
        while not isinstance(app.screen, NotificationsScreen):
            if time.monotonic() > deadline:
                raise RuntimeError("the Notifications screen did not show")
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        result = await _measure(runtime, port, blob, rss_mb())
        await pilot.pause(0.5)  # the last frame drawn
        result["rss_after_drawn_mb"] = round(rss_mb(), 1)
    return result


def _run_phase(name: str) -> dict[str, Any]:
    """One measurement in a child process of its own (:func:`bench.measure.run_phase`)."""
    return run_phase("bench.bench_payloads", name, timeout=600)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the phases (all, or those named), each in its own process; print and
    return the JSON summary (``ok``: every bounded phase within :data:`RSS_BOUND_MB`)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--phase"]:
        result = asyncio.run(_phase(args[1]))
        print(json.dumps(result))
        return result
    phases = [a for a in args if a in PHASES] or list(PHASES)
    results = {name: _run_phase(name) for name in phases}
    summary: dict[str, Any] = {
        "messages": COUNT,
        "message_mb": SIZE / 2**20,
        "bound_mb": RSS_BOUND_MB,
        **results,
        "ok": all(r["ok"] for name, r in results.items() if name != "unbounded"),
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
