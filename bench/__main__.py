"""Run every benchmark: each ``bench/bench_*.py`` module that exposes ``main()``.

Usage: ``python -m bench`` (all), or ``python -m bench bus snmp`` (only the modules
whose name, without the ``bench_`` prefix, is given). Exits 1 if any benchmark raised.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

__all__ = ["discover", "main"]


def discover() -> list[str]:
    """Return the module names (``bench_*``) found in the ``bench`` package, sorted."""
    here = Path(__file__).resolve().parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if info.name.startswith("bench_") and not info.ispkg
    )


def main(argv: list[str] | None = None) -> int:
    """Import and run every selected benchmark module's ``main()``; return an exit code."""
    wanted = set(sys.argv[1:] if argv is None else argv)
    names = [n for n in discover() if not wanted or n.removeprefix("bench_") in wanted]
    failed: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"{__package__ or 'bench'}.{name}")
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        run = getattr(module, "main", None)
        if not callable(run):
            continue
        print(f"== {name}")
        start = time.perf_counter()
        try:
            run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.perf_counter() - start:.1f} s)\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
