"""fleettop configuration: YAML -> schema validation -> frozen dataclasses.

The file is checked completely before anything starts, and every problem is reported
in one pass, each as ``file:line: field: message`` (``file: message`` when no line
applies); :func:`check_config` never raises for a bad file. The stages, one module
each:

1. :mod:`~console.config.source`: the text is parsed (libyaml events) into plain data
   keeping the line of every key and value; duplicate keys, unknown tags, non-finite
   numbers, control characters, nesting deeper than 64 levels and alias bombs are
   problems;
2. :mod:`~console.config.source`: ``${ENV_VAR}`` references inside string values are
   substituted (``$${`` is a literal ``${``); a variable that is not set is a problem;
3. :mod:`~console.config.schema`: the data is validated against
   ``console/schemas/config.yaml`` (JSON Schema 2020-12, fleettop's formats in
   :mod:`~console.config.formats`); :mod:`~console.config.messages` words each error
   at the line of the offending key or value;
4. :mod:`~console.config.checks`: what the schema cannot express (unique names,
   duplicate OIDs, files and directories that exist, alarm rule sources, ``ui.keymap``
   binding ids...);
5. :mod:`~console.config.convert`: only when there is no problem, the frozen
   dataclasses of :mod:`~console.config.model` are built (msgspec, declared once).

:mod:`~console.config.load` holds the entry points, :mod:`~console.config.errors` the
exceptions. SNMP field names follow hat-gateway's SNMP manager device schema; SNMPv3
follows RFC 3414, RFC 3826 and RFC 7860. Credentials become
:class:`~console.secrets.Secret` and never appear in problems, logs or reprs.
``docs/configuration.md`` is the operator reference.
"""

from __future__ import annotations

from console.config.errors import ConfigError, Problem
from console.config.formats import check_snmp_object
from console.config.load import check_config, load_config, parse_config
from console.config.model import (
    MQTT_PROTOCOLS,
    RESERVED_NAME_PREFIX,
    SEVERITY_NAMES,
    SNMP_VERSIONS,
    AlarmRule,
    AlarmsConfig,
    AstarteDeviceConfig,
    AuthProtocol,
    BrokerConfig,
    BrokerTls,
    Config,
    DeviceConfig,
    DeviceRule,
    JsonFields,
    MonitorConfig,
    MonitorPolicy,
    MqttDeviceConfig,
    MqttProtocol,
    MqttSubscription,
    MqttTransport,
    NotificationsConfig,
    PayloadRule,
    PrivProtocol,
    ReconnectConfig,
    RecordConfig,
    RetentionConfig,
    RuleStatus,
    SeverityName,
    SnmpAuthentication,
    SnmpContext,
    SnmpDeviceConfig,
    SnmpPrivacy,
    SnmpVersion,
    StoreConfig,
    TrapsConfig,
    TrapUser,
    UiConfig,
)
from console.config.schema import config_schema
from console.events import event_pattern, topic_pattern
from console.oid import normalize_oid

# The names other modules import from `console.config` (contract 2: a module that
# became a package re-exports them); repeated from the submodules' `__all__` on purpose,
# so that mypy --strict and readers see the public face in one place.
__all__ = [
    "MQTT_PROTOCOLS",
    "RESERVED_NAME_PREFIX",
    "SEVERITY_NAMES",
    "SNMP_VERSIONS",
    "AlarmRule",
    "AlarmsConfig",
    "AstarteDeviceConfig",
    "AuthProtocol",
    "BrokerConfig",
    "BrokerTls",
    "Config",
    "ConfigError",
    "DeviceConfig",
    "DeviceRule",
    "JsonFields",
    "MonitorConfig",
    "MonitorPolicy",
    "MqttDeviceConfig",
    "MqttProtocol",
    "MqttSubscription",
    "MqttTransport",
    "NotificationsConfig",
    "PayloadRule",
    "PrivProtocol",
    "Problem",
    "ReconnectConfig",
    "RecordConfig",
    "RetentionConfig",
    "RuleStatus",
    "SeverityName",
    "SnmpAuthentication",
    "SnmpContext",
    "SnmpDeviceConfig",
    "SnmpPrivacy",
    "SnmpVersion",
    "StoreConfig",
    "TrapUser",
    "TrapsConfig",
    "UiConfig",
    "check_config",
    "check_snmp_object",
    "config_schema",
    "event_pattern",
    "load_config",
    "normalize_oid",
    "parse_config",
    "topic_pattern",
]
