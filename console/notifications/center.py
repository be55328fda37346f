"""The notification center: the one live stream of everything worth an operator's
attention, bounded in memory, kept in the store, and back after a restart.

:class:`NotificationCenter` makes **one** bus subscription to every event type
(``("*",)``), with :attr:`~console.events.Policy.BLOCK` (nothing dropped; a producer
that publishes with :meth:`~console.events.EventManager.publish_wait` is slowed to
the center's pace) and batching (a batch every ``batch_duration`` seconds or
``batch_size`` events). Each batch goes:

1. through :func:`~console.notifications.model.classify` (cheap: no summary is
   built), dropping statistics and internal state;
2. into the ring, a :class:`~console.notifications.payloads.NotificationRing` of at
   most ``ring_size`` entries and ``ring_bytes`` payload bytes (the oldest fall off),
   each payload larger than ``payload_bytes`` kept truncated with its size noted
   (:attr:`Notification.truncated <console.notifications.model.Notification.truncated>`);
3. to every listener (:meth:`NotificationCenter.listen`), as one list (the entries as
   the ring keeps them);
4. to the :class:`~console.notifications.storage.NotificationLog`, when there is one:
   queued to the store's batching writer (this builds each summary, for its column),
   with each payload whole up to the log's own limit (``stored_payload_bytes``).
   Queuing never blocks the loop; when the writer's bounded queue is full the center
   waits, its own bounded queue fills, and ``publish_wait`` producers wait in turn.

Memory therefore stays bounded whatever the rate and the payload sizes: the ring
(entries and bytes), the subscription's
queue (``maxsize``), the writer's queue (``max_pending``) and a table of row ids
for the ring's live entries (``ring_size``).

Without a store (``log=None``) the center works in memory only. When the store's
writer stops (disk full), the center logs one warning and carries on in memory;
:attr:`NotificationCenter.store_error` says why.

At :meth:`~NotificationCenter.start` the center prunes the store by its retention
(age in seconds, row count; again every ``prune_interval`` seconds), then replays the
newest ``replay`` stored notifications into the ring, marked ``history=True`` with
negative ids. :meth:`~NotificationCenter.older` pages further back, from SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Final

from console.events import Event, EventManager, Policy, Subscription
from console.lifecycle import ClosesOnce
from console.notifications.filters import NotificationFilter
from console.notifications.model import CATEGORIES, Notification, classify
from console.notifications.payloads import (
    DEFAULT_PAYLOAD_BYTES,
    DEFAULT_RING_BYTES,
    NotificationRing,
    cut_notification,
)
from console.notifications.storage import NotificationLog
from console.store.errors import StoreError

__all__ = [
    "DEFAULT_BATCH_DURATION",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PRUNE_INTERVAL",
    "DEFAULT_REPLAY",
    "DEFAULT_RING_SIZE",
    "NotificationCenter",
    "NotificationListener",
]

mlog = logging.getLogger(__name__)

#: Entries kept in memory.
DEFAULT_RING_SIZE: Final = 10_000
#: Stored notifications put back in the ring at start.
DEFAULT_REPLAY: Final = 500
#: Events per delivered batch, at most.
DEFAULT_BATCH_SIZE: Final = 2000
#: Seconds a batch stays open after its first event, at most.
DEFAULT_BATCH_DURATION: Final = 0.05
#: Seconds between two retention prunes.
DEFAULT_PRUNE_INTERVAL: Final = 60.0
#: Stored rows read per query while :meth:`NotificationCenter.older` looks for
#: matches, and the most it reads in one call (a rare text over a huge table).
_PAGE: Final = 2000
_MAX_SCAN: Final = 200_000

#: A listener: called in the loop with each batch of new notifications, oldest first.
NotificationListener = Callable[[list[Notification]], None]


class NotificationCenter(ClosesOnce):
    """The live notification stream (see the module docstring).

    Args:
        bus: the event manager.
        ring_size: entries kept in memory (the oldest fall off), at least 1.
        log: where notifications are kept and replayed from, or ``None`` (memory
            only).
        replay: stored notifications put back in the ring at start (at most
            ``ring_size``).
        retention: ``(max_age, max_count)``: stored notifications older than
            ``max_age`` seconds, and all but the newest ``max_count``, are deleted at
            start and every ``prune_interval`` seconds; ``None`` for no limit.
        batch_size: events per batch, at most.
        batch_duration: seconds a batch stays open after its first event.
        maxsize: the subscription's queue bound in events (``BLOCK``: past it,
            ``publish_wait`` producers wait); default ``2 * batch_size``.
        prune_interval: seconds between two prunes.
        ring_bytes: payload bytes the ring holds at most (the oldest entries fall
            off first; the newest always stays).
        payload_bytes: the most of one payload kept in memory (the ring's entries,
            the listeners' and :meth:`older`'s); a larger one is kept truncated,
            its size noted.

    Raises:
        ValueError: ``ring_size``, ``batch_size``, ``maxsize``, ``ring_bytes`` or
            ``payload_bytes`` below 1, a negative
            ``replay``, ``batch_duration``, ``prune_interval`` or retention limit.
    """

    def __init__(
        self,
        bus: EventManager,
        *,
        ring_size: int = DEFAULT_RING_SIZE,
        log: NotificationLog | None = None,
        replay: int = DEFAULT_REPLAY,
        retention: tuple[float | None, int | None] = (None, None),
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_duration: float = DEFAULT_BATCH_DURATION,
        maxsize: int | None = None,
        prune_interval: float = DEFAULT_PRUNE_INTERVAL,
        ring_bytes: int = DEFAULT_RING_BYTES,
        payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
    ) -> None:
        if ring_size < 1 or batch_size < 1 or (maxsize is not None and maxsize < 1):
            raise ValueError("ring_size, batch_size and maxsize must be at least 1")
        if ring_bytes < 1 or payload_bytes < 1:
            raise ValueError("ring_bytes and payload_bytes must be at least 1")
        if replay < 0 or batch_duration < 0 or prune_interval < 0:
            raise ValueError("replay, batch_duration and prune_interval must not be negative")
        max_age, max_count = retention
        if (max_age is not None and not max_age >= 0) or (max_count is not None and max_count < 0):
            raise ValueError(f"retention {retention!r}: max_age and max_count must not be negative")
        self._bus = bus
        self.ring_size = ring_size
        self.replay = min(replay, ring_size)
        self.max_age = max_age
        """Seconds a stored notification is kept, or ``None``."""
        self.max_count = max_count
        """Stored notifications kept at most, or ``None``."""
        self.batch_size = batch_size
        self.batch_duration = batch_duration
        self.maxsize = maxsize if maxsize is not None else 2 * batch_size
        self.prune_interval = prune_interval
        self._log = log
        self.payload_bytes = payload_bytes
        self._ring = NotificationRing(ring_size, max_bytes=ring_bytes, entry_bytes=payload_bytes)
        # live id -> row id, for the newest ring_size live entries (older() pages
        # back from exactly the row of a live entry)
        self._rows: dict[int, int] = {}
        self._listeners: list[NotificationListener] = []
        self._subscription: Subscription | None = None
        self._started = asyncio.Event()
        self.received = 0
        """Live notifications since start (replayed ones not counted)."""
        self.replayed = 0
        """Notifications put back in the ring from the store at start."""
        self.pruned = 0
        """Stored notifications deleted by the retention since start."""
        self.store_error: StoreError | None = None
        """Why notifications are no longer stored, or ``None``."""

    # -- state ----------------------------------------------------------------------

    @property
    def entries(self) -> Sequence[Notification]:
        """The ring, oldest first (replayed history, then live entries); at most
        ``ring_size`` long and ``ring_bytes`` of payloads (large payloads truncated).
        A live view: copy it before awaiting."""
        return self._ring

    @property
    def persistent(self) -> bool:
        """True while notifications are being stored."""
        return self._log is not None

    @property
    def subscription(self) -> Subscription | None:
        """The bus subscription (its ``stats`` count overflow), once started."""
        return self._subscription

    def listen(self, callback: NotificationListener) -> Callable[[], None]:
        """Call ``callback(batch)`` in the loop with each batch of new (live)
        notifications, oldest first, after they entered the ring. A callback that
        raises is logged; the others still run.

        Returns:
            A function that stops the calls (idempotent).
        """
        self._listeners.append(callback)

        def unlisten() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return unlisten

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe, prune the store by the retention, replay the newest ``replay``
        stored notifications into the ring, then let live ones in (events published
        meanwhile wait in the subscription, so none is lost and they come after the
        replayed ones). A store that fails here is reported once (logged) and the
        center runs in memory.

        Raises:
            RuntimeError: started twice, or the center or the bus is closed.
        """
        if self._subscription is not None or self.closing:
            raise RuntimeError("the notification center was already started or is closed")
        self._subscription = self._bus.subscribe(
            ("*",),
            self._on_batch,
            policy=Policy.BLOCK,
            maxsize=self.maxsize,
            batch_size=self.batch_size,
            batch_duration=self.batch_duration,
            name="notifications",
        )
        try:
            if self._log is not None and self._log.store.error is not None:
                self._lose_store(self._log.store.error)
            await self._prune()
            if self._log is not None and self.replay:
                try:
                    history = await self._log.recent(self.replay)
                except StoreError as exc:
                    self._lose_store(exc)
                else:
                    self._ring.extend(history)
                    self.replayed = len(history)
        finally:
            self._started.set()
        if self._log is not None and self.prune_interval and self._has_retention:
            self.spawn(self._prune_every(), name="fleettop-notifications-prune")

    @property
    def _has_retention(self) -> bool:
        return self.max_age is not None or self.max_count is not None

    async def _prune(self) -> None:
        if self._log is None or not self._has_retention:
            return
        try:
            self.pruned += await self._log.prune(max_age=self.max_age, max_count=self.max_count)
        except StoreError as exc:
            self._lose_store(exc)

    async def _prune_every(self) -> None:
        while self._log is not None:
            await asyncio.sleep(self.prune_interval)
            await self._prune()

    def _lose_store(self, error: StoreError) -> None:
        """Carry on in memory; say so once."""
        if self._log is None:
            return
        self._log = None
        self._rows.clear()
        self.store_error = error
        mlog.warning("notifications are no longer kept in the store (memory only): %s", error)

    async def _on_batch(self, events: list[Event]) -> None:
        if not self._started.is_set():
            await self._started.wait()
        fresh: list[Notification] = []
        pace = self._bus.pace
        slice_ = pace.slice()
        for event in events:
            await slice_.tick()  # a big batch must not hold the loop (the UI)
            notification = classify(event)
            if notification is not None:
                fresh.append(notification)
        if not fresh:
            return
        kept = self._ring.extend(fresh)
        self.received += len(fresh)
        for listener in tuple(self._listeners):
            try:
                listener(kept)
            except Exception:
                mlog.exception("a notification listener failed")
        log = self._log
        if log is None:
            return
        try:
            ids = await log.record(fresh, pace)  # whole payloads, up to the log's limit
        except StoreError as exc:
            self._lose_store(exc)
            return
        rows = self._rows
        for notification, row_id in zip(fresh, ids, strict=True):
            rows[notification.id] = row_id
        excess = len(rows) - self.ring_size
        if excess > 0:
            for live_id in list(itertools.islice(rows, excess)):
                del rows[live_id]

    async def older(
        self,
        flt: NotificationFilter,
        before_time: float,
        before_id: int,
        limit: int = 500,
    ) -> list[Notification]:
        """Stored notifications passing ``flt`` from before a given entry, for
        scrolling back past the ring: the newest ``limit`` of them, oldest first,
        with ``history=True`` and negative ids. ``[]`` without a store.

        Args:
            flt: the pane's filter.
            before_time: the entry's time, seconds since the epoch (used only when
                its stored row is unknown: a live entry no longer in the ring; then
                the rows of strictly earlier milliseconds come).
            before_id: the entry's id (a replayed/older entry's negative id, or a
                live one's).
            limit: at most this many.

        Raises:
            FilterError: the filter's text is a bad regular expression.
        """
        passes = flt.predicate()
        log = self._log
        if log is None or limit <= 0:
            return []
        row_id = -before_id if before_id < 0 else self._rows.get(before_id, 0)
        before = (round(before_time * 1000), row_id)
        categories = None if flt.categories >= frozenset(CATEGORIES) else flt.categories
        found: list[Notification] = []
        scanned = 0
        try:
            while len(found) < limit and scanned < _MAX_SCAN:
                page = await log.recent(
                    _PAGE if flt.text else limit - len(found),
                    before=before,
                    categories=categories,
                    device_glob=flt.device or None,
                )
                if not page:
                    break
                scanned += len(page)
                found[:0] = [n for n in page if passes(n)]
                before = (before[0], -page[0].id)
                if flt.text and len(page) < _PAGE:
                    break
        except StoreError as exc:
            mlog.warning("older notifications cannot be read: %s", exc)
        found = found[-limit:] if len(found) > limit else found
        return [cut_notification(n, self.payload_bytes) for n in found]

    async def _close(self) -> None:
        await self.cancel_tasks()  # the pruner: no prune once closing
        subscription = self._subscription
        if subscription is None:
            return
        if not subscription.closed and self._log is not None:
            # hand what was already published to the store (its owner closes it later)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await subscription.drain()
        subscription.unsubscribe()
        await subscription.wait_closed()
        self._listeners.clear()
