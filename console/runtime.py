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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from console.config import Config, DeviceConfig
from console.events import Event, EventManager, JsonValue
from console.gcpolicy import return_large_blocks
from console.lifecycle import ClosesOnce
from console.logbus import BusLogHandler
from console.pace import Pace
from console.store.location import default_store_path

if TYPE_CHECKING:
    from console.demo import DemoFleet
    from console.explorer.tree import TopicTree
    from console.mqtt.fleet import MqttFleet
    from console.notifications.alarms import AlarmBook
    from console.notifications.center import NotificationCenter
    from console.notifications.monitors import MonitorSet
    from console.snmp.manager import SnmpDevice
    from console.snmp.mib import MibResolver
    from console.snmp.traps import TrapReceiver
    from console.store import PropertyStore
    from console.store.audit import AuditRecorder
    from console.store.mqtt import MqttPropertyFeeder
    from console.store.snmp import StoreFeeder

__all__ = ["FIRST_POLL_WAIT", "TRANSIENT_EVENTS", "Runtime", "default_store_path"]

#: Event types the runtime's bus delivers without keeping the latest of each: MQTT
#: messages are happenings, one type per topic; the UI keeps the latest message per
#: topic itself (bounded), so the bus holding 100k payloads would only cost memory.
TRANSIENT_EVENTS: tuple[tuple[str, ...], ...] = (("mqtt", "?", "message", "*"),)

#: Seconds :meth:`Runtime.start` waits, once :attr:`Runtime.ready`, for every SNMP
#: device's first polling cycle (or failure) before it loads MIBs and starts brokers.
FIRST_POLL_WAIT = 2.0

mlog = logging.getLogger(__name__)


async def _loop_settled(tick: float = 0.05, quiet: int = 3) -> None:
    """Wait until the event loop is idle: ``quiet`` sleeps of ``tick`` seconds in a
    row each overshot by less than half a tick (nothing else ran long meanwhile, so
    what the loop had to do, drawing a frame for instance, is done). Heavy work in a
    thread started after it no longer slows that down (it holds the GIL)."""
    loop = asyncio.get_running_loop()
    calm = 0
    while calm < quiet:
        before = loop.time()
        await asyncio.sleep(tick)
        calm = calm + 1 if loop.time() - before < 1.5 * tick else 0


class Runtime(ClosesOnce):
    """The bus, the demo agents (optional), the trap receiver (optional), the MQTT
    brokers (optional) and the device backends, started and closed together.

    Args:
        config: the validated configuration; with ``demo=True`` it may be ``None``,
            and the demo's generated configuration is used.
        demo: start the embedded demo agents first (``fleettop demo``).

    Warnings and errors logged under the ``console`` logger are published on the bus
    as ``("log", LEVEL)`` events while the runtime lives.

    Start order (:meth:`start`): what the first poll needs comes first, the rest
    after it. First the bus, the demo's sockets and configuration, the store, the
    notification center, the alarm book (only when its rules watch polled values)
    and the monitors (each subscribed before anything publishes), the last-known
    values; then the SNMP devices, each polling as soon as its demo agent answers,
    and :attr:`ready` is set (the UI shows the fleet). Then the MIB names (what the
    standard modules and what the cache holds of ``mib_paths``; the rest compiles in
    the background,
    :attr:`mib_compile`, with ``("mib", "status")`` progress, and is swapped in when
    done), the end of the notification replay, the alarm book,
    the trap receiver, the demo broker and the MQTT brokers; the heavy ones wait
    for the devices' first polling cycles (at most :data:`FIRST_POLL_WAIT` seconds)
    so they do not slow them down.

    With ``config.traps``, a :class:`~console.snmp.traps.TrapReceiver` starts once
    the alarm book has; notifications are attributed to the configured devices by
    sender address (:func:`~console.snmp.traps.device_senders`), and the demo
    devices send theirs to it. A receiver that cannot bind its port is logged as an
    error, publishes ``("snmp", "@receiver", "status")`` ``FAILED`` with the reason
    (the UI shows it), and is left out (``trap_receiver`` stays ``None``): the rest
    of the fleet still runs.

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
        self.mqtt: MqttFleet | None = None
        """The MQTT brokers and devices (``config.brokers``), once started."""
        self.trap_receiver: TrapReceiver | None = None
        """The trap and inform receiver, once started (``config.traps`` only)."""
        self.trap_senders: tuple[DeviceConfig, ...] | None = None
        """The devices whose traps the receiver attributes by sender address, when
        not ``config.devices``: a collector's shard receives the traps of the whole
        configuration (``fleettop collect --shard``); set before :meth:`start`."""
        self.mib: MibResolver | None = None
        """The MIB names of the runtime (``config.mib_paths`` included), created at
        start; the trap receiver and the UI share it."""
        self.store: PropertyStore | None = None
        """The open property store, or ``None`` (disabled, or it could not open)."""
        self.store_feeder: StoreFeeder | None = None
        self.mqtt_feeder: MqttPropertyFeeder | None = None
        """Persists MQTT property values and unsets (Astarte properties interfaces)."""
        self.audit: AuditRecorder | None = None
        """The audit log's recorder (operator writes -> the store's ``audit`` table;
        ``audit.log`` queries and exports), or ``None`` without a store."""
        self.store_error: str | None = None
        """Why the runtime runs without persistence although the store is enabled."""
        self.notifications: NotificationCenter | None = None
        """The notification stream (kept in the store when there is one), once started."""
        self.alarms: AlarmBook | None = None
        """The alarms (traps, disconnections, ``alarms.rules``), once started."""
        self.monitors: MonitorSet | None = None
        """The monitors of ``config.monitors``, once started."""
        self.mib_compile: asyncio.Task[None] | None = None
        """The background compile of the MIB modules the cache lacks, while
        one runs (``("mib", "status")`` events tell its progress)."""
        self._closing_mibs = False
        self.topics: TopicTree | None = None
        """Every MQTT topic seen (the Topics screen's model), fed from the bus from
        before the brokers connect (retained messages included); ``None`` without
        brokers."""
        self._started = False
        self.ready = asyncio.Event()
        """Set by :meth:`start` once every SNMP device polls (the UI shows the fleet
        then), while the MIB names, the alarm book, the trap receiver and the MQTT
        brokers go on starting."""
        self._replaying: asyncio.Task[None] | None = None
        self._book_started = False
        self._log_handler: BusLogHandler | None = None
        # every resource is pushed here as it starts; _close unwinds it in reverse
        self._stack = contextlib.AsyncExitStack()
        self.pace = Pace()
        """The pacing of background work (:mod:`console.pace`), the bus's once started:
        the app holds it while the operator's key is answered."""

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
            self._bus = bus = EventManager(transient=TRANSIENT_EVENTS, pace=self.pace)
            self._on_close("the bus", bus.aclose)
            self._log_handler = handler = BusLogHandler(bus)
            logging.getLogger("console").addHandler(handler)
            self._stack.callback(logging.getLogger("console").removeHandler, handler)
        return self._bus

    def _on_close(self, what: str, aclose: Callable[[], Awaitable[object]]) -> None:
        """Push ``aclose`` on the shutdown stack: called when the runtime closes, in
        the reverse order of the pushes; an exception it raises is logged as "closing
        ``what`` failed" and the rest still close."""

        async def close() -> None:
            try:
                await aclose()
            except Exception as exc:
                mlog.warning("closing %s failed: %s", what, exc)

        self._stack.push_async_callback(close)

    async def start(self) -> None:
        """Create the bus, start the demo agents (if asked) and every backend, in the
        order of the class docstring; :attr:`ready` is set once every SNMP device
        polls, before the rest starts. Must run inside the event loop the runtime
        will live in; a second call does nothing.

        Raises:
            StoreInUseError: another fleettop writes the store.
            OSError: a demo socket could not be bound, or the demo broker could not
                listen.
        """
        if self._started:
            return
        # freed large payloads go back to the system (console/gcpolicy.py)
        return_large_blocks()
        bus = await self.start_bus()
        if self._demo_enabled:
            from console.demo import DemoFleet

            self.demo = demo = DemoFleet(mqtt=True)
            self._on_close("the demo agents", demo.aclose)
            config = demo.bind()
            self._config = config if self._config is None else self._config
        from console.snmp.mib import MibResolver

        # loaded when first needed (in a worker thread): after the first polls
        self.mib = MibResolver(mib_paths=self.config.mib_paths, background=True)
        store_status = await self._open_store(bus)
        await self._start_notifications(bus)
        bus.publish(("store", "status"), store_status)
        await self._replay_last_known(bus)
        if self.config.brokers:
            from console.explorer.tree import TopicTree
            from console.mqtt.fleet import MqttFleet

            bounds = self.config.ui.topics
            self.topics = TopicTree(
                max_topics=bounds.max_topics,
                history_messages=bounds.history_messages,
                history_bytes=bounds.history_bytes,
                history_total_bytes=bounds.history_total_bytes,
                # subscribed with Retain As Published (console/mqtt/paho_adapter.py)
                retain_as_published=[b.name for b in self.config.brokers if b.protocol == "5"],
            )
            self.topics.attach(bus)

            # created now (the UI holds it), connected once the devices poll
            self.mqtt = MqttFleet(self.config, bus)
            self._on_close("the MQTT brokers", self.mqtt.aclose)
        await self._start_snmp_devices()
        self.ready.set()
        await self._start_rest(bus)
        self._started = True

    async def _start_snmp_devices(self) -> None:
        """Start every SNMP device's poller; a demo device's once its agent answers
        (requests sent meanwhile wait in the agent's socket)."""
        from console.snmp.manager import SnmpDevice
        from console.snmpdisplay import ValueFormatter

        mib = self.mib
        # one formatter for every device's read and write events: the plain form
        # until the MIBs are loaded (after the first polls), then the MIB's
        formatter = ValueFormatter(lambda: mib.info) if mib is not None else None
        self._on_close("the SNMP devices", self._close_snmp_devices)
        agents = {info.name for info in self.demo.agents} if self.demo is not None else set()
        for device in self.config.devices:
            if device.snmp is not None:
                if self.demo is not None and device.name in agents:
                    await self.demo.start_agent(device.name)
                snmp_device = SnmpDevice(device.name, device.snmp, self.bus, formatter=formatter)
                self.snmp_devices[device.name] = snmp_device
                await snmp_device.start()
        if self.demo is not None:  # agents no device polls (a configuration given)
            for name in agents - self.snmp_devices.keys():
                await self.demo.start_agent(name)

    async def _start_rest(self, bus: EventManager) -> None:
        """The part of :meth:`start` the first poll does not need (class docstring):
        it runs once :attr:`ready` is set."""
        if self._replaying is not None:
            await self._replaying
        await self._first_polls()
        await self._load_mibs(bus)
        await self._start_alarm_book()
        if self.config.traps is not None:
            await self._start_traps(bus)
        if self.demo is not None:
            await self.demo.start_mqtt()
        if self.mqtt is not None:
            await self.mqtt.start()

    async def _load_mibs(self, bus: EventManager) -> None:
        """Load the MIB modules the cache holds (a worker thread; ~1 s for ~500
        modules), then compile the rest in the background (:attr:`mib_compile`):
        ``("mib", "status")`` tells ``loading``, ``compiling`` with the progress,
        then ``loaded``; names fill in when the compiled modules are loaded."""
        mib = self.mib
        assert mib is not None
        # without mib_paths only the standard modules load (pysnmp-mibs' compiled
        # ones: nothing to compile), quietly
        quiet = not self.config.mib_paths
        if not quiet:
            self._publish_mibs(bus, "loading")
        pending = await asyncio.to_thread(mib.load_cached)
        if not pending:
            if not quiet:
                self._publish_mibs(bus, "loaded")
            return
        self._publish_mibs(bus, "compiling", 0, len(pending))
        self._on_close("the MIB compiler", self._stop_mib_compile)
        self.mib_compile = asyncio.create_task(self._compile_mibs(bus, len(pending)))

    async def _compile_mibs(self, bus: EventManager, total: int) -> None:
        """Compile the pending MIB modules in a worker thread (the parsing itself in
        a child process), publishing the progress after each chunk."""
        mib = self.mib
        assert mib is not None
        loop = asyncio.get_running_loop()

        def progress(done: int, count: int) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._publish_mibs, bus, "compiling", done, count)

        try:
            await asyncio.to_thread(mib.compile_pending, progress)
        except Exception:
            mlog.exception("compiling MIB modules failed")
        cancelled = mib.pending and self._closing_mibs
        self._publish_mibs(bus, "cancelled" if cancelled else "loaded", total, total)

    async def _stop_mib_compile(self) -> None:
        """Cancel a background MIB compile (its child process is killed) and wait."""
        task = self.mib_compile
        if task is None or task.done() or self.mib is None:
            return
        self._closing_mibs = True
        self.mib.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _publish_mibs(self, bus: EventManager, state: str, done: int = 0, total: int = 0) -> None:
        """Publish ``("mib", "status")`` (docs/events.md)."""
        if bus.closed:
            return
        mib = self.mib
        bus.publish(
            ("mib", "status"),
            {
                "state": state,
                "done": done,
                "total": total,
                "modules": len(mib.modules) if mib is not None else 0,
                "failed": len(mib.problems) if mib is not None else 0,
                "generation": mib.generation if mib is not None else 0,
            },
        )

    async def _first_polls(self) -> None:
        """Wait until every SNMP device has completed its first polling cycle (or is
        ``DISCONNECTED``), the bus's subscribers have handled what it published and
        the loop is idle again, at most :data:`FIRST_POLL_WAIT` seconds."""
        answered = asyncio.Event()

        def check(_event: Event | None = None) -> None:
            if all(
                device.stats()["polls"] or device.status == "DISCONNECTED"
                for device in self.snmp_devices.values()
            ):
                answered.set()

        subscription = self.bus.subscribe(
            ("snmp", "?", "poll"),
            check,
            more_patterns=[("snmp", "?", "status")],
            name="first-polls",
        )
        try:
            check()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FIRST_POLL_WAIT):
                    await answered.wait()
                    # every subscriber (the UI's bridge) has what the polls published
                    await self.bus.drain()
                    await _loop_settled()  # and has drawn it
        finally:
            subscription.unsubscribe()

    async def _close_snmp_devices(self) -> None:
        """Close every SNMP device at once; each failure is logged."""
        results = await asyncio.gather(
            *(device.aclose() for device in self.snmp_devices.values()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                mlog.warning("closing a device failed: %s", result)

    async def _open_store(self, bus: EventManager) -> dict[str, JsonValue]:
        """Open the property store and attach its feeders (SNMP reads, MQTT
        properties, the audit log).

        A store that cannot open (locked, read-only, corrupt, newer schema) is
        logged and kept as :attr:`store_error`; fleettop then runs without
        persistence and never touches the file.

        Returns:
            The ``("store", "status")`` payload, published by :meth:`start` once the
            notification center listens (so a "no persistence" reaches the stream).

        Raises:
            StoreInUseError: another fleettop has the store open for writing: the
                runtime refuses to start rather than run without persistence.
        """
        conf = self.config.store
        if not conf.enabled:
            return {"persistent": False, "path": None, "error": None}
        from console.store import PropertyStore, StoreError, StoreInUseError
        from console.store.audit import AuditRecorder
        from console.store.mqtt import MqttPropertyFeeder
        from console.store.snmp import StoreFeeder

        path = (
            conf.path if conf.path is not None else default_store_path(demo=self.demo is not None)
        )
        try:
            store = await PropertyStore.open(
                path, batch_size=conf.batch_size, batch_window=conf.batch_window
            )
        except StoreInUseError:
            raise  # another fleettop writes this file: refuse to start (docs/store.md)
        except StoreError as exc:
            self.store_error = str(exc)
            mlog.warning("running without persistence: %s", exc)
            return {"persistent": False, "path": str(path), "error": str(exc)}
        # closed in reverse: the feeders and the audit recorder hand everything
        # already published to the store, then the store commits it (clean shutdown
        # loses nothing: docs/store.md)
        self.store = store
        self._on_close("the store", store.aclose)
        self.audit = AuditRecorder(bus, store)
        self._on_close("the audit recorder", self.audit.aclose)
        self.mqtt_feeder = MqttPropertyFeeder(bus, store)
        self._on_close("a store feeder", self.mqtt_feeder.aclose)
        self.store_feeder = StoreFeeder(bus, store)
        self._on_close("a store feeder", self.store_feeder.aclose)
        from console.store.fields import FieldFeeder, MetricFeeder

        for feeder in (FieldFeeder(bus, store), MetricFeeder(bus, store)):
            self._on_close("a store feeder", feeder.aclose)
        return {"persistent": True, "path": str(path), "error": None}

    async def _replay_last_known(self, bus: EventManager) -> None:
        """Publish every SNMP value the store kept as ``("snmp", DEVICE, "stored",
        OID)``, before any device polls, so screens show the last-known state at once
        (stale until the first fresh read)."""
        if self.store is None:
            return
        from console.store.snmp import last_known

        for device in self.config.devices:
            for known in (await last_known(self.store, device.name)).values():
                bus.publish(
                    ("snmp", device.name, "stored", known.oid),
                    {"data": known.data, "updated_ms": known.updated_ms},
                    source_timestamp=known.updated_ms / 1000,
                )

    async def _start_notifications(self, bus: EventManager) -> None:
        """Create the notification center, the alarm book and the monitors, subscribed
        before any backend publishes, so the stream misses nothing.

        With a store, notifications and alarms are kept in it and replayed (the last
        ``notifications.replay`` entries, every open alarm); a store that fails
        while loading is logged and the stream runs in memory. The center's replay
        goes on in a task (live notifications queue behind it); the alarm book (its
        rules name MIB objects) starts after the devices (:meth:`_start_rest`),
        unless a rule watches polled values (it must see the first reads).
        """
        from console.notifications.alarms import AlarmBook
        from console.notifications.center import NotificationCenter
        from console.notifications.monitors import MonitorSet
        from console.notifications.storage import AlarmLog, NotificationLog

        config = self.config
        conf = config.notifications
        store = self.store
        center = NotificationCenter(
            bus,
            ring_size=conf.ring_size,
            replay=conf.replay,
            retention=(conf.retention.max_age, conf.retention.max_count),
            log=(
                NotificationLog(store, max_payload_bytes=conf.stored_payload_bytes)
                if store is not None
                else None
            ),
            ring_bytes=conf.ring_bytes,
            payload_bytes=conf.payload_bytes,
        )
        self.notifications = center
        # closed in reverse (monitors, alarm book, center): each hands what was
        # published to its recording and the store before the store closes
        self._on_close("the notification center", center.aclose)
        self._replaying = self.spawn(self._replay_notifications(center), name="fleettop-replay")
        await asyncio.sleep(0)  # the task runs up to its first wait: it has subscribed
        book = AlarmBook(
            bus,
            config.alarms,
            log=AlarmLog(store) if store is not None else None,
            mib=self.mib,
            audit=self.audit,
        )
        self.alarms = book
        self._on_close("the alarm book", book.aclose)
        if any(rule.source == "oid" for rule in config.alarms.rules):
            await self._start_alarm_book()
        self.monitors = monitors = MonitorSet(
            bus,
            config.monitors,
            ring_size=conf.ring_size,
            ring_bytes=conf.ring_bytes,
            payload_bytes=conf.payload_bytes,
            stored_payload_bytes=conf.stored_payload_bytes,
            store=store,
        )
        self._on_close("the monitors", monitors.aclose)
        await monitors.start()

    async def _replay_notifications(self, center: NotificationCenter) -> None:
        """Start ``center``: it subscribes at once, then prunes and replays the store."""
        from console.store import StoreError

        try:
            await center.start()
        except StoreError as exc:
            mlog.warning("notifications are not replayed: %s", exc)

    async def _start_alarm_book(self) -> None:
        """Start the alarm book (once): its rules' MIB names are resolved in a worker
        thread, its open alarms replayed from the store."""
        from console.store import StoreError

        book = self.alarms
        if book is None or self._book_started:
            return
        self._book_started = True
        try:
            await book.start()
        except StoreError as exc:
            mlog.warning("open alarms are not replayed: %s", exc)

    async def _start_traps(self, bus: EventManager) -> None:
        """Start the trap receiver of ``config.traps``, and the demo's traps to it."""
        from console.snmp.traps import TrapReceiver, device_senders

        traps = self.config.traps
        assert traps is not None
        receiver = TrapReceiver(
            traps,
            bus,
            devices_by_host=await device_senders(
                self.config.devices if self.trap_senders is None else self.trap_senders
            ),
            mib=self.mib,
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
        self._on_close("the trap receiver", receiver.aclose)
        if self.demo is not None:
            host, port = receiver.address
            if host in ("0.0.0.0", "::"):
                host = self.demo.host
            await self.demo.start_traps((host, port))

    async def _close(self) -> None:
        """Close everything started, in the reverse order of starting (the shutdown
        stack): the SNMP devices, the MQTT brokers and the trap receiver (nothing new
        is published after them); the monitors, the alarm book and the notification
        center; the store feeders and the audit recorder (they hand everything
        already published to the store) and the store (which commits it); the demo
        agents; the log handler; the bus. A part that fails to close is logged and
        the others still close. The notification replay, if still going on, is
        cancelled first."""
        await self.cancel_tasks()
        await self._stack.aclose()
