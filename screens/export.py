"""The export dialog: a format (JSON Lines or CSV) and a file name, checked before
anything is written.

The file name starts as ``fleettop-KIND-YYYYmmdd-HHMMSS.jsonl`` in the working
directory; choosing the other format swaps the extension. A relative name is taken
from the working directory; the directory must exist. An existing file is replaced
(only once the new one is complete), and the dialog says so before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from console.store.browse import EXPORT_FORMATS, ExportFormat
from widgets.commands import key_hint

__all__ = ["ExportChoice", "ExportScreen", "default_export_name"]

_LABELS: dict[ExportFormat, str] = {"jsonl": "JSON Lines (.jsonl)", "csv": "CSV (.csv)"}


@dataclass(frozen=True, slots=True)
class ExportChoice:
    """What the operator chose: the file (absolute) and its format."""

    path: Path
    format: ExportFormat


def default_export_name(kind: str, stamp: str, format: ExportFormat = "jsonl") -> str:
    """``fleettop-KIND-STAMP.FORMAT`` (``stamp``: ``YYYYmmdd-HHMMSS``)."""
    return f"fleettop-{kind}-{stamp}.{format}"


class ExportScreen(ModalScreen[ExportChoice | None]):
    """Ask for the export's format and file; dismisses with an :class:`ExportChoice`
    or ``None`` when cancelled.

    Args:
        title: what is exported, e.g. ``Export 1,234 properties``.
        name: the default file name (in the working directory).
        directory: where a relative name goes (the working directory).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Write nothing"),
    ]

    def __init__(self, title: str, name: str, *, directory: Path | None = None) -> None:
        super().__init__()
        self._heading = title
        self._file_name = name
        self._directory = directory or Path.cwd()
        self.choice: ExportChoice | None = None
        """The checked choice of the current fields, or ``None`` while invalid."""

    def compose(self) -> ComposeResult:
        """Title, format, file name, the inline check and the buttons."""
        with Vertical(id="export", classes="dialog"):
            yield Static(self._heading, classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-field"):
                yield Label("format", classes="dialog-label")
                yield Select[str](
                    [(_LABELS[f], f) for f in EXPORT_FORMATS],
                    value=_format_of(self._file_name),
                    allow_blank=False,
                    id="export-format",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("file", classes="dialog-label")
                yield Input(self._file_name, id="export-file")
            yield Static(id="export-note", classes="dialog-hint", markup=False)
            yield Static(id="export-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-ok", variant="primary")
                yield Button("Cancel", id="export-cancel")
            yield Static(id="export-hint", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        """Check the default name, focus it and show the keys."""
        self._check()
        self.query_one("#export-file", Input).focus()
        self.query_one("#export-hint", Static).update(f"enter Export  ·  {key_hint(self)}")

    @property
    def error(self) -> str:
        """The inline error shown, or ``""``."""
        return str(self.query_one("#export-error", Static).content)

    def _format(self) -> ExportFormat:
        value = self.query_one("#export-format", Select).value
        return "csv" if value == "csv" else "jsonl"

    def _check(self) -> None:
        text = self.query_one("#export-file", Input).value.strip()
        note = self.query_one("#export-note", Static)
        error = ""
        self.choice = None
        if not text:
            error = "enter a file name"
        else:
            path = Path(text).expanduser()
            path = path if path.is_absolute() else self._directory / path
            if not path.parent.is_dir():
                error = f"no such directory: {path.parent}"
            elif path.is_dir():
                error = f"{path} is a directory"
            else:
                self.choice = ExportChoice(path, self._format())
                exists = "  (exists: it will be replaced)" if path.exists() else ""
                note.update(f"writes {path}{exists}")
        if error:
            note.update("")
        self.query_one("#export-error", Static).update(error)
        self.query_one("#export-ok", Button).disabled = self.choice is None

    @on(Select.Changed, "#export-format")
    def _format_changed(self) -> None:
        field = self.query_one("#export-file", Input)
        wanted = self._format()
        stem, dot, ext = field.value.rpartition(".")
        if dot and ext in EXPORT_FORMATS and ext != wanted:
            field.value = f"{stem}.{wanted}"
        self._check()

    @on(Input.Changed, "#export-file")
    def _file_changed(self) -> None:
        self._check()

    @on(Input.Submitted, "#export-file")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Export (when valid) or cancel."""
        event.stop()
        if event.button.id == "export-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        self._check()
        if self.choice is not None:
            self.dismiss(self.choice)

    def action_cancel(self) -> None:
        """Close without writing."""
        self.dismiss(None)


def _format_of(name: str) -> ExportFormat:
    return "csv" if name.lower().endswith(".csv") else "jsonl"
