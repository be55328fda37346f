"""MQTT payloads decoded for display: JSON (pretty), UTF-8 text, Astarte BSON,
MessagePack, CBOR, or a hex dump (with a base64 view), never more than a size limit,
and visibly cut when longer.

MQTT payloads are opaque bytes (MQTT 3.1.1 §3.3.3); MQTT 5 may say what they are
(Payload Format Indicator 1 = UTF-8, Content Type, §3.3.2.3.2/§3.3.2.3.9).

Which decoder reads a payload (:func:`decoder_for`), first that applies:

1. the MQTT 5 Content Type when it names a known format (:data:`CONTENT_TYPES`:
   ``application/msgpack``, ``application/cbor``, ``application/json``, ``text/*``...);
2. the format configured for the topic (the broker's ``payloads:`` rules, carried in
   the message event as ``format``), or ``sparkplug``, which the backend declares for
   topics of the Sparkplug B namespace only (``spBv1.0/...``,
   :mod:`console.mqtt.sparkplug`; shown as JSON: timestamps ISO 8601, datatypes by
   name);
3. a guess, in this order:

   a. empty -> ``empty`` (a property unset, a retained message cleared);
   b. a BSON document -> ``bson``: the first 4 bytes (int32 little-endian) give the
      document's length, which is the payload's, and it ends with ``0x00``; decoded
      with pymongo's ``bson`` module (Astarte's ``{"v": value, "t": timestamp}``,
      Astarte MQTT v1 protocol) and shown as JSON: binary as base64 (``"$binary"``),
      dates as ISO 8601 (``"$date"``);
   c. valid UTF-8 starting with ``{`` or ``[`` that parses as JSON -> ``json``,
      shown indented (``pretty=True``);
   d. other valid UTF-8 without control characters (tab, LF and CR aside) -> ``text``;
   e. a payload that is not text and decodes, whole, as **one map with text keys**
      in MessagePack (``msgpack``) or CBOR (RFC 8949, ``cbor``; also anything behind
      the self-described CBOR tag 55799): the safe guess. A map's first byte differs
      between the two (MessagePack ``0x80``-``0x8f``/``0xde``/``0xdf``, CBOR
      ``0xa0``-``0xbb``), every byte must be consumed, and a lone number, string or
      array is never guessed (any byte is a MessagePack integer);
   f. anything else -> ``binary``: a hex dump, 16 bytes a line, offset, hex and
      ASCII, and a base64 view (:attr:`DecodedPayload.base64`).

A declared format (1 or 2) that does not decode gives ``binary`` with the decoder's
message in :attr:`DecodedPayload.error` and on the first line of the text
(``msgpack payload does not decode: Unpack failed: incomplete input``), then the
hex dump: never a traceback. MessagePack and CBOR are shown as JSON
(:func:`json_ready`: bytes as ``{"$binary": base64}``, timestamps as ``{"$date"}``,
other CBOR tags as ``{"$tag": N, "value": ...}``, MessagePack extension types as
``{"$ext": N, "data": base64}``).

Only the first ``limit`` bytes (default 64 KiB) are decoded; a longer payload is
``truncated`` and the text ends with a line saying how much is shown
(``… truncated: 65,536 of 5,242,880 bytes shown``): never silently. A cut payload
is decoded as text or hex (its JSON, BSON, MessagePack or CBOR cannot be complete).

Cost: ~1 µs for a 100-byte text payload, ~5 µs for a 100-byte JSON object, which is
why message events carry the raw payload and screens decode what they show.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

__all__ = [
    "CONTENT_TYPES",
    "DECLARABLE_FORMATS",
    "DEFAULT_DISPLAY_LIMIT",
    "DeclaredFormat",
    "DecodedPayload",
    "Decoder",
    "PayloadFormat",
    "base64_view",
    "decode_bson",
    "decode_cbor",
    "decode_msgpack",
    "decode_payload",
    "decoder_for",
    "hex_dump",
    "is_bson",
    "json_ready",
]

PayloadFormat = Literal["empty", "bson", "json", "text", "binary", "msgpack", "cbor", "sparkplug"]
#: The formats a topic may be configured with (``payloads:`` of a broker).
DeclaredFormat = Literal["json", "text", "bson", "msgpack", "cbor", "binary"]
DECLARABLE_FORMATS: Final[tuple[str, ...]] = get_args(DeclaredFormat)
#: Every decoder: the declarable ones and ``sparkplug`` (the Sparkplug B namespace).
Decoder = Literal["json", "text", "bson", "msgpack", "cbor", "binary", "sparkplug"]
#: MQTT 5 Content Types (MIME types, RFC 6838; case-insensitive, parameters such as
#: ``; charset=utf-8`` ignored) fleettop decodes; ``text/*`` is text.
CONTENT_TYPES: Final[Mapping[str, DeclaredFormat]] = {
    "application/msgpack": "msgpack",
    "application/x-msgpack": "msgpack",
    "application/vnd.msgpack": "msgpack",
    "application/cbor": "cbor",
    "application/json": "json",
    "application/bson": "bson",
    "application/octet-stream": "binary",
}
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
        value: the decoded JSON, BSON, MessagePack or CBOR document (JSON-ready),
            else ``None``.
        error: why the declared decoder failed (the payload is then ``binary``),
            else ``None``.
        base64: the decoded bytes in base64, 76 characters a line, for ``binary``
            payloads; else ``None``.
    """

    format: PayloadFormat
    text: str
    line: str
    size: int
    truncated: bool
    value: Any = None
    error: str | None = None
    base64: str | None = None


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
    if isinstance(value, Mapping):
        return {_key(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list) or type(value) is tuple:
        return [json_ready(v) for v in value]
    return _tagged(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(json_ready(key), ensure_ascii=False)


def _tagged(value: Any) -> Any:
    """A MessagePack extension type or a CBOR tag as JSON, else ``str(value)``."""
    kind = type(value).__name__
    if kind == "ExtType":  # msgpack.ExtType(code, data)
        return {"$ext": value.code, "data": base64.b64encode(value.data).decode("ascii")}
    if kind == "CBORTag":  # cbor2.CBORTag(tag, value)
        return {"$tag": value.tag, "value": json_ready(value.value)}
    if isinstance(value, set | frozenset):
        return [json_ready(v) for v in value]
    return str(value)


def decode_msgpack(payload: bytes) -> Any:
    """Decode exactly one MessagePack object (msgpack; timestamps as aware datetimes,
    map keys of any type).

    Raises:
        ValueError: not one complete MessagePack object (the decoder's message).
    """
    import msgpack

    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=False, timestamp=3)
    except msgpack.ExtraData:
        raise ValueError("more bytes after the first MessagePack object") from None
    except Exception as exc:  # msgpack raises ValueError, FormatError, StackError...
        raise ValueError(str(exc) or type(exc).__name__) from None


def decode_cbor(payload: bytes) -> Any:
    """Decode exactly one CBOR data item (cbor2, RFC 8949; tag 55799 unwrapped).

    Raises:
        ValueError: not one complete CBOR item (the decoder's message).
    """
    import cbor2

    stream = io.BytesIO(payload)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # CBORDecodeError and friends, RecursionError
        raise ValueError(str(exc) or type(exc).__name__) from None
    if stream.tell() != len(payload):
        raise ValueError(f"{len(payload) - stream.tell():,} more bytes after the first CBOR item")
    return value


def base64_view(data: bytes) -> str:
    """``data`` in base64 (RFC 4648), 76 characters a line (as MIME, RFC 2045)."""
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def decoder_for(content_type: object, declared: object) -> Decoder | None:
    """The decoder a message names: its MQTT 5 Content Type when fleettop knows it
    (:data:`CONTENT_TYPES`, ``text/*``), else the configured format of its topic (or
    ``sparkplug``, which the backend declares for the Sparkplug B namespace only),
    else ``None`` (guess)."""
    if isinstance(content_type, str) and content_type:
        mime = content_type.partition(";")[0].strip().lower()
        known = CONTENT_TYPES.get(mime)
        if known is not None:
            return known
        if mime.startswith("text/") or mime.endswith("+json"):
            return "text" if mime.startswith("text/") else "json"
    if isinstance(declared, str) and (declared in DECLARABLE_FORMATS or declared == "sparkplug"):
        return declared  # type: ignore[return-value]
    return None


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


_STRUCTURED: Final = {"msgpack": decode_msgpack, "cbor": decode_cbor}
_MSGPACK_MAP: Final = frozenset([*range(0x80, 0x90), 0xDE, 0xDF])
_CBOR_MAP: Final = frozenset(range(0xA0, 0xBC))
_CBOR_SELF_DESCRIBED: Final = b"\xd9\xd9\xf7"


def _guess_structured(data: bytes) -> tuple[PayloadFormat, Any] | None:
    """The safe guess (module docstring, 3e): one map with text keys, every byte used."""
    first = data[0]
    if data.startswith(_CBOR_SELF_DESCRIBED):
        try:
            return "cbor", decode_cbor(data)
        except ValueError:
            return None
    fmt: PayloadFormat
    if first in _MSGPACK_MAP:
        fmt, decode = "msgpack", decode_msgpack
    elif first in _CBOR_MAP:
        fmt, decode = "cbor", decode_cbor
    else:
        return None
    try:
        value = decode(data)
    except ValueError:
        return None
    if isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value):
        return fmt, value
    return None


def _document(
    fmt: PayloadFormat, value: Any, size: int, indent: int | None
) -> DecodedPayload | None:
    try:
        ready = json_ready(value)
        text = json.dumps(ready, indent=indent, ensure_ascii=False)
        line = _one_line(json.dumps(ready, ensure_ascii=False))
    except (RecursionError, ValueError):
        return None
    return DecodedPayload(fmt, text, line, size, False, ready)


def _binary(data: bytes, size: int, error: str | None) -> DecodedPayload:
    text = hex_dump(data)
    line = _one_line(data[:80].hex(" "))
    if error is not None:
        text = f"{error}\n{text}"
        line = _one_line(f"{error}: {line}")
    return DecodedPayload("binary", text, line, size, False, None, error, base64_view(data))


def decode_payload(
    payload: bytes,
    *,
    limit: int = DEFAULT_DISPLAY_LIMIT,
    pretty: bool = True,
    content_type: object = None,
    declared: object = None,
) -> DecodedPayload:
    """Decode ``payload`` for display (see the module docstring).

    Args:
        payload: the message payload.
        limit: most bytes decoded (>= 1).
        pretty: indent JSON, BSON, MessagePack and CBOR documents (``False``: compact).
        content_type: the message's MQTT 5 Content Type, if any.
        declared: the format configured for its topic (:data:`DECLARABLE_FORMATS`),
            if any.

    Never raises for any bytes: a payload that the declared decoder refuses is
    ``binary`` with the decoder's message in ``error``.
    """
    size = len(payload)
    if not size:
        return DecodedPayload("empty", "", "(empty)", 0, False)
    cut = size > limit
    data = payload[:limit] if cut else payload
    indent = 2 if pretty else None
    decoder = decoder_for(content_type, declared)
    if decoder is not None and not cut:
        declared_result = _declared(decoder, data, size, indent)
        if declared_result is not None:
            return declared_result
    elif decoder in ("bson", "msgpack", "cbor", "sparkplug") and cut:
        return _with_cut(_binary(data, size, None), data, size)
    value: Any = None
    if not cut and decoder is None and is_bson(data):
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
        if not cut and decoder is None:
            guessed = _guess_structured(data)
            if guessed is not None:
                document = _document(guessed[0], guessed[1], size, indent)
                if document is not None:
                    return document
        return (
            _with_cut(_binary(data, size, None), data, size) if cut else _binary(data, size, None)
        )
    fmt, text = "text", text_or_none
    stripped = text.lstrip()
    if not cut and stripped[:1] in ("{", "[") and decoder != "text":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        else:
            fmt = "json"
            text = json.dumps(value, indent=indent, ensure_ascii=False)
    line = _one_line(text if fmt == "text" else json.dumps(value, ensure_ascii=False))
    decoded = DecodedPayload(fmt, text, line, size, cut, value)
    return _with_cut(decoded, data, size) if cut else decoded


def _declared(
    decoder: Decoder, data: bytes, size: int, indent: int | None
) -> DecodedPayload | None:
    """``data`` (whole) read by the declared ``decoder``; ``None`` to go on guessing
    (``text`` and ``json`` are the guess's own rules, with the error kept for JSON)."""
    if decoder == "binary":
        return _binary(data, size, None)
    if decoder == "sparkplug":
        from console.mqtt.sparkplug import SparkplugError, payload_json

        try:
            document = _document("sparkplug", payload_json(data), size, indent)
        except SparkplugError as exc:
            return _binary(data, size, f"sparkplug payload does not decode: {exc}")
        return document or _binary(data, size, "sparkplug payload is nested too deeply")
    if decoder in _STRUCTURED:
        try:
            value = _STRUCTURED[decoder](data)
        except ValueError as exc:
            return _binary(data, size, f"{decoder} payload does not decode: {exc}")
        document = _document(decoder, value, size, indent)
        return document or _binary(data, size, f"{decoder} payload is nested too deeply")
    if decoder == "bson":
        try:
            return _document("bson", decode_bson(data), size, indent) or _binary(
                data, size, "bson payload is nested too deeply"
            )
        except ValueError as exc:
            return _binary(data, size, f"bson payload does not decode: {exc}")
    text = _utf8(data, False)
    if text is None:
        return _binary(data, size, f"{decoder} payload is not UTF-8 text")
    if decoder == "json":
        try:
            value = json.loads(text)
        except ValueError as exc:
            return DecodedPayload(
                "text",
                f"json payload does not decode: {exc}\n{text}",
                _one_line(text),
                size,
                False,
                None,
                f"json payload does not decode: {exc}",
            )
        return _document("json", value, size, indent)
    return DecodedPayload("text", text, _one_line(text), size, False)


def _with_cut(decoded: DecodedPayload, data: bytes, size: int) -> DecodedPayload:
    """``decoded`` (of the first ``len(data)`` bytes) with the truncation line."""
    note = f"… truncated: {len(data):,} of {size:,} bytes shown"
    return DecodedPayload(
        decoded.format,
        f"{decoded.text}\n{note}",
        _one_line(f"{decoded.line} {note}"),
        size,
        True,
        decoded.value,
        decoded.error,
        decoded.base64,
    )
