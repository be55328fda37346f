"""The web server of ``fleettop serve`` (:mod:`console.collect.serve` has the command
and the rules): textual-serve's :class:`~textual_serve.server.Server` with a token
and origin check before every route, one tracked console process per websocket, and
the shared demo started and closed with it. Imported only when ``serve`` runs
(aiohttp, jinja2, textual-serve).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import shlex
import signal
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from console.collect.demo import _die_with_parent

if TYPE_CHECKING:
    from console.collect.demo import DistributedDemo

__all__ = ["COOKIE", "STOP_WAIT", "Console", "FleetServer", "end_process"]

#: The cookie the page's later requests (its websocket) carry the token in.
COOKIE: Final = "fleettop_serve_token"
#: Seconds a closed tab's console has to exit after "quit" before SIGTERM, then SIGKILL.
STOP_WAIT: Final = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def end_process(process: asyncio.subprocess.Process) -> None:
    """Wait for ``process`` to exit: SIGTERM after :data:`STOP_WAIT` s, SIGKILL after
    as long again; it is reaped when this returns."""
    for send in (None, process.terminate, process.kill):
        if send is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                send()
        try:
            await asyncio.wait_for(process.wait(), STOP_WAIT)
        except TimeoutError:
            continue
        return


class Console(AppService):
    """One tab's console process (textual-serve's ``AppService``), started from an
    argument list (no shell), with the parent-death signal, without the token in its
    environment, and tracked in :attr:`FleetServer.consoles` until reaped."""

    def __init__(self, server: FleetServer, **kwargs: Any) -> None:
        super().__init__(shlex.join(server.argv), **kwargs)
        self._server = server

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        environment = self._build_environment(width=width, height=height)
        for name in self._server.hidden_env:
            environment.pop(name, None)
        self._process = process = await asyncio.create_subprocess_exec(
            *self._server.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            preexec_fn=_die_with_parent,
        )
        self._server.consoles.add(process)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        """Ask the console to quit (textual-serve's stop); SIGTERM it if it is still
        running :data:`STOP_WAIT` s later, SIGKILL after as long again. The process
        is reaped before this returns."""
        process = self._process
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(super().stop(), STOP_WAIT)
        if process is not None:
            await end_process(process)
            self._server.consoles.discard(process)


class FleetServer(Server):
    """textual-serve's server with the token and origin checks of
    :mod:`console.collect.serve`, one :class:`Console` per websocket, and the shared
    demo (when ``demo`` is given) started before the first page is served and closed
    after the last console.

    Args:
        argv: a tab's console command line (:func:`console.collect.serve.attach_argv`).
        host, port: where to listen.
        token: the required token, or ``None`` (loopback, none asked).
        public_url: the URL browsers use (``None``: ``http://HOST:PORT``).
        demo: the shared demo runtime (``DistributedDemo(attach=False)``).
        announce: prints the line telling where to browse (with the token when
            ``show_token``), once listening.
        show_token: the token was generated here: the announced URL carries it.
        hidden_env: environment variables the consoles do not get (the token's).

    Attributes:
        consoles: the console processes running now, one per open tab.
        websockets: the open tabs' websockets.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        host: str,
        port: int,
        token: str | None,
        public_url: str | None = None,
        demo: DistributedDemo | None = None,
        announce: Callable[[str], None] = print,
        show_token: bool = False,
        hidden_env: Collection[str] = (),
    ) -> None:
        super().__init__(
            shlex.join(argv), host=host, port=port, title="fleettop", public_url=public_url
        )
        self.argv = argv
        self.fixed_url = public_url is not None
        self.token = token
        self.demo = demo
        self.announce = announce
        self.show_token = show_token
        self.hidden_env = tuple(hidden_env)
        self.consoles: set[asyncio.subprocess.Process] = set()
        self.websockets: set[web.WebSocketResponse] = set()

    def initialize_logging(self) -> None:
        """textual-serve's log at warnings only, on stderr (it prints a banner and
        every console's stderr otherwise)."""
        logging.basicConfig(level=logging.WARNING, format="fleettop serve: %(message)s")

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._guard(request, handler)

        app.middlewares.append(web.middleware(guard))
        return app

    def _allowed(self, request: web.Request) -> tuple[bool, bool]:
        """``(allowed, by the query's token)``."""
        if self.token is None:
            return True, False
        expected = self.token.encode()
        given = request.query.get("token")
        if given is not None and hmac.compare_digest(given.encode(), expected):
            return True, True
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), expected), False

    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token check, then the websocket's origin check, then the route.

        Raises:
            web.HTTPForbidden: no valid token, or a websocket from another origin.
            web.HTTPSeeOther: a valid ``?token=``: the same address without it, with
                the cookie.
        """
        allowed, by_query = self._allowed(request)
        if not allowed:
            raise web.HTTPForbidden(
                text="fleettop serve: a valid token is required (open the URL printed when"
                " serve started, with its ?token=)\n"
            )
        if request.path == "/ws":
            origin = request.headers.get("Origin")
            own = {_origin(self.public_url), f"{request.scheme}://{request.host}".lower()}
            if origin is not None and origin.lower() not in own:
                raise web.HTTPForbidden(text="fleettop serve: a websocket from another site\n")
        if by_query:
            query = {key: value for key, value in request.query.items() if key != "token"}
            # behind a proxy under a sub-path (--public-url https://host/fleet), the
            # browser's address has the prefix the proxy took off
            prefix = urlsplit(self.public_url).path.rstrip("/") if self.fixed_url else ""
            location = prefix + request.path + (f"?{urlencode(query)}" if query else "")
            redirect = web.HTTPSeeOther(location)
            redirect.set_cookie(
                COOKIE,
                self.token or "",
                httponly=True,
                samesite="Strict",
                secure=self.public_url.startswith("https"),
                path="/",
            )
            raise redirect
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its websocket's address the one the browser used unless
        ``public_url`` was given (textual-serve would write ``ws://0.0.0.0:8000`` for
        ``--host 0.0.0.0``)."""
        if not self.fixed_url:
            self.public_url = f"{request.scheme}://{request.host}"
        response: web.StreamResponse = await super().handle_index(request)
        return response

    def serve(self, debug: bool = False) -> None:
        """Listen and serve until SIGINT or SIGTERM (textual-serve's ``serve``,
        without its banner, saying where to browse once listening).

        Raises:
            OSError: the address cannot be bound (in use, not local, no permission).
        """
        self.initialize_logging()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(await self._make_app(), handle_signals=False)
        await runner.setup()  # on_startup: the demo
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            self.announce(self.where())
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await stop.wait()
        finally:
            await runner.cleanup()  # on_shutdown: the tabs, the consoles, the demo

    def where(self) -> str:
        """The line telling where to browse: the public URL (this host's name for an
        address that is every address), with ``?token=`` when the token was
        generated here (:attr:`show_token`), and what every tab runs."""
        url = f"{self.public_url}/"
        if not self.fixed_url and self.host in ("0.0.0.0", "::", ""):  # every address
            url = f"http://{socket.getfqdn()}:{self.port}/"
        if self.token is not None and self.show_token:
            url += f"?token={self.token}"
        return f"fleettop serve: {url} (every tab runs {shlex.join(self.argv[3:])})"

    async def on_startup(self, app: web.Application) -> None:
        """Start the shared demo, if any, before anything is served."""
        if self.demo is not None:
            await self.demo.start()

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab's websocket (its console is told to quit), end every
        console still running, then the shared demo."""
        await asyncio.gather(
            *(
                websocket.close(code=WSCloseCode.GOING_AWAY, message=b"fleettop serve stopped")
                for websocket in list(self.websockets)
            ),
            return_exceptions=True,
        )
        await asyncio.gather(*(end_process(process) for process in list(self.consoles)))
        self.consoles.clear()
        if self.demo is not None:
            await self.demo.aclose()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's websocket handler with a :class:`Console`: the console
        starts with the websocket and ends when it closes."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: Console | None = None
        try:
            await websocket.prepare(request)
            self.websockets.add(websocket)
            service = Console(
                self,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if service is not None:
                await asyncio.shield(service.stop())
            with contextlib.suppress(ConnectionError):
                await websocket.close()
            self.websockets.discard(websocket)
        return websocket
