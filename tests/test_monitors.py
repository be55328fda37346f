"""Monitors (console/notifications/monitors.py).

Against a real broker: Debian ``mosquitto`` on a free port, messages published by
``mosquitto_pub`` and received by fleettop's MqttFleet, delivered to monitors in
batches (sizes asserted exactly, timing only loosely: these are not speed tests).
Recording, rotation, rings and ``$`` topics on events published on a real bus.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from console.config import MonitorConfig, RecordConfig, load_config, parse_config
from console.events import EventManager
from console.mqtt.fleet import MqttFleet
from console.notifications.model import Category, Notification
from console.notifications.monitors import Monitor, MonitorSet, read_recording
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.payload_helpers import TEN_MB, held, message_payload, payload_bytes
from tests.waiting import eventually


class Batches:
    """Every batch a monitor delivered, with when it arrived (monotonic seconds)."""

    def __init__(self, monitor: Monitor) -> None:
        self.batches: list[list[Notification]] = []
        self.times: list[float] = []
        monitor.listen(self.add)

    def add(self, batch: list[Notification]) -> None:
        self.batches.append(batch)
        self.times.append(time.monotonic())

    @property
    def sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


async def fleet_on(broker: Mosquitto, bus: EventManager) -> MqttFleet:
    config = parse_config(
        "brokers:\n"
        "  - name: plant\n"
        "    host: 127.0.0.1\n"
        f"    port: {broker.port}\n"
        "    subscriptions: [{topic: '#'}]\n",
        environ={},
    )
    fleet = MqttFleet(config, bus)
    await fleet.start()
    await eventually(lambda: bool(bus.snapshot(("mqtt", "@plant", "subscribed"))))
    return fleet


def lines(count: int, prefix: str = "") -> bytes:
    return "".join(f"{prefix}{n}\n" for n in range(count)).encode()


# -- batching with a real broker ------------------------------------------------------------


async def test_batch_size_closes_batches(broker: Mosquitto, bus: EventManager) -> None:
    """25 messages published at once, batch_size 10: batches of at most 10 and, as the
    burst outruns a 2 s duration, full ones first; nothing lost, order kept."""
    fleet = await fleet_on(broker, bus)
    monitor = Monitor(
        bus, MonitorConfig(name="load", topics=("load/+",), batch_size=10, batch_duration=2.0)
    )
    batches = Batches(monitor)
    await monitor.start()
    try:
        await mosquitto_pub(broker, "-t", "load/a", "-l", stdin=lines(25))
        await mosquitto_pub(broker, "-t", "other/a", "-m", "not for this monitor")
        await eventually(lambda: sum(batches.sizes) == 25)
        assert max(batches.sizes) == 10
        assert batches.sizes[:2] == [10, 10]
        entries = [n for batch in batches.batches for n in batch]
        assert [n.category for n in entries] == [Category.MESSAGE] * 25
        assert [n.topic for n in entries] == ["load/a"] * 25
        assert [n.id for n in entries] == sorted(n.id for n in entries)
        assert list(monitor.entries) == entries
        stats = monitor.stats
        assert (stats.batches, stats.events, stats.dropped) == (len(batches.sizes), 25, 0)
    finally:
        await monitor.aclose()
        await fleet.aclose()


async def test_batch_duration_closes_batches(broker: Mosquitto, bus: EventManager) -> None:
    """3 messages, batch_size 1000, batch_duration 0.5 s: one batch, delivered about
    0.5 s after the first message reached the bus (loose bounds)."""
    fleet = await fleet_on(broker, bus)
    monitor = Monitor(
        bus, MonitorConfig(name="slow", topics=("slow/#",), batch_size=1000, batch_duration=0.5)
    )
    batches = Batches(monitor)
    await monitor.start()
    try:
        await mosquitto_pub(broker, "-t", "slow/x/y", "-l", stdin=lines(3))
        await eventually(lambda: sum(batches.sizes) == 3)
        assert batches.sizes == [3]
        (batch,) = batches.batches
        assert monitor.stats.last_batch_at is not None
        waited = monitor.stats.last_batch_at - batch[0].time
        assert 0.4 <= waited < 10
        await asyncio.sleep(0.6)
        assert batches.sizes == [3]  # no empty batches
    finally:
        await monitor.aclose()
        await fleet.aclose()


async def test_a_flooded_monitor_does_not_starve_another(
    broker: Mosquitto, bus: EventManager
) -> None:
    """A monitor on a flood topic with a tiny slow handler and drop_oldest, another on
    a quiet topic: the quiet one gets its message while the flood is still queued."""
    fleet = await fleet_on(broker, bus)
    monitors = MonitorSet(
        bus,
        [
            MonitorConfig(name="flood", topics=("flood/#",), batch_size=1, batch_duration=0),
            MonitorConfig(name="quiet", topics=("quiet/#",), batch_size=10, batch_duration=0.05),
        ],
    )
    flood, quiet = monitors.monitors["flood"], monitors.monitors["quiet"]
    gate = asyncio.Event()
    handle = flood._on_batch

    async def stuck(events: Any) -> None:
        await gate.wait()  # the flood's consumer is stuck until the gate opens
        await handle(events)

    flood._on_batch = stuck  # type: ignore[method-assign]
    before = len(bus.subscriptions)
    await monitors.start()
    assert len(bus.subscriptions) == before + 2  # one subscription per monitor
    flood_sub = flood.subscription
    assert flood_sub is not None
    quiet_batches = Batches(quiet)
    try:
        await mosquitto_pub(broker, "-t", "flood/a", "-l", stdin=lines(200))
        await eventually(lambda: len(flood_sub) > 0)
        await mosquitto_pub(broker, "-t", "quiet/a", "-m", "hello")
        await eventually(lambda: quiet_batches.sizes == [1])
        assert flood.stats.events <= 1  # still stuck on its first batch
        gate.set()
        await eventually(lambda: flood.stats.events == 200)
    finally:
        gate.set()
        await monitors.aclose()
        await fleet.aclose()


# -- recording --------------------------------------------------------------------------


async def test_recording_rotates_by_size_and_parses_back(bus: EventManager, tmp_path: Path) -> None:
    path = tmp_path / "rec" / "events.jsonl"
    config = MonitorConfig(
        name="rec",
        events=(("test", "*"),),
        batch_size=25,
        batch_duration=0,
        record=RecordConfig(path=path, max_bytes=4000, backups=2),
    )
    monitor = Monitor(bus, config)
    await monitor.start()
    assert monitor.recording == path
    published = [
        bus.publish(("test", "dev", str(n)), {"n": n, "text": 'quote " comma , é\nnewline'})
        for n in range(300)
    ]
    await bus.drain()
    await monitor.aclose()

    files = [path, path.with_name("events.jsonl.1"), path.with_name("events.jsonl.2")]
    assert all(f.exists() for f in files)
    assert not path.with_name("events.jsonl.3").exists()
    assert all(f.stat().st_size <= 4000 for f in files)
    records = [r for f in reversed(files) for r in read_recording(f)]
    assert monitor.stats.recorded == 300
    assert monitor.stats.record_error is None
    # the newest records, consecutive and complete, the oldest rotated away
    tail = published[-len(records) :]
    assert [r["id"] for r in records] == [e.seq for e in tail]
    assert records[-1]["payload"] == {"n": 299, "text": 'quote " comma , é\nnewline'}
    assert records[-1]["category"] == "event"
    assert records[-1]["type"] == "test/dev/299"
    assert all(line.isascii() for line in path.read_text("ascii").splitlines())
    assert len(path.read_text("ascii").splitlines()) == len(read_recording(path))


async def test_recording_without_backups_truncates(bus: EventManager, tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    config = MonitorConfig(
        name="one",
        events=(("test", "*"),),
        batch_size=10,
        batch_duration=0,
        record=RecordConfig(path=path, max_bytes=2000, backups=0),
    )
    monitor = Monitor(bus, config)
    await monitor.start()
    for n in range(100):
        bus.publish(("test", str(n)), {"n": n})
    await bus.drain()
    await monitor.aclose()
    records = read_recording(path)
    assert 0 < len(records) < 100
    assert records[-1]["payload"] == {"n": 99}
    assert path.stat().st_size <= 2000
    assert not path.with_name("one.jsonl.1").exists()


async def test_recording_failure_is_counted_and_the_monitor_runs(
    bus: EventManager, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = MonitorConfig(
        name="broken",
        events=(("test", "*"),),
        batch_duration=0,
        record=RecordConfig(path=blocker / "sub" / "x.jsonl"),
    )
    monitor = Monitor(bus, config)
    await monitor.start()
    bus.publish(("test", "a"), 1)
    await bus.drain()
    assert monitor.stats.record_error is not None
    assert monitor.stats.record_errors == 1
    assert monitor.recording is None
    assert [n.payload for n in monitor.entries] == [1]
    await monitor.aclose()


# -- rings, patterns, sets ----------------------------------------------------------------


async def test_ring_is_bounded_and_patterns_share_one_subscription(bus: EventManager) -> None:
    config = MonitorConfig(
        name="mixed",
        events=(("snmp", "?", "status"), ("snmp", "?", "poll")),
        topics=("site/+/temp", "#"),
        batch_size=100,
        batch_duration=0,
    )
    monitor = Monitor(bus, config, ring_size=5)
    await monitor.start()
    subscription = monitor.subscription
    assert subscription is not None
    assert len(subscription.patterns) == 4
    for n in range(8):
        bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED", "n": n})
    bus.publish(("snmp", "sw1", "poll"), {"rtt_ms": 1.0})  # statistics: EVENT category
    bus.publish(("snmp", "sw1", "read", "1.3"), {"cause": "CHANGE"})  # not asked for
    bus.publish(("mqtt", "@b", "message", "site", "s", "temp"), {"topic": "site/s/temp"})
    # '#' does not match '$' topics (MQTT 3.1.1 §4.7.2), although its pattern would
    bus.publish(("mqtt", "@b", "message", "$SYS", "load"), {"topic": "$SYS/load"})
    await bus.drain()
    assert monitor.stats.events == 10
    assert len(monitor.entries) == 5
    kinds = [(n.category, n.event_type[-1]) for n in monitor.entries]
    assert kinds[-2:] == [(Category.EVENT, "poll"), (Category.MESSAGE, "temp")]
    await monitor.aclose()

    dollar = Monitor(
        bus, MonitorConfig(name="sys", topics=("$SYS/#",), batch_duration=0), ring_size=5
    )
    await dollar.start()
    bus.publish(("mqtt", "@b", "message", "$SYS", "load"), {"topic": "$SYS/load"})
    await bus.drain()
    assert [n.topic for n in dollar.entries] == ["$SYS/load"]
    await dollar.aclose()


async def test_monitor_set_from_config_and_listener_errors(
    bus: EventManager, tmp_path: Path
) -> None:
    file = tmp_path / "fleet.yaml"
    file.write_text(
        "monitors:\n"
        "  - {name: a, events: ['test/a'], batch_duration: 0,"
        " record: {path: rec/a.jsonl}}\n"
        "  - {name: b, events: ['test/b', 'test/c'], batch_size: 2, batch_duration: 0}\n"
    )
    config = load_config(file, environ={})
    monitors = MonitorSet(bus, config.monitors, ring_size=100)
    assert list(monitors.monitors) == ["a", "b"]
    await monitors.start()
    a, b = monitors.monitors["a"], monitors.monitors["b"]

    def broken(_: list[Notification]) -> None:
        raise RuntimeError("listener bug")

    got: list[int] = []
    a.listen(broken)
    unlisten = b.listen(lambda batch: got.append(len(batch)))
    bus.publish(("test", "a"), {"x": 1})
    for name in ("b", "c", "b"):
        bus.publish(("test", name), None)
    await bus.drain()
    assert [n.payload for n in a.entries] == [{"x": 1}]
    assert got == [2, 1]
    unlisten()
    bus.publish(("test", "c"), None)
    await bus.drain()
    assert got == [2, 1]
    assert len(b.entries) == 4
    await monitors.aclose()
    assert a.recording is None
    recorded = [json.dumps(r["payload"]) for r in read_recording(tmp_path / "rec" / "a.jsonl")]
    assert recorded == ['{"x": 1}']
    with pytest.raises(ValueError, match="duplicate"):
        MonitorSet(bus, [config.monitors[0], config.monitors[0]])


# -- payloads bounded by bytes (issue 11 §1) -------------------------------------------


async def test_large_payloads_through_a_broker_stay_within_the_ring_budget(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    """Three 10 MB messages through mosquitto: the monitor's ring keeps each truncated
    to ``payload_bytes`` and all of them within ``ring_bytes``; its recording keeps
    each up to ``stored_payload_bytes``; both say the full size."""
    blob = tmp_path / "blob.bin"
    data = payload_bytes(TEN_MB)
    blob.write_bytes(data)
    fleet = await fleet_on(broker, bus)
    path = tmp_path / "rec.jsonl"
    config = MonitorConfig(
        name="big",
        topics=("big/#",),
        batch_duration=0,
        record=RecordConfig(path=path, max_bytes=100_000_000, backups=0),
    )
    monitor = Monitor(
        bus, config, ring_bytes=200_000, payload_bytes=65_536, stored_payload_bytes=300_000
    )
    batches = Batches(monitor)
    await monitor.start()
    try:
        for n in range(3):
            await mosquitto_pub(broker, "-t", f"big/{n}", "-f", str(blob))
        await eventually(lambda: sum(batches.sizes) == 3, within=60)
        await eventually(lambda: monitor.stats.recorded == 3)  # written after the listeners
    finally:
        await monitor.aclose()
        await fleet.aclose()
    assert held(monitor.entries) <= 200_000
    assert [n.topic for n in monitor.entries] == ["big/1", "big/2"]  # 2 x 87 kB fit
    assert all(n.truncated == (65_535, TEN_MB) for n in monitor.entries)
    newest = monitor.entries[-1].payload
    assert isinstance(newest, dict)
    assert base64.b64decode(newest["payload"]) == data[:65_535]  # type: ignore[arg-type]
    records = read_recording(path)
    assert [r["payload"]["truncated"] for r in records] == [  # type: ignore[index]
        {"kept": 300_000, "size": TEN_MB}
    ] * 3
    assert path.stat().st_size < 3 * 500_000


async def test_a_ring_of_thirty_10_mb_payloads_stays_within_its_byte_budget(
    bus: EventManager,
) -> None:
    payload = message_payload("big/blob", payload_bytes(TEN_MB))
    monitor = Monitor(
        bus,
        MonitorConfig(name="big", topics=("big/#",), batch_duration=0),
        ring_bytes=1024 * 1024,
    )
    await monitor.start()
    for _ in range(30):
        bus.publish(("mqtt", "@plant", "message", "big", "blob"), payload)
    await bus.drain()
    await monitor.aclose()
    assert monitor.stats.events == 30
    assert held(monitor.entries) <= 1024 * 1024
    assert 1 <= len(monitor.entries) < 30
    assert all(n.truncated == (65_535, TEN_MB) for n in monitor.entries)
