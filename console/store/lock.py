"""One writer per store file: an advisory lock on ``FILE.lock`` beside the database.

SQLite's own locks only last a transaction, so two fleettop processes could open the
same store and interleave their writes (the second one then failed on duplicate
notification ids and ran on without persistence). A :class:`StoreLock` is taken when
a store opens and held until it closes: ``flock(LOCK_EX | LOCK_NB)`` on
``FILE.lock``, which holds the owner's pid as text for the message the next process
gets. The kernel releases the lock when its holder exits in any way, ``kill -9``
included, so a stale lock file never blocks a restart. On a clean close the lock
file is removed.

Removing a lock file races with a process that opened it just before: after taking
the lock, :meth:`StoreLock.acquire` checks that the locked file is still the one at
the path (same inode) and retries otherwise, so two processes can never both hold
"the" lock.

POSIX only (``fcntl``), as fleettop.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import Final

from console.store.errors import StoreInUseError, error_from_sqlite

__all__ = ["LOCK_SUFFIX", "StoreLock", "check_not_in_use", "lock_path"]

#: Appended to the database file's name: ``fleettop.db`` -> ``fleettop.db.lock``.
LOCK_SUFFIX: Final = ".lock"
_ATTEMPTS: Final = 5


def lock_path(database: Path) -> Path:
    """The lock file of the store at ``database`` (beside it)."""
    return database.with_name(database.name + LOCK_SUFFIX)


def _holder(fd: int) -> int | None:
    """The pid written in the lock file, or ``None`` (empty, not a number)."""
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text else None
    return None


def _in_use(database: Path, path: Path, pid: int | None) -> StoreInUseError:
    who = f"process {pid}" if pid is not None else "another process"
    return StoreInUseError(
        f"the property store {database} is already open for writing by {who} (another"
        f" fleettop; lock file {path}); close that fleettop, or give this one another"
        f" store path",
        path=database,
        pid=pid,
    )


def check_not_in_use(database: Path) -> None:
    """Refuse early a store that another process has open (blocking, and it creates,
    changes or removes nothing: a probe with a shared lock). :meth:`StoreLock.acquire`
    still decides when the store opens.

    Raises:
        StoreInUseError: another process holds the lock of ``database`` (the message
            names the file and that process's pid).
    """
    database = database.expanduser()
    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return  # no lock file (nobody has the store open), or unreadable: open decides
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise _in_use(database, path, _holder(fd)) from None
    finally:
        os.close(fd)


class StoreLock:
    """The exclusive advisory lock of one store file, held by this process.

    Create with :meth:`acquire` (blocking file-system calls: run it in a thread
    from the event loop); :meth:`release` once, at close.

    Attributes:
        path: the lock file.
    """

    def __init__(self, path: Path, fd: int) -> None:
        """Use :meth:`acquire`."""
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: Path) -> StoreLock:
        """Take the lock of the store at ``database`` without waiting.

        Raises:
            StoreInUseError: another process holds it (the message names the file
                and that process's pid).
            StoreReadOnlyError: the lock file cannot be created (a read-only
                directory).
            StoreError: another file-system failure.
        """
        path = lock_path(database)
        for _ in range(_ATTEMPTS):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise error_from_sqlite(exc, database, "open") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                pid = _holder(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise error_from_sqlite(exc, database, "lock") from exc
                raise _in_use(database, path, pid) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # removed (and maybe re-created) by its last owner: retry
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            except OSError as exc:
                os.close(fd)
                raise error_from_sqlite(exc, database, "lock") from exc
            return cls(path, fd)
        raise StoreInUseError(  # pragma: no cover - only under a storm of opens and closes
            f"the property store {database} could not be locked: its lock file {path}"
            f" keeps changing (another fleettop opening and closing it)",
            path=database,
        )

    @property
    def held(self) -> bool:
        """True until :meth:`release`."""
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file, then release the lock (idempotent; blocking)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # still locked: nobody can take this inode meanwhile
        os.close(fd)
