"""The notification list: a virtual list over a pane's filtered entries (Textual's
Line API), one line per notification, with a cursor.

Only the visible lines are rendered (:meth:`NotificationList.render_line`), so the
cost of a frame does not depend on how many entries the pane holds: the pane hands
over its whole filtered list with :meth:`NotificationList.set_rows` at most once per
frame. A line reads ``HH:MM:SS.mmm ↺ SEV category device summary``: ``↺`` (and a
dimmed line) marks an entry replayed from the store (history), the severity is
coloured. In a list narrower than :data:`COMPACT_BELOW` columns (80 columns of
terminal) the line is compact, ``HH:MM:SS ↺ SEV device summary`` with a shorter
device column, so the summary still shows.

The operator's cursor moves (keys, mouse wheel aside, clicks) post
:class:`NotificationList.CursorMoved`, so the pane can stop following; every change
of the entry under the cursor posts :class:`NotificationList.Highlighted`.

Following (:attr:`NotificationList.following`), :meth:`NotificationList.set_rows` puts
the cursor on the newest entry. A move off the newest entry stops following at once,
before the pane hears of it: rows set meanwhile (a frame of arrivals) keep the
operator's entry under the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.format import Clock, printable, truncate
from console.notifications.model import Notification, Severity
from widgets.mib_names import MibNames, NameWorker

__all__ = ["NotificationList", "notification_line"]

#: Characters of the device column.
DEVICE_WIDTH = 16
#: Characters of the category column.
CATEGORY_WIDTH = 8
#: Lists narrower than this (columns) draw compact lines.
COMPACT_BELOW = 72
#: Characters of the device column of a compact line.
COMPACT_DEVICE_WIDTH = 10
_SEVERITY_TEXT = {
    Severity.INFO: "INFO",
    Severity.WARNING: "WARN",
    Severity.ERROR: "ERR ",
    Severity.CRITICAL: "CRIT",
}
HISTORY_MARK = "↺"


def snmp_oid(notification: Notification) -> str | None:
    """The OID an SNMP read, change, write or walk entry is about, else ``None``."""
    event_type = notification.event_type
    if len(event_type) >= 4 and event_type[0] == "snmp" and event_type[2] in _OID_KINDS:
        return event_type[3]
    return None


_OID_KINDS = frozenset({"read", "write", "walk"})


def notification_line(
    notification: Notification,
    clock: Clock,
    oid_name: str | None = None,
    *,
    compact: bool = False,
) -> tuple[str, str, str]:
    """The three parts of a line: time with milliseconds and the history mark,
    severity, and ``category device summary`` (control characters escaped); with
    ``oid_name``, the summary names the entry's OID (:func:`snmp_oid`) by it;
    ``compact``: the time without milliseconds, no category, a shorter device."""
    when = notification.time
    stamp = clock.time_of_day(when)
    if not compact:
        stamp = f"{stamp}.{int(when * 1000) % 1000:03d}"
    mark = HISTORY_MARK if notification.history else " "
    summary = printable(_named(notification, oid_name))
    if compact:
        device = truncate(printable(notification.device), COMPACT_DEVICE_WIDTH)
        rest = f"{device:<{COMPACT_DEVICE_WIDTH}} {summary}"
    else:
        device = truncate(printable(notification.device), DEVICE_WIDTH)
        rest = f"{notification.category.value:<{CATEGORY_WIDTH}} {device:<{DEVICE_WIDTH}} {summary}"
    return f"{stamp} {mark} ", _SEVERITY_TEXT[notification.severity], f" {rest}"


def _named(notification: Notification, oid_name: str | None) -> str:
    summary = notification.summary
    if oid_name is None:
        return summary
    oid = snmp_oid(notification)
    return summary if oid is None else summary.replace(oid, oid_name, 1)


class NotificationList(ScrollView, can_focus=True):
    """Notifications, one per line, oldest at the top, with a cursor.

    Args:
        clock: formats the times.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up", "cursor_up", "Up", id="notifications.list.up", show=False, tooltip="Previous"
        ),
        Binding(
            "down", "cursor_down", "Down", id="notifications.list.down", show=False, tooltip="Next"
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            id="notifications.list.page_up",
            show=False,
            tooltip="A page up",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            id="notifications.list.page_down",
            show=False,
            tooltip="A page down",
        ),
        Binding(
            "home",
            "first",
            "First",
            id="notifications.list.first",
            show=False,
            tooltip="The oldest entry",
        ),
        Binding(
            "end",
            "last",
            "Last",
            id="notifications.list.last",
            show=False,
            tooltip="The newest entry",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "notification-list--cursor",
        "notification-list--time",
        "notification-list--history",
        "notification-list--info",
        "notification-list--warning",
        "notification-list--error",
        "notification-list--critical",
    }

    class Highlighted(Message):
        """The entry under the cursor changed (handler:
        ``on_notification_list_highlighted``)."""

        def __init__(self, notification: Notification | None) -> None:
            super().__init__()
            self.notification = notification
            """The entry under the cursor, or ``None`` (empty list)."""

    class CursorMoved(Message):
        """The operator moved the cursor (a key or a click), not the follow mode
        (handler: ``on_notification_list_cursor_moved``)."""

        def __init__(self, at_end: bool) -> None:
            super().__init__()
            self.at_end = at_end
            """True when the cursor is on the newest entry."""

    # The same signature as NotificationDetail on purpose: the pane builds both from one pair.
    def __init__(
        self,
        clock: Clock,
        mib_names: MibNames | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._mib_names = mib_names
        self._rows: Sequence[Notification] = ()
        self.cursor = -1
        """The index of the entry under the cursor (``-1``: none)."""
        self.following = True
        """True while new rows put the cursor on the newest entry; False once the
        operator moved it off the newest (then the entry under it stays under it).
        The pane sets it when it resumes or pauses."""
        self._highlighted: Notification | None = None
        self._name_worker = NameWorker(self, mib_names, lambda _names: self.refresh())

    # -- data -----------------------------------------------------------------------

    @property
    def rows(self) -> Sequence[Notification]:
        """The entries shown, oldest first."""
        return self._rows

    @property
    def highlighted(self) -> Notification | None:
        """The entry under the cursor, or ``None``."""
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor]
        return None

    def set_rows(self, rows: Sequence[Notification], *, cursor: int | None = None) -> None:
        """Show ``rows`` (not copied: the pane replaces the list rather than change
        it while shown); ``cursor``: the index to put the cursor on (``None``: the
        newest entry, scrolled into view, when :attr:`following`, else the entry
        under the cursor if ``rows`` hold it, the newest if not)."""
        if cursor is None and not self.following:
            cursor = self._index_of(self.highlighted, rows)
        self._rows = rows
        self.virtual_size = Size(self.scrollable_content_region.width, len(rows))
        last = len(rows) - 1
        self.cursor = last if cursor is None else max(-1, min(cursor, last))
        self._scroll_to_cursor(end=cursor is None)
        self.refresh()
        self._check_highlight()

    def _index_of(
        self, notification: Notification | None, rows: Sequence[Notification]
    ) -> int | None:
        """Where ``notification`` (the very object) is in ``rows``, or ``None``."""
        if notification is None:
            return None
        if 0 <= self.cursor < len(rows) and rows[self.cursor] is notification:
            return self.cursor
        return next((i for i, n in enumerate(rows) if n is notification), None)

    # -- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The line ``y`` of the view: the entry at ``scroll_y + y``."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        notification = self._rows[index]
        stamp, severity, rest = notification_line(
            notification, self._clock, self._oid_name(notification), compact=width < COMPACT_BELOW
        )
        style = (
            base + self.get_component_rich_style("notification-list--history")
            if notification.history
            else base
        )
        severity_style = self.get_component_rich_style(
            f"notification-list--{notification.severity.label}"
        )
        segments = [
            Segment(stamp, style + self.get_component_rich_style("notification-list--time")),
            Segment(severity, base + severity_style),
            Segment(rest, style),
        ]
        strip = Strip(segments)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("notification-list--cursor"))
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _oid_name(self, notification: Notification) -> str | None:
        """The cached MIB name of the entry's OID; an unknown one is queued for the
        resolver thread (the line shows the number until the name arrives)."""
        names = self._mib_names
        if names is None:
            return None
        oid = snmp_oid(notification)
        if oid is None:
            return None
        name = names.get(oid)
        if name is None:
            # the lines in view are drawn again when names arrive
            self._name_worker.request((oid,))
        return name

    def on_resize(self) -> None:
        """Keep the virtual width the widget's, and the cursor in view."""
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self._scroll_to_cursor(end=self.cursor == len(self._rows) - 1)

    # -- the cursor ------------------------------------------------------------------------

    def _scroll_to_cursor(self, *, end: bool = False) -> None:
        height = self.scrollable_content_region.height
        if end:
            self.scroll_to(y=max(0, len(self._rows) - height), animate=False, immediate=True)
            return
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _check_highlight(self) -> None:
        current = self.highlighted
        if current is not self._highlighted:
            self._highlighted = current
            self.post_message(self.Highlighted(current))

    def move_cursor(self, index: int) -> None:
        """Put the cursor on entry ``index`` (clamped), as the operator did: off the
        newest entry, the list stops following."""
        if not self._rows:
            return
        self.cursor = max(0, min(index, len(self._rows) - 1))
        at_end = self.cursor == len(self._rows) - 1
        if not at_end:
            self.following = False
        self._scroll_to_cursor()
        self.refresh()
        self._check_highlight()
        self.post_message(self.CursorMoved(at_end))

    def action_cursor_up(self) -> None:
        """The previous (older) entry."""
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """The next (newer) entry."""
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        """A page up."""
        self.move_cursor(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        """A page down."""
        self.move_cursor(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """The oldest entry."""
        self.move_cursor(0)

    def action_last(self) -> None:
        """The newest entry."""
        self.move_cursor(len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        """Put the cursor on the clicked line."""
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_cursor(round(self.scroll_y) + offset.y)
