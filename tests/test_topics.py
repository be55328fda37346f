"""The MQTT explorer's core: the topic tree (counts, filters, bounds), payload diffs
and the retained cleanup's bounded concurrency (issue 14 §1, §2, §4)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.events import Event, JsonValue
from console.explorer.diff import flatten_json, payload_diff
from console.explorer.retained import clear_retained
from console.explorer.tree import MESSAGE_OVERHEAD, TopicFilter, TopicTree

T0 = 1_700_000_000.0


def paths(tree: TopicTree, topic_filter: TopicFilter | None = None) -> list[str]:
    return [node.path for node in tree.rows(topic_filter)]


def test_counts_are_summed_level_by_level_and_retained_is_tracked() -> None:
    tree = TopicTree()
    tree.add("plant", "site/s1/temp", b"21.5", received=T0, qos=1, retain=True)
    tree.add("plant", "site/s1/temp", b"21.6", received=T0 + 1, qos=1)
    tree.add("plant", "site/s2/temp", b"19", received=T0 + 2)
    tree.add("lab", "x", b"", received=T0)
    broker = tree.root.children["@plant"]
    site = broker.children["site"]
    s1 = site.children["s1"]
    temp = s1.children["temp"]
    assert (broker.count, site.count, s1.count, temp.count) == (3, 3, 2, 2)
    assert (site.topic_total, site.retained_count, temp.retained, temp.qos) == (2, 1, True, 1)
    assert temp.latest is not None
    assert temp.latest.payload == b"21.6"
    assert site.last == T0 + 2
    assert temp.rate(T0 + 1) > 0.0
    assert temp.rate(T0 + 1000) < temp.rate(T0 + 1)
    # brokers open, the rest closed: a level's children show once it is opened
    assert paths(tree) == ["@lab", "@lab/x", "@plant", "@plant/site"]
    site.expanded = True
    assert paths(tree) == ["@lab", "@lab/x", "@plant", "@plant/site", "@plant/site/s1",
                           "@plant/site/s2"]  # fmt: skip
    # an empty payload deletes a retained message (MQTT 3.1.1 §3.3.1.3)
    tree.add("plant", "site/s1/temp", b"", received=T0 + 3)
    assert (temp.retained, site.retained_count, broker.retained_count) == (False, 0, 0)


def test_filters_by_text_and_by_mqtt_wildcards() -> None:
    tree = TopicTree()
    for topic in ("site/s1/temp", "site/s1/hum", "site/s2/temp", "other/temp/x", "$SYS/load"):
        tree.add("plant", topic, b"1", received=T0)
    wildcard = TopicFilter.parse("site/+/temp")
    assert wildcard is not None
    assert wildcard.wildcard
    assert paths(tree, wildcard) == [
        "@plant",
        "@plant/site",
        "@plant/site/s1",
        "@plant/site/s1/temp",
        "@plant/site/s2",
        "@plant/site/s2/temp",
    ]
    hash_filter = TopicFilter.parse("#")
    assert hash_filter is not None
    assert "@plant/$SYS/load" not in paths(tree, hash_filter)  # §4.7.2
    assert "@plant/site/s1/hum" in paths(tree, hash_filter)
    text = TopicFilter.parse("TEMP")
    assert text is not None
    assert not text.wildcard
    shown = paths(tree, text)
    assert "@plant/other/temp/x" in shown
    assert "@plant/site/s1/hum" not in shown
    assert TopicFilter.parse("  ") is None
    with pytest.raises(ValueError, match="#"):
        TopicFilter.parse("site/#/x")


def test_the_least_recently_seen_topics_are_trimmed_at_the_bound() -> None:
    tree = TopicTree(max_topics=3)
    tree.add("plant", "a/1", b"x", received=T0)
    tree.add("plant", "a/2", b"x", received=T0 + 1)
    tree.add("plant", "b/1", b"x", received=T0 + 2, retain=True)
    tree.add("plant", "a/1", b"y", received=T0 + 3)  # seen again: now the newest
    tree.add("plant", "c/1", b"x", received=T0 + 4)  # a/2 goes
    assert tree.topic_count == 3
    assert tree.trimmed == 1
    assert tree.find("plant", "a/2") is None
    assert tree.find("plant", "a/1") is not None
    broker = tree.root.children["@plant"]
    assert broker.count == 4
    assert broker.topic_total == 3
    tree.add("plant", "d/1", b"x", received=T0 + 5)  # b/1 goes, and its level with it
    assert "b" not in broker.children
    assert (broker.retained_count, broker.count, tree.trimmed) == (0, 4, 2)
    for n in range(1000):
        tree.add("plant", f"many/{n}", b"x", received=T0 + 10 + n)
    assert tree.topic_count == 3
    assert tree.trimmed == 1002


def test_history_is_bounded_per_topic_and_in_total() -> None:
    cost = MESSAGE_OVERHEAD  # what a kept message costs beyond its payload
    tree = TopicTree(
        history_messages=3, history_bytes=3 * (cost + 2), history_total_bytes=5 * (cost + 2)
    )
    for n in range(5):
        tree.add("plant", "a", bytes([n]) * 2, received=T0 + n)
    node = tree.find("plant", "a")
    assert node is not None
    assert [m.payload for m in node.history] == [b"\x02\x02", b"\x03\x03", b"\x04\x04"]
    tree.add("plant", "a", b"x" * (cost + 10), received=T0 + 9)  # over its bytes
    assert [m.payload for m in node.history] == [b"x" * (cost + 10)]
    for n in range(4):
        tree.add("plant", "b", b"yy", received=T0 + 20 + n)
    # past the total, the least recently seen topic keeps its newest message only
    assert tree.held_bytes <= 5 * (cost + 2)
    assert len(node.history) == 1
    other = tree.find("plant", "b")
    assert other is not None
    # b was the only topic with more than one message when the total was passed
    assert [m.received for m in other.history] == [T0 + 22, T0 + 23]
    big = TopicTree(payload_limit=4)
    kept = big.add("plant", "c", b"0123456789", received=T0).latest
    assert kept is not None
    assert (kept.payload, kept.size, kept.truncated) == (b"0123", 10, True)


def test_message_events_fold_as_published_on_the_bus() -> None:
    tree = TopicTree()
    payload: JsonValue = {
        "broker": "plant",
        "device": "sensor-7",
        "topic": "site/sensor-7/temp",
        "payload": base64.b64encode(b'{"t": 1}').decode(),
        "size": 8,
        "qos": 2,
        "retain": True,
        "properties": None,
        "received": T0,
        "own": False,
    }
    event = Event(
        type=("mqtt", "sensor-7", "message", "site", "sensor-7", "temp"),
        payload=payload,
        timestamp=T0,
        source_timestamp=None,
        seq=1,
    )
    junk = Event(("mqtt", "x", "message"), "junk", T0, None, 2)
    touched = tree.fold([event, junk])
    assert [n.topic for n in touched] == ["site/sensor-7/temp"]
    node = touched[0]
    assert (node.device, node.qos, node.retained, node.broker) == ("sensor-7", 2, True, "plant")


# --------------------------------------------------------------------------- diffs


def test_json_diff_names_keys_added_removed_and_changed() -> None:
    diff = payload_diff(
        b'{"temp": 21.5, "unit": "C", "tags": ["a"], "n": {"x": 1}}',
        b'{"temp": 22.0, "tags": ["a", "b"], "n": {"x": 1}, "ok": true}',
    )
    assert diff.format == "json"
    assert (diff.added, diff.removed, diff.changed) == (2, 1, 1)
    assert [(line.mark, line.text) for line in diff.lines] == [
        ("+", "/ok: true"),
        ("+", '/tags/1: "b"'),
        ("~", "/temp: 21.5 → 22.0"),
        ("-", '/unit: "C"'),
    ]
    assert payload_diff(b'{"a": 1}', b'{ "a" : 1 }').equal
    assert list(flatten_json({"a/b": {"~": 1}})) == [("/a~1b/~0", 1)]


def test_text_diff_is_a_line_diff() -> None:
    diff = payload_diff(b"line one\nline two\nline three", b"line one\nline 2\nline three")
    assert diff.format == "text"
    assert [(line.kind, line.text) for line in diff.lines if line.kind != "note"] == [
        ("same", "line one"),
        ("removed", "line two"),
        ("added", "line 2"),
        ("same", "line three"),
    ]
    assert payload_diff(b"21.5", b"21.6").format == "text"  # a bare number is text


def test_binary_diff_shows_byte_ranges() -> None:
    diff = payload_diff(b"\x00\x01\x02\x03\xff", b"\x00\x01\x07\x03\xff\xee")
    assert diff.format == "binary"
    assert [(line.mark, line.text) for line in diff.lines] == [
        ("~", "@0x0002 02 → 07"),
        ("+", "@0x0005 +1 B: ee"),
    ]
    assert "compared the first" in payload_diff(b"\x00" * 5000, b"\x01" * 5000).lines[-1].text


# --------------------------------------------------------------------------- cleanup


@dataclass
class Outcome:
    success: bool
    error: str | None = None


async def test_cleanup_keeps_at_most_its_concurrency_in_flight_and_reports_failures() -> None:
    in_flight = peak = 0
    sent: list[tuple[str, bytes, int, bool]] = []

    async def publish(topic: str, payload: bytes, qos: int, retain: bool) -> Outcome:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        sent.append((topic, payload, qos, retain))
        if topic.endswith("13"):
            raise OSError("socket gone")
        return Outcome(not topic.endswith("7"), "NOT_AUTHORIZED")

    seen: list[int] = []
    topics = [f"t/{n}" for n in range(100)]
    result = await clear_retained(
        publish, topics, concurrency=10, progress=lambda r: seen.append(r.done)
    )
    assert peak == 10
    assert {(p, q, r) for _, p, q, r in sent} == {(b"", 1, True)}
    assert sorted(t for t, *_ in sent) == sorted(topics)
    assert len(result.cleared) == 89
    assert result.total == 100
    assert ("t/7", "NOT_AUTHORIZED") in result.failed
    assert ("t/13", "socket gone") in result.failed
    assert seen == list(range(1, 101))


# --------------------------------------------------------------------------- series


def test_numeric_series_read_numbers_and_json_fields() -> None:
    from console.explorer.series import numeric_series, series_stats
    from console.explorer.tree import TopicMessage

    def msg(t: float, data: bytes) -> TopicMessage:
        return TopicMessage(t, data, len(data), 0, False)

    series = numeric_series(
        [
            msg(T0, b"21.5"),
            msg(T0 + 1, b'{"temp": 20, "ok": true, "n": {"v": [1, "x"]}}'),
            msg(T0 + 2, b"not a number"),
            msg(T0 + 3, b"22"),
            msg(T0 + 4, b"NaN"),
        ]
    )
    assert series == {
        "value": [(T0, 21.5), (T0 + 3, 22.0)],
        "/temp": [(T0 + 1, 20.0)],
        "/n/v/0": [(T0 + 1, 1.0)],
    }
    stats = series_stats(series["value"], since=T0 + 1)
    assert stats is not None
    assert (stats.minimum, stats.maximum, stats.last, stats.count) == (22.0, 22.0, 22.0, 1)
    assert series_stats(series["value"], since=T0 + 10) is None


def test_downsampling_keeps_the_extremes_and_the_last_point() -> None:
    from console.explorer.series import downsample

    points = [(float(t), float(t % 10)) for t in range(1000)]
    points[500] = (500.0, 99.0)
    drawn = downsample(points, buckets=50)
    assert len(drawn) <= 101
    assert (500.0, 99.0) in drawn
    assert drawn[-1] == points[-1]
    assert drawn == sorted(drawn)
    assert downsample(points[:10]) == points[:10]


# --------------------------------------------------------------------------- presets


def test_publish_presets_round_trip_through_their_file(tmp_path: Path) -> None:
    from console.explorer.presets import HISTORY_SIZE, PublishPreset, PublishPresets

    path = tmp_path / "data" / "fleettop" / "publish.json"
    presets = PublishPresets(path)
    assert (presets.presets, presets.history, presets.error) == ({}, [], None)
    on = PublishPreset("plant", "site/s1/cmd", '{"on": true}', 2, True)
    assert presets.store("lamp on", on)
    for n in range(HISTORY_SIZE + 5):
        presets.remember(PublishPreset("plant", f"t/{n}", str(n)))
    presets.remember(PublishPreset("plant", "t/3", "3"))  # again: first, once
    again = PublishPresets(path)
    assert again.presets == {"lamp on": on}
    assert len(again.history) == HISTORY_SIZE
    assert again.history[0] == PublishPreset("plant", "t/3", "3")
    assert sum(1 for p in again.history if p.topic == "t/3") == 1
    labels = [label for label, _ in again.choices()]
    assert labels[0] == '★ lamp on: site/s1/cmd = {"on": true} (q2, retained)'
    assert labels[1] == "↺ t/3 = 3 (q1)"
    with pytest.raises(ValueError, match="name"):
        again.store("  ", on)


def test_a_damaged_presets_file_is_reported_and_replaced(tmp_path: Path) -> None:
    from console.explorer.presets import PublishPreset, PublishPresets

    path = tmp_path / "publish.json"
    path.write_text("{not json", encoding="utf-8")
    presets = PublishPresets(path)
    assert presets.error is not None
    assert str(path) in presets.error
    assert presets.remember(PublishPreset("plant", "a", "b"))
    assert presets.error is None
    assert PublishPresets(path).history == [PublishPreset("plant", "a", "b")]
    memory = PublishPresets(None)
    assert memory.remember(PublishPreset("plant", "a", "b"))


def test_history_total_frees_the_longest_held_first_and_forgets_trimmed_topics() -> None:
    cost = MESSAGE_OVERHEAD + 1
    tree = TopicTree(max_topics=100, history_messages=10, history_total_bytes=200 * cost)
    for rounds in range(3):  # 40 topics, 3 messages each: 120 messages held
        for n in range(40):
            tree.add("plant", f"t/{n}", b"x", received=T0 + rounds * 100 + n)
    assert tree.held_bytes == 120 * cost
    for n in range(40):  # t/0..t/39 stay; 40 more topics with 3 messages each
        for rounds in range(3):
            tree.add("plant", f"u/{n}", b"y", received=T0 + 1000 + n * 3 + rounds)
    assert tree.held_bytes <= 200 * cost
    first, last = tree.find("plant", "t/0"), tree.find("plant", "u/39")
    assert first is not None
    assert last is not None
    assert len(first.history) == 1  # held history the longest: freed first
    assert len(last.history) == 3  # the newest history is whole
    for n in range(200):  # past max_topics: the old topics are trimmed, never resurrected
        tree.add("plant", f"v/{n}", b"z", received=T0 + 5000 + n)
        tree.add("plant", f"v/{n}", b"z", received=T0 + 5000 + n)
    assert tree.topic_count <= 100
    assert tree.find("plant", "t/0") is None
    assert tree.held_bytes <= 200 * cost
