"""One subscription of the event bus (:mod:`console.events`): a pattern bound to a
handler, with its own bounded queue, backpressure policy, optional batching and
delivery task; and :func:`on_event`, the decorator :meth:`EventManager.attach` reads.

Re-exported by :mod:`console.events`; import it from there.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from console.event_types import (
    DEFAULT_MAXSIZE,
    Event,
    EventHandler,
    EventType,
    Pattern,
    Policy,
    SubscriptionStats,
    validate_pattern,
)

if TYPE_CHECKING:
    from console.pace import Pace

__all__ = ["Subscription", "SubscriptionOwner", "on_event"]


class SubscriptionOwner(Protocol):
    """What a :class:`Subscription` needs of the bus that made it (the
    :class:`~console.events.EventManager`): no import of the manager, no reach into
    its private state."""

    def report_handler_error(
        self, subscription: Subscription, item: Event | list[Event], exc: Exception
    ) -> None:
        """Log (and publish) a handler's exception; delivery goes on."""

    def discard(self, subscription: Subscription) -> None:
        """Stop routing events to ``subscription`` (it unsubscribed)."""

    @property
    def pace(self) -> Pace:
        """The loop's :class:`~console.pace.Pace`: deliveries yield by its slices and
        wait while it holds for the operator's input."""


#: A delivery task yields to the event loop after this many deliveries in a row.
_YIELD_EVERY = 256


class Subscription:
    """A pattern bound to a handler, with its own bounded queue and delivery task.

    Created by :meth:`EventManager.subscribe`; never instantiated directly. The
    handler receives an :class:`Event`, or a ``list[Event]`` when batching is on.
    """

    def __init__(
        self,
        manager: SubscriptionOwner,
        patterns: tuple[Pattern, ...],
        handler: EventHandler,
        *,
        policy: Policy,
        maxsize: int,
        batch_size: int | None,
        batch_duration: float | None,
        name: str,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if batch_duration is not None and batch_duration < 0:
            raise ValueError("batch_duration must not be negative")
        self.pattern = patterns[0]
        """The first (usually only) pattern."""
        self.patterns = patterns
        """Every pattern; an event matching any of them is delivered once."""
        self.handler = handler
        self.policy = policy
        self.maxsize = maxsize
        self.batch_size = batch_size
        self.batch_duration = batch_duration
        self.name = name
        self.stats = SubscriptionStats()
        self._manager = manager
        self._batched = batch_size is not None or batch_duration is not None
        # decided once here, not per event: a coroutine function is always awaited;
        # anything else is awaited only if it returns an awaitable
        self._handler_is_coroutine = inspect.iscoroutinefunction(handler)
        self._deliveries = 0
        self._queue: deque[Event] = deque()
        self._latest: OrderedDict[EventType, Event] = OrderedDict()
        self._wakeup = asyncio.Event()
        # True while the delivery task waits (or is about to wait) on _wakeup: only
        # then does an _offer_* method need to wake it, so a burst costs one wake-up,
        # not one asyncio.Event.set() per event
        self._parked = True
        self._room = asyncio.Event()
        self._room.set()
        self._full = False  # mirrors "not _room.is_set()" for BLOCK, without a call
        self._idle = asyncio.Event()
        self._idle.set()
        self._deadline_passed = False
        self._closed = False
        #: The enqueue function the manager calls, specialised once for the policy.
        self._enqueue: Callable[[Event], None]
        if policy is Policy.LATEST_PER_TYPE:
            self._enqueue = self._offer_latest
        elif policy is Policy.BLOCK:
            self._enqueue = self._offer_block
        else:
            self._enqueue = self._offer_drop_oldest
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"fleettop-subscription-{name}"
        )

    # -- queue side (called by the manager, in the loop thread) -------------------
    # The _offer_* methods need no closed check: unsubscribe() removes the
    # subscription from the manager, which re-routes every type before its next
    # publish, and nothing can unsubscribe during a publish (no handler runs inline).

    def __len__(self) -> int:
        return len(self._latest) if self.policy is Policy.LATEST_PER_TYPE else len(self._queue)

    @property
    def closed(self) -> bool:
        """True once :meth:`unsubscribe` was called or the manager closed."""
        return self._closed

    def _wake(self) -> None:
        self._parked = False
        self._idle.clear()
        self._wakeup.set()

    def _offer_drop_oldest(self, event: Event) -> None:
        queue = self._queue
        if len(queue) >= self.maxsize:
            queue.popleft()
            self.stats.dropped += 1
        queue.append(event)
        if self._parked:
            self._wake()

    def _offer_block(self, event: Event) -> None:
        queue = self._queue
        if len(queue) >= self.maxsize:
            self.stats.overflow += 1
        queue.append(event)
        if not self._full and len(queue) >= self.maxsize:
            self._full = True
            self._room.clear()
        if self._parked:
            self._wake()

    def _offer_latest(self, event: Event) -> None:
        latest = self._latest
        event_type = event.type
        if event_type in latest:
            del latest[event_type]
            self.stats.coalesced += 1
        elif len(latest) >= self.maxsize:
            latest.popitem(last=False)
            self.stats.dropped += 1
        latest[event_type] = event
        if self._parked:
            self._wake()

    async def _wait_room(self) -> None:
        while not self._closed and self.policy is Policy.BLOCK and len(self._queue) >= self.maxsize:
            self._full = True
            self._room.clear()
            await self._room.wait()

    def _has_room(self) -> bool:
        return self._closed or self.policy is not Policy.BLOCK or len(self._queue) < self.maxsize

    def _take(self, limit: int) -> list[Event]:
        if self.policy is Policy.LATEST_PER_TYPE:
            latest = self._latest
            taken: list[Event] = []
            while latest and len(taken) < limit:
                taken.append(latest.popitem(last=False)[1])
            return taken
        queue = self._queue
        if limit >= len(queue):
            taken = list(queue)
            queue.clear()
        else:
            taken = [queue.popleft() for _ in range(limit)]
        if self._full and len(queue) < self.maxsize:
            self._full = False
            self._room.set()
        return taken

    # -- delivery side ----------------------------------------------------------

    async def _park(self) -> None:
        """Wait until an _offer_* method (or the batch timer) wakes the delivery task."""
        self._parked = True
        self._wakeup.clear()
        await self._wakeup.wait()

    async def _run(self) -> None:
        try:
            if self._batched:
                await self._run_batched()
            elif self.policy is Policy.LATEST_PER_TYPE:
                await self._run_latest()
            else:
                await self._run_queue()
        except asyncio.CancelledError:
            self._idle.set()
            raise
        # ended by unsubscribe() from inside the handler: nothing else will come
        self._idle.set()

    async def _run_queue(self) -> None:
        # The hot path (DROP_OLDEST and BLOCK, unbatched): one event at a time
        # straight off the deque, the handler called inline. The deque is re-checked
        # after every event, so events published by the handler are seen at once,
        # and unsubscribe() (which empties it) ends the inner loop. After each time
        # slice of the pace it yields to the loop (and waits while the pace holds for
        # a key), so a sync handler with a large backlog cannot starve the other tasks
        # (the UI among them).
        queue = self._queue
        popleft = queue.popleft
        stats = self.stats
        handler = self.handler
        is_coroutine = self._handler_is_coroutine
        maxsize = self.maxsize
        pace = self._manager.pace
        while True:
            slice_ = pace.slice()
            while queue:
                if slice_.due():
                    # the slice is used up, or the operator's key waits (console.pace)
                    await slice_.tick()
                    if not queue:
                        break
                event = popleft()
                if self._full and len(queue) < maxsize:
                    self._full = False
                    self._room.set()
                try:
                    if is_coroutine:
                        await handler(event)  # type: ignore[misc]
                    else:
                        result = handler(event)
                        if result is not None and inspect.isawaitable(result):
                            await result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    stats.errors += 1
                    self._manager.report_handler_error(self, event, exc)
                finally:
                    stats.delivered += 1
            if self._closed:
                return
            self._idle.set()
            await self._park()

    async def _run_latest(self) -> None:
        latest = self._latest
        pace = self._manager.pace
        while not self._closed:
            if not latest:
                self._idle.set()
                await self._park()
                continue
            if pace.holding:
                await pace.wait()  # the operator's key first (console.pace)
                continue
            await self._deliver(latest.popitem(last=False)[1])

    async def _run_batched(self) -> None:
        while not self._closed:
            if not len(self):
                self._idle.set()
                await self._park()
                continue
            batch = await self._collect_batch()
            if batch:
                if self._manager.pace.holding:
                    await self._manager.pace.wait()  # the operator's key first
                await self._deliver(batch)
                if len(self):
                    # a backlog: one batch per loop step, so a flood's consumers take
                    # turns with the UI instead of draining their queues in one go
                    await asyncio.sleep(0)

    def _batch_deadline(self) -> None:
        self._deadline_passed = True
        self._parked = False
        self._wakeup.set()

    async def _collect_batch(self) -> list[Event]:
        size = self.batch_size if self.batch_size is not None else self.maxsize
        batch = self._take(size)
        if self.batch_duration and len(batch) < size:
            # one timer per batch wakes the task at the deadline; offers wake it
            # in between so a batch that fills up closes at once
            self._deadline_passed = False
            timer = asyncio.get_running_loop().call_later(self.batch_duration, self._batch_deadline)
            try:
                while len(batch) < size and not self._deadline_passed and not self._closed:
                    if not len(self):
                        await self._park()
                        continue
                    batch.extend(self._take(size - len(batch)))
            finally:
                timer.cancel()
        if self.policy is Policy.LATEST_PER_TYPE and len(batch) > 1:
            # the same type may have arrived again while the batch was open
            merged: dict[EventType, Event] = {}
            for event in batch:
                if event.type in merged:
                    self.stats.coalesced += 1
                merged.pop(event.type, None)
                merged[event.type] = event
            batch = list(merged.values())
        return batch

    async def _deliver(self, item: Event | list[Event]) -> None:
        count = len(item) if isinstance(item, list) else 1
        try:
            if self._handler_is_coroutine:
                await self.handler(item)  # type: ignore[misc]
            else:
                result = self.handler(item)
                if result is not None and inspect.isawaitable(result):
                    await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.stats.errors += 1
            self._manager.report_handler_error(self, item, exc)
        finally:
            self._deliveries += 1
            self.stats.delivered += count
        if not self._deliveries % _YIELD_EVERY:
            await asyncio.sleep(0)  # see _run_queue: never starve the loop

    # -- lifecycle --------------------------------------------------------------

    def unsubscribe(self) -> None:
        """Stop delivery: pending events are discarded and the task is cancelled.

        Safe to call more than once, and from inside the handler itself (the
        handler's current call then finishes and the task ends).
        """
        if self._closed:
            return
        self._closed = True
        self._manager.discard(self)
        self._queue.clear()
        self._latest.clear()
        self._full = False
        self._room.set()
        self._idle.set()
        if self._task is not asyncio.current_task():
            self._task.cancel()

    async def drain(self) -> None:
        """Wait until every event queued so far has been handled."""
        while not self._closed and (len(self) or not self._idle.is_set()):
            await self._idle.wait()
            if len(self):
                await asyncio.sleep(0)

    async def wait_closed(self) -> None:
        """Wait until the delivery task has ended after :meth:`unsubscribe`."""
        await asyncio.gather(self._task, return_exceptions=True)

    def __repr__(self) -> str:
        patterns = " ".join("/".join(p) for p in self.patterns)
        return (
            f"<Subscription {self.name} {patterns} {self.policy.value}"
            f" queued={len(self)} {self.stats}>"
        )


def on_event(
    *pattern: str,
    policy: Policy = Policy.DROP_OLDEST,
    maxsize: int = DEFAULT_MAXSIZE,
    batch_size: int | None = None,
    batch_duration: float | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as a handler of events matching ``pattern``.

    The subscription is made when the object is passed to
    :meth:`EventManager.attach` (like ACME CSE's ``@onEvent``)::

        class DeviceTable:
            @on_event("snmp", "?", "status", policy=Policy.LATEST_PER_TYPE)
            def on_status(self, event: Event) -> None: ...

        subscriptions = manager.attach(DeviceTable())

    Raises:
        ValueError: ``"*"`` is not the last segment.
    """
    checked = validate_pattern(pattern)

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        specs = list(getattr(method, "__fleettop_events__", ()))
        specs.append(
            {
                "pattern": checked,
                "policy": policy,
                "maxsize": maxsize,
                "batch_size": batch_size,
                "batch_duration": batch_duration,
            }
        )
        method.__fleettop_events__ = specs  # type: ignore[attr-defined]
        return method

    return decorate
