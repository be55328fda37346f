"""What the UI benchmarks measure with: the process's resident memory, the MQTT
messages that reached the notification center's listeners, and the key->paint
latency of a virtual list (:class:`PaintProbe`, :func:`press_keys`,
:func:`latency_stats`)."""

from __future__ import annotations

import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from console.notifications.model import Category, Notification

__all__ = [
    "Arrivals",
    "PaintProbe",
    "latency_stats",
    "peak_mb",
    "press_keys",
    "rss_mb",
    "run_phase",
]

_ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """This process's resident set (``VmRSS``), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """This process's peak resident set so far (``ru_maxrss``, KiB on Linux), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Arrivals:
    """Counts the MQTT messages as the notification center hands them to its
    listeners (category ``message``), with the ``perf_counter`` of the first and the
    last; a listener (``center.listen(arrivals)``), so no extra bus queue holds
    memory."""

    def __init__(self) -> None:
        self.count = 0
        self.first = self.last = 0.0

    def __call__(self, batch: list[Notification]) -> None:
        n = 0
        for notification in batch:
            if notification.category is Category.MESSAGE:
                n += 1
        if n:
            now = time.perf_counter()
            if not self.count:
                self.first = now
            self.count += n
            self.last = now

    async def wait_for(self, count: int, limit: float) -> bool:
        """Wait until ``count`` messages arrived; False after ``limit`` s."""
        deadline = time.monotonic() + limit
        while self.count < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


def run_phase(module: str, name: str, timeout: float) -> dict[str, Any]:
    """Run ``python -m MODULE --phase NAME`` in a child process of its own (a fresh
    heap: its RSS, peak and garbage-collector pauses are that measurement's alone)
    and return the JSON object it printed.

    Raises:
        RuntimeError: the child failed.
        subprocess.TimeoutExpired: it ran longer than ``timeout`` seconds.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, "--phase", name],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        check=False,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"the {name} measurement failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def latency_stats(samples: list[float]) -> dict[str, Any]:
    """``n`` and the p50, p95, p99 and max of ``samples`` (ms, rounded to 0.1 ms;
    inclusive quantiles); ``n`` alone under 2 samples."""
    if len(samples) < 2:
        return {"n": len(samples)}
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "n": len(samples),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": round(max(samples), 1),
    }


class PaintProbe:
    """Times one key on a virtual list (a ``widgets.virtual_list.VirtualList``): from
    :meth:`changed` (the key's change reaching the list: the subclass wraps the
    list's ``set_rows``/``move_cursor`` and calls it) to the list's first
    ``render_lines`` after it (wrapped here). Subclasses say in :meth:`arm` what a
    key's change is.

    Args:
        view: the list; its ``render_lines`` is replaced by a timing wrapper.
    """

    def __init__(self, view: Any) -> None:
        self.changed_at: float | None = None
        self.painted_at: float | None = None
        self.painted = asyncio.Event()
        render_lines = view.render_lines

        def render_lines_probe(crop: Any) -> Any:
            strips = render_lines(crop)
            if self.changed_at is not None and self.painted_at is None:
                self.painted_at = time.perf_counter()
                self.painted.set()
            return strips

        view.render_lines = render_lines_probe

    def changed(self) -> None:
        """The key's change reached the list now (the first call counts)."""
        if self.changed_at is None:
            self.changed_at = time.perf_counter()

    def reset(self) -> None:
        """Forget the last key's times."""
        self.changed_at = self.painted_at = None
        self.painted.clear()

    def arm(self, key: str) -> bool:
        """Expect ``key``'s change; False to skip the key (the list is not in the
        state it is meant for)."""
        raise NotImplementedError

    def disarm(self) -> None:
        """Stop expecting changes (the keys are done)."""
        raise NotImplementedError


async def press_keys(
    pilot: Any,
    probe: PaintProbe,
    rng: random.Random,
    keys: tuple[str, ...],
    samples: int,
    *,
    think: tuple[float, float],
    key_timeout: float,
) -> tuple[dict[str, list[float]], int, int]:
    """Press ``samples`` keys of the cycle ``keys`` with Pilot (each press a task: a
    press waits for the app to go idle), ``think`` (min, max) s apart; each sample
    runs from just before the press to the probe's paint.

    Returns:
        The latencies (ms) by key, the keys not painted within ``key_timeout`` s, and the
        keys the probe skipped.
    """
    by_key: dict[str, list[float]] = {key: [] for key in keys}
    presses: list[asyncio.Task[None]] = []
    timeouts = skipped = 0
    for n in range(samples):
        key = keys[n % len(keys)]
        if not probe.arm(key):
            skipped += 1
            continue
        t0 = time.perf_counter()
        presses.append(asyncio.create_task(pilot.press(key)))
        try:
            async with asyncio.timeout(key_timeout):
                await probe.painted.wait()
        except TimeoutError:
            timeouts += 1
        else:
            assert probe.painted_at is not None
            by_key[key].append((probe.painted_at - t0) * 1000)
        await asyncio.sleep(rng.uniform(*think))
    probe.disarm()
    await asyncio.gather(*presses)
    return by_key, timeouts, skipped
