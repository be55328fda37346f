"""Numeric OID -> ``MODULE::name.index``, for display only.

The poller never resolves names (it runs with ``lookupMib=False``); the UI calls
:meth:`MibResolver.resolve` when it shows an OID, and results are kept in an LRU
cache.

What it knows
-------------
* the MIB modules pysnmp 7 ships compiled: ``SNMPv2-MIB`` (system, snmp groups,
  sysORTable), ``RFC1213-MIB`` (MIB-II ip, icmp, tcp, udp, ipAddrTable ...; pysnmp
  leaves its interfaces group out in favour of IF-MIB), the ``SNMP-*`` engine MIBs
  (``SNMP-FRAMEWORK-MIB``, ``SNMP-TARGET-MIB``, ``SNMP-VIEW-BASED-ACM-MIB``...),
  ``INET-ADDRESS-MIB``, ``TRANSPORT-ADDRESS-MIB``;
* any compiled module found on pysnmp's MIB path (for instance from the
  ``pysnmp_mibs`` package, or ``mib_dirs`` given here) among :data:`OPTIONAL_MODULES`
  (``IF-MIB``, ``HOST-RESOURCES-MIB``, ``UPS-MIB``, ``IP-MIB``, ...);
* a small built-in table of well-known objects pysnmp does not bundle
  (:data:`WELL_KNOWN`: IF-MIB ifTable/ifXTable, HOST-RESOURCES-MIB, UPS-MIB,
  UCD-SNMP-MIB basics), used only when no loaded MIB names the object.

Loading the bundled modules takes about 0.1-0.2 s of CPU (measured: SNMPv2-MIB
40 ms, RFC1213-MIB 17 ms, all of them ~110 ms), so it happens lazily on the first
:meth:`MibResolver.resolve`, or ahead of time in a worker thread with
:meth:`MibResolver.aload`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from console.oid import format_oid, parse_oid

__all__ = ["BUNDLED_MODULES", "OPTIONAL_MODULES", "WELL_KNOWN", "MibResolver"]

mlog = logging.getLogger(__name__)

#: Modules pysnmp 7.1 ships compiled; loaded first, in this order (SNMPv2-MIB before
#: RFC1213-MIB so that ``system`` objects are named by the SMIv2 module).
BUNDLED_MODULES: Final[tuple[str, ...]] = (
    "SNMPv2-MIB",
    "RFC1213-MIB",
    "SNMP-FRAMEWORK-MIB",
    "SNMP-MPD-MIB",
    "SNMP-TARGET-MIB",
    "SNMP-NOTIFICATION-MIB",
    "SNMP-COMMUNITY-MIB",
    "SNMP-PROXY-MIB",
    "SNMP-USER-BASED-SM-MIB",
    "SNMP-VIEW-BASED-ACM-MIB",
    "INET-ADDRESS-MIB",
    "TRANSPORT-ADDRESS-MIB",
)

#: Loaded when a compiled copy is on the MIB path; silently skipped otherwise.
OPTIONAL_MODULES: Final[tuple[str, ...]] = (
    "IF-MIB",
    "IP-MIB",
    "TCP-MIB",
    "UDP-MIB",
    "HOST-RESOURCES-MIB",
    "ENTITY-MIB",
    "ENTITY-SENSOR-MIB",
    "UPS-MIB",
    "BRIDGE-MIB",
    "LLDP-MIB",
    "UCD-SNMP-MIB",
    "NET-SNMP-AGENT-MIB",
)


def _table(module: str, base: str, columns: Mapping[int, str]) -> dict[str, str]:
    return {f"{base}.{arc}": f"{module}::{name}" for arc, name in columns.items()}


#: OID of an object type -> ``MODULE::name``, for objects pysnmp does not bundle
#: (from the public MIB modules: RFC 2863 IF-MIB, RFC 2790 HOST-RESOURCES-MIB,
#: RFC 1628 UPS-MIB, Net-SNMP's UCD-SNMP-MIB).
WELL_KNOWN: Final[Mapping[str, str]] = {
    "1.3.6.1.2.1.2": "IF-MIB::interfaces",
    "1.3.6.1.2.1.2.1": "IF-MIB::ifNumber",
    "1.3.6.1.2.1.2.2": "IF-MIB::ifTable",
    "1.3.6.1.2.1.2.2.1": "IF-MIB::ifEntry",
    **_table(
        "IF-MIB",
        "1.3.6.1.2.1.2.2.1",
        {
            1: "ifIndex",
            2: "ifDescr",
            3: "ifType",
            4: "ifMtu",
            5: "ifSpeed",
            6: "ifPhysAddress",
            7: "ifAdminStatus",
            8: "ifOperStatus",
            9: "ifLastChange",
            10: "ifInOctets",
            11: "ifInUcastPkts",
            12: "ifInNUcastPkts",
            13: "ifInDiscards",
            14: "ifInErrors",
            15: "ifInUnknownProtos",
            16: "ifOutOctets",
            17: "ifOutUcastPkts",
            18: "ifOutNUcastPkts",
            19: "ifOutDiscards",
            20: "ifOutErrors",
            21: "ifOutQLen",
            22: "ifSpecific",
        },
    ),
    "1.3.6.1.2.1.31": "IF-MIB::ifMIB",
    "1.3.6.1.2.1.31.1.1": "IF-MIB::ifXTable",
    "1.3.6.1.2.1.31.1.1.1": "IF-MIB::ifXEntry",
    **_table(
        "IF-MIB",
        "1.3.6.1.2.1.31.1.1.1",
        {
            1: "ifName",
            2: "ifInMulticastPkts",
            3: "ifInBroadcastPkts",
            4: "ifOutMulticastPkts",
            5: "ifOutBroadcastPkts",
            6: "ifHCInOctets",
            7: "ifHCInUcastPkts",
            8: "ifHCInMulticastPkts",
            9: "ifHCInBroadcastPkts",
            10: "ifHCOutOctets",
            11: "ifHCOutUcastPkts",
            12: "ifHCOutMulticastPkts",
            13: "ifHCOutBroadcastPkts",
            14: "ifLinkUpDownTrapEnable",
            15: "ifHighSpeed",
            16: "ifPromiscuousMode",
            17: "ifConnectorPresent",
            18: "ifAlias",
            19: "ifCounterDiscontinuityTime",
        },
    ),
    "1.3.6.1.2.1.25": "HOST-RESOURCES-MIB::host",
    **_table(
        "HOST-RESOURCES-MIB",
        "1.3.6.1.2.1.25.1",
        {
            1: "hrSystemUptime",
            2: "hrSystemDate",
            3: "hrSystemInitialLoadDevice",
            4: "hrSystemInitialLoadParameters",
            5: "hrSystemNumUsers",
            6: "hrSystemProcesses",
            7: "hrSystemMaxProcesses",
        },
    ),
    "1.3.6.1.2.1.25.2.2": "HOST-RESOURCES-MIB::hrMemorySize",
    **_table(
        "HOST-RESOURCES-MIB",
        "1.3.6.1.2.1.25.2.3.1",
        {
            1: "hrStorageIndex",
            2: "hrStorageType",
            3: "hrStorageDescr",
            4: "hrStorageAllocationUnits",
            5: "hrStorageSize",
            6: "hrStorageUsed",
            7: "hrStorageAllocationFailures",
        },
    ),
    "1.3.6.1.2.1.25.3.2.1.3": "HOST-RESOURCES-MIB::hrDeviceDescr",
    "1.3.6.1.2.1.25.3.3.1.2": "HOST-RESOURCES-MIB::hrProcessorLoad",
    "1.3.6.1.2.1.33": "UPS-MIB::upsMIB",
    **_table(
        "UPS-MIB",
        "1.3.6.1.2.1.33.1.1",
        {
            1: "upsIdentManufacturer",
            2: "upsIdentModel",
            3: "upsIdentUPSSoftwareVersion",
            4: "upsIdentAgentSoftwareVersion",
            5: "upsIdentName",
            6: "upsIdentAttachedDevices",
        },
    ),
    **_table(
        "UPS-MIB",
        "1.3.6.1.2.1.33.1.2",
        {
            1: "upsBatteryStatus",
            2: "upsSecondsOnBattery",
            3: "upsEstimatedMinutesRemaining",
            4: "upsEstimatedChargeRemaining",
            5: "upsBatteryVoltage",
            6: "upsBatteryCurrent",
            7: "upsBatteryTemperature",
        },
    ),
    **_table("UPS-MIB", "1.3.6.1.2.1.33.1.3", {1: "upsInputLineBads", 2: "upsInputNumLines"}),
    **_table(
        "UPS-MIB",
        "1.3.6.1.2.1.33.1.4",
        {1: "upsOutputSource", 2: "upsOutputFrequency", 3: "upsOutputNumLines"},
    ),
    "1.3.6.1.4.1.2021": "UCD-SNMP-MIB::ucdavis",
    **_table(
        "UCD-SNMP-MIB",
        "1.3.6.1.4.1.2021.4",
        {
            3: "memTotalSwap",
            4: "memAvailSwap",
            5: "memTotalReal",
            6: "memAvailReal",
            11: "memTotalFree",
            13: "memShared",
            14: "memBuffer",
            15: "memCached",
        },
    ),
    **_table(
        "UCD-SNMP-MIB",
        "1.3.6.1.4.1.2021.10.1",
        {1: "laIndex", 2: "laNames", 3: "laLoad", 4: "laConfig", 5: "laLoadInt", 6: "laLoadFloat"},
    ),
    **_table(
        "UCD-SNMP-MIB",
        "1.3.6.1.4.1.2021.11",
        {9: "ssCpuUser", 10: "ssCpuSystem", 11: "ssCpuIdle"},
    ),
}


class MibResolver:
    """Turn numeric OIDs into ``MODULE::name.index`` text, lazily and cached.

    Args:
        modules: modules to load besides :data:`BUNDLED_MODULES`; each is loaded if
            a compiled copy is found and skipped otherwise (default
            :data:`OPTIONAL_MODULES`).
        mib_dirs: extra directories of pysnmp-compiled MIB modules (``.py``).
        well_known: fallback names (object-type OID -> ``MODULE::name``) for objects
            no loaded module names (default :data:`WELL_KNOWN`).
        cache_size: how many resolved OIDs the LRU keeps.

    Usage::

        resolver = MibResolver()
        await resolver.aload()                       # optional: load off the loop
        resolver.resolve("1.3.6.1.2.1.1.3.0")        # 'SNMPv2-MIB::sysUpTime.0'
        resolver.resolve("1.3.6.1.2.1.2.2.1.10.3")   # 'IF-MIB::ifInOctets.3'
        resolver.resolve("1.3.6.1.4.1.99999.1")      # None

    Loading is guarded by a lock, so :meth:`aload` may run in a worker thread while
    the loop calls :meth:`resolve` (which then waits for the load); call
    :meth:`resolve` itself from one thread (the event loop's).
    """

    def __init__(
        self,
        modules: Iterable[str] = OPTIONAL_MODULES,
        *,
        mib_dirs: Iterable[str | Path] = (),
        well_known: Mapping[str, str] = WELL_KNOWN,
        cache_size: int = 4096,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._optional = tuple(modules)
        self._mib_dirs = tuple(str(d) for d in mib_dirs)
        self._well_known = dict(well_known)
        self._cache_size = cache_size
        self._cache: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        self._view: Any = None
        self._leaf_classes: tuple[type, ...] = ()
        self._loaded_modules: tuple[str, ...] = ()
        self.load_seconds: float | None = None
        """How long :meth:`load` took (s), once it has run."""

    @property
    def loaded(self) -> bool:
        """True once the MIB modules are loaded."""
        return self._view is not None

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules actually loaded (empty before :meth:`load`)."""
        return self._loaded_modules

    def load(self) -> None:
        """Load the MIB modules now (blocking, ~0.1-0.2 s); idempotent.

        Missing optional modules are skipped; a failure to load a bundled module is
        logged, and names then come from what did load plus :data:`WELL_KNOWN`.
        """
        with self._lock:
            if self._view is not None:
                return
            import time

            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                from pysnmp.smi import builder, view
                from pysnmp.smi.error import MibNotFoundError

                mib_builder = builder.MibBuilder()
                if self._mib_dirs:
                    mib_builder.add_mib_sources(*(builder.DirMibSource(d) for d in self._mib_dirs))
                loaded: list[str] = []
                for name in BUNDLED_MODULES + self._optional:
                    if name in loaded:
                        continue
                    try:
                        mib_builder.load_modules(name)
                    except MibNotFoundError:
                        if name in BUNDLED_MODULES:
                            mlog.warning("bundled MIB module %s not found", name)
                        continue
                    except Exception as exc:
                        mlog.warning("MIB module %s failed to load: %s", name, exc)
                        continue
                    loaded.append(name)
                scalar, column = mib_builder.import_symbols(
                    "SNMPv2-SMI", "MibScalar", "MibTableColumn"
                )
                self._leaf_classes = (scalar, column)
                self._loaded_modules = tuple(loaded)
                self._view = view.MibViewController(mib_builder)
            self.load_seconds = time.perf_counter() - started
            mlog.debug("MIB modules loaded in %.3f s: %s", self.load_seconds, ", ".join(loaded))

    async def aload(self) -> None:
        """Load the MIB modules in a worker thread, so the loop never stalls."""
        if self._view is None:
            await asyncio.to_thread(self.load)

    def resolve(self, oid: str) -> str | None:
        """Return ``MODULE::name.index`` for a numeric OID, or ``None``.

        Args:
            oid: numeric OID text, e.g. ``"1.3.6.1.2.1.1.3.0"`` (leading dot allowed).

        Returns:
            e.g. ``"SNMPv2-MIB::sysUpTime.0"``, ``"RFC1213-MIB::ipAdEntAddr.127.0.0.1"``
            (index rendered by the index syntax), ``"SNMPv2-MIB::system"`` for a node
            itself; ``None`` when the OID is malformed or no known object type
            contains it (a bare prefix such as ``enterprises.2021.99`` is not a
            name). Never raises.
        """
        cache = self._cache
        hit = cache.get(oid, _MISSING)
        if hit is not _MISSING:
            cache.move_to_end(oid)
            return hit  # type: ignore[return-value]
        try:
            arcs = parse_oid(oid)
        except ValueError:
            name = None
        else:
            if self._view is None:
                self.load()
            name = self._from_mibs(arcs) or self._from_well_known(arcs)
        cache[oid] = name
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        return name

    def cache_info(self) -> dict[str, int]:
        """Return ``{"size": entries cached, "max_size": bound}``."""
        return {"size": len(self._cache), "max_size": self._cache_size}

    def _from_mibs(self, arcs: tuple[int, ...]) -> str | None:
        from pysnmp.smi.rfc1902 import ObjectIdentity

        try:
            _prefix, _labels, suffix = self._view.get_node_name(arcs)
        except Exception:
            return None
        try:
            identity = ObjectIdentity(arcs).resolve_with_mib(self._view)
            node = identity.get_mib_node()
            if suffix and not isinstance(node, self._leaf_classes):
                return None  # only a prefix is known: not a name worth showing
            text = str(identity.prettyPrint())
        except Exception:
            return None
        # a module that merely re-exports SMI skeleton nodes is not informative
        return text if "::" in text else None

    def _from_well_known(self, arcs: tuple[int, ...]) -> str | None:
        for end in range(len(arcs), 1, -1):
            name = self._well_known.get(format_oid(arcs[:end]))
            if name is not None:
                rest = arcs[end:]
                return f"{name}.{format_oid(rest)}" if rest else name
        return None


_MISSING: Final = object()
