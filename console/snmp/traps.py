"""The SNMP notification receiver: TRAPs and INFORMs (v1, v2c, v3) -> bus events.

:class:`TrapReceiver` runs pysnmp's notification receiver application
(``pysnmp.entity.rfc3413.ntfrcv.NotificationReceiver``, RFC 3413 §3.4) on its own
``SnmpEngine`` and UDP socket, in the running event loop, and publishes each
notification once, as documented in ``docs/events.md``::

    ("snmp", DEVICE, "trap", TRAP_OID)  {"sender", "version", "user", "inform",
                                         "trap_oid", "trap_name", "uptime",
                                         "varbinds", "v1"}
    ("snmp", "@receiver", "traps")      {"listen", "received", "informs",
                                         "rejected", "malformed"}
    ("snmp", "@receiver", "status")     {"status": "FAILED", "listen", "reason"}

The status event is published only when the receiver cannot listen (its port in
use, an address that is not local...): the UI shows it (``TRAPS FAILED``), since
no trap will arrive.

Protocol
--------
* v2c/v3 SNMPv2-Trap-PDU and InformRequest-PDU (RFC 3416 §4.2.6, §4.2.7): the first
  two var-binds are ``sysUpTime.0`` (-> ``uptime``, TimeTicks, 1/100 s) and
  ``snmpTrapOID.0`` (-> ``trap_oid``); the others are ``varbinds``. INFORMs are
  acknowledged by pysnmp with a Response-PDU before the event is published.
* v1 Trap-PDUs arrive translated by pysnmp to the v2 form of RFC 3584 §3.1: the
  trap OID is ``enterprise.0.specific-trap`` for ``enterpriseSpecific(6)``, else
  ``snmpTraps.(generic-trap + 1)``; ``snmpTrapAddress.0`` (agent-addr),
  ``snmpTrapCommunity.0`` and ``snmpTrapEnterprise.0`` are appended. The ``v1``
  payload field is rebuilt from those (``enterprise``, ``generic_trap``,
  ``specific_trap``, ``agent_address``), and the three translation var-binds are
  not repeated in ``varbinds``. ``snmpTrapCommunity.0`` is dropped from every
  notification, whatever its version: the community never reaches the bus.
* v3 (USM, RFC 3414): the notification sender of a TRAP is the authoritative
  engine, so a user accepts TRAPs only with the sender's engine ID configured
  (``TrapUser.engine_id``: keys are localised to it); for INFORMs the receiver is
  authoritative and the sender discovers its engine ID, so every user is also
  registered on the receiver's own engine ID. Two users with the same name but
  different passwords can only both receive TRAPs (the INFORM entry is per name).
  ``AES192``/``AES256`` use the Reeder key extension, as the SNMP manager does
  (Net-SNMP senders: ``-x AES192C`` / ``AES256C``; its ``AES-192`` is Blumenthal's).

Counting (:class:`TrapStats`)
-----------------------------
pysnmp drops a datagram it cannot decode or authenticate silently, but it counts
the drop in the standard MIB counters of its engine (RFC 3418 SNMPv2-MIB, RFC 3412
SNMP-MPD-MIB, RFC 3414 SNMP-USER-BASED-SM-MIB). Each dropped datagram bumps exactly
one of them, so the receiver reads them rather than re-parsing anything:

* ``rejected`` = snmpInBadCommunityNames + usmStatsUnknownUserNames +
  usmStatsWrongDigests + usmStatsDecryptionErrors + usmStatsUnsupportedSecLevels
  (bad community or v3 credentials);
* ``malformed`` = snmpInASNParseErrs + snmpInBadVersions + snmpInvalidMsgs +
  snmpUnknownSecurityModels, plus datagrams whose processing raised inside pysnmp
  (the transport wrapper catches and counts those) and notifications without
  ``snmpTrapOID.0``;
* ``received`` / ``informs`` are counted in the notification callback;
* ``datagrams`` counts every datagram at the transport. The remainder
  (``datagrams - received - rejected - malformed``) is protocol traffic that is
  neither: v3 engine-ID discovery and time-window synchronisation before an INFORM
  (usmStatsUnknownEngineIDs, usmStatsNotInTimeWindows), and PDUs that are not
  notifications.

The transport processes each datagram inline in ``datagram_received`` (pysnmp's
own transport defers it with ``call_soon``), so nothing queues between the socket
and the engine; events leave through :meth:`EventManager.publish`, which never
blocks. The socket's receive buffer is raised (``SO_RCVBUF``, default 4 MiB;
Linux caps it at ``net.core.rmem_max``) so a burst survives a busy loop.

Secrets: communities and v3 passwords are revealed only to pysnmp's configuration
calls; they never appear in events, logs, exception messages or reprs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import socket
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from console.config import DeviceConfig, SnmpAuthentication, SnmpPrivacy, TrapsConfig, TrapUser
from console.events import EventManager, JsonValue
from console.format import format_value
from console.lifecycle import ClosesOnce
from console.snmp.codec import from_pysnmp
from console.snmp.engine import AUTH_PROTOCOLS, PRIV_PROTOCOLS, new_engine, shutdown_engine
from console.snmp.mib import MibResolver
from console.snmpdisplay import ValueFormatter

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyasn1.type import univ
    from pysnmp.carrier.asyncio.dgram import udp, udp6
    from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
    from pysnmp.entity import config as snmp_config
    from pysnmp.entity.rfc3413 import ntfrcv
    from pysnmp.proto.api import v2c

__all__ = [
    "GENERIC_TRAP_NAMES",
    "RECEIVER_DEVICE",
    "RECEIVER_FAILED",
    "RECEIVER_STATUS",
    "TrapReceiver",
    "TrapStats",
    "device_senders",
    "notification_payload",
    "parse_engine_id",
]

mlog = logging.getLogger(__name__)

#: The DEVICE segment of the receiver's own counter events.
RECEIVER_DEVICE: Final = "@receiver"
#: The event type of the receiver's status (published when it cannot listen).
RECEIVER_STATUS: Final = ("snmp", RECEIVER_DEVICE, "status")
#: The receiver's status when it cannot listen.
RECEIVER_FAILED: Final = "FAILED"

SYS_UPTIME_0: Final = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0: Final = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SNMP_TRAP_ENTERPRISE_0: Final = (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0)
SNMP_TRAP_ADDRESS_0: Final = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
SNMP_TRAP_COMMUNITY_0: Final = (1, 3, 6, 1, 6, 3, 18, 1, 4, 0)
SNMP_TRAPS: Final = (1, 3, 6, 1, 6, 3, 1, 1, 5)
"""``snmpTraps``: the generic traps are ``snmpTraps.(generic-trap + 1)`` (RFC 3584 §3.1)."""

#: Names of the six generic traps (RFC 3418 SNMPv2-MIB, RFC 2863 IF-MIB, RFC 1213),
#: used when no MIB module names them (pysnmp ships no compiled IF-MIB).
GENERIC_TRAP_NAMES: Final[Mapping[str, str]] = {
    "1.3.6.1.6.3.1.1.5.1": "SNMPv2-MIB::coldStart",
    "1.3.6.1.6.3.1.1.5.2": "SNMPv2-MIB::warmStart",
    "1.3.6.1.6.3.1.1.5.3": "IF-MIB::linkDown",
    "1.3.6.1.6.3.1.1.5.4": "IF-MIB::linkUp",
    "1.3.6.1.6.3.1.1.5.5": "SNMPv2-MIB::authenticationFailure",
    "1.3.6.1.6.3.1.1.5.6": "RFC1213-MIB::egpNeighborLoss",
}

_VERSIONS: Final = {0: "V1", 1: "V2C", 3: "V3"}
_REQUEST_EXECPOINT: Final = "rfc3412.receiveMessage:request"
_INFORM_TAGSET: Final = v2c.InformRequestPDU.tagSet
_TIMER_RESOLUTION: Final = 1.0  # s between pysnmp housekeeping ticks
_REPORT_INTERVAL: Final = 1.0  # s: counters are published at most this often
DEFAULT_RECEIVE_BUFFER: Final = 4 * 1024 * 1024  # bytes (SO_RCVBUF)

#: The same protocols as polling devices (``authentication.type``/``privacy.type``).
_AUTH: Final = AUTH_PROTOCOLS
_PRIV: Final = PRIV_PROTOCOLS

#: (MIB module, counter) pysnmp bumps when it drops a datagram for bad credentials.
_REJECTED_COUNTERS: Final = (
    ("__SNMPv2-MIB", "snmpInBadCommunityNames"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnsupportedSecLevels"),
)
#: ... and when it drops a datagram it cannot decode.
_MALFORMED_COUNTERS: Final = (
    ("__SNMPv2-MIB", "snmpInASNParseErrs"),
    ("__SNMPv2-MIB", "snmpInBadVersions"),
    ("__SNMP-MPD-MIB", "snmpInvalidMsgs"),
    ("__SNMP-MPD-MIB", "snmpUnknownSecurityModels"),
)

Resolve = Callable[[str], "str | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class TrapStats:
    """The receiver's counters since :meth:`TrapReceiver.start` (see the module
    docstring for how each is counted).

    Attributes:
        received: notifications published (TRAPs and INFORMs).
        informs: of those, INFORMs (acknowledged to the sender).
        rejected: datagrams dropped for a bad community or bad v3 credentials.
        malformed: datagrams that could not be decoded, and notifications without
            ``snmpTrapOID.0``.
        datagrams: every datagram that reached the socket, notifications or not.
    """

    received: int = 0
    informs: int = 0
    rejected: int = 0
    malformed: int = 0
    datagrams: int = 0


def parse_engine_id(text: str) -> bytes:
    """Parse an SNMP engine ID given as hex text (``"80001f8880e9bd0c1d12667f50"``;
    an ``0x`` prefix, ``:`` and spaces between bytes are allowed).

    Raises:
        ValueError: not hex, or not 5 to 32 octets long (RFC 3411 SnmpEngineID).
    """
    digits = "".join(text.strip().removeprefix("0x").removeprefix("0X").replace(":", " ").split())
    try:
        octets = bytes.fromhex(digits)
    except ValueError:
        raise ValueError(f"engine ID {text!r} is not hexadecimal") from None
    if not 5 <= len(octets) <= 32:
        raise ValueError(f"engine ID {text!r} must be 5 to 32 octets long, not {len(octets)}")
    return octets


def _dotted(arcs: Iterable[int]) -> str:
    return ".".join(map(str, arcs))


def _host_port(address: Sequence[Any]) -> tuple[str, int]:
    """``(host, port)`` of a socket address; an IPv4-mapped IPv6 host (a dual-stack
    socket's view of an IPv4 sender) becomes the IPv4 address."""
    host = str(address[0])
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:") :]
    return host, int(address[1])


def _format_address(host: str, port: int) -> str:
    """``"192.0.2.7:162"``, ``"[2001:db8::7]:162"``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _v1_fields(
    trap_oid: tuple[int, ...], enterprise: str | None, agent_address: str | None
) -> dict[str, JsonValue]:
    """Rebuild the SNMPv1 Trap-PDU fields from the RFC 3584 §3.1 translation."""
    if len(trap_oid) == len(SNMP_TRAPS) + 1 and trap_oid[:-1] == SNMP_TRAPS:
        generic, specific = trap_oid[-1] - 1, 0
    else:
        generic, specific = 6, trap_oid[-1] if trap_oid else 0
        if enterprise is None and len(trap_oid) >= 2 and trap_oid[-2] == 0:
            enterprise = _dotted(trap_oid[:-2])
    return {
        "enterprise": enterprise,
        "generic_trap": generic,
        "specific_trap": specific,
        "agent_address": agent_address,
    }


def notification_payload(
    var_binds: Iterable[tuple[Any, Any]],
    *,
    sender: str,
    version: str,
    user: str | None,
    inform: bool,
    resolve: Resolve | None = None,
    formatter: ValueFormatter | None = None,
) -> dict[str, JsonValue] | None:
    """Build the ``("snmp", DEVICE, "trap", TRAP_OID)`` payload of one notification.

    Args:
        var_binds: the notification's var-binds in v2 form, as pysnmp gives them
            (``(ObjectIdentifier, value)`` pairs; a v1 trap already translated per
            RFC 3584 §3.1).
        sender: ``"host:port"`` the datagram came from.
        version: ``"V1"``, ``"V2C"`` or ``"V3"``.
        user: the v3 security name, ``None`` for v1/v2c.
        inform: True for an InformRequest-PDU.
        resolve: numeric OID -> ``MODULE::name.index`` or ``None``
            (:meth:`MibResolver.resolve`); ``None`` leaves names out (``null``),
            except the generic traps' names (:data:`GENERIC_TRAP_NAMES`).
        formatter: the MIB's view of the values and of the notification
            (:class:`~console.snmpdisplay.ValueFormatter`): the trap is named by its
            NOTIFICATION-TYPE (``IF-MIB::linkDown``) and each var-bind's
            ``display`` is its value as its MIB defines it (``up(1)``; the other
            var-binds are its context); ``None``: the plain display
            (:func:`console.format.format_value`).

    Returns:
        The payload documented in ``docs/events.md`` (``trap_oid`` is the event
        type's last segment), or ``None`` when ``snmpTrapOID.0`` is missing or not
        an OBJECT IDENTIFIER (not a notification per RFC 3416 §4.2.6).
    """
    uptime: int | None = None
    trap_oid: tuple[int, ...] | None = None
    enterprise: str | None = None
    agent_address: str | None = None
    is_v1 = version == "V1"
    varbinds: list[JsonValue] = []
    for name, value in var_binds:
        arcs = tuple(name.asTuple()) if hasattr(name, "asTuple") else tuple(name)
        if arcs == SYS_UPTIME_0 and uptime is None and isinstance(value, univ.Integer):
            uptime = int(value)  # TimeTicks (an Integer subtype in pyasn1)
            continue
        if arcs == SNMP_TRAP_OID_0 and trap_oid is None:
            if not isinstance(value, univ.ObjectIdentifier):
                return None
            trap_oid = tuple(value.asTuple())
            continue
        if arcs == SNMP_TRAP_COMMUNITY_0:
            continue  # the community never reaches the bus
        if is_v1 and arcs == SNMP_TRAP_ENTERPRISE_0 and enterprise is None:
            enterprise = _dotted(value.asTuple())
            continue
        if is_v1 and arcs == SNMP_TRAP_ADDRESS_0 and agent_address is None:
            data = from_pysnmp(value)
            agent_address = str(data["value"])
            continue
        oid = _dotted(arcs)
        data = from_pysnmp(value)
        varbinds.append(
            {
                "oid": oid,
                "name": resolve(oid) if resolve is not None else None,
                "type": data["type"],
                "value": data["value"],
            }
        )
    if trap_oid is None:
        return None
    _add_displays(varbinds, formatter)
    trap_text = _dotted(trap_oid)
    notification = formatter.notification(trap_text) if formatter is not None else None
    trap_name = notification.qualified if notification is not None else None
    if trap_name is None and resolve is not None:
        trap_name = resolve(trap_text)
    return {
        "sender": sender,
        "version": version,
        "user": user,
        "inform": inform,
        "trap_oid": trap_text,
        "trap_name": trap_name or GENERIC_TRAP_NAMES.get(trap_text),
        "uptime": uptime,
        "varbinds": varbinds,
        "v1": _v1_fields(trap_oid, enterprise, agent_address) if is_v1 else None,
    }


def _add_displays(varbinds: list[JsonValue], formatter: ValueFormatter | None) -> None:
    """Give each var-bind its ``display``: the value as its MIB defines it, the
    notification's other var-binds as context (an InetAddress's type)."""
    rows = [vb for vb in varbinds if isinstance(vb, dict)]
    context = {str(vb["oid"]): vb for vb in rows}
    for vb in rows:
        kind, value = str(vb["type"]), vb["value"]
        if formatter is None:
            vb["display"] = format_value(kind, value)
        else:
            vb["display"] = formatter.display(str(vb["oid"]), vb, context=context)


async def device_senders(
    devices: Iterable[DeviceConfig], *, resolve_timeout: float = 2.0
) -> dict[str, str]:
    """Map the addresses configured devices send notifications from to their names,
    for :class:`TrapReceiver`'s ``devices_by_host``.

    Each SNMP device contributes ``"host:remote_port"`` (a device that sends from its
    agent port, as the demo devices do) and, when no other device shares the host,
    ``"host"`` alone; a host shared by several devices is ambiguous and left out
    (its other senders are published as ``"@host"``). A ``remote_host`` that is not
    an IP address is resolved (``getaddrinfo``, all addresses, at most
    ``resolve_timeout`` s in all); one that does not resolve is skipped and logged.
    """
    loop = asyncio.get_running_loop()
    entries = [(d.name, d.snmp.remote_host, d.snmp.remote_port) for d in devices if d.snmp]
    names = {host for _, host, _ in entries}
    addresses: dict[str, set[str]] = {}

    async def lookup(name: str) -> None:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            addresses[name] = {name}
            return
        try:
            infos = await loop.getaddrinfo(name, None, type=socket.SOCK_DGRAM)
        except OSError as exc:
            mlog.warning("trap senders: cannot resolve %s: %s", name, exc)
            return
        addresses[name] = {_host_port((str(info[4][0]), 0))[0] for info in infos}

    try:
        async with asyncio.timeout(resolve_timeout):
            await asyncio.gather(*(lookup(name) for name in names))
    except TimeoutError:
        mlog.warning("trap senders: resolving device host names took over %s s", resolve_timeout)
    senders: dict[str, str] = {}
    by_host: dict[str, set[str]] = {}
    for name, host, port in entries:
        for address in addresses.get(host, ()):
            senders[_format_address(address, port)] = name
            by_host.setdefault(address, set()).add(name)
    for address, owners in by_host.items():
        if len(owners) == 1:
            senders[address] = next(iter(owners))
    return senders


def _transport_class(base: Any) -> Any:
    """pysnmp's asyncio UDP transport ``base``, feeding the receiver inline and
    reporting when its socket has closed."""

    class ReceiverTransport(base):  # type: ignore[misc]
        def __init__(self, on_datagram: Callable[[Any, bytes, Any], None]) -> None:
            super().__init__()
            self._on_datagram = on_datagram
            self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def datagram_received(self, datagram: bytes, address: Any) -> None:
            self._on_datagram(self, datagram, address)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            if not self.lost.done():
                self.lost.set_result(None)

    return ReceiverTransport


_UdpTransport: Final = _transport_class(udp.UdpAsyncioTransport)
_Udp6Transport: Final = _transport_class(udp6.Udp6AsyncioTransport)


class TrapReceiver(ClosesOnce):
    """Receive SNMP TRAPs and INFORMs on UDP and publish them on the bus.

    Args:
        config: where to listen (``listen_port`` 0 picks a free port: read
            :attr:`address`), the v1/v2c communities accepted (any of them) and the
            v3 users (see the module docstring for TRAP vs INFORM).
        bus: the event manager to publish on.
        devices_by_host: sender -> configured device name. Keys are ``"host:port"``
            as in the payload's ``sender`` (tried first) or ``"host"``; a sender
            found in neither is published as ``"@" + host``. See
            :func:`device_senders`.
        mib: names trap OIDs and var-binds; loaded in a worker thread by
            :meth:`start`. ``None``: ``name`` and ``trap_name`` are ``null`` (but
            for the generic traps).
        receive_buffer: ``SO_RCVBUF`` in bytes (Linux caps it at
            ``net.core.rmem_max``); ``None`` keeps the system default.

    Raises:
        ValueError: a v3 user with privacy but no authentication, or an engine ID
            that is not hex (the message names the user, never a password).

    Usage::

        receiver = TrapReceiver(config.traps, bus, devices_by_host={"10.0.0.2": "sw1"})
        await receiver.start()          # inside the running loop
        receiver.address                # ('127.0.0.1', 1162)
        receiver.stats                  # TrapStats(received=..., ...)
        await receiver.aclose()
    """

    def __init__(
        self,
        config: TrapsConfig,
        bus: EventManager,
        *,
        devices_by_host: Mapping[str, str] | None = None,
        mib: MibResolver | None = None,
        receive_buffer: int | None = DEFAULT_RECEIVE_BUFFER,
    ) -> None:
        self._config = config
        self._bus = bus
        self._devices = dict(devices_by_host or {})
        self._mib = mib
        self._formatter = ValueFormatter(lambda: mib.info) if mib is not None else None
        self._receive_buffer = receive_buffer
        self._users = [(user, _user_keys(user)) for user in config.users]
        self._engine: Any = None
        self._receiver: Any = None
        self._transport: Any = None
        self._address: tuple[str, int] | None = None
        self._listen = ""
        self._received = 0
        self._informs = 0
        self._datagrams = 0
        self._failures = 0  # datagrams whose processing raised, or without a trap OID
        self._rejected_counters: list[Any] = []
        self._malformed_counters: list[Any] = []
        self._changed = asyncio.Event()
        self._last_report: TrapStats | None = None

    def __repr__(self) -> str:
        return f"<TrapReceiver {self._listen or 'not started'}>"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the socket is bound to.

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._address is None:
            raise RuntimeError("the trap receiver has not started")
        return self._address

    @property
    def receive_buffer(self) -> int | None:
        """The socket's effective ``SO_RCVBUF`` in bytes (Linux reports twice the
        value granted, for its bookkeeping), or ``None`` when not listening."""
        if self._transport is None or self._transport.transport is None:
            return None
        sock = self._transport.transport.get_extra_info("socket")
        return None if sock is None else int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))

    @property
    def stats(self) -> TrapStats:
        """The counters now (see :class:`TrapStats`)."""
        rejected = sum(int(counter.syntax) for counter in self._rejected_counters)
        malformed = sum(int(counter.syntax) for counter in self._malformed_counters)
        return TrapStats(
            received=self._received,
            informs=self._informs,
            rejected=rejected,
            malformed=malformed + self._failures,
            datagrams=self._datagrams,
        )

    async def start(self) -> None:
        """Load the MIB names (worker thread), bind the socket and start receiving.

        Publishes the first ``("snmp", "@receiver", "traps")`` event.

        Raises:
            RuntimeError: started twice, or after :meth:`aclose`.
            OSError: the address cannot be bound (in use, not local...); the
                receiver has published ``("snmp", "@receiver", "status")``
                ``{"status": "FAILED", "listen": "host:port", "reason": ...}``.
        """
        if self._engine is not None or self._closing is not None:
            raise RuntimeError("the trap receiver was already started")
        if self._mib is not None:
            await self._mib.aload()
        host, port = self._config.listen_host, self._config.listen_port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if self._receive_buffer is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._receive_buffer)
            sock.bind((host, port))
            self._address = _host_port(sock.getsockname())
            self._listen = _format_address(*self._address)
            self._engine = engine = new_engine()
            engine.register_transport_dispatcher(AsyncioDispatcher(timeout=_TIMER_RESOLUTION))
            transport_class = _Udp6Transport if family == socket.AF_INET6 else _UdpTransport
            transport = transport_class(self._on_datagram)
            await asyncio.get_running_loop().create_datagram_endpoint(lambda: transport, sock=sock)
            self._transport = transport
            domain = udp6.DOMAIN_NAME if family == socket.AF_INET6 else udp.DOMAIN_NAME
            snmp_config.add_transport(engine, domain, transport)
            self._configure_security(engine)
            builder = engine.get_mib_builder()
            self._rejected_counters = [
                builder.import_symbols(module, name)[0] for module, name in _REJECTED_COUNTERS
            ]
            self._malformed_counters = [
                builder.import_symbols(module, name)[0] for module, name in _MALFORMED_COUNTERS
            ]
            self._receiver = ntfrcv.NotificationReceiver(engine, self._on_notification)
        except BaseException as exc:
            if self._transport is None:
                sock.close()
            if isinstance(exc, OSError):
                self._publish_failure(_format_address(host, port), exc)
            await self.aclose()
            raise
        self.spawn(self._report(), name=f"trap-receiver {self._listen}")
        self._changed.set()
        mlog.info("trap receiver listening on udp %s", self._listen)

    def _configure_security(self, engine: Any) -> None:
        """Register the communities (v1/v2c) and the v3 users with the engine."""
        for index, community in enumerate(self._config.communities):
            # the community index (and security name) is a counter, never the secret
            snmp_config.add_v1_system(engine, f"trap-community-{index}", community.reveal())
        for user, keys in self._users:
            engine_ids: list[bytes | None] = [None]  # own engine ID: INFORMs
            if user.engine_id:
                engine_ids.append(parse_engine_id(user.engine_id))  # sender's: TRAPs
            for engine_id in engine_ids:
                snmp_config.add_v3_user(engine, user.user, *keys(), securityEngineId=engine_id)

    # -- receive path --------------------------------------------------------------

    def _on_datagram(self, transport: Any, datagram: bytes, address: Any) -> None:
        """Hand one datagram to the engine, inline; count it, and count a failure of
        pysnmp's processing as malformed (pysnmp raises on some malformed PDUs)."""
        self._datagrams += 1
        self._changed.set()
        callback = transport._callback_function
        if callback is None:  # closing
            return
        try:
            callback(transport, address, datagram)
        except Exception as exc:
            self._failures += 1
            mlog.debug(
                "undecodable datagram from %s: %s",
                _format_address(*_host_port(address)),
                type(exc).__name__,
            )

    def _on_notification(
        self,
        engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        var_binds: Sequence[tuple[Any, Any]],
        cb_ctx: Any,
    ) -> None:
        """pysnmp's callback, once per authenticated notification (an INFORM has
        been acknowledged already)."""
        context = engine.observer.get_execution_context(_REQUEST_EXECPOINT)
        host, port = _host_port(context["transportAddress"])
        version = _VERSIONS.get(int(context["messageProcessingModel"]), "V3")
        pdu = context.get("pdu")
        inform = pdu is not None and pdu.tagSet == _INFORM_TAGSET
        user = None
        if version == "V3":
            security_name = context.get("securityName")
            user = bytes(security_name).decode("utf-8", "replace") if security_name else None
        sender = _format_address(host, port)
        resolve = self._mib.resolve if self._mib is not None else None
        payload = notification_payload(
            var_binds,
            sender=sender,
            version=version,
            user=user,
            inform=inform,
            resolve=resolve,
            formatter=self._formatter,
        )
        if payload is None:
            self._failures += 1
            mlog.debug("notification from %s without snmpTrapOID.0 dropped", sender)
            return
        self._received += 1
        if inform:
            self._informs += 1
        device = self._devices.get(sender) or self._devices.get(host) or f"@{host}"
        if not self._bus.closed:
            self._bus.publish(("snmp", device, "trap", str(payload["trap_oid"])), payload)

    async def _report(self) -> None:
        """Publish the counters when they change, at most every ``_REPORT_INTERVAL`` s."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            self._publish_stats()
            await asyncio.sleep(_REPORT_INTERVAL)

    def _publish_failure(self, listen: str, exc: OSError) -> None:
        """Tell the bus the receiver cannot listen on ``listen``, and why."""
        if not self._bus.closed:
            self._bus.publish(
                RECEIVER_STATUS,
                {"status": RECEIVER_FAILED, "listen": listen, "reason": exc.strerror or str(exc)},
            )

    def _publish_stats(self) -> None:
        stats = self.stats
        if stats == self._last_report or self._bus.closed:
            return
        self._last_report = stats
        self._bus.publish(
            ("snmp", RECEIVER_DEVICE, "traps"),
            {
                "listen": self._listen,
                "received": stats.received,
                "informs": stats.informs,
                "rejected": stats.rejected,
                "malformed": stats.malformed,
            },
        )

    # -- closing ------------------------------------------------------------------------

    async def _close(self) -> None:
        """Stop receiving, close the socket (the port is free once this returns),
        stop pysnmp's timer and publish the final counters if they changed.
        """
        await self.cancel_tasks()  # the reporter
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close_transport()
            await transport.lost
        engine, self._engine = self._engine, None
        if engine is None:
            return
        if self._receiver is not None:
            self._receiver.close(engine)
            self._receiver = None
        await shutdown_engine(engine)
        if self._address is not None:
            self._publish_stats()
            mlog.info("trap receiver on udp %s stopped", self._listen)


def _user_keys(user: TrapUser) -> Callable[[], tuple[Any, Any, Any, Any]]:
    """Check ``user`` now; return a function giving pysnmp's ``(authProtocol,
    authKey, privProtocol, privKey)``, revealing the passwords only when called."""
    auth: SnmpAuthentication | None = user.authentication
    priv: SnmpPrivacy | None = user.privacy
    if priv is not None and auth is None:
        raise ValueError(f"SNMPv3 trap user {user.user!r}: privacy needs authentication")
    if user.engine_id:
        parse_engine_id(user.engine_id)
    if auth is not None and auth.type not in _AUTH:
        raise ValueError(f"SNMPv3 trap user {user.user!r}: unknown authentication {auth.type!r}")
    if priv is not None and priv.type not in _PRIV:
        raise ValueError(f"SNMPv3 trap user {user.user!r}: unknown privacy {priv.type!r}")

    def keys() -> tuple[Any, Any, Any, Any]:
        return (
            _AUTH[auth.type] if auth else snmp_config.USM_AUTH_NONE,
            auth.password.reveal() if auth else None,
            _PRIV[priv.type] if priv else snmp_config.USM_PRIV_NONE,
            priv.password.reveal() if priv else None,
        )

    return keys
