"""MIB names as text: an instance suffix as Net-SNMP 5.9 writes it, and back.

:func:`netsnmp_index` writes the instance suffix of a columnar object by its row's
INDEX clause (RFC 2578 §7.7) exactly as Net-SNMP's ``snmpwalk`` does by default
(``_get_realloc_symbol`` in ``snmplib/mib.c``); :func:`index_tokens` and
:func:`encode_index` (with :func:`read_index`, which also reads Net-SNMP's numeric
fallback) turn such a suffix, typed by an operator, back into arcs. The index objects
come from :mod:`console.snmp.mibmeta` (:func:`index_object`). Also the small helpers
of :class:`console.snmp.mib.MibResolver`: :func:`preference` (which module names an
OID), :func:`split_module`, :func:`prefixed` (completion), :func:`suggest` ("did you
mean").

Pure functions: no pysnmp, no I/O.
"""

from __future__ import annotations

import bisect
import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from console.snmp.mibmeta import MibObject

__all__ = [
    "MODULE_NOT_LOADED",
    "NOT_LOADED",
    "SUPERSEDED_MODULES",
    "IndexObject",
    "MibNode",
    "encode_index",
    "index_labels",
    "index_object",
    "index_tokens",
    "netsnmp_index",
    "preference",
    "prefixed",
    "read_index",
    "split_module",
    "suggest",
]


@dataclass(frozen=True, slots=True)
class IndexObject:
    """One object of an INDEX clause, as its value is encoded in an instance OID.

    Attributes:
        name: the index object (``ipAddressAddr``).
        kind: ``INTEGER`` (one arc: every integer type), ``IP_ADDRESS`` (four),
            ``STRING`` (a length then the octets, or its fixed size, or the rest
            when IMPLIED), ``OBJECT_ID`` (a length then the arcs, or the rest), or
            ``RAW`` (not decoded: BITS, Opaque, SMIv1's NetworkAddress).
        implied: IMPLIED (RFC 2578 §7.7: no length arc; the last object only).
        length: the fixed size of a ``STRING`` of one size (``SIZE(6)``), or ``None``.
        enums: number -> label of an enumerated INTEGER.
        tc: its textual convention (``InetAddressType``, ``InetAddress``), or "".
        data_type: fleettop's data type of its values (``COUNTER``...).
    """

    name: str
    kind: str
    implied: bool = False
    length: int | None = None
    enums: Mapping[int, str] = field(default_factory=dict)
    tc: str = ""
    data_type: str = "INTEGER"


#: ``InetAddressType`` values whose ``InetAddress`` Net-SNMP writes as an address
#: (RFC 4001 §3: ipv4, ipv6, ipv4z, ipv6z) -> the number of octets.
_INET_SIZES: Final = {1: 4, 2: 16, 3: 8, 4: 20}


def _netsnmp_string(arcs: Sequence[int], quote: str) -> str:
    """An OCTET STRING index as Net-SNMP 5.9 writes it (``dump_realloc_oid_to_string``):
    between ``quote``s, every octet that is not printable ASCII (32..126) as ``.``;
    nothing is escaped."""
    return quote + "".join(chr(a) if 32 <= a <= 126 else "." for a in arcs) + quote


def _netsnmp_inet(kind: int, arcs: Sequence[int]) -> str | None:
    """An ``InetAddress`` index of ``InetAddressType`` ``kind`` as Net-SNMP 5.9 writes
    it (``dump_realloc_oid_to_inetaddress``): ``"10.0.0.1"``, ``"10.0.0.1%3"``,
    ``"fe:80:00:...:40"`` (every octet as two hex digits), ``"...%5"`` for a zone;
    ``None`` (written as a string) for another type or a length that does not fit."""
    if _INET_SIZES.get(kind) != len(arcs) or any(a > 255 for a in arcs):
        return None
    if kind in (1, 3):
        text = ".".join(str(a) for a in arcs[:4])
    else:
        text = ":".join(f"{a:02x}" for a in arcs[:16])
    if kind in (3, 4):
        text += f"%{int.from_bytes(bytes(arcs[-4:]), 'big')}"
    return f'"{text}"'


def netsnmp_index(parts: Sequence[IndexObject], arcs: Sequence[int]) -> str:
    """The instance suffix ``arcs`` of a columnar object whose row has the INDEX
    ``parts``, as Net-SNMP 5.9 writes it by default (``snmpwalk`` without ``-O``
    options; ``_get_realloc_symbol`` in ``snmplib/mib.c``), with its leading dot:

    * an integer as its number, an enumerated one as its label (``ipv4``);
    * an IpAddress dotted (``10.0.0.1``);
    * an OCTET STRING in double quotes (``"public"``), an IMPLIED or fixed-size one
      in single quotes (``'abc'``, a MacAddress ``'..)4..'``), every octet that is
      not printable ASCII as ``.``; an ``InetAddress`` after its ``InetAddressType``
      as the address (``ipv4."0.0.0.0"``, ``ipv6."fe:80:00:...:40"``);
    * an OBJECT IDENTIFIER as its arcs, with its length first unless IMPLIED
      (``.2.0.0``).

    Where an index object does not fit the arcs left (too few, a type Net-SNMP does
    not decode), that object and the rest are the numeric arcs, as Net-SNMP does:
    never an empty index. Arcs left after the last index object are appended.

    Returns:
        ``""`` for no arcs, else ``".ipv4.\\"0.0.0.0\\".161"``-like text.
    """
    pieces: list[str] = []
    rest = tuple(arcs)
    previous: IndexObject | None = None
    last_arc = -1
    for part in parts:
        if not rest:
            break
        used = _netsnmp_piece(part, rest, previous, last_arc, pieces)
        if used == 0:
            break
        last_arc = rest[used - 1]
        rest = rest[used:]
        previous = part
    pieces.extend(str(arc) for arc in rest)
    return "".join(f".{piece}" for piece in pieces)


def _netsnmp_piece(
    part: IndexObject,
    arcs: tuple[int, ...],
    previous: IndexObject | None,
    last_arc: int,
    pieces: list[str],
) -> int:
    """Append ``part``'s text to ``pieces``; return the arcs used (0: does not fit)."""
    kind = part.kind
    if kind == "INTEGER":
        if part.data_type in ("COUNTER", "BIG_COUNTER"):
            return 0  # Net-SNMP does not decode counters in an index
        label = part.enums.get(arcs[0])
        pieces.append(label if label is not None else str(arcs[0]))
        return 1
    if kind == "IP_ADDRESS":
        if len(arcs) < 4:
            return 0
        pieces.append(".".join(str(a) for a in arcs[:4]))
        return 4
    if kind == "OBJECT_ID":
        size = len(arcs) if part.implied else arcs[0] + 1
        if size > len(arcs):
            return 0
        pieces.append(".".join(str(a) for a in arcs[:size]))
        return size
    if kind != "STRING":
        return 0
    if part.implied:
        pieces.append(_netsnmp_string(arcs, "'"))
        return len(arcs)
    if part.length is not None:
        if part.length > len(arcs):
            return 0
        pieces.append(_netsnmp_string(arcs[: part.length], "'"))
        return part.length
    size = arcs[0] + 1
    if size > len(arcs):
        return 0
    body = arcs[1:size]
    text = None
    if part.tc == "InetAddress" and previous is not None and previous.tc == "InetAddressType":
        text = _netsnmp_inet(last_arc, body)
    pieces.append(text if text is not None else _netsnmp_string(body, '"'))
    return size


_TOKEN: Final = re.compile(
    r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^."']+))\s*(?:\.|$)"""
)


def index_tokens(text: str) -> list[str | bytes]:
    """Split a typed instance suffix (after the object name's dot) into its pieces:
    a quoted string (``"public"``, ``'abc'``: its text as bytes, ``\\`` escaping the
    next character) or a bare word (``3``, ``ipv4``), as :func:`netsnmp_index`
    writes them.

    Raises:
        ValueError: an unbalanced quote or an empty piece (``a..b``).
    """
    tokens: list[str | bytes] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the index {text!r} at {text[position:]!r}")
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        if quoted is not None:
            tokens.append(re.sub(r"\\(.)", r"\1", quoted).encode("utf-8"))
        else:
            tokens.append(match.group(3).strip())
        position = match.end()
        if text[match.end() - 1 : match.end()] == "." and position == len(text):
            raise ValueError(f"the index {text!r} ends with a dot")
    return tokens


def _number(token: str | bytes, what: str) -> int:
    if isinstance(token, bytes) or not (token.isascii() and token.isdigit()):
        shown = token.decode("utf-8", "replace") if isinstance(token, bytes) else token
        raise ValueError(f"{shown!r} is not a number ({what})")
    return int(token)


def _inet_arcs(kind: int, text: str) -> tuple[int, ...] | None:
    """The octets of an address written as :func:`_netsnmp_inet` writes it, or in
    its usual form (``fe80::1``); ``None`` when it is not one of ``kind``."""
    address, _, zone = text.partition("%")
    octets: bytes
    if kind in (1, 3):
        try:
            octets = ipaddress.IPv4Address(address).packed
        except ValueError:
            return None
    elif kind in (2, 4):
        pairs = address.split(":")
        if len(pairs) == 16 and all(len(p) == 2 for p in pairs):
            try:
                octets = bytes(int(p, 16) for p in pairs)
            except ValueError:
                return None
        else:
            try:
                octets = ipaddress.IPv6Address(address).packed
            except ValueError:
                return None
    else:
        return None
    if kind in (3, 4):
        if not zone.isdigit() or int(zone) > 0xFFFFFFFF:
            return None
        octets += int(zone).to_bytes(4, "big")
    elif zone:
        return None
    return tuple(octets)


def encode_index(parts: Sequence[IndexObject], tokens: Sequence[str | bytes]) -> tuple[int, ...]:
    """The instance arcs of an index written as :func:`netsnmp_index` writes it
    (split by :func:`index_tokens`): the inverse, for the names an operator types.

    Each index object takes its pieces: an integer a number or one of its
    enumeration labels; an IpAddress four numbers; an OCTET STRING a quoted text (an
    ``InetAddress`` its address: ``"10.0.0.1"``, ``"fe80::1"``), or numbers (its
    length, unless IMPLIED or fixed-size, then the octets); an OBJECT IDENTIFIER
    numbers. Numbers left over are appended as arcs.

    Raises:
        ValueError: a piece that does not fit its index object (the reason names it).
    """
    arcs: list[int] = []
    rest = list(tokens)
    for position, part in enumerate(parts):
        if not rest:
            break
        name = part.name
        token = rest.pop(0)
        if part.kind == "INTEGER":
            if isinstance(token, str) and not token.isdigit():
                labels = {label: number for number, label in part.enums.items()}
                folded = {label.casefold(): number for label, number in labels.items()}
                number = labels.get(token, folded.get(token.casefold()))
                if number is None:
                    known = ", ".join(sorted(labels)) or "a number"
                    raise ValueError(f"{token!r} is not a value of {name} ({known})")
                arcs.append(number)
            else:
                arcs.append(_number(token, name))
        elif part.kind == "IP_ADDRESS":
            if isinstance(token, bytes):
                try:
                    arcs.extend(ipaddress.IPv4Address(token.decode()).packed)
                except ValueError:
                    raise ValueError(f"{token.decode()!r} is not an IpAddress ({name})") from None
            else:
                octets = [_number(token, name)] + [
                    _number(rest.pop(0), name) for _ in range(3) if rest
                ]
                if len(octets) != 4 or any(o > 255 for o in octets):
                    raise ValueError(f"{name} needs an IpAddress: four numbers up to 255")
                arcs.extend(octets)
        elif part.kind == "STRING" and isinstance(token, bytes):
            octets_t: tuple[int, ...] = tuple(token)
            if (
                part.tc == "InetAddress"
                and position > 0
                and parts[position - 1].tc == "InetAddressType"
                and arcs
            ):
                inet = _inet_arcs(arcs[-1], token.decode("utf-8", "replace"))
                if inet is not None:
                    octets_t = inet
            if part.length is not None and len(octets_t) != part.length:
                raise ValueError(f"{name} takes exactly {part.length} octets")
            if not part.implied and part.length is None:
                arcs.append(len(octets_t))
            arcs.extend(octets_t)
        elif part.kind in ("STRING", "OBJECT_ID"):
            if isinstance(token, bytes):
                raise ValueError(f"{name} is an OBJECT IDENTIFIER: write its arcs as numbers")
            first = _number(token, name)
            if part.implied:
                arcs.append(first)
                arcs.extend(_number(t, name) for t in rest)
                rest = []
                continue
            if part.length is not None:
                body = [first] + [_number(t, name) for t in rest[: part.length - 1]]
                del rest[: part.length - 1]
                size = part.length
            else:
                body = [first] + [_number(t, name) for t in rest[:first]]
                del rest[:first]
                size = first + 1
            if len(body) != size:
                raise ValueError(f"{name}: {size} arcs needed, {len(body)} given")
            arcs.extend(body)
        else:
            arcs.append(_number(token, name))
    arcs.extend(_number(token, "an index arc") for token in rest)
    return tuple(arcs)


#: How each SMI base type is encoded in an instance OID (RFC 2578 §7.7), as
#: :class:`~console.tables.schema.IndexPart` kinds; others (BITS, Opaque...) are not
#: decoded (Net-SNMP does not either).
_INDEX_KINDS: Final = {
    "INTEGER": "INTEGER",
    "Unsigned32": "INTEGER",
    "Gauge32": "INTEGER",
    "TimeTicks": "INTEGER",
    "Counter32": "INTEGER",
    "Counter64": "INTEGER",
    "IpAddress": "IP_ADDRESS",
    "OCTET STRING": "STRING",
    "OBJECT IDENTIFIER": "OBJECT_ID",
}


def index_object(obj: MibObject, implied: bool) -> IndexObject:
    """An index object (a :class:`~console.snmp.mibmeta.MibObject` with its SYNTAX)
    as :func:`netsnmp_index` and :func:`encode_index` take it."""
    syntax = obj.syntax
    assert syntax is not None
    # SMIv1's NetworkAddress (a CHOICE pysnmp has no tag for) is ARBITRARY: left
    # numeric, which is what Net-SNMP writes for it too (its type arc, the address)
    kind = "RAW" if syntax.data_type == "ARBITRARY" else _INDEX_KINDS.get(syntax.base, "RAW")
    length = syntax.fixed_size if kind == "STRING" else None
    return IndexObject(
        obj.name,
        kind,
        implied,
        length,
        dict(syntax.enums),
        syntax.convention or "",
        syntax.data_type,
    )


def split_module(text: str) -> tuple[str, str, str]:
    """``("MODULE", "::", "rest")`` of ``MODULE::rest``, or ``("", "", text)`` when no
    ``::`` comes before the index (an address such as ``"fe80::1"`` in a quoted
    index is not a module separator)."""
    cut = len(text)
    for mark in (".", '"', "'"):
        found = text.find(mark)
        if found >= 0:
            cut = min(cut, found)
    position = text.find("::", 0, cut + 1)
    if position < 0:
        return "", "", text
    return text[:position], "::", text[position + 2 :]


def prefixed(keys: Sequence[tuple[str, str]], needle: str, limit: int) -> list[str]:
    """The values of sorted ``(folded key, value)`` pairs whose key starts with
    ``needle``, at most ``limit``."""
    found: list[str] = []
    position = bisect.bisect_left(keys, (needle, ""))
    while position < len(keys) and len(found) < limit:
        key, value = keys[position]
        if not key.startswith(needle):
            break
        found.append(value)
        position += 1
    return found


def suggest(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'a'?"`` / ``"; did you mean 'a', 'b' or 'c'?"`` from
    :func:`difflib.get_close_matches`, or ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.75)
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {options}?"


NOT_LOADED: Final = " (no loaded MIB module defines it: add its MIB source to mib_paths)"
MODULE_NOT_LOADED: Final = " (not loaded: add its MIB source to mib_paths)"


def read_index(parts: Sequence[IndexObject], index_text: str) -> tuple[int, ...]:
    """The arcs of ``index_text``, an instance suffix (after the object's dot) as
    :func:`netsnmp_index` writes it: by every index object, else (as an index that
    does not fit is written) by the first ones, then the numeric arcs of the rest.

    Raises:
        ValueError: it fits neither way (the reason of the full reading).
    """
    tokens = index_tokens(index_text)
    first_error: ValueError | None = None
    fallback: tuple[int, ...] | None = None
    for count in range(len(parts), -1, -1):
        try:
            arcs = encode_index(parts[:count], tokens)
        except ValueError as exc:
            first_error = first_error or exc
            continue
        if count == len(parts) or netsnmp_index(parts, arcs) == f".{index_text}":
            return arcs
        fallback = fallback or arcs
    if fallback is not None:
        return fallback
    raise first_error or ValueError(f"cannot read the index {index_text!r}")


def index_labels(text: str, parts: Sequence[IndexObject]) -> list[str]:
    """``text`` (a name and part of its index) completed with the labels of the
    enumerated index object its last piece is typed for, when every piece before
    it is one arc (an integer or a quoted string)."""
    _name, _dot, index_text = split_module(text)[2].partition(".")
    done, _, partial = index_text.rpartition(".")
    if '"' in partial or "'" in partial:
        return []
    try:
        tokens = index_tokens(done) if done else []
    except ValueError:
        return []
    if len(tokens) >= len(parts):
        return []
    if any(p.kind not in ("INTEGER", "STRING") for p in parts[: len(tokens)]):
        return []
    head = text[: len(text) - len(partial)]
    wanted = partial.casefold()
    return [
        head + label
        for _number, label in sorted(parts[len(tokens)].enums.items())
        if label.casefold().startswith(wanted)
    ]


#: Modules that name an object only when no other loaded module defines it: SMIv1
#: MIB-II (RFC 1213), replaced by SNMPv2-MIB, IF-MIB, IP-MIB, TCP-MIB and UDP-MIB
#: (as Net-SNMP names them when those modules are loaded first).
SUPERSEDED_MODULES: Final[tuple[str, ...]] = ("RFC1213-MIB", "RFC1155-SMI", "RFC1158-MIB")


class MibNode(NamedTuple):
    """A named node of the loaded MIBs: its module, name, kind (``scalar``,
    ``column``, ``row``, ``table`` or ``node``) and pysnmp's object."""

    module: str
    label: str
    kind: str
    node: Any


def preference(loaded: Sequence[str], symbols: Iterable[str]) -> list[str]:
    """The modules in the order they name an OID: the SMI first (``SNMPv2-SMI::
    enterprises``), then the modules loaded in load order, then the others pysnmp
    loaded as imports, the :data:`SUPERSEDED_MODULES` last; pysnmp's agent instance
    modules (``__...``) left out."""
    names = [m for m in symbols if not m.startswith("__")]
    order = ["SNMPv2-SMI", *loaded, *names]
    seen: set[str] = set()
    first: list[str] = []
    last: list[str] = []
    for module in order:
        if module in seen or module not in names:
            continue
        seen.add(module)
        (last if module in SUPERSEDED_MODULES else first).append(module)
    return first + last
