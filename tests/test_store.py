"""The property store (console/store/): exact typed round trips, the Astarte SDK's
semantics, batched writes, queries, migrations, refusing bad files, and the SNMP
feeder. Every test uses real SQLite files under ``tmp_path``.

The crash-durability test (SIGKILL of a writing subprocess) is in
``tests/test_store_crash.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import math
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from console.events import EventManager
from console.store import (
    SNMP_INTERFACE,
    SNMP_MAJOR,
    Ownership,
    Property,
    PropertyStore,
    PropertyType,
    Source,
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreFeeder,
    StoreInUseError,
    StoreLockedError,
    StoreReadOnlyError,
    StoreSchemaError,
    last_known,
    schema,
)
from console.store.paths import compile_path_filter, path_matches
from console.store.values import datetime_to_ms
from tests.waiting import eventually

IFACE = "org.fleettop.test.Values"
UTC = dt.UTC
#: Bounds a hung test only (not a speed assertion).
HANG = 30
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PropertyStore]:
    opened = await PropertyStore.open(tmp_path / "store.db")
    yield opened
    await opened.aclose()


async def put(
    store: PropertyStore,
    path: str,
    value: Any,
    type_: PropertyType | str,
    *,
    device: str = "dev1",
    interface: str = IFACE,
    major: int = 1,
    ownership: Ownership | str = Ownership.DEVICE,
    source: Source | str = Source.OPERATOR,
    **extra: Any,
) -> None:
    await store.store_prop(
        device,
        interface,
        major,
        path,
        value,
        type=type_,
        ownership=ownership,
        source=source,
        **extra,
    )


def rows(db: Path, sql: str = "SELECT device, interface, path FROM properties") -> list[Any]:
    """Read the file with a separate plain sqlite3 connection (committed data only)."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def wal_is_empty(db: Path) -> bool:
    """True when the write-ahead log is gone or empty (all folded into the file)."""
    wal = Path(f"{db}-wal")
    return not wal.exists() or wal.stat().st_size == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_value(a: Any, b: Any) -> bool:
    """Equal, of the same Python type, and for floats bit-for-bit (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime):
        return a == b and b.tzinfo is not None and b.utcoffset() == dt.timedelta(0)
    return bool(a == b)


# -- typed values: every type round-trips exactly -------------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
CET = dt.timezone(dt.timedelta(hours=1))
ROUND_TRIPS: list[tuple[PropertyType, Any]] = [
    (PropertyType.INTEGER, -(2**31)),
    (PropertyType.INTEGER, 2**31 - 1),
    (PropertyType.INTEGER, 0),
    (PropertyType.LONGINTEGER, -(2**63)),
    (PropertyType.LONGINTEGER, 2**63 - 1),
    (PropertyType.LONGINTEGER, 0),
    (PropertyType.DOUBLE, 0.1),
    (PropertyType.DOUBLE, -0.0),
    (PropertyType.DOUBLE, 5e-324),
    (PropertyType.DOUBLE, 1.7976931348623157e308),
    (PropertyType.DOUBLE, -2.5),
    (PropertyType.BOOLEAN, True),
    (PropertyType.BOOLEAN, False),
    (PropertyType.STRING, ""),
    (PropertyType.STRING, "unicode: é ☃ 中文 𝄞 \u200b"),
    (PropertyType.STRING, "nul\x00inside"),
    (PropertyType.BINARYBLOB, b""),
    (PropertyType.BINARYBLOB, bytes(range(256))),
    (PropertyType.DATETIME, EPOCH),
    (PropertyType.DATETIME, EPOCH - dt.timedelta(milliseconds=1)),
    (PropertyType.DATETIME, dt.datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)),
    (PropertyType.DATETIME, dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    (PropertyType.DATETIME, dt.datetime(1, 1, 1, tzinfo=UTC)),
    *[(t, []) for t in PropertyType if t.is_array],
    (PropertyType.INTEGERARRAY, [-(2**31), 0, 2**31 - 1]),
    (PropertyType.LONGINTEGERARRAY, [-(2**63), 2**63 - 1, 7]),
    (PropertyType.DOUBLEARRAY, [-0.0, 0.1, 5e-324, 1e308, 3.0]),
    (PropertyType.BOOLEANARRAY, [True, False, True]),
    (PropertyType.STRINGARRAY, ["", "☃", 'quote " and \\ backslash', "nul\x00"]),
    (PropertyType.BINARYBLOBARRAY, [b"", b"\x00\xff", bytes(range(256))]),
    (PropertyType.DATETIMEARRAY, [EPOCH, dt.datetime(2030, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)]),
]


async def test_every_type_round_trips_exactly_through_the_file(tmp_path: Path) -> None:
    db = tmp_path / "types.db"
    async with await PropertyStore.open(db) as store:
        for index, (type_, value) in enumerate(ROUND_TRIPS):
            await put(store, f"/v{index}", value, type_)
    # a new store on the same file: what comes back was read from disk
    async with await PropertyStore.open(db) as store:
        for index, (type_, value) in enumerate(ROUND_TRIPS):
            loaded = await store.load_prop("dev1", IFACE, 1, f"/v{index}")
            assert same_value(value, loaded), (type_, value, loaded)
            prop = await store.get_prop("dev1", IFACE, f"/v{index}")
            assert prop is not None
            assert prop.type is type_


async def test_scalars_are_stored_in_their_natural_sql_storage_class(tmp_path: Path) -> None:
    db = tmp_path / "classes.db"
    async with await PropertyStore.open(db) as store:
        await put(store, "/i", 5, PropertyType.INTEGER)
        await put(store, "/d", 1.0, PropertyType.DOUBLE)
        await put(store, "/s", "x", PropertyType.STRING)
        await put(store, "/b", b"x", PropertyType.BINARYBLOB)
        await put(store, "/t", EPOCH + dt.timedelta(seconds=1), PropertyType.DATETIME)
        await put(store, "/a", [b"\x01"], PropertyType.BINARYBLOBARRAY)
    found = dict(rows(db, "SELECT path, typeof(value) || ':' || quote(value) FROM properties"))
    assert found == {
        "/i": "integer:5",
        "/d": "real:1.0",
        "/s": "text:'x'",
        "/b": "blob:X'78'",
        "/t": "integer:1000",
        "/a": "text:'[\"AQ==\"]'",
    }


async def test_other_time_zones_are_stored_as_the_same_instant_in_utc(
    store: PropertyStore,
) -> None:
    local = dt.datetime(2025, 6, 1, 13, 0, tzinfo=CET)
    await put(store, "/t", local, PropertyType.DATETIME)
    loaded = await store.load_prop("dev1", IFACE, 1, "/t")
    assert loaded == local
    assert isinstance(loaded, dt.datetime)
    assert loaded.tzinfo == UTC
    assert loaded.hour == 12


async def test_datetimes_keep_millisecond_precision_truncated_toward_the_past(
    store: PropertyStore,
) -> None:
    await put(store, "/t", dt.datetime(2025, 1, 1, 0, 0, 0, 123999, tzinfo=UTC), "datetime")
    await put(store, "/n", EPOCH - dt.timedelta(microseconds=1), "datetime")
    assert await store.load_prop("dev1", IFACE, 1, "/t") == dt.datetime(
        2025, 1, 1, 0, 0, 0, 123000, tzinfo=UTC
    )
    assert await store.load_prop("dev1", IFACE, 1, "/n") == EPOCH - dt.timedelta(milliseconds=1)
    assert datetime_to_ms(EPOCH - dt.timedelta(microseconds=1)) == -1


BAD_VALUES: list[tuple[PropertyType, Any, str]] = [
    (PropertyType.DOUBLE, math.nan, "NaN"),
    (PropertyType.DOUBLE, math.inf, "NaN and infinity"),
    (PropertyType.DOUBLE, -math.inf, "NaN and infinity"),
    (PropertyType.DOUBLEARRAY, [1.0, math.nan], "element 1"),
    (PropertyType.DOUBLE, 2**53 + 1, "not exactly representable"),
    (PropertyType.DOUBLE, True, "not a float"),
    (PropertyType.DOUBLE, "1.0", "not a float"),
    (PropertyType.INTEGER, 2**31, "outside"),
    (PropertyType.INTEGER, -(2**31) - 1, "outside"),
    (PropertyType.INTEGER, True, "not an int"),
    (PropertyType.INTEGER, 1.0, "not an int"),
    (PropertyType.LONGINTEGER, 2**63, "outside"),
    (PropertyType.LONGINTEGER, -(2**63) - 1, "outside"),
    (PropertyType.BOOLEAN, 1, "not a bool"),
    (PropertyType.STRING, b"bytes", "not a str"),
    (PropertyType.STRING, "lone \ud800 surrogate", "not valid Unicode"),
    (PropertyType.BINARYBLOB, "text", "not bytes"),
    (PropertyType.DATETIME, dt.datetime(2025, 1, 1), "naive"),
    (PropertyType.DATETIME, dt.date(2025, 1, 1), "not a datetime"),
    (PropertyType.INTEGERARRAY, [1, 2**31], "element 1"),
    (PropertyType.INTEGERARRAY, 5, "not a list"),
    (PropertyType.STRINGARRAY, ["ok", 3], "element 1"),
    (PropertyType.DATETIMEARRAY, [dt.datetime(2025, 1, 1)], "naive"),
]


@pytest.mark.parametrize(("type_", "value", "message"), BAD_VALUES)
async def test_bad_values_raise_value_error_and_never_touch_the_stored_value(
    store: PropertyStore, type_: PropertyType, value: Any, message: str
) -> None:
    good = _good_value(type_)
    await put(store, "/p", good, type_)
    await store.flush()
    with pytest.raises(ValueError, match=message):
        await put(store, "/p", value, type_)
    assert store.stats.pending == 0
    assert same_value(good, await store.load_prop("dev1", IFACE, 1, "/p"))


def _good_value(type_: PropertyType) -> Any:
    if type_.is_array:
        return []
    return {
        PropertyType.INTEGER: 1,
        PropertyType.LONGINTEGER: 1,
        PropertyType.DOUBLE: 1.5,
        PropertyType.BOOLEAN: True,
        PropertyType.STRING: "good",
        PropertyType.BINARYBLOB: b"good",
        PropertyType.DATETIME: EPOCH,
    }[type_]


async def test_an_int_is_a_double_only_when_exact(store: PropertyStore) -> None:
    await put(store, "/d", 3, PropertyType.DOUBLE)
    assert same_value(3.0, await store.load_prop("dev1", IFACE, 1, "/d"))


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("path", "no/slash", "must start with '/'"),
        ("path", "/a/+/b", "must not contain '\\+'"),
        ("path", "/a/#", "must not contain '#'"),
        ("device", "", "device must be a non-empty string"),
        ("interface", "", "interface must be a non-empty string"),
        ("major", -1, "major must be a non-negative int"),
        ("major", True, "major must be a non-negative int"),
        ("type", "float", "unknown type 'float'"),
        ("ownership", "nobody", "unknown ownership"),
        ("source", "carrier pigeon", "unknown source"),
        # values SQLite could not bind would stop the writer: refused up front
        ("device", "lone \ud800", "not valid Unicode"),
        ("interface", "lone \udfff", "not valid Unicode"),
        ("path", "/lone/\ud800", "not valid Unicode"),
        ("native_type", "\ud800", "not valid Unicode"),
        ("major", 2**63, "major must be a non-negative int"),
        ("minor", -1, "minor must be a non-negative int"),
        ("updated_ms", 2**63, "updated_ms must be an int"),
        ("updated_ms", 1.5, "updated_ms must be an int"),
    ],
)
async def test_bad_keys_and_names_raise_value_error(
    store: PropertyStore, field: str, bad: Any, message: str
) -> None:
    args: dict[str, Any] = {
        "device": "dev1",
        "interface": IFACE,
        "major": 1,
        "path": "/p",
        "value": 1,
        "type": "integer",
        "ownership": "device",
        "source": "snmp",
    }
    args[field] = bad
    with pytest.raises(ValueError, match=message):
        await store.store_prop(
            args.pop("device"),
            args.pop("interface"),
            args.pop("major"),
            args.pop("path"),
            args.pop("value"),
            **args,
        )
    assert store.stats.queued == 0
    # and the store goes on working
    await put(store, "/ok", 1, "integer")
    assert await store.load_prop("dev1", IFACE, 1, "/ok") == 1
    assert store.error is None


# -- the Astarte SDK's semantics ------------------------------------------------------


async def test_none_unsets_but_falsy_values_are_values(store: PropertyStore) -> None:
    falsy = [
        ("/zero", 0, "integer"),
        ("/false", False, "boolean"),
        ("/empty", "", "string"),
        ("/blob", b"", "binaryblob"),
        ("/list", [], "integerarray"),
        ("/double", 0.0, "double"),
    ]
    for path, value, type_ in falsy:
        await put(store, path, value, type_)
    for path, value, _ in falsy:
        assert same_value(value, await store.load_prop("dev1", IFACE, 1, path))
    await put(store, "/zero", None, "integer")
    assert await store.load_prop("dev1", IFACE, 1, "/zero") is None
    assert await store.get_prop("dev1", IFACE, "/zero") is None
    assert await store.count("dev1") == len(falsy) - 1


async def test_storing_again_replaces_value_type_and_major(store: PropertyStore) -> None:
    await put(store, "/p", 1, "integer", major=1)
    await put(store, "/p", "two", "string", major=2, source="mqtt", ownership="server", minor=3)
    prop = await store.get_prop("dev1", IFACE, "/p")
    assert prop is not None
    assert (prop.value, prop.type, prop.major, prop.minor) == ("two", PropertyType.STRING, 2, 3)
    assert (prop.ownership, prop.source) == (Ownership.SERVER, Source.MQTT)
    assert await store.count() == 1


async def test_load_with_another_major_deletes_the_stored_value(store: PropertyStore) -> None:
    await put(store, "/p", 7, "integer", major=1)
    await put(store, "/q", 8, "integer", major=1)
    assert await store.load_prop("dev1", IFACE, 2, "/p") is None
    # the stale row is gone, and stays gone for the old major too
    assert await store.get_prop("dev1", IFACE, "/p") is None
    assert await store.load_prop("dev1", IFACE, 1, "/p") is None
    # the other property of the interface is untouched
    assert await store.load_prop("dev1", IFACE, 1, "/q") == 8
    assert await store.load_prop("dev1", IFACE, 1, "/missing") is None


async def test_the_stale_major_delete_spares_a_value_stored_meanwhile(
    tmp_path: Path,
) -> None:
    """load_prop queues a delete of the stale row; a value stored under the new major
    before that delete commits must survive it."""
    async with await PropertyStore.open(tmp_path / "s.db", batch_window=60) as store:
        await put(store, "/p", 1, "integer", major=1)
        await store.flush()
        # load_prop runs up to its read (nothing to flush) and waits for the reader
        # thread; meanwhile a value is stored under the new major, queued *before*
        # load_prop queues its delete of the stale row
        load = asyncio.ensure_future(store.load_prop("dev1", IFACE, 2, "/p"))
        await asyncio.sleep(0)
        assert not load.done()
        assert store.stats.pending == 0
        await put(store, "/p", 2, "integer", major=2)
        assert await load is None
        assert store.stats.pending == 2  # the new value, then the conditional delete
        assert await store.load_prop("dev1", IFACE, 2, "/p") == 2


async def test_deletes_are_scoped_to_device_and_interface(store: PropertyStore) -> None:
    for device in ("dev1", "dev2"):
        for interface in (IFACE, "org.other.I"):
            for path in ("/a", "/b"):
                await put(store, path, 1, "integer", device=device, interface=interface)
    await store.delete_prop("dev1", IFACE, "/a")
    assert await store.count() == 7
    assert await store.get_prop("dev1", IFACE, "/a") is None
    await store.delete_prop("dev1", IFACE, "/never-existed")
    await store.delete_props_from_interface("dev1", IFACE)
    assert await store.count("dev1") == 2
    assert await store.count("dev2") == 4
    await store.clear("dev2")
    assert await store.devices() == ["dev1"]
    await store.clear()
    assert await store.count() == 0


async def test_load_all_props_returns_every_field_of_one_device_in_order(
    store: PropertyStore,
) -> None:
    await put(store, "/z", 1, "integer", interface="org.b.I", updated_ms=1_700_000_000_123)
    await put(
        store,
        "/a",
        "x",
        "string",
        interface="org.a.I",
        major=2,
        minor=1,
        ownership="server",
        source="mqtt",
        native_type="json",
        updated_ms=5,
    )
    await put(store, "/other", 1, "integer", device="dev2")
    assert await store.load_all_props("dev1") == [
        Property(
            device="dev1",
            interface="org.a.I",
            major=2,
            minor=1,
            path="/a",
            type=PropertyType.STRING,
            value="x",
            ownership=Ownership.SERVER,
            source=Source.MQTT,
            updated_ms=5,
            native_type="json",
        ),
        Property(
            device="dev1",
            interface="org.b.I",
            major=1,
            minor=0,
            path="/z",
            type=PropertyType.INTEGER,
            value=1,
            ownership=Ownership.DEVICE,
            source=Source.OPERATOR,
            updated_ms=1_700_000_000_123,
            native_type=None,
        ),
    ]
    assert await store.load_all_props("nobody") == []


async def test_updated_ms_defaults_to_now(store: PropertyStore) -> None:
    before = int(dt.datetime.now(UTC).timestamp() * 1000)
    await put(store, "/p", 1, "integer")
    after = int(dt.datetime.now(UTC).timestamp() * 1000)
    prop = await store.get_prop("dev1", IFACE, "/p")
    assert prop is not None
    assert before - 1 <= prop.updated_ms <= after + 1


# -- queries for the property browser -------------------------------------------------


@pytest.fixture
async def browsed(store: PropertyStore) -> PropertyStore:
    tree = {
        ("sw1", "org.fleettop.snmp.Values"): ["/1.3.6.1.2.1.1.3.0", "/1.3.6.1.2.1.1.5.0"],
        ("sw1", "org.acme.Sensors"): [
            "/sensors",
            "/sensors/Temp/value",
            "/sensors/temp/unit",
            "/sensors/hum/value",
            "/100%_sure",
        ],
        ("ap1", "org.acme.Sensors"): ["/sensors/temp/value", "/sensors/temp/value/raw"],
    }
    for (device, interface), paths in tree.items():
        for path in paths:
            owner = "server" if path.endswith("unit") else "device"
            await put(
                store, path, 1, "integer", device=device, interface=interface, ownership=owner
            )
    return store


def keys(props: list[Property]) -> list[str]:
    return [f"{p.device} {p.interface}{p.path}" for p in props]


@pytest.mark.parametrize(
    ("path_filter", "expected"),
    [
        # substring, ASCII case-insensitive, % and _ literal
        ("temp", ["ap1 /sensors/temp/value", "ap1 /sensors/temp/value/raw",
                  "sw1 /sensors/Temp/value", "sw1 /sensors/temp/unit"]),
        ("1.1.5", ["sw1 /1.3.6.1.2.1.1.5.0"]),
        ("%_", ["sw1 /100%_sure"]),
        ("_", ["sw1 /100%_sure"]),
        # MQTT-style, case-sensitive, leading slash optional
        ("/sensors/+/value", ["ap1 /sensors/temp/value", "sw1 /sensors/Temp/value",
                              "sw1 /sensors/hum/value"]),
        ("sensors/temp/+", ["ap1 /sensors/temp/value", "sw1 /sensors/temp/unit"]),
        ("/sensors/temp/#", ["ap1 /sensors/temp/value", "ap1 /sensors/temp/value/raw",
                             "sw1 /sensors/temp/unit"]),
        ("/sensors/#", ["ap1 /sensors/temp/value", "ap1 /sensors/temp/value/raw",
                        "sw1 /sensors", "sw1 /sensors/Temp/value", "sw1 /sensors/hum/value",
                        "sw1 /sensors/temp/unit"]),
        ("+", ["sw1 /1.3.6.1.2.1.1.3.0", "sw1 /1.3.6.1.2.1.1.5.0", "sw1 /100%_sure",
               "sw1 /sensors"]),
        ("/+/+/+/+", ["ap1 /sensors/temp/value/raw"]),
    ],
)  # fmt: skip
async def test_path_filters(browsed: PropertyStore, path_filter: str, expected: list[str]) -> None:
    found = await browsed.query(path_filter=path_filter)
    assert sorted(f"{p.device} {p.path}" for p in found) == sorted(expected)
    assert await browsed.count(path_filter=path_filter) == len(expected)


async def test_hash_alone_matches_everything(browsed: PropertyStore) -> None:
    assert await browsed.count(path_filter="#") == await browsed.count() == 9


async def test_query_filters_combine_and_page_in_key_order(browsed: PropertyStore) -> None:
    everything = await browsed.query()
    order = [(p.device, p.interface, p.path) for p in everything]
    assert order == sorted(order)
    assert [p.device for p in everything[:2]] == ["ap1", "ap1"]
    pages = [await browsed.query(limit=4, offset=o) for o in (0, 4, 8)]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [p for page in pages for p in page] == everything
    sensors = await browsed.query("sw1", "org.acme.Sensors", "/sensors/#", ownership="device")
    assert keys(sensors) == [
        "sw1 org.acme.Sensors/sensors",
        "sw1 org.acme.Sensors/sensors/Temp/value",
        "sw1 org.acme.Sensors/sensors/hum/value",
    ]
    assert await browsed.count(interface="org.acme.Sensors") == 7
    assert await browsed.count(ownership=Ownership.SERVER) == 1
    assert await browsed.count(source="operator") == 9
    assert await browsed.count(source="snmp") == 0
    assert await browsed.query(limit=0) == []
    assert len(await browsed.query(limit=None)) == 9


async def test_browser_summaries(browsed: PropertyStore) -> None:
    assert await browsed.devices() == ["ap1", "sw1"]
    assert await browsed.interfaces("sw1") == [
        ("org.acme.Sensors", 1, 5),
        ("org.fleettop.snmp.Values", 1, 2),
    ]
    assert await browsed.interfaces() == [
        ("org.acme.Sensors", 1, 7),
        ("org.fleettop.snmp.Values", 1, 2),
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [("/a+/b", "whole level"), ("/a/#/b", "last level"), ("/#x", "whole level")],
)
async def test_malformed_patterns_raise_value_error(
    store: PropertyStore, bad: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.query(path_filter=bad)
    with pytest.raises(ValueError, match=message):
        compile_path_filter(bad)


async def test_bad_query_bounds_raise_value_error(store: PropertyStore) -> None:
    with pytest.raises(ValueError, match="limit"):
        await store.query(limit=-1)
    with pytest.raises(ValueError, match="offset"):
        await store.query(offset=-5)
    with pytest.raises(ValueError, match="unknown ownership"):
        await store.count(ownership="everyone")
    with pytest.raises(ValueError, match="not valid Unicode"):
        await store.query(path_filter="\ud800")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/a/+", "/a/b", True),
        ("/a/+", "/a/b/c", False),
        ("/a/+", "/a", False),
        ("/a/#", "/a", True),
        ("/a/#", "/a/b/c", True),
        ("/a/#", "/ab", False),
        ("/+/b", "/x/b", True),
        ("/a/+/c", "/a//c", True),
        ("/A/b", "/a/b", False),
        ("#", "/anything/at/all", True),
    ],
)
def test_path_matches(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(pattern, path) is expected


# -- the writer: queued, batched, flushed, bounded -------------------------------------


async def test_store_prop_returns_once_queued_and_flush_commits(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await PropertyStore.open(db, batch_window=60) as store:
        for i in range(10):
            await put(store, f"/p{i}", i, "integer")
        assert store.stats.pending == 10
        assert rows(db) == []  # queued, not committed: another reader sees nothing
        await asyncio.wait_for(store.flush(), HANG)
        assert len(rows(db)) == 10
        assert store.stats.pending == 0


async def test_writes_are_committed_in_batches_of_at_most_batch_size(tmp_path: Path) -> None:
    async with await PropertyStore.open(tmp_path / "s.db", batch_size=1000, batch_window=60) as s:
        for i in range(2500):
            await put(s, f"/p{i}", i, "longinteger")
        await asyncio.wait_for(s.flush(), HANG)
        assert (s.stats.batches, s.stats.committed) == (3, 2500)
        # consecutive writes of the same statement, and a mix, keep their order
        await put(s, "/p0", 1, "longinteger")
        await s.delete_prop("dev1", IFACE, "/p0")
        await put(s, "/p0", 2, "longinteger")
        await s.delete_prop("dev1", IFACE, "/p1")
        await s.flush()
        assert await s.load_prop("dev1", IFACE, 1, "/p0") == 2
        assert await s.load_prop("dev1", IFACE, 1, "/p1") is None
        assert s.stats.batches == 4


async def test_the_batch_window_commits_without_a_flush(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await PropertyStore.open(db, batch_window=0.05) as store:
        await put(store, "/p", 1, "integer")
        await eventually(lambda: len(rows(db)) == 1)
        assert store.stats.batches == 1


async def test_reads_see_their_own_writes_without_waiting_for_the_window(
    tmp_path: Path,
) -> None:
    async with await PropertyStore.open(tmp_path / "s.db", batch_window=3600) as store:
        await put(store, "/p", 41, "integer")
        # a one-hour window: only the flush-before-read makes this return
        assert await asyncio.wait_for(store.load_prop("dev1", IFACE, 1, "/p"), HANG) == 41
        await store.delete_prop("dev1", IFACE, "/p")
        assert await asyncio.wait_for(store.count(), HANG) == 0


async def test_a_full_queue_makes_writers_wait_and_memory_stays_bounded(tmp_path: Path) -> None:
    async with await PropertyStore.open(
        tmp_path / "s.db", max_pending=10, batch_size=1000, batch_window=3600
    ) as store:
        peak = 0

        async def produce() -> None:
            nonlocal peak
            for i in range(250):
                await put(store, f"/p{i}", i, "integer")
                peak = max(peak, store.stats.pending)

        await asyncio.wait_for(produce(), HANG)
        assert peak <= 10
        await store.flush()
        assert await store.count() == 250
        assert store.stats.batches >= 25


async def test_aclose_commits_everything_and_later_use_raises(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = await PropertyStore.open(db, batch_window=3600)
    for i in range(5000):
        await put(store, f"/p{i}", i, "integer")
    await asyncio.wait_for(store.aclose(), HANG)
    await store.aclose()  # idempotent
    assert len(rows(db)) == 5000
    assert wal_is_empty(db)
    with pytest.raises(StoreClosedError):
        await put(store, "/late", 1, "integer")
    with pytest.raises(StoreClosedError):
        await store.load_prop("dev1", IFACE, 1, "/p1")
    assert store.closed


async def test_aclose_completes_even_if_the_caller_is_cancelled(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = await PropertyStore.open(db, batch_window=3600)
    for i in range(3000):
        await put(store, f"/p{i}", i, "integer")
    closing = asyncio.ensure_future(store.aclose())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    await asyncio.wait_for(store.aclose(), HANG)  # waits for the shielded close
    assert len(rows(db)) == 3000


async def test_a_failed_commit_stops_writes_but_keeps_committed_data_readable(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    store = await PropertyStore.open(db, busy_timeout=0.05)
    await put(store, "/kept", 1, "integer")
    await store.flush()
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        await put(store, "/lost", 2, "integer")
        with pytest.raises(StoreLockedError, match="locked by another process"):
            await asyncio.wait_for(store.flush(), HANG)
        assert isinstance(store.error, StoreLockedError)
        assert store.stats.discarded == 1
        with pytest.raises(StoreLockedError):
            await put(store, "/later", 3, "integer")
        # reads still serve what was committed
        assert await store.load_prop("dev1", IFACE, 1, "/kept") == 1
        assert await store.load_prop("dev1", IFACE, 1, "/lost") is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    await store.aclose()  # does not raise: the failure was reported
    assert rows(db, "SELECT path FROM properties") == [("/kept",)]


async def test_each_store_owns_its_tasks_and_leaves_none_behind(tmp_path: Path) -> None:
    before = set(asyncio.all_tasks())
    store = await PropertyStore.open(tmp_path / "s.db")
    await put(store, "/p", 1, "integer")
    await store.aclose()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


# -- opening: bad files are refused and left untouched ---------------------------------


async def make_store(db: Path, count: int = 3) -> None:
    async with await PropertyStore.open(db) as store:
        for i in range(count):
            await put(store, f"/p{i}", i, "integer")


async def test_missing_directories_are_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "store.db"
    await make_store(db)
    assert len(rows(db)) == 3


@pytest.mark.parametrize("bounds", [{"batch_size": 0}, {"max_pending": 0}, {"batch_window": -1.0}])
async def test_bad_bounds_are_refused_before_the_file_is_touched(
    tmp_path: Path, bounds: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="must"):
        await PropertyStore.open(tmp_path / "s.db", **bounds)
    assert not (tmp_path / "s.db").exists()


async def test_a_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        await PropertyStore.open(tmp_path)


@pytest.mark.parametrize(
    "content",
    [os.urandom(8192), b"hello, not a database\n", b"SQLite format 3\x00" + b"\xff" * 200],
    ids=["random", "text", "bad-header"],
)
async def test_a_file_that_is_not_a_database_is_refused_untouched(
    tmp_path: Path, content: bytes
) -> None:
    db = tmp_path / "store.db"
    db.write_bytes(content)
    with pytest.raises(StoreCorruptError, match="not a valid SQLite database") as info:
        await PropertyStore.open(db)
    assert info.value.path == db
    assert str(db) in str(info.value)
    assert "untouched" in str(info.value)
    assert db.read_bytes() == content


async def test_a_damaged_database_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await make_store(db, count=3000)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page : 5 * page] = os.urandom(2 * page)  # two pages in the middle
    db.write_bytes(bytes(data))
    before = digest(db)
    with pytest.raises(StoreCorruptError, match=r"damaged|not a valid"):
        await PropertyStore.open(db)
    assert digest(db) == before


async def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await make_store(db)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {schema.CURRENT_VERSION + 1}")
    before = digest(db)
    with pytest.raises(StoreSchemaError, match="newer fleettop") as info:
        await PropertyStore.open(db)
    assert f"schema version {schema.CURRENT_VERSION + 1}" in str(info.value)
    assert digest(db) == before
    assert len(rows(db)) == 3


async def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "astarte.db"
    with sqlite3.connect(db) as conn:  # the Astarte SDK's own table, for instance
        conn.execute(
            "CREATE TABLE properties (interface TEXT NOT NULL, major INTEGER NOT NULL,"
            " path TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (interface, path))"
        )
    conn.close()
    before = digest(db)
    with pytest.raises(StoreSchemaError, match="not a fleettop property store"):
        await PropertyStore.open(db)
    assert digest(db) == before


_LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute(sys.argv[2])
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def locked_by_another_process(db: Path, begin: str = "BEGIN EXCLUSIVE") -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(db), begin],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=HANG)


async def test_a_store_locked_by_another_process_is_refused_then_opens(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await make_store(db)
    with locked_by_another_process(db):
        with pytest.raises(StoreLockedError, match="locked by another process"):
            await PropertyStore.open(db, lock_timeout=0.1)
        assert len(rows(db)) == 3  # the reader's view is intact
    async with await PropertyStore.open(db) as store:
        assert await store.count() == 3


async def test_a_non_wal_database_locked_exclusively_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await schema.migrate(conn)  # a fleettop schema, still in rollback-journal mode
    before = digest(db)
    with locked_by_another_process(db), pytest.raises(StoreLockedError):
        await PropertyStore.open(db, lock_timeout=0.1)
    assert digest(db) == before


@contextmanager
def read_only(target: Path) -> Iterator[None]:
    """Make ``target`` (a file or directory) really read-only for this process.

    chmod, and as root (who ignores permission bits) the immutable attribute too.
    """
    mode = target.stat().st_mode
    target.chmod(0o555 if target.is_dir() else 0o444)
    immutable = False
    try:
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            if chattr is None:
                pytest.skip("running as root without chattr: cannot make a file read-only")
            done = subprocess.run([chattr, "+i", str(target)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"running as root and chattr +i failed: {done.stderr!r}")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr") or "chattr", "-i", str(target)], check=True)
        target.chmod(mode)


async def test_a_read_only_file_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    await make_store(db)
    before = digest(db)
    with read_only(db):
        with pytest.raises(StoreReadOnlyError, match="read-only") as info:
            await PropertyStore.open(db)
        assert str(db) in str(info.value)
    assert digest(db) == before
    assert len(rows(db)) == 3


async def test_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "store.db"
    await make_store(db)
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]  # clean close: no -wal
    before = digest(db)
    with read_only(folder):
        with pytest.raises(StoreReadOnlyError):
            await PropertyStore.open(db)
        with pytest.raises(StoreReadOnlyError):
            await PropertyStore.open(folder / "new.db")
    assert digest(db) == before
    assert not (folder / "new.db").exists()


# -- schema versions and migrations -----------------------------------------------------


async def test_a_new_store_is_at_the_current_version_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    await make_store(db)
    assert rows(db, "PRAGMA user_version") == [(schema.CURRENT_VERSION,)]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


async def test_a_version_1_file_migrates_to_the_current_schema(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        assert await schema.migrate(conn, target=1) == 0
        await conn.execute(
            "INSERT INTO properties (device, interface, path, major, type, value, ownership,"
            " source, updated_ms) VALUES ('sw1', 'org.a.I', '/p', 3, 'doublearray',"
            " '[1.5,-0.0]', 'server', 'mqtt', 1700000000000)"
        )
    assert rows(db, "PRAGMA user_version") == [(1,)]
    async with await PropertyStore.open(db) as store:
        (prop,) = await store.load_all_props("sw1")
        assert prop == Property(
            device="sw1",
            interface="org.a.I",
            major=3,
            minor=0,
            path="/p",
            type=PropertyType.DOUBLEARRAY,
            value=[1.5, -0.0],
            ownership=Ownership.SERVER,
            source=Source.MQTT,
            updated_ms=1_700_000_000_000,
            native_type=None,
        )
        assert same_value(prop.value, [1.5, -0.0])
        await put(store, "/q", 1, "integer", device="sw1", minor=2, native_type="X")
    assert rows(db, "PRAGMA user_version") == [(schema.CURRENT_VERSION,)]
    assert rows(db, "SELECT path, minor, native_type FROM properties ORDER BY path") == [
        ("/p", 0, None),
        ("/q", 2, "X"),
    ]


async def test_migrations_are_forward_only(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "s.db", isolation_level=None) as conn:
        await schema.migrate(conn)
        with pytest.raises(ValueError, match="backwards"):
            await schema.migrate(conn, target=1)
        with pytest.raises(ValueError, match="unknown schema version"):
            await schema.migrate(conn, target=schema.CURRENT_VERSION + 1)
        assert await schema.version(conn) == schema.CURRENT_VERSION


async def test_the_schema_rejects_a_value_whose_storage_class_contradicts_its_type(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    await make_store(db)
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO properties (device, interface, path, major, type, value, ownership,"
            " source, updated_ms) VALUES ('d', 'i', '/x', 1, 'integer', 'text', 'device',"
            " 'snmp', 0)"
        )
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO properties (device, interface, path, major, type, value, ownership,"
            " source, updated_ms) VALUES ('d', 'i', '/x', 1, 'float', 1.5, 'device',"
            " 'snmp', 0)"
        )


async def test_a_hand_damaged_value_is_reported_not_guessed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await PropertyStore.open(db) as store:
        await put(store, "/a", [1, 2], "integerarray")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE properties SET value = '[1, \"two\"]'")
    async with await PropertyStore.open(db) as store:
        with pytest.raises(StoreCorruptError, match=re.escape("dev1 org.fleettop.test.Values/a")):
            await store.load_all_props("dev1")
        assert rows(db, "SELECT value FROM properties") == [('[1, "two"]',)]


# -- the SNMP feeder ----------------------------------------------------------------------


def read_payload(snmp_type: str, value: Any, cause: str = "CHANGE") -> dict[str, Any]:
    return {"session_id": None, "cause": cause, "data": {"type": snmp_type, "value": value}}


SNMP_VALUES: list[tuple[str, str, Any, PropertyType, Any]] = [
    # oid, SNMP type, SNMP value, property type, stored value
    ("1.3.6.1.2.1.2.2.1.8.1", "INTEGER", -(2**31), PropertyType.INTEGER, -(2**31)),
    ("1.3.6.1.2.1.2.2.1.5.1", "UNSIGNED", 2**32 - 1, PropertyType.LONGINTEGER, 2**32 - 1),
    ("1.3.6.1.2.1.2.2.1.10.1", "COUNTER", 4_000_000_000, PropertyType.LONGINTEGER, 4_000_000_000),
    ("1.3.6.1.2.1.1.3.0", "TIME_TICKS", 123456, PropertyType.LONGINTEGER, 123456),
    ("1.3.6.1.2.1.31.1.1.1.6.1", "BIG_COUNTER", 2**63 - 1, PropertyType.LONGINTEGER, 2**63 - 1),
    ("1.3.6.1.2.1.31.1.1.1.6.2", "BIG_COUNTER", 2**64 - 1, PropertyType.STRING, str(2**64 - 1)),
    ("1.3.6.1.2.1.1.5.0", "STRING", "core-sw1 ☃", PropertyType.STRING, "core-sw1 ☃"),
    ("1.3.6.1.2.1.2.2.1.6.1", "STRING_HEX", "00a0c9ffee01", PropertyType.BINARYBLOB,
     bytes.fromhex("00a0c9ffee01")),
    ("1.3.6.1.2.1.1.2.0", "OBJECT_ID", "1.3.6.1.4.1.8072.3.2.10", PropertyType.STRING,
     "1.3.6.1.4.1.8072.3.2.10"),
    ("1.3.6.1.2.1.4.20.1.1.1", "IP_ADDRESS", "192.0.2.1", PropertyType.STRING, "192.0.2.1"),
    ("1.3.6.1.4.1.9.9.1.0", "ARBITRARY", "", PropertyType.BINARYBLOB, b""),
    ("1.3.6.1.2.1.1.9.0", "ERROR", "NO_SUCH_OBJECT", PropertyType.STRING, "NO_SUCH_OBJECT"),
]  # fmt: skip


async def test_the_feeder_stores_every_snmp_type_and_last_known_gives_it_back(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    async with EventManager() as bus:
        store = await PropertyStore.open(db)
        feeder = StoreFeeder(bus, store)
        for oid, snmp_type, value, _, _ in SNMP_VALUES:
            bus.publish(
                ("snmp", "sw1", "read", oid),
                read_payload(snmp_type, value),
                source_timestamp=1_700_000_000.5,
            )
        bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED", "reason": None})
        await feeder.aclose()
        await store.aclose()
    assert feeder.stored == len(SNMP_VALUES)
    assert feeder.skipped == 0
    async with await PropertyStore.open(db) as store:  # as a screen at startup
        props = {p.path: p for p in await store.load_all_props("sw1")}
        assert len(props) == len(SNMP_VALUES)
        for oid, snmp_type, _, prop_type, stored in SNMP_VALUES:
            prop = props["/" + oid]
            assert (prop.interface, prop.major, prop.type) == (
                SNMP_INTERFACE,
                SNMP_MAJOR,
                prop_type,
            )
            assert same_value(stored, prop.value)
            assert (prop.ownership, prop.source) == (Ownership.DEVICE, Source.SNMP)
            assert (prop.native_type, prop.updated_ms) == (snmp_type, 1_700_000_000_500)
        known = await last_known(store, "sw1")
    assert {oid: (k.data, k.updated_ms) for oid, k in known.items()} == {
        oid: ({"type": snmp_type, "value": value}, 1_700_000_000_500)
        for oid, snmp_type, value, _, _ in SNMP_VALUES
    }


async def test_the_feeder_keeps_the_last_value_of_each_oid_and_never_drops_one(
    tmp_path: Path,
) -> None:
    async with EventManager() as bus:
        # a tiny store queue: the feeder waits, the bus's BLOCK queue slows publishers
        store = await PropertyStore.open(tmp_path / "s.db", max_pending=5, batch_size=7)
        feeder = StoreFeeder(bus, store, batch_size=3, maxsize=4)
        for i in range(600):
            await bus.publish_wait(
                ("snmp", f"dev{i % 3}", "read", f"1.3.6.1.2.1.2.2.1.10.{i % 50}"),
                read_payload("COUNTER", i),
            )
        await feeder.aclose()
        assert feeder.subscription.stats.dropped == 0
        for device in ("dev0", "dev1", "dev2"):
            known = await last_known(store, device)
            assert len(known) == 50
            for oid, value in known.items():
                index = int(oid.rsplit(".", 1)[1])
                last = max(i for i in range(600) if i % 50 == index and f"dev{i % 3}" == device)
                assert value.data == {"type": "COUNTER", "value": last}
        await store.aclose()


async def test_the_feeder_skips_malformed_reads_and_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with EventManager() as bus:
        store = await PropertyStore.open(tmp_path / "s.db")
        feeder = StoreFeeder(bus, store)
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.1"), read_payload("STRING_HEX", "zz"))
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.2"), read_payload("FLOAT", 1.5))
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.3"), {"no": "data"})
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.4"), read_payload("INTEGER", 2**40))
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.5"), read_payload("INTEGER", 5))
        await bus.drain()
        assert list(await feeder.last_known("sw1")) == ["1.3.6.1.5"]
        await feeder.aclose()
        assert (feeder.stored, feeder.skipped) == (1, 4)
        assert "not storing snmp/sw1/read/1.3.6.1.1" in caplog.text
        await store.aclose()


async def test_the_feeder_stops_persisting_when_the_store_is_gone_and_the_bus_carries_on(
    tmp_path: Path,
) -> None:
    async with EventManager() as bus:
        store = await PropertyStore.open(tmp_path / "s.db")
        feeder = StoreFeeder(bus, store)
        await store.aclose()
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.5"), read_payload("INTEGER", 5))
        await eventually(lambda: feeder.failed is not None)
        assert isinstance(feeder.failed, StoreClosedError)
        assert feeder.subscription.closed
        seen: list[object] = []
        bus.subscribe(("snmp", "*"), seen.append)
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.5"), read_payload("INTEGER", 6))
        await bus.drain()
        assert len(seen) == 1
        await feeder.aclose()


async def test_the_feeder_persists_the_demo_fleets_polled_values(tmp_path: Path) -> None:
    """End to end with the real SNMP manager polling the embedded demo agents."""
    from console.runtime import Runtime

    db = tmp_path / "s.db"
    runtime = Runtime(demo=True)
    bus = await runtime.start_bus()
    store = await PropertyStore.open(db)
    feeder = StoreFeeder(bus, store)
    try:
        await runtime.start()
        names = set(runtime.snmp_devices)
        await eventually(lambda: feeder.stored >= 3 * len(names), within=60)
    finally:
        await feeder.aclose()
        await runtime.aclose()
        await store.aclose()
    async with await PropertyStore.open(db) as reopened:
        for name in names:
            known = await last_known(reopened, name)
            assert known, name
            assert all(k.data["type"] and k.updated_ms > 0 for k in known.values())


# -- one fleettop per store file (a lock beside the database) ------------------------


@contextmanager
def held_by_another_fleettop(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A real process that has the store at ``db`` open and writes to it
    (``tests/store_writer_proc.py``, streaming 10 updates a second, its progress lines
    left in the pipe), until the block ends (SIGKILL)."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.store_writer_proc", str(db), "holder", "--rate", "10"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "opened\n"
        yield holder
    finally:
        holder.kill()  # SIGKILL: the kernel releases its lock
        holder.wait(timeout=HANG)


async def test_a_store_open_in_another_process_is_refused_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with held_by_another_fleettop(db) as holder:
        with pytest.raises(StoreInUseError) as info:
            await PropertyStore.open(db)
        assert info.value.pid == holder.pid
        assert info.value.path == db
        message = str(info.value)
        assert str(db) in message
        assert f"process {holder.pid}" in message
        assert "already open for writing" in message
        assert isinstance(info.value, StoreLockedError)
        # a second process is refused the same way, and tells why
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "tests.store_writer_proc", str(db), "second", "--close"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=HANG,
            check=False,
        )
        assert second.returncode == 3, second.stderr
        assert f"already open for writing by process {holder.pid}" in second.stdout
        # the holder has committed rows before it is killed (a loaded machine may
        # take longer than the refusals above to reach its first commit)
        await eventually(
            lambda: rows(db, "SELECT count(*) FROM properties WHERE device = 'holder'")[0][0]
        )
    # killed with SIGKILL: its lock went with it, the store opens and holds its rows
    async with await PropertyStore.open(db) as store:
        assert await store.count(device="holder") > 0
    # a clean close removes the lock file
    assert not await asyncio.to_thread(os.path.exists, f"{db}.lock")


async def test_one_process_cannot_open_a_store_twice(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    async with await PropertyStore.open(db):
        with pytest.raises(StoreInUseError, match=f"process {os.getpid()}"):
            await PropertyStore.open(db)
    async with await PropertyStore.open(db) as again:
        assert await again.count() == 0


def fleet_config(tmp_path: Path, db: Path) -> Path:
    config = tmp_path / "fleet.yaml"
    config.write_text(
        "devices:\n"
        "  - name: core-sw1\n"
        "    snmp: {remote_host: 127.0.0.1, version: V2C, community: public,"
        " polling_oids: [1.3.6.1.2.1.1.3.0]}\n"
        f"store: {{path: {str(db)!r}}}\n"
    )
    return config


@pytest.mark.parametrize("command", ["run", "demo"])
def test_fleettop_refuses_to_start_on_a_store_in_use(tmp_path: Path, command: str) -> None:
    data = tmp_path / "data"
    db = data / "demo.db" if command == "demo" else tmp_path / "fleet.db"
    args = ["demo"] if command == "demo" else ["run", str(fleet_config(tmp_path, db))]
    with held_by_another_fleettop(db) as holder:
        done = subprocess.run(
            [sys.executable, "-m", "console.cli", *args, "--headless", "--seconds", "5"],
            cwd=REPO,
            env=dict(os.environ, FLEETTOP_DATA_DIR=str(data), PYTHONWARNINGS="ignore"),
            capture_output=True,
            text=True,
            timeout=HANG,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # not one event: it never ran
    assert "Traceback" not in done.stderr
    assert f"{db} is already open for writing by process {holder.pid}" in done.stderr


async def test_the_runtime_refuses_a_store_that_another_process_took_meanwhile(
    tmp_path: Path,
) -> None:
    from console.config import load_config
    from console.runtime import Runtime

    db = tmp_path / "fleet.db"
    runtime = Runtime(load_config(fleet_config(tmp_path, db)))
    with held_by_another_fleettop(db) as holder:
        try:
            with pytest.raises(StoreInUseError) as info:
                await runtime.start()
        finally:
            await runtime.aclose()
    assert info.value.pid == holder.pid
    assert runtime.store is None
