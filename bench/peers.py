"""Peers the benchmarks measure against: Debian's snmpd and mosquitto on free loopback
ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from console.config import parse_config

__all__ = [
    "NET_SNMP_ENV",
    "end_flood",
    "free_tcp_port",
    "free_udp_port",
    "mosquitto",
    "mosquitto_config",
    "program",
    "snmpd",
    "start_flood",
]

#: Environment for Net-SNMP programs: Debian ships no MIB files, so load none.
NET_SNMP_ENV = {**os.environ, "MIBS": ""}

_READ_ONLY_CONF = """\
rocommunity public 127.0.0.1
dontLogTCPWrappersConnects yes
"""


_ROOT = Path(__file__).resolve().parent.parent


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def program(name: str) -> str:
    """The path of Net-SNMP program ``name``.

    Raises:
        RuntimeError: it is not installed (the message says which package).
    """
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )
    if path is None:
        raise RuntimeError(
            f"{name} is not installed (apt-get install snmpd snmp mosquitto mosquitto-clients)"
        )
    return path


@contextlib.contextmanager
def snmpd(conf: str = _READ_ONLY_CONF) -> Iterator[int]:
    """Run Debian snmpd with ``conf`` on a free 127.0.0.1 port; yield the port.

    The agent's persistent files go to a temporary directory; it is stopped (SIGTERM,
    then SIGKILL after 5 s) when the block ends. Callers wait for it to answer.
    """
    port = free_udp_port()
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-") as workdir:
        conf_path = Path(workdir) / "snmpd.conf"
        conf_path.write_text(conf)
        process = subprocess.Popen(
            [
                program("snmpd"),
                *("-f", "-Lo", "-C", "-I", "-smux", "-c", str(conf_path)),
                f"udp:127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**NET_SNMP_ENV, "SNMP_PERSISTENT_DIR": workdir},
        )
        try:
            yield port
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextlib.contextmanager
def mosquitto() -> Iterator[int]:
    """Run Debian mosquitto on a free 127.0.0.1 port (anonymous); yield the port once
    it accepts connections; kill it when the block ends.

    Its per-client queue is raised to 1,000,000 messages (the default of 1000 drops
    QoS 0 messages for a slow subscriber, which would hide a slow consumer).

    Raises:
        RuntimeError: mosquitto is not installed or did not start within 10 s.
    """
    port = free_tcp_port()
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-") as work:
        conf = Path(work) / "mosquitto.conf"
        lines = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "log_type error",
        ]
        if os.geteuid() == 0:
            lines.insert(0, "user root")
        conf.write_text("\n".join(lines) + "\n")
        proc = subprocess.Popen(
            [program("mosquitto"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("mosquitto did not start") from None
                    time.sleep(0.05)
            yield port
        finally:
            proc.kill()
            proc.wait()


def mosquitto_config(
    port: int, store: Path, client_id: str, *, device_template: str | None = None
) -> Any:
    """The fleettop configuration of a benchmark on :func:`mosquitto`: one broker
    ``bench`` at 127.0.0.1:``port`` (MQTT 3.1.1, ``client_id``) subscribed to
    ``bench/#`` at QoS 0, with ``device_template`` as its ``device_rules`` template
    when given, and the store file ``store``.

    Raises:
        console.config.ConfigError: not a valid configuration (a bad argument).
    """
    rules = ""
    if device_template is not None:
        rules = f'\n    device_rules: [{{template: "{device_template}"}}]'
    return parse_config(
        f"""
brokers:
  - name: bench
    host: 127.0.0.1
    port: {port}
    client_id: {client_id}
    protocol: "3.1.1"
    subscriptions: [{{topic: "bench/#", qos: 0}}]{rules}
store: {{path: "{store}"}}
""",
        environ={},
    )


async def start_flood(
    port: int, count: int, topics: int, rate: float = 0.0, payload: int = 100
) -> asyncio.subprocess.Process:
    """Start :mod:`bench.flood` in a process of its own: ``count`` messages of
    ``payload`` bytes over ``topics`` topics to 127.0.0.1:``port``, paced to ``rate``
    msg/s (0: unpaced); :func:`end_flood` waits for it."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.flood",
        str(port),
        str(count),
        str(topics),
        str(rate),
        str(payload),
        cwd=_ROOT,
        stderr=asyncio.subprocess.PIPE,
    )


async def end_flood(proc: asyncio.subprocess.Process, limit: float | None = 120.0) -> str:
    """Wait for a flood of :func:`start_flood` to exit (killed after ``limit`` s;
    ``None``: no limit); its report line (``sent N in S s``).

    Raises:
        RuntimeError: the flood failed (its exit status and error output).
    """
    try:
        async with asyncio.timeout(limit):
            _, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        _, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"bench.flood failed ({proc.returncode}): {err.decode().strip()}")
    return err.decode().strip()
