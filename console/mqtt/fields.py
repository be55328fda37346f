"""JSON fields as values: the leaves of a JSON (or MessagePack, CBOR) object payload,
each named by its JSON Pointer (RFC 6901), and which of them changed.

A payload ``{"ENERGY": {"Power": 150, "Today": 1.2}, "Time": "..."}`` on
``tele/kitchen/SENSOR`` has the leaves ``/ENERGY/Power``, ``/ENERGY/Today`` and
``/Time`` (:func:`leaves`: objects and arrays are walked in order, array items by
index, ``~`` and ``/`` in keys escaped as ``~0`` and ``~1``; an empty object or
array is a leaf itself). Which leaves are taken is the device rule's ``fields``
(:class:`~console.config.JsonFields`): at most ``limit`` of one payload, only under
``include`` pointers when some are given, never under ``exclude`` ones.

:class:`FieldTracker` remembers the last leaves of each ``(device, topic)`` (at most
:data:`TOPICS` topics and :data:`LEAVES` leaves, the least recently updated topic
forgotten first: its next payload counts as new) and tells which
changed, so that fleettop publishes a ``("mqtt", DEVICE, "field", TOPIC, POINTER)``
event (``docs/events.md``) only for a leaf that is new or changed (its value or its
type), as SNMP publishes changes.

A value's key in the UI is ``TOPIC#POINTER`` (the pointer as a URI fragment, RFC 6901
§6): ``tele/kitchen/SENSOR#/ENERGY/Power``; ``#`` cannot appear in a topic name.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from console.config import JsonFields
from console.events import JsonValue
from console.mqtt.codec import decode_cbor, decode_msgpack, decoder_for, json_ready

__all__ = [
    "LEAVES",
    "TOPICS",
    "FieldTracker",
    "escape",
    "field_events",
    "field_key",
    "json_type",
    "leaves",
    "payload_object",
    "resolve",
]

#: ``(device, topic)`` pairs whose last leaves are remembered.
TOPICS: Final = 50_000
#: Leaves remembered over all topics (~150 bytes each: ~30 MB at most).
LEAVES: Final = 200_000
#: Most payload bytes read for fields (a larger payload gives none).
MAX_BYTES: Final = 256 * 1024


def escape(key: str) -> str:
    """One reference token of a JSON Pointer: ``~`` -> ``~0``, ``/`` -> ``~1``."""
    return key.replace("~", "~0").replace("/", "~1")


def resolve(document: object, pointer: str) -> JsonValue:
    """The value at JSON Pointer ``pointer`` (RFC 6901: ``~1`` is ``/``, ``~0`` is
    ``~``; ``""`` the whole document) of a decoded JSON ``document``.

    Raises:
        LookupError: ``document`` has no such member or item.
    """
    value = document
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise LookupError(pointer)
    return value  # type: ignore[return-value]


def field_key(topic: str, pointer: str) -> str:
    """The UI key of a field: ``TOPIC#POINTER``."""
    return f"{topic}#{pointer}"


def json_type(value: object) -> str:
    """The JSON type of ``value``: ``integer``, ``number``, ``string``, ``boolean``,
    ``null``, ``array`` or ``object`` (JSON Schema's names)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def _covered(pointer: str, prefixes: Sequence[str]) -> bool:
    return any(pointer == p or pointer.startswith(p + "/") for p in prefixes)


def _on_the_way(pointer: str, prefixes: Sequence[str]) -> bool:
    """``pointer`` (a container) is a prefix of some ``prefixes`` entry."""
    return any(p.startswith(pointer + "/") for p in prefixes)


def leaves(document: Mapping[str, Any], fields: JsonFields) -> list[tuple[str, JsonValue]]:
    """The leaves of ``document`` as ``(pointer, value)``, in document order, as
    ``fields`` selects them (see the module docstring)."""
    found: list[tuple[str, JsonValue]] = []
    include, exclude, limit = fields.include, fields.exclude, fields.limit

    def walk(value: Any, pointer: str) -> None:
        if len(found) >= limit:
            return
        if exclude and _covered(pointer, exclude):
            return
        children: list[tuple[str, Any]]
        if isinstance(value, Mapping):
            children = [(escape(str(k)), v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(str(i), v) for i, v in enumerate(value)]
        else:
            children = []
        if pointer and not children:
            if not include or _covered(pointer, include):
                found.append((pointer, value))
            return
        for token, child in children:
            below = f"{pointer}/{token}"
            if include and not (_covered(below, include) or _on_the_way(below, include)):
                continue
            walk(child, below)

    walk(document, "")
    return found


def payload_object(payload: bytes, content_type: object, declared: object) -> dict[str, Any] | None:
    """``payload`` as an object when it is one: JSON (text starting with ``{``), or
    MessagePack / CBOR when the Content Type or the topic's configured format says
    so; its values JSON-ready (:func:`~console.mqtt.codec.json_ready`). ``None`` for
    anything else (never raises)."""
    if not payload or len(payload) > MAX_BYTES:
        return None
    decoder = decoder_for(content_type, declared)
    try:
        if decoder in ("msgpack", "cbor"):
            value = (decode_msgpack if decoder == "msgpack" else decode_cbor)(payload)
            value = json_ready(value) if isinstance(value, Mapping) else None
        elif decoder in (None, "json") and payload[:64].lstrip()[:1] == b"{":
            value = json.loads(payload)
        else:
            return None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class FieldTracker:
    """The last leaves of each ``(device, topic)``, bounded by :data:`TOPICS` (see the
    module docstring)."""

    def __init__(self, topics: int = TOPICS, leaves: int = LEAVES) -> None:
        self.topics = topics
        self.leaves = leaves
        self._last: OrderedDict[tuple[str, str], dict[str, JsonValue]] = OrderedDict()
        self._held = 0

    @property
    def held(self) -> int:
        """Leaves remembered now (at most :attr:`leaves`, unless one payload alone has
        more)."""
        return self._held

    def changes(
        self, device: str, topic: str, found: list[tuple[str, JsonValue]]
    ) -> list[tuple[str, JsonValue, JsonValue, bool]]:
        """``(pointer, value, previous, first)`` of each leaf of ``found`` that is new
        (``first``) or differs from the topic's last payload (value or type)."""
        key = (device, topic)
        last = self._last.pop(key, None)
        if last is not None:
            self._held -= len(last)
        self._last[key] = dict(found)
        self._held += len(found)
        while len(self._last) > 1 and (len(self._last) > self.topics or self._held > self.leaves):
            _, dropped = self._last.popitem(last=False)
            self._held -= len(dropped)
        out: list[tuple[str, JsonValue, JsonValue, bool]] = []
        for pointer, value in found:
            if last is None or pointer not in last:
                out.append((pointer, value, None, True))
                continue
            previous = last[pointer]
            if previous != value or type(previous) is not type(value):
                out.append((pointer, value, previous, False))
        return out


def field_events(
    device: str,
    broker: str,
    topic: str,
    received: float,
    changes: list[tuple[str, JsonValue, JsonValue, bool]],
) -> list[tuple[tuple[str, ...], dict[str, JsonValue]]]:
    """The ``("mqtt", DEVICE, "field", TOPIC, POINTER)`` events (type, payload) of the
    leaves :meth:`FieldTracker.changes` found new or changed (``docs/events.md``)."""
    return [
        (
            ("mqtt", device, "field", topic, pointer),
            {
                "broker": broker,
                "topic": topic,
                "pointer": pointer,
                "type": json_type(value),
                "value": value,
                "previous": previous,
                "first": first,
                "received": received,
            },
        )
        for pointer, value, previous, first in changes
    ]
