"""SnmpDevice against real peers: Debian snmpd (v1 and v2c) on free loopback ports,
Net-SNMP's snmpget as the reference, and a scripted agent for the PDU errors snmpd
never sends (tests/snmp_peers.py)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pysnmp.proto import rfc1902

from console.config import SnmpDeviceConfig
from console.events import Event, EventManager, Policy
from console.secrets import Secret
from console.snmp import SnmpDevice, SnmpNotConnectedError, SnmpStatus
from console.snmp.engine import loop_engines
from console.snmp.mib import MibResolver
from console.snmpdisplay import ValueFormatter
from tests.conftest import free_udp_port
from tests.snmp_peers import ScriptedAgent, Snmpd, snmpget
from tests.waiting import EventRecorder

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_SPEED_1 = "1.3.6.1.2.1.2.2.1.5.1"  # Gauge32
IF_PHYS_ADDRESS_1 = "1.3.6.1.2.1.2.2.1.6.1"
IF_IN_OCTETS_1 = "1.3.6.1.2.1.2.2.1.10.1"  # Counter32
IF_HC_IN_OCTETS_1 = "1.3.6.1.2.1.31.1.1.1.6.1"  # Counter64
IP_AD_ENT_ADDR = "1.3.6.1.2.1.4.20.1.1.127.0.0.1"  # IpAddress
LA_LOAD_FLOAT_1 = "1.3.6.1.4.1.2021.10.1.6.1"  # Opaque float
MISSING = "1.3.6.1.2.1.1.9.99.0"
MISSING_2 = "1.3.6.1.4.1.99999.1.0"

SECRET_COMMUNITY = "s3cr3t-Community-7f4e"


# -- fixtures and helpers ------------------------------------------------------------


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    with Snmpd(tmp_path / "snmpd") as agent:
        yield agent


class Recorder(EventRecorder):
    """The SNMP events of the bus; predicates here take the event list."""

    def __init__(self, bus: EventManager, pattern: tuple[str, ...] = ("snmp", "*")) -> None:
        super().__init__(bus, pattern)

    async def wait_for(  # type: ignore[override]
        self, predicate: Callable[[list[Event]], bool], within: float | None = None
    ) -> list[Event]:
        """Wait until ``predicate(events)`` holds; return the events."""
        await super().wait_for(lambda: predicate(self.events), within)
        return self.events

    def of(self, kind: str, oid: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.type[2] == kind and (oid is None or (len(e.type) > 3 and e.type[3] == oid))
        ]

    def statuses(self) -> list[str]:
        return [str(_payload(e)["status"]) for e in self.of("status")]

    def polls(self) -> int:
        return len(self.of("poll"))

    def latest(self) -> dict[str, dict[str, Any]]:
        return {e.type[3]: _payload(e)["data"] for e in self.of("read")}


def _payload(event: Event) -> dict[str, Any]:
    assert isinstance(event.payload, dict)
    return event.payload


def make_conf(
    port: int,
    oids: tuple[str, ...],
    *,
    version: str = "V2C",
    community: str = "public",
    host: str = "127.0.0.1",
    **overrides: Any,
) -> SnmpDeviceConfig:
    settings: dict[str, Any] = {
        "connect_delay": 0.3,
        "request_timeout": 0.5,
        "request_retry_count": 1,
        "request_retry_delay": 0.1,
        "polling_delay": 0.2,
    }
    settings.update(overrides)
    return SnmpDeviceConfig(
        remote_host=host,
        remote_port=port,
        version=version,  # type: ignore[arg-type]
        community=Secret(community),
        polling_oids=oids,
        **settings,
    )


def polls_at_least(n: int) -> Callable[[list[Event]], bool]:
    return lambda events: sum(e.type[2] == "poll" for e in events) >= n


def status_is(status: str, after: int = 0) -> Callable[[list[Event]], bool]:
    def check(events: list[Event]) -> bool:
        seen = [e for e in events if e.type[2] == "status"][after:]
        return any(_payload(e)["status"] == status for e in seen)

    return check


def disconnect_bound(conf: SnmpDeviceConfig, slack: float = 5.0) -> float:
    """Longest a dead agent may take to be declared DISCONNECTED: one polling wait,
    every try's timeout, the delays between tries, plus slack for a loaded machine."""
    tries = conf.request_retry_count + 1
    return (
        conf.polling_delay
        + conf.request_timeout * tries
        + conf.request_retry_delay * (tries - 1)
        + slack
    )


def no_consecutive_duplicates(statuses: list[str]) -> bool:
    return all(a != b for a, b in itertools.pairwise(statuses))


# -- values against Net-SNMP ------------------------------------------------------------


@pytest.mark.parametrize("version", ["V2C", "V1"])
async def test_values_and_types_match_net_snmp(
    snmpd: Snmpd, bus: EventManager, version: str
) -> None:
    oids = (
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_UPTIME,
        SYS_CONTACT,
        IF_NUMBER,
        IF_SPEED_1,
        IF_PHYS_ADDRESS_1,
        IF_IN_OCTETS_1,
        IF_HC_IN_OCTETS_1,
        IP_AD_ENT_ADDR,
        LA_LOAD_FLOAT_1,
        MISSING,
    )
    net_version = "2c" if version == "V2C" else "1"
    before = snmpget(snmpd, oids, version=net_version)
    assert before[SYS_CONTACT].value == b"ops@example.com"  # the peer is the one we configured
    recorder = Recorder(bus)
    conf = make_conf(
        snmpd.port, oids, version=version, string_hex_oids=frozenset({IF_PHYS_ADDRESS_1})
    )
    async with SnmpDevice("agent", conf, bus):
        await recorder.wait_for(polls_at_least(1))
    after = snmpget(snmpd, oids, version=net_version)
    ours = recorder.latest()
    assert set(ours) == set(oids)
    for oid in oids:
        data = ours[oid]
        if oid not in before:  # v1: snmpget dropped the OID after a noSuchName
            assert version == "V1"
            assert data == {"type": "ERROR", "value": "NO_SUCH_NAME"}, oid
            continue
        reference = before[oid]
        if oid == IF_PHYS_ADDRESS_1:
            assert data == {"type": "STRING_HEX", "value": reference.value.hex()}
            continue
        assert data["type"] == reference.type, oid
        if reference.type == "STRING":
            assert data["value"] == reference.value.decode("utf-8", errors="replace"), oid
        elif reference.type in ("TIME_TICKS", "COUNTER", "BIG_COUNTER"):
            assert reference.value <= data["value"] <= after[oid].value, oid
        elif reference.type == "ARBITRARY":  # Net-SNMP's opaque float: 9f 78 04 + float32
            assert reference.value.startswith("Float:")
            assert data["value"].startswith("9f7804"), oid
        else:
            assert data["value"] == reference.value, oid
    assert ours[SYS_CONTACT] == {"type": "STRING", "value": "ops@example.com"}
    assert ours[IP_AD_ENT_ADDR] == {"type": "IP_ADDRESS", "value": "127.0.0.1"}
    assert ours[SYS_OBJECT_ID]["type"] == "OBJECT_ID"
    expected_missing = "NO_SUCH_OBJECT" if version == "V2C" else "NO_SUCH_NAME"
    assert ours[MISSING] == {"type": "ERROR", "value": expected_missing}
    if version == "V2C":
        assert ours[IF_HC_IN_OCTETS_1]["type"] == "BIG_COUNTER"


# -- change detection ---------------------------------------------------------------------


async def test_publishes_only_changes_with_interrogate_then_change(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_UPTIME, SYS_DESCR), polling_delay=0.1)
    async with SnmpDevice("sw1", conf, bus) as device:
        await recorder.wait_for(lambda _: len(recorder.of("read", SYS_UPTIME)) >= 3)
        await recorder.wait_for(polls_at_least(4))
        assert device.status == SnmpStatus.CONNECTED
    uptime = [_payload(e) for e in recorder.of("read", SYS_UPTIME)]
    assert [p["cause"] for p in uptime] == ["INTERROGATE"] + ["CHANGE"] * (len(uptime) - 1)
    assert all(p["session_id"] is None for p in uptime)
    ticks = [p["data"]["value"] for p in uptime]
    assert ticks == sorted(ticks)
    assert len(set(ticks)) == len(ticks)
    descr = [_payload(e) for e in recorder.of("read", SYS_DESCR)]
    assert len(descr) == 1  # unchanged: published once
    assert descr[0]["cause"] == "INTERROGATE"
    assert descr[0]["data"]["type"] == "STRING"
    assert set(descr[0]) == {"session_id", "cause", "data", "display"}
    polls = [_payload(e) for e in recorder.of("poll")]
    assert [p["polls"] for p in polls] == list(range(1, len(polls) + 1))
    for stats in polls:
        assert set(stats) == {"rtt_ms", "values", "errors", "polls", "last_poll"}
        assert stats["values"] == 2
        assert stats["errors"] == 0
        assert stats["rtt_ms"] > 0
        assert isinstance(stats["last_poll"], float)
    assert recorder.statuses()[:2] == ["CONNECTING", "CONNECTED"]
    assert recorder.statuses()[-1] == "DISCONNECTED"
    assert _payload(recorder.of("status")[-1])["reason"] == "device closed"
    assert _payload(recorder.of("status")[0]) == {"status": "CONNECTING", "reason": None}


async def test_batches_respect_max_varbinds_per_request(bus: EventManager) -> None:
    oids = tuple(f"1.3.6.1.4.1.99999.1.{i}.0" for i in range(10))
    values = {oid: rfc1902.Integer32(i) for i, oid in enumerate(oids)}
    recorder = Recorder(bus)
    async with ScriptedAgent(values) as agent:
        conf = make_conf(agent.port, oids, max_varbinds_per_request=3)
        async with SnmpDevice("batched", conf, bus, max_in_flight=1):
            await recorder.wait_for(polls_at_least(2))
        assert agent.requests[:8] == [3, 3, 3, 1, 3, 3, 3, 1]
    assert recorder.latest() == {oid: {"type": "INTEGER", "value": i} for i, oid in enumerate(oids)}


async def test_concurrent_batches_publish_everything_in_order_per_oid(bus: EventManager) -> None:
    oids = tuple(f"1.3.6.1.4.1.99999.2.{i}.0" for i in range(50))
    values = {oid: rfc1902.Counter32(i) for i, oid in enumerate(oids)}
    recorder = Recorder(bus)
    async with ScriptedAgent(values) as agent:
        conf = make_conf(agent.port, oids, max_varbinds_per_request=4)
        async with SnmpDevice("wide", conf, bus, max_in_flight=4):
            await recorder.wait_for(polls_at_least(2))
        assert sorted(agent.requests[:13]) == [2] + [4] * 12
    assert recorder.latest() == {oid: {"type": "COUNTER", "value": i} for i, oid in enumerate(oids)}
    assert len(recorder.of("read")) == len(oids)  # unchanged values: published once
    assert _payload(recorder.of("poll")[0])["values"] == len(oids)


# -- connection loss and recovery ------------------------------------------------------------


async def test_agent_stop_disconnects_and_restart_reconnects_with_interrogate(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_DESCR, SYS_UPTIME), request_timeout=0.5)
    async with SnmpDevice("edge", conf, bus) as device:
        await recorder.wait_for(status_is("CONNECTED"))
        await recorder.wait_for(lambda _: len(recorder.of("read", SYS_DESCR)) == 1)
        snmpd.stop()
        await recorder.wait_for(status_is("DISCONNECTED"), within=disconnect_bound(conf))
        assert device.status == SnmpStatus.DISCONNECTED
        assert device.reason == "no response after 2 tries (timeout 0.5 s)"
        disconnected = len(recorder.of("status"))
        reads_before = len(recorder.of("read"))
        snmpd.start()
        await recorder.wait_for(status_is("CONNECTED", after=disconnected), within=30)
        await recorder.wait_for(lambda _: len(recorder.of("read", SYS_DESCR)) == 2)
    statuses = recorder.statuses()
    assert statuses[:3] == ["CONNECTING", "CONNECTED", "DISCONNECTED"]
    assert no_consecutive_duplicates(statuses)
    down = [_payload(e) for e in recorder.of("status") if _payload(e)["status"] == "DISCONNECTED"]
    assert down[0]["reason"] == "no response after 2 tries (timeout 0.5 s)"
    # after the reconnect the cache is empty again: the unchanged sysDescr is re-read
    again = [_payload(e) for e in recorder.of("read")[reads_before:]]
    assert {p["cause"] for p in again if p["data"]["type"] == "STRING"} == {"INTERROGATE"}
    assert again[0]["cause"] == "INTERROGATE"


async def test_an_outage_is_one_disconnected_status_however_many_retries(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """Issue 11 §5: "DISCONNECTED since" is the outage's start. The device stays
    DISCONNECTED through its reconnection tries (it used to flip to CONNECTING and
    back on every try, so the time of its DISCONNECTED status reset each time)."""
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_UPTIME,), connect_delay=0.2)
    async with SnmpDevice("edge", conf, bus) as device:
        await recorder.wait_for(status_is("CONNECTED"))
        snmpd.stop()
        await recorder.wait_for(status_is("DISCONNECTED"), within=disconnect_bound(conf))
        down = len(recorder.events)
        # three more connection attempts fail while the agent is away
        errors = device.stats()["errors"]
        tries = conf.request_retry_count + 1
        await recorder.wait_for(lambda _: device.stats()["errors"] >= errors + 3 * tries)
        assert device.status == SnmpStatus.DISCONNECTED
        assert [e for e in recorder.events[down:] if e.type[2] == "status"] == []
        outage = len(recorder.of("status"))
        snmpd.start()
        await recorder.wait_for(status_is("CONNECTED", after=outage), within=30)
    statuses = [_payload(e) for e in recorder.of("status")]
    assert statuses == [
        {"status": "CONNECTING", "reason": None},
        {"status": "CONNECTED", "reason": None},
        {"status": "DISCONNECTED", "reason": "no response after 2 tries (timeout 0.5 s)"},
        {"status": "CONNECTED", "reason": None},
        {"status": "DISCONNECTED", "reason": "device closed"},
    ]


async def test_errors_count_the_failed_polls_during_an_outage(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """Issue 11 §5: ERRORS grows while the agent is away (it used to stay at its old
    value until the agent came back, then jump by every failed try at once)."""
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_UPTIME,), connect_delay=0.2)
    tries = conf.request_retry_count + 1
    async with SnmpDevice("edge", conf, bus) as device:
        await recorder.wait_for(polls_at_least(2))
        assert device.stats()["errors"] == 0
        snmpd.stop()
        await recorder.wait_for(status_is("DISCONNECTED"), within=disconnect_bound(conf))
        completed = device.stats()["polls"]
        await recorder.wait_for(
            lambda _: [_payload(e)["errors"] for e in recorder.of("poll")][-1] >= 3 * tries
        )
        assert device.status == SnmpStatus.DISCONNECTED
        during = [_payload(e) for e in recorder.of("poll") if _payload(e)["errors"]]
        # every failed cycle is published: its tries counted, no cycle completed
        assert [p["errors"] for p in during] == [tries * n for n in range(1, len(during) + 1)]
        assert {p["polls"] for p in during} == {completed}
        assert {p["values"] for p in during} == {0}
        last_poll = _payload(recorder.of("poll")[completed - 1])["last_poll"]
        assert {p["last_poll"] for p in during} == {last_poll}
        assert device.stats()["errors"] >= during[-1]["errors"]
        seen = len(recorder.of("poll"))
        snmpd.start()
        await recorder.wait_for(
            lambda _: any(_payload(e)["polls"] > completed for e in recorder.of("poll")[seen:]),
            within=30,
        )
    after = next(
        _payload(e) for e in recorder.of("poll")[seen:] if _payload(e)["polls"] > completed
    )
    # no jump once the agent is back: at most the tries of the cycle that reconnected
    last_failed = _payload(recorder.of("poll")[seen - 1])["errors"]
    assert last_failed <= after["errors"] < last_failed + tries


async def test_polling_list_is_published_at_start_and_on_every_change(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """Contract 1: ``("snmp", DEVICE, "polling")`` ``{"oids": [...]}`` (numeric, no
    leading dot, in polling order) at start and after every change of the list; it is
    state-like (the bus keeps the latest)."""
    recorder = Recorder(bus)
    device = SnmpDevice("sw", make_conf(snmpd.port, (SYS_DESCR, "." + SYS_UPTIME)), bus)
    device.add_polling_oid(SYS_NAME)  # before start: part of the first list
    assert recorder.of("polling") == []
    async with device:
        await recorder.wait_for(lambda _: SYS_NAME in recorder.latest())
        assert [_payload(e) for e in recorder.of("polling")] == [
            {"oids": [SYS_DESCR, SYS_UPTIME, SYS_NAME]}
        ]
        assert device.add_polling_oid("." + SYS_CONTACT) == SYS_CONTACT
        assert device.add_polling_oid(SYS_CONTACT) == SYS_CONTACT  # unchanged: no event
        assert device.remove_polling_oid(SYS_UPTIME) is True
        assert device.remove_polling_oid(SYS_LOCATION) is False  # unchanged: no event
        await recorder.wait_for(lambda _: SYS_CONTACT in recorder.latest())
        uptime_reads = len(recorder.of("read", SYS_UPTIME))
        polls = recorder.polls()
        await recorder.wait_for(polls_at_least(polls + 2))
        assert len(recorder.of("read", SYS_UPTIME)) == uptime_reads  # no longer polled
    assert [_payload(e)["oids"] for e in recorder.of("polling")] == [
        [SYS_DESCR, SYS_UPTIME, SYS_NAME],
        [SYS_DESCR, SYS_UPTIME, SYS_NAME, SYS_CONTACT],
        [SYS_DESCR, SYS_NAME, SYS_CONTACT],
    ]
    latest = bus.latest(("snmp", "sw", "polling"))
    assert latest is not None
    assert latest.payload == {"oids": [SYS_DESCR, SYS_NAME, SYS_CONTACT]}
    assert list(device.polling_oids) == [SYS_DESCR, SYS_NAME, SYS_CONTACT]


async def test_unreachable_port_is_disconnected_with_a_reason(bus: EventManager) -> None:
    recorder = Recorder(bus)
    conf = make_conf(free_udp_port(), (SYS_DESCR,), request_timeout=0.3, request_retry_count=2)
    async with SnmpDevice("nowhere", conf, bus) as device:
        await recorder.wait_for(status_is("DISCONNECTED"), within=disconnect_bound(conf))
        assert device.reason == "no response after 3 tries (timeout 0.3 s)"
        # it keeps trying (each failed try is counted and published), DISCONNECTED
        await recorder.wait_for(lambda _: len(recorder.of("poll")) >= 2)
        with pytest.raises(SnmpNotConnectedError, match="'nowhere' is not connected"):
            await device.read(SYS_DESCR)
    assert recorder.of("read") == []
    assert recorder.statuses() == ["CONNECTING", "DISCONNECTED"]


async def test_unresolvable_host_is_disconnected_with_a_reason(bus: EventManager) -> None:
    recorder = Recorder(bus)
    conf = make_conf(161, (SYS_DESCR,), host="no-such-host.invalid")
    async with SnmpDevice("typo", conf, bus) as device:
        await recorder.wait_for(status_is("DISCONNECTED"))
        assert device.reason is not None
        assert device.reason.startswith("cannot resolve no-such-host.invalid:161")


async def test_wrong_community_times_out_and_never_leaks_the_secret(
    snmpd: Snmpd, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(bus, ("*",))
    conf = make_conf(snmpd.port, (SYS_DESCR,), community=SECRET_COMMUNITY)
    async with SnmpDevice("locked", conf, bus) as device:
        await recorder.wait_for(status_is("DISCONNECTED"), within=disconnect_bound(conf))
        assert device.reason == "no response after 2 tries (timeout 0.5 s)"
        with pytest.raises(SnmpNotConnectedError) as info:
            await device.read(SYS_DESCR, session_id="op")
        assert SECRET_COMMUNITY not in str(info.value)
    everything = json.dumps([e.to_json() for e in recorder.events]) + json.dumps(
        [e.to_json() for e in bus.snapshot()]
    )
    assert "DISCONNECTED" in everything
    assert SECRET_COMMUNITY not in everything
    assert "SNMP device locked" in caplog.text  # the log was captured
    assert SECRET_COMMUNITY not in caplog.text
    assert SECRET_COMMUNITY not in repr(conf)
    assert SECRET_COMMUNITY not in repr(device.reason)


# -- PDU errors ---------------------------------------------------------------------------------


async def test_v1_bad_oids_do_not_blank_the_good_ones(snmpd: Snmpd, bus: EventManager) -> None:
    oids = (SYS_DESCR, MISSING, SYS_CONTACT, MISSING_2, SYS_LOCATION)
    recorder = Recorder(bus)
    async with SnmpDevice("old", make_conf(snmpd.port, oids, version="V1"), bus) as device:
        await recorder.wait_for(polls_at_least(2))
        assert device.status == SnmpStatus.CONNECTED
    ours = recorder.latest()
    assert ours[SYS_CONTACT] == {"type": "STRING", "value": "ops@example.com"}
    assert ours[SYS_LOCATION] == {"type": "STRING", "value": "fleettop test rack"}
    assert ours[SYS_DESCR]["type"] == "STRING"
    assert ours[MISSING] == {"type": "ERROR", "value": "NO_SUCH_NAME"}
    assert ours[MISSING_2] == {"type": "ERROR", "value": "NO_SUCH_NAME"}
    polls = [_payload(e) for e in recorder.of("poll")]
    assert [p["values"] for p in polls] == [3] * len(polls)
    assert [p["errors"] for p in polls[:2]] == [2, 4]  # error values count, every cycle


async def test_too_big_splits_the_batch(bus: EventManager) -> None:
    oids = tuple(f"1.3.6.1.4.1.99999.3.{i}.0" for i in range(5))
    values = {oid: rfc1902.OctetString(f"v{i}".encode()) for i, oid in enumerate(oids)}
    recorder = Recorder(bus)
    async with ScriptedAgent(values, max_var_binds=2) as agent:
        conf = make_conf(agent.port, oids, max_varbinds_per_request=5)
        async with SnmpDevice("small-buffers", conf, bus, max_in_flight=1):
            await recorder.wait_for(polls_at_least(1))
        assert agent.requests[:5] == [5, 2, 3, 1, 2]
    # the split halves are counted once each, not again by the request that split
    assert _payload(recorder.of("poll")[0])["values"] == len(oids)
    assert recorder.latest() == {
        oid: {"type": "STRING", "value": f"v{i}"} for i, oid in enumerate(oids)
    }


async def test_too_big_for_a_single_oid_is_an_error_value(bus: EventManager) -> None:
    values = {"1.3.6.1.4.1.99999.4.1.0": rfc1902.Integer32(1)}
    recorder = Recorder(bus)
    async with ScriptedAgent(values, max_var_binds=0) as agent:
        conf = make_conf(agent.port, tuple(values))
        async with SnmpDevice("tiny", conf, bus) as device:
            await recorder.wait_for(polls_at_least(1))
            assert device.status == SnmpStatus.CONNECTED
    assert recorder.latest() == {"1.3.6.1.4.1.99999.4.1.0": {"type": "ERROR", "value": "TOO_BIG"}}


@pytest.mark.parametrize("version", ["V1", "V2C"])
async def test_error_status_with_index_marks_only_that_oid(bus: EventManager, version: str) -> None:
    oids = tuple(f"1.3.6.1.4.1.99999.5.{i}.0" for i in range(4))
    values = {oid: rfc1902.Gauge32(i) for i, oid in enumerate(oids)}
    recorder = Recorder(bus)
    async with ScriptedAgent(values, error_oids={oids[2]: 5}) as agent:  # genErr
        conf = make_conf(agent.port, oids, version=version)
        async with SnmpDevice("flaky", conf, bus):
            await recorder.wait_for(polls_at_least(1))
    ours = recorder.latest()
    assert ours[oids[2]] == {"type": "ERROR", "value": "GEN_ERR"}
    for i in (0, 1, 3):
        assert ours[oids[i]] == {"type": "UNSIGNED", "value": i}


# -- operator reads and runtime OIDs ----------------------------------------------------------


async def test_read_publishes_requested_every_time(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    async with SnmpDevice("ops", make_conf(snmpd.port, (SYS_UPTIME,)), bus) as device:
        with pytest.raises(SnmpNotConnectedError):
            await device.read(SYS_CONTACT)  # still CONNECTING
        await recorder.wait_for(status_is("CONNECTED"))
        first = await device.read(SYS_CONTACT, session_id="s-1")
        second = await device.read("." + SYS_CONTACT, session_id="s-2")
        missing = await device.read(MISSING)
        with pytest.raises(ValueError, match="is not a numeric OID"):
            await device.read("1.3.x")
        await recorder.wait_for(lambda _: len(recorder.of("read", SYS_CONTACT)) == 2)
        await recorder.wait_for(lambda _: len(recorder.of("read", MISSING)) == 1)
    data = {"type": "STRING", "value": "ops@example.com"}
    shown = "ops@example.com"
    assert first == {"session_id": "s-1", "cause": "REQUESTED", "data": data, "display": shown}
    assert second == {"session_id": "s-2", "cause": "REQUESTED", "data": data, "display": shown}
    assert missing == {
        "session_id": None,
        "cause": "REQUESTED",
        "data": {"type": "ERROR", "value": "NO_SUCH_OBJECT"},
        "display": "NO_SUCH_OBJECT",
    }
    assert [_payload(e) for e in recorder.of("read", SYS_CONTACT)] == [first, second]
    # the read of a non-polled OID leaves polling alone
    assert device.polling_oids == (SYS_UPTIME,)
    with pytest.raises(SnmpNotConnectedError, match="is not connected"):
        await device.read(SYS_CONTACT)  # closed


IF_TYPE_1 = "1.3.6.1.2.1.2.2.1.3.1"
IF_ADMIN_STATUS_1 = "1.3.6.1.2.1.2.2.1.7.1"
IF_OPER_STATUS_1 = "1.3.6.1.2.1.2.2.1.8.1"


@pytest.fixture(scope="module")
def loaded_mibs() -> MibResolver:
    """The standard MIB modules (IF-MIB from pysnmp-mibs), loaded."""
    resolver = MibResolver()
    resolver.load()
    return resolver


async def test_read_and_polled_events_carry_the_mib_display(
    snmpd: Snmpd, bus: EventManager, loaded_mibs: MibResolver
) -> None:
    """``display`` beside the raw ``data``: the MIB's form once the MIBs are loaded
    (snmpd's interface 1 is ``lo``: Net-SNMP shows ``softwareLoopback(24)``,
    ``up(1)``), the plain form before, and for an OID no MIB gives a form."""
    recorder = Recorder(bus)
    ready: list[MibResolver] = []  # the MIBs "load" after the first events
    formatter = ValueFormatter(lambda: ready[0].info if ready else None)
    oids = (IF_TYPE_1, SYS_CONTACT)
    conf = make_conf(snmpd.port, oids)
    async with SnmpDevice("sw", conf, bus, formatter=formatter) as device:
        await recorder.wait_for(lambda _: len(recorder.of("read")) == 2)
        before = await device.read(IF_ADMIN_STATUS_1)
        ready.append(loaded_mibs)
        after = await device.read(IF_ADMIN_STATUS_1)
        device.add_polling_oid(IF_OPER_STATUS_1)
        await recorder.wait_for(lambda _: len(recorder.of("read", IF_OPER_STATUS_1)) == 1)
        plain = SnmpDevice("plain", conf, bus)  # no formatter: the plain form
        assert plain.display(IF_TYPE_1, {"type": "INTEGER", "value": 24}) == "24"
    polled = {e.type[3]: _payload(e) for e in recorder.of("read") if e.type[3] in oids}
    assert polled[IF_TYPE_1]["data"] == {"type": "INTEGER", "value": 24}
    assert polled[IF_TYPE_1]["display"] == "24"  # published before the MIBs loaded
    assert polled[SYS_CONTACT]["display"] == "ops@example.com"
    assert before["data"] == {"type": "INTEGER", "value": 1}
    assert before["display"] == "1"
    assert after["data"] == {"type": "INTEGER", "value": 1}
    assert after["display"] == "up(1)"
    oper = _payload(recorder.of("read", IF_OPER_STATUS_1)[0])
    assert oper["cause"] == "INTERROGATE"
    assert (oper["data"], oper["display"]) == ({"type": "INTEGER", "value": 1}, "up(1)")
    assert formatter.display(IF_TYPE_1, polled[IF_TYPE_1]["data"]) == "softwareLoopback(24)"


async def test_polling_oids_can_change_at_runtime(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_UPTIME, "." + SYS_UPTIME, SYS_NAME), polling_delay=0.1)
    async with SnmpDevice("dyn", conf, bus) as device:
        # normalised, deduplicated
        assert list(device.polling_oids) == [SYS_UPTIME, SYS_NAME]
        await recorder.wait_for(polls_at_least(1))
        assert device.add_polling_oid("." + SYS_CONTACT) == SYS_CONTACT
        assert list(device.polling_oids) == [SYS_UPTIME, SYS_NAME, SYS_CONTACT]
        await recorder.wait_for(lambda _: len(recorder.of("read", SYS_CONTACT)) == 1)
        assert device.remove_polling_oid(SYS_UPTIME) is True
        assert device.remove_polling_oid(SYS_UPTIME) is False
        with pytest.raises(ValueError, match="not a numeric OID"):
            device.add_polling_oid("sysName")
        removed_at = len(recorder.of("read", SYS_UPTIME))
        polls = recorder.polls()
        await recorder.wait_for(polls_at_least(polls + 3))
        # one value may have been in flight when it was removed, no more
        assert len(recorder.of("read", SYS_UPTIME)) <= removed_at
        assert list(device.polling_oids) == [SYS_NAME, SYS_CONTACT]
    contact = _payload(recorder.of("read", SYS_CONTACT)[0])
    assert contact["cause"] == "INTERROGATE"


def test_malformed_config_oids_are_rejected() -> None:
    async def build() -> None:
        async with EventManager() as bus:
            SnmpDevice("bad", make_conf(161, ("1.3.x",)), bus)

    with pytest.raises(ValueError, match=r"SNMP device 'bad': '1.3.x' is not a numeric OID"):
        asyncio.run(build())


async def test_device_without_polling_oids_still_tracks_the_agent(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with SnmpDevice("quiet", make_conf(snmpd.port, ()), bus) as device:
        await recorder.wait_for(status_is("CONNECTED"))
        await recorder.wait_for(polls_at_least(3))
        assert device.polling_oids == ()
    assert recorder.of("read") == []  # the probe is never published
    # ...nor counted: its noSuchObject answer is not an operator-visible error
    polls = [_payload(e) for e in recorder.of("poll")]
    assert [(p["values"], p["errors"]) for p in polls[:3]] == [(0, 0)] * 3


# -- backpressure and cleanup --------------------------------------------------------------------


async def test_block_subscriber_slows_the_poller_instead_of_losing_values(
    snmpd: Snmpd, bus: EventManager
) -> None:
    seen: list[Event] = []

    async def slow_store(event: Event) -> None:
        await asyncio.sleep(0.05)
        seen.append(event)

    store = bus.subscribe(("snmp", "?", "read", "*"), slow_store, policy=Policy.BLOCK, maxsize=1)
    recorder = Recorder(bus)
    conf = make_conf(snmpd.port, (SYS_UPTIME, IF_IN_OCTETS_1, SYS_DESCR), polling_delay=0.0)
    async with SnmpDevice("fast", conf, bus):
        await recorder.wait_for(lambda _: len(seen) >= 10)
    await store.drain()
    assert store.stats.overflow == 0
    assert store.stats.dropped == 0
    assert [e.seq for e in seen] == sorted(e.seq for e in seen)
    assert {e.seq for e in seen} == {e.seq for e in recorder.of("read")}


def _sockets() -> set[str]:
    """The process's open sockets (``socket:[inode]``)."""
    targets = (os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink())
    return {target for target in targets if target.startswith("socket:")}


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
async def test_aclose_releases_sockets_and_tasks(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    gc.collect()  # what earlier tests in this worker left to the collector goes now
    baseline_sockets = _sockets()
    baseline_tasks = asyncio.all_tasks()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        first = SnmpDevice("a", make_conf(snmpd.port, (SYS_DESCR,)), bus)
        second = SnmpDevice("b", make_conf(snmpd.port, (SYS_DESCR,), version="V1"), bus)
        await first.start()
        await second.start()
        shared, _spares = loop_engines()
        assert shared is not None
        assert shared.users == 2  # one pysnmp engine for the loop
        await recorder.wait_for(lambda _: len(recorder.of("read")) == 2)
        await first.aclose()
        assert shared.users == 1
        polls = recorder.polls()
        await recorder.wait_for(polls_at_least(polls + 2))  # the other still polls
        await asyncio.gather(second.aclose(), second.aclose())  # idempotent, concurrent
        await first.aclose()
        assert loop_engines() == (None, [])
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert _sockets() - baseline_sockets == set()  # none of the devices' sockets is left
    assert asyncio.all_tasks() == baseline_tasks
    with pytest.raises(SnmpNotConnectedError, match="closed"):
        await first.start()


async def test_closing_the_bus_first_is_quiet(
    snmpd: Snmpd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="console")
    bus = EventManager()
    recorder = Recorder(bus)
    device = SnmpDevice("late", make_conf(snmpd.port, (SYS_UPTIME,), polling_delay=0.0), bus)
    await device.start()
    await recorder.wait_for(polls_at_least(2))
    await bus.aclose()
    await device.aclose()
    assert device.status == SnmpStatus.DISCONNECTED
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_runtime_starts_and_closes_snmp_devices(snmpd: Snmpd) -> None:
    from console.config import Config, DeviceConfig
    from console.runtime import Runtime

    config = Config(devices=(DeviceConfig("rt", snmp=make_conf(snmpd.port, (SYS_CONTACT,))),))
    runtime = Runtime(config)
    await runtime.start()
    try:
        recorder = Recorder(runtime.bus)
        await recorder.wait_for(
            lambda _: runtime.bus.latest(("snmp", "rt", "read", SYS_CONTACT)) is not None
        )
        event = runtime.bus.latest(("snmp", "rt", "read", SYS_CONTACT))
        assert event is not None
        assert _payload(event)["data"] == {"type": "STRING", "value": "ops@example.com"}
        assert runtime.snmp_devices["rt"].status == SnmpStatus.CONNECTED
    finally:
        await runtime.aclose()
    assert runtime.snmp_devices["rt"].reason == "device closed"  # and DISCONNECTED
