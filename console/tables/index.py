"""Instance OIDs decoded into the values of a table's INDEX objects, and cells shown
as Net-SNMP's ``snmptable`` shows them.

RFC 2578 §7.7 encodes each index object in the instance OID after the column OID:

* an integer (INTEGER, Unsigned32, Gauge32...): one arc;
* an IpAddress: four arcs, one per octet;
* an OCTET STRING: its length then one arc per octet, or exactly its size for a
  fixed-size string, or, when IMPLIED (the last index object only), the rest;
* an OBJECT IDENTIFIER: its number of arcs then the arcs, or the rest when IMPLIED.

:func:`decode_index` reverses that for a :class:`~console.tables.schema.TableSchema`.
An instance that does not fit (too short, arcs left over, an octet above 255) is not
dropped: its index is shown as the raw arcs (:attr:`IndexValues.raw`), so a broken
agent is visible rather than silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from console.displayhint import with_units
from console.events import JsonValue
from console.format import MISSING, format_timeticks, printable
from console.snmpdisplay import has_form, render_syntax
from console.tables.schema import IndexPart, TableColumn

if TYPE_CHECKING:
    from console.snmp.mibmeta import MibSyntax

__all__ = ["IndexValues", "decode_index", "format_cell", "index_text"]

_CONTROL: Final = frozenset(range(32)) - {9, 10, 13}


@dataclass(frozen=True, slots=True)
class IndexValues:
    """The decoded index of one row.

    Attributes:
        arcs: the instance arcs (the row key).
        values: one ``(data type, value)`` per index object, as polled values are
            (``("INTEGER", 3)``, ``("IP_ADDRESS", "10.0.0.1")``, ``("STRING", "eth0")``,
            ``("STRING_HEX", "00a1")``, ``("OBJECT_ID", "1.3.6")``); empty when raw.
        raw: True when the arcs do not fit the INDEX clause.
    """

    arcs: tuple[int, ...]
    values: tuple[tuple[str, JsonValue], ...]
    raw: bool = False


def _octets(arcs: Sequence[int]) -> tuple[str, JsonValue] | None:
    if any(not 0 <= arc <= 255 for arc in arcs):
        return None
    data = bytes(arcs)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "STRING_HEX", data.hex()
    if any(ord(char) in _CONTROL for char in text):
        return "STRING_HEX", data.hex()
    return "STRING", text


def _take(part: IndexPart, arcs: tuple[int, ...], last: bool) -> tuple[tuple[str, JsonValue], int]:
    """Decode ``part`` at the start of ``arcs``: ``(value, arcs used)``.

    Raises:
        ValueError: the arcs do not fit.
    """
    kind = part.kind
    if kind == "INTEGER":
        if not arcs:
            raise ValueError("no arc left")
        return ("INTEGER", arcs[0]), 1
    if kind == "IP_ADDRESS":
        if len(arcs) < 4 or any(not 0 <= a <= 255 for a in arcs[:4]):
            raise ValueError("not an IpAddress")
        return ("IP_ADDRESS", ".".join(map(str, arcs[:4]))), 4
    if kind == "RAW" or (part.implied and last):
        size = len(arcs)
        start = 0
    elif kind == "STRING" and part.length is not None:
        size, start = part.length, 0
    else:
        if not arcs:
            raise ValueError("no length arc")
        size, start = arcs[0], 1
    if len(arcs) < start + size:
        raise ValueError("too short")
    body = arcs[start : start + size]
    if kind == "OBJECT_ID" or kind == "RAW":
        return ("OBJECT_ID", ".".join(map(str, body))), start + size
    value = _octets(body)
    if value is None:
        raise ValueError("an octet above 255")
    return value, start + size


def decode_index(index: Sequence[IndexPart], arcs: tuple[int, ...]) -> IndexValues:
    """Decode the instance ``arcs`` of a row with the INDEX clause ``index``.

    Returns:
        The values in INDEX order; :attr:`IndexValues.raw` set (and no values) when
        the arcs do not fit (short, too long, out of range). Never raises.
    """
    values: list[tuple[str, JsonValue]] = []
    rest = arcs
    try:
        for position, part in enumerate(index):
            value, used = _take(part, rest, position == len(index) - 1)
            values.append(value)
            rest = rest[used:]
    except ValueError:
        return IndexValues(arcs, (), raw=True)
    if rest:
        return IndexValues(arcs, (), raw=True)
    return IndexValues(arcs, tuple(values))


def index_text(values: IndexValues) -> str:
    """The row's index as ``snmptable -Ci`` shows it: the values joined by ``.``
    (``10.1.100.148``; ``"public".1.3.6.1`` becomes ``public.1.3.6.1``); the raw arcs
    of an index that does not decode."""
    if values.raw:
        return ".".join(map(str, values.arcs))
    return ".".join(
        printable(str(value)) if kind != "STRING_HEX" else _hex(str(value), ":")
        for kind, value in values.values
    )


def _hex(digits: str, separator: str) -> str:
    """``e804`` -> ``e8:04`` (``separator`` between the byte pairs)."""
    return separator.join(digits[i : i + 2] for i in range(0, len(digits), 2))


def format_cell(column: TableColumn, data_type: str, value: JsonValue) -> str:
    """One cell of the grid: a value of ``column`` as ``snmptable`` shows it, except
    where fleettop's screens have their own form.

    * a value whose SYNTAX has a form of its own as every screen shows it
      (:func:`console.snmpdisplay.render_syntax`: an enumeration ``up(1)``, BITS by
      name, a DISPLAY-HINT: ``1x:`` MAC addresses, DateAndTime..., an InetAddress);
    * a string as text on one line (control characters escaped); a binary string
      (``STRING_HEX``) as byte pairs joined by ``:``;
    * TimeTicks as ``Nd hh:mm:ss.cc`` (``snmptable``: ``d:hh:mm:ss.cc``);
    * other integers as they are (no separators: they are identifiers as often
      as amounts); an ``ERROR`` value (``NO_SUCH_INSTANCE``) and a missing one as
      :data:`~console.format.MISSING`;
    * the column's UNITS after the value, as Net-SNMP prints them (``4096 Bytes``,
      ``12.5 volts``; :func:`console.displayhint.with_units`).
    """
    if value is None or data_type == "ERROR":
        return MISSING
    return with_units(_cell_text(column, data_type, value), column.units)


def _cell_text(column: TableColumn, data_type: str, value: JsonValue) -> str:
    syntax = column.syntax
    if syntax is None and (column.enums or column.hint):
        syntax = _syntax_of(column.data_type, column.hint, tuple(column.enums.items()))
    if has_form(syntax):
        return render_syntax({"type": data_type, "value": value}, syntax)
    if data_type == "TIME_TICKS" and isinstance(value, int):
        return format_timeticks(value)
    if data_type == "STRING_HEX" and isinstance(value, str):
        return _hex(value, ":")
    if data_type == "ARBITRARY" and isinstance(value, str):
        return _hex(value, " ")
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, int) and data_type in ("COUNTER", "BIG_COUNTER"):
        return str(value)
    return printable(str(value))


@lru_cache(maxsize=1024)
def _syntax_of(data_type: str, hint: str, enums: tuple[tuple[int, str], ...]) -> MibSyntax:
    """The SYNTAX of a built-in column (IF-MIB without a MIB loaded): its
    enumeration and DISPLAY-HINT."""
    from console.snmp.mibmeta import MibSyntax

    return MibSyntax("", data_type, display_hint=hint, enums=dict(enums))
