"""Astarte interfaces (console/astarte.py): loading, path and payload
validation, the reliability -> QoS table. Cases follow the Astarte documentation
("Interfaces", "Mapping types") and the Astarte Device SDK for Python's checks."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

from console.astarte import (
    Interface,
    InterfaceError,
    ValidationError,
    check_interfaces,
    from_json_value,
    load_interface,
    load_interfaces,
    parse_interface,
    parse_value,
    to_json_value,
)

DATA = Path(__file__).parent / "data" / "interfaces"
VALUES = "org.astarte-platform.genericsensors.Values"
SENSORS = "org.astarte-platform.genericsensors.AvailableSensors"
RATE = "org.astarte-platform.genericsensors.SamplingRate"
GEO = "org.astarte-platform.genericsensors.Geolocation"


@pytest.fixture(scope="module")
def interfaces() -> dict[str, Interface]:
    return load_interfaces(DATA)


def test_loads_every_file_with_its_model(interfaces: dict[str, Interface]) -> None:
    assert set(interfaces) == {
        VALUES,
        SENSORS,
        RATE,
        GEO,
        "org.example.Commands",
        "org.example.AllTypes",
    }
    values = interfaces[VALUES]
    assert (values.version, values.type, values.ownership, values.aggregation) == (
        "1.0",
        "datastream",
        "device",
        "individual",
    )
    (mapping,) = values.mappings
    assert (mapping.endpoint, mapping.type, mapping.explicit_timestamp) == (
        "/%{sensor_id}/value",
        "double",
        True,
    )
    rate = interfaces[RATE]
    assert rate.server_owned
    assert rate.is_properties
    assert all(m.allow_unset for m in rate.mappings)
    assert interfaces[GEO].is_object
    assert load_interface(DATA / f"{RATE}.json") == rate


@pytest.mark.parametrize(
    ("interface", "path", "qos"),
    [
        (RATE, "/s1/enable", 2),  # properties: always 2
        (SENSORS, "/s1/name", 2),
        (VALUES, "/s1/value", 0),  # datastream unreliable
        ("org.example.Commands", "/fan/command", 1),  # guaranteed
        ("org.example.Commands", "/reboot", 2),  # unique
        (GEO, "/gps", 1),  # object: the mappings' shared reliability
    ],
)
def test_reliability_to_qos_is_the_sdk_table(
    interfaces: dict[str, Interface], interface: str, path: str, qos: int
) -> None:
    assert interfaces[interface].qos(path) == qos


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/s1/value", True),
        ("/temperature_sensor_2/value", True),
        # a parameter is an identifier, as the Astarte SDK 0.14 checks
        # (tests/test_astarte_control.py asks the SDK itself)
        ("/1/value", False),
        ("/temperature-sensor_2/value", False),
        ("/s1/value/extra", False),
        ("/s1", False),
        ("s1/value", False),
        ("/+/value", False),
        ("//value", False),
    ],
)
def test_validate_path(interfaces: dict[str, Interface], path: str, ok: bool) -> None:
    values = interfaces[VALUES]
    if ok:
        assert values.validate_path(path).endpoint == "/%{sensor_id}/value"
    else:
        with pytest.raises(ValidationError, match=VALUES):
            values.validate_path(path)


WHEN = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
GOOD: list[tuple[str, Any]] = [
    ("/integer", 42),
    ("/integer", -(2**31)),
    ("/integer", 2**31 - 1),
    ("/longinteger", 2**63 - 1),
    ("/double", 21.5),
    ("/string", "ok"),
    ("/string", "é" * 32768),  # 65536 bytes
    ("/binaryblob", b"\x00" * 65536),
    ("/boolean", False),
    ("/datetime", WHEN),
    ("/integerarray", [1, 2, 3]),
    ("/integerarray", []),
    ("/longintegerarray", [2**40]),
    ("/doublearray", [1.5] * 1024),
    ("/stringarray", ["a", "b"]),
    ("/binaryblobarray", [b"a", b""]),
    ("/booleanarray", [True]),
    ("/datetimearray", [WHEN]),
]
BAD: list[tuple[str, Any, str]] = [
    ("/integer", 2**31, "out of range"),
    ("/integer", -(2**31) - 1, "out of range"),
    ("/integer", 1.0, "got a float"),
    ("/integer", True, "got a boolean"),
    ("/integer", "42", "got a string"),
    ("/longinteger", 2**63, "out of range"),
    ("/double", 1, "got an integer"),
    ("/double", float("nan"), "not a finite number"),
    ("/double", float("inf"), "not a finite number"),
    ("/string", b"bytes", "got bytes"),
    ("/string", "é" * 32769, "too long"),
    ("/binaryblob", b"\x00" * 65537, "more than 64 KiB"),
    ("/binaryblob", "aGk=", "got a string"),
    ("/boolean", 1, "got an integer"),
    ("/datetime", "2024-05-01", "got a string"),
    ("/integerarray", 5, "a list of at most 1024"),
    ("/integerarray", [1, 2**31], "item 1: 2147483648 is out of range"),
    ("/doublearray", [1.5] * 1025, "1025 items is more than 1024"),
    ("/stringarray", ["a", 1], "item 1: got an integer"),
    ("/booleanarray", [True, None], "item 1: got nothing"),
    ("/integer", None, "a value is required"),
]


@pytest.mark.parametrize(("path", "value"), GOOD)
def test_good_payloads(interfaces: dict[str, Interface], path: str, value: Any) -> None:
    interfaces["org.example.AllTypes"].validate_payload(path, value)


@pytest.mark.parametrize(("path", "value", "reason"), BAD)
def test_bad_payloads_say_what_is_wrong(
    interfaces: dict[str, Interface], path: str, value: Any, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        interfaces["org.example.AllTypes"].validate_payload(path, value)
    message = str(caught.value)
    assert message.startswith(f"org.example.AllTypes {path} is ")
    assert reason in message


def test_explicit_timestamp_rules(interfaces: dict[str, Interface]) -> None:
    values = interfaces[VALUES]
    values.validate_payload("/s1/value", 1.5, WHEN)
    with pytest.raises(ValidationError, match="send a timestamp too"):
        values.validate_payload("/s1/value", 1.5)
    with pytest.raises(ValidationError, match="send no timestamp"):
        interfaces[RATE].validate_payload("/s1/samplingPeriod", 10, WHEN)


def test_object_aggregation(interfaces: dict[str, Interface]) -> None:
    geo = interfaces[GEO]
    full = {"latitude": 45.1, "longitude": 7.6, "altitude": 250.0}
    geo.validate_payload("/gps", full, WHEN)
    with pytest.raises(ValidationError, match=r"lacks /%\{sensor_id\}/altitude"):
        geo.validate_payload("/gps", {"latitude": 45.1, "longitude": 7.6}, WHEN)
    with pytest.raises(ValidationError, match="matches none"):
        geo.validate_payload("/gps", {**full, "speed": 3.0}, WHEN)
    with pytest.raises(ValidationError, match="is double"):
        geo.validate_payload("/gps", {**full, "altitude": "high"}, WHEN)
    with pytest.raises(ValidationError, match="object interface"):
        geo.validate_payload("/gps", 45.1, WHEN)


def test_unset_only_where_allowed(interfaces: dict[str, Interface]) -> None:
    assert interfaces[RATE].validate_unset("/s1/enable").type == "boolean"
    with pytest.raises(ValidationError, match="does not allow unset"):
        interfaces["org.example.AllTypes"].validate_unset("/double")
    with pytest.raises(ValidationError, match="only properties can be unset"):
        interfaces[VALUES].validate_unset("/s1/value")


def test_json_forms_round_trip() -> None:
    assert to_json_value("binaryblob", b"hi") == "aGk="
    assert to_json_value("datetime", WHEN) == "2024-05-01T12:00:00.000Z"
    assert to_json_value("datetimearray", [WHEN]) == ["2024-05-01T12:00:00.000Z"]
    assert from_json_value("binaryblob", "aGk=") == b"hi"
    assert from_json_value("datetime", "2024-05-01T12:00:00.000Z") == WHEN
    assert from_json_value("double", 3) == 3.0
    assert parse_value("integer", "42") == 42
    assert parse_value("doublearray", "[1, 2.5]") == [1.0, 2.5]
    assert parse_value("string", "plain text") == "plain text"
    assert parse_value("binaryblob", "aGk=") == b"hi"
    with pytest.raises(ValidationError, match="not a integer value"):
        parse_value("integer", "forty-two")
    with pytest.raises(ValidationError, match="ISO 8601"):
        parse_value("datetime", "yesterday")


def test_invalid_files_name_the_file_and_field() -> None:
    errors = [str(e) for e in check_interfaces(DATA / "bad")]
    assert errors[0].startswith("bad_type.json: mappings[0].type: expected one of integer,")
    assert errors[1].startswith("broken.json: invalid JSON: ")
    assert "many.json: ownership: expected 'device' or 'server', got 'cloud'" in errors
    assert (
        "many.json: mappings[0].reliability: has no meaning for properties (datastreams only)"
        in errors
    )
    with pytest.raises(InterfaceError) as caught:
        load_interfaces(DATA / "bad")
    assert (caught.value.file, caught.value.field) == ("bad_type.json", "mappings[0].type")


def base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "interface_name": "org.example.Test",
        "version_major": 1,
        "version_minor": 0,
        "type": "datastream",
        "ownership": "device",
        "mappings": [{"endpoint": "/a/value", "type": "integer"}],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"interface_name": "Test"}, "", ""),  # valid: a single word is a name
        ({"interface_name": "org.example."}, "interface_name", "not an interface name"),
        ({"version_major": 0, "version_minor": 0}, "version_major", "cannot both be 0"),
        ({"version_minor": "1"}, "version_minor", "an integer 0 or more"),
        ({"type": "stream"}, "type", "expected 'properties' or 'datastream'"),
        ({"mappings": []}, "mappings", "non-empty list"),
        (
            {
                "mappings": [
                    {"endpoint": "/a/%{x}", "type": "integer"},
                    {"endpoint": "/a/%{y}", "type": "integer"},
                ]
            },
            "mappings[1].endpoint",
            "duplicates mappings[0]",
        ),
        (
            {"mappings": [{"endpoint": "/a", "type": "integer", "allow_unset": True}]},
            "mappings[0].allow_unset",
            "properties only",
        ),
        (
            {"mappings": [{"endpoint": "/a", "type": "intger"}]},
            "mappings[0].type",
            "did you mean 'integer'?",
        ),
        (
            {
                "aggregation": "object",
                "mappings": [
                    {"endpoint": "/g/a", "type": "integer", "reliability": "unique"},
                    {"endpoint": "/g/b", "type": "integer"},
                ],
            },
            "mappings[1]",
            "same reliability",
        ),
        ({"colour": "red"}, "colour", "unknown key 'colour'"),
    ],
)
def test_interface_rules(changes: dict[str, Any], field: str, reason: str) -> None:
    data = base(**changes)
    if not reason:
        assert parse_interface(data).name == data["interface_name"]
        return
    with pytest.raises(InterfaceError) as caught:
        parse_interface(json.loads(json.dumps(data)), file="t.json")
    assert caught.value.field == field
    assert reason in caught.value.message


def test_the_schema_is_a_valid_json_schema_and_every_bundled_interface_fits_it() -> None:
    import jsonschema

    from console.astarte.loader import interface_schema
    from console.demo.mqtt import INTERFACES_DIR

    schema = interface_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for directory in (DATA, INTERFACES_DIR):
        for path in sorted(directory.glob("*.json")):
            assert not list(validator.iter_errors(json.loads(path.read_text()))), path.name


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"version_major": 1.0}, "version_major", "an integer 0 or more, got 1.0"),
        (
            {"mappings": [{"endpoint": "/a", "type": "integer", "retention": "forever"}]},
            "mappings[0].retention",
            "expected one of discard, volatile, stored, got 'forever'",
        ),
        (
            {"mappings": [{"endpoint": "/a", "type": "integer", "expiry": -1}]},
            "mappings[0].expiry",
            "an integer 0 or more (seconds), got -1",
        ),
        ({"mappings": ["/a"]}, "mappings[0]", "expected an object, got '/a'"),
        ({"mappings": [{"type": "integer"}]}, "mappings[0].endpoint", "required, an endpoint"),
        ({"description": "x" * 1001}, "description", "is not text of at most 1000 characters"),
    ],
)
def test_schema_rules_are_worded_by_field(changes: dict[str, Any], field: str, reason: str) -> None:
    """The Astarte interface schema's rules (interface.schema.json) reach the operator
    as field + reason, never as a jsonschema message."""
    with pytest.raises(InterfaceError) as caught:
        parse_interface(base(**changes), file="t.json")
    assert (caught.value.field, caught.value.file) == (field, "t.json")
    assert reason in caught.value.message


def _mutations(data: dict[str, Any], rng: random.Random) -> list[Any]:
    """Variants of an interface, each one edit away: a key dropped, a value swapped
    for one of another JSON type, an unknown key, a mapping field changed."""
    oddities: list[Any] = [None, True, 0, 1.0, -1, "", "x", [], {}, 2**40]
    variants: list[Any] = []
    for key in data:
        variants.append({k: v for k, v in data.items() if k != key})
        variants.append({**data, key: rng.choice(oddities)})
    variants.append({**data, "colour": "red"})
    for index, mapping in enumerate(data.get("mappings", [])):
        for key in [*mapping, "reliability", "retention", "expiry", "allow_unset"]:
            changed = {**mapping, key: rng.choice(oddities)}
            mappings = [*data["mappings"]]
            mappings[index] = changed
            variants.append({**data, "mappings": mappings})
    return variants


def test_the_compiled_acceptor_never_accepts_what_jsonschema_rejects() -> None:
    """Valid interfaces skip jsonschema (the compiled acceptor of console/jsonaccept.py
    accepts them); the acceptor must then never accept an interface jsonschema
    refuses: every bundled interface and hundreds of one-edit variants of each."""
    from console.astarte.loader import _acceptor, _validator
    from console.demo.mqtt import INTERFACES_DIR
    from console.jsonaccept import accepts

    accept = _acceptor()
    assert accept is not None, "the interface schema no longer compiles"
    validator = _validator()
    rng = random.Random(11)
    files = [*sorted(DATA.glob("*.json")), *sorted(INTERFACES_DIR.glob("*.json"))]
    accepted = refused = 0
    for path in files:
        data = json.loads(path.read_text())
        assert accepts(accept, data), path.name  # valid: jsonschema never imported
        for variant in _mutations(data, rng):
            if accepts(accept, variant):
                accepted += 1
                assert not list(validator.iter_errors(variant)), variant
            else:
                refused += 1
                assert list(validator.iter_errors(variant)), variant  # and no stricter
    assert accepted > 20, accepted
    assert refused > 100, refused
