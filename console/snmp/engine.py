"""The pysnmp engines fleettop makes, shares and shuts down.

* :func:`new_engine`: every :class:`pysnmp.entity.engine.SnmpEngine` fleettop makes
  (the devices' shared engines, the trap receiver's, the demo agents') comes from
  here, so none of them pays pysnmp's on-demand MIB compiler (see
  :func:`console.snmp.mib.disable_pysnmp_compiler`: 0.5 s of event-loop CPU on each
  engine's first request once pysmi is installed);
* :func:`shutdown_engine`: the one way to stop an engine (its transports closed, its
  timer task ended);
* :class:`SharedEngine`, :func:`acquire_engine`, :func:`release_engine`: the engine
  every :class:`~console.snmp.manager.SnmpDevice` of one event loop shares.

Sharing: building an engine costs ~60 ms of CPU, which would stall the loop for a
minute with a thousand devices, so the devices of a loop share one (one UDP socket,
one timer). It is shut down when the last device of the loop releases it. One
exception: pysnmp's USM table holds one entry per user name (and engine ID), so two V3
devices with the same user name but different protocols or passwords cannot share an
engine (the second would silently use the first one's keys); the second gets a
further engine of the loop, shared in turn by devices whose credentials fit it.

Secrets: the community and the USM passwords are revealed only to build pysnmp's
``CommunityData`` / ``UsmUserData`` (whose ``repr`` masks them); the community index
given to pysnmp is a counter, and engines are shared by comparing
:class:`~console.secrets.Secret` objects, never by keys derived from a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

from console.config import SnmpAuthentication, SnmpDeviceConfig, SnmpPrivacy
from console.secrets import Secret
from console.snmp.mib import disable_pysnmp_compiler
from console.snmp.mibcode import cache_mib_code

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
    from pysnmp.carrier.error import CarrierError
    from pysnmp.entity.engine import SnmpEngine
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
        UsmUserData,
    )

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "SharedEngine",
    "UsmKey",
    "acquire_engine",
    "loop_engines",
    "new_engine",
    "release_engine",
    "shutdown_engine",
    "usm_user_data",
]

#: ``authentication.type`` -> pysnmp's authentication protocol (MD5/SHA RFC 3414,
#: SHA224..SHA512 RFC 7860).
AUTH_PROTOCOLS: Final[Mapping[str, Any]] = {
    "MD5": USM_AUTH_HMAC96_MD5,
    "SHA": USM_AUTH_HMAC96_SHA,
    "SHA224": USM_AUTH_HMAC128_SHA224,
    "SHA256": USM_AUTH_HMAC192_SHA256,
    "SHA384": USM_AUTH_HMAC256_SHA384,
    "SHA512": USM_AUTH_HMAC384_SHA512,
}
#: ``privacy.type`` -> pysnmp's privacy protocol (DES RFC 3414, AES RFC 3826;
#: AES192/AES256: the Reeder key extension, Net-SNMP's AES-192-C / AES-256-C).
PRIV_PROTOCOLS: Final[Mapping[str, Any]] = {
    "DES": USM_PRIV_CBC56_DES,
    "3DES": USM_PRIV_CBC168_3DES,
    "AES": USM_PRIV_CFB128_AES,
    "AES192": USM_PRIV_CFB192_AES,
    "AES256": USM_PRIV_CFB256_AES,
}

UsmKey = tuple[str, SnmpAuthentication | None, SnmpPrivacy | None]
"""A V3 user and its credentials, compared by value (Secrets compare by value and
never print)."""


def new_engine(**kwargs: Any) -> Any:
    """Return a new ``SnmpEngine(**kwargs)`` whose MIB builder never compiles MIBs
    on its own (fleettop compiles ``mib_paths`` itself, off the event loop).

    pysnmp's DeprecationWarnings raised while building the engine are silenced; the
    MIB modules it loads are compiled once per process
    (:func:`~console.snmp.mibcode.cache_mib_code`).
    """
    cache_mib_code()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        engine = SnmpEngine(**kwargs)
    disable_pysnmp_compiler(engine.get_mib_builder())
    return engine


class _ClosingDispatcher(AsyncioDispatcher):  # type: ignore[misc]
    """pysnmp's asyncio dispatcher, quiet about a datagram read just before its
    transport closed: the transport hands each datagram to the loop
    (``call_soon``), and one already scheduled when :func:`shutdown_engine` closes
    the transport would raise ``CarrierError("Unregistered transport")`` into the
    loop's exception handler (a traceback in the log of a clean shutdown under
    load). Such a datagram is a late answer nobody waits for any more: dropped."""

    def _callback_function(self, transport: Any, address: Any, message: bytes) -> Any:
        try:
            return super()._callback_function(transport, address, message)
        except CarrierError as exc:
            if "Unregistered transport" not in str(exc):
                raise
            return None


async def shutdown_engine(engine: Any) -> None:
    """Stop ``engine``: close its transport dispatcher (pysnmp ``close_dispatcher``:
    every transport it holds is closed) and wait until its timer task has ended.

    Call it after closing what uses the engine (responders, receivers). An engine
    without a dispatcher is left as it is; a failure of pysnmp while closing is
    suppressed (nothing more can be released).
    """
    dispatcher = engine.transport_dispatcher
    if dispatcher is None:
        return
    timer = dispatcher.loopingcall
    with contextlib.suppress(Exception):
        engine.close_dispatcher()
    if timer is not None:
        await asyncio.wait([timer])


def usm_user_data(conf: SnmpDeviceConfig) -> Any:
    """pysnmp's ``UsmUserData`` for a checked V3 configuration (its ``repr`` masks
    the passwords)."""
    options: dict[str, Any] = {}
    if conf.authentication is not None:
        options["authKey"] = conf.authentication.password.reveal()
        options["authProtocol"] = AUTH_PROTOCOLS[conf.authentication.type]
    if conf.privacy is not None:
        options["privKey"] = conf.privacy.password.reveal()
        options["privProtocol"] = PRIV_PROTOCOLS[conf.privacy.type]
    return UsmUserData(conf.user, **options)


class SharedEngine:
    """A pysnmp engine shared by the devices of one event loop (refcounted by
    :func:`acquire_engine` / :func:`release_engine`).

    Attributes:
        engine: the pysnmp ``SnmpEngine``.
        context: an empty ``ContextData`` (v1/v2c requests).
        users: devices holding it.
    """

    def __init__(self) -> None:
        self.engine: Any = new_engine()
        self.engine.register_transport_dispatcher(_ClosingDispatcher())
        self.context: Any = ContextData()
        self.users = 0
        self._community_ids: dict[tuple[Secret, int], str] = {}
        self._usm_users: dict[str, UsmKey] = {}
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

    def admits(self, usm: UsmKey) -> bool:
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
        return usm_user_data(conf)

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


_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedEngine] = (
    weakref.WeakKeyDictionary()
)
#: Further engines of a loop, for V3 users whose name its first engine (and the
#: earlier further ones) already holds with other credentials.
_SPARE_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[SharedEngine]] = (
    weakref.WeakKeyDictionary()
)


def acquire_engine(usm: UsmKey | None = None) -> SharedEngine:
    """The running loop's shared engine (one more user of it); for a V3 user ``usm``,
    the first of the loop's engines that admits it, a new spare one if none does.

    Raises:
        RuntimeError: no event loop is running.
    """
    loop = asyncio.get_running_loop()
    shared = _ENGINES.get(loop)
    if shared is None:
        shared = _ENGINES[loop] = SharedEngine()
    if usm is not None and not shared.admits(usm):
        spares = _SPARE_ENGINES.setdefault(loop, [])
        shared = next((spare for spare in spares if spare.admits(usm)), None) or SharedEngine()
        if shared not in spares:
            spares.append(shared)
    shared.users += 1
    return shared


async def release_engine(shared: SharedEngine) -> None:
    """One user fewer of ``shared``; the last one shuts the engine down (its socket
    is closed once this returns)."""
    shared.users -= 1
    if shared.users > 0:
        return
    loop = asyncio.get_running_loop()
    if _ENGINES.get(loop) is shared:
        del _ENGINES[loop]
    spares = _SPARE_ENGINES.get(loop, [])
    if shared in spares:
        spares.remove(shared)
    await shutdown_engine(shared.engine)
    # asyncio closes datagram transports on the next turns
    for _ in range(3):
        await asyncio.sleep(0)


def loop_engines() -> tuple[SharedEngine | None, list[SharedEngine]]:
    """``(shared engine, spare engines)`` of the running loop (for tests and
    diagnostics)."""
    loop = asyncio.get_running_loop()
    return _ENGINES.get(loop), list(_SPARE_ENGINES.get(loop, []))
