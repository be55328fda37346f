"""Payload formats as operators meet them (issue 15): MessagePack and CBOR chosen by
MQTT 5 Content Type, by the broker's ``payloads:`` rules or by the safe guess, the
base64 view, malformed payloads (hex and the decoder's message, never a traceback),
and MQTT 5 metadata in the detail pane.

Real publishers: a paho MQTT 5 client (Content Type, user properties, response
topic, correlation data, message expiry) and ``mosquitto_pub`` through Debian
``mosquitto`` (tests/mqtt_peers.py); the bytes are made by the ``msgpack`` and
``cbor2`` libraries themselves.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from pathlib import Path
from typing import Any

import cbor2
import msgpack
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from console.config import parse_config
from console.events import Event, EventManager
from console.fleet import FleetState
from console.mqtt.codec import decode_payload, decoder_for
from console.mqtt.metadata import metadata_lines
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.test_mqtt_broker import Recorder, config_for, connected, messages, started
from tests.waiting import eventually

READING = {"temperature": 26.1, "humidity": 48.5, "ok": True, "tags": ["a", "b"]}


# --------------------------------------------------------------------------- decoders


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (msgpack.packb(READING), "msgpack"),
        (cbor2.dumps(READING), "cbor"),
        (cbor2.dumps(READING, canonical=True), "cbor"),
        (b"\xd9\xd9\xf7" + cbor2.dumps([1, 2]), "cbor"),  # self-described CBOR (tag 55799)
    ],
)
def test_msgpack_and_cbor_maps_are_guessed(data: bytes, fmt: str) -> None:
    decoded = decode_payload(data)
    assert decoded.format == fmt
    assert decoded.error is None
    if isinstance(decoded.value, dict):
        assert decoded.value == READING
        assert '"temperature": 26.1' in decoded.text


@pytest.mark.parametrize(
    "data",
    [
        msgpack.packb(7),  # any byte is a MessagePack integer: never guessed
        msgpack.packb([1, 2, 3]),  # an array: not guessed
        cbor2.dumps([1, 2, 3]),
        msgpack.packb({1: 2}),  # a map without text keys
        msgpack.packb(READING) + b"\x00",  # a byte left over
        cbor2.dumps(READING)[:-1],  # a byte short
        b"\x81\xa1a",  # a MessagePack map cut short
    ],
    ids=["int", "mp-array", "cbor-array", "int-keys", "extra", "short", "cut"],
)
def test_the_guess_is_safe(data: bytes) -> None:
    decoded = decode_payload(data)
    assert decoded.format in ("binary", "text")
    assert decoded.error is None


def test_content_type_and_configured_format_choose_the_decoder() -> None:
    assert decoder_for("application/msgpack", None) == "msgpack"
    assert decoder_for("Application/CBOR; charset=binary", "msgpack") == "cbor"
    assert decoder_for("application/vnd.api+json", None) == "json"
    assert decoder_for("text/plain", "cbor") == "text"
    assert decoder_for("application/x-unknown", "cbor") == "cbor"  # unknown type: the rule
    assert decoder_for(None, "nonsense") is None
    # a declared decoder reads what the guess never would: a MessagePack array
    array = msgpack.packb([1, 2.5, "x"])
    assert decode_payload(array, content_type="application/msgpack").value == [1, 2.5, "x"]
    assert decode_payload(array).format == "binary"
    # text stays text when declared so, even when it looks like JSON
    assert decode_payload(b'{"a": 1}', declared="text").format == "text"


def test_extension_types_tags_and_timestamps_are_shown_as_json() -> None:
    when = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    packed = msgpack.packb(
        {"at": msgpack.Timestamp.from_datetime(when), "x": msgpack.ExtType(5, b"\x01")},
        datetime=False,
    )
    decoded = decode_payload(packed)
    assert decoded.value == {
        "at": {"$date": "2026-12-07T12:00:00.000Z"},
        "x": {"$ext": 5, "data": "AQ=="},
    }
    tagged = cbor2.dumps({"blob": b"\x00\xff", "t": cbor2.CBORTag(4242, "v"), 7: "int key"})
    value = decode_payload(tagged, content_type="application/cbor").value
    assert value == {
        "blob": {"$binary": "AP8="},
        "t": {"$tag": 4242, "value": "v"},
        "7": "int key",
    }


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"\x81\xa1a", "application/msgpack", "msgpack payload does not decode: "),
        (msgpack.packb(1) + b"\x01", "application/msgpack", "more bytes after"),
        (b"\xc1", "application/msgpack", "msgpack payload does not decode: "),  # never used
        (b"\xa1\x61", "application/cbor", "cbor payload does not decode: "),
        (cbor2.dumps(1) + b"\x01", "application/cbor", "1 more bytes after the first CBOR"),
        (b"\x9f" * 60_000, "application/cbor", "cbor payload does not decode: "),  # deep
        (b"\x91" * 60_000, "application/msgpack", "msgpack payload does not decode: "),
        (b"\xff\x00", "application/json", "json payload is not UTF-8 text"),
        (b"abc\x00", "application/bson", "bson payload does not decode: "),
    ],
    ids=[
        "mp-short",
        "mp-extra",
        "mp-c1",
        "cbor-short",
        "cbor-extra",
        "cbor-deep",
        "mp-deep",
        "json-bytes",
        "bson-bad",
    ],
)
def test_malformed_payloads_show_hex_and_the_decoders_message(
    data: bytes, content_type: str, message: str
) -> None:
    decoded = decode_payload(data, content_type=content_type)
    assert decoded.format == "binary"
    assert decoded.error is not None
    assert message in decoded.error
    first, _, rest = decoded.text.partition("\n")
    assert first == decoded.error
    assert rest.startswith("00000000  " + data[:1].hex())
    assert "Traceback" not in decoded.text
    assert decoded.base64 is not None
    assert base64.b64decode(decoded.base64.replace("\n", "")) == data[:65536]


def test_bad_json_declared_keeps_the_text_with_the_error() -> None:
    decoded = decode_payload(b'{"a": ', content_type="application/json")
    assert decoded.format == "text"
    assert decoded.error is not None
    assert decoded.error.startswith("json payload does not decode")


def test_binary_has_a_base64_view() -> None:
    data = bytes(range(256))
    decoded = decode_payload(data)
    assert decoded.format == "binary"
    assert decoded.base64 is not None
    assert all(len(line) <= 76 for line in decoded.base64.splitlines())
    assert base64.b64decode(decoded.base64.replace("\n", "")) == data
    assert decode_payload(b"text").base64 is None


def test_metadata_lines() -> None:
    lines = metadata_lines(
        {
            "ContentType": "application/cbor",
            "PayloadFormatIndicator": 0,
            "UserProperty": [["site", "plant-7"], ["line", "\x1b[31m"]],
            "ResponseTopic": "reply/here",
            "CorrelationData": "0a0b",
            "MessageExpiryInterval": 30,
        }
    )
    assert lines == [
        "MQTT 5 properties:",
        "  content type: application/cbor",
        "  payload format: 0 (bytes)",
        "  response topic: reply/here",
        "  correlation data: 0x0a0b",
        "  message expiry: 30 s",
        "  user property: site = plant-7",
        "  user property: line = \\x1b[31m",
    ]
    assert metadata_lines(None) == []


# --------------------------------------------------------------------------- real publishers


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def paho_publish(port: int, items: list[tuple[str, bytes, Properties | None]]) -> None:
    """Publish ``items`` with a bare paho MQTT 5 client, each at QoS 1 (waits for
    every PUBACK)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    done = threading.Event()
    client.on_connect = lambda *args: done.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(10)
        for topic, data, props in items:
            client.publish(topic, data, qos=1, properties=props).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_props(content_type: str | None = None, **more: Any) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if content_type is not None:
        props.ContentType = content_type
    for name, value in more.items():
        setattr(props, name, value)
    return props


async def test_msgpack_and_cbor_publishers_with_content_type_and_rules(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    recorder = Recorder(bus)
    fleet = await started(
        config_for(
            broker.port,
            subscriptions='[{topic: "lab/#", qos: 1}]',
            payloads='[{topic: "lab/legacy/#", format: cbor}]',
            device_rules='[{template: "lab/{device}/#"}]',
        ),
        bus,
    )
    state = FleetState()

    def fold(event: Event) -> None:
        state.apply([event])

    bus.subscribe(("mqtt", "*"), fold, name="fold")
    try:
        await connected(recorder)
        reading_mp = msgpack.packb(READING)
        reading_cbor = cbor2.dumps(READING)
        await bus_thread(
            paho_publish,
            broker.port,
            [
                ("lab/mp/reading", reading_mp, publish_props("application/msgpack")),
                ("lab/cb/reading", reading_cbor, publish_props("application/cbor")),
                ("lab/cb/array", cbor2.dumps([1, 2]), publish_props("application/cbor")),
                ("lab/bad/reading", b"\x81\xa1a", publish_props("application/msgpack")),
                (
                    "lab/meta/reading",
                    b"21.5",
                    publish_props(
                        "text/plain",
                        UserProperty=[("site", "plant-7"), ("line", "3")],
                        ResponseTopic="lab/meta/reply",
                        CorrelationData=b"\x0a\x0b",
                        MessageExpiryInterval=300,
                        PayloadFormatIndicator=1,
                    ),
                ),
            ],
        )
        # an MQTT 3.1.1 publisher cannot say: the broker's payloads: rule does
        (tmp_path / "legacy").write_bytes(cbor2.dumps([3, 4]))
        await mosquitto_pub(broker, "-t", "lab/legacy/x", "-f", str(tmp_path / "legacy"))
        (tmp_path / "guess").write_bytes(reading_mp)
        await mosquitto_pub(broker, "-t", "lab/guess/x", "-f", str(tmp_path / "guess"))
        await eventually(lambda: len(messages(recorder)) >= 7)
        by_topic = {m["topic"]: m for m in messages(recorder)}
        mqtt = state.mqtt

        def shown(device: str, topic: str) -> Any:
            return mqtt.payload((device, topic))

        assert shown("mp", "lab/mp/reading").format == "msgpack"
        assert shown("mp", "lab/mp/reading").value == READING
        assert shown("cb", "lab/cb/reading").value == READING
        assert shown("cb", "lab/cb/array").value == [1, 2]
        bad = shown("bad", "lab/bad/reading")
        assert bad.format == "binary"
        assert bad.error.startswith("msgpack payload does not decode: ")
        assert bad.text.splitlines()[1].startswith("00000000  81 a1 61")
        assert by_topic["lab/legacy/x"]["format"] == "cbor"
        assert shown("legacy", "lab/legacy/x").value == [3, 4]
        assert "format" not in by_topic["lab/guess/x"]
        assert shown("guess", "lab/guess/x").format == "msgpack"
        # the table cell says the format
        cell = state.value(("cb", "lab/cb/reading"))
        assert cell is not None
        assert cell.data_type == "cbor"

        meta = by_topic["lab/meta/reading"]["properties"]
        assert meta["ContentType"] == "text/plain"
        assert meta["UserProperty"] == [["site", "plant-7"], ["line", "3"]]
        assert meta["ResponseTopic"] == "lab/meta/reply"
        assert meta["CorrelationData"] == "0a0b"
        assert meta["PayloadFormatIndicator"] == 1
        assert 0 < meta["MessageExpiryInterval"] <= 300
        lines = metadata_lines(mqtt.info[("meta", "lab/meta/reading")].properties)
        assert "  user property: site = plant-7" in lines
        assert "  response topic: lab/meta/reply" in lines
    finally:
        await fleet.aclose()


async def bus_thread(function: Any, *args: Any) -> None:
    import asyncio

    await asyncio.to_thread(function, *args)


# --------------------------------------------------------------------------- websockets


@pytest.mark.peer("mosquitto")
async def test_websockets_with_mosquitto(tmp_path: Path, bus: EventManager) -> None:
    """``transport: websockets`` against mosquitto's websockets listener: MQTT 5
    properties arrive whole, and fleettop's own publish goes out over it too."""
    recorder = Recorder(bus)
    with Mosquitto(tmp_path / "broker", websockets=True) as broker:
        assert broker.ws_port is not None
        fleet = await started(
            config_for(
                broker.ws_port,
                subscriptions='[{topic: "ws/#", qos: 1}]',
                transport="websockets",
                websocket_path="/mqtt",
            ),
            bus,
        )
        try:
            await connected(recorder)
            status = recorder.payloads("mqtt", "@plant", "status")[-1]
            assert status["address"] == f"127.0.0.1:{broker.ws_port}"
            # an independent publisher on the plain listener
            await bus_thread(
                paho_publish,
                broker.port,
                [
                    (
                        "ws/in",
                        cbor2.dumps({"a": 1}),
                        publish_props("application/cbor", UserProperty=[("k", "v")]),
                    )
                ],
            )
            assert (await fleet.publish("plant", "ws/echo", b"over websockets", qos=1)).success
            await eventually(lambda: len(messages(recorder)) == 2)
            by_topic = {m["topic"]: m for m in messages(recorder)}
            inbound = by_topic["ws/in"]
            assert inbound["properties"]["UserProperty"] == [["k", "v"]]
            assert decode_payload(
                base64.b64decode(inbound["payload"]),
                content_type=inbound["properties"]["ContentType"],
            ).value == {"a": 1}
            assert base64.b64decode(by_topic["ws/echo"]["payload"]) == b"over websockets"
            assert broker.log_lines("as fleettop-")  # the broker saw fleettop's client
        finally:
            await fleet.aclose()


@pytest.mark.peer("mosquitto")
async def test_secure_websockets_with_client_certificates(
    tmp_path: Path, bus: EventManager
) -> None:
    """``wss``: websockets over TLS, the broker requiring a client certificate."""
    from tests.mqtt_peers import make_certificates

    certs = make_certificates(tmp_path / "certs")
    recorder = Recorder(bus)
    with Mosquitto(
        tmp_path / "broker", certificates=certs, client_certificates=True, websockets=True
    ) as broker:
        assert broker.ws_port is not None
        tls = (
            f"{{ca_certs: {certs.ca}, certfile: {certs.client_cert}, keyfile: {certs.client_key}}}"
        )
        text = (
            "brokers:\n"
            f"  - name: plant\n    host: localhost\n    port: {broker.ws_port}\n"
            "    transport: websockets\n"
            f"    tls: {tls}\n"
            "    subscriptions: [{topic: 'wss/#', qos: 1}]\n"
            f"  - name: nocert\n    host: localhost\n    port: {broker.ws_port}\n"
            "    transport: websockets\n"
            f"    tls: {{ca_certs: {certs.ca}}}\n"
            "    reconnect: {min: 0.2, max: 0.5}\n"
        )
        fleet = await started(parse_config(text, environ={}), bus)
        try:
            await connected(recorder)
            assert (await fleet.publish("plant", "wss/x", b"secure", qos=1)).success
            await eventually(lambda: len(messages(recorder)) == 1)
            assert base64.b64decode(messages(recorder)[0]["payload"]) == b"secure"
            await eventually(lambda: "DISCONNECTED" in recorder.statuses("nocert"))
            assert "CONNECTED" not in recorder.statuses("nocert")
        finally:
            await fleet.aclose()
