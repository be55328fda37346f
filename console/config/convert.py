"""Checked data to :class:`~console.config.model.Config`, declared once (stage 5).

The mapping is the dataclasses' own field names and types, read by msgspec
(``msgspec.convert``: nested dataclasses, tuples, frozensets, ``Literal`` and
``Path`` fields, ints for floats, absent keys take the dataclass defaults). What the
file's form and the field's value differ in is declared in the schema, not here:

* the ``snmp-oid``, ``snmp-engine-id`` and ``snmp-object`` formats normalise the text
  (:func:`~console.oid.normalize_oid`, lower-case hex, OID or MIB name);
* ``x-convert`` names a conversion (``path``, ``host-port``, ``key-list``,
  ``event-patterns``, ``unique``, ``str``; see the schema's header);
* ``x-absent`` is the value of a key left out whose field has no default;
* ``x-secret`` fields are typed :class:`~console.secrets.Secret` in the dataclasses,
  which :func:`_decode` makes from the text.

:func:`prepare` applies the declarations with one walk compiled from the schema
(memoised per schema node), so a 100,000-device file converts in about a second.
msgspec was measured against cattrs and dacite on that file (see
``bench/bench_config.py``) and chosen for speed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import msgspec

from console.config.formats import (
    absolute_path,
    check_snmp_object,
    normalize_engine_id,
    oid_form,
    split_host_port,
)
from console.config.model import Config
from console.config.schema import config_schema, resolve
from console.events import event_pattern
from console.secrets import Secret

__all__ = ["build", "prepare"]

Prepare = Callable[[Any, Path], Any]
"""A compiled conversion: ``(value, base directory) -> value for msgspec``."""

#: Formats whose check also gives the normal form of the value.
_FORMS: Final[Mapping[str, Callable[[str], str]]] = {
    "snmp-oid": oid_form,
    "snmp-engine-id": normalize_engine_id,
    "snmp-object": check_snmp_object,
}


def _key_list(value: Any, base: Path) -> Any:
    """``{"app.quit": "ctrl+q, f10"}`` -> ``{"app.quit": "ctrl+q,f10"}``."""
    return {name: ",".join(key.strip() for key in keys.split(",")) for name, keys in value.items()}


def _event_patterns(value: Any, base: Path) -> Any:
    return list(dict.fromkeys(event_pattern(item) for item in value))


def _unique(value: Any, base: Path) -> Any:
    return list(dict.fromkeys(value))


def _path(value: Any, base: Path) -> Any:
    return None if value is None else str(absolute_path(value, base))


def _text(value: Any, base: Path) -> Any:
    return str(value)


#: The ``x-convert`` conversions (``host-port`` renames, so the object does it).
_CONVERSIONS: Final[Mapping[str, Prepare]] = {
    "path": _path,
    "key-list": _key_list,
    "event-patterns": _event_patterns,
    "unique": _unique,
    "str": _text,
}


class _Compiler:
    """Compiles schema nodes into :data:`Prepare` closures; ``None`` is "as it is"."""

    def __init__(self) -> None:
        self._done: dict[int, Prepare | None] = {}

    def compile(self, schema: object) -> Prepare | None:
        if not isinstance(schema, Mapping):
            return None
        key = id(schema)
        if key not in self._done:
            self._done[key] = None  # a recursive $ref converts nothing more
            self._done[key] = self._build(schema)
        return self._done[key]

    def _build(self, schema: Mapping[str, Any]) -> Prepare | None:
        target = resolve(schema)
        convert = schema.get("x-convert", target.get("x-convert"))
        if convert in _CONVERSIONS:
            return _CONVERSIONS[convert]
        form = _FORMS.get(schema.get("format", target.get("format")))
        if form is not None:
            return lambda value, base: form(value) if isinstance(value, str) else value
        if "properties" in target:
            return self._object(target)
        if "items" in target:
            item = self.compile(target["items"])
            if item is not None:
                return lambda value, base: (
                    [item(v, base) for v in value] if isinstance(value, list) else value
                )
        return None

    def _object(self, schema: Mapping[str, Any]) -> Prepare | None:
        fields: dict[str, Prepare] = {}
        splits: list[str] = []
        absent: dict[str, Any] = {}
        for name, sub in schema["properties"].items():
            target = resolve(sub)
            if "x-absent" in sub:
                absent[name] = sub["x-absent"]
            if sub.get("x-convert", target.get("x-convert")) == "host-port":
                splits.append(name)
                continue
            compiled = self.compile(sub)
            if compiled is not None:
                fields[name] = compiled
        if not fields and not splits and not absent:
            return None

        def prepare(value: Any, base: Path) -> Any:
            if not isinstance(value, dict):
                return value
            out = {**absent, **value}
            for name, convert in fields.items():
                if name in out:
                    out[name] = convert(out[name], base)
            for name in splits:
                if name in out:
                    out[f"{name}_host"], out[f"{name}_port"] = split_host_port(out.pop(name))
            return out

        return prepare


@cache
def _top() -> Prepare:
    prepare = _Compiler().compile(config_schema())
    assert prepare is not None
    return prepare


def prepare(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``data`` (checked, top-level) with the schema's declared conversions applied;
    relative paths start at ``base``."""
    prepared: dict[str, Any] = _top()(dict(data), base)
    return prepared


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook for the types it does not know: :class:`Secret` and ``Path``
    from text."""
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


def build(data: Mapping[str, Any], source: Path | None, base: Path) -> Config:
    """A :class:`Config` from checked top-level ``data``; ``base`` is the directory
    relative paths start at, ``source`` the file it came from.

    Raises:
        msgspec.ValidationError: ``data`` does not fit the dataclasses (a bug: the
            schema and the dataclasses disagree; ``tests/test_config.py`` keeps them
            in step).
    """
    prepared = prepare(data, base)
    config = msgspec.convert(prepared, Config, dec_hook=_decode)
    ui = dataclasses.replace(config.ui, keymap=MappingProxyType(dict(config.ui.keymap)))
    return dataclasses.replace(config, ui=ui, source=source)
