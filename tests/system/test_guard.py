"""One bot per database, databases it cannot run on refused with one sentence, a bounded WAL, no tokens in logs
(issue 18 item 7)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.guard import AlreadyRunning, InstanceLock, RedactTokens, preflight
from storage.database import Database, migrations


def grove_db(path: Path) -> Path:
    async def make() -> None:
        db = await Database.open(path)
        await db.close()

    asyncio.run(make())
    return path


def config_for(tmp_path: Path, db: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\npath = "{db}"\n')
    return cfg


def test_a_second_bot_on_the_same_database_is_refused_with_the_first_ones_pid(tmp_path, capsys, monkeypatch):
    db = grove_db(tmp_path / "grove.db")
    monkeypatch.setenv("DISCORD_TOKEN", "not-used: refused before connecting")
    with InstanceLock(db):
        with pytest.raises(AlreadyRunning, match=f"process {os.getpid()}"):
            InstanceLock(db).acquire()
        assert main(["run", "--config", str(config_for(tmp_path, db))]) == 2
        err = capsys.readouterr().err
        assert f"another Grove (process {os.getpid()}) is running on {db}" in err and len(err.splitlines()) == 1
        assert main(["simulate", "--db", str(db), "--trees", "1"]) == 2
        assert "another Grove" in capsys.readouterr().err
    with InstanceLock(db):  # released: the next one may start
        pass


def test_a_newer_schema_is_refused(tmp_path, capsys, monkeypatch):
    db = grove_db(tmp_path / "grove.db")
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
    refusal = preflight(db)
    assert refusal is not None and "newer than this Grove knows" in refusal
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    assert main(["run", "--config", str(config_for(tmp_path, db))]) == 2
    err = capsys.readouterr().err
    assert "newer than this Grove knows" in err and len(err.splitlines()) == 1


def test_a_damaged_database_is_refused_and_check_lists_it_without_a_traceback(tmp_path, capsys, monkeypatch):
    db = grove_db(tmp_path / "grove.db")
    with sqlite3.connect(db) as conn:  # enough rows for several pages, then scribble over a page in the middle
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.executemany(
            "INSERT INTO users (auth_method, username, display_name, created_at) VALUES ('t', ?, ?, 0)",
            [(f"user{i}", "x" * 200) for i in range(2000)],
        )
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(4096))
    refusal = preflight(db)
    assert refusal is not None and "damaged" in refusal
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    assert main(["run", "--config", str(config_for(tmp_path, db))]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(["check", "--db", str(db)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "damaged" in captured.err


def test_a_database_check_cannot_open_is_not_called_foreign(tmp_path, capsys, monkeypatch):
    """A read-only or locked file (SQLite's OperationalError) is told apart from a file that is not Grove's."""
    db = grove_db(tmp_path / "grove.db")

    async def refuse(*args: object, **kwargs: object) -> Database:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Database, "open", refuse)
    assert main(["check", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "read-only file or folder, or locked" in err and "not a Grove database" not in err


def test_the_wal_is_cut_back_after_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setattr(Database, "JOURNAL_LIMIT", 256 * 1024)
    monkeypatch.setattr(Database, "CHECKPOINT_EVERY", 5)
    path = tmp_path / "grove.db"

    async def churn() -> int:
        db = await Database.open(path)
        try:
            largest = 0
            for i in range(120):
                async with db.transaction() as repo:
                    await repo.upsert_user("t", f"user{i}", "y" * 20000, 0.0)
                await asyncio.sleep(0)
                if db._checkpoint_task is not None:
                    await db._checkpoint_task
                largest = max(largest, os.stat(f"{path}-wal").st_size)
            return largest
        finally:
            await db.close()

    largest = asyncio.run(churn())
    assert largest < 4 * 256 * 1024, largest  # 120 × 20 kB written: the WAL would reach ~3 MB unchecked


def test_interaction_and_webhook_tokens_never_reach_the_log():
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"
    record = logging.LogRecord(
        "discord.http",
        logging.DEBUG,
        __file__,
        1,
        "%s %s with %s has returned %s",
        ("POST", f"https://discord.com/api/v10/interactions/1234567890/{token}/callback", "{}", 204),
        None,
    )
    assert RedactTokens().filter(record)
    assert token not in record.getMessage() and "/interactions/1234567890/<token>/callback" in record.getMessage()
    hook = logging.LogRecord(
        "discord.webhook", logging.DEBUG, __file__, 1, f"PATCH /webhooks/42/{token}/messages/@original", None, None
    )
    RedactTokens().filter(hook)
    assert token not in hook.getMessage()


def test_the_wal_stays_bounded_while_writes_never_pause(tmp_path, monkeypatch):
    """A background checkpoint never catches a writer that does not pause: the WAL could only start over when a
    checkpoint happened to finish between two commits. Past the limit the checkpoint waits for the writer's
    lock once and finishes, so the WAL starts over."""
    monkeypatch.setattr(Database, "JOURNAL_LIMIT", 256 * 1024)
    monkeypatch.setattr(Database, "CHECKPOINT_EVERY", 20)
    path = tmp_path / "grove.db"

    async def churn() -> int:
        db = await Database.open(path)
        try:
            largest = 0
            for i in range(600):  # no pause: the next write is asked for as soon as one commits
                await db.run(lambda repo, i=i: repo.upsert_user("t", f"user{i}", "y" * 8000, 0.0))
                largest = max(largest, os.stat(f"{path}-wal").st_size)
            return largest
        finally:
            await db.close()

    largest = asyncio.run(churn())
    assert largest < 6 * 256 * 1024, largest  # 600 × 8 kB and more written: several MB unchecked
