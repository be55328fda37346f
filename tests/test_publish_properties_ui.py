"""The publish dialog's MQTT 5 content type and user properties (issue 15 §4): typed in
the dialog, checked as you type, shown in the confirmation, and received by an
independent paho MQTT 5 subscriber through Debian mosquitto.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from textual.widgets import Button, Input, Static

from console.app import FleettopApp
from console.config import Config, parse_config
from console.events import EventManager
from console.mqtt.metadata import parse_user_properties
from console.runtime import Runtime
from screens.confirm import ConfirmScreen
from screens.publish import PublishScreen, check_publish
from tests.mqtt_peers import Mosquitto
from tests.test_mqtt_broker import Recorder, connected, started
from tests.test_mqtt_broker import config_for as broker_config
from tests.ui_helpers import SIZE, Notices, devices_screen, shown, wait_for
from tests.waiting import eventually

pytestmark = pytest.mark.peer("mosquitto")

TOPIC = "site/ui-test/cmd"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def config_for(broker: Mosquitto, tmp_path: Path, protocol: str = "5") -> Config:
    return parse_config(
        f"store: {{path: {tmp_path / 'fleet.db'}, batch_window: 0.01}}\n"
        "brokers:\n"
        "  - name: plant\n"
        "    host: 127.0.0.1\n"
        f"    port: {broker.port}\n"
        f'    protocol: "{protocol}"\n'
        "    subscriptions: [{topic: 'site/#', qos: 1}]\n",
        environ={},
    )


class Subscriber:
    """A paho MQTT 5 client of its own, subscribed to :data:`TOPIC`."""

    def __init__(self, port: int) -> None:
        self.messages: list[paho.MQTTMessage] = []
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(TOPIC, 1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append(m)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_user_properties_and_content_type_are_checked() -> None:
    assert parse_user_properties("site = plant 1; line=a\\;b; empty=") == [
        ("site", "plant 1"),
        ("line", "a;b"),
        ("empty", ""),
    ]
    assert parse_user_properties("  ") == []
    with pytest.raises(ValueError, match="'site': write name=value"):
        parse_user_properties("site")
    with pytest.raises(ValueError, match="a name cannot be empty"):
        parse_user_properties("=x")
    request = check_publish(
        "b",
        "a/b",
        "{}",
        1,
        False,
        as_json=False,
        content_type=" application/json ",
        user_properties="k=v; k=w",
    )
    assert request.content_type == "application/json"
    assert request.user_properties == (("k", "v"), ("k", "w"))
    with pytest.raises(ValueError, match="not a MIME type"):
        check_publish("b", "a/b", "x", 0, False, as_json=False, content_type="json")


@pytest.mark.timeout(120)
async def test_the_dialog_publishes_user_properties_and_content_type(
    broker: Mosquitto, tmp_path: Path
) -> None:
    subscriber = Subscriber(broker.port)
    notices = Notices()
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    try:
        async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
            await devices_screen(pilot)
            await eventually(lambda: app.runtime.bus.snapshot(("mqtt", "@plant", "subscribed")))
            await pilot.press("p")
            await wait_for(pilot, lambda: shown(app, PublishScreen), "the publish dialog")
            dialog = app.screen
            assert isinstance(dialog, PublishScreen)
            dialog.query_one("#publish-topic", Input).value = TOPIC
            dialog.query_one("#publish-payload", Input).value = '{"on": true}'
            props = dialog.query_one("#publish-user-properties", Input)
            props.value = "site"
            await wait_for(pilot, lambda: "write name=value" in dialog.error, "the inline error")
            assert dialog.query_one("#publish-ok", Button).disabled
            kind = dialog.query_one("#publish-content-type", Input)
            props.value = "site=plant 1; operator=ana; operator=bo"
            kind.value = "json"
            await wait_for(pilot, lambda: "not a MIME type" in dialog.error, "the inline error")
            kind.value = "application/json"
            await wait_for(pilot, lambda: dialog.error == "", "valid properties")
            kind.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
            text = str(app.screen.query_one("#confirm-body", Static).render())
            assert "content type = application/json" in text
            assert "operator = ana; operator = bo" in text
            await pilot.press("y")
            await wait_for(pilot, lambda: notices.has(f"published to {TOPIC}: PUBACK"), "ok")
        await eventually(lambda: subscriber.messages)
        (message,) = subscriber.messages
        assert message.payload == b'{"on": true}'
        received: Any = message.properties
        assert received.ContentType == "application/json"
        # in order, repeats kept; fleettop's own marker last
        assert received.UserProperty == [
            ("site", "plant 1"),
            ("operator", "ana"),
            ("operator", "bo"),
            ("fleettop", "operator"),
        ]
    finally:
        subscriber.close()


async def test_mqtt_3_brokers_refuse_properties(broker: Mosquitto, bus: EventManager) -> None:
    recorder = Recorder(bus)
    fleet = await started(
        broker_config(broker.port, protocol='"3.1.1"', subscriptions='[{topic: "a/#"}]'), bus
    )
    try:
        await connected(recorder)
        with pytest.raises(ValueError, match=r"need MQTT 5 \(protocol: 5\)"):
            await fleet.publish("plant", TOPIC, b"x", user_properties=[("a", "b")])
    finally:
        await fleet.aclose()


def test_presets_keep_the_mqtt_5_fields(tmp_path: Path) -> None:
    from console.explorer.presets import PublishPreset, PublishPresets

    path = tmp_path / "presets.json"
    presets = PublishPresets(path)
    with_props = PublishPreset("plant", "a/b", "{}", 1, False, "application/json", "k=v\\;w")
    plain = PublishPreset("plant", "a/c", "x")
    assert presets.store("json", with_props)
    assert presets.store("plain", plain)
    saved = json.loads(path.read_text(encoding="utf-8"))["presets"]
    assert saved["json"]["content_type"] == "application/json"
    assert "content_type" not in saved["plain"]  # older files stay as they were
    again = PublishPresets(path)
    assert again.presets == {"json": with_props, "plain": plain}
    assert parse_user_properties(again.presets["json"].user_properties) == [("k", "v;w")]
