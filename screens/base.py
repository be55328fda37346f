"""What every fleettop screen shares: its context and the "render only when showing" rule."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from textual.screen import Screen

from console.config import DeviceConfig
from console.events import EventManager
from console.fleet import Changes, FleetState
from console.format import Clock
from widgets.mib_names import MibNames
from widgets.showing import is_showing
from widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from console.explorer.tree import TopicTree
    from console.notifications.alarms import AlarmBook
    from console.notifications.center import NotificationCenter
    from console.notifications.monitors import MonitorSet
    from console.store import AuditRecorder, PropertyStore
    from screens.controllers.mqtt import MqttOperator
    from screens.controllers.snmp import Operator

__all__ = [
    "WRITE_BINDING_IDS",
    "FleetScreen",
    "NotificationsAccess",
    "ScreenContext",
    "StoreAccess",
]

WRITE_BINDING_IDS: frozenset[str] = frozenset(
    {
        "snmp.write",
        "mqtt.publish",
        "mqtt.set",
        "mqtt.unset",
        "properties.set",
        "properties.unset",
        "properties.delete",
        "topics.clear_retained",
    }
)
"""The bindings that change a device or the store: in read-only mode the footer
does not offer them (pressing one still says why nothing happens)."""


@dataclass(frozen=True, slots=True)
class StoreAccess:
    """The property store as the screens may use it (the runtime's).

    Attributes:
        store: the open store, or ``None`` (disabled, or it could not be opened).
        audit: the audit recorder (entries for actions that are not bus events;
            ``audit.log`` for queries and exports), or ``None`` without a store.
        error: why the store could not be used although it is enabled, or ``None``.
        path: the store file, when known.
    """

    store: PropertyStore | None = None
    audit: AuditRecorder | None = None
    error: str | None = None
    path: str | None = None

    @property
    def unavailable(self) -> str | None:
        """Why there is no store to browse, in plain words; ``None`` when there is."""
        if self.store is not None:
            return None
        if self.error is not None:
            return f"No persistence: the property store could not be used. {self.error}"
        return "The property store is disabled (store: enabled: false in the configuration)."


@dataclass(frozen=True, slots=True)
class NotificationsAccess:
    """The notification stream, the alarm book and the monitors (the runtime's), for
    the Notifications screen.

    Attributes:
        center: the live stream, or ``None`` (not started).
        alarms: the alarm book (acknowledgements), or ``None``.
        monitors: the configured monitors, or ``None``.
        ring_size: entries each pane keeps in memory (``notifications.ring_size``).
        mask: the category names the stream shows when the screen opens
            (``notifications.mask``), or ``None`` for every one.
    """

    center: NotificationCenter | None = None
    alarms: AlarmBook | None = None
    monitors: MonitorSet | None = None
    ring_size: int = 10_000
    mask: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScreenContext:
    """Everything a screen reads, handed down by the app (no global lookups).

    Attributes:
        bus: the event manager (status bar counters).
        state: the fleet state the bridge keeps up to date.
        devices: the configured devices, in configuration order.
        clock: the UI's clock (time formatting, rates).
        mib_names: the shared OID -> MIB name cache.
        operator: the operator's SNMP requests (read, write, walk, polling list).
        mqtt: the operator's MQTT actions (publish, set, unset), or ``None``.
        store: the property store and its audit log (the Properties screen).
        notifications: the stream, alarms and monitors (the Notifications
            screen), or ``None`` when the runtime has none.
        topics: every MQTT topic seen (the Topics screen), or ``None`` without
            brokers.
    """

    bus: EventManager
    state: FleetState
    devices: tuple[DeviceConfig, ...]
    clock: Clock
    mib_names: MibNames
    operator: Operator
    mqtt: MqttOperator | None = None
    store: StoreAccess = StoreAccess()
    notifications: NotificationsAccess | None = None
    topics: TopicTree | None = None

    def status_bar(self) -> StatusBar:
        """Return a new status bar over this context."""
        return StatusBar(
            self.bus,
            self.state,
            [device.name for device in self.devices],
            self.clock,
            read_only=self.operator.read_only,
            id="status-bar",
        )


class FleetScreen(Screen[None]):
    """A screen fed by the bridge.

    The app calls :meth:`apply_changes` for every screen on the stack; a screen that
    is not showing only remembers that it is stale and catches up from the state when
    it is shown again, so hidden screens do no rendering work.
    """

    CATCH_UP_ON_RESUME: ClassVar[bool] = False
    """True for a screen kept while hidden that catches up every time it shows
    again, whether or not changes were handed to it meanwhile (a top-level screen
    left in another mode receives none)."""

    def __init__(self, context: ScreenContext) -> None:
        super().__init__()
        self.context = context
        self._stale = False
        if context.operator.read_only:
            self._hide_write_keys()

    def _hide_write_keys(self) -> None:
        """Take the write keys off the footer (they stay bound, see
        :data:`WRITE_BINDING_IDS`)."""
        keys = self._bindings.key_to_bindings
        for key, bindings in keys.items():
            keys[key] = [
                replace(binding, show=False) if binding.id in WRITE_BINDING_IDS else binding
                for binding in bindings
            ]

    def mark_stale(self) -> None:
        """Catch up with the whole state when the screen shows again."""
        self._stale = True

    def apply_changes(self, changes: Changes) -> None:
        """Show ``changes`` now if the screen is showing, else on resume (or on
        mount: a screen just pushed is on the stack a moment before its widgets
        exist, and shows the whole state when they do)."""
        if not self.is_mounted or not is_showing(self) or not self.query(StatusBar):
            self._stale = True
            return
        with self.app.batch_update():
            self.show_changes(changes)
            self.query_one(StatusBar).refresh_counts()

    def on_screen_resume(self) -> None:
        """Catch up with what changed while the screen was hidden (every time, for a
        screen with :attr:`CATCH_UP_ON_RESUME`)."""
        if self._stale or self.CATCH_UP_ON_RESUME:
            self._stale = False
            with self.app.batch_update():
                self.show_all()
                self.query_one(StatusBar).refresh_counts()

    def show_all(self) -> None:
        """Bring the whole screen up to date from the state."""
        raise NotImplementedError

    def show_changes(self, changes: Changes) -> None:
        """Bring the parts named by ``changes`` up to date."""
        raise NotImplementedError
