"""Peers the benchmarks measure against: Debian's snmpd on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["NET_SNMP_ENV", "free_udp_port", "program", "snmpd"]

#: Environment for Net-SNMP programs: Debian ships no MIB files, so load none.
NET_SNMP_ENV = {**os.environ, "MIBS": ""}

_READ_ONLY_CONF = """\
rocommunity public 127.0.0.1
dontLogTCPWrappersConnects yes
"""


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
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
        raise RuntimeError(f"{name} is not installed (apt-get install snmpd snmp)")
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
