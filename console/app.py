"""The Textual app: screens, navigation, bindings and the runtime's lifecycle.

The app owns nothing but the UI. On mount it starts the :class:`~console.runtime.
Runtime` in a worker (the demo agents and pollers live in the app's event loop),
opens the :class:`~console.bridge.Bridge` and shows the Devices screen; on exit it
closes the runtime. Everything on screen comes from the bus through the bridge.

The operator's requests (read, get, write, walk, polling list) go through one
:class:`~screens.controllers.snmp.Operator`; with ``read_only=True`` it refuses every
write. Every binding is also a command of the palette (``ctrl+p``):
:class:`~widgets.commands.BindingCommands` lists the current screen's.

Top-level navigation lives here, in one table (:data:`NAVIGATION`): ``P`` opens the
Properties screen from every screen (one instance, kept while hidden so its live
value history and its tree survive), ``N`` the Notifications screen (one instance
too: its panes, filters and paused lists survive), ``D`` goes back to the Devices
screen. When the property store could not be used, the operator is told at startup
(a notification with the reason) and the status bar says ``NO PERSISTENCE``.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from console.bridge import UI_PATTERNS, Bridge
from console.config import UiConfig
from console.fleet import Changes, FleetState
from console.format import Clock
from console.gcpolicy import LatencyGc
from console.runtime import Runtime
from screens.base import FleetScreen, NotificationsAccess, ScreenContext, StoreAccess
from screens.confirm import ConfirmScreen
from screens.controllers.mqtt import MqttOperator
from screens.controllers.snmp import Operator
from screens.devices import DevicesScreen
from screens.export import ExportScreen
from screens.get import OidPromptScreen
from screens.help import HelpScreen, HelpSection
from screens.notifications import NotificationsScreen
from screens.oids import OidsScreen
from screens.properties import PropertiesScreen
from screens.startup import StartupErrorScreen
from screens.walk import WalkScreen
from screens.write import WriteScreen
from themes import CSS_FILES, FLEETTOP_THEME
from widgets.commands import BindingCommands
from widgets.device_table import DeviceTable
from widgets.mib_names import MibNames
from widgets.notification_list import NotificationList
from widgets.property_tree import PropertyTree
from widgets.value_table import ValueTable

__all__ = ["NAVIGATION", "FleettopApp"]

mlog = logging.getLogger(__name__)

RUNTIME_GROUP = "runtime"
EXIT_STARTUP_FAILED = 1
#: How long the "no persistence" notification stays (seconds).
NO_PERSISTENCE_SECONDS = 30

#: Top-level navigation, from every screen (not from dialogs).
NAVIGATION: list[Binding] = [
    Binding(
        "P",
        "open_properties",
        "Properties",
        id="nav.properties",
        tooltip="Browse the property store and the audit log",
    ),
    Binding(
        "N",
        "open_notifications",
        "Notifications",
        id="nav.notifications",
        tooltip="The stream of traps, messages and changes, the alarms and the monitors",
    ),
    Binding(
        "D",
        "open_devices",
        "Devices",
        id="nav.devices",
        show=False,
        tooltip="Back to the Devices screen",
    ),
]


class FleettopApp(App[None]):
    """fleettop's terminal UI over a :class:`~console.runtime.Runtime`.

    Args:
        runtime: the runtime to start, show and close (not started yet).
        clock: the UI's clock; tests and snapshots pass a fixed one.
        mib_names: the OID -> MIB name cache (defaults to ``console.snmp.mib``).
        read_only: refuse every write (SET) with a message; reads, walks and the
            polling list still work.
        freeze_heap: once the fleet shows, keep CPython's full collections out of
            the long-lived heap (:class:`~console.gcpolicy.LatencyGc`: everything
            alive is frozen, survivors of each full collection too, the whole heap
            is collected every 10 minutes): under an MQTT flood their pauses drop
            from ~120 ms to ~10 ms (``bench_notifications``). Undone when the app
            exits. The command line turns it on; tests, which run many apps in one
            process, leave it off unless they test it.
    """

    TITLE = "fleettop"
    CSS_PATH = CSS_FILES
    COMMANDS = App.COMMANDS | {BindingCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Close the devices and quit"),
        Binding(
            "question_mark",
            "help",
            "Help",
            key_display="?",
            id="app.help",
            tooltip="Show every key",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            id="app.commands",
            show=False,
            tooltip="Open the command palette",
        ),
        *NAVIGATION,
    ]

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock | None = None,
        mib_names: MibNames | None = None,
        read_only: bool = False,
        freeze_heap: bool = False,
    ) -> None:
        super().__init__()
        self.freeze_heap = freeze_heap
        """True when :attr:`gc_policy` is installed once the fleet shows."""
        self.gc_policy = LatencyGc()
        """The garbage-collection policy (installed only with ``freeze_heap``)."""
        self.runtime = runtime
        """The runtime the app starts and closes."""
        self.clock = clock or Clock()
        """Where the UI reads the time."""
        self.state = FleetState()
        """The fleet as shown, kept up to date by the bridge."""
        self.mib_names = mib_names or MibNames()
        self.read_only = read_only
        """True when writes are refused."""
        self.operator: Operator | None = None
        """The operator's requests, once the runtime has started."""
        self.startup_error: str | None = None
        """Why the runtime could not start, or ``None``."""
        self._bridge: Bridge | None = None
        self._screen_context: ScreenContext | None = None
        self._properties: PropertiesScreen | None = None
        self._notifications_screen: NotificationsScreen | None = None
        self._keymap: dict[str, str] = {}
        self._clashes: set[str] = set()
        self.register_theme(FLEETTOP_THEME)
        self.theme = FLEETTOP_THEME.name

    # -- lifecycle ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """A placeholder while the runtime starts."""
        yield Static("Starting fleettop…", id="starting")

    def on_mount(self) -> None:
        """Start the runtime in a worker."""
        self._start_runtime()

    @work(exclusive=True, group=RUNTIME_GROUP, exit_on_error=False, description="start runtime")
    async def _start_runtime(self) -> None:
        await self.runtime.start()
        self._show_fleet()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are handled (startup: the error screen)."""
        worker = event.worker
        if event.state is WorkerState.ERROR:
            error = worker.error
            mlog.error("%s failed", worker.description, exc_info=error)
            if worker.group == RUNTIME_GROUP:
                self.startup_error = f"{type(error).__name__}: {error}"
                self.push_screen(StartupErrorScreen(self.startup_error))
            else:
                self.notify(f"{worker.description} failed: {error}", severity="error", markup=False)

    def _show_fleet(self) -> None:
        config = self.runtime.config
        self._apply_ui_config(config.ui)
        self.operator = Operator(
            self,
            self.runtime.snmp_devices,
            self.state,
            self.mib_names,
            read_only=self.read_only,
        )
        mqtt = MqttOperator(self, self.runtime.mqtt, self.state, read_only=self.read_only)
        runtime = self.runtime
        store = runtime.store
        context = ScreenContext(
            bus=runtime.bus,
            state=self.state,
            devices=config.devices,
            clock=self.clock,
            mib_names=self.mib_names,
            operator=self.operator,
            mqtt=mqtt,
            store=StoreAccess(
                store=store,
                audit=runtime.audit,
                error=runtime.store_error,
                path=str(store.path) if store is not None else None,
            ),
            notifications=notifications_access(runtime),
        )
        self._screen_context = context
        self._bridge = Bridge(runtime.bus, self, self.state, patterns=UI_PATTERNS)
        self._bridge.open()
        self.push_screen(DevicesScreen(context))
        if self.freeze_heap:
            self.call_after_refresh(self.gc_policy.install)
        if runtime.store_error is not None:
            self.notify(
                f"{runtime.store_error.rstrip('.')}. fleettop runs on without keeping values"
                " or audit entries (P shows the reason again).",
                title="No persistence",
                severity="error",
                timeout=NO_PERSISTENCE_SECONDS,
                markup=False,
            )

    def _apply_ui_config(self, ui: UiConfig) -> None:
        if ui.theme in self.available_themes:
            self.theme = ui.theme
        else:
            self.notify(f"ui.theme: unknown theme {ui.theme!r}", severity="warning", markup=False)
        known = {row.id for section in help_sections() for row in section.bindings if row.id}
        for binding_id in sorted(set(ui.keymap) - known):
            self.notify(
                f"ui.keymap: unknown binding id {binding_id!r}", severity="warning", markup=False
            )
        self._keymap = dict(ui.keymap)
        self.set_keymap(self._keymap)

    async def on_unmount(self) -> None:
        """Close the bridge and the runtime (also after a failed or cancelled start)."""
        self.workers.cancel_group(self, RUNTIME_GROUP)
        if self._bridge is not None:
            self._bridge.close()
        await self.runtime.aclose()
        self.gc_policy.uninstall()

    # -- data -----------------------------------------------------------------------

    def on_bridge_changed(self, message: Bridge.Changed) -> None:
        """Hand the bridge's changes to every fleet screen (hidden ones defer)."""
        self.show_changes(message.bridge.take_changes())

    def show_changes(self, changes: Changes) -> None:
        """Hand ``changes`` of the state to every fleet screen (hidden ones defer)."""
        if not changes:
            return
        for screen in self.screen_stack:
            if isinstance(screen, FleetScreen):
                screen.apply_changes(changes)

    # -- navigation -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Navigation only once the fleet shows, not from a dialog, and not to the
        screen already showing."""
        if action in ("open_properties", "open_devices", "open_notifications"):
            screen = self.screen
            if self._screen_context is None or isinstance(screen, ModalScreen):
                return False
            if action == "open_properties" and isinstance(screen, PropertiesScreen):
                return False
            if action == "open_notifications" and isinstance(screen, NotificationsScreen):
                return False
            if action == "open_devices" and isinstance(screen, DevicesScreen):
                return False
        return True

    def action_open_properties(self) -> None:
        """Show the Properties screen (the same one every time)."""
        if self._screen_context is None:
            return
        if self._properties is None:
            if self._bridge is not None:
                self._bridge.follow_live()
            self._properties = PropertiesScreen(self._screen_context)
            self.install_screen(self._properties, name="properties")
        if self._properties in self.screen_stack:
            self._pop_to(self._properties)
        else:
            self.push_screen(self._properties)

    def action_open_notifications(self) -> None:
        """Show the Notifications screen (the same one every time)."""
        if self._screen_context is None:
            return
        if self._notifications_screen is None:
            self._notifications_screen = NotificationsScreen(self._screen_context)
            self.install_screen(self._notifications_screen, name="notifications")
        if self._notifications_screen in self.screen_stack:
            self._pop_to(self._notifications_screen)
        else:
            self.push_screen(self._notifications_screen)

    def action_open_devices(self) -> None:
        """Go back to the Devices screen."""
        devices = next((s for s in self.screen_stack if isinstance(s, DevicesScreen)), None)
        if devices is not None:
            self._pop_to(devices)

    def _pop_to(self, screen: FleetScreen) -> None:
        while self.screen is not screen and len(self.screen_stack) > 1:
            self.pop_screen()

    # -- actions --------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; the exit code is 1 when the runtime could not start."""
        self.exit(return_code=EXIT_STARTUP_FAILED if self.startup_error else 0)

    def action_help(self) -> None:
        """Show the help screen, or close it when it is showing."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(help_sections(), self._keymap))

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: DOMNode) -> None:
        """Warn when ``ui.keymap`` gives two bindings the same key."""
        ids = ", ".join(sorted(b.id or b.action for b in clashed_bindings))
        if ids not in self._clashes:
            self._clashes.add(ids)
            self.notify(f"ui.keymap: key clash between {ids}", severity="warning", markup=False)

    @property
    def keymap(self) -> dict[str, str]:
        """The keymap in force (binding id -> keys), from ``ui.keymap``."""
        return dict(self._keymap)


def notifications_access(runtime: Runtime) -> NotificationsAccess | None:
    """The runtime's notification center, alarm book and monitors for the screens,
    or ``None`` when it has none of them."""
    center, alarms, monitors = runtime.notifications, runtime.alarms, runtime.monitors
    if center is None and alarms is None and monitors is None:
        return None
    return NotificationsAccess(
        center=center,
        alarms=alarms,
        monitors=monitors,
        ring_size=runtime.config.notifications.ring_size,
    )


def help_sections() -> list[HelpSection]:
    """The bindings of every part of the UI, for the help screen."""
    return [
        HelpSection.of("Global", FleettopApp, App),
        HelpSection.of("Devices", DevicesScreen, DeviceTable),
        HelpSection.of("OIDs", OidsScreen, ValueTable),
        HelpSection.of("Walk", WalkScreen),
        HelpSection.of("Properties", PropertiesScreen, PropertyTree),
        HelpSection.of("Notifications", NotificationsScreen, NotificationList),
        HelpSection.of("Dialogs", ConfirmScreen, WriteScreen, OidPromptScreen, ExportScreen),
        HelpSection.of("Tables", DataTable),
        HelpSection.of("Help", HelpScreen),
    ]
