"""A virtual list with a cursor (Textual's Line API): the base of
:class:`~widgets.topic_tree.TopicTreeView` and
:class:`~widgets.notification_list.NotificationList`.

Only the lines in view are drawn (:meth:`VirtualList.render_line` asks the subclass
for the row at ``scroll_y + y`` with :meth:`VirtualList.row_strip`), so the cost of a
frame does not depend on how many rows the list holds. The rows are a sequence the
list does not copy; the cursor is an index into it (``-1``: none), kept in view; a
change of the row under the cursor posts the subclass's ``Highlighted`` message
(:meth:`VirtualList.highlight_message`).

The key bindings stay in the subclasses (their ids are theirs, see
:mod:`console.keys`); the actions they name (``cursor_up``, ``cursor_down``,
``page_up``, ``page_down``, ``first``, ``last``) live here.

Textual calls a handler (``on_resize``, ``on_click``) of every class of the MRO that
defines one, so the subclasses change the behaviour through the hooks
(:meth:`VirtualList.keep_end_on_resize`, :meth:`VirtualList.move_cursor`), never by
defining those handlers again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["VirtualList", "tree_bindings"]

RowT = TypeVar("RowT")


class VirtualList(ScrollView, Generic[RowT], can_focus=True):
    """Rows of ``RowT``, one per line, with a cursor.

    Subclasses implement :meth:`row_strip` (one row's line, uncropped) and
    :meth:`highlight_message` (their ``Highlighted`` message), and set the rows with
    :meth:`show_rows`.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: Sequence[RowT] = ()
        self.cursor = -1
        """The index of the row under the cursor (``-1``: none)."""
        self._highlighted: RowT | None = None
        self._frame: tuple[Style, int] | None = None

    # -- what subclasses provide ------------------------------------------------------

    def row_strip(self, index: int, row: RowT, base: Style, width: int) -> Strip:
        """The line of ``row`` (at ``index``) in the style ``base``, for a view
        ``width`` columns wide; it is cropped to the view by :meth:`render_line`."""
        raise NotImplementedError

    def highlight_message(self, row: RowT | None) -> Message:
        """The message that says ``row`` is now under the cursor (``None``: no row)."""
        raise NotImplementedError

    def keep_end_on_resize(self) -> bool:
        """True when a resize should keep the last row at the bottom of the view
        rather than just keep the cursor in view (default: False)."""
        return False

    # -- data -----------------------------------------------------------------------

    @property
    def rows(self) -> Sequence[RowT]:
        """The rows shown, top first."""
        return self._rows

    @property
    def highlighted(self) -> RowT | None:
        """The row under the cursor, or ``None``."""
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor]
        return None

    def show_rows(self, rows: Sequence[RowT], cursor: int, *, end: bool = False) -> None:
        """Show ``rows`` with the cursor on ``cursor`` (not clamped: the caller's),
        scrolled into view (``end``: the last row at the bottom of the view); posts
        the highlight message when the row under the cursor changed."""
        self._rows = rows
        self._set_virtual_height(len(rows))
        self.cursor = cursor
        self._scroll_to_cursor(end=end)
        self.refresh()
        self._check_highlight()

    def _set_virtual_height(self, rows: int) -> None:
        """The virtual size for ``rows`` rows. While the vertical scrollbar shows before
        and after, only its thumb changes: the size is set without a layout of the
        whole screen (a layout repaints every widget: ~20 ms a key under a flood) and
        the scrollbar is told; otherwise Textual lays the screen out as usual."""
        region = self.scrollable_content_region
        size, old = Size(region.width, rows), self.virtual_size
        if size == old:
            return
        if (
            old.width == size.width
            and self.show_vertical_scrollbar
            and min(rows, old.height) > region.height
        ):
            self.set_reactive(VirtualList.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = rows  # a reactive: it repaints
            if self.scroll_y > self.max_scroll_y:  # fewer rows: not past the last
                self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            self.refresh()
        else:
            self.virtual_size = size

    # -- rendering ---------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's, with the widget's style and width worked out once for every line
        drawn (``rich_style`` walks the ancestors' styles: ~0.2 ms a call, 48 lines a
        frame)."""
        self._frame = (self.rich_style, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        """The line ``y`` of the view: the row at ``scroll_y + y``."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        frame = self._frame
        if frame is None:
            base, width = self.rich_style, self.scrollable_content_region.width
        else:
            base, width = frame
        if index >= len(self._rows):
            return Strip.blank(width, base)
        strip = self.row_strip(index, self._rows[index], base, width)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_resize(self) -> None:
        """Keep the virtual width the widget's, and the cursor in view."""
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self._scroll_to_cursor(end=self.keep_end_on_resize())

    # -- the cursor ------------------------------------------------------------------------

    def _scroll_to_cursor(self, *, end: bool = False) -> None:
        height = self.scrollable_content_region.height
        if end:
            self.scroll_to(y=max(0, len(self._rows) - height), animate=False, immediate=True)
            return
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=max(0, self.cursor), animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _check_highlight(self) -> None:
        current = self.highlighted
        if current is not self._highlighted:
            self._highlighted = current
            self.post_message(self.highlight_message(current))

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped); nothing on an empty list."""
        if not self._rows:
            return
        old, top = self.cursor, self.scroll_offset.y
        self.cursor = max(0, min(index, len(self._rows) - 1))
        self._scroll_to_cursor()
        if old >= 0 and self.scroll_offset.y == top:
            # no scroll: only the two lines whose cursor mark changed are drawn again
            # (a key under a flood paints 2 lines, not the whole view)
            self.refresh_lines(old)
            self.refresh_lines(self.cursor)
        else:
            self.refresh()
        self._check_highlight()

    def action_cursor_up(self) -> None:
        """The row above."""
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """The row below."""
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        """A page up."""
        self.move_cursor(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        """A page down."""
        self.move_cursor(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """The first row."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """The last row."""
        self.move_cursor(len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        """Put the cursor on the clicked line."""
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_cursor(round(self.scroll_y) + offset.y)


def tree_bindings(prefix: str, toggle_tooltip: str) -> list[BindingType]:
    """The keys of a tree drawn as a virtual list (the topics tree, the MIB tree):
    cursor moves, open/close a level, each with its own id ``PREFIX.up`` ...
    ``PREFIX.toggle`` (declared in :mod:`console.keys`, remappable by ``ui.keymap``).

    Args:
        prefix: the ids' prefix (``"topics.tree"``).
        toggle_tooltip: what ``enter``/``space`` does on this tree.

    Returns:
        The bindings, for the widget's ``BINDINGS``; the widget implements the
        actions ``cursor_up``, ``cursor_down``, ``page_up``, ``page_down``,
        ``first``, ``last``, ``expand``, ``collapse`` and ``toggle_level``.
    """
    keys = (
        ("up", "cursor_up", "Up", "up", "Previous"),
        ("down", "cursor_down", "Down", "down", "Next"),
        ("pageup", "page_up", "Page up", "page_up", "Page up"),
        ("pagedown", "page_down", "Page down", "page_down", "Page down"),
        ("home", "first", "First", "first", "The top"),
        ("end", "last", "Last", "last", "The bottom"),
        ("right", "expand", "Open", "expand", "Open a level"),
        ("left", "collapse", "Close", "collapse", "Close a level (or go to its parent)"),
    )
    bindings: list[BindingType] = [
        Binding(key, action, label, id=f"{prefix}.{name}", show=False, tooltip=tooltip)
        for key, action, label, name, tooltip in keys
    ]
    bindings.append(
        Binding(
            "enter,space",
            "toggle_level",
            "Open/close",
            id=f"{prefix}.toggle",
            tooltip=toggle_tooltip,
        )
    )
    return bindings
