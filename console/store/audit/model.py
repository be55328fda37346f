"""The audit log's model: what an entry holds, and the checks a draft passes before it
is queued (see :mod:`console.store.audit`).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, NamedTuple

from console.events import JsonValue
from console.format import MISSING, format_value, printable, truncate
from console.rowfiles import to_json_text
from console.store.paths import check_text

__all__ = [
    "ACTOR_OPERATOR",
    "MAX_TIME_MS",
    "RESULT_OK",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "checked_time_ms",
    "insert_params",
    "iso_time",
    "text_field",
    "value_text",
]

#: The ``result`` of an action that succeeded.
RESULT_OK: Final = "ok"
#: The ``actor`` of everything an operator does through fleettop.
ACTOR_OPERATOR: Final = "operator"
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: The last millisecond of year 9999: ``time_ms`` is 0..this, so it always has an ISO
#: rendering.
MAX_TIME_MS: Final = 253_402_300_799_999


class AuditAction(StrEnum):
    """The actions fleettop records (``action`` is any non-empty string; these are the
    ones it uses)."""

    SNMP_SET = "snmp.set"
    MQTT_PUBLISH = "mqtt.publish"
    MQTT_SET = "mqtt.set"
    MQTT_UNSET = "mqtt.unset"
    STORE_DELETE = "store.delete"
    ALARM_ACK = "alarm.ack"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_time(time_ms: int) -> str:
    """``time_ms`` (ms since the epoch) as ISO 8601 UTC with milliseconds:
    ``2024-05-01T12:00:00.123Z``.

    Raises:
        OverflowError: beyond year 9999.
    """
    moment = _EPOCH + dt.timedelta(milliseconds=time_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded operator action, as read back from the store.

    Attributes:
        id: the entry's number, unique and increasing in recording order (never
            reused).
        time_ms: when it happened, ms since the epoch (for a bus event: the time the
            outcome was published).
        actor: who did it: ``"operator"``.
        action: what: an :class:`AuditAction` value (``"snmp.set"``...).
        device: the device's configuration name.
        target: the OID, MQTT topic or interface path acted on (may be ``""``).
        old: the value before, a JSON value, or None when unknown (an SNMP SET's
            ``previous``: ``{"type", "value"}``).
        new: the value asked for, a JSON value, or None (an unset or delete).
        result: ``"ok"`` (:data:`RESULT_OK`), else an error name (``NOT_WRITABLE``,
            ``TIMEOUT``, ``CANCELLED``...) or a refusal reason.
        session_id: the operator session, or None.
    """

    id: int
    time_ms: int
    actor: str
    action: str
    device: str
    target: str
    old: JsonValue
    new: JsonValue
    result: str
    session_id: str | None

    @property
    def ok(self) -> bool:
        """True when the action succeeded (``result == "ok"``)."""
        return self.result == RESULT_OK

    def to_row(self) -> dict[str, JsonValue]:
        """The entry as an export row: every field, plus ``time`` (ISO 8601 UTC)."""
        return {
            "id": self.id,
            "time_ms": self.time_ms,
            "time": iso_time(self.time_ms),
            "actor": self.actor,
            "action": self.action,
            "device": self.device,
            "target": self.target,
            "old": self.old,
            "new": self.new,
            "result": self.result,
            "session_id": self.session_id,
        }


class AuditDraft(NamedTuple):
    """An entry to record: an :class:`AuditEntry` without its ``id`` (the store
    numbers it). ``time_ms=None`` means now; see :class:`AuditEntry` for the fields.
    An empty ``session_id`` is recorded as None."""

    action: str
    device: str
    target: str
    old: JsonValue = None
    new: JsonValue = None
    result: str = RESULT_OK
    session_id: str | None = None
    time_ms: int | None = None
    actor: str = ACTOR_OPERATOR


def _publish_text(value: dict[str, JsonValue]) -> str | None:
    """``QoS 1, retained, 12 B`` for an MQTT publish's ``{"topic", "qos", "retain",
    "size"}`` (the topic is the entry's target), else None."""
    if set(value) != {"topic", "qos", "retain", "size"}:
        return None
    qos, size = value["qos"], value["size"]
    parts = [f"QoS {qos}"]
    if value["retain"] is True:
        parts.append("retained")
    if isinstance(size, int) and not isinstance(size, bool):
        parts.append(f"{size} B")
    return ", ".join(parts)


def value_text(value: JsonValue, width: int | None = None) -> str:
    """An entry's ``old`` or ``new`` value in operator words, on one line.

    None (unknown, or nothing: an unset) is ``—``; SNMP data ``{"type", "value"}`` as
    the OIDs screen shows it (``1d 02:03:04.05``, ``1,234``), with its ``display``
    (the value as its MIB defines it, issue 13) beside the raw form when that adds
    to it: ``down(2)`` (it names the raw ``2``), ``12.34 volts (1234)``,
    ``00:0c:29:a4:5b:07 (000c29a45b07)``; an MQTT publish's
    ``{"topic", "qos", "retain", "size"}`` as ``QoS 1, retained, 12 B``; any other
    value as compact JSON (``5``, ``"fast"``, ``{"on":true}``), control characters
    escaped. ``width`` cuts the text to that many characters (``…`` marks the cut).
    """
    text: str | None = None
    if value is None:
        text = MISSING
    elif isinstance(value, dict):
        if isinstance(value.get("type"), str) and "value" in value:
            plain = format_value(str(value["type"]), value["value"])
            display = value.get("display")
            if isinstance(display, str) and display != plain:
                shown = printable(display)
                # an enumeration names its number, UNITS follow the plain value
                says_raw = shown.endswith(f"({plain})") or shown.startswith(f"{plain} ")
                text = shown if says_raw else f"{shown} ({plain})"
                return truncate(text, width)
            return truncate(plain, width)
        text = _publish_text(value)
    if text is None:
        text = printable(to_json_text(value))
    return truncate(text, width)


# -- validation ---------------------------------------------------------------------


def text_field(kind: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{kind} must be a string, not {value!r}")
    if not empty and not value:
        raise ValueError(f"{kind} must not be empty")
    return check_text(kind, value)


def _check_json(kind: str, value: object, depth: int = 0) -> None:
    """Refuse what would not come back identical from JSON text.

    Raises:
        ValueError: a tuple, a set, bytes, a non-string key, NaN or an infinity, text
            that is not valid Unicode, or nesting deeper than 100 levels.
    """
    if depth > 100:
        raise ValueError(f"{kind} is nested more than 100 levels deep")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{kind} must not hold NaN or an infinity (not JSON)")
        return
    if isinstance(value, str):
        check_text(kind, value)
        return
    if isinstance(value, list):
        for item in value:
            _check_json(kind, item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{kind} has a non-string key {key!r} (not JSON)")
            check_text(kind, key)
            _check_json(kind, item, depth + 1)
        return
    raise ValueError(f"{kind} must be a JSON value, not {type(value).__name__}")


def checked_time_ms(value: object, kind: str = "time_ms") -> int:
    if type(value) is not int or not 0 <= value <= MAX_TIME_MS:
        raise ValueError(f"{kind} must be an int in 0..{MAX_TIME_MS} (ms), not {value!r}")
    return value


def insert_params(draft: AuditDraft) -> tuple[AuditDraft, tuple[object, ...]]:
    """The normalised draft and its INSERT parameters.

    Raises:
        ValueError: a field of the wrong type, an empty actor/action/device/result, a
            NUL in the device name, an old/new value that is not exact JSON.
    """
    action, device, target, old, new, result, session_id, time_ms, actor = draft
    device = text_field("device", device)
    if "\x00" in device:
        raise ValueError(f"device {device!r} must not contain NUL")
    _check_json("old", old)
    _check_json("new", new)
    if session_id is not None:
        session_id = text_field("session_id", session_id, empty=True) or None
    normal = AuditDraft(
        action=text_field("action", str(action) if isinstance(action, StrEnum) else action),
        device=device,
        target=text_field("target", target, empty=True),
        old=old,
        new=new,
        result=text_field("result", result),
        session_id=session_id,
        time_ms=_now_ms() if time_ms is None else checked_time_ms(time_ms),
        actor=text_field("actor", actor),
    )
    params = (
        normal.time_ms,
        normal.actor,
        normal.action,
        normal.device,
        normal.target,
        None if old is None else to_json_text(old),
        None if new is None else to_json_text(new),
        normal.result,
        normal.session_id,
    )
    return normal, params
