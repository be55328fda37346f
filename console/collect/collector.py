"""``fleettop collect``: the backends, headless, with their bus published to a broker.

A :class:`Collector` runs a :class:`~console.runtime.Runtime` (pollers, trap
receiver, MQTT brokers, store, alarms, monitors, audit) and one
:class:`~console.collect.link.BrokerLink`. Every bus event goes to
``fleettop/v1/{name}/event/...`` as the ``--headless`` JSON (state retained, stream
not: :mod:`console.collect.namespace`); its status (``online``, and ``offline`` as
its retained Last Will) and its devices (secrets stripped) are retained. After every
(re)connection it publishes its status, its devices and the bus's snapshot again, so
a broker restarted without persistence has the current state at once.

Requests (``fleettop/request/v1/{name}/{action}``, MQTT 5 request/response) run
against its own backends: ``snmp.read``, ``snmp.write``, ``snmp.walk`` (answered in
chunks of :data:`WALK_CHUNK` var-binds), ``snmp.poll_add``, ``snmp.poll_remove``,
``alarm.ack``. The collector enforces its own ``--read-only`` (a write is answered
"read-only mode: writes are disabled"), and its audit log records the request's
``operator`` as the actor (of SETs, MQTT publishes/sets/unsets and acknowledgements).

Sharding (``--shard K/N``, :func:`shard_config`): a device without ``mqtt:`` goes to
the shard its name picks (:func:`~console.collect.namespace.shard_of`); an MQTT
broker goes to the shard ``@`` + its name picks, and takes every device that uses
it (a broker's subscriptions and device rules cannot be split without receiving
everything twice); the trap receiver and the monitors run on the shard ``@traps``
picks.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any, Final

from console.collect.link import BrokerLink, Message
from console.collect.namespace import (
    FORMAT,
    NOT_PUBLISHED,
    REQUEST_ROOT,
    device_topic,
    event_topic,
    interface_topic,
    is_retained,
    public_device,
    shard_of,
    status_topic,
)
from console.config import BrokerConfig, Config, DeviceConfig
from console.event_types import matches_any
from console.events import Event, JsonValue, Policy
from console.lifecycle import ClosesOnce
from console.notifications.alarms.book import ACK_ACTION
from console.runtime import Runtime

__all__ = ["WALK_CHUNK", "Collector", "shard_config"]

mlog = logging.getLogger(__name__)

#: Var-binds per reply of a walk request.
WALK_CHUNK: Final = 500
#: At most this many var-binds per walk request (the Walk screen's own bound).
WALK_LIMIT: Final = 50_000
_WRITES: Final = frozenset({"snmp.write", "mqtt.publish", "mqtt.set", "mqtt.unset"})


def shard_config(config: Config, shard: tuple[int, int] | None) -> Config:
    """The part of ``config`` shard ``(K, N)`` runs (the module docstring); the
    whole of it for ``None``."""
    if shard is None or shard[1] == 1:
        return config
    k, n = shard
    brokers = tuple(b for b in config.brokers if shard_of("@" + b.name, n) == k)
    names = {b.name for b in brokers}

    def mine(device: DeviceConfig) -> bool:
        if device.mqtt is not None:
            return device.mqtt.broker in names
        return shard_of(device.name, n) == k

    receiver = shard_of("@traps", n) == k
    return dataclasses.replace(
        config,
        devices=tuple(d for d in config.devices if mine(d)),
        brokers=brokers,
        traps=config.traps if receiver else None,
        monitors=config.monitors if receiver else (),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


class Collector(ClosesOnce):
    """A runtime whose bus is published to a broker (the module docstring).

    Args:
        runtime: the runtime (not started) over the shard's configuration.
        broker: the fleet's broker (:func:`~console.collect.link.broker_from_url`).
        name: the collector's name (:func:`~console.collect.namespace.check_name`).
        shard: ``(K, N)`` or ``None``, announced in the status.
        read_only: refuse every write request.

    Usage::

        collector = Collector(Runtime(config), broker, name="c1")
        await collector.start()
        ...
        await collector.aclose()     # "offline" published, then the runtime closed
    """

    def __init__(
        self,
        runtime: Runtime,
        broker: BrokerConfig,
        *,
        name: str,
        shard: tuple[int, int] | None = None,
        read_only: bool = False,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.shard = shard
        self.read_only = read_only
        self.started_at = time.time()
        self.keepalive = broker.keepalive
        self.link = BrokerLink(
            broker,
            subscriptions=(f"{REQUEST_ROOT}/{name}/#",),
            on_messages=self._on_requests,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            will=(status_topic(name), _dumps(self._status("offline"))),
            client_id=f"fleettop-collect-{name}",
        )
        self.published = 0
        """Events published to the broker."""
        self.requests = 0
        """Requests answered."""

    def _status(self, status: str) -> dict[str, JsonValue]:
        devices = self.runtime.config.devices if self.runtime.started else ()
        return {
            "format": FORMAT,
            "collector": self.name,
            "status": status,
            "since": time.time() if status == "online" else None,
            "started": self.started_at,
            "shard": None if self.shard is None else f"{self.shard[0]}/{self.shard[1]}",
            "read_only": self.read_only,
            "keepalive": self.keepalive,
            "devices": [d.name for d in devices],
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }

    async def start(self) -> None:
        """Start the bus, the link (connecting in the background) and the runtime;
        announce the collector online once the runtime runs.

        Raises:
            what :meth:`Runtime.start` raises (the store in use...).
        """
        bus = await self.runtime.start_bus()
        bus.subscribe(
            ("*",),
            self._forward,
            policy=Policy.BLOCK,
            batch_size=1000,
            batch_duration=0.02,
            name="collector",
        )
        self.link.start()
        await self.runtime.start()
        self._announce()

    def _announce(self) -> None:
        """Status, devices and the bus's current state, retained (after a connection)."""
        if not self.runtime.started:
            return
        self.link.publish(status_topic(self.name), _dumps(self._status("online")), retain=True)
        for device in self.runtime.config.devices:
            self.link.publish(
                device_topic(self.name, device.name), _dumps(public_device(device)), retain=True
            )
        self._announce_interfaces()
        self._forward([e for e in self.runtime.bus.snapshot() if is_retained(e.type)], replay=True)

    def _announce_interfaces(self) -> None:
        """The Astarte interfaces of ``interfaces_dir`` (their JSON), retained, when the
        collector runs MQTT brokers: a console checks a set against them."""
        directory = self.runtime.config.interfaces_dir
        if directory is None or self.runtime.mqtt is None:
            return
        for path in sorted(directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                name = str(data["interface_name"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                mlog.warning("interface %s not announced: %s", path.name, exc)
                continue
            self.link.publish(interface_topic(self.name, name), _dumps(data), retain=True)

    def _on_disconnect(self, reason: str) -> None:
        if "taken over" in reason.lower():  # MQTT 5 reason code 0x8E
            mlog.error(
                "collector %s: another process connected with the same name and took the"
                " connection over; give every collector its own --name",
                self.name,
            )
        else:
            mlog.warning("collector %s: the broker connection was lost (%s)", self.name, reason)

    def _on_connect(self) -> None:
        mlog.info("collector %s: connected to the broker", self.name)
        self._announce()

    def _forward(self, events: list[Event], *, replay: bool = False) -> None:
        for event in events:
            if matches_any(NOT_PUBLISHED, event.type):
                continue
            topic = event_topic(self.name, event.type)
            payload = _dumps(event.to_json())
            retained = is_retained(event.type)
            closed = isinstance(event.payload, dict) and event.payload.get("closed") is True
            if event.type[0] == "alarm" and closed:
                # the last event of an alarm: clear its retained message
                if not replay:
                    self.link.publish(topic, payload)
                self.link.publish(topic, b"", retain=True)
                continue
            self.link.publish(topic, payload, retain=retained)
            self.published += 1

    # -- requests -----------------------------------------------------------------------

    def _on_requests(self, messages: list[Message]) -> None:
        for message in messages:
            if message.response_topic is None or message.retain:
                continue
            self.spawn(self._answer(message), name=f"request {message.topic}")

    async def _answer(self, message: Message) -> None:
        action = message.topic.rsplit("/", 1)[-1]
        try:
            body = json.loads(message.payload)
            if not isinstance(body, dict):
                raise ValueError("the request is not a JSON object")
            if action == "snmp.walk":
                await self._walk(message, body)
                return
            result = await self._run(action, body)
        except Exception as exc:
            self.link.reply(message, {"format": FORMAT, "ok": False, "error": _reason(exc)})
        else:
            self.link.reply(message, {"format": FORMAT, "ok": True, "result": result})
        self.requests += 1

    def _device(self, body: Mapping[str, Any]) -> Any:
        device = str(body.get("device"))
        found = self.runtime.snmp_devices.get(device)
        if found is None:
            raise LookupError(f"no SNMP device {device!r} on collector {self.name}")
        return found

    def _actor(self, body: Mapping[str, Any], session: str | None) -> None:
        operator = body.get("operator")
        audit = self.runtime.audit
        if audit is not None and session and isinstance(operator, str) and operator:
            audit.actors[session] = operator[:200]

    def _ack_actors(self, book: Any, alarm_ids: list[int], body: Mapping[str, Any]) -> None:
        """Name the request's operator as the actor of the acknowledgements the book
        is about to audit (it records ``alarm.ack``, the device and ``"RULE #ID"``,
        with no session: ``AlarmBook._record_acks``)."""
        operator = body.get("operator")
        audit = self.runtime.audit
        if audit is None or not isinstance(operator, str) or not operator:
            return
        for alarm_id in alarm_ids:
            alarm = book.get(alarm_id)
            if alarm is not None and alarm.acked_at is None:
                key = (ACK_ACTION, alarm.device, f"{alarm.rule} #{alarm.id}")
                audit.target_actors[key] = operator[:200]

    async def _run(self, action: str, body: Mapping[str, Any]) -> JsonValue:
        if action in _WRITES and self.read_only:
            raise PermissionError(f"read-only mode: writes are disabled on collector {self.name}")
        session = body.get("session_id")
        session = session if isinstance(session, str) else None
        if action == "snmp.read":
            result: JsonValue = await self._device(body).read(str(body["oid"]), session_id=session)
            return result
        if action == "snmp.write":
            self._actor(body, session)
            result = await self._device(body).write(
                str(body["oid"]), body["data"], session_id=session
            )
            return result
        if action == "snmp.poll_add":
            oid: str = self._device(body).add_polling_oid(str(body["oid"]))
            return oid
        if action == "snmp.poll_remove":
            removed: bool = self._device(body).remove_polling_oid(str(body["oid"]))
            return removed
        if action.startswith("mqtt."):
            self._actor(body, session)
            return await self._mqtt(action, body, session)
        if action == "alarm.ack":
            book = self.runtime.alarms
            if book is None:
                raise LookupError(f"collector {self.name} has no alarm book")
            ids = body.get("ids")
            if not isinstance(ids, list):
                raise ValueError("alarm.ack needs 'ids', a list of alarm ids")
            alarm_ids = [int(i) for i in ids]
            self._ack_actors(book, alarm_ids, body)
            return book.ack_all(alarm_ids)
        raise LookupError(f"collector {self.name} does not know the request {action!r}")

    async def _mqtt(self, action: str, body: Mapping[str, Any], session: str | None) -> JsonValue:
        """``mqtt.publish``, ``mqtt.set``, ``mqtt.unset`` on the collector's brokers;
        the result as the :class:`~console.mqtt.publishes.PublishResult` fields."""
        fleet = self.runtime.mqtt
        if fleet is None:
            raise LookupError(f"collector {self.name} runs no MQTT broker connection")
        previous = body.get("previous")
        if action == "mqtt.publish":
            result = await fleet.publish(
                str(body["broker"]),
                str(body["topic"]),
                base64.b64decode(str(body.get("payload") or "")),
                int(body.get("qos", 0)),
                bool(body.get("retain", False)),
                session_id=session,
                content_type=str(body.get("content_type") or "") or None,
                user_properties=[
                    (str(pair[0]), str(pair[1]))
                    for pair in body.get("user_properties") or ()
                    if isinstance(pair, list | tuple) and len(pair) == 2
                ],
            )
        elif action == "mqtt.set":
            result = await fleet.set(
                str(body["device"]),
                str(body["interface"]),
                str(body["path"]),
                body.get("value"),
                session_id=session,
                previous=previous,
            )
        elif action == "mqtt.unset":
            result = await fleet.unset(
                str(body["device"]),
                str(body["interface"]),
                str(body["path"]),
                session_id=session,
                previous=previous,
            )
        else:
            raise LookupError(f"collector {self.name} does not know the request {action!r}")
        return {
            "success": result.success,
            "error": result.error,
            "reason_code": result.reason_code,
            "mid": result.mid,
        }

    async def _walk(self, message: Message, body: Mapping[str, Any]) -> None:
        device = self._device(body)
        session = body.get("session_id")
        rows: list[JsonValue] = []
        count = 0
        async for oid, data in device.walk(
            str(body["oid"]), session_id=session if isinstance(session, str) else None
        ):
            rows.append([oid, data])
            count += 1
            if len(rows) >= WALK_CHUNK:
                self.link.reply(
                    message, {"format": FORMAT, "ok": True, "rows": rows, "done": False}
                )
                rows = []
            if count >= WALK_LIMIT:
                break
        self.link.reply(message, {"format": FORMAT, "ok": True, "rows": rows, "done": True})

    async def _close(self) -> None:
        """Announce ``offline`` (retained), disconnect, then close the runtime."""
        await self.cancel_tasks()
        try:
            await self.link.aclose(
                last=[(status_topic(self.name), _dumps(self._status("offline")), True)]
            )
        finally:
            await self.runtime.aclose()


def _reason(exc: BaseException) -> str:
    """An operator-readable reason for a failed request (never a secret: the
    backends' errors do not carry any)."""
    if isinstance(exc, KeyError):
        return f"the request lacks {exc.args[0]!r}"
    text = str(exc)
    return text if text else type(exc).__name__
