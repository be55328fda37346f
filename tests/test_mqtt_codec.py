"""Payload decoding for display (console/mqtt/codec.py) and topic rules
(console/topics.py), pure functions."""

from __future__ import annotations

import datetime as dt
import json

import bson
import pytest

from console.config import MqttSubscription
from console.mqtt.client import merge_subscriptions
from console.mqtt.codec import decode_payload, hex_dump, is_bson
from console.topics import (
    TemplateMatch,
    filter_covers,
    filter_matches,
    levels_match,
    parse_template,
    validate_filter,
    validate_topic,
)


def test_json_is_pretty_and_compact_on_one_line() -> None:
    decoded = decode_payload(b'{"b": [1, 2], "a": "\xc3\xa9"}')
    assert decoded.format == "json"
    assert decoded.text == '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "é"\n}'
    assert decoded.line == '{"b": [1, 2], "a": "é"}'
    assert decoded.value == {"b": [1, 2], "a": "é"}
    assert not decoded.truncated


@pytest.mark.parametrize(
    ("payload", "fmt", "text"),
    [
        (b"", "empty", ""),
        (b"21.5", "text", "21.5"),
        (b'{"temp": 21.', "text", '{"temp": 21.'),  # truncated JSON: shown as text
        (b"caf\xc3\xa9", "text", "café"),
        (b"tab\tand\r\n", "text", "tab\tand\r\n"),
        (b"bell\x07", "binary", "00000000  62 65 6c 6c 07" + " " * 35 + "|bell.|"),
        (b"\xff\xfe", "binary", "00000000  ff fe" + " " * 44 + "|..|"),
        (b"caf\xe9", "binary", "00000000  63 61 66 e9" + " " * 38 + "|caf.|"),
    ],
)
def test_formats(payload: bytes, fmt: str, text: str) -> None:
    decoded = decode_payload(payload)
    assert (decoded.format, decoded.text, decoded.size) == (fmt, text, len(payload))


def test_astarte_bson_is_decoded() -> None:
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    payload = bson.encode({"v": {"blob": b"\x01\x02", "n": 2**40}, "t": when})
    assert is_bson(payload)
    decoded = decode_payload(payload)
    assert decoded.format == "bson"
    assert decoded.value == {
        "v": {"blob": {"$binary": "AQI="}, "n": 2**40},
        "t": {"$date": "2024-05-01T00:00:00.000Z"},
    }
    assert json.loads(decoded.text) == decoded.value
    # framed like BSON but not BSON: shown as binary, never an exception
    fake = (9).to_bytes(4, "little") + b"\x10\x00\x00\x00\x00"
    assert is_bson(fake)
    assert decode_payload(fake).format == "binary"  # control characters


def test_truncation_is_visible_and_cuts_safely() -> None:
    decoded = decode_payload("é".encode() * 100, limit=101)  # cuts inside a character
    assert decoded.truncated
    assert decoded.format == "text"
    assert decoded.text == "é" * 50 + "\n… truncated: 101 of 200 bytes shown"
    big_json = json.dumps({"k": "v" * 1000}).encode()
    cut = decode_payload(big_json, limit=64)
    assert (cut.format, cut.truncated) == ("text", True)
    binary = decode_payload(bytes(range(256)) * 10, limit=32)
    assert binary.format == "binary"
    assert binary.text.splitlines()[-1] == "… truncated: 32 of 2,560 bytes shown"
    assert len(binary.text.splitlines()) == 3


def test_hex_dump_layout() -> None:
    line = hex_dump(bytes(range(0x41, 0x51)))
    assert line == "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50 |ABCDEFGHIJKLMNOP|"


@pytest.mark.parametrize("text", ["a", "a/b", "/a", "a//b", "$SYS/x", "é/ü"])
def test_valid_topics(text: str) -> None:
    assert validate_topic(text) == text
    assert validate_filter(text) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must not be empty"),
        ("a/+", "wildcards"),
        ("a/#", "wildcards"),
        ("a\x00b", r"U\+0000"),
    ],
)
def test_bad_topic_names(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_topic(text)


@pytest.mark.parametrize("text", ["#", "+", "a/#", "a/+/b", "+/+", "/#"])
def test_valid_filters(text: str) -> None:
    assert validate_filter(text) == text


@pytest.mark.parametrize(
    ("text", "reason"), [("a/#/b", "last level"), ("a#", "last level"), ("a/b+", "whole level")]
)
def test_bad_filters(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_filter(text)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("site/#", "site", True),  # '#' includes the parent level (§4.7.1.2)
        ("site/#", "site/a/b", True),
        ("site/+", "site/a", True),
        ("site/+", "site/a/b", False),
        ("site/+/t", "site//t", True),
        ("#", "$SYS/broker", False),  # §4.7.2
        ("+/broker", "$SYS/broker", False),
        ("$SYS/#", "$SYS/broker", True),
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_filter_matches(topic_filter: str, topic: str, matches: bool) -> None:
    assert filter_matches(topic_filter, topic) is matches


@pytest.mark.parametrize(
    ("wide", "narrow", "covers"),
    [
        ("site/#", "site/+/temp", True),
        ("site/#", "site/#", True),
        ("#", "a/b", True),
        ("site/+", "site/#", False),
        ("site/+/temp", "site/s1/temp", True),
        ("site/s1/temp", "site/+/temp", False),
        ("a/+", "a/b/c", False),
    ],
)
def test_filter_covers(wide: str, narrow: str, covers: bool) -> None:
    assert filter_covers(wide, narrow) is covers


def test_subscriptions_are_merged_without_overlaps() -> None:
    merged = merge_subscriptions(
        [MqttSubscription("site/s7/temp", 0), MqttSubscription("site/#", 1)],
        [MqttSubscription("site/s7/#", 1), MqttSubscription("site/#", 2), MqttSubscription("x", 0)],
    )
    assert merged == (MqttSubscription("site/#", 2), MqttSubscription("x", 0))


def test_a_broker_filter_covers_a_device_rule_whatever_its_qos() -> None:
    """Issue 14 §6: ``spBv1.0/#`` at QoS 0 and a device rule's filter at QoS 1 were
    both subscribed, and mosquitto delivered every message twice."""
    merged = merge_subscriptions(
        [MqttSubscription("spBv1.0/#", 0), MqttSubscription("site/+/alarm", 2)],
        [MqttSubscription("spBv1.0/+/DDATA/#", 1), MqttSubscription("site/#", 0)],
    )
    # the device rule goes; two filters the operator configured and an extra one that
    # covers a configured one at a lower QoS stay (the operator asked QoS 2 there)
    assert merged == (
        MqttSubscription("spBv1.0/#", 0),
        MqttSubscription("site/+/alarm", 2),
        MqttSubscription("site/#", 0),
    )


def test_device_templates() -> None:
    plain = parse_template("site/{device}/telemetry/#")
    assert plain.filter == "site/+/telemetry/#"
    assert plain.match("site/s7/telemetry/temp") == TemplateMatch("s7")
    assert plain.match("site/s7/other") is None
    assert plain.match("site/@x/telemetry/t") is None  # '@' is reserved
    astarte = parse_template("demo/{device}/{interface}/#")
    assert astarte.match("demo/dev1/org.x.Y/a/b") == TemplateMatch("dev1", "org.x.Y", "/a/b")
    assert astarte.match("demo/dev1/org.x.Y") == TemplateMatch("dev1", "org.x.Y", "")
    for bad, reason in [
        ("site/+/x", "exactly one '{device}'"),
        ("{device}/{device}", "exactly one"),
        ("{interface}/{device}/#", "may follow"),
        ("a/{device}/{interface}", "final '#'"),
        ("a/{dev}/#", "not a placeholder"),
        ("a/{device}x/#", "not a placeholder"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_template(bad)


@pytest.mark.parametrize(
    ("pattern", "levels", "matches"),
    [
        ("a/+/c", "a/b/c", True),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/+", "a", False),
        ("a/+", "a/b/c", False),
        ("+/+", "a/b", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_one_matcher_for_filters_templates_and_store_paths(
    pattern: str, levels: str, matches: bool
) -> None:
    """``+``/``#`` mean the same in a topic filter, a device template's filter and a
    store path filter: all three use :func:`console.topics.levels_match`."""
    from console.store.paths import path_matches

    assert levels_match(pattern.split("/"), levels.split("/")) is matches
    assert filter_matches(pattern, levels) is matches
    assert path_matches("/" + pattern, "/" + levels) is matches
    template = parse_template("{device}/" + pattern)
    assert (template.match("dev/" + levels) is not None) is matches


def test_own_publishes_are_recognised_once_within_the_window() -> None:
    from console.mqtt.publishes import OWN_PROPERTY, OwnPublishes

    now = [100.0]
    own = OwnPublishes(window=60, clock=lambda: now[0])
    own.sent("site/a", b"1")
    own.sent("site/a", b"1")
    assert not own.is_echo("site/a", b"2", None)  # another payload: a device's
    assert not own.is_echo("site/b", b"1", None)  # another topic
    assert own.is_echo("site/a", b"1", None)
    assert own.is_echo("site/a", b"1", None)
    assert not own.is_echo("site/a", b"1", None)  # each publish echoes once
    own.sent("site/a", b"1")
    now[0] += 61
    assert not own.is_echo("site/a", b"1", None)  # too late: a device said the same
    assert own.is_echo("x", b"", {"UserProperty": [list(OWN_PROPERTY)]})  # MQTT 5 mark
    assert not own.is_echo("x", b"", {"UserProperty": [["fleettop", "device"]]})
