"""The walk screen: a subtree of one device, streamed into a virtual list as it arrives.

The walk runs in one exclusive worker of the screen (an asyncio task: key handling
never waits for it), pulling var-binds from ``SnmpDevice.walk``; they wait in a
buffer that a timer moves into the table every :data:`FRAME_SECONDS` (at most 20
times a second), one append per batch, never one by one. The table
(:class:`widgets.walk_table.WalkTable`) draws only the lines in view, so a frame
costs the same at 100 rows or 100,000. The progress line reads
``STATE  ROOT │ N OIDs in T (RATE)  │ at CURRENT`` (and, filtered, how many rows
are shown). Escape cancels a running walk at once (the worker is cancelled, the
generator closes, no further request is sent, and the manager publishes the walk
event with ``complete: false``); escape again goes back. ``/`` filters the rows: a
numeric OID or a MIB name shows its subtree, other text the rows containing it.
``a`` adds the highlighted OID to the device's polling list. A walk stops by itself
after :data:`MAX_ROWS` rows, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from console.format import format_count, format_duration, format_rate
from console.oid import format_oid, lookup_walk_root, normalize_oid, parse_oid
from screens.base import ScreenContext
from screens.controllers.base import new_session_id
from screens.controllers.snmp import POLL_ADD, SnmpBackend
from screens.table import TABLE_BINDING, open_table
from widgets.oid_input import OidInput
from widgets.showing import is_showing
from widgets.walk_table import WalkFilter, WalkRow, WalkTable

__all__ = ["FILTER_DELAY", "FRAME_SECONDS", "MAX_ROWS", "SYSTEM_GROUP", "WalkScreen", "walk_root"]

#: How often buffered rows are moved into the table (20 frames/s).
FRAME_SECONDS = 0.05
#: A walk stops after this many rows (bounded memory; walk a smaller subtree).
MAX_ROWS = 200_000
#: Seconds after the last keystroke in the filter before a MIB name is looked up.
FILTER_DELAY = 0.15
#: ``SNMPv2-MIB::system``: the walk of a device with no OID selected.
SYSTEM_GROUP = "1.3.6.1.2.1.1"
WALK_GROUP = "walk"


def walk_root(oid: str, mib_name: str | None) -> str:
    """Return the subtree to walk for a selected OID: its table column, or the group
    of a scalar.

    With a MIB name (``IF-MIB::ifInOctets.3``), the index (``3``) is dropped: the
    column ``ifInOctets``; a scalar (index ``0``, ``sysUpTime.0``) gives its group
    (``system``). Without a usable name, the last arc is dropped.
    """
    arcs = parse_oid(oid)
    index = mib_name.rpartition("::")[2].partition(".")[2] if mib_name else ""
    parts = index.split(".") if index else []
    if parts and all(part.isdigit() for part in parts) and len(parts) < len(arcs) - 1:
        column = arcs[: len(arcs) - len(parts)]
        if parts == ["0"] and len(column) > 2:
            return format_oid(column[:-1])
        return format_oid(column)
    if mib_name and not parts:
        return format_oid(arcs)
    return format_oid(arcs[:-1]) if len(arcs) > 2 else format_oid(arcs)


class WalkScreen(Screen[None]):
    """Walk a subtree of ``device`` and show what it returns.

    Args:
        context: the screen context (operator, MIB names, clock, status bar).
        device: the device walked.
        root: the first subtree (numeric OID); the walk starts on mount.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "stop_or_back",
            "Stop / back",
            id="screen.back",
            tooltip="Cancel a running walk; else back to the previous screen",
        ),
        POLL_ADD,
        Binding("e", "edit_root", "Subtree", id="walk.root", tooltip="Walk another subtree"),
        TABLE_BINDING,
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            id="walk.filter",
            tooltip="Filter the rows: an OID or MIB name (its subtree), or text",
        ),
    ]

    def __init__(self, context: ScreenContext, device: str, root: str) -> None:
        super().__init__()
        self.context = context
        self.device = device
        """The device walked."""
        self.root = root
        """The subtree of the current (or last) walk."""
        self.count = 0
        """Var-binds received in the current walk."""
        self.current: str | None = None
        """The last OID received."""
        self.outcome: str | None = None
        """``None`` while walking; then ``complete``, ``cancelled``, ``stopped`` or
        ``failed: ...``."""
        self.filter_text = ""
        """The filter typed (empty: every row)."""
        self._buffer: list[WalkRow] = []
        self._started = 0.0
        self._ended: float | None = None
        self._worker: Worker[None] | None = None
        self.title = "fleettop"
        self.sub_title = f"walk · {device}"

    def compose(self) -> ComposeResult:
        """Header, the subtree input, progress, the table, status bar and footer."""
        yield Header(icon="◆")
        with Horizontal(id="walk-bar"):
            yield Label("subtree", id="walk-label")
            yield OidInput(self.context.mib_names, self.root, id="walk-root")
            yield Input(placeholder="/ filter: OID, MIB name or text", id="walk-filter")
        yield Static(id="walk-progress", markup=False)
        yield WalkTable(self.context.mib_names, id="walk-table")
        yield self.context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Start walking the first subtree."""
        self.set_interval(FRAME_SECONDS, self._flush)
        self.start(self.root)

    @property
    def running(self) -> bool:
        """True while a walk is under way."""
        return self.outcome is None and self._worker is not None and self._worker.is_running

    @property
    def table(self) -> WalkTable:
        """The table of results."""
        return self.query_one(WalkTable)

    @property
    def _backend(self) -> SnmpBackend | None:
        return self.context.operator.backend(self.device)

    def start(self, root: str) -> None:
        """Walk ``root`` (numeric), replacing the current walk and its rows."""
        backend = self._backend
        if backend is None:
            self.outcome = "failed: no SNMP backend"
            self._show_progress()
            return
        self.root = root
        self.count = 0
        self.current = None
        self.outcome = None
        self._buffer.clear()
        self._started = self.context.clock.now()
        self._ended = None
        self.table.reset()
        self.table.focus()
        self._worker = self.run_worker(
            self._walk(backend, root),
            group=WALK_GROUP,
            exclusive=True,
            exit_on_error=False,
            description=f"walk {self.device} {root}",
        )
        self._show_progress()

    async def _walk(self, backend: SnmpBackend, root: str) -> None:
        rows = backend.walk(root, session_id=new_session_id())
        try:
            async for oid, data in rows:
                self._buffer.append((oid, data))
                self.count += 1
                self.current = oid
                if self.count >= MAX_ROWS:
                    self.outcome = "stopped"
                    break
        finally:  # close the generator now (also when cancelled): the walk event says how
            close = getattr(rows, "aclose", None)
            if close is not None:
                await close()
        if self.outcome is None:
            self.outcome = "complete"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Note how the walk ended (failures are also reported by the app)."""
        if event.worker is not self._worker or not event.worker.is_finished:
            return
        if event.state is WorkerState.CANCELLED and self.outcome is None:
            self.outcome = "cancelled"
        elif event.state is WorkerState.ERROR:
            self.outcome = f"failed: {event.worker.error}"
        self._ended = self.context.clock.now()
        self._flush()
        self.table.update_scrollbar()

    def _flush(self) -> None:
        """Move the buffered rows into the table and redraw the progress line."""
        if not is_showing(self):
            return
        if self._buffer:
            rows, self._buffer = self._buffer, []
            with self.app.batch_update():
                self.table.add(rows)
        self._show_progress()

    def _show_progress(self) -> None:
        end = self._ended if self._ended is not None else self.context.clock.now()
        elapsed = max(0.0, end - self._started)
        rate = self.count / elapsed if elapsed > 0 else None
        state = self.outcome or "walking"
        style = {"complete": "$success", "walking": "$accent"}.get(state, "$warning")
        if state.startswith("failed"):
            style = "$error"
        self.query_one("#walk-progress", Static).update(
            Content.from_markup(
                f"[b {style}]$state[/]  $root  [$text-muted]│[/] [b]$count[/] OIDs"
                " in $elapsed ($rate)  [$text-muted]│[/] at $current",
                state=state,
                root=self.root,
                count=format_count(self.count),
                elapsed=format_duration(elapsed),
                rate=format_rate(rate),
                current=self.current or "—",
            ).append(self._filter_note()),
            layout=False,
        )

    def _filter_note(self) -> Content:
        table = self.table
        walk_filter = table.filter
        if walk_filter is None:
            return Content("")
        what = walk_filter.subtree or walk_filter.text
        return Content.from_markup(
            "  [$text-muted]│[/] filter $what: [b]$shown[/] shown",
            what=what,
            shown=format_count(table.row_count),
        )

    # -- the filter --------------------------------------------------------------

    @on(Input.Changed, "#walk-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    @on(Input.Submitted, "#walk-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()

    def set_filter(self, text: str) -> None:
        """Filter the rows by ``text``: a numeric OID shows its subtree at once; other
        text shows the rows containing it at once, and its subtree instead when a
        MIB name of that spelling is found (looked up in a thread after
        :data:`FILTER_DELAY`)."""
        text = text.strip()
        self.filter_text = text
        if not text:
            self.table.set_filter(None)
        elif text.lstrip(".")[:1].isdigit():
            try:
                subtree = normalize_oid(text)
            except ValueError:
                subtree = None
            self.table.set_filter(WalkFilter(text, subtree))
        else:
            self.table.set_filter(WalkFilter(text))
            self._lookup_filter(text)
        self._show_progress()

    @work(exclusive=True, group="walk-filter", exit_on_error=False, description="filter by name")
    async def _lookup_filter(self, text: str) -> None:
        await asyncio.sleep(FILTER_DELAY)
        try:
            subtree = await asyncio.to_thread(self.context.mib_names.lookup, text)
        except ValueError:
            return  # not a MIB name: the text filter stays
        if self.filter_text == text:
            self.table.set_filter(WalkFilter(text, subtree))
            self._show_progress()

    @on(Input.Submitted, "#walk-root")
    def _root_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._lookup(event.value)

    @work(exclusive=True, group="lookup", exit_on_error=False, description="look up a subtree")
    async def _lookup(self, text: str) -> None:
        try:  # '.' (or nothing) walks the whole agent, one arc its top arc
            oid = await asyncio.to_thread(lookup_walk_root, text, self.context.mib_names.lookup)
        except ValueError as exc:
            self.context.operator.notify(str(exc), severity="error")
            return
        self.start(oid)

    # -- actions -----------------------------------------------------------------

    def action_stop_or_back(self) -> None:
        """Cancel the running walk (wherever the focus is); when none runs, from an
        input back to the table; else go back."""
        if self.running and self._worker is not None:
            self._worker.cancel()
        elif isinstance(self.focused, Input):
            self.table.focus()
        else:
            self.dismiss()

    def action_filter(self) -> None:
        """Type a filter."""
        self.query_one("#walk-filter", Input).focus()

    def action_poll_add(self) -> None:
        """Poll the highlighted OID from the device's next cycle."""
        oid = self.table.highlighted_oid
        if oid is None:
            self.context.operator.notify("no OID highlighted", severity="warning")
            return
        self.context.operator.add_polling(self.device, oid)

    def action_table(self) -> None:
        """The table of the highlighted OID (a column of a table walked) as a grid."""
        oid = self.table.highlighted_oid
        if oid is None:
            self.context.operator.notify("no OID highlighted", severity="warning")
            return
        open_table(self.app, self.context, self.device, oid)

    def action_edit_root(self) -> None:
        """Focus the subtree input (enter starts a new walk)."""
        self.query_one("#walk-root", OidInput).focus()
