"""Typed property values: Astarte's mapping types and their exact SQLite encoding.

A property is stored *with its declared type* (:class:`PropertyType`, the
``type`` of an Astarte interface mapping), so it reads back exactly as written:

=================  ==========================  =====================================
type               Python value                stored as (SQLite storage class)
=================  ==========================  =====================================
``integer``        ``int``, -2^31..2^31-1      INTEGER
``longinteger``    ``int``, -2^63..2^63-1      INTEGER
``double``         finite ``float``            REAL (IEEE 754 binary64, -0.0 kept)
``boolean``        ``bool``                    INTEGER 0 / 1
``string``         ``str`` (valid Unicode)     TEXT (UTF-8)
``binaryblob``     ``bytes``                   BLOB
``datetime``       aware ``datetime``          INTEGER, ms since the epoch (UTC)
``<type>array``    ``list`` of the above       TEXT: a JSON array; blobs as base64
                                               strings, datetimes as ms integers
=================  ==========================  =====================================

Decisions, each checked by :func:`encode_value` with a :class:`ValueError` that names
the type and the offending value:

* NaN and ±infinity are rejected, as Astarte rejects them (they are not valid
  ``double`` values of an interface, and SQLite would turn NaN into NULL).
* ``bool`` is not an ``integer``/``longinteger``/``double`` (it is a subclass of
  ``int`` in Python, but a different Astarte type); ``int`` is accepted as a
  ``double`` only when the conversion to ``float`` is exact.
* Strings must be encodable as UTF-8 (no lone surrogates); NUL characters are kept.
* ``datetime`` values must carry a time zone (a naive datetime is ambiguous); they
  are stored in UTC with millisecond precision (Astarte's, and BSON's), truncated
  toward the past: ``12:00:00.123999`` is stored as ``12:00:00.123``. They read back
  as aware datetimes in UTC.
* Arrays may be empty; a ``tuple`` is accepted for a ``list`` and read back as a
  ``list``. ``bytearray`` and ``memoryview`` are accepted for ``bytes``.

Reference: the Astarte interface mapping types
(``integer``, ``longinteger``, ``double``, ``boolean``, ``string``, ``binaryblob``,
``datetime`` and their ``...array`` forms). The Astarte SDK for Python pickles
whatever it is given (``AstarteDatabaseSQLite.store_prop``); fleettop stores plain
SQL values instead, so the file is readable by any SQLite tool and never unpickled.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
import math
from collections.abc import Callable
from typing import Final, TypeAlias, TypeVar, cast

__all__ = [
    "ARRAY_TYPES",
    "SCALAR_TYPES",
    "Ownership",
    "PropertyType",
    "PropertyValue",
    "Source",
    "SqlValue",
    "datetime_from_ms",
    "datetime_to_ms",
    "decode_value",
    "decoder",
    "encode_value",
]

#: A value as SQLite stores it (the ``value`` column).
SqlValue: TypeAlias = int | float | str | bytes
#: A property value as fleettop's API takes and returns it (see the module table).
PropertyValue: TypeAlias = (
    int
    | float
    | bool
    | str
    | bytes
    | dt.datetime
    | list[int]
    | list[float]
    | list[bool]
    | list[str]
    | list[bytes]
    | list[dt.datetime]
)

_T = TypeVar("_T")


class PropertyType(enum.StrEnum):
    """The declared type of a property: an Astarte interface mapping type."""

    INTEGER = "integer"
    LONGINTEGER = "longinteger"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    STRING = "string"
    BINARYBLOB = "binaryblob"
    DATETIME = "datetime"
    INTEGERARRAY = "integerarray"
    LONGINTEGERARRAY = "longintegerarray"
    DOUBLEARRAY = "doublearray"
    BOOLEANARRAY = "booleanarray"
    STRINGARRAY = "stringarray"
    BINARYBLOBARRAY = "binaryblobarray"
    DATETIMEARRAY = "datetimearray"

    @property
    def is_array(self) -> bool:
        """True for the ``...array`` types."""
        return self.value.endswith("array")

    @property
    def element(self) -> PropertyType:
        """The element type of an array type; a scalar type is its own element."""
        return PropertyType(self.value.removesuffix("array")) if self.is_array else self


class Ownership(enum.StrEnum):
    """Who owns a property (Astarte's interface ownership): who may set it."""

    DEVICE = "device"
    SERVER = "server"


class Source(enum.StrEnum):
    """Where fleettop learnt a property's value."""

    SNMP = "snmp"
    MQTT = "mqtt"
    OPERATOR = "operator"


#: The scalar types, in Astarte's documentation order.
SCALAR_TYPES: Final = tuple(t for t in PropertyType if not t.is_array)
#: The array types, in the same order.
ARRAY_TYPES: Final = tuple(t for t in PropertyType if t.is_array)

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS: Final = dt.timedelta(milliseconds=1)
_ECHO_LIMIT: Final = 60


def _echo(value: object) -> str:
    """``repr(value)`` cut to :data:`_ECHO_LIMIT` characters, for messages."""
    text = repr(value)
    return text if len(text) <= _ECHO_LIMIT else text[: _ECHO_LIMIT - 3] + "..."


def _reject(type_: PropertyType, value: object, why: str) -> ValueError:
    return ValueError(f"{_echo(value)} is not a valid {type_.value}: {why}")


def datetime_to_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch (UTC) of an aware datetime, truncated toward the
    past (exact integer arithmetic, no float rounding).

    Raises:
        ValueError: ``value`` is naive (has no time zone).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{_echo(value)} is a naive datetime: give it a time zone (UTC)")
    return (value - _EPOCH) // _ONE_MS


def datetime_from_ms(ms: int) -> dt.datetime:
    """The aware UTC datetime ``ms`` milliseconds after the epoch."""
    return _EPOCH + dt.timedelta(milliseconds=ms)


# -- scalar encoders: Python value -> SQL value (validating) ---------------------------


def _int_encoder(type_: PropertyType, bits: int) -> Callable[[object], int]:
    """The encoder of a ``bits``-bit signed integer type (INTEGER 32, LONGINTEGER 64)."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def encode(value: object) -> int:
        if type(value) is not int:
            raise _reject(type_, value, "not an int")
        if not low <= value <= high:
            raise _reject(type_, value, f"outside -2^{bits - 1}..2^{bits - 1}-1")
        return value

    return encode


_enc_integer = _int_encoder(PropertyType.INTEGER, 32)
_enc_longinteger = _int_encoder(PropertyType.LONGINTEGER, 64)


def _enc_double(value: object) -> float:
    if type(value) is float:
        number = value
    elif type(value) is int:
        try:
            number = float(value)
        except OverflowError:
            raise _reject(PropertyType.DOUBLE, value, "too large for a double") from None
        if int(number) != value:
            raise _reject(PropertyType.DOUBLE, value, "not exactly representable as a double")
    else:
        raise _reject(PropertyType.DOUBLE, value, "not a float")
    if not math.isfinite(number):
        raise _reject(PropertyType.DOUBLE, value, "NaN and infinity are not allowed")
    return number


def _enc_boolean(value: object) -> int:
    if type(value) is not bool:
        raise _reject(PropertyType.BOOLEAN, value, "not a bool")
    return int(value)


def _enc_string(value: object) -> str:
    if not isinstance(value, str):
        raise _reject(PropertyType.STRING, value, "not a str")
    text = str.__str__(value)  # a plain str, also for StrEnum members and subclasses
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _reject(PropertyType.STRING, value, f"not valid Unicode ({exc.reason})") from None
    return text


def _enc_binaryblob(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise _reject(PropertyType.BINARYBLOB, value, "not bytes")


def _enc_datetime(value: object) -> int:
    if not isinstance(value, dt.datetime):
        raise _reject(PropertyType.DATETIME, value, "not a datetime")
    return datetime_to_ms(value)


_SCALAR_ENCODERS: Final[dict[PropertyType, Callable[[object], SqlValue]]] = {
    PropertyType.INTEGER: _enc_integer,
    PropertyType.LONGINTEGER: _enc_longinteger,
    PropertyType.DOUBLE: _enc_double,
    PropertyType.BOOLEAN: _enc_boolean,
    PropertyType.STRING: _enc_string,
    PropertyType.BINARYBLOB: _enc_binaryblob,
    PropertyType.DATETIME: _enc_datetime,
}


def _json_element(type_: PropertyType, encoded: SqlValue) -> int | float | str | bool:
    """An encoded scalar as it goes into the JSON array."""
    if type_ is PropertyType.BOOLEAN:
        return bool(encoded)
    if type_ is PropertyType.BINARYBLOB:
        assert isinstance(encoded, bytes)
        return base64.b64encode(encoded).decode("ascii")
    assert not isinstance(encoded, bytes)
    return encoded


def _make_array_encoder(array_type: PropertyType) -> Callable[[object], SqlValue]:
    element = array_type.element
    encode_element = _SCALAR_ENCODERS[element]

    def encode(value: object) -> str:
        if not isinstance(value, list | tuple):
            raise _reject(array_type, value, "not a list")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_json_element(element, encode_element(item)))
            except ValueError as exc:
                raise ValueError(f"{array_type.value} element {index}: {exc}") from None
        return json.dumps(items, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    return encode


_ENCODERS: Final[dict[PropertyType, Callable[[object], SqlValue]]] = {
    **_SCALAR_ENCODERS,
    **{t: _make_array_encoder(t) for t in ARRAY_TYPES},
}


# Keyed by the type's name: an enum member hashes through a Python-level __hash__,
# a plain str does not (this lookup is on every write and every read).
_ENCODERS_BY_NAME: Final[dict[str, Callable[[object], SqlValue]]] = {
    t.value: encoder for t, encoder in _ENCODERS.items()
}


def encode_value(type_: PropertyType, value: object) -> SqlValue:
    """Validate ``value`` against the declared ``type_`` and return what SQLite stores.

    Args:
        type_: the declared type.
        value: the Python value (see the module table).

    Returns:
        An ``int``, ``float``, ``str`` or ``bytes`` for the ``value`` column.

    Raises:
        ValueError: ``value`` is not a valid ``type_`` (wrong Python type, out of
            range, NaN or infinity, invalid Unicode, naive datetime); the message
            names the type and the value.
    """
    return _ENCODERS_BY_NAME[type_._value_](value)


# -- decoders: SQL value -> Python value ------------------------------------------------


def _exact(kind: type[_T], storage: str) -> Callable[[SqlValue], _T]:
    """A decoder that accepts only a stored value of exactly ``kind`` (``storage``
    names the SQL storage class in the refusal)."""

    def decode(stored: SqlValue) -> _T:
        if type(stored) is not kind:
            raise ValueError(f"expected {storage}, found {type(stored).__name__}")
        return cast(_T, stored)

    return decode


_dec_int = _exact(int, "an SQL INTEGER")
_dec_double = _exact(float, "an SQL REAL")
_dec_string = _exact(str, "SQL TEXT")
_dec_binaryblob = _exact(bytes, "an SQL BLOB")


def _dec_boolean(stored: SqlValue) -> bool:
    if stored not in (0, 1) or type(stored) is not int:
        raise ValueError(f"expected 0 or 1, found {_echo(stored)}")
    return stored == 1


def _dec_datetime(stored: SqlValue) -> dt.datetime:
    return datetime_from_ms(_dec_int(stored))


def _dec_json_element(type_: PropertyType, item: object) -> object:
    if type_ is PropertyType.BINARYBLOB:
        if not isinstance(item, str):
            raise ValueError(f"expected a base64 string, found {_echo(item)}")
        return base64.b64decode(item, validate=True)
    if type_ is PropertyType.DATETIME:
        if type(item) is not int:
            raise ValueError(f"expected ms since the epoch, found {_echo(item)}")
        return datetime_from_ms(item)
    if type_ is PropertyType.DOUBLE:
        if type(item) not in (float, int):
            raise ValueError(f"expected a number, found {_echo(item)}")
        return float(item)  # type: ignore[arg-type]
    if type_ is PropertyType.BOOLEAN:
        if type(item) is not bool:
            raise ValueError(f"expected true or false, found {_echo(item)}")
        return item
    if type_ is PropertyType.STRING:
        if type(item) is not str:
            raise ValueError(f"expected a string, found {_echo(item)}")
        return item
    if type(item) is not int:
        raise ValueError(f"expected an integer, found {_echo(item)}")
    return item


def _make_array_decoder(array_type: PropertyType) -> Callable[[SqlValue], PropertyValue]:
    element = array_type.element

    def decode(stored: SqlValue) -> PropertyValue:
        if type(stored) is not str:
            raise ValueError(f"expected a JSON array (SQL TEXT), found {type(stored).__name__}")
        try:
            items = json.loads(stored)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON array: {exc}") from None
        if not isinstance(items, list):
            raise ValueError("not a JSON array")
        try:
            return [_dec_json_element(element, item) for item in items]  # type: ignore[return-value]
        except binascii.Error as exc:
            raise ValueError(f"bad base64 element: {exc}") from None

    return decode


_DECODERS: Final[dict[PropertyType, Callable[[SqlValue], PropertyValue]]] = {
    PropertyType.INTEGER: _dec_int,
    PropertyType.LONGINTEGER: _dec_int,
    PropertyType.DOUBLE: _dec_double,
    PropertyType.BOOLEAN: _dec_boolean,
    PropertyType.STRING: _dec_string,
    PropertyType.BINARYBLOB: _dec_binaryblob,
    PropertyType.DATETIME: _dec_datetime,
    **{t: _make_array_decoder(t) for t in ARRAY_TYPES},
}


_DECODERS_BY_NAME: Final[dict[str, Callable[[SqlValue], PropertyValue]]] = {
    t.value: decoder for t, decoder in _DECODERS.items()
}


def decoder(type_name: str) -> Callable[[SqlValue], PropertyValue]:
    """The decoder of the type named ``type_name`` (see :func:`decode_value`).

    Raises:
        KeyError: not a type name.
    """
    return _DECODERS_BY_NAME[type_name]


def decode_value(type_: PropertyType, stored: SqlValue) -> PropertyValue:
    """Turn a stored SQL value back into the Python value of its declared type.

    Raises:
        ValueError: the stored value does not fit ``type_`` (a file edited by hand
            or damaged); the store turns this into a
            :class:`~console.store.errors.StoreCorruptError` naming the property.
    """
    return _DECODERS_BY_NAME[type_._value_](stored)
