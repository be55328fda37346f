"""Rows read back from exports: one typed reader for the audit log, the property
export and the notification export (``console.rowfiles.RowCells``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.events import JsonValue
from console.rowfiles import RowCells, write_csv, write_jsonl
from console.store.audit import read_audit_csv, read_audit_jsonl


def test_cells_from_csv_and_json_lines() -> None:
    csv_cells = RowCells(
        {"n": "-12", "s": "x", "o": ""}, ["n", "s", "o"], kind="a row", from_csv=True
    )
    assert (csv_cells.integer("n"), csv_cells.text("s"), csv_cells.optional_text("o")) == (
        -12,
        "x",
        None,
    )
    json_cells = RowCells({"n": "12", "o": ""}, ["n"], kind="a row", from_csv=False)
    with pytest.raises(ValueError, match="n is not an integer: '12'"):
        json_cells.integer("n")  # JSON keeps types: digits in a string are not an int
    assert json_cells.optional_text("o") == ""
    with pytest.raises(ValueError, match="a row lacks b, c"):
        RowCells({"a": 1}, ["a", "b", "c"], kind="a row", from_csv=False)
    with pytest.raises(ValueError, match="s is not a string: 3"):
        RowCells({"s": 3}, ["s"], kind="a row", from_csv=False).text("s")


def test_a_damaged_audit_export_is_refused_with_the_reason(tmp_path: Path) -> None:
    row: dict[str, JsonValue] = {
        "id": 1, "time_ms": 5, "time": "x", "actor": "operator", "action": "snmp.set",
        "device": "sw1", "target": "1.3", "old": None, "new": None, "result": "ok",
        "session_id": None,
    }  # fmt: skip
    lines = tmp_path / "audit.jsonl"
    write_jsonl(lines, [{**row, "time_ms": "5"}])
    with pytest.raises(ValueError, match="time_ms is not an integer"):
        read_audit_jsonl(lines)
    write_jsonl(lines, [{k: v for k, v in row.items() if k != "actor"}])
    with pytest.raises(ValueError, match="an audit row lacks actor"):
        read_audit_jsonl(lines)
    table = tmp_path / "audit.csv"
    write_csv(table, list(row), [{**row, "session_id": None}], json_columns=["old", "new"])
    (entry,) = read_audit_csv(table)
    assert (entry.id, entry.time_ms, entry.session_id) == (1, 5, None)
