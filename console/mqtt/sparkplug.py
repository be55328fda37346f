"""Sparkplug B (Eclipse Sparkplug 3.0) on its own namespace: topics, payloads, and
what a host application learns from them.

Topics (Sparkplug 3.0 §4.1): ``spBv1.0/GROUP/MESSAGE_TYPE/EDGE_NODE[/DEVICE]`` with
``MESSAGE_TYPE`` one of ``NBIRTH NDATA NDEATH NCMD`` (an edge node) or ``DBIRTH
DDATA DDEATH DCMD`` (a device of it), and ``spBv1.0/STATE/HOST_ID`` (a host
application's state, not a device). Only topics of this namespace are read as
Sparkplug (:func:`parse_topic` returns ``None`` for any other): a payload elsewhere is
never guessed to be Sparkplug.

Payloads (§6.4) are the Tahu protobuf ``Payload`` (:mod:`console.mqtt.tahu`):
``timestamp`` (ms since the epoch), ``seq`` (0..255), ``metrics`` each with ``name``
(BIRTH), ``alias`` (optional, unique within the edge node), ``datatype`` (BIRTH),
``timestamp`` and one value field. :func:`metric_value` gives each datatype's value in
JSON form: signed integers from their unsigned encoding (both the width's two's
complement, as pysparkplug sends, and the 32/64-bit one, as Tahu's Java does),
``DateTime`` as ISO 8601 (``...Z``), ``Bytes``/``File`` as base64, the array types
from their little-endian ``bytes_value`` (§6.4.17: ``BooleanArray`` a 4-byte count
then bits, most significant first; ``StringArray`` NUL-terminated UTF-8),
``DataSet`` as ``{"columns", "types", "rows"}``, ``Template`` as
``{"template_ref", "is_definition", "metrics"}``, ``PropertySet`` as an object.

:class:`SparkplugTracker` is the host application's view of one broker (§5, §7):

* an edge node is the device ``GROUP:EDGE``, a device ``GROUP:EDGE:DEVICE``;
* NBIRTH/DBIRTH: every metric (name, alias, datatype, properties) becomes a value;
  the aliases and datatypes are remembered, so NDATA/DDATA update values by name or
  by alias;
* NDEATH sets the node and all its devices OFFLINE. Its ``bdSeq`` must be the one of
  the node's last NBIRTH: one *older* than it (by 1..127, mod 256) is an earlier
  session's Will delivered late, ignored with a warning; any other mismatch is a
  warning but still a death (pysparkplug 0.6's clean disconnect sends the bdSeq of
  its *next* session). DDEATH sets the device OFFLINE; any other message from a node
  or device sets it ONLINE;
* ``seq`` must go up by one (mod 256) over NBIRTH, NDATA, DBIRTH, DDATA and DDEATH of
  one node, and ``bdSeq`` by one from one NBIRTH to the next: a gap, a DATA before its
  BIRTH, an unknown alias and an undecodable payload are **warnings** (published as
  ``("mqtt", DEVICE, "warning")``), never errors that stop anything.

The tracker holds at most :data:`MAX_METRICS` metric names per node (aliases
included) and :data:`MAX_NODES` nodes, so misbehaving publishers cannot grow it
without bound.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Final

from console.events import JsonValue

__all__ = [
    "DEVICE_TYPES",
    "MAX_METRICS",
    "MAX_NODES",
    "NAMESPACE",
    "NODE_TYPES",
    "Metric",
    "SparkplugError",
    "SparkplugMessage",
    "SparkplugTopic",
    "SparkplugTracker",
    "TrackerOutput",
    "decode_sparkplug",
    "metric_value",
    "parse_topic",
    "payload_json",
]

#: The Sparkplug B topic namespace (Sparkplug 3.0 §4.1.1).
NAMESPACE: Final = "spBv1.0"
NODE_TYPES: Final = frozenset({"NBIRTH", "NDATA", "NDEATH", "NCMD"})
DEVICE_TYPES: Final = frozenset({"DBIRTH", "DDATA", "DDEATH", "DCMD"})
#: Metric names remembered per edge node (its devices' included).
MAX_METRICS: Final = 10_000
#: Edge nodes remembered per broker (past it, a new node is read without memory:
#: its aliases and seq are not tracked).
MAX_NODES: Final = 10_000


class SparkplugError(ValueError):
    """A topic of the namespace that is not well formed, or a payload that is not a
    Sparkplug B payload; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    """A topic of the Sparkplug namespace.

    Attributes:
        message_type: ``NBIRTH`` ... ``DCMD``, or ``STATE``.
        group: the group ID (``None`` for ``STATE``).
        edge_node: the edge node ID (``None`` for ``STATE``).
        device: the device ID (device messages only).
        host_id: the host application ID (``STATE`` only).
    """

    message_type: str
    group: str | None = None
    edge_node: str | None = None
    device: str | None = None
    host_id: str | None = None

    @property
    def node_name(self) -> str:
        """The fleettop device name of the edge node: ``GROUP:EDGE``."""
        return f"{self.group}:{self.edge_node}"

    @property
    def device_name(self) -> str:
        """The fleettop device name the message belongs to: the edge node's, or
        ``GROUP:EDGE:DEVICE`` for a device message."""
        if self.device is None:
            return self.node_name
        return f"{self.group}:{self.edge_node}:{self.device}"


def parse_topic(topic: str) -> SparkplugTopic | None:
    """``topic`` read as a Sparkplug B topic, or ``None`` when it is outside the
    namespace (does not start with ``spBv1.0/``).

    Raises:
        SparkplugError: in the namespace, but not a Sparkplug topic (wrong number of
            levels, an unknown message type, an empty ID).
    """
    if not topic.startswith(NAMESPACE + "/"):
        return None
    levels = topic.split("/")
    if len(levels) == 3 and levels[1] == "STATE" and levels[2]:
        return SparkplugTopic("STATE", host_id=levels[2])
    if len(levels) < 4:
        raise SparkplugError(f"{topic}: a Sparkplug topic is spBv1.0/GROUP/TYPE/EDGE[/DEVICE]")
    _, group, kind, edge, *rest = levels
    if kind in NODE_TYPES and not rest:
        device = None
    elif kind in DEVICE_TYPES and len(rest) == 1:
        device = rest[0]
    elif kind in NODE_TYPES or kind in DEVICE_TYPES:
        what = "EDGE/DEVICE" if kind in DEVICE_TYPES else "EDGE"
        raise SparkplugError(f"{topic}: {kind} is spBv1.0/GROUP/{kind}/{what}")
    else:
        raise SparkplugError(f"{topic}: {kind!r} is not a Sparkplug B message type")
    if not group or not edge or device == "":
        raise SparkplugError(f"{topic}: empty group, edge node or device ID")
    return SparkplugTopic(kind, group, edge, device)


# --------------------------------------------------------------------------- payloads


def _iso_ms(ms: int) -> str:
    try:
        when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return when.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _signed(value: int, bits: int) -> int:
    """A signed integer from its unsigned wire form: the 32/64-bit two's complement
    (Tahu) or the width's own (pysparkplug)."""
    wire = 64 if bits == 64 else 32
    if value >= 1 << (wire - 1):
        return value - (1 << wire)
    if bits < wire and value >= 1 << (bits - 1) and value < 1 << bits:
        return value - (1 << bits)
    return value


def _number(value: float) -> JsonValue:
    return value if math.isfinite(value) else str(value)


_ARRAY_FORMATS: Final = {
    22: "b",
    23: "h",
    24: "i",
    25: "q",
    26: "B",
    27: "H",
    28: "I",
    29: "Q",
    30: "f",
    31: "d",
    34: "q",
}
_SIGNED_BITS: Final = {1: 8, 2: 16, 3: 32, 4: 64}


def _array(datatype: int, data: bytes) -> JsonValue:
    if datatype == 32:  # BooleanArray: count (uint32 LE), then bits MSB first
        if len(data) < 4:
            raise SparkplugError("BooleanArray shorter than its 4-byte count")
        count = int.from_bytes(data[:4], "little")
        bits = [bool(byte & (0x80 >> i)) for byte in data[4:] for i in range(8)]
        if count > len(bits):
            raise SparkplugError(f"BooleanArray says {count} values, holds {len(bits)}")
        return list(bits[:count])
    if datatype == 33:  # StringArray: NUL-terminated UTF-8 strings
        parts = data.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        return [part.decode("utf-8", "replace") for part in parts]
    code = _ARRAY_FORMATS[datatype]
    size = struct.calcsize(code)
    if len(data) % size:
        raise SparkplugError(f"{len(data)} bytes are not a whole number of {size}-byte items")
    items = struct.unpack(f"<{len(data) // size}{code}", data)
    if datatype == 34:
        return [_iso_ms(int(item)) for item in items]
    if code in "fd":
        return [_number(float(item)) for item in items]
    return [int(item) for item in items]


def _property_value(prop: Any) -> JsonValue:
    if prop.is_null:
        return None
    which = prop.WhichOneof("value")
    if which is None:
        return None
    if which == "propertyset_value":
        return _property_set(prop.propertyset_value)
    if which == "propertysets_value":
        return [_property_set(item) for item in prop.propertysets_value.propertyset]
    if which == "extension_value":
        return None
    raw = getattr(prop, which)
    bits = _SIGNED_BITS.get(prop.type)
    if bits is not None and isinstance(raw, int):
        return _signed(raw, bits)
    if prop.type == 13 and isinstance(raw, int):
        return _iso_ms(raw)
    if isinstance(raw, float):
        return _number(raw)
    return raw  # type: ignore[no-any-return]


def _property_set(props: Any) -> dict[str, JsonValue]:
    return {
        str(key): _property_value(value)
        for key, value in zip(props.keys, props.values, strict=False)
    }


def _dataset(dataset: Any) -> JsonValue:
    from console.mqtt.tahu import DATATYPE_NAMES

    types = list(dataset.types)
    rows: list[JsonValue] = []
    for row in dataset.rows:
        cells: list[JsonValue] = []
        for index, element in enumerate(row.elements):
            which = element.WhichOneof("value")
            raw = None if which in (None, "extension_value") else getattr(element, which)
            kind = types[index] if index < len(types) else 0
            bits = _SIGNED_BITS.get(kind)
            if bits is not None and isinstance(raw, int):
                raw = _signed(raw, bits)
            elif kind == 13 and isinstance(raw, int):
                raw = _iso_ms(raw)
            elif isinstance(raw, float):
                raw = _number(raw)
            cells.append(raw)
        rows.append(cells)
    return {
        "columns": list(dataset.columns),
        "types": [DATATYPE_NAMES.get(t, str(t)) for t in types],
        "rows": rows,
    }


def metric_value(metric: Any, datatype: int) -> JsonValue:
    """The value of a protobuf ``Metric`` in JSON form for ``datatype`` (the metric's
    own, or the one its BIRTH declared); see the module docstring.

    Raises:
        SparkplugError: the value field does not hold what the datatype says (an
            array whose bytes do not divide, a BooleanArray shorter than its count).
    """
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None or which == "extension_value":
        return None
    if which == "dataset_value":
        return _dataset(metric.dataset_value)
    if which == "template_value":
        template = metric.template_value
        return {
            "template_ref": template.template_ref or None,
            "is_definition": template.is_definition,
            "metrics": {
                m.name or f"alias {m.alias}": metric_value(m, m.datatype) for m in template.metrics
            },
        }
    raw = getattr(metric, which)
    if which == "bytes_value":
        if datatype in _ARRAY_FORMATS or datatype in (32, 33):
            return _array(datatype, bytes(raw))
        return base64.b64encode(bytes(raw)).decode("ascii")
    bits = _SIGNED_BITS.get(datatype)
    if bits is not None and isinstance(raw, int):
        return _signed(raw, bits)
    if datatype == 13 and isinstance(raw, int):
        return _iso_ms(raw)
    if isinstance(raw, float):
        return _number(raw)
    return raw  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a payload.

    Attributes:
        name: its name, or ``None`` (a DATA metric sent by alias only).
        alias: its alias, or ``None``.
        datatype: the datatype number it declares (0 when it declares none).
        value: the value in JSON form, decoded with ``datatype`` when it has one
            (else as the protobuf field holds it; see :meth:`SparkplugTracker`).
        timestamp: ms since the epoch, or ``None``.
        is_null, historical, transient: its flags.
        properties: its PropertySet as an object, or ``None``.
        raw: the protobuf ``Metric`` (decoded again once the datatype is known).
    """

    name: str | None
    alias: int | None
    datatype: int
    value: JsonValue
    timestamp: int | None
    is_null: bool
    historical: bool
    transient: bool
    properties: dict[str, JsonValue] | None
    raw: Any = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SparkplugMessage:
    """A decoded Sparkplug B payload: its ``timestamp`` (ms) and ``seq`` (``None``
    when absent), ``uuid``, ``body`` (bytes) and metrics in order."""

    timestamp: int | None
    seq: int | None
    uuid: str | None
    body: bytes | None
    metrics: tuple[Metric, ...]


def decode_sparkplug(data: bytes) -> SparkplugMessage:
    """Decode a Sparkplug B payload (the Tahu protobuf ``Payload``).

    Raises:
        SparkplugError: not a Sparkplug B payload (the protobuf decoder's message),
            or a metric whose value does not fit its datatype.
    """
    from google.protobuf.message import DecodeError

    from console.mqtt.tahu import Payload

    message = Payload()
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SparkplugError(f"not a Sparkplug B payload: {exc}") from None
    metrics = []
    for m in message.metrics:
        metrics.append(
            Metric(
                name=m.name if m.HasField("name") else None,
                alias=m.alias if m.HasField("alias") else None,
                datatype=m.datatype,
                value=metric_value(m, m.datatype) if m.datatype else None,
                timestamp=m.timestamp if m.HasField("timestamp") else None,
                is_null=m.is_null,
                historical=m.is_historical,
                transient=m.is_transient,
                properties=_property_set(m.properties) if m.HasField("properties") else None,
                raw=m,
            )
        )
    return SparkplugMessage(
        timestamp=message.timestamp if message.HasField("timestamp") else None,
        seq=message.seq if message.HasField("seq") else None,
        uuid=message.uuid if message.HasField("uuid") else None,
        body=bytes(message.body) if message.HasField("body") else None,
        metrics=tuple(metrics),
    )


def payload_json(data: bytes) -> dict[str, JsonValue]:
    """A Sparkplug B payload as JSON for display: ``{"timestamp", "seq", "uuid",
    "body", "metrics": [{"name", "alias", "datatype", "value", "timestamp", ...}]}``
    (datatypes by name, timestamps ISO 8601, body base64; fields absent from the
    payload left out).

    Raises:
        SparkplugError: as :func:`decode_sparkplug`.
    """
    from console.mqtt.tahu import DATATYPE_NAMES

    decoded = decode_sparkplug(data)
    out: dict[str, JsonValue] = {}
    if decoded.timestamp is not None:
        out["timestamp"] = _iso_ms(decoded.timestamp)
    if decoded.seq is not None:
        out["seq"] = decoded.seq
    if decoded.uuid is not None:
        out["uuid"] = decoded.uuid
    if decoded.body is not None:
        out["body"] = base64.b64encode(decoded.body).decode("ascii")
    metrics: list[JsonValue] = []
    for metric in decoded.metrics:
        item: dict[str, JsonValue] = {}
        if metric.name is not None:
            item["name"] = metric.name
        if metric.alias is not None:
            item["alias"] = metric.alias
        if metric.datatype:
            item["datatype"] = DATATYPE_NAMES.get(metric.datatype, str(metric.datatype))
        item["value"] = metric.value if metric.datatype else _untyped(metric.raw)
        if metric.timestamp is not None:
            item["timestamp"] = _iso_ms(metric.timestamp)
        for flag in ("is_null", "historical", "transient"):
            if getattr(metric, flag):
                item[flag] = True
        if metric.properties is not None:
            item["properties"] = metric.properties
        metrics.append(item)
    out["metrics"] = metrics
    return out


def _untyped(raw: Any) -> JsonValue:
    """A DATA metric's value before its datatype is known: the field as it is."""
    try:
        return metric_value(raw, 0)
    except SparkplugError:
        return None


# --------------------------------------------------------------------------- host state


@dataclass(slots=True)
class _Node:
    """What the host knows of one edge node: its last NBIRTH's bdSeq, the seq last
    seen, and the metrics its BIRTHs declared (alias -> name, name -> datatype, per
    fleettop device name)."""

    bd_seq: int | None = None
    seq: int | None = None
    born: bool = False
    devices_born: set[str] = field(default_factory=set)
    aliases: dict[int, tuple[str, str]] = field(default_factory=dict)
    datatypes: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True)
class TrackerOutput:
    """What one message tells (see :meth:`SparkplugTracker.handle`).

    Attributes:
        device: the fleettop device the message belongs to.
        node: the edge node's fleettop device name.
        metrics: ``(device, event payload, source timestamp in s or None)`` per metric
            value, in order.
        status: ``(device, "ONLINE" | "OFFLINE", reason)`` changes to apply, in order.
        warnings: ``(device, text)`` to publish.
    """

    device: str
    node: str
    metrics: list[tuple[str, dict[str, JsonValue], float | None]] = field(default_factory=list)
    status: list[tuple[str, str, str | None]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


class SparkplugTracker:
    """The host application's state of one broker's Sparkplug edge nodes (see the
    module docstring). Plain Python, driven by :meth:`handle` on the loop.

    Args:
        broker: the broker's name (copied into the metric events).
    """

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self._nodes: dict[str, _Node] = {}
        self._where: dict[str, tuple[str, str, str | None]] = {}

    def location(self, device: str) -> tuple[str, str, str | None] | None:
        """``(group, edge node, device ID or None)`` of a fleettop device name seen in
        the namespace, or ``None``."""
        return self._where.get(device)

    def datatype_of(self, device: str, name: str) -> int | None:
        """The datatype number the last BIRTH declared for metric ``name`` of
        ``device``, or ``None`` (no BIRTH seen)."""
        where = self._where.get(device)
        node = None if where is None else self._nodes.get(f"{where[0]}:{where[1]}")
        return None if node is None else node.datatypes.get((device, name))

    def devices_of(self, node: str) -> set[str]:
        """The devices of edge node ``node`` born so far (fleettop names)."""
        found = self._nodes.get(node)
        return set(found.devices_born) if found is not None else set()

    def handle(self, topic: SparkplugTopic, topic_name: str, payload: bytes) -> TrackerOutput:
        """Read one message of edge node or device ``topic`` (not ``STATE``).

        Never raises: an undecodable payload or a protocol slip is a warning in the
        output.
        """
        kind = topic.message_type
        node_name, device = topic.node_name, topic.device_name
        out = TrackerOutput(device, node_name)
        if len(self._where) < MAX_METRICS or device in self._where:
            assert topic.group is not None
            assert topic.edge_node is not None
            self._where[device] = (topic.group, topic.edge_node, topic.device)
        node = self._nodes.get(node_name)
        if node is None:
            node = _Node()
            if len(self._nodes) < MAX_NODES:
                self._nodes[node_name] = node
        try:
            message = decode_sparkplug(payload)
        except SparkplugError as exc:
            out.warnings.append((device, f"{kind} on {topic_name}: {exc}"))
            if kind in ("NDEATH", "DDEATH"):
                self._death(kind, node, node_name, device, None, out)
            return out
        if kind in ("NCMD", "DCMD"):
            return out  # a command to the node: not its state
        if kind == "NDEATH":
            bd_seq = self._bd_seq(message)
            if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
                if 0 < (node.bd_seq - bd_seq) % 256 < 128:
                    out.warnings.append(
                        (
                            node_name,
                            f"NDEATH bdSeq {bd_seq} is older than the bdSeq {node.bd_seq} "
                            "of the last NBIRTH: an earlier session's death, ignored",
                        )
                    )
                    return out
                out.warnings.append(
                    (
                        node_name,
                        f"NDEATH bdSeq {bd_seq} does not match the bdSeq {node.bd_seq} of "
                        "the last NBIRTH (Sparkplug 3.0: they must be equal)",
                    )
                )
            self._death(kind, node, node_name, device, bd_seq, out)
            return out
        self._check_seq(kind, node, node_name, device, message.seq, out)
        if kind == "NBIRTH":
            bd_seq = self._bd_seq(message)
            if node.bd_seq is not None and bd_seq is not None and bd_seq != (node.bd_seq + 1) % 256:
                out.warnings.append(
                    (node_name, f"bdSeq gap: NBIRTH bdSeq {bd_seq} after {node.bd_seq}")
                )
            node.bd_seq = bd_seq
            node.born = True
            # a new session: the node's metrics are declared again
            node.aliases.clear()
            node.datatypes = {k: v for k, v in node.datatypes.items() if k[0] != node_name}
        elif kind == "DBIRTH":
            node.devices_born.add(device)
            node.datatypes = {k: v for k, v in node.datatypes.items() if k[0] != device}
            node.aliases = {a: k for a, k in node.aliases.items() if k[0] != device}
            if not node.born:
                out.warnings.append(
                    (device, f"DBIRTH before the NBIRTH of {node_name} (fleettop joined late?)")
                )
        elif kind == "DDEATH":
            self._death(kind, node, node_name, device, None, out)
            return out
        else:
            born = node.born if kind == "NDATA" else device in node.devices_born
            if not born:
                birth = "NBIRTH" if kind == "NDATA" else "DBIRTH"
                out.warnings.append(
                    (
                        device,
                        f"{kind} before {birth}: metrics sent by alias only are unknown "
                        "until the next BIRTH (a host asks for one with the NCMD "
                        "'Node Control/Rebirth')",
                    )
                )
        out.status.append((device, "ONLINE", None))
        is_birth = kind in ("NBIRTH", "DBIRTH")
        self._metrics(kind, topic, topic_name, node, device, message, is_birth, out)
        return out

    def _bd_seq(self, message: SparkplugMessage) -> int | None:
        for metric in message.metrics:
            if metric.name == "bdSeq" and isinstance(metric.value, int):
                return metric.value
            if metric.name == "bdSeq" and isinstance(metric.raw.long_value, int):
                return int(metric.raw.long_value)
        return None

    def _death(
        self,
        kind: str,
        node: _Node,
        node_name: str,
        device: str,
        bd_seq: int | None,
        out: TrackerOutput,
    ) -> None:
        if kind == "NDEATH":
            reason = "NDEATH" + (f" (bdSeq {bd_seq})" if bd_seq is not None else "")
            out.status.append((node_name, "OFFLINE", reason))
            for child in sorted(node.devices_born):
                out.status.append((child, "OFFLINE", f"its edge node {node_name}: {reason}"))
            node.born = False
            node.seq = None
            node.devices_born.clear()
        else:
            out.status.append((device, "OFFLINE", "DDEATH"))
            node.devices_born.discard(device)

    def _check_seq(
        self,
        kind: str,
        node: _Node,
        node_name: str,
        device: str,
        seq: int | None,
        out: TrackerOutput,
    ) -> None:
        if seq is None:
            out.warnings.append((device, f"{kind} without seq"))
            return
        if kind == "NBIRTH":
            if seq != 0:
                out.warnings.append((node_name, f"NBIRTH seq is {seq}, not 0"))
        elif node.seq is not None and seq != (node.seq + 1) % 256:
            expected = (node.seq + 1) % 256
            lost = (seq - expected) % 256
            out.warnings.append(
                (
                    device,
                    f"seq gap on {node_name}: expected {expected}, got {seq} "
                    f"({lost} message{'s' if lost != 1 else ''} lost or out of order)",
                )
            )
        node.seq = seq

    def _metrics(
        self,
        kind: str,
        topic: SparkplugTopic,
        topic_name: str,
        node: _Node,
        device: str,
        message: SparkplugMessage,
        birth: bool,
        out: TrackerOutput,
    ) -> None:
        from console.mqtt.tahu import DATATYPE_NAMES

        for metric in message.metrics:
            name = metric.name
            if name is None and metric.alias is not None:
                known = node.aliases.get(metric.alias)
                if known is None or known[0] != device:
                    out.warnings.append(
                        (device, f"{kind}: alias {metric.alias} is not declared by a BIRTH")
                    )
                    continue
                name = known[1]
            if name is None:
                out.warnings.append((device, f"{kind}: a metric with neither name nor alias"))
                continue
            datatype = metric.datatype or node.datatypes.get((device, name), 0)
            if birth and len(node.datatypes) < MAX_METRICS:
                node.datatypes[(device, name)] = metric.datatype
                if metric.alias is not None:
                    node.aliases[metric.alias] = (device, name)
            try:
                value = metric.value if metric.datatype else metric_value(metric.raw, datatype)
            except SparkplugError as exc:
                out.warnings.append((device, f"{kind}: metric {name}: {exc}"))
                continue
            timestamp = metric.timestamp if metric.timestamp is not None else message.timestamp
            out.metrics.append(
                (
                    device,
                    {
                        "broker": self.broker,
                        "topic": topic_name,
                        "group": topic.group,
                        "edge_node": topic.edge_node,
                        "device": topic.device,
                        "message_type": kind,
                        "name": name,
                        "alias": metric.alias,
                        "datatype": DATATYPE_NAMES.get(datatype, "Unknown"),
                        "value": value,
                        "timestamp": None if timestamp is None else _iso_ms(timestamp),
                        "is_null": metric.is_null,
                        "historical": metric.historical,
                        "transient": metric.transient,
                        "properties": metric.properties,
                        "seq": message.seq,
                        "birth": birth,
                    },
                    None if timestamp is None else timestamp / 1000,
                )
            )
