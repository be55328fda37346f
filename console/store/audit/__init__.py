"""The audit log: every operator write, publish, set, unset and delete, in the store.

An :class:`AuditEntry` says who (``actor``, ``"operator"``) did what (``action``,
e.g. ``snmp.set``), when (``time_ms``, ms since the epoch), to which ``device`` and
``target`` (an OID, an MQTT topic, an interface path), what the value was before
(``old``) and what was asked (``new``), both JSON values or None, and how it ended
(``result``: ``"ok"``, or an error name such as ``NOT_WRITABLE``, ``TIMEOUT`` or a
refusal reason). ``session_id`` ties it to the operator session that caused it.

* :class:`AuditLog` keeps entries in the ``audit`` table of a
  :class:`~console.store.properties.PropertyStore` (schema version 3). Writes go
  through the store's one batching writer, so an entry is exactly as durable as a
  property (``docs/store.md``: at most one batch window lost if the process is
  killed, nothing on a clean close). Reads flush first (read-your-writes) and come
  newest first.
* :class:`AuditRecorder` subscribes to the bus with
  :attr:`~console.events.Policy.BLOCK` (nothing dropped) and records one entry per
  event matching its :class:`AuditRule` table: today the SNMP write events
  (``("snmp", DEVICE, "write", OID)``, published for every operator SET, success or
  failure, see ``docs/events.md``); MQTT publish/set/unset results are one rule each
  when their events exist. :meth:`AuditRecorder.record` records actions that are not
  events (a property deleted from the UI). After queuing an entry, the recorder
  publishes it as ``("audit", DEVICE, ACTION)`` so an audit view refreshes.
* :func:`export_audit_jsonl` / :func:`export_audit_csv` write entries to files
  (:mod:`console.rowfiles`); :func:`read_audit_jsonl` / :func:`read_audit_csv`
  give exactly the same entries back.

Secrets never reach the log: the recorder copies only the fields named above from an
event's payload, and event payloads carry no community, key or password
(``docs/events.md``).

The package's modules: :mod:`.model` (entries, drafts and their checks), :mod:`.log`
(:class:`AuditLog`), :mod:`.recorder` (:class:`AuditRecorder`, rules) and
:mod:`.files` (exports); this module re-exports their public names.
"""

from console.store.audit.files import (
    AUDIT_COLUMNS,
    export_audit_csv,
    export_audit_jsonl,
    read_audit_csv,
    read_audit_jsonl,
)
from console.store.audit.log import AuditLog
from console.store.audit.model import (
    ACTOR_OPERATOR,
    MAX_TIME_MS,
    RESULT_OK,
    AuditAction,
    AuditDraft,
    AuditEntry,
    iso_time,
    value_text,
)
from console.store.audit.recorder import (
    AUDIT_EVENT,
    DEFAULT_RULES,
    MQTT_PUBLISH_PATTERN,
    SNMP_WRITE_PATTERN,
    AuditRecorder,
    AuditRule,
    mqtt_publish_draft,
    snmp_write_draft,
)

__all__ = [
    "ACTOR_OPERATOR",
    "AUDIT_COLUMNS",
    "AUDIT_EVENT",
    "DEFAULT_RULES",
    "MAX_TIME_MS",
    "MQTT_PUBLISH_PATTERN",
    "RESULT_OK",
    "SNMP_WRITE_PATTERN",
    "AuditAction",
    "AuditDraft",
    "AuditEntry",
    "AuditLog",
    "AuditRecorder",
    "AuditRule",
    "export_audit_csv",
    "export_audit_jsonl",
    "iso_time",
    "mqtt_publish_draft",
    "read_audit_csv",
    "read_audit_jsonl",
    "snmp_write_draft",
    "value_text",
]
