"""Payloads bounded by bytes: what a notification keeps of a large payload, and a
ring bounded by entries *and* payload bytes.

A bus event's payload is kept by reference (no copy) unless it is larger than the
holder's limit. A larger one is replaced by a truncated copy that says so::

    {..., "truncated": {"kept": N, "size": M}}

* an MQTT message (``("mqtt", D, "message", ...)``, its ``payload`` base64 text and
  ``size`` in bytes, ``docs/events.md``): the first ``N`` bytes of the message's
  ``M`` bytes are kept (base64, cut on a 3-byte boundary so it still decodes); the
  other fields are untouched, so the summary and the detail are the same, up to
  the data shown;
* any other payload: its long strings are cut and its long lists and objects keep
  their first items, small values first (an object's short fields, such as
  ``topic`` or ``interface``, survive); ``N`` and ``M`` are then the approximate
  sizes of its JSON text (:func:`payload_weight`).

:func:`truncation` reads the note back: the detail pane says "N of M bytes".

:class:`NotificationRing` is the in-memory ring of the notification center and of each
monitor: at most ``max_entries`` notifications and ``max_bytes`` payload bytes (the
sum of :func:`payload_weight` of what it holds); each entry's payload is first cut to
``entry_bytes``; the oldest entries fall off first, the newest always stays. The
limits are ``notifications.ring_size``, ``ring_bytes`` and ``payload_bytes`` of the
configuration; the store writes at most ``stored_payload_bytes`` of each payload
(:class:`~console.notifications.storage.NotificationLog`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, overload

from console.events import JsonValue
from console.notifications.model import TRUNCATED, Notification, truncation

__all__ = [
    "DEFAULT_PAYLOAD_BYTES",
    "DEFAULT_RING_BYTES",
    "DEFAULT_STORED_PAYLOAD_BYTES",
    "NotificationRing",
    "cut_notification",
    "cut_payload",
    "payload_weight",
    "truncation",
]

#: The most of one payload kept in memory (the detail pane shows 64 KiB), bytes.
DEFAULT_PAYLOAD_BYTES: Final = 64 * 1024
#: Payload bytes one ring (the stream, each monitor) holds at most.
DEFAULT_RING_BYTES: Final = 64 * 1024 * 1024
#: The most of one payload written to the store (and to monitor recordings), bytes.
DEFAULT_STORED_PAYLOAD_BYTES: Final = 1024 * 1024

#: Values of at most this weight are kept whole when an object is cut (its fields
#: such as ``topic``, ``size``, ``interface``), while the budget lasts.
_SMALL: Final = 256
#: Nesting depth past which :func:`payload_weight` counts a value as a flat 16.
_MAX_DEPTH: Final = 64
#: What an MQTT message's fields but its payload and topic weigh, about (broker,
#: device, size, qos, retain, properties, received and their keys).
_MESSAGE_FIELDS: Final = 160
_SCALARS: Final = frozenset({bool, int, float})


def payload_weight(value: object, _depth: int = 0) -> int:
    """About how many bytes ``value`` takes as compact JSON text (strings by their
    length in characters, numbers 8, bytes twice their length, as hex); never raises.

    Called for every notification a ring keeps, so it is cheap: an MQTT message (a
    mapping with a text ``payload`` and an int ``size``) counts its base64 payload and
    topic plus a flat :data:`_MESSAGE_FIELDS`; a mapping's text and number values are
    counted without a call each.
    """
    kind = type(value)
    if kind is str:
        return len(value) + 2  # type: ignore[arg-type]
    if kind is dict:
        mapping: dict[Any, Any] = value  # type: ignore[assignment]
        text = mapping.get("payload")
        if type(text) is str and type(mapping.get("size")) is int:
            topic = mapping.get("topic")
            return len(text) + _MESSAGE_FIELDS + (len(topic) if type(topic) is str else 0)
        return _mapping_weight(mapping, _depth)
    if value is None or kind in _SCALARS:
        return 8
    if _depth > _MAX_DEPTH:
        return 16
    if isinstance(value, Mapping):
        return _mapping_weight(value, _depth)
    if isinstance(value, list | tuple):
        total = 2
        for item in value:
            total += payload_weight(item, _depth + 1) + 1
        return total
    if isinstance(value, bytes | bytearray | memoryview):
        return 2 * len(value) + 2
    return 16


def _mapping_weight(mapping: Mapping[Any, Any], depth: int) -> int:
    total = 2
    for key, item in mapping.items():
        total += (len(key) if type(key) is str else 8) + 3
        kind = type(item)
        if kind is str:
            total += len(item) + 2
        elif item is None or kind in _SCALARS:
            total += 8
        elif depth >= _MAX_DEPTH:
            total += 16
        else:
            total += payload_weight(item, depth + 1)
    return total


def cut_payload(payload: JsonValue, max_bytes: int) -> JsonValue:
    """``payload`` itself when its :func:`payload_weight` is at most ``max_bytes``,
    else a truncated copy with its ``"truncated": {"kept", "size"}`` note (see the
    module docstring); a payload already cut keeps its first note's ``size``.

    Raises:
        ValueError: ``max_bytes`` below 1.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, not {max_bytes!r}")
    weight = payload_weight(payload)
    if weight <= max_bytes:
        return payload
    before = truncation(payload)
    if isinstance(payload, Mapping):
        text, size_field = payload.get("payload"), payload.get("size")
        if isinstance(text, str) and type(size_field) is int:  # an MQTT message
            chars = max_bytes // 3 * 4
            if len(text) <= chars:
                return payload
            message = dict(payload)
            message["payload"] = text[:chars]
            size = before[1] if before is not None else size_field
            message[TRUNCATED] = {"kept": chars // 4 * 3, "size": size}
            return message
    cut = _cut(payload, max_bytes)
    result: dict[str, JsonValue] = dict(cut) if isinstance(cut, dict) else {"value": cut}
    result.pop(TRUNCATED, None)
    size = before[1] if before is not None else weight
    result[TRUNCATED] = {"kept": payload_weight(result), "size": size}
    return result


def _cut(value: Any, budget: int) -> JsonValue:
    """``value`` within about ``budget`` bytes of JSON (strings cut, containers
    keep their first items; an object's small values first)."""
    if isinstance(value, str):
        return value if len(value) + 2 <= budget else value[: max(budget - 2, 0)]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return _cut(bytes(value).hex(), budget)
    if isinstance(value, list | tuple):
        items: list[JsonValue] = []
        left = budget - 2
        for item in value:
            if left <= 1:
                break
            kept = _cut(item, left - 1)
            weight = payload_weight(kept) + 1
            if weight > left:
                break
            items.append(kept)
            left -= weight
        return items
    if isinstance(value, Mapping):
        left = budget - 2
        weights = [(str(key), item, payload_weight(item)) for key, item in value.items()]
        fields: dict[str, JsonValue] = {}
        large: list[tuple[str, Any]] = []
        for key, item, weight in weights:
            if weight > _SMALL:
                large.append((key, item))
            elif weight + len(key) + 3 <= left:
                fields[key] = item
                left -= weight + len(key) + 3
        for index, (key, item) in enumerate(large):
            share = left // (len(large) - index) - len(key) - 3
            if share <= 0:
                break
            kept = _cut(item, share)
            fields[key] = kept
            left -= payload_weight(kept) + len(key) + 3
        return {key: fields[key] for key, _, _ in weights if key in fields}
    return _cut(str(value), budget)


def cut_notification(notification: Notification, max_bytes: int) -> Notification:
    """``notification`` itself when its payload is within ``max_bytes``
    (:func:`cut_payload`), else a copy holding the truncated payload (same id, time,
    category, severity, device, type, history; its summary built from the whole
    payload when it was built already).

    Raises:
        ValueError: ``max_bytes`` below 1.
    """
    payload = cut_payload(notification.payload, max_bytes)
    if payload is notification.payload:
        return notification
    return notification.with_payload(payload)


class NotificationRing(Sequence[Notification]):
    """Notifications, oldest first, bounded by count and by payload bytes (see the
    module docstring). A live view for its readers: copy it before awaiting.

    Args:
        max_entries: notifications kept at most (at least 1).
        max_bytes: payload bytes kept at most (:func:`payload_weight` of each kept
            payload, summed); the newest entry always stays, whatever its size.
        entry_bytes: each payload is cut to this many bytes before it is kept
            (:func:`cut_payload`).

    Raises:
        ValueError: a limit below 1.
    """

    def __init__(
        self,
        max_entries: int,
        *,
        max_bytes: int = DEFAULT_RING_BYTES,
        entry_bytes: int = DEFAULT_PAYLOAD_BYTES,
    ) -> None:
        if max_entries < 1 or max_bytes < 1 or entry_bytes < 1:
            raise ValueError("max_entries, max_bytes and entry_bytes must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entry_bytes = entry_bytes
        self._entries: deque[Notification] = deque()
        self._weights: deque[int] = deque()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        """Payload bytes held now (at most ``max_bytes``, unless the newest entry
        alone is larger)."""
        return self._bytes

    def extend(self, notifications: Iterable[Notification]) -> list[Notification]:
        """Append ``notifications`` (oldest first), each cut to ``entry_bytes``, then
        drop the oldest entries past either limit.

        Returns:
            What was appended, in order: the given notifications, or their
            truncated copies (:func:`cut_notification`).
        """
        entries, weights = self._entries, self._weights
        limit = self.entry_bytes
        kept: list[Notification] = []
        total = self._bytes
        for notification in notifications:
            weight = payload_weight(notification.payload)
            if weight > limit:
                notification = cut_notification(notification, limit)
                weight = payload_weight(notification.payload)
            kept.append(notification)
            entries.append(notification)
            weights.append(weight)
            total += weight
        max_entries, max_bytes = self.max_entries, self.max_bytes
        while len(entries) > max_entries or (total > max_bytes and len(entries) > 1):
            entries.popleft()
            total -= weights.popleft()
        self._bytes = total
        return kept

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._weights.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Notification: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Notification]: ...
    def __getitem__(self, index: int | slice) -> Notification | Sequence[Notification]:
        if isinstance(index, slice):
            return list(self._entries)[index]
        return self._entries[index]

    def __iter__(self) -> Iterator[Notification]:
        return iter(self._entries)

    def __reversed__(self) -> Iterator[Notification]:
        return reversed(self._entries)

    def __repr__(self) -> str:
        return f"<NotificationRing {len(self)} entries, {self._bytes} B>"
