"""The property tree: device → interface (major.minor) → path, loaded lazily from the
property store.

Nothing is loaded up front but the devices (one ``GROUP BY`` query with their
property counts). A device's interfaces are queried when it is expanded; an
interface's paths a page at a time (:data:`PAGE`, 500) when it is expanded, with a
``more…`` node that loads the next page when selected. So 100k properties never
become 100k tree nodes, and every query runs in a worker, never on a key press.

:meth:`PropertyTree.load` (re)builds the first level for a path filter (the store's
``path_filter``: a substring, or an MQTT-style pattern with ``+``/``#``); the
devices and interfaces that were expanded are expanded again, and when the filter
leaves at most :data:`AUTO_EXPAND` properties the whole tree is expanded. Loads
started for an older filter are dropped when they finish (a generation counter).

Live values (:meth:`PropertyTree.update_live`) update the leaves already loaded, in
place; nothing else is rebuilt.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState

from console.format import format_count, format_mib_name
from console.history import LiveValue, PropertyKey
from console.store import SNMP_INTERFACE, Property, PropertyStore
from console.store.browse import display_value
from widgets.mib_names import MibNames, NameWorker

__all__ = ["AUTO_EXPAND", "PAGE", "EntryKind", "PropertyTree", "TreeEntry", "natural_key"]

#: Paths loaded per page under an interface.
PAGE = 500
#: A filter that leaves at most this many properties expands the whole tree.
AUTO_EXPAND = 200
#: Values longer than this are cut in the tree (the detail panel shows them whole).
VALUE_WIDTH = 40
NAME_WIDTH = 28


def natural_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for ``path`` in which numbers compare as numbers: OIDs in their
    order (``/1.3.6.1.2.1.2.2.1.2.1`` before ``/1.3.6.1.2.1.2.2.1.10.1``)."""
    parts = re.split(r"(\d+)", path)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)


class EntryKind(enum.Enum):
    """What a tree node stands for."""

    DEVICE = "device"
    INTERFACE = "interface"
    PROPERTY = "property"
    MORE = "more"


@dataclass(slots=True)
class TreeEntry:
    """The data of one tree node.

    Attributes:
        kind: device, interface, property, or the ``more…`` node of a paged
            interface.
        device: the device.
        interface: the interface (interface, property and more nodes).
        major: the interface's major version.
        minor: the highest minor version stored under that major.
        count: properties under the node (matching the filter).
        prop: the property of a property node, as last loaded or updated live.
        loaded: how many children rows are loaded (paths of an interface), or 1
            for a device whose interfaces are loaded; 0: not loaded yet.
        loading: a load is running.
    """

    kind: EntryKind
    device: str
    interface: str | None = None
    major: int | None = None
    minor: int | None = None
    count: int = 0
    prop: Property | None = None
    loaded: int = 0
    loading: bool = False

    @property
    def key(self) -> PropertyKey | None:
        """``(device, interface, path)`` of a property node."""
        prop = self.prop
        return (prop.device, prop.interface, prop.path) if prop is not None else None


class PropertyTree(Tree[TreeEntry]):
    """Devices, interfaces and paths of the property store, loaded on expansion.

    Args:
        store: the open property store.
        mib_names: MIB names of SNMP paths (cached names only: never resolved here).
        page: paths loaded per page.
        auto_expand: expand everything when a filter leaves at most this many.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "property-tree--count",
        "property-tree--name",
        "property-tree--value",
        "property-tree--more",
    }

    class PropertyHighlighted(Message):
        """The cursor moved to a node: its property, or ``None`` for another node."""

        def __init__(self, prop: Property | None) -> None:
            super().__init__()
            self.prop = prop
            """The property under the cursor, or ``None``."""

    class Loaded(Message):
        """A device's interfaces or a page of paths arrived."""

    def __init__(
        self,
        store: PropertyStore,
        mib_names: MibNames,
        *,
        page: int = PAGE,
        auto_expand: int = AUTO_EXPAND,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__("properties", id=id, classes=classes)
        self.show_root = False
        self.auto_expand = True
        self._store = store
        self._mib_names = mib_names
        self._name_worker = NameWorker(self, mib_names, self._names_resolved)
        self._page = page
        self._auto_expand = auto_expand
        self.path_filter: str | None = None
        """The filter of the tree shown."""
        self.generation = 0
        """Moves on every :meth:`load`; loads of an older generation are dropped."""
        self._leaves: dict[PropertyKey, TreeNode[TreeEntry]] = {}
        self._expand_all = False
        self._expanded_before: set[tuple[object, ...]] = set()

    # -- reading --------------------------------------------------------------------

    @property
    def highlighted_property(self) -> Property | None:
        """The property under the cursor, if the cursor is on one."""
        node = self.cursor_node
        return node.data.prop if node is not None and node.data is not None else None

    def leaf(self, key: PropertyKey) -> TreeNode[TreeEntry] | None:
        """The loaded node of property ``key``, if any."""
        return self._leaves.get(key)

    @property
    def loaded_properties(self) -> int:
        """How many property nodes are loaded."""
        return len(self._leaves)

    def move_cursor(self, node: TreeNode[TreeEntry] | None, animate: bool = False) -> None:
        """Move the cursor to ``node``, also right after nodes were added (the lines
        are rebuilt first, so the node's line number is current)."""
        _ = self.last_line  # builds the lines when the tree changed since the last build
        super().move_cursor(node, animate)

    # -- the first level -------------------------------------------------------------

    async def load(self, path_filter: str | None) -> tuple[int, int]:
        """Show the devices with properties matching ``path_filter`` (``None`` or ""
        for all); return ``(shown, total)`` property counts.

        The queries run first; the tree is only touched once they succeeded (no
        await after that), so a cancelled or failed load leaves it as it was.

        Raises:
            ValueError: a malformed pattern (``/a+/b``); the tree is unchanged.
            StoreError: the store could not be read.
        """
        text = path_filter or None
        devices = await self._store.device_counts(text)
        total = await self._store.count() if text else sum(n for _, n in devices)
        shown = sum(n for _, n in devices)
        self._expanded_before = self._expanded_keys()
        self.generation += 1
        self.path_filter = text
        self._leaves.clear()
        self._expand_all = text is not None and shown <= self._auto_expand
        self.clear()
        for device, count in devices:
            node = self.root.add(
                self._device_label(device, count), TreeEntry(EntryKind.DEVICE, device, count=count)
            )
            if self._expand_all or (device,) in self._expanded_before:
                node.expand()
        self.cursor_line = 0 if devices else -1
        return shown, total

    def _expanded_keys(self) -> set[tuple[object, ...]]:
        keys: set[tuple[object, ...]] = set()
        for device in self.root.children:
            if device.is_expanded and device.data is not None:
                keys.add((device.data.device,))
                for interface in device.children:
                    entry = interface.data
                    if interface.is_expanded and entry is not None:
                        keys.add((entry.device, entry.interface, entry.major))
        return keys

    # -- lazy loads ------------------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[TreeEntry]) -> None:
        """Load a device's interfaces or an interface's first page of paths."""
        event.stop()
        entry = event.node.data
        if entry is None or entry.loaded or entry.loading:
            return
        if entry.kind is EntryKind.DEVICE or entry.kind is EntryKind.INTERFACE:
            entry.loading = True
            self.run_worker(
                self._load_children(event.node, self.generation),
                group="property-tree",
                description=f"load {entry.device} {entry.interface or ''}".rstrip(),
                exit_on_error=False,
            )

    def on_tree_node_selected(self, event: Tree.NodeSelected[TreeEntry]) -> None:
        """``more…`` loads the next page of its interface."""
        entry = event.node.data
        if entry is None or entry.kind is not EntryKind.MORE or entry.loading:
            return
        event.stop()
        parent = event.node.parent
        if parent is None or parent.data is None:
            return
        entry.loading = True
        self.run_worker(
            self._load_children(parent, self.generation),
            group="property-tree",
            description=f"load more of {entry.device} {entry.interface}",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed load is told, not raised (the tree stays as it was)."""
        if event.state is WorkerState.ERROR:
            self.notify(
                f"{event.worker.description} failed: {event.worker.error}",
                severity="error",
                markup=False,
            )

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[TreeEntry]) -> None:
        """Tell the screen which property is under the cursor."""
        event.stop()
        entry = event.node.data
        self.post_message(self.PropertyHighlighted(entry.prop if entry is not None else None))

    async def _load_children(self, node: TreeNode[TreeEntry], generation: int) -> None:
        entry = node.data
        assert entry is not None
        try:
            if entry.kind is EntryKind.DEVICE:
                interfaces = await self._store.interface_counts(entry.device, self.path_filter)
                if generation != self.generation:
                    return
                self._add_interfaces(node, interfaces)
            else:
                props = await self._store.query(
                    entry.device,
                    entry.interface,
                    self.path_filter,
                    major=entry.major,
                    limit=self._page,
                    offset=entry.loaded,
                )
                if generation != self.generation:
                    return
                self._add_paths(node, props)
        finally:
            entry.loading = False
        self.post_message(self.Loaded())

    def _add_interfaces(
        self, node: TreeNode[TreeEntry], interfaces: list[tuple[str, int, int, int]]
    ) -> None:
        entry = node.data
        assert entry is not None
        entry.loaded = 1
        node.remove_children()
        for interface, major, minor, count in interfaces:
            child = node.add(
                self._interface_label(interface, major, minor, count),
                TreeEntry(EntryKind.INTERFACE, entry.device, interface, major, minor, count),
            )
            if self._expand_all or (entry.device, interface, major) in self._expanded_before:
                child.expand()

    def _add_paths(self, node: TreeNode[TreeEntry], props: list[Property]) -> None:
        entry = node.data
        assert entry is not None
        for child in list(node.children):  # the old "more…" node
            if child.data is not None and child.data.kind is EntryKind.MORE:
                child.remove()
        if entry.loaded == 0 and len(props) >= entry.count:
            # the whole interface in one page: numbers in order (…1.2.1 before
            # …1.10.1); paged interfaces keep the store's order, page after page
            props = sorted(props, key=lambda prop: natural_key(prop.path))
        for prop in props:
            key = (prop.device, prop.interface, prop.path)
            if key in self._leaves:
                continue  # already shown (the store changed between pages)
            leaf = node.add_leaf(
                self._property_label(prop),
                TreeEntry(
                    EntryKind.PROPERTY,
                    prop.device,
                    prop.interface,
                    prop.major,
                    prop.minor,
                    prop=prop,
                ),
            )
            self._leaves[key] = leaf
        entry.loaded += len(props)
        oids = [p.path[1:] for p in props if p.interface == SNMP_INTERFACE]
        if oids:
            self._name_worker.request(oids)
        if len(props) == self._page and entry.loaded < entry.count:
            node.add_leaf(
                self._more_label(entry.loaded, entry.count),
                TreeEntry(EntryKind.MORE, entry.device, entry.interface, entry.major, entry.minor),
            )

    def _names_resolved(self, names: dict[str, str | None]) -> None:
        """Show the MIB names that arrived on the loaded SNMP leaves."""
        for key, leaf in self._leaves.items():
            if key[1] == SNMP_INTERFACE and names.get(key[2][1:]) and leaf.data:
                prop = leaf.data.prop
                if prop is not None:
                    leaf.set_label(self._property_label(prop))

    # -- changes in place ------------------------------------------------------------

    def update_live(self, values: Mapping[PropertyKey, LiveValue]) -> list[PropertyKey]:
        """Give the loaded leaves of ``values`` their new value (label and data), in
        place; return the keys updated. Unset values are left to the store's next
        query (the store keeps them until it is told otherwise)."""
        updated: list[PropertyKey] = []
        for key, live in values.items():
            leaf = self._leaves.get(key)
            if leaf is None or leaf.data is None or leaf.data.prop is None:
                continue
            if live.value is None:
                continue
            prop = dataclasses.replace(
                leaf.data.prop,
                type=live.type,
                value=live.value,
                updated_ms=live.updated_ms,
                native_type=live.native_type or leaf.data.prop.native_type,
            )
            leaf.data.prop = prop
            leaf.set_label(self._property_label(prop))
            updated.append(key)
        return updated

    def remove_property(self, key: PropertyKey) -> bool:
        """Remove the leaf of ``key`` and count it out of its interface and device;
        an interface (or device) left empty goes too. False when not loaded."""
        leaf = self._leaves.pop(key, None)
        if leaf is None:
            return False
        parent = leaf.parent
        leaf.remove()
        while parent is not None and parent.data is not None:
            entry = parent.data
            entry.count -= 1
            if entry.kind is EntryKind.INTERFACE:
                entry.loaded = max(0, entry.loaded - 1)
            grand = parent.parent
            if entry.count <= 0:
                parent.remove()
            elif entry.kind is EntryKind.DEVICE:
                parent.set_label(self._device_label(entry.device, entry.count))
            else:
                assert entry.interface is not None
                assert entry.major is not None
                parent.set_label(
                    self._interface_label(
                        entry.interface, entry.major, entry.minor or 0, entry.count
                    )
                )
            parent = grand
        self.cursor_line = self.cursor_line  # the node under the cursor changed: say so
        return True

    # -- labels ----------------------------------------------------------------------

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True, default=Style())

    def _device_label(self, device: str, count: int) -> Text:
        return Text.assemble(
            (device, "bold"), ("  ", ""), (format_count(count), self._style("property-tree--count"))
        )

    def _interface_label(self, interface: str, major: int, minor: int, count: int) -> Text:
        return Text.assemble(
            interface,
            (f"  v{major}.{minor}", self._style("property-tree--name")),
            ("  ", ""),
            (format_count(count), self._style("property-tree--count")),
        )

    def _property_label(self, prop: Property) -> Text:
        label = Text(prop.path)
        if prop.interface == SNMP_INTERFACE:
            name = self._mib_names.get(prop.path[1:])
            if name:
                label.append(
                    f"  {format_mib_name(name, NAME_WIDTH)}", self._style("property-tree--name")
                )
        label.append("  ")
        shown = display_value(prop, width=VALUE_WIDTH, mib=self._mib_names.display)
        label.append(shown, self._style("property-tree--value"))
        return label

    def _more_label(self, loaded: int, count: int) -> Text:
        return Text(
            f"more… ({format_count(loaded)} of {format_count(count)} shown: enter loads"
            f" {format_count(min(self._page, count - loaded))} more)",
            style=self._style("property-tree--more"),
        )
