"""``fleettop mibs CONFIG``: which MIB modules of ``mib_paths`` load, and why the
others do not.

::

    fleettop mibs fleet.yaml            # a table, then every failure with its reason
    fleettop mibs fleet.yaml --json     # one JSON document

Compiles what the cache lacks first (:func:`console.snmp.mibs.compile_mibs`; the
progress goes to stderr on a terminal), then loads every module as the console does
(:class:`console.snmp.mib.MibResolver`) and lists

* each module loaded from ``mib_paths`` (and each base module fleettop compiled
  because one of them imports it): name, objects (named OIDs) it defines, source
  file;
* each module that failed: name, source file, pysmi's (or pysnmp's) reason, and the
  imported modules no source defines.

Exit status: 0 when every module loaded, 2 when any failed (or the configuration is
invalid). ``fleettop check`` warns about the same failures (:func:`mib_warnings`)
without failing. Light at import: pysmi and pysnmp are imported when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.config import Config
    from console.snmp.mib import MibResolver

__all__ = ["add_parser", "mib_report", "mib_warnings", "run_mibs"]

EXIT_OK = 0
EXIT_FAILED = 2


def add_parser(commands: Any) -> None:
    """Add the ``mibs`` command to the ``fleettop`` sub-command parsers."""
    mibs = commands.add_parser(
        "mibs", help="list the MIB modules of mib_paths that load, and why others do not"
    )
    mibs.add_argument("config", type=Path, metavar="CONFIG", help="YAML configuration file")
    mibs.add_argument("--json", action="store_true", help="print one JSON document")


def _progress_printer() -> Any:
    """A ``progress(done, total)`` writing ``MIBs: compiling N/M`` on stderr, when
    stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\rMIBs: compiling {done}/{total}", end=end, file=sys.stderr, flush=True)

    return progress


def _load(config: Config) -> MibResolver:
    """Compile (what the cache lacks) and load ``config.mib_paths``."""
    import logging

    from console.snmp.mib import MibResolver

    # the report says it all: no warning lines from the loader on top
    logging.getLogger("console.snmp.mib").setLevel(logging.ERROR)
    resolver = MibResolver(modules=(), mib_paths=config.mib_paths, background=True)
    resolver.load_cached()
    resolver.compile_pending(_progress_printer())
    return resolver


def mib_report(resolver: MibResolver) -> dict[str, Any]:
    """The report of a loaded resolver, as ``--json`` prints it.

    Returns:
        ``{"loaded": [{"module", "file", "objects"}], "failed": [{"module", "file",
        "reason", "missing"}], "compiled": [module]}``: ``file`` a path or ``null``,
        ``objects`` the named OIDs the module defines, ``missing`` the imported
        modules no source defines, ``compiled`` the modules this run compiled.
    """
    from console.snmp.mibs import BASE_DIR

    compiled = resolver.compiled
    counts = resolver.module_objects()
    loaded_names = set(resolver.modules)
    loaded: list[dict[str, Any]] = []
    if compiled is not None:
        for name in compiled.modules:
            if name not in loaded_names:
                continue
            file = compiled.sources.get(name)
            if file is None and (BASE_DIR / f"{name}.mib").is_file():
                file = BASE_DIR / f"{name}.mib"
            loaded.append(
                {
                    "module": name,
                    "file": str(file) if file else None,
                    "objects": counts.get(name, 0),
                }
            )
    failed = [
        {
            "module": p.module,
            "file": str(p.file) if p.file else None,
            "reason": p.reason,
            "missing": list(p.missing),
        }
        for p in resolver.problems
    ]
    return {
        "loaded": loaded,
        "failed": failed,
        "compiled": list(compiled.compiled) if compiled is not None else [],
    }


def mib_warnings(config: Config) -> list[str]:
    """One line per MIB module of ``config.mib_paths`` that does not load (compiling
    what the cache lacks first): ``warning: MIB FILE (MODULE) not loaded: REASON``."""
    if not config.mib_paths:
        return []
    resolver = _load(config)
    return [f"warning: {problem}" for problem in resolver.problems]


def _print_text(report: dict[str, Any]) -> None:
    loaded, failed = report["loaded"], report["failed"]
    if loaded:
        width = max(len(row["module"]) for row in loaded)
        print(f"{'MODULE':<{width}}  {'OBJECTS':>7}  SOURCE")
        for row in loaded:
            print(f"{row['module']:<{width}}  {row['objects']:>7}  {row['file'] or '-'}")
    if failed:
        print("\nfailed:")
        for row in failed:
            print(f"{row['module']}  {row['file'] or '-'}")
            print(f"    {row['reason']}")
            if row["missing"]:
                print(f"    missing imports: {', '.join(row['missing'])}")
    compiled = len(report["compiled"])
    print(
        f"\n{len(loaded)} loaded, {len(failed)} failed"
        + (f" ({compiled} compiled now)" if compiled else "")
    )


def run_mibs(args: argparse.Namespace) -> int:
    """Run ``fleettop mibs``; return the exit status (module docstring)."""
    from console.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_FAILED
    if not config.mib_paths:
        if args.json:
            print(json.dumps({"loaded": [], "failed": [], "compiled": []}))
        else:
            print(f"{args.config}: no mib_paths: only pysnmp's bundled MIB modules are used")
        return EXIT_OK
    report = mib_report(_load(config))
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print_text(report)
    return EXIT_FAILED if report["failed"] else EXIT_OK
