"""The ``fleettop collect`` and ``fleettop attach`` subcommands (``docs/distributed.md``).

::

    fleettop collect CONFIG --broker URL [--name NAME] [--shard K/N] [--read-only]
    fleettop attach URL [--collector NAME ...] [--device GLOB ...] [--read-only]
                        [--headless [--seconds N] [--filter P ...]]

Credentials come from ``FLEETTOP_MQTT_USERNAME`` / ``FLEETTOP_MQTT_PASSWORD`` or a
broker of the configuration with the same host and port, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from console.collect.remote import RemoteRuntime
    from console.config import Config

__all__ = ["add_commands", "run_command"]

EXIT_OK = 0
EXIT_USAGE = 2
#: A collector's close did not finish within :data:`CLOSE_LIMIT` s.
EXIT_SLOW_CLOSE = 1
#: Seconds a collector has to close after SIGTERM/SIGINT: its ``offline`` status
#: (waited for at most :data:`~console.collect.link.LAST_WAIT` s), its devices, its
#: store and its link.
CLOSE_LIMIT = 5.0

mlog = logging.getLogger(__name__)


def _shard(text: str) -> tuple[int, int]:
    from console.collect.namespace import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _name(text: str) -> str:
    from console.collect.namespace import check_name

    try:
        return check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_commands(commands: Any, run_options: Any) -> None:
    """Add ``collect`` and ``attach`` to the ``fleettop`` subparsers; ``run_options``
    adds the options ``run`` has (``--headless``, ``--read-only``, ``-v``...)."""
    collect = commands.add_parser(
        "collect",
        help="run the backends headless and publish their events to an MQTT broker",
    )
    collect.add_argument("config", type=Path, metavar="CONFIG", help="YAML configuration file")
    collect.add_argument(
        "--broker", required=True, metavar="URL", help="mqtt://, mqtts://, ws:// or wss://HOST"
    )
    collect.add_argument(
        "--name", type=_name, help="the collector's name in topics (default: the host name)"
    )
    collect.add_argument(
        "--shard", type=_shard, metavar="K/N", help="take the devices shard K of N picks"
    )
    collect.add_argument(
        "--keepalive",
        type=int,
        default=30,
        metavar="S",
        help="MQTT keepalive in seconds: consoles see the collector offline 1.5 x S after"
        " it vanished (default 30)",
    )
    run_options(collect)
    collect.set_defaults(headless=True)  # a collector has no UI: its log goes to stderr
    attach = commands.add_parser(
        "attach", help="a console on the collectors of an MQTT broker, with no backends of its own"
    )
    attach.add_argument("url", metavar="URL", help="mqtt://, mqtts://, ws:// or wss://HOST")
    attach.add_argument(
        "--collector",
        dest="collectors",
        action="append",
        type=_name,
        default=[],
        metavar="NAME",
        help="follow only this collector (repeatable): the broker sends nothing else",
    )
    attach.add_argument(
        "--device",
        dest="devices",
        action="append",
        default=[],
        metavar="GLOB",
        help="follow only the devices matching this glob, such as 'core-*' (repeatable)",
    )
    run_options(attach)


def _default_name() -> str:
    from console.collect.namespace import check_name

    host = socket.gethostname().split(".")[0]
    try:
        return check_name(host)
    except ValueError:
        return "collector"


def _collector_config(config: Config, name: str) -> Config:
    """One store per collector: ``fleettop-NAME.db`` beside the default store unless
    ``store.path`` is set."""
    from console.store.location import default_store_path

    store = config.store
    if store.enabled and store.path is None:
        path = default_store_path().with_name(f"fleettop-{name}.db")
        config = dataclasses.replace(config, store=dataclasses.replace(store, path=path))
    return config


def run_command(args: argparse.Namespace, config: Config | None) -> int:
    """Run ``collect`` (``config`` loaded) or ``attach``; returns the exit code.

    Raises:
        StoreInUseError: the collector's store is open in another process.
    """
    from console.collect.link import broker_from_url

    if args.command == "demo":
        from console.collect.demo import DistributedDemo

        return _console(DistributedDemo, args)
    if args.command == "collect":
        assert config is not None
        name = args.name or _default_name()
        try:
            broker = broker_from_url(args.broker, config, keepalive=args.keepalive)
        except ValueError as exc:
            print(f"fleettop: {exc}", file=sys.stderr)
            return EXIT_USAGE
        config = _collector_config(config, name)
        if config.store.enabled and config.store.path is not None:
            from console.store.lock import check_not_in_use

            check_not_in_use(config.store.path)
        signalled: list[int] = []
        code = asyncio.run(_collect(config, broker, name, args, signalled))
        if signalled:
            _exit_now(code)
        return code
    try:
        broker = broker_from_url(args.url)
    except ValueError as exc:
        print(f"fleettop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from console.collect.remote import RemoteRuntime

    return _console(
        lambda: RemoteRuntime(broker, collectors=args.collectors, devices=args.devices), args
    )


def _console(factory: Callable[[], RemoteRuntime], args: argparse.Namespace) -> int:
    """Run a console over the runtime ``factory`` builds: headless, or the app."""
    if args.headless:
        from console.headless import run_headless

        patterns = tuple(args.filters) if args.filters else (("*",),)
        try:
            return asyncio.run(run_headless(factory(), patterns=patterns, seconds=args.seconds))
        except RuntimeError as exc:  # the distributed demo without mosquitto
            print(f"fleettop: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.seconds is not None or args.filters:
        print("fleettop: --seconds and --filter go with --headless", file=sys.stderr)
        return EXIT_USAGE
    from console.app import FleettopApp

    app = FleettopApp(runtime_factory=factory, read_only=args.read_only, freeze_heap=True)
    app.run()
    return app.return_code or EXIT_OK


async def _collect(
    config: Config, broker: Any, name: str, args: argparse.Namespace, signalled: list[int]
) -> int:
    """Run the collector until SIGINT/SIGTERM (noted in ``signalled``) or
    ``--seconds``; then close it within :data:`CLOSE_LIMIT` s (``offline``
    published, the devices, the store and the link closed), else give up with
    :data:`EXIT_SLOW_CLOSE`."""
    from console.collect.collector import Collector, collector_runtime

    runtime = collector_runtime(config, args.shard)
    collector = Collector(runtime, broker, name=name, shard=args.shard, read_only=args.read_only)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        signalled.append(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
    try:
        await collector.start()
        if args.seconds is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.seconds)
    finally:
        began = time.monotonic()
        try:
            await asyncio.wait_for(collector.aclose(), CLOSE_LIMIT)
        except TimeoutError:
            mlog.error(
                "collector %s: not closed within %g s; exiting anyway (the store keeps"
                " its last committed state)",
                name,
                CLOSE_LIMIT,
            )
            return EXIT_SLOW_CLOSE
        mlog.info("collector %s: closed in %.2f s", name, time.monotonic() - began)
    return EXIT_OK


def _exit_now(code: int) -> NoReturn:
    """End the process once everything is closed: flush the logs and the standard
    streams, then ``os._exit`` — skipping the interpreter's teardown of a large heap
    (~0.3 s for a loaded collector; nothing is left to release)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
