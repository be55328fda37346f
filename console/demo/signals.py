"""Clock-driven value generators for the demo agents.

Every generator is a pure function of ``t``, the time in seconds since the agent
started: the agents compute a value when a request asks for it, so nothing runs in
the background per value. Generators are deterministic for a given seed, which keeps
tests reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["Counter", "Wander", "Window"]

_TAU = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class Counter:
    """A monotonic counter: ``start`` plus ``rate`` units per second on average.

    The instantaneous rate swings around ``rate`` as
    ``rate * (1 + swing * sin(2*pi*t/period + phase))``, so graphs of the rate are not
    flat, yet the counter never decreases (``0 <= swing < 1``). Values are unbounded
    integers: take ``% 2**32`` for a Counter32 view (RFC 2863 ifInOctets wraps; its
    Counter64 twin ifHCInOctets does not).

    Args:
        rate: mean increase per second (>= 0).
        start: the value at ``t = 0``.
        swing: relative amplitude of the rate's oscillation, in ``[0, 1)``.
        period: period of the rate's oscillation, in seconds (> 0).
        phase: phase of the oscillation, in radians.

    Raises:
        ValueError: a negative rate or start, ``swing`` outside ``[0, 1)``, or a
            period that is not positive.
    """

    rate: float
    start: int = 0
    swing: float = 0.0
    period: float = 60.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        if self.rate < 0 or self.start < 0:
            raise ValueError("a counter's rate and start must not be negative")
        if not 0.0 <= self.swing < 1.0:
            raise ValueError("swing must be in [0, 1)")
        if self.period <= 0:
            raise ValueError("period must be positive")

    def __call__(self, t: float) -> int:
        """Return the counter's value at ``t`` seconds (``t < 0`` counts as 0)."""
        t = max(t, 0.0)
        # Integral of rate * (1 + swing * sin(w*t + phase)) from 0 to t.
        omega = _TAU / self.period
        wobble = self.swing / omega * (math.cos(self.phase) - math.cos(omega * t + self.phase))
        return self.start + int(self.rate * (t + wobble))


@dataclass(frozen=True, slots=True)
class Wander:
    """A gauge that wanders smoothly within ``[low, high]``.

    The value is the middle of the range plus a slow sine (period ``period``) mixed
    with smooth seeded noise (knots ``period / 8`` seconds apart, cosine-interpolated,
    repeating after ``len(knots)`` knots). Build one with :meth:`seeded`.

    Args:
        low: the smallest value returned.
        high: the largest value returned (``>= low``).
        period: the sine's period, in seconds (> 0).
        phase: the sine's phase, in radians.
        knots: noise values in ``[-1, 1]`` (at least one).

    Raises:
        ValueError: ``high < low``, a period that is not positive, or no knots.
    """

    low: float
    high: float
    period: float
    phase: float = 0.0
    knots: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError("high must not be below low")
        if self.period <= 0:
            raise ValueError("period must be positive")
        if not self.knots:
            raise ValueError("a wander needs at least one noise knot")

    @classmethod
    def seeded(
        cls, rng: random.Random, low: float, high: float, period: float, *, knots: int = 32
    ) -> Wander:
        """Return a wander whose phase and noise come from ``rng``.

        Args:
            rng: the random source (consumed: ``knots + 1`` draws).
            low, high: the range of values.
            period: the sine's period, in seconds.
            knots: how many noise knots to draw.
        """
        phase = rng.uniform(0.0, _TAU)
        return cls(low, high, period, phase, tuple(rng.uniform(-1.0, 1.0) for _ in range(knots)))

    def _noise(self, t: float) -> float:
        position = max(t, 0.0) / (self.period / 8.0)
        index = int(position)
        fraction = position - index
        a = self.knots[index % len(self.knots)]
        b = self.knots[(index + 1) % len(self.knots)]
        weight = (1.0 - math.cos(math.pi * fraction)) / 2.0
        return a + (b - a) * weight

    def __call__(self, t: float) -> float:
        """Return the gauge's value at ``t`` seconds, within ``[low, high]``."""
        mix = 0.6 * math.sin(_TAU * t / self.period + self.phase) + 0.4 * self._noise(t)
        middle = (self.low + self.high) / 2.0
        half = (self.high - self.low) / 2.0
        return min(self.high, max(self.low, middle + half * mix))


@dataclass(frozen=True, slots=True)
class Window:
    """A periodic off-window: on for ``period - duration`` s, then off for ``duration`` s.

    At time ``t`` the window is off when ``(t + offset) mod period >= period -
    duration``. Used for the access point's outages and an interface's flaps.

    Args:
        period: the cycle, in seconds (> 0).
        duration: how long each off-window lasts, in seconds (``0 <= duration <
            period``; 0 means never off).
        offset: shifts the cycle, in seconds (``>= 0``).

    Raises:
        ValueError: a period that is not positive, a duration outside
            ``[0, period)``, or a negative offset.
    """

    period: float
    duration: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.period <= 0:
            raise ValueError("period must be positive")
        if not 0.0 <= self.duration < self.period:
            raise ValueError("duration must be in [0, period)")
        if self.offset < 0:
            raise ValueError("offset must not be negative")

    def is_off(self, t: float) -> bool:
        """True when ``t`` (seconds) falls in an off-window."""
        if self.duration == 0:
            return False
        return (max(t, 0.0) + self.offset) % self.period >= self.period - self.duration

    def _on_before(self, x: float) -> float:
        cycles, phase = divmod(x, self.period)
        on_per_cycle = self.period - self.duration
        return cycles * on_per_cycle + min(phase, on_per_cycle)

    def on_time(self, t: float) -> float:
        """Total time spent on between 0 and ``t``, in seconds.

        Never decreases, and stays exactly constant during an off-window (counters
        built on it stall rather than jitter).
        """
        return self._on_before(max(t, 0.0) + self.offset) - self._on_before(self.offset)

    def off_time(self, t: float) -> float:
        """Total time spent off between 0 and ``t``, in seconds."""
        return max(t, 0.0) - self.on_time(t)
