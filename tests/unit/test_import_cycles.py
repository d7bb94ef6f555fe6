"""No import circle anywhere in the product, the development helpers or the emulators. Every import
is an edge, wherever it stands: inside a function, under `TYPE_CHECKING`, relative or absolute (an
import hidden in a function still ties the two modules together)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

from safepassage import settings

ROOT = settings.PROJECT_ROOT
PACKAGES = {
    "safepassage": ROOT / "dags" / "safepassage",
    "safepassage_dev": ROOT / "dev" / "safepassage_dev",
    "ad_emulators": ROOT / "emulators" / "ad_emulators",
}


def module_files() -> dict[str, Path]:
    found = {}
    for name, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `module` imports. `from a.b import c` runs a.b (its __init__) and, when c is
    a module, a.b.c: an edge to each."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            edges |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            edges.add(base)
            edges |= {f"{base}.{alias.name}" for alias in node.names}
    return {edge for edge in edges if edge in known and edge != module}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {module: imports_of(module, path, set(files)) for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle, found one at a time: report it, cut its first edge, look again."""
    graph = {module: set(edges) for module, edges in graph.items()}
    found = []
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as error:
            circle = list(error.args[1])
            found.append(circle)
            # graphlib lists a circle as [a, b, …, a] with each node depending on the next's successor
            graph[circle[1]].discard(circle[0])
            continue
        return found


def test_the_graph_sees_imports_inside_functions_and_under_type_checking() -> None:
    graph = import_graph()
    # safepassage.cli imports its commands inside a function, by name (importlib): not an edge; but
    # every command module imports from the product inside functions, which are.
    assert "safepassage.orchestration.connections" in graph["safepassage.commands.init"]
    assert "safepassage.domain.readiness" in graph["safepassage.adapters.airflow_metadata"]
    assert len(graph) > 120


def test_the_cycle_finder_finds_a_circle_and_every_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    found = cycles(graph)
    assert sorted(sorted(set(circle)) for circle in found) == [["a", "b", "c"], ["d", "e"]]


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []
