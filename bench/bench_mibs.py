"""The MIB cache (issue 12 §4): first compile, cached restart and incremental add
of a few hundred MIB modules, each with its bound.

The modules are real MIB texts with real import graphs: fleettop's vendored IETF
base modules (IF-MIB, IANAifType-MIB, RFC1213-MIB), the Net-SNMP MIBs Debian ships
(``/usr/share/snmp/mibs``, package ``libsnmp-base``), the test MIB of
``tests/data/mibs``, as renamed copies (``tests/mib_helpers.py``: each copy renames
its modules and their imports consistently) to reach :data:`MODULES` and
:data:`ADDED` modules. Three phases, each in its own fresh cache root:

* **first compile**: ``compile_mibs`` over the main directory, cache empty (pysmi in
  a child process, dependency-ordered chunks); the baseline, in the same run: the
  same modules in one pysmi ``MibCompiler.compile`` batch (what fleettop did before,
  with no progress, no cancel and one key for everything); bound: at most
  :data:`FIRST_RATIO` x the baseline's time;
* **restart**: a fresh Python process makes a background resolver and loads what the
  cache holds (``MibResolver.load_cached``: index, keys, loading every compiled
  module into pysnmp, the name indexes), :data:`RESTARTS` times; bound: the median
  load at most :data:`RESTART_BOUND_S` s, and nothing pending (nothing would
  compile). Importing pysnmp (which the console has done for its engines by then)
  is reported apart, and so is the CPU time of the load (the machine is shared);
* **incremental add**: a new directory of :data:`ADDED` modules is added to
  ``mib_paths``; bound: exactly its modules are compiled (counted from the
  compiler's result, not timed); its time per module against the first compile's
  is reported (the child process's start is a fixed cost both pay).

Usage: ``python -m bench mibs`` (or ``python -m bench.bench_mibs``); a few minutes
on 2 busy cores. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.mib_helpers import real_sources, renamed_copies

__all__ = ["ADDED", "FIRST_RATIO", "MODULES", "RESTART_BOUND_S", "main"]

#: Modules of the main directory (at least; whole copies of the set).
MODULES = 300
#: Modules of the directory added for the incremental phase (at least).
ADDED = 60
#: Fresh-process restarts measured.
RESTARTS = 3
#: Target: a restart with unchanged sources loads within this many seconds.
RESTART_BOUND_S = 2.0
#: Target: first compile / one pysmi batch of the same modules.
FIRST_RATIO = 1.5

_RESTART = """
import json, sys, time
started = time.perf_counter()
from console.snmp.mib import MibResolver
imported = time.perf_counter()
cpu = time.process_time()
resolver = MibResolver(modules=(), mib_paths=sys.argv[2:], cache_dir=sys.argv[1], background=True)
pending = resolver.load_cached()
done = time.perf_counter()
print(json.dumps({"seconds": done - imported, "import_seconds": imported - started,
                  "cpu_seconds": time.process_time() - cpu, "pending": len(pending),
                  "modules": len(resolver.modules), "problems": len(resolver.problems)}))
"""


def _restart(cache: Path, dirs: list[Path]) -> dict[str, Any]:
    """One restart in a fresh interpreter (imports of pysnmp included)."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", _RESTART, str(cache), *map(str, dirs)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _one_batch(directory: Path, output: Path) -> float:
    """The baseline: every module of ``directory`` in one pysmi batch, in a fresh
    process (as the child of a compile is); returns the seconds."""
    script = (
        "import sys, time, pathlib\n"
        "from console.snmp.mibs import BASE_DIR, _stub_modules\n"
        "from console.snmp.mibs.process import _run_pysmi\n"
        "names = sorted(p.stem for p in pathlib.Path(sys.argv[1]).iterdir())\n"
        "started = time.perf_counter()\n"
        "done = _run_pysmi(names, [sys.argv[1], str(BASE_DIR)], sys.argv[2], "
        "sorted(_stub_modules()))\n"
        "print(time.perf_counter() - started, sum(s == 'compiled' for s, _ in done.values()))\n"
    )
    root = Path(__file__).resolve().parents[1]
    output.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", script, str(directory), str(output)],
        check=True,
        cwd=root,
        capture_output=True,
    )
    return time.perf_counter() - started


def _measure(work: Path) -> dict[str, Any]:
    from console.snmp.mibs import compile_mibs

    sources = real_sources()
    if len(sources) < 4:
        raise RuntimeError("too few MIB sources: install Debian's snmp (libsnmp-base)")
    per_copy = len(sources)
    copies = -(-MODULES // per_copy)
    added_copies = -(-ADDED // per_copy)
    main_dir, new_dir, cache = work / "mibs", work / "vendor-new", work / "cache"
    modules = renamed_copies(sources, main_dir, range(copies))
    added = renamed_copies(sources, new_dir, range(copies, copies + added_copies))

    batch_s = _one_batch(main_dir, work / "one-batch")
    started = time.perf_counter()
    first = compile_mibs([main_dir], cache_dir=cache)
    first_s = time.perf_counter() - started

    restarts = [_restart(cache, [main_dir]) for _ in range(RESTARTS)]
    restart_s = statistics.median(r["seconds"] for r in restarts)

    started = time.perf_counter()
    incremental = compile_mibs([main_dir, new_dir], cache_dir=cache)
    incremental_s = time.perf_counter() - started
    after = _restart(cache, [main_dir, new_dir])

    first_per_module = first_s / max(1, len(first.compiled))
    incremental_per_module = incremental_s / max(1, len(incremental.compiled))
    ratio = incremental_per_module / first_per_module
    return {
        "sources_per_copy": per_copy,
        "modules": len(modules),
        "first_compile_s": round(first_s, 2),
        "first_compiled": len(first.compiled),
        "first_failed": len(first.problems),
        "baseline_one_batch_s": round(batch_s, 2),
        "first_vs_one_batch": round(first_s / batch_s, 2),
        "first_ratio_bound": FIRST_RATIO,
        "first_met": first_s / batch_s <= FIRST_RATIO,
        "restart_median_s": round(restart_s, 3),
        "restart_runs_s": [round(r["seconds"], 3) for r in restarts],
        "restart_cpu_s": [round(r["cpu_seconds"], 3) for r in restarts],
        "restart_import_pysnmp_s": [round(r["import_seconds"], 3) for r in restarts],
        "restart_modules_loaded": restarts[0]["modules"],
        "restart_pending": max(r["pending"] for r in restarts),
        "restart_bound_s": RESTART_BOUND_S,
        "restart_met": restart_s <= RESTART_BOUND_S and all(r["pending"] == 0 for r in restarts),
        "added_modules": len(added),
        "incremental_s": round(incremental_s, 2),
        "incremental_compiled": len(incremental.compiled),
        "incremental_compiled_only_new": sorted(incremental.compiled) == sorted(added),
        "incremental_per_module_ratio": round(ratio, 2),
        "incremental_met": sorted(incremental.compiled) == sorted(added),
        "restart_after_add_s": round(after["seconds"], 3),
        "restart_after_add_modules": after["modules"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"modules", "first_compile_s", "first_compiled", "restart_median_s",
        "restart_bound_s", "restart_met", "added_modules", "incremental_s",
        "incremental_compiled", "incremental_compiled_only_new",
        "incremental_per_module_ratio", "incremental_met", ...}`` (seconds).

    Raises:
        RuntimeError: too few MIB sources on this machine.
    """
    with tempfile.TemporaryDirectory(prefix="bench-mibs-") as work:
        results = _measure(Path(work))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
