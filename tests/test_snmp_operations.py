"""Operator SET and WALK (SnmpDevice.write / SnmpDevice.walk) against real peers.

Peers: Debian snmpd on a free loopback port (read-only ``public``, read-write
:data:`SECRET_COMMUNITY`), Net-SNMP's ``snmpget``/``snmpwalk`` as the independent
reference (run with ``asyncio.create_subprocess_exec``, ``MIBS=""``), a UDP proxy
in front of snmpd that counts requests by PDU type and can lose chosen ones, and a
scripted misbehaving agent for walks that never end on their own.

snmpd refuses SETs of sysContact/sysLocation when its config sets them, so
:data:`CONF` leaves them out. Its view hides the tables that change while a test
runs (sockets, processes) so that two walks of the whole tree can be compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from console.config import SnmpAuthentication, SnmpDeviceConfig, SnmpPrivacy
from console.events import Event, EventManager
from console.format import format_value
from console.secrets import Secret
from console.snmp import (
    SnmpDevice,
    SnmpNotConnectedError,
    SnmpOperationError,
    SnmpTimeoutError,
)
from console.snmp.mib import MibResolver
from console.snmpdisplay import ValueFormatter
from tests.conftest import require_program
from tests.snmp_peers import AgentRequest, Snmpd, UdpAgent, V3User
from tests.waiting import EventRecorder

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SNMP_IN_SET_REQUESTS = "1.3.6.1.2.1.11.17.0"  # SNMPv2-MIB snmpInSetRequests (Counter32)
SYSTEM = "1.3.6.1.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"

SECRET_COMMUNITY = "s3cr3t-Rw-Community-91c2"
RW_USER = V3User("ops-rw", "SHA", "Rw-auth-Secret-27", "AES", "Rw-priv-Secret-27", access="rw")
RO_USER = V3User("ops-ro", "SHA", "Ro-auth-Secret-27", "AES", "Ro-priv-Secret-27")

#: No sysContact/sysLocation lines (they would make the objects read-only); the view
#: hides tcpConnTable, tcpConnectionTable, tcpListenerTable, udpTable,
#: udpEndpointTable, hrSWRunTable and hrSWRunPerfTable: their rows come and go with
#: the machine's sockets and processes.
CONF = f"""\
view fleettop included .1
view fleettop excluded .1.3.6.1.2.1.6.13
view fleettop excluded .1.3.6.1.2.1.6.19
view fleettop excluded .1.3.6.1.2.1.6.20
view fleettop excluded .1.3.6.1.2.1.7.5
view fleettop excluded .1.3.6.1.2.1.7.7
view fleettop excluded .1.3.6.1.2.1.25.4
view fleettop excluded .1.3.6.1.2.1.25.5
rocommunity public 127.0.0.1 -V fleettop
rwcommunity {SECRET_COMMUNITY} 127.0.0.1 -V fleettop
dontLogTCPWrappersConnects yes
{RW_USER.conf_lines()}{RO_USER.conf_lines()}"""

ENV = {**os.environ, "MIBS": ""}

# PDU tags (RFC 3416 §3, context-specific constructed)
GET, GETNEXT, SET, GETBULK = 0xA0, 0xA1, 0xA3, 0xA5


# -- fixtures and helpers ------------------------------------------------------------


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    with Snmpd(tmp_path / "snmpd", CONF) as agent:
        yield agent


def _payload(event: Event) -> dict[str, Any]:
    assert isinstance(event.payload, dict)
    return event.payload


class Recorder(EventRecorder):
    """Every event of the bus, with queries for SNMP reads, writes and walks."""

    def of(self, kind: str, oid: str | None = None) -> list[dict[str, Any]]:
        return [
            _payload(e)
            for e in self.events
            if e.type[0] == "snmp"
            and e.type[2] == kind
            and (oid is None or (len(e.type) > 3 and e.type[3] == oid))
        ]

    def snmp(self) -> list[Event]:
        return [e for e in self.events if e.type[0] == "snmp" and e.type[2] != "poll"]


def make_conf(
    port: int, *, community: str = SECRET_COMMUNITY, **overrides: Any
) -> SnmpDeviceConfig:
    settings: dict[str, Any] = {
        "version": "V2C",
        "polling_oids": (),
        "connect_delay": 0.3,
        "request_timeout": 1.0,
        "request_retry_count": 1,
        "request_retry_delay": 0.1,
        "polling_delay": 0.2,
    }
    settings.update(overrides)
    return SnmpDeviceConfig(
        remote_host="127.0.0.1", remote_port=port, community=Secret(community), **settings
    )


def v3_conf(port: int, user: V3User, **overrides: Any) -> SnmpDeviceConfig:
    """A V3 authPriv (SHA/AES) device configuration for ``user``."""
    settings: dict[str, Any] = {"polling_oids": (), "connect_delay": 0.3, "request_timeout": 1.0}
    settings.update(overrides)
    return SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=port,
        version="V3",
        community=None,
        user=user.name,
        authentication=SnmpAuthentication("SHA", Secret(str(user.auth_password))),
        privacy=SnmpPrivacy("AES", Secret(str(user.priv_password))),
        **settings,
    )


@contextlib.asynccontextmanager
async def connected(
    name: str,
    conf: SnmpDeviceConfig,
    bus: EventManager,
    recorder: Recorder,
    formatter: ValueFormatter | None = None,
) -> AsyncIterator[SnmpDevice]:
    async with SnmpDevice(name, conf, bus, formatter=formatter) as device:
        await recorder.wait_for(lambda: device.status == "CONNECTED")
        yield device


async def net_snmp(program: str, *args: str) -> str:
    """Run a Net-SNMP tool (``MIBS=""``) and return its stdout.

    Raises:
        AssertionError: it exited with an error.
    """
    process = await asyncio.create_subprocess_exec(
        require_program(program),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 0, f"{program} {args}: {err.decode(errors='replace')}"
    return out.decode(errors="replace")


async def net_get(agent: Snmpd, oid: str) -> str:
    """snmpget (v2c, ``public``) of one OID; the value as Net-SNMP prints it with
    ``-Oqv -Ox`` (strings in hex)."""
    return (
        await net_snmp(
            "snmpget", "-v2c", "-c", "public", "-On", "-Oqv", "-Ox", f"127.0.0.1:{agent.port}", oid
        )
    ).strip()


async def net_get_octets(agent: Snmpd, oid: str) -> bytes:
    """snmpget of an OCTET STRING: its bytes."""
    text = await net_get(agent, oid)
    return bytes.fromhex("".join(text.strip('"').split()))


async def net_walk(agent: Snmpd, root: str, version: str) -> list[str]:
    """The OIDs ``snmpwalk -v<version> -On`` lists under ``root`` (no leading dot)."""
    output = await net_snmp(
        "snmpwalk", f"-v{version}", "-c", "public", "-On", f"127.0.0.1:{agent.port}", root
    )
    oids = []
    for line in output.splitlines():
        head, sep, value = line.partition(" = ")
        if not sep or not head.startswith(".") or value.startswith("No more variables"):
            continue  # continuation lines of multi-line values, the v2c end marker
        oids.append(head[1:])
    return oids


def _skip_tlv(data: bytes, pos: int) -> int:
    """Position after the BER TLV at ``pos``."""
    body, length = _tlv_body(data, pos)
    return body + length


def _tlv_body(data: bytes, pos: int) -> tuple[int, int]:
    """``(start of the body, body length)`` of the BER TLV at ``pos``."""
    first = data[pos + 1]
    if first < 0x80:
        return pos + 2, first
    size = first & 0x7F
    return pos + 2 + size, int.from_bytes(data[pos + 2 : pos + 2 + size], "big")


def pdu_tag(message: bytes) -> int:
    """The PDU tag of a v1/v2c message: SEQUENCE { version, community, PDU }."""
    pos, _ = _tlv_body(message, 0)
    pos = _skip_tlv(message, pos)  # version
    pos = _skip_tlv(message, pos)  # community
    return message[pos]


@dataclass
class UdpProxy:
    """A UDP relay between fleettop and an agent on 127.0.0.1.

    Attributes:
        upstream: the agent's port.
        counts: requests received from the client, by PDU tag (dropped ones too).
        drop: PDU tags not forwarded (a lost request: no answer ever comes).
        dropped: set when a request is dropped.
    """

    upstream: int
    counts: Counter[int] = field(default_factory=Counter)
    drop: set[int] = field(default_factory=set)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _front: asyncio.DatagramTransport | None = None
    _back: asyncio.DatagramTransport | None = None
    _client: tuple[str, int] | None = None

    async def __aenter__(self) -> UdpProxy:
        loop = asyncio.get_running_loop()
        proxy = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                proxy._client = addr
                tag = pdu_tag(data)
                proxy.counts[tag] += 1
                if tag in proxy.drop:
                    proxy.dropped.set()
                elif proxy._back is not None:
                    proxy._back.sendto(data)

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if proxy._front is not None and proxy._client is not None:
                    proxy._front.sendto(data, proxy._client)

        self._front, _ = await loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0))
        self._back, _ = await loop.create_datagram_endpoint(
            Back, remote_addr=("127.0.0.1", self.upstream)
        )
        self.port = self._front.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for transport in (self._front, self._back):
            if transport is not None:
                transport.close()
        self._front = self._back = None
        await asyncio.sleep(0)


@dataclass
class MisbehavingAgent(UdpAgent):
    """A v1/v2c agent on 127.0.0.1 whose walks never end by themselves.

    GETs are answered INTEGER 0 for every OID (so a device connects). GETNEXT and
    GETBULK are answered with ``error_status`` if it is set, else with one var-bind,
    always ``oid`` = INTEGER 1, whatever was asked: the second request of a walk gets
    the same OID again.
    """

    oid: str = "1.3.6.1.4.1.99999.1.1.0"
    error_status: int = 0
    community: str = "public"
    walk_requests: int = 0
    port: int = 0
    _transport: asyncio.DatagramTransport | None = None

    def respond(self, request: AgentRequest) -> None:
        """Answer as the class docstring says."""
        from pysnmp.proto import rfc1902, rfc1905

        proto, response_pdu, var_binds = request.proto, request.response_pdu, request.var_binds
        if request.pdu.tagSet == rfc1905.GetRequestPDU.tagSet:
            proto.apiPDU.set_varbinds(
                response_pdu, [(name, rfc1902.Integer32(0)) for name, _ in var_binds]
            )
        elif self.error_status:
            self.walk_requests += 1
            proto.apiPDU.set_error_status(response_pdu, self.error_status)
            proto.apiPDU.set_error_index(response_pdu, 1)
            proto.apiPDU.set_varbinds(response_pdu, var_binds)
        else:
            self.walk_requests += 1
            name = rfc1902.ObjectName(self.oid)
            proto.apiPDU.set_varbinds(response_pdu, [(name, rfc1902.Integer32(1))])


async def drain(
    rows: AsyncGenerator[tuple[str, dict[str, Any]], None], into: list[tuple[str, Any]]
) -> None:
    """Append every row of a walk to ``into`` (kept when the walk raises)."""
    async with contextlib.aclosing(rows) as walk:
        async for row in walk:
            into.append(row)


async def collect(
    rows: AsyncGenerator[tuple[str, dict[str, Any]], None],
) -> list[tuple[str, Any]]:
    async with contextlib.aclosing(rows) as walk:
        return [item async for item in walk]


# -- SET --------------------------------------------------------------------------------


async def test_set_strings_are_confirmed_by_net_snmp(
    snmpd: Snmpd, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(bus)
    before = await net_get_octets(snmpd, SYS_CONTACT)
    conf = make_conf(snmpd.port, polling_oids=(SYS_CONTACT,))
    async with connected("rw", conf, bus, recorder) as device:
        await recorder.wait_for(lambda: bool(recorder.of("read", SYS_CONTACT)))
        contact = {"type": "STRING", "value": "noc@example.net, étage 3 ✓"}
        first = await device.write(SYS_CONTACT, contact, session_id="op-1")
        assert first == {
            "session_id": "op-1",
            "success": True,
            "error": None,
            "data": contact,
            "previous": {"type": "STRING", "value": before.decode()},  # the polled value
            "display": contact["value"],
            "previous_display": before.decode(),
        }
        assert await net_get_octets(snmpd, SYS_CONTACT) == contact["value"].encode()

        location = {"type": "STRING", "value": "rack 7"}
        second = await device.write(SYS_LOCATION, location, session_id="op-2")
        assert second["success"] is True
        assert second["previous"] is None  # never polled nor read before
        third = await device.write(SYS_LOCATION, {"type": "STRING", "value": "rack 8"})
        assert third["success"] is True
        assert third["session_id"] is None
        assert third["previous"] == location  # read back after the previous write
        assert await net_get_octets(snmpd, SYS_LOCATION) == b"rack 8"

        # the next poll reports the new value as a CHANGE: it is one
        await recorder.wait_for(
            lambda: any(
                p["cause"] == "CHANGE" and p["data"] == contact
                for p in recorder.of("read", SYS_CONTACT)
            )
        )
        await recorder.wait_for(lambda: len(recorder.of("read", SYS_LOCATION)) == 2)

    assert recorder.of("write") == [first, second, third]
    # each write event is followed by the REQUESTED read-back of the written OID
    sequence = [
        (e.type[2], e.type[3], _payload(e).get("cause"), _payload(e)["session_id"])
        for e in recorder.snmp()
        if e.type[2] in ("write", "read") and _payload(e).get("cause") != "CHANGE"
    ]
    assert sequence == [
        ("read", SYS_CONTACT, "INTERROGATE", None),
        ("write", SYS_CONTACT, None, "op-1"),
        ("read", SYS_CONTACT, "REQUESTED", "op-1"),
        ("write", SYS_LOCATION, None, "op-2"),
        ("read", SYS_LOCATION, "REQUESTED", "op-2"),
        ("write", SYS_LOCATION, None, None),
        ("read", SYS_LOCATION, "REQUESTED", None),
    ]
    requested = [p["data"] for p in recorder.of("read") if p["cause"] == "REQUESTED"]
    assert requested == [contact, location, {"type": "STRING", "value": "rack 8"}]
    everything = json.dumps([e.to_json() for e in recorder.events])
    assert SECRET_COMMUNITY not in everything
    assert SECRET_COMMUNITY not in caplog.text
    assert f"SET {SYS_CONTACT} (STRING) succeeded" in caplog.text


async def test_sets_use_the_write_community_and_polls_the_read_community(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """The usual split: a read-only community for polling and reads, a read-write one
    for SETs. Without ``write_community`` the same SET is refused with NO_ACCESS."""
    recorder = Recorder(bus)
    split = make_conf(
        snmpd.port,
        community="public",
        write_community=Secret(SECRET_COMMUNITY),
        polling_oids=(SYS_CONTACT,),
    )
    contact = {"type": "STRING", "value": "split-communities@example.net"}
    async with connected("split", split, bus, recorder) as device:
        result = await device.write(SYS_CONTACT, contact)
        assert (result["success"], result["error"]) == (True, None)
        assert await net_get_octets(snmpd, SYS_CONTACT) == contact["value"].encode()
    read_only = make_conf(snmpd.port, community="public", polling_oids=(SYS_CONTACT,))
    async with connected("ro", read_only, bus, recorder) as device:
        refused = await device.write(SYS_CONTACT, {"type": "STRING", "value": "nope"})
        assert (refused["success"], refused["error"]) == (False, "NO_ACCESS")
    assert await net_get_octets(snmpd, SYS_CONTACT) == contact["value"].encode()


IF_TYPE_1 = "1.3.6.1.2.1.2.2.1.3.1"


async def test_write_events_show_the_written_and_previous_values_by_their_mib(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """``display`` and ``previous_display`` beside ``data`` and ``previous``, by the
    MIB (IF-MIB from pysnmp-mibs): a SET of the read-only ``ifType.1`` (snmpd's
    ``lo``, ``softwareLoopback(24)``), which snmpd refuses, changing nothing."""
    recorder = Recorder(bus)
    mibs = MibResolver()
    mibs.load()
    formatter = ValueFormatter(lambda: mibs.info)
    conf = make_conf(snmpd.port, polling_oids=(IF_TYPE_1,))
    async with connected("rw", conf, bus, recorder, formatter) as device:
        await recorder.wait_for(lambda: bool(recorder.of("read", IF_TYPE_1)))
        result = await device.write(IF_TYPE_1, {"type": "INTEGER", "value": 6})
    assert result["success"] is False
    assert result["error"] == "NOT_WRITABLE"
    assert (result["data"], result["display"]) == (
        {"type": "INTEGER", "value": 6},
        "ethernetCsmacd(6)",
    )
    assert (result["previous"], result["previous_display"]) == (
        {"type": "INTEGER", "value": 24},
        "softwareLoopback(24)",
    )
    assert recorder.of("write") == [result]
    assert recorder.of("read", IF_TYPE_1)[0]["display"] == "softwareLoopback(24)"


@pytest.mark.parametrize("version", ["V2C", "V1"])
async def test_set_failures_name_the_agent_error(
    snmpd: Snmpd, bus: EventManager, version: str
) -> None:
    """Net-SNMP's answers, v2c / v1 (RFC 3584 §4.4 maps the v2 error-statuses)."""
    v2c = version == "V2C"
    recorder = Recorder(bus)
    before = await net_get_octets(snmpd, SYS_CONTACT)
    rw = make_conf(snmpd.port, version=version)
    ro = make_conf(snmpd.port, version=version, community="public")
    async with (
        connected("rw", rw, bus, recorder) as device,
        connected("ro", ro, bus, recorder) as read_only,
    ):
        cases: list[tuple[SnmpDevice, str, dict[str, object], str]] = [
            (device, SYS_DESCR, {"type": "STRING", "value": "x"}, "NOT_WRITABLE"),
            (device, SYS_UPTIME, {"type": "TIME_TICKS", "value": 5}, "NOT_WRITABLE"),
            # sent as given: pysnmp's set_cmd would cast it to the MIB's TimeTicks and fail
            (device, SYS_UPTIME, {"type": "STRING", "value": "x"}, "NOT_WRITABLE"),
            (device, SYS_CONTACT, {"type": "INTEGER", "value": 5}, "WRONG_TYPE"),
            (device, SYS_CONTACT, {"type": "STRING", "value": "x" * 256}, "WRONG_LENGTH"),
            (read_only, SYS_CONTACT, {"type": "STRING", "value": "ro"}, "NO_ACCESS"),
        ]
        v1_names = {
            "NOT_WRITABLE": "NO_SUCH_NAME",
            "WRONG_TYPE": "BAD_VALUE",
            "WRONG_LENGTH": "BAD_VALUE",
            "NO_ACCESS": "NO_SUCH_NAME",
        }
        results = []
        for target, oid, data, v2_error in cases:
            result = await target.write(oid, data, session_id="op")
            expected = v2_error if v2c else v1_names[v2_error]
            assert result == {
                "session_id": "op",
                "success": False,
                "error": expected,
                "data": data,
                "previous": None,
                "display": format_value(str(data["type"]), data["value"]),  # type: ignore[arg-type]
                "previous_display": None,
            }, (oid, data)
            results.append(result)
        assert device.status == "CONNECTED"
        await recorder.wait_for(lambda: len(recorder.of("write")) == len(cases))
    assert recorder.of("write") == results
    assert not [p for p in recorder.of("read") if p["cause"] == "REQUESTED"]  # no read-back
    assert await net_get_octets(snmpd, SYS_CONTACT) == before


async def test_v3_write_and_walk_use_the_device_credentials(
    snmpd: Snmpd, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(bus)
    data = {"type": "STRING", "value": "v3 operator"}
    async with (
        connected("v3-rw", v3_conf(snmpd.port, RW_USER), bus, recorder) as device,
        connected("v3-ro", v3_conf(snmpd.port, RO_USER), bus, recorder) as read_only,
    ):
        assert (await device.write(SYS_CONTACT, data))["success"] is True
        assert await net_get_octets(snmpd, SYS_CONTACT) == b"v3 operator"
        refused = await read_only.write(SYS_LOCATION, data)
        assert (refused["success"], refused["error"]) == (False, "NO_ACCESS")  # Net-SNMP's
        walked = await collect(device.walk(SYSTEM, session_id="v3"))
        assert [oid for oid, _data in walked] == await net_walk(snmpd, SYSTEM, "2c")
        assert dict(walked)[SYS_CONTACT] == data
        await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    everything = json.dumps([e.to_json() for e in recorder.events]) + caplog.text
    for secret in (RW_USER.auth_password, RW_USER.priv_password, RO_USER.auth_password):
        assert str(secret) not in everything


async def test_invalid_input_raises_and_sends_nothing(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    sets_before = await net_get(snmpd, SNMP_IN_SET_REQUESTS)
    contact_before = await net_get_octets(snmpd, SYS_CONTACT)
    async with (
        UdpProxy(snmpd.port) as proxy,
        connected("rw", make_conf(proxy.port), bus, recorder) as device,
    ):
        bad: list[tuple[str, Any, str]] = [
            (SYS_CONTACT, {"type": "INTEGER", "value": 2**31}, "out of range"),
            (SYS_CONTACT, {"type": "UNSIGNED", "value": -1}, "out of range"),
            (SYS_CONTACT, {"type": "STRING_HEX", "value": "de:ad:zz"}, "not hexadecimal"),
            (SYS_CONTACT, {"type": "OBJECT_ID", "value": "1.3.x"}, "not a numeric OID"),
            (SYS_CONTACT, {"type": "IP_ADDRESS", "value": "10.0.0.256"}, "IPv4"),
            (SYS_CONTACT, {"type": "ERROR", "value": "EMPTY"}, "cannot be written"),
            (SYS_CONTACT, {"type": "FLOAT", "value": 1.5}, "unknown SNMP data type"),
            (SYS_CONTACT, {"value": "x"}, "no 'type'"),
            ("1.3.6.x", {"type": "STRING", "value": "x"}, "not a numeric OID"),
        ]
        for oid, data, message in bad:
            with pytest.raises(ValueError, match=message):
                await device.write(oid, data)
        assert proxy.counts[SET] == 0
        # positive control: the proxy does see a SET
        good = await device.write(SYS_CONTACT, {"type": "STRING", "value": "after"})
        assert good["success"] is True
        assert proxy.counts[SET] == 1
        await recorder.wait_for(lambda: len(recorder.of("write")) == 1)
    assert [p["data"] for p in recorder.of("write")] == [{"type": "STRING", "value": "after"}]
    # snmpd's own counter: it received exactly one SET, the valid one
    assert int(await net_get(snmpd, SNMP_IN_SET_REQUESTS)) == int(sets_before) + 1
    assert contact_before != b"after"


async def test_write_timeout_is_reported_and_leaves_the_device_connected(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with UdpProxy(snmpd.port) as proxy:
        conf = make_conf(proxy.port, request_timeout=0.3, request_retry_count=2)
        async with connected("lossy", conf, bus, recorder) as device:
            proxy.drop = {SET}  # every SET is lost; GETs (polling) still pass
            errors_before = device.stats()["errors"]
            data = {"type": "STRING", "value": "lost"}
            result = await device.write(SYS_CONTACT, data, session_id="op-9")
            assert result == {
                "session_id": "op-9",
                "success": False,
                "error": "TIMEOUT",
                "data": data,
                "previous": None,
                "display": "lost",
                "previous_display": None,
            }
            assert proxy.counts[SET] == 3  # request_retry_count + 1 tries
            assert device.stats()["errors"] == errors_before + 3
            assert device.status == "CONNECTED"
            await recorder.wait_for(lambda: len(recorder.of("write")) == 1)
    assert recorder.of("write") == [result]
    assert "DISCONNECTED" not in [p["status"] for p in recorder.of("status")][:-1]
    assert not [p for p in recorder.of("read") if p["cause"] == "REQUESTED"]


async def test_cancelled_write_is_published(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    async with UdpProxy(snmpd.port) as proxy:
        conf = make_conf(proxy.port, request_timeout=30.0)
        async with connected("lossy", conf, bus, recorder) as device:
            proxy.drop = {SET}
            task = asyncio.create_task(
                device.write(SYS_CONTACT, {"type": "STRING", "value": "x"}, session_id="esc")
            )
            async with asyncio.timeout(15):
                await proxy.dropped.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await recorder.wait_for(lambda: len(recorder.of("write")) == 1)
    [payload] = recorder.of("write")
    assert payload["success"] is False
    assert payload["error"] == "CANCELLED"
    assert payload["session_id"] == "esc"


async def test_write_and_walk_need_a_connected_device(bus: EventManager) -> None:
    device = SnmpDevice("idle", make_conf(9), bus)  # never started
    data = {"type": "STRING", "value": "x"}
    with pytest.raises(SnmpNotConnectedError, match="'idle' is not connected"):
        await device.write(SYS_CONTACT, data)
    with pytest.raises(SnmpNotConnectedError, match="'idle' is not connected"):
        device.walk(SYSTEM)  # raised at the call, before any iteration
    # input errors come first: they are the operator's to fix whatever the device
    with pytest.raises(ValueError, match="out of range"):
        await device.write(SYS_CONTACT, {"type": "INTEGER", "value": 2**31})
    with pytest.raises(ValueError, match="max_repetitions"):
        device.walk(SYSTEM, max_repetitions=0)
    with pytest.raises(ValueError, match="not a numeric OID"):
        device.walk("system")
    await device.aclose()
    with pytest.raises(SnmpNotConnectedError):
        await device.write(SYS_CONTACT, data)
    assert bus.snapshot(("snmp", "?", "write", "*")) == []


# -- WALK -------------------------------------------------------------------------------


#: v2c walks snmpd's whole tree (~4,700 varbinds, GETBULK); v1 walks ifXTable with
#: one GETNEXT per varbind (the whole tree would take 10 s of pysnmp CPU), where
#: snmpd's Counter64 columns are the ones RFC 3584 §4.2.2.1 makes it skip.
WALKS = [("V2C", "2c", "1.3.6.1", 1000), ("V1", "1", "1.3.6.1.2.1.31", 10)]


@pytest.mark.parametrize(("version", "net_version", "root", "at_least"), WALKS)
async def test_walk_of_the_whole_tree_matches_net_snmp(
    snmpd: Snmpd, bus: EventManager, version: str, net_version: str, root: str, at_least: int
) -> None:
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, version=version, community="public")
    async with connected("agent", conf, bus, recorder) as device:
        # compare with Net-SNMP's walks just before and after ours; a table that
        # changed in between (a stray row) makes us walk all three again
        for _attempt in range(3):
            reference = await net_walk(snmpd, root, net_version)
            ours = await collect(device.walk(root, session_id="w-1"))
            again = await net_walk(snmpd, root, net_version)
            if reference == again:
                break
        assert reference == again, "snmpd's tree kept changing"
        descr = await net_get_octets(snmpd, SYS_DESCR)
        await recorder.wait_for(lambda: len(recorder.of("walk")) >= 1)
    oids = [oid for oid, _data in ours]
    assert len(oids) == len(reference) > at_least
    assert oids[-1] == reference[-1]
    assert oids == reference
    arcs = [tuple(map(int, oid.split("."))) for oid in oids]
    assert all(a < b for a, b in itertools.pairwise(arcs))  # lexicographic
    assert all(oid.startswith(root + ".") for oid in oids)
    values = dict(ours)
    if root == "1.3.6.1":
        assert oids[0] == reference[0] == SYS_DESCR
        assert values[SYS_DESCR] == {"type": "STRING", "value": descr.decode()}
    kinds = {data["type"] for _oid, data in ours}
    assert "ERROR" not in kinds
    # Counter64 objects exist only for v2c (RFC 3584 §4.2.2.1: v1 agents skip them)
    assert ("BIG_COUNTER" in kinds) is (version == "V2C")
    event = recorder.of("walk", root)[-1]
    assert event["session_id"] == "w-1"
    assert event["count"] == len(oids)
    assert event["complete"] is True
    assert event["error"] is None
    assert isinstance(event["seconds"], float)
    assert event["seconds"] > 0


async def test_walk_of_a_subtree_stays_inside(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    async with connected("agent", make_conf(snmpd.port), bus, recorder) as device:
        for root, max_repetitions in ((SYSTEM, 25), (SYSTEM, 1), (IF_DESCR, 3)):
            ours = await collect(device.walk(root, max_repetitions=max_repetitions))
            oids = [oid for oid, _data in ours]
            assert oids == await net_walk(snmpd, root, "2c")
            assert oids
            assert all(oid.startswith(root + ".") for oid in oids)
        # the system group is followed by more objects: the walk stopped at its edge
        after = await net_snmp(
            "snmpgetnext", "-v2c", "-c", "public", "-On", f"127.0.0.1:{snmpd.port}", oids[-1]
        )
        assert after.startswith(".1.3.6.1.2.1.2")
        ifdescr = [data for _oid, data in ours]
        assert {data["type"] for data in ifdescr} == {"STRING"}
        # an instance has no subtree: it is read itself, as snmpwalk does
        assert await collect(device.walk(SYS_DESCR)) == [
            (
                SYS_DESCR,
                {"type": "STRING", "value": (await net_get_octets(snmpd, SYS_DESCR)).decode()},
            )
        ]
        assert await collect(device.walk("1.3.6.1.4.1.99999")) == []
        await recorder.wait_for(lambda: len(recorder.of("walk")) == 5)
    events = recorder.of("walk")
    assert all(e["complete"] is True and e["error"] is None for e in events)
    assert [e["count"] for e in events[3:]] == [1, 0]


async def test_walked_values_are_previous_for_a_write(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    async with connected("rw", make_conf(snmpd.port), bus, recorder) as device:
        walked = dict(await collect(device.walk(SYSTEM)))
        result = await device.write(SYS_LOCATION, {"type": "STRING", "value": "moved"})
    assert result["success"] is True
    assert result["previous"] == walked[SYS_LOCATION]


async def test_cancelling_a_walk_mid_request_stops_it_at_once(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with UdpProxy(snmpd.port) as proxy:
        # a lost request would only end after 30 s: cancellation must not wait for it
        conf = make_conf(proxy.port, request_timeout=30.0)
        async with connected("agent", conf, bus, recorder) as device:
            consumed = 0
            losing = asyncio.Event()

            async def consume() -> None:
                nonlocal consumed
                async for _row in device.walk("1.3.6.1", session_id="esc", max_repetitions=10):
                    consumed += 1
                    if consumed == 35:
                        proxy.drop = {GETBULK}  # the 5th request will be lost
                        losing.set()

            task = asyncio.create_task(consume())
            async with asyncio.timeout(15):
                await proxy.dropped.wait()
            task.cancel()
            async with asyncio.timeout(15):  # bounds a hung test only
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert losing.is_set()
            bulks = proxy.counts[GETBULK]
            assert bulks >= 4
            proxy.drop = set()
            await device.read(SYS_DESCR)  # a later request passes...
            assert proxy.counts[GETBULK] == bulks  # ...and the walk sent nothing more
            await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    [event] = recorder.of("walk")
    assert event["session_id"] == "esc"
    assert event["complete"] is False
    assert event["error"] == "CANCELLED"
    assert event["count"] == consumed >= 35


async def test_breaking_out_of_a_walk_publishes_it_incomplete(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with connected("agent", make_conf(snmpd.port), bus, recorder) as device:
        async with contextlib.aclosing(device.walk(SYSTEM)) as rows:
            async for _oid, _data in rows:
                if _oid == SYS_UPTIME:
                    break
        # published when the generator closed, not later
        latest = bus.latest(("snmp", "agent", "walk", SYSTEM))
        assert latest is not None
        assert _payload(latest) | {"seconds": 0} == {
            "session_id": None,
            "count": 3,
            "complete": False,
            "error": "CANCELLED",
            "seconds": 0,
        }


async def test_closing_the_device_stops_its_walk(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    device = SnmpDevice("short-lived", make_conf(snmpd.port), bus)
    await device.start()
    await recorder.wait_for(lambda: device.status == "CONNECTED")
    rows: list[tuple[str, Any]] = []
    async with contextlib.aclosing(device.walk(SYSTEM, max_repetitions=1)) as walk:
        rows.append(await anext(walk))
        await device.aclose()
        with pytest.raises(SnmpNotConnectedError, match="device closed"):
            await anext(walk)
    assert rows == [(SYS_DESCR, rows[0][1])]
    await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    [event] = recorder.of("walk")
    assert (event["count"], event["complete"], event["error"]) == (1, False, "DEVICE_CLOSED")


@pytest.mark.parametrize("version", ["V2C", "V1"])
async def test_a_non_increasing_agent_stops_the_walk(bus: EventManager, version: str) -> None:
    recorder = Recorder(bus)
    async with MisbehavingAgent() as agent:
        conf = make_conf(agent.port, version=version, community="public")
        async with connected("loop", conf, bus, recorder) as device:
            rows: list[tuple[str, Any]] = []
            with pytest.raises(SnmpOperationError) as info:
                await drain(device.walk("1.3.6.1.4.1.99999"), rows)
            assert info.value.error == "OID_NOT_INCREASING"
            assert "1.3.6.1.4.1.99999.1.1.0 after 1.3.6.1.4.1.99999.1.1.0" in str(info.value)
            assert rows == [(agent.oid, {"type": "INTEGER", "value": 1})]
            assert agent.walk_requests == 2
            await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    [event] = recorder.of("walk")
    assert (event["count"], event["complete"], event["error"]) == (1, False, "OID_NOT_INCREASING")


async def test_an_agent_error_status_stops_the_walk(bus: EventManager) -> None:
    recorder = Recorder(bus)
    async with MisbehavingAgent(error_status=5) as agent:  # genErr
        conf = make_conf(agent.port, community="public")
        async with connected("broken", conf, bus, recorder) as device:
            with pytest.raises(SnmpOperationError) as info:
                await collect(device.walk("1.3.6.1"))
            assert info.value.error == "GEN_ERR"
            await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    assert recorder.of("walk")[0]["error"] == "GEN_ERR"
    assert recorder.of("walk")[0]["complete"] is False


async def test_walk_timeout_raises_and_leaves_the_device_connected(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with UdpProxy(snmpd.port) as proxy:
        conf = make_conf(proxy.port, request_timeout=0.3, request_retry_count=1)
        async with connected("lossy", conf, bus, recorder) as device:
            proxy.drop = {GETBULK}
            with pytest.raises(SnmpTimeoutError, match=r"walk of 1\.3\.6\.1: no response"):
                await collect(device.walk("1.3.6.1", session_id="t"))
            assert proxy.counts[GETBULK] == 2
            assert device.status == "CONNECTED"
            await recorder.wait_for(lambda: len(recorder.of("walk")) == 1)
    [event] = recorder.of("walk")
    assert (event["count"], event["complete"], event["error"]) == (0, False, "TIMEOUT")
