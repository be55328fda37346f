"""The MQTT backend: broker connections (paho-mqtt), MQTT devices and Astarte
interfaces.

Modules (import them directly; this package imports none of them, so the
configuration loader can use :mod:`console.mqtt.topics` without paho):

* :mod:`console.mqtt.topics` - topic names, filters and device templates (pure);
* :mod:`console.mqtt.codec` - payload decoding for display: JSON, UTF-8 text,
  Astarte BSON, hex dump, with a visible size limit;
* :mod:`console.mqtt.interfaces` - the Astarte interface model, loader, path and
  payload validation, the reliability -> QoS table;
* :mod:`console.mqtt.client` - :class:`~console.mqtt.client.BrokerConnection`: one
  paho client in its network thread, status/reconnect/resubscribe, batched and
  bounded hand-over of messages to the event loop, publish results;
* :mod:`console.mqtt.devices` - topic -> device routing, device freshness/LWT status,
  Astarte decoding into property and datastream events;
* :mod:`console.mqtt.fleet` - :class:`~console.mqtt.fleet.MqttFleet`: every broker
  connection and MQTT device of a configuration, set/unset/publish for operators.

The event types and payloads are listed in ``docs/events.md``.
"""
