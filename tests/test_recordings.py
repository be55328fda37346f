"""Whole-agent walks of real devices, var-bind for var-bind against Net-SNMP.

Recordings of real devices (``snmpsim-data``, one of each class: UPS, firewall,
host, wireless access point, switch, router, storage) are served by snmpsim on a
free port (:class:`tests.snmpsim_peers.Snmpsim`; the community is the class). Each
is walked once from the root ``.`` by Net-SNMP's ``snmpbulkwalk -On -Ox`` and by
fleettop's walk (:meth:`SnmpDevice.walk`, GETBULK, max-repetitions 25); two of them
(with data outside 1.3.6.1) also by the ``fleettop walk --json`` command. The walks
must agree on every OID, type and value.

Outside 1.3.6.1: the switch has LLDP-MIB (1.0.8802), the access point IEEE 802.11
(1.2.840.10036), the firewall IEEE 802.1 (1.3.111): whole-agent walks reach them.
None of these recordings has data under the top arcs 0 or 2, so Net-SNMP's ``.``
(which it reads as ``.1``, see ``console/oid.py``) covers the whole agent too.

Exclusion (the one): a recorded value with snmpsim's ``numeric`` variation module
(``TAG:numeric`` in the ``.snmprec``: 24 outlet states of the UPS that cycle 1..2
every second, one gauge of the access point) changes with time by design, so two
walks a moment apart read different values. Their OIDs and types are still
compared; their values are not.

CPU: snmpsim spends ~0.45 ms per var-bind answered, and the recordings hold ~35k
var-binds, each walked twice (Net-SNMP, fleettop): one test per recording serves it
alone and walks it once each way (so pytest-xdist's workers never walk one twice),
and each class has its smallest recording with the data wanted (LLDP: the D-Link
switch; no router or storage recording is under 8k var-binds).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.format import decode_opaque_float
from tests.netsnmp_walk import Varbind, comparable, snmpbulkwalk
from tests.snmpsim_peers import Snmpsim, fleettop_walk, recording_lines, varying_oids

#: snmpsim answers slowly on a loaded machine: ~10k var-binds twice took 108 s at load 12
pytestmark = [pytest.mark.peer("snmpsim"), pytest.mark.timeout(600)]

#: community -> recording (snmpsim-data); the class of device is the community.
RECORDINGS = {
    "ups": "UPS/apc-8932",
    "firewall": "network/firewall/paloalto-pa-5000",
    "host": "os/windows/XP",
    "wifi": "network/wifi/ubiquiti-m5",
    "switch": "network/switch/dlink-des3038",
    "router": "network/router/cisco-unmarked-0",
    "storage": "storage/isilon-onefs",
}
#: Walked by the ``fleettop walk`` command too (the smaller ones).
COMMAND = ("firewall", "wifi")
#: community -> a subtree outside 1.3.6.1 the recording has data in.
OUTSIDE = {"switch": "1.0.8802", "wifi": "1.2.840", "firewall": "1.3.111"}
REPETITIONS = 25


def _recorded_oids(community: str) -> list[str]:
    return [
        line.split("|", 1)[0]
        for line in recording_lines(RECORDINGS[community])
        if "|" in line and not line.startswith("#")
    ]


async def _fleettop_walk(agent: Snmpsim, community: str) -> list[Varbind]:
    return [
        comparable(oid, data) for oid, data in await fleettop_walk(agent, community, REPETITIONS)
    ]


def _command_walk(agent: Snmpsim, community: str) -> list[Varbind]:
    config = Path(os.environ["FLEETTOP_DATA_DIR"]) / f"walk-{community}.yaml"
    config.write_text(
        "devices:\n"
        f"  - name: {community}\n"
        "    snmp:\n"
        f"      remote_host: {agent.host}\n"
        f"      remote_port: {agent.port}\n"
        "      version: V2C\n"
        f"      community: {community}\n"
        "      polling_oids: []\n"
        "      request_timeout: 5\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "console.cli", "walk", str(config), community, "."]
    result = subprocess.run(
        [*command, "--json", "--no-names", "-r", str(REPETITIONS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(row) == {"oid", "name", "type", "value", "display"} for row in rows)
    return [comparable(row["oid"], row) for row in rows]


def _differences(
    ours: list[Varbind], reference: list[Varbind], varying: frozenset[str]
) -> list[str]:
    """What differs, one line each (empty: the walks agree)."""
    problems: list[str] = []
    ours_oids = [v.oid for v in ours]
    reference_oids = [v.oid for v in reference]
    if ours_oids != reference_oids:
        missing = sorted(set(reference_oids) - set(ours_oids))[:5]
        extra = sorted(set(ours_oids) - set(reference_oids))[:5]
        problems.append(
            f"OIDs differ: {len(ours_oids)} walked, {len(reference_oids)} by Net-SNMP;"
            f" missing {missing}, extra {extra}"
        )
        return problems
    for mine, theirs in zip(ours, reference, strict=True):
        if mine.type != theirs.type:
            problems.append(f"{mine.oid}: type {mine.type} != Net-SNMP's {theirs.type}")
        elif mine.oid in varying:
            continue
        elif not _same_value(mine, theirs):
            problems.append(f"{mine.oid}: {mine.value!r} != Net-SNMP's {theirs.value!r}")
    return problems


def _same_value(mine: Varbind, theirs: Varbind) -> bool:
    if mine.type == "ARBITRARY" and isinstance(theirs.value, str):
        # Net-SNMP decodes its opaque floats: "Float: 1.5"
        number = decode_opaque_float(mine.value.hex())
        return number is not None and float(theirs.value.split(": ")[1]) == pytest.approx(number)
    return bool(mine.value == theirs.value)


@pytest.mark.parametrize("community", list(RECORDINGS))
def test_whole_agent_walk_matches_snmpbulkwalk(community: str) -> None:
    """One recording, served on its own (tests spread over workers index and walk
    each recording once): Net-SNMP's walk, fleettop's, and for :data:`COMMAND` the
    ``fleettop walk --json`` command's, var-bind for var-bind."""
    varying = varying_oids(RECORDINGS[community])
    with Snmpsim({community: RECORDINGS[community]}) as agent:
        reference = snmpbulkwalk(agent.host, agent.port, community, ".", repetitions=REPETITIONS)
        ours = asyncio.run(_fleettop_walk(agent, community))
        command = _command_walk(agent, community) if community in COMMAND else None
    assert len(reference) > 300  # the recording was served, not an empty agent
    assert _differences(ours, reference, varying) == []
    if command is not None:
        assert _differences(command, reference, varying) == []
    recorded = _recorded_oids(community)
    # nothing lies under the top arcs 0 or 2: Net-SNMP's "." (its ".1") is the whole agent
    assert [oid for oid in recorded if oid.split(".")[0] != "1"] == []
    subtree = OUTSIDE.get(community)
    if subtree is not None:  # data outside 1.3.6.1, all of it walked
        inside = [oid for oid in recorded if oid.startswith(subtree + ".")]
        assert inside
        assert [v.oid for v in ours if v.oid.startswith(subtree + ".")] == inside


def test_the_exclusion_is_only_the_varying_values() -> None:
    """The values left out of the comparison are the 25 that snmpsim varies with time
    (``numeric``: the UPS's 24 outlet states cycling 1..2 every second, wrap=1; one
    gauge of the access point), no more."""
    varying = {community: varying_oids(RECORDINGS[community]) for community in RECORDINGS}
    assert {community: len(oids) for community, oids in varying.items() if oids} == {
        "ups": 24,
        "wifi": 1,
    }
