"""The MQTT backend: broker connections (paho-mqtt), MQTT devices and Astarte
interfaces.

Modules (import them directly; this package imports none of them, so the
configuration loader can use :mod:`console.topics` without paho):

* :mod:`console.topics` - topic names, filters and device templates (pure);
* :mod:`console.mqtt.codec` - payload decoding for display: JSON, UTF-8 text,
  Astarte BSON, hex dump, with a visible size limit;
* :mod:`console.mqtt.errors` - every exception of the package, the hierarchy
  documented;
* :mod:`console.astarte` - a package: the Astarte interface model (path and
  payload validation, the reliability -> QoS table), value conversion, and the
  interface-file loader validating against the Astarte interface JSON Schema;
* :mod:`console.mqtt.client` - :class:`~console.mqtt.client.BrokerConnection`: one
  broker connection, built from :mod:`console.mqtt.paho_adapter` (the paho client
  in its network thread: status, capped reconnection backoff, resubscribe),
  :mod:`console.mqtt.handover` (the batched, bounded hand-over of messages to the
  event loop) and :mod:`console.mqtt.publishes` (publish results, own echoes);
* :mod:`console.mqtt.devices` - topic -> device routing, device freshness/LWT status,
  Astarte decoding into property and datastream events;
* :mod:`console.mqtt.fleet` - :class:`~console.mqtt.fleet.MqttFleet`: every broker
  connection and MQTT device of a configuration, set/unset/publish for operators
  (those writes in :mod:`console.mqtt.writes`).

The event types and payloads are listed in ``docs/events.md``.
"""
