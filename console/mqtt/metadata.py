"""MQTT 5 PUBLISH properties (MQTT 5.0 §3.3.2.3) as lines for a detail pane.

A message event carries them as ``properties`` (``docs/events.md``, made by
:func:`console.mqtt.paho_adapter.publish_properties`): ``ContentType``,
``PayloadFormatIndicator`` (0 unspecified bytes, 1 UTF-8), ``UserProperty`` as
``[[name, value], ...]`` (order kept, names may repeat), ``ResponseTopic``,
``CorrelationData`` (hex), ``MessageExpiryInterval`` (seconds left when the broker
sent it), ``TopicAlias`` and ``SubscriptionIdentifier``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from console.format import printable

__all__ = [
    "PROPERTY_LABELS",
    "check_content_type",
    "check_user_properties",
    "format_user_properties",
    "metadata_lines",
    "parse_user_properties",
]

#: Longest MQTT UTF-8 string (MQTT 5.0 §1.5.4), in bytes.
MAX_STRING: Final = 65535

#: Property name -> label, in the order they are shown.
PROPERTY_LABELS: Final = {
    "ContentType": "content type",
    "PayloadFormatIndicator": "payload format",
    "ResponseTopic": "response topic",
    "CorrelationData": "correlation data",
    "MessageExpiryInterval": "message expiry",
    "TopicAlias": "topic alias",
    "SubscriptionIdentifier": "subscription id",
}


def _shown(name: str, value: object) -> str:
    if name == "PayloadFormatIndicator":
        return (
            {0: "0 (bytes)", 1: "1 (UTF-8)"}.get(value, str(value))
            if isinstance(value, int)
            else str(value)
        )
    if name == "MessageExpiryInterval":
        return f"{value} s"
    if name == "CorrelationData":
        return f"0x{value}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return printable(str(value))


def metadata_lines(properties: object) -> list[str]:
    """``["MQTT 5 properties:", "  content type: application/cbor", "  user property:
    site = plant-7", ...]``, or ``[]`` when ``properties`` is not a non-empty mapping.
    Text is made printable (control characters escaped); never raises."""
    if not isinstance(properties, Mapping) or not properties:
        return []
    lines = ["MQTT 5 properties:"]
    for name, label in PROPERTY_LABELS.items():
        if name in properties and properties[name] is not None:
            lines.append(f"  {label}: {_shown(name, properties[name])}")
    for pair in properties.get("UserProperty") or ():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            lines.append(f"  user property: {printable(str(pair[0]))} = {printable(str(pair[1]))}")
    for name, value in properties.items():
        if name not in PROPERTY_LABELS and name != "UserProperty":
            lines.append(f"  {printable(str(name))}: {printable(str(value))}")
    return lines


def _check_string(text: str, what: str) -> None:
    """An MQTT 5 UTF-8 string (§1.5.4): at most 65,535 bytes, no NUL, no surrogates.

    Raises:
        ValueError: why not, naming ``what``.
    """
    if "\x00" in text:
        raise ValueError(f"{what}: NUL characters are not allowed (MQTT 5.0 §1.5.4)")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{what}: not valid UTF-8") from None
    if size > MAX_STRING:
        raise ValueError(f"{what}: {size:,} bytes, at most {MAX_STRING:,} (MQTT 5.0 §1.5.4)")


def check_content_type(text: str) -> str:
    """A Content Type to publish with (MQTT 5.0 §3.3.2.3.9: a UTF-8 string, by
    convention a MIME type such as ``application/json``), stripped.

    Raises:
        ValueError: not an MQTT UTF-8 string, or not ``type/subtype``.
    """
    text = text.strip()
    _check_string(text, "content type")
    kind, slash, rest = text.partition("/")
    if not slash or not kind.strip() or not rest.strip() or any(c.isspace() for c in kind):
        raise ValueError(
            f"content type: {text!r} is not a MIME type such as application/json (type/subtype)"
        )
    return text


def check_user_properties(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """User properties to publish with (MQTT 5.0 §3.3.2.3.7: UTF-8 string pairs, in
    order, names may repeat).

    Raises:
        ValueError: a name that is empty, or a name or value that is no MQTT UTF-8
            string.
    """
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if not name:
            raise ValueError("user property: a name cannot be empty")
        _check_string(name, f"user property {name[:40]!r}")
        _check_string(value, f"user property {name[:40]!r}")
        out.append((name, value))
    return out


def parse_user_properties(text: str) -> list[tuple[str, str]]:
    """The user properties typed in one line: ``name=value`` pairs separated by
    ``;`` (``\\;`` and ``\\=`` for a literal ``;`` or ``=``, ``\\\\`` for ``\\``), blanks
    around names and values dropped; ``""`` gives none.

    Raises:
        ValueError: a pair without ``=``, an empty name, or no MQTT UTF-8 string
            (:func:`check_user_properties`).
    """
    pairs: list[tuple[str, str]] = []
    for raw in _split(text, ";"):
        if not raw.strip():
            continue
        parts = _split(raw, "=", 1)
        if len(parts) != 2:
            raise ValueError(f"user property {_unescape(raw).strip()!r}: write name=value")
        pairs.append((_unescape(parts[0]).strip(), _unescape(parts[1]).strip()))
    return check_user_properties(pairs)


def _split(text: str, separator: str, most: int = -1) -> list[str]:
    """``text`` split at ``separator`` not escaped by a backslash (escapes kept)."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char)
            current.append(next(chars, ""))
        elif char == separator and (most < 0 or len(parts) < most):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        out.append(next(chars, "") if char == "\\" else char)
    return "".join(out)


def format_user_properties(pairs: Sequence[tuple[str, str]]) -> str:
    """``pairs`` as the one line :func:`parse_user_properties` reads back."""

    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace("=", "\\=")

    return "; ".join(f"{escaped(name)}={escaped(value)}" for name, value in pairs)
