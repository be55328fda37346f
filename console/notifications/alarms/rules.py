"""Alarm rules: the ``alarms.rules`` of the configuration compiled for matching.

:func:`compile_rules` resolves each rule's SNMP objects (``trap``, ``clear_trap``,
``index``: a numeric OID, or a MIB name looked up through the MIBs in a worker thread,
or one of the generic trap names of RFC 3418 / RFC 2863 such as linkDown) into a
:class:`Rule`; a name nobody knows is matched against the name the trap receiver
reports (:func:`same_name`). :func:`as_number` and :func:`payload_number` read the
values a threshold rule compares.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from console.config import AlarmRule, AlarmsConfig
from console.notifications.model import Severity

if TYPE_CHECKING:
    from console.snmp.mib import MibResolver

__all__ = [
    "MAX_NUMBER_BYTES",
    "Rule",
    "SnmpObject",
    "as_number",
    "compile_rules",
    "lookup_all",
    "payload_number",
    "same_name",
]

mlog = logging.getLogger(__name__)

#: Longest MQTT payload read as a number, bytes.
MAX_NUMBER_BYTES: Final = 64


@dataclass(frozen=True, slots=True)
class SnmpObject:
    """A trap or var-bind object of a rule: its numeric OID (when known) and name."""

    oid: str | None
    name: str | None

    def matches_trap(self, trap_oid: object, trap_name: object) -> bool:
        """Whether a trap (its numeric OID and reported name) is this object."""
        if self.oid is not None and trap_oid == self.oid:
            return True
        return (
            self.name is not None and isinstance(trap_name, str) and same_name(self.name, trap_name)
        )

    def instance(self, varbinds: object) -> str | None:
        """The instance (index arcs after the object) of the first var-bind under this
        object, as dotted text, or ``None``."""
        if not isinstance(varbinds, list):
            return None
        for varbind in varbinds:
            if not isinstance(varbind, Mapping):
                continue
            oid = varbind.get("oid")
            if self.oid is not None and isinstance(oid, str) and oid.startswith(self.oid + "."):
                return oid[len(self.oid) + 1 :]
            name = varbind.get("name")
            if self.name is not None and isinstance(name, str):
                qualified, dot, index = name.partition(".")
                if dot and same_name(self.name, qualified):
                    return index
        return None


def same_name(wanted: str, found: str) -> bool:
    """``IF-MIB::linkDown`` vs a reported name: module and label when both are
    qualified, else the labels (case-insensitive, as :meth:`MibResolver.lookup`)."""
    wanted_module, _, wanted_label = wanted.rpartition("::")
    found_module, _, found_label = found.rpartition("::")
    if wanted_label.casefold() != found_label.casefold():
        return False
    return not (wanted_module and found_module) or wanted_module == found_module


def as_number(value: object) -> float | None:
    """``value`` as a finite float when it is an int or a float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def payload_number(b64: object) -> float | None:
    """An MQTT payload (base64) read as a number: text such as ``21.5`` or a JSON
    number, surrounding blanks allowed; ``None`` otherwise."""
    if not isinstance(b64, str) or len(b64) > MAX_NUMBER_BYTES * 4 // 3 + 4:
        return None
    try:
        text = base64.b64decode(b64, validate=True).decode("ascii").strip()
        number = float(text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return number if math.isfinite(number) else None


@dataclass(slots=True)
class Rule:
    """A configured rule, with its objects resolved."""

    conf: AlarmRule
    severity: Severity
    trap: SnmpObject | None = None
    clear_trap: SnmpObject | None = None
    index: SnmpObject | None = None

    @property
    def momentary(self) -> bool:
        """An event rule: no condition to clear (ack closes its alarms)."""
        conf = self.conf
        if conf.source == "trap":
            return conf.clear_trap is None
        return conf.source == "topic" and not conf.has_threshold

    def applies_to(self, device: str) -> bool:
        """Whether ``device`` matches the rule's ``device`` glob (case-sensitive)."""
        return fnmatch.fnmatchcase(device, self.conf.device)


async def compile_rules(config: AlarmsConfig, mib: MibResolver | None) -> list[Rule]:
    """The rules of ``config``, in order, with their SNMP objects resolved: MIB names
    through ``mib`` (in a worker thread; it loads the MIBs), then the generic trap
    names; a name neither knows keeps only its name (matched as reported).

    Never raises for an unknown name (logged at info level).
    """
    names = {
        text
        for rule in config.rules
        for text in (rule.trap, rule.clear_trap, rule.index)
        if text is not None and not text[:1].isdigit()
    }
    resolved: dict[str, str] = {}
    if mib is not None and names:
        resolved = await asyncio.to_thread(lookup_all, mib, names)
    if names - resolved.keys():
        # the generic traps (RFC 3418 / RFC 2863 notification types), which the
        # MIB indexes do not name: linkDown, linkUp, coldStart...
        from console.snmp.traps import GENERIC_TRAP_NAMES

        for name in names - resolved.keys():
            for oid, generic in GENERIC_TRAP_NAMES.items():
                if same_name(name, generic):
                    resolved[name] = oid

    def obj(text: str | None) -> SnmpObject | None:
        if text is None:
            return None
        if text[:1].isdigit():
            return SnmpObject(text, None)
        return SnmpObject(resolved.get(text), text)

    return [
        Rule(
            conf,
            Severity.parse(conf.severity),
            trap=obj(conf.trap),
            clear_trap=obj(conf.clear_trap),
            index=obj(conf.index),
        )
        for conf in config.rules
    ]


def lookup_all(mib: MibResolver, names: Iterable[str]) -> dict[str, str]:
    """Resolve MIB names to numeric OIDs (blocking: loads the MIBs); names the MIBs
    do not know are logged and left out."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = mib.lookup(name)
        except ValueError as exc:
            mlog.info("alarm rule: %s; matching the trap's reported name instead", exc)
    return found
