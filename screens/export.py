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
from textual.widgets import Button, Input, Label, Select, Static

from console.store.browse import EXPORT_FORMATS, ExportFormat
from screens.form import CheckedForm
from widgets.form_fields import FormInput

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


class ExportScreen(CheckedForm[ExportChoice]):
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
    FORM = "export"
    AUTO_FOCUS = "#export-file"
    VERB = "Export"

    def __init__(self, title: str, name: str, *, directory: Path | None = None) -> None:
        super().__init__()
        self._heading = title
        self._file_name = name
        self._directory = directory or Path.cwd()

    @property
    def choice(self) -> ExportChoice | None:
        """The checked choice of the current fields, or ``None`` while invalid."""
        return self.result

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
                yield FormInput(self._file_name, id="export-file")
            yield Static(id="export-note", classes="dialog-hint", markup=False)
            yield Static(id="export-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-ok", variant="primary")
                yield Button("Cancel", id="export-cancel")
            yield Static(id="export-hint", classes="dialog-hint", markup=False)

    def _format(self) -> ExportFormat:
        value = self.query_one("#export-format", Select).value
        return "csv" if value == "csv" else "jsonl"

    def check(self) -> ExportChoice:
        """The file and format chosen; the note says where it goes.

        Raises:
            ValueError: no name, no such directory, or a directory named.
        """
        text = self.query_one("#export-file", Input).value.strip()
        note = self.query_one("#export-note", Static)
        note.update("")
        if not text:
            raise ValueError("enter a file name")
        path = Path(text).expanduser()
        path = path if path.is_absolute() else self._directory / path
        if not path.parent.is_dir():
            raise ValueError(f"no such directory: {path.parent}")
        if path.is_dir():
            raise ValueError(f"{path} is a directory")
        exists = "  (exists: it will be replaced)" if path.exists() else ""
        note.update(f"writes {path}{exists}")
        return ExportChoice(path, self._format())

    @on(Select.Changed, "#export-format")
    def _format_changed(self) -> None:
        field = self.query_one("#export-file", Input)
        wanted = self._format()
        stem, dot, ext = field.value.rpartition(".")
        if dot and ext in EXPORT_FORMATS and ext != wanted:
            field.value = f"{stem}.{wanted}"
        self._check()


def _format_of(name: str) -> ExportFormat:
    return "csv" if name.lower().endswith(".csv") else "jsonl"
