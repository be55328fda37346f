"""The ``fleettop`` command line.

::

    fleettop demo [--headless [--seconds N] [--filter PATTERN ...]]
    fleettop run CONFIG [--headless [--seconds N] [--filter PATTERN ...]]
    fleettop check CONFIG
    fleettop walk CONFIG DEVICE [ROOT] [--json] [--no-names] [-r N]
    fleettop collect CONFIG --broker URL [--name NAME] [--shard K/N] [--read-only]
    fleettop attach URL [--read-only] [--headless [--seconds N] [--filter PATTERN ...]]
    fleettop demo --distributed [--headless ...]
    fleettop mibs CONFIG [--json]
    fleettop serve [--host H] [--port P] [--read-only] (URL | --demo)

``demo`` runs the console on the built-in demo (simulated agents on loopback);
``run`` on a configuration file, validated before anything starts; ``check`` only
validates (exit 0, or 2 with every problem as ``file:line: field: message``; MIB
modules of ``mib_paths`` that fail are warnings); ``mibs`` lists the MIB modules
that load and why others do not (:mod:`console.mibscmd`);
``walk`` prints a subtree of one device (:mod:`console.walkcmd`, ``docs/walk.md``);
``collect``, ``attach`` and ``demo --distributed`` run collectors and consoles over an
MQTT broker (``console/collect/commands.py``, ``docs/distributed.md``).
Textual is imported only when the terminal UI actually starts, and ``demo`` in the
terminal UI imports nothing heavy before the UI's first frame: the configuration,
the runtime and the backends (pysnmp) are imported after it, in the app's start
worker (``bench/bench_startup.py`` measures it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import logging.handlers
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from console.app import FleettopApp
    from console.config import Config, ConfigError
    from console.events import Pattern
    from console.runtime import Runtime

__all__ = ["build_parser", "main", "make_app"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIG = 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fleettop")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


class _VersionAction(argparse.Action):
    """``--version``: print ``fleettop VERSION`` on stdout and exit 0, as argparse's
    ``version`` action, but the version is looked up only when asked for
    (:mod:`importlib.metadata` cost ~15 ms of CPU at every start, before the first
    frame)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, **kwargs
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> NoReturn:
        sys.stdout.write(f"fleettop {_version()}\n")
        parser.exit()


def _filter_arg(text: str) -> Pattern:
    from console.headless import parse_filter

    try:
        return parse_filter(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no terminal UI: print every event as one JSON line on stdout",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="with --headless: stop after N seconds (default: run until interrupted)",
    )
    parser.add_argument(
        "--filter",
        dest="filters",
        action="append",
        type=_filter_arg,
        metavar="PATTERN",
        help="with --headless: print only events matching PATTERN, segments separated "
        "by '/', '?' one segment, trailing '*' the rest (e.g. 'snmp/?/read/*'); repeatable",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="write fleettop's own log here (default: the user log directory in the UI, "
        "stderr when headless)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="refuse every write from the console (SNMP SET, and later MQTT publish)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``fleettop`` command."""
    parser = argparse.ArgumentParser(
        prog="fleettop",
        description="A terminal console for watching and driving an SNMP and MQTT fleet live.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run on the built-in demo: simulated agents on 127.0.0.1"
    )
    _add_run_options(demo)
    demo.add_argument(
        "--distributed",
        action="store_true",
        help="two collectors and a console over an embedded mosquitto (docs/distributed.md)",
    )

    run = commands.add_parser("run", help="run on a configuration file")
    run.add_argument("config", type=Path, metavar="CONFIG", help="YAML configuration file")
    _add_run_options(run)

    check = commands.add_parser("check", help="validate a configuration file and exit")
    check.add_argument("config", type=Path, metavar="CONFIG", help="YAML configuration file")

    from console import walkcmd  # argparse only: the walk imports its backend when it runs

    walkcmd.add_parser(commands)
    from console.collect.commands import add_commands

    add_commands(commands, _add_run_options)  # collect, attach (docs/distributed.md)

    from console.mibscmd import add_parser as add_mibs

    add_mibs(commands)

    from console.collect.serve import add_command as add_serve

    add_serve(commands)  # serve: the console in web browsers (docs/serve.md)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.INFO
    handler: logging.Handler
    if args.log_file is not None:
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
    elif args.headless:
        handler = logging.StreamHandler(sys.stderr)
        level = logging.DEBUG if args.verbose else logging.WARNING
    else:
        from platformdirs import user_log_path

        log_dir = user_log_path("fleettop", ensure_exists=True)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / "fleettop.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # pysnmp and asyncio are chatty at debug; keep them at warning unless asked.
    for noisy in ("pysnmp", "pysmi", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)


def _print_problems(error: ConfigError) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)


def _check(path: Path) -> int:
    from console.config import check_config

    problems = check_config(path)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        count = len(problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_CONFIG
    from console.config import load_config
    from console.mibscmd import mib_warnings

    for warning in mib_warnings(load_config(path)):  # failed MIBs warn, never fail
        print(warning, file=sys.stderr)
    print(f"{path}: OK")
    return EXIT_OK


def make_app(
    runtime: Runtime | Callable[[], Runtime],
    args: argparse.Namespace,
    *,
    gc_paused: bool = False,
) -> FleettopApp:
    """Return the terminal UI for ``runtime`` (or for the runtime a factory builds
    after the first frame) with the options of ``args`` (``--read-only``), its
    startup heap frozen once the fleet shows (see :class:`~console.app.FleettopApp`);
    ``gc_paused``: the caller turned the cyclic collector off, the app turns it back
    on once the runtime has started. Imports Textual."""
    from console.app import FleettopApp
    from console.explorer.presets import default_presets_path

    presets = default_presets_path()  # the publish dialog's history and presets
    if callable(runtime):
        return FleettopApp(
            runtime_factory=runtime,
            read_only=args.read_only,
            freeze_heap=True,
            presets_path=presets,
            gc_paused=gc_paused,
        )
    return FleettopApp(
        runtime,
        read_only=args.read_only,
        freeze_heap=True,
        presets_path=presets,
        gc_paused=gc_paused,
    )


def _new_runtime(config: Config | None, demo: bool) -> Runtime:
    from console.runtime import Runtime

    return Runtime(config, demo=demo)


def _run(config: Config | None, args: argparse.Namespace) -> int:
    demo = args.command == "demo"
    if args.headless:
        from console.headless import run_headless

        patterns = tuple(args.filters) if args.filters else (("*",),)
        runtime = _new_runtime(config, demo)
        return asyncio.run(run_headless(runtime, patterns=patterns, seconds=args.seconds))
    if args.seconds is not None or args.filters:
        print("fleettop: --seconds and --filter go with --headless", file=sys.stderr)
        return EXIT_USAGE
    # the cyclic collector is off while the UI starts; the app turns it back on once
    # the runtime has started (FleettopApp's gc_paused)
    gc.disable()
    try:
        app = make_app(partial(_new_runtime, config, demo), args, gc_paused=True)
        app.run()
    finally:
        gc.enable()
    return app.return_code or EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fleettop`` command; return its exit code.

    Exit codes: 0 success, 2 usage error, invalid configuration, or a store
    already open for writing by another fleettop; ``walk`` also 1, 130 and 141
    (:mod:`console.walkcmd`).
    """
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return _check(args.config)
    if args.command == "walk":
        from console.walkcmd import run as run_walk

        return run_walk(args)
    if args.command == "mibs":
        from console.mibscmd import run_mibs

        return run_mibs(args)
    if args.command == "serve":
        from console.collect.serve import run as run_serve

        return run_serve(args)
    config: Config | None = None
    if args.command in ("run", "collect"):
        from console.config import ConfigError, load_config

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            _print_problems(exc)
            return EXIT_CONFIG
    _setup_logging(args)
    from console.store.errors import StoreInUseError
    from console.store.lock import check_not_in_use

    try:
        if args.command in ("collect", "attach") or getattr(args, "distributed", False):
            from console.collect.commands import run_command

            return run_command(args, config)
        store = config.store if config is not None else None  # demo: the defaults
        if store is None or store.enabled:
            from console.store.location import default_store_path

            demo = args.command == "demo"
            check_not_in_use(store.path if store and store.path else default_store_path(demo=demo))
        return _run(config, args)
    except StoreInUseError as exc:  # another fleettop writes it: never run without it
        print(f"fleettop: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
