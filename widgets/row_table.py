"""The base of fleettop's tables: one row per record, the cursor on rows, rows added
or updated in place by key."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

__all__ = ["RowTable"]


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
                self.update_cell(key, column, cell, update_width=True)
        return False
