"""The fleet as the UI sees it: plain Python folded from bus events (no Textual).

* :mod:`console.fleet.model`: devices, values, the store status, :class:`Changes`;
* :mod:`console.fleet.values`: the bounded book of devices and latest values;
* :mod:`console.fleet.snmp`: SNMP events (statuses, polls, counter rates, the
  polling list, last-known values);
* :mod:`console.fleet.mqtt`: MQTT events (brokers, Astarte values, messages with
  byte-bounded payloads);
* :mod:`console.fleet.state`: :class:`FleetState`, which the bridge feeds and the
  screens read.

Imports go one way: model <- values <- snmp, mqtt <- state.
"""

from console.fleet.model import (
    CONNECTED,
    MQTT,
    ONLINE,
    STORED,
    Changes,
    DeviceState,
    MibStatus,
    ReceiverStatus,
    StoreStatus,
    ValueKey,
    ValueState,
)
from console.fleet.mqtt import (
    LINE_LIMIT,
    MESSAGE_TOPIC_LIMIT,
    PAYLOAD_BUDGET,
    TOPIC_LIMIT,
    VALUES_PER_DEVICE,
    BrokerInfo,
    MqttFold,
    MqttValueInfo,
    device_status,
    mqtt_address,
    mqtt_protocol,
    mqtt_reason,
    object_text,
)
from console.fleet.snmp import COUNTER_MODULI, SYS_UPTIME, SnmpFold, counter_rate
from console.fleet.state import FleetState
from console.fleet.values import FleetValues

__all__ = [
    "CONNECTED",
    "COUNTER_MODULI",
    "LINE_LIMIT",
    "MESSAGE_TOPIC_LIMIT",
    "MQTT",
    "ONLINE",
    "PAYLOAD_BUDGET",
    "STORED",
    "SYS_UPTIME",
    "TOPIC_LIMIT",
    "VALUES_PER_DEVICE",
    "BrokerInfo",
    "Changes",
    "DeviceState",
    "FleetState",
    "FleetValues",
    "MibStatus",
    "MqttFold",
    "MqttValueInfo",
    "ReceiverStatus",
    "SnmpFold",
    "StoreStatus",
    "ValueKey",
    "ValueState",
    "counter_rate",
    "device_status",
    "mqtt_address",
    "mqtt_protocol",
    "mqtt_reason",
    "object_text",
]
