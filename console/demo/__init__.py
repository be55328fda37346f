"""The embedded demo: simulated SNMP devices for ``fleettop demo``.

``DemoFleet`` starts three in-process pysnmp agents on free loopback UDP ports - a
core switch, an access point that goes silent periodically, and a UPS - and builds
the :class:`~console.config.Config` that polls them. Modules:

* :mod:`console.demo.signals` - clock-driven counters, gauges and on/off windows;
* :mod:`console.demo.models` - the devices' managed objects, as data;
* :mod:`console.demo.agent` - one pysnmp command responder per device;
* :mod:`console.demo.fleet` - the fleet and its configuration;
* :mod:`console.demo.mqtt` - an in-process amqtt broker and simulated Astarte-style
  devices (``DemoFleet(mqtt=True)``, as ``fleettop demo`` runs it);
* :mod:`console.demo.traps` - the devices' notifications (coldStart, linkDown/linkUp,
  UPS on battery), sent to the runtime's trap receiver.
"""

from console.demo.fleet import (
    OUTAGE_DEVICE,
    READ_COMMUNITY,
    WRITE_COMMUNITY,
    AgentInfo,
    DemoFleet,
    demo_config,
)
from console.demo.traps import TRAP_COMMUNITY, DemoTrapSender

__all__ = [
    "OUTAGE_DEVICE",
    "READ_COMMUNITY",
    "TRAP_COMMUNITY",
    "WRITE_COMMUNITY",
    "AgentInfo",
    "DemoFleet",
    "DemoTrapSender",
    "demo_config",
]
