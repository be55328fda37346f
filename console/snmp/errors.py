"""Every exception of the SNMP backend, in one place (httpx's ``_exceptions.py``
habit).

Raised to callers (the UI, the runtime)::

    SnmpError                         any failure of an operator request
    ├── SnmpNotConnectedError         (also a ConnectionError) the device is not
    │                                 CONNECTED, or it was closed
    ├── SnmpTimeoutError              (also a TimeoutError) no answer after every try
    └── SnmpOperationError            a walk stopped on another error; ``error`` is
                                      its name as in the walk event

Bad input (a malformed OID, an invalid value, missing credentials) raises the
built-in :class:`ValueError`, never one of these: nothing was sent.

Inside the package only (between :mod:`console.snmp.link`, the device and
:mod:`console.snmp.operations`; never escapes to callers)::

    RequestFailed                     a request got no usable answer after its tries
    └── SecurityRejected              the agent refused the SNMPv3 security (a USM
                                      report or an unsupported security level): not
                                      re-sent, retrying cannot help

The internal ones are not :class:`SnmpError` subclasses, so an ``except SnmpError``
in a caller never swallows one by mistake. No message of any of them carries a
community or a password.
"""

from __future__ import annotations

__all__ = [
    "RequestFailed",
    "SecurityRejected",
    "SnmpError",
    "SnmpNotConnectedError",
    "SnmpOperationError",
    "SnmpTimeoutError",
]


class SnmpError(Exception):
    """Base class of the errors an :class:`~console.snmp.manager.SnmpDevice` raises
    to callers."""


class SnmpNotConnectedError(SnmpError, ConnectionError):
    """An operator request was made while the device is not ``CONNECTED`` (or is
    closed)."""


class SnmpTimeoutError(SnmpError, TimeoutError):
    """An operator request got no answer after all its tries."""


class SnmpOperationError(SnmpError):
    """A walk stopped on an error other than a timeout.

    Attributes:
        error: the error name, as in the walk event (``OID_NOT_INCREASING``,
            ``GEN_ERR``, ``WRONG_DIGESTS``, ``INTERNAL_ERROR``...).
    """

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


class RequestFailed(Exception):
    """A request got no usable answer after its tries (package-internal).

    Attributes:
        reason: operator-readable (``no response after 2 tries (timeout 0.5 s)``);
            the device's ``DISCONNECTED`` reason when polling fails.
        error: the error name of the failure (``TIMEOUT``, a USM report name such as
            ``WRONG_DIGESTS``, ``INTERNAL_ERROR``...), or ``None`` when it has none
            (an unsupported security level seen by polling).
    """

    def __init__(self, reason: str, error: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class SecurityRejected(RequestFailed):
    """The agent refused the request's SNMPv3 security (package-internal; never
    re-sent).

    ``error`` is the USM report's ``ERROR`` name (``WRONG_DIGESTS``...), or ``None``
    for an unsupported security level, which has no ``ERROR`` name."""
