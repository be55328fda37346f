"""One stream-like pane of the Notifications screen (the stream, or a monitor): the type
mask, the device and text filters, the list and the detail of the selected entry.

Feeding
-------
New notifications of the source (a :class:`NotificationSource`: the
``NotificationCenter`` or a ``Monitor``) reach the pane through the bridge: a
:class:`console.bridge.NotificationFeed` listens to the source and posts
``NotificationFeed.Arrived`` messages (at most one waiting, the arrivals bounded).
The handler only counts categories and filters the batch into a bounded deque; the
list is redrawn by a one-shot timer at most :data:`FRAME_SECONDS` after the first
arrival (at most 15 frames a second, whatever the rate), and only while the pane is
on screen. A hidden pane catches up
when shown (:meth:`NotificationPane.catch_up`).

The list holds the entries matching the filter, at most the source's ring size (plus
the older entries loaded with ``o``); a filter change rebuilds it from the source's
ring (``entries``).

Follow and pause
----------------
Following (the default), the cursor stays on the newest entry. ``space``
(:meth:`NotificationPane.toggle_pause`), moving the cursor off the newest entry, and
loading older entries pause: the list stops moving, and a badge counts the matching
entries that arrived meanwhile. Resuming rebuilds the list from the ring.

Paused, or as soon as the operator moved the cursor (the list stops following at
once, before its ``CursorMoved`` reaches the pane), the entry under the cursor stays
under it: when the entries that had arrived are drawn on pausing (even with the list
at its cap: the oldest entries go, never the chosen one), and when a filter change
rebuilds the list (if the entry still matches and is still in the ring).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Protocol

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from console.bridge import NotificationFeed
from console.format import Clock, format_count
from console.notifications.filters import FilterError, NotificationFilter
from console.notifications.model import CATEGORIES, Category, Notification
from widgets.category_mask import CategoryMask
from widgets.mib_names import MibNames, NameWorker
from widgets.notification_detail import NotificationDetail, unnamed_oids
from widgets.notification_list import NotificationList
from widgets.showing import is_showing

__all__ = ["FRAME_SECONDS", "NotificationPane", "NotificationSource"]

#: The list is redrawn at most this often (seconds): 15 frames a second.
FRAME_SECONDS = 1 / 15
#: While the list follows a stream, the detail shows the newest entry at most this
#: often (seconds).
FOLLOW_DETAIL_SECONDS = 0.5
DEVICE_HINT = "device: name or glob (sw*, @plant)"
TEXT_HINT = "text, or /regex/"


def regex_in_progress(text: str) -> str:
    """The text filter for what is typed: a ``/regex`` not closed yet is the regular
    expression typed so far (``/ab`` -> ``/ab/``), never the plain text ``/ab`` (which
    matches nothing, and stayed the filter in force when the next key made the
    expression bad)."""
    if text.startswith("/") and not (len(text) >= 2 and text.endswith("/")):
        return f"{text}/"
    return text


class NotificationSource(Protocol):
    """What a pane shows: a ring of notifications and a way to hear of new ones
    (``NotificationCenter`` and ``Monitor`` both are)."""

    @property
    def entries(self) -> Sequence[Notification]:
        """The ring, oldest first."""
        ...

    def listen(self, callback: Callable[[list[Notification]], None]) -> Callable[[], None]:
        """Call ``callback`` in the loop with each batch of new notifications;
        returns the function that stops it."""
        ...


class NotificationPane(Vertical):
    """A filtered, followed view of one source (see the module doc).

    Args:
        source: the notifications to show.
        clock: formats the times.
        mib_names: names of trap varbinds the receiver did not name.
        ring_size: most live entries kept in the list.
        categories: the categories of the mask (the stream's, or every one for a
            monitor that asks for statistics events).
        shown: the categories on when the pane opens (``notifications.mask`` for
            the stream); every one by default.
    """

    class Paused(Message):
        """The pane paused or resumed (handler: ``on_notification_pane_paused``)."""

        def __init__(self, pane: NotificationPane, paused: bool) -> None:
            super().__init__()
            self.pane = pane
            """The pane."""
            self.paused = paused
            """True when it paused."""

    def __init__(
        self,
        source: NotificationSource,
        clock: Clock,
        mib_names: MibNames | None = None,
        *,
        ring_size: int = 10_000,
        categories: Sequence[Category] = CATEGORIES[:9],
        shown: Collection[Category] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.source = source
        """Where the notifications come from."""
        self.categories = tuple(categories)
        """The categories of the mask, in key order."""
        self.ring_size = max(1, ring_size)
        self._clock = clock
        self._mib_names = mib_names
        self.filter = NotificationFilter()
        if shown is not None:  # the categories the mask has no chip for stay as they are
            hidden = frozenset(self.categories).difference(shown)
            self.filter = NotificationFilter(categories=self.filter.categories - hidden)
        """The filter in force."""
        self._predicate: Callable[[Notification], bool] = self.filter.predicate()
        self.paused = False
        """True while the list does not move (``space``, or the cursor moved away)."""
        self.arrived_while_paused = 0
        """Matching entries that arrived since the pane paused (the badge)."""
        self.counts: Counter[Category] = Counter()
        """Notifications received per category (replayed ones included)."""
        self.frames = 0
        """Redraws of the list (tests, benchmarks)."""
        self.older_loaded = 0
        """Entries loaded from the store with ``o`` and still in the list."""
        self._view: list[Notification] = []
        self._pending: deque[Notification] = deque(maxlen=self.ring_size)
        self._dirty = False
        self._scheduled = False
        self._detail_due: Notification | None = None
        self._detail_timer = False
        self._feed = NotificationFeed(source, self, limit=self.ring_size)
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self.filter_errors: dict[str, str] = {}
        """Why the text in a filter input was refused (input id -> message)."""

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The mask, the filter bar, the list beside the detail."""
        yield CategoryMask(self.categories, classes="notification-mask")
        with Horizontal(classes="notification-filter-bar"):
            yield Input(placeholder=DEVICE_HINT, classes="notification-device")
            yield Input(placeholder=TEXT_HINT, classes="notification-text")
            yield Static(classes="notification-badge", markup=False)
        # below the bar, the whole width: a long reason is never cut
        yield Static(classes="notification-filter-error", markup=False)
        with Horizontal(classes="notification-main"):
            yield NotificationList(self._clock, self._mib_names, classes="notification-list")
            yield NotificationDetail(self._clock, self._mib_names, classes="notification-detail")

    def on_mount(self) -> None:
        """Show the ring, then take new entries from the feed."""
        entries = list(self.source.entries)
        self.counts.update(n.category for n in entries)
        self._view = [n for n in entries if self._predicate(n)]
        self._feed.open()
        self.query_one(".notification-filter-error", Static).display = False
        self.entry_list.set_rows(self._view)
        self._redraw()

    def on_unmount(self) -> None:
        """Close the feed."""
        self._feed.close()

    # -- reading ------------------------------------------------------------------------

    @property
    def entry_list(self) -> NotificationList:
        """The list widget."""
        return self.query_one(NotificationList)

    @property
    def detail(self) -> NotificationDetail:
        """The detail widget."""
        return self.query_one(NotificationDetail)

    @property
    def shown(self) -> list[Notification]:
        """The entries the list holds (what the filter shows), oldest first; with
        arrivals not drawn yet when following."""
        if self.paused or not self._pending:
            return list(self._view)
        return [*self._view, *self._pending][-(self.ring_size + self.older_loaded) :]

    @property
    def badge(self) -> str:
        """The badge's text: ``following``, or ``paused · N new``."""
        if not self.paused:
            return "● following"
        return f"❚❚ paused · {format_count(self.arrived_while_paused)} new"

    @property
    def on_screen(self) -> bool:
        """True when the pane's screen shows and the pane is its visible tab."""
        return self.is_mounted and is_showing(self.screen) and self.is_on_screen

    # -- feeding --------------------------------------------------------------------------

    def on_notification_feed_arrived(self, message: NotificationFeed.Arrived) -> None:
        """New notifications wait in the feed: count and filter them."""
        message.stop()
        batch = self._feed.take()
        self.counts.update(n.category for n in batch)
        predicate = self._predicate
        if self.paused:
            self.arrived_while_paused += sum(1 for n in batch if predicate(n))
        else:
            self._pending.extend(n for n in batch if predicate(n))
        self._dirty = True
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled and self.is_mounted:
            self._scheduled = True
            self.set_timer(FRAME_SECONDS, self._frame)

    def _frame(self) -> None:
        self._scheduled = False
        if self.on_screen:
            self._redraw()

    def catch_up(self) -> None:
        """Draw what arrived while the pane was hidden (the screen calls it when the
        pane shows again)."""
        if self._dirty and self.is_mounted:
            self._redraw()

    def _trimmed(self, rows: list[Notification], keep: Notification | None) -> list[Notification]:
        """``rows`` less the oldest beyond the cap (the ring size plus the older
        entries loaded), but never ``keep`` (the entry the operator chose): the
        entries from it on stay, counted as older ones until the list is rebuilt
        (resuming), so the list holds at most twice the ring."""
        cap = self.ring_size + self.older_loaded
        if len(rows) > cap:
            dropped = len(rows) - cap
            kept = 0
            if keep is not None:
                index = next((i for i in range(dropped) if rows[i] is keep), None)
                if index is not None:
                    kept, dropped = dropped - index, index
            del rows[:dropped]
            self.older_loaded = max(0, self.older_loaded - dropped - kept) + kept
        return rows

    def _redraw(self) -> None:
        """Move the pending entries into the list and draw the list, the mask and
        the badge (one frame)."""
        self._dirty = False
        self.frames += 1
        if self._pending and not self.paused:
            # a new list object: the list widget never sees one change under it;
            # the entry the operator moved to (the list stopped following) stays
            entries = self.entry_list
            keep = None if entries.following else entries.highlighted
            self._view = self._trimmed([*self._view, *self._pending], keep)
            self._pending.clear()
            entries.set_rows(self._view)
        self.query_one(CategoryMask).show(self.filter.categories, self.counts)
        badge = self.query_one(".notification-badge", Static)
        badge.set_class(self.paused, "-paused")
        text, shown = self.badge, str(badge.content)
        if text != shown:
            badge.update(text, layout=len(text) != len(shown))

    def _rebuild(self) -> None:
        """Fill the list again from the source's ring (a new filter, or resuming);
        the cursor on the newest entry when following, else on its entry."""
        self._pending.clear()
        self.older_loaded = 0
        self._view = [n for n in self.source.entries if self._predicate(n)]
        self.entry_list.set_rows(self._view)
        self._redraw()

    # -- the operator ---------------------------------------------------------------------

    def set_filter(self, flt: NotificationFilter) -> bool:
        """Apply ``flt``; returns False (and keeps the filter in force) when it is
        refused (a bad regular expression)."""
        try:
            predicate = flt.predicate()
        except FilterError:
            return False
        self.filter, self._predicate = flt, predicate
        self.arrived_while_paused = 0
        self._rebuild()
        return True

    def toggle_category(self, category: Category) -> None:
        """Show or hide ``category``."""
        self.set_filter(self.filter.toggled(category))

    def toggle_pause(self) -> None:
        """Pause (the list stops moving) or resume (back to the newest entry)."""
        if self.paused:
            self.resume()
        else:
            self.pause()

    def pause(self) -> None:
        """Stop the list moving; the badge counts what arrives meanwhile."""
        if self.paused:
            return
        if self._pending:
            # show what was already in, then freeze (the cursor stays on the
            # operator's entry if they moved it: the list stopped following)
            self._redraw()
        self.paused = True
        self.entry_list.following = False
        self.arrived_while_paused = 0
        self._redraw()
        self.post_message(self.Paused(self, True))

    def resume(self) -> None:
        """Follow again: the list is rebuilt from the ring, the cursor on the newest."""
        if not self.paused:
            return
        self.paused = False
        self.arrived_while_paused = 0
        self.entry_list.following = True
        self._rebuild()
        self.post_message(self.Paused(self, False))

    def add_older(self, older: Sequence[Notification]) -> int:
        """Put entries loaded from the store before the first one (the pane pauses;
        the cursor stays on its entry). Returns how many were added."""
        if not older:
            return 0
        self.pause()
        room = max(0, self.ring_size - self.older_loaded)
        added = list(older)[-room:] if room else []
        if not added:
            return 0
        cursor = self.entry_list.cursor + len(added)
        self._view = [*added, *self._view]
        self.older_loaded += len(added)
        self.entry_list.set_rows(self._view, cursor=cursor)
        self._redraw()
        return len(added)

    @property
    def oldest(self) -> Notification | None:
        """The oldest entry of the list (``o`` loads older ones than it)."""
        return self._view[0] if self._view else None

    def on_category_mask_toggled(self, message: CategoryMask.Toggled) -> None:
        """A chip was clicked."""
        message.stop()
        self.toggle_category(message.category)

    def on_notification_list_highlighted(self, message: NotificationList.Highlighted) -> None:
        """Show the entry under the cursor: at once when the operator chose it; while
        the list follows a stream, at most every :data:`FOLLOW_DETAIL_SECONDS` (the
        newest entry changes every frame, too fast to read, and each new detail
        costs a layout pass)."""
        message.stop()
        notification = message.notification
        if self.entry_list.following and notification is not None:
            self._detail_due = notification
            if not self._detail_timer:
                self._detail_timer = True
                self.set_timer(FOLLOW_DETAIL_SECONDS, self._show_due_detail)
            return
        self._detail_due = None
        self._show_detail(notification)

    def _show_due_detail(self) -> None:
        self._detail_timer = False
        due, self._detail_due = self._detail_due, None
        if due is not None:
            self._show_detail(due)

    def _show_detail(self, notification: Notification | None) -> None:
        self.detail.show(notification)
        names = self._mib_names
        if notification is not None and names is not None:
            oids = unnamed_oids(notification)
            if oids:
                self._name_worker.request(oids)

    def _names_resolved(self, _names: dict[str, str | None]) -> None:
        self.detail.show(self.detail.notification, force=True)

    def on_notification_list_cursor_moved(self, message: NotificationList.CursorMoved) -> None:
        """The operator moved off the newest entry: pause (they are reading). Not
        when the pane resumed since (``space`` before this message arrived: the
        list follows again)."""
        message.stop()
        if not message.at_end and not self.entry_list.following:
            self.pause()

    def on_input_changed(self, event: Input.Changed) -> None:
        """A filter input changed: apply it, or say why not (the previous filter
        stays)."""
        event.stop()
        field = "device" if event.input.has_class("notification-device") else "text"
        value = event.value.strip()
        if field == "text":
            value = regex_in_progress(value)
        flt = (
            replace(self.filter, device=value)
            if field == "device"
            else replace(self.filter, text=value)
        )
        error = ""
        try:
            flt.predicate()
        except FilterError as exc:
            error = str(exc)
        if error:
            self.filter_errors[field] = error
        else:
            self.filter_errors.pop(field, None)
            self.set_filter(flt)
        message = self.query_one(".notification-filter-error", Static)
        message.update(
            Content.from_markup("[$error]$error[/]", error="; ".join(self.filter_errors.values()))
            if self.filter_errors
            else ""
        )
        message.display = bool(self.filter_errors)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a filter: back to the list."""
        event.stop()
        self.entry_list.focus()
