"""Delivering monitors: a monitor's batches pushed to an HTTP endpoint or to TCP
clients, kept and replayed after an outage (``docs/monitors.md``).

:class:`Delivery` is what both transports share: each batch the monitor hands to
:meth:`Delivery.offer` gets the next sequence number, becomes a JSON document
(:mod:`~console.notifications.delivery.framing`) and goes to the
:class:`~console.notifications.delivery.outbox.Outbox` (bounded, in the store with
``auto_replay``); the status (:class:`DeliveryStatus`) changes as the seed defines it
and every change is published as ``("monitor", NAME, "status")``.

* :class:`HttpDelivery`: one sender task delivers the outbox in order, one request
  per batch (:class:`~console.notifications.delivery.http.HttpSender`); the batch at
  the head is retried with backoff (``retry``) until a 2xx, so nothing new overtakes
  what was missed. CONNECTING while the destination answers but not 2xx (and at
  start), SUSPENDED (``auto_replay``: the outbox is kept) or INACTIVE (the outbox is
  dropped and a new batch is tried once) while it cannot be reached, DISABLED after
  ``disable_after`` seconds without an acknowledged batch (kept in the store with the
  destination: a restart with the same destination stays DISABLED; :meth:`enable`
  or another destination re-enables it).
* :class:`TcpDelivery`: a server on ``listen``; every connected client receives
  every batch as a frame, the kept ones first; with ``ack: explicit`` a batch
  leaves the outbox when a client acknowledges it (so a client that drops the
  connection before acknowledging gets it again), with ``ack: off`` once written.
  ACTIVE with a client; without one SUSPENDED (``auto_replay``: new batches kept)
  or INACTIVE (new batches not kept).

Delivery is at least once: a batch whose acknowledgement was lost is sent again with
the same ``seq``, which clients use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from console.config import MonitorConfig
from console.events import Event, EventManager
from console.lifecycle import ClosesOnce
from console.notifications.delivery.framing import (
    MAX_ACK_FRAME,
    FrameError,
    batch_document,
    encode_frame,
    read_frame,
)
from console.notifications.delivery.outbox import Batch, MonitorState, Outbox
from console.notifications.delivery.status import DeliveryStats, DeliveryStatus

if TYPE_CHECKING:
    from console.notifications.delivery.http import SendFailed
    from console.store import PropertyStore

__all__ = ["Delivery", "HttpDelivery", "TcpDelivery", "make_delivery"]

mlog = logging.getLogger(__name__)


def make_delivery(
    bus: EventManager,
    config: MonitorConfig,
    *,
    store: PropertyStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Delivery | None:
    """The delivery of ``config`` (``None`` without a ``transport``).

    Raises:
        OSError, ssl.SSLError: a TLS file cannot be read.
    """
    if config.transport == "http":
        return HttpDelivery(bus, config, store=store, clock=clock)
    if config.transport == "tcp":
        return TcpDelivery(bus, config, store=store, clock=clock)
    return None


class Delivery(ClosesOnce):
    """What both transports share (see the module doc).

    Args:
        bus: where status changes are published.
        config: the monitor.
        store: keeps the sequence number, the DISABLED state and (``auto_replay``)
            the batches; ``None``: memory only.
        clock: wall-clock seconds since the epoch (tests).
    """

    initial: DeliveryStatus = DeliveryStatus.CONNECTING

    def __init__(
        self,
        bus: EventManager,
        config: MonitorConfig,
        *,
        store: PropertyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = config.name
        self.config = config
        self.stats = DeliveryStats(status=self.initial)
        self._bus = bus
        self._clock = clock
        self.outbox = Outbox(
            config.name,
            max_batches=config.max_pending,
            max_bytes=config.max_pending_bytes,
            store=store,
            keep=config.auto_replay,
        )
        self._next_seq = 1
        self._disabled_ms: int | None = None
        self.zlib = config.compression != "none"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.stats.status.value}>"

    @property
    def destination(self) -> str:
        """Where batches go, for people (``PUT https://...``, ``tcp 127.0.0.1:9300``)."""
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        """A digest of the delivery settings (never the token): a DISABLED state kept
        in the store holds only for the same fingerprint."""
        config = self.config
        settings = [
            config.transport,
            config.url,
            config.method,
            config.listen_host,
            config.listen_port,
            config.compression,
            config.connect_timeout,
            config.response_timeout,
            config.disable_after,
            repr(config.tls),
        ]
        return hashlib.sha256(json.dumps(settings, default=str).encode()).hexdigest()[:32]

    async def start(self) -> None:
        """Load the state and the kept batches from the store, then start delivering.

        Raises:
            OSError: a TCP monitor cannot listen.
        """
        state = await self.outbox.load()
        self._next_seq = state.next_seq
        self._sync()
        await self._start(state)

    async def _start(self, state: MonitorState) -> None:
        raise NotImplementedError

    async def offer(self, events: Sequence[Event]) -> None:
        """Deliver one batch of the monitor's events (in order with every other);
        returns once it is queued (or dropped: DISABLED, or INACTIVE over TCP)."""
        if self.closing or not events:
            return
        seq = self._next_seq
        self._next_seq += 1
        now = self._clock()
        batch = Batch(seq, now, len(events), batch_document(self.name, seq, now, events))
        await self._save_state()
        await self._accept(batch)
        self._sync()

    async def _accept(self, batch: Batch) -> None:
        raise NotImplementedError

    def enable(self) -> str:
        """The operator's re-enable (the monitor's tab): a DISABLED monitor delivers
        again, a waiting one retries now. Returns what happened, for the operator."""
        return f"monitor {self.name} is {self.stats.status.value}: nothing to re-enable"

    async def _keep(self, batch: Batch) -> None:
        """Put ``batch`` in the outbox; what the bounds drop is counted."""
        self.stats.dropped += await self.outbox.add(batch)

    async def _drop_kept(self, why: str) -> None:
        """Drop every kept batch (counted, logged)."""
        dropped = await self.outbox.clear()
        if dropped:
            self.stats.dropped += dropped
            mlog.warning("monitor %s: %d kept batches dropped: %s", self.name, dropped, why)
        self._sync()

    async def _delivered(self, seq: int) -> None:
        """Every batch up to ``seq`` was delivered."""
        removed = await self.outbox.remove_through(seq)
        if removed:
            stats = self.stats
            stats.sent += len(removed)
            stats.events_sent += sum(batch.events for batch in removed)
            stats.last_sent = self._clock()
        self._sync()

    async def _save_state(self) -> None:
        await self.outbox.save_state(
            MonitorState(
                self._next_seq,
                self._disabled_ms,
                self.fingerprint if self._disabled_ms is not None else None,
            )
        )

    def _sync(self) -> None:
        self.stats.pending = len(self.outbox)
        self.stats.pending_bytes = self.outbox.bytes

    def _set_status(
        self, status: DeliveryStatus, reason: str | None, *, force: bool = False
    ) -> None:
        """Change the status (published as ``("monitor", NAME, "status")`` and logged
        when it changes, or when ``force``)."""
        stats = self.stats
        previous = stats.status
        stats.reason = reason
        if status is previous and not force:
            return
        stats.status = status
        self._sync()
        level = logging.WARNING if status is DeliveryStatus.DISABLED else logging.INFO
        mlog.log(
            level,
            "monitor %s: %s -> %s%s",
            self.name,
            previous.value,
            status.value,
            f" ({reason})" if reason else "",
        )
        payload = stats.to_json()
        payload["previous"] = previous.value
        payload["transport"] = self.config.transport
        payload["destination"] = self.destination
        if not self._bus.closed:
            self._bus.publish(("monitor", self.name, "status"), payload)


class HttpDelivery(Delivery):
    """Batches to an HTTP endpoint (see the module doc)."""

    initial = DeliveryStatus.CONNECTING

    # Delivery's signature on purpose: make_delivery builds either transport alike
    def __init__(
        self,
        bus: EventManager,
        config: MonitorConfig,
        *,
        store: PropertyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from console.notifications.delivery.http import HttpSender

        super().__init__(bus, config, store=store, clock=clock)
        self.sender = HttpSender(config)
        self._queued = asyncio.Event()  # the outbox has something
        self._kick = asyncio.Event()  # the operator: retry now
        self._failing_since: float | None = None

    @property
    def destination(self) -> str:
        return f"{self.config.method} {self.config.url}"

    async def _start(self, state: MonitorState) -> None:
        if state.disabled_ms is not None and state.destination == self.fingerprint:
            self._disabled_ms = state.disabled_ms
            await self._drop_kept("the monitor is DISABLED")
            self._set_status(
                DeliveryStatus.DISABLED,
                "disabled in an earlier run; re-enable it from its tab",
                force=True,
            )
        else:
            if state.disabled_ms is not None:
                mlog.info("monitor %s: re-enabled by a configuration change", self.name)
                await self._save_state()
            self._set_status(DeliveryStatus.CONNECTING, None, force=True)
        if len(self.outbox):
            self._queued.set()
        self.spawn(self._run(), name=f"monitor-{self.name}-http")

    async def _accept(self, batch: Batch) -> None:
        if self.stats.status is DeliveryStatus.DISABLED:
            self.stats.dropped += 1
            return
        await self._keep(batch)
        self._queued.set()

    def enable(self) -> str:
        status = self.stats.status
        if self.closing:
            return f"monitor {self.name} is closing"
        if status is DeliveryStatus.DISABLED:
            self._disabled_ms = None
            self._failing_since = None
            self.spawn(self._save_state(), name=f"monitor-{self.name}-enable")
            self._set_status(DeliveryStatus.CONNECTING, "re-enabled by the operator")
            self._kick.set()
            self._queued.set()
            return f"monitor {self.name} re-enabled: delivering to {self.destination}"
        if self.outbox.first is not None and status is not DeliveryStatus.ACTIVE:
            self._kick.set()
            return f"monitor {self.name}: retrying now"
        return f"monitor {self.name} is {status.value}: nothing to re-enable"

    async def _run(self) -> None:
        retry = self.config.retry
        delay = retry.min
        tried: int | None = None
        while True:
            batch = self.outbox.first
            if batch is None or self.stats.status is DeliveryStatus.DISABLED:
                self._queued.clear()
                await self._queued.wait()
                self._kick.clear()
                continue
            if tried == batch.seq:
                self.stats.retries += 1
            tried = batch.seq
            try:
                await self.sender.send(batch)
            except Exception as exc:  # SendFailed; anything else is a bug, kept running
                from console.notifications.delivery.http import SendFailed

                if not isinstance(exc, SendFailed):
                    mlog.exception("monitor %s: sending a batch failed", self.name)
                    exc = SendFailed(f"internal error: {type(exc).__name__}", reachable=False)
                await self._failed(exc)
                if self.outbox.first is None or self._disabled_ms is not None:
                    delay = retry.min
                    continue
                spread = 1 + random.uniform(-retry.jitter, retry.jitter)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay * spread):
                        await self._kick.wait()
                self._kick.clear()
                delay = min(delay * 2, retry.max)
                continue
            delay = retry.min
            now = self._clock()
            if self._failing_since is not None or self.stats.status is not DeliveryStatus.ACTIVE:
                self.stats.last_connect = now
            self._failing_since = None
            await self._delivered(batch.seq)
            self._set_status(DeliveryStatus.ACTIVE, None)

    async def _failed(self, exc: SendFailed) -> None:
        """A batch was not acknowledged: CONNECTING, SUSPENDED, INACTIVE or DISABLED
        (module doc)."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        config = self.config
        if now - self._failing_since >= config.disable_after:
            self._disabled_ms = round(now * 1000)
            await self._save_state()
            await self._drop_kept("the monitor is DISABLED")
            self._set_status(
                DeliveryStatus.DISABLED,
                f"nothing delivered for {config.disable_after:g} s: {exc.reason}",
            )
        elif exc.reachable:
            self._set_status(DeliveryStatus.CONNECTING, exc.reason)
        elif config.auto_replay:
            self._set_status(DeliveryStatus.SUSPENDED, exc.reason)
        else:
            await self._drop_kept(f"{self.destination} cannot be reached and auto_replay is off")
            self._set_status(DeliveryStatus.INACTIVE, exc.reason)

    async def _close(self) -> None:
        await self.cancel_tasks()
        await self.sender.aclose()


class _Client:
    """One connected TCP client: its queue of batches to write."""

    def __init__(self, peer: str, maxsize: int) -> None:
        self.peer = peer
        self.queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize)
        self.task: asyncio.Task[None] | None = None


class TcpDelivery(Delivery):
    """Batches to the TCP clients of a server (see the module doc and
    :mod:`~console.notifications.delivery.framing`)."""

    initial = DeliveryStatus.INACTIVE

    # Delivery's signature on purpose: make_delivery builds either transport alike
    def __init__(
        self,
        bus: EventManager,
        config: MonitorConfig,
        *,
        store: PropertyStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(bus, config, store=store, clock=clock)
        assert config.listen_host is not None
        assert config.listen_port is not None
        self.address: tuple[str, int] = (config.listen_host, config.listen_port)
        """Where the server listens (the bound port once started)."""
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self.explicit = config.ack == "explicit"

    @property
    def destination(self) -> str:
        host, port = self.address
        scheme = "tls" if self.config.tls is not None else "tcp"
        return f"{scheme} {host}:{port}"

    def _idle_status(self) -> DeliveryStatus:
        return DeliveryStatus.SUSPENDED if self.config.auto_replay else DeliveryStatus.INACTIVE

    async def _start(self, state: MonitorState) -> None:
        from console.notifications.delivery.tls import server_context

        tls = self.config.tls
        host, port = self.address
        try:
            context = server_context(tls) if tls is not None else None
            self._server = await asyncio.start_server(
                self._serve, host, port, ssl=context, limit=MAX_ACK_FRAME * 2
            )
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            reason = f"cannot listen on {self.destination}: {getattr(exc, 'strerror', None) or exc}"
            mlog.error("monitor %s: %s", self.name, reason)
            self._set_status(DeliveryStatus.INACTIVE, reason, force=True)
            return
        bound = self._server.sockets[0].getsockname()
        self.address = (str(bound[0]), int(bound[1]))
        mlog.info("monitor %s: listening on %s", self.name, self.destination)
        self._set_status(self._idle_status(), "no client connected", force=True)

    async def _accept(self, batch: Batch) -> None:
        if not self._clients and not self.config.auto_replay:
            self.stats.dropped += 1
            return
        await self._keep(batch)
        for client in list(self._clients):
            try:
                client.queue.put_nowait(batch)
            except asyncio.QueueFull:
                mlog.warning(
                    "monitor %s: client %s is too slow (%d batches waiting): disconnected",
                    self.name,
                    client.peer,
                    client.queue.maxsize,
                )
                if client.task is not None:
                    client.task.cancel()

    def enable(self) -> str:
        return f"monitor {self.name} is {self.stats.status.value}: TCP monitors are never disabled"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client's connection: the kept batches, then every new one; its
        acknowledgements read beside."""
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        client = _Client(peer, self.config.max_pending + 1)
        client.task = asyncio.current_task()
        if self.closing:
            writer.close()
            return
        for batch in self.outbox:
            client.queue.put_nowait(batch)
        self._clients.add(client)
        stats = self.stats
        stats.clients = len(self._clients)
        stats.last_connect = self._clock()
        mlog.info("monitor %s: client %s connected", self.name, peer)
        self._set_status(DeliveryStatus.ACTIVE, None)
        acks = asyncio.ensure_future(self._read_acks(reader, peer))
        sends = asyncio.ensure_future(self._write_batches(client, writer))
        try:
            await asyncio.wait([acks, sends], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (acks, sends):
                task.cancel()
            await asyncio.gather(acks, sends, return_exceptions=True)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._clients.discard(client)
            stats.clients = len(self._clients)
            mlog.info("monitor %s: client %s disconnected", self.name, peer)
            if not self._clients and not self.closing:
                self._set_status(self._idle_status(), "no client connected")

    async def _write_batches(self, client: _Client, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                batch = await client.queue.get()
                writer.write(encode_frame(batch.body, zlib_body=self.zlib))
                await writer.drain()
                if not self.explicit:
                    await self._delivered(batch.seq)

    async def _read_acks(self, reader: asyncio.StreamReader, peer: str) -> None:
        try:
            while (body := await read_frame(reader, limit=MAX_ACK_FRAME)) is not None:
                try:
                    seq = json.loads(body)["ack"]
                except (ValueError, KeyError, TypeError):
                    raise FrameError('an acknowledgement is {"ack": SEQ}') from None
                if not isinstance(seq, int) or isinstance(seq, bool):
                    raise FrameError("an acknowledgement's SEQ is an integer")
                if self.explicit:
                    await self._delivered(seq)
        except FrameError as exc:
            mlog.warning("monitor %s: client %s: %s; disconnected", self.name, peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = [client.task for client in self._clients if client.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
