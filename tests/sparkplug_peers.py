"""A Sparkplug B edge node for tests: pysparkplug (the PyPI library) in a virtual
environment of its own, since it pins paho-mqtt < 2 and fleettop uses paho 2.

:func:`pysparkplug_python` makes the environment once (``uv venv`` + ``uv pip
install``, else ``python -m venv`` + pip) under the project's environment
(``sys.prefix/peers/pysparkplug-VERSION``), shared by every test and xdist worker
(a file lock; a marker file says it is complete). :class:`EdgeNode` runs
``tests/data/sparkplug_edge.py`` in it and sends it commands line by line::

    async with EdgeNode(broker.port, "plant1", "edge7") as edge:
        await edge.send("connect")            # NBIRTH
        await edge.send("register pump3")     # DBIRTH
        await edge.send("ddata pump3 temperature 21.5")

A missing network (the install fails) skips the test locally and fails it in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from tests.conftest import IN_CI, require_peer_marker

__all__ = ["PYSPARKPLUG", "EdgeNode", "peer_python", "pysparkplug_python"]

#: The pysparkplug release the tests run.
PYSPARKPLUG: Final = "pysparkplug==0.6.1"
SCRIPT: Final = Path(__file__).parent / "data" / "sparkplug_edge.py"


def _install(target: Path, requirement: str) -> None:
    uv = shutil.which("uv") or str(Path(sys.prefix) / "bin" / "uv")
    if os.path.exists(uv):
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(target)], check=True)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(target / "bin" / "python"),
             requirement],
            check=True,
        )  # fmt: skip
        return
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    subprocess.run(
        [str(target / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         requirement],
        check=True,
    )  # fmt: skip


def peer_python(requirement: str) -> Path:
    """The Python of an environment with ``requirement`` installed (made on first use,
    under ``sys.prefix/peers``, shared by every test and xdist worker).

    Raises:
        pytest.skip.Exception: it cannot be installed here (locally).
        pytest.fail.Exception: it cannot be installed (CI).
    """
    require_peer_marker(requirement.split("=")[0])
    root = Path(sys.prefix) / "peers"
    root.mkdir(parents=True, exist_ok=True)
    home = root / requirement.replace("==", "-").replace("*", "x")
    python = home / "bin" / "python"
    done = home / ".installed"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return python
        shutil.rmtree(home, ignore_errors=True)  # a half-made one
        try:
            _install(home, requirement)
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(home, ignore_errors=True)
            message = f"cannot install {requirement} in a test environment: {exc}"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        done.touch()
    return python


def pysparkplug_python() -> Path:
    """The Python of an environment with pysparkplug (:func:`peer_python`)."""
    return peer_python(PYSPARKPLUG)


class EdgeNode:
    """``tests/data/sparkplug_edge.py`` in pysparkplug's environment, as an async
    context manager; :meth:`send` runs one command and waits for its ``ok``."""

    def __init__(self, port: int, group: str, edge: str) -> None:
        self.args = [str(SCRIPT), "127.0.0.1", str(port), group, edge]
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> EdgeNode:
        python = await asyncio.to_thread(pysparkplug_python)
        self._proc = await asyncio.create_subprocess_exec(
            str(python),
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return self

    async def send(self, command: str) -> None:
        """Run ``command`` (see the script's docstring) and wait until it is done.

        Raises:
            AssertionError: the edge node answered with an error, or exited.
        """
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(command.encode() + b"\n")
        await proc.stdin.drain()
        answer = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert answer == "ok", f"edge node: {command!r} -> {answer or 'exited'}"

    async def commands(self) -> list[Any]:
        """The NCMD/DCMD the edge node received so far, as pysparkplug decoded them:
        ``[[topic, [[name, datatype, value], ...]], ...]``."""
        proc = self._proc
        assert proc is not None
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(b"commands\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        answer = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert answer.strip() == b"ok", answer
        found: list[Any] = json.loads(line)
        return found

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
