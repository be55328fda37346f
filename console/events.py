"""The event manager: fleettop's internal publish/subscribe bus.

Every backend (SNMP, MQTT, store) publishes :class:`Event` objects here and knows
nothing of the UI; every screen subscribes through a pattern. The design follows
hat-gateway's event types (tuples of strings, JSON payloads, emit-on-change by the
producer) and the ACME CSE event system (``@on_event`` handlers).

Delivery model
--------------
* :meth:`EventManager.publish` is synchronous and never blocks: it stamps the event,
  records it for :meth:`EventManager.snapshot`, and appends it to the bounded queue
  of every matching :class:`Subscription`. No handler runs inline.
* Each subscription owns one asyncio task that drains its queue in order and calls
  its handler (sync or async). Per-subscriber order is the publish order.
* A handler that raises is logged and reported as a ``("log", "error")`` event; the
  subscription and the bus carry on.
* :meth:`EventManager.publish_threadsafe` is for backends that run their own threads
  (paho-mqtt's network loop); it hands events to the loop in one call per batch.

Backpressure (per subscription, see :class:`Policy`)
----------------------------------------------------
``DROP_OLDEST``
    a full queue discards its oldest event; counted in ``stats.dropped``.
``LATEST_PER_TYPE``
    the queue keeps only the newest event per event type (a live table needs the
    current value, not every intermediate one); replaced events are counted in
    ``stats.coalesced``; when more than ``maxsize`` distinct types wait, the oldest
    type is dropped and counted in ``stats.dropped``.
``BLOCK``
    nothing is ever dropped. :meth:`EventManager.publish_wait` waits until every
    ``BLOCK`` subscriber has room, which is how a fast producer is slowed to the pace
    of a consumer that must not lose data (the property store). A plain
    :meth:`EventManager.publish` still never blocks: past ``maxsize`` it keeps the
    event anyway and counts it in ``stats.overflow``.

Batching
--------
A subscription created with ``batch_size`` and/or ``batch_duration`` (seconds)
receives ``list[Event]``: a batch closes when it holds ``batch_size`` events or when
``batch_duration`` has passed since its first event, whichever comes first (the
monitor batching of Digi's Device Cloud). The UI uses this to render at a steady
frame rate instead of once per event.

Patterns
--------
A pattern is a tuple of segments: ``"?"`` matches exactly one segment and ``"*"``,
only as the last segment, matches zero or more remaining segments. Anything else
matches literally. ``("snmp", "?", "read", "*")`` matches every SNMP read event of
every device.

The catalog of built-in event types and their payloads is in ``docs/events.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

__all__ = [
    "Event",
    "EventHandler",
    "EventManager",
    "EventType",
    "JsonValue",
    "Pattern",
    "Policy",
    "Subscription",
    "SubscriptionStats",
    "event_pattern",
    "matches",
    "on_event",
    "topic_pattern",
]

mlog = logging.getLogger(__name__)

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
EventType: TypeAlias = tuple[str, ...]
Pattern: TypeAlias = tuple[str, ...]
EventHandler: TypeAlias = Callable[[Any], Awaitable[None] | None]

#: How many distinct event types :meth:`EventManager.snapshot` remembers before the
#: least recently published ones are forgotten (bounded memory with 100k+ topics).
DEFAULT_SNAPSHOT_LIMIT = 200_000
#: Default per-subscription queue bound (events, or distinct types for coalescing).
DEFAULT_MAXSIZE = 10_000

_HANDLER_ERROR_TYPE: EventType = ("log", "error")


class Event(NamedTuple):
    """One thing that happened, as published on the bus. Immutable.

    A :class:`~typing.NamedTuple` rather than a frozen dataclass: an event is made
    on every publish, and a named tuple is built in about 200 ns where a frozen
    dataclass takes about 500 ns (its ``__init__`` goes through
    ``object.__setattr__`` per field). Use ``event._replace(...)`` for a copy.

    Attributes:
        type: hierarchical event type, e.g. ``("snmp", "core-sw1", "read",
            "1.3.6.1.2.1.1.3.0")``.
        payload: JSON-serialisable data (so events can cross a broker or a file).
        timestamp: wall-clock time the bus accepted the event, seconds since the epoch.
        source_timestamp: when the source says it happened (seconds since the epoch),
            or ``None`` when the source gives no time.
        seq: bus-wide sequence number, strictly increasing in publish order.
    """

    type: EventType
    payload: JsonValue
    timestamp: float
    source_timestamp: float | None
    seq: int

    def to_json(self) -> dict[str, JsonValue]:
        """Return the event as a JSON-ready dict: ``seq``, ``type`` (list),
        ``timestamp``, ``source_timestamp`` and ``payload``."""
        return {
            "seq": self.seq,
            "type": list(self.type),
            "timestamp": self.timestamp,
            "source_timestamp": self.source_timestamp,
            "payload": self.payload,
        }


_new_tuple = tuple.__new__
#: A delivery task yields to the event loop after this many deliveries in a row.
_YIELD_EVERY = 256


class Policy(enum.Enum):
    """Backpressure policy of one subscription (see the module docstring)."""

    DROP_OLDEST = "drop_oldest"
    LATEST_PER_TYPE = "latest_per_type"
    BLOCK = "block"


@dataclass(slots=True)
class SubscriptionStats:
    """Counters of one subscription, readable at any time (the status bar shows them).

    Attributes:
        delivered: events handed to the handler (each event of a batch counts).
        dropped: events discarded because the queue was full.
        coalesced: events replaced by a newer event of the same type
            (``LATEST_PER_TYPE`` only).
        overflow: events kept past ``maxsize`` by a non-waiting publish into a
            ``BLOCK`` subscription.
        errors: handler calls that raised.
    """

    delivered: int = 0
    dropped: int = 0
    coalesced: int = 0
    overflow: int = 0
    errors: int = 0


def _validate_pattern(pattern: Sequence[str]) -> Pattern:
    pattern = tuple(pattern)
    for i, segment in enumerate(pattern):
        if not isinstance(segment, str):
            raise TypeError(f"pattern segment {segment!r} is not a string")
        if segment == "*" and i != len(pattern) - 1:
            raise ValueError(f"'*' may only be the last segment of a pattern: {pattern!r}")
    return pattern


def matches(pattern: Pattern, event_type: EventType) -> bool:
    """Tell whether ``event_type`` matches ``pattern``.

    ``"?"`` matches one segment; a trailing ``"*"`` matches zero or more segments.

    >>> matches(("snmp", "?", "read", "*"), ("snmp", "sw1", "read", "1.3.6.1"))
    True
    >>> matches(("snmp", "?"), ("snmp", "sw1", "status"))
    False
    """
    if pattern and pattern[-1] == "*":
        head = pattern[:-1]
        if len(event_type) < len(head):
            return False
    else:
        head = pattern
        if len(event_type) != len(head):
            return False
    return all(p == "?" or p == s for p, s in zip(head, event_type, strict=False))


def topic_pattern(topic_filter: str) -> tuple[str, ...]:
    """The bus pattern of the message events an MQTT topic filter selects:
    ``site/+/temp`` -> ``("mqtt", "?", "message", "site", "?", "temp")``, ``#`` -> ``*``.
    A filter ending in ``/#`` also matches its parent (MQTT 3.1.1 §4.7.1.2), as the
    trailing ``*`` matches zero segments."""
    levels = ["?" if level == "+" else "*" if level == "#" else level
              for level in topic_filter.split("/")]  # fmt: skip
    return ("mqtt", "?", "message", *levels)


def event_pattern(text: str | Sequence[str]) -> tuple[str, ...]:
    """A monitor ``events`` entry as a bus pattern: a string is split on ``/``
    (``"snmp/?/trap/*"``), a list is taken segment by segment (for segments holding a
    ``/``, such as an Astarte path).

    Raises:
        ValueError: empty, an empty segment, or ``*`` before the last segment.
    """
    segments = tuple(text.split("/")) if isinstance(text, str) else tuple(text)
    shown = text if isinstance(text, str) else "/".join(segments)
    if not segments or segments == ("",):
        raise ValueError("an event pattern must not be empty")
    if any(segment == "" for segment in segments):
        raise ValueError(f"{shown!r} is not an event pattern: a segment is empty")
    if "*" in segments[:-1]:
        raise ValueError(
            f"{shown!r} is not an event pattern: '*' may only be the last segment, "
            "like 'snmp/?/trap/*'"
        )
    return segments


def _matches_any(patterns: tuple[Pattern, ...], event_type: EventType) -> bool:
    return any(matches(pattern, event_type) for pattern in patterns)


class _TypeRecord:
    """What the manager keeps per event type: the latest event (for the snapshot;
    ``None`` for a transient type) and the routing of the type, valid while
    ``version`` is the manager's."""

    __slots__ = ("event", "keep", "offers", "routed", "version")

    def __init__(self, event: Event, keep: bool) -> None:
        self.keep = keep
        self.event: Event | None = event if keep else None
        self.routed: tuple[Subscription, ...] = ()
        self.offers: tuple[Callable[[Event], None], ...] = ()
        self.version = -1


class Subscription:
    """A pattern bound to a handler, with its own bounded queue and delivery task.

    Created by :meth:`EventManager.subscribe`; never instantiated directly. The
    handler receives an :class:`Event`, or a ``list[Event]`` when batching is on.
    """

    def __init__(
        self,
        manager: EventManager,
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
        # and unsubscribe() (which empties it) ends the inner loop. Every
        # _YIELD_EVERY deliveries it yields to the loop, so a sync handler with a
        # large backlog cannot starve the other tasks (the UI among them).
        queue = self._queue
        popleft = queue.popleft
        stats = self.stats
        handler = self.handler
        is_coroutine = self._handler_is_coroutine
        maxsize = self.maxsize
        while True:
            while queue:
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
                    self._manager._report_handler_error(self, event, exc)
                finally:
                    stats.delivered += 1
                if not stats.delivered % _YIELD_EVERY:
                    await asyncio.sleep(0)
            if self._closed:
                return
            self._idle.set()
            await self._park()

    async def _run_latest(self) -> None:
        latest = self._latest
        while not self._closed:
            if not latest:
                self._idle.set()
                await self._park()
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
                await self._deliver(batch)

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
            self._manager._report_handler_error(self, item, exc)
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
        self._manager._remove(self)
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
    checked = _validate_pattern(pattern)

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


class EventManager:
    """The bus. Create it inside a running event loop; close it with :meth:`aclose`.

    Usable as an async context manager::

        async with EventManager() as bus:
            sub = bus.subscribe(("snmp", "*"), print)
            bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED"})

    Args:
        snapshot_limit: how many distinct event types :meth:`snapshot` remembers.
        transient: patterns of event types that are happenings, not state (MQTT
            messages: ``("mqtt", "?", "message", "*")``): they are delivered as any
            other, but the bus does not keep their latest event, so
            :meth:`snapshot` and :meth:`latest` never return them and a flood over
            100k topics does not keep 100k payloads alive.

    Raises:
        ValueError: a malformed ``transient`` pattern.
    """

    def __init__(
        self,
        *,
        snapshot_limit: int = DEFAULT_SNAPSHOT_LIMIT,
        transient: Sequence[Sequence[str]] = (),
    ) -> None:
        self._transient = tuple(_validate_pattern(p) for p in transient)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._seq = itertools.count(1)
        self._subscriptions: list[Subscription] = []
        # One record per event type, least recently published first: the snapshot
        # and the routing cache in one dict, so publish() hashes the type twice (get,
        # move_to_end) where separate dicts took three.
        self._types: OrderedDict[EventType, _TypeRecord] = OrderedDict()
        self._routes_version = 0  # bumped by every (un)subscribe: records re-route
        self._shared_routes: dict[
            tuple[Subscription, ...],
            tuple[tuple[Subscription, ...], tuple[Callable[[Event], None], ...]],
        ] = {}
        self._shared_version = -1
        self._snapshot_limit = snapshot_limit
        self._names = itertools.count(1)
        self._closed = False
        self.published = 0
        """Number of events accepted since the bus started."""

    # -- subscribing -----------------------------------------------------------

    def subscribe(
        self,
        pattern: Sequence[str],
        handler: EventHandler,
        *,
        policy: Policy | str = Policy.DROP_OLDEST,
        maxsize: int = DEFAULT_MAXSIZE,
        batch_size: int | None = None,
        batch_duration: float | None = None,
        name: str | None = None,
        more_patterns: Sequence[Sequence[str]] = (),
    ) -> Subscription:
        """Deliver events whose type matches ``pattern`` to ``handler``.

        Args:
            pattern: tuple of segments; ``"?"`` one segment, trailing ``"*"`` the rest.
            more_patterns: further patterns for the same queue and handler: an event
                matching several patterns is delivered once, and batches mix them (a
                monitor's event patterns and topic filters share one batching).
            handler: ``handler(event)`` or, when batching, ``handler(list_of_events)``;
                may be a plain function or a coroutine function.
            policy: backpressure policy, a :class:`Policy` or its value string.
            maxsize: queue bound in events (distinct types for ``LATEST_PER_TYPE``).
            batch_size: deliver lists of at most this many events.
            batch_duration: close a batch this many seconds after its first event.
            name: label for logs, stats and the task name.

        Returns:
            The :class:`Subscription`; call ``unsubscribe()`` to stop.

        Raises:
            ValueError: malformed pattern or bounds; RuntimeError: the bus is closed.
        """
        if self._closed:
            raise RuntimeError("the event manager is closed")
        subscription = Subscription(
            self,
            (_validate_pattern(pattern), *(_validate_pattern(p) for p in more_patterns)),
            handler,
            policy=Policy(policy),
            maxsize=maxsize,
            batch_size=batch_size,
            batch_duration=batch_duration,
            name=name or f"{getattr(handler, '__qualname__', 'handler')}#{next(self._names)}",
        )
        self._subscriptions.append(subscription)
        self._routes_version += 1
        return subscription

    def attach(self, obj: object) -> list[Subscription]:
        """Subscribe every method of ``obj`` marked with :func:`on_event`.

        Returns:
            The subscriptions made, in method-name order.
        """
        made = []
        for attr in sorted(dir(type(obj))):
            member = getattr(type(obj), attr, None)
            for spec in getattr(member, "__fleettop_events__", ()):
                bound = getattr(obj, attr)
                made.append(
                    self.subscribe(
                        spec["pattern"],
                        bound,
                        policy=spec["policy"],
                        maxsize=spec["maxsize"],
                        batch_size=spec["batch_size"],
                        batch_duration=spec["batch_duration"],
                        name=f"{type(obj).__name__}.{attr}",
                    )
                )
        return made

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The live subscriptions, in the order they were made."""
        return tuple(self._subscriptions)

    def _remove(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)
        self._routes_version += 1

    def _route(self, event_type: EventType) -> tuple[Subscription, ...]:
        record = self._types.get(event_type)
        if record is not None and record.version == self._routes_version:
            return record.routed
        return tuple(s for s in self._subscriptions if _matches_any(s.patterns, event_type))

    def _reroute(self, record: _TypeRecord, event_type: EventType) -> None:
        routed = tuple(s for s in self._subscriptions if _matches_any(s.patterns, event_type))
        # records with the same subscribers share one pair of tuples: 100k MQTT topics
        # route to a handful of subscriber sets, not to 100k
        if self._shared_version != self._routes_version:
            self._shared_routes.clear()
            self._shared_version = self._routes_version
        shared = self._shared_routes.get(routed)
        if shared is None:
            shared = self._shared_routes[routed] = (routed, tuple(s._enqueue for s in routed))
        record.routed, record.offers = shared
        record.version = self._routes_version

    def _add_type(self, event: Event) -> _TypeRecord:
        record = _TypeRecord(event, not _matches_any(self._transient, event.type))
        self._reroute(record, event.type)
        types = self._types
        types[event.type] = record
        if len(types) > self._snapshot_limit:
            types.popitem(last=False)
        return record

    # -- publishing ------------------------------------------------------------

    def publish(
        self,
        event_type: Sequence[str],
        payload: JsonValue = None,
        *,
        source_timestamp: float | None = None,
    ) -> Event:
        """Publish one event; never blocks and never runs a handler inline.

        Must be called from the loop's thread (use :meth:`publish_threadsafe`
        elsewhere).

        Args:
            event_type: the event type, a tuple of strings.
            payload: JSON-serialisable data.
            source_timestamp: when the source says it happened (s since the epoch).

        Returns:
            The stamped :class:`Event`.

        Raises:
            RuntimeError: the bus is closed.
        """
        # the hot path, kept inline: no helper calls unless the type is new
        if self._closed:
            raise RuntimeError("the event manager is closed")
        if type(event_type) is not tuple:
            event_type = tuple(event_type)
        # Event(...) without the Python-level frame of NamedTuple.__new__
        event = _new_tuple(
            Event, (event_type, payload, time.time(), source_timestamp, next(self._seq))
        )
        self.published += 1
        types = self._types
        record = types.get(event_type)
        if record is None:
            record = self._add_type(event)
        else:
            if record.keep:
                record.event = event
            types.move_to_end(event_type)
            if record.version != self._routes_version:
                self._reroute(record, event_type)
        for offer in record.offers:
            offer(event)
        return event

    async def publish_wait(
        self,
        event_type: Sequence[str],
        payload: JsonValue = None,
        *,
        source_timestamp: float | None = None,
    ) -> Event:
        """Publish one event after every matching ``BLOCK`` subscriber has room.

        This is how a producer that can wait (a poll loop, an MQTT ingest batch) is
        slowed to the pace of a consumer that must not lose data.

        Returns:
            The stamped :class:`Event`.
        """
        event_type = tuple(event_type)
        # re-check them all after every wait: one may fill up while we wait on another
        while full := [s for s in self._route(event_type) if not s._has_room()]:
            await full[0]._wait_room()
        return self.publish(event_type, payload, source_timestamp=source_timestamp)

    def publish_threadsafe(
        self, items: Iterable[tuple[Sequence[str], JsonValue, float | None]]
    ) -> None:
        """Publish a batch of ``(event_type, payload, source_timestamp)`` from any thread.

        The whole batch is handed to the loop with one ``call_soon_threadsafe``, so
        a thread producing many events (paho's network loop) costs one wake-up per
        batch, not per event. Order within and across batches is preserved.
        """
        batch = list(items)
        if not batch:
            return
        if threading.get_ident() == self._loop_thread:
            self._publish_many(batch)
        else:
            self._loop.call_soon_threadsafe(self._publish_many, batch)

    def _publish_many(self, batch: list[tuple[Sequence[str], JsonValue, float | None]]) -> None:
        if self._closed:
            return
        for event_type, payload, source_timestamp in batch:
            self.publish(event_type, payload, source_timestamp=source_timestamp)

    def _report_handler_error(
        self, subscription: Subscription, item: Event | list[Event], exc: Exception
    ) -> None:
        first = item[0] if isinstance(item, list) else item
        mlog.error(
            "handler %s failed on %s: %s",
            subscription.name,
            "/".join(first.type),
            exc,
            exc_info=exc,
        )
        if self._closed or first.type == _HANDLER_ERROR_TYPE:
            return  # never let a failing error-handler feed itself
        self.publish(
            _HANDLER_ERROR_TYPE,
            {
                "message": f"handler {subscription.name} failed: {type(exc).__name__}: {exc}",
                "source": "events",
                "subscription": subscription.name,
                "event_type": list(first.type),
            },
        )

    # -- state -------------------------------------------------------------------

    def snapshot(self, pattern: Sequence[str] = ("*",)) -> list[Event]:
        """Return the latest event of every type matching ``pattern``, oldest first.

        A screen opened late calls this to show the current state at once, then
        relies on its subscription for what follows.
        """
        checked = _validate_pattern(pattern)
        events = [
            r.event for t, r in self._types.items() if r.event is not None and matches(checked, t)
        ]
        events.sort(key=lambda e: e.seq)
        return events

    def latest(self, event_type: Sequence[str]) -> Event | None:
        """Return the latest event of exactly ``event_type``, or ``None``."""
        record = self._types.get(tuple(event_type))
        return None if record is None else record.event

    def stats(self) -> dict[str, SubscriptionStats]:
        """Counters of every live subscription, by subscription name."""
        return {s.name: s.stats for s in self._subscriptions}

    @property
    def dropped(self) -> int:
        """Total events dropped across live subscriptions (shown in the status bar)."""
        return sum(s.stats.dropped for s in self._subscriptions)

    async def drain(self) -> None:
        """Wait until every subscription has handled everything queued so far,
        including events published by handlers while draining."""
        while True:
            pending = [s for s in self._subscriptions if len(s) or not s._idle.is_set()]
            if not pending:
                return
            for subscription in pending:
                await subscription.drain()

    # -- lifecycle -----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has started."""
        return self._closed

    async def aclose(self) -> None:
        """Stop every subscription and wait for their tasks; later publishes raise."""
        if self._closed:
            return
        self._closed = True
        subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.unsubscribe()
        tasks = [s._task for s in subscriptions if s._task is not asyncio.current_task()]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> EventManager:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
