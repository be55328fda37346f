"""Values as their MIB defines them: RFC 2579 DISPLAY-HINTs, enumerations, BITS,
InetAddress and UNITS, as pure functions (no pysnmp, no MIB loading, no Textual).

The MIB-aware side (which hint, which enumeration, which units an OID has) is
:mod:`console.snmp.valuefmt`; these functions take what it found:

* :func:`octets_by_hint` -- an OCTET STRING by its DISPLAY-HINT (RFC 2579 §3.1):
  ``"1x:"`` -> ``00:0c:29:a4:5b:07``, ``"255a"``, ``"2d-1d-1d,1d:1d:1d.1d,1a1d:1d"``
  (DateAndTime) -> ``1992-5-26,13:30:15.0,-4:0``, ``*`` repeat counts with
  separators and terminators;
* :func:`integer_by_hint` -- an INTEGER by its DISPLAY-HINT: ``"d-2"`` -> ``12.34``,
  ``"x"``, ``"o"``, ``"b"``;
* :func:`enum_label` -- ``up(1)``; :func:`bits_labels` -- ``zero(0) two(2)``;
* :func:`inet_address` -- an InetAddress (RFC 4001) by its InetAddressType;
* :func:`with_units` -- ``5 seconds``.

Why not pysnmp's ``TextualConvention.prettyOut`` (pysnmp 7.1.30), which implements
DISPLAY-HINTs too: it is wrong where RFC 2579 is explicit. Integer ``x`` gives
``0xff`` and ``o`` ``010`` (RFC: the digits only), ``b`` appends a ``B``; every ``x``
octet group is ``%02x`` whatever its length (``2x:`` gives ``fe80:00:00:...``, the
mixed form issue #13 saw in index names); a repeat with a terminator drops the
separator between the repeated items; when the hint is used up with octets left it
starts the hint again instead of reusing its last specification (RFC 2579 §3.1:
"the last octet-format specification is re-interpreted"). So fleettop formats
hints here, and ``tests/test_displayhint.py`` holds the RFC's rules and examples.

Where fleettop differs from Net-SNMP's output on purpose (``docs/mibs.md``,
"Values"): ``x`` octets always take two hex digits per octet (Net-SNMP drops leading
zeros: ``0:c:29:a4:5b:7``); a fixed-point ``d-2`` below one keeps its zero
(``-0.05``, Net-SNMP ``-.05``); ``b`` drops leading zeros as RFC 2579 says (Net-SNMP
pads to 32 digits); a separator right before a repeat terminator is left out as RFC
2579 says (Net-SNMP prints both); the last group of a value shorter than its octet
length uses the octets there are (Net-SNMP reads past the end).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = [
    "INET_ADDRESS_TYPES",
    "HintError",
    "OctetSpec",
    "bits_labels",
    "enum_label",
    "inet_address",
    "integer_by_hint",
    "octets_by_hint",
    "parse_octet_hint",
    "text_of_octets",
    "with_units",
]

#: InetAddressType (RFC 4001): value -> name.
INET_ADDRESS_TYPES: Final[Mapping[int, str]] = {
    0: "unknown",
    1: "ipv4",
    2: "ipv6",
    3: "ipv4z",
    4: "ipv6z",
    16: "dns",
}
_DIGITS: Final = "0123456789"
_INTEGER_FORMATS: Final = {"x": "x", "o": "o", "b": "b"}


class HintError(ValueError):
    """A DISPLAY-HINT that RFC 2579 §3.1 does not allow (``"1q"``, ``"x-2"``, ``""``).

    The message names the hint and what is wrong, e.g. ``DISPLAY-HINT '1q': unknown
    display format 'q'``."""


@dataclass(frozen=True, slots=True)
class OctetSpec:
    """One octet-format specification of an OCTET STRING DISPLAY-HINT (RFC 2579
    §3.1, its five parts).

    Attributes:
        repeat: ``*`` was given: the next octet of the value is a repeat count.
        length: octets of the value each application uses (may be 0).
        format: ``x`` hexadecimal, ``d`` decimal, ``o`` octal, ``a`` ASCII, ``t`` UTF-8.
        separator: shown after each application, or ``""``.
        terminator: shown after all the repetitions (only with ``repeat`` and a
            separator), or ``""``.
    """

    repeat: bool
    length: int
    format: str
    separator: str
    terminator: str


@lru_cache(maxsize=512)
def parse_octet_hint(hint: str) -> tuple[OctetSpec, ...]:
    """Parse an OCTET STRING DISPLAY-HINT into its octet-format specifications.

    ``"1x:"`` -> one spec (length 1, hex, separator ``:``);
    ``"2d-1d-1d,1d:1d:1d.1d,1a1d:1d"`` -> eight specs.

    Raises:
        HintError: an empty hint, a specification without its octet length or display
            format, or a format other than ``x d o a t``.
    """
    specs: list[OctetSpec] = []
    position, end = 0, len(hint)
    if not hint:
        raise HintError("DISPLAY-HINT '': empty")
    while position < end:
        repeat = hint[position] == "*"
        position += repeat
        start = position
        while position < end and hint[position] in _DIGITS:
            position += 1
        if position == start:
            raise HintError(f"DISPLAY-HINT {hint!r}: an octet length is missing at {start}")
        length = int(hint[start:position])
        if position >= end:
            raise HintError(f"DISPLAY-HINT {hint!r}: the display format is missing")
        code = hint[position]
        if code not in "xdoat":
            raise HintError(f"DISPLAY-HINT {hint!r}: unknown display format {code!r}")
        position += 1
        separator = terminator = ""
        if position < end and hint[position] not in _DIGITS and hint[position] != "*":
            separator = hint[position]
            position += 1
            if repeat and position < end and hint[position] not in _DIGITS + "*":
                terminator = hint[position]
                position += 1
        specs.append(OctetSpec(repeat, length, code, separator, terminator))
    return tuple(specs)


def octets_by_hint(hint: str, octets: bytes) -> str:
    """Render ``octets`` by an OCTET STRING DISPLAY-HINT (RFC 2579 §3.1).

    The specifications are applied in order, each using its octet length of the
    value (fewer when fewer remain), the repeat indicator ``*`` taking the next
    octet as a count; a separator follows each application unless the repeat
    terminator comes next; neither a separator nor a terminator ends the display.
    Octets left when the hint is used up are rendered by its last specification
    again and again; specifications left when the octets are used up are ignored.

    ``x`` gives two hex digits per octet (``1x:`` -> ``00:0c:29:a4:5b:07``), ``d``
    and ``o`` the unsigned big-endian number of the octets without leading zeros,
    ``a`` and ``t`` text (UTF-8 where it decodes, else each undecodable octet as
    ``\\xNN``; control characters are left to the caller, see
    :func:`console.format.printable`).

    >>> octets_by_hint("2d-1d-1d,1d:1d:1d.1d,1a1d:1d", bytes.fromhex("07c8051a0d1e0f002d0400"))
    '1992-5-26,13:30:15.0,-4:0'

    Raises:
        HintError: the hint is malformed (:func:`parse_octet_hint`), or its last
            specification uses no octet while octets remain (it would never end).
    """
    specs = parse_octet_hint(hint)
    out: list[str] = []
    trailers = 0  # separators and terminators at the end of out, not shown there
    position, size = 0, len(octets)
    index = 0
    while position < size:
        spec = specs[index]
        count = 1
        if spec.repeat:
            count = octets[position]
            position += 1
        before = position
        for item in range(count):
            if position >= size:
                break
            chunk = octets[position : position + spec.length]
            position += len(chunk)
            out.append(_render(spec.format, chunk))
            trailers = 0
            last = item == count - 1 or position >= size
            if spec.separator and not (last and spec.terminator):
                out.append(spec.separator)
                trailers += 1
        if spec.terminator:
            out.append(spec.terminator)
            trailers += 1
        if index < len(specs) - 1:
            index += 1
        elif position == before and not spec.repeat:
            # a last specification of length 0 would never use up the octets
            raise HintError(f"DISPLAY-HINT {hint!r}: its last specification uses no octet")
    return "".join(out[: len(out) - trailers])


def _render(code: str, chunk: bytes) -> str:
    if code == "x":
        return chunk.hex()
    if code == "d":
        return str(int.from_bytes(chunk, "big")) if chunk else ""
    if code == "o":
        return format(int.from_bytes(chunk, "big"), "o") if chunk else ""
    return text_of_octets(chunk)


def text_of_octets(octets: bytes) -> str:
    """UTF-8 text of ``octets``; an octet that does not decode is shown as ``\\xNN``."""
    return octets.decode("utf-8", errors="backslashreplace")


def integer_by_hint(hint: str, value: int) -> str:
    """Render an INTEGER (Integer32, Unsigned32, Gauge32...) by its DISPLAY-HINT
    (RFC 2579 §3.1): ``d`` (``d-N``: N implied decimal places), ``x``, ``o``, ``b``;
    leading zeros are omitted and a negative value has its minus sign right before
    the digits.

    >>> integer_by_hint("d-2", 1234), integer_by_hint("d-2", -5), integer_by_hint("x", 255)
    ('12.34', '-0.05', 'ff')

    Raises:
        HintError: another hint (``"d-x"``, ``"x-2"``, ``"255a"``).
    """
    code, dash, places_text = hint.partition("-")
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if code == "d":
        if not dash:
            return str(value)
        if not (places_text.isascii() and places_text.isdigit()):
            raise HintError(f"DISPLAY-HINT {hint!r}: 'd-' needs a number of decimal places")
        places = int(places_text)
        if places == 0:
            return str(value)
        whole, fraction = divmod(magnitude, 10**places)
        return f"{sign}{whole}.{fraction:0{places}d}"
    spec = _INTEGER_FORMATS.get(code)
    if spec is None or dash:
        raise HintError(f"DISPLAY-HINT {hint!r}: not an INTEGER hint (d, d-N, x, o, b)")
    return f"{sign}{magnitude:{spec}}"


def enum_label(value: int, names: Mapping[int, str]) -> str:
    """``up(1)`` for an enumerated INTEGER, as Net-SNMP prints it; the bare number
    for a value the enumeration does not name (an agent may send one)."""
    name = names.get(value)
    return f"{name}({value})" if name is not None else str(value)


def bits_labels(octets: bytes, names: Mapping[int, str]) -> str:
    """The set bits of a BITS value (RFC 2578 §7.1.4: bit 0 is the most significant
    bit of the first octet), by name: ``zero(0) two(2) nine(9)``; a set bit the
    definition does not name shows as its number (``12``). No bit set: ``""``.
    """
    labels: list[str] = []
    for number, octet in enumerate(octets):
        if not octet:
            continue
        for bit in range(8):
            if octet & (0x80 >> bit):
                position = number * 8 + bit
                name = names.get(position)
                labels.append(f"{name}({position})" if name is not None else str(position))
    return " ".join(labels)


def inet_address(octets: bytes, address_type: int | None = None) -> str:
    """An InetAddress (RFC 4001) as text, by its InetAddressType when known.

    ``ipv4(1)`` dotted, ``ipv6(2)`` as RFC 5952 (``fe80::212:79ff:fe62:f940``), the
    zoned forms with ``%`` and the zone index (``ipv4z(3)``, ``ipv6z(4)``), ``dns(16)``
    as text; ``unknown(0)`` (or no type) by the length: 4 octets IPv4, 16 IPv6, 8 and
    20 the zoned forms, empty ``""``, anything else as hex byte pairs (text when
    the type says ``dns``). A length that does not fit its type shows as hex too.
    """
    size = len(octets)
    kind = address_type
    if kind is None or kind == 0:
        kind = {4: 1, 16: 2, 8: 3, 20: 4}.get(size, 0)
    if kind == 1 and size == 4:
        return str(ipaddress.IPv4Address(octets))
    if kind == 2 and size == 16:
        return str(ipaddress.IPv6Address(octets))
    if kind == 3 and size == 8:
        return f"{ipaddress.IPv4Address(octets[:4])}%{int.from_bytes(octets[4:], 'big')}"
    if kind == 4 and size == 20:
        return f"{ipaddress.IPv6Address(octets[:16])}%{int.from_bytes(octets[16:], 'big')}"
    if kind == 16:
        return text_of_octets(octets)
    return " ".join(f"{octet:02x}" for octet in octets)


def with_units(text: str, units: str | None) -> str:
    """``5 seconds``: the value's text and the object's UNITS clause, as Net-SNMP
    prints them (``INTEGER: 5 seconds``); the text alone without units."""
    return f"{text} {units}" if units else text
