"""The MIB browser's tree view: a virtual list over :class:`~console.snmp.mibtree.MibTree`
rows (Textual's Line API), one line per module or object, with a cursor.

A line reads ``▾ ifEntry  1.3.6.1.2.1.2.2.1  row``: ``▸``/``▾`` a closed/open level,
the descriptor (a search match: ``MODULE::name``), its OID and its kind (a
module: how many objects it defines once opened). Only the lines in view are drawn
(:class:`~widgets.virtual_list.VirtualList`), so a tree of 100k objects costs a
frame the same as one of ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.message import Message
from textual.strip import Strip

from console.format import format_count, truncate
from console.snmp.mibtree import MibRow
from widgets.virtual_list import VirtualList, tree_bindings

__all__ = ["MibTreeView", "mib_line"]

#: Characters of the name column (indentation included).
NAME_WIDTH = 40


def mib_line(row: MibRow) -> tuple[str, str]:
    """The parts of a row's line: ``(name column, OID and kind)``."""
    indent = "  " * row.depth
    mark = ("▾ " if row.expanded else "▸ ") if row.children else "  "
    obj = row.obj
    if obj is None:
        detail = f"{format_count(row.count)} objects" if row.expanded else "module"
        return truncate(f"{indent}{mark}{row.module}", NAME_WIDTH), detail
    label = obj.name if row.depth else obj.qualified
    oid = ".".join(map(str, obj.oid))
    return truncate(f"{indent}{mark}{label}", NAME_WIDTH), f"{oid}  {obj.kind}"


class MibTreeView(VirtualList[MibRow]):
    """The rows of the MIB tree, with a cursor; posts :class:`Highlighted` when the
    row under the cursor changes and :class:`Toggled` when a level is opened or
    closed (the screen builds the rows again)."""

    BINDINGS: ClassVar[list[BindingType]] = tree_bindings(
        "mibs.tree", "Open or close the module or object (a search match: show it in its module)"
    )

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "mib-tree--cursor",
        "mib-tree--module",
        "mib-tree--detail",
    }

    class Highlighted(Message):
        """The row under the cursor changed (handler: ``on_mib_tree_view_highlighted``)."""

        def __init__(self, row: MibRow | None) -> None:
            super().__init__()
            self.row = row
            """The row under the cursor, or ``None`` (no rows)."""

    class Toggled(Message):
        """The operator opened or closed a row (handler: ``on_mib_tree_view_toggled``)."""

        def __init__(self, row: MibRow, expanded: bool | None) -> None:
            super().__init__()
            self.row = row
            """The row."""
            self.expanded = expanded
            """The state wanted (``None``: the other one)."""

    def highlight_message(self, row: MibRow | None) -> Message:
        """A :class:`Highlighted` for ``row``."""
        return self.Highlighted(row)

    def set_rows(self, rows: Sequence[MibRow], *, select: str | None = None) -> None:
        """Show ``rows``; the cursor goes to the row keyed ``select`` when given and
        shown, else stays on the key under it (or the row it was on)."""
        current = self.highlighted
        target = select or (current.key if current is not None else None)
        index = next((i for i, row in enumerate(rows) if row.key == target), -1)
        if index < 0:
            index = min(max(self.cursor, 0), len(rows) - 1)
        self.show_rows(rows, index)

    def row_strip(self, index: int, row: MibRow, base: Style, width: int) -> Strip:
        """The line of ``row``: its name, then its OID and kind."""
        name, detail = mib_line(row)
        cursor = index == self.cursor
        if cursor:
            base = base + self.get_component_rich_style("mib-tree--cursor")
        name_style = base
        detail_style = base
        if not cursor:
            if row.obj is None:
                name_style = base + self.get_component_rich_style("mib-tree--module")
            detail_style = base + self.get_component_rich_style("mib-tree--detail")
        return Strip([Segment(f"{name:<{NAME_WIDTH}} ", name_style), Segment(detail, detail_style)])

    def action_expand(self) -> None:
        """Open the row under the cursor."""
        if (row := self.highlighted) is not None and row.children:
            self.post_message(self.Toggled(row, True))

    def action_collapse(self) -> None:
        """Close the row under the cursor; on a closed one or a leaf, go to its parent."""
        row = self.highlighted
        if row is None:
            return
        if row.expanded:
            self.post_message(self.Toggled(row, False))
            return
        for index in range(self.cursor - 1, -1, -1):
            if self.rows[index].depth < row.depth:
                self.move_cursor(index)
                return

    def action_toggle_level(self) -> None:
        """Open or close the row under the cursor (a search match: post it too, the
        screen shows it in its module)."""
        if (row := self.highlighted) is not None:
            self.post_message(self.Toggled(row, None))
