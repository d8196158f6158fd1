"""The import contract of the production package, from its import graph (grimp, no servers):
``plugins/dw`` imports nothing from ``devstack`` (the local stand-ins), and the modules of
``dw`` import each other without cycles. Every import counts, including those inside functions
and under ``TYPE_CHECKING``."""

from __future__ import annotations

import functools

import grimp
import pytest

@functools.cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("dw", "devstack", cache_dir=None)


def where(importer: str, imported: str) -> str:
    """``importer`` line N: ``import statement`` for each place ``importer`` imports ``imported``."""
    details = graph().get_import_details(importer=importer, imported=imported)
    return "; ".join(f"{d['importer']} line {d['line_number']}: {d['line_contents']}" for d in details) or (
        f"{importer} imports {imported}")


def dw_modules() -> set[str]:
    return {"dw", *graph().find_descendants("dw")}


def dw_edges() -> dict[str, list[str]]:
    g, mods = graph(), dw_modules()
    return {m: sorted(i for i in g.find_modules_directly_imported_by(m) if i in mods) for m in sorted(mods)}


def components() -> list[list[str]]:
    """The strongly connected components of the modules of ``dw`` that hold a cycle: more than
    one module, or a module importing itself."""
    edges = dw_edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                found.append(sorted(comp))

    for m in edges:
        if m not in index:
            connect(m)
    return found


def cycles() -> list[list[str]]:
    """One shortest cycle ``[m1, m2, ..., m1]`` per component of ``components()``."""
    edges = dw_edges()
    out = []
    for comp in components():
        inside, start = set(comp), comp[0]
        paths = {start: [start]}
        frontier = [start]
        found = None
        while frontier and not found:  # breadth first: the shortest way back to start
            nxt = []
            for v in frontier:
                for w in edges[v]:
                    if w == start:
                        found = paths[v] + [start]
                        break
                    if w in inside and w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        out.append(found)
    return out


def describe(cycle: list[str]) -> str:
    return " -> ".join(cycle) + "\n" + "\n".join(
        f"    {where(a, b)}" for a, b in zip(cycle, cycle[1:]))


def test_dw_imports_nothing_from_devstack():
    g = graph()
    offending = sorted(
        (importer, imported)
        for imported in {"devstack", *g.find_descendants("devstack")}
        for importer in g.find_modules_that_directly_import(imported)
        if importer == "dw" or importer.startswith("dw.")
    )
    assert not offending, "plugins/dw must import nothing from devstack (the local stand-ins):\n" + "\n".join(
        f"  {where(a, b)}" for a, b in offending)


def test_devstack_has_no_import_cycles():
    g = graph()
    mods = {"devstack", *g.find_descendants("devstack")}
    for m in sorted(mods):
        for i in g.find_modules_directly_imported_by(m):
            if i in mods and g.chain_exists(importer=i, imported=m):
                chain = g.find_shortest_chain(importer=i, imported=m)
                pytest.fail("devstack has an import cycle:\n" + describe([m, *chain]))


def test_dw_has_no_import_cycles():
    found = cycles()
    assert not found, "plugins/dw has import cycles:\n" + "\n".join(describe(c) for c in found)

