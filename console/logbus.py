"""Route Python logging records onto the event bus as ``("log", LEVEL)`` events.

fleettop's own warnings and errors then reach the notification stream and the
headless output like any other event. Records may come from any thread (paho's
network loop), so they cross into the loop with
:meth:`~console.events.EventManager.publish_threadsafe`.
"""

from __future__ import annotations

import logging

from console.events import EventManager

__all__ = ["BusLogHandler", "level_name"]

_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


def level_name(levelno: int) -> str:
    """Map a :mod:`logging` level number to fleettop's severity name
    (``debug``, ``info``, ``warning``, ``error``, ``critical``)."""
    for threshold in sorted(_LEVELS, reverse=True):
        if levelno >= threshold:
            return _LEVELS[threshold]
    return "debug"


class BusLogHandler(logging.Handler):
    """A :class:`logging.Handler` that publishes each record as a ``("log", LEVEL)``
    event with payload ``{"message", "source", "logger"}``.

    Records of ``console.events`` are skipped: the bus reports its own handler
    failures as events already, and must never feed itself.
    """

    def __init__(self, bus: EventManager, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._bus = bus

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``record``; never raises (a closed bus drops it)."""
        if record.name == "console.events" or self._bus.closed:
            return
        try:
            message = record.getMessage()
            source = record.name.removeprefix("console.").split(".")[0]
            self._bus.publish_threadsafe(
                [
                    (
                        ("log", level_name(record.levelno)),
                        {"message": message, "source": source, "logger": record.name},
                        record.created,
                    )
                ]
            )
        except Exception:  # logging must never take the console down
            self.handleError(record)
