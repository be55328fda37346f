"""The batches a delivering monitor keeps until a client has them: in memory, oldest
first, bounded, and mirrored in the store (``monitor_outbox``, schema version 5) when
the monitor replays (``auto_replay``), so they survive a restart.

Writes go through the store's one batching writer (:meth:`PropertyStore.execute`):
queued at once, committed within the store's ``batch_window``; a store that fails is
logged once and the outbox carries on in memory. The bounds (``max_pending`` batches,
``max_pending_bytes`` bytes) drop the **oldest** batches first, with a warning that
says how many.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from console.store.errors import StoreError

if TYPE_CHECKING:
    from console.store import PropertyStore

__all__ = ["Batch", "MonitorState", "Outbox"]

mlog = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch: its sequence number, when it was made (seconds since the epoch),
    how many events it holds and its JSON document (UTF-8, uncompressed)."""

    seq: int
    time: float
    events: int
    body: bytes


@dataclass(frozen=True, slots=True)
class MonitorState:
    """What the store remembers of a monitor besides its batches: the next sequence
    number, and when (ms since the epoch) and for which destination it was
    DISABLED (``None``: it is not)."""

    next_seq: int = 1
    disabled_ms: int | None = None
    destination: str | None = None


class Outbox:
    """Batches waiting for delivery (see the module doc).

    Args:
        monitor: the monitor's name (the store's key).
        max_batches: batches kept at most (>= 1).
        max_bytes: bytes of bodies kept at most (>= 1); a single larger batch is
            still kept, alone.
        store: where the state (and, with ``keep``, the batches) is kept, or
            ``None`` (memory only).
        keep: mirror the batches in the store (``auto_replay``); without it, batches
            an earlier run kept are deleted by :meth:`load`.
    """

    def __init__(
        self,
        monitor: str,
        *,
        max_batches: int,
        max_bytes: int,
        store: PropertyStore | None = None,
        keep: bool = True,
    ) -> None:
        if max_batches < 1 or max_bytes < 1:
            raise ValueError("an outbox bound must be at least 1")
        self.monitor = monitor
        self.max_batches = max_batches
        self.max_bytes = max_bytes
        self._store = store
        self._keep = keep
        self._batches: collections.deque[Batch] = collections.deque()
        self._bytes = 0
        self._store_failed = False

    def __len__(self) -> int:
        return len(self._batches)

    def __iter__(self) -> Iterator[Batch]:
        return iter(list(self._batches))

    @property
    def bytes(self) -> int:
        """Bytes of the bodies kept."""
        return self._bytes

    @property
    def first(self) -> Batch | None:
        """The oldest batch kept, or ``None``."""
        return self._batches[0] if self._batches else None

    @property
    def persistent(self) -> bool:
        """True while batches are mirrored in the store."""
        return self._store is not None and self._keep and not self._store_failed

    async def load(self) -> MonitorState:
        """Read the monitor's state and kept batches back from the store (oldest
        first; the bounds apply); a store that fails is logged and the outbox starts
        empty.

        Returns:
            The stored state (the default one without a store).
        """
        store = self._store
        if store is None:
            return MonitorState()
        try:
            rows = list(
                await store.fetch(
                    "SELECT next_seq, disabled_ms, destination FROM monitor_state"
                    " WHERE monitor = ?",
                    (self.monitor,),
                )
            )
            state = (
                MonitorState(int(rows[0][0]), rows[0][1], rows[0][2]) if rows else MonitorState()
            )
            kept: list[Any] = []
            if self._keep:
                kept = list(
                    await store.fetch(
                        "SELECT seq, time_ms, events, body FROM monitor_outbox"
                        " WHERE monitor = ? ORDER BY seq",
                        (self.monitor,),
                    )
                )
            else:
                await store.execute("DELETE FROM monitor_outbox WHERE monitor = ?", (self.monitor,))
        except StoreError as exc:
            self._failed(exc)
            return MonitorState()
        for seq, time_ms, events, body in kept:
            self._append(Batch(int(seq), time_ms / 1000, int(events), bytes(body)))
        dropped = await self._bound()
        if dropped:
            self._warn_dropped(dropped, "when loaded from the store")
        last = self._batches[-1].seq + 1 if self._batches else 1
        return MonitorState(max(state.next_seq, last), state.disabled_ms, state.destination)

    async def save_state(self, state: MonitorState) -> None:
        """Remember ``state`` in the store (queued; no-op without one)."""
        await self._write(
            "INSERT OR REPLACE INTO monitor_state (monitor, next_seq, disabled_ms, destination)"
            " VALUES (?,?,?,?)",
            (self.monitor, state.next_seq, state.disabled_ms, state.destination),
        )

    async def add(self, batch: Batch) -> int:
        """Append ``batch`` (mirrored in the store), then drop the oldest batches past
        the bounds (logged).

        Returns:
            How many batches the bounds dropped.
        """
        self._append(batch)
        await self._write_kept(
            "INSERT OR REPLACE INTO monitor_outbox (monitor, seq, time_ms, events, body)"
            " VALUES (?,?,?,?,?)",
            (self.monitor, batch.seq, round(batch.time * 1000), batch.events, batch.body),
        )
        dropped = await self._bound()
        if dropped:
            self._warn_dropped(dropped, "over the bounds")
        return dropped

    async def remove_through(self, seq: int) -> list[Batch]:
        """Remove every batch up to ``seq`` (delivered); returns them, oldest first."""
        removed: list[Batch] = []
        while self._batches and self._batches[0].seq <= seq:
            batch = self._batches.popleft()
            self._bytes -= len(batch.body)
            removed.append(batch)
        if removed:
            await self._write_kept(
                "DELETE FROM monitor_outbox WHERE monitor = ? AND seq <= ?", (self.monitor, seq)
            )
        return removed

    async def clear(self) -> int:
        """Remove every batch (not delivered); returns how many there were."""
        count = len(self._batches)
        self._batches.clear()
        self._bytes = 0
        await self._write_kept("DELETE FROM monitor_outbox WHERE monitor = ?", (self.monitor,))
        return count

    def _append(self, batch: Batch) -> None:
        self._batches.append(batch)
        self._bytes += len(batch.body)

    async def _bound(self) -> int:
        batches = self._batches
        dropped = 0
        while len(batches) > 1 and (
            len(batches) > self.max_batches or self._bytes > self.max_bytes
        ):
            self._bytes -= len(batches.popleft().body)
            dropped += 1
        if dropped:
            await self._write_kept(
                "DELETE FROM monitor_outbox WHERE monitor = ? AND seq < ?",
                (self.monitor, batches[0].seq),
            )
        return dropped

    def _warn_dropped(self, count: int, why: str) -> None:
        mlog.warning(
            "monitor %s: %d kept %s dropped, oldest first, %s (at most %d batches and"
            " %d bytes: max_pending, max_pending_bytes)",
            self.monitor,
            count,
            "batch" if count == 1 else "batches",
            why,
            self.max_batches,
            self.max_bytes,
        )

    async def _write_kept(self, sql: str, params: tuple[object, ...]) -> None:
        if self._keep:
            await self._write(sql, params)

    async def _write(self, sql: str, params: tuple[object, ...]) -> None:
        store = self._store
        if store is None or self._store_failed:
            return
        try:
            await store.execute(sql, params)
        except StoreError as exc:
            self._failed(exc)

    def _failed(self, exc: StoreError) -> None:
        self._store_failed = True
        mlog.warning(
            "monitor %s: the store failed (%s); kept batches are in memory only from now on",
            self.monitor,
            exc,
        )
