"""The operator's MQTT actions from the UI: publish, and set / unset on Astarte
server-owned interfaces.

Like the SNMP :class:`~screens.controllers.snmp.Operator`: read-only mode refuses every
one, each asks (dialog), then confirms (:class:`~screens.confirm.ConfirmScreen`),
then runs in an app worker with a fresh session id (tying it to its
``("mqtt", TARGET, "publish")`` result event on the bus) and reports the result
(``PUBACK`` / ``PUBCOMP`` / written, or the error) as a notification. Invalid
input never reaches the broker: the dialogs check it, and the backend's
:class:`~console.astarte.ValidationError` reason (a device-owned
interface, no ``allow_unset``) is shown instead of sending.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.content import Content

from console.astarte import Interface, ValidationError
from console.events import JsonValue
from console.explorer.presets import PublishPreset, PublishPresets
from console.fleet import MQTT, FleetState, ValueKey
from console.mqtt.metadata import format_user_properties
from screens.confirm import ConfirmScreen
from screens.controllers.base import Controller
from screens.mqtt_set import MqttSetScreen, SetRequest
from screens.publish import PublishRequest, PublishScreen
from screens.sparkplug_command import CommandRequest, SparkplugCommandScreen

if TYPE_CHECKING:
    from console.mqtt.client import PublishResult
    from console.mqtt.fleet import MqttFleet

__all__ = ["MQTT_GROUP", "PUBLISH", "SET_NEW", "UNSET", "MqttOperator", "ack_name"]

MQTT_GROUP = "mqtt-publish"
PREVIEW = 200
"""Payload characters shown in the confirmation."""

PUBLISH = Binding("p", "publish", "Publish", id="mqtt.publish", tooltip="Publish an MQTT message")
SET_NEW = Binding(
    "S", "set_new", "Set…", id="mqtt.set", tooltip="Set a server-owned Astarte property"
)
UNSET = Binding(
    "u", "unset", "Unset", id="mqtt.unset", tooltip="Unset the selected Astarte property"
)


def ack_name(qos: int) -> str:
    """What acknowledges a publish of ``qos``: ``PUBACK``, ``PUBCOMP`` or ``sent``."""
    return {1: "PUBACK", 2: "PUBCOMP"}.get(qos, "sent (QoS 0)")


class MqttOperator(Controller):
    """The operator's MQTT actions, for every screen (one per app).

    Args:
        app: where workers run and notifications show.
        fleet: the MQTT backend (``Runtime.mqtt``), or ``None`` without brokers.
        state: the fleet state (value sources, seen topics).
        read_only: refuse every publish, set and unset.
        presets: the publish history and named presets (in memory when omitted).
    """

    def __init__(
        self,
        app: App[Any],
        fleet: MqttFleet | None,
        state: FleetState,
        *,
        read_only: bool,
        presets: PublishPresets | None = None,
    ) -> None:
        super().__init__(app, read_only=read_only)
        self.fleet = fleet
        """The MQTT backend, or ``None`` without brokers."""
        self._state = state
        self.presets = presets if presets is not None else PublishPresets(None)
        """The publish dialog's history and named presets."""

    def _may(self, what: str) -> MqttFleet | None:
        if self.read_only:
            self.notify(f"read-only mode: {what} is disabled", severity="warning")
            return None
        if self.fleet is None or not self.fleet.connections:
            self.notify("no MQTT broker is configured", severity="warning")
            return None
        return self.fleet

    def _run(self, work: Any, description: str) -> None:
        self._app.run_worker(work, group=MQTT_GROUP, description=description, exit_on_error=False)

    def _report(self, what: str, qos: int, result: PublishResult) -> None:
        if result.success:
            self.notify(f"{what}: {ack_name(qos)}")
        else:
            self.notify(f"{what} failed: {result.error or 'no acknowledgement'}", severity="error")

    # -- publish ---------------------------------------------------------------------

    async def ask_publish(
        self, topic: str = "", *, preset: PublishPreset | None = None
    ) -> PublishRequest | None:
        """Ask (dialog, prefilled from ``preset`` when given, with the history and the
        named presets to recall), confirm (a retained publish is flagged), then
        publish in a worker (run in a screen worker); returns the request sent, or
        ``None``. The publish joins the history; with a name, it is kept as a preset."""
        fleet = self._may("publishing")
        if fleet is None:
            return None
        brokers = list(fleet.connections)
        dialog = PublishScreen(
            brokers,
            self._state.mqtt.topics(),
            topic,
            preset=preset,
            recall=self.presets.choices(),
        )
        request = await self._app.push_screen_wait(dialog)
        if request is None:
            return None
        text = request.payload.decode("utf-8", "replace")
        body = Content.from_markup(
            "broker   [b]$broker[/]\ntopic    [b]$topic[/]\nQoS $qos, retain $retain,"
            " $size bytes\npayload  $payload",
            broker=request.broker,
            topic=request.topic,
            qos=str(request.qos),
            retain="yes" if request.retain else "no",
            size=str(len(request.payload)),
            payload=text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…",
        )
        if request.content_type or request.user_properties:
            props = [f"content type = {request.content_type}"] if request.content_type else []
            props += [f"{name} = {value}" for name, value in request.user_properties]
            body = body + Content.from_markup("\nMQTT 5   $props", props="; ".join(props))
        title = f"Publish on {request.broker}?"
        if request.retain:
            title = f"Publish a RETAINED message on {request.broker}?"
            body = body + Content.from_markup(
                "\n[b $warning]retained: the broker keeps it and hands it to every new"
                " subscriber until it is replaced or cleared[/]"
            )
        confirm = ConfirmScreen(title, body, confirm="Publish")
        if not await self._app.push_screen_wait(confirm):
            self.notify("publish cancelled: nothing was sent")
            return None
        self.publish(request)
        self._keep(request, text)
        return request

    def _keep(self, request: PublishRequest, text: str) -> None:
        """Add ``request`` to the history (and to the presets when named)."""
        kept = PublishPreset(
            request.broker,
            request.topic,
            text,
            request.qos,
            request.retain,
            request.content_type or "",
            format_user_properties(request.user_properties),
        )
        saved = self.presets.remember(kept)
        if request.save_as:
            saved = self.presets.store(request.save_as, kept) and saved
        if not saved:
            self.notify(f"publish presets not saved: {self.presets.error}", severity="warning")

    def publish(self, request: PublishRequest) -> str | None:
        """Publish ``request`` (already confirmed) in a worker; the session id."""
        fleet = self._may("publishing")
        if fleet is None:
            return None
        session = self._session()
        self._run(self._publish(fleet, request, session), f"publish to {request.topic}")
        return session

    async def _publish(self, fleet: MqttFleet, request: PublishRequest, session: str) -> None:
        result = await fleet.publish(
            request.broker,
            request.topic,
            request.payload,
            request.qos,
            request.retain,
            session_id=session,
            content_type=request.content_type,
            user_properties=request.user_properties,
        )
        self._report(f"published to {request.topic}", request.qos, result)

    # -- set / unset -------------------------------------------------------------------

    def _target(self, key: ValueKey, fleet: MqttFleet) -> tuple[Interface, str] | None:
        """The interface and path of an MQTT value, or ``None`` (told why)."""
        value = self._state.value(key)
        info = self._state.mqtt.info.get(key)
        if value is None or value.protocol != MQTT or info is None or info.interface is None:
            self.notify(
                f"{key[0]} {key[1]}: not an Astarte interface value (publish with p instead)",
                severity="warning",
            )
            return None
        interface = fleet.interfaces.get(info.interface)
        path = info.path or ""
        if interface is None:
            self.notify(
                f"{info.interface} is not in interfaces_dir: fleettop cannot check a value",
                severity="error",
            )
            return None
        if not interface.server_owned:
            self.notify(
                f"{info.interface} is device-owned: only {key[0]} publishes it; fleettop "
                "sets server-owned interfaces only",
                severity="error",
            )
            return None
        return interface, path

    def _set_dialog(self, key: ValueKey) -> tuple[MqttFleet, MqttSetScreen, str] | None:
        """The fleet, the set dialog of ``key`` and its current value as JSON text, or
        ``None`` (told why: no broker, read-only, not a server-owned interface)."""
        fleet = self._may("setting")
        target = None if fleet is None else self._target(key, fleet)
        if fleet is None or target is None:
            return None
        interface, path = target
        current = self._state.value(key)
        text = "" if current is None or current.value is None else json.dumps(current.value)
        return fleet, MqttSetScreen(key[0], interface, path, text), text

    async def ask_set(self, key: ValueKey) -> bool:
        """Ask for a value (checked against the mapping), confirm, then set it in a
        worker (run in a screen worker); True when sent."""
        opened = self._set_dialog(key)
        if opened is None:
            return False
        fleet, dialog, text = opened
        request = await self._app.push_screen_wait(dialog)
        return await self._confirm_set(fleet, key[0], request, text)

    def _is_sparkplug(self, key: ValueKey) -> bool:
        """Whether ``key`` is a metric of a Sparkplug B edge node or device."""
        fleet = self.fleet
        info = self._state.mqtt.info.get(key)
        if fleet is None or info is None or info.interface is not None or info.path is not None:
            return False
        state = fleet.devices.get(key[0])
        tracker = None if state is None else fleet.sparkplug.get(state.broker)
        return tracker is not None and tracker.location(key[0]) is not None

    def _command_dialog(
        self, key: ValueKey
    ) -> tuple[MqttFleet, SparkplugCommandScreen, str] | None:
        """The command dialog of Sparkplug B metric ``key`` (:meth:`_is_sparkplug`), or
        ``None`` (told why: read-only, no broker, a metric no BIRTH typed)."""
        fleet = self._may("sending commands")
        if fleet is None:
            return None
        state = fleet.devices[key[0]]
        tracker = fleet.sparkplug[state.broker]
        datatype = tracker.datatype_of(key[0], key[1])
        if not datatype:
            self.notify(
                f"{key[0]} declared no metric {key[1]!r} in its last BIRTH: nothing to type it by",
                severity="warning",
            )
            return None
        from console.mqtt.tahu import DATATYPE_NAMES

        current = self._state.value(key)
        text = "" if current is None or current.value is None else json.dumps(current.value)
        type_name = DATATYPE_NAMES.get(datatype, str(datatype))
        return fleet, SparkplugCommandScreen(key[0], key[1], datatype, type_name, text), text

    async def _confirm_command(
        self, fleet: MqttFleet, device: str, request: CommandRequest | None, text: str
    ) -> bool:
        """Confirm the dialog's ``request`` (``None``: cancelled), then send it."""
        if request is None:
            return False
        body = Content.from_markup(
            "device  [b]$device[/]\nmetric  [b]$name[/]\n"
            "value   $old  [b $warning]→[/]  [b]$new[/]",
            device=device,
            name=request.name,
            old=text or "—",
            new=json.dumps(request.value, ensure_ascii=False),
        )
        if not await self._app.push_screen_wait(
            ConfirmScreen(f"Send a command to {device}?", body, confirm="Send")
        ):
            self.notify("command cancelled: nothing was sent")
            return False
        current = self._state.value((device, request.name))
        previous = None if current is None else current.value
        session = self._session()
        self._run(
            self._command(fleet, device, request, session, previous), f"command {request.name}"
        )
        return True

    async def _command(
        self,
        fleet: MqttFleet,
        device: str,
        request: CommandRequest,
        session: str,
        previous: JsonValue,
    ) -> None:
        try:
            result = await fleet.command(
                device, request.name, request.value, session_id=session, previous=previous
            )
        except ValidationError as exc:
            self.notify(str(exc), severity="error")
            return
        self._report(f"{device} {request.name} commanded to {json.dumps(request.value)}", 0, result)

    async def open_set(self, key: ValueKey) -> bool:
        """Open the set dialog of ``key`` and return once it is on screen; its answer,
        the confirmation and the set follow in a worker.

        Run from a priority binding (``w``, ``snmp.write``), the app reads no key
        while this waits: keys typed right after ``w`` (at paste speed) go into the
        dialog, none to the screen underneath (as
        :meth:`screens.controllers.snmp.Operator.open_write`).

        Returns:
            True when the dialog opened (False: told why, nothing to set).
        """
        if self._is_sparkplug(key):
            command = self._command_dialog(key)
            if command is None:
                return False
            fleet, command_screen, text = command
            asked: asyncio.Future[CommandRequest | None] = (
                asyncio.get_running_loop().create_future()
            )

            def given(request: CommandRequest | None) -> None:
                if not asked.done():
                    asked.set_result(request)

            await self._app.push_screen(command_screen, given)

            async def send() -> bool:
                return await self._confirm_command(fleet, key[0], await asked, text)

            self._app.run_worker(
                send(), group="dialog", description=f"command {key[1]}", exit_on_error=False
            )
            return True
        opened = self._set_dialog(key)
        if opened is None:
            return False
        fleet, dialog, text = opened
        answer: asyncio.Future[SetRequest | None] = asyncio.get_running_loop().create_future()

        def answered(request: SetRequest | None) -> None:
            if not answer.done():
                answer.set_result(request)

        await self._app.push_screen(dialog, answered)

        async def confirm() -> bool:
            return await self._confirm_set(fleet, key[0], await answer, text)

        self._app.run_worker(
            confirm(), group="dialog", description=f"set {key[1]}", exit_on_error=False
        )
        return True

    async def ask_set_new(self, device: str) -> bool:
        """Set a path of a server-owned interface that has no value yet: the
        interface, the path and the value are asked (run in a screen worker)."""
        fleet = self._may("setting")
        if fleet is None:
            return False
        state = fleet.devices.get(device)
        if state is None or state.astarte_base is None:
            self.notify(f"{device} is not an Astarte device", severity="warning")
            return False
        choices = sorted(
            (i for i in fleet.interfaces.values() if i.server_owned), key=lambda i: i.name
        )
        if not choices:
            self.notify("no server-owned interface in interfaces_dir", severity="warning")
            return False
        dialog = MqttSetScreen(device, choices[0], "", "", choices=choices)
        return await self._confirm_set(fleet, device, await self._app.push_screen_wait(dialog), "")

    async def _confirm_set(
        self, fleet: MqttFleet, device: str, request: SetRequest | None, text: str
    ) -> bool:
        """Confirm the dialog's ``request`` (``None``: cancelled), then set it."""
        if request is None:
            return False
        interface, path, value = request.interface, request.path, request.value
        current = self._state.value((device, f"{interface.name}{path}"))
        previous = None if current is None else current.value
        if previous is not None:
            text = json.dumps(previous, ensure_ascii=False)
        body = Content.from_markup(
            "device     [b]$device[/]\ninterface  $interface\npath       [b]$path[/]\n"
            "value      $old  [b $warning]→[/]  [b]$new[/]",
            device=device,
            interface=interface.name,
            path=path,
            old=text or "—",
            new=json.dumps(value, ensure_ascii=False),
        )
        if not await self._app.push_screen_wait(
            ConfirmScreen(f"Set on {device}?", body, confirm="Set")
        ):
            self.notify("set cancelled: nothing was sent")
            return False
        session = self._session()
        work = self._set(fleet, device, interface, path, value, session, previous)
        self._run(work, f"set {path}")
        return True

    async def _set(
        self,
        fleet: MqttFleet,
        device: str,
        interface: Interface,
        path: str,
        value: JsonValue,
        session: str,
        previous: JsonValue,
    ) -> None:
        result = await fleet.set(
            device, interface.name, path, value, session_id=session, previous=previous
        )
        self._report(f"{device} {path} set to {json.dumps(value)}", interface.qos(path), result)

    async def ask_unset(self, key: ValueKey) -> bool:
        """Confirm, then unset an Astarte property (only where the mapping has
        ``allow_unset``) in a worker (run in a screen worker); True when sent."""
        fleet = self._may("unsetting")
        target = None if fleet is None else self._target(key, fleet)
        if fleet is None or target is None:
            return False
        interface, path = target
        try:
            interface.validate_unset(path)
        except ValidationError as exc:
            self.notify(str(exc), severity="error")
            return False
        body = Content.from_markup(
            "device     [b]$device[/]\ninterface  $interface\npath       [b]$path[/]\n"
            "The property is removed (an empty payload, QoS 2).",
            device=key[0],
            interface=interface.name,
            path=path,
        )
        if not await self._app.push_screen_wait(
            ConfirmScreen(f"Unset on {key[0]}?", body, confirm="Unset")
        ):
            self.notify("unset cancelled: nothing was sent")
            return False
        current = self._state.value(key)
        previous = None if current is None else current.value
        session = self._session()
        work = self._unset(fleet, key[0], interface.name, path, session, previous)
        self._run(work, f"unset {path}")
        return True

    async def _unset(
        self,
        fleet: MqttFleet,
        device: str,
        interface: str,
        path: str,
        session: str,
        previous: JsonValue,
    ) -> None:
        result = await fleet.unset(device, interface, path, session_id=session, previous=previous)
        self._report(f"{device} {path} unset", 2, result)
