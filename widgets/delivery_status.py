"""A delivering monitor's status line, above its pane on the Notifications screen:
where batches go, the status (as the seed defines it, coloured), last connect, last
sent, batches pending, retries, delivered and dropped, and the latest reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from textual.content import Content
from textual.widgets import Static

from console.format import Clock, format_count

if TYPE_CHECKING:
    from console.notifications.delivery import Delivery

__all__ = ["DeliveryStatusLine", "delivery_line"]

#: Status -> the theme variable it is drawn in.
_COLOURS: Final = {
    "ACTIVE": "$success",
    "CONNECTING": "$warning",
    "SUSPENDED": "$warning",
    "INACTIVE": "$text-muted",
    "DISABLED": "$error",
}


def delivery_line(delivery: Delivery, clock: Clock) -> Content:
    """The line for ``delivery`` (its :attr:`~Delivery.stats` read now); times of day
    in ``clock``'s zone. Never holds a credential (the destination is the URL, the
    reason is built without the token)."""
    stats = delivery.stats
    status = stats.status.value
    clients = f"  {stats.clients} clients" if delivery.config.transport == "tcp" else ""
    return Content.from_markup(
        f"$destination  [b {_COLOURS.get(status, '$text')}]$status[/]{clients}"
        "  last connect $connect  last sent $sent  pending $pending  retries $retries"
        "  delivered $delivered  dropped $dropped  [$text-muted]$reason[/]",
        destination=delivery.destination,
        status=status,
        connect=clock.time_of_day(stats.last_connect),
        sent=clock.time_of_day(stats.last_sent),
        pending=format_count(stats.pending),
        retries=format_count(stats.retries),
        delivered=format_count(stats.sent),
        dropped=format_count(stats.dropped),
        reason=stats.reason or "",
    )


class DeliveryStatusLine(Static):
    """The status line of one delivering monitor (:func:`delivery_line`); the screen
    calls :meth:`show` every second while the tab shows, and after a re-enable."""

    def show(self, delivery: Delivery, clock: Clock) -> None:
        """Draw the line for ``delivery`` now."""
        self.update(delivery_line(delivery, clock))
