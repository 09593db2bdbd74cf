"""The Discord adapter's shape holds: thin feature packages, views that never import their cog, and no import cycle
once importing a submodule is counted as importing its package too (what Python does). The rules for every
package (no storage in cogs, no cog in bot, lazy-import cycles, module size) are in tests/system/test_layers.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COGS = ROOT / "cogs"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(COGS.rglob("*.py")) if "__pycache__" not in p.parts}


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path) -> set[str]:
    """Modules imported when the module is imported: top level only, `if TYPE_CHECKING:` blocks left out
    (imports inside functions run later, when they are called)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)  # a submodule, if it is one
            elif isinstance(node, ast.If) and not is_type_checking(node):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def all_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the cogs modules importing it loads (a submodule loads its packages first)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in runtime_imports(path):
            parts = imported.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in known)
        edges[name] = targets - {name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_scanner_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert "cogs.tasks.items" in graph()["cogs.tasks.cards"]


def test_the_cogs_import_no_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.endswith(".views")))
def test_views_never_import_their_cog(name: str):
    package = name.rsplit(".", 1)[0]
    assert f"{package}.cog" not in all_imports(modules()[name])


@pytest.mark.parametrize("name", sorted(n for n, p in modules().items() if p.name == "__init__.py" and n != "cogs"))
def test_feature_packages_are_thin(name: str):
    """A feature package's __init__ only loads the extension: `setup` (and `teardown`), nothing at import."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    assert "setup" in defined and defined <= {"setup", "teardown"}
    assert runtime_imports(modules()[name]) <= {
        "__future__",
        "__future__.annotations",
        "typing",
        "typing.TYPE_CHECKING",
    }
