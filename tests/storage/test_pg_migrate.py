"""`grove migrate --from sqlite:PATH --to postgresql://…` (issue 19): everything copied, nothing changed.

The proof is the dataset: the same export, in every mode, from the SQLite file and from the PostgreSQL copy is
the same file byte for byte, and every table holds the same rows.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bot.cli import main
from engine import Engine, EngineConfig, FakeClock, TreeState
from engine.export import ExportOptions, export
from storage.database import Database
from storage.pg.database import PgDatabase
from storage.pg.migrate import TABLES
from tests.driver import Driver, member

pytestmark = pytest.mark.postgresql

MODES = {
    "trees": ExportOptions(),
    "everything": ExportOptions(states=None, labels=True, events=True, deleted="include", spam="include"),
    "messages": ExportOptions(user=1, states=None, labels=True, events=True),  # one member's messages
    "anonymized": ExportOptions(states=None, labels=True, events=True, anonymize_seed="a salt of sixteen+ chars"),
}


async def _community(path) -> None:
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(
            db, EngineConfig(goal_tree_size=4, min_goal_tree_size=4), clock=clock, rng=np.random.default_rng(3)
        )
        users = [await member(engine, f"m{i}", f"Member {i}") for i in range(8)]
        driver = Driver(engine, clock, users)
        await driver.exported_tree()
        growing = await driver.growing_tree()
        await engine.react(users[3], growing, "+1")
        await engine.react(users[4], growing, "red_flag")
        await driver.write_prompt(users[5])  # a prompt still in review
        clock.advance(3600)
        assert (await engine.tree_status(growing)).state is TreeState.GROWING
    finally:
        await db.close()


async def _rows(db, table: str) -> list[tuple]:
    async with db.read() as repo:
        columns = [r[1] for r in await repo._all(f'PRAGMA table_info("{table}")') if r[1] != "rowid"]
        order = ", ".join(columns)
        return [tuple(r) for r in await repo._all(f"SELECT {order} FROM {table} ORDER BY {order}")]


async def test_grove_migrate_copies_every_row_and_the_exports_match(tmp_path, pg_server, capsys) -> None:
    source = tmp_path / "grove.db"
    await _community(source)
    name, url = pg_server.empty()
    try:
        assert await asyncio.to_thread(main, ["migrate", "--from", f"sqlite:{source}", "--to", url]) == 0
        out = capsys.readouterr().out
        assert "nothing was left out" in out and "messages:" in out

        sqlite_db, pg_db = await Database.open(source), await PgDatabase.open(url)
        try:
            for table, _ in TABLES:
                assert await _rows(pg_db, table) == await _rows(sqlite_db, table), table
            for mode, options in MODES.items():
                a, b = tmp_path / f"{mode}-sqlite.jsonl", tmp_path / f"{mode}-pg.jsonl"
                await export(sqlite_db, a, options)
                await export(pg_db, b, options)
                assert a.read_bytes() == b.read_bytes(), mode
                assert a.stat().st_size > 0, mode
        finally:
            await sqlite_db.close()
            await pg_db.close()

        # a second copy into the same (now full) database is refused, and changes nothing
        assert await asyncio.to_thread(main, ["migrate", "--from", f"sqlite:{source}", "--to", url]) == 2
        assert "already holds data" in capsys.readouterr().err
    finally:
        pg_server.drop(name)


def test_grove_migrate_refuses_what_it_cannot_copy(tmp_path, capsys) -> None:
    assert main(["migrate", "--from", str(tmp_path / "x.db"), "--to", "postgresql://u@h/d"]) == 2
    assert "sqlite:PATH" in capsys.readouterr().err
    assert main(["migrate", "--from", f"sqlite:{tmp_path / 'x.db'}", "--to", "mysql://u@h/d"]) == 2
    assert "postgresql://" in capsys.readouterr().err
    assert main(["migrate", "--from", f"sqlite:{tmp_path / 'missing.db'}", "--to", "postgresql://u@h/d"]) == 2
    assert "no SQLite database" in capsys.readouterr().err
