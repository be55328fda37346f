"""The property pane: the filter, the property tree and the detail of the property
under the cursor, with the live values of the loaded leaves."""

from __future__ import annotations

import asyncio
import re
import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Static

from console.format import Clock, format_count
from console.history import LiveValue, PropertyKey, ValueHistory, numeric
from console.store import SNMP_INTERFACE, Property, PropertyStore
from widgets.mib_names import MibNames, NameWorker
from widgets.property_detail import PropertyDetail
from widgets.property_tree import PropertyTree

__all__ = ["AUTO_RELOAD_SECONDS", "FILTER_DELAY", "FILTER_HINT", "PropertyPane"]

#: Seconds the filter waits after the last keystroke before it queries the store.
FILTER_DELAY = 0.15
#: An empty tree reloads by itself when live values arrive, at most this often (s).
AUTO_RELOAD_SECONDS = 1.0

FILTER_HINT = "filter paths: a substring (1.3.6.1.2.1.2.), or +/# wildcards (/+/value, /sensors/#)"

#: A MIB object name as the tree shows it (``ifInOctets.1``, ``IF-MIB::ifInOctets``):
#: camelCase, with an optional module and index. "temp" is a path substring.
MIB_NAME = re.compile(r"^(?:[A-Za-z][\w-]*::)?[a-z][a-z0-9]*[A-Z][\w-]*(?:\.\d+)*$")


class PropertyPane(Vertical):
    """The filter bar over the tree and the detail (see the module docstring).

    The filter (a substring, or an MQTT-style pattern with ``+``/``#`` on paths) is
    applied as you type after :attr:`filter_delay` in an exclusive worker, with the
    ``shown/total`` counts. Live values (:meth:`show_live`) update the loaded leaves
    in place; while the screen is hidden they wait (:meth:`hold`).

    Args:
        store: the property store browsed.
        mib_names: names of SNMP OIDs.
        clock: formats the times.
        history: recent numeric values per property (the fleet state's).
        filter_delay: seconds between the last keystroke and the query.
    """

    def __init__(
        self,
        store: PropertyStore,
        mib_names: MibNames,
        clock: Clock,
        history: ValueHistory,
        *,
        filter_delay: float = FILTER_DELAY,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._store = store
        self._mib_names = mib_names
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self._clock = clock
        self.history = history
        """Recent numeric values per property."""
        self.filter_delay = filter_delay
        """Seconds between the last keystroke and the query."""
        self.shown = 0
        """Properties matching the filter, at the last load."""
        self.total = 0
        """Properties in the store, at the last load."""
        self.filter_shown: str | None = None
        """The filter text of the tree shown (``None`` before the first load)."""
        self.filter_error: str | None = None
        """Why the last filter was refused (a malformed pattern), or ``None``."""
        self.path_filter: str | None = None
        """The path filter the store applied at the last load: the text typed, or
        ``/OID`` for a MIB name (``None``: every property)."""
        self.tree_updated_at = 0.0
        """``time.perf_counter()`` when the tree was last rebuilt (benchmarks)."""
        self._pending: dict[PropertyKey, LiveValue] = {}
        self._restore: PropertyKey | None = None
        self._loading = False
        self._auto_loaded = 0.0

    def compose(self) -> ComposeResult:
        """The filter bar, then the tree beside the detail."""
        with Horizontal(id="property-filter-bar"):
            yield Input(placeholder=FILTER_HINT, id="property-filter")
            yield Static(id="property-counts", markup=False)
        with Horizontal(id="property-main"):
            yield PropertyTree(self._store, self._mib_names, id="property-tree")
            yield PropertyDetail(self._clock, mib_names=self._mib_names, id="property-detail")

    @property
    def property_tree(self) -> PropertyTree:
        """The property tree."""
        return self.query_one(PropertyTree)

    @property
    def selected(self) -> Property | None:
        """The property under the cursor, or ``None``."""
        return self.property_tree.highlighted_property

    # -- loading ----------------------------------------------------------------------

    def start(self) -> None:
        """Focus the tree and load the devices."""
        self.property_tree.focus()
        self.filter("", 0.0)

    def reload(self) -> None:
        """Load the tree again for the current filter text (keeps what was expanded)."""
        self.filter(self.query_one("#property-filter", Input).value, 0.0)

    def focus_filter(self) -> None:
        """Move the focus to the filter."""
        self.query_one("#property-filter", Input).focus()

    @on(Input.Changed, "#property-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter(event.value, self.filter_delay)

    @on(Input.Submitted, "#property-filter")
    def _filter_submitted(self) -> None:
        self.property_tree.focus()

    @work(exclusive=True, group="property-filter", exit_on_error=False, description="filter")
    async def filter(self, text: str, delay: float) -> None:
        """Wait ``delay`` (a newer keystroke cancels this worker), then rebuild the
        tree for ``text`` and show the counts."""
        if delay > 0:
            await asyncio.sleep(delay)
        tree = self.property_tree
        selected = tree.highlighted_property
        query = await self._path_filter(text.strip())
        self._loading = True
        try:
            shown, total = await tree.load(query)
        except ValueError as exc:
            self.filter_error = str(exc)
            self._show_counts()
            return
        finally:
            self._loading = False
        self.filter_error = None
        self.path_filter = query
        self.shown, self.total, self.filter_shown = shown, total, text.strip()
        self.tree_updated_at = time.perf_counter()
        if selected is not None:
            self._restore = (selected.device, selected.interface, selected.path)
        self._show_counts()

    async def _path_filter(self, text: str) -> str | None:
        """The store's path filter for ``text``: a MIB name the tree shows
        (``ifInOctets.1``) becomes its OID, anything else is a path substring or
        pattern."""
        if not text:
            return None
        if MIB_NAME.match(text):
            try:
                return "/" + await asyncio.to_thread(self._mib_names.lookup, text)
            except ValueError:
                pass  # not a known name: a path substring after all
        return text

    def _show_counts(self) -> None:
        counts = self.query_one("#property-counts", Static)
        if self.filter_error is not None:
            counts.update(
                Content.from_markup("[$error]bad filter: $error[/]", error=self.filter_error)
            )
            return
        counts.update(
            Content.from_markup(
                "[b]$shown[/] / $total properties",
                shown=format_count(self.shown),
                total=format_count(self.total),
            )
        )

    def removed(self, key: PropertyKey) -> None:
        """The property ``key`` left the store: take it off the tree and the counts."""
        if self.property_tree.remove_property(key):
            self.shown = max(0, self.shown - 1)
            self.total = max(0, self.total - 1)
            self._show_counts()

    # -- live values ------------------------------------------------------------------

    def hold(self, values: dict[PropertyKey, LiveValue]) -> None:
        """Keep the new values of loaded leaves until :meth:`catch_up` (hidden)."""
        tree = self.property_tree
        for key, live in values.items():
            if tree.leaf(key) is not None:
                self._pending[key] = live

    def catch_up(self) -> None:
        """Show the values held while hidden; load the tree if it is empty."""
        pending, self._pending = self._pending, {}
        if pending:
            self._apply_live(pending)
        if not self.property_tree.root.children:
            self.reload()

    def show_live(self, values: dict[PropertyKey, LiveValue]) -> None:
        """Update the loaded leaves (and the detail) in place; the first values of a
        store that was empty load the tree (at most once a second, never over a load
        already running)."""
        if not self.property_tree.root.children and self.filter_shown == "":
            now = time.monotonic()
            if not self._loading and now - self._auto_loaded >= AUTO_RELOAD_SECONDS:
                self._auto_loaded = now
                self.filter("", 0.0)
            return
        self._apply_live(values)

    def _apply_live(self, values: dict[PropertyKey, LiveValue]) -> None:
        updated = self.property_tree.update_live(values)
        selected = self.selected
        if selected is not None and (selected.device, selected.interface, selected.path) in updated:
            self._show_detail(selected)

    # -- the detail -------------------------------------------------------------------

    def on_property_tree_property_highlighted(
        self, message: PropertyTree.PropertyHighlighted
    ) -> None:
        """Show the property under the cursor."""
        self._show_detail(message.prop)

    def on_property_tree_loaded(self, message: PropertyTree.Loaded) -> None:
        """Put the cursor back on the property it was on before a reload."""
        if self._restore is None:
            return
        tree = self.property_tree
        leaf = tree.leaf(self._restore)
        if leaf is not None:
            self._restore = None
            tree.move_cursor(leaf)

    def _show_detail(self, prop: Property | None) -> None:
        detail = self.query_one(PropertyDetail)
        if prop is None:
            detail.show(None)
            return
        key = (prop.device, prop.interface, prop.path)
        history = self.history.values(key)
        current = numeric(prop.value)
        if current is not None and (not history or history[-1] != current):
            history = [*history, current]
        name = None
        if prop.interface == SNMP_INTERFACE:
            oid = prop.path[1:]
            name = self._mib_names.get(oid)
            if name is None:
                self._name_worker.request([oid])
        detail.show(prop, history=history, mib_name=name)

    def _names_resolved(self, _names: dict[str, str | None]) -> None:
        self._show_detail(self.selected)
