"""Numeric OIDs: the one place their text is validated, parsed and normalised.

Used by the configuration loader (:mod:`console.config`, the ``snmp-oid`` schema
format) and by the SNMP backend (:mod:`console.snmp`); both re-export these names.
Pure Python: no pysnmp, no Textual. MIB names (``SNMPv2-MIB::sysDescr.0``) are not
OIDs here; :mod:`console.snmp.mib` turns numeric OIDs into names for display.

Rules for an OID's text (:func:`parse_oid`):

* surrounding whitespace is ignored (an operator may paste ``" 1.3.6.1 "`` into a
  prompt; YAML already strips plain scalars), whitespace inside is an error;
* one leading dot, as Net-SNMP prints OIDs (``.1.3.6.1``), is accepted and dropped;
* arcs are separated by single dots and written in ASCII decimal digits; leading
  zeros are dropped (``1.3.06`` is ``1.3.6``);
* at least two arcs (:data:`MIN_ARCS`): the BER encoding packs the first two arcs
  into one subidentifier (X.690 §8.19.4), so a one-arc OID cannot be sent;
* the first arc is 0, 1 or 2 and, under 0 or 1, the second arc is 0..39 (the
  top-level arcs of X.660; X.690 §8.19.4 encodes them as ``40 * first + second``,
  which is only unambiguous with these bounds);
* each arc is at most :data:`MAX_ARC` (2^32-1) and an OID has at most
  :data:`MAX_ARCS` (128) arcs: SMIv2's limits (RFC 2578 §3.5 and §7.1.3).

Every rejection is a :class:`ValueError` whose message names the offending text and
the rule it breaks: ``'1.3.x' is not a numeric OID: arc 3 ('x') is not a number``.

Walk roots (:func:`parse_walk_root`) are numeric OIDs plus the roots of the whole
agent: ``"."`` or ``""`` (everything), and a single top-level arc ``"0"``, ``"1"``,
``"2"`` (everything under it). A request cannot carry fewer than two arcs, so such a
walk starts at :func:`walk_start` (``0.0``, ``1.0``, ``2.0``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

__all__ = [
    "MAX_ARC",
    "MAX_ARCS",
    "MIN_ARCS",
    "WHOLE_AGENT",
    "format_oid",
    "format_walk_root",
    "lookup_walk_root",
    "normalize_oid",
    "parse_oid",
    "parse_walk_root",
    "walk_start",
]

#: Largest arc (sub-identifier) value: 2^32-1 (RFC 2578 §3.5 and §7.1.3).
MAX_ARC: Final = 2**32 - 1
#: Most arcs in an OID (RFC 2578 §3.5 and §7.1.3).
MAX_ARCS: Final = 128
#: Fewest arcs in an OID (X.690 §8.19.4 encodes the first two arcs together).
MIN_ARCS: Final = 2

#: The text of the whole-agent walk root (as ``snmpwalk .``).
WHOLE_AGENT: Final = "."

_MAX_ARC_DIGITS: Final = len(str(MAX_ARC))
_ECHO_LIMIT: Final = 120  # longest text echoed in a message; longer is cut with "..."


def _echo(text: str) -> str:
    """``text`` quoted for a message, cut to :data:`_ECHO_LIMIT` characters."""
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 3] + "..."
    return repr(text)


def _arc(index: int, part: str) -> int:
    """Arc number ``index`` (1-based) from its text ``part``.

    Raises:
        ValueError: the reason alone (no OID text), for :func:`parse_oid` to frame.
    """
    if not part:
        raise ValueError(f"arc {index} is empty (two dots in a row, or a trailing dot)")
    # isdigit() alone accepts non-ASCII digits such as '²' or '٣'
    if not (part.isascii() and part.isdigit()):
        digits = part[1:]
        if part.startswith("-") and digits.isascii() and digits.isdigit():
            raise ValueError(f"arc {index} ({_echo(part)}) is negative")
        raise ValueError(f"arc {index} ({_echo(part)}) is not a number")
    # compare lengths first: int() of thousands of digits is slow, and refused by
    # Python's int max_str_digits limit
    significant = part.lstrip("0") or "0"
    if len(significant) > _MAX_ARC_DIGITS or int(significant) > MAX_ARC:
        shown = significant if len(significant) <= 20 else significant[:17] + "..."
        raise ValueError(f"arc {index} ({shown}) is larger than {MAX_ARC}")
    return int(significant)


def parse_oid(text: str) -> tuple[int, ...]:
    """Parse a numeric OID such as ``"1.3.6.1.2.1.1.3.0"`` into its arcs.

    The rules are in the module docstring: surrounding whitespace and one leading
    dot are ignored, leading zeros dropped.

    Returns:
        The arcs, e.g. ``(1, 3, 6, 1, 2, 1, 1, 3, 0)``.

    Raises:
        ValueError: ``text`` is not a numeric OID; the message is
            ``'TEXT' is not a numeric OID: REASON``, the reason naming the rule and the
            arc that broke it (texts longer than 120 characters are cut).
    """
    if not isinstance(text, str):
        raise ValueError(
            f"{text!r} is not a numeric OID: expected a string, not {type(text).__name__}"
        )
    body = text.strip()
    if body.startswith("."):
        body = body[1:]
    try:
        if not body:
            raise ValueError("it is empty")
        arcs = tuple(_arc(index, part) for index, part in enumerate(body.split("."), 1))
        if len(arcs) < MIN_ARCS:
            raise ValueError("it needs at least two arcs, like 1.3")
        if len(arcs) > MAX_ARCS:
            raise ValueError(f"it has {len(arcs)} arcs, more than the {MAX_ARCS} allowed")
        first, second = arcs[0], arcs[1]
        if first > 2:
            raise ValueError(f"the first arc must be 0, 1 or 2, not {first}")
        if first < 2 and second > 39:
            raise ValueError(
                f"the second arc must be 0..39 when the first is {first}, not {second}"
            )
    except ValueError as exc:
        raise ValueError(f"{_echo(text)} is not a numeric OID: {exc}") from None
    return arcs


def format_oid(arcs: Sequence[int]) -> str:
    """Format arcs as dotted decimal without a leading dot: ``(1, 3, 6)`` -> ``"1.3.6"``.

    No validation: any sequence of ints is joined, so a prefix or an index suffix
    (``(1,)``, ``(2, 0)``) can be formatted too.
    """
    return ".".join(str(int(arc)) for arc in arcs)


def normalize_oid(text: str) -> str:
    """Return the canonical text of a numeric OID: validated, no surrounding
    whitespace, no leading dot, no leading zeros: ``" .1.3.06.1"`` -> ``"1.3.6.1"``.

    Raises:
        ValueError: as :func:`parse_oid`.
    """
    return format_oid(parse_oid(text))


# -- walk roots ----------------------------------------------------------------------------


def parse_walk_root(text: str) -> tuple[int, ...]:
    """Parse the root of a walk: a numeric OID, or a root of the whole agent.

    Accepted (surrounding whitespace ignored):

    * ``"."`` or ``""``: the whole agent -> ``()``;
    * one top-level arc, ``"0"``, ``"1"`` or ``"2"`` (a leading dot allowed:
      ``".1"``): everything under that arc -> ``(1,)``; the X.660 top arcs are the
      only one-arc roots (``"3"`` is refused);
    * any numeric OID of :func:`parse_oid`: its arcs.

    Net-SNMP 5.9's ``snmpwalk``/``snmpbulkwalk`` read ``.`` as the arc ``1`` and send
    a one-arc root ``N`` as the OID ``0.N`` (measured: ``snmpwalk .`` of an agent
    with data under ``0.1`` prints it, then stops on "OID not increasing"); fleettop
    walks all three top arcs for ``.`` and starts each one-arc walk inside its own
    arc (:func:`walk_start`).

    Returns:
        The root's arcs: ``()``, ``(N,)`` or a full OID such as ``(1, 3, 6, 1)``.

    Raises:
        ValueError: anything else, worded as :func:`parse_oid` words it
            (``'3' is not a numeric OID: the first arc must be 0, 1 or 2, not 3``).
    """
    if not isinstance(text, str):
        return parse_oid(text)  # raises: not a string
    body = text.strip()
    if body in ("", WHOLE_AGENT):
        return ()
    arc = body[1:] if body.startswith(".") else body
    if arc.isascii() and arc.isdigit():
        first = int(arc.lstrip("0") or "0") if len(arc) <= _MAX_ARC_DIGITS else MAX_ARC + 1
        if first > 2:
            raise ValueError(
                f"{_echo(text)} is not a numeric OID: the first arc must be 0, 1 or 2,"
                f" not {arc.lstrip('0') if len(arc) <= 20 else arc[:17] + '...'}"
            )
        return (first,)
    return parse_oid(text)


def format_walk_root(arcs: Sequence[int]) -> str:
    """The text of a walk root (:func:`parse_walk_root`'s inverse): ``()`` ->
    ``"."`` (:data:`WHOLE_AGENT`), ``(1,)`` -> ``"1"``, ``(1, 3, 6)`` -> ``"1.3.6"``."""
    return format_oid(arcs) if arcs else WHOLE_AGENT


def walk_start(root: Sequence[int]) -> tuple[int, ...]:
    """The OID a walk of ``root`` asks for first (GETNEXT / GETBULK, RFC 3416 §4.2.2):
    ``root`` itself, or for a root of fewer than :data:`MIN_ARCS` arcs (which BER
    cannot encode, X.690 §8.19.4) the smallest OID of its subtree: ``()`` -> ``(0,
    0)``, ``(1,)`` -> ``(1, 0)``, ``(2,)`` -> ``(2, 0)``. The agent answers the
    objects after it, so an object at exactly ``N.0`` (no MIB defines one) is not
    returned."""
    arcs = tuple(int(arc) for arc in root)
    return arcs + (0,) * (MIN_ARCS - len(arcs)) if len(arcs) < MIN_ARCS else arcs


def lookup_walk_root(text: str, lookup: Callable[[str], str]) -> str:
    """Turn what an operator typed as a walk root into the root text a walk takes
    (:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>`,
    ``fleettop walk``).

    ``"."``, ``""``, and what starts with a digit or ``-`` (after an optional dot)
    are read by :func:`parse_walk_root` and returned normalised (``" .1 "`` ->
    ``"1"``, ``""`` -> ``"."``); anything else is a MIB name, passed to ``lookup``
    (e.g. :meth:`MibResolver.lookup <console.snmp.mib.MibResolver.lookup>`: ``"IF-MIB::ifTable"`` ->
    ``"1.3.6.1.2.1.2.2"``), whose answer is normalised.

    Args:
        text: the root as typed.
        lookup: MIB name -> numeric OID text; raises ``ValueError`` for an unknown
            name (its message reaches the operator as is).

    Returns:
        The root text: ``"."``, ``"0"``/``"1"``/``"2"`` or a normalised numeric OID.

    Raises:
        ValueError: a malformed numeric root (:func:`parse_walk_root`), or
            ``lookup``'s error for a name.
    """
    body = text.strip() if isinstance(text, str) else text
    if not isinstance(body, str) or body.lstrip(".")[:1] in ("", "-", *"0123456789"):
        return format_walk_root(parse_walk_root(text))
    return format_walk_root(parse_walk_root(lookup(body)))
