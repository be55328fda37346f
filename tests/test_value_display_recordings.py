"""Formatted values of whole walks of real devices against Net-SNMP (issue 13 §6):
recordings of ``snmpsim-data`` served by snmpsim, walked from ``.`` by Net-SNMP's
``snmpbulkwalk`` with the MIB sources loaded (its default output: ``up(1)``,
DISPLAY-HINTs, UNITS) and by fleettop (:meth:`SnmpDevice.walk`), each value
formatted by :class:`console.snmpdisplay.ValueFormatter` with the same MIB sources.

Compared: every var-bind whose defining object comes from a module both sides load
from the same source (fleettop's vendored modules, :data:`SOURCES`); the others are
counted, not compared (Net-SNMP would not know them). Each value is equal, or
differs by a deliberate rule of ``docs/mibs.md`` (:data:`tests.netsnmp_values.DELIBERATE`,
counted per rule); no other mismatch. Values snmpsim varies with time
(``:numeric``) are left out, as in ``tests/test_recordings.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmpdisplay import ValueFormatter
from tests.mib_helpers import module_of
from tests.netsnmp_values import compare, formatted_walk
from tests.snmpsim_peers import Snmpsim, fleettop_walk, varying_oids

pytestmark = [pytest.mark.peer("snmpsim"), pytest.mark.timeout(600)]

#: community -> recording: an access point, a firewall, a Windows host, a UPS.
RECORDINGS = {
    "wifi": "network/wifi/ubiquiti-m5",
    "firewall": "network/firewall/paloalto-pa-5000",
    "host": "os/windows/XP",
    "ups": "UPS/apc-8932",
}
#: The MIB source directories both sides load.
SOURCES = (BASE_DIR,)


def _modules() -> frozenset[str]:
    return frozenset(
        module_of(path)
        for source in SOURCES
        for path in source.iterdir()
        if path.suffix in (".mib", ".txt", ".my")
    )


def _net_snmp_modules() -> str:
    """``MIBS`` for Net-SNMP, current modules first: Net-SNMP names (and formats) a
    node by the first loaded module that defines it, fleettop by SMIv2's current
    module (IF-MIB's ifType and ifPhysAddress, not RFC1213-MIB's)."""
    first = ["SNMPv2-MIB", "IF-MIB", "IANAifType-MIB"]
    return ":".join(first + sorted(_modules() - set(first)))


@pytest.fixture(scope="module")
def formatter(tmp_path_factory: pytest.TempPathFactory) -> ValueFormatter:
    resolver = MibResolver(mib_paths=SOURCES, cache_dir=tmp_path_factory.mktemp("mibs"))
    resolver.load()
    return ValueFormatter(lambda: resolver.info)


@pytest.mark.parametrize("community", list(RECORDINGS))
def test_formatted_values_of_a_whole_walk_match_net_snmp(
    community: str, formatter: ValueFormatter, tmp_path: Path
) -> None:
    recording = RECORDINGS[community]
    with Snmpsim({community: recording}) as agent:
        reference = formatted_walk(
            agent.host, agent.port, community, ".", SOURCES, _net_snmp_modules()
        )
        walked = asyncio.run(fleettop_walk(agent, community))
    assert len(walked) == len(reference) > 300
    modules = _modules()
    varying = varying_oids(recording)
    context = dict(walked)
    rules: Counter[str] = Counter()
    problems: list[str] = []
    compared = 0
    for oid, data in walked:
        obj = formatter.describe(oid)
        if obj is None or obj.module not in modules or oid in varying:
            continue
        compared += 1
        ours = formatter.display(oid, data, context=context)
        rule, problem = compare(ours, data, reference[oid], obj)
        if problem:
            problems.append(f"{oid} {obj.qualified}: {problem}")
        if rule:
            rules[rule] += 1
    print(f"{community}: {compared} of {len(walked)} compared; rules {dict(rules)}")
    assert problems == []
    assert compared > 40
