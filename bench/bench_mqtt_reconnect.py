"""MQTT reconnection after broker outages: how long a broker that is back stays
unnoticed, with the default backoff against the old default (``max: 60``).

One :class:`~console.mqtt.client.BrokerConnection` watches a Debian mosquitto on a
free loopback port. The broker is stopped (SIGTERM) for each outage of
:data:`OUTAGES` (seconds, short and long, fixed so that both sides see the same),
started again on the same port, and the delay is measured from the moment it
accepts connections again to the connection's ``CONNECTED`` status. Both sides run
the same outages: ``defaults`` (the configuration's ``reconnect:`` defaults) and
``baseline`` (``reconnect: {min: 1, max: 60, jitter: 0.2}``, the defaults before
issue 11 §5).

Usage: ``python -m bench.bench_mqtt_reconnect`` (or ``python -m bench
mqtt_reconnect``); about 2.5 minutes, mostly waiting. Prints a JSON summary and
returns it from :func:`main`. Target: the defaults' median delay <= 5 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers import free_tcp_port, program
from console.config import parse_config
from console.events import EventManager
from console.mqtt.client import BrokerConnection, BrokerStatus

__all__ = ["main"]

#: Outage lengths, seconds.
OUTAGES = (2.0, 5.0, 9.0, 14.0, 20.0, 3.0, 12.0)
#: The median delay the defaults must meet, seconds.
TARGET = 5.0
BASELINE = "{min: 1, max: 60, jitter: 0.2}"


class _Broker:
    """mosquitto on a fixed port, stopped and started again."""

    def __init__(self, work: Path) -> None:
        self.port = free_tcp_port()
        self.conf = work / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "log_type error"]
        if os.geteuid() == 0:
            lines.insert(0, "user root")
        self.conf.write_text("\n".join(lines) + "\n")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it; return when it accepts connections (``time.monotonic()``)."""
        self._proc = subprocess.Popen(
            [program("mosquitto"), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return time.monotonic()
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM, and wait until it ended."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait()
            self._proc = None


async def _side(work: Path, reconnect: str | None) -> list[float]:
    broker = _Broker(work)
    text = f"brokers:\n  - {{name: bench, host: 127.0.0.1, port: {broker.port}"
    text += f", reconnect: {reconnect}}}\n" if reconnect else "}\n"
    config = parse_config(text, environ={})
    bus = EventManager()
    connected = asyncio.Event()

    def on_status(name: str, status: BrokerStatus, reason: str | None) -> None:
        if status is BrokerStatus.CONNECTED:
            connected.set()

    broker.start()
    connection = BrokerConnection(config.brokers[0], bus, on_status=on_status)
    await connection.start()
    delays: list[float] = []
    try:
        await asyncio.wait_for(connected.wait(), 10)
        for outage in OUTAGES:
            connected.clear()
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(outage)
            back = await asyncio.to_thread(broker.start)
            await asyncio.wait_for(connected.wait(), 120)
            delays.append(round(time.monotonic() - back, 3))
    finally:
        await connection.aclose()
        await bus.aclose()
        broker.stop()
    return delays


def _summary(delays: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(delays), 3),
        "max_s": max(delays),
        "delays_s": delays,
    }


async def _run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-") as work:
        defaults = _summary(await _side(Path(work), None))
        baseline = _summary(await _side(Path(work), BASELINE))
    return {
        "outages_s": list(OUTAGES),
        "defaults": defaults,
        "baseline_max60": baseline,
        "ratio_median": round(defaults["median_s"] / baseline["median_s"], 3),
        "target_median_s": TARGET,
        "met": defaults["median_s"] <= TARGET,
    }


def main() -> dict[str, Any]:
    """Run both sides, print and return the summary."""
    summary = asyncio.run(_run())
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
