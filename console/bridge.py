"""The bridge from the event bus to the Textual UI.

The UI is fed only through the bus. :class:`Bridge` makes one batched, coalescing
subscription (``Policy.LATEST_PER_TYPE``, a batch per frame of
:data:`FRAME_SECONDS`), folds each batch into a :class:`~console.fleet.FleetState`
(plain Python, ``console/fleet/``) and tells the app with one
:class:`Bridge.Changed` message what changed.

At most one ``Changed`` message waits in the app's queue at a time: while one is
pending, later batches only add to the pending :class:`Changes`, which the handler
takes with :meth:`Bridge.take_changes`. A slow UI therefore sees fewer, larger
updates instead of a growing queue.

:meth:`Bridge.open` first folds :meth:`~console.events.EventManager.snapshot` into
the state, so a UI opened late shows the current values at once.

Live property values (:meth:`Bridge.follow_live`): the Properties screen draws the
recent values of each property, so every value counts, not only the latest of a
frame. Once it is asked to, the bridge also subscribes to
:data:`~console.history.LIVE_PATTERNS` without coalescing (``Policy.DROP_OLDEST``,
batched per frame) and folds them with :meth:`~console.fleet.FleetState.apply_live`;
the newest value per property reaches the screens in ``Changes.live``. So no screen
subscribes to the bus itself: backend → bus → bridge → fleet state → screens.

The operator's input first (:func:`hold_for_input`, :func:`release_after_paint`): the
app holds the runtime's :class:`~console.pace.Pace` while a key is answered, so the
backends' work on the loop waits until the key's effect is painted.

This module and ``console/app.py`` are the only core modules that import Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import events
from textual.app import App
from textual.dom import DOMNode
from textual.message import Message
from textual.message_pump import MessagePump

from console.events import Event, EventManager, Pattern, Policy, Subscription
from console.fleet import Changes, FleetState
from console.history import LIVE_PATTERNS
from console.pace import Pace

__all__ = [
    "ALARM_PATTERN",
    "AUDIT_PATTERN",
    "FRAME_SECONDS",
    "MIB_PATTERN",
    "MQTT_PATTERN",
    "SNMP_PATTERN",
    "SNMP_STATUS_PATTERN",
    "STORE_PATTERN",
    "UI_PATTERNS",
    "UI_PROMPT_PATTERNS",
    "Bridge",
    "hold_for_input",
    "release_after_paint",
]

#: How long a batch stays open: the UI renders at most this often (15 frames/s).
FRAME_SECONDS = 1 / 15
#: Events folded per batch at most (one batch per step of the loop).
BATCH_EVENTS = 1000
#: Everything SNMP: device statuses, poll statistics and polled values.
SNMP_PATTERN: Pattern = ("snmp", "*")
#: The property store's status (persistent, or why not).
STORE_PATTERN: Pattern = ("store", "status")
#: Operator actions recorded in the audit log (an audit view reloads on them).
AUDIT_PATTERN: Pattern = ("audit", "*")
#: Everything MQTT: broker and device statuses, statistics, Astarte values and
#: messages (coalesced per topic and frame: a burst costs one fold per topic).
MQTT_PATTERN: Pattern = ("mqtt", "*")
#: Alarms as they change (raised, re-occurred, cleared, acknowledged, closed): the
#: latest state of each alarm id per frame (the status bar count, device rows).
ALARM_PATTERN: Pattern = ("alarm", "*")
#: The MIB names' status: compiling N/M in the background, loaded (names fill in).
MIB_PATTERN: Pattern = ("mib", "status")
#: The SNMP devices' connection statuses (and the trap receiver's).
SNMP_STATUS_PATTERN: Pattern = ("snmp", "?", "status")
#: What the app's bridge folds as soon as it is published, not at the end of a
#: frame's batch: a device's connection status is rare and what an operator watches
#: first (at start, every device's CONNECTED shows up to a frame earlier).
UI_PROMPT_PATTERNS: tuple[Pattern, ...] = (SNMP_STATUS_PATTERN,)
#: What the app's bridge subscribes to.
UI_PATTERNS: tuple[Pattern, ...] = (
    SNMP_PATTERN,
    STORE_PATTERN,
    AUDIT_PATTERN,
    MQTT_PATTERN,
    ALARM_PATTERN,
    MIB_PATTERN,
)


class Bridge:
    """Subscribe to the bus for the UI and post :class:`Bridge.Changed` to ``target``.

    Args:
        bus: the runtime's event manager.
        target: where ``Changed`` messages go (the app).
        state: the state to fold events into.
        patterns: what to subscribe to (one coalescing subscription per pattern).
        frame: batch duration in seconds.
        prompt: events (also matched by ``patterns``) folded one by one as soon as
            they are published, each also in its frame's batch (folding an event
            twice changes nothing the second time); for rare events only.
    """

    class Changed(Message):
        """Something in the bridge's state changed; take it with
        :meth:`Bridge.take_changes` (handler: ``on_bridge_changed``)."""

        def __init__(self, bridge: Bridge) -> None:
            super().__init__()
            self.bridge = bridge
            """The bridge that posted the message."""

    def __init__(
        self,
        bus: EventManager,
        target: MessagePump,
        state: FleetState,
        *,
        patterns: Sequence[Pattern] = (SNMP_PATTERN,),
        frame: float = FRAME_SECONDS,
        prompt: Sequence[Pattern] = (),
    ) -> None:
        self.bus = bus
        self.state = state
        self._target = target
        self._patterns = tuple(patterns)
        self._prompt = tuple(prompt)
        self._frame = frame
        self._subscriptions: list[Subscription] = []
        self._live: list[Subscription] = []
        self._pending = Changes()
        self._posted = False

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The bridge's live subscriptions (their ``stats`` show coalescing and drops)."""
        return tuple(self._subscriptions + self._live)

    def open(self) -> None:
        """Fold the bus snapshot into the state, then subscribe (no event is missed:
        both happen without yielding to the loop)."""
        if self._subscriptions:
            return
        for pattern in self._patterns:
            self._add(self.state.apply(self.bus.snapshot(pattern)))
            self._subscriptions.append(
                self._subscribe(pattern, self._on_batch, Policy.LATEST_PER_TYPE, "ui")
            )
        for pattern in self._prompt:
            self._subscriptions.append(
                self.bus.subscribe(
                    pattern,
                    self._on_prompt,
                    policy=Policy.LATEST_PER_TYPE,
                    name=f"ui.prompt.{'/'.join(pattern)}",
                )
            )

    def follow_live(self, patterns: Sequence[Pattern] = LIVE_PATTERNS) -> None:
        """Also fold every live property value from now on (see the module
        docstring); a second call does nothing."""
        if self._live:
            return
        self._live = [
            self._subscribe(pattern, self._on_live, Policy.DROP_OLDEST, "ui.live")
            for pattern in patterns
        ]

    def _subscribe(
        self,
        pattern: Pattern,
        callback: Callable[[list[Event]], None],
        policy: Policy,
        prefix: str,
    ) -> Subscription:
        """One batched subscription (a batch per frame), named ``PREFIX.PATTERN``."""
        return self.bus.subscribe(
            pattern,
            callback,
            policy=policy,
            batch_duration=self._frame,
            # a step of the loop folds at most this many (a flood over 100k topics
            # coalesces little): the UI's keys get their turn in between
            batch_size=BATCH_EVENTS,
            name=f"{prefix}.{'/'.join(pattern)}",
        )

    def close(self) -> None:
        """Unsubscribe; the state keeps what it knows."""
        for subscription in self._subscriptions + self._live:
            subscription.unsubscribe()
        self._subscriptions.clear()
        self._live.clear()

    def take_changes(self) -> Changes:
        """Return the changes gathered since the last call and start a new set."""
        changes, self._pending = self._pending, Changes()
        self._posted = False
        return changes

    def _on_batch(self, events: list[Event]) -> None:
        self._add(self.state.apply(events))

    def _on_prompt(self, event: Event) -> None:
        self._add(self.state.apply((event,)))

    def _on_live(self, events: list[Event]) -> None:
        self._add(self.state.apply_live(events))

    def _add(self, changes: Changes) -> None:
        if not changes:
            return
        self._pending.merge(changes)
        if not self._posted:
            self._posted = self._target.post_message(self.Changed(self))


# -- the notification feed (contract 3: the end of this module belongs to the
# notification pane's side; these imports serve only the class below) -------------------

from collections import deque  # noqa: E402
from typing import Generic, Protocol, TypeVar  # noqa: E402

_Item = TypeVar("_Item")


class _Listenable(Protocol[_Item]):
    """A source that calls back with batches: ``listen(callback) -> unlisten``."""

    def listen(self, callback: Callable[[list[_Item]], None], /) -> Callable[[], None]:
        """Call ``callback`` in the loop with each batch; return what stops it."""
        ...


class NotificationFeed(Generic[_Item]):
    """Adapt a notification source's ``listen(callback)`` (``NotificationCenter``,
    ``Monitor``) into Textual messages to ``target`` (the notification pane), so the
    UI hears of new notifications through the bridge, never from a backend's
    callback.

    Arrivals gather in one bounded buffer (the newest ``limit`` kept; what falls off
    is counted in :attr:`dropped`) and at most one :class:`NotificationFeed.Arrived`
    message waits in the target's queue at a time: while it waits, later batches
    only join the buffer, so a burst costs the UI one message per frame it draws,
    whatever the rate. The target takes the buffer with :meth:`take`.

    Args:
        source: what to listen to.
        target: where ``Arrived`` messages go.
        limit: most entries buffered between two :meth:`take` calls.
    """

    class Arrived(Message):
        """New notifications wait; take them with :meth:`NotificationFeed.take`
        (handler: ``on_notification_feed_arrived``)."""

        def __init__(self, feed: NotificationFeed[Any]) -> None:
            super().__init__()
            self.feed = feed
            """The feed that posted the message."""

    def __init__(self, source: _Listenable[_Item], target: MessagePump, *, limit: int) -> None:
        self._source = source
        self._target = target
        self._buffer: deque[_Item] = deque(maxlen=max(1, limit))
        self._posted = False
        self._unlisten: Callable[[], None] | None = None
        self.dropped = 0
        """Entries that fell off the buffer before being taken (a flood faster than
        the UI takes them), since the feed opened."""

    @property
    def is_open(self) -> bool:
        """True while the feed listens."""
        return self._unlisten is not None

    def open(self) -> None:
        """Start listening (again after :meth:`close`)."""
        if self._unlisten is None:
            self._unlisten = self._source.listen(self._on_batch)

    def close(self) -> None:
        """Stop listening; what waits is forgotten."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._buffer.clear()
        self._posted = False

    def take(self) -> list[_Item]:
        """Return the entries that arrived since the last call, oldest first."""
        batch = list(self._buffer)
        self._buffer.clear()
        self._posted = False
        return batch

    def _on_batch(self, batch: list[_Item]) -> None:
        buffer = self._buffer
        room = (buffer.maxlen or 0) - len(buffer)
        if len(batch) > room:
            self.dropped += len(batch) - room
        buffer.extend(batch)
        if batch and not self._posted:
            self._posted = self._target.post_message(self.Arrived(self))


# -- the operator's input first ------------------------------------------------------

#: Input events answered before background work (:func:`hold_for_input`).
INPUT_FIRST_EVENTS = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


def hold_for_input(event: events.Event, pace: Pace) -> bool:
    """Hold ``pace`` (:meth:`Pace.hold <console.pace.Pace.hold>`: background work waits
    at its next yield point, paho's thread stops reading, the garbage collector pauses)
    when ``event`` is a key, a click or a scroll reaching the app from the terminal
    (not one bubbling back). Returns True when held: then call
    :func:`release_after_paint` once the app has dispatched the event."""
    return isinstance(event, INPUT_FIRST_EVENTS) and not event.is_forwarded and pace.hold()


def release_after_paint(app: App[Any], pace: Pace) -> None:
    """Release ``pace`` once the input's effect is painted: a callback follows the key
    up the DOM where it bubbles (the focused widget, its ancestors, the app, which runs
    the binding's action), goes behind what the action posted to the widget (a
    ``Toggled``) and to the screen (its rebuild), then releases two frames later (the
    widget's repaint reaches the screen as a message of its own). A step that cannot
    be queued (the widget went away) releases at once; the pace's ``hold_seconds``
    bounds the rest and its ``min_hold_seconds`` covers what the chain cannot see."""
    target = app.focused or app.screen
    _release_step(app, pace, [*target.ancestors_with_self, target, app.screen])


def _release_step(app: App[Any], pace: Pace, path: list[DOMNode]) -> None:
    if not pace.holding:
        return
    if len(path) > 1:
        node, rest = path[0], path[1:]
        queued = node.is_attached and node.call_later(_release_step, app, pace, rest)
    elif path:
        queued = path[0].call_after_refresh(_release_step, app, pace, [])
    else:
        queued = app.screen.call_after_refresh(pace.release)
    if not queued:
        pace.release()
