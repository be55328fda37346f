"""The walk table: the var-binds of a walk, keyed by OID, appended in batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.style import Style
from rich.text import Text

from console.events import JsonValue
from console.format import format_mib_name, format_value
from widgets.mib_names import MibNames, NameWorker
from widgets.row_table import RowTable

__all__ = ["WalkRow", "WalkTable"]

WalkRow = tuple[str, dict[str, JsonValue]]
"""One var-bind of a walk: ``(oid, {"type", "value"})``."""

VALUE_WIDTH = 48
NAME_WIDTH = 32


class WalkTable(RowTable):
    """OID, MIB name, type and value of every var-bind a walk returned, in walk order.

    Rows are only ever appended (a walk returns OIDs in order) through :meth:`add`,
    which the walk screen calls with a batch per frame; MIB names are resolved in a
    thread worker and filled in when they arrive.

    Args:
        mib_names: the shared OID -> MIB name cache.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"walk-table--error"}

    def __init__(self, mib_names: MibNames, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._mib_names = mib_names
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self.data: dict[str, dict[str, JsonValue]] = {}
        """The data of each row, by OID."""

    def on_mount(self) -> None:
        """Create the columns."""
        self.add_column("OID", key="oid")
        self.add_column("MIB NAME", key="name")
        self.add_column("TYPE", key="type")
        self.add_column("VALUE", key="value")

    def add(self, rows: Iterable[WalkRow]) -> int:
        """Append ``rows`` (an OID already shown is updated instead); return how
        many rows were added."""
        added: list[str] = []
        error = self.get_component_rich_style("walk-table--error", partial=True, default=Style())
        for oid, data in rows:
            data_type = str(data.get("type"))
            value = Text(
                format_value(data_type, data.get("value"), width=VALUE_WIDTH),
                style=error if data_type == "ERROR" else "",
            )
            if oid in self.data:
                self.update_cell(oid, "value", value, update_width=True)
            else:
                name = Text(format_mib_name(self._mib_names.get(oid), NAME_WIDTH))
                self.add_row(Text(oid), name, Text(data_type), value, key=oid)
                added.append(oid)
            self.data[oid] = data
        if added:
            self._name_worker.request(added)
        return len(added)

    def reset(self) -> None:
        """Remove every row (a new walk)."""
        self.clear()
        self.data.clear()

    @property
    def highlighted_oid(self) -> str | None:
        """The OID of the row under the cursor, if any."""
        if not self.row_count:
            return None
        row, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row.value

    def _names_resolved(self, names: dict[str, str | None]) -> None:
        """Fill in the MIB names that arrived."""
        for oid, name in names.items():
            if oid in self.rows:
                self.update_cell(
                    oid, "name", Text(format_mib_name(name, NAME_WIDTH)), update_width=True
                )
