"""The command line as a user runs it: demo, simulate (deterministic, continuable) and check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main

pytestmark = pytest.mark.slow


def dump(path: Path) -> list[tuple]:
    """Every row of every table, in a stable order."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows: list[tuple] = []
        for table in tables:
            rows += [(table, *r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        return rows
    finally:
        conn.close()


def test_demo_exports_trees_and_exits_zero(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--trees", "2"]) == 0
    out = capsys.readouterr().out
    assert "ready_for_export" in out
    assert "no violations" in out
    assert (tmp_path / "demo" / "grove.sqlite3").is_file()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "x").write_text("keep me")
    assert main(["demo", "--dir", str(tmp_path), "--trees", "1"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "x").read_text() == "keep me"


def test_simulate_is_deterministic_for_a_seed_and_check_passes(tmp_path, capsys):
    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    for path in (a, b):
        assert (
            main(["simulate", "--db", str(path), "--users", "20", "--trees", "1", "--seed", "5", "--langs", "en,de"])
            == 0
        )
    assert dump(a) == dump(b)
    assert main(["check", "--db", str(a)]) == 0
    other = tmp_path / "c.sqlite3"
    main(["simulate", "--db", str(other), "--users", "20", "--trees", "1", "--seed", "6", "--langs", "en,de"])
    assert dump(other) != dump(a)


def test_simulate_continues_an_existing_database(tmp_path, capsys):
    path = tmp_path / "g.sqlite3"
    assert main(["simulate", "--db", str(path), "--users", "15", "--trees", "1", "--seed", "1"]) == 0
    first = len(dump(path))
    assert main(["simulate", "--db", str(path), "--users", "15", "--trees", "3", "--seed", "2"]) == 0
    assert len(dump(path)) > first
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "trees ready for export" in summary
    assert main(["check", "--db", str(path)]) == 0


def test_bad_arguments_are_refused_with_a_reason(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--db", str(tmp_path / "x.db"), "--langs", "english!!"])
    assert exc.value.code == 2
    assert "language code" in capsys.readouterr().err
