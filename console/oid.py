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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "MAX_ARC",
    "MAX_ARCS",
    "MIN_ARCS",
    "format_oid",
    "normalize_oid",
    "parse_oid",
]

#: Largest arc (sub-identifier) value: 2^32-1 (RFC 2578 §3.5 and §7.1.3).
MAX_ARC: Final = 2**32 - 1
#: Most arcs in an OID (RFC 2578 §3.5 and §7.1.3).
MAX_ARCS: Final = 128
#: Fewest arcs in an OID (X.690 §8.19.4 encodes the first two arcs together).
MIN_ARCS: Final = 2

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
