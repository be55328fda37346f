"""The pacing of background work (console.pace): time slices, holds for the
operator's input that background work waits out, their share of each window, the
garbage collector paused meanwhile, paho's thread waiting, and a bus subscription
that delivers nothing while held and everything after."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from console.events import Event, EventManager
from console.pace import Pace


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_background_work_waits_while_held_and_goes_on_when_released() -> None:
    pace = Pace(hold_seconds=30, share=1.0, window=60, pause_gc=False)
    steps: list[str] = []

    async def background() -> None:
        for n in range(3):
            await pace.checkpoint()
            steps.append(f"work {n}")

    assert pace.hold()
    task = asyncio.create_task(background())
    for _ in range(20):
        await asyncio.sleep(0)
    assert steps == []  # held: not one step ran
    pace.release()
    await task
    assert steps == ["work 0", "work 1", "work 2"]
    assert not pace.holding


async def test_a_hold_nobody_releases_ends_by_time() -> None:
    pace = Pace(hold_seconds=0.05, pause_gc=False)
    assert pace.hold()
    started = time.monotonic()
    await pace.wait()
    assert time.monotonic() - started >= 0.04
    assert not pace.held
    assert not pace.holding


def test_holds_take_at_most_their_share_of_each_window() -> None:
    clock = FakeClock()
    pace = Pace(hold_seconds=0.2, share=0.5, window=1.0, pause_gc=False, clock=clock)
    granted = 0
    for _ in range(20):  # a key held down 2 s: a hold every 100 ms, each lasting it all
        if pace.hold():
            granted += 1
        clock.now += 0.1
        pace.release()
    # 100 ms each, 500 ms of each second at most: five in the first second, five in the next
    assert granted == 10
    clock.now = 200.0
    refused_before = pace.refused
    granted = 0
    for _ in range(10):  # never released: each hold lasts until the next key
        if pace.hold():
            granted += 1
        clock.now += 0.1
    assert granted == 5  # the sixth would pass 500 ms of this window
    assert pace.refused - refused_before == 5
    assert not pace.held
    clock.now += 1.0  # a new window: holds again
    assert pace.hold()


def test_the_garbage_collector_pauses_while_held() -> None:
    if not gc.isenabled():
        pytest.skip("the collector is off in this process")
    pace = Pace(hold_seconds=30, min_hold_seconds=0, share=1.0, window=60)
    assert pace.hold()
    try:
        assert not gc.isenabled()
    finally:
        pace.release()
    assert gc.isenabled()


def test_pauseless_pace_leaves_the_collector_alone() -> None:
    pace = Pace(hold_seconds=30, share=1.0, window=60, pause_gc=False)
    assert pace.hold()
    assert gc.isenabled()
    pace.release()


async def test_pahos_thread_waits_while_held() -> None:
    pace = Pace(hold_seconds=30, share=1.0, window=60, pause_gc=False)
    assert pace.hold()
    passed = threading.Event()

    def network_thread() -> None:
        pace.wait_thread()
        passed.set()

    thread = threading.Thread(target=network_thread)
    thread.start()
    await asyncio.sleep(0.05)
    assert not passed.is_set()
    pace.release()
    await asyncio.to_thread(thread.join, 10)
    assert passed.is_set()


async def test_a_slice_yields_once_its_time_is_used_up() -> None:
    pace = Pace(slice_seconds=0.002, pause_gc=False)
    ran: list[int] = []
    other_saw: list[int] = []

    async def work() -> None:
        slice_ = pace.slice()
        for n in range(40):
            spin_until = time.perf_counter() + 0.0005
            while time.perf_counter() < spin_until:
                pass
            ran.append(n)
            await slice_.tick()

    async def other() -> None:
        while len(ran) < 40:
            other_saw.append(len(ran))
            await asyncio.sleep(0)

    await asyncio.gather(work(), other())
    # 20 ms of work in slices of 2 ms: the other task ran in between, not only after
    assert any(0 < seen < 40 for seen in other_saw)
    assert len(set(other_saw)) >= 5


async def test_a_release_sooner_than_the_shortest_hold_takes_effect_then() -> None:
    pace = Pace(hold_seconds=30, min_hold_seconds=0.05, share=1.0, window=60, pause_gc=False)
    assert pace.hold()
    started = time.monotonic()
    pace.release()  # at once: the repaint it waits for may still be on its way
    assert pace.holding
    await pace.wait()
    assert time.monotonic() - started >= 0.04
    assert not pace.holding


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Pace(share=1.5)
    with pytest.raises(ValueError, match="negative"):
        Pace(hold_seconds=-1)


async def test_a_subscription_delivers_nothing_while_held_and_everything_after() -> None:
    pace = Pace(hold_seconds=30, share=1.0, window=60, pause_gc=False)
    async with EventManager(pace=pace) as bus:
        got: list[int] = []
        batches: list[int] = []
        bus.subscribe(("load", "*"), lambda e: got.append(e.payload))
        bus.subscribe(("load", "*"), lambda es: batches.append(len(es)), batch_size=10)
        assert pace.hold()
        for n in range(25):
            bus.publish(("load", str(n)), n)
        for _ in range(50):
            await asyncio.sleep(0)
        assert got == []
        assert batches == []
        pace.release()
        await bus.drain()
        assert got == list(range(25))
        assert sum(batches) == 25


async def test_a_new_mqtt_topic_is_routed_by_its_first_segment() -> None:
    async with EventManager() as bus:
        mqtt: list[Event] = []
        everything: list[Event] = []
        snmp: list[Event] = []
        bus.subscribe(("mqtt", "?", "message", "*"), mqtt.append)
        bus.subscribe(("*",), everything.append)
        bus.subscribe(("?", "sw1", "*"), snmp.append)
        bus.subscribe(("snmp", "*"), snmp.append)
        bus.publish(("mqtt", "@plant", "message", "a", "b"), 1)
        bus.publish(("snmp", "sw1", "read", "1.3.6.1.2.1.1.3.0"), 2)
        bus.publish(("log", "info"), 3)
        await bus.drain()
        assert [e.payload for e in mqtt] == [1]
        assert [e.payload for e in everything] == [1, 2, 3]
        assert [e.payload for e in snmp] == [2, 2]  # both of its subscriptions
