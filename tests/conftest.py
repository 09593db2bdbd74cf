"""Shared fixtures: an in-memory database, a fake clock, a seeded engine, and members."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock
from storage.database import Database
from tests.driver import Driver


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await Database.open(":memory:")
    yield database
    await database.close()


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
    return [await engine.ensure_user("test", f"u{i}", f"User {i}") for i in range(12)]


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
