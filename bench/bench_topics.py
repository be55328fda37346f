"""The Topics screen under an MQTT flood of 100k distinct topics, with the whole
terminal UI running; and the cleanup of 10k retained topics (issue 14 §7).

Both phases run the Textual app headless (``FleettopApp(runtime).run_test()``,
160x50) over a fresh :class:`~console.runtime.Runtime` with a real store file in a
temporary directory and one mosquitto broker (:func:`bench.peers.mosquitto`), the
runtime subscribed to ``bench/#``; the Topics screen is shown (``T``). Floods come
from :mod:`bench.flood` in its own process.

Latency and memory (``latency``)
--------------------------------
First :data:`TOPICS` distinct topics, one message each (unpaced; ``bench/devNNNN/mNN``:
1,000 levels of 100 topics), fill the tree; the ``bench`` level is opened (1,000
rows). Then :data:`SAMPLES` keys are pressed with Pilot, in the cycle :data:`KEYS`
(``down``, ``down``, ``up``, ``enter``: open the level under the cursor, the rows are
rebuilt; ``enter``: close it again), 20-80 ms apart. Each sample runs from just
before the press until the tree view has painted after the key took effect (the
benchmark wraps the view's ``set_rows``/``move_cursor`` and ``render_lines``, as
``bench_notifications`` does). Baseline: the same cycle with no traffic, same run.
Then :data:`RATE` msg/s for :data:`FLOOD_SECONDS` s over the same 100k topics and the
cycle again. Reported: p50/p95/p99 both sides and their ratio, the msg/s received
meanwhile, what the tree counted against what was published (``lost``: nothing may
be), RSS (``VmRSS``) before the topics, after the prefill and after the flood, and
the peak. Targets: p99 under flood <= :data:`LATENCY_TARGET_MS` ms, RSS after <=
:data:`RSS_TARGET_MB` MB.

Cleanup (``cleanup``)
---------------------
:data:`RETAINED` retained topics are published (QoS 1, before fleettop starts), the
app shows them, the ``bench`` level is selected and ``x`` then ``y`` clear them all;
timed from the confirmation to the last acknowledgement (the screen's progress),
with the key->repaint p99 of ``down``/``up`` pressed meanwhile (the UI stays free).
Then a fresh subscriber counts the retained messages left (none may be).

Usage: ``python -m bench topics`` (or ``python -m bench.bench_topics``); a few
minutes. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench.measure import PaintProbe, latency_stats, peak_mb, press_keys, rss_mb, run_phase
from bench.peers import end_flood, mosquitto, mosquitto_config, start_flood
from console.app import FleettopApp
from console.explorer.tree import TopicTree
from console.runtime import Runtime
from screens.confirm import ConfirmScreen
from screens.devices import DevicesScreen
from screens.topics import TopicsScreen
from widgets.topic_tree import TopicTreeView

__all__ = ["main"]

# the same terminal, think time, key timeout and target as bench_notifications on purpose
SIZE = (160, 50)
TOPICS = 100_000
RATE = 20_000
FLOOD_SECONDS = 20
SAMPLES = 150
KEYS = ("down", "down", "up", "enter", "enter")
THINK = (0.020, 0.080)
KEY_TIMEOUT = 5.0
LATENCY_TARGET_MS = 100.0
RSS_TARGET_MB = 250.0
RETAINED = 10_000
PAYLOAD = 100


def _config(port: int, store: Path, client_id: str) -> Any:
    return mosquitto_config(port, store, client_id)


async def _flood(port: int, count: int, topics: int, rate: float = 0.0) -> str:
    return await end_flood(await start_flood(port, count, topics, rate, PAYLOAD), None)


async def _until(condition: Callable[[], object], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _open_topics(app: FleettopApp, pilot: Any) -> TopicsScreen:
    await _until(lambda: isinstance(app.screen, DevicesScreen), 30, "the UI")
    await pilot.press("T")
    await _until(lambda: isinstance(app.screen, TopicsScreen) and app.screen.is_mounted, 10, "T")
    bus = app.runtime.bus
    await _until(lambda: bus.latest(("mqtt", "@bench", "subscribed")), 30, "the SUBACK")
    screen = app.screen
    assert isinstance(screen, TopicsScreen)
    return screen


class _Probe(PaintProbe):
    """Times one key: the view's ``set_rows``/``move_cursor`` (the key's change
    reaching the view) then its ``render_lines`` (the first paint after it)."""

    def __init__(self, view: TopicTreeView) -> None:
        super().__init__(view)
        self.armed = False
        set_rows, move_cursor = view.set_rows, view.move_cursor

        def set_rows_probe(rows: Any, *, select: Any = None) -> None:
            set_rows(rows, select=select)
            if self.armed:
                self.changed()

        def move_cursor_probe(index: int) -> None:
            move_cursor(index)
            if self.armed:
                self.changed()

        view.set_rows = set_rows_probe  # type: ignore[method-assign]
        view.move_cursor = move_cursor_probe  # type: ignore[method-assign]

    def arm(self, key: str) -> bool:
        """Expect any key's change."""
        self.armed = True
        self.reset()
        return True

    def disarm(self) -> None:
        """Changes no longer count."""
        self.armed = False


async def _keys(
    pilot: Any, probe: _Probe, rng: random.Random, keys: tuple[str, ...], samples: int
) -> dict[str, Any]:
    by_key, timeouts, _ = await press_keys(
        pilot, probe, rng, keys, samples, think=THINK, key_timeout=KEY_TIMEOUT
    )
    times = [ms for values in by_key.values() for ms in values]
    return {**latency_stats(times), "timeouts": timeouts}


def _open_level(screen: TopicsScreen, tree: TopicTree, name: str) -> None:
    level = tree.root.children["@bench"].children[name]
    level.expanded = True
    screen.rebuild()
    screen.view.move_cursor(list(screen.view.rows).index(level) + 1)


async def _latency(port: int, work: Path) -> dict[str, Any]:
    runtime = Runtime(_config(port, work / "latency.db", "bench-topics-latency"))
    app = FleettopApp(runtime, freeze_heap=True)  # as `fleettop` runs it
    rng = random.Random(14)
    flood_count = RATE * FLOOD_SECONDS
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_topics(app, pilot)
        tree = runtime.topics
        assert tree is not None
        rss_start = rss_mb()
        report = await _flood(port, TOPICS, TOPICS)
        await _until(lambda: tree.messages >= TOPICS, 120, "the prefill")
        await pilot.pause(1.0)
        rss_prefill = rss_mb()
        _open_level(screen, tree, "bench")
        await pilot.pause(0.5)
        probe = _Probe(screen.view)
        idle = await _keys(pilot, probe, rng, KEYS, SAMPLES)
        before = tree.messages
        flood = asyncio.ensure_future(_flood(port, flood_count, TOPICS, RATE))
        await asyncio.sleep(1.0)
        m0, t0 = tree.messages, time.perf_counter()
        loaded = await _keys(pilot, probe, rng, KEYS, SAMPLES)
        m1, t1 = tree.messages, time.perf_counter()
        running = not flood.done()
        report = await flood
        drained = True
        try:
            await _until(lambda: tree.messages >= before + flood_count, 120, "the drain")
        except RuntimeError:
            drained = False
        await pilot.pause(0.5)
        rss_after = rss_mb()
        counted = tree.messages
        topics = tree.topic_count
    p99_idle, p99_flood = idle.get("p99_ms"), loaded.get("p99_ms")
    published = TOPICS + flood_count
    return {
        "idle": idle,
        "flood": loaded,
        "ratio_p99": round(p99_flood / p99_idle, 2) if p99_idle and p99_flood else None,
        "target_p99_ms": LATENCY_TARGET_MS,
        "flood_rate_asked": RATE,
        "received_msgs_per_s_during": round((m1 - m0) / (t1 - t0)),
        "flood_still_running_at_end": running,
        "flood_report": report,
        "published": published,
        "counted_by_tree": counted,
        "lost": published - counted,
        "drained": drained,
        "topics_in_tree": topics,
        "rss_start_mb": round(rss_start, 1),
        "rss_after_prefill_mb": round(rss_prefill, 1),
        "rss_after_flood_mb": round(rss_after, 1),
        "rss_peak_mb": round(peak_mb(), 1),
        "target_rss_mb": RSS_TARGET_MB,
        "ok": bool(p99_flood is not None and p99_flood <= LATENCY_TARGET_MS)
        and not loaded.get("timeouts")
        and rss_after <= RSS_TARGET_MB
        and published == counted,
    }


def _retain(port: int, topics: list[str], payload: bytes | None) -> int:
    """Publish ``payload`` retained on each topic (QoS 1, acknowledged), or with
    ``payload`` None count the retained messages a fresh subscriber gets."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-retain-{time.time()}")
    seen: list[str] = []
    done = threading.Event()
    if payload is None:

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            if message.retain and message.payload:
                seen.append(message.topic)

        client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if payload is None:
            client.subscribe("bench/#", 0)
            done.wait(3.0)  # retained messages come at once after SUBACK
            return len(seen)
        infos = [client.publish(t, payload, 1, True) for t in topics]
        for info in infos:
            info.wait_for_publish(30)
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


async def _cleanup(port: int, work: Path) -> dict[str, Any]:
    topics = [f"bench/r{n // 100:03d}/t{n % 100:02d}" for n in range(RETAINED)]
    await asyncio.to_thread(_retain, port, topics, b"42")
    runtime = Runtime(_config(port, work / "cleanup.db", "bench-topics-cleanup"))
    app = FleettopApp(runtime, freeze_heap=True)
    rng = random.Random(41)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_topics(app, pilot)
        tree = runtime.topics
        assert tree is not None
        await _until(lambda: tree.root.children.get("@bench"), 60, "the broker node")
        broker = tree.root.children["@bench"]
        await _until(lambda: broker.retained_count >= RETAINED, 120, "the retained topics")
        screen.rebuild()
        level = broker.children["bench"]
        screen.view.move_cursor(list(screen.view.rows).index(level))
        await pilot.press("x")
        await _until(lambda: isinstance(app.screen, ConfirmScreen), 10, "the confirmation")
        started = time.perf_counter()
        await pilot.press("y")
        await _until(lambda: screen.clearing is not None, 10, "the cleanup")
        probe = _Probe(screen.view)
        keys = await _keys(pilot, probe, rng, ("down", "up"), 40)
        clearing = screen.clearing
        assert clearing is not None
        await _until(lambda: clearing.done >= clearing.total, 120, "the cleanup's end")
        seconds = time.perf_counter() - started
        cleared, failed = len(clearing.cleared), len(clearing.failed)
    left = await asyncio.to_thread(_retain, port, [], None)
    return {
        "retained_topics": RETAINED,
        "cleared": cleared,
        "failed": failed,
        "seconds": round(seconds, 2),
        "topics_per_s": round(cleared / seconds) if seconds else None,
        "keys_during_cleanup": keys,
        "retained_left": left,
        "ok": left == 0 and failed == 0 and cleared == RETAINED,
    }


async def _phase(name: str) -> dict[str, Any]:
    with mosquitto() as port, tempfile.TemporaryDirectory(prefix="fleettop-bench-") as tmp:
        work = Path(tmp)
        return await (_latency if name == "latency" else _cleanup)(port, work)


def main() -> dict[str, Any]:
    """Run both phases (each in its own process), print and return the JSON summary.

    Raises:
        RuntimeError: mosquitto is missing, the UI did not start, or a flood failed.
    """
    latency = run_phase("bench.bench_topics", "latency", timeout=600)
    cleanup = run_phase("bench.bench_topics", "cleanup", timeout=300)
    summary = {"latency": latency, "cleanup": cleanup, "ok": latency["ok"] and cleanup["ok"]}
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    if sys.argv[1:2] == ["--phase"]:
        print(json.dumps(asyncio.run(_phase(sys.argv[2]))))
    else:
        main()
