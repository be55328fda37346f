"""fleettop's formatted values against Net-SNMP's default output (``snmpbulkwalk``
with the MIB sources loaded), on the DISPLAY-HINT test module served by snmpsim:
each value the same, or different by a rule of ``docs/mibs.md`` ("Values as the
MIB defines them"), or one of the hint forms where Net-SNMP departs from RFC 2579
(:data:`NET_SNMP_DEPARTS`, each with Net-SNMP's exact text)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from console.config import SnmpDeviceConfig
from console.events import EventManager
from console.secrets import Secret
from console.snmp import SnmpDevice
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmpdisplay import ValueFormatter
from tests.netsnmp_values import compare, formatted_walk
from tests.snmpsim_peers import Snmpsim
from tests.waiting import EventRecorder

pytestmark = [pytest.mark.peer("snmpsim"), pytest.mark.timeout(300)]

DATA = Path(__file__).parent / "data"
HINT_MIBS = DATA / "hintmibs"
RECORDING = DATA / "recordings" / "hints.snmprec"
ROOT = "1.3.6.1.4.1.32473.19"
HINTS = "1.3.6.1.4.1.32473.19.1"

#: Where Net-SNMP 5.9 departs from RFC 2579 §3.1, and so fleettop from Net-SNMP:
#: OID -> (Net-SNMP's text, fleettop's text).
NET_SNMP_DEPARTS = {
    # "If less than this number of octets remain in the value, then the lesser
    # number of octets are used": Net-SNMP reads past the end (0x03 -> 768)
    f"{HINTS}.6.0": ("165280258768", "1652802583"),
    f"{HINTS}.10.0": ("fdeadbeef1000000", "0000000fdeadbeef01"),
    # the separator "is not produced for display if it would be immediately followed
    # by the display of the repeat terminator character": Net-SNMP prints both
    f"{HINTS}.7.0": ("aa:bb:cc:/1.2", "aa:bb:cc/1.2"),
    # "leading zeros are omitted": Net-SNMP pads binary to 32 digits
    f"{HINTS}.17.0": ("00000000000000000000000000000101", "101"),
}


def _conf(agent: Snmpsim) -> SnmpDeviceConfig:
    return SnmpDeviceConfig(
        remote_host=agent.host,
        remote_port=agent.port,
        community=Secret("hints"),
        version="V2C",
        polling_oids=(),
        polling_delay=3600.0,
        request_timeout=5.0,
        request_retry_count=2,
    )


async def _walk(agent: Snmpsim) -> list[tuple[str, dict[str, object]]]:
    async with EventManager() as bus, SnmpDevice("hints", _conf(agent), bus) as device:
        await EventRecorder(bus).wait_for(lambda: device.status == "CONNECTED", within=60)
        async with contextlib.aclosing(device.walk(ROOT)) as walk:
            return [(oid, dict(data)) async for oid, data in walk]


def test_hinted_values_match_net_snmp(tmp_path: Path) -> None:
    resolver = MibResolver(mib_paths=[BASE_DIR, HINT_MIBS], cache_dir=tmp_path)
    resolver.load()
    formatter = ValueFormatter(lambda: resolver.info)
    with Snmpsim({"hints": str(RECORDING)}) as agent:
        reference = formatted_walk(
            agent.host, agent.port, "hints", ROOT, [BASE_DIR, HINT_MIBS], "FLEETTOP-HINTS-MIB"
        )
        walked = asyncio.run(_walk(agent))
    assert len(walked) == len(reference) == 23
    rules: dict[str, str] = {}
    problems = []
    for oid, data in walked:
        ours = formatter.display(oid, data)
        if oid in NET_SNMP_DEPARTS:
            assert (reference[oid].text, ours) == NET_SNMP_DEPARTS[oid]
            continue
        rule, problem = compare(ours, data, reference[oid], formatter.describe(oid))
        if problem:
            problems.append(f"{oid}: {problem}")
        if rule:
            rules[oid.removeprefix(HINTS + ".")] = rule
    assert problems == []
    # the documented rules, and only where expected (MAC, UUID, IPv6 by hint groups;
    # BITS; -0.05); the other 14 values are Net-SNMP's text exactly
    assert rules == {
        "1.0": "hex-padding",
        "9.0": "hex-padding",
        "11.0": "hex-padding",
        "13.0": "fixed-point-zero",
        "20.0": "bits-hex",
    }
