"""The Devices screen: the fleet at a glance, one row per device."""

from __future__ import annotations

import time
from typing import ClassVar, Final

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from console.config import DeviceConfig
from console.fleet import Changes, DeviceState, MqttFold, ValueKey
from console.format import MISSING, Clock, format_count, printable
from screens.base import FleetScreen, ScreenContext
from screens.controllers.mqtt import PUBLISH
from screens.controllers.snmp import GET, WALK
from screens.mqtt_values import mqtt_detail
from screens.oids import OidsScreen
from screens.table import INTERFACES_BINDING, open_table
from screens.walk import SYSTEM_GROUP, WalkScreen
from widgets.device_table import DeviceTable, device_address, device_protocol
from widgets.value_table import ValueTable

__all__ = ["ROWS_SECONDS", "DevicesScreen", "device_detail"]

#: The device rows are rewritten at most this often (s; k9s: 2 s): changes in a
#: busy fleet are gathered and shown together, a change after a quiet spell at once.
ROWS_SECONDS: Final = 1.0

_STATUS_STYLES = {
    "CONNECTED": "$success",
    "CONNECTING": "$warning",
    "DISCONNECTED": "$error",
    "STALE": "$warning",
}


def device_detail(
    state: DeviceState, config: DeviceConfig | None, clock: Clock, mqtt: MqttFold | None = None
) -> Content:
    """Return the detail line of one device: address, status with its reason and since
    when, polling settings (never the community)."""
    status = state.status or MISSING
    polling = MISSING
    if config is not None and config.snmp is not None:
        polling = (
            f"every {config.snmp.polling_delay:g} s, {len(config.snmp.polling_oids)} OIDs,"
            f" timeout {config.snmp.request_timeout:g} s"
        )
    style = _STATUS_STYLES.get(status, "$text-muted")
    if state.mqtt_status is not None or state.broker is not None:
        return mqtt_detail(state, config, clock, mqtt)
    return Content.from_markup(
        f"[b]$name[/]  $address  $protocol  [b {style}]$status[/] since $since"
        "  [$text-muted]│[/] reason: $reason  [$text-muted]│[/] polls $polls, $polling",
        name=state.name,
        address=device_address(config),
        protocol=device_protocol(config),
        status=status,
        since=clock.time_of_day(state.status_since),
        reason=printable(state.reason) if state.reason else MISSING,
        polls=format_count(state.polls),
        polling=polling,
    )


class DevicesScreen(FleetScreen):
    """Every device with its connection status and poll statistics, and below it the
    live values of the highlighted device (a preview of its OIDs screen).

    Enter opens the OIDs of the highlighted device; ``a`` the OIDs of all devices;
    ``g`` reads any OID of the highlighted device (its row shows in the preview) and
    ``W`` walks its system group.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a", "all_values", "All OIDs", id="devices.all_oids", tooltip="Values of every device"
        ),
        GET,
        WALK,
        INTERFACES_BINDING,
        PUBLISH,
    ]

    def __init__(self, context: ScreenContext) -> None:
        super().__init__(context)
        self.title = "fleettop"
        self.sub_title = "devices"
        self._configs = {device.name: device for device in context.devices}
        self._select: ValueKey | None = None
        self._preview_held = True
        """True until the device rows are on screen (:meth:`on_device_table_painted`)."""
        self._rows_pending: set[str] = set()
        self._rows_shown = 0.0
        self._rows_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Header, the device table, the detail line, the live values of the
        highlighted device, the status bar and the footer."""
        context = self.context
        first = context.devices[0].name if context.devices else ""
        yield Header(icon="◆")
        yield DeviceTable(context.devices, context.clock, mqtt=context.state.mqtt, id="devices")
        yield Static(id="device-detail", classes="detail", markup=False)
        yield ValueTable(first, context.clock, context.mib_names, id="preview")
        yield self.context.status_bar()
        yield Footer()

    def on_mount(self) -> None:
        """Show the current state (the snapshot the bridge folded in): the device rows
        first, the preview once they are on screen (:meth:`on_device_table_painted`)."""
        self.show_all()

    def on_device_table_painted(self, message: DeviceTable.Painted) -> None:
        """The device rows are on screen: show the preview. Its cells are most of the
        screen's first frame (CPU for ~30 values at 140x40, and the MIB names they
        ask for in a thread), so the devices' status shows a frame earlier at start."""
        message.stop()
        self.call_after_refresh(self._release_preview)

    def _release_preview(self) -> None:
        if self._preview_held:
            self._preview_held = False
            self._show_preview()

    def show_all(self) -> None:
        """Bring every row and the detail line up to date."""
        state = self.context.state
        self._rows_pending.clear()
        self._rows_shown = time.monotonic()
        names = [*self._configs, *(name for name in state.devices if name not in self._configs)]
        self.query_one(DeviceTable).show(state.device(name) for name in names)
        self._show_detail()
        self._show_preview()

    def show_changes(self, changes: Changes) -> None:
        """Update the rows of the devices that changed (at most every
        :data:`ROWS_SECONDS`: :meth:`_show_rows`; at once when a device's status
        changed, or a new device joined), and the previewed values."""
        state = self.context.state
        if changes.devices:
            self._rows_pending.update(changes.devices)
            wait = ROWS_SECONDS - (time.monotonic() - self._rows_shown)
            changed = (state.device(name) for name in changes.devices)
            if wait <= 0 or self.query_one(DeviceTable).status_differs(changed):
                self._show_rows()
            elif self._rows_timer is None:
                self._rows_timer = self.set_timer(wait, self._show_rows)
        preview = self.query_one("#preview", ValueTable)
        if self._preview_held:
            return
        keys = [key for key in changes.values if key[0] == preview.device]
        if keys:
            preview.show(value for key in keys if (value := state.value(key)) is not None)
            if self._select in keys and preview.select_key(self._select):
                self._select = None

    def _show_rows(self) -> None:
        """Rewrite the rows of the devices changed since the last call.

        Each rewrite makes the table render every visible row again (DataTable's
        caches key on its update count): a fleet whose devices all change every
        frame would otherwise be drawn in full 15 times a second, and a key press
        waits behind it (``bench_fleet``: the attached console at 100 devices)."""
        self._rows_timer = None
        self._rows_shown = time.monotonic()
        names, self._rows_pending = self._rows_pending, set()
        if not names or not self.is_mounted:
            return
        table = self.query_one(DeviceTable)
        state = self.context.state
        with self.app.batch_update():
            table.show(state.device(name) for name in sorted(names))
            if table.highlighted_device in names:
                self._show_detail()

    def _show_preview(self) -> None:
        name = self.query_one(DeviceTable).highlighted_device
        if name is not None and not self._preview_held:
            preview = self.query_one("#preview", ValueTable)
            if name != preview.device:
                # columns anew: their widths fit this device's values, not the
                # widest a previous device had (a long MQTT topic)
                preview.clear(columns=True)
            preview.show_device(name, self.context.state.values(name))

    def _show_detail(self) -> None:
        name = self.query_one(DeviceTable).highlighted_device
        detail = self.query_one("#device-detail", Static)
        if name is None:
            detail.update("")
            return
        state = self.context.state.device(name)
        config = self._configs.get(name)
        detail.update(device_detail(state, config, self.context.clock, self.context.state.mqtt))

    def on_device_table_device_highlighted(self, message: DeviceTable.DeviceHighlighted) -> None:
        """Show the details and the live values of the highlighted device."""
        self._show_detail()
        self._show_preview()

    def on_device_table_device_selected(self, message: DeviceTable.DeviceSelected) -> None:
        """Open the OIDs screen of the chosen device."""
        self.app.push_screen(OidsScreen(self.context, message.name))

    def action_all_values(self) -> None:
        """Open the OIDs screen of every device."""
        self.app.push_screen(OidsScreen(self.context, None))

    @work(exclusive=True, group="dialog", exit_on_error=False, description="get an OID")
    async def action_get(self) -> None:
        """Ask for any OID or MIB name of the highlighted device and GET it; its row
        is selected in the preview when it arrives."""
        name = self.query_one(DeviceTable).highlighted_device
        if name is None:
            return
        oid = await self.context.operator.ask_get(name)
        if oid is not None:
            self._select = (name, oid)
            if self.query_one("#preview", ValueTable).select_key(self._select):
                self._select = None

    def action_walk(self) -> None:
        """Walk the highlighted device's system group (the subtree can be changed)."""
        name = self.query_one(DeviceTable).highlighted_device
        if name is not None:
            self.app.push_screen(WalkScreen(self.context, name, SYSTEM_GROUP))

    def action_interfaces(self) -> None:
        """The highlighted device's interfaces (IF-MIB ifTable + ifXTable), live."""
        name = self.query_one(DeviceTable).highlighted_device
        if name is not None:
            open_table(self.app, self.context, name)

    @work(exclusive=True, group="dialog", exit_on_error=False, description="publish")
    async def action_publish(self) -> None:
        """Publish an MQTT message (dialog, confirmation, then the publish)."""
        mqtt = self.context.mqtt
        if mqtt is not None:
            await mqtt.ask_publish()
