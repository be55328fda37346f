"""Headless mode: every bus event as one JSON line on stdout, no terminal UI.

``fleettop run CONFIG --headless`` and ``fleettop demo --headless`` use it for
scripting and for checking fleettop on a machine without a terminal. Each line is
``{"seq": .., "type": [..], "timestamp": .., "source_timestamp": .., "payload": ..}``
(:meth:`console.events.Event.to_json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from console.events import Event, Pattern, Policy, matches
from console.runtime import Runtime

__all__ = ["parse_filter", "run_headless"]


def parse_filter(text: str) -> Pattern:
    """Parse a command-line event filter into a pattern.

    Segments are separated by ``/`` (OIDs contain dots): ``snmp/?/read/*`` matches
    every SNMP read event; ``snmp/core-sw1/*`` everything of one device.

    Raises:
        ValueError: an empty filter, an empty segment, or ``*`` before the end.
    """
    segments = tuple(text.strip().split("/"))
    if not text.strip() or any(not s for s in segments):
        raise ValueError(f"invalid filter {text!r}: segments are separated by '/', none empty")
    if "*" in segments[:-1]:
        raise ValueError(f"invalid filter {text!r}: '*' may only be the last segment")
    return segments


async def run_headless(
    runtime: Runtime,
    *,
    patterns: Sequence[Pattern] = (("*",),),
    seconds: float | None = None,
    out: TextIO | None = None,
) -> int:
    """Start ``runtime`` and print matching events as JSON lines until stopped.

    Args:
        runtime: a runtime not yet started.
        patterns: event patterns to print (any match prints the event once).
        seconds: stop after this many seconds; ``None`` runs until SIGINT/SIGTERM
            or until the reader of ``out`` goes away (broken pipe).
        out: where to write (default ``sys.stdout``); flushed after every batch.

    Returns:
        The process exit code (0).
    """
    stream = out if out is not None else sys.stdout
    stop = asyncio.Event()
    wanted = tuple(patterns)

    def write(batch: list[Event]) -> None:
        lines = [
            json.dumps(event.to_json(), separators=(",", ":"), default=str)
            for event in batch
            if any(matches(pattern, event.type) for pattern in wanted)
        ]
        if not lines or stop.is_set():
            return
        try:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        except BrokenPipeError:
            # the reader went away (``| head``): stop quietly, as Unix tools do, and
            # point stdout at /dev/null so the interpreter's final flush is silent
            # (the recipe of Python's signal module documentation)
            stop.set()
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    # Subscribe before the backends start so nothing is missed: start the bus first.
    try:
        await runtime.start_bus()
        subscription = runtime.bus.subscribe(
            ("*",),
            write,
            policy=Policy.BLOCK,
            batch_size=1000,
            batch_duration=0.05,
            name="headless",
        )
        await runtime.start()
        if seconds is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
        await subscription.drain()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await runtime.aclose()
    return 0
