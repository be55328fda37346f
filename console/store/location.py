"""Where the store lives by default (imported before the first frame: no store code)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_store_path"]


def default_store_path(*, demo: bool = False) -> Path:
    """Where the store lives when ``store.path`` is not set: ``fleettop.db`` (the
    demo's: ``demo.db``, apart from a real fleet's) in ``$FLEETTOP_DATA_DIR``, else in
    the user data directory (``~/.local/share/fleettop`` on Linux)."""
    name = "demo.db" if demo else "fleettop.db"
    override = os.environ.get("FLEETTOP_DATA_DIR")
    if override:
        return Path(override).expanduser() / name
    from platformdirs import user_data_path

    return user_data_path("fleettop") / name
