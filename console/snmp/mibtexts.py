"""DESCRIPTION texts of the loaded MIB modules, read from their sources when asked.

fleettop compiles MIB modules without their texts (``genTexts=False``) and pysnmp
loads them with ``loadTexts`` off, which keeps start-up and memory small. The MIB
browser needs the texts (to show an object's DESCRIPTION, and to search them), so
:class:`MibTexts` reads them on demand, in a worker thread, when the browser first
opens:

* from each MIB *source* (``mib_paths`` and fleettop's vendored base modules,
  :data:`console.snmp.mibs.BASE_DIR`), scanned with the lexical rules of ASN.1 as
  SMI uses them (RFC 2578 §3: ``--`` comments end at the next ``--`` or the end of
  the line; strings are ``"..."`` and may span lines): every ``descriptor MACRO``
  (``OBJECT-TYPE``, ``NOTIFICATION-TYPE``, ``MODULE-IDENTITY``, ``OBJECT-IDENTITY``,
  ``OBJECT-GROUP``, ``NOTIFICATION-GROUP``, ``MODULE-COMPLIANCE``,
  ``AGENT-CAPABILITIES``, SMIv1's ``TRAP-TYPE``) and ``Name ::= TEXTUAL-CONVENTION``
  gets the first DESCRIPTION string that follows it;
* from pysnmp's own compiled modules (``SNMPv2-MIB``, ``SNMP-FRAMEWORK-MIB``...) and
  the standard ones of the PyPI package ``pysnmp-mibs`` (``IP-MIB``, ``UPS-MIB``...),
  whose generated code keeps the texts behind ``if mibBuilder.loadTexts:``
  (``sysDescr.setDescription("...")``), read with :mod:`ast`, never executed.

pysmi's parser is not used: it takes a good fraction of a second per module, and a
search of the texts needs every module's (a scan of ~500 sources takes about a
second). The texts are kept as written, with the common indentation of their lines
removed (what ``snmptranslate -Td`` prints inside the quotes). Pure Python, no
Textual.
"""

from __future__ import annotations

import ast
import logging
import re
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from console.snmp.mibs import MIB_SUFFIXES

__all__ = ["MACROS", "MibTexts", "reflow", "scan_descriptions", "scan_pysnmp_module"]

mlog = logging.getLogger(__name__)

#: The SMI macros whose invocations carry a DESCRIPTION (RFC 2578, 2579, 2580; RFC 1215).
MACROS: Final = frozenset(
    {
        "OBJECT-TYPE",
        "NOTIFICATION-TYPE",
        "OBJECT-IDENTITY",
        "MODULE-IDENTITY",
        "TEXTUAL-CONVENTION",
        "OBJECT-GROUP",
        "NOTIFICATION-GROUP",
        "MODULE-COMPLIANCE",
        "AGENT-CAPABILITIES",
        "TRAP-TYPE",
    }
)

# a string, a comment (to the next -- or the end of the line), ::=, a word, a character
_TOKEN: Final = re.compile(r'"[^"]*"|--.*?(?:--|$)|::=|[A-Za-z](?:[A-Za-z0-9_]|-(?!-))*|\S', re.M)

Key = tuple[str, str]
"""``(module, descriptor)``."""


def _clean(text: str) -> str:
    """A DESCRIPTION string's content with the common indentation of its lines after
    the first removed, trailing blanks trimmed."""
    first, _, rest = text.strip("\n").partition("\n")
    body = textwrap.dedent(rest) if rest else ""
    lines = [first.strip(), *body.splitlines()] if body else [first.strip()]
    return "\n".join(line.rstrip() for line in lines).strip()


def reflow(text: str) -> str:
    """``text`` (a DESCRIPTION as written) with the line breaks inside its paragraphs
    removed, so that a pane of any width wraps it evenly; blank lines between
    paragraphs stay, and so do the breaks before an indented line or a list item
    (``-``, ``*``, ``(a)``) and after a line ending in ``:``."""
    paragraphs = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        lines = paragraph.split("\n")
        merged = [lines[0].rstrip()]
        for line in lines[1:]:
            keep = line[:1].isspace() or line.lstrip()[:1] in ("-", "*", "(")
            if keep or merged[-1].endswith(":"):
                merged.append(line.rstrip())
            else:
                merged[-1] = f"{merged[-1]} {line.strip()}"
        paragraphs.append("\n".join(merged))
    return "\n\n".join(paragraphs)


def scan_descriptions(source: str) -> dict[Key, str]:
    """The DESCRIPTION of every macro invocation of the MIB module(s) in ``source``.

    Args:
        source: the text of a MIB source file (one or more ``X DEFINITIONS ::=
            BEGIN ... END`` modules).

    Returns:
        ``(module, descriptor) -> text`` (indentation removed); a module without a
        ``DEFINITIONS`` header is named ``""``. Never raises.
    """
    tokens = [t for t in _TOKEN.findall(source) if not t.startswith("--")]
    found: dict[Key, str] = {}
    module = ""
    current: str | None = None
    for position, token in enumerate(tokens):
        if token == "DEFINITIONS" and position > 0:
            module, current = tokens[position - 1], None
        elif token in MACROS and position > 0:
            before = tokens[position - 1]
            if before == "::=" and position > 1 and tokens[position - 2][:1].isalpha():
                current = tokens[position - 2]  # Name ::= TEXTUAL-CONVENTION
            elif before[:1].islower() and before[:1].isalpha():
                current = before  # descriptor OBJECT-TYPE (an IMPORTS list has commas)
            else:
                current = None
        elif token == "DESCRIPTION" and current is not None:
            text = tokens[position + 1] if position + 1 < len(tokens) else ""
            if text.startswith('"'):
                found.setdefault((module, current), _clean(text[1:-1]))
            current = None
    return found


def scan_pysnmp_module(code: str, module: str) -> dict[Key, str]:
    """The descriptions pysnmp's generated code of ``module`` sets behind
    ``if mibBuilder.loadTexts:`` (``sysDescr.setDescription("...")``; the
    variable is the descriptor). Never raises (a file that does not parse: none)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    found: dict[Key, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "setDescription"):
            continue
        target, text = func.value, node.args[0]
        if (
            isinstance(target, ast.Name)
            and isinstance(text, ast.Constant)
            and isinstance(text.value, str)
        ):
            found.setdefault((module, target.id), _clean(text.value))
    return found


class MibTexts:
    """DESCRIPTION texts by ``(module, descriptor)``, and a search over them.

    Args:
        texts: ``(module, descriptor) -> text``.

    Built with :meth:`from_sources` (blocking: a worker thread). Immutable, so
    thread-safe.
    """

    def __init__(self, texts: Mapping[Key, str]) -> None:
        self._texts = dict(texts)
        self._folded = {key: text.casefold() for key, text in self._texts.items()}

    def __len__(self) -> int:
        """How many objects have a text."""
        return len(self._texts)

    def description(self, module: str, name: str) -> str:
        """The DESCRIPTION of ``module::name``, or ``""`` when no source has it."""
        return self._texts.get((module, name), "")

    def search(self, needle: str, *, limit: int = 500) -> list[Key]:
        """The ``(module, descriptor)`` whose text contains ``needle`` (any case;
        blanks in ``needle`` match any run of blanks, so a phrase across lines is
        found), at most ``limit``, in module then descriptor order."""
        words = needle.casefold().split()
        if not words:
            return []
        phrase = " ".join(words)
        found: list[Key] = []
        for key, text in self._folded.items():
            if words[0] in text and (len(words) == 1 or phrase in " ".join(text.split())):
                found.append(key)
        found.sort()
        return found[:limit]

    @classmethod
    def from_sources(
        cls, sources: Iterable[str | Path], pysnmp_modules: Iterable[str | Path] = ()
    ) -> MibTexts:
        """Read the texts of MIB ``sources`` (files or directories of them) and of
        pysnmp's compiled ``pysnmp_modules`` (``.py`` files; the module is the file's
        stem). A source read earlier wins over a later one for the same object;
        unreadable files are skipped (logged at debug level)."""
        texts: dict[Key, str] = {}
        for path in _files(sources):
            if path.suffix.lower() not in MIB_SUFFIXES:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                mlog.debug("cannot read MIB source %s: %s", path, exc)
                continue
            for key, value in scan_descriptions(text).items():
                texts.setdefault(key, value)
        for path in _files(pysnmp_modules):
            if path.suffix != ".py" or path.name.startswith("_"):
                continue
            try:
                code = path.read_text(encoding="utf-8")
            except OSError as exc:
                mlog.debug("cannot read %s: %s", path, exc)
                continue
            for key, value in scan_pysnmp_module(code, path.stem).items():
                texts.setdefault(key, value)
        return cls(texts)


def _files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file()))
        elif path.is_file():
            found.append(path)
    return found
