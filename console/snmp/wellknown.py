"""Names of well-known objects pysnmp does not bundle compiled: a fallback for
:class:`console.snmp.mib.MibResolver` (from the public MIB modules: RFC 2863 IF-MIB,
RFC 2790 HOST-RESOURCES-MIB, RFC 1628 UPS-MIB, Net-SNMP's UCD-SNMP-MIB)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["WELL_KNOWN"]


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
