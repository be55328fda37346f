"""Astarte interfaces: the model, value conversion and the interface-file loader.

* :mod:`~console.mqtt.interfaces.model` -- :class:`Interface`,
  :class:`InterfaceMapping`: path and payload validation, the reliability -> QoS
  table (the Astarte Device SDK's semantics, the differences listed there);
* :mod:`~console.mqtt.interfaces.values` -- values between Python, Astarte's JSON
  form and an operator's text;
* :mod:`~console.mqtt.interfaces.loader` -- interface files, validated against the
  Astarte interface JSON Schema (``interface.schema.json``) and the rules across
  fields; every problem an :class:`InterfaceError` naming file, field and reason.

The names below are re-exported so that ``from console.mqtt.interfaces import ...``
keeps working; the exceptions live in :mod:`console.mqtt.errors`.
"""

from __future__ import annotations

from console.mqtt.errors import InterfaceError, ValidationError
from console.mqtt.interfaces.loader import (
    check_interfaces,
    load_interface,
    load_interfaces,
    parse_interface,
)
from console.mqtt.interfaces.model import (
    ASTARTE_TYPES,
    MAX_ARRAY_ITEMS,
    MAX_BLOB_BYTES,
    MAX_STRING_BYTES,
    AstarteType,
    Interface,
    InterfaceMapping,
)
from console.mqtt.interfaces.values import from_json_value, parse_value, to_json_value

__all__ = [
    "ASTARTE_TYPES",
    "MAX_ARRAY_ITEMS",
    "MAX_BLOB_BYTES",
    "MAX_STRING_BYTES",
    "AstarteType",
    "Interface",
    "InterfaceError",
    "InterfaceMapping",
    "ValidationError",
    "check_interfaces",
    "from_json_value",
    "load_interface",
    "load_interfaces",
    "parse_interface",
    "parse_value",
    "to_json_value",
]
