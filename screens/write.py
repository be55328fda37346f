"""The write dialog: data type and value of an SNMP SET, checked before anything is sent.

When a loaded MIB module defines the OID (a scalar or a column: it arrives a moment
after the dialog opens, :meth:`WriteScreen.show_mib`), the MIB decides
(:mod:`console.snmp.mibwrite`): the type menu offers only the types its SYNTAX can
be sent as (one, except text or hex for an OCTET STRING), an enumerated INTEGER
takes a label, ``label(n)`` or its number (and offers the labels in a menu that
fills the value in), ranges and SIZE are checked with the reason shown, and an
object whose MAX-ACCESS is not read-write or read-create is refused: its Write
button stays disabled. An OID no MIB defines keeps the free typed entry below.

Without a MIB, the type starts at the type of the last value read (``STRING`` when that was an
error or nothing is known) and the value at that value, as editable text
(:func:`console.format.editable_text`). Every change is checked at once: the text
is parsed for the type (:func:`console.format.parse_value_text`) and then encoded
by :func:`console.snmp.codec.to_pysnmp`, exactly as the SET will be; any problem is
shown inline and the Write button stays disabled. The dialog only returns the data;
the caller asks for confirmation and sends it.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from console.events import JsonValue
from console.fleet import ValueState
from console.format import MISSING, editable_text, parse_value_text
from console.snmp.codec import to_pysnmp
from console.snmp.mibmeta import MibObject
from console.snmp.mibwrite import (
    check_against_mib,
    enum_choices,
    enum_value,
    syntax_summary,
    write_types,
)
from console.snmpdisplay import render
from screens.form import CheckedForm
from widgets.form_fields import FormInput

__all__ = ["TYPE_HINTS", "WRITE_TYPES", "WriteScreen", "check_mib_write", "check_write"]

#: The data types an operator may write, in menu order.
WRITE_TYPES: tuple[str, ...] = (
    "INTEGER",
    "UNSIGNED",
    "COUNTER",
    "BIG_COUNTER",
    "TIME_TICKS",
    "STRING",
    "STRING_HEX",
    "OBJECT_ID",
    "IP_ADDRESS",
    "ARBITRARY",
)

#: What each type takes (the value input's placeholder).
TYPE_HINTS: dict[str, str] = {
    "INTEGER": "an integer, -2147483648..2147483647",
    "UNSIGNED": "an integer, 0..4294967295",
    "COUNTER": "an integer, 0..4294967295",
    "BIG_COUNTER": "an integer, 0..18446744073709551615",
    "TIME_TICKS": "hundredths of a second, or Nd hh:mm:ss.cc",
    "STRING": "text, sent as UTF-8",
    "STRING_HEX": "hex bytes, e.g. 00 1a 2b",
    "OBJECT_ID": "a numeric OID, e.g. 1.3.6.1.4.1.8072",
    "IP_ADDRESS": "an IPv4 address, e.g. 192.0.2.1",
    "ARBITRARY": "hex bytes of an Opaque, e.g. 9f 78 04 40 49 0f d0",
}

DEFAULT_TYPE = "STRING"
VALUE_WIDTH = 60


def check_write(data_type: str, text: str) -> dict[str, JsonValue]:
    """Return the data dict an operator's ``text`` of ``data_type`` makes, checked the
    way the SET will encode it.

    Raises:
        ValueError: an operator-readable reason (not an integer, out of range, not
            hex, not an OID, not an IPv4 address...).
    """
    data: dict[str, JsonValue] = {
        "type": data_type,
        "value": parse_value_text(data_type, text),
    }
    to_pysnmp(data)
    return data


def check_mib_write(obj: MibObject, data_type: str, text: str) -> dict[str, JsonValue]:
    """Return the data dict of a SET of the MIB object ``obj`` from an operator's
    ``text`` of ``data_type``: an enumeration read by label or number, then checked
    as :func:`check_write` does and against the SYNTAX and MAX-ACCESS
    (:func:`console.snmp.mibwrite.check_against_mib`).

    Raises:
        ValueError: an operator-readable reason (read-only, not an enumeration
            value, out of range, wrong size, not a value of the type).
    """
    if not obj.writable:
        check_against_mib(obj, {})  # raises the MAX-ACCESS reason
    if obj.syntax is not None and obj.syntax.enums and data_type == "INTEGER":
        data: dict[str, JsonValue] = {"type": data_type, "value": enum_value(obj, text)}
        to_pysnmp(data)
    else:
        data = check_write(data_type, text)
    check_against_mib(obj, data)
    return data


class WriteScreen(CheckedForm[dict[str, JsonValue]]):
    """Ask for the type and value to write to one OID; dismisses with the checked
    data dict, or ``None`` when cancelled.

    Args:
        device: the device written to.
        oid: the numeric OID.
        mib_name: its MIB name, if known.
        current: the last value read, if any (pre-sets the type and the text).
        mib: the MIB object that defines the OID, if known now (else
            :meth:`show_mib` when it is).
    """

    FORM = "write"
    AUTO_FOCUS = "#write-value"
    VERB = "Write…"

    def __init__(
        self,
        device: str,
        oid: str,
        mib_name: str | None,
        current: ValueState | None,
        mib: MibObject | None = None,
    ) -> None:
        super().__init__()
        self.mib: MibObject | None = None
        """The MIB object the value is checked against, or ``None``."""
        self.mib_known = False
        """True once the MIB was asked (:meth:`show_mib` ran, or ``mib`` given)."""
        self.device = device
        self.oid = oid
        self._mib_name = mib_name
        self._current = current
        self._now = MISSING
        known = current is not None and current.data_type in WRITE_TYPES
        self._type = current.data_type if current is not None and known else DEFAULT_TYPE
        self._text = editable_text(current.data_type, current.value) if current and known else ""
        self._pending_mib = mib

    @property
    def data(self) -> dict[str, JsonValue] | None:
        """The checked data of the current type and text, or ``None`` while invalid."""
        return self.result

    def compose(self) -> ComposeResult:
        """Where, the current value, the type and value fields, errors and buttons."""
        self._now = self._now_text(self._pending_mib)
        with Vertical(id="write", classes="dialog"):
            yield Static(f"Write to {self.device}", classes="dialog-title", markup=False)
            yield Static(self._target(), id="write-target")
            with Horizontal(classes="dialog-field"):
                yield Label("type", classes="dialog-label")
                yield Select[str](
                    [(name, name) for name in WRITE_TYPES],
                    value=self._type,
                    allow_blank=False,
                    id="write-type",
                )
            yield Static(id="write-syntax", classes="dialog-hint", markup=False)
            with Horizontal(classes="dialog-field"):
                yield Label("value", classes="dialog-label")
                yield FormInput(self._text, placeholder=TYPE_HINTS[self._type], id="write-value")
            with Horizontal(classes="dialog-field", id="write-enum-field"):
                yield Label("label", classes="dialog-label")
                yield Select[int]([], prompt="the enumerations", id="write-enum")
            yield Static(id="write-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write…", id="write-ok", variant="warning")
                yield Button("Cancel", id="write-cancel")
            yield Static(id="write-hint", classes="dialog-hint", markup=False)

    def _now_text(self, mib: MibObject | None) -> str:
        """The current value: its type and its text as the MIB defines it (``INTEGER
        up(1)``; :func:`console.snmpdisplay.render`), plainly while no MIB is known."""
        current = self._current
        if current is None:
            return MISSING
        data = {"type": current.data_type, "value": current.value}
        return f"{current.data_type}  {render(data, mib, width=VALUE_WIDTH)}"

    def _target(self) -> Content:
        return Content.from_markup(
            "$oid  [$accent]$name[/]\n[$text-muted]now[/] $now",
            oid=self.oid,
            name=self._mib_name or "",
            now=self._now,
        )

    def on_mount(self) -> None:
        """Apply a MIB object given at construction (Textual then runs the form's
        ``on_mount``: the check and the focus)."""
        self.query_one("#write-enum-field").display = False
        self.query_one("#write-syntax").display = False
        if self._pending_mib is not None:
            self.show_mib(self._pending_mib)

    def show_mib(self, mib: MibObject | None) -> None:
        """Check the value against ``mib`` from now on (``None``: no MIB defines the
        OID; the free typed entry stays): the type menu keeps the SYNTAX's types,
        an enumeration shows its labels, the SYNTAX and MAX-ACCESS are shown."""
        self.mib_known = True
        self.mib = mib
        if mib is None or not self.query("#write-type"):  # not composed yet: on mount
            self._pending_mib = mib
            return
        now = self._now_text(mib)
        if now != self._now:
            self._now = now
            self.query_one("#write-target", Static).update(self._target())
        types = write_types(mib)
        select = self.query_one("#write-type", Select)
        current = select.value
        with self.prevent(Select.Changed):
            select.set_options([(name, name) for name in types])
            select.value = current if current in types else types[0]
        select.disabled = len(types) == 1
        choices = enum_choices(mib)
        if choices:
            enum = self.query_one("#write-enum", Select)
            with self.prevent(Select.Changed):
                enum.set_options(choices)
            self.query_one("#write-enum-field").display = True
        syntax = self.query_one("#write-syntax", Static)
        syntax.update(syntax_summary(mib))
        syntax.display = True
        self._check()

    @on(Select.Changed, "#write-enum")
    def _enum_chosen(self, event: Select.Changed) -> None:
        syntax = self.mib.syntax if self.mib is not None else None
        if isinstance(event.value, int) and syntax is not None:
            label = syntax.enums.get(event.value)
            if label is not None:
                self.query_one("#write-value", Input).value = label

    def show_mib_name(self, mib_name: str | None) -> None:
        """Show the OID's MIB name, resolved after the dialog opened (the dialog
        opens at once, so that no key typed after ``w`` is lost)."""
        self._mib_name = mib_name
        if self.is_mounted:
            self.query_one("#write-target", Static).update(self._target())

    def check(self) -> dict[str, JsonValue]:
        """The data dict of the type and value fields (see :func:`check_write`).

        Raises:
            ValueError: why the text is not a value of the type.
        """
        select = self.query_one("#write-type", Select)
        data_type = str(select.value) if select.value != Select.BLANK else DEFAULT_TYPE
        value = self.query_one("#write-value", Input)
        mib = self.mib
        if mib is not None and mib.syntax is not None and mib.syntax.enums:
            value.placeholder = "a label, label(n) or n: " + ", ".join(
                label for label, _ in enum_choices(mib)[:4]
            )
        else:
            value.placeholder = TYPE_HINTS.get(data_type, "")
        if mib is not None:
            return check_mib_write(mib, data_type, value.value)
        return check_write(data_type, value.value)
