"""The audit log: entries in the store, the bus recorder, exports, the migration, and
the runtime end to end (issue 5 §3).

Every test uses real SQLite files and a real bus; nothing asserts on timing (waits are
bounded by :func:`tests.waiting.eventually` only to catch a hung test).
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from console.events import Event, EventManager, JsonValue
from console.rowfiles import read_csv, read_jsonl, write_csv, write_jsonl
from console.store import (
    RESULT_OK,
    AuditAction,
    AuditDraft,
    AuditEntry,
    AuditLog,
    AuditRecorder,
    AuditRule,
    PropertyStore,
    StoreClosedError,
    export_audit_csv,
    export_audit_jsonl,
    read_audit_csv,
    read_audit_jsonl,
    schema,
)
from console.store.audit import AUDIT_COLUMNS, DEFAULT_RULES, iso_time, value_text
from tests.waiting import eventually

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
T0 = 1_700_000_000_000  # ms since the epoch


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PropertyStore]:
    async with await PropertyStore.open(tmp_path / "s.db") as opened:
        yield opened


def rows(db: Path, sql: str) -> list[Any]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def same_json(a: Any, b: Any) -> bool:
    """Equal *and* of the same JSON types all the way down (1 == 1.0 == True in Python;
    -0.0 == 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    return bool(a == b)


def same_entries(found: list[AuditEntry], expected: list[AuditEntry]) -> bool:
    return found == expected and all(
        same_json(f.old, e.old) and same_json(f.new, e.new)
        for f, e in zip(found, expected, strict=True)
    )


def write_payload(
    success: bool,
    error: str | None,
    data: JsonValue,
    previous: JsonValue,
    session_id: str | None = None,
) -> dict[str, JsonValue]:
    """A write event's payload, as docs/events.md documents it."""
    return {
        "session_id": session_id,
        "success": success,
        "error": error,
        "data": data,
        "previous": previous,
    }


# Values meant to break naive encoders: unicode outside the BMP, NUL, CSV
# metacharacters, JSON types Python conflates (1, 1.0, True; 0.0 and -0.0), huge ints.
TRICKY: list[tuple[str, str, JsonValue, JsonValue]] = [
    # device, target, old, new
    ("sw-ü☃", "1.3.6.1.2.1.1.4.0", {"type": "STRING", "value": "NOC, \"ops\"\nline 2"},
     {"type": "STRING", "value": "😀 \x00 \u2028 end"}),
    ("ap1", "/org.fleettop.x/a,b", None, [1, 1.0, True, None, -0.0, 0.0, 2**64, -(2**63)]),
    ("ap1", "", {"nested": {"deep": [[], {}, ""], "k,\"q\"": "\r\n"}}, None),
    ("ups-1", "fleet/+/cmd", 1.5e308, "=1+2"),
    ("ups-1", "t", False, 0),
]  # fmt: skip


async def record_tricky(log: AuditLog) -> list[AuditDraft]:
    recorded = []
    for i, (device, target, old, new) in enumerate(TRICKY):
        recorded.append(
            await log.record_audit(
                AuditDraft(
                    action="mqtt.publish" if i % 2 else AuditAction.SNMP_SET,
                    device=device,
                    target=target,
                    old=old,
                    new=new,
                    result=RESULT_OK if i % 2 else 'refused: "not, allowed"\n(by policy)',
                    session_id=None if i == 0 else f"op-{i} ☃",
                    time_ms=T0 + i,
                )
            )
        )
    return recorded


# -- entries in the store -------------------------------------------------------------


async def test_entries_round_trip_exactly_through_the_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await PropertyStore.open(db) as opened:
        drafts = await record_tricky(AuditLog(opened))
    expected = [
        AuditEntry(
            id=i + 1,
            time_ms=d.time_ms or 0,
            actor="operator",
            action=str(d.action),
            device=d.device,
            target=d.target,
            old=d.old,
            new=d.new,
            result=d.result,
            session_id=d.session_id,
        )
        for i, d in enumerate(drafts)
    ]
    async with await PropertyStore.open(db) as reopened:
        found = await AuditLog(reopened).query_audit()
    assert same_entries(found, expected[::-1])
    assert [type(e.action) for e in found] == [str] * len(found)
    # None is SQL NULL, not the JSON text "null"; values are plain JSON text
    assert rows(db, "SELECT id, old IS NULL, new IS NULL FROM audit ORDER BY id") == [
        (1, 0, 0),
        (2, 1, 0),
        (3, 0, 1),
        (4, 0, 0),
        (5, 0, 0),
    ]
    assert rows(db, "SELECT old, new FROM audit WHERE id = 5") == [("false", "0")]


async def test_record_fills_in_now_and_normalises(store: PropertyStore) -> None:
    log = AuditLog(store)
    recorded = await log.record_audit(
        AuditDraft(AuditAction.STORE_DELETE, "sw1", "org.x.I/p", old=3, session_id="")
    )
    assert recorded.time_ms is not None
    assert recorded.time_ms > T0
    assert (recorded.action, recorded.session_id, recorded.result) == ("store.delete", None, "ok")
    (entry,) = await log.query_audit()
    assert (entry.time_ms, entry.session_id, entry.new, entry.ok) == (
        recorded.time_ms,
        None,
        None,
        True,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"old": math.nan}, "NaN"),
        ({"new": [1, math.inf]}, "NaN or an infinity"),
        ({"new": (1, 2)}, "JSON value, not tuple"),
        ({"old": b"\x00"}, "not bytes"),
        ({"new": {1: "a"}}, "non-string key"),
        ({"new": "\ud800"}, "not valid Unicode"),
        ({"action": ""}, "action must not be empty"),
        ({"device": ""}, "device must not be empty"),
        ({"device": "a\x00b"}, "NUL"),
        ({"result": ""}, "result must not be empty"),
        ({"target": None}, "target must be a string"),
        ({"session_id": 7}, "session_id must be a string"),
        ({"time_ms": True}, "time_ms"),
        ({"time_ms": -1}, "time_ms"),
        ({"time_ms": 2**63}, "time_ms"),
        ({"actor": ""}, "actor must not be empty"),
    ],
)
async def test_bad_entries_raise_value_error_and_queue_nothing(
    store: PropertyStore, change: dict[str, Any], message: str
) -> None:
    log = AuditLog(store)
    good = AuditDraft(
        "snmp.set", "sw1", SYS_CONTACT, old=None, new={"type": "STRING", "value": "x"}
    )
    queued = store.stats.queued
    with pytest.raises(ValueError, match=message):
        await log.record_audit(good._replace(**change))
    assert store.stats.queued == queued
    assert await log.count_audit() == 0


async def test_queries_are_newest_first_with_filters_and_paging(store: PropertyStore) -> None:
    log = AuditLog(store)
    # recorded out of time order, with ties on the same millisecond
    plan = [
        (T0 + 5, "sw1", "snmp.set"),
        (T0 + 1, "sw2", "snmp.set"),
        (T0 + 5, "sw2", "mqtt.publish"),
        (T0 + 9, "sw1", "mqtt.set"),
        (T0 + 1, "sw1", "snmp.set"),
        (T0 + 7, "sw1", "snmp.set"),
        (T0 + 5, "sw1", "snmp.set"),
    ]
    for i, (time_ms, device, action) in enumerate(plan):
        await log.record_audit(AuditDraft(action, device, f"t{i}", new=i, time_ms=time_ms))
    everything = await log.query_audit()
    expected = sorted(range(len(plan)), key=lambda i: (plan[i][0], i), reverse=True)
    assert [e.target for e in everything] == [f"t{i}" for i in expected]
    assert [e.id for e in everything] == [i + 1 for i in expected]

    def targets(entries: list[AuditEntry]) -> list[str]:
        return [e.target for e in entries]

    sw1_sets = await log.query_audit("sw1", AuditAction.SNMP_SET)
    assert targets(sw1_sets) == ["t5", "t6", "t0", "t4"]
    assert targets(await log.query_audit(since_ms=T0 + 5)) == ["t3", "t5", "t6", "t2", "t0"]
    assert targets(await log.query_audit("sw1", "snmp.set", T0 + 5)) == ["t5", "t6", "t0"]
    assert targets(await log.query_audit(action="mqtt.publish")) == ["t2"]
    assert await log.query_audit("nobody") == []
    pages = [await log.query_audit(limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [e for page in pages for e in page] == everything
    assert await log.query_audit(limit=None) == everything
    assert await log.count_audit() == len(plan)
    assert await log.count_audit("sw1", "snmp.set") == 4
    assert await log.count_audit(since_ms=T0 + 6) == 2
    for bad in ({"limit": -1}, {"offset": -1}, {"limit": 1.5}, {"since_ms": -5}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be"):
            await log.query_audit(**bad)


async def test_the_time_index_serves_newest_first_pages(store: PropertyStore) -> None:
    plan = rows(
        store.path,
        "EXPLAIN QUERY PLAN SELECT * FROM audit ORDER BY time_ms DESC, id DESC LIMIT 10",
    )
    assert any("audit_by_time" in str(row) for row in plan), plan
    assert not any("TEMP B-TREE" in str(row) for row in plan), plan


async def test_audit_entries_survive_a_property_clear(store: PropertyStore) -> None:
    log = AuditLog(store)
    await log.record_audit(AuditDraft("store.delete", "sw1", "", old=None))
    await store.clear()
    assert await log.count_audit() == 1


# -- the recorder -----------------------------------------------------------------------


async def test_the_recorder_records_write_events_of_the_bus(store: PropertyStore) -> None:
    async with EventManager() as bus:
        recorder = AuditRecorder(bus, store)
        announced: list[Event] = []
        bus.subscribe(("audit", "*"), announced.append)
        contact: JsonValue = {"type": "STRING", "value": "ops@example.net"}
        before: JsonValue = {"type": "STRING", "value": "NOC <noc@example.net>"}
        published = [
            bus.publish(
                ("snmp", "sw1", "write", SYS_CONTACT),
                write_payload(True, None, contact, before, "op-1"),
            ),
            bus.publish(
                ("snmp", "sw1", "write", SYS_DESCR),
                write_payload(False, "NOT_WRITABLE", {"type": "STRING", "value": "x"}, None),
            ),
            bus.publish(
                ("snmp", "ap1", "write", "1.3.6.1.2.1.1.5.0"),
                write_payload(False, "TIMEOUT", {"type": "STRING", "value": "n"}, None, "op-2"),
            ),
            bus.publish(
                ("snmp", "ap1", "write", "1.3.6.1.2.1.1.6.0"),
                write_payload(False, "CANCELLED", {"type": "STRING", "value": "l"}, None),
            ),
        ]
        # not writes: never audited
        bus.publish(("snmp", "sw1", "read", SYS_CONTACT), {"session_id": "op-1", "data": contact})
        bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED", "reason": None})
        await recorder.aclose()
        entries = await recorder.log.query_audit()
        await bus.drain()
    assert (recorder.recorded, recorder.skipped) == (4, 0)
    assert [
        (e.action, e.device, e.target, e.old, e.new, e.result, e.session_id, e.actor)
        for e in entries[::-1]
    ] == [
        ("snmp.set", "sw1", SYS_CONTACT, before, contact, "ok", "op-1", "operator"),
        ("snmp.set", "sw1", SYS_DESCR, None, {"type": "STRING", "value": "x"},
         "NOT_WRITABLE", None, "operator"),
        ("snmp.set", "ap1", "1.3.6.1.2.1.1.5.0", None, {"type": "STRING", "value": "n"},
         "TIMEOUT", "op-2", "operator"),
        ("snmp.set", "ap1", "1.3.6.1.2.1.1.6.0", None, {"type": "STRING", "value": "l"},
         "CANCELLED", None, "operator"),
    ]  # fmt: skip
    # the time is the bus's, in ms
    assert [e.time_ms for e in entries[::-1]] == [int(p.timestamp * 1000) for p in published]
    assert [e.type for e in announced] == [
        ("audit", "sw1", "snmp.set"),
        ("audit", "sw1", "snmp.set"),
        ("audit", "ap1", "snmp.set"),
        ("audit", "ap1", "snmp.set"),
    ]
    assert announced[0].payload == {
        "time_ms": entries[-1].time_ms,
        "actor": "operator",
        "action": "snmp.set",
        "device": "sw1",
        "target": SYS_CONTACT,
        "old": before,
        "new": contact,
        "result": "ok",
        "session_id": "op-1",
    }


async def test_the_recorder_records_direct_actions(store: PropertyStore) -> None:
    async with EventManager() as bus:
        recorder = AuditRecorder(bus, store, publish=False)
        announced: list[Event] = []
        bus.subscribe(("audit", "*"), announced.append)
        await recorder.record(
            AuditAction.STORE_DELETE,
            "sw1",
            "org.fleettop.snmp.Values/1.3.6.1.2.1.1.4.0",
            old={"type": "STRING", "value": "gone"},
            session_id="ui",
        )
        with pytest.raises(ValueError, match="NaN"):
            await recorder.record("mqtt.set", "sw1", "x", new=math.nan)
        await recorder.aclose()
        (entry,) = await recorder.log.query_audit()
        await bus.drain()
    assert (entry.action, entry.old, entry.new, entry.result, entry.session_id) == (
        "store.delete",
        {"type": "STRING", "value": "gone"},
        None,
        "ok",
        "ui",
    )
    assert announced == []  # publish=False


async def test_the_recorder_skips_malformed_write_events_and_carries_on(
    store: PropertyStore, caplog: pytest.LogCaptureFixture
) -> None:
    async with EventManager() as bus:
        recorder = AuditRecorder(bus, store)
        bus.publish(("snmp", "sw1", "write", "1.3.6.1.1"), {"no": "success"})
        bus.publish(("snmp", "sw1", "write", "1.3.6.1.2"), "not an object")
        bus.publish(("snmp", "sw1", "write"), write_payload(True, None, 1, 2))
        bus.publish(
            ("snmp", "sw1", "write", "1.3.6.1.3"),
            write_payload(True, None, {"value": math.nan}, None),
        )
        bus.publish(("snmp", "sw1", "write", "1.3.6.1.4"), write_payload(True, None, 1, None))
        await recorder.aclose()
        assert (recorder.recorded, recorder.skipped) == (1, 4)
        assert [e.target for e in await recorder.log.query_audit()] == ["1.3.6.1.4"]
    assert "not auditing snmp/sw1/write/1.3.6.1.1" in caplog.text


async def test_rules_are_a_table_of_patterns_and_extractors(store: PropertyStore) -> None:
    """How MQTT results will join: one rule per event type."""

    def mqtt_publish(event: Event) -> AuditDraft:
        payload = event.payload
        assert isinstance(payload, dict)
        return AuditDraft(
            action=AuditAction.MQTT_PUBLISH,
            device=event.type[1],
            target=str(payload["topic"]),
            new=payload["payload"],
            result=RESULT_OK if payload["success"] else str(payload["error"]),
        )

    async with EventManager() as bus:
        rules = [AuditRule(("mqtt", "?", "published"), mqtt_publish)]
        recorder = AuditRecorder(bus, store, rules=rules)
        bus.publish(
            ("mqtt", "gw1", "published"),
            {"topic": "gw1/cmd", "payload": {"on": True}, "success": True, "error": None},
        )
        bus.publish(("snmp", "sw1", "write", SYS_CONTACT), write_payload(True, None, 1, None))
        await recorder.aclose()
        (entry,) = await recorder.log.query_audit()
    assert (entry.action, entry.device, entry.target, entry.new) == (
        "mqtt.publish",
        "gw1",
        "gw1/cmd",
        {"on": True},
    )


def mqtt_result(operation: str, **fields: JsonValue) -> dict[str, JsonValue]:
    """An ``("mqtt", TARGET, "publish")`` payload (docs/events.md)."""
    payload: dict[str, JsonValue] = {
        "session_id": None, "operation": operation, "broker": "plant",
        "topic": "r/th1/org.x.Rate/p", "qos": 2, "retain": False, "size": 0,
        "interface": "org.x.Rate", "path": "/p", "type": "integer", "value": None,
        "previous": None, "success": True, "error": None, "reason_code": None,
    }  # fmt: skip
    payload.update(fields)
    return payload


async def test_mqtt_set_and_unset_record_the_value_before(store: PropertyStore) -> None:
    # issue 11 §7: the audit of mqtt.unset recorded the old value as "—" though it was 5
    async with EventManager() as bus:
        recorder = AuditRecorder(bus, store)
        bus.publish(("mqtt", "th1", "publish"), mqtt_result("set", value=5, previous=None))
        bus.publish(("mqtt", "th1", "publish"), mqtt_result("set", value=7, previous=5))
        bus.publish(("mqtt", "th1", "publish"), mqtt_result("unset", previous=7))
        plain = mqtt_result(
            "publish", topic="site/cmd", qos=1, retain=True, size=3, interface=None,
            path=None, type=None, previous=None,
        )  # fmt: skip
        bus.publish(("mqtt", "@plant", "publish"), plain)
        await recorder.aclose()
        entries = (await recorder.log.query_audit())[::-1]
    assert [(e.action, e.old, e.new) for e in entries] == [
        ("mqtt.set", None, 5),
        ("mqtt.set", 5, 7),
        ("mqtt.unset", 7, None),
        ("mqtt.publish", None, {"topic": "site/cmd", "qos": 1, "retain": True, "size": 3}),
    ]
    assert [f"{value_text(e.old)} → {value_text(e.new)}" for e in entries] == [
        "— → 5", "5 → 7", "7 → —", "— → QoS 1, retained, 3 B",
    ]  # fmt: skip


async def test_snmp_sets_are_audited_raw_and_as_their_mib_shows_them(
    store: PropertyStore,
) -> None:
    """Issue 13 §1: the entry keeps the raw values and their ``display`` (the write
    event's ``display`` / ``previous_display``); the value text shows the display
    beside the raw form when the display does not already say it."""
    admin = "1.3.6.1.2.1.2.2.1.7.3"
    async with EventManager() as bus:
        recorder = AuditRecorder(bus, store)
        payload = write_payload(
            True, None, {"type": "INTEGER", "value": 2}, {"type": "INTEGER", "value": 1}
        )
        payload.update({"display": "down(2)", "previous_display": "up(1)"})
        bus.publish(("snmp", "sw1", "write", admin), payload)
        await recorder.aclose()
        entries = await recorder.log.query_audit()
        await bus.drain()
    [entry] = entries
    assert entry.old == {"type": "INTEGER", "value": 1, "display": "up(1)"}
    assert entry.new == {"type": "INTEGER", "value": 2, "display": "down(2)"}
    assert f"{value_text(entry.old)} → {value_text(entry.new)}" == "up(1) → down(2)"
    # a hint or a MAC address: the raw form follows; UNITS after the raw value: not
    volts: JsonValue = {"type": "INTEGER", "value": 1234, "display": "12.34 volts"}
    assert value_text(volts) == "12.34 volts (1234)"
    mac: JsonValue = {"type": "STRING_HEX", "value": "000c29a45b07", "display": "00:0c:29:a4:5b:07"}
    assert value_text(mac).startswith("00:0c:29:a4:5b:07 (")
    assert value_text({"type": "INTEGER", "value": 5, "display": "5 seconds"}) == "5 seconds"
    assert value_text({"type": "INTEGER", "value": 5, "display": "5"}) == "5"


def test_values_read_in_operator_words() -> None:
    assert value_text({"type": "TIME_TICKS", "value": 8_640_000}) == "1d 00:00:00.00"
    assert value_text({"type": "STRING", "value": "a\nb"}) == "a\\nb"
    assert value_text("fast") == '"fast"'
    assert value_text({"on": True, "at": None}) == '{"on":true,"at":null}'
    assert value_text(False) == "false"
    assert value_text(None) == "—"
    assert value_text("x" * 40, 10) == '"xxxxxxxx…'


async def test_nothing_is_lost_under_a_burst_with_a_slow_store(tmp_path: Path) -> None:
    burst = 5000
    async with EventManager() as bus:
        # a tiny store queue and bus queue: the recorder waits for the store's commits,
        # and publish_wait waits for the recorder
        store = await PropertyStore.open(tmp_path / "s.db", max_pending=20, batch_size=16)
        recorder = AuditRecorder(bus, store, batch_size=5, maxsize=8)
        for i in range(burst):
            await bus.publish_wait(
                ("snmp", f"dev{i % 7}", "write", f"1.3.6.1.2.1.1.{i % 3 + 4}.0"),
                write_payload(
                    i % 4 != 0,
                    None if i % 4 else "NOT_WRITABLE",
                    {"type": "STRING", "value": f"v{i}"},
                    {"type": "STRING", "value": f"v{i - 1}"} if i else None,
                    f"s{i}",
                ),
            )
        await recorder.aclose()
        # one BLOCK subscription per rule (SNMP writes, MQTT results): none lost anything
        assert len(recorder.subscriptions) == len(DEFAULT_RULES)
        for subscription in recorder.subscriptions:
            assert (subscription.stats.dropped, subscription.stats.overflow) == (0, 0)
        assert recorder.recorded == burst
        log = recorder.log
        assert await log.count_audit() == burst
        entries = await log.query_audit(limit=None)
        await store.aclose()
    assert store.stats.batches > burst // 20  # the store really was the bottleneck
    assert len(entries) == burst
    by_session = {e.session_id: e for e in entries}
    assert set(by_session) == {f"s{i}" for i in range(burst)}
    for i in (0, 1, 2, 3, 4, burst - 1):
        entry = by_session[f"s{i}"]
        assert entry.new == {"type": "STRING", "value": f"v{i}"}
        assert entry.result == ("NOT_WRITABLE" if i % 4 == 0 else "ok")
        assert entry.device == f"dev{i % 7}"
    # publish order is recording order
    assert [e.session_id for e in sorted(entries, key=lambda e: e.id)] == [
        f"s{i}" for i in range(burst)
    ]


async def test_a_clean_close_right_after_a_burst_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    burst = 5000
    async with EventManager() as bus:
        store = await PropertyStore.open(db, batch_window=60.0)  # only closes commit
        recorder = AuditRecorder(bus, store)
        for i in range(burst):  # publish never waits: the BLOCK queue keeps them all
            bus.publish(
                ("snmp", "sw1", "write", SYS_CONTACT),
                write_payload(True, None, {"type": "INTEGER", "value": i}, None, f"s{i}"),
            )
        await recorder.aclose()
        await store.aclose()
    assert rows(db, "SELECT count(*), count(DISTINCT session_id) FROM audit") == [(burst, burst)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    async with await PropertyStore.open(db) as reopened:
        newest = (await AuditLog(reopened).query_audit(limit=1))[0]
    assert (newest.session_id, newest.new) == (f"s{burst - 1}", {"type": "INTEGER", "value": 4999})


async def test_the_recorder_stops_when_the_store_is_gone_and_the_bus_carries_on(
    tmp_path: Path,
) -> None:
    async with EventManager() as bus:
        store = await PropertyStore.open(tmp_path / "s.db")
        recorder = AuditRecorder(bus, store)
        await store.aclose()
        bus.publish(("snmp", "sw1", "write", SYS_CONTACT), write_payload(True, None, 1, None))
        await eventually(lambda: recorder.failed is not None)
        assert isinstance(recorder.failed, StoreClosedError)
        assert all(s.closed for s in recorder.subscriptions)
        seen: list[Event] = []
        bus.subscribe(("snmp", "*"), seen.append)
        bus.publish(("snmp", "sw1", "write", SYS_CONTACT), write_payload(True, None, 2, None))
        await bus.drain()
        assert len(seen) == 1
        await recorder.aclose()
        with pytest.raises(StoreClosedError):
            await recorder.record("store.delete", "sw1", "x")


# -- schema -------------------------------------------------------------------------------


async def test_a_version_2_file_migrates_to_version_3_with_an_audit_table(
    tmp_path: Path,
) -> None:
    db = tmp_path / "v2.db"
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        assert await schema.migrate(conn, target=2) == 0
        await conn.execute(
            "INSERT INTO properties (device, interface, path, major, minor, type, value,"
            " ownership, source, updated_ms, native_type) VALUES ('sw1', 'org.a.I', '/p', 1,"
            " 0, 'string', 'kept', 'device', 'snmp', 1700000000000, 'STRING')"
        )
    assert rows(db, "PRAGMA user_version") == [(2,)]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name LIKE 'audit%'") == []
    async with await PropertyStore.open(db) as store:
        assert await store.load_prop("sw1", "org.a.I", 1, "/p") == "kept"
        log = AuditLog(store)
        assert await log.count_audit() == 0
        await log.record_audit(AuditDraft("snmp.set", "sw1", SYS_CONTACT, new="x", time_ms=T0))
        (entry,) = await log.query_audit()
    assert schema.CURRENT_VERSION >= 3  # and on to the current version (4: notifications)
    assert rows(db, "PRAGMA user_version") == [(schema.CURRENT_VERSION,)]
    assert (entry.id, entry.new, entry.time_ms) == (1, "x", T0)
    assert sorted(
        r[0] for r in rows(db, "SELECT name FROM sqlite_schema WHERE tbl_name = 'audit'")
    ) == ["audit", "audit_by_device", "audit_by_time"]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


async def test_audit_ids_are_never_reused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await PropertyStore.open(db) as store:
        for i in range(3):
            await AuditLog(store).record_audit(AuditDraft("snmp.set", "sw1", "t", new=i))
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit WHERE id = 3")
    async with await PropertyStore.open(db) as store:
        await AuditLog(store).record_audit(AuditDraft("snmp.set", "sw1", "t", new=9))
    assert rows(db, "SELECT id FROM audit ORDER BY id") == [(1,), (2,), (4,)]


async def test_the_schema_refuses_empty_names(store: PropertyStore) -> None:
    with sqlite3.connect(store.path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO audit (time_ms, actor, action, device, target, result)"
            " VALUES (0, 'operator', 'snmp.set', '', 't', 'ok')"
        )
    with sqlite3.connect(store.path) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(  # STRICT: a time is an integer
            "INSERT INTO audit (time_ms, actor, action, device, target, result)"
            " VALUES ('soon', 'operator', 'snmp.set', 'sw1', 't', 'ok')"
        )


# -- exports ------------------------------------------------------------------------------


@pytest.fixture
async def tricky_entries(store: PropertyStore) -> list[AuditEntry]:
    log = AuditLog(store)
    await record_tricky(log)
    return await log.query_audit()


async def test_jsonl_export_reads_back_as_the_same_entries(
    tmp_path: Path, tricky_entries: list[AuditEntry]
) -> None:
    path = tmp_path / "audit.jsonl"
    assert export_audit_jsonl(path, tricky_entries) == len(tricky_entries)
    assert same_entries(read_audit_jsonl(path), tricky_entries)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[-1] == ""
    assert len(lines) == len(tricky_entries) + 1  # one line per entry
    assert "☃" in text  # kept, not \u-escaped
    assert "😀" in text
    first = json.loads(lines[0])
    assert list(first) == list(AUDIT_COLUMNS)
    assert first["time"] == iso_time(first["time_ms"])
    assert iso_time(T0 + 4) == "2023-11-14T22:13:20.004Z"


async def test_csv_export_reads_back_as_the_same_entries(
    tmp_path: Path, tricky_entries: list[AuditEntry]
) -> None:
    path = tmp_path / "audit.csv"
    assert export_audit_csv(path, tricky_entries) == len(tricky_entries)
    assert same_entries(read_audit_csv(path), tricky_entries)
    # what any CSV reader sees: the header, and old/new as JSON text
    with path.open(encoding="utf-8", newline="") as stream:
        table = list(csv.DictReader(stream))
    assert len(table) == len(tricky_entries)
    assert list(table[0]) == list(AUDIT_COLUMNS)
    by_id = {int(r["id"]): r for r in table}
    assert by_id[1]["old"] == '{"type":"STRING","value":"NOC, \\"ops\\"\\nline 2"}'
    assert by_id[1]["session_id"] == ""  # None
    assert by_id[1]["result"] == 'refused: "not, allowed"\n(by policy)'
    assert by_id[2]["old"] == "null"
    assert by_id[4]["new"] == '"=1+2"'  # a JSON string keeps its quotes: never a formula
    assert by_id[5]["old"] == "false"
    assert by_id[1]["time"] == "2023-11-14T22:13:20.000Z"
    raw = path.read_bytes()
    assert b'"refused: ""not, allowed""\n(by policy)"' in raw  # quoted, quotes doubled
    assert raw.count(b"\r\n") >= len(tricky_entries) + 1


async def test_export_from_the_log_with_filters(
    tmp_path: Path, store: PropertyStore, tricky_entries: list[AuditEntry]
) -> None:
    log = AuditLog(store)
    assert await log.export(tmp_path / "a.csv", format="csv", device="ap1") == 2
    assert read_audit_csv(tmp_path / "a.csv") == [e for e in tricky_entries if e.device == "ap1"]
    assert await log.export(tmp_path / "a.jsonl", format="jsonl", since_ms=T0 + 3) == 2
    assert [e.id for e in read_audit_jsonl(tmp_path / "a.jsonl")] == [5, 4]
    with pytest.raises(ValueError, match="unknown export format"):
        await log.export(tmp_path / "a.xml", format="xml")  # type: ignore[arg-type]
    assert not (tmp_path / "a.xml").exists()


def test_a_failed_export_leaves_the_existing_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("earlier export\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Out of range float"):
        write_jsonl(path, [{"a": 1}, {"b": math.nan}])
    with pytest.raises(ValueError, match="Out of range float"):
        write_csv(path, ["a"], [{"a": 1}, {"a": math.inf}])
    assert path.read_text(encoding="utf-8") == "earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary left
    with pytest.raises(FileNotFoundError):
        write_jsonl(tmp_path / "missing" / "out.jsonl", [{"a": 1}])


def test_generic_rows_round_trip_through_jsonl_and_csv(tmp_path: Path) -> None:
    rows_: list[dict[str, JsonValue]] = [
        {"path": "/a,b", "value": [1, "x\r\ny"], "n": 3, "note": None, "f": 0.5},
        {"path": '/"q"', "value": None, "n": -1, "note": "", "f": True},
    ]
    assert write_jsonl(tmp_path / "r.jsonl", rows_) == 2
    assert read_jsonl(tmp_path / "r.jsonl") == rows_
    columns = ["path", "value", "n", "note", "f"]
    assert write_csv(tmp_path / "r.csv", columns, rows_, json_columns={"value"}) == 2
    header, back = read_csv(tmp_path / "r.csv", json_columns={"value"})
    assert header == columns
    assert back == [
        {"path": "/a,b", "value": [1, "x\r\ny"], "n": "3", "note": "", "f": "0.5"},
        {"path": '/"q"', "value": None, "n": "-1", "note": "", "f": "true"},
    ]
    with pytest.raises(ValueError, match="not columns"):
        write_csv(tmp_path / "r.csv", columns, rows_, json_columns={"nope"})
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n[2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        read_jsonl(tmp_path / "bad.jsonl")
    (tmp_path / "nan.jsonl").write_text('{"a": NaN}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"nan\.jsonl:1"):
        read_jsonl(tmp_path / "nan.jsonl")


# -- end to end ---------------------------------------------------------------------------


async def test_the_runtime_audits_a_real_snmp_write(tmp_path: Path) -> None:
    """Runtime(demo=True): the real SNMP manager SETs the demo agent with the write
    community; the entry is in the store file after a clean close, and no community
    appears in the entries or the exports."""
    from console.demo.fleet import READ_COMMUNITY, WRITE_COMMUNITY
    from console.runtime import Runtime, default_store_path

    runtime = Runtime(demo=True)
    await runtime.start()
    try:
        assert runtime.audit is not None
        status = ("snmp", "core-sw1", "status")

        def connected() -> bool:
            event = runtime.bus.latest(status)
            return event is not None and event.payload["status"] == "CONNECTED"  # type: ignore[index,call-overload]

        await eventually(connected, within=60)
        device = runtime.snmp_devices["core-sw1"]
        before = await device.read(SYS_CONTACT)  # so the write knows the old value
        done = await device.write(SYS_CONTACT, {"type": "STRING", "value": "audit me"})
        refused = await device.write(SYS_DESCR, {"type": "STRING", "value": "nope"})
        assert (done["success"], refused["success"]) == (True, False)
    finally:
        await runtime.aclose()
    async with await PropertyStore.open(default_store_path(demo=True)) as store:
        entries = await AuditLog(store).query_audit()
        await AuditLog(store).export(tmp_path / "a.jsonl", format="jsonl")
        await AuditLog(store).export(tmp_path / "a.csv", format="csv")
    failed, written = entries
    assert (written.action, written.device, written.target, written.actor) == (
        "snmp.set",
        "core-sw1",
        SYS_CONTACT,
        "operator",
    )
    assert written.result == "ok"
    noc = "NOC <noc@example.net>"
    assert before["data"] == {"type": "STRING", "value": noc}
    # raw and display side by side (issue 13 §1)
    assert written.old == {"type": "STRING", "value": noc, "display": noc}
    assert written.new == {"type": "STRING", "value": "audit me", "display": "audit me"}
    assert (failed.target, failed.result, failed.new) == (
        SYS_DESCR,
        refused["error"],
        {"type": "STRING", "value": "nope", "display": "nope"},
    )
    assert failed.result not in ("ok", None)
    recorded = repr(entries) + (tmp_path / "a.jsonl").read_text() + (tmp_path / "a.csv").read_text()
    for secret in (WRITE_COMMUNITY.reveal(), READ_COMMUNITY.reveal()):
        assert secret not in recorded
