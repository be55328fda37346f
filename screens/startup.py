"""Shown instead of the devices when the runtime could not start."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

__all__ = ["StartupErrorScreen"]


class StartupErrorScreen(Screen[None]):
    """The startup error in plain words (the traceback goes to the log); ``q`` quits.

    Args:
        error: what went wrong, one or more lines.
    """

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """The error text shown."""

    def compose(self) -> ComposeResult:
        """A titled box with the error, and the footer."""
        with Vertical(id="startup-error"):
            yield Static("fleettop could not start", id="startup-error-title")
            yield Static(self.error, id="startup-error-text", markup=False)
            yield Static(
                "Details are in the log; the footer shows how to quit.", id="startup-error-hint"
            )
        yield Footer()
