"""Property-store throughput: fleettop's :class:`~console.store.PropertyStore` against
the Astarte SDK for Python's own ``AstarteDatabaseSQLite``, on the same disk, in the
same run.

Run with ``python -m bench.bench_store`` (or ``python -m bench store``); about 30 s,
bounded by :data:`ASTARTE_BUDGET` and the sizes below.

Scenarios, over :data:`PROPS` properties (``/sensor{i}/value`` of one interface,
longinteger values):

* ``store``: ``store_prop`` of every property, until all are durable. fleettop:
  ``await store_prop(...)`` each (queued), then one ``await flush()``; the SDK:
  ``store_prop(...)`` each (a connection and a commit per call). The SDK is far
  slower, so it runs for at most :data:`ASTARTE_BUDGET` seconds and its rate is
  ``properties stored / seconds``. Target: fleettop / SDK >= :data:`TARGET_RATIO`.
* ``load_all``: ``load_all_props`` of :data:`PROPS` properties (best of
  :data:`REPEATS`). For the SDK the table is filled directly with what its
  ``store_prop`` would write (pickled values), not timed, then read back through
  ``load_all_props``.
* queries on :data:`PROPS` properties (fleettop only; the SDK has none): a substring
  filter and an MQTT-style ``+`` filter, first page of :data:`PAGE` rows, and their
  ``count`` (a full scan), best of :data:`REPEATS`, in ms.

The SDK baseline (PyPI ``astarte-device-sdk`` :data:`SDK_VERSION`) is not a fleettop
dependency: it pulls grpcio, protobuf and the ``bson`` package (which would shadow
pymongo's ``bson``). It runs in its own virtual environment, in a subprocess: the one
named by ``FLEETTOP_ASTARTE_PYTHON`` (its ``python``), else
``$TMPDIR/fleettop-astarte-sdk-<version>/``, created with ``pip install`` on first
use. Without it the fleettop figures are still printed and ``target_met`` is ``None``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from console.store import Ownership, PropertyStore, PropertyType, Source

__all__ = ["ASTARTE_BUDGET", "PROPS", "SDK_VERSION", "TARGET_RATIO", "main"]

#: Properties per scenario.
PROPS = 100_000
#: Seconds the SDK's store_prop loop may run (it manages about 1k/s on this disk).
ASTARTE_BUDGET = 10.0
#: Repeats of the read scenarios; the best counts.
REPEATS = 3
#: Rows per query page.
PAGE = 1000
#: Smallest acceptable fleettop / SDK store_prop throughput ratio.
TARGET_RATIO = 20.0
#: The SDK release measured.
SDK_VERSION = "0.14.0"

INTERFACE = "org.fleettop.bench.Values"
DEVICE = "bench-dev"

# Runs in the SDK's virtual environment: argv = db, db_load, props, budget; prints JSON.
_ASTARTE_SCRIPT = r"""
import json, pickle, sqlite3, sys, time
from pathlib import Path
from astarte.device.database import AstarteDatabaseSQLite

db_path, load_path = Path(sys.argv[1]), Path(sys.argv[2])
props, budget, interface = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
db = AstarteDatabaseSQLite(db_path)
stored = 0
start = time.perf_counter()
deadline = start + budget
for i in range(props):
    db.store_prop(interface, 1, f"/sensor{i}/value", i + 1)  # i + 1: the SDK deletes falsy values
    stored += 1
    if not stored % 100 and time.perf_counter() > deadline:
        break
store_seconds = time.perf_counter() - start

loader = AstarteDatabaseSQLite(load_path)
with sqlite3.connect(load_path) as conn:
    conn.executemany(
        "INSERT INTO properties (interface, major, path, value) VALUES (?, ?, ?, ?)",
        ((interface, 1, f"/sensor{i}/value", pickle.dumps(i + 1)) for i in range(props)),
    )
conn.close()
loads = []
for _ in range(int(sys.argv[6])):
    start = time.perf_counter()
    found = loader.load_all_props()
    loads.append(time.perf_counter() - start)
    assert len(found) == props, len(found)
print(json.dumps({"stored": stored, "store_seconds": store_seconds, "load_seconds": min(loads)}))
"""


def _sdk_python() -> tuple[Path | None, str]:
    """The ``python`` of an environment with the Astarte SDK, creating one if needed.

    Returns:
        ``(path, description)``, or ``(None, why not)``.
    """
    named = os.environ.get("FLEETTOP_ASTARTE_PYTHON")
    if named:
        return Path(named), f"astarte-device-sdk from FLEETTOP_ASTARTE_PYTHON={named}"
    venv = Path(tempfile.gettempdir()) / f"fleettop-astarte-sdk-{SDK_VERSION}"
    python = venv / "bin" / "python"
    description = f"astarte-device-sdk {SDK_VERSION} in its own venv {venv}"
    probe = [str(python), "-c", "import astarte.device.database"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python, description
    print(f"  installing astarte-device-sdk {SDK_VERSION} into {venv} (once) ...", flush=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", f"astarte-device-sdk=={SDK_VERSION}"],
        probe,
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            return None, f"could not set up the SDK ({' '.join(step[:3])}): {done.stderr[-300:]}"
    return python, description


def _astarte(folder: Path) -> dict[str, Any] | str:
    """Run the SDK's side; return its figures, or why it could not run."""
    python, description = _sdk_python()
    if python is None:
        return description
    done = subprocess.run(
        [
            str(python),
            "-c",
            _ASTARTE_SCRIPT,
            str(folder / "astarte-store.db"),
            str(folder / "astarte-load.db"),
            str(PROPS),
            str(ASTARTE_BUDGET),
            INTERFACE,
            str(REPEATS),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=ASTARTE_BUDGET + 120,
    )
    if done.returncode != 0:
        return f"the SDK side failed: {done.stderr[-500:]}"
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["description"] = description
    return figures


async def _best_ms(call: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    """Best wall time of ``await call()`` in ms, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = await call()
        best = min(best, time.perf_counter() - start)
    return best * 1000, result


async def _fleettop(folder: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with await PropertyStore.open(folder / "fleettop.db") as store:
        gc.collect()
        store_prop = store.store_prop
        start = time.perf_counter()
        for i in range(PROPS):
            await store_prop(
                DEVICE,
                INTERFACE,
                1,
                f"/sensor{i}/value",
                i + 1,
                type=PropertyType.LONGINTEGER,
                ownership=Ownership.DEVICE,
                source=Source.SNMP,
            )
        await store.flush()
        figures["store_seconds"] = time.perf_counter() - start
        figures["batches"] = store.stats.batches

        figures["load_all_ms"], loaded = await _best_ms(lambda: store.load_all_props(DEVICE))
        if len(loaded) != PROPS:
            raise AssertionError(f"load_all_props returned {len(loaded)} of {PROPS}")
        queries = {
            "query_substring_ms": lambda: store.query(path_filter="sensor4242", limit=PAGE),
            "query_pattern_ms": lambda: store.query(path_filter="/+/value", limit=PAGE),
            "count_substring_ms": lambda: store.count(path_filter="sensor4242"),
            "count_pattern_ms": lambda: store.count(path_filter="/+/value"),
        }
        expected = {
            "query_substring_ms": 11,  # sensor4242, sensor42420..42429
            "query_pattern_ms": PAGE,
            "count_substring_ms": 11,
            "count_pattern_ms": PROPS,
        }
        for name, call in queries.items():
            figures[name], result = await _best_ms(call, REPEATS + 2)
            size = result if isinstance(result, int) else len(result)
            if size != expected[name]:
                raise AssertionError(f"{name}: {size} rows, expected {expected[name]}")
    return figures


def main() -> dict[str, Any]:
    """Run every scenario, print a table and a JSON summary, and return the figures.

    Returns:
        ``{"props", "fleettop_store_per_s", "astarte_store_per_s", "astarte_stored",
        "store_ratio", "fleettop_load_all_ms", "astarte_load_all_ms",
        "query_substring_ms", "query_pattern_ms", "count_substring_ms",
        "count_pattern_ms", "baseline", "target_ratio", "target_met"}``; the SDK's
        figures are ``None`` when it could not run (``baseline`` says why).
    """
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-store-") as tmp:
        folder = Path(tmp)
        mine = asyncio.run(_fleettop(folder))
        theirs = _astarte(folder)
    results: dict[str, Any] = {
        "props": PROPS,
        "fleettop_store_per_s": PROPS / mine["store_seconds"],
        "fleettop_batches": mine["batches"],
        "fleettop_load_all_ms": mine["load_all_ms"],
        **{k: v for k, v in mine.items() if k.startswith(("query_", "count_"))},
        "target_ratio": TARGET_RATIO,
    }
    if isinstance(theirs, str):
        results.update(
            astarte_store_per_s=None,
            astarte_stored=None,
            astarte_load_all_ms=None,
            store_ratio=None,
            baseline=theirs,
            target_met=None,
        )
    else:
        astarte_rate = theirs["stored"] / theirs["store_seconds"]
        results.update(
            astarte_store_per_s=astarte_rate,
            astarte_stored=theirs["stored"],
            astarte_load_all_ms=theirs["load_seconds"] * 1000,
            store_ratio=results["fleettop_store_per_s"] / astarte_rate,
            baseline=theirs["description"],
        )
        results["target_met"] = results["store_ratio"] >= TARGET_RATIO

    print(f"property store: {PROPS:,} properties, same disk ({tempfile.gettempdir()})")
    print(f"  baseline: {results['baseline']}")
    rate = results["astarte_store_per_s"]
    print(
        f"  store_prop: fleettop {results['fleettop_store_per_s']:>10,.0f}/s"
        f" ({results['fleettop_batches']} transactions)"
        + (
            f"   SDK {rate:>8,.0f}/s ({results['astarte_stored']:,} in"
            f" {ASTARTE_BUDGET:.0f} s max)   ratio {results['store_ratio']:.0f}x"
            f" (target >= {TARGET_RATIO:.0f}x)"
            if rate
            else ""
        )
    )
    sdk_load = results["astarte_load_all_ms"]
    print(
        f"  load_all_props: fleettop {results['fleettop_load_all_ms']:,.0f} ms"
        + (f"   SDK {sdk_load:,.0f} ms" if sdk_load else "")
    )
    print(
        f"  query first {PAGE} rows: substring {results['query_substring_ms']:.1f} ms,"
        f" '/+/value' {results['query_pattern_ms']:.1f} ms;"
        f" count: substring {results['count_substring_ms']:.1f} ms,"
        f" '/+/value' {results['count_pattern_ms']:.1f} ms"
    )
    print(f"  target met: {results['target_met']}")
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
