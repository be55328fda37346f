"""The walk table: the var-binds of a walk, a virtual list that draws only the lines
in view (Textual's Line API, as :mod:`widgets.notification_list`).

Why not a DataTable: Textual's ``DataTable`` measures every cell of a row it adds and
relayouts the whole table when a width changes (``update_width=True`` as MIB names
arrive), so a walk got slower as it grew (2,101 var-binds in 41 s on screen, 1.6 s
without the UI). Measured on this machine (2 cores, Textual 8.2.8, 120x40, headless,
35,000 rows appended 500 at a time with a frame drawn after each batch):
textual-fastdatatable 0.19.5 (Arrow backend) 14.1 s, this list 4.1 s (most of that the
test harness's wait per frame); fastdatatable also needs pyarrow (165 MB). Here an
append is a list ``extend`` and a new virtual height, whatever the rows already there.

Columns: OID, MIB NAME, TYPE and VALUE. OID and MIB NAME have fixed widths that
depend on the widget's width (:func:`column_widths`), never on the data: a long OID
keeps its end (``…2.1.10.1000001``, the index tells rows apart) and a long name drops
its module first (:func:`console.format.format_mib_name`), so VALUE always keeps
the rest of the line (at least :data:`MIN_VALUE_WIDTH` columns at 80 columns of
terminal). The header is the first line, fixed while the rows scroll.

MIB names are resolved lazily, for the rows drawn: a line whose name is not cached
asks the shared :class:`~widgets.mib_names.NameWorker` for it, and the lines in view
are drawn again when names arrive. A text filter asks for the names of every row
(they can match), and is applied again as they arrive.

The filter (:class:`WalkFilter`): an OID subtree (numeric, or a MIB name the screen
looked up) shows that subtree; text shows the rows whose OID, MIB name, type or value
(as shown) contains it, in any case. Rows appended while a filter is set are
filtered as they arrive.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.events import JsonValue
from console.format import ELLIPSIS, format_mib_name, format_value
from widgets.mib_names import MibNames, NameWorker

__all__ = [
    "MIN_VALUE_WIDTH",
    "WalkFilter",
    "WalkRow",
    "WalkTable",
    "column_widths",
    "fit_oid",
]

WalkRow = tuple[str, dict[str, JsonValue]]
"""One var-bind of a walk: ``(oid, {"type", "value"})``."""
_Matcher = Callable[[int], bool]

#: Characters of the TYPE column (``BIG_COUNTER``, the longest type).
TYPE_WIDTH = 11
#: The least the VALUE column keeps.
MIN_VALUE_WIDTH = 20
#: The most the OID and MIB NAME columns take each.
MAX_KEY_WIDTH = 40
#: The least the OID and MIB NAME columns take each.
MIN_KEY_WIDTH = 8
#: One space between columns.
GAP = 1
#: The scrollbar follows a growing walk at most this often (seconds).
SCROLLBAR_SECONDS = 0.5


def column_widths(width: int) -> tuple[int, int, int, int]:
    """The widths of OID, MIB NAME, TYPE and VALUE in a list ``width`` columns wide
    (gaps of :data:`GAP` between them): OID and NAME share what VALUE can spare
    (about a quarter of the width each, :data:`MIN_KEY_WIDTH`..:data:`MAX_KEY_WIDTH`),
    VALUE gets the rest, at least :data:`MIN_VALUE_WIDTH` when the width allows."""
    spare = width - TYPE_WIDTH - 3 * GAP - MIN_VALUE_WIDTH
    key = max(MIN_KEY_WIDTH, min(MAX_KEY_WIDTH, width * 27 // 100, spare // 2))
    value = max(1, width - 2 * key - TYPE_WIDTH - 3 * GAP)
    return key, key, TYPE_WIDTH, value


def fit_oid(oid: str, width: int) -> str:
    """``oid`` in at most ``width`` characters: its start cut (``…``), so the index
    arcs that tell the rows of a column apart stay."""
    if len(oid) <= width:
        return oid
    if width <= 1:
        return ELLIPSIS[:width]
    return ELLIPSIS + oid[len(oid) - width + 1 :]


@dataclass(frozen=True)
class WalkFilter:
    """What the walk table shows: the subtree ``subtree`` (a numeric OID), or else the
    rows containing ``text`` (compared case-insensitively with the OID, the cached
    MIB name, the type and the value as shown).

    Args:
        text: what the operator typed (stripped).
        subtree: the numeric OID of the subtree (typed, or a MIB name looked up), or
            ``None`` for a text filter.
    """

    text: str
    subtree: str | None = None

    @property
    def folded(self) -> str:
        """The text, case-folded."""
        return self.text.casefold()

    def in_subtree(self, oid: str) -> bool:
        """True when ``oid`` is the subtree's root or below it."""
        root = self.subtree
        return root is not None and (oid == root or oid.startswith(root + "."))


class WalkTable(ScrollView, can_focus=True):
    """OID, MIB name, type and value of every var-bind a walk returned, in walk order,
    with a row cursor.

    Rows are only ever appended (a walk returns OIDs in order) through :meth:`add`,
    which the walk screen calls with a batch per frame; an OID already there is
    updated in place. Memory: the rows (their data dicts) and one value string per
    row drawn or filtered.

    Args:
        mib_names: the shared OID -> MIB name cache (``None``: no names).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", id="walk.list.up", show=False, tooltip="Previous row"),
        Binding("down", "cursor_down", "Down", id="walk.list.down", show=False, tooltip="Next row"),
        Binding(
            "pageup", "page_up", "Page up", id="walk.list.page_up", show=False, tooltip="A page up"
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            id="walk.list.page_down",
            show=False,
            tooltip="A page down",
        ),
        Binding("home", "first", "First", id="walk.list.first", show=False, tooltip="First row"),
        Binding("end", "last", "Last", id="walk.list.last", show=False, tooltip="Last row"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "walk-table--header",
        "walk-table--cursor",
        "walk-table--error",
        "walk-table--name",
    }

    def __init__(
        self, mib_names: MibNames | None, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._mib_names = mib_names
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self.data: dict[str, dict[str, JsonValue]] = {}
        """The data of each row, by OID."""
        self._oids: list[str] = []
        self._index: dict[str, int] = {}
        self._display: list[str | None] = []
        self._asked: set[str] = set()
        self._filter: WalkFilter | None = None
        self._shown: list[int] | None = None
        self.cursor = 0
        """The position of the cursor among the rows shown."""
        self._scrollbar_at = 0.0

    # -- data -----------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Rows of the walk, filtered or not."""
        return len(self._oids)

    @property
    def row_count(self) -> int:
        """Rows shown (those the filter lets through)."""
        return len(self._oids) if self._shown is None else len(self._shown)

    @property
    def shown_oids(self) -> list[str]:
        """The OIDs shown, in walk order."""
        if self._shown is None:
            return list(self._oids)
        return [self._oids[i] for i in self._shown]

    @property
    def filter(self) -> WalkFilter | None:
        """The filter in force, or ``None``."""
        return self._filter

    @property
    def highlighted_oid(self) -> str | None:
        """The OID of the row under the cursor, if any."""
        index = self._row_at(self.cursor)
        return None if index is None else self._oids[index]

    def value_text(self, oid: str) -> str:
        """The value of row ``oid`` as the table shows it (untruncated).

        Raises:
            KeyError: no such row.
        """
        return self._value(self._index[oid])

    def add(self, rows: Iterable[WalkRow]) -> int:
        """Append ``rows`` (an OID already shown is updated instead); return how
        many rows were added. Costs O(len(rows)), whatever the rows already there."""
        added = 0
        updated = False
        matches = self._matcher()
        shown = self._shown
        before = self.row_count
        for oid, data in rows:
            index = self._index.get(oid)
            self.data[oid] = data
            if index is not None:
                self._display[index] = None
                updated = True
                continue
            index = len(self._oids)
            self._index[oid] = index
            self._oids.append(oid)
            self._display.append(None)
            added += 1
            if shown is not None and matches(index):
                shown.append(index)
        if added:
            self._resize()
        view_end = round(self.scroll_y) + self.scrollable_content_region.height - 1
        if updated or before < view_end:  # a row in view changed: draw the view again
            self.refresh()
        return added

    def reset(self) -> None:
        """Remove every row (a new walk); the filter stays."""
        self.data.clear()
        self._oids.clear()
        self._index.clear()
        self._display.clear()
        self._asked.clear()
        if self._shown is not None:
            self._shown = []
        self.cursor = 0
        self._resize()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def set_filter(self, walk_filter: WalkFilter | None) -> None:
        """Show only what ``walk_filter`` lets through (``None``: every row); the row
        under the cursor stays under it when still shown, else the first row."""
        current = self.highlighted_oid
        self._filter = walk_filter if walk_filter and walk_filter.text else None
        self._apply_filter()
        if self._filter is not None and self._filter.subtree is None:
            self._ask_names(self._oids)  # names can match: resolve them all
        self.cursor = 0
        if current is not None:
            position = self._position_of(self._index[current])
            if position is not None:
                self.cursor = position
        self._scroll_to_cursor()
        self.refresh()

    def _apply_filter(self) -> None:
        if self._filter is None:
            self._shown = None
        else:
            matches = self._matcher()
            self._shown = [i for i in range(len(self._oids)) if matches(i)]
        self._resize()

    def _matcher(self) -> _Matcher:
        walk_filter = self._filter
        if walk_filter is None:
            return _all
        if walk_filter.subtree is not None:
            oids = self._oids
            return lambda i: walk_filter.in_subtree(oids[i])
        folded = walk_filter.folded
        return lambda i: self._contains(i, folded)

    def _contains(self, index: int, folded: str) -> bool:
        oid = self._oids[index]
        if folded in oid:
            return True
        names = self._mib_names
        name = names.get(oid) if names is not None else None
        if name is not None and folded in name.casefold():
            return True
        data = self.data[oid]
        return folded in str(data.get("type")).casefold() or folded in self._value(index).casefold()

    def _value(self, index: int) -> str:
        text = self._display[index]
        if text is None:
            oid = self._oids[index]
            data = self.data[oid]
            names = self._mib_names
            if names is None:
                text = format_value(str(data.get("type")), data.get("value"))
            else:  # as the MIB defines it, once the name worker has seen the OID
                text = names.display(oid, data, context=self.data)
            self._display[index] = text
        return text

    def _row_at(self, position: int) -> int | None:
        """The row index at ``position`` among the rows shown, or ``None``."""
        if position < 0:
            return None
        shown = self._shown
        if shown is None:
            return position if position < len(self._oids) else None
        return shown[position] if position < len(shown) else None

    def _position_of(self, index: int) -> int | None:
        shown = self._shown
        if shown is None:
            return index
        position = bisect_left(shown, index)  # rows shown are in walk order
        return position if position < len(shown) and shown[position] == index else None

    def _resize(self) -> None:
        """Make the virtual height the rows shown plus the header. Only a new width
        relayouts the screen (``virtual_size`` is a layout reactive): a new height
        is set without it, and the scrollbar (always shown: ``overflow-y: scroll``
        in the theme) is told at most every :data:`SCROLLBAR_SECONDS` (its thumb
        barely moves as a long walk grows; each repaint of it redraws a column of
        the screen), so appending rows costs no layout and almost no drawing."""
        size = Size(self.scrollable_content_region.width, self.row_count + 1)
        current = self.virtual_size
        if size == current:
            return
        if size.width != current.width or not self.is_mounted:
            self.virtual_size = size
            return
        self.set_reactive(ScrollView.virtual_size, size)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)
        if monotonic() - self._scrollbar_at >= SCROLLBAR_SECONDS:
            self.update_scrollbar()

    def update_scrollbar(self) -> None:
        """Draw the scrollbar for the rows shown now (the walk screen calls it when a
        walk ends, so the last rows are never left out of it)."""
        self._scrollbar_at = monotonic()
        if self.show_vertical_scrollbar:
            scrollbar = self.vertical_scrollbar
            scrollbar.window_virtual_size = self.virtual_size.height
            scrollbar.refresh()

    # -- MIB names ---------------------------------------------------------------------

    def _ask_names(self, oids: Sequence[str]) -> None:
        if self._mib_names is None:
            return
        asked = self._asked
        wanted = [oid for oid in oids if oid not in asked]
        if wanted:
            asked.update(wanted)
            self._name_worker.request(wanted)

    def _names_resolved(self, names: dict[str, str | None]) -> None:
        """Draw the lines in view again (their values too: formatted by the MIB
        object found with the name); a text filter may now let more rows through."""
        index, display = self._index, self._display
        for oid in names:
            row = index.get(oid)
            if row is not None:
                display[row] = None
        if self._filter is not None and self._filter.subtree is None and names:
            current = self.highlighted_oid
            self._apply_filter()
            position = None if current is None else self._position_of(self._index[current])
            if position is None:
                position = max(0, min(self.cursor, self.row_count - 1))
            self.cursor = position
        self.refresh()

    # -- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view: the header, or the row at ``scroll_y + y - 1``."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        oid_w, name_w, type_w, value_w = column_widths(width)
        if y == 0:
            header = self.get_component_rich_style("walk-table--header")
            cells = ("OID", "MIB NAME", "TYPE", "VALUE")
            text = " ".join(
                f"{c:<{w}}" for c, w in zip(cells, (oid_w, name_w, type_w, value_w), strict=True)
            )
            return Strip([Segment(text, base + header)]).crop_extend(0, width, base + header)
        position = scroll_y + y - 1
        index = self._row_at(position)
        if index is None:
            return Strip.blank(width, base)
        oid = self._oids[index]
        data = self.data[oid]
        data_type = str(data.get("type"))
        name = self._mib_names.get(oid) if self._mib_names is not None else None
        if name is None and oid not in self._asked:
            self._ask_names((oid,))  # the lines in view are drawn again when it arrives
        value = self._value(index)
        if len(value) > value_w:
            value = value[: max(0, value_w - 1)] + ELLIPSIS
        key_text = f"{fit_oid(oid, oid_w):<{oid_w}} "
        name_text = f"{format_mib_name(name, name_w):<{name_w}} "
        if position == self.cursor:
            base = base + self.get_component_rich_style("walk-table--cursor")
        name_style = self.get_component_rich_style("walk-table--name", partial=True)
        value_style = base
        if data_type == "ERROR":
            value_style = base + self.get_component_rich_style("walk-table--error", partial=True)
        strip = Strip(
            [
                Segment(key_text, base),
                Segment(name_text, base + name_style),
                Segment(f"{data_type:<{type_w}} ", base),
                Segment(value, value_style),
            ]
        )
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_resize(self) -> None:
        """Keep the virtual width the widget's, and the cursor in view."""
        self._resize()
        self._scroll_to_cursor()

    # -- the cursor --------------------------------------------------------------------

    def _scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)  # less the header
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def move_cursor(self, position: int) -> None:
        """Put the cursor on row ``position`` of the rows shown (clamped). Without a
        scroll only the two rows it left and reached are drawn again (a key press
        costs two lines, not a page)."""
        before, top = self.cursor, round(self.scroll_y)
        self.cursor = max(0, min(position, self.row_count - 1))
        self._scroll_to_cursor()
        if round(self.scroll_y) != top:
            self.refresh()
        elif self.cursor != before:
            self.refresh_line(before + 1)  # virtual lines: the header is line 0
            self.refresh_line(self.cursor + 1)

    def action_cursor_up(self) -> None:
        """The previous row."""
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """The next row."""
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        """A page up."""
        self.move_cursor(self.cursor - max(1, self.scrollable_content_region.height - 2))

    def action_page_down(self) -> None:
        """A page down."""
        self.move_cursor(self.cursor + max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        """The first row."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """The last row."""
        self.move_cursor(self.row_count - 1)

    def on_click(self, event: events.Click) -> None:
        """Put the cursor on the clicked row."""
        offset = event.get_content_offset(self)
        if offset is not None and offset.y > 0:
            self.move_cursor(round(self.scroll_y) + offset.y - 1)


def _all(_index: int) -> bool:
    return True
