"""Persisting JSON fields and Sparkplug B metrics as properties (``docs/payloads.md``).

Two feeders, each one ``BLOCK`` subscription (nothing dropped), keep the last value
of each field or metric in the property store, as :class:`~console.store.snmp.StoreFeeder`
does for SNMP values (a batch keeps only the last value of each):

* :class:`FieldFeeder`: ``("mqtt", DEVICE, "field", TOPIC, POINTER)`` events under
  the interface :data:`FIELDS_INTERFACE` (``org.fleettop.mqtt.Fields``), major 1, path
  ``/TOPIC`` + ``POINTER`` (``/tele/kitchen/SENSOR/ENERGY/Power``: the store's paths
  cannot hold the ``#`` of the UI's key), ``native_type`` the JSON type;
* :class:`MetricFeeder`: ``("mqtt", DEVICE, "metric", NAME)`` events under
  :data:`SPARKPLUG_INTERFACE` (``org.eclipse.tahu.Sparkplug``), major 1, path ``/NAME``,
  ``native_type`` the Sparkplug datatype.

Ownership ``device``, source ``mqtt``, ``updated_ms`` the event's source timestamp
(else the bus time). JSON and Sparkplug types to property types (:func:`field_property`,
:func:`metric_property`): integers -> ``longinteger`` (a value beyond int64 as a
decimal ``string``), numbers/``Float``/``Double`` -> ``double``, booleans ->
``boolean``, text -> ``string``, Sparkplug ``DateTime`` -> ``datetime``, ``Bytes`` ->
``binaryblob``, numeric arrays -> ``longintegerarray``/``doublearray``,
``BooleanArray`` -> ``booleanarray``, ``StringArray`` -> ``stringarray``. A ``null``
value, an empty object or array, a ``DataSet``, ``Template`` or ``PropertySet``, or a
name or pointer the store's paths cannot hold (``+``, ``#``) is not stored (counted
as skipped, logged once per event).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Final

from console.events import Event, JsonValue
from console.store.feeding import LastValueFeeder
from console.store.values import Ownership, PropertyType, PropertyValue, Source

__all__ = [
    "FIELDS_INTERFACE",
    "SPARKPLUG_INTERFACE",
    "FieldFeeder",
    "MetricFeeder",
    "field_property",
    "metric_property",
]

#: The interface JSON fields are stored under.
FIELDS_INTERFACE: Final = "org.fleettop.mqtt.Fields"
#: The interface Sparkplug B metrics are stored under.
SPARKPLUG_INTERFACE: Final = "org.eclipse.tahu.Sparkplug"
_INT64: Final = 2**63
_INTEGER_TYPES: Final = frozenset(
    {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"}
)
_INTEGER_ARRAYS: Final = frozenset({f"{name}Array" for name in _INTEGER_TYPES})


def _integer(value: int) -> tuple[PropertyType, PropertyValue]:
    if -_INT64 <= value < _INT64:
        return PropertyType.LONGINTEGER, value
    return PropertyType.STRING, str(value)


def field_property(kind: object, value: JsonValue) -> tuple[PropertyType, PropertyValue] | None:
    """The property type and value of a JSON field of JSON type ``kind``, or ``None``
    when it is not stored (``null``, an empty container)."""
    if kind == "integer" and type(value) is int:
        return _integer(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return PropertyType.DOUBLE, float(value)
    if kind == "boolean" and isinstance(value, bool):
        return PropertyType.BOOLEAN, value
    if kind == "string" and isinstance(value, str):
        return PropertyType.STRING, value
    return None


def _datetime(text: object) -> dt.datetime:
    if not isinstance(text, str):
        raise ValueError(f"a DateTime is ISO 8601 text, not {text!r}")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def metric_property(
    datatype: object, value: JsonValue
) -> tuple[PropertyType, PropertyValue] | None:
    """The property type and value of a Sparkplug metric of ``datatype`` (as the
    metric event gives it), or ``None`` when it is not stored.

    Raises:
        ValueError: a value that does not fit its datatype.
    """
    if value is None:
        return None
    if datatype in _INTEGER_TYPES and type(value) is int:
        return _integer(value)
    if datatype in ("Float", "Double") and isinstance(value, int | float | str):
        return PropertyType.DOUBLE, float(value)  # "nan"/"inf" are sent as text
    if datatype == "Boolean" and isinstance(value, bool):
        return PropertyType.BOOLEAN, value
    if datatype in ("String", "Text", "UUID") and isinstance(value, str):
        return PropertyType.STRING, value
    if datatype == "DateTime":
        return PropertyType.DATETIME, _datetime(value)
    if datatype in ("Bytes", "File") and isinstance(value, str):
        return PropertyType.BINARYBLOB, base64.b64decode(value)
    if isinstance(value, list):
        if datatype in _INTEGER_ARRAYS and all(
            type(v) is int and -_INT64 <= v < _INT64 for v in value
        ):
            return PropertyType.LONGINTEGERARRAY, [int(v) for v in value]  # type: ignore[arg-type]
        if datatype in ("FloatArray", "DoubleArray"):
            return PropertyType.DOUBLEARRAY, [float(v) for v in value]  # type: ignore[arg-type]
        if datatype == "BooleanArray":
            return PropertyType.BOOLEANARRAY, [bool(v) for v in value]
        if datatype == "StringArray":
            return PropertyType.STRINGARRAY, [str(v) for v in value]
        if datatype == "DateTimeArray":
            return PropertyType.DATETIMEARRAY, [_datetime(v) for v in value]
    return None


class _MqttValueFeeder(LastValueFeeder):
    """A last-value feeder of MQTT values: :meth:`_put` stores one (device-owned)."""

    async def _put(
        self,
        event: Event,
        interface: str,
        path: str,
        found: tuple[PropertyType, PropertyValue] | None,
        native: object,
    ) -> bool:
        if found is None:
            return False
        prop_type, value = found
        stamp = event.source_timestamp or event.timestamp
        await self._store.store_prop(
            event.type[1],
            interface,
            1,
            path,
            value,
            type=prop_type,
            ownership=Ownership.DEVICE,
            source=Source.MQTT,
            native_type=str(native),
            updated_ms=int(stamp * 1000),
        )
        return True


class FieldFeeder(_MqttValueFeeder):
    """Persists the JSON field events of the bus (see the module docstring)."""

    kept = "JSON fields"
    PATTERN = ("mqtt", "?", "field", "*")

    async def _store_event(self, event: Event) -> bool:
        payload = event.payload
        if len(event.type) != 5 or not isinstance(payload, Mapping):
            raise ValueError("not an ('mqtt', DEVICE, 'field', TOPIC, POINTER) event")
        topic, pointer = event.type[3], event.type[4]
        kind = payload.get("type")
        found = field_property(kind, payload.get("value"))
        return await self._put(event, FIELDS_INTERFACE, f"/{topic}{pointer}", found, kind)


class MetricFeeder(_MqttValueFeeder):
    """Persists the Sparkplug B metric events of the bus (see the module docstring)."""

    kept = "Sparkplug metrics"
    PATTERN = ("mqtt", "?", "metric", "*")

    async def _store_event(self, event: Event) -> bool:
        payload = event.payload
        if len(event.type) != 4 or not isinstance(payload, Mapping):
            raise ValueError("not an ('mqtt', DEVICE, 'metric', NAME) event")
        datatype = payload.get("datatype")
        found = metric_property(datatype, payload.get("value"))
        return await self._put(event, SPARKPLUG_INTERFACE, f"/{event.type[3]}", found, datatype)
