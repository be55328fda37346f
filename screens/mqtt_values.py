"""Detail lines of MQTT devices and values (the Devices and values screens)."""

from __future__ import annotations

import json

from textual.content import Content

from console.config import DeviceConfig
from console.fleet import DeviceState, MqttFold, ValueState, mqtt_address, mqtt_reason
from console.format import MISSING, Clock, format_count, format_counter_rate, printable
from console.mqtt.metadata import metadata_lines

__all__ = ["DETAIL_LINES", "mqtt_detail", "mqtt_value_detail"]

DETAIL_LINES = 400
"""The detail panel shows at most this many lines of a payload (then says so)."""

_STATUS_STYLES = {
    "ONLINE": "$success",
    "UNKNOWN": "$warning",
    "OFFLINE": "$error",
    "CONNECTED": "$success",
    "CONNECTING": "$warning",
    "DISCONNECTED": "$error",
}


def mqtt_detail(
    state: DeviceState, config: DeviceConfig | None, clock: Clock, mqtt: MqttFold | None
) -> Content:
    """The detail line of a device with MQTT: broker and address, status with its
    reason and since when, messages, rate and last seen (never a password); the
    SNMP status too for a device with both protocols."""
    status = state.mqtt_status or MISSING
    snmp = ""
    if config is not None and config.snmp is not None:
        snmp = f"  [$text-muted]│[/] SNMP {state.status or MISSING}"
    reason = mqtt_reason(state, mqtt)
    return Content.from_markup(
        "[b]$name[/]  MQTT $broker $address  [b $style]$status[/] since $since"
        "  [$text-muted]│[/] reason: $reason  [$text-muted]│[/] $messages messages, $rate,"
        f" last seen $seen{snmp}",
        name=state.name,
        broker=state.broker or MISSING,
        address=mqtt_address(state, mqtt) or MISSING,
        style=_STATUS_STYLES.get(status, "$text-muted"),
        status=status,
        since=clock.time_of_day(state.mqtt_since),
        reason=printable(reason) if reason else MISSING,
        messages=format_count(state.messages),
        rate=format_counter_rate(state.msg_rate or 0.0, compact=False),
        seen=clock.time_of_day(state.last_seen),
    )


def mqtt_value_detail(value: ValueState, mqtt: MqttFold, clock: Clock) -> Content:
    """The detail panel of one MQTT value: where it comes from (broker, topic,
    interface, ownership), validity, rate and times, then the whole value: an
    Astarte value as pretty JSON, a message's payload decoded with the display
    limit (with the visible truncation line)."""
    info = mqtt.info.get(value.key)
    if info is None:
        return Content("")
    if info.payload is not None:
        decoded = mqtt.payload(value.key)
        body = decoded.text if decoded is not None else ""
        if decoded is not None and decoded.base64 is not None:
            body = f"{body}\n\nbase64:\n{decoded.base64}"
        mqtt5 = metadata_lines(info.properties)
        if mqtt5:
            body = "\n".join([*mqtt5, body])
        fmt = f"{decoded.format}, {format_count(decoded.size)} bytes" if decoded else MISSING
    elif info.interface is None and info.path is not None:  # a JSON field
        body = json.dumps(value.value, indent=2, ensure_ascii=False)
        fmt = f"{value.data_type}, field {info.path} of the JSON payload"
        if info.entity is not None:
            unit = f" {info.unit}" if info.unit else ""
            fmt = f"{value.data_type}{unit}, Home Assistant entity {info.entity}"
    elif info.interface is None and info.ownership is not None:  # a Sparkplug metric
        body = json.dumps(value.value, indent=2, ensure_ascii=False)
        fmt = f"Sparkplug B {value.data_type}"
    else:
        body = json.dumps(value.value, indent=2, ensure_ascii=False)
        fmt = f"{value.data_type}, {info.ownership or '?'}-owned, {info.aggregation or '?'}"
    lines = body.splitlines()
    if len(lines) > DETAIL_LINES:
        shown = [*lines[:DETAIL_LINES], f"… {len(lines) - DETAIL_LINES:,} more lines"]
        last = lines[-1]
        if last.startswith("… truncated:"):
            shown.append(last)
        body = "\n".join(shown)
    validity = "" if info.valid else "  [b $error]invalid: $why[/]"
    return Content.from_markup(
        "[b]$device[/]  $path  [$accent]$topic[/]  $fmt  $cause  rate $rate"
        f"  first seen $first  changed $changed ($changes changes){validity}\n$body",
        device=value.device,
        path=value.oid,
        topic=f"{info.broker}: {info.topic}",
        fmt=fmt,
        cause=value.cause,
        rate=format_counter_rate(value.rate, compact=False),
        first=clock.time_of_day(value.first_seen),
        changed=clock.time_of_day(value.last_change),
        changes=format_count(value.changes),
        body=body,
        why=info.error or "?",
    )
