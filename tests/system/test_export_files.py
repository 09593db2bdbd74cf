"""`grove export` never destroys a file it should not: the database, any SQLite file, an existing file without
--force; it writes owner-only, atomically, and replaces a symbolic link instead of following it (issue 18 item 6)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "grove.db"
    assert main(["simulate", "--db", str(path), "--users", "12", "--trees", "1", "--seed", "3"]) == 0
    return path


def export(db: Path, out: Path, *extra: str) -> int:
    return main(["export", "--db", str(db), "--out", str(out), "--state", "all", *extra])


def test_the_database_and_other_sqlite_files_are_never_overwritten(db, tmp_path, capsys):
    before = db.read_bytes()
    assert export(db, db) == 2 and export(db, db, "--force") == 2
    assert "is the database itself" in capsys.readouterr().err
    assert db.read_bytes() == before
    other = tmp_path / "other.sqlite3"
    other.write_bytes(before)
    assert export(db, other, "--force") == 2
    assert "is an SQLite database" in capsys.readouterr().err and other.read_bytes() == before
    assert export(db, Path(f"{db}-wal"), "--force") == 2


def test_an_existing_file_needs_force_and_the_result_is_owner_only(db, tmp_path, capsys):
    out = tmp_path / "trees.jsonl"
    out.write_text("keep me\n")
    assert export(db, out) == 2
    assert "exists; add --force" in capsys.readouterr().err and out.read_text() == "keep me\n"
    assert export(db, out, "--force") == 0
    assert out.read_text() != "keep me\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temporary file left


def test_a_symbolic_link_is_replaced_not_followed(db, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    link = tmp_path / "trees.jsonl"
    link.symlink_to(target)
    assert export(db, link, "--force") == 0
    assert target.read_text() == "precious\n" and not link.is_symlink() and link.stat().st_size > 0
    assert os.path.isfile(link)


def test_anonymize_needs_a_real_salt(db, tmp_path, capsys):
    for salt in ("", "short-salt"):
        assert export(db, tmp_path / "anon.jsonl", "--anonymize", salt) == 2
        assert "at least 16 characters" in capsys.readouterr().err
    assert not (tmp_path / "anon.jsonl").exists()
    assert export(db, tmp_path / "anon.jsonl", "--anonymize", "a-salt-of-sixteen+") == 0
