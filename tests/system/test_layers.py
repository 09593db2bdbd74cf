"""Layers keep apart: no Discord in the engine, no SQL outside storage; the example config is the default."""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import errors
from engine.config import EngineConfig, TaskWeights

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(
    r"\b(SELECT\s|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|CREATE\s+(TABLE|INDEX)\b|PRAGMA\s)"
)


def python_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def string_literals(source: str) -> Iterator[str]:
    """Every string constant, f-string part and implicitly concatenated literal in a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def sql_literals(source: str) -> list[str]:
    return [s for s in string_literals(source) if SQL.search(s)]


# ------------------------------------------------------------------ the scanners themselves


def test_the_scanners_see_imports_and_sql_in_every_form():
    source = '''
import discord
from discord.ext import commands
import aiosqlite as db

Q1 = "SELECT id FROM trees"
Q2 = f"""UPDATE messages SET rank = {1} WHERE id = ?"""
Q3 = ("DELETE FROM " "labels")
PROSE = "Please select an answer, then update your ranking."
'''
    assert {"discord", "discord.ext", "aiosqlite"} <= set(imported_modules(source))
    found = sql_literals(source)
    assert "SELECT id FROM trees" in found
    assert any(s.startswith("UPDATE messages SET") for s in found)
    assert "DELETE FROM labels" in found
    assert not any("Please select" in s for s in found)


def test_the_sql_scanner_finds_the_sql_where_it_belongs():
    """Sanity check against the real code: storage is full of SQL, so the pattern is not blind."""
    assert sql_literals((ROOT / "storage" / "repository.py").read_text(encoding="utf-8"))
    assert sql_literals((ROOT / "storage" / "integrity.py").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize("path", python_files("engine"), ids=lambda p: p.name)
def test_the_engine_does_not_import_discord_or_a_database_driver(path):
    modules = set(imported_modules(path.read_text(encoding="utf-8")))
    banned = {m for m in modules if m.split(".")[0] in {"discord", "aiosqlite", "sqlite3", "cogs", "bot"}}
    assert banned == set(), f"{path.relative_to(ROOT)} imports {sorted(banned)}"


@pytest.mark.parametrize("path", python_files("storage"), ids=lambda p: p.name)
def test_storage_does_not_import_discord_or_the_front_end(path):
    modules = set(imported_modules(path.read_text(encoding="utf-8")))
    banned = {m for m in modules if m.split(".")[0] in {"discord", "cogs", "bot"}}
    assert banned == set(), f"{path.relative_to(ROOT)} imports {sorted(banned)}"


def test_the_engine_writes_no_sql():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in python_files("engine")
        if (found := sql_literals(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_cogs_write_no_sql():
    files = python_files("cogs")
    assert (ROOT / "cogs" / "__init__.py") in files, "the cogs package is where Discord code lives"
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := sql_literals(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_cogs_do_not_talk_to_the_database_driver_directly():
    for path in python_files("cogs"):
        modules = set(imported_modules(path.read_text(encoding="utf-8")))
        banned = {m for m in modules if m.split(".")[0] in {"aiosqlite", "sqlite3"}}
        assert banned == set(), f"{path.relative_to(ROOT)} imports {sorted(banned)}"


# ------------------------------------------------------------------ the import graph

PACKAGES = ("engine", "storage", "cogs", "bot")
# The vocabulary every layer may import: enums, typed records, domain errors, language codes, events.
VOCABULARY = frozenset({"engine.types", "engine.records", "engine.errors", "engine.lang", "engine.events"})
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def grove_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in python_files(package)}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def runtime_imports(source: str, known: set[str], package: str = "") -> set[str]:
    """The Grove modules a module imports when it runs: at top level or inside functions (a lazy import
    is still a dependency), but not under `if TYPE_CHECKING:`. `from pkg import name` depends on
    pkg.name when that is a module, else on pkg's own __init__."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            for child in getattr(node, "orelse", []):
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return {m for m in found if m in known}


def import_graph() -> dict[str, set[str]]:
    modules = grove_modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = runtime_imports(path.read_text(encoding="utf-8"), known, package) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_cycle_finder_finds_cycles_and_ignores_type_checking_imports():
    known = {"a", "a.x", "a.y", "b"}
    assert runtime_imports("from a import x\nimport b\n", known) == {"a.x", "b"}
    assert runtime_imports("from a import Name\n", known) == {"a"}
    assert runtime_imports("def f():\n    import b\n", known) == {"b"}
    assert runtime_imports("if TYPE_CHECKING:\n    import b\n", known) == set()
    assert runtime_imports("from . import y\n", known, package="a") == {"a.y"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_cogs_do_not_import_storage():
    graph = import_graph()
    offenders = {m: sorted(t for t in deps if t.startswith("storage")) for m, deps in graph.items()}
    assert {m: d for m, d in offenders.items() if m.startswith("cogs") and d} == {}


def test_storage_imports_only_the_vocabulary_of_the_engine():
    graph = import_graph()
    offenders = {
        m: sorted(t for t in deps if t.split(".")[0] == "engine" and t not in VOCABULARY)
        for m, deps in graph.items()
        if m.split(".")[0] == "storage"
    }
    assert {m: d for m, d in offenders.items() if d} == {}


def test_the_vocabulary_imports_nothing_else_of_grove():
    graph = import_graph()
    assert VOCABULARY <= set(graph)
    assert {m: sorted(graph[m] - VOCABULARY) for m in VOCABULARY if graph[m] - VOCABULARY} == {}
    # and importing it really loads nothing else: the engine package's __init__ is import-free
    for path in python_files("engine"):
        if path.name == "__init__.py":
            assert runtime_imports(path.read_text(encoding="utf-8"), set(graph), "engine") == set()


def test_bot_imports_no_cog_module():
    graph = import_graph()
    offenders = {m: sorted(t for t in deps if t.split(".")[0] == "cogs") for m, deps in graph.items()}
    assert {m: d for m, d in offenders.items() if m.split(".")[0] == "bot" and d} == {}


def test_no_module_is_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in python_files(package)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_engine_facade_only_delegates():
    """`Engine`'s public methods each run their work as one unit (`self._write(...)` or `self._read(...)`, one
    transaction in one hand-off to the database thread) and call a capability module; no rule lives there."""
    tree = ast.parse((ROOT / "engine" / "engine.py").read_text(encoding="utf-8"))
    engine = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Engine")
    for fn in engine.body:
        if isinstance(fn, ast.AsyncFunctionDef) and not fn.name.startswith("_"):
            units = [
                n
                for n in ast.walk(fn)
                if isinstance(n, ast.Call) and ast.unparse(n.func) in ("self._write", "self._read")
            ]
            assert units, f"Engine.{fn.name} runs no unit of work"
            assert not [n for n in ast.walk(fn) if isinstance(n, ast.AsyncWith)], f"Engine.{fn.name} spans awaits"
            for call in units:
                assert {k.arg for k in call.keywords} <= {"durable"}, fn.name
            nested = [n for n in fn.body if isinstance(n, ast.AsyncFunctionDef)]
            assert len(fn.body) + sum(len(n.body) - 1 for n in nested) <= 12, (
                f"Engine.{fn.name} holds logic; move it to a capability module"
            )


# ------------------------------------------------------------------ config.example.toml


@pytest.fixture(scope="module")
def example() -> dict[str, object]:
    with (ROOT / "config.example.toml").open("rb") as f:
        return tomllib.load(f)


def test_the_example_engine_table_is_the_default_configuration(example):
    table = dict(example["engine"])
    config = EngineConfig(**table)
    assert config == EngineConfig()
    assert config.weights == TaskWeights()


def test_the_example_lists_every_engine_setting(example):
    table = example["engine"]
    missing = set(EngineConfig.model_fields) - set(table)
    assert missing == set()
    assert set(table["weights"]) == set(TaskWeights.model_fields)


def test_the_example_has_no_unknown_engine_settings(example):
    table = example["engine"]
    assert set(table) <= set(EngineConfig.model_fields)


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError):
        EngineConfig(goal_tree_sise=12)
    with pytest.raises(ValueError):
        EngineConfig(weights={"rankings": 1.0})


# ------------------------------------------------------------------ errors


def test_every_error_has_a_unique_code_and_a_message():
    assert len(errors.ALL_ERRORS) >= 30
    codes = [cls.code for cls in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes)), sorted(c.name for c in codes if codes.count(c) > 1)
    assert set(codes) == set(errors.ErrorCode), "every code belongs to exactly one error class"
    for cls in errors.ALL_ERRORS:
        assert issubclass(cls, errors.DomainError) and cls is not errors.DomainError
        assert isinstance(cls.default_message, str) and cls.default_message.strip(), cls.__name__
        assert cls.default_message != errors.DomainError.default_message, cls.__name__
        exc = cls()
        assert exc.message == cls.default_message and str(exc) == cls.default_message
        assert cls.__name__ in repr(exc) and cls.code.name in repr(exc)
        custom = cls("Something specific.", text="what they typed")
        assert custom.message == "Something specific." and custom.text == "what they typed"


def test_every_error_class_is_listed():
    defined = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.DomainError) and obj is not errors.DomainError
    }
    assert defined == set(errors.ALL_ERRORS)


def test_the_example_config_is_the_default_configuration(tmp_path):
    from bot.config import GroveConfig, load_config

    loaded = load_config(ROOT / "config.example.toml")
    assert loaded.model_copy(update={"database": GroveConfig().database}) == GroveConfig()
    assert loaded.database.path == ROOT / "grove.db"
    assert set(GroveConfig.model_fields) == set(tomllib.loads((ROOT / "config.example.toml").read_text()))
