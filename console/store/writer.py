"""The store's single writer: a bounded queue of SQL writes, committed in batches.

:class:`BatchWriter` owns one task and the write connection's transactions. Callers
:meth:`~BatchWriter.put` writes (an SQL statement and its parameters) and return as
soon as the write is queued; the task commits them in ``BEGIN IMMEDIATE ...
COMMIT`` transactions of at most ``batch_size`` writes. Consecutive writes of the
same statement go to SQLite as one ``executemany`` call.

The batch window is counted from the moment the batch's first write was *queued*
(not from when the task gets to it: writes queued while the previous batch was being
committed have already waited that long), and the batch closes early: by the time
recent commits took (a moving average, at most half the window) and by a quarter of
the window kept for the hand-overs between the event loop and SQLite's thread, so
that a write is in the file within ``batch_window`` seconds of being queued: what a
``kill -9`` can lose (``docs/store.md``, "The durability promise", measured by
``bench/bench_crash.py``). A commit that takes longer than the window (a disk that
stalls on ``fsync``) delays the next batch by as much: the writer never runs two
commits at once.

* Backpressure: at most ``max_pending`` writes are uncommitted (queued or in the
  transaction being committed); :meth:`~BatchWriter.put` then waits for room, so
  memory stays bounded whatever the producers do.
* :meth:`~BatchWriter.flush` returns once every write queued before the call is
  committed; it also closes the open batch at once instead of waiting out the window.
* :meth:`~BatchWriter.aclose` commits everything queued, then ends the task; it
  cannot be cancelled half-way.
* A batch that fails to commit (disk full, I/O error) is rolled back, so the file
  keeps everything committed before it. The writer then stops: the error is raised
  by every waiting and later :meth:`~BatchWriter.flush` and :meth:`~BatchWriter.put`
  (a :class:`~console.store.errors.StoreError`), and the writes still queued are
  discarded. The caller decides to carry on without persistence.

Why a deque and an :class:`asyncio.Event` rather than an :class:`asyncio.Queue`: the
task must wait for "a full batch, a flush, a close, or the end of the window",
whichever comes first, which ``Queue.get`` cannot express without a task per wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import aiosqlite

from console.lifecycle import ClosesOnce
from console.store.errors import (
    StoreClosedError,
    StoreError,
    StoreWriteError,
    error_from_sqlite,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BATCH_WINDOW",
    "DEFAULT_MAX_PENDING",
    "BatchWriter",
    "WriterStats",
    "check_bounds",
]

mlog = logging.getLogger(__name__)

#: One queued write: an SQL statement and its parameters.
Write: TypeAlias = tuple[str, tuple[Any, ...]]

#: Writes committed per transaction, at most.
DEFAULT_BATCH_SIZE = 1000
#: Seconds a batch stays open after its first write, at most.
DEFAULT_BATCH_WINDOW = 0.1
#: Writes waiting to be committed before :meth:`BatchWriter.put` waits for room.
DEFAULT_MAX_PENDING = 10_000


def check_bounds(batch_size: int, batch_window: float, max_pending: int) -> None:
    """Validate the writer's bounds (see :class:`BatchWriter`).

    Raises:
        ValueError: ``batch_size`` or ``max_pending`` below 1, or a negative
            ``batch_window``.
    """
    if batch_size < 1 or max_pending < 1:
        raise ValueError("batch_size and max_pending must be at least 1")
    if batch_window < 0:
        raise ValueError("batch_window must not be negative")


@dataclass(slots=True)
class WriterStats:
    """Counters of the writer, readable at any time.

    Attributes:
        queued: writes accepted since start.
        committed: writes committed since start.
        batches: transactions committed.
        discarded: writes dropped, never committed, when the writer stopped after a
            failed commit.
        commit_seconds: the moving average of the time a commit takes (``BEGIN``
            to ``COMMIT`` done, ``fsync`` included), seconds.
        longest_commit: the longest commit so far, seconds.
        oldest_wait: the longest a committed write waited between being queued
            and its batch's commit starting, seconds.
        commit_started: when the commit in progress began (``time.monotonic()``), or
            ``None`` between commits.
    """

    queued: int = 0
    committed: int = 0
    batches: int = 0
    discarded: int = 0
    commit_seconds: float = 0.0
    longest_commit: float = 0.0
    oldest_wait: float = 0.0
    commit_started: float | None = None

    @property
    def pending(self) -> int:
        """Writes queued and not yet committed (the open batch included)."""
        return self.queued - self.committed - self.discarded


#: Weight of the newest commit in :attr:`WriterStats.commit_seconds`.
_COMMIT_WEIGHT = 0.2
#: Part of the batch window kept for hand-overs (loop, SQLite's thread, a busy loop).
_MARGIN = 0.25


class BatchWriter(ClosesOnce):
    """The one task that writes to the store's database (spawned on creation, owned:
    :meth:`aclose` ends it).

    Args:
        db: the write connection, in autocommit mode (``isolation_level=None``); the
            writer issues ``BEGIN IMMEDIATE`` and ``COMMIT`` itself.
        path: the database file, for error messages.
        batch_size: writes per transaction, at most.
        batch_window: seconds a batch stays open after its first write, at most.
        max_pending: uncommitted writes before :meth:`put` waits.
        on_failure: called once, in the loop, with the error that stopped the writer.

    Raises:
        ValueError: a bound is not positive.
    """

    def __init__(
        self,
        db: aiosqlite.Connection,
        path: Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_window: float = DEFAULT_BATCH_WINDOW,
        max_pending: int = DEFAULT_MAX_PENDING,
        on_failure: Callable[[StoreError], None] | None = None,
    ) -> None:
        check_bounds(batch_size, batch_window, max_pending)
        self._db = db
        self._path = path
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.max_pending = max_pending
        self._on_failure = on_failure
        self.stats = WriterStats()
        self._queue: deque[Write] = deque()
        self._wakeup = asyncio.Event()  # set: the task should look at the queue again
        self._room = asyncio.Event()  # set: fewer than max_pending writes uncommitted
        self._room.set()
        self._flushes: list[tuple[int, asyncio.Future[None]]] = []
        self._stopping = False
        self._error: StoreError | None = None
        self._first_at: float | None = None  # monotonic: when the oldest queued write came
        self._task = self.spawn(self._run(), name=f"fleettop-store-writer-{path.name}")

    # -- producer side ------------------------------------------------------------

    @property
    def error(self) -> StoreError | None:
        """The error that stopped the writer, or ``None`` while it runs."""
        return self._error

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._stopping:
            raise StoreClosedError(f"the property store {self._path} is closed", path=self._path)

    async def put(self, write: Write) -> None:
        """Queue one write; wait while ``max_pending`` writes are uncommitted.

        Raises:
            StoreClosedError: the writer is closing or closed.
            StoreError: the writer stopped after a failed commit.
        """
        self._check()
        stats = self.stats
        while stats.pending >= self.max_pending:
            self._room.clear()
            await self._room.wait()
            self._check()
        queue = self._queue
        if not queue:
            self._first_at = time.monotonic()
        queue.append(write)
        self.stats.queued += 1
        if len(queue) == 1 or len(queue) >= self.batch_size or len(queue) >= self.max_pending:
            self._wakeup.set()

    async def flush(self) -> None:
        """Return once every write queued before this call is committed.

        Raises:
            StoreError: the writer stopped (a commit failed) before that.
        """
        if self._error is not None:
            raise self._error
        target = self.stats.queued
        if self.stats.committed >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append((target, future))
        self._wakeup.set()
        await future

    # -- the task -----------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while True:
                if not self._queue:
                    if self._stopping:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self._wait_for_batch()
                await self._commit(self._take())
        except StoreError as exc:
            self._fail(exc)
        except sqlite3.Error as exc:
            self._fail(error_from_sqlite(exc, self._path, "write to"))
        except Exception as exc:  # a bug: still fail every waiter with a StoreError
            mlog.exception("the property store writer failed")
            self._fail(StoreWriteError(f"the property store writer failed: {exc!r}"))

    def _urgent(self) -> bool:
        """True when the open batch must be committed now, not at the window's end."""
        queued = len(self._queue)
        return (
            self._stopping
            or bool(self._flushes)
            or queued >= self.batch_size
            or queued >= self.max_pending  # producers are waiting for room
        )

    def _deadline(self) -> float:
        """When the open batch must start committing (``time.monotonic()``): its first
        write's queuing time plus the window, less the expected commit time and the
        margin."""
        first = time.monotonic() if self._first_at is None else self._first_at
        window = self.batch_window
        early = min(self.stats.commit_seconds, window / 2) + window * _MARGIN
        return first + window - early

    async def _wait_for_batch(self) -> None:
        """Wait until the batch is full, a flush or close asks, or the window ends."""
        if self._urgent() or not self.batch_window:
            return
        remaining = self._deadline() - time.monotonic()
        if remaining <= 0:
            return
        loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(loop.time() + remaining):
                while not self._urgent():
                    self._wakeup.clear()
                    await self._wakeup.wait()

    def _take(self) -> list[Write]:
        queue = self._queue
        if self._first_at is not None:
            stats = self.stats
            stats.oldest_wait = max(stats.oldest_wait, time.monotonic() - self._first_at)
        if len(queue) <= self.batch_size:
            batch = list(queue)
            queue.clear()
            self._first_at = None
        else:
            # what stays queued came no earlier than the batch's first write: keeping
            # that time commits it at once (the writer is behind)
            batch = [queue.popleft() for _ in range(self.batch_size)]
        return batch

    async def _commit(self, batch: list[Write]) -> None:
        """Commit ``batch`` in one transaction, grouping runs of the same statement."""
        db = self._db
        started = self.stats.commit_started = time.monotonic()
        try:
            await db.execute("BEGIN IMMEDIATE")
            start = 0
            while start < len(batch):
                sql = batch[start][0]
                end = start + 1
                while end < len(batch) and batch[end][0] == sql:
                    end += 1
                if end - start == 1:
                    await db.execute(sql, batch[start][1])
                else:
                    await db.executemany(sql, [params for _, params in batch[start:end]])
                start = end
            await db.execute("COMMIT")
        except BaseException:
            self.stats.commit_started = None
            self.stats.discarded += len(batch)
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    await db.execute("ROLLBACK")
            raise
        stats = self.stats
        stats.commit_started = None
        took = time.monotonic() - started
        stats.commit_seconds = (
            took
            if not stats.batches
            else stats.commit_seconds + _COMMIT_WEIGHT * (took - stats.commit_seconds)
        )
        stats.longest_commit = max(stats.longest_commit, took)
        stats.committed += len(batch)
        stats.batches += 1
        if stats.pending < self.max_pending:
            self._room.set()
        if self._flushes:
            committed = stats.committed
            waiting = []
            for target, future in self._flushes:
                if target <= committed:
                    if not future.done():
                        future.set_result(None)
                else:
                    waiting.append((target, future))
            self._flushes = waiting

    def _fail(self, error: StoreError) -> None:
        mlog.error("%s", error)
        self._error = error
        self.stats.discarded += len(self._queue)
        self._queue.clear()
        self._room.set()  # producers waiting for room see the error
        for _, future in self._flushes:
            if not future.done():
                future.set_exception(error)
        self._flushes = []
        if self._on_failure is not None:
            self._on_failure(error)

    # -- lifecycle ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True until the task has ended (closed, or stopped by a failure)."""
        return not self._task.done()

    async def aclose(self) -> None:
        """Commit everything queued, then end the task. Idempotent; the work goes on
        to the end even if the caller is cancelled.

        Raises:
            StoreError: the writer stopped after a failure (the error it stopped with).
        """
        await super().aclose()
        if self._error is not None:
            raise self._error

    async def _close(self) -> None:
        self._stopping = True
        self._wakeup.set()
        await asyncio.wait([self._task])  # its own end: every queued write committed
