"""Long-lived objects: the tasks they own, and closing them once, completely.

Every long-lived object of fleettop (a device, a receiver, a broker connection, the
runtime) owns tasks and sockets and must release them exactly once, even when
``aclose()`` is called concurrently or its caller is cancelled half-way: the habit of
hat-gateway's resources (``hat.aio.Group``: tasks are spawned in the resource's group,
closing is idempotent and uncancellable, and closing cancels what it spawned).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ClosesOnce"]

_T = TypeVar("_T")

mlog = logging.getLogger(__name__)


class ClosesOnce:
    """Mixin: :meth:`aclose` runs the subclass's :meth:`_close` exactly once, then
    cancels and awaits every task the object :meth:`spawn`-ed.

    Later and concurrent calls wait for that one run; cancelling a caller does not
    cancel the close (it is shielded). Subclasses implement ``_close`` and may test
    :attr:`closing` to refuse new work. A subclass whose ``_close`` must stop its
    tasks *before* releasing something they use (a socket, a database) calls
    :meth:`cancel_tasks` first.
    """

    _closing: asyncio.Future[None] | None = None
    _tasks: set[asyncio.Task[Any]] | None = None

    @property
    def closing(self) -> bool:
        """True once :meth:`aclose` has been called (closing or closed)."""
        return self._closing is not None

    def spawn(self, coro: Coroutine[Any, Any, _T], *, name: str | None = None) -> asyncio.Task[_T]:
        """Run ``coro`` as a task owned by this object (hat-gateway's ``Group.spawn``).

        The task is cancelled and awaited when the object closes. An exception other
        than cancellation that ends it is logged (it is never lost silently); the
        caller may still await the returned task for its result.

        Raises:
            RuntimeError: the object is closing or closed (``coro`` is closed, not run),
                or no event loop is running.
        """
        if self._closing is not None:
            coro.close()
            raise RuntimeError(f"{type(self).__name__} is closing: no new tasks")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if self._tasks is not None:
            self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            mlog.error(
                "%s: task %s failed: %s",
                type(self).__name__,
                task.get_name(),
                exc,
                exc_info=exc,
            )

    async def cancel_tasks(self) -> None:
        """Cancel every task this object spawned and wait until all have ended
        (their exceptions are logged by :meth:`spawn`, not raised here)."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Close: run :meth:`_close` once, then cancel what is left of the tasks
        this object spawned; idempotent, safe to call concurrently, cannot be
        cancelled half-way."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_all())
        await asyncio.shield(self._closing)

    async def _close_all(self) -> None:
        try:
            await self._close()
        finally:
            await self.cancel_tasks()

    async def _close(self) -> None:
        """Release everything the object owns (called once by :meth:`aclose`)."""
        raise NotImplementedError
