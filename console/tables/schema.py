"""The shape of a conceptual SNMP table, read from the MIB: its columns and its INDEX.

A :class:`TableSchema` is what :mod:`console.tables.grid` needs to lay a table out
as Net-SNMP's ``snmptable`` does: one row per index, one column per columnar object
(``MODULE::name``, its data type, its enumeration labels and display hint), the
index objects in order with their IMPLIED flag (SMIv2, RFC 2578 §7.7), and the
columns of every table that shares the index (``AUGMENTS``, RFC 2578 §7.8:
``ifXEntry AUGMENTS { ifEntry }``) joined in.

Where it comes from
-------------------
* :func:`schema_from_mib`: pysnmp's compiled MIB modules (the
  :class:`~console.snmp.mib.MibResolver`'s ``MibViewController``): the row object's
  ``getIndexNames()`` (``(implied, module, name)`` each), its ``augmentingRows``, and
  every ``MibTableColumn`` under the entry;
* :func:`builtin_schema`: IF-MIB's ``ifTable`` + ``ifXTable`` (RFC 2863), built in,
  for the many setups that load no IF-MIB (pysnmp does not bundle it; Debian ships
  no MIB files): the ifType labels come from the ``IANAifType-MIB`` source fleettop
  ships (``console/snmp/mibs/base``).

Pure Python over pysnmp's objects: no Textual, no requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from console.oid import format_oid, parse_oid

__all__ = [
    "IF_TABLE",
    "IF_X_TABLE",
    "IndexPart",
    "TableColumn",
    "TableSchema",
    "builtin_schema",
    "describe",
    "iana_iftype_labels",
    "schema_from_mib",
    "table_schema",
]

IF_TABLE: Final = (1, 3, 6, 1, 2, 1, 2, 2)
"""``IF-MIB::ifTable``."""
IF_X_TABLE: Final = (1, 3, 6, 1, 2, 1, 31, 1, 1)
"""``IF-MIB::ifXTable`` (AUGMENTS ifEntry)."""

#: How an index object is encoded in the instance OID (RFC 2578 §7.7).
INDEX_KINDS: Final = ("INTEGER", "STRING", "IP_ADDRESS", "OBJECT_ID", "RAW")


@dataclass(frozen=True, slots=True)
class TableColumn:
    """One columnar object.

    Attributes:
        name: the object's name (``ifDescr``).
        module: its MIB module (``IF-MIB``).
        oid: the column's OID (``1.3.6.1.2.1.2.2.1.2``), as arcs.
        data_type: fleettop's data type of its values (``INTEGER``, ``STRING``,
            ``COUNTER``, ``BIG_COUNTER``, ``UNSIGNED``, ``TIME_TICKS``,
            ``IP_ADDRESS``, ``OBJECT_ID``, ``ARBITRARY``; ``docs/events.md``).
        enums: number -> label of an enumerated INTEGER (``{1: "up", 2: "down"}``).
        hint: the DISPLAY-HINT of its textual convention (``1x:``, ``255a``), or "".
        readable: False for a ``not-accessible`` object (an index only: never polled).
        table: the table it belongs to (``ifXTable`` for a joined column).
        syntax: its whole SYNTAX (a :class:`console.snmp.mibmeta.MibSyntax`: BITS,
            the textual convention) when read from a MIB, else ``None`` (the cells
            are formatted from ``enums`` and ``hint``).
        units: its UNITS clause, or "".
    """

    name: str
    module: str
    oid: tuple[int, ...]
    data_type: str
    enums: Mapping[int, str] = field(default_factory=dict)
    hint: str = ""
    readable: bool = True
    table: str = ""
    syntax: Any = field(default=None, compare=False, repr=False)
    units: str = ""

    @property
    def qualified(self) -> str:
        """``MODULE::name``."""
        return f"{self.module}::{self.name}"


@dataclass(frozen=True, slots=True)
class IndexPart:
    """One object of the INDEX clause.

    Attributes:
        name: the index object (``ifIndex``, ``ipAdEntAddr``).
        kind: how it is encoded in the instance OID (:data:`INDEX_KINDS`): one arc
            (``INTEGER``, and every integer type), four (``IP_ADDRESS``), a length then
            that many arcs (``STRING``, ``OBJECT_ID``), or the rest (``RAW``, unknown).
        implied: IMPLIED (no length arc: the last index object takes the rest).
        length: the fixed length of a ``STRING`` of one size (``SIZE(6)``), or ``None``.
        column: the index object as a column (its type, enums, hint).
    """

    name: str
    kind: str
    implied: bool
    length: int | None
    column: TableColumn


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A conceptual table and the tables joined to it.

    Attributes:
        module: its MIB module.
        name: the table's name (``ifTable``).
        oid: the table's OID, as arcs.
        entry: the entry (row) OID: ``oid + (1,)``.
        index: the INDEX clause, in order.
        columns: every columnar object: the table's own, then those of each joined
            table, in OID order within each.
        joined: the names of the tables joined to it (``("ifXTable",)``).
    """

    module: str
    name: str
    oid: tuple[int, ...]
    entry: tuple[int, ...]
    index: tuple[IndexPart, ...]
    columns: tuple[TableColumn, ...]
    joined: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        """``MODULE::table``."""
        return f"{self.module}::{self.name}"

    def column(self, name: str) -> TableColumn | None:
        """The column named ``name`` (``ifDescr``), or ``None``."""
        for column in self.columns:
            if column.name == name:
                return column
        return None

    @property
    def index_columns(self) -> frozenset[str]:
        """The names of the index objects (decoded from the instance OID, never polled)."""
        return frozenset(part.name for part in self.index)


# -- from pysnmp's MIB objects ------------------------------------------------------------


def _column(node: Any, module: str, table: str) -> TableColumn:
    from console.snmp.mibmeta import max_access, syntax_of

    syntax = node.syntax
    access = max_access(node)
    try:
        units = str(node.getUnits() or "") if hasattr(node, "getUnits") else ""
    except Exception:  # pysnmp getters on half-built nodes
        units = ""
    full = syntax_of(syntax)  # never raises
    return TableColumn(
        name=str(node.label),
        module=module,
        oid=tuple(int(arc) for arc in node.name),
        data_type=full.data_type,
        enums=dict(full.bits or full.enums),
        hint=full.display_hint,
        readable=access not in ("not-accessible", "accessible-for-notify"),
        table=table,
        syntax=full,
        units=units,
    )


def _index_part(column: TableColumn, syntax: Any, implied: bool) -> IndexPart:
    kind = column.data_type
    length: int | None = None
    if kind in ("INTEGER", "UNSIGNED", "COUNTER", "TIME_TICKS", "BIG_COUNTER"):
        kind = "INTEGER"
    elif kind == "STRING":
        fixed = getattr(syntax, "is_fixed_length", None)
        if callable(fixed) and fixed():
            length = int(syntax.get_fixed_length())
    elif kind not in ("IP_ADDRESS", "OBJECT_ID"):
        kind = "RAW"
    return IndexPart(column.name, kind, implied, length, column)


class _Mib:
    """The MIB objects of one pysnmp MibBuilder, indexed by OID for table look-ups."""

    def __init__(self, mib_builder: Any) -> None:
        self.builder = mib_builder
        row_class, column_class = mib_builder.import_symbols(
            "SNMPv2-SMI", "MibTableRow", "MibTableColumn"
        )
        (table_class,) = mib_builder.import_symbols("SNMPv2-SMI", "MibTable")
        self.rows: dict[tuple[int, ...], tuple[str, Any]] = {}
        self.tables: dict[tuple[int, ...], tuple[str, Any]] = {}
        self.columns: dict[tuple[int, ...], list[tuple[str, Any]]] = {}
        for module, symbols in mib_builder.mibSymbols.items():
            if module.startswith("__"):
                continue
            for node in symbols.values():
                if isinstance(node, row_class):
                    self.rows.setdefault(tuple(node.name), (module, node))
                elif isinstance(node, table_class):
                    self.tables.setdefault(tuple(node.name), (module, node))
                elif isinstance(node, column_class):
                    self.columns.setdefault(tuple(node.name[:-1]), []).append((module, node))

    def entry_of(self, arcs: tuple[int, ...]) -> tuple[int, ...] | None:
        """The entry OID of the table that ``arcs`` (table, entry, column or
        instance) belongs to."""
        for end in range(len(arcs), 1, -1):
            prefix = arcs[:end]
            if prefix in self.rows:
                return prefix
            if (*prefix, 1) in self.rows and prefix in self.tables:
                return (*prefix, 1)
        return None

    def own_columns(self, entry: tuple[int, ...], table: str) -> list[TableColumn]:
        found = [_column(node, module, table) for module, node in self.columns.get(entry, [])]
        unique = {column.oid: column for column in found}
        return sorted(unique.values(), key=lambda column: column.oid)

    def object(self, module: str, name: str) -> Any:
        (node,) = self.builder.import_symbols(module, name)
        return node


def schema_from_mib(mib_builder: Any, oid: str | Sequence[int]) -> TableSchema | None:
    """The table that ``oid`` (the table, its entry, a column or an instance) is part
    of, from the modules loaded in ``mib_builder`` (a :class:`pysnmp.smi.builder.MibBuilder`);
    ``None`` when no loaded module defines a table there.

    Tables that AUGMENT it, and the table it AUGMENTS (with its other augmentations),
    are joined: opening ``ifXTable`` shows ``ifTable``'s columns too. A deprecated or
    obsolete augmentation (IF-MIB's ``ifTestTable``) is left out. Their names are
    in :attr:`TableSchema.joined`.
    """
    arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
    mib = _cached_mib(mib_builder)
    entry = mib.entry_of(arcs)
    if entry is None:
        return None
    module, row = mib.rows[entry]
    base_entry, base_module, base_row = entry, module, row
    # an augmenting row (ifXEntry): open the base row (ifEntry) and join from there
    for other_entry, (other_module, other_row) in mib.rows.items():
        if (module, str(row.label)) in getattr(other_row, "augmentingRows", {}):
            base_entry, base_module, base_row = other_entry, other_module, other_row
            break
    table_name = _table_name(mib, base_entry, str(base_row.label))
    columns = mib.own_columns(base_entry, table_name)
    joined: list[str] = []
    for aug_module, aug_name in getattr(base_row, "augmentingRows", {}):
        try:
            aug_row = mib.object(aug_module, aug_name)
        except Exception:  # an augmentation whose module is not loaded
            continue
        if str(getattr(aug_row, "status", "current")) in ("deprecated", "obsolete"):
            continue  # ifTestTable (RFC 2863: deprecated) is not part of the table any more
        aug_entry = tuple(aug_row.name)
        aug_table = _table_name(mib, aug_entry, aug_name)
        joined.append(aug_table)
        columns.extend(mib.own_columns(aug_entry, aug_table))
    index: list[IndexPart] = []
    for implied, index_module, index_name in base_row.getIndexNames():
        try:
            node = mib.object(index_module, index_name)
        except Exception:
            return None
        column = _column(node, index_module, table_name)
        index.append(_index_part(column, node.syntax, bool(implied)))
    if not index:
        return None
    return TableSchema(
        module=base_module,
        name=table_name,
        oid=base_entry[:-1],
        entry=base_entry,
        index=tuple(index),
        columns=tuple(columns),
        joined=tuple(joined),
    )


def _table_name(mib: _Mib, entry: tuple[int, ...], entry_name: str) -> str:
    found = mib.tables.get(entry[:-1])
    if found is not None:
        return str(found[1].label)
    return entry_name[:-5] + "Table" if entry_name.endswith("Entry") else entry_name


_MIBS: dict[int, tuple[Any, _Mib]] = {}


def _cached_mib(mib_builder: Any) -> _Mib:
    """The OID index of ``mib_builder``, built once (its modules are loaded once)."""
    key = id(mib_builder)
    found = _MIBS.get(key)
    if found is None or found[0] is not mib_builder:
        found = (mib_builder, _Mib(mib_builder))
        _MIBS[key] = found
    return found[1]


# -- built in: IF-MIB ifTable + ifXTable (RFC 2863) -----------------------------------

_IANA_IFTYPE: Final = Path(__file__).resolve().parent.parent / "snmp/mibs/base/IANAifType-MIB.mib"
_STATUS: Final = {1: "up", 2: "down", 3: "testing"}
_OPER: Final = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
_TRUTH: Final = {1: "true", 2: "false"}

# (arc, name, data type, enums or None, hint)
_IF_ENTRY: Final = (
    (1, "ifIndex", "INTEGER", None, ""),
    (2, "ifDescr", "STRING", None, "255a"),
    (3, "ifType", "INTEGER", "iftype", ""),
    (4, "ifMtu", "INTEGER", None, ""),
    (5, "ifSpeed", "UNSIGNED", None, ""),
    (6, "ifPhysAddress", "STRING", None, "1x:"),
    (7, "ifAdminStatus", "INTEGER", _STATUS, ""),
    (8, "ifOperStatus", "INTEGER", _OPER, ""),
    (9, "ifLastChange", "TIME_TICKS", None, ""),
    (10, "ifInOctets", "COUNTER", None, ""),
    (11, "ifInUcastPkts", "COUNTER", None, ""),
    (12, "ifInNUcastPkts", "COUNTER", None, ""),
    (13, "ifInDiscards", "COUNTER", None, ""),
    (14, "ifInErrors", "COUNTER", None, ""),
    (15, "ifInUnknownProtos", "COUNTER", None, ""),
    (16, "ifOutOctets", "COUNTER", None, ""),
    (17, "ifOutUcastPkts", "COUNTER", None, ""),
    (18, "ifOutNUcastPkts", "COUNTER", None, ""),
    (19, "ifOutDiscards", "COUNTER", None, ""),
    (20, "ifOutErrors", "COUNTER", None, ""),
    (21, "ifOutQLen", "UNSIGNED", None, ""),
    (22, "ifSpecific", "OBJECT_ID", None, ""),
)
_IF_X_ENTRY: Final = (
    (1, "ifName", "STRING", None, "255a"),
    (2, "ifInMulticastPkts", "COUNTER", None, ""),
    (3, "ifInBroadcastPkts", "COUNTER", None, ""),
    (4, "ifOutMulticastPkts", "COUNTER", None, ""),
    (5, "ifOutBroadcastPkts", "COUNTER", None, ""),
    (6, "ifHCInOctets", "BIG_COUNTER", None, ""),
    (7, "ifHCInUcastPkts", "BIG_COUNTER", None, ""),
    (8, "ifHCInMulticastPkts", "BIG_COUNTER", None, ""),
    (9, "ifHCInBroadcastPkts", "BIG_COUNTER", None, ""),
    (10, "ifHCOutOctets", "BIG_COUNTER", None, ""),
    (11, "ifHCOutUcastPkts", "BIG_COUNTER", None, ""),
    (12, "ifHCOutMulticastPkts", "BIG_COUNTER", None, ""),
    (13, "ifHCOutBroadcastPkts", "BIG_COUNTER", None, ""),
    (14, "ifLinkUpDownTrapEnable", "INTEGER", {1: "enabled", 2: "disabled"}, ""),
    (15, "ifHighSpeed", "UNSIGNED", None, ""),
    (16, "ifPromiscuousMode", "INTEGER", _TRUTH, ""),
    (17, "ifConnectorPresent", "INTEGER", _TRUTH, ""),
    (18, "ifAlias", "STRING", None, "255a"),
    (19, "ifCounterDiscontinuityTime", "TIME_TICKS", None, ""),
)


@cache
def iana_iftype_labels() -> Mapping[int, str]:
    """The ``IANAifType`` enumeration (``{6: "ethernetCsmacd", 53: "propVirtual",
    ...}``), read from the ``IANAifType-MIB`` source fleettop ships; empty when the
    file cannot be read."""
    try:
        text = _IANA_IFTYPE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    start = text.find("IANAifType ::=")
    body = text[text.find("{", start) : text.find("}", start)] if start >= 0 else ""
    body = re.sub(r"--[^\n]*", "", body)  # comments may name values too
    return {int(number): label for label, number in re.findall(r"(\w[\w-]*)\s*\((\d+)\)", body)}


def _builtin_columns(
    entry: tuple[int, ...], table: str, rows: Iterable[tuple[int, str, str, Any, str]]
) -> list[TableColumn]:
    columns = []
    for arc, name, data_type, enums, hint in rows:
        labels = iana_iftype_labels() if enums == "iftype" else (enums or {})
        columns.append(
            TableColumn(name, "IF-MIB", (*entry, arc), data_type, dict(labels), hint, True, table)
        )
    return columns


def builtin_schema(oid: str | Sequence[int]) -> TableSchema | None:
    """``IF-MIB::ifTable`` joined with ``ifXTable`` (RFC 2863) when ``oid`` is in
    either, else ``None``: the tables fleettop knows without any MIB loaded."""
    arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
    if arcs[: len(IF_TABLE)] != IF_TABLE and arcs[: len(IF_X_TABLE)] != IF_X_TABLE:
        return None
    entry = (*IF_TABLE, 1)
    columns = _builtin_columns(entry, "ifTable", _IF_ENTRY)
    columns += _builtin_columns((*IF_X_TABLE, 1), "ifXTable", _IF_X_ENTRY)
    index = IndexPart("ifIndex", "INTEGER", False, None, columns[0])
    return TableSchema(
        "IF-MIB", "ifTable", IF_TABLE, entry, (index,), tuple(columns), ("ifXTable",)
    )


def table_schema(mib_builder: Any | None, oid: str | Sequence[int]) -> TableSchema | None:
    """The schema of the table at ``oid``: from the MIB when a loaded module defines
    it (:func:`schema_from_mib`), else built in (:func:`builtin_schema`), else ``None``.

    Args:
        mib_builder: pysnmp's MibBuilder of the loaded modules, or ``None``.
        oid: the table, its entry, a column or an instance (numeric, text or arcs).

    Raises:
        ValueError: ``oid`` is not a numeric OID.
    """
    arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
    if mib_builder is not None:
        found = schema_from_mib(mib_builder, arcs)
        if found is not None:
            return found
    return builtin_schema(arcs)


def describe(schema: TableSchema) -> str:
    """``IF-MIB::ifTable + ifXTable (INDEX ifIndex)``: a one-line summary."""
    joined = "".join(f" + {name}" for name in schema.joined)
    index = ", ".join(("IMPLIED " if p.implied else "") + p.name for p in schema.index)
    return f"{schema.qualified}{joined} ({format_oid(schema.oid)}, INDEX {index})"
