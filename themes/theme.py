"""The ``fleettop`` Textual theme: the colours every ``.tcss`` file refers to as
``$variables`` (``$success`` connected, ``$warning`` connecting, ``$error``
disconnected and drops)."""

from __future__ import annotations

from textual.theme import Theme

__all__ = ["FLEETTOP_THEME"]

FLEETTOP_THEME = Theme(
    name="fleettop",
    primary="#3B9EDB",
    secondary="#6C8EBF",
    accent="#E0A040",
    warning="#E5C15A",
    error="#E5534B",
    success="#57C27A",
    foreground="#D5DCE6",
    background="#12161D",
    surface="#181E27",
    panel="#222B38",
    dark=True,
    variables={
        "footer-key-foreground": "#3B9EDB",
        "block-cursor-background": "#2D4F6E",
        "block-cursor-foreground": "#F0F4F8",
        "block-cursor-text-style": "bold",
    },
)
"""Dark theme with a blue primary; registered by the app under ``fleettop``."""
