"""fleettop's SNMP backend (v1, v2c) on pysnmp 7's asyncio API.

* :mod:`console.snmp.manager`: :class:`SnmpDevice`, the per-device connection and
  polling loops (hat-gateway's SNMP manager device), publishing ``("snmp", NAME,
  ...)`` events as documented in ``docs/events.md``;
* :mod:`console.snmp.link`: :class:`~console.snmp.link.SnmpLink`, one device's
  requests: retries, tooBig splitting, SNMPv3 security errors;
* :mod:`console.snmp.engine`: the pysnmp engines (made, shared per loop, shut down);
* :mod:`console.snmp.operations`: operator SET and WALK behind
  :meth:`SnmpDevice.write` and :meth:`SnmpDevice.walk`, on the link;
* :mod:`console.snmp.errors`: every exception of the package, with its hierarchy;
* :mod:`console.snmp.traps`: the trap/inform receiver;
* :mod:`console.snmp.codec`: pysnmp values <-> data dicts, OID parsing;
* :mod:`console.snmp.mib`: :class:`MibResolver`, numeric OID -> ``MODULE::name``
  for display (never used on the polling path).
"""

from console.snmp.codec import (
    DataType,
    error_data,
    format_oid,
    from_pysnmp,
    normalize_oid,
    parse_oid,
    pdu_error_name,
    to_pysnmp,
)
from console.snmp.errors import (
    SnmpError,
    SnmpNotConnectedError,
    SnmpOperationError,
    SnmpTimeoutError,
)
from console.snmp.link import SnmpStatus
from console.snmp.manager import SnmpDevice
from console.snmp.mib import MibResolver

# The package's public face, re-exported from its modules on purpose (a module that
# became a package keeps the names callers import); codec's tail repeats here.
__all__ = [
    "DataType",
    "MibResolver",
    "SnmpDevice",
    "SnmpError",
    "SnmpNotConnectedError",
    "SnmpOperationError",
    "SnmpStatus",
    "SnmpTimeoutError",
    "error_data",
    "format_oid",
    "from_pysnmp",
    "normalize_oid",
    "parse_oid",
    "pdu_error_name",
    "to_pysnmp",
]
