"""The device table: one row per device, updated in place; the ALARM column shows the
severity of the device's worst open alarm, coloured."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from console.config import DeviceConfig
from console.fleet import (
    DeviceState,
    MqttFold,
    device_status,
    mqtt_address,
    mqtt_protocol,
    mqtt_reason,
)
from console.format import (
    MISSING,
    Clock,
    format_count,
    format_counter_rate,
    format_ms,
    format_snmp_version,
    truncate,
)
from console.notifications.model import Severity
from widgets.row_table import RowTable

__all__ = ["DeviceTable", "device_address", "device_protocol"]

#: Column keys and headers, in display order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "NAME"),
    ("address", "ADDRESS"),
    ("protocol", "PROTOCOL"),
    ("status", "STATUS"),
    ("alarm", "ALARM"),
    ("last_poll", "LAST SEEN"),
    ("rtt", "RTT ms"),
    ("values", "VALUES"),
    ("rate", "MSG/s"),
    ("errors", "ERRORS"),
    ("reason", "REASON"),
)
REASON_WIDTH = 50
#: Rows this far above or below the visible ones are kept up to date too (a short
#: scroll shows current rows at once).
VIEW_MARGIN = 10

_STATUS_CLASSES = {
    "CONNECTED": "device-table--connected",
    "CONNECTING": "device-table--connecting",
    "DISCONNECTED": "device-table--disconnected",
    "ONLINE": "device-table--connected",
    "UNKNOWN": "device-table--connecting",
    "OFFLINE": "device-table--disconnected",
    # a device of a collector that went offline (fleettop attach: docs/distributed.md)
    "STALE": "device-table--connecting",
}
_WORST = ("DISCONNECTED", "OFFLINE", "STALE", "CONNECTING", "UNKNOWN", "CONNECTED", "ONLINE")
_UNKNOWN_CLASS = "device-table--unknown"
_ALARM_CLASSES = {severity: f"device-table--alarm-{severity.label}" for severity in Severity}
_RIGHT = frozenset({"rtt", "values", "rate", "errors"})


def device_address(device: DeviceConfig | None) -> str:
    """Return ``host:port`` of a device's SNMP agent, or :data:`MISSING`."""
    if device is None or device.snmp is None:
        return MISSING
    return f"{device.snmp.remote_host}:{device.snmp.remote_port}"


def device_protocol(device: DeviceConfig | None) -> str:
    """Return the protocol and version, e.g. ``SNMP v2c``, or :data:`MISSING`."""
    if device is None or device.snmp is None:
        return MISSING
    return f"SNMP {format_snmp_version(device.snmp.version)}"


def _joined(snmp: str, mqtt: str | None) -> str:
    if mqtt is None:
        return snmp
    return mqtt if snmp == MISSING else f"{snmp} + {mqtt}"


class DeviceTable(RowTable):
    """Devices as rows keyed by name; :meth:`show` updates only the cells that changed.

    Rows exist from the configuration before any event arrives; devices seen on the
    bus but not configured get a row when they first publish.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "OIDs", id="devices.open", tooltip="Show its values"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *_STATUS_CLASSES.values(),
        _UNKNOWN_CLASS,
        *_ALARM_CLASSES.values(),
    }

    class DeviceSelected(Message):
        """The operator chose a device (Enter)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            """The device name."""

    class DeviceHighlighted(Message):
        """The cursor moved to a device."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name
            """The device name."""

    class Painted(Message):
        """The table's rows were rendered for the first time (posted while the
        compositor renders the frame that shows them)."""

    def __init__(
        self,
        devices: Sequence[DeviceConfig],
        clock: Clock,
        *,
        mqtt: MqttFold | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._configs = {device.name: device for device in devices}
        self._clock = clock
        self._mqtt = mqtt
        self._statuses: dict[str, str | None] = {}
        self._alarms: dict[str, Severity | None] = {}
        self._styles: dict[str, Style] = {}
        self._deferred: dict[str, DeviceState] = {}
        self._painted = False

    def render_lines(self, crop: Region) -> list[Strip]:
        """Render as any data table; the first time with rows, post :class:`Painted`."""
        lines = super().render_lines(crop)
        if not self._painted and self.row_count:
            self._painted = True
            self.post_message(self.Painted())
        return lines

    def on_mount(self) -> None:
        """Create the columns and one row per configured device."""
        self.show(DeviceState(name) for name in self._configs if name not in self.rows)

    def _ensure_columns(self) -> None:
        if not self.columns:
            for key, label in COLUMNS:
                self.add_column(Text(label, justify="right" if key in _RIGHT else "left"), key=key)

    def show(self, devices: Iterable[DeviceState]) -> None:
        """Bring the rows of ``devices`` up to date (adding rows for new devices).

        A row out of view (beyond :data:`VIEW_MARGIN` rows of the scrolled window)
        is only noted, and written when it scrolls into view: a fleet of thousands
        of devices costs the rows on screen, not every row, each time it changes."""
        self._ensure_columns()
        first, last = self._rows_in_view()
        for device in devices:
            name = device.name
            if name in self.rows and not first <= self.get_row_index(name) <= last:
                self._deferred[name] = device
                continue
            self._deferred.pop(name, None)
            cells = self._cells(device)
            self._statuses[name] = device_status(device)
            self._alarms[name] = device.alarm
            self.upsert(name, cells)

    def status_differs(self, devices: Iterable[DeviceState]) -> bool:
        """True when the status shown for one of ``devices`` (in view) is not its
        current one: a status change is shown at once, whatever the row rate."""
        first, last = self._rows_in_view()
        for device in devices:
            name = device.name
            if name not in self.rows:
                return True
            if first <= self.get_row_index(name) <= last and self._statuses.get(
                name
            ) != device_status(device):
                return True
        return False

    def _rows_in_view(self) -> tuple[int, int]:
        """The first and last row indexes written at once (every row before the
        table has a size)."""
        height = self.size.height
        if not self.is_mounted or height <= 0:
            return 0, sys.maxsize
        top = int(self.scroll_y)
        return top - VIEW_MARGIN, top + height + VIEW_MARGIN

    def _show_deferred(self) -> None:
        """Write the noted rows that are in view now."""
        if self._deferred:
            first, last = self._rows_in_view()
            self.show(
                [
                    device
                    for name, device in self._deferred.items()
                    if name not in self.rows or first <= self.get_row_index(name) <= last
                ]
            )

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolled: write the rows that came into view."""
        super().watch_scroll_y(old_value, new_value)
        if self._deferred and round(old_value) != round(new_value):
            self.call_later(self._show_deferred)

    def on_resize(self) -> None:
        """Resized: write the rows that came into view."""
        if self._deferred:
            self.call_later(self._show_deferred)

    @property
    def highlighted_device(self) -> str | None:
        """The name of the device under the cursor, if any."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def notify_style_update(self) -> None:
        """Re-colour the status and alarm cells when the theme or CSS changes."""
        super().notify_style_update()
        self._styles.clear()
        if self.is_mounted and "status" in self.columns:
            for name, status in self._statuses.items():
                if name in self.rows:
                    self.update_cell(name, "status", self._status_cell(status), update_width=True)
                    alarm = self._alarm_cell(self._alarms.get(name))
                    self.update_cell(name, "alarm", alarm, update_width=True)

    def _cells(self, device: DeviceState) -> dict[str, Text]:
        config = self._configs.get(device.name)
        values = device.values
        rate = ""
        if device.mqtt_status is not None or device.broker is not None:
            mqtt_values = self._mqtt.value_count(device.name) if self._mqtt else 0
            values = (values or 0) + mqtt_values
            rate = format_counter_rate(device.msg_rate)
        last = max((t for t in (device.last_poll, device.last_seen) if t is not None), default=None)
        return {
            "name": Text(device.name),
            "address": Text(_joined(device_address(config), mqtt_address(device, self._mqtt))),
            "protocol": Text(_joined(device_protocol(config), mqtt_protocol(device, config))),
            "status": self._status_cell(device_status(device)),
            "alarm": self._alarm_cell(device.alarm),
            "last_poll": Text(self._clock.time_of_day(last)),
            "rtt": Text(format_ms(device.rtt_ms), justify="right"),
            "values": Text(format_count(values), justify="right"),
            "rate": Text(rate, justify="right"),
            "errors": Text(format_count(device.errors), justify="right"),
            "reason": Text(
                truncate(device.reason or mqtt_reason(device, self._mqtt) or "", REASON_WIDTH)
            ),
        }

    def _style(self, component: str) -> Style:
        """The component class's Rich style, computed once per theme or CSS change
        (the CSS lookup costs ~0.1 ms: a row update used to pay it twice)."""
        style = self._styles.get(component)
        if style is None:
            style = self.get_component_rich_style(component, partial=True, default=Style())
            self._styles[component] = style
        return style

    def _status_cell(self, status: str | None) -> Text:
        worst = next((s for s in _WORST if status and s in status.split(" / ")), status)
        component = _STATUS_CLASSES.get(worst or "", _UNKNOWN_CLASS)
        return Text(status or MISSING, style=self._style(component))

    def _alarm_cell(self, severity: Severity | None) -> Text:
        if severity is None:
            return Text("")
        return Text(severity.label, style=self._style(_ALARM_CLASSES[severity]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Turn the table's selection into :class:`DeviceSelected`."""
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.DeviceSelected(event.row_key.value))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Turn the table's highlight into :class:`DeviceHighlighted`."""
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.DeviceHighlighted(event.row_key.value))
