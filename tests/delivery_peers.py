"""Peers of delivering monitors: an aiohttp endpoint that records what it receives,
and a minimal TCP client that reads frames the way ``docs/monitors.md`` describes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import struct
import zlib
from typing import Any

from aiohttp import web

from tests.conftest import free_tcp_port


class Endpoint:
    """An HTTP endpoint on a free 127.0.0.1 port that answers ``answer`` (200 by
    default) and records every request; it can stop and start again on the same
    port (an outage)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.port = free_tcp_port()
        self.ssl_context = ssl_context
        self.answer = 200
        self.attempts: list[dict[str, Any]] = []
        """Every request: method, headers, raw body, the status answered."""
        self.batches: list[dict[str, Any]] = []
        """The documents of the requests answered 2xx, in arrival order."""
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hook"

    @property
    def events(self) -> list[Any]:
        """The payloads of the events delivered (acknowledged), in arrival order."""
        return [event["payload"] for batch in self.batches for event in batch["events"]]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        status = self.answer
        self.attempts.append(
            {
                "method": request.method,
                "headers": dict(request.headers),
                "raw": raw,
                "status": status,
            }
        )
        if 200 <= status < 300:
            body = (
                zlib.decompress(raw)
                if request.headers.get("Content-Encoding") == "deflate"
                else raw
            )
            self.batches.append(json.loads(body))
        return web.Response(status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/hook", self._handle)
        self._runner = web.AppRunner(app, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            "127.0.0.1",
            self.port,
            reuse_address=True,
            ssl_context=self.ssl_context,
        )
        await site.start()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


class FrameClient:
    """A TCP client of a monitor, written from the framing section of
    docs/monitors.md alone (no fleettop code): 4-byte big-endian length, 1 flag byte
    (bit 0: zlib), the body; acknowledgements as ``{"ack": SEQ}`` frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, *, ssl_context: ssl.SSLContext | None = None) -> FrameClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
        return cls(reader, writer)

    async def batch(self) -> dict[str, Any]:
        length, flags = struct.unpack("!IB", await self.reader.readexactly(5))
        body = await self.reader.readexactly(length)
        return dict(json.loads(zlib.decompress(body) if flags & 1 else body))

    async def ack(self, seq: int) -> None:
        body = json.dumps({"ack": seq}).encode()
        self.writer.write(struct.pack("!IB", len(body), 0) + body)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
