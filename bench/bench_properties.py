"""Property browser responsiveness: the Properties screen over 100k properties, against
the store queries it runs, in the same run.

A store in a temporary directory is filled with :data:`PROPS` properties
(:data:`DEVICES` devices x :data:`INTERFACES` interfaces x paths ``/sNNNN/value``,
``/sNNNN/temp``...), then the app runs headless (``App.run_test``) over a runtime that
has the store and nothing else (no pollers, no demo). On the Properties screen, with
the filter's debounce set to 0 (the 150 ms an operator gets is a choice, not a cost),
:data:`KEYSTROKES` keys are typed into the filter: substrings and MQTT-style
patterns, typed and erased. For each key:

* **UI**: from just before the key is pressed until the tree has been rebuilt for the
  new filter text (the screen's ``tree_updated_at``): key dispatch, the worker, the
  store queries, clearing and refilling the tree's first level;
* **store** (the baseline): the same queries the tree runs for that text, called
  directly (``device_counts(filter)`` and, with a filter, ``count()``).

Also measured: expanding one interface of ``PROPS / (DEVICES * INTERFACES)`` paths
until its first page (500 leaves) is in the tree, and the filter with the real
debounce (the latency an operator feels, debounce included).

Usage: ``python -m bench.bench_properties`` (or ``python -m bench properties``);
about 15 s. Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from console.app import FleettopApp
from console.config import Config
from console.events import EventManager
from console.format import Clock
from console.runtime import Runtime
from console.store import AuditRecorder, Ownership, PropertyStore, PropertyType, Source
from screens.properties import FILTER_DELAY, PropertiesScreen
from widgets.property_tree import PropertyTree

__all__ = ["DEVICES", "INTERFACES", "KEYSTROKES", "PROPS", "main"]

#: Properties in the store.
PROPS = 100_000
#: Devices they belong to.
DEVICES = 10
#: Interfaces per device.
INTERFACES = 4
#: What is typed into the filter, one key at a time ("\b" erases one character):
#: a substring, erased; an MQTT pattern, half erased. 20 keys.
TYPED = ["t", "e", "m", "p", "\b", "\b", "\b", "\b", "/", "+", "/", "v", "a", "l", "u", "e"]
TYPED += ["\b", "\b", "\b", "\b"]
KEYSTROKES = len(TYPED)
#: Keystrokes with the real debounce.
DEBOUNCED = 5
SIZE = (140, 40)
_LEAVES = ("value", "temp", "unit", "enabled", "rate")


class _StoreRuntime(Runtime):
    """A runtime with a bus and the property store at ``path``, nothing else."""

    def __init__(self, path: Path) -> None:
        super().__init__(Config(devices=()))
        self._path = path

    async def start(self) -> None:
        bus: EventManager = await self.start_bus()
        self.store = await PropertyStore.open(self._path)
        self.audit = AuditRecorder(bus, self.store)
        bus.publish(("store", "status"), {"persistent": True, "path": str(self._path)})


async def _fill(path: Path) -> float:
    """Store :data:`PROPS` properties; return the seconds it took."""
    started = time.perf_counter()
    per_interface = PROPS // (DEVICES * INTERFACES)
    async with await PropertyStore.open(path) as store:
        for d in range(DEVICES):
            for i in range(INTERFACES):
                interface = f"org.fleettop.bench.Sensors{i}"
                for n in range(per_interface):
                    leaf = _LEAVES[n % len(_LEAVES)]
                    await store.store_prop(
                        f"plant-{d:02d}",
                        interface,
                        1,
                        f"/s{n // len(_LEAVES):05d}/{leaf}",
                        n,
                        type=PropertyType.LONGINTEGER,
                        ownership=Ownership.DEVICE,
                        source=Source.MQTT,
                        minor=2,
                        updated_ms=1_700_000_000_000 + n,
                    )
        await store.flush()
    return time.perf_counter() - started


def _texts() -> list[str]:
    texts, text = [], ""
    for key in TYPED:
        text = text[:-1] if key == "\b" else text + key
        texts.append(text)
    return texts


async def _store_latencies(store: PropertyStore, texts: list[str]) -> list[float]:
    """What the tree queries per filter text, timed alone (ms)."""
    samples = []
    for text in texts:
        started = time.perf_counter()
        await store.device_counts(text or None)
        if text:
            await store.count()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _wait(pilot: Any, condition: Any, what: str, limit: float = 30.0) -> None:
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.001)


def _key(character: str) -> str:
    return {"\b": "backspace", "/": "slash", "+": "plus"}.get(character, character)


async def _ui(path: Path) -> dict[str, Any]:
    app = FleettopApp(_StoreRuntime(path), clock=Clock())
    texts = _texts()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await _wait(
            pilot, lambda: app.operator is not None and app.current_mode != "_default", "app"
        )
        await pilot.press("P")
        await _wait(pilot, lambda: isinstance(app.screen, PropertiesScreen), "the screen")
        screen = app.screen
        assert isinstance(screen, PropertiesScreen)
        await _wait(pilot, lambda: screen.filter_shown is not None, "the first load")
        tree = screen.query_one(PropertyTree)
        devices = len(tree.root.children)

        # expanding an interface: its first page of paths
        device = tree.root.children[0]
        device.expand()
        await _wait(pilot, lambda: bool(device.children), "the interfaces")
        interface = device.children[0]
        started = time.perf_counter()
        interface.expand()
        await _wait(pilot, lambda: tree.loaded_properties >= 500, "the first page")
        expand_ms = (time.perf_counter() - started) * 1000

        # keystrokes, no debounce
        screen.filter_delay = 0.0
        await pilot.press("slash")  # focus the filter
        ui_ms, shown = [], []
        for key, text in zip(TYPED, texts, strict=True):
            started = time.perf_counter()
            await pilot.press(_key(key))
            await _wait(
                pilot,
                lambda t=text, s=started: screen.filter_shown == t and screen.tree_updated_at > s,
                f"the tree for {text!r}",
            )
            ui_ms.append((screen.tree_updated_at - started) * 1000)
            shown.append(screen.shown)

        # keystrokes with the operator's debounce: only the last key of a burst loads
        screen.filter_delay = FILTER_DELAY
        debounced = []
        for key in ("t", "e", "m", "p", "backspace")[:DEBOUNCED]:
            started = time.perf_counter()
            await pilot.press(key)
            want = screen.query_one("#property-filter").value  # type: ignore[attr-defined]
            await _wait(
                pilot,
                lambda w=want, s=started: screen.filter_shown == w and screen.tree_updated_at > s,
                "the debounced tree",
            )
            debounced.append((screen.tree_updated_at - started) * 1000)
        total = screen.total
        store = app.runtime.store
        assert store is not None
        store_ms = await _store_latencies(store, texts)
        loaded = tree.loaded_properties
        await pilot.press("escape", "escape")
    return {
        "devices": devices,
        "total": total,
        "expand_first_page_ms": round(expand_ms, 1),
        "ui_ms": ui_ms,
        "store_ms": store_ms,
        "debounced_ms": debounced,
        "shown": shown,
        "leaves_loaded_at_end": loaded,
    }


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


async def _run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fleettop-bench-props-") as tmp:
        path = Path(tmp) / "props.db"
        fill_s = await _fill(path)
        measured = await _ui(path)
    ui_ms, store_ms = measured.pop("ui_ms"), measured.pop("store_ms")
    debounced = measured.pop("debounced_ms")
    result = {
        "properties": PROPS,
        "fill_seconds": round(fill_s, 2),
        "keystrokes": KEYSTROKES,
        "typed": "".join("⌫" if k == "\b" else k for k in TYPED),
        "ui_keystroke_to_tree_ms": {"p50": _pct(ui_ms, 0.5), "p99": _pct(ui_ms, 0.99)},
        "store_queries_ms": {"p50": _pct(store_ms, 0.5), "p99": _pct(store_ms, 0.99)},
        "ratio_ui_vs_store_p50": round(statistics.median(ui_ms) / statistics.median(store_ms), 2),
        "ratio_ui_vs_store_p99": round(_pct(ui_ms, 0.99) / _pct(store_ms, 0.99), 2),
        "with_debounce_ms": {
            "debounce": FILTER_DELAY * 1000,
            "p50": _pct(debounced, 0.5),
            "max": _pct(debounced, 1.0),
        },
        **measured,
    }
    return result


def main() -> dict[str, Any]:
    """Run the benchmark, print a JSON summary and return it.

    Returns:
        ``{"properties", "fill_seconds", "keystrokes", "typed",
        "ui_keystroke_to_tree_ms": {"p50", "p99"}, "store_queries_ms": {"p50", "p99"},
        "ratio_ui_vs_store_p50", "ratio_ui_vs_store_p99", "with_debounce_ms",
        "devices", "total", "expand_first_page_ms", "shown", "leaves_loaded_at_end"}``.
    """
    results = asyncio.run(_run())
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    main()
