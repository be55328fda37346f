"""The MIB browser's tree: loaded modules, each opening on its objects nested by OID.

:class:`MibTree` turns a :class:`~console.snmp.mibmeta.MibInfo` into the rows a
virtual list shows (one :class:`MibRow` a line), building a module's objects only
when it is opened (lazy: ~500 modules and 100k objects cost nothing until looked
at). Inside a module an object sits under the nearest object of the same module
whose OID is a prefix of its own (``ifTable`` > ``ifEntry`` > ``ifIndex``), the
way iReasoning's and snmp-tui's browsers draw a module. A search replaces the tree
with a flat list of matches (:meth:`MibTree.show_matches`); clearing it brings the
tree back as it was left. Pure Python, no Textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from console.snmp.mibmeta import MibInfo, MibObject

__all__ = ["MibRow", "MibTree"]


@dataclass(frozen=True, slots=True)
class MibRow:
    """One line of the tree.

    Attributes:
        key: ``MODULE`` for a module, ``MODULE::name`` for an object (unique).
        depth: 0 for a module (or a search match), one more per level.
        module: the module.
        obj: the object, or ``None`` on a module's line.
        children: how many objects sit directly under it (a module: its top
            objects).
        expanded: the row is open.
        count: a module's number of objects (0 for an object).
    """

    key: str
    depth: int
    module: str
    obj: MibObject | None = None
    children: int = 0
    expanded: bool = False
    count: int = 0

    @property
    def label(self) -> str:
        """The module's name, or the object's descriptor."""
        return self.obj.name if self.obj is not None else self.module


class MibTree:
    """The browser's rows over ``info``: modules in name order, opened lazily.

    Args:
        info: the loaded modules' objects.
    """

    def __init__(self, info: MibInfo) -> None:
        self.info = info
        self.modules: tuple[str, ...] = tuple(sorted(info.modules, key=str.casefold))
        self._expanded: set[str] = set()
        self._nested: dict[str, dict[str | None, list[MibObject]]] = {}
        self._matches: list[MibObject] | None = None

    @property
    def searching(self) -> bool:
        """True while a search's matches replace the tree."""
        return self._matches is not None

    def nested(self, module: str) -> dict[str | None, list[MibObject]]:
        """``module``'s objects by parent key (``None``: the module's top), in OID
        order; built on first use and kept."""
        found = self._nested.get(module)
        if found is None:
            found = {}
            stack: list[MibObject] = []
            for obj in self.info.module_objects(module):
                while stack and obj.oid[: len(stack[-1].oid)] != stack[-1].oid:
                    stack.pop()
                parent = stack[-1].qualified if stack else None
                found.setdefault(parent, []).append(obj)
                stack.append(obj)
            self._nested[module] = found
        return found

    def keep_open(self, other: MibTree) -> None:
        """Open the rows ``other`` has open (a tree built again over more modules)."""
        self._expanded |= other._expanded

    def toggle(self, key: str, expanded: bool | None = None) -> bool:
        """Open or close the row ``key`` (``expanded``: the state wanted, else the
        other one); True when its state changed."""
        want = key not in self._expanded if expanded is None else expanded
        if want == (key in self._expanded):
            return False
        if want:
            self._expanded.add(key)
        else:
            self._expanded.discard(key)
        return True

    def reveal(self, obj: MibObject) -> None:
        """Open the module and every ancestor of ``obj`` so that its row shows (the
        search is left)."""
        self._matches = None
        self._expanded.add(obj.module)
        nested = self.nested(obj.module)
        parents = {o.qualified: key for key, items in nested.items() for o in items}
        key = parents.get(obj.qualified)
        while key is not None:
            self._expanded.add(key)
            key = parents.get(key)

    def show_matches(self, matches: Sequence[MibObject] | None) -> None:
        """Show ``matches`` as a flat list (``None``: the tree again)."""
        self._matches = list(matches) if matches is not None else None

    def rows(self) -> list[MibRow]:
        """The rows to show, top first."""
        if self._matches is not None:
            return [MibRow(obj.qualified, 0, obj.module, obj) for obj in self._matches]
        rows: list[MibRow] = []
        for module in self.modules:
            open_ = module in self._expanded
            nested = self.nested(module) if open_ else None
            top = nested.get(None, []) if nested is not None else ()
            rows.append(
                MibRow(
                    module,
                    0,
                    module,
                    None,
                    children=len(top) if open_ else 1,
                    expanded=open_,
                    count=sum(map(len, nested.values())) if nested is not None else 0,
                )
            )
            if nested is not None:
                self._add(rows, nested, None, 1)
        return rows

    def _add(
        self,
        rows: list[MibRow],
        nested: dict[str | None, list[MibObject]],
        parent: str | None,
        depth: int,
    ) -> None:
        for obj in nested.get(parent, ()):
            key = obj.qualified
            children = len(nested.get(key, ()))
            open_ = children > 0 and key in self._expanded
            rows.append(MibRow(key, depth, obj.module, obj, children, open_))
            if open_:
                self._add(rows, nested, key, depth + 1)


def syntax_text(obj: MibObject) -> str:
    """An object's SYNTAX as one line, in the words of ``snmptranslate -Td``: the
    textual convention and its base type, the enumerations or named bits, then the
    ranges or sizes (``INTEGER {up(1), down(2)}``, ``DisplayString (OCTET STRING)
    (SIZE(0..255))``, ``Integer32 (1..2147483647)``); ``""`` without a SYNTAX."""
    syntax = obj.syntax
    if syntax is None:
        return ""
    text = syntax.base if syntax.convention is None else f"{syntax.convention} ({syntax.base})"
    named = syntax.enums or syntax.bits
    if named:
        text += " {" + ", ".join(f"{label}({number})" for number, label in named.items()) + "}"
    if syntax.ranges and not syntax.enums:
        text += " (" + " | ".join(_span(low, high) for low, high in syntax.ranges) + ")"
    if syntax.sizes:
        text += " (SIZE(" + " | ".join(_span(low, high) for low, high in syntax.sizes) + "))"
    return text


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}..{high}"


def detail_fields(obj: MibObject, info: MibInfo, description: str = "") -> list[tuple[str, str]]:
    """What the browser shows of ``obj``, as ``(field, text)`` pairs in the order of an
    SMI definition: OID, MODULE, KIND, SYNTAX, DISPLAY-HINT, MAX-ACCESS, STATUS,
    UNITS, INDEX or AUGMENTS (a row and its columns), OBJECTS (a notification or a
    group), NOTIFICATIONS (those whose OBJECTS carry it), DESCRIPTION. Fields the
    object does not have are left out; ``description`` is the DESCRIPTION text
    (:class:`~console.snmp.mibtexts.MibTexts`)."""
    fields: list[tuple[str, str]] = [
        ("OID", ".".join(map(str, obj.oid))),
        ("MODULE", obj.module),
        ("KIND", obj.kind),
    ]
    syntax = obj.syntax
    if syntax is not None:
        fields.append(("SYNTAX", syntax_text(obj)))
        if syntax.display_hint:
            fields.append(("DISPLAY-HINT", syntax.display_hint))
    if obj.access:
        fields.append(("MAX-ACCESS", obj.access))
    if obj.status:
        fields.append(("STATUS", obj.status))
    if obj.units:
        fields.append(("UNITS", obj.units))
    if obj.augments is not None:
        fields.append(("AUGMENTS", f"{obj.augments[0]}::{obj.augments[1]}"))
    if obj.index:
        index = ", ".join(
            ("IMPLIED " if ref.implied else "") + f"{ref.module}::{ref.name}" for ref in obj.index
        )
        fields.append(("INDEX", index))
    if obj.objects:
        fields.append(("OBJECTS", ", ".join(f"{m}::{n}" for m, n in obj.objects)))
    if obj.kind in ("scalar", "column"):
        carriers = info.notifications_carrying(obj.module, obj.name)
        if carriers:
            fields.append(("NOTIFICATIONS", ", ".join(n.qualified for n in carriers)))
    text = description or obj.description
    if text:
        fields.append(("DESCRIPTION", text))
    return fields
