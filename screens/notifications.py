"""The Notifications screen: one timeline of everything that happened in the fleet,
the alarms waiting for an acknowledgement, and one tab per configured monitor.

Tab **Stream**: the :class:`~console.notifications.center.NotificationCenter`'s ring
in a :class:`~widgets.notification_pane.NotificationPane`: the type mask (keys
``1``..``9``, or a click on a chip; each chip counts its category), the device
filter (``d``: a name or a glob) and the text filter (``/``: plain text, or
``/regex/``; a bad expression is shown beside the inputs and the previous filter
stays), the list (replayed history marked ``↺``) and the detail of the selected
entry (pretty JSON, a hex dump of a binary MQTT payload, trap varbinds as a table with
MIB names). The list follows the newest entry; ``space`` pauses it (a badge counts
what arrives meanwhile) and resumes. ``c`` copies the detail to the clipboard (OSC
52), ``e`` exports what the filter shows to JSON Lines or CSV (written in a thread),
``o`` loads older entries from the store.

Tab **Alarms (n unacked)**: the open alarms (:class:`~widgets.alarm_table.AlarmTable`,
updated in place from the fleet state the bridge folds): ``a`` acknowledges the
selected alarm, ``A`` every alarm shown (after a confirmation).

One tab per monitor (``monitors:`` in the configuration): the same pane over the
monitor's own ring, fed by its own batched subscription. A monitor that delivers
(``transport``) shows its status line above the pane
(:class:`~widgets.delivery_status.DeliveryStatusLine`: status, last connect, last
sent, pending, retries); ``R`` re-enables a DISABLED one (or retries a waiting one
now).

The screen is kept while hidden (``N`` shows it again, with its filters and
panes): hidden panes keep only their bounded pending entries, and draw them when
shown again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from console.fleet import Changes
from console.format import Clock, format_count
from console.notifications.export import export_notifications
from console.notifications.model import CATEGORIES, Category
from screens.base import FleetScreen, NotificationsAccess, ScreenContext
from screens.confirm import ConfirmScreen
from screens.export import ExportScreen, default_export_name
from widgets.alarm_table import AlarmTable
from widgets.category_mask import mask_key
from widgets.delivery_status import DeliveryStatusLine
from widgets.notification_pane import NotificationPane
from widgets.showing import is_showing

if TYPE_CHECKING:
    from console.notifications.monitors import Monitor

__all__ = [
    "ALARMS_TAB",
    "OLDER_PAGE",
    "STREAM_TAB",
    "NotificationsScreen",
    "monitor_info",
    "monitor_tab",
]

STREAM_TAB = "tab-stream"
ALARMS_TAB = "tab-alarms"
#: Older entries loaded from the store by one ``o``.
OLDER_PAGE = 500
#: A monitor's statistics line is refreshed this often (seconds) while it shows.
MONITOR_INFO_SECONDS = 1.0

_PANE_ACTIONS = frozenset({"toggle_pause", "filter", "device_filter", "export", "toggle_category"})
_ALARM_ACTIONS = frozenset({"ack", "ack_all"})

NO_STREAM = "The notification stream is not running (the runtime has no notification center)."


def monitor_tab(index: int) -> str:
    """The tab id of the ``index``-th monitor (configuration order)."""
    return f"tab-monitor-{index}"


def monitor_info(monitor: Monitor, clock: Clock) -> Content:
    """The line above a monitor's pane: what it subscribes to, its batching, what it
    delivered, what it dropped, and its recording (with the latest error)."""
    config, stats = monitor.config, monitor.stats
    what = [*("/".join(p) for p in config.events), *config.topics]
    recording = monitor.recording
    record = f"recording {recording} ({format_count(stats.recorded)} lines)" if recording else ""
    error = f"  [b $error]recording failed: {stats.record_error}[/]" if stats.record_error else ""
    dropped = "$error b" if stats.dropped else "$text-muted"
    return Content.from_markup(
        "[b]$what[/]  [$text-muted]batches of ≤$size or $duration s[/]"
        "  $batches batches, last $last at $at"
        f"  [{dropped}]dropped $dropped[/]  $record{error}",
        what=", ".join(what),
        size=str(config.batch_size),
        duration=f"{config.batch_duration:g}",
        batches=format_count(stats.batches),
        last=format_count(stats.last_batch_size),
        at=clock.time_of_day(stats.last_batch_at),
        dropped=format_count(stats.dropped),
        record=record,
    )


def _mask_binding(category: Category) -> Binding:
    return Binding(
        mask_key(category),
        f"toggle_category('{category.value}')",
        f"Mask {category.value}",
        id=f"notifications.mask.{category.value}",
        show=False,
        tooltip=f"Show or hide the {category.value} notifications",
    )


class NotificationsScreen(FleetScreen):
    """The stream, the alarms and the monitors (see the module doc).

    Args:
        context: the screen context (its ``notifications`` are shown).
    """

    CATCH_UP_ON_RESUME = True
    AUTO_FOCUS = "NotificationList"
    """The stream's list has the focus from the first frame: Textual's default (the
    first focusable widget) is the device filter, where a key such as ``t`` pressed
    before the tab's own focus lands would be typed instead of switching the tab."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "space",
            "toggle_pause",
            "Pause/Follow",
            key_display="space",
            id="notifications.pause",
            tooltip="Pause the list (a badge counts what arrives), or follow again",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            id="notifications.filter",
            tooltip="Filter by text: plain text, or /regex/",
        ),
        Binding(
            "d",
            "device_filter",
            "Device",
            id="notifications.device",
            tooltip="Filter by device: a name or a glob (sw*)",
        ),
        Binding(
            "c",
            "copy",
            "Copy",
            id="notifications.copy",
            tooltip="Copy the selected entry's detail to the clipboard",
        ),
        Binding(
            "e",
            "export",
            "Export",
            id="notifications.export",
            tooltip="Export what the filter shows to JSON Lines or CSV",
        ),
        Binding(
            "o",
            "older",
            "Older",
            id="notifications.older",
            tooltip="Load older entries from the store",
        ),
        Binding(
            "a", "ack", "Ack", id="notifications.ack", tooltip="Acknowledge the selected alarm"
        ),
        Binding(
            "A",
            "ack_all",
            "Ack all",
            id="notifications.ack_all",
            tooltip="Acknowledge every alarm shown",
        ),
        Binding(
            "t",
            "next_tab",
            "Next tab",
            id="notifications.tab",
            tooltip="Show the next tab (stream, alarms, monitors)",
        ),
        Binding(
            "R",
            "monitor_enable",
            "Re-enable",
            id="notifications.monitor_enable",
            tooltip="Re-enable the monitor's delivery (DISABLED), or retry it now",
        ),
        *(_mask_binding(category) for category in CATEGORIES),
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.title = "fleettop"
        self.sub_title = "notifications"
        self.access = context.notifications or NotificationsAccess()
        """The stream, alarms and monitors shown."""
        monitors = self.access.monitors
        self._monitors: list[tuple[str, Monitor]] = (
            list(monitors.monitors.items()) if monitors is not None else []
        )
        self.exports = 0
        """Completed exports (tests)."""

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, the tabs, the status bar and the footer."""
        context = self.context
        ring = self.access.ring_size
        yield Header(icon="◆")
        with TabbedContent(initial=STREAM_TAB, id="notification-tabs"):
            with TabPane("Stream", id=STREAM_TAB):
                center = self.access.center
                if center is None:
                    yield Static(NO_STREAM, classes="notifications-unavailable", markup=False)
                else:
                    yield NotificationPane(
                        center,
                        context.clock,
                        context.mib_names,
                        ring_size=center.ring_size,
                        shown=self._stream_mask(),
                        id="pane-stream",
                    )
            with TabPane(self._alarms_label(), id=ALARMS_TAB):
                yield Static(id="alarm-counts", markup=False)
                yield AlarmTable(context.clock, id="alarms")
            for index, (name, monitor) in enumerate(self._monitors):
                with TabPane(f"Monitor {name}", id=monitor_tab(index)):
                    yield Static(id=f"monitor-info-{index}", classes="monitor-info")
                    if monitor.delivery is not None:
                        yield DeliveryStatusLine(
                            id=f"monitor-delivery-{index}", classes="monitor-info"
                        )
                    yield NotificationPane(
                        monitor,
                        context.clock,
                        context.mib_names,
                        ring_size=ring,
                        categories=CATEGORIES,
                        id=f"pane-monitor-{index}",
                    )
        yield context.status_bar()
        yield Footer()

    def _stream_mask(self) -> frozenset[Category] | None:
        """The stream's categories on at start (``notifications.mask``; names the
        configuration check let through), or ``None`` for every one."""
        mask = self.access.mask
        if mask is None:
            return None
        return frozenset(c for c in CATEGORIES if c.value in mask)

    def on_mount(self) -> None:
        """Show the alarms and the monitors' statistics (again every second); focus
        the stream."""
        self._show_alarms()
        self._show_monitor_info(force=True)
        self.set_interval(MONITOR_INFO_SECONDS, self._show_monitor_info)
        self._focus_tab()

    def _show_monitor_info(self, *, force: bool = False) -> None:
        """The statistics line of the monitor tab showing (all of them: ``force``)."""
        if not force and not is_showing(self):
            return
        active = self.active_tab
        for index, (_, monitor) in enumerate(self._monitors):
            if force or active == monitor_tab(index):
                info = monitor_info(monitor, self.context.clock)
                self.query_one(f"#monitor-info-{index}", Static).update(info)
                if monitor.delivery is not None:
                    line = self.query_one(f"#monitor-delivery-{index}", DeliveryStatusLine)
                    line.show(monitor.delivery, self.context.clock)

    # -- FleetScreen ------------------------------------------------------------------

    def show_all(self) -> None:
        """Catch up: the alarms, and the pane showing."""
        self._show_alarms()
        pane = self.active_pane
        if pane is not None:
            pane.catch_up()

    def show_changes(self, changes: Changes) -> None:
        """Update the alarm rows and the tab's count when alarms changed."""
        if changes.alarms:
            self._show_alarms()

    # -- tabs ----------------------------------------------------------------------------

    @property
    def active_tab(self) -> str:
        """The id of the tab showing."""
        return self.query_one(TabbedContent).active

    @property
    def active_pane(self) -> NotificationPane | None:
        """The stream-like pane showing (``None`` on the Alarms tab, or without a
        stream)."""
        tabs = self.query_one(TabbedContent)
        active = tabs.active
        if not active:
            return None
        found = tabs.get_pane(active).query(NotificationPane)
        return found.first() if found else None

    @property
    def stream(self) -> NotificationPane | None:
        """The Stream tab's pane, or ``None`` without a notification center."""
        found = self.query("#pane-stream")
        first = found.first() if found else None
        return first if isinstance(first, NotificationPane) else None

    def monitor_pane(self, index: int) -> NotificationPane:
        """The pane of the ``index``-th monitor."""
        return self.query_one(f"#pane-monitor-{index}", NotificationPane)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()
        self._focus_tab()
        pane = self.active_pane
        if pane is not None:
            pane.catch_up()
        self._show_monitor_info()

    def _focus_tab(self) -> None:
        pane = self.active_pane
        if pane is not None:
            pane.entry_list.focus()
        elif self.active_tab == ALARMS_TAB:
            self.query_one(AlarmTable).focus()

    def action_next_tab(self) -> None:
        """Show the next tab (round)."""
        tabs = self.query_one(TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane) if pane.id]
        if ids:
            index = ids.index(tabs.active) if tabs.active in ids else -1
            tabs.active = ids[(index + 1) % len(ids)]

    # -- alarms ---------------------------------------------------------------------------

    def _alarms_label(self) -> str:
        return f"Alarms ({format_count(self.context.state.unacked)} unacked)"

    def _show_alarms(self) -> None:
        state = self.context.state
        self.query_one(AlarmTable).sync(state.alarms)
        tab, label = self.query_one(TabbedContent).get_tab(ALARMS_TAB), self._alarms_label()
        if tab.label.plain != label:  # a relabelled tab redraws the tab bar
            tab.label = label
        total = len(state.alarms)
        self.query_one("#alarm-counts", Static).update(
            Content.from_markup(
                "[b]$total[/] open alarms, [b]$unacked[/] not acknowledged",
                total=format_count(total),
                unacked=format_count(state.unacked),
            )
        )

    def action_ack(self) -> None:
        """Acknowledge the selected alarm."""
        book = self.access.alarms
        alarm_id = self.query_one(AlarmTable).highlighted_alarm
        operator = self.context.operator
        if alarm_id is None:
            operator.notify("no alarm selected", severity="warning")
            return
        if book is None:
            operator.notify("alarms are not running", severity="warning")
            return
        if book.ack(alarm_id) is None:
            operator.notify(f"alarm {alarm_id} is no longer open", severity="warning")

    @work(exclusive=True, group="dialog", exit_on_error=False, description="acknowledge alarms")
    async def action_ack_all(self) -> None:
        """Acknowledge every alarm shown that is not yet (after a confirmation)."""
        book = self.access.alarms
        operator = self.context.operator
        alarms = self.context.state.alarms
        ids = [
            i for i in self.query_one(AlarmTable).shown_ids if i in alarms and not alarms[i].acked
        ]
        if book is None:
            operator.notify("alarms are not running", severity="warning")
            return
        if not ids:
            operator.notify("every alarm shown is acknowledged already")
            return
        body = Content.from_markup(
            "[b]$count[/] unacknowledged alarms will be marked acknowledged now.",
            count=format_count(len(ids)),
        )
        confirm = ConfirmScreen(
            f"Acknowledge {format_count(len(ids))} alarms?", body, confirm="Acknowledge"
        )
        if not await self.app.push_screen_wait(confirm):
            operator.notify("nothing was acknowledged")
            return
        count = book.ack_all(ids)
        operator.notify(f"{format_count(count)} alarms acknowledged")

    # -- the panes' actions --------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pane keys on a pane's tab, alarm keys on the Alarms tab, ``o`` on the
        stream only."""
        if action in _PANE_ACTIONS:
            return self.active_pane is not None
        if action in _ALARM_ACTIONS:
            return self.active_tab == ALARMS_TAB
        if action == "older":
            return self.active_tab == STREAM_TAB and self.stream is not None
        if action == "monitor_enable":
            return self._active_monitor() is not None
        if action == "copy":
            return self.active_pane is not None or self.active_tab == ALARMS_TAB
        return True

    def _active_monitor(self) -> Monitor | None:
        """The delivering monitor whose tab shows, or ``None``."""
        active = self.active_tab
        for index, (_, monitor) in enumerate(self._monitors):
            if active == monitor_tab(index) and monitor.delivery is not None:
                return monitor
        return None

    def action_monitor_enable(self) -> None:
        """Re-enable the delivery of the monitor showing (or retry it now)."""
        monitor = self._active_monitor()
        if monitor is None or monitor.delivery is None:
            return
        self.context.operator.notify(monitor.delivery.enable())
        self._show_monitor_info(force=True)

    def action_toggle_category(self, category: str) -> None:
        """Show or hide a category in the pane showing."""
        pane = self.active_pane
        if pane is None:
            return
        try:
            wanted = Category(category)
        except ValueError:
            return
        if wanted in pane.categories:
            pane.toggle_category(wanted)

    def action_toggle_pause(self) -> None:
        """Pause or resume the pane showing."""
        pane = self.active_pane
        if pane is not None:
            pane.toggle_pause()

    def action_filter(self) -> None:
        """Type a text filter."""
        pane = self.active_pane
        if pane is not None:
            pane.query_one(".notification-text", Input).focus()

    def action_device_filter(self) -> None:
        """Type a device filter."""
        pane = self.active_pane
        if pane is not None:
            pane.query_one(".notification-device", Input).focus()

    def action_back(self) -> None:
        """From a filter input, back to the list; else back to the previous screen."""
        pane = self.active_pane
        if isinstance(self.focused, Input) and pane is not None:
            pane.entry_list.focus()
            return
        self.dismiss()

    def action_copy(self) -> None:
        """Copy the selected entry's detail (or the selected alarm, as JSON) to the
        clipboard (OSC 52: the terminal must allow it)."""
        operator = self.context.operator
        pane = self.active_pane
        text = ""
        if pane is not None:
            text = pane.detail.text
        elif self.active_tab == ALARMS_TAB:
            alarm_id = self.query_one(AlarmTable).highlighted_alarm
            alarm = self.context.state.alarms.get(alarm_id) if alarm_id is not None else None
            if alarm is not None:
                record = dataclasses.asdict(alarm)
                record["severity"] = alarm.severity.label
                text = json.dumps(record, indent=2, ensure_ascii=False, default=str)
        if not text:
            operator.notify("nothing selected to copy", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        operator.notify(f"copied to the clipboard ({format_count(len(text))} characters)")

    @work(exclusive=True, group="dialog", exit_on_error=False, description="export notifications")
    async def action_export(self) -> None:
        """Export what the pane's filter shows to JSON Lines or CSV (the file is
        written in a thread)."""
        pane = self.active_pane
        if pane is None:
            return
        rows = pane.shown
        what = pane.filter.describe()
        title = f"Export {format_count(len(rows))} notifications ({what})"
        stamp = self.context.clock.stamp()
        choice = await self.app.push_screen_wait(
            ExportScreen(title, default_export_name("notifications", stamp))
        )
        if choice is None:
            return
        count = await asyncio.to_thread(export_notifications, choice.path, rows, choice.format)
        self.exports += 1
        self.context.operator.notify(
            f"{format_count(count)} notifications written to {choice.path}"
        )

    @work(exclusive=True, group="older", exit_on_error=False, description="load older entries")
    async def action_older(self) -> None:
        """Load the page of stored entries before the oldest one shown (the pane
        pauses on them)."""
        center = self.access.center
        pane = self.stream
        if center is None or pane is None:
            return
        oldest = pane.oldest
        before_time = oldest.time if oldest is not None else self.context.clock.now()
        before_id = oldest.id if oldest is not None else 0
        older = await center.older(pane.filter, before_time, before_id, OLDER_PAGE)
        added = pane.add_older(older)
        operator = self.context.operator
        if added:
            operator.notify(f"{format_count(added)} older notifications loaded from the store")
        elif older:
            operator.notify(
                "no room for more older entries: narrow the filter or export", severity="warning"
            )
        else:
            operator.notify("no older notifications in the store")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place this screen's failures are told (a file that cannot be
        written, the store)."""
        if event.state is WorkerState.ERROR:
            worker = event.worker
            self.notify(
                f"{worker.description} failed: {worker.error}", severity="error", markup=False
            )
