"""A SET checked against the MIB: the type from the SYNTAX, enumerations by name,
ranges, sizes and MAX-ACCESS, before anything is sent.

The write dialog (:mod:`screens.write`) asks :func:`write_object` which object an
instance OID is (a scalar or a column of a loaded module), then

* offers only the data types the SYNTAX can be sent as (:func:`write_types`: an
  ``INTEGER`` as ``INTEGER``, an OCTET STRING as text or hex, a BITS as hex);
* reads an enumerated INTEGER's value as a label, ``label(n)`` or a number
  (:func:`enum_value`);
* refuses (:func:`check_against_mib`) an object whose MAX-ACCESS is not
  ``read-write``/``read-create`` (RFC 2578 §7.3), a number outside the SYNTAX's
  ranges (§7.1.1, §9 refinements), an enumeration value it does not list, and an
  OCTET STRING whose length in octets is outside its SIZE (§7.1.2) -- each with the
  operator-readable reason.

Pure Python, no Textual.
"""

from __future__ import annotations

import re
from typing import Final

from console.events import JsonValue
from console.snmp.mibmeta import MibInfo, MibObject

__all__ = [
    "check_against_mib",
    "enum_choices",
    "enum_value",
    "syntax_summary",
    "write_object",
    "write_types",
]

_LABELLED: Final = re.compile(r"^\s*([A-Za-z][\w-]*)\s*\(\s*(-?\d+)\s*\)\s*$")
#: DISPLAY-HINT formats that show octets as text (RFC 2579 §3.1: ``a`` ASCII, ``t`` UTF-8).
_TEXT_FORMATS: Final = frozenset("at")


def write_object(info: MibInfo, oid: str) -> MibObject | None:
    """The scalar or column that defines the instance ``oid``, or ``None`` when no
    loaded module defines one (then the dialog keeps its free typed entry)."""
    found = info.instance_of(oid)
    return found[0] if found is not None and found[1] else None


def write_types(obj: MibObject) -> tuple[str, ...]:
    """The data types ``obj``'s SYNTAX can be written as, the most natural first:
    one for a number, address or OID; ``STRING`` and ``STRING_HEX`` for an OCTET
    STRING (hex first when its DISPLAY-HINT shows no text, as ``1x:`` of a
    MacAddress); ``STRING_HEX`` for BITS; ``ARBITRARY`` for an Opaque."""
    syntax = obj.syntax
    if syntax is None:
        return ()
    if syntax.base == "BITS":
        return ("STRING_HEX",)
    if syntax.data_type != "STRING":
        return (syntax.data_type,)
    hint = syntax.display_hint
    textual = not hint or any(c in _TEXT_FORMATS for c in hint.replace("-", ""))
    return ("STRING", "STRING_HEX") if textual else ("STRING_HEX", "STRING")


def enum_choices(obj: MibObject) -> list[tuple[str, int]]:
    """``(label(n), n)`` of every enumeration of ``obj``, in number order (none for
    an object that is not an enumerated INTEGER)."""
    syntax = obj.syntax
    if syntax is None:
        return []
    return [(f"{label}({number})", number) for number, label in sorted(syntax.enums.items())]


def enum_value(obj: MibObject, text: str) -> int:
    """The number an operator's ``text`` names among ``obj``'s enumerations: a label
    (``down``, any case), ``label(n)`` or the number itself.

    Raises:
        ValueError: the text names none of them (the reason lists them).
    """
    syntax = obj.syntax
    enums = syntax.enums if syntax is not None else {}
    stripped = text.strip()
    number: int | None = None
    labelled = _LABELLED.match(stripped)
    if labelled:
        number = int(labelled.group(2))
        if enums.get(number) != labelled.group(1):
            number = None
    elif re.fullmatch(r"-?\d+", stripped):
        number = int(stripped)
    else:
        folded = stripped.casefold()
        number = next((n for n, label in enums.items() if label.casefold() == folded), None)
    if number is None or number not in enums:
        listed = ", ".join(label for label, _ in enum_choices(obj))
        shown = stripped or "(empty)"
        raise ValueError(f"{shown!r} is not a value of {obj.qualified}: one of {listed}")
    return number


def _spans(spans: tuple[tuple[int, int], ...]) -> str:
    return " | ".join(str(low) if low == high else f"{low}..{high}" for low, high in spans)


def check_against_mib(obj: MibObject, data: dict[str, JsonValue]) -> None:
    """Check the data dict of a SET of ``obj`` against its MAX-ACCESS and SYNTAX.

    Args:
        obj: the scalar or column written (:func:`write_object`).
        data: ``{"type", "value"}`` as :func:`screens.write.check_write` makes it
            (an OCTET STRING's value: text for ``STRING``, hex for ``STRING_HEX``).

    Raises:
        ValueError: the operator-readable reason: not writable, not one of the
            enumerations, out of range, the wrong size.
    """
    if not obj.writable:
        access = obj.access or "not writable"
        raise ValueError(
            f"{obj.qualified} is {access} (MAX-ACCESS): it cannot be written; nothing is sent"
        )
    syntax = obj.syntax
    if syntax is None:
        return
    value = data.get("value")
    if syntax.enums and isinstance(value, int) and value not in syntax.enums:
        listed = ", ".join(label for label, _ in enum_choices(obj))
        raise ValueError(f"{value} is not a value of {obj.qualified}: one of {listed}")
    in_range = (
        any(low <= value <= high for low, high in syntax.ranges) if isinstance(value, int) else True
    )
    if syntax.ranges and not syntax.enums and not in_range:
        raise ValueError(f"{value} is out of range for {obj.qualified}: {_spans(syntax.ranges)}")
    if syntax.sizes and isinstance(value, str):
        size = _octets(str(data.get("type")), value)
        if size is not None and not any(low <= size <= high for low, high in syntax.sizes):
            raise ValueError(
                f"{size} octets do not fit {obj.qualified}: SIZE({_spans(syntax.sizes)})"
            )


def _octets(data_type: str, value: str) -> int | None:
    """How many octets ``value`` sends as (``STRING``: UTF-8; ``STRING_HEX``: hex
    pairs), or ``None`` for another type."""
    if data_type == "STRING":
        return len(value.encode("utf-8"))
    if data_type == "STRING_HEX":
        digits = "".join(ch for ch in value if ch in "0123456789abcdefABCDEF")
        return len(digits) // 2
    return None


def syntax_summary(obj: MibObject) -> str:
    """One line of what the MIB allows: ``read-write · DisplayString (OCTET STRING)
    (SIZE(0..255))``."""
    from console.snmp.mibtree import syntax_text

    return f"{obj.access or 'no MAX-ACCESS'} · {syntax_text(obj)}"
