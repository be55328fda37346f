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

Modules: :mod:`console.event_types` (the event, policies, counters, patterns),
:mod:`console.subscription` (one subscription and ``@on_event``), this one (the
manager); every public name is importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from console.event_types import (
    DEFAULT_MAXSIZE,
    DEFAULT_SNAPSHOT_LIMIT,
    Event,
    EventHandler,
    EventType,
    JsonValue,
    Pattern,
    Policy,
    SubscriptionStats,
    event_pattern,
    matches,
    matches_any,
    topic_pattern,
    validate_pattern,
)
from console.pace import Pace
from console.subscription import Subscription, on_event

__all__ = [
    "DEFAULT_MAXSIZE",
    "DEFAULT_SNAPSHOT_LIMIT",
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

_HANDLER_ERROR_TYPE: EventType = ("log", "error")
_new_tuple = tuple.__new__


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
        pace: the :class:`~console.pace.Pace` of the loop's background work (the
            app holds it while a key is answered; the subscriptions wait at their
            next delivery); a new one by default.

    Raises:
        ValueError: a malformed ``transient`` pattern.
    """

    def __init__(
        self,
        *,
        snapshot_limit: int = DEFAULT_SNAPSHOT_LIMIT,
        transient: Sequence[Sequence[str]] = (),
        pace: Pace | None = None,
    ) -> None:
        self.pace = pace if pace is not None else Pace()
        """The pacing of background work on this loop (:mod:`console.pace`)."""
        self._transient = tuple(validate_pattern(p) for p in transient)
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
        # the subscriptions that may match a type, by its first segment (a handful of
        # heads: snmp, mqtt, log...), valid while _heads_version is _routes_version
        self._heads: dict[str, tuple[Subscription, ...]] = {}
        self._heads_version = -1
        self._fresh_route: tuple[EventType, int, tuple[Subscription, ...]] | None = None
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
            (validate_pattern(pattern), *(validate_pattern(p) for p in more_patterns)),
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

    def discard(self, subscription: Subscription) -> None:
        """Stop routing events to ``subscription`` (called by its ``unsubscribe``)."""
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)
        self._routes_version += 1

    def _route(self, event_type: EventType) -> tuple[Subscription, ...]:
        record = self._types.get(event_type)
        if record is not None and record.version == self._routes_version:
            return record.routed
        routed = self._matching(event_type)
        # publish() re-routes this type next (publish_wait): it takes this result
        self._fresh_route = (event_type, self._routes_version, routed)
        return routed

    def _matching(self, event_type: EventType) -> tuple[Subscription, ...]:
        """The subscriptions ``event_type`` goes to, in subscription order (the
        result of the last :meth:`_route` of that type when still valid)."""
        fresh = self._fresh_route
        if fresh is not None and fresh[1] == self._routes_version and fresh[0] == event_type:
            return fresh[2]
        return tuple(s for s in self._candidates(event_type) if matches_any(s.patterns, event_type))

    def _candidates(self, event_type: EventType) -> tuple[Subscription, ...]:
        """The subscriptions with a pattern that may match ``event_type`` by its first
        segment, in subscription order (a new MQTT topic is matched against the few
        ``mqtt`` patterns, not against every subscription's)."""
        if self._heads_version != self._routes_version:
            self._heads.clear()
            self._heads_version = self._routes_version
        head = event_type[0] if event_type else ""
        found = self._heads.get(head)
        if found is None:
            found = self._heads[head] = tuple(
                s
                for s in self._subscriptions
                if any(not p or p[0] == head or p[0] == "?" or p[0] == "*" for p in s.patterns)
            )
        return found

    def _reroute(self, record: _TypeRecord, event_type: EventType) -> None:
        routed = self._matching(event_type)
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
        record = _TypeRecord(event, not matches_any(self._transient, event.type))
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

    def report_handler_error(
        self, subscription: Subscription, item: Event | list[Event], exc: Exception
    ) -> None:
        """Log a handler's exception with the subscription and the first event's type
        (called by the subscription's delivery task; delivery goes on)."""
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
        checked = validate_pattern(pattern)
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
