"""Alarms: conditions an operator must acknowledge, raised from bus events.

The alarm book: the open alarms, in the ISA-18.2 states of
:mod:`console.notifications.alarms.record`, with the rules of
:mod:`console.notifications.alarms.rules`.

An alarm is identified by its *key* (rule, device, and what the rule watches: an
OID, a topic, a trap index); at most one alarm per key is open. A condition that
comes back while its alarm is still open (cleared but not acknowledged) re-activates
that alarm and counts a re-occurrence (:attr:`Alarm.count`) instead of raising a new
one; so does every repeat of an *event* alarm (a trap, a topic-pattern message).

Sources (``docs/events.md`` for the event types, ``docs/configuration.md`` for the
rules):

* traps ``("snmp", D, "trap", OID)``: every trap raises an event alarm with
  ``alarms.traps`` (rule ``@trap``, one per device and trap OID), unless a rule names
  the trap (its own severity and message), or names it as its ``clear_trap``: a
  clear pair such as linkDown/linkUp (RFC 3416 §4.2.6 notifications; RFC 2863 §6
  linkDown/linkUp, whose var-binds carry ``ifIndex``) clears the alarm of the same
  device and, with ``index``, the same instance of that var-bind;
* device status: an SNMP device or a broker (``@B``) going ``DISCONNECTED``
  (rule ``@disconnected``, cleared on ``CONNECTED``), an MQTT device going
  ``OFFLINE`` (rule ``@offline``, cleared on ``ONLINE``), with
  ``alarms.disconnected``; fleettop's own shutdown (``device closed``, ``closed``)
  raises nothing;
* threshold rules (``above``/``below`` with a ``deadband``) on SNMP read values
  (``oid``, a prefix), Astarte property and datastream values (``interface`` and
  ``path``) and numeric MQTT message payloads (``topic``);
* topic-pattern rules (``topic`` without a threshold): every matching message is an
  occurrence; nothing clears it.

An *event* alarm (a trap without a clear trap, a topic-pattern message) has no
condition that could go away: acknowledging it closes it.

Every change publishes ``("alarm", DEVICE, str(ID))`` with :meth:`Alarm.to_payload`
(raised, re-occurred, cleared, acknowledged, closed) and is saved to the
:class:`AlarmStore` when one is given (``console.notifications.storage.AlarmLog``);
ids come from the store's ``next_id`` so they never repeat across restarts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, Protocol

from console.config import AlarmsConfig
from console.events import (
    Event,
    EventManager,
    JsonValue,
    Pattern,
    Policy,
    Subscription,
    topic_pattern,
)
from console.lifecycle import ClosesOnce
from console.notifications.alarms.record import (
    ALARM_EVENT,
    RULE_DISCONNECTED,
    RULE_OFFLINE,
    RULE_TRAP,
    Alarm,
    AlarmStore,
)
from console.notifications.alarms.rules import Rule, as_number, compile_rules, payload_number
from console.notifications.model import Severity
from console.topics import filter_matches

if TYPE_CHECKING:
    from console.snmp.mib import MibResolver

__all__ = ["ACK_ACTION", "DEFAULT_MAX_OPEN", "AckAuditor", "AlarmBook"]

mlog = logging.getLogger(__name__)

#: Open alarms the book holds at most (memory stays bounded when a topic rule
#: matches 100k topics); past it, a rule's new alarms fold into one per rule.
DEFAULT_MAX_OPEN: Final = 10_000
#: The key suffix of a rule's overflow alarm.
_OVERFLOW: Final = "|@overflow"

#: fleettop stopping a device or a broker connection is not an alarm.
_SHUTDOWN_REASONS: Final = frozenset({"device closed", "closed"})
#: SNMP data types whose value is a number (docs/events.md).
_NUMERIC_TYPES: Final = frozenset({"INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER", "TIME_TICKS"})


def _fmt(value: float) -> str:
    return f"{value:g}"


class AckAuditor(Protocol):
    """Where acknowledgements are recorded (``console.store.audit.AuditRecorder``)."""

    async def record(
        self,
        action: str,
        device: str,
        target: str,
        *,
        old: JsonValue = None,
        new: JsonValue = None,
        time_ms: int | None = None,
    ) -> object:
        """Record one operator action in the audit log."""
        ...


#: The audit log's action for an acknowledgement.
ACK_ACTION: Final = "alarm.ack"


class AlarmBook(ClosesOnce):
    """The open alarms, raised and cleared from bus events, acknowledged by operators.

    Args:
        bus: the event manager: subscribed to (one ``BLOCK`` subscription, batched,
            for the sources the configuration needs) and published on.
        config: ``alarms:`` of the configuration.
        log: persistence (:class:`AlarmStore`); ``None`` keeps alarms in memory only
            (ids then start at 1 every run).
        mib: resolves MIB names of rules (``trap``, ``clear_trap``, ``index``) to OIDs
            at :meth:`start` (loaded in a worker thread); without it, or for a name
            it does not know, names match the names the trap receiver reports.
        clock: wall-clock time in seconds (tests).
        audit: records each acknowledgement in the audit log (action ``alarm.ack``,
            target ``RULE #ID``, old/new ``{"state", "acked"}``, the ack time), in the
            background; ``None``: acknowledgements are only kept with the alarm.
        max_open: open alarms held at most. Past it a *new* alarm is not created:
            its rule's one overflow alarm (``"RULE: more than N open alarms ..."``,
            of the same severity) is raised or counted again instead, until
            acknowledgements and clears make room; alarms already open keep
            working.

    Usage::

        book = AlarmBook(bus, config.alarms, log=AlarmLog(store), mib=runtime.mib)
        await book.start()
        book.open_alarms()            # newest first
        book.ack(alarm_id)
        await book.aclose()
    """

    def __init__(
        self,
        bus: EventManager,
        config: AlarmsConfig,
        *,
        log: AlarmStore | None = None,
        mib: MibResolver | None = None,
        clock: Callable[[], float] = time.time,
        max_open: int = DEFAULT_MAX_OPEN,
        audit: AckAuditor | None = None,
    ) -> None:
        self.max_open = max_open
        self._audit = audit
        self._acks: list[tuple[Alarm, str]] = []
        self._bus = bus
        self.config = config
        self._log = log
        self._mib = mib
        self._clock = clock
        self._alarms: dict[int, Alarm] = {}
        self._by_key: dict[str, Alarm] = {}
        self._next_id = 1
        self._rules: list[Rule] = []
        self._momentary_rules: set[str] = set()
        self._trap_severity = None if config.traps is None else Severity.parse(config.traps)
        self._status_severity = (
            None if config.disconnected is None else Severity.parse(config.disconnected)
        )
        self._subscription: Subscription | None = None
        self._listeners: list[Callable[[Alarm], None]] = []
        self._dirty: dict[int, Alarm] = {}
        self._dirty_event = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
        self.save_errors = 0
        """Saves to the store that failed (logged)."""
        self._started = False

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Resolve rule names, load the open alarms from the store (``history`` True)
        and publish each, then take the current device statuses from the bus
        snapshot and subscribe.

        Raises:
            RuntimeError: already started, or closing.
            StoreError: the store cannot be read (from the log).
        """
        if self._started or self.closing:
            raise RuntimeError("the alarm book is already started")
        self._started = True
        await self._compile_rules()
        if self._log is not None:
            loaded = await self._log.load_open()
            self._next_id = max(await self._log.next_id(), 1)
            for alarm in loaded:
                alarm.history = True
                self._alarms[alarm.id] = alarm
                self._by_key[alarm.key] = alarm
                self._next_id = max(self._next_id, alarm.id + 1)
            for alarm in sorted(loaded, key=lambda a: a.id):
                self._publish(alarm)
        if self._log is not None or self._audit is not None:
            self._saver = self.spawn(self._save_loop(), name="fleettop-alarm-saver")
        patterns = self._patterns()
        if self._status_severity is not None:
            for pattern in (("snmp", "?", "status"), ("mqtt", "?", "status")):
                self._handle(self._bus.snapshot(pattern))
        if patterns:
            self._subscription = self._bus.subscribe(
                patterns[0],
                self._handle,
                more_patterns=patterns[1:],
                policy=Policy.BLOCK,
                batch_size=1000,
                name="alarms",
            )

    async def _compile_rules(self) -> None:
        self._rules = await compile_rules(self.config, self._mib)
        self._momentary_rules = {rule.conf.name for rule in self._rules if rule.momentary}

    def _patterns(self) -> list[Pattern]:
        """The bus patterns the configuration needs (none: no subscription)."""
        patterns: list[Pattern] = []
        sources = {rule.conf.source for rule in self._rules}
        if self._trap_severity is not None or "trap" in sources:
            patterns.append(("snmp", "?", "trap", "*"))
        if self._status_severity is not None:
            patterns += [("snmp", "?", "status"), ("mqtt", "?", "status")]
        if "oid" in sources:
            patterns.append(("snmp", "?", "read", "*"))
        for rule in self._rules:
            conf = rule.conf
            if conf.interface is not None:
                patterns.append(("mqtt", "?", "property", conf.interface, "*"))
                patterns.append(("mqtt", "?", "datastream", conf.interface, "*"))
            elif conf.field is not None:
                patterns.append(("mqtt", "?", "field", "*"))
            elif conf.topic is not None:
                patterns.append(topic_pattern(conf.topic))
        return list(dict.fromkeys(patterns))

    async def _close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.unsubscribe()
            await subscription.wait_closed()
        saver, self._saver = self._saver, None
        if saver is not None:
            # not cancelled: a save in flight completes; the loop sees `closing`
            self._dirty_event.set()
            await asyncio.gather(saver, return_exceptions=True)
        await self._flush()

    # -- queries ------------------------------------------------------------------

    def open_alarms(self) -> list[Alarm]:
        """Every open alarm (not closed), newest (highest id) first."""
        return sorted(self._alarms.values(), key=lambda alarm: alarm.id, reverse=True)

    def get(self, alarm_id: int) -> Alarm | None:
        """The open alarm with this id, or ``None`` (unknown or closed)."""
        return self._alarms.get(alarm_id)

    @property
    def unacked(self) -> int:
        """How many open alarms are not acknowledged."""
        return sum(1 for alarm in self._alarms.values() if alarm.acked_at is None)

    def worst_by_device(self) -> dict[str, Severity]:
        """The highest severity of the open alarms of each device (devices without
        an open alarm are absent)."""
        worst: dict[str, Severity] = {}
        for alarm in self._alarms.values():
            if alarm.device not in worst or alarm.severity > worst[alarm.device]:
                worst[alarm.device] = alarm.severity
        return worst

    def listen(self, callback: Callable[[Alarm], None]) -> Callable[[], None]:
        """Call ``callback(alarm)`` after each change (in the loop, before the bus
        event is delivered); returns a function that stops it. A callback that raises
        is logged and kept."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unlisten

    # -- operator actions -----------------------------------------------------------

    def ack(self, alarm_id: int) -> Alarm | None:
        """Acknowledge the open alarm ``alarm_id`` now: a cleared one (and an event
        alarm, which has nothing to clear) closes and leaves the book. Publishes and
        saves the change.

        Returns:
            The alarm (already acknowledged ones unchanged), or ``None`` when no open
            alarm has this id.
        """
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            return None
        if alarm.acked_at is not None:
            return alarm
        now = self._clock()
        before = alarm.state
        alarm.acked_at = now
        if alarm.cleared_at is None and self._closes_on_ack(alarm):
            alarm.cleared_at = now
        if self._audit is not None:
            self._acks.append((dataclasses.replace(alarm), before))
            self._dirty_event.set()
        self._changed(alarm, now)
        return alarm

    def ack_all(self, alarm_ids: Iterable[int]) -> int:
        """Acknowledge each open alarm of ``alarm_ids`` (as :meth:`ack`); returns how
        many were not acknowledged before."""
        count = 0
        for alarm_id in list(alarm_ids):
            alarm = self._alarms.get(alarm_id)
            if alarm is not None and alarm.acked_at is None:
                self.ack(alarm_id)
                count += 1
        return count

    def _closes_on_ack(self, alarm: Alarm) -> bool:
        """Whether an acknowledgement closes ``alarm`` while active: an event alarm,
        a rule's overflow alarm, or one whose rule is no longer configured (nothing
        would ever clear it)."""
        if alarm.key.endswith(_OVERFLOW):
            return True
        if alarm.rule == RULE_TRAP or alarm.rule in self._momentary_rules:
            return True
        known = {rule.conf.name for rule in self._rules} | {RULE_DISCONNECTED, RULE_OFFLINE}
        return alarm.rule not in known

    # -- state changes ----------------------------------------------------------------

    def _raise(
        self,
        key: str,
        *,
        rule: str,
        device: str,
        severity: Severity,
        message: str,
        event: Event,
        value: JsonValue = None,
        occurrence: bool,
    ) -> None:
        """Raise the alarm of ``key``; an open one is re-activated (or, for an event
        alarm, ``occurrence``, counted again) instead. A condition alarm that is
        already active does not change."""
        now = event.timestamp
        alarm = self._by_key.get(key)
        if alarm is None and len(self._alarms) >= self.max_open and not key.endswith(_OVERFLOW):
            self._raise(
                rule + _OVERFLOW, rule=rule, device=device, severity=severity,
                message=f"{rule}: more than {self.max_open} open alarms; further ones are"
                " counted here (acknowledge or clear some)",
                event=event, occurrence=True,
            )  # fmt: skip
            return
        if alarm is None:
            alarm = Alarm(
                id=self._next_id,
                key=key,
                rule=rule,
                device=device,
                severity=severity,
                message=message,
                source="/".join(event.type),
                raised_at=now,
                updated_at=now,
                value=value,
            )
            self._next_id += 1
            self._alarms[alarm.id] = alarm
            self._by_key[key] = alarm
            self._changed(alarm, now)
            return
        if alarm.cleared_at is None and not occurrence:
            return
        alarm.count += 1
        if occurrence and alarm.acked_at is not None:
            alarm.acked_at = None  # a new occurrence needs a new acknowledgement
        alarm.cleared_at = None
        alarm.severity = severity
        alarm.message = message
        alarm.source = "/".join(event.type)
        alarm.value = value
        self._changed(alarm, now)

    def _clear(self, key: str, event: Event) -> None:
        """Mark the active alarm of ``key`` cleared (closed when acknowledged)."""
        alarm = self._by_key.get(key)
        if alarm is None or alarm.cleared_at is not None:
            return
        alarm.cleared_at = event.timestamp
        self._changed(alarm, event.timestamp)

    def _changed(self, alarm: Alarm, now: float) -> None:
        alarm.updated_at = now
        alarm.history = False
        if alarm.closed:
            self._alarms.pop(alarm.id, None)
            if self._by_key.get(alarm.key) is alarm:
                del self._by_key[alarm.key]
        for callback in list(self._listeners):
            try:
                callback(alarm)
            except Exception:
                mlog.exception("alarm listener %r failed", callback)
        self._publish(alarm)
        if self._log is not None:
            self._dirty[alarm.id] = alarm
            self._dirty_event.set()

    def _publish(self, alarm: Alarm) -> None:
        if not self._bus.closed:
            self._bus.publish((ALARM_EVENT, alarm.device, str(alarm.id)), alarm.to_payload())

    # -- persistence -------------------------------------------------------------------

    async def _save_loop(self) -> None:
        while not self.closing:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            await self._flush()

    async def _flush(self) -> None:
        await self._record_acks()
        log = self._log
        if log is None:
            return
        while self._dirty:
            pending = list(self._dirty.values())
            self._dirty.clear()
            for alarm in pending:
                try:
                    await log.save(alarm)
                except Exception as exc:
                    self.save_errors += 1
                    mlog.warning("alarm %s not saved: %s", alarm.id, exc)

    async def _record_acks(self) -> None:
        audit = self._audit
        while audit is not None and self._acks:
            acks, self._acks = self._acks, []
            for alarm, before in acks:
                acked_at = alarm.acked_at if alarm.acked_at is not None else alarm.updated_at
                try:
                    await audit.record(
                        ACK_ACTION,
                        alarm.device,
                        f"{alarm.rule} #{alarm.id}",
                        old={"state": before, "acked": False},
                        new={"state": alarm.state, "acked": True},
                        time_ms=int(acked_at * 1000),
                    )
                except Exception as exc:
                    self.save_errors += 1
                    mlog.warning("acknowledgement of alarm %s not audited: %s", alarm.id, exc)

    # -- events ------------------------------------------------------------------------

    def _handle(self, events: Sequence[Event]) -> None:
        for event in events:
            event_type = event.type
            if len(event_type) < 3:
                continue
            head, device, kind = event_type[0], event_type[1], event_type[2]
            payload = event.payload
            if not isinstance(payload, Mapping):
                continue
            if kind == "status":
                self._on_status(head, device, payload, event)
            elif head == "snmp" and kind == "trap":
                self._on_trap(device, payload, event)
            elif head == "snmp" and kind == "read" and len(event_type) == 4:
                data = payload.get("data")
                if isinstance(data, Mapping) and data.get("type") in _NUMERIC_TYPES:
                    self._on_value(device, "oid", event_type[3], data.get("value"), event)
            elif head == "mqtt" and kind in ("property", "datastream") and len(event_type) == 5:
                self._on_value(
                    device, "interface", (event_type[3], event_type[4]), payload.get("value"), event
                )
            elif head == "mqtt" and kind == "field" and len(event_type) == 5:
                self._on_field(device, event_type[3], event_type[4], payload.get("value"), event)
            elif head == "mqtt" and kind == "message":
                self._on_message(device, payload, event)

    def _on_status(
        self, head: str, device: str, payload: Mapping[str, JsonValue], event: Event
    ) -> None:
        severity = self._status_severity
        if severity is None:
            return
        status, reason = payload.get("status"), payload.get("reason")
        if head == "mqtt" and not device.startswith("@"):
            rule, bad, good = RULE_OFFLINE, "OFFLINE", "ONLINE"
        else:
            rule, bad, good = RULE_DISCONNECTED, "DISCONNECTED", "CONNECTED"
        key = f"{rule}|{head}|{device}"
        if status == bad and reason not in _SHUTDOWN_REASONS:
            text = f"{device} {bad}" + (f": {reason}" if reason else "")
            self._raise(
                key, rule=rule, device=device, severity=severity, message=text, event=event,
                occurrence=False,
            )  # fmt: skip
        elif status == good:
            self._clear(key, event)

    def _on_trap(self, device: str, payload: Mapping[str, JsonValue], event: Event) -> None:
        trap_oid, trap_name = payload.get("trap_oid"), payload.get("trap_name")
        varbinds = payload.get("varbinds")
        named = f"{trap_name or trap_oid}"
        handled = False
        for rule in self._rules:
            if rule.trap is None or not rule.applies_to(device):
                continue
            index = rule.index.instance(varbinds) if rule.index is not None else None
            key = f"{rule.conf.name}|{device}" + (f"|{index}" if index is not None else "")
            if rule.trap.matches_trap(trap_oid, trap_name):
                handled = True
                text = rule.conf.message or (
                    named + (f" ({rule.conf.index} {index})" if index is not None else "")
                )
                self._raise(
                    key, rule=rule.conf.name, device=device, severity=rule.severity,
                    message=text, event=event, occurrence=True,
                )  # fmt: skip
            elif rule.clear_trap is not None and rule.clear_trap.matches_trap(trap_oid, trap_name):
                handled = True
                self._clear(key, event)
        if not handled and self._trap_severity is not None:
            self._raise(
                f"{RULE_TRAP}|{device}|{trap_oid}", rule=RULE_TRAP, device=device,
                severity=self._trap_severity, message=f"trap {named} from {payload.get('sender')}",
                event=event, occurrence=True,
            )  # fmt: skip

    def _on_value(
        self,
        device: str,
        source: Literal["oid", "interface"],
        where: str | tuple[str, str],
        raw: object,
        event: Event,
    ) -> None:
        value = as_number(raw)
        if value is None:
            return
        for rule in self._rules:
            conf = rule.conf
            if conf.source != source or not conf.has_threshold or not rule.applies_to(device):
                continue
            if isinstance(where, tuple):
                interface, path = where
                if conf.interface != interface:
                    continue
                if conf.path is not None and not filter_matches(
                    conf.path[1:] or "#", path.removeprefix("/")
                ):
                    continue
                label = f"{interface}{path}"
            else:
                assert conf.oid is not None
                if where != conf.oid and not where.startswith(conf.oid + "."):
                    continue
                label = where
            self._threshold(rule, device, label, value, event)

    def _on_field(self, device: str, topic: str, pointer: str, raw: object, event: Event) -> None:
        """A JSON field (``docs/payloads.md``) against the ``field`` rules naming it."""
        value = as_number(raw)
        if value is None:
            return
        for rule in self._rules:
            conf = rule.conf
            if conf.field != pointer or not conf.has_threshold or not rule.applies_to(device):
                continue
            if conf.topic is not None and not filter_matches(conf.topic, topic):
                continue
            self._threshold(rule, device, f"{topic}#{pointer}", value, event)

    def _threshold(self, rule: Rule, device: str, label: str, value: float, event: Event) -> None:
        conf = rule.conf
        key = f"{conf.name}|{device}|{label}"
        high = conf.above is not None and value > conf.above
        low = conf.below is not None and value < conf.below
        if high or low:
            limit = f"above {_fmt(conf.above)}" if high and conf.above is not None else ""
            if low and conf.below is not None:
                limit = f"below {_fmt(conf.below)}"
            text = conf.message or f"{label} = {_fmt(value)}, {limit}"
            self._raise(
                key, rule=conf.name, device=device, severity=rule.severity, message=text,
                event=event, value=value, occurrence=False,
            )  # fmt: skip
            return
        if key not in self._by_key:
            return
        back_high = conf.above is None or value <= conf.above - conf.deadband
        back_low = conf.below is None or value >= conf.below + conf.deadband
        if back_high and back_low:
            self._clear(key, event)

    def _on_message(self, device: str, payload: Mapping[str, JsonValue], event: Event) -> None:
        topic = payload.get("topic")
        if not isinstance(topic, str):
            return
        number: float | None = None
        decoded = False
        for rule in self._rules:
            conf = rule.conf
            if conf.topic is None or conf.field is not None or not rule.applies_to(device):
                continue
            if not filter_matches(conf.topic, topic):
                continue
            if conf.has_threshold:
                if not decoded:
                    number, decoded = payload_number(payload.get("payload")), True
                if number is not None:
                    self._threshold(rule, device, topic, number, event)
                continue
            self._raise(
                f"{conf.name}|{device}|{topic}", rule=conf.name, device=device,
                severity=rule.severity, message=conf.message or f"message on {topic}",
                event=event, occurrence=True,
            )  # fmt: skip
