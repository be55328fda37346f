"""The MQTT publish dialog: broker, topic, payload, QoS and retain, checked before
anything is sent.

The topic completes from the topics seen lately (a bounded set, see
:mod:`console.fleet.mqtt`); wildcards are refused. The payload is checked as JSON
when the ``JSON`` switch is on or when it starts with ``{`` or ``[`` (it claims to be
JSON): a mistake is shown inline and the Publish button stays disabled. The dialog
only returns the request; the caller confirms and publishes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Label, Select, Static

from screens.form import CheckedForm
from widgets.form_fields import FormCheckbox, FormInput

__all__ = ["PublishRequest", "PublishScreen", "check_publish"]


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """A checked publish: where, what and how."""

    broker: str
    topic: str
    payload: bytes
    qos: int
    retain: bool


def check_publish(
    broker: str, topic: str, payload: str, qos: int, retain: bool, *, as_json: bool
) -> PublishRequest:
    """Return the request the operator's input makes.

    Raises:
        ValueError: an operator-readable reason (no topic, a wildcard, invalid JSON
            with the line and column).
    """
    if not topic:
        raise ValueError("topic: give a topic to publish to")
    if "+" in topic or "#" in topic:
        raise ValueError("topic: wildcards (+, #) are for subscribing, not publishing")
    if "\x00" in topic:
        raise ValueError("topic: NUL characters are not allowed")
    if as_json or payload.lstrip()[:1] in ("{", "["):
        try:
            json.loads(payload)
        except ValueError as exc:
            raise ValueError(f"payload: not valid JSON: {exc}") from None
    if qos not in (0, 1, 2):
        raise ValueError("QoS: 0, 1 or 2")
    return PublishRequest(broker, topic, payload.encode("utf-8"), qos, retain)


class PublishScreen(CheckedForm[PublishRequest]):
    """Ask what to publish; dismisses with a checked :class:`PublishRequest`, or
    ``None`` when cancelled.

    Args:
        brokers: the configured brokers' names (the first is preselected).
        topics: topics seen lately, for completion.
        topic: the topic to start with.
    """

    FORM = "publish"
    AUTO_FOCUS = "#publish-topic"
    VERB = "Publish…"

    def __init__(self, brokers: Sequence[str], topics: Sequence[str], topic: str = "") -> None:
        super().__init__()
        self._brokers = list(brokers)
        self._topics = list(topics)
        self._topic = topic

    @property
    def request(self) -> PublishRequest | None:
        """The checked request of the current input, or ``None`` while invalid."""
        return self.result

    def compose(self) -> ComposeResult:
        """Broker, topic, payload, JSON, QoS, retain, the inline error and buttons."""
        with Vertical(id="publish", classes="dialog"):
            yield Static("Publish a message", classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-field"):
                yield Label("broker", classes="dialog-label")
                yield Select[str](
                    [(name, name) for name in self._brokers],
                    value=self._brokers[0],
                    allow_blank=False,
                    id="publish-broker",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("topic", classes="dialog-label")
                yield FormInput(
                    self._topic,
                    placeholder="site/device/setpoint",
                    suggester=SuggestFromList(self._topics, case_sensitive=True),
                    id="publish-topic",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("payload", classes="dialog-label")
                yield FormInput(
                    placeholder='text, or JSON such as {"on": true}', id="publish-payload"
                )
            with Horizontal(classes="dialog-field"):
                yield Label("QoS", classes="dialog-label")
                yield Select[int](
                    [("0", 0), ("1", 1), ("2", 2)], value=1, allow_blank=False, id="publish-qos"
                )
                yield FormCheckbox("JSON", id="publish-json")
                yield FormCheckbox("retain", id="publish-retain")
            yield from self.compose_controls()

    def check(self) -> PublishRequest:
        """The request of the fields (see :func:`check_publish`).

        Raises:
            ValueError: why nothing can be published as it is.
        """
        broker = self.query_one("#publish-broker", Select).value
        qos = self.query_one("#publish-qos", Select).value
        return check_publish(
            str(broker),
            self.query_one("#publish-topic", Input).value,
            self.query_one("#publish-payload", Input).value,
            qos if isinstance(qos, int) else 0,
            self.query_one("#publish-retain", Checkbox).value,
            as_json=self.query_one("#publish-json", Checkbox).value,
        )
