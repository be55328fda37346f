"""The Astarte set dialog: a new value for a server-owned interface path, checked
against the mapping's type by the backend's own validation
(:meth:`console.astarte.Interface.validate_payload`) before anything is sent.

The value is typed as JSON (``21.5``, ``true``, ``"text"``, ``[1, 2]``,
``{"field": 1}`` for an object interface); text that is not JSON is taken as a
string. Every change is checked at once and the reason shown inline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Select, Static

from console.astarte import Interface, ValidationError
from console.events import JsonValue
from screens.form import CheckedForm
from widgets.form_fields import FormInput

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


class MqttSetScreen(CheckedForm[SetRequest]):
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

    FORM = "mqtt-set"
    AUTO_FOCUS = "#mqtt-set-value"
    VERB = "Set…"

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

    @property
    def value(self) -> SetRequest | None:
        """The checked request, or ``None`` while invalid."""
        return self.result

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
                    yield FormInput(self.path, placeholder="/sensor/setting", id="mqtt-set-path")
            with Horizontal(classes="dialog-field"):
                yield Label("value", classes="dialog-label")
                yield FormInput(
                    self._current, placeholder=f"a {type_name} (JSON)", id="mqtt-set-value"
                )
            yield from self.compose_controls()

    def check(self) -> SetRequest:
        """The request of the fields (see :func:`check_set`).

        Raises:
            ValueError: why the value cannot be set.
        """
        if self._choices:
            name = self.query_one("#mqtt-set-interface", Select).value
            self.interface = self._choices.get(str(name), self.interface)
            self.path = self.query_one("#mqtt-set-path", Input).value
        text = self.query_one("#mqtt-set-value", Input).value
        return SetRequest(self.interface, self.path, check_set(self.interface, self.path, text))
