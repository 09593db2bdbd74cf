"""`grove backup`: a consistent, owner-only copy of a database that is being written to."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np

from bot.cli import main
from engine import Engine, EngineConfig, FakeClock
from engine.types import TaskType
from storage.database import Database
from tests.driver import member


async def test_a_backup_taken_during_writes_is_consistent_and_private(tmp_path: Path) -> None:
    live, copy = tmp_path / "grove.db", tmp_path / "backups" / "grove-copy.db"
    db = await Database.open(live)
    try:
        engine = Engine(db, EngineConfig(), clock=FakeClock(), rng=np.random.default_rng(3))
        users = [await member(engine, str(n), f"u{n}", auth="discord") for n in range(3)]

        async def write(start: int, n: int) -> None:
            for i in range(start, start + n):
                task = await engine.next_task(users[i % 3], "en", TaskType.INITIAL_PROMPT)
                await engine.submit_reply(task.id, users[i % 3], f"prompt number {i}")

        await write(0, 20)
        writer = asyncio.create_task(write(20, 20))
        code = await asyncio.to_thread(main, ["backup", "--db", str(live), "--out", str(copy)])
        await writer
    finally:
        await db.close()
    assert code == 0 and copy.stat().st_mode & 0o777 == 0o600
    assert not list(copy.parent.glob("*.partial"))
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        assert 20 <= n <= 40
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 2
    assert await asyncio.to_thread(main, ["check", "--db", str(copy)]) == 0


def test_backup_refuses_what_it_cannot_copy(tmp_path: Path, capsys) -> None:
    assert main(["backup", "--db", str(tmp_path / "missing.db"), "--out", str(tmp_path / "b.db")]) == 2
    assert "no database" in capsys.readouterr().err
    (tmp_path / "plain.db").write_bytes(b"")
    sqlite3.connect(tmp_path / "plain.db").close()
    assert main(["backup", "--db", str(tmp_path / "plain.db"), "--out", str(tmp_path / "b.db")]) == 2
    assert "not a Grove database" in capsys.readouterr().err
    assert main(["backup", "--db", str(tmp_path / "plain.db"), "--out", str(tmp_path / "plain.db")]) == 2
    assert not (tmp_path / "b.db").exists()
