"""One batch, one HTTP request (aiohttp's client).

A batch is ``PUT`` (or ``POST``) to the monitor's ``url`` as its JSON document
(:func:`~console.notifications.delivery.framing.batch_document`), with

* ``Content-Type: application/json``; with ``compression: zlib`` the body is
  zlib-compressed and ``Content-Encoding: deflate`` (RFC 9110 §8.4.1.2: "deflate" is
  the zlib format);
* ``Authorization: Basic ...`` from ``token`` (``user:password``, RFC 7617);
* ``X-Fleettop-Monitor`` (the monitor's name) and ``X-Fleettop-Sequence`` (the
  batch's ``seq``: a client that got a batch twice, its answer lost, drops it).

A 2xx answer acknowledges the batch. Anything else raises :class:`SendFailed`,
telling a destination that answered (``reachable``: a non-2xx status, a response
timeout) from one that did not (a refused or timed-out connection, a TLS failure, a
connection closed before the answer). The token never appears in a reason: reasons
are built from the exception's class and the address, and the token's parts are
masked in whatever text an exception carries.
"""

from __future__ import annotations

import base64
from typing import Final

import aiohttp

from console.config import MonitorConfig
from console.notifications.delivery.framing import compress
from console.notifications.delivery.outbox import Batch
from console.notifications.delivery.tls import client_context
from console.secrets import MASK

__all__ = ["DEFAULT_TIMEOUT_MS", "HttpSender", "SendFailed"]

#: ``connect_timeout`` / ``response_timeout`` 0 means this (the seed's default), ms.
DEFAULT_TIMEOUT_MS: Final = 5000


class SendFailed(Exception):
    """A batch was not acknowledged.

    Attributes:
        reason: operator-readable, without credentials.
        reachable: the destination answered (a status) or at least accepted the
            connection; ``False``: it could not be reached.
    """

    def __init__(self, reason: str, *, reachable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reachable = reachable


class HttpSender:
    """Sends batches to one HTTP destination (one aiohttp session, created on first
    use inside the running loop; :meth:`aclose` closes it).

    Args:
        config: the monitor (``url``, ``method``, ``token``, timeouts,
            ``compression``, ``tls``).

    Raises:
        OSError, ssl.SSLError: a TLS file cannot be read.
    """

    def __init__(self, config: MonitorConfig) -> None:
        assert config.url is not None
        self.url = config.url
        self.method = config.method
        self.compressed = config.compression != "none"
        self._name = config.name
        token = config.token.reveal() if config.token is not None else None
        self._authorization: str | None = None
        self._masks: tuple[str, ...] = ()
        if token:
            _, _, password = token.partition(":")
            basic = base64.b64encode(token.encode("utf-8")).decode("ascii")
            self._authorization = f"Basic {basic}"  # RFC 7617
            parts = (basic, token, password)
            self._masks = tuple(sorted((p for p in parts if len(p) >= 3), key=len, reverse=True))
        connect = (config.connect_timeout or DEFAULT_TIMEOUT_MS) / 1000
        response = (config.response_timeout or DEFAULT_TIMEOUT_MS) / 1000
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_connect=connect, sock_read=response
        )
        self._ssl = client_context(config.tls) if config.url.startswith("https:") else None
        self._session: aiohttp.ClientSession | None = None

    def _clean(self, text: str) -> str:
        """``text`` with every part of the token masked."""
        for secret in self._masks:
            text = text.replace(secret, MASK)
        return text

    async def send(self, batch: Batch) -> int:
        """PUT/POST ``batch``; returns the 2xx status.

        Raises:
            SendFailed: not acknowledged (see the module doc).
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)
        headers = {
            "Content-Type": "application/json",
            "X-Fleettop-Monitor": self._name,
            "X-Fleettop-Sequence": str(batch.seq),
        }
        if self._authorization is not None:
            headers["Authorization"] = self._authorization
        body = batch.body
        if self.compressed:
            body = compress(body)
            headers["Content-Encoding"] = "deflate"
        try:
            async with self._session.request(
                self.method,
                self.url,
                data=body,
                headers=headers,
                ssl=self._ssl if self._ssl is not None else True,
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SendFailed(
                self._clean(f"TLS certificate rejected: {exc.certificate_error}"), reachable=False
            ) from None
        except aiohttp.ClientConnectorError as exc:
            why = exc.strerror or type(exc.os_error).__name__
            raise SendFailed(
                self._clean(f"cannot connect to {exc.host}:{exc.port}: {why}"), reachable=False
            ) from None
        except aiohttp.ConnectionTimeoutError:
            raise SendFailed(
                f"no connection within {self._timeout.sock_connect:g} s", reachable=False
            ) from None
        except aiohttp.SocketTimeoutError:
            raise SendFailed(
                f"no answer within {self._timeout.sock_read:g} s", reachable=True
            ) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise SendFailed(
                self._clean(f"connection lost: {type(exc).__name__}"), reachable=False
            ) from None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise SendFailed(
                self._clean(f"request failed: {type(exc).__name__}: {exc}"), reachable=False
            ) from None
        if not 200 <= status < 300:
            raise SendFailed(f"answered HTTP {status}", reachable=True)
        return status

    async def aclose(self) -> None:
        """Close the session and its connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
