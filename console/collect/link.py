"""The MQTT 5 link of a collector or an attached console to the fleet's broker.

:func:`broker_from_url` turns ``--broker URL`` (``mqtt://``, ``mqtts://``, ``ws://``,
``wss://``) into a :class:`~console.config.BrokerConfig`: credentials come from the
environment (``FLEETTOP_MQTT_USERNAME``, ``FLEETTOP_MQTT_PASSWORD``) or from a broker
of the configuration with the same host and port, never from the command line (a
URL with ``user:password@`` is refused: it would show in ``ps``). TLS verifies the
broker's certificate (the system's CAs, or ``FLEETTOP_MQTT_CA``).

:class:`BrokerLink` is one paho client (MQTT 5, paho's network thread, reconnecting
by itself every 1-4 s, resuming its session: the broker keeps it
:data:`SESSION_EXPIRY` s, so QoS 1 messages published meanwhile are delivered after
the reconnection) whose callbacks reach the event loop: ``on_connect`` after
every CONNACK (the link has subscribed its filters again by then), ``on_messages``
with the messages received, in order, in batches (one loop wake-up per batch).
Requests (MQTT 5 §4.10: response topic and correlation data) are :meth:`request`
and :meth:`request_stream`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from console.collect.namespace import REPLY_ROOT, request_topic
from console.config import BrokerConfig, BrokerTls, Config
from console.events import JsonValue
from console.mqtt.paho_adapter import (
    PahoClient,
    disconnect_reason,
    error_text,
    new_client_id,
    tls_context,
)
from console.mqtt.pahoclient import paho
from console.secrets import Secret

__all__ = [
    "ENV_CA",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "SESSION_EXPIRY",
    "BrokerLink",
    "Message",
    "RemoteError",
    "broker_from_url",
]

mlog = logging.getLogger(__name__)

ENV_USERNAME: Final = "FLEETTOP_MQTT_USERNAME"
ENV_PASSWORD: Final = "FLEETTOP_MQTT_PASSWORD"
ENV_CA: Final = "FLEETTOP_MQTT_CA"
#: Seconds the broker keeps a link's session (its subscriptions and the QoS 1
#: messages for it) after the connection is lost (MQTT 5 §3.1.2.11.2).
SESSION_EXPIRY: Final = 300
#: Seconds :meth:`BrokerLink.aclose` waits for its last messages to be acknowledged.
LAST_WAIT: Final = 1.0
_SCHEMES: Final = {
    "mqtt": ("tcp", False, 1883),
    "mqtts": ("tcp", True, 8883),
    "ws": ("websockets", False, 80),
    "wss": ("websockets", True, 443),
}


class RemoteError(Exception):
    """A request to a collector failed: it refused (read-only, unknown device), the
    request timed out, or the link is down. The message is for the operator."""


def broker_from_url(url: str, config: Config | None = None, *, keepalive: int = 60) -> BrokerConfig:
    """The broker of ``--broker URL``.

    Args:
        url: ``mqtt://host[:port]``, ``mqtts://``, ``ws://host[:port][/path]``, ``wss://``.
        config: a configuration whose ``brokers`` may hold the credentials and TLS
            files of the same host and port.
        keepalive: the MQTT keepalive, seconds (the Last Will fires after 1.5 x it).

    Raises:
        ValueError: an unknown scheme, no host, a bad port, or credentials in the
            URL; the message says what to do.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"--broker {url!r}: use mqtt://, mqtts://, ws:// or wss://HOST[:PORT]")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "--broker: credentials never go on the command line (other users see it in ps);"
            f" set {ENV_USERNAME} and {ENV_PASSWORD}, or a broker of the configuration"
        )
    transport, tls, default_port = _SCHEMES[scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"--broker {url!r}: the port is not a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"--broker {url!r}: no host")
    known = None
    if config is not None:
        known = next((b for b in config.brokers if (b.host, b.port) == (host, port)), None)
    username = os.environ.get(ENV_USERNAME) or (known.username if known else None)
    password_text = os.environ.get(ENV_PASSWORD)
    password = Secret(password_text) if password_text else (known.password if known else None)
    tls_conf = None
    if tls:
        ca = os.environ.get(ENV_CA)
        tls_conf = BrokerTls(ca_certs=None if not ca else Path(ca))
        if known is not None and known.tls is not None and not ca:
            tls_conf = known.tls
    return BrokerConfig(
        name="fleet",
        host=host,
        port=port,
        transport=transport,  # type: ignore[arg-type]
        websocket_path=parts.path or "/mqtt",
        tls=tls_conf,
        username=username,
        password=password,
        keepalive=keepalive,
    )


@dataclass(frozen=True, slots=True)
class Message:
    """A received PUBLISH, on the loop.

    Attributes:
        topic: the topic name.
        payload: the bytes.
        retain: True for a retained message sent at subscription time (MQTT 5
            §3.3.1.3: without retain-as-published only those keep the flag).
        response_topic, correlation: the MQTT 5 request properties, if any.
        received: when it arrived, s since the epoch.
    """

    topic: str
    payload: bytes
    retain: bool
    response_topic: str | None
    correlation: bytes | None
    received: float


class BrokerLink:
    """One MQTT 5 connection, see the module docstring.

    Args:
        broker: where and how to connect (:func:`broker_from_url`).
        subscriptions: filters (QoS 1) subscribed again on every CONNACK.
        on_messages: called on the loop with each batch of :class:`Message`.
        on_connect: called on the loop after each CONNACK, before messages.
        on_disconnect: called on the loop when a working connection is lost.
        will: ``(topic, payload)`` of a retained QoS 1 Last Will, or ``None``.
        client_id: the MQTT client id (default: ``fleettop-`` + random).

    Raises (at :meth:`start`):
        ValueError, OSError: TLS files cannot be loaded.
    """

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        subscriptions: Sequence[str] = (),
        on_messages: Callable[[list[Message]], None] | None = None,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[str], None] | None = None,
        will: tuple[str, bytes] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id or new_client_id()
        self.reply_topic = f"{REPLY_ROOT}/{self.client_id}"
        self._subscriptions = (*subscriptions, self.reply_topic)
        self._on_messages = on_messages
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._will = will
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: PahoClient | None = None
        self._inbox: collections.deque[Message] = collections.deque()
        self._inbox_lock = threading.Lock()
        self._scheduled = False
        self._closing = False
        self.connected = asyncio.Event()
        """Set while connected (and subscribed)."""
        self.connections = 0
        """CONNACKs received (1 after the first connection, more after reconnects)."""
        self.last_error: str | None = None
        """Why the last attempt or connection failed, for the operator."""
        self._pending: dict[bytes, asyncio.Queue[dict[str, Any]]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Create the client and start connecting (paho's thread)."""
        self._loop = asyncio.get_running_loop()
        conf = self.broker
        client = PahoClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            transport=conf.transport,
            reconnect_on_failure=True,
        )
        client.on_connect = self._paho_connect
        client.on_connect_fail = self._paho_connect_fail
        client.on_disconnect = self._paho_disconnect
        client.on_message = self._paho_message
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(200_000)
        client.reconnect_delay_set(1, 4)
        if conf.transport == "websockets":
            client.ws_set_options(path=conf.websocket_path)
        if conf.username is not None:
            client.username_pw_set(
                conf.username, None if conf.password is None else conf.password.reveal()
            )
        if conf.tls is not None:
            client.tls_set_context(tls_context(conf.tls))
        if self._will is not None:
            topic, payload = self._will
            client.will_set(topic, payload, qos=1, retain=True)
        self._client = client
        # a session that outlives a lost connection (and, on a broker with persistence,
        # its restart): QoS 1 messages for this client wait in the broker meanwhile;
        # a fresh one at the process's first connection only
        connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect.SessionExpiryInterval = SESSION_EXPIRY
        client.connect_async(
            conf.host,
            conf.port,
            conf.keepalive,
            clean_start=paho.MQTT_CLEAN_START_FIRST_ONLY,
            properties=connect,
        )
        client.loop_start()

    async def aclose(self, last: Sequence[tuple[str, bytes, bool]] = ()) -> None:
        """Publish ``last`` (``(topic, payload, retain)``, QoS 1) when connected and
        wait at most :data:`LAST_WAIT` s for the broker's acknowledgements, then
        disconnect and stop paho's thread: cleanly (no Last Will) when ``last`` was
        acknowledged, else with reason 0x04 "disconnect with Will message" (MQTT 5
        §3.14.2.1), so the Last Will says what ``last`` could not (a collector
        stopped under load, its ``offline`` queued behind thousands of events)."""
        client = self._client
        if client is None:
            return
        delivered = True
        if self.connected.is_set():
            infos = [client.publish(t, p, qos=1, retain=r) for t, p, r in last]

            def wait() -> bool:
                deadline = time.monotonic() + LAST_WAIT
                for info in infos:
                    info.wait_for_publish(max(0.0, deadline - time.monotonic()))
                return all(info.is_published() for info in infos)

            try:
                delivered = await asyncio.wait_for(asyncio.to_thread(wait), LAST_WAIT + 0.5)
            except Exception:
                delivered = False
        self._closing = True
        ending = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
        ending.SessionExpiryInterval = 0  # a clean end: the broker drops the session
        reason = ReasonCode(PacketTypes.DISCONNECT, identifier=0 if delivered else 0x04)
        with contextlib.suppress(Exception):
            client.disconnect(reasoncode=reason, properties=ending)
        await asyncio.to_thread(client.loop_stop)
        for queue in self._pending.values():
            queue.put_nowait({"ok": False, "error": "the console is closing"})

    # -- publishing --------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        qos: int = 1,
        properties: Properties | None = None,
    ) -> bool:
        """Queue one PUBLISH (sent at once when connected, after the reconnection
        otherwise); False when paho's queue is full (200,000 messages)."""
        client = self._client
        if client is None:
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        return info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)

    def reply(self, message: Message, body: dict[str, JsonValue]) -> None:
        """Answer a request ``message`` (its response topic and correlation data)."""
        if message.response_topic is None:
            return
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if message.correlation is not None:
            props.CorrelationData = message.correlation
        self.publish(
            message.response_topic,
            json.dumps(body, separators=(",", ":"), default=str).encode(),
            properties=props,
        )

    async def request(
        self, collector: str, action: str, body: dict[str, JsonValue], *, wait: float
    ) -> JsonValue:
        """Send one request to ``collector`` and wait for its reply.

        Returns:
            The reply's ``result``.

        Raises:
            RemoteError: not connected, no reply within ``wait`` s, or the
                collector's refusal (its ``error``).
        """
        async for reply in self.request_stream(collector, action, body, wait=wait):
            return reply.get("result")
        raise RemoteError(f"{collector}: {action} ended without an answer")

    async def request_stream(
        self, collector: str, action: str, body: dict[str, JsonValue], *, wait: float
    ) -> AsyncIterator[dict[str, Any]]:
        """Send one request and yield its replies until one says ``"done": true``
        (a walk answers in chunks); ``wait`` s at most between two replies.

        Raises:
            RemoteError: as :meth:`request`.
        """
        if not self.connected.is_set():
            raise RemoteError(
                f"{collector}: {action} not sent: not connected to the broker"
                + (f" ({self.last_error})" if self.last_error else "")
            )
        correlation = uuid.uuid4().bytes
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending[correlation] = queue
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = correlation
        props.MessageExpiryInterval = max(1, int(wait))
        try:
            self.publish(
                request_topic(collector, action),
                json.dumps(body, separators=(",", ":")).encode(),
                properties=props,
            )
            while True:
                try:
                    reply = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    raise RemoteError(
                        f"{collector}: no answer to {action} within {wait:g} s"
                        " (is the collector running?)"
                    ) from None
                if reply.get("ok") is False:
                    raise RemoteError(f"{collector}: {reply.get('error') or 'refused'}")
                yield reply
                if reply.get("done", True):
                    return
        finally:
            self._pending.pop(correlation, None)

    # -- the loop side ---------------------------------------------------------------------

    def _deliver(self) -> None:
        with self._inbox_lock:
            batch = list(self._inbox)
            self._inbox.clear()
            self._scheduled = False
        mine = [m for m in batch if m.topic == self.reply_topic]
        for message in mine:
            queue = self._pending.get(message.correlation or b"")
            if queue is None:
                continue
            try:
                queue.put_nowait(json.loads(message.payload))
            except ValueError:
                queue.put_nowait({"ok": False, "error": "an unreadable reply"})
        rest = [m for m in batch if m.topic != self.reply_topic] if mine else batch
        if rest and self._on_messages is not None:
            self._on_messages(rest)

    def _connected(self) -> None:
        self.connections += 1
        self.last_error = None
        self.connected.set()
        if self._on_connect is not None:
            self._on_connect()

    def _lost(self, reason: str) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was or not (self.last_error or "").startswith("refused"):
            self.last_error = reason  # a refusal's reason outlives its disconnection
        if was and self._on_disconnect is not None:
            self._on_disconnect(reason)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or self._closing:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed
            loop.call_soon_threadsafe(callback, *args)

    # -- paho's thread -------------------------------------------------------------------
    # (the callbacks' signatures are paho's VERSION2 API, so they repeat PahoSession's)

    def _paho_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._call(self._lost, f"refused: {reason_code}")
            return
        client.subscribe([(topic, 1) for topic in self._subscriptions])
        self._call(self._connected)

    def _paho_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._call(self._lost, error_text(getattr(client, "last_error", None)))

    def _paho_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._lost, disconnect_reason(reason_code))

    def _paho_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        props = msg.properties
        response = getattr(props, "ResponseTopic", None) if props is not None else None
        correlation = getattr(props, "CorrelationData", None) if props is not None else None
        message = Message(
            msg.topic, bytes(msg.payload), bool(msg.retain), response, correlation, time.time()
        )
        with self._inbox_lock:
            self._inbox.append(message)
            if self._scheduled:
                return
            self._scheduled = True
        self._call(self._deliver)
