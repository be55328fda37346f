"""The status of a delivering monitor, as Digi Device Cloud defines it (seed 003), and
its counters.

=============  =============================================================================
status         meaning (``docs/monitors.md`` has the transitions)
=============  =============================================================================
CONNECTING     HTTP: fleettop is trying to reach the URL (at start, after a re-enable,
               and while the destination answers but not with a 2xx)
ACTIVE         delivering: the last HTTP request was acknowledged, or at least one
               TCP client is connected
INACTIVE       not connected and ``auto_replay`` off: what happens meanwhile is not
               kept
SUSPENDED      not connected and ``auto_replay`` on: batches are kept for replay
DISABLED       HTTP only: no batch was acknowledged for ``disable_after`` seconds
               while failing; nothing is kept until it is re-enabled (its tab, or a
               changed configuration)
=============  =============================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from console.events import JsonValue

__all__ = ["DeliveryStats", "DeliveryStatus"]


class DeliveryStatus(enum.Enum):
    """The seed's ``monStatus`` values (see the module doc)."""

    CONNECTING = "CONNECTING"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    SUSPENDED = "SUSPENDED"
    DISABLED = "DISABLED"


@dataclass(slots=True)
class DeliveryStats:
    """What a delivering monitor's tab shows, readable at any time.

    Attributes:
        status: the current status.
        reason: why the status is what it is (the latest failure, operator-readable,
            never a credential), or ``None``.
        last_connect: when the destination last became reachable (HTTP: the first
            acknowledged request after a failure or start; TCP: the latest client
            connection), seconds since the epoch.
        last_sent: when a batch was last delivered (acknowledged), seconds since
            the epoch.
        pending: batches waiting for delivery (kept).
        pending_bytes: their bytes (JSON, uncompressed).
        retries: attempts that repeated a batch already tried (cumulative).
        sent: batches delivered.
        events_sent: events in the batches delivered.
        dropped: batches not delivered and not kept (INACTIVE, DISABLED, bounds).
        clients: TCP clients connected.
    """

    status: DeliveryStatus = DeliveryStatus.CONNECTING
    reason: str | None = None
    last_connect: float | None = None
    last_sent: float | None = None
    pending: int = 0
    pending_bytes: int = 0
    retries: int = 0
    sent: int = 0
    events_sent: int = 0
    dropped: int = 0
    clients: int = 0

    def to_json(self) -> dict[str, JsonValue]:
        """The counters as the ``("monitor", NAME, "status")`` payload fields."""
        return {
            "status": self.status.value,
            "reason": self.reason,
            "last_connect": self.last_connect,
            "last_sent": self.last_sent,
            "pending": self.pending,
            "retries": self.retries,
            "sent": self.sent,
            "dropped": self.dropped,
            "clients": self.clients,
        }
