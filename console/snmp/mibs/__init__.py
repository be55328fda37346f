"""Compile MIB source modules (SMIv1/SMIv2 text) into pysnmp's Python form, once.

:func:`compile_mibs` turns the MIB source directories of the configuration
(``Config.mib_paths``) into a directory of pysnmp MIB modules that
:class:`pysnmp.smi.builder.MibBuilder` loads (:class:`console.snmp.mib.MibResolver`
does). The compiler is pysmi's (:class:`pysmi.compiler.MibCompiler`: parser, pysnmp
code generator, file writer), configured like pysnmp's own
:func:`pysnmp.smi.compiler.add_mib_compiler`, except that:

* every MIB module found in the source directories is compiled, not one module on
  demand; a module that fails does not stop the others (pysmi's ``ignoreErrors``);
* modules pysnmp already ships compiled (``SNMPv2-MIB``, ``SNMP-FRAMEWORK-MIB``...)
  and the SMI base modules are never regenerated (a :class:`StubSearcher` names
  them), so the agent-ready copies bundled with pysnmp stay in use;
* imports are read from the source directories first, then from the base modules
  fleettop ships (:data:`BASE_DIR`: ``SNMPv2-SMI``, ``SNMPv2-TC``, ``SNMPv2-CONF``,
  ``SNMPv2-MIB``, ``RFC1155-SMI``, ``RFC-1212``, ``RFC-1215``, ``RFC1213-MIB``,
  ``IF-MIB``, ``IANAifType-MIB``), because pysmi needs the *source* of every module a
  MIB imports from and Debian ships none of them. A base module is compiled only
  when a source module imports it and pysnmp does not bundle it (``IF-MIB``,
  ``IANAifType-MIB``);
* nothing is fetched from the network (no HTTP readers, no borrowers).

Caching
-------
The output lives in ``<cache root>/mibs/<key>/`` where the cache root is, in order,
the ``cache_dir`` argument, the ``FLEETTOP_CACHE_DIR`` environment variable, or
platformdirs' ``user_cache_dir("fleettop")`` (``~/.cache/fleettop`` on Linux). The key
is a SHA-256 over the source directories' absolute paths, the content and relative
names of every source file and base module, the pysmi and pysnmp versions and
:data:`FORMAT`: the same sources load from the cache without compiling (file times
do not matter); any edit, added or removed file compiles afresh into a new key
(older keys are left in place, ~100 KB-1 MB each; delete them at will). A key whose
compiled files went missing is compiled again. A directory is compiled into a
temporary sibling and renamed into place, so a crash or a concurrent fleettop never
leaves a half-written key. An unwritable cache root falls back to a temporary
directory (compiled on every start, removed after loading).

Failures are :class:`MibProblem` values, returned and logged as warnings on the
``console.snmp.mib`` logger (which the bus turns into ``("log", "warning")``
events), each naming the file and pysmi's reason (``Bad grammar near offset 611 at
MIB FLEETTOP-BROKEN-MIB, line 20``). Cached failures are reported again on every
load: the file is still broken.

Reference: pysmi's documentation (MibCompiler, readers, searchers, writers) and
``pysmi/scripts/mibdump.py``; RFC 2578 (SMIv2), RFC 1155/1212 (SMIv1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = [
    "BASE_DIR",
    "CACHE_ENV",
    "FORMAT",
    "MIB_SUFFIXES",
    "CompiledMibs",
    "MibProblem",
    "cache_root",
    "compile_mibs",
]

mlog = logging.getLogger("console.snmp.mib")

#: Bumped when the layout or the compiler settings change, to invalidate old keys.
FORMAT: Final = 1
#: MIB source modules fleettop ships, used to resolve imports (see module docstring).
BASE_DIR: Final = Path(__file__).resolve().parent / "base"
#: Environment variable overriding the cache root.
CACHE_ENV: Final = "FLEETTOP_CACHE_DIR"
#: File suffixes taken as MIB sources (compared lower-case); pysmi's file reader
#: tries the same ones (and none) when it looks an imported module up by name.
MIB_SUFFIXES: Final = frozenset({"", ".txt", ".mib", ".my", ".smi", ".asn", ".asn1"})
#: Written into each compiled key directory: what was compiled and what failed.
MANIFEST: Final = "fleettop-mibs.json"

#: pysmi's SMI parser, built once per process (PLY builds its parsing tables in
#: ~0.5 s each time) and used by one compile at a time: :data:`_PARSER_LOCK` is held
#: for the whole of each ``MibCompiler.compile`` call (compiles are CPU work under the
#: GIL: serialising them costs nothing).
_parser: Any = None
_PARSER_LOCK: Final = threading.Lock()

_HEADER = re.compile(rb"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.M)
_MISSING_MODULE = re.compile(r'no module "([^"]+)"')


@dataclass(frozen=True, slots=True)
class MibProblem:
    """A MIB source that could not be compiled or loaded.

    Attributes:
        file: the source file, when known.
        module: the MIB module name (from the file's ``DEFINITIONS`` header, or the
            file name).
        reason: pysmi's (or pysnmp's) reason, plus a hint when an imported module's
            source is missing.
    """

    file: Path | None
    module: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file} ({self.module})" if self.file else self.module
        return f"MIB {where} not loaded: {self.reason}"


@dataclass(frozen=True, slots=True)
class CompiledMibs:
    """What :func:`compile_mibs` produced.

    Attributes:
        directory: the directory of compiled pysnmp modules (``<name>.py``) to add
            to a MibBuilder as a ``DirMibSource``; ``None`` when there was nothing
            to compile.
        modules: the modules to load, sorted: every compiled module (the source
            modules and the base modules they needed) and the source modules pysnmp
            already bundles.
        compiled: the modules compiled by this call; empty on a cache hit.
        problems: the sources that failed, in file order.
        sources: source file of each of the user's modules in ``modules`` (module
            name -> path), for messages.
        cached: True when ``directory`` came from the cache without compiling.
        temporary: True when ``directory`` is a temporary directory (the cache root
            was not writable) the caller should remove once the modules are loaded.
    """

    directory: Path | None
    modules: tuple[str, ...] = ()
    compiled: tuple[str, ...] = ()
    problems: tuple[MibProblem, ...] = ()
    sources: Mapping[str, Path] = field(default_factory=dict)
    cached: bool = False
    temporary: bool = False


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


def _candidates(root: Path) -> list[tuple[Path, bytes]]:
    """Files under ``root`` (recursively, as pysmi's FileReader searches) that look
    like MIB modules: a MIB suffix, not hidden, a ``DEFINITIONS`` keyword inside."""
    found: list[tuple[Path, bytes]] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() not in MIB_SUFFIXES or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            mlog.warning("MIB file %s cannot be read: %s", path, exc)
            continue
        if b"DEFINITIONS" in data:
            found.append((path, data))
    return found


def _versions() -> dict[str, Any]:
    import pysmi
    import pysnmp

    return {"format": FORMAT, "pysmi": pysmi.__version__, "pysnmp": pysnmp.__version__}


def _bundled_modules() -> list[str]:
    """Names of the MIB modules pysnmp ships compiled (never regenerated)."""
    import pysnmp.smi.mibs

    directory = Path(pysnmp.smi.mibs.__file__).parent
    return sorted(p.stem for p in directory.glob("*.py") if not p.stem.startswith("_"))


def compile_mibs(
    sources: Iterable[str | Path],
    *,
    cache_dir: str | Path | None = None,
) -> CompiledMibs:
    """Compile every MIB module in ``sources`` with pysmi, or reuse the cached result.

    Blocking (parsing takes ~0.25 s to set up, then ~10-100 ms per module): call it
    in a worker thread from async code (:meth:`console.snmp.mib.MibResolver.aload`
    does). Never raises for bad MIBs or paths: each becomes a :class:`MibProblem`,
    also logged as a warning on ``console.snmp.mib``.

    Args:
        sources: MIB source directories (``Config.mib_paths``), searched recursively,
            in order (the first file of a module name wins). A path that is not a
            directory is a problem.
        cache_dir: cache root (default: see :func:`cache_root`); output goes to
            ``<root>/mibs/<key>/``.

    Returns:
        A :class:`CompiledMibs`; ``directory`` is ``None`` when no source module was
        found.
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        versions = _versions()

    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode())
    wanted: list[_Source] = []
    seen_stems: set[str] = set()
    for role, directories in (("source", roots), ("base", [BASE_DIR])):
        for root in directories:
            where = str(root) if role == "source" else ""  # messages name source files
            digest.update(f"\0{role}\0{where}\0".encode())
            for path, data in _candidates(root):
                relative = path.relative_to(root).as_posix()
                digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
                if role == "source" and path.stem not in seen_stems:
                    seen_stems.add(path.stem)
                    header = _HEADER.search(data)
                    module = header.group(1).decode() if header else path.stem
                    wanted.append(_Source(path, module, path.stem))

    if not wanted:
        _report(problems)
        return CompiledMibs(None, problems=tuple(problems))

    root_dir = cache_root(cache_dir) / "mibs"
    final = root_dir / digest.hexdigest()[:32]
    manifest = _read_manifest(final)
    if manifest is not None and not all((final / f"{m}.py").is_file() for m in manifest["modules"]):
        mlog.warning("MIB cache %s is incomplete: compiling again", final)
        shutil.rmtree(final, ignore_errors=True)
        manifest = None
    if manifest is not None:
        problems.extend(
            MibProblem(Path(p["file"]) if p["file"] else None, p["module"], p["reason"])
            for p in manifest["problems"]
        )
        _report(problems)
        cached = tuple(manifest["modules"])
        return CompiledMibs(final, cached, (), tuple(problems), _files(wanted, cached), cached=True)

    temporary = False
    try:
        root_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".compiling-", dir=root_dir))
    except OSError as exc:
        mlog.warning(
            "MIB cache %s is not writable (%s): compiling into a temporary dir", root_dir, exc
        )
        work = Path(tempfile.mkdtemp(prefix="fleettop-mibs-"))
        temporary = True

    try:
        modules, compiled, failures = _compile(wanted, roots, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    problems.extend(failures)
    directory = work
    try:
        _write_manifest(work, versions, modules, compiled, failures)
        if not temporary:
            work.rename(final)
            directory = final
    except OSError as exc:
        if not temporary and _read_manifest(final) is not None:
            shutil.rmtree(work, ignore_errors=True)  # another process won the race
            directory = final
        else:
            mlog.warning("MIB cache %s cannot be written (%s): not cached", final, exc)
            temporary = True
    _report(problems)
    return CompiledMibs(
        directory,
        tuple(modules),
        tuple(compiled),
        tuple(problems),
        _files(wanted, modules),
        temporary=temporary,
    )


def _files(wanted: Sequence[_Source], modules: Sequence[str]) -> dict[str, Path]:
    chosen = set(modules)
    files: dict[str, Path] = {}
    for source in wanted:
        if source.module in chosen:
            files.setdefault(source.module, source.path)
    return files


def _report(problems: Sequence[MibProblem]) -> None:
    for problem in problems:
        mlog.warning("%s", problem)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def _write_manifest(
    directory: Path,
    versions: dict[str, Any],
    modules: Sequence[str],
    compiled: Sequence[str],
    problems: Sequence[MibProblem],
) -> None:
    document = {
        **versions,
        "modules": list(modules),
        "compiled": list(compiled),
        "problems": [
            {"file": str(p.file) if p.file else None, "module": p.module, "reason": p.reason}
            for p in problems
        ],
    }
    (directory / MANIFEST).write_text(json.dumps(document, indent=1), encoding="utf-8")


def _compile(
    wanted: Sequence[_Source], roots: Sequence[Path], output: Path
) -> tuple[list[str], list[str], list[MibProblem]]:
    """Run pysmi over ``wanted`` into ``output``; return (modules to load, modules
    compiled, problems). One batch first; if pysmi itself crashes (an exception
    other than its reported failures), each file again alone so one file cannot
    spoil the others."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            statuses = _run_pysmi([s.stem for s in wanted], roots, output)
        except Exception as exc:
            mlog.debug("pysmi failed on the batch (%s); compiling file by file", exc)
            statuses = {}
            for source in wanted:
                try:
                    statuses.update(_run_pysmi([source.stem], roots, output))
                except Exception as one:
                    statuses[source.stem] = ("crashed", f"pysmi crashed: {one!r}")

    by_name: dict[str, _Source] = {}
    for source in wanted:
        by_name.setdefault(source.module, source)
        by_name.setdefault(source.stem, source)
    missing = sorted(name for name, (status, _) in statuses.items() if status == "missing")
    compiled = sorted(name for name, (status, _) in statuses.items() if status == "compiled")
    untouched = {name for name, (status, _) in statuses.items() if status == "untouched"}
    # the user's own modules pysnmp bundles (stubbed) still get loaded
    modules = sorted(set(compiled) | {s.module for s in wanted if s.module in untouched})

    problems: list[MibProblem] = []
    reported: set[str] = set()
    for source in wanted:
        if source.module in reported:
            continue
        reported.add(source.module)
        status, reason = statuses.get(source.module) or statuses.get(source.stem) or ("", "")
        if status in ("failed", "crashed"):
            reason = _hint(reason, missing)
        elif status == "missing":  # pysmi skips a file it cannot decode
            reason = "pysmi cannot read it (a MIB source must be ASCII or UTF-8 text)"
        elif not status:
            reason = "pysmi did not process it"
        else:
            continue
        problems.append(MibProblem(source.path, source.module, reason))
    # failures of modules imported from elsewhere (a base module, a differently named file)
    for name, (status, reason) in sorted(statuses.items()):
        if status == "failed" and name not in by_name:
            problems.append(MibProblem(None, name, _hint(reason, missing)))
    return modules, compiled, problems


def _hint(reason: str, missing: Sequence[str]) -> str:
    """Add which imported modules have no source, when pysmi's reason names one."""
    absent = [name for name in _MISSING_MODULE.findall(reason) if name in missing]
    if absent:
        names = ", ".join(absent)
        return f"{reason} (no source of {names} in mib_paths: add the file to a MIB path)"
    return reason


def _run_pysmi(
    names: Sequence[str], roots: Sequence[Path], output: Path
) -> dict[str, tuple[str, str]]:
    """One ``MibCompiler.compile`` call (with the process's one parser, under
    :data:`_PARSER_LOCK`); returns module -> (status, reason)."""
    from pysmi.codegen.pysnmp import PySnmpCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser.dialect import smiV1Relaxed
    from pysmi.parser.smi import parserFactory
    from pysmi.reader.localfile import FileReader
    from pysmi.searcher.stub import StubSearcher
    from pysmi.writer.pyfile import PyFileWriter

    global _parser
    with _PARSER_LOCK:
        if _parser is None:
            _parser = parserFactory(**smiV1Relaxed)()
        compiler = MibCompiler(_parser, PySnmpCodeGen(), PyFileWriter(str(output)))
        compiler.add_sources(*(FileReader(str(root)) for root in [*roots, BASE_DIR]))
        compiler.add_searchers(StubSearcher(*PySnmpCodeGen.baseMibs, *_bundled_modules()))
        processed = compiler.compile(*names, ignoreErrors=True, genTexts=False)
    result: dict[str, tuple[str, str]] = {}
    for name, status in processed.items():
        error = getattr(status, "error", None)
        result[str(name)] = (str(status), str(error) if error is not None else "")
    return result
