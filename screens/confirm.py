"""A yes/no confirmation over the current screen, for anything that changes a device.

Cancel is the safe default: the Cancel button has the focus, so a stray enter does
nothing; ``y`` (or the confirm button) confirms, ``n`` and escape cancel.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from widgets.commands import key_hint

__all__ = ["ConfirmScreen"]


class ConfirmScreen(ModalScreen[bool]):
    """Ask before acting; dismisses with True (confirmed) or False.

    Args:
        title: the question, e.g. ``Write to core-sw1?``.
        body: what exactly will happen (device, OID, old -> new value).
        confirm: the confirm button's label, e.g. ``Write``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm", id="dialog.confirm", tooltip="Do it"),
        Binding("n,escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Do nothing"),
    ]

    def __init__(self, title: str, body: Content, *, confirm: str = "Confirm") -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        """The question, the details and the two buttons."""
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self._title, id="confirm-title", classes="dialog-title", markup=False)
            yield Static(self._body, id="confirm-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, id="confirm-yes", variant="warning")
                yield Button("Cancel", id="confirm-no", variant="primary")
            yield Static(id="confirm-hint", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        """Focus Cancel (the safe answer) and list the keys in force."""
        self.query_one("#confirm-no", Button).focus()
        self.query_one("#confirm-hint", Static).update(key_hint(self))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the button's answer."""
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_confirm(self) -> None:
        """Confirm."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Cancel."""
        self.dismiss(False)
