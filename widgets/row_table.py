"""The base of fleettop's tables: one row per record, the cursor on rows, rows added
or updated in place by key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

__all__ = ["FIT_SECONDS", "RowTable"]

#: At most this often a column shrinks to its widest value after values got narrower
#: (a shrink redraws the whole table; values such as RTTs widen and narrow often).
FIT_SECONDS: Final = 5.0


class RowTable(DataTable[Text]):
    """A :class:`~textual.widgets.DataTable` of :class:`~rich.text.Text` cells with a
    row cursor and zebra stripes, whose cells keep their own colours under the
    cursor (a severity or a status stays readable on the selected row).

    Subclasses key their rows by record (device name, OID, alarm id...) and update
    them in place with :meth:`upsert`.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            cursor_type="row",
            zebra_stripes=True,
            cursor_foreground_priority="renderable",
            id=id,
            classes=classes,
        )
        self._narrower: set[str] = set()
        self._fitting = False

    def upsert(self, key: str, cells: Mapping[str, Text]) -> bool:
        """Add the row ``key`` with ``cells`` (column key -> cell, in column order),
        or rewrite only the cells of an existing row that differ (the table is never
        rebuilt, an unchanged cell costs no refresh).

        Returns:
            True when the row was added.
        """
        if key not in self.rows:
            self.add_row(*cells.values(), key=key)
            return True
        for column, cell in cells.items():
            if self.get_cell(key, column) != cell:
                self._update(key, column, cell)
        return False

    def _update(self, key: str, column: str, cell: Text) -> None:
        """Rewrite one cell; a wider value widens its column at once, a narrower one
        lets it shrink at most every :data:`FIT_SECONDS` s (:meth:`_fit_columns`).

        DataTable's own ``update_width`` re-measures the whole column whenever a
        value gets narrower (every row, through Rich's console): with every row
        changing each frame that is rows² measures a frame, which saturated an
        attached console at ~100 devices (``bench_fleet``)."""
        found = self.columns.get(ColumnKey(column))
        width = cell.cell_len
        wider = found is not None and found.auto_width and width > found.content_width
        self.update_cell(key, column, cell, update_width=wider)  # wider: one measure
        if found is not None and found.auto_width and width < found.content_width:
            self._narrower.add(column)
            if not self._fitting:
                self._fitting = True
                self.set_timer(FIT_SECONDS, self._fit_columns)

    def _fit_columns(self) -> None:
        """Shrink the columns whose values got narrower to their widest value (cell
        widths of Text, no console measure: one pass over their cells)."""
        self._fitting = False
        narrower, self._narrower = self._narrower, set()
        changed = False
        for name in narrower:
            column = self.columns.get(ColumnKey(name))
            if column is None or not column.auto_width:
                continue
            widest = max(
                (row[column.key].cell_len for row in self._data.values() if column.key in row),
                default=0,
            )
            width = max(widest, column.label.cell_len)
            if width < column.content_width:
                column.content_width = width
                changed = True
        if changed:
            # what DataTable does after its own width changes (private, stable
            # since Textual 0.x): new layout, no stale rendered lines
            self._require_update_dimensions = True
            self._clear_caches()
            self.refresh()
