"""SNMP peers for tests: Debian ``snmpd`` on a free loopback port, Net-SNMP's
``snmpget`` as the reference reader, and a tiny scripted agent for the PDU errors
``snmpd`` never sends.

``snmpd``::

    from tests.snmp_peers import Snmpd

    with Snmpd(tmp_path) as agent:          # starts, waits until it answers
        agent.port                           # its UDP port on 127.0.0.1
        agent.stop(); agent.start()          # restart on the same port

or as a pytest fixture in a test module::

    @pytest.fixture
    def snmpd(tmp_path):
        with Snmpd(tmp_path) as agent:
            yield agent

The agent runs as ``snmpd -f -Lo -C -I -smux -c CONF udp:127.0.0.1:PORT`` with
``MIBS=""`` (Debian ships no MIB files: use numeric OIDs) and its persistent state in
the work directory (``SNMP_PERSISTENT_DIR``: its engine ID, boots and SNMPv3 users
stay there, never in /var/lib/snmp). The default configuration
(:data:`DEFAULT_CONF`) grants ``public`` read-only and ``private`` read-write to
127.0.0.1.

SNMPv3 users (:class:`V3User`, in Net-SNMP's terms) are added with ``v3_users=``:
``createUser`` and ``rouser``/``rwuser`` lines appended to the configuration; read
with them by passing the same user to :func:`snmpget`::

    user = V3User("ops", "SHA", "auth-password", "AES", "priv-password")
    with Snmpd(tmp_path, v3_users=[user]) as agent:
        snmpget(agent, [SYS_DESCR], v3_user=user)

A missing ``snmpd`` / ``snmpget`` skips the test locally and fails it in CI
(:func:`tests.conftest.require_program`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from tests.conftest import free_udp_port, require_program

__all__ = [
    "DEFAULT_CONF",
    "NET_SNMP_ENV",
    "NET_SNMP_TYPES",
    "AgentRequest",
    "NetSnmpValue",
    "ScriptedAgent",
    "Snmpd",
    "UdpAgent",
    "V3User",
    "WalkAgent",
    "probe_message",
    "snmpget",
]

#: sysContact and sysLocation are fixed so tests can compare them.
DEFAULT_CONF = """\
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
sysContact ops@example.com
sysLocation fleettop test rack
dontLogTCPWrappersConnects yes
"""

#: Environment for Net-SNMP programs: Debian ships no MIB files, so load none.
NET_SNMP_ENV = {**os.environ, "MIBS": ""}


@dataclass(frozen=True)
class V3User:
    """An SNMPv3 (USM) user of ``snmpd``, in Net-SNMP's terms.

    Attributes:
        name: the user name.
        auth: Net-SNMP authentication protocol (``MD5``, ``SHA``, ``SHA-224``,
            ``SHA-256``, ``SHA-384``, ``SHA-512``), or ``None`` (noAuthNoPriv).
        auth_password: its password (at least 8 characters).
        priv: Net-SNMP privacy protocol (``DES``, ``AES``, ``AES-192``, ``AES-256``
            (Blumenthal key extension), ``AES-192-C``, ``AES-256-C`` (Reeder, as
            Cisco)), or ``None``.
        priv_password: its password.
        access: ``"ro"`` (``rouser``) or ``"rw"`` (``rwuser``); the user's own
            security level is the minimum the agent requires of it.
    """

    name: str
    auth: str | None = None
    auth_password: str | None = None
    priv: str | None = None
    priv_password: str | None = None
    access: str = "ro"

    @property
    def level(self) -> str:
        """``noAuthNoPriv``, ``authNoPriv`` or ``authPriv`` (RFC 3411)."""
        if self.auth is None:
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv is None else "authPriv"

    def conf_lines(self) -> str:
        """``createUser`` and ``rouser``/``rwuser`` lines for ``snmpd.conf``."""
        create = f"createUser {self.name}"
        if self.auth is not None:
            create += f' {self.auth} "{self.auth_password}"'
            if self.priv is not None:
                create += f' {self.priv} "{self.priv_password}"'
        minimum = {"noAuthNoPriv": "noauth", "authNoPriv": "auth", "authPriv": "priv"}
        return f"{create}\n{self.access}user {self.name} {minimum[self.level]}\n"

    def net_snmp_args(self) -> list[str]:
        """The command-line options of Net-SNMP's tools for this user."""
        args = ["-v", "3", "-u", self.name, "-l", self.level]
        if self.auth is not None:
            args += ["-a", self.auth, "-A", str(self.auth_password)]
        if self.priv is not None:
            args += ["-x", self.priv, "-X", str(self.priv_password)]
        return args


def _ber_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(body)) + body


def probe_message(community: str, request_id: int = 1) -> bytes:
    """A v2c GET of sysUpTime.0, BER-encoded by hand (no pysnmp in the fixture)."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])  # 1.3.6.1.2.1.1.3.0
    var_bind = _tlv(0x30, _tlv(0x06, oid) + b"\x05\x00")
    pdu = _tlv(
        0xA0,
        _tlv(0x02, request_id.to_bytes(4, "big"))
        + b"\x02\x01\x00\x02\x01\x00"
        + _tlv(0x30, var_bind),
    )
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)


class Snmpd:
    """A Debian ``snmpd`` on ``127.0.0.1:port``, as a context manager.

    Args:
        workdir: directory for the configuration, persistent state and log.
        conf: ``snmpd.conf`` text (default :data:`DEFAULT_CONF`); never put an
            ``agentAddress`` line in it (the address is on the command line).
        port: UDP port (default: a free one, kept across :meth:`restart`).
        probe_community: a community the agent answers, used to detect readiness.
        ready_timeout: seconds :meth:`start` waits for the first answer.
        v3_users: SNMPv3 users to create (their lines are appended to ``conf``).

    Raises:
        pytest's skip/fail: ``snmpd`` is not installed (see ``require_program``).
        RuntimeError: the agent exited or did not answer within ``ready_timeout``
            (the message includes its log).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        conf: str = DEFAULT_CONF,
        *,
        port: int | None = None,
        probe_community: str = "public",
        ready_timeout: float = 10.0,
        v3_users: Sequence[V3User] = (),
    ) -> None:
        self.program = require_program("snmpd")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_path = self.workdir / "snmpd.conf"
        self.v3_users = tuple(v3_users)
        self.conf_path.write_text(conf + "".join(user.conf_lines() for user in self.v3_users))
        self.log_path = self.workdir / "snmpd.log"
        self.port = port if port is not None else free_udp_port()
        self.probe_community = probe_community
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the agent."""
        return self.host, self.port

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> Snmpd:
        """Start the agent and wait until it answers a GET (up to ``ready_timeout`` s)."""
        if self.running:
            return self
        persist = self.workdir / "persist"
        persist.mkdir(exist_ok=True)
        env = {**NET_SNMP_ENV, "SNMP_PERSISTENT_DIR": str(persist)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.program,
                    "-f",
                    "-Lo",
                    "-C",
                    "-I",
                    "-smux",
                    "-c",
                    str(self.conf_path),
                    f"udp:{self.host}:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self) -> None:
        """Send GETs until one is answered.

        Raises:
            RuntimeError: the process exited, or ``ready_timeout`` s passed.
        """
        deadline = time.monotonic() + self.ready_timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.1)
            request_id = 1
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"snmpd exited at start:\n{self.log()}")
                with contextlib.suppress(OSError):
                    sock.sendto(probe_message(self.probe_community, request_id), self.address)
                    if sock.recvfrom(65535):
                        return
                request_id += 1
        raise RuntimeError(f"snmpd did not answer within {self.ready_timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop the agent (SIGTERM, then SIGKILL after 5 s); idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()

    def log(self) -> str:
        """The agent's output so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Snmpd:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- Net-SNMP's snmpget as the reference reader ---------------------------------


@dataclass(frozen=True)
class NetSnmpValue:
    """One var-bind as Net-SNMP prints it, mapped onto fleettop's data types.

    Attributes:
        oid: numeric OID without the leading dot.
        type: fleettop data type (``STRING``, ``TIME_TICKS``, ``ERROR``...).
        value: int for numeric types, bytes for ``STRING``, text for ``OBJECT_ID``
            and ``IP_ADDRESS``, the error name for ``ERROR``, Net-SNMP's text for
            ``ARBITRARY``.
    """

    oid: str
    type: str
    value: Any


#: Net-SNMP's type label -> fleettop's type family (docs/events.md).
NET_SNMP_TYPES = {
    "INTEGER": "INTEGER",
    "Gauge32": "UNSIGNED",
    "Counter32": "COUNTER",
    "Counter64": "BIG_COUNTER",
    "Timeticks": "TIME_TICKS",
    "OID": "OBJECT_ID",
    "IpAddress": "IP_ADDRESS",
    "Opaque": "ARBITRARY",
    "Hex-STRING": "STRING",
    "STRING": "STRING",
}
_NET_SNMP_ERRORS = {
    "No Such Object": "NO_SUCH_OBJECT",
    "No Such Instance": "NO_SUCH_INSTANCE",
    "No more variables": "END_OF_MIB_VIEW",
}


def _parse_value(oid: str, text: str) -> NetSnmpValue:
    for prefix, name in _NET_SNMP_ERRORS.items():
        if text.startswith(prefix):
            return NetSnmpValue(oid, "ERROR", name)
    if text == '""':
        return NetSnmpValue(oid, "STRING", b"")
    label, _, rest = text.partition(": ")
    kind = NET_SNMP_TYPES.get(label)
    if kind is None:
        raise ValueError(f"unexpected snmpget output for {oid}: {text!r}")
    if label == "Hex-STRING":
        return NetSnmpValue(oid, kind, bytes.fromhex(rest))
    if label == "STRING":
        return NetSnmpValue(oid, kind, rest.strip('"').encode())
    if label == "Timeticks":
        match = re.match(r"\((\d+)\)", rest)
        if match is None:
            raise ValueError(f"unexpected Timeticks output for {oid}: {text!r}")
        return NetSnmpValue(oid, kind, int(match.group(1)))
    if kind in ("INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER"):
        return NetSnmpValue(oid, kind, int(rest.split()[0]))
    if kind == "OBJECT_ID":
        return NetSnmpValue(oid, kind, rest.lstrip("."))
    return NetSnmpValue(oid, kind, rest)


def snmpget(
    agent: Snmpd,
    oids: Sequence[str],
    *,
    community: str = "public",
    version: str = "2c",
    v3_user: V3User | None = None,
) -> dict[str, NetSnmpValue]:
    """Read ``oids`` with Net-SNMP's ``snmpget -On -Oe -Ox`` (hex strings, numeric
    enums) and parse its output; with ``v3_user``, as that SNMPv3 user (``community``
    and ``version`` are then ignored).

    Returns:
        OID (no leading dot) -> :class:`NetSnmpValue`. With SNMPv1 an unknown OID
        makes the whole PDU fail: snmpget then re-asks without it, and the OID is
        missing from the result.

    Raises:
        pytest's skip/fail: ``snmpget`` is not installed.
        ValueError: unexpected output.
    """
    program = require_program("snmpget")
    security = ["-v", version, "-c", community] if v3_user is None else v3_user.net_snmp_args()
    result = subprocess.run(
        [
            program,
            *security,
            "-On",
            "-Oe",
            "-Ox",
            "-t",
            "2",
            "-r",
            "1",
            f"{agent.host}:{agent.port}",
            *oids,
        ],
        capture_output=True,
        text=True,
        env=NET_SNMP_ENV,
        timeout=30,
        check=False,
    )
    values: dict[str, NetSnmpValue] = {}
    current: list[str] | None = None
    entries: list[list[str]] = []
    for line in result.stdout.splitlines():
        if line.startswith(".") and " = " in line:
            current = [line]
            entries.append(current)
        elif current is not None:  # Hex-STRING continuation lines
            current.append(line)
    for entry in entries:
        head, _, first = entry[0].partition(" = ")
        text = " ".join([first.strip(), *(part.strip() for part in entry[1:])]).strip()
        oid = head.lstrip(".")
        values[oid] = _parse_value(oid, text)
    return values


# -- a scripted agent for PDU errors snmpd never sends ------------------------------


class UdpAgent:
    """A fake v1/v2c SNMP agent on a free 127.0.0.1 UDP port, in the test's event loop
    (``async with``, or :meth:`start` and :meth:`close`): the base of
    :class:`ScriptedAgent`, :class:`WalkAgent` and the test modules' own agents.

    Each datagram is decoded with pysnmp's protocol API (``pysnmp.proto.api``); one
    of another community is ignored; :meth:`respond` fills the response of the
    others (``None``: no answer). Subclasses (dataclasses) declare ``community``,
    ``port`` (0 until started) and ``_transport`` (``None``).
    """

    community: str
    port: int
    _transport: asyncio.DatagramTransport | None

    async def start(self) -> Self:
        """Bind a free port on 127.0.0.1 (``self.port``) and start answering."""
        loop = asyncio.get_running_loop()
        agent = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                response = agent._answer(data)
                if response is not None and agent._transport is not None:
                    agent._transport.sendto(response, addr)

        transport, _ = await loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", 0))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    def close(self) -> None:
        """Stop answering and close the socket."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await asyncio.sleep(0)

    def respond(self, request: AgentRequest) -> None:
        """Fill ``request.response_pdu`` (var-binds, error status and index) for
        ``request``."""
        raise NotImplementedError

    def _answer(self, data: bytes) -> bytes | None:
        from pyasn1.codec.ber import decoder, encoder
        from pysnmp.proto import api

        version = int(api.decodeMessageVersion(data))
        proto: Any = api.PROTOCOL_MODULES[version]
        message, _ = decoder.decode(data, asn1Spec=proto.Message())
        if str(proto.apiMessage.get_community(message)) != self.community:
            return None
        pdu = proto.apiMessage.get_pdu(message)
        response = proto.apiMessage.get_response(message)
        request = AgentRequest(
            version,
            proto,
            pdu,
            proto.apiMessage.get_pdu(response),
            proto.apiPDU.get_varbinds(pdu),
        )
        self.respond(request)
        return bytes(encoder.encode(response))


@dataclass
class AgentRequest:
    """A request a :class:`UdpAgent` answers.

    Attributes:
        version: the message's SNMP version (``api.SNMP_VERSION_1``, ``_2C``).
        proto: pysnmp's protocol module of that version (``apiPDU`` and others).
        pdu: the request PDU.
        response_pdu: the response's PDU, to fill.
        var_binds: the request's var-binds.
    """

    version: int
    proto: Any
    pdu: Any
    response_pdu: Any
    var_binds: Any


@dataclass
class ScriptedAgent(UdpAgent):
    """A minimal v1/v2c GET responder on 127.0.0.1, in the test's event loop.

    Net-SNMP never answers ``tooBig`` (an oversized response simply fails to send)
    and only answers ``noSuchName`` under v1, so the error-status paths of the
    manager are exercised against this peer. It decodes requests and encodes
    responses with pysnmp's protocol API (``pysnmp.proto.api``), like pysnmp's own
    v1arch agent examples.

    Attributes:
        values: OID text -> pysnmp value served. Unknown OIDs are answered with
            ``noSuchName`` (v1) or ``noSuchObject`` (v2c).
        max_var_binds: a GET with more var-binds is answered ``tooBig``.
        error_oids: OID text -> error-status number answered (error-index pointing
            at that OID) whenever the OID is in a request.
        community: the community answered; others are ignored (no response).
        requests: var-bind counts of the GETs received, in order.
    """

    values: Mapping[str, Any]
    max_var_binds: int = 1000
    error_oids: Mapping[str, int] = field(default_factory=dict)
    community: str = "public"
    requests: list[int] = field(default_factory=list)
    port: int = 0
    _transport: asyncio.DatagramTransport | None = None

    def respond(self, request: AgentRequest) -> None:
        """Answer a GET (see the class docstring)."""
        from pysnmp.proto import api, rfc1905

        version, proto, var_binds = request.version, request.proto, request.var_binds
        response_pdu = request.response_pdu
        self.requests.append(len(var_binds))
        names = [".".join(map(str, name)) for name, _ in var_binds]
        error: tuple[int, int] | None = None
        if len(var_binds) > self.max_var_binds:
            error = (1, 0)  # tooBig, no index
        else:
            for position, name in enumerate(names, 1):
                if name in self.error_oids:
                    error = (self.error_oids[name], position)
                    break
                if name not in self.values and version == api.SNMP_VERSION_1:
                    error = (2, position)  # noSuchName
                    break
        if error is not None:
            proto.apiPDU.set_error_status(response_pdu, error[0])
            proto.apiPDU.set_error_index(response_pdu, error[1])
            proto.apiPDU.set_varbinds(response_pdu, var_binds)
        else:
            answers = []
            for (name, _), text in zip(var_binds, names, strict=True):
                value = self.values.get(text)
                answers.append((name, value if value is not None else rfc1905.noSuchObject))
            proto.apiPDU.set_varbinds(response_pdu, answers)


# -- a scripted agent for walks: whole trees, and agents that answer GETBULK badly ------


@dataclass
class WalkAgent(UdpAgent):
    """A v1/v2c agent on 127.0.0.1 (in the test's event loop) that serves ``values``
    to GET, GETNEXT and GETBULK as RFC 3416 says, unless told to misbehave.

    A correct GETBULK answer (non-repeaters 0) holds up to max-repetitions successors
    of the request's OID, ``endOfMibView`` after the last; an SNMPv1 GETNEXT past
    the end is answered ``noSuchName`` (RFC 1157 §4.1.3). Faults, for walks:

    Attributes:
        values: OID text -> pysnmp value; any OIDs (``0.1.1``, ``2.999.1``).
        community: the community answered; others are ignored.
        max_answer: a GETNEXT/GETBULK whose answer would hold more var-binds is
            answered ``tooBig`` (as an agent whose answer does not fit its message
            size); ``0`` answers every GETNEXT/GETBULK ``tooBig``.
        empty_after: GETNEXT/GETBULK at or after this OID (numeric text) are
            answered without var-binds.
        backwards_after: GETNEXT/GETBULK at or after this OID are answered with
            the agent's first OID (a broken agent that starts over).
        requests: ``(kind, oid, max_repetitions)`` of every request, in order
            (``kind`` ``GET``, ``GETNEXT`` or ``GETBULK``; ``0`` repetitions
            unless GETBULK).
        port: the UDP port once started.
    """

    values: Mapping[str, Any]
    community: str = "public"
    max_answer: int | None = None
    empty_after: str | None = None
    backwards_after: str | None = None
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    port: int = 0
    _transport: asyncio.DatagramTransport | None = None
    _sorted: list[tuple[tuple[int, ...], Any]] = field(default_factory=list)
    _keys: list[tuple[int, ...]] = field(default_factory=list)

    async def start(self) -> Self:
        """Sort the values, then as :meth:`UdpAgent.start`."""
        self._sorted = sorted(
            ((_arcs(oid), value) for oid, value in self.values.items()), key=lambda item: item[0]
        )
        self._keys = [arcs for arcs, _value in self._sorted]
        return await super().start()

    def walk_requests(self) -> list[tuple[str, str, int]]:
        """The GETNEXT/GETBULK requests received, in order."""
        return [request for request in self.requests if request[0] != "GET"]

    def _successors(self, arcs: tuple[int, ...], count: int) -> list[tuple[Any, Any]]:
        from pysnmp.proto import rfc1902, rfc1905

        position = bisect.bisect_right(self._keys, arcs)
        answer: list[tuple[Any, Any]] = []
        cursor = arcs
        for _ in range(count):
            if position < len(self._sorted):
                cursor, value = self._sorted[position]
                answer.append((rfc1902.ObjectName(cursor), value))
                position += 1
            else:
                answer.append((rfc1902.ObjectName(cursor), rfc1905.endOfMibView))
                break
        return answer

    def respond(self, request: AgentRequest) -> None:
        """Answer a GET, GETNEXT or GETBULK (see the class docstring)."""
        from pysnmp.proto import api, rfc1902, rfc1905

        version, proto, pdu = request.version, request.proto, request.pdu
        response_pdu, var_binds = request.response_pdu, request.var_binds
        arcs = tuple(var_binds[0][0]) if var_binds else ()
        oid = ".".join(map(str, arcs))
        if pdu.tagSet == rfc1905.GetBulkRequestPDU.tagSet:
            kind, repetitions = "GETBULK", int(proto.apiBulkPDU.get_max_repetitions(pdu))
        elif pdu.tagSet == rfc1905.GetNextRequestPDU.tagSet:
            kind, repetitions = "GETNEXT", 1
        else:
            kind, repetitions = "GET", 0
        self.requests.append((kind, oid, repetitions if kind == "GETBULK" else 0))
        if kind == "GET":
            known = dict(self._sorted)
            found = [(name, known.get(tuple(name))) for name, _ in var_binds]
            missing = [i for i, (_name, value) in enumerate(found, 1) if value is None]
            if missing and version == api.SNMP_VERSION_1:
                proto.apiPDU.set_error_status(response_pdu, 2)  # noSuchName
                proto.apiPDU.set_error_index(response_pdu, missing[0])
                proto.apiPDU.set_varbinds(response_pdu, var_binds)
            else:
                proto.apiPDU.set_varbinds(
                    response_pdu,
                    [(name, rfc1905.noSuchObject if v is None else v) for name, v in found],
                )
            return
        answer = self._successors(arcs, max(repetitions, 1))
        error = 0
        if self.empty_after is not None and arcs >= _arcs(self.empty_after):
            answer = []
        elif self.backwards_after is not None and arcs >= _arcs(self.backwards_after):
            first, value = self._sorted[0]
            answer = [(rfc1902.ObjectName(first), value)]
        elif self.max_answer is not None and len(answer) > self.max_answer:
            error = 1  # tooBig
        elif version == api.SNMP_VERSION_1 and answer[0][1].tagSet == rfc1905.endOfMibView.tagSet:
            error = 2  # noSuchName: the end of the MIB view under SNMPv1
        if error:
            proto.apiPDU.set_error_status(response_pdu, error)
            proto.apiPDU.set_error_index(response_pdu, 0 if error == 1 else 1)
            proto.apiPDU.set_varbinds(response_pdu, var_binds)
        else:
            proto.apiPDU.set_varbinds(response_pdu, answer)


def _arcs(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))
