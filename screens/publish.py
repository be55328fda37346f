"""The MQTT publish dialog: broker, topic, payload, QoS and retain, and the MQTT 5
content type and user properties (``name=value; name=value``), checked before
anything is sent.

The topic completes from the topics seen lately (a bounded set, see
:mod:`console.fleet.mqtt`); wildcards are refused. The payload is checked as JSON
when the ``JSON`` switch is on or when it starts with ``{`` or ``[`` (it claims to be
JSON): a mistake is shown inline and the Publish button stays disabled. The dialog
only returns the request; the caller confirms and publishes.

The dialog can start from a preset (the Topics screen's ``p``: the selected topic, its
broker, last payload, QoS and retain flag) and offers the publish history and the
named presets (:mod:`console.explorer.presets`) in a ``recall`` list that fills the
fields; a name in ``save as`` keeps the publish as a named preset.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Label, Select, Static

from console.explorer.presets import PublishPreset
from console.mqtt.metadata import check_content_type, parse_user_properties
from screens.form import CheckedForm
from widgets.form_fields import FormCheckbox, FormInput

__all__ = ["PublishRequest", "PublishScreen", "check_publish"]

#: Content types offered as completions (``docs/payloads.md``, decoders).
CONTENT_TYPES = (
    "application/json",
    "application/msgpack",
    "application/cbor",
    "application/octet-stream",
    "text/plain",
)


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """A checked publish: where, what and how."""

    broker: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    save_as: str = ""
    """A name to keep this publish under as a preset (empty: none)."""
    content_type: str | None = None
    """The MQTT 5 Content Type (``application/json``), or ``None``."""
    user_properties: tuple[tuple[str, str], ...] = ()
    """MQTT 5 user properties, ``(name, value)`` in order."""


def check_publish(
    broker: str,
    topic: str,
    payload: str,
    qos: int,
    retain: bool,
    *,
    as_json: bool,
    content_type: str = "",
    user_properties: str = "",
) -> PublishRequest:
    """Return the request the operator's input makes. ``content_type`` and
    ``user_properties`` (``name=value; name=value``,
    :func:`~console.mqtt.metadata.parse_user_properties`) are MQTT 5 properties;
    empty: none.

    Raises:
        ValueError: an operator-readable reason (no topic, a wildcard, invalid JSON
            with the line and column, a content type that is not ``type/subtype``, a
            user property without ``=``).
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
    content = check_content_type(content_type) if content_type.strip() else None
    pairs = tuple(parse_user_properties(user_properties))
    return PublishRequest(
        broker,
        topic,
        payload.encode("utf-8"),
        qos,
        retain,
        content_type=content,
        user_properties=pairs,
    )


class PublishScreen(CheckedForm[PublishRequest]):
    """Ask what to publish; dismisses with a checked :class:`PublishRequest`, or
    ``None`` when cancelled.

    Args:
        brokers: the configured brokers' names (the first is preselected).
        topics: topics seen lately, for completion.
        topic: the topic to start with.
        preset: the fields to start with (its broker, when configured, topic,
            payload, QoS and retain), instead of ``topic``.
        recall: ``(label, preset)`` offered in the ``recall`` list (history, presets).
    """

    FORM = "publish"
    AUTO_FOCUS = "#publish-topic"
    VERB = "Publish…"

    def __init__(
        self,
        brokers: Sequence[str],
        topics: Sequence[str],
        topic: str = "",
        *,
        preset: PublishPreset | None = None,
        recall: Sequence[tuple[str, PublishPreset]] = (),
    ) -> None:
        super().__init__()
        self._brokers = list(brokers)
        self._topics = list(topics)
        self._start = preset or PublishPreset(self._brokers[0] if brokers else "", topic)
        self._recall = list(recall)

    @property
    def request(self) -> PublishRequest | None:
        """The checked request of the current input, or ``None`` while invalid."""
        return self.result

    def compose(self) -> ComposeResult:
        """Broker, topic, payload, JSON, QoS, retain, the inline error and buttons."""
        with Vertical(id="publish", classes="dialog"):
            yield Static("Publish a message", classes="dialog-title", markup=False)
            start = self._start
            if self._recall:
                with Horizontal(classes="dialog-field"):
                    yield Label("recall", classes="dialog-label")
                    yield Select[int](
                        [(label, n) for n, (label, _) in enumerate(self._recall)],
                        prompt="history and presets",
                        id="publish-recall",
                    )
            with Horizontal(classes="dialog-field"):
                yield Label("broker", classes="dialog-label")
                yield Select[str](
                    [(name, name) for name in self._brokers],
                    value=start.broker if start.broker in self._brokers else self._brokers[0],
                    allow_blank=False,
                    id="publish-broker",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("topic", classes="dialog-label")
                yield FormInput(
                    start.topic,
                    placeholder="site/device/setpoint",
                    suggester=SuggestFromList(self._topics, case_sensitive=True),
                    id="publish-topic",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("payload", classes="dialog-label")
                yield FormInput(
                    start.payload,
                    placeholder='text, or JSON such as {"on": true}',
                    id="publish-payload",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("QoS", classes="dialog-label")
                yield Select[int](
                    [("0", 0), ("1", 1), ("2", 2)],
                    value=start.qos,
                    allow_blank=False,
                    id="publish-qos",
                )
                yield FormCheckbox("JSON", id="publish-json")
                yield FormCheckbox("retain", start.retain, id="publish-retain")
            with Horizontal(classes="dialog-field"):
                yield Label("MQTT 5", classes="dialog-label")
                yield FormInput(
                    start.content_type,
                    placeholder="content type",
                    suggester=SuggestFromList(CONTENT_TYPES, case_sensitive=False),
                    id="publish-content-type",
                )
                yield FormInput(
                    start.user_properties,
                    placeholder="user properties: name=value; name=value",
                    id="publish-user-properties",
                )
            with Horizontal(classes="dialog-field"):
                yield Label("save as", classes="dialog-label")
                yield FormInput(placeholder="a preset name (optional)", id="publish-save-as")
            yield from self.compose_controls()

    @on(Select.Changed, "#publish-recall")
    def _recalled(self, event: Select.Changed) -> None:
        """Fill the fields from the chosen history entry or preset."""
        if not isinstance(event.value, int):
            return
        _, preset = self._recall[event.value]
        if preset.broker in self._brokers:
            self.query_one("#publish-broker", Select).value = preset.broker
        self.query_one("#publish-topic", Input).value = preset.topic
        self.query_one("#publish-payload", Input).value = preset.payload
        self.query_one("#publish-qos", Select).value = preset.qos
        self.query_one("#publish-retain", Checkbox).value = preset.retain
        self.query_one("#publish-content-type", Input).value = preset.content_type
        self.query_one("#publish-user-properties", Input).value = preset.user_properties

    def check(self) -> PublishRequest:
        """The request of the fields (see :func:`check_publish`).

        Raises:
            ValueError: why nothing can be published as it is.
        """
        broker = self.query_one("#publish-broker", Select).value
        qos = self.query_one("#publish-qos", Select).value
        request = check_publish(
            str(broker),
            self.query_one("#publish-topic", Input).value,
            self.query_one("#publish-payload", Input).value,
            qos if isinstance(qos, int) else 0,
            self.query_one("#publish-retain", Checkbox).value,
            as_json=self.query_one("#publish-json", Checkbox).value,
            content_type=self.query_one("#publish-content-type", Input).value,
            user_properties=self.query_one("#publish-user-properties", Input).value,
        )
        name = self.query_one("#publish-save-as", Input).value.strip()
        return dataclasses.replace(request, save_as=name) if name else request
