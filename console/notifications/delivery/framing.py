"""Batch documents and the TCP frames that carry them (``docs/monitors.md``).

A batch is one JSON document (UTF-8)::

    {"monitor": NAME, "seq": N, "time": SECONDS, "events": [EVENT, ...]}

``seq`` counts the monitor's batches from 1 (kept across restarts in the store),
``time`` is when the batch was made (seconds since the epoch) and each ``EVENT`` is the
``--headless`` event JSON (``{"seq", "type", "timestamp", "source_timestamp",
"payload"}``, ``docs/events.md``).

A TCP **frame** is a 5-byte header then the body::

    +---------------------------+---------+----------------------+
    | length: uint32 big-endian | flags:  | body: `length` bytes |
    | (body bytes, not header)  | uint8   |                      |
    +---------------------------+---------+----------------------+

``flags`` bit 0 set: the body is zlib-compressed (RFC 1950, Python's
``zlib.decompress``); the other bits are 0. A client acknowledges (``ack: explicit``)
with a frame of its own whose body is ``{"ack": SEQ}``: every batch up to ``SEQ`` is
delivered. Frames are at most :data:`MAX_FRAME` bytes.
"""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Sequence
from typing import Final

from console.events import Event

__all__ = [
    "FLAG_ZLIB",
    "HEADER",
    "MAX_ACK_FRAME",
    "MAX_FRAME",
    "FrameError",
    "batch_document",
    "compress",
    "encode_frame",
    "read_frame",
]

#: The frame header: body length (uint32, big-endian), flags (uint8).
HEADER: Final = struct.Struct("!IB")
#: Flags bit 0: the body is zlib-compressed.
FLAG_ZLIB: Final = 0x01
#: Largest frame body fleettop sends (and accepts): 1 GiB.
MAX_FRAME: Final = 1 << 30
#: Largest frame fleettop reads from a client (an acknowledgement is tiny).
MAX_ACK_FRAME: Final = 65_536


class FrameError(ValueError):
    """A client sent a frame fleettop cannot read (too long, not JSON, bad flags)."""


def batch_document(monitor: str, seq: int, time: float, events: Sequence[Event]) -> bytes:
    """The batch's JSON document, UTF-8 (values JSON cannot hold become their
    ``str()``, as ``--headless`` prints them)."""
    document = {
        "monitor": monitor,
        "seq": seq,
        "time": time,
        "events": [event.to_json() for event in events],
    }
    return json.dumps(document, separators=(",", ":"), default=str).encode("utf-8")


def compress(body: bytes) -> bytes:
    """``body`` zlib-compressed (RFC 1950, level 6: HTTP's ``deflate``)."""
    return zlib.compress(body, 6)


def encode_frame(body: bytes, *, zlib_body: bool = False) -> bytes:
    """One frame: the header, then ``body`` (compressed here when ``zlib_body``).

    Raises:
        FrameError: the body is longer than :data:`MAX_FRAME`.
    """
    data = compress(body) if zlib_body else body
    if len(data) > MAX_FRAME:
        raise FrameError(f"a frame of {len(data)} bytes is longer than {MAX_FRAME}")
    return HEADER.pack(len(data), FLAG_ZLIB if zlib_body else 0) + data


async def read_frame(reader: asyncio.StreamReader, *, limit: int = MAX_FRAME) -> bytes | None:
    """The next frame's body (decompressed), or ``None`` at a clean end of stream.

    Raises:
        FrameError: longer than ``limit``, unknown flags, or a body that does not
            decompress.
        asyncio.IncompleteReadError: the stream ended inside a frame.
    """
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    length, flags = HEADER.unpack(header)
    if length > limit:
        raise FrameError(f"frame of {length} bytes (at most {limit})")
    if flags & ~FLAG_ZLIB:
        raise FrameError(f"unknown frame flags {flags:#04x}")
    body = await reader.readexactly(length)
    if flags & FLAG_ZLIB:
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise FrameError(f"the frame does not decompress: {exc}") from None
    return body
