"""Recent points of polled SNMP values, for the OIDs screen's chart (no Textual).

The property store keeps only the last value of each OID (:mod:`console.store.snmp`),
so the chart's past is kept here, in memory, from the bus events the fleet state
folds: a chart's past starts when fleettop started (or when the OID was first read).

What a point is, per SNMP data type (:func:`charted`):

* ``INTEGER``, ``UNSIGNED`` (Gauge32), ``TIME_TICKS``: the value itself, one point per
  read event (the poller publishes a value when it changes, so a flat stretch has
  no points: the chart joins the changes);
* ``COUNTER``, ``BIG_COUNTER``: the per-second rate the fold computed
  (:func:`console.fleet.snmp.counter_rate`: one wrap counted right, a reset or a jump
  gives no point), one point per read and one per poll cycle that proves the counter
  unchanged (rate 0);
* anything else is not charted.

Bounded twice (:class:`SnmpSeries`): at most ``points`` points per OID (the oldest is
dropped first) and at most ``keys`` OIDs (the least recently updated is forgotten).
A point is two C doubles in an :class:`array.array` (16 bytes, up to twice that
before the oldest half is trimmed): the defaults hold at most ~46 MB, where tuples
of floats would take ~160 MB.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from typing import Final

from console.fleet.model import ValueKey

__all__ = [
    "CHARTED_TYPES",
    "DEFAULT_KEYS",
    "DEFAULT_POINTS",
    "RATE_TYPES",
    "VALUE_TYPES",
    "SnmpSeries",
    "charted",
]

#: Points kept per OID unless told otherwise (1 h at a 5 s poll interval).
DEFAULT_POINTS: Final = 720
#: OIDs with points unless told otherwise.
DEFAULT_KEYS: Final = 2_000
#: The SNMP data types charted as values.
VALUE_TYPES: Final = frozenset({"INTEGER", "UNSIGNED", "TIME_TICKS"})
#: The SNMP data types charted as per-second rates.
RATE_TYPES: Final = frozenset({"COUNTER", "BIG_COUNTER"})
#: Every SNMP data type that has a chart.
CHARTED_TYPES: Final = VALUE_TYPES | RATE_TYPES

Point = tuple[float, float]
"""``(time, number)``: seconds since the epoch, the value or the rate (per second)."""


def charted(data_type: str) -> str | None:
    """What the chart of an SNMP value of ``data_type`` shows: ``"value"``,
    ``"rate"`` (per second), or ``None`` (not a number that can be charted)."""
    if data_type in VALUE_TYPES:
        return "value"
    if data_type in RATE_TYPES:
        return "rate"
    return None


class SnmpSeries:
    """Recent points per ``(device, oid)``, bounded (see the module docstring).

    Args:
        points: points kept per OID (the oldest is dropped first).
        keys: OIDs kept (the least recently updated is forgotten first).

    Raises:
        ValueError: ``points`` or ``keys`` is not positive.
    """

    def __init__(self, *, points: int = DEFAULT_POINTS, keys: int = DEFAULT_KEYS) -> None:
        if points < 1 or keys < 1:
            raise ValueError("points and keys must be positive")
        self._points = points
        self._keys = keys
        self._keep = 2 * points
        self._trim_at = 4 * points
        self._series: OrderedDict[ValueKey, array[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._series)

    def add(self, key: ValueKey, when: float, number: float) -> None:
        """Append ``(when, number)`` (floats) to ``key``'s points; a point not after the last
        one replaces it when at the same time and is dropped when older."""
        all_series = self._series
        series = all_series.get(key)
        if series is None:
            series = all_series[key] = array("d")
            if len(all_series) > self._keys:
                all_series.popitem(last=False)
        else:
            all_series.move_to_end(key)
            if when <= series[-2]:
                if when == series[-2]:
                    series[-1] = number
                return
        series.extend((when, number))
        if len(series) >= self._trim_at:  # trimmed in halves: amortised O(1)
            del series[: -self._keep]

    def forget(self, key: ValueKey) -> None:
        """Drop ``key``'s points (its data type changed: they mean something else)."""
        self._series.pop(key, None)

    def points(self, key: ValueKey) -> list[Point]:
        """``key``'s points, oldest first (empty when none)."""
        series = self._series.get(key)
        if not series:
            return []
        return list(zip(series[0::2], series[1::2], strict=True))[-self._points :]
