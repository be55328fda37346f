"""A JSON Schema, compiled into one acceptance test: ``True`` exactly when jsonschema
would report no error, without importing jsonschema.

Checking a valid document is the common case (a configuration at every start, the
Astarte interfaces the demo and an operator's directory hold); jsonschema costs
~0.1 s to import and more to build a validator. :func:`compile_acceptor` turns the
subset of JSON Schema 2020-12 that fleettop's schemas use (``type``, ``enum``,
``const``, bounds, lengths, ``pattern``, ``format``, ``required``,
``dependentRequired``, ``properties``, ``patternProperties``,
``additionalProperties``, ``items``, ``minItems``/``maxItems``, ``uniqueItems``,
``anyOf``/``oneOf``/``allOf``/``not``, ``if``/``then``/``else`` and local ``$ref``)
into closures. A document it does not accept goes to jsonschema, which words the
problems: the acceptor never has to explain, only never to accept what jsonschema
would refuse. A schema with a keyword outside that subset does not compile
(``None``): its documents all go to jsonschema.

Reference: JSON Schema 2020-12, Core and Validation (the keywords' meaning);
jsonschema's Draft202012Validator (the reference this must agree with, tested in
tests/test_config.py and tests/test_mqtt_interfaces.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["Accept", "Resolve", "accepts", "compile_acceptor"]

Accept = Callable[[object], bool]
"""A compiled check: ``True`` only when jsonschema would find no error."""

Resolve = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Follows a schema node's local ``$ref`` (the node itself when it has none)."""

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

    def __init__(
        self,
        resolve: Resolve,
        types: Mapping[str, Callable[[object], bool]],
        formats: Mapping[str, Callable[[object], bool]],
    ) -> None:
        self._done: dict[int, Accept] = {}
        self._resolve = resolve
        self._types = types
        self._formats = formats

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
            return self.compile(self._resolve(schema))
        if keyword == "type":
            return _type_test([value] if isinstance(value, str) else list(value), self._types)
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
            check = self._formats.get(value)
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


def _type_test(names: list[str], types: Mapping[str, Callable[[object], bool]]) -> Accept:
    """The ``type`` keyword for ``names`` (``types``: the tests of the names)."""
    if all(name in _PLAIN_TYPES and types[name] is _TYPES[name] for name in names):
        kinds = tuple(_PLAIN_TYPES[name] for name in names)  # no int: True is not matched
        return lambda v: isinstance(v, kinds)
    tests = tuple(types[name] for name in names)
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


def compile_acceptor(
    schema: object,
    resolve: Resolve,
    *,
    types: Mapping[str, Callable[[object], bool]] | None = None,
    formats: Mapping[str, Callable[[object], bool]] | None = None,
) -> Accept | None:
    """The acceptance test of ``schema`` (a schema node: a mapping or a boolean).

    Args:
        schema: the node to compile.
        resolve: follows a node's local ``$ref`` within its document.
        types: tests that replace the standard ones of JSON types by name (Astarte's
            ``integer`` is an int only, where JSON Schema's takes ``1.0``).
        formats: the ``format`` values asserted, by name (``ValueError`` or a false
            result fails); other formats are annotations, as in jsonschema.

    Returns:
        The test, or ``None`` when the schema uses a keyword outside the subset of
        the module docstring (then every document goes through jsonschema).
    """
    try:
        return _Compiler(resolve, {**_TYPES, **(types or {})}, formats or {}).compile(schema)
    except _Unsupported:
        return None
