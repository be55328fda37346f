"""Operator SET and WALK for :class:`~console.snmp.manager.SnmpDevice`.

:meth:`SnmpDevice.write <console.snmp.manager.SnmpDevice.write>` and
:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>` delegate here, so that
``manager.py`` stays the connection and polling loops and this module holds the
one-shot operations an operator starts from the UI. An operation takes the device's
:class:`~console.snmp.link.SnmpLink` (requests and retries), a
:class:`RecentValues` port (the values a write reports as ``previous``) and the bus:
it never reaches into the device. Payloads are those of
``docs/events.md`` (``("snmp", DEVICE, "write", OID)`` and ``("snmp", DEVICE, "walk",
OID)``).

Requests
--------
PDUs are sent (:meth:`SnmpLink.command <console.snmp.link.SnmpLink.command>`) with
pysnmp's command generators (``pysnmp.entity.rfc3413.cmdgen``) on
the device's shared engine, credentials and transport target, **without** the MIB
resolution pysnmp's high-level ``set_cmd``/``bulk_cmd`` apply to every var-bind:
``set_cmd`` re-casts the value to the syntax of the object in pysnmp's bundled MIBs
(measured on pysnmp 7.1.30: an ``INTEGER`` 5 written to sysContact.0 went out as
INTEGER 0, and an ``OCTET STRING`` written to sysUpTime.0 raised ``ValueError`` before
sending), so an operator's wrong type would be altered or refused locally instead of
being answered by the agent (``WRONG_TYPE``). Here the value leaves exactly as
:func:`~console.snmp.codec.to_pysnmp` built it.

Every request follows the device's retry policy, as polling does: up to
``request_retry_count + 1`` tries of ``request_timeout`` s, ``request_retry_delay`` s
apart. Only a timeout is retried: any other failure (a USM report such as a wrong
digest) would fail the same way again. Each failed try counts in the device's
``errors`` statistic. A re-sent SET is a new request: if only the answer to the first
was lost, an object that is not idempotent (a RowStatus ``createAndGo``) may answer the
second with an error although the first took effect. A timeout never changes the
device's status: the polling loop alone decides when a device is ``DISCONNECTED``.

Error names (the ``error`` of both events): a PDU error-status name
(:data:`~console.snmp.codec.PDU_ERROR_NAMES`: ``NOT_WRITABLE``, ``WRONG_TYPE``,
``NO_ACCESS``, ``NO_SUCH_NAME``...), an error value name (``NO_SUCH_OBJECT``...), a USM
report name (RFC 3414 §3.2, named by :func:`~console.snmp.link.usm_error_name` as for
reads: ``WRONG_DIGESTS``, ``UNKNOWN_USER_NAMES``...), the upper snake case name of any
other pysnmp error indication (``UNSUPPORTED_SECURITY_LEVEL``...), or one of
:data:`TIMEOUT`, :data:`CANCELLED`, :data:`OID_NOT_INCREASING`, :data:`EMPTY_RESPONSE`,
:data:`DEVICE_CLOSED`, :data:`INTERNAL_ERROR`.

SNMPv1 agents answer with v1 error-statuses (RFC 3584 §4.4 maps the v2 ones:
``notWritable``, ``noAccess``, ``noCreation`` -> ``noSuchName``; ``wrongType``,
``wrongValue``, ``wrongLength``... -> ``badValue``; ``resourceUnavailable``,
``commitFailed``... -> ``genErr``). Measured with Net-SNMP 5.9.3's snmpd: a SET of
sysDescr.0 is ``NOT_WRITABLE`` (v2c) / ``NO_SUCH_NAME`` (v1); an ``INTEGER`` to
sysContact.0 is ``WRONG_TYPE`` / ``BAD_VALUE``; any SET with a read-only community is
``NO_ACCESS`` / ``NO_SUCH_NAME``.

Secrets: nothing here formats credentials; pysnmp's error texts carry none.

References: RFC 3416 §4.2.5 (SetRequest), §4.2.3 (GetBulkRequest), §4.2.2
(GetNextRequest); RFC 1157 §4.1.3 (an SNMPv1 GetNext past the last object answers
``noSuchName``); RFC 3584 §4.4 (v2 -> v1 error-status mapping); hat-gateway
``devices/snmp/manager.py`` (``_process_write_event``, ``_is_error_response``).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from console.events import EventManager, JsonValue
from console.format import format_value
from console.oid import format_walk_root, parse_walk_root, walk_start
from console.snmp.codec import (
    Data,
    format_oid,
    from_pysnmp,
    normalize_oid,
    parse_oid,
    pdu_error_name,
    to_pysnmp,
)
from console.snmp.errors import (
    RequestFailed,
    SnmpError,
    SnmpNotConnectedError,
    SnmpOperationError,
    SnmpTimeoutError,
)
from console.snmp.link import BULK, GET, INTERNAL_ERROR, NEXT, SET, TIMEOUT, Route, SnmpLink

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.proto import rfc1902, rfc1905

__all__ = [
    "CANCELLED",
    "DEVICE_CLOSED",
    "EMPTY_RESPONSE",
    "INTERNAL_ERROR",
    "MAX_REPETITIONS_LIMIT",
    "OID_NOT_INCREASING",
    "TIMEOUT",
    "RecentValues",
    "SnmpOperationError",
    "walk",
    "write",
]

mlog = logging.getLogger(__name__)

#: The caller stopped the operation: its task was cancelled, or the walk's consumer
#: closed the generator (``aclose()``, leaving ``contextlib.aclosing``) before the end.
CANCELLED: Final = "CANCELLED"
#: A walk response named an OID not greater than the one before it (a broken agent
#: that would otherwise be walked forever).
OID_NOT_INCREASING: Final = "OID_NOT_INCREASING"
#: A GETBULK/GETNEXT answer without error and without var-binds.
EMPTY_RESPONSE: Final = "EMPTY_RESPONSE"
#: The device was closed while the walk ran.
DEVICE_CLOSED: Final = "DEVICE_CLOSED"

#: Largest max-repetitions accepted: more never fits one UDP datagram anyway (agents
#: truncate the answer to their message size, RFC 3416 §4.2.3).
MAX_REPETITIONS_LIMIT: Final = 1000

_NO_SUCH_NAME: Final = 2
_TOO_BIG: Final = 1
_NULL: Final = rfc1902.Null("")
_END_OF_MIB_VIEW: Final = rfc1905.EndOfMibView.tagSet


class RecentValues(Protocol):
    """The port through which operations see and keep a device's recent values (the
    device's polling cache and its operator reads)."""

    def previous(self, oid: str) -> Data | None:
        """The newest value seen for ``oid``, or ``None``."""
        ...

    def remember(self, oid: str, data: Data) -> None:
        """Keep a value an operator read or walk returned."""
        ...


# -- SET -----------------------------------------------------------------------------------


def _set_error(status: int, answer: Sequence[tuple[Any, Any]]) -> str | None:
    """hat-gateway's success rule for a SET answer (``_is_error_response``): an
    error-status fails it; so does an answered var-bind that is an exception value or
    NULL (``NO_SUCH_OBJECT``, ``NO_SUCH_INSTANCE``, ``END_OF_MIB_VIEW``, ``EMPTY``).
    An answer without var-binds counts as success, as in hat-gateway."""
    if status:
        return pdu_error_name(status)
    if not answer:
        return None
    data = from_pysnmp(answer[0][1])
    if data["type"] == "ERROR":
        return str(data["value"])
    return None


def _plain(_oid: str, data: Data) -> str:
    return format_value(str(data.get("type")), data.get("value"))


async def write(
    link: SnmpLink,
    recent: RecentValues,
    bus: EventManager,
    oid: str,
    data: Mapping[str, object],
    session_id: str | None,
    read_back: Callable[[str, str | None], Awaitable[object]],
    display: Callable[[str, Data], str] | None = None,
) -> dict[str, JsonValue]:
    """:meth:`SnmpDevice.write <console.snmp.manager.SnmpDevice.write>` (its docstring
    is the contract) on ``link``; ``previous`` comes from ``recent``, and after a
    success the OID is read back with ``read_back(oid, session_id)`` (the device's
    operator read); ``display(oid, data)`` gives ``display`` and ``previous_display``
    (``None``: the plain form)."""
    text = normalize_oid(oid)
    value = to_pysnmp(data)  # ValueError before anything is sent
    written = from_pysnmp(value, string_hex=data.get("type") == "STRING_HEX")
    route = link.route(write=True)
    previous = recent.previous(text)
    event_type = ("snmp", link.name, "write", text)
    shown = display if display is not None else _plain
    written_display = shown(text, written)
    previous_display = shown(text, previous) if previous is not None else None

    def payload(success: bool, error: str | None) -> dict[str, JsonValue]:
        return {
            "session_id": session_id,
            "success": success,
            "error": error,
            "data": dict(written),
            "previous": dict(previous) if previous is not None else None,
            "display": written_display,
            "previous_display": previous_display,
        }

    try:
        status, _index, answer = await link.command(
            route, SET, [(rfc1902.ObjectName(parse_oid(text)), value)]
        )
    except RequestFailed as failure:
        error: str | None = failure.error
    except asyncio.CancelledError:
        # the SET may or may not have reached the agent: say that it was abandoned
        if not bus.closed:
            bus.publish(event_type, payload(False, CANCELLED))
        raise
    else:
        error = _set_error(status, answer)
    result = payload(error is None, error)
    mlog.info(
        "SNMP device %s: SET %s (%s) %s",
        link.name,
        text,
        written["type"],
        "succeeded" if error is None else f"failed: {error}",
    )
    await bus.publish_wait(event_type, result)
    if error is None:
        # show the confirmed value at once (cause REQUESTED); a polled OID still gets
        # its CHANGE from the next poll, which is what the agent now holds
        try:
            await read_back(text, session_id)
        except SnmpError as exc:
            mlog.debug("SNMP device %s: read after SET of %s failed: %s", link.name, text, exc)
    return result


# -- WALK ----------------------------------------------------------------------------------


def walk(
    link: SnmpLink,
    recent: RecentValues,
    bus: EventManager,
    oid: str,
    *,
    session_id: str | None,
    max_repetitions: int,
) -> AsyncGenerator[tuple[str, Data], None]:
    """:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>` (its docstring is
    the contract) on ``link``: validate now, return the walking generator; walked
    values are kept in ``recent``. ``oid`` is a walk root
    (:func:`console.oid.parse_walk_root`: ``"."`` the whole agent, one top arc, or a
    numeric OID)."""
    root = parse_walk_root(oid)
    if (
        isinstance(max_repetitions, bool)
        or not isinstance(max_repetitions, int)
        or not 1 <= max_repetitions <= MAX_REPETITIONS_LIMIT
    ):
        raise ValueError(
            f"max_repetitions must be an integer in 1..{MAX_REPETITIONS_LIMIT},"
            f" not {max_repetitions!r}"
        )
    route = link.route()
    return _walk(link, route, recent.remember, bus, root, session_id, max_repetitions)


async def _walk(
    link: SnmpLink,
    route: Route,
    remember: Callable[[str, Data], None],
    bus: EventManager,
    root: tuple[int, ...],
    session_id: str | None,
    repetitions: int,
) -> AsyncGenerator[tuple[str, Data], None]:
    text = format_walk_root(root)
    loop = asyncio.get_running_loop()
    started = loop.time()
    count = 0
    complete = False
    error: str | None = CANCELLED  # unless the walk ends by itself
    kind = NEXT if link.conf.version == "V1" else BULK
    string_hex = link.string_hex
    size = len(root)
    last = walk_start(root)  # a root of 0 or 1 arc starts at N.0 (BER needs two arcs)
    cursor: Any = rfc1902.ObjectName(last)
    try:
        done = False
        while not done:
            if link.closed:
                raise RequestFailed("device closed", DEVICE_CLOSED)
            status, _index, answer = await link.command(route, kind, [(cursor, _NULL)], repetitions)
            if status:
                if kind == NEXT and status == _NO_SUCH_NAME:
                    break  # SNMPv1: no successor, the end of the agent's MIB view
                if status == _TOO_BIG and kind == BULK and repetitions > 1:
                    repetitions //= 2  # RFC 3416 §4.2.3: ask for fewer, down to 1
                    mlog.debug(
                        "SNMP device %s: walk of %s: tooBig, max-repetitions now %d",
                        link.name,
                        text,
                        repetitions,
                    )
                    continue
                name = pdu_error_name(status)
                if status == _TOO_BIG:
                    what = "max-repetitions 1" if kind == BULK else "a single var-bind"
                    raise RequestFailed(
                        f"{kind} after {format_oid(last)} answered {name} even for {what}", name
                    )
                raise RequestFailed(f"{kind} answered {name}", name)
            if not answer:
                raise RequestFailed(
                    f"{kind} after {format_oid(last)} answered no var-binds", EMPTY_RESPONSE
                )
            for name, value in answer:
                if value.tagSet == _END_OF_MIB_VIEW:
                    done = True
                    break
                arcs = name.asTuple()
                if arcs <= last:
                    raise RequestFailed(
                        f"the agent answered {format_oid(arcs)} after {format_oid(last)}",
                        OID_NOT_INCREASING,
                    )
                if arcs[:size] != root:
                    done = True  # left the subtree (lexicographicMode=False)
                    break
                last = arcs
                cursor = name
                oid = ".".join(map(str, arcs))
                data = from_pysnmp(value, string_hex=oid in string_hex)
                remember(oid, data)
                count += 1
                yield oid, data
        if count == 0 and size >= 2:
            # nothing below the root: it may be an instance itself (Net-SNMP's snmpwalk
            # does the same GET unless given -CI)
            status, _index, answer = await link.command(
                route, GET, [(rfc1902.ObjectName(root), _NULL)]
            )
            if not status and answer:
                data = from_pysnmp(answer[0][1], string_hex=text in string_hex)
                if data["type"] != "ERROR":
                    remember(text, data)
                    count += 1
                    yield text, data
        complete = True
        error = None
    except RequestFailed as failure:
        error = failure.error or INTERNAL_ERROR
        message = f"SNMP device {link.name!r}: walk of {text}: {failure.reason}"
        if error == TIMEOUT:
            raise SnmpTimeoutError(message) from None
        if error == DEVICE_CLOSED:
            raise SnmpNotConnectedError(message) from None
        raise SnmpOperationError(message, error) from None
    except Exception:
        error = INTERNAL_ERROR
        raise
    finally:
        seconds = loop.time() - started
        mlog.debug(
            "SNMP device %s: walk of %s ended: %d var-binds in %.3f s, %s",
            link.name,
            text,
            count,
            seconds,
            "complete" if complete else error,
        )
        if not bus.closed:
            # publish, not publish_wait: a closing generator must not wait
            bus.publish(
                ("snmp", link.name, "walk", text),
                {
                    "session_id": session_id,
                    "count": count,
                    "complete": complete,
                    "error": error,
                    "seconds": seconds,
                },
            )
