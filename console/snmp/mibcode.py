"""Compile each pysnmp MIB module once per process, not once per engine.

pysnmp 7 loads its MIB modules (``SNMPv2-SMI``, ``SNMP-FRAMEWORK-MIB``...: Python
source files) into every ``MibBuilder``, and every ``SnmpEngine`` has its own. For
each module it compiles the source twice: once to read it
(``DirMibSource.read``: pysnmp ships no byte code next to the sources) and once to
run it (``runpy.run_path`` when Python runs without ``-O``). fleettop makes several
engines at start (the devices' shared one, the trap receiver's, one per demo agent)
and a resolver's builder, so that compiling was most of their cost: about 0.1 s of
CPU per engine.

:func:`cache_mib_code` keeps the code objects, keyed by file and modification time
(code objects are immutable: sharing them between builders and threads is safe).
Each builder still executes the modules itself, so every engine keeps its own MIB
objects; only the compiling is shared.
"""

from __future__ import annotations

import os
import threading
import types
from typing import Any

__all__ = ["cache_mib_code"]

_lock = threading.Lock()
_installed = False
#: (path, mtime_ns) -> code compiled from that source.
_CODE: dict[tuple[str, int], types.CodeType] = {}
#: (source directory, module name, mtime_ns) -> what ``DirMibSource.read`` returned.
_READ: dict[tuple[str, str, int], Any] = {}


def _code(path: str) -> types.CodeType:
    """The code of the Python source at ``path``, compiled once per modification."""
    key = (path, os.stat(path).st_mtime_ns)
    code = _CODE.get(key)
    if code is None:
        with open(path, encoding="utf-8") as source:
            code = _CODE[key] = compile(source.read(), path, "exec")
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
            try:
                stamp = os.stat(os.path.join(source._srcName, name + ".py")).st_mtime_ns
            except OSError:  # not here, or byte code only: pysnmp decides
                return read(source, name)
            key = (source._srcName, name, stamp)
            found = _READ.get(key)
            if found is None:
                found = _READ[key] = read(source, name)
            return found

        builder.DirMibSource.read = cached_read
        if getattr(builder, "runpy", None) is not None:  # used when __debug__ is on
            builder.runpy = types.SimpleNamespace(run_path=_run_path)
        _installed = True
