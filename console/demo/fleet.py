"""The embedded demo fleet behind ``fleettop demo``: three simulated SNMP devices on
loopback and the configuration that watches them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import yaml

from console.config import Config, TrapsConfig, parse_config
from console.demo.agent import SnmpAgent
from console.demo.models import DeviceModel, demo_models
from console.demo.signals import Window
from console.demo.traps import TRAP_COMMUNITY, DemoTrapSender
from console.lifecycle import ClosesOnce

if TYPE_CHECKING:
    from console.demo.mqtt import DemoMqtt
from console.secrets import Secret

__all__ = [
    "OUTAGE_DEVICE",
    "READ_COMMUNITY",
    "WRITE_COMMUNITY",
    "AgentInfo",
    "DemoFleet",
    "demo_config",
    "device_document",
]

mlog = logging.getLogger(__name__)

#: The community the demo configuration polls with (read-only).
READ_COMMUNITY: Final = Secret("public")
#: The community that may SET sysContact, sysName and sysLocation.
WRITE_COMMUNITY: Final = Secret("private")
#: The device that goes silent periodically.
OUTAGE_DEVICE: Final = "ap-lobby"

_SOURCE = "<fleettop demo>"


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A snapshot of one demo agent.

    Attributes:
        name: the device name (also its ``DeviceConfig.name``).
        host: the IPv4 address it is bound to.
        port: its UDP port.
        running: True when it answers requests right now (False during an outage
            and after :meth:`DemoFleet.aclose`).
    """

    name: str
    host: str
    port: int
    running: bool


def device_document(model: DeviceModel, host: str, port: int) -> dict[str, Any]:
    """Return the configuration entry (the YAML mapping of one ``devices:`` item) that
    polls ``model`` served at ``host:port``.

    SNMPv2c with the read community for polling and the write community for operator
    SETs (sysContact, sysName, sysLocation are writable); a 1 s polling delay so the
    screen moves, a 0.5 s request timeout with one retry, and a 2 s reconnect delay
    so an outage shows as DISCONNECTED -> CONNECTED within seconds. Raw-byte strings
    (ifPhysAddress) are listed in ``string_hex_oids``. Contains the community in clear:
    never log it.
    """
    return {
        "name": model.name,
        "snmp": {
            "remote_host": host,
            "remote_port": port,
            "version": "V2C",
            "community": READ_COMMUNITY.reveal(),
            "write_community": WRITE_COMMUNITY.reveal(),
            "polling_oids": list(model.polling_oids),
            "string_hex_oids": sorted(model.binary_string_oids),
            "connect_delay": 2.0,
            "request_timeout": 0.5,
            "request_retry_count": 1,
            "request_retry_delay": 0.2,
            "polling_delay": 1.0,
        },
    }


def demo_alarms_document(*, mqtt: bool) -> dict[str, Any]:
    """The demo's ``alarms:`` and ``monitors:``: the access point's radio flaps
    (linkDown cleared by the linkUp of the same ``ifIndex``, RFC 2863), the UPS rides
    mains dips (``upsTrapOnBattery`` cleared by ``upsTrapAlarmEntryRemoved``, RFC
    1628), and, with MQTT, the Astarte devices' room temperature above 21.5 °C
    (0.3 °C deadband); a ``traps`` monitor batches every trap (20 per batch, or
    every 2 s)."""
    rules: list[dict[str, Any]] = [
        {
            "name": "link-down",
            "trap": "IF-MIB::linkDown",
            "clear_trap": "IF-MIB::linkUp",
            "index": "IF-MIB::ifIndex",
            "severity": "error",
        },
        {
            "name": "on-battery",
            "trap": "1.3.6.1.2.1.33.2.1",
            "clear_trap": "1.3.6.1.2.1.33.2.4",
            "severity": "critical",
            "message": "the UPS is on battery",
        },
    ]
    monitors: list[dict[str, Any]] = [
        {"name": "traps", "events": ["snmp/?/trap/*"], "batch_size": 20, "batch_duration": 2.0}
    ]
    if mqtt:
        rules.append(
            {
                "name": "room-hot",
                "interface": "org.astarte-platform.genericsensors.Values",
                "path": "/room/value",
                "above": 21.5,
                "deadband": 0.3,
                "severity": "warning",
            }
        )
        monitors.append(
            {"name": "sensor-7", "topics": ["site/sensor-7/#"], "batch_size": 10,
             "batch_duration": 5.0}
        )  # fmt: skip
    return {"alarms": {"rules": rules}, "monitors": monitors}


def demo_config(
    devices: Iterable[tuple[DeviceModel, str, int]],
    *,
    host: str = "127.0.0.1",
    mqtt_port: int | None = None,
) -> Config:
    """Return the validated configuration polling each ``(model, host, port)``, with a
    trap receiver on ``host``.

    The ``devices:`` document goes through :func:`console.config.parse_config`, so
    the demo obeys the same schema and cross-checks as a user's file. The ``traps:``
    section is set on the result (``dataclasses.replace``) because it listens on port
    0 (a free port, chosen when it binds), which a configuration file may not ask
    for: a receiver on ``host``, accepting :data:`~console.demo.traps.TRAP_COMMUNITY`.

    With ``mqtt_port``, the configuration also watches the demo MQTT broker on that
    port (:func:`console.demo.mqtt.demo_mqtt_document`): its devices are discovered
    from their topics, so ``devices`` stays the SNMP agents; ``interfaces_dir`` is
    the bundled Astarte interfaces.

    Raises:
        console.config.ConfigError: the generated document is invalid (a bug).
    """
    document: dict[str, Any] = {"devices": [device_document(*device) for device in devices]}
    if mqtt_port is not None:
        from console.demo.mqtt import INTERFACES_DIR, demo_mqtt_document

        document["brokers"] = [demo_mqtt_document(mqtt_port)]
        document["interfaces_dir"] = str(INTERFACES_DIR)
    document.update(demo_alarms_document(mqtt=mqtt_port is not None))
    # libyaml's dumper (as the loader): PyYAML's own took ~30 ms of the demo's start
    text = yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False)
    config = parse_config(text, source=_SOURCE, environ={})
    traps = TrapsConfig(listen_host=host, listen_port=0, communities=(TRAP_COMMUNITY,))
    return dataclasses.replace(config, traps=traps)


class DemoFleet(ClosesOnce):
    """Simulated SNMP devices on loopback: a core switch (``core-sw1``), an access point
    (``ap-lobby``) and a UPS (``ups-1``), each a pysnmp agent on a free UDP port.

    Every ``outage_period`` seconds the access point stops answering for
    ``outage_duration`` seconds (its first outage starts ``outage_period -
    outage_duration`` seconds after :meth:`start`), so the console shows it go
    DISCONNECTED (through the device's reconnection tries), then CONNECTED again.

    Args:
        host: the IPv4 address the agents bind (and the configuration points at).
        outage_period: the access point's outage cycle, in seconds (> 0).
        outage_duration: how long each outage lasts, in seconds (``0 <= duration <
            period``; 0 disables outages).
        seed: seeds counter offsets, MAC addresses and wander; ``None`` varies per run.
        mqtt: also run the demo MQTT broker (amqtt, in-process) and its simulated
            Astarte-style devices (:mod:`console.demo.mqtt`), and watch them.

    Attributes:
        host: as given.
        outage: the access point's outage schedule (seconds since its agent started).

    Raises:
        ValueError: an outage period or duration out of range.

    Usage::

        fleet = DemoFleet()
        await fleet.start()        # inside the running loop
        runtime_config = fleet.config
        await fleet.aclose()

    or ``async with DemoFleet() as fleet: ...``. A runtime that polls each device as
    soon as its agent answers starts in steps instead: :meth:`bind` (every socket
    and the configuration, at once), then :meth:`start_agent` for each device and
    :meth:`start_mqtt`, in any order.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        outage_period: float = 60.0,
        outage_duration: float = 8.0,
        seed: int | None = None,
        mqtt: bool = False,
    ) -> None:
        self.host = host
        self._mqtt_enabled = mqtt
        self.mqtt: DemoMqtt | None = None
        """The demo MQTT broker and devices, once started (``mqtt=True`` only)."""
        self.outage = Window(outage_period, outage_duration)
        rng = random.Random(seed)
        self._agents = tuple(
            SnmpAgent(
                model,
                host=host,
                read_community=READ_COMMUNITY,
                write_community=WRITE_COMMUNITY,
                silent=self.outage.is_off if model.name == OUTAGE_DEVICE else None,
            )
            for model in demo_models(rng)
        )
        self._config: Config | None = None
        self._started = False
        self._trap_sender: DemoTrapSender | None = None

    @property
    def config(self) -> Config:
        """One SNMPv2c device per agent (see :func:`device_document`), validated by
        :func:`console.config.parse_config`, and a trap receiver (see
        :func:`demo_config`).

        Raises:
            RuntimeError: before :meth:`bind` (or :meth:`start`).
        """
        if self._config is None:
            raise RuntimeError("the demo configuration exists once the fleet has started")
        return self._config

    @property
    def models(self) -> tuple[DeviceModel, ...]:
        """What each agent serves, in agent order."""
        return tuple(agent.model for agent in self._agents)

    @property
    def agents(self) -> tuple[AgentInfo, ...]:
        """A snapshot of every agent; ports are 0 before :meth:`start`."""
        return tuple(
            AgentInfo(
                agent.name,
                agent.host,
                agent.port if self._config is not None else 0,
                agent.running,
            )
            for agent in self._agents
        )

    def agent(self, name: str) -> AgentInfo:
        """A snapshot of the agent called ``name``.

        Raises:
            KeyError: no such agent.
        """
        for info in self.agents:
            if info.name == name:
                return info
        raise KeyError(name)

    def bind(self) -> Config:
        """Bind every agent's UDP socket and choose the broker's port (``mqtt=True``),
        without answering yet, and build :attr:`config`: a runtime can point its
        pollers at the agents before they answer (:meth:`start_agent`). Idempotent.

        Returns:
            :attr:`config`.

        Raises:
            RuntimeError: after :meth:`aclose`.
            OSError: a socket could not be bound (:meth:`aclose` closes those that
                were).
        """
        if self._closing is not None:
            raise RuntimeError("the demo fleet is closed")
        if self._config is None:
            for agent in self._agents:
                agent.bind()
            if self._mqtt_enabled:
                from console.demo.mqtt import DemoMqtt

                self.mqtt = DemoMqtt(host=self.host)
                self.mqtt.choose_port()
            self._config = demo_config(
                ((agent.model, self.host, agent.port) for agent in self._agents),
                host=self.host,
                mqtt_port=None if self.mqtt is None else self.mqtt.port,
            )
        return self._config

    async def start_agent(self, name: str) -> None:
        """Start answering as device ``name`` (:meth:`bind` first, if not done).

        Raises:
            KeyError: no such agent.
            RuntimeError: that agent was already started, or the fleet is closed.
            OSError: its socket could not be bound.
        """
        self.bind()
        agent = next((agent for agent in self._agents if agent.name == name), None)
        if agent is None:
            raise KeyError(name)
        await agent.start()

    async def start_mqtt(self) -> None:
        """Start the demo MQTT broker and its devices (``mqtt=True``; nothing
        otherwise); :meth:`bind` first, if not done.

        Raises:
            RuntimeError: the fleet is closed.
            OSError, amqtt.errors.BrokerError: the broker could not listen.
        """
        self.bind()
        if self.mqtt is not None:
            await self.mqtt.start()

    async def start(self) -> None:
        """Start every agent (and the MQTT broker, ``mqtt=True``) in the running loop
        and build :attr:`config`.

        Raises:
            RuntimeError: started twice, or after :meth:`aclose`.
            OSError: a socket could not be bound (agents already started are closed).
        """
        if self._started or self._closing is not None:
            raise RuntimeError("the demo fleet was already started")
        try:
            self.bind()
            for agent in self._agents:
                await agent.start()
            await self.start_mqtt()
        except BaseException:
            await self.aclose()
            raise
        self._started = True

    async def start_traps(self, target: tuple[str, int]) -> DemoTrapSender:
        """Start sending the devices' notifications (coldStart, linkDown/linkUp, UPS
        on battery: see :mod:`console.demo.traps`) to the receiver at ``target``.

        Returns:
            The sender (its ``sent`` counts the notifications sent).

        Raises:
            RuntimeError: before :meth:`bind` (or :meth:`start`), after :meth:`aclose`,
                or twice.
        """
        if self._config is None or self._closing is not None or self._trap_sender is not None:
            raise RuntimeError("demo traps start once, on a started fleet")
        self._trap_sender = DemoTrapSender(self._agents, target)
        await self._trap_sender.start()
        return self._trap_sender

    async def _close(self) -> None:
        """Stop every agent and close its socket."""
        if self._trap_sender is not None:
            await self._trap_sender.aclose()
        if self.mqtt is not None:
            await self.mqtt.aclose()
        results = await asyncio.gather(
            *(agent.aclose() for agent in self._agents), return_exceptions=True
        )
        for agent, result in zip(self._agents, results, strict=True):
            if isinstance(result, Exception):
                mlog.warning("closing demo agent %s failed: %r", agent.name, result)

    async def __aenter__(self) -> DemoFleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
