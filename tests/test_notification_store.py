"""Notifications and alarms in the store (schema version 4): recording, reading back
as history, paging, retention by age and count, ids that never repeat, payloads that
are not strict JSON, and the migration from version 3 (issue 6 §4).

Every test uses real SQLite files.
"""

from __future__ import annotations

import base64
import math
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest

from console.events import EventType, JsonValue
from console.notifications.alarms.record import Alarm
from console.notifications.model import Category, Notification, Severity
from console.notifications.storage import AlarmLog, NotificationLog, glob_to_sql, json_safe
from console.store import PropertyStore, schema
from tests.payload_helpers import TEN_MB, message_payload, payload_bytes

NOW = time.time()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PropertyStore]:
    async with await PropertyStore.open(tmp_path / "s.db") as opened:
        yield opened


def rows(db: Path, sql: str) -> list[Any]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def note(
    seq: int,
    *,
    device: str = "sw1",
    category: Category = Category.MESSAGE,
    event_type: EventType | None = None,
    payload: JsonValue = None,
    at: float | None = None,
    severity: Severity = Severity.INFO,
) -> Notification:
    return Notification(
        seq,
        NOW if at is None else at,
        category,
        severity,
        device,
        event_type or ("mqtt", device, "message", "t", str(seq)),
        {"n": seq} if payload is None else payload,
        summary=f"summary {seq}",
    )


async def test_a_new_store_has_the_version_5_tables(store: PropertyStore) -> None:
    assert schema.CURRENT_VERSION == 5
    db = store.path
    assert rows(db, "PRAGMA user_version") == [(5,)]
    tables = dict(rows(db, "SELECT name, sql FROM sqlite_schema WHERE type = 'table'"))
    assert tables["notifications"].rstrip().endswith("STRICT")
    assert tables["alarms"].rstrip().endswith("STRICT")
    assert {"monitor_outbox", "monitor_state"} <= tables.keys()  # version 5: delivery
    indexes = {name for (name,) in rows(db, "SELECT name FROM sqlite_schema WHERE type='index'")}
    assert {"notifications_by_time", "alarms_open", "alarms_by_update"} <= indexes


async def test_a_version_3_file_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await schema.migrate(conn, target=3)
        await conn.execute(
            "INSERT INTO audit (time_ms, actor, action, device, target, result)"
            " VALUES (1, 'operator', 'snmp.set', 'sw1', '1.3', 'ok')"
        )
    assert rows(db, "PRAGMA user_version") == [(3,)]
    async with await PropertyStore.open(db) as opened:
        log = NotificationLog(opened)
        await log.record([note(1)])
        assert await log.count() == 1
    assert rows(db, "PRAGMA user_version") == [(schema.CURRENT_VERSION,)]
    assert rows(db, "SELECT device, action FROM audit") == [("sw1", "snmp.set")]


async def test_recorded_notifications_come_back_as_history_with_negative_ids(
    store: PropertyStore,
) -> None:
    log = NotificationLog(store)
    property_type = ("mqtt", "ap1", "property", "org.x.Settings", "/s1/enable")
    written = [
        note(10, payload={"topic": "a/b", "size": 3, "nested": [1, 1.5, None, True, "é😀"]}),
        note(11, category=Category.PROPERTY, event_type=property_type, device="ap1",
             severity=Severity.WARNING, payload="plain"),
        note(12, category=Category.STATUS, severity=Severity.ERROR, at=NOW + 0.123),
    ]  # fmt: skip
    ids = await log.record(written)
    assert list(ids) == [1, 2, 3]
    back = await log.recent(10)
    assert [n.id for n in back] == [-1, -2, -3]
    assert all(n.history for n in back)
    for original, found in zip(written, back, strict=True):
        assert found.category is original.category
        assert found.severity is original.severity
        assert found.device == original.device
        assert found.event_type == original.event_type  # a '/' inside a segment survives
        assert found.payload == original.payload
        assert found.summary == original.summary
        assert found.time == pytest.approx(original.time, abs=0.001)
    assert back[1].event_type == property_type
    stored = rows(store.path, "SELECT category, severity, device, summary FROM notifications")
    assert stored[1] == ("property", 1, "ap1", "summary 11")


async def test_recent_gives_the_newest_oldest_first_and_pages_back(store: PropertyStore) -> None:
    log = NotificationLog(store)
    ids = await log.record([note(i, at=NOW + i) for i in range(1, 31)])
    assert list(ids) == list(range(1, 31))
    last = await log.recent(5)
    assert [n.id for n in last] == [-26, -27, -28, -29, -30]
    page = await log.recent(5, before=(0, 26))
    assert [n.id for n in page] == [-21, -22, -23, -24, -25]
    # a row not known: by time (strictly earlier milliseconds)
    by_time = await log.recent(3, before=(round((NOW + 10) * 1000), 0))
    assert [n.id for n in by_time] == [-7, -8, -9]
    assert await log.recent(5, before=(0, 1)) == []
    assert await log.recent(0) == []
    with pytest.raises(ValueError, match="limit"):
        await log.recent(-1)


async def test_recent_filters_by_category_and_device_glob(store: PropertyStore) -> None:
    log = NotificationLog(store)
    await log.record(
        [
            note(1, device="sw1", category=Category.TRAP),
            note(2, device="sw2", category=Category.STATUS),
            note(3, device="ap1", category=Category.TRAP),
            note(4, device="SW3", category=Category.TRAP),
            note(5, device="sw[x]", category=Category.LOG),
        ]
    )

    async def devices(**kw: Any) -> list[str]:
        return [n.device for n in await log.recent(100, **kw)]

    assert await devices(categories=[Category.TRAP]) == ["sw1", "ap1", "SW3"]
    assert await devices(device_glob="sw*") == ["sw1", "sw2", "sw[x]"]  # case-sensitive
    assert await devices(device_glob="sw[!1]") == ["sw2"]
    assert await devices(device_glob="sw[[]x]") == ["sw[x]"]
    assert await devices(categories=[Category.TRAP], device_glob="sw?") == ["sw1"]
    assert await devices(categories=[]) == []
    assert glob_to_sql("a[!b]*") == "a[^b]*"


async def test_ids_continue_after_a_restart_and_never_repeat_after_a_prune(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    async with await PropertyStore.open(path) as first:
        assert list(await NotificationLog(first).record([note(1), note(2)])) == [1, 2]
    async with await PropertyStore.open(path) as second:
        log = NotificationLog(second)
        assert list(await log.record([note(3)])) == [3]
        assert await log.prune(max_age=None, max_count=0) == 3
        assert await log.count() == 0
    async with await PropertyStore.open(path) as third:
        log = NotificationLog(third)
        assert list(await log.record([note(4)])) == [4]
        assert [n.id for n in await log.recent(10)] == [-4]


async def test_prune_by_age_and_count(store: PropertyStore) -> None:
    log = NotificationLog(store)
    old = [note(i, at=NOW - 3600 - i) for i in range(5)]  # an hour ago and more
    new = [note(10 + i, at=NOW - i) for i in range(8)]
    await log.record(old + new)
    assert await log.count() == 13
    assert await log.prune(max_age=None, max_count=None) == 0
    assert await log.prune(max_age=600, max_count=None) == 5  # older than 10 minutes
    assert await log.count() == 8
    assert await log.prune(max_age=600, max_count=3) == 5  # the newest 3 rows stay
    assert [n.payload for n in await log.recent(10)] == [{"n": 15}, {"n": 16}, {"n": 17}]
    assert await log.prune(max_age=600, max_count=3) == 0
    with pytest.raises(ValueError, match="max_age"):
        await log.prune(max_age=-1, max_count=None)
    with pytest.raises(ValueError, match="max_count"):
        await log.prune(max_age=None, max_count=-1)


async def test_payloads_that_are_not_strict_json_are_stored_without_breaking_the_writer(
    store: PropertyStore,
) -> None:
    log = NotificationLog(store)
    weird: Any = {
        "nan": math.nan,
        "inf": -math.inf,
        "tuple": (1, 2),
        "bytes": b"\x00\xff",
        "surrogate": "a\udcff",
        1: "int key",
    }
    await log.record([note(1, payload=weird, device="dev\udcff")])
    await log.record([note(2)])
    assert store.error is None
    first, second = await log.recent(10)
    assert first.payload == {
        "nan": "nan",
        "inf": "-inf",
        "tuple": [1, 2],
        "bytes": "00ff",
        "surrogate": "a?",
        "1": "int key",
    }
    assert first.device == "dev?"
    assert second.payload == {"n": 2}


def test_json_safe_never_raises() -> None:
    nested: Any = []
    node = nested
    for _ in range(150):
        node.append([])
        node = node[0]
    safe = json_safe({"deep": nested, "set": {1}, "obj": object})
    assert isinstance(safe, dict)
    assert safe["set"] == [1]
    assert safe["obj"] == str(object)


# -- alarms -------------------------------------------------------------------------


@dataclass
class FakeAlarm:
    """The fields AlarmLog reads (the real Alarm lives in console.notifications.alarms)."""

    id: int
    key: str = "k"
    rule: str = "trap"
    device: str = "sw1"
    severity: Severity = Severity.WARNING
    message: str = "linkDown ifIndex=3"
    source: str = "snmp/sw1/trap/1.3.6.1.6.3.1.1.5.3"
    raised_at: float = NOW
    updated_at: float = NOW
    count: int = 1
    cleared_at: float | None = None
    acked_at: float | None = None
    extra: dict[str, JsonValue] = field(default_factory=dict)

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "device": self.device,
            "severity": self.severity.label,
            "message": self.message,
            "source": self.source,
            "raised_at": self.raised_at,
            "updated_at": self.updated_at,
            "count": self.count,
            "cleared_at": self.cleared_at,
            "acked_at": self.acked_at,
            "state": "cleared" if self.cleared_at is not None else "active",
            "acked": self.acked_at is not None,
            "closed": self.cleared_at is not None and self.acked_at is not None,
            "history": False,
            "value": None,
            **self.extra,
        }


async def save(log: AlarmLog, alarm: FakeAlarm) -> None:
    """``log.save(alarm)``: the fake stands in for an Alarm (it has every field
    ``AlarmLog.save`` reads)."""
    await log.save(cast(Alarm, alarm))


async def test_alarms_are_upserted_and_the_open_ones_load_back(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await PropertyStore.open(path) as opened:
        log = AlarmLog(opened)
        assert await log.next_id() == 1
        raised = FakeAlarm(1)
        await save(log, raised)
        await save(log, FakeAlarm(2, device="sw2", acked_at=NOW))  # acked, still active
        await save(log, FakeAlarm(3, cleared_at=NOW))  # cleared, not acked: stays
        await save(log, FakeAlarm(4, cleared_at=NOW, acked_at=NOW))  # closed
        raised.count = 3
        raised.updated_at = NOW + 5
        await save(log, raised)  # re-occurred: the same row
        assert await log.count() == 4
        assert await log.count(open_only=True) == 3
        assert await log.next_id() == 5
    assert rows(path, "SELECT id, count, cleared_ms IS NULL, acked_ms IS NULL FROM alarms") == [
        (1, 3, 1, 1),
        (2, 1, 1, 0),
        (3, 1, 0, 1),
        (4, 1, 0, 0),
    ]
    async with await PropertyStore.open(path) as reopened:
        payloads = await AlarmLog(reopened).load_open_payloads()
    assert [p["id"] for p in payloads] == [1, 2, 3]
    assert payloads[0] == FakeAlarm(1, count=3, updated_at=NOW + 5).to_payload()


async def test_closed_alarms_are_pruned_and_ids_never_repeat(store: PropertyStore) -> None:
    log = AlarmLog(store)
    for i in range(1, 6):  # closed long ago
        await save(
            log, FakeAlarm(i, cleared_at=NOW - 7200, acked_at=NOW - 7200, updated_at=NOW - 7200)
        )
    for i in range(6, 9):  # closed just now
        await save(log, FakeAlarm(i, cleared_at=NOW, acked_at=NOW))
    await save(log, FakeAlarm(9, updated_at=NOW - 7200))  # open, old: never pruned
    assert await log.prune_closed(max_age=3600, max_count=None) == 5
    assert await log.prune_closed(max_age=None, max_count=1) == 2  # keeps the newest closed
    assert rows(store.path, "SELECT id FROM alarms ORDER BY id") == [(8,), (9,)]
    await log.prune_closed(max_age=0, max_count=0)
    assert rows(store.path, "SELECT id FROM alarms") == [(9,)]
    assert await log.next_id() == 10


async def test_load_open_gives_alarms_marked_as_history(store: PropertyStore) -> None:
    alarms = pytest.importorskip("console.notifications.alarms")
    log = AlarmLog(store)
    await save(log, FakeAlarm(1, extra={"value": 42.5}))
    await save(log, FakeAlarm(2, cleared_at=NOW, acked_at=NOW))
    (alarm,) = await log.load_open()
    assert isinstance(alarm, alarms.Alarm)
    assert alarm.id == 1
    assert alarm.history is True
    assert alarm.severity is Severity.WARNING
    assert alarm.value == 42.5
    assert alarm.state == "active"


# -- payloads bounded by bytes (issue 11 §1) -------------------------------------------


async def test_the_row_of_a_10_mb_payload_is_capped_and_says_its_full_size(
    store: PropertyStore,
) -> None:
    data = payload_bytes(TEN_MB)
    log = NotificationLog(store)
    assert log.max_payload_bytes == 1024 * 1024
    await log.record([note(1, payload=message_payload("big/blob", data)), note(2)])
    await store.flush()
    lengths = [n for (n,) in rows(store.path, "SELECT length(payload) FROM notifications")]
    assert lengths[0] <= 1024 * 1024 * 4 // 3 + 1000  # base64 of 1 MiB, and the fields
    assert lengths[1] < 100
    big, small = await log.recent(2)
    assert big.truncated == (1024 * 1024 - 1, TEN_MB)  # the detail: "N of M bytes"
    assert isinstance(big.payload, dict)
    assert base64.b64decode(big.payload["payload"]) == data[: 1024 * 1024 - 1]  # type: ignore[arg-type]
    assert (big.payload["topic"], big.payload["size"]) == ("big/blob", TEN_MB)
    assert small.truncated is None
    assert small.payload == {"n": 2}


async def test_a_large_payload_that_is_not_a_message_is_capped_too(
    store: PropertyStore,
) -> None:
    value = "x" * 5_000_000
    payload: JsonValue = {"interface": "org.Blob", "path": "/b", "value": value, "valid": True}
    log = NotificationLog(store, max_payload_bytes=10_000)
    await log.record([note(1, category=Category.PROPERTY, payload=payload)])
    await store.flush()
    (length,) = rows(store.path, "SELECT length(payload) FROM notifications")[0]
    assert length <= 10_100
    (back,) = await log.recent(1)
    assert isinstance(back.payload, dict)
    assert (back.payload["interface"], back.payload["path"], back.payload["valid"]) == (
        "org.Blob",
        "/b",
        True,
    )
    assert back.truncated is not None
    kept, size = back.truncated
    assert kept <= 10_000 < 5_000_000 < size


def test_a_stored_payload_limit_below_one_byte_is_refused(store: PropertyStore) -> None:
    with pytest.raises(ValueError, match="max_payload_bytes"):
        NotificationLog(store, max_payload_bytes=0)
