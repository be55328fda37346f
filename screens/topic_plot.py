"""Numeric series as a chart over time: :class:`ChartScreen`, and a topic's chart
(:class:`TopicPlotScreen`, ``g`` on the Topics screen).

:class:`ChartScreen` draws whatever series its source returns (name -> points,
oldest first) with min / max / last of each in the window; the OIDs screen's chart
of a polled SNMP value or counter rate (:mod:`screens.snmp_chart`) is one too.

The series come from the topic's history (:func:`~console.explorer.series.numeric_series`:
a number, or every numeric field of a JSON payload, at most four), including its
older messages from the store's notification log (loaded as the chart opens, as ``h``
loads them), so a chart opened late still has its past. The x axis is
the time in seconds before now (the time of day of "now" is in the title); the line
above the chart gives min / max / last of each series in the window. ``w`` cycles
the window (1 min, 5 min, 15 min, 1 h, everything kept). Drawn with
``textual-plotext`` (at most 120 points a series, :func:`~console.explorer.series.downsample`:
plotext's drawing costs ~40 ms for four series of 120 points) and redrawn every
:data:`REDRAW_SECONDS` while showing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from console.explorer.series import (
    WINDOWS,
    Point,
    axis_ticks,
    downsample,
    numeric_series,
    readable_number,
    series_stats,
)
from console.explorer.tree import TopicMessage, TopicNode
from console.format import Clock
from widgets.showing import is_showing

__all__ = ["REDRAW_SECONDS", "ChartScreen", "Series", "TopicPlotScreen", "window_label"]

#: The chart is drawn again this often (seconds) while it shows.
REDRAW_SECONDS = 2.0

Series = Callable[[], dict[str, list[Point]]]
"""Returns the series to draw now: name -> ``(time, number)`` points, oldest first
(time in seconds since the epoch)."""


def window_label(window: float | None) -> str:
    """``1 min``, ``1 h``, ``all``."""
    if window is None:
        return "all"
    return f"{window / 3600:g} h" if window >= 3600 else f"{window / 60:g} min"


class ChartScreen(Screen[None]):
    """A chart of numeric series over time (see the module docstring).

    Subclasses declare ``BINDINGS``: ``escape`` -> ``back``, ``w`` -> ``next_window``.

    Args:
        title: what is charted (the title and the sub-title).
        series: the series to draw now (called at each redraw).
        clock: formats "now".
        empty: the stats line when there is no series at all.
        number: formats min / max / last (default :func:`~console.explorer.series.readable_number`:
            ``22.4``, not ``22.400000000000002``).
        unit: the y axis's label (``per second``), none by default.

    Attributes:
        y_ticks: the y axis's tick labels as drawn last (a few round values written
            alike, :func:`~console.explorer.series.axis_ticks`), empty with nothing drawn.
    """

    def __init__(
        self,
        title: str,
        series: Series,
        clock: Clock,
        empty: str,
        number: Callable[[float], str] = readable_number,
        unit: str = "",
    ) -> None:
        super().__init__()
        self._number = number
        self._unit = unit
        self.y_ticks: list[str] = []
        self.chart_title = title
        self._series = series
        self._clock = clock
        self._empty = empty
        self.window_index = 1
        """The window showing, an index of :data:`~console.explorer.series.WINDOWS`."""
        self.stats_text = ""
        """The min / max / last line as drawn last."""

    @property
    def window(self) -> float | None:
        """The window's length in seconds (``None``: everything kept)."""
        return WINDOWS[self.window_index]

    def compose(self) -> ComposeResult:
        """Header, the stats line, the chart, footer."""
        yield Header(icon="◆")
        yield Static(id="plot-stats", markup=False)
        from textual_plotext import PlotextPlot  # plotext: ~0.1 s, only when a chart opens

        yield PlotextPlot(id="topic-plot")
        yield Footer()

    def on_mount(self) -> None:
        """Draw, and again every :data:`REDRAW_SECONDS` while showing."""
        self.sub_title = f"Chart · {self.chart_title}"
        self.draw()
        self.set_interval(REDRAW_SECONDS, self._tick)

    def _tick(self) -> None:
        if is_showing(self):
            self.draw()

    def draw(self) -> None:
        """Draw the chart and the stats line from the series now."""
        now = time.time()
        window = self.window
        since = None if window is None else now - window
        series = self._series()
        from textual_plotext import PlotextPlot

        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        lines: list[str] = []
        low = high = None
        for name, points in series.items():
            shown = [(t, v) for t, v in points if since is None or t >= since]
            stats = series_stats(points, since)
            if stats is None or not shown:
                lines.append(f"{name}: nothing in the window")
                continue
            drawn = downsample(shown)
            low = stats.minimum if low is None else min(low, stats.minimum)
            high = stats.maximum if high is None else max(high, stats.maximum)
            plt.plot(
                [t - now for t, _ in drawn],
                [v for _, v in drawn],
                label=name,
                marker="braille",
            )
            number = self._number
            lines.append(
                f"{name}: min {number(stats.minimum)}  max {number(stats.maximum)}"
                f"  last {number(stats.last)}  ({stats.count} points)"
            )
        window_text = window_label(window)
        if not series:
            lines.append(self._empty)
        plt.title(f"{self.chart_title} · window {window_text} · now {self._clock.time_of_day(now)}")
        plt.xlabel("seconds before now")
        if self._unit:
            plt.ylabel(self._unit)
        self.y_ticks = []
        if low is not None and high is not None:
            # plotext's own ticks print raw floats (22.400000000000002): round values
            # written with the same decimals, the axis spanning them
            ticks, self.y_ticks = axis_ticks(low, high)
            plt.yticks(ticks, self.y_ticks)
            if len(ticks) > 1:
                plt.ylim(ticks[0], ticks[-1])
        if window is not None:
            plt.xlim(-window, 0)
        self.stats_text = f"window {window_text} (w: next)   " + "   ".join(lines)
        self.query_one("#plot-stats", Static).update(self.stats_text)
        plot.refresh()

    def action_next_window(self) -> None:
        """The next window length."""
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self.draw()

    def action_back(self) -> None:
        """Back to the previous screen."""
        self.dismiss()


class TopicPlotScreen(ChartScreen):
    """The chart of one topic: its numeric series
    (:func:`~console.explorer.series.numeric_series`).

    Args:
        node: the topic node.
        messages: returns its messages, oldest first (memory and store).
        clock: formats "now".
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "w",
            "next_window",
            "Window",
            id="topics.plot.window",
            tooltip="The next window length (1 min, 5 min, 15 min, 1 h, all)",
        ),
    ]

    def __init__(
        self,
        node: TopicNode,
        messages: Callable[[], Sequence[TopicMessage]],
        clock: Clock,
    ) -> None:
        super().__init__(
            node.path,
            lambda: numeric_series(messages()),
            clock,
            "no numeric value in this topic's messages (a number, or JSON numbers)",
        )
        self.node = node
