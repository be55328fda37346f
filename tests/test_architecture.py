"""The structure a newcomer can carry on: no import cycle, no oversized module.

The import graph is grimp's (the library import-linter builds its contracts on; the
contracts themselves are in ``pyproject.toml`` and run as ``lint-imports`` in
``make test``). Every import counts: module-level, function-level (lazy) and
``if TYPE_CHECKING:`` ones, since each is a dependency a reader has to follow.

A cycle is reported at two levels:

* between modules (``a`` imports ``b``, ``b`` imports ``a``, possibly through
  others);
* between the children of one package, each child standing for itself and all its
  descendants (``console.store`` and ``console.notifications`` import each other
  when any module of one imports any module of the other, both ways).

A package's ``__init__`` importing its own submodules (re-exports) is not a cycle at
either level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("console", "widgets", "screens")
MAX_LINES = 800
#: Directories whose files are vendored sources, not fleettop's code.
VENDORED = (ROOT / "console" / "snmp" / "mibs" / "base",)


def import_graph() -> grimp.ImportGraph:
    """The import graph of fleettop's three packages (external imports left out)."""
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def strongly_connected(edges: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node, each sorted, in
    sorted order (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _module_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def _sibling_edges(graph: grimp.ImportGraph, package: str) -> dict[str, set[str]]:
    """Edges between the children of ``package``, each standing for its subtree."""
    children = graph.find_children(package)
    owner = {}
    for child in children:
        owner[child] = child
        for descendant in graph.find_descendants(child) if graph.find_children(child) else ():
            owner[descendant] = child
    edges: dict[str, set[str]] = {child: set() for child in children}
    for module, child in owner.items():
        for imported in graph.find_modules_directly_imported_by(module):
            target = owner.get(imported)
            if target is not None and target != child:
                edges[child].add(target)
    return edges


def _example(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    """One import from ``importer``'s subtree into ``imported``'s, as ``file:line``."""
    sources = sorted({importer} | set(graph.find_descendants(importer)))
    targets = {imported} | set(graph.find_descendants(imported))
    for source in sources:
        for target in sorted(graph.find_modules_directly_imported_by(source) & targets):
            details = graph.get_import_details(importer=source, imported=target)
            line = details[0]["line_number"] if details else "?"
            return f"{source} -> {target} (l.{line})"
    return f"{importer} -> {imported}"


def _describe(graph: grimp.ImportGraph, cycle: Iterable[str], edges: Mapping[str, Set[str]]) -> str:
    members = sorted(cycle)
    inside = set(members)
    hops = [
        _example(graph, node, target) for node in members for target in sorted(edges[node] & inside)
    ]
    return " <-> ".join(members) + "\n      " + "\n      ".join(hops)


def import_cycles(graph: grimp.ImportGraph) -> list[str]:
    """Every cycle among modules and among each package's children, described with
    one import per edge of the cycle."""
    cycles: list[str] = []
    module_edges = _module_edges(graph)
    for cycle in strongly_connected(module_edges):
        cycles.append("modules " + _describe(graph, cycle, module_edges))
    packages = sorted(m for m in graph.modules if graph.find_children(m))
    for package in packages:
        edges = _sibling_edges(graph, package)
        for cycle in strongly_connected(edges):
            if not any(graph.find_children(member) for member in cycle):
                continue  # plain modules only: already reported at the module level
            cycles.append(f"in {package}: " + _describe(graph, cycle, edges))
    return cycles


def test_tarjan_finds_cycles_and_ignores_chains() -> None:
    """The cycle finder itself: a chain is no cycle, a loop of three is one."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(edges) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


def _oversized() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(path.is_relative_to(vendored) for vendored in VENDORED):
                continue
            with path.open(encoding="utf-8") as handle:
                lines = sum(1 for _ in handle)
            if lines > MAX_LINES:
                found.append(f"{path.relative_to(ROOT)}: {lines} lines")
    return found


def test_no_module_over_800_lines() -> None:
    """Modules of console/, widgets/ and screens/ stay readable in one sitting
    (vendored MIB sources aside)."""
    oversized = _oversized()
    assert not oversized, f"modules over {MAX_LINES} lines:\n  " + "\n  ".join(oversized)
