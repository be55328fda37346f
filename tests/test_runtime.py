"""The runtime (bus + demo + device backends) without any UI."""

from __future__ import annotations

import asyncio
import logging

import pytest

from console.config import Config
from console.events import Event
from console.runtime import Runtime
from tests.waiting import eventually


async def test_demo_runtime_connects_every_device_and_closes_without_leftovers() -> None:
    before = set(asyncio.all_tasks())
    runtime = Runtime(demo=True)
    await runtime.start()
    names = {device.name for device in runtime.config.devices}
    assert names == set(runtime.snmp_devices)
    assert len(names) >= 3

    def all_connected() -> bool:
        latest = [runtime.bus.latest(("snmp", name, "status")) for name in names]
        return all(e is not None and e.payload["status"] == "CONNECTED" for e in latest)  # type: ignore[index,call-overload]

    await eventually(all_connected)
    reads = runtime.bus.snapshot(("snmp", "?", "read", "*"))
    assert {e.type[1] for e in reads} == names
    await runtime.aclose()
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftovers == []
    with pytest.raises(RuntimeError):
        runtime.bus.publish(("x",), None)


async def test_console_warnings_reach_the_bus_as_log_events() -> None:
    runtime = Runtime(Config())
    bus = await runtime.start_bus()
    seen: list[Event] = []
    bus.subscribe(("log", "?"), seen.append)
    await runtime.start()
    logging.getLogger("console.snmp.manager").warning("agent %s is sulking", "sw9")
    logging.getLogger("console.snmp.manager").debug("not at warning level")
    logging.getLogger("elsewhere").warning("not fleettop's logger")
    await eventually(lambda: seen)
    await bus.drain()
    assert [(e.type, e.payload["message"], e.payload["source"]) for e in seen] == [  # type: ignore[index,call-overload]
        (("log", "warning"), "agent sw9 is sulking", "snmp")
    ]
    await runtime.aclose()
    # after close, the handler is gone: logging no longer touches the closed bus
    logging.getLogger("console.snmp.manager").warning("after close")
    assert len(seen) == 1


def test_a_runtime_needs_a_config_unless_it_is_the_demo() -> None:
    with pytest.raises(ValueError, match="configuration is required"):
        Runtime()
