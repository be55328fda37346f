"""An in-process SNMP agent (pysnmp command responder) serving a :class:`DeviceModel`.

The agent runs in the current asyncio loop - the same loop as the Textual app and
the SNMP manager - on its own UDP socket. Each agent has its own pysnmp engine and its
own MIB tree (a ``MibBuilder`` holding only the model's objects, registered under a
private SNMP context that both communities map to). Values are computed when a
request arrives, from the time since the agent started.

Access (SNMPv1 and SNMPv2c): the read community may GET/GETNEXT/GETBULK everything
under ``1.3.6.1``; the write community may also SET the model's writable objects.
A SET with the read community fails with ``notWritable``. These rules are an access
control model of their own (:class:`_CommunityAccess`, on pysnmp's extension point
for one, ``SnmpEngine.access_control_model``, as its ``void.Vacm``), not VACM table
rows: ``add_vacm_user`` writes those through the MIB instrumentation at ~30 ms a
row, which was 0.37 s of the demo's 0.5 s agent start.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config as snmp_config
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import errind, rfc1902
from pysnmp.proto import error as proto_error
from pysnmp.smi import builder, instrum
from pysnmp.smi import error as smi_error

from console.demo.models import DeviceModel, ObjectSpec, SnmpValue, ValueType
from console.lifecycle import ClosesOnce
from console.secrets import Secret
from console.snmp.engine import new_engine, shutdown_engine

__all__ = ["SnmpAgent"]

mlog = logging.getLogger(__name__)

#: The SNMP context holding the model's MIB tree; both communities map to it.
_CONTEXT = b"fleettop-demo"
_READ_SECURITY_NAME = "demo-read"
_WRITE_SECURITY_NAME = "demo-write"
_WHOLE_TREE = (1, 3, 6, 1)
#: The access control model id of :class:`_CommunityAccess` in the agent's engine
#: (pysnmp uses 0 for its void model and 3 for VACM).
_ACM_ID = 100
_TIMER_RESOLUTION = 1.0  # seconds between pysnmp housekeeping ticks

_SYNTAX: dict[ValueType, Any] = {
    "INTEGER": rfc1902.Integer32,
    "UNSIGNED": rfc1902.Gauge32,
    "COUNTER": rfc1902.Counter32,
    "BIG_COUNTER": rfc1902.Counter64,
    "TIME_TICKS": rfc1902.TimeTicks,
    "STRING": rfc1902.OctetString,
    "OBJECT_ID": rfc1902.ObjectIdentifier,
}


class _GatedUdpTransport(udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's asyncio UDP transport that drops datagrams while ``accept()`` is false
    (a simulated outage) and reports when its socket has closed."""

    def __init__(self, accept: Callable[[], bool]) -> None:
        super().__init__()
        self._accept = accept
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        if self._accept():
            super().datagram_received(datagram, address)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.lost.done():
            self.lost.set_result(None)


def _instance_classes(mib_builder: Any) -> tuple[Any, Any]:
    """Return (computed, writable) subclasses of ``mib_builder``'s MibScalarInstance.

    pysnmp executes MIB modules per builder, so the base class must come from the
    builder that indexes the instances.
    """
    (base,) = mib_builder.import_symbols("SNMPv2-SMI", "MibScalarInstance")

    class ComputedInstance(base):  # type: ignore[misc, valid-type]
        """A read-only instance whose value comes from ``read()`` at request time."""

        def __init__(
            self, type_name: Any, inst_id: Any, syntax: Any, read: Callable[[], SnmpValue]
        ) -> None:
            super().__init__(type_name, inst_id, syntax)
            self._read = read

        def getValue(self, name: Any, **ctx: Any) -> Any:
            try:
                return self.syntax.clone(self._read())
            except Exception as exc:
                mlog.warning("demo value for %s failed: %r", name, exc)
                raise smi_error.GenError(name=name, idx=ctx.get("idx")) from exc

    class WritableInstance(base):  # type: ignore[misc, valid-type]
        """A stored instance that refuses SET values of another SMI type."""

        def writeTest(self, varBind: Any, **ctx: Any) -> None:
            name, value = varBind
            if name == self.name and value.getTagSet() != self.syntax.getTagSet():
                raise smi_error.WrongTypeError(name=name, idx=ctx.get("idx"))
            super().writeTest(varBind, **ctx)

    return ComputedInstance, WritableInstance


def _encode(spec: ObjectSpec, value: SnmpValue) -> SnmpValue:
    if isinstance(value, str) and spec.type == "STRING":
        return value.encode()
    return value


def _build_mib(model: DeviceModel, elapsed: Callable[[], float]) -> Any:
    """Return a MibInstrumController serving ``model``'s objects.

    Scalars become ``MibScalar`` + instance ``.0``; columns become ``MibTable`` /
    ``MibTableRow`` / ``MibTableColumn`` + one instance per row, so GETNEXT and GETBULK
    walk them in lexicographic order.
    """
    mib_builder = builder.MibBuilder()
    mib_builder.load_modules("SNMPv2-SMI", "SNMPv2-TC")
    scalar_cls, table_cls, row_cls, column_cls = mib_builder.import_symbols(
        "SNMPv2-SMI", "MibScalar", "MibTable", "MibTableRow", "MibTableColumn"
    )
    (display_string,) = mib_builder.import_symbols("SNMPv2-TC", "DisplayString")
    computed_cls, writable_cls = _instance_classes(mib_builder)

    nodes: dict[tuple[int, ...], Any] = {}
    instances: list[Any] = []
    for spec in model.objects:
        syntax_cls = display_string if spec.writable and spec.type == "STRING" else None
        syntax_cls = syntax_cls or _SYNTAX[spec.type]
        access = "read-write" if spec.writable else "read-only"
        if spec.column:
            row = spec.node[:-1]
            nodes.setdefault(row[:-1], table_cls(row[:-1]))
            nodes.setdefault(row, row_cls(row))
            nodes.setdefault(spec.node, column_cls(spec.node, syntax_cls()).setMaxAccess(access))
        else:
            nodes.setdefault(spec.node, scalar_cls(spec.node, syntax_cls()).setMaxAccess(access))
        initial = syntax_cls(_encode(spec, spec.source(0.0)))
        if spec.writable:
            instances.append(writable_cls(spec.node, spec.index, initial))
        else:

            def read(spec: ObjectSpec = spec) -> SnmpValue:
                return _encode(spec, spec.source(elapsed()))

            instances.append(computed_cls(spec.node, spec.index, initial, read))

    symbols = {f"n{index}": node for index, node in enumerate(nodes.values())}
    symbols.update({f"i{index}": inst for index, inst in enumerate(instances)})
    mib_builder.export_symbols("FLEETTOP-DEMO-" + model.name.upper(), **symbols)
    return instrum.MibInstrumController(mib_builder)


class _CommunityAccess:
    """The demo agent's access rules, as a pysnmp access control model.

    Both security names (one per community) read everything under ``1.3.6.1`` in the
    agent's context; only the write community's may write. A denied object is
    ``notInView`` (RFC 3415 §3.2), which pysnmp's command responder turns into
    ``noSuchObject`` for a read and ``notWritable`` for a SET (``noSuchName`` in v1,
    RFC 3584 §4.4), as VACM would: Net-SNMP's ``snmpset`` with the read community
    reports exactly those.
    """

    def is_access_allowed(
        self,
        snmpEngine: Any,
        securityModel: Any,
        securityName: Any,
        securityLevel: Any,
        viewType: str,
        contextName: Any,
        variableName: Any,
    ) -> Any:
        """pysnmp's ``is_access_allowed``; raises ``StatusInformation`` when denied."""
        name = str(securityName)
        if bytes(contextName) != _CONTEXT or name not in _SECURITY_NAMES:
            raise proto_error.StatusInformation(errorIndication=errind.noSuchContext)
        if viewType == "write" and name != _WRITE_SECURITY_NAME:
            raise proto_error.StatusInformation(errorIndication=errind.notInView)
        if tuple(variableName)[: len(_WHOLE_TREE)] != _WHOLE_TREE:
            raise proto_error.StatusInformation(errorIndication=errind.notInView)
        return proto_error.StatusInformation(errorIndication=errind.accessAllowed)


_SECURITY_NAMES = frozenset({_READ_SECURITY_NAME, _WRITE_SECURITY_NAME})


def _with_access(responder: Any) -> Any:
    """``responder`` (a pysnmp command responder class) checking access with
    :class:`_CommunityAccess` instead of VACM."""
    return type(f"Demo{responder.__name__}", (responder,), {"ACM_ID": _ACM_ID})


_RESPONDERS = tuple(
    _with_access(responder)
    for responder in (
        cmdrsp.GetCommandResponder,
        cmdrsp.NextCommandResponder,
        cmdrsp.BulkCommandResponder,
        cmdrsp.SetCommandResponder,
    )
)


class SnmpAgent(ClosesOnce):
    """An SNMPv1/v2c agent for one :class:`DeviceModel` on a UDP port of ``host``.

    Args:
        model: the objects to serve.
        host: the IPv4 address to bind.
        port: the UDP port; 0 picks a free one (read :attr:`port` after start).
        read_community: may read everything.
        write_community: may also SET the model's writable objects.
        silent: given the seconds since start, True while the agent must not answer
            (requests are dropped, the socket stays bound); ``None``: always answer.
        clock: the monotonic clock, in seconds.

    Usage::

        agent = SnmpAgent(model)
        await agent.start()   # inside the running loop
        agent.port            # the bound UDP port
        await agent.aclose()
    """

    def __init__(
        self,
        model: DeviceModel,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        read_community: Secret,
        write_community: Secret,
        silent: Callable[[float], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.host = host
        self._requested_port = port
        self._read_community = read_community
        self._write_community = write_community
        self._silent = silent
        self._clock = clock
        self._started_at: float | None = None
        self._port: int | None = None
        self._engine: Any = None
        self._sock: socket.socket | None = None
        self._transport: _GatedUdpTransport | None = None
        self._responders: list[Any] = []

    @property
    def name(self) -> str:
        """The device name (the model's)."""
        return self.model.name

    @property
    def port(self) -> int:
        """The bound UDP port.

        Raises:
            RuntimeError: before :meth:`bind` (or :meth:`start`).
        """
        if self._port is None:
            raise RuntimeError(f"demo agent {self.name!r} has not started")
        return self._port

    def bind(self) -> int:
        """Bind the UDP socket now, without answering yet; :meth:`start` answers.

        A manager may be pointed at :attr:`port` at once: the requests it sends
        before :meth:`start` wait in the socket's receive buffer, and are answered
        then. Idempotent.

        Returns:
            The bound port.

        Raises:
            RuntimeError: closed.
            OSError: the address cannot be bound.
        """
        if self._closing is not None:
            raise RuntimeError(f"demo agent {self.name!r} is closed")
        if self._port is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                sock.bind((self.host, self._requested_port))
            except BaseException:
                sock.close()
                raise
            self._sock = sock
            self._port = int(sock.getsockname()[1])
        return self._port

    def elapsed(self) -> float:
        """Seconds since :meth:`start` (0 before)."""
        return 0.0 if self._started_at is None else self._clock() - self._started_at

    @property
    def running(self) -> bool:
        """True while the agent is started, not closed and answering (not in an outage)."""
        if self._transport is None or self._closing is not None:
            return False
        return self._silent is None or not self._silent(self.elapsed())

    def send(self, datagram: bytes, address: tuple[str, int]) -> bool:
        """Send ``datagram`` to ``address`` from the agent's own socket, the way a
        device sends its notifications from its SNMP port (so a receiver can tell
        the demo devices apart on one loopback address).

        Returns:
            True if handed to the socket; False before :meth:`start`, during an
            outage (a silent device sends nothing) and once closing.
        """
        transport = self._transport
        if transport is None or transport.transport is None or not self.running:
            return False
        transport.transport.sendto(datagram, address)
        return True

    async def start(self) -> None:
        """Bind the UDP socket (unless :meth:`bind` did) and start answering in the
        running loop.

        Raises:
            RuntimeError: already started, or closed.
            OSError: the address cannot be bound.
        """
        if self._engine is not None or self._closing is not None:
            raise RuntimeError(f"demo agent {self.name!r} was already started")
        self.bind()
        sock = self._sock
        assert sock is not None
        self._started_at = self._clock()
        try:
            self._engine = engine = new_engine()
            engine.register_transport_dispatcher(AsyncioDispatcher(timeout=_TIMER_RESOLUTION))
            transport = _GatedUdpTransport(lambda: self.running)
            # Equivalent to transport.open_server_mode(sock=sock), but awaited, so a
            # failure surfaces here instead of in an unobserved future.
            loop = asyncio.get_running_loop()
            await loop.create_datagram_endpoint(lambda: transport, sock=sock)
            self._transport, self._sock = transport, None  # the transport owns it now
            snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
            self._configure_access(engine)
            snmp_context = context.SnmpContext(engine)
            snmp_context.register_context_name(_CONTEXT, _build_mib(self.model, self.elapsed))
            self._responders = [responder(engine, snmp_context) for responder in _RESPONDERS]
        except BaseException:
            await self.aclose()
            raise
        mlog.info("demo agent %s answering on udp %s:%d", self.name, self.host, self._port)

    def _configure_access(self, engine: Any) -> None:
        """Map each community to its security name and the agent's context (the
        SNMP-COMMUNITY-MIB rows), and check access with :class:`_CommunityAccess`."""
        for security_name, community in (
            (_READ_SECURITY_NAME, self._read_community),
            (_WRITE_SECURITY_NAME, self._write_community),
        ):
            snmp_config.add_v1_system(
                engine, security_name, community.reveal(), contextName=_CONTEXT
            )
        engine.access_control_model[_ACM_ID] = _CommunityAccess()

    async def _close(self) -> None:
        """Stop answering, close the socket and release the engine's timer task."""
        sock, self._sock = self._sock, None
        if sock is not None:  # bound, never answering
            sock.close()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close_transport()
            # Datagrams already queued to the engine are handled before this resolves.
            await transport.lost
        engine, self._engine = self._engine, None
        if engine is None:
            return
        for responder in self._responders:
            responder.close(engine)
        self._responders = []
        await shutdown_engine(engine)
        mlog.info("demo agent %s stopped", self.name)
