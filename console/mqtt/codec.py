"""MQTT payloads decoded for display: JSON (pretty), UTF-8 text, Astarte BSON, or a
hex dump, never more than a size limit, and visibly cut when longer.

MQTT payloads are opaque bytes (MQTT 3.1.1 §3.3.3); MQTT 5 may say what they are
(Payload Format Indicator 1 = UTF-8, Content Type, §3.3.2.3.2/§3.3.2.3.9). fleettop
guesses, in this order:

1. empty -> ``empty`` (a property unset, a retained message cleared);
2. a BSON document -> ``bson``: the first 4 bytes (int32 little-endian) give the
   document's length, which is the payload's, and it ends with ``0x00``; decoded
   with pymongo's ``bson`` module (Astarte's ``{"v": value, "t": timestamp}``,
   Astarte MQTT v1 protocol) and shown as JSON: binary as base64 (``"$binary"``),
   dates as ISO 8601 (``"$date"``);
3. valid UTF-8 starting with ``{`` or ``[`` that parses as JSON -> ``json``, shown
   indented (``pretty=True``);
4. other valid UTF-8 without control characters (tab, LF and CR aside) -> ``text``;
5. anything else -> ``binary``: a hex dump, 16 bytes a line, offset, hex and ASCII
   (the rule of the SNMP codec's ``STRING_HEX``: not UTF-8, or control characters).

Only the first ``limit`` bytes (default 64 KiB) are decoded; a longer payload is
``truncated`` and the text ends with a line saying how much is shown
(``… truncated: 65,536 of 5,242,880 bytes shown``): never silently. A cut payload
is decoded as text or hex (its JSON or BSON cannot be complete).

Cost: ~1 µs for a 100-byte text payload, ~5 µs for a 100-byte JSON object, which is
why message events carry the raw payload and screens decode what they show.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "DEFAULT_DISPLAY_LIMIT",
    "DecodedPayload",
    "PayloadFormat",
    "decode_bson",
    "decode_payload",
    "hex_dump",
    "is_bson",
    "json_ready",
]

PayloadFormat = Literal["empty", "bson", "json", "text", "binary"]
#: Bytes decoded for display unless told otherwise (64 KiB).
DEFAULT_DISPLAY_LIMIT: Final = 65536
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """A payload decoded for display.

    Attributes:
        format: how it was read (see the module docstring).
        text: the display text (pretty JSON, text, BSON as JSON, hex dump), ending
            with the truncation line when ``truncated``.
        line: the same on one line, at most 200 characters (for table cells).
        size: the payload's full size in bytes.
        truncated: only the first ``limit`` bytes were decoded.
        value: the decoded JSON or BSON document (JSON-ready), else ``None``.
    """

    format: PayloadFormat
    text: str
    line: str
    size: int
    truncated: bool
    value: Any = None


def is_bson(payload: bytes) -> bool:
    """Tell whether ``payload`` is framed as one BSON document (length prefix equal to
    its size, trailing NUL). Cheap: the content is not parsed."""
    return (
        len(payload) >= 5
        and payload[-1] == 0
        and int.from_bytes(payload[:4], "little") == len(payload)
    )


def decode_bson(payload: bytes) -> dict[str, Any]:
    """Decode one BSON document (pymongo's ``bson``), dates timezone-aware (UTC).

    Raises:
        ValueError: not a valid BSON document (``bson.errors.InvalidBSON`` is one).
    """
    import bson
    from bson.codec_options import CodecOptions

    try:
        decoded: dict[str, Any] = bson.decode(
            payload, codec_options=CodecOptions(tz_aware=True, tzinfo=dt.UTC)
        )
    except Exception as exc:  # InvalidBSON and friends; bson raises several types
        raise ValueError(f"not a BSON document: {exc}") from None
    return decoded


def json_ready(value: Any) -> Any:
    """``value`` (as decoded from BSON) made JSON-serialisable: bytes -> ``{"$binary":
    base64}``, datetimes -> ``{"$date": ISO 8601}``, other non-JSON objects ->
    ``str()``, int subclasses (``Int64``) -> int."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$binary": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        utc = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return {"$date": utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"}
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return str(value)


def hex_dump(data: bytes) -> str:
    """A classic hex dump: ``00000000  de ad be ef ...  |....|``, 16 bytes a line."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hex_part = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hex_part += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part:<49}|{ascii_part}|")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


def _utf8(data: bytes, cut: bool) -> str | None:
    """``data`` as text, or ``None`` when it is not UTF-8 (a character split by the
    cut at the very end is dropped)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if cut and error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return data[: error.start].decode("utf-8", "strict")
        return None


def decode_payload(
    payload: bytes, *, limit: int = DEFAULT_DISPLAY_LIMIT, pretty: bool = True
) -> DecodedPayload:
    """Decode ``payload`` for display (see the module docstring).

    Args:
        payload: the message payload.
        limit: most bytes decoded (>= 1).
        pretty: indent JSON and BSON documents (``False``: compact).

    Never raises for any bytes.
    """
    size = len(payload)
    if not size:
        return DecodedPayload("empty", "", "(empty)", 0, False)
    cut = size > limit
    data = payload[:limit] if cut else payload
    indent = 2 if pretty else None
    value: Any = None
    if not cut and is_bson(data):
        try:
            value = json_ready(decode_bson(data))
        except ValueError:
            value = None
        if value is not None:
            text = json.dumps(value, indent=indent, ensure_ascii=False)
            return DecodedPayload("bson", text, _one_line(json.dumps(value)), size, False, value)
    text_or_none = _utf8(data, cut)
    if text_or_none is not None and _CONTROL.search(text_or_none):
        text_or_none = None
    fmt: PayloadFormat
    if text_or_none is None:
        fmt, text = "binary", hex_dump(data)
        line = _one_line(data[:80].hex(" "))
    else:
        fmt, text = "text", text_or_none
        stripped = text.lstrip()
        if not cut and stripped[:1] in ("{", "["):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            else:
                fmt = "json"
                text = json.dumps(value, indent=indent, ensure_ascii=False)
        line = _one_line(text if fmt == "text" else json.dumps(value, ensure_ascii=False))
    if cut:
        note = f"… truncated: {len(data):,} of {size:,} bytes shown"
        text = f"{text}\n{note}"
        line = _one_line(f"{line} {note}")
    return DecodedPayload(fmt, text, line, size, cut, value)
