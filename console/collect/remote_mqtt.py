"""The MQTT operator actions of an attached console: publish, set and unset, as MQTT 5
requests to the collector that owns the broker or the device.

:class:`RemoteMqttFleet` answers what the UI's MQTT operator
(``screens/controllers/mqtt.py``) asks of :class:`~console.mqtt.fleet.MqttFleet`:

* ``connections``: the brokers the collectors report (``("mqtt", "@BROKER", ...)``
  events), each with the collector that holds its connection;
* ``interfaces``: the Astarte interfaces the collectors announce
  (``fleettop/v1/{collector}/interface/{name}``, retained, the interface's JSON), so
  the set dialog checks a value as in a local run;
* ``devices``: for each MQTT device, whether it is an Astarte one (``astarte_base``);
* ``publish``, ``set``, ``unset``: ``mqtt.publish`` / ``mqtt.set`` / ``mqtt.unset``
  requests; the collector runs them on its connection (refusing them under
  ``--read-only``), publishes the ``("mqtt", TARGET, "publish")`` result event and
  audits it with the operator's identity; the reply is the
  :class:`~console.mqtt.publishes.PublishResult`.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from console.astarte import Interface, parse_interface
from console.collect.link import RemoteError
from console.events import JsonValue
from console.mqtt.publishes import PublishResult


class Requests(Protocol):
    """What the fleet needs of the console's runtime
    (:class:`~console.collect.remote.RemoteRuntime`): its requests."""

    async def request(
        self, device: str, action: str, body: dict[str, JsonValue]
    ) -> JsonValue: ...  # pragma: no cover - a protocol

    async def request_to(
        self, collector: str, action: str, body: dict[str, JsonValue]
    ) -> JsonValue: ...  # pragma: no cover - a protocol


__all__ = ["RemoteMqttDevice", "RemoteMqttFleet", "Requests", "publish_result"]


@dataclasses.dataclass(slots=True)
class RemoteMqttDevice:
    """What the set dialog needs of an MQTT device: whether it is an Astarte one.

    Attributes:
        broker: its broker's name.
        astarte_base: ``REALM/DEVICE_ID`` of a configured Astarte device, ``"?"``
            for one the collector found by a template (it knows the base), else
            ``None``.
    """

    broker: str
    astarte_base: str | None = None


def publish_result(data: JsonValue) -> PublishResult:
    """A :class:`PublishResult` from a collector's reply.

    Raises:
        RemoteError: the reply is not one.
    """
    if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
        raise RemoteError("the collector answered without a publish result")
    error, code, mid = data.get("error"), data.get("reason_code"), data.get("mid")
    return PublishResult(
        success=bool(data["success"]),
        error=None if error is None else str(error),
        reason_code=code if isinstance(code, int) else None,
        mid=mid if isinstance(mid, int) else None,
    )


class RemoteMqttFleet:
    """See the module docstring.

    Args:
        runtime: the console's runtime (its requests).
    """

    def __init__(self, runtime: Requests) -> None:
        self._runtime = runtime
        self.connections: dict[str, str] = {}
        """Broker name -> the collector holding its connection."""
        self.interfaces: dict[str, Interface] = {}
        """The Astarte interfaces the collectors announced, by name."""
        self.devices: dict[str, RemoteMqttDevice] = {}
        """The MQTT devices seen, by name."""

    # -- fed by the runtime ------------------------------------------------------------

    def interface(self, data: Any) -> None:
        """Take an announced interface (its JSON document).

        Raises:
            ValueError: not a valid interface (the runtime logs it).
        """
        parsed = parse_interface(data, file="<announced interface>")
        self.interfaces[parsed.name] = parsed

    def event(self, collector: str, event_type: tuple[str, ...], payload: JsonValue) -> None:
        """Fold an ``mqtt`` event: brokers, devices and their Astarte nature."""
        if len(event_type) < 3 or event_type[0] != "mqtt":
            return
        name = event_type[1]
        if name.startswith("@"):
            self.connections.setdefault(name[1:], collector)
            self.connections[name[1:]] = collector
            return
        broker = payload.get("broker") if isinstance(payload, dict) else None
        device = self.devices.get(name)
        if device is None:
            if not isinstance(broker, str):
                return
            device = self.devices[name] = RemoteMqttDevice(broker)
        if event_type[2] in ("property", "datastream", "introspection"):
            device.astarte_base = device.astarte_base or "?"

    def described(self, name: str, broker: str, astarte: Mapping[str, Any] | None) -> None:
        """Take an announced device with an ``mqtt:`` part."""
        device = self.devices.setdefault(name, RemoteMqttDevice(broker))
        if astarte is not None:
            device.astarte_base = f"{astarte['realm']}/{astarte['device_id']}"

    # -- the operator's actions --------------------------------------------------------
    # (their signatures repeat MqttFleet's on purpose: the runtime hands this fleet to the
    # MQTT operator as one; the work is the collector's, through requests)

    async def publish(
        self,
        broker: str,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        retain: bool = False,
        *,
        session_id: str | None = None,
        content_type: str | None = None,
        user_properties: Sequence[tuple[str, str]] = (),
    ) -> PublishResult:
        """Publish on ``broker`` through the collector that holds its connection
        (``content_type`` and ``user_properties``: MQTT 5 properties, as
        :meth:`MqttFleet.publish <console.mqtt.fleet.MqttFleet.publish>`).

        Raises:
            RemoteError: no collector holds it, it is offline, it refused (read-only,
                a bad topic), or no answer in time.
        """
        collector = self.connections.get(broker)
        if collector is None:
            raise RemoteError(f"no collector reports a connection to broker {broker}")
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        body: dict[str, JsonValue] = {
            "broker": broker,
            "topic": topic,
            "payload": base64.b64encode(data).decode("ascii"),
            "qos": qos,
            "retain": retain,
            "session_id": session_id,
        }
        if content_type:
            body["content_type"] = content_type
        if user_properties:
            body["user_properties"] = [[name, value] for name, value in user_properties]
        return publish_result(await self._runtime.request_to(collector, "mqtt.publish", body))

    async def set(
        self,
        device: str,
        interface_name: str,
        path: str,
        value: object,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Set an Astarte value through the device's collector (``value`` in JSON
        form, as the set dialog gives it).

        Raises:
            RemoteError: as :meth:`publish`, or the collector's validation error.
        """
        body: dict[str, JsonValue] = {
            "interface": interface_name,
            "path": path,
            "value": value,  # type: ignore[dict-item]
            "session_id": session_id,
            "previous": previous,
        }
        return publish_result(await self._runtime.request(device, "mqtt.set", body))

    async def unset(
        self,
        device: str,
        interface_name: str,
        path: str,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Unset an Astarte property through the device's collector.

        Raises:
            RemoteError: as :meth:`set`.
        """
        body: dict[str, JsonValue] = {
            "interface": interface_name,
            "path": path,
            "session_id": session_id,
            "previous": previous,
        }
        return publish_result(await self._runtime.request(device, "mqtt.unset", body))
