"""Rows to files: JSON Lines and CSV, for the audit log today and the property export
later.

A *row* is a mapping of column names to JSON values. Both writers are blocking
(file I/O): from the event loop, call them through :func:`asyncio.to_thread`. Both
write to a temporary file beside ``path`` and rename it over ``path`` at the end, so
a failed export never leaves a half-written file (an existing file is only replaced
by a complete one).

JSON Lines (:func:`write_jsonl`, :func:`read_jsonl`)
    One JSON object per line, UTF-8, ``\\n`` line ends, non-ASCII characters kept as
    they are (not ``\\u`` escaped). Every value keeps its JSON type. NaN and
    infinities are refused (:class:`ValueError`): they are not JSON.

CSV (:func:`write_csv`, :func:`read_csv`)
    RFC 4180 through the :mod:`csv` module (Excel dialect: ``,`` separators, ``\\r\\n``
    row ends, a cell holding a comma, a quote or a line break is quoted and its
    quotes doubled), UTF-8 without a byte-order mark, a header row first. A cell of
    a *JSON column* holds the value's JSON text (``"abc"`` with its quotes, ``null``
    for None, ``{"type":"STRING","value":"x"}``), so its type survives the round trip.
    In any other column a string is written as is, an int as its decimal digits,
    None as an empty cell, and anything else (bool, float, list, object) as JSON text;
    :func:`read_csv` gives those cells back as strings, for the caller to convert.

Spreadsheets may execute a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula; the files are written faithfully (no ``'`` prefix that would change the
data), so open exports from untrusted devices with formulas disabled.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

from console.events import JsonValue

__all__ = [
    "RowCells",
    "from_json_text",
    "read_csv",
    "read_jsonl",
    "to_json_text",
    "write_csv",
    "write_jsonl",
]


def to_json_text(value: JsonValue) -> str:
    """``value`` as compact JSON text, non-ASCII kept (``ensure_ascii=False``).

    Raises:
        ValueError: NaN or an infinity (not JSON).
        TypeError: not a JSON value (a tuple is accepted and becomes an array).
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _write_atomically(path: str | Path, newline: str, fill: Callable[[IO[str]], int]) -> int:
    """Run ``fill`` on a temporary file beside ``path``, then rename it to ``path``.

    Returns what ``fill`` returned. On any error the temporary file is removed and
    ``path`` is left as it was.

    Raises:
        OSError: the directory is not writable, the disk is full...
        Exception: whatever ``fill`` raised.
    """
    target = Path(path).expanduser()
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as stream:
            count = fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return count


def write_jsonl(path: str | Path, rows: Iterable[Mapping[str, JsonValue]]) -> int:
    """Write ``rows`` to ``path`` as JSON Lines (replacing the file once complete).

    Returns:
        The number of rows written.

    Raises:
        ValueError: a value is NaN or infinite. TypeError: a value is not JSON.
        OSError: the file cannot be written (nothing is left behind).
    """

    def fill(stream: IO[str]) -> int:
        count = 0
        for row in rows:
            stream.write(to_json_text(dict(row)))
            stream.write("\n")
            count += 1
        return count

    return _write_atomically(path, "\n", fill)


def _no_constant(name: str) -> JsonValue:
    raise ValueError(f"{name} is not JSON")


def from_json_text(text: str) -> JsonValue:
    """Parse JSON text strictly (``NaN`` and ``Infinity`` are refused).

    Raises:
        ValueError: not JSON (:class:`json.JSONDecodeError` is a ValueError).
    """
    value: JsonValue = json.loads(text, parse_constant=_no_constant)
    return value


def read_jsonl(path: str | Path) -> list[dict[str, JsonValue]]:
    """The rows of a JSON Lines file, in file order; blank lines are skipped.

    Raises:
        ValueError: a line is not a JSON object (the message names the line).
        OSError: the file cannot be read.
    """
    with Path(path).expanduser().open(encoding="utf-8", newline="") as stream:
        # iterating the file splits on "\n" only: JSON text never holds a raw line
        # break, but it may hold U+2028 or U+0085, which str.splitlines() would split
        rows: list[dict[str, JsonValue]] = []
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                row = from_json_text(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            rows.append(row)
    return rows


def _cell(value: JsonValue, as_json: bool) -> str:
    if as_json:
        return to_json_text(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return to_json_text(value)


def write_csv(
    path: str | Path,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, JsonValue]],
    *,
    json_columns: Collection[str] = (),
) -> int:
    """Write ``rows`` to ``path`` as CSV with a header row of ``columns`` (replacing the
    file once complete). A column a row lacks is written as None.

    Args:
        path: the file to write.
        columns: the columns, in order; other keys of a row are ignored.
        rows: the rows.
        json_columns: the columns whose cells hold JSON text (see the module doc).

    Returns:
        The number of rows written (the header not counted).

    Raises:
        ValueError: a value is NaN or infinite; a JSON column is not a column.
        TypeError: a value is not JSON.
        OSError: the file cannot be written (nothing is left behind).
    """
    unknown = set(json_columns) - set(columns)
    if unknown:
        raise ValueError(f"JSON columns {sorted(unknown)} are not columns")
    as_json = [column in json_columns for column in columns]

    def fill(stream: IO[str]) -> int:
        writer = csv.writer(stream, dialect="excel")
        writer.writerow(columns)
        count = 0
        for row in rows:
            writer.writerow([_cell(row.get(c), j) for c, j in zip(columns, as_json, strict=True)])
            count += 1
        return count

    return _write_atomically(path, "", fill)


def read_csv(
    path: str | Path, *, json_columns: Collection[str] = ()
) -> tuple[list[str], list[dict[str, JsonValue]]]:
    """The header and rows of a CSV file written by :func:`write_csv`.

    Cells of ``json_columns`` are parsed as JSON; every other cell is returned as its
    text (an empty cell as ``""``).

    Returns:
        ``(columns, rows)``, rows in file order, each a dict by column name.

    Raises:
        ValueError: the file is empty, a row has another number of cells than the
            header, or a JSON cell is not JSON (the message names the row).
        OSError: the file cannot be read.
    """
    with Path(path).expanduser().open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream, dialect="excel")
        try:
            columns = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty, no header row") from None
        rows: list[dict[str, JsonValue]] = []
        for cells in reader:
            where = f"{path}:{reader.line_num}"
            if len(cells) != len(columns):
                raise ValueError(f"{where}: {len(cells)} cells, the header has {len(columns)}")
            row: dict[str, JsonValue] = {}
            for column, text in zip(columns, cells, strict=True):
                if column in json_columns:
                    try:
                        row[column] = from_json_text(text)
                    except ValueError as exc:
                        raise ValueError(f"{where}: {column} is not JSON: {exc}") from None
                else:
                    row[column] = text
            rows.append(row)
    return columns, rows


class RowCells:
    """Typed reading of one row read back from an export (:func:`read_jsonl` or
    :func:`read_csv`), for the readers that rebuild records from files.

    A CSV cell that is not a JSON column comes back as text: with ``from_csv``,
    :meth:`integer` accepts decimal digits and :meth:`optional_text` reads an empty
    cell as None.

    Args:
        row: the row, by column.
        required: the columns it must have.
        kind: what a row is, for messages (``"an audit row"``).
        from_csv: the row comes from CSV.

    Raises:
        ValueError: a required column is missing (the message names them).
    """

    def __init__(
        self,
        row: Mapping[str, JsonValue],
        required: Iterable[str],
        *,
        kind: str,
        from_csv: bool,
    ) -> None:
        missing = [column for column in required if column not in row]
        if missing:
            raise ValueError(f"{kind} lacks {', '.join(missing)}")
        self.row = row
        self.from_csv = from_csv

    def __getitem__(self, name: str) -> JsonValue:
        """The cell as read."""
        return self.row[name]

    def text(self, name: str) -> str:
        """The cell as a string.

        Raises:
            ValueError: it is not a string.
        """
        value = self.row[name]
        if not isinstance(value, str):
            raise ValueError(f"{name} is not a string: {value!r}")
        return value

    def integer(self, name: str) -> int:
        """The cell as an int (decimal digits too, from CSV).

        Raises:
            ValueError: it is not an integer.
        """
        value = self.row[name]
        if self.from_csv and isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if type(value) is not int:
            raise ValueError(f"{name} is not an integer: {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        """The cell as a string or None (an empty CSV cell is None).

        Raises:
            ValueError: it is neither.
        """
        value = self.row[name]
        if self.from_csv and value == "":
            return None
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} is not a string: {value!r}")
        return value
