"""The Sparkplug B command dialog: a new value for a metric of an edge node or device,
sent as an NCMD/DCMD (:meth:`console.mqtt.fleet.MqttFleet.command`), checked as you
type against the datatype the metric's BIRTH declared
(:func:`console.mqtt.sparkplug_command.command_payload`: range, type).

The value is typed as JSON (``21.5``, ``true``, ``-300``); text that is not JSON is
taken as a string (``String``, ``Text``, ``UUID``, a ``DateTime`` in ISO 8601).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from console.events import JsonValue
from console.mqtt.sparkplug import SparkplugError
from console.mqtt.sparkplug_command import command_payload
from screens.form import CheckedForm
from screens.mqtt_set import parse_json_text
from widgets.form_fields import FormInput

__all__ = ["CommandRequest", "SparkplugCommandScreen", "check_command"]


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A checked command: the metric and its new value."""

    name: str
    value: JsonValue


def check_command(name: str, datatype: int, text: str) -> JsonValue:
    """The value ``text`` makes for metric ``name`` of ``datatype``, checked.

    Raises:
        ValueError: empty, or why it does not fit the datatype.
    """
    if not text.strip():
        raise ValueError('give a value (JSON: 21.5, true, -300, "text")')
    value = parse_json_text(text)
    try:
        command_payload(name, datatype, value, 0)
    except SparkplugError as exc:
        raise ValueError(str(exc)) from None
    return value


class SparkplugCommandScreen(CheckedForm[CommandRequest]):
    """Ask for the metric's new value; dismisses with a checked
    :class:`CommandRequest`, or ``None``.

    Args:
        device: the edge node or device (``GROUP:EDGE[:DEVICE]``).
        name: the metric.
        datatype: its Sparkplug datatype number; ``type_name`` its name.
        current: the current value's text, if any.
    """

    FORM = "spb-command"
    AUTO_FOCUS = "#spb-command-value"
    VERB = "Send…"

    def __init__(self, device: str, name: str, datatype: int, type_name: str, current: str) -> None:
        super().__init__()
        self.device = device
        self.metric = name
        self.datatype = datatype
        self.type_name = type_name
        self._current = current

    def compose(self) -> ComposeResult:
        """Where, the value field, the inline error and the buttons."""
        kind = "DCMD" if self.device.count(":") >= 2 else "NCMD"
        with Vertical(id="spb-command", classes="dialog"):
            yield Static(f"Command to {self.device}", classes="dialog-title", markup=False)
            yield Static(
                Content.from_markup(
                    "$kind  [b]$name[/]  [$accent]$type[/]",
                    kind=kind,
                    name=self.metric,
                    type=self.type_name,
                ),
                id="spb-command-target",
            )
            with Horizontal(classes="dialog-field"):
                yield Label("value", classes="dialog-label")
                yield FormInput(
                    self._current, placeholder=f"a {self.type_name}", id="spb-command-value"
                )
            yield from self.compose_controls()

    def check(self) -> CommandRequest:
        """The request of the field (see :func:`check_command`).

        Raises:
            ValueError: why the value cannot be sent.
        """
        text = self.query_one("#spb-command-value", Input).value
        return CommandRequest(self.metric, check_command(self.metric, self.datatype, text))
