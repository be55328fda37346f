"""Numeric series read from a topic's messages, for the Topics screen's chart.

A payload that is a number as text (``21.5``) gives the series ``value``; a JSON
object or array (RFC 8259) gives one series per numeric leaf, named by its JSON
Pointer (RFC 6901: ``/temp``, ``/sensors/0/v``), booleans excluded. At most
:data:`MAX_SERIES` series are kept (the first seen). Plain Python, no Textual.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from console.explorer.diff import flatten_json
from console.explorer.tree import TopicMessage

__all__ = [
    "MAX_SERIES",
    "WINDOWS",
    "SeriesStats",
    "axis_ticks",
    "downsample",
    "numeric_series",
    "readable_number",
    "series_stats",
]

#: Series drawn at most.
MAX_SERIES: Final = 4
#: Ticks on the chart's y axis, about.
Y_TICKS: Final = 5
#: Significant digits of a readable number (min / max / last).
SIGNIFICANT: Final = 6
#: The "nice" tick steps per decade (1, 2, 2.5, 5 times a power of ten).
_NICE_STEPS: Final = (1.0, 2.0, 2.5, 5.0, 10.0)

#: The chart's window lengths in seconds (``None``: everything kept).
WINDOWS: Final[tuple[float | None, ...]] = (60.0, 300.0, 900.0, 3600.0, None)

Point = tuple[float, float]
"""``(received, value)``: s since the epoch, the number."""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _values(payload: bytes) -> list[tuple[str, float]]:
    text = payload.strip()
    if not text:
        return []
    try:
        decoded = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return []
    if isinstance(decoded, dict | list):
        found = []
        for key, leaf in flatten_json(decoded):
            number = _number(leaf)
            if number is not None:
                found.append((key, number))
        return found
    number = _number(decoded)
    return [("value", number)] if number is not None else []


def numeric_series(messages: Iterable[TopicMessage]) -> dict[str, list[Point]]:
    """Series name -> points, oldest first, from ``messages`` (see the module
    docstring); empty when no payload holds a number."""
    series: dict[str, list[Point]] = {}
    for message in messages:
        for key, number in _values(message.payload):
            points = series.get(key)
            if points is None:
                if len(series) >= MAX_SERIES:
                    continue
                points = series[key] = []
            points.append((message.received, number))
    return series


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """The minimum, maximum and last value of a series in a window, and its points."""

    minimum: float
    maximum: float
    last: float
    count: int


def series_stats(points: list[Point], since: float | None = None) -> SeriesStats | None:
    """Stats of the points received at or after ``since`` (``None``: all), or ``None``
    when there are none."""
    values = [v for t, v in points if since is None or t >= since]
    if not values:
        return None
    return SeriesStats(min(values), max(values), values[-1], len(values))


def downsample(points: list[Point], buckets: int = 60) -> list[Point]:
    """At most ``2 * buckets`` of ``points`` for drawing: per bucket of consecutive
    points its lowest and highest, in time order (spikes stay visible); ``points``
    itself when short enough. Drawing cost grows with the points (plotext: ~40 ms
    for 4 series of 120 points at 120x30, ~280 ms for 500)."""
    if len(points) <= 2 * buckets:
        return points
    out: list[Point] = []
    size = len(points) / buckets
    for index in range(buckets):
        chunk = points[int(index * size) : int((index + 1) * size)]
        if not chunk:
            continue
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}))
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def _decimals(value: float, significant: int) -> int:
    """Decimals that show ``value`` with ``significant`` significant digits (0..9)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return min(max(significant - 1 - math.floor(math.log10(abs(value))), 0), 9)


def readable_number(value: float, significant: int = SIGNIFICANT) -> str:
    """``value`` for an operator: at most ``significant`` significant digits, thousands
    separators, no exponent below 10**15 and no float noise (``22.400000000000002`` ->
    ``22.4``, ``1234567.0`` -> ``1,234,567``, ``0.0001234567`` -> ``0.000123457``)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e15:
        return f"{value:.{significant}g}"
    text = f"{value:,.{_decimals(value, significant)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def axis_ticks(low: float, high: float, count: int = Y_TICKS) -> tuple[list[float], list[str]]:
    """About ``count`` evenly spaced ticks covering ``low``..``high`` on "nice" values
    (1, 2, 2.5 or 5 times a power of ten: Heckbert's labelling, Graphics Gems 1990),
    and their labels, all written with the same decimals (``21.5``, ``22``, ``22.5``
    -> ``21.5``, ``22.0``, ``22.5``). A flat series (``low == high``) gets one tick.

    Raises:
        ValueError: ``low`` or ``high`` is not finite, or ``count`` is below 2.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"axis bounds must be finite numbers, not {low!r}..{high!r}")
    if count < 2:
        raise ValueError(f"an axis needs at least 2 ticks, not {count!r}")
    low, high = min(low, high), max(low, high)
    if high - low <= max(abs(low), abs(high)) * 1e-9:  # flat, float noise included
        return [low], [readable_number(low)]
    raw = (high - low) / (count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(n * power for n in _NICE_STEPS if n * power >= raw * (1 - 1e-9))
    first = math.floor(low / step) * step
    ticks: list[float] = []
    index = 0
    while True:
        tick = first + index * step
        if tick > high + step * 1e-9 and ticks and ticks[-1] >= high - step * 1e-9:
            break
        ticks.append(tick)
        index += 1
    exponent = math.floor(math.log10(step) + 1e-9)
    decimals = max(0, -exponent)
    if abs(step / 10.0**exponent - 2.5) < 1e-9 and step < 10:
        decimals += 1  # 0.25, 2.5: one more decimal than the power of ten
    labels = [f"{0.0 if abs(t) < step * 1e-9 else t:,.{decimals}f}" for t in ticks]
    return ticks, labels
