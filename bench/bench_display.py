"""The cost of ``display`` in SNMP read events: changed values published per second
by :class:`~console.snmp.manager.SnmpDevice`'s polling path with and without the
MIB formatter, as a ratio measured in the same run.

Only the event side is measured: the device's link is replaced by a stand-in that
answers at once (no agent, no socket), so the figure is the whole cost fleettop adds
per changed value -- tally, change detection, the payload, ``display`` and the bus
-- with nothing to hide it behind. Every value changes on every cycle (the worst
case: a real poll publishes only the values that changed; unchanged ones are never
formatted). The OIDs are IF-MIB columns of 64 interfaces (``ifAdminStatus``,
``ifOperStatus`` as enumerations, ``ifPhysAddress`` by its ``1x:`` hint, the
counters plainly), so the formatter's LRU of OID -> object is warm after the first
cycle, as it is after a device's first poll.

Sides, alternating rounds (best round of each counts):

* ``plain``: ``formatter=None`` -- ``display`` is the plain form
  (:func:`console.format.format_value`);
* ``mib``: a :class:`~console.snmpdisplay.ValueFormatter` over the loaded standard
  MIBs (``up(1)``, ``00:0c:29:...``).

A subscriber on ``("snmp", "*")`` receives every event, as the UI's would.

Usage: ``python -m bench.bench_display`` (or ``python -m bench display``); ~15 s
(loading the MIBs ~2 s). Prints a JSON summary and returns it from :func:`main`.
Target: ``mib`` / ``plain`` >= 0.5 (the worst case: every value formatted every
cycle; in real polling only changed values are).
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from typing import Any

from console.config import SnmpDeviceConfig
from console.events import EventManager
from console.secrets import Secret
from console.snmp.codec import Data
from console.snmp.link import Cycle
from console.snmp.manager import SnmpDevice
from console.snmp.mib import MibResolver
from console.snmpdisplay import ValueFormatter

__all__ = ["main"]

INTERFACES = 64
ROUNDS = 5
SECONDS = 1.0
TARGET = 0.5

_COLUMNS = {
    7: "INTEGER",  # ifAdminStatus
    8: "INTEGER",  # ifOperStatus
    6: "STRING_HEX",  # ifPhysAddress
    10: "COUNTER",  # ifInOctets
    16: "COUNTER",  # ifOutOctets
}


def _oids() -> list[str]:
    return [
        f"1.3.6.1.2.1.2.2.1.{column}.{index}"
        for index in range(1, INTERFACES + 1)
        for column in _COLUMNS
    ]


def _value(oid: str, step: int) -> Data:
    """A value of ``oid`` that differs from the previous step's."""
    column = int(oid.split(".")[-2])
    kind = _COLUMNS[column]
    if kind == "INTEGER":
        return {"type": "INTEGER", "value": 1 + step % 2}
    if kind == "STRING_HEX":
        return {"type": "STRING_HEX", "value": f"000c29a45b{step % 256:02x}"}
    return {"type": "COUNTER", "value": step * 1500}


async def _round(formatter: ValueFormatter | None, oids: list[str], seconds: float) -> float:
    """Changed values published per second through ``SnmpDevice._poll_batch``."""
    async with EventManager() as bus:
        received = [0]

        def count(_event: object) -> None:
            received[0] += 1

        bus.subscribe(("snmp", "*"), count)
        conf = SnmpDeviceConfig(
            remote_host="127.0.0.1",
            remote_port=161,
            version="V2C",
            community=Secret("public"),
            polling_oids=tuple(oids),
        )
        device = SnmpDevice("bench", conf, bus, formatter=formatter)
        step = [0]

        async def answer(_target: Any, batch: list[str], _cycle: Cycle) -> list[tuple[str, Data]]:
            return [(oid, _value(oid, step[0])) for oid in batch]

        device._link.get = answer  # type: ignore[method-assign]
        batches = [oids[i : i + 64] for i in range(0, len(oids), 64)]

        async def cycle() -> None:
            step[0] += 1
            for batch in batches:
                await device._poll_batch(None, batch, Cycle())

        await cycle()  # warm-up: INTERROGATE, the formatter's cache filled
        published = bus.published
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            await cycle()
        elapsed = time.perf_counter() - start
        events = bus.published - published
        await asyncio.sleep(0)
        return events / elapsed


async def _run() -> dict[str, Any]:
    mibs = MibResolver()
    await asyncio.to_thread(mibs.load)
    formatter = ValueFormatter(lambda: mibs.info)
    oids = _oids()
    sample = formatter.display(oids[0], {"type": "INTEGER", "value": 1})
    rounds: dict[str, list[float]] = {"plain": [], "mib": []}
    for _ in range(ROUNDS):
        rounds["plain"].append(await _round(None, oids, SECONDS))
        rounds["mib"].append(await _round(formatter, oids, SECONDS))
    best = {side: max(values) for side, values in rounds.items()}
    ratio = best["mib"] / best["plain"]
    return {
        "oids": len(oids),
        "sample_display": sample,
        "plain_events_per_s": round(best["plain"]),
        "mib_events_per_s": round(best["mib"]),
        "plain_rounds": [round(v) for v in rounds["plain"]],
        "mib_rounds": [round(v) for v in rounds["mib"]],
        "ratio": round(ratio, 3),
        "target_ratio": TARGET,
        "target_met": ratio >= TARGET,
    }


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"oids", "sample_display", "plain_events_per_s", "mib_events_per_s"
        (changed values published per second, best round), "plain_rounds",
        "mib_rounds", "ratio" (mib / plain), "target_ratio", "target_met"}``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        results = asyncio.run(_run())
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
