"""The OIDs screen: live values of one device, or of every device."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Footer, Header, Static

from console.fleet import COUNTER_MODULI, MQTT, Changes, ValueKey, ValueState
from console.fleet.series import charted
from console.format import Clock, format_count, format_counter_rate, format_value
from screens.base import FleetScreen, ScreenContext
from screens.controllers.mqtt import PUBLISH, SET_NEW, UNSET
from screens.controllers.snmp import GET, POLL_ADD, POLL_REMOVE, READ, WALK, WRITE
from screens.mqtt_values import mqtt_value_detail
from screens.snmp_chart import SnmpChartScreen
from screens.table import INTERFACES_BINDING, TABLE_BINDING, open_table
from screens.walk import SYSTEM_GROUP, WalkScreen, walk_root
from widgets.value_table import ValueTable

__all__ = ["OidsScreen", "value_detail"]

DETAIL_WIDTH = 400
"""The detail line shows values up to this many characters (the table cuts them shorter)."""


def value_detail(
    value: ValueState, mib_name: str | None, clock: Clock, display: str | None = None
) -> Content:
    """Return the detail line of one value: where it comes from, how it was last read
    (cause, and the operator session of a requested read), its rate for a counter,
    and its whole text; for a last-known value from the store, when it was read in
    an earlier run. ``display``: the value as its MIB defines it (``down(2)``),
    shown first with the raw value beside it (``raw 2``) when they differ."""
    raw = format_value(value.data_type, value.value, width=DETAIL_WIDTH)
    text = raw if display is None or display == raw else f"{display}   raw {raw}"
    if value.stale:
        return Content.from_markup(
            "[b]$device[/]  $oid  [$accent]$name[/]  $type  [b $warning]last known from"
            " $when, not read yet[/]  [$text-muted](property store)[/]\n[$text-muted]$value[/]",
            device=value.device,
            oid=value.oid,
            name=mib_name or "",
            type=value.data_type,
            when=clock.date_time(value.last_change),
            value=text,
        )
    rate = format_counter_rate(value.rate, compact=False)
    extra = f"  rate {rate}" if value.data_type in COUNTER_MODULI else ""
    if value.session_id:
        extra += f"  session {value.session_id[:8]}"
    return Content.from_markup(
        "[b]$device[/]  $oid  [$accent]$name[/]  $type  first seen $first"
        "  changed $changed ($changes changes)  $cause$extra\n$value",
        device=value.device,
        cause=value.cause,
        extra=extra,
        oid=value.oid,
        name=mib_name or "",
        type=value.data_type,
        first=clock.time_of_day(value.first_seen),
        changed=clock.time_of_day(value.last_change),
        changes=format_count(value.changes),
        value=text,
    )


class OidsScreen(FleetScreen):
    """Latest value of every polled OID, updated in place; escape goes back.

    The operator's requests act on the selected row: ``r`` reads it now, ``w``
    writes it (dialog, then confirmation), ``W`` walks its table or group, ``a`` and
    ``x`` add it to and remove it from polling, ``c`` charts it (a counter: its rate);
    ``g`` reads any OID or MIB name, and its answer becomes a row that is selected
    when it arrives.

    Args:
        context: the screen context.
        device: the device shown, or ``None`` for every device.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        READ,
        GET,
        WRITE,
        WALK,
        TABLE_BINDING,
        INTERFACES_BINDING,
        POLL_ADD,
        POLL_REMOVE,
        Binding(
            "c",
            "chart",
            "Chart",
            id="snmp.chart",
            tooltip="The selected value (a counter: its rate) as a chart over time",
        ),
        PUBLISH,
        SET_NEW,
        UNSET,
    ]

    def __init__(self, context: ScreenContext, device: str | None) -> None:
        super().__init__(context)
        self.device = device
        """The device shown, or ``None`` for every device."""
        self.title = "fleettop"
        self.sub_title = f"OIDs · {device}" if device is not None else "OIDs · all devices"
        self._select: ValueKey | None = None

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
        if self._select is not None and self.query_one(ValueTable).select_key(self._select):
            self._select = None

    def select_value(self, key: ValueKey) -> None:
        """Put the cursor on the value ``key`` (now, or once it shows)."""
        self._select = key
        if self.is_mounted and self.query_one(ValueTable).select_key(key):
            self._select = None

    def selected_topic(self) -> tuple[str, str] | None:
        """``(broker, topic)`` of the selected MQTT value, else ``None`` (``T`` goes
        from a value to its topic on the Topics screen)."""
        key = self._mqtt_key()
        info = self.context.state.mqtt.info.get(key) if key is not None else None
        return (info.broker, info.topic) if info is not None else None

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
        if self._select in keys and table.select_key(self._select):
            self._select = None
        if table.highlighted_key in keys:
            self._show_detail()

    def _show_detail(self) -> None:
        key = self.query_one(ValueTable).highlighted_key
        detail = self.query_one("#value-detail", Static)
        value = self.context.state.value(key) if key is not None else None
        if value is None:
            detail.update("")
            return
        detail.set_class(value.protocol == MQTT, "-payload")
        if value.protocol == MQTT:
            detail.update(mqtt_value_detail(value, self.context.state.mqtt, self.context.clock))
            return
        names = self.context.mib_names
        data = {"type": value.data_type, "value": value.value}
        display = names.display(value.oid, data, width=DETAIL_WIDTH)
        detail.update(value_detail(value, names.get(value.oid), self.context.clock, display))

    def on_value_table_value_highlighted(self, message: ValueTable.ValueHighlighted) -> None:
        """Show the details of the highlighted value."""
        self._show_detail()

    def on_value_table_names_resolved(self, message: ValueTable.NamesResolved) -> None:
        """Show the MIB name in the detail line once it is known."""
        self._show_detail()

    def action_back(self) -> None:
        """Go back to the previous screen."""
        self.dismiss()

    # -- the operator's requests ---------------------------------------------------

    def _selected(self) -> ValueKey | None:
        key = self.query_one(ValueTable).highlighted_key
        if key is None:
            self.context.operator.notify("no OID selected", severity="warning")
        return key

    def action_read(self) -> None:
        """GET the selected OID now (cause ``REQUESTED``)."""
        if key := self._selected():
            self.context.operator.read(*key)

    @work(exclusive=True, group="dialog", exit_on_error=False, description="get an OID")
    async def action_get(self) -> None:
        """Ask for any OID or MIB name and GET it; its row is selected on arrival."""
        key = self.query_one(ValueTable).highlighted_key
        device = self.device or (key[0] if key else None)
        if device is None and self.context.devices:
            device = self.context.devices[0].name
        if device is None:
            self.context.operator.notify("no device to read from", severity="warning")
            return
        oid = await self.context.operator.ask_get(device)
        if oid is not None:
            self._select = (device, oid)
            if self.query_one(ValueTable).select_key(self._select):
                self._select = None

    async def action_write(self) -> None:
        """Write the selected OID: type and value, confirmation, then the SET. The
        dialog is on screen before the next key is read (``w`` is a priority
        binding), so keys typed right after ``w`` go into it."""
        if (key := self._mqtt_key()) is not None:
            if self.context.mqtt is not None:
                await self.context.mqtt.open_set(key)
            return
        if not self.context.operator.may_write():
            return
        if key := self._selected():
            await self.context.operator.open_write(*key)

    def action_walk(self) -> None:
        """Walk the selected OID's table column (or a scalar's group)."""
        key = self.query_one(ValueTable).highlighted_key
        if key is None:
            if self.device is None:
                self.context.operator.notify("no OID selected", severity="warning")
                return
            device, root = self.device, SYSTEM_GROUP
        else:
            device, root = key[0], walk_root(key[1], self.context.mib_names.get(key[1]))
        self.app.push_screen(WalkScreen(self.context, device, root))

    def action_table(self) -> None:
        """The selected OID's table as a live grid (any OID of the table)."""
        if key := self._selected():
            open_table(self.app, self.context, key[0], key[1])

    def action_interfaces(self) -> None:
        """The interfaces of the shown device (or of the selected value's)."""
        key = self.query_one(ValueTable).highlighted_key
        device = self.device or (key[0] if key is not None else None)
        if device is None:
            self.context.operator.notify("no device selected", severity="warning")
            return
        open_table(self.app, self.context, device)

    def action_poll_add(self) -> None:
        """Poll the selected OID from its device's next cycle."""
        if key := self._selected():
            self.context.operator.add_polling(*key)

    def action_chart(self) -> None:
        """Chart the selected SNMP value over time (a counter: its per-second rate)."""
        if not (key := self._selected()):
            return
        value = self.context.state.value(key)
        if value is None or value.protocol == MQTT or charted(value.data_type) is None:
            kind = value.data_type if value is not None and value.protocol != MQTT else "MQTT"
            self.context.operator.notify(
                f"no chart for a {kind} value (numbers and counters only;"
                " an MQTT topic's chart: T, then g)",
                severity="warning",
            )
            return
        state = self.context.state
        self.app.push_screen(
            SnmpChartScreen(
                key,
                value.data_type,
                self.context.mib_names.get(key[1]),
                state.snmp.series,
                self.context.clock,
            )
        )

    @work(exclusive=True, group="dialog", exit_on_error=False, description="stop polling")
    async def action_poll_remove(self) -> None:
        """Stop polling the selected OID (after confirmation)."""
        if key := self._selected():
            await self.context.operator.ask_remove_polling(*key)

    # -- MQTT ------------------------------------------------------------------------

    def _mqtt_key(self) -> ValueKey | None:
        """The selected value's key when it is an MQTT value."""
        key = self.query_one(ValueTable).highlighted_key
        value = self.context.state.value(key) if key is not None else None
        return key if value is not None and value.protocol == MQTT else None

    @work(exclusive=True, group="dialog", exit_on_error=False, description="publish")
    async def action_publish(self) -> None:
        """Publish an MQTT message; the topic starts as the selected value's."""
        mqtt = self.context.mqtt
        if mqtt is None:
            return
        key = self._mqtt_key()
        info = self.context.state.mqtt.info.get(key) if key is not None else None
        await mqtt.ask_publish(info.topic if info is not None else "")

    @work(exclusive=True, group="dialog", exit_on_error=False, description="unset")
    async def action_unset(self) -> None:
        """Unset the selected Astarte property (where its mapping allows it)."""
        mqtt = self.context.mqtt
        if mqtt is None:
            return
        if mqtt.read_only:
            mqtt.notify("read-only mode: unsetting is disabled", severity="warning")
            return
        key = self._mqtt_key()
        if key is None:
            mqtt.notify("no MQTT value selected", severity="warning")
            return
        await mqtt.ask_unset(key)

    @work(exclusive=True, group="dialog", exit_on_error=False, description="set")
    async def action_set_new(self) -> None:
        """Set any path of a server-owned interface of the shown (or selected)
        Astarte device, one that has no value yet included."""
        mqtt = self.context.mqtt
        if mqtt is None:
            return
        if mqtt.read_only:
            mqtt.notify("read-only mode: setting is disabled", severity="warning")
            return
        key = self.query_one(ValueTable).highlighted_key
        device = self.device or (key[0] if key is not None else None)
        if device is None:
            mqtt.notify("no device selected", severity="warning")
            return
        await mqtt.ask_set_new(device)
