"""Audit entries to and from files: JSON Lines and CSV (:mod:`console.rowfiles`), read
back to exactly the same entries (see :mod:`console.store.audit`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from console.events import JsonValue
from console.rowfiles import (
    RowCells,
    read_csv,
    read_jsonl,
    write_csv,
    write_jsonl,
)
from console.store.audit.model import AuditEntry

__all__ = [
    "AUDIT_COLUMNS",
    "export_audit_csv",
    "export_audit_jsonl",
    "read_audit_csv",
    "read_audit_jsonl",
]

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
