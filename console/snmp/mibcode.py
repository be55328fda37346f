"""Compile each pysnmp MIB module once per machine, not once per engine.

pysnmp 7 loads its MIB modules (``SNMPv2-SMI``, ``SNMP-FRAMEWORK-MIB``...: Python
source files) into every ``MibBuilder``, and every ``SnmpEngine`` has its own. For
each module it compiles the source twice: once to read it
(``DirMibSource.read``: pysnmp ships no byte code next to the sources) and once to
run it (``runpy.run_path`` when Python runs without ``-O``). fleettop makes several
engines at start (the devices' shared one, the trap receiver's, one per demo agent)
and a resolver's builder, and Python's own byte-code cache never sees these files
(they are not imported): compiling was most of the engines' cost, about 0.2 s of CPU
at every start of the demo.

:func:`cache_mib_code` makes both of pysnmp's steps use one code object per source
file, kept

* in memory, keyed by the file's path, modification time and size (code objects are
  immutable: builders and threads share them safely), and
* on disk, in ``<cache root>/pysnmp-code/<Python cache tag>/`` (the cache root of
  :func:`console.snmp.mibs.cache_root`), one ``marshal`` file a source, named by a
  SHA-256 of that key and headed by the interpreter's byte-code magic number, as
  Python's own ``.pyc`` files are (PEP 3147, PEP 552's timestamp-based
  invalidation): a later start reads the code instead of compiling it. A file that
  cannot be read back (another Python, truncated) is compiled again and rewritten; a
  cache directory that cannot be written leaves the memory cache alone in use. Files
  are written to a temporary name and renamed, so concurrent fleettops never read a
  half-written one.

Each builder still executes the modules itself, so every engine keeps its own MIB
objects; only the compiling is shared.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "cache_mib_code",
    "code_cache_dir",
    "compiled_mib_source",
    "disable_pysnmp_compiler",
    "pysnmp_mibs_last",
]

_lock = threading.Lock()
_installed = False
#: (path, mtime_ns, size) -> code compiled from that source.
_CODE: dict[tuple[str, int, int], types.CodeType] = {}
#: The directory of the on-disk code cache (``None``: not chosen yet).
_disk: Path | None = None
#: Every file of the on-disk cache starts with this (Python's byte-code magic).
_MAGIC = importlib.util.MAGIC_NUMBER


def code_cache_dir() -> Path:
    """The directory of the on-disk code cache: ``pysnmp-code/<cache tag>`` under
    fleettop's cache root (:func:`console.snmp.mibs.cache_root`)."""
    global _disk
    if _disk is None:
        from console.snmp.mibs import cache_root

        _disk = cache_root() / "pysnmp-code" / str(sys.implementation.cache_tag)
    return _disk


def _load(file: Path) -> types.CodeType | None:
    try:
        data = file.read_bytes()
    except OSError:
        return None
    if data[: len(_MAGIC)] != _MAGIC:
        return None
    try:
        code = marshal.loads(data[len(_MAGIC) :])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def _store(file: Path, code: types.CodeType) -> None:
    """Write ``code`` to ``file`` atomically; an unwritable cache is not an error."""
    with contextlib.suppress(OSError):
        file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC + marshal.dumps(code))
            os.replace(temporary, file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _code(path: str) -> types.CodeType:
    """The code of the Python source at ``path``, compiled once per modification
    (memory, then a ``.code`` file beside it, then the disk cache, then the compiler).

    Raises:
        OSError: the source cannot be read.
        SyntaxError: it is not Python.
    """
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    code = _CODE.get(key)
    if code is not None:
        return code
    # a compiled MIB module of console.snmp.mibs has its code beside it (immutable)
    if path.endswith(".py"):
        code = _load(Path(path[:-3] + ".code"))
        if code is not None:
            _CODE[key] = code
            return code
    name = hashlib.sha256(f"{path}\0{key[1]}\0{key[2]}".encode(errors="surrogateescape"))
    file = code_cache_dir() / f"{name.hexdigest()[:40]}.code"
    code = _load(file)
    if code is None:
        with open(path, encoding="utf-8") as source:
            code = compile(source.read(), path, "exec")
        _store(file, code)
    _CODE[key] = code
    return code


def _run_path(
    path_name: str, init_globals: dict[str, Any] | None = None, run_name: str | None = None
) -> dict[str, Any]:
    """``runpy.run_path`` for a MIB module's source file, with its code compiled once:
    the module runs in fresh globals seeded with ``init_globals`` (as runpy does)."""
    namespace: dict[str, Any] = dict(init_globals or {})
    namespace.update(
        __name__=run_name or "<run_path>",
        __file__=path_name,
        __cached__=None,
        __doc__=None,
        __loader__=None,
        __package__="",
        __spec__=None,
        __builtins__=__builtins__,
    )
    exec(_code(path_name), namespace)
    return namespace


def cache_mib_code() -> None:
    """Make pysnmp's MIB builders share compiled module code (see the module
    docstring). Idempotent and thread-safe; call it before building an engine."""
    global _installed
    with _lock:
        if _installed:
            return
        from pysnmp.smi import builder

        read = builder.DirMibSource.read

        def cached_read(source: Any, name: str) -> Any:
            """``DirMibSource.read``: ``(code, ".py")`` (the code and the suffix of
            the file it came from) for a module pysnmp has as Python source only (no
            ``.pyc`` beside it: then, or when there is no source, pysnmp's own
            reading decides)."""
            stem = os.path.join(source._srcName, name)
            if not os.path.isfile(stem + ".py") or os.path.exists(stem + ".pyc"):
                return read(source, name)
            try:
                return _code(stem + ".py"), ".py"
            except (OSError, SyntaxError, ValueError):
                return read(source, name)  # pysnmp words the failure its own way

        builder.DirMibSource.read = cached_read
        if getattr(builder, "runpy", None) is not None:  # used when __debug__ is on
            builder.runpy = types.SimpleNamespace(run_path=_run_path)
        _installed = True


_source_class: type | None = None


def compiled_mib_source(directory: Path, files: Mapping[str, Path]) -> Any:
    """A pysnmp MIB source (a ``DirMibSource``) that finds each module in ``files``
    (module name -> compiled ``.py``, named by its cache key, as
    :mod:`console.snmp.mibs` keeps them) instead of ``<directory>/<name>.py``. The
    code is read through the same code cache as pysnmp's own modules (once per
    machine, see the module docstring).

    Args:
        directory: the folder the files are in (the source's name, for messages).
        files: module name -> path of its compiled file.
    """
    global _source_class
    if _source_class is None:
        from pysnmp.smi import builder

        class _Source(builder.DirMibSource):  # type: ignore[misc]
            _files: dict[str, str]

            def _listdir(self) -> tuple[str, ...]:
                return tuple(self._files)

            def full_path(self, f: str = "", sfx: str = "") -> str:
                path = self._files.get(f)
                return path if path is not None else str(super().full_path(f, sfx))

            def read(self, f: str) -> tuple[Any, str]:
                path = self._files.get(f)
                if path is None:
                    raise OSError(2, "No such module", f)
                return _code(path), ".py"

        _source_class = _Source
    source = _source_class(str(directory))
    source._files = {name: str(path) for name, path in files.items()}
    return source


class _NoCompiler:
    """Stands in for a MIB compiler: every module asked for is missing."""

    def compile(self, *names: str, **options: object) -> dict[str, str]:
        return {name: "missing" for name in names}


def disable_pysnmp_compiler(mib_builder: Any) -> None:
    """Stop pysnmp from compiling MIBs on its own for ``mib_builder``.

    With pysmi installed (fleettop depends on it for ``mib_paths``), pysnmp's
    ``ObjectIdentity.resolve_with_mib`` - which every ``get_cmd``/``set_cmd``... runs
    on its var-binds, even with ``lookupMib=False`` - installs a default pysmi
    compiler on an engine's MibBuilder the first time: it builds pysmi's parser
    (measured 0.5 s of CPU, on the calling thread: the event loop), and from then on
    a module name pysnmp cannot find is compiled from ``/usr/share/snmp/mibs`` into
    ``~/.pysnmp/mibs``. This sets a stand-in compiler first, so pysnmp keeps its
    behaviour without pysmi: a missing module is missing (``MibNotFoundError``).
    MIB sources are compiled by :func:`console.snmp.mibs.compile_mibs` only.

    Call it once per engine, right after creating it::

        engine = SnmpEngine()
        disable_pysnmp_compiler(engine.get_mib_builder())

    Args:
        mib_builder: a :class:`pysnmp.smi.builder.MibBuilder`; one that already has
            a compiler is left alone.
    """
    if mib_builder.get_mib_compiler() is not None:
        return
    import pysnmp.smi.mibs

    # set_mib_compiler also adds its directory to the sources: pysnmp's own is harmless
    mib_builder.set_mib_compiler(_NoCompiler(), str(Path(pysnmp.smi.mibs.__file__).parent))


def pysnmp_mibs_last(mib_builder: Any) -> None:
    """Search pysnmp-mibs' modules (``pysnmp_mibs``, on pysnmp's default MIB search
    path) after every source added to ``mib_builder`` since: a module compiled from
    ``mib_paths`` (often a newer revision: Net-SNMP 5.9's UCD-SNMP-MIB) or found in a
    ``mib_dirs`` directory replaces pysnmp-mibs' copy of the same name.

    Args:
        mib_builder: a :class:`pysnmp.smi.builder.MibBuilder`.
    """
    sources = mib_builder.get_mib_sources()
    misc = [s for s in sources if Path(s.full_path()).name == "pysnmp_mibs"]
    mib_builder.set_mib_sources(*(s for s in sources if s not in misc), *misc)
