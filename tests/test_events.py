"""Behaviour of the event manager (``console/events.py``).

Ordering, backpressure and lifecycle are proved with asyncio synchronisation
(events, semaphores, draining), never with wall-clock timing; the only time-based
check is the loose lower bound on a ``batch_duration`` batch.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import pickle
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from console.events import (
    Event,
    EventManager,
    JsonValue,
    Policy,
    Subscription,
    matches,
    on_event,
)

#: Turns a hang into a failure (pytest-timeout would take two minutes); never asserted on.
HANG_GUARD = 10.0


@pytest.fixture
async def bus() -> AsyncIterator[EventManager]:
    """A fresh bus in the test's loop, closed afterwards."""
    manager = EventManager()
    try:
        yield manager
    finally:
        await manager.aclose()


def ints(payload: JsonValue) -> list[int]:
    """The payload as a list of ints (payloads of the ordering tests)."""
    assert isinstance(payload, list)
    assert all(isinstance(x, int) for x in payload)
    return [x for x in payload if isinstance(x, int)]


class Recorder:
    """A sync handler that keeps whatever it receives."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, item: Any) -> None:
        self.items.append(item)

    @property
    def payloads(self) -> list[Any]:
        """Payloads of the received events (non-batched subscriptions)."""
        return [e.payload for e in self.items]


# -- patterns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        (("snmp", "sw1", "status"), ("snmp", "sw1", "status"), True),
        (("snmp", "sw1", "status"), ("snmp", "sw2", "status"), False),
        (("snmp", "sw1"), ("snmp", "sw1", "status"), False),
        (("snmp", "sw1", "status"), ("snmp", "sw1"), False),
        (("snmp", "?", "status"), ("snmp", "sw1", "status"), True),
        (("snmp", "?", "status"), ("snmp", "status"), False),
        (("snmp", "?", "status"), ("snmp", "a", "b", "status"), False),
        (("?",), (), False),
        (("snmp", "*"), ("snmp",), True),
        (("snmp", "*"), ("snmp", "sw1"), True),
        (("snmp", "*"), ("snmp", "sw1", "read", "1.3.6"), True),
        (("snmp", "*"), ("mqtt", "sw1"), False),
        (("snmp", "*"), (), False),
        (("*",), (), True),
        (("*",), ("anything", "at", "all"), True),
        (("snmp", "?", "read", "*"), ("snmp", "sw1", "read"), True),
        (("snmp", "?", "read", "*"), ("snmp", "sw1", "read", "1.3.6.1", "x"), True),
        (("snmp", "?", "read", "*"), ("snmp", "sw1", "poll"), False),
        (("snmp", "?", "read", "*"), ("snmp", "sw1"), False),
        ((), (), True),
        ((), ("a",), False),
        # "?" and "*" are wildcards only as whole segments
        (("sn?p",), ("snmp",), False),
        (("sn*",), ("snmp",), False),
    ],
)
def test_matches(pattern: tuple[str, ...], event_type: tuple[str, ...], expected: bool) -> None:
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize("pattern", [("*", "status"), ("snmp", "*", "read"), ("*", "*")])
async def test_star_not_last_is_rejected(bus: EventManager, pattern: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="last segment"):
        bus.subscribe(pattern, Recorder())
    with pytest.raises(ValueError, match="last segment"):
        on_event(*pattern)
    with pytest.raises(ValueError, match="last segment"):
        bus.snapshot(pattern)
    assert bus.subscriptions == ()


async def test_subscription_receives_only_matching_types(bus: EventManager) -> None:
    reads, statuses, everything = Recorder(), Recorder(), Recorder()
    bus.subscribe(("snmp", "?", "read", "*"), reads)
    bus.subscribe(("snmp", "?", "status"), statuses)
    bus.subscribe(("*",), everything)
    types = [
        ("snmp", "sw1", "read", "1.3.6.1.2.1.1.3.0"),
        ("snmp", "sw1", "status"),
        ("mqtt", "dev", "value"),
        ("snmp", "sw2", "read", "1.3.6.1.2.1.1.5.0"),
    ]
    for i, event_type in enumerate(types):
        bus.publish(event_type, i)
    await bus.drain()
    assert reads.payloads == [0, 3]
    assert statuses.payloads == [1]
    assert everything.payloads == [0, 1, 2, 3]
    assert [e.type for e in everything.items] == types


async def test_subscribe_after_a_type_was_routed_receives_it(bus: EventManager) -> None:
    early = Recorder()
    bus.subscribe(("a", "*"), early)
    bus.publish(("a", "b"), 1)
    late = Recorder()
    bus.subscribe(("a", "?"), late)
    bus.publish(("a", "b"), 2)
    await bus.drain()
    assert early.payloads == [1, 2]
    assert late.payloads == [2]


# -- ordering -------------------------------------------------------------------------


async def test_per_subscriber_order_under_interleaved_publishers(bus: EventManager) -> None:
    publishers, per_publisher = 4, 150
    everything = Recorder()
    only_two = Recorder()
    slow: list[Event] = []

    async def slow_handler(event: Event) -> None:
        await asyncio.sleep(0)
        slow.append(event)

    bus.subscribe(("p", "*"), everything)
    bus.subscribe(("p", "2"), only_two)
    bus.subscribe(("p", "?"), slow_handler)
    published: list[Event] = []

    async def publisher(index: int) -> None:
        for i in range(per_publisher):
            published.append(bus.publish(("p", str(index)), [index, i]))
            # a different yield rhythm per publisher interleaves them unevenly
            if i % (index + 1) == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(publisher(n) for n in range(publishers)))
    await bus.drain()

    assert everything.items == published
    assert slow == published
    assert only_two.items == [e for e in published if e.type == ("p", "2")]
    # the publishers really did interleave
    owners = [ints(e.payload)[0] for e in published]
    assert owners != sorted(owners)
    for index in range(publishers):
        mine = [ints(e.payload)[1] for e in everything.items if ints(e.payload)[0] == index]
        assert mine == list(range(per_publisher))


async def test_seq_strictly_increasing_and_published_counts(bus: EventManager) -> None:
    got = Recorder()
    bus.subscribe(("*",), got)
    events = [bus.publish(("s", str(i % 3)), i) for i in range(20)]
    bus.publish_threadsafe((("s", "t"), i, None) for i in range(5))
    await bus.drain()
    seqs = [e.seq for e in got.items]
    assert len(seqs) == 25
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert [e.seq for e in events] == seqs[:20]
    assert bus.published == 25


async def test_event_fields_and_to_json_round_trip(bus: EventManager) -> None:
    before = time.time()
    payload: JsonValue = {
        "cause": "CHANGE",
        "data": {"type": "COUNTER", "value": 7},
        "list": [1, None],
    }
    event = bus.publish(("snmp", "sw1", "read", "1.3.6.1"), payload, source_timestamp=12.5)
    after = time.time()
    assert event.type == ("snmp", "sw1", "read", "1.3.6.1")
    assert event.payload == payload
    assert event.source_timestamp == 12.5
    assert before <= event.timestamp <= after
    dumped = json.dumps(event.to_json())
    assert json.loads(dumped) == {
        "seq": event.seq,
        "type": ["snmp", "sw1", "read", "1.3.6.1"],
        "timestamp": event.timestamp,
        "source_timestamp": 12.5,
        "payload": payload,
    }
    bare = bus.publish(["log", "info"])  # a list type is stored as a tuple
    assert bare.type == ("log", "info")
    assert json.loads(json.dumps(bare.to_json()))["source_timestamp"] is None


async def test_published_events_are_ordinary_immutable_events(bus: EventManager) -> None:
    event = bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED"}, source_timestamp=3.0)
    assert type(event) is Event
    twin = Event(event.type, event.payload, event.timestamp, event.source_timestamp, event.seq)
    assert event == twin
    assert repr(event) == repr(twin)
    with pytest.raises(AttributeError):
        event.seq = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(event)  # the payload is a dict, so the event is not hashable...
    hashable = bus.publish(("t",), "text")
    assert hash(hashable) == hash(
        Event(hashable.type, "text", hashable.timestamp, None, hashable.seq)
    )  # ...but a str payload is
    assert pickle.loads(pickle.dumps(event)) == event
    assert event._replace(seq=99).seq == 99
    assert event._asdict()["payload"] == {"status": "CONNECTED"}


async def test_awaitables_from_plain_callables_are_awaited(bus: EventManager) -> None:
    done: list[str] = []

    class AsyncCallable:
        async def __call__(self, event: Event) -> None:
            await asyncio.sleep(0)
            done.append(f"object {event.payload}")

    async def later(event: Event) -> None:
        await asyncio.sleep(0)
        done.append(f"lambda {event.payload}")

    bus.subscribe(("a",), AsyncCallable())
    bus.subscribe(("b",), lambda event: later(event))
    bus.publish(("a",), 1)
    bus.publish(("b",), 2)
    await bus.drain()
    assert sorted(done) == ["lambda 2", "object 1"]


# -- backpressure --------------------------------------------------------------------


async def test_drop_oldest_drops_and_counts(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("t",), got, policy=Policy.DROP_OLDEST, maxsize=3)
    # publish never yields, so the delivery task cannot run in between
    for i in range(8):
        bus.publish(("t",), i)
    assert len(sub) == 3
    await bus.drain()
    assert got.payloads == [5, 6, 7]
    assert sub.stats.dropped == 5
    assert sub.stats.delivered == 3
    assert bus.dropped == 5
    assert bus.stats()[sub.name] is sub.stats


async def test_latest_per_type_keeps_newest_and_counts(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("v", "?"), got, policy="latest_per_type", maxsize=10)
    assert sub.policy is Policy.LATEST_PER_TYPE
    sequence = [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]
    published = [bus.publish(("v", name), value) for name, value in sequence]
    assert len(sub) == 3
    await bus.drain()
    newest = {e.type: e for e in published}
    assert got.items == sorted(newest.values(), key=lambda e: e.seq)
    assert [(e.type[1], e.payload) for e in got.items] == [("c", 1), ("b", 2), ("a", 3)]
    assert sub.stats.coalesced == 3
    assert sub.stats.dropped == 0
    assert sub.stats.delivered == 3


async def test_latest_per_type_is_bounded_by_maxsize_distinct_types(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("v", "?"), got, policy=Policy.LATEST_PER_TYPE, maxsize=2)
    bus.publish(("v", "a"), 1)
    bus.publish(("v", "b"), 1)
    bus.publish(("v", "a"), 2)  # coalesces a; b is now the oldest waiting type
    bus.publish(("v", "c"), 1)  # a third type: b is dropped
    assert len(sub) == 2
    await bus.drain()
    assert [(e.type[1], e.payload) for e in got.items] == [("a", 2), ("c", 1)]
    assert sub.stats.coalesced == 1
    assert sub.stats.dropped == 1


async def test_block_publish_wait_holds_the_publisher_until_the_consumer_progresses(
    bus: EventManager,
) -> None:
    maxsize, total = 2, 7
    permits = asyncio.Semaphore(0)
    received: list[int] = []
    entered = asyncio.Event()

    async def handler(event: Event) -> None:
        assert isinstance(event.payload, int)
        received.append(event.payload)
        entered.set()
        await permits.acquire()

    sub = bus.subscribe(("t",), handler, policy=Policy.BLOCK, maxsize=maxsize)
    published: list[int] = []
    advanced = asyncio.Event()

    async def producer() -> None:
        for i in range(total):
            await bus.publish_wait(("t",), i)
            published.append(i)
            advanced.set()

    task = asyncio.create_task(producer())
    async with asyncio.timeout(HANG_GUARD):
        await entered.wait()
        for step in range(total - maxsize - 1):
            # the handler holds one event and the queue is full: give the producer
            # every chance to run, it must stay parked
            for _ in range(20):
                await asyncio.sleep(0)
            assert len(sub) == maxsize
            assert len(published) == len(received) + maxsize
            assert published == list(range(len(published)))
            assert not task.done()
            # one step of consumer progress lets exactly the producer go on
            advanced.clear()
            entered.clear()
            permits.release()
            await advanced.wait()
            await entered.wait()
            assert len(received) == step + 2
        for _ in range(total):
            permits.release()
        await task
        await bus.drain()
    assert received == list(range(total))
    assert sub.stats.overflow == 0
    assert sub.stats.dropped == 0
    assert sub.stats.delivered == total


async def test_publish_wait_waits_for_every_block_subscriber(bus: EventManager) -> None:
    gates = [asyncio.Event(), asyncio.Event()]
    entered = [asyncio.Event(), asyncio.Event()]

    def gated(index: int) -> Any:
        async def handler(event: Event) -> None:
            entered[index].set()
            await gates[index].wait()

        return handler

    subs = [
        bus.subscribe(("t",), gated(i), policy=Policy.BLOCK, maxsize=1, name=f"store{i}")
        for i in range(2)
    ]
    for i in range(2):
        await bus.publish_wait(("t",), i)  # 0 goes into the handlers, 1 fills the queues
        if i == 0:
            await asyncio.gather(entered[0].wait(), entered[1].wait())
    assert [len(s) for s in subs] == [1, 1]
    parked = asyncio.create_task(bus.publish_wait(("t",), 2))
    gates[0].set()  # only the first subscriber makes progress
    await subs[0].drain()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not parked.done()
    assert len(subs[0]) == 0
    gates[1].set()
    async with asyncio.timeout(HANG_GUARD):
        await parked
        await bus.drain()
    assert [s.stats.overflow for s in subs] == [0, 0]
    assert [s.stats.delivered for s in subs] == [3, 3]


async def test_block_plain_publish_overflows_but_loses_nothing(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("t",), got, policy=Policy.BLOCK, maxsize=3)
    for i in range(10):
        bus.publish(("t",), i)
    assert len(sub) == 10
    await bus.drain()
    assert got.payloads == list(range(10))
    assert sub.stats.overflow == 7
    assert sub.stats.dropped == 0
    assert sub.stats.delivered == 10


async def test_publish_wait_does_not_wait_for_other_policies(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("t",), got, policy=Policy.DROP_OLDEST, maxsize=1)
    for i in range(3):
        await bus.publish_wait(("t",), i)  # no BLOCK subscriber: never parks
    await bus.drain()
    assert sub.stats.dropped + sub.stats.delivered == 3


# -- batching ------------------------------------------------------------------------


async def test_batching_by_size(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(("t",), got, batch_size=3)
    for i in range(7):
        bus.publish(("t",), i)
    await bus.drain()
    assert all(isinstance(batch, list) for batch in got.items)
    assert [[e.payload for e in batch] for batch in got.items] == [[0, 1, 2], [3, 4, 5], [6]]
    assert sub.stats.delivered == 7


async def test_batching_by_duration_arrives_as_one_list(bus: EventManager) -> None:
    got = Recorder()
    bus.subscribe(("t",), got, batch_size=10, batch_duration=0.05)
    start = time.monotonic()
    bus.publish(("t",), 0)
    await asyncio.sleep(0)  # the batch opens with the first event...
    await asyncio.sleep(0)
    bus.publish(("t",), 1)  # ...and stays open for later ones
    bus.publish(("t",), 2)
    await bus.drain()
    elapsed = time.monotonic() - start
    assert len(got.items) == 1
    assert [e.payload for e in got.items[0]] == [0, 1, 2]
    assert elapsed >= 0.04  # loose: the batch waited for its duration


async def test_batch_size_closes_a_batch_before_its_duration(bus: EventManager) -> None:
    got = Recorder()
    bus.subscribe(("t",), got, batch_size=2, batch_duration=3600)
    for i in range(4):
        bus.publish(("t",), i)
    async with asyncio.timeout(HANG_GUARD):
        await bus.drain()
    assert [[e.payload for e in batch] for batch in got.items] == [[0, 1], [2, 3]]


async def test_batched_latest_per_type_coalesces_within_the_batch(bus: EventManager) -> None:
    got = Recorder()
    sub = bus.subscribe(
        ("v", "?"), got, policy=Policy.LATEST_PER_TYPE, batch_size=10, batch_duration=0.05
    )
    bus.publish(("v", "a"), 1)
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # a=1 is now in the open batch, out of the queue
    bus.publish(("v", "b"), 1)
    bus.publish(("v", "a"), 2)
    await bus.drain()
    assert len(got.items) == 1
    assert [(e.type[1], e.payload) for e in got.items[0]] == [("b", 1), ("a", 2)]
    assert sub.stats.coalesced == 1


async def test_batched_async_handler(bus: EventManager) -> None:
    batches: list[list[int]] = []

    async def handler(batch: list[Event]) -> None:
        await asyncio.sleep(0)
        batches.append([e.payload for e in batch])  # type: ignore[misc]

    bus.subscribe(("t",), handler, batch_size=2)
    for i in range(5):
        bus.publish(("t",), i)
    await bus.drain()
    assert batches == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize(
    "kwargs",
    [{"maxsize": 0}, {"batch_size": 0}, {"batch_duration": -1.0}],
)
async def test_invalid_bounds_are_rejected(bus: EventManager, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        bus.subscribe(("t",), Recorder(), **kwargs)


# -- snapshot ------------------------------------------------------------------------


async def test_snapshot_returns_latest_per_type_in_seq_order(bus: EventManager) -> None:
    a1 = bus.publish(("snmp", "a", "status"), 1)
    b1 = bus.publish(("snmp", "b", "status"), 1)
    a2 = bus.publish(("snmp", "a", "status"), 2)
    c1 = bus.publish(("mqtt", "c", "value"), 1)
    b2 = bus.publish(("snmp", "b", "status"), 2)
    assert bus.snapshot() == [a2, c1, b2]
    assert bus.snapshot(("snmp", "*")) == [a2, b2]
    assert bus.snapshot(("?", "c", "?")) == [c1]
    assert bus.latest(("snmp", "a", "status")) is a2
    assert bus.latest(["snmp", "b", "status"]) is b2
    assert bus.latest(("nope",)) is None
    assert a1 not in bus.snapshot()
    assert b1 not in bus.snapshot()


async def test_snapshot_limit_forgets_the_least_recently_published_type() -> None:
    async with EventManager(snapshot_limit=3) as bus:
        a1 = bus.publish(("t", "a"), 1)
        b1 = bus.publish(("t", "b"), 1)
        c1 = bus.publish(("t", "c"), 1)
        a2 = bus.publish(("t", "a"), 2)  # a is now the most recently published
        d1 = bus.publish(("t", "d"), 1)  # so b, not a, is forgotten
        assert bus.snapshot() == [c1, a2, d1]
        assert bus.latest(("t", "b")) is None
        assert a1 not in bus.snapshot()
        assert b1.seq < c1.seq


async def test_snapshot_is_bounded_by_snapshot_limit() -> None:
    async with EventManager(snapshot_limit=3) as bus:
        events = {name: bus.publish(("t", name), name) for name in "abcd"}
        # d pushed out a, the least recently published type
        assert bus.snapshot() == [events["b"], events["c"], events["d"]]
        refreshed = bus.publish(("t", "b"), "b2")
        events["e"] = bus.publish(("t", "e"), "e")
        # re-publishing b made c the least recent, so e pushed out c
        assert bus.snapshot() == [events["d"], refreshed, events["e"]]
        assert bus.latest(("t", "a")) is None


# -- handler errors ------------------------------------------------------------------


async def _failing_async(event: Event) -> None:
    await asyncio.sleep(0)
    if event.payload == "bad":
        raise RuntimeError("async boom")


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_handler_errors_are_isolated_and_reported(
    bus: EventManager, asynchronous: bool
) -> None:
    good: list[Any] = []

    def failing_sync(event: Event) -> None:
        if event.payload == "bad":
            raise RuntimeError("sync boom")
        good.append(event.payload)

    async def failing_async(event: Event) -> None:
        await _failing_async(event)
        good.append(event.payload)

    errors = Recorder()
    bystander = Recorder()
    bus.subscribe(("log", "error"), errors)
    bus.subscribe(("t",), bystander)
    handler = failing_async if asynchronous else failing_sync
    sub = bus.subscribe(("t",), handler, name="flaky")
    for payload in ["ok1", "bad", "ok2", "bad", "ok3"]:
        bus.publish(("t",), payload)
    await bus.drain()

    assert good == ["ok1", "ok2", "ok3"]
    assert bystander.payloads == ["ok1", "bad", "ok2", "bad", "ok3"]
    assert not sub.closed
    assert sub.stats.errors == 2
    assert sub.stats.delivered == 5
    assert len(errors.items) == 2
    for event in errors.items:
        assert event.type == ("log", "error")
        assert event.payload["subscription"] == "flaky"
        assert event.payload["event_type"] == ["t"]
        assert event.payload["source"] == "events"
        assert "boom" in event.payload["message"]
    # still delivering after the failures
    bus.publish(("t",), "ok4")
    await bus.drain()
    assert good[-1] == "ok4"


async def test_failing_error_handler_does_not_loop(bus: EventManager) -> None:
    calls: list[tuple[str, ...]] = []

    def always_fails(event: Event) -> None:
        calls.append(event.type)
        raise ValueError("cannot handle")

    watcher = Recorder()
    bus.subscribe(("log", "*"), watcher)
    sub = bus.subscribe(("*",), always_fails, name="everything")
    bus.publish(("t",), 1)
    async with asyncio.timeout(HANG_GUARD):
        await bus.drain()
    # the failure on ("t",) is reported once; the failure on that report is not
    assert calls == [("t",), ("log", "error")]
    assert [e.type for e in watcher.items] == [("log", "error")]
    assert sub.stats.errors == 2
    assert bus.published == 2

    bus.publish(("log", "error"), {"message": "x", "source": "test"})
    await bus.drain()
    assert sub.stats.errors == 3
    assert bus.published == 3


async def test_batched_failing_handler_keeps_delivering(bus: EventManager) -> None:
    seen: list[list[Any]] = []

    def handler(batch: list[Event]) -> None:
        seen.append([e.payload for e in batch])
        if len(seen) == 1:
            raise RuntimeError("first batch fails")

    sub = bus.subscribe(("t",), handler, batch_size=2, name="batcher")
    for i in range(4):
        bus.publish(("t",), i)
    await bus.drain()
    assert seen[:2] == [[0, 1], [2, 3]]
    assert sub.stats.errors == 1
    assert sub.stats.delivered == 4
    assert bus.latest(("log", "error")) is not None


# -- threads -------------------------------------------------------------------------


async def test_publish_threadsafe_from_many_threads(bus: EventManager) -> None:
    threads, per_thread, chunk = 6, 400, 7
    received: list[Event] = []
    done = asyncio.Event()

    def handler(event: Event) -> None:
        received.append(event)
        if len(received) == threads * per_thread:
            done.set()

    bus.subscribe(("th", "?"), handler)
    start = threading.Barrier(threads)

    def worker(index: int) -> None:
        start.wait()
        items = [(("th", str(index)), i, None) for i in range(per_thread)]
        for lo in range(0, per_thread, chunk):
            bus.publish_threadsafe(items[lo : lo + chunk])

    runners = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for runner in runners:
        runner.start()
    try:
        async with asyncio.timeout(HANG_GUARD):
            await done.wait()
    finally:
        for runner in runners:
            runner.join()
    await bus.drain()
    assert len(received) == threads * per_thread
    for index in range(threads):
        mine = [e.payload for e in received if e.type == ("th", str(index))]
        assert mine == list(range(per_thread))
    seqs = [e.seq for e in received]
    assert seqs == sorted(set(seqs))


async def test_publish_threadsafe_on_the_loop_thread_publishes_at_once(
    bus: EventManager,
) -> None:
    bus.publish_threadsafe([(("t", "x"), 1, 5.0), (["t", "y"], 2, None)])
    latest = bus.latest(("t", "y"))
    assert latest is not None
    assert latest.payload == 2
    x = bus.latest(("t", "x"))
    assert x is not None
    assert x.source_timestamp == 5.0
    bus.publish_threadsafe([])
    assert bus.published == 2


# -- decorator and attach ------------------------------------------------------------


class _Screen:
    """A UI-like object whose handlers are declared with ``@on_event``."""

    def __init__(self) -> None:
        self.statuses: list[Event] = []
        self.batches: list[list[Event]] = []
        self.logs: list[Event] = []

    @on_event("snmp", "?", "status", policy=Policy.LATEST_PER_TYPE, maxsize=5)
    def on_status(self, event: Event) -> None:
        self.statuses.append(event)

    @on_event("snmp", "?", "read", "*", batch_size=4)
    async def on_reads(self, batch: list[Event]) -> None:
        await asyncio.sleep(0)
        self.batches.append(batch)

    @on_event("log", "warning")
    @on_event("log", "error")
    def on_log(self, event: Event) -> None:
        self.logs.append(event)

    def not_a_handler(self, event: Event) -> None:
        raise AssertionError("never subscribed")


async def test_on_event_and_attach(bus: EventManager) -> None:
    screen = _Screen()
    subs = bus.attach(screen)
    by_name: dict[str, list[Subscription]] = {}
    for sub in subs:
        by_name.setdefault(sub.name, []).append(sub)
    assert [s.name for s in subs] == sorted(s.name for s in subs)
    assert set(by_name) == {"_Screen.on_log", "_Screen.on_reads", "_Screen.on_status"}
    assert {s.pattern for s in by_name["_Screen.on_log"]} == {
        ("log", "warning"),
        ("log", "error"),
    }
    (status_sub,) = by_name["_Screen.on_status"]
    assert status_sub.policy is Policy.LATEST_PER_TYPE
    assert status_sub.maxsize == 5
    (reads_sub,) = by_name["_Screen.on_reads"]
    assert reads_sub.batch_size == 4
    assert set(bus.subscriptions) == set(subs)

    bus.publish(("snmp", "sw1", "status"), "CONNECTING")
    bus.publish(("snmp", "sw1", "status"), "CONNECTED")
    for i in range(5):
        bus.publish(("snmp", "sw1", "read", f"1.3.{i}"), i)
    bus.publish(("log", "warning"), {"message": "w", "source": "t"})
    bus.publish(("log", "error"), {"message": "e", "source": "t"})
    bus.publish(("log", "info"), {"message": "i", "source": "t"})
    await bus.drain()

    assert [e.payload for e in screen.statuses] == ["CONNECTED"]
    assert status_sub.stats.coalesced == 1
    assert [[e.payload for e in b] for b in screen.batches] == [[0, 1, 2, 3], [4]]
    # two subscriptions, two tasks: no order between them
    assert sorted(e.type[1] for e in screen.logs) == ["error", "warning"]


# -- unsubscribe, drain, close -------------------------------------------------------


async def test_unsubscribe_stops_delivery_and_discards_pending(bus: EventManager) -> None:
    got, other = Recorder(), Recorder()
    sub = bus.subscribe(("t",), got)
    bus.subscribe(("t",), other)
    bus.publish(("t",), 1)
    await bus.drain()
    bus.publish(("t",), 2)  # queued, not yet handled
    sub.unsubscribe()
    sub.unsubscribe()  # idempotent
    bus.publish(("t",), 3)
    async with asyncio.timeout(HANG_GUARD):
        await sub.wait_closed()
        await bus.drain()
    assert sub.closed
    assert got.payloads == [1]
    assert other.payloads == [1, 2, 3]
    assert sub not in bus.subscriptions
    assert sub.name not in bus.stats()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_unsubscribe_from_inside_the_handler(bus: EventManager, asynchronous: bool) -> None:
    got: list[Any] = []
    holder: list[Subscription] = []

    def sync_handler(event: Event) -> None:
        got.append(event.payload)
        if event.payload == 2:
            holder[0].unsubscribe()

    async def async_handler(event: Event) -> None:
        await asyncio.sleep(0)
        sync_handler(event)
        await asyncio.sleep(0)  # the handler still finishes after unsubscribing

    holder.append(bus.subscribe(("t",), async_handler if asynchronous else sync_handler))
    for i in range(1, 6):
        bus.publish(("t",), i)
    async with asyncio.timeout(HANG_GUARD):
        await holder[0].wait_closed()
        await bus.drain()
    bus.publish(("t",), 6)
    await bus.drain()
    assert got == [1, 2]
    assert holder[0].closed
    assert bus.subscriptions == ()


async def test_drain_includes_events_published_by_handlers(bus: EventManager) -> None:
    chain: list[int] = []

    async def relay(event: Event) -> None:
        assert isinstance(event.payload, int)
        chain.append(event.payload)
        await asyncio.sleep(0)
        if event.payload < 5:
            bus.publish(("relay",), event.payload + 1)

    bus.subscribe(("relay",), relay)
    bus.publish(("relay",), 0)
    await bus.drain()
    assert chain == [0, 1, 2, 3, 4, 5]


async def test_drain_with_nothing_to_do_returns(bus: EventManager) -> None:
    bus.subscribe(("t",), Recorder())
    async with asyncio.timeout(HANG_GUARD):
        await bus.drain()
        await bus.drain()


async def test_aclose_cancels_handlers_and_rejects_later_use() -> None:
    bus = EventManager()
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck(event: Event) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()  # never set
        except asyncio.CancelledError:
            cancelled.set()
            raise

    idle = Recorder()
    stuck_sub = bus.subscribe(("t",), stuck)
    idle_sub = bus.subscribe(("other",), idle)
    bus.publish(("t",), 1)
    await entered.wait()
    async with asyncio.timeout(HANG_GUARD):
        await bus.aclose()
    assert bus.closed
    assert cancelled.is_set()
    assert stuck_sub.closed
    assert idle_sub.closed
    assert bus.subscriptions == ()
    await stuck_sub.wait_closed()
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish(("t",), 2)
    with pytest.raises(RuntimeError, match="closed"):
        await bus.publish_wait(("t",), 2)
    with pytest.raises(RuntimeError, match="closed"):
        bus.subscribe(("t",), Recorder())
    bus.publish_threadsafe([(("t",), 3, None)])  # the threaded path drops silently
    await bus.aclose()  # idempotent
    assert idle.items == []


async def test_aclose_releases_a_parked_publish_wait() -> None:
    bus = EventManager()
    gate = asyncio.Event()

    async def handler(event: Event) -> None:
        await gate.wait()

    bus.subscribe(("t",), handler, policy=Policy.BLOCK, maxsize=1)
    bus.publish(("t",), 0)
    bus.publish(("t",), 1)  # overflow: the queue is past maxsize
    parked = asyncio.create_task(bus.publish_wait(("t",), 2))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not parked.done()
    async with asyncio.timeout(HANG_GUARD):
        await bus.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await parked


async def test_async_context_manager_closes() -> None:
    async with EventManager() as bus:
        sub = bus.subscribe(("t",), Recorder())
    assert bus.closed
    assert sub.closed


@pytest.mark.parametrize("policy", [Policy.DROP_OLDEST, Policy.LATEST_PER_TYPE])
async def test_a_sync_handler_with_a_backlog_does_not_starve_the_loop(
    bus: EventManager, policy: Policy
) -> None:
    """While a sync handler works through thousands of queued events, other tasks (the
    UI) still run: the delivery task yields to the loop between deliveries (after each
    time slice of the bus's pace, console.pace, ~20 ms of work here)."""
    handled: list[int] = []
    progress_seen_at: list[int] = []

    def handler(event: Event) -> None:
        spin_until = time.perf_counter() + 4e-6  # a handler that costs something
        while time.perf_counter() < spin_until:
            pass
        handled.append(event.seq)

    bus.subscribe(("load", "*"), handler, policy=policy, maxsize=10_000)

    async def other_task() -> None:
        while len(progress_seen_at) < 3:
            progress_seen_at.append(len(handled))
            await asyncio.sleep(0)

    for i in range(5_000):
        bus.publish(("load", str(i)), i)
    watcher = asyncio.create_task(other_task())
    await bus.drain()
    await watcher
    assert len(handled) == 5_000
    # the watcher ran while the backlog was being handled, not only after it
    assert any(0 < seen < 5_000 for seen in progress_seen_at), progress_seen_at


async def test_more_patterns_deliver_each_matching_event_once_in_one_batch(
    bus: EventManager,
) -> None:
    batches: list[list[Event]] = []
    bus.subscribe(
        ("snmp", "?", "trap", "*"),
        batches.append,
        more_patterns=[("mqtt", "?", "message", "site", "*"), ("snmp", "*")],
        batch_size=10,
        batch_duration=0.05,
    )
    bus.publish(("snmp", "sw1", "trap", "1.3.6.1.6.3.1.1.5.3"), {})
    bus.publish(("mqtt", "s7", "message", "site", "temp"), {})
    bus.publish(("mqtt", "s7", "message", "other", "temp"), {})
    await bus.drain()
    assert [[e.type[0] for e in batch] for batch in batches] == [["snmp", "mqtt"]]


async def test_transient_types_are_delivered_but_not_kept_in_the_snapshot() -> None:
    bus = EventManager(transient=[("mqtt", "?", "message", "*")])
    seen: list[Event] = []
    bus.subscribe(("mqtt", "*"), seen.append)
    bus.publish(("mqtt", "s7", "message", "site", "temp"), {"n": 1})
    bus.publish(("mqtt", "s7", "message", "site", "temp"), {"n": 2})
    bus.publish(("mqtt", "s7", "status"), {"status": "ONLINE"})
    await bus.drain()
    assert [e.payload for e in seen] == [{"n": 1}, {"n": 2}, {"status": "ONLINE"}]
    assert bus.latest(("mqtt", "s7", "message", "site", "temp")) is None
    assert [e.type for e in bus.snapshot(("mqtt", "*"))] == [("mqtt", "s7", "status")]
    await bus.aclose()
    with pytest.raises(ValueError, match="last segment"):
        EventManager(transient=[("mqtt", "*", "message")])


def test_topic_and_event_patterns_live_beside_matches() -> None:
    from console import config, events

    assert config.topic_pattern is events.topic_pattern
    assert config.event_pattern is events.event_pattern
    pattern = events.topic_pattern("site/+/temp/#")
    assert pattern == ("mqtt", "?", "message", "site", "?", "temp", "*")
    assert events.matches(pattern, ("mqtt", "main", "message", "site", "a", "temp"))
    assert not events.matches(pattern, ("mqtt", "main", "message", "site", "a", "hum"))
    assert events.event_pattern("snmp/?/trap/*") == ("snmp", "?", "trap", "*")
    with pytest.raises(ValueError, match="may only be the last segment"):
        events.event_pattern("snmp/*/trap")


async def test_a_batched_backlog_is_delivered_one_batch_per_loop_step(bus: EventManager) -> None:
    """Thirty events waiting for a subscription of batches of ten: three deliveries,
    and the loop runs other tasks between them (a flood's consumer takes turns with
    the UI instead of draining its queue in one step)."""
    steps = 0
    seen: list[tuple[int, int]] = []  # (events in the batch, loop steps so far)

    async def ticker() -> None:
        nonlocal steps
        while True:
            steps += 1
            await asyncio.sleep(0)

    def handler(batch: list[Event]) -> None:
        seen.append((len(batch), steps))

    bus.subscribe(("t", "*"), handler, policy=Policy.BLOCK, batch_size=10)
    for n in range(30):
        bus.publish(("t", str(n)), n)
    task = asyncio.create_task(ticker())
    try:
        await bus.drain()
    finally:
        task.cancel()
    assert [size for size, _ in seen] == [10, 10, 10]
    marks = [mark for _, mark in seen]
    assert marks[0] < marks[1] < marks[2]
