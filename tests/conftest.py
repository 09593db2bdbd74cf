"""Shared fixtures: an in-memory database, a fake clock, a seeded engine, and members."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import discord
import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock
from storage.database import Database
from tests.discord_env import Env
from tests.driver import Driver, member
from tests.fakes import DiscordErrorLog, FakeDiscord
from tests.fakes.discord_api import mention_leaks
from tests.pg_server import pg_server, pg_url  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The engine's database: SQLite in memory, and (for the engine and storage suites) a fresh PostgreSQL one."""
    if request.param == "sqlite":
        database = await Database.open(":memory:")
    else:
        from storage.pg.database import PgDatabase

        database = await PgDatabase.open(request.getfixturevalue("pg_url"))  # type: ignore[assignment]
    yield database
    await database.close()


BOTH_BACKENDS = ("tests/engine/", "tests/storage/")  # the suites that run on PostgreSQL too (issue 19)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `db` fixture's PostgreSQL half runs for the engine and storage suites only."""
    root = str(config.rootpath)
    keep = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db") == "postgresql":
            where = str(item.path)[len(root) + 1 :]
            if not where.startswith(BOTH_BACKENDS):
                continue
        keep.append(item)
    items[:] = keep


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_engine(db: Database, clock: FakeClock) -> Callable[..., Engine]:
    """Build an engine on the shared database with config overrides and a seed."""

    def build(seed: int = 0, **overrides: Any) -> Engine:
        return Engine(db, EngineConfig(**overrides), clock=clock, rng=np.random.default_rng(seed))

    return build


@pytest.fixture
def engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine()


@pytest.fixture
async def users(engine: Engine) -> list[int]:
    return [await member(engine, f"u{i}", f"User {i}") for i in range(12)]


@pytest.fixture
def driver(engine: Engine, clock: FakeClock, users: list[int]) -> Driver:
    return Driver(engine, clock, users)


@pytest.fixture
def new_engine(make_engine):
    """Engines on the shared database, each with its own seed (engines sharing a seed would draw the same ids).
    `goal` sets a small goal_tree_size."""
    seeds = itertools.count(1)

    def build(goal: int | None = None, **overrides) -> Engine:
        if goal is not None:
            overrides.update(goal_tree_size=goal, min_goal_tree_size=min(goal, 5))
        return make_engine(next(seeds), **overrides)

    return build


# ---------------------------------------------------------------------- Discord (offline)


@pytest.fixture(autouse=True)
def discord_errors() -> Iterator[DiscordErrorLog]:
    """Fail any test in which discord.py, Grove's Discord layer or the scheduler logs an error."""
    with DiscordErrorLog("grove", "cogs", "bot", "apscheduler") as log:
        yield log
    log.assert_clean()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    base = discord.http.Route.BASE
    async with FakeDiscord() as fake:
        yield fake
    discord.http.Route.BASE = base
    fake.assert_clean()
    # Whatever a test did, nothing Grove posted or edited may ping @everyone, @here, a role or a member.
    assert mention_leaks(fake.calls) == []


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    """Engine settings for the `env` fixture; override in a test module to change them."""
    return {}


@pytest.fixture
async def env(fake_discord: FakeDiscord, tmp_path: Path, engine_overrides: dict[str, Any]) -> AsyncIterator[Env]:
    """Grove logged in to the fake Discord, on a fresh database, with a guild and members (see tests/discord_env)."""
    environment = Env(fake_discord, tmp_path / "grove.db", FakeClock(), dict(engine_overrides))
    await environment.start()
    try:
        yield environment
    finally:
        await environment.close()
