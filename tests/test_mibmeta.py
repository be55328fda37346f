"""console.snmp.mibmeta against Net-SNMP: what ``snmptranslate -Td`` says of every
object of real modules (IF-MIB from fleettop's vendored source, SNMPv2-MIB as pysnmp
ships it compiled) must be what
:class:`~console.snmp.mibmeta.MibInfo` says: kind, textual convention, DISPLAY-HINT,
MAX-ACCESS, UNITS, enumerations, SIZE and range, INDEX, AUGMENTS, OBJECTS."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from console.snmp.mib import MibResolver
from console.snmp.mibmeta import IndexRef, MibInfo, MibObject
from console.snmp.mibs import BASE_DIR

DEBIAN_MIBS = Path("/usr/share/snmp/mibs")
MODULES = ("IF-MIB", "SNMPv2-MIB")

pytestmark = pytest.mark.skipif(
    shutil.which("snmptranslate") is None, reason="Net-SNMP's snmptranslate (Debian snmp)"
)


@pytest.fixture(scope="module")
def info() -> MibInfo:
    resolver = MibResolver(mib_paths=[BASE_DIR])  # the run's cache: compiled once
    resolver.load()
    found = resolver.info
    assert found is not None
    return found


def _translate(names: list[str]) -> dict[str, str]:
    """``snmptranslate -Td`` of each name: name -> its description block."""
    mib_dirs = f"{BASE_DIR}:{DEBIAN_MIBS}"
    out = subprocess.run(
        ["snmptranslate", "-M", mib_dirs, "-m", ":".join(MODULES), "-Td", *names],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    blocks: dict[str, str] = {}
    for block in out.split("\n\n"):
        head, _, body = block.strip().partition("\n")
        if head:
            blocks[head.strip()] = body
    return blocks


def _field(block: str, key: str) -> str | None:
    match = re.search(rf"^  {key}\t(.*)$", block, re.M)
    return match.group(1).strip() if match else None


def _braced(text: str | None) -> list[str]:
    return [] if text is None else [w.strip() for w in text.strip("{} ").split(",") if w.strip()]


def _ranges(syntax: str) -> list[tuple[int, int]]:
    found = re.search(r"\(([-\d.| ]+)\)\s*$", syntax)
    if not found:
        return []
    pairs = []
    for part in found.group(1).split("|"):
        low, _, high = part.strip().partition("..")
        pairs.append((int(low), int(high or low)))
    return pairs


def _check(obj: MibObject, block: str) -> list[str]:
    """The differences between ``obj`` and Net-SNMP's description of it."""
    wrong: list[str] = []
    macro = block.splitlines()[0].split()[-1]
    expected_macro = "NOTIFICATION-TYPE" if obj.kind == "notification" else "OBJECT-TYPE"
    if macro != expected_macro:
        wrong.append(f"macro {macro} vs kind {obj.kind}")
    access = _field(block, "MAX-ACCESS")
    if access is not None and access != obj.access:
        wrong.append(f"MAX-ACCESS {access} vs {obj.access}")
    units = _field(block, "UNITS")
    if (units or "").strip('"') != obj.units:
        wrong.append(f"UNITS {units} vs {obj.units!r}")
    augments = _braced(_field(block, "AUGMENTS"))
    if augments != ([obj.augments[1]] if obj.augments else []):
        wrong.append(f"AUGMENTS {augments} vs {obj.augments}")
    if obj.kind == "row" and not augments:
        index = _braced(_field(block, "INDEX"))
        mine = [("IMPLIED " if ref.implied else "") + ref.name for ref in obj.index]
        if index != mine:
            wrong.append(f"INDEX {index} vs {mine}")
    if obj.kind == "notification":
        objects = _braced(_field(block, "OBJECTS"))
        if objects != [name for _module, name in obj.objects]:
            wrong.append(f"OBJECTS {objects} vs {obj.objects}")
    syntax_text = _field(block, "SYNTAX")
    if syntax_text is None:
        if obj.syntax is not None:
            wrong.append("SYNTAX missing in Net-SNMP")
        return wrong
    syntax = obj.syntax
    if syntax is None:
        return [*wrong, f"no syntax; Net-SNMP: {syntax_text}"]
    convention = re.search(r"-- TEXTUAL CONVENTION (\S+)", block)
    if (convention.group(1) if convention else None) != syntax.convention:
        wrong.append(f"TC {convention and convention.group(1)} vs {syntax.convention}")
    hint = _field(block, "DISPLAY-HINT")
    if (hint or "").strip('"') != syntax.display_hint:
        wrong.append(f"DISPLAY-HINT {hint} vs {syntax.display_hint!r}")
    enums = dict(
        (int(number), label) for label, number in re.findall(r"([\w-]+)\((-?\d+)\)", syntax_text)
    )
    labels = dict(syntax.bits or syntax.enums)
    if enums != labels:
        wrong.append(f"enums {enums} vs {labels}")
    refined = _ranges(syntax_text)
    if syntax.data_type == "STRING" or syntax.base == "BITS":
        if refined != list(syntax.sizes):
            wrong.append(f"SIZE {refined} vs {syntax.sizes}")
    elif refined and refined != list(syntax.ranges) and not enums:
        wrong.append(f"range {refined} vs {syntax.ranges}")
    return wrong


def test_every_object_of_real_modules_matches_snmptranslate(info: MibInfo) -> None:
    objects = [
        obj
        for module in MODULES
        for obj in info.module_objects(module)
        if obj.kind in ("scalar", "table", "row", "column", "notification")
    ]
    assert len(objects) > 100  # IF-MIB alone defines ~90 such objects
    blocks = _translate([obj.qualified for obj in objects])
    mismatches = {
        obj.qualified: wrong
        for obj in objects
        if (wrong := _check(obj, blocks.get(obj.qualified, "? MISSING")))
    }
    assert mismatches == {}


def test_find_names_the_defining_object_and_instance(info: MibInfo) -> None:
    found = info.find("1.3.6.1.2.1.2.2.1.8.3")
    assert found is not None
    obj, suffix = found
    assert (obj.qualified, obj.kind, suffix) == ("IF-MIB::ifOperStatus", "column", (3,))
    assert obj.syntax is not None
    assert obj.syntax.enums[2] == "down"
    assert obj.index == (IndexRef("IF-MIB", "ifIndex"),)
    assert not obj.writable
    assert obj.readable
    admin = info.find((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 3))
    assert admin is not None
    assert admin[0].writable
    assert info.find("1.3.6.1.2.1.1.5.0") == (info.named("SNMPv2-MIB", "sysName"), (0,))
    # DISMAN-EVENT-MIB assigns sysUpTimeInstance there: still sysUpTime's instance 0
    assert info.find("1.3.6.1.2.1.1.3.0") == (info.named("SNMPv2-MIB", "sysUpTime"), (0,))
    # no module defines anything under this enterprise: only the skeleton node is found
    assert info.instance_of("1.3.6.1.2.1.2.2.1.8.3") == found
    assert info.instance_of("1.3.6.1.2.1.2.2") is None  # a table has no SYNTAX
    assert info.instance_of("1.3.x") is None
    skeleton = info.find("1.3.6.1.4.1.99999.1.2")
    assert skeleton is not None
    assert skeleton[0].kind == "identity"
    with pytest.raises(ValueError, match="not a numeric OID"):
        info.find("1.3.x")


def test_tree_queries(info: MibInfo) -> None:
    interfaces = [obj.name for obj in info.children("1.3.6.1.2.1.2")]
    assert interfaces == ["ifNumber", "ifTable"]
    entry = info.children("1.3.6.1.2.1.2.2")
    assert [obj.kind for obj in entry] == ["row"]
    columns = info.children(entry[0].oid)
    assert columns[0].name == "ifIndex"
    assert len(columns) >= 22
    carriers = {obj.qualified for obj in info.notifications_carrying("IF-MIB", "ifOperStatus")}
    assert carriers == {"IF-MIB::linkDown", "IF-MIB::linkUp"}
    hits = [obj.qualified for obj in info.search("ifhcinoct")]
    assert hits == ["IF-MIB::ifHCInOctets"]
    assert [obj.name for obj in info.search("1.3.6.1.2.1.31.1.1.1.6")] == ["ifHCInOctets"]
    assert info.named("IF-MIB", "noSuchThing") is None


def test_access_is_spelled_as_smi_whichever_compiler_made_the_module(
    tmp_path: Path,
) -> None:
    """PyPI's pysnmp-mibs (pysmi 0.0.x) writes ``setMaxAccess("readwrite")``; the
    objects must still read ``read-write`` (a write check that compares with SMI's
    spelling refused every such object)."""
    resolver = MibResolver(cache_dir=tmp_path)  # IF-MIB and UPS-MIB from pysnmp-mibs
    resolver.load()
    found = resolver.info
    assert found is not None
    admin = found.named("IF-MIB", "ifAdminStatus")
    oper = found.named("IF-MIB", "ifOperStatus")
    entry = found.named("IF-MIB", "ifEntry")
    devices = found.named("UPS-MIB", "upsIdentAttachedDevices")
    assert admin is not None
    assert oper is not None
    assert entry is not None
    assert devices is not None
    assert (admin.access, admin.writable) == ("read-write", True)
    assert (oper.access, oper.writable, oper.readable) == ("read-only", False, True)
    assert entry.access == "not-accessible"
    assert devices.writable
