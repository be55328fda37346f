"""Every exception the MQTT backend raises to its callers, in one place.

The hierarchy (as httpx's ``_exceptions.py``, each class documents when it is raised)::

    Exception
    └── MqttError             a broker connection refused a request
        └── MqttNotConnectedError (also a ConnectionError)
                              an operator publish while the broker is not CONNECTED

Bad Astarte input (an interface file, a path or value that does not fit an
interface) raises the errors of :mod:`console.astarte.errors`, both
:class:`ValueError`; a broker that cannot do what was asked is an :class:`MqttError`.
A publish that reaches the broker but fails is not an exception: it is a
:class:`~console.mqtt.publishes.PublishResult` with ``success`` false.
Messages never contain a password or a whole payload.
"""

from __future__ import annotations

__all__ = ["MqttError", "MqttNotConnectedError"]


class MqttError(Exception):
    """Base class of the errors a broker connection raises to callers."""


class MqttNotConnectedError(MqttError, ConnectionError):
    """An operator publish was asked while the broker is not ``CONNECTED``."""
