"""MIB names both ways: numeric OID -> ``MODULE::name.index`` and back, plus completion.

The poller never resolves names (it runs with ``lookupMib=False``). The UI calls
:meth:`MibResolver.resolve` when it shows an OID (results kept in an LRU cache),
:meth:`MibResolver.lookup` to turn what an operator typed (``sysName.0``,
``IF-MIB::ifInOctets.3``) into the numeric OID to send, and
:meth:`MibResolver.complete` on every keystroke of that prompt.

What it knows
-------------
* the MIB modules pysnmp 7 ships compiled: ``SNMPv2-MIB`` (system, snmp groups,
  sysORTable), ``RFC1213-MIB`` (MIB-II ip, icmp, tcp, udp, ipAddrTable ...; pysnmp
  leaves its interfaces group out in favour of IF-MIB), the ``SNMP-*`` engine MIBs
  (``SNMP-FRAMEWORK-MIB``, ``SNMP-TARGET-MIB``, ``SNMP-VIEW-BASED-ACM-MIB``...),
  ``INET-ADDRESS-MIB``, ``TRANSPORT-ADDRESS-MIB``;
* any compiled module found on pysnmp's MIB path (for instance from the
  ``pysnmp_mibs`` package, or ``mib_dirs`` given here) among :data:`OPTIONAL_MODULES`
  (``IF-MIB``, ``HOST-RESOURCES-MIB``, ``UPS-MIB``, ``IP-MIB``, ...);
* the MIB *source* directories given as ``mib_paths`` (``Config.mib_paths``),
  compiled once by pysmi and cached (:func:`console.snmp.mibs.compile_mibs`); a MIB
  that fails is a warning on this module's logger, never an error;
* a small built-in table of well-known objects pysnmp does not bundle
  (:data:`WELL_KNOWN`: IF-MIB ifTable/ifXTable, HOST-RESOURCES-MIB, UPS-MIB,
  UCD-SNMP-MIB basics), used only when no loaded MIB names the object.

Loading the bundled modules takes about 0.1-0.2 s of CPU (measured: SNMPv2-MIB
40 ms, RFC1213-MIB 17 ms, all of them ~110 ms), loading compiled ``mib_paths``
modules ~4 ms each (316 modules in 0.9-1.4 s on a busy 2-core machine), compiling a
MIB source ~0.1-0.5 s the first time, once per module and content
(:mod:`console.snmp.mibs`). So loading happens lazily on first use, or ahead of time
in a worker thread with :meth:`MibResolver.aload`; with ``background=True`` (the
runtime's resolver) a lookup never compiles: :meth:`MibResolver.load_cached` loads
what the cache holds and :meth:`MibResolver.compile_pending` compiles the rest (in
a child process), then swaps the new names in at once (:attr:`MibResolver.generation`).

Logger: ``console.snmp.mib`` (warnings reach the bus as ``("log", "warning")``).
"""

from __future__ import annotations

import asyncio
import bisect
import difflib
import logging
import re
import shutil
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from console.oid import format_oid, normalize_oid, parse_oid
from console.snmp.mibs import (
    CompiledMibs,
    CompileJob,
    MibPlan,
    MibProblem,
    Progress,
    _report,
    compile_mibs,
    plan_mibs,
)
from console.snmp.wellknown import WELL_KNOWN

if TYPE_CHECKING:
    from console.snmp.mibmeta import MibInfo

__all__ = [
    "BUNDLED_MODULES",
    "OPTIONAL_MODULES",
    "WELL_KNOWN",
    "MibProblem",
    "MibResolver",
    "disable_pysnmp_compiler",
]

mlog = logging.getLogger(__name__)

#: Modules pysnmp 7.1 ships compiled; loaded first, in this order (SNMPv2-MIB before
#: RFC1213-MIB so that ``system`` objects are named by the SMIv2 module).
BUNDLED_MODULES: Final[tuple[str, ...]] = (
    "SNMPv2-MIB",
    "RFC1213-MIB",
    "SNMP-FRAMEWORK-MIB",
    "SNMP-MPD-MIB",
    "SNMP-TARGET-MIB",
    "SNMP-NOTIFICATION-MIB",
    "SNMP-COMMUNITY-MIB",
    "SNMP-PROXY-MIB",
    "SNMP-USER-BASED-SM-MIB",
    "SNMP-VIEW-BASED-ACM-MIB",
    "INET-ADDRESS-MIB",
    "TRANSPORT-ADDRESS-MIB",
)

#: Loaded when a compiled copy is on the MIB path; silently skipped otherwise.
OPTIONAL_MODULES: Final[tuple[str, ...]] = (
    "IF-MIB",
    "IP-MIB",
    "TCP-MIB",
    "UDP-MIB",
    "HOST-RESOURCES-MIB",
    "ENTITY-MIB",
    "ENTITY-SENSOR-MIB",
    "UPS-MIB",
    "BRIDGE-MIB",
    "LLDP-MIB",
    "UCD-SNMP-MIB",
    "NET-SNMP-AGENT-MIB",
)


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


class MibResolver:
    """MIB names both ways, over pysnmp's compiled MIBs, compiled user MIBs and
    :data:`WELL_KNOWN`: lazily loaded, cached, never blocking the loop if
    :meth:`aload` ran first.

    Args:
        modules: modules to load besides :data:`BUNDLED_MODULES`; each is loaded if
            a compiled copy is found and skipped otherwise (default
            :data:`OPTIONAL_MODULES`).
        mib_dirs: extra directories of pysnmp-compiled MIB modules (``.py``).
        mib_paths: MIB *source* directories to compile with pysmi and load
            (``Config.mib_paths``); see :func:`console.snmp.mibs.compile_mibs`.
        cache_dir: cache root for the compiled MIBs (default ``$FLEETTOP_CACHE_DIR``,
            else platformdirs' user cache dir ``fleettop``).
        well_known: fallback names (object-type OID -> ``MODULE::name``) for objects
            no loaded module names (default :data:`WELL_KNOWN`).
        cache_size: how many resolved OIDs the LRU keeps.
        background: never compile on a lookup: the first use loads what the cache
            holds (:meth:`load_cached`), and :meth:`compile_pending` (in a worker
            thread) compiles the rest and swaps the new names in (the runtime does).

    Usage::

        resolver = MibResolver(mib_paths=config.mib_paths)
        await resolver.aload()                       # load + compile off the loop
        resolver.resolve("1.3.6.1.2.1.1.3.0")        # 'SNMPv2-MIB::sysUpTime.0'
        resolver.resolve("1.3.6.1.2.1.2.2.1.10.3")   # 'IF-MIB::ifInOctets.3'
        resolver.resolve("1.3.6.1.4.1.99999.1")      # None
        resolver.lookup("IF-MIB::ifInOctets.3")      # '1.3.6.1.2.1.2.2.1.10.3'
        resolver.complete("sysU")                    # ['SNMPv2-MIB::sysUpTime']

        # the runtime's way: names at once from the cache, the rest compiled after
        resolver = MibResolver(mib_paths=config.mib_paths, background=True)
        pending = await asyncio.to_thread(resolver.load_cached)  # ~1 s for 300 modules
        await asyncio.to_thread(resolver.compile_pending, progress)  # if pending

    Threads: loading is guarded by a lock, so :meth:`aload` may run in a worker
    thread while another thread calls in (it then waits for the load). After the
    load, :meth:`lookup` and :meth:`complete` only read immutable indexes and may be
    called from any thread; call :meth:`resolve` from one thread at a time (its LRU
    is not locked). :meth:`compile_pending` builds the new names without the lock
    and swaps them in under it; :meth:`cancel` may be called from any thread.
    """

    def __init__(
        self,
        modules: Iterable[str] = OPTIONAL_MODULES,
        *,
        mib_dirs: Iterable[str | Path] = (),
        mib_paths: Iterable[str | Path] = (),
        cache_dir: str | Path | None = None,
        well_known: Mapping[str, str] = WELL_KNOWN,
        cache_size: int = 4096,
        background: bool = False,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._optional = tuple(modules)
        self._mib_dirs = tuple(str(d) for d in mib_dirs)
        self._mib_paths = tuple(Path(p) for p in mib_paths)
        self._cache_dir = cache_dir
        self._well_known = dict(well_known)
        self._cache_size = cache_size
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        self._view: Any = None
        self._leaf_classes: tuple[type, ...] = ()
        self._loaded_modules: tuple[str, ...] = ()
        self._problems: tuple[MibProblem, ...] = ()
        self._compiled: CompiledMibs | None = None
        self._background = background
        self._plan: MibPlan | None = None
        self._pending: tuple[str, ...] = ()
        self._job: CompileJob | None = None
        self._generation = 0
        self._info: tuple[int, MibInfo] | None = None
        self._module_counts: dict[str, int] = {}
        # name indexes, built once by load() and never mutated afterwards
        self._by_module: dict[str, dict[str, tuple[int, ...]]] = {}
        self._module_folded: dict[str, str] = {}
        self._by_label: dict[str, tuple[str, tuple[int, ...]]] = {}
        self._label_folded: dict[str, str] = {}
        self._labels: list[tuple[str, str]] = []
        self._qualified: list[tuple[str, str]] = []
        self.load_seconds: float | None = None
        """How long :meth:`load` took (s), once it has run."""

    @property
    def loaded(self) -> bool:
        """True once the MIB modules are loaded."""
        return self._view is not None

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules actually loaded (empty before :meth:`load`), in load order:
        bundled, optional, then compiled from ``mib_paths``."""
        return self._loaded_modules

    @property
    def problems(self) -> tuple[MibProblem, ...]:
        """MIB sources that failed to compile or load (each was logged as a warning)."""
        return self._problems

    @property
    def mib_builder(self) -> Any:
        """pysnmp's ``MibBuilder`` of the loaded modules (``None`` before :meth:`load`):
        the table schemas read it (:func:`console.tables.schema.table_schema`)."""
        return None if self._view is None else self._view.mibBuilder

    @property
    def info(self) -> MibInfo | None:
        """What the loaded modules say about each object (SYNTAX, MAX-ACCESS, INDEX,
        OBJECTS ...): a :class:`~console.snmp.mibmeta.MibInfo` over the current
        generation's modules, preferring them in load order; ``None`` before
        :meth:`load`. Built on first use per generation (a few tens of ms)."""
        view = self._view
        if view is None:
            return None
        info = self._info
        if info is None or info[0] != self._generation:
            from console.snmp.mibmeta import MibInfo

            info = (self._generation, MibInfo(view.mibBuilder, self._loaded_modules))
            self._info = info
        return info[1]

    @property
    def compiled(self) -> CompiledMibs | None:
        """What compiling ``mib_paths`` produced (``None`` before :meth:`load`, or when
        no ``mib_paths`` were given)."""
        return self._compiled

    def load(self) -> None:
        """Compile ``mib_paths`` (what the cache does not hold) and load every module
        now (blocking); idempotent. Never raises for MIB problems.

        Missing optional modules are skipped; a bundled module or a compiled user
        module that fails to load is logged and listed in :attr:`problems`, and names
        then come from what did load plus :data:`WELL_KNOWN`. A resolver made with
        ``background=True`` loads only what the cache holds here (see
        :meth:`load_cached`); :meth:`compile_pending` compiles the rest.
        """
        if self._background:
            self.load_cached()
            return
        with self._lock:
            if self._view is not None and not self._pending:
                return
            started = time.perf_counter()
            compiled: CompiledMibs | None = None
            if self._mib_paths:
                compiled = compile_mibs(self._mib_paths, cache_dir=self._cache_dir)
            self._install(compiled, started)

    def load_cached(self) -> tuple[str, ...]:
        """Load pysnmp's modules and the compiled ``mib_paths`` modules the cache
        holds, compiling nothing (a restart with unchanged sources: all of them, in
        well under 2 s for ~500 modules); idempotent.

        Returns:
            The modules still to compile (:attr:`pending`).
        """
        with self._lock:
            if self._view is None:
                started = time.perf_counter()
                compiled: CompiledMibs | None = None
                if self._mib_paths:
                    self._plan = plan_mibs(self._mib_paths, cache_dir=self._cache_dir)
                    compiled = self._plan.result()
                    _report(compiled.problems)
                self._install(compiled, started, final=not (compiled and compiled.pending))
            return self._pending

    def compile_pending(self, progress: Progress | None = None) -> CompiledMibs | None:
        """Compile the modules :meth:`load_cached` left (blocking: the parsing runs in a
        child process, this thread waits), then load everything and swap the new
        names in at once (:attr:`generation` goes up). Cancelled by :meth:`cancel`.

        Args:
            progress: told ``(done, total)`` modules after each chunk (this thread).

        Returns:
            What was compiled, or ``None`` when nothing was pending.
        """
        self.load_cached()
        plan = self._plan
        if plan is None or not self._pending:
            return None
        job = self._job = CompileJob()
        started = time.perf_counter()
        try:
            result = compile_mibs(plan, progress=progress, job=job)
        finally:
            job.close()
        if job.cancelled:
            return result
        with self._lock:
            self._install(result, started, replace=True)
        return result

    def cancel(self) -> None:
        """Stop a running :meth:`compile_pending` (from any thread): its child process
        is killed; what was compiled so far stays cached."""
        job = self._job
        if job is not None:
            job.cancel()

    @property
    def pending(self) -> tuple[str, ...]:
        """The ``mib_paths`` modules not compiled yet (after :meth:`load_cached`)."""
        return self._pending

    @property
    def generation(self) -> int:
        """How many times the names were loaded (0 before any load); names resolved
        under an older generation may have improved since."""
        return self._generation

    def module_objects(self) -> dict[str, int]:
        """Objects (named OIDs) each loaded module defines, by module (after a load)."""
        return dict(self._module_counts)

    def _install(
        self,
        compiled: CompiledMibs | None,
        started: float,
        *,
        final: bool = True,
        replace: bool = False,
    ) -> None:
        """Build a MibBuilder over ``compiled`` and make it current (caller holds the
        lock). The indexes are built first and swapped in together."""
        problems: list[MibProblem] = list(compiled.problems) if compiled else []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                mib_builder, loaded = self._build(compiled, problems)
            self._index(mib_builder, loaded)
        finally:
            if final and compiled is not None and compiled.temporary and compiled.directory:
                shutil.rmtree(compiled.directory, ignore_errors=True)
        from pysnmp.smi import view

        self._compiled = compiled
        self._problems = tuple(problems)
        self._loaded_modules = tuple(loaded)
        self._pending = compiled.pending if compiled is not None and not replace else ()
        self._view = view.MibViewController(mib_builder)
        self._cache = OrderedDict()  # names may have changed
        self._generation += 1
        self.load_seconds = time.perf_counter() - started
        mlog.debug("MIB modules loaded in %.3f s: %s", self.load_seconds, ", ".join(loaded))

    def _build(
        self, compiled: CompiledMibs | None, problems: list[MibProblem]
    ) -> tuple[Any, list[str]]:
        from pysnmp.smi import builder
        from pysnmp.smi.error import MibNotFoundError

        from console.snmp.mibcode import cache_mib_code, compiled_mib_source

        cache_mib_code()  # the engines' modules, compiled once
        mib_builder = builder.MibBuilder()
        # UNITS, DESCRIPTION, REFERENCE: set only when texts load (value display, browser)
        mib_builder.loadTexts = True
        if self._mib_dirs:
            mib_builder.add_mib_sources(*(builder.DirMibSource(d) for d in self._mib_dirs))
        user_modules: tuple[str, ...] = ()
        if compiled is not None and compiled.directory is not None:
            mib_builder.add_mib_sources(compiled_mib_source(compiled.directory, compiled.files))
            user_modules = compiled.modules
        disable_pysnmp_compiler(mib_builder)
        files = compiled.sources if compiled is not None else {}
        loaded: list[str] = []
        failed: set[str] = set()
        for name in BUNDLED_MODULES + self._optional + user_modules:
            if name in loaded or name in failed:
                continue
            try:
                mib_builder.load_modules(name)
            except MibNotFoundError as exc:
                if name in BUNDLED_MODULES:
                    mlog.warning("bundled MIB module %s not found", name)
                elif name in user_modules:
                    failed.add(name)
                    problems.append(_load_problem(name, files.get(name), exc))
                continue
            except Exception as exc:
                failed.add(name)
                problems.append(_load_problem(name, files.get(name), exc))
                continue
            loaded.append(name)
        scalar, column = mib_builder.import_symbols("SNMPv2-SMI", "MibScalar", "MibTableColumn")
        self._leaf_classes = (scalar, column)
        return mib_builder, loaded

    def _index(self, mib_builder: Any, loaded: Sequence[str]) -> None:
        """Build the name indexes for :meth:`lookup` and :meth:`complete`."""
        node_class, instance_class = mib_builder.import_symbols(
            "SNMPv2-SMI", "MibNode", "MibScalarInstance"
        )
        order = [*loaded, *(m for m in mib_builder.mibSymbols if m not in loaded)]
        by_module: dict[str, dict[str, tuple[int, ...]]] = {}
        for module in order:
            if module.startswith("__"):  # agent instance modules
                continue
            for key, node in mib_builder.mibSymbols.get(module, {}).items():
                if not isinstance(node, node_class) or isinstance(node, instance_class):
                    continue
                oid = tuple(int(arc) for arc in node.getName())
                if oid:
                    by_module.setdefault(module, {})[str(node.label or key)] = oid
        counts = {module: len(symbols) for module, symbols in by_module.items()}
        for oid_text, qualified in self._well_known.items():
            module, _, label = qualified.partition("::")
            symbols = by_module.setdefault(module, {})
            symbols.setdefault(label, parse_oid(oid_text))
        by_label: dict[str, tuple[str, tuple[int, ...]]] = {}
        for module, symbols in by_module.items():  # insertion order = preference
            for label, oid in symbols.items():
                by_label.setdefault(label, (module, oid))
        label_folded: dict[str, str] = {}
        for label in by_label:
            label_folded.setdefault(label.casefold(), label)
        self._by_module = by_module
        self._module_counts = counts
        self._module_folded = {m.casefold(): m for m in by_module}
        self._by_label = by_label
        self._label_folded = label_folded
        # completion offers what lookup() turns into a sendable OID (iso alone is not)
        self._labels = sorted(
            (lb.casefold(), f"{m}::{lb}") for lb, (m, oid) in by_label.items() if len(oid) > 1
        )
        self._qualified = sorted(
            (f"{m}::{lb}".casefold(), f"{m}::{lb}")
            for m, syms in by_module.items()
            for lb, oid in syms.items()
            if len(oid) > 1
        )

    async def aload(self) -> None:
        """Compile and load in a worker thread (:func:`asyncio.to_thread`), so the
        loop never stalls."""
        if self._view is None:
            await asyncio.to_thread(self.load)

    def resolve(self, oid: str) -> str | None:
        """Return ``MODULE::name.index`` for a numeric OID, or ``None``.

        Args:
            oid: numeric OID text, e.g. ``"1.3.6.1.2.1.1.3.0"`` (leading dot allowed).

        Returns:
            e.g. ``"SNMPv2-MIB::sysUpTime.0"``, ``"RFC1213-MIB::ipAdEntAddr.127.0.0.1"``
            (index rendered by the index syntax), ``"SNMPv2-MIB::system"`` for a node
            itself; ``None`` when the OID is malformed or no known object type
            contains it (a bare prefix such as ``enterprises.2021.99`` is not a
            name). Never raises.
        """
        cache = self._cache
        hit = cache.get(oid, _MISSING)
        if hit is not _MISSING:
            cache.move_to_end(oid)
            return hit  # type: ignore[return-value]
        try:
            arcs = parse_oid(oid)
        except ValueError:
            name = None
        else:
            if self._view is None:
                self.load()
            name = self._from_mibs(arcs) or self._from_well_known(arcs)
        cache[oid] = name
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        return name

    def lookup(self, name: str) -> str:
        """Turn a MIB name (or a numeric OID) into a numeric OID.

        Accepted forms (surrounding whitespace ignored):

        * ``MODULE::object`` or ``MODULE::object.INDEX``: ``"SNMPv2-MIB::sysName.0"``,
          ``"IF-MIB::ifInOctets.3"``;
        * ``object`` or ``object.INDEX``, searched in every loaded module (bundled
          modules first, then optional, then compiled ``mib_paths``, then
          :data:`WELL_KNOWN`; the first that defines the name wins): ``"sysUpTime.0"``;
        * a numeric OID, validated and normalised (:func:`console.oid.normalize_oid`):
          ``".1.3.6.1.2.1.1.5.0"`` -> ``"1.3.6.1.2.1.1.5.0"``.

        ``INDEX`` is numeric arcs (``.3``, ``.127.0.0.1``), appended as they are; a
        name without an index returns the object's own OID, with nothing appended:
        ``"sysDescr"`` -> ``"1.3.6.1.2.1.1.1"`` (a GET of a scalar needs ``.0``; a walk
        takes the object's OID). Names match case-sensitively first, then
        case-insensitively (``"sysname.0"`` works; SMI forbids names that differ only
        in case within a module).

        Loads the MIBs on first use (blocking): call :meth:`aload` first from async code.

        Returns:
            The dotted numeric OID, no leading dot: ``"1.3.6.1.2.1.1.5.0"``.

        Raises:
            ValueError: an operator-readable reason, with suggestions from
                :mod:`difflib`: ``unknown MIB object 'sysNme'; did you mean
                'sysName'?``, ``unknown MIB module 'IF-MB'; did you mean 'IF-MIB'?``,
                ``'x' in 'sysName.x' is not a numeric index``, or the numeric OID
                rule broken (:func:`console.oid.parse_oid`).
        """
        if not isinstance(name, str):
            raise ValueError(f"a MIB name must be text, not {type(name).__name__}")
        text = name.strip()
        if not text:
            raise ValueError("empty MIB object name")
        if text.lstrip(".")[:1].isdigit():
            return normalize_oid(text)
        if self._view is None:
            self.load()
        module, sep, rest = text.partition("::")
        if not sep:
            module, rest = "", text
        label, dot, index_text = rest.partition(".")
        if sep and not module:
            raise ValueError(f"{text!r} has no MIB module name before '::'")
        if not label:
            raise ValueError(f"{text!r} has no MIB object name")
        index: tuple[int, ...] = ()
        if dot:
            parts = index_text.split(".")
            for part in parts:
                if not (part.isascii() and part.isdigit()):
                    shown = part or "(empty)"
                    raise ValueError(f"{shown!r} in {text!r} is not a numeric index")
            index = tuple(int(part) for part in parts)
        oid = self._find(module, label) if module else self._find_anywhere(label)
        try:
            return normalize_oid(format_oid(oid + index))
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None

    def _find(self, module: str, label: str) -> tuple[int, ...]:
        symbols = self._by_module.get(module)
        if symbols is None:
            real = self._module_folded.get(module.casefold())
            if real is None:
                hint = _suggest(module, self._by_module)
                raise ValueError(f"unknown MIB module {module!r}{hint or _MODULE_NOT_LOADED}")
            module, symbols = real, self._by_module[real]
        oid = symbols.get(label)
        if oid is None:
            folded = {lb.casefold(): lb for lb in symbols}
            real_label = folded.get(label.casefold())
            if real_label is None:
                hint = _suggest(label, symbols)
                raise ValueError(f"unknown MIB object {label!r} in {module}{hint}")
            oid = symbols[real_label]
        return oid

    def _find_anywhere(self, label: str) -> tuple[int, ...]:
        found = self._by_label.get(label)
        if found is None:
            real = self._label_folded.get(label.casefold())
            if real is None:
                hint = _suggest(label, self._by_label)
                raise ValueError(f"unknown MIB object {label!r}{hint or _NOT_LOADED}")
            found = self._by_label[real]
        return found[1]

    def complete(self, prefix: str, limit: int = 20) -> list[str]:
        """Names starting with ``prefix``, for completing a typed name.

        ``"sysU"`` -> ``["SNMPv2-MIB::sysUpTime"]``: a bare prefix matches object
        names (case-insensitively), each name once, qualified by the module
        :meth:`lookup` would pick; if that leaves room, module-qualified names whose
        module starts with the prefix follow (``"IF-"`` -> ``["IF-MIB::ifAdminStatus",
        ...]``). A prefix with ``::`` matches qualified names
        (``"IF-MIB::ifIn"`` -> ``["IF-MIB::ifInDiscards", "IF-MIB::ifInErrors",
        ...]``). Results are sorted case-insensitively. A prefix that is empty,
        numeric or already has an index (a ``.`` after the name) completes to
        nothing.

        Cost: two bisections over sorted lists built once at load, plus ``limit``
        items: microseconds, so it can run on every keystroke. Loads the MIBs on
        first use (blocking): call :meth:`aload` first from async code.

        Args:
            prefix: what the operator typed so far.
            limit: most names returned.

        Returns:
            Up to ``limit`` names ``MODULE::object``.
        """
        text = prefix.strip()
        if not text or limit < 1 or text.lstrip(".")[:1].isdigit():
            return []
        _, sep, rest = text.partition("::")
        if "." in (rest if sep else text):
            return []
        if self._view is None:
            self.load()
        needle = text.casefold()
        if sep:
            return _prefixed(self._qualified, needle, limit)
        found = _prefixed(self._labels, needle, limit)
        if len(found) < limit:
            seen = set(found)
            for item in _prefixed(self._qualified, needle, limit):
                if item not in seen and len(found) < limit:
                    found.append(item)
        return found

    def cache_info(self) -> dict[str, int]:
        """Return ``{"size": entries cached, "max_size": bound}``."""
        return {"size": len(self._cache), "max_size": self._cache_size}

    def _from_mibs(self, arcs: tuple[int, ...]) -> str | None:
        from pysnmp.smi.rfc1902 import ObjectIdentity

        try:
            _prefix, _labels, suffix = self._view.get_node_name(arcs)
        except Exception:
            return None
        try:
            identity = ObjectIdentity(arcs).resolve_with_mib(self._view)
            node = identity.get_mib_node()
            if suffix and not isinstance(node, self._leaf_classes):
                return None  # only a prefix is known: not a name worth showing
            text = str(identity.prettyPrint())
        except Exception:
            return None
        # a module that merely re-exports SMI skeleton nodes is not informative
        return text if "::" in text else None

    def _from_well_known(self, arcs: tuple[int, ...]) -> str | None:
        for end in range(len(arcs), 1, -1):
            name = self._well_known.get(format_oid(arcs[:end]))
            if name is not None:
                rest = arcs[end:]
                return f"{name}.{format_oid(rest)}" if rest else name
        return None


def _load_problem(name: str, file: Path | None, exc: BaseException) -> MibProblem:
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


def _prefixed(keys: Sequence[tuple[str, str]], needle: str, limit: int) -> list[str]:
    """The values of sorted ``(folded key, value)`` pairs whose key starts with
    ``needle``, at most ``limit``."""
    found: list[str] = []
    position = bisect.bisect_left(keys, (needle, ""))
    while position < len(keys) and len(found) < limit:
        key, value = keys[position]
        if not key.startswith(needle):
            break
        found.append(value)
        position += 1
    return found


def _suggest(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'a'?"`` / ``"; did you mean 'a', 'b' or 'c'?"`` from
    :func:`difflib.get_close_matches`, or ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.75)
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {options}?"


_NOT_LOADED: Final = " (no loaded MIB module defines it: add its MIB source to mib_paths)"
_MODULE_NOT_LOADED: Final = " (not loaded: add its MIB source to mib_paths)"
_MISSING_PY: Final = re.compile(r'MIB file "([^"]+?)\.py\[co\]" not found')
_MISSING: Final = object()
