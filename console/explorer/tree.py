"""Every MQTT topic seen on every broker, level by level, bounded in memory.

:class:`TopicTree` folds the bus's message events (``("mqtt", DEVICE, "message",
*LEVELS)`` and ``("mqtt", "@BROKER", "message", *LEVELS)``, ``docs/events.md``) into
a tree whose first level is the broker (``@plant``) and whose next levels are the
topic's levels (MQTT 3.1.1 §4.7: ``a//b`` has an empty middle level). Each node keeps

* ``count``: messages received by the topics at and under it (a collapsed subtree
  shows its sum);
* ``rate``: messages per second over the last :data:`RATE_WINDOW` seconds (a sliding
  window estimated from two fixed buckets, as Cloudflare's rate limiter does), at and
  under it;
* ``last``: when the newest message at or under it arrived (s since the epoch);
* ``retained_count``: topics at and under it whose retained message is known to be
  on the broker: a message delivered with the retain flag and a payload (MQTT 3.1.1
  §3.3.1.3), until an empty retained publish deletes it. A broker subscribed with
  Retain As Published (MQTT 5.0 §3.8.3.1, ``retain_as_published``) flags live
  retained publishes too, so there the flag is exact: a message without it changes
  nothing, an empty one with it clears. Elsewhere a live publish arrives without the
  flag (MQTT 3.1.1 §3.3.1.3), so any empty payload on a retained topic clears it (the
  usual way to delete one) and a retained publish made after subscribing is missed;

and a topic node (one that received a message) also its QoS, its device (when a
device rule maps it) and its history: the newest messages, bounded per topic by
count and bytes, and in total by :attr:`TopicTree.history_total_bytes`, which counts
each message's payload plus :data:`MESSAGE_OVERHEAD` bytes (past it, the topics that
have held more than one message the longest keep only their newest message, first in
first out: a queue of the topics with history, so a flood over 100k topics pays a few
pops per message, never a sort of every topic). Payloads are kept cut at
``payload_limit`` bytes (the size received is kept).

Bounded: at most ``max_topics`` topic nodes; past that the least recently seen topics
(by their last message) are trimmed, :data:`TRIM_FRACTION` of the bound at a time so
the sort this takes is paid once per many new topics (their counts leave their
ancestors, emptied levels go too), counted in :attr:`TopicTree.trimmed`. A trimmed
topic's messages are still in the store's notification log when the store keeps
message notifications (``docs/store.md``; :mod:`console.explorer.stored`).

The tree subscribes to the bus itself (:meth:`TopicTree.attach`, ``Policy.BLOCK``
batched: no message is lost, a slow fold slows the broker connection as every
``BLOCK`` subscriber does) and tells listeners (:meth:`TopicTree.listen`, the UI's
feed in ``console/bridge.py``) which topic nodes each batch touched.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from console.events import Event, EventManager, Policy, Subscription
from console.topics import filter_matches, validate_filter

__all__ = [
    "MESSAGE_OVERHEAD",
    "MESSAGE_PATTERN",
    "RATE_WINDOW",
    "TopicFilter",
    "TopicMessage",
    "TopicNode",
    "TopicTree",
]

#: Every MQTT message event of the bus.
MESSAGE_PATTERN: Final = ("mqtt", "?", "message", "*")
#: The rates' window (seconds).
RATE_WINDOW: Final = 10.0
#: Bytes a kept message costs beyond its payload (the tuple and the bytes object),
#: counted against ``history_total_bytes``.
MESSAGE_OVERHEAD: Final = 120
#: Share of ``max_topics`` trimmed at once when the bound is passed.
TRIM_FRACTION: Final = 0.05
#: Events folded per batch (one listener call per batch); small enough that a batch
#: holds the event loop for milliseconds, not tens (keys are read in between).
BATCH_SIZE: Final = 128
#: Seconds a batch stays open.
BATCH_SECONDS: Final = 0.05


class TopicMessage(NamedTuple):
    """One message of a topic's history (a named tuple: cheap to make at 20k/s).

    Attributes:
        received: when fleettop got it (s since the epoch).
        payload: the payload, cut at the tree's ``payload_limit`` bytes.
        size: the payload's size as received (bytes).
        qos: 0, 1 or 2.
        retain: the retain flag as delivered (true for a retained message sent on
            subscription).
    """

    received: float
    payload: bytes
    size: int
    qos: int
    retain: bool

    @property
    def truncated(self) -> bool:
        """True when :attr:`payload` is shorter than the message was."""
        return len(self.payload) < self.size


_NO_CHILDREN: dict[str, TopicNode] = {}
"""Shared by every leaf (never written to): a dict each costs ~64 bytes."""


class TopicNode:
    """One level of the tree (see the module docstring for the counters).

    ``topic`` is the whole topic name for a node that received messages (a *topic
    node*), else ``None``; the first level under the root is a broker (``name`` is
    ``@BROKER``, ``topic`` None).
    """

    __slots__ = (
        "_aging",
        "_bucket",
        "_in_bucket",
        "_previous",
        "broker",
        "children",
        "count",
        "depth",
        "device",
        "expanded",
        "history",
        "history_bytes",
        "last",
        "name",
        "parent",
        "qos",
        "retained",
        "retained_count",
        "topic",
        "topic_total",
    )

    def __init__(self, name: str, parent: TopicNode | None, broker: str) -> None:
        self.name = name
        self.parent = parent
        self.broker = broker
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.children: dict[str, TopicNode] = _NO_CHILDREN
        self.count = 0
        self.last: float = 0.0
        self._bucket = 0
        self._in_bucket = 0
        self._previous = 0
        self.retained_count = 0
        self.topic: str | None = None
        self.topic_total = 0
        """Topic nodes at and under this node."""
        self.retained = False
        self.qos = 0
        self.device: str | None = None
        self.history: list[TopicMessage] = []
        self.history_bytes = 0
        self._aging = False  # queued in its tree's _aging (holds more than one message)
        self.expanded = parent is None or parent.parent is None  # brokers start open

    def __repr__(self) -> str:
        return f"TopicNode({self.path!r}, count={self.count})"

    @property
    def path(self) -> str:
        """``@BROKER/level/level``, or ``@BROKER`` for a broker node."""
        parts: list[str] = []
        node: TopicNode | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/".join(reversed(parts))

    @property
    def latest(self) -> TopicMessage | None:
        """The newest message of a topic node, else ``None``."""
        return self.history[-1] if self.history else None

    def rate(self, now: float) -> float:
        """Messages per second at and under this node over the last
        :data:`RATE_WINDOW` seconds before ``now``: the current bucket plus the
        previous one weighted by how much of it the window still covers."""
        bucket, offset = divmod(now, RATE_WINDOW)
        covered = 1.0 - offset / RATE_WINDOW
        if int(bucket) == self._bucket:
            return (self._in_bucket + self._previous * covered) / RATE_WINDOW
        if int(bucket) == self._bucket + 1:
            return self._in_bucket * covered / RATE_WINDOW
        return 0.0

    def walk(self) -> Iterator[TopicNode]:
        """This node and every node under it, depth first (children unsorted)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children.values())

    def topics(self) -> Iterator[TopicNode]:
        """The topic nodes at and under this node."""
        return (node for node in self.walk() if node.topic is not None)


@dataclass(frozen=True, slots=True)
class TopicFilter:
    """What the tree shows: topics whose name contains ``text`` (any case), or, for
    a text with ``+`` or ``#``, topics an MQTT topic filter matches (§4.7).

    Build it with :meth:`parse`.
    """

    text: str
    wildcard: bool

    @classmethod
    def parse(cls, text: str) -> TopicFilter | None:
        """The filter ``text`` asks for; ``None`` for an empty text.

        Raises:
            ValueError: a text with ``+``/``#`` that is not a valid topic filter
                (``a/b#``: the reason, for the operator).
        """
        text = text.strip()
        if not text:
            return None
        if "+" in text or "#" in text:
            validate_filter(text)
            return cls(text, True)
        return cls(text.lower(), False)

    def matches(self, topic: str) -> bool:
        """True when ``topic`` (a topic name) is shown."""
        if self.wildcard:
            return filter_matches(self.text, topic)
        return self.text in topic.lower()


Listener = Callable[[list[TopicNode]], None]


class TopicTree:
    """The tree of every topic seen (see the module docstring).

    Args:
        max_topics: topic nodes kept in memory (the least recently seen go first).
        history_messages: messages kept per topic.
        history_bytes: payload bytes kept per topic (the newest message always stays).
        history_total_bytes: payload bytes kept over every topic's history; past it
            the topics that have held more than one message the longest keep only
            their newest message.
        payload_limit: bytes of each payload kept.
        retain_as_published: brokers whose messages carry the retain flag as
            published (subscribed with MQTT 5's Retain As Published): their flag
            is taken as exact (see the module docstring).

    Raises:
        ValueError: a bound below 1.
    """

    def __init__(
        self,
        *,
        max_topics: int = 100_000,
        history_messages: int = 50,
        history_bytes: int = 256 * 1024,
        history_total_bytes: int = 32 * 1024 * 1024,
        payload_limit: int = 64 * 1024,
        retain_as_published: Iterable[str] = (),
    ) -> None:
        if min(max_topics, history_messages, history_bytes, history_total_bytes, payload_limit) < 1:
            raise ValueError("the topic tree's bounds must be at least 1")
        self.max_topics = max_topics
        self.history_messages = history_messages
        self.history_bytes = history_bytes
        self.history_total_bytes = history_total_bytes
        self.payload_limit = payload_limit
        self.retain_as_published = frozenset(retain_as_published)
        """Brokers whose retain flag is exact (MQTT 5 Retain As Published)."""
        self.root = TopicNode("", None, "")
        self.trimmed = 0
        """Topic nodes trimmed since start (the bound was reached)."""
        self.messages = 0
        """Messages folded since start."""
        self.structure_version = 0
        """Grows whenever a node is added or removed (a view rebuilds its rows)."""
        self._topics: dict[str, dict[str, TopicNode]] = {}
        self._count = 0
        self._held_bytes = 0
        # the topic nodes holding more than one message, in the order they came to:
        # past history_total_bytes the first ones keep only their newest message
        self._aging: deque[TopicNode] = deque()
        self._aging_dead = 0  # forgotten nodes still queued there
        self._listeners: list[Listener] = []
        self._subscription: Subscription | None = None

    # -- reading ------------------------------------------------------------------------

    @property
    def topic_count(self) -> int:
        """Topic nodes in memory."""
        return self._count

    @property
    def held_bytes(self) -> int:
        """Payload bytes held by every topic's history."""
        return self._held_bytes

    def brokers(self) -> list[TopicNode]:
        """The broker nodes, by name."""
        return [self.root.children[name] for name in sorted(self.root.children)]

    def find(self, broker: str, topic: str) -> TopicNode | None:
        """The topic node of ``topic`` on ``broker``, else ``None``."""
        topics = self._topics.get(broker)
        return topics.get(topic) if topics is not None else None

    def nodes(self) -> Iterator[TopicNode]:
        """Every topic node (broker by broker, in no useful order)."""
        for topics in self._topics.values():
            yield from topics.values()

    def rows(self, topic_filter: TopicFilter | None = None) -> list[TopicNode]:
        """The nodes to show, in order (brokers by name, levels by name, depth first):
        without a filter, the children of expanded nodes; with one, the matching
        topics and their ancestors, all open. Cost: the rows returned (plus one test
        per topic with a filter)."""
        out: list[TopicNode] = []
        if topic_filter is None:
            stack = list(reversed(self.brokers()))
            while stack:
                node = stack.pop()
                out.append(node)
                if node.expanded and node.children:
                    stack.extend(node.children[k] for k in sorted(node.children, reverse=True))
            return out
        keep: set[TopicNode] = set()
        for node in self.nodes():
            assert node.topic is not None
            if topic_filter.matches(node.topic):
                up: TopicNode | None = node
                while up is not None and up not in keep:
                    keep.add(up)
                    up = up.parent
        stack = [b for b in reversed(self.brokers()) if b in keep]
        while stack:
            node = stack.pop()
            out.append(node)
            kids = [node.children[k] for k in sorted(node.children, reverse=True)]
            stack.extend(kid for kid in kids if kid in keep)
        return out

    # -- feeding ------------------------------------------------------------------------

    def add(
        self,
        broker: str,
        topic: str,
        payload: bytes,
        *,
        qos: int = 0,
        retain: bool = False,
        received: float,
        size: int | None = None,
        device: str | None = None,
    ) -> TopicNode:
        """Fold one message of ``topic`` on ``broker``; return its topic node.

        ``size`` is the payload's size as received (default ``len(payload)``);
        ``payload`` is cut at ``payload_limit`` bytes. A payload with the retain flag
        marks the topic retained; an empty one with it clears the mark (an empty
        retained publish deletes a retained message, MQTT 3.1.1 §3.3.1.3); on a broker
        not in ``retain_as_published`` any empty payload on a retained topic clears
        it too (live publishes come without the flag there).
        """
        topics = self._topics.get(broker)
        if topics is None:
            topics = self._topics[broker] = {}
        node = topics.get(topic)
        if node is None:
            node = self._create(broker, topic)
            topics[node.topic or topic] = node
            self._count += 1
            self.structure_version += 1
        message = TopicMessage(
            received,
            payload[: self.payload_limit] if len(payload) > self.payload_limit else payload,
            len(payload) if size is None else size,
            qos,
            retain,
        )
        node.qos = qos
        if device is not None:
            node.device = device
        self._remember(node, message)
        if retain:
            retained = message.size > 0
        elif broker in self.retain_as_published:
            retained = node.retained  # not a retained publish: the broker's is unchanged
        else:
            retained = node.retained and message.size > 0
        delta = int(retained) - int(node.retained)
        node.retained = retained
        bucket = int(received // RATE_WINDOW)
        up: TopicNode | None = node
        while up is not None:
            up.count += 1
            if received > up.last:
                up.last = received
            if bucket != up._bucket:
                if bucket > up._bucket:
                    up._previous = up._in_bucket if bucket == up._bucket + 1 else 0
                    up._bucket, up._in_bucket = bucket, 0
                else:  # an older bucket (out of order): count it in the current one
                    bucket = up._bucket
            up._in_bucket += 1
            if delta:
                up.retained_count += delta
            up = up.parent
        self.messages += 1
        if self._count > self.max_topics:
            self._trim()
        return node

    def _create(self, broker: str, topic: str) -> TopicNode:
        root = self.root
        node = root.children.get("@" + broker)
        if node is None:
            if root.children is _NO_CHILDREN:
                root.children = {}
            node = root.children["@" + broker] = TopicNode("@" + broker, root, broker)
        for level in topic.split("/"):
            child = node.children.get(level)
            if child is None:
                if node.children is _NO_CHILDREN:
                    node.children = {}
                # level names repeat across topics (s1, temp): one string each
                child = node.children[level] = TopicNode(sys.intern(level), node, broker)
            node = child
        node.topic = topic
        up: TopicNode | None = node
        while up is not None:
            up.topic_total += 1
            up = up.parent
        return node

    def _remember(self, node: TopicNode, message: TopicMessage) -> None:
        history = node.history
        history.append(message)
        if not node._aging and len(history) > 1:
            node._aging = True
            self._aging.append(node)
        cost = len(message.payload) + MESSAGE_OVERHEAD
        node.history_bytes += cost
        self._held_bytes += cost
        if len(history) > self.history_messages or node.history_bytes > self.history_bytes:
            while len(history) > 1 and (
                len(history) > self.history_messages or node.history_bytes > self.history_bytes
            ):
                self._drop_oldest(node)
        if self._held_bytes > self.history_total_bytes:
            self._shrink_histories()

    def _drop_oldest(self, node: TopicNode) -> None:
        gone = node.history.pop(0)
        cost = len(gone.payload) + MESSAGE_OVERHEAD
        node.history_bytes -= cost
        self._held_bytes -= cost

    def _shrink_histories(self) -> None:
        """Past ``history_total_bytes``: the topics that have held more than one
        message the longest keep only their newest one, until a tenth of the budget is
        free (first in, first out: a few pops per message, no sort)."""
        goal = self.history_total_bytes * 0.9
        aging = self._aging
        while aging and self._held_bytes > goal:
            node = aging.popleft()
            node._aging = False
            if node.topic is None:  # forgotten meanwhile
                self._aging_dead -= 1
                continue
            while len(node.history) > 1:
                self._drop_oldest(node)

    def _trim(self) -> None:
        """Forget the least recently seen topic nodes (by their last message),
        :data:`TRIM_FRACTION` of the bound at once: their own counts leave their
        ancestors, emptied levels go too."""
        excess = self._count - self.max_topics
        if excess <= 0:
            return
        batch = max(excess, int(self.max_topics * TRIM_FRACTION))
        oldest = sorted(self.nodes(), key=lambda n: n.last)[:batch]
        for node in oldest:
            self._forget(node)
        self.structure_version += 1

    def _forget(self, node: TopicNode) -> None:
        assert node.topic is not None
        del self._topics[node.broker][node.topic]
        self._count -= 1
        self._held_bytes -= node.history_bytes
        count, retained = node.count, int(node.retained)
        own = count - sum(child.count for child in node.children.values())
        node.topic = None
        node.history = []
        node.history_bytes = 0
        if node._aging:
            self._aging_dead += 1
            if self._aging_dead > len(self._aging) // 2:  # drop the dead in one pass
                self._aging = deque(n for n in self._aging if n.topic is not None)
                self._aging_dead = 0
        node.retained = False
        up: TopicNode | None = node
        while up is not None:  # its own messages leave every level above
            up.count -= own
            up.topic_total -= 1
            up.retained_count -= retained
            up = up.parent
        self._prune(node)
        self.trimmed += 1

    def _prune(self, node: TopicNode) -> None:
        while node.parent is not None and not node.children and node.topic is None:
            del node.parent.children[node.name]
            node = node.parent

    def fold(self, events: Iterable[Event]) -> list[TopicNode]:
        """Fold message events (``docs/events.md``); return the topic nodes touched,
        in order. Events of another shape are skipped."""
        touched: list[TopicNode] = []
        for event in events:
            payload = event.payload
            if not isinstance(payload, Mapping):
                continue
            try:
                data = base64.b64decode(str(payload.get("payload") or ""), validate=False)
                size = payload.get("size")
                qos = payload.get("qos")
                received = payload.get("received")
                device = payload.get("device")
                node = self.add(
                    str(payload["broker"]),
                    str(payload["topic"]),
                    data,
                    qos=qos if isinstance(qos, int) else 0,
                    retain=payload.get("retain") is True,
                    received=float(received)
                    if isinstance(received, int | float)
                    else event.timestamp,
                    size=size if isinstance(size, int) else None,
                    device=device if isinstance(device, str) else None,
                )
            except (KeyError, binascii.Error):
                continue
            touched.append(node)
        return touched

    # -- the bus and listeners -----------------------------------------------------------

    def attach(self, bus: EventManager) -> Subscription:
        """Subscribe to every message event of ``bus`` (``Policy.BLOCK``, batched);
        a second call returns the same subscription."""
        if self._subscription is None:
            self._subscription = bus.subscribe(
                MESSAGE_PATTERN,
                self._on_events,
                policy=Policy.BLOCK,
                batch_size=BATCH_SIZE,
                batch_duration=BATCH_SECONDS,
                name="topics",
            )
        return self._subscription

    def detach(self) -> None:
        """Stop following the bus (what the tree holds stays)."""
        if self._subscription is not None:
            self._subscription.unsubscribe()
            self._subscription = None

    def _on_events(self, events: list[Event]) -> None:
        touched = self.fold(events)
        if touched:
            for listener in list(self._listeners):
                listener(touched)

    def listen(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(touched_topic_nodes)`` after each batch folded from the bus;
        return what stops it."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unlisten
