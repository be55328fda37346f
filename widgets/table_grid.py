"""The grid of an SNMP table: one row per index, updated in place at each refresh.

:class:`GridTable` shows a :class:`console.tables.grid.TableGrid`. Each refresh
touches only what changed (:class:`~console.tables.grid.GridChanges`): new rows are
appended, gone rows removed, and only the cells whose text changed are rewritten
(in DataTable's cell store, as ``update_cell`` does, with one refresh for the
batch rather than one per cell; a column is re-measured, through ``update_cell``
with ``update_width``, only when a new text outgrows it); the rows are then put in
the sort order with DataTable's own ``sort``, which reorders row positions without
rebuilding anything. The caller wraps it in
``app.batch_update()``.

Measured with ``python -m bench table`` (Textual 8.2's DataTable; the figures are in
the bench's docstring): rows of this size do not need a virtual list (tables of
real agents have tens to a few thousand rows).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets.data_table import ColumnKey, RowKey

from console.tables.grid import Cell, GridChanges, SortKey, TableGrid
from console.tables.views import TableView
from widgets.row_table import RowTable

__all__ = ["GridCell", "GridTable"]


class GridCell(Text):
    """A cell's text with its sort key (``None``: missing, always last)."""

    sort_key: SortKey | None = None
    arcs: tuple[int, ...] = ()

    @classmethod
    def of(cls, cell: Cell, numeric: bool, arcs: tuple[int, ...]) -> GridCell:
        """The shown form of ``cell`` of row ``arcs`` (numbers right-aligned)."""
        text = cls(cell.text, justify="right" if numeric else "left")
        text.sort_key = cell.sort
        text.arcs = arcs
        return text


def _row_key(arcs: tuple[int, ...]) -> str:
    return ".".join(map(str, arcs)) or "-"


class GridTable(RowTable):
    """The rows of a table grid, keyed by instance OID (``"10101"``,
    ``"10.1.100.148"``), sorted by one column.

    Attributes:
        sort_column: the view column key the rows are sorted by (``None``: the
            agent's OID order).
        reverse: descending order.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sort_column: str | None = None
        self.reverse = False
        self._view: TableView | None = None

    def configure(self, view: TableView) -> None:
        """Lay the columns of ``view`` out (every row is dropped)."""
        self._view = view
        self.clear(columns=True)
        for column in view.columns:
            self.add_column(column.title, key=column.key)

    def show(self, grid: TableGrid, changes: GridChanges | None = None) -> None:
        """Bring the rows up to date with ``grid``: only ``changes`` (``None``: every
        row of the grid), then the sort order."""
        view = grid.view
        if self._view is not view:
            self.configure(view)
            changes = None
        numeric = {column.key: column.numeric for column in view.columns}
        if changes is None:
            self.clear()
            for arcs, row in grid.rows.items():
                cells = [GridCell.of(row.cells[key], numeric[key], arcs) for key in numeric]
                self.add_row(*cells, key=_row_key(arcs))
        else:
            for arcs in changes.removed:
                key = _row_key(arcs)
                if key in self.rows:
                    self.remove_row(key)
            for arcs in changes.added:
                row = grid.rows[arcs]
                cells = [GridCell.of(row.cells[key], numeric[key], arcs) for key in numeric]
                self.add_row(*cells, key=_row_key(arcs))
            self._update_rows(grid, changes.updated, numeric)
        self.apply_sort()

    def _update_rows(
        self, grid: TableGrid, keys: tuple[tuple[int, ...], ...], numeric: dict[str, bool]
    ) -> None:
        """Rewrite the changed cells of rows ``keys``. A column is re-measured through
        one cell only, its widest new one (``update_width`` on every cell would make
        DataTable re-measure the whole column for each narrower one: quadratic)."""
        widest: dict[str, tuple[int, str, GridCell]] = {}
        columns = {key: self.columns.get(ColumnKey(key)) for key in numeric}
        data = self._data  # what update_cell writes, without a refresh per cell
        changed = False
        for arcs in keys:
            key = _row_key(arcs)
            row = data.get(RowKey(key))
            if row is None:
                continue
            for column_key, cell in grid.rows[arcs].cells.items():
                current = row.get(ColumnKey(column_key))
                if isinstance(current, GridCell) and current.plain == cell.text:
                    current.sort_key = cell.sort
                    continue
                shown = GridCell.of(cell, numeric[column_key], arcs)
                column = columns.get(column_key)
                if column is not None and len(cell.text) > column.content_width:
                    best = widest.get(column_key)
                    if best is None or len(cell.text) > best[0]:
                        widest[column_key] = (len(cell.text), key, shown)
                row[ColumnKey(column_key)] = shown
                changed = True
        if changed:
            self._update_count += 1  # DataTable's render caches key on it
            self.refresh()
        for column_key, (_width, key, shown) in widest.items():
            self.update_cell(key, column_key, shown, update_width=True)

    def sort_by(self, column: str | None, reverse: bool = False) -> None:
        """Sort by the view column ``column`` (``None``: OID order)."""
        self.sort_column = column
        self.reverse = reverse
        self.apply_sort()

    def apply_sort(self) -> None:
        """Put the rows in the current order (missing cells last either way); the
        cursor stays on the row it was on, wherever that row goes."""
        if not self.column_keys() or not self.rows:
            return
        current = None
        if 0 <= self.cursor_row < self.row_count:
            current = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        self._sort_rows()
        if current is not None and current in self.rows:
            position = self.get_row_index(current)
            if position != self.cursor_row:
                self.move_cursor(row=position, animate=False, scroll=False)

    def _sort_rows(self) -> None:
        column = self.sort_column
        keys = self.column_keys()
        if column is None or column not in keys:
            # the agent's (OID) order, from any cell's row arcs
            self.sort(keys[0], key=lambda cell: getattr(cell, "arcs", ()), reverse=self.reverse)
            return
        reverse = self.reverse

        def key(cell: object) -> tuple[int, SortKey, tuple[int, ...]]:
            sort = cell.sort_key if isinstance(cell, GridCell) else None
            arcs = cell.arcs if isinstance(cell, GridCell) else ()
            if sort is None:
                return (0 if reverse else 1, (0, 0.0), arcs)
            return (1 if reverse else 0, sort, arcs)

        self.sort(column, key=key, reverse=reverse)

    @property
    def view(self) -> TableView | None:
        """The view laid out."""
        return self._view

    def column_keys(self) -> list[str]:
        """The view column keys, in order."""
        return [column.key for column in self._view.columns] if self._view else []
