"""One MQTT broker connection: paho-mqtt 2.x in its network thread, handing what it
receives to the asyncio loop in bounded batches.

:class:`BrokerConnection` ties three parts together, each its own module:

* :mod:`console.mqtt.paho_adapter` -- the paho client and its callbacks in paho's
  thread: connection status, capped and jittered reconnection backoff, one SUBSCRIBE
  per CONNACK (MQTT 3.1.1 §3.1-3.9, MQTT 5.0 §3.1-3.9);
* :mod:`console.mqtt.handover` -- the bounded thread-to-loop queue and its pump (one
  wake-up per batch, backpressure on paho's thread instead of dropping);
* :mod:`console.mqtt.publishes` -- publish outcomes as futures, and the echoes of
  operator publishes marked as fleettop's own.

Events (``docs/events.md``): status changes as ``("mqtt", "@BROKER", "status")``
(``CONNECTING`` before each attempt, ``CONNECTED``, ``DISCONNECTED`` with the reason
and, after a failed attempt, ``retry_in`` seconds), the SUBACK as ``("mqtt",
"@BROKER", "subscribed")``, and by default one message event per message, published
with :meth:`~console.events.EventManager.publish_wait` so that a ``BLOCK``
subscriber of the bus slows the pump, and through it the network thread.
"""

from __future__ import annotations

import asyncio
from binascii import b2a_base64 as _b64
from collections.abc import Callable, Sequence
from typing import Any

from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from console.config import BrokerConfig, MqttSubscription
from console.events import EventManager, JsonValue
from console.lifecycle import ClosesOnce
from console.mqtt.errors import MqttError, MqttNotConnectedError
from console.mqtt.handover import (
    CHUNK,
    DEFAULT_MAX_PENDING,
    DEFAULT_MAX_PENDING_BYTES,
    ConnectionStats,
    Control,
    Handover,
    MessageHandler,
    MqttMessage,
)
from console.mqtt.paho_adapter import BrokerStatus, PahoSession, new_client_id
from console.mqtt.pahoclient import paho
from console.mqtt.publishes import (
    OWN_PROPERTY,
    PUBLISH_TIMEOUT,
    OwnPublishes,
    PublishFutures,
    PublishResult,
)
from console.topics import filter_covers, validate_topic

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
    "message_payload",
]


def merge_subscriptions(
    subscriptions: Sequence[MqttSubscription], extra: Sequence[MqttSubscription]
) -> tuple[MqttSubscription, ...]:
    """The filters to subscribe to: ``subscriptions`` (the broker's, configured by the
    operator) then ``extra`` (the devices' and device rules'), each filter once at the
    highest QoS it was asked with, without overlaps: overlapping subscriptions may
    deliver a message once per matching subscription (MQTT 5.0 §3.3.4; mosquitto
    does), so

    * an ``extra`` filter that a broker filter covers (:func:`~console.topics.filter_covers`)
      is dropped whatever the QoS: the broker filter's QoS is the operator's choice
      (``spBv1.0/#`` at QoS 0 and a device rule's ``spBv1.0/+/#`` made every message
      arrive twice);
    * any other filter is dropped when another kept filter covers it at a QoS at
      least its own (a broker filter at a higher QoS than a wider one stays).
    """
    merged: dict[str, int] = {}
    for sub in (*subscriptions, *extra):
        merged[sub.topic] = max(merged.get(sub.topic, 0), sub.qos)
    configured = {sub.topic for sub in subscriptions}

    def covered(topic: str, qos: int) -> bool:
        for other, other_qos in merged.items():
            if other == topic or not filter_covers(other, topic):
                continue
            if other_qos >= qos or (other in configured and topic not in configured):
                return True
        return False

    return tuple(
        MqttSubscription(topic, qos) for topic, qos in merged.items() if not covered(topic, qos)
    )


class BrokerConnection(ClosesOnce):
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
        await connection.aclose()   # idempotent, completes even if the caller is cancelled
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
        self._handler = handler or self._publish_messages
        self.subscriptions = merge_subscriptions(config.subscriptions, extra_subscriptions)
        self._on_status = on_status
        self.stats = ConnectionStats()
        self.status = BrokerStatus.DISCONNECTED
        self.reason: str | None = "not started"
        self.client_id = config.client_id or new_client_id()
        loop = asyncio.get_running_loop()
        self._handover = Handover(
            loop,
            deliver=self._deliver,
            apply=self._apply_control,
            stats=self.stats,
            max_pending=max_pending,
            max_pending_bytes=max_pending_bytes,
            name=self.name,
            pace=bus.pace,
        )
        self._session = PahoSession(config, self.client_id, self.subscriptions, self._handover)
        self._publishes = PublishFutures(loop)
        self._own = OwnPublishes()
        self._marked = config.protocol == "5"  # own publishes carry OWN_PROPERTY
        self._started = False

    @property
    def pending(self) -> int:
        """Items (messages and status controls) waiting in the hand-over for the loop
        now; at most ``max_pending`` messages plus a few controls."""
        return self._handover.waiting

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start the pump and paho's network thread; the first connection attempt
        happens in that thread (``CONNECTING`` is published when it begins).

        Raises:
            RuntimeError: started twice or after :meth:`aclose`.
            ValueError, OSError: the TLS files cannot be loaded.
        """
        if self._started or self.closing:
            raise RuntimeError(f"broker connection {self.name} was already started")
        self._started = True
        self._session.start()
        self.spawn(self._handover.pump(), name=f"mqtt-pump-{self.name}")

    async def _close(self) -> None:
        """Disconnect (a clean DISCONNECT when connected), stop paho's thread and the
        pump; pending publishes end with ``CLOSED``."""
        self._session.closing = True
        self._handover.release()
        if self._session.client is not None:
            await asyncio.to_thread(self._session.stop)
        # hand over what paho delivered before it stopped, then stop the pump
        self._handover.flush()
        await asyncio.sleep(0)
        await self.cancel_tasks()
        self._publishes.close()
        if self.status is not BrokerStatus.DISCONNECTED or self.reason != "closed":
            self._apply_status(
                {"status": BrokerStatus.DISCONNECTED, "reason": "closed", "reason_code": None}
            )

    def subscribe_more(self, topics: Sequence[str], qos: int = 1) -> list[str]:
        """Subscribe to the topic names of ``topics`` not subscribed to by name yet
        (Home Assistant discovery's state and availability topics): now when
        connected, and on every reconnection; their retained messages arrive even
        when a wider filter already covers them. Returns the topics added."""
        known = {sub.topic for sub in self.subscriptions}
        added = [MqttSubscription(t, qos) for t in dict.fromkeys(topics) if t not in known]
        if added:
            self.subscriptions = (*self.subscriptions, *added)
            self._session.add_subscriptions(added)
        return [sub.topic for sub in added]

    # -- the loop --------------------------------------------------------------------

    async def _deliver(self, messages: list[MqttMessage]) -> None:
        """Mark the echoes of operator publishes, then hand the messages on."""
        own = self._own
        if own.waiting or self._marked:
            for index, m in enumerate(messages):
                if (m.properties or own.waiting) and own.is_echo(m.topic, m.payload, m.properties):
                    messages[index] = m._replace(own=True)
        await self._handler(messages)

    def _apply_control(self, item: Control) -> None:
        if item.kind == "status":
            self._apply_status(item.data)
        elif item.kind == "subscribed":
            self._bus.publish(("mqtt", self.source, "subscribed"), item.data)
        elif item.kind == "published":
            data = item.data
            self._publishes.acknowledged(data["mid"], data["failure"], data["reason"], data["code"])

    def _apply_status(self, data: dict[str, Any]) -> None:
        status = BrokerStatus(data["status"])
        self.status, self.reason = status, data.get("reason")
        if status is BrokerStatus.CONNECTED:
            self.stats.connects += 1
        elif status is BrokerStatus.DISCONNECTED:
            self._publishes.disconnected()
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

        The message is remembered so that its echo is marked ``own``; with MQTT 5 it
        carries the user property :data:`~console.mqtt.publishes.OWN_PROPERTY` (added
        to ``properties`` when given). Publishes no event: callers
        (:class:`~console.mqtt.fleet.MqttFleet`) publish the ``publish`` event with
        what they know.

        Raises:
            ValueError: ``topic`` is not a topic name, or ``qos`` is not 0..2.
            MqttNotConnectedError: the broker is not ``CONNECTED``.
        """
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"QoS must be 0, 1 or 2, got {qos!r}")
        client = self._session.client
        if client is None or self.status is not BrokerStatus.CONNECTED:
            raise MqttNotConnectedError(
                f"broker {self.name} is {self.status}"
                + (f" ({self.reason})" if self.reason else "")
            )
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        if self.config.protocol == "5":
            if properties is None:
                properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = OWN_PROPERTY  # paho appends to the list
        self._own.sent(topic, data)
        info = client.publish(topic, data, qos, retain, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return PublishResult(False, paho.error_string(info.rc), None, info.mid)
        result = await self._publishes.wait(info.mid, qos, timeout)
        self.stats.published += 1
        return result


def message_payload(m: MqttMessage, broker: str, device: str | None) -> dict[str, JsonValue]:
    """The payload of a message event (``docs/events.md``): the whole payload as
    base64 (``payload``), its ``size``, the MQTT fields, the MQTT 5 properties,
    ``received`` (s since the epoch) and ``own`` (the echo of an operator publish).
    Screens decode it for display with :func:`console.mqtt.codec.decode_payload`."""
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
        "own": m.own,
    }
