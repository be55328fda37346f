"""The runtime: everything fleettop runs, without the UI.

:class:`Runtime` owns the event manager, the optional embedded demo (simulated agents
on loopback), the SNMP trap receiver (when the configuration has ``traps:``) and one
backend resource per configured device. The Textual app, the headless printer and
the tests all drive fleettop through it, so the core stays usable without a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from console.config import Config
from console.events import EventManager
from console.logbus import BusLogHandler

if TYPE_CHECKING:
    from console.demo import DemoFleet
    from console.snmp.manager import SnmpDevice
    from console.snmp.mib import MibResolver
    from console.snmp.traps import TrapReceiver

__all__ = ["Runtime"]

mlog = logging.getLogger(__name__)


class Runtime:
    """The bus, the demo agents (optional), the trap receiver (optional) and the
    device backends, started and closed together.

    Args:
        config: the validated configuration; with ``demo=True`` it may be ``None``,
            and the demo's generated configuration is used.
        demo: start the embedded demo agents first (``fleettop demo``).

    Warnings and errors logged under the ``console`` logger are published on the bus
    as ``("log", LEVEL)`` events while the runtime lives.

    With ``config.traps``, a :class:`~console.snmp.traps.TrapReceiver` starts after
    the bus (and the demo agents), before the devices; notifications are attributed
    to the configured devices by sender address
    (:func:`~console.snmp.traps.device_senders`), and the demo devices send theirs
    to it. A receiver that cannot bind its port is logged as an error and left out
    (``trap_receiver`` stays ``None``): the rest of the fleet still runs.

    Usage::

        runtime = Runtime(config)
        await runtime.start()       # inside the running loop
        runtime.bus.subscribe(...)
        await runtime.aclose()      # closes devices, demo agents, then the bus
    """

    def __init__(self, config: Config | None = None, *, demo: bool = False) -> None:
        if config is None and not demo:
            raise ValueError("a configuration is required unless demo=True")
        self._config = config
        self._demo_enabled = demo
        self._bus: EventManager | None = None
        self.demo: DemoFleet | None = None
        self.snmp_devices: dict[str, SnmpDevice] = {}
        self.trap_receiver: TrapReceiver | None = None
        """The trap and inform receiver, once started (``config.traps`` only)."""
        self.mib: MibResolver | None = None
        """The MIB names the trap receiver uses (created with it)."""
        self._started = False
        self._closing: asyncio.Task[None] | None = None
        self._log_handler: BusLogHandler | None = None

    @property
    def bus(self) -> EventManager:
        """The event manager; available once :meth:`start` has run.

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._bus is None:
            raise RuntimeError("the runtime has not started")
        return self._bus

    @property
    def config(self) -> Config:
        """The configuration in force (the demo's once a demo runtime has started).

        Raises:
            RuntimeError: a demo runtime before :meth:`start`.
        """
        if self._config is None:
            raise RuntimeError("the demo configuration exists once the runtime has started")
        return self._config

    @property
    def started(self) -> bool:
        """True once :meth:`start` has completed."""
        return self._started

    async def start_bus(self) -> EventManager:
        """Create the bus (only), so subscribers can attach before any backend
        publishes. :meth:`start` calls it too; calling it twice returns the same bus."""
        if self._bus is None:
            self._bus = EventManager()
            self._log_handler = BusLogHandler(self._bus)
            logging.getLogger("console").addHandler(self._log_handler)
        return self._bus

    async def start(self) -> None:
        """Create the bus, start the demo agents (if asked) and every device backend.

        Must run inside the event loop the runtime will live in.
        """
        if self._started:
            return
        bus = await self.start_bus()
        if self._demo_enabled:
            from console.demo import DemoFleet

            self.demo = DemoFleet()
            await self.demo.start()
            self._config = self.demo.config if self._config is None else self._config
        if self.config.traps is not None:
            await self._start_traps(bus)
        from console.snmp.manager import SnmpDevice

        for device in self.config.devices:
            if device.snmp is not None:
                snmp_device = SnmpDevice(device.name, device.snmp, bus)
                self.snmp_devices[device.name] = snmp_device
                await snmp_device.start()
        self._started = True

    async def _start_traps(self, bus: EventManager) -> None:
        """Start the trap receiver of ``config.traps``, and the demo's traps to it."""
        from console.snmp.mib import MibResolver
        from console.snmp.traps import TrapReceiver, device_senders

        traps = self.config.traps
        assert traps is not None
        self.mib = MibResolver()
        receiver = TrapReceiver(
            traps, bus, devices_by_host=await device_senders(self.config.devices), mib=self.mib
        )
        try:
            await receiver.start()
        except OSError as exc:
            mlog.error(
                "trap receiver cannot listen on udp %s:%d: %s",
                traps.listen_host,
                traps.listen_port,
                exc.strerror or exc,
            )
            return
        self.trap_receiver = receiver
        if self.demo is not None:
            host, port = receiver.address
            if host in ("0.0.0.0", "::"):
                host = self.demo.host
            await self.demo.start_traps((host, port))

    async def aclose(self) -> None:
        """Close the trap receiver and every device backend, then the demo agents, then
        the bus.

        Idempotent; safe to call concurrently and while :meth:`start` failed halfway.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self.trap_receiver is not None:
            try:
                await self.trap_receiver.aclose()
            except Exception as exc:
                mlog.warning("closing the trap receiver failed: %s", exc)
        results = await asyncio.gather(
            *(device.aclose() for device in self.snmp_devices.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                mlog.warning("closing a device failed: %s", result)
        if self.demo is not None:
            with contextlib.suppress(Exception):
                await self.demo.aclose()
        if self._log_handler is not None:
            logging.getLogger("console").removeHandler(self._log_handler)
        if self._bus is not None:
            await self._bus.aclose()
