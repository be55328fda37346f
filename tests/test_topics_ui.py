"""The Topics screen against a real mosquitto (issue 14 §1, §2, §4): the tree with its
counts (retained messages included), the ``+``/``#`` filter, history stepping with
its diff, and the cleanup of ~2,000 retained topics, checked with ``mosquitto_sub``
and in the audit log; refused in read-only mode.

Messages come from ``mosquitto_pub`` and, for the 2,000 retained topics, from a
paho client (``mosquitto_pub`` publishes one topic per run). Waiting is bounded
polling, never a timed assertion.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select

from console.app import FleettopApp
from console.config import Config, parse_config
from console.explorer.tree import TopicTree
from console.runtime import Runtime
from screens.confirm import ConfirmScreen
from screens.oids import OidsScreen
from screens.publish import PublishScreen
from screens.topic_plot import TopicPlotScreen
from screens.topics import CLEAR_ACTION, TopicsScreen
from tests.conftest import require_program
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.ui_helpers import SIZE, Notices, devices_screen, shown, wait_for
from tests.waiting import eventually
from widgets.device_table import DeviceTable
from widgets.topic_tree import TopicTreeView
from widgets.value_table import ValueTable, row_key

pytestmark = pytest.mark.peer("mosquitto")

BULK = 2000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as mosquitto:
        yield mosquitto


def config_for(broker: Mosquitto, tmp_path: Path, extra: str = "") -> Config:
    return parse_config(
        extra + f"store: {{path: {tmp_path / 'fleet.db'}, batch_window: 0.01}}\n"
        "brokers:\n"
        "  - name: plant\n"
        "    host: 127.0.0.1\n"
        f"    port: {broker.port}\n"
        "    subscriptions: [{topic: '#', qos: 1}]\n",
        environ={},
    )


def publish_retained(broker: Mosquitto, topics: list[str]) -> None:
    """Retain one message on each of ``topics`` (QoS 1, each acknowledged)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bulk-publisher")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        infos = [client.publish(t, f"v{n}".encode(), 1, True) for n, t in enumerate(topics)]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


async def retained_under(broker: Mosquitto, topic_filter: str) -> list[str]:
    """The retained messages under ``topic_filter``, as ``mosquitto_sub`` sees them."""
    tool = require_program("mosquitto_sub")
    proc = await asyncio.create_subprocess_exec(
        tool,
        *broker.client_args(),
        "-v",
        "-t",
        topic_filter,
        "--retained-only",
        "-W",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    return [line for line in out.decode().splitlines() if line.strip()]


async def topics_screen(pilot: object, app: FleettopApp) -> TopicsScreen:
    await devices_screen(pilot)  # type: ignore[arg-type]
    await pilot.press("T")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: shown(app, TopicsScreen), "topics screen")  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, TopicsScreen)
    return screen


def row_paths(screen: TopicsScreen) -> list[str]:
    return [node.path for node in screen.view.rows]


async def subscribed_topics(pilot: Pilot[None], app: FleettopApp) -> tuple[TopicsScreen, TopicTree]:
    """The Topics screen and its tree, once the broker acknowledged the subscription."""
    screen = await topics_screen(pilot, app)
    tree = screen.topic_tree
    assert tree is not None
    await eventually(lambda: app.runtime.bus.snapshot(("mqtt", "@plant", "subscribed")))
    return screen, tree


async def publish_all(
    pilot: Pilot[None], broker: Mosquitto, tree: TopicTree, topic: str, payloads: list[str]
) -> None:
    """Publish ``payloads`` on ``topic`` in order; wait until the tree counted them."""
    for payload in payloads:
        await mosquitto_pub(broker, "-t", topic, "-m", payload)
    count = len(payloads)

    def counted() -> bool:
        node = tree.find("plant", topic)
        return node is not None and node.count == count

    await wait_for(pilot, counted, str(count))


async def select(pilot: Pilot[None], screen: TopicsScreen, topic: str) -> None:
    """Put the cursor on ``topic`` of broker ``plant``; wait until it is highlighted."""
    screen.select_topic("plant", topic)
    await wait_for(pilot, lambda: screen.view.highlighted is not None, "selected")


async def test_the_tree_shows_every_topic_with_counts_and_filters(
    broker: Mosquitto, tmp_path: Path
) -> None:
    await mosquitto_pub(broker, "-t", "site/s1/temp", "-m", "21.5", "-r", "-q", "1")
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await topics_screen(pilot, app)
        tree = screen.topic_tree
        assert tree is not None
        # the retained message arrives on subscription, with its flag
        await wait_for(pilot, lambda: tree.find("plant", "site/s1/temp"), "retained topic")
        for value in ("1", "2", "3"):
            await mosquitto_pub(broker, "-t", "site/s2/temp", "-m", value)
        await mosquitto_pub(broker, "-t", "site/s2/hum", "-m", "40")
        await mosquitto_pub(broker, "-t", "other/x", "-m", "y")
        await wait_for(pilot, lambda: tree.messages >= 6, "messages")
        await wait_for(pilot, lambda: "@plant/site" in row_paths(screen), "rows rebuilt")
        site = tree.root.children["@plant"].children["site"]
        assert (site.count, site.topic_total, site.retained_count) == (5, 3, 1)
        assert not site.expanded
        # the closed level's line sums its subtree
        view = screen.query_one(TopicTreeView)
        view.move_cursor(row_paths(screen).index("@plant/site"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "@plant/site/s2" in row_paths(screen), "opened")
        assert row_paths(screen) == [
            "@plant",
            "@plant/other",
            "@plant/site",
            "@plant/site/s1",
            "@plant/site/s2",
        ]
        # an MQTT filter shows the matching topics and their levels, all open
        await pilot.press("slash", *"site/+/temp", "enter")
        await wait_for(pilot, lambda: "@plant/site/s2/temp" in row_paths(screen), "filter")
        assert row_paths(screen) == [
            "@plant",
            "@plant/site",
            "@plant/site/s1",
            "@plant/site/s1/temp",
            "@plant/site/s2",
            "@plant/site/s2/temp",
        ]
        temp = tree.find("plant", "site/s1/temp")
        assert temp is not None
        assert temp.retained


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_live_retained_publish_is_flagged_where_the_broker_says_so(
    broker: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    """MQTT 5 subscribes with Retain As Published (§3.8.3.1): a retained publish made
    after subscribing flags its topic, a plain one leaves the flag, an empty retained
    one clears it. MQTT 3.1.1 delivers live publishes without the flag (§3.3.1.3): the
    topic is not known retained."""
    text = (
        f"store: {{path: {tmp_path / 'fleet.db'}, batch_window: 0.01}}\n"
        "brokers:\n  - name: plant\n    host: 127.0.0.1\n"
        f"    port: {broker.port}\n    protocol: '{protocol}'\n"
        "    subscriptions: [{topic: '#', qos: 1}]\n"
    )
    config = parse_config(text, environ={})
    app = FleettopApp(Runtime(config))
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await subscribed_topics(pilot, app)
        await publish_all(pilot, broker, tree, "lab/door", ["open"])  # not retained
        node = tree.find("plant", "lab/door")
        assert node is not None
        assert not node.retained
        await mosquitto_pub(broker, "-t", "lab/door", "-m", "closed", "-r", "-q", "1")
        await wait_for(pilot, lambda: node.count == 2, "the retained publish")
        if protocol == "3.1.1":
            assert not node.retained  # the broker does not say it retained it
            return
        assert node.retained
        assert node.latest is not None
        assert node.latest.retain
        assert tree.root.children["@plant"].retained_count == 1
        await mosquitto_pub(broker, "-t", "lab/door", "-m", "ajar", "-q", "1")
        await wait_for(pilot, lambda: node.count == 3, "the plain publish")
        assert node.retained  # the broker still holds "closed"
        await mosquitto_pub(broker, "-t", "lab/door", "-n", "-r", "-q", "1")
        await wait_for(pilot, lambda: node.count == 4, "the empty retained publish")
        assert not node.retained
        assert tree.root.children["@plant"].retained_count == 0
        assert await retained_under(broker, "lab/#") == []


async def test_history_steps_back_with_the_diff_against_the_message_before(
    broker: Mosquitto, tmp_path: Path
) -> None:
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        bodies = [{"temp": 21.5, "unit": "C"}, {"temp": 22.0, "unit": "C"}, {"temp": 22.5}]
        await publish_all(pilot, broker, tree, "lab/probe", [json.dumps(b) for b in bodies])
        await select(pilot, screen, "lab/probe")
        assert screen.view.highlighted is tree.find("plant", "lab/probe")

        def detail() -> str:
            return str(screen.query_one("#topic-detail").render())

        assert "message 3 of 3" in detail()
        assert "~ /temp: 22.0 → 22.5" in detail()
        assert '- /unit: "C"' in detail()
        await pilot.press("left_square_bracket")
        assert "message 2 of 3" in detail()
        assert "~ /temp: 21.5 → 22.0" in detail()
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert "message 1 of 3" in detail()
        assert "nothing to compare" in detail()
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert "message 3 of 3" in detail()


async def test_a_numeric_topic_is_charted_with_min_max_last(
    broker: Mosquitto, tmp_path: Path
) -> None:
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        await publish_all(
            pilot, broker, tree, "lab/power", [json.dumps({"w": v}) for v in (3, 1, 2)]
        )
        await select(pilot, screen, "lab/power")
        await pilot.press("g")
        await wait_for(pilot, lambda: shown(app, TopicPlotScreen), "chart")
        chart = app.screen
        assert isinstance(chart, TopicPlotScreen)
        assert "/w: min 1  max 3  last 2  (3 points)" in chart.stats_text
        assert "window 5 min" in chart.stats_text
        await pilot.press("w")
        assert "window 15 min" in chart.stats_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: shown(app, TopicsScreen), "back")


async def test_the_chart_axis_and_stats_are_round_numbers(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """Payloads with float noise (``22.400000000000002``, what 22.3 + 0.1 prints): the
    y axis ticks are round values written alike and the stats line reads ``22.4``."""
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        values = ["21.9", "22.400000000000002", "22.150000000000002"]
        await publish_all(pilot, broker, tree, "lab/temp", values)
        await select(pilot, screen, "lab/temp")
        await pilot.press("g")
        await wait_for(pilot, lambda: shown(app, TopicPlotScreen), "chart")
        chart = app.screen
        assert isinstance(chart, TopicPlotScreen)
        assert "value: min 21.9  max 22.4  last 22.15  (3 points)" in chart.stats_text
        assert chart.y_ticks == ["21.8", "22.0", "22.2", "22.4"]
        from textual_plotext import PlotextPlot

        drawn = chart.query_one(PlotextPlot).plt.build()
        assert "22.400000000000002" not in drawn
        assert "22.150000000000002" not in drawn
        assert "22.2" in drawn


async def test_older_messages_come_back_from_the_store(broker: Mosquitto, tmp_path: Path) -> None:
    """Two messages in memory (``ui.topics.history_messages: 2``), the first of three
    from the store's notification log with ``h``."""
    config = config_for(broker, tmp_path, "ui: {topics: {history_messages: 2}}\n")
    app = FleettopApp(Runtime(config))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        await publish_all(pilot, broker, tree, "lab/log", ["first", "second", "third"])
        node = tree.find("plant", "lab/log")
        assert node is not None
        assert [m.payload for m in node.history] == [b"second", b"third"]
        screen.select_topic("plant", "lab/log")
        await wait_for(pilot, lambda: screen.view.highlighted is node, "selected")
        await pilot.press("h")
        await wait_for(pilot, lambda: len(screen.history(node)) == 3, "from the store")
        assert [m.payload for m in screen.history(node)] == [b"first", b"second", b"third"]
        detail = str(screen.query_one("#topic-detail").render())
        assert "message 1 of 3" in detail
        assert "first" in detail
        await pilot.press("right_square_bracket")
        detail = str(screen.query_one("#topic-detail").render())
        assert "message 2 of 3" in detail
        assert "- first" in detail
        assert "+ second" in detail


async def test_a_chart_opened_late_has_the_past_from_the_store(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """Two messages in memory (``ui.topics.history_messages: 2``): the chart has all
    three points, the first read from the store's notification log as it opens."""
    config = config_for(broker, tmp_path, "ui: {topics: {history_messages: 2}}\n")
    app = FleettopApp(Runtime(config))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        await publish_all(pilot, broker, tree, "lab/level", ["10", "30", "20"])
        await select(pilot, screen, "lab/level")
        await pilot.press("g")
        await wait_for(pilot, lambda: shown(app, TopicPlotScreen), "chart")
        chart = app.screen
        assert isinstance(chart, TopicPlotScreen)
        assert "value: min 10  max 30  last 20  (3 points)" in chart.stats_text


async def test_a_subtree_of_retained_topics_is_cleared_and_audited(
    broker: Mosquitto, tmp_path: Path
) -> None:
    topics = [f"bulk/{n // 100}/t{n}" for n in range(BULK)]
    await asyncio.to_thread(publish_retained, broker, topics)
    await mosquitto_pub(broker, "-t", "keep/me", "-m", "stay", "-r")
    assert len(await retained_under(broker, "bulk/#")) == BULK
    notices = Notices()
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        screen = await topics_screen(pilot, app)
        tree = screen.topic_tree
        assert tree is not None
        await wait_for(pilot, lambda: tree.messages >= BULK + 1, "retained messages", attempts=2000)
        bulk = tree.root.children["@plant"].children["bulk"]
        assert bulk.retained_count == BULK
        await wait_for(pilot, lambda: "@plant/bulk" in row_paths(screen), "rows")
        screen.view.move_cursor(row_paths(screen).index("@plant/bulk"))
        await pilot.press("x")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "confirmation")
        body = str(app.screen.query_one("#confirm-body").render())
        assert "2,000 retained" in body or "2000 retained" in body
        await pilot.press("y")
        await wait_for(
            pilot, lambda: notices.has("retained message(s) cleared"), "cleared", attempts=4000
        )
        assert notices.has(f"{BULK} retained message(s) cleared on plant")
        # the echoes of the empty publishes mark them no longer retained
        await wait_for(pilot, lambda: bulk.retained_count == 0, "echoes", attempts=2000)
    assert await retained_under(broker, "bulk/#") == []
    assert await retained_under(broker, "keep/#") == ["keep/me stay"]
    with sqlite3.connect(tmp_path / "fleet.db") as db:
        rows = db.execute(
            "SELECT device, target, new, result FROM audit WHERE action = ?", (CLEAR_ACTION,)
        ).fetchall()
    assert len(rows) == 1
    device, target, new, result = rows[0]
    assert (device, target, result) == ("@plant", "bulk/#", "ok")
    assert json.loads(new)["cleared"] == BULK


async def test_publish_from_a_topic_is_prefilled_flagged_retained_and_kept_as_a_preset(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """``p`` on a retained topic: the dialog holds its broker, topic, last payload,
    QoS and retain flag; the confirmation flags the retained publish; the publish
    reaches the broker and is kept, named, in the presets file; the next dialog
    recalls it (issue 14 §5)."""
    await mosquitto_pub(broker, "-t", "lab/lamp", "-m", '{"on": false}', "-r", "-q", "1")
    presets_file = tmp_path / "data" / "publish.json"
    app = FleettopApp(Runtime(config_for(broker, tmp_path)), presets_path=presets_file)
    async with app.run_test(size=SIZE) as pilot:
        screen = await topics_screen(pilot, app)
        tree = screen.topic_tree
        assert tree is not None
        await wait_for(pilot, lambda: tree.find("plant", "lab/lamp"), "retained topic")
        await select(pilot, screen, "lab/lamp")
        await pilot.press("p")
        await wait_for(pilot, lambda: shown(app, PublishScreen), "the publish dialog")
        dialog = app.screen
        assert isinstance(dialog, PublishScreen)
        assert dialog.query_one("#publish-topic", Input).value == "lab/lamp"
        assert dialog.query_one("#publish-payload", Input).value == '{"on": false}'
        assert dialog.query_one("#publish-retain", Checkbox).value is True
        assert dialog.query_one("#publish-qos", Select).value == 1
        dialog.query_one("#publish-payload", Input).value = '{"on": true}'
        dialog.query_one("#publish-save-as", Input).value = "lamp on"
        form = dialog
        await wait_for(pilot, lambda: form.error == "", "valid")
        dialog.query_one("#publish-payload", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, ConfirmScreen), "the confirmation")
        title = str(app.screen.query_one("#confirm-title").render())
        assert "RETAINED" in title
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (n := tree.find("plant", "lab/lamp")) and n.count >= 2,
            "the echo",
            attempts=2000,
        )
        saved = json.loads(presets_file.read_text(encoding="utf-8"))
        assert saved["presets"]["lamp on"] == {
            "broker": "plant",
            "topic": "lab/lamp",
            "payload": '{"on": true}',
            "qos": 1,
            "retain": True,
        }
        assert saved["history"][0]["payload"] == '{"on": true}'
        # the next dialog recalls it
        screen.select_topic("plant", "lab/lamp")
        await pilot.press("p")
        await wait_for(pilot, lambda: shown(app, PublishScreen), "the publish dialog again")
        dialog = app.screen
        assert isinstance(dialog, PublishScreen)
        dialog.query_one("#publish-payload", Input).value = "changed"
        dialog.query_one("#publish-recall", Select).value = 0
        await wait_for(
            pilot,
            lambda: dialog.query_one("#publish-payload", Input).value == '{"on": true}',
            "recalled",
        )
        await pilot.press("escape")
    assert await retained_under(broker, "lab/#") == ['lab/lamp {"on": true}']


async def test_from_a_device_value_to_its_topic_and_back(broker: Mosquitto, tmp_path: Path) -> None:
    """``T`` on a device's MQTT value shows the Topics screen on that value's topic;
    ``o`` there opens the device's values with that value selected (issue 14 §1)."""
    config = parse_config(
        f"store: {{path: {tmp_path / 'fleet.db'}, batch_window: 0.01}}\n"
        "brokers:\n"
        "  - name: plant\n"
        "    host: 127.0.0.1\n"
        f"    port: {broker.port}\n"
        "    subscriptions: [{topic: 'site/#', qos: 1}]\n"
        "    device_rules: [{template: 'site/{device}/#'}]\n",
        environ={},
    )
    app = FleettopApp(Runtime(config))
    async with app.run_test(size=SIZE) as pilot:
        devices = await devices_screen(pilot)
        await eventually(lambda: app.runtime.bus.snapshot(("mqtt", "@plant", "subscribed")))
        await mosquitto_pub(broker, "-t", "site/s7/temp", "-m", "21.5")
        await mosquitto_pub(broker, "-t", "site/s7/hum", "-m", "40")
        table = devices.query_one(DeviceTable)
        await wait_for(pilot, lambda: "s7" in table.rows, "the device row", attempts=1500)
        table.move_cursor(row=table.get_row_index("s7"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the values")
        oids = app.screen
        assert isinstance(oids, OidsScreen)
        values = oids.query_one(ValueTable)
        state = app.state

        def key_of(topic: str) -> tuple[str, str] | None:
            return next((k for k, i in state.mqtt.info.items() if i.topic == topic), None)

        def shown_value() -> bool:
            found = key_of("site/s7/hum")
            return found is not None and row_key(found) in values.rows

        await wait_for(pilot, shown_value, "the value", attempts=1500)
        key = key_of("site/s7/hum")
        assert key is not None
        assert values.select_key(key)
        await pilot.press("T")
        await wait_for(pilot, lambda: shown(app, TopicsScreen), "the topics")
        screen = app.screen
        assert isinstance(screen, TopicsScreen)
        await wait_for(
            pilot,
            lambda: (n := screen.view.highlighted) is not None and n.topic == "site/s7/hum",
            "the value's topic selected",
        )
        node = screen.view.highlighted
        assert node is not None
        assert (node.device, node.broker) == ("s7", "plant")
        await pilot.press("o")
        await wait_for(pilot, lambda: shown(app, OidsScreen), "the device's values")
        back = app.screen
        assert isinstance(back, OidsScreen)
        assert back.device == "s7"
        await wait_for(
            pilot,
            lambda: back.query_one(ValueTable).highlighted_key == key,
            "the value selected",
        )
        # and T again from there: the Topics screen, on that topic
        other = key_of("site/s7/temp")
        assert other is not None
        assert back.query_one(ValueTable).select_key(other)
        await pilot.press("T")
        await wait_for(
            pilot,
            lambda: (
                shown(app, TopicsScreen)
                and (n := screen.view.highlighted) is not None
                and n.topic == "site/s7/temp"
            ),
            "the other topic selected",
        )


async def test_read_only_refuses_the_cleanup(broker: Mosquitto, tmp_path: Path) -> None:
    await mosquitto_pub(broker, "-t", "ro/x", "-m", "v", "-r")
    notices = Notices()
    app = FleettopApp(Runtime(config_for(broker, tmp_path)), read_only=True)
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        screen = await topics_screen(pilot, app)
        tree = screen.topic_tree
        assert tree is not None
        await wait_for(pilot, lambda: tree.find("plant", "ro/x"), "retained topic")
        await wait_for(pilot, lambda: "@plant/ro" in row_paths(screen), "rows")
        screen.view.move_cursor(row_paths(screen).index("@plant/ro"))
        await pilot.press("x")
        await wait_for(pilot, lambda: notices.has("read-only mode"), "refused")
        assert not shown(app, ConfirmScreen)
    assert await retained_under(broker, "ro/#") == ["ro/x v"]


async def test_without_brokers_the_screen_says_so_and_the_command_line_opens_it() -> None:
    from screens.command_line import CommandLineScreen
    from tests.ui_helpers import make_app

    notices = Notices()
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=notices.hook) as pilot:
        await devices_screen(pilot)
        await pilot.press("colon")
        await wait_for(pilot, lambda: shown(app, CommandLineScreen), "the command line")
        await pilot.press(*"top", "enter")
        await wait_for(pilot, lambda: shown(app, TopicsScreen), "the Topics screen")
        screen = app.screen
        assert isinstance(screen, TopicsScreen)
        assert screen.topic_tree is None
        assert "No MQTT broker is configured" in str(screen.query_one("#topic-detail").render())
        await pilot.press("x")
        await wait_for(pilot, lambda: notices.has("no topic selected"), "told")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not shown(app, TopicsScreen), "back")


async def test_a_trimmed_topic_is_still_found_in_the_store(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """``ui.topics.max_topics: 2``: the first of three topics is trimmed from memory;
    filtered by its exact name, ``h`` finds its messages in the store (issue 14 §1)."""
    config = config_for(broker, tmp_path, "ui: {topics: {max_topics: 2}}\n")
    app = FleettopApp(Runtime(config))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        await mosquitto_pub(broker, "-t", "old/one", "-m", "first")
        await wait_for(pilot, lambda: tree.find("plant", "old/one"), "the first topic")
        await mosquitto_pub(broker, "-t", "new/two", "-m", "x")
        await mosquitto_pub(broker, "-t", "new/three", "-m", "y")
        await wait_for(pilot, lambda: tree.trimmed == 1, "the trim")
        assert tree.find("plant", "old/one") is None
        await pilot.press("slash", *"old/one", "enter")
        await wait_for(pilot, lambda: not screen.view.rows, "nothing in memory")
        await pilot.press("h")
        await wait_for(pilot, lambda: screen.view.highlighted is not None, "found in the store")
        node = screen.view.highlighted
        assert node is not None
        assert (node.topic, node.path) == ("old/one", "@plant/old/one")
        assert [m.payload for m in screen.history(node)] == [b"first"]
        assert "first" in str(screen.query_one("#topic-detail").render())


async def test_a_key_holds_background_work_until_its_effect_is_painted(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """console.pace through the real app: a key holds the runtime's pace (ingest
    waits), the key moves the cursor, the tree paints it, and only then is the pace
    released; an `enter` that rebuilds the rows through the screen likewise."""
    runtime = Runtime(config_for(broker, tmp_path))
    app = FleettopApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        screen, _ = await subscribed_topics(pilot, app)
        for topic in ("a/1", "a/2", "b/1"):
            await mosquitto_pub(broker, "-t", topic, "-m", "1")
        await wait_for(pilot, lambda: "@plant/b" in row_paths(screen), "rows")
        view = screen.view
        view.move_cursor(0)
        await pilot.pause(0.2)
        pace = runtime.pace
        order: list[str] = []
        hold = pace.hold
        move_cursor, set_rows, render_lines = view.move_cursor, view.set_rows, view.render_lines

        def hold_probe() -> bool:
            order.append("hold")
            return hold()

        def move_probe(index: int) -> None:
            order.append("change")
            move_cursor(index)

        def rows_probe(rows: Any, *, select: Any = None) -> None:
            order.append("change")
            set_rows(rows, select=select)

        def paint_probe(crop: Any) -> Any:
            if order and order[-1] == "change":
                # the key's effect is drawn: is background work still held?
                order.append("painted while held" if pace.holding else "painted")
            return render_lines(crop)

        pace.hold = hold_probe  # type: ignore[method-assign]
        view.move_cursor = move_probe  # type: ignore[method-assign]
        view.set_rows = rows_probe  # type: ignore[method-assign]
        view.render_lines = paint_probe  # type: ignore[method-assign]
        for key in ("down", "enter"):
            order.clear()
            await pilot.press(key)
            await wait_for(pilot, lambda: not pace.holding and len(order) >= 4, f"{key} done")
            # held when queued and again when the app takes it, before any change
            assert order[0] == "hold", (key, order)
            after = [step for step in order if step != "hold"]
            assert after[:2] == ["change", "painted while held"], (key, order)
        assert pace.holds >= 2


async def test_opening_and_closing_a_level_keeps_the_scrollbar_and_the_view_right(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """Rows set without a layout while the scrollbar shows before and after (the
    virtual list): the scrollbar's range follows the rows, and closing a level at the
    bottom of the view never leaves it scrolled past the last row."""
    await asyncio.to_thread(
        publish_retained,
        broker,
        [f"{level}/t{n:03d}" for level in ("many", "more") for n in range(120)],
    )
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        await wait_for(pilot, lambda: tree.topic_count >= 240, "topics")
        view = screen.view
        broker_node = tree.root.children["@plant"]
        broker_node.children["many"].expanded = True
        broker_node.children["more"].expanded = True
        screen.rebuild()
        await pilot.pause(0.3)
        rows = len(view.rows)
        assert rows == 243  # the broker, two levels, 240 topics
        assert view.vertical_scrollbar.window_virtual_size == rows
        view.action_last()
        await pilot.pause(0.2)
        assert view.scroll_y == view.max_scroll_y > 0
        broker_node.children["more"].expanded = False
        screen.rebuild()
        await pilot.pause(0.3)
        assert len(view.rows) == 123 > view.scrollable_content_region.height
        assert view.virtual_size.height == 123
        assert view.vertical_scrollbar.window_virtual_size == 123
        assert view.scroll_y <= view.max_scroll_y
        assert view.highlighted is not None


async def test_a_levels_detail_follows_the_messages_under_it(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """The cursor resting on a level: its detail's counts (its subtree's) follow the
    messages that arrive under it, not only those of a topic under the cursor."""
    app = FleettopApp(Runtime(config_for(broker, tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await subscribed_topics(pilot, app)
        for n in range(2):
            await publish_all(pilot, broker, tree, f"hall/t{n}", ["1"])
        await wait_for(pilot, lambda: "@plant/hall" in row_paths(screen), "level")
        screen.view.move_cursor(row_paths(screen).index("@plant/hall"))

        def detail() -> str:
            return str(screen.query_one("#topic-detail").render())

        await wait_for(pilot, lambda: "2 messages" in detail(), "the level's detail")
        await pilot.pause(1.0)  # no rebuild pending: only the redraw can update it
        for _ in range(3):  # more messages of the same topics: no new row, no rebuild
            await mosquitto_pub(broker, "-t", "hall/t1", "-m", "2")
        await wait_for(pilot, lambda: "5 messages" in detail(), "the detail follows")
        assert "2 topics" in detail()
