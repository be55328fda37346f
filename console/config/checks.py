"""Checks across entries, or of the file system, that JSON Schema cannot express
(stage 4 of :mod:`console.config`): device names starting with ``@`` (reserved),
duplicate device, broker, rule and monitor names, duplicate polling OIDs and trap
users, devices naming no configured broker, MIB directories, TLS files and the
interface directory that do not exist (or hold invalid interfaces), alarm rules
without exactly one source or with an empty threshold band, monitors without
patterns, malformed event patterns, delivery keys that do not fit the monitor's
``transport`` (a TLS listener without its certificate), and ``ui.keymap`` ids that name no binding
(:mod:`console.keys`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Final

from console.config.formats import absolute_path, normalize_engine_id, oid_form
from console.config.model import RESERVED_NAME_PREFIX
from console.config.schema import config_schema
from console.config.source import DocPath, Document, field_name
from console.events import event_pattern
from console.keys import BINDINGS
from console.topics import validate_filter

__all__ = ["cross_checks", "reserved_names", "secret_keys"]


@cache
def secret_keys() -> frozenset[str]:
    """Names of the schema properties marked ``x-secret: true`` (``community``...)."""

    def walk(node: object) -> Iterable[str]:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and sub.get("x-secret") is True:
                    yield name
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return frozenset(walk(config_schema()))


def reserved_names(doc: Document) -> None:
    """Report device names starting with ``@``. Runs before the schema, so that the
    name pattern does not report the same name again in vaguer words."""
    data = doc.data
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        return
    for index, device in enumerate(devices):
        name = device.get("name") if isinstance(device, dict) else None
        if isinstance(name, str) and name.startswith(RESERVED_NAME_PREFIX):
            path = ("devices", index, "name")
            doc.report(
                path,
                doc.line_of(path),
                "device names must not start with '@': it marks trap senders without a "
                "device and fleettop's own parts (see docs/events.md)",
            )


def cross_checks(doc: Document, base: Path) -> None:
    """Checks across entries, or of the file system, that JSON Schema cannot express:
    device names are unique; no OID is listed twice in a device's ``polling_oids``
    (compared normalised); no trap user is listed twice; every ``mib_paths`` entry is
    an existing directory (relative ones resolved against ``base``)."""
    data = doc.data
    if not isinstance(data, dict):
        return
    _trap_users(doc, data.get("traps"))
    _mib_directories(doc, data.get("mib_paths"), base)
    brokers = _brokers(doc, data.get("brokers"), base)
    _interfaces_dir(doc, data.get("interfaces_dir"), base)
    _alarm_rules(doc, data.get("alarms"))
    _monitors(doc, data.get("monitors"))
    _keymap(doc, data.get("ui"))
    devices = data.get("devices")
    if not isinstance(devices, list):
        return
    _device_brokers(doc, devices, brokers)
    _unique_names(doc, devices, ("devices",), "device")
    for index, device in enumerate(devices):
        if not isinstance(device, dict):
            continue
        snmp = device.get("snmp")
        oids = snmp.get("polling_oids") if isinstance(snmp, dict) else None
        if isinstance(oids, list):
            _duplicate_oids(doc, ("devices", index, "snmp", "polling_oids"), oids)


def _brokers(doc: Document, brokers: object, base: Path) -> list[str]:
    """Report duplicate broker names and TLS files that do not exist; return the
    broker names (for the devices' ``mqtt.broker``)."""
    if not isinstance(brokers, list):
        return []
    _unique_names(doc, brokers, ("brokers",), "broker")
    names: dict[str, None] = {}
    for index, broker in enumerate(brokers):
        if not isinstance(broker, dict):
            continue
        name = broker.get("name")
        if isinstance(name, str):
            names[name] = None
        tls = broker.get("tls")
        if not isinstance(tls, dict):
            continue
        for key in ("ca_certs", "certfile", "keyfile"):
            text = tls.get(key)
            if not isinstance(text, str) or not text:
                continue
            file = absolute_path(text, base)
            if not file.is_file():
                item = ("brokers", index, "tls", key)
                shown = "" if doc.hidden(item, text) else f" {str(file)!r}"
                doc.report(item, doc.line_of(item), f"no such file{shown}")
    return list(names)


def _device_brokers(doc: Document, devices: list[object], brokers: list[str]) -> None:
    """Report each device ``mqtt.broker`` that names no configured broker."""
    for index, device in enumerate(devices):
        mqtt = device.get("mqtt") if isinstance(device, dict) else None
        broker = mqtt.get("broker") if isinstance(mqtt, dict) else None
        if not isinstance(broker, str) or not broker or broker in brokers:
            continue
        path = ("devices", index, "mqtt", "broker")
        message = f"no broker named {broker!r} in 'brokers'"
        close = difflib.get_close_matches(broker, brokers, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif brokers:
            message += f" (configured: {', '.join(brokers)})"
        else:
            message += " (there is no 'brokers' section)"
        doc.report(path, doc.line_of(path), message)


def _interfaces_dir(doc: Document, text: object, base: Path) -> None:
    """Report an ``interfaces_dir`` that is not a directory, and every problem of
    every interface file in it (``FILE: FIELD: message``)."""
    if not isinstance(text, str) or not text:
        return
    path = ("interfaces_dir",)
    directory = absolute_path(text, base)
    if not directory.is_dir():
        shown = "" if doc.hidden(path, text) else f" {str(directory)!r}"
        doc.report(path, doc.line_of(path), f"no such directory{shown}")
        return
    from console.astarte import check_interfaces

    for error in check_interfaces(directory):
        doc.report(path, doc.line_of(path), str(error))


_RULE_SOURCES: Final = ("trap", "oid", "interface", "topic")


def _unique_names(doc: Document, items: list[object], where: tuple[str, ...], what: str) -> None:
    """Report each ``name`` of the mappings in ``items`` (at ``where``) that repeats;
    a name from the environment is not echoed. Lines are looked up only for repeats
    (a 100,000-device list)."""
    names: dict[str, int] = {}  # name -> index of its first item
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name not in names:
            names[name] = index
            continue
        path: DocPath = (*where, index, "name")
        shown = "" if doc.hidden(path, name) else f" {name!r}"
        first = doc.line_of((*where, names[name], "name"))
        doc.report(
            path,
            doc.line_of(path),
            f"duplicate {what} name{shown} (first defined at line {first})",
        )


def _alarm_rules(doc: Document, alarms: object) -> None:
    """Report rules without exactly one source, thresholds where they do not belong
    or missing where they must be, ``above`` not greater than ``below``, a
    ``deadband`` wider than the band, Astarte path filters that are not valid, and
    duplicate rule names."""
    rules = alarms.get("rules") if isinstance(alarms, dict) else None
    if not isinstance(rules, list):
        return
    _unique_names(doc, rules, ("alarms", "rules"), "rule")
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        here = ("alarms", "rules", index)
        sources = [key for key in _RULE_SOURCES if rule.get(key) is not None]
        if rule.get("field") is not None:  # a field, on the topics `topic` matches
            sources = ["field", *(key for key in sources if key != "topic")]
        if not sources:
            doc.report(
                here,
                doc.line_of(here, key=True),
                "a rule needs one source: trap, oid, interface, topic or field",
            )
            continue
        if len(sources) > 1:
            second = (*here, sources[1])
            doc.report(
                second,
                doc.line_of(second, key=True),
                f"a rule watches exactly one source, and this one also has {sources[0]!r}",
            )
            continue
        source = sources[0]
        above, below = rule.get("above"), rule.get("below")
        has_threshold = above is not None or below is not None
        for key, allowed in (("clear_trap", "trap"), ("index", "trap"), ("path", "interface")):
            if rule.get(key) is not None and source != allowed:
                path = (*here, key)
                doc.report(path, doc.line_of(path, key=True), f"only allowed with {allowed!r}")
        if source == "trap":
            for key in ("above", "below"):
                if rule.get(key) is not None:
                    path = (*here, key)
                    doc.report(
                        path,
                        doc.line_of(path, key=True),
                        "a trap rule has no threshold (a trap carries no single value)",
                    )
        elif source in ("oid", "interface", "field") and not has_threshold:
            path = (*here, source)
            doc.report(
                path,
                doc.line_of(path, key=True),
                "needs 'above' and/or 'below' (a value rule raises outside its range)",
            )
        numbers = [v for v in (above, below) if v is not None]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            continue  # reported by the schema
        deadband = rule.get("deadband", 0)
        if above is not None and below is not None:
            if above <= below:
                path = (*here, "above")
                doc.report(
                    path,
                    doc.line_of(path),
                    f"must be greater than 'below' ({below}), got {above}",
                )
            elif isinstance(deadband, int | float) and deadband * 2 >= above - below:
                path = (*here, "deadband")
                doc.report(
                    path,
                    doc.line_of(path),
                    f"must be less than half of above - below ({(above - below) / 2:g}), "
                    f"got {deadband}",
                )
        text = rule.get("path")
        if isinstance(text, str) and text.startswith("/"):
            try:
                validate_filter(text[1:] or "#")
            except ValueError as error:
                path = (*here, "path")
                reason = str(error).split(": ", 1)[-1]
                doc.report(path, doc.line_of(path), f"{text!r} is not a path filter: {reason}")


def _monitors(doc: Document, monitors: object) -> None:
    """Report duplicate monitor names, monitors with neither events nor topics, and
    event patterns that are not valid."""
    if not isinstance(monitors, list):
        return
    _unique_names(doc, monitors, ("monitors",), "monitor")
    for index, monitor in enumerate(monitors):
        if not isinstance(monitor, dict):
            continue
        here = ("monitors", index)
        _delivery_keys(doc, here, monitor)
        events, topics = monitor.get("events"), monitor.get("topics")
        if not events and not topics:
            doc.report(
                here,
                doc.line_of(here, key=True),
                "a monitor needs 'events' or 'topics' (at least one pattern or filter)",
            )
        if not isinstance(events, list):
            continue
        for number, item in enumerate(events):
            path = (*here, "events", number)
            if isinstance(item, list) and not all(isinstance(part, str) for part in item):
                continue  # reported by the schema
            if not isinstance(item, str | list):
                continue
            try:
                event_pattern(item)
            except ValueError as error:
                doc.report(path, doc.line_of(path), str(error))


#: Delivery keys that only one transport reads (``docs/monitors.md``).
_HTTP_ONLY: Final = ("url", "method", "token", "connect_timeout", "response_timeout")
_TCP_ONLY: Final = ("listen", "ack")
_DELIVERY_KEYS: Final = (*_HTTP_ONLY, *_TCP_ONLY, "compression", "auto_replay", "tls")


def _delivery_keys(doc: Document, here: DocPath, monitor: dict[object, object]) -> None:
    """Report delivery keys the monitor's ``transport`` does not read (or without a
    transport), and a TCP ``tls`` without ``certfile``."""
    transport = monitor.get("transport")
    if transport not in (None, "http", "tcp"):
        return  # reported by the schema
    unused = {None: _DELIVERY_KEYS, "http": _TCP_ONLY, "tcp": _HTTP_ONLY}[transport]
    for key in unused:
        if key in monitor:
            path = (*here, key)
            why = "without a 'transport'" if transport is None else f"with transport {transport}"
            doc.report(path, doc.line_of(path, key=True), f"'{key}' is not used {why}")
    tls = monitor.get("tls")
    if transport == "tcp" and isinstance(tls, dict) and not tls.get("certfile"):
        path = (*here, "tls")
        doc.report(
            path,
            doc.line_of(path, key=True),
            "a TCP monitor's tls needs 'certfile' (and 'keyfile'): the server's certificate",
        )


def _trap_users(doc: Document, traps: object) -> None:
    """Report a trap user listed twice for the same engine ID (the receiver's USM
    table holds one entry per user name and engine ID, RFC 3414 usmUserTable)."""
    users = traps.get("users") if isinstance(traps, dict) else None
    if not isinstance(users, list):
        return
    seen: dict[tuple[str, str], int | None] = {}
    for index, user in enumerate(users):
        if not isinstance(user, dict):
            continue
        name, engine_id = user.get("user"), user.get("engine_id", "")
        if not isinstance(name, str) or not isinstance(engine_id, str):
            continue
        try:
            key = (name, normalize_engine_id(engine_id))
        except ValueError:
            continue  # reported by the schema
        path = ("traps", "users", index, "user")
        if key not in seen:
            seen[key] = doc.line_of(path)
            continue
        shown = "" if doc.hidden(path, name) else f" {name!r}"
        engine = f" for engine ID {key[1]}" if key[1] else ""
        doc.report(
            path,
            doc.line_of(path),
            f"duplicate trap user{shown}{engine} (first defined at line {seen[key]})",
        )


def _mib_directories(doc: Document, paths: object, base: Path) -> None:
    """Report each ``mib_paths`` entry that is not an existing directory."""
    if not isinstance(paths, list):
        return
    for index, text in enumerate(paths):
        if not isinstance(text, str) or not text:
            continue  # reported by the schema
        directory = absolute_path(text, base)
        if directory.is_dir():
            continue
        path = ("mib_paths", index)
        shown = "" if doc.hidden(path, text) else f" {str(directory)!r}"
        if directory.exists():
            message = f"{shown.strip() or 'it'} is not a directory"
        else:
            message = f"no such directory{shown}"
            if not Path(text).expanduser().is_absolute():
                message += " (a relative path starts at the configuration file's directory)"
        doc.report(path, doc.line_of(path), message)


def _duplicate_oids(doc: Document, path: DocPath, oids: list[object]) -> None:
    """Report each OID of list ``oids`` (at ``path``) that repeats an earlier one."""
    seen: dict[str, int] = {}
    for index, oid in enumerate(oids):
        if not isinstance(oid, str):
            continue
        try:
            normal = oid_form(oid)
        except ValueError:
            continue  # reported by the schema
        item = (*path, index)
        if normal in seen:
            first = (*path, seen[normal])
            doc.report(
                item,
                doc.line_of(item),
                f"OID {normal} is listed twice (first as {field_name(first[-2:])}, "
                f"line {doc.line_of(first)})",
            )
        else:
            seen[normal] = index


def _keymap(doc: Document, ui: object) -> None:
    """Report each ``ui.keymap`` id that names no binding (:data:`console.keys.BINDINGS`),
    with the closest id as a suggestion; an id whose keys are already wrong is left
    at that one problem."""
    keymap = ui.get("keymap") if isinstance(ui, dict) else None
    if not isinstance(keymap, dict):
        return
    reported = {found.path for found in doc.found}
    for binding_id in keymap:
        path: DocPath = ("ui", "keymap", binding_id)
        if binding_id in BINDINGS or path in reported or doc.is_broken(path):
            continue  # a known id, or its keys are already a problem
        message = f"unknown binding id {binding_id!r}"
        close = difflib.get_close_matches(binding_id, list(BINDINGS), n=1, cutoff=0.6)
        if not close:
            close = [known for known in BINDINGS if known.rsplit(".", 1)[-1] == binding_id][:1]
        if close:
            message += f"; did you mean {close[0]!r}?"
        else:
            message += " (the help screen, '?', lists the ids)"
        doc.report(path, doc.line_of(path, key=True), message)
