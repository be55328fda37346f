"""Collectors and consoles over a real mosquitto (``docs/distributed.md``).

Two ``fleettop collect`` processes (shards 1/2 and 2/2 of one configuration, the
second ``--read-only``) poll devices of one Debian ``snmpd`` and publish to a
mosquitto; consoles are :class:`~console.collect.remote.RemoteRuntime` s in the
test's loop (what ``fleettop attach`` runs). Waits are bounded by ``eventually``
(which only stops a hung test) except the STALE one, bounded by what the issue
promises: 1.5 x the collectors' keepalive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.collect.collector import Collector
from console.collect.link import BrokerLink, RemoteError, broker_from_url
from console.collect.namespace import (
    decode_segment,
    encode_segment,
    event_topic,
    parse_topic,
    shard_of,
)
from console.collect.remote import STALE, RemoteRuntime
from console.config import Config, StoreConfig
from console.events import Event
from console.runtime import Runtime
from tests.conftest import free_udp_port, require_program
from tests.mqtt_peers import Mosquitto, make_certificates
from tests.snmp_peers import Snmpd
from tests.waiting import eventually

pytestmark = [pytest.mark.peer("mosquitto"), pytest.mark.peer("snmpd")]

ROOT = Path(__file__).resolve().parent.parent
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SECRET = "s3cret-rw"
KEEPALIVE = 2
DEVICES = [f"dev{i}" for i in range(8)]
#: A device nobody answers for: DISCONNECTED, with its built-in alarm.
DEAD = "dead-1"
SNMPD_CONF = f"""\
rocommunity public 127.0.0.1
rwcommunity {SECRET} 127.0.0.1
dontLogTCPWrappersConnects yes
"""


def dead_device_yaml(name: str) -> list[str]:
    """A device entry whose agent never answers (a free UDP port), as YAML lines."""
    return [
        f"  - name: {name}",
        "    snmp:",
        "      remote_host: 127.0.0.1",
        f"      remote_port: {free_udp_port()}",
        "      version: V2C",
        "      community: public",
        "      request_timeout: 0.3",
        "      request_retry_count: 0",
        "      polling_delay: 0.5",
        f"      polling_oids: [{SYS_UPTIME}]",
    ]


def fleet_yaml(port: int) -> str:
    lines = ["devices:", *dead_device_yaml(DEAD)]
    for name in DEVICES:
        lines += [
            f"  - name: {name}",
            "    snmp:",
            "      remote_host: 127.0.0.1",
            f"      remote_port: {port}",
            "      version: V2C",
            "      community: public",
            f"      write_community: {SECRET}",
            "      polling_delay: 0.5",
            f"      polling_oids: [{SYS_UPTIME}, {SYS_CONTACT}]",
        ]
    return "\n".join(lines) + "\n"


class Collectors:
    """``fleettop collect`` processes, started and killed by name."""

    def __init__(self, workdir: Path, config: Path, url: str) -> None:
        self.workdir, self.config, self.url = workdir, config, url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.args: dict[str, list[str]] = {}

    def start(self, name: str, *extra: str) -> None:
        self.args.setdefault(name, list(extra))
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "console.cli",
                "collect",
                str(self.config),
                "--broker",
                self.url,
                "--name",
                name,
                "--keepalive",
                str(KEEPALIVE),
                *self.args[name],
            ],
            cwd=ROOT,
            env={**os.environ, "FLEETTOP_DATA_DIR": str(self.workdir)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.processes.clear()

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[Snmpd]:
    with Snmpd(tmp_path / "snmpd", SNMPD_CONF) as agent:
        yield agent


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


@pytest.fixture
def collectors(tmp_path: Path, snmpd: Snmpd, broker: Mosquitto) -> Iterator[Collectors]:
    config = tmp_path / "fleet.yaml"
    config.write_text(fleet_yaml(snmpd.port))
    running = Collectors(tmp_path, config, f"mqtt://127.0.0.1:{broker.port}")
    running.start("c1", "--shard", "1/2")
    running.start("c2", "--shard", "2/2", "--read-only")
    try:
        yield running
    finally:
        running.stop_all()


@contextlib.asynccontextmanager
async def console(broker: Mosquitto) -> AsyncIterator[RemoteRuntime]:
    runtime = RemoteRuntime(broker_from_url(f"mqtt://127.0.0.1:{broker.port}"))
    try:
        await runtime.start()
        yield runtime
    finally:
        await runtime.aclose()


def status(runtime: RemoteRuntime, device: str) -> str | None:
    event = runtime.bus.latest(("snmp", device, "status"))
    if event is None or not isinstance(event.payload, dict):
        return None
    return str(event.payload.get("status"))


def owned(name: str, devices: list[str] = DEVICES) -> list[str]:
    return [d for d in devices if shard_of(d, 2) == int(name[1:])]


def all_online(runtime: RemoteRuntime) -> bool:
    return all(
        runtime.collectors.get(c) is not None and runtime.collectors[c].online for c in ("c1", "c2")
    ) and all(status(runtime, d) == "CONNECTED" for d in DEVICES)


# -- the namespace ----------------------------------------------------------------------


def test_segments_round_trip_through_topic_levels() -> None:
    """An Astarte path or a ``+``/``#`` is one level; every segment comes back."""
    segments = ("mqtt", "dev/1", "property", "org.x.Y", "/s1/enable", "a+b#c%d", "")
    assert [decode_segment(encode_segment(s)) for s in segments] == list(segments)
    topic = event_topic("c1", segments)
    assert "+" not in topic
    assert "#" not in topic
    assert topic.count("/") == 3 + len(segments)
    parsed = parse_topic(topic)
    assert parsed == ("c1", "event", segments)


def test_shards_split_the_devices_and_agree() -> None:
    """Rendezvous hashing: every name has exactly one shard, the same everywhere,
    and going from 2 to 3 shards moves only names to the new shard."""
    names = [f"device-{i}" for i in range(300)]
    two = {name: shard_of(name, 2) for name in names}
    three = {name: shard_of(name, 3) for name in names}
    assert set(two.values()) == {1, 2}
    assert all(three[n] in (two[n], 3) for n in names)
    assert 60 < sum(1 for n in names if three[n] == 3) < 140


def test_credentials_never_come_from_the_command_line() -> None:
    with pytest.raises(ValueError, match="never go on the command line"):
        broker_from_url("mqtt://ops:hunter2@127.0.0.1:1883")


# -- collectors and consoles ----------------------------------------------------------


async def test_two_collectors_and_consoles(
    collectors: Collectors, broker: Mosquitto, tmp_path: Path
) -> None:
    """Shards 1/2 and 2/2: every device once; a late console has the state at once;
    a set round-trips with its audit entry; the read-only collector refuses; kill -9
    -> STALE within 1.5 x keepalive, the other collector unaffected; restart ->
    current; a broker restart -> everyone reconnects."""
    async with console(broker) as first:
        await eventually(lambda: all_online(first), within=30)
        # every device appears exactly once, owned by the shard its name picks
        announced = {c: first.collectors[c].status["devices"] for c in ("c1", "c2")}
        everything = [DEAD, *DEVICES]
        assert sorted(announced["c1"] + announced["c2"]) == sorted(everything)
        assert announced == {"c1": owned("c1", everything), "c2": owned("c2", everything)}
        assert first.owners == {d: f"c{shard_of(d, 2)}" for d in everything}
        # one writer per store: a second collector on c1's store is refused at start
        again = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "console.cli", "collect", str(collectors.config),
             "--broker", collectors.url, "--name", "c1"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "FLEETTOP_DATA_DIR": str(tmp_path)},
        )  # fmt: skip
        assert again.returncode == 2
        assert "fleettop-c1.db" in again.stderr
        assert "Traceback" not in again.stderr
        # no secret crosses to the console
        retained = await retained_dump(broker)
        assert "fleettop/v1/c1/device/" in retained
        assert SECRET not in retained
        assert "public" not in retained

        # a console attaching now has the current state when it is ready
        async with console(broker) as late:
            assert {d: status(late, d) for d in DEVICES} == dict.fromkeys(DEVICES, "CONNECTED")
            assert all(late.bus.latest(("snmp", d, "read", SYS_UPTIME)) for d in DEVICES)
            assert sorted(d.name for d in late.config.devices) == sorted(everything)

        # a set round-trips, audited with the operator's identity by the collector
        target = owned("c1")[0]
        audits: list[Event] = []
        first.bus.subscribe(("audit", "?", "*"), audits.append)
        data = {"type": "STRING", "value": "noc@example.net"}
        result = await first.remote_devices[target].write(SYS_CONTACT, data, session_id="s-1")
        assert result["success"] is True
        assert result["data"] == data
        await eventually(lambda: audits)
        entry = audits[0].payload
        assert isinstance(entry, dict)
        assert entry["actor"] == first.identity
        assert "@" in first.identity
        assert (entry["action"], entry["device"], entry["target"]) == (
            "snmp.set",
            target,
            SYS_CONTACT,
        )
        await eventually(lambda: read_value(first, target) == "noc@example.net")
        # history is the console's own cache, fed by the stream (docs/distributed.md):
        # the write and its audit entry are in its notification center, none replayed
        center = first.notifications
        assert center is not None
        await eventually(
            lambda: (
                {("snmp", target, "write", SYS_CONTACT), ("audit", target, "snmp.set")}
                <= {entry.event_type for entry in center.entries}
            )
        )
        assert not center.persistent
        assert not any(entry.history for entry in center.entries)

        # the read-only collector refuses, with the reason
        other = owned("c2")[0]
        with pytest.raises(RemoteError, match="read-only mode"):
            await first.remote_devices[other].write(SYS_CONTACT, data)
        # reads work there, and come back on the bus
        answer = await first.remote_devices[other].read(SYS_CONTACT, session_id="r-1")
        assert answer["cause"] == "REQUESTED"

        # a walk streams back in chunks; a polling change comes back as the new list
        rows = [row async for row in first.remote_devices[other].walk("1.3.6.1.2.1.1")]
        assert [oid for oid, _ in rows][:1] == ["1.3.6.1.2.1.1.1.0"]
        assert all(oid.startswith("1.3.6.1.2.1.1.") for oid, _ in rows)
        assert len(rows) >= 7
        sys_name = "1.3.6.1.2.1.1.5.0"
        assert first.remote_devices[other].add_polling_oid("." + sys_name) == sys_name
        await eventually(lambda: sys_name in first.remote_devices[other].polling_oids)
        assert first.remote_devices[other].remove_polling_oid(sys_name) is True
        await eventually(lambda: sys_name not in first.remote_devices[other].polling_oids)

        # an alarm of a collector, acknowledged from the console
        def dead_alarm() -> dict[str, Any] | None:
            for event in first.bus.snapshot(("alarm", DEAD, "?")):
                if isinstance(event.payload, dict):
                    return event.payload
            return None

        await eventually(lambda: dead_alarm() is not None)
        alarm = dead_alarm()
        assert alarm is not None
        assert alarm["acked"] is False
        assert first.alarms is not None
        assert first.alarms.ack(int(alarm["id"])) is not None
        await eventually(lambda: (dead_alarm() or {}).get("acked") is True)

        # the owning collector audits the acknowledgement with the console's identity
        def ack_entries() -> list[dict[str, Any]]:
            return [
                event.payload
                for event in audits
                if event.type == ("audit", DEAD, "alarm.ack") and isinstance(event.payload, dict)
            ]

        await eventually(ack_entries)
        ack_entry = ack_entries()[0]
        assert ack_entry["actor"] == first.identity
        assert str(ack_entry["target"]).endswith(f" #{alarm['id']}")
        new = ack_entry["new"]
        assert isinstance(new, dict)
        assert new["acked"] is True

        # kill -9: the broker sends c1's Last Will; its devices turn STALE, c2's stay
        collectors.kill("c1")
        await eventually(
            lambda: all(status(first, d) == STALE for d in owned("c1")),
            within=1.5 * KEEPALIVE + 1,
        )
        assert all(status(first, d) == "CONNECTED" for d in owned("c2"))
        reason = first.bus.latest(("snmp", target, "status"))
        assert reason is not None
        assert isinstance(reason.payload, dict)
        assert "collector c1 offline since" in str(reason.payload["reason"])
        assert first.bus.latest(("snmp", target, "read", SYS_UPTIME)) is not None
        with pytest.raises(RemoteError, match="offline"):
            await first.remote_devices[target].read(SYS_UPTIME)
        # a console attaching meanwhile shows them STALE too (the retained Will)
        async with console(broker) as late:
            assert all(status(late, d) == STALE for d in owned("c1"))
            assert all(status(late, d) == "CONNECTED" for d in owned("c2"))

        # restart: current again
        collectors.start("c1")
        await eventually(lambda: all_online(first), within=30)

        # broker restart (no persistence: the retained state is gone): collectors
        # and the console reconnect, the collectors publish their state again
        connections = first.link.connections
        broker.stop()
        broker.start()
        await eventually(lambda: first.link.connections > connections, within=30)
        async with console(broker) as late:
            await eventually(lambda: all_online(late), within=30)
        seq = first.bus.published
        await eventually(
            lambda: any(
                e.seq > seq for d in DEVICES if (e := first.bus.latest(("snmp", d, "poll")))
            )
        )


async def retained_dump(broker: Mosquitto) -> str:
    """What ``mosquitto_sub`` (an independent reader) gets of the namespace in 1 s."""
    process = await asyncio.create_subprocess_exec(
        require_program("mosquitto_sub"),
        *broker.client_args(),
        "-t",
        "fleettop/v1/#",
        "-v",
        "-W",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace")


def read_value(runtime: RemoteRuntime, device: str) -> object:
    event = runtime.bus.latest(("snmp", device, "read", SYS_CONTACT))
    if event is None or not isinstance(event.payload, dict):
        return None
    data = event.payload.get("data")
    return data.get("value") if isinstance(data, dict) else None


def test_collect_refuses_credentials_and_bad_shards(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(fleet_yaml(161))
    for args, message in (
        (["--broker", "mqtt://u:p@127.0.0.1"], "never go on the command line"),
        (["--broker", "mqtt://127.0.0.1", "--shard", "3/2"], "K/N with 1 <= K <= N"),
        (["--broker", "http://127.0.0.1"], "use mqtt://"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "console.cli", "collect", str(config), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "FLEETTOP_DATA_DIR": str(tmp_path)},
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr


# -- the terminal UI over the broker ------------------------------------------------------


async def test_attached_console_shows_every_device_and_the_stale_ones(
    collectors: Collectors, broker: Mosquitto
) -> None:
    """``fleettop attach``'s app: one Devices row per device across both collectors,
    with the status each collector reports; after kill -9 of c1 its rows say STALE
    with the reason, c2's rows are unchanged; the OIDs of a stale device keep their
    last values."""
    from console.app import FleettopApp
    from tests.ui_helpers import cell, devices_screen, wait_for
    from widgets.device_table import DeviceTable

    url = f"mqtt://127.0.0.1:{broker.port}"
    async with console(broker) as probe:  # both collectors polling before the app
        await eventually(lambda: all_online(probe), within=30)
    app = FleettopApp(runtime_factory=lambda: RemoteRuntime(broker_from_url(url)))
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)

        def statuses() -> dict[str, str]:
            return {d: cell(table, d, "status") for d in DEVICES if d in table.rows}

        await wait_for(
            pilot,
            lambda: statuses() == dict.fromkeys(DEVICES, "CONNECTED"),
            "every device connected",
        )
        assert table.row_count == len(DEVICES) + 1  # and the dead device
        collectors.kill("c1")
        await wait_for(
            pilot,
            lambda: all(statuses()[d] == STALE for d in owned("c1")),
            "c1's devices stale",
            attempts=int((1.5 * KEEPALIVE + 1) / 0.02),
        )
        assert all(statuses()[d] == "CONNECTED" for d in owned("c2"))
        assert "collector c1 offline since" in cell(table, owned("c1")[0], "reason")
        assert table.row_count == len(DEVICES) + 1  # and the dead device


async def test_distributed_demo_shows_the_demo_fleet_through_two_collectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleettop demo --distributed``: the app over two in-process collectors and an
    embedded mosquitto shows every demo device once, owned by the collector its
    shard names, with the statuses they report."""
    from console.app import FleettopApp
    from console.collect.demo import DistributedDemo
    from tests.ui_helpers import cell, devices_screen, wait_for
    from widgets.device_table import DeviceTable

    require_program("mosquitto")
    monkeypatch.setenv("FLEETTOP_DATA_DIR", str(tmp_path))
    app = FleettopApp(runtime_factory=DistributedDemo)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await devices_screen(pilot)
        runtime = app.runtime
        assert isinstance(runtime, DistributedDemo)
        table = screen.query_one(DeviceTable)
        snmp = ("core-sw1", "ap-lobby", "ups-1")
        await wait_for(
            pilot,
            lambda: all(d in table.rows and cell(table, d, "status") == "CONNECTED" for d in snmp),
            "the demo's SNMP devices connected",
            attempts=1500,
        )
        assert {d: runtime.owners[d] for d in snmp} == {
            d: ("east", "west")[shard_of(d, 2) - 1] for d in snmp
        }
        assert sorted(runtime.collectors) == ["east", "west"]

        # MQTT actions go to the collector that holds the broker's connection
        fleet = runtime.remote_mqtt
        rate = "org.astarte-platform.genericsensors.SamplingRate"
        await wait_for(
            pilot,
            lambda: (
                rate in fleet.interfaces
                and "demo-broker" in fleet.connections
                and fleet.devices.get("thermostat-1") is not None
                and fleet.devices["thermostat-1"].astarte_base is not None
            ),
            "the demo broker, its devices and interfaces",
            attempts=1500,
        )
        published = await fleet.publish("demo-broker", "site/console/hello", b"hi", 1)
        assert published.success is True
        # the Topics screen's retained cleanup publishes through the broker's
        # connection: here a request to the collector holding it
        from console.explorer.retained import clear_retained

        kept = await fleet.publish("demo-broker", "site/console/kept", b"x", 1, True)
        assert kept.success is True
        cleared = await clear_retained(
            fleet.connections["demo-broker"].publish, ["site/console/kept"]
        )
        assert (cleared.cleared, cleared.failed) == (["site/console/kept"], [])
        done = await fleet.set("thermostat-1", rate, "/s1/samplingPeriod", 5, session_id="m-1")
        assert done.success is True
        await wait_for(
            pilot,
            lambda: any(
                isinstance(e.payload, dict) and e.payload.get("session_id") == "m-1"
                for e in runtime.bus.snapshot(("audit", "thermostat-1", "*"))
            ),
            "the set's audit entry",
        )
        entry = runtime.bus.latest(("audit", "thermostat-1", "mqtt.set"))
        assert entry is not None
        assert isinstance(entry.payload, dict)
        assert entry.payload["actor"] == runtime.identity
        assert (tmp_path / "demo-east.db").exists()
        assert (tmp_path / "demo-west.db").exists()


# -- security: the documented ACL, credentials, TLS ------------------------------------------


def acl_recipe() -> str:
    """The ACL of docs/distributed.md, as documented (the test runs the doc's text)."""
    doc = (ROOT / "docs" / "distributed.md").read_text()
    start = doc.index("# one block per collector account")
    return doc[start : doc.index("```", start)]


@contextlib.asynccontextmanager
async def collector_in_process(url: str, name: str) -> AsyncIterator[Collector]:
    """A collector with no devices, in the test's loop (credentials from the env)."""
    config = Config(store=StoreConfig(enabled=False))
    running = Collector(Runtime(config), broker_from_url(url, config), name=name)
    try:
        await running.start()
        await eventually(lambda: running.link.connected.is_set())
        yield running
    finally:
        await running.aclose()


async def test_the_documented_acl_lets_operators_act_and_viewers_only_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the ACL recipe, users from the environment (never the command line): the
    collector publishes its namespace; a viewer sees it but its requests are dropped
    (a timeout); an operator's request is answered."""
    acl = tmp_path / "acl"
    acl.write_text(acl_recipe())
    users = {"east": "pw-east", "viewer": "pw-viewer", "alice": "pw-alice"}
    with Mosquitto(tmp_path / "broker", users=users, extra=[f"acl_file {acl}"]) as broker:
        url = f"mqtt://127.0.0.1:{broker.port}"
        monkeypatch.setenv("FLEETTOP_MQTT_USERNAME", "east")
        monkeypatch.setenv("FLEETTOP_MQTT_PASSWORD", "pw-east")
        async with collector_in_process(url, "east"):
            for user, answered in (("viewer", False), ("alice", True)):
                monkeypatch.setenv("FLEETTOP_MQTT_USERNAME", user)
                monkeypatch.setenv("FLEETTOP_MQTT_PASSWORD", users[user])
                runtime = RemoteRuntime(broker_from_url(url), request_timeout=1.0)
                try:
                    await runtime.start()
                    await eventually(lambda r=runtime: "east" in r.collectors)  # type: ignore[misc]
                    assert runtime.collectors["east"].online
                    assert runtime.identity == user
                    ack = runtime.request_to("east", "alarm.ack", {"ids": []})
                    if answered:
                        assert await ack == 0
                    else:
                        with pytest.raises(RemoteError, match=r"no answer to alarm\.ack"):
                            await ack
                finally:
                    await runtime.aclose()
        # a wrong password: the link says why, and never shows the password
        monkeypatch.setenv("FLEETTOP_MQTT_USERNAME", "alice")
        monkeypatch.setenv("FLEETTOP_MQTT_PASSWORD", "wrong-password")
        link = BrokerLink(broker_from_url(url))
        link.start()
        try:
            await eventually(lambda: link.last_error is not None)
            assert "refused" in str(link.last_error)
            assert "wrong-password" not in str(link.last_error)
        finally:
            await link.aclose()


async def test_tls_verifies_the_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mqtts:// verifies the broker's certificate: with its CA the link connects, with
    another CA it is rejected with the reason."""
    certificates = make_certificates(tmp_path / "certs")
    with Mosquitto(tmp_path / "broker", certificates=certificates) as broker:
        url = f"mqtts://127.0.0.1:{broker.port}"
        for ca, connects in ((certificates.ca, True), (certificates.other_ca, False)):
            monkeypatch.setenv("FLEETTOP_MQTT_CA", str(ca))
            link = BrokerLink(broker_from_url(url))
            link.start()
            try:
                if connects:
                    await eventually(lambda lk=link: lk.connected.is_set())  # type: ignore[misc]
                else:
                    await eventually(lambda lk=link: lk.last_error is not None)  # type: ignore[misc]
                    assert "TLS certificate rejected" in str(link.last_error)
                    assert not link.connected.is_set()
            finally:
                await link.aclose()


async def test_a_broker_restart_loses_no_event(
    tmp_path: Path, snmpd: Snmpd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker restarts while a collector polls: the poll events published while
    it was away (QoS 1, queued by the collector's client) reach the console once both
    are connected again: their ``polls`` counter has no gap. The collector is paused
    (SIGSTOP) until the console is back, so the console cannot catch them by luck."""
    config = tmp_path / "fleet.yaml"
    config.write_text(fleet_yaml(snmpd.port))
    with Mosquitto(tmp_path / "broker") as broker:
        running = Collectors(tmp_path, config, f"mqtt://127.0.0.1:{broker.port}")
        running.start("c1")
        try:
            async with console(broker) as first:
                polls: list[int] = []

                def on_poll(event: Event) -> None:
                    if isinstance(event.payload, dict):
                        polls.append(int(str(event.payload["polls"])))

                first.bus.subscribe(("snmp", DEVICES[0], "poll"), on_poll)
                await eventually(lambda: len(polls) >= 3, within=30)
                connections = first.link.connections
                broker.stop()
                before = max(polls)
                await asyncio.sleep(2.0)  # the collector polls on, the broker is away
                collector = running.processes["c1"]
                collector.send_signal(signal.SIGSTOP)
                try:
                    broker.start()
                    await eventually(lambda: first.link.connections > connections, within=30)
                finally:
                    collector.send_signal(signal.SIGCONT)
                await eventually(lambda: max(polls) >= before + 8, within=30)
                seen = sorted(set(polls))
                missing = sorted(set(range(seen[0], seen[-1] + 1)) - set(seen))
                assert missing == [], f"poll events lost across the restart: {missing}"
        finally:
            running.stop_all()


# -- traps across shards ------------------------------------------------------------------


def traps_yaml(ports: dict[str, int]) -> str:
    listen = f"127.0.0.1:{free_udp_port()}"
    lines = ["traps:", f'  listen: "{listen}"', '  communities: ["public"]', "devices:"]
    for name, port in ports.items():
        lines += [
            f"  - name: {name}",
            "    snmp:",
            "      remote_host: 127.0.0.1",
            f"      remote_port: {port}",
            "      version: V2C",
            "      community: public",
            "      polling_delay: 30",
            f"      polling_oids: [{SYS_UPTIME}]",
        ]
    return "\n".join(lines) + "\n" + "store:\n  enabled: false\n"


async def test_a_trap_from_another_shards_device_shows_its_name(broker: Mosquitto) -> None:
    """Two collectors (1/2, 2/2); only the shard ``@traps`` picks receives traps. A
    TRAP sent from the agent port of a device the *other* shard polls reaches the
    console under the device's name (not ``@127.0.0.1``), and the device still
    belongs to the collector that polls it (its requests go there)."""
    from console.collect.collector import collector_runtime
    from console.config import parse_config
    from console.demo.traps import v2c_trap
    from console.secrets import Secret

    receiving = shard_of("@traps", 2)
    names = [f"agent-{i}" for i in range(12)]
    foreign = next(n for n in names if shard_of(n, 2) != receiving)
    sockets = {n: socket_on_loopback() for n in names}
    try:
        ports = {n: s.getsockname()[1] for n, s in sockets.items()}
        config = parse_config(traps_yaml(ports))
        url = f"mqtt://127.0.0.1:{broker.port}"
        running: list[Collector] = []
        try:
            for k in (1, 2):
                collector = Collector(
                    collector_runtime(config, (k, 2)),
                    broker_from_url(url),
                    name=f"c{k}",
                    shard=(k, 2),
                )
                running.append(collector)
                await collector.start()
            receiver = running[receiving - 1].runtime.trap_receiver
            assert receiver is not None
            assert running[2 - receiving].runtime.trap_receiver is None
            async with console(broker) as viewer:
                await eventually(lambda: foreign in viewer.owners and len(viewer.collectors) == 2)
                trap_oid = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)  # linkDown
                sockets[foreign].sendto(v2c_trap(Secret("public"), trap_oid, 100), receiver.address)
                pattern = ("snmp", "?", "trap", "*")
                await eventually(lambda: viewer.bus.snapshot(pattern) != [])
                traps = viewer.bus.snapshot(pattern)
                assert [e.type[1] for e in traps] == [foreign]
                assert viewer.owners[foreign] == f"c{3 - receiving}"
        finally:
            for collector in running:
                await collector.aclose()
    finally:
        for s in sockets.values():
            s.close()


def socket_on_loopback() -> Any:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# -- a prompt, clean stop under load ------------------------------------------------------


def loaded_yaml(port: int, store: Path, count: int = 40) -> str:
    lines = ["devices:"]
    for i in range(count):
        lines += [
            f"  - name: load{i:03d}",
            "    snmp:",
            "      remote_host: 127.0.0.1",
            f"      remote_port: {port}",
            "      version: V2C",
            "      community: public",
            "      polling_delay: 0.2",
            f"      polling_oids: [{SYS_UPTIME}, {SYS_CONTACT}, 1.3.6.1.2.1.1.5.0]",
        ]
    return "\n".join(lines) + f"\nstore:\n  path: {store}\n"


async def test_sigterm_stops_a_loaded_collector_cleanly(
    tmp_path: Path, snmpd: Snmpd, broker: Mosquitto
) -> None:
    """SIGTERM to a collector polling 40 devices every 0.2 s into its store: it exits
    with 0, a console sees it offline (its retained status), the store file passes
    SQLite's integrity check with the polled values in it, and its lock is free (a
    new writer may open it)."""
    import sqlite3

    from console.store.lock import check_not_in_use

    store = tmp_path / "c1.db"
    config = tmp_path / "fleet.yaml"
    config.write_text(loaded_yaml(snmpd.port, store))
    running = Collectors(tmp_path, config, f"mqtt://127.0.0.1:{broker.port}")
    running.start("c1")
    try:
        async with console(broker) as viewer:
            polled: set[str] = set()
            viewer.bus.subscribe(("snmp", "?", "poll"), lambda e: polled.add(e.type[1]))
            await eventually(lambda: len(polled) == 40, within=60)
            process = running.processes.pop("c1")
            process.send_signal(signal.SIGTERM)
            import time as _t

            _t0 = _t.monotonic()
            code = await asyncio.to_thread(process.wait, 30)  # only stops a hang
            assert code == 0, running.log("c1")
            await eventually(lambda: not viewer.collectors["c1"].online)
            assert viewer.collectors["c1"].status["status"] == "offline"
    finally:
        running.stop_all()
    assert "Traceback" not in running.log("c1")
    check_not_in_use(store)  # raises while another process holds the store
    with sqlite3.connect(store) as conn:
        assert [row[0] for row in conn.execute("PRAGMA integrity_check")] == ["ok"]
        stored = conn.execute("SELECT COUNT(*) FROM properties").fetchone()[0]
    assert stored >= 40


# -- a console on a part of the fleet -------------------------------------------------------


async def test_a_console_follows_one_collector_or_some_devices(
    collectors: Collectors, broker: Mosquitto
) -> None:
    """``attach --collector c2``: only c2's status, devices and events reach the
    console (the broker sends nothing of c1); ``attach --device 'dev[01]'``: only
    those two devices' (both collectors still known)."""
    url = f"mqtt://127.0.0.1:{broker.port}"
    async with console(broker) as everything:  # both collectors polling first
        await eventually(lambda: all_online(everything), within=30)
    mine = RemoteRuntime(broker_from_url(url), collectors=["c2"])
    some = RemoteRuntime(broker_from_url(url), devices=["dev[01]"])
    try:
        await mine.start()
        await some.start()
        await eventually(lambda: all(status(mine, d) == "CONNECTED" for d in owned("c2")))
        await eventually(lambda: all(status(some, d) == "CONNECTED" for d in DEVICES[:2]))
        assert list(mine.collectors) == ["c2"]
        assert set(mine.owners) == set(owned("c2", [DEAD, *DEVICES]))
        polled = {e.type[1] for e in mine.bus.snapshot(("snmp", "?", "poll"))}
        assert polled <= set(owned("c2", [DEAD, *DEVICES]))
        assert sorted(some.collectors) == ["c1", "c2"]
        assert sorted(some.owners) == DEVICES[:2]
        assert {e.type[1] for e in some.bus.snapshot(("snmp", "?", "*"))} == set(DEVICES[:2])
    finally:
        await mine.aclose()
        await some.aclose()


# -- alarms of several collectors ---------------------------------------------------------


async def test_alarms_of_two_collectors_keep_apart_on_a_console(broker: Mosquitto) -> None:
    """Each collector numbers its alarms from 1: a dead device on each shard raises
    alarm #1 on both. The console shows two alarms (its own ids), and acknowledging
    both reaches each collector with its own id."""
    from console.collect.collector import collector_runtime
    from console.config import parse_config

    names = [f"gone-{i}" for i in range(12)]
    dead = [next(n for n in names if shard_of(n, 2) == k) for k in (1, 2)]
    lines = ["devices:"]
    for name in dead:
        lines += dead_device_yaml(name)
    config = parse_config("\n".join(lines) + "\nstore:\n  enabled: false\n")
    url = f"mqtt://127.0.0.1:{broker.port}"
    running = [
        Collector(
            collector_runtime(config, (k, 2)), broker_from_url(url), name=f"c{k}", shard=(k, 2)
        )
        for k in (1, 2)
    ]
    try:
        for collector in running:
            await collector.start()
        async with console(broker) as viewer:

            def alarms() -> dict[str, dict[str, Any]]:
                return {
                    e.type[2]: e.payload
                    for e in viewer.bus.snapshot(("alarm", "?", "?"))
                    if isinstance(e.payload, dict)
                }

            await eventually(lambda: len(alarms()) == 2, within=30)
            shown = alarms()
            assert sorted(a["device"] for a in shown.values()) == sorted(dead)
            assert sorted(int(a["id"]) for a in shown.values()) == [1, 2]
            for collector in running:  # each collector's own alarm is its #1
                book = collector.runtime.alarms
                assert book is not None
                assert book.get(1) is not None
            assert viewer.alarms is not None
            assert viewer.alarms.ack_all([1, 2]) == 2
            await eventually(lambda: all(a.get("acked") is True for a in alarms().values()))
            for collector in running:
                book = collector.runtime.alarms
                assert book is not None
                alarm = book.get(1)
                assert alarm is not None
                assert alarm.acked_at is not None
    finally:
        for collector in running:
            await collector.aclose()
