"""The demo's MQTT side: an in-process amqtt broker on loopback and simulated devices
publishing through it.

* :class:`DemoMqtt` starts ``amqtt.broker.Broker`` in the running loop (amqtt must be
  created inside it) on a free 127.0.0.1 port, MQTT 3.1.1, anonymous;
* two simulated Astarte-style devices, ``thermostat-1`` and ``van-1``, publish
  under ``demo/DEVICE/INTERFACE/PATH`` with BSON ``{"v": ..., "t": ...}`` payloads
  (Astarte MQTT v1): their introspection, the device-owned properties of
  ``org.astarte-platform.genericsensors.AvailableSensors`` (every 10 s, so a console
  started late sees them), a ``Values`` datastream every second, and
  (``van-1``) an object-aggregated ``Geolocation`` every 2 s;
* one plain device, ``sensor-7``, publishes JSON telemetry on
  ``site/sensor-7/telemetry`` every second and ``online`` on its status topic.

The devices publish straight into the broker (``internal_message_broadcast``): no
extra sockets or threads. :func:`demo_mqtt_document` is the configuration that
watches them: one broker with ``device_rules`` templates (the devices are
discovered from their topics) and the bundled interfaces (``console/demo/interfaces``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import random
import socket
from importlib import resources
from pathlib import Path
from typing import Any, Final

import bson

from console.lifecycle import ClosesOnce

__all__ = ["ASTARTE_DEVICES", "BROKER_NAME", "INTERFACES_DIR", "DemoMqtt", "demo_mqtt_document"]

mlog = logging.getLogger(__name__)

#: The demo broker's name in the configuration.
BROKER_NAME: Final = "demo-broker"
#: The Astarte-style demo devices.
ASTARTE_DEVICES: Final = ("thermostat-1", "van-1")
#: The Astarte interfaces the demo devices use (package data).
INTERFACES_DIR: Final = Path(str(resources.files("console.demo").joinpath("interfaces")))
_VALUES: Final = "org.astarte-platform.genericsensors.Values"
_SENSORS: Final = "org.astarte-platform.genericsensors.AvailableSensors"
_GEO: Final = "org.astarte-platform.genericsensors.Geolocation"
_RATE: Final = "org.astarte-platform.genericsensors.SamplingRate"


def demo_mqtt_document(port: int) -> dict[str, Any]:
    """The ``brokers:`` entry (as YAML data) watching the demo broker on ``port``."""
    return {
        "name": BROKER_NAME,
        "host": "127.0.0.1",
        "port": port,
        "protocol": "3.1.1",
        "subscriptions": [{"topic": "site/#", "qos": 1}],
        "reconnect": {"min": 0.5, "max": 5, "jitter": 0.2},
        "device_rules": [
            {"template": "demo/{device}/{interface}/#", "timeout": 10},
            {"template": "site/{device}/#", "timeout": 10},
        ],
    }


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DemoMqtt(ClosesOnce):
    """The demo broker and its simulated devices.

    Args:
        host: the address the broker binds.
        seed: seeds the simulated values.

    Attributes:
        port: the broker's TCP port (0 before :meth:`start`).
        published: messages the simulated devices published.
    """

    def __init__(self, *, host: str = "127.0.0.1", seed: int | None = None) -> None:
        self.host = host
        self.port = 0
        self.published = 0
        self._rng = random.Random(seed)
        self._broker: Any = None

    def choose_port(self) -> int:
        """Pick the broker's port (a free one) now, so a configuration can name it
        before :meth:`start`; idempotent.

        Returns:
            :attr:`port`.
        """
        if not self.port:
            self.port = _free_port(self.host)
        return self.port

    async def start(self) -> None:
        """Start the broker (in the running loop, on :meth:`choose_port`'s port) and
        the devices.

        Raises:
            OSError, amqtt.errors.BrokerError: the broker could not listen.
        """
        from amqtt.broker import Broker  # type: ignore[import-untyped]

        self.choose_port()
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await self._broker.start()
        self.spawn(self._run(), name="demo-mqtt-devices")

    async def _close(self) -> None:
        """Stop the devices, then the broker (:meth:`aclose`: once, idempotent)."""
        await self.cancel_tasks()
        broker, self._broker = self._broker, None
        if broker is not None:
            with contextlib.suppress(Exception):
                await broker.shutdown()

    async def _send(self, topic: str, payload: bytes, qos: int = 0) -> None:
        if self._broker is None:
            return
        await self._broker.internal_message_broadcast(topic, payload, qos)
        self.published += 1

    async def _astarte(
        self, device: str, interface: str, path: str, value: Any, *, ts: bool
    ) -> None:
        document: dict[str, Any] = {"v": value}
        if ts:
            document["t"] = dt.datetime.now(dt.UTC)
        await self._send(f"demo/{device}/{interface}{path}", bson.encode(document), qos=1)

    async def _run(self) -> None:
        tick = 0
        base_temp = {device: 19.0 + 3 * self._rng.random() for device in ASTARTE_DEVICES}
        try:
            while True:
                if tick == 2 or tick % 10 == 0:  # again at 2 s: the console is subscribed
                    await self._announce()
                for device in ASTARTE_DEVICES:
                    temp = base_temp[device] + math.sin(tick / 30) + self._rng.gauss(0, 0.1)
                    await self._astarte(device, _VALUES, "/room/value", round(temp, 2), ts=True)
                if tick % 2 == 0:
                    angle = tick / 120
                    position = {
                        "latitude": round(45.07 + 0.01 * math.sin(angle), 6),
                        "longitude": round(7.68 + 0.01 * math.cos(angle), 6),
                        "altitude": round(240 + 5 * self._rng.random(), 1),
                    }
                    await self._astarte("van-1", _GEO, "/gps", position, ts=True)
                telemetry = {
                    "temperature": round(21 + math.sin(tick / 20), 2),
                    "humidity": round(45 + 5 * math.cos(tick / 25), 1),
                    "seq": tick,
                }
                await self._send("site/sensor-7/telemetry", json.dumps(telemetry).encode())
                tick += 1
                await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            raise
        except Exception:
            mlog.exception("the demo MQTT devices stopped")

    async def _announce(self) -> None:
        """Introspection, device-owned properties and status, repeated so a console
        that connects late sees them."""
        for device in ASTARTE_DEVICES:
            introspection = f"{_VALUES}:1:0;{_SENSORS}:1:0;{_RATE}:1:0"
            if device == "van-1":
                introspection += f";{_GEO}:1:0"
            await self._send(f"demo/{device}", introspection.encode(), qos=2)
            await self._astarte(device, _SENSORS, "/room/name", f"{device} room", ts=False)
            await self._astarte(device, _SENSORS, "/room/unit", "°C", ts=False)
        await self._send("site/sensor-7/status", b"online", qos=1)
