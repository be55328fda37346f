"""What changed between two payloads of a topic, for the Topics screen's detail.

:func:`payload_diff` picks the comparison by content:

* both payloads JSON (RFC 8259, UTF-8): JSON-aware, by key path (RFC 6901 JSON
  Pointer, ``/a/b/0``): keys added, removed and changed, each with its value(s);
* both UTF-8 text: a line diff (:mod:`difflib`, unified format without headers);
* otherwise (binary): a byte diff, the changed ranges as offset and hex
  (:class:`difflib.SequenceMatcher` over at most :data:`BYTE_DIFF_LIMIT` bytes).

Plain Python, no Textual.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "BYTE_DIFF_LIMIT",
    "DiffLine",
    "PayloadDiff",
    "flatten_json",
    "payload_diff",
]

#: Bytes of each payload a byte diff compares (the rest is said to be cut).
BYTE_DIFF_LIMIT: Final = 4096
#: Characters of a value shown in a JSON diff line.
VALUE_WIDTH: Final = 80
#: Lines a diff shows at most.
MAX_LINES: Final = 500

DiffKind = Literal["same", "added", "removed", "changed", "note"]
"""What a :class:`DiffLine` shows."""


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a diff: ``kind`` (added ``+``, removed ``-``, changed ``~``, a
    context line, or a note) and its text (without the mark)."""

    kind: DiffKind
    text: str

    @property
    def mark(self) -> str:
        """``+``, ``-``, ``~``, ``" "`` or ``#`` (a note)."""
        return {"added": "+", "removed": "-", "changed": "~", "same": " ", "note": "#"}[self.kind]


@dataclass(frozen=True, slots=True)
class PayloadDiff:
    """The comparison of two payloads.

    Attributes:
        format: ``json``, ``text`` or ``binary`` (how they were compared).
        lines: the diff's lines; none when the payloads are equal.
        added, removed, changed: counts (JSON keys, text lines, byte ranges).
    """

    format: Literal["json", "text", "binary"]
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    changed: int = 0

    @property
    def equal(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.removed or self.changed)

    @property
    def summary(self) -> str:
        """``json: 1 added, 0 removed, 2 changed`` or ``text: no change``."""
        if self.equal:
            return f"{self.format}: no change"
        unit = {"json": "keys", "text": "lines", "binary": "byte ranges"}[self.format]
        return (
            f"{self.format}: {self.added} added, {self.removed} removed, "
            f"{self.changed} changed ({unit})"
        )


def _json(data: bytes) -> tuple[bool, object]:
    """``(True, value)`` for a JSON object or array, else ``(False, None)`` (a bare
    number or string compares as text)."""
    if data.lstrip()[:1] not in (b"{", b"["):
        return False, None
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False, None
    return isinstance(value, dict | list), value


def _pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def flatten_json(value: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """``(JSON Pointer, leaf value)`` pairs of ``value``; an empty object or array is
    a leaf.

    >>> list(flatten_json({"a": {"b": 1}, "c": [2]}))
    [('/a/b', 1), ('/c/0', 2)]
    """
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from flatten_json(item, f"{prefix}/{_pointer(str(key))}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from flatten_json(item, f"{prefix}/{index}")
    else:
        yield prefix or "/", value


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _json_diff(old: object, new: object) -> PayloadDiff:
    before, after = dict(flatten_json(old)), dict(flatten_json(new))
    lines: list[DiffLine] = []
    added = removed = changed = 0
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            removed += 1
            lines.append(DiffLine("removed", f"{key}: {_shown(before[key])}"))
        elif key not in before:
            added += 1
            lines.append(DiffLine("added", f"{key}: {_shown(after[key])}"))
        elif before[key] != after[key] or type(before[key]) is not type(after[key]):
            changed += 1
            lines.append(
                DiffLine("changed", f"{key}: {_shown(before[key])} → {_shown(after[key])}")
            )
    return PayloadDiff("json", lines[:MAX_LINES], added, removed, changed)


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return None
    return text


def _text_diff(old: str, new: str) -> PayloadDiff:
    lines: list[DiffLine] = []
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), n=1, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("note", line))
        elif line.startswith("+"):
            added += 1
            lines.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            removed += 1
            lines.append(DiffLine("removed", line[1:]))
        else:
            lines.append(DiffLine("same", line[1:]))
    return PayloadDiff("text", lines[:MAX_LINES], added, removed, 0)


def _byte_diff(old: bytes, new: bytes) -> PayloadDiff:
    a, b = old[:BYTE_DIFF_LIMIT], new[:BYTE_DIFF_LIMIT]
    lines: list[DiffLine] = []
    counts = {"insert": 0, "delete": 0, "replace": 0}
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        counts[tag] += 1
        if tag == "insert":
            lines.append(DiffLine("added", f"@{j1:#06x} +{j2 - j1} B: {b[j1:j2][:32].hex(' ')}"))
        elif tag == "delete":
            lines.append(DiffLine("removed", f"@{i1:#06x} -{i2 - i1} B: {a[i1:i2][:32].hex(' ')}"))
        else:
            lines.append(
                DiffLine(
                    "changed",
                    f"@{i1:#06x} {a[i1:i2][:16].hex(' ')} → {b[j1:j2][:16].hex(' ')}",
                )
            )
    if len(old) > BYTE_DIFF_LIMIT or len(new) > BYTE_DIFF_LIMIT:
        lines.append(DiffLine("note", f"compared the first {BYTE_DIFF_LIMIT} bytes only"))
    return PayloadDiff(
        "binary", lines[:MAX_LINES], counts["insert"], counts["delete"], counts["replace"]
    )


def payload_diff(old: bytes, new: bytes) -> PayloadDiff:
    """Compare ``old`` with ``new`` (see the module docstring for how).

    >>> payload_diff(b'{"t": 1, "a": 0}', b'{"t": 2, "b": 0}').summary
    'json: 1 added, 1 removed, 1 changed (keys)'
    """
    old_is_json, old_value = _json(old)
    new_is_json, new_value = _json(new)
    if old_is_json and new_is_json:
        return _json_diff(old_value, new_value)
    old_text, new_text = _text(old), _text(new)
    if old_text is not None and new_text is not None:
        return _text_diff(old_text, new_text)
    return _byte_diff(old, new)
