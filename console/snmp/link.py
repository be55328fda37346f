"""The request link to one agent: requests, retries, tooBig splitting and SNMPv3
security errors (RFC 3416, RFC 3414).

A :class:`SnmpLink` holds what every request of one device needs -- the shared
pysnmp engine (:mod:`console.snmp.engine`), the credentials, the context and the
transport target -- and sends requests with the device's retry policy. The device
(:class:`~console.snmp.manager.SnmpDevice`) drives the connection and polling loops on
top of it; :mod:`console.snmp.operations` sends operator SETs and walks through it.

Requests and errors
-------------------
Each request waits ``request_timeout`` s for the answer and is re-sent up to
``request_retry_count`` times, ``request_retry_delay`` s apart (pysnmp's own retries
are off, so the delay between tries is ours, as in hat-gateway). Every failed try
counts in :attr:`SnmpLink.errors`. A GET answered with an error-status (RFC 3416 §3)
is not a lost connection (:meth:`SnmpLink.get`):

* ``tooBig``: the batch is split in halves and each half is requested again; a
  single var-bind that is still too big is reported as ``ERROR`` ``TOO_BIG``;
* any other error-status whose error-index names a var-bind (an SNMPv1 agent answers
  ``noSuchName`` for the whole PDU when one OID is unknown): that OID is reported as
  ``ERROR`` with the status name (``NO_SUCH_NAME``) and the rest of the batch is
  requested again, so one bad OID never blanks the device;
* an error-status without a usable index: the batch is split the same way.

SNMPv3
------
A ``V3`` device authenticates as a USM user (RFC 3414): pysnmp's ``UsmUserData``
from ``user``, ``authentication`` (``MD5``/``SHA`` RFC 3414, ``SHA224``..``SHA512``
RFC 7860) and ``privacy`` (``DES`` RFC 3414, ``AES`` = AES-128 RFC 3826, ``3DES``,
``AES192`` and ``AES256`` with the Reeder key extension); the security level follows
from what is given. A ``context`` sets the context engine ID and name of every
request (RFC 3411 §3.3). pysnmp discovers the agent's engine ID and time itself, and
re-sends on ``notInTimeWindow`` / ``unknownEngineID`` reports (up to 4 times).

When the agent still rejects a request with a USM report (RFC 3414 §3.2), the
credentials are wrong: retrying cannot help, so the request is not re-sent and
:class:`~console.snmp.errors.SecurityRejected` is raised, named after the report
(``WRONG_DIGESTS``, ``UNKNOWN_USER_NAMES``, ``UNKNOWN_ENGINE_IDS``,
``NOT_IN_TIME_WINDOWS``, ``DECRYPTION_ERRORS``; :func:`usm_error_name`) with the
reason ``authentication failed: NAME (hint)``; a security level the agent does not
accept (``unsupportedSecurityLevel``) gives ``unsupported security level: ...``.
Agents (Net-SNMP among them) drop messages they cannot decrypt, so a wrong privacy
password looks like a timeout; the reason of an authPriv device says so.

Secrets: the link formats no credential; pysnmp's error texts carry none.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Final

from console.config import SnmpDeviceConfig
from console.snmp.codec import Data, error_data, from_pysnmp, normalize_oid, pdu_error_name
from console.snmp.engine import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    SharedEngine,
    acquire_engine,
    release_engine,
)
from console.snmp.errors import RequestFailed, SecurityRejected, SnmpNotConnectedError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.entity.rfc3413 import cmdgen
    from pysnmp.hlapi.v3arch.asyncio import ContextData, UdpTransportTarget, get_cmd
    from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
    from pysnmp.proto import errind
    from pysnmp.proto.errind import RequestTimedOut
    from pysnmp.proto.rfc1902 import OctetString

__all__ = [
    "BULK",
    "GET",
    "INTERNAL_ERROR",
    "NEXT",
    "SET",
    "TIMEOUT",
    "Cycle",
    "Route",
    "SnmpLink",
    "SnmpStatus",
    "indication_name",
    "short",
    "usm_error_name",
]

mlog = logging.getLogger(__name__)

#: Error name: no answer after every try.
TIMEOUT: Final = "TIMEOUT"
#: Error name: pysnmp raised locally (a bug, or an engine shutting down); logged.
INTERNAL_ERROR: Final = "INTERNAL_ERROR"
#: PDU kinds of :meth:`SnmpLink.command`.
GET, SET, NEXT, BULK = "GET", "SET", "GETNEXT", "GETBULK"

#: Extra seconds past pysnmp's own timeout before a request is abandoned anyway
#: (a guard against a stalled engine timer; pysnmp's timer ticks every 0.1 s).
_TIMEOUT_GUARD: Final = 1.0
_TOO_BIG: Final = 1
#: Shortest USM password (RFC 3414 §11.2).
_MIN_PASSWORD: Final = 8
#: USM reports (pysnmp error indications) -> ``ERROR`` name and an operator hint.
_USM_REPORTS: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (errind.WrongDigest, "WRONG_DIGESTS", "wrong authentication password or protocol"),
    (errind.UnknownUserName, "UNKNOWN_USER_NAMES", "the agent has no such user"),
    (errind.DecryptionError, "DECRYPTION_ERRORS", "wrong privacy password or protocol"),
    (errind.NotInTimeWindow, "NOT_IN_TIME_WINDOWS", "the agent's engine time disagrees"),
    (errind.UnknownEngineID, "UNKNOWN_ENGINE_IDS", "engine ID discovery failed"),
)

Route = tuple[Any, Any, Any, Any]
"""``(engine, auth, target, context)``: the pysnmp objects of an operator request,
taken when the operation starts (:meth:`SnmpLink.route`)."""


class SnmpStatus(enum.StrEnum):
    """Connection status of a device, as published in ``("snmp", NAME, "status")``."""

    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


class Cycle:
    """Counters of one polling cycle (or of one operator read).

    Attributes:
        rtt_sum: seconds of round trip summed over the answered requests.
        rtt_count: answered requests.
        values: non-``ERROR`` values.
    """

    __slots__ = ("rtt_count", "rtt_sum", "values")

    def __init__(self) -> None:
        self.rtt_sum = 0.0
        self.rtt_count = 0
        self.values = 0


def usm_error_name(indication: object) -> str | None:
    """The ``ERROR`` name of a pysnmp error indication that is a USM report (RFC 3414
    §3.2): ``WrongDigest`` -> ``"WRONG_DIGESTS"``, ``UnknownUserName`` ->
    ``"UNKNOWN_USER_NAMES"``, ``UnknownEngineID`` -> ``"UNKNOWN_ENGINE_IDS"``,
    ``NotInTimeWindow`` -> ``"NOT_IN_TIME_WINDOWS"``, ``DecryptionError`` ->
    ``"DECRYPTION_ERRORS"`` (:data:`~console.snmp.codec.USM_ERROR_NAMES`, as
    hat-gateway names them); ``None`` for anything else."""
    for cls, name, _hint in _USM_REPORTS:
        if isinstance(indication, cls):
            return name
    return None


def indication_name(indication: object) -> str:
    """Error name of a pysnmp error indication: :data:`TIMEOUT`, a USM report name,
    the upper snake case name of any other indication (``UNSUPPORTED_SECURITY_LEVEL``),
    else :data:`INTERNAL_ERROR`."""
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


def short(exc: object) -> str:
    """A one-line, secret-free description of a failure (pysnmp's texts carry no
    community)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}" if text and name not in text else (text or name)


def _security_level(conf: SnmpDeviceConfig) -> str:
    """RFC 3411 security level name of a V3 configuration."""
    if conf.authentication is None:
        return "noAuthNoPriv"
    return "authNoPriv" if conf.privacy is None else "authPriv"


def _check_credentials(name: str, conf: SnmpDeviceConfig) -> None:
    """Check what the loader checks, for configurations built in code.

    Raises:
        ValueError: an unsupported version, V1/V2C without a community, or for V3 no
            user, privacy without authentication, an unknown protocol, or a password
            shorter than 8 characters (never shown).
    """
    if conf.version not in ("V1", "V2C", "V3"):
        raise ValueError(f"SNMP device {name!r}: unsupported version {conf.version!r}")
    if conf.version != "V3":
        if conf.community is None:
            raise ValueError(f"SNMP device {name!r}: SNMP {conf.version} needs a community")
        return
    if not conf.user:
        raise ValueError(f"SNMP device {name!r}: SNMPv3 needs a user")
    if conf.privacy is not None and conf.authentication is None:
        raise ValueError(f"SNMP device {name!r}: SNMPv3 privacy needs authentication")
    for what, setting, known in (
        ("authentication", conf.authentication, AUTH_PROTOCOLS),
        ("privacy", conf.privacy, PRIV_PROTOCOLS),
    ):
        if setting is None:
            continue
        if setting.type not in known:
            raise ValueError(
                f"SNMP device {name!r}: unknown {what} protocol {setting.type!r}; "
                f"expected one of {', '.join(known)}"
            )
        if len(setting.password.reveal()) < _MIN_PASSWORD:
            raise ValueError(
                f"SNMP device {name!r}: the {what} password must be at least "
                f"{_MIN_PASSWORD} characters long (RFC 3414 §11.2)"
            )


def _context_data(conf: SnmpDeviceConfig) -> Any:
    """pysnmp's ``ContextData`` for a V3 ``context`` (RFC 3411 §3.3): an empty engine
    ID leaves it to pysnmp (the agent's discovered one)."""
    context = conf.context
    if context is None:
        return ContextData()
    engine_id = OctetString(hexValue=context.engine_id) if context.engine_id else None
    return ContextData(contextEngineId=engine_id, contextName=context.name)


class SnmpLink:
    """Requests to one agent with one device's credentials and retry policy.

    Args:
        name: the device name (in log lines and messages).
        conf: the device's ``snmp:`` section.
        on_answer: called (synchronously) after every answered request, so the owner
            can mark its device ``CONNECTED``.

    Raises:
        ValueError: missing or bad credentials, or a malformed ``string_hex_oids``
            entry (no secret in the message).

    Attributes:
        status: the device's connection status, kept here by the device (operator
            requests are refused unless ``CONNECTED``).
        target: pysnmp's transport target while connected (:meth:`connect`), else
            ``None``.
        errors: failed request tries (every timed-out or failed try, retries
            included) since the link was made.
        string_hex: OIDs whose OCTET STRING values are reported as ``STRING_HEX``.
    """

    def __init__(self, name: str, conf: SnmpDeviceConfig, on_answer: Callable[[], None]) -> None:
        _check_credentials(name, conf)
        self.name = name
        self.conf = conf
        try:
            self.string_hex = frozenset(normalize_oid(oid) for oid in conf.string_hex_oids)
        except ValueError as exc:
            raise ValueError(f"SNMP device {name!r}: {exc}") from None
        self.status = SnmpStatus.DISCONNECTED
        self.target: Any = None
        self.errors = 0
        self.closed = False
        self._on_answer = on_answer
        self._mp_model = {"V1": 0, "V2C": 1, "V3": 3}[conf.version]
        self._timeout_s = float(conf.request_timeout)
        self._tries = int(conf.request_retry_count) + 1
        self._shared: SharedEngine | None = None
        self._auth: Any = None
        self._write_auth: Any = None  # SETs: write_community when configured, else _auth
        self._context: Any = None  # pysnmp ContextData of every request

    # -- engine ------------------------------------------------------------------

    def open(self) -> None:
        """Take the loop's shared engine and build the credentials (idempotent).

        Raises:
            RuntimeError: no event loop is running.
        """
        if self._shared is not None:
            return
        conf = self.conf
        if conf.version == "V3":
            assert conf.user is not None  # checked in __init__
            shared = acquire_engine((conf.user, conf.authentication, conf.privacy))
            self._auth = shared.usm_auth(conf)
            self._context = _context_data(conf)
        else:
            assert conf.community is not None  # checked in __init__
            shared = acquire_engine()
            self._auth = shared.auth(conf.community, self._mp_model)
            self._context = shared.context
        self._write_auth = (
            shared.auth(conf.write_community, self._mp_model)
            if conf.write_community is not None
            else self._auth
        )
        self._shared = shared

    async def aclose(self) -> None:
        """Refuse further requests and release the shared engine (shut down if this
        was its last device). Idempotent."""
        self.closed = True
        self.target = None
        shared, self._shared = self._shared, None
        if shared is not None:
            await release_engine(shared)

    async def connect(self) -> Any:
        """Build the transport target to ``remote_host:remote_port`` and keep it in
        :attr:`target`.

        Raises:
            RequestFailed: the host cannot be resolved (the reason says so).
        """
        conf = self.conf
        try:
            target = await UdpTransportTarget.create(
                (conf.remote_host, conf.remote_port), timeout=self._timeout_s, retries=0
            )
        except Exception as exc:
            raise RequestFailed(
                f"cannot resolve {conf.remote_host}:{conf.remote_port}: {short(exc)}"
            ) from None
        self.target = target
        return target

    # -- GET (polling and operator reads) -----------------------------------------

    async def get(self, target: Any, oids: list[str], cycle: Cycle) -> list[tuple[str, Data]]:
        """GET ``oids`` and return ``(oid, data)`` in request order, handling PDU
        error-statuses as the module docstring says (``string_hex_oids`` apply).

        Raises:
            RequestFailed: a request exhausted its retries.
            SecurityRejected: the agent refused the SNMPv3 security.
        """
        results: dict[str, Data] = {}
        pending = list(oids)
        while pending:
            status, index, var_binds = await self._request(target, pending, cycle)
            if not status:
                string_hex = self.string_hex
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
                results.update(await self.get(target, part, cycle))
            break
        return [(oid, results[oid]) for oid in oids]

    async def _request(
        self, target: Any, oids: list[str], cycle: Cycle
    ) -> tuple[int, int, Sequence[Any]]:
        """Send one GET with our retry loop; return ``(error_status, error_index,
        var_binds)``.

        Raises:
            RequestFailed: no answer after every try.
            SecurityRejected: the agent refused the SNMPv3 security (a USM report, or
                an unsupported security level); not re-sent, as retrying cannot help.
        """
        shared = self._shared
        if shared is None:
            raise RequestFailed("device closed")
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
                        self._context,
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
                self._on_answer()
                return int(status), int(index), var_binds
            self.errors += 1
            failure = indication
            mlog.debug(
                "SNMP device %s: try %d/%d failed: %s",
                self.name,
                attempt + 1,
                self._tries,
                short(indication),
            )
            self._check_security(indication)
        if isinstance(failure, RequestTimedOut):
            hint = ""
            if self.conf.privacy is not None:  # agents drop what they cannot decrypt
                hint = "; a wrong privacy password or protocol goes unanswered too"
            raise RequestFailed(
                f"no response after {self._tries} {'try' if self._tries == 1 else 'tries'}"
                f" (timeout {self._timeout_s} s{hint})",
                TIMEOUT,
            )
        raise RequestFailed(f"request failed after {self._tries} tries: {short(failure)}")

    def _check_security(self, indication: object) -> None:
        """Raise :class:`SecurityRejected` when ``indication`` says the agent refused
        the request's SNMPv3 security: a USM report (RFC 3414 §3.2; pysnmp has already
        re-sent on ``notInTimeWindow`` and ``unknownEngineID``) or an unsupported
        security level. The reason names the user, never a password."""
        for cls, name, hint in _USM_REPORTS:
            if isinstance(indication, cls):
                if cls is errind.UnknownUserName:
                    hint = f"the agent has no user {self.conf.user!r}"
                raise SecurityRejected(f"authentication failed: {name} ({hint})", name)
        if isinstance(indication, errind.UnsupportedSecurityLevel):
            raise SecurityRejected(
                f"unsupported security level: the agent does not accept "
                f"{_security_level(self.conf)} for user {self.conf.user!r}",
                None,
            )

    # -- operator requests (SET, GETNEXT, GETBULK: console/snmp/operations.py) -----

    def route(self, *, write: bool = False) -> Route:
        """``(engine, auth, target, context)`` for an operator request: the same
        pysnmp objects :meth:`get` uses; with ``write``, the credentials for SETs
        (``write_community`` when configured).

        Raises:
            SnmpNotConnectedError: the device is not ``CONNECTED`` (or is closed).
        """
        shared = self._shared
        target = self.target
        if self.closed or shared is None or target is None or self.status != SnmpStatus.CONNECTED:
            raise SnmpNotConnectedError(
                f"SNMP device {self.name!r} is not connected (status {self.status.value})"
            )
        return shared.engine, self._write_auth if write else self._auth, target, self._context

    async def command(
        self,
        route: Route,
        kind: str,
        var_binds: Sequence[tuple[Any, Any]],
        max_repetitions: int = 0,
    ) -> tuple[int, int, Sequence[tuple[Any, Any]]]:
        """Send one ``kind`` request (:data:`GET`, :data:`SET`, :data:`NEXT`,
        :data:`BULK`) on ``route`` with the retry policy, and return ``(error_status,
        error_index, var_binds)`` of the answer. Only a timeout is re-sent: any other
        failure (a USM report such as a wrong digest) would fail the same way again.

        Raises:
            RequestFailed: no answer after every try (error ``TIMEOUT``), a USM or
                other error indication (not retried), or a local pysnmp failure
                (``INTERNAL_ERROR``); ``reason`` is a short text.
        """
        timeout = self._timeout_s
        tries = self._tries
        failure: object = None
        for attempt in range(tries):
            if attempt:
                await asyncio.sleep(self.conf.request_retry_delay)
            try:
                async with asyncio.timeout(timeout + _TIMEOUT_GUARD):
                    indication, status, index, answer = await _send(
                        route, kind, var_binds, max_repetitions
                    )
            except TimeoutError:
                indication = errind.RequestTimedOut()
            except Exception as exc:
                self.errors += 1
                mlog.warning(
                    "SNMP device %s: %s failed locally: %s", self.name, kind, type(exc).__name__
                )
                raise RequestFailed(
                    f"{kind} failed locally: {type(exc).__name__}", INTERNAL_ERROR
                ) from None
            if indication is None:
                return status, index, answer
            self.errors += 1
            failure = indication
            mlog.debug(
                "SNMP device %s: %s try %d/%d failed: %s",
                self.name,
                kind,
                attempt + 1,
                tries,
                type(indication).__name__,
            )
            if not isinstance(indication, errind.RequestTimedOut):
                break
        name = indication_name(failure)
        if name == TIMEOUT:
            plural = "try" if tries == 1 else "tries"
            reason = f"no response after {tries} {plural} (timeout {timeout} s)"
            raise RequestFailed(reason, TIMEOUT)
        raise RequestFailed(f"{kind} failed: {name}", name)


async def _send(
    route: Route,
    kind: str,
    var_binds: Sequence[tuple[Any, Any]],
    max_repetitions: int = 0,
) -> tuple[Any, int, int, Sequence[tuple[Any, Any]]]:
    """Send one PDU with pysnmp's command generators (pysnmp's own retries are off on
    the target) and return ``(error_indication, error_status, error_index,
    var_binds)`` as pysnmp reports them: raw ``(ObjectName, value)`` pairs, no MIB
    look-ups either way (see :mod:`console.snmp.operations` for why).

    Raises:
        Exception: whatever pysnmp raises locally (closed engine, encoding).
    """
    engine, auth, target, context = route
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
    if kind == BULK:
        cmdgen.BulkCommandGeneratorSingleRun().send_varbinds(
            engine, address_name, engine_id, name, 0, max_repetitions, var_binds, on_response
        )
    elif kind == NEXT:
        cmdgen.NextCommandGeneratorSingleRun().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    elif kind == SET:
        cmdgen.SetCommandGenerator().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    else:
        cmdgen.GetCommandGenerator().send_varbinds(
            engine, address_name, engine_id, name, var_binds, on_response
        )
    return await future
