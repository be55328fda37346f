"""Payloads bounded by bytes (console/notifications/payloads.py, issue 11 §1): what a
notification keeps of a large payload, the note that tells its full size, and the
ring bounded by entries and bytes."""

from __future__ import annotations

import base64
import time

import pytest

from console.events import JsonValue
from console.notifications.model import SUMMARY_CHARS, Category, Notification, Severity
from console.notifications.payloads import (
    NotificationRing,
    cut_notification,
    cut_payload,
    payload_weight,
)
from tests.payload_helpers import TEN_MB, held, message_payload, payload_bytes


def message(i: int, data: bytes | dict[str, JsonValue]) -> Notification:
    payload = message_payload("big", data) if isinstance(data, bytes) else data
    return Notification(
        i, time.time(), Category.MESSAGE, Severity.INFO, "@plant",
        ("mqtt", "@plant", "message", "big"), payload,
    )  # fmt: skip


def test_a_small_payload_is_kept_as_it_is() -> None:
    payload = message_payload("t", b"21.5")
    assert cut_payload(payload, 1024) is payload
    note = message(1, b"21.5")
    assert cut_notification(note, 1024) is note
    assert note.truncated is None


def test_a_large_message_keeps_its_first_bytes_and_says_its_size() -> None:
    data = payload_bytes(1_000_000)
    payload = message_payload("big", data)
    cut = cut_payload(payload, 10_000)
    assert isinstance(cut, dict)
    assert base64.b64decode(cut["payload"]) == data[:9_999]  # type: ignore[arg-type]
    assert cut["truncated"] == {"kept": 9_999, "size": 1_000_000}
    assert {k: v for k, v in cut.items() if k not in ("payload", "truncated")} == {
        k: v for k, v in payload.items() if k != "payload"
    }
    # cut again (a stored row read back into memory): the first size stays
    again = cut_payload(cut, 3_000)
    assert isinstance(again, dict)
    assert again["truncated"] == {"kept": 3_000, "size": 1_000_000}
    assert payload["payload"] == base64.b64encode(data).decode()  # the original untouched


def test_other_payloads_keep_their_small_fields_and_cut_the_large_ones() -> None:
    payload: JsonValue = {
        "interface": "org.Blob",
        "path": "/b",
        "value": "v" * 100_000,
        "items": list(range(50_000)),
        "valid": True,
    }
    cut = cut_payload(payload, 5_000)
    assert isinstance(cut, dict)
    assert (cut["interface"], cut["path"], cut["valid"]) == ("org.Blob", "/b", True)
    assert list(cut) == ["interface", "path", "value", "items", "valid", "truncated"]
    assert isinstance(cut["value"], str)
    assert cut["value"].startswith("vvv")
    assert cut["items"] == list(range(len(cut["items"])))  # type: ignore[arg-type]
    note = cut["truncated"]
    assert isinstance(note, dict)
    assert note["size"] == payload_weight(payload)
    data = {k: v for k, v in cut.items() if k != "truncated"}
    assert note["kept"] == payload_weight(data) <= 5_000
    text = cut_payload("t" * 10_000, 100)
    assert isinstance(text, dict)
    assert text["value"] == "t" * 98


def test_a_summary_is_one_bounded_line() -> None:
    note = Notification(
        1, time.time(), Category.LOG, Severity.WARNING, "fleettop", ("log", "warning"),
        {"message": "m" * 100_000},
    )  # fmt: skip
    assert len(note.summary) == SUMMARY_CHARS


def test_the_ring_drops_the_oldest_past_its_bytes_and_keeps_the_newest() -> None:
    ring = NotificationRing(100, max_bytes=200_000, entry_bytes=65_536)
    big = message_payload("big", payload_bytes(TEN_MB))
    kept = ring.extend(message(i, big) for i in range(30))
    assert [n.id for n in kept] == list(range(30))
    assert all(n.truncated == (65_535, TEN_MB) for n in kept)
    assert [n.id for n in ring] == [28, 29]
    assert ring.bytes == sum(payload_weight(n.payload) for n in ring) <= 200_000
    assert held(ring) <= 200_000
    # a single entry larger than the whole budget still shows (the newest stays)
    tiny = NotificationRing(100, max_bytes=10, entry_bytes=65_536)
    tiny.extend([message(1, b"x" * 1000), message(2, b"y" * 1000)])
    assert [n.id for n in tiny] == [2]
    # and the count bound holds as before
    counted = NotificationRing(3)
    counted.extend(message(i, b"m") for i in range(5))
    assert [n.id for n in counted] == [2, 3, 4]
    assert counted[-1].id == 4
    assert [n.id for n in counted[:2]] == [2, 3]


def test_limits_below_one_byte_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        NotificationRing(10, max_bytes=0)
    with pytest.raises(ValueError, match="at least 1"):
        cut_payload({"a": 1}, 0)
