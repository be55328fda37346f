"""What the loaded MIB modules say about an object: kind, SYNTAX, MAX-ACCESS, UNITS,
INDEX, AUGMENTS, a notification's OBJECTS.

:class:`MibInfo` is a read-only view over one pysnmp ``MibBuilder`` (the
:class:`~console.snmp.mib.MibResolver`'s, :attr:`~console.snmp.mib.MibResolver.info`):
it indexes every MIB node by OID once, then answers

* :meth:`MibInfo.find`: the object that defines an instance OID, by longest prefix,
  with the instance suffix (``1.3.6.1.2.1.2.2.1.8.3`` -> ``IF-MIB::ifOperStatus``,
  ``(3,)``) -- what naming, value formatting, the write dialog and trap display need;
* :meth:`MibInfo.object` / :meth:`MibInfo.named`: an object by exact OID or by
  ``(module, name)``;
* :meth:`MibInfo.children`, :meth:`MibInfo.module_objects`,
  :meth:`MibInfo.notifications_carrying`: the tree, for a MIB browser.

The vocabulary is SMIv2's (RFC 2578): an OBJECT-TYPE is a ``scalar``, a ``table``, a
``row`` (its entry, with INDEX or AUGMENTS, §7.7-7.8) or a ``column``; a
NOTIFICATION-TYPE (§8) is a ``notification`` with OBJECTS; textual conventions
(RFC 2579) give a SYNTAX its DISPLAY-HINT. SMIv1 modules compiled by pysmi land in
the same shapes (TRAP-TYPEs as notifications).

Objects are built on first request and kept (a :class:`MibObject` is immutable);
indexing ~500 modules takes a few tens of ms. Pure Python over pysnmp's objects: no
Textual, no I/O.

Where several loaded modules define one OID (``RFC1213-MIB`` and ``IF-MIB`` both
define ``ifDescr``), the module earliest in ``order`` wins (the resolver passes its
load order: bundled SMIv2 modules first).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.oid import parse_oid

__all__ = ["KINDS", "IndexRef", "MibInfo", "MibObject", "MibSyntax", "max_access", "syntax_of"]

#: The kinds of :attr:`MibObject.kind`, after the SMI macro that defines them.
KINDS: Final = (
    "scalar",  # OBJECT-TYPE outside a table
    "table",  # OBJECT-TYPE SEQUENCE OF
    "row",  # the table's entry (INDEX or AUGMENTS)
    "column",  # OBJECT-TYPE inside an entry
    "notification",  # NOTIFICATION-TYPE (SMIv2) or TRAP-TYPE (SMIv1)
    "identity",  # MODULE-IDENTITY, OBJECT-IDENTITY, OBJECT IDENTIFIER assignment
    "group",  # OBJECT-GROUP, NOTIFICATION-GROUP
    "compliance",  # MODULE-COMPLIANCE, AGENT-CAPABILITIES
)

# pysnmp's class names (SNMPv2-SMI / SNMPv2-CONF), most specific first
_KIND_BY_CLASS: Final = (
    ("MibTableColumn", "column"),
    ("MibTableRow", "row"),
    ("MibTable", "table"),
    ("MibScalar", "scalar"),
    ("NotificationType", "notification"),
    ("NotificationGroup", "group"),
    ("ObjectGroup", "group"),
    ("ModuleCompliance", "compliance"),
    ("AgentCapabilities", "compliance"),
    ("ModuleIdentity", "identity"),
    ("ObjectIdentity", "identity"),
    ("MibIdentifier", "identity"),
)

_ACCESSIBLE_KINDS: Final = frozenset({"scalar", "column", "row", "table"})
_VALUE_KINDS: Final = frozenset({"scalar", "column"})

_APPLICATION_TYPES: Final = {
    0: ("IpAddress", "IP_ADDRESS"),
    1: ("Counter32", "COUNTER"),
    2: ("Gauge32", "UNSIGNED"),
    3: ("TimeTicks", "TIME_TICKS"),
    4: ("Opaque", "ARBITRARY"),
    6: ("Counter64", "BIG_COUNTER"),
    7: ("Unsigned32", "UNSIGNED"),
}
_UNIVERSAL_TYPES: Final = {
    2: ("INTEGER", "INTEGER"),
    4: ("OCTET STRING", "STRING"),
    6: ("OBJECT IDENTIFIER", "OBJECT_ID"),
}
# pysnmp's base classes that are not textual conventions
_BASE_CLASSES: Final = frozenset(
    {
        "Integer",
        "Integer32",
        "Unsigned32",
        "Gauge32",
        "Counter32",
        "Counter64",
        "TimeTicks",
        "IpAddress",
        "Opaque",
        "OctetString",
        "ObjectIdentifier",
        "ObjectName",
        "Bits",
        "Null",
    }
)


@dataclass(frozen=True, slots=True)
class MibSyntax:
    """An object's SYNTAX (RFC 2578 §7.1, refined by §9 and textual conventions of
    RFC 2579).

    Attributes:
        base: the SMI base type: ``INTEGER``, ``Integer32`` is reported as
            ``INTEGER`` (same tag), ``Unsigned32``, ``Gauge32``, ``Counter32``,
            ``Counter64``, ``TimeTicks``, ``IpAddress``, ``Opaque``,
            ``OCTET STRING``, ``OBJECT IDENTIFIER`` or ``BITS``.
        data_type: fleettop's data type of its values on the bus (``INTEGER``,
            ``STRING``, ``COUNTER``, ``BIG_COUNTER``, ``UNSIGNED``, ``TIME_TICKS``,
            ``IP_ADDRESS``, ``OBJECT_ID``, ``ARBITRARY``; ``docs/events.md``).
        convention: the textual convention's name (``DisplayString``,
            ``PhysAddress``, ``InetAddress``), or ``None`` for a base type.
        display_hint: the convention's DISPLAY-HINT (``255a``, ``1x:``, ``d-2``),
            or ``""``.
        enums: number -> label of an enumerated INTEGER (``{1: "up", 2: "down"}``).
        bits: bit number -> name of a BITS (``{0: "sunday", 1: "monday"}``).
        ranges: the permitted value ranges, inclusive (``((1, 7),)``), of the most
            specific refinement; the base type's own range when not refined.
        sizes: the permitted sizes in octets of an OCTET STRING / BITS, inclusive
            (``((6, 6),)`` for a fixed length); ``()`` when not refined.
        pysnmp: pysnmp's syntax object (for ``prettyOut``, ``clone``); not compared.
    """

    base: str
    data_type: str
    convention: str | None = None
    display_hint: str = ""
    enums: Mapping[int, str] = field(default_factory=dict)
    bits: Mapping[int, str] = field(default_factory=dict)
    ranges: tuple[tuple[int, int], ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()
    pysnmp: Any = field(default=None, compare=False, repr=False)

    @property
    def fixed_size(self) -> int | None:
        """The one permitted size (``SIZE(6)``), or ``None``."""
        if len(self.sizes) == 1 and self.sizes[0][0] == self.sizes[0][1]:
            return self.sizes[0][0]
        return None


@dataclass(frozen=True, slots=True)
class IndexRef:
    """One object of an INDEX clause (RFC 2578 §7.7): ``(module, name)`` and whether
    it is IMPLIED (no length arc: the last index object takes the rest)."""

    module: str
    name: str
    implied: bool = False


@dataclass(frozen=True, slots=True)
class MibObject:
    """One named node of a loaded MIB module.

    Attributes:
        module: the module that defines it (``IF-MIB``).
        name: its descriptor (``ifOperStatus``).
        oid: its OID, as arcs.
        kind: one of :data:`KINDS`.
        syntax: the SYNTAX of a scalar or column, else ``None``.
        access: MAX-ACCESS (``read-only``, ``read-write``, ``read-create``,
            ``not-accessible``, ``accessible-for-notify``), or ``""``.
        status: STATUS (``current``, ``deprecated``, ``obsolete``, ``mandatory``), or ``""``.
        units: UNITS (``seconds``), or ``""``.
        description: DESCRIPTION, or ``""`` when the module was compiled or loaded
            without texts.
        index: a row's INDEX, also given on each of its columns (for an AUGMENTS row,
            the augmented row's INDEX).
        augments: ``(module, name)`` of the row an AUGMENTS row extends, else ``None``.
        objects: a notification's OBJECTS, or a group's members, ``(module, name)`` each.
    """

    module: str
    name: str
    oid: tuple[int, ...]
    kind: str
    syntax: MibSyntax | None = None
    access: str = ""
    status: str = ""
    units: str = ""
    description: str = ""
    index: tuple[IndexRef, ...] = ()
    augments: tuple[str, str] | None = None
    objects: tuple[tuple[str, str], ...] = ()

    @property
    def qualified(self) -> str:
        """``MODULE::name``."""
        return f"{self.module}::{self.name}"

    @property
    def writable(self) -> bool:
        """True when MAX-ACCESS allows a SET (``read-write`` or ``read-create``)."""
        return self.access in ("read-write", "read-create")

    @property
    def readable(self) -> bool:
        """True when a GET can return it (a scalar or column readable by MAX-ACCESS)."""
        return self.kind in ("scalar", "column") and self.access not in (
            "not-accessible",
            "accessible-for-notify",
        )


def _tag_types(syntax: Any) -> tuple[str, str]:
    try:
        tag = syntax.tagSet[0]
    except (AttributeError, IndexError, TypeError):
        return ("OCTET STRING", "ARBITRARY")
    if tag.tagClass == 0x40:
        return _APPLICATION_TYPES.get(tag.tagId, ("Opaque", "ARBITRARY"))
    if tag.tagClass == 0:
        return _UNIVERSAL_TYPES.get(tag.tagId, ("OCTET STRING", "ARBITRARY"))
    return ("OCTET STRING", "ARBITRARY")


def _constraint_ranges(constraint: Any, wanted: str) -> list[tuple[int, int]]:
    """Ranges of the most specific ``wanted`` constraint (``ValueRangeConstraint`` or
    ``ValueSizeConstraint``) in pyasn1's constraint tree: a union's alternatives, the
    last refinement winning over the base type's."""
    found: list[tuple[int, int]] = []
    name = type(constraint).__name__
    if name == wanted:
        low, high = constraint._values  # pyasn1 keeps (start, end) there
        return [(int(low), int(high))]
    if name in ("ConstraintsIntersection", "ConstraintsUnion"):
        if name == "ConstraintsUnion":
            union: list[tuple[int, int]] = []
            for item in constraint:
                union.extend(_constraint_ranges(item, wanted))
            return union
        for item in constraint:
            inner = _constraint_ranges(item, wanted)
            if inner:
                found = inner  # later refinements are more specific
    return found


def syntax_of(syntax: Any) -> MibSyntax:
    """A :class:`MibSyntax` from a pysnmp syntax object (a column's ``syntax``).

    Never raises: an unusual object gets ``OCTET STRING``/``ARBITRARY`` and no
    refinements.
    """
    base, data_type = _tag_types(syntax)
    classes = [klass.__name__ for klass in type(syntax).__mro__]
    is_bits = "Bits" in classes
    if is_bits:
        base = "BITS"
    convention: str | None = None
    if "TextualConvention" in classes:
        # generated code names the per-object subclass _Xxx_Type; the TC is the next
        convention = next(
            (
                name
                for name in classes
                if not (name.startswith("_") and name.endswith("_Type"))
                and name not in _BASE_CLASSES
                and name != "TextualConvention"
            ),
            None,
        )
    hint = getattr(syntax, "displayHint", "")
    named = getattr(syntax, "namedValues", None)
    labels: dict[int, str] = {}
    if named:
        try:
            labels = {int(number): str(label) for label, number in named.items()}
        except (TypeError, ValueError):
            labels = {}
    spec = getattr(syntax, "subtypeSpec", None)
    ranges: list[tuple[int, int]] = []
    sizes: list[tuple[int, int]] = []
    if spec is not None:
        try:
            ranges = _constraint_ranges(spec, "ValueRangeConstraint")
            sizes = _constraint_ranges(spec, "ValueSizeConstraint")
        except (AttributeError, TypeError, ValueError):
            ranges, sizes = [], []
    if convention == "RowStatus":
        labels.pop(0, None)  # pysnmp adds notExists(0) for its agent; RFC 2579 has 1..6
    if data_type not in ("INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER", "TIME_TICKS"):
        ranges = []
    if (data_type != "STRING" and base != "BITS") or sizes == [(0, 65535)]:
        sizes = []  # 0..65535 is every OCTET STRING's (RFC 2578 §7.1.2)
    return MibSyntax(
        base=base,
        data_type=data_type,
        convention=convention,
        display_hint=hint if isinstance(hint, str) else "",
        enums={} if is_bits else labels,
        bits=labels if is_bits else {},
        ranges=tuple(ranges),
        sizes=tuple(sizes),
        pysnmp=syntax,
    )


def _text(node: Any, getter: str) -> str:
    method = getattr(node, getter, None)
    if method is None:
        return ""
    try:
        value = method()
    except Exception:  # pysnmp getters on half-built nodes
        return ""
    return str(value) if value else ""


#: MAX-ACCESS as pysnmp 4-era generated code spells it (pysmi 0.0.x, as in PyPI's
#: pysnmp-mibs: ``setMaxAccess("readonly")``) -> as SMI writes it (RFC 2578 §7.3).
_ACCESS_SPELLINGS: Final = {
    "readonly": "read-only",
    "readwrite": "read-write",
    "readcreate": "read-create",
    "noaccess": "not-accessible",
    "notaccessible": "not-accessible",
    "accessiblefornotify": "accessible-for-notify",
    "writeonly": "write-only",
}


def max_access(node: Any) -> str:
    """A pysnmp MIB node's MAX-ACCESS as SMI writes it (``read-only``,
    ``read-write``, ``read-create``, ``not-accessible``, ``accessible-for-notify``),
    whichever pysmi generation compiled its module; ``""`` when it has none."""
    text = _text(node, "getMaxAccess")
    return _ACCESS_SPELLINGS.get(text, text)


def _kind(node: Any) -> str | None:
    classes = {klass.__name__ for klass in type(node).__mro__}
    if "MibScalarInstance" in classes:
        return None  # an agent's instance, not a MIB definition
    for name, kind in _KIND_BY_CLASS:
        if name in classes:
            return kind
    return None


class MibInfo:
    """Read-only queries over the objects of one pysnmp ``MibBuilder``.

    Args:
        mib_builder: pysnmp's ``MibBuilder`` with the modules loaded.
        order: module preference where several define one OID (earliest wins);
            modules not listed follow in the builder's order.

    Usage::

        info = resolver.info                       # MibResolver, after load()
        found = info.find("1.3.6.1.2.1.2.2.1.8.3")
        obj, suffix = found                        # IF-MIB::ifOperStatus, (3,)
        obj.syntax.enums[2]                        # 'down'
        info.named("IF-MIB", "ifEntry").index      # (IndexRef('IF-MIB', 'ifIndex'),)
        info.named("IF-MIB", "linkDown").objects   # (('IF-MIB', 'ifIndex'), ...)

    Thread-safe for reading (objects built concurrently are equal; one is kept).
    """

    def __init__(self, mib_builder: Any, order: Sequence[str] = ()) -> None:
        self._builder = mib_builder
        symbols: Mapping[str, Mapping[str, Any]] = mib_builder.mibSymbols
        modules = [m for m in order if m in symbols]
        modules += [m for m in symbols if m not in modules and not m.startswith("__")]
        nodes: dict[tuple[int, ...], tuple[str, Any]] = {}
        by_name: dict[tuple[str, str], tuple[int, ...]] = {}
        augmented_by: dict[tuple[str, str], tuple[str, str]] = {}
        for module in modules:
            for key, node in symbols[module].items():
                if _kind(node) is None:
                    continue
                try:
                    oid = tuple(int(arc) for arc in node.getName())
                except (AttributeError, TypeError, ValueError):
                    continue
                if not oid:
                    continue
                name = str(getattr(node, "label", "") or key)
                by_name.setdefault((module, name), oid)
                nodes.setdefault(oid, (module, node))
                for augmenting in getattr(node, "augmentingRows", None) or ():
                    augmented_by.setdefault(tuple(augmenting), (module, name))
        self._nodes = nodes
        self._by_name = by_name
        self._augments = augmented_by
        self._sorted = sorted(nodes)
        self._built: dict[tuple[int, ...], MibObject] = {}
        self._module_oids: dict[str, list[tuple[tuple[int, ...], str]]] = {}
        for (module, name), oid in by_name.items():
            self._module_oids.setdefault(module, []).append((oid, name))
        self._modules = tuple(m for m in modules if m in self._module_oids)
        self._carriers: dict[tuple[str, str], tuple[tuple[int, ...], ...]] | None = None

    def __len__(self) -> int:
        """How many named nodes the loaded modules define (one per OID)."""
        return len(self._nodes)

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules that define at least one node, in preference order."""
        return self._modules

    def object(self, oid: str | Sequence[int]) -> MibObject | None:
        """The node at exactly ``oid`` (numeric text or arcs), or ``None``.

        Raises:
            ValueError: ``oid`` is text that is not a numeric OID.
        """
        arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
        return self._object(arcs)

    def find(self, oid: str | Sequence[int]) -> tuple[MibObject, tuple[int, ...]] | None:
        """The node that defines ``oid`` by longest prefix, with the rest of the OID
        (the instance suffix: ``(0,)`` for a scalar, the INDEX arcs for a column), or
        ``None`` when no loaded module defines a prefix of it (besides the SMI's
        skeleton, ``iso`` .. ``enterprises``, which are ``identity`` nodes and do
        count: callers check :attr:`MibObject.kind`).

        Raises:
            ValueError: ``oid`` is text that is not a numeric OID.
        """
        arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
        for end in range(len(arcs), 0, -1):
            found = self._object(arcs[:end])
            if found is not None:
                if found.kind not in ("scalar", "column"):
                    # an OID a module assigns below an object type is an instance of
                    # it (DISMAN-EVENT-MIB's sysUpTimeInstance is sysUpTime.0)
                    leaf = self._object_type_above(arcs, end)
                    if leaf is not None:
                        return leaf
                return found, arcs[end:]
        return None

    def _object_type_above(
        self, arcs: tuple[int, ...], end: int
    ) -> tuple[MibObject, tuple[int, ...]] | None:
        """The scalar or column that contains ``arcs[:end]``, with the suffix."""
        for up in range(end - 1, 0, -1):
            above = self._object(arcs[:up])
            if above is None:
                continue
            if above.kind in ("scalar", "column"):
                return above, arcs[up:]
            if above.kind in ("row", "table"):
                return None
        return None

    def instance_of(self, oid: str | Sequence[int]) -> tuple[MibObject, tuple[int, ...]] | None:
        """The scalar or column (an object with a SYNTAX) that defines the instance
        ``oid``, with the instance suffix; ``None`` when ``oid`` is malformed or no
        loaded module defines such an object for it (only a table, a group or a
        bare subtree) -- what formatting a value and writing one both ask."""
        try:
            found = self.find(oid)
        except ValueError:
            return None
        if found is None or found[0].kind not in _VALUE_KINDS or found[0].syntax is None:
            return None
        return found

    def named(self, module: str, name: str) -> MibObject | None:
        """The node ``module::name`` (exact spelling), or ``None``."""
        oid = self._by_name.get((module, name))
        if oid is None:
            return None
        found = self._object(oid)
        if found is not None and found.module != module:
            # another module is preferred for this OID: describe it as asked
            return self._build(oid, module, self._node_of(module, name))
        return found

    def children(self, oid: str | Sequence[int]) -> list[MibObject]:
        """The named nodes whose nearest named ancestor is ``oid``, in OID order (the
        MIB tree's next level; unnamed intermediate arcs are skipped)."""
        arcs = parse_oid(oid) if isinstance(oid, str) else tuple(oid)
        start = bisect.bisect_right(self._sorted, arcs)
        found: list[MibObject] = []
        depth = len(arcs)
        position = start
        while position < len(self._sorted):
            candidate = self._sorted[position]
            if candidate[:depth] != arcs:
                break
            obj = self._object(candidate)
            if obj is not None:
                found.append(obj)
            # skip candidate's own subtree: those are grandchildren
            position = bisect.bisect_left(self._sorted, (*candidate, 2**63), position + 1)
        return found

    def module_objects(self, module: str) -> list[MibObject]:
        """Every node ``module`` defines, in OID order (described as that module
        defines it, even where another module is preferred for the OID)."""
        objects = []
        for oid, name in sorted(self._module_oids.get(module, ())):
            found = self._object(oid)
            if found is not None and found.module == module:
                objects.append(found)
                continue
            node = self._node_of(module, name)
            if node is not None:
                objects.append(self._build(oid, module, node))
        return objects

    def notifications_carrying(self, module: str, name: str) -> list[MibObject]:
        """The notifications whose OBJECTS include ``module::name`` (for a browser's
        "sent in" line: ``ifOperStatus`` -> ``linkDown``, ``linkUp``)."""
        if self._carriers is None:
            carriers: dict[tuple[str, str], list[tuple[int, ...]]] = {}
            for oid, (_module, node) in self._nodes.items():
                if _kind(node) != "notification":
                    continue
                for item in _objects(node):
                    carriers.setdefault(item, []).append(oid)
            self._carriers = {key: tuple(value) for key, value in carriers.items()}
        found = (self._object(oid) for oid in self._carriers.get((module, name), ()))
        return [obj for obj in found if obj is not None]

    def search(self, needle: str, *, limit: int = 200) -> list[MibObject]:
        """Nodes whose name contains ``needle`` (case-insensitive) or whose OID starts
        with it, in OID order, at most ``limit``."""
        text = needle.strip().casefold()
        if not text:
            return []
        numeric = text.lstrip(".")
        found: list[MibObject] = []
        for (module, name), oid in self._by_name.items():
            dotted = ".".join(map(str, oid))
            if text in name.casefold() or (numeric[:1].isdigit() and dotted.startswith(numeric)):
                obj = self._object(oid)
                if obj is not None and obj.module == module:
                    found.append(obj)
        found.sort(key=lambda obj: obj.oid)
        return found[:limit]

    # -- building ---------------------------------------------------------------------

    def _node_of(self, module: str, name: str) -> Any:
        try:
            (node,) = self._builder.import_symbols(module, name)
        except Exception:  # pysnmp raises its own SmiError family
            return None
        return node

    def _object(self, arcs: tuple[int, ...]) -> MibObject | None:
        built = self._built.get(arcs)
        if built is not None:
            return built
        entry = self._nodes.get(arcs)
        if entry is None:
            return None
        module, node = entry
        return self._built.setdefault(arcs, self._build(arcs, module, node))

    def _build(self, oid: tuple[int, ...], module: str, node: Any) -> MibObject:
        kind = _kind(node) or "identity"
        name = str(getattr(node, "label", "") or "")
        syntax = None
        if kind in ("scalar", "column"):
            raw = getattr(node, "syntax", None)
            syntax = syntax_of(raw) if raw is not None else None
        index: tuple[IndexRef, ...] = ()
        augments: tuple[str, str] | None = None
        if kind == "row":
            index = _index(node)
            augments = self._augments.get((module, name))
        elif kind == "column":
            row = self._nodes.get(oid[:-1])
            if row is not None and _kind(row[1]) == "row":
                index = _index(row[1])
        objects: tuple[tuple[str, str], ...] = ()
        if kind in ("notification", "group"):
            objects = _objects(node)
        return MibObject(
            module=module,
            name=name,
            oid=oid,
            kind=kind,
            syntax=syntax,
            access=max_access(node) if kind in _ACCESSIBLE_KINDS else "",
            status=_text(node, "getStatus"),
            units=_text(node, "getUnits"),
            description=_text(node, "getDescription"),
            index=index,
            augments=augments,
            objects=objects,
        )


def _index(row: Any) -> tuple[IndexRef, ...]:
    try:
        names: Iterable[Any] = row.getIndexNames()
    except Exception:
        return ()
    refs = []
    for item in names:
        try:
            implied, module, name = item
        except (TypeError, ValueError):
            continue
        refs.append(IndexRef(str(module), str(name), bool(implied)))
    return tuple(refs)


def _objects(node: Any) -> tuple[tuple[str, str], ...]:
    try:
        items: Iterable[Any] = node.getObjects()
    except Exception:
        return ()
    found = []
    for item in items or ():
        try:
            module, name = item
        except (TypeError, ValueError):
            continue
        found.append((str(module), str(name)))
    return tuple(found)
