"""The MIB browser: the loaded modules as a tree, a search, and what the MIB says of
the selected object; from there, get it, walk it, open its table or poll it.

Opened by ``M`` (``nav.mibs``) from any screen or ``:mibs [TEXT]`` on the command
line. The left pane is a :class:`~widgets.mib_tree.MibTreeView` over a
:class:`~console.snmp.mibtree.MibTree` (modules in name order, opened lazily,
objects nested by OID); the right pane shows the selected object's OID, module,
SYNTAX with its enumerations, ranges and sizes, DISPLAY-HINT, MAX-ACCESS, STATUS,
UNITS, INDEX or AUGMENTS, OBJECTS, the NOTIFICATION-TYPEs that carry it and its
DESCRIPTION (:func:`~console.snmp.mibtree.detail_fields`).

The search (``/``) matches names and OIDs (:meth:`~console.snmp.mibmeta.MibInfo.search`)
and the DESCRIPTION texts (:class:`~console.snmp.mibtexts.MibTexts`); ``enter`` on a
match shows it in its module. Everything that reads the MIBs runs in thread workers:
the modules are the runtime's resolver's (loaded already, or loaded now; modules
compiled in the background join the tree once loaded), the texts
are read from the sources the first time the browser opens (about a second for
~500 modules, while the tree is already usable) and kept for the next time.

The device the actions use is the one picked at the top (the one the browser was
opened from, at first): ``g`` GETs a scalar's instance ``.0`` (a column: asks for
the instance, the name filled in), ``W`` walks the object's subtree, ``t`` opens
its table (:mod:`screens.table`), ``a`` adds it to the device's polling list (a
column: asks for the instance).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Select, Static

from console.format import format_count
from console.snmp.mibmeta import MibInfo, MibObject
from console.snmp.mibtexts import MibTexts, reflow
from console.snmp.mibtree import MibRow, MibTree, detail_fields
from screens.base import ScreenContext
from screens.controllers.snmp import GET, POLL_ADD, WALK
from screens.get import OidPromptScreen
from screens.table import TABLE_BINDING, open_table
from screens.walk import WalkScreen
from widgets.mib_tree import MibTreeView

__all__ = ["SEARCH_DELAY", "MibBrowserScreen", "mib_texts", "open_browser", "search_objects"]

#: Seconds after the last keystroke in the search before it runs.
SEARCH_DELAY = 0.15
#: Most matches a search shows.
SEARCH_LIMIT = 500
#: Seconds between two checks that the resolver loaded more modules meanwhile.
GENERATION_CHECK_S = 2.0
TABLE_KINDS = frozenset({"table", "row", "column"})

_texts_lock = threading.Lock()
_texts_cache: dict[tuple[str, ...], MibTexts] = {}


def text_sources(source: object | None) -> tuple[list[Path], list[Path]]:
    """The MIB sources and pysnmp's compiled modules a resolver's texts come from:
    its compiled ``mib_paths`` sources, fleettop's vendored base modules, pysnmp's
    bundled modules, and the pysnmp-mibs modules it loaded (IP-MIB, UPS-MIB...)."""
    from console.snmp.mibs import BASE_DIR

    sources: list[Path] = []
    compiled = getattr(source, "compiled", None)
    for path in getattr(compiled, "sources", {}).values():
        sources.append(Path(path))
    sources.append(BASE_DIR)
    bundled: list[Path] = []
    try:
        import pysnmp.smi.mibs as pysnmp_mibs

        bundled.append(Path(pysnmp_mibs.__file__).parent)
    except ImportError:  # pragma: no cover - pysnmp is a dependency
        pass
    loaded = getattr(source, "modules", ())
    try:
        import pysnmp_mibs as misc  # type: ignore[import-untyped]

        misc_dir = Path(misc.__file__).parent
        bundled.extend(p for m in loaded if (p := misc_dir / f"{m}.py").is_file())
    except ImportError:  # pragma: no cover - pysnmp-mibs is a dependency
        pass
    return sources, bundled


def mib_texts(source: object | None) -> MibTexts:
    """The DESCRIPTION texts of ``source``'s modules (a
    :class:`~console.snmp.mib.MibResolver`), read once per set of sources and kept
    (blocking: call it in a worker thread)."""
    sources, bundled = text_sources(source)
    key = tuple(str(p) for p in (*sources, *bundled))
    with _texts_lock:
        found = _texts_cache.get(key)
        if found is None:
            found = _texts_cache[key] = MibTexts.from_sources(sources, bundled)
        return found


def _load_info(source: object | None) -> MibInfo | None:
    """The resolver's :class:`MibInfo`, warmed for the browser (the index of
    notifications built here, in the thread)."""
    info = getattr(source, "info", None)
    if isinstance(info, MibInfo):
        info.notifications_carrying("", "")
        return info
    return None


def open_browser(app: App[Any], context: ScreenContext, devices_mode: str, search: str) -> None:
    """Push the MIB browser over ``app``'s current screen, its actions on that
    screen's device (its ``device`` attribute), else on the device highlighted on the
    Devices screen (the base of ``devices_mode``); ``search`` runs at once."""
    from screens.devices import DevicesScreen
    from widgets.device_table import DeviceTable

    device = getattr(app.screen, "device", None)
    if not isinstance(device, str):
        base = app.get_screen_stack(devices_mode)[0]
        device = (
            base.query_one(DeviceTable).highlighted_device
            if isinstance(base, DevicesScreen)
            else None
        )
    app.push_screen(MibBrowserScreen(context, device, search))


class MibBrowserScreen(Screen[None]):
    """Browse the loaded MIB modules; act on the selected object.

    Args:
        context: the screen context (operator, MIB names, devices).
        device: the device the actions use at first (``None``: the first SNMP
            device configured).
        search: a search to run at once (``:mibs TEXT``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen"),
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            id="mibs.search",
            tooltip="Search names, OIDs and DESCRIPTION texts; enter or escape back to the tree",
        ),
        GET,
        WALK,
        TABLE_BINDING,
        POLL_ADD,
    ]

    def __init__(self, context: ScreenContext, device: str | None = None, search: str = "") -> None:
        super().__init__(id="mibs")
        self.context = context
        self.title = "fleettop"
        self.sub_title = "MIBs"
        self._devices = [d.name for d in context.devices if d.snmp is not None]
        self._device = device if device in self._devices else None
        if self._device is None and self._devices:
            self._device = self._devices[0]
        self._search = search
        self._source: object | None = None
        self.mib_tree: MibTree | None = None
        """The tree, once the modules are loaded."""
        self.texts: MibTexts | None = None
        """The DESCRIPTION texts, once read."""
        self._search_timer: Timer | None = None
        self._generation = 0
        self._selected: MibObject | None = None

    def compose(self) -> ComposeResult:
        """Header, the device and the search, the tree beside the detail, the info
        line and the footer."""
        yield Header(icon="◆")
        with Horizontal(id="mibs-top"):
            yield Label("device", classes="mibs-label")
            yield Select[str](
                [(name, name) for name in self._devices],
                value=self._device if self._device is not None else Select.NULL,
                allow_blank=self._device is None,
                prompt="no SNMP device",
                id="mibs-device",
            )
            yield Input(
                self._search,
                placeholder="/ search: a name, an OID or words of a DESCRIPTION",
                id="mibs-search",
            )
        with Horizontal(id="mibs-body"):
            yield MibTreeView(id="mibs-tree")
            with VerticalScroll(id="mibs-detail-scroll"):
                yield Static(id="mibs-detail")
        yield Static("loading the MIB modules…", id="mibs-info", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Load the modules (and then the texts) in threads; the tree has the focus."""
        self.query_one(MibTreeView).focus()
        self._load()
        self.set_interval(GENERATION_CHECK_S, self._check_generation)

    # -- loading ------------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="mibs-load",
        exit_on_error=False,
        description="load the MIB browser",
    )
    def _load(self) -> None:
        names = self.context.mib_names
        source = names.with_source(lambda found: found)
        self._generation = getattr(source, "generation", 0)
        info = names.with_source(_load_info)
        self._source = source
        tree = MibTree(info) if info is not None else None
        self.app.call_from_thread(self._loaded, tree)
        if info is not None:
            texts = mib_texts(source)
            self.app.call_from_thread(self._texts_loaded, texts)

    def _check_generation(self) -> None:
        """Load the tree again when the resolver loaded more modules (those compiled
        in the background), keeping the open levels and the search."""
        generation = getattr(self._source, "generation", None)
        if generation is not None and generation != self._generation:
            self._generation = generation
            self._load()

    def _loaded(self, tree: MibTree | None) -> None:
        if not self.is_attached:  # the operator left meanwhile
            return
        if tree is not None and self.mib_tree is not None:
            tree.keep_open(self.mib_tree)
        self.mib_tree = tree
        if tree is None:
            self._info("No MIB modules are loaded: names and the browser are unavailable.")
            return
        self._show_info()
        if self._search.strip():
            self._run_search()
        else:
            self._show_rows()

    def _texts_loaded(self, texts: MibTexts) -> None:
        self.texts = texts
        if not self.is_attached:
            return
        self._show_info()
        if self._search.strip():
            self._run_search()
        self._show_detail()

    def _show_info(self) -> None:
        tree = self.mib_tree
        if tree is None:
            return
        texts = (
            f"{format_count(len(self.texts))} DESCRIPTION texts"
            if self.texts is not None
            else "reading DESCRIPTION texts…"
        )
        pending = getattr(self._source, "pending", ())
        compiling = (
            f" · {format_count(len(pending))} more compiling (shown when loaded)" if pending else ""
        )
        self._info(
            f"{format_count(len(tree.modules))} modules, {format_count(len(tree.info))} objects"
            f"{compiling} · {texts} · enter opens · / searches · g get · W walk · t table · a poll"
        )

    def _info(self, text: str) -> None:
        self.query_one("#mibs-info", Static).update(text)

    # -- the tree -----------------------------------------------------------------

    def _show_rows(self, select: str | None = None) -> None:
        if self.mib_tree is not None:
            self.query_one(MibTreeView).set_rows(self.mib_tree.rows(), select=select)

    def on_mib_tree_view_toggled(self, message: MibTreeView.Toggled) -> None:
        """Open or close a row; on a search match, show it in its module's tree."""
        tree = self.mib_tree
        if tree is None:
            return
        row = message.row
        if tree.searching:
            if row.obj is not None:
                self.reveal(row.obj)
            return
        if tree.toggle(row.key, message.expanded):
            self._show_rows(select=row.key)

    def reveal(self, obj: MibObject) -> None:
        """Leave the search and put the cursor on ``obj`` in its module."""
        if self.mib_tree is None:
            return
        self.mib_tree.reveal(obj)
        search = self.query_one("#mibs-search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        self._search = ""
        self._show_rows(select=obj.qualified)
        self.query_one(MibTreeView).focus()

    def select(self, module: str, name: str) -> bool:
        """Show ``module::name`` in the tree, the cursor on it; False when unknown."""
        tree = self.mib_tree
        obj = tree.info.named(module, name) if tree is not None else None
        if obj is None:
            return False
        self.reveal(obj)
        return True

    def on_mib_tree_view_highlighted(self, message: MibTreeView.Highlighted) -> None:
        """Show what the MIB says of the row under the cursor."""
        row = message.row
        self._selected = row.obj if row is not None else None
        self._show_detail(row)

    @property
    def selected(self) -> MibObject | None:
        """The object under the cursor (``None``: a module, or nothing)."""
        return self._selected

    def _show_detail(self, row: MibRow | None = None) -> None:
        if row is None:
            row = self.query_one(MibTreeView).highlighted
        detail = self.query_one("#mibs-detail", Static)
        tree = self.mib_tree
        if row is None or tree is None:
            detail.update("")
            return
        if row.obj is None:
            count = len(tree.nested(row.module).get(None, ())) if row.expanded else None
            detail.update(
                Content.from_markup(
                    "[b]$module[/]\n$count", module=row.module, count=_module_count(count)
                )
            )
            return
        obj = row.obj
        description = self.texts.description(obj.module, obj.name) if self.texts else ""
        if not description and self.texts is None:
            description = "(reading the DESCRIPTION texts…)"
        detail.update(detail_content(obj, tree.info, description))

    # -- the search ---------------------------------------------------------------

    def action_search(self) -> None:
        """Focus the search field."""
        self.query_one("#mibs-search", Input).focus()

    @on(Input.Changed, "#mibs-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._search = event.value
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._run_search)

    @on(Input.Submitted, "#mibs-search")
    def _search_submitted(self) -> None:
        self.query_one(MibTreeView).focus()

    def _run_search(self) -> None:
        tree = self.mib_tree
        if tree is None:
            return
        text = self._search.strip()
        if not text:
            tree.show_matches(None)
            self._show_rows()
            return
        self._search_worker(tree, text, self.texts)

    @work(
        thread=True,
        exclusive=True,
        group="mibs-search",
        exit_on_error=False,
        description="search the MIBs",
    )
    def _search_worker(self, tree: MibTree, text: str, texts: MibTexts | None) -> None:
        matches = search_objects(tree.info, texts, text)
        self.app.call_from_thread(self._searched, text, matches)

    def _searched(self, text: str, matches: list[MibObject]) -> None:
        tree = self.mib_tree
        if tree is None or text != self._search.strip() or not self.is_attached:
            return  # a newer search is on its way, or the operator left
        tree.show_matches(matches)
        self._show_rows()
        found = len(matches)
        more = "+" if found >= SEARCH_LIMIT else ""
        where = "names, OIDs and texts" if self.texts is not None else "names and OIDs"
        self._info(
            f"{format_count(found)}{more} matches of {text!r} in {where}"
            " · enter shows one in its module · escape leaves the search"
        )

    # -- the actions --------------------------------------------------------------

    @on(Select.Changed, "#mibs-device")
    def _device_changed(self, event: Select.Changed) -> None:
        self._device = str(event.value) if event.value != Select.NULL else None

    @property
    def device(self) -> str | None:
        """The device the actions use."""
        return self._device

    def _target(self) -> tuple[str, MibObject] | None:
        obj = self._selected
        operator = self.context.operator
        if obj is None:
            operator.notify("select an object of a module first", severity="warning")
            return None
        if self._device is None:
            operator.notify("no SNMP device to use", severity="warning")
            return None
        return self._device, obj

    async def _instance(self, device: str, obj: MibObject, verb: str) -> str | None:
        """The instance OID of ``obj`` to read or poll: ``.0`` of a scalar, asked for
        a column (the name filled in); ``None`` (the operator is told) otherwise."""
        oid = ".".join(map(str, obj.oid))
        if obj.kind == "scalar":
            return f"{oid}.0"
        if obj.kind == "column":
            prompt = OidPromptScreen(
                f"{verb} an instance of {obj.qualified} on {device}",
                self.context.mib_names,
                f"{obj.qualified}.",
                verb=verb,
            )
            return await self.app.push_screen_wait(prompt)
        hint = "t opens it, W walks it" if obj.kind in TABLE_KINDS else "W walks it"
        self.context.operator.notify(
            f"{obj.qualified} is a {obj.kind}, not a value: {hint}", severity="warning"
        )
        return None

    @work(exclusive=True, group="dialog", exit_on_error=False, description="get")
    async def action_get(self) -> None:
        """GET the selected object on the device (a scalar's ``.0``; a column: the
        instance asked for)."""
        if (target := self._target()) is None:
            return
        device, obj = target
        if not obj.readable and obj.kind in ("scalar", "column"):
            self.context.operator.notify(
                f"{obj.qualified} is {obj.access}: an agent does not return it to a GET",
                severity="warning",
            )
            return
        oid = await self._instance(device, obj, "Get")
        if oid is not None:
            self.context.operator.read(device, oid)

    def action_walk(self) -> None:
        """Walk the selected object's subtree on the device."""
        if (target := self._target()) is None:
            return
        device, obj = target
        if self.context.operator.backend(device) is None:
            return
        self.app.push_screen(WalkScreen(self.context, device, ".".join(map(str, obj.oid))))

    def action_table(self) -> None:
        """Open the selected table (or the table of a row or column) on the device."""
        if (target := self._target()) is None:
            return
        device, obj = target
        if obj.kind not in TABLE_KINDS:
            self.context.operator.notify(
                f"{obj.qualified} is a {obj.kind}, not part of a table", severity="warning"
            )
            return
        open_table(self.app, self.context, device, ".".join(map(str, obj.oid)))

    @work(exclusive=True, group="dialog", exit_on_error=False, description="poll")
    async def action_poll_add(self) -> None:
        """Add the selected object to the device's polling list (a column: the
        instance asked for)."""
        if (target := self._target()) is None:
            return
        device, obj = target
        oid = await self._instance(device, obj, "Poll")
        if oid is not None:
            self.context.operator.add_polling(device, oid)

    def action_back(self) -> None:
        """Leave the search (from the search field or a search's matches), else go
        back to the previous screen."""
        search = self.query_one("#mibs-search", Input)
        if search.has_focus or (self.mib_tree is not None and self.mib_tree.searching):
            if search.value:
                search.value = ""
            self._search = ""
            self._run_search()
            self.query_one(MibTreeView).focus()
            return
        self.dismiss()


def _module_count(count: int | None) -> str:
    if count is None:
        return "module · enter opens it"
    return f"module · {format_count(count)} top-level objects"


def search_objects(info: MibInfo, texts: MibTexts | None, text: str) -> list[MibObject]:
    """The objects whose name contains ``text`` or whose OID starts with it, then
    those whose DESCRIPTION contains it (any case), without repeats, at most
    :data:`SEARCH_LIMIT`; ``MODULE::name`` (as the screens show names; an instance
    suffix is ignored): the names of that module that contain ``name``."""
    module, qualified, name = text.strip().partition("::")
    name = name.partition(".")[0]
    if qualified:  # MODULE::name as the screens write it: that module's names
        folded = module.casefold()
        if name:
            found = info.search(name, limit=SEARCH_LIMIT * 4)
        else:
            modules = [m for m in info.modules if m.casefold() == folded]
            found = [obj for m in modules for obj in info.module_objects(m)]
        return [o for o in found if o.module.casefold() == folded][:SEARCH_LIMIT]
    matches = info.search(text, limit=SEARCH_LIMIT)
    seen = {obj.qualified for obj in matches}
    if texts is not None and len(matches) < SEARCH_LIMIT:
        for module, name in texts.search(text, limit=SEARCH_LIMIT):
            obj = info.named(module, name)
            if obj is not None and obj.qualified not in seen:
                seen.add(obj.qualified)
                matches.append(obj)
                if len(matches) >= SEARCH_LIMIT:
                    break
    return matches


def detail_content(obj: MibObject, info: MibInfo, description: str) -> Content:
    """The detail pane of ``obj``: its qualified name, then one field a line
    (:func:`~console.snmp.mibtree.detail_fields`), the DESCRIPTION last."""
    parts: list[Content] = [Content.from_markup("[b $accent]$name[/]\n", name=obj.qualified)]
    for field, text in detail_fields(obj, info, description):
        if field == "DESCRIPTION":
            parts.append(Content.from_markup("\n[b]DESCRIPTION[/]\n"))
            parts.append(Content(reflow(text)))
            continue
        parts.append(Content.from_markup("[$text-muted]$field[/] ", field=f"{field:<13}"))
        parts.append(Content(f"{text}\n"))
    return Content("").join(parts)
