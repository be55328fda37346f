"""The SNMP manager backend (v1, v2c and v3): one :class:`SnmpDevice` per configured
device.

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
* **operator writes and walks** (:meth:`SnmpDevice.write`, :meth:`SnmpDevice.walk`),
  implemented in :mod:`console.snmp.operations`.

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

SNMPv3
------
A ``V3`` device authenticates as a USM user (RFC 3414): pysnmp's ``UsmUserData``
from ``user``, ``authentication`` (``MD5``/``SHA`` RFC 3414, ``SHA224``..``SHA512``
RFC 7860) and ``privacy`` (``DES`` RFC 3414, ``AES`` = AES-128 RFC 3826, ``3DES``,
``AES192`` and ``AES256`` with the Reeder key extension, Net-SNMP's ``AES-192-C`` /
``AES-256-C``); the security level follows from what is given. A ``context`` sets
the context engine ID and name of every request (RFC 3411 §3.3). pysnmp discovers
the agent's engine ID and time itself, and re-sends on ``notInTimeWindow`` /
``unknownEngineID`` reports (up to 4 times).

When the agent still rejects a request with a USM report (RFC 3414 §3.2), the
credentials are wrong: retrying cannot help, so the request is not re-sent. As in
hat-gateway, every polled OID gets an ``ERROR`` value named after the report
(``WRONG_DIGESTS``, ``UNKNOWN_USER_NAMES``, ``UNKNOWN_ENGINE_IDS``,
``NOT_IN_TIME_WINDOWS``, ``DECRYPTION_ERRORS``; :data:`~console.snmp.codec.USM_ERROR_NAMES`),
published as read events, and the device goes ``DISCONNECTED`` with the reason
``authentication failed: NAME (hint)``; it tries again after ``connect_delay``, so
a fixed agent is picked up without a restart. An operator read answered with a USM
report returns (and publishes) that ``ERROR`` value. A security level the agent
does not accept for the user (``unsupportedSecurityLevel``) disconnects the device
the same way, with the reason ``unsupported security level: ...``, and makes an
operator read raise :class:`SnmpError`. Agents (Net-SNMP among them) drop messages
they cannot decrypt, so a wrong privacy password looks like a timeout; the reason of
an authPriv device says so. pysnmp keeps an agent's discovered engine ID for 300 s:
an agent whose engine ID changed (re-installed, new persistent state) goes
unanswered -- timeouts -- until then (Net-SNMP ignores requests for another engine).

Secrets: the community and the USM passwords are revealed only to build pysnmp's
``CommunityData`` / ``UsmUserData``; they are never logged nor put into events or
exception messages (pysnmp's own ``repr`` of both masks them, the community index
fleettop gives pysnmp is a counter, and engines are shared by comparing
:class:`~console.secrets.Secret` objects, never by keys derived from a secret).

Engines: every :class:`SnmpDevice` of one event loop shares one pysnmp
``SnmpEngine`` (one UDP socket, one timer): building an engine costs ~60 ms of CPU,
which would stall the loop for a minute with a thousand devices. The engine is
closed (``close_dispatcher()``, socket and timer task released) when the last
device of the loop closes. One exception: pysnmp's USM table holds one entry per
user name (and engine ID), so two V3 devices with the same user name but different
protocols or passwords cannot share an engine (the second would silently use the
first one's keys); the second gets a further engine of the loop, shared in turn by
devices whose credentials fit it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import warnings
import weakref
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any, Final

from console.config import SnmpAuthentication, SnmpDeviceConfig, SnmpPrivacy
from console.events import EventManager, JsonValue
from console.lifecycle import ClosesOnce
from console.secrets import Secret
from console.snmp.codec import Data, error_data, from_pysnmp, normalize_oid, pdu_error_name
from console.snmp.engine import new_engine

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        USM_AUTH_HMAC96_MD5,
        USM_AUTH_HMAC96_SHA,
        USM_AUTH_HMAC128_SHA224,
        USM_AUTH_HMAC192_SHA256,
        USM_AUTH_HMAC256_SHA384,
        USM_AUTH_HMAC384_SHA512,
        USM_PRIV_CBC56_DES,
        USM_PRIV_CBC168_3DES,
        USM_PRIV_CFB128_AES,
        USM_PRIV_CFB192_AES,
        USM_PRIV_CFB256_AES,
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
    )
    from pysnmp.proto import errind
    from pysnmp.proto.errind import RequestTimedOut
    from pysnmp.proto.rfc1902 import OctetString

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "PROBE_OID",
    "SnmpDevice",
    "SnmpError",
    "SnmpNotConnectedError",
    "SnmpStatus",
    "SnmpTimeoutError",
    "usm_error_name",
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
#: Values of operator reads and walks kept per device for a write's ``previous``.
_RECENT_LIMIT: Final = 256


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


class _Rejected(_RequestFailed):
    """The agent refused the request's SNMPv3 security (not re-sent).

    ``error`` is the USM report's ``ERROR`` name (``WRONG_DIGESTS``...), or ``None``
    for an unsupported security level, which has no ``ERROR`` name."""

    def __init__(self, reason: str, error: str | None) -> None:
        super().__init__(reason)
        self.error = error


# -- SNMPv3 (RFC 3414 USM, RFC 3826 AES, RFC 7860 SHA-2) ----------------------------

#: ``authentication.type`` -> pysnmp's authentication protocol.
_AUTH_PROTOCOLS: Final[Mapping[str, Any]] = {
    "MD5": USM_AUTH_HMAC96_MD5,
    "SHA": USM_AUTH_HMAC96_SHA,
    "SHA224": USM_AUTH_HMAC128_SHA224,
    "SHA256": USM_AUTH_HMAC192_SHA256,
    "SHA384": USM_AUTH_HMAC256_SHA384,
    "SHA512": USM_AUTH_HMAC384_SHA512,
}
#: ``privacy.type`` -> pysnmp's privacy protocol (AES192/AES256: the Reeder key
#: extension, Net-SNMP's AES-192-C / AES-256-C).
_PRIV_PROTOCOLS: Final[Mapping[str, Any]] = {
    "DES": USM_PRIV_CBC56_DES,
    "3DES": USM_PRIV_CBC168_3DES,
    "AES": USM_PRIV_CFB128_AES,
    "AES192": USM_PRIV_CFB192_AES,
    "AES256": USM_PRIV_CFB256_AES,
}
#: USM reports (pysnmp error indications) -> ``ERROR`` name and an operator hint.
_USM_REPORTS: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (errind.WrongDigest, "WRONG_DIGESTS", "wrong authentication password or protocol"),
    (errind.UnknownUserName, "UNKNOWN_USER_NAMES", "the agent has no such user"),
    (errind.DecryptionError, "DECRYPTION_ERRORS", "wrong privacy password or protocol"),
    (errind.NotInTimeWindow, "NOT_IN_TIME_WINDOWS", "the agent's engine time disagrees"),
    (errind.UnknownEngineID, "UNKNOWN_ENGINE_IDS", "engine ID discovery failed"),
)
#: Shortest USM password (RFC 3414 §11.2).
_MIN_PASSWORD: Final = 8

_UsmKey = tuple[str, SnmpAuthentication | None, SnmpPrivacy | None]
"""A V3 user and its credentials, compared by value (Secrets compare by value and
never print)."""


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


def _security_level(conf: SnmpDeviceConfig) -> str:
    """RFC 3411 security level name of a V3 configuration."""
    if conf.authentication is None:
        return "noAuthNoPriv"
    return "authNoPriv" if conf.privacy is None else "authPriv"


def _check_v3(name: str, conf: SnmpDeviceConfig) -> None:
    """Check what the loader checks, for configurations built in code.

    Raises:
        ValueError: no user, privacy without authentication, an unknown protocol, or
            a password shorter than 8 characters (never shown).
    """
    if not conf.user:
        raise ValueError(f"SNMP device {name!r}: SNMPv3 needs a user")
    if conf.privacy is not None and conf.authentication is None:
        raise ValueError(f"SNMP device {name!r}: SNMPv3 privacy needs authentication")
    for what, setting, known in (
        ("authentication", conf.authentication, _AUTH_PROTOCOLS),
        ("privacy", conf.privacy, _PRIV_PROTOCOLS),
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


def _usm_user_data(conf: SnmpDeviceConfig) -> Any:
    """pysnmp's ``UsmUserData`` for a checked V3 configuration (its ``repr`` masks
    the passwords)."""
    options: dict[str, Any] = {}
    if conf.authentication is not None:
        options["authKey"] = conf.authentication.password.reveal()
        options["authProtocol"] = _AUTH_PROTOCOLS[conf.authentication.type]
    if conf.privacy is not None:
        options["privKey"] = conf.privacy.password.reveal()
        options["privProtocol"] = _PRIV_PROTOCOLS[conf.privacy.type]
    return UsmUserData(conf.user, **options)


def _context_data(conf: SnmpDeviceConfig) -> Any:
    """pysnmp's ``ContextData`` for a V3 ``context`` (RFC 3411 §3.3): an empty engine
    ID leaves it to pysnmp (the agent's discovered one)."""
    context = conf.context
    if context is None:
        return ContextData()
    engine_id = OctetString(hexValue=context.engine_id) if context.engine_id else None
    return ContextData(contextEngineId=engine_id, contextName=context.name)


class _Shared:
    """The pysnmp engine of one event loop, shared by its devices (refcounted)."""

    def __init__(self) -> None:
        self.engine: Any = new_engine()
        self.context: Any = ContextData()
        self.users = 0
        self._community_ids: dict[tuple[Secret, int], str] = {}
        self._usm_users: dict[str, _UsmKey] = {}
        self._objects: dict[str, Any] = {}

    def auth(self, community: Secret, mp_model: int) -> Any:
        """Return pysnmp's ``CommunityData``; its index is a counter, never derived
        from the community."""
        key = (community, mp_model)
        index = self._community_ids.get(key)
        if index is None:
            index = f"fleettop-c{len(self._community_ids) + 1}"
            self._community_ids[key] = index
        return CommunityData(index, community.reveal(), mpModel=mp_model)

    def admits(self, usm: _UsmKey) -> bool:
        """Whether a V3 user with these credentials can use this engine: pysnmp's USM
        table (and its per-agent key copies) holds one entry per user name, so a name
        already used here with other credentials needs another engine."""
        known = self._usm_users.get(usm[0])
        return known is None or known == usm

    def usm_auth(self, conf: SnmpDeviceConfig) -> Any:
        """Return pysnmp's ``UsmUserData`` for a checked V3 configuration, and reserve
        its user name on this engine for these credentials (for the engine's life:
        pysnmp keeps the keys it localised per agent)."""
        assert conf.user is not None
        self._usm_users[conf.user] = (conf.user, conf.authentication, conf.privacy)
        return _usm_user_data(conf)

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


#: Further engines of a loop, for V3 users whose name its first engine (and the
#: earlier further ones) already holds with other credentials.
_SPARE_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Shared]] = (
    weakref.WeakKeyDictionary()
)


def _acquire_engine(usm: _UsmKey | None = None) -> _Shared:
    """The loop's shared engine (one more user of it); for a V3 user ``usm``, the
    first of the loop's engines that admits it, a new spare one if none does."""
    loop = asyncio.get_running_loop()
    shared = _ENGINES.get(loop)
    if shared is None:
        shared = _ENGINES[loop] = _Shared()
    if usm is not None and not shared.admits(usm):
        spares = _SPARE_ENGINES.setdefault(loop, [])
        shared = next((spare for spare in spares if spare.admits(usm)), None) or _Shared()
        if shared not in spares:
            spares.append(shared)
    shared.users += 1
    return shared


async def _release_engine(shared: _Shared) -> None:
    shared.users -= 1
    if shared.users > 0:
        return
    loop = asyncio.get_running_loop()
    if _ENGINES.get(loop) is shared:
        del _ENGINES[loop]
    spares = _SPARE_ENGINES.get(loop, [])
    if shared in spares:
        spares.remove(shared)
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

    Raises:
        ValueError: a malformed OID in ``conf``, a bad ``max_in_flight``, or missing
            or bad credentials (V1/V2C without a community; V3 without a user, with
            privacy but no authentication, an unknown protocol or a password shorter
            than 8 characters, RFC 3414 §11.2). No secret is in the message.

    Events (``docs/events.md``): ``("snmp", name, "status")``,
    ``("snmp", name, "read", OID)``, ``("snmp", name, "poll")``,
    ``("snmp", name, "write", OID)``, ``("snmp", name, "walk", OID)``.

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
        if conf.version not in ("V1", "V2C", "V3"):
            raise ValueError(f"SNMP device {name!r}: unsupported version {conf.version!r}")
        if conf.version == "V3":
            _check_v3(name, conf)
        elif conf.community is None:
            raise ValueError(f"SNMP device {name!r}: SNMP {conf.version} needs a community")
        self.name = name
        self.conf = conf
        self._bus = bus
        self._max_in_flight = max_in_flight
        self._batch_size = max(1, int(conf.max_varbinds_per_request))
        self._mp_model = {"V1": 0, "V2C": 1, "V3": 3}[conf.version]
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
        self._write_auth: Any = None  # SETs: write_community when configured, else _auth
        self._context: Any = None  # pysnmp ContextData of every request
        self._target: Any = None
        self._task: asyncio.Task[None] | None = None
        self._errors = 0
        self._polls = 0
        self._timeout_s = float(conf.request_timeout)
        self._tries = int(conf.request_retry_count) + 1
        # operator reads/walks: OID -> (polls completed then, value), for write's "previous"
        self._recent: dict[str, tuple[int, Data]] = {}

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
        conf = self.conf
        if conf.version == "V3":
            assert conf.user is not None  # checked in __init__
            self._shared = _acquire_engine((conf.user, conf.authentication, conf.privacy))
            self._auth = self._shared.usm_auth(conf)
            self._context = _context_data(conf)
        else:
            assert conf.community is not None  # checked in __init__
            self._shared = _acquire_engine()
            self._auth = self._shared.auth(conf.community, self._mp_model)
            self._context = self._shared.context
        self._write_auth = (
            self._shared.auth(conf.write_community, self._mp_model)
            if conf.write_community is not None
            else self._auth
        )
        self._set_status(SnmpStatus.CONNECTING)
        self._task = asyncio.create_task(self._run(), name=f"fleettop-snmp-{self.name}")

    async def _close(self) -> None:
        """Stop the loops, publish ``DISCONNECTED`` ("device closed") and release the
        pysnmp engine (closing it if this was its last device).
        """
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
        target = self._target
        if self._closing is not None or target is None or self._status != SnmpStatus.CONNECTED:
            raise SnmpNotConnectedError(
                f"SNMP device {self.name!r} is not connected (status {self._status.value})"
            )
        try:
            results = await self._get(target, [text], _Cycle())
        except _Rejected as exc:
            if exc.error is None:
                raise SnmpError(f"SNMP device {self.name!r}: {exc.reason}") from None
            results = [(text, error_data(exc.error))]
        except _RequestFailed as exc:
            raise SnmpTimeoutError(f"SNMP device {self.name!r}: {exc.reason}") from None
        self._tally(text, results[0][1], _Cycle())
        self._remember(text, results[0][1])
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "cause": "REQUESTED",
            "data": results[0][1],
        }
        await self._bus.publish_wait(("snmp", self.name, "read", text), payload)
        return payload

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
            (``WRONG_DIGESTS``..., as :func:`usm_error_name`), or ``TIMEOUT``.

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
        from console.snmp import operations  # it imports this module

        return await operations.write(self, oid, data, session_id)

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
        outside the subtree. An agent answering an OID not greater than the previous
        one stops it with ``OID_NOT_INCREASING`` instead of looping forever. If nothing
        lies below ``oid``, ``oid`` itself is read (a GET) and yielded if it exists,
        as Net-SNMP's ``snmpwalk`` does.

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
            oid: numeric OID of the subtree root (``"1.3.6.1"`` for everything).
            session_id: the operator session to echo in the walk event.
            max_repetitions: var-binds asked per GETBULK, 1..1000 (halved on
                ``tooBig``); ignored by SNMPv1.

        Yields:
            ``(oid, {"type": TYPE, "value": VALUE})``: the OID without a leading dot;
            ``string_hex_oids`` apply.

        Raises:
            ValueError: (at the call) ``oid`` is not a numeric OID or
                ``max_repetitions`` is out of range.
            SnmpNotConnectedError: (at the call) the device is not ``CONNECTED``;
                (while iterating) the device was closed.
            SnmpTimeoutError: (while iterating) a request got no answer after all
                its tries; the device's status is left to the polling loop.
            console.snmp.operations.SnmpOperationError: (while iterating) any other
                failure; its ``error`` attribute is the name in the event (an
                error-status name, ``OID_NOT_INCREASING``, ``EMPTY_RESPONSE``, a USM
                report name...).
        """
        from console.snmp import operations  # it imports this module

        return operations.walk(self, oid, session_id=session_id, max_repetitions=max_repetitions)

    def _operator_link(self, *, write: bool = False) -> tuple[Any, Any, Any, Any]:
        """``(engine, auth, target, context)`` for an operator request: the same
        pysnmp objects :meth:`_request` uses (keep the two in step); with ``write``,
        the credentials for SETs (``write_community`` when configured).

        Raises:
            SnmpNotConnectedError: as :meth:`read`.
        """
        shared = self._shared
        target = self._target
        if (
            self._closing is not None
            or shared is None
            or target is None
            or self._status != SnmpStatus.CONNECTED
        ):
            raise SnmpNotConnectedError(
                f"SNMP device {self.name!r} is not connected (status {self._status.value})"
            )
        return shared.engine, self._write_auth if write else self._auth, target, self._context

    def _remember(self, oid: str, data: Data) -> None:
        """Keep the value an operator read or walk returned, for :meth:`write`'s
        ``previous`` (the newest :data:`_RECENT_LIMIT` OIDs)."""
        recent = self._recent
        recent.pop(oid, None)
        recent[oid] = (self._polls, data)
        if len(recent) > _RECENT_LIMIT:
            del recent[next(iter(recent))]

    def _previous(self, oid: str) -> Data | None:
        """The newest value seen for ``oid``: an operator read made since the last
        completed polling cycle, else the polled value, else an older operator read."""
        polled = self._cache.get(oid)
        seen = self._recent.get(oid)
        if seen is not None and (polled is None or seen[0] >= self._polls):
            return seen[1]
        return polled

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
        except _Rejected as exc:
            if exc.error is not None:
                await self._publish_rejection(exc.error)
            return exc.reason
        except _RequestFailed as exc:
            return exc.reason

    async def _publish_rejection(self, error: str) -> None:
        """A USM report refused the polling: every polled OID gets the ``ERROR`` value
        ``error`` (published when it differs from the cached value, as any value)."""
        data = error_data(error)
        cycle = _Cycle()
        for oid, event_type in list(self._oids.items()):
            self._tally(oid, data, cycle)
            old = self._cache.get(oid)
            if old == data:
                continue
            self._cache[oid] = data
            await self._bus.publish_wait(
                event_type,
                {
                    "session_id": None,
                    "cause": "INTERROGATE" if old is None else "CHANGE",
                    "data": dict(data),
                },
            )

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
            _Rejected: the agent refused the SNMPv3 security (a USM report, or an
                unsupported security level); not re-sent, as retrying cannot help.
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
            self._check_security(indication)
        if isinstance(failure, RequestTimedOut):
            hint = ""
            if self.conf.privacy is not None:  # agents drop what they cannot decrypt
                hint = "; a wrong privacy password or protocol goes unanswered too"
            raise _RequestFailed(
                f"no response after {self._tries} {'try' if self._tries == 1 else 'tries'}"
                f" (timeout {self._timeout_s} s{hint})"
            )
        raise _RequestFailed(f"request failed after {self._tries} tries: {_short(failure)}")

    def _check_security(self, indication: object) -> None:
        """Raise :class:`_Rejected` when ``indication`` says the agent refused the
        request's SNMPv3 security: a USM report (RFC 3414 §3.2; pysnmp has already
        re-sent on ``notInTimeWindow`` and ``unknownEngineID``) or an unsupported
        security level. The reason names the user, never a password."""
        for cls, name, hint in _USM_REPORTS:
            if isinstance(indication, cls):
                if cls is errind.UnknownUserName:
                    hint = f"the agent has no user {self.conf.user!r}"
                raise _Rejected(f"authentication failed: {name} ({hint})", name)
        if isinstance(indication, errind.UnsupportedSecurityLevel):
            raise _Rejected(
                f"unsupported security level: the agent does not accept "
                f"{_security_level(self.conf)} for user {self.conf.user!r}",
                None,
            )

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
