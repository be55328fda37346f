"""The help screen: every key binding, generated from the ``Binding`` definitions.

The app hands over its sections (the classes whose ``BINDINGS`` make up each part
of the UI) and the keymap in force, so the help can never disagree with the footer,
the command palette or the configured ``ui.keymap``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

__all__ = ["HelpRow", "HelpScreen", "HelpSection", "help_rows"]


@dataclass(frozen=True, slots=True)
class HelpSection:
    """A titled group of bindings (e.g. "Devices": the screen's and its table's)."""

    title: str
    bindings: tuple[Binding, ...]

    @classmethod
    def of(cls, title: str, *owners: type[DOMNode]) -> HelpSection:
        """Collect the :class:`Binding` objects each class in ``owners`` defines itself
        (its own ``BINDINGS``, not the inherited ones)."""
        bindings: list[Binding] = []
        for owner in owners:
            own: Iterable[BindingType] = vars(owner).get("BINDINGS", ())
            bindings.extend(b for b in own if isinstance(b, Binding))
        return cls(title, tuple(bindings))


@dataclass(frozen=True, slots=True)
class HelpRow:
    """One line of the help: section, keys as shown, description and binding id."""

    section: str
    keys: str
    description: str
    binding_id: str


def help_rows(
    sections: Sequence[HelpSection],
    keymap: Mapping[str, str],
    key_display: Callable[[Binding], str],
) -> list[HelpRow]:
    """Return the help lines of ``sections`` with ``keymap`` (binding id -> keys)
    applied; bindings without a description are left out, and so is a line already
    listed in its section (the dialogs' ``escape`` Cancel, one line, not four).

    Args:
        sections: the groups of bindings to list.
        keymap: the keymap in force.
        key_display: how a key is shown (``App.get_key_display``).
    """
    rows: list[HelpRow] = []
    for section in sections:
        listed: set[tuple[str, str, str]] = set()
        for binding in section.bindings:
            if not binding.description:
                continue
            keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
            overridden = binding.id is not None and binding.id in keymap
            shown = " / ".join(
                key_display(
                    binding.with_key(key.strip(), None if overridden else binding.key_display)
                )
                for key in keys.split(",")
            )
            line = (shown, binding.description, binding.id or "")
            if line not in listed:
                listed.add(line)
                rows.append(HelpRow(section.title, *line))
    return rows


class HelpScreen(ModalScreen[None]):
    """A modal listing every binding by section; escape (or ``?``) closes it.

    Args:
        sections: the groups of bindings to list.
        keymap: the keymap in force (binding id -> keys).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="screen.back", tooltip="Close the help"),
    ]

    def __init__(self, sections: Sequence[HelpSection], keymap: Mapping[str, str]) -> None:
        super().__init__()
        self._sections = tuple(sections)
        self._keymap = dict(keymap)

    def compose(self) -> ComposeResult:
        """A titled table of bindings inside a bordered box."""
        with Vertical(id="help"):
            yield Static("Keys", id="help-title")
            yield DataTable[Text](id="help-table", cursor_type="row", zebra_stripes=True)
            yield Static("escape closes this help", id="help-hint")

    def on_mount(self) -> None:
        """Fill the table from the binding definitions."""
        table = self.query_one("#help-table", DataTable)
        table.add_column("SECTION", key="section")
        table.add_column("KEY", key="key")
        table.add_column("ACTION", key="action")
        table.add_column("ID", key="id")
        rows = help_rows(self._sections, self._keymap, self.app.get_key_display)
        previous = ""
        for row in rows:
            section = Text(row.section if row.section != previous else "", style="bold")
            previous = row.section
            table.add_row(
                section,
                Text(row.keys, style="bold"),
                Text(row.description),
                Text(row.binding_id, style="dim"),
            )

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss()
