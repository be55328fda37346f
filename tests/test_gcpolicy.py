"""The latency GC policy against CPython's real collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from console.gcpolicy import LatencyGc


@pytest.fixture
def policy() -> Iterator[LatencyGc]:
    now = [0.0]
    policy = LatencyGc(thaw_every=60.0, clock=lambda: now[0])
    policy.now = now  # type: ignore[attr-defined]
    yield policy
    policy.uninstall()
    gc.unfreeze()


class Cycle:
    """An object in a reference cycle (only the cyclic collector frees it)."""

    def __init__(self) -> None:
        self.me = self


def test_survivors_of_a_full_collection_are_frozen_and_a_thaw_reclaims_cycles(
    policy: LatencyGc,
) -> None:
    gc.unfreeze()
    policy.install()
    assert policy.installed
    frozen_at_install = gc.get_freeze_count()
    assert frozen_at_install > 0
    kept = [Cycle() for _ in range(100)]
    gc.collect()  # a full collection: its survivors (kept) join the frozen ones
    assert policy.full_collections == 1
    assert gc.get_freeze_count() >= frozen_at_install + 100
    del kept  # cycles now garbage, but frozen: a normal full collection skips them
    assert gc.collect() == 0
    policy.now[0] = 61.0  # type: ignore[attr-defined]
    gc.collect()  # the thaw is due: this collection unfreezes everything
    assert policy.thaws == 1
    assert gc.get_freeze_count() == 0
    assert gc.collect() >= 100  # the whole heap is scanned: the cycles are reclaimed
    assert gc.get_freeze_count() > 0  # and the survivors frozen again


def test_uninstall_gives_the_collector_back(policy: LatencyGc) -> None:
    policy.install()
    policy.install()  # idempotent
    assert gc.callbacks.count(policy._on_collection) == 1
    policy.uninstall()
    assert not policy.installed
    assert policy._on_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError, match="positive"):
        LatencyGc(thaw_every=0)
