"""The Properties screen: the property store as a tree, one property in detail, and
the audit log of operator actions.

Tab **Properties**: a :class:`~widgets.property_tree.PropertyTree` (device →
interface with its major.minor version → path, loaded lazily from the store in
workers), the filter (``/``: a substring, or an MQTT-style pattern with ``+``/``#``
on paths, applied as you type after :data:`FILTER_DELAY` in an exclusive worker,
with the ``shown/total`` counts), and the detail panel of the property under the
cursor (value, type, ownership, source, update time, and a sparkline of its recent
values when they are numbers): a :class:`~widgets.property_pane.PropertyPane`.
Recent values come the one way everything comes: bus → bridge → fleet state →
screen. Once the screen exists the bridge follows the live values
(:meth:`~console.bridge.Bridge.follow_live`), the fleet state keeps their history
(:class:`~console.history.ValueHistory`, bounded) and hands the newest ones in
``Changes.live``; they update the loaded leaves in place.

The operator's keys act on the property under the cursor: ``r`` reads it again
from its device (SNMP GET), ``w`` sets it (the SNMP write dialog and its
confirmation), ``u`` unsets it (MQTT properties, later), ``d`` deletes the stored
entry (confirmed, and recorded in the audit log as ``store.delete``), ``e`` exports
the filtered properties to JSON Lines or CSV. Read-only mode refuses ``w``, ``u``
and ``d``.

Tab **Audit**: an :class:`~widgets.audit_pane.AuditPane`, every recorded operator
action, newest first, a page at a time (more load when the cursor reaches the last
row), reloaded when an
``("audit", DEVICE, ACTION)`` event arrives through the bridge; ``e`` exports it.

Without a store (disabled, or it could not be opened) both tabs say why.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from console.events import JsonValue
from console.fleet import Changes
from console.format import format_count
from console.history import ValueHistory
from console.store import AuditAction, Property
from console.store.browse import display_value, export_properties, json_value
from console.store.snmp import data_from_property
from screens.base import FleetScreen, ScreenContext
from screens.confirm import ConfirmScreen
from screens.export import ExportScreen, default_export_name
from widgets.audit_pane import AUDIT_PAGE, AuditPane
from widgets.audit_table import AuditTable
from widgets.property_detail import PropertyDetail
from widgets.property_pane import FILTER_DELAY, PropertyPane
from widgets.property_tree import PropertyTree
from widgets.showing import is_showing

__all__ = [
    "AUDIT_PAGE",
    "AUDIT_TAB",
    "FILTER_DELAY",
    "PROPERTIES_TAB",
    "PropertiesScreen",
    "audit_value",
]

PROPERTIES_TAB = "tab-properties"
AUDIT_TAB = "tab-audit"

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

    CATCH_UP_ON_RESUME = True

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
        self._filter_delay = filter_delay
        self._audit_page = audit_page

    # -- layout -----------------------------------------------------------------------

    @property
    def has_store(self) -> bool:
        """True when there is a store to browse."""
        return self.context.store.store is not None

    @property
    def history(self) -> ValueHistory:
        """Recent numeric values per property (the fleet state's)."""
        return self.context.state.history

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
                    yield PropertyPane(
                        store,
                        self.context.mib_names,
                        self.context.clock,
                        self.history,
                        filter_delay=self._filter_delay,
                        id="property-pane",
                    )
            with TabPane("Audit", id=AUDIT_TAB):
                if unavailable is not None:
                    yield Static(unavailable, id="audit-unavailable", markup=False)
                else:
                    yield AuditPane(
                        self.context.store.audit,
                        self.context.clock,
                        page=self._audit_page,
                        id="audit-pane",
                    )
        yield self.context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Load the devices and the first audit page."""
        if not self.has_store:
            return
        self.query_one(PropertyPane).start()
        self._load_audit()

    # -- what the panes show, for tests and benchmarks ----------------------------------
    # Facade properties: each delegates to its pane (0 / None with no store), so tests
    # and benchmarks read the screen, not the layout; the repetition is the facade.

    @property
    def filter_delay(self) -> float:
        """Seconds between the last keystroke and the query."""
        return self.query_one(PropertyPane).filter_delay if self.has_store else 0.0

    @filter_delay.setter
    def filter_delay(self, seconds: float) -> None:
        self._filter_delay = seconds
        if self.has_store:
            self.query_one(PropertyPane).filter_delay = seconds

    @property
    def shown(self) -> int:
        """Properties matching the filter, at the last load."""
        return self.query_one(PropertyPane).shown if self.has_store else 0

    @property
    def total(self) -> int:
        """Properties in the store, at the last load."""
        return self.query_one(PropertyPane).total if self.has_store else 0

    @property
    def filter_shown(self) -> str | None:
        """The filter text of the tree shown (``None`` before the first load)."""
        return self.query_one(PropertyPane).filter_shown if self.has_store else None

    @property
    def filter_error(self) -> str | None:
        """Why the last filter was refused (a malformed pattern), or ``None``."""
        return self.query_one(PropertyPane).filter_error if self.has_store else None

    @property
    def tree_updated_at(self) -> float:
        """``time.perf_counter()`` when the tree was last rebuilt (benchmarks)."""
        return self.query_one(PropertyPane).tree_updated_at if self.has_store else 0.0

    @property
    def audit_total(self) -> int:
        """Entries in the audit log, at the last load."""
        return self.query_one(AuditPane).total if self.has_store else 0

    @property
    def audit_loads(self) -> int:
        """Completed loads of the audit table."""
        return self.query_one(AuditPane).loads if self.has_store else 0

    # -- FleetScreen ------------------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        """As for every fleet screen; while hidden, the live values of loaded leaves
        are kept for later."""
        if changes.live and self.has_store and self.is_mounted and not is_showing(self):
            self.query_one(PropertyPane).hold(changes.live)
        super().apply_changes(changes)

    def show_all(self) -> None:
        """Catch up: the audit log if entries were recorded meanwhile, the live values
        of the loaded leaves, the detail."""
        if not self.has_store:
            return
        if self.context.state.audit_seq != self.query_one(AuditPane).seen:
            self._load_audit()
        self.query_one(PropertyPane).catch_up()

    def show_changes(self, changes: Changes) -> None:
        """Reload the audit page when an operator action was recorded; show the live
        values."""
        if not self.has_store:
            return
        if changes.audit:
            self._load_audit()
        if changes.live:
            self.query_one(PropertyPane).show_live(changes.live)

    def _load_audit(self) -> None:
        self.query_one(AuditPane).load(0, self.context.state.audit_seq)

    def _selected(self) -> Property | None:
        prop = self.query_one(PropertyPane).selected if self.has_store else None
        if prop is None:
            self.context.operator.notify("no property selected", severity="warning")
        return prop

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
        self.query_one(PropertyPane).focus_filter()

    def action_reload(self) -> None:
        """Load the tree again from the store, keeping what was expanded."""
        self.query_one(PropertyPane).reload()

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
        elif self.context.mqtt is not None:  # checked against the mapping, server-owned only
            await self.context.mqtt.ask_set((prop.device, f"{prop.interface}{prop.path}"))

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
        elif self.context.mqtt is not None:
            await self.context.mqtt.ask_unset((prop.device, f"{prop.interface}{prop.path}"))

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
            value=display_value(prop, width=60, mib=self.context.mib_names.display),
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
        self.query_one(PropertyPane).removed((prop.device, prop.interface, prop.path))
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
        shown = self.filter_shown or None
        text = self.query_one(PropertyPane).path_filter
        what = f"matching {shown!r}" if shown else "(all)"
        title = f"Export {format_count(self.shown)} properties {what}"
        choice = await self.app.push_screen_wait(
            ExportScreen(title, default_export_name("properties", stamp))
        )
        if choice is None:
            return
        count = await export_properties(
            access.store,
            choice.path,
            format=choice.format,
            path_filter=text,
            mib=self.context.mib_names.display,
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
