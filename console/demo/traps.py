"""Demo notifications: the simulated devices send SNMPv2c traps to fleettop's receiver.

:class:`DemoTrapSender` watches the demo models' clocks (twice a second) and, from
each agent's own UDP socket (:meth:`SnmpAgent.send`, so the receiver attributes the
trap to the device polling that ``host:port``), sends:

* ``coldStart`` (SNMPv2-MIB, RFC 3418) from every device when it starts sending;
* ``linkDown`` / ``linkUp`` (IF-MIB, RFC 2863: 1.3.6.1.6.3.1.1.5.3 / .4, with
  ``ifIndex``, ``ifAdminStatus``, ``ifOperStatus``) whenever an interface's
  ``ifOperStatus`` changes - the access point's 5 GHz radio flaps for 5 s every 45 s;
* ``upsTrapOnBattery`` (UPS-MIB, RFC 1628: 1.3.6.1.2.1.33.2.1, with
  ``upsEstimatedMinutesRemaining``, ``upsSecondsOnBattery``,
  ``upsConfigLowBattTime``) when the UPS rides through a short mains dip, and
  ``upsTrapAlarmEntryRemoved`` (1.3.6.1.2.1.33.2.4, ``upsAlarmId``,
  ``upsAlarmDescr`` = ``upsAlarmOnBattery``) when mains power returns. The dip is
  notification-only: the polled UPS values stay on line power.

Nothing is sent by a device in an outage (a silent agent). Datagrams are built with
pysnmp's protocol API (:func:`v2c_trap`), as SNMPv2-Trap-PDUs (RFC 3416 §4.2.6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.codec.ber import encoder
from pysnmp.proto.api import v2c

from console.demo.agent import SnmpAgent
from console.demo.models import IF_ENTRY, ObjectSpec, Oid, SnmpValue
from console.demo.signals import Window
from console.lifecycle import ClosesOnce
from console.secrets import Secret

__all__ = [
    "COLD_START",
    "LINK_DOWN",
    "LINK_UP",
    "POWER_DIPS",
    "TRAP_COMMUNITY",
    "UPS_DEVICE",
    "UPS_TRAP_ALARM_ENTRY_REMOVED",
    "UPS_TRAP_ON_BATTERY",
    "DemoTrapSender",
    "v2c_trap",
]

mlog = logging.getLogger(__name__)

#: The community the demo devices send their traps with (and the demo receiver accepts).
TRAP_COMMUNITY: Final = Secret("public")
#: The device that has mains dips.
UPS_DEVICE: Final = "ups-1"
#: The UPS's mains dips: 10 s on battery every 120 s, the first 30 s after start.
POWER_DIPS: Final = Window(120.0, 10.0, offset=80.0)

_SYS_UPTIME_0: Final[Oid] = (1, 3, 6, 1, 2, 1, 1, 3, 0)
_SNMP_TRAP_OID_0: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
COLD_START: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 5, 1)
LINK_DOWN: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)
LINK_UP: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 5, 4)
UPS_TRAP_ON_BATTERY: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 2, 1)
UPS_TRAP_ALARM_ENTRY_REMOVED: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 2, 4)
_UPS_BATTERY: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 1, 2)
_UPS_ESTIMATED_MINUTES: Final[Oid] = (*_UPS_BATTERY, 3, 0)
_UPS_SECONDS_ON_BATTERY: Final[Oid] = (*_UPS_BATTERY, 2, 0)
_UPS_CONFIG_LOW_BATT_TIME: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 1, 9, 7, 0)
_UPS_ALARM_ENTRY: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 1, 6, 2, 1)
_UPS_ALARM_ON_BATTERY: Final[Oid] = (1, 3, 6, 1, 2, 1, 33, 1, 6, 3, 2)
_IF_ADMIN_STATUS: Final[Oid] = (*IF_ENTRY, 7)
_IF_OPER_STATUS: Final[Oid] = (*IF_ENTRY, 8)
_LOW_BATTERY_MINUTES: Final = 2  # upsConfigLowBattTime


def v2c_trap(
    community: Secret,
    trap_oid: Oid,
    uptime: int,
    var_binds: Sequence[tuple[Oid, Any]] = (),
    *,
    inform: bool = False,
    request_id: int = 0,
) -> bytes:
    """Encode an SNMPv2c SNMPv2-Trap-PDU (or InformRequest-PDU) message.

    Args:
        community: the community string (revealed into the datagram only).
        trap_oid: ``snmpTrapOID.0``.
        uptime: ``sysUpTime.0`` in TimeTicks (1/100 s), 0..2^32-1.
        var_binds: the other var-binds: ``(oid, pysnmp value)`` pairs.
        inform: build an InformRequest-PDU instead.
        request_id: the PDU's request-id.

    Returns:
        The BER-encoded message, ready for ``sendto``.
    """
    pdu = v2c.InformRequestPDU() if inform else v2c.SNMPv2TrapPDU()
    v2c.apiTrapPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(
        pdu,
        [
            (_SYS_UPTIME_0, v2c.TimeTicks(uptime & 0xFFFFFFFF)),
            (_SNMP_TRAP_OID_0, v2c.ObjectIdentifier(trap_oid)),
            *var_binds,
        ],
    )
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community.reveal())
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def _int(value: SnmpValue) -> int:
    """A model value known to be an INTEGER."""
    if not isinstance(value, int):
        raise TypeError(f"expected an INTEGER value, got {value!r}")
    return value


@dataclass(slots=True)
class _Link:
    """One interface whose ifOperStatus is watched."""

    agent: SnmpAgent
    index: int
    admin: ObjectSpec | None
    oper: ObjectSpec
    status: int


class DemoTrapSender(ClosesOnce):
    """Send the demo devices' notifications to a receiver (see the module docstring).

    Args:
        agents: the demo agents (started); each sends from its own socket.
        target: ``(host, port)`` of the trap receiver.
        community: the community the traps carry.
        interval: seconds between two looks at the models' clocks.
        power_dips: the UPS's mains dips (seconds since its agent started).

    Attributes:
        sent: notifications handed to a socket so far.

    Usage::

        sender = DemoTrapSender(agents, receiver.address)
        await sender.start()     # coldStart from each device, then watches
        await sender.aclose()
    """

    def __init__(
        self,
        agents: Sequence[SnmpAgent],
        target: tuple[str, int],
        *,
        community: Secret = TRAP_COMMUNITY,
        interval: float = 0.5,
        power_dips: Window = POWER_DIPS,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._agents = tuple(agents)
        self._target = target
        self._community = community
        self._interval = interval
        self._power_dips = power_dips
        self._links: list[_Link] = []
        self._ups = next((a for a in self._agents if a.name == UPS_DEVICE), None)
        self._on_battery = False
        self._started = False
        self.sent = 0

    @property
    def target(self) -> tuple[str, int]:
        """``(host, port)`` the traps go to."""
        return self._target

    async def start(self) -> None:
        """Send ``coldStart`` from every device and start watching.

        Raises:
            RuntimeError: started twice.
        """
        if self._started or self.closing:
            raise RuntimeError("the demo trap sender was already started")
        self._started = True
        for agent in self._agents:
            self._send(agent, COLD_START)
            self._links += self._watch(agent)
        if self._ups is not None:
            self._on_battery = self._power_dips.is_off(self._ups.elapsed())
        self.spawn(self._run(), name="demo-traps")

    @staticmethod
    def _watch(agent: SnmpAgent) -> list[_Link]:
        specs = {spec.oid: spec for spec in agent.model.objects}
        links = []
        for spec in agent.model.objects:
            if spec.node == _IF_OPER_STATUS:
                index = spec.index[0]
                admin = specs.get((*_IF_ADMIN_STATUS, index))
                status = _int(spec.source(agent.elapsed()))
                links.append(_Link(agent, index, admin, spec, status))
        return links

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self._tick()
            except Exception:  # a demo must not die of its own bug
                mlog.exception("demo traps failed")

    def _tick(self) -> None:
        for link in self._links:
            t = link.agent.elapsed()
            status = _int(link.oper.source(t))
            if status == link.status:
                continue
            link.status = status
            admin = _int(link.admin.source(t)) if link.admin else 1
            self._send(
                link.agent,
                LINK_UP if status == 1 else LINK_DOWN,
                [
                    ((*IF_ENTRY, 1, link.index), v2c.Integer32(link.index)),
                    ((*_IF_ADMIN_STATUS, link.index), v2c.Integer32(admin)),
                    ((*_IF_OPER_STATUS, link.index), v2c.Integer32(status)),
                ],
            )
        if self._ups is not None:
            on_battery = self._power_dips.is_off(self._ups.elapsed())
            if on_battery != self._on_battery:
                self._on_battery = on_battery
                self._send(self._ups, *self._ups_notification(on_battery))

    def _ups_notification(self, on_battery: bool) -> tuple[Oid, list[tuple[Oid, Any]]]:
        if not on_battery:
            alarm = 1
            return UPS_TRAP_ALARM_ENTRY_REMOVED, [
                ((*_UPS_ALARM_ENTRY, 1, alarm), v2c.Integer32(alarm)),
                ((*_UPS_ALARM_ENTRY, 2, alarm), v2c.ObjectIdentifier(_UPS_ALARM_ON_BATTERY)),
            ]
        assert self._ups is not None
        minutes = 25
        for spec in self._ups.model.objects:
            if spec.oid == _UPS_ESTIMATED_MINUTES:
                minutes = _int(spec.source(self._ups.elapsed()))
        return UPS_TRAP_ON_BATTERY, [
            (_UPS_ESTIMATED_MINUTES, v2c.Integer32(minutes)),
            (_UPS_SECONDS_ON_BATTERY, v2c.Integer32(1)),
            (_UPS_CONFIG_LOW_BATT_TIME, v2c.Integer32(_LOW_BATTERY_MINUTES)),
        ]

    def _send(
        self, agent: SnmpAgent, trap_oid: Oid, var_binds: Sequence[tuple[Oid, Any]] = ()
    ) -> None:
        uptime = int(agent.elapsed() * 100)
        datagram = v2c_trap(self._community, trap_oid, uptime, var_binds)
        if agent.send(datagram, self._target):
            self.sent += 1

    async def _close(self) -> None:
        """Stop watching (the watch task is cancelled by :meth:`aclose`)."""
