"""What the fleet state holds: devices, values, the store status, and the set of
changes a fold returns (plain dataclasses, no Textual, no folding)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeAlias

from console.events import Event, JsonValue
from console.notifications.model import Severity

if TYPE_CHECKING:
    from console.history import LiveValue, PropertyKey

__all__ = [
    "CONNECTED",
    "MQTT",
    "ONLINE",
    "STORED",
    "Changes",
    "DeviceState",
    "ReceiverStatus",
    "Sample",
    "StoreStatus",
    "ValueKey",
    "ValueState",
    "unpack",
]

ValueKey: TypeAlias = tuple[str, str]
"""``(device, oid)``: the key of one polled value (and of its table row); for an
MQTT value ``(device, INTERFACE + PATH)`` or ``(device, TOPIC)``."""

Sample: TypeAlias = tuple[int, float]
"""A counter sample: ``(value, time in s since the epoch)``."""

CONNECTED: Final = "CONNECTED"
"""The status of a device that answers."""

ONLINE: Final = "ONLINE"
"""The status of an MQTT device that is heard from."""

STORED: Final = "STORED"
"""The cause of a last-known value from the property store, not read yet."""

MQTT: Final = "mqtt"
"""The protocol of an MQTT value (:attr:`ValueState.protocol`)."""


@dataclass(slots=True)
class DeviceState:
    """What the UI knows of one device, from its status and poll events.

    Attributes:
        name: the device name.
        status: ``CONNECTING``, ``CONNECTED``, ``DISCONNECTED``, or ``None`` before
            the first status event.
        reason: why the status is what it is (``None`` when the source gave none).
        status_since: when the status last changed (s since the epoch).
        rtt_ms: mean round trip of the last polling cycle, in milliseconds.
        values: OIDs that returned a value in the last cycle.
        errors: failed requests and error values since the poller started.
        polls: completed polling cycles since the poller started.
        last_poll: when the last cycle completed (s since the epoch).
        uptime: the last ``sysUpTime.0`` sample, ``(ticks, time)``, if it is polled.
        restarts: how often ``sysUpTime.0`` went back since the UI started.
        alarm: the severity of the device's worst open alarm, or ``None``.
        polling: the device's polling list as last announced
            (``("snmp", DEVICE, "polling")``), or ``None`` before it is.
        mqtt_status, mqtt_reason, mqtt_since, broker, last_seen, msg_rate,
        messages: the MQTT side (:mod:`console.fleet.mqtt`): one row per device,
            both protocols' statuses.
    """

    name: str
    status: str | None = None
    reason: str | None = None
    status_since: float | None = None
    rtt_ms: float | None = None
    values: int | None = None
    errors: int | None = None
    polls: int | None = None
    last_poll: float | None = None
    uptime: Sample | None = None
    restarts: int = 0
    alarm: Severity | None = None
    polling: tuple[str, ...] | None = None
    mqtt_status: str | None = None
    mqtt_reason: str | None = None
    mqtt_since: float | None = None
    broker: str | None = None
    last_seen: float | None = None
    msg_rate: float | None = None
    messages: int | None = None


@dataclass(slots=True)
class ValueState:
    """The latest value of one polled OID (or of one MQTT value).

    Attributes:
        device: the device name.
        oid: the dotted numeric OID (MQTT: ``INTERFACE + PATH`` or the topic).
        data_type: the SNMP data type (``docs/events.md``), e.g. ``COUNTER``.
        value: the value as published.
        cause: ``INTERROGATE``, ``CHANGE`` or ``REQUESTED``.
        first_seen: when the UI first saw the OID (s since the epoch).
        last_change: when the value last changed, or was first seen.
        changes: value changes the UI has seen since it started.
        session_id: the operator session of the last event (``None`` for polling).
        rate: per-second rate of a ``COUNTER`` or ``BIG_COUNTER``; ``None`` when
            unknown or not a counter (:mod:`console.fleet.snmp`).
        polled: the OID has been seen from polling (``INTERROGATE`` or ``CHANGE``),
            and has not left the device's polling list since.
        sample: the counter's baseline ``(value, time)`` for the next rate.
        stale: the value is the last one the property store knew from an earlier
            run (cause :data:`STORED`; ``first_seen`` and ``last_change`` are when it
            was read then), and no fresh read has arrived yet.
        protocol: ``snmp`` or ``mqtt``.
        unit: the unit the value is in, shown after it (a Home Assistant entity's
            ``unit_of_measurement``), or ``None``.
    """

    device: str
    oid: str
    data_type: str
    value: JsonValue
    cause: str
    first_seen: float
    last_change: float
    changes: int = 0
    session_id: str | None = None
    rate: float | None = None
    polled: bool = False
    sample: Sample | None = None
    stale: bool = False
    protocol: str = "snmp"
    unit: str | None = None

    @property
    def key(self) -> ValueKey:
        """``(device, oid)``."""
        return (self.device, self.oid)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """The property store as the runtime announced it (``("store", "status")``).

    Attributes:
        persistent: values and audit entries are kept in the store file.
        path: the store file, or ``None`` when the store is disabled.
        error: why the store could not be used (locked, corrupt...), or ``None``.
    """

    persistent: bool
    path: str | None
    error: str | None

    @property
    def failed(self) -> bool:
        """True when the store is enabled but unusable: fleettop runs without
        persistence although it was asked for (an operator must see it)."""
        return not self.persistent and self.error is not None


@dataclass(frozen=True, slots=True)
class MibStatus:
    """The MIB names as the runtime announced them (``("mib", "status")``).

    Attributes:
        state: ``loading`` (the cache is being read), ``compiling`` (modules the
            cache lacks are compiled in the background; names fill in after),
            ``loaded`` (every module is in), or ``cancelled``.
        done: modules compiled so far (``compiling``).
        total: modules to compile (``compiling``; 0 when nothing needed compiling).
        modules: MIB modules loaded.
        failed: MIB sources that failed (``fleettop mibs CONFIG`` lists them).
        generation: how many times the names were (re)loaded.
    """

    state: str
    done: int = 0
    total: int = 0
    modules: int = 0
    failed: int = 0
    generation: int = 0


@dataclass(frozen=True, slots=True)
class ReceiverStatus:
    """The trap receiver's status as it announced it (``("snmp", "@receiver",
    "status")``: published when it cannot listen).

    Attributes:
        status: ``FAILED`` (the receiver does not listen: no trap arrives).
        listen: the ``host:port`` it was to listen on.
        reason: why (``Address already in use``...), or ``None``.
    """

    status: str
    listen: str | None
    reason: str | None

    @property
    def failed(self) -> bool:
        """True when the receiver does not listen (an operator must see it)."""
        return self.status == "FAILED"


@dataclass(slots=True)
class Changes:
    """What changed in a fleet state: device names, value keys, whether the store
    status, the audit log, the alarms or the trap receiver's status changed, and the
    newest live property values
    (``(device, interface, path)`` -> :class:`~console.history.LiveValue`, only while
    the state follows them: :meth:`~console.fleet.FleetState.apply_live`)."""

    devices: set[str] = field(default_factory=set)
    values: set[ValueKey] = field(default_factory=set)
    store: bool = False
    audit: bool = False
    alarms: bool = False
    live: dict[PropertyKey, LiveValue] = field(default_factory=dict)
    receiver: bool = False
    mibs: bool = False

    def merge(self, other: Changes) -> None:
        """Add everything ``other`` holds to this set of changes (for live values,
        the newer one wins)."""
        self.devices |= other.devices
        self.values |= other.values
        self.store = self.store or other.store
        self.audit = self.audit or other.audit
        self.alarms = self.alarms or other.alarms
        self.live.update(other.live)
        self.receiver = self.receiver or other.receiver
        self.mibs = self.mibs or other.mibs

    def __bool__(self) -> bool:
        return bool(
            self.devices
            or self.values
            or self.store
            or self.audit
            or self.alarms
            or self.live
            or self.receiver
            or self.mibs
        )


def unpack(event: Event) -> tuple[str, str, dict[str, JsonValue], float] | None:
    """``(TARGET, KIND, payload, when)`` of a ``(PROTOCOL, TARGET, KIND, ...)`` event
    whose payload is an object, else ``None``; ``when`` is the event's source
    timestamp, else the bus's (s since the epoch)."""
    payload = event.payload
    if len(event.type) < 3 or not isinstance(payload, dict):
        return None
    when = event.source_timestamp if event.source_timestamp is not None else event.timestamp
    return event.type[1], event.type[2], payload, when
