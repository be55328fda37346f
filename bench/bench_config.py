"""Configuration check at fleet scale: ``check_config`` on a 100,000-device file against
PyYAML's C loader reading the same file, in the same run.

Run with ``python -m bench.bench_config`` (or ``python -m bench config``).

The file (:func:`fleet_text`) has :data:`DEVICES` SNMP devices, six lines each (16 MB),
the last one repeating the first one's name, so the check must still read, validate
and cross-check everything to report that duplicate. Each measurement runs in a child
process of its own (``--phase NAME FILE``), so its peak RSS (``ru_maxrss``) is its
own:

* ``baseline``: ``yaml.load(text, Loader=yaml.CSafeLoader)``, libyaml's parser and
  PyYAML's constructor, no validation, no line numbers;
* ``check``: :func:`console.config.check_config` (what ``fleettop check`` runs):
  parse with line marks, schema, cross-checks; must report the duplicate;
* ``load``: :func:`console.config.load_config` on the file without the duplicate:
  the above plus building the frozen dataclasses (what ``fleettop run`` does first);
* ``mapping``: the dict -> dataclass step alone on the checked data, msgspec (used)
  against dacite, for the record of why msgspec was chosen.

Figures: wall and CPU seconds, peak RSS, and ``check / baseline`` wall ratio. Bounds:
the check within :data:`WALL_BOUND_S` seconds and :data:`RSS_BOUND_MB` MB (issue 11
§2; it took 84 s and 980 MB before). On a machine shared with other work, compare the
ratio: wall seconds move with the load, the ratio much less.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["DEVICES", "RSS_BOUND_MB", "WALL_BOUND_S", "fleet_text", "main"]

#: Devices in the benchmark file.
DEVICES = 100_000
#: Longest acceptable ``check_config`` wall time, seconds.
WALL_BOUND_S = 10.0
#: Largest acceptable ``check_config`` peak RSS, MB.
RSS_BOUND_MB = 300.0


def fleet_text(devices: int, *, duplicate: bool = True) -> str:
    """A configuration of ``devices`` SNMP devices (two polled OIDs each); with
    ``duplicate`` the last device takes the first one's name."""
    rows = ["devices:"]
    for n in range(devices):
        name = "dev-0" if duplicate and n == devices - 1 else f"dev-{n}"
        rows += [
            f"  - name: {name}",
            "    snmp:",
            f"      remote_host: 10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            "      version: V2C",
            "      community: public",
            "      polling_oids: [1.3.6.1.2.1.1.3.0, 1.3.6.1.2.1.1.5.0]",
        ]
    return "\n".join(rows) + "\n"


def _phase(name: str, file: str) -> dict[str, Any]:
    """Run one measurement in this process; return its figures."""
    import yaml

    wall, cpu = time.perf_counter(), time.process_time()
    result: dict[str, Any] = {}
    if name == "baseline":
        data = yaml.load(Path(file).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        result["devices"] = len(data["devices"])
    elif name == "check":
        from console.config import check_config

        result["problems"] = [str(problem) for problem in check_config(file, environ={})]
    elif name == "load":
        from console.config import load_config

        result["devices"] = len(load_config(file, environ={}).devices)
    elif name == "mapping":
        result.update(_mapping(file))
    result["wall_s"] = time.perf_counter() - wall
    result["cpu_s"] = time.process_time() - cpu
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _mapping(file: str) -> dict[str, Any]:
    """msgspec against dacite on the same prepared data (the conversion step only)."""
    import msgspec

    from console.config import Config
    from console.config.convert import _decode, prepare
    from console.config.source import read

    doc = read(Path(file).read_text(encoding="utf-8"), {})
    assert isinstance(doc.data, dict)
    data = prepare(doc.data, Path(file).parent)
    figures: dict[str, Any] = {}
    start = time.perf_counter()
    msgspec.convert(data, Config, dec_hook=_decode)
    figures["msgspec_s"] = time.perf_counter() - start
    try:
        import dacite
    except ImportError:
        return figures
    from console.secrets import Secret

    config = dacite.Config(type_hooks={Secret: Secret, Path: Path}, cast=[tuple, frozenset])
    start = time.perf_counter()
    dacite.from_dict(Config, data, config=config)
    figures["dacite_s"] = time.perf_counter() - start
    return figures


def _run_phase(name: str, file: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_config", "--phase", name, str(file)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def main() -> dict[str, Any]:
    """Write the files, run every phase in a child process, print and return the
    figures: ``{"baseline": {...}, "check": {...}, "load": {...}, "mapping": {...},
    "ratio": check wall / baseline wall, "wall_met": bool, "rss_met": bool,
    "duplicate_reported": bool}``."""
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Path(tmp) / "fleet.yaml"
        fleet.write_text(fleet_text(DEVICES), encoding="utf-8")
        unique = Path(tmp) / "unique.yaml"
        unique.write_text(fleet_text(DEVICES, duplicate=False), encoding="utf-8")
        results: dict[str, Any] = {
            "baseline": _run_phase("baseline", fleet),
            "check": _run_phase("check", fleet),
            "load": _run_phase("load", unique),
            "mapping": _run_phase("mapping", unique),
        }
    check, baseline = results["check"], results["baseline"]
    results["ratio"] = check["wall_s"] / baseline["wall_s"]
    results["wall_met"] = check["wall_s"] <= WALL_BOUND_S
    results["rss_met"] = check["peak_rss_mb"] <= RSS_BOUND_MB
    results["duplicate_reported"] = any("duplicate device name" in p for p in check["problems"])
    size = len(fleet_text(DEVICES)) / 1e6
    print(f"configuration check: {DEVICES:,} devices, {size:.0f} MB of YAML")
    for name in ("baseline", "check", "load"):
        figures = results[name]
        print(
            f"  {name:<8} wall {figures['wall_s']:6.2f} s   cpu {figures['cpu_s']:6.2f} s"
            f"   peak RSS {figures['peak_rss_mb']:6.0f} MB"
        )
    print(
        f"  check / yaml.load(CSafeLoader) wall ratio {results['ratio']:.2f}x;"
        f" bounds: {WALL_BOUND_S:.0f} s {'met' if results['wall_met'] else 'NOT met'},"
        f" {RSS_BOUND_MB:.0f} MB {'met' if results['rss_met'] else 'NOT met'};"
        f" duplicate {'reported' if results['duplicate_reported'] else 'NOT reported'}"
    )
    mapping = results["mapping"]
    line = f"  dict -> dataclasses: msgspec {mapping['msgspec_s']:.2f} s"
    if "dacite_s" in mapping:
        line += f", dacite {mapping['dacite_s']:.2f} s"
    print(line)
    return results


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--phase":
        print(json.dumps(_phase(sys.argv[2], sys.argv[3])))
    else:
        main()
