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

Times run from just before ``tmux new-session`` (its cost is in both sides). With
each connected time comes the CPU time fleettop's process had used by then (user +
system, all threads, from ``/proc/PID/stat``; 10 ms ticks): on a machine shared with
other work the wall times grow with the load, while this CPU time stays close to what
a quiet machine's wall time to CONNECTED would be (the start is CPU-bound, one
process), so runs made under different loads can be compared by it. Rounds
alternate bare and fleettop (:data:`ROUNDS` each) so a noisy neighbour hits both
alike; the medians count. Targets (issue 11 §6): first frame at most
:data:`RATIO_BOUND` x the bare app's, devices connected within
:data:`CONNECTED_BOUND_S` s.

Against older code: ``python -m bench.bench_startup --baseline DIR`` (or
``FLEETTOP_BENCH_BASELINE=DIR``), where ``DIR`` is a checkout of the code to compare
with (``git worktree add DIR COMMIT``): each round then also runs ``fleettop demo``
from ``DIR``, and the summary adds its times and the ratios of this code's to its,
measured in the same run (so under the same load).

Usage: ``python -m bench.bench_startup`` (or ``python -m bench startup``); about
20 s. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import argparse
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
#: The project's packages, compiled to bytecode before the runs (:func:`_compile`).
PACKAGES = ("console", "widgets", "screens", "themes")

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

    def start(self, name: str, command: str, env: dict[str, str], cwd: Path = ROOT) -> None:
        """Start ``command`` in a new detached session ``name``, in ``cwd``."""
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
                str(cwd),
                f"env {exports} {command}",
            ],
            check=True,
        )

    def screen(self, name: str) -> str:
        """What the session's pane shows now."""
        return self._tmux("capture-pane", "-p", "-t", name).stdout

    def pid(self, name: str) -> int | None:
        """The process id of the session's command (``None`` once it has ended)."""
        text = self._tmux("display-message", "-p", "-t", name, "#{pane_pid}").stdout.strip()
        return int(text) if text.isdigit() else None

    def stop(self, name: str) -> None:
        """End the session (its process gets SIGHUP)."""
        self._tmux("kill-session", "-t", name)

    def close(self) -> None:
        """End the private server."""
        self._tmux("kill-server")


def _cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds process ``pid`` has used (all its threads), from
    ``/proc/PID/stat`` (fields 14 and 15, proc(5)); ``None`` if unknown."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    cwd: Path = ROOT,
) -> tuple[float, float | None, float | None]:
    """Seconds to the first frame (``marker`` on screen) and, with ``devices``, to
    every device ``CONNECTED``, and the CPU seconds the app had used by then
    (``None`` without ``devices``, or when its process could not be read)."""
    started = time.perf_counter()
    terminal.start(name, command, env, cwd)
    pid = terminal.pid(name)
    first: float | None = None
    try:
        while time.perf_counter() - started < RUN_LIMIT_S:
            screen = terminal.screen(name)
            now = time.perf_counter() - started
            if first is None and marker in screen:
                first = now
                if not devices:
                    return first, None, None
            if first is not None and _connected(screen, devices):
                return first, now, _cpu_seconds(pid)
            time.sleep(POLL_S)
    finally:
        terminal.stop(name)
    raise RuntimeError(f"{name}: nothing after {RUN_LIMIT_S} s (first frame {first})")


def _rounded(values: list[float]) -> list[float]:
    return [round(value, 3) for value in values]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _compile(root: Path) -> None:
    """Write the bytecode of the code under ``root``, as ``make demo`` does before it
    starts the console: where ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox sets
    it), every start would otherwise compile fleettop's modules from source again
    (~0.3 s of the start measured here), which no installed copy does."""
    packages = [str(root / name) for name in PACKAGES if (root / name).is_dir()]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _measure(baseline: Path | None = None) -> dict[str, Any]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is needed to run the apps in a real terminal")
    devices = _demo_devices()
    python = sys.executable
    roots = {"fleettop": ROOT} | ({"baseline": baseline} if baseline is not None else {})
    for root in roots.values():
        _compile(root)
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-start-") as tmp:
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE_APP, encoding="utf-8")
        env = {
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "HOME": tmp,  # the demo writes nothing to the operator's home
        }
        bare_cmd = f"{python} {bare_file}"
        terminal = _Terminal()
        bare: list[float] = []
        first: dict[str, list[float]] = {name: [] for name in roots}
        connected: dict[str, list[float]] = {name: [] for name in roots}
        cpu: dict[str, list[float]] = {name: [] for name in roots}
        try:
            for round_ in range(ROUNDS):
                bare.append(_run(terminal, f"bare{round_}", bare_cmd, env, BARE_TITLE)[0])
                for name, root in roots.items():
                    log = Path(tmp) / f"{name}.log"
                    command = f"{python} -m console.cli demo --log-file {log}"
                    frame, up, used = _run(
                        terminal,
                        f"{name}{round_}",
                        command,
                        env | {"PYTHONPATH": str(root)},
                        "fleettop",
                        devices,
                        cwd=root,
                    )
                    first[name].append(frame)
                    assert up is not None
                    connected[name].append(up)
                    if used is not None:
                        cpu[name].append(used)
        finally:
            terminal.close()
    ratio = statistics.median(first["fleettop"]) / statistics.median(bare)
    connected_s = statistics.median(connected["fleettop"])
    results: dict[str, Any] = {
        "rounds": ROUNDS,
        "terminal": f"tmux {COLUMNS}x{ROWS}",
        "demo_devices": list(devices),
        "bare_first_frame_s": _rounded(bare),
        "fleettop_first_frame_s": _rounded(first["fleettop"]),
        "fleettop_connected_s": _rounded(connected["fleettop"]),
        "first_frame_ratio": round(ratio, 2),
        "first_frame_ratio_bound": RATIO_BOUND,
        "first_frame_met": ratio <= RATIO_BOUND,
        "connected_median_s": round(connected_s, 3),
        "connected_bound_s": CONNECTED_BOUND_S,
        "connected_met": connected_s <= CONNECTED_BOUND_S,
        "fleettop_connected_cpu_s": _rounded(cpu["fleettop"]),
        "connected_cpu_median_s": _median(cpu["fleettop"]),
        "verdict": (
            f"first frame {ratio:.2f}x the bare app's (bound {RATIO_BOUND:g}x):"
            f" {'met' if ratio <= RATIO_BOUND else 'NOT met'}; every demo device"
            f" CONNECTED after {connected_s:.2f} s (bound {CONNECTED_BOUND_S:g} s):"
            f" {'met' if connected_s <= CONNECTED_BOUND_S else 'NOT met'}"
            f" (CPU used by then {_median(cpu['fleettop'])} s)"
        ),
    }
    if baseline is not None:
        old_first = statistics.median(first["baseline"])
        old_connected = statistics.median(connected["baseline"])
        results |= {
            "baseline": str(baseline),
            "baseline_first_frame_s": _rounded(first["baseline"]),
            "baseline_connected_s": _rounded(connected["baseline"]),
            "baseline_first_frame_ratio": round(old_first / statistics.median(bare), 2),
            "baseline_connected_median_s": round(old_connected, 3),
            "connected_vs_baseline": round(connected_s / old_connected, 2),
            "baseline_connected_cpu_s": _rounded(cpu["baseline"]),
            "baseline_connected_cpu_median_s": _median(cpu["baseline"]),
        }
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Args:
        argv: ``["--baseline", DIR]`` to compare with the code checked out in
            ``DIR`` (default: ``$FLEETTOP_BENCH_BASELINE``, else no comparison);
            ``None`` reads nothing from the command line.

    Returns:
        ``{"rounds", "terminal", "demo_devices", "bare_first_frame_s",
        "fleettop_first_frame_s", "fleettop_connected_s", "first_frame_ratio",
        "first_frame_ratio_bound", "first_frame_met", "connected_median_s",
        "connected_bound_s", "connected_met"}`` (seconds from the start of the
        terminal session), ``"fleettop_connected_cpu_s", "connected_cpu_median_s"``
        (CPU seconds the app had used when every device showed CONNECTED; see the
        module docstring) and ``"verdict"`` (both bounds in one sentence); with a
        baseline also ``"baseline", "baseline_first_frame_s",
        "baseline_connected_s", "baseline_first_frame_ratio",
        "baseline_connected_median_s", "connected_vs_baseline"`` (this code's
        median over the baseline's), ``"baseline_connected_cpu_s",
        "baseline_connected_cpu_median_s"``.

    Raises:
        RuntimeError: tmux is missing, or an app showed nothing in time.
    """
    parser = argparse.ArgumentParser(prog="bench_startup")
    parser.add_argument("--baseline", type=Path, default=os.environ.get("FLEETTOP_BENCH_BASELINE"))
    args = parser.parse_args([] if argv is None else argv)
    baseline = args.baseline.resolve() if args.baseline else None
    results = _measure(baseline)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
