"""The package's architecture, checked from its source: imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dpst"


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name an ImportFrom refers to (``from ..ops import x`` inside dpst.api → dpst.ops)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Every dpst module → the dpst modules it imports, at any depth of the file (inside functions
    too).  ``from pkg import name`` counts as importing ``pkg.name`` when that is a module."""
    files = {_module_name(p, src): p for p in src.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, path.name == "__init__.py", node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t.split(".")[0] == "dpst" and t != mod}
        graph[mod] = {d for d in deps if d in files}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None.  A package's own
    ``__init__`` importing its submodules is not a circle with them (Python runs it first anyway),
    so edges from a submodule up to the package that contains it are left out."""
    edges = {m: {d for d in ds if not m.startswith(d + ".")} for m, ds in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(edges.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_checker_finds_a_circle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "dpst"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    graph = import_graph(pkg)
    assert graph["dpst.a"] == {"dpst.sub.b"} and graph["dpst.sub.b"] == {"dpst.a"}
    assert find_cycle(graph) == ["dpst.a", "dpst.sub.b", "dpst.a"]


def test_no_import_circle_in_dpst():
    graph = import_graph()
    assert "dpst.api" in graph and "dpst.ops.guided" in graph  # the walk saw the tree
    assert find_cycle(graph) is None


def test_ops_imports_nothing_else_of_dpst():
    wrong = {m: sorted(d for d in ds if not d.startswith("dpst.ops")) for m, ds in import_graph().items()}
    assert {m: ds for m, ds in wrong.items() if m.startswith("dpst.ops") and ds} == {}


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("dpst.ops", ("dpst.neural", "dpst.segment", "dpst.api", "dpst.batch", "dpst.cli", "dpst.web")),
        ("dpst.neural", ("dpst.segment", "dpst.api", "dpst.batch", "dpst.cli", "dpst.metrics", "dpst.web")),
        ("dpst.segment", ("dpst.api", "dpst.batch", "dpst.cli", "dpst.web")),
        ("dpst.api", ("dpst.batch", "dpst.cli", "dpst.web")),
        ("dpst.batch", ("dpst.cli", "dpst.web")),
        # an app sits on top of the API: the CLI may start it, it never uses the CLI
        ("dpst.web", ("dpst.cli", "dpst.batch")),
    ],
)
def test_arrows_point_down(layer, forbidden):
    up = {
        m: sorted(d for d in ds if d.startswith(forbidden))
        for m, ds in import_graph().items()
        if m == layer or m.startswith(layer + ".")
    }
    assert {m: ds for m, ds in up.items() if ds} == {}


def test_only_the_cli_prints_or_exits():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts or path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in ("print", "exit", "_exit") or (name == "exit" and isinstance(f, ast.Attribute)):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert offenders == []


def test_the_settings_mechanism_sits_at_the_bottom():
    """Every settings class (ops excepted) declares its fields with dpst.settings, so it imports nothing."""
    assert import_graph()["dpst.settings"] == set()
