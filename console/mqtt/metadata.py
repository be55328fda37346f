"""MQTT 5 PUBLISH properties (MQTT 5.0 §3.3.2.3) as lines for a detail pane.

A message event carries them as ``properties`` (``docs/events.md``, made by
:func:`console.mqtt.paho_adapter.publish_properties`): ``ContentType``,
``PayloadFormatIndicator`` (0 unspecified bytes, 1 UTF-8), ``UserProperty`` as
``[[name, value], ...]`` (order kept, names may repeat), ``ResponseTopic``,
``CorrelationData`` (hex), ``MessageExpiryInterval`` (seconds left when the broker
sent it), ``TopicAlias`` and ``SubscriptionIdentifier``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from console.format import printable

__all__ = ["PROPERTY_LABELS", "metadata_lines"]

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
