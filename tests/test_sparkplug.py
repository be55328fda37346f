"""Sparkplug B (issue 15 §2): topics and payloads of the namespace only, the host's
view of edge nodes and devices (BIRTH metrics as values, DATA by name or alias,
DEATH sets OFFLINE, seq and bdSeq checks as warnings), against a real edge node made
with pysparkplug (tests/sparkplug_peers.py) publishing through Debian mosquitto.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from console.astarte import ValidationError
from console.config import parse_config
from console.events import Event, EventManager
from console.fleet import FleetState
from console.mqtt.codec import decode_payload
from console.mqtt.fleet import MqttFleet
from console.mqtt.sparkplug import (
    SparkplugError,
    SparkplugTopic,
    SparkplugTracker,
    decode_sparkplug,
    parse_topic,
    payload_json,
)
from console.mqtt.tahu import Payload
from console.store import PropertyStore
from console.store.fields import SPARKPLUG_INTERFACE, MetricFeeder
from console.store.values import PropertyType
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.sparkplug_peers import EdgeNode
from tests.test_mqtt_broker import Recorder, config_for, connected, messages, started
from tests.waiting import eventually

NODE = "plant1:edge7"
PUMP = "plant1:edge7:pump3"


def payload(seq: int | None, *metrics: dict[str, Any], timestamp: int = 1_700_000_000_000) -> bytes:
    """A Tahu ``Payload`` made with the protobuf definitions (``metrics``: field ->
    value of each ``Metric``)."""
    message = Payload()
    message.timestamp = timestamp
    if seq is not None:
        message.seq = seq
    for fields in metrics:
        metric = message.metrics.add()
        for name, value in fields.items():
            setattr(metric, name, value)
    return bytes(message.SerializeToString())


@contextlib.asynccontextmanager
async def sparkplug_fleet(
    broker: Mosquitto, bus: EventManager, recorder: Recorder
) -> AsyncIterator[MqttFleet]:
    """A fleet subscribed to ``spBv1.0/#`` (QoS 1), connected; closed at the end."""
    fleet = await started(
        config_for(broker.port, subscriptions='[{topic: "spBv1.0/#", qos: 1}]'), bus
    )
    try:
        await connected(recorder)
        yield fleet
    finally:
        await fleet.aclose()


@contextlib.asynccontextmanager
async def pump_edge(broker: Mosquitto) -> AsyncIterator[EdgeNode]:
    """Edge node ``plant1/edge7`` with device ``pump3``, connected (born)."""
    async with EdgeNode(broker.port, "plant1", "edge7") as edge:
        await edge.send("register pump3")
        await edge.send("connect")
        yield edge


# --------------------------------------------------------------------------- topics, payloads


@pytest.mark.parametrize(
    "topic",
    ["site/NBIRTH/edge", "spBv1.0", "spAv1.0/g/NBIRTH/e", "SPBV1.0/g/NBIRTH/e", "x/spBv1.0/g/N"],
)
def test_outside_the_namespace_is_never_sparkplug(topic: str) -> None:
    assert parse_topic(topic) is None


def test_topics_of_the_namespace() -> None:
    assert parse_topic("spBv1.0/plant1/NBIRTH/edge7") == SparkplugTopic("NBIRTH", "plant1", "edge7")
    topic = parse_topic("spBv1.0/plant1/DDATA/edge7/pump3")
    assert topic == SparkplugTopic("DDATA", "plant1", "edge7", "pump3")
    assert (topic.node_name, topic.device_name) == (NODE, PUMP)
    assert parse_topic("spBv1.0/STATE/scada1") == SparkplugTopic("STATE", host_id="scada1")


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("spBv1.0/plant1/NBIRTH", "a Sparkplug topic is spBv1.0/GROUP/TYPE/EDGE[/DEVICE]"),
        ("spBv1.0/plant1/DDATA/edge7", "DDATA is spBv1.0/GROUP/DDATA/EDGE/DEVICE"),
        ("spBv1.0/plant1/NDATA/edge7/x", "NDATA is spBv1.0/GROUP/NDATA/EDGE"),
        ("spBv1.0/plant1/NOPE/edge7", "'NOPE' is not a Sparkplug B message type"),
        ("spBv1.0//NDATA/edge7", "empty group, edge node or device ID"),
    ],
)
def test_malformed_topics_say_why(topic: str, message: str) -> None:
    with pytest.raises(SparkplugError, match=re.escape(message)):
        parse_topic(topic)


@pytest.mark.parametrize(
    "data", [b"hello", b"\xff\xff\xff", b"\x0a\x05abc", b"\x12\xff\x01"], ids=str
)
def test_malformed_payloads_say_why(data: bytes) -> None:
    with pytest.raises(SparkplugError, match="not a Sparkplug B payload"):
        decode_sparkplug(data)
    decoded = decode_payload(data, declared="sparkplug")
    assert decoded.format == "binary"
    assert decoded.error is not None
    assert decoded.error.startswith("sparkplug payload does not decode: not a Sparkplug B payload")
    assert decoded.text.splitlines()[1].startswith("00000000  " + data[:1].hex())


def test_values_of_every_kind() -> None:
    data = payload(
        3,
        {"name": "i8", "datatype": 1, "int_value": 0xFFFFFFFF},  # Tahu: -1 as uint32
        {"name": "i16", "datatype": 2, "int_value": 65529},  # pysparkplug: -7 as uint16
        {"name": "i64", "datatype": 4, "long_value": 2**64 - 2},
        {"name": "u64", "datatype": 8, "long_value": 2**64 - 1},
        {"name": "when", "datatype": 13, "long_value": 1_700_000_000_123},
        {"name": "blob", "datatype": 17, "bytes_value": b"\x00\xff"},
        {"name": "bits", "datatype": 32, "bytes_value": b"\x03\x00\x00\x00\xa0"},
        {"name": "words", "datatype": 33, "bytes_value": b"ab\x00cd\x00"},
        {"name": "f", "datatype": 30, "bytes_value": b"\x00\x00\xc0\x3f"},
        {"name": "nan", "datatype": 10, "double_value": float("nan")},
        {"name": "gone", "datatype": 3, "is_null": True},
    )
    shown = payload_json(data)
    metrics: Any = shown["metrics"]
    values = {m["name"]: m["value"] for m in metrics}
    assert values == {
        "i8": -1,
        "i16": -7,
        "i64": -2,
        "u64": 2**64 - 1,
        "when": "2023-11-14T22:13:20.123Z",
        "blob": "AP8=",
        "bits": [True, False, True],
        "words": ["ab", "cd"],
        "f": [1.5],
        "nan": "nan",
        "gone": None,
    }
    assert shown["seq"] == 3
    assert shown["timestamp"] == "2023-11-14T22:13:20.000Z"
    decoded = decode_payload(data, declared="sparkplug")
    assert decoded.format == "sparkplug"
    assert '"name": "i16"' in decoded.text


def test_tracker_checks_seq_aliases_and_bdseq() -> None:
    tracker = SparkplugTracker("plant")
    birth = parse_topic("spBv1.0/plant1/NBIRTH/edge7")
    data = parse_topic("spBv1.0/plant1/NDATA/edge7")
    death = parse_topic("spBv1.0/plant1/NDEATH/edge7")
    assert birth is not None
    assert data is not None
    assert death is not None
    # DATA before BIRTH (fleettop joined late): a warning, values by name still read
    early = tracker.handle(
        data, "t", payload(7, {"name": "temp", "datatype": 10, "double_value": 1.0})
    )
    assert "NDATA before NBIRTH" in early.warnings[0][1]
    assert early.metrics[0][1]["value"] == 1.0
    out = tracker.handle(
        birth,
        "t",
        payload(
            0,
            {"name": "bdSeq", "datatype": 4, "long_value": 4},
            {"name": "temp", "alias": 9, "datatype": 10, "double_value": 20.0},
        ),
    )
    assert out.warnings == []
    assert out.status == [(NODE, "ONLINE", None)]
    assert [m[1]["name"] for m in out.metrics] == ["bdSeq", "temp"]
    # by alias, without datatype: the BIRTH's name and type
    out = tracker.handle(data, "t", payload(1, {"alias": 9, "double_value": 21.0}))
    assert out.metrics[0][1]["name"] == "temp"
    assert out.metrics[0][1]["datatype"] == "Double"
    assert out.metrics[0][1]["value"] == 21.0
    # a gap of two, an unknown alias
    out = tracker.handle(data, "t", payload(4, {"alias": 99, "double_value": 1.0}))
    assert [text for _, text in out.warnings] == [
        "seq gap on plant1:edge7: expected 2, got 4 (2 messages lost or out of order)",
        "NDATA: alias 99 is not declared by a BIRTH",
    ]
    # a late Will of the previous session (bdSeq 3): ignored
    stale = tracker.handle(
        death, "t", payload(None, {"name": "bdSeq", "datatype": 4, "long_value": 3})
    )
    assert stale.status == []
    assert "earlier session's death, ignored" in stale.warnings[0][1]
    # this session's death
    dead = tracker.handle(
        death, "t", payload(None, {"name": "bdSeq", "datatype": 4, "long_value": 4})
    )
    assert dead.status == [(NODE, "OFFLINE", "NDEATH (bdSeq 4)")]
    assert dead.warnings == []
    # a payload that is not Sparkplug: a warning, nothing else
    bad = tracker.handle(data, "spBv1.0/plant1/NDATA/edge7", b"\xff\xff")
    assert bad.metrics == []
    assert bad.warnings[0][1].startswith("NDATA on spBv1.0/plant1/NDATA/edge7: not a Sparkplug B")


# --------------------------------------------------------------------------- a real edge node


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def metric_events(recorder: Recorder, device: str, name: str) -> list[dict[str, Any]]:
    return recorder.payloads("mqtt", device, "metric", name)


def statuses(recorder: Recorder, device: str) -> list[tuple[str, str | None]]:
    return [(p["status"], p["reason"]) for p in recorder.payloads("mqtt", device, "status")]


def warnings(recorder: Recorder) -> list[str]:
    found: list[Any] = [e.payload for e in recorder.events if e.type[2:] == ("warning",)]
    return [str(p["message"]) for p in found]


@pytest.mark.peer("pysparkplug")
async def test_a_pysparkplug_edge_node_through_mosquitto(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    recorder = Recorder(bus)
    state = FleetState()

    def fold(event: Event) -> None:
        state.apply([event])

    bus.subscribe(("mqtt", "*"), fold, name="fold")
    store = await PropertyStore.open(tmp_path / "fleettop.db")
    feeder = MetricFeeder(bus, store)
    fleet = await started(
        config_for(broker.port, subscriptions='[{topic: "spBv1.0/#", qos: 1}, {topic: "plain/#"}]'),
        bus,
    )
    try:
        await connected(recorder)
        async with EdgeNode(broker.port, "plant1", "edge7") as edge:
            await edge.send("connect")
            await eventually(lambda: metric_events(recorder, NODE, "bdSeq"))
            firmware = metric_events(recorder, NODE, "firmware")[-1]
            assert (firmware["datatype"], firmware["value"], firmware["birth"]) == (
                "String", "1.2.3", True,
            )  # fmt: skip
            assert metric_events(recorder, NODE, "bdSeq")[-1]["value"] == 0
            assert statuses(recorder, NODE)[-1] == ("ONLINE", None)

            await edge.send("register pump3")
            await eventually(lambda: metric_events(recorder, PUMP, "pressures"))
            born = {
                name: (metric_events(recorder, PUMP, name)[-1]["datatype"],
                       metric_events(recorder, PUMP, name)[-1]["value"])
                for name in ("temperature", "rpm", "running", "label", "offset", "pressures")
            }  # fmt: skip
            assert born == {
                "temperature": ("Double", 20.5),
                "rpm": ("UInt32", 1200),
                "running": ("Boolean", True),
                "label": ("String", "pump 3"),
                "offset": ("Int16", -7),
                "pressures": ("FloatArray", [1.5, 2.5]),
            }
            assert metric_events(recorder, PUMP, "temperature")[-1]["alias"] == 5

            await edge.send("ddata pump3 temperature 21.5")
            await edge.send("ddata_alias pump3 5 22.5")  # by alias only: no name, no datatype
            await eventually(lambda: len(metric_events(recorder, PUMP, "temperature")) >= 2)
            await eventually(lambda: len(metric_events(recorder, PUMP, "temperature")) == 3)
            by_name, by_alias = metric_events(recorder, PUMP, "temperature")[1:]
            assert (by_name["value"], by_name["birth"], by_name["message_type"]) == (
                21.5, False, "DDATA",
            )  # fmt: skip
            assert (by_alias["value"], by_alias["alias"], by_alias["datatype"]) == (
                22.5, 5, "Double",
            )  # fmt: skip
            assert warnings(recorder) == []

            await edge.send("skip")  # one seq number used up: a lost message
            await edge.send("ddata pump3 rpm 1300")
            await eventually(lambda: warnings(recorder))
            assert warnings(recorder)[0].startswith("seq gap on plant1:edge7: expected ")
            assert warnings(recorder)[0].endswith("(1 message lost or out of order)")

            await edge.send("ddeath pump3")
            await eventually(lambda: statuses(recorder, PUMP)[-1] == ("OFFLINE", "DDEATH"))
            assert statuses(recorder, NODE)[-1] == ("ONLINE", None)

            await edge.send("register pump3")
            await eventually(lambda: statuses(recorder, PUMP)[-1] == ("ONLINE", None))
            await edge.send("die")  # no DISCONNECT: mosquitto publishes the Will (NDEATH)
            await eventually(lambda: statuses(recorder, NODE)[-1][0] == "OFFLINE")
            assert statuses(recorder, NODE)[-1] == ("OFFLINE", "NDEATH (bdSeq 0)")
            assert statuses(recorder, PUMP)[-1] == (
                "OFFLINE", "its edge node plant1:edge7: NDEATH (bdSeq 0)",
            )  # fmt: skip

        # the fold: values of the node and the device, no raw topic rows
        temperature = state.value((PUMP, "temperature"))
        assert temperature is not None
        # 20.5 (DBIRTH), 21.5 and 22.5 (DDATA), 20.5 again (the second DBIRTH)
        assert (temperature.data_type, temperature.value, temperature.cause) == (
            "Double", 20.5, "DBIRTH",
        )  # fmt: skip
        assert temperature.changes == 3
        assert state.mqtt.value_count(PUMP) == 6
        assert not any(key[1].startswith("spBv1.0/") for key in state.mqtt.info)
        # the message events say they are Sparkplug: the detail decodes them
        births = [
            m for m in messages(recorder) if m["topic"] == "spBv1.0/plant1/DBIRTH/edge7/pump3"
        ]
        assert births[0]["format"] == "sparkplug"
        shown = decode_payload(base64.b64decode(births[0]["payload"]), declared=births[0]["format"])
        assert shown.format == "sparkplug"
        assert '"name": "temperature"' in shown.text

        # never guessed outside the namespace (MQTT Explorer #792): the same bytes
        (tmp_path / "spb").write_bytes(base64.b64decode(births[0]["payload"]))
        await mosquitto_pub(broker, "-t", "plain/x", "-f", str(tmp_path / "spb"))
        await mosquitto_pub(broker, "-t", "plain/y", "-m", "hello")
        await eventually(
            lambda: len([m for m in messages(recorder) if m["topic"].startswith("plain/")]) == 2
        )
        plain = [m for m in messages(recorder) if m["topic"].startswith("plain/")]
        assert all("format" not in m for m in plain)
        assert decode_payload(base64.b64decode(plain[0]["payload"])).format != "sparkplug"
        assert not [
            e for e in recorder.events if e.type[2:3] == ("metric",) and "plain" in e.type[1]
        ]

        # store entries: the last value of each metric, typed by its datatype
        await feeder.aclose()
        await store.flush()
        stored = {p.path: p for p in await store.query(PUMP, SPARKPLUG_INTERFACE)}
        assert (stored["/temperature"].type, stored["/temperature"].value) == (
            PropertyType.DOUBLE, 20.5,
        )  # fmt: skip
        assert (stored["/offset"].type, stored["/offset"].value) == (PropertyType.LONGINTEGER, -7)
        assert stored["/pressures"].value == [1.5, 2.5]
        assert stored["/rpm"].native_type == "UInt32"
    finally:
        await fleet.aclose()
        await feeder.aclose()
        await store.aclose()


@pytest.mark.peer("pysparkplug")
async def test_a_clean_disconnect_sets_the_node_offline(
    broker: Mosquitto, bus: EventManager
) -> None:
    """pysparkplug 0.6's clean disconnect sends an NDEATH with its *next* bdSeq: not
    equal to the NBIRTH's (a warning), yet a death."""
    recorder = Recorder(bus)
    async with sparkplug_fleet(broker, bus, recorder):
        async with pump_edge(broker) as edge:
            await eventually(lambda: statuses(recorder, PUMP)[-1:] == [("ONLINE", None)])
            await edge.send("disconnect")
            await eventually(lambda: statuses(recorder, NODE)[-1][0] == "OFFLINE")
        assert statuses(recorder, PUMP)[-1][0] == "OFFLINE"
        assert any("does not match the bdSeq 0" in text for text in warnings(recorder))


@pytest.mark.peer("pysparkplug")
async def test_commands_reach_the_edge_node_typed_by_its_birth(
    broker: Mosquitto, bus: EventManager
) -> None:
    """NCMD/DCMD writes: the metric typed by the datatype its BIRTH declared, decoded
    by pysparkplug on the edge node; bad values and unknown metrics are refused
    before anything is sent."""
    recorder = Recorder(bus)
    async with sparkplug_fleet(broker, bus, recorder) as fleet:
        async with pump_edge(broker) as edge:
            await eventually(lambda: metric_events(recorder, PUMP, "pressures"))
            await eventually(lambda: metric_events(recorder, NODE, "Node Control/Rebirth"))
            for device, name, value, why in [
                (PUMP, "offset", 40000, "offset is Int16 (-32768..32767): 40000 is out of range"),
                (PUMP, "rpm", -1, "rpm is UInt32 (0..4294967295): -1 is out of range"),
                (PUMP, "running", "yes", "running is Boolean: give true or false, not 'yes'"),
                (PUMP, "pressures", [1.0], "pressures is FloatArray: fleettop does not write"),
                (PUMP, "nope", 1, "declared no metric 'nope' in its last BIRTH"),
                ("plain", "x", 1, "plain is not a Sparkplug B edge node or device"),
            ]:
                with pytest.raises(ValidationError, match=re.escape(why)):
                    await fleet.command(device, name, value)
            results = [
                await fleet.command(PUMP, "offset", -300, session_id="s1", previous=-7),
                await fleet.command(PUMP, "temperature", 19.5),
                await fleet.command(NODE, "Node Control/Rebirth", True),
            ]
            assert all(r.success for r in results)

            got: list[Any] = []
            for _ in range(300):  # bounded wait (QoS 0 commands: no acknowledgement)
                got = await edge.commands()
                if len(got) == 3:
                    break
                await asyncio.sleep(0.05)
            assert got == [
                ["spBv1.0/plant1/DCMD/edge7/pump3", [["offset", "INT16", -300]]],
                ["spBv1.0/plant1/DCMD/edge7/pump3", [["temperature", "DOUBLE", 19.5]]],
                ["spBv1.0/plant1/NCMD/edge7", [["Node Control/Rebirth", "BOOLEAN", True]]],
            ]
        (first, *_) = recorder.payloads("mqtt", PUMP, "publish")
        assert (first["operation"], first["interface"], first["path"], first["type"]) == (
            "set", "org.eclipse.tahu.Sparkplug", "/offset", "Int16",
        )  # fmt: skip
        assert (first["value"], first["previous"], first["session_id"]) == (-300, -7, "s1")
        assert (first["qos"], first["retain"], first["success"]) == (0, False, True)


@pytest.mark.peer("pysparkplug")
@pytest.mark.timeout(120)
async def test_w_on_a_metric_sends_a_command_from_the_ui(broker: Mosquitto, tmp_path: Path) -> None:
    """The real app (Pilot): ``w`` on a Sparkplug metric opens the command dialog,
    checked as you type against the BIRTH's datatype; enter, ``y``: the edge node
    (pysparkplug) receives the DCMD. Read-only mode refuses it."""
    from textual.widgets import Button, Input

    from console.app import FleettopApp
    from console.runtime import Runtime
    from screens.confirm import ConfirmScreen
    from screens.sparkplug_command import SparkplugCommandScreen
    from tests.test_mqtt_ui import open_values, select
    from tests.ui_helpers import SIZE, Notices, shown, wait_for
    from widgets.value_table import ValueTable

    text = (
        "store: {enabled: false}\n"
        "brokers:\n"
        f"  - {{name: plant, host: 127.0.0.1, port: {broker.port},"
        ' subscriptions: [{topic: "spBv1.0/#", qos: 1}]}\n'
    )

    async def run(edge: EdgeNode, read_only: bool) -> None:
        notices = Notices()
        app = FleettopApp(Runtime(parse_config(text, environ={})), read_only=read_only)
        async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
            subscribed = len(broker.log_lines("Received SUBSCRIBE from fleettop-"))
            await wait_for(
                pilot,
                lambda: len(broker.log_lines("Received SUBSCRIBE from fleettop-")) > subscribed,
                "fleettop subscribed",
                attempts=1500,
            )
            if read_only:
                await edge.send("register pump3")
                await edge.send("connect")
            else:  # a DBIRTH this app sees
                await edge.send("ddeath pump3")
                await edge.send("register pump3")
            oids = await open_values(pilot, app, PUMP)
            values = oids.query_one(ValueTable)
            key = (PUMP, "offset")
            await wait_for(pilot, lambda: values.select_key(key), "the offset row", attempts=1500)
            select(values, key)
            await pilot.press("w")
            if read_only:
                await wait_for(pilot, lambda: notices.has("read-only mode"), "the refusal")
                assert not shown(app, SparkplugCommandScreen)
                return
            await wait_for(pilot, lambda: shown(app, SparkplugCommandScreen), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, SparkplugCommandScreen)
            field = dialog.query_one("#spb-command-value", Input)
            field.value = "40000"
            await wait_for(pilot, lambda: "out of range" in dialog.error, "the range error")
            assert dialog.query_one("#spb-command-ok", Button).disabled
            field.value = "-300"
            await wait_for(pilot, lambda: dialog.error == "", "a valid value")
            field.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
            await pilot.press("y")
            await wait_for(pilot, lambda: notices.has("offset commanded to -300"), "sent")

    async with EdgeNode(broker.port, "plant1", "edge7") as edge:
        await run(edge, read_only=True)
        await run(edge, read_only=False)
        got = await edge.commands()
        assert got == [["spBv1.0/plant1/DCMD/edge7/pump3", [["offset", "INT16", -300]]]]
