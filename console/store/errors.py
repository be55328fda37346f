"""The property store's errors: one base class, one subclass per thing an operator
can act on. Every error the store package raises on purpose is defined here.

Hierarchy::

    StoreError                  the store cannot be used as asked (``path``: the file)
    ├── StoreLockedError        another process holds an SQLite lock too long
    │   └── StoreInUseError     another fleettop has the store open for writing
    │                           (its advisory lock file); ``pid``: that process
    ├── StoreReadOnlyError      the file or its directory cannot be written
    ├── StoreCorruptError       not an SQLite database, damaged, or a bad value
    ├── StoreSchemaError        a newer fleettop's file, or not a fleettop store
    ├── StoreClosedError        the store was closed (or its writer stopped)
    └── StoreWriteError         a batch could not be committed (disk full, I/O)

Besides these, the store raises :class:`ValueError` for a bad argument (a malformed
path, a value that does not fit its type), before anything is queued.

Every message is meant for an operator: it names the file, says what is wrong and
what to do, and ends with the SQLite error it came from. None of these cases ever
overwrites, truncates or deletes the file: fleettop refuses to use it and the
caller carries on without persistence (see ``docs/store.md``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = [
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreInUseError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "StoreSchemaError",
    "StoreWriteError",
    "error_from_sqlite",
]


class StoreError(Exception):
    """The property store cannot be used as asked.

    Attributes:
        path: the database file concerned (``None`` when not about one file).
    """

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreLockedError(StoreError):
    """Another process holds a lock on the database for longer than fleettop waits
    (another fleettop on the same file, or a tool with an open write transaction)."""


class StoreInUseError(StoreLockedError):
    """Another process (another fleettop) has the store open for writing: it holds
    the advisory lock on ``FILE.lock`` beside the database, taken at open and
    released at close, or by the kernel when that process dies (even ``kill -9``).

    Attributes:
        pid: the other process's id as it wrote it in the lock file, or ``None``
            when it could not be read.
    """

    def __init__(self, message: str, *, path: Path | None = None, pid: int | None = None) -> None:
        super().__init__(message, path=path)
        self.pid = pid


class StoreReadOnlyError(StoreError):
    """The file, or the directory it lives in, cannot be written (or created)."""


class StoreCorruptError(StoreError):
    """The file is not an SQLite database, is damaged, or holds a value that does not
    fit its declared type."""


class StoreSchemaError(StoreError):
    """The file was written by a newer fleettop (its schema version is higher than
    this fleettop knows), or is an SQLite database that is not a fleettop store."""


class StoreClosedError(StoreError):
    """The store was closed (or its writer stopped after a failure)."""


class StoreWriteError(StoreError):
    """A batch of writes could not be committed (disk full, I/O error). The batch is
    rolled back; everything committed before it is intact."""


def _detail(exc: BaseException) -> str:
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else str(exc)


def error_from_sqlite(exc: sqlite3.Error | OSError, path: Path, action: str) -> StoreError:
    """Translate an SQLite (or OS) error into the :class:`StoreError` an operator can
    act on.

    Args:
        exc: the error raised by :mod:`sqlite3` (or by the file system).
        path: the database file.
        action: what fleettop was doing, e.g. ``"open"`` or ``"write to"``.

    Returns:
        A :class:`StoreLockedError`, :class:`StoreReadOnlyError`,
        :class:`StoreCorruptError` or :class:`StoreWriteError`, else a plain
        :class:`StoreError`; the message names ``path`` and the SQLite error.
    """
    detail = _detail(exc)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if isinstance(exc, PermissionError) or name.startswith("SQLITE_READONLY"):
        return StoreReadOnlyError(
            f"cannot {action} the property store {path}: the file or its directory is"
            f" read-only; make both writable by this user, or choose another store path"
            f" [{detail}]",
            path=path,
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreReadOnlyError(
            f"cannot {action} the property store {path}: SQLite cannot open or create it"
            f" (and its -wal and -shm files); check that the directory exists and that"
            f" the file and its directory are writable by this user [{detail}]",
            path=path,
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreLockedError(
            f"cannot {action} the property store {path}: it is locked by another process"
            f" (another fleettop, or a tool holding a write transaction); close it, or"
            f" choose another store path [{detail}]",
            path=path,
        )
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or name.startswith("SQLITE_CORRUPT"):
        return StoreCorruptError(
            f"cannot {action} the property store {path}: the file is not a valid SQLite"
            f" database or is damaged; fleettop leaves it untouched: move it aside (or"
            f" repair it with the sqlite3 tool's .recover) and restart [{detail}]",
            path=path,
        )
    if name.startswith("SQLITE_FULL"):
        return StoreWriteError(
            f"cannot {action} the property store {path}: the disk is full [{detail}]",
            path=path,
        )
    if name.startswith("SQLITE_IOERR") or isinstance(exc, OSError):
        return StoreWriteError(
            f"cannot {action} the property store {path}: input/output error [{detail}]",
            path=path,
        )
    return StoreError(f"cannot {action} the property store {path}: {detail}", path=path)
