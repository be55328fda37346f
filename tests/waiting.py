"""Waiting for a condition in async tests, bounded, without timed assertions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from console.events import Event, EventManager, Policy


async def eventually(
    predicate: Callable[[], object], *, within: float = 15.0, every: float = 0.05
) -> None:
    """Poll ``predicate()`` every ``every`` seconds until it is truthy.

    ``within`` (seconds) only bounds a hung test; it is not a speed assertion.

    Raises:
        AssertionError: the condition was still false after ``within`` seconds.
    """
    try:
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - polls state no Event signals
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"condition {predicate!r} not met within {within} s") from None


class EventRecorder:
    """Collects every bus event matching ``pattern`` (``Policy.BLOCK``: none is lost)
    and waits for conditions on them, woken by each event rather than by sleeps.

    Test modules subclass it with their own queries over :attr:`events`.
    """

    within: float = 15.0
    """Default bound (s) of :meth:`wait_for`: it only stops a hung test."""

    def __init__(self, bus: EventManager, pattern: tuple[str, ...] = ("*",)) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        bus.subscribe(pattern, self._on_event, policy=Policy.BLOCK, name="test-recorder")

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], object], within: float | None = None) -> None:
        """Wait until ``predicate()`` is truthy, re-checking after each event.

        Raises:
            TimeoutError: still false after ``within`` seconds (default :attr:`within`).
        """
        async with asyncio.timeout(self.within if within is None else within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
