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
    "downsample",
    "numeric_series",
    "series_stats",
]

#: Series drawn at most.
MAX_SERIES: Final = 4
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
