"""What the notification benchmarks measure with: the process's resident memory and
the MQTT messages that reached the notification center's listeners."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from console.notifications.model import Category, Notification

__all__ = ["Arrivals", "peak_mb", "rss_mb", "run_phase"]

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
