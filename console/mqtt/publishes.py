"""Operator publishes: their outcome as a future resolved on the loop, and their
echoes recognised when the broker sends them back.

Outcome (MQTT 3.1.1 §4.3): a QoS 0 publish is done when paho wrote it, QoS 1 at
PUBACK, QoS 2 at PUBCOMP; paho reports each in its thread (``on_publish``), the
hand-over brings it to the loop in order, and :class:`PublishFutures` resolves the
waiting future. A QoS 0 publish still waiting when the connection drops ends
``DISCONNECTED`` (paho will not send it); QoS 1 and 2 wait for the session to resume
them, up to the caller's timeout (``TIMEOUT``); closing ends them ``CLOSED``.

Echoes: a broker delivers a message to every matching subscription, fleettop's own
included, so an operator's publish to a topic that fleettop subscribes to comes back
(MQTT 3.1.1 has no way to refuse it; MQTT 5's No Local option, §3.8.3.1, would refuse
every own message, including those the operator wants to watch). fleettop keeps
them, marked as its own (:attr:`~console.mqtt.handover.MqttMessage.own`), so that
they are shown but never taken for a device's traffic: :class:`OwnPublishes`
remembers what was published for :data:`ECHO_WINDOW` seconds, and with MQTT 5 each
operator publish carries the user property :data:`OWN_PROPERTY`, which the broker
forwards and keeps with a retained message, so its echo is recognised after a
restart too (MQTT 5.0 §3.3.2.3.7).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from console.events import JsonValue

__all__ = [
    "ECHO_WINDOW",
    "OWN_PROPERTY",
    "PUBLISH_TIMEOUT",
    "OwnPublishes",
    "PublishFutures",
    "PublishResult",
]

#: Seconds a publish waits for its PUBACK/PUBCOMP before it is reported as TIMEOUT.
PUBLISH_TIMEOUT: Final = 30.0
#: Seconds an operator publish is remembered to recognise its echo.
ECHO_WINDOW: Final = 2 * PUBLISH_TIMEOUT
#: The MQTT 5 user property (name, value) on every operator publish.
OWN_PROPERTY: Final = ("fleettop", "operator")
#: Operator publishes remembered at most (the oldest are forgotten first).
_ECHO_LIMIT: Final = 10_000


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The outcome of :meth:`~console.mqtt.client.BrokerConnection.publish`.

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


class PublishFutures:
    """The futures of publishes waiting for their outcome, by paho message id (used
    on the loop only)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._futures: dict[int, asyncio.Future[PublishResult]] = {}
        self._qos_of: dict[int, int] = {}

    async def wait(self, mid: int, qos: int, timeout: float) -> PublishResult:  # noqa: ASYNC109
        """Wait for the outcome of publish ``mid`` (a ``TIMEOUT`` result after
        ``timeout`` seconds; the timeout is a result, not a cancellation)."""
        future: asyncio.Future[PublishResult] = self._loop.create_future()
        self._futures[mid] = future
        self._qos_of[mid] = qos
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            return PublishResult(False, "TIMEOUT", None, mid)
        finally:
            self._futures.pop(mid, None)
            self._qos_of.pop(mid, None)

    def acknowledged(self, mid: int, failure: bool, reason: str, code: int) -> None:
        """paho reported publish ``mid`` done (``failure``: its reason code is one)."""
        future = self._futures.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(PublishResult(not failure, reason if failure else None, code, mid))

    def disconnected(self) -> None:
        """The connection dropped: waiting QoS 0 publishes end ``DISCONNECTED``."""
        for mid, future in list(self._futures.items()):
            if not future.done() and self._qos_of.get(mid, 0) == 0:
                future.set_result(PublishResult(False, "DISCONNECTED", None, mid))
                self._futures.pop(mid, None)

    def close(self) -> None:
        """The connection closed: every waiting publish ends ``CLOSED``."""
        for future in self._futures.values():
            if not future.done():
                future.set_result(PublishResult(False, "CLOSED", None, None))
        self._futures.clear()


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


class OwnPublishes:
    """What this connection published lately, to recognise each echo once (used on
    the loop only). A message to a topic not published lately costs one dict lookup.

    Args:
        window: seconds a publish is remembered (:data:`ECHO_WINDOW`).
        clock: the monotonic clock (tests may pass their own).
    """

    def __init__(
        self, window: float = ECHO_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window
        self._now = clock
        # topic -> (time published, payload digest), oldest first; topics in the
        # order of their last publish
        self._sent: OrderedDict[str, list[tuple[float, bytes]]] = OrderedDict()

    @property
    def waiting(self) -> bool:
        """True while some publish may still echo."""
        return bool(self._sent)

    def sent(self, topic: str, payload: bytes) -> None:
        """Remember that ``payload`` was published to ``topic`` now."""
        now = self._now()
        sent = self._sent
        sent.setdefault(topic, []).append((now, _digest(payload)))
        sent.move_to_end(topic)
        # the topic published longest ago first: forget what no echo can match
        while sent and (
            len(sent) > _ECHO_LIMIT or now - next(iter(sent.values()))[-1][0] > self._window
        ):
            sent.popitem(last=False)

    def is_echo(self, topic: str, payload: bytes, properties: dict[str, JsonValue] | None) -> bool:
        """Tell whether a received message is the echo of an own publish: it carries
        :data:`OWN_PROPERTY`, or the same payload was published to the same topic
        within the window (that publish is then consumed: one echo each)."""
        if properties and _has_own_property(properties.get("UserProperty")):
            return True
        entries = self._sent.get(topic)
        if not entries:
            return False
        now = self._now()
        while entries and now - entries[0][0] > self._window:
            entries.pop(0)
        digest = _digest(payload)
        for index, (_, sent_digest) in enumerate(entries):
            if sent_digest == digest:
                del entries[index]
                break
        else:
            index = -1
        if not entries:
            del self._sent[topic]
        return index >= 0


def _has_own_property(pairs: JsonValue) -> bool:
    if not isinstance(pairs, Sequence):
        return False
    return any(isinstance(p, Sequence) and tuple(p) == OWN_PROPERTY for p in pairs)
