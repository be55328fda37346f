"""Operator SET and WALK for :class:`~console.snmp.manager.SnmpDevice`.

:meth:`SnmpDevice.write <console.snmp.manager.SnmpDevice.write>` and
:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>` delegate here, so that
``manager.py`` stays the connection and polling loops and this module holds the
one-shot operations an operator starts from the UI. Payloads are those of
``docs/events.md`` (``("snmp", DEVICE, "write", OID)`` and ``("snmp", DEVICE, "walk",
OID)``).

Requests
--------
PDUs are sent with pysnmp's command generators (``pysnmp.entity.rfc3413.cmdgen``) on
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
report name (RFC 3414 §3.2, named by :func:`~console.snmp.manager.usm_error_name` as for
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
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from console.events import JsonValue
from console.snmp.codec import (
    Data,
    from_pysnmp,
    normalize_oid,
    parse_oid,
    pdu_error_name,
    to_pysnmp,
)
from console.snmp.manager import (
    SnmpError,
    SnmpNotConnectedError,
    SnmpTimeoutError,
    usm_error_name,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.entity.rfc3413 import cmdgen
    from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
    from pysnmp.proto import errind, rfc1902, rfc1905

if TYPE_CHECKING:
    from console.snmp.manager import SnmpDevice

__all__ = [
    "CANCELLED",
    "DEVICE_CLOSED",
    "EMPTY_RESPONSE",
    "INTERNAL_ERROR",
    "MAX_REPETITIONS_LIMIT",
    "OID_NOT_INCREASING",
    "TIMEOUT",
    "SnmpOperationError",
    "walk",
    "write",
]

mlog = logging.getLogger(__name__)

#: No answer after every try.
TIMEOUT: Final = "TIMEOUT"
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
#: pysnmp raised locally (a bug, or an engine shutting down); logged.
INTERNAL_ERROR: Final = "INTERNAL_ERROR"

#: Largest max-repetitions accepted: more never fits one UDP datagram anyway (agents
#: truncate the answer to their message size, RFC 3416 §4.2.3).
MAX_REPETITIONS_LIMIT: Final = 1000

_NO_SUCH_NAME: Final = 2
_TOO_BIG: Final = 1
_TIMEOUT_GUARD: Final = 1.0  # as manager._TIMEOUT_GUARD: a stalled engine timer
_NULL: Final = rfc1902.Null("")
_END_OF_MIB_VIEW: Final = rfc1905.EndOfMibView.tagSet
_GET, _SET, _NEXT, _BULK = "GET", "SET", "GETNEXT", "GETBULK"


class SnmpOperationError(SnmpError):
    """A walk stopped on an error other than a timeout.

    Attributes:
        error: the error name, as in the walk event (``OID_NOT_INCREASING``,
            ``GEN_ERR``, ``WRONG_DIGESTS``, ``INTERNAL_ERROR``...).
    """

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


class _Failed(Exception):
    """A request (or walk) failed; ``name`` is its error name, ``detail`` a short text."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail)
        self.name = name
        self.detail = detail


def _indication_name(indication: object) -> str:
    """Error name of a pysnmp error indication (see the module docstring)."""
    if isinstance(indication, errind.RequestTimedOut):
        return TIMEOUT
    usm = usm_error_name(indication)
    if usm is not None:
        return usm
    if isinstance(indication, errind.ErrorIndication):
        words: list[str] = []
        for char in type(indication).__name__:
            if char.isupper() and words and not words[-1].isupper():
                words.append("_")
            words.append(char)
        return "".join(words).upper()
    return INTERNAL_ERROR


# -- one PDU ---------------------------------------------------------------------------


async def _send(
    link: tuple[Any, Any, Any, Any],
    kind: str,
    var_binds: Sequence[tuple[Any, Any]],
    max_repetitions: int = 0,
) -> tuple[Any, int, int, Sequence[tuple[Any, Any]]]:
    """Send one PDU (pysnmp's own retries are off on the device's target) and return
    ``(error_indication, error_status, error_index, var_binds)`` as pysnmp reports
    them: raw ``(ObjectName, value)`` pairs, no MIB look-ups either way.

    Raises:
        Exception: whatever pysnmp raises locally (closed engine, encoding).
    """
    engine, auth, target, context = link
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[Any, int, int, Sequence[tuple[Any, Any]]]]
    future = loop.create_future()

    def on_response(
        _engine: Any,
        _handle: Any,
        indication: Any,
        status: Any,
        index: Any,
        answer: Any,
        _context: Any,
    ) -> None:
        if not future.done():  # a late answer to a cancelled request
            future.set_result((indication, int(status or 0), int(index or 0), answer or ()))

    address_name, _params = LCD.configure(engine, auth, target, context.contextName)
    engine_id, name = context.contextEngineId, context.contextName
    if kind == _BULK:
        cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
            engine, address_name, engine_id, name, 0, max_repetitions, var_binds, on_response
        )
    elif kind == _NEXT:
        cmdgen.NextCommandGeneratorSingleRun().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    elif kind == _SET:
        cmdgen.SetCommandGenerator().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    else:
        cmdgen.GetCommandGenerator().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    return await future


async def _request(
    device: SnmpDevice,
    link: tuple[Any, Any, Any, Any],
    kind: str,
    var_binds: Sequence[tuple[Any, Any]],
    max_repetitions: int = 0,
) -> tuple[int, int, Sequence[tuple[Any, Any]]]:
    """One request with the device's retry policy (module docstring); return
    ``(error_status, error_index, var_binds)`` of the answer.

    Raises:
        _Failed: no answer after every try (``TIMEOUT``), a USM or other error
            indication (not retried), or a local pysnmp failure (``INTERNAL_ERROR``).
    """
    conf = device.conf
    timeout = float(conf.request_timeout)
    tries = int(conf.request_retry_count) + 1
    failure: object = None
    for attempt in range(tries):
        if attempt:
            await asyncio.sleep(conf.request_retry_delay)
        try:
            async with asyncio.timeout(timeout + _TIMEOUT_GUARD):
                indication, status, index, answer = await _send(
                    link, kind, var_binds, max_repetitions
                )
        except TimeoutError:
            indication = errind.RequestTimedOut()
        except Exception as exc:
            device._errors += 1
            mlog.warning(
                "SNMP device %s: %s failed locally: %s", device.name, kind, type(exc).__name__
            )
            raise _Failed(INTERNAL_ERROR, f"{kind} failed locally: {type(exc).__name__}") from None
        if indication is None:
            return status, index, answer
        device._errors += 1
        failure = indication
        mlog.debug(
            "SNMP device %s: %s try %d/%d failed: %s",
            device.name,
            kind,
            attempt + 1,
            tries,
            type(indication).__name__,
        )
        if not isinstance(indication, errind.RequestTimedOut):
            break
    name = _indication_name(failure)
    if name == TIMEOUT:
        plural = "try" if tries == 1 else "tries"
        raise _Failed(TIMEOUT, f"no response after {tries} {plural} (timeout {timeout} s)")
    raise _Failed(name, f"{kind} failed: {name}")


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


async def write(
    device: SnmpDevice, oid: str, data: Mapping[str, object], session_id: str | None
) -> dict[str, JsonValue]:
    """:meth:`SnmpDevice.write <console.snmp.manager.SnmpDevice.write>` (its docstring
    is the contract)."""
    text = normalize_oid(oid)
    value = to_pysnmp(data)  # ValueError before anything is sent
    written = from_pysnmp(value, string_hex=data.get("type") == "STRING_HEX")
    link = device._operator_link(write=True)
    previous = device._previous(text)
    event_type = ("snmp", device.name, "write", text)

    def payload(success: bool, error: str | None) -> dict[str, JsonValue]:
        return {
            "session_id": session_id,
            "success": success,
            "error": error,
            "data": dict(written),
            "previous": dict(previous) if previous is not None else None,
        }

    try:
        status, _index, answer = await _request(
            device, link, _SET, [(rfc1902.ObjectName(parse_oid(text)), value)]
        )
    except _Failed as failure:
        error: str | None = failure.name
    except asyncio.CancelledError:
        # the SET may or may not have reached the agent: say that it was abandoned
        if not device._bus.closed:
            device._bus.publish(event_type, payload(False, CANCELLED))
        raise
    else:
        error = _set_error(status, answer)
    result = payload(error is None, error)
    mlog.info(
        "SNMP device %s: SET %s (%s) %s",
        device.name,
        text,
        written["type"],
        "succeeded" if error is None else f"failed: {error}",
    )
    await device._bus.publish_wait(event_type, result)
    if error is None:
        # show the confirmed value at once (cause REQUESTED); a polled OID still gets
        # its CHANGE from the next poll, which is what the agent now holds
        try:
            await device.read(text, session_id=session_id)
        except SnmpError as exc:
            mlog.debug("SNMP device %s: read after SET of %s failed: %s", device.name, text, exc)
    return result


# -- WALK ----------------------------------------------------------------------------------


def walk(
    device: SnmpDevice, oid: str, *, session_id: str | None, max_repetitions: int
) -> AsyncGenerator[tuple[str, Data], None]:
    """:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>` (its docstring is
    the contract): validate now, return the walking generator."""
    root = parse_oid(oid)
    if (
        isinstance(max_repetitions, bool)
        or not isinstance(max_repetitions, int)
        or not 1 <= max_repetitions <= MAX_REPETITIONS_LIMIT
    ):
        raise ValueError(
            f"max_repetitions must be an integer in 1..{MAX_REPETITIONS_LIMIT},"
            f" not {max_repetitions!r}"
        )
    link = device._operator_link()
    return _walk(device, link, root, session_id, max_repetitions)


async def _walk(
    device: SnmpDevice,
    link: tuple[Any, Any, Any, Any],
    root: tuple[int, ...],
    session_id: str | None,
    repetitions: int,
) -> AsyncGenerator[tuple[str, Data], None]:
    text = ".".join(map(str, root))
    loop = asyncio.get_running_loop()
    started = loop.time()
    count = 0
    complete = False
    error: str | None = CANCELLED  # unless the walk ends by itself
    kind = _NEXT if device.conf.version == "V1" else _BULK
    string_hex = device._string_hex
    remember = device._remember
    size = len(root)
    last = root
    cursor: Any = rfc1902.ObjectName(root)
    try:
        done = False
        while not done:
            if device._closing is not None:
                raise _Failed(DEVICE_CLOSED, "device closed")
            status, _index, answer = await _request(
                device, link, kind, [(cursor, _NULL)], repetitions
            )
            if status:
                if kind == _NEXT and status == _NO_SUCH_NAME:
                    break  # SNMPv1: no successor, the end of the agent's MIB view
                if status == _TOO_BIG and repetitions > 1:
                    repetitions //= 2
                    continue
                name = pdu_error_name(status)
                raise _Failed(name, f"{kind} answered {name}")
            if not answer:
                raise _Failed(EMPTY_RESPONSE, f"{kind} answered no var-binds")
            for name, value in answer:
                if value.tagSet == _END_OF_MIB_VIEW:
                    done = True
                    break
                arcs = name.asTuple()
                if arcs <= last:
                    raise _Failed(
                        OID_NOT_INCREASING,
                        f"the agent answered {'.'.join(map(str, arcs))} after"
                        f" {'.'.join(map(str, last))}",
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
        if count == 0:
            # nothing below the root: it may be an instance itself (Net-SNMP's snmpwalk
            # does the same GET unless given -CI)
            status, _index, answer = await _request(
                device, link, _GET, [(rfc1902.ObjectName(root), _NULL)]
            )
            if not status and answer:
                data = from_pysnmp(answer[0][1], string_hex=text in string_hex)
                if data["type"] != "ERROR":
                    remember(text, data)
                    count += 1
                    yield text, data
        complete = True
        error = None
    except _Failed as failure:
        error = failure.name
        message = f"SNMP device {device.name!r}: walk of {text}: {failure.detail}"
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
            device.name,
            text,
            count,
            seconds,
            "complete" if complete else error,
        )
        bus = device._bus
        if not bus.closed:
            # publish, not publish_wait: a closing generator must not wait
            bus.publish(
                ("snmp", device.name, "walk", text),
                {
                    "session_id": session_id,
                    "count": count,
                    "complete": complete,
                    "error": error,
                    "seconds": seconds,
                },
            )
