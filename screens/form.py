"""The checked form: the one base of fleettop's modal input dialogs (write, publish,
MQTT set, export).

A form checks its fields on every change (:meth:`CheckedForm.check`, written by each
dialog) and shows the reason inline; its OK button is disabled while the fields are
invalid. Enter in an input (or on a checkbox) submits when valid, the OK button
submits, Cancel and escape close with ``None``. What the operator typed is never
rewritten by the check: it reads the fields, it does not set them.

The dialog's widgets follow one naming scheme from :attr:`CheckedForm.FORM`:
``#FORM-error`` (the inline reason), ``#FORM-ok`` (the OK button) and ``#FORM-hint``
(the keys). The first field (``AUTO_FOCUS``) has the focus from the moment the dialog
is composed, before any key can reach it: keys typed as soon as the dialog shows go
into it, after its select-all on focus, never to another widget. Fields are
:class:`~widgets.form_fields.FormInput` and :class:`~widgets.form_fields.FormCheckbox`
(keys applied in the order typed; enter on a checkbox submits).
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from widgets.commands import key_hint

__all__ = ["CheckedForm"]

ResultT = TypeVar("ResultT")


class CheckedForm(ModalScreen[ResultT | None], Generic[ResultT]):
    """A modal dialog whose fields make a checked result; dismisses with it, or with
    ``None`` when cancelled.

    Subclasses set :attr:`FORM`, :attr:`AUTO_FOCUS` and :attr:`VERB`, compose their fields
    and the ``#FORM-error`` / ``#FORM-ok`` / ``#FORM-hint`` widgets (:meth:`compose_controls`
    yields them), and write :meth:`check`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Send nothing"),
        Binding("enter", "submit", "Submit", show=False),
    ]

    FORM: ClassVar[str] = "form"
    """The id of the dialog box and the prefix of its widgets' ids."""
    AUTO_FOCUS: ClassVar[str | None] = "Input"
    """The selector of the field focused when the dialog is composed."""
    VERB: ClassVar[str] = "OK"
    """What enter does, for the key hint (``Write…``, ``Publish…``)."""

    def __init__(self) -> None:
        super().__init__()
        self.result: ResultT | None = None
        """The checked result of the current fields, or ``None`` while invalid."""

    def compose_controls(self) -> ComposeResult:
        """The end of the dialog: the inline error, the OK (labelled :attr:`VERB`) and
        Cancel buttons, and the key hint, with the ids of the naming scheme."""
        yield Static(id=f"{self.FORM}-error", classes="dialog-error", markup=False)
        with Horizontal(classes="dialog-buttons"):
            yield Button(self.VERB, id=f"{self.FORM}-ok", variant="warning")
            yield Button("Cancel", id=f"{self.FORM}-cancel")
        yield Static(id=f"{self.FORM}-hint", classes="dialog-hint", markup=False)

    def check(self) -> ResultT:
        """Read the fields and return the result they make.

        Raises:
            ValueError: an operator-readable reason, shown inline.
        """
        raise NotImplementedError

    def on_mount(self) -> None:
        """Check the start fields, focus the first one and show the keys."""
        self._check()
        if self.focused is None and self.AUTO_FOCUS:  # the terminal had no focus
            self.set_focus(self.query_one(self.AUTO_FOCUS))
        hint = f"enter {self.VERB}  ·  {key_hint(self)}"
        self.query_one(f"#{self.FORM}-hint", Static).update(hint)

    @property
    def error(self) -> str:
        """The inline error shown, or ``""``."""
        return str(self.query_one(f"#{self.FORM}-error", Static).content)

    def _check(self) -> None:
        try:
            self.result = self.check()
        except ValueError as exc:
            self.result = None
            error = str(exc)
        else:
            error = ""
        self.query_one(f"#{self.FORM}-error", Static).update(error)
        self.query_one(f"#{self.FORM}-ok", Button).disabled = self.result is None

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        if self.is_mounted:
            self._check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """OK submits (when valid), any other button cancels."""
        event.stop()
        if event.button.id == f"{self.FORM}-ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        """Dismiss with the result when the fields are valid (else the reason stays
        shown)."""
        self._check()
        if self.result is not None:
            self.dismiss(self.result)

    def action_cancel(self) -> None:
        """Close with ``None``."""
        self.dismiss(None)
