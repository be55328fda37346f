"""The MQTT side of the UI: devices, values, publish, set and unset.

The demo tests run the real embedded demo (``Runtime(demo=True)``: an in-process
amqtt broker and Astarte-style devices); the crafted tests feed the bus by hand
(:class:`~tests.ui_helpers.CraftedRuntime`). An independent subscriber on the bus
observes what a publish sent. Waiting is bounded polling, never timed assertions.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from textual.widgets import Button, Input, Select, Static
from textual.widgets.data_table import ColumnKey

from console.app import FleettopApp
from console.config import Config
from console.events import Event, EventManager, JsonValue
from console.fleet import LINE_LIMIT, TOPIC_LIMIT, VALUES_PER_DEVICE, FleetState
from console.mqtt.fleet import MqttFleet
from console.runtime import Runtime
from screens.confirm import ConfirmScreen
from screens.help import HelpScreen
from screens.mqtt_set import MqttSetScreen
from screens.oids import OidsScreen
from screens.publish import PublishScreen, check_publish
from tests.ui_helpers import (
    FLEET,
    SIZE,
    T0,
    Crafted,
    Notices,
    burst,
    cell,
    devices_screen,
    make_app,
    publish,
    read,
    shown,
    status,
    wait_for,
)
from tests.waiting import EventRecorder
from widgets.device_table import DeviceTable
from widgets.status_bar import StatusBar
from widgets.value_table import ValueTable, row_key

GENERIC = "org.astarte-platform.genericsensors"
RATE = f"{GENERIC}.SamplingRate"
SENSORS = f"{GENERIC}.AvailableSensors"
PERIOD = f"{RATE}/room/samplingPeriod"


def message(device: str, topic: str, data: bytes, *, broker: str = "plant") -> Crafted:
    """A crafted ``("mqtt", DEVICE, "message", *LEVELS)`` event."""
    payload: JsonValue = {
        "broker": broker,
        "device": None if device.startswith("@") else device,
        "topic": topic,
        "payload": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        "qos": 0,
        "retain": False,
        "properties": None,
        "received": T0,
    }
    return (("mqtt", device, "message", *topic.split("/")), payload, None)


def device_status(device: str, status: str, reason: str | None = None) -> Crafted:
    payload: JsonValue = {
        "status": status,
        "reason": reason,
        "broker": "plant",
        "last_seen": T0,
        "discovered": True,
    }
    return (("mqtt", device, "status"), payload, None)


def broker_status(status: str, reason: str | None = None) -> Crafted:
    payload: JsonValue = {
        "status": status,
        "reason": reason,
        "address": "10.0.0.5:1883",
        "protocol": "5",
    }
    return (("mqtt", "@plant", "status"), payload, None)


async def open_values(pilot: Any, app: FleettopApp, device: str) -> OidsScreen:
    """From the Devices screen, open the values screen of ``device``."""
    screen = await devices_screen(pilot)
    table = screen.query_one(DeviceTable)
    await wait_for(pilot, lambda: device in table.rows, f"{device} row", attempts=1500)
    table.move_cursor(row=table.get_row_index(device))
    await pilot.press("enter")
    await wait_for(pilot, lambda: shown(app, OidsScreen), "the values screen")
    oids = app.screen
    assert isinstance(oids, OidsScreen)
    return oids


def select(table: ValueTable, key: tuple[str, str]) -> None:
    assert table.select_key(key)


async def thermostat_online(pilot: Any, app: FleettopApp) -> MqttFleet:
    """The demo's MQTT backend, once its thermostat-1 is ONLINE (Devices screen)."""
    await devices_screen(pilot)
    fleet = app.runtime.mqtt
    assert fleet is not None
    await wait_for(
        pilot,
        lambda: app.state.device("thermostat-1").mqtt_status == "ONLINE",
        "thermostat online",
        attempts=1500,
    )
    return fleet


class Recorder(EventRecorder):
    def payloads(self) -> list[Any]:
        return [event.payload for event in self.events]


# -- pure parts ----------------------------------------------------------------------


def test_publish_check_refuses_invalid_json_and_wildcards() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        check_publish("b", "a/b", '{"on": tru', 1, False, as_json=False)
    with pytest.raises(ValueError, match="not valid JSON"):
        check_publish("b", "a/b", "hello", 1, False, as_json=True)
    with pytest.raises(ValueError, match="wildcards"):
        check_publish("b", "a/#", "x", 0, False, as_json=False)
    request = check_publish("b", "a/b", "hello", 2, True, as_json=False)
    assert (request.payload, request.qos, request.retain) == (b"hello", 2, True)


def test_fold_bounds_topics_per_device_and_completion() -> None:
    state = FleetState()
    bus_events = [
        Event(etype, payload, float(i), None, i + 1)
        for i, (etype, payload, _) in enumerate(
            message("flood", f"site/flood/t{i}", b"1") for i in range(VALUES_PER_DEVICE * 3)
        )
    ]
    state.apply(bus_events)
    assert len(list(state.values("flood"))) == VALUES_PER_DEVICE
    assert state.mqtt.value_count("flood") == VALUES_PER_DEVICE
    assert len(state.mqtt.topics()) <= TOPIC_LIMIT
    # the newest topics are kept
    assert state.value(("flood", f"site/flood/t{VALUES_PER_DEVICE * 3 - 1}")) is not None
    assert state.value(("flood", "site/flood/t0")) is None


# -- crafted bus -----------------------------------------------------------------------


async def test_mqtt_device_row_status_and_broker_reason() -> None:
    seed: list[Crafted] = [
        broker_status("CONNECTED"),
        device_status("press-4", "ONLINE"),
        (
            ("mqtt", "press-4", "stats"),
            {"broker": "plant", "messages": 42, "last_seen": T0, "rate": 3.5},
            None,
        ),
    ]
    app = make_app(Config(devices=FLEET), seed=seed)
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        await wait_for(pilot, lambda: "press-4" in table.rows, "the MQTT device")
        assert cell(table, "press-4", "protocol") == "MQTT plant"
        assert cell(table, "press-4", "address") == "10.0.0.5:1883"
        assert cell(table, "press-4", "status") == "ONLINE"
        assert cell(table, "press-4", "rate") == "3.50/s"
        assert cell(table, "core-sw1", "protocol") == "SNMP v2c"
        publish(
            app,
            broker_status("DISCONNECTED", "connection lost"),
            device_status("press-4", "UNKNOWN", "broker plant is DISCONNECTED"),
        )
        await wait_for(pilot, lambda: cell(table, "press-4", "status") == "UNKNOWN", "UNKNOWN")
        assert "broker plant DISCONNECTED: connection lost" in cell(table, "press-4", "reason")


async def test_status_bar_counts_online_mqtt_devices_as_up() -> None:
    app = make_app(Config(devices=FLEET), seed=[broker_status("CONNECTED")])
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        bar = screen.query_one(StatusBar)
        total = len(FLEET) + 1  # the configured SNMP devices and one MQTT device
        publish(app, status("core-sw1", "CONNECTED"), device_status("press-4", "ONLINE"))
        await wait_for(pilot, lambda: f"connected 2/{total}" in str(bar.content), "2 up")
        publish(app, device_status("press-4", "OFFLINE", "no message for 60 s"))
        await wait_for(pilot, lambda: f"connected 1/{total}" in str(bar.content), "1 up")


async def test_large_and_binary_payloads_show_truncated_and_as_hex() -> None:
    big = b'{"data": "' + b"x" * 5_000_000 + b'"}'
    seed = [
        broker_status("CONNECTED"),
        device_status("blobber", "ONLINE"),
        message("blobber", "site/blobber/big", big),
        message("blobber", "site/blobber/raw", b"\xff\xfe\x00abc"),
    ]
    app = make_app(Config(devices=FLEET), seed=seed)
    async with app.run_test(size=SIZE) as pilot:
        oids = await open_values(pilot, app, "blobber")
        table = oids.query_one(ValueTable)
        raw, large = ("blobber", "site/blobber/raw"), ("blobber", "site/blobber/big")
        await wait_for(pilot, lambda: row_key(raw) in table.rows, "the rows")
        assert cell(table, row_key(raw), "type") == "binary"
        assert cell(table, row_key(raw), "value").startswith("ff fe 00 61 62 63")
        assert cell(table, row_key(large), "type") == "text, truncated"
        detail = oids.query_one("#value-detail", Static)
        select(table, large)
        await wait_for(pilot, lambda: "truncated" in str(detail.content), "the big detail")
        assert f"… truncated: 65,536 of {len(big):,} bytes shown" in str(detail.content)
        select(table, raw)
        await wait_for(pilot, lambda: "|...abc|" in str(detail.content), "the hex dump")
        assert "00000000  ff fe 00 61 62 63" in str(detail.content)


async def test_ten_thousand_topics_stay_bounded_and_the_app_responds() -> None:
    app = make_app(Config(devices=FLEET), seed=[broker_status("CONNECTED")])
    async with app.run_test(size=SIZE) as pilot:
        oids = await open_values(pilot, app, "core-sw1")
        publish(app, device_status("flood", "ONLINE"))
        publish(app, *(message("flood", f"site/flood/t{i}", b"%d" % i) for i in range(10_000)))
        state = app.state
        await wait_for(
            pilot, lambda: state.value(("flood", "site/flood/t9999")) is not None, "the flood"
        )
        publish(app, *(message("@plant", f"other/t{i}", b"1") for i in range(10_000)))
        await wait_for(pilot, lambda: "other/t9999" in state.mqtt.topics(), "the broker flood")
        # bounded: the bus's coalescing queue drops the oldest types, the fold keeps
        # at most VALUES_PER_DEVICE topics per device and TOPIC_LIMIT for completion
        assert len(list(state.values("flood"))) == VALUES_PER_DEVICE
        assert len(state.mqtt.topics()) == TOPIC_LIMIT
        await pilot.press("escape")
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        await wait_for(pilot, lambda: "flood" in table.rows, "the flood row")
        assert cell(table, "flood", "values") == f"{VALUES_PER_DEVICE}"
        assert oids is not app.screen
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: shown(app, HelpScreen), "the help screen (a key press)")


async def test_read_only_refuses_publish_set_and_unset() -> None:
    seed = [
        broker_status("CONNECTED"),
        device_status("thermo", "ONLINE"),
        message("thermo", "site/thermo/t", b"1"),
    ]
    notices = Notices()
    app = make_app(Config(devices=FLEET), seed=seed, read_only=True)
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: notices.has("read-only mode: publishing"), "refusal")
        oids = await open_values(pilot, app, "thermo")
        table = oids.query_one(ValueTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the value")
        for key, text in (("p", "publishing"), ("w", "setting"), ("u", "unsetting")):
            await pilot.press(key)

            def refused(t: str = text) -> bool:
                return notices.has(f"read-only mode: {t}")

            await wait_for(pilot, refused, text)
        assert not any(isinstance(s, PublishScreen | MqttSetScreen) for s in app.screen_stack)


# -- the demo -----------------------------------------------------------------------


@pytest.mark.timeout(120)
async def test_demo_mqtt_devices_values_and_publish() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        screen = await devices_screen(pilot)
        table = screen.query_one(DeviceTable)
        for device in ("thermostat-1", "van-1", "sensor-7"):

            def online(d: str = device) -> bool:
                return d in table.rows and cell(table, d, "status") == "ONLINE"

            await wait_for(pilot, online, f"{device} ONLINE", attempts=1500)
            assert cell(table, device, "protocol") == "MQTT demo-broker"
        await wait_for(
            pilot,
            lambda: cell(table, "van-1", "rate") not in ("—", "0/s"),
            "a message rate",
            attempts=1500,
        )
        assert cell(table, "van-1", "rate").endswith("/s")

        oids = await open_values(pilot, app, "thermostat-1")
        values = oids.query_one(ValueTable)
        key = row_key(("thermostat-1", f"{GENERIC}.Values/room/value"))
        await wait_for(pilot, lambda: key in values.rows, "the datastream", attempts=1500)
        first = cell(values, key, "value")
        await wait_for(
            pilot, lambda: cell(values, key, "value") != first, "a new value", attempts=1500
        )

        bus: EventManager = app.runtime.bus
        seen = Recorder(bus, ("mqtt", "?", "message", "site", "ui-test", "cmd"))
        results = Recorder(bus, ("mqtt", "@demo-broker", "publish"))
        await pilot.press("p")
        await wait_for(pilot, lambda: shown(app, PublishScreen), "the publish dialog")
        dialog = app.screen
        assert isinstance(dialog, PublishScreen)
        dialog.query_one("#publish-topic", Input).value = "site/ui-test/cmd"
        dialog.query_one("#publish-payload", Input).value = '{"on": tru'
        await wait_for(pilot, lambda: "not valid JSON" in dialog.error, "the inline error")
        assert dialog.query_one("#publish-ok", Button).disabled
        await pilot.press("enter")
        assert shown(app, PublishScreen)
        assert not results.events
        dialog.query_one("#publish-payload", Input).value = '{"on": true}'
        await wait_for(pilot, lambda: dialog.error == "", "a valid payload")
        dialog.query_one("#publish-payload", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await seen.wait_for(lambda: seen.events)
        assert base64.b64decode(seen.payloads()[0]["payload"]) == b'{"on": true}'
        await results.wait_for(lambda: results.events)
        assert results.payloads()[0]["success"] is True
        await wait_for(pilot, lambda: notices.has("published to site/ui-test/cmd: PUBACK"), "ok")


@pytest.mark.timeout(120)
async def test_demo_mqtt_set_and_unset_on_the_thermostat() -> None:
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        await thermostat_online(pilot, app)
        oids = await open_values(pilot, app, "thermostat-1")
        values = oids.query_one(ValueTable)
        results = Recorder(app.runtime.bus, ("mqtt", "thermostat-1", "publish"))

        # S: a server-owned property that has no value yet
        await pilot.press("S")
        await wait_for(pilot, lambda: shown(app, MqttSetScreen), "the set dialog")
        new_set = app.screen
        assert isinstance(new_set, MqttSetScreen)
        new_set.query_one("#mqtt-set-interface", Select).value = RATE
        new_set.query_one("#mqtt-set-path", Input).value = "/room/samplingPeriod"
        field = new_set.query_one("#mqtt-set-value", Input)
        field.value = '"fast"'
        await wait_for(pilot, lambda: "integer" in new_set.error, "the validation error")
        assert new_set.query_one("#mqtt-set-ok", Button).disabled
        field.value = "10"
        await wait_for(pilot, lambda: new_set.error == "", "a valid value")
        field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await results.wait_for(lambda: results.events)
        assert results.payloads()[-1]["value"] == 10
        await wait_for(pilot, lambda: notices.has("/room/samplingPeriod set to 10: PUBCOMP"), "ok")
        period = ("thermostat-1", PERIOD)
        await wait_for(pilot, lambda: row_key(period) in values.rows, "the property", attempts=1500)
        await wait_for(pilot, lambda: cell(values, row_key(period), "value") == "10", "the row")

        # w on the property's row, and a value typed right after it at paste speed
        # (the dialog opens before the next key is read): a bad type, then a good value
        select(values, period)
        burst(app, ["w", *"2.5"])
        await wait_for(pilot, lambda: shown(app, MqttSetScreen), "the set dialog")
        dialog = app.screen
        assert isinstance(dialog, MqttSetScreen)
        field = dialog.query_one("#mqtt-set-value", Input)
        await wait_for(pilot, lambda: field.value == "2.5", "the typed value replacing 10")
        await wait_for(pilot, lambda: "integer" in dialog.error, "the validation error")
        field.value = "20"
        await wait_for(pilot, lambda: dialog.error == "", "a valid value")
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await results.wait_for(lambda: len(results.events) == 2)
        assert results.payloads()[-1]["value"] == 20
        await wait_for(pilot, lambda: cell(values, row_key(period), "value") == "20", "the row")

        await wait_for(pilot, lambda: shown(app, OidsScreen), "back on the values")
        select(values, period)
        await pilot.press("u")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the unset confirmation")
        await pilot.press("y")
        await results.wait_for(lambda: len(results.events) == 3)
        assert results.payloads()[-1]["operation"] == "unset"
        await wait_for(pilot, lambda: notices.has("/room/samplingPeriod unset: PUBCOMP"), "unset")

        owned = ("thermostat-1", f"{SENSORS}/room/name")
        await wait_for(pilot, lambda: row_key(owned) in values.rows, "a device-owned value")
        select(values, owned)
        await pilot.press("w")
        await wait_for(pilot, lambda: notices.has("is device-owned"), "the refusal")
        assert not shown(app, MqttSetScreen)
        assert len(results.events) == 3


def test_fold_bounds_message_topics_over_all_devices() -> None:
    state = FleetState()
    state.mqtt.message_limit = 5
    events = [
        Event(etype, payload, float(i), None, i + 1)
        for i, (etype, payload, _) in enumerate(
            message(f"dev{i % 3}", f"site/dev{i % 3}/t{i}", b"1") for i in range(9)
        )
    ]
    state.apply(events)
    kept = {(v.device, v.oid) for device in ("dev0", "dev1", "dev2") for v in state.values(device)}
    # the five most recently updated topics stay, whichever device they belong to
    assert kept == {(f"dev{i % 3}", f"site/dev{i % 3}/t{i}") for i in range(4, 9)}
    assert sum(state.mqtt.value_count(f"dev{i}") for i in range(3)) == 5
    # a topic updated again moves to the back of the line
    state.apply([Event(*message("dev1", "site/dev1/t4", b"2")[:2], 10.0, None, 20)])
    state.apply([Event(*message("dev0", "site/dev0/t9", b"1")[:2], 11.0, None, 21)])
    assert state.value(("dev1", "site/dev1/t4")) is not None
    assert state.value(("dev2", "site/dev2/t5")) is None


def test_large_payloads_are_kept_truncated_with_their_size() -> None:
    """30 payloads of 10 MB: each topic keeps the first display-limit bytes of its
    latest message (not 10 MB), the detail says how much of how much it shows, and
    past the byte budget older payloads shrink to their table line."""
    state = FleetState()
    fold = state.mqtt
    fold.payload_budget = 4 * fold.display_limit
    size = 10_000_000
    big = b'{"data": "' + b"y" * (size - 12) + b'"}'
    for i in range(30):
        etype, payload, _ = message("blobber", f"site/blobber/b{i}", big)
        state.apply([Event(etype, payload, float(i), None, i + 1)])
    kept = [fold.info[("blobber", f"site/blobber/b{i}")] for i in range(30)]
    assert all(info.size == size for info in kept)
    assert all(info.payload is not None for info in kept)
    kept_bytes = sum(len(info.payload or "") for info in kept) * 3 // 4
    assert kept_bytes <= fold.payload_budget + 30 * (LINE_LIMIT + 3)  # not 300 MB
    assert fold.payload_bytes <= fold.payload_budget
    newest = fold.payload(("blobber", "site/blobber/b29"))
    assert newest is not None
    assert f"… truncated: 65,536 of {size:,} bytes shown" in newest.text
    oldest = fold.payload(("blobber", "site/blobber/b0"))
    assert oldest is not None
    assert f"of {size:,} bytes shown" in oldest.text
    value = state.value(("blobber", "site/blobber/b0"))
    assert value is not None
    assert value.data_type == "text, truncated"


async def test_the_preview_columns_fit_each_device_again() -> None:
    """After an MQTT device with a long topic, the preview of an SNMP device gets
    its own OID column width back (RATE, CHANGED, CAUSE stay on a 140-column screen)."""
    long_topic = "site/blobber/" + "/".join(f"level{i}" for i in range(8)) + "/temperature"
    seed = [
        broker_status("CONNECTED"),
        device_status("blobber", "ONLINE"),
        message("blobber", long_topic, b"21.5"),
        status("core-sw1", "CONNECTED"),
        read("core-sw1", "1.3.6.1.2.1.1.5.0", "STRING", "core-sw1"),
    ]
    app = make_app(Config(devices=FLEET), seed=seed)
    async with app.run_test(size=SIZE) as pilot:
        screen = await devices_screen(pilot)
        devices = screen.query_one(DeviceTable)
        preview = screen.query_one("#preview", ValueTable)

        def oid_width() -> int:
            return preview.columns[ColumnKey("oid")].get_render_width(preview)

        await wait_for(pilot, lambda: "blobber" in devices.rows, "the MQTT device")
        devices.move_cursor(row=devices.get_row_index("blobber"))
        await wait_for(pilot, lambda: preview.device == "blobber", "its preview")
        await wait_for(pilot, lambda: preview.row_count == 1, "its value")
        assert oid_width() >= len(long_topic)
        devices.move_cursor(row=devices.get_row_index("core-sw1"))
        await wait_for(pilot, lambda: preview.device == "core-sw1", "the SNMP preview")
        await wait_for(pilot, lambda: preview.row_count == 1, "its value")
        assert oid_width() < len(long_topic) // 2


@pytest.mark.timeout(120)
async def test_demo_unset_audits_the_value_it_removed() -> None:
    # issue 11 §7: the audit of mqtt.unset recorded the old value as "—" though it was 5
    notices = Notices()
    app = FleettopApp(Runtime(demo=True))
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        fleet = await thermostat_online(pilot, app)
        await fleet.set("thermostat-1", RATE, "/room/samplingPeriod", 5)
        oids = await open_values(pilot, app, "thermostat-1")
        values = oids.query_one(ValueTable)
        period = ("thermostat-1", PERIOD)
        await wait_for(pilot, lambda: row_key(period) in values.rows, "the property", attempts=1500)
        await wait_for(pilot, lambda: cell(values, row_key(period), "value") == "5", "the row")
        results = Recorder(app.runtime.bus, ("mqtt", "thermostat-1", "publish"))
        select(values, period)
        await pilot.press("u")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the unset confirmation")
        await pilot.press("y")
        await results.wait_for(lambda: results.events)
        payload = results.events[-1].payload
        assert isinstance(payload, dict)
        assert payload["previous"] == 5
        await wait_for(pilot, lambda: notices.has("/room/samplingPeriod unset: PUBCOMP"), "unset")
        audit = app.runtime.audit
        assert audit is not None
        (entry,) = await audit.log.query_audit(action="mqtt.unset")
        assert (entry.target, entry.old, entry.new, entry.result) == (
            f"{RATE} /room/samplingPeriod",
            5,
            None,
            "ok",
        )
