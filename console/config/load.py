"""The entry points: :func:`parse_config`, :func:`load_config`, :func:`check_config`.

Each runs the stages of :mod:`console.config` in order: read the text
(:mod:`~console.config.source`), validate against the schema
(:mod:`~console.config.schema`, worded by :mod:`~console.config.messages`), check
across entries (:mod:`~console.config.checks`), and only when nothing is wrong build
the dataclasses (:mod:`~console.config.convert`). Problems are sorted by line, then
by document order.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.config.checks import cross_checks, reserved_names, secret_keys
from console.config.convert import build
from console.config.errors import ConfigError, Problem
from console.config.messages import Messages
from console.config.model import Config
from console.config.schema import acceptor, accepts, config_schema, validator
from console.config.source import Found, field_name, read

if TYPE_CHECKING:
    import jsonschema

__all__ = ["check_config", "load_config", "parse_config"]

#: Keywords a top-level list may have for its items to be validated one by one.
_PLAIN_LIST = frozenset({"description", "type", "items", "default"})


def _schema_errors(data: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's errors for ``data``; the entries of the top-level lists
    (``devices``...) that the compiled acceptor accepts skip jsonschema, the others
    are validated alone and their errors given their full path. A document the
    compiled acceptor of the whole schema accepts has none (jsonschema is not even
    imported: the demo and every valid file start without it)."""
    whole = acceptor("#")
    if whole is not None and accepts(whole, data):
        return
    full = validator()
    split: dict[str, tuple[Mapping[str, Any], Any]] = {}
    for name, sub in config_schema()["properties"].items():
        items = sub.get("items") if isinstance(sub, Mapping) else None
        if (
            isinstance(data.get(name), list)
            and set(sub) <= _PLAIN_LIST
            and isinstance(items, Mapping)
            and isinstance(items.get("$ref"), str)
        ):
            accept = acceptor(items["$ref"])
            if accept is not None:
                split[name] = (items, accept)
    yield from full.iter_errors({**data, **{name: [] for name in split}})
    for name, (items, accept) in split.items():
        alone = full.evolve(schema=items)
        for index, item in enumerate(data[name]):
            if accepts(accept, item):
                continue
            for error in alone.iter_errors(item):
                error.path.appendleft(index)
                error.path.appendleft(name)
                yield error


def _analyse(
    text: str,
    source: str,
    environ: Mapping[str, str] | None,
    path: Path | None,
    *,
    build_config: bool = True,
) -> tuple[Config | None, list[Problem]]:
    """Parse, validate and build (unless ``build_config`` is false: ``check``);
    returns the config (``None`` when invalid or not built) and the problems sorted by
    line. Relative paths start at the directory of ``path``, or at the working
    directory when there is no file."""
    collecting = gc.isenabled()
    gc.disable()  # a large file makes millions of containers and no cycle
    try:
        return _stages(text, source, environ, path, build_config)
    finally:
        if collecting:
            gc.enable()


def _stages(
    text: str,
    source: str,
    environ: Mapping[str, str] | None,
    path: Path | None,
    build_config: bool,
) -> tuple[Config | None, list[Problem]]:
    """:func:`_analyse` with the collector off."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    base = (Path.cwd() if path is None else path.parent).absolute()
    doc = read(text, env, secret_keys())
    if isinstance(doc.data, dict):
        reserved_names(doc)
        messages = Messages(doc)
        for error in _schema_errors(doc.data):
            messages.convert(error)
        cross_checks(doc, base)

    def position(found: Found) -> tuple[int, tuple[int, ...]]:
        """Sort key: the line, then document order (the nearest ancestor present)."""
        return found.line or 0, doc.order(found.path)

    problems = [
        Problem(source, found.line, field_name(found.path), found.message)
        for found in sorted(doc.found, key=position)
    ]
    if problems or not isinstance(doc.data, dict) or not build_config:
        return None, problems
    return build(doc.data, path, base), problems


def _read_file(path: str | os.PathLike[str]) -> tuple[str | None, Problem | None]:
    """The file's text (UTF-8, an optional BOM dropped), or the problem reading it."""
    name = os.fspath(path)
    try:
        return Path(path).read_text(encoding="utf-8-sig"), None
    except UnicodeDecodeError as error:
        return None, Problem(name, None, "", f"not UTF-8 text (bad byte at offset {error.start})")
    except OSError as error:
        return None, Problem(name, None, "", f"cannot read the file: {error.strerror or error}")
    except ValueError as error:  # an embedded NUL in the path name
        return None, Problem(name, None, "", f"cannot read the file: {error}")


def parse_config(
    text: str, *, source: str = "<string>", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate configuration ``text`` (YAML) and return it as a :class:`Config`.

    Args:
        text: the YAML document.
        source: the name problems give as their file (``Config.source`` stays ``None``).
        environ: variables for ``${NAME}`` substitution; ``os.environ`` when ``None``.

    Raises:
        ConfigError: the text is not a valid configuration; ``.problems`` lists every
            problem found.
    """
    config, problems = _analyse(text, source, environ, None)
    if config is None:
        raise ConfigError(problems)
    return config


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, validate and return the configuration file at ``path`` (UTF-8 YAML).

    ``Config.source`` is ``Path(path)``; problems name the file as ``str(path)``.
    ``environ`` (default ``os.environ``) supplies ``${NAME}`` substitutions.

    Raises:
        ConfigError: the file cannot be read or is not a valid configuration;
            ``.problems`` lists every problem found.
    """
    text, problem = _read_file(path)
    if text is None:
        raise ConfigError([problem] if problem else [])
    config, problems = _analyse(text, os.fspath(path), environ, Path(path))
    if config is None:
        raise ConfigError(problems)
    return config


def check_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> list[Problem]:
    """Return every problem of the configuration file at ``path``, sorted by line; an
    empty list means :func:`load_config` would succeed. Never raises for a bad file
    (an unreadable one is a problem too). ``environ`` as for :func:`load_config`."""
    text, problem = _read_file(path)
    if text is None:
        return [problem] if problem else []
    return _analyse(text, os.fspath(path), environ, Path(path), build_config=False)[1]
