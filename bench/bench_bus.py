"""Event-bus throughput: fleettop's :class:`~console.events.EventManager` against a raw
``asyncio.Queue`` producer/consumer doing the same work, in the same run.

Run with ``python -m bench.bench_bus`` (or ``python -m bench`` for every benchmark).

Scenarios (each repeated :data:`REPEATS` times, the best run kept):

* ``bus_1`` / ``raw_1``: one producer, one subscriber (one queue and one consumer
  task for the raw baseline);
* ``bus_10`` / ``raw_10``: one producer, ten subscribers (ten queues, ten consumer
  tasks);
* ``batched``: one subscriber with ``batch_duration=0.05`` (other settings default,
  so a batch also closes at ``maxsize`` events) over :data:`BATCHED_EVENTS` events,
  for reference; its time includes the last batch's wait.

The producer publishes :data:`EVENTS` events in bursts of :data:`BURST`, yielding to
the loop between bursts (as a poll loop or an MQTT ingest batch does); every
consumer calls the same trivial handler once per item. The figure of merit is
``cost ratio = fleettop time / raw queue time`` for the same number of deliveries;
the target is :data:`TARGET_RATIO` or less.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from console.events import Event, EventManager, JsonValue

__all__ = ["BURST", "EVENTS", "REPEATS", "TARGET_RATIO", "main"]

#: Events published per run.
EVENTS = 50_000
#: Events published between two yields to the loop.
BURST = 200
#: Runs per scenario; the fastest is reported.
REPEATS = 5
#: Distinct event types cycled through (a fleet publishes many OIDs).
TYPES = 500
#: Events published in the batched scenario (enough for several batches).
BATCHED_EVENTS = 200_000
#: Largest acceptable ``fleettop time / raw queue time``.
TARGET_RATIO = 1.5

_EVENT_TYPES = [("snmp", f"dev{i % 50}", "read", f"1.3.6.1.2.1.2.2.1.10.{i}") for i in range(TYPES)]
_PAYLOAD: JsonValue = {
    "session_id": None,
    "cause": "CHANGE",
    "data": {"type": "COUNTER", "value": 42},
}


class _Counter:
    """The trivial handler both sides call once per delivered item."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, item: object) -> None:
        self.count += 1


class _BatchCounter:
    """Handler of a batched subscription: counts the events of every batch."""

    def __init__(self) -> None:
        self.count = 0
        self.batches = 0

    def __call__(self, batch: list[Event]) -> None:
        self.count += len(batch)
        self.batches += 1


async def _bus_run(subscribers: int, events: int) -> float:
    """Publish ``events`` events to ``subscribers`` subscriptions; return seconds."""
    async with EventManager() as bus:
        counters = [_Counter() for _ in range(subscribers)]
        for counter in counters:
            bus.subscribe(("snmp", "?", "read", "*"), counter, maxsize=events)
        await asyncio.sleep(0)  # let the delivery tasks start
        types, payload, publish = _EVENT_TYPES, _PAYLOAD, bus.publish
        start = time.perf_counter()
        for i in range(events):
            publish(types[i % TYPES], payload)
            if i % BURST == BURST - 1:
                await asyncio.sleep(0)
        await bus.drain()
        elapsed = time.perf_counter() - start
    if any(c.count != events for c in counters):
        raise AssertionError(f"bus lost events: {[c.count for c in counters]}")
    return elapsed


async def _raw_run(subscribers: int, events: int) -> float:
    """The same work over plain ``asyncio.Queue``s; return seconds."""
    counters = [_Counter() for _ in range(subscribers)]
    queues: list[asyncio.Queue[tuple[tuple[str, ...], object] | None]] = [
        asyncio.Queue() for _ in range(subscribers)
    ]

    async def consume(
        queue: asyncio.Queue[tuple[tuple[str, ...], object] | None],
        handler: Callable[[object], None],
    ) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            handler(item)

    tasks = [asyncio.create_task(consume(q, c)) for q, c in zip(queues, counters, strict=True)]
    await asyncio.sleep(0)
    types, payload = _EVENT_TYPES, _PAYLOAD
    start = time.perf_counter()
    for i in range(events):
        item = (types[i % TYPES], payload)
        for queue in queues:
            queue.put_nowait(item)
        if i % BURST == BURST - 1:
            await asyncio.sleep(0)
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    if any(c.count != events for c in counters):
        raise AssertionError(f"raw queue lost items: {[c.count for c in counters]}")
    return elapsed


async def _batched_run(events: int) -> tuple[float, float]:
    """One subscription batched by ``batch_duration=0.05``; return (seconds, mean batch)."""
    async with EventManager() as bus:
        counter = _BatchCounter()
        bus.subscribe(("snmp", "*"), counter, batch_duration=0.05)
        await asyncio.sleep(0)
        types, payload, publish = _EVENT_TYPES, _PAYLOAD, bus.publish
        start = time.perf_counter()
        for i in range(events):
            publish(types[i % TYPES], payload)
            if i % BURST == BURST - 1:
                await asyncio.sleep(0)
        await bus.drain()
        elapsed = time.perf_counter() - start
    if counter.count != events:
        raise AssertionError(f"batched bus lost events: {counter.count} of {events}")
    return elapsed, counter.count / max(counter.batches, 1)


def main() -> dict[str, Any]:
    """Run every scenario, print a table, and return the figures.

    Returns:
        ``{"events": N, "bus_1": events/s, "raw_1": ..., "ratio_1": cost ratio,
        "bus_10": deliveries/s, "raw_10": ..., "ratio_10": ..., "batched": events/s,
        "batched_mean_batch": events per batch, "target_ratio": ..., "target_met": bool}``
    """
    n = EVENTS
    results: dict[str, Any] = {"events": n}
    for subs in (1, 10):
        # interleave the two sides so a noisy neighbour hits both alike
        bus_times, raw_times = [], []
        for _ in range(REPEATS):
            gc.collect()
            raw_times.append(asyncio.run(_raw_run(subs, n)))
            gc.collect()
            bus_times.append(asyncio.run(_bus_run(subs, n)))
        bus_t, raw_t = min(bus_times), min(raw_times)
        results[f"bus_{subs}"] = n * subs / bus_t
        results[f"raw_{subs}"] = n * subs / raw_t
        results[f"ratio_{subs}"] = bus_t / raw_t
    batched = [asyncio.run(_batched_run(BATCHED_EVENTS)) for _ in range(REPEATS)]
    best_batched = min(batched)
    results["batched"] = BATCHED_EVENTS / best_batched[0]
    results["batched_mean_batch"] = best_batched[1]
    results["target_ratio"] = TARGET_RATIO
    results["target_met"] = results["ratio_1"] <= TARGET_RATIO and (
        results["ratio_10"] <= TARGET_RATIO
    )

    print(f"event bus: {n} events, bursts of {BURST}, best of {REPEATS}")
    for subs in (1, 10):
        print(
            f"  {subs:>2} subscriber(s): fleettop {results[f'bus_{subs}']:>12,.0f} deliveries/s"
            f"   raw asyncio.Queue {results[f'raw_{subs}']:>12,.0f} deliveries/s"
            f"   cost ratio {results[f'ratio_{subs}']:.2f}x (target <= {TARGET_RATIO}x)"
        )
    print(
        f"  batched (batch_duration 0.05, {BATCHED_EVENTS} events):"
        f" {results['batched']:,.0f} events/s,"
        f" mean batch {results['batched_mean_batch']:,.0f} events"
    )
    print(f"  target met: {results['target_met']}")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
