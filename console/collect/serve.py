"""``fleettop serve``: the console in a web browser (``docs/serve.md``).

::

    fleettop serve [--host 127.0.0.1] [--port 8000] [--public-url URL] [--read-only] (URL | --demo)

Built on textual-serve (Textualize): an aiohttp server whose page runs xterm.js and
whose websocket drives one app process per browser tab. Here every tab is
``fleettop attach URL`` (``docs/distributed.md``): a thin console attached to the
collectors of a broker, not a second set of pollers. With ``--demo``, ``serve`` first
starts one shared distributed demo (:class:`~console.collect.demo.DistributedDemo`
without its own console: mosquitto, the demo fleet, collectors ``east`` and
``west``) and every tab attaches to it.

textual-serve has no authentication. :class:`FleetServer` adds it as an aiohttp
middleware run before every route (the page, its static files and its websocket):

* on a loopback host (``127.0.0.1``, ``::1``, ``localhost``) no token is needed,
  unless ``FLEETTOP_SERVE_TOKEN`` is set;
* on any other host a token is required: ``FLEETTOP_SERVE_TOKEN`` (at least
  :data:`MIN_TOKEN` characters, else serve refuses to start), or one generated at
  start and printed once on stdout as the URL to open. The browser brings it as
  ``?token=``; the server answers with a redirect to the same page without it and a
  cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind ``https``), which the
  page's websocket then carries. Anything else gets ``403 Forbidden`` before the page;
* the websocket is refused (403) when its ``Origin`` is not the page's own (another
  site open in the same browser cannot drive a console, token or not).

A tab's console process ends when its websocket closes (textual-serve sends it
"quit"); one still running ``STOP_WAIT`` s later (:mod:`console.collect.serve_server`)
is terminated, then killed, and so is every one left when ``serve`` stops. The
consoles are started with ``PR_SET_PDEATHSIG`` (they get SIGTERM if ``serve`` dies)
and without the token in their environment.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import shutil
import sys
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from console.collect.demo import DistributedDemo

__all__ = [
    "MIN_TOKEN",
    "TOKEN_ENV",
    "ServeError",
    "add_command",
    "attach_argv",
    "is_loopback",
    "resolve_token",
    "run",
]

#: The environment variable holding the access token.
TOKEN_ENV: Final = "FLEETTOP_SERVE_TOKEN"
#: The shortest token accepted from the environment (characters).
MIN_TOKEN: Final = 16

EXIT_OK = 0
EXIT_USAGE = 2


class ServeError(Exception):
    """``fleettop serve`` cannot start as asked (the message says why, for the operator)."""


def add_command(commands: Any) -> None:
    """Add ``serve`` to the ``fleettop`` subparsers (``commands``, argparse's
    ``_SubParsersAction``)."""
    serve = commands.add_parser(
        "serve", help="serve the console to web browsers: every tab is `fleettop attach URL`"
    )
    serve.add_argument(
        "url", nargs="?", metavar="URL", help="the fleet's broker: mqtt://, mqtts://, ws://, wss://"
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="start one shared distributed demo (mosquitto, two collectors) and attach to it",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs a token)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers use, behind a reverse proxy (https://... for TLS): docs/serve.md",
    )
    serve.add_argument(
        "--read-only", action="store_true", help="every console refuses writes (attach --read-only)"
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name to listen on) is loopback only:
    ``localhost``, 127.0.0.0/8 or ``::1``. ``0.0.0.0``, ``::`` and every other name
    are not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, environ: dict[str, str] | os._Environ[str]) -> tuple[str | None, bool]:
    """The token the server requires, and whether it was generated here.

    Returns:
        ``(token, generated)``: the environment's :data:`TOKEN_ENV` when set; else
        ``None`` on a loopback host (no token); else a new random token
        (``secrets.token_urlsafe``, 32 bytes) and ``True``.

    Raises:
        ServeError: :data:`TOKEN_ENV` is set but shorter than :data:`MIN_TOKEN`.
    """
    token = environ.get(TOKEN_ENV)
    if token is not None:
        if len(token.strip()) < MIN_TOKEN:
            raise ServeError(
                f"{TOKEN_ENV} is shorter than {MIN_TOKEN} characters: refusing to serve"
                f" on {host} with it (unset it to have a token generated)"
            )
        return token.strip(), False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(32), True


def attach_argv(url: str, *, read_only: bool) -> list[str]:
    """The command line of one tab's console: ``fleettop attach URL [--read-only]``
    with this interpreter (``python -m console.cli``)."""
    argv = [sys.executable, "-m", "console.cli", "attach", url]
    if read_only:
        argv.append("--read-only")
    return argv


def run(args: argparse.Namespace) -> int:
    """Run ``fleettop serve`` until SIGINT or SIGTERM; returns the exit code (2 on a
    usage error, printed as one line on stderr)."""
    if (args.url is None) == (not args.demo):
        print("fleettop serve: give the broker's URL or --demo (not both)", file=sys.stderr)
        return EXIT_USAGE
    demo: DistributedDemo | None = None
    try:
        token, generated = resolve_token(args.host, os.environ)
        if args.public_url is not None and urlsplit(args.public_url).scheme not in (
            "http",
            "https",
        ):
            raise ServeError(f"--public-url {args.public_url!r}: not an http:// or https:// URL")
        if args.demo:
            from console.collect.demo import DistributedDemo

            if shutil.which("mosquitto") is None:
                raise ServeError("--demo needs mosquitto on PATH (apt-get install mosquitto)")
            demo = DistributedDemo(attach=False)
            url = f"mqtt://127.0.0.1:{demo.link.broker.port}"
        else:
            from console.collect.link import broker_from_url

            try:
                broker_from_url(args.url)  # the consoles would each refuse it
            except ValueError as exc:
                raise ServeError(str(exc)) from None
            url = args.url
    except ServeError as exc:
        print(f"fleettop serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.environ.pop(TOKEN_ENV, None)  # the consoles never see it
    from console.collect.serve_server import FleetServer

    server = FleetServer(
        attach_argv(url, read_only=args.read_only),
        host=args.host,
        port=args.port,
        token=token,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        demo=demo,
        announce=lambda line: print(line, flush=True),
        show_token=generated,
        hidden_env=(TOKEN_ENV,),
    )
    try:
        server.serve()
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        print(f"fleettop serve: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
