"""What the property browser needs from the store, without Textual: JSON forms of
property values, export rows, the properties export and reading it back.

JSON form of a value (:func:`json_value`, :func:`value_from_json`)
    Astarte's JSON form, as in ``("mqtt", DEVICE, "property", ...)`` events
    (``docs/events.md``): numbers, booleans and strings as they are; ``binaryblob``
    as base64; ``datetime`` as ISO 8601 UTC with milliseconds
    (``2024-05-01T12:00:00.000Z``); arrays as lists of those. Every value comes back
    exactly (:func:`value_from_json` is the inverse).

Export rows (:data:`PROPERTY_COLUMNS`, :func:`property_row`)
    One row per property: ``device, interface, major, minor, path, type, value``
    (the JSON form), ``ownership, source, updated_ms, updated`` (ISO 8601 UTC, for
    people; readers ignore it) and ``native_type`` (``TIME_TICKS`` for an SNMP
    value, else empty). In CSV the ``value`` cell holds JSON text (``"abc"`` keeps
    its quotes), so a string, a number and a list stay distinct
    (:mod:`console.rowfiles`).

:func:`export_properties` writes the properties matching a filter to a JSON Lines or
CSV file, newest state first read page by page from the store (memory stays bounded
with 100k properties); :func:`read_properties_jsonl` / :func:`read_properties_csv`
give the same :class:`~console.store.database.Property` records back.

:func:`display_value` is how a property's value is shown: an SNMP value as the OIDs
screen shows it (TimeTicks as ``Nd hh:mm:ss.cc``, hex byte pairs, opaque floats), a
``binaryblob`` as hex byte pairs, a ``datetime`` in ISO 8601 UTC, an array as JSON,
text on one line with control characters escaped.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final, Literal

from console.events import JsonValue
from console.format import MISSING, format_hex, format_value, printable, truncate
from console.rowfiles import (
    RowCells,
    read_csv,
    read_jsonl,
    to_json_text,
    write_csv,
    write_jsonl,
)
from console.store.audit import iso_time
from console.store.properties import Property, PropertyStore
from console.store.snmp import SNMP_INTERFACE, data_from_property
from console.store.values import (
    Ownership,
    PropertyType,
    PropertyValue,
    Source,
    datetime_to_ms,
    encode_value,
)

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_PAGE",
    "PROPERTY_COLUMNS",
    "ExportFormat",
    "display_value",
    "export_properties",
    "json_value",
    "property_from_row",
    "property_row",
    "read_properties_csv",
    "read_properties_jsonl",
    "value_from_json",
]

ExportFormat = Literal["jsonl", "csv"]
#: The export formats, by the file extension they use.
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("jsonl", "csv")
#: Properties read from the store at a time while exporting.
EXPORT_PAGE: Final = 5000

#: Columns of the properties export, in order.
PROPERTY_COLUMNS: Final = (
    "device",
    "interface",
    "major",
    "minor",
    "path",
    "type",
    "value",
    "ownership",
    "source",
    "updated_ms",
    "updated",
    "native_type",
    "display",
)
#: Written for people, not read back: ``updated`` (``updated_ms`` as ISO 8601) and
#: ``display`` (the value as the browser shows it, an SNMP value as its MIB defines
#: it: ``up(1)``; ``value`` stays the raw value).
_DERIVED_COLUMNS: Final = frozenset({"updated", "display"})
_JSON_COLUMNS: Final = frozenset({"value"})
_HEX_NATIVE: Final = frozenset({"STRING_HEX", "ARBITRARY"})
_TYPES: Final = {t.value: t for t in PropertyType}


def _iso(moment: dt.datetime) -> str:
    return iso_time(datetime_to_ms(moment))


def _scalar_json(type_: PropertyType, value: object) -> JsonValue:
    if type_ is PropertyType.BINARYBLOB and isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if type_ is PropertyType.DATETIME and isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"{value!r} is not a {type_.value}")


def json_value(type_: PropertyType | str, value: PropertyValue) -> JsonValue:
    """``value`` of the declared type in Astarte's JSON form (see the module doc).

    Raises:
        ValueError: ``value`` is not of the type (or the type is unknown).
    """
    kind = type_ if isinstance(type_, PropertyType) else _type(type_)
    if kind.is_array:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{value!r} is not a {kind.value}")
        return [_scalar_json(kind.element, item) for item in value]
    return _scalar_json(kind, value)


def _scalar_value(type_: PropertyType, item: JsonValue) -> object:
    if type_ is PropertyType.BINARYBLOB:
        if not isinstance(item, str):
            raise ValueError(f"a binaryblob is base64 text, not {item!r}")
        try:
            return base64.b64decode(item, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"bad base64 {item[:40]!r}: {exc}") from None
    if type_ is PropertyType.DATETIME:
        if not isinstance(item, str):
            raise ValueError(f"a datetime is ISO 8601 text, not {item!r}")
        moment = dt.datetime.fromisoformat(item.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(f"datetime {item!r} has no time zone")
        return moment.astimezone(dt.UTC)
    if type_ is PropertyType.DOUBLE and type(item) is int:
        return float(item)
    return item


def value_from_json(type_: PropertyType | str, item: JsonValue) -> PropertyValue:
    """The Python value of the declared type from its JSON form (the inverse of
    :func:`json_value`), checked as the store checks it.

    Raises:
        ValueError: ``item`` is not a valid value of the type.
    """
    kind = type_ if isinstance(type_, PropertyType) else _type(type_)
    if kind.is_array:
        if not isinstance(item, list):
            raise ValueError(f"a {kind.value} is a JSON array, not {item!r}")
        value: object = [_scalar_value(kind.element, element) for element in item]
    else:
        value = _scalar_value(kind, item)
    encode_value(kind, value)  # the store's own checks (range, finite, Unicode)
    return value  # type: ignore[return-value]


def _type(name: str) -> PropertyType:
    found = _TYPES.get(name)
    if found is None:
        raise ValueError(f"unknown property type {name!r}")
    return found


def property_row(
    prop: Property, *, mib: Callable[[str, Mapping[str, JsonValue]], str] | None = None
) -> dict[str, JsonValue]:
    """One export row of ``prop`` (:data:`PROPERTY_COLUMNS`): the raw ``value`` and
    its ``display`` (:func:`display_value`, ``mib`` as there)."""
    return {
        "device": prop.device,
        "interface": prop.interface,
        "major": prop.major,
        "minor": prop.minor,
        "path": prop.path,
        "type": prop.type.value,
        "value": json_value(prop.type, prop.value),
        "ownership": prop.ownership.value,
        "source": prop.source.value,
        "updated_ms": prop.updated_ms,
        "updated": iso_time(prop.updated_ms),
        "native_type": prop.native_type,
        "display": display_value(prop, mib=mib),
    }


def property_from_row(row: Mapping[str, JsonValue], *, from_csv: bool = False) -> Property:
    """The property of an export row (the inverse of :func:`property_row`).

    Args:
        row: the row, by column.
        from_csv: the row comes from CSV: integers are text and an empty
            ``native_type`` is None.

    Raises:
        ValueError: a column is missing or of the wrong kind.
    """
    cells = RowCells(
        row, (c for c in PROPERTY_COLUMNS if c not in _DERIVED_COLUMNS), kind="a property row",
        from_csv=from_csv,
    )  # fmt: skip
    kind = _type(cells.text("type"))
    return Property(
        device=cells.text("device"),
        interface=cells.text("interface"),
        major=cells.integer("major"),
        minor=cells.integer("minor"),
        path=cells.text("path"),
        type=kind,
        value=value_from_json(kind, cells["value"]),
        ownership=Ownership(cells.text("ownership")),
        source=Source(cells.text("source")),
        updated_ms=cells.integer("updated_ms"),
        native_type=cells.optional_text("native_type"),
    )


async def export_properties(
    store: PropertyStore,
    path: str | Path,
    *,
    format: ExportFormat,  # the user's word; shadows format()
    device: str | None = None,
    interface: str | None = None,
    path_filter: str | None = None,
    page: int = EXPORT_PAGE,
    mib: Callable[[str, Mapping[str, JsonValue]], str] | None = None,
) -> int:
    """Write the properties matching the filters (as :meth:`PropertyStore.query`) to
    ``path`` as JSON Lines or CSV, replacing it once complete.

    The file is written in a thread that asks the event loop for one page of
    ``page`` properties at a time, so memory stays bounded whatever the store holds.
    ``mib`` (``(oid, data) -> text``, thread-safe) gives the ``display`` column of SNMP
    values as their MIB defines them.
    A store that changes meanwhile (polling) gives each row's value as committed
    when its page was read.

    Returns:
        The number of properties written.

    Raises:
        ValueError: an unknown format or a malformed filter (before the file is
            touched).
        OSError: the file cannot be written (an existing file is left as it was).
        StoreClosedError, StoreCorruptError: as :meth:`PropertyStore.query`.
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r}: expected jsonl or csv")
    await store.count(device, interface, path_filter)  # a malformed filter raises here
    loop = asyncio.get_running_loop()

    def rows() -> Iterator[dict[str, JsonValue]]:
        offset = 0
        while True:
            batch = asyncio.run_coroutine_threadsafe(
                store.query(device, interface, path_filter, limit=page, offset=offset), loop
            ).result()
            for prop in batch:
                yield property_row(prop, mib=mib)
            if len(batch) < page:
                return
            offset += page

    if format == "jsonl":
        return await asyncio.to_thread(write_jsonl, path, rows())
    return await asyncio.to_thread(
        write_csv, path, PROPERTY_COLUMNS, rows(), json_columns=_JSON_COLUMNS
    )


def read_properties_jsonl(path: str | Path) -> list[Property]:
    """The properties of a JSON Lines export, in file order.

    Raises:
        ValueError: a line is not a property row. OSError: the file cannot be read.
    """
    return [property_from_row(row) for row in read_jsonl(path)]


def read_properties_csv(path: str | Path) -> list[Property]:
    """The properties of a CSV export, in file order.

    Raises:
        ValueError: a row is not a property row. OSError: the file cannot be read.
    """
    _, rows = read_csv(path, json_columns=_JSON_COLUMNS)
    return [property_from_row(row, from_csv=True) for row in rows]


def display_value(
    prop: Property,
    *,
    width: int | None = None,
    pretty: bool = False,
    mib: Callable[[str, Mapping[str, JsonValue]], str] | None = None,
) -> str:
    """``prop``'s value as the browser shows it (see the module doc).

    Args:
        prop: the property.
        width: cut the text to this many characters (``…`` marks the cut).
        pretty: for a detail view: arrays as indented JSON over several lines, hex
            16 bytes a line.
        mib: ``(oid, data) -> text``, an SNMP value as its MIB defines it
            (``widgets.mib_names.MibNames.display``: ``up(1)``); ``None``: plainly.
    """
    value = prop.value
    if prop.native_type is not None:
        try:
            data = data_from_property(prop)
        except ValueError:
            pass
        else:
            text = format_value(str(data["type"]), data["value"])
            if mib is not None and prop.interface == SNMP_INTERFACE:
                shown = mib(prop.path.lstrip("/"), data)
                if shown != text:  # the MIB's form: no hex lines
                    return truncate(shown, width)
            hexed = prop.native_type in _HEX_NATIVE and "(opaque" not in text
            if pretty and hexed:
                text = _hex_lines(str(data["value"]))
            return truncate(text, width)
    kind = prop.type
    if kind.is_array:
        items = json_value(kind, value)
        if pretty and len(to_json_text(items)) > 60:
            text = json.dumps(items, ensure_ascii=False, indent=2)
        else:
            text = to_json_text(items)
    elif kind is PropertyType.BINARYBLOB and isinstance(value, bytes):
        text = _hex_lines(value.hex()) if pretty else format_hex(value.hex())
        if not value:
            text = "(empty)"
    elif kind is PropertyType.DATETIME and isinstance(value, dt.datetime):
        text = _iso(value)
    elif kind is PropertyType.BOOLEAN:
        text = "true" if value else "false"
    elif kind is PropertyType.DOUBLE and isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = printable(value)
    elif value is None:
        text = MISSING
    else:
        text = str(value)
    return truncate(text, width)


def _hex_lines(hex_string: str) -> str:
    """Hex byte pairs, 16 bytes a line."""
    return "\n".join(format_hex(hex_string[i : i + 32]) for i in range(0, len(hex_string), 32))
