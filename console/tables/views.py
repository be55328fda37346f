"""What a table grid shows: its columns, each read from one or more MIB columns.

A :class:`TableView` is a list of :class:`ViewColumn`. :func:`generic_view` is
``snmptable``'s layout of any table: the index objects first (decoded from the
instance OID), then every readable column, counters as per-second rates.
:func:`interfaces_view` is the Interfaces view of every SNMP device: what a network
operator reads first, from IF-MIB's ``ifTable`` and ``ifXTable`` (RFC 2863).

Only the MIB columns a view's columns read are polled (:attr:`TableView.polled`);
a column can fall back on another (``ifName`` empty or absent -> ``ifDescr``;
``ifHCInOctets`` absent, an SNMPv1 agent -> ``ifInOctets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from console.tables.schema import TableColumn, TableSchema, builtin_schema

__all__ = [
    "COUNTER_TYPES",
    "INTERFACES",
    "ColumnKind",
    "TableView",
    "ViewColumn",
    "generic_view",
    "interfaces_view",
]

COUNTER_TYPES: Final = frozenset({"COUNTER", "BIG_COUNTER"})
"""Data types shown as per-second rates."""

ColumnKind = Literal["value", "rate", "speed", "index"]
"""How a view column shows its source: the value (``value``), the per-second rate
of a counter times the source's scale (``rate``: octets x 8 = bit/s), a speed in
bit/s (``speed``: the value times the scale, with an SI prefix), or the decoded
index object at :attr:`ViewColumn.index` (``index``)."""

INTERFACES: Final = "interfaces"
"""The name of the built-in Interfaces view."""


@dataclass(frozen=True, slots=True)
class ViewColumn:
    """One column of a grid.

    Attributes:
        key: unique within the view (the MIB column name for a plain column).
        title: the header.
        kind: see :data:`ColumnKind`.
        sources: ``(MIB column name, scale)`` pairs, first with a value wins.
        index: the position of the index object shown (``kind == "index"``).
        unit: appended to rates and speeds (``bit/s``; ``/s`` by default).
    """

    key: str
    title: str
    kind: ColumnKind = "value"
    sources: tuple[tuple[str, float], ...] = ()
    index: int = 0
    unit: str = "/s"

    @property
    def numeric(self) -> bool:
        """True for rates and speeds (right-aligned, sorted as numbers)."""
        return self.kind in ("rate", "speed")


@dataclass(frozen=True, slots=True)
class TableView:
    """A grid's layout over one table schema.

    Attributes:
        name: shown in the title (``interfaces``, or the table's ``MODULE::name``).
        schema: the table (with its joined tables).
        columns: the grid's columns, in order.
    """

    name: str
    schema: TableSchema
    columns: tuple[ViewColumn, ...]

    @property
    def polled(self) -> tuple[TableColumn, ...]:
        """The MIB columns the shown columns read (each once, in OID order): the only
        ones fetched at each refresh. Index objects are decoded, never polled."""
        wanted = {name for column in self.columns for name, _scale in column.sources}
        found = [c for c in self.schema.columns if c.name in wanted and c.readable]
        return tuple(sorted(found, key=lambda column: column.oid))

    def without(self, keys: set[str]) -> TableView:
        """This view without the columns ``keys`` (hidden by the operator: no longer
        polled)."""
        kept = tuple(column for column in self.columns if column.key not in keys)
        return TableView(self.name, self.schema, kept)


def generic_view(schema: TableSchema) -> TableView:
    """``snmptable``'s layout of ``schema``: the index objects (named after them),
    then each readable column not an index object, in OID order; counters as rates."""
    columns = [
        ViewColumn(part.name, part.name, "index", index=position)
        for position, part in enumerate(schema.index)
    ]
    index_names = schema.index_columns
    for column in schema.columns:
        if not column.readable or column.name in index_names:
            continue
        kind: ColumnKind = "rate" if column.data_type in COUNTER_TYPES else "value"
        columns.append(ViewColumn(column.name, column.name, kind, ((column.name, 1.0),)))
    return TableView(schema.qualified, schema, tuple(columns))


def interfaces_view(schema: TableSchema | None = None, *, high_capacity: bool = True) -> TableView:
    """The Interfaces view: ifIndex, name (``ifName``, else ``ifDescr``), ``ifAlias``,
    admin and oper status, speed (``ifHighSpeed`` Mb/s, else ``ifSpeed``), in and
    out bit/s (``ifHCInOctets``/``ifHCOutOctets`` x 8, else the 32-bit
    ``ifInOctets``/``ifOutOctets``), and errors and discards per second in each
    direction.

    Args:
        schema: the ifTable + ifXTable schema (default: the built-in one).
        high_capacity: read the 64-bit counters (``False`` for SNMPv1, which has no
            Counter64, or an agent without ifXTable).
    """
    schema = schema or builtin_schema((1, 3, 6, 1, 2, 1, 2, 2))
    assert schema is not None
    octets_in: tuple[tuple[str, float], ...] = (("ifInOctets", 8.0),)
    octets_out: tuple[tuple[str, float], ...] = (("ifOutOctets", 8.0),)
    speed: tuple[tuple[str, float], ...] = (("ifSpeed", 1.0),)
    if high_capacity:
        octets_in = (("ifHCInOctets", 8.0), *octets_in)
        octets_out = (("ifHCOutOctets", 8.0), *octets_out)
        speed = (("ifHighSpeed", 1e6), *speed)
    columns = (
        ViewColumn("ifIndex", "ifIndex", "index", index=0),
        ViewColumn("name", "Name", "value", (("ifName", 1.0), ("ifDescr", 1.0))),
        ViewColumn("ifAlias", "Alias", "value", (("ifAlias", 1.0),)),
        ViewColumn("ifAdminStatus", "Admin", "value", (("ifAdminStatus", 1.0),)),
        ViewColumn("ifOperStatus", "Oper", "value", (("ifOperStatus", 1.0),)),
        ViewColumn("speed", "Speed", "speed", speed, unit="bit/s"),
        ViewColumn("in_bits", "In", "rate", octets_in, unit="bit/s"),
        ViewColumn("out_bits", "Out", "rate", octets_out, unit="bit/s"),
        ViewColumn("in_errors", "InErr", "rate", (("ifInErrors", 1.0),)),
        ViewColumn("out_errors", "OutErr", "rate", (("ifOutErrors", 1.0),)),
        ViewColumn("in_discards", "InDisc", "rate", (("ifInDiscards", 1.0),)),
        ViewColumn("out_discards", "OutDisc", "rate", (("ifOutDiscards", 1.0),)),
    )
    return TableView(INTERFACES, schema, columns)
