"""Fetch table columns with GETBULK, as Net-SNMP's ``snmptable`` does.

:func:`fetch_columns` reads every instance of a few columns of one table in as few
requests as it can: each GETBULK (RFC 3416 §4.2.3, non-repeaters 0) carries one
var-bind per column still unfinished, and asks ``max-repetitions`` successors of
each, so one answer holds several rows of every column, row after row. A column is
finished at the first OID outside it (or ``endOfMibView``); the others go on from
their own last OID. SNMPv1 has no GETBULK: a GETNEXT of every unfinished column
per request (RFC 1157 §4.1.3; its ``noSuchName`` for one var-bind ends that column).

``tooBig`` halves the var-binds asked (repetitions, then columns) and asks again.
An agent that answers an OID not greater than the one asked (a broken agent that
would be read forever) ends the fetch with ``OID_NOT_INCREASING``; so does one that
keeps answering beyond :data:`MAX_VARBINDS` (the fetch then stops and says so:
``complete`` false).

What is sent, and how it is retried, is the device's
(:meth:`~console.snmp.link.SnmpLink.command`: its timeout, retries and
credentials). The fetch publishes nothing: it is a request of the UI (a table screen
refreshing), answered to its caller, like a walk's var-binds; the values are not
polled values and do not go to the fleet state.

Reference: RFC 3416 §4.2.3 (GetBulkRequest: the answer's var-binds are the
non-repeaters then ``max-repetitions`` rounds of the repeaters), Net-SNMP
``apps/snmptable.c`` (one GETBULK over all the columns).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.snmp.codec import Data, from_pysnmp, pdu_error_name
from console.snmp.errors import (
    RequestFailed,
    SnmpNotConnectedError,
    SnmpOperationError,
    SnmpTimeoutError,
)
from console.snmp.link import BULK, INTERNAL_ERROR, NEXT, TIMEOUT, SnmpLink
from console.snmp.operations import DEVICE_CLOSED, EMPTY_RESPONSE, OID_NOT_INCREASING

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.proto import rfc1902, rfc1905

__all__ = ["DEFAULT_VARBINDS", "MAX_VARBINDS", "TableFetch", "fetch_columns"]

mlog = logging.getLogger(__name__)

#: Var-binds asked per GETBULK by default (columns x repetitions); agents cut an
#: answer that would not fit their message size (RFC 3416 §4.2.3), others say ``tooBig``.
DEFAULT_VARBINDS: Final = 250
#: A fetch stops after this many var-binds (bounded memory: 20 columns of 10,000 rows).
MAX_VARBINDS: Final = 200_000

_NO_SUCH_NAME: Final = 2
_TOO_BIG: Final = 1
_NULL: Final = rfc1902.Null("")
_END_OF_MIB_VIEW: Final = rfc1905.EndOfMibView.tagSet


@dataclass(slots=True)
class TableFetch:
    """The columns read by one :func:`fetch_columns`.

    Attributes:
        columns: column OID (arcs) -> instance arcs (the OID after the column) ->
            ``{"type", "value"}`` (``docs/events.md`` data types), in OID order; a
            column the agent does not have is empty.
        requests: PDUs answered.
        varbinds: var-binds kept.
        complete: False when :data:`MAX_VARBINDS` stopped the fetch early.
        seconds: how long it took.
    """

    columns: dict[tuple[int, ...], dict[tuple[int, ...], Data]] = field(default_factory=dict)
    requests: int = 0
    varbinds: int = 0
    complete: bool = True
    seconds: float = 0.0


async def fetch_columns(
    link: SnmpLink,
    columns: Sequence[tuple[int, ...]],
    *,
    max_varbinds: int = DEFAULT_VARBINDS,
    limit: int = MAX_VARBINDS,
) -> TableFetch:
    """Read every instance of ``columns`` from the agent of ``link``.

    Args:
        link: the device's request link (credentials, target, retry policy).
        columns: column OIDs as arcs (``(1, 3, 6, 1, 2, 1, 2, 2, 1, 2)`` ifDescr).
        max_varbinds: var-binds asked per request (columns x repetitions), >= 1.
        limit: stop after this many var-binds (``complete`` is then false).

    Returns:
        A :class:`TableFetch`.

    Raises:
        ValueError: no column, or ``max_varbinds`` below 1.
        SnmpNotConnectedError: the device is not ``CONNECTED``, or was closed.
        SnmpTimeoutError: a request got no answer after all its tries.
        SnmpOperationError: any other failure; ``error`` names it (an error-status
            name such as ``GEN_ERR``, ``OID_NOT_INCREASING``, ``EMPTY_RESPONSE``, a
            USM report name).
    """
    if not columns:
        raise ValueError("no column to fetch")
    if max_varbinds < 1:
        raise ValueError(f"max_varbinds must be at least 1, not {max_varbinds}")
    route = link.route()  # SnmpNotConnectedError when not connected
    loop = asyncio.get_running_loop()
    started = loop.time()
    fetch = TableFetch(columns={tuple(c): {} for c in columns})
    try:
        await _fetch(link, route, fetch, max_varbinds, limit)
    except RequestFailed as failure:
        error = failure.error or INTERNAL_ERROR
        message = f"SNMP device {link.name!r}: table fetch: {failure.reason}"
        if error == TIMEOUT:
            raise SnmpTimeoutError(message) from None
        if error == DEVICE_CLOSED:
            raise SnmpNotConnectedError(message) from None
        raise SnmpOperationError(message, error) from None
    finally:
        fetch.seconds = loop.time() - started
    mlog.debug(
        "SNMP device %s: %d columns, %d var-binds in %d requests, %.3f s",
        link.name,
        len(fetch.columns),
        fetch.varbinds,
        fetch.requests,
        fetch.seconds,
    )
    return fetch


async def _fetch(link: SnmpLink, route: Any, fetch: TableFetch, budget: int, limit: int) -> None:
    kind = NEXT if link.conf.version == "V1" else BULK
    string_hex = link.string_hex
    # column -> the last OID read (the cursor of its next request)
    cursors: dict[tuple[int, ...], tuple[int, ...]] = {c: c for c in fetch.columns}
    while cursors:
        if link.closed:
            raise RequestFailed("device closed", DEVICE_CLOSED)
        asked = list(cursors)[: max(1, budget)]
        repetitions = max(1, budget // len(asked))
        var_binds = [(rfc1902.ObjectName(cursors[c]), _NULL) for c in asked]
        status, index, answer = await link.command(route, kind, var_binds, repetitions)
        if status:
            if status == _TOO_BIG and budget > 1:
                budget //= 2
                continue
            if kind == NEXT and status == _NO_SUCH_NAME and 1 <= index <= len(asked):
                del cursors[asked[index - 1]]  # v1: that column is at the end of the MIB
                continue
            name = pdu_error_name(status)
            raise RequestFailed(f"{kind} answered {name}", name)
        if not answer:
            raise RequestFailed(f"{kind} answered no var-binds", EMPTY_RESPONSE)
        fetch.requests += 1
        finished: set[tuple[int, ...]] = set()
        width = len(asked)
        for position, (name, value) in enumerate(answer):
            column = asked[position % width]
            if column in finished:
                continue
            arcs = tuple(name.asTuple())
            if value.tagSet == _END_OF_MIB_VIEW or arcs[: len(column)] != column:
                finished.add(column)
                continue
            if arcs <= cursors[column]:
                raise RequestFailed(
                    f"the agent answered {_dotted(arcs)} after {_dotted(cursors[column])}",
                    OID_NOT_INCREASING,
                )
            cursors[column] = arcs
            oid = _dotted(arcs)
            fetch.columns[column][arcs[len(column) :]] = from_pysnmp(
                value, string_hex=oid in string_hex
            )
            fetch.varbinds += 1
            if fetch.varbinds >= limit:
                fetch.complete = False
                return
        for column in finished:
            del cursors[column]


def _dotted(arcs: Sequence[int]) -> str:
    return ".".join(map(str, arcs))
