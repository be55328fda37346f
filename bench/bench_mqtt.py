"""MQTT ingest rate: mosquitto -> fleettop's event manager (headless) against a bare
paho-mqtt subscriber that only counts, same broker, same run.

Each round publishes ``COUNT`` messages of ``SIZE`` bytes at QoS 0 with one
``mosquitto_pub -l`` (C, reading one message per line from stdin) to one topic
while one subscriber drains them; the publisher and the broker outpace either
subscriber, so the backlog queues in mosquitto (``max_queued_messages`` is raised
to 1,000,000 for both sides, since its default of 1000 drops QoS 0 messages for a
slow subscriber) and the figure is the subscriber's own rate: messages / (time of
the last - time of the first).

Sides
-----
* ``paho``: a bare paho-mqtt 2.x client, network loop in its thread
  (``loop_start``), ``on_message`` only counting -- the ceiling for any paho-based
  client in Python.
* ``fleettop``: what ``fleettop --headless`` runs: :class:`~console.mqtt.fleet.MqttFleet`
  (one broker, device routing on) with an :class:`~console.events.EventManager`;
  every message becomes a ``("mqtt", "@bench", "message", ...)`` event delivered to
  a batching subscriber (``batch_size`` 1024, as the UI's bridge) that counts. The
  clock stops when that subscriber has counted the last event.

Rounds alternate sides (``ROUNDS`` each); each side's best round counts. Every
round must receive every message (``lost`` = 0), or the run fails.

Usage: ``python -m bench.bench_mqtt`` (or ``python -m bench mqtt``); about 30 s.
Prints a JSON summary and returns it from :func:`main`. Target: fleettop / paho
>= 0.6 and no message lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.peers import mosquitto, program
from console.config import parse_config
from console.events import Event, EventManager
from console.mqtt.fleet import MqttFleet

__all__ = ["main"]

COUNT = 200_000
SIZE = 100
ROUNDS = 3
TOPIC = "bench/sensor-1/telemetry"
TARGET = 0.6


def _payload_file(work: Path) -> Path:
    path = work / "messages.txt"
    line = ("x" * (SIZE - 8)) + "{:08d}"
    with path.open("w") as out:
        for n in range(COUNT):
            out.write(line.format(n) + "\n")
    return path


async def _publish(port: int, messages: Path) -> None:
    with messages.open("rb") as stdin:
        proc = await asyncio.create_subprocess_exec(
            program("mosquitto_pub"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            TOPIC,
            "-q",
            "0",
            "-l",
            stdin=stdin,
        )
        await proc.wait()
    if proc.returncode:
        raise RuntimeError(f"mosquitto_pub failed ({proc.returncode})")


async def _paho_round(port: int, messages: Path) -> tuple[float, int]:
    count = 0
    first = last = 0.0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        nonlocal count, first, last
        if not count:
            first = time.perf_counter()
        count += 1
        if count == COUNT:
            last = time.perf_counter()
            done.set()

    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="bench-paho",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_connect = lambda c, *args: c.subscribe(TOPIC, 0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    await asyncio.to_thread(subscribed.wait, 10)
    await _publish(port, messages)
    finished = await asyncio.to_thread(done.wait, 60)
    client.disconnect()
    client.loop_stop()
    if not finished:
        return 0.0, count
    return COUNT / (last - first), count


class _Counter:
    """Counts bench messages arriving on the bus, from the first one's receive time
    (stamped by the paho thread) to the moment the last one is handled."""

    def __init__(self) -> None:
        self.count = 0
        self.first = self.last = 0.0
        self.done = asyncio.Event()

    def on_batch(self, events: list[Event]) -> None:
        """The bus handler (a batched subscription)."""
        if not self.count:
            payload = events[0].payload
            assert isinstance(payload, dict)
            self.first = float(payload["received"])  # type: ignore[arg-type]
        self.count += len(events)
        if self.count >= COUNT:
            self.last = time.time()
            self.done.set()

    def rate(self) -> float:
        """Messages per second, or 0.0 when some never arrived."""
        return COUNT / (self.last - self.first) if self.count >= COUNT else 0.0


async def _fleettop_round(port: int, messages: Path) -> tuple[float, int, dict[str, Any]]:
    config = parse_config(
        f"""
brokers:
  - name: bench
    host: 127.0.0.1
    port: {port}
    client_id: bench-fleettop
    protocol: "3.1.1"
    subscriptions: [{{topic: "{TOPIC}", qos: 0}}]
    device_rules: [{{template: "bench/{{device}}/#"}}]
""",
        environ={},
    )
    counter = _Counter()
    bus = EventManager()

    bus.subscribe(
        ("mqtt", "?", "message", "*"),
        counter.on_batch,
        batch_size=1024,
        batch_duration=0.05,
        maxsize=1_000_000,
        name="bench",
    )
    fleet = MqttFleet(config, bus)
    await fleet.start()
    connection = fleet.connections["bench"]
    while not bus.latest(("mqtt", "@bench", "subscribed")):  # noqa: ASYNC110 - bus state
        await asyncio.sleep(0.01)
    await _publish(port, messages)
    try:
        async with asyncio.timeout(60):
            await counter.done.wait()
    except TimeoutError:
        pass
    stats = {
        "stalls": connection.stats.stalls,
        "batches": connection.stats.batches,
        "max_pending": connection.stats.max_pending,
        "bus_dropped": bus.dropped,
    }
    await fleet.aclose()
    await bus.aclose()
    return counter.rate(), counter.count, stats


async def _tui_round(port: int, messages: Path) -> tuple[float, int]:
    """The same ingest with the whole terminal UI running on the runtime (headless
    Textual via ``run_test``: the bridge folds the flood into the Devices screen and
    its value preview at its frame rate). Returns (msg/s, messages counted); the UI
    must still answer a key press afterwards."""
    from console.app import FleettopApp
    from console.runtime import Runtime
    from screens.devices import DevicesScreen

    config = parse_config(
        f"""
brokers:
  - name: bench
    host: 127.0.0.1
    port: {port}
    client_id: bench-fleettop-tui
    protocol: "3.1.1"
    subscriptions: [{{topic: "{TOPIC}", qos: 0}}]
    device_rules: [{{template: "bench/{{device}}/#"}}]
store: {{enabled: false}}
""",
        environ={},
    )
    runtime = Runtime(config)
    app = FleettopApp(runtime, freeze_heap=True)  # as `fleettop` runs it
    counter = _Counter()

    async with app.run_test(size=(140, 40)) as pilot:
        while not isinstance(app.screen, DevicesScreen):
            await pilot.pause(0.05)
        bus = runtime.bus
        bus.subscribe(
            ("mqtt", "?", "message", "*"),
            counter.on_batch,
            batch_size=1024,
            batch_duration=0.05,
            maxsize=1_000_000,
            name="bench",
        )
        while not bus.latest(("mqtt", "@bench", "subscribed")):
            await pilot.pause(0.01)
        await _publish(port, messages)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(90):
                await counter.done.wait()
        await pilot.press("question_mark")  # the UI still answers a key press
        await pilot.pause(0.2)
        responsive = app.screen.__class__.__name__ == "HelpScreen"
    return (counter.rate() if responsive else 0.0), counter.count


async def _run() -> dict[str, Any]:
    with mosquitto() as port, tempfile.TemporaryDirectory() as work:
        messages = _payload_file(Path(work))
        paho_rates: list[float] = []
        fleettop_rates: list[float] = []
        lost = {"paho": 0, "fleettop": 0, "fleettop_tui": 0}
        details: dict[str, Any] = {}
        for _ in range(ROUNDS):
            rate, got = await _paho_round(port, messages)
            paho_rates.append(rate)
            lost["paho"] += COUNT - got
            rate, got, details = await _fleettop_round(port, messages)
            fleettop_rates.append(rate)
            lost["fleettop"] += COUNT - got
        tui_rate, tui_got = await _tui_round(port, messages)
        lost["fleettop_tui"] = COUNT - tui_got
    best_paho, best_fleettop = max(paho_rates), max(fleettop_rates)
    ratio = best_fleettop / best_paho if best_paho else 0.0
    return {
        "messages": COUNT,
        "size_bytes": SIZE,
        "qos": 0,
        "paho_msgs_per_s": round(best_paho),
        "fleettop_msgs_per_s": round(best_fleettop),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "fleettop_with_tui_msgs_per_s": round(tui_rate),
        "ratio_with_tui": round(tui_rate / best_paho, 3) if best_paho else 0.0,
        "lost": lost,
        "rounds": {
            "paho": [round(r) for r in paho_rates],
            "fleettop": [round(r) for r in fleettop_rates],
        },
        "fleettop_last_round": details,
        "ok": ratio >= TARGET and not any(lost.values()),
    }


def main() -> dict[str, Any]:
    """Run the benchmark, print and return the JSON summary.

    Raises:
        RuntimeError: mosquitto or mosquitto_pub is missing, or a message was lost.
    """
    summary = asyncio.run(_run())
    print(json.dumps(summary, indent=2))
    if any(summary["lost"].values()):
        raise RuntimeError(f"messages lost: {summary['lost']}")
    return summary


if __name__ == "__main__":
    main()
