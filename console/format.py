"""Display formatting of values, counters and times, and the reverse for operator
input (no Textual here).

Every string the UI shows for a polled value, a counter, a rate or a time is made by
one of these pure functions, and every value an operator types for a write is parsed
by :func:`parse_value_text`, so the screens stay thin and the rules are unit tested
in one place (``tests/test_format.py``).

Time goes through one injectable :class:`Clock`: the app reads "now" and turns
timestamps into text only through it. Tests and snapshots pass a fixed clock in
UTC (``Clock(now=lambda: T0, tz=timezone.utc)``) and get the same screen every run.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TypeGuard

from console.events import JsonValue

__all__ = [
    "MISSING",
    "Clock",
    "decode_opaque_float",
    "editable_text",
    "format_count",
    "format_counter_rate",
    "format_duration",
    "format_hex",
    "format_mib_name",
    "format_ms",
    "format_rate",
    "format_snmp_version",
    "format_timeticks",
    "format_value",
    "oid_sort_key",
    "parse_value_text",
    "printable",
    "truncate",
]

#: What a cell shows when there is no value yet.
MISSING = "—"
ELLIPSIS = "…"

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GROUPED_TYPES = frozenset({"COUNTER", "BIG_COUNTER", "UNSIGNED"})
_HEX_TYPES = frozenset({"STRING_HEX", "ARBITRARY"})
_SI_PREFIXES = ("k", "M", "G", "T", "P", "E")
_INTEGER_TYPES = frozenset({"INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER", "TIME_TICKS"})
#: Net-SNMP's opaque-wrapped floats (draft-perkins-opaque-01): tag ``9f78`` (float,
#: 4 bytes) or ``9f79`` (double, 8 bytes), a length byte, then the IEEE 754 value.
_OPAQUE_FLOATS = {"9f7804": (">f", "opaque float", "g"), "9f7908": (">d", "opaque double", ".12g")}
_TIMETICKS_TEXT = re.compile(r"^(?:(\d+)d\s*)?(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d{1,2}))?$")


@dataclass(frozen=True, slots=True)
class Clock:
    """The UI's one source of "now" and of time-of-day text.

    Attributes:
        now: returns the current time in seconds since the epoch.
        tz: the time zone times are shown in; ``None`` means the local zone.
    """

    now: Callable[[], float] = field(default=time.time)
    tz: tzinfo | None = None

    def time_of_day(self, timestamp: float | None) -> str:
        """Return ``HH:MM:SS`` of ``timestamp`` in this clock's zone, or :data:`MISSING`."""
        if timestamp is None:
            return MISSING
        moment = datetime.fromtimestamp(timestamp, tz=self.tz)
        return moment.strftime("%H:%M:%S")

    def date_time(self, timestamp: float | None) -> str:
        """Return ``YYYY-MM-DD HH:MM:SS`` of ``timestamp`` in this clock's zone, or
        :data:`MISSING` (for times that may be days old: last-known values, audit
        entries)."""
        if timestamp is None:
            return MISSING
        moment = datetime.fromtimestamp(timestamp, tz=self.tz)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def stamp(self) -> str:
        """Return "now" as ``YYYYmmdd-HHMMSS`` in this clock's zone (file names)."""
        return datetime.fromtimestamp(self.now(), tz=self.tz).strftime("%Y%m%d-%H%M%S")

    def age(self, timestamp: float | None) -> str:
        """Return how long ago ``timestamp`` was, e.g. ``12s`` or ``3m05s``."""
        if timestamp is None:
            return MISSING
        return format_duration(max(0.0, self.now() - timestamp))


def format_count(value: int | None) -> str:
    """Return an integer with thousands separators: ``1234567`` -> ``1,234,567``."""
    if value is None:
        return MISSING
    return f"{value:,}"


def format_ms(value: float | None) -> str:
    """Return a round-trip time in milliseconds with one decimal: ``12.3``."""
    if value is None:
        return MISSING
    return f"{value:,.1f}"


def format_rate(per_second: float | None) -> str:
    """Return an events-per-second rate: ``42/s``, ``0.5/s``, or ``—/s`` when unknown."""
    if per_second is None:
        return f"{MISSING}/s"
    if per_second >= 10:
        return f"{per_second:,.0f}/s"
    return f"{per_second:.1f}/s"


def format_timeticks(ticks: int) -> str:
    """Return SNMP TimeTicks (hundredths of a second) as ``Nd hh:mm:ss.cc``.

    >>> format_timeticks(8_640_000 + 366_012)
    '1d 01:01:00.12'
    """
    sign = "-" if ticks < 0 else ""
    seconds, hundredths = divmod(abs(ticks), 100)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours:02d}:{minutes:02d}:{seconds:02d}.{hundredths:02d}"


def format_duration(seconds: float) -> str:
    """Return a compact duration: ``45s``, ``3m05s``, ``2h07m``, ``4d03h``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_hex(hex_string: str) -> str:
    """Return lower-case hex as space-separated byte pairs: ``00a1ff`` -> ``00 a1 ff``."""
    digits = hex_string.strip().lower()
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def format_snmp_version(version: str) -> str:
    """Return an SNMP version as operators write it: ``V2C`` -> ``v2c``."""
    return version.lower()


def printable(text: str) -> str:
    """Return ``text`` on one line: newlines, tabs and other control characters are
    shown as escapes (``\\n``, ``\\x1b``) so a device string cannot break a table row
    or drive the terminal."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable():
            out.append(char)
        elif char in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[char])
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
    return "".join(out)


def truncate(text: str, width: int | None) -> str:
    """Cut ``text`` to at most ``width`` characters, ending in ``…`` when cut."""
    if width is None or len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    return text[: width - 1] + ELLIPSIS


def format_mib_name(name: str | None, width: int | None = None) -> str:
    """Return a ``MODULE::name.index`` MIB name that fits ``width``.

    Too long, the module is dropped first (``ifInOctets.1`` says more than
    ``IF-MIB::ifInOc…``); still too long, the start is cut so the index stays.
    """
    if not name:
        return ""
    if width is None or len(name) <= width:
        return name
    _, _, short = name.rpartition("::")
    if len(short) <= width:
        return short
    if width <= 1:
        return ELLIPSIS[:width]
    return ELLIPSIS + short[len(short) - width + 1 :]


def format_value(data_type: str, value: JsonValue, *, width: int | None = None) -> str:
    """Return a polled SNMP value (``docs/events.md`` data types) for display.

    ``TIME_TICKS`` as ``Nd hh:mm:ss.cc``; ``COUNTER``, ``BIG_COUNTER`` and ``UNSIGNED``
    with thousands separators; an ``ARBITRARY`` Net-SNMP opaque float or double as
    its number (``3.14159 (opaque float)``); ``STRING_HEX`` and other ``ARBITRARY``
    values as byte pairs; strings on one line with control characters escaped;
    everything else as is.

    Args:
        data_type: the ``type`` of the event's ``data``.
        value: the ``value`` of the event's ``data``.
        width: cut the result to this many characters (``…`` marks the cut).
    """
    if value is None:
        text = MISSING
    elif data_type == "ARBITRARY" and isinstance(value, str) and (opaque := _opaque(value)):
        text = opaque
    elif data_type == "TIME_TICKS" and _is_int(value):
        text = format_timeticks(value)
    elif data_type in _GROUPED_TYPES and _is_int(value):
        text = format_count(value)
    elif data_type in _HEX_TYPES and isinstance(value, str):
        text = format_hex(value)
    elif isinstance(value, str):
        text = printable(value)
    else:
        text = printable(str(value))
    return truncate(text, width)


def decode_opaque_float(hex_string: str) -> float | None:
    """Return the number inside a Net-SNMP opaque float or double, else ``None``.

    Net-SNMP wraps ``Float`` and ``Double`` (draft-perkins-opaque-01) in an Opaque:
    ``9f 78 04`` then 4 bytes of IEEE 754 single precision, or ``9f 79 08`` then 8
    bytes of double precision. Any other hex (or the wrong length) is not one.

    >>> decode_opaque_float("9f780440490fd0")
    3.141590118408203
    """
    digits = hex_string.strip().lower()
    layout = _OPAQUE_FLOATS.get(digits[:6])
    if layout is None:
        return None
    try:
        payload = bytes.fromhex(digits[6:])
    except ValueError:
        return None
    if len(payload) != struct.calcsize(layout[0]):
        return None
    return float(struct.unpack(layout[0], payload)[0])


def _opaque(hex_string: str) -> str:
    """``3.14159 (opaque float)`` for a Net-SNMP opaque float, else ``""``."""
    number = decode_opaque_float(hex_string)
    if number is None:
        return ""
    _, label, spec = _OPAQUE_FLOATS[hex_string.strip().lower()[:6]]
    return f"{number:{spec}} ({label})"


def format_counter_rate(per_second: float | None, *, compact: bool = True) -> str:
    """Return a counter's rate of change: ``0.25/s``, ``56.7/s``, ``4,608/s``, and
    from 10,000 on with an SI prefix, ``835k/s``, ``34.7M/s`` (``compact=False``:
    ``34,723,736/s``); :data:`MISSING` when unknown (fewer than two samples, or a
    reset)."""
    if per_second is None:
        return MISSING
    if per_second == 0:
        return "0/s"
    magnitude = abs(per_second)
    if magnitude < 10:
        return f"{per_second:.2f}/s"
    if magnitude < 1000:
        return f"{per_second:.1f}/s"
    if magnitude < 10_000 or not compact:
        return f"{per_second:,.0f}/s"
    for prefix in _SI_PREFIXES:
        per_second /= 1000
        if abs(per_second) < 999.95 or prefix == _SI_PREFIXES[-1]:
            break
    digits = 0 if abs(per_second) >= 100 else 1
    return f"{per_second:,.{digits}f}{prefix}/s"


def editable_text(data_type: str, value: JsonValue) -> str:
    """Return a value as an operator edits it (the start text of a write): integers
    without separators, ``TIME_TICKS`` as ``Nd hh:mm:ss.cc``, hex as byte pairs,
    strings as they are; an ``ERROR`` or missing value as the empty string.

    :func:`parse_value_text` reads every one of these back.
    """
    if value is None or data_type == "ERROR":
        return ""
    if data_type == "TIME_TICKS" and _is_int(value):
        return format_timeticks(value)
    if data_type in _HEX_TYPES and isinstance(value, str):
        return format_hex(value)
    return value if isinstance(value, str) else str(value)


def parse_value_text(data_type: str, text: str) -> JsonValue:
    """Return the ``value`` of a data dict of ``data_type`` from what an operator typed.

    Integer types take a decimal integer (``,`` ``_`` and spaces between digits are
    allowed); ``TIME_TICKS`` also takes ``Nd hh:mm:ss.cc`` (or ``hh:mm:ss``); every
    other type keeps the text (``STRING`` exactly as typed, the others stripped of
    surrounding blanks). Ranges, hex digits, OIDs and addresses are checked by
    ``console.snmp.codec.to_pysnmp``, which the write dialog calls next.

    Raises:
        ValueError: an integer type whose text is not an integer (an operator-readable
            message).
    """
    if data_type not in _INTEGER_TYPES:
        return text if data_type == "STRING" else text.strip()
    compact = text.strip().replace(",", "").replace("_", "").replace(" ", "")
    if data_type == "TIME_TICKS" and (match := _TIMETICKS_TEXT.match(text.strip())):
        days, hours, minutes, seconds, hundredths = match.groups()
        total = ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + int(seconds)
        return total * 100 + int((hundredths or "0").ljust(2, "0"))
    if not re.fullmatch(r"[+-]?\d+", compact):
        expected = "an integer (hundredths of a second) or Nd hh:mm:ss.cc"
        if data_type != "TIME_TICKS":
            expected = "an integer"
        raise ValueError(f"{data_type} value {text.strip()!r} is not {expected}")
    return int(compact)


def oid_sort_key(oid: str) -> tuple[int | float, ...]:
    """Return a key that sorts dotted OIDs numerically (``1.3.6.1.2`` < ``1.3.6.1.10``).

    Segments that are not numbers sort after every number.
    """
    return tuple(int(part) if part.isdigit() else float("inf") for part in oid.split("."))


def _is_int(value: JsonValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
