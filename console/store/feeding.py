"""What every store feeder shares: one ``Policy.BLOCK`` subscription (so nothing is
dropped), events stored in order, malformed ones skipped and logged, and a store
failure that stops the feeder instead of the console.

Subclasses (:class:`~console.store.snmp.StoreFeeder`,
:class:`~console.store.mqtt.MqttPropertyFeeder`) say which events they take and how
one event becomes a store write. :class:`LastValueFeeder` is the base of those that
keep only the last value of each event type of a batch (SNMP values, JSON fields,
Sparkplug metrics).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from console.events import DEFAULT_MAXSIZE, Event, EventManager, Pattern, Policy, Subscription
from console.store.errors import StoreError
from console.store.properties import PropertyStore

__all__ = ["Feeder", "LastValueFeeder"]

mlog = logging.getLogger(__name__)


class Feeder:
    """Persists the bus events matching ``pattern`` (see the module doc).

    Subscribes at construction (inside the running loop). Owns its subscription
    (whose task belongs to the bus); not the store.

    Args:
        bus: the event manager.
        store: the open property store.
        pattern: the events to persist.
        batch_size: events handed to the feeder at a time.
        maxsize: the subscription's queue bound before publishers wait.
        more_patterns: more events for the same subscription (kept in bus order
            with the others).

    Attributes:
        stored: events written to the store (queued to its writer).
        skipped: events not stored: malformed (logged) or not meant for the store.
        failed: the store error that made the feeder unsubscribe, or ``None``.
    """

    #: What the feeder keeps, for the log line when the store fails.
    kept = "values"

    def __init__(
        self,
        bus: EventManager,
        store: PropertyStore,
        pattern: Pattern,
        *,
        batch_size: int = 1000,
        maxsize: int = DEFAULT_MAXSIZE,
        more_patterns: Sequence[Pattern] = (),
    ) -> None:
        self._store = store
        self.stored = 0
        self.skipped = 0
        self.failed: StoreError | None = None
        self._subscription: Subscription = bus.subscribe(
            pattern,
            self._on_events,
            policy=Policy.BLOCK,
            maxsize=maxsize,
            batch_size=batch_size,
            name=type(self).__name__,
            more_patterns=more_patterns,
        )

    @property
    def subscription(self) -> Subscription:
        """The feeder's bus subscription (for its stats)."""
        return self._subscription

    def _select(self, events: list[Event]) -> list[Event]:
        """The events of a batch to store, in order (all of them by default)."""
        return events

    async def _store_event(self, event: Event) -> bool:
        """Write one event to the store; ``False`` when it is not meant to be stored.

        Raises:
            ValueError: a malformed event or a value the store refuses (skipped, logged).
            StoreError: the store failed (the feeder stops).
        """
        raise NotImplementedError

    async def _on_events(self, events: list[Event]) -> None:
        for event in self._select(events):
            try:
                written = await self._store_event(event)
            except (ValueError, KeyError, TypeError) as exc:
                self.skipped += 1
                mlog.warning("not storing %s: %s", "/".join(event.type), exc)
                continue
            except StoreError as exc:
                self.failed = exc
                mlog.error("%s are no longer persisted: %s", self.kept, exc)
                self._subscription.unsubscribe()
                return
            if written:
                self.stored += 1
            else:
                self.skipped += 1

    async def aclose(self) -> None:
        """Hand every matching event already published to the store, then unsubscribe.

        The store is not closed (its owner closes it, after this)."""
        if not self._subscription.closed:
            await self._subscription.drain()
        self._subscription.unsubscribe()
        await self._subscription.wait_closed()


class LastValueFeeder(Feeder):
    """A :class:`Feeder` of :attr:`PATTERN` that stores, of a batch, only the last
    event of each event type (one OID, field or metric: only its last value counts).

    Args:
        bus: the event manager.
        store: the open property store.
        batch_size: events handed to the feeder at a time (coalesced per event type).
        maxsize: the subscription's queue bound before publishers wait.
    """

    #: The events to persist.
    PATTERN: ClassVar[Pattern]

    def __init__(
        self,
        bus: EventManager,
        store: PropertyStore,
        *,
        batch_size: int = 1000,
        maxsize: int = DEFAULT_MAXSIZE,
    ) -> None:
        super().__init__(bus, store, self.PATTERN, batch_size=batch_size, maxsize=maxsize)

    def _select(self, events: list[Event]) -> list[Event]:
        latest: dict[tuple[str, ...], Event] = {}
        for event in events:
            latest[event.type] = event
        return list(latest.values())
