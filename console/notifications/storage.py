"""The notification stream and the alarms, kept in the store (schema version 4).

* :class:`NotificationLog` keeps :class:`~console.notifications.model.Notification`
  rows in the ``notifications`` table; :meth:`NotificationLog.recent` reads them back
  (the replay after a restart, and the pages older than the in-memory ring) marked
  as history, with negative ids (``-rowid``) so they never collide with live ones.
  :meth:`NotificationLog.prune` applies the retention (age in seconds, row count).
* :class:`AlarmLog` keeps one row per alarm in the ``alarms`` table, upserted on
  every change (raised, re-occurred, cleared, acknowledged); the alarms not yet
  closed come back after a restart (:meth:`AlarmLog.load_open`).

Both hold no resources of their own and use only the store's public API: they read
with :meth:`PropertyStore.fetch` (which flushes first: read-your-writes) and write with
:meth:`PropertyStore.execute` through its one batching writer, so a write returns
once queued and never blocks the loop; it waits only while the writer's bounded queue
is full (backpressure). The store's owner closes the store. A writer that stopped
(disk full) makes every write raise its :class:`~console.store.errors.StoreError`;
the caller decides to carry on in memory.

Rows are numbered by fleettop, not SQLite: :class:`NotificationLog` hands out
increasing ids at queue time (:meth:`NotificationLog.record` returns them), so the
notification center knows the row of every live notification of its ring and pages
back from exactly there. Both tables are ``AUTOINCREMENT``: ``sqlite_sequence``
remembers the highest id ever used, so ids never repeat, even after a prune.

Payloads are stored as JSON text (``ensure_ascii``: a lone surrogate cannot break a
commit); a value that is not JSON (NaN, bytes, a set) is stored through
:func:`json_safe`. A payload is written whole up to :attr:`NotificationLog.max_payload_bytes`
(``notifications.stored_payload_bytes``); a larger one is written truncated with its
size noted (:func:`~console.notifications.payloads.cut_payload`), so a 10 MB MQTT
message costs the file 1 MiB, not 13 MB of base64.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from console.events import JsonValue
from console.notifications.alarms.record import Alarm
from console.notifications.model import Category, Notification, Severity
from console.notifications.payloads import DEFAULT_STORED_PAYLOAD_BYTES, cut_payload
from console.pace import Pace

if TYPE_CHECKING:
    from console.store import PropertyStore

__all__ = [
    "AlarmLog",
    "NotificationLog",
    "glob_to_sql",
    "json_safe",
]

mlog = logging.getLogger(__name__)

_NOTIFICATION_INSERT: Final = (
    "INSERT INTO notifications (id, time_ms, category, severity, device, type, summary, payload)"
    " VALUES (?,?,?,?,?,?,?,?)"
)
_NOTIFICATION_SELECT: Final = (
    "SELECT id, time_ms, category, severity, device, type, summary, payload FROM notifications"
)
_ALARM_UPSERT: Final = (
    "INSERT OR REPLACE INTO alarms (id, key, rule, device, severity, message, source,"
    " raised_ms, updated_ms, cleared_ms, acked_ms, count, payload)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_CLOSED: Final = "cleared_ms IS NOT NULL AND acked_ms IS NOT NULL"
_CATEGORIES: Final = {c.value: c for c in Category}
_SEVERITIES: Final = tuple(Severity)
#: The last millisecond of year 9999 (the store's ``time_ms`` range is 0..this).
_MAX_TIME_MS: Final = 253_402_300_799_999
#: Nesting depth past which :func:`json_safe` gives up and writes text.
_MAX_DEPTH: Final = 100


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ms(seconds: float | None) -> int | None:
    """``seconds`` since the epoch as whole ms, clamped into the store's range."""
    if seconds is None:
        return None
    if not math.isfinite(seconds):
        return 0 if seconds < 0 else _MAX_TIME_MS
    return min(max(round(seconds * 1000), 0), _MAX_TIME_MS)


def _text(value: str) -> str:
    """``value`` made storable as SQLite text (lone surrogates replaced by ``?``)."""
    if value.isascii():
        return value
    return value.encode("utf-8", "replace").decode("utf-8")


def json_safe(value: Any, _depth: int = 0) -> JsonValue:
    """``value`` turned into something :func:`json.dumps` accepts strictly: NaN and
    infinities become the strings ``"nan"``, ``"inf"``, ``"-inf"``; tuples and sets
    lists; bytes their hex; non-string keys strings; text with lone surrogates gets
    ``?`` for them; anything else its ``str()``; nesting deeper than 100 levels is cut
    to its ``repr``. Never raises."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if _depth > _MAX_DEPTH:
        return _text(repr(value)[:1000])
    if isinstance(value, Mapping):
        return {_text(str(k)): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item, _depth + 1) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return _text(str(value))


_encode = msgspec.json.Encoder().encode


def _plain(value: Any, depth: int = 0) -> bool:
    """True when ``value`` is plain JSON that msgspec writes as :func:`json.dumps`
    does: ``str``, ``int``, ``bool``, ``None``, finite floats (msgspec writes NaN as
    ``null``, :func:`json_safe` as text), lists, tuples and dicts with ``str`` keys,
    at most :data:`_MAX_DEPTH` deep (bytes, sets and the like go to :func:`json_safe`)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if depth >= _MAX_DEPTH:
        return False
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _dumps(value: Any) -> str:
    """Compact ASCII JSON text for the store; never raises (see :func:`json_safe`).

    msgspec's encoder first (~1 us for an MQTT message's payload where
    :func:`json.dumps` takes ~10: a flood writes every message), when every float is
    finite and the text comes out ASCII (:func:`_plain`); else :func:`json.dumps` (``\\u`` escapes,
    a lone surrogate kept escaped) as before."""
    if _plain(value):
        try:
            data = _encode(value)
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError, OverflowError):
            pass
        else:
            if data.isascii():
                return data.decode("ascii")
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False)


def _loads(text: str) -> JsonValue:
    """JSON text back; text that is not JSON is returned as it is (a damaged row
    still shows)."""
    try:
        value: JsonValue = json.loads(text)
    except ValueError:
        return text
    return value


def glob_to_sql(pattern: str) -> str:
    """An :func:`fnmatch.fnmatchcase` glob as an SQLite ``GLOB`` pattern (both
    case-sensitive with ``*``, ``?`` and ``[...]``; only ``[!...]`` is spelled
    ``[^...]`` in SQLite)."""
    return pattern.replace("[!", "[^")


# -- notifications --------------------------------------------------------------------


class NotificationLog:
    """The notifications of one open :class:`PropertyStore` (its ``notifications``
    table). Holds no resources of its own.

    Args:
        store: the open property store (schema version 4 or later).
        max_payload_bytes: the most of one payload written (:attr:`max_payload_bytes`).

    Raises:
        ValueError: ``max_payload_bytes`` below 1.
    """

    def __init__(
        self, store: PropertyStore, *, max_payload_bytes: int = DEFAULT_STORED_PAYLOAD_BYTES
    ) -> None:
        if max_payload_bytes < 1:
            raise ValueError(f"max_payload_bytes must be at least 1, not {max_payload_bytes!r}")
        self.store = store
        self.max_payload_bytes = max_payload_bytes
        """Bytes of one payload written at most: a larger payload is written truncated
        with its size noted (``"truncated": {"kept", "size"}``)."""
        self._next_id: int | None = None
        self._id_lock = asyncio.Lock()
        self._pace = Pace()

    async def _first_free_id(self) -> int:
        if self._next_id is None:
            async with self._id_lock:
                if self._next_id is None:
                    rows = list(
                        await self.store.fetch(
                            "SELECT max(coalesce((SELECT max(id) FROM notifications), 0),"
                            " coalesce((SELECT seq FROM sqlite_sequence"
                            " WHERE name = 'notifications'), 0))"
                        )
                    )
                    self._next_id = int(rows[0][0]) + 1
        return self._next_id

    async def record(
        self, notifications: Sequence[Notification], pace: Pace | None = None
    ) -> range:
        """Queue ``notifications`` to the store's writer, in order (committed with
        its next batch). Builds each one's summary (the ``summary`` column).

        Returns once queued; waits only while the writer's queue is full. Never
        blocks the loop: it yields to it after each time slice of ``pace`` (the bus's,
        :mod:`console.pace`; a default one without), and waits while ``pace`` holds
        for the operator's key.

        Returns:
            The row ids given to them, in order (consecutive, increasing; a later
            call always gets higher ones).

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the store's writer stopped after a failed commit (the rows
                not yet queued are not recorded).
        """
        first = await self._first_free_id()
        ids = range(first, first + len(notifications))
        self._next_id = ids.stop
        execute = self.store.execute
        most = self.max_payload_bytes
        slice_ = (pace if pace is not None else self._pace).slice()
        for row_id, n in zip(ids, notifications, strict=True):
            await slice_.tick()  # a big batch must not hold the loop (the UI)
            await execute(
                _NOTIFICATION_INSERT,
                (
                    row_id,
                    _ms(n.time),
                    n.category.value,
                    int(n.severity),
                    _text(n.device),
                    _dumps(list(n.event_type)),
                    _text(n.summary),
                    _dumps(cut_payload(n.payload, most)),
                ),
            )
        return ids

    async def recent(
        self,
        limit: int,
        *,
        before: tuple[int, int] | None = None,
        categories: Iterable[Category] | None = None,
        device_glob: str | None = None,
    ) -> list[Notification]:
        """The newest ``limit`` stored notifications matching the filters, returned
        oldest first, each with ``history=True`` and ``id = -rowid``.

        Args:
            limit: at most this many (0 gives ``[]``).
            before: ``(time_ms, rowid)``: only rows recorded before row ``rowid``;
                with ``rowid`` 0 or less (row unknown), rows older than ``time_ms``
                (ms since the epoch).
            categories: only these categories (``None``: all).
            device_glob: only devices matching this glob (case-sensitive
                ``fnmatch`` syntax), ``None`` or ``""`` for any.

        Raises:
            ValueError: a negative limit.
            StoreClosedError: the store is closed.
            StoreError: the file cannot be read.
        """
        if limit < 0:
            raise ValueError(f"limit must not be negative, not {limit!r}")
        if limit == 0:
            return []
        clauses: list[str] = []
        params: list[object] = []
        if before is not None:
            before_ms, rowid = before
            if rowid > 0:
                clauses.append("id < ?")
                params.append(rowid)
            else:
                clauses.append("time_ms < ?")
                params.append(before_ms)
        if categories is not None:
            wanted = sorted({Category(c).value for c in categories})
            if not wanted:
                return []
            if len(wanted) < len(_CATEGORIES):
                clauses.append(f"category IN ({','.join('?' * len(wanted))})")
                params.extend(wanted)
        if device_glob:
            clauses.append("device GLOB ?")
            params.append(glob_to_sql(device_glob))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.store.fetch(
            f"{_NOTIFICATION_SELECT}{where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        found = [self._decode(row) for row in rows]
        found.reverse()
        return found

    @staticmethod
    def _decode(row: Sequence[Any]) -> Notification:
        row_id, time_ms, category, severity, device, type_text, summary, payload = row
        event_type = _loads(type_text)
        if not (isinstance(event_type, list) and all(isinstance(s, str) for s in event_type)):
            event_type = [str(type_text)]
        return Notification(
            -int(row_id),
            int(time_ms) / 1000,
            _CATEGORIES.get(category, Category.EVENT),
            _SEVERITIES[min(max(int(severity), 0), len(_SEVERITIES) - 1)],
            str(device),
            tuple(str(s) for s in event_type),
            _loads(payload),
            history=True,
            summary=str(summary),
        )

    async def prune(self, *, max_age: float | None, max_count: int | None) -> int:
        """Delete the rows older than ``max_age`` seconds and all but the newest
        ``max_count`` rows (``None``: no limit of that kind), through the writer;
        returns once committed.

        Returns:
            How many rows were deleted.

        Raises:
            ValueError: a negative ``max_age`` or ``max_count``.
            StoreClosedError: the store is closed.
            StoreError: the writer stopped, or the file cannot be read.
        """
        return await _prune(self.store, "notifications", "time_ms", "", max_age, max_count)

    async def count(self) -> int:
        """How many notifications are stored.

        Raises:
            StoreClosedError, StoreError: the store is closed or cannot be read.
        """
        rows = list(await self.store.fetch("SELECT count(*) FROM notifications"))
        return int(rows[0][0])


async def _prune(
    store: PropertyStore,
    table: str,
    time_column: str,
    only: str,
    max_age: float | None,
    max_count: int | None,
) -> int:
    """Delete the rows of ``table`` (restricted by the SQL condition ``only``) older
    than ``max_age`` s by ``time_column``, and all but the newest ``max_count`` by id."""
    if max_age is not None and not max_age >= 0:
        raise ValueError(f"max_age must be a non-negative number of seconds, not {max_age!r}")
    if max_count is not None and (type(max_count) is not int or max_count < 0):
        raise ValueError(f"max_count must be a non-negative int, not {max_count!r}")
    conditions: list[str] = []
    params: list[object] = []
    if max_age is not None:
        conditions.append(f"{time_column} < ?")
        params.append(_now_ms() - round(max_age * 1000))
    if max_count is not None:
        scope = f" WHERE {only}" if only else ""
        rows = list(
            await store.fetch(
                f"SELECT id FROM {table}{scope} ORDER BY id DESC LIMIT 1 OFFSET ?", (max_count,)
            )
        )
        if rows:
            conditions.append("id <= ?")
            params.append(int(rows[0][0]))
    if not conditions:
        return 0
    where = " OR ".join(conditions)
    if only:
        where = f"({only}) AND ({where})"
    rows = list(await store.fetch(f"SELECT count(*) FROM {table} WHERE {where}", params))
    doomed = int(rows[0][0])
    if doomed:
        await store.execute(f"DELETE FROM {table} WHERE {where}", params)
        await store.flush()
    return doomed


# -- alarms -------------------------------------------------------------------------


class AlarmLog:
    """The alarms of one open :class:`PropertyStore` (its ``alarms`` table), one row
    per alarm id, rewritten on each change. Holds no resources of its own.

    Args:
        store: the open property store (schema version 4 or later).
    """

    def __init__(self, store: PropertyStore) -> None:
        self.store = store

    async def save(self, alarm: Alarm) -> None:
        """Queue the alarm's current state (insert, or replace the row with its id).

        Returns once queued; waits only while the writer's queue is full.

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the store's writer stopped after a failed commit.
        """
        await self.store.execute(
            _ALARM_UPSERT,
            (
                int(alarm.id),
                _text(alarm.key),
                _text(alarm.rule),
                _text(alarm.device),
                int(alarm.severity),
                _text(alarm.message),
                _text(alarm.source),
                _ms(alarm.raised_at),
                _ms(alarm.updated_at),
                _ms(alarm.cleared_at),
                _ms(alarm.acked_at),
                max(int(alarm.count), 1),
                _dumps(alarm.to_payload()),
            ),
        )

    async def load_open_payloads(self) -> list[dict[str, JsonValue]]:
        """The JSON form of every alarm not closed (not both cleared and
        acknowledged), oldest id first, as saved. Rows whose payload is not a JSON
        object are skipped (logged).

        Raises:
            StoreClosedError, StoreError: the store is closed or cannot be read.
        """
        rows = await self.store.fetch(
            f"SELECT id, payload FROM alarms WHERE NOT ({_CLOSED}) ORDER BY id"
        )
        found: list[dict[str, JsonValue]] = []
        for row_id, text in rows:
            payload = _loads(text)
            if isinstance(payload, dict):
                found.append(payload)
            else:
                mlog.warning("alarm %s in the store is damaged; skipped", row_id)
        return found

    async def load_open(self) -> list[Alarm]:
        """Every alarm not closed (not both cleared and acknowledged), oldest id
        first, with ``history=True``. A row that does not load is skipped (logged).

        Raises:
            StoreClosedError, StoreError: the store is closed or cannot be read.
        """
        alarms: list[Alarm] = []
        for payload in await self.load_open_payloads():
            try:
                alarm = Alarm.from_payload(payload)
            except (ValueError, TypeError, KeyError) as exc:
                mlog.warning("alarm %s in the store does not load: %s", payload.get("id"), exc)
                continue
            alarm.history = True
            alarms.append(alarm)
        return alarms

    async def next_id(self) -> int:
        """The first alarm id never used in this store (ids never repeat across
        runs, even after closed alarms were pruned); 1 for a new store.

        Raises:
            StoreClosedError, StoreError: the store is closed or cannot be read.
        """
        rows = list(
            await self.store.fetch(
                "SELECT max(coalesce((SELECT max(id) FROM alarms), 0),"
                " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'alarms'), 0))"
            )
        )
        return int(rows[0][0]) + 1

    async def prune_closed(self, *, max_age: float | None, max_count: int | None) -> int:
        """Delete closed alarms (cleared and acknowledged) last changed more than
        ``max_age`` seconds ago, and all but the newest ``max_count`` closed ones;
        open alarms are never pruned. Returns once committed.

        Returns:
            How many alarms were deleted.

        Raises:
            ValueError: a negative ``max_age`` or ``max_count``.
            StoreClosedError: the store is closed.
            StoreError: the writer stopped, or the file cannot be read.
        """
        return await _prune(self.store, "alarms", "updated_ms", _CLOSED, max_age, max_count)

    async def count(self, *, open_only: bool = False) -> int:
        """How many alarms are stored (only the ones not closed with ``open_only``).

        Raises:
            StoreClosedError, StoreError: the store is closed or cannot be read.
        """
        where = f" WHERE NOT ({_CLOSED})" if open_only else ""
        rows = list(await self.store.fetch(f"SELECT count(*) FROM alarms{where}"))
        return int(rows[0][0])
