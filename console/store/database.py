"""The store's database: one SQLite file, its connections, its schema and its writer.

:class:`Database` is what every table of the store shares (properties, audit,
notifications, alarms): it opens the file (refusing one that is in use, damaged, of
a newer schema or not a fleettop store), switches it to WAL with ``synchronous =
FULL``, migrates its schema (:mod:`console.store.schema`), and owns

* the **writer** (:class:`~console.store.writer.BatchWriter`): :meth:`Database.execute`
  queues one write statement, committed in order with every other in batched
  transactions; :meth:`Database.flush` returns once everything queued before it is
  committed;
* a **read connection** (``query_only``) that sees committed data only:
  :meth:`Database.fetch` flushes first (read-your-writes), then runs the query;
* the **store lock** (:class:`~console.store.lock.StoreLock`): one process at a time
  has the file open for writing;
* its lifecycle: :meth:`Database.aclose` commits everything, checkpoints the WAL back
  into the file, closes both connections and releases the lock.

The tables' own APIs live beside it: :class:`~console.store.properties.PropertyStore`
(which opens a :class:`Database` and is what the runtime and the UI pass around),
:mod:`console.store.audit`, and the notification log.

Errors: :meth:`Database.open` raises a :class:`~console.store.errors.StoreError`
subclass an operator can act on and never writes to such a file. If a commit fails
later (disk full), the writer stops; writes raise that error from then on, reads still
serve what was committed, and :attr:`Database.error` holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Self, TypedDict

import aiosqlite

from console.lifecycle import ClosesOnce
from console.store.errors import (
    StoreClosedError,
    StoreCorruptError,
    StoreError,
    StoreReadOnlyError,
    error_from_sqlite,
)
from console.store.lock import StoreLock
from console.store.schema import check_version, migrate
from console.store.writer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BATCH_WINDOW,
    DEFAULT_MAX_PENDING,
    BatchWriter,
    WriterStats,
    check_bounds,
)

__all__ = ["MIN_SQLITE", "Database", "OpenOptions", "SqlFunction"]

#: Oldest SQLite the store runs on (STRICT tables).
MIN_SQLITE: Final = (3, 37, 0)

#: A deterministic SQL function for the read connection: ``(name, arguments, function)``.
SqlFunction = tuple[str, int, Callable[..., Any]]


class OpenOptions(TypedDict, total=False):
    """The tuning options of :meth:`Database.open` (what each means is said there),
    for the openers that pass them on (:meth:`PropertyStore.open
    <console.store.properties.PropertyStore.open>`)."""

    batch_size: int
    batch_window: float
    max_pending: int
    lock_timeout: float
    busy_timeout: float
    check: bool


class Database(ClosesOnce):
    """One open store file: its write connection behind a batching writer, its read
    connection, and its lock (see the module doc).

    Create with :meth:`open` (inside the running loop); close with :meth:`aclose`.

    Attributes:
        path: the database file.
    """

    def __init__(
        self,
        path: Path,
        write_db: aiosqlite.Connection,
        read_db: aiosqlite.Connection,
        writer: BatchWriter,
        lock: StoreLock,
    ) -> None:
        """Use :meth:`open`."""
        self.path = path
        self._write_db = write_db
        self._read_db = read_db
        self._writer = writer
        self._lock = lock

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_window: float = DEFAULT_BATCH_WINDOW,
        max_pending: int = DEFAULT_MAX_PENDING,
        lock_timeout: float = 1.0,
        busy_timeout: float = 5.0,
        check: bool = True,
        functions: Sequence[SqlFunction] = (),
    ) -> Self:
        """Open (or create) the store file at ``path``, migrating its schema forward.

        First takes the store lock (``FILE.lock``: one fleettop per file). Then
        checks, in this order and before anything is written: the file is an SQLite
        database, intact (``PRAGMA quick_check``, when ``check``), at a schema version
        this fleettop knows, and a fleettop store. Then it switches the file to WAL
        mode and migrates it in one write transaction, which also proves it is
        writable and not locked.

        Args:
            path: the database file; missing parent directories are created.
            batch_size: writes per transaction, at most.
            batch_window: seconds between a write being queued and its batch
                committing, at most (what a ``kill -9`` can lose; ``docs/store.md``).
            max_pending: uncommitted writes before writes wait (memory bound).
            lock_timeout: seconds to wait for another process's SQLite lock while
                opening.
            busy_timeout: seconds a later write or read waits for another
                process's lock before failing.
            check: run ``PRAGMA quick_check`` (O(file size)) before using the file.
            functions: SQL functions to register on the read connection.

        Raises:
            StoreInUseError: another fleettop has the file open (names its pid).
            StoreLockedError: another process holds an SQLite lock past
                ``lock_timeout``.
            StoreReadOnlyError: the file or its directory is not writable, or the
                directory cannot be created.
            StoreCorruptError: not an SQLite database, or damaged.
            StoreSchemaError: written by a newer fleettop, or not a fleettop store.
            StoreError: SQLite older than :data:`MIN_SQLITE`, ``path`` is a directory,
                or another SQLite failure.
            ValueError: a bound is not positive.
        """
        check_bounds(batch_size, batch_window, max_pending)
        path = await asyncio.to_thread(_prepare_path, Path(path))
        lock = await asyncio.to_thread(StoreLock.acquire, path)
        write_db: aiosqlite.Connection | None = None
        read_db: aiosqlite.Connection | None = None
        try:
            write_db = await aiosqlite.connect(path, isolation_level=None, timeout=lock_timeout)
            await check_version(write_db, path)
            if check:
                await _quick_check(write_db, path)
            await _enable_wal(write_db, path)
            await write_db.execute("PRAGMA synchronous = FULL")
            await migrate(write_db)
            await write_db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            read_db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
            await read_db.execute("PRAGMA query_only = ON")
            for name, arguments, function in functions:
                await read_db.create_function(name, arguments, function, deterministic=True)
        except BaseException as exc:
            for db in (read_db, write_db):
                if db is not None:
                    with contextlib.suppress(Exception):
                        await db.close()
            await asyncio.to_thread(lock.release)
            if isinstance(exc, sqlite3.Error):
                raise error_from_sqlite(exc, path, "open") from exc
            raise
        writer = BatchWriter(
            write_db,
            path,
            batch_size=batch_size,
            batch_window=batch_window,
            max_pending=max_pending,
        )
        return cls(path, write_db, read_db, writer, lock)

    # -- writes and reads ------------------------------------------------------------

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Queue one write statement for the writer: committed in its next batch, in
        order with every other write. Returns once queued (waits only while
        ``max_pending`` writes are uncommitted).

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the writer stopped (a commit failed) before this call.
        """
        await self._writer.put((sql, tuple(params)))

    async def flush(self) -> None:
        """Return once every write queued before this call is committed.

        Raises:
            StoreError: the writer stopped (a commit failed) before that.
        """
        await self._writer.flush()

    async def fetch(self, sql: str, params: Sequence[object] = ()) -> Iterable[sqlite3.Row]:
        """Run one read query on committed data, after the writes queued before this
        call are committed (read-your-writes); rows as :class:`sqlite3.Row`.

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the query failed (locked, corrupt, ...).
        """
        if self.closing:
            raise StoreClosedError(f"the property store {self.path} is closed", path=self.path)
        if self._writer.error is None:
            with contextlib.suppress(StoreError):  # reads still serve committed data
                await self._writer.flush()
        try:
            return await self._read_db.execute_fetchall(sql, params)
        except sqlite3.Error as exc:
            raise error_from_sqlite(exc, self.path, "read") from exc

    # -- state and lifecycle -----------------------------------------------------------

    @property
    def stats(self) -> WriterStats:
        """The writer's counters: queued, committed, batches, discarded, pending."""
        return self._writer.stats

    @property
    def error(self) -> StoreError | None:
        """The error that stopped the writer (writes then raise it), or ``None``."""
        return self._writer.error

    async def _close(self) -> None:
        """Commit every queued write, close both connections, release the lock.

        Never raises a :class:`StoreError`: a writer failure was reported when it
        happened and stays in :attr:`error`."""
        try:
            with contextlib.suppress(StoreError):
                await self._writer.aclose()
            with contextlib.suppress(Exception):
                await self._read_db.close()
            with contextlib.suppress(sqlite3.Error):
                # fold the WAL back into the file: a closed store is one tidy file
                await self._write_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            with contextlib.suppress(Exception):
                await self._write_db.close()
        finally:
            await asyncio.to_thread(self._lock.release)


def _prepare_path(path: Path) -> Path:
    """Expand ``~``, refuse a directory or an old SQLite, create missing parents.

    Raises:
        StoreError: SQLite older than :data:`MIN_SQLITE`, or ``path`` is a directory.
        StoreReadOnlyError: the parent directory cannot be created.
    """
    path = path.expanduser()
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StoreError(
            f"the property store needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer;"
            f" this Python has {sqlite3.sqlite_version}",
            path=path,
        )
    if path.is_dir():
        raise StoreError(
            f"the property store path {path} is a directory; give a file path", path=path
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error_from_sqlite(exc, path, "create the directory of") from exc
    return path


async def _quick_check(db: aiosqlite.Connection, path: Path) -> None:
    """Refuse a damaged file (``PRAGMA quick_check``), before anything is written.

    Raises:
        StoreCorruptError: the check found problems (the first few are quoted).
    """
    async with db.execute("PRAGMA quick_check(5)") as cursor:
        problems = [str(row[0]) for row in await cursor.fetchall()]
    if problems != ["ok"]:
        raise StoreCorruptError(
            f"the property store {path} is damaged ({'; '.join(problems)}); fleettop leaves"
            f" it untouched: move it aside (or repair it with the sqlite3 tool's .recover)"
            f" and restart",
            path=path,
        )


async def _enable_wal(db: aiosqlite.Connection, path: Path) -> None:
    """Switch the file to WAL mode (a no-op when it already is).

    Raises:
        StoreReadOnlyError: SQLite kept another journal mode (a read-only file).
        sqlite3.Error: as raised by SQLite.
    """
    async with db.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    mode = str(row[0]).lower() if row is not None else "?"
    if mode != "wal":
        raise StoreReadOnlyError(
            f"cannot open the property store {path}: SQLite kept the journal mode"
            f" {mode!r} instead of 'wal'; the file or its directory is probably"
            f" read-only: make both writable by this user, or choose another store path",
            path=path,
        )
