"""The publish dialog's memory: the last publishes and named presets, kept in a JSON
file in the user's data directory (XDG Base Directory: ``$XDG_DATA_HOME/fleettop/
publish.json``, ``~/.local/share/fleettop/publish.json`` by default; platformdirs
elsewhere).

The file is ``{"version": 1, "presets": {NAME: PUBLISH}, "history": [PUBLISH, ...]}``
with ``PUBLISH`` = ``{"broker", "topic", "payload", "qos", "retain"}`` (``payload`` as
text, as typed). The history keeps the newest :data:`HISTORY_SIZE` publishes, newest
first, without repeats. Writes go to a temporary file then replace the file
(``os.replace``: a crash leaves the old or the new file, never half of one). A
missing file is empty; an unreadable or malformed one is reported once
(:attr:`PublishPresets.error`) and replaced on the next save.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["HISTORY_SIZE", "PublishPreset", "PublishPresets", "default_presets_path"]

#: Publishes the history keeps.
HISTORY_SIZE: Final = 30


def default_presets_path() -> Path:
    """``publish.json`` in fleettop's user data directory (XDG on Linux)."""
    from platformdirs import user_data_path

    return user_data_path("fleettop", appauthor=False) / "publish.json"


@dataclass(frozen=True, slots=True)
class PublishPreset:
    """What the publish dialog is filled with: broker, topic, payload text, QoS,
    retain, and the MQTT 5 content type and user properties as typed
    (``name=value; name=value``; empty: none)."""

    broker: str
    topic: str
    payload: str = ""
    qos: int = 1
    retain: bool = False
    content_type: str = ""
    user_properties: str = ""

    @classmethod
    def from_json(cls, item: Any) -> PublishPreset | None:
        """The preset of a JSON object, or ``None`` when it is not one."""
        if not isinstance(item, dict):
            return None
        broker, topic, payload = item.get("broker"), item.get("topic"), item.get("payload", "")
        qos, retain = item.get("qos", 1), item.get("retain", False)
        if not (isinstance(broker, str) and isinstance(topic, str) and isinstance(payload, str)):
            return None
        if qos not in (0, 1, 2) or not isinstance(retain, bool):
            return None
        content_type, properties = item.get("content_type", ""), item.get("user_properties", "")
        if not (isinstance(content_type, str) and isinstance(properties, str)):
            return None
        return cls(broker, topic, payload, qos, retain, content_type, properties)

    @property
    def label(self) -> str:
        """One line: ``topic = payload (q1, retained)``."""
        payload = self.payload if len(self.payload) <= 30 else self.payload[:29] + "…"
        flags = f"q{self.qos}" + (", retained" if self.retain else "")
        return f"{self.topic} = {payload} ({flags})"


def _json(preset: PublishPreset) -> dict[str, Any]:
    """``preset`` as JSON; the MQTT 5 fields only when set (older files stay as
    they were)."""
    data = asdict(preset)
    for key in ("content_type", "user_properties"):
        if not data[key]:
            del data[key]
    return data


class PublishPresets:
    """The publish history and named presets of one file.

    Args:
        path: the JSON file (created with its directory on the first save), or
            ``None`` to keep them in memory only (tests, or no data directory).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.presets: dict[str, PublishPreset] = {}
        """Name -> preset."""
        self.history: list[PublishPreset] = []
        """The last publishes, newest first."""
        self.error: str | None = None
        """Why the file could not be read or written (last time), or ``None``."""
        self._load()

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self.error = f"{self.path}: {exc}"
            return
        if not isinstance(data, dict):
            self.error = f"{self.path}: not a JSON object"
            return
        presets = data.get("presets")
        if isinstance(presets, dict):
            for name, item in presets.items():
                preset = PublishPreset.from_json(item)
                if preset is not None:
                    self.presets[str(name)] = preset
        history = data.get("history")
        if isinstance(history, list):
            found = (PublishPreset.from_json(item) for item in history)
            self.history = [p for p in found if p is not None][:HISTORY_SIZE]

    def save(self) -> bool:
        """Write the file (atomically); False with :attr:`error` set when it failed."""
        if self.path is None:
            return True
        data = {
            "version": 1,
            "presets": {name: _json(p) for name, p in sorted(self.presets.items())},
            "history": [_json(p) for p in self.history],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".publish-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=1, ensure_ascii=False)
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"
            return False
        self.error = None
        return True

    def remember(self, preset: PublishPreset) -> bool:
        """Put ``preset`` first in the history (once) and save."""
        self.history = [preset, *(p for p in self.history if p != preset)][:HISTORY_SIZE]
        return self.save()

    def store(self, name: str, preset: PublishPreset) -> bool:
        """Keep ``preset`` under ``name`` (replacing one of that name) and save.

        Raises:
            ValueError: an empty name.
        """
        name = name.strip()
        if not name:
            raise ValueError("a preset needs a name")
        self.presets[name] = preset
        return self.save()

    def choices(self) -> list[tuple[str, PublishPreset]]:
        """``(label, preset)`` for the dialog: the named presets by name, then the
        history, newest first."""
        named = [(f"★ {name}: {p.label}", p) for name, p in sorted(self.presets.items())]
        return named + [(f"↺ {p.label}", p) for p in self.history]
