"""Helpers shared by the Pilot and snapshot tests: a runtime whose bus the test
feeds by hand (:class:`CraftedRuntime`), crafted events of ``docs/events.md``, a fixed
clock, fake MIB names (:class:`FakeMib`), a scripted SNMP backend
(:class:`FakeBackend`), notifications caught with a message hook
(:class:`Notices`), and bounded waiting with ``pilot.pause()``."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC
from typing import Any, TypeAlias

from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.keys import _character_to_key
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from console.app import FleettopApp
from console.config import Config, DeviceConfig, SnmpDeviceConfig
from console.events import EventManager, JsonValue
from console.format import Clock
from console.oid import normalize_oid
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


class FakeMib:
    """MIB names from :data:`MIB_NAMES` (no MIB loading), with the resolver's
    ``lookup`` (and its "did you mean" message) and ``complete``."""

    def resolve(self, oid: str) -> str | None:
        """The name of ``oid``, or ``None``."""
        return MIB_NAMES.get(oid)

    def lookup(self, name: str) -> str:
        """The OID of a numeric OID, a full name or a name without its module."""
        text = name.strip()
        if text.lstrip(".")[:1].isdigit():
            return normalize_oid(text)
        names = {n: o for o, n in MIB_NAMES.items()}
        names.update({n.rpartition("::")[2]: o for o, n in MIB_NAMES.items()})
        if text in names:
            return names[text]
        close = difflib.get_close_matches(text, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown MIB object {text!r}{hint}")

    def complete(self, prefix: str, limit: int = 20) -> list[str]:
        """Full names whose object name (or full name) starts with ``prefix``."""
        folded = prefix.casefold()
        found = [
            name.partition(".")[0]
            for name in sorted(MIB_NAMES.values())
            if name.casefold().startswith(folded)
            or name.rpartition("::")[2].casefold().startswith(folded)
        ]
        return sorted(set(found))[:limit]


def fake_mib_names() -> MibNames:
    """MIB names from a dict (no MIB loading)."""
    return MibNames(FakeMib)


class FakeBackend:
    """A scripted SNMP backend (``screens.controllers.snmp.SnmpBackend``) for a crafted
    runtime: reads answer from ``values`` and publish like ``SnmpDevice.read``;
    writes answer ``write_result`` (or raise ``write_error``) and publish the write
    event; a walk yields ``walk_rows``, waiting on :attr:`release` after
    ``pause_after`` rows.

    Args:
        name: the device name.
        bus: where events go.
        polling: the polled OIDs.
    """

    def __init__(self, name: str, bus: EventManager, *, polling: Sequence[str] = ()) -> None:
        self.name = name
        self.bus = bus
        self.polling = list(polling)
        self.values: dict[str, dict[str, JsonValue]] = {}
        self.reads: list[tuple[str, str | None]] = []
        self.writes: list[tuple[str, dict[str, JsonValue], str | None]] = []
        self.write_result: dict[str, JsonValue] = {"success": True, "error": None}
        self.write_error: Exception | None = None
        self.walk_rows: list[tuple[str, dict[str, JsonValue]]] = []
        self.pause_after: int | None = None
        self.release = asyncio.Event()
        self.walks_closed = 0

    @property
    def polling_oids(self) -> tuple[str, ...]:
        """The polled OIDs."""
        return tuple(self.polling)

    async def read(self, oid: str, session_id: str | None = None) -> dict[str, JsonValue]:
        """Answer from :attr:`values` (``NO_SUCH_OBJECT`` when unknown) and publish."""
        self.reads.append((oid, session_id))
        data = self.values.get(oid, {"type": "ERROR", "value": "NO_SUCH_OBJECT"})
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "cause": "REQUESTED",
            "data": data,
        }
        self.bus.publish(("snmp", self.name, "read", oid), payload)
        return payload

    async def write(
        self, oid: str, data: dict[str, JsonValue], session_id: str | None = None
    ) -> dict[str, JsonValue]:
        """Record the write and answer :attr:`write_result` (published)."""
        self.writes.append((oid, data, session_id))
        if self.write_error is not None:
            raise self.write_error
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            **self.write_result,
            "data": data,
            "previous": self.values.get(oid),
        }
        self.bus.publish(("snmp", self.name, "write", oid), payload)
        return payload

    async def walk(
        self, oid: str, *, session_id: str | None = None, max_repetitions: int = 25
    ) -> AsyncIterator[tuple[str, dict[str, JsonValue]]]:
        """Yield :attr:`walk_rows` under ``oid``; count closings in :attr:`walks_closed`."""
        try:
            for count, row in enumerate(self.walk_rows, 1):
                if row[0].startswith(oid + "."):
                    yield row
                if count == self.pause_after:
                    await self.release.wait()
        finally:
            self.walks_closed += 1

    def add_polling_oid(self, oid: str) -> str:
        """Poll ``oid`` too."""
        if oid not in self.polling:
            self.polling.append(oid)
        return oid

    def remove_polling_oid(self, oid: str) -> bool:
        """Stop polling ``oid``."""
        if oid in self.polling:
            self.polling.remove(oid)
            return True
        return False


def attach(app: FleettopApp, backend: FakeBackend) -> FakeBackend:
    """Make ``backend`` the SNMP backend of its device in ``app``'s runtime."""
    app.runtime.snmp_devices[backend.name] = backend  # type: ignore[assignment]
    return backend


class Notices:
    """Catches the app's notifications: pass :meth:`hook` as ``message_hook``."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []
        """``(severity, message)`` of every notification, in order."""

    def hook(self, message: Message) -> None:
        """The message hook."""
        if isinstance(message, Notify):
            self.shown.append((message.notification.severity, message.notification.message))

    @property
    def messages(self) -> list[str]:
        """The messages only."""
        return [text for _, text in self.shown]

    def has(self, text: str) -> bool:
        """True when a notification contains ``text``."""
        return any(text in message for message in self.messages)


def make_app(
    config: Config | None = None,
    *,
    seed: Sequence[Crafted] = (),
    fail: Exception | None = None,
    read_only: bool = False,
) -> FleettopApp:
    """An app over a :class:`CraftedRuntime` with a fixed clock and fake MIB names."""
    runtime = CraftedRuntime(config or Config(devices=FLEET), seed=seed, fail=fail)
    return FleettopApp(
        runtime, clock=fixed_clock(), mib_names=fake_mib_names(), read_only=read_only
    )


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], object], what: str, *, attempts: int = 400
) -> None:
    """Pause until ``condition()`` is truthy; fail after ``attempts`` short pauses.

    The pauses are plain ``asyncio.sleep`` s: the app's message pumps and its own
    refresh run meanwhile, while ``pilot.pause`` would also force a full repaint of
    the screen each time (most of a Pilot test's CPU time). Once it holds, one
    ``pilot.pause()`` lets the screen process what is pending (layout included)."""
    for _ in range(attempts + 1):
        if condition():
            await pilot.pause()
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def shown(app: FleettopApp, kind: type) -> bool:
    """True when the top screen is a ``kind`` and has been composed and mounted (a
    pushed screen is on top a moment before its widgets exist)."""
    return isinstance(app.screen, kind) and app.screen.is_mounted


async def devices_screen(pilot: Pilot[None]) -> DevicesScreen:
    """Wait until the runtime started and the Devices screen shows, composed."""
    app = pilot.app
    assert isinstance(app, FleettopApp)
    await wait_for(pilot, lambda: shown(app, DevicesScreen), "devices screen")
    screen = pilot.app.screen
    assert isinstance(screen, DevicesScreen)
    return screen


def cell(table: DataTable[Text], row: str | RowKey, column: str) -> str:
    """The text of one cell."""
    return table.get_cell(row, column).plain


def focused(screen: Screen[Any]) -> Widget | None:
    """``screen.focused``, read afresh: mypy keeps an earlier narrowing of
    ``screen.focused`` (``assert isinstance(screen.focused, Input)``) across the key
    presses that move the focus."""
    return screen.focused


def shown_keys(table: DataTable[Text]) -> list[str | None]:
    """Row keys in display order (``table.rows`` is in insertion order)."""
    return [
        table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value for i in range(table.row_count)
    ]


def burst(app: FleettopApp, keys: Sequence[str]) -> None:
    """Hand ``keys`` to the app's driver all at once, as a terminal delivers text
    typed at paste speed (``pilot.press`` waits for the app between keys)."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else None
        name = _character_to_key(key) if character and not key.isalnum() else key
        event = events.Key(name, character)
        event.set_sender(app)
        driver.send_message(event)


def screen_text(app: FleettopApp) -> str:
    """Everything on screen, as the SVG export holds it."""
    return app.export_screenshot()
