"""The demo's MQTT side: the in-process amqtt broker, its simulated Astarte-style
devices, and the runtime watching them (``fleettop demo``)."""

from __future__ import annotations

import asyncio
from typing import Any

from console.runtime import Runtime
from tests.waiting import eventually

GENERIC = "org.astarte-platform.genericsensors"
RATE = f"{GENERIC}.SamplingRate"


async def test_demo_runtime_watches_the_demo_broker_and_sets_a_property() -> None:
    before = set(asyncio.all_tasks())
    runtime = Runtime(demo=True)
    await runtime.start()
    try:
        assert runtime.mqtt is not None
        # the SNMP side is unchanged: config.devices are the agents
        assert {d.name for d in runtime.config.devices} == set(runtime.snmp_devices)
        broker = runtime.config.brokers[0]
        assert (broker.name, broker.protocol) == ("demo-broker", "3.1.1")

        def latest(*event_type: str) -> Any:
            event = runtime.bus.latest(event_type)
            return None if event is None else event.payload

        await eventually(
            lambda: (latest("mqtt", "@demo-broker", "status") or {}).get("status") == "CONNECTED"
        )
        for device in ("thermostat-1", "van-1", "sensor-7"):

            def online(d: str = device) -> bool:
                return bool((latest("mqtt", d, "status") or {}).get("status") == "ONLINE")

            await eventually(online)
        geo = (
            "mqtt",
            "van-1",
            "datastream",
            "org.astarte-platform.genericsensors.Geolocation",
            "/gps",
        )
        await eventually(lambda: latest(*geo) is not None)
        row = latest(*geo)
        assert row["valid"] is True
        assert set(row["value"]) == {"latitude", "longitude", "altitude"}
        values = latest(
            "mqtt",
            "thermostat-1",
            "datastream",
            "org.astarte-platform.genericsensors.Values",
            "/room/value",
        )
        assert values["valid"] is True
        assert isinstance(values["value"], float)
        assert values["timestamp"].endswith("Z")

        result = await runtime.mqtt.set("thermostat-1", RATE, "/room/samplingPeriod", 5)
        assert result.success
        await eventually(
            lambda: latest("mqtt", "thermostat-1", "property", RATE, "/room/samplingPeriod")
        )
        prop = latest("mqtt", "thermostat-1", "property", RATE, "/room/samplingPeriod")
        assert (prop["value"], prop["ownership"], prop["valid"]) == (5, "server", True)
    finally:
        await runtime.aclose()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
