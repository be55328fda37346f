"""The configuration JSON Schema (``console/schemas/config.yaml``, JSON Schema 2020-12)
and the two ways of checking data against it.

* :func:`validator`: jsonschema's ``Draft202012Validator`` with fleettop's formats
  asserted; its errors are worded by :mod:`console.config.messages`.
* :func:`acceptor`: a fast, exact acceptance test compiled from the same schema for
  the keywords the schema uses. It answers only "valid" or "not sure": a ``devices``
  entry it accepts needs no jsonschema pass, one it does not accept goes through
  :func:`validator` for the wording. jsonschema costs ~0.8 ms per device; the compiled
  test ~20 µs, which is what keeps a 100,000-device file within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import yaml

from console.config.formats import FORMAT_CHECKS
from console.jsonaccept import Accept, accepts, compile_acceptor

if TYPE_CHECKING:
    import jsonschema

__all__ = ["Accept", "acceptor", "accepts", "config_schema", "resolve", "validator"]


_SCHEMA_RESOURCE: Final = ("schemas", "config.yaml")


@cache
def config_schema() -> Mapping[str, Any]:
    """Return the configuration JSON Schema (``console/schemas/config.yaml``, package
    data), parsed once. Do not mutate it.

    Raises:
        OSError: the schema file is missing from the installed package.
    """
    text = resources.files("console").joinpath(*_SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: 10x faster
    return schema


@cache
def validator() -> jsonschema.protocols.Validator:
    """The schema validator, with fleettop's formats asserted (``snmp-oid``,
    ``snmp-engine-id``, ``host-port``, the MQTT forms, ``snmp-object``).
    Imports jsonschema (~80 ms), which a valid configuration never needs."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name, raises=ValueError)(check)
    schema = config_schema()
    # checked against the metaschema by tests/test_config.py, not at every start (0.25 s)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/name``, or ``#``: the whole schema) of the
    configuration schema."""
    ref = schema.get("$ref")
    if ref == "#":
        return config_schema()
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = config_schema()
    for part in ref[2:].split("/"):
        target = target[part]
    return resolve(target)


@cache
def acceptor(pointer: str) -> Accept | None:
    """The compiled acceptance test of the subschema at ``pointer`` (``#/$defs/device``),
    or ``None`` when it uses a keyword the compiler does not know (then every instance
    goes through :func:`validator`)."""
    return compile_acceptor(resolve({"$ref": pointer}), resolve, formats=FORMAT_CHECKS)
