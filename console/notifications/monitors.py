"""Monitors: named, batched subscriptions, each a tab of the Notifications screen.

A monitor (Digi Device Cloud's monitors: topic subscriptions with a batch size and a
batch duration) is configured in ``monitors:`` (:class:`console.config.MonitorConfig`)
with bus event patterns and/or MQTT topic filters. Each :class:`Monitor` owns exactly
**one** bus subscription holding all its patterns (``more_patterns``), batched by
``batch_size`` / ``batch_duration`` (seconds), so a fast topic fills its own queue and
cannot starve the other monitors or the main stream. Each batch is

1. classified (:func:`~console.notifications.model.classify` with ``fallback=True``:
   a monitor shows whatever its patterns ask for, statistics included);
2. appended to the monitor's own ring (a
   :class:`~console.notifications.payloads.NotificationRing` of ``ring_size`` entries
   and ``ring_bytes`` payload bytes, each payload cut to ``payload_bytes``: bounded
   memory);
3. handed to its listeners (the UI tab), as one list (as the ring keeps them);
4. recorded (each payload whole up to ``stored_payload_bytes``, the rest truncated
   with its size noted), when ``record:`` is set, as JSON lines (one
   :meth:`~console.notifications.model.Notification.to_record` per line, ASCII-only
   JSON) appended to a file rotated by size with the standard library's
   :class:`logging.handlers.RotatingFileHandler` (``path.1`` the newest backup). The
   file is written in a worker thread (``asyncio.to_thread``), one call per batch,
   never on the event loop; a write error is counted and kept in
   :attr:`MonitorStats.record_error`, and the monitor carries on showing entries.

5. delivered, when the monitor has a ``transport`` (``http`` or ``tcp``), to a client
   application: :attr:`Monitor.delivery`, a
   :class:`~console.notifications.delivery.Delivery` (``docs/monitors.md``), gets the
   batch's bus events (their ``--headless`` JSON), numbered, kept and replayed.

Topic filters become message patterns (:func:`console.events.topic_pattern`: ``+`` ->
``?``, ``#`` -> ``*``); a filter starting with a wildcard does not match ``$`` topics
(MQTT 3.1.1 §4.7.2), which the pattern alone would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING, Final

from console.config import MonitorConfig, RecordConfig
from console.events import (
    DEFAULT_MAXSIZE,
    Event,
    EventManager,
    Policy,
    Subscription,
    matches,
)
from console.lifecycle import ClosesOnce
from console.notifications.model import Notification, classify
from console.notifications.payloads import (
    DEFAULT_PAYLOAD_BYTES,
    DEFAULT_RING_BYTES,
    DEFAULT_STORED_PAYLOAD_BYTES,
    NotificationRing,
    cut_notification,
)
from console.topics import filter_matches

if TYPE_CHECKING:
    from console.notifications.delivery import Delivery
    from console.store import PropertyStore

__all__ = [
    "DEFAULT_RING_SIZE",
    "JsonlRecorder",
    "Monitor",
    "MonitorSet",
    "MonitorStats",
    "read_recording",
]

mlog = logging.getLogger(__name__)

#: Entries a monitor keeps in memory unless told otherwise (``notifications.ring_size``).
DEFAULT_RING_SIZE: Final = 10_000

_POLICIES: Final = {"drop_oldest": Policy.DROP_OLDEST, "block": Policy.BLOCK}


@dataclass(slots=True)
class MonitorStats:
    """Counters of one monitor, readable at any time (its tab shows them).

    Attributes:
        batches: batches delivered.
        events: notifications delivered (every entry of every batch).
        last_batch_size: entries of the latest batch.
        last_batch_at: when the latest batch arrived, seconds since the epoch.
        dropped: events the subscription dropped because the monitor fell behind
            (``policy: drop_oldest`` only).
        recorded: lines written to the recording.
        record_errors: batches the recording failed to write.
        record_error: the latest recording error (``None`` while all is well).
    """

    batches: int = 0
    events: int = 0
    last_batch_size: int = 0
    last_batch_at: float | None = None
    dropped: int = 0
    recorded: int = 0
    record_errors: int = 0
    record_error: str | None = None


class _JsonlFile(RotatingFileHandler):
    """The standard library's size rotation, with ``backupCount`` 0 meaning *truncate*
    (the library would then let the file grow forever)."""

    def doRollover(self) -> None:
        if self.backupCount > 0:
            super().doRollover()
            return
        if self.stream:
            self.stream.close()
        self.stream = open(self.baseFilename, "w", encoding=self.encoding)  # noqa: SIM115


class JsonlRecorder:
    """Appends JSON lines to a file rotated by size (blocking: call from a worker
    thread, :meth:`write` one batch at a time).

    Args:
        config: ``path`` (its directory is created), ``max_bytes`` (rotate before a
            line would make the file reach this many bytes; a single longer line is
            still written, alone), ``backups`` (rotated files kept; 0 truncates).

    Raises:
        OSError: the directory cannot be created or the file cannot be opened.
    """

    def __init__(self, config: RecordConfig) -> None:
        self.config = config
        config.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = _JsonlFile(
            config.path,
            maxBytes=config.max_bytes,
            backupCount=config.backups,
            encoding="ascii",
        )

    @property
    def path(self) -> Path:
        """The file being written (rotated ones are ``path.1`` .. ``path.N``)."""
        return self.config.path

    def write(self, records: Iterable[object]) -> int:
        """Write one ASCII JSON line per record (rotating as needed) and flush;
        returns how many lines were written.

        Raises:
            OSError: the write failed (disk full, file removed with its directory).
            TypeError, ValueError: a record is not JSON (never for
                :meth:`Notification.to_record`, whose payload is JSON).
        """
        handler = self._file
        count = 0
        for record in records:
            line = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
            entry = logging.makeLogRecord({"msg": line})
            if handler.shouldRollover(entry):
                handler.doRollover()
            if handler.stream is None:
                handler.stream = handler._open()
            handler.stream.write(line + "\n")
            count += 1
        if handler.stream is not None:
            handler.stream.flush()
        return count

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()


def read_recording(path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """The records of a recording file (one JSON object per line), for tests and
    tools.

    Raises:
        OSError: the file cannot be read; ValueError: a line is not JSON.
    """
    with open(path, encoding="ascii") as file:
        return [json.loads(line) for line in file if line.strip()]


class Monitor(ClosesOnce):
    """One monitor: its subscription, ring, listeners, statistics and recording.

    Args:
        bus: the event manager.
        config: the monitor's configuration (name, patterns, batching, policy,
            recording).
        ring_size: entries kept in memory (oldest dropped first).
        clock: wall-clock time in seconds (tests).
        ring_bytes: payload bytes kept in memory at most (oldest dropped first).
        payload_bytes: the most of one payload kept in memory (truncated past it).
        stored_payload_bytes: the most of one payload written to the recording.

    Raises:
        ValueError: ``ring_size`` or a byte limit below 1, or a config without events
            and topics.

    Usage::

        monitor = Monitor(bus, config.monitors[0], ring_size=10_000)
        await monitor.start()
        unlisten = monitor.listen(tab.add_batch)   # callback(list[Notification])
        monitor.entries                             # oldest first
        await monitor.aclose()
    """

    def __init__(
        self,
        bus: EventManager,
        config: MonitorConfig,
        *,
        ring_size: int = DEFAULT_RING_SIZE,
        clock: Callable[[], float] = time.time,
        ring_bytes: int = DEFAULT_RING_BYTES,
        payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
        stored_payload_bytes: int = DEFAULT_STORED_PAYLOAD_BYTES,
    ) -> None:
        if ring_size < 1:
            raise ValueError("ring_size must be at least 1")
        if stored_payload_bytes < 1:
            raise ValueError("stored_payload_bytes must be at least 1")
        if not config.patterns:
            raise ValueError(f"monitor {config.name!r} has neither events nor topics")
        self.name = config.name
        self.config = config
        self.stats = MonitorStats()
        self._bus = bus
        self._clock = clock
        self._ring = NotificationRing(ring_size, max_bytes=ring_bytes, entry_bytes=payload_bytes)
        self.stored_payload_bytes = stored_payload_bytes
        self._listeners: list[Callable[[list[Notification]], None]] = []
        self.delivery: Delivery | None = None
        """Where the batches are delivered (``transport``), set before :meth:`start`;
        started and closed with the monitor."""
        self._subscription: Subscription | None = None
        self._recorder: JsonlRecorder | None = None
        self._events = config.events
        self._topics = config.topics
        # only filters starting with a wildcard need the '$' check after the pattern
        self._dollar_check = any(topic[:1] in ("+", "#") for topic in config.topics)

    def __repr__(self) -> str:
        return f"<Monitor {self.name} {self.stats.events} events>"

    @property
    def entries(self) -> Sequence[Notification]:
        """The ring, oldest first (at most ``ring_size`` entries and ``ring_bytes`` of
        payloads, large payloads truncated)."""
        return self._ring

    @property
    def subscription(self) -> Subscription | None:
        """The bus subscription, once started."""
        return self._subscription

    @property
    def recording(self) -> Path | None:
        """The recording file while it is open, else ``None``."""
        return None if self._recorder is None else self._recorder.path

    def listen(self, callback: Callable[[list[Notification]], None]) -> Callable[[], None]:
        """Call ``callback(batch)`` in the loop with each new batch (a list, oldest
        first); returns a function that stops it. A callback that raises is logged and
        kept."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unlisten

    async def start(self) -> None:
        """Start the delivery (if any), open the recording (in a worker thread; a
        failure is logged and kept in :attr:`stats`, the monitor still runs) and
        subscribe.

        Raises:
            RuntimeError: already started, closing, or the bus is closed.
            OSError: a TCP delivery cannot listen.
        """
        if self._subscription is not None or self.closing:
            raise RuntimeError(f"monitor {self.name!r} is already started")
        if self.delivery is not None:
            await self.delivery.start()
        record = self.config.record
        if record is not None:
            try:
                self._recorder = await asyncio.to_thread(JsonlRecorder, record)
            except OSError as exc:
                self._record_failed(exc)
        config = self.config
        first, *rest = config.patterns
        self._subscription = self._bus.subscribe(
            first,
            self._on_batch,
            more_patterns=rest,
            policy=_POLICIES[config.policy],
            maxsize=max(DEFAULT_MAXSIZE, 2 * config.batch_size),
            batch_size=config.batch_size,
            batch_duration=config.batch_duration,
            name=f"monitor-{self.name}",
        )

    def _record_failed(self, exc: Exception) -> None:
        self.stats.record_errors += 1
        self.stats.record_error = f"{type(exc).__name__}: {exc}"
        mlog.warning("monitor %s: recording to %s failed: %s", self.name, self.config.record, exc)

    def _wanted(self, event: Event) -> bool:
        """False for a ``$`` topic that only a wildcard-first filter's pattern let in."""
        event_type = event.type
        if len(event_type) < 4 or event_type[0] != "mqtt" or event_type[2] != "message":
            return True
        if not event_type[3].startswith("$"):
            return True
        if any(matches(pattern, event_type) for pattern in self._events):
            return True
        topic = "/".join(event_type[3:])
        return any(filter_matches(topic_filter, topic) for topic_filter in self._topics)

    async def _on_batch(self, events: list[Event]) -> None:
        wanted = [e for e in events if self._wanted(e)] if self._dollar_check else events
        batch = [note for event in wanted if (note := classify(event, fallback=True)) is not None]
        stats = self.stats
        subscription = self._subscription
        if subscription is not None:
            stats.dropped = subscription.stats.dropped
        delivery = self.delivery
        if delivery is not None and wanted:
            await delivery.offer(wanted)
        if not batch:
            return
        stats.batches += 1
        stats.events += len(batch)
        stats.last_batch_size = len(batch)
        stats.last_batch_at = self._clock()
        kept = self._ring.extend(batch)
        for callback in list(self._listeners):
            try:
                callback(kept)
            except Exception:
                mlog.exception("monitor %s: listener %r failed", self.name, callback)
        recorder = self._recorder
        if recorder is not None:
            most = self.stored_payload_bytes
            records = [cut_notification(note, most).to_record() for note in batch]
            try:
                stats.recorded += await asyncio.to_thread(recorder.write, records)
            except (OSError, ValueError, TypeError) as exc:
                self._record_failed(exc)

    async def _close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.unsubscribe()
            await subscription.wait_closed()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            await asyncio.to_thread(recorder.close)
        if self.delivery is not None:
            await self.delivery.aclose()


def _delivery(
    bus: EventManager, config: MonitorConfig, store: PropertyStore | None
) -> Delivery | None:
    """The delivery of ``config``, or ``None`` (logged) when it cannot be set up."""
    import ssl

    from console.notifications.delivery import make_delivery

    try:
        return make_delivery(bus, config, store=store)
    except (OSError, ssl.SSLError, ValueError) as exc:
        mlog.error(
            "monitor %s: delivery is off: its TLS files cannot be used: %s", config.name, exc
        )
        return None


class MonitorSet(ClosesOnce):
    """Every configured monitor, started and closed together.

    Args:
        bus: the event manager.
        configs: ``Config.monitors`` (names are unique: the loader checks).
        ring_size: entries each monitor keeps in memory (``notifications.ring_size``).
        ring_bytes, payload_bytes, stored_payload_bytes: each monitor's byte limits
            (``notifications.ring_bytes``, ``payload_bytes``, ``stored_payload_bytes``;
            see :class:`Monitor`).
        store: where delivering monitors keep their batches and state, or ``None``.
            A monitor whose delivery cannot be set up (a TLS file that cannot be
            read) is logged as an error and runs as a tab only.

    Raises:
        ValueError: two monitors share a name.
    """

    def __init__(
        self,
        bus: EventManager,
        configs: Iterable[MonitorConfig],
        *,
        ring_size: int = DEFAULT_RING_SIZE,
        ring_bytes: int = DEFAULT_RING_BYTES,
        payload_bytes: int = DEFAULT_PAYLOAD_BYTES,
        stored_payload_bytes: int = DEFAULT_STORED_PAYLOAD_BYTES,
        store: PropertyStore | None = None,
    ) -> None:
        self.monitors: dict[str, Monitor] = {}
        """The monitors by name, in configuration order."""
        for config in configs:
            if config.name in self.monitors:
                raise ValueError(f"duplicate monitor name {config.name!r}")
            self.monitors[config.name] = Monitor(
                bus,
                config,
                ring_size=ring_size,
                ring_bytes=ring_bytes,
                payload_bytes=payload_bytes,
                stored_payload_bytes=stored_payload_bytes,
            )
            if config.transport is not None:
                self.monitors[config.name].delivery = _delivery(bus, config, store)

    async def start(self) -> None:
        """Start every monitor, in order.

        Raises:
            RuntimeError: as :meth:`Monitor.start` (the ones started are closed).
        """
        try:
            for monitor in self.monitors.values():
                await monitor.start()
        except BaseException:
            await self.aclose()
            raise

    async def _close(self) -> None:
        await asyncio.gather(*(monitor.aclose() for monitor in self.monitors.values()))
