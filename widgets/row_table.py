"""The base of fleettop's tables: one row per record, the cursor on rows."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

__all__ = ["RowTable"]


class RowTable(DataTable[Text]):
    """A :class:`~textual.widgets.DataTable` of :class:`~rich.text.Text` cells with a
    row cursor and zebra stripes, whose cells keep their own colours under the
    cursor (a severity or a status stays readable on the selected row).

    Subclasses key their rows by record (device name, OID, alarm id...) and update
    them in place.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            cursor_type="row",
            zebra_stripes=True,
            cursor_foreground_priority="renderable",
            id=id,
            classes=classes,
        )
