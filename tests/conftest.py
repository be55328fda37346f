"""Shared test fixtures.

Peer programs (Debian ``snmpd``, ``snmpget``, ``mosquitto``) are found with
:func:`require_program`: a missing one skips the test locally with the reason, and
fails it when ``CI=true`` (CI installs them; a green CI must not hide a skipped peer).
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator

import pytest

from console.events import EventManager

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
async def bus() -> AsyncIterator[EventManager]:
    """A fresh event manager in the test's loop, closed afterwards."""
    async with EventManager() as manager:
        yield manager


@pytest.fixture(autouse=True)
def _private_data_and_cache_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test (and the fleettop subprocesses it starts) out of the user's
    data and cache directories: each test gets its own store and MIB cache."""
    monkeypatch.setenv("FLEETTOP_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("FLEETTOP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def require_program(name: str) -> str:
    """Return the path of program ``name``; skip (locally) or fail (CI) when missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )
    if path is None:
        message = f"peer program {name!r} is not installed (apt-get install it, or run make peers)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_udp_port() -> int:
    """Return a UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
