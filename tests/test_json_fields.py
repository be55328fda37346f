"""JSON fields as values (issue 15 §1): the leaves of JSON object payloads become
values keyed by topic and JSON Pointer (RFC 6901), with type, change detection and
alarms naming a field. Publishers: ``mosquitto_pub`` with the payload shapes of the
Zigbee2MQTT and Tasmota documentation, and a paho MQTT 5 client with MessagePack and
CBOR payloads, through Debian mosquitto.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cbor2
import msgpack
import pytest

from console.config import AlarmsConfig, JsonFields, parse_config
from console.events import Event, EventManager
from console.fleet import FleetState
from console.mqtt.fields import FieldTracker, escape, leaves, payload_object
from console.notifications.alarms import AlarmBook
from console.store import PropertyStore
from console.store.fields import FIELDS_INTERFACE, FieldFeeder
from console.store.values import PropertyType
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.test_mqtt_broker import Recorder, config_for, connected, started
from tests.test_mqtt_payloads import paho_publish, publish_props
from tests.waiting import eventually

# Zigbee2MQTT (zigbee2mqtt.io, "MQTT Topics and Messages": zigbee2mqtt/FRIENDLY_NAME)
Z2M_SENSOR = {
    "temperature": 26.1,
    "humidity": 48.5,
    "pressure": 1012.4,
    "battery": 97,
    "voltage": 2995,
    "linkquality": 134,
}
# Tasmota (tasmota.github.io, "MQTT": tele/%topic%/SENSOR of an energy monitor)
TASMOTA_SENSOR = {
    "Time": "2026-12-07T12:00:00",
    "ENERGY": {
        "TotalStartTime": "2026-01-01T00:00:00",
        "Total": 12.345,
        "Yesterday": 0.812,
        "Today": 0.402,
        "Period": 2,
        "Power": 150,
        "ApparentPower": 160,
        "ReactivePower": 55,
        "Factor": 0.94,
        "Voltage": 231,
        "Current": 0.693,
    },
}

RULES = """    device_rules:
      - template: "zigbee2mqtt/{device}"
        fields: {exclude: ["/linkquality"]}
      - template: "tele/{device}/#"
        fields: {include: ["/ENERGY"], limit: 4}
      - template: "lab/{device}/#"
"""


# --------------------------------------------------------------------------- leaves


def test_leaves_are_json_pointers_in_document_order() -> None:
    document = {"a/b": 1, "m~n": {"x": [True, None]}, "e": {}, "s": "t"}
    assert leaves(document, JsonFields()) == [
        ("/a~1b", 1),
        ("/m~0n/x/0", True),
        ("/m~0n/x/1", None),
        ("/e", {}),
        ("/s", "t"),
    ]
    assert escape("a/~b") == "a~1~0b"
    assert leaves(document, JsonFields(limit=2)) == [("/a~1b", 1), ("/m~0n/x/0", True)]
    assert leaves(document, JsonFields(include=("/m~0n/x/1", "/s"))) == [
        ("/m~0n/x/1", None),
        ("/s", "t"),
    ]
    assert leaves(document, JsonFields(exclude=("/m~0n",))) == [
        ("/a~1b", 1),
        ("/e", {}),
        ("/s", "t"),
    ]


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"[1, 2]", None),  # an array: not an object
        (b"21.5", None),
        (b'{"a": ', None),  # malformed JSON: no fields, no error
        (b"\x81\xa1a", "application/msgpack"),  # malformed MessagePack
        (b"{" + b" " * 300_000 + b"}", None),  # too large to read for fields
    ],
    ids=["array", "number", "bad-json", "bad-msgpack", "large"],
)
def test_payloads_without_fields(payload: bytes, content_type: str | None) -> None:
    assert payload_object(payload, content_type, None) is None


def test_changes_only() -> None:
    tracker = FieldTracker(topics=2)
    assert tracker.changes("d", "t", [("/a", 1), ("/b", 2)]) == [
        ("/a", 1, None, True),
        ("/b", 2, None, True),
    ]
    assert tracker.changes("d", "t", [("/a", 1), ("/b", 3)]) == [("/b", 3, 2, False)]
    assert tracker.changes("d", "t", [("/a", 1.0), ("/b", 3)]) == [("/a", 1.0, 1, False)]  # type
    tracker.changes("d", "u", [("/a", 1)])
    tracker.changes("d", "v", [("/a", 1)])  # "t" is forgotten (2 topics kept)
    assert tracker.changes("d", "t", [("/a", 1.0)]) == [("/a", 1.0, None, True)]
    # bounded by leaves too: 100 topics of 10 leaves keep at most 25 leaves
    bounded = FieldTracker(leaves=25)
    for index in range(100):
        bounded.changes("d", f"t{index}", [(f"/{i}", i) for i in range(10)])
        assert bounded.held <= 25
    assert bounded.changes("d", "t99", [(f"/{i}", i) for i in range(10)]) == []  # kept
    assert len(bounded.changes("d", "t0", [("/0", 0)])) == 1  # forgotten: new again


# --------------------------------------------------------------------------- real publishers


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def fields_of(recorder: Recorder, device: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for event in recorder.of("mqtt", device, "field"):
        payload: Any = event.payload
        found.setdefault(f"{event.type[3]}#{event.type[4]}", []).append(payload["value"])
    return found


async def test_zigbee2mqtt_and_tasmota_payloads_become_values_and_raise_alarms(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    recorder = Recorder(bus)
    store = await PropertyStore.open(tmp_path / "fleettop.db")
    feeder = FieldFeeder(bus, store)
    state = FleetState()

    def fold(event: Event) -> None:
        state.apply([event])

    bus.subscribe(("mqtt", "*"), fold, name="fold")
    alarms_config = parse_config(
        "alarms:\n"
        "  rules:\n"
        "    - {name: hot, field: /temperature, above: 25, deadband: 0.5}\n"
        '    - {name: power, field: /ENERGY/Power, topic: "tele/+/SENSOR", above: 100}\n'
    ).alarms
    assert isinstance(alarms_config, AlarmsConfig)
    book = AlarmBook(bus, alarms_config)
    await book.start()
    fleet = await started(
        config_for(
            broker.port,
            RULES,
            subscriptions='[{topic: "zigbee2mqtt/#"}, {topic: "tele/#"}, {topic: "lab/#"}]',
        ),
        bus,
    )
    try:
        await connected(recorder)
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/living_room", "-m", json.dumps(Z2M_SENSOR))
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/living_room/availability", "-m", "online")
        await mosquitto_pub(
            broker, "-t", "tele/tasmota_kitchen/SENSOR", "-m", json.dumps(TASMOTA_SENSOR)
        )
        await eventually(
            lambda: (
                "tele/tasmota_kitchen/SENSOR#/ENERGY/Today"
                in fields_of(recorder, "tasmota_kitchen")
            )
        )
        room = fields_of(recorder, "living_room")
        assert set(room) == {
            f"zigbee2mqtt/living_room#/{key}" for key in Z2M_SENSOR if key != "linkquality"
        }
        kitchen = fields_of(recorder, "tasmota_kitchen")
        # include /ENERGY, at most 4 leaves: the first four of ENERGY, in order
        assert list(kitchen) == [
            f"tele/tasmota_kitchen/SENSOR#/ENERGY/{key}"
            for key in ("TotalStartTime", "Total", "Yesterday", "Today")
        ]

        value = state.value(("living_room", "zigbee2mqtt/living_room#/temperature"))
        assert value is not None
        assert (value.data_type, value.value, value.cause) == ("number", 26.1, "field")
        battery = state.value(("living_room", "zigbee2mqtt/living_room#/battery"))
        assert battery is not None
        assert battery.data_type == "integer"
        # the raw topic stays a row too
        assert state.value(("living_room", "zigbee2mqtt/living_room")) is not None

        (hot,) = book.open_alarms()
        assert (hot.rule, hot.device, hot.state) == ("hot", "living_room", "active")
        assert "26.1" in hot.message

        # change detection: the same payload again publishes no field event; a new
        # temperature publishes that one field only, and clears the alarm
        before = len(recorder.of("mqtt", "living_room", "field"))
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/living_room", "-m", json.dumps(Z2M_SENSOR))
        cooler = {**Z2M_SENSOR, "temperature": 22.0}
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/living_room", "-m", json.dumps(cooler))
        await eventually(lambda: len(recorder.of("mqtt", "living_room", "field")) > before)
        new: list[Any] = recorder.of("mqtt", "living_room", "field")[before:]
        assert [(e.type[4], e.payload["value"], e.payload["previous"]) for e in new] == [
            ("/temperature", 22.0, 26.1)
        ]
        await eventually(lambda: state_of(book.open_alarms()[0]) == "cleared")
        value = state.value(("living_room", "zigbee2mqtt/living_room#/temperature"))
        assert value is not None
        assert (value.value, value.changes) == (22.0, 1)

        # MessagePack and CBOR objects (MQTT 5 content type) have fields too
        reading = {"temperature": 30.5, "nested": {"ok": True}}
        await asyncio_thread(
            paho_publish,
            broker.port,
            [
                ("lab/mp/x", msgpack.packb(reading), publish_props("application/msgpack")),
                ("lab/cb/x", cbor2.dumps(reading), publish_props("application/cbor")),
            ],
        )
        await eventually(lambda: fields_of(recorder, "cb"))
        await eventually(lambda: fields_of(recorder, "mp"))
        assert fields_of(recorder, "mp") == {
            "lab/mp/x#/temperature": [30.5],
            "lab/mp/x#/nested/ok": [True],
        }
        assert fields_of(recorder, "cb") == {
            "lab/cb/x#/temperature": [30.5],
            "lab/cb/x#/nested/ok": [True],
        }
        await eventually(lambda: {a.device for a in book.open_alarms()} >= {"mp", "cb"})

        # store entries: the last value of each field, typed
        await feeder.aclose()
        await store.flush()
        stored = {p.path: p for p in await store.query("living_room", FIELDS_INTERFACE)}
        temperature = stored["/zigbee2mqtt/living_room/temperature"]
        assert (temperature.type, temperature.value, temperature.native_type) == (
            PropertyType.DOUBLE, 22.0, "number",
        )  # fmt: skip
        assert stored["/zigbee2mqtt/living_room/battery"].value == 97
        assert "/zigbee2mqtt/living_room/linkquality" not in stored
        power = await store.query("tasmota_kitchen", FIELDS_INTERFACE)
        assert [p.path for p in power] == [
            f"/tele/tasmota_kitchen/SENSOR/ENERGY/{key}"
            for key in ("Today", "Total", "TotalStartTime", "Yesterday")
        ]
    finally:
        await fleet.aclose()
        await book.aclose()
        await feeder.aclose()
        await store.aclose()


def state_of(alarm: Any) -> str:
    return str(alarm.state)


async def asyncio_thread(function: Any, *args: Any) -> None:
    import asyncio

    await asyncio.to_thread(function, *args)


STATUS_RULES = """    device_rules:
      - template: "zigbee2mqtt/{device}"
        status: {topic: "zigbee2mqtt/{device}/availability", field: /state}
      - template: "tele/{device}/#"
        status: {topic: "tele/{device}/LWT", online: Online, offline: Offline}
      - template: "stat/{device}/#"
"""


async def test_device_rules_take_the_availability_and_lwt_topics_as_status(
    broker: Mosquitto, bus: EventManager
) -> None:
    # retained, as Zigbee2MQTT and Tasmota publish them (Tasmota's LWT is its Will)
    await mosquitto_pub(broker, "-r", "-t", "tele/tasmota_kitchen/LWT", "-m", "Online")
    await mosquitto_pub(
        broker, "-r", "-t", "zigbee2mqtt/living_room/availability", "-m", '{"state":"online"}'
    )
    recorder = Recorder(bus)
    fleet = await started(
        config_for(
            broker.port,
            STATUS_RULES,
            subscriptions='[{topic: "zigbee2mqtt/#"}, {topic: "tele/#"}, {topic: "stat/#"}]',
        ),
        bus,
    )

    def status(device: str) -> tuple[str, str | None] | None:
        found = recorder.payloads("mqtt", device, "status")
        return (found[-1]["status"], found[-1]["reason"]) if found else None

    try:
        await connected(recorder)
        # the status topics alone make the devices, ONLINE
        await eventually(lambda: status("tasmota_kitchen") == ("ONLINE", None))
        await eventually(lambda: status("living_room") == ("ONLINE", None))
        kitchen = fleet.devices["tasmota_kitchen"]
        assert (kitchen.status_topic, kitchen.online_payload) == (
            "tele/tasmota_kitchen/LWT",
            b"Online",
        )
        # tele/ and stat/ are one device; the LWT gives no field and no data row
        await mosquitto_pub(
            broker, "-t", "tele/tasmota_kitchen/SENSOR", "-m", json.dumps(TASMOTA_SENSOR)
        )
        await mosquitto_pub(broker, "-t", "stat/tasmota_kitchen/RESULT", "-m", '{"POWER":"ON"}')
        await eventually(
            lambda: "stat/tasmota_kitchen/RESULT#/POWER" in fields_of(recorder, "tasmota_kitchen")
        )
        assert not any(
            k.startswith("tele/tasmota_kitchen/LWT") for k in fields_of(recorder, "tasmota_kitchen")
        )

        # the Last Will and Zigbee2MQTT's availability say offline: OFFLINE, with the
        # topic; the legacy plain-text availability is read too
        await mosquitto_pub(broker, "-r", "-t", "tele/tasmota_kitchen/LWT", "-m", "Offline")
        await eventually(
            lambda: (
                status("tasmota_kitchen") == ("OFFLINE", "tele/tasmota_kitchen/LWT says offline")
            )
        )
        await mosquitto_pub(broker, "-t", "zigbee2mqtt/living_room", "-m", json.dumps(Z2M_SENSOR))
        await mosquitto_pub(
            broker, "-r", "-t", "zigbee2mqtt/living_room/availability", "-m", '{"state":"offline"}'
        )
        await eventually(lambda: (status("living_room") or ("",))[0] == "OFFLINE")
        await mosquitto_pub(
            broker, "-r", "-t", "zigbee2mqtt/living_room/availability", "-m", "online"
        )
        await eventually(lambda: status("living_room") == ("ONLINE", None))
        assert fleet.devices["living_room"].status_field == "/state"
    finally:
        await fleet.aclose()
