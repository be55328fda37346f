"""The runtime (bus + demo + device backends) without any UI."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from console.config import Config
from console.events import Event
from console.runtime import Runtime
from tests.waiting import eventually


async def test_demo_runtime_connects_every_device_and_closes_without_leftovers() -> None:
    before = set(asyncio.all_tasks())
    runtime = Runtime(demo=True)
    await runtime.start()
    names = {device.name for device in runtime.config.devices}
    assert names == set(runtime.snmp_devices)
    assert len(names) >= 3

    def all_connected() -> bool:
        latest = [runtime.bus.latest(("snmp", name, "status")) for name in names]
        return all(e is not None and e.payload["status"] == "CONNECTED" for e in latest)  # type: ignore[index,call-overload]

    await eventually(all_connected)
    reads = runtime.bus.snapshot(("snmp", "?", "read", "*"))
    assert {e.type[1] for e in reads} == names
    await runtime.aclose()
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftovers == []
    with pytest.raises(RuntimeError):
        runtime.bus.publish(("x",), None)


async def test_console_warnings_reach_the_bus_as_log_events() -> None:
    runtime = Runtime(Config())
    bus = await runtime.start_bus()
    seen: list[Event] = []
    bus.subscribe(("log", "?"), seen.append)
    await runtime.start()
    logging.getLogger("console.snmp.manager").warning("agent %s is sulking", "sw9")
    logging.getLogger("console.snmp.manager").debug("not at warning level")
    logging.getLogger("elsewhere").warning("not fleettop's logger")
    await eventually(lambda: seen)
    await bus.drain()
    assert [(e.type, e.payload["message"], e.payload["source"]) for e in seen] == [  # type: ignore[index,call-overload]
        (("log", "warning"), "agent sw9 is sulking", "snmp")
    ]
    await runtime.aclose()
    # after close, the handler is gone: logging no longer touches the closed bus
    logging.getLogger("console.snmp.manager").warning("after close")
    assert len(seen) == 1


def test_a_runtime_needs_a_config_unless_it_is_the_demo() -> None:
    with pytest.raises(ValueError, match="configuration is required"):
        Runtime()


async def test_values_polled_in_one_run_are_published_as_stored_in_the_next() -> None:
    first = Runtime(demo=True)
    await first.start()
    assert first.store is not None
    descr = ("snmp", "core-sw1", "read", "1.3.6.1.2.1.1.1.0")
    await eventually(lambda: first.bus.latest(descr) is not None)
    last_read = first.bus.latest(descr)
    assert last_read is not None
    await first.aclose()  # a clean close commits everything

    second = Runtime(demo=True)
    bus = await second.start_bus()
    seen: list[Event] = []
    bus.subscribe(("snmp", "*"), seen.append)
    await second.start()
    try:
        await eventually(lambda: any(e.type[2] == "read" for e in seen))
        stored = [e for e in seen if e.type[2] == "stored"]
        by_type = {e.type: e for e in stored}
        replayed = by_type[("snmp", "core-sw1", "stored", "1.3.6.1.2.1.1.1.0")]
        assert replayed.payload["data"] == last_read.payload["data"]  # type: ignore[index,call-overload]
        assert {e.type[1] for e in stored} == {d.name for d in second.config.devices}
        # replayed before any device polled: every stored event precedes every read
        first_read = min(e.seq for e in seen if e.type[2] == "read")
        assert max(e.seq for e in stored) < first_read
    finally:
        await second.aclose()


GARBAGE = b"this is not an SQLite database\n" * 100


@pytest.fixture
def garbage_demo_database() -> Path:
    """The demo's database file, filled with bytes that are not SQLite."""
    data_dir = Path(os.environ["FLEETTOP_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "demo.db"
    database.write_bytes(GARBAGE)
    return database


async def test_an_unusable_database_is_reported_untouched_and_polling_goes_on(
    garbage_demo_database: Path,
) -> None:
    database = garbage_demo_database
    runtime = Runtime(demo=True)
    await runtime.start()
    try:
        assert runtime.store is None
        assert runtime.store_error is not None
        assert str(database) in runtime.store_error
        status = runtime.bus.latest(("store", "status"))
        assert status is not None
        assert status.payload["persistent"] is False  # type: ignore[index,call-overload]
        warnings = runtime.bus.snapshot(("log", "warning"))
        await eventually(lambda: runtime.bus.latest(("snmp", "ups-1", "read", "1.3.6.1.2.1.1.3.0")))
    finally:
        await runtime.aclose()
    assert database.read_bytes() == GARBAGE
    assert any("without persistence" in str(e.payload) for e in warnings)


async def test_shutdown_closes_in_reverse_and_a_failing_part_does_not_stop_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The shutdown stack: a part whose close raises is logged, and everything
    started before it (the store, the bus) still closes."""
    from console.config import parse_config
    from console.notifications.center import NotificationCenter

    closed: list[str] = []

    async def failing_close(self: NotificationCenter) -> None:
        closed.append("center")
        raise OSError("disk on fire")

    monkeypatch.setattr(NotificationCenter, "_close", failing_close)
    config = parse_config(f"store: {{path: {tmp_path / 's.db'}}}\n", environ={})
    runtime = Runtime(config)
    await runtime.start()
    store, bus, book = runtime.store, runtime.bus, runtime.alarms
    assert store is not None
    assert book is not None
    original = store.aclose

    async def store_close() -> None:
        closed.append("store")
        await original()

    runtime._stack.push_async_callback(store_close)  # closes first: the newest pushed
    with caplog.at_level(logging.WARNING, logger="console.runtime"):
        await runtime.aclose()
    assert closed == ["store", "center"]
    assert "closing the notification center failed: disk on fire" in caplog.text
    assert store.closed
    assert book.closing
    assert bus.closed


@pytest.mark.peer("mosquitto")
async def test_large_mqtt_payloads_are_bounded_in_memory_and_in_the_store(
    tmp_path: Path,
) -> None:
    """Three 10 MB messages through a real mosquitto into a runtime with a store: the
    stream's ring keeps each truncated to ``payload_bytes``, the store's row up to
    ``stored_payload_bytes``, and both tell the full size (issue 11 §1)."""
    import base64
    import sqlite3

    from console.config import parse_config
    from tests.mqtt_peers import Mosquitto, mosquitto_pub
    from tests.payload_helpers import TEN_MB, held, payload_bytes

    blob = tmp_path / "blob.bin"
    data = payload_bytes(TEN_MB)
    blob.write_bytes(data)
    with Mosquitto(tmp_path / "broker") as broker:
        config = parse_config(
            f"store: {{path: {tmp_path / 's.db'}, batch_window: 0.01}}\n"
            "notifications: {payload_bytes: 4096, stored_payload_bytes: 100000}\n"
            "brokers:\n"
            "  - name: plant\n"
            "    host: 127.0.0.1\n"
            f"    port: {broker.port}\n"
            "    subscriptions: [{topic: 'big/#'}]\n",
            environ={},
        )
        runtime = Runtime(config)
        await runtime.start()
        try:
            center = runtime.notifications
            assert center is not None
            await eventually(lambda: bool(runtime.bus.snapshot(("mqtt", "@plant", "subscribed"))))
            for n in range(3):
                await mosquitto_pub(broker, "-t", f"big/{n}", "-f", str(blob))
            await eventually(lambda: sum(1 for e in center.entries if e.topic) == 3, within=60)
            messages = [e for e in center.entries if e.topic]
            assert held(messages) <= 3 * 4096 * 4 // 3
            assert [m.truncated for m in messages] == [(4095, TEN_MB)] * 3
            assert isinstance(messages[0].payload, dict)
            assert base64.b64decode(messages[0].payload["payload"]) == data[:4095]  # type: ignore[arg-type]
        finally:
            await runtime.aclose()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        stored = conn.execute(
            "SELECT length(payload), payload FROM notifications WHERE category = 'message'"
        ).fetchall()
    assert len(stored) == 3
    assert all(length <= 100_000 * 4 // 3 + 1000 for length, _ in stored)
    assert all('"truncated":{"kept":99999,"size":10485760}' in text for _, text in stored)


_ALLOCATIONS = """
import sys
from pathlib import Path

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

if sys.argv[1] == "runtime":
    import asyncio
    from console.config import Config, StoreConfig
    from console.runtime import Runtime

    async def run():
        runtime = Runtime(Config(store=StoreConfig(enabled=False)))
        await runtime.start()
        await runtime.aclose()

    asyncio.run(run())
once = bytearray(10 * 1024 * 1024)
del once  # glibc's dynamic threshold rises past 10 MB here
before = rss_mb()
blocks = [bytearray(b"x" * (10 * 1024 * 1024)) for _ in range(30)]
last = blocks[-1]
blocks.clear()
print(rss_mb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_large_payloads_leave_the_process_once_a_runtime_started() -> None:
    """30 blocks of 10 MB freed but the last: without a fixed mmap threshold glibc
    keeps ~300 MB resident (its dynamic threshold, mallopt(3)); a started runtime
    fixes it, so only the live block stays (issue 11 §1)."""

    def grown(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", _ALLOCATIONS, mode],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parent.parent,
            check=True,
        )
        return int(done.stdout.split()[-1])

    assert grown("plain") >= 200  # the allocator's habit this guards against
    assert grown("runtime") <= 40


async def test_demo_devices_connect_before_the_mibs_and_the_broker_have_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 11 §6: the pollers start as soon as their agent answers; the MIB names
    (alarm rules, trap receiver) and the demo MQTT broker come after. Both are held
    back here until every demo device has said CONNECTED: a runtime that waited for
    them first would never get there."""
    import console.notifications.alarms.book as book_module
    from console.demo.mqtt import DemoMqtt
    from console.notifications.alarms.rules import compile_rules
    from console.snmp.mib import MibResolver

    release = asyncio.Event()
    held: list[str] = []

    def gate(what: str, original: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def gated(*args: Any, **kwargs: Any) -> Any:
            held.append(what)
            await release.wait()
            return await original(*args, **kwargs)

        return gated

    monkeypatch.setattr(DemoMqtt, "start", gate("broker", DemoMqtt.start))
    monkeypatch.setattr(MibResolver, "aload", gate("mib", MibResolver.aload))
    # the alarm book's own reference (it imports the function)
    monkeypatch.setattr(book_module, "compile_rules", gate("rules", compile_rules))
    runtime = Runtime(demo=True)
    bus = await runtime.start_bus()
    statuses: list[Event] = []
    bus.subscribe(("snmp", "?", "status"), statuses.append)
    starting = asyncio.create_task(runtime.start())
    try:

        def connected() -> set[str]:
            return {e.type[1] for e in statuses if e.payload["status"] == "CONNECTED"}  # type: ignore[index,call-overload]

        names = {"core-sw1", "ap-lobby", "ups-1"}
        await eventually(lambda: connected() == names)
        assert runtime.ready.is_set()
        assert not starting.done()
        assert runtime.trap_receiver is None  # it starts after the alarm book's MIB names
        demo_mqtt = runtime.demo.mqtt if runtime.demo is not None else None
        assert demo_mqtt is not None
        assert demo_mqtt.published == 0
        assert runtime.mqtt is not None
        assert not runtime.mqtt.connections
        await eventually(lambda: held == ["rules"])  # the first slow part, held back
        release.set()
        await starting
        assert runtime.started
        assert runtime.trap_receiver is not None
        assert held == ["rules", "mib", "broker"]
        assert list(runtime.mqtt.connections) == ["demo-broker"]
    finally:
        release.set()
        await runtime.aclose()


async def test_a_runtime_closed_while_starting_closes_what_it_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closing while the slow parts still start (the app quits at once) cancels the
    start and closes everything already started: no task, no socket left."""
    from console.demo.mqtt import DemoMqtt

    before = set(asyncio.all_tasks())
    never = asyncio.Event()

    async def stuck(self: DemoMqtt) -> None:
        await never.wait()

    monkeypatch.setattr(DemoMqtt, "start", stuck)
    runtime = Runtime(demo=True)
    starting = asyncio.create_task(runtime.start())
    await runtime.ready.wait()
    await eventually(lambda: runtime.trap_receiver is not None)  # started before the broker
    ports = [agent.port for agent in runtime.demo.agents] if runtime.demo else []
    starting.cancel()
    await runtime.aclose()
    with pytest.raises(asyncio.CancelledError):
        await starting
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
    assert runtime.trap_receiver is not None
    assert runtime.trap_receiver.closing
    for port in ports:  # every agent's port is free again
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", port))
