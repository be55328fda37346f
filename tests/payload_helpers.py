"""Large MQTT payloads for the byte-budget tests (issue 11 §1)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Final

from console.events import JsonValue
from console.notifications.model import Notification

#: 10 MiB, the size of the payloads of issue 11 §1.
TEN_MB: Final = 10 * 1024 * 1024


def payload_bytes(size: int = TEN_MB) -> bytes:
    """``size`` bytes that are not all alike (a cut in the wrong place shows)."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def message_payload(topic: str, data: bytes) -> dict[str, JsonValue]:
    """The payload of an ``("mqtt", D, "message", ...)`` event (docs/events.md)
    carrying ``data``."""
    return {
        "broker": "plant",
        "device": None,
        "topic": topic,
        "payload": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        "qos": 0,
        "retain": False,
        "properties": None,
        "received": 0.0,
    }


def held(entries: Iterable[Notification]) -> int:
    """Characters of MQTT payload text (base64) the notifications hold."""
    total = 0
    for note in entries:
        payload = note.payload
        if isinstance(payload, dict) and isinstance(payload.get("payload"), str):
            total += len(payload["payload"])  # type: ignore[arg-type]
    return total
