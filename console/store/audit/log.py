"""The audit log in the store: :class:`AuditLog` (the ``audit`` table, through the
store's writer and read connection; see :mod:`console.store.audit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

from console.rowfiles import from_json_text
from console.store.audit.files import export_audit_csv, export_audit_jsonl
from console.store.audit.model import (
    AuditDraft,
    AuditEntry,
    checked_time_ms,
    insert_params,
    text_field,
)
from console.store.errors import StoreCorruptError
from console.store.properties import DEFAULT_QUERY_LIMIT, PropertyStore

__all__ = ["AuditLog"]

_SELECT: Final = (
    "SELECT id, time_ms, actor, action, device, target, old, new, result, session_id FROM audit"
)
_INSERT: Final = (
    "INSERT INTO audit (time_ms, actor, action, device, target, old, new, result, session_id)"
    " VALUES (?,?,?,?,?,?,?,?,?)"
)


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
        normal, params = insert_params(draft)
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
            params.append(text_field("device", device))
        if action is not None:
            clauses.append("action = ?")
            params.append(text_field("action", str(action)))
        if since_ms is not None:
            clauses.append("time_ms >= ?")
            params.append(checked_time_ms(since_ms, "since_ms"))
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
