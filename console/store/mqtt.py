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

The same subscription (so in bus order with the values) applies the SDK's purges:

* ``("mqtt", DEVICE, "purge")`` (a purge list of ``control/producer/properties`` or
  ``control/consumer/properties``): every stored property of the device of that
  ownership (``device`` or ``server``) that is not in the list is deleted, as the SDK
  does with its own database (``__purge_server_properties``); only Astarte
  properties learnt over MQTT (never SNMP values, JSON fields or Sparkplug metrics);
* ``("mqtt", DEVICE, "introspection")``: every stored property of an interface the
  introspection names under another major version is deleted (the SDK keeps one
  major per interface: its database holds the new major only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from console.astarte import from_json_value
from console.events import Event, EventManager, JsonValue, Pattern
from console.store.feeding import Feeder
from console.store.properties import PropertyStore
from console.store.values import PropertyType, Source

__all__ = [
    "PROPERTY_PATTERN",
    "PURGE_PATTERNS",
    "MqttPropertyFeeder",
    "PropertyWrite",
    "property_write",
]


#: The property events of every MQTT device.
PROPERTY_PATTERN: Final[Pattern] = ("mqtt", "?", "property", "?", "?")
#: Interfaces fleettop stores that are not Astarte's (SNMP values, JSON fields,
#: Sparkplug metrics): a purge list never deletes them.
_NOT_ASTARTE: Final = ("org.fleettop.", "org.eclipse.tahu.")
#: Purge lists and introspections, which delete stored properties.
PURGE_PATTERNS: Final[tuple[Pattern, ...]] = (
    ("mqtt", "?", "purge"),
    ("mqtt", "?", "introspection"),
)


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
        super().__init__(
            bus, store, PROPERTY_PATTERN, batch_size=batch_size, more_patterns=PURGE_PATTERNS
        )
        self.purged = 0
        """Stored properties deleted by purge lists and introspections."""

    async def _purge(self, event: Event) -> bool:
        """Apply a purge list or an introspection (see the module docstring)."""
        payload = event.payload
        if not isinstance(payload, Mapping):
            raise ValueError("a purge or introspection event without a payload object")
        device = event.type[1]
        await self._store.flush()  # the values published before it are in the store
        stored = await self._store.load_all_props(device)
        doomed: list[tuple[str, str]] = []
        if event.type[2] == "purge":
            ownership = str(payload["ownership"])
            pairs: Any = payload["keep"]
            keep = {(str(interface), str(path)) for interface, path in pairs}
            doomed = [
                (prop.interface, prop.path)
                for prop in stored
                if prop.ownership == ownership
                and prop.source == Source.MQTT
                and not prop.interface.startswith(_NOT_ASTARTE)
                and (prop.interface, prop.path) not in keep
            ]
        else:
            items: Any = payload["interfaces"]
            majors = {str(item["name"]): int(item["major"]) for item in items}
            doomed = [
                (prop.interface, prop.path)
                for prop in stored
                if prop.interface in majors and prop.major != majors[prop.interface]
            ]
        for interface, path in doomed:
            await self._store.delete_prop(device, interface, path)
        self.purged += len(doomed)
        return bool(doomed)

    async def _store_event(self, event: Event) -> bool:
        if len(event.type) == 3:
            return await self._purge(event)
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
