"""The notification stream under an MQTT flood, with the whole terminal UI running:
memory after 1M messages, and how fast a key press shows while 20k msg/s flow in.

Both measurements run the Textual app headless (``FleettopApp(runtime).run_test()``,
160x50) over a fresh :class:`~console.runtime.Runtime` with a real store file in a
temporary directory and one mosquitto broker (:func:`bench.peers.mosquitto`), the
runtime subscribed to ``bench/#`` with ``device_rules: [{template:
"bench/{device}/#"}]``; the Notifications screen is shown (``N``). The flood is
:mod:`bench.flood` in its own process, so its CPU and memory are not the measured
process's. Arrivals are counted by a listener on the runtime's notification center
(``category == message``): no extra bus queue that would itself hold memory.

Memory (``rss``)
----------------
:data:`RSS_COUNT` messages over :data:`RSS_TOPICS` topics (1,000 MQTT devices of 100
metrics each), unpaced: the backlog queues in mosquitto (its queue is raised to 1M
messages), fleettop drains it at its own pace, nothing may be lost. The baseline is
the process's RSS (``VmRSS``) once the UI has started and shows the Notifications
screen, same run; then RSS once every message has arrived and the screen has drawn
it, and the peak (``ru_maxrss``). Target: RSS after the flood <= :data:`RSS_TARGET_MB`.
Also: the ring's length (<= its size), the store's notification rows, elapsed seconds
and msgs/s (first arrival to last).

Latency (``latency``)
---------------------
In a second fresh runtime, the ring is first filled (:data:`PREFILL` messages over
:data:`LAT_TOPICS` topics), then :data:`SAMPLES` keys are pressed on the Stream tab
with Pilot, in the cycle :data:`KEYS`: ``2`` (hide the ``message`` category: the list
is rebuilt from the ring), ``2`` (show it again), ``up`` (the cursor moves off the
newest entry: the list pauses), ``down``, ``space`` (follow again: rebuilt from the
ring), with a random think time of 20-80 ms between presses. Each sample runs from a
``perf_counter`` taken just before the press until the list widget has painted after
the key took effect: the benchmark wraps the list's ``set_rows``/``move_cursor`` (the
moment the key's change reached the list, checked against the pane's state: mask,
paused) and its ``render_lines`` (the first paint after that change). ``pilot.press``
runs as a task (it then waits for the app to go idle, up to 2 s under a flood, which
is the test harness's wait, not the app's latency); the key itself goes through the
app's message queue as a terminal's would.

The baseline is the same key cycle with no traffic (the full ring, before the flood),
same run. Then :mod:`bench.flood` publishes at :data:`RATE` msg/s for
:data:`FLOOD_SECONDS` s and the cycle is repeated while it flows; the msg/s actually
received meanwhile is reported. When fleettop ingests less than :data:`RATE`, the
rest queues in mosquitto and keeps fleettop ingesting at its ceiling until drained,
so the keys still meet a saturated ingest after the publisher is done
(``flood_still_running_at_end`` says whether it was). Target: p99 under flood <=
:data:`LATENCY_TARGET_MS` ms. Every published message must arrive (the flood is
drained at the end).

Each measurement runs in a child process of its own (``--phase rss|latency``), so
the peak RSS and the garbage collector's pauses belong to that measurement alone.

Usage: ``python -m bench.bench_notifications`` (or ``python -m bench notifications``);
about 2 minutes. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import (
    Arrivals,
    PaintProbe,
    latency_stats,
    peak_mb,
    press_keys,
    rss_mb,
    run_phase,
)
from bench.peers import end_flood, mosquitto, mosquitto_config, start_flood
from console.app import FleettopApp
from console.notifications.model import Category
from console.runtime import Runtime
from screens.devices import DevicesScreen
from screens.notifications import NotificationsScreen
from widgets.notification_list import NotificationList
from widgets.notification_pane import NotificationPane

__all__ = ["main"]

SIZE = (160, 50)
#: Messages and topics of the memory measurement.
RSS_COUNT = 1_000_000
RSS_TOPICS = 100_000
RSS_TARGET_MB = 250.0
#: Messages that fill the ring before the latency baseline, and the topics of the
#: latency measurement (100 devices of 100 metrics).
PREFILL = 20_000
LAT_TOPICS = 10_000
#: The paced flood of the latency measurement.
RATE = 20_000
FLOOD_SECONDS = 20
#: Key presses per side, and the cycle they follow.
SAMPLES = 200
KEYS = ("2", "2", "up", "down", "space")
THINK = (0.020, 0.080)
LATENCY_TARGET_MS = 100.0
#: A key whose change is not painted within this many seconds counts as a timeout.
KEY_TIMEOUT = 5.0
PAYLOAD = 100


def _config(port: int, store: Path, client_id: str) -> Any:
    return mosquitto_config(port, store, client_id, device_template="bench/{device}/#")


async def _start_flood(
    port: int, count: int, topics: int, rate: float = 0.0
) -> asyncio.subprocess.Process:
    return await start_flood(port, count, topics, rate, PAYLOAD)


async def _open_notifications(app: FleettopApp, pilot: Any) -> NotificationPane:
    """Wait for the fleet (Devices screen), press ``N``, wait for the stream pane and
    the broker's SUBACK; return the pane."""
    deadline = time.monotonic() + 30
    while not isinstance(app.screen, DevicesScreen):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the UI did not start (screen {app.screen!r})")
        await pilot.pause(0.05)
    await pilot.press("N")
    while not isinstance(app.screen, NotificationsScreen) or app.screen.stream is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the Notifications screen did not show")
        await pilot.pause(0.05)
    pane = app.screen.stream
    assert pane is not None
    bus = app.runtime.bus
    while not bus.latest(("mqtt", "@bench", "subscribed")):
        if time.monotonic() > deadline:
            raise RuntimeError("the broker subscription was not acknowledged")
        await pilot.pause(0.05)
    await pilot.pause(0.5)
    return pane


def _store_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM notifications").fetchone()[0])


# -- memory -------------------------------------------------------------------------------


async def _rss(port: int, work: Path) -> dict[str, Any]:
    store = work / "rss.db"
    runtime = Runtime(_config(port, store, "bench-notifications-rss"))
    app = FleettopApp(runtime, freeze_heap=True)  # as `fleettop` runs it
    arrivals = Arrivals()
    result: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open_notifications(app, pilot)
        center = runtime.notifications
        assert center is not None
        center.listen(arrivals)
        baseline = rss_mb()
        started = time.perf_counter()
        flood = await _start_flood(port, RSS_COUNT, RSS_TOPICS)
        complete = await arrivals.wait_for(RSS_COUNT, limit=150)
        sent = await end_flood(flood)
        elapsed = (arrivals.last - started) if complete else time.perf_counter() - started
        await pilot.pause(0.5)  # the last frame drawn, the store writer caught up
        after = rss_mb()
        result = {
            "messages": RSS_COUNT,
            "topics": RSS_TOPICS,
            "received": arrivals.count,
            "lost": RSS_COUNT - arrivals.count,
            "flood_report": sent,
            "elapsed_s": round(elapsed, 1),
            "msgs_per_s": round(arrivals.count / elapsed) if elapsed else 0,
            "rss_baseline_mb": round(baseline, 1),
            "rss_after_mb": round(after, 1),
            "rss_growth_mb": round(after - baseline, 1),
            "rss_peak_mb": round(peak_mb(), 1),
            "ring_len": len(center.entries),
            "ring_size": center.ring_size,
            "list_rows": len(pane.entry_list.rows),
            "frames": pane.frames,
            "target_mb": RSS_TARGET_MB,
        }
    result["store_rows"] = _store_rows(store)
    result["ok"] = (
        result["rss_after_mb"] <= RSS_TARGET_MB
        and result["lost"] == 0
        and result["ring_len"] <= result["ring_size"]
    )
    return result


# -- latency ------------------------------------------------------------------------------


class _Probe(PaintProbe):
    """Times one key: wraps the list's ``set_rows``/``move_cursor`` (the key's change
    reaching the list, when ``want()`` says the pane's state reflects the key) and
    ``render_lines`` (the first paint after it)."""

    def __init__(self, pane: NotificationPane) -> None:
        lst: NotificationList = pane.entry_list
        super().__init__(lst)
        self.pane = pane
        self.kind = ""
        self.want: Callable[[], bool] = lambda: False
        set_rows, move_cursor = lst.set_rows, lst.move_cursor

        def set_rows_probe(rows: Any, *, cursor: int | None = None) -> None:
            set_rows(rows, cursor=cursor)
            if self.kind == "rows" and self.changed_at is None and self.want():
                self.changed()

        def move_cursor_probe(index: int) -> None:
            move_cursor(index)
            if self.kind == "cursor":
                self.changed()

        lst.set_rows = set_rows_probe  # type: ignore[method-assign]
        lst.move_cursor = move_cursor_probe  # type: ignore[method-assign]

    def disarm(self) -> None:
        """Changes no longer count."""
        self.kind = ""

    def arm(self, key: str) -> bool:
        """Expect ``key``'s change; False when the pane is not in the state the key
        is meant for (``space`` resumes a paused pane)."""
        pane = self.pane
        self.reset()
        if key in ("up", "down"):
            self.kind = "cursor"
        elif key == "2":
            shown = Category.MESSAGE in pane.filter.categories
            self.kind = "rows"
            self.want = lambda: (Category.MESSAGE in pane.filter.categories) is not shown
        elif key == "space":
            if not pane.paused:
                return False
            self.kind = "rows"
            self.want = lambda: not pane.paused
        else:
            raise ValueError(key)
        return True


async def _keys(pilot: Any, probe: _Probe, rng: random.Random) -> dict[str, Any]:
    """Press :data:`SAMPLES` keys of the cycle; the latencies (ms) by key."""
    by_key, timeouts, skipped = await press_keys(
        pilot, probe, rng, KEYS, SAMPLES, think=THINK, key_timeout=KEY_TIMEOUT
    )
    return {"by_key": by_key, "timeouts": timeouts, "skipped": skipped}


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    every = [v for values in run["by_key"].values() for v in values]
    return {
        **latency_stats(every),
        "timeouts": run["timeouts"],
        "skipped": run["skipped"],
        "p99_by_key_ms": {
            key: latency_stats(values).get("p99_ms") for key, values in run["by_key"].items()
        },
    }


async def _latency(port: int, work: Path) -> dict[str, Any]:
    store = work / "latency.db"
    runtime = Runtime(_config(port, store, "bench-notifications-latency"))
    app = FleettopApp(runtime, freeze_heap=True)  # as `fleettop` runs it
    arrivals = Arrivals()
    rng = random.Random(6)
    flood_count = RATE * FLOOD_SECONDS
    async with app.run_test(size=SIZE) as pilot:
        pane = await _open_notifications(app, pilot)
        center = runtime.notifications
        assert center is not None
        center.listen(arrivals)
        # a full ring, so both sides rebuild and show the same amount
        await end_flood(await _start_flood(port, PREFILL, LAT_TOPICS))
        if not await arrivals.wait_for(PREFILL, limit=60):
            raise RuntimeError(f"prefill: {arrivals.count} of {PREFILL} arrived")
        await pilot.pause(0.5)
        probe = _Probe(pane)
        idle = await _keys(pilot, probe, rng)
        await pilot.pause(0.5)
        flood = await _start_flood(port, flood_count, LAT_TOPICS, RATE)
        await asyncio.sleep(1.0)  # the flood has reached its pace
        count0, t0 = arrivals.count, time.perf_counter()
        loaded = await _keys(pilot, probe, rng)
        count1, t1 = arrivals.count, time.perf_counter()
        flood_running = flood.returncode is None
        sent = await end_flood(flood)
        complete = await arrivals.wait_for(PREFILL + flood_count, limit=90)
        drained_at = time.perf_counter()
    idle_stats, flood_stats = _summary(idle), _summary(loaded)
    p99_idle, p99_flood = idle_stats.get("p99_ms"), flood_stats.get("p99_ms")
    ratio = round(p99_flood / p99_idle, 2) if p99_idle and p99_flood else None
    published = PREFILL + flood_count
    return {
        "idle": idle_stats,
        "flood": flood_stats,
        "ratio_p99": ratio,
        "target_p99_ms": LATENCY_TARGET_MS,
        "flood_rate_asked": RATE,
        "received_msgs_per_s_during": round((count1 - count0) / (t1 - t0)),
        "measured_s": round(t1 - t0, 1),
        "flood_still_running_at_end": flood_running,
        "flood_report": sent,
        "published": published,
        "received": arrivals.count,
        "lost": published - arrivals.count,
        "drained_s_after_measure": round(drained_at - t1, 1) if complete else None,
        "ok": bool(p99_flood is not None and p99_flood <= LATENCY_TARGET_MS)
        and not loaded["timeouts"],
    }


async def _phase(name: str) -> dict[str, Any]:
    with mosquitto() as port, tempfile.TemporaryDirectory(prefix="fleettop-bench-") as tmp:
        work = Path(tmp)
        return await (_rss if name == "rss" else _latency)(port, work)


def _run_phase(name: str) -> dict[str, Any]:
    """One measurement in a child process of its own (:func:`bench.measure.run_phase`)."""
    return run_phase("bench.bench_notifications", name, timeout=300)


def main() -> dict[str, Any]:
    """Run both measurements (each in its own process), print and return the JSON
    summary.

    Raises:
        RuntimeError: mosquitto is missing, the UI did not start, or the flood failed.
    """
    rss = _run_phase("rss")
    latency = _run_phase("latency")
    summary = {
        "rss": rss,
        "latency": latency,
        "ok": rss["ok"] and latency["ok"] and latency["lost"] == 0,
    }
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase"]:
        print(json.dumps(asyncio.run(_phase(sys.argv[2]))))
    else:
        main()
