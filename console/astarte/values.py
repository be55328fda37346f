"""Astarte values between their Python form, their JSON form and an operator's text.

Python form (what :meth:`~console.astarte.model.Interface.validate_payload`
checks and BSON carries): ``int``, ``float``, ``str``, ``bool``, ``bytes``,
:class:`datetime.datetime`, lists of those. JSON form (Astarte's JSON APIs, and
fleettop's events and store): ``binaryblob`` as base64 text, ``datetime`` as ISO 8601
UTC text, the rest as JSON has them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from console.astarte.errors import ValidationError

__all__ = ["from_json_value", "parse_value", "to_json_value"]


def to_json_value(type_name: str, value: object) -> Any:
    """An Astarte value in its JSON form (Astarte's JSON APIs): ``binaryblob`` as
    base64 text, ``datetime`` as ISO 8601 UTC with milliseconds and ``Z``, arrays
    item by item, others unchanged (``longinteger`` stays a JSON number)."""
    scalar = type_name.removesuffix("array")
    if type_name.endswith("array") and isinstance(value, list | tuple):
        return [to_json_value(scalar, item) for item in value]
    if scalar == "binaryblob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if scalar == "datetime" and isinstance(value, dt.datetime):
        utc = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, int) and not isinstance(value, bool) and type(value) is not int:
        return int(value)  # bson.int64.Int64 -> int
    return value


def from_json_value(type_name: str, value: Any) -> object:
    """The inverse of :func:`to_json_value`: base64 text -> bytes, ISO 8601 ->
    aware ``datetime``; an integral number for ``double`` becomes a float.

    Raises:
        ValidationError: text that is not base64 or ISO 8601.
    """
    scalar = type_name.removesuffix("array")
    if type_name.endswith("array"):
        if not isinstance(value, list):
            return value
        return [from_json_value(scalar, item) for item in value]
    if scalar == "binaryblob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise ValidationError(f"{value!r} is not base64 (binaryblob)") from None
    if scalar == "datetime" and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{value!r} is not an ISO 8601 date and time like 2024-05-01T12:00:00Z"
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if scalar == "double" and type(value) is int:
        return float(value)
    return value


def parse_value(type_name: str, text: str) -> object:
    """An operator's text as a value of ``type_name``: JSON (``42``, ``true``,
    ``[1, 2]``, ``"text"``), except that ``string`` takes the text as is and
    ``binaryblob``/``datetime`` take base64 / ISO 8601 without quotes. The result
    still needs :meth:`Interface.validate_payload`.

    Raises:
        ValidationError: the text is not JSON where JSON is needed.
    """
    if type_name == "string":
        return text
    if type_name in ("binaryblob", "datetime"):
        return from_json_value(type_name, text.strip().strip('"'))
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a {type_name} value (write JSON: 42, 2.5, true, [1, 2])"
        ) from None
    return from_json_value(type_name, value)
