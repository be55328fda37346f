"""The chart of one polled SNMP value over time (``c`` on the OIDs screen).

``INTEGER``, ``UNSIGNED`` (Gauge32) and ``TIME_TICKS`` values are charted as they
are; ``COUNTER`` and ``BIG_COUNTER`` as their per-second rate (the same rate the
OIDs screen shows: :func:`console.fleet.snmp.counter_rate`, written as its detail
line writes it, ``2,000/s``). The points come from
the fleet state's in-memory series (:mod:`console.fleet.series`): the property
store keeps only an OID's last value, so a chart's past starts when fleettop
started; new points arrive as polls do. Drawn by
:class:`~screens.topic_plot.ChartScreen` (``w``: the next window).
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from console.explorer.series import Point, readable_number
from console.fleet import ValueKey
from console.fleet.series import SnmpSeries, charted
from console.format import Clock, format_counter_rate
from screens.topic_plot import ChartScreen

__all__ = ["SnmpChartScreen"]


def _rate_text(per_second: float) -> str:
    return format_counter_rate(per_second, compact=False)


class SnmpChartScreen(ChartScreen):
    """The chart of one SNMP value, or of a counter's rate.

    Args:
        key: ``(device, oid)``.
        data_type: its SNMP data type (one :func:`~console.fleet.series.charted` knows).
        name: its MIB name, or ``None``.
        series: the fleet state's series.
        clock: formats "now".
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "w",
            "next_window",
            "Window",
            id="snmp.chart.window",
            tooltip="The next window length (1 min, 5 min, 15 min, 1 h, all)",
        ),
    ]

    def __init__(
        self,
        key: ValueKey,
        data_type: str,
        name: str | None,
        series: SnmpSeries,
        clock: Clock,
    ) -> None:
        device, oid = key
        rate = charted(data_type) == "rate"
        label = "rate" if rate else "value"

        def points() -> dict[str, list[Point]]:
            found = series.points(key)
            return {label: found} if found else {}

        super().__init__(
            f"{device} {name or oid}",
            points,
            clock,
            "no point yet: the chart starts at fleettop's start"
            + (" (a rate needs two reads)" if rate else ""),
            _rate_text if rate else readable_number,
            "per second" if rate else "",
        )
        self.key = key
