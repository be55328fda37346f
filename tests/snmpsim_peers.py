"""Recordings of real devices, served by snmpsim: the ``snmpsim-data`` package's
``.snmprec`` files (switches, routers, UPSes, hosts, storage...) answered on a free
loopback port by ``snmpsim-command-responder`` (SNMP v1/v2c, one community per
recording).

::

    from tests.snmpsim_peers import Snmpsim

    with Snmpsim({"c3560": "network/switch/cisco-c3560"}) as agent:
        agent.port                       # UDP port on 127.0.0.1
        # community "c3560" answers what the Cisco C3560 answered when recorded

Each recording (``.snmprec`` or ``.snmprec.bz2`` under :data:`RECORDINGS`) is
written, decompressed, into a private data directory as ``<community>.snmprec``;
snmpsim indexes it at start (a few seconds for ~35k var-binds). Run as root,
snmpsim drops to ``nobody`` (it refuses to serve as root), so that directory is made
in the system temporary directory, readable by all, and removed by :meth:`stop`.
The responder runs through ``tests/snmpsim_launch.py`` (see its docstring).

snmpsim and snmpsim-data come with the project's ``dev`` extra (snmpsim-data is
installed without its dependencies by the Makefile: it pins pysmi < 2 for a tool
fleettop does not use). A test that starts it is marked ``@pytest.mark.peer("snmpsim")``;
missing packages skip it locally and fail it in CI (:func:`require_snmpsim`).

Reference: snmpsim's documentation (``snmpsim-command-responder``, the
``.snmprec`` format: ``OID|TAG|VALUE`` lines, tags as ASN.1 types, ``x`` suffix for
hex).
"""

from __future__ import annotations

import bz2
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, free_udp_port, require_peer_marker
from tests.snmp_peers import probe_message

__all__ = ["RECORDINGS", "Snmpsim", "recording_file", "recording_lines", "require_snmpsim"]

_LAUNCH = Path(__file__).with_name("snmpsim_launch.py")


def _recordings_dir() -> Path | None:
    spec = importlib.util.find_spec("snmpsim_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


#: The ``snmpsim-data`` package's recordings (``None``: the package is missing).
RECORDINGS: Path | None = _recordings_dir()


def require_snmpsim() -> Path:
    """The recordings directory; skip (locally) or fail (CI) when snmpsim or
    snmpsim-data is missing, or fail a test not marked ``peer`` (as
    :func:`tests.conftest.require_program`)."""
    require_peer_marker("snmpsim")
    if RECORDINGS is None or importlib.util.find_spec("snmpsim") is None:
        message = "snmpsim / snmpsim-data are not installed (make test installs them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return RECORDINGS


def recording_file(name: str) -> Path:
    """The recording ``name`` (``network/switch/cisco-c3560``, no suffix), or a
    ``.snmprec`` file of the tests given by its absolute path
    (``tests/data/recordings/hints.snmprec``).

    Raises:
        FileNotFoundError: no such recording.
    """
    root = require_snmpsim()
    if Path(name).is_absolute() and Path(name).is_file():
        return Path(name)
    for suffix in (".snmprec", ".snmprec.bz2"):
        path = root / f"{name}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no recording {name!r} under {root}")


def recording_lines(name: str) -> list[str]:
    """The ``OID|TAG|VALUE`` lines of recording ``name`` (decompressed)."""
    path = recording_file(name)
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as text:
        return text.read().splitlines()


def varying_oids(name: str) -> frozenset[str]:
    """OIDs recording ``name`` serves through snmpsim's ``numeric`` variation module
    (values that change with time by design)."""
    return frozenset(
        line.split("|", 1)[0]
        for line in recording_lines(name)
        if "|" in line and line.split("|")[1].endswith(":numeric")
    )


async def fleettop_walk(
    agent: Snmpsim, community: str, repetitions: int = 25
) -> list[tuple[str, dict[str, Any]]]:
    """Walk the whole agent (``.``) as fleettop's :class:`~console.snmp.SnmpDevice`
    does, over SNMPv2c with ``community`` (one recording of ``agent``): each
    var-bind's OID and data."""
    from console.config import SnmpDeviceConfig
    from console.events import EventManager
    from console.secrets import Secret
    from console.snmp import SnmpDevice
    from tests.waiting import EventRecorder

    config = SnmpDeviceConfig(
        remote_host=agent.host,
        remote_port=agent.port,
        community=Secret(community),
        version="V2C",
        polling_oids=(),
        polling_delay=3600.0,
        request_timeout=5.0,
        request_retry_count=2,
    )
    async with EventManager() as bus, SnmpDevice(community, config, bus) as device:
        await EventRecorder(bus).wait_for(lambda: device.status == "CONNECTED", within=60)
        async with contextlib.aclosing(device.walk(".", max_repetitions=repetitions)) as walk:
            return [(oid, dict(data)) async for oid, data in walk]


class Snmpsim:
    """snmpsim serving ``recordings`` (community -> recording name) on
    ``127.0.0.1:port``, as a context manager.

    Args:
        recordings: community -> recording name (``network/switch/cisco-c3560``).
        port: UDP port (default: a free one).
        ready_timeout: seconds :meth:`start` waits for the first answer (indexing a
            large recording takes several).

    Raises:
        pytest's skip/fail: snmpsim is not installed (:func:`require_snmpsim`).
        RuntimeError: the responder exited or did not answer in time (with its log).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        recordings: Mapping[str, str],
        *,
        port: int | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        if not recordings:
            raise ValueError("Snmpsim needs at least one recording")
        require_snmpsim()
        self.recordings = dict(recordings)
        self.port = port if port is not None else free_udp_port()
        self.ready_timeout = ready_timeout
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the agent."""
        return self.host, self.port

    @property
    def running(self) -> bool:
        """True while the responder is alive."""
        return self.process is not None and self.process.poll() is None

    def _prepare(self) -> Path:
        workdir = Path(tempfile.mkdtemp(prefix="fleettop-snmpsim-"))
        data = workdir / "data"
        cache = workdir / "cache"
        data.mkdir()
        cache.mkdir()
        for community, name in self.recordings.items():
            path = recording_file(name)
            target = data / f"{community}.snmprec"
            if path.suffix == ".bz2":
                with bz2.open(path) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
            else:
                shutil.copyfile(path, target)
            target.chmod(0o644)
        workdir.chmod(0o755)
        data.chmod(0o755)
        cache.chmod(0o777)  # the index is written by the unprivileged user
        return workdir

    def start(self) -> Snmpsim:
        """Write the recordings, start the responder and wait until it answers."""
        if self.running:
            return self
        self.workdir = workdir = self._prepare()
        args = [
            sys.executable,
            str(_LAUNCH),
            f"--data-dir={workdir / 'data'}",
            f"--cache-dir={workdir / 'cache'}",
            f"--agent-udpv4-endpoint={self.host}:{self.port}",
        ]
        if os.getuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        with (workdir / "snmpsim.log").open("ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_ready(next(iter(self.recordings)))
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, community: str) -> None:
        deadline = time.monotonic() + self.ready_timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            request_id = 1
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"snmpsim exited at start:\n{self.log()}")
                with contextlib.suppress(OSError):
                    sock.sendto(probe_message(community, request_id), self.address)
                    if sock.recvfrom(65535):
                        return
                request_id += 1
        raise RuntimeError(f"snmpsim did not answer within {self.ready_timeout} s:\n{self.log()}")

    def log(self) -> str:
        """The responder's output so far (its last 4 KB)."""
        if self.workdir is None:
            return ""
        try:
            return (self.workdir / "snmpsim.log").read_text(errors="replace")[-4096:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the responder (SIGTERM, then SIGKILL after 5 s) and remove its
        directory; idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> Snmpsim:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
