"""Exports of notifications: JSON Lines and CSV files parse back to the records they
were written from, payloads with quotes, commas and line breaks included (issue 6 §1,
§5)."""

from __future__ import annotations

import base64
import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from console.events import Event, JsonValue
from console.notifications.export import (
    COLUMNS,
    export_notifications,
    read_notifications_csv,
    read_notifications_jsonl,
)
from console.notifications.model import Category, Notification, Severity, classify

T0 = 1_700_000_000.125

TRICKY_TEXT = 'NOC, "ops"\nline 2\r\nend; é ☃ 😀 \u2028 =1+2'


def event(seq: int, event_type: tuple[str, ...], payload: JsonValue) -> Event:
    return Event(event_type, payload, T0 + seq / 1000, None, seq)


def notifications() -> list[Notification]:
    raw = TRICKY_TEXT.encode()
    found = [
        classify(
            event(
                1,
                ("mqtt", "@plant", "message", "site", "s,7", "temp"),
                {
                    "broker": "plant",
                    "device": None,
                    "topic": "site/s,7/temp",
                    "payload": base64.b64encode(raw).decode(),
                    "size": len(raw),
                    "qos": 1,
                    "retain": False,
                    "properties": {"UserProperty": [['k,"q"', "v\nw"]]},
                    "received": T0,
                },
            )
        ),
        classify(
            event(
                2,
                ("snmp", "sw1", "trap", "1.3.6.1.6.3.1.1.5.3"),
                {
                    "sender": "10.0.0.1:162",
                    "version": "V2C",
                    "user": None,
                    "inform": False,
                    "trap_oid": "1.3.6.1.6.3.1.1.5.3",
                    "trap_name": "linkDown",
                    "uptime": 12345,
                    "varbinds": [
                        {
                            "oid": "1.3.6.1.2.1.2.2.1.2.3",
                            "name": "ifDescr.3",
                            "type": "STRING",
                            "value": TRICKY_TEXT,
                        },
                        {
                            "oid": "1.3.6.1.2.1.2.2.1.1.3",
                            "name": "ifIndex.3",
                            "type": "INTEGER",
                            "value": 3,
                        },
                    ],
                    "v1": None,
                },
            )
        ),
        classify(event(3, ("log", "error"), {"message": TRICKY_TEXT, "source": "x"})),
        classify(
            event(
                4,
                ("snmp", "sw1", "write", "1.3.6.1.2.1.1.4.0"),
                {
                    "session_id": None,
                    "success": False,
                    "error": "NOT_WRITABLE",
                    "data": {"type": "STRING", "value": ""},
                    "previous": None,
                },
            )
        ),
        classify(event(5, ("snmp", "sw2", "status"), {"status": "DISCONNECTED", "reason": None})),
        classify(
            event(
                6,
                ("mqtt", "ap1", "property", "org.x.I", "/s1/v"),
                {
                    "interface": "org.x.I",
                    "path": "/s1/v",
                    "value": [1, 1.5, True, None, -0.0],
                    "valid": True,
                    "topic": "r/ap1/org.x.I/s1/v",
                },
            )
        ),
    ]
    out = [n for n in found if n is not None]
    assert len(out) == len(found)
    out.append(
        Notification(-7, T0 - 60, Category.LOG, Severity.INFO, "fleettop", ("log", "info"),
                     "a string payload, with a comma", history=True, summary="replayed")
    )  # fmt: skip
    return out


def same_json(a: Any, b: Any) -> bool:
    """Equal and of the same JSON types all the way down (1 == 1.0 == True in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    return bool(a == b)


def test_jsonl_parses_back_to_the_records(tmp_path: Path) -> None:
    shown = notifications()
    path = tmp_path / "out.jsonl"
    assert export_notifications(path, shown, "jsonl") == len(shown)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    assert len(lines) == len(shown) + 1  # one record per line
    assert all(isinstance(json.loads(line), dict) for line in lines[:-1])
    back = read_notifications_jsonl(path)
    expected = [n.to_record() for n in shown]
    assert same_json(back, expected)
    assert back[0]["summary"].startswith("site/s,7/temp q1")  # type: ignore[union-attr]
    assert back[-1]["history"] is True
    assert back[-1]["id"] == -7


def test_csv_parses_back_with_quotes_commas_and_line_breaks(tmp_path: Path) -> None:
    shown = notifications()
    path = tmp_path / "out.csv"
    assert export_notifications(path, shown, "csv") == len(shown)
    text = path.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    assert '""ops""' in text  # quotes doubled inside a quoted cell
    with path.open(encoding="utf-8", newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == list(COLUMNS)
    assert len(table) == len(shown) + 1  # line breaks inside cells do not split rows
    log_row = dict(zip(COLUMNS, table[3], strict=True))
    assert log_row["summary"] == TRICKY_TEXT
    assert json.loads(log_row["payload"])["message"] == TRICKY_TEXT
    back = read_notifications_csv(path)
    expected = [n.to_record() for n in shown]
    assert same_json(back, expected)


def test_the_two_formats_agree(tmp_path: Path) -> None:
    shown = notifications()
    export_notifications(tmp_path / "a.jsonl", shown, "jsonl")
    export_notifications(tmp_path / "a.csv", shown, "csv")
    assert same_json(
        read_notifications_jsonl(tmp_path / "a.jsonl"), read_notifications_csv(tmp_path / "a.csv")
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_payloads_that_are_not_strict_json_still_export(tmp_path: Path, fmt: str) -> None:
    odd = Notification(
        1, T0, Category.LOG, Severity.WARNING, "d", ("log", "warning"),
        {"v": math.nan, "s": "a\udcff"}, summary="odd",
    )  # fmt: skip
    path = tmp_path / f"odd.{fmt}"
    assert export_notifications(path, [odd], fmt) == 1  # type: ignore[arg-type]
    reader = read_notifications_jsonl if fmt == "jsonl" else read_notifications_csv
    (record,) = reader(path)
    assert record["payload"] == {"v": "nan", "s": "a?"}


def test_an_empty_export_and_a_bad_format(tmp_path: Path) -> None:
    assert export_notifications(tmp_path / "e.jsonl", [], "jsonl") == 0
    assert read_notifications_jsonl(tmp_path / "e.jsonl") == []
    assert export_notifications(tmp_path / "e.csv", [], "csv") == 0
    assert read_notifications_csv(tmp_path / "e.csv") == []
    with pytest.raises(ValueError, match="unknown export format"):
        export_notifications(tmp_path / "x", [], "xml")  # type: ignore[arg-type]


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "out.csv"
    with pytest.raises(FileNotFoundError):
        export_notifications(target, notifications(), "csv")
    assert not target.exists()
    existing = tmp_path / "keep.jsonl"
    existing.write_text("old\n")
    assert export_notifications(existing, notifications()[:2], "jsonl") == 2
    assert len(read_notifications_jsonl(existing)) == 2  # replaced by the complete file
    assert [p.name for p in tmp_path.iterdir()] == ["keep.jsonl"]  # no temporary left


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_snmp_values_are_exported_raw_and_as_displayed(tmp_path: Path, fmt: str) -> None:
    """Issue 13 §1: exports carry the raw value and its display, side by side (a
    trap's var-binds, a read's and a write's ``display``), and the summary line
    shows the display form."""
    read = classify(
        event(
            10,
            ("snmp", "sw1", "read", "1.3.6.1.2.1.2.2.1.8.3"),
            {
                "session_id": "op",
                "cause": "REQUESTED",
                "data": {"type": "INTEGER", "value": 2},
                "display": "down(2)",
            },
        )
    )
    write = classify(
        event(
            11,
            ("snmp", "sw1", "write", "1.3.6.1.2.1.2.2.1.7.3"),
            {
                "session_id": None,
                "success": True,
                "error": None,
                "data": {"type": "INTEGER", "value": 2},
                "previous": {"type": "INTEGER", "value": 1},
                "display": "down(2)",
                "previous_display": "up(1)",
            },
        )
    )
    trap = classify(
        event(
            12,
            ("snmp", "sw1", "trap", "1.3.6.1.6.3.1.1.5.3"),
            {
                "sender": "10.0.0.1:162",
                "trap_oid": "1.3.6.1.6.3.1.1.5.3",
                "trap_name": "IF-MIB::linkDown",
                "varbinds": [
                    {
                        "oid": "1.3.6.1.2.1.2.2.1.8.3",
                        "name": "IF-MIB::ifOperStatus.3",
                        "type": "INTEGER",
                        "value": 2,
                        "display": "down(2)",
                    }
                ],
            },
        )
    )
    assert read is not None
    assert write is not None
    assert trap is not None
    assert read.summary == "read 1.3.6.1.2.1.2.2.1.8.3 = down(2) (INTEGER)"
    assert write.summary == "SET 1.3.6.1.2.1.2.2.1.7.3 = down(2) (INTEGER): ok"
    path = tmp_path / f"values.{fmt}"
    assert export_notifications(path, [read, write, trap], fmt) == 3  # type: ignore[arg-type]
    records = read_notifications_jsonl(path) if fmt == "jsonl" else read_notifications_csv(path)
    payloads: list[Any] = [r["payload"] for r in records]
    assert (payloads[0]["data"], payloads[0]["display"]) == (
        {"type": "INTEGER", "value": 2},
        "down(2)",
    )
    assert (payloads[1]["previous"]["value"], payloads[1]["previous_display"]) == (1, "up(1)")
    varbind = payloads[2]["varbinds"][0]
    assert (varbind["value"], varbind["display"]) == (2, "down(2)")
