"""What the operator controllers share: session ids, notifications, read-only mode."""

from __future__ import annotations

import uuid
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

__all__ = ["SESSIONS_KEPT", "Controller", "new_session_id"]

SESSIONS_KEPT = 100
"""Session ids a controller remembers."""


def new_session_id() -> str:
    """A fresh operator session id: 32 hex digits (``uuid4().hex``)."""
    return uuid.uuid4().hex


class Controller:
    """An operator controller (one per app): where workers run and notifications
    show, read-only mode, and the session ids of the requests sent.

    Args:
        app: the app.
        read_only: refuse every write.
    """

    def __init__(self, app: App[Any], *, read_only: bool) -> None:
        self._app = app
        self.read_only = read_only
        """True when writes are refused."""
        self.sessions: list[str] = []
        """Session ids of the requests sent, oldest first (the last 100)."""

    def notify(self, message: str, *, severity: SeverityLevel = "information") -> None:
        """Tell the operator (never markup: names and values come from devices)."""
        self._app.notify(message, severity=severity, markup=False)

    def _session(self) -> str:
        session = new_session_id()
        self.sessions = [*self.sessions[-(SESSIONS_KEPT - 1) :], session]
        return session
