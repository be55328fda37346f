"""The grid of one table: rows by index, cells by view column, counters as per-second
rates between refreshes, sorted by any column.

:class:`TableGrid` folds each fetch (:func:`console.snmp.table.fetch_columns`: per
column OID, instance arcs -> value) into rows keyed by their instance arcs, and says
what changed (:class:`GridChanges`) so a widget updates only those rows, in place.

Rates follow the OIDs screen's rules (:func:`console.fleet.counter_rate`): the delta
between two fetches, modulo the counter's width (one 32- or 64-bit wrap between two
samples is counted right), per second of the fetches' times; a delta of half the
counter's range or more is a reset, not a rate (shown as
:data:`~console.format.MISSING`), and so is a first sample. A row that disappears
from the agent (an interface removed) leaves the grid; one that reappears starts
its rates afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from console.events import JsonValue
from console.fleet import counter_rate
from console.format import MISSING, format_counter_rate
from console.tables.index import IndexValues, decode_index, format_cell, index_text
from console.tables.schema import TableColumn
from console.tables.views import COUNTER_TYPES, TableView, ViewColumn

__all__ = ["Cell", "GridChanges", "Row", "TableGrid", "format_si"]

Data = dict[str, JsonValue]
"""A value as polled: ``{"type": TYPE, "value": VALUE}`` (``docs/events.md``)."""
SortKey = tuple[int, float | str]
"""Numbers before text; within each, natural order."""

_SI: Final = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
Columns = Mapping[tuple[int, ...], Mapping[tuple[int, ...], Data]]
"""A fetch: column OID -> instance arcs -> ``{"type", "value"}``."""


def format_si(value: float | None, unit: str) -> str:
    """A rate or a speed with an SI prefix: ``1.5 Gbit/s``, ``835 kbit/s``,
    ``12 bit/s``, ``0 bit/s``; :data:`MISSING` when unknown. Plain ``/s`` rates use
    :func:`console.format.format_counter_rate` (``4,608/s``, ``835k/s``)."""
    if value is None:
        return MISSING
    if unit == "/s":
        return format_counter_rate(value)
    for factor, prefix in _SI:
        if abs(value) >= factor:
            scaled = value / factor
            digits = 0 if abs(scaled) >= 100 or scaled == int(scaled) else 1
            return f"{scaled:.{digits}f} {prefix}{unit}"
    digits = 0 if value == int(value) or abs(value) >= 100 else 1
    return f"{value:.{digits}f} {unit}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One shown cell: its text and how it sorts (``None``: missing, always last)."""

    text: str
    sort: SortKey | None


@dataclass(slots=True)
class Row:
    """One row: its decoded index, its latest values by MIB column name, its cells.

    Attributes:
        arcs: the instance arcs (the key).
        index: the decoded index.
        values: MIB column name -> the latest ``{"type", "value"}``.
        cells: view column key -> :class:`Cell`.
    """

    arcs: tuple[int, ...]
    index: IndexValues
    values: dict[str, Data] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The row key as text (the instance arcs, dotted)."""
        return ".".join(map(str, self.arcs))


@dataclass(frozen=True, slots=True)
class GridChanges:
    """What one fetch changed: the keys (instance arcs) of rows added, updated (a
    cell's text changed) and removed."""

    added: tuple[tuple[int, ...], ...] = ()
    updated: tuple[tuple[int, ...], ...] = ()
    removed: tuple[tuple[int, ...], ...] = ()


def _number(value: JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class TableGrid:
    """The rows of one table under one view.

    Args:
        view: the columns shown (:class:`~console.tables.views.TableView`).

    Usage::

        grid = TableGrid(interfaces_view())
        changes = grid.update(await fetch(...), at=time.monotonic())
        for arcs in grid.order("in_bits", reverse=True): ...
    """

    def __init__(self, view: TableView) -> None:
        self.view = view
        self.rows: dict[tuple[int, ...], Row] = {}
        """Instance arcs -> row, in the agent's (OID) order."""
        self.fetched_at: float | None = None
        """When the last fetch was folded in (the caller's clock)."""
        self.totals = False
        """Show counters as read (their totals) instead of per-second rates."""
        self._by_oid = {column.oid: column for column in view.schema.columns}
        self._by_name = {column.name: column for column in view.schema.columns}
        # (instance arcs, MIB column name) -> (counter value, time)
        self._samples: dict[tuple[tuple[int, ...], str], tuple[int, float]] = {}
        self._rates: dict[tuple[tuple[int, ...], str], float | None] = {}

    def set_view(self, view: TableView) -> None:
        """Show ``view`` (same schema: columns hidden or shown); every cell is
        recomputed from the values kept."""
        self.view = view
        self.recompute()

    def recompute(self) -> None:
        """Recompute every cell from the values kept (after :attr:`totals` changed)."""
        for row in self.rows.values():
            row.cells = self._cells(row)

    def update(self, columns: Columns, at: float) -> GridChanges:
        """Fold one fetch taken at ``at`` (seconds, any monotonic clock).

        Args:
            columns: column OID -> instance arcs -> value; a column the agent
                does not have is empty (or missing).
            at: when the fetch ended.

        Returns:
            The rows added, updated and removed.
        """
        fresh: dict[tuple[int, ...], dict[str, Data]] = {}
        for oid, instances in columns.items():
            column = self._by_oid.get(tuple(oid))
            if column is None:
                continue
            for arcs, data in instances.items():
                fresh.setdefault(tuple(arcs), {})[column.name] = data
        added: list[tuple[int, ...]] = []
        updated: list[tuple[int, ...]] = []
        removed = [arcs for arcs in self.rows if arcs not in fresh]
        for arcs in removed:
            del self.rows[arcs]
            for key in [k for k in self._samples if k[0] == arcs]:
                self._samples.pop(key, None)
                self._rates.pop(key, None)
        for arcs in sorted(fresh):
            values = fresh[arcs]
            self._sample(arcs, values, at)
            row = self.rows.get(arcs)
            if row is None:
                row = Row(arcs, decode_index(self.view.schema.index, arcs))
                self.rows[arcs] = row
                added.append(arcs)
            row.values = values
            cells = self._cells(row)
            if row.cells != cells:
                row.cells = cells
                if arcs not in added:
                    updated.append(arcs)
        if added:  # keep the agent's (OID) order
            self.rows = dict(sorted(self.rows.items()))
        self.fetched_at = at
        return GridChanges(tuple(added), tuple(updated), tuple(removed))

    def _sample(self, arcs: tuple[int, ...], values: Mapping[str, Data], at: float) -> None:
        for name, data in values.items():
            kind = str(data.get("type"))
            value = _number(data.get("value"))
            key = (arcs, name)
            if kind not in COUNTER_TYPES or value is None:
                self._samples.pop(key, None)
                self._rates.pop(key, None)
                continue
            previous = self._samples.get(key)
            self._rates[key] = (
                counter_rate(kind, previous, (value, at)) if previous is not None else None
            )
            self._samples[key] = (value, at)

    def rate(self, arcs: tuple[int, ...], name: str) -> float | None:
        """The per-second rate of counter ``name`` of row ``arcs`` over the last two
        fetches, or ``None`` (one sample only, a reset, not a counter)."""
        return self._rates.get((arcs, name))

    # -- cells ---------------------------------------------------------------------

    def _cells(self, row: Row) -> dict[str, Cell]:
        return {column.key: self._cell(row, column) for column in self.view.columns}

    def _cell(self, row: Row, column: ViewColumn) -> Cell:
        if column.kind == "index":
            parts = self.view.schema.index
            enums = parts[column.index].column.enums if column.index < len(parts) else {}
            return _index_cell(row.index, column.index, enums)
        for name, scale in column.sources:
            data = row.values.get(name)
            if data is None or data.get("type") == "ERROR":
                continue
            kind = str(data.get("type"))
            value = data.get("value")
            if column.kind == "rate" and kind in COUNTER_TYPES and not self.totals:
                rate = self._rates.get((row.arcs, name))
                scaled = rate * scale if rate is not None else None
                return Cell(
                    format_si(scaled, column.unit), (0, scaled) if scaled is not None else None
                )
            if column.kind == "speed" and (number := _number(value)) is not None:
                if number == 0 and len(column.sources) > 1 and name != column.sources[-1][0]:
                    continue  # ifHighSpeed 0 (below 1 Mb/s): ifSpeed says more
                speed = number * scale
                return Cell(format_si(speed, column.unit), (0, speed))
            if kind == "STRING" and value == "" and name != column.sources[-1][0]:
                continue  # an empty ifName: the next source (ifDescr)
            mib_column = self._by_name.get(name)
            if mib_column is None:
                continue
            return _value_cell(mib_column, kind, value)
        return Cell(MISSING, None)

    # -- order ---------------------------------------------------------------------

    def order(self, key: str | None = None, *, reverse: bool = False) -> list[tuple[int, ...]]:
        """The rows' keys sorted by the view column ``key`` (``None``: the agent's
        OID order), numbers as numbers, text case-insensitively, missing cells
        last either way; ties keep OID order."""
        arcs = list(self.rows)
        if key is None:
            return arcs[::-1] if reverse else arcs
        present = [a for a in arcs if (cell := self.rows[a].cells.get(key)) and cell.sort]
        chosen = set(present)
        missing = [a for a in arcs if a not in chosen]
        present.sort(key=lambda a: self.rows[a].cells[key].sort or (2, ""), reverse=reverse)
        return present + missing

    def text(self, arcs: tuple[int, ...]) -> dict[str, str]:
        """View column key -> the cell text of row ``arcs``."""
        return {key: cell.text for key, cell in self.rows[arcs].cells.items()}


def _index_cell(index: IndexValues, position: int, enums: Mapping[int, str]) -> Cell:
    if index.raw:
        text = index_text(index) if position == 0 else MISSING
        return Cell(text, (1, text) if position == 0 else None)
    kind, value = index.values[position]
    number = _number(value)
    if number is not None:
        return Cell(enums.get(number, str(number)), (0, float(number)))
    text = index_text(IndexValues(index.arcs, ((kind, value),)))
    return Cell(text, (1, text.casefold()))


def _value_cell(column: TableColumn, kind: str, value: JsonValue) -> Cell:
    text = format_cell(column, kind, value)
    number = _number(value)
    if number is not None and not column.enums:
        return Cell(text, (0, float(number)))
    if text == MISSING:
        return Cell(text, None)
    return Cell(text, (1, text.casefold()))
