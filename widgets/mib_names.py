"""MIB names for numeric OIDs, resolved lazily, cached, and off the UI's hot path;
and the reverse (a name an operator types -> numeric OID) with completion.

:class:`MibNames` keeps a cache shared by every value table. A table asks for the
names it needs with :meth:`MibNames.request`; the OIDs not yet known wait in a
pending set that a thread worker resolves with :meth:`MibNames.resolve_pending`
(loading MIB modules can take a while). The resolver itself is created on first use,
in that thread. Prompts call :meth:`MibNames.lookup` and :meth:`MibNames.complete`
in threads too. Every call into the resolver holds one lock, so it is only ever used
from one thread at a time.

:class:`NameWorker` is the one way a widget gets names resolved: it queues the OIDs,
runs one thread worker of the widget at a time while any wait, and hands each batch
of names to the widget's callback in the event loop. Only it touches Textual here
(a widget's worker and message queue); :class:`MibNames` itself does not.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from console.format import MISSING, format_value
from console.oid import normalize_oid
from console.snmpdisplay import ValueFormatter

if TYPE_CHECKING:
    from textual.widget import Widget

__all__ = ["MibNames", "MibSource", "NameWorker", "Resolve", "default_resolver"]

mlog = logging.getLogger(__name__)

T = TypeVar("T")
Resolve = Callable[[str], str | None]
"""Turn a dotted OID into ``MODULE::name.index``, or ``None`` when unknown."""


@runtime_checkable
class MibSource(Protocol):
    """What :class:`MibNames` uses of :class:`console.snmp.mib.MibResolver`:
    ``resolve`` always; ``lookup(name) -> OID`` and ``complete(prefix, limit)`` when
    the resolver has them (names typed by an operator)."""

    def resolve(self, oid: str) -> str | None:
        """Return ``MODULE::name.index`` for a numeric OID, or ``None``."""


def default_resolver() -> MibSource | None:
    """Return a :class:`console.snmp.mib.MibResolver`, or ``None`` when the MIB
    support is not available."""
    try:
        from console.snmp.mib import MibResolver
    except ImportError:
        mlog.info("MIB names unavailable: console.snmp.mib is missing")
        return None
    return MibResolver()


class MibNames:
    """A thread-safe cache of OID -> MIB name, filled in batches by a worker thread,
    and the way back from names to OIDs.

    Args:
        factory: creates the resolver on first use (called in a worker thread): a
            :class:`MibSource`, a bare :data:`Resolve` function (names only, no
            lookup), or ``None`` when names are not available.
        limit: how many names to remember (oldest forgotten first).
    """

    def __init__(
        self,
        factory: Callable[[], MibSource | Resolve | None] = default_resolver,
        *,
        limit: int = 200_000,
    ) -> None:
        self._factory = factory
        self._source: object | None = None
        self._resolve: Resolve | None = None
        self._loaded = False
        self._names: dict[str, str | None] = {}
        self._pending: dict[str, None] = {}
        self._limit = limit
        self._lock = threading.Lock()
        self._resolving = threading.Lock()
        self._workers: weakref.WeakSet[NameWorker] = weakref.WeakSet()
        self._formatter: ValueFormatter | None = None
        self.generation = 0
        """How many times :meth:`invalidate` ran."""

    def invalidate(self) -> None:
        """Forget every name (the resolver loaded more MIB modules: names compiled in
        the background fill in) and have every :class:`NameWorker` ask again for the
        OIDs its widget asked for, so the tables showing them refresh. Call it from
        the event loop."""
        with self._lock:
            self._names.clear()
            self.generation += 1
        for worker in list(self._workers):
            worker.refresh()

    def display(
        self,
        oid: str,
        data: Mapping[str, object] | None,
        *,
        context: Mapping[str, Mapping[str, object]] | None = None,
        width: int | None = None,
    ) -> str:
        """The text of the SNMP value ``data`` of ``oid`` as its MIB defines it
        (:class:`console.snmpdisplay.ValueFormatter`: ``up(1)``, ``00:0c:29:a4:5b:07``,
        ``5 seconds``), from what the name worker found for ``oid`` (never a MIB
        search here: call it from the event loop). An OID not resolved yet shows
        plainly (:func:`console.format.format_value`); the widget that asked for its
        name redraws it when the name arrives.

        Args:
            oid: the instance OID.
            data: its data dict ``{"type", "value"}`` (``None``: ``—``).
            context: other values by OID (an InetAddress's InetAddressType).
            width: cut the text to this many characters.
        """
        formatter = self._formatter
        if formatter is not None:
            return formatter.display(oid, data, context=context, width=width, cached_only=True)
        if data is None:
            return MISSING
        return format_value(str(data.get("type")), data.get("value"), width=width)  # type: ignore[arg-type]

    def register(self, worker: NameWorker) -> None:
        """Let :meth:`invalidate` reach ``worker`` (kept weakly)."""
        self._workers.add(worker)

    def get(self, oid: str) -> str | None:
        """Return the cached name of ``oid`` (``None``: unknown or not resolved yet)."""
        with self._lock:
            return self._names.get(oid)

    def request(self, oids: Iterable[str]) -> bool:
        """Queue the OIDs whose name is not cached; return True if any now waits."""
        with self._lock:
            for oid in oids:
                if oid not in self._names:
                    self._pending[oid] = None
            return bool(self._pending)

    @property
    def pending(self) -> bool:
        """True when OIDs wait to be resolved."""
        with self._lock:
            return bool(self._pending)

    def resolve_pending(self) -> dict[str, str | None]:
        """Resolve every waiting OID (blocking: call it in a worker thread).

        Returns:
            The names found, by OID (``None`` where the MIBs do not know it).
        """
        with self._resolving:
            return self._resolve_batch()

    def resolve(self, oid: str) -> str | None:
        """Return the name of ``oid``, cached or resolved now (blocking: call it in a
        worker thread)."""
        with self._lock:
            if oid in self._names:
                return self._names[oid]
        with self._resolving:
            self._load()
            name = self._lookup(oid)
        with self._lock:
            self._names[oid] = name
        return name

    def resolve_many(self, oids: Iterable[str]) -> dict[str, str | None]:
        """Return the names of ``oids``, cached or resolved now (blocking: call it in
        a worker thread)."""
        found: dict[str, str | None] = {}
        with self._resolving:
            self._load()
            for oid in oids:
                with self._lock:
                    known = oid in self._names
                    name = self._names.get(oid)
                if not known:
                    name = self._lookup(oid)
                    with self._lock:
                        self._names[oid] = name
                found[oid] = name
        return found

    def lookup(self, text: str) -> str:
        """Return the numeric OID of ``text``: a numeric OID (normalised, no MIBs
        needed) or a MIB name such as ``SNMPv2-MIB::sysName.0`` or ``sysUpTime.0``
        (blocking: call it in a worker thread).

        Raises:
            ValueError: an operator-readable reason, e.g. the resolver's "did you
                mean" message, or that only numeric OIDs can be used.
        """
        stripped = text.strip()
        if not stripped:
            raise ValueError("enter a numeric OID or a MIB name")
        if stripped.lstrip(".")[:1].isdigit():
            return normalize_oid(stripped)
        with self._resolving:
            self._load()
            lookup = getattr(self._source, "lookup", None)
            if not callable(lookup):
                raise ValueError(
                    f"{stripped!r}: MIB names cannot be looked up here; enter a numeric OID"
                )
            oid = lookup(stripped)
        return normalize_oid(str(oid))

    def complete(self, prefix: str, limit: int = 20) -> list[str]:
        """Return up to ``limit`` MIB names that complete ``prefix`` (blocking: call it
        in a worker thread); none when the resolver cannot complete names."""
        stripped = prefix.strip()
        if not stripped or stripped.lstrip(".")[:1].isdigit():
            return []
        with self._resolving:
            self._load()
            complete = getattr(self._source, "complete", None)
            if not callable(complete):
                return []
            try:
                found = complete(stripped, limit)
            except Exception as exc:
                mlog.debug("cannot complete %r: %s", stripped, exc)
                return []
        return [str(name) for name in found][:limit]

    def with_source(self, use: Callable[[object | None], T]) -> T:
        """Return ``use(resolver)`` (``None`` when names are unavailable), the resolver
        loaded and held by this cache's lock (blocking: call it in a worker thread).
        The table screens read a table's schema from the MIB this way."""
        with self._resolving:
            self._load()
            return use(self._source)

    def _load(self) -> None:
        """Create the resolver once (the caller holds ``_resolving``)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            source = self._factory()
        except Exception:
            mlog.exception("cannot load the MIB resolver")
            return
        self._source = source
        if getattr(type(source), "info", None) is not None:  # a MibResolver
            self._formatter = ValueFormatter(lambda: getattr(source, "info", None))
        if isinstance(source, MibSource):
            self._resolve = source.resolve
        elif callable(source):
            self._resolve = source

    def _resolve_batch(self) -> dict[str, str | None]:
        with self._lock:
            oids = list(self._pending)
            self._pending.clear()
        self._load()
        found: dict[str, str | None] = {}
        for oid in oids:
            found[oid] = self._lookup(oid)
        with self._lock:
            if len(self._names) + len(found) > self._limit:
                self._names.clear()
            self._names.update(found)
        return found

    def _lookup(self, oid: str) -> str | None:
        if self._resolve is None:
            return None
        try:
            name = self._resolve(oid)
        except Exception as exc:
            mlog.debug("cannot resolve %s: %s", oid, exc)
            return None
        if self._formatter is not None:
            try:
                self._formatter.describe(oid)  # readies display() for the event loop
            except Exception as exc:
                mlog.debug("cannot describe %s: %s", oid, exc)
        return name


#: Most OIDs a :class:`NameWorker` remembers to ask for again (its widget's rows).
ASKED_LIMIT = 100_000

Names = dict[str, str | None]
"""A batch of resolved names: OID -> ``MODULE::name.index`` (``None``: unknown)."""


class NameWorker:
    """Resolves the MIB names a widget asks for, off the UI thread.

    :meth:`request` queues OIDs in the shared :class:`MibNames`; while any wait, one
    thread worker of ``widget`` (group ``mib-names``) resolves them batch by batch and
    ``deliver`` is called with each batch in the event loop (through the widget's
    message queue, so the widget may update itself). A widget that is gone gets
    nothing.

    Args:
        widget: the widget that owns the worker and receives the names.
        mib_names: the shared names (``None``: names are not available, requests do
            nothing).
        deliver: called in the event loop with each batch of names found.
    """

    def __init__(
        self, widget: Widget, mib_names: MibNames | None, deliver: Callable[[Names], object]
    ) -> None:
        self._widget = widget
        self._names = mib_names
        self._deliver = deliver
        self._lock = threading.Lock()
        self._running = False
        self._asked: dict[str, None] = {}
        if mib_names is not None:
            mib_names.register(self)

    def refresh(self) -> None:
        """Resolve again every OID asked for so far (after
        :meth:`MibNames.invalidate`) in a thread worker of the widget (group
        ``mib-names-refresh``, the latest refresh only) and deliver them all, cached
        or not (another widget's worker may have resolved some first); nothing
        once the widget is gone."""
        names = self._names
        if names is None or not self._asked or not self._widget.is_attached:
            return
        oids = list(self._asked)

        def resolve_all() -> None:
            found = names.resolve_many(oids)
            self._widget.call_later(self._deliver, found)

        self._widget.run_worker(
            resolve_all,
            thread=True,
            group="mib-names-refresh",
            exclusive=True,
            exit_on_error=False,
            description="resolve MIB names again",
        )

    def request(self, oids: Iterable[str]) -> None:
        """Queue the OIDs whose name is not cached, and start resolving them unless a
        worker already runs (it takes them too). Call it from the event loop."""
        names = self._names
        if names is None:
            return
        oids = list(oids)
        asked = self._asked
        for oid in oids:
            asked[oid] = None
        if len(asked) > ASKED_LIMIT:  # keep the newest: the rows a widget still shows
            for oid in list(asked)[: len(asked) - ASKED_LIMIT]:
                del asked[oid]
        with self._lock:
            if not names.request(oids) or self._running:
                return
            self._running = True
        self._widget.run_worker(
            self._resolve,
            thread=True,
            group="mib-names",
            exit_on_error=False,
            description="resolve MIB names",
        )

    def _resolve(self) -> None:
        """The worker thread: resolve batches until none waits."""
        names = self._names
        assert names is not None
        try:
            while True:
                found = names.resolve_pending()
                if found:
                    self._widget.call_later(self._deliver, found)
                with self._lock:
                    if not names.pending:
                        self._running = False
                        return
        except BaseException:
            with self._lock:
                self._running = False
            raise
