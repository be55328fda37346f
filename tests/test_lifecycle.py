"""ClosesOnce: every long-lived object closes exactly once, even under cancellation."""

from __future__ import annotations

import asyncio

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
