"""fleettop's property store: typed, versioned device properties in SQLite.

* :mod:`console.store.properties`: :class:`PropertyStore` (the Astarte SDK's
  ``AstarteDatabase`` API per device, plus queries; the object the runtime and the
  UI pass around) and :class:`Property`;
* :mod:`console.store.database`: :class:`Database`, the file itself: its lock (one
  fleettop per file, :mod:`console.store.lock`), WAL and pragmas, schema
  migration, the batching writer, ``fetch`` / ``execute`` / ``flush``, closing;
* :mod:`console.store.values`: the Astarte mapping types and their exact encoding;
* :mod:`console.store.writer`: the batching writer task behind every write;
* :mod:`console.store.schema`: the versioned schema and its forward migrations;
* :mod:`console.store.paths`: property paths and query path filters;
* :mod:`console.store.snmp`: :class:`StoreFeeder` (SNMP read events -> properties)
  and :func:`last_known`;
* :mod:`console.store.audit` (a package): the audit log of operator actions:
  :class:`AuditLog` (in the same file, through the same writer),
  :class:`AuditRecorder` (bus events -> entries) and the JSONL/CSV exports;
* :mod:`console.notifications.storage` (not part of this package, which never imports
  it): :class:`NotificationLog` (the notification
  stream) and :class:`AlarmLog` (alarms), in the same file, through the same writer;
* :mod:`console.rowfiles`: rows to JSON Lines and CSV files (generic);
* :mod:`console.store.errors`: :class:`StoreError` and its subclasses (the
  hierarchy is in its docstring).

The durability promise and the API for operators and developers: ``docs/store.md``.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.store.audit import (
        RESULT_OK,
        AuditAction,
        AuditDraft,
        AuditEntry,
        AuditLog,
        AuditRecorder,
        AuditRule,
        export_audit_csv,
        export_audit_jsonl,
        read_audit_csv,
        read_audit_jsonl,
    )
    from console.store.database import Database
    from console.store.errors import (
        StoreClosedError,
        StoreCorruptError,
        StoreError,
        StoreInUseError,
        StoreLockedError,
        StoreReadOnlyError,
        StoreSchemaError,
        StoreWriteError,
    )
    from console.store.properties import DEFAULT_QUERY_LIMIT, Property, PropertyStore
    from console.store.snmp import (
        SNMP_INTERFACE,
        SNMP_MAJOR,
        KnownValue,
        StoreFeeder,
        last_known,
    )
    from console.store.values import Ownership, PropertyType, PropertyValue, Source

#: Where each public name lives: the package imports a submodule only when one of its
#: names is first used (PEP 562), so ``console.store.lock`` and
#: ``console.store.errors`` (checked before the first frame) stay cheap to import.
#: The names stand three times on purpose: mypy reads the imports above, Python this
#: map, and ``__all__`` re-exports them; tests/test_import_hygiene.py keeps them equal.
_HOMES: dict[str, str] = {
    name: module
    for module, names in {
        "console.store.audit": (
            "RESULT_OK",
            "AuditAction",
            "AuditDraft",
            "AuditEntry",
            "AuditLog",
            "AuditRecorder",
            "AuditRule",
            "export_audit_csv",
            "export_audit_jsonl",
            "read_audit_csv",
            "read_audit_jsonl",
        ),
        "console.store.database": ("Database",),
        "console.store.errors": (
            "StoreClosedError",
            "StoreCorruptError",
            "StoreError",
            "StoreInUseError",
            "StoreLockedError",
            "StoreReadOnlyError",
            "StoreSchemaError",
            "StoreWriteError",
        ),
        "console.store.properties": ("DEFAULT_QUERY_LIMIT", "Property", "PropertyStore"),
        "console.store.snmp": (
            "SNMP_INTERFACE",
            "SNMP_MAJOR",
            "KnownValue",
            "StoreFeeder",
            "last_known",
        ),
        "console.store.values": ("Ownership", "PropertyType", "PropertyValue", "Source"),
    }.items()
    for name in names
}

__all__ = [
    "DEFAULT_QUERY_LIMIT",
    "RESULT_OK",
    "SNMP_INTERFACE",
    "SNMP_MAJOR",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "AuditLog",
    "AuditRecorder",
    "AuditRule",
    "Database",
    "KnownValue",
    "Ownership",
    "Property",
    "PropertyStore",
    "PropertyType",
    "PropertyValue",
    "Source",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreError",
    "StoreFeeder",
    "StoreInUseError",
    "StoreLockedError",
    "StoreReadOnlyError",
    "StoreSchemaError",
    "StoreWriteError",
    "export_audit_csv",
    "export_audit_jsonl",
    "last_known",
    "read_audit_csv",
    "read_audit_jsonl",
]


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its submodule on first use.

    Raises:
        AttributeError: not a public name of the package.
    """
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
