"""The detail pane of a notification: where and when it happened, then its payload in
full.

* an SNMP trap or inform: sender, version, trap OID and name, uptime, then its
  varbinds as a table (OID, MIB name, type, value), then the rest of the payload;
* an MQTT message: broker, topic, QoS, retain, size, then the payload decoded for
  display (``console.mqtt.codec.decode_payload``: pretty JSON, text, Astarte BSON, or
  a hex dump for binary payloads, cut at 64 KiB with a visible line);
* anything else: the payload as pretty JSON.

:attr:`NotificationDetail.text` is the same as plain text (what ``c`` copies).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from console.format import Clock, printable
from console.mqtt.codec import decode_payload
from console.mqtt.metadata import metadata_lines
from console.notifications.model import Category, Notification
from widgets.mib_names import MibNames

__all__ = ["DETAIL_LINES", "NotificationDetail", "detail_text", "unnamed_oids", "varbind_rows"]

#: The body shows at most this many lines (then says how many are left out).
DETAIL_LINES = 400

_SEVERITY_STYLES = {
    "info": "$text-muted",
    "warning": "$warning",
    "error": "$error",
    "critical": "$error reverse",
}


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _cut(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= DETAIL_LINES:
        return text
    return "\n".join([*lines[:DETAIL_LINES], f"… {len(lines) - DETAIL_LINES:,} more lines"])


def varbind_rows(payload: Mapping[str, Any], mib_names: MibNames | None) -> list[tuple[str, ...]]:
    """``(oid, name, type, value)`` of each varbind of a trap payload; the name is the
    trap's own (resolved by the receiver), else the MIB name cache's, else ``""``; the
    value as its MIB defines it (the receiver's ``display``, else the MIB name
    cache's) followed by the raw value when they differ: ``down(2)   raw 2``."""
    rows: list[tuple[str, ...]] = []
    for varbind in payload.get("varbinds") or []:
        if not isinstance(varbind, Mapping):
            continue
        oid = str(varbind.get("oid", ""))
        name = varbind.get("name") or (mib_names.get(oid) if mib_names is not None else None)
        value = varbind.get("value")
        raw = printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        display = varbind.get("display")
        if not isinstance(display, str) and mib_names is not None:
            display = mib_names.display(oid, varbind)
        shown = raw if not isinstance(display, str) or display == raw else f"{display}   raw {raw}"
        rows.append((oid, str(name or ""), str(varbind.get("type", "")), printable(shown)))
    return rows


def unnamed_oids(notification: Notification) -> list[str]:
    """The varbind OIDs of a trap the receiver could not name (the pane asks the MIB
    name cache for them)."""
    payload = notification.payload
    if notification.category is not Category.TRAP or not isinstance(payload, Mapping):
        return []
    varbinds = payload.get("varbinds")
    if not isinstance(varbinds, list):
        return []
    return [
        str(vb.get("oid"))
        for vb in varbinds
        if isinstance(vb, Mapping) and not vb.get("name") and vb.get("oid")
    ]


def _message_body(payload: Mapping[str, Any]) -> tuple[str, str]:
    """``(what, body)`` of an MQTT message: the format line and the decoded payload."""
    raw = payload.get("payload")
    try:
        data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else b""
    except (binascii.Error, ValueError):
        return "undecodable payload (not base64)", str(raw)
    properties = payload.get("properties")
    content_type = properties.get("ContentType") if isinstance(properties, Mapping) else None
    decoded = decode_payload(data, content_type=content_type, declared=payload.get("format"))
    body = decoded.text
    if decoded.base64 is not None:
        body = f"{body}\n\nbase64:\n{decoded.base64}"
    return f"{decoded.format}, {decoded.size:,} bytes", body


def _header(notification: Notification, clock: Clock) -> tuple[Content, str]:
    history = "  [b $warning]history[/] (replayed from the store)" if notification.history else ""
    when = clock.date_time(notification.time)
    millis = f".{int(notification.time * 1000) % 1000:03d}"
    content = Content.from_markup(
        f"[b]$device[/]  [b {_SEVERITY_STYLES[notification.severity.label]}]$severity[/]"
        f"  $category  [$text-muted]$type[/]\n$when{history}\n$summary",
        device=notification.device,
        severity=notification.severity.label,
        category=notification.category.value,
        type="/".join(notification.event_type),
        when=when + millis,
        summary=printable(notification.summary),
    )
    plain = (
        f"{notification.device}  {notification.severity.label}  {notification.category.value}"
        f"  {'/'.join(notification.event_type)}\n{when}{millis}"
        f"{'  history' if notification.history else ''}\n{notification.summary}"
    )
    return content, plain


def detail_text(notification: Notification, clock: Clock, mib_names: MibNames | None) -> str:
    """The whole detail as plain text (header, varbinds or decoded payload, JSON)."""
    _, header = _header(notification, clock)
    parts = [header, ""]
    payload = notification.payload
    if notification.category is Category.TRAP and isinstance(payload, Mapping):
        rows = varbind_rows(payload, mib_names)
        if rows:
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            parts.append("varbinds:")
            parts.extend(
                "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]])
                for row in rows
            )
            parts.append("")
        parts.append(_json({k: v for k, v in payload.items() if k != "varbinds"}))
    elif notification.category is Category.MESSAGE and isinstance(payload, Mapping):
        what, body = _message_body(payload)
        meta = {k: v for k, v in payload.items() if k != "payload"}
        mqtt5 = metadata_lines(payload.get("properties"))
        parts.extend([*mqtt5, f"payload: {what}", _cut(body), "", _json(meta)])
    else:
        parts.append(_cut(_json(payload)))
    return "\n".join(parts)


class NotificationDetail(VerticalScroll):
    """The notification under the list's cursor, in full (see the module doc).

    Args:
        clock: formats the time.
        mib_names: names of varbind OIDs the receiver could not name.
    """

    # The same signature as NotificationList on purpose: the pane builds both from one pair.
    def __init__(
        self,
        clock: Clock,
        mib_names: MibNames | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._mib_names = mib_names
        self.notification: Notification | None = None
        """The notification shown, or ``None``."""

    def compose(self) -> ComposeResult:
        """The header, the varbinds table (traps) and the body."""
        yield Static(classes="notification-detail-header", markup=False)
        yield Static(classes="notification-detail-varbinds", markup=False)
        yield Static(classes="notification-detail-body", markup=False)

    @property
    def text(self) -> str:
        """The detail as plain text (``""`` when nothing is shown)."""
        if self.notification is None:
            return ""
        return detail_text(self.notification, self._clock, self._mib_names)

    def show(self, notification: Notification | None, *, force: bool = False) -> None:
        """Show ``notification`` (``None``: clear); the same one again does nothing
        unless ``force`` (MIB names arrived)."""
        if notification is self.notification and notification is not None and not force:
            return
        self.notification = notification
        header = self.query_one(".notification-detail-header", Static)
        varbinds = self.query_one(".notification-detail-varbinds", Static)
        body = self.query_one(".notification-detail-body", Static)
        if notification is None:
            header.update("no notification selected")
            varbinds.display = False
            body.update("")
            return
        content, _ = _header(notification, self._clock)
        header.update(content)
        payload = notification.payload
        varbinds.display = False
        if notification.category is Category.TRAP and isinstance(payload, Mapping):
            rows = varbind_rows(payload, self._mib_names)
            if rows:
                table = Table("OID", "NAME", "TYPE", "VALUE", box=None, expand=False)
                for row in rows:
                    table.add_row(*(Text(cell) for cell in row))
                varbinds.update(table)
                varbinds.display = True
            body.update(_json({k: v for k, v in payload.items() if k != "varbinds"}))
        elif notification.category is Category.MESSAGE and isinstance(payload, Mapping):
            what, text = _message_body(payload)
            meta = _json({k: v for k, v in payload.items() if k != "payload"})
            mqtt5 = "".join(f"{line}\n" for line in metadata_lines(payload.get("properties")))
            body.update(f"{mqtt5}payload: {what}\n{_cut(text)}\n\n{meta}")
        else:
            body.update(_cut(_json(payload)))
        self.scroll_home(animate=False)
