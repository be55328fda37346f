"""Helpers of the Properties tests: a crafted runtime with a real property store
(:class:`StoreRuntime`), crafted properties, and waiting for the Properties screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from console.app import FleettopApp
from console.config import Config
from console.store import (
    SNMP_INTERFACE,
    SNMP_MAJOR,
    AuditDraft,
    AuditRecorder,
    Ownership,
    PropertyStore,
    PropertyType,
    PropertyValue,
    Source,
)
from screens.properties import PropertiesScreen
from tests.ui_helpers import (
    FLEET,
    T0,
    Crafted,
    CraftedRuntime,
    fake_mib_names,
    fixed_clock,
    shown,
    wait_for,
)

T0_MS = int(T0 * 1000)
SENSORS = "org.astarte-platform.genericsensors.Values"
SETTINGS = "org.fleettop.demo.Settings"


class Prop:
    """A property to store: ``Prop(device, interface, path, value, type, ...)``."""

    def __init__(
        self,
        device: str,
        interface: str,
        path: str,
        value: PropertyValue,
        type: PropertyType,
        *,
        major: int = 1,
        minor: int = 0,
        ownership: Ownership = Ownership.DEVICE,
        source: Source = Source.MQTT,
        native_type: str | None = None,
        updated_ms: int = T0_MS,
    ) -> None:
        self.args = (device, interface, major, path, value)
        self.kwargs = {
            "type": type,
            "ownership": ownership,
            "source": source,
            "minor": minor,
            "native_type": native_type,
            "updated_ms": updated_ms,
        }


def snmp_prop(device: str, oid: str, snmp_type: str, value: PropertyValue, **kw: int) -> Prop:
    """A polled SNMP value as the feeder stores it."""
    types = {
        "INTEGER": PropertyType.INTEGER,
        "COUNTER": PropertyType.LONGINTEGER,
        "TIME_TICKS": PropertyType.LONGINTEGER,
        "STRING": PropertyType.STRING,
        "STRING_HEX": PropertyType.BINARYBLOB,
    }
    return Prop(
        device,
        SNMP_INTERFACE,
        "/" + oid,
        value,
        types[snmp_type],
        major=SNMP_MAJOR,
        source=Source.SNMP,
        native_type=snmp_type,
        **kw,  # type: ignore[arg-type]
    )


CRAFTED_PROPS: tuple[Prop, ...] = (
    snmp_prop("core-sw1", "1.3.6.1.2.1.1.1.0", "STRING", "fleettop demo switch FT-SW48"),
    snmp_prop("core-sw1", "1.3.6.1.2.1.1.3.0", "TIME_TICKS", 123_456_789),
    snmp_prop("core-sw1", "1.3.6.1.2.1.1.4.0", "STRING", "NOC <noc@example.net>"),
    snmp_prop("core-sw1", "1.3.6.1.2.1.2.2.1.10.1", "COUNTER", 3_974_581_002),
    snmp_prop("core-sw1", "1.3.6.1.2.1.2.2.1.6.1", "STRING_HEX", bytes.fromhex("001a2b3c4d5e")),
    snmp_prop("ups-1", "1.3.6.1.2.1.1.4.0", "STRING", "Facilities"),
    Prop("ap-lobby", SENSORS, "/temp/value", 21.5, PropertyType.DOUBLE, minor=3),
    Prop(
        "ap-lobby",
        SENSORS,
        "/temp/history",
        [20.0, 20.5, 21.5],
        PropertyType.DOUBLEARRAY,
        minor=3,
    ),
    Prop(
        "ap-lobby",
        SETTINGS,
        "/clock/synced",
        dt.datetime(2023, 11, 14, 22, 0, tzinfo=dt.UTC),
        PropertyType.DATETIME,
        major=2,
        minor=1,
        ownership=Ownership.SERVER,
        source=Source.OPERATOR,
    ),
    Prop(
        "ap-lobby",
        SETTINGS,
        "/radio/enable",
        True,
        PropertyType.BOOLEAN,
        major=2,
        minor=1,
        ownership=Ownership.SERVER,
        source=Source.OPERATOR,
    ),
)

CRAFTED_AUDIT: tuple[AuditDraft, ...] = (
    AuditDraft(
        "snmp.set",
        "core-sw1",
        "1.3.6.1.2.1.1.4.0",
        old={"type": "STRING", "value": "NOC"},
        new={"type": "STRING", "value": "NOC <noc@example.net>"},
        session_id="4bc172c116d14ec887ae126f8326e8c1",
        time_ms=T0_MS - 90_000,
    ),
    AuditDraft(
        "snmp.set",
        "ups-1",
        "1.3.6.1.2.1.1.5.0",
        old={"type": "STRING", "value": "ups-1"},
        new={"type": "STRING", "value": "ups-basement"},
        result="NOT_WRITABLE",
        time_ms=T0_MS - 30_000,
    ),
)


class StoreRuntime(CraftedRuntime):
    """A crafted runtime (no pollers) with a real property store in ``path`` holding
    ``props``, and an audit recorder over it.

    Args:
        config: the configuration.
        path: the store file.
        props: properties stored before the UI opens.
        audit: audit entries recorded before the UI opens.
        seed: events published at start (after the store opened).
    """

    def __init__(
        self,
        config: Config,
        path: Path,
        *,
        props: Sequence[Prop] = (),
        audit: Sequence[AuditDraft] = (),
        seed: Sequence[Crafted] = (),
    ) -> None:
        super().__init__(config, seed=seed)
        self._path = path
        self._props = tuple(props)
        self._audit = tuple(audit)

    async def start(self) -> None:
        """Open the store, fill it, then create the bus and the recorder."""
        await super().start()
        store = await PropertyStore.open(self._path)
        for prop in self._props:
            await store.store_prop(*prop.args, **prop.kwargs)  # type: ignore[arg-type]
        self.store = store
        self.audit = AuditRecorder(self.bus, store)
        for draft in self._audit:
            await self.audit.log.record_audit(draft)
        await store.flush()
        self.bus.publish(("store", "status"), {"persistent": True, "path": str(self._path)})

    async def aclose(self) -> None:
        """Close the recorder, the store, then the bus."""
        if self.audit is not None:
            await self.audit.aclose()
        if self.store is not None:
            await self.store.aclose()
        await super().aclose()


def store_app(
    path: Path,
    *,
    props: Sequence[Prop] = CRAFTED_PROPS,
    audit: Sequence[AuditDraft] = CRAFTED_AUDIT,
    seed: Sequence[Crafted] = (),
    read_only: bool = False,
) -> FleettopApp:
    """An app over a :class:`StoreRuntime` with a fixed clock and fake MIB names."""
    runtime = StoreRuntime(Config(devices=FLEET), path, props=props, audit=audit, seed=seed)
    return FleettopApp(
        runtime, clock=fixed_clock(), mib_names=fake_mib_names(), read_only=read_only
    )


async def properties_screen(pilot: Pilot[None], *, loaded: bool = True) -> PropertiesScreen:
    """Press ``P`` and wait for the Properties screen (and its first tree load)."""
    app = pilot.app
    assert isinstance(app, FleettopApp)
    await wait_for(pilot, lambda: shown_fleet(app), "the fleet")
    await pilot.press("P")
    await wait_for(pilot, lambda: shown(app, PropertiesScreen), "the Properties screen")
    screen = app.screen
    assert isinstance(screen, PropertiesScreen)
    if loaded and screen.has_store:
        await wait_for(pilot, lambda: screen.filter_shown is not None, "the first tree load")
    return screen


def shown_fleet(app: FleettopApp) -> bool:
    """True once the fleet screens show (the runtime started)."""
    return app.operator is not None and app.screen.is_mounted and app.current_mode != "_default"
