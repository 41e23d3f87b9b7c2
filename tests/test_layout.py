"""The package's layout: no module of ``cpbkg`` imports itself back, however indirectly.

Every ``.py`` file under ``cpbkg/`` is read with :mod:`ast` (nothing is imported), and each
``import``/``from ... import`` of a ``cpbkg`` module becomes an edge of a graph -- at module level
and inside functions alike, since a function-level import only postpones a cycle to the first
call. Imports under ``if TYPE_CHECKING:`` are left out: they never run, and they are the way to
name a type across a dependency that points the other way. Imports by name at run time
(``importlib.import_module``) are not seen.

A cycle fails the test with each module of it and the file and line of each import that closes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "cpbkg"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` of its file."""

    source: str
    target: str
    line: int


def modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """The modules of the package under ``root``, by dotted name (packages by their ``__init__``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """The names a module imports that run: module level and function level, not TYPE_CHECKING blocks."""

    def __init__(self, package: str) -> None:
        #: the package relative imports start from
        self.package = package
        self.found: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _type_checking(node):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(alias.name, node.lineno) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        # ``from pkg import name``: the submodule pkg.name if there is one, else pkg itself
        self.found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]


def _resolve(name: str, known: Mapping[str, Path]) -> str | None:
    """The module a dotted name stands for (its longest prefix that is a module), if one of ours."""
    while name not in known:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def import_graph(known: Mapping[str, Path]) -> dict[str, list[Edge]]:
    """Each module's imports of other modules of ``known``."""
    graph: dict[str, list[Edge]] = {}
    for name, path in known.items():
        visitor = _Imports(name if path.name == "__init__.py" else name.rpartition(".")[0])
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        edges: dict[str, Edge] = {}
        for imported, line in visitor.found:
            target = _resolve(imported, known)
            if target is not None and target != name and target not in edges:
                edges[target] = Edge(name, target, line)
        graph[name] = list(edges.values())
    return graph


def strongly_connected(graph: Mapping[str, list[Edge]]) -> Iterator[list[str]]:
    """The groups of two or more modules that each reach all the others (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            edge = next(edges, None)
            if edge is not None:
                if edge.target not in index:
                    index[edge.target] = low[edge.target] = len(index)
                    stack.append(edge.target)
                    on_stack.add(edge.target)
                    work.append((edge.target, iter(graph[edge.target])))
                elif edge.target in on_stack:
                    low[node] = min(low[node], index[edge.target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    yield sorted(group)


def cycle_in(group: list[str], graph: Mapping[str, list[Edge]]) -> list[Edge]:
    """One shortest import cycle through the first module of a strongly connected group."""
    members = set(group)
    start = group[0]
    came: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for edge in graph[node]:
                if edge.target not in members:
                    continue
                if edge.target == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    return path
                if edge.target not in came:
                    came[edge.target] = edge
                    following.append(edge.target)
        frontier = following
    raise AssertionError(f"{group} is not a cycle")


def cycles(root: Path, package: str = PACKAGE) -> list[str]:
    """Every import cycle of the package, one line each: ``a -> b (a.py:3) -> a (b.py:9)``."""
    known = modules(root, package)
    graph = import_graph(known)
    found = []
    for group in strongly_connected(graph):
        path = cycle_in(group, graph)
        steps = [f"{e.target} ({known[e.source].relative_to(root.parent)}:{e.line})" for e in path]
        found.append(f"{path[0].source} -> " + " -> ".join(steps)
                     + (f"  [{len(group)} modules in all: {', '.join(group)}]" if len(group) > len(path) else ""))
    return found


def test_the_package_has_no_import_cycle() -> None:
    known = modules(ROOT)
    assert len(known) > 50 and "cpbkg.web.app" in known and "cpbkg.web.routes.admin" in known
    found = cycles(ROOT)
    assert found == [], "import cycles (move what both sides need to where it belongs):\n" + "\n".join(found)


def test_the_check_finds_a_cycle_and_names_it(tmp_path: Path) -> None:
    """A package whose cycle closes at function level, through a relative import, and a type-only
    import back that does not count."""
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "a.py").write_text("import os\nfrom pkg.sub import b\n")
    (root / "sub" / "b.py").write_text("def f():\n    from .c import g\n    return g\n")
    (root / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
                                       "def g():\n    import pkg.a\n")
    (root / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n")
    assert cycles(root, "pkg") == [
        "pkg.a -> pkg.sub.b (pkg/a.py:2) -> pkg.sub.c (pkg/sub/b.py:2) -> pkg.a (pkg/sub/c.py:5)"]
    (root / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    assert cycles(root, "pkg") == []
