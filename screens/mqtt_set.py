"""The Astarte set dialog: a new value for a server-owned interface path, checked
against the mapping's type by the backend's own validation
(:meth:`console.mqtt.interfaces.Interface.validate_payload`) before anything is sent.

The value is typed as JSON (``21.5``, ``true``, ``"text"``, ``[1, 2]``,
``{"field": 1}`` for an object interface); text that is not JSON is taken as a
string. Every change is checked at once and the reason shown inline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from console.events import JsonValue
from console.mqtt.interfaces import Interface, ValidationError
from widgets.commands import key_hint

__all__ = ["MqttSetScreen", "SetRequest", "check_set", "parse_json_text"]


@dataclass(frozen=True, slots=True)
class SetRequest:
    """A checked set: the interface, the path and the value."""

    interface: Interface
    path: str
    value: JsonValue


def parse_json_text(text: str) -> JsonValue:
    """The operator's text as a value: JSON when it parses, else the text itself."""
    try:
        value: JsonValue = json.loads(text)
    except ValueError:
        return text
    return value


def check_set(interface: Interface, path: str, text: str) -> JsonValue:
    """Return the value ``text`` makes for ``path`` of ``interface``, checked.

    Raises:
        ValueError: empty, or the backend's :class:`ValidationError` reason (wrong
            type, out of range, unknown path...).
    """
    if not text.strip():
        raise ValueError('give a value (JSON: 21.5, true, "text", [1, 2])')
    value = parse_json_text(text)
    try:
        interface.validate_payload(path, value)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    return value


class MqttSetScreen(ModalScreen[SetRequest | None]):
    """Ask for the value to set; dismisses with a checked :class:`SetRequest`, or
    ``None``.

    Args:
        device: the Astarte device.
        interface: the server-owned interface.
        path: the path set.
        current: the current value's text, if any.
        choices: when given, the interface (one of these) and the path are asked
            too (a path that has no value yet).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Send nothing"),
    ]

    def __init__(
        self,
        device: str,
        interface: Interface,
        path: str,
        current: str,
        *,
        choices: Sequence[Interface] = (),
    ) -> None:
        super().__init__()
        self.device = device
        self.interface = interface
        self.path = path
        self._current = current
        self._choices = {choice.name: choice for choice in choices}
        self.value: SetRequest | None = None
        """The checked request, or ``None`` while invalid."""

    def compose(self) -> ComposeResult:
        """Where, the value field, the inline error and the buttons."""
        mapping = self.interface.mapping(self.path)
        type_name = getattr(mapping, "type", "object")
        with Vertical(id="mqtt-set", classes="dialog"):
            yield Static(f"Set on {self.device}", classes="dialog-title", markup=False)
            yield Static(
                Content.from_markup(
                    "$interface  [b]$path[/]  [$accent]$type[/]",
                    interface=self.interface.name,
                    path=self.path,
                    type=type_name,
                ),
                id="mqtt-set-target",
            )
            if self._choices:
                with Horizontal(classes="dialog-field"):
                    yield Label("iface", classes="dialog-label")
                    yield Select[str](
                        [(name, name) for name in self._choices],
                        value=self.interface.name,
                        allow_blank=False,
                        id="mqtt-set-interface",
                    )
                with Horizontal(classes="dialog-field"):
                    yield Label("path", classes="dialog-label")
                    yield Input(self.path, placeholder="/sensor/setting", id="mqtt-set-path")
            with Horizontal(classes="dialog-field"):
                yield Label("value", classes="dialog-label")
                yield Input(self._current, placeholder=f"a {type_name} (JSON)", id="mqtt-set-value")
            yield Static(id="mqtt-set-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set…", id="mqtt-set-ok", variant="warning")
                yield Button("Cancel", id="mqtt-set-cancel")
            yield Static(id="mqtt-set-hint", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        """Check the start value, focus it and show the keys."""
        self._check()
        self.query_one("#mqtt-set-value", Input).focus()
        self.query_one("#mqtt-set-hint", Static).update(f"enter Set…  ·  {key_hint(self)}")

    @property
    def error(self) -> str:
        """The inline error shown, or ``""``."""
        return str(self.query_one("#mqtt-set-error", Static).content)

    def _check(self) -> None:
        if self._choices:
            name = self.query_one("#mqtt-set-interface", Select).value
            self.interface = self._choices.get(str(name), self.interface)
            self.path = self.query_one("#mqtt-set-path", Input).value
        text = self.query_one("#mqtt-set-value", Input).value
        try:
            value = check_set(self.interface, self.path, text)
            self.value = SetRequest(self.interface, self.path, value)
        except ValueError as exc:
            self.value = None
            self.query_one("#mqtt-set-error", Static).update(str(exc))
        else:
            self.query_one("#mqtt-set-error", Static).update("")
        self.query_one("#mqtt-set-ok", Button).disabled = self.value is None

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        if self.is_mounted:
            self._check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Set (when valid) or cancel."""
        event.stop()
        if event.button.id == "mqtt-set-ok":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        self._check()
        if self.value is not None:
            self.dismiss(self.value)

    def action_cancel(self) -> None:
        """Close without setting."""
        self.dismiss(None)
