"""Fields of fleettop's dialogs that never lose or reorder a keystroke.

Textual runs a widget's key bindings (``end``, ``home``, ``backspace``, the arrows,
``enter``...) only once the key event has bubbled from the widget up to the app,
several message queues later, while printable keys are inserted by the focused
input at once. Under a burst of keys (a paste-speed typist, ``tmux send-keys``) the
characters typed after ``end`` were therefore inserted before ``end`` moved the
cursor: into the pre-selected value, which they replaced. :class:`FormInput` runs its
own bindings where the key arrives, in the order the keys came.

:class:`FormCheckbox` toggles with space only, so enter on it reaches the dialog
(which submits).
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Checkbox, Input

__all__ = ["FormCheckbox", "FormInput"]


class FormInput(Input):
    """An :class:`~textual.widgets.Input` whose own key bindings run in key order
    (see the module doc); everything else is Textual's ``Input``."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)


class FormCheckbox(Checkbox, inherit_bindings=False):
    """A checkbox that space toggles; enter is left to the dialog (it submits)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False),
    ]
