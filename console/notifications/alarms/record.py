"""The alarm record: one alarm in its ISA-18.2 state, and where alarms persist.

States follow ISA-18.2 (ANSI/ISA-18.2-2016 §5, the alarm state model; IEC 62682):

=====================  =====================================================
state                  meaning
=====================  =====================================================
active, unacked        the condition holds; nobody has acknowledged it
active, acked          the condition holds; an operator has acknowledged it
cleared, unacked       the condition went away; the alarm stays until acked
cleared, acked         *closed*: removed from the book (kept in the store)
=====================  =====================================================

:meth:`Alarm.to_payload` is both the payload of the ``("alarm", DEVICE, ID)`` bus
event (``docs/events.md``) and the JSON kept in the store's ``alarms`` row;
:class:`AlarmStore` is what the book needs of the store
(:class:`console.notifications.storage.AlarmLog` is one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from console.events import JsonValue
from console.notifications.model import Severity

__all__ = [
    "ALARM_EVENT",
    "RULE_DISCONNECTED",
    "RULE_OFFLINE",
    "RULE_TRAP",
    "Alarm",
    "AlarmStore",
]

#: The event type head of alarm changes: ``("alarm", DEVICE, str(ID))``.
ALARM_EVENT: Final = "alarm"
#: Built-in rule names (rule names from the file never start with ``@``).
RULE_TRAP: Final = "@trap"
RULE_DISCONNECTED: Final = "@disconnected"
RULE_OFFLINE: Final = "@offline"


@dataclass(slots=True)
class Alarm:
    """One alarm, open or closed (ISA-18.2 states, see the module docstring).

    Attributes:
        id: unique, never reused (also across restarts, with a store).
        key: identity of the condition: at most one open alarm per key.
        rule: the rule's name, or ``@trap``, ``@disconnected``, ``@offline``.
        device: the device (or ``@`` sender/broker) it is about.
        severity: its :class:`~console.notifications.model.Severity`.
        message: one line for the operator.
        source: the event type that last raised it, ``/``-joined.
        raised_at: when it was first raised, seconds since the epoch.
        updated_at: when it last changed (any change), seconds since the epoch.
        count: occurrences while open (1 when raised).
        cleared_at: when its condition went away (s), ``None`` while active.
        acked_at: when an operator acknowledged it (s), ``None`` until then.
        history: loaded from the store after a restart and not changed since.
        value: the value that raised it (threshold rules), else ``None``.
    """

    id: int
    key: str
    rule: str
    device: str
    severity: Severity
    message: str
    source: str
    raised_at: float
    updated_at: float
    count: int = 1
    cleared_at: float | None = None
    acked_at: float | None = None
    history: bool = False
    value: JsonValue = None

    @property
    def state(self) -> Literal["active", "cleared"]:
        """``"active"`` while the condition holds, ``"cleared"`` once it went away."""
        return "active" if self.cleared_at is None else "cleared"

    @property
    def acked(self) -> bool:
        """True once acknowledged."""
        return self.acked_at is not None

    @property
    def closed(self) -> bool:
        """True when cleared and acknowledged (ISA-18.2 "normal"): out of the book."""
        return self.cleared_at is not None and self.acked_at is not None

    def to_payload(self) -> dict[str, JsonValue]:
        """The alarm as the payload of its ``("alarm", DEVICE, ID)`` event and its
        store row: every attribute (``severity`` as its label, times in seconds since
        the epoch or ``None``) plus ``state``, ``acked`` and ``closed``."""
        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "device": self.device,
            "severity": self.severity.label,
            "message": self.message,
            "source": self.source,
            "raised_at": self.raised_at,
            "updated_at": self.updated_at,
            "count": self.count,
            "cleared_at": self.cleared_at,
            "acked_at": self.acked_at,
            "state": self.state,
            "acked": self.acked,
            "closed": self.closed,
            "history": self.history,
            "value": self.value,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Alarm:
        """An alarm from :meth:`to_payload`'s dict (``state``, ``acked`` and
        ``closed`` are derived, so ignored).

        Raises:
            KeyError: a required key is missing.
            ValueError: an unknown severity, or a field of the wrong type.
            TypeError: a field of the wrong type.
        """

        def when(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        severity = data["severity"]
        return cls(
            id=int(data["id"]),
            key=_text(data["key"], "key"),
            rule=_text(data["rule"], "rule"),
            device=_text(data["device"], "device"),
            severity=Severity(severity) if isinstance(severity, int) else Severity.parse(severity),
            message=_text(data["message"], "message"),
            source=_text(data.get("source", ""), "source"),
            raised_at=float(data["raised_at"]),
            updated_at=float(data.get("updated_at", data["raised_at"])),
            count=int(data.get("count", 1)),
            cleared_at=when("cleared_at"),
            acked_at=when("acked_at"),
            history=bool(data.get("history", False)),
            value=data.get("value"),
        )


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"alarm {name} must be text, not {type(value).__name__}")
    return value


class AlarmStore(Protocol):
    """Where alarms persist (``console.notifications.storage.AlarmLog`` is one)."""

    async def save(self, alarm: Alarm) -> None:
        """Queue the alarm's current state (upsert by id)."""
        ...

    async def load_open(self) -> list[Alarm]:
        """Every alarm not closed, with ``history`` True."""
        ...

    async def next_id(self) -> int:
        """The first id never used."""
        ...
