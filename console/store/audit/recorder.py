"""Bus events -> audit entries: :class:`AuditRecorder`, its :class:`AuditRule` table
and the extractors of the default rules (see :mod:`console.store.audit`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from console.events import (
    DEFAULT_MAXSIZE,
    Event,
    EventManager,
    JsonValue,
    Pattern,
    Policy,
    Subscription,
)
from console.store.audit.log import AuditLog
from console.store.audit.model import ACTOR_OPERATOR, RESULT_OK, AuditAction, AuditDraft
from console.store.errors import StoreError
from console.store.properties import PropertyStore

__all__ = [
    "AUDIT_EVENT",
    "DEFAULT_RULES",
    "MQTT_PUBLISH_PATTERN",
    "SNMP_WRITE_PATTERN",
    "AuditRecorder",
    "AuditRule",
    "mqtt_publish_draft",
    "snmp_write_draft",
]

mlog = logging.getLogger(__name__)

#: The SNMP write events the recorder subscribes to.
SNMP_WRITE_PATTERN: Final[Pattern] = ("snmp", "?", "write", "*")
#: Results of operator MQTT publishes, sets and unsets (docs/events.md).
MQTT_PUBLISH_PATTERN: Final[Pattern] = ("mqtt", "?", "publish")
#: The first segment of the events the recorder publishes: ``("audit", DEVICE, ACTION)``.
AUDIT_EVENT: Final = "audit"


def snmp_write_draft(event: Event) -> AuditDraft:
    """The entry of an SNMP write event ``("snmp", DEVICE, "write", OID)``.

    ``old`` is the payload's ``previous`` and ``new`` its ``data`` (both ``{"type",
    "value"}``, with ``"display"`` -- the value as its MIB defines it, ``up(1)`` --
    when the event carries ``previous_display`` / ``display``), ``result`` is
    ``"ok"`` on success, else the payload's ``error`` (``"FAILED"`` if a failure
    names none); ``time_ms`` is the bus timestamp.

    Raises:
        ValueError: the event is not of the documented shape.
    """
    payload = event.payload
    if len(event.type) != 4 or not isinstance(payload, dict):
        raise ValueError("not an ('snmp', DEVICE, 'write', OID) event with a payload object")
    success = payload.get("success")
    if not isinstance(success, bool):
        raise ValueError("the payload has no boolean 'success'")
    error = payload.get("error")
    session_id = payload.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise ValueError("the payload's 'session_id' is not a string")
    return AuditDraft(
        action=AuditAction.SNMP_SET.value,
        device=event.type[1],
        target=event.type[3],
        old=_with_display(payload.get("previous"), payload.get("previous_display")),
        new=_with_display(payload.get("data"), payload.get("display")),
        result=RESULT_OK if success else (str(error) if error else "FAILED"),
        session_id=session_id,
        time_ms=_event_ms(event),
    )


def _with_display(data: JsonValue, display: JsonValue) -> JsonValue:
    """SNMP ``data`` with its ``display`` beside the raw value (a copy), or ``data``
    as it is (no display, or not a data dict)."""
    if isinstance(data, dict) and isinstance(display, str):
        return {**data, "display": display}
    return data


_MQTT_ACTIONS: Final = {
    "publish": AuditAction.MQTT_PUBLISH,
    "set": AuditAction.MQTT_SET,
    "unset": AuditAction.MQTT_UNSET,
}


def mqtt_publish_draft(event: Event) -> AuditDraft:
    """The entry of an MQTT operator result ``("mqtt", TARGET, "publish")``.

    ``action`` follows the payload's ``operation`` (``mqtt.publish``, ``mqtt.set``,
    ``mqtt.unset``); ``device`` is the TARGET (the device of a set or unset, ``@``
    + the broker of a plain publish); ``target`` is ``INTERFACE PATH`` for a set or
    unset, else the topic; ``new`` is the value set (``None`` for an unset; for a
    plain publish ``{"topic", "qos", "retain", "size"}`` — the payload bytes are not
    copied into the log); ``old`` is the payload's ``previous`` for a set or unset
    (the value the operator saw when asking, ``None`` when unknown) and ``None`` for
    a plain publish.

    Raises:
        ValueError: the event is not of the documented shape.
    """
    payload = event.payload
    if len(event.type) != 3 or not isinstance(payload, dict):
        raise ValueError("not an ('mqtt', TARGET, 'publish') event with a payload object")
    action = _MQTT_ACTIONS.get(str(payload.get("operation")))
    success = payload.get("success")
    if action is None or not isinstance(success, bool):
        raise ValueError("the payload has no known 'operation' or no boolean 'success'")
    session_id = payload.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise ValueError("the payload's 'session_id' is not a string")
    interface, path = payload.get("interface"), payload.get("path")
    old: JsonValue = None
    if action is AuditAction.MQTT_PUBLISH or not interface:
        target = str(payload["topic"])
        new: JsonValue = {k: payload.get(k) for k in ("topic", "qos", "retain", "size")}
    else:
        target = f"{interface} {path}"
        new = payload.get("value")
        old = payload.get("previous")
    error = payload.get("error")
    return AuditDraft(
        action=action.value,
        device=event.type[1],
        target=target,
        old=old,
        new=new,
        result=RESULT_OK if success else (str(error) if error else "FAILED"),
        session_id=session_id,
        time_ms=_event_ms(event),
    )


def _event_ms(event: Event) -> int:
    stamp = event.source_timestamp if event.source_timestamp is not None else event.timestamp
    return int(stamp * 1000)


class AuditRule(NamedTuple):
    """One row of the recorder's table: events matching ``pattern`` are recorded as
    what ``extract`` makes of them.

    Attributes:
        pattern: a bus pattern (``("snmp", "?", "write", "*")``).
        extract: ``extract(event) -> AuditDraft`` (action, device, target, old, new,
            result, session_id, time_ms); raises :class:`ValueError` (or
            ``KeyError``/``TypeError``) for an event it cannot read, which is logged
            and skipped.
    """

    pattern: Pattern
    extract: Callable[[Event], AuditDraft]


#: What :class:`AuditRecorder` records unless told otherwise: SNMP SETs and MQTT
#: publishes, sets and unsets (deletes from the UI come through ``record``).
DEFAULT_RULES: Final[tuple[AuditRule, ...]] = (
    AuditRule(SNMP_WRITE_PATTERN, snmp_write_draft),
    AuditRule(MQTT_PUBLISH_PATTERN, mqtt_publish_draft),
)


class AuditRecorder:
    """Records every operator action of the bus in the audit log (see the module doc).

    Subscribes at construction (inside the running loop), one
    :attr:`~console.events.Policy.BLOCK` subscription per rule: no event is dropped;
    a slow store slows :meth:`~console.events.EventManager.publish_wait` producers.
    Owns its subscriptions, not the store: :meth:`aclose` it before closing the store.

    Args:
        bus: the event manager.
        store: the open property store, or an :class:`AuditLog` over it.
        rules: the pattern -> extractor table (:data:`DEFAULT_RULES`).
        batch_size: events handed to the recorder at a time.
        maxsize: each subscription's queue bound before publishers wait.
        publish: publish ``("audit", DEVICE, ACTION)`` after queuing each entry, with
            the entry's fields but ``id`` as payload.

    Attributes:
        log: the :class:`AuditLog` entries go to (queries and exports too).
        recorded: entries queued to the store.
        skipped: events that could not be read (logged).
        failed: the store error that made the recorder unsubscribe, or None.
    """

    def __init__(
        self,
        bus: EventManager,
        store: PropertyStore | AuditLog,
        *,
        rules: Sequence[AuditRule] = DEFAULT_RULES,
        batch_size: int = 1000,
        maxsize: int = DEFAULT_MAXSIZE,
        publish: bool = True,
    ) -> None:
        self._bus = bus
        self.log = store if isinstance(store, AuditLog) else AuditLog(store)
        self._publish = publish
        self.recorded = 0
        self.skipped = 0
        self.failed: StoreError | None = None
        self.actors: dict[str, str] = {}
        """Who acts, by session id, when not the local operator (a remote console's
        identity, set by a collector before it runs the request); an entry is used
        once, for the action of its session."""
        self.target_actors: dict[tuple[str, str, str], str] = {}
        """Who acts, by ``(action, device, target)``, for the actions that carry no
        session and come through :meth:`record` (a remote console's alarm
        acknowledgement: ``("alarm.ack", "sw1", "linkDown #7")``, set by a collector
        before it acknowledges); an entry is used once."""
        self._subscriptions: list[Subscription] = []
        for rule in rules:
            self._subscriptions.append(
                bus.subscribe(
                    rule.pattern,
                    self._handler(rule),
                    policy=Policy.BLOCK,
                    maxsize=maxsize,
                    batch_size=batch_size,
                    name=f"AuditRecorder.{'/'.join(rule.pattern)}",
                )
            )

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The recorder's bus subscriptions, one per rule (for their stats)."""
        return tuple(self._subscriptions)

    def _handler(self, rule: AuditRule) -> Callable[[list[Event]], Any]:
        async def on_events(events: list[Event]) -> None:
            await self._on_events(rule, events)

        return on_events

    async def _on_events(self, rule: AuditRule, events: list[Event]) -> None:
        for event in events:
            try:
                draft = rule.extract(event)
                if draft.session_id is not None and draft.session_id in self.actors:
                    draft = draft._replace(actor=self.actors.pop(draft.session_id))
                recorded = await self.log.record_audit(draft)
            except (ValueError, KeyError, TypeError) as exc:
                self.skipped += 1
                mlog.warning("not auditing %s: %s", "/".join(event.type), exc)
                continue
            except StoreError as exc:
                self.failed = exc
                mlog.error("operator actions are no longer audited: %s", exc)
                for subscription in self._subscriptions:
                    subscription.unsubscribe()
                return
            self.recorded += 1
            self._announce(recorded)

    def _announce(self, draft: AuditDraft) -> None:
        if not self._publish or self._bus.closed:
            return
        self._bus.publish(
            (AUDIT_EVENT, draft.device, draft.action),
            {
                "time_ms": draft.time_ms,
                "actor": draft.actor,
                "action": draft.action,
                "device": draft.device,
                "target": draft.target,
                "old": draft.old,
                "new": draft.new,
                "result": draft.result,
                "session_id": draft.session_id,
            },
        )

    async def record(
        self,
        action: str,
        device: str,
        target: str,
        *,
        old: JsonValue = None,
        new: JsonValue = None,
        result: str = RESULT_OK,
        session_id: str | None = None,
        time_ms: int | None = None,
        actor: str | None = None,
    ) -> AuditDraft:
        """Record an operator action that is not a bus event (a property deleted from
        the UI: ``record(AuditAction.STORE_DELETE, "sw1", "org.x.I/path", old=...,
        new=None)``), and announce it as the recorder's entries are.

        The actor is ``actor``, else the :attr:`target_actors` entry of ``(action,
        device, target)`` (used up), else the local operator.

        Returns:
            The draft as recorded (see :meth:`AuditLog.record_audit`).

        Raises:
            ValueError: a bad field; nothing is recorded.
            StoreClosedError, StoreError: the store is closed or stopped.
        """
        remote = self.target_actors.pop((action, device, target), None)
        who = actor or remote or ACTOR_OPERATOR
        recorded = await self.log.record_audit(
            AuditDraft(action, device, target, old, new, result, session_id, time_ms, who)
        )
        self.recorded += 1
        self._announce(recorded)
        return recorded

    async def aclose(self) -> None:
        """Hand every event already published to the store, then unsubscribe.

        The store is not closed (its owner closes it, after this)."""
        for subscription in self._subscriptions:
            if not subscription.closed:
                await subscription.drain()
        for subscription in self._subscriptions:
            subscription.unsubscribe()
        for subscription in self._subscriptions:
            await subscription.wait_closed()
