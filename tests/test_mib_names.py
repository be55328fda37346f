"""MIB names against Net-SNMP: every name :class:`~console.snmp.mib.MibResolver`
writes is the one Net-SNMP 5.9 writes by default, except the deliberate
differences of ``docs/mibs.md`` (:func:`_deliberate`).

Net-SNMP reads MIB *sources*; the ones here are fleettop's ``console/snmp/mibs/base``
(npm ``net-snmp``: the SMI, SNMPv2-MIB, RFC1213-MIB, IF-MIB, IANAifType-MIB) and
Debian's ``libsnmp-base`` (``/usr/share/snmp/mibs``: UCD-SNMP-MIB, NET-SNMP-*), given
to it as ``-M``. fleettop's other standard modules (IP-MIB, HOST-RESOURCES-MIB,
UPS-MIB...: pysnmp-compiled, from PyPI's ``pysnmp-mibs``) have no source here, so
where Net-SNMP names an OID from an older module (``RFC1213-MIB::ipAdEntAddr``) and
fleettop from the newer one (``IP-MIB::ipAdEntAddr``) the label and the index text
after it must still be Net-SNMP's exactly ("newer module"), and where Net-SNMP has
no module for the object at all (``SNMPv2-SMI::mib-2.25.1.1.0``) the OID is counted
as not comparable ("no source"), never as a pass.

* ``snmptranslate``: every OID of every vendored module (``-To``: the whole tree
  Net-SNMP builds), and an instance of every column of every table, with an index
  built from its INDEX clause, plus the same instance one arc short and one arc
  long (the numeric fallbacks);
* ``snmpbulkwalk`` default output (``-Ox`` only changes values: strings in hex, so
  that a value never spans lines that look like var-binds) over whole walks of
  recordings of real devices served by snmpsim, each name paired with the recorded
  OID it was walked at.

Net-SNMP names an OID by the first loaded module that defines it: the modules are
given to it (``-m``) in the order the resolver prefers them (RFC1213-MIB last).
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from console.oid import format_oid, parse_oid
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmp.nametext import IndexObject, preference
from tests.conftest import require_program
from tests.snmp_peers import NET_SNMP_ENV
from tests.snmpsim_peers import Snmpsim, recording_lines

pytestmark = [pytest.mark.peer("snmptranslate"), pytest.mark.timeout(600)]

#: community -> recording (snmpsim-data): UPS-MIB, HOST-RESOURCES/TCP/UDP/IP, BRIDGE
#: and EtherLike and LLDP, ENTITY-MIB, UCD-SNMP and NET-SNMP and IPv6 addresses.
RECORDINGS = {
    "ups": "UPS/eaton-93e-80",
    "host": "os/windows/XP",
    "switch": "network/switch/dlink-des3038",
    "router": "network/router/cisco-unmarked-0",
    "firewall": "network/firewall/paloalto-pa-5000",
    "storage": "storage/isilon-onefs",
}


#: The MIB source directories Net-SNMP reads: fleettop's vendored sources, Debian's.
NET_SNMP_DIRS = (BASE_DIR, Path("/usr/share/snmp/mibs"))


def _base_modules() -> dict[str, str]:
    """Module name -> file of every MIB source Net-SNMP is given (first one wins)."""
    found: dict[str, str] = {}
    paths = [p for d in NET_SNMP_DIRS if d.is_dir() for p in sorted(d.iterdir())]
    for path in paths:
        if path.suffix not in (".txt", ".mib"):
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.split()
            if len(words) >= 2 and words[1] == "DEFINITIONS":
                found.setdefault(words[0], path.name)
                break
    return found


_ORDER: list[str] = []


def _module_names() -> list[str]:
    """The modules the resolver loads that have a source Net-SNMP reads, in the
    resolver's order of preference (Net-SNMP names an OID by the first module
    loaded)."""
    if not _ORDER:
        resolver = MibResolver()
        resolver.load()
        sources = _base_modules()
        order = preference(resolver.modules, resolver.mib_builder.mibSymbols)
        _ORDER.extend(m for m in order if m in sources and m not in _SMI)
    return _ORDER


#: Modules Net-SNMP has built in (its own SMI), or whose source is an example
#: (npm's RFC-1215 defines example TRAP-TYPEs).
_SMI = frozenset({"SNMPv2-SMI", "SNMPv2-TC", "SNMPv2-CONF", "RFC1155-SMI", "RFC-1212", "RFC-1215"})


def _oracle_modules() -> frozenset[str]:
    """The modules Net-SNMP has here: those it is given and its built-in SMI."""
    return frozenset(_module_names()) | _SMI


def _mib_dirs() -> str:
    return ":".join(str(d) for d in NET_SNMP_DIRS if d.is_dir())


def _net_snmp_args() -> list[str]:
    return ["-M", _mib_dirs(), "-m", ":".join(_module_names())]


def _env() -> dict[str, str]:
    return {**NET_SNMP_ENV, "MIBDIRS": _mib_dirs(), "MIBS": ""}


def snmptranslate(*args: str) -> list[str]:
    """The lines ``snmptranslate`` prints (the vendored modules loaded)."""
    program = require_program("snmptranslate")
    result = subprocess.run(
        [program, *_net_snmp_args(), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if line.strip()]


def translate(oids: Sequence[str]) -> list[str]:
    """Net-SNMP's name of each numeric OID (``-Ir``: indexes not range-checked)."""
    names: list[str] = []
    for start in range(0, len(oids), 400):
        chunk = oids[start : start + 400]
        lines = snmptranslate("-Ir", *(f".{oid}" for oid in chunk))
        assert len(lines) == len(chunk), lines[:5]
        names.extend(lines)
    return names


@pytest.fixture(scope="module")
def resolver() -> MibResolver:
    found = MibResolver()
    found.load()
    assert found.problems == ()
    return found


@pytest.fixture(scope="module")
def fresh() -> MibResolver:
    """A resolver that has named nothing: a name is looked up from its text alone."""
    found = MibResolver()
    found.load()
    return found


#: A quoted index with a dot in it: Net-SNMP writes every octet that is not printable
#: ASCII as ``.``, so the text alone cannot give the octets back.
_LOSSY = re.compile(r"""("[^"]*\.[^"]*"|'[^']*\.[^']*')""")


def _deliberate(resolver: MibResolver, ours: str | None, theirs: str) -> str | None:
    """The deliberate difference (``docs/mibs.md``) that ``ours`` against Net-SNMP's
    ``theirs`` is, or ``None`` when it is a mismatch."""
    if ours is not None and ours.split("::", 1)[0] not in _oracle_modules():
        return _no_source(resolver, ours, theirs)
    if ours is None and theirs.split(".", 1)[0] in _OLDER_COPY:
        return "older copy"
    if ours is not None and _index_type_unknown(resolver, ours, theirs):
        return "index type unknown to Net-SNMP"
    if ours is None:
        # Net-SNMP writes the deepest known node and the numeric rest
        # (SNMPv2-SMI::enterprises.9.9.13, iso.0.8802...): fleettop shows no name
        # where no object type contains the OID
        head = theirs.split(".", 1)[0]
        if "::" not in head:
            return "prefix only"
        try:
            # the node's label alone where fleettop names it from another module
            arcs = parse_oid(resolver.lookup(head.split("::")[-1]))
        except ValueError:
            return None
        node = resolver._nodes.get(arcs)
        return "prefix only" if node is not None and node.kind not in ("scalar", "column") else None
    if theirs == "DISMAN-EVENT-MIB::sysUpTimeInstance" and ours == "SNMPv2-MIB::sysUpTime.0":
        return "sysUpTime.0"
    if ours.split(".", 1)[0] in _PYSNMP_COPIES:
        return "pysnmp's copy"
    return None


def _no_source(resolver: MibResolver, ours: str, theirs: str) -> str | None:
    """``ours`` names the OID from a module Net-SNMP has no source of here: the same
    label and index text from an older module Net-SNMP has ("newer module"), or
    Net-SNMP's deepest known node and the numeric rest of the same OID ("no source":
    not comparable); anything else is a mismatch."""
    rest = ours.split("::", 1)[1]
    module, sep, their_rest = theirs.partition("::")
    if sep and module in _oracle_modules() and their_rest == rest:
        return "newer module"
    head, _, numeric = theirs.partition(".")
    if not re.fullmatch(r"\d+(\.\d+)*", numeric):
        return None
    try:
        full = parse_oid(resolver.lookup(ours))
        # the node's label alone where fleettop names it from another module
        arcs = parse_oid(resolver.lookup(head.split("::")[-1]))
    except ValueError:
        return None
    node = resolver._nodes.get(arcs)
    if node is not None and node.kind in ("scalar", "column"):
        return None  # Net-SNMP knows the object: its index text is to compare
    rest_arcs = tuple(int(arc) for arc in numeric.split("."))
    return "no source" if (*arcs, *rest_arcs) == full else None


#: Objects of Net-SNMP 5.9's revisions of modules that fleettop's copies (pysnmp-mibs
#: 0.1.6: IF-MIB of RFC 2233, UCD-SNMP-MIB of 2011) do not define; fleettop shows no
#: name there unless the newer source is in ``mib_paths``.
_OLDER_COPY = frozenset(
    {
        "IF-MIB::linkUpDownNotificationsGroup",
        "IF-MIB::ifCompliance3",
        *(
            f"UCD-SNMP-MIB::{label}"
            for label in (
                "memTotalSwapX",
                "memAvailSwapX",
                "memTotalRealX",
                "memAvailRealX",
                "memTotalFreeX",
                "memMinimumSwapX",
                "memSharedX",
                "memBufferX",
                "memCachedX",
                "memSysAvail",
                "ssCpuNumCpus",
            )
        ),
    }
)


def _index_type_unknown(resolver: MibResolver, ours: str, theirs: str) -> bool:
    """Net-SNMP writes the index of ``ours``' object numerically because an INDEX
    object's type comes from a module it has no source of here (NET-SNMP-AGENT-MIB's
    ``SnmpAdminString`` indexes: SNMP-FRAMEWORK-MIB): the same object, the same arcs."""
    name, _, numeric = theirs.partition(".")
    if name != ours.split(".", 1)[0] or not re.fullmatch(r"\d+(\.\d+)*", numeric):
        return False
    column = parse_oid(resolver.lookup(name))
    if parse_oid(resolver.lookup(ours))[len(column) :] != tuple(map(int, numeric.split("."))):
        return False
    symbols = resolver.mib_builder.mibSymbols
    oracle = _oracle_modules()

    def from_lacking(tc: str) -> bool:
        defined = [module for module, names in symbols.items() if tc and tc in names]
        return bool(defined) and not any(module in oracle for module in defined)

    return any(from_lacking(part.tc) for part in resolver._row_index(column[:-1]) or ())


#: Objects of pysnmp's bundled copies of modules that the RFCs' text has not: a
#: group named otherwise (RFC 3584: snmpCommunityGroup), a column pysnmp adds.
_PYSNMP_COPIES = frozenset(
    {"SNMP-COMMUNITY-MIB::snmpCommunityTableGroup", "SNMP-VIEW-BASED-ACM-MIB::vacmContextStatus"}
)


def _compare(
    resolver: MibResolver, oids: Sequence[str], names: Sequence[str]
) -> tuple[list[str], Counter[str]]:
    """``(mismatches, deliberate differences by kind)``."""
    mismatches: list[str] = []
    deliberate: Counter[str] = Counter()
    for oid, theirs in zip(oids, names, strict=True):
        ours = resolver.resolve(oid)
        if ours == theirs:
            continue
        kind = _deliberate(resolver, ours, theirs)
        if kind is None:
            mismatches.append(f"{oid}: {ours!r} != Net-SNMP's {theirs!r}")
        else:
            deliberate[kind] += 1
    return mismatches, deliberate


# -- snmptranslate over the vendored sources -------------------------------------------


def test_every_node_of_the_vendored_modules(resolver: MibResolver) -> None:
    """Every OID of Net-SNMP's tree over the vendored modules, named alike."""
    oids = [line.strip().lstrip(".") for line in snmptranslate("-To")]
    assert len(oids) > 500
    mismatches, deliberate = _compare(resolver, oids, translate(oids))
    print(f"every node: {len(oids)} OIDs, {dict(deliberate)}")
    assert mismatches == []
    # the top arcs (iso, ccitt...) only: every defined node has its name
    assert deliberate["prefix only"] < 10
    assert deliberate["no source"] == 0


def _sample_arcs(parts: Sequence[IndexObject]) -> tuple[int, ...]:
    """An instance suffix that fits ``parts``: an integer 1 or its first positive
    enumeration value, an IpAddress 10.0.0.1, a string "ab" (its size when fixed,
    an address when an InetAddress follows an InetAddressType), an OID 1.3.6."""
    arcs: list[int] = []
    previous = -1
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part.kind == "INTEGER":
            positive = sorted(v for v in part.enums if v > 0)
            value = positive[0] if positive else 1
            arcs.append(value)
            previous = value
        elif part.kind == "IP_ADDRESS":
            arcs.extend((10, 0, 0, 1))
        elif part.kind == "OBJECT_ID":
            arcs.extend((1, 3, 6) if part.implied and last else (3, 1, 3, 6))
        elif part.kind == "STRING":
            if part.tc == "InetAddress" and previous in (1, 2):
                body: tuple[int, ...] = (10, 0, 0, 1) if previous == 1 else (254, 128, *[0] * 13, 1)
            elif part.length is not None:
                body = tuple(97 + i % 26 for i in range(part.length))
            else:
                body = (97, 98)
            arcs.extend(body if (part.implied and last) or part.length else (len(body), *body))
        else:
            arcs.append(1)
    return tuple(arcs)


def _instances(resolver: MibResolver) -> Iterator[str]:
    """An instance of every column of every loaded table, and the same one arc
    short and one arc long."""
    for oid, node in sorted(resolver._nodes.items()):
        if node.kind != "column":
            continue
        parts = resolver._row_index(oid[:-1])
        if parts is None:
            continue
        suffix = _sample_arcs(parts)
        yield format_oid(oid + suffix)
        if len(suffix) > 1:
            yield format_oid(oid + suffix[:-1])
        yield format_oid((*oid, *suffix, 7))


def test_an_instance_of_every_column(resolver: MibResolver) -> None:
    """Indexes of every kind the vendored tables have (integers, enumerations,
    addresses, strings of every size, IMPLIED, OIDs, InetAddress), and the numeric
    fallback when the arcs do not fit, named as Net-SNMP names them."""
    oids = list(_instances(resolver))
    assert len(oids) > 1500
    mismatches, deliberate = _compare(resolver, oids, translate(oids))
    print(f"every column: {len(oids)} OIDs, {dict(deliberate)}")
    assert mismatches == []
    # compared with Net-SNMP: the columns of the modules it has a source of here
    assert len(oids) - deliberate["no source"] > 400


# -- snmpbulkwalk over recordings of real devices --------------------------------------


def _walk_names(agent: Snmpsim, community: str) -> list[str]:
    """The names of ``snmpbulkwalk`` default output (``-Ox``: values in hex), in order."""
    program = require_program("snmpbulkwalk")
    args = [program, "-v2c", "-Cr25", "-c", community, "-Ox", "-t", "5", "-r", "2"]
    result = subprocess.run(
        [*args, *_net_snmp_args(), f"{agent.host}:{agent.port}", "."],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = []
    for line in result.stdout.splitlines():
        name, sep, _value = line.partition(" = ")
        if sep and not line.startswith(" ") and not _value.startswith("No more variables"):
            names.append(name)
    return names


@pytest.mark.peer("snmpsim")
@pytest.mark.parametrize("community", list(RECORDINGS))
def test_a_whole_walk_is_named_as_snmpbulkwalk_names_it(
    resolver: MibResolver, fresh: MibResolver, community: str
) -> None:
    """Every var-bind of a whole-agent walk: fleettop's name of the recorded OID is
    Net-SNMP's name of the var-bind walked there; and every name is accepted where
    a name is typed (:meth:`MibResolver.lookup`): from its text alone, or where the
    index was written lossily (octets that are not printable ASCII as ``.``, as
    Net-SNMP writes them), as the screen showed it."""
    # some recordings repeat their last OID (once walked)
    recorded = list(
        dict.fromkeys(
            line.split("|", 1)[0]
            for line in recording_lines(RECORDINGS[community])
            if "|" in line and not line.startswith("#")
        )
    )
    with Snmpsim({community: RECORDINGS[community]}) as agent:
        names = _walk_names(agent, community)
    assert len(names) == len(recorded)
    mismatches, deliberate = _compare(resolver, recorded, names)
    assert mismatches == []
    kinds = {"prefix only", "newer module", "no source", "index type unknown to Net-SNMP"}
    assert set(deliberate) <= kinds
    print(f"{community}: {len(recorded)} var-binds, {dict(deliberate)}")
    not_back: list[str] = []
    for oid in recorded:
        name = resolver.resolve(oid)
        if name is None:
            continue
        assert resolver.lookup(name) == oid
        try:
            again = fresh.lookup(name)
        except ValueError as exc:
            again = str(exc)
        if again != oid and not _LOSSY.search(name.partition(".")[2]):
            not_back.append(f"{name}: {again}")
    assert not_back == []
