"""Persisting the MQTT properties devices report (Astarte ``properties`` interfaces).

:class:`MqttPropertyFeeder` subscribes to ``("mqtt", DEVICE, "property", INTERFACE,
PATH)`` events (``docs/events.md``) with ``Policy.BLOCK`` (nothing dropped) and keeps
the store in step with the Astarte SDK's semantics: a value replaces the stored one
under the interface's major version, an unset (empty payload) deletes it. Values
arrive in Astarte's JSON form and are stored with their declared mapping type, so
they round-trip exactly (``binaryblob`` bytes, ``datetime`` aware datetimes).
Events a device sent that do not fit its interface (``valid`` false) are not stored:
the store keeps what the interface allows.

Datastreams are not properties and are not stored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from console.astarte import from_json_value
from console.events import Event, EventManager, JsonValue, Pattern
from console.store.feeding import Feeder
from console.store.properties import PropertyStore
from console.store.values import PropertyType, Source

__all__ = ["PROPERTY_PATTERN", "MqttPropertyFeeder", "PropertyWrite", "property_write"]


#: The property events of every MQTT device.
PROPERTY_PATTERN: Final[Pattern] = ("mqtt", "?", "property", "?", "?")


class PropertyWrite(NamedTuple):
    """One store operation read from a property event (see :func:`property_write`);
    ``value`` is ``None`` for an unset."""

    device: str
    interface: str
    major: int
    minor: int
    path: str
    type: PropertyType
    value: object
    ownership: str


def property_write(event: Event) -> PropertyWrite | None:
    """What a property event asks of the store, or ``None`` for an invalid value.

    ``value`` is ``None`` for an unset.

    Raises:
        ValueError: the event is not of the documented shape (version ``"M.m"``,
            a known mapping type, a path starting with ``/``).
    """
    payload = event.payload
    if len(event.type) != 5 or not isinstance(payload, Mapping):
        raise ValueError("not an ('mqtt', DEVICE, 'property', INTERFACE, PATH) event")
    if payload.get("valid") is False:
        return None
    major_text, _, minor_text = str(payload["version"]).partition(".")
    type_ = PropertyType(str(payload["type"]))
    unset = payload.get("unset") is True
    raw: JsonValue = payload.get("value")
    return PropertyWrite(
        device=event.type[1],
        interface=str(payload["interface"]),
        major=int(major_text),
        minor=int(minor_text or 0),
        path=str(payload["path"]),
        type=type_,
        value=None if unset else from_json_value(type_.value, raw),
        ownership=str(payload["ownership"]),
    )


class MqttPropertyFeeder(Feeder):
    """Keeps the store in step with the MQTT property events of the bus, in order (a
    set then an unset of one path must stay so); values invalid for their interface
    are skipped.

    Args:
        bus: the event manager.
        store: the open property store.
        batch_size: events handed to the feeder at a time.
    """

    kept = "MQTT properties"

    def __init__(self, bus: EventManager, store: PropertyStore, *, batch_size: int = 500) -> None:
        super().__init__(bus, store, PROPERTY_PATTERN, batch_size=batch_size)

    async def _store_event(self, event: Event) -> bool:
        write = property_write(event)
        if write is None:
            return False
        stamp = event.source_timestamp or event.timestamp
        await self._store.store_prop(
            write.device,
            write.interface,
            write.major,
            write.path,
            write.value,  # type: ignore[arg-type]  # checked by the store
            type=write.type,
            ownership=write.ownership,
            source=Source.MQTT,
            minor=write.minor,
            updated_ms=int(stamp * 1000),
        )
        return True
