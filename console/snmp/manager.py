"""The SNMP manager backend (v1, v2c and v3): one :class:`SnmpDevice` per configured
device.

Behaviour follows hat-gateway's ``SnmpManagerDevice`` (``devices/snmp/manager.py``),
on pysnmp 7's asyncio high-level API:

* a **connection loop**: status ``CONNECTING`` -> ``CONNECTED`` (after the first
  successful response) -> ``DISCONNECTED`` (requests exhausted their retries, with a
  short operator-readable reason). A disconnected device tries again every
  ``connect_delay`` seconds and **stays** ``DISCONNECTED`` while it does (so the
  status's time is the outage's start, however many tries it takes) until an answer
  makes it ``CONNECTED``; ``CONNECTING`` is only the first connection after
  :meth:`SnmpDevice.start`. Each change of the status -- or of the reason while
  disconnected -- is published once as ``("snmp", NAME, "status")``;
* a **polling loop** every ``polling_delay`` seconds: the polling OIDs are read with
  GET requests of up to ``max_varbinds_per_request`` var-binds each (batching is
  the main throughput lever: pysnmp is CPU-bound at ~2.4k PDUs/s), and each value
  is published as ``("snmp", NAME, "read", OID)`` only when it differs from the
  last one seen: cause ``INTERROGATE`` for the first value (also again after a
  reconnect, since the cache is cleared on disconnect), ``CHANGE`` after. After
  every cycle ``("snmp", NAME, "poll")`` carries statistics -- also after a cycle
  that failed (each try during an outage), so ``errors`` grows while the agent is
  away, not only once it is back;
* the **polling list** ``("snmp", NAME, "polling")`` ``{"oids": [...]}``, published
  at :meth:`SnmpDevice.start` and after every :meth:`SnmpDevice.add_polling_oid` /
  :meth:`SnmpDevice.remove_polling_oid` that changes it;
* **operator reads** (:meth:`SnmpDevice.read`) outside polling, always published,
  with cause ``REQUESTED`` and the caller's session id;
* **operator writes and walks** (:meth:`SnmpDevice.write`, :meth:`SnmpDevice.walk`),
  implemented in :mod:`console.snmp.operations` on the device's link and its
  recent values (:class:`RecentValueCache`).

Payloads are exactly those of ``docs/events.md``. Read events are published with
:meth:`~console.events.EventManager.publish_wait`, so a ``BLOCK`` subscriber (the
store) slows the poller instead of losing values.

Requests, retries, tooBig splitting and SNMPv3 security errors are the
:class:`~console.snmp.link.SnmpLink`'s (see :mod:`console.snmp.link`). When the
agent rejects the polling with a USM report (RFC 3414 §3.2) -- wrong credentials,
retrying cannot help -- every polled OID gets an ``ERROR`` value named after the
report (``WRONG_DIGESTS``...), published as read events, and the device goes
``DISCONNECTED`` with the reason ``authentication failed: NAME (hint)``; it tries
again after ``connect_delay``, so a fixed agent is picked up without a restart. An
operator read answered with a USM report returns (and publishes) that ``ERROR``
value; an unsupported security level makes it raise :class:`SnmpError`. pysnmp keeps
an agent's discovered engine ID for 300 s: an agent whose engine ID changed goes
unanswered -- timeouts -- until then.

Engines: every :class:`SnmpDevice` of one event loop shares one pysnmp engine
(:mod:`console.snmp.engine`), shut down when the last device of the loop closes.

Secrets: the community and the USM passwords are revealed only to build pysnmp's
credentials (:mod:`console.snmp.engine`); they are never logged nor put into events
or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any, Final

from console.config import SnmpDeviceConfig
from console.events import EventManager, JsonValue
from console.format import format_value
from console.lifecycle import ClosesOnce
from console.snmp import operations
from console.snmp.codec import Data, error_data, normalize_oid
from console.snmp.errors import (
    RequestFailed,
    SecurityRejected,
    SnmpError,
    SnmpNotConnectedError,
    SnmpTimeoutError,
)
from console.snmp.link import Cycle, SnmpLink, SnmpStatus
from console.snmp.table import DEFAULT_VARBINDS, TableFetch, fetch_columns
from console.snmpdisplay import ValueFormatter

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "PROBE_OID",
    "RecentValueCache",
    "SnmpDevice",
]

mlog = logging.getLogger(__name__)

#: GET requests one device keeps in flight at most during a polling cycle.
DEFAULT_MAX_IN_FLIGHT: Final = 4
#: Polled (never published) when a device has no polling OIDs, so that its status
#: still tracks the agent; any answer, even noSuchObject/noSuchName, counts
#: (hat-gateway does the same).
PROBE_OID: Final = "0.0"
#: Values of operator reads and walks kept per device for a write's ``previous``.
_RECENT_LIMIT: Final = 256


class RecentValueCache:
    """The values a device has seen: its polling cache and its recent operator reads
    and walks (the :class:`~console.snmp.operations.RecentValues` port).

    Attributes:
        polled: OID -> the last polled value (cleared on disconnect).
        polls: completed polling cycles.
    """

    def __init__(self) -> None:
        self.polled: dict[str, Data] = {}
        self.polls = 0
        # operator reads/walks: OID -> (polls completed then, value)
        self._recent: dict[str, tuple[int, Data]] = {}

    def remember(self, oid: str, data: Data) -> None:
        """Keep the value an operator read or walk returned, for a write's
        ``previous`` (the newest :data:`_RECENT_LIMIT` OIDs)."""
        recent = self._recent
        recent.pop(oid, None)
        recent[oid] = (self.polls, data)
        if len(recent) > _RECENT_LIMIT:
            del recent[next(iter(recent))]

    def previous(self, oid: str) -> Data | None:
        """The newest value seen for ``oid``: an operator read made since the last
        completed polling cycle, else the polled value, else an older operator read."""
        polled = self.polled.get(oid)
        seen = self._recent.get(oid)
        if seen is not None and (polled is None or seen[0] >= self.polls):
            return seen[1]
        return polled


class SnmpDevice(ClosesOnce):
    """One SNMP v1, v2c or v3 agent, polled and watched (hat-gateway's
    ``SnmpManagerDevice``).

    Args:
        name: the device name, the second segment of its event types.
        conf: the device's ``snmp:`` section. ``polling_oids`` and
            ``string_hex_oids`` are numeric OIDs (validated and normalised here: no
            leading dot; duplicates dropped); durations are in seconds.
        bus: the event manager events are published to.
        max_in_flight: GET requests kept in flight at once during a polling cycle
            (the batches of one cycle; >= 1).
        formatter: the MIB's view of the values
            (:class:`~console.snmpdisplay.ValueFormatter`, shared by every device):
            the ``display`` of read and write events is the value as its MIB
            defines it (``up(1)``); ``None``, before the MIBs are loaded, or for an
            OID no MIB defines: the plain form (:func:`console.format.format_value`).
            Formatted only when an event is published (a polled value: when it
            changes), never per poll.

    Raises:
        ValueError: a malformed OID in ``conf``, a bad ``max_in_flight``, or missing
            or bad credentials (V1/V2C without a community; V3 without a user, with
            privacy but no authentication, an unknown protocol or a password shorter
            than 8 characters, RFC 3414 §11.2). No secret is in the message.

    Events (``docs/events.md``): ``("snmp", name, "status")``,
    ``("snmp", name, "polling")``, ``("snmp", name, "read", OID)``,
    ``("snmp", name, "poll")``, ``("snmp", name, "write", OID)``,
    ``("snmp", name, "walk", OID)``.

    Usage::

        device = SnmpDevice("core-sw1", conf, bus)
        await device.start()                 # spawns the connection/polling loop
        payload = await device.read("1.3.6.1.2.1.1.5.0", session_id="op-7")
        await device.aclose()
    """

    def __init__(
        self,
        name: str,
        conf: SnmpDeviceConfig,
        bus: EventManager,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        formatter: ValueFormatter | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._link = SnmpLink(name, conf, self._on_answer)  # checks the credentials
        self.name = name
        self.conf = conf
        self._bus = bus
        self._max_in_flight = max_in_flight
        self._formatter = formatter
        self._batch_size = max(1, int(conf.max_varbinds_per_request))
        try:
            oids = [normalize_oid(oid) for oid in conf.polling_oids]
        except ValueError as exc:
            raise ValueError(f"SNMP device {name!r}: {exc}") from None
        self._oids: dict[str, tuple[str, ...]] = {}  # OID -> its read event type, in order
        for oid in oids:
            self._oids.setdefault(oid, ("snmp", name, "read", oid))
        self._status_type = ("snmp", name, "status")
        self._poll_type = ("snmp", name, "poll")
        self._polling_type = ("snmp", name, "polling")
        self._reason: str | None = None
        self._values = RecentValueCache()
        self._value_errors = 0  # ERROR values (the link counts failed tries)
        self._last_poll: float | None = None
        self._started = False

    # -- state -----------------------------------------------------------------

    @property
    def status(self) -> SnmpStatus:
        """The connection status (a ``str`` enum: compares equal to ``"CONNECTED"``)."""
        return self._link.status

    @property
    def reason(self) -> str | None:
        """Why the device is ``DISCONNECTED`` (operator-readable), else ``None``."""
        return self._reason

    @property
    def polling_oids(self) -> tuple[str, ...]:
        """The polled OIDs, normalised, in polling order."""
        return tuple(self._oids)

    def add_polling_oid(self, oid: str) -> str:
        """Poll ``oid`` too, from the next cycle on (its first value is published with
        cause ``INTERROGATE``); a started device publishes its new polling list
        (``("snmp", name, "polling")``) when ``oid`` was not polled yet.

        Returns:
            The normalised OID (no leading dot), which names its read events.

        Raises:
            ValueError: ``oid`` is not a numeric OID.
        """
        text = normalize_oid(oid)
        if text not in self._oids:
            self._oids[text] = ("snmp", self.name, "read", text)
            self._publish_polling()
        return text

    def remove_polling_oid(self, oid: str) -> bool:
        """Stop polling ``oid`` (its cached value is forgotten: polling it again
        later starts with ``INTERROGATE``). A value of it already in flight is not
        published. A started device publishes its new polling list
        (``("snmp", name, "polling")``) when ``oid`` was polled.

        Returns:
            True if it was polled.

        Raises:
            ValueError: ``oid`` is not a numeric OID.
        """
        text = normalize_oid(oid)
        self._values.polled.pop(text, None)
        if self._oids.pop(text, None) is None:
            return False
        self._publish_polling()
        return True

    def stats(self) -> dict[str, int]:
        """Return ``{"polls": completed cycles, "errors": failed requests and error
        values}`` since start (the same counters as the poll events)."""
        return {"polls": self._values.polls, "errors": self._errors()}

    def _errors(self) -> int:
        return self._link.errors + self._value_errors

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the connection/polling loop in a task this device owns.

        Publishes ``CONNECTING`` and the polling list at once. Idempotent.

        Raises:
            SnmpNotConnectedError: the device was closed.
        """
        if self.closing:
            raise SnmpNotConnectedError(f"SNMP device {self.name!r} is closed")
        if self._started:
            return
        self._link.open()
        self._started = True
        self._set_status(SnmpStatus.CONNECTING)
        self._publish_polling()
        self.spawn(self._connection_loop(), name=f"fleettop-snmp-{self.name}")

    async def _close(self) -> None:
        """Stop the loops, publish ``DISCONNECTED`` ("device closed") and release the
        pysnmp engine (closing it if this was its last device).
        """
        await self.cancel_tasks()
        self._values.polled.clear()
        if self._link.status != SnmpStatus.DISCONNECTED:
            self._set_status(SnmpStatus.DISCONNECTED, "device closed")
        await self._link.aclose()

    async def __aenter__(self) -> SnmpDevice:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- operator requests -----------------------------------------------------

    async def read(self, oid: str, session_id: str | None = None) -> dict[str, JsonValue]:
        """GET one OID now, outside polling, and publish the answer.

        The read event ``("snmp", name, "read", OID)`` is always published (even if
        the value is unchanged), with cause ``REQUESTED`` and ``session_id``; the
        polling cache is left alone.

        Args:
            oid: numeric OID (need not be polled).
            session_id: the operator session to echo in the payload.

        Returns:
            The published payload: ``{"session_id": session_id, "cause":
            "REQUESTED", "data": {"type": ..., "value": ...}}``; an agent-side error
            is ``data`` of type ``ERROR`` (``NO_SUCH_OBJECT``, ``NO_SUCH_NAME``...),
            and so is an SNMPv3 USM report (``WRONG_DIGESTS``...).

        Raises:
            ValueError: ``oid`` is not a numeric OID.
            SnmpNotConnectedError: the device is not ``CONNECTED`` (or is closed).
            SnmpTimeoutError: no answer after ``request_retry_count + 1`` tries of
                ``request_timeout`` s each (the polling loop decides, on its own
                requests, whether the device is disconnected).
            SnmpError: the agent does not accept the SNMPv3 security level.
        """
        text = normalize_oid(oid)
        link = self._link
        target = link.target
        if self.closing or target is None or link.status != SnmpStatus.CONNECTED:
            raise SnmpNotConnectedError(
                f"SNMP device {self.name!r} is not connected (status {link.status.value})"
            )
        try:
            results = await link.get(target, [text], Cycle())
        except SecurityRejected as exc:
            if exc.error is None:
                raise SnmpError(f"SNMP device {self.name!r}: {exc.reason}") from None
            results = [(text, error_data(exc.error))]
        except RequestFailed as exc:
            raise SnmpTimeoutError(f"SNMP device {self.name!r}: {exc.reason}") from None
        self._tally(text, results[0][1], Cycle())
        self._values.remember(text, results[0][1])
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "cause": "REQUESTED",
            "data": results[0][1],
            "display": self.display(text, results[0][1]),
        }
        await self._bus.publish_wait(("snmp", self.name, "read", text), payload)
        return payload

    def display(self, oid: str, data: Data) -> str:
        """The text of the value ``data`` of ``oid`` as the events carry it in
        ``display``: as its MIB defines it (``up(1)``, ``12.5 volts``) when the device
        has a formatter and a loaded MIB defines ``oid``, else the plain form
        (:func:`console.format.format_value`: ``1``). Never raises."""
        formatter = self._formatter
        if formatter is None:
            return format_value(str(data.get("type")), data.get("value"))
        return formatter.display(oid, data)

    # -- operator operations (SET, WALK: implemented in console/snmp/operations.py) --

    async def write(
        self, oid: str, data: Mapping[str, object], session_id: str | None = None
    ) -> dict[str, JsonValue]:
        """SET one OID (RFC 3416 §4.2.5) with the device's credentials, and publish the
        outcome as ``("snmp", name, "write", OID)``.

        ``data`` is validated first (:func:`~console.snmp.codec.to_pysnmp`): invalid
        input raises and nothing is sent. The SET follows the device's retry policy
        (``request_timeout`` s per try, ``request_retry_count`` re-sends
        ``request_retry_delay`` s apart; only timeouts are re-sent). Success is
        hat-gateway's rule: no error indication, error-status ``noError``, and the
        answered var-bind is not an exception value (``noSuchObject``...) or NULL.

        After a success the OID is read back with :meth:`read` (a ``REQUESTED`` read
        event with the same ``session_id``, published after the write event) so screens
        show the value the agent now holds at once; a failure of that read is only
        logged. A polled OID keeps its polling cache: the next poll reports the new
        value as a ``CHANGE``, which it is. A timeout never marks the device
        ``DISCONNECTED`` (the polling loop decides).

        Args:
            oid: numeric OID of the instance to set (``"1.3.6.1.2.1.1.4.0"``).
            data: ``{"type": TYPE, "value": VALUE}`` (``docs/events.md`` data types,
                not ``ERROR``), e.g. ``{"type": "STRING", "value": "ops"}``.
            session_id: the operator session to echo in the payload.

        Returns:
            The published payload: ``{"session_id", "success": bool, "error": str |
            None, "data": what was written (normalised: hex in lower case...),
            "previous": the newest value fleettop had seen for the OID before the write
            (polled, or from an operator read or walk) or None}``. ``error`` names the
            failure: an error-status (``NOT_WRITABLE``, ``WRONG_TYPE``, ``NO_ACCESS``;
            SNMPv1 agents answer ``NO_SUCH_NAME``/``BAD_VALUE``/``READ_ONLY``, RFC
            3584 §4.4), an error value (``NO_SUCH_OBJECT``), a USM report name
            (``WRONG_DIGESTS``..., as :func:`~console.snmp.link.usm_error_name`), or ``TIMEOUT``.

        Raises:
            ValueError: ``oid`` is not a numeric OID or ``data`` is invalid (unknown
                type, out of range, bad hex...; the message is operator-readable).
                Nothing is sent and no event is published.
            SnmpNotConnectedError: the device is not ``CONNECTED`` (or is closed);
                nothing is published.
            asyncio.CancelledError: the caller was cancelled; the write event is still
                published, with ``success`` false and ``error`` ``CANCELLED`` (the SET
                may or may not have reached the agent).
        """
        return await operations.write(
            self._link, self._values, self._bus, oid, data, session_id, self.read, self.display
        )

    def walk(
        self,
        oid: str,
        *,
        session_id: str | None = None,
        max_repetitions: int = 25,
    ) -> AsyncGenerator[tuple[str, Data], None]:
        """Walk the subtree under ``oid``: an async generator of ``(oid, data)`` in
        lexicographic order (the subtree only: pysnmp's ``lexicographicMode=False``).

        SNMPv2c sends GETBULK requests (RFC 3416 §4.2.3, non-repeaters 0,
        ``max_repetitions`` var-binds asked each), SNMPv1 GETNEXT (§4.2.2), each with
        the device's timeout and retries as polling. The walk ends at
        ``endOfMibView`` (v1: ``noSuchName``, RFC 1157 §4.1.3) or at the first OID
        outside the subtree. If nothing lies below ``oid``, ``oid`` itself is read (a
        GET) and yielded if it exists, as Net-SNMP's ``snmpwalk`` does.

        Whole agents: the root ``"."`` (or ``""``) walks everything the agent has,
        ``"0"``, ``"1"``, ``"2"`` everything under that top arc (data outside
        1.3.6.1 too: LLDP under 1.0.8802, IEEE 802.3ad under 1.2.840); the first
        request asks for what follows ``0.0`` / ``N.0``
        (:func:`console.oid.walk_start`), the published ``OID`` is ``"."`` / ``"N"``.

        An agent that answers badly ends the walk with a reason, never a loop:
        ``tooBig`` halves ``max_repetitions`` and asks again, down to 1, then ends
        with ``TOO_BIG`` (SNMPv1's GETNEXT carries one var-bind: at once); an
        answer without var-binds ends it with ``EMPTY_RESPONSE``; an OID not greater
        than the one before it (an agent that would be walked forever, or one whose
        answer goes backwards) with ``OID_NOT_INCREASING``.

        When the walk ends -- complete, failed, or stopped by its consumer (task
        cancelled, or the generator closed) -- ``("snmp", name, "walk", OID)`` is
        published: ``{"session_id", "count": var-binds yielded, "complete": bool,
        "error": None | name, "seconds": float}`` (``error`` is ``CANCELLED`` when the
        consumer stopped it). Use ``contextlib.aclosing`` when breaking out of the
        loop, so the generator (and the event) closes at once rather than when
        garbage-collected::

            async with contextlib.aclosing(device.walk("1.3.6.1.2.1.2")) as rows:
                async for oid, data in rows:
                    ...

        Cancelling the consuming task stops the walk at once, even mid-request.
        Walked values are remembered (a few hundred per device) for
        :meth:`write`'s ``previous``.

        Args:
            oid: the subtree's root: a numeric OID (``"1.3.6.1.2.1.2"``), ``"."``
                or ``""`` for the whole agent, or one top arc (``"1"``); see
                :func:`console.oid.parse_walk_root`. A MIB name is looked up first
                (:func:`console.oid.lookup_walk_root`).
            session_id: the operator session to echo in the walk event.
            max_repetitions: var-binds asked per GETBULK, 1..1000 (halved on
                ``tooBig``); ignored by SNMPv1.

        Yields:
            ``(oid, {"type": TYPE, "value": VALUE})``: the OID without a leading dot;
            ``string_hex_oids`` apply.

        Raises:
            ValueError: (at the call) ``oid`` is not a walk root or
                ``max_repetitions`` is out of range.
            SnmpNotConnectedError: (at the call) the device is not ``CONNECTED``;
                (while iterating) the device was closed.
            SnmpTimeoutError: (while iterating) a request got no answer after all
                its tries; the device's status is left to the polling loop.
            console.snmp.errors.SnmpOperationError: (while iterating) any other
                failure; its ``error`` attribute is the name in the event (an
                error-status name, ``OID_NOT_INCREASING``, ``EMPTY_RESPONSE``, a USM
                report name...).
        """
        return operations.walk(
            self._link,
            self._values,
            self._bus,
            oid,
            session_id=session_id,
            max_repetitions=max_repetitions,
        )

    async def fetch_columns(
        self, columns: Sequence[tuple[int, ...]], *, max_varbinds: int = DEFAULT_VARBINDS
    ) -> TableFetch:
        """Read every instance of table ``columns`` (OIDs as arcs) with GETBULK (SNMPv1:
        GETNEXT), several columns and rows per request, as ``snmptable`` does; nothing
        is published (:mod:`console.snmp.table` documents the requests and errors).

        Raises:
            ValueError: no column, or ``max_varbinds`` below 1.
            SnmpNotConnectedError: the device is not ``CONNECTED`` (or is closed).
            SnmpTimeoutError: a request got no answer after all its tries.
            console.snmp.errors.SnmpOperationError: any other failure (``error``
                names it).
        """
        return await fetch_columns(self._link, columns, max_varbinds=max_varbinds)

    # -- loops -------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        conf = self.conf
        while True:
            try:
                reason = await self._connect_and_poll()
            except Exception as exc:
                if self._bus.closed:  # shutting down out of order: nothing to tell
                    return
                # a bug: keep the device alive, and say so
                mlog.exception("SNMP device %s: polling failed", self.name)
                reason = f"internal error: {type(exc).__name__}"
            finally:
                self._link.target = None
                self._values.polled.clear()
            # stays DISCONNECTED through the next tries: the outage started now
            self._set_status(SnmpStatus.DISCONNECTED, reason)
            await asyncio.sleep(conf.connect_delay)

    async def _connect_and_poll(self) -> str:
        """Connect, then poll until a request fails; return the failure's reason."""
        conf = self.conf
        try:
            target = await self._link.connect()
        except RequestFailed as exc:
            return exc.reason
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                await self._poll_cycle(target)
                await asyncio.sleep(max(0.0, conf.polling_delay - (loop.time() - started)))
        except RequestFailed as exc:
            return exc.reason

    def _on_answer(self) -> None:
        """The link got an answer: the agent is there."""
        if self._link.status != SnmpStatus.CONNECTED:
            self._set_status(SnmpStatus.CONNECTED)

    async def _publish_rejection(self, error: str, cycle: Cycle) -> None:
        """A USM report refused the polling: every polled OID gets the ``ERROR`` value
        ``error`` (published when it differs from the cached value, as any value)."""
        data = error_data(error)
        cache = self._values.polled
        for oid, event_type in list(self._oids.items()):
            self._tally(oid, data, cycle)
            old = cache.get(oid)
            if old == data:
                continue
            cache[oid] = data
            await self._bus.publish_wait(
                event_type,
                {
                    "session_id": None,
                    "cause": "INTERROGATE" if old is None else "CHANGE",
                    "data": dict(data),
                    "display": self.display(oid, data),
                },
            )

    async def _poll_cycle(self, target: Any) -> None:
        """Poll every OID once and publish the cycle's statistics; a failed cycle
        publishes them too (``polls`` and ``last_poll`` unchanged) and re-raises.

        Raises:
            RequestFailed: a request exhausted its retries or was rejected.
        """
        cycle = Cycle()
        oids = list(self._oids) or [PROBE_OID]
        size = self._batch_size
        batches = [oids[i : i + size] for i in range(0, len(oids), size)]
        try:
            if self._max_in_flight == 1 or len(batches) == 1:
                for batch in batches:
                    await self._poll_batch(target, batch, cycle)
            else:
                pending = iter(batches)
                try:
                    async with asyncio.TaskGroup() as group:
                        for _ in range(min(self._max_in_flight, len(batches))):
                            group.create_task(self._poll_worker(target, pending, cycle))
                except* RequestFailed as failures:
                    raise failures.exceptions[0] from None
        except RequestFailed as exc:
            if isinstance(exc, SecurityRejected) and exc.error is not None:
                await self._publish_rejection(exc.error, cycle)
            self._publish_poll(cycle)
            raise
        self._values.polls += 1
        self._last_poll = time.time()
        self._publish_poll(cycle)

    def _publish_poll(self, cycle: Cycle) -> None:
        if self._bus.closed:
            return
        self._bus.publish(
            self._poll_type,
            {
                "rtt_ms": cycle.rtt_sum / cycle.rtt_count * 1000.0 if cycle.rtt_count else 0.0,
                "values": cycle.values,
                "errors": self._errors(),
                "polls": self._values.polls,
                "last_poll": self._last_poll,
            },
        )

    async def _poll_worker(self, target: Any, pending: Iterator[list[str]], cycle: Cycle) -> None:
        for batch in pending:
            await self._poll_batch(target, batch, cycle)

    async def _poll_batch(self, target: Any, batch: list[str], cycle: Cycle) -> None:
        results = await self._link.get(target, batch, cycle)
        oids = self._oids
        cache = self._values.polled
        publish = self._bus.publish_wait
        for oid, data in results:
            self._tally(oid, data, cycle)
            event_type = oids.get(oid)
            if event_type is None:  # the probe, or removed while in flight
                continue
            old = cache.get(oid)
            if old == data:
                continue
            cache[oid] = data
            await publish(
                event_type,
                {
                    "session_id": None,
                    "cause": "INTERROGATE" if old is None else "CHANGE",
                    "data": data,
                    "display": self.display(oid, data),
                },
            )

    def _tally(self, oid: str, data: Data, cycle: Cycle) -> None:
        """Count one result in the statistics; the internal probe OID is not counted
        (a device with no polling OIDs would otherwise gain an error every cycle)."""
        if oid == PROBE_OID:
            return
        if data["type"] == "ERROR":
            self._value_errors += 1
        else:
            cycle.values += 1

    # -- events ------------------------------------------------------------------

    def _set_status(self, status: SnmpStatus, reason: str | None = None) -> None:
        """Publish a change of the status, or of the reason while ``DISCONNECTED``."""
        reason = reason if status == SnmpStatus.DISCONNECTED else None
        previous = self._link.status
        if status == previous and reason == self._reason:
            return
        self._link.status = status
        self._reason = reason
        if status == SnmpStatus.DISCONNECTED:
            mlog.info("SNMP device %s: DISCONNECTED (%s)", self.name, reason)
        else:
            mlog.debug("SNMP device %s: %s -> %s", self.name, previous.value, status.value)
        if not self._bus.closed:
            self._bus.publish(self._status_type, {"status": status.value, "reason": reason})

    def _publish_polling(self) -> None:
        """Publish the polling list (``("snmp", name, "polling")``, contract 1 of the
        UI: an OID that leaves it is no longer polled); not before :meth:`start`."""
        if self._started and not self._bus.closed:
            self._bus.publish(self._polling_type, {"oids": list(self._oids)})
