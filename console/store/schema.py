"""The store's SQLite schema, versioned with ``PRAGMA user_version``, and its forward
migrations.

:data:`MIGRATIONS` is the history: migration ``i`` (0-based) takes a database from
schema version ``i`` to ``i + 1``. A new fleettop that changes the schema appends a
function and never edits an old one, so every file written by an older fleettop
opens in a newer one. :func:`migrate` runs the missing steps and sets
``user_version`` in one ``BEGIN IMMEDIATE`` transaction: a crash halfway leaves the
file at its old version, untouched.

A file whose version is *higher* than :data:`CURRENT_VERSION` was written by a newer
fleettop: :func:`check_version` refuses it (:class:`StoreSchemaError`) rather than
guess, and nothing is written. Version 0 means "no fleettop schema yet"; a version-0
file that already holds tables is some other program's database and is refused too.

Versions
--------
1. ``properties``: one row per ``(device, interface, path)`` (the Astarte SDK's key,
   ``(interface, path)``, per device) with the interface's ``major`` version, the
   declared ``type`` and the ``value`` (see :mod:`console.store.values`),
   ``ownership``, ``source`` and ``updated_ms`` (ms since the epoch). ``STRICT`` and
   ``WITHOUT ROWID``; CHECK constraints pin every enumerated column and make the
   value's SQL storage class match its declared type.
2. Adds ``minor`` (the interface's minor version, default 0), ``native_type`` (the
   source protocol's own type name, e.g. the SNMP type ``TIME_TICKS``, or NULL), and
   the index ``properties_by_interface`` for interface-wide queries across devices.
3. ``audit``: the audit log (:mod:`console.store.audit`), one row per operator action:
   ``id`` (``AUTOINCREMENT``: never reused), ``time_ms`` (ms since the epoch),
   ``actor``, ``action``, ``device``, ``target``, ``old`` and ``new`` (JSON text, or
   NULL), ``result`` and ``session_id``; ``STRICT``. Indexes ``audit_by_time``
   (newest-first pages) and ``audit_by_device``.
4. ``notifications``: the notification stream (:mod:`console.notifications.storage`),
   one row per notification: ``id`` (``AUTOINCREMENT``, assigned by fleettop in
   arrival order and never reused), ``time_ms`` (ms since the epoch), ``category``,
   ``severity`` (0 info .. 3 critical), ``device``, ``type`` (the bus event type as a
   JSON array of strings), ``summary`` and ``payload`` (JSON text). Index
   ``notifications_by_time`` (age retention). ``alarms``: one row per alarm, upserted
   on every change: ``id`` (``AUTOINCREMENT``: ids never repeat, even after pruning),
   ``key``, ``rule``, ``device``, ``severity``, ``message``, ``source``, ``raised_ms``,
   ``updated_ms``, ``cleared_ms`` and ``acked_ms`` (NULL until then), ``count`` and
   ``payload`` (the alarm's JSON form); ``STRICT``. Indexes ``alarms_open`` (the
   alarms not yet closed) and ``alarms_by_update``.

5. ``monitor_outbox``: the batches a delivering monitor keeps until a client has
   them (:mod:`console.notifications.delivery.outbox`): ``monitor``, ``seq`` (the
   batch's sequence number, per monitor), ``time_ms``, ``events`` (how many) and
   ``body`` (the batch's JSON document, uncompressed, as a BLOB); ``STRICT``,
   ``WITHOUT ROWID``, key ``(monitor, seq)``. ``monitor_state``: per monitor, the
   next sequence number, and when and for which destination it was DISABLED.

Reference: the Astarte SDK for Python keeps ``interface, major, path, value`` with
``PRIMARY KEY (interface, path)`` (``AstarteDatabaseSQLite``) and no version of its
own schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Final, TypeAlias

import aiosqlite

from console.store.errors import StoreSchemaError

__all__ = ["CURRENT_VERSION", "MIGRATIONS", "Migration", "check_version", "migrate", "version"]

#: One forward step: runs inside the migration transaction.
Migration: TypeAlias = Callable[[aiosqlite.Connection], Awaitable[None]]


async def _v1_properties(db: aiosqlite.Connection) -> None:
    # Literal SQL, frozen: a migration describes the schema as it was at that version.
    # The CHECKs use OR and CASE, not IN (...): SQLite builds an ephemeral table for
    # an IN list on every execution, which made each insert several times slower.
    await db.execute(
        """
        CREATE TABLE properties (
            device     TEXT    NOT NULL CHECK (length(device) > 0),
            interface  TEXT    NOT NULL CHECK (length(interface) > 0),
            path       TEXT    NOT NULL CHECK (substr(path, 1, 1) = '/'),
            major      INTEGER NOT NULL CHECK (major >= 0),
            type       TEXT    NOT NULL,
            value      ANY     NOT NULL,
            ownership  TEXT    NOT NULL CHECK (ownership = 'device' OR ownership = 'server'),
            source     TEXT    NOT NULL
                CHECK (source = 'snmp' OR source = 'mqtt' OR source = 'operator'),
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (device, interface, path),
            -- the declared type is known, and the value's storage class matches it
            CHECK (typeof(value) IS CASE type
                WHEN 'integer' THEN 'integer'
                WHEN 'longinteger' THEN 'integer'
                WHEN 'boolean' THEN 'integer'
                WHEN 'datetime' THEN 'integer'
                WHEN 'double' THEN 'real'
                WHEN 'string' THEN 'text'
                WHEN 'binaryblob' THEN 'blob'
                WHEN 'integerarray' THEN 'text'
                WHEN 'longintegerarray' THEN 'text'
                WHEN 'doublearray' THEN 'text'
                WHEN 'booleanarray' THEN 'text'
                WHEN 'stringarray' THEN 'text'
                WHEN 'binaryblobarray' THEN 'text'
                WHEN 'datetimearray' THEN 'text'
                END)
        ) STRICT, WITHOUT ROWID
        """
    )


async def _v2_minor_native_type(db: aiosqlite.Connection) -> None:
    # Literal SQL, frozen like every step: alike tables share no helper across versions.
    await db.execute(
        "ALTER TABLE properties ADD COLUMN minor INTEGER NOT NULL DEFAULT 0 CHECK (minor >= 0)"
    )
    await db.execute("ALTER TABLE properties ADD COLUMN native_type TEXT")
    await db.execute("CREATE INDEX properties_by_interface ON properties (interface, device, path)")


async def _v3_audit(db: aiosqlite.Connection) -> None:
    # Literal SQL, frozen like every step: alike tables share no helper across versions.
    await db.execute(
        """
        CREATE TABLE audit (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ms    INTEGER NOT NULL,
            actor      TEXT    NOT NULL CHECK (length(actor) > 0),
            action     TEXT    NOT NULL CHECK (length(action) > 0),
            device     TEXT    NOT NULL CHECK (length(device) > 0),
            target     TEXT    NOT NULL,
            old        TEXT,
            new        TEXT,
            result     TEXT    NOT NULL CHECK (length(result) > 0),
            session_id TEXT
        ) STRICT
        """
    )
    await db.execute("CREATE INDEX audit_by_time ON audit (time_ms)")
    await db.execute("CREATE INDEX audit_by_device ON audit (device, time_ms)")


async def _v4_notifications_alarms(db: aiosqlite.Connection) -> None:
    # Literal SQL, frozen like every step: alike tables share no helper across versions.
    await db.execute(
        """
        CREATE TABLE notifications (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ms    INTEGER NOT NULL,
            category   TEXT    NOT NULL CHECK (length(category) > 0),
            severity   INTEGER NOT NULL CHECK (severity >= 0 AND severity <= 3),
            device     TEXT    NOT NULL,
            type       TEXT    NOT NULL,
            summary    TEXT    NOT NULL,
            payload    TEXT    NOT NULL
        ) STRICT
        """
    )
    await db.execute("CREATE INDEX notifications_by_time ON notifications (time_ms)")
    await db.execute(
        """
        CREATE TABLE alarms (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            key        TEXT    NOT NULL,
            rule       TEXT    NOT NULL,
            device     TEXT    NOT NULL,
            severity   INTEGER NOT NULL CHECK (severity >= 0 AND severity <= 3),
            message    TEXT    NOT NULL,
            source     TEXT    NOT NULL,
            raised_ms  INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            cleared_ms INTEGER,
            acked_ms   INTEGER,
            count      INTEGER NOT NULL CHECK (count >= 1),
            payload    TEXT    NOT NULL
        ) STRICT
        """
    )
    await db.execute(
        "CREATE INDEX alarms_open ON alarms (id) WHERE cleared_ms IS NULL OR acked_ms IS NULL"
    )
    await db.execute("CREATE INDEX alarms_by_update ON alarms (updated_ms)")


async def _v5_monitor_outbox(db: aiosqlite.Connection) -> None:
    # Literal SQL, frozen like every step: alike tables share no helper across versions.
    await db.execute(
        """
        CREATE TABLE monitor_outbox (
            monitor    TEXT    NOT NULL CHECK (length(monitor) > 0),
            seq        INTEGER NOT NULL CHECK (seq >= 1),
            time_ms    INTEGER NOT NULL,
            events     INTEGER NOT NULL CHECK (events >= 0),
            body       BLOB    NOT NULL,
            PRIMARY KEY (monitor, seq)
        ) STRICT, WITHOUT ROWID
        """
    )
    await db.execute(
        """
        CREATE TABLE monitor_state (
            monitor     TEXT    PRIMARY KEY CHECK (length(monitor) > 0),
            next_seq    INTEGER NOT NULL CHECK (next_seq >= 1),
            disabled_ms INTEGER,
            destination TEXT
        ) STRICT, WITHOUT ROWID
        """
    )


#: Every migration, oldest first; ``MIGRATIONS[i]`` goes from version ``i`` to ``i + 1``.
MIGRATIONS: Final[Sequence[Migration]] = (
    _v1_properties,
    _v2_minor_native_type,
    _v3_audit,
    _v4_notifications_alarms,
    _v5_monitor_outbox,
)
#: The schema version this fleettop writes.
CURRENT_VERSION: Final = len(MIGRATIONS)


async def version(db: aiosqlite.Connection) -> int:
    """The file's schema version (``PRAGMA user_version``; 0 for a new file).

    Raises:
        sqlite3.Error: the file cannot be read (not a database, locked, ...).
    """
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def check_version(db: aiosqlite.Connection, path: Path) -> int:
    """Read the schema version and refuse files this fleettop must not touch.

    Only reads. Returns the version (0..:data:`CURRENT_VERSION`).

    Raises:
        StoreSchemaError: the version is higher than :data:`CURRENT_VERSION` (a newer
            fleettop wrote it), or the file is at version 0 but already holds tables
            (another program's database).
        sqlite3.Error: the file cannot be read.
    """
    found = await version(db)
    if found > CURRENT_VERSION:
        raise StoreSchemaError(
            f"the property store {path} has schema version {found}, written by a newer"
            f" fleettop; this fleettop knows versions up to {CURRENT_VERSION}. Upgrade"
            f" fleettop, or choose another store path; the file is left untouched",
            path=path,
        )
    if found == 0:
        async with db.execute(
            "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 5"
        ) as cursor:
            names = [str(row[0]) for row in await cursor.fetchall()]
        if names:
            raise StoreSchemaError(
                f"{path} is an SQLite database but not a fleettop property store (it"
                f" holds {', '.join(names)}); choose another store path; the file is"
                f" left untouched",
                path=path,
            )
    return found


async def migrate(db: aiosqlite.Connection, *, target: int = CURRENT_VERSION) -> int:
    """Bring the database to schema version ``target`` in one write transaction.

    The connection must be in autocommit mode (``isolation_level=None``). Even when
    nothing is missing the transaction is taken and ``user_version`` rewritten: that
    proves at open time that the file is writable and not locked.

    Args:
        db: the connection.
        target: the version to reach (tests create old files with a lower one).

    Returns:
        The version the file had before.

    Raises:
        ValueError: ``target`` is not a known version, or lower than the file's.
        sqlite3.Error: locked, read-only, damaged (the transaction is rolled back).
    """
    if not 0 <= target <= CURRENT_VERSION:
        raise ValueError(f"unknown schema version {target} (known: 0..{CURRENT_VERSION})")
    await db.execute("BEGIN IMMEDIATE")
    try:
        found = await version(db)
        if found > target:
            raise ValueError(f"cannot migrate backwards from version {found} to {target}")
        for step in MIGRATIONS[found:target]:
            await step(db)
        await db.execute(f"PRAGMA user_version = {int(target)}")
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise
    return found
