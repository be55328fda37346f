"""The OID prompt: a numeric OID or a MIB name, completed and checked before use.

Used by ``g`` (get any OID) and the walk screen's subtree. Names are completed as
the operator types (the Input's suggester, and a short list under it) and turned
into numeric OIDs by :meth:`~widgets.mib_names.MibNames.lookup` on enter; a name the
MIBs do not know shows the resolver's message ("did you mean ...") inline and
nothing is sent.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from widgets.commands import key_hint
from widgets.mib_names import MibNames
from widgets.oid_input import COMPLETIONS, OidInput

__all__ = ["OidPromptScreen"]


class OidPromptScreen(ModalScreen[str | None]):
    """Ask for an OID; dismisses with the numeric OID, or ``None`` when cancelled.

    Args:
        title: what the OID is for, e.g. ``Get an OID from core-sw1``.
        mib_names: the shared MIB names (lookup and completion).
        value: the start text.
        verb: what enter does, for the key hint (``Get``, ``Walk``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Send nothing"),
    ]

    def __init__(
        self, title: str, mib_names: MibNames, value: str = "", *, verb: str = "Get"
    ) -> None:
        super().__init__()
        self._title = title
        self._mib_names = mib_names
        self._value = value
        self._verb = verb

    def compose(self) -> ComposeResult:
        """Title, the input, an error line, the completions and the keys."""
        with Vertical(id="oid-prompt", classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield OidInput(self._mib_names, self._value, id="oid-input")
            yield Static(id="oid-error", classes="dialog-error", markup=False)
            yield Static(id="oid-completions", classes="dialog-hint", markup=False)
            yield Static(id="oid-hint", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        """Show the keys."""
        self.query_one("#oid-hint", Static).update(f"enter {self._verb}  ·  {key_hint(self)}")

    @property
    def error(self) -> str:
        """The inline error shown, or ``""``."""
        return str(self.query_one("#oid-error", Static).content)

    @on(Input.Changed, "#oid-input")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#oid-error", Static).update("")
        self._complete(event.value)

    @work(exclusive=True, group="complete", exit_on_error=False, description="complete MIB names")
    async def _complete(self, text: str) -> None:
        names = await asyncio.to_thread(self._mib_names.complete, text, COMPLETIONS)
        self.query_one("#oid-completions", Static).update("  ".join(names))

    @on(Input.Submitted, "#oid-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._lookup(event.value)

    @work(exclusive=True, group="lookup", exit_on_error=False, description="look up an OID")
    async def _lookup(self, text: str) -> None:
        try:
            oid = await asyncio.to_thread(self._mib_names.lookup, text)
        except ValueError as exc:
            self.query_one("#oid-error", Static).update(str(exc))
            return
        self.dismiss(oid)

    def action_cancel(self) -> None:
        """Close without an OID."""
        self.dismiss(None)
