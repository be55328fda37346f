"""A topic's older messages, read back from the store's notification log.

The notification stream keeps every MQTT message it saw in the store's
``notifications`` table (``docs/store.md``; ``notifications.retention`` bounds it,
``notifications.stored_payload_bytes`` cuts each payload). :func:`stored_messages`
reads those of one topic, so a topic's history reaches back past what the topic tree
keeps in memory, and a topic trimmed from the tree is still reachable.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING

from console.explorer.tree import TopicMessage

if TYPE_CHECKING:
    from console.store import PropertyStore

__all__ = ["stored_messages"]

_SELECT = (
    "SELECT time_ms, payload FROM notifications WHERE category = 'message'"
    " AND json_extract(payload, '$.topic') = ? AND json_extract(payload, '$.broker') = ?"
    " AND json_extract(payload, '$.received') < ? ORDER BY id DESC LIMIT ?"
)


async def stored_messages(
    store: PropertyStore, broker: str, topic: str, *, before: float, limit: int = 500
) -> list[TopicMessage]:
    """The newest ``limit`` stored messages of ``topic`` on ``broker`` received before
    ``before`` (s since the epoch), oldest first. A stored payload cut by the store
    keeps its original ``size`` (:attr:`TopicMessage.truncated`).

    Raises:
        StoreClosedError, StoreError: the store is closed or cannot be read.
    """
    rows = await store.fetch(_SELECT, (topic, broker, before, limit))
    found: list[TopicMessage] = []
    for time_ms, text in rows:
        try:
            payload = json.loads(text)
            data = base64.b64decode(str(payload.get("payload") or ""))
        except (ValueError, binascii.Error, AttributeError):
            continue
        size, qos = payload.get("size"), payload.get("qos")
        received = payload.get("received")
        found.append(
            TopicMessage(
                float(received) if isinstance(received, int | float) else time_ms / 1000,
                data,
                size if isinstance(size, int) else len(data),
                qos if isinstance(qos, int) else 0,
                payload.get("retain") is True,
            )
        )
    found.reverse()
    return found
