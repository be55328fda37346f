"""The embedded demo fleet, against real Net-SNMP clients on loopback.

The agents run in the test's event loop, so the Net-SNMP tools run as asyncio
subprocesses (a blocking ``subprocess.run`` would stop the agents from answering).
``MIBS=""`` and numeric OIDs keep the output independent of installed MIB files.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import random
import re
import socket
import warnings
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from console.config import Config
from console.demo import READ_COMMUNITY, WRITE_COMMUNITY, DemoFleet
from console.demo.models import DeviceModel, ObjectSpec, access_point, core_switch, oid_text
from console.demo.signals import Counter, Wander, Window
from console.secrets import Secret
from tests.conftest import require_program

SYSTEM = "1.3.6.1.2.1.1"
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
SYS_UPTIME = f"{SYSTEM}.3.0"
SYS_CONTACT, SYS_NAME, SYS_LOCATION = (f"{SYSTEM}.{n}.0" for n in (4, 5, 6))

#: Net-SNMP's type label for each demo SMI type.
NET_SNMP_TYPES = {
    "INTEGER": {"INTEGER"},
    "UNSIGNED": {"Gauge32"},
    "COUNTER": {"Counter32"},
    "BIG_COUNTER": {"Counter64"},
    "TIME_TICKS": {"Timeticks"},
    "STRING": {"STRING", "Hex-STRING"},
    "OBJECT_ID": {"OID"},
}

_LINE = re.compile(r"^\.(?P<oid>[0-9.]+) = (?:(?P<type>[A-Za-z0-9-]+): )?(?P<value>.*)$")


def oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


def parse(stdout: str) -> list[tuple[str, str, str]]:
    """``(oid, type, value)`` per line of ``-On`` output; type is "" for exceptions
    such as "No Such Object"; a Timeticks value is its hundredths of a second."""
    rows = []
    for line in stdout.splitlines():
        if line == "End of MIB":  # SNMPv1 walks end with noSuchName
            continue
        match = _LINE.match(line.rstrip())
        assert match, f"unexpected Net-SNMP output line: {line!r}"
        type_, value = match["type"] or "", match["value"]
        if type_ == "Timeticks":
            value = value.split(")")[0].lstrip("(")
        rows.append((match["oid"], type_, value))
    return rows


async def net_snmp(program: str, *args: str) -> tuple[int, str, str]:
    """Run a Net-SNMP tool without blocking the loop; return (rc, stdout, stderr)."""
    path = require_program(program)
    proc = await asyncio.create_subprocess_exec(
        path,
        *args,
        env={**os.environ, "MIBS": ""},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def target(fleet: DemoFleet, name: str) -> str:
    info = fleet.agent(name)
    return f"{info.host}:{info.port}"


async def snmp(
    program: str, fleet: DemoFleet, name: str, *args: str, community: str = "public"
) -> tuple[int, str, str]:
    """Run ``program`` against agent ``name`` with SNMPv2c, numeric output."""
    options = ["-v2c", "-c", community, "-On", "-t", "2", "-r", "1"]
    return await net_snmp(program, *options, target(fleet, name), *args)


async def get(fleet: DemoFleet, name: str, *oids: str) -> dict[str, tuple[str, str]]:
    rc, out, err = await snmp("snmpget", fleet, name, *oids)
    assert rc == 0, err
    return {oid: (type_, value) for oid, type_, value in parse(out)}


def model(fleet: DemoFleet, name: str) -> DeviceModel:
    return next(m for m in fleet.models if m.name == name)


def demo_fleet() -> DemoFleet:
    """The demo fleet the tests read (no outages); ``async with`` starts and closes it."""
    return DemoFleet(seed=7, outage_duration=0.0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_fleet() -> AsyncIterator[DemoFleet]:
    """One demo fleet for the module's reading tests (starting one takes seconds)."""
    async with demo_fleet() as demo:
        yield demo


@pytest_asyncio.fixture(loop_scope="module")
async def fleet(
    request: pytest.FixtureRequest, shared_fleet: DemoFleet
) -> AsyncIterator[DemoFleet]:
    """The module's shared demo fleet; a test marked ``fresh_demo`` (it changes the
    agents' values) gets its own, closed afterwards."""
    if request.node.get_closest_marker("fresh_demo") is None:
        yield shared_fleet
        return
    async with demo_fleet() as demo:
        yield demo


# -- the SNMPv2-MIB system group and the polled objects ----------------------------


@pytest.mark.parametrize(
    ("name", "object_id"),
    [
        ("core-sw1", "1.3.6.1.4.1.32473.1.1"),
        ("ap-lobby", "1.3.6.1.4.1.32473.1.2"),
        ("ups-1", "1.3.6.1.4.1.32473.1.3"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_system_group_has_rfc3418_types(fleet: DemoFleet, name: str, object_id: str) -> None:
    values = await get(fleet, name, *(f"{SYSTEM}.{n}.0" for n in range(1, 8)))

    assert [values[f"{SYSTEM}.{n}.0"][0] for n in range(1, 8)] == [
        "STRING", "OID", "Timeticks", "STRING", "STRING", "STRING", "INTEGER",
    ]  # fmt: skip
    assert values[f"{SYSTEM}.2.0"][1] == "." + object_id
    assert values[SYS_NAME][1] == f'"{name}"'
    assert int(values[SYS_UPTIME][1]) >= 0
    assert 0 <= int(values[f"{SYSTEM}.7.0"][1]) <= 127  # sysServices


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_every_polled_oid_answers_with_its_declared_type(fleet: DemoFleet) -> None:
    for device in fleet.config.devices:
        assert device.snmp is not None
        specs = {oid_text(spec.oid): spec for spec in model(fleet, device.name).objects}
        values = await get(fleet, device.name, *device.snmp.polling_oids)

        assert list(values) == list(device.snmp.polling_oids)
        for oid, (type_, value) in values.items():
            assert type_ in NET_SNMP_TYPES[specs[oid].type], (device.name, oid, type_, value)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_counters_and_uptime_increase_between_reads(fleet: DemoFleet) -> None:
    oids = (SYS_UPTIME, f"{IF_HC_IN_OCTETS}.1", f"{IF_HC_IN_OCTETS}.2")
    first = await get(fleet, "core-sw1", *oids)
    await asyncio.sleep(0.05)
    second = await get(fleet, "core-sw1", *oids)

    assert first[f"{IF_HC_IN_OCTETS}.1"][0] == "Counter64"
    for oid in oids:
        assert int(second[oid][1]) > int(first[oid][1]), oid


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_ups_serves_rfc1628_battery_input_and_output_values(fleet: DemoFleet) -> None:
    ups = "1.3.6.1.2.1.33.1"
    battery_temp, charge = f"{ups}.2.7.0", f"{ups}.2.4.0"
    input_volts, output_load = f"{ups}.3.3.1.3.1", f"{ups}.4.4.1.5.1"
    values = await get(fleet, "ups-1", battery_temp, charge, input_volts, output_load)

    assert all(type_ == "INTEGER" for type_, _ in values.values())
    assert 0 <= int(values[charge][1]) <= 100
    assert 200 <= int(values[input_volts][1]) <= 260
    assert 0 <= int(values[output_load][1]) <= 200
    assert 10 <= int(values[battery_temp][1]) <= 50


# -- SET access control ------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
@pytest.mark.fresh_demo
async def test_set_with_write_community_is_read_back(fleet: DemoFleet) -> None:
    rc, _out, err = await snmp(
        "snmpset", fleet, "core-sw1",
        SYS_CONTACT, "s", "Ada <ada@example.net>",
        SYS_NAME, "s", "core-sw1.lab",
        SYS_LOCATION, "s", "Rack B7",
        community=WRITE_COMMUNITY.reveal(),
    )  # fmt: skip
    assert rc == 0, err

    values = await get(fleet, "core-sw1", SYS_CONTACT, SYS_NAME, SYS_LOCATION)
    assert values[SYS_CONTACT] == ("STRING", '"Ada <ada@example.net>"')
    assert values[SYS_NAME] == ("STRING", '"core-sw1.lab"')
    assert values[SYS_LOCATION] == ("STRING", '"Rack B7"')


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_set_with_read_community_is_refused(fleet: DemoFleet) -> None:
    before = await get(fleet, "ups-1", SYS_CONTACT)

    rc, _out, err = await snmp("snmpset", fleet, "ups-1", SYS_CONTACT, "s", "mallory")

    assert rc != 0
    assert re.search(r"notWritable|noAccess|authorizationError", err), err
    assert await get(fleet, "ups-1", SYS_CONTACT) == before


@pytest.mark.parametrize(
    ("oid", "type_", "value", "error"),
    [
        (SYS_CONTACT, "i", "5", "wrongType"),
        (f"{SYSTEM}.1.0", "s", "new description", "notWritable"),  # sysDescr is read-only
        (f"{IF_TABLE}.1.2.1", "s", "eth9", "notWritable"),  # ifDescr
    ],
)
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_invalid_sets_with_write_community_are_refused(
    fleet: DemoFleet, oid: str, type_: str, value: str, error: str
) -> None:
    community = WRITE_COMMUNITY.reveal()
    rc, _out, err = await snmp("snmpset", fleet, "core-sw1", oid, type_, value, community=community)

    assert rc != 0
    assert error in err


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_unknown_community_gets_no_answer(fleet: DemoFleet) -> None:
    rc, _out, err = await net_snmp(
        "snmpget",
        "-v2c",
        "-c",
        "nobody",
        "-t",
        "0.3",
        "-r",
        "0",
        target(fleet, "core-sw1"),
        SYS_UPTIME,
    )
    assert rc != 0
    assert "Timeout" in err


# -- walks ---------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_walk_of_if_table_returns_every_row_in_order(fleet: DemoFleet) -> None:
    rc, out, err = await snmp("snmpwalk", fleet, "core-sw1", IF_TABLE)
    assert rc == 0, err
    rows = parse(out)
    oids = [oid_key(oid) for oid, _, _ in rows]

    assert oids == sorted(oids)
    assert len(set(oids)) == len(oids)
    columns = (1, 2, 3, 4, 5, 6, 7, 8, 10, 14, 16)
    assert oids == [
        (*oid_key(IF_TABLE), 1, column, row) for column in columns for row in (1, 2, 3, 4)
    ]
    descriptions = [value for oid, _, value in rows if oid.startswith(f"{IF_TABLE}.1.2.")]
    assert descriptions == [
        '"TenGigabitEthernet1/1/1"', '"GigabitEthernet1/0/1"',
        '"GigabitEthernet1/0/2"', '"GigabitEthernet1/0/24"',
    ]  # fmt: skip
    types = {oid_key(oid)[-2]: type_ for oid, type_, _ in rows}
    assert (types[5], types[10], types[16]) == ("Gauge32", "Counter32", "Counter32")
    assert [value for oid, _, value in rows if oid.startswith(f"{IF_TABLE}.1.8.")] == [
        "1", "1", "1", "2",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["core-sw1", "ap-lobby", "ups-1"])
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_bulk_walk_of_whole_agent_matches_the_model_in_order(
    fleet: DemoFleet, name: str
) -> None:
    rc, out, err = await snmp("snmpbulkwalk", fleet, name, "1.3.6.1")
    assert rc == 0, err
    rows = [row for row in parse(out) if row[1]]  # drop the trailing endOfMibView
    oids = [oid_key(oid) for oid, _, _ in rows]

    assert oids == [spec.oid for spec in model(fleet, name).objects]
    for (oid, type_, value), spec in zip(rows, model(fleet, name).objects, strict=True):
        assert type_ in NET_SNMP_TYPES[spec.type], (oid, type_, value)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.peer("net-snmp tools")
async def test_snmpv1_walk_skips_counter64_as_rfc2576_requires(fleet: DemoFleet) -> None:
    rc, out, err = await net_snmp(
        "snmpwalk", "-v1", "-c", "public", "-On", target(fleet, "core-sw1"), "1.3.6.1.2.1.31"
    )
    assert rc == 0, err
    types = {type_ for _, type_, _ in parse(out)}
    assert types == {"STRING", "Gauge32"}


# -- the access point's outages --------------------------------------------------------


@pytest.mark.peer("net-snmp tools")
async def test_outage_agent_goes_silent_and_comes_back() -> None:
    async with DemoFleet(seed=3, outage_period=1.0, outage_duration=0.5) as demo:
        address = target(demo, "ap-lobby")
        phases = ["answering", "silent", "answering again"]
        seen = 0  # how many phases have been observed, in order
        states: set[bool] = set()
        other_agent_rc = None
        for _ in range(300):
            rc, _out, _err = await net_snmp(
                "snmpget", "-v2c", "-c", "public", "-t", "0.2", "-r", "0", address, SYS_UPTIME
            )
            states.add(demo.agent("ap-lobby").running)
            if (rc == 0) == (phases[seen] != "silent"):
                seen += 1
            if phases[seen - 1] == "silent" and other_agent_rc is None:
                other_agent_rc, _out, _err = await snmp("snmpget", demo, "core-sw1", SYS_UPTIME)
            if seen == len(phases) and states == {True, False}:
                break

    assert phases[:seen] == phases
    assert states == {True, False}
    assert other_agent_rc == 0  # the other agents answer during the outage


async def test_outages_can_be_disabled_and_are_validated() -> None:
    assert not DemoFleet(outage_duration=0.0).outage.is_off(59.9)
    with pytest.raises(ValueError, match="duration"):
        DemoFleet(outage_period=5.0, outage_duration=5.0)
    with pytest.raises(ValueError, match="period"):
        DemoFleet(outage_period=0.0)


# -- configuration and lifecycle ---------------------------------------------------------


@pytest.mark.asyncio(loop_scope="module")
async def test_config_points_one_v2c_device_at_each_agent(fleet: DemoFleet) -> None:
    config = fleet.config

    assert isinstance(config, Config)
    assert [device.name for device in config.devices] == ["core-sw1", "ap-lobby", "ups-1"]
    for device, info in zip(config.devices, fleet.agents, strict=True):
        snmp_config = device.snmp
        assert snmp_config is not None
        assert (snmp_config.remote_host, snmp_config.remote_port) == ("127.0.0.1", info.port)
        assert snmp_config.version == "V2C"
        assert snmp_config.community == READ_COMMUNITY == Secret("public")
        assert snmp_config.polling_delay <= 1.0
        assert snmp_config.request_timeout <= 0.5
        assert snmp_config.request_retry_count == 1
        assert snmp_config.connect_delay <= 2.0
        oids = snmp_config.polling_oids
        assert len(set(oids)) == len(oids)
        assert all(re.fullmatch(r"1(\.\d+)+", oid) for oid in oids)
        assert {f"{SYSTEM}.{n}.0" for n in range(1, 7)} <= set(oids)
        assert "1.3.6.1.2.1.2.1.0" in oids  # ifNumber
        assert f"{IF_TABLE}.1.8.1" in oids  # ifOperStatus.1
        assert snmp_config.string_hex_oids == {
            f"{IF_TABLE}.1.6.{i}"
            for i in range(1, len([o for o in oids if o.startswith(f"{IF_TABLE}.1.2.")]) + 1)
        }
    switch, _ap, ups = (d.snmp for d in config.devices)
    assert switch is not None
    assert ups is not None
    assert f"{IF_HC_IN_OCTETS}.1" in switch.polling_oids
    assert {"1.3.6.1.2.1.33.1.2.7.0", "1.3.6.1.2.1.33.1.4.4.1.5.1"} <= set(ups.polling_oids)


async def test_config_and_ports_exist_only_once_started() -> None:
    demo = DemoFleet()
    with pytest.raises(RuntimeError):
        _ = demo.config
    assert all(info.port == 0 and not info.running for info in demo.agents)
    await demo.aclose()
    with pytest.raises(RuntimeError):
        await demo.start()


@pytest.mark.peer("net-snmp tools")
async def test_aclose_releases_sockets_and_tasks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        demo = DemoFleet(seed=1)
        await demo.start()
        await get(demo, "core-sw1", SYS_UPTIME)
        infos = demo.agents
        await demo.aclose()
        await demo.aclose()  # idempotent
        gc.collect()

    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert not any(info.running for info in demo.agents)
    for info in infos:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((info.host, info.port))  # the port is free again
    assert READ_COMMUNITY.reveal() not in caplog.text
    assert WRITE_COMMUNITY.reveal() not in caplog.text


@pytest.mark.asyncio(loop_scope="module")
async def test_pysnmp_manager_in_the_same_loop_reads_the_agent(fleet: DemoFleet) -> None:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    engine = SnmpEngine()
    try:
        info = fleet.agent("ap-lobby")
        transport = await UdpTransportTarget.create((info.host, info.port), timeout=2, retries=1)
        error_indication, error_status, _index, var_binds = await get_cmd(
            engine,
            CommunityData(READ_COMMUNITY.reveal(), mpModel=1),
            transport,
            ContextData(),
            ObjectType(ObjectIdentity("1.3.6.1.4.1.32473.2.1.1.0")),
            lookupMib=False,
        )
    finally:
        engine.close_dispatcher()

    assert error_indication is None
    assert not error_status
    assert var_binds[0][1].__class__.__name__ == "Gauge32"


# -- the models' clock-driven values (no network) --------------------------------------


def spec(device: DeviceModel, oid: str) -> ObjectSpec:
    return next(s for s in device.objects if oid_text(s.oid) == oid)


def number(obj: ObjectSpec, t: float) -> int:
    value = obj.source(t)
    assert isinstance(value, int)
    return value


def test_switch_uplink_counter32_wraps_while_counter64_keeps_growing() -> None:
    switch = core_switch(random.Random(5))
    in32, in64 = spec(switch, f"{IF_TABLE}.1.10.1"), spec(switch, f"{IF_HC_IN_OCTETS}.1")
    samples = [(number(in32, t), number(in64, t)) for t in range(200)]

    low = [value for value, _ in samples]
    high = [value for _, value in samples]
    assert all(0 <= value < 2**32 for value in low)
    assert any(b < a for a, b in itertools.pairwise(low)), "Counter32 never wrapped"
    assert all(b > a for a, b in itertools.pairwise(high))
    assert all(value % 2**32 == low[i] for i, value in enumerate(high))


def test_access_point_radio_flaps_and_its_counters_stall_while_down() -> None:
    ap = access_point(random.Random(5))
    status, octets = spec(ap, f"{IF_TABLE}.1.8.3"), spec(ap, f"{IF_TABLE}.1.10.3")
    times = [t / 2 for t in range(200)]
    down = [t for t in times if status.source(t) == 2]

    assert 0 < len(down) < len(times)
    for t in down:
        if status.source(t + 0.4) == 2:
            assert octets.source(t + 0.4) == octets.source(t)


def test_signals_are_monotonic_bounded_and_consistent() -> None:
    rng = random.Random(11)
    counter = Counter(1000.0, start=5, swing=0.9, period=7.0, phase=1.0)
    wander = Wander.seeded(rng, 10, 20, 30.0)
    window = Window(10.0, 3.0, offset=4.0)
    times = [t / 10 for t in range(1000)]

    values = [counter(t) for t in times]
    assert values[0] == 5
    assert values == sorted(values)
    assert all(10 <= wander(t) <= 20 for t in times)
    on = [window.on_time(t) for t in times]
    assert on == sorted(on)
    assert window.off_time(100.0) == pytest.approx(30.0)
    for (before, after), t in zip(itertools.pairwise(on), times, strict=False):
        if window.is_off(t) and window.is_off(t + 0.1):
            assert after == pytest.approx(before)
    with pytest.raises(ValueError, match="swing"):
        Counter(1.0, swing=1.0)
    with pytest.raises(ValueError, match="duration"):
        Window(1.0, 1.0)


def test_demo_config_has_alarm_rules_and_monitors_that_validate() -> None:
    from console.demo.fleet import demo_config

    rng = random.Random(7)
    devices = [(core_switch(rng), "127.0.0.1", 16100), (access_point(rng), "127.0.0.1", 16101)]
    with_mqtt = demo_config(devices, mqtt_port=1883)
    assert [rule.name for rule in with_mqtt.alarms.rules] == ["link-down", "on-battery", "room-hot"]
    assert with_mqtt.alarms.rules[2].interface == "org.astarte-platform.genericsensors.Values"
    assert [monitor.name for monitor in with_mqtt.monitors] == ["traps", "sensor-7"]
    snmp_only = demo_config(devices)
    assert [monitor.name for monitor in snmp_only.monitors] == ["traps"]
    assert "room-hot" not in {rule.name for rule in snmp_only.alarms.rules}
