"""The audit log: every operator write, publish, set, unset and delete, in the store.

An :class:`AuditEntry` says who (``actor``, ``"operator"``) did what (``action``,
e.g. ``snmp.set``), when (``time_ms``, ms since the epoch), to which ``device`` and
``target`` (an OID, an MQTT topic, an interface path), what the value was before
(``old``) and what was asked (``new``), both JSON values or None, and how it ended
(``result``: ``"ok"``, or an error name such as ``NOT_WRITABLE``, ``TIMEOUT`` or a
refusal reason). ``session_id`` ties it to the operator session that caused it.

* :class:`AuditLog` keeps entries in the ``audit`` table of a
  :class:`~console.store.database.PropertyStore` (schema version 3). Writes go
  through the store's one batching writer, so an entry is exactly as durable as a
  property (``docs/store.md``: at most one batch window lost if the process is
  killed, nothing on a clean close). Reads flush first (read-your-writes) and come
  newest first.
* :class:`AuditRecorder` subscribes to the bus with
  :attr:`~console.events.Policy.BLOCK` (nothing dropped) and records one entry per
  event matching its :class:`AuditRule` table: today the SNMP write events
  (``("snmp", DEVICE, "write", OID)``, published for every operator SET, success or
  failure, see ``docs/events.md``); MQTT publish/set/unset results are one rule each
  when their events exist. :meth:`AuditRecorder.record` records actions that are not
  events (a property deleted from the UI). After queuing an entry, the recorder
  publishes it as ``("audit", DEVICE, ACTION)`` so an audit view refreshes.
* :func:`export_audit_jsonl` / :func:`export_audit_csv` write entries to files
  (:mod:`console.rowfiles`); :func:`read_audit_jsonl` / :func:`read_audit_csv`
  give exactly the same entries back.

Secrets never reach the log: the recorder copies only the fields named above from an
event's payload, and event payloads carry no community, key or password
(``docs/events.md``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from console.events import (
    DEFAULT_MAXSIZE,
    Event,
    EventManager,
    JsonValue,
    Pattern,
    Policy,
    Subscription,
)
from console.rowfiles import (
    RowCells,
    from_json_text,
    read_csv,
    read_jsonl,
    to_json_text,
    write_csv,
    write_jsonl,
)
from console.store.database import DEFAULT_QUERY_LIMIT, PropertyStore
from console.store.errors import StoreCorruptError, StoreError
from console.store.paths import check_text

__all__ = [
    "ACTOR_OPERATOR",
    "AUDIT_COLUMNS",
    "AUDIT_EVENT",
    "DEFAULT_RULES",
    "MAX_TIME_MS",
    "MQTT_PUBLISH_PATTERN",
    "RESULT_OK",
    "SNMP_WRITE_PATTERN",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "AuditLog",
    "AuditRecorder",
    "AuditRule",
    "export_audit_csv",
    "export_audit_jsonl",
    "iso_time",
    "mqtt_publish_draft",
    "read_audit_csv",
    "read_audit_jsonl",
    "snmp_write_draft",
]

mlog = logging.getLogger(__name__)

#: The ``result`` of an action that succeeded.
RESULT_OK: Final = "ok"
#: The ``actor`` of everything an operator does through fleettop.
ACTOR_OPERATOR: Final = "operator"
#: The SNMP write events the recorder subscribes to.
SNMP_WRITE_PATTERN: Final[Pattern] = ("snmp", "?", "write", "*")
#: Results of operator MQTT publishes, sets and unsets (docs/events.md).
MQTT_PUBLISH_PATTERN: Final[Pattern] = ("mqtt", "?", "publish")
#: The first segment of the events the recorder publishes: ``("audit", DEVICE, ACTION)``.
AUDIT_EVENT: Final = "audit"

#: Columns of the exported files, in order; ``time`` is ``time_ms`` in ISO 8601 UTC
#: (``2024-05-01T12:00:00.123Z``), for people; readers ignore it.
AUDIT_COLUMNS: Final = (
    "id",
    "time_ms",
    "time",
    "actor",
    "action",
    "device",
    "target",
    "old",
    "new",
    "result",
    "session_id",
)
_JSON_COLUMNS: Final = frozenset({"old", "new"})

_SELECT: Final = (
    "SELECT id, time_ms, actor, action, device, target, old, new, result, session_id FROM audit"
)
_INSERT: Final = (
    "INSERT INTO audit (time_ms, actor, action, device, target, old, new, result, session_id)"
    " VALUES (?,?,?,?,?,?,?,?,?)"
)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The last millisecond of year 9999: ``time_ms`` is 0..this, so it always has an ISO
#: rendering.
MAX_TIME_MS: Final = 253_402_300_799_999


class AuditAction(StrEnum):
    """The actions fleettop records (``action`` is any non-empty string; these are the
    ones it uses)."""

    SNMP_SET = "snmp.set"
    MQTT_PUBLISH = "mqtt.publish"
    MQTT_SET = "mqtt.set"
    MQTT_UNSET = "mqtt.unset"
    STORE_DELETE = "store.delete"
    ALARM_ACK = "alarm.ack"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_time(time_ms: int) -> str:
    """``time_ms`` (ms since the epoch) as ISO 8601 UTC with milliseconds:
    ``2024-05-01T12:00:00.123Z``.

    Raises:
        OverflowError: beyond year 9999.
    """
    moment = _EPOCH + dt.timedelta(milliseconds=time_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded operator action, as read back from the store.

    Attributes:
        id: the entry's number, unique and increasing in recording order (never
            reused).
        time_ms: when it happened, ms since the epoch (for a bus event: the time the
            outcome was published).
        actor: who did it: ``"operator"``.
        action: what: an :class:`AuditAction` value (``"snmp.set"``...).
        device: the device's configuration name.
        target: the OID, MQTT topic or interface path acted on (may be ``""``).
        old: the value before, a JSON value, or None when unknown (an SNMP SET's
            ``previous``: ``{"type", "value"}``).
        new: the value asked for, a JSON value, or None (an unset or delete).
        result: ``"ok"`` (:data:`RESULT_OK`), else an error name (``NOT_WRITABLE``,
            ``TIMEOUT``, ``CANCELLED``...) or a refusal reason.
        session_id: the operator session, or None.
    """

    id: int
    time_ms: int
    actor: str
    action: str
    device: str
    target: str
    old: JsonValue
    new: JsonValue
    result: str
    session_id: str | None

    @property
    def ok(self) -> bool:
        """True when the action succeeded (``result == "ok"``)."""
        return self.result == RESULT_OK

    def to_row(self) -> dict[str, JsonValue]:
        """The entry as an export row: every field, plus ``time`` (ISO 8601 UTC)."""
        return {
            "id": self.id,
            "time_ms": self.time_ms,
            "time": iso_time(self.time_ms),
            "actor": self.actor,
            "action": self.action,
            "device": self.device,
            "target": self.target,
            "old": self.old,
            "new": self.new,
            "result": self.result,
            "session_id": self.session_id,
        }


class AuditDraft(NamedTuple):
    """An entry to record: an :class:`AuditEntry` without its ``id`` (the store
    numbers it). ``time_ms=None`` means now; see :class:`AuditEntry` for the fields.
    An empty ``session_id`` is recorded as None."""

    action: str
    device: str
    target: str
    old: JsonValue = None
    new: JsonValue = None
    result: str = RESULT_OK
    session_id: str | None = None
    time_ms: int | None = None
    actor: str = ACTOR_OPERATOR


# -- validation ---------------------------------------------------------------------


def _text(kind: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{kind} must be a string, not {value!r}")
    if not empty and not value:
        raise ValueError(f"{kind} must not be empty")
    return check_text(kind, value)


def _check_json(kind: str, value: object, depth: int = 0) -> None:
    """Refuse what would not come back identical from JSON text.

    Raises:
        ValueError: a tuple, a set, bytes, a non-string key, NaN or an infinity, text
            that is not valid Unicode, or nesting deeper than 100 levels.
    """
    if depth > 100:
        raise ValueError(f"{kind} is nested more than 100 levels deep")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{kind} must not hold NaN or an infinity (not JSON)")
        return
    if isinstance(value, str):
        check_text(kind, value)
        return
    if isinstance(value, list):
        for item in value:
            _check_json(kind, item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{kind} has a non-string key {key!r} (not JSON)")
            check_text(kind, key)
            _check_json(kind, item, depth + 1)
        return
    raise ValueError(f"{kind} must be a JSON value, not {type(value).__name__}")


def _time_ms(value: object, kind: str = "time_ms") -> int:
    if type(value) is not int or not 0 <= value <= MAX_TIME_MS:
        raise ValueError(f"{kind} must be an int in 0..{MAX_TIME_MS} (ms), not {value!r}")
    return value


def _params(draft: AuditDraft) -> tuple[AuditDraft, tuple[object, ...]]:
    """The normalised draft and its INSERT parameters.

    Raises:
        ValueError: a field of the wrong type, an empty actor/action/device/result, a
            NUL in the device name, an old/new value that is not exact JSON.
    """
    action, device, target, old, new, result, session_id, time_ms, actor = draft
    device = _text("device", device)
    if "\x00" in device:
        raise ValueError(f"device {device!r} must not contain NUL")
    _check_json("old", old)
    _check_json("new", new)
    if session_id is not None:
        session_id = _text("session_id", session_id, empty=True) or None
    normal = AuditDraft(
        action=_text("action", str(action) if isinstance(action, StrEnum) else action),
        device=device,
        target=_text("target", target, empty=True),
        old=old,
        new=new,
        result=_text("result", result),
        session_id=session_id,
        time_ms=_now_ms() if time_ms is None else _time_ms(time_ms),
        actor=_text("actor", actor),
    )
    params = (
        normal.time_ms,
        normal.actor,
        normal.action,
        normal.device,
        normal.target,
        None if old is None else to_json_text(old),
        None if new is None else to_json_text(new),
        normal.result,
        normal.session_id,
    )
    return normal, params


# -- the log --------------------------------------------------------------------------


class AuditLog:
    """The audit entries of one open :class:`PropertyStore` (its ``audit`` table,
    through its writer and read connection). Holds no resources of its own: the
    store's owner closes the store.

    Args:
        store: the open property store.
    """

    def __init__(self, store: PropertyStore) -> None:
        self.store = store

    async def record_audit(self, draft: AuditDraft) -> AuditDraft:
        """Queue one entry to the store's writer (committed with the next batch).

        Returns once queued (waits only while the store's queue is full), like
        :meth:`PropertyStore.store_prop`.

        Returns:
            The draft as recorded: ``time_ms`` filled in, ``action`` a plain string,
            an empty ``session_id`` turned into None.

        Raises:
            ValueError: a bad field (see :class:`AuditEntry`); nothing is queued.
            StoreClosedError: the store is closed.
            StoreError: the store's writer stopped after a failed commit.
        """
        normal, params = _params(draft)
        await self.store.execute(_INSERT, params)
        return normal

    @staticmethod
    def _where(
        device: str | None, action: str | None, since_ms: int | None
    ) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if device is not None:
            clauses.append("device = ?")
            params.append(_text("device", device))
        if action is not None:
            clauses.append("action = ?")
            params.append(_text("action", str(action)))
        if since_ms is not None:
            clauses.append("time_ms >= ?")
            params.append(_time_ms(since_ms, "since_ms"))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    async def query_audit(
        self,
        device: str | None = None,
        action: str | None = None,
        since_ms: int | None = None,
        *,
        limit: int | None = DEFAULT_QUERY_LIMIT,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries matching every given filter, newest first (by ``time_ms``, then by
        ``id`` for the same millisecond).

        Args:
            device: only this device.
            action: only this action (exact: ``"snmp.set"``).
            since_ms: only entries at or after this time, ms since the epoch.
            limit: at most this many entries (``None``: all).
            offset: skip this many first (paging).

        Raises:
            ValueError: a bad filter, or a negative limit or offset.
            StoreClosedError: the store is closed.
            StoreCorruptError: a stored old/new value is not JSON.
        """
        where, params = self._where(device, action, since_ms)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, not {limit!r}")
        if type(offset) is not int or offset < 0:
            raise ValueError(f"offset must be a non-negative int, not {offset!r}")
        params += [-1 if limit is None else limit, offset]
        rows = await self.store.fetch(
            f"{_SELECT}{where} ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?", params
        )
        return [self._decode(row) for row in rows]

    async def count_audit(
        self, device: str | None = None, action: str | None = None, since_ms: int | None = None
    ) -> int:
        """How many entries :meth:`query_audit` would return without a limit.

        Raises:
            ValueError, StoreClosedError: as :meth:`query_audit`.
        """
        where, params = self._where(device, action, since_ms)
        rows = list(await self.store.fetch(f"SELECT count(*) FROM audit{where}", params))
        return int(rows[0][0])

    async def export(
        self,
        path: str | Path,
        *,
        format: Literal["jsonl", "csv"],  # the user's word; shadows format()
        device: str | None = None,
        action: str | None = None,
        since_ms: int | None = None,
    ) -> int:
        """Write every entry matching the filters to ``path``, newest first, as JSON
        Lines or CSV (:func:`export_audit_jsonl`, :func:`export_audit_csv`); the file
        is written in a thread.

        Returns:
            The number of entries written.

        Raises:
            ValueError: an unknown format or a bad filter.
            OSError: the file cannot be written (an existing file is left as it was).
            StoreClosedError, StoreCorruptError: as :meth:`query_audit`.
        """
        writers = {"jsonl": export_audit_jsonl, "csv": export_audit_csv}
        if format not in writers:
            raise ValueError(f"unknown export format {format!r}: expected jsonl or csv")
        entries = await self.query_audit(device, action, since_ms, limit=None)
        return await asyncio.to_thread(writers[format], path, entries)

    def _decode(self, row: Sequence[Any]) -> AuditEntry:
        entry_id, time_ms, actor, action, device, target, old, new, result, session_id = row
        try:
            return AuditEntry(
                id=entry_id,
                time_ms=time_ms,
                actor=actor,
                action=action,
                device=device,
                target=target,
                old=None if old is None else from_json_text(old),
                new=None if new is None else from_json_text(new),
                result=result,
                session_id=session_id,
            )
        except ValueError as exc:
            raise StoreCorruptError(
                f"the property store {self.store.path} holds a damaged audit entry"
                f" {entry_id}: {exc}",
                path=self.store.path,
            ) from exc


# -- the recorder ---------------------------------------------------------------------


def snmp_write_draft(event: Event) -> AuditDraft:
    """The entry of an SNMP write event ``("snmp", DEVICE, "write", OID)``.

    ``old`` is the payload's ``previous`` and ``new`` its ``data`` (both ``{"type",
    "value"}``), ``result`` is ``"ok"`` on success, else the payload's ``error``
    (``"FAILED"`` if a failure names none); ``time_ms`` is the bus timestamp.

    Raises:
        ValueError: the event is not of the documented shape.
    """
    payload = event.payload
    if len(event.type) != 4 or not isinstance(payload, dict):
        raise ValueError("not an ('snmp', DEVICE, 'write', OID) event with a payload object")
    success = payload.get("success")
    if not isinstance(success, bool):
        raise ValueError("the payload has no boolean 'success'")
    error = payload.get("error")
    session_id = payload.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise ValueError("the payload's 'session_id' is not a string")
    return AuditDraft(
        action=AuditAction.SNMP_SET.value,
        device=event.type[1],
        target=event.type[3],
        old=payload.get("previous"),
        new=payload.get("data"),
        result=RESULT_OK if success else (str(error) if error else "FAILED"),
        session_id=session_id,
        time_ms=_event_ms(event),
    )


_MQTT_ACTIONS: Final = {
    "publish": AuditAction.MQTT_PUBLISH,
    "set": AuditAction.MQTT_SET,
    "unset": AuditAction.MQTT_UNSET,
}


def mqtt_publish_draft(event: Event) -> AuditDraft:
    """The entry of an MQTT operator result ``("mqtt", TARGET, "publish")``.

    ``action`` follows the payload's ``operation`` (``mqtt.publish``, ``mqtt.set``,
    ``mqtt.unset``); ``device`` is the TARGET (the device of a set or unset, ``@``
    + the broker of a plain publish); ``target`` is ``INTERFACE PATH`` for a set or
    unset, else the topic; ``new`` is the value set (``None`` for an unset; for a
    plain publish ``{"topic", "qos", "retain", "size"}`` — the payload bytes are not
    copied into the log); ``old`` is ``None``: MQTT has no read-before-write.

    Raises:
        ValueError: the event is not of the documented shape.
    """
    payload = event.payload
    if len(event.type) != 3 or not isinstance(payload, dict):
        raise ValueError("not an ('mqtt', TARGET, 'publish') event with a payload object")
    action = _MQTT_ACTIONS.get(str(payload.get("operation")))
    success = payload.get("success")
    if action is None or not isinstance(success, bool):
        raise ValueError("the payload has no known 'operation' or no boolean 'success'")
    session_id = payload.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise ValueError("the payload's 'session_id' is not a string")
    interface, path = payload.get("interface"), payload.get("path")
    if action is AuditAction.MQTT_PUBLISH or not interface:
        target = str(payload["topic"])
        new: JsonValue = {k: payload.get(k) for k in ("topic", "qos", "retain", "size")}
    else:
        target = f"{interface} {path}"
        new = payload.get("value")
    error = payload.get("error")
    return AuditDraft(
        action=action.value,
        device=event.type[1],
        target=target,
        old=None,
        new=new,
        result=RESULT_OK if success else (str(error) if error else "FAILED"),
        session_id=session_id,
        time_ms=_event_ms(event),
    )


def _event_ms(event: Event) -> int:
    stamp = event.source_timestamp if event.source_timestamp is not None else event.timestamp
    return int(stamp * 1000)


class AuditRule(NamedTuple):
    """One row of the recorder's table: events matching ``pattern`` are recorded as
    what ``extract`` makes of them.

    Attributes:
        pattern: a bus pattern (``("snmp", "?", "write", "*")``).
        extract: ``extract(event) -> AuditDraft`` (action, device, target, old, new,
            result, session_id, time_ms); raises :class:`ValueError` (or
            ``KeyError``/``TypeError``) for an event it cannot read, which is logged
            and skipped.
    """

    pattern: Pattern
    extract: Callable[[Event], AuditDraft]


#: What :class:`AuditRecorder` records unless told otherwise: SNMP SETs and MQTT
#: publishes, sets and unsets (deletes from the UI come through ``record``).
DEFAULT_RULES: Final[tuple[AuditRule, ...]] = (
    AuditRule(SNMP_WRITE_PATTERN, snmp_write_draft),
    AuditRule(MQTT_PUBLISH_PATTERN, mqtt_publish_draft),
)


class AuditRecorder:
    """Records every operator action of the bus in the audit log (see the module doc).

    Subscribes at construction (inside the running loop), one
    :attr:`~console.events.Policy.BLOCK` subscription per rule: no event is dropped;
    a slow store slows :meth:`~console.events.EventManager.publish_wait` producers.
    Owns its subscriptions, not the store: :meth:`aclose` it before closing the store.

    Args:
        bus: the event manager.
        store: the open property store, or an :class:`AuditLog` over it.
        rules: the pattern -> extractor table (:data:`DEFAULT_RULES`).
        batch_size: events handed to the recorder at a time.
        maxsize: each subscription's queue bound before publishers wait.
        publish: publish ``("audit", DEVICE, ACTION)`` after queuing each entry, with
            the entry's fields but ``id`` as payload.

    Attributes:
        log: the :class:`AuditLog` entries go to (queries and exports too).
        recorded: entries queued to the store.
        skipped: events that could not be read (logged).
        failed: the store error that made the recorder unsubscribe, or None.
    """

    def __init__(
        self,
        bus: EventManager,
        store: PropertyStore | AuditLog,
        *,
        rules: Sequence[AuditRule] = DEFAULT_RULES,
        batch_size: int = 1000,
        maxsize: int = DEFAULT_MAXSIZE,
        publish: bool = True,
    ) -> None:
        self._bus = bus
        self.log = store if isinstance(store, AuditLog) else AuditLog(store)
        self._publish = publish
        self.recorded = 0
        self.skipped = 0
        self.failed: StoreError | None = None
        self._subscriptions: list[Subscription] = []
        for rule in rules:
            self._subscriptions.append(
                bus.subscribe(
                    rule.pattern,
                    self._handler(rule),
                    policy=Policy.BLOCK,
                    maxsize=maxsize,
                    batch_size=batch_size,
                    name=f"AuditRecorder.{'/'.join(rule.pattern)}",
                )
            )

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The recorder's bus subscriptions, one per rule (for their stats)."""
        return tuple(self._subscriptions)

    def _handler(self, rule: AuditRule) -> Callable[[list[Event]], Any]:
        async def on_events(events: list[Event]) -> None:
            await self._on_events(rule, events)

        return on_events

    async def _on_events(self, rule: AuditRule, events: list[Event]) -> None:
        for event in events:
            try:
                draft = rule.extract(event)
                recorded = await self.log.record_audit(draft)
            except (ValueError, KeyError, TypeError) as exc:
                self.skipped += 1
                mlog.warning("not auditing %s: %s", "/".join(event.type), exc)
                continue
            except StoreError as exc:
                self.failed = exc
                mlog.error("operator actions are no longer audited: %s", exc)
                for subscription in self._subscriptions:
                    subscription.unsubscribe()
                return
            self.recorded += 1
            self._announce(recorded)

    def _announce(self, draft: AuditDraft) -> None:
        if not self._publish or self._bus.closed:
            return
        self._bus.publish(
            (AUDIT_EVENT, draft.device, draft.action),
            {
                "time_ms": draft.time_ms,
                "actor": draft.actor,
                "action": draft.action,
                "device": draft.device,
                "target": draft.target,
                "old": draft.old,
                "new": draft.new,
                "result": draft.result,
                "session_id": draft.session_id,
            },
        )

    async def record(
        self,
        action: str,
        device: str,
        target: str,
        *,
        old: JsonValue = None,
        new: JsonValue = None,
        result: str = RESULT_OK,
        session_id: str | None = None,
        time_ms: int | None = None,
    ) -> AuditDraft:
        """Record an operator action that is not a bus event (a property deleted from
        the UI: ``record(AuditAction.STORE_DELETE, "sw1", "org.x.I/path", old=...,
        new=None)``), and announce it as the recorder's entries are.

        Returns:
            The draft as recorded (see :meth:`AuditLog.record_audit`).

        Raises:
            ValueError: a bad field; nothing is recorded.
            StoreClosedError, StoreError: the store is closed or stopped.
        """
        recorded = await self.log.record_audit(
            AuditDraft(action, device, target, old, new, result, session_id, time_ms)
        )
        self.recorded += 1
        self._announce(recorded)
        return recorded

    async def aclose(self) -> None:
        """Hand every event already published to the store, then unsubscribe.

        The store is not closed (its owner closes it, after this)."""
        for subscription in self._subscriptions:
            if not subscription.closed:
                await subscription.drain()
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        for subscription in self._subscriptions:
            await subscription.wait_closed()


# -- files ------------------------------------------------------------------------------


def export_audit_jsonl(path: str | Path, entries: Sequence[AuditEntry]) -> int:
    """Write ``entries`` to ``path`` as JSON Lines: one object per entry with the
    keys of :data:`AUDIT_COLUMNS`, ``old``/``new`` as JSON values. Blocking.

    Returns:
        The number of entries written.

    Raises:
        OSError: the file cannot be written (an existing file is left as it was).
    """
    return write_jsonl(path, (entry.to_row() for entry in entries))


def export_audit_csv(path: str | Path, entries: Sequence[AuditEntry]) -> int:
    """Write ``entries`` to ``path`` as CSV: a header of :data:`AUDIT_COLUMNS`, one
    row per entry; ``old``/``new`` cells hold JSON text (``null`` for None), an
    absent ``session_id`` is an empty cell. Blocking.

    Returns:
        The number of entries written.

    Raises:
        OSError: the file cannot be written (an existing file is left as it was).
    """
    return write_csv(
        path, AUDIT_COLUMNS, (entry.to_row() for entry in entries), json_columns=_JSON_COLUMNS
    )


def _entry_from_row(row: Mapping[str, JsonValue], *, from_csv: bool) -> AuditEntry:
    """Rebuild an entry from an export row.

    Raises:
        ValueError: a field is missing or of the wrong type.
    """
    cells = RowCells(
        row, (c for c in AUDIT_COLUMNS if c != "time"), kind="an audit row", from_csv=from_csv
    )
    return AuditEntry(
        id=cells.integer("id"),
        time_ms=cells.integer("time_ms"),
        actor=cells.text("actor"),
        action=cells.text("action"),
        device=cells.text("device"),
        target=cells.text("target"),
        old=cells["old"],
        new=cells["new"],
        result=cells.text("result"),
        session_id=cells.optional_text("session_id"),
    )


def read_audit_jsonl(path: str | Path) -> list[AuditEntry]:
    """The entries of a file written by :func:`export_audit_jsonl`, in file order.

    Raises:
        ValueError: a line is not an audit entry. OSError: the file cannot be read.
    """
    return [_entry_from_row(row, from_csv=False) for row in read_jsonl(path)]


def read_audit_csv(path: str | Path) -> list[AuditEntry]:
    """The entries of a file written by :func:`export_audit_csv`, in file order.

    Raises:
        ValueError: a row is not an audit entry. OSError: the file cannot be read.
    """
    _, rows = read_csv(path, json_columns=_JSON_COLUMNS)
    return [_entry_from_row(row, from_csv=True) for row in rows]
