"""Start-up: time to the first frame of ``fleettop demo`` against a bare Textual app,
and time until every demo SNMP device shows ``CONNECTED``, in the same run.

Both apps run as real processes in a real terminal: each in its own tmux session
(a private tmux server, :data:`COLUMNS` x :data:`ROWS`), started by the same Python.
The screen is read with ``tmux capture-pane`` every :data:`POLL_S` seconds:

* **bare** (the baseline): a Textual app of a Header, a DataTable and a Footer,
  nothing else; its first frame is the first capture showing its title;
* **fleettop**: ``python -m console.cli demo``; its first frame is the first capture
  showing ``fleettop`` (the "Starting fleettop…" placeholder, or the Devices screen
  when it comes first); then **connected** is the first capture where every demo SNMP
  device's row says ``CONNECTED``.

Times run from just before ``tmux new-session`` (its cost is in both sides). Rounds
alternate bare and fleettop (:data:`ROUNDS` each) so a noisy neighbour hits both
alike; the medians count. Targets (issue 11 §6): first frame at most
:data:`RATIO_BOUND` x the bare app's, devices connected within
:data:`CONNECTED_BOUND_S` s.

Usage: ``python -m bench.bench_startup`` (or ``python -m bench startup``); about
20 s. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["CONNECTED_BOUND_S", "RATIO_BOUND", "main"]

#: Runs of each app (alternated).
ROUNDS = 3
#: The terminal's size.
COLUMNS, ROWS = 140, 40
#: Seconds between two reads of the screen.
POLL_S = 0.01
#: Give up on one run after this many seconds.
RUN_LIMIT_S = 30.0
#: Target: fleettop's first frame / the bare app's.
RATIO_BOUND = 2.0
#: Target: every demo SNMP device CONNECTED, seconds from start.
CONNECTED_BOUND_S = 1.5

ROOT = Path(__file__).resolve().parents[1]
BARE_TITLE = "bare-textual-baseline"
BARE_APP = f'''
from textual.app import App
from textual.widgets import DataTable, Footer, Header


class Bare(App[None]):
    TITLE = "{BARE_TITLE}"

    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("DEVICE", "STATUS")
        table.add_row("core-sw1", "CONNECTED")


Bare().run()
'''
_CONNECTED = re.compile(r"\bCONNECTED\b")


def _demo_devices() -> tuple[str, ...]:
    from console.demo.models import demo_models

    return tuple(model.name for model in demo_models(random.Random(0)))


class _Terminal:
    """A private tmux server for the benchmark's sessions."""

    def __init__(self) -> None:
        self.socket = f"fleettop-bench-{os.getpid()}"
        # a session that lives as long as the benchmark: the server does not exit
        # (and race the next session's start) whenever a run's session ends
        self.start("keep", "sleep 3600", {})

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )

    def start(self, name: str, command: str, env: dict[str, str]) -> None:
        """Start ``command`` in a new detached session ``name``."""
        exports = " ".join(f"{key}={value!r}" for key, value in env.items())
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(COLUMNS),
                "-y",
                str(ROWS),
                "-c",
                str(ROOT),
                f"env {exports} {command}",
            ],
            check=True,
        )

    def screen(self, name: str) -> str:
        """What the session's pane shows now."""
        return self._tmux("capture-pane", "-p", "-t", name).stdout

    def stop(self, name: str) -> None:
        """End the session (its process gets SIGHUP)."""
        self._tmux("kill-session", "-t", name)

    def close(self) -> None:
        """End the private server."""
        self._tmux("kill-server")


def _connected(screen: str, devices: tuple[str, ...]) -> bool:
    lines = screen.splitlines()
    return all(
        any(device in line and _CONNECTED.search(line) for line in lines) for device in devices
    )


def _run(
    terminal: _Terminal,
    name: str,
    command: str,
    env: dict[str, str],
    marker: str,
    devices: tuple[str, ...] = (),
) -> tuple[float, float | None]:
    """Seconds to the first frame (``marker`` on screen) and, with ``devices``, to
    every device ``CONNECTED``."""
    started = time.perf_counter()
    terminal.start(name, command, env)
    first: float | None = None
    try:
        while time.perf_counter() - started < RUN_LIMIT_S:
            screen = terminal.screen(name)
            now = time.perf_counter() - started
            if first is None and marker in screen:
                first = now
                if not devices:
                    return first, None
            if first is not None and _connected(screen, devices):
                return first, now
            time.sleep(POLL_S)
    finally:
        terminal.stop(name)
    raise RuntimeError(f"{name}: nothing after {RUN_LIMIT_S} s (first frame {first})")


def _measure() -> dict[str, Any]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is needed to run the apps in a real terminal")
    devices = _demo_devices()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-start-") as tmp:
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE_APP, encoding="utf-8")
        log = Path(tmp) / "fleettop.log"
        env = {
            "PYTHONPATH": str(ROOT),
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "HOME": tmp,  # the demo writes nothing to the operator's home
        }
        bare_cmd = f"{python} {bare_file}"
        fleettop_cmd = f"{python} -m console.cli demo --log-file {log}"
        terminal = _Terminal()
        bare, first, connected = [], [], []
        try:
            for round_ in range(ROUNDS):
                bare.append(_run(terminal, f"bare{round_}", bare_cmd, env, BARE_TITLE)[0])
                frame, up = _run(
                    terminal, f"fleettop{round_}", fleettop_cmd, env, "fleettop", devices
                )
                first.append(frame)
                assert up is not None
                connected.append(up)
        finally:
            terminal.close()
    ratio = statistics.median(first) / statistics.median(bare)
    connected_s = statistics.median(connected)
    return {
        "rounds": ROUNDS,
        "terminal": f"tmux {COLUMNS}x{ROWS}",
        "demo_devices": list(devices),
        "bare_first_frame_s": [round(s, 3) for s in bare],
        "fleettop_first_frame_s": [round(s, 3) for s in first],
        "fleettop_connected_s": [round(s, 3) for s in connected],
        "first_frame_ratio": round(ratio, 2),
        "first_frame_ratio_bound": RATIO_BOUND,
        "first_frame_met": ratio <= RATIO_BOUND,
        "connected_median_s": round(connected_s, 3),
        "connected_bound_s": CONNECTED_BOUND_S,
        "connected_met": connected_s <= CONNECTED_BOUND_S,
    }


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"rounds", "terminal", "demo_devices", "bare_first_frame_s",
        "fleettop_first_frame_s", "fleettop_connected_s", "first_frame_ratio",
        "first_frame_ratio_bound", "first_frame_met", "connected_median_s",
        "connected_bound_s", "connected_met"}`` (seconds from the start of the
        terminal session).

    Raises:
        RuntimeError: tmux is missing, or an app showed nothing in time.
    """
    results = _measure()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
