"""TrapReceiver against real senders: Net-SNMP's ``snmptrap`` and ``snmpinform``
(v1, v2c, v3 authPriv) run as asyncio subprocesses with ``MIBS=""`` and numeric OIDs,
sending to a receiver on a free 127.0.0.1 port in the test's own event loop; plain
UDP sockets for garbage and hand-built datagrams; the demo's trap sender."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from pysnmp.proto import rfc1902

from console.config import (
    Config,
    DeviceConfig,
    SnmpAuthentication,
    SnmpDeviceConfig,
    SnmpPrivacy,
    TrapsConfig,
    TrapUser,
)
from console.demo.agent import SnmpAgent
from console.demo.models import access_point, ups
from console.demo.traps import (
    POWER_DIPS,
    UPS_TRAP_ALARM_ENTRY_REMOVED,
    UPS_TRAP_ON_BATTERY,
    DemoTrapSender,
    v2c_trap,
)
from console.events import Event, EventManager
from console.format import Clock
from console.notifications.model import classify
from console.runtime import Runtime
from console.secrets import Secret
from console.snmp.mib import MibResolver
from console.snmp.mibs import BASE_DIR
from console.snmp.traps import (
    TrapReceiver,
    TrapStats,
    device_senders,
    notification_payload,
    parse_engine_id,
)
from tests.conftest import require_program
from tests.waiting import eventually
from widgets.notification_detail import detail_text

COMMUNITY = "tr4p-Community-5d1c"
V3_USER = "fleet-v3"
AUTH_PASS = "auth-Pass-9f2c81"
PRIV_PASS = "priv-Pass-71ab3e"
ENGINE_ID = "8000000001020304aa"  # the TRAP sender's engine ID (snmptrap -e)
SECRETS = (COMMUNITY, AUTH_PASS, PRIV_PASS)

ENTERPRISE = "1.3.6.1.4.1.32473.1.2"  # RFC 5612 documentation enterprise
LINK_DOWN_OID = "1.3.6.1.6.3.1.1.5.3"
LINK_UP_OID = "1.3.6.1.6.3.1.1.5.4"
COLD_START_OID = "1.3.6.1.6.3.1.1.5.1"
WARM_START_OID = "1.3.6.1.6.3.1.1.5.2"
IF_INDEX_3 = "1.3.6.1.2.1.2.2.1.1.3"
IF_ADMIN_STATUS_3 = "1.3.6.1.2.1.2.2.1.7.3"
IF_OPER_STATUS_3 = "1.3.6.1.2.1.2.2.1.8.3"
PRIVATE = "1.3.6.1.4.1.32473.2.1"  # private objects of the demo enterprise

TRAPS: tuple[str, ...] = ("snmp", "?", "trap", "*")
RECEIVER_STATS: tuple[str, ...] = ("snmp", "@receiver", "traps")


# -- fixtures and helpers ------------------------------------------------------------


@pytest.fixture(scope="module")
def mib(tmp_path_factory: pytest.TempPathFactory) -> MibResolver:
    """pysnmp's modules and IF-MIB (from fleettop's vendored source): linkDown's
    NOTIFICATION-TYPE and its OBJECTS' enumerations."""
    resolver = MibResolver(mib_paths=[BASE_DIR], cache_dir=tmp_path_factory.mktemp("mibs"))
    resolver.load()
    return resolver


@pytest.fixture
def netsnmp_env(tmp_path: Path) -> dict[str, str]:
    """Net-SNMP tools with no MIBs, no user configuration and state in tmp_path."""
    state = tmp_path / "net-snmp"
    state.mkdir()
    return {
        **os.environ,
        "MIBS": "",
        "HOME": str(tmp_path),
        "SNMPCONFPATH": str(state),
        "SNMP_PERSISTENT_DIR": str(state),
    }


@dataclass
class Harness:
    """A receiver, its bus and the events it published."""

    bus: EventManager
    receiver: TrapReceiver
    env: dict[str, str]
    traps: list[Event] = field(default_factory=list)
    counters: list[Event] = field(default_factory=list)

    @property
    def target(self) -> str:
        host, port = self.receiver.address
        return f"{host}:{port}"

    async def tool(self, name: str, *args: str) -> tuple[int, str]:
        """Run Net-SNMP's ``name`` with ``args`` (without blocking the loop); return its
        exit code and output."""
        process = await asyncio.create_subprocess_exec(
            require_program(name),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
        )
        async with asyncio.timeout(60):
            output, _ = await process.communicate()
        assert process.returncode is not None
        return process.returncode, output.decode(errors="replace")

    async def snmptrap(self, *args: str) -> None:
        code, output = await self.tool("snmptrap", *args)
        assert code == 0, output

    async def v2c(self, trap_oid: str, *var_binds: str, community: str = COMMUNITY) -> None:
        await self.snmptrap("-v", "2c", "-c", community, self.target, "", trap_oid, *var_binds)

    def v3_args(
        self, *, auth: str = AUTH_PASS, priv: str = PRIV_PASS, user: str = V3_USER
    ) -> list[str]:
        return [
            "-v",
            "3",
            "-u",
            user,
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            auth,
            "-x",
            "AES",
            "-X",
            priv,
        ]

    async def next_trap(self, count: int = 1) -> Event:
        """Wait until ``count`` traps have arrived; return the last."""
        await eventually(lambda: len(self.traps) >= count)
        return self.traps[count - 1]


@pytest.fixture
async def harness(mib: MibResolver, netsnmp_env: dict[str, str]) -> AsyncIterator[Harness]:
    user = TrapUser(
        V3_USER,
        engine_id=ENGINE_ID,
        authentication=SnmpAuthentication("SHA", Secret(AUTH_PASS)),
        privacy=SnmpPrivacy("AES", Secret(PRIV_PASS)),
    )
    config = TrapsConfig(
        listen_port=0, communities=(Secret("other"), Secret(COMMUNITY)), users=(user,)
    )
    async with EventManager() as bus:
        receiver = TrapReceiver(config, bus, mib=mib)
        harness = Harness(bus, receiver, netsnmp_env)
        bus.subscribe(TRAPS, harness.traps.append)
        bus.subscribe(RECEIVER_STATS, harness.counters.append)
        await receiver.start()
        try:
            yield harness
        finally:
            await receiver.aclose()


def varbinds(event: Event) -> list[dict[str, Any]]:
    payload = event.payload
    assert isinstance(payload, dict)
    result = payload["varbinds"]
    assert isinstance(result, list)
    return result  # type: ignore[return-value]


def payload_of(event: Event) -> dict[str, Any]:
    assert isinstance(event.payload, dict)
    return event.payload


# -- versions, PDU types and var-binds -------------------------------------------------


async def test_v1_generic_link_down_is_translated_and_v1_fields_rebuilt(harness: Harness) -> None:
    await harness.snmptrap(
        "-v", "1", "-c", COMMUNITY, harness.target,
        ENTERPRISE, "192.0.2.9", "2", "0", "4711",
        IF_INDEX_3, "i", "3", IF_ADMIN_STATUS_3, "i", "1", IF_OPER_STATUS_3, "i", "2",
    )  # fmt: skip
    event = await harness.next_trap()

    assert event.type == ("snmp", "@127.0.0.1", "trap", LINK_DOWN_OID)
    payload = payload_of(event)
    host, port = payload["sender"].split(":")
    assert host == "127.0.0.1"
    assert 0 < int(port) < 65536
    assert payload["version"] == "V1"
    assert payload["user"] is None
    assert payload["inform"] is False
    assert payload["trap_oid"] == LINK_DOWN_OID
    assert payload["trap_name"] == "IF-MIB::linkDown"
    assert payload["uptime"] == 4711
    assert payload["v1"] == {
        "enterprise": ENTERPRISE,
        "generic_trap": 2,
        "specific_trap": 0,
        "agent_address": "192.0.2.9",
    }
    # the RFC 3584 translation var-binds live in "v1", the community nowhere; each
    # value also as IF-MIB defines it ("display", issue 13 §5)
    assert varbinds(event) == [
        {
            "oid": IF_INDEX_3,
            "name": "IF-MIB::ifIndex.3",
            "type": "INTEGER",
            "value": 3,
            "display": "3",
        },
        {
            "oid": IF_ADMIN_STATUS_3,
            "name": "IF-MIB::ifAdminStatus.3",
            "type": "INTEGER",
            "value": 1,
            "display": "up(1)",
        },
        {
            "oid": IF_OPER_STATUS_3,
            "name": "IF-MIB::ifOperStatus.3",
            "type": "INTEGER",
            "value": 2,
            "display": "down(2)",
        },
    ]


async def test_v1_enterprise_specific_trap_keeps_enterprise_and_specific_code(
    harness: Harness,
) -> None:
    await harness.snmptrap(
        "-v", "1", "-c", COMMUNITY, harness.target,
        ENTERPRISE, "198.51.100.20", "6", "17", "12345",
        f"{PRIVATE}.1.0", "u", "4000000000",
        f"{PRIVATE}.2.0", "c", "99",
        f"{PRIVATE}.3.0", "a", "203.0.113.5",
        f"{PRIVATE}.4.0", "s", "radio wlan1 restarted",
    )  # fmt: skip
    event = await harness.next_trap()

    assert event.type[3] == f"{ENTERPRISE}.0.17"  # RFC 3584 §3.1: enterprise.0.specific
    payload = payload_of(event)
    assert payload["trap_name"] is None  # no MIB knows the private trap
    assert payload["uptime"] == 12345
    assert payload["v1"] == {
        "enterprise": ENTERPRISE,
        "generic_trap": 6,
        "specific_trap": 17,
        "agent_address": "198.51.100.20",
    }
    assert [(v["oid"], v["type"], v["value"]) for v in varbinds(event)] == [
        (f"{PRIVATE}.1.0", "UNSIGNED", 4000000000),
        (f"{PRIVATE}.2.0", "COUNTER", 99),
        (f"{PRIVATE}.3.0", "IP_ADDRESS", "203.0.113.5"),
        (f"{PRIVATE}.4.0", "STRING", "radio wlan1 restarted"),
    ]


async def test_a_link_down_is_named_by_its_notification_type_with_labelled_objects(
    harness: Harness,
) -> None:
    """Issue 13 §5: a v2c linkDown from Net-SNMP's snmptrap is named by IF-MIB's
    NOTIFICATION-TYPE and its OBJECTS shown with names and labels, in the stream
    line and in the detail pane (which keeps each raw value beside)."""
    await harness.v2c(
        LINK_DOWN_OID, IF_INDEX_3, "i", "3", IF_ADMIN_STATUS_3, "i", "1", IF_OPER_STATUS_3, "i", "2"
    )
    event = await harness.next_trap()
    payload = payload_of(event)
    assert payload["trap_name"] == "IF-MIB::linkDown"
    assert [vb["display"] for vb in varbinds(event)] == ["3", "up(1)", "down(2)"]
    note = classify(event)
    assert note is not None
    assert note.summary == (
        f"trap IF-MIB::linkDown from {payload['sender']}:"
        " ifIndex 3, ifAdminStatus up(1), ifOperStatus down(2)"
    )
    detail = detail_text(note, Clock(tz=UTC), None)
    rows = [line.split() for line in detail.splitlines()]
    assert [IF_OPER_STATUS_3, "IF-MIB::ifOperStatus.3", "INTEGER", "down(2)", "raw", "2"] in rows
    assert [IF_INDEX_3, "IF-MIB::ifIndex.3", "INTEGER", "3"] in rows


async def test_v2c_trap_carries_every_smi_type(harness: Harness) -> None:
    await harness.snmptrap(
        "-v", "2c", "-c", COMMUNITY, harness.target, "86400", f"{ENTERPRISE}.0.3",
        f"{PRIVATE}.1.0", "i", "-42",
        f"{PRIVATE}.2.0", "u", "7",
        f"{PRIVATE}.3.0", "c", "4294967295",
        f"{PRIVATE}.4.0", "C", "18446744073709551615",
        f"{PRIVATE}.5.0", "t", "360000",
        f"{PRIVATE}.6.0", "s", "überhitzt",
        f"{PRIVATE}.7.0", "o", "1.3.6.1.4.1.32473.9",
        f"{PRIVATE}.8.0", "a", "192.0.2.1",
    )  # fmt: skip
    event = await harness.next_trap()

    payload = payload_of(event)
    assert event.type == ("snmp", "@127.0.0.1", "trap", f"{ENTERPRISE}.0.3")
    assert (payload["version"], payload["user"], payload["inform"]) == ("V2C", None, False)
    assert payload["uptime"] == 86400
    assert payload["v1"] is None
    assert [(v["oid"], v["type"], v["value"]) for v in varbinds(event)] == [
        (f"{PRIVATE}.1.0", "INTEGER", -42),
        (f"{PRIVATE}.2.0", "UNSIGNED", 7),
        (f"{PRIVATE}.3.0", "COUNTER", 4294967295),
        (f"{PRIVATE}.4.0", "BIG_COUNTER", 18446744073709551615),
        (f"{PRIVATE}.5.0", "TIME_TICKS", 360000),
        (f"{PRIVATE}.6.0", "STRING", "überhitzt"),
        (f"{PRIVATE}.7.0", "OBJECT_ID", "1.3.6.1.4.1.32473.9"),
        (f"{PRIVATE}.8.0", "IP_ADDRESS", "192.0.2.1"),
    ]


async def test_v3_authpriv_trap_from_the_configured_engine_id(harness: Harness) -> None:
    await harness.snmptrap(
        *harness.v3_args(), "-e", f"0x{ENGINE_ID}", harness.target, "", LINK_UP_OID,
        IF_INDEX_3, "i", "3", IF_OPER_STATUS_3, "i", "1",
    )  # fmt: skip
    event = await harness.next_trap()

    payload = payload_of(event)
    assert event.type == ("snmp", "@127.0.0.1", "trap", LINK_UP_OID)
    assert (payload["version"], payload["user"], payload["inform"]) == ("V3", V3_USER, False)
    assert payload["trap_name"] == "IF-MIB::linkUp"
    assert isinstance(payload["uptime"], int)
    assert [(v["oid"], v["value"]) for v in varbinds(event)] == [
        (IF_INDEX_3, 3),
        (IF_OPER_STATUS_3, 1),
    ]


async def test_v2c_inform_is_acknowledged(harness: Harness) -> None:
    code, output = await harness.tool(
        "snmpinform", "-v", "2c", "-c", COMMUNITY, "-t", "5", "-r", "0", harness.target, "",
        COLD_START_OID, f"{PRIVATE}.1.0", "s", "boot",
    )  # fmt: skip
    assert code == 0, output  # snmpinform exits 0 only once its INFORM is answered
    event = await harness.next_trap()

    payload = payload_of(event)
    assert (payload["version"], payload["inform"]) == ("V2C", True)
    assert payload["trap_name"] == "SNMPv2-MIB::coldStart"
    assert varbinds(event) == [
        {
            "oid": f"{PRIVATE}.1.0",
            "name": None,
            "type": "STRING",
            "value": "boot",
            "display": "boot",
        }
    ]
    await eventually(lambda: harness.receiver.stats.informs == 1)


async def test_v3_inform_discovers_the_receiver_and_is_acknowledged(harness: Harness) -> None:
    code, output = await harness.tool(
        "snmpinform", *harness.v3_args(), "-t", "5", "-r", "1", harness.target, "",
        WARM_START_OID, f"{PRIVATE}.2.0", "u", "12",
    )  # fmt: skip
    assert code == 0, output
    event = await harness.next_trap()

    payload = payload_of(event)
    assert (payload["version"], payload["user"], payload["inform"]) == ("V3", V3_USER, True)
    assert payload["trap_oid"] == WARM_START_OID
    assert [(v["type"], v["value"]) for v in varbinds(event)] == [("UNSIGNED", 12)]
    stats = harness.receiver.stats
    assert (stats.received, stats.informs, stats.rejected, stats.malformed) == (1, 1, 0, 0)
    assert stats.datagrams > stats.received  # the engine-ID discovery exchange


async def test_an_inform_with_a_wrong_community_is_not_acknowledged(harness: Harness) -> None:
    code, _ = await harness.tool(
        "snmpinform", "-v", "2c", "-c", "wrong", "-t", "1", "-r", "0", harness.target, "",
        COLD_START_OID,
    )  # fmt: skip
    assert code != 0  # no Response: snmpinform times out
    await eventually(lambda: harness.receiver.stats.rejected == 1)
    assert harness.traps == []


# -- rejected and malformed ------------------------------------------------------------------


async def test_a_wrong_community_is_rejected_and_not_published(harness: Harness) -> None:
    await harness.v2c(LINK_DOWN_OID, community="not-the-community")
    await eventually(lambda: harness.receiver.stats.rejected == 1)
    await harness.v2c(LINK_UP_OID)  # sent after: once it is here, the first was handled
    await harness.next_trap()

    assert [event.type[3] for event in harness.traps] == [LINK_UP_OID]
    assert harness.receiver.stats == TrapStats(
        received=1, informs=0, rejected=1, malformed=0, datagrams=2
    )
    await eventually(lambda: harness.counters and payload_of(harness.counters[-1])["received"] == 1)
    assert payload_of(harness.counters[-1]) == {
        "listen": harness.target,
        "received": 1,
        "informs": 0,
        "rejected": 1,
        "malformed": 0,
    }


@pytest.mark.parametrize(
    "credentials",
    [
        {"auth": "wrong-Auth-Pass-1"},
        {"priv": "wrong-Priv-Pass-1"},
        {"user": "mallory"},
    ],
    ids=["wrong-auth-password", "wrong-priv-password", "unknown-user"],
)
async def test_v3_traps_with_bad_credentials_are_rejected(
    harness: Harness, credentials: dict[str, str]
) -> None:
    await harness.snmptrap(
        *harness.v3_args(**credentials), "-e", f"0x{ENGINE_ID}", harness.target, "", LINK_DOWN_OID
    )
    await eventually(lambda: harness.receiver.stats.rejected == 1)
    await harness.v2c(LINK_UP_OID)
    await harness.next_trap()
    assert [event.type[3] for event in harness.traps] == [LINK_UP_OID]


async def test_a_v3_trap_from_an_unconfigured_engine_id_is_rejected(harness: Harness) -> None:
    await harness.snmptrap(
        *harness.v3_args(), "-e", "0x8000000001020399", harness.target, "", LINK_DOWN_OID
    )
    await eventually(lambda: harness.receiver.stats.rejected == 1)
    assert harness.traps == []


async def test_garbage_is_counted_as_malformed_and_the_receiver_keeps_working(
    harness: Harness,
) -> None:
    garbage = [
        b"\x00\xffnot SNMP at all",
        b"\x30\x82\xff",  # a truncated BER sequence
        b"\x30\x03\x02\x01\x07",  # SNMP version 8
        v2c_trap(Secret(COMMUNITY), (1, 3, 6, 1, 6, 3, 1, 1, 5, 3), 1)[:-3],  # cut short
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in garbage:
            sock.sendto(datagram, harness.receiver.address)
    await eventually(lambda: harness.receiver.stats.malformed == len(garbage))

    await harness.v2c(LINK_UP_OID)
    event = await harness.next_trap()
    assert event.type[3] == LINK_UP_OID
    stats = harness.receiver.stats
    assert (stats.received, stats.rejected, stats.malformed) == (1, 0, len(garbage))
    await eventually(lambda: payload_of(harness.counters[-1])["received"] == 1)
    assert payload_of(harness.counters[-1])["malformed"] == len(garbage)


async def test_a_notification_without_snmp_trap_oid_is_malformed(harness: Harness) -> None:
    from pyasn1.codec.ber import encoder
    from pysnmp.proto.api import v2c

    pdu = v2c.SNMPv2TrapPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(5))])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, COMMUNITY)
    v2c.apiMessage.set_pdu(message, pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(encoder.encode(message), harness.receiver.address)
    await eventually(lambda: harness.receiver.stats.malformed == 1)
    assert harness.traps == []


# -- attribution ---------------------------------------------------------------------------


async def test_senders_are_attributed_to_configured_devices(
    mib: MibResolver, netsnmp_env: dict[str, str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent_socket:
        agent_socket.bind(("127.0.0.1", 0))
        agent_port = agent_socket.getsockname()[1]
        devices = {f"127.0.0.1:{agent_port}": "ap-lobby", "127.0.0.1": "core-sw1"}
        config = TrapsConfig(listen_port=0, communities=(Secret(COMMUNITY),))
        async with EventManager() as bus:
            receiver = TrapReceiver(config, bus, devices_by_host=devices, mib=mib)
            harness = Harness(bus, receiver, netsnmp_env)
            bus.subscribe(TRAPS, harness.traps.append)
            await receiver.start()
            try:
                # a device sending from its agent port: matched by host and port
                agent_socket.sendto(
                    v2c_trap(Secret(COMMUNITY), (1, 3, 6, 1, 6, 3, 1, 1, 5, 4), 1), receiver.address
                )
                first = await harness.next_trap()
                # snmptrap from an ephemeral port of the same host: matched by host
                await harness.v2c(LINK_DOWN_OID)
                second = await harness.next_trap(2)
            finally:
                await receiver.aclose()
    assert first.type == ("snmp", "ap-lobby", "trap", LINK_UP_OID)
    assert payload_of(first)["sender"] == f"127.0.0.1:{agent_port}"
    assert second.type == ("snmp", "core-sw1", "trap", LINK_DOWN_OID)


def _device(name: str, host: str, port: int = 161) -> DeviceConfig:
    return DeviceConfig(
        name, SnmpDeviceConfig(host, "V2C", Secret("x"), ("1.3.6.1.2.1.1.3.0",), remote_port=port)
    )


async def test_device_senders_map_hosts_and_agent_ports() -> None:
    senders = await device_senders(
        [
            _device("sw1", "192.0.2.1"),
            _device("ap", "192.0.2.2", 1161),
            _device("ups", "192.0.2.2", 1162),  # shares a host with "ap"
            DeviceConfig("mqtt-only"),
            _device("local", "localhost", 2161),
        ]
    )
    assert senders["192.0.2.1"] == senders["192.0.2.1:161"] == "sw1"
    assert senders["192.0.2.2:1161"] == "ap"
    assert senders["192.0.2.2:1162"] == "ups"
    assert "192.0.2.2" not in senders  # ambiguous: such senders stay "@192.0.2.2"
    assert senders["127.0.0.1:2161"] == senders["127.0.0.1"] == "local"


# -- secrets, counters, lifecycle ----------------------------------------------------------


async def test_community_and_passwords_never_reach_events_or_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await harness.snmptrap(
        "-v", "1", "-c", COMMUNITY, harness.target, ENTERPRISE, "192.0.2.9", "6", "1", ""
    )
    await harness.v2c(LINK_DOWN_OID)
    await harness.snmptrap(
        *harness.v3_args(), "-e", f"0x{ENGINE_ID}", harness.target, "", LINK_UP_OID
    )
    await harness.snmptrap(
        *harness.v3_args(auth=AUTH_PASS + "x"),
        "-e",
        f"0x{ENGINE_ID}",
        harness.target,
        "",
        LINK_UP_OID,
    )
    code, output = await harness.tool(
        "snmpinform", *harness.v3_args(), "-t", "5", "-r", "1", harness.target, "", COLD_START_OID
    )
    assert code == 0, output
    await harness.next_trap(4)
    await eventually(lambda: harness.receiver.stats.rejected == 1)
    await harness.receiver.aclose()
    await harness.bus.drain()

    events = json.dumps(
        [event.to_json() for event in harness.bus.snapshot()] + [e.to_json() for e in harness.traps]
    )
    texts = [events, caplog.text, repr(harness.receiver), str(harness.receiver.stats)]
    for secret in SECRETS:
        for text in texts:
            assert secret not in text
    # the v1 trap's snmpTrapCommunity.0 var-bind is dropped, not just masked
    assert all(v["oid"] != "1.3.6.1.6.3.18.1.4.0" for e in harness.traps for v in varbinds(e))


async def test_counters_are_published_only_when_they_change(harness: Harness) -> None:
    await eventually(lambda: harness.counters)
    assert payload_of(harness.counters[0]) == {
        "listen": harness.target,
        "received": 0,
        "informs": 0,
        "rejected": 0,
        "malformed": 0,
    }
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for uptime in range(50):
            sock.sendto(
                v2c_trap(Secret(COMMUNITY), (1, 3, 6, 1, 6, 3, 1, 1, 5, 3), uptime),
                harness.receiver.address,
            )
    await harness.next_trap(50)
    await eventually(lambda: payload_of(harness.counters[-1])["received"] == 50)
    payloads = [payload_of(event) for event in harness.counters]
    assert all(a != b for a, b in itertools.pairwise(payloads))
    assert len(payloads) < 50  # a burst is reported in a few snapshots, not per trap
    assert [payload_of(e)["uptime"] for e in harness.traps] == list(range(50))


async def test_aclose_releases_the_port_and_every_task(mib: MibResolver) -> None:
    before = set(asyncio.all_tasks())
    async with EventManager() as bus:
        receiver = TrapReceiver(TrapsConfig(listen_port=0), bus, mib=mib)
        await receiver.start()
        host, port = receiver.address
        assert receiver.receive_buffer is not None
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
            pytest.raises(OSError, match="in use"),
        ):
            sock.bind((host, port))
        await receiver.aclose()
        await receiver.aclose()  # idempotent
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, port))  # free again
        with pytest.raises(RuntimeError):
            await receiver.start()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_a_port_in_use_fails_start_with_os_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        busy = sock.getsockname()[1]
        async with EventManager() as bus:
            receiver = TrapReceiver(TrapsConfig(listen_port=busy), bus)
            with pytest.raises(OSError, match="in use"):
                await receiver.start()
            await receiver.aclose()


def test_configuration_errors_name_the_user_but_no_password() -> None:
    privacy_only = TrapUser("bob", privacy=SnmpPrivacy("AES", Secret(PRIV_PASS)))
    with pytest.raises(ValueError, match="'bob'") as caught:
        TrapReceiver(TrapsConfig(users=(privacy_only,)), None)  # type: ignore[arg-type]
    assert PRIV_PASS not in str(caught.value)
    with pytest.raises(ValueError, match="hexadecimal"):
        parse_engine_id("80:00:zz:00:01")
    assert parse_engine_id("0x80:00:00:00:01") == bytes.fromhex("8000000001")


def test_notification_payload_without_a_trap_oid_is_none() -> None:
    uptime = ((1, 3, 6, 1, 2, 1, 1, 3, 0), rfc1902.TimeTicks(3))
    assert (
        notification_payload([uptime], sender="h:1", version="V2C", user=None, inform=False) is None
    )
    not_an_oid = ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), rfc1902.OctetString(b"linkDown"))
    assert (
        notification_payload(
            [uptime, not_an_oid], sender="h:1", version="V2C", user=None, inform=False
        )
        is None
    )
    trap_oid = ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), rfc1902.ObjectIdentifier("1.3.6.1.4.1.9.0.5"))
    payload = notification_payload(
        [uptime, trap_oid], sender="h:1", version="V1", user=None, inform=False
    )
    assert payload is not None
    # no snmpTrapEnterprise.0: the enterprise comes from the trap OID's form
    assert payload["v1"] == {
        "enterprise": "1.3.6.1.4.1.9",
        "generic_trap": 6,
        "specific_trap": 5,
        "agent_address": None,
    }


# -- the demo ------------------------------------------------------------------------------


async def test_demo_devices_send_link_and_power_traps(mib: MibResolver) -> None:
    clock = [0.0]  # the agents' clock, in seconds: moved by the test
    rng = random.Random(7)
    ap_model, ups_model = access_point(rng), ups(rng)
    radio = next(s for s in ap_model.objects if s.oid == (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3))
    down_at = next(t / 10 for t in range(900) if radio.source(t / 10) == 2)
    up_at = next(t / 10 for t in range(int(down_at * 10), 900) if radio.source(t / 10) == 1)
    dip_at = next(t / 10 for t in range(2000) if POWER_DIPS.is_off(t / 10))
    agents = [
        SnmpAgent(
            model, read_community=Secret("r"), write_community=Secret("w"), clock=lambda: clock[0]
        )
        for model in (ap_model, ups_model)
    ]
    async with EventManager() as bus:
        traps: list[Event] = []
        bus.subscribe(TRAPS, traps.append)
        for agent in agents:
            await agent.start()
        devices = {f"127.0.0.1:{agent.port}": agent.name for agent in agents}
        config = TrapsConfig(listen_port=0, communities=(Secret("public"),))
        receiver = TrapReceiver(config, bus, devices_by_host=devices, mib=mib)
        await receiver.start()
        sender = DemoTrapSender(agents, receiver.address, interval=0.01)
        try:
            await sender.start()
            await eventually(lambda: len(traps) == 2)  # a coldStart from each
            for now, count in ((down_at, 3), (up_at, 4), (dip_at, 5), (dip_at + 10.5, 6)):
                clock[0] = now
                await eventually(lambda count=count: len(traps) >= count)  # type: ignore[misc]
            ups_sent = 2  # on battery, then the alarm entry removed
            await eventually(lambda: sum(e.type[1] == "ups-1" for e in traps[2:]) >= ups_sent)
        finally:
            await sender.aclose()
            await receiver.aclose()
            for agent in agents:
                await agent.aclose()
    assert sorted((e.type[1], e.type[3]) for e in traps[:2]) == [
        ("ap-lobby", COLD_START_OID),
        ("ups-1", COLD_START_OID),
    ]
    # per device: the access point's radio flaps on its own clock (the power dip's time
    # may find it down again), so the two devices' traps interleave as the sender's
    # looks fall; each device's own sequence is fixed
    sent = [(e.type[1], e.type[3]) for e in traps[2:]]
    assert [oid for name, oid in sent if name == "ap-lobby"][:2] == [LINK_DOWN_OID, LINK_UP_OID]
    assert [oid for name, oid in sent if name == "ups-1"] == [
        ".".join(map(str, UPS_TRAP_ON_BATTERY)),
        ".".join(map(str, UPS_TRAP_ALARM_ENTRY_REMOVED)),
    ]
    link_down = payload_of(traps[2])
    assert [(v["name"], v["value"]) for v in link_down["varbinds"]] == [
        ("IF-MIB::ifIndex.3", 3),
        ("IF-MIB::ifAdminStatus.3", 1),
        ("IF-MIB::ifOperStatus.3", 2),
    ]
    assert link_down["uptime"] == int(down_at * 100)
    on_battery = payload_of(traps[4])
    assert [v["oid"] for v in on_battery["varbinds"]] == [
        "1.3.6.1.2.1.33.1.2.3.0",
        "1.3.6.1.2.1.33.1.2.2.0",
        "1.3.6.1.2.1.33.1.9.7.0",
    ]


async def test_demo_runtime_receives_its_devices_cold_starts() -> None:
    before = set(asyncio.all_tasks())
    runtime = Runtime(demo=True)
    await runtime.start_bus()
    traps: list[Event] = []
    runtime.bus.subscribe(TRAPS, traps.append)
    await runtime.start()
    assert runtime.trap_receiver is not None
    assert runtime.config.traps is not None
    names = {device.name for device in runtime.config.devices}

    await eventually(lambda: {e.type[1] for e in traps if e.type[3] == COLD_START_OID} == names)
    await eventually(lambda: runtime.bus.latest(RECEIVER_STATS) is not None)
    await runtime.aclose()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_a_runtime_whose_trap_port_is_taken_logs_an_error_and_runs_on() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        busy = sock.getsockname()[1]
        runtime = Runtime(
            Config(traps=TrapsConfig(listen_port=busy, communities=(Secret(COMMUNITY),)))
        )
        bus = await runtime.start_bus()
        logs: list[Event] = []
        bus.subscribe(("log", "error"), logs.append)
        await runtime.start()
        try:
            assert runtime.trap_receiver is None
            await eventually(lambda: logs)
            message = payload_of(logs[0])["message"]
            assert f"127.0.0.1:{busy}" in message
            assert COMMUNITY not in message
        finally:
            await runtime.aclose()


async def test_a_trap_port_in_use_is_a_visible_failed_status() -> None:
    """Issue 11 §7: a receiver that cannot listen publishes its FAILED status with the
    reason; the Devices screen's status bar says TRAPS FAILED and an error
    notification tells why (not only the log)."""
    from console.app import FleettopApp
    from tests.ui_helpers import SIZE, Notices, devices_screen, wait_for
    from widgets.status_bar import StatusBar

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        busy = sock.getsockname()[1]
        runtime = Runtime(
            Config(traps=TrapsConfig(listen_port=busy, communities=(Secret(COMMUNITY),)))
        )
        notices = Notices()
        app = FleettopApp(runtime)
        async with app.run_test(size=SIZE, notifications=True, message_hook=notices.hook) as pilot:
            screen = await devices_screen(pilot)
            bar = screen.query_one(StatusBar)
            await wait_for(pilot, lambda: "TRAPS FAILED" in str(bar.content), "the status bar")
            await wait_for(pilot, lambda: notices.has("trap receiver"), "the notification")
            status = runtime.bus.latest(("snmp", "@receiver", "status"))
            assert status is not None
            assert status.payload == {
                "status": "FAILED",
                "listen": f"127.0.0.1:{busy}",
                "reason": "Address already in use",
            }
            assert runtime.trap_receiver is None
            assert app.state.receiver is not None
            assert app.state.receiver.failed
            assert "@receiver" not in app.state.devices  # a status, not a device row
            [(severity, message)] = [n for n in notices.shown if "trap receiver" in n[1]]
            assert severity == "error"
            assert f"udp 127.0.0.1:{busy}: Address already in use" in message
            assert COMMUNITY not in message + str(bar.content)
            await pilot.press("q")


async def test_a_listening_receiver_shows_no_failure() -> None:
    runtime = Runtime(Config(traps=TrapsConfig(listen_port=0, communities=(Secret(COMMUNITY),))))
    await runtime.start()
    try:
        assert runtime.trap_receiver is not None
        assert runtime.bus.latest(("snmp", "@receiver", "status")) is None
    finally:
        await runtime.aclose()
