"""Sparkplug B commands (Eclipse Sparkplug 3.0 §6.4, §7.4): the NCMD/DCMD payload that
sets one metric of an edge node or device, typed by the datatype its BIRTH declared
(:func:`command_payload`, used by :meth:`console.mqtt.fleet.MqttFleet.command` and the
UI's command dialog).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Final

from console.mqtt.sparkplug import SparkplugError

__all__ = ["command_payload"]


_INT_RANGES: Final = {
    1: (-(2**7), 2**7 - 1),
    2: (-(2**15), 2**15 - 1),
    3: (-(2**31), 2**31 - 1),
    4: (-(2**63), 2**63 - 1),
    5: (0, 2**8 - 1),
    6: (0, 2**16 - 1),
    7: (0, 2**32 - 1),
    8: (0, 2**64 - 1),
}


def command_payload(name: str, datatype: int, value: object, timestamp_ms: int) -> bytes:
    """An NCMD/DCMD payload (Sparkplug 3.0 §6.4.x: ``timestamp`` and one metric with
    ``name``, ``timestamp``, ``datatype`` and the value) setting metric ``name`` of
    ``datatype`` to ``value``: integers of the type's range (signed ones sent in the
    width's two's complement), ``Float``/``Double`` numbers, ``Boolean``, text for
    ``String``/``Text``/``UUID``, ``DateTime`` as ms since the epoch or ISO 8601 text,
    ``Bytes`` as base64 text.

    Raises:
        SparkplugError: a value that does not fit the datatype (the reason), or a
            datatype fleettop does not write (arrays, DataSet, Template...).
    """
    from console.mqtt.tahu import DATATYPE_NAMES, Payload

    type_name = DATATYPE_NAMES.get(datatype, str(datatype))
    message = Payload()
    message.timestamp = timestamp_ms
    metric = message.metrics.add()
    metric.name = name
    metric.timestamp = timestamp_ms
    metric.datatype = datatype
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SparkplugError(f"{name} is {type_name}: give an integer, not {value!r}")
        if not low <= value <= high:
            raise SparkplugError(f"{name} is {type_name} ({low}..{high}): {value} is out of range")
        bits = {1: 8, 2: 16, 3: 32, 4: 64}.get(datatype)
        wire = value + (1 << bits) if bits is not None and value < 0 else value
        if datatype in (4, 8):
            metric.long_value = wire
        else:
            metric.int_value = wire
    elif datatype in (9, 10):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SparkplugError(f"{name} is {type_name}: give a number, not {value!r}")
        if datatype == 9:
            metric.float_value = float(value)
        else:
            metric.double_value = float(value)
    elif datatype == 11:
        if not isinstance(value, bool):
            raise SparkplugError(f"{name} is Boolean: give true or false, not {value!r}")
        metric.boolean_value = value
    elif datatype in (12, 14, 15):
        if not isinstance(value, str):
            raise SparkplugError(f"{name} is {type_name}: give text, not {value!r}")
        metric.string_value = value
    elif datatype == 13:
        if isinstance(value, str):
            try:
                when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise SparkplugError(f"{name} is DateTime: {value!r} is not ISO 8601") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
            value = int(when.timestamp() * 1000)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SparkplugError(f"{name} is DateTime: give ISO 8601 text or ms since the epoch")
        metric.long_value = value
    elif datatype == 17:
        try:
            metric.bytes_value = base64.b64decode(str(value), validate=True)
        except ValueError:
            raise SparkplugError(f"{name} is Bytes: give base64 text") from None
    else:
        raise SparkplugError(f"{name} is {type_name}: fleettop does not write this datatype")
    return bytes(message.SerializeToString())
