"""The Topics screen: every MQTT topic seen on every broker, as a tree.

The tree (:class:`~console.explorer.tree.TopicTree`, fed from the bus by the runtime)
shows level by level each node's message count, rate, retained flag, QoS, last time
and a preview of the last payload; a closed level shows its subtree's sums. ``/``
filters by text or by an MQTT topic filter (``site/+/temp``, ``site/#``). The detail
pane shows the selected topic's message and what changed against the one before
(JSON keys added/removed/changed, a line diff for text, a byte diff for binary);
``[`` and ``]`` step through the topic's history; ``h`` loads its older messages
from the store's notification log, and, with the filter set to a topic's exact name
that memory no longer holds (trimmed at ``ui.topics.max_topics``), finds that topic
in the store alone. ``x`` clears the retained message
of the topic, or of every topic of the selected level, after a confirmation saying
how many (audited, refused in read-only mode). ``p`` publishes, prefilled with the
selected topic; ``o`` opens the values of the topic's device; ``T`` on a device's
MQTT value (OIDs screen) comes here with its topic selected.

The screen is kept while hidden: it hears of new messages through a
:class:`~console.bridge.NotificationFeed` over the tree (never from a backend), redraws
only the lines in view at most every :data:`REFRESH_SECONDS`, and rebuilds its rows
at most every :data:`REBUILD_SECONDS` when topics were added or trimmed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from console.bridge import NotificationFeed
from console.explorer.diff import payload_diff
from console.explorer.presets import PublishPreset
from console.explorer.retained import ClearResult, clear_retained
from console.explorer.stored import stored_messages
from console.explorer.tree import TopicFilter, TopicMessage, TopicNode, TopicTree
from console.fleet import Changes
from console.format import Clock, format_count
from console.mqtt.codec import decode_payload
from screens.base import FleetScreen, ScreenContext
from screens.confirm import ConfirmScreen
from widgets.showing import is_showing
from widgets.topic_tree import TopicTreeView

if TYPE_CHECKING:
    from console.mqtt.fleet import MqttFleet

__all__ = ["CLEAR_ACTION", "REBUILD_SECONDS", "TopicsScreen", "topic_detail"]

#: The rows are built again at most this often (seconds) while topics arrive (less
#: often when a rebuild takes over a fifth of it).
REBUILD_SECONDS = 0.5
#: Live counters and previews are redrawn at most this often (seconds); a key redraws
#: at once. Twice a second: under a flood a frame of the tree costs the loop tens of
#: ms on a busy machine, time a key's repaint then waits for.
REFRESH_SECONDS = 0.5
#: The detail follows the cursor once it rested this long (seconds).
DETAIL_SECONDS = 0.05
#: The audit action of a retained cleanup.
CLEAR_ACTION = "mqtt.clear_retained"
#: Bytes of a payload the detail pane decodes.
DETAIL_BYTES = 16 * 1024
NO_TREE = "No MQTT broker is configured: there are no topics to show."


def topic_detail(
    node: TopicNode,
    index: int,
    clock: Clock,
    now: float,
    history: Sequence[TopicMessage] | None = None,
) -> Content:
    """The detail of ``node``: where it is, its counters, the ``index``-th message of
    ``history`` (default: the node's; ``-1``: the newest) and the diff against the
    message before it."""
    head = Content.from_markup(
        "[b]$path[/]  [$text-muted]$device[/]\n$count messages  $rate/s  last $last"
        "  $topics topics  $retained retained",
        path=node.path,
        device=f"device {node.device}" if node.device else "",
        count=format_count(node.count),
        rate=f"{node.rate(now):.1f}",
        last=clock.time_of_day(node.last),
        topics=format_count(node.topic_total),
        retained=format_count(node.retained_count),
    )
    if history is None:
        history = node.history
    if not history:
        return head
    position = index % len(history)
    message = history[position]
    cut = " (cut)" if message.truncated else ""
    meta = Content.from_markup(
        "\n[b]message $n of $total[/] ($keys step)  $when  $size B$cut  QoS $qos  $retain",
        keys="[ and ]",
        n=str(position + 1),
        total=str(len(history)),
        when=clock.time_of_day(message.received),
        size=format_count(message.size),
        cut=cut,
        qos=str(message.qos),
        retain="retained" if message.retain else "",
    )
    decoded = decode_payload(message.payload, limit=DETAIL_BYTES)
    parts = [head, meta, Content(f"\n{decoded.format}:\n"), Content(decoded.text)]
    if position > 0:
        diff = payload_diff(history[position - 1].payload, message.payload)
        parts.append(Content.from_markup("\n\n[b]what changed[/]  $s", s=diff.summary))
        styles = {"added": "$success", "removed": "$error", "changed": "$warning"}
        for line in diff.lines:
            style = styles.get(line.kind, "$text-muted")
            parts.append(
                Content.from_markup(f"\n[{style}]$mark $text[/]", mark=line.mark, text=line.text)
            )
    else:
        parts.append(Content.styled("\n\n(the first message kept: nothing to compare)", "dim"))
    return Content("").join(parts)


class TopicsScreen(FleetScreen):
    """Every topic of every broker (see the module docstring).

    Args:
        context: the screen context (its ``topics`` are shown).
    """

    CATCH_UP_ON_RESUME = True
    AUTO_FOCUS = "TopicTreeView"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            id="topics.filter",
            tooltip="Filter the topics: text, or an MQTT filter with + and #",
        ),
        Binding(
            "left_square_bracket",
            "older",
            "Older",
            key_display="[",
            id="topics.older",
            tooltip="The topic's previous message (and its diff)",
        ),
        Binding(
            "right_square_bracket",
            "newer",
            "Newer",
            key_display="]",
            id="topics.newer",
            tooltip="The topic's next message",
        ),
        Binding(
            "g",
            "plot",
            "Chart",
            id="topics.plot",
            tooltip="The topic's numeric values as a chart over time",
        ),
        Binding(
            "h",
            "stored",
            "Stored",
            id="topics.stored",
            tooltip="Load the topic's older messages from the store",
        ),
        Binding(
            "x",
            "clear_retained",
            "Clear retained",
            id="topics.clear_retained",
            tooltip="Clear the retained message of the topic, or of every topic under the level",
        ),
        Binding(
            "p", "publish", "Publish", id="mqtt.publish", tooltip="Publish to the selected topic"
        ),
        Binding(
            "o",
            "open_device",
            "Device",
            id="topics.device",
            tooltip="The values of the topic's device",
        ),
    ]

    def __init__(self, context: ScreenContext, tree: TopicTree | None) -> None:
        super().__init__(context)
        self.topic_tree = tree
        self.topic_filter: TopicFilter | None = None
        self.history_index = -1
        """The message shown of the selected topic's history (``-1``: the newest)."""
        self._feed: NotificationFeed[TopicNode] | None = None
        self._version = -1
        self._last_rebuild = 0.0
        self._rebuild_every = REBUILD_SECONDS
        self._dirty = False
        self._detail_touched = False
        self._rebuild_timer: object | None = None
        self._detail_timer: Timer | None = None
        self._detail_node: TopicNode | None = None
        self._select: tuple[str, str] | None = None
        self._stored: dict[TopicNode, list[TopicMessage]] = {}
        self._filter_raw = ""
        self._found: TopicNode | None = None
        self.clearing: ClearResult | None = None
        """The retained cleanup running (or last run), with its progress."""

    def compose(self) -> ComposeResult:
        """Header, the filter, the tree beside its detail, status bar, footer."""
        yield Header(icon="◆")
        yield Input(
            placeholder="filter: text, or an MQTT filter (site/+/temp, site/#)",
            id="topics-filter",
        )
        yield Static(id="topics-info", markup=False)
        with Horizontal(id="topics-body"):
            yield TopicTreeView(self.context.clock, self._now, id="topic-tree")
            with VerticalScroll(id="topic-detail-scroll"):
                yield Static(NO_TREE if self.topic_tree is None else "", id="topic-detail")
        yield self.context.status_bar()
        yield Footer()

    def _now(self) -> float:
        return time.time()

    def on_mount(self) -> None:
        """Follow the tree and show it."""
        self.query_one("#topics-filter").display = False
        if self.topic_tree is not None:
            self._feed = NotificationFeed(self.topic_tree, self, limit=4096)
            self._feed.open()
        self.rebuild()
        self.set_interval(REFRESH_SECONDS, self._redraw)

    def _redraw(self) -> None:
        """Draw what arrived since the last redraw (the lines in view, the info line,
        the detail when its topic got a message, or whenever it shows a level)."""
        if not self._dirty or not is_showing(self):
            return
        self._dirty = False
        self.view.refresh()
        self._show_info()
        node = self._detail_node
        # a level's counters sum its subtree: any message may have changed them
        if self._detail_touched or (node is not None and node.children):
            self._detail_touched = False
            self._show_detail()

    def on_unmount(self) -> None:
        """Stop following the tree."""
        if self._feed is not None:
            self._feed.close()

    # -- FleetScreen ------------------------------------------------------------------

    def show_all(self) -> None:
        """Catch up: the rows, the lines in view, the detail."""
        self.rebuild()

    def show_changes(self, changes: Changes) -> None:
        """Nothing of the fleet state shows here (the tree has its own feed)."""

    # -- the tree --------------------------------------------------------------------

    @property
    def view(self) -> TopicTreeView:
        """The tree view."""
        return self.query_one(TopicTreeView)

    def rebuild(self) -> None:
        """Build the rows again from the tree (filter applied) and draw."""
        tree = self.topic_tree
        if tree is None:
            return
        self._version = tree.structure_version
        started = time.monotonic()
        found = self._found
        if found is not None and self._filter_raw.strip() != found.topic:
            self._found = found = None
        self._stored = {
            n: kept for n, kept in self._stored.items() if n.topic is not None or n is found
        }
        select = None
        if self._select is not None:
            select = tree.find(*self._select)
            if select is not None:
                self._select = None
                up = select.parent
                while up is not None:  # opened so it shows
                    up.expanded = True
                    up = up.parent
        rows = tree.rows(self.topic_filter)
        if found is not None:  # a topic from the store alone, below what memory holds
            rows.append(found)
            select = select or found
        self.view.set_rows(rows, select=select)
        self._last_rebuild = time.monotonic()
        # a rebuild that took long (a filter over 100k topics) waits longer before
        # the next: at most a fifth of the time goes to rebuilding while topics arrive
        self._rebuild_every = max(REBUILD_SECONDS, 4 * (self._last_rebuild - started))
        self._show_info()
        if self.view.highlighted is self._detail_node:
            self._detail_soon()  # the same topic: its counters can wait a frame
        else:
            self._show_detail()

    def _show_info(self) -> None:
        tree = self.topic_tree
        if tree is None:
            return
        trimmed = (
            f"  {format_count(tree.trimmed)} least recently seen trimmed"
            f" (max {format_count(tree.max_topics)})"
            if tree.trimmed
            else ""
        )
        shown = f"  filter {self.topic_filter.text!r}" if self.topic_filter else ""
        clearing = ""
        if self.clearing is not None:
            c = self.clearing
            clearing = f"  clearing retained {c.done}/{c.total}" + (
                f" ({len(c.failed)} failed)" if c.failed else ""
            )
        self.query_one("#topics-info", Static).update(
            f"{format_count(tree.topic_count)} topics, {format_count(tree.messages)} messages"
            f"{trimmed}{shown}{clearing}",
            layout=False,  # one line of fixed height: no reflow of the whole screen
        )

    def on_notification_feed_arrived(self, message: NotificationFeed.Arrived) -> None:
        """New messages in the tree: redraw what is in view (at most every
        :data:`REFRESH_SECONDS`); rebuild the rows when topics came or went (at most
        every :data:`REBUILD_SECONDS`)."""
        touched = message.feed.take()
        if self.topic_tree is None or not is_showing(self):
            self._stale = True
            return
        if self.topic_tree.structure_version != self._version or self._select is not None:
            wait = self._rebuild_every - (time.monotonic() - self._last_rebuild)
            if wait <= 0:
                self.rebuild()
                return
            if self._rebuild_timer is None:
                self._rebuild_timer = self.set_timer(wait, self._timed_rebuild)
        self._dirty = True
        if self._detail_node is not None and self._detail_node in touched:
            self._detail_touched = True

    def _timed_rebuild(self) -> None:
        self._rebuild_timer = None
        if is_showing(self):
            self.rebuild()

    @on(TopicTreeView.Toggled)
    def _toggled(self) -> None:
        self.rebuild()

    @on(TopicTreeView.Highlighted)
    def _highlighted(self, message: TopicTreeView.Highlighted) -> None:
        if message.node is not self._detail_node:
            self.history_index = -1
        self._detail_soon()

    def _detail_soon(self) -> None:
        """Show the detail once the cursor rests :data:`DETAIL_SECONDS`: a new detail
        may change the pane's height (a layout of the whole screen), which the tree's
        repaint after a key need not wait for, and keys held down pay it once."""
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_SECONDS, self._detail_due)

    def _detail_due(self) -> None:
        self._detail_timer = None
        self._show_detail()

    def _show_detail(self) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        node = self.view.highlighted
        self._detail_node = node
        detail = self.query_one("#topic-detail", Static)
        if node is None:
            detail.update(NO_TREE if self.topic_tree is None else "No topic yet.")
            return
        content = topic_detail(
            node, self.history_index, self.context.clock, self._now(), self.history(node)
        )
        # a detail as tall as the one shown needs no layout of the whole screen (the
        # cursor moving over topics of one shape), only its repaint
        detail.update(content, layout=False)
        size = detail.content_size
        if not size.width or detail.get_content_height(size, self.size, size.width) != size.height:
            detail.refresh(layout=True)

    def history(self, node: TopicNode) -> list[TopicMessage]:
        """``node``'s messages, oldest first: those loaded from the store (``h``), then
        those in memory."""
        return [*self._stored.get(node, ()), *node.history]

    def select_topic(self, broker: str, topic: str) -> None:
        """Put the cursor on ``topic`` of ``broker`` (its levels opened), now or as
        soon as the topic is seen."""
        self._select = (broker, topic)
        if self.is_mounted:
            self.rebuild()

    # -- actions -------------------------------------------------------------------------

    def action_back(self) -> None:
        """From the filter, back to the tree (the filter stays); else back to the
        previous screen."""
        line = self.query_one("#topics-filter", Input)
        if self.focused is line:
            line.display = bool(line.value)
            self.view.focus()
            return
        self.dismiss()

    def action_filter(self) -> None:
        """Show the filter input and type in it."""
        line = self.query_one("#topics-filter", Input)
        line.display = True
        line.focus()

    @on(Input.Changed, "#topics-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter_raw = event.value
        try:
            self.topic_filter = TopicFilter.parse(event.value)
        except ValueError as exc:
            self.notify(f"filter: {exc}", severity="warning", markup=False)
            return
        self.rebuild()

    @on(Input.Submitted, "#topics-filter")
    def _filter_done(self) -> None:
        line = self.query_one("#topics-filter", Input)
        line.display = bool(line.value)
        self.view.focus()

    def action_older(self) -> None:
        """The selected topic's previous message."""
        node = self.view.highlighted
        if node is None or not (history := self.history(node)):
            return
        count = len(history)
        position = self.history_index % count
        self.history_index = max(0, position - 1)
        self._show_detail()

    def action_newer(self) -> None:
        """The selected topic's next message."""
        node = self.view.highlighted
        if node is None or not (history := self.history(node)):
            return
        count = len(history)
        newer = self.history_index % count + 1
        self.history_index = -1 if newer >= count - 1 else newer
        self._show_detail()

    @work(exclusive=True, group="dialog", exit_on_error=False, description="publish")
    async def action_publish(self) -> None:
        """Publish; the dialog starts from the selected topic: its broker, last
        payload (when it is text), QoS and retain flag."""
        mqtt = self.context.mqtt
        if mqtt is None:
            return
        node = self.view.highlighted
        if node is None or node.topic is None:
            await mqtt.ask_publish("")
            return
        latest = node.latest
        text = ""
        if latest is not None and not latest.truncated:
            try:
                text = latest.payload.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
        preset = PublishPreset(node.broker, node.topic, text, node.qos, node.retained)
        await mqtt.ask_publish(node.topic, preset=preset)

    @work(exclusive=True, group="stored", exit_on_error=False, description="chart")
    async def action_plot(self) -> None:
        """Open the chart of the selected topic's numeric values: its messages in
        memory and, the first time, its older ones from the store (as ``h`` loads
        them), so a chart opened late still has its past."""
        from screens.topic_plot import TopicPlotScreen

        node = self.view.highlighted
        if node is None or node.topic is None:
            self.notify("select a topic", severity="warning")
            return
        store = self.context.store.store
        if store is not None and node not in self._stored:
            history = self.history(node)
            before = history[0].received if history else self._now()
            try:
                older = await stored_messages(store, node.broker, node.topic, before=before)
            except Exception as exc:  # the chart of what memory holds, and why not more
                self.notify(f"the store could not be read: {exc}", severity="error", markup=False)
                older = []
            if older:
                self._stored[node] = older
                if self.history_index >= 0:  # the same message stays shown
                    self.history_index += len(older)
        self.app.push_screen(TopicPlotScreen(node, lambda: self.history(node), self.context.clock))

    @work(exclusive=True, group="stored", exit_on_error=False, description="stored messages")
    async def action_stored(self) -> None:
        """Load the selected topic's older messages from the store's notification log
        (before the oldest one shown); the detail then steps through them too."""
        node = self.view.highlighted
        store = self.context.store.store
        if store is None:
            self.notify(self.context.store.unavailable or "no store", severity="warning")
            return
        if node is None or node.topic is None:
            wanted = self._filter_raw.strip()
            if self.topic_filter is not None and not self.topic_filter.wildcard and wanted:
                await self._look_up(wanted)
                return
            self.notify(
                "select a topic (or filter by a topic's exact name to find it in the store)",
                severity="warning",
            )
            return
        history = self.history(node)
        before = history[0].received if history else self._now()
        try:
            older = await stored_messages(store, node.broker, node.topic, before=before)
        except Exception as exc:
            self.notify(f"the store could not be read: {exc}", severity="error", markup=False)
            return
        if not older:
            self.notify(f"no older message of {node.topic} in the store")
            return
        self._stored[node] = [*older, *self._stored.get(node, ())]
        self.history_index = max(0, len(older) - 1)
        self.notify(f"{len(older)} older message(s) of {node.topic} from the store")
        self._show_detail()

    async def _look_up(self, topic: str) -> None:
        """Show ``topic`` from the store alone (a topic trimmed from memory, or never
        held): a detached row under the filter, its stored messages as history."""
        from console.explorer.tree import TopicNode

        store = self.context.store.store
        fleet = self._fleet()
        brokers = list(fleet.connections) if fleet is not None else []
        assert store is not None
        for broker in brokers:
            try:
                older = await stored_messages(store, broker, topic, before=self._now())
            except Exception as exc:
                self.notify(f"the store could not be read: {exc}", severity="error", markup=False)
                return
            if not older:
                continue
            top = TopicNode("", None, broker)
            node = TopicNode(topic, TopicNode(f"@{broker}", top, broker), broker)
            node.topic, node.count, node.last = topic, len(older), older[-1].received
            self._stored[node] = older
            self._found = node
            self.history_index = -1
            self.rebuild()
            self.notify(f"{len(older)} message(s) of {topic} on {broker} from the store")
            return
        self.notify(f"no message of {topic} in the store")

    def action_open_device(self) -> None:
        """Open the values of the selected topic's device (its value selected)."""
        from screens.oids import OidsScreen

        node = self.view.highlighted
        if node is None or node.device is None:
            self.notify("this topic belongs to no device", severity="warning")
            return
        screen = OidsScreen(self.context, node.device)
        self.app.push_screen(screen)
        for key, info in self.context.state.mqtt.info.items():
            if info.topic == node.topic and info.broker == node.broker:
                screen.select_value(key)
                break

    def _fleet(self) -> MqttFleet | None:
        mqtt = self.context.mqtt
        return mqtt.fleet if mqtt is not None else None

    @work(exclusive=True, group="dialog", exit_on_error=False, description="clear retained")
    async def action_clear_retained(self) -> None:
        """Clear the retained message of the selected topic, or of every topic under
        the selected level, after a confirmation; audited; refused in read-only
        mode."""
        if self.context.operator.read_only:
            self.notify(
                "read-only mode: clearing retained messages is disabled", severity="warning"
            )
            return
        node = self.view.highlighted
        fleet = self._fleet()
        if node is None or fleet is None or self.topic_tree is None:
            self.notify("no topic selected", severity="warning")
            return
        if self.clearing is not None and self.clearing.done < self.clearing.total:
            self.notify("a cleanup is still running", severity="warning")
            return
        topics = sorted(t.topic for t in node.topics() if t.retained and t.topic is not None)
        if not topics:
            self.notify(f"no retained message known under {node.path}", severity="warning")
            return
        broker = node.broker
        where = node.topic if node.topic is not None and not node.children else node.path
        scope = node.path.removeprefix(f"@{broker}/") if node.depth > 1 else "#"
        target = scope if not node.children else (f"{scope}/#" if node.depth > 1 else "#")
        sample = "\n".join(topics[:5]) + ("\n…" if len(topics) > 5 else "")
        body = Content.from_markup(
            "broker   [b]$broker[/]\nunder    [b]$where[/]\n[b $warning]$count retained"
            " message(s)[/] will be cleared (an empty retained publish each):\n$sample",
            broker=broker,
            where=where,
            count=format_count(len(topics)),
            sample=sample,
        )
        confirm = ConfirmScreen(f"Clear {len(topics)} retained?", body, confirm="Clear")
        if not await self.app.push_screen_wait(confirm):
            self.notify("cleanup cancelled: nothing was sent")
            return
        try:
            connection = fleet.connections[broker]
        except KeyError:
            self.notify(f"no broker named {broker}", severity="error")
            return
        self.clearing = ClearResult(len(topics))
        last_shown = [0.0]

        def progress(result: ClearResult) -> None:
            self.clearing = result
            now = time.monotonic()
            if now - last_shown[0] > 0.1 or result.done == result.total:
                last_shown[0] = now
                self._show_info()

        result = await clear_retained(connection.publish, topics, progress=progress)
        self.clearing = result
        self._show_info()
        failed = len(result.failed)
        outcome = "ok" if not failed else f"{failed} failed: {result.failed[0][1]}"
        audit = self.context.store.audit
        if audit is not None:
            try:
                await audit.record(
                    CLEAR_ACTION,
                    f"@{broker}",
                    target,
                    new={
                        "topics": len(topics),
                        "cleared": len(result.cleared),
                        "failed": failed,
                        "seconds": round(result.seconds, 3),
                    },
                    result=outcome,
                )
            except Exception as exc:
                self.notify(f"the audit entry was not written: {exc}", severity="error")
        self.notify(
            f"{len(result.cleared)} retained message(s) cleared on {broker}"
            f" in {result.seconds:.1f} s" + (f", {failed} failed" if failed else ""),
            severity="warning" if failed else "information",
            markup=False,
        )
