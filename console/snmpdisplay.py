"""One formatter for every SNMP value fleettop shows: the value as its MIB defines it.

(Outside ``console.snmp`` on purpose: the screens import it, and importing that
package imports pysnmp, which the first frame does not wait for.)

Net-SNMP prints ``IF-MIB::ifOperStatus.1 = INTEGER: up(1)``; so does fleettop, on
every screen, in exports, in ``fleettop walk``'s ``display`` and in trap var-binds.
The raw ``{"type", "value"}`` data dict (``docs/events.md``) is never changed: this
module only makes the text shown beside it.

* :func:`render` -- a data dict by the :class:`~console.snmp.mibmeta.MibObject`
  that defines its OID (pure and fast: no MIB access). Enumerations ``up(1)``,
  BITS by name, DISPLAY-HINTs (RFC 2579 §3.1: ``1x:``, ``255a``, DateAndTime,
  ``d-2``...), InetAddress by its InetAddressType (RFC 4001), UNITS after the value;
  everything else as :func:`console.format.format_value` has always shown it.
* :class:`ValueFormatter` -- OID + data -> text over a
  :class:`~console.snmp.mibmeta.MibInfo` (the resolver's), with an LRU of OID ->
  defining object, so the longest-prefix search (~20 µs) runs once per OID. Also
  tells which sibling OID holds an InetAddress's type (:meth:`address_type_oid`).

Off the hot path: the poller never formats (it runs with ``lookupMib=False`` and
publishes raw data); screens format the rows in view, the trap receiver and
``fleettop walk`` format as they already name OIDs.

Context (InetAddress): an InetAddress needs the value of its InetAddressType
object, by convention the nearest preceding column of the same row (or scalar of
the same group) whose SYNTAX is InetAddressType (``ipAddressAddrType`` for
``ipAddressAddr``, ``inetCidrRouteNextHopType`` for ``inetCidrRouteNextHop``). A
caller passes what it knows as ``context``, a mapping OID -> data dict (the rest of
the walked rows, the table row, the trap's other var-binds); without it the type is
inferred from the length (4 octets IPv4, 16 IPv6...).

Deliberate differences from Net-SNMP's default output are listed in ``docs/mibs.md``
("Values as the MIB defines them") and counted by ``tests/test_value_display.py``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from console.displayhint import (
    HintError,
    bits_labels,
    enum_label,
    inet_address,
    integer_by_hint,
    octets_by_hint,
    with_units,
)
from console.events import JsonValue
from console.format import MISSING, format_value, printable, truncate


class MibSyntax(Protocol):
    """What the formatter reads of an object's SYNTAX: the shape of
    :class:`console.snmp.mibmeta.MibSyntax` (not imported: ``console.snmp`` imports
    this module, and the screens import it without pysnmp)."""

    @property
    def base(self) -> str: ...
    @property
    def convention(self) -> str | None: ...
    @property
    def display_hint(self) -> str: ...
    @property
    def enums(self) -> Mapping[int, str]: ...
    @property
    def bits(self) -> Mapping[int, str]: ...


class MibObject(Protocol):
    """What the formatter reads of a MIB object (:class:`console.snmp.mibmeta.MibObject`)."""

    @property
    def module(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def oid(self) -> tuple[int, ...]: ...
    @property
    def kind(self) -> str: ...
    @property
    def syntax(self) -> MibSyntax | None: ...
    @property
    def units(self) -> str: ...
    @property
    def qualified(self) -> str: ...


class MibInfo(Protocol):
    """What the formatter asks of the loaded MIBs (:class:`console.snmp.mibmeta.MibInfo`)."""

    def find(self, oid: str) -> tuple[MibObject, tuple[int, ...]] | None: ...
    def instance_of(self, oid: str) -> tuple[MibObject, tuple[int, ...]] | None: ...
    def object(self, oid: str) -> MibObject | None: ...
    def children(self, oid: tuple[int, ...]) -> Sequence[MibObject]: ...


__all__ = [
    "ADDRESS_CONVENTIONS",
    "MibInfo",
    "MibObject",
    "MibSyntax",
    "ValueFormatter",
    "has_form",
    "octets_of",
    "render",
    "render_syntax",
]

#: InetAddress textual conventions (RFC 4001) -> the InetAddressType they imply
#: (``None``: the type comes from the sibling InetAddressType object). Rendered by
#: :func:`console.displayhint.inet_address` (IPv6 as RFC 5952) rather than by their
#: DISPLAY-HINTs (``2x:2x:...`` would show every zero group).
ADDRESS_CONVENTIONS: Final[Mapping[str, int | None]] = {
    "InetAddress": None,
    "InetAddressIPv4": 1,
    "InetAddressIPv6": 2,
    "InetAddressIPv4z": 3,
    "InetAddressIPv6z": 4,
    "Ipv6Address": 2,  # IPV6-TC (RFC 2465)
}
_VALUE_KINDS: Final = frozenset({"scalar", "column"})
_HINTED_INTEGERS: Final = frozenset({"INTEGER", "UNSIGNED"})
_OCTET_TYPES: Final = frozenset({"STRING", "STRING_HEX"})

Data = Mapping[str, Any]
"""A data dict ``{"type": TYPE, "value": VALUE}`` (``docs/events.md``)."""


def octets_of(data: Data) -> bytes | None:
    """The octets of an OCTET STRING data dict (``STRING``: its UTF-8 text, exactly
    the octets received; ``STRING_HEX``: its hex), else ``None``."""
    kind, value = data.get("type"), data.get("value")
    if not isinstance(value, str):
        return None
    if kind == "STRING":
        return value.encode("utf-8")
    if kind == "STRING_HEX":
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    return None


def render(
    data: Data,
    obj: MibObject | None,
    *,
    address_type: int | None = None,
    width: int | None = None,
) -> str:
    """The text of a value as the MIB object ``obj`` defines it.

    Args:
        data: the value's data dict; an ``ERROR`` or a missing value is shown as
            :func:`~console.format.format_value` shows it.
        obj: the scalar or column that defines the OID (``None`` or another kind:
            no MIB, the value as ever).
        address_type: the InetAddressType value of an InetAddress (RFC 4001), when
            the caller found it (else inferred from the length).
        width: cut the text to this many characters (``…`` marks the cut).

    Returns:
        e.g. ``up(1)``, ``00:0c:29:a4:5b:07``, ``2026-12-7,14:30:15.5,+0:0``,
        ``12.34 volts``, ``fe80::212:79ff:fe62:f940``, ``zero(0) two(2)``; one line
        (control characters escaped). Never raises: a hint that does not fit the
        value falls back to the plain form.
    """
    syntax = obj.syntax if obj is not None and obj.kind in _VALUE_KINDS else None
    units = obj.units if obj is not None else ""
    return render_syntax(data, syntax, units, address_type=address_type, width=width)


def render_syntax(
    data: Data,
    syntax: MibSyntax | None,
    units: str = "",
    *,
    address_type: int | None = None,
    width: int | None = None,
) -> str:
    """:func:`render` from a SYNTAX and UNITS rather than a whole MIB object (the
    table grid's columns carry those): ``None`` syntax shows the value plainly,
    ``units`` ``""`` adds none."""
    kind = str(data.get("type"))
    value = data.get("value")
    if syntax is None or value is None or kind == "ERROR":
        return format_value(kind, value, width=width)
    text = _by_syntax(kind, value, data, syntax, address_type)
    if text is None:
        text = format_value(kind, value)
    if units:
        text = with_units(text, units)
    return truncate(text, width)


def has_form(syntax: MibSyntax | None) -> bool:
    """True when the SYNTAX gives values a form of their own (an enumeration, BITS,
    a DISPLAY-HINT, an InetAddress): :func:`render_syntax` differs from the plain
    text."""
    if syntax is None:
        return False
    return bool(
        syntax.enums
        or syntax.base == "BITS"
        or syntax.display_hint
        or (syntax.convention is not None and syntax.convention in ADDRESS_CONVENTIONS)
    )


def _by_syntax(
    kind: str, value: JsonValue, data: Data, syntax: MibSyntax, address_type: int | None
) -> str | None:
    """The MIB's form of the value, or ``None`` for the plain form."""
    if kind == "INTEGER" and syntax.enums and isinstance(value, int):
        return enum_label(value, syntax.enums)
    if kind in _OCTET_TYPES:
        octets = octets_of(data)
        if octets is None:
            return None
        if syntax.base == "BITS":
            return bits_labels(octets, syntax.bits)
        convention = syntax.convention
        if convention is not None and convention in ADDRESS_CONVENTIONS:
            implied = ADDRESS_CONVENTIONS[convention]
            return printable(inet_address(octets, implied if implied else address_type))
        if syntax.display_hint:
            try:
                return printable(octets_by_hint(syntax.display_hint, octets))
            except HintError:
                return None
        return None
    if syntax.display_hint and kind in _HINTED_INTEGERS and isinstance(value, int):
        if isinstance(value, bool):
            return None
        try:
            return integer_by_hint(syntax.display_hint, value)
        except HintError:
            return None
    return None


class ValueFormatter:
    """OID + data dict -> the text shown, over the MIB objects of a
    :class:`~console.snmp.mibmeta.MibInfo`.

    Args:
        info: returns the current :class:`MibInfo` (``None`` while no MIB is loaded:
            values then show as :func:`~console.format.format_value` shows them). A
            new object (the MIBs were loaded again) empties the cache.
        cache_size: how many OIDs' defining objects the LRU keeps.

    Usage::

        formatter = ValueFormatter(lambda: resolver.info)
        formatter.display("1.3.6.1.2.1.2.2.1.8.3", {"type": "INTEGER", "value": 2})
        # 'down(2)'
        formatter.display(oid, data, context=row_by_oid)   # InetAddress by its type

    Threads: :meth:`describe` may build MIB objects (pysnmp reads), so call it from
    one thread at a time (the UI's name worker does); the cache has its own lock.
    """

    def __init__(self, info: Callable[[], MibInfo | None], *, cache_size: int = 16384) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._info = info
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[MibObject, str | None] | None] = OrderedDict()
        self._lock = threading.Lock()
        self._source: object | None = None

    def describe(self, oid: str) -> MibObject | None:
        """The scalar or column that defines the instance ``oid`` (by longest prefix),
        or ``None`` (no MIB, another kind of node, a malformed OID). Calling it in a
        worker thread also readies :meth:`display` ``(cached_only=True)`` for ``oid``."""
        entry = self._entry(oid)
        return entry[0] if entry is not None else None

    def address_type_oid(self, oid: str) -> str | None:
        """The OID of the InetAddressType instance that says how to read the
        InetAddress at ``oid`` (the nearest preceding InetAddressType column of its
        row, or scalar of its group, with the same instance suffix), else ``None``."""
        entry = self._entry(oid)
        return entry[1] if entry is not None else None

    def notification(self, oid: str) -> MibObject | None:
        """The NOTIFICATION-TYPE (or SMIv1 TRAP-TYPE) whose OID is exactly ``oid``
        (a trap's ``snmpTrapOID.0``), with its OBJECTS, or ``None``."""
        info = self._info()
        if info is None:
            return None
        try:
            found = info.object(oid)
        except ValueError:
            return None
        return found if found is not None and found.kind == "notification" else None

    def is_context(self, oid: str) -> bool:
        """True when the value at ``oid`` is an InetAddressType, which an InetAddress
        of its row may need: a caller streaming values (a walk) keeps those for
        ``context`` and need keep nothing else."""
        obj = self.describe(oid)
        return (
            obj is not None
            and obj.syntax is not None
            and (obj.syntax.convention == "InetAddressType")
        )

    def display(
        self,
        oid: str,
        data: Data | None,
        *,
        context: Mapping[str, Data] | None = None,
        width: int | None = None,
        cached_only: bool = False,
    ) -> str:
        """The text of the value ``data`` of ``oid`` (see :func:`render`).

        Args:
            oid: the instance OID, numeric, no leading dot.
            data: its data dict (``None``: :data:`~console.format.MISSING`).
            context: other values by OID (the same walk, row or notification): the
                InetAddressType of an InetAddress is read there.
            width: cut the text to this many characters.
            cached_only: never search the MIBs (the UI thread): an OID whose object
                :meth:`describe` has not found yet shows plainly.
        """
        if data is None:
            return MISSING
        entry = self._cached(oid) if cached_only else self._entry(oid)
        if entry is None:
            return render(data, None, width=width)
        obj, type_oid = entry
        address_type: int | None = None
        if type_oid is not None and context is not None:
            found = context.get(type_oid)
            if found is not None and isinstance(found.get("value"), int):
                address_type = int(found["value"])
        return render(data, obj, address_type=address_type, width=width)

    def cache_info(self) -> dict[str, int]:
        """``{"size": OIDs cached, "max_size": bound}``."""
        return {"size": len(self._cache), "max_size": self._cache_size}

    def _cached(self, oid: str) -> tuple[MibObject, str | None] | None:
        with self._lock:
            return self._cache.get(oid)

    def _entry(self, oid: str) -> tuple[MibObject, str | None] | None:
        info = self._info()
        with self._lock:
            if info is not self._source:
                self._cache.clear()
                self._source = info
            cache = self._cache
            if oid in cache:
                cache.move_to_end(oid)
                return cache[oid]
        entry = _describe(info, oid) if info is not None else None
        with self._lock:
            cache[oid] = entry
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return entry


def _describe(info: MibInfo, oid: str) -> tuple[MibObject, str | None] | None:
    found = info.instance_of(oid)
    if found is None:
        return None
    obj, suffix = found
    syntax = obj.syntax  # instance_of() gives objects with a SYNTAX
    type_oid: str | None = None
    if syntax is not None and syntax.convention == "InetAddress" and suffix:
        type_oid = _address_type_oid(info, obj, suffix)
    return obj, type_oid


def _address_type_oid(info: MibInfo, obj: MibObject, suffix: tuple[int, ...]) -> str | None:
    """RFC 4001 §3: an InetAddress "MUST" have an InetAddressType object that
    says how to read it, by convention the one defined just before it in the
    same row or group: the nearest preceding sibling whose SYNTAX is
    InetAddressType."""
    parent, arc = obj.oid[:-1], obj.oid[-1]
    best: MibObject | None = None
    for sibling in info.children(parent):
        syntax = sibling.syntax
        if (
            sibling.oid[-1] < arc
            and sibling.kind == obj.kind
            and syntax is not None
            and syntax.convention == "InetAddressType"
        ):
            best = sibling
    if best is None:
        return None
    return ".".join(str(a) for a in best.oid + suffix)
