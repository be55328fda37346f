"""The notification list: a virtual list over a pane's filtered entries (Textual's
Line API), one line per notification, with a cursor.

Only the visible lines are rendered (:class:`~widgets.virtual_list.VirtualList`), so the
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
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip

from console.format import Clock, printable, truncate
from console.notifications.model import Notification, Severity
from widgets.mib_names import MibNames, NameWorker
from widgets.virtual_list import VirtualList

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


class NotificationList(VirtualList[Notification]):
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
        self.following = True
        """True while new rows put the cursor on the newest entry; False once the
        operator moved it off the newest (then the entry under it stays under it).
        The pane sets it when it resumes or pauses."""
        self._name_worker = NameWorker(self, mib_names, lambda _names: self.refresh())

    def highlight_message(self, row: Notification | None) -> Message:
        """A :class:`Highlighted` for ``row``."""
        return self.Highlighted(row)

    def keep_end_on_resize(self) -> bool:
        """True when the cursor is on the newest entry: it stays at the bottom."""
        return self.cursor == len(self._rows) - 1

    # -- data -----------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Notification], *, cursor: int | None = None) -> None:
        """Show ``rows`` (not copied: the pane replaces the list rather than change
        it while shown); ``cursor``: the index to put the cursor on (``None``: the
        newest entry, scrolled into view, when :attr:`following`, else the entry
        under the cursor if ``rows`` hold it, the newest if not)."""
        if cursor is None and not self.following:
            cursor = self._index_of(self.highlighted, rows)
        last = len(rows) - 1
        index = last if cursor is None else max(-1, min(cursor, last))
        self.show_rows(rows, index, end=cursor is None)

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

    def row_strip(self, index: int, notification: Notification, base: Style, width: int) -> Strip:
        """The line of ``notification``: time, severity, category, device, summary."""
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
        return strip

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

    # -- the cursor ------------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Put the cursor on entry ``index`` (clamped), as the operator did: off the
        newest entry, the list stops following."""
        if not self._rows:
            return
        super().move_cursor(index)
        at_end = self.cursor == len(self._rows) - 1
        if not at_end:
            self.following = False
        self.post_message(self.CursorMoved(at_end))
