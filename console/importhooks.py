"""pysnmp without its pysmi-backed MIB compiler: one import hook, installed by
``console/__init__.py`` before any pysnmp module is imported.

pysnmp 7's ``pysnmp.smi.compiler`` (imported by ``pysnmp.hlapi``, through
``pysnmp.smi.rfc1902``) imports pysmi's readers when pysmi is installed, and with
them ``requests``, ``urllib3`` and ``jinja2``: ~0.2 s of every start, for a
compiler that fetches MIBs from ``/usr/share/snmp/mibs`` and the network into
``~/.pysnmp/mibs`` on demand. fleettop never lets it run: it compiles the
configured ``mib_paths`` itself, off the event loop, with pysmi directly
(:mod:`console.snmp.mibs`), and every builder it makes has pysnmp's compiler
disabled (:func:`console.snmp.mib.disable_pysnmp_compiler`).

While ``pysnmp.smi.compiler`` runs, :class:`PysnmpCompilerFinder` marks ``pysmi``
absent (``sys.modules["pysmi"] = None``, the import system's documented way to make
an import fail, Python reference §5.3.1), so pysnmp takes its own "no pysmi"
branch: an ``add_mib_compiler`` that does nothing when asked ``ifAvailable``, as
pysnmp's resolution does. The mark is removed at once, so fleettop's own compiler
imports pysmi as usual. When pysmi is already imported, pysnmp gets it as before.

Reference: PEP 451 (module specs, ``find_spec``/``exec_module``), pysnmp's
``pysnmp/smi/compiler.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType

__all__ = ["COMPILER_MODULE", "PysnmpCompilerFinder", "install"]

#: The module imported with pysmi marked absent.
COMPILER_MODULE = "pysnmp.smi.compiler"


class _WithoutPysmi(Loader):
    """Runs another loader's module with ``pysmi`` marked absent."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        absent = "pysmi" not in sys.modules
        if absent:
            sys.modules["pysmi"] = None  # type: ignore[assignment]
        try:
            self._loader.exec_module(module)
        finally:
            if absent and "pysmi" in sys.modules and sys.modules["pysmi"] is None:
                del sys.modules["pysmi"]


class PysnmpCompilerFinder(MetaPathFinder):
    """Finds :data:`COMPILER_MODULE` as the path finder does, with a loader that runs
    it without pysmi (module docstring); ``None`` for every other module."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != COMPILER_MODULE:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _WithoutPysmi(spec.loader)
        return spec


def install() -> None:
    """Put :class:`PysnmpCompilerFinder` first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(finder, PysnmpCompilerFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, PysnmpCompilerFinder())
