"""`Database.run`: a unit of work runs whole on the database thread, in one hand-off (issue 19)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.database import Database
from storage.repository import Repository


async def test_a_unit_that_awaits_anything_else_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "units.db")
    try:

        async def strays(repo: Repository) -> None:
            await repo.upsert_user("test", "someone", "", 1.0)
            await asyncio.sleep(0)  # not the repository: the event loop would have to run it

        with pytest.raises(RuntimeError, match="awaited something other than its repository"):
            await db.run(strays)
        count = await db.run(lambda repo: repo._int("SELECT count(*) FROM users"), write=False)
        assert count == 0
    finally:
        await db.close()


async def test_a_unit_sees_its_own_writes_and_reads_see_a_snapshot(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "units.db")
    try:

        async def create(repo: Repository) -> int:
            user = await repo.upsert_user("test", "ann", "Ann", 1.0)
            again = await repo.user(user.id)
            assert again is not None and again.display_name == "Ann"
            return user.id

        user_id = await db.run(create)
        found = await db.run(lambda repo: repo.user(user_id), write=False)
        assert found is not None and found.username == "ann"
    finally:
        await db.close()
