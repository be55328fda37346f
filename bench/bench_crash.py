"""Crash durability: how much of a 1,000-per-second property stream a ``kill -9``
loses, against the batch window ``docs/store.md`` promises (100 ms).

Run with ``python -m bench.bench_crash`` (or ``python -m bench crash``); about 20 s.

Each of :data:`KILLS` rounds starts ``tests/store_writer_proc.py`` in its streaming
mode on one store file: :data:`RATE` Astarte property updates per second, each
published on the bus as ``("mqtt", DEVICE, "property", INTERFACE, PATH)`` and stored
by the runtime's :class:`~console.store.mqtt.MqttPropertyFeeder`, its value the
wall-clock time it was published. After a random 0.3 to 1.5 s the process is
SIGKILLed; the loss is the newest published time the process reported less the
newest the file kept (the span of accepted traffic lost, ms), and ``PRAGMA
integrity_check`` must say ``ok``. ``to_kill`` figures measure up to the kill
instead (they also count time in which the process, descheduled, accepted nothing).

The bound is the batch window, plus the longest commit the writer reported when that
commit was longer than the window allows (a disk stalling on ``fsync``): the figure
``bound_met`` checks. The seed is ``FLEETTOP_CRASH_SEED`` (random by default, printed).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from console.store.writer import DEFAULT_BATCH_WINDOW
from tests.store_writer_proc import Kill, kill_streaming

__all__ = ["KILLS", "RATE", "main"]

#: SIGKILLs per run.
KILLS = 10
#: Property updates per second.
RATE = 1000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> dict[str, Any]:
    """Kill the streaming writer :data:`KILLS` times; print and return the loss
    distribution against the bound.

    Returns:
        ``{"kills", "rate_per_s", "window_ms", "losses_ms", "loss_min_ms",
        "loss_median_ms", "loss_p90_ms", "loss_max_ms", "over_window",
        "to_kill_max_ms", "longest_commit_ms", "integrity_ok", "bound_met", "seed"}``.
    """
    seed = int(os.environ.get("FLEETTOP_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    window_ms = DEFAULT_BATCH_WINDOW * 1000
    kills: list[Kill] = []
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-crash-") as tmp:
        db = Path(tmp) / "crash.db"
        for n in range(KILLS):
            kills.append(kill_streaming(db, f"run{n}", after=rng.uniform(0.3, 1.5), rate=RATE))
    losses = [round(kill.loss_ms, 1) for kill in kills]
    results: dict[str, Any] = {
        "kills": KILLS,
        "rate_per_s": RATE,
        "window_ms": window_ms,
        "losses_ms": losses,
        "loss_min_ms": min(losses),
        "loss_median_ms": round(statistics.median(losses), 1),
        "loss_p90_ms": _percentile(losses, 0.9),
        "loss_max_ms": max(losses),
        "over_window": sum(loss > window_ms for loss in losses),
        "to_kill_max_ms": round(max(kill.to_kill_ms for kill in kills), 1),
        "longest_commit_ms": max(kill.longest_commit_ms for kill in kills),
        "integrity_ok": all(kill.integrity == "ok" for kill in kills),
        "bound_met": all(
            kill.integrity == "ok" and kill.loss_ms <= window_ms + kill.longest_commit_ms
            for kill in kills
        ),
        "seed": seed,
    }
    print(
        f"kill -9 of a {RATE}/s property stream, {KILLS} kills (seed {seed}): lost"
        f" min {results['loss_min_ms']} / median {results['loss_median_ms']} /"
        f" p90 {results['loss_p90_ms']} / max {results['loss_max_ms']} ms;"
        f" bound: the {window_ms:.0f} ms batch window ({results['over_window']} over it;"
        f" longest commit {results['longest_commit_ms']:.1f} ms; up to the kill: max"
        f" {results['to_kill_max_ms']} ms);"
        f" integrity_check ok: {results['integrity_ok']}; bound met: {results['bound_met']}"
    )
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
