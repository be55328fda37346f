"""The notification center: the bounded ring, listeners and batches, persistence,
replay after a restart, retention, paging back from SQLite, and carrying on without a
store or after the store's writer failed (issue 6 §1, §4, §5).

Real bus, real SQLite files; waits are bounded by :func:`tests.waiting.eventually`
only to catch a hung test, nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from console.events import EventManager, JsonValue
from console.notifications.center import NotificationCenter
from console.notifications.filters import EVERYTHING, FilterError, NotificationFilter
from console.notifications.model import Category, Notification, Severity
from console.notifications.payloads import DEFAULT_PAYLOAD_BYTES
from console.notifications.storage import NotificationLog
from console.store import PropertyStore
from tests.payload_helpers import TEN_MB, held, message_payload, payload_bytes
from tests.waiting import eventually


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PropertyStore]:
    async with await PropertyStore.open(tmp_path / "s.db", batch_window=0.01) as opened:
        yield opened


def warn(bus: EventManager, i: int, source: str = "test") -> None:
    """A ``("log", "warning")`` event: a LOG notification with message ``m{i}``."""
    bus.publish(("log", "warning"), {"message": f"m{i}", "source": source})


def messages(entries: Iterable[Notification]) -> list[JsonValue]:
    """The ``message`` of each notification's payload."""
    found: list[JsonValue] = []
    for n in entries:
        assert isinstance(n.payload, dict)
        found.append(n.payload["message"])
    return found


def logged(i: int, at: float) -> Notification:
    """A LOG notification as the center makes them, with message ``m{i}``."""
    return Notification(
        i, at, Category.LOG, Severity.WARNING, "fleettop", ("log", "warning"), {"message": f"m{i}"}
    )


async def started(bus: EventManager, **kw: object) -> NotificationCenter:
    center = NotificationCenter(bus, batch_duration=0.01, **kw)  # type: ignore[arg-type]
    await center.start()
    return center


async def test_the_ring_is_bounded_and_drops_the_oldest(bus: EventManager) -> None:
    center = await started(bus, ring_size=10)
    try:
        for i in range(25):
            warn(bus, i)
        bus.publish(("snmp", "sw1", "poll"), {"rtt_ms": 1.0})  # statistics: not shown
        await eventually(lambda: center.received == 25)
        await bus.drain()
        assert center.received == 25
        assert len(center.entries) == 10
        assert messages(center.entries) == [f"m{i}" for i in range(15, 25)]
        ids = [n.id for n in center.entries]
        assert ids == sorted(ids)
        assert all(n.category is Category.LOG and not n.history for n in center.entries)
        assert not center.persistent
    finally:
        await center.aclose()


async def test_listeners_get_batches_of_new_notifications(bus: EventManager) -> None:
    center = await started(bus)
    batches: list[list[Notification]] = []
    unlisten = center.listen(batches.append)

    def broken(batch: list[Notification]) -> None:
        raise RuntimeError("a broken listener")

    center.listen(broken)
    try:
        for i in range(50):  # in one loop tick: one batch, or very few
            warn(bus, i)
        await eventually(lambda: sum(map(len, batches)) == 50)
        assert len(batches) < 50
        assert max(map(len, batches)) > 1
        assert messages([n for b in batches for n in b]) == [f"m{i}" for i in range(50)]
        unlisten()
        unlisten()  # idempotent
        warn(bus, 99)
        await eventually(lambda: center.received == 51)
        assert sum(map(len, batches)) == 50
    finally:
        await center.aclose()


async def test_publish_wait_producers_are_held_to_the_centers_pace(bus: EventManager) -> None:
    center = await started(bus, ring_size=100, batch_size=50, maxsize=100)
    try:
        for i in range(3000):
            await bus.publish_wait(("log", "warning"), {"message": f"m{i}", "source": "t"})
        await eventually(lambda: center.received == 3000)
        assert center.subscription is not None
        assert center.subscription.stats.overflow == 0  # the queue never passed maxsize
        assert center.subscription.stats.dropped == 0
        assert len(center.entries) == 100
    finally:
        await center.aclose()


async def test_notifications_are_stored_and_replayed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with EventManager() as bus, await PropertyStore.open(path) as opened:
        center = await started(bus, log=NotificationLog(opened))
        assert center.persistent
        for i in range(30):
            warn(bus, i)
        await center.aclose()  # hands everything published to the store
        assert await NotificationLog(opened).count() == 30

    async with EventManager() as bus, await PropertyStore.open(path) as reopened:
        center = await started(bus, log=NotificationLog(reopened), replay=20, ring_size=50)
        try:
            history = list(center.entries)
            assert len(history) == 20
            assert center.replayed == 20
            assert center.received == 0
            assert messages(history) == [f"m{i}" for i in range(10, 30)]
            assert all(n.history for n in history)
            assert [n.id for n in history] == [-i for i in range(11, 31)]
            assert history[0].summary == "m10"
            warn(bus, 30)
            await eventually(lambda: center.received == 1)
            assert len(center.entries) == 21
            assert not center.entries[-1].history
            assert center.entries[-1].id > 0
        finally:
            await center.aclose()


async def test_replay_is_bounded_by_the_ring(store: PropertyStore, bus: EventManager) -> None:
    log = NotificationLog(store)
    now = time.time()
    await log.record([logged(i, now) for i in range(40)])
    center = await started(bus, log=log, replay=500, ring_size=15)
    try:
        assert messages(center.entries) == [f"m{i}" for i in range(25, 40)]
    finally:
        await center.aclose()


async def test_retention_prunes_by_age_and_count_at_start_and_periodically(
    store: PropertyStore, bus: EventManager
) -> None:
    log = NotificationLog(store)
    now = time.time()

    older = [logged(i, now - 7200) for i in range(5)]
    await log.record(older + [logged(i, now - 10) for i in range(5, 25)])
    center = await started(bus, log=log, retention=(3600.0, 12), prune_interval=0.05)
    try:
        assert center.pruned == 13  # 5 by age, then all but the newest 12
        assert await log.count() == 12
        assert messages(center.entries) == [f"m{i}" for i in range(13, 25)]
        for i in range(25, 40):
            warn(bus, i)
        await eventually(lambda: center.received == 15)
        await eventually(lambda: center.pruned == 28)  # the periodic prune
        await store.flush()
        assert await log.count() == 12
    finally:
        await center.aclose()


async def test_older_pages_back_from_sqlite_beyond_the_ring(
    store: PropertyStore, bus: EventManager
) -> None:
    center = await started(bus, log=NotificationLog(store), ring_size=10)
    try:
        for i in range(40):
            warn(bus, i, source="odd" if i % 2 else "even")
        await eventually(lambda: center.received == 40)
        await bus.drain()
        oldest = center.entries[0]
        assert messages([oldest]) == ["m30"]
        await eventually(lambda: oldest.id in center._rows)  # recorded
        page = await center.older(EVERYTHING, oldest.time, oldest.id, limit=15)
        assert messages(page) == [f"m{i}" for i in range(15, 30)]
        assert all(n.history and n.id < 0 for n in page)
        further = await center.older(EVERYTHING, page[0].time, page[0].id, limit=100)
        assert messages(further) == [f"m{i}" for i in range(15)]
        assert await center.older(EVERYTHING, further[0].time, further[0].id) == []

        odd = NotificationFilter(text="/m[0-9]*[13579]$/")
        found = await center.older(odd, oldest.time, oldest.id, limit=4)
        assert messages(found) == ["m23", "m25", "m27", "m29"]
        nothing = NotificationFilter(categories=frozenset({Category.TRAP}))
        assert await center.older(nothing, oldest.time, oldest.id) == []
        assert messages(
            await center.older(NotificationFilter(device="fleet*"), oldest.time, oldest.id, 2)
        ) == ["m28", "m29"]
        with pytest.raises(FilterError, match="bad regular expression"):
            await center.older(NotificationFilter(text="/(/"), oldest.time, oldest.id)
    finally:
        await center.aclose()


async def test_without_a_store_the_center_runs_in_memory(bus: EventManager) -> None:
    center = await started(bus, log=None, retention=(1.0, 1))
    try:
        warn(bus, 1)
        await eventually(lambda: center.received == 1)
        entry = center.entries[0]
        assert await center.older(EVERYTHING, entry.time, entry.id) == []
        assert center.store_error is None
    finally:
        await center.aclose()


async def test_a_failed_store_writer_is_reported_once_and_the_center_carries_on(
    store: PropertyStore, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    center = await started(bus, log=NotificationLog(store))
    try:
        warn(bus, 0)
        await eventually(lambda: center.received == 1)
        await store.flush()
        with sqlite3.connect(store.path) as conn:  # the next commit fails
            conn.execute("DROP TABLE notifications")
        caplog.set_level(logging.WARNING, logger="console.notifications.center")
        sent = 1
        async with asyncio.timeout(15):  # until the failed commit has been noticed
            while center.persistent:
                warn(bus, sent)
                sent += 1
                await asyncio.sleep(0.01)
        for i in range(sent, sent + 20):  # still shown, in memory
            warn(bus, i)
        sent += 20
        await eventually(lambda: center.received == sent)
        assert messages(center.entries)[-1] == f"m{sent - 1}"
        assert store.error is not None
        assert center.store_error is not None
        lost = [r for r in caplog.records if "no longer kept in the store" in r.getMessage()]
        assert len(lost) == 1
        entry = center.entries[-1]
        assert await center.older(EVERYTHING, entry.time, entry.id) == []
    finally:
        await center.aclose()

    # a center started on a store whose writer already failed: memory only
    again = await started(bus, log=NotificationLog(store))
    try:
        assert not again.persistent
        assert again.store_error is store.error
        warn(bus, 100)
        await eventually(lambda: again.received == 1)
    finally:
        await again.aclose()


async def test_close_is_idempotent_and_stops_delivery(bus: EventManager) -> None:
    center = await started(bus)
    await asyncio.gather(center.aclose(), center.aclose())
    assert center.subscription is not None
    assert center.subscription.closed
    warn(bus, 1)
    await bus.drain()
    assert center.received == 0
    with pytest.raises(RuntimeError):
        await center.start()


def test_bad_bounds_are_refused() -> None:
    bus = EventManager.__new__(EventManager)
    with pytest.raises(ValueError, match="ring_size"):
        NotificationCenter(bus, ring_size=0)
    with pytest.raises(ValueError, match="replay"):
        NotificationCenter(bus, replay=-1)
    with pytest.raises(ValueError, match="retention"):
        NotificationCenter(bus, retention=(-1.0, None))
    with pytest.raises(ValueError, match="retention"):
        NotificationCenter(bus, retention=(None, -5))


# -- payloads bounded by bytes (issue 11 §1) -------------------------------------------


def publish_large(bus: EventManager, count: int, data: bytes) -> None:
    """``count`` MQTT messages carrying ``data`` (one payload object, published
    ``count`` times: the ring's accounting is what is measured, not the test's RSS)."""
    payload = message_payload("big/blob", data)
    for _ in range(count):
        bus.publish(("mqtt", "@plant", "message", "big", "blob"), payload)


async def test_a_ring_of_thirty_10_mb_payloads_stays_within_its_byte_budget(
    bus: EventManager,
) -> None:
    data = payload_bytes(TEN_MB)
    center = await started(bus, ring_bytes=1024 * 1024, payload_bytes=64 * 1024)
    seen: list[Notification] = []
    center.listen(seen.extend)
    try:
        publish_large(bus, 30, data)
        await eventually(lambda: center.received == 30)
        assert held(center.entries) <= 1024 * 1024
        assert 1 <= len(center.entries) < 30  # the oldest fell off by bytes, not count
        newest = center.entries[-1]
        # the detail can still tell the full size: "65535 of 10485760 bytes"
        assert newest.truncated == (65535, TEN_MB)
        assert isinstance(newest.payload, dict)
        assert base64.b64decode(newest.payload["payload"]) == data[:65535]  # type: ignore[arg-type]
        assert newest.payload["size"] == TEN_MB
        assert newest.summary.startswith(f"big/blob q0 {TEN_MB} B: ")
        # listeners get the entries as the ring keeps them
        assert len(seen) == 30
        assert held(seen) <= 30 * 65536 * 4 // 3
        assert all(n.truncated == (65535, TEN_MB) for n in seen)
    finally:
        await center.aclose()


async def test_by_default_large_payloads_are_kept_truncated(bus: EventManager) -> None:
    center = await started(bus)
    try:
        publish_large(bus, 30, payload_bytes(TEN_MB))
        publish_large(bus, 1, b"small")
        await eventually(lambda: center.received == 31)
        assert len(center.entries) == 31
        assert held(center.entries) <= 30 * DEFAULT_PAYLOAD_BYTES * 4 // 3 + 8
        assert center.entries[-1].truncated is None
        assert center.entries[-1].payload["payload"] == "c21hbGw="  # type: ignore[index,call-overload]
    finally:
        await center.aclose()


async def test_stored_rows_keep_more_of_a_payload_than_memory(
    bus: EventManager, store: PropertyStore
) -> None:
    data = payload_bytes(TEN_MB)
    log = NotificationLog(store, max_payload_bytes=300_000)
    center = await started(bus, log=log, payload_bytes=30_000)
    try:
        publish_large(bus, 2, data)
        await eventually(lambda: center.received == 2)
        await bus.drain()
        assert [n.truncated for n in center.entries] == [(30_000, TEN_MB)] * 2
        back = await log.recent(2)
        assert [n.truncated for n in back] == [(300_000, TEN_MB)] * 2
        # paging back gives entries within the memory limit again
        older = await center.older(EVERYTHING, time.time() + 10, 10**9)
        assert [n.truncated for n in older] == [(30_000, TEN_MB)] * 2
    finally:
        await center.aclose()
