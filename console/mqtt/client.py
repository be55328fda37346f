"""One MQTT broker connection: paho-mqtt 2.x in its network thread, handing what it
receives to the asyncio loop in bounded batches.

Threading (measured, ``bench/bench_mqtt.py``)
---------------------------------------------
paho's own network loop runs in its thread (``loop_start``): a bare paho subscriber
reaches ~75k msg/s here, an asyncio-native client (aiomqtt) ~34k. Everything paho
calls back (``on_connect``, ``on_message``, ...) runs in that thread and only
appends to one :class:`collections.deque`; the first append after the loop has
drained wakes it with **one** ``call_soon_threadsafe`` -- a batch costs one wake-up,
not one per message. A pump task on the loop drains the deque in chunks of
:data:`CHUNK`, yielding to the loop between chunks, and hands the messages to the
handler (by default: one message event each).

The hand-over is bounded: when :data:`DEFAULT_MAX_PENDING` messages (or
:data:`DEFAULT_MAX_PENDING_BYTES` of payload) wait, paho's thread blocks in
``on_message`` until the pump has made room (``stats.stalls`` counts it). Nothing is
dropped by fleettop: paho stops reading the socket, TCP pushes back, and the broker
queues (QoS 1 and 2 are kept; a broker may drop QoS 0 for a slow subscriber, e.g.
mosquitto's ``max_queued_messages``). Message events are published with
:meth:`~console.events.EventManager.publish_wait`, so a ``BLOCK`` subscriber of the
bus slows the pump, and through it the network thread, the same way.

Connection (MQTT 3.1.1 §3.1-3.2, MQTT 5.0 §3.1-3.2, §4.1)
---------------------------------------------------------
Status changes are published as ``("mqtt", "@BROKER", "status")``: ``CONNECTING``
before each attempt, ``CONNECTED`` on a successful CONNACK, ``DISCONNECTED`` with the
reason (CONNACK reason code such as ``Not authorized``, a DISCONNECT reason, or the
socket/TLS error). Lost or failed connections are retried after a backoff of
``reconnect.min`` seconds doubling up to ``reconnect.max``, each spread by a random
± ``reconnect.jitter`` fraction; a successful connection resets it. On every
CONNACK all filters are subscribed again in **one** SUBSCRIBE, each filter once
(with ``clean_start: false`` the broker may already hold them; re-subscribing is
idempotent, §3.8.4), and the SUBACK is published as
``("mqtt", "@BROKER", "subscribed")``.

Secrets: the password is revealed only to ``username_pw_set``; status reasons come
from reason codes and socket errors, which never contain it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import secrets
import ssl
import string
import threading
import time
from binascii import b2a_base64 as _b64
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, cast

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from console.config import BrokerConfig, MqttSubscription
from console.events import EventManager, JsonValue
from console.mqtt.topics import filter_covers, validate_topic

__all__ = [
    "CHUNK",
    "DEFAULT_MAX_PENDING",
    "DEFAULT_MAX_PENDING_BYTES",
    "BrokerConnection",
    "BrokerStatus",
    "ConnectionStats",
    "MessageHandler",
    "MqttError",
    "MqttMessage",
    "MqttNotConnectedError",
    "PublishResult",
    "merge_subscriptions",
]

mlog = logging.getLogger(__name__)

#: Messages waiting between paho's thread and the loop before paho's thread blocks.
DEFAULT_MAX_PENDING: Final = 20_000
#: Payload bytes waiting between paho's thread and the loop before it blocks.
DEFAULT_MAX_PENDING_BYTES: Final = 64 * 1024 * 1024
#: Messages handled per pump step before the pump yields to the loop.
CHUNK: Final = 1024
#: Seconds the pump waits after draining before paho's thread may wake it again.
LINGER: Final = 0.001
#: Seconds a publish waits for its PUBACK/PUBCOMP before it is reported as TIMEOUT.
PUBLISH_TIMEOUT: Final = 30.0


class BrokerStatus(enum.StrEnum):
    """Connection status, as published in ``("mqtt", "@BROKER", "status")``."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


class MqttError(Exception):
    """Base class of the errors a :class:`BrokerConnection` raises to callers."""


class MqttNotConnectedError(MqttError, ConnectionError):
    """An operator publish was asked while the broker is not ``CONNECTED``."""


class MqttMessage(NamedTuple):
    """One received PUBLISH (MQTT 3.1.1 §3.3).

    Attributes:
        topic: the topic name.
        payload: the payload bytes.
        qos: 0, 1 or 2 (the lower of the publisher's and the subscription's).
        retain: the broker's retained message for the topic, sent on subscribe.
        properties: MQTT 5 properties (``ContentType``, ``UserProperty`` as a list of
            ``[name, value]``, ``PayloadFormatIndicator``, ``ResponseTopic``,
            ``CorrelationData`` as hex, ``MessageExpiryInterval``,
            ``SubscriptionIdentifier``), ``None`` when there are none.
        received: when paho's thread got it, seconds since the epoch.
    """

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, JsonValue] | None
    received: float


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The outcome of :meth:`BrokerConnection.publish`.

    Attributes:
        success: the broker acknowledged (QoS 1 PUBACK, QoS 2 PUBCOMP) without a
            failure reason code; for QoS 0, the packet was written to the socket.
        error: ``None`` on success, else the reason code's name (``Not
            authorized``...), ``TIMEOUT``, ``DISCONNECTED`` or ``CLOSED``.
        reason_code: the MQTT 5 reason code value (0 for 3.1.1 and QoS 0), or
            ``None`` when no acknowledgement came.
        mid: paho's message id.
    """

    success: bool
    error: str | None
    reason_code: int | None
    mid: int | None


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
    """

    received: int = 0
    connects: int = 0
    stalls: int = 0
    max_pending: int = 0
    published: int = 0
    batches: int = 0


MessageHandler = Callable[[list[MqttMessage]], Awaitable[None]]


class _Control(NamedTuple):
    """Something other than a message, in order with the messages: ``kind`` is
    ``status``, ``subscribed`` or ``published``."""

    kind: str
    data: dict[str, Any]


def merge_subscriptions(
    subscriptions: Sequence[MqttSubscription], extra: Sequence[MqttSubscription]
) -> tuple[MqttSubscription, ...]:
    """The filters to subscribe to: ``subscriptions`` then ``extra``, duplicates
    merged at their highest QoS, and every filter dropped that another kept filter
    covers at a QoS at least its own (:func:`~console.mqtt.topics.filter_covers`):
    overlapping subscriptions may deliver a message once per matching subscription
    (MQTT 5.0 §3.3.4), so fleettop avoids them where it can."""
    merged: dict[str, int] = {}
    for sub in (*subscriptions, *extra):
        merged[sub.topic] = max(merged.get(sub.topic, 0), sub.qos)
    kept = [
        MqttSubscription(topic, qos)
        for topic, qos in merged.items()
        if not any(
            other != topic and filter_covers(other, topic) and other_qos >= qos
            for other, other_qos in merged.items()
        )
    ]
    return tuple(kept)


def _properties(props: Properties | None) -> dict[str, JsonValue] | None:
    """MQTT 5 PUBLISH properties as JSON, or ``None`` when absent."""
    if props is None:
        return None
    data = props.json()  # type: ignore[no-untyped-call]
    if not data:
        return None
    if "UserProperty" in data:
        data["UserProperty"] = [list(pair) for pair in data["UserProperty"]]
    if isinstance(data.get("SubscriptionIdentifier"), list):
        data["SubscriptionIdentifier"] = list(data["SubscriptionIdentifier"])
    return cast(dict[str, JsonValue], data)


def _client_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "fleettop-" + "".join(secrets.choice(alphabet) for _ in range(10))


class _Client(paho.Client):
    """paho's client, remembering why the last connection attempt failed (paho's
    ``on_connect_fail`` is not told)."""

    last_error: BaseException | None = None
    before_attempt: Callable[[], None] | None = None

    def reconnect(self) -> MQTTErrorCode:
        if self.before_attempt is not None:
            self.before_attempt()
        try:
            return super().reconnect()
        except BaseException as exc:
            self.last_error = exc
            raise


def _error_text(exc: BaseException | None) -> str:
    """An operator-readable reason for a failed connection attempt."""
    if exc is None:
        return "connection failed"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate rejected: {exc.verify_message or exc.reason or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (no broker listening)"
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class BrokerConnection:
    """One broker: a paho client, its network thread and the pump task on the loop.

    Args:
        config: the broker's configuration.
        bus: the event manager (create the connection on its loop).
        handler: ``await handler(messages)`` for each chunk of received messages,
            on the loop; default: one ``("mqtt", "@BROKER", "message", *LEVELS)``
            event each (see ``docs/events.md``).
        extra_subscriptions: filters to subscribe to besides ``config.subscriptions``
            (the devices'), merged by :func:`merge_subscriptions`.
        max_pending: bound of the hand-over (messages).
        max_pending_bytes: bound of the hand-over (payload bytes).
        on_status: ``on_status(name, status, reason)`` on the loop after each
            status change is published.

    Attributes:
        source: the event-type segment of this broker, ``"@" + name``.
        subscriptions: what is subscribed on every connection.
        stats: counters.

    Usage::

        connection = BrokerConnection(config, bus)
        await connection.start()
        result = await connection.publish("site/lamp/set", b"on", qos=1)
        await connection.aclose()
    """

    def __init__(
        self,
        config: BrokerConfig,
        bus: EventManager,
        *,
        handler: MessageHandler | None = None,
        extra_subscriptions: Sequence[MqttSubscription] = (),
        max_pending: int = DEFAULT_MAX_PENDING,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        on_status: Callable[[str, BrokerStatus, str | None], None] | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.source = "@" + config.name
        self._bus = bus
        self._loop = asyncio.get_running_loop()
        self._handler = handler or self._publish_messages
        self.subscriptions = merge_subscriptions(config.subscriptions, extra_subscriptions)
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._on_status = on_status
        self.stats = ConnectionStats()
        self.status = BrokerStatus.DISCONNECTED
        self.reason: str | None = "not started"
        self.client_id = config.client_id or _client_id()
        # paho's thread -> loop
        self._pending: deque[MqttMessage | _Control] = deque()
        self._bytes_in = 0  # written by paho's thread only
        self._bytes_out = 0  # written by the loop only
        self._scheduled = False
        self._wake = asyncio.Event()
        self._room = threading.Event()
        self._closing = False
        # written by paho's thread only
        self._thread_status = BrokerStatus.DISCONNECTED
        self._thread_reason: str | None = None
        self._delay: float | None = None
        self._subscribe_mid: int | None = None
        # loop only
        self._publishes: dict[int, asyncio.Future[PublishResult]] = {}
        self._qos_of: dict[int, int] = {}
        self._pump_task: asyncio.Task[None] | None = None
        self._client: _Client | None = None
        self._started = False
        self._closed: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start the pump and paho's network thread; the first connection attempt
        happens in that thread (``CONNECTING`` is published when it begins).

        Raises:
            RuntimeError: started twice or after :meth:`aclose`.
            ValueError, OSError: the TLS files cannot be loaded.
        """
        if self._started or self._closed is not None:
            raise RuntimeError(f"broker connection {self.name} was already started")
        self._started = True
        client = self._make_client()
        self._client = client
        self._pump_task = asyncio.create_task(self._pump(), name=f"mqtt-pump-{self.name}")
        self._set_delay_for_next_attempt(reset=True)
        self._connect_async(client)
        client.loop_start()

    def _make_client(self) -> _Client:
        conf = self.config
        v5 = conf.protocol == "5"
        client = _Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if v5 else conf.clean_start,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            transport=conf.transport,
            reconnect_on_failure=True,
        )
        client.before_attempt = self._on_attempt
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.max_queued_messages_set(1000)
        if conf.transport == "websockets":
            client.ws_set_options(path=conf.websocket_path)
        if conf.username is not None:
            client.username_pw_set(
                conf.username, None if conf.password is None else conf.password.reveal()
            )
        if conf.tls is not None:
            tls = conf.tls
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=None if tls.ca_certs is None else str(tls.ca_certs),
            )
            if tls.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if tls.certfile is not None:
                context.load_cert_chain(
                    str(tls.certfile), None if tls.keyfile is None else str(tls.keyfile)
                )
            client.tls_set_context(context)
            client.tls_insecure_set(tls.insecure)
        return client

    def _connect_async(self, client: _Client) -> None:
        conf = self.config
        if conf.protocol == "5":
            properties = None
            if conf.session_expiry:
                properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                properties.SessionExpiryInterval = conf.session_expiry
            client.connect_async(
                conf.host,
                conf.port,
                conf.keepalive,
                clean_start=conf.clean_start,
                properties=properties,
            )
        else:
            client.connect_async(conf.host, conf.port, conf.keepalive)

    async def aclose(self) -> None:
        """Disconnect (a clean DISCONNECT when connected), stop paho's thread and the
        pump; pending publishes end with ``CLOSED``. Idempotent; completes even if
        the caller is cancelled."""
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closed)

    async def _close(self) -> None:
        self._closing = True
        self._room.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        if self._pump_task is not None:
            # hand over what paho delivered before it stopped, then stop the pump
            self._wake.set()
            await asyncio.sleep(0)
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        for future in self._publishes.values():
            if not future.done():
                future.set_result(PublishResult(False, "CLOSED", None, None))
        self._publishes.clear()
        if self.status is not BrokerStatus.DISCONNECTED or self.reason != "closed":
            self._apply_status(
                {"status": BrokerStatus.DISCONNECTED, "reason": "closed", "reason_code": None}
            )

    # -- paho's thread -------------------------------------------------------------

    def _push(self, item: MqttMessage | _Control) -> None:
        """Append ``item`` for the loop; wake the pump once per batch."""
        self._pending.append(item)
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to wake
                self._loop.call_soon_threadsafe(self._wake.set)

    def _set_thread_status(
        self, status: BrokerStatus, reason: str | None, reason_code: int | None, **extra: Any
    ) -> None:
        if (status, reason) == (self._thread_status, self._thread_reason) and not extra:
            return
        self._thread_status, self._thread_reason = status, reason
        self._push(
            _Control(
                "status",
                {"status": status, "reason": reason, "reason_code": reason_code, **extra},
            )
        )

    def _set_delay_for_next_attempt(self, *, reset: bool = False) -> float:
        """The next reconnection delay (exponential, jittered), handed to paho."""
        conf = self.config.reconnect
        base = conf.min if reset or self._delay is None else min(self._delay * 2, conf.max)
        self._delay = base
        delay = max(0.01, base * (1 + random.uniform(-conf.jitter, conf.jitter)))
        if self._client is not None:
            # paho sleeps with time.sleep(): float seconds work; its annotation says int
            self._client.reconnect_delay_set(cast(int, delay), cast(int, delay))
        return delay

    def _on_attempt(self) -> None:
        self._set_thread_status(BrokerStatus.CONNECTING, None, None)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._set_delay_for_next_attempt()
            self._set_thread_status(
                BrokerStatus.DISCONNECTED, f"refused: {reason_code}", reason_code.value
            )
            return
        self._set_delay_for_next_attempt(reset=True)
        self._set_thread_status(
            BrokerStatus.CONNECTED,
            None,
            reason_code.value,
            session_present=bool(flags.session_present),
        )
        if self.subscriptions:
            result, mid = client.subscribe([(sub.topic, sub.qos) for sub in self.subscriptions])
            self._subscribe_mid = mid
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
                mlog.warning("broker %s: SUBSCRIBE not sent: %s", self.name, result)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        error = cast(_Client, client).last_error
        delay = self._set_delay_for_next_attempt()
        self._set_thread_status(
            BrokerStatus.DISCONNECTED, _error_text(error), None, retry_in=round(delay, 3)
        )

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._closing:
            return
        if self._thread_status is BrokerStatus.CONNECTED:
            self._set_delay_for_next_attempt(reset=True)
        reason = "connection lost" if reason_code.value in (0, 128) else str(reason_code)
        if self._thread_status is not BrokerStatus.CONNECTED and self._thread_reason:
            reason = self._thread_reason
        self._set_thread_status(BrokerStatus.DISCONNECTED, reason, reason_code.value)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        self._bytes_in += len(payload)
        pending = self._pending
        if (
            len(pending) >= self._max_pending
            or self._bytes_in - self._bytes_out >= self._max_pending_bytes
        ) and not self._closing:
            self._wait_for_room()
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # MQTT requires UTF-8 topics (§1.5.3); a bad broker
            topic = msg._topic.decode("utf-8", "replace")
        props = msg.properties
        pending.append(
            MqttMessage(
                topic,
                payload,
                msg.qos,
                msg.retain,
                None if props is None else _properties(props),
                time.time(),
            )
        )
        if not self._scheduled:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def _wait_for_room(self) -> None:
        """Block paho's thread until the pump made room (backpressure)."""
        self._push(_Control("stall", {}))
        while not self._closing and (
            len(self._pending) >= self._max_pending
            or self._bytes_in - self._bytes_out >= self._max_pending_bytes
        ):
            self._room.clear()
            if len(self._pending) < self._max_pending and (
                self._bytes_in - self._bytes_out < self._max_pending_bytes
            ):
                break
            self._room.wait(0.05)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        self._push(
            _Control(
                "subscribed",
                {
                    "filters": [
                        {
                            "topic": sub.topic,
                            "qos": sub.qos,
                            "granted": None if code.is_failure else code.value,
                            "error": str(code) if code.is_failure else None,
                        }
                        for sub, code in zip(self.subscriptions, reason_codes, strict=False)
                    ]
                },
            )
        )

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._push(
            _Control(
                "published",
                {
                    "mid": mid,
                    "failure": reason_code.is_failure,
                    "reason": str(reason_code),
                    "code": reason_code.value,
                },
            )
        )

    # -- the loop --------------------------------------------------------------------

    async def _pump(self) -> None:
        """Drain the hand-over queue: messages to the handler, controls applied, in
        arrival order, :data:`CHUNK` at a time, yielding to the loop between chunks.

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
        for _ in range(count):
            item = popleft()
            if type(item) is MqttMessage:
                messages.append(item)
                continue
            if messages:
                await self._deliver(messages)
                messages = []
            self._apply_control(cast(_Control, item))
        if messages:
            await self._deliver(messages)
        self._room.set()
        await asyncio.sleep(0)

    async def _deliver(self, messages: list[MqttMessage]) -> None:
        self._bytes_out += sum(len(m.payload) for m in messages)
        self.stats.received += len(messages)
        try:
            await self._handler(messages)
        except asyncio.CancelledError:
            raise
        except Exception:
            mlog.exception("broker %s: message handler failed", self.name)

    def _apply_control(self, item: _Control) -> None:
        if item.kind == "status":
            self._apply_status(item.data)
        elif item.kind == "subscribed":
            self._bus.publish(("mqtt", self.source, "subscribed"), item.data)
        elif item.kind == "published":
            future = self._publishes.pop(item.data["mid"], None)
            if future is not None and not future.done():
                failure = item.data["failure"]
                future.set_result(
                    PublishResult(
                        not failure,
                        item.data["reason"] if failure else None,
                        item.data["code"],
                        item.data["mid"],
                    )
                )
        elif item.kind == "stall":
            self.stats.stalls += 1

    def _apply_status(self, data: dict[str, Any]) -> None:
        status = BrokerStatus(data["status"])
        self.status, self.reason = status, data.get("reason")
        if status is BrokerStatus.CONNECTED:
            self.stats.connects += 1
        elif status is BrokerStatus.DISCONNECTED:
            for mid, future in list(self._publishes.items()):
                if not future.done() and self._qos_of.get(mid, 0) == 0:
                    future.set_result(PublishResult(False, "DISCONNECTED", None, mid))
                    self._publishes.pop(mid, None)
        payload: dict[str, JsonValue] = {
            "status": str(status),
            "reason": data.get("reason"),
            "reason_code": data.get("reason_code"),
            "session_present": data.get("session_present"),
            "address": f"{self.config.host}:{self.config.port}",
            "protocol": self.config.protocol,
            "client_id": self.client_id,
        }
        if "retry_in" in data:
            payload["retry_in"] = data["retry_in"]
        if not self._bus.closed:
            self._bus.publish(("mqtt", self.source, "status"), payload)
        if self._on_status is not None:
            self._on_status(self.name, status, self.reason)

    async def _publish_messages(self, messages: list[MqttMessage]) -> None:
        """The default handler: one message event per message."""
        source = self.source
        broker = self.name
        for m in messages:
            await self._bus.publish_wait(
                ("mqtt", source, "message", *m.topic.split("/")),
                message_payload(m, broker, None),
            )

    # -- operator publishes ------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Properties | None = None,
        timeout: float = PUBLISH_TIMEOUT,  # noqa: ASYNC109 - a result, not a cancellation
    ) -> PublishResult:
        """Publish one message and wait for its outcome: QoS 0 when written, QoS 1 at
        PUBACK, QoS 2 at PUBCOMP (MQTT 3.1.1 §4.3).

        Publishes no event: callers (:class:`~console.mqtt.fleet.MqttFleet`) publish
        the ``publish`` event with what they know.

        Raises:
            ValueError: ``topic`` is not a topic name, or ``qos`` is not 0..2.
            MqttNotConnectedError: the broker is not ``CONNECTED``.
        """
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"QoS must be 0, 1 or 2, got {qos!r}")
        if self._client is None or self.status is not BrokerStatus.CONNECTED:
            raise MqttNotConnectedError(
                f"broker {self.name} is {self.status}"
                + (f" ({self.reason})" if self.reason else "")
            )
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        info = self._client.publish(topic, data, qos, retain, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return PublishResult(False, paho.error_string(info.rc), None, info.mid)
        future: asyncio.Future[PublishResult] = self._loop.create_future()
        self._publishes[info.mid] = future
        self._qos_of[info.mid] = qos
        try:
            async with asyncio.timeout(timeout):
                result = await asyncio.shield(future)
        except TimeoutError:
            result = PublishResult(False, "TIMEOUT", None, info.mid)
        finally:
            self._publishes.pop(info.mid, None)
            self._qos_of.pop(info.mid, None)
        self.stats.published += 1
        return result


def message_payload(m: MqttMessage, broker: str, device: str | None) -> dict[str, JsonValue]:
    """The payload of a message event (``docs/events.md``): the whole payload as
    base64 (``payload``), its ``size``, the MQTT fields, the MQTT 5 properties and
    ``received`` (s since the epoch). Screens decode it for display with
    :func:`console.mqtt.codec.decode_payload`."""
    return {
        "broker": broker,
        "device": device,
        "topic": m.topic,
        "payload": _b64(m.payload, newline=False).decode("ascii"),
        "size": len(m.payload),
        "qos": m.qos,
        "retain": m.retain,
        "properties": m.properties,
        "received": m.received,
    }
