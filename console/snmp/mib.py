"""MIB names both ways: numeric OID -> ``MODULE::name.index`` and back, plus completion.

The poller never resolves names (it runs with ``lookupMib=False``). The UI calls
:meth:`MibResolver.resolve` when it shows an OID (results kept in an LRU cache),
:meth:`MibResolver.lookup` to turn what an operator typed (``sysName.0``,
``IF-MIB::ifInOctets.3``) into the numeric OID to send, and
:meth:`MibResolver.complete` on every keystroke of that prompt.

What it knows
-------------
* the MIB modules pysnmp 7 ships compiled: ``SNMPv2-MIB`` (system, snmp groups,
  sysORTable), ``RFC1213-MIB``, the ``SNMP-*`` engine MIBs (``SNMP-FRAMEWORK-MIB``,
  ``SNMP-TARGET-MIB``, ``SNMP-VIEW-BASED-ACM-MIB``...), ``INET-ADDRESS-MIB``,
  ``TRANSPORT-ADDRESS-MIB``;
* the standard modules of :data:`STANDARD_MODULES` (``IF-MIB``, ``IP-MIB``,
  ``TCP-MIB``, ``UDP-MIB``, ``HOST-RESOURCES-MIB``, ``UPS-MIB``, ``BRIDGE-MIB``,
  Net-SNMP's ``UCD-SNMP-MIB``...), as the PyPI package ``pysnmp-mibs`` ships them
  compiled (``pysnmp_mibs``: nothing to compile);
* the MIB *source* directories given as ``mib_paths`` (``Config.mib_paths``),
  compiled once by pysmi and cached (:func:`console.snmp.mibs.compile_mibs`); a MIB
  that fails is a warning on this module's logger, never an error.

Names are written as Net-SNMP 5.9 writes them by default (``snmpwalk`` without
``-O`` options): ``MODULE::object.INDEX``, the module being the first loaded one
that defines the object (SNMPv2-MIB, IF-MIB, IP-MIB... before the superseded
RFC1213-MIB: :data:`SUPERSEDED_MODULES`), the index decoded by the row's INDEX
clause (:func:`console.snmp.nametext.netsnmp_index`:
``UDP-MIB::udpEndpointProcess.ipv4."0.0.0.0".161.ipv4."0.0.0.0".0.1``, strings
quoted, IMPLIED ones in single quotes). Deliberate differences from Net-SNMP are
listed in ``docs/mibs.md``.

Loading pysnmp's modules and the standard ones takes ~0.3 s of CPU with pysnmp's
import (~0.23 s for pysnmp's alone), compiled ``mib_paths`` modules ~4 ms each; compiling a
source ~0.1-0.5 s, once per module and content (:mod:`console.snmp.mibs`). So loading
is lazy, or ahead of time in a thread (:meth:`MibResolver.aload`); with
``background=True`` (the runtime's) a lookup never compiles: :meth:`load_cached
<MibResolver.load_cached>` loads what the cache holds, :meth:`compile_pending
<MibResolver.compile_pending>` compiles the rest in a child process and swaps the new
names in (:attr:`MibResolver.generation`).

Logger: ``console.snmp.mib`` (warnings reach the bus as ``("log", "warning")``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from console.oid import format_oid, normalize_oid, parse_oid
from console.snmp.mibcode import disable_pysnmp_compiler
from console.snmp.mibs import (
    CompiledMibs,
    CompileJob,
    MibPlan,
    MibProblem,
    Progress,
    _report,
    compile_mibs,
    load_problem,
    plan_mibs,
)
from console.snmp.nametext import (
    MODULE_NOT_LOADED,
    NOT_LOADED,
    SUPERSEDED_MODULES,
    IndexObject,
    MibNode,
    index_labels,
    index_object,
    netsnmp_index,
    preference,
    prefixed,
    read_index,
    split_module,
    suggest,
)

if TYPE_CHECKING:
    from console.snmp.mibmeta import MibInfo

__all__ = [
    "BUNDLED_MODULES",
    "STANDARD_MODULES",
    "SUPERSEDED_MODULES",
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

#: The standard modules fleettop always loads besides :data:`BUNDLED_MODULES`, in
#: the order they name objects (the first module that defines an OID names it):
#: pysnmp-compiled modules of the PyPI package ``pysnmp-mibs`` (its ``pysnmp_mibs``
#: directory, on pysnmp's default MIB search path), loaded as they are: no compile.
STANDARD_MODULES: Final[tuple[str, ...]] = (
    "IF-MIB",
    "IP-MIB",
    "TCP-MIB",
    "UDP-MIB",
    "IP-FORWARD-MIB",
    "HOST-RESOURCES-MIB",
    "HOST-RESOURCES-TYPES",
    "UPS-MIB",
    "ENTITY-MIB",
    "BRIDGE-MIB",
    "EtherLike-MIB",
    "RMON-MIB",
    "IPV6-MIB",
    "IPV6-ICMP-MIB",
    "IPV6-TCP-MIB",
    "IPV6-UDP-MIB",
    "NOTIFICATION-LOG-MIB",
    "DISMAN-EVENT-MIB",
    "UCD-SNMP-MIB",
    "NET-SNMP-MIB",
    "NET-SNMP-AGENT-MIB",
    "NET-SNMP-EXTEND-MIB",
)


class MibResolver:
    """MIB names both ways, over pysnmp's compiled MIBs, the standard modules and
    compiled user MIBs: lazily loaded, cached, never blocking the loop if
    :meth:`aload` ran first.

    Args:
        modules: standard modules to load besides :data:`BUNDLED_MODULES` (default
            :data:`STANDARD_MODULES`), loaded from pysnmp's search path (pysnmp's
            own modules, then ``pysnmp_mibs``); one that is not there is skipped.
        mib_dirs: extra directories of pysnmp-compiled MIB modules (``.py``).
        mib_paths: MIB *source* directories to compile with pysmi and load
            (``Config.mib_paths``); see :func:`console.snmp.mibs.compile_mibs`.
        cache_dir: cache root for the compiled MIBs (default ``$FLEETTOP_CACHE_DIR``,
            else platformdirs' user cache dir ``fleettop``).
        cache_size: how many resolved OIDs the LRU keeps.
        background: never compile on a lookup: the first use loads what the cache
            holds (:meth:`load_cached`), and :meth:`compile_pending` (in a worker
            thread) compiles the rest and swaps the new names in (the runtime does).

    Usage::

        resolver = MibResolver(mib_paths=config.mib_paths)
        await resolver.aload()                       # load + compile off the loop
        resolver.resolve("1.3.6.1.2.1.1.3.0")        # 'SNMPv2-MIB::sysUpTime.0'
        resolver.resolve("1.3.6.1.2.1.2.2.1.10.3")   # 'IF-MIB::ifInOctets.3'
        resolver.resolve("1.3.6.1.2.1.7.7.1.8.1.4.0.0.0.0.161.1.4.0.0.0.0.0.1")
        # 'UDP-MIB::udpEndpointProcess.ipv4."0.0.0.0".161.ipv4."0.0.0.0".0.1'
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
        modules: Iterable[str] = STANDARD_MODULES,
        *,
        mib_dirs: Iterable[str | Path] = (),
        mib_paths: Iterable[str | Path] = (),
        cache_dir: str | Path | None = None,
        cache_size: int = 4096,
        background: bool = False,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._optional = tuple(modules)
        self._mib_dirs = tuple(str(d) for d in mib_dirs)
        self._mib_paths = tuple(Path(p) for p in mib_paths)
        self._cache_dir = cache_dir
        self._cache_size = cache_size
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        self._view: Any = None
        self._leaf_classes: tuple[type, ...] = ()
        self._loaded_modules: tuple[str, ...] = ()
        self._order: tuple[str, ...] = ()
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
        # OID -> (module, name, kind, node) of every named node, first module first
        self._nodes: dict[tuple[int, ...], MibNode] = {}
        self._index_parts: dict[tuple[int, ...], tuple[IndexObject, ...] | None] = {}
        # names resolve() gave -> their OID (lookup accepts what the screens show)
        self._shown: OrderedDict[str, str] = OrderedDict()
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

            info = (self._generation, MibInfo(view.mibBuilder, self._order))
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

        Missing standard modules are skipped; a bundled module or a compiled user
        module that fails to load is logged and listed in :attr:`problems`, and names
        then come from what did load. A resolver made with
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

        from console.snmp.mibcode import cache_mib_code, compiled_mib_source, pysnmp_mibs_last

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
        pysnmp_mibs_last(mib_builder)
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
                    problems.append(load_problem(name, files.get(name), exc))
                continue
            except Exception as exc:
                failed.add(name)
                problems.append(load_problem(name, files.get(name), exc))
                continue
            loaded.append(name)
        scalar, column = mib_builder.import_symbols("SNMPv2-SMI", "MibScalar", "MibTableColumn")
        self._leaf_classes = (scalar, column)
        return mib_builder, loaded

    def _index(self, mib_builder: Any, loaded: Sequence[str]) -> None:
        """Build the name indexes of :meth:`resolve`, :meth:`lookup`, :meth:`complete`."""
        node_class, instance_class, row_class, table_class = mib_builder.import_symbols(
            "SNMPv2-SMI", "MibNode", "MibScalarInstance", "MibTableRow", "MibTable"
        )
        scalar_class, column_class = self._leaf_classes
        by_module: dict[str, dict[str, tuple[int, ...]]] = {}
        nodes: dict[tuple[int, ...], MibNode] = {}
        order = preference(loaded, mib_builder.mibSymbols)
        self._order = tuple(order)
        for module in order:
            for key, node in mib_builder.mibSymbols.get(module, {}).items():
                if not isinstance(node, node_class) or isinstance(node, instance_class):
                    continue
                oid = tuple(int(arc) for arc in node.getName())
                if not oid:
                    continue
                label = str(node.label or key)
                by_module.setdefault(module, {})[label] = oid
                if oid not in nodes:
                    if isinstance(node, column_class):
                        kind = "column"
                    elif isinstance(node, scalar_class):
                        kind = "scalar"
                    elif isinstance(node, row_class):
                        kind = "row"
                    elif isinstance(node, table_class):
                        kind = "table"
                    else:
                        kind = "node"
                    nodes[oid] = MibNode(module, label, kind, node)
        counts = {module: len(symbols) for module, symbols in by_module.items()}
        self._nodes = nodes
        self._index_parts = {}
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
        """Return ``MODULE::name.index`` for a numeric OID, or ``None``, as Net-SNMP
        writes it (see the module docstring).

        Args:
            oid: numeric OID text, e.g. ``"1.3.6.1.2.1.1.3.0"`` (leading dot allowed).

        Returns:
            e.g. ``"SNMPv2-MIB::sysUpTime.0"``, ``"IP-MIB::ipAdEntAddr.127.0.0.1"``,
            ``'IP-MIB::ipAddressIfIndex.ipv4."10.0.0.1"'`` (the index decoded by the
            row's INDEX clause; where it does not fit, the numeric arcs),
            ``"SNMPv2-MIB::system"`` for a node itself; ``None`` when the OID is
            malformed or no object type contains it (a bare prefix such as
            ``enterprises.2021.99`` is not a name). Never raises.
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
            try:
                name = self._name(arcs)
            except Exception:  # a MIB object pysnmp built oddly: no name rather than a crash
                mlog.debug("cannot name %s", oid, exc_info=True)
                name = None
            if name is not None:
                shown = self._shown
                shown[name] = format_oid(arcs)
                if len(shown) > self._cache_size * 4:
                    shown.popitem(last=False)
        cache[oid] = name
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        return name

    def _name(self, arcs: tuple[int, ...]) -> str | None:
        """The name of ``arcs`` (see :meth:`resolve`): the object type (scalar or
        column) that contains it and the instance suffix, else the node itself."""
        nodes = self._nodes
        deepest: tuple[int, MibNode] | None = None
        for end in range(len(arcs), 0, -1):
            node = nodes.get(arcs[:end])
            if node is None:
                continue
            if node.kind in ("scalar", "column"):
                # an instance of an object type, also where another module names a
                # deeper OID (DISMAN-EVENT-MIB's sysUpTimeInstance is sysUpTime.0)
                text = f"{node.module}::{node.label}"
                suffix = arcs[end:]
                if not suffix:
                    return text
                if node.kind == "column":
                    parts = self._row_index(arcs[: end - 1])
                    if parts is not None:
                        return text + netsnmp_index(parts, suffix)
                return f"{text}.{format_oid(suffix)}"
            if deepest is None:
                deepest = (end, node)
            if node.kind in ("row", "table"):
                break  # no object type above a table
        if deepest is None or deepest[0] != len(arcs):
            return None  # only a prefix is known: not a name worth showing
        node = deepest[1]
        return f"{node.module}::{node.label}"

    def _row_index(self, row_oid: tuple[int, ...]) -> tuple[IndexObject, ...] | None:
        """The INDEX clause of the row at ``row_oid`` (cached), each index object with
        its SYNTAX (:attr:`info`), or ``None`` (no row there, an index object whose
        module is not loaded)."""
        if row_oid in self._index_parts:
            return self._index_parts[row_oid]
        info = self.info
        row = info.object(row_oid) if info is not None else None
        parts: tuple[IndexObject, ...] | None = None
        if info is not None and row is not None and row.kind == "row" and row.index:
            found = []
            for ref in row.index:
                obj = info.named(ref.module, ref.name)
                if obj is None or obj.syntax is None:
                    break
                found.append(index_object(obj, ref.implied))
            else:
                parts = tuple(found)
        self._index_parts[row_oid] = parts
        return parts

    def lookup(self, name: str) -> str:
        """Turn a MIB name (or a numeric OID) into a numeric OID.

        Accepted forms (surrounding whitespace ignored):

        * ``MODULE::object`` or ``MODULE::object.INDEX``: ``"SNMPv2-MIB::sysName.0"``,
          ``"IF-MIB::ifInOctets.3"``;
        * ``object`` or ``object.INDEX``, searched in every loaded module (in the
          order they name OIDs: bundled and standard modules first, then compiled
          ``mib_paths``, RFC1213-MIB last; the first that defines the name wins):
          ``"sysUpTime.0"``;
        * a numeric OID, validated and normalised (:func:`console.oid.normalize_oid`):
          ``".1.3.6.1.2.1.1.5.0"`` -> ``"1.3.6.1.2.1.1.5.0"``.

        ``INDEX`` is numeric arcs (``.3``, ``.127.0.0.1``), appended as they are, or a
        columnar object's index as :meth:`resolve` writes it, encoded by the row's
        INDEX clause (:func:`console.snmp.nametext.read_index`):
        ``'UDP-MIB::udpEndpointProcess.ipv4."0.0.0.0".161.ipv4."0.0.0.0".0.1'``,
        ``ifRcvAddressStatus.2."abc"``, an enumeration's label or number, an address
        of an ``InetAddress`` also in its usual form (``ipv6."fe80::1"``); every name
        :meth:`resolve` gave is accepted as it was shown. A
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
        shown = self._shown.get(text)
        if shown is not None:
            return shown
        module, sep, rest = split_module(text)
        label, dot, index_text = rest.partition(".")
        if sep and not module:
            raise ValueError(f"{text!r} has no MIB module name before '::'")
        if not label:
            raise ValueError(f"{text!r} has no MIB object name")
        oid = self._find(module, label) if module else self._find_anywhere(label)
        index: tuple[int, ...] = ()
        if dot:
            index = self._index_arcs(text, oid, index_text)
        try:
            return normalize_oid(format_oid(oid + index))
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None

    def _index_arcs(self, text: str, oid: tuple[int, ...], index_text: str) -> tuple[int, ...]:
        """The arcs of ``index_text``, the index typed after the object ``oid``."""
        pieces = index_text.split(".")
        if all(piece.isascii() and piece.isdigit() for piece in pieces):
            return tuple(int(piece) for piece in pieces)
        node = self._nodes.get(oid)
        parts = self._row_index(oid[:-1]) if node is not None and node.kind == "column" else None
        if parts is None:
            for piece in pieces:
                if not (piece.isascii() and piece.isdigit()):
                    shown = piece or "(empty)"
                    raise ValueError(f"{shown!r} in {text!r} is not a numeric index")
        try:
            return read_index(parts or (), index_text)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None

    def _find(self, module: str, label: str) -> tuple[int, ...]:
        symbols = self._by_module.get(module)
        if symbols is None:
            real = self._module_folded.get(module.casefold())
            if real is None:
                hint = suggest(module, self._by_module)
                raise ValueError(f"unknown MIB module {module!r}{hint or MODULE_NOT_LOADED}")
            module, symbols = real, self._by_module[real]
        oid = symbols.get(label)
        if oid is None:
            folded = {lb.casefold(): lb for lb in symbols}
            real_label = folded.get(label.casefold())
            if real_label is None:
                hint = suggest(label, symbols)
                raise ValueError(f"unknown MIB object {label!r} in {module}{hint}")
            oid = symbols[real_label]
        return oid

    def _find_anywhere(self, label: str) -> tuple[int, ...]:
        found = self._by_label.get(label)
        if found is None:
            real = self._label_folded.get(label.casefold())
            if real is None:
                hint = suggest(label, self._by_label)
                raise ValueError(f"unknown MIB object {label!r}{hint or NOT_LOADED}")
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
        ...]``). Results are sorted case-insensitively. A prefix that is empty or
        numeric completes to nothing.

        A prefix with an index completes to the names :meth:`resolve` gave that start
        with it (``'ipAddressIfIndex.ipv4.'`` -> ``['ipAddressIfIndex.ipv4."10.0.0.1"']``),
        then to the labels of an enumerated next index object (``ipv4``, ``ipv6``...).

        Cost: two bisections over sorted lists built once at load: microseconds, so it
        runs on every keystroke. Loads the MIBs on first use (blocking).

        Args:
            prefix: what the operator typed so far.
            limit: most names returned.

        Returns:
            Up to ``limit`` names ``MODULE::object`` (or ``MODULE::object.INDEX``).
        """
        text = prefix.strip()
        if not text or limit < 1 or text.lstrip(".")[:1].isdigit():
            return []
        _, sep, rest = split_module(text)
        if "." in (rest if sep else text):
            if self._view is None:
                self.load()
            return self._complete_index(text, limit)
        if self._view is None:
            self.load()
        needle = text.casefold()
        if sep:
            return prefixed(self._qualified, needle, limit)
        found = prefixed(self._labels, needle, limit)
        if len(found) < limit:
            seen = set(found)
            for item in prefixed(self._qualified, needle, limit):
                if item not in seen and len(found) < limit:
                    found.append(item)
        return found

    def _complete_index(self, text: str, limit: int) -> list[str]:
        """Completions of a name with an index (see :meth:`complete`)."""
        needle = text.casefold()
        qualified = "::" in split_module(text)[1]
        found: list[str] = []
        for name in reversed(self._shown):  # the latest names first
            candidate = name if qualified else name.partition("::")[2]
            if candidate.casefold().startswith(needle) and candidate not in found:
                found.append(candidate)
                if len(found) >= limit:
                    return sorted(found, key=str.casefold)
        found.sort(key=str.casefold)
        for label in self._index_labels(text):
            if label not in found and len(found) < limit:
                found.append(label)
        return found

    def _index_labels(self, text: str) -> list[str]:
        """``text`` completed with an enumerated index object's labels
        (:func:`console.snmp.nametext.index_labels`)."""
        module, _sep, rest = split_module(text)
        label = rest.partition(".")[0]
        try:
            oid = self._find(module, label) if module else self._find_anywhere(label)
        except ValueError:
            return []
        node = self._nodes.get(oid)
        parts = self._row_index(oid[:-1]) if node is not None and node.kind == "column" else None
        return index_labels(text, parts) if parts is not None else []

    def cache_info(self) -> dict[str, int]:
        """Return ``{"size": entries cached, "max_size": bound}``."""
        return {"size": len(self._cache), "max_size": self._cache_size}


_MISSING: Final = object()
