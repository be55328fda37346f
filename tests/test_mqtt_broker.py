"""The MQTT backend against real brokers: Debian ``mosquitto`` started on a free port
(plain, with a password file, with TLS), and ``amqtt`` in-process.

Publishers and observers are independent of fleettop: ``mosquitto_pub`` /
``mosquitto_sub`` and, where thousands of distinct topics are needed, a bare paho
client. Waits are bounded by :func:`tests.waiting.eventually` (no timed assertions).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, cast

import bson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from console.astarte import ValidationError
from console.config import Config, ReconnectConfig, parse_config
from console.events import Event, EventManager
from console.mqtt.client import MqttNotConnectedError
from console.mqtt.codec import decode_payload
from console.mqtt.fleet import MqttFleet
from tests.conftest import free_tcp_port
from tests.mqtt_peers import Mosquitto, make_certificates, mosquitto_pub, mosquitto_sub
from tests.waiting import eventually

INTERFACES = Path(__file__).parent / "data" / "interfaces"
DEVICE_ID = "2TBn-jNESuuHamE2Zo1anA"
BASE = f"demo/{DEVICE_ID}"


class Recorder:
    """Every bus event, in order."""

    def __init__(self, bus: EventManager) -> None:
        self.events: list[Event] = []
        bus.subscribe(("*",), self.events.append, maxsize=1_000_000, name="recorder")

    def of(self, *prefix: str) -> list[Event]:
        return [e for e in self.events if e.type[: len(prefix)] == prefix]

    def payloads(self, *prefix: str) -> list[Any]:
        return [e.payload for e in self.of(*prefix)]

    def statuses(self, broker: str) -> list[str]:
        return [p["status"] for p in self.payloads("mqtt", "@" + broker, "status")]


def config_for(port: int, extra: str = "", devices: str = "", **fields: str) -> Config:
    fields.setdefault("reconnect", "{min: 0.2, max: 1, jitter: 0.1}")
    lines = [f"    {k}: {v}" for k, v in fields.items()]
    text = (
        f"interfaces_dir: {INTERFACES}\n"
        "brokers:\n"
        "  - name: plant\n"
        "    host: 127.0.0.1\n"
        f"    port: {port}\n" + "\n".join(lines) + "\n" + extra
    )
    if devices:
        text += "devices:\n" + devices
    return parse_config(text, environ={})


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


async def started(config: Config, bus: EventManager) -> MqttFleet:
    fleet = MqttFleet(config, bus)
    await fleet.start()
    return fleet


async def connected(recorder: Recorder, broker: str = "plant", times: int = 1) -> None:
    """Wait for the ``times``-th SUBACK of ``broker`` (a connection with filters)."""
    await eventually(lambda: len(recorder.of("mqtt", "@" + broker, "subscribed")) >= times)


def messages(recorder: Recorder) -> list[dict[str, Any]]:
    return [e.payload for e in recorder.events if len(e.type) > 3 and e.type[2] == "message"]  # type: ignore[misc]


# --------------------------------------------------------------------------- plain


async def test_messages_arrive_decoded_and_bad_payloads_do_not_crash(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    recorder = Recorder(bus)
    # retained before fleettop subscribes: delivered with the retain flag (§3.3.1.3)
    await mosquitto_pub(broker, "-t", "site/other/retained", "-m", "kept", "-r", "-q", "2")
    fleet = await started(
        config_for(
            broker.port,
            subscriptions='[{topic: "site/#", qos: 1}]',
            devices='  - {name: sensor-7, mqtt: {broker: plant, topic: "site/sensor-7/#"}}\n',
        ),
        bus,
    )
    try:
        await connected(recorder)
        files = {
            "bson": bson.encode({"v": 21.5, "t": dt.datetime(2024, 5, 1, tzinfo=dt.UTC)}),
            "binary": b"\xff\xfe\x00\x01 not utf-8 \x80",
            "big": b"x" * (5 * 1024 * 1024),
        }
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
        await mosquitto_pub(broker, "-t", "site/sensor-7/json", "-m", '{"temp": 21.5, "ok": true}')
        await mosquitto_pub(broker, "-t", "site/sensor-7/text", "-m", "hello world", "-q", "1")
        await mosquitto_pub(broker, "-t", "site/sensor-7/cut", "-m", '{"temp": 21.')
        for name in files:
            await mosquitto_pub(broker, "-t", f"site/sensor-7/{name}", "-f", str(tmp_path / name))
        await eventually(lambda: len(messages(recorder)) >= 7)

        by_topic = {m["topic"]: m for m in messages(recorder)}
        json_msg = by_topic["site/sensor-7/json"]
        assert json_msg["device"] == "sensor-7"
        assert json_msg["broker"] == "plant"
        decoded = decode_payload(base64.b64decode(json_msg["payload"]))
        assert decoded.format == "json"
        assert json.loads(decoded.text) == {"temp": 21.5, "ok": True}
        assert "\n" in decoded.text  # pretty

        text = by_topic["site/sensor-7/text"]
        assert (text["qos"], text["retain"]) == (1, False)
        assert decode_payload(base64.b64decode(text["payload"])).text == "hello world"

        cut = decode_payload(base64.b64decode(by_topic["site/sensor-7/cut"]["payload"]))
        assert (cut.format, cut.text) == ("text", '{"temp": 21.')

        binary = decode_payload(base64.b64decode(by_topic["site/sensor-7/binary"]["payload"]))
        assert binary.format == "binary"
        assert binary.text.startswith("00000000  ff fe 00 01")

        astarte = decode_payload(base64.b64decode(by_topic["site/sensor-7/bson"]["payload"]))
        assert astarte.format == "bson"
        assert astarte.value == {"v": 21.5, "t": {"$date": "2024-05-01T00:00:00.000Z"}}

        big = by_topic["site/sensor-7/big"]
        assert big["size"] == 5 * 1024 * 1024
        assert base64.b64decode(big["payload"]) == files["big"]  # whole, for the detail view
        shown = decode_payload(base64.b64decode(big["payload"]))
        assert shown.truncated
        assert shown.text.endswith("… truncated: 65,536 of 5,242,880 bytes shown")

        retained = by_topic["site/other/retained"]
        assert (retained["device"], retained["retain"], retained["qos"]) == (None, True, 1)
        events = {e.type: e for e in recorder.events}
        assert ("mqtt", "@plant", "message", "site", "other", "retained") in events
        assert ("mqtt", "sensor-7", "message", "site", "sensor-7", "json") in events
        assert fleet.devices["sensor-7"].messages == 6
        assert recorder.payloads("mqtt", "sensor-7", "status")[-1]["status"] == "ONLINE"
    finally:
        await fleet.aclose()


async def test_ten_thousand_distinct_topics(broker: Mosquitto, bus: EventManager) -> None:
    recorder = Recorder(bus)
    fleet = await started(config_for(broker.port, subscriptions='[{topic: "many/#", qos: 0}]'), bus)
    try:
        await connected(recorder)
        done = threading.Event()

        def publish_all() -> None:
            client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            infos = [client.publish(f"many/{n // 100}/{n}", str(n), qos=1) for n in range(10_000)]
            for info in infos:
                info.wait_for_publish(30)
            client.disconnect()
            client.loop_stop()
            done.set()

        thread = threading.Thread(target=publish_all)
        thread.start()
        await asyncio.to_thread(done.wait, 60)
        thread.join()
        await eventually(lambda: len(messages(recorder)) >= 10_000, within=60)
        assert len({m["topic"] for m in messages(recorder)}) == 10_000
        assert len(bus.snapshot(("mqtt", "@plant", "message", "*"))) == 10_000
    finally:
        await fleet.aclose()


# --------------------------------------------------------------------------- reconnect


async def test_killed_broker_reconnects_and_resubscribes_once(
    broker: Mosquitto, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    fleet = await started(
        config_for(
            broker.port,
            subscriptions='[{topic: "site/#", qos: 1}, {topic: "other/+/x", qos: 0}]',
            client_id="fleettop-reconnect",
            devices='  - {name: s7, mqtt: {broker: plant, topic: "site/s7/#"}}\n',
        ),
        bus,
    )
    try:
        await connected(recorder)
        await mosquitto_pub(broker, "-t", "site/s7/a", "-m", "1")
        await eventually(
            lambda: recorder.payloads("mqtt", "s7", "status")[-1]["status"] == "ONLINE"
        )
        broker.kill()
        await eventually(lambda: recorder.statuses("plant")[-1] == "DISCONNECTED")
        assert recorder.payloads("mqtt", "@plant", "status")[-1]["reason"] == "connection lost"
        await eventually(
            lambda: recorder.payloads("mqtt", "s7", "status")[-1]["status"] == "UNKNOWN"
        )
        broker.start()
        await connected(recorder, times=2)
        await mosquitto_pub(broker, "-t", "site/s7/b", "-m", "2")
        await eventually(lambda: any(m["topic"] == "site/s7/b" for m in messages(recorder)))

        statuses = recorder.statuses("plant")
        assert statuses[:2] == ["CONNECTING", "CONNECTED"]
        after = statuses[statuses.index("DISCONNECTED") :]
        assert after[-1] == "CONNECTED"
        assert set(after) <= {"DISCONNECTED", "CONNECTING", "CONNECTED"}
        assert after.count("CONNECTED") == 1
        # one SUBSCRIBE per connection, each filter once (site/s7/# is covered by site/#)
        subscribed = recorder.payloads("mqtt", "@plant", "subscribed")
        assert [[f["topic"] for f in s["filters"]] for s in subscribed] == [
            ["site/#", "other/+/x"],
            ["site/#", "other/+/x"],
        ]
        assert all(f["granted"] == f["qos"] for s in subscribed for f in s["filters"])
        # the broker's log (both runs): one SUBSCRIBE per connection, each filter once
        assert len(broker.log_lines("Received SUBSCRIBE from fleettop-reconnect")) == 2
        assert len(broker.log_lines("\tsite/# (QoS 1)")) == 2
        assert len(broker.log_lines("\tother/+/x (QoS 0)")) == 2
        assert recorder.payloads("mqtt", "s7", "status")[-1]["status"] == "ONLINE"
    finally:
        await fleet.aclose()
    assert recorder.statuses("plant")[-1] == "DISCONNECTED"
    assert recorder.payloads("mqtt", "@plant", "status")[-1]["reason"] == "closed"


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
@pytest.mark.peer("mosquitto")
async def test_persistent_session_loses_nothing_while_away(
    tmp_path: Path, bus: EventManager, protocol: str
) -> None:
    recorder = Recorder(bus)
    with Mosquitto(tmp_path / "broker", persistence=True) as broker:
        fleet = await started(
            config_for(
                broker.port,
                subscriptions='[{topic: "flow/#", qos: 1}]',
                client_id=f"fleettop-persistent-{protocol.replace('.', '')}",
                clean_start="false",
                session_expiry="3600",
                protocol=f'"{protocol}"',
                reconnect="{min: 1.0, max: 2, jitter: 0}",
            ),
            bus,
        )
        try:
            await connected(recorder)
            before = "".join(f"before-{n}\n" for n in range(300)).encode()
            await mosquitto_pub(broker, "-t", "flow/a", "-q", "1", "-l", stdin=before)
            broker.stop()  # SIGTERM: mosquitto saves sessions and queued messages
            await eventually(lambda: recorder.statuses("plant")[-1] != "CONNECTED")
            broker.start()
            away = "".join(f"away-{n}\n" for n in range(500)).encode()
            await mosquitto_pub(broker, "-t", "flow/b", "-q", "1", "-l", stdin=away)
            await connected(recorder, times=2)
            expected = {f"before-{n}" for n in range(300)} | {f"away-{n}" for n in range(500)}

            def received() -> set[str]:
                return {base64.b64decode(m["payload"]).decode() for m in messages(recorder)}

            await eventually(lambda: received() >= expected, within=30)
            assert received() == expected  # nothing lost, nothing foreign
            reconnect = recorder.payloads("mqtt", "@plant", "status")
            assert [p["session_present"] for p in reconnect if p["status"] == "CONNECTED"] == [
                False,
                True,
            ]
        finally:
            await fleet.aclose()


async def test_default_backoff_is_capped_so_a_broker_back_for_a_short_window_is_reconnected(
    broker: Mosquitto, bus: EventManager
) -> None:
    """Issue 11 §5: after a long outage the retry delay stays at the default cap, so a
    broker that is back is reconnected within ``max * (1 + jitter)`` seconds, each
    time; the statuses say CONNECTING, DISCONNECTED (refused, ``retry_in``) and
    CONNECTED in turn. Bounds come from the configuration, not from timings."""
    config = config_for(broker.port, reconnect="{}", subscriptions='[{topic: "site/#", qos: 1}]')
    backoff = config.brokers[0].reconnect
    assert backoff == ReconnectConfig()  # the defaults are what is tested
    longest = backoff.max * (1 + backoff.jitter)
    promise = 5.0  # docs/configuration.md: a broker that is back, within 5 s
    assert longest <= promise
    recorder = Recorder(bus)
    fleet = await started(config, bus)

    def failed() -> list[dict[str, Any]]:
        return [p for p in recorder.payloads("mqtt", "@plant", "status") if "retry_in" in p]

    try:
        await connected(recorder)
        # the first outage lasts 5 failed attempts: the delay grows to the cap (the
        # old default, 60 s, would wait 32 s next); the others are short windows
        for attempts in (5, 2, 2):
            before = len(failed())
            broker.stop()
            await eventually(
                lambda n=before + attempts: len(failed()) >= n,  # type: ignore[misc]
                within=attempts * longest + 10,
            )
            broker.start()
            await eventually(  # + 5 s: only for a loaded machine, not a speed target
                lambda: recorder.statuses("plant")[-1] == "CONNECTED", within=promise + 5
            )
        await connected(recorder, times=4)
    finally:
        await fleet.aclose()
    delays = [p["retry_in"] for p in failed()]
    assert len(delays) >= 9
    assert all(backoff.min * (1 - backoff.jitter) <= d <= longest for d in delays)
    assert max(delays[:5]) >= backoff.max * (1 - backoff.jitter)  # it reached the cap
    assert all(p["reason"] == "connection refused (no broker listening)" for p in failed())
    statuses = recorder.statuses("plant")
    assert statuses[:2] == ["CONNECTING", "CONNECTED"]
    assert statuses.count("CONNECTED") == 4
    assert statuses[-1] == "DISCONNECTED"  # closed
    for previous, status in itertools.pairwise(statuses):
        if previous == "CONNECTING":
            assert status in ("CONNECTED", "DISCONNECTED")
        elif previous == "CONNECTED":
            assert status == "DISCONNECTED"
        else:
            assert status == "CONNECTING"


# --------------------------------------------------------------------------- credentials


@pytest.mark.peer("mosquitto")
async def test_password_broker(tmp_path: Path, bus: EventManager, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    password = "pw-9f3Kq-secret"
    recorder = Recorder(bus)
    with Mosquitto(tmp_path / "broker", users={"ops": password}) as broker:
        good = await started(
            parse_config(
                "brokers:\n"
                f"  - {{name: plant, host: 127.0.0.1, port: {broker.port}, username: ops,\n"
                "     password: '${PW}', subscriptions: [{topic: 'a/#', qos: 1}]}\n"
                f"  - {{name: wrong, host: 127.0.0.1, port: {broker.port}, username: ops,\n"
                "     password: '${WRONG}', reconnect: {min: 0.2, max: 0.5}}\n"
                f"  - {{name: anonymous, host: 127.0.0.1, port: {broker.port},\n"
                "     reconnect: {min: 0.2, max: 0.5}}\n",
                environ={"PW": password, "WRONG": "not-" + password},
            ),
            bus,
        )
        try:
            await connected(recorder)
            await eventually(lambda: "DISCONNECTED" in recorder.statuses("wrong"))
            await eventually(lambda: "DISCONNECTED" in recorder.statuses("anonymous"))
            wrong = [p for p in recorder.payloads("mqtt", "@wrong", "status") if p["reason"]]
            assert wrong[0]["reason"] == "refused: Not authorized"
            assert wrong[0]["reason_code"] == 135
            assert "CONNECTED" not in recorder.statuses("wrong")
            await mosquitto_pub(broker, "-t", "a/b", "-m", "x", "-u", "ops", "-P", password)
            await eventually(lambda: len(messages(recorder)) == 1)
        finally:
            await good.aclose()
    everything = json.dumps([e.to_json() for e in recorder.events]) + caplog.text
    assert password not in everything


@pytest.mark.peer("mosquitto")
async def test_tls_with_client_certificates(tmp_path: Path, bus: EventManager) -> None:
    certs = make_certificates(tmp_path / "certs")
    recorder = Recorder(bus)
    with Mosquitto(tmp_path / "broker", certificates=certs, client_certificates=True) as broker:
        text = (
            "brokers:\n"
            f"  - name: plant\n    host: localhost\n    port: {broker.port}\n"
            f"    tls: {{ca_certs: {certs.ca}, certfile: {certs.client_cert},"
            f" keyfile: {certs.client_key}}}\n"
            "    subscriptions: [{topic: 'secure/#', qos: 1}]\n"
            f"  - name: strange\n    host: localhost\n    port: {broker.port}\n"
            f"    tls: {{ca_certs: {certs.other_ca}, certfile: {certs.client_cert},"
            f" keyfile: {certs.client_key}}}\n"
            "    reconnect: {min: 0.2, max: 0.5}\n"
            f"  - name: nocert\n    host: localhost\n    port: {broker.port}\n"
            f"    tls: {{ca_certs: {certs.ca}}}\n"
            "    reconnect: {min: 0.2, max: 0.5}\n"
        )
        fleet = await started(parse_config(text, environ={}), bus)
        try:
            await connected(recorder)
            await eventually(lambda: "DISCONNECTED" in recorder.statuses("strange"))
            reason = next(
                p["reason"] for p in recorder.payloads("mqtt", "@strange", "status") if p["reason"]
            )
            assert reason.startswith("TLS certificate rejected: ")
            assert "CONNECTED" not in recorder.statuses("strange")
            await eventually(lambda: "DISCONNECTED" in recorder.statuses("nocert"))
            assert "CONNECTED" not in recorder.statuses("nocert")
            tool_tls = [
                "--cafile",
                str(certs.ca),
                "--cert",
                str(certs.client_cert),
                "--key",
                str(certs.client_key),
            ]
            await mosquitto_pub(broker, "-t", "secure/x", "-m", "over tls", *tool_tls)
            await eventually(lambda: len(messages(recorder)) == 1)
            result = await fleet.publish("plant", "secure/back", b"pong", qos=1)
            assert result.success
        finally:
            await fleet.aclose()


# --------------------------------------------------------------------------- amqtt


async def test_amqtt_broker_in_process(bus: EventManager) -> None:
    from amqtt.broker import Broker  # type: ignore[import-untyped]  # amqtt has no py.typed

    port = free_tcp_port()
    amqtt = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await amqtt.start()
    recorder = Recorder(bus)
    fleet = await started(
        config_for(port, subscriptions='[{topic: "site/#", qos: 1}]', protocol='"3.1.1"'), bus
    )
    try:
        await connected(recorder)
        result = await fleet.publish("plant", "site/loop", b'{"n": 1}', qos=1)
        assert result.success
        await eventually(lambda: len(messages(recorder)) == 1)
        assert base64.b64decode(messages(recorder)[0]["payload"]) == b'{"n": 1}'
    finally:
        await fleet.aclose()
        await amqtt.shutdown()


async def test_websockets_transport_with_amqtt(bus: EventManager) -> None:
    """MQTT over WebSocket (amqtt's ``ws`` listener; Debian mosquitto 2.0.11's
    websockets listener does not start here)."""
    from amqtt.broker import Broker

    port = free_tcp_port()
    amqtt = Broker(
        {
            "listeners": {"default": {"type": "ws", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await amqtt.start()
    recorder = Recorder(bus)
    fleet = await started(
        config_for(
            port,
            subscriptions='[{topic: "ws/#", qos: 1}]',
            protocol='"3.1.1"',
            transport="websockets",
            websocket_path="/",
        ),
        bus,
    )
    try:
        await connected(recorder)
        assert (await fleet.publish("plant", "ws/echo", b"over websockets", qos=1)).success
        await eventually(lambda: len(messages(recorder)) == 1)
        assert base64.b64decode(messages(recorder)[0]["payload"]) == b"over websockets"
    finally:
        await fleet.aclose()
        await amqtt.shutdown()


# --------------------------------------------------------------------------- publish, set, unset


ASTARTE_DEVICES = (
    "  - name: thermo\n"
    f"    mqtt: {{broker: plant, astarte: {{realm: demo, device_id: {DEVICE_ID}}}}}\n"
    "  - name: lamp\n"
    '    mqtt: {broker: plant, topic: "lamps/lamp/#", status_topic: lamps/lamp/status}\n'
)


async def test_publish_results(broker: Mosquitto, bus: EventManager) -> None:
    recorder = Recorder(bus)
    fleet = await started(config_for(broker.port), bus)
    try:
        await eventually(lambda: recorder.statuses("plant")[-1:] == ["CONNECTED"])
        async with mosquitto_sub(broker, "out/#", "-q", "2", "-F", "%t %q %r %p") as observer:
            for qos in (0, 1, 2):
                result = await fleet.publish(
                    "plant", f"out/{qos}", f"q{qos}", qos=qos, session_id="s1"
                )
                assert result.success, result
            await fleet.publish("plant", "out/kept", "kept", qos=1, retain=True)
            await eventually(lambda: len(observer.lines) == 4)
        # mosquitto_sub (libmosquitto) hands a QoS 2 message over on PUBREL, a QoS 1
        # one on PUBLISH: across topics and QoS levels the printed order may differ
        # from the publish order (MQTT 5 §4.6 orders per topic only)
        assert sorted(observer.lines) == [
            "out/0 0 0 q0",
            "out/1 1 0 q1",
            "out/2 2 0 q2",
            "out/kept 1 0 kept",
        ]
        results = recorder.payloads("mqtt", "@plant", "publish")
        assert [(r["topic"], r["qos"], r["success"], r["operation"]) for r in results] == [
            ("out/0", 0, True, "publish"),
            ("out/1", 1, True, "publish"),
            ("out/2", 2, True, "publish"),
            ("out/kept", 1, True, "publish"),
        ]
        assert results[0]["session_id"] == "s1"
        with pytest.raises(ValueError, match="wildcards"):
            await fleet.publish("plant", "out/#", "x")
        broker.kill()
        await eventually(lambda: recorder.statuses("plant")[-1] != "CONNECTED")
        with pytest.raises(MqttNotConnectedError):
            await fleet.publish("plant", "out/late", "x", qos=1)
    finally:
        await fleet.aclose()


async def test_set_and_unset_seen_by_an_independent_subscriber(
    broker: Mosquitto, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    fleet = await started(config_for(broker.port, devices=ASTARTE_DEVICES), bus)
    try:
        await connected(recorder)
        async with mosquitto_sub(broker, "demo/#", "-F", "%t %x") as observer:
            rate = "org.astarte-platform.genericsensors.SamplingRate"
            result = await fleet.set("thermo", rate, "/s1/samplingPeriod", 10, session_id="op-1")
            assert result.success
            result = await fleet.unset("thermo", rate, "/s1/samplingPeriod")
            assert result.success
            await fleet.set("thermo", "org.example.Commands", "/fan/command", "start")
            await eventually(lambda: len(observer.lines) == 3)

        topic, hexdata = observer.lines[0].split(" ")
        assert topic == f"{BASE}/{rate}/s1/samplingPeriod"
        assert bson.decode(bytes.fromhex(hexdata)) == {"v": 10}
        assert observer.lines[1] == f"{BASE}/{rate}/s1/samplingPeriod "  # empty payload
        assert observer.lines[2].startswith(f"{BASE}/org.example.Commands/fan/command ")
        assert broker.log_lines("PUBLISH")  # sanity: the broker saw them
        results = recorder.payloads("mqtt", "thermo", "publish")
        assert [(r["operation"], r["qos"], r["value"], r["success"]) for r in results] == [
            ("set", 2, 10, True),
            ("unset", 2, None, True),
            ("set", 1, "start", True),
        ]
        assert results[0]["session_id"] == "op-1"
        assert results[0]["interface"] == rate

        # fleettop also hears its own sets (it subscribes to the device's topics)
        await eventually(lambda: len(recorder.of("mqtt", "thermo", "property")) == 2)
        prop = recorder.payloads("mqtt", "thermo", "property")
        assert (prop[0]["value"], prop[0]["valid"], prop[1]["unset"]) == (10, True, True)

        with pytest.raises(ValidationError, match="device-owned"):
            await fleet.set(
                "thermo", "org.astarte-platform.genericsensors.AvailableSensors", "/s1/name", "x"
            )
        with pytest.raises(ValidationError, match="out of range"):
            await fleet.set("thermo", rate, "/s1/samplingPeriod", 2**31)
        with pytest.raises(ValidationError, match="does not allow unset"):
            await fleet.unset("thermo", "org.example.AllTypes", "/double")
        with pytest.raises(ValidationError, match="not an Astarte device"):
            await fleet.set("lamp", rate, "/s1/enable", True)
    finally:
        await fleet.aclose()


async def test_astarte_messages_become_properties_and_datastreams(
    broker: Mosquitto, bus: EventManager, tmp_path: Path
) -> None:
    recorder = Recorder(bus)
    fleet = await started(config_for(broker.port, devices=ASTARTE_DEVICES), bus)
    try:
        await connected(recorder)
        when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
        values = "org.astarte-platform.genericsensors.Values"
        geo = "org.astarte-platform.genericsensors.Geolocation"
        payloads = {
            f"{values}/s1/value": bson.encode({"v": 21.5, "t": when}),
            f"{geo}/gps": bson.encode(
                {"v": {"latitude": 45.1, "longitude": 7.6, "altitude": 250.0}, "t": when}
            ),
            f"{values}/s2/value": bson.encode({"v": 12, "t": when}),
            "org.astarte-platform.genericsensors.AvailableSensors/s1/name": bson.encode(
                {"v": "kitchen"}
            ),
        }
        for path, data in payloads.items():
            file = tmp_path / path.replace("/", "_")
            file.write_bytes(data)
            await mosquitto_pub(broker, "-t", f"{BASE}/{path}", "-f", str(file), "-q", "1")
        await mosquitto_pub(broker, "-t", BASE, "-m", f"{values}:1:0;{geo}:1:0;com.x.Y:0:1")
        await eventually(lambda: len(recorder.of("mqtt", "thermo", "datastream")) == 3)
        await eventually(lambda: recorder.of("mqtt", "thermo", "introspection"))

        ok = recorder.of("mqtt", "thermo", "datastream", values, "/s1/value")[0]
        assert ok.payload["value"] == 21.5  # type: ignore[index, call-overload]
        assert ok.payload["timestamp"] == "2024-05-01T12:30:00.000Z"  # type: ignore[index, call-overload]
        assert ok.payload["valid"] is True  # type: ignore[index, call-overload]
        assert ok.source_timestamp == when.timestamp()

        row = recorder.payloads("mqtt", "thermo", "datastream", geo, "/gps")[0]
        assert row["value"] == {"latitude": 45.1, "longitude": 7.6, "altitude": 250.0}
        assert row["aggregation"] == "object"

        bad = recorder.payloads("mqtt", "thermo", "datastream", values, "/s2/value")[0]
        assert bad["valid"] is False
        assert "is double" in bad["error"]

        prop = recorder.payloads("mqtt", "thermo", "property")[0]
        assert (prop["value"], prop["ownership"], prop["valid"]) == ("kitchen", "device", True)

        (intro,) = recorder.payloads("mqtt", "thermo", "introspection")
        assert [(i["name"], i["known"]) for i in intro["interfaces"]] == [
            (values, True),
            (geo, True),
            ("com.x.Y", False),
        ]
    finally:
        await fleet.aclose()


async def test_device_status_from_status_topic_and_freshness(
    broker: Mosquitto, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    devices = (
        "  - name: lamp\n"
        '    mqtt: {broker: plant, topic: "lamps/lamp/#", status_topic: lamps/lamp/status}\n'
        '  - {name: probe, mqtt: {broker: plant, topic: "probes/probe/#", timeout: 30}}\n'
    )
    fleet = await started(
        config_for(
            broker.port,
            extra="    device_rules: [{template: 'site/{device}/telemetry/#', timeout: 5}]\n",
            devices=devices,
        ),
        bus,
    )

    def status(device: str) -> str:
        return str(recorder.payloads("mqtt", device, "status")[-1]["status"])

    try:
        await connected(recorder)
        assert (status("lamp"), status("probe")) == ("UNKNOWN", "UNKNOWN")
        await mosquitto_pub(broker, "-t", "lamps/lamp/status", "-m", "online", "-r")
        await eventually(lambda: status("lamp") == "ONLINE")
        await mosquitto_pub(broker, "-t", "lamps/lamp/status", "-m", "offline", "-r")
        await eventually(lambda: status("lamp") == "OFFLINE")
        await mosquitto_pub(broker, "-t", "lamps/lamp/level", "-m", "3")  # data, not status
        await mosquitto_pub(broker, "-t", "probes/probe/t", "-m", "1")
        await mosquitto_pub(broker, "-t", "site/boiler-1/telemetry/t", "-m", "80")
        await eventually(lambda: status("probe") == "ONLINE")
        await eventually(lambda: "boiler-1" in fleet.devices)
        assert status("lamp") == "OFFLINE"
        assert fleet.devices["boiler-1"].discovered
        assert recorder.payloads("mqtt", "boiler-1", "status")[-1]["discovered"] is True

        last = fleet.devices["probe"].last_seen
        assert last is not None
        fleet.tick(last + 29)
        await bus.drain()
        assert status("probe") == "ONLINE"
        fleet.tick(last + 31)
        await bus.drain()
        assert status("probe") == "OFFLINE"
        assert recorder.payloads("mqtt", "probe", "status")[-1]["reason"] == "no message for 30 s"
        assert status("boiler-1") == "OFFLINE"  # its template's timeout is 5 s
        stats = recorder.payloads("mqtt", "probe", "stats")
        assert stats[-1]["messages"] == 1
    finally:
        await fleet.aclose()


async def test_a_device_rule_under_a_broker_filter_of_lower_qos_delivers_once(
    broker: Mosquitto, bus: EventManager
) -> None:
    """Issue 14 §6: a broker filter at QoS 0 and a device rule covered by it made two
    subscriptions, and mosquitto delivered every message twice."""
    recorder = Recorder(bus)
    fleet = await started(
        config_for(
            broker.port,
            subscriptions='[{topic: "site/#", qos: 0}]',
            extra="    device_rules: [{template: 'site/{device}/telemetry/#'}]\n",
        ),
        bus,
    )
    try:
        await connected(recorder)
        (subscribed,) = recorder.payloads("mqtt", "@plant", "subscribed")
        assert [f["topic"] for f in subscribed["filters"]] == ["site/#"]
        await mosquitto_pub(broker, "-t", "site/b1/telemetry/t", "-m", "80")
        await mosquitto_pub(broker, "-t", "site/b1/telemetry/end", "-m", "1")
        await eventually(lambda: any(m["topic"].endswith("/end") for m in messages(recorder)))
        assert [m["topic"] for m in messages(recorder)].count("site/b1/telemetry/t") == 1
        assert fleet.devices["b1"].messages == 2
    finally:
        await fleet.aclose()


async def test_a_status_topic_device_has_its_status_again_when_the_broker_is_back(
    broker: Mosquitto, bus: EventManager
) -> None:
    """Issue 14 §6: a device whose birth message was not retained stayed "UNKNOWN …
    broker is CONNECTING" after a broker restart while its data flowed."""
    recorder = Recorder(bus)
    devices = (
        "  - name: lamp\n"
        '    mqtt: {broker: plant, topic: "lamps/lamp/#", status_topic: lamps/lamp/status}\n'
        "  - name: pump\n"
        '    mqtt: {broker: plant, topic: "pumps/pump/#", status_topic: pumps/pump/status}\n'
        '  - {name: probe, mqtt: {broker: plant, topic: "probes/probe/#"}}\n'
    )
    fleet = await started(config_for(broker.port, devices=devices), bus)

    def status(device: str) -> tuple[str, Any]:
        last = recorder.payloads("mqtt", device, "status")[-1]
        return str(last["status"]), last["reason"]

    try:
        await connected(recorder)
        await mosquitto_pub(broker, "-t", "lamps/lamp/status", "-m", "online")  # not retained
        await mosquitto_pub(broker, "-t", "pumps/pump/status", "-m", "offline")
        await mosquitto_pub(broker, "-t", "probes/probe/t", "-m", "1")
        await eventually(lambda: status("lamp")[0] == "ONLINE")
        await eventually(lambda: status("pump")[0] == "OFFLINE")
        await eventually(lambda: status("probe")[0] == "ONLINE")
        pump_reason = status("pump")[1]

        broker.kill()
        await eventually(lambda: status("lamp")[0] == "UNKNOWN")
        await eventually(lambda: status("pump")[0] == "UNKNOWN")
        assert status("probe")[0] == "UNKNOWN"
        broker.start()
        await connected(recorder, times=2)
        await eventually(lambda: status("lamp") == ("ONLINE", None))
        await eventually(lambda: status("pump") == ("OFFLINE", pump_reason))
        # without a status topic: unknown until the device is heard again
        assert status("probe")[0] == "UNKNOWN"
        await mosquitto_pub(broker, "-t", "probes/probe/t", "-m", "2")
        await eventually(lambda: status("probe")[0] == "ONLINE")
        # the status topic still speaks for itself afterwards
        await mosquitto_pub(broker, "-t", "lamps/lamp/status", "-m", "offline")
        await eventually(lambda: status("lamp")[0] == "OFFLINE")
    finally:
        await fleet.aclose()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_an_operator_publish_on_a_device_template_makes_up_no_device(
    broker: Mosquitto, bus: EventManager, protocol: str
) -> None:
    """Issue 11 §7: the echo of the operator's own publish to a topic that a
    ``device_rules`` template matches is shown (as the broker's message, marked
    ``own``) but creates no device, so nothing goes OFFLINE and no alarm follows; a
    device that publishes the same way is discovered. With MQTT 5 the mark travels
    with a retained message, so a restarted console does not make one up either."""
    config = config_for(
        broker.port,
        extra="    device_rules: [{template: 'site/{device}/telemetry/#', timeout: 5}]\n",
        protocol=f'"{protocol}"',
    )
    recorder = Recorder(bus)
    fleet = await started(config, bus)
    try:
        await connected(recorder)
        for retain in (False, True):
            result = await fleet.publish(
                "plant", f"site/phantom/telemetry/r{retain:d}", "1", qos=1, retain=retain
            )
            assert result.success
        await mosquitto_pub(broker, "-t", "site/boiler-2/telemetry/t", "-m", "80")
        await eventually(lambda: "boiler-2" in fleet.devices)
        await eventually(lambda: len([m for m in messages(recorder) if m["own"]]) == 2)
        echoes = [m for m in messages(recorder) if m["own"]]
        assert {m["topic"] for m in echoes} == {
            "site/phantom/telemetry/r0",
            "site/phantom/telemetry/r1",
        }
        assert all(m["device"] is None for m in echoes)
        assert recorder.of("mqtt", "@plant", "message", "site", "phantom", "telemetry", "r0")
        assert "phantom" not in fleet.devices
        assert not recorder.of("mqtt", "phantom")
        fleet.tick(time.time() + 60)  # past every freshness timeout
        await bus.drain()
        assert recorder.payloads("mqtt", "boiler-2", "status")[-1]["status"] == "OFFLINE"
        assert not recorder.of("mqtt", "phantom")
    finally:
        await fleet.aclose()
    if protocol != "5":
        return  # MQTT 3.1.1 carries no mark: a retained echo is known in-session only
    restarted = Recorder(bus)
    fleet = await started(config, bus)
    try:
        await connected(restarted)
        await eventually(
            lambda: any(m["topic"] == "site/phantom/telemetry/r1" for m in messages(restarted))
        )
        (retained,) = [m for m in messages(restarted) if m["topic"].startswith("site/phantom")]
        assert (retained["retain"], retained["own"], retained["device"]) == (True, True, None)
        assert "phantom" not in fleet.devices
    finally:
        await fleet.aclose()


# --------------------------------------------------------------------------- bounds


async def test_handover_is_bounded_and_a_blocking_subscriber_loses_nothing(
    broker: Mosquitto, bus: EventManager
) -> None:
    """paho's thread waits when 100 messages wait for the loop; a slow BLOCK
    subscriber slows the pump (publish_wait) instead of losing messages."""
    from console.events import Policy
    from console.mqtt.client import BrokerConnection

    got: list[str] = []
    gate = asyncio.Event()  # the subscriber stalls until paho's thread has waited

    async def slow(event: Event) -> None:
        got.append(cast(dict[str, Any], event.payload)["topic"])
        if len(got) == 1:
            await gate.wait()
        if len(got) % 50 == 0:
            await asyncio.sleep(0.01)

    bus.subscribe(("mqtt", "?", "message", "*"), slow, policy=Policy.BLOCK, maxsize=20)
    config = config_for(broker.port, subscriptions='[{topic: "load/#", qos: 1}]')
    connection = BrokerConnection(config.brokers[0], bus, max_pending=100)
    await connection.start()
    try:
        await eventually(lambda: bus.latest(("mqtt", "@plant", "subscribed")) is not None)
        lines = "".join(f"{n}\n" for n in range(3000)).encode()
        await mosquitto_pub(broker, "-t", "load/x", "-q", "1", "-l", stdin=lines)
        # the pump is held by the subscriber: the hand-over fills to its bound and
        # paho's thread waits there (deterministic, whatever the machine's speed)
        await eventually(lambda: connection.pending >= 100)
        gate.set()
        await eventually(lambda: len(got) == 3000, within=60)
        assert connection.stats.received == 3000
        assert connection.stats.stalls > 0  # paho's thread did wait
        assert connection.stats.max_pending <= 100 + 8  # + status/SUBACK/stall controls
        assert all(s.stats.overflow == 0 and s.stats.dropped == 0 for s in bus.subscriptions)
    finally:
        await connection.aclose()


async def test_the_pump_and_pahos_thread_wait_while_a_key_is_answered_and_lose_nothing(
    broker: Mosquitto, bus: EventManager
) -> None:
    """While the bus's pace holds (the app answering the operator's key,
    console.pace), the pump hands nothing over and paho's thread stops reading rather
    than filling the hand-over; once released every message arrives, in order."""
    from console.mqtt.client import BrokerConnection
    from console.pace import Pace

    bus.pace = Pace(hold_seconds=60, share=1.0, window=120, pause_gc=False)
    got: list[str] = []
    bus.subscribe(
        ("mqtt", "?", "message", "*"),
        lambda event: got.append(cast(dict[str, Any], event.payload)["payload"]),
    )
    config = config_for(broker.port, subscriptions='[{topic: "keys/#", qos: 1}]')
    connection = BrokerConnection(config.brokers[0], bus)
    await connection.start()
    try:
        await eventually(lambda: bus.latest(("mqtt", "@plant", "subscribed")) is not None)
        assert bus.pace.hold()
        lines = "".join(f"{n}\n" for n in range(500)).encode()
        await mosquitto_pub(broker, "-t", "keys/x", "-q", "1", "-l", stdin=lines)
        await asyncio.sleep(0.3)  # mosquitto_pub has returned: the broker has sent them
        assert got == []
        assert connection.pending <= 2  # paho's thread waits at its first message
        bus.pace.release()
        await eventually(lambda: len(got) == 500, within=60)
        assert got == [base64.b64encode(f"{n}".encode()).decode() for n in range(500)]
    finally:
        bus.pace.release()
        await connection.aclose()


async def test_the_pump_waits_when_the_loop_is_congested_and_loses_nothing(
    broker: Mosquitto, bus: EventManager
) -> None:
    """A task that holds the loop 20 ms at each of its steps (a slow repaint): the
    pump, coming back late, waits before its next step (``stats.backoffs``), and
    every message still arrives, in order."""
    from console.mqtt.client import BrokerConnection
    from console.mqtt.handover import CONGESTED_SECONDS

    got: list[str] = []
    bus.subscribe(
        ("mqtt", "?", "message", "*"),
        lambda event: got.append(cast(dict[str, Any], event.payload)["payload"]),
    )
    config = config_for(broker.port, subscriptions='[{topic: "busy/#", qos: 1}]')
    connection = BrokerConnection(config.brokers[0], bus)

    async def hog() -> None:
        while True:
            time.sleep(2 * CONGESTED_SECONDS)  # noqa: ASYNC251 - holding the loop is the point
            await asyncio.sleep(0)

    await connection.start()
    task = asyncio.create_task(hog())
    try:
        await eventually(lambda: bus.latest(("mqtt", "@plant", "subscribed")) is not None)
        lines = "".join(f"{n}\n" for n in range(2000)).encode()
        await mosquitto_pub(broker, "-t", "busy/x", "-q", "1", "-l", stdin=lines)
        await eventually(lambda: len(got) == 2000, within=60)
        assert connection.stats.backoffs > 0
        expected = [base64.b64encode(f"{n}".encode()).decode() for n in range(2000)]
        assert got == expected
    finally:
        task.cancel()
        await connection.aclose()
