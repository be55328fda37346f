"""``fleettop walk CONFIG DEVICE [ROOT]``: walk one device's subtree from a script.

::

    fleettop walk fleet.yaml core-sw1                      # mib-2, as snmpbulkwalk
    fleettop walk fleet.yaml core-sw1 .                    # the whole agent
    fleettop walk fleet.yaml core-sw1 IF-MIB::ifTable --json
    fleettop walk fleet.yaml core-sw1 1.3.6.1.2.1.1 --no-names -r 50

The device's ``snmp:`` section of the configuration gives the address, version and
credentials (``${VAR}`` substitutions apply; secrets are never printed). The walk is
:meth:`SnmpDevice.walk <console.snmp.manager.SnmpDevice.walk>` -- GETBULK
(SNMPv2c/v3, ``-r`` max-repetitions, default 25) or GETNEXT (SNMPv1), the device's
timeout and retries -- so it ends as the console's walks do: at the end of the
subtree or of the agent's MIB view, or with the agent's error (``TOO_BIG`` even for
one var-bind, ``EMPTY_RESPONSE``, ``OID_NOT_INCREASING``: never a loop).

``ROOT`` (default ``1.3.6.1.2.1``, mib-2, as Net-SNMP's walks) is a numeric OID,
``.`` for the whole agent, one top arc (``0``, ``1``, ``2``) or a MIB name looked up in
the bundled MIBs and the configuration's ``mib_paths``
(:func:`console.oid.lookup_walk_root`).

Output, one var-bind a line, in the agent's (lexicographic) order:

* text: ``OID NAME = TYPE: VALUE`` like ``snmpbulkwalk -On`` with the MIB name
  added (left out with ``--no-names`` or when no MIB names the OID); ``TYPE`` is
  fleettop's data type (``docs/events.md``: ``STRING``, ``COUNTER``, ``TIME_TICKS``...),
  ``VALUE`` the value as the screens show it, as its MIB defines it
  (:class:`console.snmpdisplay.ValueFormatter`: ``up(1)``, ``00:0c:29:a4:5b:07``,
  ``5 seconds``...; with ``--no-names`` no MIB is loaded and values show plainly:
  :func:`console.format.format_value`; one line, control characters escaped,
  binary strings as hex);
* ``--json``: one JSON object a line, ``{"oid", "name", "type", "value",
  "display"}``: ``type`` and ``value`` exactly as in the bus events (``value`` a
  number, text, or hex text for ``STRING_HEX``/``ARBITRARY``), ``name`` the MIB name or
  ``null``, ``display`` the text form above.

Exit codes: 0 the walk completed; 1 the walk failed (no answer, the agent's error,
refused credentials: the reason on stderr); 2 bad input (a configuration problem, an
unknown device, a device without ``snmp:``, a bad root or ``-r``); 130 interrupted
(Ctrl-C); 141 the reader went away (``| head``: output stops quietly, as Unix tools
do under SIGPIPE).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from console.config import Config, SnmpDeviceConfig
    from console.snmp.mib import MibResolver

__all__ = [
    "DEFAULT_MAX_REPETITIONS",
    "DEFAULT_ROOT",
    "EXIT_INTERRUPTED",
    "EXIT_PIPE",
    "EXIT_USAGE",
    "EXIT_WALK",
    "add_parser",
    "run",
]

#: mib-2, the root Net-SNMP's ``snmpwalk``/``snmpbulkwalk`` walk when given none.
DEFAULT_ROOT: Final = "1.3.6.1.2.1"
DEFAULT_MAX_REPETITIONS: Final = 25
EXIT_OK: Final = 0
EXIT_WALK: Final = 1
EXIT_USAGE: Final = 2
#: 128 + SIGINT, as shells report a Ctrl-C.
EXIT_INTERRUPTED: Final = 130
#: 128 + SIGPIPE, as shells report a writer whose reader went away.
EXIT_PIPE: Final = 141
#: Seconds a device may be CONNECTING before the walk gives up (its own timeout and
#: retries decide first: this only guards against a status that never comes).
_CONNECT_GUARD: Final = 600.0


class _Failed(Exception):
    """The walk cannot run or failed: ``message`` for stderr, ``code`` to exit with."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _repetitions(text: str) -> int:
    from console.snmp.operations import MAX_REPETITIONS_LIMIT

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_REPETITIONS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"max-repetitions must be an integer in 1..{MAX_REPETITIONS_LIMIT}, not {text!r}"
        )
    return value


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``walk`` command to ``commands`` (the ``fleettop`` parser's
    subparsers action) and return its parser. Imports nothing heavy."""
    walk: argparse.ArgumentParser = commands.add_parser(
        "walk",
        help="walk one device's subtree and print it, one var-bind a line",
        description="Walk a subtree of DEVICE (GETBULK; SNMPv1 GETNEXT) with the "
        "credentials of CONFIG and print one var-bind a line: OID, MIB name, type, value.",
    )
    walk.add_argument("config", type=Path, metavar="CONFIG", help="YAML configuration file")
    walk.add_argument("device", metavar="DEVICE", help="the device's name in CONFIG")
    walk.add_argument(
        "root",
        nargs="?",
        default=DEFAULT_ROOT,
        metavar="ROOT",
        help=f"numeric OID, MIB name, '.' for the whole agent (default {DEFAULT_ROOT}, mib-2)",
    )
    walk.add_argument(
        "--json",
        action="store_true",
        help='one JSON object a line: {"oid", "name", "type", "value", "display"}',
    )
    walk.add_argument(
        "--no-names", action="store_true", help="no MIB names (no MIBs loaded: faster)"
    )
    walk.add_argument(
        "-r",
        "--max-repetitions",
        type=_repetitions,
        default=DEFAULT_MAX_REPETITIONS,
        metavar="N",
        help=f"var-binds asked per GETBULK, 1..1000 (default {DEFAULT_MAX_REPETITIONS})",
    )
    return walk


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``fleettop walk`` with the parsed ``args`` (:func:`add_parser`); print
    to ``out`` (default ``sys.stdout``) and the reason of a failure to stderr.

    Returns:
        The exit code (module docstring): 0, 1, 2, 130 or 141.
    """
    stream = out if out is not None else sys.stdout
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("fleettop walk: %(levelname)s %(name)s: %(message)s")
        )
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.ERROR)
    try:
        conf, config = _device_config(args.config, args.device)
        return asyncio.run(_walk(args, config, conf, stream))
    except _Failed as failure:
        print(f"fleettop walk: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        print("fleettop walk: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``| head``): point stdout at /dev/null so the
        # interpreter's final flush is silent (Python's signal module documentation)
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        return EXIT_PIPE


def _device_config(path: Path, name: str) -> tuple[SnmpDeviceConfig, Config]:
    """The ``snmp:`` section of device ``name`` in the configuration at ``path``.

    Raises:
        _Failed: (exit 2) the configuration's problems, an unknown device (the known
            ones listed), or a device without ``snmp:``.
    """
    from console.config import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:  # file:line: field: message, as fleettop check
            print(problem, file=sys.stderr)
        raise _Failed(f"{path}: invalid configuration", EXIT_USAGE) from None
    snmp_devices = [device.name for device in config.devices if device.snmp is not None]
    for device in config.devices:
        if device.name == name:
            if device.snmp is None:
                raise _Failed(f"device {name!r} in {path} has no snmp: section", EXIT_USAGE)
            return device.snmp, config
    known = ", ".join(snmp_devices) if snmp_devices else "none"
    raise _Failed(f"no device {name!r} in {path} (SNMP devices: {known})", EXIT_USAGE)


def _resolver(config: Config) -> MibResolver:
    from console.snmp.mib import MibResolver

    return MibResolver(mib_paths=config.mib_paths)


async def _walk(
    args: argparse.Namespace, config: Config, conf: SnmpDeviceConfig, out: TextIO
) -> int:
    from console.oid import lookup_walk_root

    names: MibResolver | None = None
    loading: asyncio.Task[None] | None = None
    if not args.no_names:
        names = _resolver(config)
        loading = asyncio.create_task(names.aload())

    def lookup(text: str) -> str:
        resolver = names if names is not None else _resolver(config)
        resolver.load()
        return resolver.lookup(text)

    try:
        root = await asyncio.to_thread(lookup_walk_root, args.root, lookup)
    except ValueError as exc:
        raise _Failed(f"bad ROOT: {exc}", EXIT_USAGE) from None
    try:
        return await _walk_device(args, conf, root, names, loading, out)
    finally:
        if loading is not None and not loading.done():
            loading.cancel()
            with contextlib.suppress(BaseException):
                await loading


async def _walk_device(
    args: argparse.Namespace,
    conf: SnmpDeviceConfig,
    root: str,
    names: MibResolver | None,
    loading: asyncio.Task[None] | None,
    out: TextIO,
) -> int:
    from console.events import EventManager
    from console.format import format_value
    from console.snmp import SnmpDevice, SnmpError
    from console.snmpdisplay import ValueFormatter

    # the walk alone: no polling (a probe every polling_delay keeps the status)
    conf = dataclasses.replace(conf, polling_oids=(), polling_delay=3600.0)
    name = args.device
    async with EventManager() as bus:
        status: asyncio.Future[tuple[str, str | None]] = asyncio.get_running_loop().create_future()

        def on_status(event: Any) -> None:
            payload = event.payload
            if payload["status"] != "CONNECTING" and not status.done():
                status.set_result((payload["status"], payload.get("reason")))

        bus.subscribe(("snmp", name, "status"), on_status, name="walk-status")
        try:
            device = SnmpDevice(name, conf, bus)
        except ValueError as exc:
            raise _Failed(str(exc), EXIT_USAGE) from None
        async with device:
            try:
                async with asyncio.timeout(_CONNECT_GUARD):
                    state, reason = await status
            except TimeoutError:
                state, reason = "DISCONNECTED", f"no status after {_CONNECT_GUARD:.0f} s"
            if state != "CONNECTED":
                raise _Failed(f"device {name!r}: {reason or state}", EXIT_WALK)
            if loading is not None:
                await loading  # the names, loaded while the device connected
            resolve: Callable[[str], str | None] = (
                names.resolve if names is not None else lambda _oid: None
            )
            resolver = names
            formatter = ValueFormatter(lambda: resolver.info) if resolver is not None else None
            types: dict[str, Any] = {}  # the InetAddressTypes seen, for InetAddress values
            write = out.write
            try:
                rows = device.walk(root, max_repetitions=args.max_repetitions)
                async with contextlib.aclosing(rows) as walk:
                    async for oid, data in walk:
                        kind, value = str(data["type"]), data["value"]
                        if formatter is None:
                            display = format_value(kind, value)
                        else:
                            if formatter.is_context(oid):
                                types[oid] = data
                            display = formatter.display(oid, data, context=types)
                        mib_name = resolve(oid)
                        if args.json:
                            line = json.dumps(
                                {
                                    "oid": oid,
                                    "name": mib_name,
                                    "type": kind,
                                    "value": value,
                                    "display": display,
                                },
                                ensure_ascii=False,
                            )
                        elif mib_name:
                            line = f"{oid} {mib_name} = {kind}: {display}"
                        else:
                            line = f"{oid} = {kind}: {display}"
                        write(line + "\n")
            except SnmpError as exc:
                out.flush()
                raise _Failed(str(exc), EXIT_WALK) from None
            out.flush()
    return EXIT_OK
