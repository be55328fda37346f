"""The table screen: one SNMP table of one device as a live grid, like ``snmptable``.

Rows by index, columns by MIB column name, the index objects decoded from the
instance OID, tables sharing the index (AUGMENTS: ifTable + ifXTable) joined; the
built-in Interfaces view (``i`` on the Devices and OIDs screens) shows what a
network operator opens first. Every ``snmp.table_refresh`` seconds (default 5) the
columns shown -- and only those -- are read again with GETBULK
(:meth:`console.snmp.manager.SnmpDevice.fetch_columns`), in one worker of the screen,
and folded into the grid (:class:`console.tables.grid.TableGrid`): counters become
per-second rates between two refreshes, cells update in place. ``<`` and ``>``
choose the sort column (or click a header), ``s`` reverses the order, ``x`` hides
the sort column (it is no longer read) and ``X`` shows every column again, ``t``
shows counters as totals instead of rates, ``r`` refreshes now, escape goes back.

Open it from anywhere with :func:`open_table` (the walk screen of a table column
can call it with the column's OID).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from console.format import format_count, format_duration
from console.tables.grid import TableGrid
from console.tables.schema import (
    IF_X_TABLE,
    TableSchema,
    builtin_schema,
    describe,
    table_schema,
)
from console.tables.views import INTERFACES, TableView, generic_view, interfaces_view
from screens.base import ScreenContext
from widgets.showing import is_showing
from widgets.table_grid import GridTable

if TYPE_CHECKING:
    from console.snmp.table import TableFetch

__all__ = [
    "DEFAULT_REFRESH",
    "IF_TABLE_OID",
    "INTERFACES_BINDING",
    "TABLE_BINDING",
    "TableBackend",
    "TableScreen",
    "open_table",
]

IF_TABLE_OID = "1.3.6.1.2.1.2.2"
"""``IF-MIB::ifTable``: the table of the Interfaces view."""
DEFAULT_REFRESH = 5.0
"""Seconds between refreshes when the device has no ``snmp.table_refresh``."""
TABLE_GROUP = "table"

INTERFACES_BINDING = Binding(
    "i", "interfaces", "Interfaces", id="snmp.interfaces", tooltip="The device's interfaces"
)
TABLE_BINDING = Binding(
    "t", "table", "Table", id="snmp.table", tooltip="The selected OID's table as a grid"
)


@runtime_checkable
class TableBackend(Protocol):
    """What the table screen uses of :class:`console.snmp.manager.SnmpDevice`."""

    async def fetch_columns(
        self, columns: Sequence[tuple[int, ...]], *, max_varbinds: int = ...
    ) -> TableFetch:
        """Every instance of ``columns`` (GETBULK)."""
        ...


def open_table(
    app: App[Any], context: ScreenContext, device: str, table_oid: str | None = None
) -> TableScreen | None:
    """Push the table screen of ``device``: the table that ``table_oid`` (a table,
    entry, column or instance OID) is part of, or the Interfaces view when
    ``table_oid`` is ``None``.

    Returns:
        The screen pushed; ``None`` when ``device`` has no SNMP backend (the
        operator is told so, nothing is pushed).
    """
    if context.operator.backend(device) is None:
        return None
    screen = TableScreen(context, device, table_oid)
    app.push_screen(screen)
    return screen


class TableScreen(Screen[None]):
    """One table of one device, refreshed in place.

    Args:
        context: the screen context (operator, MIB names, clock, status bar).
        device: the device read.
        table_oid: any OID of the table (table, entry, column, instance); ``None``
            for the Interfaces view.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "less_than_sign",
            "sort_move(-1)",
            "Sort ←",
            key_display="<",
            id="table.sort_left",
            tooltip="Sort by the column to the left",
        ),
        Binding(
            "greater_than_sign",
            "sort_move(1)",
            "Sort →",
            key_display=">",
            id="table.sort_right",
            tooltip="Sort by the column to the right",
        ),
        Binding("s", "reverse", "Reverse", id="table.reverse", tooltip="Reverse the sort order"),
        Binding(
            "t",
            "totals",
            "Totals/rates",
            id="table.totals",
            tooltip="Show counters as totals or as per-second rates",
        ),
        Binding("r", "refresh_now", "Refresh", id="table.refresh", tooltip="Read the table now"),
        Binding(
            "x",
            "hide_column",
            "Hide column",
            id="table.hide",
            tooltip="Hide the sort column (no longer read)",
        ),
        Binding(
            "X", "show_columns", "All columns", id="table.show_all", tooltip="Show every column"
        ),
    ]

    def __init__(self, context: ScreenContext, device: str, table_oid: str | None = None) -> None:
        super().__init__()
        self.context = context
        self.device = device
        self.table_oid = table_oid
        self.grid: TableGrid | None = None
        """The grid, once the table's schema is known."""
        self.state = "opening"
        """``opening``, ``refreshing``, ``live``, or ``failed: REASON``."""
        self.refreshes = 0
        """Fetches folded in."""
        self.last_fetch: TableFetch | None = None
        self.error: str | None = None
        """The last refresh's failure, or ``None``."""
        self.interval = DEFAULT_REFRESH
        for config in context.devices:
            if config.name == device and config.snmp is not None:
                self.interval = float(getattr(config.snmp, "table_refresh", DEFAULT_REFRESH))
        self._wake = asyncio.Event()
        self.hidden: set[str] = set()
        """View column keys the operator hid (``x``): not shown, not read."""
        self._full_view: TableView | None = None
        self.title = "fleettop"
        what = "interfaces" if table_oid is None else "table"
        self.sub_title = f"{what} · {device}"

    def compose(self) -> ComposeResult:
        """Header, the info line, the grid, the status bar and the footer."""
        yield Header(icon="◆")
        yield Static(id="table-info", markup=False)
        yield GridTable(id="table-grid")
        yield self.context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Read the schema, then refresh until the screen closes."""
        self._show_info()
        self.run_worker(
            self._run(),
            group=TABLE_GROUP,
            exclusive=True,
            exit_on_error=False,
            description=f"table {self.device} {self.table_oid or INTERFACES}",
        )

    def on_screen_resume(self) -> None:
        """Show what was fetched while the screen was hidden."""
        if self.grid is not None:
            with self.app.batch_update():
                self.table.show(self.grid)
                self._show_info()

    @property
    def table(self) -> GridTable:
        """The grid widget."""
        return self.query_one(GridTable)

    # -- the worker ----------------------------------------------------------------

    async def _schema(self) -> TableSchema | None:
        if self.table_oid is None:
            # the Interfaces view reads IF-MIB's columns by name: the built-in schema
            # (tests check it against IF-MIB's compiled source) needs no MIB loaded,
            # so the view opens at once even while MIBs compile
            return builtin_schema(IF_TABLE_OID)
        oid = self.table_oid

        def read(source: object | None) -> TableSchema | None:
            return table_schema(getattr(source, "mib_builder", None), oid)

        return await asyncio.to_thread(self.context.mib_names.with_source, read)

    def _view(self, schema: TableSchema, *, high_capacity: bool = True) -> TableView:
        if self.table_oid is None:
            return interfaces_view(schema, high_capacity=high_capacity)
        return generic_view(schema)

    async def _run(self) -> None:
        backend = self.context.operator.backend(self.device)
        if backend is None or not isinstance(backend, TableBackend):
            self._fail("this device cannot read tables (no SNMP backend)")
            return
        try:
            schema = await self._schema()
        except ValueError as exc:
            self._fail(str(exc))
            return
        if schema is None:
            self._fail(
                f"{self.table_oid}: no loaded MIB defines a table there"
                " (a table's MIB goes in mib_paths)"
            )
            return
        config = next((d for d in self.context.devices if d.name == self.device), None)
        v1 = config is not None and config.snmp is not None and config.snmp.version == "V1"
        self._full_view = self._view(schema, high_capacity=not v1)
        grid = TableGrid(self._full_view)
        self.grid = grid
        self.table.configure(grid.view)
        while True:
            self.state = "refreshing"
            self._show_info()
            try:
                fetch = await self._fetch(backend, grid, schema)
            except Exception as exc:  # SnmpError: operator-readable, no secret
                self.error = str(exc)
            else:
                self.error = None
                # rates over the fetches' own (monotonic) times, not the display clock
                changes = grid.update(fetch.columns, asyncio.get_running_loop().time())
                self.last_fetch = fetch
                self.refreshes += 1
                if is_showing(self):
                    with self.app.batch_update():
                        self.table.show(grid, changes)
            self.state = "live"
            self._show_info()
            self._wake.clear()
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _fetch(
        self, backend: TableBackend, grid: TableGrid, schema: TableSchema
    ) -> TableFetch:
        """Read the columns shown; an Interfaces view whose agent has no 64-bit
        counters (no ifXTable) falls back on ifTable's 32-bit ones at once."""
        if not grid.view.polled:
            if self.hidden:
                raise ValueError("no column to read: every column is hidden (X shows them)")
            raise ValueError("the table has no readable column besides its index")
        fetch = await backend.fetch_columns([c.oid for c in grid.view.polled])
        if self.refreshes == 0 and self._without_x_table(grid, fetch):
            self._full_view = self._view(schema, high_capacity=False)
            grid.set_view(self._full_view.without(self.hidden))
            self.table.configure(grid.view)
            fetch = await backend.fetch_columns([c.oid for c in grid.view.polled])
        elif self.refreshes == 0 and schema.joined and self.table_oid is not None:
            # a joined table the agent does not have (IF-MIB's ifTestTable): its
            # columns, empty in every row, are hidden and no longer read (X shows them)
            empty = {
                c.name
                for c in grid.view.polled
                if c.table != schema.name and not fetch.columns.get(c.oid)
            }
            if empty:
                self.hidden |= empty
                grid.set_view(grid.view.without(empty))
                self.table.configure(grid.view)
        return fetch

    def _without_x_table(self, grid: TableGrid, fetch: TableFetch) -> bool:
        if grid.view.name != INTERFACES:
            return False
        x_columns = [c for c in grid.view.polled if c.oid[: len(IF_X_TABLE)] == IF_X_TABLE]
        high = [c for c in x_columns if c.name in ("ifHCInOctets", "ifHCOutOctets")]
        return bool(high) and all(not fetch.columns.get(c.oid) for c in high)

    def _fail(self, reason: str) -> None:
        self.state = f"failed: {reason}"
        self._show_info()
        self.context.operator.notify(f"{self.device}: {reason}", severity="error")

    def _show_info(self) -> None:
        if not self.is_mounted:
            return
        grid = self.grid
        what = describe(grid.view.schema) if grid is not None else (self.table_oid or "interfaces")
        state = self.state
        style = "$success" if state == "live" else "$accent"
        if state.startswith("failed") or self.error:
            style = "$error"
        fetch = self.last_fetch
        fetched = "not read yet"
        if fetch is not None:
            fetched = (
                f"{format_count(fetch.varbinds)} values in {fetch.requests} requests,"
                f" {fetch.seconds:.2f} s"
            )
            if not fetch.complete:
                fetched += " (stopped at the limit: the first values only)"
        sort = self.table.sort_column
        order = "OID order"
        if sort is not None and grid is not None:
            title = next((c.title for c in grid.view.columns if c.key == sort), sort)
            order = f"sorted by {title} {'↓' if self.table.reverse else '↑'}"
        self.query_one("#table-info", Static).update(
            Content.from_markup(
                f"[b {style}]$state[/]  [b]$device[/]  $what  [$text-muted]│[/] $rows rows"
                "  [$text-muted]│[/] $fetched  [$text-muted]│[/] every $every  "
                "[$text-muted]│[/] $order$mode$error",
                state=state if not self.error else "failed",
                device=self.device,
                what=what,
                rows=format_count(len(grid.rows)) if grid is not None else "0",
                fetched=fetched,
                every=format_duration(self.interval),
                order=order,
                mode="  [totals]" if grid is not None and grid.totals else "",
                error=f"\n{self.error}" if self.error else "",
            )
        )

    # -- actions ---------------------------------------------------------------------

    def action_back(self) -> None:
        """Close the screen (its refresh worker stops with it)."""
        self.dismiss()

    def action_sort_move(self, step: int) -> None:
        """Sort by the column ``step`` places from the current sort column."""
        keys = self.table.column_keys()
        if not keys:
            return
        current = self.table.sort_column
        position = keys.index(current) if current in keys else (-1 if step > 0 else len(keys))
        position = (position + step) % len(keys)
        self.table.sort_by(keys[position], self.table.reverse)
        self._show_info()

    def action_reverse(self) -> None:
        """Reverse the sort order."""
        self.table.sort_by(self.table.sort_column, not self.table.reverse)
        self._show_info()

    def action_totals(self) -> None:
        """Show counters as totals, or as per-second rates again."""
        grid = self.grid
        if grid is None:
            return
        grid.totals = not grid.totals
        grid.recompute()
        with self.app.batch_update():
            self.table.show(grid)
        self._show_info()

    def action_refresh_now(self) -> None:
        """Read the table now instead of at the next interval."""
        self._wake.set()

    def action_hide_column(self) -> None:
        """Hide the sort column (choose it with < and >): it is no longer read."""
        column = self.table.sort_column
        if column is None:
            self.context.operator.notify("choose a column with < or > first", severity="warning")
            return
        self._set_hidden(self.hidden | {column})

    def action_show_columns(self) -> None:
        """Show every column again (read from the next refresh)."""
        self._set_hidden(set())

    def _set_hidden(self, hidden: set[str]) -> None:
        grid, full = self.grid, self._full_view
        if grid is None or full is None or hidden == self.hidden:
            return
        if len(hidden) >= len(full.columns):
            self.context.operator.notify("the last column stays", severity="warning")
            return
        self.hidden = hidden
        grid.set_view(full.without(hidden))
        if self.table.sort_column in hidden:
            self.table.sort_column = None
        with self.app.batch_update():
            self.table.show(grid)
        self._show_info()
        self._wake.set()  # read the columns now shown

    def on_data_table_header_selected(self, message: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column (again: reverses)."""
        key = message.column_key.value
        if key == self.table.sort_column:
            self.table.sort_by(key, not self.table.reverse)
        else:
            self.table.sort_by(key, False)
        self._show_info()
