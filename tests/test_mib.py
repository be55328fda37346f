"""MIB names both ways (console.snmp.mib) and MIB source compilation
(console.snmp.mibs), against pysnmp's bundled MIBs, the test MIB modules in
tests/data/mibs/ and, where installed, the Net-SNMP MIB sources Debian ships in
/usr/share/snmp/mibs (package libsnmp-base, pulled in by ``snmp``/``snmpd``).

Every compiling test uses its own cache root under ``tmp_path``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from console.snmp import mibs
from console.snmp.mib import MibResolver, disable_pysnmp_compiler
from console.snmp.mibs import CACHE_ENV, STORE, compile_mibs
from tests.conftest import IN_CI

DATA = Path(__file__).parent / "data" / "mibs"
DEBIAN_MIBS = Path("/usr/share/snmp/mibs")
FT = "1.3.6.1.4.1.32473"


@pytest.fixture(scope="module")
def resolver() -> MibResolver:
    return MibResolver()


def _mib_dir(tmp_path: Path, *names: str) -> Path:
    """A fresh source directory holding copies of the named test MIB files."""
    directory = tmp_path / "src"
    directory.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(DATA / f"{name}.txt", directory)
    return directory


# -- numeric OID -> name ------------------------------------------------------------

RESOLVED = [
    ("1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0"),
    (".1.3.6.1.2.1.1.1.0", "SNMPv2-MIB::sysDescr.0"),
    ("1.3.6.1.2.1.1.9.1.3.2", "SNMPv2-MIB::sysORDescr.2"),
    ("1.3.6.1.2.1.1", "SNMPv2-MIB::system"),
    # IP-MIB defines it now: RFC1213-MIB names only what no newer module defines
    ("1.3.6.1.2.1.4.20.1.1.127.0.0.1", "IP-MIB::ipAdEntAddr.127.0.0.1"),
    ("1.3.6.1.2.1.3.1.1.1.1.1.10.0.0.1", "RFC1213-MIB::atIfIndex.1.1.10.0.0.1"),
    ("1.3.6.1.2.1.4.1.0", "IP-MIB::ipForwarding.0"),
    ("1.3.6.1.2.1.6.5.0", "TCP-MIB::tcpActiveOpens.0"),
    ("1.3.6.1.2.1.7.1.0", "UDP-MIB::udpInDatagrams.0"),
    ("1.3.6.1.2.1.2.2.1.1.1", "IF-MIB::ifIndex.1"),
    ("1.3.6.1.6.3.10.2.1.1.0", "SNMP-FRAMEWORK-MIB::snmpEngineID.0"),
    ("1.3.6.1.2.1.2.1.0", "IF-MIB::ifNumber.0"),
    ("1.3.6.1.2.1.2.2.1.10.3", "IF-MIB::ifInOctets.3"),
    ("1.3.6.1.2.1.31.1.1.1.6.1", "IF-MIB::ifHCInOctets.1"),
    ("1.3.6.1.2.1.25.1.1.0", "HOST-RESOURCES-MIB::hrSystemUptime.0"),
    ("1.3.6.1.2.1.33.1.2.4.0", "UPS-MIB::upsEstimatedChargeRemaining.0"),
    ("1.3.6.1.2.1.33.1.2.3.0", "UPS-MIB::upsEstimatedMinutesRemaining.0"),
    ("1.3.6.1.2.1.33.1.3.3.1.2.1", "UPS-MIB::upsInputFrequency.1"),
    ("1.3.6.1.2.1.33.2.1", "UPS-MIB::upsTrapOnBattery"),
    ("1.3.6.1.2.1.25.3.2.1.2.1", "HOST-RESOURCES-MIB::hrDeviceType.1"),
    ("1.3.6.1.2.1.47.1.1.1.1.2.1", "ENTITY-MIB::entPhysicalDescr.1"),
    # DISMAN-EVENT-MIB's sysUpTimeInstance is the instance 0 of sysUpTime
    ("1.3.6.1.2.1.1.3.0", "SNMPv2-MIB::sysUpTime.0"),
    # indexes decoded by the INDEX clause, as Net-SNMP writes them
    (
        "1.3.6.1.2.1.7.7.1.8.1.4.0.0.0.0.161.1.4.0.0.0.0.0.1",
        'UDP-MIB::udpEndpointProcess.ipv4."0.0.0.0".161.ipv4."0.0.0.0".0.1',
    ),
    (
        "1.3.6.1.2.1.4.34.1.3.2.16.254.128.0.0.0.0.0.0.2.18.121.255.254.98.249.64",
        'IP-MIB::ipAddressIfIndex.ipv6."fe:80:00:00:00:00:00:00:02:12:79:ff:fe:62:f9:40"',
    ),
    (
        "1.3.6.1.2.1.4.24.7.1.7.1.4.0.0.0.0.0.2.0.0.1.4.10.0.0.1",
        'IP-FORWARD-MIB::inetCidrRouteIfIndex.ipv4."0.0.0.0".0.2.0.0.ipv4."10.0.0.1"',
    ),
    ("1.3.6.1.2.1.17.4.3.1.2.0.12.41.52.139.12", "BRIDGE-MIB::dot1dTpFdbPort.'..)4..'"),
    ("1.3.6.1.6.3.12.1.2.1.3.97.98.99", "SNMP-TARGET-MIB::snmpTargetAddrTAddress.'abc'"),
    (
        "1.3.6.1.4.1.8072.1.3.2.3.1.1.4.116.101.115.116",
        'NET-SNMP-EXTEND-MIB::nsExtendOutput1Line."test"',
    ),
    # an index that does not fit its INDEX clause: the numeric arcs from there on
    ("1.3.6.1.2.1.4.34.1.3.1.9.10.0", "IP-MIB::ipAddressIfIndex.ipv4.9.10.0"),
    ("1.3.6.1.2.1.7.7.1.8.1", "UDP-MIB::udpEndpointProcess.ipv4"),
    ("1.3.6.1.4.1.2021.10.1.6.1", "UCD-SNMP-MIB::laLoadFloat.1"),
]


@pytest.mark.parametrize(("oid", "name"), RESOLVED)
def test_mib_resolver_names(resolver: MibResolver, oid: str, name: str) -> None:
    assert resolver.resolve(oid) == name


@pytest.mark.parametrize("oid", ["1.3.6.1.4.1.99999.1.2", "1.4.5", "1.3.x", "", "hello"])
def test_mib_resolver_never_raises_for_unknown_oids(resolver: MibResolver, oid: str) -> None:
    assert resolver.resolve(oid) is None


def test_mib_resolver_is_lazy_and_cached() -> None:
    resolver = MibResolver(cache_size=2)
    assert not resolver.loaded
    assert resolver.resolve("1.3.6.1.2.1.1.5.0") == "SNMPv2-MIB::sysName.0"
    assert resolver.loaded
    assert resolver.load_seconds is not None
    assert resolver.load_seconds > 0
    assert "SNMPv2-MIB" in resolver.modules
    assert "RFC1213-MIB" in resolver.modules
    resolver.resolve("1.3.6.1.2.1.1.6.0")
    resolver.resolve("1.3.6.1.2.1.1.4.0")
    assert resolver.cache_info() == {"size": 2, "max_size": 2}
    # no mib_paths: nothing compiled; the standard modules are pysnmp-mibs' compiled ones
    assert resolver.compiled is None
    assert {"IF-MIB", "UPS-MIB", "HOST-RESOURCES-MIB"} <= set(resolver.modules)
    assert resolver.problems == ()


async def test_mib_resolver_loads_in_a_thread() -> None:
    resolver = MibResolver(modules=())
    await resolver.aload()
    assert resolver.loaded
    assert resolver.resolve("1.3.6.1.2.1.1.3.0") == "SNMPv2-MIB::sysUpTime.0"


def test_mib_resolver_rejects_bad_cache_size() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        MibResolver(cache_size=0)


def test_resolving_never_installs_pysnmps_default_compiler(resolver: MibResolver) -> None:
    """pysnmp's ObjectIdentity would otherwise add a pysmi compiler reading
    /usr/share/snmp/mibs and writing ~/.pysnmp/mibs to the resolver's builder."""
    resolver.resolve("1.3.6.1.2.1.1.3.0")
    compiler = resolver._view.mibBuilder.get_mib_compiler()
    assert type(compiler).__name__ == "_NoCompiler"


def test_disable_pysnmp_compiler_on_an_engine() -> None:
    from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, SnmpEngine
    from pysnmp.smi import view
    from pysnmp.smi.error import MibNotFoundError

    engine = SnmpEngine()
    builder = engine.get_mib_builder()
    disable_pysnmp_compiler(builder)
    disable_pysnmp_compiler(builder)  # idempotent
    mib_view = view.MibViewController(builder)
    resolved = ObjectType(ObjectIdentity("1.3.6.1.2.1.1.3.0")).resolve_with_mib(mib_view)
    assert str(resolved[0]) == "1.3.6.1.2.1.1.3.0"
    assert type(builder.get_mib_compiler()).__name__ == "_NoCompiler"
    with pytest.raises(MibNotFoundError):
        builder.load_modules("FLEETTOP-NO-SUCH-MIB")
    engine.close_dispatcher()


# -- name -> numeric OID -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "oid"),
    [
        ("SNMPv2-MIB::sysName.0", "1.3.6.1.2.1.1.5.0"),
        ("sysUpTime.0", "1.3.6.1.2.1.1.3.0"),
        ("  sysUpTime.0 ", "1.3.6.1.2.1.1.3.0"),
        ("IF-MIB::ifInOctets.3", "1.3.6.1.2.1.2.2.1.10.3"),
        (
            'ipAddressIfIndex.ipv6."fe80::212:79ff:fe62:f940"',
            "1.3.6.1.2.1.4.34.1.3.2.16.254.128.0.0.0.0.0.0.2.18.121.255.254.98.249.64",
        ),
        ('IP-MIB::ipAddressIfIndex.ipv4."10.0.0.1"', "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.1"),
        ("ipAddressIfIndex.1.4.10.0.0.1", "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.1"),
        ("snmpTargetAddrTAddress.'abc'", "1.3.6.1.6.3.12.1.2.1.3.97.98.99"),
        ('nsExtendOutput1Line."a.b"', "1.3.6.1.4.1.8072.1.3.2.3.1.1.3.97.46.98"),
        ("ifHCInOctets.1", "1.3.6.1.2.1.31.1.1.1.6.1"),
        ("sysDescr", "1.3.6.1.2.1.1.1"),  # no index: the object's own OID
        ("SNMPv2-MIB::system", "1.3.6.1.2.1.1"),
        ("mib-2", "1.3.6.1.2.1"),
        ("SNMPv2-SMI::enterprises.32473", FT),
        ("ipAdEntAddr.127.0.0.1", "1.3.6.1.2.1.4.20.1.1.127.0.0.1"),
        ("snmpEngineID.0", "1.3.6.1.6.3.10.2.1.1.0"),
        ("sysname.0", "1.3.6.1.2.1.1.5.0"),  # case-insensitive fallback
        ("snmpv2-mib::SYSNAME.0", "1.3.6.1.2.1.1.5.0"),
        (".1.3.6.01.2.1.1.5.0", "1.3.6.1.2.1.1.5.0"),  # numeric: normalised
        ("1.3.6.1.4.1.99999", "1.3.6.1.4.1.99999"),  # numeric: needs no MIB
    ],
)
def test_lookup(resolver: MibResolver, name: str, oid: str) -> None:
    assert resolver.lookup(name) == oid


@pytest.mark.parametrize(("oid", "name"), [r for r in RESOLVED if not r[1].endswith("::system")])
def test_lookup_inverts_resolve(resolver: MibResolver, oid: str, name: str) -> None:
    assert resolver.resolve(oid) == name  # shown (a lossy index is accepted as shown)
    assert resolver.lookup(name) == oid.lstrip(".")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sysNme", "unknown MIB object 'sysNme'; did you mean 'sysName'?"),
        ("sysNme.0", "unknown MIB object 'sysNme'; did you mean 'sysName'?"),
        ("SNMPv2-MIB::sysNam.0", "unknown MIB object 'sysNam' in SNMPv2-MIB; did you mean"),
        ("IF-MB::ifInOctets.1", "unknown MIB module 'IF-MB'; did you mean 'IF-MIB'?"),
        ("ZZTOP::bar", "unknown MIB module 'ZZTOP' (not loaded: add its MIB source to mib_"),
        ("qwxz.0", "unknown MIB object 'qwxz' (no loaded MIB module defines it: add its MIB"),
        ("sysName.x", "'x' in 'sysName.x' is not a numeric index"),
        ("sysName.", "'(empty)' in 'sysName.' is not a numeric index"),
        ("sysName.0..1", "'(empty)' in 'sysName.0..1' is not a numeric index"),
        ("::sysName", "'::sysName' has no MIB module name before '::'"),
        ("SNMPv2-MIB::", "'SNMPv2-MIB::' has no MIB object name"),
        ("", "empty MIB object name"),
        ("   ", "empty MIB object name"),
        ("1.3.x", "'1.3.x' is not a numeric OID: arc 3 ('x') is not a number"),
        ("sysName." + ".".join(["1"] * 130), "more than the 128 allowed"),
        ("sysName.4294967296", "is larger than 4294967295"),
        ('ipAddressIfIndex.ipv9."x"', "'ipv9' is not a value of ipAddressAddrType"),
        ('ifIndex."abc"', "'abc' is not a number (ifIndex)"),
        ("dot1dTpFdbPort.'abc'", "dot1dTpFdbAddress takes exactly 6 octets"),
        ('ipAddressIfIndex.ipv4."10.0.0.1', "cannot read the index"),
    ],
)
def test_lookup_rejects_with_a_readable_message(
    resolver: MibResolver, name: str, message: str
) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        resolver.lookup(name)
    assert message in str(info.value)


def test_lookup_rejects_non_text(resolver: MibResolver) -> None:
    with pytest.raises(ValueError, match="must be text, not int"):
        resolver.lookup(5)  # type: ignore[arg-type]


# -- completion ---------------------------------------------------------------------


def test_complete_a_bare_prefix(resolver: MibResolver) -> None:
    assert resolver.complete("sysUpTime") == [
        "SNMPv2-MIB::sysUpTime",
        "DISMAN-EVENT-MIB::sysUpTimeInstance",
    ]
    names = resolver.complete("sys")
    assert "SNMPv2-MIB::sysName" in names
    assert all(n.split("::")[1].lower().startswith("sys") for n in names)
    # each object once (mib-2 is in RFC1213-MIB and SNMPv2-SMI), named by the module
    # lookup() prefers; the other module's name stays reachable qualified
    assert resolver.complete("mib-") == ["SNMPv2-SMI::mib-2"]
    assert resolver.complete("RFC1213-MIB::mib") == ["RFC1213-MIB::mib-2"]
    assert resolver.complete("SYSuptime")[0] == "SNMPv2-MIB::sysUpTime"


def test_complete_a_qualified_prefix(resolver: MibResolver) -> None:
    names = resolver.complete("IF-MIB::ifIn")
    assert names == sorted(names, key=str.casefold)
    assert {"IF-MIB::ifInOctets", "IF-MIB::ifInErrors", "IF-MIB::ifIndex"} <= set(names)
    assert all(n.lower().startswith("if-mib::ifin") for n in names)
    assert resolver.complete("RFC1213-MIB::ipAdEntA") == ["RFC1213-MIB::ipAdEntAddr"]


def test_complete_a_module_prefix(resolver: MibResolver) -> None:
    names = resolver.complete("SNMP-FRAMEWORK")
    assert names
    assert all(n.startswith("SNMP-FRAMEWORK-MIB::") for n in names)


def test_complete_respects_the_limit_and_every_name_looks_up(resolver: MibResolver) -> None:
    names = resolver.complete("if", limit=5)
    assert len(names) == 5
    everything = resolver.complete("s", limit=10_000)
    assert len(everything) > 100
    for name in everything:
        resolver.lookup(name)  # raises if a completion were not a valid name


@pytest.mark.parametrize("prefix", ["", "  ", "1.3.6", ".1", "sysName.", "sysName.0", "zzzzq"])
def test_complete_offers_nothing(resolver: MibResolver, prefix: str) -> None:
    assert resolver.complete(prefix) == []


def test_complete_with_a_zero_limit(resolver: MibResolver) -> None:
    assert resolver.complete("sys", limit=0) == []


# -- compiling MIB sources ------------------------------------------------------------


def test_a_test_mib_compiles_and_resolves_both_ways(tmp_path: Path) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=tmp_path / "cache")
    resolver.load()
    compiled = resolver.compiled
    assert compiled is not None
    assert not compiled.cached
    # IF-MIB comes along: the test MIB imports InterfaceIndex from it
    assert compiled.compiled == ("FLEETTOP-TEST-MIB", "IANAifType-MIB", "IF-MIB")
    assert compiled.sources == {"FLEETTOP-TEST-MIB": source / "FLEETTOP-TEST-MIB.txt"}
    assert resolver.problems == ()
    assert {"FLEETTOP-TEST-MIB", "IF-MIB"} <= set(resolver.modules)

    assert resolver.resolve(f"{FT}.1.1.0") == "FLEETTOP-TEST-MIB::ftTemperature.0"
    assert resolver.resolve(f"{FT}.1.3.1.3.7") == "FLEETTOP-TEST-MIB::ftPortInBytes.7"
    assert resolver.resolve(FT) == "FLEETTOP-TEST-MIB::fleettopTestMIB"
    assert resolver.lookup("FLEETTOP-TEST-MIB::ftTemperature.0") == f"{FT}.1.1.0"
    assert resolver.lookup("ftPortInBytes.7") == f"{FT}.1.3.1.3.7"
    assert resolver.lookup("ftOverheat") == f"{FT}.2.1"
    assert resolver.complete("ftPort") == [
        "FLEETTOP-TEST-MIB::ftPortEntry",
        "FLEETTOP-TEST-MIB::ftPortIfIndex",
        "FLEETTOP-TEST-MIB::ftPortInBytes",
        "FLEETTOP-TEST-MIB::ftPortIndex",
        "FLEETTOP-TEST-MIB::ftPortName",
        "FLEETTOP-TEST-MIB::ftPortTable",
    ]
    assert resolver.resolve("1.3.6.1.2.1.31.1.2.1.3.1.2") == "IF-MIB::ifStackStatus.1.2"
    assert resolver.lookup("ifStackStatus.1.2") == "1.3.6.1.2.1.31.1.2.1.3.1.2"


def test_compiled_mibs_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    cache = tmp_path / "cache"
    first = compile_mibs([source], cache_dir=cache)
    assert first.directory == cache / STORE
    compiled = first.files["FLEETTOP-TEST-MIB"]
    assert compiled.parent == cache / STORE / "FLEETTOP-TEST-MIB"
    assert compiled.is_file()
    stamps = {p: p.stat().st_mtime_ns for p in first.files.values()}

    def no_compiling(*args: object) -> None:
        raise AssertionError("pysmi ran on a cache hit")

    monkeypatch.setattr(mibs, "_compile", no_compiling)
    (source / "FLEETTOP-TEST-MIB.txt").touch()  # a new mtime alone changes nothing
    second = compile_mibs([source], cache_dir=cache)
    assert second.cached
    assert second.compiled == ()
    assert second.files == first.files
    assert second.modules == first.modules
    assert {p: p.stat().st_mtime_ns for p in second.files.values()} == stamps

    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=cache)
    assert resolver.resolve(f"{FT}.1.2.0") == "FLEETTOP-TEST-MIB::ftLabel.0"
    assert resolver.compiled is not None
    assert resolver.compiled.cached


def test_a_damaged_cache_entry_compiles_again(tmp_path: Path) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    cache = tmp_path / "cache"
    first = compile_mibs([source], cache_dir=cache)
    first.files["FLEETTOP-TEST-MIB"].unlink()
    first.files["IF-MIB"].unlink()
    second = compile_mibs([source], cache_dir=cache)
    assert not second.cached
    assert second.compiled == ("FLEETTOP-TEST-MIB", "IF-MIB")
    assert second.files == first.files
    assert second.files["FLEETTOP-TEST-MIB"].is_file()


def test_changed_sources_compile_again(tmp_path: Path) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    cache = tmp_path / "cache"
    first = compile_mibs([source], cache_dir=cache)
    path = source / "FLEETTOP-TEST-MIB.txt"
    path.write_text(path.read_text().replace('"Cabinet temperature."', '"Air temperature."'))
    second = compile_mibs([source], cache_dir=cache)
    assert not second.cached
    assert second.compiled == ("FLEETTOP-TEST-MIB",)  # IF-MIB is unchanged
    assert second.files["FLEETTOP-TEST-MIB"] != first.files["FLEETTOP-TEST-MIB"]
    assert second.files["IF-MIB"] == first.files["IF-MIB"]


def test_a_broken_mib_warns_and_the_good_one_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB", "FLEETTOP-BROKEN-MIB")
    caplog.set_level(logging.WARNING, logger="console.snmp.mib")
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=tmp_path / "cache")
    resolver.load()
    assert resolver.lookup("ftTemperature.0") == f"{FT}.1.1.0"
    (problem,) = resolver.problems
    assert problem.module == "FLEETTOP-BROKEN-MIB"
    assert problem.file == source / "FLEETTOP-BROKEN-MIB.txt"
    assert "Bad grammar" in problem.reason
    assert "line 20" in problem.reason
    warnings = [r for r in caplog.records if r.name == "console.snmp.mib"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert str(source / "FLEETTOP-BROKEN-MIB.txt") in warnings[0].getMessage()
    assert "line 20" in warnings[0].getMessage()

    # from the cache, the warning is given again: the file is still broken
    caplog.clear()
    again = MibResolver(modules=(), mib_paths=[source], cache_dir=tmp_path / "cache")
    again.load()
    assert again.compiled is not None
    assert again.compiled.cached
    assert again.problems == resolver.problems
    assert any("Bad grammar" in r.getMessage() for r in caplog.records)


def test_a_mib_with_a_missing_import_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB", "FLEETTOP-ORPHAN-MIB")
    caplog.set_level(logging.WARNING, logger="console.snmp.mib")
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=tmp_path / "cache")
    resolver.load()
    assert "FLEETTOP-TEST-MIB" in resolver.modules
    assert "FLEETTOP-ORPHAN-MIB" not in resolver.modules
    (problem,) = resolver.problems
    assert problem.module == "FLEETTOP-ORPHAN-MIB"
    assert problem.file == source / "FLEETTOP-ORPHAN-MIB.txt"
    assert "imports from FLEETTOP-ABSENT-TC" in problem.reason
    assert "FLEETTOP-ABSENT-TC" in caplog.text
    assert resolver.resolve(f"{FT}.98.1.0") is None


def test_bad_mib_paths_are_problems_not_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory")
    result = compile_mibs([tmp_path / "absent", a_file], cache_dir=tmp_path / "cache")
    assert result.directory is None
    assert [p.reason for p in result.problems] == [
        "MIB path no such directory",
        "MIB path not a directory",
    ]
    assert not (tmp_path / "cache").exists()


def test_files_that_are_not_mib_modules_are_skipped(tmp_path: Path) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    (source / "README").write_text("MIBs for the lab\n")
    (source / "notes.md").write_text("FOO DEFINITIONS ::= BEGIN END\n")
    (source / ".hidden.txt").write_text("FOO DEFINITIONS ::= BEGIN END\n")
    result = compile_mibs([source], cache_dir=tmp_path / "cache")
    assert result.problems == ()
    assert "FLEETTOP-TEST-MIB" in result.modules


def test_the_cache_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    result = compile_mibs([source])
    assert result.directory == tmp_path / "env-cache" / STORE


def test_an_unusable_cache_root_compiles_into_a_temporary_dir(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache root should be")
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    caplog.set_level(logging.WARNING, logger="console.snmp.mib")
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=blocker)
    assert resolver.lookup("ftLabel.0") == f"{FT}.1.2.0"
    assert resolver.compiled is not None
    assert resolver.compiled.temporary
    assert resolver.compiled.directory is not None
    assert not resolver.compiled.directory.exists()  # removed once loaded
    assert "not writable" in caplog.text


async def test_aload_compiles_in_a_thread(tmp_path: Path) -> None:
    source = _mib_dir(tmp_path, "FLEETTOP-TEST-MIB")
    resolver = MibResolver(modules=(), mib_paths=[source], cache_dir=tmp_path / "cache")
    await resolver.aload()
    assert resolver.loaded
    assert resolver.lookup("FLEETTOP-TEST-MIB::ftLabel.0") == f"{FT}.1.2.0"


@pytest.mark.peer("net-snmp MIBs")
def test_debians_net_snmp_mibs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Real MIB sources: what Debian's libsnmp-base installs. Two import symbols of
    SNMP-FRAMEWORK-MIB, whose source neither Debian nor fleettop ships: each is a
    warning naming the missing module; pysmi refuses NET-SNMP-PASS-MIB (its
    Counter64/Integer64 objects have no parent pysmi accepts); the others load, and
    Debian's UCD-SNMP-MIB (Net-SNMP 5.9's) replaces pysnmp-mibs' older copy."""
    if not (DEBIAN_MIBS / "NET-SNMP-MIB.txt").is_file():
        message = f"{DEBIAN_MIBS} has no Net-SNMP MIBs (apt-get install snmp)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    caplog.set_level(logging.WARNING, logger="console.snmp.mib")
    resolver = MibResolver(modules=(), mib_paths=[DEBIAN_MIBS], cache_dir=tmp_path / "cache")
    resolver.load()
    assert {"NET-SNMP-MIB", "NET-SNMP-AGENT-MIB", "NET-SNMP-EXTEND-MIB"} <= set(resolver.modules)
    assert {"UCD-SNMP-MIB", "UCD-DISKIO-MIB", "LM-SENSORS-MIB"} <= set(resolver.modules)
    assert resolver.lookup("NET-SNMP-EXTEND-MIB::nsExtendOutput1Line") == (
        "1.3.6.1.4.1.8072.1.3.2.3.1.1"
    )
    assert resolver.resolve("1.3.6.1.4.1.8072.1.3.2.3.1.1.4.116.101.115.116") == (
        'NET-SNMP-EXTEND-MIB::nsExtendOutput1Line."test"'
    )
    assert resolver.complete("nsExtendOut", limit=3) == [
        "NET-SNMP-EXTEND-MIB::nsExtendOutLine",
        "NET-SNMP-EXTEND-MIB::nsExtendOutNumLines",
        "NET-SNMP-EXTEND-MIB::nsExtendOutput1Entry",
    ]
    reasons = {p.module: p.reason for p in resolver.problems}
    assert set(reasons) == {"NET-SNMP-EXAMPLES-MIB", "NET-SNMP-VACM-MIB", "NET-SNMP-PASS-MIB"}
    assert "no source of SNMP-FRAMEWORK-MIB in mib_paths" in reasons["NET-SNMP-VACM-MIB"]
    assert len(caplog.records) == len(resolver.problems)
    assert resolver.lookup("laLoad.1") == "1.3.6.1.4.1.2021.10.1.3.1"
    # an object of Net-SNMP 5.9's UCD-SNMP-MIB that pysnmp-mibs' 2011 copy lacks
    assert resolver.resolve("1.3.6.1.4.1.2021.4.18.0") == "UCD-SNMP-MIB::memTotalSwapX.0"


# -- names with an index: what the screens show, typed back -------------------------


def test_every_shown_name_is_accepted_and_completed() -> None:
    """A name resolve() gave is accepted by lookup() as shown, also where its index
    was written lossily (an octet that is not printable ASCII as ``.``), and
    completes from a prefix; the labels of an enumerated index object complete."""
    resolver = MibResolver()
    fdb = "1.3.6.1.2.1.17.4.3.1.2.0.12.41.52.139.12"
    inet = "1.3.6.1.2.1.4.34.1.3.1.4.10.0.0.1"
    assert resolver.resolve(fdb) == "BRIDGE-MIB::dot1dTpFdbPort.'..)4..'"
    assert resolver.resolve(inet) == 'IP-MIB::ipAddressIfIndex.ipv4."10.0.0.1"'
    assert resolver.lookup("BRIDGE-MIB::dot1dTpFdbPort.'..)4..'") == fdb
    assert resolver.lookup("dot1dTpFdbPort.'..)4..'") == (
        "1.3.6.1.2.1.17.4.3.1.2.46.46.41.52.46.46"  # typed, not shown: the text's octets
    )
    assert resolver.complete("dot1dTpFdbPort.'") == ["dot1dTpFdbPort.'..)4..'"]
    assert resolver.complete("IP-MIB::ipAddressIfIndex.ipv4.") == [
        'IP-MIB::ipAddressIfIndex.ipv4."10.0.0.1"'
    ]
    assert resolver.complete("ipAddressIfIndex.ipv6") == [
        "ipAddressIfIndex.ipv6",
        "ipAddressIfIndex.ipv6z",
    ]
    assert resolver.complete('udpEndpointProcess.ipv4."0.0.0.0".161.d') == [
        'udpEndpointProcess.ipv4."0.0.0.0".161.dns'
    ]
    assert resolver.complete("sysUpTime.") == []


def test_an_index_written_with_a_numeric_fallback_is_accepted() -> None:
    """An index that does not fit its INDEX clause is written numeric from the object
    that does not fit on (as Net-SNMP does); typed back, it gives the same arcs."""
    fresh = MibResolver()
    oid = "1.3.6.1.2.1.7.7.1.8.1.4.0.0.0.0.42161.4.255.255.255.255.4680.1"
    name = 'UDP-MIB::udpEndpointProcess.ipv4."0.0.0.0".42161.ipv6z.255.255.255.255.4680.1'
    assert fresh.lookup(name) == oid
    assert MibResolver().resolve(oid) == name
