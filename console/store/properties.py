"""The property store: typed, versioned properties of every device, in one SQLite file.

:class:`PropertyStore` mirrors the Astarte SDK for Python's ``AstarteDatabase``
(``store_prop``, ``load_prop``, ``delete_prop``, ``delete_props_from_interface``,
``load_all_props``, ``clear``), per device, and adds the queries a property browser
needs (:meth:`PropertyStore.query`, :meth:`PropertyStore.count`). What it keeps and
how it reads back is in :mod:`console.store.values`; the schema in
:mod:`console.store.schema`; the durability promise in ``docs/store.md``.

Semantics taken from the Astarte SDK
------------------------------------
* A property is identified by ``(device, interface, path)``; the interface's
  ``major`` version is stored with it. Storing it again replaces the row, whatever
  the major was.
* ``store_prop(..., value=None)`` *unsets* the property: the row is deleted.
  (Only ``None`` unsets: ``0``, ``False``, ``""`` and ``[]`` are values. The SDK's
  SQLite implementation tests ``if not value`` and so also deletes those.)
* ``load_prop`` with a major that differs from the stored one deletes the stored
  row (it belongs to an incompatible version of the interface) and returns
  ``None``. The delete is conditional on the stale major, so a value stored
  meanwhile with the new major is never lost.

Writes and reads
----------------
Every write (store, unset, delete, clear) is validated at once (a bad value raises
:class:`ValueError` and nothing is queued), then queued to the store's
:class:`~console.store.database.Database`, whose one writer task commits in batched
transactions: a write returns once queued, and waits only while ``max_pending``
writes are uncommitted (backpressure: memory stays bounded).
:meth:`PropertyStore.flush` returns once everything queued so far is committed;
:meth:`PropertyStore.aclose` commits everything, then closes. Reads see committed
data only, after a flush (read-your-writes; with nothing queued the flush is free).

The database itself (file, lock, pragmas, schema, writer, ``fetch`` / ``execute`` /
``flush``) is :mod:`console.store.database`; :class:`PropertyStore` opens one and
passes its public database API on, so the other tables' modules (audit,
notifications, alarms) work on the object the runtime and the UI pass around.

Errors
------
:meth:`PropertyStore.open` raises what :meth:`Database.open
<console.store.database.Database.open>` raises (locked, in use, read-only, corrupt,
newer schema, not a fleettop store). A failed commit later stops the writer (see
:attr:`PropertyStore.error`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self, Unpack

from console.store.database import Database, OpenOptions
from console.store.errors import StoreCorruptError, StoreError
from console.store.paths import (
    SQL_FUNCTION,
    _sql_path_match,
    check_text,
    compile_path_filter,
    validate_path,
)
from console.store.values import (
    Ownership,
    PropertyType,
    PropertyValue,
    Source,
    decoder,
    encode_value,
)
from console.store.writer import (
    WriterStats,
)

__all__ = ["DEFAULT_QUERY_LIMIT", "Property", "PropertyStore"]

#: Rows returned by :meth:`PropertyStore.query` unless told otherwise.
DEFAULT_QUERY_LIMIT: Final = 1000

_COLUMNS: Final = (
    "device, interface, path, major, minor, type, value, ownership, source, updated_ms, native_type"
)
_UPSERT: Final = f"INSERT OR REPLACE INTO properties ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_DELETE: Final = "DELETE FROM properties WHERE device = ? AND interface = ? AND path = ?"
_DELETE_STALE: Final = _DELETE + " AND major = ?"
_DELETE_INTERFACE: Final = "DELETE FROM properties WHERE device = ? AND interface = ?"
_DELETE_DEVICE: Final = "DELETE FROM properties WHERE device = ?"
_DELETE_ALL: Final = "DELETE FROM properties"

_TYPES: Final = {t.value: t for t in PropertyType}
_OWNERSHIPS: Final = {o.value: o for o in Ownership}
_SOURCES: Final = {s.value: s for s in Source}


@dataclass(frozen=True, slots=True)
class Property:
    """One stored property, as read back.

    Attributes:
        device: the device's name (fleettop's configuration name).
        interface: the interface name, e.g. ``org.fleettop.snmp.Values``.
        major: the interface's major version the value was stored under.
        minor: the interface's minor version (0 when unknown).
        path: the property's path, starting with ``/``.
        type: the declared type.
        value: the value, of the Python type of ``type`` (see :mod:`.values`).
        ownership: who owns the property (device or server).
        source: where fleettop learnt the value (snmp, mqtt, operator).
        updated_ms: when it was stored (or reported), ms since the epoch.
        native_type: the source protocol's own type name (``TIME_TICKS``), or ``None``.
    """

    device: str
    interface: str
    major: int
    minor: int
    path: str
    type: PropertyType
    value: PropertyValue
    ownership: Ownership
    source: Source
    updated_ms: int
    native_type: str | None = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


_INT64_MAX: Final = 2**63 - 1


def _name(kind: str, value: object) -> str:
    """A device or interface name: a non-empty string SQLite can store."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string, not {value!r}")
    if "\x00" in value:
        raise ValueError(f"{kind} {value!r} must not contain NUL")
    return check_text(kind, value)


def _version(kind: str, value: object) -> int:
    """A major or minor version: an int in 0..2^63-1 (not a bool)."""
    if type(value) is not int or not 0 <= value <= _INT64_MAX:
        raise ValueError(f"{kind} must be a non-negative int, not {value!r}")
    return value


def _enum_value(kind: str, table: dict[str, Any], value: object) -> Any:
    found = table.get(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"unknown {kind} {value!r}: expected one of {', '.join(table)}")
    return found


class PropertyStore:
    """Typed properties of every device, in the store's database (one SQLite file in
    WAL mode, written by one batching writer task).

    Create with :meth:`open` (inside the running loop); close with :meth:`aclose`, or
    use ``async with await PropertyStore.open(path) as store:``.

    Attributes:
        path: the database file.
        database: the :class:`~console.store.database.Database` it works on (owned:
            closed by :meth:`aclose`).
    """

    def __init__(self, database: Database) -> None:
        """Use :meth:`open` (or wrap an open :class:`Database`, which it then owns)."""
        self.database = database
        self.path = database.path

    @classmethod
    async def open(cls, path: str | Path, **options: Unpack[OpenOptions]) -> Self:
        """Open (or create) the store at ``path``: :meth:`Database.open
        <console.store.database.Database.open>` (the same options: ``batch_size``,
        ``batch_window``, ``max_pending``, ``lock_timeout``, ``busy_timeout``,
        ``check``; the same errors), with the path-filter SQL function the property
        queries use.

        Raises:
            StoreInUseError, StoreLockedError, StoreReadOnlyError, StoreCorruptError,
            StoreSchemaError, StoreError, ValueError: see ``Database.open``.
        """
        database = await Database.open(
            path, functions=[(SQL_FUNCTION, 2, _sql_path_match)], **options
        )
        return cls(database)

    # -- writes (queued) -----------------------------------------------------------

    async def store_prop(
        self,
        device: str,
        interface: str,
        major: int,
        path: str,
        value: PropertyValue | None,
        *,
        type: PropertyType | str,  # the Astarte mapping's own word; shadows type()
        ownership: Ownership | str,
        source: Source | str,
        minor: int = 0,
        native_type: str | None = None,
        updated_ms: int | None = None,
    ) -> None:
        """Store (replace) one property, or unset it when ``value`` is ``None``.

        Returns once the write is queued (waits only while the queue is full);
        :meth:`flush` to wait for the commit.

        Args:
            device, interface, path: the property's key (``path`` starts with ``/``).
            major: the interface's major version (int >= 0).
            value: the value, of the Python type of ``type``; ``None`` deletes the
                row (as the Astarte SDK).
            type: the declared type (a :class:`PropertyType` or its name).
            ownership: ``device`` or ``server``.
            source: ``snmp``, ``mqtt`` or ``operator``.
            minor: the interface's minor version (int >= 0).
            native_type: the source protocol's own type name, kept for display.
            updated_ms: when the value was reported, ms since the epoch (now if
                ``None``).

        Raises:
            ValueError: a bad key, version, type name, ownership, source, or a value
                that is not a valid ``type`` (nothing is queued, nothing changes).
            StoreClosedError: the store is closed.
            StoreError: the writer stopped after a failed commit.
        """
        key = (_name("device", device), _name("interface", interface), validate_path(path))
        _version("major", major)
        if value is None:
            await self.database.execute(_DELETE, key)
            return
        type_ = type if isinstance(type, PropertyType) else _enum_value("type", _TYPES, type)
        owner = (
            ownership
            if isinstance(ownership, Ownership)
            else _enum_value("ownership", _OWNERSHIPS, ownership)
        )
        origin = source if isinstance(source, Source) else _enum_value("source", _SOURCES, source)
        encoded = encode_value(type_, value)
        if native_type is not None:
            if not isinstance(native_type, str):
                raise ValueError(f"native_type must be a string or None, not {native_type!r}")
            check_text("native_type", native_type)
        stamp = _now_ms() if updated_ms is None else updated_ms
        # not type(stamp): the parameter ``type`` shadows the builtin here
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp.bit_length() > 63:
            raise ValueError(f"updated_ms must be an int (ms since the epoch), not {stamp!r}")
        await self.database.execute(
            _UPSERT,
            (
                *key,
                major,
                _version("minor", minor),
                type_._value_,
                encoded,
                owner._value_,
                origin._value_,
                stamp,
                native_type,
            ),
        )

    async def delete_prop(self, device: str, interface: str, path: str) -> None:
        """Delete one property (queued, as every write). Deleting a missing one is
        not an error.

        Raises:
            ValueError: a bad key. StoreClosedError, StoreError: as :meth:`store_prop`.
        """
        key = (_name("device", device), _name("interface", interface), validate_path(path))
        await self.database.execute(_DELETE, key)

    async def delete_props_from_interface(self, device: str, interface: str) -> None:
        """Delete every property of ``interface`` on ``device`` (any major).

        Raises:
            ValueError: a bad name. StoreClosedError, StoreError: as :meth:`store_prop`.
        """
        params = (_name("device", device), _name("interface", interface))
        await self.database.execute(_DELETE_INTERFACE, params)

    async def clear(self, device: str | None = None) -> None:
        """Delete every property of ``device``, or of every device when ``None``.

        Raises:
            ValueError: a bad name. StoreClosedError, StoreError: as :meth:`store_prop`.
        """
        if device is None:
            await self.database.execute(_DELETE_ALL)
        else:
            await self.database.execute(_DELETE_DEVICE, (_name("device", device),))

    # -- the database's public API (for the tables beside the properties) ----------

    async def flush(self) -> None:
        """Return once every write queued before this call is committed
        (:meth:`Database.flush <console.store.database.Database.flush>`).

        Raises:
            StoreError: the writer stopped (a commit failed) before that.
        """
        await self.database.flush()

    async def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Queue one write statement for the store's writer (committed in its next
        batch, in order with every other write); for the tables that modules beside
        the property store own (audit, notifications, alarms).

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the writer stopped (a commit failed) before this call.
        """
        await self.database.execute(sql, params)

    async def fetch(self, sql: str, params: Sequence[object] = ()) -> Iterable[sqlite3.Row]:
        """Run one read query on committed data, after the writes queued before this
        call are committed (read-your-writes); rows as :class:`sqlite3.Row`.

        Raises:
            StoreClosedError: the store is closed.
            StoreError: the query failed (locked, corrupt, ...).
        """
        return await self.database.fetch(sql, params)

    # -- reads (committed data, after a flush) -------------------------------------

    def _decode(self, row: Sequence[Any]) -> Property:
        (device, interface, path, major, minor, type_name, stored, owner, origin, stamp, native) = (
            row
        )
        try:
            return Property(
                device,
                interface,
                major,
                minor,
                path,
                _TYPES[type_name],
                decoder(type_name)(stored),
                _OWNERSHIPS[owner],
                _SOURCES[origin],
                stamp,
                native,
            )
        except (KeyError, ValueError) as exc:
            raise self._damaged(device, interface, path, exc) from exc

    def _damaged(self, device: str, interface: str, path: str, exc: Exception) -> StoreCorruptError:
        return StoreCorruptError(
            f"the property store {self.path} holds a damaged value at {device}"
            f" {interface}{path}: {exc}",
            path=self.path,
        )

    async def load_prop(
        self, device: str, interface: str, major: int, path: str
    ) -> PropertyValue | None:
        """The value of one property, or ``None``.

        As the Astarte SDK: when the stored major differs from ``major``, the stored
        row is deleted (queued, and only if its major is still the stale one) and
        ``None`` is returned.

        Raises:
            ValueError: a bad key. StoreClosedError: the store is closed.
            StoreCorruptError: the stored value does not fit its type.
        """
        key = (_name("device", device), _name("interface", interface), validate_path(path))
        _version("major", major)
        rows = list(
            await self.fetch(
                "SELECT major, type, value FROM properties"
                " WHERE device = ? AND interface = ? AND path = ?",
                key,
            )
        )
        if not rows:
            return None
        stored_major, type_name, stored = rows[0]
        if stored_major != major:
            with contextlib.suppress(StoreError):
                await self.database.execute(_DELETE_STALE, (*key, stored_major))
            return None
        try:
            return decoder(type_name)(stored)
        except (KeyError, ValueError) as exc:
            raise self._damaged(device, interface, path, exc) from exc

    async def get_prop(self, device: str, interface: str, path: str) -> Property | None:
        """The whole stored record of one property (any major), or ``None``.

        Raises:
            ValueError: a bad key. StoreClosedError, StoreCorruptError: as
            :meth:`load_prop`.
        """
        key = (_name("device", device), _name("interface", interface), validate_path(path))
        rows = list(
            await self.fetch(
                f"SELECT {_COLUMNS} FROM properties"
                " WHERE device = ? AND interface = ? AND path = ?",
                key,
            )
        )
        return self._decode(rows[0]) if rows else None

    async def load_all_props(self, device: str) -> list[Property]:
        """Every property of ``device``, ordered by interface then path.

        Raises:
            ValueError: a bad name. StoreClosedError, StoreCorruptError: as
            :meth:`load_prop`.
        """
        rows = await self.fetch(
            f"SELECT {_COLUMNS} FROM properties WHERE device = ? ORDER BY interface, path",
            (_name("device", device),),
        )
        return [self._decode(row) for row in rows]

    @staticmethod
    def _where(
        device: str | None,
        interface: str | None,
        path_filter: str | None,
        ownership: Ownership | str | None,
        source: Source | str | None,
        major: int | None = None,
    ) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if device is not None:
            clauses.append("device = ?")
            params.append(_name("device", device))
        if interface is not None:
            clauses.append("interface = ?")
            params.append(_name("interface", interface))
        if major is not None:
            clauses.append("major = ?")
            params.append(_version("major", major))
        if path_filter:
            compiled = compile_path_filter(path_filter)
            clauses.append(compiled.sql)
            params.extend(compiled.params)
        if ownership is not None:
            clauses.append("ownership = ?")
            params.append(_enum_value("ownership", _OWNERSHIPS, str(ownership)).value)
        if source is not None:
            clauses.append("source = ?")
            params.append(_enum_value("source", _SOURCES, str(source)).value)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    async def query(
        self,
        device: str | None = None,
        interface: str | None = None,
        path_filter: str | None = None,
        *,
        ownership: Ownership | str | None = None,
        source: Source | str | None = None,
        major: int | None = None,
        limit: int | None = DEFAULT_QUERY_LIMIT,
        offset: int = 0,
    ) -> list[Property]:
        """Properties matching every given filter, ordered by device, interface, path.

        Args:
            device: only this device.
            interface: only this interface.
            path_filter: a substring (ASCII case-insensitive) or an MQTT-style pattern
                with ``+`` / ``#`` (see :mod:`console.store.paths`).
            ownership: only ``device`` or ``server`` properties.
            source: only ``snmp``, ``mqtt`` or ``operator`` properties.
            major: only properties stored under this major version.
            limit: at most this many rows (``None``: all).
            offset: skip this many rows first (for paging).

        Raises:
            ValueError: a malformed pattern, unknown ownership or source, or a
                negative limit or offset. StoreClosedError, StoreCorruptError: as
                :meth:`load_prop`.
        """
        where, params = self._where(device, interface, path_filter, ownership, source, major)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be a non-negative int or None, not {limit!r}")
        if type(offset) is not int or offset < 0:
            raise ValueError(f"offset must be a non-negative int, not {offset!r}")
        sql = f"SELECT {_COLUMNS} FROM properties{where} ORDER BY device, interface, path"
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        return [self._decode(row) for row in await self.fetch(sql, params)]

    # The same filter keywords as `query` on purpose (a pager counts what it pages);
    # both pass them to `_where`, the one place they are interpreted.
    async def count(
        self,
        device: str | None = None,
        interface: str | None = None,
        path_filter: str | None = None,
        *,
        ownership: Ownership | str | None = None,
        source: Source | str | None = None,
        major: int | None = None,
    ) -> int:
        """How many properties :meth:`query` would return without a limit.

        Raises:
            ValueError, StoreClosedError: as :meth:`query`.
        """
        where, params = self._where(device, interface, path_filter, ownership, source, major)
        rows = list(await self.fetch(f"SELECT count(*) FROM properties{where}", params))
        return int(rows[0][0])

    async def device_counts(
        self,
        path_filter: str | None = None,
        *,
        ownership: Ownership | str | None = None,
        source: Source | str | None = None,
    ) -> list[tuple[str, int]]:
        """``(device, properties)`` of every device with a property matching the
        filters (one query), sorted by device: the first level of a property browser.

        Raises:
            ValueError, StoreClosedError: as :meth:`query`.
        """
        where, params = self._where(None, None, path_filter, ownership, source)
        rows = await self.fetch(
            f"SELECT device, count(*) FROM properties{where} GROUP BY device ORDER BY device",
            params,
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def interface_counts(
        self,
        device: str,
        path_filter: str | None = None,
        *,
        ownership: Ownership | str | None = None,
        source: Source | str | None = None,
    ) -> list[tuple[str, int, int, int]]:
        """``(interface, major, minor, properties)`` of ``device``'s properties that
        match the filters, sorted by interface then major; ``minor`` is the highest
        minor stored under that major.

        Raises:
            ValueError, StoreClosedError: as :meth:`query`.
        """
        where, params = self._where(device, None, path_filter, ownership, source)
        rows = await self.fetch(
            f"SELECT interface, major, max(minor), count(*) FROM properties{where}"
            " GROUP BY interface, major ORDER BY interface, major",
            params,
        )
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def devices(self) -> list[str]:
        """The devices that have at least one property, sorted."""
        rows = await self.fetch("SELECT DISTINCT device FROM properties ORDER BY device")
        return [str(row[0]) for row in rows]

    async def interfaces(self, device: str | None = None) -> list[tuple[str, int, int]]:
        """``(interface, major, properties)`` of ``device`` (or of every device),
        sorted by interface then major."""
        where, params = self._where(device, None, None, None, None)
        rows = await self.fetch(
            f"SELECT interface, major, count(*) FROM properties{where}"
            " GROUP BY interface, major ORDER BY interface, major",
            params,
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    # -- state and lifecycle -------------------------------------------------------
    # Facade properties: the store delegates to its database, whose docstrings they repeat.

    @property
    def stats(self) -> WriterStats:
        """The writer's counters: queued, committed, batches, discarded, pending."""
        return self.database.stats

    @property
    def error(self) -> StoreError | None:
        """The error that stopped the writer (writes then raise it), or ``None``."""
        return self.database.error

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has started."""
        return self.database.closing

    async def aclose(self) -> None:
        """Commit every queued write, then close the database (both connections, the
        lock).

        Idempotent, safe to call concurrently, and it runs to the end even if the
        caller is cancelled. Never raises a :class:`StoreError`: a writer failure was
        reported when it happened and stays in :attr:`error`.
        """
        await self.database.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
