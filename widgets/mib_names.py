"""MIB names for numeric OIDs, resolved lazily, cached, and off the UI's hot path.

:class:`MibNames` keeps a cache shared by every value table. A table asks for the
names it needs with :meth:`MibNames.request`; the OIDs not yet known wait in a
pending set that a thread worker resolves with :meth:`MibNames.resolve_pending`
(loading MIB modules can take a while). The resolver itself is created on first use,
in that thread. No Textual here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

__all__ = ["MibNames", "Resolve", "default_resolver"]

mlog = logging.getLogger(__name__)

Resolve = Callable[[str], str | None]
"""Turn a dotted OID into ``MODULE::name.index``, or ``None`` when unknown."""


def default_resolver() -> Resolve | None:
    """Return :class:`console.snmp.mib.MibResolver`'s lookup, or ``None`` when the
    MIB support is not available."""
    try:
        from console.snmp.mib import MibResolver
    except ImportError:
        mlog.info("MIB names unavailable: console.snmp.mib is missing")
        return None
    resolver = MibResolver()
    resolve: Resolve = resolver.resolve
    return resolve


class MibNames:
    """A thread-safe cache of OID -> MIB name, filled in batches by a worker thread.

    Args:
        factory: creates the resolver on first use (called in the worker thread);
            returns ``None`` when names are not available.
        limit: how many names to remember (oldest forgotten first).
    """

    def __init__(
        self, factory: Callable[[], Resolve | None] = default_resolver, *, limit: int = 200_000
    ) -> None:
        self._factory = factory
        self._resolve: Resolve | None = None
        self._loaded = False
        self._names: dict[str, str | None] = {}
        self._pending: dict[str, None] = {}
        self._limit = limit
        self._lock = threading.Lock()
        self._resolving = threading.Lock()

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

    def _resolve_batch(self) -> dict[str, str | None]:
        with self._lock:
            oids = list(self._pending)
            self._pending.clear()
        if not self._loaded:
            self._loaded = True
            try:
                self._resolve = self._factory()
            except Exception:
                mlog.exception("cannot load the MIB resolver")
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
            return self._resolve(oid)
        except Exception as exc:
            mlog.debug("cannot resolve %s: %s", oid, exc)
            return None
