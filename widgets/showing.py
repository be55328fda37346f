"""Whether a screen is on show, so hidden screens can skip rendering work."""

from __future__ import annotations

from typing import Any

from textual.screen import ModalScreen, Screen

__all__ = ["is_showing"]


def is_showing(screen: Screen[Any]) -> bool:
    """True when ``screen`` is on top of the stack, or only modal screens (drawn over
    it, such as the help) are above it."""
    if not screen.is_attached:
        return False
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    above = stack[stack.index(screen) + 1 :]
    return all(isinstance(other, ModalScreen) for other in above)
