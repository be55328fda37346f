"""MQTT properties and operator MQTT actions reach the store, on the real demo
(amqtt broker, simulated Astarte devices)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from console.runtime import Runtime
from console.store import PropertyStore
from console.store.audit import AuditLog
from tests.waiting import eventually

SENSORS = "org.astarte-platform.genericsensors.AvailableSensors"
RATE = "org.astarte-platform.genericsensors.SamplingRate"


async def test_mqtt_properties_sets_and_unsets_are_stored_and_audited() -> None:
    runtime = Runtime(demo=True)
    await runtime.start()
    try:
        assert runtime.mqtt is not None
        assert runtime.store is not None

        def latest(*event_type: str) -> Any:
            event = runtime.bus.latest(event_type)
            return None if event is None else event.payload

        # a device-owned property the demo thermostat sends by itself
        await eventually(lambda: latest("mqtt", "thermostat-1", "property", SENSORS, "/room/unit"))
        await eventually(lambda: runtime.mqtt.connections["demo-broker"].status == "CONNECTED")  # type: ignore[union-attr]
        set_result = await runtime.mqtt.set("thermostat-1", RATE, "/room/samplingPeriod", 7)
        assert set_result.success
        enable = await runtime.mqtt.set("thermostat-1", RATE, "/room/enable", True)
        assert enable.success
        await eventually(
            lambda: (
                (latest("mqtt", "thermostat-1", "property", RATE, "/room/enable") or {}).get(
                    "value"
                )
                is True
            )
        )
        unset = await runtime.mqtt.unset("thermostat-1", RATE, "/room/enable")
        assert unset.success
        await eventually(
            lambda: (
                (latest("mqtt", "thermostat-1", "property", RATE, "/room/enable") or {}).get(
                    "unset"
                )
                is True
            )
        )
    finally:
        await runtime.aclose()  # a clean close: the feeders hand everything to the store

    path = Path(os.environ["FLEETTOP_DATA_DIR"]) / "demo.db"
    store = await PropertyStore.open(path)
    try:
        unit = await store.get_prop("thermostat-1", SENSORS, "/room/unit")
        assert unit is not None
        assert (unit.type, unit.value, unit.ownership, unit.source, unit.major) == (
            "string",
            "°C",
            "device",
            "mqtt",
            1,
        )
        period = await store.get_prop("thermostat-1", RATE, "/room/samplingPeriod")
        assert period is not None
        assert (period.type, period.value, period.ownership) == ("integer", 7, "server")
        # the unset deleted the property, as the Astarte SDK does
        assert await store.get_prop("thermostat-1", RATE, "/room/enable") is None
        entries = await AuditLog(store).query_audit(device="thermostat-1")
        assert [(e.action, e.target, e.new, e.result) for e in reversed(entries)] == [
            ("mqtt.set", f"{RATE} /room/samplingPeriod", 7, "ok"),
            ("mqtt.set", f"{RATE} /room/enable", True, "ok"),
            ("mqtt.unset", f"{RATE} /room/enable", None, "ok"),
        ]
    finally:
        await store.aclose()
