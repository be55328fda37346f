"""Closing long-lived objects once, completely.

Every long-lived object of fleettop (a device, a receiver, a broker connection, the
runtime) owns tasks and sockets and must release them exactly once, even when
``aclose()`` is called concurrently or its caller is cancelled half-way: the habit of
hat-gateway's resources (``aio.Group``: closing is idempotent and uncancellable).
"""

from __future__ import annotations

import asyncio

__all__ = ["ClosesOnce"]


class ClosesOnce:
    """Mixin: :meth:`aclose` runs the subclass's :meth:`_close` exactly once.

    Later and concurrent calls wait for that one run; cancelling a caller does not
    cancel the close (it is shielded). Subclasses implement ``_close`` and may test
    :attr:`closing` to refuse new work.
    """

    _closing: asyncio.Future[None] | None = None

    @property
    def closing(self) -> bool:
        """True once :meth:`aclose` has been called (closing or closed)."""
        return self._closing is not None

    async def aclose(self) -> None:
        """Close: run :meth:`_close` once; idempotent, safe to call concurrently,
        cannot be cancelled half-way."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        """Release everything the object owns (called once by :meth:`aclose`)."""
        raise NotImplementedError
