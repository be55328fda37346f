"""Astarte interfaces: the model, value conversion and the interface-file loader.

* :mod:`~console.astarte.model` -- :class:`Interface`,
  :class:`InterfaceMapping`: path and payload validation, the reliability -> QoS
  table (the Astarte Device SDK's semantics, the differences listed there);
* :mod:`~console.astarte.values` -- values between Python, Astarte's JSON
  form and an operator's text;
* :mod:`~console.astarte.loader` -- interface files, validated against the
  Astarte interface JSON Schema (``interface.schema.json``) and the rules across
  fields; every problem an :class:`InterfaceError` naming file, field and reason.

The package is apart from the MQTT backend: the configuration, the MQTT backend and
the property store all use it, and it imports none of them. The names below are
its public API; the exceptions live in :mod:`console.astarte.errors`.
"""

from __future__ import annotations

from console.astarte.errors import InterfaceError, ValidationError
from console.astarte.loader import (
    check_interfaces,
    load_interface,
    load_interfaces,
    parse_interface,
)
from console.astarte.model import (
    ASTARTE_TYPES,
    MAX_ARRAY_ITEMS,
    MAX_BLOB_BYTES,
    MAX_STRING_BYTES,
    AstarteType,
    Interface,
    InterfaceMapping,
)
from console.astarte.values import from_json_value, parse_value, to_json_value

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
