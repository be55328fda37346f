"""MQTT peers for tests: Debian ``mosquitto`` on a free loopback port (plain, with a
password file, with TLS from certificates made at test time), and the
``mosquitto_pub`` / ``mosquitto_sub`` clients as independent publishers and
observers.

``mosquitto``::

    from tests.mqtt_peers import Mosquitto

    with Mosquitto(tmp_path) as broker:     # starts, waits until it accepts connections
        broker.port
        broker.kill(); broker.start()       # SIGKILL, then again on the same port
        broker.stop(); broker.start()       # SIGTERM (persistence saved), restart
        broker.log_lines("Received SUBSCRIBE")

The broker runs as ``mosquitto -c CONF`` (foreground) with ``log_type all`` to a log
file in the work directory, ``max_queued_messages`` raised to 1,000,000 (its default
1000 drops QoS 0 messages for a slow subscriber) and, with ``persistence=True``, its
database in the work directory (saved on SIGTERM, so sessions survive a restart).

Certificates (:func:`make_certificates`) are generated with ``cryptography``: a CA,
a server certificate for 127.0.0.1/localhost and a client certificate, all PEM.

A missing program skips the test locally and fails it in CI
(:func:`tests.conftest.require_program`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import free_tcp_port, require_program

__all__ = [
    "Certificates",
    "Mosquitto",
    "make_certificates",
    "mosquitto_pub",
    "mosquitto_sub",
]


@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA, the server's certificate and key, the client's."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    name: str,
    *,
    server: bool,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def make_certificates(directory: Path) -> Certificates:
    """A test CA, a server certificate for ``localhost``/``127.0.0.1`` and a client
    certificate signed by it, and an unrelated CA (to test rejection), as PEM files
    in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("fleettop test CA")
    server_key, server_cert = _leaf(ca_key, ca_cert, "localhost", server=True)
    client_key, client_cert = _leaf(ca_key, ca_cert, "fleettop", server=False)
    _, other_cert = _ca("some other CA")
    files = {
        "ca.pem": ca_cert.public_bytes(serialization.Encoding.PEM),
        "server.pem": server_cert.public_bytes(serialization.Encoding.PEM),
        "server.key": _key_pem(server_key),
        "client.pem": client_cert.public_bytes(serialization.Encoding.PEM),
        "client.key": _key_pem(client_key),
        "other-ca.pem": other_cert.public_bytes(serialization.Encoding.PEM),
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return Certificates(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )


class Mosquitto:
    """A ``mosquitto`` broker on 127.0.0.1 for one test (see the module docstring).

    Args:
        workdir: a private directory (config, log, persistence, password file).
        users: ``{user: password}``; when given, anonymous clients are refused.
        certificates: serve TLS with these (``require_certificate`` with
            ``client_certificates=True``).
        persistence: keep sessions and queued messages across a SIGTERM restart.
        websockets: also listen for MQTT over WebSockets on :attr:`ws_port` (with
            ``certificates``: over TLS, ``wss``). Debian's mosquitto 2.0.11 binds it
            on every interface (libwebsockets binds interfaces, not addresses) and
            starts it only beside a plain listener (mosquitto #2284, #3045).
        extra: more configuration lines.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        certificates: Certificates | None = None,
        client_certificates: bool = False,
        persistence: bool = False,
        websockets: bool = False,
        extra: Sequence[str] = (),
    ) -> None:
        self.program = require_program("mosquitto")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_tcp_port()
        self.log = workdir / "mosquitto.log"
        self.tls = certificates is not None
        lines = [
            # as root, mosquitto would switch to user 'mosquitto', who cannot write here
            *(["user root"] if os.geteuid() == 0 else []),
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            "protocol mqtt",
            f"log_dest file {self.log}",
            "log_type all",
            "connection_messages true",
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            f"allow_anonymous {'false' if users else 'true'}",
        ]
        if users:
            passwd = workdir / "passwd"
            passwd.write_text("")
            tool = require_program("mosquitto_passwd")
            for user, password in users.items():
                subprocess.run([tool, "-b", str(passwd), user, password], check=True)
            lines.append(f"password_file {passwd}")
        if certificates is not None:
            lines += [
                f"cafile {certificates.ca}",
                f"certfile {certificates.server_cert}",
                f"keyfile {certificates.server_key}",
                f"require_certificate {'true' if client_certificates else 'false'}",
            ]
        self.ws_port = free_tcp_port() if websockets else None
        if self.ws_port is not None:
            lines += [f"listener {self.ws_port}", "protocol websockets"]
            if certificates is not None:
                lines += [
                    f"cafile {certificates.ca}",
                    f"certfile {certificates.server_cert}",
                    f"keyfile {certificates.server_key}",
                    f"require_certificate {'true' if client_certificates else 'false'}",
                ]
        if persistence:
            lines += [
                "persistence true",
                f"persistence_location {workdir}/",
                "autosave_interval 1",
            ]
        lines += list(extra)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the broker (again, on the same port) and wait until it listens.

        Raises:
            RuntimeError: it exited or did not listen within 10 s.
        """
        self._proc = subprocess.Popen(
            [self.program, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"mosquitto exited: {err}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                if self.ws_port is None or self._listens(self.ws_port):
                    return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not listen within 10 s")

    @staticmethod
    def _listens(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def _end(self, sig: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def stop(self) -> None:
        """SIGTERM: a clean stop (persistence is written)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the broker dies at once."""
        self._end(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_lines(self, needle: str) -> list[str]:
        """Lines of the broker's log containing ``needle``."""
        if not self.log.exists():
            return []
        return [
            line for line in self.log.read_text(errors="replace").splitlines() if needle in line
        ]

    def client_args(self) -> list[str]:
        """``-h -p`` (and TLS options) for mosquitto_pub / mosquitto_sub."""
        return ["-h", "127.0.0.1", "-p", str(self.port)]

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


async def mosquitto_pub(broker: Mosquitto, *args: str, stdin: bytes | None = None) -> None:
    """Run ``mosquitto_pub`` against ``broker`` without blocking the loop.

    Raises:
        AssertionError: it exited with an error (stderr in the message).
    """
    tool = require_program("mosquitto_pub")
    proc = await asyncio.create_subprocess_exec(
        tool,
        *broker.client_args(),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(stdin)
    assert proc.returncode == 0, f"mosquitto_pub failed: {err.decode(errors='replace')}"


class mosquitto_sub:
    """An independent ``mosquitto_sub -v`` observer, as an async context manager.

    ``lines`` holds ``topic payload`` lines as they arrive; use ``-N``-less output so
    each message is one line (payloads must not contain newlines); ``subscribed``
    is awaited on entry (the broker's log shows the SUBSCRIBE).
    """

    def __init__(self, broker: Mosquitto, topic: str, *args: str) -> None:
        self.broker = broker
        self.args = ["-v", "-t", topic, "-i", f"observer-{os.getpid()}-{id(self)}", *args]
        self.lines: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> mosquitto_sub:
        tool = require_program("mosquitto_sub")
        self._proc = await asyncio.create_subprocess_exec(
            tool,
            *self.broker.client_args(),
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read())
        client_id = self.args[self.args.index("-i") + 1]
        deadline = time.monotonic() + 10
        while not any(client_id in line for line in self.broker.log_lines("SUBSCRIBE")):
            assert time.monotonic() < deadline, "mosquitto_sub did not subscribe"
            await asyncio.sleep(0.02)
        return self

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            await self._proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
