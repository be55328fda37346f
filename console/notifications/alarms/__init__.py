"""Alarms: conditions an operator must acknowledge, raised from bus events.

* :mod:`console.notifications.alarms.record`: :class:`Alarm` (one alarm in its
  ISA-18.2 state), :class:`AlarmStore` (where alarms persist), the event head and
  the built-in rule names;
* :mod:`console.notifications.alarms.rules`: ``alarms.rules`` compiled for matching
  (SNMP objects resolved through the MIBs, values read as numbers);
* :mod:`console.notifications.alarms.book`: :class:`AlarmBook`, the open alarms,
  raised and cleared from bus events, acknowledged by operators.

The names importers used when this was one module are re-exported here.
"""

from console.notifications.alarms.book import ACK_ACTION, DEFAULT_MAX_OPEN, AckAuditor, AlarmBook
from console.notifications.alarms.record import (
    ALARM_EVENT,
    RULE_DISCONNECTED,
    RULE_OFFLINE,
    RULE_TRAP,
    Alarm,
    AlarmStore,
)

__all__ = [
    "ACK_ACTION",
    "ALARM_EVENT",
    "DEFAULT_MAX_OPEN",
    "RULE_DISCONNECTED",
    "RULE_OFFLINE",
    "RULE_TRAP",
    "AckAuditor",
    "Alarm",
    "AlarmBook",
    "AlarmStore",
]
