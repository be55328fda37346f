"""The detail panel of the Properties screen: one property in full, and a sparkline
of its recent values when they are numbers."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Sparkline, Static

from console.format import Clock, format_count
from console.store import SNMP_INTERFACE, Property
from console.store.browse import display_value
from widgets.mib_names import MibNames

__all__ = ["VALUE_LIMIT", "PropertyDetail", "property_header"]

#: The value is shown up to this many characters (a note says how much is left out).
VALUE_LIMIT = 4000


def property_header(prop: Property, mib_name: str | None, clock: Clock) -> Content:
    """Where the property is, its type, ownership, source and when it was updated."""
    native = f" (SNMP {prop.native_type})" if prop.native_type else ""
    updated_s = prop.updated_ms / 1000
    return Content.from_markup(
        "[b]$device[/]  $interface [$text-muted]v$major.$minor[/]\n"
        "[b]$path[/]  [$accent]$name[/]\n"
        "[$text-muted]type[/]      $type$native\n"
        "[$text-muted]ownership[/] $ownership  [$text-muted]source[/] $source\n"
        "[$text-muted]updated[/]   $updated [$text-muted]($age ago)[/]",
        device=prop.device,
        interface=prop.interface,
        major=str(prop.major),
        minor=str(prop.minor),
        path=prop.path,
        name=mib_name or "",
        type=prop.type.value,
        native=native,
        ownership=prop.ownership.value,
        source=prop.source.value,
        updated=clock.date_time(updated_s),
        age=clock.age(updated_s),
    )


class PropertyDetail(VerticalScroll):
    """The selected property: header, value (pretty: JSON arrays, hex blobs, ISO
    times) and, for numbers, a sparkline of its recent values.

    Args:
        clock: formats the update time.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        mib_names: MibNames | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._mib_names = mib_names
        self._clock = clock
        self.prop: Property | None = None
        """The property shown, or ``None``."""

    def compose(self) -> ComposeResult:
        """Header, value, sparkline and its caption."""
        yield Static(id="property-header", markup=False)
        yield Static(id="property-value", markup=False)
        yield Sparkline([], id="property-spark")
        yield Static(id="property-spark-label", markup=False)

    def on_mount(self) -> None:
        """Nothing selected yet."""
        self.show(None)

    def show(
        self,
        prop: Property | None,
        *,
        history: Sequence[float] = (),
        mib_name: str | None = None,
        note: str = "",
    ) -> None:
        """Show ``prop`` (``None``: a hint, or ``note``) with its recent values."""
        self.prop = prop
        header = self.query_one("#property-header", Static)
        value = self.query_one("#property-value", Static)
        spark = self.query_one("#property-spark", Sparkline)
        caption = self.query_one("#property-spark-label", Static)
        if prop is None:
            header.update(note or "Select a property: the tree opens with enter or space.")
            value.update("")
            spark.display = caption.display = False
            return
        header.update(property_header(prop, mib_name, self._clock))
        text = display_value(prop, pretty=True)
        if self._mib_names is not None:  # as its MIB defines it, the raw value beside
            shown = display_value(prop, mib=self._mib_names.display)
            if shown != display_value(prop):
                text = f"{shown}\nraw {text}"
        if len(text) > VALUE_LIMIT:
            left = len(text) - VALUE_LIMIT
            text = f"{text[:VALUE_LIMIT]}\n… {format_count(left)} more characters not shown"
        value.update(Content.from_markup("[$text-muted]value[/]\n$text", text=text))
        numbers = list(history)
        spark.display = caption.display = len(numbers) >= 2
        if len(numbers) >= 2:
            spark.data = numbers
            caption.update(
                Content.from_markup(
                    "[$text-muted]recent values: $count, min $low, max $high[/]",
                    count=format_count(len(numbers)),
                    low=_number(min(numbers)),
                    high=_number(max(numbers)),
                )
            )

    @staticmethod
    def is_snmp(prop: Property) -> bool:
        """True for a polled SNMP value (refresh and set go to its device)."""
        return prop.interface == SNMP_INTERFACE and prop.native_type is not None


def _number(value: float) -> str:
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.6g}"
