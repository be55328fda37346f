"""A process that writes to a property store, for ``tests/test_store_crash.py``.

Usage (from the repository root)::

    python -m tests.store_writer_proc DB RUN [--rows N] [--batches K] [--close]
    python -m tests.store_writer_proc DB RUN --rate R [--via-bus] [--window S]

Writes batches of ``--rows`` properties to device ``RUN`` of the store ``DB``: batch
``k`` is the paths ``/b{k}/{i}`` with the longinteger values ``k * rows + i``.

* default: forever; after each batch it awaits ``flush()`` and prints
  ``committed k`` (flushed to stdout at once), so every printed batch is one the
  store reported committed. The test SIGKILLs it at a random moment.
* ``--close``: writes ``--batches`` batches without any flush, then ``aclose()``,
  prints ``closed K`` and exits 0 (a clean shutdown must lose nothing).

* ``--rate R``: streams ``R`` property updates per second, forever, for the kill -9
  loss measurement (``tests/test_store_crash.py``, ``bench/bench_crash.py``): update
  ``n`` sets ``/u{n % 100}`` to the wall-clock time it was accepted, in µs since the
  epoch (a longinteger), so the newest accepted time in the file after a kill says
  how much was lost. Accepted means handed to the store (``store_prop`` called) or,
  with ``--via-bus``, published on the bus as an Astarte property event
  ``("mqtt", RUN, "property", INTERFACE, PATH)`` that the runtime's
  :class:`~console.store.mqtt.MqttPropertyFeeder` stores, as MQTT updates travel.
  After each round of updates (about every ms) it prints ``accepted NEWEST_US
  COMMIT_MS``: the newest accepted time, and the longest commit so far (or the age
  of the commit in progress, if longer), ms. ``--window`` sets the batch window
  (seconds).

Also prints ``opened`` once the store is open. Exits 3 with the error on a
:class:`~console.store.StoreError`.

:func:`kill_streaming` is the driver the test and the benchmark share: it starts the
streaming mode, SIGKILLs it and reads what the file kept.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from console.events import EventManager, JsonValue
from console.store import Ownership, PropertyStore, PropertyType, Source, StoreError
from console.store.mqtt import MqttPropertyFeeder
from console.store.writer import DEFAULT_BATCH_WINDOW

INTERFACE = "org.fleettop.test.Crash"


async def write(db: str, run: str, rows: int, batches: int | None, close: bool) -> int:
    try:
        store = await PropertyStore.open(db)
    except StoreError as exc:
        print(f"error {exc}", flush=True)
        return 3
    print("opened", flush=True)
    counter = itertools.count() if batches is None else range(batches)
    for k in counter:
        for i in range(rows):
            await store.store_prop(
                run,
                INTERFACE,
                1,
                f"/b{k}/{i}",
                k * rows + i,
                type=PropertyType.LONGINTEGER,
                ownership=Ownership.DEVICE,
                source=Source.OPERATOR,
            )
        if not close:
            await store.flush()
            print(f"committed {k}", flush=True)
    await store.aclose()
    print(f"closed {batches}", flush=True)
    return 0


#: Distinct paths the streaming mode cycles through.
STREAM_PATHS = 100


def now_us() -> int:
    """Wall-clock time in µs since the epoch (what the streaming mode stores)."""
    return time.time_ns() // 1000


async def stream(db: str, run: str, rate: int, via_bus: bool, window: float) -> int:
    """Write ``rate`` updates per second until killed (see the module doc)."""
    try:
        store = await PropertyStore.open(db, batch_window=window)
    except StoreError as exc:
        print(f"error {exc}", flush=True)
        return 3
    bus = EventManager()
    if via_bus:
        MqttPropertyFeeder(bus, store)
    print("opened", flush=True)
    start = time.monotonic()
    n = 0
    accepted = 0
    while True:
        due = int((time.monotonic() - start) * rate)
        round_start = n
        while n < due:
            path = f"/u{n % STREAM_PATHS}"
            accepted = now_us()
            if via_bus:
                payload: JsonValue = {
                    "interface": INTERFACE,
                    "path": path,
                    "version": "1.0",
                    "type": "longinteger",
                    "ownership": "device",
                    "value": accepted,
                }
                bus.publish(("mqtt", run, "property", INTERFACE, path), payload)
            else:
                await store.store_prop(
                    run,
                    INTERFACE,
                    1,
                    path,
                    accepted,
                    type=PropertyType.LONGINTEGER,
                    ownership=Ownership.DEVICE,
                    source=Source.MQTT,
                )
            n += 1
        if n > round_start:
            stats = store.stats
            commit = stats.longest_commit
            if stats.commit_started is not None:
                commit = max(commit, time.monotonic() - stats.commit_started)
            print(f"accepted {accepted} {commit * 1000:.1f}", flush=True)
        await asyncio.sleep(0.001)


REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Kill:
    """What one SIGKILL of the streaming mode lost.

    Attributes:
        loss_ms: the newest accepted time the process reported less the newest the
            file kept, ms: the span of accepted traffic lost.
        to_kill_ms: the kill's wall-clock time less the newest accepted time the file
            kept, ms (also counts time in which the process accepted nothing, being
            descheduled).
        longest_commit_ms: the longest commit the writer reported before the kill
            (one still in progress counts with its age).
        integrity: ``PRAGMA integrity_check``'s answer after the kill (``"ok"``).
        kept: updates of this run the file kept (one row per path).
    """

    loss_ms: float
    to_kill_ms: float
    longest_commit_ms: float
    integrity: str
    kept: int


def kill_streaming(
    db: Path,
    run: str,
    *,
    after: float,
    rate: int = 1000,
    via_bus: bool = True,
    window: float = DEFAULT_BATCH_WINDOW,
    hang: float = 60.0,
) -> Kill:
    """Start the streaming mode on ``db`` as device ``run``, SIGKILL it ``after``
    seconds after its store opened, and measure what the file kept.

    Raises:
        RuntimeError: the process did not open the store, or ended by itself.
    """
    command = [sys.executable, "-m", "tests.store_writer_proc", str(db), run]
    command += ["--rate", str(rate), "--window", str(window)]
    if via_bus:
        command.append("--via-bus")
    proc = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(hang, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if first != "opened\n":
            proc.kill()
            raise RuntimeError(f"the writer did not open the store: {first!r} {proc.stderr}")
        time.sleep(after)
        killed_at = now_us()
        proc.send_signal(signal.SIGKILL)
        out, errors = proc.communicate(timeout=hang)
    finally:
        watchdog.cancel()
    if proc.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the writer ended by itself ({proc.returncode}): {errors}")
    longest = 0.0
    newest_accepted = 0
    for line in out.split("\n")[:-1]:  # a killed process may leave half a line
        if line.startswith("accepted "):
            _, newest, commit = line.split()
            newest_accepted = max(newest_accepted, int(newest))
            longest = max(longest, float(commit))
    with sqlite3.connect(db) as conn:
        integrity = "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check"))
        newest, kept = conn.execute(
            "SELECT max(value), count(*) FROM properties WHERE device = ? AND interface = ?",
            (run, INTERFACE),
        ).fetchone()
    conn.close()
    if newest is None:
        raise RuntimeError(f"nothing of {run} was committed before the kill")
    return Kill(
        (newest_accepted - newest) / 1000, (killed_at - newest) / 1000, longest, integrity, kept
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db")
    parser.add_argument("run")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--close", action="store_true")
    parser.add_argument("--rate", type=int, default=None)
    parser.add_argument("--via-bus", action="store_true")
    parser.add_argument("--window", type=float, default=DEFAULT_BATCH_WINDOW)
    args = parser.parse_args()
    if args.rate is not None:
        return asyncio.run(stream(args.db, args.run, args.rate, args.via_bus, args.window))
    return asyncio.run(write(args.db, args.run, args.rows, args.batches, args.close))


if __name__ == "__main__":
    sys.exit(main())
