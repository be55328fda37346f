"""The terminal fleettop's UI runs in: notice when it hangs up (:func:`watch_terminal`).

No Textual here: the app (``console/app.py``) starts the watch in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable

__all__ = ["HANGUP_CLOSE_S", "TERMINAL_CHECK_S", "watch_terminal"]

mlog = logging.getLogger(__name__)

#: Seconds between two checks that the terminal is still there (it may hang up).
TERMINAL_CHECK_S = 1.0
#: Seconds the runtime has to close after the terminal hung up, before the process
#: ends without waiting longer.
HANGUP_CLOSE_S = 10.0


def watch_terminal(
    fd: int,
    loop: asyncio.AbstractEventLoop,
    ended: threading.Event,
    hang_up: Callable[[], None],
) -> None:
    """(A thread: fleettop's app starts it in a real terminal.) Call ``hang_up`` on
    ``loop`` (it closes the runtime) and end the process once the terminal ``fd`` has
    hung up; return when ``ended`` is set first (the app ended).

    A closed terminal window sends SIGHUP only to its foreground processes; a
    parent such as ``make demo`` keeps it from fleettop, and Textual's input thread
    then spins on the dead terminal. ``tcgetpgrp`` fails with EIO once the
    terminal is gone (POSIX.1 ``tcgetpgrp``; the Linux tty layer's hang-up),
    checked every :data:`TERMINAL_CHECK_S` seconds. Textual's own exit would
    restore the terminal's modes by writing to it, which can block for good on a
    hung-up terminal, so the runtime is closed in the loop (every socket and task,
    the store committed) and the process ends without it. The check runs in this
    thread, not in the loop, so a loop that is itself stuck (Textual's output
    queue full once its thread died on the dead terminal) still ends: after
    :data:`HANGUP_CLOSE_S` seconds the process exits whatever the close has done
    (the store then loses at most its last batch window, ``docs/store.md``)."""
    while not ended.wait(TERMINAL_CHECK_S):
        try:
            os.tcgetpgrp(fd)
        except OSError as exc:
            mlog.warning("the terminal went away (%s): closing and quitting", exc.strerror)
            break
    else:
        return  # the app ended first
    # what is still written to the terminal goes nowhere instead of failing:
    # Textual's output thread ends on its first failed write, and the loop then
    # blocks for good once that thread's queue is full
    with contextlib.suppress(OSError):
        nowhere = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(nowhere, target)
    with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to close
        loop.call_soon_threadsafe(hang_up)
    ended.wait(HANGUP_CLOSE_S)
    mlog.error("the close after the hang-up took over %s s: exiting now", HANGUP_CLOSE_S)
    logging.shutdown()
    os._exit(1)
