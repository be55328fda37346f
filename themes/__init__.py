"""Themes and style sheets of the fleettop UI.

``CSS_FILES`` are the app's external style sheets (``base.tcss`` then one per
screen); colours come from the registered :data:`FLEETTOP_THEME` variables.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from themes.theme import FLEETTOP_THEME

__all__ = ["CSS_FILES", "FLEETTOP_THEME", "THEMES_DIR"]

THEMES_DIR = Path(__file__).parent
"""The directory holding the ``.tcss`` files."""

CSS_FILES: list[str | PurePath] = [
    THEMES_DIR / name
    for name in (
        "base.tcss",
        "devices.tcss",
        "oids.tcss",
        "properties.tcss",
        "notifications.tcss",
        "table.tcss",
        "topics.tcss",
        "mibs.tcss",
    )
]
"""The app's ``CSS_PATH``: shared rules first, then one sheet per screen."""
