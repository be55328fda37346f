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

import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import yaml

from console.config.formats import FORMAT_CHECKS

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


# --------------------------------------------------------------------------- acceptor

Accept = Callable[[object], bool]
"""A compiled check: ``True`` only when jsonschema would find no error."""

#: Keywords that never make an instance invalid: annotations, and the document's
#: ``$id`` and ``$defs`` container (JSON Schema 2020-12 core §8.2); fleettop's ``x-``
#: keywords are skipped too.
_ANNOTATIONS: Final = frozenset(
    {
        "description",
        "default",
        "title",
        "examples",
        "$comment",
        "deprecated",
        "$schema",
        "$id",
        "$defs",
    }
)


class _Unsupported(Exception):
    """The subschema uses a keyword the acceptor does not compile."""


def _is_integer(value: object) -> bool:
    """jsonschema's ``integer``: an int (not a bool) or a float without a fraction."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: Final[Mapping[str, Callable[[object], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _same(a: object, b: object) -> bool:
    """jsonschema's equality for scalars: ``True`` is not ``1``; containers compare
    as unsupported (raise) since the schema enumerates only scalars."""
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        raise _Unsupported("enum of containers")
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


class _Compiler:
    """Compiles schema nodes into :data:`Accept` closures (memoised per node)."""

    def __init__(self) -> None:
        self._done: dict[int, Accept] = {}

    def compile(self, schema: object) -> Accept:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, Mapping):
            raise _Unsupported(repr(schema))
        key = id(schema)
        if key not in self._done:
            slot: list[Accept] = []
            self._done[key] = lambda value: slot[0](value)  # recursion through $ref
            slot.append(self._build(schema))
            self._done[key] = slot[0]
        return self._done[key]

    def _build(self, schema: Mapping[str, Any]) -> Accept:
        checks: list[Accept] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            if keyword in ("then", "else", "properties", "patternProperties"):
                continue  # compiled with `if` / `additionalProperties` below
            if keyword == "additionalProperties":
                continue
            checks.append(self._keyword(schema, keyword, value))
        if "additionalProperties" in schema or "patternProperties" in schema:
            checks.append(self._additional(schema, schema.get("additionalProperties", True)))
        elif "properties" in schema:
            checks.append(self._properties(schema["properties"]))
        if "if" in schema:
            checks.append(self._conditional(schema))
        return _every(checks)

    def _keyword(self, schema: Mapping[str, Any], keyword: str, value: Any) -> Accept:
        if keyword == "$ref":
            return self.compile(resolve(schema))
        if keyword == "type":
            return _type_test([value] if isinstance(value, str) else list(value))
        if keyword in ("enum", "const"):
            choices = list(value) if keyword == "enum" else [value]
            if all(isinstance(choice, str) for choice in choices):
                texts = frozenset(choices)
                return lambda v: isinstance(v, str) and v in texts
            return lambda v: any(_same(v, choice) for choice in choices)
        if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            compare: Callable[[Any], bool] = {
                "minimum": lambda v: v >= value,
                "maximum": lambda v: v <= value,
                "exclusiveMinimum": lambda v: v > value,
                "exclusiveMaximum": lambda v: v < value,
            }[keyword]
            return lambda v: not _TYPES["number"](v) or compare(v)
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= value
        if keyword == "pattern":
            search = re.compile(value).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if keyword == "format":
            check = FORMAT_CHECKS.get(value)
            if check is None:
                return lambda v: True  # jsonschema ignores a format it does not assert
            return lambda v: _conforms(check, v)
        if keyword == "required":
            names = tuple(value)
            if len(names) == 1:
                (only,) = names
                return lambda v: not isinstance(v, dict) or only in v
            return lambda v: not isinstance(v, dict) or all(n in v for n in names)
        if keyword == "dependentRequired":
            needs = {name: tuple(required) for name, required in value.items()}
            return lambda v: (
                not isinstance(v, dict)
                or all(
                    all(n in v for n in required) for name, required in needs.items() if name in v
                )
            )
        if keyword == "additionalProperties":
            return self._additional(schema, value)
        if keyword == "items":
            item = self.compile(value)

            def items(v: object) -> bool:
                if isinstance(v, list):
                    for i in v:
                        if not item(i):
                            return False
                return True

            return items
        if keyword in ("minItems", "maxItems"):
            low = keyword == "minItems"
            return lambda v: (
                not isinstance(v, list) or (len(v) >= value if low else len(v) <= value)
            )
        if keyword == "uniqueItems":
            if not value:
                return lambda v: True
            return lambda v: not isinstance(v, list) or _unique(v)
        if keyword in ("anyOf", "oneOf", "allOf"):
            branches = [self.compile(branch) for branch in value]
            if keyword == "anyOf":
                return _some(branches)
            if keyword == "allOf":
                return _every(branches)
            return lambda v: sum(1 for branch in branches if branch(v)) == 1
        if keyword == "not":
            inner = self.compile(value)
            return lambda v: not inner(v)
        if keyword == "if":
            return lambda v: True  # compiled in _conditional
        raise _Unsupported(keyword)

    def _properties(self, properties: Mapping[str, Any]) -> Accept:
        compiled = {name: self.compile(sub) for name, sub in properties.items()}

        def accept(value: object) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                check = compiled.get(name)
                if check is not None and not check(item):
                    return False
            return True

        return accept

    def _additional(self, schema: Mapping[str, Any], extra: Any) -> Accept:
        """``properties``, ``patternProperties`` and ``additionalProperties`` in one
        pass over the keys."""
        compiled = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        patterns = tuple(
            (re.compile(pattern).search, self.compile(sub))
            for pattern, sub in schema.get("patternProperties", {}).items()
        )
        rest = self.compile(extra)
        closed = extra is False and not patterns

        def accept(value: object) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                check = compiled.get(name)
                if closed:
                    if check is None or not check(item):
                        return False
                    continue
                if check is not None and not check(item):
                    return False
                matched = False
                for search, pattern_check in patterns:
                    if search(name):
                        matched = True
                        if not pattern_check(item):
                            return False
                if check is None and not matched and not rest(item):
                    return False
            return True

        return accept

    def _conditional(self, schema: Mapping[str, Any]) -> Accept:
        condition = self.compile(schema["if"])
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)


def _every(checks: list[Accept]) -> Accept:
    """All of ``checks`` (a plain loop: this runs for every value of every device)."""
    if len(checks) == 1:
        return checks[0]
    tuple_of = tuple(checks)

    def accept(value: object) -> bool:
        for check in tuple_of:  # noqa: SIM110 - a loop: no generator per value
            if not check(value):
                return False
        return True

    return accept


def _some(checks: list[Accept]) -> Accept:
    """Any of ``checks``, as :func:`_every`."""
    tuple_of = tuple(checks)

    def accept(value: object) -> bool:
        for check in tuple_of:  # noqa: SIM110 - a loop: no generator per value
            if check(value):
                return True
        return False

    return accept


#: JSON types that one ``isinstance`` decides (bool is an int, so number and integer
#: are tested apart).
_PLAIN_TYPES: Final[Mapping[str, type]] = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


def _type_test(names: list[str]) -> Accept:
    """The ``type`` keyword for ``names``."""
    if all(name in _PLAIN_TYPES for name in names):
        kinds = tuple(_PLAIN_TYPES[name] for name in names)  # no int: True is not matched
        return lambda v: isinstance(v, kinds)
    tests = tuple(_TYPES[name] for name in names)
    return lambda v: any(test(v) for test in tests)


def _conforms(check: Callable[[object], bool], value: object) -> bool:
    """A format check as jsonschema's FormatChecker runs it (``ValueError`` fails)."""
    try:
        return bool(check(value))
    except ValueError:
        return False


def _unique(items: list[Any]) -> bool:
    """``uniqueItems`` for hashable scalars; anything else is not accepted here."""
    try:
        return len({(type(i), i) for i in items}) == len(items)
    except TypeError:
        return False


def accepts(accept: Accept, value: object) -> bool:
    """``accept(value)``, with any surprise (an unhashable enum value...) as "not
    sure": the caller then asks jsonschema."""
    try:
        return accept(value)
    except Exception:
        return False


@cache
def acceptor(pointer: str) -> Accept | None:
    """The compiled acceptance test of the subschema at ``pointer`` (``#/$defs/device``),
    or ``None`` when it uses a keyword the compiler does not know (then every instance
    goes through :func:`validator`)."""
    try:
        return _Compiler().compile(resolve({"$ref": pointer}))
    except _Unsupported:
        return None
