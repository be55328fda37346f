"""console/keys.py declares the binding ids ``ui.keymap`` may name: it must list
exactly the ``Binding`` ids of the app, its screens and its widgets (which the core,
and so the configuration check, cannot import)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

from textual.binding import Binding
from textual.dom import DOMNode

import console.app
import screens
import widgets
from console.config import check_config
from console.keys import BINDINGS


def _ui_modules() -> list[ModuleType]:
    found: list[ModuleType] = [console.app]
    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            found.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return found


def _binding_ids() -> dict[str, str]:
    """Every ``Binding`` id declared by a class of the UI -> where."""
    ids: dict[str, str] = {}
    for module in _ui_modules():
        for name, obj in vars(module).items():
            if not (inspect.isclass(obj) and issubclass(obj, DOMNode)):
                continue
            if obj.__module__ != module.__name__:
                continue
            for binding in obj.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    ids.setdefault(binding.id, f"{module.__name__}.{name}")
    return ids


def test_declared_binding_ids_are_the_ui_binding_ids() -> None:
    ui = _binding_ids()
    assert len(ui) >= 40
    assert set(BINDINGS) == set(ui), (
        f"missing from console/keys.py: {sorted(set(ui) - set(BINDINGS))}; "
        f"no longer in the UI: {sorted(set(BINDINGS) - set(ui))}"
    )
    assert all(description.strip() for description in BINDINGS.values())


def test_every_declared_id_passes_the_check(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    keymap = "".join(f"    {binding_id}: f12\n" for binding_id in BINDINGS)
    path.write_text(f"devices: []\nui:\n  keymap:\n{keymap}", encoding="utf-8")
    assert check_config(path, environ={}) == []
