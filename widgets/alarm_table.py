"""The alarm table: open alarms as rows keyed by alarm id, the worst severity first and,
within a severity, the newest raised first; updated in place (a changed alarm
rewrites only its changed cells, a closed one loses its row; the table is never
rebuilt).

The cursor is on the first row (the worst, newest alarm) until the operator moves it;
then it stays on the alarm they chose whatever arrives (back to the first row when
that alarm closes), so ``a`` acknowledges the alarm the operator sees selected. The
selected row is underlined as well as coloured: it shows without colour
(``NO_COLOR``, a monochrome terminal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate

from console.format import MISSING, Clock, format_count, printable, truncate
from console.notifications.alarms import Alarm
from console.notifications.model import Severity
from widgets.row_table import RowTable

__all__ = ["COLUMNS", "AlarmTable", "alarm_order"]

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


def alarm_order(alarm: Alarm) -> tuple[int, int]:
    """The order of the table's rows: the worst severity first, then the newest
    raised (to the second, as the RAISED column shows it)."""
    return (-int(alarm.severity), -int(alarm.raised_at))


def _cells_order(cells: tuple[Text, Text]) -> tuple[int, str]:
    """:func:`alarm_order` (reversed) read from the SEVERITY and RAISED cells."""
    severity, raised = cells
    return (int(Severity[severity.plain.upper()]), raised.plain)


class AlarmTable(RowTable):
    """Open alarms (see the module doc).

    Args:
        clock: formats the times.
    """

    DEFAULT_CSS = """
    AlarmTable > .datatable--cursor, AlarmTable:focus > .datatable--cursor {
        text-style: bold underline;
    }
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
        self.chosen = False
        """True once the operator moved the cursor (it then stays on that alarm)."""
        self._syncing = False

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
        """Make the rows those of ``alarms``: update changed cells, add new rows,
        remove the rows of alarms no longer open; keep the rows in :func:`alarm_order`
        and the cursor on its alarm (on the first row when the table was empty)."""
        self._syncing = True
        try:
            self._sync(alarms)
        finally:
            self._syncing = False

    def _sync(self, alarms: Mapping[int, Alarm]) -> None:
        selected = self.highlighted_alarm if self.chosen and self.row_count else None
        wanted = {str(alarm_id) for alarm_id in alarms}
        for row_key in [key for key in self.rows if key.value not in wanted]:
            self.remove_row(row_key)
        for alarm in alarms.values():
            self.upsert(str(alarm.id), self._cells(alarm))
        keys = [alarm_order(alarms[i]) for i in self.shown_ids if i in alarms]
        if keys != sorted(keys):
            self.sort("severity", "raised", key=_cells_order, reverse=True)
        if selected is not None and str(selected) in self.rows:
            self.move_cursor(row=self.get_row_index(str(selected)), animate=False)
        elif self.row_count:
            self.chosen = False
            self.move_cursor(row=0, animate=False)

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        """A move outside :meth:`sync` is the operator's (a key, a click): from then
        on the cursor keeps its alarm."""
        if not self._syncing and old != new:
            self.chosen = True

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
