"""Helpers shared by the Pilot and snapshot tests: a runtime whose bus the test
feeds by hand (:class:`CraftedRuntime`), crafted events of ``docs/events.md``, a fixed
clock, fake MIB names, and bounded waiting with ``pilot.pause()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import TypeAlias

from rich.text import Text
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable

from console.app import FleettopApp
from console.config import Config, DeviceConfig, SnmpDeviceConfig
from console.events import EventManager, JsonValue
from console.format import Clock
from console.runtime import Runtime
from console.secrets import Secret
from screens.devices import DevicesScreen
from widgets.mib_names import MibNames

T0 = 1_700_000_000.0
"""A fixed "now": 2023-11-14 22:13:20 UTC."""
COMMUNITY = "s3cret-community"
SIZE = (140, 30)
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
IF_IN_OCTETS_1 = "1.3.6.1.2.1.2.2.1.10.1"
IF_PHYS_ADDRESS_1 = "1.3.6.1.2.1.2.2.1.6.1"
ENTERPRISE = "1.3.6.1.4.1.32473.9.9.0"

Crafted: TypeAlias = tuple[tuple[str, ...], JsonValue, float | None]
"""A crafted event: ``(type, payload, source_timestamp)``."""

MIB_NAMES = {
    SYS_UPTIME: "SNMPv2-MIB::sysUpTime.0",
    SYS_DESCR: "SNMPv2-MIB::sysDescr.0",
    IF_IN_OCTETS_1: "IF-MIB::ifInOctets.1",
    IF_PHYS_ADDRESS_1: "IF-MIB::ifPhysAddress.1",
}


# -- a runtime fed by hand ------------------------------------------------------------


def snmp_device(name: str, port: int, *, version: str = "V2C", oids: int = 4) -> DeviceConfig:
    """A configured SNMP device on 127.0.0.1 (never polled by :class:`CraftedRuntime`)."""
    return DeviceConfig(
        name,
        SnmpDeviceConfig(
            remote_host="127.0.0.1",
            version="V1" if version == "V1" else "V2C",
            community=Secret(COMMUNITY),
            polling_oids=tuple(f"1.3.6.1.2.1.1.{i}.0" for i in range(1, oids + 1)),
            remote_port=port,
            polling_delay=5.0,
        ),
    )


FLEET = (
    snmp_device("core-sw1", 16101),
    snmp_device("ap-lobby", 16102),
    snmp_device("ups-1", 16103, version="V1"),
)


class CraftedRuntime(Runtime):
    """A runtime with configured devices and a bus, but no pollers and no demo.

    Args:
        config: the configuration (devices become rows; nothing polls them).
        seed: events published during :meth:`start`, before the UI subscribes.
        fail: raise this from :meth:`start` instead of starting.
    """

    def __init__(
        self,
        config: Config,
        *,
        seed: Sequence[Crafted] = (),
        fail: Exception | None = None,
    ) -> None:
        super().__init__(config)
        self._crafted_bus: EventManager | None = None
        self._seed = tuple(seed)
        self._fail = fail
        self.closed = 0

    @property
    def bus(self) -> EventManager:
        """The crafted bus."""
        if self._crafted_bus is None:
            raise RuntimeError("the runtime has not started")
        return self._crafted_bus

    async def start(self) -> None:
        """Create the bus and publish the seed events (or fail as asked)."""
        if self._fail is not None:
            raise self._fail
        self._crafted_bus = EventManager()
        for event_type, payload, source_timestamp in self._seed:
            self._crafted_bus.publish(event_type, payload, source_timestamp=source_timestamp)

    async def aclose(self) -> None:
        """Close the bus; counts the calls."""
        self.closed += 1
        if self._crafted_bus is not None:
            await self._crafted_bus.aclose()


def status(device: str, value: str, reason: str | None = None, *, at: float = T0) -> Crafted:
    """A ``("snmp", DEVICE, "status")`` event as ``(type, payload, source_timestamp)``."""
    return (("snmp", device, "status"), {"status": value, "reason": reason}, at)


def poll(
    device: str, *, rtt: float, values: int, errors: int, polls: int, at: float = T0
) -> Crafted:
    """A ``("snmp", DEVICE, "poll")`` event."""
    payload: JsonValue = {
        "rtt_ms": rtt,
        "values": values,
        "errors": errors,
        "polls": polls,
        "last_poll": at,
    }
    return (("snmp", device, "poll"), payload, at)


def read(
    device: str,
    oid: str,
    data_type: str,
    value: JsonValue,
    *,
    cause: str = "CHANGE",
    at: float = T0,
) -> Crafted:
    """A ``("snmp", DEVICE, "read", OID)`` event."""
    payload: JsonValue = {
        "session_id": None,
        "cause": cause,
        "data": {"type": data_type, "value": value},
    }
    return (("snmp", device, "read", oid), payload, at)


def publish(app: FleettopApp, *events: Crafted) -> None:
    """Publish crafted events on the app's bus."""
    for event_type, payload, source_timestamp in events:
        app.runtime.bus.publish(event_type, payload, source_timestamp=source_timestamp)


def fixed_clock() -> Clock:
    """A clock stopped at :data:`T0`, in UTC."""
    return Clock(now=lambda: T0, tz=UTC)


def fake_mib_names() -> MibNames:
    """MIB names from a dict (no MIB loading)."""
    return MibNames(lambda: MIB_NAMES.get)


def make_app(
    config: Config | None = None,
    *,
    seed: Sequence[Crafted] = (),
    fail: Exception | None = None,
) -> FleettopApp:
    """An app over a :class:`CraftedRuntime` with a fixed clock and fake MIB names."""
    runtime = CraftedRuntime(config or Config(devices=FLEET), seed=seed, fail=fail)
    return FleettopApp(runtime, clock=fixed_clock(), mib_names=fake_mib_names())


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, *, attempts: int = 400
) -> None:
    """Pause until ``condition()`` holds; fail after ``attempts`` short pauses."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def devices_screen(pilot: Pilot[None]) -> DevicesScreen:
    """Wait until the runtime started and the Devices screen shows."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DevicesScreen), "devices screen")
    screen = pilot.app.screen
    assert isinstance(screen, DevicesScreen)
    return screen


def cell(table: DataTable[Text], row: str, column: str) -> str:
    """The text of one cell."""
    return table.get_cell(row, column).plain


def shown_keys(table: DataTable[Text]) -> list[str | None]:
    """Row keys in display order (``table.rows`` is in insertion order)."""
    return [
        table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value for i in range(table.row_count)
    ]


def screen_text(app: FleettopApp) -> str:
    """Everything on screen, as the SVG export holds it."""
    return app.export_screenshot()
