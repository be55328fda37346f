"""Schema errors in an operator's words: each jsonschema error becomes one or more
:class:`~console.config.source.Found` problems at the line of the offending key or
value, naming the field, what was expected and what was found, never echoing a
secret or a value that came from the environment (``console/wording.py`` describes
values). Errors at or below a path that already has a problem are dropped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from console.config.schema import resolve
from console.config.source import DocPath, Document, Found
from console.wording import kind, shown

if TYPE_CHECKING:
    import jsonschema

__all__ = ["Messages"]

_TYPE_NAMES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "a mapping",
    "null": "an empty value",
}


def _typed(value: object) -> str:
    """``value`` with its kind, for type errors: ``"the string 'fast'"``; other than
    text, numbers and booleans, only the kind (``"a list"``, ``"a date"``)."""
    if not isinstance(value, str | int | float):
        return kind(value)
    name = kind(value).split(" ", 1)[1]
    return f"the {name} {shown(value)}"


def _schema_of(error: jsonschema.ValidationError) -> Mapping[str, Any]:
    """The (sub)schema holding the failed keyword, as a mapping."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _listed(error: jsonschema.ValidationError) -> list[Any]:
    """The failed keyword's value as a list (``type: string`` -> ``["string"]``)."""
    value = error.validator_value
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if isinstance(value, str) else []


class Messages:
    """Turns jsonschema errors into :class:`Found` problems (one or more each)."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._seen: set[tuple[DocPath, str]] = set()

    def add(self, path: DocPath, line: int | None, message: str) -> None:
        """Record a problem once (the same error can come from several subschemas)."""
        if (path, message) not in self._seen:
            self._seen.add((path, message))
            self.doc.found.append(Found(line, path, message))

    def got(self, error: jsonschema.ValidationError, path: DocPath, *, typed: bool = False) -> str:
        """The offending value (with its kind when ``typed``), or only its kind when it
        is secret or came from the environment."""
        if _schema_of(error).get("x-secret") is True or self.doc.hidden(path, error.instance):
            return kind(error.instance)
        return _typed(error.instance) if typed else shown(error.instance)

    def convert(self, error: jsonschema.ValidationError) -> None:
        """Word one jsonschema error, at the line of the offending key or value;
        errors at or below an already reported path are dropped."""
        path: DocPath = tuple(error.absolute_path)
        if self.doc.is_broken(path):
            return
        schema = _schema_of(error)
        keyword = error.validator
        line = self.doc.line_of(path)
        if keyword == "additionalProperties":
            self._unknown_keys(error, path, schema)
        elif keyword == "required":
            self._required(error, path, schema)
        elif keyword == "type":
            self.add(path, line, self._type(error, path, schema))
        elif keyword == "enum":
            self.add(path, line, self._enum(error, path, schema))
        elif keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            self.add(path, line, f"must be {_bounds(schema)}, got {self.got(error, path)}")
        elif keyword == "minLength":
            self.add(path, line, self._min_length(schema))
        elif keyword == "maxLength":
            self.add(path, line, f"must be at most {schema.get('maxLength')} characters long")
        elif keyword == "pattern":
            expected = schema.get("x-expected", "a different form")
            self.add(path, line, f"expected {expected}, got {self.got(error, path)}")
        elif keyword == "format":
            self.add(path, line, self._format(error, path))
        elif keyword == "anyOf":
            self._any_of(path, schema)
        elif keyword == "not":
            self._forbidden(error, path, schema)
        elif keyword == "dependentRequired":
            self._dependent(error, path, schema)
        else:  # a keyword this module does not word: never echo the value
            self.add(path, line, f"invalid value (fails the schema's {keyword!r} rule)")

    def _unknown_keys(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> None:
        known: Mapping[str, Any] = schema.get("properties", {})
        if not isinstance(error.instance, dict):
            return
        patterns: Mapping[str, Any] = schema.get("patternProperties", {})
        for key in error.instance:
            if key in known or any(re.search(pattern, key) for pattern in patterns):
                continue
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, list(known), n=1)
            home = [
                name for name, sub in known.items() if key in resolve(sub).get("properties", {})
            ]
            if close:
                message += f"; did you mean {close[0]!r}?"
            elif home:
                message += f"; it belongs in the {home[0]!r} section"
            elif known:
                message += f"; expected one of: {', '.join(known)}"
            self.add((*path, key), self.doc.line_of((*path, key), key=True), message)

    def _required(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> None:
        if not isinstance(error.instance, dict):
            return
        # a conditional requirement (`if`/`then`) says why in the `then` description
        why = schema.get("description") if "then" in error.schema_path else None
        for name in _listed(error):
            if name not in error.instance:
                message = f"missing required key {name!r}"
                if why:
                    message += f" ({why})"
                self.add((*path, name), self.doc.line_of(path, key=True), message)

    def _forbidden(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> None:
        """A ``not`` of ``required`` branches (in a ``then``): each of those keys that
        is present is a problem at its own line; the subschema's ``description`` is
        the message (``"not allowed with version V3: ..."``)."""
        why = schema.get("description") or "not allowed here"
        names = _required_names(error.validator_value)
        present = [n for n in names if isinstance(error.instance, dict) and n in error.instance]
        for name in present:
            self.add((*path, name), self.doc.line_of((*path, name), key=True), why)
        if not present:
            self.add(path, self.doc.line_of(path), "invalid value (fails the schema's 'not' rule)")

    def _dependent(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> None:
        """``dependentRequired``: a key that needs others; reported at that key, with
        the schema's ``x-why``."""
        needs = error.validator_value
        if not isinstance(error.instance, dict) or not isinstance(needs, Mapping):
            return
        why = schema.get("x-why")
        for name, required in needs.items():
            missing = [n for n in required if n not in error.instance]
            if name in error.instance and missing:
                message = f"needs {', '.join(repr(n) for n in missing)} too"
                if why:
                    message += f" ({why})"
                self.add((*path, name), self.doc.line_of((*path, name), key=True), message)

    def _any_of(self, path: DocPath, schema: Mapping[str, Any]) -> None:
        """An ``anyOf`` of ``required`` branches: one of these keys must be present."""
        names = [
            name
            for branch in schema.get("anyOf", [])
            if set(branch) == {"required"}
            for name in branch["required"]
        ]
        line = self.doc.line_of(path, key=True)
        if len(names) == 1:
            self.add((*path, names[0]), line, f"missing required key {names[0]!r}")
        elif names:
            self.add(path, line, f"needs at least one of these keys: {', '.join(names)}")
        else:
            self.add(path, line, "does not match any of the allowed forms")

    def _type(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> str:
        names = _listed(error)
        expected = schema.get("x-expected") or " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        message = f"expected {expected}, got {self.got(error, path, typed=True)}"
        if "string" in names and isinstance(error.instance, int | float):
            message += " (quote it so YAML reads it as text)"
        return message

    def _enum(
        self, error: jsonschema.ValidationError, path: DocPath, schema: Mapping[str, Any]
    ) -> str:
        choices = list(
            dict.fromkeys("null" if choice is None else str(choice) for choice in _listed(error))
        )
        message = f"expected one of {', '.join(choices)}, got {self.got(error, path)}"
        if isinstance(error.instance, str) and not self.doc.hidden(path, error.instance):
            # case, '-' and '_' aside ('sha-256' -> 'SHA256'), then the schema's
            # x-aliases (other tools' names: 'AES-128' -> 'AES'), then spelling
            folded = {_fold(choice): choice for choice in choices}
            aliases: Mapping[str, str] = schema.get("x-aliases", {})
            folded.update({_fold(alias): choice for alias, choice in aliases.items()})
            close = folded.get(_fold(error.instance)) or next(
                iter(difflib.get_close_matches(error.instance, choices, n=1)), None
            )
            if close:
                message += f"; did you mean {close!r}?"
        return message

    def _min_length(self, schema: Mapping[str, Any]) -> str:
        least = schema.get("minLength", 1)
        if least <= 1:
            return "must not be empty"
        why = schema.get("x-why")
        message = f"must be at least {least} characters long"
        return f"{message} ({why})" if why else message

    def _format(self, error: jsonschema.ValidationError, path: DocPath) -> str:
        if self.doc.hidden(path, error.instance) or _schema_of(error).get("x-secret"):
            return _FORMAT_HIDDEN.get(str(error.validator_value), "has an invalid form")
        # the cause names the text: "'1.3.x' is not a numeric OID: arc 3 ('x') is ..."
        return str(error.cause)


#: Format problems for values that must not be echoed (from the environment).
_FORMAT_HIDDEN: Final = {
    "snmp-oid": "is not a numeric OID",
    "snmp-engine-id": "is not an SNMP engine ID in hex (5 to 32 bytes)",
    "host-port": "is not host:port (an IPv6 host goes in brackets)",
    "mqtt-filter": "is not an MQTT topic filter",
    "mqtt-topic": "is not an MQTT topic name",
    "mqtt-template": "is not a device template",
    "snmp-object": "is not a numeric OID or a MIB name",
}


def _fold(text: str) -> str:
    """``text`` compared loosely: case, ``-``, ``_`` and blanks ignored."""
    return "".join(text.casefold().replace("-", "").replace("_", "").split())


def _required_names(schema: object) -> list[str]:
    """The key names of a ``{required: [...]}`` schema or of an ``anyOf`` of them."""
    if not isinstance(schema, Mapping):
        return []
    names = [str(name) for name in schema.get("required", [])]
    for branch in schema.get("anyOf", []):
        names += _required_names(branch)
    return names


def _bounds(schema: Mapping[str, Any]) -> str:
    """``"between 1 and 65535"``, ``"greater than 0 and at most 86400 (seconds)"``..."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        text = f"between {low} and {high}"
    else:
        parts = []
        if low is not None:
            parts.append(f"at least {low}")
        if schema.get("exclusiveMinimum") is not None:
            parts.append(f"greater than {schema['exclusiveMinimum']}")
        if high is not None:
            parts.append(f"at most {high}")
        if schema.get("exclusiveMaximum") is not None:
            parts.append(f"less than {schema['exclusiveMaximum']}")
        text = " and ".join(parts)
    unit = schema.get("x-unit")
    return f"{text} ({unit})" if unit else text
