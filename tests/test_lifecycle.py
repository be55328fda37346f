"""ClosesOnce: every long-lived object closes exactly once, even under cancellation."""

from __future__ import annotations

import asyncio
import types

import pytest

from console.lifecycle import ClosesOnce


class Resource(ClosesOnce):
    def __init__(self) -> None:
        self.closes = 0
        self.release = asyncio.Event()
        self.released = False

    async def _close(self) -> None:
        self.closes += 1
        await self.release.wait()
        self.released = True


async def test_concurrent_callers_share_one_close() -> None:
    resource = Resource()
    assert not resource.closing
    callers = [asyncio.create_task(resource.aclose()) for _ in range(3)]
    await asyncio.sleep(0)
    assert resource.closing
    resource.release.set()
    await asyncio.gather(*callers)
    await resource.aclose()  # later calls return at once
    assert resource.closes == 1
    assert resource.released


async def test_a_cancelled_caller_does_not_cancel_the_close() -> None:
    resource = Resource()
    caller = asyncio.create_task(resource.aclose())
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    resource.release.set()
    await resource.aclose()  # the one close ran to the end regardless
    assert resource.released
    assert resource.closes == 1


async def test_spawned_tasks_end_with_the_object() -> None:
    resource = Resource()
    started = asyncio.Event()
    ended: list[str] = []

    async def loop() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("loop")

    task = resource.spawn(loop(), name="loop")
    await started.wait()
    resource.release.set()
    await resource.aclose()
    assert task.cancelled()
    assert ended == ["loop"]


async def test_spawn_after_close_is_refused_and_the_coroutine_not_run() -> None:
    resource = Resource()
    resource.release.set()
    await resource.aclose()
    ran: list[int] = []

    async def work() -> None:
        ran.append(1)

    coro = work()
    assert isinstance(coro, types.CoroutineType)  # a native coroutine: it has cr_frame
    with pytest.raises(RuntimeError, match="closing"):
        resource.spawn(coro)
    await asyncio.sleep(0)
    assert ran == []
    assert coro.cr_frame is None  # closed, so no "never awaited" warning


async def test_a_failed_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    resource = Resource()

    async def boom() -> None:
        raise ValueError("bad datagram")

    task = resource.spawn(boom(), name="receiver")
    with pytest.raises(ValueError, match="bad datagram"):
        await task
    assert any("receiver failed: bad datagram" in r.getMessage() for r in caplog.records)
    resource.release.set()
    await resource.aclose()
