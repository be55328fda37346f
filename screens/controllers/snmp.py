"""The operator's SNMP requests from the UI: read, get, write, walk and the polling list.

:class:`Operator` is what the screens' bindings call. It finds the device's backend
(``Runtime.snmp_devices``), refuses writes in read-only mode, gives every request a
fresh session id (``uuid4().hex``) that ties it to its result event on the bus, runs
the request in an app worker (so it survives the screen it was started from) and
tells the operator the outcome with a notification. Failures raised by a request
(not connected, timed out) end the worker in error and are reported in one place:
the app's ``on_worker_state_changed``. Removing an OID from polling changes the
fleet state only through the bus: the device publishes its new polling list
(``("snmp", DEVICE, "polling")``), which the state folds.

The dialog flows (write -> confirm -> send; get prompt; remove from polling ->
confirm) are coroutines run in the calling screen's worker, because
``push_screen_wait`` needs one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from textual.app import App
from textual.binding import Binding
from textual.content import Content

from console.events import JsonValue
from console.fleet import FleetState
from console.format import format_value
from console.snmp.mibmeta import MibInfo, MibObject
from console.snmp.mibwrite import check_against_mib, write_object
from screens.confirm import ConfirmScreen
from screens.controllers.base import Controller, new_session_id
from screens.get import OidPromptScreen
from screens.write import WriteScreen
from widgets.mib_names import MibNames

__all__ = [
    "GET",
    "POLL_ADD",
    "POLL_REMOVE",
    "READ",
    "READ_GROUP",
    "WALK",
    "WRITE",
    "WRITE_GROUP",
    "Operator",
    "SnmpBackend",
    "new_session_id",
]

READ_GROUP = "snmp-read"
WRITE_GROUP = "snmp-write"
WRITE_DIALOG_GROUP = "dialog"
"""The workers taking a write dialog's answer to the confirmation and the SET (the
group of every dialog flow, as the screens' ``@work(group="dialog")`` ones)."""
NAME_GROUP = "snmp-name"
"""The workers resolving a MIB name for an open dialog."""
NOTIFY_WIDTH = 60
"""Values in notifications are cut to this many characters."""

Data = dict[str, JsonValue]

# The operator's bindings, one definition each, shared by the screens that offer them
# (the same id on every screen, so one ``ui.keymap`` entry remaps it everywhere).
READ = Binding("r", "read", "Read", id="snmp.read", tooltip="GET the selected OID now")
GET = Binding("g", "get", "Get", id="snmp.get", tooltip="GET any OID or MIB name")
WRITE = Binding(
    "w", "write", "Write", id="snmp.write", tooltip="SET the selected OID", priority=True
)
"""A priority binding: the write dialog opens before the app reads the next key
(:meth:`Operator.open_write`). Only for screens without a text field of their own."""
WALK = Binding("W", "walk", "Walk", id="snmp.walk", tooltip="Walk the selected table or group")
POLL_ADD = Binding("a", "poll_add", "Poll", id="snmp.poll_add", tooltip="Poll the selected OID")
POLL_REMOVE = Binding(
    "x", "poll_remove", "Unpoll", id="snmp.poll_remove", tooltip="Stop polling the selected OID"
)


class SnmpBackend(Protocol):
    """What the UI uses of :class:`console.snmp.manager.SnmpDevice`."""

    @property
    def polling_oids(self) -> tuple[str, ...]:
        """The polled OIDs, normalised."""

    async def read(self, oid: str, session_id: str | None = None) -> Data:
        """GET one OID now (cause ``REQUESTED``); returns the published payload."""

    async def write(self, oid: str, data: Data, session_id: str | None = None) -> Data:
        """SET one OID; returns the published write payload."""

    def walk(
        self, oid: str, *, session_id: str | None = None, max_repetitions: int = 25
    ) -> AsyncIterator[tuple[str, Data]]:
        """The var-binds of the subtree ``oid``, in order."""

    def add_polling_oid(self, oid: str) -> str:
        """Poll ``oid`` from the next cycle; returns it normalised."""

    def remove_polling_oid(self, oid: str) -> bool:
        """Stop polling ``oid``; True if it was polled."""


class Operator(Controller):
    """The operator's SNMP requests, for every screen (one per app).

    Args:
        app: where workers run and notifications show.
        devices: the SNMP backends by device name (``Runtime.snmp_devices``).
        state: the fleet state (current values for the dialogs).
        mib_names: names for messages and dialogs.
        read_only: refuse every write.
    """

    def __init__(
        self,
        app: App[Any],
        devices: Mapping[str, SnmpBackend],
        state: FleetState,
        mib_names: MibNames,
        *,
        read_only: bool = False,
    ) -> None:
        super().__init__(app, read_only=read_only)
        self._devices = devices
        self._state = state
        self._mib_names = mib_names

    # -- helpers -----------------------------------------------------------------

    def label(self, device: str, oid: str) -> str:
        """``core-sw1 SNMPv2-MIB::sysName.0`` (the OID when no name is cached)."""
        return f"{device} {self._mib_names.get(oid) or oid}"

    async def name(self, oid: str) -> str | None:
        """The MIB name of ``oid``, resolved in a thread when not cached yet."""
        return await asyncio.to_thread(self._mib_names.resolve, oid)

    async def full_label(self, device: str, oid: str) -> str:
        """:meth:`label` with the name resolved if it is not cached yet."""
        return f"{device} {await self.name(oid) or oid}"

    def backend(self, device: str) -> SnmpBackend | None:
        """The backend of ``device``; tells the operator when there is none."""
        found = self._devices.get(device)
        if found is None:
            self.notify(f"{device}: no SNMP backend for this device", severity="error")
        return found

    # -- read --------------------------------------------------------------------

    def read(self, device: str, oid: str) -> str | None:
        """GET ``oid`` from ``device`` now; returns the session id, or ``None`` when
        nothing was sent. The answer is a read event (cause ``REQUESTED``): the row
        updates from the bus; a notification shows the value."""
        backend = self.backend(device)
        if backend is None:
            return None
        session = self._session()
        self._app.run_worker(
            self._read(backend, device, oid, session),
            group=READ_GROUP,
            description=f"read {self.label(device, oid)}",
            exit_on_error=False,
        )
        return session

    async def _read(self, backend: SnmpBackend, device: str, oid: str, session: str) -> Data:
        payload = await backend.read(oid, session_id=session)
        data = payload.get("data")
        if isinstance(data, dict):
            label = await self.full_label(device, oid)  # also finds its MIB object
            data_type = str(data.get("type"))
            text = self._mib_names.display(oid, data, width=NOTIFY_WIDTH)
            if data_type == "ERROR":
                self.notify(f"{label}: {text}", severity="warning")
            else:
                self.notify(f"{label} = {text}  ({data_type})")
        return payload

    async def ask_get(self, device: str) -> str | None:
        """Ask for an OID or MIB name and read it from ``device`` (run in a worker);
        returns the numeric OID read, or ``None`` when cancelled."""
        if self.backend(device) is None:
            return None
        prompt = OidPromptScreen(f"Get an OID from {device}", self._mib_names)
        oid = await self._app.push_screen_wait(prompt)
        if oid is None:
            return None
        self.read(device, oid)
        return oid

    # -- write -------------------------------------------------------------------

    def may_write(self) -> bool:
        """False (and says why) in read-only mode."""
        if self.read_only:
            self.notify("read-only mode: writes are disabled", severity="warning")
            return False
        return True

    async def mib_object(self, oid: str) -> MibObject | None:
        """The scalar or column of a loaded MIB module that defines the instance
        ``oid`` (looked up in a thread), or ``None``
        (:func:`console.snmp.mibwrite.write_object`)."""

        def find(source: object | None) -> MibObject | None:
            info = getattr(source, "info", None)
            return write_object(info, oid) if isinstance(info, MibInfo) else None

        return await asyncio.to_thread(self._mib_names.with_source, find)

    def _write_dialog(self, device: str, oid: str) -> WriteScreen:
        """The write dialog, at once: the MIB object (and a MIB name not cached
        yet) are looked up in a thread and given to it when they come (keys typed
        meanwhile are the dialog's)."""
        current = self._state.value((device, oid))
        name = self._mib_names.get(oid)
        dialog = WriteScreen(device, oid, name, current)
        self._app.run_worker(
            self._describe_dialog(dialog, oid, name is None),
            group=NAME_GROUP,
            description=f"name {oid}",
            exit_on_error=False,
        )
        return dialog

    async def _describe_dialog(self, dialog: WriteScreen, oid: str, name: bool) -> None:
        if name and (found := await self.name(oid)) is not None:
            dialog.show_mib_name(found)
        mib: MibObject | None = None
        try:
            mib = await self.mib_object(oid)
        finally:  # a failed look-up leaves the free typed entry
            dialog.show_mib(mib)

    async def ask_write(self, device: str, oid: str) -> bool:
        """Ask for the type and value, confirm, then write (run in a worker).

        Returns:
            True when the write was sent.
        """
        if not self.may_write() or self.backend(device) is None:
            return False
        data = await self._app.push_screen_wait(self._write_dialog(device, oid))
        return await self._confirm_write(device, oid, data)

    async def open_write(self, device: str, oid: str) -> bool:
        """Open the write dialog and return once it is on screen with its value field
        focused; its answer, the confirmation and the SET follow in a worker.

        Run from a priority binding (``w``, :data:`WRITE`), the app reads no key
        while this waits: keys typed right after ``w`` (at paste speed) go into
        the dialog, none to the screen underneath.

        Returns:
            True when the dialog opened (False: read-only mode, no backend).
        """
        if not self.may_write() or self.backend(device) is None:
            return False
        answer: asyncio.Future[Data | None] = asyncio.get_running_loop().create_future()

        def answered(data: Data | None) -> None:
            if not answer.done():
                answer.set_result(data)

        await self._app.push_screen(self._write_dialog(device, oid), answered)
        self._app.run_worker(
            self._answered_write(device, oid, answer),
            group=WRITE_DIALOG_GROUP,
            description=f"write {self.label(device, oid)}",
            exit_on_error=False,
        )
        return True

    async def _answered_write(
        self, device: str, oid: str, answer: asyncio.Future[Data | None]
    ) -> bool:
        return await self._confirm_write(device, oid, await answer)

    async def _confirm_write(self, device: str, oid: str, data: Data | None) -> bool:
        """Confirm the dialog's ``data`` (``None``: cancelled), then write it."""
        if data is None:
            return False
        mib = await self.mib_object(oid)
        if mib is not None:  # the dialog checked it already, unless it was quicker
            try:
                check_against_mib(mib, data)
            except ValueError as exc:
                self.notify(f"{device}: {exc}", severity="error")
                return False
        current = self._state.value((device, oid))
        name = await self.name(oid)
        old = (
            format_value(current.data_type, current.value, width=NOTIFY_WIDTH)
            if current is not None
            else "—"
        )
        new = format_value(str(data["type"]), data["value"], width=NOTIFY_WIDTH)
        body = Content.from_markup(
            "device  [b]$device[/]\nOID     $oid  [$accent]$name[/]\n"
            "type    $type\nvalue   $old  [b $warning]→[/]  [b]$new[/]",
            device=device,
            oid=oid,
            name=name or "",
            type=str(data["type"]),
            old=old,
            new=new,
        )
        confirm = ConfirmScreen(f"Write to {device}?", body, confirm="Write")
        if not await self._app.push_screen_wait(confirm):
            self.notify("write cancelled: nothing was sent")
            return False
        return self.write(device, oid, data) is not None

    def write(self, device: str, oid: str, data: Data) -> str | None:
        """SET ``oid`` of ``device`` to ``data`` (already confirmed); returns the
        session id, or ``None`` when refused (read-only, no backend, a write of this
        app still running)."""
        if not self.may_write():
            return None
        backend = self.backend(device)
        if backend is None:
            return None
        if any(w.group == WRITE_GROUP and w.is_running for w in self._app.workers):
            self.notify("a write is still running: wait for its result", severity="warning")
            return None
        session = self._session()
        self._app.run_worker(
            self._write(backend, device, oid, data, session),
            group=WRITE_GROUP,
            description=f"write {self.label(device, oid)}",
            exit_on_error=False,
        )
        return session

    async def _write(
        self, backend: SnmpBackend, device: str, oid: str, data: Data, session: str
    ) -> Data:
        result = await backend.write(oid, data, session_id=session)
        label = await self.full_label(device, oid)
        if result.get("success") is True:
            text = format_value(str(data["type"]), data["value"], width=NOTIFY_WIDTH)
            self.notify(f"{label} written: {text}")
        else:
            error = result.get("error") or "failed"
            self.notify(f"{label} not written: {error}", severity="error")
        return result

    # -- polling list ------------------------------------------------------------

    def add_polling(self, device: str, oid: str) -> bool:
        """Poll ``oid`` of ``device`` from the next cycle; True when added."""
        backend = self.backend(device)
        if backend is None:
            return False
        label = self.label(device, oid)
        if oid in backend.polling_oids:
            self.notify(f"{label} is already polled")
            return False
        try:
            backend.add_polling_oid(oid)
        except ValueError as exc:
            self.notify(f"{label}: {exc}", severity="error")
            return False
        self.notify(f"{label}: polled from the next cycle")
        return True

    async def ask_remove_polling(self, device: str, oid: str) -> bool:
        """Confirm, then stop polling ``oid`` of ``device`` (run in a worker)."""
        backend = self.backend(device)
        if backend is None:
            return False
        if oid not in backend.polling_oids:
            self.notify(f"{self.label(device, oid)} is not polled")
            return False
        body = Content.from_markup(
            "device  [b]$device[/]\nOID     $oid  [$accent]$name[/]\n"
            "Its last value stays on screen; it is no longer updated.",
            device=device,
            oid=oid,
            name=await self.name(oid) or "",
        )
        confirm = ConfirmScreen(f"Stop polling on {device}?", body, confirm="Stop polling")
        if not await self._app.push_screen_wait(confirm):
            return False
        return self.remove_polling(device, oid)

    def remove_polling(self, device: str, oid: str) -> bool:
        """Stop polling ``oid`` of ``device`` (already confirmed); True when removed."""
        backend = self.backend(device)
        if backend is None:
            return False
        label = self.label(device, oid)
        if not backend.remove_polling_oid(oid):
            self.notify(f"{label} is not polled")
            return False
        # the device announces its new polling list on the bus: the fleet state folds
        # it (the value stays, no longer polled)
        self.notify(f"{label}: no longer polled")
        return True
