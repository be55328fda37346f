"""Home Assistant MQTT discovery (issue 15 §1): retained ``config`` messages announce
entities whose state topic and ``value_template`` become values of their device.

Publisher: ``mosquitto_pub`` with the payloads of Home Assistant's MQTT discovery
documentation (home-assistant.io/integrations/mqtt, "Discovery examples": the motion
sensor, the bedroom sensor with several values, the abbreviated light with ``~``,
device discovery with ``cmps``) and Zigbee2MQTT's availability list, through Debian
mosquitto.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from console.events import Event, EventManager
from console.fleet import FleetState
from console.mqtt.homeassistant import (
    Discovery,
    DiscoveryError,
    ValueTemplate,
    parse_discovery_topic,
)
from console.store import PropertyStore
from console.store.fields import FIELDS_INTERFACE, FieldFeeder
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.test_json_fields import fields_of
from tests.test_mqtt_broker import Recorder, config_for, connected, started
from tests.waiting import eventually

# Home Assistant's docs, "Motion detection (binary sensor)"
MOTION = {
    "name": None,
    "device_class": "motion",
    "state_topic": "homeassistant/binary_sensor/garden/state",
    "unique_id": "motion01ad",
    "device": {"identifiers": ["01ad"], "name": "Garden"},
}
# "Sensors": one state topic, two entities reading its fields
BEDROOM_T = {
    "device_class": "temperature",
    "state_topic": "homeassistant/sensor/sensorBedroom/state",
    "unit_of_measurement": "°C",
    "value_template": "{{ value_json.temperature}}",
    "unique_id": "temp01ae",
    "device": {"identifiers": ["bedroom01ae"], "name": "Bedroom"},
}
BEDROOM_H = {
    **BEDROOM_T,
    "device_class": "humidity",
    "unit_of_measurement": "%",
    "value_template": "{{ value_json.humidity}}",
    "unique_id": "hum01ae",
}
# "Using abbreviations and base topic"
KITCHEN_LIGHT = {
    "~": "homeassistant/light/kitchen",
    "name": "Kitchen",
    "uniq_id": "kitchen_light",
    "cmd_t": "~/set",
    "stat_t": "~/state",
    "schema": "json",
    "brightness": True,
}
# "Device discovery payload"
DEVICE = {
    "dev": {
        "ids": "ea334450945afc",
        "name": "Kitchen",
        "mf": "Bla electronics",
        "mdl": "xya",
        "sw": "1.0",
        "sn": "ea334450945afc",
        "hw": "1.0rev2",
    },
    "o": {"name": "bla2mqtt", "sw": "2.1", "url": "https://bla2mqtt.example.com/support"},
    "cmps": {
        "some_unique_component_id1": {
            "p": "sensor",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "value_template": "{{ value_json.temperature}}",
            "unique_id": "temp01ae_t",
        },
        "some_unique_id2": {
            "p": "sensor",
            "device_class": "humidity",
            "unit_of_measurement": "%",
            "value_template": "{{ value_json.humidity}}",
            "unique_id": "temp01ae_h",
        },
    },
    "state_topic": "sensorBedroom/state",
    "qos": 2,
}
# Zigbee2MQTT's discovery of a sensor: availability of the bridge and of the device
Z2M_TEMPERATURE = {
    "availability": [
        {"topic": "zigbee2mqtt/bridge/state", "value_template": "{{ value_json.state }}"},
        {"topic": "zigbee2mqtt/porch/availability", "value_template": "{{ value_json.state }}"},
    ],
    "availability_mode": "all",
    "device": {"identifiers": ["zigbee2mqtt_0x00158d0001a2b3c4"], "name": "porch"},
    "object_id": "porch_temperature",
    "state_topic": "zigbee2mqtt/porch",
    "unique_id": "0x00158d0001a2b3c4_temperature_zigbee2mqtt",
    "unit_of_measurement": "°C",
    "value_template": "{{ value_json.temperature }}",
}
# a computed template (Jinja2 in the sandbox) and one using a Home Assistant extension
FAHRENHEIT = {
    "state_topic": "zigbee2mqtt/porch",
    "unique_id": "porch_f",
    "device": {"identifiers": ["zigbee2mqtt_0x00158d0001a2b3c4"], "name": "porch"},
    "unit_of_measurement": "°F",
    "value_template": "{{ (value_json.temperature | float * 1.8 + 32) | round(1) }}",
}
EXTENSION = {
    "state_topic": "zigbee2mqtt/porch",
    "unique_id": "porch_ts",
    "device": {"name": "porch"},
    "value_template": "{{ as_timestamp(value_json.last_seen) }}",
}


# --------------------------------------------------------------------------- units


def test_topics_and_templates() -> None:
    assert parse_discovery_topic("homeassistant", "homeassistant/sensor/a/b/config") == (
        "sensor",
        "a",
        "b",
    )
    assert parse_discovery_topic("homeassistant", "homeassistant/sensor/b/config") == (
        "sensor",
        None,
        "b",
    )
    assert parse_discovery_topic("homeassistant", "homeassistant/sensor/b/state") is None
    assert parse_discovery_topic("homeassistant", "other/sensor/b/config") is None
    assert parse_discovery_topic("homeassistant", "homeassistant/sensor/a b/config") is None

    shapes = {
        "{{ value_json.temperature }}": "/temperature",
        "{{value_json.ENERGY.Power}}": "/ENERGY/Power",
        "{{ value_json['a/b'] }}": "/a~1b",
        '{{ value_json["x"].readings[0] }}': "/x/readings/0",
        "{{ value_json }}": "",
    }
    for source, pointer in shapes.items():
        assert ValueTemplate.parse(source).pointer == pointer, source
    assert ValueTemplate.parse("{{ value }}").raw
    assert ValueTemplate.parse(None).raw
    payload = json.dumps({"ENERGY": {"Power": 150}, "a/b": "x", "temperature": 21.5}).encode()
    assert ValueTemplate.parse("{{ value_json.ENERGY.Power }}").render(payload) == 150
    assert ValueTemplate.parse("{{ value_json.temperature * 2 }}").render(payload) == 43.0
    assert ValueTemplate.parse("{{ value }}").render(b"21") == 21
    assert ValueTemplate.parse("{{ value }}").render(b"ON") == "ON"
    assert ValueTemplate.parse("{{ value }}").render(b"1e999") == "1e999"
    with pytest.raises(DiscoveryError, match="not JSON"):  # too deep: not read
        ValueTemplate.parse("{{ value_json.x }}").render(b"[" * 100_000)
    with pytest.raises(DiscoveryError, match="has no /missing"):
        ValueTemplate.parse("{{ value_json.missing }}").render(payload)
    with pytest.raises(DiscoveryError, match="not JSON"):
        ValueTemplate.parse("{{ value_json.x }}").render(b"ON")
    # Home Assistant's extensions are named, never guessed
    with pytest.raises(DiscoveryError, match="uses as_timestamp, a Home Assistant extension"):
        ValueTemplate.parse("{{ as_timestamp(value) }}")
    with pytest.raises(DiscoveryError, match=r"No filter named 'is_defined'.*extension"):
        ValueTemplate.parse("{{ value_json.x | is_defined }}")
    with pytest.raises(DiscoveryError, match="not supported"):
        ValueTemplate.parse("{{ value_json.x ")
    # the sandbox refuses what a template must not do
    with pytest.raises(DiscoveryError):
        ValueTemplate.parse("{{ value.__class__.__mro__ }}").render(b"1")
    with pytest.raises(DiscoveryError, match="longer than"):
        ValueTemplate.parse("{{ value }}" * 1000)
    # nor build huge values, nor loop
    with pytest.raises(DiscoveryError, match="a product longer than 65536"):
        ValueTemplate.parse('{{ "x" * 10**9 }}').render(b"1")
    with pytest.raises(DiscoveryError, match="an exponent above 64"):
        ValueTemplate.parse("{{ value_json ** 100000000 }}").render(b"7")
    with pytest.raises(DiscoveryError, match="loops and macros are not"):
        ValueTemplate.parse("{% for i in range(99999) %}{{ i }}{% endfor %}")


def test_discovery_announces_replaces_and_removes() -> None:
    discovery = Discovery()
    topic = "homeassistant/light/kitchen/config"
    outcome = discovery.config(topic, json.dumps(KITCHEN_LIGHT).encode())
    assert outcome is not None
    assert not outcome.errors
    (light,) = outcome.added
    # abbreviations expanded, ~ replaced
    assert (light.device, light.unique_id, light.state_topic) == (
        "kitchen_light",
        "kitchen_light",
        "homeassistant/light/kitchen/state",
    )
    assert discovery.watches("homeassistant/light/kitchen/state")
    assert discovery.state("homeassistant/light/kitchen/state", b'{"state":"ON"}') == [
        (light, '{"state":"ON"}', None)
    ]
    bad = discovery.config(topic, b"[1, 2]")
    assert bad is not None
    assert bad.errors == [("kitchen", f"{topic}: the config is not a JSON object")]
    assert discovery.entities  # kept as it was
    wildcard = discovery.config(topic, json.dumps({"state_topic": "a/#"}).encode())
    assert wildcard is not None
    assert "state_topic 'a/#'" in wildcard.errors[0][1]
    gone = discovery.config(topic, b"")
    assert gone is not None
    assert gone.removed == [light]
    assert not discovery.entities
    assert not discovery.watches("homeassistant/light/kitchen/state")
    assert discovery.config("homeassistant/light/kitchen/state", b"x") is None

    device = "homeassistant/device/0AFFD2/config"
    outcome = discovery.config(device, json.dumps(DEVICE).encode())
    assert outcome is not None
    assert [(e.device, e.component, e.unit, e.state_topic) for e in outcome.added] == [
        ("Kitchen", "sensor", "°C", "sensorBedroom/state"),
        ("Kitchen", "sensor", "%", "sensorBedroom/state"),
    ]
    # a component left with its platform only is removed
    smaller = {**DEVICE, "cmps": {**DEVICE["cmps"], "some_unique_id2": {"p": "sensor"}}}  # type: ignore[dict-item]
    outcome = discovery.config(device, json.dumps(smaller).encode())
    assert outcome is not None
    assert [e.object_id for e in outcome.removed] == ["some_unique_id2"]
    assert len(discovery.entities) == 1


def test_availability_modes() -> None:
    discovery = Discovery()
    discovery.config(
        "homeassistant/sensor/0x00158d0001a2b3c4/temperature/config",
        json.dumps(Z2M_TEMPERATURE).encode(),
    )
    bridge, device = "zigbee2mqtt/bridge/state", "zigbee2mqtt/porch/availability"
    assert discovery.availability(bridge, b'{"state":"online"}') == {"porch": None}
    assert discovery.availability(device, b'{"state":"online"}') == {"porch": True}
    assert discovery.availability(bridge, b'{"state":"offline"}') == {"porch": False}
    assert discovery.availability(bridge, b"garbage") == {"porch": False}  # ignored


# --------------------------------------------------------------------------- real publisher


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


async def retained(broker: Mosquitto, topic: str, payload: object) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    if text:
        await mosquitto_pub(broker, "-r", "-t", topic, "-m", text)
    else:
        await mosquitto_pub(broker, "-r", "-t", topic, "-n")


def statuses(recorder: Recorder, device: str) -> list[str]:
    return [p["status"] for p in recorder.payloads("mqtt", device, "status")]


async def test_discovered_entities_become_values_of_their_devices(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    # retained before fleettop connects, as Home Assistant finds them on a restart;
    # the device discovery's state topic is outside fleettop's subscriptions
    await retained(broker, "homeassistant/binary_sensor/garden/config", MOTION)
    await retained(broker, "homeassistant/sensor/sensorBedroomT/config", BEDROOM_T)
    await retained(broker, "homeassistant/sensor/sensorBedroomH/config", BEDROOM_H)
    await retained(broker, "homeassistant/device/0AFFD2/config", DEVICE)
    await retained(broker, "sensorBedroom/state", {"temperature": 19.5, "humidity": 51})
    recorder = Recorder(bus)
    state = FleetState()

    def fold(event: Event) -> None:
        state.apply([event])

    bus.subscribe(("mqtt", "*"), fold, name="fold")
    store = await PropertyStore.open(tmp_path / "fleettop.db")
    feeder = FieldFeeder(bus, store)
    fleet = await started(
        config_for(
            broker.port, subscriptions='[{topic: "homeassistant/#"}, {topic: "zigbee2mqtt/#"}]'
        ),
        bus,
    )
    try:
        await connected(recorder)
        await eventually(lambda: "sensorBedroom/state#/humidity" in fields_of(recorder, "Kitchen"))
        assert fields_of(recorder, "Kitchen") == {
            "sensorBedroom/state#/temperature": [19.5],
            "sensorBedroom/state#/humidity": [51],
        }
        kitchen = state.value(("Kitchen", "sensorBedroom/state#/temperature"))
        assert kitchen is not None
        assert (kitchen.data_type, kitchen.value) == ("number", 19.5)
        assert kitchen.unit == "°C"  # shown after the value in the values table
        info = state.mqtt.info[("Kitchen", "sensorBedroom/state#/temperature")]
        assert (info.unit, info.entity) == ("°C", "some_unique_component_id1")
        entities = recorder.payloads("mqtt", "Kitchen", "entity")
        assert {e["unique_id"] for e in entities} == {"temp01ae_t", "temp01ae_h"}

        await mosquitto_pub(
            broker,
            "-t",
            "homeassistant/sensor/sensorBedroom/state",
            "-m",
            '{ "temperature": 23.20, "humidity": 43.70 }',
        )
        await mosquitto_pub(broker, "-t", "homeassistant/binary_sensor/garden/state", "-m", "ON")
        await eventually(
            lambda: "homeassistant/binary_sensor/garden/state#" in fields_of(recorder, "Garden")
        )
        assert fields_of(recorder, "Bedroom") == {
            "homeassistant/sensor/sensorBedroom/state#/temperature": [23.2],
            "homeassistant/sensor/sensorBedroom/state#/humidity": [43.7],
        }
        assert fields_of(recorder, "Garden") == {
            "homeassistant/binary_sensor/garden/state#": ["ON"]
        }
        assert statuses(recorder, "Garden")[-1] == "ONLINE"
        # without availability, no freshness timeout; expire_after gives one
        fleet.tick(time.time() + 3600)
        assert fleet.devices["Garden"].status == "ONLINE"
        await retained(
            broker, "homeassistant/binary_sensor/garden/config", {**MOTION, "expire_after": 300}
        )
        await eventually(lambda: fleet.devices["Garden"].timeout == 300)
        fleet.tick(time.time() + 301)
        assert fleet.devices["Garden"].status == "OFFLINE"
        await eventually(lambda: statuses(recorder, "Garden")[-1] == "OFFLINE")
        await mosquitto_pub(broker, "-t", "homeassistant/binary_sensor/garden/state", "-m", "OFF")
        await eventually(lambda: statuses(recorder, "Garden")[-1] == "ONLINE")

        # Zigbee2MQTT: availability "all" of the bridge and the device; a computed
        # template; a template using a Home Assistant extension is reported
        base = "homeassistant/sensor/0x00158d0001a2b3c4"
        await retained(broker, f"{base}/temperature/config", Z2M_TEMPERATURE)
        await retained(broker, f"{base}/fahrenheit/config", FAHRENHEIT)
        await retained(broker, f"{base}/last_seen/config", EXTENSION)
        await eventually(lambda: len(recorder.payloads("mqtt", "porch", "entity")) == 2)

        def refused() -> bool:
            warnings = recorder.payloads("mqtt", "@plant", "warning")
            return any("as_timestamp, a Home Assistant extension" in w["message"] for w in warnings)

        await eventually(refused)  # the third config: refused with the reason
        assert len(recorder.payloads("mqtt", "porch", "entity")) == 2
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/bridge/state", "-m", '{"state":"online"}')
        await mosquitto_pub(
            broker, "-t", "zigbee2mqtt/porch/availability", "-m", '{"state":"online"}'
        )
        await eventually(lambda: statuses(recorder, "porch")[-1:] == ["ONLINE"])
        await mosquitto_pub(
            broker, "-t", "zigbee2mqtt/porch", "-m", '{"temperature": 21.5, "linkquality": 90}'
        )
        await eventually(lambda: len(fields_of(recorder, "porch")) == 2)
        assert fields_of(recorder, "porch") == {
            "zigbee2mqtt/porch#/temperature": [21.5],
            "zigbee2mqtt/porch#@fahrenheit": [70.7],
        }
        field = recorder.payloads("mqtt", "porch", "field")[0]
        assert (field["unit"], field["entity"]) == ("°C", "porch_temperature")
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/bridge/state", "-m", '{"state":"offline"}')
        await eventually(lambda: statuses(recorder, "porch")[-1:] == ["OFFLINE"])
        assert recorder.payloads("mqtt", "porch", "status")[-1]["reason"] == (
            "zigbee2mqtt/bridge/state says not available"
        )

        # an empty retained config removes the entity: its row goes, no more values
        assert state.value(("Bedroom", "homeassistant/sensor/sensorBedroom/state#/humidity"))
        await retained(broker, "homeassistant/sensor/sensorBedroomH/config", "")
        await eventually(
            lambda: any(e.get("removed") for e in recorder.payloads("mqtt", "Bedroom", "entity"))
        )
        await eventually(
            lambda: (
                state.value(("Bedroom", "homeassistant/sensor/sensorBedroom/state#/humidity"))
                is None
            )
        )
        await mosquitto_pub(
            broker,
            "-t",
            "homeassistant/sensor/sensorBedroom/state",
            "-m",
            '{ "temperature": 23.4, "humidity": 44.1 }',
        )
        await eventually(
            lambda: (
                len(
                    fields_of(recorder, "Bedroom")[
                        "homeassistant/sensor/sensorBedroom/state#/temperature"
                    ]
                )
                == 2
            )
        )
        assert fields_of(recorder, "Bedroom")[
            "homeassistant/sensor/sensorBedroom/state#/humidity"
        ] == [43.7]
        # the property store keeps the entities' values like any field
        await eventually(lambda: feeder.stored >= 8)
        await feeder.aclose()
        await store.flush()
        porch = {p.path: p.value for p in await store.query("porch", FIELDS_INTERFACE)}
        assert porch == {
            "/zigbee2mqtt/porch/temperature": 21.5,
            "/zigbee2mqtt/porch@fahrenheit": 70.7,
        }
        garden = {p.path: p.value for p in await store.query("Garden", FIELDS_INTERFACE)}
        assert garden == {"/homeassistant/binary_sensor/garden/state": "OFF"}
    finally:
        await fleet.aclose()
        await feeder.aclose()
        await store.aclose()
