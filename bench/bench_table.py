"""Table grid refresh: the Interfaces grid updated in place against the same grid
rebuilt, in the same run.

A headless Textual app (``App.run_test``) shows a :class:`widgets.table_grid.GridTable`
of the Interfaces view over :data:`ROWS` synthetic interfaces. Each refresh folds a
fetch in which every counter moved faster than before (so every rate cell changes:
the worst case),
then:

* **in place** (fleettop): ``GridTable.show(grid, changes)``: only the changed cells
  rewritten (``update_cell``), then DataTable's ``sort`` for the order (by In bit/s,
  descending, the operator's "top talkers");
* **rebuild** (the baseline, what ``clear()`` + ``add_row`` per refresh costs):
  ``GridTable.show(grid)`` with no changes given, which clears and adds every row.

Each is timed from the call until the screen has processed it (``pilot.pause()``:
layout and paint included), :data:`REFRESHES` times. Usage:
``python -m bench.bench_table`` (or ``python -m bench table``); a few seconds.
Prints a JSON summary and returns it from :func:`main`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from textual.app import App, ComposeResult

from console.tables.grid import TableGrid
from console.tables.views import interfaces_view
from widgets.table_grid import GridTable

__all__ = ["REFRESHES", "ROWS", "main"]

#: Interfaces in the grid (a large access switch stack has ~500; a router ~5,000).
ROWS = (1_000, 5_000)
#: Refreshes timed per variant.
REFRESHES = 10

_IF_X = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
_IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)


def _fetch(rows: int, step: int) -> dict[tuple[int, ...], dict[tuple[int, ...], Any]]:
    def column(values: Any) -> dict[tuple[int, ...], Any]:
        return {(i,): values(i) for i in range(1, rows + 1)}

    return {
        (*_IF_X, 1): column(lambda i: {"type": "STRING", "value": f"Gi{i // 48}/{i % 48}"}),
        (*_IF, 2): column(lambda i: {"type": "STRING", "value": f"GigabitEthernet{i}"}),
        (*_IF_X, 18): column(lambda i: {"type": "STRING", "value": f"uplink {i}"}),
        (*_IF, 7): column(lambda i: {"type": "INTEGER", "value": 1}),
        (*_IF, 8): column(lambda i: {"type": "INTEGER", "value": 1 + i % 2}),
        (*_IF_X, 15): column(lambda i: {"type": "UNSIGNED", "value": 1000}),
        (*_IF_X, 6): column(lambda i: {"type": "BIG_COUNTER", "value": step * step * i * 977}),
        (*_IF_X, 10): column(lambda i: {"type": "BIG_COUNTER", "value": step * step * i * 531}),
        (*_IF, 14): column(lambda i: {"type": "COUNTER", "value": step * step * (i % 7)}),
        (*_IF, 20): column(lambda i: {"type": "COUNTER", "value": step * step * (i % 5)}),
        (*_IF, 13): column(lambda i: {"type": "COUNTER", "value": step * step * (i % 3)}),
        (*_IF, 19): column(lambda i: {"type": "COUNTER", "value": step * step * (i % 11)}),
    }


class _GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield GridTable(id="grid")


async def _measure(rows: int) -> dict[str, float]:
    app = _GridApp()
    timings: dict[str, list[float]] = {"in_place": [], "rebuild": []}
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(GridTable)
        grid = TableGrid(interfaces_view())
        grid.update(_fetch(rows, 1), 0.0)
        table.show(grid)
        table.sort_by("in_bits", reverse=True)
        await pilot.pause()
        for step in range(2, 2 + 2 * REFRESHES):
            changes = grid.update(_fetch(rows, step), float(step))
            variant = "in_place" if step % 2 else "rebuild"
            started = time.perf_counter()
            with app.batch_update():
                table.show(grid, changes if variant == "in_place" else None)
            await pilot.pause()
            timings[variant].append(time.perf_counter() - started)
    return {
        f"{name}_ms_p50": round(statistics.median(values) * 1000, 1)
        for name, values in timings.items()
    }


def main() -> dict[str, Any]:
    """Run the benchmark; print and return the summary."""
    summary: dict[str, Any] = {}
    for rows in ROWS:
        result = asyncio.run(_measure(rows))
        result["ratio_in_place_to_rebuild"] = round(
            result["in_place_ms_p50"] / result["rebuild_ms_p50"], 2
        )
        summary[f"{rows}_rows"] = result
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
