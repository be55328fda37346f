"""The write dialog: data type and value of an SNMP SET, checked before anything is sent.

The type starts at the type of the last value read (``STRING`` when that was an
error or nothing is known) and the value at that value, as editable text
(:func:`console.format.editable_text`). Every change is checked at once: the text
is parsed for the type (:func:`console.format.parse_value_text`) and then encoded
by :func:`console.snmp.codec.to_pysnmp`, exactly as the SET will be; any problem is
shown inline and the Write button stays disabled. The dialog only returns the data;
the caller asks for confirmation and sends it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from console.events import JsonValue
from console.fleet import ValueState
from console.format import MISSING, editable_text, format_value, parse_value_text
from console.snmp.codec import to_pysnmp
from screens.form import CheckedForm
from widgets.form_fields import FormInput

__all__ = ["TYPE_HINTS", "WRITE_TYPES", "WriteScreen", "check_write"]

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


class WriteScreen(CheckedForm[dict[str, JsonValue]]):
    """Ask for the type and value to write to one OID; dismisses with the checked
    data dict, or ``None`` when cancelled.

    Args:
        device: the device written to.
        oid: the numeric OID.
        mib_name: its MIB name, if known.
        current: the last value read, if any (pre-sets the type and the text).
    """

    FORM = "write"
    AUTO_FOCUS = "#write-value"
    VERB = "Write…"

    def __init__(
        self, device: str, oid: str, mib_name: str | None, current: ValueState | None
    ) -> None:
        super().__init__()
        self.device = device
        self.oid = oid
        self._mib_name = mib_name
        self._current = current
        self._now = MISSING
        known = current is not None and current.data_type in WRITE_TYPES
        self._type = current.data_type if current is not None and known else DEFAULT_TYPE
        self._text = editable_text(current.data_type, current.value) if current and known else ""

    @property
    def data(self) -> dict[str, JsonValue] | None:
        """The checked data of the current type and text, or ``None`` while invalid."""
        return self.result

    def compose(self) -> ComposeResult:
        """Where, the current value, the type and value fields, errors and buttons."""
        current = self._current
        now = (
            f"{current.data_type}  "
            f"{format_value(current.data_type, current.value, width=VALUE_WIDTH)}"
            if current is not None
            else MISSING
        )
        self._now = now
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
            with Horizontal(classes="dialog-field"):
                yield Label("value", classes="dialog-label")
                yield FormInput(self._text, placeholder=TYPE_HINTS[self._type], id="write-value")
            yield Static(id="write-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write…", id="write-ok", variant="warning")
                yield Button("Cancel", id="write-cancel")
            yield Static(id="write-hint", classes="dialog-hint", markup=False)

    def _target(self) -> Content:
        return Content.from_markup(
            "$oid  [$accent]$name[/]\n[$text-muted]now[/] $now",
            oid=self.oid,
            name=self._mib_name or "",
            now=self._now,
        )

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
        value.placeholder = TYPE_HINTS.get(data_type, "")
        return check_write(data_type, value.value)
