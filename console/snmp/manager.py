"""The SNMP manager backend (v1 and v2c): one :class:`SnmpDevice` per configured device.

Behaviour follows hat-gateway's ``SnmpManagerDevice`` (``devices/snmp/manager.py``),
on pysnmp 7's asyncio high-level API:

* a **connection loop**: status ``CONNECTING`` -> ``CONNECTED`` (after the first
  successful response) -> ``DISCONNECTED`` (requests exhausted their retries, with a
  short operator-readable reason) -> ``CONNECTING`` again after ``connect_delay``;
  each change is published once as ``("snmp", NAME, "status")``;
* a **polling loop** every ``polling_delay`` seconds: the polling OIDs are read with
  GET requests of up to ``max_varbinds_per_request`` var-binds each (batching is
  the main throughput lever: pysnmp is CPU-bound at ~2.4k PDUs/s), and each value
  is published as ``("snmp", NAME, "read", OID)`` only when it differs from the
  last one seen: cause ``INTERROGATE`` for the first value (also again after a
  reconnect, since the cache is cleared on disconnect), ``CHANGE`` after. After
  every cycle ``("snmp", NAME, "poll")`` carries statistics;
* **operator reads** (:meth:`SnmpDevice.read`) outside polling, always published,
  with cause ``REQUESTED`` and the caller's session id.

Payloads are exactly those of ``docs/events.md``. Read events are published with
:meth:`~console.events.EventManager.publish_wait`, so a ``BLOCK`` subscriber (the
store) slows the poller instead of losing values.

Requests and errors
-------------------
Each request waits ``request_timeout`` s for the answer and is re-sent up to
``request_retry_count`` times, ``request_retry_delay`` s apart (pysnmp's own
retries are off, so the delay between tries is ours, as in hat-gateway). A PDU
answered with an error-status (RFC 3416 §3) is not a lost connection:

* ``tooBig``: the batch is split in halves and each half is requested again; a
  single var-bind that is still too big is reported as ``ERROR`` ``TOO_BIG``;
* any other error-status whose error-index names a var-bind (an SNMPv1 agent
  answers ``noSuchName`` for the whole PDU when one OID is unknown): that OID is
  reported as ``ERROR`` with the status name (``NO_SUCH_NAME``) and the rest of the
  batch is requested again, so one bad OID never blanks the device;
* an error-status without a usable index: the batch is split the same way.

Secrets: the community is revealed only to build pysnmp's ``CommunityData``; it is
never logged nor put into events or exception messages (pysnmp's own ``repr`` of
``CommunityData`` masks it, and the community index fleettop gives pysnmp is a
counter).

Engines: every :class:`SnmpDevice` of one event loop shares one pysnmp
``SnmpEngine`` (one UDP socket, one timer): building an engine costs ~60 ms of CPU,
which would stall the loop for a minute with a thousand devices. The engine is
closed (``close_dispatcher()``, socket and timer task released) when the last
device of the loop closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Final

from console.config import SnmpDeviceConfig
from console.events import EventManager, JsonValue
from console.secrets import Secret
from console.snmp.codec import Data, error_data, from_pysnmp, normalize_oid, pdu_error_name

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )
    from pysnmp.proto.errind import RequestTimedOut

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "PROBE_OID",
    "SnmpDevice",
    "SnmpError",
    "SnmpNotConnectedError",
    "SnmpStatus",
    "SnmpTimeoutError",
]

mlog = logging.getLogger(__name__)

#: GET requests one device keeps in flight at most during a polling cycle.
DEFAULT_MAX_IN_FLIGHT: Final = 4
#: Polled (never published) when a device has no polling OIDs, so that its status
#: still tracks the agent; any answer, even noSuchObject/noSuchName, counts
#: (hat-gateway does the same).
PROBE_OID: Final = "0.0"
#: Extra seconds past pysnmp's own timeout before a request is abandoned anyway
#: (a guard against a stalled engine timer; pysnmp's timer ticks every 0.1 s).
_TIMEOUT_GUARD: Final = 1.0
_TOO_BIG: Final = 1


class SnmpStatus(enum.StrEnum):
    """Connection status of a device, as published in ``("snmp", NAME, "status")``."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


class SnmpError(Exception):
    """Base class of the errors :class:`SnmpDevice` raises to callers."""


class SnmpNotConnectedError(SnmpError, ConnectionError):
    """An operator request was made while the device is not ``CONNECTED`` (or is
    closed)."""


class SnmpTimeoutError(SnmpError, TimeoutError):
    """An operator request got no answer after all its tries."""


class _RequestFailed(Exception):
    """A request exhausted its retries; ``reason`` is operator-readable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Shared:
    """The pysnmp engine of one event loop, shared by its devices (refcounted)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.engine: Any = SnmpEngine()
        self.context: Any = ContextData()
        self.users = 0
        self._community_ids: dict[tuple[str, int], str] = {}
        self._objects: dict[str, Any] = {}

    def auth(self, community: Secret, mp_model: int) -> Any:
        """Return pysnmp's ``CommunityData``; its index is a counter, never derived
        from the community."""
        key = (community.reveal(), mp_model)
        index = self._community_ids.get(key)
        if index is None:
            index = f"fleettop-c{len(self._community_ids) + 1}"
            self._community_ids[key] = index
        return CommunityData(index, community.reveal(), mpModel=mp_model)

    def objects(self, oids: Sequence[str]) -> list[Any]:
        """Return one ``ObjectType`` per OID, built once and reused: pysnmp resolves
        a new ``ObjectType`` against its MIB view on every request, a reused one only
        once."""
        cache = self._objects
        made = []
        for oid in oids:
            obj = cache.get(oid)
            if obj is None:
                obj = cache[oid] = ObjectType(ObjectIdentity(oid))
            made.append(obj)
        return made

    def close(self) -> None:
        """Close the engine's transports and timer (pysnmp ``close_dispatcher``)."""
        with contextlib.suppress(Exception):
            self.engine.close_dispatcher()


_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = (
    weakref.WeakKeyDictionary()
)


def _acquire_engine() -> _Shared:
    loop = asyncio.get_running_loop()
    shared = _ENGINES.get(loop)
    if shared is None:
        shared = _ENGINES[loop] = _Shared()
    shared.users += 1
    return shared


async def _release_engine(shared: _Shared) -> None:
    shared.users -= 1
    if shared.users > 0:
        return
    loop = asyncio.get_running_loop()
    if _ENGINES.get(loop) is shared:
        del _ENGINES[loop]
    shared.close()
    # asyncio closes datagram transports and cancelled tasks on the next turns
    for _ in range(3):
        await asyncio.sleep(0)


class _Cycle:
    """Counters of one polling cycle (or of one operator read)."""

    __slots__ = ("rtt_count", "rtt_sum", "values")

    def __init__(self) -> None:
        self.rtt_sum = 0.0
        self.rtt_count = 0
        self.values = 0


class SnmpDevice:
    """One SNMP v1/v2c agent, polled and watched (hat-gateway's ``SnmpManagerDevice``).

    Args:
        name: the device name, the second segment of its event types.
        conf: the device's ``snmp:`` section. ``polling_oids`` and
            ``string_hex_oids`` are numeric OIDs (validated and normalised here: no
            leading dot; duplicates dropped); durations are in seconds.
        bus: the event manager events are published to.
        max_in_flight: GET requests kept in flight at once during a polling cycle
            (the batches of one cycle; >= 1).

    Raises:
        ValueError: a malformed OID in ``conf``, or a bad ``max_in_flight``.

    Events (``docs/events.md``): ``("snmp", name, "status")``,
    ``("snmp", name, "read", OID)``, ``("snmp", name, "poll")``.

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
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if conf.version not in ("V1", "V2C"):
            raise ValueError(f"SNMP device {name!r}: unsupported version {conf.version!r}")
        self.name = name
        self.conf = conf
        self._bus = bus
        self._max_in_flight = max_in_flight
        self._batch_size = max(1, int(conf.max_varbinds_per_request))
        self._mp_model = 0 if conf.version == "V1" else 1
        try:
            oids = [normalize_oid(oid) for oid in conf.polling_oids]
            self._string_hex = frozenset(normalize_oid(oid) for oid in conf.string_hex_oids)
        except ValueError as exc:
            raise ValueError(f"SNMP device {name!r}: {exc}") from None
        self._oids: dict[str, tuple[str, ...]] = {}  # OID -> its read event type, in order
        for oid in oids:
            self._oids.setdefault(oid, ("snmp", name, "read", oid))
        self._status_type = ("snmp", name, "status")
        self._poll_type = ("snmp", name, "poll")
        self._status = SnmpStatus.DISCONNECTED
        self._reason: str | None = None
        self._cache: dict[str, Data] = {}
        self._shared: _Shared | None = None
        self._auth: Any = None
        self._target: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._errors = 0
        self._polls = 0
        self._timeout_s = float(conf.request_timeout)
        self._tries = int(conf.request_retry_count) + 1

    # -- state -----------------------------------------------------------------

    @property
    def status(self) -> SnmpStatus:
        """The connection status (a ``str`` enum: compares equal to ``"CONNECTED"``)."""
        return self._status

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
        cause ``INTERROGATE``).

        Returns:
            The normalised OID (no leading dot), which names its read events.

        Raises:
            ValueError: ``oid`` is not a numeric OID.
        """
        text = normalize_oid(oid)
        self._oids.setdefault(text, ("snmp", self.name, "read", text))
        return text

    def remove_polling_oid(self, oid: str) -> bool:
        """Stop polling ``oid`` (its cached value is forgotten: polling it again
        later starts with ``INTERROGATE``). A value of it already in flight is not
        published.

        Returns:
            True if it was polled.

        Raises:
            ValueError: ``oid`` is not a numeric OID.
        """
        text = normalize_oid(oid)
        self._cache.pop(text, None)
        return self._oids.pop(text, None) is not None

    def stats(self) -> dict[str, int]:
        """Return ``{"polls": completed cycles, "errors": failed requests and error
        values}`` since start (the same counters as the poll events)."""
        return {"polls": self._polls, "errors": self._errors}

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the connection/polling loop in a task group this device owns.

        Publishes ``CONNECTING`` at once. Idempotent.

        Raises:
            SnmpNotConnectedError: the device was closed.
        """
        if self._closing is not None:
            raise SnmpNotConnectedError(f"SNMP device {self.name!r} is closed")
        if self._task is not None:
            return
        self._shared = _acquire_engine()
        self._auth = self._shared.auth(self.conf.community, self._mp_model)
        self._set_status(SnmpStatus.CONNECTING)
        self._task = asyncio.create_task(self._run(), name=f"fleettop-snmp-{self.name}")

    async def aclose(self) -> None:
        """Stop the loops, publish ``DISCONNECTED`` ("device closed") and release the
        pysnmp engine (closing it if this was its last device). Idempotent; safe to
        call concurrently; cannot be cancelled half-way."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._target = None
        self._cache.clear()
        self._set_status(SnmpStatus.DISCONNECTED, "device closed")
        shared, self._shared = self._shared, None
        if shared is not None:
            await _release_engine(shared)

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
            is ``data`` of type ``ERROR`` (``NO_SUCH_OBJECT``, ``NO_SUCH_NAME``...).

        Raises:
            ValueError: ``oid`` is not a numeric OID.
            SnmpNotConnectedError: the device is not ``CONNECTED`` (or is closed).
            SnmpTimeoutError: no answer after ``request_retry_count + 1`` tries of
                ``request_timeout`` s each (the polling loop decides, on its own
                requests, whether the device is disconnected).
        """
        text = normalize_oid(oid)
        target = self._target
        if self._closing is not None or target is None or self._status != SnmpStatus.CONNECTED:
            raise SnmpNotConnectedError(
                f"SNMP device {self.name!r} is not connected (status {self._status.value})"
            )
        try:
            results = await self._get(target, [text], _Cycle())
        except _RequestFailed as exc:
            raise SnmpTimeoutError(f"SNMP device {self.name!r}: {exc.reason}") from None
        self._tally(text, results[0][1], _Cycle())
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "cause": "REQUESTED",
            "data": results[0][1],
        }
        await self._bus.publish_wait(("snmp", self.name, "read", text), payload)
        return payload

    # -- loops -------------------------------------------------------------------

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._connection_loop(), name=f"fleettop-snmp-{self.name}-conn")

    async def _connection_loop(self) -> None:
        conf = self.conf
        while True:
            self._set_status(SnmpStatus.CONNECTING)
            try:
                reason = await self._connect_and_poll()
            except Exception as exc:
                if self._bus.closed:  # shutting down out of order: nothing to tell
                    return
                # a bug: keep the device alive, and say so
                mlog.exception("SNMP device %s: polling failed", self.name)
                reason = f"internal error: {type(exc).__name__}"
            finally:
                self._target = None
                self._cache.clear()
            self._set_status(SnmpStatus.DISCONNECTED, reason)
            await asyncio.sleep(conf.connect_delay)

    async def _connect_and_poll(self) -> str:
        conf = self.conf
        try:
            target = await UdpTransportTarget.create(
                (conf.remote_host, conf.remote_port), timeout=self._timeout_s, retries=0
            )
        except Exception as exc:
            return f"cannot resolve {conf.remote_host}:{conf.remote_port}: {_short(exc)}"
        self._target = target
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                await self._poll_cycle(target)
                await asyncio.sleep(max(0.0, conf.polling_delay - (loop.time() - started)))
        except _RequestFailed as exc:
            return exc.reason

    async def _poll_cycle(self, target: Any) -> None:
        cycle = _Cycle()
        oids = list(self._oids) or [PROBE_OID]
        size = self._batch_size
        batches = [oids[i : i + size] for i in range(0, len(oids), size)]
        if self._max_in_flight == 1 or len(batches) == 1:
            for batch in batches:
                await self._poll_batch(target, batch, cycle)
        else:
            pending = iter(batches)
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(self._max_in_flight, len(batches))):
                        group.create_task(self._poll_worker(target, pending, cycle))
            except* _RequestFailed as failures:
                raise failures.exceptions[0] from None
        self._polls += 1
        self._bus.publish(
            self._poll_type,
            {
                "rtt_ms": cycle.rtt_sum / cycle.rtt_count * 1000.0 if cycle.rtt_count else 0.0,
                "values": cycle.values,
                "errors": self._errors,
                "polls": self._polls,
                "last_poll": time.time(),
            },
        )

    async def _poll_worker(self, target: Any, pending: Iterator[list[str]], cycle: _Cycle) -> None:
        for batch in pending:
            await self._poll_batch(target, batch, cycle)

    async def _poll_batch(self, target: Any, batch: list[str], cycle: _Cycle) -> None:
        results = await self._get(target, batch, cycle)
        oids = self._oids
        cache = self._cache
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
                },
            )

    # -- requests ----------------------------------------------------------------

    async def _get(self, target: Any, oids: list[str], cycle: _Cycle) -> list[tuple[str, Data]]:
        """GET ``oids`` and return ``(oid, data)`` in request order, handling PDU
        error-statuses as the module docstring says.

        Raises:
            _RequestFailed: a request exhausted its retries.
        """
        results: dict[str, Data] = {}
        pending = list(oids)
        while pending:
            status, index, var_binds = await self._request(target, pending, cycle)
            if not status:
                string_hex = self._string_hex
                for position, oid in enumerate(pending):
                    if position < len(var_binds):
                        data = from_pysnmp(var_binds[position][1], string_hex=oid in string_hex)
                    else:  # an agent that dropped var-binds
                        data = error_data("GEN_ERR")
                    results[oid] = data
                break
            name = pdu_error_name(status)
            if status != _TOO_BIG and 1 <= index <= len(pending):
                results[pending.pop(index - 1)] = error_data(name)
                continue
            if len(pending) == 1:
                results[pending[0]] = error_data(name)
                break
            half = len(pending) // 2
            for part in (pending[:half], pending[half:]):
                results.update(await self._get(target, part, cycle))
            break
        return [(oid, results[oid]) for oid in oids]

    def _tally(self, oid: str, data: Data, cycle: _Cycle) -> None:
        """Count one result in the statistics; the internal probe OID is not counted
        (a device with no polling OIDs would otherwise gain an error every cycle)."""
        if oid == PROBE_OID:
            return
        if data["type"] == "ERROR":
            self._errors += 1
        else:
            cycle.values += 1

    async def _request(
        self, target: Any, oids: list[str], cycle: _Cycle
    ) -> tuple[int, int, Sequence[Any]]:
        """Send one GET with our retry loop; return ``(error_status, error_index,
        var_binds)``.

        Raises:
            _RequestFailed: no answer after every try.
        """
        shared = self._shared
        if shared is None:
            raise _RequestFailed("device closed")
        objects = shared.objects(oids)
        loop = asyncio.get_running_loop()
        failure: object = None
        for attempt in range(self._tries):
            if attempt:
                await asyncio.sleep(self.conf.request_retry_delay)
            sent = loop.time()
            try:
                async with asyncio.timeout(self._timeout_s + _TIMEOUT_GUARD):
                    indication, status, index, var_binds = await get_cmd(
                        shared.engine,
                        self._auth,
                        target,
                        shared.context,
                        *objects,
                        lookupMib=False,
                    )
            except TimeoutError:
                indication = RequestTimedOut()
            except Exception as exc:  # pysnmp raises for local faults (encoding...)
                indication = exc
            if indication is None:
                cycle.rtt_sum += loop.time() - sent
                cycle.rtt_count += 1
                if self._status == SnmpStatus.CONNECTING:
                    self._set_status(SnmpStatus.CONNECTED)
                return int(status), int(index), var_binds
            self._errors += 1
            failure = indication
            mlog.debug(
                "SNMP device %s: try %d/%d failed: %s",
                self.name,
                attempt + 1,
                self._tries,
                _short(indication),
            )
        if isinstance(failure, RequestTimedOut):
            raise _RequestFailed(
                f"no response after {self._tries} {'try' if self._tries == 1 else 'tries'}"
                f" (timeout {self._timeout_s} s)"
            )
        raise _RequestFailed(f"request failed after {self._tries} tries: {_short(failure)}")

    # -- events ------------------------------------------------------------------

    def _set_status(self, status: SnmpStatus, reason: str | None = None) -> None:
        if status == self._status:
            return
        previous = self._status
        self._status = status
        self._reason = reason if status == SnmpStatus.DISCONNECTED else None
        if status == SnmpStatus.DISCONNECTED:
            mlog.info("SNMP device %s: DISCONNECTED (%s)", self.name, reason)
        else:
            mlog.debug("SNMP device %s: %s -> %s", self.name, previous.value, status.value)
        if not self._bus.closed:
            self._bus.publish(self._status_type, {"status": status.value, "reason": self._reason})


def _short(exc: object) -> str:
    """A one-line, secret-free description of a failure (pysnmp's texts carry no
    community)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text and name not in text else (text or name)
