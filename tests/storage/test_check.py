"""`grove check` finds corruption, and migrations build the schema it checks."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import storage.database as database
from bot.cli import main as grove
from engine import Emoji, Engine, EngineConfig, FakeClock, TreeState
from storage.database import Database, migrations, split_statements
from tests.driver import Driver, member

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ a database with an exported tree


async def _build(path: Path) -> dict[str, str]:
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(11))
        users = [await member(engine, f"u{i}", f"User {i}") for i in range(12)]
        driver = Driver(engine, clock, users)
        exported = await driver.exported_tree()
        growing = await driver.growing_tree(author=users[5])
        async with db.read() as repo:
            messages = await repo.messages_of_tree(exported)
        parents = {m.parent_id for m in messages}
        replies = [m for m in messages if m.parent_id is not None]
        leaf = next(m for m in replies if m.id not in parents and m.depth > 1)
        reply = next(m for m in replies if m.review_count > 0)
        await engine.react(users[0] if reply.user_id != users[0] else users[1], reply.id, Emoji.THUMBS_UP)
        skipped = await _one(db, "SELECT id FROM tasks WHERE status = 'skipped' ORDER BY id")
        label_task = await _one(db, "SELECT id FROM tasks WHERE status = 'done' AND type LIKE 'label_%' ORDER BY id")
        return {
            "exported": exported,
            "growing": growing,
            "reply": reply.id,
            "leaf": leaf.id,
            "skipped_task": skipped,
            "label_task": label_task,
        }
    finally:
        await db.close()


async def _one(db: Database, sql: str) -> str:
    rows = list(await db._conn.execute_fetchall(sql))
    assert rows, sql
    return str(rows[0][0])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("template") / "grove.db"
    ids = asyncio.run(_build(path))
    return path, ids


@pytest.fixture
def grove_db(template: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A private copy of the template database."""
    source, ids = template
    path = tmp_path / "copy.db"
    shutil.copyfile(source, path)
    return path, ids


def corrupt(path: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            cur = conn.execute(sql, params)
            assert cur.rowcount >= 1, f"the corruption changed nothing: {sql}"
    finally:
        conn.close()


def run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = grove(["check", "--db", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# ------------------------------------------------------------------ clean, missing, foreign


def test_a_clean_database_passes(grove_db):
    path, _ = grove_db
    done = run_cli("check", "--db", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no violations" in done.stdout


def test_a_missing_file_exits_2(tmp_path):
    path = tmp_path / "nothing-here.db"
    done = run_cli("check", "--db", str(path))
    assert done.returncode == 2
    assert not path.exists(), "checking must not create a database"


def test_a_directory_exits_2(tmp_path, capsys):
    assert run_check(tmp_path, capsys)[0] == 2


def test_a_sqlite_file_that_is_not_grove_exits_2(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    done = run_cli("check", "--db", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a Grove database" in done.stderr


def test_an_empty_file_exits_2(tmp_path, capsys):
    path = tmp_path / "empty.db"
    path.touch()
    assert run_check(path, capsys)[0] == 2


def test_a_file_that_is_not_sqlite_exits_2(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("These are not the bytes of an SQLite database. " * 20)
    code, _, err = run_check(path, capsys)
    assert code == 2
    assert "not a Grove database" in err


def test_the_template_is_sound_in_process(grove_db, capsys):
    path, _ = grove_db
    code, out, _ = run_check(path, capsys)
    assert code == 0, out
    assert out.strip().endswith("no violations")


# ------------------------------------------------------------------ corruption is found and named

Corruption = Callable[[dict[str, str]], tuple[str, tuple[object, ...], str]]

CORRUPTIONS: dict[str, Corruption] = {
    "a tree in a community that does not exist": lambda ids: (
        "UPDATE trees SET community_id = 99 WHERE id = ?",
        (ids["growing"],),
        f"tree {ids['growing']}: in community 99, which does not exist",
    ),
    "a task in another community than its tree": lambda ids: (
        "UPDATE tasks SET community_id = 99 WHERE tree_id = ?",
        (ids["growing"],),
        "but its tree is in community 1",
    ),
    "wrong review_count": lambda ids: (
        "UPDATE messages SET review_count = review_count + 1 WHERE id = ?",
        (ids["reply"],),
        f"message {ids['reply']}: review_count",
    ),
    "rank in a growing tree": lambda ids: (
        "UPDATE messages SET rank = 0 WHERE id = ?",
        (ids["growing"],),
        f"message {ids['growing']}: has a rank but its tree {ids['growing']} is in growing",
    ),
    "active flag of an exported tree": lambda ids: (
        "UPDATE trees SET active = 1 WHERE id = ?",
        (ids["exported"],),
        f"tree {ids['exported']}: state ready_for_export but active=1",
    ),
    "inactive growing tree": lambda ids: (
        "UPDATE trees SET active = 0 WHERE id = ?",
        (ids["growing"],),
        f"tree {ids['growing']}: state growing but active=0",
    ),
    "wrong depth": lambda ids: (
        "UPDATE messages SET depth = depth - 1 WHERE id = ?",
        (ids["leaf"],),
        f"message {ids['leaf']}: depth",
    ),
    "emoji count mismatch": lambda ids: (
        """UPDATE messages SET emojis = '{"+1": 3}' WHERE id = ?""",
        (ids["reply"],),
        f"message {ids['reply']}: emoji counts",
    ),
    "emoji count without a row": lambda ids: (
        """UPDATE messages SET emojis = '{"clap": 1}' WHERE id = ?""",
        (ids["leaf"],),
        f"message {ids['leaf']}: emoji counts",
    ),
    "tree over its goal": lambda ids: (
        "UPDATE trees SET goal_tree_size = 2 WHERE id = ?",
        (ids["exported"],),
        f"tree {ids['exported']}: ",
    ),
    "done task without its result": lambda ids: (
        "UPDATE tasks SET status = 'done' WHERE id = ?",
        (ids["skipped_task"],),
        f"task {ids['skipped_task']}: done",
    ),
    "review without its task": lambda ids: (
        "UPDATE tasks SET status = 'skipped' WHERE id = ?",
        (ids["label_task"],),
        f"task {ids['label_task']}: has a result but its status is skipped",
    ),
    "pending task with an end time": lambda ids: (
        "UPDATE tasks SET status = 'pending' WHERE id = ?",
        (ids["skipped_task"],),
        f"task {ids['skipped_task']}: status pending does not fit its end time",
    ),
    "exported tree back in growing": lambda ids: (
        "UPDATE trees SET state = 'growing' WHERE id = ?",
        (ids["exported"],),
        f"has a rank but its tree {ids['exported']} is in growing",
    ),
    "wrong ranking_count": lambda ids: (
        "UPDATE messages SET ranking_count = ranking_count + 7 WHERE parent_id = ? AND rank IS NOT NULL",
        (ids["exported"],),
        "ranking_count",
    ),
    "reply with the role of its parent": lambda ids: (
        "UPDATE messages SET role = 'prompter' WHERE parent_id = ? AND rank = 0",
        (ids["exported"],),
        "role prompter answers a prompter message",
    ),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corruption_is_reported_with_its_row(name, grove_db, capsys):
    path, ids = grove_db
    sql, params, expected = CORRUPTIONS[name](ids)
    corrupt(path, sql, *params)
    code, out, err = run_check(path, capsys)
    assert code == 1, (name, out, err)
    assert expected in out, (name, out)
    assert "violation(s)" in err


def test_the_goal_violation_names_the_tree_and_the_numbers(grove_db, capsys):
    path, ids = grove_db
    corrupt(path, "UPDATE trees SET goal_tree_size = 2 WHERE id = ?", ids["exported"])
    _, out, _ = run_check(path, capsys)
    assert f"tree {ids['exported']}: 12 live messages, over its goal of 2" in out


def test_a_done_writing_task_whose_message_lost_it_is_reported(grove_db, capsys):
    path, ids = grove_db
    conn = sqlite3.connect(path)
    task_id = conn.execute("SELECT task_id FROM messages WHERE id = ?", (ids["leaf"],)).fetchone()[0]
    conn.close()
    corrupt(path, "UPDATE messages SET task_id = NULL WHERE id = ?", ids["leaf"])
    code, out, _ = run_check(path, capsys)
    assert code == 1
    assert f"task {task_id}: done (" in out and "but its result is missing" in out


def test_a_corrupted_database_fails_through_the_console_entry_point(grove_db):
    path, ids = grove_db
    corrupt(path, "UPDATE trees SET active = 1 WHERE id = ?", ids["exported"])
    done = run_cli("check", "--db", str(path))
    assert done.returncode == 1
    assert ids["exported"] in done.stdout


def test_check_does_not_migrate_or_change_the_schema(grove_db, capsys):
    path, _ = grove_db
    conn = sqlite3.connect(path)
    before = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    run_check(path, capsys)
    conn = sqlite3.connect(path)
    after = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    assert before == after


# ------------------------------------------------------------------ migrations


EXPECTED_TABLES = {
    "users",
    "trees",
    "messages",
    "tasks",
    "labels",
    "rankings",
    "message_emojis",
    "flagged_messages",
    "moderation_log",
}
EXPECTED_INDEXES = {
    "trees_lang_state",
    "trees_state",
    "messages_tree",
    "messages_parent",
    "messages_user_created",
    "messages_task",
    "tasks_user_created",
    "tasks_user_target",
    "tasks_pending_target",
    "tasks_pending_tree",
    "tasks_pending_expiry",
    "labels_message",
    "labels_user_message",
    "labels_task",
    "rankings_parent",
    "rankings_user_parent",
    "rankings_created",
    "message_emojis_user",
    "moderation_log_at",
}


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


async def test_a_fresh_file_is_migrated_to_the_latest_version(tmp_path):
    path = tmp_path / "fresh.db"
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(migrations())
    finally:
        await db.close()
    assert _user_version(path) == len(migrations()) >= 1


async def test_reopening_applies_nothing_and_keeps_the_data(tmp_path):
    path = tmp_path / "again.db"
    db = await Database.open(path)
    user_id = await Engine(db, EngineConfig(), clock=FakeClock()).ensure_user("test", "someone")
    await db.close()
    conn = sqlite3.connect(path)
    schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()

    db = await Database.open(path)
    try:
        assert await db.migrate() == 0
        assert await db.schema_version() == len(migrations())
        assert (await Engine(db, EngineConfig(), clock=FakeClock()).user(user_id)).username == "someone"
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    conn.close()


async def test_the_schema_has_the_expected_tables_and_indexes(tmp_path):
    path = tmp_path / "schema.db"
    await (await Database.open(path)).close()
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    conn.close()
    tables = {name for kind, name, _ in rows if kind == "table"}
    indexes = {name for kind, name, _ in rows if kind == "index"}
    assert tables >= EXPECTED_TABLES
    assert indexes >= EXPECTED_INDEXES
    by_name = {name: table for _, name, table in rows}
    assert by_name["messages_parent"] == "messages"
    assert by_name["tasks_pending_target"] == "tasks"


async def test_the_in_memory_database_gets_the_same_schema(tmp_path):
    path = tmp_path / "file.db"
    await (await Database.open(path)).close()  # closing may ANALYZE (PRAGMA optimize): statistics, not schema
    conn = sqlite3.connect(path)
    on_file = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name"
    ).fetchall()
    conn.close()
    db = await Database.open(":memory:")
    try:
        in_memory = [
            tuple(r) for r in await db._conn.execute_fetchall("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        ]
    finally:
        await db.close()
    assert in_memory == on_file


async def test_a_failing_migration_is_rolled_back(tmp_path, monkeypatch):
    path = tmp_path / "broken.db"
    await (await Database.open(path)).close()
    version = len(migrations())
    sql = "CREATE TABLE half_done (x);\nINSERT INTO nowhere VALUES (1);\n"
    broken = (version + 1, f"{version + 1:04d}_broken.sql", sql)
    real = database.migrations
    monkeypatch.setattr(database, "migrations", lambda: [*real(), broken])
    with pytest.raises(RuntimeError, match="broken"):
        await Database.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()
    assert _user_version(path) == version


async def test_a_new_file_is_private_to_its_owner(tmp_path):
    path = tmp_path / "sub" / "private.db"
    db = await Database.open(path)
    try:
        await Engine(db, EngineConfig(), clock=FakeClock()).ensure_user("test", "someone")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if companion.exists():
                assert stat.S_IMODE(companion.stat().st_mode) & 0o077 == 0, companion
    finally:
        await db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_split_statements_handles_comments_and_several_statements():
    sql = """-- a header comment; with a semicolon
CREATE TABLE a (x INTEGER); -- trailing comment
/* a block comment; also with a semicolon */
CREATE TABLE b (
    y TEXT DEFAULT 'semi;colon'  -- a ; inside a string literal
);

CREATE TRIGGER t AFTER INSERT ON a BEGIN
    INSERT INTO b VALUES ('one');
    INSERT INTO b VALUES ('two');
END;
-- a comment at the very end
"""
    statements = split_statements(sql)
    assert len(statements) == 3
    assert "CREATE TABLE a (x INTEGER);" in statements[0] and "CREATE TABLE b" not in statements[0]
    assert "semi;colon" in statements[1]
    assert statements[2].rstrip().endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO a VALUES (1)")
    assert [r[0] for r in conn.execute("SELECT y FROM b ORDER BY rowid")] == ["one", "two"]
    conn.close()


def test_split_statements_of_nothing_is_nothing():
    assert split_statements("") == []
    assert split_statements("-- only a comment\n\n") == []


def test_split_statements_refuses_an_unterminated_statement():
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE a (x);\nCREATE TABLE b (y)")


def test_every_migration_splits_and_numbers_are_consecutive():
    found = migrations()
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1))
    for _, name, sql in found:
        assert split_statements(sql), name


def test_the_exported_template_tree_is_what_the_tests_expect(template):
    path, ids = template
    conn = sqlite3.connect(path)
    states = dict(conn.execute("SELECT id, state FROM trees").fetchall())
    conn.close()
    assert states[ids["exported"]] == TreeState.READY_FOR_EXPORT
    assert states[ids["growing"]] == TreeState.GROWING
