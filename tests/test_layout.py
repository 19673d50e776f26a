"""The code's layout is a contract too: imports run one way, down the flow's layers, and never in a cycle.

Layers, bottom up (a module may import its own package and any lower layer, nothing beside or above):
common; store and drivers (the driver contract); ingest; webhooks (beside ingest: they request its
syncs); routing; diff (its transaction also fans out and marks drops); delivery; the gathering modules
(assets, resources, sensors); definitions; launch; cli. Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from iec_pipeline.common.settings import PROJECT_ROOT

pytestmark = pytest.mark.fast

LAYERS = [
    ["iec_pipeline.common"],
    ["iec_pipeline.store", "drivers"],
    ["iec_pipeline.ingest"],
    ["iec_pipeline.webhooks"],
    ["iec_pipeline.routing"],
    ["iec_pipeline.diff"],
    ["iec_pipeline.delivery"],
    ["iec_pipeline.assets", "iec_pipeline.resources", "iec_pipeline.sensors"],
    ["iec_pipeline.definitions"],
    ["iec_pipeline.launch"],
    ["iec_pipeline.cli"],
]
PACKAGES = ("iec_pipeline", "drivers")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The project modules `path` imports (a name imported from a package counts as its submodule if it is one)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else node.module for n in names]
        else:
            continue
        imported.update(n for n in names if n.split(".")[0] in PACKAGES and n in MODULES)
    return imported


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> tuple[int, str]:
    for level, owners in enumerate(LAYERS):
        for owner in owners:
            if module == owner or module.startswith(owner + "."):
                return level, owner
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS (and the README)")


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        if module != "iec_pipeline":
            _layer(module)


def test_imports_run_down_the_layers():
    wrong = []
    for module, imported in GRAPH.items():
        if module == "iec_pipeline":
            continue
        level, owner = _layer(module)
        for target in imported:
            target_level, target_owner = _layer(target)
            if target_owner != owner and target_level >= level:
                wrong.append(f"{module} imports {target} ({target_owner} is not below {owner})")
    assert wrong == []


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every cycle a depth-first walk meets, as "a -> b -> a"."""
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_no_import_cycle_between_modules():
    assert find_cycles(GRAPH) == []


def test_the_cycle_check_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]


def test_developer_tooling_is_not_in_the_installed_package():
    import tomllib

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(name.startswith(("devtools", "sandbox", "tests", "bench")) for name in included)
    assert not any(path.name in {"playground.py", "demo.py", "sample_catalog.py"} for path in MODULES.values())
