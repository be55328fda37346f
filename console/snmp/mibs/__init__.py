"""Compile MIB source modules (SMIv1/SMIv2 text) into pysnmp's Python form, each once.

:func:`compile_mibs` turns the MIB source directories of the configuration
(``Config.mib_paths``) into pysnmp MIB modules that
:class:`pysnmp.smi.builder.MibBuilder` loads (:class:`console.snmp.mib.MibResolver`
does, through :class:`CompiledMibSource`). The compiler is pysmi's
(:class:`pysmi.compiler.MibCompiler`: parser, pysnmp code generator, file writer),
configured like pysnmp's own :func:`pysnmp.smi.compiler.add_mib_compiler`, except that:

* every MIB module found in the source directories is compiled, not one module on
  demand; a module that fails does not stop the others (pysmi's ``ignoreErrors``);
* modules pysnmp already ships compiled (``SNMPv2-MIB``, ``SNMP-FRAMEWORK-MIB``...)
  and the SMI base modules are never regenerated (a ``StubSearcher`` names them), so
  the agent-ready copies bundled with pysnmp stay in use;
* imports are read from the source directories first, then from the base modules
  fleettop ships (:data:`BASE_DIR`: ``SNMPv2-SMI``, ``SNMPv2-TC``, ``SNMPv2-CONF``,
  ``SNMPv2-MIB``, ``RFC1155-SMI``, ``RFC-1212``, ``RFC-1215``, ``RFC1213-MIB``,
  ``IF-MIB``, ``IANAifType-MIB``), because pysmi needs the *source* of every module a
  MIB imports from. A base module is compiled only when a source module imports it
  and pysnmp does not bundle it (``IF-MIB``, ``IANAifType-MIB``);
* nothing is fetched from the network (no HTTP readers, no borrowers).

The cache: one compiled file per module and content
---------------------------------------------------
Each module is compiled once and kept under ``<cache root>/mibs/v2/<MODULE>/<key>.py``
(a failure as ``<key>.fail.json``, with pysmi's reason), where the cache root is, in
order, the ``cache_dir`` argument, the ``FLEETTOP_CACHE_DIR`` environment variable,
or platformdirs' ``user_cache_dir("fleettop")`` (``~/.cache/fleettop`` on Linux), and
``key`` is a SHA-256 over

* the module's source text (its content, not its name, place or time),
* the keys of the modules it imports (so a changed import compiles its dependants
  again; an import with no source counts as absent, and adding it later compiles the
  dependant again),
* the pysmi and pysnmp versions and :data:`FORMAT`.

So a restart with the same sources compiles nothing and parses nothing: the
module name and the imports of each source come from ``<cache root>/mibs/v2/index.json``
(source path -> size, mtime and SHA-256; SHA-256 -> module name and imports, read
from the text once with a regular expression), and each module's compiled file is
found by its key. A new directory compiles only its new modules; an edited file
compiles that module and the modules that import it, directly or not. A failure is
cached like a success and reported again on every load (the file is still broken).

Compiling runs in a child process (``multiprocessing`` with ``spawn``: the parser's
CPU work never holds the caller's GIL), a few modules at a time in dependency order
so that the caller can show progress (``progress(done, total)``) and cancel between
two chunks or kill the child (:class:`CompileJob`). ``FLEETTOP_MIB_COMPILE=inline``
compiles in the calling process instead. Files are written to a temporary name and
renamed, so a crash or a concurrent fleettop never leaves a half-written one. An
unwritable cache root falls back to a temporary directory (compiled on every start,
removed after loading). Old caches (``<cache root>/mibs/<32 hex digits>/``, format 1)
are no longer read; delete them at will.

Failures are :class:`MibProblem` values, returned and logged as warnings on the
``console.snmp.mib`` logger (which the bus turns into ``("log", "warning")``
events), each naming the file, pysmi's reason (``Bad grammar near offset 611 at
MIB FLEETTOP-BROKEN-MIB, line 20``) and the imported modules no source defines.

Reference: pysmi's documentation (MibCompiler, readers, searchers, writers) and
``pysmi/scripts/mibdump.py``; RFC 2578 (SMIv2), RFC 1155/1212 (SMIv1).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from console.snmp.mibs.process import COMPILE_ENV, CompileJob, _Cancelled

__all__ = [
    "BASE_DIR",
    "CACHE_ENV",
    "COMPILE_ENV",
    "FORMAT",
    "MIB_SUFFIXES",
    "CompileJob",
    "CompiledMibs",
    "MibPlan",
    "MibProblem",
    "cache_root",
    "compile_mibs",
    "load_problem",
    "plan_mibs",
]

mlog = logging.getLogger("console.snmp.mib")

#: Bumped when the layout or the compiler settings change, to invalidate old keys.
FORMAT: Final = 2
#: MIB source modules fleettop ships, used to resolve imports (see module docstring).
BASE_DIR: Final = Path(__file__).resolve().parent / "base"
#: Environment variable overriding the cache root.
CACHE_ENV: Final = "FLEETTOP_CACHE_DIR"
#: File suffixes taken as MIB sources (compared lower-case); pysmi's file reader
#: tries the same ones (and none) when it looks an imported module up by name.
MIB_SUFFIXES: Final = frozenset({"", ".txt", ".mib", ".my", ".smi", ".asn", ".asn1"})
#: The folder of the cache root that holds this format's compiled modules.
STORE: Final = f"mibs/v{FORMAT}"
#: The index of sources (see the module docstring), in :data:`STORE`.
INDEX: Final = "index.json"
#: Most chunks a compile is split into (one progress step each).
CHUNKS: Final = 40

_HEADER = re.compile(rb"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.M)
_COMMENT = re.compile(rb"--.*?(?:--|$)", re.M)
_IMPORTS = re.compile(rb"\bIMPORTS\b(.*?);", re.S)
_FROM = re.compile(rb"\bFROM\s+([A-Za-z][A-Za-z0-9-]*)")
_MISSING_MODULE = re.compile(r'no module "([^"]+)"')
_MODULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
#: Modules pysmi defines itself (no source needed).
_ASN1: Final = frozenset({"ASN1", "ASN1-ENUMERATION", "ASN1-REFINEMENT"})


@dataclass(frozen=True, slots=True)
class MibProblem:
    """A MIB source that could not be compiled or loaded.

    Attributes:
        file: the source file, when known.
        module: the MIB module name (from the file's ``DEFINITIONS`` header, or the
            file name).
        reason: pysmi's (or pysnmp's) reason, plus a hint when an imported module's
            source is missing.
        missing: the modules it imports that no source in ``mib_paths`` (nor
            fleettop's base modules, nor pysnmp) defines, sorted.
    """

    file: Path | None
    module: str
    reason: str
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.file} ({self.module})" if self.file else self.module
        return f"MIB {where} not loaded: {self.reason}"


@dataclass(frozen=True, slots=True)
class CompiledMibs:
    """What :func:`compile_mibs` produced (or what the cache holds: :meth:`MibPlan.result`).

    Attributes:
        directory: the folder of the compiled modules (``<cache root>/mibs/v2``, or a
            temporary directory); ``None`` when there was nothing to compile.
        modules: the modules to load, sorted: every compiled module (the source
            modules and the base modules they needed) and the source modules pysnmp
            already bundles.
        compiled: the modules compiled by this call, sorted; empty on a cache hit.
        problems: the sources that failed, in file order.
        sources: source file of each of the user's modules in ``modules`` (module
            name -> path), for messages.
        files: the compiled file of each module in ``modules`` that pysnmp does not
            bundle (module name -> ``.py`` path).
        cached: True when nothing had to be compiled.
        temporary: True when ``directory`` is a temporary directory (the cache root
            was not writable) the caller should remove once the modules are loaded.
        pending: modules still to compile (only from :meth:`MibPlan.result` before
            :func:`compile_mibs` ran).
    """

    directory: Path | None
    modules: tuple[str, ...] = ()
    compiled: tuple[str, ...] = ()
    problems: tuple[MibProblem, ...] = ()
    sources: Mapping[str, Path] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)
    cached: bool = False
    temporary: bool = False
    pending: tuple[str, ...] = ()


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Return fleettop's cache root: ``cache_dir``, else ``$FLEETTOP_CACHE_DIR``, else
    ``platformdirs.user_cache_dir("fleettop")``. MIBs go into its ``mibs/`` folder."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("fleettop", appauthor=False))


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    module: str  # from the DEFINITIONS header, else the file name
    stem: str  # the name pysmi looks the file up by
    digest: str  # SHA-256 of the content
    imports: tuple[str, ...]
    base: bool  # one of fleettop's base modules


def _parse_header(data: bytes) -> tuple[str | None, tuple[str, ...]]:
    """The module name and the modules a MIB source imports from (a regular
    expression over the text without comments; pysmi is not needed)."""
    header = _HEADER.search(data)
    if header is None:
        return None, ()
    text = _COMMENT.sub(b"", data)
    imports = _IMPORTS.search(text)
    names: set[str] = set()
    if imports is not None:
        names = {m.decode() for m in _FROM.findall(imports.group(1))}
    return header.group(1).decode(), tuple(sorted(names))


class _Index:
    """``index.json``: path -> (size, mtime_ns, digest); digest -> (module, imports)."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.paths: dict[str, list[Any]] = {}
        self.parsed: dict[str, list[Any] | None] = {}
        self.changed = False
        if file is None:
            return
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("format") == FORMAT:
            self.paths = dict(data.get("paths") or {})
            self.parsed = dict(data.get("parsed") or {})

    def source(self, path: Path) -> tuple[str, str | None, tuple[str, ...]] | None:
        """(digest, module, imports) of the file, from the index when its size and
        mtime are unchanged, else read and hashed; ``None`` when unreadable."""
        key = str(path)
        try:
            stat = path.stat()
        except OSError as exc:
            mlog.warning("MIB file %s cannot be read: %s", path, exc)
            return None
        known = self.paths.get(key)
        if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
            digest = str(known[2])
            if digest in self.parsed:
                entry = self.parsed[digest]
                if entry is None:
                    return digest, None, ()
                return digest, str(entry[0]), tuple(entry[1])
        try:
            data = path.read_bytes()
        except OSError as exc:
            mlog.warning("MIB file %s cannot be read: %s", path, exc)
            return None
        digest = hashlib.sha256(data).hexdigest()
        self.paths[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self.changed = True
        if digest not in self.parsed:
            module, imports = _parse_header(data) if b"DEFINITIONS" in data else (None, ())
            self.parsed[digest] = None if module is None else [module, list(imports)]
        entry = self.parsed[digest]
        if entry is None:
            return digest, None, ()
        return digest, str(entry[0]), tuple(entry[1])

    def save(self, seen_paths: Iterable[str], seen_digests: Iterable[str]) -> None:
        """Write the index (only the entries of this scan) if it changed."""
        paths = {p: self.paths[p] for p in seen_paths if p in self.paths}
        parsed = {d: self.parsed[d] for d in seen_digests if d in self.parsed}
        if self.file is None or not (self.changed or paths.keys() != self.paths.keys()):
            return
        document = {"format": FORMAT, "paths": paths, "parsed": parsed}
        _write_atomic(self.file, json.dumps(document, separators=(",", ":")).encode())


def _write_atomic(file: Path, data: bytes) -> None:
    """Write ``data`` to ``file`` through a temporary name; an error is not raised
    (an unwritable cache only costs compiling again)."""
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _candidates(root: Path) -> list[Path]:
    """Files under ``root`` (recursively, as pysmi's FileReader searches) that may
    be MIB modules: a MIB suffix, not hidden."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in MIB_SUFFIXES and path.is_file():
            found.append(path)
    return found


def _versions() -> dict[str, Any]:
    """What a compiled module depends on besides its sources (package metadata: no
    import of pysmi, whose code generator pulls in requests and jinja2)."""
    from importlib.metadata import version

    return {"format": FORMAT, "pysmi": version("pysmi"), "pysnmp": version("pysnmp")}


_bundled: tuple[str, ...] | None = None


def _bundled_modules() -> tuple[str, ...]:
    """Names of the MIB modules pysnmp ships compiled (never regenerated)."""
    global _bundled
    if _bundled is None:
        import pysnmp.smi.mibs

        directory = Path(pysnmp.smi.mibs.__file__).parent
        _bundled = tuple(
            sorted(p.stem for p in directory.glob("*.py") if not p.stem.startswith("_"))
        )
    return _bundled


#: ``pysmi.codegen.pysnmp.PySnmpCodeGen.baseMibs`` (pysmi 1.5-2.0), named here so
#: that a restart does not import pysmi's code generator (~0.8 s: requests, jinja2);
#: ``tests/test_mib_cache.py`` keeps it equal to pysmi's.
PYSMI_BASE_MIBS: Final = (
    "PYSNMP-USM-MIB",
    "SNMP-FRAMEWORK-MIB",
    "SNMP-TARGET-MIB",
    "TRANSPORT-ADDRESS-MIB",
    "INET-ADDRESS-MIB",
    "RFC1065-SMI",
    "RFC1155-SMI",
    "RFC1158-MIB",
    "RFC-1212",
    "RFC1213-MIB",
    "RFC-1215",
    "SNMPv2-SMI",
    "SNMPv2-TC",
    "SNMPv2-TM",
    "SNMPv2-CONF",
)


def _stub_modules() -> frozenset[str]:
    """Modules pysmi must never generate: pysmi's base MIBs and pysnmp's bundle."""
    return frozenset(PYSMI_BASE_MIBS) | frozenset(_bundled_modules())


@dataclass
class MibPlan:
    """The MIB sources of a configuration and what the cache already holds for them
    (:func:`plan_mibs`): cheap to make (no parsing; ~1 ms per file).

    Attributes:
        roots: the source directories that exist, in order.
        sources: every module found, by name (the first file of a name wins; the
            user's directories before :data:`BASE_DIR`).
        keys: each module's cache key (see the module docstring).
        store: where compiled modules go (``<cache root>/mibs/v2``).
        problems: the paths of ``mib_paths`` that are not directories.
        temporary: True when ``store`` is a temporary directory.
    """

    roots: list[Path]
    sources: dict[str, _Source]
    keys: dict[str, str]
    store: Path
    problems: list[MibProblem]
    temporary: bool = False
    stubs: frozenset[str] = frozenset()

    @property
    def user_modules(self) -> list[str]:
        """The modules of the user's directories, in file order."""
        return [name for name, source in self.sources.items() if not source.base]

    def compiled_file(self, module: str) -> Path:
        """Where ``module``'s compiled code is (or would be) kept."""
        return self.store / module / f"{self.keys[module]}.py"

    def failure_file(self, module: str) -> Path:
        """Where ``module``'s cached failure is (or would be) kept."""
        return self.store / module / f"{self.keys[module]}.fail.json"

    def failure(self, module: str) -> str | None:
        """The cached reason ``module`` failed, or ``None``."""
        try:
            data = json.loads(self.failure_file(module).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(data.get("reason", "")) if isinstance(data, dict) else None

    def pending(self) -> list[str]:
        """The user's modules to compile (neither compiled nor failed under their
        current key; pysnmp's bundled ones excluded), dependencies first."""
        todo = [
            name
            for name in self.user_modules
            if name not in self.stubs
            and not self.compiled_file(name).is_file()
            and not self.failure_file(name).is_file()
        ]
        # base modules the user's import (IF-MIB...) whose compiled file went missing
        needed: set[str] = set()
        stack = list(self.user_modules)
        while stack:
            source = self.sources.get(stack.pop())
            for imported in source.imports if source else ():
                if imported not in needed and imported in self.sources:
                    needed.add(imported)
                    stack.append(imported)
        todo.extend(
            name
            for name in sorted(needed)
            if self.sources[name].base
            and name not in self.stubs
            and not self.compiled_file(name).is_file()
            and not self.failure_file(name).is_file()
        )
        return _dependency_order(todo, self.sources)

    def missing_imports(self, module: str) -> tuple[str, ...]:
        """The modules ``module`` imports that no source defines (pysmi needs the
        source of every import, even of a module pysnmp bundles)."""
        source = self.sources.get(module)
        if source is None:
            return ()
        return tuple(m for m in source.imports if m not in self.sources and m not in _ASN1)

    def result(self, compiled: Sequence[str] = ()) -> CompiledMibs:
        """What the cache holds now: the modules to load, the failures (cached ones
        included), the modules still pending."""
        problems = list(self.problems)
        files: dict[str, Path] = {}
        modules: list[str] = []
        pending = self.pending()
        waiting = set(pending)
        for name, source in self.sources.items():
            if name in self.stubs:
                if not source.base:
                    modules.append(name)  # the user's copy of a bundled module
                continue
            compiled_file = self.compiled_file(name)
            if compiled_file.is_file():
                files[name] = compiled_file
                modules.append(name)
            elif not source.base and name not in waiting:
                reason = self.failure(name)
                if reason is not None:
                    problems.append(
                        MibProblem(source.path, name, reason, self.missing_imports(name))
                    )
        sources = {n: s.path for n, s in self.sources.items() if not s.base and n in modules}
        return CompiledMibs(
            self.store,
            tuple(sorted(modules)),
            tuple(sorted(compiled)),
            tuple(problems),
            sources,
            files,
            cached=not compiled,
            temporary=self.temporary,
            pending=tuple(pending),
        )


def _dependency_order(names: Sequence[str], sources: Mapping[str, _Source]) -> list[str]:
    """``names`` sorted so that a module comes after the modules it imports."""
    wanted = set(names)
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name):
            return
        state[name] = 1
        source = sources.get(name)
        for imported in source.imports if source else ():
            if imported in wanted:
                visit(imported)
        state[name] = 2
        order.append(name)

    for name in names:
        visit(name)
    return order


def plan_mibs(sources: Iterable[str | Path], *, cache_dir: str | Path | None = None) -> MibPlan:
    """Scan the MIB source directories and compute each module's cache key.

    Reads each file's size and modification time; a file whose pair is not in the
    index is read and hashed (SHA-256) and its header read. Never parses with
    pysmi. Never raises for bad paths (each is a problem).

    Args:
        sources: MIB source directories (``Config.mib_paths``), searched recursively,
            in order (the first file of a module name wins).
        cache_dir: cache root (default: see :func:`cache_root`).
    """
    problems: list[MibProblem] = []
    roots: list[Path] = []
    for entry in sources:
        path = Path(entry).expanduser().absolute()
        if path.is_dir():
            roots.append(path)
        else:
            reason = "no such directory" if not path.exists() else "not a directory"
            problems.append(MibProblem(path, path.name, f"MIB path {reason}"))

    store = cache_root(cache_dir) / STORE
    temporary = False
    if roots:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            mlog.warning(
                "MIB cache %s is not writable (%s): compiling into a temporary dir", store, exc
            )
            store = Path(tempfile.mkdtemp(prefix="fleettop-mibs-"))
            temporary = True
    index = _Index(None if temporary or not roots else store / INDEX)
    found: dict[str, _Source] = {}
    seen_paths: list[str] = []
    seen_digests: list[str] = []
    for base, directories in ((False, roots), (True, [BASE_DIR] if roots else [])):
        for root in directories:
            for path in _candidates(root):
                scanned = index.source(path)
                if scanned is None:
                    continue
                digest, module, imports = scanned
                seen_paths.append(str(path))
                seen_digests.append(digest)
                if module is None or not _MODULE_NAME.fullmatch(module) or module in found:
                    continue
                found[module] = _Source(path, module, path.stem, digest, imports, base)
    if roots:
        index.save(seen_paths, seen_digests)
    stubs = _stub_modules() if found else frozenset()
    keys = _keys(found, stubs) if found else {}
    return MibPlan(roots, found, keys, store, problems, temporary, stubs)


def _keys(sources: Mapping[str, _Source], stubs: frozenset[str]) -> dict[str, str]:
    """Each module's key: its content, its imports' keys, the versions."""
    versions = json.dumps(_versions(), sort_keys=True)
    keys: dict[str, str] = {}
    visiting: set[str] = set()

    def key(name: str) -> str:
        done = keys.get(name)
        if done is not None:
            return done
        source = sources[name]
        visiting.add(name)
        parts = [versions, source.digest]
        for imported in source.imports:
            if imported in sources:
                parts.append(f"{imported}={'cycle' if imported in visiting else key(imported)}")
            else:
                parts.append(f"{imported}={'stub' if imported in stubs else 'absent'}")
        visiting.discard(name)
        value = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]
        keys[name] = value
        return value

    for name in sources:
        key(name)
    return keys


Progress = Callable[[int, int], object]
"""Called as ``progress(done, total)`` (modules) after each chunk, in the compiling thread."""


def compile_mibs(
    sources: Iterable[str | Path] | MibPlan,
    *,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    job: CompileJob | None = None,
) -> CompiledMibs:
    """Compile every MIB module in ``sources`` that the cache does not hold yet.

    Blocking (a compile parses ~10-100 ms per module, in a child process): call it in
    a worker thread from async code. Never raises for bad MIBs or paths: each
    becomes a :class:`MibProblem`, also logged as a warning on ``console.snmp.mib``.

    Args:
        sources: MIB source directories (``Config.mib_paths``; see
            :func:`plan_mibs`), or a plan already made.
        cache_dir: cache root (default: see :func:`cache_root`).
        progress: told ``(done, total)`` modules after each chunk (and ``(0, total)``
            first) when anything is compiled.
        job: a handle to cancel with; a cancelled compile returns what is cached.

    Returns:
        A :class:`CompiledMibs`; ``compiled`` lists the modules compiled by this call
        (empty on a cache hit), ``directory`` is ``None`` when no module was found.
    """
    plan = sources if isinstance(sources, MibPlan) else plan_mibs(sources, cache_dir=cache_dir)
    if not plan.sources:
        _report(plan.problems)
        return CompiledMibs(None, problems=tuple(plan.problems))
    todo = plan.pending()
    compiled: list[str] = []
    if todo:
        own_job = job is None
        job = job or CompileJob()
        try:
            compiled = _compile(plan, todo, job, progress)
        finally:
            if own_job:
                job.close()
    result = plan.result(compiled)
    _report(result.problems)
    return result


def _compile(
    plan: MibPlan, todo: list[str], job: CompileJob, progress: Progress | None
) -> list[str]:
    """Compile ``todo`` in chunks (dependencies first); store each result under its
    key. Returns the modules compiled (imports generated along included)."""
    total = len(todo)
    size = max(1, -(-total // CHUNKS))
    dirs = [str(root) for root in [*plan.roots, BASE_DIR]]
    compiled: list[str] = []
    if progress is not None:
        progress(0, total)
    done = 0
    for start in range(0, total, size):
        chunk = todo[start : start + size]
        present = [
            name
            for name in plan.sources
            if name not in plan.stubs and plan.compiled_file(name).is_file()
        ]
        output = Path(tempfile.mkdtemp(prefix=".compiling-", dir=plan.store))
        try:
            try:
                statuses = job._run(
                    [plan.sources[n].stem for n in chunk],
                    dirs,
                    str(output),
                    sorted(plan.stubs | set(present)),
                )
            except _Cancelled:
                mlog.info("MIB compile cancelled after %d of %d modules", done, total)
                return compiled
            compiled.extend(_store_chunk(plan, chunk, statuses, output))
        finally:
            shutil.rmtree(output, ignore_errors=True)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return compiled


def _store_chunk(
    plan: MibPlan, chunk: Sequence[str], statuses: Mapping[str, tuple[str, str]], output: Path
) -> list[str]:
    """Move each module compiled into ``output`` to its key; record each failure of
    the chunk's modules. Returns the modules stored."""
    stored: list[str] = []
    missing = sorted(name for name, (status, _) in statuses.items() if status == "missing")
    for name, (status, _reason) in statuses.items():
        if status != "compiled" or name not in plan.keys:
            continue
        target = plan.compiled_file(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.replace(output / f"{name}.code", target.with_suffix(".code"))
            os.replace(output / f"{name}.py", target)
        except OSError as exc:
            mlog.warning("MIB cache %s cannot be written (%s): not cached", target, exc)
            continue
        stored.append(name)
    for name in chunk:
        source = plan.sources[name]
        status, reason = statuses.get(name) or statuses.get(source.stem) or ("", "")
        if status == "compiled" or status == "untouched":
            continue
        if status == "failed":
            reason = _hint(reason, missing)
        elif status == "missing":  # pysmi skips a file it cannot decode
            reason = "pysmi cannot read it (a MIB source must be ASCII or UTF-8 text)"
        else:
            reason = reason or "pysmi did not process it"
        document = {"module": name, "file": str(source.path), "status": status, "reason": reason}
        _write_atomic(plan.failure_file(name), json.dumps(document).encode())
    return stored


def _report(problems: Sequence[MibProblem]) -> None:
    for problem in problems:
        mlog.warning("%s", problem)


def _hint(reason: str, missing: Sequence[str]) -> str:
    """Add which imported modules have no source, when pysmi's reason names one."""
    absent = [name for name in _MISSING_MODULE.findall(reason) if name in missing]
    if absent:
        names = ", ".join(absent)
        return f"{reason} (no source of {names} in mib_paths: add the file to a MIB path)"
    return reason


def load_problem(name: str, file: Path | None, exc: BaseException) -> MibProblem:
    """A module that was compiled (or found compiled) but does not load; logged."""
    cause: BaseException = exc.__context__ or exc
    text = str(cause)
    missing = _MISSING_PY.search(text)
    absent: tuple[str, ...] = ()
    if missing:
        absent = (missing.group(1),)
        reason = (
            f"it imports from {missing.group(1)}, which is neither bundled with pysnmp "
            "nor compiled from mib_paths (add that module's source to a MIB path)"
        )
    else:
        first = text.splitlines()[0][:300] if text else repr(cause)
        reason = f"pysnmp cannot load it: {first}"
    problem = MibProblem(file, name, reason, absent)
    mlog.warning("%s", problem)
    return problem


_MISSING_PY: Final = re.compile(r'MIB file "([^"]+?)\.py\[co\]" not found')
