"""Polled SNMP values as properties: the bus feeder and the last known values.

:class:`StoreFeeder` subscribes to every SNMP read event (``("snmp", DEVICE,
"read", OID)``, see ``docs/events.md``) with :attr:`~console.events.Policy.BLOCK`, so
no value is dropped, and stores the last value of every OID as a property:

* interface :data:`SNMP_INTERFACE` (``org.fleettop.snmp.Values``), major
  :data:`SNMP_MAJOR` (1), minor 0, one per device;
* path ``/`` + the numeric OID (``/1.3.6.1.2.1.1.3.0``), one level;
* ownership ``device``, source ``snmp``; ``updated_ms`` is the event's source
  timestamp (else the bus timestamp), in ms since the epoch;
* ``native_type`` is the SNMP data type, so :func:`last_known` gives back exactly the
  data dict that was published.

SNMP data type to property type (:func:`property_from_data`):

==========================================  ==============================================
SNMP ``type``                               property ``type`` and value
==========================================  ==============================================
``INTEGER``                                 ``integer`` (Integer32)
``UNSIGNED``, ``COUNTER``, ``TIME_TICKS``   ``longinteger`` (0..2^32-1 fits)
``BIG_COUNTER``                             ``longinteger`` up to 2^63-1; a Counter64
                                            above that (up to 2^64-1) does not fit and is
                                            stored as a decimal ``string`` (exact)
``STRING``, ``OBJECT_ID``, ``IP_ADDRESS``   ``string``
``STRING_HEX``, ``ARBITRARY``               ``binaryblob`` (the bytes the hex spells)
``ERROR``                                   ``string``: the error name (``NO_SUCH_OBJECT``);
                                            the last thing the device said about the OID
==========================================  ==============================================

A read event whose payload does not fit (an unknown type, malformed hex) is logged
and skipped; it never stops the feeder. If the store stops accepting writes (a
:class:`~console.store.errors.StoreError`), the feeder logs one error and
unsubscribes: fleettop carries on without persistence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from console.events import Event, JsonValue
from console.store.feeding import LastValueFeeder
from console.store.properties import Property, PropertyStore
from console.store.values import Ownership, PropertyType, PropertyValue, Source

__all__ = [
    "READ_PATTERN",
    "SNMP_INTERFACE",
    "SNMP_MAJOR",
    "KnownValue",
    "StoreFeeder",
    "data_from_property",
    "last_known",
    "property_from_data",
]


#: The interface every device's polled SNMP values are stored under.
SNMP_INTERFACE: Final = "org.fleettop.snmp.Values"
#: Its major version (bumped only if this mapping ever changes incompatibly).
SNMP_MAJOR: Final = 1
#: The bus pattern the feeder subscribes to.
READ_PATTERN: Final = ("snmp", "?", "read", "*")

_INT64_MAX: Final = 2**63 - 1
_LONG: Final = frozenset({"UNSIGNED", "COUNTER", "TIME_TICKS"})
_TEXT: Final = frozenset({"STRING", "OBJECT_ID", "IP_ADDRESS", "ERROR"})
_HEX: Final = frozenset({"STRING_HEX", "ARBITRARY"})


def property_from_data(data: Mapping[str, JsonValue]) -> tuple[PropertyType, PropertyValue]:
    """The property type and value of an SNMP data dict ``{"type", "value"}``.

    Raises:
        ValueError: unknown SNMP type, or a value of the wrong kind for it.
    """
    snmp_type, value = data.get("type"), data.get("value")
    if snmp_type == "INTEGER" and type(value) is int:
        return PropertyType.INTEGER, value
    if snmp_type in _LONG and type(value) is int:
        return PropertyType.LONGINTEGER, value
    if snmp_type == "BIG_COUNTER" and type(value) is int:
        if value > _INT64_MAX:
            return PropertyType.STRING, str(value)
        return PropertyType.LONGINTEGER, value
    if snmp_type in _TEXT and isinstance(value, str):
        return PropertyType.STRING, value
    if snmp_type in _HEX and isinstance(value, str):
        try:
            return PropertyType.BINARYBLOB, bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"SNMP {snmp_type} value {value[:40]!r} is not hex") from None
    raise ValueError(f"cannot store SNMP data {dict(data)!r}: unknown type or wrong value")


def data_from_property(prop: Property) -> dict[str, JsonValue]:
    """The SNMP data dict ``{"type", "value"}`` a stored property came from.

    Raises:
        ValueError: the property was not stored by the feeder (no SNMP type).
    """
    snmp_type, value = prop.native_type, prop.value
    if snmp_type == "BIG_COUNTER" and isinstance(value, str):
        return {"type": snmp_type, "value": int(value)}
    if snmp_type in _HEX and isinstance(value, bytes):
        return {"type": snmp_type, "value": value.hex()}
    if snmp_type is not None and isinstance(value, int | str) and not isinstance(value, bool):
        return {"type": snmp_type, "value": value}
    raise ValueError(f"{prop.device} {prop.interface}{prop.path} is not a stored SNMP value")


@dataclass(frozen=True, slots=True)
class KnownValue:
    """The last value of one OID known from the store.

    Attributes:
        oid: the numeric OID (``1.3.6.1.2.1.1.3.0``).
        data: the SNMP data dict as it was published: ``{"type", "value"}``.
        updated_ms: when it was read, ms since the epoch.
    """

    oid: str
    data: dict[str, JsonValue]
    updated_ms: int


async def last_known(store: PropertyStore, device: str) -> dict[str, KnownValue]:
    """The last stored value of every OID of ``device``, by OID.

    For screens at startup: show these as stale until the first fresh read.
    Properties stored under another major of :data:`SNMP_INTERFACE` are ignored.

    Raises:
        StoreClosedError, StoreCorruptError: as :meth:`PropertyStore.query`.
    """
    found: dict[str, KnownValue] = {}
    for prop in await store.query(device, SNMP_INTERFACE, limit=None):
        if prop.major != SNMP_MAJOR:
            continue
        try:
            data = data_from_property(prop)
        except ValueError:
            continue
        oid = prop.path[1:]
        found[oid] = KnownValue(oid, data, prop.updated_ms)
    return found


class StoreFeeder(LastValueFeeder):
    """Persists every SNMP read event of the bus as a property (see the module doc);
    a batch keeps only the last value of each OID.

    Args:
        bus: the event manager.
        store: the open property store.
        batch_size: events handed to the feeder at a time (coalesced per OID).
        maxsize: the subscription's queue bound before publishers wait.
    """

    kept = "SNMP values"
    PATTERN = READ_PATTERN

    async def last_known(self, device: str) -> dict[str, KnownValue]:
        """:func:`last_known` of this feeder's store (everything fed so far included:
        reads flush first)."""
        return await last_known(self._store, device)

    async def _store_event(self, event: Event) -> bool:
        device, oid, data = _read_event(event)
        prop_type, value = property_from_data(data)
        stamp = event.source_timestamp or event.timestamp
        await self._store.store_prop(
            device,
            SNMP_INTERFACE,
            SNMP_MAJOR,
            "/" + oid,
            value,
            type=prop_type,
            ownership=Ownership.DEVICE,
            source=Source.SNMP,
            native_type=str(data["type"]),
            updated_ms=int(stamp * 1000),
        )
        return True


def _read_event(event: Event) -> tuple[str, str, Mapping[str, JsonValue]]:
    """``(device, oid, data)`` of a read event.

    Raises:
        ValueError: not a read event of the documented shape.
    """
    if len(event.type) != 4:
        raise ValueError("not an ('snmp', DEVICE, 'read', OID) event")
    payload = event.payload
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ValueError("the payload has no 'data' object")
    return event.type[1], event.type[3], data
