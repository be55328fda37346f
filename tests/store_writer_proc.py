"""A process that writes to a property store, for ``tests/test_store_crash.py``.

Usage (from the repository root)::

    python -m tests.store_writer_proc DB RUN [--rows N] [--batches K] [--close]

Writes batches of ``--rows`` properties to device ``RUN`` of the store ``DB``: batch
``k`` is the paths ``/b{k}/{i}`` with the longinteger values ``k * rows + i``.

* default: forever; after each batch it awaits ``flush()`` and prints
  ``committed k`` (flushed to stdout at once), so every printed batch is one the
  store reported committed. The test SIGKILLs it at a random moment.
* ``--close``: writes ``--batches`` batches without any flush, then ``aclose()``,
  prints ``closed K`` and exits 0 (a clean shutdown must lose nothing).

Also prints ``opened`` once the store is open. Exits 3 with the error on a
:class:`~console.store.StoreError`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys

from console.store import Ownership, PropertyStore, PropertyType, Source, StoreError

INTERFACE = "org.fleettop.test.Crash"


async def write(db: str, run: str, rows: int, batches: int | None, close: bool) -> int:
    try:
        store = await PropertyStore.open(db)
    except StoreError as exc:
        print(f"error {exc}", flush=True)
        return 3
    print("opened", flush=True)
    counter = itertools.count() if batches is None else range(batches)
    for k in counter:
        for i in range(rows):
            await store.store_prop(
                run,
                INTERFACE,
                1,
                f"/b{k}/{i}",
                k * rows + i,
                type=PropertyType.LONGINTEGER,
                ownership=Ownership.DEVICE,
                source=Source.OPERATOR,
            )
        if not close:
            await store.flush()
            print(f"committed {k}", flush=True)
    await store.aclose()
    print(f"closed {batches}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db")
    parser.add_argument("run")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--close", action="store_true")
    args = parser.parse_args()
    return asyncio.run(write(args.db, args.run, args.rows, args.batches, args.close))


if __name__ == "__main__":
    sys.exit(main())
