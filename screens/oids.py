"""The OIDs screen: live values of one device, or of every device."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, Static

from console.format import Clock, format_count, format_value
from console.state import Changes, ValueState
from screens.base import FleetScreen, ScreenContext
from widgets.value_table import ValueTable

__all__ = ["OidsScreen", "value_detail"]

DETAIL_WIDTH = 400
"""The detail line shows values up to this many characters (the table cuts them shorter)."""


def value_detail(value: ValueState, mib_name: str | None, clock: Clock) -> Content:
    """Return the detail line of one value: where it comes from and its whole text."""
    return Content.from_markup(
        "[b]$device[/]  $oid  [$accent]$name[/]  $type  first seen $first"
        "  changed $changed ($changes changes)\n$value",
        device=value.device,
        oid=value.oid,
        name=mib_name or "",
        type=value.data_type,
        first=clock.time_of_day(value.first_seen),
        changed=clock.time_of_day(value.last_change),
        changes=format_count(value.changes),
        value=format_value(value.data_type, value.value, width=DETAIL_WIDTH),
    )


class OidsScreen(FleetScreen):
    """Latest value of every polled OID, updated in place; escape goes back.

    Args:
        context: the screen context.
        device: the device shown, or ``None`` for every device.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
    ]

    def __init__(self, context: ScreenContext, device: str | None) -> None:
        super().__init__(context)
        self.device = device
        """The device shown, or ``None`` for every device."""
        self.title = "fleettop"
        self.sub_title = f"OIDs · {device}" if device is not None else "OIDs · all devices"

    def compose(self) -> ComposeResult:
        """Header, the value table, the detail line, the status bar and the footer."""
        context = self.context
        yield Header(icon="◆")
        yield ValueTable(self.device, context.clock, context.mib_names, id="values")
        yield Static(id="value-detail", classes="detail", markup=False)
        yield context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Show the current values (the snapshot the bridge folded in)."""
        self.show_all()

    def show_all(self) -> None:
        """Bring every row and the detail line up to date."""
        self.query_one(ValueTable).show(self.context.state.values(self.device))
        self._show_detail()

    def show_changes(self, changes: Changes) -> None:
        """Update the rows of the values that changed."""
        state = self.context.state
        keys = [k for k in changes.values if self.device is None or k[0] == self.device]
        if not keys:
            return
        table = self.query_one(ValueTable)
        table.show(value for key in keys if (value := state.value(key)) is not None)
        if table.highlighted_key in keys:
            self._show_detail()

    def _show_detail(self) -> None:
        key = self.query_one(ValueTable).highlighted_key
        detail = self.query_one("#value-detail", Static)
        value = self.context.state.value(key) if key is not None else None
        if value is None:
            detail.update("")
            return
        name = self.context.mib_names.get(value.oid)
        detail.update(value_detail(value, name, self.context.clock))

    def on_value_table_value_highlighted(self, message: ValueTable.ValueHighlighted) -> None:
        """Show the details of the highlighted value."""
        self._show_detail()

    def on_value_table_names_resolved(self, message: ValueTable.NamesResolved) -> None:
        """Show the MIB name in the detail line once it is known."""
        self._show_detail()

    def action_back(self) -> None:
        """Go back to the previous screen."""
        self.dismiss()
