"""The alarm table: open alarms as rows keyed by alarm id, newest raised first, updated
in place (a changed alarm rewrites only its changed cells, a closed one loses its
row; the table is never rebuilt)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.style import Style
from rich.text import Text

from console.format import MISSING, Clock, format_count, printable, truncate
from console.notifications.alarms import Alarm
from widgets.row_table import RowTable

__all__ = ["COLUMNS", "AlarmTable"]

#: Column keys and headers, in display order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("severity", "SEVERITY"),
    ("state", "STATE"),
    ("acked", "ACKED"),
    ("device", "DEVICE"),
    ("rule", "RULE"),
    ("message", "MESSAGE"),
    ("count", "COUNT"),
    ("raised", "RAISED"),
    ("cleared", "CLEARED"),
)
MESSAGE_WIDTH = 60


class AlarmTable(RowTable):
    """Open alarms (see the module doc).

    Args:
        clock: formats the times.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alarm-table--info",
        "alarm-table--warning",
        "alarm-table--error",
        "alarm-table--critical",
        "alarm-table--active",
        "alarm-table--cleared",
        "alarm-table--unacked",
        "alarm-table--history",
    }

    def __init__(self, clock: Clock, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock

    def on_mount(self) -> None:
        """Create the columns."""
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="right" if key == "count" else "left"), key=key)

    @property
    def shown_ids(self) -> list[int]:
        """The ids of the alarms shown, top to bottom."""
        return [int(row.key.value) for row in self.ordered_rows if row.key.value is not None]

    @property
    def highlighted_alarm(self) -> int | None:
        """The id of the alarm under the cursor, or ``None``."""
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return int(row_key.value) if row_key.value is not None else None

    def sync(self, alarms: Mapping[int, Alarm]) -> None:
        """Make the rows those of ``alarms``: update changed cells, add new rows
        (newest raised first), remove the rows of alarms no longer open."""
        wanted = {str(alarm_id) for alarm_id in alarms}
        for row_key in [key for key in self.rows if key.value not in wanted]:
            self.remove_row(row_key)
        added = False
        for alarm in alarms.values():
            added = self.upsert(str(alarm.id), self._cells(alarm)) or added
        if added and self.row_count > 1:
            selected = self.highlighted_alarm
            self.sort("raised", key=lambda cell: cell.plain, reverse=True)
            if selected is not None and str(selected) in self.rows:
                self.move_cursor(row=self.get_row_index(str(selected)), animate=False)

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True, default=Style())

    def _cells(self, alarm: Alarm) -> dict[str, Text]:
        history = self._style("alarm-table--history") if alarm.history else Style()
        return {
            "severity": Text(
                alarm.severity.label, style=self._style(f"alarm-table--{alarm.severity.label}")
            ),
            "state": Text(alarm.state, style=self._style(f"alarm-table--{alarm.state}")),
            "acked": Text("yes")
            if alarm.acked
            else Text("no", self._style("alarm-table--unacked")),
            "device": Text(printable(alarm.device)),
            "rule": Text(printable(alarm.rule)),
            "message": Text(truncate(printable(alarm.message), MESSAGE_WIDTH), style=history),
            "count": Text(format_count(alarm.count), justify="right"),
            "raised": Text(self._clock.date_time(alarm.raised_at)),
            "cleared": Text(
                self._clock.date_time(alarm.cleared_at) if alarm.cleared_at else MISSING
            ),
        }
