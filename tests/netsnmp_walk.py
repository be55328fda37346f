"""Net-SNMP's ``snmpbulkwalk`` as the reference for fleettop's walks: run it, parse
what it prints, and put fleettop's walked values in the same comparable form.

::

    reference = snmpbulkwalk("127.0.0.1", port, "public", ".")    # [Varbind, ...]
    ours = [comparable(oid, data) for oid, data in walked]          # same shape
    assert ours == reference

``snmpbulkwalk -On -Ox -Oe`` (numeric OIDs, every OCTET STRING in hex, enums as
numbers; ``MIBS=""``: Debian ships no MIB files) prints one var-bind per line (a
long Hex-STRING continues on the next lines). :class:`Varbind` holds what both sides
can agree on: the OID without its leading dot, fleettop's type family (an OCTET
STRING is ``STRING`` whether fleettop calls it ``STRING`` or ``STRING_HEX``: Net-SNMP
cannot tell text from bytes) and the value (bytes for strings and opaques, int for
the numbers, text for OIDs and addresses).

Net-SNMP 5.9 reads the root ``.`` as ``.1`` (it walks the arc 1 only, see
:func:`console.oid.parse_walk_root`): compare whole-agent walks with data outside
the arc 1 in mind.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Any

from tests.conftest import require_program
from tests.snmp_peers import NET_SNMP_ENV, NET_SNMP_TYPES

__all__ = ["Varbind", "comparable", "parse_walk", "snmpbulkwalk"]

#: Net-SNMP's labels -> fleettop's type families; ``-Ox`` prints opaques ``OPAQUE``.
_TYPES = {**NET_SNMP_TYPES, "OPAQUE": "ARBITRARY"}
_INTEGERS = frozenset({"INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER", "TIME_TICKS"})
_END = "No more variables left in this MIB View"


@dataclass(frozen=True)
class Varbind:
    """One var-bind in the form both walks are compared in.

    Attributes:
        oid: numeric OID, no leading dot.
        type: fleettop's type family: ``STRING`` (also ``STRING_HEX``), ``INTEGER``,
            ``UNSIGNED``, ``COUNTER``, ``BIG_COUNTER``, ``TIME_TICKS``, ``OBJECT_ID``,
            ``IP_ADDRESS``, ``ARBITRARY`` or ``ERROR``.
        value: bytes (``STRING``, ``ARBITRARY``), int (the numbers), text
            (``OBJECT_ID`` without a leading dot, ``IP_ADDRESS``, the ``ERROR`` name).
    """

    oid: str
    type: str
    value: Any


def _value(oid: str, text: str) -> Varbind:
    if text == '""':
        return Varbind(oid, "STRING", b"")
    if text == "NULL":
        return Varbind(oid, "ERROR", "EMPTY")
    if text.startswith("No Such Object"):
        return Varbind(oid, "ERROR", "NO_SUCH_OBJECT")
    if text.startswith("No Such Instance"):
        return Varbind(oid, "ERROR", "NO_SUCH_INSTANCE")
    label, _, rest = text.partition(": ")
    kind = _TYPES.get(label)
    if kind is None:
        raise ValueError(f"unexpected snmpbulkwalk output for {oid}: {text!r}")
    if label in ("Hex-STRING", "OPAQUE") or (
        kind == "ARBITRARY" and not rest.startswith(("Float", "Double"))
    ):
        return Varbind(oid, kind, bytes.fromhex(rest.replace(" ", "")))
    if kind == "ARBITRARY":  # Opaque: Float: 1.5 (Net-SNMP decodes its opaque floats)
        return Varbind(oid, kind, rest)
    if label == "STRING":  # only without -Ox
        return Varbind(oid, kind, rest.strip('"').encode())
    if kind == "TIME_TICKS":
        match = re.match(r"\((\d+)\)", rest)
        if match is None:
            raise ValueError(f"unexpected Timeticks output for {oid}: {text!r}")
        return Varbind(oid, kind, int(match.group(1)))
    if kind in _INTEGERS:
        return Varbind(oid, kind, int(rest.split()[0]))
    if kind == "OBJECT_ID":
        return Varbind(oid, kind, rest.lstrip("."))
    return Varbind(oid, kind, rest)


def parse_walk(output: str) -> list[Varbind]:
    """The var-binds of ``snmpbulkwalk -On -Ox -Oe`` output, in order, without the
    end-of-MIB-view marker line.

    Raises:
        ValueError: a line Net-SNMP should not print here.
    """
    entries: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith(".") and " = " in line:
            entries.append([line])
        elif entries and line.strip():  # a Hex-STRING's continuation line
            entries[-1].append(line)
    varbinds = []
    for entry in entries:
        head, _, first = entry[0].partition(" = ")
        text = " ".join([first.strip(), *(part.strip() for part in entry[1:])]).strip()
        if text.startswith(_END):
            continue
        varbinds.append(_value(head[1:], text))
    return varbinds


def snmpbulkwalk(
    host: str,
    port: int,
    community: str,
    root: str,
    *,
    version: str = "2c",
    repetitions: int = 25,
    timeout: float = 300,
) -> list[Varbind]:
    """Walk ``root`` with ``snmpbulkwalk -v<version> -Cr<repetitions> -On -Ox -Oe``
    (``version`` ``1`` runs ``snmpwalk``: GETNEXT) and parse it (:func:`parse_walk`).

    Raises:
        pytest's skip/fail: the program is not installed (:func:`require_program`).
        AssertionError: it exited with an error (its stderr in the message).
    """
    if version == "1":
        args = [require_program("snmpwalk"), "-v1"]
    else:
        args = [require_program("snmpbulkwalk"), f"-v{version}", f"-Cr{repetitions}"]
    args += ["-c", community, "-On", "-Ox", "-Oe", "-t", "5", "-r", "2", f"{host}:{port}", root]
    result = subprocess.run(
        args, capture_output=True, text=True, env=NET_SNMP_ENV, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args[0]} {root}: {result.stderr.strip()}"
    return parse_walk(result.stdout)


def comparable(oid: str, data: dict[str, Any]) -> Varbind:
    """fleettop's walked ``(oid, {"type", "value"})`` as a :class:`Varbind`."""
    kind, value = data["type"], data["value"]
    if kind == "STRING":
        return Varbind(oid, "STRING", value.encode("utf-8"))
    if kind in ("STRING_HEX", "ARBITRARY"):
        return Varbind(oid, "STRING" if kind == "STRING_HEX" else kind, bytes.fromhex(value))
    return Varbind(oid, kind, value)
