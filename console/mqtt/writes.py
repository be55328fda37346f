"""The operator's MQTT writes: publish, Astarte set and unset, Sparkplug commands.

:class:`MqttWrites` is a part of :class:`~console.mqtt.fleet.MqttFleet` (a mixin:
the fleet owns the connections, the devices and the interfaces these use), kept in
its own module so that each stays readable. The semantics are the Astarte device
SDK's (``Device.send`` / ``unset_property``) and Sparkplug B 3.0's (NCMD/DCMD,
§6.4.11-12); see :mod:`console.mqtt.fleet`'s docstring.

Each finished publish (success or failure) is published as ``("mqtt", TARGET,
"publish")``; invalid input and a disconnected broker raise :class:`ValueError`
instead (as SNMP writes do).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from console.astarte import Interface, ValidationError, to_json_value
from console.events import EventManager, JsonValue
from console.mqtt.client import BrokerConnection, PublishResult
from console.mqtt.devices import DeviceState
from console.mqtt.metadata import check_content_type, check_user_properties
from console.mqtt.sparkplug import NAMESPACE, SparkplugError, SparkplugTracker
from console.mqtt.sparkplug_command import command_payload

__all__ = ["MqttWrites"]


def _bson_value(type_name: str, value: Any) -> Any:
    """``value`` as BSON should carry it for ``type_name``: ``longinteger`` as int64
    (Astarte expects 64-bit integers even when small)."""
    from bson.int64 import Int64

    if type_name == "longinteger" and isinstance(value, int):
        return Int64(value)
    if type_name == "longintegerarray" and isinstance(value, list):
        return [Int64(item) for item in value]
    return value


class MqttWrites:
    """The operator's writes of :class:`~console.mqtt.fleet.MqttFleet` (which sets
    the attributes below)."""

    _bus: EventManager
    devices: dict[str, DeviceState]
    interfaces: dict[str, Interface]
    connections: dict[str, BrokerConnection]
    sparkplug: dict[str, SparkplugTracker]

    def _connection(self, broker: str) -> BrokerConnection:
        try:
            return self.connections[broker]
        except KeyError:
            raise ValueError(
                f"no broker named {broker!r} (configured: {', '.join(self.connections) or 'none'})"
            ) from None

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
        """Publish ``payload`` to ``topic`` on ``broker``; the result is also published
        as ``("mqtt", "@BROKER", "publish")`` (with ``content_type`` and
        ``user_properties`` when given).

        ``content_type`` and ``user_properties`` (``(name, value)`` pairs, in order)
        are MQTT 5 PUBLISH properties (MQTT 5.0 §3.3.2.3.9, §3.3.2.3.7).

        Raises:
            ValueError: no such broker, a bad topic name or QoS, a content type or
                user property that is no MQTT UTF-8 string, or either on a broker
                spoken to with MQTT 3.1.1 (which has no properties).
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        connection = self._connection(broker)
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        properties = None
        extra: dict[str, Any] = {}
        if content_type or user_properties:
            if connection.config.protocol != "5":
                raise ValueError(
                    f"broker {broker} is spoken to with MQTT {connection.config.protocol}: "
                    "a content type and user properties need MQTT 5 (protocol: 5)"
                )
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            pairs = check_user_properties(user_properties)
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if content_type:
                properties.ContentType = extra["content_type"] = check_content_type(content_type)
            if pairs:
                properties.UserProperty = pairs
                extra["user_properties"] = [[name, value] for name, value in pairs]
        return await self._publish(
            connection,
            connection.source,
            broker,
            topic,
            data,
            qos,
            retain,
            session_id=session_id,
            operation="publish",
            properties=properties,
            **extra,
        )

    def _astarte_target(self, device: str, interface_name: str) -> tuple[str, str, Interface]:
        """``(broker, base topic, interface)`` for an operator set on ``device``: a
        configured Astarte device, or one found by an ``{interface}`` template."""
        state = self.devices.get(device)
        if state is None or state.astarte_base is None:
            raise ValidationError(
                f"{device} is not an Astarte device (give it mqtt.astarte: realm and "
                "device_id, or match it with a device_rules template with {interface})"
            )
        interface = self.interfaces.get(interface_name)
        if interface is None:
            known = ", ".join(sorted(self.interfaces)) or "none loaded"
            raise ValidationError(
                f"interface {interface_name} is not in interfaces_dir (known: {known})"
            )
        if not interface.server_owned:
            raise ValidationError(
                f"{interface_name} is device-owned: only {device} publishes it; fleettop "
                "sets server-owned interfaces only"
            )
        return state.broker, state.astarte_base, interface

    async def set(
        self,
        device: str,
        interface_name: str,
        path: str,
        value: object,
        *,
        timestamp: dt.datetime | None = None,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Set ``path`` of a server-owned interface of Astarte device ``device`` to
        ``value`` (a property; on a server-owned datastream, send a value).
        ``previous`` (the value the caller last saw, or None) is copied into the
        result event, as an SNMP write's ``previous``.

        Raises:
            ValidationError: not an Astarte device, unknown or device-owned
                interface, a path or value that does not fit the mapping.
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        import bson

        broker, base, interface = self._astarte_target(device, interface_name)
        interface.validate_payload(path, value, timestamp)
        if interface.is_object:
            assert isinstance(value, Mapping)
            document: dict[str, Any] = {
                "v": {
                    key: _bson_value(getattr(interface.mapping(f"{path}/{key}"), "type", ""), item)
                    for key, item in value.items()
                }
            }
            shown: JsonValue = {
                key: to_json_value(
                    getattr(interface.mapping(f"{path}/{key}"), "type", "string"), item
                )
                for key, item in value.items()
            }
            type_name = "object"
        else:
            mapping = interface.validate_path(path)
            document = {"v": _bson_value(mapping.type, value)}
            shown = to_json_value(mapping.type, value)
            type_name = mapping.type
        if timestamp is not None:
            document["t"] = timestamp
        payload = bson.encode(document)
        topic = f"{base}/{interface_name}{path}"
        qos = interface.qos(path)
        return await self._publish(
            self._connection(broker),
            device,
            broker,
            topic,
            payload,
            qos,
            False,
            session_id=session_id,
            operation="set",
            interface=interface_name,
            path=path,
            type=type_name,
            value=shown,
            previous=previous,
        )

    async def unset(
        self,
        device: str,
        interface_name: str,
        path: str,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Unset property ``path`` of a server-owned interface (an empty payload, QoS
        2); only where the mapping has ``allow_unset``. ``previous``: as :meth:`set`.

        Raises:
            ValidationError: as :meth:`set`, or the mapping does not allow unset.
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        broker, base, interface = self._astarte_target(device, interface_name)
        mapping = interface.validate_unset(path)
        topic = f"{base}/{interface_name}{path}"
        return await self._publish(
            self._connection(broker),
            device,
            broker,
            topic,
            b"",
            2,
            False,
            session_id=session_id,
            operation="unset",
            interface=interface_name,
            path=path,
            type=mapping.type,
            value=None,
            previous=previous,
        )

    async def command(
        self,
        device: str,
        name: str,
        value: object,
        *,
        session_id: str | None = None,
        previous: JsonValue = None,
    ) -> PublishResult:
        """Write metric ``name`` of a Sparkplug B edge node or device: an NCMD
        (``spBv1.0/GROUP/NCMD/EDGE``) or DCMD (``.../DCMD/EDGE/DEVICE``) with the metric
        typed by the datatype its BIRTH declared
        (:func:`~console.mqtt.sparkplug_command.command_payload`), QoS 0, not retained
        (Sparkplug 3.0 §7.4). The result is published as ``("mqtt", DEVICE,
        "publish")`` with ``operation`` ``set``, ``interface``
        ``org.eclipse.tahu.Sparkplug`` and ``path`` ``/NAME`` (audited as a set).

        Raises:
            ValidationError: not a Sparkplug device, a metric no BIRTH declared, a
                value that does not fit its datatype (the reason).
            console.mqtt.client.MqttNotConnectedError: the broker is not connected.
        """
        from console.mqtt.tahu import DATATYPE_NAMES

        state = self.devices.get(device)
        tracker = None if state is None else self.sparkplug.get(state.broker)
        where = None if tracker is None else tracker.location(device)
        if state is None or tracker is None or where is None:
            raise ValidationError(f"{device} is not a Sparkplug B edge node or device")
        datatype = tracker.datatype_of(device, name)
        if not datatype:
            raise ValidationError(
                f"{device} declared no metric {name!r} in its last BIRTH (fleettop writes "
                "the metrics a BIRTH typed)"
            )
        try:
            data = command_payload(name, datatype, value, int(time.time() * 1000))
        except SparkplugError as exc:
            raise ValidationError(str(exc)) from None
        group, edge, device_id = where
        kind = "NCMD" if device_id is None else "DCMD"
        topic = f"{NAMESPACE}/{group}/{kind}/{edge}" + (f"/{device_id}" if device_id else "")
        shown: JsonValue = value if isinstance(value, int | float | str | bool) else str(value)
        return await self._publish(
            self._connection(state.broker),
            device,
            state.broker,
            topic,
            data,
            0,
            False,
            session_id=session_id,
            operation="set",
            interface="org.eclipse.tahu.Sparkplug",
            path=f"/{name}",
            type=DATATYPE_NAMES.get(datatype, str(datatype)),
            value=shown,
            previous=previous,
        )

    async def _publish(
        self,
        connection: BrokerConnection,
        target: str,
        broker: str,
        topic: str,
        data: bytes,
        qos: int,
        retain: bool,
        *,
        session_id: str | None,
        operation: str,
        properties: Any = None,
        **fields: Any,
    ) -> PublishResult:
        """Publish on ``connection`` (with the MQTT 5 ``properties``, paho's, when
        given) and the result as ``("mqtt", TARGET, "publish")`` (``fields``: the
        Astarte interface, path, type and value; a publish's content type and user
        properties)."""
        result = await connection.publish(topic, data, qos, retain, properties=properties)
        payload: dict[str, JsonValue] = {
            "session_id": session_id,
            "interface": None,
            "path": None,
            "type": None,
            "value": None,
            "previous": None,
            "operation": operation,
            "broker": broker,
            "topic": topic,
            "qos": qos,
            "retain": retain,
            "size": len(data),
            **fields,
            "success": result.success,
            "error": result.error,
            "reason_code": result.reason_code,
        }
        with contextlib.suppress(RuntimeError):  # the bus closed meanwhile
            self._bus.publish(("mqtt", target, "publish"), payload)
        return result
