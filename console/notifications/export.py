"""Notifications to files: what a pane shows, as JSON Lines or CSV (``e`` on the
Notifications screen).

Each notification is one :meth:`~console.notifications.model.Notification.to_record`
object: ``id``, ``time`` (s since the epoch), ``category``, ``severity`` (label),
``device``, ``type`` (the event type joined by ``/``), ``summary``, ``payload`` and
``history``. The writers are those of :mod:`console.rowfiles`: the file is
written beside its path and renamed into place when complete, so a failed export
never leaves half a file.

* JSON Lines: one object per line, every value with its JSON type.
* CSV (RFC 4180, Excel dialect): a header of :data:`COLUMNS`; ``payload`` holds the
  payload's JSON text (quoted as needed: commas, quotes and line breaks survive);
  ``time`` a JSON number, ``history`` ``true``/``false``.

A payload that is not strict JSON (NaN, text with lone surrogates) is written through
:func:`~console.notifications.storage.json_safe` rather than failing the export.

Both writers block (file I/O): from the loop, call them via :func:`asyncio.to_thread`.
:func:`read_notifications_jsonl` and :func:`read_notifications_csv` give the records
back, equal to the ``to_record()`` they were written from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, Literal

from console.events import JsonValue
from console.notifications.model import Notification
from console.notifications.storage import json_safe
from console.rowfiles import (
    RowCells,
    from_json_text,
    read_csv,
    read_jsonl,
    write_csv,
    write_jsonl,
)

__all__ = [
    "COLUMNS",
    "ExportFormat",
    "export_notifications",
    "read_notifications_csv",
    "read_notifications_jsonl",
]

#: An export's file format.
ExportFormat = Literal["jsonl", "csv"]

#: The CSV columns, in order (the keys of ``Notification.to_record()``).
COLUMNS: Final = (
    "id",
    "time",
    "category",
    "severity",
    "device",
    "type",
    "summary",
    "payload",
    "history",
)
_JSON_COLUMNS: Final = frozenset({"payload"})


def _write(path: str | Path, records: list[dict[str, JsonValue]], fmt: ExportFormat) -> int:
    if fmt == "jsonl":
        return write_jsonl(path, records)
    return write_csv(path, COLUMNS, records, json_columns=_JSON_COLUMNS)


def export_notifications(
    path: str | Path, notifications: Iterable[Notification], fmt: ExportFormat
) -> int:
    """Write ``notifications`` to ``path``, one record per line (``jsonl``) or row
    (``csv``), in the order given. Blocking. An existing file is replaced only by a
    complete one.

    Returns:
        The number of notifications written.

    Raises:
        ValueError: ``fmt`` is neither ``"jsonl"`` nor ``"csv"``.
        OSError: the file cannot be written (nothing is left behind).
    """
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown export format {fmt!r} (expected jsonl or csv)")
    records = [n.to_record() for n in notifications]
    try:
        return _write(path, records, fmt)
    except (ValueError, TypeError):  # NaN, a lone surrogate, a value that is not JSON
        safe = [json_safe(record) for record in records]
        return _write(path, [r for r in safe if isinstance(r, dict)], fmt)


def _record(row: Mapping[str, JsonValue], *, from_csv: bool) -> dict[str, JsonValue]:
    cells = RowCells(row, COLUMNS, kind="a notification record", from_csv=from_csv)
    record = {column: row[column] for column in COLUMNS}
    if from_csv:
        record["id"] = cells.integer("id")
        for name in ("time", "history"):
            record[name] = from_json_text(cells.text(name))
    if not isinstance(record["time"], int | float) or isinstance(record["time"], bool):
        raise ValueError(f"time is not a number: {record['time']!r}")
    if not isinstance(record["history"], bool):
        raise ValueError(f"history is not true or false: {record['history']!r}")
    return record


def read_notifications_jsonl(path: str | Path) -> list[dict[str, JsonValue]]:
    """The records of a file written by :func:`export_notifications` as ``jsonl``, in
    file order.

    Raises:
        ValueError: a line is not a notification record. OSError: unreadable file.
    """
    return [_record(row, from_csv=False) for row in read_jsonl(path)]


def read_notifications_csv(path: str | Path) -> list[dict[str, JsonValue]]:
    """The records of a file written by :func:`export_notifications` as ``csv``, in
    file order, with their JSON types back (``id`` int, ``time`` number, ``history``
    bool, ``payload`` any JSON value).

    Raises:
        ValueError: a row is not a notification record. OSError: unreadable file.
    """
    _, rows = read_csv(path, json_columns=_JSON_COLUMNS)
    return [_record(row, from_csv=True) for row in rows]
