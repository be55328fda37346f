"""The Textual app: screens, navigation, bindings and the runtime's lifecycle.

The app owns nothing but the UI. It draws first: its first frame ("Starting
fleettop…") needs only Textual and the themes, so this module imports nothing else
at load time. Once that frame is on screen it imports the rest of the UI and the
backends in a thread (:data:`UI_MODULES`; pysnmp and the configuration cost over a
second; the screens other than the Devices screen come once the runtime has started,
:data:`LATER_MODULES`), builds the :class:`~console.runtime.Runtime` when it was given a factory,
starts it in a worker (the demo agents and pollers live in the app's event loop),
opens the :class:`~console.bridge.Bridge` and shows the Devices screen; on exit it
closes the runtime. Everything on screen comes from the bus through the bridge.

The operator's requests (read, get, write, walk, polling list) go through one
:class:`~screens.controllers.snmp.Operator`; with ``read_only=True`` it refuses every
write. Every binding is also a command of the palette (``ctrl+p``):
:class:`~widgets.commands.BindingCommands` lists the current screen's.

The top-level screens are Textual modes (:data:`DEVICES_MODE`,
:data:`PROPERTIES_MODE`, :data:`NOTIFICATIONS_MODE`), each with its own screen stack,
and navigation is one table (:data:`screens.navigation.NAVIGATION`): ``P`` shows the
Properties screen from every screen (one instance, kept while hidden so its live
value history and its tree survive), ``N`` the Notifications screen (one instance
too: its panes, filters and paused lists survive), ``D`` goes back to the Devices
screen (the top of the devices stack). Going back from a top-level screen
(``escape``) returns to the mode it was shown from. When the property store could
not be used, the operator is told at startup (a notification with the reason) and
the status bar says ``NO PERSISTENCE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from screens.navigation import NAVIGATION
from themes import CSS_FILES, FLEETTOP_THEME
from widgets.commands import BindingCommands

if TYPE_CHECKING:
    from console.bridge import Bridge
    from console.config import UiConfig
    from console.fleet import Changes, FleetState, ReceiverStatus
    from console.format import Clock
    from console.gcpolicy import LatencyGc
    from console.runtime import Runtime
    from screens.base import FleetScreen, NotificationsAccess, ScreenContext
    from screens.controllers.snmp import Operator
    from screens.help import HelpSection
    from widgets.mib_names import MibNames, MibSource

__all__ = [
    "DEVICES_MODE",
    "NOTIFICATIONS_MODE",
    "PROPERTIES_MODE",
    "TOPICS_MODE",
    "FleettopApp",
]

mlog = logging.getLogger(__name__)

RUNTIME_GROUP = "runtime"
EXIT_STARTUP_FAILED = 1
#: How long the "no persistence" notification stays (seconds).
NO_PERSISTENCE_SECONDS = 30

#: The top-level screens, each a Textual mode with its own screen stack.
DEVICES_MODE = "devices"
PROPERTIES_MODE = "properties"
NOTIFICATIONS_MODE = "notifications"
TOPICS_MODE = "topics"
TOP_MODES = (DEVICES_MODE, PROPERTIES_MODE, NOTIFICATIONS_MODE, TOPICS_MODE)

#: Seconds the cyclic collector stays off (``gc_paused``) once the fleet shows while
#: the rest of the runtime's start goes on.
GC_PAUSE_MAX_S = 10.0
#: What the UI imports once the first frame is drawn (in a thread, so the
#: "Starting…" frame shows at once and keys are still read meanwhile).
UI_MODULES = (
    "console.runtime",
    "console.bridge",
    "console.fleet",
    "console.gcpolicy",
    "screens.base",
    "screens.devices",
    "screens.controllers.snmp",
    "screens.controllers.mqtt",
    "widgets.mib_names",
)
#: The other top-level screens: imported in a thread once the runtime has started
#: (after the devices' first polls are on screen), not before the Devices screen.
LATER_MODULES = (
    "screens.properties",
    "screens.notifications",
    "screens.topics",
    "screens.help",
)

_NAVIGATION_MODES = {
    "open_devices": DEVICES_MODE,
    "open_properties": PROPERTIES_MODE,
    "open_notifications": NOTIFICATIONS_MODE,
    "open_topics": TOPICS_MODE,
}


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
        presets_path: the publish dialog's history and presets file
            (:mod:`console.explorer.presets`; the command line gives the XDG data
            directory's); ``None`` keeps them in memory only.
        gc_paused: the caller turned CPython's cyclic collector off for the start
            (``gc.disable()``: the command line does before it imports Textual; its
            passes over the objects every import creates were ~15% of the CPU to
            the demo devices' CONNECTED). The app turns it back on once the runtime
            has started (the devices' first polls are on screen; at most
            :data:`GC_PAUSE_MAX_S` after the fleet shows): one full collection of
            the start's garbage, then ``freeze_heap``'s policy; or when it exits
            before.
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
            "colon",
            "command_line",
            "Command",
            key_display=":",
            id="app.command_line",
            show=False,  # in the help and the palette; the footer keeps room for navigation
            tooltip="Type a command: devices, properties, notifications, walk OID, help, q",
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
        runtime: Runtime | None = None,
        *,
        runtime_factory: Callable[[], Runtime] | None = None,
        clock: Clock | None = None,
        mib_names: MibNames | None = None,
        read_only: bool = False,
        freeze_heap: bool = False,
        presets_path: Path | None = None,
        gc_paused: bool = False,
    ) -> None:
        super().__init__()
        self._presets_path = presets_path
        self._gc_paused = gc_paused
        if (runtime is None) == (runtime_factory is None):
            raise TypeError("give a runtime or a runtime_factory, not both")
        self.freeze_heap = freeze_heap
        """True when :attr:`gc_policy` is installed once the fleet shows."""
        self._runtime = runtime
        self._runtime_factory = runtime_factory
        self._clock = clock
        self._mib_names = mib_names
        self.read_only = read_only
        """True when writes are refused."""
        self.operator: Operator | None = None
        """The operator's requests, once the runtime has started."""
        self.startup_error: str | None = None
        """Why the runtime could not start, or ``None``."""
        self._bridge: Bridge | None = None
        self._screen_context: ScreenContext | None = None
        self._told_receiver: ReceiverStatus | None = None
        self._mib_generation = 0
        self._mode_trail: list[str] = []
        self._keymap: dict[str, str] = {}
        self._clashes: set[str] = set()
        self._ended = threading.Event()
        """Set once the app unmounts: the terminal watcher thread stops."""
        self.register_theme(FLEETTOP_THEME)
        self.theme = FLEETTOP_THEME.name
        if runtime is not None:
            self._prepare()

    @property
    def runtime(self) -> Runtime:
        """The runtime the app starts and closes (built in the start worker when the
        app was given a factory).

        Raises:
            RuntimeError: asked before the factory built it.
        """
        if self._runtime is None:
            raise RuntimeError("the runtime is not built yet")
        return self._runtime

    def _prepare(self) -> None:
        """Create what the UI keeps (imports the UI modules when not done yet)."""
        from console.fleet import FleetState
        from console.format import Clock
        from console.gcpolicy import LatencyGc
        from widgets.mib_names import MibNames

        self.gc_policy: LatencyGc = LatencyGc()
        """The garbage-collection policy (installed only with ``freeze_heap``)."""
        self.clock: Clock = self._clock or Clock()
        """Where the UI reads the time."""
        self.state: FleetState = FleetState()
        """The fleet as shown, kept up to date by the bridge."""
        self.mib_names: MibNames = self._mib_names or MibNames(self._runtime_mibs)

    def _runtime_mibs(self) -> MibSource | None:
        """(A thread.) The runtime's MIB names (``mib_paths`` included), else pysnmp's."""
        from widgets.mib_names import default_resolver

        runtime = self._runtime
        if runtime is not None and runtime.mib is not None:
            return runtime.mib
        return default_resolver()

    # -- lifecycle ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """A placeholder while the runtime starts."""
        yield Static("Starting fleettop…", id="starting")

    def on_mount(self) -> None:
        """Start the runtime once the first frame is drawn; in a real terminal, watch
        that the terminal is still there."""
        self.call_after_refresh(self._start_runtime)
        if not self.is_headless and sys.__stdin__ is not None and sys.__stdin__.isatty():
            from console.terminal import watch_terminal

            watcher = threading.Thread(
                target=watch_terminal,
                args=(
                    sys.__stdin__.fileno(),
                    asyncio.get_running_loop(),
                    self._ended,
                    self._hang_up,
                ),
                name="fleettop-terminal",
                daemon=True,
            )
            watcher.start()

    def _hang_up(self) -> None:
        self.run_worker(self._hung_up(), group="hangup", exit_on_error=False)

    async def _hung_up(self) -> None:
        try:
            if self._runtime is not None:
                await self._runtime.aclose()
        finally:
            logging.shutdown()
            os._exit(1)

    @work(exclusive=True, group=RUNTIME_GROUP, exit_on_error=False, description="start runtime")
    async def _start_runtime(self) -> None:
        if self._runtime is None:
            self._runtime = await asyncio.to_thread(self._build_runtime)
            self._prepare()
        # the fleet shows once the devices poll (runtime.ready), while the rest starts
        runtime = self.runtime
        starting = asyncio.ensure_future(runtime.start())
        waiting = asyncio.ensure_future(runtime.ready.wait())
        try:
            await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a start that failed before it was ready
            self._show_fleet()
            # the collector is back once the start is done (gc_paused), or after
            # GC_PAUSE_MAX_S if the rest of the start takes longer (MIBs, brokers)
            await asyncio.wait({starting}, timeout=GC_PAUSE_MAX_S)
            self._resume_gc()
            await starting
        finally:
            waiting.cancel()
            starting.cancel()
            self._resume_gc()
        await asyncio.to_thread(_import, LATER_MODULES)

    def _resume_gc(self, *, install: bool = True) -> None:
        """Turn the collector back on after a start with ``gc_paused`` (once): a full
        collection of the start's garbage, then (``install`` and ``freeze_heap``)
        the policy, which freezes what is left."""
        if not self._gc_paused:
            return
        self._gc_paused = False
        gc.collect()
        gc.enable()
        if install and self.freeze_heap and hasattr(self, "gc_policy"):
            self.gc_policy.install()

    def _build_runtime(self) -> Runtime:
        """Import the UI and the backends, then build the runtime (in a thread)."""
        _import(UI_MODULES)
        factory = self._runtime_factory
        assert factory is not None
        return factory()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are handled (startup: the error screen)."""
        worker = event.worker
        if event.state is WorkerState.ERROR:
            error = worker.error
            mlog.error("%s failed", worker.description, exc_info=error)
            if worker.group == RUNTIME_GROUP:
                from screens.startup import StartupErrorScreen

                self.startup_error = f"{type(error).__name__}: {error}"
                self.push_screen(StartupErrorScreen(self.startup_error))
            else:
                self.notify(f"{worker.description} failed: {error}", severity="error", markup=False)

    def _show_fleet(self) -> None:
        from console.bridge import UI_PATTERNS, UI_PROMPT_PATTERNS, Bridge
        from screens.base import ScreenContext, StoreAccess
        from screens.controllers.mqtt import MqttOperator
        from screens.controllers.snmp import Operator
        from screens.devices import DevicesScreen

        runtime = self.runtime
        config = runtime.config
        self._apply_ui_config(config.ui)
        self.operator = Operator(
            self,
            runtime.snmp_devices,
            self.state,
            self.mib_names,
            read_only=self.read_only,
        )
        from console.explorer.presets import PublishPresets

        mqtt = MqttOperator(
            self,
            runtime.mqtt,
            self.state,
            read_only=self.read_only,
            presets=PublishPresets(self._presets_path),
        )
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
            topics=runtime.topics,
        )
        self._screen_context = context
        bridge = self._bridge = Bridge(
            runtime.bus, self, self.state, patterns=UI_PATTERNS, prompt=UI_PROMPT_PATTERNS
        )
        bridge.open()
        self._tell_receiver()

        # the other screens' modules are imported when first shown (LATER_MODULES)
        def properties() -> Screen[Any]:
            from screens.properties import PropertiesScreen

            bridge.follow_live()  # the screen draws every live value, not the latest
            return PropertiesScreen(context)

        def notifications() -> Screen[Any]:
            from screens.notifications import NotificationsScreen

            return NotificationsScreen(context)

        def topics() -> Screen[Any]:
            from screens.topics import TopicsScreen

            return TopicsScreen(context, context.topics)

        def devices() -> Screen[Any]:
            screen = DevicesScreen(context)
            # styled from the app's stylesheet as it mounts; Textual's first switch to a
            # mode reparses every sheet, twice, for a screen whose CSS update counter is
            # new (~0.09 s of the start), though nothing changed since the app parsed
            # them (a theme change later still refreshes it: App.watch_theme)
            screen._css_update_count = self._css_update_count
            return screen

        self.add_mode(DEVICES_MODE, devices)
        self.add_mode(PROPERTIES_MODE, properties)
        self.add_mode(NOTIFICATIONS_MODE, notifications)
        self.add_mode(TOPICS_MODE, topics)
        self.switch_mode(DEVICES_MODE)
        if self.freeze_heap and not self._gc_paused:  # else once the collector is back
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
        # every screen's bindings (imports every screen module): only with a keymap
        known = (
            {row.id for section in _help() for row in section.bindings if row.id}
            if ui.keymap
            else set()
        )
        for binding_id in sorted(set(ui.keymap) - known):
            self.notify(
                f"ui.keymap: unknown binding id {binding_id!r}", severity="warning", markup=False
            )
        self._keymap = dict(ui.keymap)
        self.set_keymap(self._keymap)

    async def on_unmount(self) -> None:
        """Close the bridge and the runtime (also after a failed or cancelled start)."""
        self._ended.set()
        self._resume_gc(install=False)  # the start never completed
        self.workers.cancel_group(self, RUNTIME_GROUP)
        if self._bridge is not None:
            self._bridge.close()
        if self._runtime is not None:
            await self._runtime.aclose()
        if hasattr(self, "gc_policy"):
            self.gc_policy.uninstall()

    # -- input first ------------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        """Textual's; a key, click or scroll from the terminal holds the runtime's pace
        as soon as it is queued (background work steps aside while the app's turn
        comes), not only when the app takes it (:meth:`on_event`)."""
        runtime = self._runtime
        if runtime is not None and isinstance(message, events.InputEvent):
            from console.bridge import hold_for_input

            with contextlib.suppress(RuntimeError):  # not the loop's thread: on_event holds
                asyncio.get_running_loop()
                hold_for_input(message, runtime.pace)
        return super().post_message(message)

    async def on_event(self, event: events.Event) -> None:
        """Textual's, with the operator's input first: a key, a click or a scroll holds
        the runtime's :class:`~console.pace.Pace` until its effect has been painted
        (:func:`~console.bridge.hold_for_input`)."""
        runtime = self._runtime
        if runtime is None:
            await super().on_event(event)
            return
        from console.bridge import hold_for_input, release_after_paint  # after the first frame

        held = hold_for_input(event, runtime.pace)
        try:
            await super().on_event(event)
        finally:
            if held:
                release_after_paint(self, runtime.pace)

    # -- data -----------------------------------------------------------------------

    def on_bridge_changed(self, message: Bridge.Changed) -> None:
        """Hand the bridge's changes to every fleet screen (hidden ones defer)."""
        self.show_changes(message.bridge.take_changes())

    def fleet_screens(self) -> list[FleetScreen]:
        """The fleet screens of every mode's stack (those showing and those not)."""
        from screens.base import FleetScreen

        screens: list[FleetScreen] = []
        for mode in (self.current_mode, *TOP_MODES):
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:  # a mode not shown yet has no stack
                continue
            screens.extend(s for s in stack if isinstance(s, FleetScreen) and s not in screens)
        return screens

    def show_changes(self, changes: Changes) -> None:
        """Hand ``changes`` of the state to every fleet screen (hidden ones defer);
        nothing once the app is shutting down (its screens are being removed)."""
        if not changes or not self.is_running:
            return
        for screen in self.fleet_screens():
            screen.apply_changes(changes)
        if changes.receiver:
            self._tell_receiver()
        if changes.mibs:
            self._mibs_changed()

    def _mibs_changed(self) -> None:
        """New MIB names were loaded (modules compiled in the background): names
        resolved before are resolved again, and the tables showing them refresh."""
        mibs = self.state.mibs
        if mibs is not None and mibs.generation > self._mib_generation:
            self._mib_generation = mibs.generation
            self.mib_names.invalidate()

    def _tell_receiver(self) -> None:
        """Tell the operator, once, that the trap receiver could not listen."""
        receiver = self.state.receiver
        if receiver is None or not receiver.failed or receiver == self._told_receiver:
            return
        self._told_receiver = receiver
        self.notify(
            f"The trap receiver cannot listen on udp {receiver.listen or '?'}"
            f": {receiver.reason or 'unknown reason'}. No trap or inform is received.",
            title="Traps failed",
            severity="error",
            timeout=NO_PERSISTENCE_SECONDS,
            markup=False,
        )

    # -- navigation -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Navigation only once the fleet shows, not from a dialog, and not to the
        screen already showing."""
        if action == "command_line":
            return self._screen_context is not None and not isinstance(self.screen, ModalScreen)
        if action == "open_mibs":
            from screens.mibs import MibBrowserScreen

            return self._screen_context is not None and not isinstance(
                self.screen, ModalScreen | MibBrowserScreen
            )
        mode = _NAVIGATION_MODES.get(action)
        if mode is not None:
            if self._screen_context is None or isinstance(self.screen, ModalScreen):
                return False
            if self.current_mode == mode and len(self.screen_stack) == 1:
                return False
        return True

    def action_open_properties(self) -> None:
        """Show the Properties screen (the same one every time)."""
        self.show_mode(PROPERTIES_MODE)

    def action_open_notifications(self) -> None:
        """Show the Notifications screen (the same one every time)."""
        self.show_mode(NOTIFICATIONS_MODE)

    def action_open_topics(self) -> None:
        """Show the Topics screen (the same one every time); from a screen with an
        MQTT value selected (``selected_topic``), with that value's topic selected."""
        from screens.topics import TopicsScreen

        selected = getattr(self.screen, "selected_topic", None)
        topic = selected() if callable(selected) else None
        if self.current_mode == TOPICS_MODE:  # from a screen pushed over it (o)
            while len(self.screen_stack) > 1:
                self.pop_screen()
        else:
            self.show_mode(TOPICS_MODE)
        base = self.get_screen_stack(TOPICS_MODE)[0]
        if topic is not None and isinstance(base, TopicsScreen):
            base.select_topic(*topic)

    def action_open_mibs(self, search: str = "") -> None:
        """Push the MIB browser over the current screen (:func:`screens.mibs.open_browser`)."""
        from screens.mibs import open_browser

        if self._screen_context is not None:
            open_browser(self, self._screen_context, DEVICES_MODE, search)

    def action_open_devices(self) -> None:
        """Go back to the Devices screen."""
        self.show_mode(DEVICES_MODE)
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def show_mode(self, mode: str) -> None:
        """Show the top-level screen ``mode`` (its stack as it was left); going back
        from it returns to the mode showing now."""
        if self._screen_context is None or mode == self.current_mode:
            return
        for screen in self.fleet_screens():  # those left behind get no changes: catch up
            if screen in self.screen_stack:
                screen.mark_stale()
        if self.current_mode in TOP_MODES:
            self._mode_trail = [m for m in self._mode_trail if m != self.current_mode]
            self._mode_trail.append(self.current_mode)
        self._mode_trail = [m for m in self._mode_trail if m != mode]
        self.switch_mode(mode)

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen; from the base of a top-level mode, go back to the mode
        it was shown from (the Devices when none)."""
        if self.current_mode in TOP_MODES and len(self.screen_stack) == 1:
            if self.current_mode != DEVICES_MODE:
                self.show_mode(self._mode_trail.pop() if self._mode_trail else DEVICES_MODE)
            done: AwaitComplete = AwaitComplete.nothing()  # type: ignore[no-untyped-call]
            return done
        return super().pop_screen()

    # -- actions --------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit; the exit code is 1 when the runtime could not start."""
        self.exit(return_code=EXIT_STARTUP_FAILED if self.startup_error else 0)

    def action_help(self) -> None:
        """Show the help screen, or close it when it is showing."""
        from screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(_help(), self._keymap))

    def action_command_line(self) -> None:
        """Open the ``:`` command line (:mod:`screens.command_line`)."""
        from screens.command_line import CommandLineScreen

        self.push_screen(CommandLineScreen(), callback=self.run_command)

    def run_command(self, text: str | None) -> None:
        """Run a command of the ``:`` line (``None``: cancelled); a bad one is told."""
        from screens.command_line import parse_command

        if text is None:
            return
        try:
            command = parse_command(text)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if command.name == "devices":
            self.action_open_devices()
        elif command.name in (PROPERTIES_MODE, NOTIFICATIONS_MODE, TOPICS_MODE):
            self.show_mode(command.name)
        elif command.name == "mibs":
            if self.check_action("open_mibs", ()):
                self.action_open_mibs(*command.args)
        elif command.name == "help":
            self.action_help()
        elif command.name == "quit":
            self.exit(return_code=EXIT_STARTUP_FAILED if self.startup_error else 0)
        elif command.name == "walk":
            self._walk(*command.args)

    @work(group="command", exit_on_error=False, description="walk")
    async def _walk(self, text: str, device: str | None = None) -> None:
        from screens.devices import DevicesScreen
        from screens.walk import WalkScreen
        from widgets.device_table import DeviceTable

        context = self._screen_context
        if context is None:
            return
        if device is None:
            base = self.get_screen_stack(DEVICES_MODE)[0]
            if isinstance(base, DevicesScreen):
                device = base.query_one(DeviceTable).highlighted_device
        if device is None or device not in self.runtime.snmp_devices:
            self.notify(
                f"walk: {device or 'no device'} is not an SNMP device (:walk OID DEVICE)",
                severity="warning",
                markup=False,
            )
            return
        from console.oid import lookup_walk_root

        try:  # '.' walks the whole agent (docs/walk.md)
            oid = await asyncio.to_thread(lookup_walk_root, text, self.mib_names.lookup)
        except ValueError as exc:
            self.notify(f"walk: {exc}", severity="warning", markup=False)
            return
        self.push_screen(WalkScreen(context, device, oid))

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


def _import(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (in a worker thread: the loop keeps drawing)."""
    for name in modules:
        importlib.import_module(name)


def notifications_access(runtime: Runtime) -> NotificationsAccess | None:
    """The runtime's notification center, alarm book and monitors for the screens,
    or ``None`` when it has none of them."""
    from screens.base import NotificationsAccess

    center, alarms, monitors = runtime.notifications, runtime.alarms, runtime.monitors
    if center is None and alarms is None and monitors is None:
        return None
    return NotificationsAccess(
        center=center,
        alarms=alarms,
        monitors=monitors,
        ring_size=runtime.config.notifications.ring_size,
        mask=runtime.config.notifications.mask,
    )


def _help() -> list[HelpSection]:
    from screens.navigation import help_sections

    return help_sections(FleettopApp)
