"""Monitors that deliver their batches to a client application (``docs/monitors.md``):

* :mod:`.core`: :class:`Delivery`, :class:`HttpDelivery`, :class:`TcpDelivery`,
  :func:`make_delivery` (status machine, sequence numbers, replay);
* :mod:`.status`: :class:`DeliveryStatus` (the seed's statuses), :class:`DeliveryStats`;
* :mod:`.outbox`: the bounded batches kept for delivery, mirrored in the store;
* :mod:`.framing`: batch documents and TCP frames; :mod:`.http`: the HTTP sender
  (aiohttp); :mod:`.tls`: TLS contexts.

Imported only when a monitor has a ``transport`` (aiohttp is not loaded otherwise).
"""

from console.notifications.delivery.core import (
    Delivery,
    HttpDelivery,
    TcpDelivery,
    make_delivery,
)
from console.notifications.delivery.status import DeliveryStats, DeliveryStatus

__all__ = [
    "Delivery",
    "DeliveryStats",
    "DeliveryStatus",
    "HttpDelivery",
    "TcpDelivery",
    "make_delivery",
]
