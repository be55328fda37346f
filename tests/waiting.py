"""Waiting for a condition in async tests, bounded, without timed assertions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(
    predicate: Callable[[], object], *, within: float = 15.0, every: float = 0.05
) -> None:
    """Poll ``predicate()`` every ``every`` seconds until it is truthy.

    ``within`` (seconds) only bounds a hung test; it is not a speed assertion.

    Raises:
        AssertionError: the condition was still false after ``within`` seconds.
    """
    try:
        async with asyncio.timeout(within):
            while not predicate():  # noqa: ASYNC110 - polls state no Event signals
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"condition {predicate!r} not met within {within} s") from None
