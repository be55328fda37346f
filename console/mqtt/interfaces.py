"""Astarte interfaces: the model, the JSON loader, path and payload validation, and
the reliability -> QoS table.

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
* a parameter (``%{name}``) matches any one non-empty topic level without MQTT
  wildcards (``[^/+#]+``, as the SDK up to 0.12; newer SDKs only accept identifier
  characters, which rejects the common ``/lights/1/on``);
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

Interface files are JSON, one interface per file; :func:`check_interfaces` reports
every problem of every ``*.json`` file of a directory as an :class:`InterfaceError`
naming the file, the field (``mappings[2].type``) and what is wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

__all__ = [
    "ASTARTE_TYPES",
    "MAX_ARRAY_ITEMS",
    "MAX_BLOB_BYTES",
    "MAX_STRING_BYTES",
    "AstarteType",
    "Interface",
    "InterfaceError",
    "InterfaceMapping",
    "ValidationError",
    "check_interfaces",
    "from_json_value",
    "load_interface",
    "load_interfaces",
    "parse_interface",
    "parse_value",
    "to_json_value",
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
_RELIABILITIES: Final = get_args(Reliability)
_QOS: Final = {"unreliable": 0, "guaranteed": 1, "unique": 2}

INT32: Final = (-(2**31), 2**31 - 1)
INT64: Final = (-(2**63), 2**63 - 1)
#: Largest ``string`` in UTF-8 bytes (Astarte: "at most 65536 bytes long").
MAX_STRING_BYTES: Final = 65536
#: Largest ``binaryblob`` (Astarte: "shorter than 64 KiB"; fleettop allows 64 KiB).
MAX_BLOB_BYTES: Final = 65536
#: Most items of an array type.
MAX_ARRAY_ITEMS: Final = 1024

_NAME = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*\.([a-zA-Z0-9][a-zA-Z0-9-]*\.)*)?[a-zA-Z][a-zA-Z0-9]*$")
_ENDPOINT = re.compile(r"^(/(%\{[a-zA-Z_][a-zA-Z0-9_]*\}|[a-zA-Z_][a-zA-Z0-9_]*)){1,64}$")
_PARAMETER = re.compile(r"%\{[a-zA-Z_][a-zA-Z0-9_]*\}")
_INTERFACE_KEYS: Final = (
    "interface_name",
    "version_major",
    "version_minor",
    "type",
    "ownership",
    "aggregation",
    "description",
    "doc",
    "mappings",
)
_MAPPING_KEYS: Final = (
    "endpoint",
    "type",
    "reliability",
    "explicit_timestamp",
    "allow_unset",
    "retention",
    "expiry",
    "database_retention_policy",
    "database_retention_ttl",
    "description",
    "doc",
)
_TYPE_MEANING: Final = {
    "integer": "a signed 32-bit integer, -2147483648..2147483647",
    "longinteger": "a signed 64-bit integer",
    "double": "a finite floating-point number",
    "string": "UTF-8 text of at most 65536 bytes",
    "binaryblob": "bytes, at most 64 KiB",
    "boolean": "true or false",
    "datetime": "a UTC date and time",
}


class InterfaceError(ValueError):
    """An interface file is not a valid Astarte interface.

    Attributes:
        file: the file name (or the name given to :func:`parse_interface`).
        field: the offending field, such as ``mappings[2].type``; ``""`` for the
            whole file.
        message: what is wrong.

    ``str()`` is ``FILE: FIELD: message``.
    """

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class ValidationError(ValueError):
    """A path or value does not fit an interface; the message says what to change."""


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


def _endpoint_pattern(endpoint: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(endpoint)
    return re.compile("[^/+#]+".join(re.escape(part) for part in parts))


def _shape(endpoint: str) -> str:
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
                raise ValidationError(
                    f"{self.name}: path {path!r} matches none of its endpoints "
                    f"({', '.join(m.endpoint for m in self.mappings)})"
                )
            return mapping
        if not isinstance(value, Mapping) or not value:
            raise ValidationError(
                f"{self.name} is an object interface: send a non-empty object of fields "
                f"({', '.join(m.endpoint.rsplit('/', 1)[1] for m in self.mappings)}) "
                f"to the common path, got {_kind(value)}"
            )
        first: InterfaceMapping | None = None
        for key in value:
            mapping = self.mapping(f"{path}/{key}")
            if mapping is None:
                raise ValidationError(
                    f"{self.name}: {path}/{key} matches none of its endpoints "
                    f"({', '.join(m.endpoint for m in self.mappings)})"
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


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, dt.datetime):
        return "a datetime"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _shown(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:37] + "...")
    if isinstance(value, list | tuple | Mapping):
        return _kind(value)
    return repr(value)


def _check_scalar(where: str, type_name: str, value: object, item: str = "") -> None:
    """Raise :class:`ValidationError` unless ``value`` is a valid ``type_name``."""
    meaning = _TYPE_MEANING[type_name]
    prefix = f"{where} is {type_name}{'array' if item else ''} ({meaning}{' each' if item else ''})"
    bad = f"{prefix}: {item}"
    if type_name in ("integer", "longinteger"):
        if type(value) is not int:
            raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")
        low, high = INT32 if type_name == "integer" else INT64
        if not low <= value <= high:
            raise ValidationError(f"{bad}{value} is out of range")
    elif type_name == "double":
        if type(value) is not float:
            raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")
        if not math.isfinite(value):
            raise ValidationError(f"{bad}{value} is not a finite number")
    elif type_name == "string":
        if type(value) is not str:
            raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_STRING_BYTES:
            raise ValidationError(f"{bad}{size} bytes is too long")
    elif type_name == "binaryblob":
        if not isinstance(value, bytes | bytearray):
            raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")
        if len(value) > MAX_BLOB_BYTES:
            raise ValidationError(f"{bad}{len(value)} bytes is more than 64 KiB")
    elif type_name == "boolean":
        if type(value) is not bool:
            raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")
    elif type_name == "datetime" and not isinstance(value, dt.datetime):
        raise ValidationError(f"{bad}got {_kind(value)} {_shown(value)}")


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
            f"{_kind(value)} {_shown(value)}"
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


# --------------------------------------------------------------------------- JSON values


def to_json_value(type_name: str, value: object) -> Any:
    """An Astarte value in its JSON form (Astarte's JSON APIs): ``binaryblob`` as
    base64 text, ``datetime`` as ISO 8601 UTC with milliseconds and ``Z``, arrays
    item by item, others unchanged (``longinteger`` stays a JSON number)."""
    scalar = type_name.removesuffix("array")
    if type_name.endswith("array") and isinstance(value, list | tuple):
        return [to_json_value(scalar, item) for item in value]
    if scalar == "binaryblob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if scalar == "datetime" and isinstance(value, dt.datetime):
        utc = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
        return int(value)  # bson.int64.Int64 -> int
    return value


def from_json_value(type_name: str, value: Any) -> object:
    """The inverse of :func:`to_json_value`: base64 text -> bytes, ISO 8601 ->
    aware ``datetime``; an integral number for ``double`` becomes a float.

    Raises:
        ValidationError: text that is not base64 or ISO 8601.
    """
    scalar = type_name.removesuffix("array")
    if type_name.endswith("array"):
        if not isinstance(value, list):
            return value
        return [from_json_value(scalar, item) for item in value]
    if scalar == "binaryblob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise ValidationError(f"{value!r} is not base64 (binaryblob)") from None
    if scalar == "datetime" and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{value!r} is not an ISO 8601 date and time like 2024-05-01T12:00:00Z"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if scalar == "double" and type(value) is int:
        return float(value)
    return value


def parse_value(type_name: str, text: str) -> object:
    """An operator's text as a value of ``type_name``: JSON (``42``, ``true``,
    ``[1, 2]``, ``"text"``), except that ``string`` takes the text as is and
    ``binaryblob``/``datetime`` take base64 / ISO 8601 without quotes. The result
    still needs :meth:`Interface.validate_payload`.

    Raises:
        ValidationError: the text is not JSON where JSON is needed.
    """
    if type_name == "string":
        return text
    if type_name in ("binaryblob", "datetime"):
        return from_json_value(type_name, text.strip().strip('"'))
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a {type_name} value (write JSON: 42, 2.5, true, [1, 2])"
        ) from None
    return from_json_value(type_name, value)


# --------------------------------------------------------------------------- loading


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[InterfaceError] = []

    def add(self, field_name: str, message: str) -> None:
        self.found.append(InterfaceError(self.file, field_name, message))


def _unknown(
    problems: _Problems, where: str, data: Mapping[str, Any], known: Sequence[str]
) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.add(f"{where}{'.' if where else ''}{key}", f"unknown key {key!r}{hint}")


def _mapping(
    problems: _Problems, index: int, data: object, datastream: bool
) -> InterfaceMapping | None:
    where = f"mappings[{index}]"
    if not isinstance(data, dict):
        problems.add(where, f"expected an object, got {_kind(data)}")
        return None
    before = len(problems.found)
    _unknown(problems, where, data, _MAPPING_KEYS)
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str):
        problems.add(
            f"{where}.endpoint",
            f"required, a string like '/%{{sensor_id}}/value'; got {_kind(endpoint)}",
        )
    elif not _ENDPOINT.match(endpoint):
        problems.add(
            f"{where}.endpoint",
            f"{endpoint!r} is not an endpoint: 1 to 64 levels, each '/' then a name "
            "(letters, digits, '_', not starting with a digit) or a parameter '%{name}'",
        )
    type_name = data.get("type")
    if type_name not in ASTARTE_TYPES:
        close = difflib.get_close_matches(str(type_name), ASTARTE_TYPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.add(
            f"{where}.type",
            f"expected one of {', '.join(ASTARTE_TYPES)}, got {_shown(type_name)}{hint}",
        )
    for key in ("explicit_timestamp", "allow_unset"):
        if key in data and not isinstance(data[key], bool):
            problems.add(f"{where}.{key}", f"expected true or false, got {_shown(data[key])}")
    reliability = data.get("reliability", "unreliable" if datastream else "unique")
    if reliability not in _RELIABILITIES:
        problems.add(
            f"{where}.reliability",
            f"expected one of {', '.join(_RELIABILITIES)}, got {_shown(reliability)}",
        )
    if not datastream:
        for key in ("reliability", "explicit_timestamp", "retention", "expiry"):
            if key in data:
                problems.add(f"{where}.{key}", "has no meaning for properties (datastreams only)")
    elif "allow_unset" in data:
        problems.add(f"{where}.allow_unset", "has no meaning for datastreams (properties only)")
    description = data.get("description")
    if len(problems.found) > before:
        return None
    assert isinstance(endpoint, str)
    return InterfaceMapping(
        endpoint=endpoint,
        type=cast(AstarteType, type_name),
        reliability=reliability,
        explicit_timestamp=bool(data.get("explicit_timestamp", False)),
        allow_unset=bool(data.get("allow_unset", False)),
        description=description if isinstance(description, str) else None,
        _pattern=_endpoint_pattern(endpoint),
    )


def _parse(data: object, file: str) -> tuple[Interface | None, list[InterfaceError]]:
    problems = _Problems(file)
    if not isinstance(data, dict):
        problems.add("", f"expected a JSON object (one interface), got {_kind(data)}")
        return None, problems.found
    _unknown(problems, "", data, _INTERFACE_KEYS)
    name = data.get("interface_name")
    if not isinstance(name, str):
        problems.add("interface_name", f"required, a string; got {_kind(name)}")
    elif not _NAME.match(name) or len(name) > 128:
        problems.add(
            "interface_name",
            f"{name!r} is not an interface name: dot-separated, reverse-domain style "
            "like 'org.example.SensorValues', at most 128 characters",
        )
    versions = []
    for key in ("version_major", "version_minor"):
        value = data.get(key)
        if type(value) is not int or value < 0:
            problems.add(key, f"required, an integer 0 or more; got {_shown(value)}")
        else:
            versions.append(value)
    if versions == [0, 0]:
        problems.add("version_major", "version_major and version_minor cannot both be 0")
    kind = data.get("type")
    if kind not in ("properties", "datastream"):
        problems.add("type", f"expected 'properties' or 'datastream', got {_shown(kind)}")
    ownership = data.get("ownership")
    if ownership not in ("device", "server"):
        problems.add("ownership", f"expected 'device' or 'server', got {_shown(ownership)}")
    aggregation = data.get("aggregation", "individual")
    if aggregation not in ("individual", "object"):
        problems.add("aggregation", f"expected 'individual' or 'object', got {_shown(aggregation)}")
    elif aggregation == "object" and kind == "properties":
        problems.add("aggregation", "properties interfaces can only be 'individual'")
    raw_mappings = data.get("mappings")
    mappings: list[InterfaceMapping] = []
    if not isinstance(raw_mappings, list) or not raw_mappings:
        problems.add("mappings", f"required, a non-empty list; got {_kind(raw_mappings)}")
    elif len(raw_mappings) > 1024:
        problems.add("mappings", f"{len(raw_mappings)} mappings, more than 1024")
    else:
        shapes: dict[str, int] = {}
        for index, raw in enumerate(raw_mappings):
            mapping = _mapping(problems, index, raw, kind == "datastream")
            if mapping is None:
                continue
            shape = _shape(mapping.endpoint)
            if shape in shapes:
                problems.add(
                    f"mappings[{index}].endpoint",
                    f"{mapping.endpoint!r} duplicates mappings[{shapes[shape]}] "
                    f"({raw_mappings[shapes[shape]]['endpoint']!r})",
                )
                continue
            shapes[shape] = index
            mappings.append(mapping)
    if aggregation == "object" and mappings and len(mappings) == len(raw_mappings or []):
        _object_rules(problems, mappings)
    description = data.get("description")
    if problems.found:
        return None, problems.found
    return (
        Interface(
            name=name,  # type: ignore[arg-type]
            version_major=versions[0],
            version_minor=versions[1],
            type=kind,  # type: ignore[arg-type]
            ownership=ownership,  # type: ignore[arg-type]
            aggregation=aggregation,
            mappings=tuple(mappings),
            description=description if isinstance(description, str) else None,
        ),
        [],
    )


def _object_rules(problems: _Problems, mappings: list[InterfaceMapping]) -> None:
    """An object interface's mappings share reliability and explicit_timestamp, have
    the same number of levels (at least 2) and the same prefix."""
    first = mappings[0]
    prefix = _shape(first.endpoint).rsplit("/", 1)[0]
    for index, mapping in enumerate(mappings):
        where = f"mappings[{index}]"
        if (mapping.reliability, mapping.explicit_timestamp) != (
            first.reliability,
            first.explicit_timestamp,
        ):
            problems.add(
                where,
                "every mapping of an object interface has the same reliability and "
                "explicit_timestamp (as mappings[0])",
            )
        if mapping.levels < 2 or _shape(mapping.endpoint).rsplit("/", 1)[0] != prefix:
            problems.add(
                f"{where}.endpoint",
                f"{mapping.endpoint!r}: the endpoints of an object interface share every "
                f"level but the last, and have at least 2 (like mappings[0], {first.endpoint!r})",
            )
        if mapping.endpoint.rsplit("/", 1)[1].startswith("%{"):
            problems.add(
                f"{where}.endpoint",
                f"{mapping.endpoint!r}: the last level of an object field cannot be a parameter",
            )


def parse_interface(data: object, *, file: str = "<interface>") -> Interface:
    """Build an :class:`Interface` from decoded JSON ``data``.

    Raises:
        InterfaceError: the first problem found (:func:`check_interfaces` lists all).
    """
    interface, problems = _parse(data, file)
    if interface is None:
        raise problems[0]
    return interface


def _read(path: Path) -> tuple[Interface | None, list[InterfaceError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [
            InterfaceError(path.name, "", f"not UTF-8 (bad byte at offset {error.start})")
        ]
    except OSError as error:
        return None, [InterfaceError(path.name, "", f"cannot read: {error.strerror or error}")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [
            InterfaceError(
                path.name,
                "",
                f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
            )
        ]
    return _parse(data, path.name)


def load_interface(path: str | Path) -> Interface:
    """Load one interface file.

    Raises:
        InterfaceError: unreadable, not JSON, or not a valid interface (the first
            problem; the file is named by its base name).
    """
    interface, problems = _read(Path(path))
    if interface is None:
        raise problems[0]
    return interface


def _scan(directory: Path) -> Iterable[tuple[Path, Interface | None, list[InterfaceError]]]:
    for path in sorted(directory.glob("*.json")):
        interface, problems = _read(path)
        yield path, interface, problems


def check_interfaces(directory: str | Path) -> list[InterfaceError]:
    """Every problem of every ``*.json`` file of ``directory``, in file order; two
    files defining the same interface name (and major version) are a problem too.
    Empty: :func:`load_interfaces` succeeds."""
    found: list[InterfaceError] = []
    seen: dict[tuple[str, int], str] = {}
    for path, interface, problems in _scan(Path(directory)):
        found += problems
        if interface is None:
            continue
        key = (interface.name, interface.version_major)
        if key in seen:
            found.append(
                InterfaceError(
                    path.name,
                    "interface_name",
                    f"{interface.name} v{interface.version_major} is already defined "
                    f"by {seen[key]}",
                )
            )
        else:
            seen[key] = path.name
    return found


def load_interfaces(directory: str | Path) -> dict[str, Interface]:
    """Every interface of ``directory`` (``*.json``), by interface name (the highest
    major version wins when a name has several).

    Raises:
        InterfaceError: the first problem :func:`check_interfaces` reports.
    """
    problems = check_interfaces(directory)
    if problems:
        raise problems[0]
    interfaces: dict[str, Interface] = {}
    for _, interface, _ in _scan(Path(directory)):
        assert interface is not None
        known = interfaces.get(interface.name)
        if known is None or known.version_major < interface.version_major:
            interfaces[interface.name] = interface
    return interfaces
