"""A garbage-collection policy for a console that must answer keys under a flood.

CPython's cyclic collector stops the world for a full (generation 2) collection, and
its cost grows with every long-lived object: the modules, the MIBs, the screens, the
per-topic state of 100k MQTT topics. Under an MQTT flood those collections ran about
twice a second and took ~120 ms each — longer than a key press may take to show
(``bench_notifications``).

:class:`LatencyGc` keeps the collector on but out of the long-lived heap:

* at :meth:`~LatencyGc.install` it freezes everything alive (:func:`gc.freeze`: the
  permanent generation, never scanned);
* after each full collection it freezes the survivors too, so the next one scans
  only what was created since (~10 ms instead of 30 to 120 ms in the benchmark);
* every ``thaw_every`` seconds it unfreezes everything before the next full
  collection, which then scans the whole heap once: reference cycles that became
  garbage after being frozen are reclaimed then. Objects without cycles (nearly all
  of fleettop's: events, notifications, values) are freed by reference counting as
  soon as they are unused, frozen or not; only cyclic garbage waits, at most
  ``thaw_every`` seconds.

:func:`return_large_blocks` is the allocator's side of bounded memory: glibc's
``malloc`` raises its mmap threshold each time a large block is freed (the dynamic
threshold, ``mallopt(3)``: up to 32 MiB), after which 10 MB payloads come from the
heap and their memory stays with the process once freed (30 MQTT payloads of 10 MB
left ~60 MB more resident than the live objects took, ``bench_payloads``). A fixed
threshold keeps every block of at least that size mmap-ed, returned to the system
when freed. The runtime sets it at start.

Reference: the :mod:`gc` module documentation (``gc.freeze``, ``gc.callbacks``);
glibc's ``mallopt(3)`` (``M_MMAP_THRESHOLD``). No Textual here; the app installs
:class:`LatencyGc` (``FleettopApp(freeze_heap=True)``, what the ``fleettop`` command
runs).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import time
from collections.abc import Callable
from typing import Any, Final

__all__ = ["DEFAULT_MMAP_THRESHOLD", "DEFAULT_THAW_SECONDS", "LatencyGc", "return_large_blocks"]

#: Seconds between two full collections over the whole heap (cyclic garbage of
#: frozen objects waits at most this long).
DEFAULT_THAW_SECONDS: Final = 600.0
#: Blocks of at least this many bytes are mmap-ed (and unmapped when freed).
DEFAULT_MMAP_THRESHOLD: Final = 1024 * 1024
#: glibc's ``mallopt`` parameter number of ``M_MMAP_THRESHOLD`` (``<malloc.h>``).
_M_MMAP_THRESHOLD: Final = -3


def return_large_blocks(threshold: int = DEFAULT_MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (``mallopt(M_MMAP_THRESHOLD)``),
    so freed large blocks (payloads) go back to the system instead of staying resident.

    Returns:
        True when set; False where the C library is not glibc (nothing changes).
        Never raises.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


class LatencyGc:
    """Freeze the long-lived heap and keep freezing what survives full collections
    (see the module docstring). One per process; install once.

    Args:
        thaw_every: seconds between two whole-heap collections.
        clock: monotonic seconds (tests).

    Attributes:
        full_collections: generation-2 collections seen since :meth:`install`.
        thaws: whole-heap collections (unfreezes) done since :meth:`install`.
    """

    def __init__(
        self,
        *,
        thaw_every: float = DEFAULT_THAW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if thaw_every <= 0:
            raise ValueError(f"thaw_every must be positive seconds, not {thaw_every!r}")
        self.thaw_every = thaw_every
        self._clock = clock
        self._installed = False
        self._last_thaw = 0.0
        self.full_collections = 0
        self.thaws = 0

    @property
    def installed(self) -> bool:
        """True between :meth:`install` and :meth:`uninstall`."""
        return self._installed

    def install(self) -> None:
        """Freeze the heap now and watch full collections (idempotent)."""
        if self._installed:
            return
        gc.freeze()
        self._last_thaw = self._clock()
        gc.callbacks.append(self._on_collection)
        self._installed = True

    def uninstall(self) -> None:
        """Stop watching and unfreeze everything: the collector is back to normal
        (idempotent)."""
        if not self._installed:
            return
        self._installed = False
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
        gc.unfreeze()

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        self.full_collections += 1
        now = self._clock()
        if now - self._last_thaw >= self.thaw_every:
            # the next full collection scans everything and reclaims frozen cycles
            self._last_thaw = now
            self.thaws += 1
            gc.unfreeze()
        else:
            gc.freeze()
