"""The hand-over from paho's network thread to the asyncio loop: one bounded deque,
one wake-up per batch, and a pump that drains it in chunks.

Threading (measured, ``bench/bench_mqtt.py``)
---------------------------------------------
paho's own network loop runs in its thread (``loop_start``): a bare paho subscriber
reaches ~75k msg/s here, an asyncio-native client (aiomqtt) ~34k. Everything paho
calls back runs in that thread and only appends to one :class:`collections.deque`;
the first append after the loop has drained wakes it with **one**
``call_soon_threadsafe`` -- a batch costs one wake-up, not one per message. The
pump (:meth:`Handover.pump`, a task on the loop) drains the deque in chunks of
:data:`CHUNK`, yielding to the loop between chunks, and hands the messages to the
handler and the other items (:class:`Control`) to the connection, in arrival order.

The hand-over is bounded: when :data:`DEFAULT_MAX_PENDING` messages (or
:data:`DEFAULT_MAX_PENDING_BYTES` of payload) wait, paho's thread blocks in
:meth:`Handover.put_message` until the pump has made room (``stats.stalls`` counts
it). Nothing is dropped by fleettop: paho stops reading the socket, TCP pushes back,
and the broker queues (QoS 1 and 2 are kept; a broker may drop QoS 0 for a slow
subscriber, e.g. mosquitto's ``max_queued_messages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, cast

from console.events import JsonValue
from console.pace import Pace

__all__ = [
    "CHUNK",
    "DEFAULT_MAX_PENDING",
    "DEFAULT_MAX_PENDING_BYTES",
    "LINGER",
    "ConnectionStats",
    "Control",
    "Handover",
    "MessageHandler",
    "MqttMessage",
]

mlog = logging.getLogger(__name__)

#: Messages waiting between paho's thread and the loop before paho's thread blocks.
DEFAULT_MAX_PENDING: Final = 20_000
#: Payload bytes waiting between paho's thread and the loop before it blocks.
DEFAULT_MAX_PENDING_BYTES: Final = 64 * 1024 * 1024
#: Messages taken off the queue per pump step at most (delivered in runs of
#: :data:`RUN` messages).
CHUNK: Final = 1024
#: Messages handed to the handler at once; after each run the pump checks
#: :data:`STEP_SECONDS` (a run of 16 takes ~2 ms under a flood: 32 overshot the step).
RUN: Final = 16
#: Seconds of handling after which a pump step ends and yields to the loop, whatever
#: is left of its chunk (a key press waits for at most about this, not a whole chunk).
STEP_SECONDS: Final = 0.004
#: A loop round (the time the pump's yield takes to come back: everything else the
#: loop ran meanwhile, the UI and the consumers of what the pump handed over) longer
#: than this (s) means the loop is congested: the pump then waits as long again before
#: its next step, so ingest never takes more than about half the loop and keys,
#: repaints and the consumers get through (TCP and the broker hold what waits).
CONGESTED_SECONDS: Final = 0.012
#: The longest such wait (s).
MAX_BACKOFF: Final = 0.1
#: Seconds the pump waits after draining before paho's thread may wake it again.
LINGER: Final = 0.001


class MqttMessage(NamedTuple):
    """One received PUBLISH (MQTT 3.1.1 §3.3).

    Attributes:
        topic: the topic name.
        payload: the payload bytes.
        qos: 0, 1 or 2 (the lower of the publisher's and the subscription's).
        retain: the retain flag as delivered: the broker's retained message sent on
            subscription; with MQTT 5 (subscribed with Retain As Published, §3.8.3.1)
            also a live PUBLISH the broker retained (an empty one deletes it).
        properties: MQTT 5 properties (``ContentType``, ``UserProperty`` as a list of
            ``[name, value]``, ``PayloadFormatIndicator``, ``ResponseTopic``,
            ``CorrelationData`` as hex, ``MessageExpiryInterval``,
            ``SubscriptionIdentifier``), ``None`` when there are none.
        received: when paho's thread got it, seconds since the epoch.
        own: the echo of an operator publish of this fleettop
            (:class:`~console.mqtt.publishes.OwnPublishes`), not a device's message.
    """

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, JsonValue] | None
    received: float
    own: bool = False


@dataclass(slots=True)
class ConnectionStats:
    """Counters of one connection (read on the loop).

    Attributes:
        received: messages handed to the loop.
        connects: successful CONNACKs.
        stalls: times paho's thread waited for room (backpressure).
        max_pending: most messages seen waiting at once.
        published: operator publishes completed.
        batches: chunks the pump handed over (received / batches is the mean
            batch size).
        backoffs: pump steps after which the loop was congested and the pump
            waited (see :data:`CONGESTED_SECONDS`).
    """

    received: int = 0
    connects: int = 0
    stalls: int = 0
    max_pending: int = 0
    published: int = 0
    batches: int = 0
    backoffs: int = 0


class Control(NamedTuple):
    """Something other than a message, in order with the messages: ``kind`` is
    ``status``, ``subscribed`` or ``published`` (``stall`` is counted here)."""

    kind: str
    data: dict[str, Any]


#: ``await handler(messages)`` for each chunk of received messages, on the loop.
MessageHandler = Callable[[list[MqttMessage]], Awaitable[None]]


class Handover:
    """The bounded queue between paho's thread and the loop (see the module docstring).

    Args:
        loop: the event loop the pump runs on.
        deliver: ``await deliver(messages)`` for each run of messages, on the loop;
            an exception other than cancellation is logged and the pump goes on.
        apply: ``apply(control)`` for each :class:`Control`, on the loop.
        stats: the counters to update.
        max_pending, max_pending_bytes: the bounds (messages, payload bytes).
        name: for log messages.
        pace: the loop's :class:`~console.pace.Pace` (``bus.pace``): while it holds
            for the operator's key, the pump waits and paho's thread stops reading
            (at most the hold's time) instead of taking the GIL from the key.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        deliver: MessageHandler,
        apply: Callable[[Control], None],
        stats: ConnectionStats,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        name: str = "",
        pace: Pace | None = None,
    ) -> None:
        self._loop = loop
        self._pace = pace if pace is not None else Pace()
        self._deliver_to = deliver
        self._apply = apply
        self.stats = stats
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._name = name
        self._pending: deque[MqttMessage | Control] = deque()
        self._bytes_in = 0  # written by paho's thread only
        self._bytes_out = 0  # written by the loop only
        self._scheduled = False
        self._wake = asyncio.Event()
        self._room = threading.Event()
        #: set on the loop when the connection closes: paho's thread no longer waits
        self.released = False

    # -- paho's thread -------------------------------------------------------------

    def put(self, item: Control) -> None:
        """Append ``item`` for the loop; wake the pump once per batch."""
        self._pending.append(item)
        self._wake_pump()

    def put_message(self, message: MqttMessage) -> None:
        """Append a received message; block while the bounds are reached
        (backpressure), unless :meth:`release` was called; and while the pace holds
        for the operator's key (at most its ``hold_seconds``)."""
        if not self._pace.open and not self.released:
            self._pace.wait_thread()
        self._bytes_in += len(message.payload)
        if (
            len(self._pending) >= self._max_pending
            or self._bytes_in - self._bytes_out >= self._max_pending_bytes
        ) and not self.released:
            self._wait_for_room()
        self._pending.append(message)
        self._wake_pump()

    def _wake_pump(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    def _full(self) -> bool:
        return (
            len(self._pending) >= self._max_pending
            or self._bytes_in - self._bytes_out >= self._max_pending_bytes
        )

    def _wait_for_room(self) -> None:
        """Block paho's thread until the pump made room."""
        self.put(Control("stall", {}))
        while not self.released and self._full():
            self._room.clear()
            if not self._full():
                break
            self._room.wait(0.05)

    # -- the loop --------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Messages and controls waiting for the pump now."""
        return len(self._pending)

    def release(self) -> None:
        """Stop applying backpressure (the connection is closing)."""
        self.released = True
        self._room.set()

    def flush(self) -> None:
        """Wake the pump to hand over what is waiting (before it is cancelled)."""
        self._wake.set()

    async def pump(self) -> None:
        """Drain the queue: messages to ``deliver``, controls to ``apply``, in
        arrival order, in steps of at most :data:`STEP_SECONDS` (:data:`CHUNK`
        messages), yielding to the loop between steps and waiting longer when it is
        congested. Runs until cancelled.

        After draining, the pump lingers :data:`LINGER` seconds before it lets paho's
        thread wake it again, so a stream of messages costs one wake-up per
        ~millisecond rather than one per message (measured: half the ingest rate
        otherwise)."""
        pending = self._pending
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                while pending:
                    await self._drain_chunk()
                await asyncio.sleep(LINGER)
                if pending:
                    continue
                self._scheduled = False
                if not pending:
                    break
                # paho's thread appended between the check and the flag: it saw the
                # flag set and woke nobody, so this round takes it
                self._scheduled = True

    async def _drain_chunk(self) -> None:
        pending = self._pending
        count = min(len(pending), CHUNK)
        self.stats.max_pending = max(self.stats.max_pending, len(pending))
        self.stats.batches += 1
        messages: list[MqttMessage] = []
        popleft = pending.popleft
        clock = time.perf_counter
        pace = self._pace
        started = clock()
        for _ in range(count):
            item = popleft()
            if type(item) is MqttMessage:
                messages.append(item)
                if len(messages) >= RUN:
                    await self._deliver(messages)
                    messages = []
                    if clock() - started > STEP_SECONDS or pace.holding:
                        break
                continue
            if messages:
                await self._deliver(messages)
                messages = []
            control = cast(Control, item)
            if control.kind == "stall":
                self.stats.stalls += 1
            else:
                self._apply(control)
        if messages:
            await self._deliver(messages)
        self._room.set()
        await self._yield()

    async def _yield(self) -> None:
        """Let the loop run; wait longer when it is congested (see :data:`CONGESTED_SECONDS`)."""
        clock = time.perf_counter
        asked = clock()
        await asyncio.sleep(0)
        round_trip = clock() - asked
        if round_trip > CONGESTED_SECONDS:
            self.stats.backoffs += 1
            await asyncio.sleep(min(round_trip, MAX_BACKOFF))
        if self._pace.holding:
            await self._pace.wait()  # the operator's key first (console.pace)

    async def _deliver(self, messages: list[MqttMessage]) -> None:
        self._bytes_out += sum(len(m.payload) for m in messages)
        self.stats.received += len(messages)
        try:
            await self._deliver_to(messages)
        except asyncio.CancelledError:
            raise
        except Exception:
            mlog.exception("broker %s: message handler failed", self._name)
