"""Clearing retained messages: an empty retained publish per topic (MQTT 3.1.1
§3.3.1.3, MQTT 5.0 §3.3.1.3: "a PUBLISH with RETAIN 1 and a zero-length payload
removes the retained message for that topic").

:func:`clear_retained` publishes them through a broker connection's publish API
(:meth:`console.mqtt.client.BrokerConnection.publish`) with at most ``concurrency``
publishes in flight, so thousands of topics clear in seconds and the event loop stays
free (each publish is awaited, none blocks); ``progress`` hears of every completion.
The caller records the whole cleanup once in the audit log (a publish through the
connection's API publishes no per-topic ``("mqtt", TARGET, "publish")`` event, so
2,000 topics are one audit entry, not 2,000).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = ["CLEAR_CONCURRENCY", "ClearResult", "Publisher", "clear_retained"]

#: Empty retained publishes in flight at once.
CLEAR_CONCURRENCY: Final = 200


class _Outcome(Protocol):
    @property
    def success(self) -> bool: ...

    @property
    def error(self) -> str | None: ...


Publisher = Callable[[str, bytes, int, bool], Awaitable[_Outcome]]
"""``publish(topic, payload, qos, retain) -> result`` with ``success`` and ``error``
(the broker connection's ``publish``)."""


@dataclass(slots=True)
class ClearResult:
    """What a cleanup did.

    Attributes:
        total: topics asked for.
        cleared: topics whose empty retained publish succeeded (PUBACK at QoS 1).
        failed: ``(topic, reason)`` of those that did not.
        seconds: how long it took.
    """

    total: int
    cleared: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def done(self) -> int:
        """Topics finished (cleared or failed)."""
        return len(self.cleared) + len(self.failed)


async def clear_retained(
    publish: Publisher,
    topics: Sequence[str],
    *,
    qos: int = 1,
    concurrency: int = CLEAR_CONCURRENCY,
    progress: Callable[[ClearResult], None] | None = None,
) -> ClearResult:
    """Publish an empty retained message to each of ``topics``.

    Args:
        publish: the broker connection's publish.
        topics: topic names (no wildcard).
        qos: the publishes' QoS (1: each is acknowledged by the broker).
        concurrency: publishes in flight at once (>= 1).
        progress: called after each topic finished, with the result so far.

    Returns:
        What was cleared and what failed (a failure never stops the rest; an
        exception of ``publish`` is a failure with its message).

    Raises:
        ValueError: ``concurrency`` below 1.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = ClearResult(len(topics))
    queue = iter(topics)

    async def worker() -> None:
        for topic in queue:
            try:
                outcome = await publish(topic, b"", qos, True)
            except Exception as exc:  # a reason for the operator, the rest go on
                result.failed.append((topic, str(exc) or type(exc).__name__))
            else:
                if outcome.success:
                    result.cleared.append(topic)
                else:
                    result.failed.append((topic, outcome.error or "FAILED"))
            if progress is not None:
                progress(result)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, max(1, len(topics))))))
    result.seconds = loop.time() - started
    return result
