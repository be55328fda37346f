"""The Astarte interface model: :class:`Interface`, :class:`InterfaceMapping`, path
and payload validation, and the reliability -> QoS table.

An Astarte interface (https://docs.astarte-platform.org, "Interfaces") describes
what a device and the server exchange: a name and version, a ``type``
(``properties``: a state that persists; ``datastream``: a time series), an
``ownership`` (``device``: the device publishes; ``server``: the server -- here the
operator -- does), an ``aggregation`` (``individual`` values or ``object``: several
fields sent together) and ``mappings``: endpoints such as ``/%{sensor_id}/value``
with a type and options.

Semantics follow the Astarte Device SDK for Python (``astarte/device/interface.py``,
``mapping.py``), written afresh; where they differ this module says so:

* ``validate_path`` / ``validate_payload`` raise :class:`ValidationError` whose
  message names the interface, the path, the expected type and what was wrong, e.g.
  ``org.example.Sensors /s1/value is integer (signed 32-bit, -2147483648..2147483647):
  3000000000 is out of range``;
* a parameter (``%{name}``) matches one level of identifier characters,
  ``[a-zA-Z_][a-zA-Z0-9_]*``, exactly as the SDK 0.14 (``Mapping.validate_path``):
  ``/1abc/double`` or ``/lights/1/on`` are refused, with a message saying why
  (the SDK up to 0.12 took any level; the SDK refuses such a path before it sends
  it). One deliberate difference: the SDK's ``re.match(... + "$")`` lets a path end
  with a newline (``/abc/double\n``); fleettop refuses it;
* ``longinteger`` is checked to the signed 64-bit range, ``string`` to 65536 UTF-8
  bytes, ``binaryblob`` to 65536 bytes (64 KiB), arrays to 1024 items, each item to
  its scalar type's limits (the SDK's documented limits);
* ``double`` accepts Python ``float`` only and rejects NaN and infinities; ``integer``
  and ``longinteger`` accept ``int`` but not ``bool`` (as the SDK: exact types);
* ``datetime`` accepts :class:`datetime.datetime` (naive ones are taken as UTC).

QoS (the SDK's table, ``mapping.py`` docstring): a ``properties`` interface is always
published with QoS 2; a ``datastream`` mapping with its ``reliability``:
``unreliable`` 0, ``guaranteed`` 1, ``unique`` 2 (an ``object`` interface's mappings
share one reliability, which the loader checks).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from console.astarte.errors import ValidationError
from console.wording import JSON_WORDS, kind, shown

__all__ = [
    "ASTARTE_TYPES",
    "INT32",
    "INT64",
    "MAX_ARRAY_ITEMS",
    "MAX_BLOB_BYTES",
    "MAX_STRING_BYTES",
    "PARAMETER_LEVEL",
    "RELIABILITIES",
    "AstarteType",
    "Interface",
    "InterfaceMapping",
    "Reliability",
    "endpoint_pattern",
    "endpoint_shape",
]

AstarteType = Literal[
    "integer",
    "longinteger",
    "double",
    "string",
    "binaryblob",
    "boolean",
    "datetime",
    "integerarray",
    "longintegerarray",
    "doublearray",
    "stringarray",
    "binaryblobarray",
    "booleanarray",
    "datetimearray",
]
ASTARTE_TYPES: Final[tuple[str, ...]] = get_args(AstarteType)
Reliability = Literal["unreliable", "guaranteed", "unique"]
RELIABILITIES: Final = get_args(Reliability)
_QOS: Final = {"unreliable": 0, "guaranteed": 1, "unique": 2}

INT32: Final = (-(2**31), 2**31 - 1)
INT64: Final = (-(2**63), 2**63 - 1)
#: Largest ``string`` in UTF-8 bytes (Astarte: "at most 65536 bytes long").
MAX_STRING_BYTES: Final = 65536
#: Largest ``binaryblob`` (Astarte: "shorter than 64 KiB"; fleettop allows 64 KiB).
MAX_BLOB_BYTES: Final = 65536
#: Most items of an array type.
MAX_ARRAY_ITEMS: Final = 1024

_PARAMETER = re.compile(r"%\{[a-zA-Z_][a-zA-Z0-9_]*\}")

_TYPE_MEANING: Final = {
    "integer": "a signed 32-bit integer, -2147483648..2147483647",
    "longinteger": "a signed 64-bit integer",
    "double": "a finite floating-point number",
    "string": "UTF-8 text of at most 65536 bytes",
    "binaryblob": "bytes, at most 64 KiB",
    "boolean": "true or false",
    "datetime": "a UTC date and time",
}


@dataclass(frozen=True, slots=True)
class InterfaceMapping:
    """One mapping of an interface.

    Attributes:
        endpoint: the endpoint, ``%{name}`` segments are parameters.
        type: one of :data:`ASTARTE_TYPES`.
        reliability: datastreams only (properties are always ``unique``).
        explicit_timestamp: datastreams: values carry their own timestamp.
        allow_unset: properties: the value may be unset (an empty payload).
        description: the mapping's ``description``, if any.
    """

    endpoint: str
    type: AstarteType
    reliability: Reliability = "unreliable"
    explicit_timestamp: bool = False
    allow_unset: bool = False
    description: str | None = None
    _pattern: re.Pattern[str] = field(default=re.compile(""), repr=False, compare=False, hash=False)

    @property
    def levels(self) -> int:
        """Number of levels of the endpoint."""
        return self.endpoint.count("/")

    def matches(self, path: str) -> bool:
        """Tell whether ``path`` (``/a/b``) is an instance of this endpoint."""
        return self._pattern.fullmatch(path) is not None

    @property
    def is_array(self) -> bool:
        """True for the array types."""
        return self.type.endswith("array")

    @property
    def scalar_type(self) -> str:
        """The item type of an array type, else the type itself."""
        return self.type.removesuffix("array")


#: What a ``%{name}`` parameter level matches (the SDK's ``Mapping.validate_path``).
PARAMETER_LEVEL: Final = "[a-zA-Z_][a-zA-Z0-9_]*"
#: What the SDK up to 0.12 matched: any level without MQTT wildcards (for messages).
_ANY_LEVEL: Final = "[^/+#]+"


def endpoint_pattern(endpoint: str, level: str = PARAMETER_LEVEL) -> re.Pattern[str]:
    """The regular expression of the paths ``endpoint`` matches: each ``%{name}``
    parameter is one level of identifier characters (:data:`PARAMETER_LEVEL`, as
    the Astarte SDK checks), or of ``level``."""
    parts = _PARAMETER.split(endpoint)
    return re.compile(level.join(re.escape(part) for part in parts))


def _parameter_hint(path: str, endpoints: Sequence[str]) -> str:
    """Why ``path`` matches no endpoint when only its parameter levels are wrong (a
    level that is not an identifier), else ``""``."""
    for endpoint in endpoints:
        if not endpoint_pattern(endpoint, _ANY_LEVEL).fullmatch(path):
            continue
        for level, pattern in zip(path.split("/"), endpoint.split("/"), strict=False):
            if _PARAMETER.fullmatch(pattern) and not re.fullmatch(PARAMETER_LEVEL, level):
                return (
                    f": {level!r} cannot be the parameter {pattern} of {endpoint} (a "
                    "parameter is letters, digits and _, not starting with a digit, as "
                    "the Astarte SDK checks)"
                )
    return ""


def endpoint_shape(endpoint: str) -> str:
    """An endpoint with every parameter written ``%{}``: two endpoints of the same
    shape match the same paths."""
    return _PARAMETER.sub("%{}", endpoint)


@dataclass(frozen=True, slots=True)
class Interface:
    """An Astarte interface (see the module docstring).

    Attributes:
        name: ``interface_name``, e.g. ``org.astarte-platform.genericsensors.Values``.
        version_major, version_minor: the version (not both 0).
        type: ``properties`` or ``datastream``.
        ownership: ``device`` or ``server``.
        aggregation: ``individual`` or ``object`` (datastreams only).
        mappings: the mappings, in file order.
        description: the interface's ``description``, if any.
    """

    name: str
    version_major: int
    version_minor: int
    type: Literal["properties", "datastream"]
    ownership: Literal["device", "server"]
    aggregation: Literal["individual", "object"]
    mappings: tuple[InterfaceMapping, ...]
    description: str | None = None

    @property
    def is_properties(self) -> bool:
        """True for a ``properties`` interface."""
        return self.type == "properties"

    @property
    def is_object(self) -> bool:
        """True for an ``object`` aggregated datastream."""
        return self.aggregation == "object"

    @property
    def server_owned(self) -> bool:
        """True when the server (the operator) publishes it."""
        return self.ownership == "server"

    @property
    def version(self) -> str:
        """``MAJOR.MINOR``."""
        return f"{self.version_major}.{self.version_minor}"

    def mapping(self, path: str) -> InterfaceMapping | None:
        """The mapping whose endpoint ``path`` is an instance of, or ``None``."""
        for mapping in self.mappings:
            if mapping.matches(path):
                return mapping
        return None

    def qos(self, path: str | None = None) -> int:
        """The QoS to publish ``path`` with (the SDK's table): 2 for properties, the
        mapping's reliability for a datastream (``unreliable`` 0, ``guaranteed`` 1,
        ``unique`` 2); an object interface's shared reliability.

        Raises:
            ValidationError: ``path`` matches no mapping of an individual datastream.
        """
        if self.is_properties:
            return 2
        if self.is_object or path is None:
            return _QOS[self.mappings[0].reliability]
        return _QOS[self.validate_path(path).reliability]

    def validate_path(self, path: str, value: object = None) -> InterfaceMapping:
        """Check that ``path`` belongs to this interface; return its mapping.

        For an ``object`` interface, ``path`` is the common prefix and ``value`` the
        object: every ``path/FIELD`` must be a mapping (the first one is returned).

        Raises:
            ValidationError: no mapping matches (the message lists the endpoints).
        """
        if not path.startswith("/"):
            raise ValidationError(
                f"{self.name}: path {path!r} must start with '/', "
                f"like {self.mappings[0].endpoint!r}"
            )
        if not self.is_object:
            mapping = self.mapping(path)
            if mapping is None:
                endpoints = [m.endpoint for m in self.mappings]
                raise ValidationError(
                    f"{self.name}: path {path!r} matches none of its endpoints "
                    f"({', '.join(endpoints)}){_parameter_hint(path, endpoints)}"
                )
            return mapping
        if not isinstance(value, Mapping) or not value:
            raise ValidationError(
                f"{self.name} is an object interface: send a non-empty object of fields "
                f"({', '.join(m.endpoint.rsplit('/', 1)[1] for m in self.mappings)}) "
                f"to the common path, got {kind(value, JSON_WORDS)}"
            )
        first: InterfaceMapping | None = None
        for key in value:
            mapping = self.mapping(f"{path}/{key}")
            if mapping is None:
                endpoints = [m.endpoint for m in self.mappings]
                raise ValidationError(
                    f"{self.name}: {path}/{key} matches none of its endpoints "
                    f"({', '.join(endpoints)}){_parameter_hint(f'{path}/{key}', endpoints)}"
                )
            first = first or mapping
        assert first is not None
        return first

    def validate_payload(
        self, path: str, value: object, timestamp: dt.datetime | None = None
    ) -> None:
        """Check ``value`` (and ``timestamp``) against the mapping(s) of ``path``.

        Individual interfaces: ``value`` must be of the mapping's type and within
        its limits. Object interfaces: ``value`` is a mapping of field -> value,
        each checked; a device-owned object must carry every field (the SDK's
        completeness rule; a server-owned one may be partial). A mapping with
        ``explicit_timestamp`` needs ``timestamp``; one without refuses it.

        Raises:
            ValidationError: with the interface, the path, the expected type and
                what was wrong.
        """
        mapping = self.validate_path(path, value)
        if not self.is_object:
            _check_value(self.name, path, mapping, value)
            _check_timestamp(self.name, path, mapping, timestamp)
            return
        assert isinstance(value, Mapping)
        for key, item in value.items():
            item_mapping = self.mapping(f"{path}/{key}")
            assert item_mapping is not None
            _check_value(self.name, f"{path}/{key}", item_mapping, item)
        _check_timestamp(self.name, path, mapping, timestamp)
        if not self.server_owned:
            prefix_levels = path.count("/")
            missing = [
                m.endpoint
                for m in self.mappings
                if m.endpoint.split("/")[prefix_levels + 1 :]
                and "/".join(m.endpoint.split("/")[prefix_levels + 1 :]) not in value
            ]
            if missing:
                raise ValidationError(
                    f"{self.name}: the object at {path} lacks {', '.join(missing)} (a "
                    "device-owned object carries every field)"
                )

    def validate_unset(self, path: str) -> InterfaceMapping:
        """Check that ``path`` may be unset (an empty payload): a property whose
        mapping has ``allow_unset``.

        Raises:
            ValidationError: not a properties interface, no such path, or the
                mapping does not allow unset.
        """
        if not self.is_properties:
            raise ValidationError(f"{self.name} is a datastream: only properties can be unset")
        mapping = self.validate_path(path)
        if not mapping.allow_unset:
            raise ValidationError(
                f"{self.name} {path}: its mapping {mapping.endpoint} does not allow unset "
                "(allow_unset is false)"
            )
        return mapping


def _check_scalar(where: str, type_name: str, value: object, item: str = "") -> None:
    """Raise :class:`ValidationError` unless ``value`` is a valid ``type_name``."""
    meaning = _TYPE_MEANING[type_name]
    prefix = f"{where} is {type_name}{'array' if item else ''} ({meaning}{' each' if item else ''})"
    bad = f"{prefix}: {item}"
    if type_name in ("integer", "longinteger"):
        if type(value) is not int:
            raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")
        low, high = INT32 if type_name == "integer" else INT64
        if not low <= value <= high:
            raise ValidationError(f"{bad}{value} is out of range")
    elif type_name == "double":
        if type(value) is not float:
            raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")
        if not math.isfinite(value):
            raise ValidationError(f"{bad}{value} is not a finite number")
    elif type_name == "string":
        if type(value) is not str:
            raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_STRING_BYTES:
            raise ValidationError(f"{bad}{size} bytes is too long")
    elif type_name == "binaryblob":
        if not isinstance(value, bytes | bytearray):
            raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")
        if len(value) > MAX_BLOB_BYTES:
            raise ValidationError(f"{bad}{len(value)} bytes is more than 64 KiB")
    elif type_name == "boolean":
        if type(value) is not bool:
            raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")
    elif type_name == "datetime" and not isinstance(value, dt.datetime):
        raise ValidationError(f"{bad}got {kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}")


def _check_value(interface: str, path: str, mapping: InterfaceMapping, value: object) -> None:
    where = f"{interface} {path}"
    if value is None:
        raise ValidationError(
            f"{where} is {mapping.type}: a value is required (unset a property instead)"
        )
    if not mapping.is_array:
        _check_scalar(where, mapping.type, value)
        return
    if not isinstance(value, list | tuple):
        raise ValidationError(
            f"{where} is {mapping.type} (a list of at most {MAX_ARRAY_ITEMS} items): got "
            f"{kind(value, JSON_WORDS)} {shown(value, JSON_WORDS)}"
        )
    if len(value) > MAX_ARRAY_ITEMS:
        raise ValidationError(
            f"{where} is {mapping.type}: {len(value)} items is more than {MAX_ARRAY_ITEMS}"
        )
    for index, item in enumerate(value):
        _check_scalar(where, mapping.scalar_type, item, f"item {index}: ")


def _check_timestamp(
    interface: str, path: str, mapping: InterfaceMapping, timestamp: dt.datetime | None
) -> None:
    if mapping.explicit_timestamp and timestamp is None:
        raise ValidationError(
            f"{interface} {path}: its mapping has explicit_timestamp: send a timestamp too"
        )
    if not mapping.explicit_timestamp and timestamp is not None:
        raise ValidationError(
            f"{interface} {path}: its mapping has no explicit_timestamp: send no timestamp"
        )
