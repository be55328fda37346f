"""Reading the configuration text: YAML to plain data, with where each part came from.

Stages 1 and 2 of :mod:`console.config`:

1. the text is parsed by libyaml (PyYAML's ``CSafeLoader`` events) and plain data
   (dicts, lists, scalars read as PyYAML's safe constructor reads them, YAML 1.1
   types) is built straight from the events, keeping the line of every key and value
   in a compact table (:class:`Document`); duplicate keys, unknown tags, non-finite
   numbers, aliases that refer to their own anchor or expand past
   :data:`MAX_ALIASED_NODES` values, nesting deeper than :data:`MAX_DEPTH` levels and
   control characters anywhere in the text are problems, never exceptions;
2. ``${ENV_VAR}`` references inside string values are substituted (``$${`` is a
   literal ``${``); a variable that is not set is a problem naming the variable.

A YAML syntax error is worded as PyYAML's pure-Python parser words it (the same words
as before libyaml was used) for texts up to :data:`_REWORD_LIMIT` characters.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from console.config.errors import DocumentTooLarge
from console.wording import kind

__all__ = ["MAX_ALIASED_NODES", "MAX_DEPTH", "DocPath", "Document", "Found", "field_name", "read"]

DocPath = tuple[str | int, ...]
"""A location in the document: mapping keys and sequence indexes from the top."""

#: Values that aliases may add to the document (a "billion laughs" guard); the
#: document's own values are not counted, so a 100,000-device file is fine.
MAX_ALIASED_NODES: Final = 100_000
#: Deepest nesting of mappings and sequences (a real configuration needs 6).
MAX_DEPTH: Final = 64
#: Largest text whose YAML syntax errors are re-worded by the pure-Python parser.
_REWORD_LIMIT: Final = 1_000_000

_STR_TAG: Final = "tag:yaml.org,2002:str"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: What YAML 1.1 (and PyYAML's reader) does not allow anywhere in a stream.
_NON_PRINTABLE: Final = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

_ENV_REFERENCE: Final = r"""
    \$(?:
        (?P<escaped>\$(?=\{))                   |
        \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}  |
        (?P<named>(?!))                         |
        (?P<invalid>\{)
    )
"""


class _EnvTemplate(string.Template):
    """``${NAME}`` references; ``$${`` is a literal ``${``; a lone ``$`` stays as is."""

    pattern = _ENV_REFERENCE  # type: ignore[assignment]  # Template compiles the string


def field_name(path: DocPath) -> str:
    """``("devices", 0, "snmp", "community")`` -> ``devices[0].snmp.community``; keys
    other than letters, digits, ``_`` and ``-`` are quoted (``ui.keymap['app.quit']``)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


@dataclass
class Found:
    """A problem before it is given its file name."""

    line: int | None
    path: DocPath
    message: str


@dataclass
class Document:
    """Plain data built from the YAML text, with where each part came from.

    Lines are kept per container, not per path (a 100,000-device file has a million
    paths): ``_where[id(container)]`` is the container's offset in ``_lines``, which
    holds its own start line, then per dict entry (in dict order) the key's and the
    value's line, or per list item its line. An alias shares its anchor's data, so a
    path through an alias finds the anchor's lines (as before).

    ``from_env`` holds the ``(id(container), key)`` slots whose value came from an
    environment variable, and ``secrets`` the credential values seen (``x-secret``
    fields, substituted variables): neither is ever echoed. ``broken`` paths (and
    ``broken_slots``) already have a problem, so schema errors at or below them are
    not reported twice.
    """

    data: object = None
    root_line: int | None = None
    from_env: set[tuple[int, str | int]] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    broken: set[DocPath] = field(default_factory=set)
    broken_slots: set[tuple[int, str | int]] = field(default_factory=set)
    found: list[Found] = field(default_factory=list)
    _lines: array[int] = field(default_factory=lambda: array("L"))
    _where: dict[int, int] = field(default_factory=dict)
    _key_ranks: dict[int, dict[str | int, int]] = field(default_factory=dict)

    def _rank(self, container: dict[Any, Any], key: str | int) -> int:
        """Position of ``key`` in ``container``'s order; the positions of a mapping
        are indexed once (a file with 20,000 keys asks for each of them)."""
        ranks = self._key_ranks.get(id(container))
        if ranks is None or len(ranks) != len(container):
            ranks = {name: n for n, name in enumerate(container)}
            self._key_ranks[id(container)] = ranks
        return ranks[key]

    def report(self, path: DocPath, line: int | None, message: str) -> None:
        """Record a problem at ``path`` and mark the path as already reported."""
        self.found.append(Found(line, path, message))
        self.broken.add(path)

    def register(self, container: object, own_line: int, lines: Iterable[int]) -> None:
        """Record the lines of ``container`` (see the class docstring for the layout)."""
        self._where[id(container)] = len(self._lines)
        self._lines.append(own_line)
        self._lines.extend(lines)

    def _walk(self, path: DocPath) -> Iterator[tuple[object, str | int]]:
        """``(container, key)`` along ``path`` while the data has it."""
        node: Any = self.data
        for part in path:
            if isinstance(node, dict):
                found = isinstance(part, str) and part in node
            else:
                found = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            if not found:
                return
            yield node, part
            node = node[part]

    def line_of(self, path: DocPath, *, key: bool = False) -> int | None:
        """Line of the key naming ``path`` (``key=True``, falling back to the value),
        or of its value; ``None`` when the data has no such path."""
        if not path:
            return self.root_line
        steps = list(self._walk(path))
        if len(steps) != len(path):
            return None
        container, part = steps[-1]
        offset = self._where.get(id(container))
        if offset is None:
            return None
        if isinstance(container, dict):
            index = 2 * self._rank(container, part)
            return self._lines[offset + 1 + index + (0 if key else 1)] or None
        assert isinstance(part, int)
        return self._lines[offset + 1 + part] or None

    def order(self, path: DocPath) -> tuple[int, ...]:
        """Document order of ``path`` (its nearest existing ancestor), for sorting
        problems that share a line."""
        ranks: list[int] = []
        for container, part in self._walk(path):
            ranks.append(self._rank(container, part) if isinstance(container, dict) else int(part))
        return tuple(ranks)

    def is_broken(self, path: DocPath) -> bool:
        """Whether ``path`` or one of its ancestors already has a problem."""
        if any(path[:n] in self.broken for n in range(len(path) + 1)):
            return True
        slots = self.broken_slots
        return bool(slots) and any((id(c), k) in slots for c, k in self._walk(path))

    def hidden(self, path: DocPath, value: object = None) -> bool:
        """Whether the value at ``path`` must not be echoed: it came (wholly or partly)
        from the environment, or it is, or contains, a credential seen elsewhere (a
        community pasted into the wrong field); credentials shorter than 6 characters
        only count when equal, so short ones do not hide every name holding a letter."""
        if self.from_env and any((id(c), k) in self.from_env for c, k in self._walk(path)):
            return True
        if not isinstance(value, str):
            return False
        return any(
            value == secret or (len(secret) >= 6 and secret in value) for secret in self.secrets
        )


def line_of_mark(mark: yaml.Mark | None) -> int | None:
    """1-based line of a YAML mark (marks count from 0)."""
    return None if mark is None else mark.line + 1


def yaml_message(error: yaml.MarkedYAMLError) -> str:
    """The YAML error's own words, without the source snippet (it may hold a secret):
    ``invalid YAML: <problem> (<context> at line N)``."""
    text = f"invalid YAML: {error.problem or error.context or 'cannot parse'}"
    if error.problem and error.context:
        where = line_of_mark(error.context_mark)
        text += f" ({error.context} at line {where})" if where else f" ({error.context})"
    return text


def _mark(line: int) -> yaml.Mark:
    """A mark at 1-based ``line``, for errors worded like PyYAML's."""
    return yaml.Mark("", 0, line - 1, 0, "", 0)


class _Stop(Exception):
    """Reading stops with one problem for the whole document."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Frame:
    """An open mapping or sequence while its events arrive."""

    __slots__ = (
        "anchor",
        "container",
        "is_map",
        "key",
        "key_line",
        "lines",
        "merges",
        "own",
        "size",
        "slot",
    )

    def __init__(self, container: Any, own: int, slot: str | int, anchor: str | None) -> None:
        self.container = container
        self.is_map = isinstance(container, dict)
        self.own = own
        self.slot = slot  # the key or index under which it sits in its parent
        self.anchor = anchor
        self.size = 1
        self.key: str | None = None  # a mapping waiting for this key's value
        self.key_line = 0
        #: dict: key -> (key line, value line); list: item lines
        self.lines: Any = {} if isinstance(container, dict) else []
        self.merges: list[tuple[object, int]] = []


_BAD_KEY: Final = "\x00bad key"  # a key that was a list or mapping: its value is dropped
_MERGE: Final = "\x00merge"
_COMPLEX: Final = "\x00complex key"  # the container being read is a mapping's key


class _Reader:
    """Builds a :class:`Document` from libyaml's events, substituting ``${VAR}``."""

    def __init__(
        self, loader: yaml.CSafeLoader, environ: Mapping[str, str], secret_keys: frozenset[str]
    ) -> None:
        self._loader: Any = loader  # PyYAML's C loader is untyped
        self._environ = environ
        self._secret_keys = secret_keys
        resolvers = loader.yaml_implicit_resolvers
        #: first characters of plain scalars that may be other than text (None: any)
        self._typed_starts = None if None in resolvers else frozenset(resolvers)
        self._tags: dict[str, str] = {}  # plain scalar text -> resolved tag (bounded)
        self._anchors: dict[str, tuple[object, int, int]] = {}  # value, line, size
        self._open: set[str] = set()  # anchors of containers still being read
        self._aliased = 0
        self._missing: set[tuple[int, str]] = set()
        self._keys: dict[str, str] = {}
        self.doc = Document()

    # ------------------------------------------------------------------ events

    def run(self) -> None:
        """Read the single document (stages 1 and 2).

        Raises:
            yaml.MarkedYAMLError: a syntax error, or a composition error (undefined
                alias, duplicate anchor, a second document), worded as PyYAML's.
            _Stop: nesting deeper than :data:`MAX_DEPTH`.
            DocumentTooLarge: aliases add more than :data:`MAX_ALIASED_NODES` values.
        """
        get = self._loader.get_event
        event: Any = get()
        assert isinstance(event, StreamStartEvent)
        event = get()
        if isinstance(event, StreamEndEvent):
            return
        assert isinstance(event, DocumentStartEvent)
        self._document(get)
        event = get()
        assert isinstance(event, DocumentEndEvent)
        event = get()
        if not isinstance(event, StreamEndEvent):
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                _mark(self.doc.root_line or 1),
                "but found another document",
                event.start_mark,
            )

    def _document(self, get: Any) -> None:
        stack: list[_Frame] = []
        doc = self.doc
        scalar_event, alias_event = ScalarEvent, AliasEvent
        mapping_start, sequence_start = MappingStartEvent, SequenceStartEvent
        keys = self._keys
        tags = self._tags
        typed_starts = self._typed_starts
        secret_keys = self._secret_keys
        while True:
            event: Any = get()
            cls = event.__class__
            size = 1
            if cls is scalar_event:
                line = event.start_mark.line + 1
                top = stack[-1] if stack else None
                text = event.value
                if top is not None and top.is_map and top.key is None:
                    # a key (the common case inline: this runs for every key)
                    if text == "<<" and event.implicit[0] and event.tag is None:
                        self._key(stack, text, line, merge=True)
                        continue
                    key = keys.get(text)
                    if key is None:
                        key = keys.setdefault(text, text)
                    if key in top.lines:
                        self._key(stack, key, line)
                        continue
                    top.key, top.key_line = key, line
                    continue
                plain = (
                    event.tag is None
                    and event.anchor is None
                    and event.implicit[0]
                    and "$" not in text
                    and typed_starts is not None
                )
                if plain and text[:1] in typed_starts:  # type: ignore[operator]
                    plain = (tags.get(text) or self._resolve_plain(text, event.implicit)) == (
                        _STR_TAG
                    )
                if plain and top is not None:
                    # plain text (the common case, inline): straight into its container
                    if top.is_map:
                        key = top.key
                        if key is not None and key[:1] != "\x00":
                            top.container[key] = text
                            top.lines[key] = (top.key_line, line)
                            top.key = None
                            top.size += 1
                            if key in secret_keys and text:
                                doc.secrets.add(text)
                            continue
                    else:
                        top.container.append(text)
                        top.lines.append(line)
                        top.size += 1
                        continue
                if plain:
                    value = text
                else:
                    value = self._scalar(event, stack, line)
                    if event.anchor is not None:
                        self._anchor(event.anchor, value, line, 1, event.start_mark)
            elif cls is mapping_start or cls is sequence_start:
                line = event.start_mark.line + 1
                if len(stack) >= MAX_DEPTH:
                    raise _Stop(line, f"invalid YAML: nested more than {MAX_DEPTH} levels deep")
                if event.anchor is not None:
                    self._check_anchor(event.anchor, event.start_mark)
                    self._open.add(event.anchor)
                if stack and stack[-1].is_map and stack[-1].key is None:
                    self.doc.report(
                        tuple(f.slot for f in stack[1:]),
                        line,
                        "keys must be plain text, not lists or mappings",
                    )
                    stack[-1].key = _COMPLEX
                slot = self._slot(stack)
                container: Any = {} if cls is mapping_start else []
                if event.anchor is not None:
                    self._anchors[event.anchor] = (container, line, 0)
                stack.append(_Frame(container, line, slot, event.anchor))
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                frame = stack.pop()
                value, line, size = self._close(frame), frame.own, frame.size
                if frame.anchor is not None:
                    self._open.discard(frame.anchor)
                    self._anchors[frame.anchor] = (value, line, size)
            elif cls is alias_event:
                line = event.start_mark.line + 1
                value, line, size = self._alias(event, stack, line)
                if stack and stack[-1].is_map and stack[-1].key is None:
                    if isinstance(value, str):
                        self._key(stack, value, event.start_mark.line + 1)
                        continue
                    self.doc.report(
                        tuple(f.slot for f in stack[1:]),
                        line,
                        "keys must be plain text, not lists or mappings",
                    )
                    stack[-1].key = _COMPLEX
            else:  # pragma: no cover - libyaml gives no other event inside a document
                raise _Stop(event.start_mark.line + 1, f"invalid YAML: unexpected {cls.__name__}")
            if not stack:
                doc.data, doc.root_line = value, line
                return
            self._add(stack[-1], value, line, size)

    def _slot(self, stack: list[_Frame]) -> str | int:
        """The key or index the next value takes in the innermost open container."""
        if not stack:
            return ""
        top = stack[-1]
        if isinstance(top.container, dict):
            return top.key if top.key is not None else _BAD_KEY
        return len(top.container)

    def _path(self, stack: list[_Frame]) -> DocPath:
        """The path of the next value of the innermost open container."""
        if not stack:
            return ()
        return (*(frame.slot for frame in stack[1:]), self._slot(stack))

    def _key(self, stack: list[_Frame], text: str, line: int, *, merge: bool = False) -> None:
        """The next key of the innermost (mapping) frame; a repeated key is a problem."""
        frame = stack[-1]
        if merge:
            frame.key, frame.key_line = _MERGE, line
            return
        key = self._keys.setdefault(text, text)
        lines = frame.lines
        assert isinstance(lines, dict)
        if key in lines:
            path = (*(f.slot for f in stack[1:]), key)
            self.doc.report(path, line, f"duplicate key {key!r} (first at line {lines[key][0]})")
        frame.key, frame.key_line = key, line

    def _add(self, frame: _Frame, value: object, line: int, size: int) -> None:
        """Put ``value`` (at ``line``) into the innermost open container."""
        frame.size += size
        container = frame.container
        if isinstance(container, list):
            container.append(value)
            lines = frame.lines
            assert isinstance(lines, list)
            lines.append(line)
            return
        key = frame.key
        if key == _COMPLEX:  # the finished container was a key: drop its value
            frame.key = _BAD_KEY
            return
        frame.key = None
        if key is None or key == _BAD_KEY:
            return
        if key == _MERGE:
            frame.merges.append((value, line))
            return
        container[key] = value
        lines = frame.lines
        assert isinstance(lines, dict)
        lines[key] = (frame.key_line, line)
        if key in self._secret_keys:
            values = value if isinstance(value, list) else [value]
            self.doc.secrets.update(v for v in values if isinstance(v, str) and v)

    def _close(self, frame: _Frame) -> object:
        """The finished container, merges (``<<``) applied, its lines registered."""
        container = frame.container
        lines = frame.lines
        if isinstance(container, list):
            assert isinstance(lines, list)
            self.doc.register(container, frame.own, lines)
            return container
        assert isinstance(lines, dict)
        if frame.merges:
            container, lines = self._merge(frame, container, lines)
        # `lines` got its keys in the same order as `container` (both are written
        # together): its values are the container's (key line, value line) in order
        self.doc.register(container, frame.own, chain.from_iterable(lines.values()))
        return container

    def _merge(
        self, frame: _Frame, own: dict[str, object], own_lines: dict[str, tuple[int, int]]
    ) -> tuple[dict[str, object], dict[str, tuple[int, int]]]:
        """PyYAML's merge keys: merged mappings first (of a list, the first listed
        wins), then the mapping's own keys override."""
        pairs: list[tuple[str, object, tuple[int, int]]] = []
        for value, line in frame.merges:
            if isinstance(value, dict):
                sources = [value]
            elif isinstance(value, list):
                sources = []
                for index, item in enumerate(value):
                    if not isinstance(item, dict):
                        item_line = self.doc._lines[self.doc._where[id(value)] + 1 + index]
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            _mark(frame.own),
                            f"expected a mapping for merging, but found {_node_id(item)}",
                            _mark(item_line),
                        )
                    sources.append(item)
                sources.reverse()
            else:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    _mark(frame.own),
                    "expected a mapping or list of mappings for merging, but found "
                    f"{_node_id(value)}",
                    _mark(line),
                )
            for source in sources:
                offset = self.doc._where.get(id(source), -1)
                for index, (key, item) in enumerate(source.items()):
                    at = offset + 1 + 2 * index
                    where = (
                        (self.doc._lines[at], self.doc._lines[at + 1]) if offset >= 0 else (0, 0)
                    )
                    pairs.append((key, item, where))
        merged: dict[str, object] = {}
        lines: dict[str, tuple[int, int]] = {}
        for key, item, where in pairs:
            merged[key] = item
            lines[key] = where
        for key, item in own.items():
            merged[key] = item
            lines[key] = own_lines[key]
        return merged, lines

    def _alias(self, event: Any, stack: list[_Frame], line: int) -> tuple[object, int, int]:
        anchor = event.anchor
        if anchor not in self._anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {anchor!r}", event.start_mark
            )
        value, anchor_line, size = self._anchors[anchor]
        if anchor in self._open:
            self.doc.report(
                self._path(stack), anchor_line, "an alias refers to its own anchor (recursive data)"
            )
            return None, anchor_line, 1
        self._aliased += size
        if self._aliased > MAX_ALIASED_NODES:
            raise DocumentTooLarge
        return value, anchor_line, size

    def _check_anchor(self, anchor: str, mark: yaml.Mark) -> None:
        if anchor in self._anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                _mark(self._anchors[anchor][1]),
                "second occurrence",
                mark,
            )

    def _anchor(self, anchor: str, value: object, line: int, size: int, mark: yaml.Mark) -> None:
        self._check_anchor(anchor, mark)
        self._anchors[anchor] = (value, line, size)

    # ------------------------------------------------------------------ scalars

    def _scalar(self, event: Any, stack: list[_Frame], line: int) -> object:
        """The scalar as PyYAML's safe constructor reads it (YAML 1.1 types), with
        ``${VAR}`` substituted in strings; unknown tags and ``.inf``/``.nan`` are
        problems."""
        tag = event.tag
        text = event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                tag = self._loader.resolve(yaml.ScalarNode, text, event.implicit)
            elif self._typed_starts is not None and text[:1] not in self._typed_starts:
                tag = _STR_TAG  # no implicit resolver starts with this character
            else:
                tag = self._tags.get(text) or self._resolve_plain(text, event.implicit)
        if tag == _STR_TAG:
            return self._substitute(text, stack, line) if "$" in text else text
        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
        loader = self._loader
        try:
            value: object = loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as error:
            self._problem(stack, line_of_mark(error.problem_mark) or line, yaml_message(error))
            return None
        except (ValueError, TypeError):  # `!!int abc`: PyYAML's constructor gives up
            self._problem(stack, line, f"invalid YAML: not a valid {tag.rsplit(':', 1)[-1]}")
            return None
        finally:
            loader.constructed_objects.clear()
        if isinstance(value, float) and not math.isfinite(value):
            self._problem(stack, line, "must be a finite number (.inf and .nan are not allowed)")
            return None
        return value

    def _resolve_plain(self, text: str, implicit: tuple[bool, bool]) -> str:
        """The tag of a plain scalar (PyYAML's resolver), remembered for repeats."""
        tag: str = self._loader.resolve(yaml.ScalarNode, text, implicit)
        if len(self._tags) > 10_000:
            self._tags.clear()
        self._tags[text] = tag
        return tag

    def _problem(self, stack: list[_Frame], line: int, message: str) -> None:
        """Report a problem for the value about to be added (and its slot, so that a
        path through an alias counts as reported too)."""
        self.doc.report(self._path(stack), line, message)
        if stack:
            self.doc.broken_slots.add((id(stack[-1].container), self._slot(stack)))

    def _substitute(self, value: str, stack: list[_Frame], line: int) -> str:
        """``value`` with its ``${NAME}`` references replaced from the environment; a
        malformed reference or an unset variable is a problem (``value`` is kept)."""
        template = _EnvTemplate(value)
        if not template.is_valid():
            self._problem(
                stack,
                line,
                "malformed ${...} reference: write ${NAME} (letters, digits and '_'), "
                "or $${ for a literal '${'",
            )
            return value
        names = template.get_identifiers()
        missing = [name for name in names if name not in self._environ]
        for name in missing:
            self._missing.add((line, name))
            self._problem(stack, line, f"environment variable {name!r} is not set")
        if missing:
            return value
        if names:
            slot = (id(stack[-1].container), self._slot(stack)) if stack else (0, "")
            self.doc.from_env.add(slot)
            self.doc.secrets.update(self._environ[name] for name in names)
        return template.substitute(self._environ)


def _node_id(value: object) -> str:
    """PyYAML's node kind of built data: ``mapping``, ``sequence`` or ``scalar``."""
    return (
        "mapping"
        if isinstance(value, dict)
        else "sequence"
        if isinstance(value, list)
        else "scalar"
    )


def _control_character(text: str) -> tuple[int, str] | None:
    """The line and a description of the first character YAML does not allow."""
    bad = _NON_PRINTABLE.search(text)
    if bad is None:
        return None
    char = bad.group()
    line = text.count("\n", 0, bad.start()) + 1
    name = unicodedata.name(char, "") or {0: "NUL", 7: "BEL", 27: "ESC"}.get(ord(char), "")
    shown = f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return line, (
        f"invalid YAML: the control character {shown} is not allowed anywhere in the "
        "file, not even in a comment or a quoted string (write it as an escape like "
        '"\\x07" in a double-quoted string)'
    )


def _reword(text: str) -> yaml.MarkedYAMLError | None:
    """The syntax error PyYAML's pure-Python parser finds in ``text`` (its words are
    the ones fleettop always gave), or ``None``."""
    if len(text) > _REWORD_LIMIT:
        return None
    loader: Any = yaml.SafeLoader(text)
    try:
        while loader.get_event() is not None:
            pass
    except yaml.MarkedYAMLError as error:
        return error
    except (yaml.YAMLError, IndexError):
        return None
    finally:
        loader.dispose()
    return None


def read(
    text: str, environ: Mapping[str, str], secret_keys: frozenset[str] = frozenset()
) -> Document:
    """Parse ``text`` into a :class:`Document` (stages 1 and 2); never raises for a
    bad text: every problem is in ``Document.found``. Every non-empty string under a
    key of ``secret_keys`` (a list's strings too), wherever it is, joins
    ``Document.secrets``."""
    control = _control_character(text)
    if control is not None:
        doc = Document()
        doc.report((), *control)
        return doc
    loader = yaml.CSafeLoader(text)
    reader = _Reader(loader, environ, secret_keys)
    try:
        reader.run()
    except yaml.composer.ComposerError as error:
        return _whole(error.problem_mark, yaml_message(error))
    except yaml.constructor.ConstructorError as error:
        return _whole(error.problem_mark, yaml_message(error))
    except yaml.MarkedYAMLError as error:
        if "maximum nesting depth" in str(error.problem):
            # libyaml's own depth guard (1,000 levels) fired before ours could; the
            # pure-Python parser would take a minute to say the same of a deep flow.
            return _whole(
                error.problem_mark, f"invalid YAML: nested more than {MAX_DEPTH} levels deep"
            )
        better = _reword(text) or error
        return _whole(better.problem_mark, yaml_message(better))
    except yaml.YAMLError as error:  # libyaml's reader: bad encoding and the like
        return _whole(None, f"invalid YAML: {getattr(error, 'reason', None) or 'cannot parse'}")
    except _Stop as stop:
        doc = Document()
        doc.report((), stop.line, stop.message)
        return doc
    except DocumentTooLarge:
        reader.doc.report((), None, f"the document expands to more than {MAX_ALIASED_NODES} values")
        reader.doc.data = None
    finally:
        loader.dispose()
    doc = reader.doc
    if doc.root_line is None and doc.data is None and not doc.found:
        doc.report((), None, "the file is empty; expected a mapping with a 'devices' list")
        return doc
    if not isinstance(doc.data, dict) and () not in doc.broken:
        doc.report(
            (),
            doc.line_of(()),
            f"the top level must be a mapping with a 'devices' list, got {kind(doc.data)}",
        )
    return doc


def _whole(mark: yaml.Mark | None, message: str) -> Document:
    """A document with one problem about the whole text."""
    doc = Document()
    doc.report((), line_of_mark(mark), message)
    return doc
