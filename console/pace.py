"""Cooperative pacing of background work on the loop: the operator's keys go first.

fleettop runs the UI and the ingest of every backend on one asyncio loop (and, with
paho's network thread, under one GIL). Under an MQTT flood the loop is never idle:
the hand-over pump, the topic tree, the notification center and its store rows each
take their turn, and a key press has to wait for a whole round of them several times
over (Textual passes a key from the app to the focused widget and then to the
screen's next frame) before its effect shows: 150 to 300 ms at 20k msg/s offered
(``python -m bench topics``, issue 14 §7).

:class:`Pace` gives background work two rules:

* **Slices.** A loop of background work yields to the loop once it has run
  :attr:`Pace.slice_seconds` (:class:`Slice`), not after a count of items whose cost
  varies with the payloads.
* **Input first.** When the operator presses a key (or clicks, or scrolls), the app
  calls :meth:`Pace.hold`; background work that reaches a yield point
  (:meth:`Pace.checkpoint`, :meth:`Pace.wait`) then waits until the app calls
  :meth:`Pace.release` once the key's effect has been painted, or until
  :attr:`Pace.hold_seconds` have passed, whichever comes first. paho's network thread
  waits too (:meth:`Pace.wait_thread`), so it does not take the GIL from the key, and
  the cyclic garbage collector is paused meanwhile (a full collection costs 10 to
  30 ms with 100k topics), then resumed. Nothing is dropped: a producer that waits
  makes the hand-over fill, paho stop reading and TCP push back, as any slow consumer
  does.

  A key held down (auto-repeat) must not starve ingest: holds take at most
  :attr:`Pace.share` of any :attr:`Pace.window` seconds; past that, :meth:`hold` does
  nothing until the window turns.

This is the input-priority rule of interactive schedulers (the UI thread first) made
cooperative: nothing is preempted, work only waits at the points that ask. There is
no Textual here (the app calls :meth:`hold` and :meth:`release`); the
:class:`~console.events.EventManager` owns one :class:`Pace` (``bus.pace``), which
its subscriptions and the MQTT hand-over consult.

Safe across event loops (tests run many): waiters are futures of the loop that waits,
and a hold that nobody releases ends by time.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = [
    "DEFAULT_HOLD_SECONDS",
    "DEFAULT_MIN_HOLD_SECONDS",
    "DEFAULT_SHARE",
    "DEFAULT_SLICE_SECONDS",
    "DEFAULT_WINDOW_SECONDS",
    "Pace",
    "Slice",
]

#: Seconds of background work between two yields to the loop.
DEFAULT_SLICE_SECONDS: Final = 0.004
#: The longest a hold lasts when nobody releases it (s).
DEFAULT_HOLD_SECONDS: Final = 0.25
#: The shortest hold (s): a release that comes sooner takes effect then. The app's
#: release follows the key through Textual's message queues, but a widget's repaint
#: reaches the screen as a message of its own that may come after it; with background
#: work held the loop runs that within a frame or two.
DEFAULT_MIN_HOLD_SECONDS: Final = 0.04
#: The most of :data:`DEFAULT_WINDOW_SECONDS` that holds may take together.
DEFAULT_SHARE: Final = 0.5
#: The window over which :data:`DEFAULT_SHARE` is counted (s).
DEFAULT_WINDOW_SECONDS: Final = 1.0
#: A hold shorter than this (s) is not worth granting (what is left of a window's share).
_MIN_HOLD: Final = 0.001


class Pace:
    """Slices for background work, and holds while the operator's input is answered
    (see the module docstring). One per bus; every method except :meth:`wait_thread`
    is for the loop's thread.

    Args:
        slice_seconds: seconds of work between two yields (:class:`Slice`).
        hold_seconds: the longest one hold lasts unreleased.
        min_hold_seconds: the shortest hold: an earlier :meth:`release` takes effect
            then.
        share: the most of each ``window`` that holds may take (0 turns holds off).
        window: seconds over which ``share`` is counted.
        pause_gc: pause the cyclic garbage collector while held.
        clock: monotonic seconds (tests give their own).

    Raises:
        ValueError: a negative duration, or ``share`` outside 0..1.
    """

    def __init__(
        self,
        *,
        slice_seconds: float = DEFAULT_SLICE_SECONDS,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        min_hold_seconds: float = DEFAULT_MIN_HOLD_SECONDS,
        share: float = DEFAULT_SHARE,
        window: float = DEFAULT_WINDOW_SECONDS,
        pause_gc: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(slice_seconds, hold_seconds, min_hold_seconds, window) < 0:
            raise ValueError("pace durations must not be negative")
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, not {share!r}")
        self.slice_seconds = slice_seconds
        self.hold_seconds = hold_seconds
        self.min_hold_seconds = min(min_hold_seconds, hold_seconds)
        self.share = share
        self.window = window
        self.pause_gc = pause_gc
        self._clock = clock
        self._until = 0.0  # held while clock() < this (and not released)
        self._since = 0.0  # when the current hold began (or was last extended)
        self._began = 0.0  # when the current hold began
        self._window_start = 0.0
        self._spent = 0.0  # held seconds in the current window
        self._waiters: list[asyncio.Future[None]] = []
        self._open = threading.Event()
        self._open.set()
        self._gc_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self.holds = 0
        """Holds granted (a counter for tests and the status of a benchmark)."""
        self.refused = 0
        """Holds refused because the window's share was used up."""

    @property
    def holding(self) -> bool:
        """True from :meth:`hold` until :meth:`release` (or until a waiter notices the
        hold's time is up): cheap, for hot loops to test before :meth:`wait`."""
        return self._until > 0.0

    @property
    def held(self) -> bool:
        """True while background work should wait."""
        return self._until > 0.0 and self._clock() < self._until

    # -- the input side (the app) ----------------------------------------------------

    def hold(self) -> bool:
        """The operator's input arrived: background work waits at its next yield point
        until :meth:`release`, at most :attr:`hold_seconds`. A hold while held extends
        it. Returns False (and does nothing) past the window's share."""
        now = self._clock()
        if now - self._window_start >= self.window:
            self._window_start, self._spent = now, 0.0
        if self.held:
            self._spent += now - self._since
        self._since = now
        budget = self.share * self.window - self._spent
        if budget < _MIN_HOLD:
            self.refused += 1
            self._end()
            return False
        if not self.holding:
            self._began = now
        self._until = now + min(self.hold_seconds, budget)
        self.holds += 1
        self._open.clear()
        if self.pause_gc and not self._gc_paused and gc.isenabled():
            gc.disable()
            self._gc_paused = True
        self._arm_timer(self._until - now)
        return True

    def release(self) -> None:
        """The input has been answered (its effect painted): background work goes on,
        now or once the hold has lasted :attr:`min_hold_seconds`."""
        if self._until > 0.0:
            early = self._began + self.min_hold_seconds - self._clock()
            if early > 0 and self._until > self._began + self.min_hold_seconds:
                self._until = self._began + self.min_hold_seconds
                self._arm_timer(early)
                return
            self._end()

    def _end(self) -> None:
        if self._until > 0.0:
            now = self._clock()
            self._spent += max(0.0, min(now, self._until) - self._since)
        self._until = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()
        self._open.set()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _arm_timer(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the hold ends by the clock alone (held, wait)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(delay, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._until and not self.held:
            self._end()
        elif self._until:
            self._arm_timer(self._until - self._clock())

    # -- the background side --------------------------------------------------------

    async def wait(self) -> None:
        """Return at once when not held; else when released (or the hold's time is up)."""
        while self.held:
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(max(0.0, self._until - self._clock())):
                    await waiter
            except TimeoutError:
                pass
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if self._until and not self.held:
            self._end()  # ended by time: resume the collector

    async def checkpoint(self) -> None:
        """Yield to the loop once, then wait while held (a background loop's yield)."""
        await asyncio.sleep(0)
        if self._until:
            await self.wait()

    def wait_thread(self, timeout: float | None = None) -> bool:
        """From another thread (paho's): block while held, at most ``timeout`` s
        (default :attr:`hold_seconds`). Returns False when it gave up waiting."""
        return self._open.wait(self.hold_seconds if timeout is None else timeout)

    @property
    def open(self) -> bool:
        """Thread-safe and cheap: True when nothing is held (paho's thread reads it)."""
        return self._open.is_set()

    def slice(self) -> Slice:
        """A new :class:`Slice` of :attr:`slice_seconds`."""
        return Slice(self)


class Slice:
    """A time slice of one background loop: call ``await s.tick()`` once per item; it
    yields to the loop (:meth:`Pace.checkpoint`) when the slice is used up or when
    input is held, then starts a new slice. ~0.1 us when nothing is due.

    Args:
        pace: the pace to follow.
    """

    __slots__ = ("_end", "_pace")

    def __init__(self, pace: Pace) -> None:
        self._pace = pace
        self._end = time.perf_counter() + pace.slice_seconds

    def due(self) -> bool:
        """True when this slice is used up or input is held (the caller should yield)."""
        return self._pace.holding or time.perf_counter() >= self._end

    async def tick(self) -> None:
        """Yield when :meth:`due`; then a new slice begins."""
        if self._pace.holding or time.perf_counter() >= self._end:
            await self._pace.checkpoint()
            self._end = time.perf_counter() + self._pace.slice_seconds
