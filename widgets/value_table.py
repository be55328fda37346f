"""The value table: one row per polled OID, keyed by ``(device, OID)``, updated in place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from console.fleet import COUNTER_MODULI, MQTT, ValueKey, ValueState, object_text
from console.format import (
    Clock,
    format_count,
    format_counter_rate,
    format_mib_name,
    format_value,
    oid_sort_key,
    truncate,
)
from widgets.mib_names import MibNames, NameWorker
from widgets.row_table import RowTable

__all__ = ["ValueTable", "row_key"]

VALUE_WIDTH = 26
"""Values longer than this are cut in the table (the detail line shows them whole)."""
NAME_WIDTH = 26
"""MIB names longer than this are shortened in the table (see ``format_mib_name``)."""

_SEPARATOR = "\x00"
_RIGHT = frozenset({"rate", "changes"})


def _value_text(value: ValueState, mib_names: MibNames | None = None) -> str:
    """The table text of a value: an MQTT object datastream's fields on one line (a
    value with a unit, a Home Assistant entity's: ``21.5 °C``); an SNMP value as its
    MIB defines it (``up(1)``, ``5 seconds``) once its name was resolved."""
    if value.protocol == MQTT:
        if isinstance(value.value, dict):
            return truncate(object_text(value.value), VALUE_WIDTH)
        text = format_value(value.data_type, value.value, width=VALUE_WIDTH)
        return truncate(f"{text} {value.unit}", VALUE_WIDTH) if value.unit else text
    if mib_names is None:
        return format_value(value.data_type, value.value, width=VALUE_WIDTH)
    data = {"type": value.data_type, "value": value.value}
    return mib_names.display(value.oid, data, width=VALUE_WIDTH)


def row_key(key: ValueKey) -> str:
    """Return the row key of ``(device, oid)``."""
    return f"{key[0]}{_SEPARATOR}{key[1]}"


def _value_key(row: str) -> ValueKey:
    device, _, oid = row.partition(_SEPARATOR)
    return (device, oid)


class ValueTable(RowTable):
    """Latest values of one device (or of all devices, with a DEVICE column).

    New rows are kept in device and numeric-OID order; existing rows are updated cell
    by cell, and only where the text changed. A last-known value from the store that
    has not been read yet (:attr:`ValueState.stale`) is dimmed, with the cause
    ``STORED`` and the time it was read in an earlier run. MIB names are looked up in a thread
    worker and filled in when they arrive.

    Args:
        device: the device shown, or ``None`` for every device.
        clock: formats the change times.
        mib_names: the shared OID -> MIB name cache.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "value-table--error",
        "value-table--changed",
        "value-table--stale",
    }

    class ValueHighlighted(Message):
        """The cursor moved to a value."""

        def __init__(self, key: ValueKey) -> None:
            super().__init__()
            self.key = key
            """``(device, oid)`` of the highlighted row."""

    class NamesResolved(Message):
        """MIB names arrived from the resolver thread and are shown in the table
        (handler: ``on_value_table_names_resolved``)."""

        def __init__(self, names: dict[str, str | None]) -> None:
            super().__init__()
            self.names = names
            """Names by OID (``None``: the MIBs do not know it)."""

    def __init__(
        self,
        device: str | None,
        clock: Clock,
        mib_names: MibNames,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.device = device
        self._clock = clock
        self._mib_names = mib_names
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self._oids: dict[str, set[str]] = {}
        self._values: dict[str, ValueState] = {}  # row key -> the value shown

    @property
    def columns_shown(self) -> tuple[tuple[str, str], ...]:
        """Column keys and headers, in display order."""
        device = (("device", "DEVICE"),) if self.device is None else ()
        return (
            *device,
            ("oid", "OID / PATH"),
            ("name", "MIB NAME"),
            ("type", "TYPE"),
            ("value", "VALUE"),
            ("rate", "RATE"),
            ("changed", "CHANGED"),
            ("changes", "CHANGES"),
            ("cause", "CAUSE"),
        )

    def on_mount(self) -> None:
        """Create the columns."""
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        if not self.columns:
            for key, label in self.columns_shown:
                self.add_column(Text(label, justify="right" if key in _RIGHT else "left"), key=key)

    def show(self, values: Iterable[ValueState]) -> None:
        """Bring the rows of ``values`` up to date; values of other devices are skipped."""
        self._ensure_columns()
        added = False
        had_rows = self.row_count > 0
        for value in values:
            if self.device is not None and value.device != self.device:
                continue
            key = row_key(value.key)
            self._values[key] = value
            if self.upsert(key, self._cells(value)):
                if value.protocol != MQTT:  # MQTT paths have no MIB name
                    self._oids.setdefault(value.oid, set()).add(key)
                added = True
        if added:
            self._sort_rows(keep_cursor=had_rows)
            self._name_worker.request(self._oids)

    def show_device(self, device: str, values: Iterable[ValueState]) -> None:
        """Show the values of ``device`` instead of the current device's.

        Rows are replaced only when the device differs (an operator moving the
        cursor, not a tick); otherwise this is :meth:`show`.

        Raises:
            ValueError: the table shows every device (its columns differ).
        """
        if self.device is None:
            raise ValueError("a table of every device cannot switch to one device")
        if device != self.device:
            self.device = device
            self.clear()
            self._oids.clear()
            self._values.clear()
        self.show(values)

    @property
    def highlighted_key(self) -> ValueKey | None:
        """``(device, oid)`` of the row under the cursor, if any."""
        if not self.row_count:
            return None
        row, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return _value_key(row.value) if row.value is not None else None

    def select_key(self, key: ValueKey) -> bool:
        """Move the cursor to the row of ``key``; False when there is no such row."""
        row = row_key(key)
        if row not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(row), animate=False)
        return True

    def _cells(self, value: ValueState) -> dict[str, Text]:
        error = value.data_type == "ERROR"
        stale: Style | str = self._style("value-table--stale") if value.stale else ""
        cells = {
            "device": Text(value.device, style=stale),
            "oid": Text(value.oid, style=stale),
            "name": Text(format_mib_name(self._mib_names.get(value.oid), NAME_WIDTH)),
            "type": Text(value.data_type, style=stale),
            "value": Text(
                _value_text(value, self._mib_names),
                style=stale or (self._style("value-table--error") if error else ""),
            ),
            "rate": Text(
                format_counter_rate(value.rate)
                if value.data_type in COUNTER_MODULI or value.protocol == MQTT
                else "",
                justify="right",
            ),
            "changed": Text(self._clock.time_of_day(value.last_change), style=stale),
            "changes": Text(
                format_count(value.changes),
                justify="right",
                style=self._style("value-table--changed") if value.changes else "",
            ),
            "cause": Text(value.cause, style=stale),
        }
        if self.device is not None:
            del cells["device"]
        return cells

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True, default=Style())

    def _sort_rows(self, *, keep_cursor: bool) -> None:
        current = self.highlighted_key if keep_cursor else None
        columns = ("device", "oid") if self.device is None else ("oid",)
        self.sort(*columns, key=self._sort_key)
        if current is not None:
            self.move_cursor(row=self.get_row_index(row_key(current)), animate=False)

    def _sort_key(self, cells: Text | tuple[Text, ...]) -> tuple[str, tuple[int | float, ...], str]:
        if isinstance(cells, tuple):
            return (cells[0].plain, oid_sort_key(cells[1].plain), cells[1].plain)
        return ("", oid_sort_key(cells.plain), cells.plain)

    def _names_resolved(self, names: dict[str, str | None]) -> None:
        """Fill in the MIB names that arrived, then tell the screen
        (:class:`NamesResolved`)."""
        for oid, name in names.items():
            for key in self._oids.get(oid, ()):
                if key in self.rows:
                    cell = Text(format_mib_name(name, NAME_WIDTH))
                    self.update_cell(key, "name", cell, update_width=True)
                    value = self._values.get(key)
                    if value is not None:  # its MIB's form, now that the object is known
                        self.update_cell(key, "value", self._cells(value)["value"])
        self.post_message(self.NamesResolved(names))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Turn the table's highlight into :class:`ValueHighlighted`."""
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ValueHighlighted(_value_key(event.row_key.value)))
