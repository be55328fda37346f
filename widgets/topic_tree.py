"""The topic tree view: a virtual list over a :class:`~console.explorer.tree.TopicTree`'s
rows (Textual's Line API), one line per level, with a cursor.

Only the lines in view are drawn (:class:`~widgets.virtual_list.VirtualList`), from the nodes
themselves, so counters that change between two rebuilds of the rows cost a repaint
of the visible lines only, whatever the tree holds (100k topics). The screen hands
over new rows with :meth:`TopicTreeView.set_rows` when the tree's structure changed
(a topic added or trimmed, a level opened or closed, the filter changed); the node
under the cursor stays under it.

A line reads ``▾ name  count  rate/s  R  q1  HH:MM:SS  preview``: ``▸``/``▾`` a
closed/open level (the count and rate are the subtree's sum), ``R`` a retained
message (a closed level: how many of its topics have one), the QoS of the last
message, its time and its first characters (control characters escaped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import BindingType
from textual.message import Message
from textual.strip import Strip

from console.explorer.tree import TopicNode
from console.format import Clock, format_count, printable, truncate
from widgets.virtual_list import VirtualList, tree_bindings

__all__ = ["TopicTreeView", "payload_preview", "topic_line"]

#: Characters of the name column (indentation included).
NAME_WIDTH = 36
#: Characters of a preview read from a payload.
PREVIEW_BYTES = 200


def payload_preview(payload: bytes, width: int = 60) -> str:
    """One line of ``payload``: its text (control characters escaped) when it is
    UTF-8, else ``0x`` and its first bytes in hex; ``(empty)`` for none."""
    if not payload:
        return "(empty)"
    head = payload[:PREVIEW_BYTES]
    try:
        text = printable(head.decode("utf-8"))
    except UnicodeDecodeError:
        try:
            text = printable(head[:-3].decode("utf-8")) if len(payload) > PREVIEW_BYTES else ""
        except UnicodeDecodeError:
            text = ""
        if not text:
            text = "0x" + head[: max(1, width // 2)].hex()
    return truncate(text, width)


def topic_line(node: TopicNode, clock: Clock, now: float) -> tuple[str, str, str]:
    """The parts of a node's line: ``(name column, counters, preview)``."""
    indent = "  " * max(0, node.depth - 1)
    mark = ("▾ " if node.expanded else "▸ ") if node.children else "  "
    name = truncate(f"{indent}{mark}{printable(node.name) or '∅'}", NAME_WIDTH)
    rate = node.rate(now)
    rate_text = f"{rate:6.1f}/s" if rate >= 0.05 else "      - "
    if node.topic is not None and (not node.children or node.expanded):
        retained = "R" if node.retained else " "
        qos = f"q{node.qos}"
    else:
        retained = "R" if node.retained_count else " "
        qos = "  "
    last = clock.time_of_day(node.last)
    counters = f" {format_count(node.count):>8} {rate_text} {retained} {qos} {last} "
    latest = node.latest
    preview = payload_preview(latest.payload) if latest is not None else ""
    if node.children and not node.expanded:
        topics = "topic" if node.topic_total == 1 else "topics"
        preview = f"{format_count(node.topic_total)} {topics}" + (
            f", {format_count(node.retained_count)} retained" if node.retained_count else ""
        )
    return f"{name:<{NAME_WIDTH}}", counters, preview


class TopicTreeView(VirtualList[TopicNode]):
    """The rows of a topic tree, with a cursor.

    Args:
        clock: formats the times; ``now`` gives the time rates are decayed to.
    """

    # the keys of NotificationList's on purpose, under this widget's own ids (console/keys.py)
    BINDINGS: ClassVar[list[BindingType]] = tree_bindings("topics.tree", "Open or close the level")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "topic-tree--cursor",
        "topic-tree--counters",
        "topic-tree--preview",
        "topic-tree--broker",
    }

    class Highlighted(Message):
        """The node under the cursor changed (handler: ``on_topic_tree_view_highlighted``)."""

        def __init__(self, node: TopicNode | None) -> None:
            super().__init__()
            self.node = node
            """The node under the cursor, or ``None`` (empty tree)."""

    class Toggled(Message):
        """A level was opened or closed: the rows must be built again (handler:
        ``on_topic_tree_view_toggled``)."""

    def __init__(
        self,
        clock: Clock,
        now: Callable[[], float],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._now = now

    def highlight_message(self, row: TopicNode | None) -> Message:
        """A :class:`Highlighted` for ``row``."""
        return self.Highlighted(row)

    # -- data -----------------------------------------------------------------------

    def set_rows(self, rows: Sequence[TopicNode], *, select: TopicNode | None = None) -> None:
        """Show ``rows``; the cursor goes to ``select`` when given and shown, else stays
        on the node under it (or the row it was on, when that node is gone)."""
        target = select or self.highlighted
        index = -1
        if target is not None:
            try:
                index = rows.index(target) if isinstance(rows, list) else list(rows).index(target)
            except ValueError:
                index = -1
        if index < 0:
            index = min(max(self.cursor, 0), len(rows) - 1)
        self.show_rows(rows, index)

    # -- rendering ---------------------------------------------------------------------

    def row_strip(self, index: int, row: TopicNode, base: Style, width: int) -> Strip:
        """The line of the node ``row``: its name, counters and preview."""
        name, counters, preview = topic_line(row, self._clock, self._now())
        if index == self.cursor:  # on top of every part's style (theirs set a background)
            base = base + self.get_component_rich_style("topic-tree--cursor")
        name_style = base
        if row.depth == 1:
            name_style = base + self.get_component_rich_style("topic-tree--broker")
        if index == self.cursor:
            name_style = base
        return Strip(
            [
                Segment(name, name_style),
                Segment(counters, self._part(base, "topic-tree--counters", index)),
                Segment(preview, self._part(base, "topic-tree--preview", index)),
            ]
        )

    def _part(self, base: Style, component: str, index: int) -> Style:
        """``base`` with a part's colour, except on the cursor's line (its colours)."""
        if index == self.cursor:
            return base
        return base + self.get_component_rich_style(component)

    # -- levels ----------------------------------------------------------------------------

    def _set_open(self, node: TopicNode, expanded: bool) -> None:
        if node.children and node.expanded != expanded:
            node.expanded = expanded
            self.post_message(self.Toggled())

    def action_expand(self) -> None:
        """Open the level under the cursor."""
        if (node := self.highlighted) is not None:
            self._set_open(node, True)

    def action_collapse(self) -> None:
        """Close the level under the cursor; on a closed one or a leaf, go to its parent."""
        node = self.highlighted
        if node is None:
            return
        if node.children and node.expanded:
            self._set_open(node, False)
        elif node.parent is not None and node.parent in self._rows:
            self.move_cursor(list(self._rows).index(node.parent))

    def action_toggle_level(self) -> None:
        """Open or close the level under the cursor."""
        if (node := self.highlighted) is not None:
            self._set_open(node, not node.expanded)
