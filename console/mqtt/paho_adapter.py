"""The paho-mqtt 2.x adapter: a configured paho client, and its callbacks (run in
paho's network thread) turned into status, subscription, publish and message items
for the hand-over (:mod:`console.mqtt.handover`).

Connection (MQTT 3.1.1 §3.1-3.2, MQTT 5.0 §3.1-3.2, §4.1): ``CONNECTING`` before
each attempt, ``CONNECTED`` on a successful CONNACK, ``DISCONNECTED`` with the reason
(CONNACK reason code such as ``Not authorized``, a DISCONNECT reason, or the
socket/TLS error). Lost or failed connections are retried by paho after the delay
this module hands it: ``reconnect.min`` seconds, doubling up to ``reconnect.max``,
each spread by a random ± ``reconnect.jitter`` fraction; a successful connection
(and the loss of a working one) starts over at ``min``. On every CONNACK all filters
are subscribed again in **one** SUBSCRIBE (re-subscribing is idempotent, §3.8.4);
with MQTT 5 each with Retain As Published (§3.8.3.1): a message's retain flag then
says the broker retained it, live or sent on subscription.

Secrets: the password is revealed only to ``username_pw_set``; reasons come from
reason codes and socket errors, which never contain it.
"""

from __future__ import annotations

import enum
import logging
import random
import secrets
import ssl
import string
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from console.config import BrokerConfig, BrokerTls, MqttSubscription
from console.events import JsonValue
from console.mqtt.handover import Control, Handover, MqttMessage
from console.mqtt.pahoclient import paho

__all__ = [
    "BrokerStatus",
    "PahoClient",
    "PahoSession",
    "disconnect_reason",
    "error_text",
    "new_client_id",
    "publish_properties",
    "tls_context",
]

mlog = logging.getLogger(__name__)


class BrokerStatus(enum.StrEnum):
    """Connection status, as published in ``("mqtt", "@BROKER", "status")``."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


def publish_properties(props: Properties | None) -> dict[str, JsonValue] | None:
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


def new_client_id() -> str:
    """``fleettop-`` and 10 random letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "fleettop-" + "".join(secrets.choice(alphabet) for _ in range(10))


class PahoClient(paho.Client):
    """paho's client, remembering why the last connection attempt failed (paho's
    ``on_connect_fail`` is not told) and calling ``before_attempt`` before each."""

    last_error: BaseException | None = None
    before_attempt: Callable[[], None] | None = None
    _filtered = False

    def message_callback_add(self, sub: str, callback: Any) -> None:
        """paho's per-filter callback; from then on every message goes through
        paho's own dispatch again."""
        self._filtered = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        """``on_message`` straight away while no per-filter callback exists (fleettop
        adds none): paho's dispatch walks its filter tree over the topic's levels for
        every message first, ~5% of the ingest thread under a flood."""
        on_message = self.on_message
        if self._filtered or on_message is None:
            super()._handle_on_message(message)
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def reconnect(self) -> MQTTErrorCode:
        """paho's reconnect, with ``before_attempt`` first and the failure kept."""
        if self.before_attempt is not None:
            self.before_attempt()
        try:
            return super().reconnect()
        except BaseException as exc:
            self.last_error = exc
            raise


def error_text(exc: BaseException | None) -> str:
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


def disconnect_reason(reason_code: ReasonCode) -> str:
    """The operator's reason for a lost connection: ``connection lost`` for a
    normal disconnection or paho's unspecified error (0, 128: the socket closed),
    else the DISCONNECT reason code's name (MQTT 5.0 §3.14.2.1)."""
    return "connection lost" if reason_code.value in (0, 128) else str(reason_code)


def tls_context(tls: BrokerTls) -> ssl.SSLContext:
    """A client TLS context that verifies the broker (``tls.ca_certs``, else the
    system's CAs) and presents ``tls.certfile``/``tls.keyfile`` when given;
    ``tls.insecure`` is the caller's to apply.

    Raises:
        OSError, ssl.SSLError: a CA, certificate or key file cannot be loaded.
    """
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH,
        cafile=None if tls.ca_certs is None else str(tls.ca_certs),
    )
    if tls.certfile is not None:
        context.load_cert_chain(
            str(tls.certfile), None if tls.keyfile is None else str(tls.keyfile)
        )
    return context


class PahoSession:
    """One paho client for one broker and its thread-side state.

    Args:
        config: the broker's configuration.
        client_id: the MQTT client identifier.
        subscriptions: what to subscribe to on every CONNACK.
        handover: where the callbacks put what happened (paho's thread).
        name: the broker name, for log messages.

    Attributes:
        client: the paho client (:meth:`start` creates it).
        closing: set on the loop before disconnecting: lost connections are no
            longer reported.
    """

    def __init__(
        self,
        config: BrokerConfig,
        client_id: str,
        subscriptions: Sequence[MqttSubscription],
        handover: Handover,
    ) -> None:
        self.config = config
        self.client_id = client_id
        self.subscriptions = tuple(subscriptions)
        self._handover = handover
        self.client: PahoClient | None = None
        self.closing = False
        # written by paho's thread only
        self._status = BrokerStatus.DISCONNECTED
        self._reason: str | None = None
        self._delay: float | None = None
        self._subscribe_mid: int | None = None

    # -- the loop ------------------------------------------------------------------

    def start(self) -> None:
        """Create the client, ask for the first connection and start paho's thread
        (the attempt itself happens there).

        Raises:
            ValueError, OSError: the TLS files cannot be loaded.
        """
        self.client = self._make_client()
        self.next_delay(reset=True)
        self._connect_async(self.client)
        self.client.loop_start()

    def add_subscriptions(self, subscriptions: Sequence[MqttSubscription]) -> None:
        """Subscribe to ``subscriptions`` too: now when connected (paho sends the
        SUBSCRIBE from any thread), and on every later CONNACK. Each new filter makes
        the broker send its retained messages (MQTT 5.0 §3.3.1.3), even when another
        filter already covers it."""
        self.subscriptions = (*self.subscriptions, *subscriptions)
        client = self.client
        if client is not None and client.is_connected():
            result, _ = client.subscribe([(sub.topic, sub.qos) for sub in subscriptions])
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
                mlog.warning("broker %s: SUBSCRIBE not sent: %s", self.config.name, result)

    def stop(self) -> None:
        """Disconnect (a clean DISCONNECT when connected) and stop paho's thread;
        blocks until it ended (call it in a worker thread)."""
        self.closing = True
        if self.client is None:
            return
        try:
            self.client.disconnect()
        except Exception:  # not connected, socket gone: nothing to say
            mlog.debug("broker %s: DISCONNECT not sent", self.config.name)
        self.client.loop_stop()

    def _make_client(self) -> PahoClient:
        conf = self.config
        v5 = conf.protocol == "5"
        client = PahoClient(
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
            context = tls_context(tls)
            if tls.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
            client.tls_insecure_set(tls.insecure)
        return client

    def _connect_async(self, client: PahoClient) -> None:
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

    # -- paho's thread -------------------------------------------------------------

    def _set_status(
        self, status: BrokerStatus, reason: str | None, reason_code: int | None, **extra: Any
    ) -> None:
        if (status, reason) == (self._status, self._reason) and not extra:
            return
        self._status, self._reason = status, reason
        self._handover.put(
            Control(
                "status",
                {"status": status, "reason": reason, "reason_code": reason_code, **extra},
            )
        )

    def next_delay(self, *, reset: bool = False) -> float:
        """The next reconnection delay (exponential, capped, jittered), handed to
        paho; seconds."""
        conf = self.config.reconnect
        base = conf.min if reset or self._delay is None else min(self._delay * 2, conf.max)
        self._delay = base
        delay = max(0.01, base * (1 + random.uniform(-conf.jitter, conf.jitter)))
        if self.client is not None:
            # paho sleeps with time.sleep(): float seconds work; its annotation says int
            self.client.reconnect_delay_set(cast(int, delay), cast(int, delay))
        return delay

    def _on_attempt(self) -> None:
        self._set_status(BrokerStatus.CONNECTING, None, None)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.next_delay()
            self._set_status(
                BrokerStatus.DISCONNECTED, f"refused: {reason_code}", reason_code.value
            )
            return
        self.next_delay(reset=True)
        self._set_status(
            BrokerStatus.CONNECTED,
            None,
            reason_code.value,
            session_present=bool(flags.session_present),
        )
        if self.subscriptions:
            result, mid = client.subscribe(self._subscribe_list())
            self._subscribe_mid = mid
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
                mlog.warning("broker %s: SUBSCRIBE not sent: %s", self.config.name, result)

    def _subscribe_list(self) -> list[tuple[str, Any]]:
        """The SUBSCRIBE's filters: ``(filter, qos)``; with MQTT 5 ``(filter, options)``
        with Retain As Published (MQTT 5.0 §3.8.3.1), so a live PUBLISH that the broker
        retains keeps its retain flag: the topic tree knows which topics have a
        retained message at the broker, not only those sent on subscription."""
        if self.config.protocol != "5":
            return [(sub.topic, sub.qos) for sub in self.subscriptions]
        return [
            (sub.topic, SubscribeOptions(qos=sub.qos, retainAsPublished=True))
            for sub in self.subscriptions
        ]

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        error = cast(PahoClient, client).last_error
        delay = self.next_delay()
        self._set_status(
            BrokerStatus.DISCONNECTED, error_text(error), None, retry_in=round(delay, 3)
        )

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self.closing:
            return
        if self._status is BrokerStatus.CONNECTED:
            self.next_delay(reset=True)
        reason = disconnect_reason(reason_code)
        if self._status is not BrokerStatus.CONNECTED and self._reason:
            reason = self._reason
        self._set_status(BrokerStatus.DISCONNECTED, reason, reason_code.value)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # MQTT requires UTF-8 topics (§1.5.3); a bad broker
            topic = msg._topic.decode("utf-8", "replace")
        props = msg.properties
        self._handover.put_message(
            MqttMessage(
                topic,
                bytes(msg.payload),
                msg.qos,
                msg.retain,
                None if props is None else publish_properties(props),
                time.time(),
            )
        )

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
        self._handover.put(
            Control(
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
        self._handover.put(
            Control(
                "published",
                {
                    "mid": mid,
                    "failure": reason_code.is_failure,
                    "reason": str(reason_code),
                    "code": reason_code.value,
                },
            )
        )
