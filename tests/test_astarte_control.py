"""The Astarte SDK's control flows (issue 15 §5): purge lists and an interface's new
major version, with the real ``astarte-device-sdk`` 0.14 as the peer (its own
``DeviceMqtt`` and encoder, through a recording MQTT client, in a virtual
environment of its own: tests/data/astarte_sdk_device.py), the bytes delivered
through Debian mosquitto to fleettop and its property store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from console.config import parse_config
from console.events import EventManager
from console.mqtt.devices import purge_list
from console.mqtt.fleet import MqttFleet
from console.store import PropertyStore
from console.store.mqtt import MqttPropertyFeeder
from tests.mqtt_peers import Mosquitto
from tests.sparkplug_peers import peer_python
from tests.test_mqtt_broker import Recorder
from tests.test_mqtt_payloads import paho_publish
from tests.waiting import eventually

SDK = "astarte-device-sdk==0.14.0"
SCRIPT = Path(__file__).parent / "data" / "astarte_sdk_device.py"
DEVICE_ID = "2TBn-jNESuuHamE2Zo1anA"
NAME = "com.example.DeviceSettings"


def interface(major: int) -> dict[str, Any]:
    return {
        "interface_name": NAME,
        "version_major": major,
        "version_minor": 0,
        "type": "properties",
        "ownership": "device",
        "mappings": [{"endpoint": "/%{key}", "type": "integer", "allow_unset": True}],
    }


def test_purge_lists() -> None:
    text = b"a.B/x;a.B/y/z"
    assert purge_list(len(text).to_bytes(4, "little") + zlib.compress(text)) == [
        ("a.B", "/x"),
        ("a.B", "/y/z"),
    ]
    assert purge_list(b"\x00\x00\x00\x00" + zlib.compress(b"")) == []
    for bad, why in [
        (b"\x01", "a purge list is a 4-byte length and zlib data, got 1 bytes"),
        (b"\x00\x00\x00\x05hello", "the purge list is not zlib data"),
        (b"\x00\x00\x00\x01" + zlib.compress(b"\xff"), "the purge list is not UTF-8 text"),
        (b"\x00\x00\x00\x01" + zlib.compress(b"nopath"), "is not INTERFACE/PATH"),
    ]:
        with pytest.raises(ValueError, match=why):
            purge_list(bad)


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def sdk_bytes(tmp_path: Path) -> dict[str, list[tuple[str, bytes, int]]]:
    """What the real SDK publishes in each step (see the script's docstring)."""
    python = peer_python(SDK)
    files = []
    for major in (1, 2):
        path = tmp_path / f"v{major}.json"
        path.write_text(json.dumps(interface(major)))
        files.append(str(path))
    work = tmp_path / "sdk"
    work.mkdir()
    done = subprocess.run(
        [str(python), str(SCRIPT), str(work), *files], capture_output=True, check=True
    )
    steps: dict[str, list[list[Any]]] = json.loads(done.stdout)
    return {
        step: [(topic, base64.b64decode(data), qos) for topic, data, qos in sent]
        for step, sent in steps.items()
    }


async def fleet_for(port: int, interfaces: Path, bus: EventManager) -> MqttFleet:
    config = parse_config(
        f"interfaces_dir: {interfaces}\n"
        "brokers:\n"
        f"  - {{name: plant, host: 127.0.0.1, port: {port}, protocol: '3.1.1',"
        " reconnect: {min: 0.2, max: 1}}\n"
        "devices:\n"
        "  - name: thermo\n"
        f"    mqtt: {{broker: plant, astarte: {{realm: demo, device_id: {DEVICE_ID}}}}}\n",
        environ={},
    )
    fleet = MqttFleet(config, bus)
    await fleet.start()
    return fleet


@pytest.mark.peer("astarte-device-sdk")
async def test_purge_list_and_new_major_with_the_sdk(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    sent = await asyncio.to_thread(sdk_bytes, tmp_path)
    recorder = Recorder(bus)
    store = await PropertyStore.open(tmp_path / "fleettop.db")
    feeder = MqttPropertyFeeder(bus, store)
    v1_dir, v2_dir = tmp_path / "v1", tmp_path / "v2"
    for directory, major in ((v1_dir, 1), (v2_dir, 2)):
        directory.mkdir()
        (directory / f"{NAME}.json").write_text(json.dumps(interface(major)))

    async def deliver(step: str) -> None:
        items: list[Any] = [(topic, data, None) for topic, data, _ in sent[step]]
        await asyncio.to_thread(paho_publish, broker.port, items)

    async def stored() -> dict[str, tuple[int, Any]]:
        await store.flush()
        props = await store.load_all_props("thermo")
        return {p.path: (p.major, p.value) for p in props}

    def purges() -> int:
        return len(recorder.of("mqtt", "thermo", "purge"))

    fleet = await fleet_for(broker.port, v1_dir, bus)
    try:
        await eventually(lambda: fleet.connections["plant"].status == "CONNECTED")
        await eventually(lambda: broker.log_lines("Received SUBSCRIBE from"))
        await deliver("session")
        await eventually(lambda: len(recorder.of("mqtt", "thermo", "property")) == 7)
        await eventually(lambda: feeder.stored >= 7)
        assert await stored() == {f"/p{i}": (1, i * 10) for i in range(1, 8)}
        # the SDK's clean session starts with control/emptyCache ("1"), before its
        # properties and purge list: the device's cache of server-owned properties
        # is empty (Astarte would send them again); fleettop records it
        cache = [t for t, _, _ in sent["session"] if t.endswith("/control/emptyCache")]
        assert cache == [f"demo/{DEVICE_ID}/control/emptyCache"]
        (empty,) = recorder.payloads("mqtt", "thermo", "empty_cache")
        assert (empty["topic"], empty["payload"]) == (cache[0], "1")
        assert fleet.devices["thermo"].empty_cache_at == empty["received"]
        order = [e.type[2] for e in recorder.of("mqtt", "thermo") if e.type[2] != "message"]
        assert order.index("empty_cache") < order.index("purge") < order.index("property")
        # the first purge list (sent before the values, empty): nothing to keep yet
        assert purges() == 1
        assert recorder.payloads("mqtt", "thermo", "purge")[0]["keep"] == []

        # /p7 was unset while fleettop was away; the reconnection's purge list lacks it
        await deliver("reconnect")
        await eventually(lambda: purges() == 2)
        assert len(recorder.payloads("mqtt", "thermo", "empty_cache")) == 2
        await feeder.subscription.drain()
        assert await stored() == {f"/p{i}": (1, i * 10) for i in range(1, 7)}
        keep = recorder.payloads("mqtt", "thermo", "purge")[1]
        assert (keep["ownership"], len(keep["keep"])) == ("device", 6)
    finally:
        await fleet.aclose()

    # the interface moves to major 2 (the operator updates interfaces_dir)
    fleet = await fleet_for(broker.port, v2_dir, bus)
    try:
        await eventually(lambda: fleet.connections["plant"].status == "CONNECTED")
        before = purges()
        await deliver("major")
        await eventually(lambda: purges() == before + 1)
        await feeder.subscription.drain()
        assert await stored() == {"/q1": (2, 5)}

        # a purge list that does not decode: a warning, nothing deleted
        await asyncio.to_thread(
            paho_publish,
            broker.port,
            [(f"demo/{DEVICE_ID}/control/producer/properties", b"\x00\x00\x00\x05hello", None)],
        )
        await eventually(lambda: recorder.payloads("mqtt", "thermo", "warning"))
        warning = recorder.payloads("mqtt", "thermo", "warning")[0]["message"]
        assert warning.startswith("control/producer/properties: the purge list is not zlib data")
        assert await stored() == {"/q1": (2, 5)}
    finally:
        await fleet.aclose()
        await feeder.aclose()
        await store.aclose()


PATHS_SCRIPT = Path(__file__).parent / "data" / "astarte_sdk_paths.py"
SENSORS: dict[str, Any] = {
    "interface_name": "org.example.Sensors",
    "version_major": 1,
    "version_minor": 0,
    "type": "datastream",
    "ownership": "device",
    "mappings": [
        {"endpoint": "/%{sensor_id}/double", "type": "double"},
        {"endpoint": "/lights/%{light}/on", "type": "boolean"},
        {"endpoint": "/%{a}/%{b}/value", "type": "integer"},
        {"endpoint": "/fixed/_x9", "type": "string"},
    ],
}
OBJECT: dict[str, Any] = {
    "interface_name": "org.example.Object",
    "version_major": 1,
    "version_minor": 0,
    "type": "datastream",
    "ownership": "device",
    "aggregation": "object",
    "mappings": [
        {"endpoint": "/%{room}/temperature", "type": "double"},
        {"endpoint": "/%{room}/humidity", "type": "double"},
    ],
}
INDIVIDUAL_PATHS = [
    "/1abc/double",
    "/abc/double",
    "/_a1/double",
    "/a-b/double",
    "/a b/double",
    "/a.b/double",
    "/ä/double",
    "/a+/double",
    "//double",
    "/abc/double/x",
    "/lights/1/on",
    "/lights/kitchen/on",
    "/lights/k1/on",
    "/x/y/value",
    "/x/9/value",
    "/fixed/_x9",
    "/fixed/other",
    "abc/double",
    "/ABC_9/double",
]
OBJECT_PATHS = [
    ("/kitchen", {"temperature": 20.0, "humidity": 50.0}),
    ("/1kitchen", {"temperature": 20.0}),
    ("/kitchen", {"pressure": 1.0}),
    ("/room-1", {"humidity": 50.0}),
]


@pytest.mark.peer("astarte-device-sdk")
def test_paths_are_validated_as_the_sdk_validates_them() -> None:
    from console.astarte import ValidationError
    from console.astarte.loader import parse_interface

    python = peer_python(SDK)
    cases = [
        [SENSORS, [[path, None] for path in INDIVIDUAL_PATHS]],
        [OBJECT, [[path, value] for path, value in OBJECT_PATHS]],
    ]
    done = subprocess.run(
        [str(python), str(PATHS_SCRIPT)],
        input=json.dumps(cases).encode(),
        capture_output=True,
        check=True,
    )
    sdk_individual, sdk_object = json.loads(done.stdout)
    assert sdk_individual[0] is False  # the SDK refuses /1abc/double

    def ours(definition: dict[str, Any], path: str, value: object) -> bool:
        interface = parse_interface(definition)
        try:
            interface.validate_path(path, value)
        except ValidationError:
            return False
        return True

    assert [ours(SENSORS, p, None) for p in INDIVIDUAL_PATHS] == sdk_individual
    assert [ours(OBJECT, p, v) for p, v in OBJECT_PATHS] == sdk_object
    # the refusal says why
    with pytest.raises(ValidationError, match=r"'1abc' cannot be the parameter %\{sensor_id\}"):
        parse_interface(SENSORS).validate_path("/1abc/double")
