"""The audit table: recorded operator actions, newest first, keyed by entry id. The
RESULT column comes right after the action (shortened; an export has it whole), so it
stays on screen whatever the target and values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.style import Style
from rich.text import Text

from console.format import Clock, printable, truncate
from console.store import AuditEntry
from console.store.audit import value_text
from widgets.row_table import RowTable

__all__ = ["COLUMNS", "AuditTable", "change_text"]

#: Column keys and headers, in display order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#"),
    ("time", "TIME"),
    ("device", "DEVICE"),
    ("action", "ACTION"),
    ("result", "RESULT"),
    ("target", "TARGET"),
    ("change", "OLD → NEW"),
)
VALUE_WIDTH = 24
TARGET_WIDTH = 44
RESULT_WIDTH = 24


def change_text(entry: AuditEntry) -> str:
    """``old → new`` of an entry, each shortened to :data:`VALUE_WIDTH` and in
    operator words (:func:`console.store.audit.value_text`: SNMP data as the OIDs
    screen shows values, a publish as ``QoS 1, retained, 12 B``, anything else as
    JSON)."""
    return f"{value_text(entry.old, VALUE_WIDTH)} → {value_text(entry.new, VALUE_WIDTH)}"


class AuditTable(RowTable):
    """Audit entries as rows keyed by their id, newest (highest id) first; rows are
    only ever added (entries are never rewritten).

    Args:
        clock: formats the entry times.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"audit-table--ok", "audit-table--error"}

    def __init__(self, clock: Clock, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock

    def on_mount(self) -> None:
        """Create the columns."""
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="right" if key == "id" else "left"), key=key)

    def add_entries(self, entries: Iterable[AuditEntry]) -> int:
        """Add the entries not shown yet; keep the rows newest first. Returns how
        many were added."""
        added = 0
        for entry in entries:
            key = str(entry.id)
            if key in self.rows:
                continue
            self.add_row(*self._cells(entry), key=key)
            added += 1
        if added:
            current = self.cursor_row if self.row_count else 0
            selected = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
            self.sort("id", key=lambda cell: int(cell.plain), reverse=True)
            if current and selected.value is not None:
                self.move_cursor(row=self.get_row_index(selected.value), animate=False)
        return added

    def _cells(self, entry: AuditEntry) -> list[Text]:
        ok = entry.ok
        style = self._style("audit-table--ok" if ok else "audit-table--error")
        return [
            Text(str(entry.id), justify="right"),
            Text(self._clock.date_time(entry.time_ms / 1000)),
            Text(printable(entry.device)),
            Text(entry.action),
            Text(truncate(printable(entry.result), RESULT_WIDTH), style=style),
            Text(truncate(printable(entry.target), TARGET_WIDTH)),
            Text(change_text(entry)),
        ]

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True, default=Style())
