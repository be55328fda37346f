"""What the notification stream is made of: categories, severities, and one
:class:`Notification` per bus event worth an operator's attention.

:func:`classify` turns a bus :class:`~console.events.Event` into a
:class:`Notification`, or ``None`` for events that are statistics or internal state
(poll cycles, MQTT device rates, values replayed from the store, first-seen polled
values). The mapping, by event type (``docs/events.md``):

=============================================  ============  ==========================
event type                                     category      severity
=============================================  ============  ==========================
``("snmp", D, "trap", OID)``                   ``trap``      warning
``("snmp", D, "status")``                      ``status``    error when DISCONNECTED
``("mqtt", "@B", "status")``                   ``status``    error when DISCONNECTED
``("mqtt", D, "status")``                      ``status``    warning when OFFLINE
``("monitor", M, "status")``                   ``status``    warning SUSPENDED, error
                                                             DISABLED (device ``@M``)
``("snmp", D, "read", OID)`` REQUESTED         ``read``      info (warning: ERROR value)
``("snmp", D, "walk", OID)``                   ``read``      info (warning: not complete)
``("snmp", D, "read", OID)`` CHANGE            ``property``  info (warning: ERROR value)
``("mqtt", D, "property"|"datastream", ...)``  ``property``  info (warning: not valid)
``("mqtt", D, "metric"|"field", ...)``         ``property``  info
``("mqtt", D|"@B", "warning")``                ``log``       warning
``("mqtt", D, "purge")``                       ``property``  info
``("mqtt", D, "entity", ...)``                 ``property``  info
``("mqtt", D, "empty_cache")``                 ``property``  info
``("snmp", D, "write", OID)``                  ``write``     info (error: failed)
``("mqtt", T, "publish")``                     ``write``     info (error: failed)
``("mqtt", D|"@B", "message", *LEVELS)``       ``message``   info
``("log", LEVEL)``                             ``log``       the level
``("store", "status")`` not persistent         ``log``       error
``("audit", D, ACTION)``                       ``audit``     info (warning: not ok)
``("alarm", D, ID)``                           ``alarm``     the alarm's severity
=============================================  ============  ==========================

Severities follow syslog's names (RFC 5424 §6.2.1), reduced to the four an operator
filters on.

A notification keeps the event's payload as it is (no copy): the detail pane and the
exports read it. Its one-line :attr:`Notification.summary` is built on first use,
so a flood of MQTT messages that nobody looks at costs no string formatting.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from console.events import Event, EventType, JsonValue
from console.format import MISSING

__all__ = [
    "CATEGORIES",
    "SUMMARY_CHARS",
    "TRUNCATED",
    "Category",
    "Notification",
    "Severity",
    "classify",
    "truncation",
]

#: The key of the truncation note in a payload cut to bound memory or the store:
#: ``{"truncated": {"kept": N, "size": M}}`` (:mod:`console.notifications.payloads`).
TRUNCATED: Final = "truncated"
#: Most characters of a summary (a 10 MB value must not make a 10 MB line).
SUMMARY_CHARS: Final = 1000


def truncation(payload: object) -> tuple[int, int] | None:
    """``(kept, size)`` of a payload truncated to bound memory or the store (bytes
    kept, bytes it had), or ``None`` for a whole payload."""
    if not isinstance(payload, Mapping):
        return None
    note = payload.get(TRUNCATED)
    if not isinstance(note, Mapping):
        return None
    kept, size = note.get("kept"), note.get("size")
    if type(kept) is int and type(size) is int:
        return kept, size
    return None


class Category(enum.StrEnum):
    """What kind of thing happened; the stream's type mask toggles these."""

    TRAP = "trap"
    """An SNMP trap or inform."""
    MESSAGE = "message"
    """An MQTT message (every received PUBLISH)."""
    STATUS = "status"
    """A device or broker connection status change."""
    READ = "read"
    """An operator read (REQUESTED) or walk result."""
    WRITE = "write"
    """An operator SNMP SET, MQTT publish, set or unset result."""
    PROPERTY = "property"
    """A value changed: a polled SNMP value (CHANGE), an Astarte property or datastream."""
    LOG = "log"
    """fleettop's own warnings and errors."""
    AUDIT = "audit"
    """An operator action recorded in the audit log."""
    ALARM = "alarm"
    """An alarm was raised, cleared or acknowledged."""
    EVENT = "event"
    """Any other bus event (statistics, internal state): only a monitor that asks
    for it by pattern shows it (:func:`classify` with ``fallback=True``)."""


#: Every category, in the order the mask panel lists them (keys 1..9).
CATEGORIES: Final[tuple[Category, ...]] = tuple(Category)


class Severity(enum.IntEnum):
    """How much a notification matters; ordered, so ``max()`` gives the worst."""

    INFO = 0
    WARNING = 1
    ERROR = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        """The lower-case name (``"warning"``), as in config and exports."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """The severity named ``text`` (``"warning"``, any case).

        Raises:
            ValueError: not one of info, warning, error, critical.
        """
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r} (expected info, warning, error or critical)"
            ) from None


class Notification:
    """One entry of the stream.

    Attributes:
        id: increasing within a run (the bus sequence number); a replayed entry keeps
            its stored row id, negative so it never collides with a live one.
        time: when it happened, seconds since the epoch (the bus timestamp).
        category: its :class:`Category`.
        severity: its :class:`Severity`.
        device: the device name, or an ``@`` name (``@receiver``, ``@plant``,
            ``@192.0.2.7``), or ``"fleettop"`` for fleettop's own logs.
        event_type: the bus event type it came from.
        payload: the bus event's payload (JSON, not copied).
        history: True for entries replayed from the store after a restart.
    """

    __slots__ = ("_summary", "category", "device", "event_type", "history", "id", "payload",
                 "severity", "time")  # fmt: skip

    def __init__(
        self,
        id: int,
        time: float,
        category: Category,
        severity: Severity,
        device: str,
        event_type: EventType,
        payload: JsonValue,
        *,
        history: bool = False,
        summary: str | None = None,
    ) -> None:
        self.id = id
        self.time = time
        self.category = category
        self.severity = severity
        self.device = device
        self.event_type = event_type
        self.payload = payload
        self.history = history
        self._summary = summary

    @property
    def summary(self) -> str:
        """One line for the stream (built on first use, then kept)."""
        if self._summary is None:
            self._summary = _summarize(self.category, self.event_type, self.payload)
        return self._summary

    @property
    def truncated(self) -> tuple[int, int] | None:
        """``(kept, size)`` when the payload was truncated to bound memory or the
        store (the detail says "kept of size bytes"): for an MQTT message the bytes
        of its payload, otherwise about the bytes of the payload's JSON text;
        ``None`` for a whole payload (:mod:`console.notifications.payloads`)."""
        return truncation(self.payload)

    def with_payload(self, payload: JsonValue) -> Notification:
        """A copy with ``payload`` instead (same id, time, category, severity,
        device, event type and history; the summary too, when already built)."""
        return Notification(
            self.id, self.time, self.category, self.severity, self.device, self.event_type,
            payload, history=self.history, summary=self._summary,
        )  # fmt: skip

    @property
    def topic(self) -> str | None:
        """The MQTT topic of a message, publish, property or datastream, else None."""
        payload = self.payload
        if isinstance(payload, Mapping):
            topic = payload.get("topic")
            if isinstance(topic, str):
                return topic
        return None

    def to_record(self) -> dict[str, JsonValue]:
        """A JSON object for exports and recordings: ``id``, ``time`` (s since the
        epoch), ``category``, ``severity`` (label), ``device``, ``type`` (the event
        type joined by ``/``), ``summary``, ``payload``, ``history``."""
        return {
            "id": self.id,
            "time": self.time,
            "category": self.category.value,
            "severity": self.severity.label,
            "device": self.device,
            "type": "/".join(self.event_type),
            "summary": self.summary,
            "payload": self.payload,
            "history": self.history,
        }

    def __repr__(self) -> str:
        return (
            f"<Notification {self.id} {self.category.value} {self.severity.label}"
            f" {self.device} {'/'.join(self.event_type)}>"
        )


# -- classification ------------------------------------------------------------------

_STATUS_SEVERITY: Final[dict[str, Severity]] = {
    "DISCONNECTED": Severity.ERROR,
    "FAILED": Severity.ERROR,  # the trap receiver cannot listen
    "OFFLINE": Severity.WARNING,
    "SUSPENDED": Severity.WARNING,  # a delivering monitor keeps batches for replay
    "DISABLED": Severity.ERROR,  # a delivering monitor gave up (docs/monitors.md)
    "STALE": Severity.WARNING,  # its collector went offline (docs/distributed.md)
}
_LOG_SEVERITY: Final[dict[str, Severity]] = {
    "debug": Severity.INFO,
    "info": Severity.INFO,
    "warning": Severity.WARNING,
    "error": Severity.ERROR,
    "critical": Severity.CRITICAL,
}


def _get(payload: JsonValue, key: str) -> Any:
    return payload.get(key) if isinstance(payload, Mapping) else None


def _severity_named(value: Any, default: Severity) -> Severity:
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError:
            return default
    return default


def classify(event: Event, *, fallback: bool = False) -> Notification | None:
    """The notification for ``event``, or ``None`` when the event type is not part
    of the stream (see the module docstring for the mapping). With ``fallback``,
    such an event gives an ``EVENT`` notification (info) instead of ``None``: a
    monitor shows whatever its patterns ask for. Never raises: an unexpected payload
    shape gives a notification with a generic summary."""
    found = _classify(event)
    if found is None and fallback:
        device = event.type[1] if len(event.type) >= 2 else "fleettop"
        return Notification(
            event.seq, event.timestamp, Category.EVENT, Severity.INFO, device, event.type,
            event.payload,
        )  # fmt: skip
    return found


def _classify(event: Event) -> Notification | None:
    event_type = event.type
    if not event_type:
        return None
    head = event_type[0]
    payload = event.payload
    category: Category
    severity = Severity.INFO
    if head == "mqtt" and len(event_type) >= 3:
        kind = event_type[2]
        device = event_type[1]
        if kind == "message":
            category = Category.MESSAGE
        elif kind in ("property", "datastream", "metric", "field"):
            category = Category.PROPERTY
            if _get(payload, "valid") is False:
                severity = Severity.WARNING
        elif kind == "warning":
            category = Category.LOG
            severity = Severity.WARNING
        elif kind in ("purge", "entity", "empty_cache"):
            category = Category.PROPERTY
        elif kind == "status":
            category = Category.STATUS
            severity = _STATUS_SEVERITY.get(str(_get(payload, "status")), Severity.INFO)
        elif kind == "publish":
            category = Category.WRITE
            if _get(payload, "success") is False:
                severity = Severity.ERROR
        else:
            return None
    elif head == "snmp" and len(event_type) >= 3:
        kind = event_type[2]
        device = event_type[1]
        if kind == "trap":
            category = Category.TRAP
            severity = Severity.WARNING
        elif kind == "read":
            cause = _get(payload, "cause")
            if cause == "REQUESTED":
                category = Category.READ
            elif cause == "CHANGE":
                category = Category.PROPERTY
            else:
                return None
            if _get(_get(payload, "data"), "type") == "ERROR":
                severity = Severity.WARNING
        elif kind == "status":
            category = Category.STATUS
            severity = _STATUS_SEVERITY.get(str(_get(payload, "status")), Severity.INFO)
        elif kind == "write":
            category = Category.WRITE
            if _get(payload, "success") is False:
                severity = Severity.ERROR
        elif kind == "walk":
            category = Category.READ
            if _get(payload, "complete") is False:
                severity = Severity.WARNING
        else:
            return None
    elif head == "monitor" and len(event_type) == 3 and event_type[2] == "status":
        category = Category.STATUS
        severity = _STATUS_SEVERITY.get(str(_get(payload, "status")), Severity.INFO)
        device = f"@{event_type[1]}"
    elif head == "log" and len(event_type) >= 2:
        category = Category.LOG
        severity = _LOG_SEVERITY.get(event_type[1], Severity.INFO)
        device = "fleettop"
    elif head == "audit" and len(event_type) >= 3:
        category = Category.AUDIT
        device = event_type[1]
        result = _get(payload, "result")
        if result is not None and result != "ok":
            severity = Severity.WARNING
    elif head == "alarm" and len(event_type) >= 3:
        category = Category.ALARM
        device = event_type[1]
        severity = _severity_named(_get(payload, "severity"), Severity.WARNING)
    elif event_type == ("store", "status"):
        if _get(payload, "persistent") is not False:
            return None
        category = Category.LOG
        severity = Severity.ERROR
        device = "fleettop"
    else:
        return None
    return Notification(event.seq, event.timestamp, category, severity, device, event_type, payload)


# -- summaries -------------------------------------------------------------------------

#: Most characters of a payload preview in a summary.
PREVIEW_CHARS: Final = 120


#: Control characters other than tab, LF and CR: a payload holding one is binary.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _preview(b64: Any) -> str:
    if not isinstance(b64, str):
        return ""
    try:
        raw = base64.b64decode(b64[: (PREVIEW_CHARS * 4 // 3) + 4], validate=False)
    except (binascii.Error, ValueError):
        return "(undecodable payload)"
    text = raw.decode("utf-8", errors="replace")
    if _CONTROL.search(text) is not None or "\ufffd" in text:
        return raw[:24].hex(" ") + (" …" if len(raw) > 24 else "")
    text = " ".join(text.split())
    return text[:PREVIEW_CHARS]


def _data_text(data: Any, display: Any = None) -> str:
    """An SNMP data dict in the stream line: ``up(1) (INTEGER)`` -- the event's
    ``display`` (the value as its MIB defines it) when it carries one, else the raw
    value -- with its type."""
    if isinstance(data, Mapping):
        value = data.get("value")
        shown = display if isinstance(display, str) else (MISSING if value is None else value)
        return f"{shown!s} ({data.get('type')})"
    return str(data)


def _json_text(value: Any) -> str:
    """A JSON value in operator words: text as is, anything else as compact JSON
    (``true``, ``null`` as ``—``, ``{"on":true}``), never a Python repr."""
    from console.store.audit.model import value_text

    return value if isinstance(value, str) else value_text(value)


def _qos_text(qos: Any, retain: Any) -> str:
    """``QoS 1, retained`` / ``QoS 0``."""
    return f"QoS {qos}" + (", retained" if retain is True else "")


def _summarize(category: Category, event_type: EventType, payload: JsonValue) -> str:
    """One line describing the event, at most :data:`SUMMARY_CHARS` long; never
    raises."""
    try:
        return _summary_of(category, event_type, payload)[:SUMMARY_CHARS]
    except Exception:  # pragma: no cover - a shape no producer publishes
        return "/".join(event_type)


def _varbind_text(varbind: Mapping[str, Any]) -> str:
    """A trap var-bind in the stream line: its object and its value as the MIB
    defines it, ``ifOperStatus down(2)`` (the index is in the detail pane); an
    unnamed one ``OID=value``."""
    value = varbind.get("display")
    if not isinstance(value, str):
        value = varbind.get("value")
    name = varbind.get("name")
    if isinstance(name, str) and name:
        obj = name.rpartition("::")[2].partition(".")[0]  # descriptors have no dot
        return f"{obj} {value}"
    return f"{varbind.get('oid')}={value}"


def _summary_of(category: Category, event_type: EventType, payload: JsonValue) -> str:
    def get(key: str) -> Any:
        return _get(payload, key)

    if category is Category.MESSAGE:
        size = get("size")
        flags = f" q{get('qos')}" + (" retained" if get("retain") else "")
        return f"{get('topic')}{flags} {size} B: {_preview(get('payload'))}"
    if category is Category.TRAP:
        name = get("trap_name") or get("trap_oid")
        kind = "inform" if get("inform") else "trap"
        varbinds = get("varbinds") or []
        shown = ", ".join(_varbind_text(vb) for vb in varbinds[:3] if isinstance(vb, Mapping))
        more = f" (+{len(varbinds) - 3})" if len(varbinds) > 3 else ""
        return f"{kind} {name} from {get('sender')}: {shown}{more}"
    if category is Category.STATUS:
        reason = get("reason")
        return f"{get('status')}" + (f": {reason}" if reason else "")
    if category is Category.READ:
        if event_type[2] == "walk":
            error = get("error")
            outcome = "complete" if get("complete") else f"stopped: {error}"
            return f"walk {event_type[3]}: {get('count')} varbinds, {outcome}"
        return f"read {event_type[3]} = {_data_text(get('data'), get('display'))}"
    if category is Category.PROPERTY:
        if event_type[0] == "snmp":
            return f"{event_type[3]} changed to {_data_text(get('data'), get('display'))}"
        if event_type[2] == "purge":
            keep = get("keep")
            count = len(keep) if isinstance(keep, list) else 0
            return f"purge: {get('ownership')}-owned properties but these {count} removed"
        if event_type[2] == "entity":
            what = "removed" if get("removed") else f"announced, state on {get('state_topic')}"
            return f"Home Assistant {get('component')} {get('label')}: {what}"
        if event_type[2] == "empty_cache":
            return (
                "emptyCache: a clean session; the server sends its server-owned "
                "properties and control/consumer/properties again"
            )
        if event_type[2] == "metric":
            return f"{get('message_type')} {get('name')} = {_json_text(get('value'))}"
        if event_type[2] == "field":
            return f"{get('topic')} {get('pointer')} = {_json_text(get('value'))}"
        text = f"{get('interface')}{get('path')} = {_json_text(get('value'))}"
        if get("unset"):
            text = f"{get('interface')}{get('path')} unset"
        if get("valid") is False:
            text += f" (invalid: {get('error')})"
        return text
    if category is Category.WRITE:
        outcome = "ok" if get("success") else f"failed: {get('error')}"
        if event_type[0] == "snmp":
            return f"SET {event_type[3]} = {_data_text(get('data'), get('display'))}: {outcome}"
        operation = get("operation") or "publish"
        if not get("interface"):  # a plain publish: its topic and delivery
            return f"{operation} {get('topic')} ({_qos_text(get('qos'), get('retain'))}): {outcome}"
        target = f"{get('interface')}{get('path')}"
        value = "" if operation == "unset" else f" = {_json_text(get('value'))}"
        return f"{operation} {target}{value}: {outcome}"
    if category is Category.LOG:
        if event_type[0] == "store":
            return f"no persistence: {get('error')}"
        return str(get("message"))
    if category is Category.AUDIT:
        from console.store.audit.model import value_text

        change = f"{value_text(get('old'))} → {value_text(get('new'))}"
        return f"{get('action')} {get('target')}: {change} ({get('result')})"
    if category is Category.ALARM:
        state = get("state") or ""
        return f"{get('severity')} {state} {get('rule')}: {get('message')}".strip()
    if category is Category.EVENT:
        return f"{'/'.join(event_type)} {json.dumps(payload, default=str)[:PREVIEW_CHARS]}"
    return "/".join(event_type)  # pragma: no cover - every category is handled above
