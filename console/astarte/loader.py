"""Astarte interface files: JSON, one interface per file, validated against the
Astarte interface JSON Schema (``interface.schema.json`` beside this module), then
built into :class:`~console.astarte.model.Interface`.

The schema checks each field's form (names, versions, enums, endpoints, keys that
have no meaning for the interface's type); this module checks what spans fields:
``version_major`` and ``version_minor`` not both 0, no two endpoints of the same
shape (``/a/%{x}`` and ``/a/%{y}``), and the rules of an ``object`` aggregation
(one reliability and ``explicit_timestamp``, a common prefix, at least 2 levels, no
parameter as the last level).

Every problem is an :class:`~console.mqtt.errors.InterfaceError` naming the file,
the field (``mappings[2].type``) and the reason in words (from the schema's
``x-expected`` / ``x-message``), never a jsonschema message;
:func:`check_interfaces` reports every problem of every ``*.json`` file of a
directory, in document order.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from console.astarte.errors import InterfaceError
from console.astarte.model import (
    AstarteType,
    Interface,
    InterfaceMapping,
    endpoint_pattern,
    endpoint_shape,
)
from console.jsonaccept import Accept, accepts, compile_acceptor
from console.wording import JSON_WORDS, kind, shown

__all__ = [
    "SCHEMA_FILE",
    "check_interfaces",
    "interface_schema",
    "load_interface",
    "load_interfaces",
    "parse_interface",
]

#: The Astarte interface schema (package data beside this module).
SCHEMA_FILE: Final = "interface.schema.json"

if TYPE_CHECKING:
    import jsonschema


@cache
def interface_schema() -> dict[str, Any]:
    """The Astarte interface JSON Schema (draft 2020-12), as loaded from
    :data:`SCHEMA_FILE`."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return cast(dict[str, Any], json.loads(text))


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema
    import jsonschema.validators

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("integer", lambda _checker, value: _exact_integer(value))
    strict = jsonschema.validators.extend(base, type_checker=checker)  # type: ignore[no-untyped-call]
    return cast(jsonschema.protocols.Validator, strict(interface_schema()))


def _exact_integer(value: object) -> bool:
    """JSON Schema's "integer" takes 1.0; an interface version is an exact integer."""
    return type(value) is int


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name`` or ``#``) of the interface schema."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return node
    target: Any = interface_schema()
    for part in ref[2:].split("/") if ref.startswith("#/") else ():
        target = target[part]
    return _resolve(target)


@cache
def _acceptor() -> Accept | None:
    """The schema compiled into one test (:mod:`console.jsonaccept`): an interface it
    accepts needs no jsonschema, which is imported only to word a problem."""
    return compile_acceptor(interface_schema(), _resolve, types={"integer": _exact_integer})


def _where(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _expected(schema: Mapping[str, Any]) -> str:
    """What a field takes, in words: its ``x-expected``, or its enum's values."""
    if "x-expected" in schema:
        return str(schema["x-expected"])
    values = schema.get("enum", ())
    if len(values) == 2:
        return f"{values[0]!r} or {values[1]!r}"
    return "one of " + ", ".join(map(str, values)) if values else "a different value"


def _hint(value: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _problems(error: jsonschema.ValidationError) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """``(field path, reason)`` for one jsonschema error (several for unknown or
    missing keys)."""
    path = tuple(error.absolute_path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    keyword, value = error.validator, cast(Any, error.instance)
    if "x-message" in schema:
        yield path, str(schema["x-message"])
    elif keyword == "additionalProperties":
        known = list(schema.get("properties", {}))
        for key in value:
            if key not in known:
                yield (*path, key), f"unknown key {key!r}{_hint(key, known)}"
    elif keyword == "required":
        properties = schema.get("properties", {})
        for key in cast(list[str], error.validator_value):
            if isinstance(value, Mapping) and key not in value:
                expected = _expected(properties.get(key, {}))
                yield (*path, key), f"required, {expected}; got nothing"
    elif keyword == "enum":
        yield (
            path,
            (
                f"expected {_expected(schema)}, got {shown(value, JSON_WORDS)}"
                f"{_hint(value, map(str, schema['enum'])) if len(schema['enum']) > 2 else ''}"
            ),
        )
    elif keyword in ("pattern", "maxLength", "minLength"):
        yield path, f"{shown(value, JSON_WORDS)} is not {_expected(schema)}"
    elif keyword in ("minItems", "maxItems"):
        yield path, f"expected {_expected(schema)}, got {len(value)} items"
    elif keyword in ("type", "minimum", "maximum"):
        yield path, f"expected {_expected(schema)}, got {shown(value, JSON_WORDS)}"
    else:  # a keyword without wording here: name it, never echo the value
        yield path, f"{kind(value, JSON_WORDS)} that breaks the rule {keyword!r}"


@cache
def _key_order(definition: str) -> dict[str, int]:
    schema = interface_schema()
    holder = schema if not definition else schema["$defs"][definition]
    return {key: index for index, key in enumerate(holder["properties"])}


def _order(path: tuple[str | int, ...]) -> tuple[int, ...]:
    """Document order of a field path: an interface's keys, then each mapping's, in
    the schema's order; unknown keys first."""
    key: list[int] = []
    for depth, part in enumerate(path):
        if isinstance(part, int):
            key.append(part)
        else:
            key.append(_key_order("" if depth == 0 else "mapping").get(part, -1))
    return tuple(key)


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[InterfaceError] = []

    def add(self, field_name: str, message: str) -> None:
        self.found.append(InterfaceError(self.file, field_name, message))


def _form_problems(data: object, problems: _Problems) -> None:
    """The schema's problems of ``data`` and the versions rule, in document order."""
    found: dict[tuple[tuple[str | int, ...], str], None] = {}
    accept = _acceptor()
    if accept is None or not accepts(accept, data):
        for error in _validator().iter_errors(cast(Any, data)):
            for path, reason in _problems(error):
                found.setdefault((path, reason))
    if isinstance(data, Mapping) and [data.get(f"version_{v}") for v in ("major", "minor")] == [
        0,
        0,
    ]:
        found.setdefault((("version_major",), "version_major and version_minor cannot both be 0"))
    for path, reason in sorted(found, key=lambda item: _order(item[0])):
        problems.add(_where(path), reason)


def _mapping(data: Mapping[str, Any], datastream: bool) -> InterfaceMapping:
    endpoint = str(data["endpoint"])
    description = data.get("description")
    return InterfaceMapping(
        endpoint=endpoint,
        type=cast(AstarteType, data["type"]),
        reliability=data.get("reliability", "unreliable" if datastream else "unique"),
        explicit_timestamp=bool(data.get("explicit_timestamp", False)),
        allow_unset=bool(data.get("allow_unset", False)),
        description=description if isinstance(description, str) else None,
        _pattern=endpoint_pattern(endpoint),
    )


def _parse(data: object, file: str) -> tuple[Interface | None, list[InterfaceError]]:
    problems = _Problems(file)
    _form_problems(data, problems)
    if problems.found:
        return None, problems.found
    assert isinstance(data, Mapping)
    datastream = data["type"] == "datastream"
    raw_mappings: list[Mapping[str, Any]] = data["mappings"]
    mappings: list[InterfaceMapping] = []
    shapes: dict[str, int] = {}
    for index, raw in enumerate(raw_mappings):
        mapping = _mapping(raw, datastream)
        shape = endpoint_shape(mapping.endpoint)
        if shape in shapes:
            problems.add(
                f"mappings[{index}].endpoint",
                f"{mapping.endpoint!r} duplicates mappings[{shapes[shape]}] "
                f"({raw_mappings[shapes[shape]]['endpoint']!r})",
            )
            continue
        shapes[shape] = index
        mappings.append(mapping)
    aggregation = data.get("aggregation", "individual")
    if aggregation == "object" and len(mappings) == len(raw_mappings):
        _object_rules(problems, mappings)
    if problems.found:
        return None, problems.found
    description = data.get("description")
    return (
        Interface(
            name=data["interface_name"],
            version_major=data["version_major"],
            version_minor=data["version_minor"],
            type=data["type"],
            ownership=data["ownership"],
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
    prefix = endpoint_shape(first.endpoint).rsplit("/", 1)[0]
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
        if mapping.levels < 2 or endpoint_shape(mapping.endpoint).rsplit("/", 1)[0] != prefix:
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
