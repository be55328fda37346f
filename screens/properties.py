"""The Properties screen: the property store as a tree, one property in detail, and
the audit log of operator actions.

Tab **Properties**: a :class:`~widgets.property_tree.PropertyTree` (device →
interface with its major.minor version → path, loaded lazily from the store in
workers), the filter (``/``: a substring, or an MQTT-style pattern with ``+``/``#``
on paths, applied as you type after :data:`FILTER_DELAY` in an exclusive worker,
with the ``shown/total`` counts), and the detail panel of the property under the
cursor (value, type, ownership, source, update time, and a sparkline of its recent
values when they are numbers). Recent values come from the live events of the bus
while the screen exists (:class:`~console.history.ValueHistory`, bounded); the
same events update the loaded leaves in place.

The operator's keys act on the property under the cursor: ``r`` reads it again
from its device (SNMP GET), ``w`` sets it (the SNMP write dialog and its
confirmation), ``u`` unsets it (MQTT properties, later), ``d`` deletes the stored
entry (confirmed, and recorded in the audit log as ``store.delete``), ``e`` exports
the filtered properties to JSON Lines or CSV. Read-only mode refuses ``w``, ``u``
and ``d``.

Tab **Audit**: every recorded operator action, newest first, a page at a time
(more load when the cursor reaches the last row), reloaded when an
``("audit", DEVICE, ACTION)`` event arrives through the bridge; ``e`` exports it.

Without a store (disabled, or it could not be opened) both tabs say why.
"""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from console.events import Event, JsonValue, Policy, Subscription
from console.format import format_count
from console.history import LIVE_PATTERNS, LiveValue, PropertyKey, ValueHistory, numeric
from console.state import Changes
from console.store import SNMP_INTERFACE, AuditAction, Property
from console.store.browse import display_value, export_properties, json_value
from console.store.snmp import data_from_property
from screens.base import FleetScreen, ScreenContext
from screens.confirm import ConfirmScreen
from screens.export import ExportScreen, default_export_name
from widgets.audit_table import AuditTable
from widgets.mib_names import NameWorker
from widgets.property_detail import PropertyDetail
from widgets.property_tree import PropertyTree
from widgets.showing import is_showing
from widgets.status_bar import StatusBar

__all__ = [
    "AUDIT_PAGE",
    "AUDIT_TAB",
    "FILTER_DELAY",
    "PROPERTIES_TAB",
    "PropertiesScreen",
    "audit_value",
]

#: Seconds the filter waits after the last keystroke before it queries the store.
FILTER_DELAY = 0.15
#: Audit entries loaded at a time.
AUDIT_PAGE = 200
#: Live events are handed to the screen in batches of at most this duration (s).
LIVE_FRAME = 1 / 15
#: An empty tree reloads by itself when live values arrive, at most this often (s).
AUTO_RELOAD_SECONDS = 1.0
PROPERTIES_TAB = "tab-properties"
AUDIT_TAB = "tab-audit"

FILTER_HINT = "filter paths: a substring (1.3.6.1.2.1.2.), or +/# wildcards (/+/value, /sensors/#)"

#: Bindings that act on the Properties tab only.
_TREE_ACTIONS = frozenset({"filter", "refresh", "set", "unset", "delete", "reload"})


def audit_value(prop: Property) -> JsonValue:
    """What the audit log records as a property's value: the SNMP data dict
    ``{"type", "value"}`` of a polled value (as for an SNMP SET), else the property
    type and the value's JSON form."""
    try:
        return data_from_property(prop)
    except ValueError:
        return {"type": prop.type.value, "value": json_value(prop.type, prop.value)}


class PropertiesScreen(FleetScreen):
    """The property store browser and the audit log (see the module doc).

    Args:
        context: the screen context (its ``store`` is browsed).
        filter_delay: seconds between the last keystroke and the query.
        audit_page: audit entries per page.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            id="properties.filter",
            tooltip="Filter the paths (substring, or MQTT + and # wildcards)",
        ),
        Binding(
            "r",
            "refresh",
            "Refresh",
            id="properties.refresh",
            tooltip="Read the selected property again from its device",
        ),
        Binding("w", "set", "Set", id="properties.set", tooltip="Set the selected property"),
        Binding(
            "u",
            "unset",
            "Unset",
            id="properties.unset",
            tooltip="Unset the selected property (MQTT, allow_unset)",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="properties.delete",
            tooltip="Delete the selected entry from the store (audited)",
        ),
        Binding(
            "e",
            "export",
            "Export",
            id="properties.export",
            tooltip="Export the filtered properties, or the audit log, to JSON Lines or CSV",
        ),
        Binding(
            "R",
            "reload",
            "Reload",
            id="properties.reload",
            tooltip="Load the tree again from the store (new devices and paths)",
        ),
        Binding(
            "t",
            "switch_tab",
            "Audit/Properties",
            id="properties.tab",
            tooltip="Switch between the Properties and Audit tabs",
        ),
    ]

    class LiveValues(Message):
        """New values of properties arrived from the bus (a batch)."""

        def __init__(self, values: dict[PropertyKey, LiveValue]) -> None:
            super().__init__()
            self.values = values
            """The newest value per property."""

    def __init__(
        self,
        context: ScreenContext,
        *,
        filter_delay: float = FILTER_DELAY,
        audit_page: int = AUDIT_PAGE,
    ) -> None:
        super().__init__(context)
        self.title = "fleettop"
        self.sub_title = "properties"
        self.filter_delay = filter_delay
        self._audit_page = audit_page
        self.history = ValueHistory()
        """Recent numeric values per property, from the live events."""
        self._name_worker = NameWorker(self, context.mib_names, self._names_resolved)
        self.shown = 0
        """Properties matching the filter, at the last load."""
        self.total = 0
        """Properties in the store, at the last load."""
        self.filter_shown: str | None = None
        """The filter text of the tree shown (``None`` before the first load)."""
        self.filter_error: str | None = None
        """Why the last filter was refused (a malformed pattern), or ``None``."""
        self.tree_updated_at = 0.0
        """``time.perf_counter()`` when the tree was last rebuilt (benchmarks)."""
        self.audit_total = 0
        """Entries in the audit log, at the last load."""
        self.audit_loads = 0
        """Completed loads of the audit table."""
        self._audit_seen = -1
        self._subscriptions: list[Subscription] = []
        self._pending: dict[PropertyKey, LiveValue] = {}
        self._restore: PropertyKey | None = None
        self._loading = False
        self._auto_loaded = 0.0

    # -- layout -----------------------------------------------------------------------

    @property
    def has_store(self) -> bool:
        """True when there is a store to browse."""
        return self.context.store.store is not None

    def compose(self) -> ComposeResult:
        """Header, the two tabs, the status bar and the footer."""
        unavailable = self.context.store.unavailable
        yield Header(icon="◆")
        with TabbedContent(initial=PROPERTIES_TAB, id="property-tabs"):
            with TabPane("Properties", id=PROPERTIES_TAB):
                if unavailable is not None:
                    yield Static(unavailable, id="property-unavailable", markup=False)
                else:
                    store = self.context.store.store
                    assert store is not None
                    with Horizontal(id="property-filter-bar"):
                        yield Input(placeholder=FILTER_HINT, id="property-filter")
                        yield Static(id="property-counts", markup=False)
                    with Horizontal(id="property-main"):
                        yield PropertyTree(store, self.context.mib_names, id="property-tree")
                        yield PropertyDetail(self.context.clock, id="property-detail")
            with TabPane("Audit", id=AUDIT_TAB):
                if unavailable is not None:
                    yield Static(unavailable, id="audit-unavailable", markup=False)
                else:
                    with Vertical():
                        yield Static(id="audit-counts", markup=False)
                        yield AuditTable(self.context.clock, id="audit")
        yield self.context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Subscribe to the live values, load the devices and the first audit page."""
        if not self.has_store:
            return
        self._subscriptions = [
            self.context.bus.subscribe(
                pattern,
                self._on_live,
                policy=Policy.DROP_OLDEST,
                batch_duration=LIVE_FRAME,
                name=f"ui.properties.{'/'.join(pattern)}",
            )
            for pattern in LIVE_PATTERNS
        ]
        self.query_one(PropertyTree).focus()
        self._filter("", 0.0)
        self._load_audit()

    def on_unmount(self) -> None:
        """Stop the live values."""
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        self._subscriptions.clear()

    # -- FleetScreen ------------------------------------------------------------------

    def show_all(self) -> None:
        """Catch up: the audit log if entries were recorded meanwhile, the live values
        of the loaded leaves, the detail."""
        if not self.has_store:
            return
        if self.context.state.audit_seq != self._audit_seen:
            self._load_audit()
        pending, self._pending = self._pending, {}
        if pending:
            self._apply_live(pending)
        if not self.query_one(PropertyTree).root.children:
            self._filter(self.query_one("#property-filter", Input).value, 0.0)

    def show_changes(self, changes: Changes) -> None:
        """Reload the audit page when an operator action was recorded."""
        if changes.audit and self.has_store:
            self._load_audit()

    def on_screen_resume(self) -> None:
        """Catch up every time the screen shows again (it is kept while hidden)."""
        self._stale = False
        with self.app.batch_update():
            self.show_all()
            self.query_one(StatusBar).refresh_counts()

    # -- live values ------------------------------------------------------------------

    def _on_live(self, events: list[Event]) -> None:
        """A batch of read events (the bus's task): fold them into the history and
        hand the newest values to the screen."""
        latest = self.history.fold(events)
        if latest:
            self.post_message(self.LiveValues(latest))

    def on_properties_screen_live_values(self, message: LiveValues) -> None:
        """Update the loaded leaves (and the detail) in place; while hidden, keep
        only the values of loaded leaves for later."""
        if not self.has_store:
            return
        tree = self.query_one(PropertyTree)
        if not is_showing(self):
            for key, live in message.values.items():
                if tree.leaf(key) is not None:
                    self._pending[key] = live
            return
        if not tree.root.children and self.filter_shown == "":
            # the first values of a store that was empty: show them (at most once a
            # second, never over a load already running)
            now = time.monotonic()
            if not self._loading and now - self._auto_loaded >= AUTO_RELOAD_SECONDS:
                self._auto_loaded = now
                self._filter("", 0.0)
            return
        self._apply_live(message.values)

    def _apply_live(self, values: dict[PropertyKey, LiveValue]) -> None:
        tree = self.query_one(PropertyTree)
        updated = tree.update_live(values)
        selected = tree.highlighted_property
        if selected is not None and (selected.device, selected.interface, selected.path) in updated:
            self._show_detail(selected)

    # -- the tree and the detail ---------------------------------------------------------

    @on(Input.Changed, "#property-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter(event.value, self.filter_delay)

    @on(Input.Submitted, "#property-filter")
    def _filter_submitted(self) -> None:
        self.query_one(PropertyTree).focus()

    @work(exclusive=True, group="property-filter", exit_on_error=False, description="filter")
    async def _filter(self, text: str, delay: float) -> None:
        """Wait ``delay`` (a newer keystroke cancels this worker), then rebuild the
        tree for ``text`` and show the counts."""
        if delay > 0:
            await asyncio.sleep(delay)
        tree = self.query_one(PropertyTree)
        selected = tree.highlighted_property
        self._loading = True
        try:
            shown, total = await tree.load(text.strip() or None)
        except ValueError as exc:
            self.filter_error = str(exc)
            self._show_counts()
            return
        finally:
            self._loading = False
        self.filter_error = None
        self.shown, self.total, self.filter_shown = shown, total, text.strip()
        self.tree_updated_at = time.perf_counter()
        if selected is not None:
            self._restore = (selected.device, selected.interface, selected.path)
        self._show_counts()

    def _show_counts(self) -> None:
        counts = self.query_one("#property-counts", Static)
        if self.filter_error is not None:
            counts.update(
                Content.from_markup("[$error]bad filter: $error[/]", error=self.filter_error)
            )
            return
        counts.update(
            Content.from_markup(
                "[b]$shown[/] / $total properties",
                shown=format_count(self.shown),
                total=format_count(self.total),
            )
        )

    def on_property_tree_property_highlighted(
        self, message: PropertyTree.PropertyHighlighted
    ) -> None:
        """Show the property under the cursor."""
        self._show_detail(message.prop)

    def on_property_tree_loaded(self, message: PropertyTree.Loaded) -> None:
        """Put the cursor back on the property it was on before a reload."""
        if self._restore is None:
            return
        tree = self.query_one(PropertyTree)
        leaf = tree.leaf(self._restore)
        if leaf is not None:
            self._restore = None
            tree.move_cursor(leaf)

    def _show_detail(self, prop: Property | None) -> None:
        detail = self.query_one(PropertyDetail)
        if prop is None:
            detail.show(None)
            return
        key = (prop.device, prop.interface, prop.path)
        history = self.history.values(key)
        current = numeric(prop.value)
        if current is not None and (not history or history[-1] != current):
            history = [*history, current]
        name = None
        if prop.interface == SNMP_INTERFACE:
            oid = prop.path[1:]
            name = self.context.mib_names.get(oid)
            if name is None:
                self._name_worker.request([oid])
        detail.show(prop, history=history, mib_name=name)

    def _names_resolved(self, _names: dict[str, str | None]) -> None:
        if self.has_store:
            self._show_detail(self.query_one(PropertyTree).highlighted_property)

    def _selected(self) -> Property | None:
        prop = self.query_one(PropertyTree).highlighted_property if self.has_store else None
        if prop is None:
            self.context.operator.notify("no property selected", severity="warning")
        return prop

    # -- the audit tab ------------------------------------------------------------------

    @work(exclusive=True, group="audit", exit_on_error=False, description="load the audit log")
    async def _load_audit(self, offset: int = 0) -> None:
        """Load a page of entries (from ``offset``; 0: the newest, also after a new
        entry) and the total."""
        recorder = self.context.store.audit
        if recorder is None:
            return
        seen = self.context.state.audit_seq
        entries = await recorder.log.query_audit(limit=self._audit_page, offset=offset)
        total = await recorder.log.count_audit()
        table = self.query_one(AuditTable)
        table.add_entries(entries)
        self._audit_seen = seen
        self.audit_total = total
        self.audit_loads += 1
        self.query_one("#audit-counts", Static).update(
            Content.from_markup(
                "[b]$shown[/] of $total entries, newest first",
                shown=format_count(table.row_count),
                total=format_count(total),
            )
        )

    @on(DataTable.RowHighlighted, "#audit")
    def _audit_row(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(AuditTable)
        if event.cursor_row == table.row_count - 1 and table.row_count < self.audit_total:
            self._load_audit(table.row_count)

    # -- actions ------------------------------------------------------------------------

    @property
    def on_audit_tab(self) -> bool:
        """True when the Audit tab is showing."""
        return self.query_one(TabbedContent).active == AUDIT_TAB

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The tree's keys only on the Properties tab, and only with a store."""
        if action in _TREE_ACTIONS:
            return self.has_store and not self.on_audit_tab
        return action != "export" or self.has_store

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()
        if self.has_store:
            target = AuditTable if self.on_audit_tab else PropertyTree
            self.query_one(target).focus()

    def action_switch_tab(self) -> None:
        """Show the other tab."""
        tabs = self.query_one(TabbedContent)
        tabs.active = PROPERTIES_TAB if tabs.active == AUDIT_TAB else AUDIT_TAB

    def action_back(self) -> None:
        """From the filter, back to the tree; else back to the previous screen."""
        focused = self.focused
        if isinstance(focused, Input) and self.has_store:
            self.query_one(PropertyTree).focus()
            return
        self.dismiss()

    def action_filter(self) -> None:
        """Type a filter."""
        self.query_one("#property-filter", Input).focus()

    def action_reload(self) -> None:
        """Load the tree again from the store, keeping what was expanded."""
        self._filter(self.query_one("#property-filter", Input).value, 0.0)

    def action_refresh(self) -> None:
        """Read the selected property again from its device (SNMP GET)."""
        prop = self._selected()
        if prop is None:
            return
        if PropertyDetail.is_snmp(prop):
            self.context.operator.read(prop.device, prop.path[1:])
        else:
            self.context.operator.notify(
                "refresh reads SNMP values from their device; MQTT properties update when"
                " their device publishes them"
            )

    @work(exclusive=True, group="dialog", exit_on_error=False, description="set a property")
    async def action_set(self) -> None:
        """Set the selected property: for an SNMP value the write dialog, the
        confirmation, then the SET; for an MQTT property the MQTT set dialog (checked
        against its interface mapping; server-owned interfaces only), then the set."""
        operator = self.context.operator
        if not operator.may_write():
            return
        prop = self._selected()
        if prop is None:
            return
        if PropertyDetail.is_snmp(prop):
            await operator.ask_write(prop.device, prop.path[1:])
        elif operator.mqtt is not None:  # checked against the mapping, server-owned only
            await operator.mqtt.ask_set((prop.device, f"{prop.interface}{prop.path}"))

    @work(exclusive=True, group="dialog", exit_on_error=False, description="unset a property")
    async def action_unset(self) -> None:
        """Unset the selected property (MQTT properties with allow_unset only), after
        a confirmation."""
        operator = self.context.operator
        if not operator.may_write():
            return
        prop = self._selected()
        if prop is None:
            return
        if PropertyDetail.is_snmp(prop):
            operator.notify("unset applies to MQTT properties with allow_unset", severity="warning")
        elif operator.mqtt is not None:
            await operator.mqtt.ask_unset((prop.device, f"{prop.interface}{prop.path}"))

    @work(exclusive=True, group="dialog", exit_on_error=False, description="delete a property")
    async def action_delete(self) -> None:
        """Delete the selected entry from the store (after a confirmation), and
        record it in the audit log."""
        operator = self.context.operator
        if not operator.may_write():
            return
        prop = self._selected()
        access = self.context.store
        if prop is None or access.store is None:
            return
        body = Content.from_markup(
            "device     [b]$device[/]\ninterface  $interface v$version\npath       [b]$path[/]\n"
            "value      $value\n\n[$text-muted]Only the stored entry goes; the device is not"
            " changed (a polled value comes back when it changes).[/]",
            device=prop.device,
            interface=prop.interface,
            version=f"{prop.major}.{prop.minor}",
            path=prop.path,
            value=display_value(prop, width=60),
        )
        confirm = ConfirmScreen(f"Delete from the store on {prop.device}?", body, confirm="Delete")
        if not await self.app.push_screen_wait(confirm):
            operator.notify("delete cancelled: nothing was changed")
            return
        await access.store.delete_prop(prop.device, prop.interface, prop.path)
        if access.audit is not None:
            await access.audit.record(
                AuditAction.STORE_DELETE,
                prop.device,
                f"{prop.interface}{prop.path}",
                old=audit_value(prop),
                new=None,
            )
        await access.store.flush()
        key = (prop.device, prop.interface, prop.path)
        if self.query_one(PropertyTree).remove_property(key):
            self.shown = max(0, self.shown - 1)
            self.total = max(0, self.total - 1)
            self._show_counts()
        operator.notify(f"{prop.device} {prop.interface}{prop.path} deleted from the store")

    @work(exclusive=True, group="dialog", exit_on_error=False, description="export")
    async def action_export(self) -> None:
        """Export the filtered properties (or, on the Audit tab, the audit log) to a
        JSON Lines or CSV file."""
        access = self.context.store
        operator = self.context.operator
        if access.store is None:
            return
        stamp = self.context.clock.stamp()
        if self.on_audit_tab:
            if access.audit is None:
                return
            title = f"Export the audit log ({format_count(self.audit_total)} entries)"
            choice = await self.app.push_screen_wait(
                ExportScreen(title, default_export_name("audit", stamp))
            )
            if choice is None:
                return
            count = await access.audit.log.export(choice.path, format=choice.format)
            operator.notify(f"{format_count(count)} audit entries written to {choice.path}")
            return
        text = self.filter_shown or None
        what = f"matching {text!r}" if text else "(all)"
        title = f"Export {format_count(self.shown)} properties {what}"
        choice = await self.app.push_screen_wait(
            ExportScreen(title, default_export_name("properties", stamp))
        )
        if choice is None:
            return
        count = await export_properties(
            access.store, choice.path, format=choice.format, path_filter=text
        )
        operator.notify(f"{format_count(count)} properties written to {choice.path}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place this screen's failures are told (a store error, a file that
        cannot be written)."""
        if event.state is WorkerState.ERROR:
            worker = event.worker
            self.notify(
                f"{worker.description} failed: {worker.error}", severity="error", markup=False
            )
