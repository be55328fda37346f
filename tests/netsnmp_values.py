"""Net-SNMP's formatted values as the reference for fleettop's: run ``snmpbulkwalk``
with MIB sources loaded (its default output: enumerations as ``up(1)``, DISPLAY-HINTs,
UNITS), parse it, and compare each value with the text fleettop shows
(:class:`console.snmpdisplay.ValueFormatter`).

::

    reference = formatted_walk(host, port, community, root, mib_dirs, modules)
    for oid, data in walked:
        problem = compare(formatter.display(oid, data, context=rows), data, reference[oid],
                          formatter.describe(oid))

:func:`compare` returns ``None`` when the two agree, else a line saying how they
differ. The differences fleettop makes on purpose (``docs/mibs.md``, "Values as
the MIB defines them") are each a named rule here (:data:`DELIBERATE`), applied
before comparing, and counted by the caller.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.format import decode_opaque_float, printable
from console.snmpdisplay import ADDRESS_CONVENTIONS, MibObject, octets_of
from tests.conftest import require_program

__all__ = ["DELIBERATE", "Formatted", "compare", "formatted_walk", "parse_formatted"]

#: The deliberate differences, rule -> what fleettop does instead of Net-SNMP.
DELIBERATE = {
    "quotes": "plain strings without Net-SNMP's surrounding quotes",
    "hex-case": "hex bytes in lower case (Net-SNMP: upper case)",
    "utf8-text": "an OCTET STRING that is valid UTF-8 text shown as text (Net-SNMP: Hex-STRING)",
    "one-line": "control characters escaped (\\r, \\n, \\x00): one line (Net-SNMP prints them)",
    "timeticks": "TimeTicks as Nd hh:mm:ss.cc (Net-SNMP: (ticks) d:hh:mm:ss.cc)",
    "grouping": "Counter, Gauge, Unsigned with thousands separators",
    "hex-padding": "DISPLAY-HINT x: two hex digits per octet (Net-SNMP drops leading zeros)",
    "bits-hex": "BITS by name only (Net-SNMP puts the octets in hex first)",
    "inet-address": "InetAddress by its InetAddressType (Net-SNMP: the octets)",
    "opaque-float": "Net-SNMP's opaque float as 1.5 (opaque float) (Net-SNMP: Opaque: Float: 1.5)",
    "fixed-point-zero": "d-N below one keeps its zero: -0.05 (Net-SNMP: -.05)",
    "wrong-type": "a value whose type is not the MIB's shown plainly (Net-SNMP: Wrong Type ...)",
    "oid-dot": "an OBJECT IDENTIFIER value without a leading dot, as fleettop writes OIDs",
    "hint-dots": "a non-printable octet in DISPLAY-HINT text escaped (\\x00; Net-SNMP: '.')",
    "physaddress": "RFC1213-MIB's PhysAddress as SNMPv2-TC's (1x:): pysnmp ships RFC1213-MIB"
    " compiled with SNMPv2-TC's PhysAddress; Net-SNMP reads the SMIv1 source, without a hint",
    "network-address": "an SMIv1 NetworkAddress dotted, as the IpAddress it is (Net-SNMP: hex)",
}

_GROUPED = frozenset({"Counter32", "Counter64", "Gauge32", "Unsigned32"})
_LINE = re.compile(r"^(\.[0-9.]+) = (.*)$")
_END = "No more variables left in this MIB View"


@dataclass(frozen=True)
class Formatted:
    """One var-bind as Net-SNMP printed it: ``label`` (``INTEGER``, ``STRING``,
    ``Hex-STRING``, ``Timeticks``... ``""`` for ``""`` or an exception) and ``text``
    (the rest, continuation lines joined with a newline)."""

    label: str
    text: str


def parse_formatted(output: str) -> dict[str, Formatted]:
    """``snmpbulkwalk -On`` default output -> OID (no leading dot) -> value."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        match = _LINE.match(line)
        if match and match.group(2).startswith(_END):
            current = None  # the end of the view, printed with the last OID again
        elif match:
            current = found[match.group(1)[1:]] = [match.group(2)]
        elif current is not None:
            current.append(line)
    values = {}
    for oid, lines in found.items():
        text = "\n".join(lines)
        label, sep, rest = text.partition(": ")
        values[oid] = Formatted(label, rest) if sep else Formatted("", text)
    return values


def formatted_walk(
    host: str,
    port: int,
    community: str,
    root: str,
    mib_dirs: Iterable[Path],
    modules: str = "ALL",
    *,
    timeout: float = 300,
) -> dict[str, Formatted]:
    """``snmpbulkwalk -v2c -Cr25 -On`` of ``root`` with the MIB sources of
    ``mib_dirs`` loaded (``MIBDIRS``, ``MIBS=modules``), parsed."""
    args = [require_program("snmpbulkwalk"), "-v2c", "-Cr25", "-c", community, "-On"]
    args += ["-t", "5", "-r", "2", f"{host}:{port}", root]
    env = {**os.environ, "MIBDIRS": ":".join(str(d) for d in mib_dirs), "MIBS": modules}
    result = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"snmpbulkwalk {root}: {result.stderr.strip()[-2000:]}"
    return parse_formatted(result.stdout)


def _hex_bytes(text: str) -> bytes | None:
    digits = text.replace(" ", "").replace("\n", "")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        return None


def _unpadded(text: str) -> str:
    """Hex groups without leading zeros, as Net-SNMP prints ``x`` hints."""
    return re.sub(r"(?<![0-9a-f])0+(?=[0-9a-f])", "", text.lower())


def compare(
    ours: str, data: dict[str, Any], theirs: Formatted, obj: MibObject | None
) -> tuple[str | None, str | None]:
    """Compare fleettop's text with Net-SNMP's for one var-bind.

    Returns:
        ``(rule, problem)``: ``rule`` is the :data:`DELIBERATE` rule that made them
        agree (``None``: equal as they are), ``problem`` a line saying how they
        differ (``None``: they agree).
    """
    label, text = theirs.label, theirs.text
    kind, value = data["type"], data["value"]
    if label.startswith("Wrong Type"):
        return "wrong-type", None
    syntax = obj.syntax if obj is not None else None
    units = obj.units if obj is not None else ""
    if units and text.endswith(" " + units) and ours.endswith(" " + units):
        text, ours = text[: -len(units) - 1], ours[: -len(units) - 1]
    if ours == text:
        return None, None
    rule: str | None = None
    octets = octets_of(data)
    if label == "OID" and kind == "OBJECT_ID" and text.startswith(".") and ours == text[1:]:
        return "oid-dot", None
    if label == "" and text == '""' and ours == "":
        return "quotes", None
    if label == "STRING" and text.startswith('"') and text.endswith('"'):
        rule, text = "quotes", text[1:-1]
        if ours == text:
            return rule, None
    if label == "Hex-STRING" and octets is not None and _hex_bytes(text) == octets:
        if kind == "STRING":
            return "utf8-text", None
        if ours.lower() == text.strip().lower():
            return "hex-case", None
    if kind == "STRING" and text == value and ours == printable(str(value)):
        return "one-line", None
    hint = syntax.display_hint if syntax is not None else ""
    if octets is not None and label == "STRING" and hint.endswith(("a", "t")):
        dotted = "".join(chr(b) if 32 <= b < 127 else "." for b in octets)
        if text == dotted and ours == printable(octets.decode("utf-8", "backslashreplace")):
            return "hint-dots", None
    mac = octets is not None and ours == ":".join(f"{b:02x}" for b in octets)
    if label == "Hex-STRING" and hint == "1x:" and mac and _hex_bytes(text) == octets:
        return "physaddress", None
    address = bytes(int(p) for p in str(value).split(".")) if kind == "IP_ADDRESS" else None
    if label == "Network Address" and _hex_bytes(text.replace(":", "")) == address:
        return "network-address", None
    if label == "Timeticks" and kind == "TIME_TICKS":
        match = re.match(r"\((\d+)\)", text)
        if match and int(match.group(1)) == value:
            return "timeticks", None
    if (
        label in ("Counter32", "Counter64", "Gauge32", "Unsigned32")
        and ours.replace(",", "") == text
    ):
        return "grouping", None
    if label == "BITS" and syntax is not None and syntax.base == "BITS":
        names = re.sub(r"^([0-9A-F]{2} )+", "", text).strip()
        if names == ours:
            return "bits-hex", None
    if syntax is not None and syntax.convention in ADDRESS_CONVENTIONS and octets is not None:
        shown = _hex_bytes(text) if label == "Hex-STRING" else text.strip('"').encode()
        # Net-SNMP shows the octets, or (InetAddressIPv6...) its DISPLAY-HINT's groups
        if shown == octets or _unpadded(text.replace(":", "")) == _unpadded(octets.hex()):
            return "inet-address", None
    if syntax is not None and "x" in syntax.display_hint and _unpadded(ours) == _unpadded(text):
        return "hex-padding", None
    if label == "Opaque" and text.startswith(("Float: ", "Double: ")):
        number = decode_opaque_float(str(value))
        if number is not None and float(text.split(": ")[1]) == float(ours.split()[0]):
            return "opaque-float", None
    if (
        syntax is not None
        and syntax.display_hint.startswith("d-")
        and ours.replace("0.", ".", 1) == text
    ):
        return "fixed-point-zero", None
    if rule is not None and ours == text:
        return rule, None
    return None, f"ours {ours!r} != Net-SNMP's {label}: {theirs.text!r}"
