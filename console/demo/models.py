"""What the demo devices serve: managed objects as data, free of pysnmp.

A :class:`DeviceModel` lists :class:`ObjectSpec` entries (OID, SMI type, a value
source computed from the clock). :mod:`console.demo.agent` turns a model into a pysnmp
MIB tree; :mod:`console.demo.fleet` turns it into polling OIDs. Three models:

* :func:`core_switch` - SNMPv2-MIB system group (RFC 3418), IF-MIB ``ifTable`` and
  ``ifXTable`` (RFC 2863) with Counter32 and Counter64 octet counters; the uplink's
  Counter32 wraps every ~95 s.
* :func:`access_point` - system group, ``ifTable`` with a 5 GHz radio that flaps,
  and private gauges under the documentation enterprise number 32473 (RFC 5612).
* :func:`ups` - system group, ``ifTable`` and the UPS-MIB (RFC 1628) identification,
  battery, input and output groups.

Types use the names of the event catalog (``docs/events.md``): ``INTEGER``
(Integer32), ``UNSIGNED`` (Gauge32), ``COUNTER`` (Counter32), ``BIG_COUNTER``
(Counter64), ``TIME_TICKS``, ``STRING`` (OCTET STRING; a ``str`` is UTF-8, ``bytes``
are raw) and ``OBJECT_ID``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from console.demo.signals import Counter, Wander, Window

__all__ = [
    "DEMO_ENTERPRISE",
    "DeviceModel",
    "ObjectSpec",
    "Oid",
    "SnmpValue",
    "ValueType",
    "access_point",
    "core_switch",
    "demo_models",
    "oid_text",
    "ups",
]

Oid = tuple[int, ...]
SnmpValue = int | str | bytes | Oid
ValueType = Literal[
    "INTEGER", "UNSIGNED", "COUNTER", "BIG_COUNTER", "TIME_TICKS", "STRING", "OBJECT_ID"
]
Source = Callable[[float], SnmpValue]

#: RFC 5612: the enterprise number reserved for documentation and examples.
DEMO_ENTERPRISE: Oid = (1, 3, 6, 1, 4, 1, 32473)

_MIB2: Oid = (1, 3, 6, 1, 2, 1)
SYSTEM: Oid = (*_MIB2, 1)
IF_NUMBER: Oid = (*_MIB2, 2, 1)
IF_ENTRY: Oid = (*_MIB2, 2, 2, 1)
IFX_ENTRY: Oid = (*_MIB2, 31, 1, 1, 1)
UPS_OBJECTS: Oid = (*_MIB2, 33, 1)
AP_OBJECTS: Oid = (*DEMO_ENTERPRISE, 2, 1)

_MAX32 = 2**32 - 1


def oid_text(oid: Oid) -> str:
    """Return ``oid`` in dotted form without a leading dot, e.g. ``"1.3.6.1.2.1.1.1.0"``."""
    return ".".join(str(part) for part in oid)


@dataclass(frozen=True, slots=True)
class ObjectSpec:
    """One managed object instance.

    Attributes:
        node: the OBJECT-TYPE's OID: a scalar, or a table column.
        index: the instance suffix: ``(0,)`` for a scalar, the row index for a column.
        type: the SMI type (see the module docstring).
        source: the value at ``t`` seconds since the agent started; for a writable
            object, ``source(0)`` is the initial value.
        column: True for a table column instance.
        writable: max-access read-write (a SET with the write community stores it).
        poll: listed in the demo configuration's ``polling_oids``.
    """

    node: Oid
    index: Oid
    type: ValueType
    source: Source
    column: bool = False
    writable: bool = False
    poll: bool = False

    @property
    def oid(self) -> Oid:
        """The instance OID: ``node + index``."""
        return self.node + self.index


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A simulated device: a name and its objects in lexicographic OID order.

    Raises:
        ValueError: two objects with the same instance OID.
    """

    name: str
    objects: tuple[ObjectSpec, ...] = field(default=())

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.objects, key=lambda spec: spec.oid))
        if len({spec.oid for spec in ordered}) != len(ordered):
            raise ValueError(f"duplicate object instance in device {self.name!r}")
        object.__setattr__(self, "objects", ordered)

    @property
    def polling_oids(self) -> tuple[str, ...]:
        """Dotted OIDs of the objects marked ``poll``, in OID order."""
        return tuple(oid_text(spec.oid) for spec in self.objects if spec.poll)

    @property
    def binary_string_oids(self) -> frozenset[str]:
        """Dotted OIDs of ``STRING`` objects holding raw bytes (e.g. ifPhysAddress)."""
        return frozenset(
            oid_text(spec.oid)
            for spec in self.objects
            if spec.type == "STRING" and isinstance(spec.source(0.0), bytes)
        )


def _const(value: SnmpValue) -> Source:
    return lambda _t: value


def _scalar(
    node: Oid,
    type_: ValueType,
    source: Source | SnmpValue,
    *,
    writable: bool = False,
    poll: bool = True,
) -> ObjectSpec:
    fn = source if callable(source) else _const(source)
    return ObjectSpec(node, (0,), type_, fn, writable=writable, poll=poll)


def _cell(
    node: Oid, index: int, type_: ValueType, source: Source | SnmpValue, *, poll: bool = False
) -> ObjectSpec:
    fn = source if callable(source) else _const(source)
    return ObjectSpec(node, (index,), type_, fn, column=True, poll=poll)


def _rounded(wander: Wander) -> Source:
    return lambda t: round(wander(t))


def _system(
    *, descr: str, object_id: Oid, contact: str, name: str, location: str, services: int
) -> list[ObjectSpec]:
    """The SNMPv2-MIB system group (RFC 3418); contact, name and location are writable."""
    return [
        _scalar((*SYSTEM, 1), "STRING", descr),
        _scalar((*SYSTEM, 2), "OBJECT_ID", object_id),
        _scalar((*SYSTEM, 3), "TIME_TICKS", lambda t: int(t * 100) & _MAX32),
        _scalar((*SYSTEM, 4), "STRING", contact, writable=True),
        _scalar((*SYSTEM, 5), "STRING", name, writable=True),
        _scalar((*SYSTEM, 6), "STRING", location, writable=True),
        _scalar((*SYSTEM, 7), "INTEGER", services),
    ]


@dataclass(frozen=True, slots=True)
class _Interface:
    descr: str
    name: str
    if_type: int  # IANAifType: 6 ethernetCsmacd, 71 ieee80211
    speed: int  # bits per second
    mac: bytes
    rx: Counter  # octets
    tx: Counter  # octets
    errors: Counter
    mtu: int = 1500
    connected: bool = True
    flaps: Window | None = None  # off-windows during which the link is down

    def oper_status(self, t: float) -> int:
        """ifOperStatus: up(1) or down(2)."""
        if not self.connected or (self.flaps is not None and self.flaps.is_off(t)):
            return 2
        return 1

    def link_time(self, t: float) -> float:
        """Seconds the link has been up since the agent started (counters stall when down)."""
        if not self.connected:
            return 0.0
        return self.flaps.on_time(t) if self.flaps is not None else t


def _mac(rng: random.Random) -> bytes:
    # Locally administered, unicast.
    return bytes([0x02, *(rng.randrange(256) for _ in range(5))])


def _interfaces(interfaces: list[_Interface], *, high_capacity: bool) -> list[ObjectSpec]:
    """``ifNumber`` and the IF-MIB ``ifTable`` (RFC 2863); with ``high_capacity``,
    also ``ifXTable``'s ifName, ifHCInOctets, ifHCOutOctets (Counter64) and
    ifHighSpeed."""
    specs = [_scalar(IF_NUMBER, "INTEGER", len(interfaces))]
    for index, iface in enumerate(interfaces, start=1):

        def octets(counter: Counter, iface: _Interface = iface) -> Source:
            return lambda t: counter(iface.link_time(t))

        def octets32(counter: Counter, iface: _Interface = iface) -> Source:
            return lambda t: counter(iface.link_time(t)) & _MAX32

        specs += [
            _cell((*IF_ENTRY, 1), index, "INTEGER", index),
            _cell((*IF_ENTRY, 2), index, "STRING", iface.descr, poll=True),
            _cell((*IF_ENTRY, 3), index, "INTEGER", iface.if_type),
            _cell((*IF_ENTRY, 4), index, "INTEGER", iface.mtu),
            _cell((*IF_ENTRY, 5), index, "UNSIGNED", min(iface.speed, _MAX32)),
            _cell((*IF_ENTRY, 6), index, "STRING", iface.mac),
            _cell((*IF_ENTRY, 7), index, "INTEGER", 1),
            _cell((*IF_ENTRY, 8), index, "INTEGER", iface.oper_status, poll=True),
            _cell((*IF_ENTRY, 10), index, "COUNTER", octets32(iface.rx), poll=True),
            _cell((*IF_ENTRY, 14), index, "COUNTER", octets32(iface.errors)),
            _cell((*IF_ENTRY, 16), index, "COUNTER", octets32(iface.tx), poll=True),
        ]
        if high_capacity:
            specs += [
                _cell((*IFX_ENTRY, 1), index, "STRING", iface.name),
                _cell((*IFX_ENTRY, 6), index, "BIG_COUNTER", octets(iface.rx), poll=True),
                _cell((*IFX_ENTRY, 10), index, "BIG_COUNTER", octets(iface.tx), poll=True),
                _cell((*IFX_ENTRY, 15), index, "UNSIGNED", iface.speed // 1_000_000),
            ]
    return specs


def _traffic(rng: random.Random, rate: float, *, swing: float = 0.5) -> Counter:
    """An octet counter starting anywhere in the Counter32 range."""
    return Counter(
        rate,
        start=rng.randrange(2**32),
        swing=swing,
        period=rng.uniform(40.0, 120.0),
        phase=rng.uniform(0.0, 6.283),
    )


def _errors(rng: random.Random, rate: float) -> Counter:
    return Counter(rate, start=rng.randrange(50))


def core_switch(rng: random.Random, name: str = "core-sw1") -> DeviceModel:
    """The core switch: four ports, a 10G uplink at ~45 MB/s whose Counter32
    ifInOctets wraps every ~95 s, Counter64 ifHCInOctets/ifHCOutOctets, one port down."""
    ports = [
        _Interface(
            "TenGigabitEthernet1/1/1",
            "Te1/1/1",
            6,
            10_000_000_000,
            _mac(rng),
            _traffic(rng, 45e6),
            _traffic(rng, 12e6),
            _errors(rng, 0.02),
            mtu=9216,
        ),
        _Interface(
            "GigabitEthernet1/0/1",
            "Gi1/0/1",
            6,
            1_000_000_000,
            _mac(rng),
            _traffic(rng, 1.5e6),
            _traffic(rng, 4e6),
            _errors(rng, 0.0),
        ),
        _Interface(
            "GigabitEthernet1/0/2",
            "Gi1/0/2",
            6,
            1_000_000_000,
            _mac(rng),
            _traffic(rng, 900.0, swing=0.3),
            _traffic(rng, 600.0, swing=0.3),
            _errors(rng, 0.0),
        ),
        _Interface(
            "GigabitEthernet1/0/24",
            "Gi1/0/24",
            6,
            1_000_000_000,
            _mac(rng),
            _traffic(rng, 0.0),
            _traffic(rng, 0.0),
            _errors(rng, 0.0),
            connected=False,
        ),
    ]
    return DeviceModel(
        name,
        (
            *_system(
                descr="fleettop demo core switch FT-CS48, software 4.2.1 (simulated)",
                object_id=(*DEMO_ENTERPRISE, 1, 1),
                contact="NOC <noc@example.net>",
                name=name,
                location="Server room, rack A2",
                services=6,  # RFC 3418: layers 2 and 3
            ),
            *_interfaces(ports, high_capacity=True),
        ),
    )


def access_point(rng: random.Random, name: str = "ap-lobby") -> DeviceModel:
    """The access point: wired uplink, two radios (the 5 GHz one goes down for 5 s every
    45 s, its counters stalling meanwhile), associated clients, channel and noise floor.
    """
    radio_flaps = Window(45.0, 5.0, offset=rng.uniform(0.0, 45.0))
    ports = [
        _Interface(
            "eth0",
            "eth0",
            6,
            1_000_000_000,
            _mac(rng),
            _traffic(rng, 3e6),
            _traffic(rng, 1.2e6),
            _errors(rng, 0.0),
        ),
        _Interface(
            "wlan0 (2.4 GHz)",
            "wlan0",
            71,
            144_400_000,
            _mac(rng),
            _traffic(rng, 3e5),
            _traffic(rng, 1.1e6),
            _errors(rng, 0.05),
        ),
        _Interface(
            "wlan1 (5 GHz)",
            "wlan1",
            71,
            866_700_000,
            _mac(rng),
            _traffic(rng, 9e5),
            _traffic(rng, 1.9e6),
            _errors(rng, 0.1),
            flaps=radio_flaps,
        ),
    ]
    clients = Wander.seeded(rng, 4, 38, 90.0)
    noise_floor = Wander.seeded(rng, -96, -88, 30.0)
    return DeviceModel(
        name,
        (
            *_system(
                descr="fleettop demo access point FT-AP2, firmware 2.8.0 (simulated)",
                object_id=(*DEMO_ENTERPRISE, 1, 2),
                contact="NOC <noc@example.net>",
                name=name,
                location="Lobby, ceiling",
                services=2,  # RFC 3418: layer 2
            ),
            *_interfaces(ports, high_capacity=False),
            # Private objects (enterprise 32473, RFC 5612): associated clients
            # (Gauge32), 5 GHz channel and noise floor in dBm (INTEGER).
            _scalar((*AP_OBJECTS, 1), "UNSIGNED", _rounded(clients)),
            _scalar((*AP_OBJECTS, 2), "INTEGER", 36),
            _scalar((*AP_OBJECTS, 3), "INTEGER", _rounded(noise_floor)),
        ),
    )


def ups(rng: random.Random, name: str = "ups-1") -> DeviceModel:
    """The UPS: RFC 1628 UPS-MIB identification, battery, input and output groups, on
    line power with a wandering load, charge, battery temperature and voltages."""
    battery, inputs, output = (*UPS_OBJECTS, 2), (*UPS_OBJECTS, 3), (*UPS_OBJECTS, 4)
    input_entry, output_entry = (*inputs, 3, 1), (*output, 4, 1)
    load = Wander.seeded(rng, 22, 48, 120.0)  # percent of 1500 VA
    charge = Wander.seeded(rng, 93, 100, 300.0)  # percent
    temperature = Wander.seeded(rng, 24, 31, 240.0)  # degrees Celsius
    in_volts = Wander.seeded(rng, 226, 236, 20.0)  # RMS volts
    in_hertz = Wander.seeded(rng, 498, 502, 15.0)  # 0.1 Hz
    out_volts = Wander.seeded(rng, 229, 231, 25.0)
    bat_volts = Wander.seeded(rng, 540, 552, 200.0)  # 0.1 V DC

    def watts(t: float) -> float:
        return load(t) / 100.0 * 1350.0  # 1500 VA at power factor 0.9

    ups_objects = [
        _scalar((*UPS_OBJECTS, 1, 1), "STRING", "fleettop Power", poll=False),
        _scalar((*UPS_OBJECTS, 1, 2), "STRING", "FT-1500", poll=False),
        _scalar((*UPS_OBJECTS, 1, 3), "STRING", "UPS 3.1", poll=False),
        _scalar((*UPS_OBJECTS, 1, 4), "STRING", "agent 1.4 (simulated)", poll=False),
        _scalar((*UPS_OBJECTS, 1, 5), "STRING", name, poll=False),
        _scalar((*battery, 1), "INTEGER", 2),  # batteryNormal
        _scalar((*battery, 2), "INTEGER", 0),  # seconds on battery
        _scalar(
            (*battery, 3), "INTEGER", lambda t: round(charge(t) / 100.0 * 25.0 * 30.0 / load(t))
        ),
        _scalar((*battery, 4), "INTEGER", _rounded(charge)),
        _scalar((*battery, 5), "INTEGER", _rounded(bat_volts)),
        _scalar((*battery, 7), "INTEGER", _rounded(temperature)),
        _scalar((*inputs, 1), "COUNTER", Counter(1 / 300.0, start=rng.randrange(5))),
        _scalar((*inputs, 2), "INTEGER", 1, poll=False),
        _cell((*input_entry, 2), 1, "INTEGER", _rounded(in_hertz), poll=True),
        _cell((*input_entry, 3), 1, "INTEGER", _rounded(in_volts), poll=True),
        _scalar((*output, 1), "INTEGER", 3),  # normal
        _scalar((*output, 2), "INTEGER", 500, poll=False),
        _scalar((*output, 3), "INTEGER", 1, poll=False),
        _cell((*output_entry, 2), 1, "INTEGER", _rounded(out_volts), poll=True),
        _cell(
            (*output_entry, 3), 1, "INTEGER", lambda t: round(watts(t) / out_volts(t) * 10)
        ),  # 0.1 A
        _cell((*output_entry, 4), 1, "INTEGER", lambda t: round(watts(t)), poll=True),
        _cell((*output_entry, 5), 1, "INTEGER", _rounded(load), poll=True),
    ]
    port = _Interface(
        "eth0",
        "eth0",
        6,
        100_000_000,
        _mac(rng),
        _traffic(rng, 800.0, swing=0.3),
        _traffic(rng, 1200.0, swing=0.3),
        _errors(rng, 0.0),
    )
    return DeviceModel(
        name,
        (
            *_system(
                descr="fleettop demo UPS FT-1500, 1500 VA, agent 1.4 (simulated)",
                object_id=(*DEMO_ENTERPRISE, 1, 3),
                contact="Facilities <facilities@example.net>",
                name=name,
                location="Server room, rack A2, bottom",
                services=72,  # RFC 3418: layers 4 and 7
            ),
            *_interfaces([port], high_capacity=False),
            *ups_objects,
        ),
    )


def demo_models(rng: random.Random) -> tuple[DeviceModel, ...]:
    """The demo fleet's three devices, each drawing from ``rng`` in turn."""
    return (core_switch(rng), access_point(rng), ups(rng))
