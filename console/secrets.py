"""Secrets (communities, v3 keys, broker passwords) that never print themselves.

A :class:`Secret` renders as ``***`` in ``str()``, ``repr()``, f-strings, logs,
tracebacks and JSON dumps of config; the only way to the clear text is
:meth:`Secret.reveal`, called at the one place a protocol library needs it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MASK", "Secret"]

MASK: Final = "***"


class Secret:
    """A secret string. Compare with ``==``; read with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value

    def reveal(self) -> str:
        """Return the clear text. Call only where a protocol library needs it."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("fleettop-secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secrets are not picklable")
