"""`grove check --config`: the invariants are checked against the operator's thresholds, and trees that no task
can move on (stuck trees) are reported by name."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli import main as grove
from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock, TaskType, TreeState
from engine.check import check_database
from storage.database import Database
from tests.driver import Driver, accepted_reply, answer, ranking_tree

# A community run with every threshold below the default: a default check would call its verdicts premature.
SETTINGS: dict[str, Any] = {
    "num_reviews_reply": 2,
    "num_reviews_initial_prompt": 2,
    "num_required_rankings": 2,
    "goal_tree_size": 5,
    "min_goal_tree_size": 5,
    "max_active_trees": 4,
}
LOWER = {"num_reviews_reply": 1, "num_reviews_initial_prompt": 1, "num_required_rankings": 1}


def config_toml(settings: dict[str, Any], db: str = "grove.db") -> str:
    lines = ["[database]", f'path = "{db}"', "", "[engine]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


async def _build(path: Path) -> None:
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(**SETTINGS), clock=clock, rng=np.random.default_rng(3))
        community = Community(engine, clock, seed=3)
        await community.add_members(12)
        report = await community.run(3)
        assert report.exported >= 3, report.stopped_because
    finally:
        await db.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check-config") / "grove.db"
    asyncio.run(_build(path))
    return path


@pytest.fixture
def grove_db(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "grove.db"
    shutil.copyfile(template, path)
    return path


def write_config(tmp_path: Path, settings: dict[str, Any], name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(config_toml(settings), encoding="utf-8")
    return path


async def check_file(path: Path, cfg: EngineConfig | None) -> list[str]:
    db = await Database.open(path, migrate=False)
    try:
        return await check_database(db, cfg)
    finally:
        await db.close()


# ------------------------------------------------------------------ the operator's thresholds


async def test_the_database_passes_against_the_thresholds_it_was_run_with(grove_db):
    assert await check_file(grove_db, EngineConfig(**SETTINGS)) == []
    with_defaults = await check_file(grove_db, None)
    assert any("has a verdict after only 2 reviews" in line for line in with_defaults), with_defaults


def test_grove_check_with_the_config_passes_and_without_it_fails(grove_db, tmp_path, capsys):
    config = write_config(tmp_path, SETTINGS)
    assert grove(["check", "--config", str(config)]) == 0  # the database the config names
    out = capsys.readouterr().out
    assert out.strip().endswith("no violations")
    assert str(config) in out
    assert grove(["check", "--db", str(grove_db), "--config", str(config)]) == 0
    capsys.readouterr()
    assert grove(["check", "--db", str(grove_db)]) == 1
    assert "has a verdict after only 2 reviews" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[engine]\nnum_reviews_reply = 'two'\n", "num_reviews_reply"),
        ("[engine]\nnum_reviews_reply = 0\n", "num_reviews_reply"),
        ("[engine]\nno_such_setting = 1\n", "no_such_setting"),
        ("[engine\nnum_reviews_reply = 2\n", "not valid TOML"),
    ],
)
def test_a_malformed_config_is_one_line_and_exit_2(text, named, grove_db, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    assert grove(["check", "--db", str(grove_db), "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("grove check: ") and named in lines[0]


def test_a_missing_config_or_no_database_at_all_exit_2(tmp_path, capsys):
    assert grove(["check", "--config", str(tmp_path / "nowhere.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert grove(["check"]) == 2
    assert "--db" in capsys.readouterr().err


# ------------------------------------------------------------------ stuck trees


def test_lower_thresholds_name_the_trees_they_would_move_as_stuck(grove_db, tmp_path, capsys):
    conn = sqlite3.connect(grove_db)
    waiting = conn.execute(
        """SELECT m.id, t.id FROM trees t JOIN messages m ON m.tree_id = t.id
           WHERE t.active = 1 AND t.state IN ('growing', 'initial_prompt_review')
             AND m.deleted = 0 AND m.review_result IS NULL AND m.review_count >= 1"""
    ).fetchall()
    conn.close()
    assert waiting, "the community left no message half reviewed; choose another seed"
    config = write_config(tmp_path, {**SETTINGS, **LOWER}, "lower.toml")
    assert grove(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    for message_id, tree_id in waiting:
        assert f"message {message_id}: tree {tree_id} is stuck in " in out, out


async def test_reconciling_under_the_lower_thresholds_moves_every_tree_the_check_named(grove_db):
    """The check only reports; the engine's reconciliation pass is what moves such trees on."""
    lower = EngineConfig(**{**SETTINGS, **LOWER})
    assert await check_file(grove_db, lower) != []
    db = await Database.open(grove_db)
    try:
        await Engine(db, lower, clock=FakeClock(2_000_000_000.0), rng=np.random.default_rng(1)).reconcile()
        assert await check_database(db, lower) == []
    finally:
        await db.close()


async def test_a_ranking_tree_with_every_set_ranked_enough_is_stuck(new_engine, clock, users, db):
    engine = new_engine(goal=3)
    root, _ = await ranking_tree(Driver(engine, clock, users), 2)
    task = await engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await engine.submit_ranking(task.id, users[9], list(range(len(task.candidates))))
    assert await check_database(db, engine.cfg) == []
    problems = await check_database(db, EngineConfig(num_required_rankings=1))
    assert problems == [
        f"tree {root}: stuck in ranking: no sibling set lacks rankings (1 required), yet it was not scored"
    ]


async def test_a_reply_with_the_reviews_required_but_no_verdict_is_stuck(new_engine, clock, users, db):
    engine = new_engine(goal=4)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    reply = await answer(d, users[1], TaskType.ASSISTANT_REPLY, root)
    await d.review(reply, [users[6], users[7]])
    assert await check_database(db, engine.cfg) == []
    problems = await check_database(db, EngineConfig(num_reviews_reply=2))
    assert problems == [
        f"message {reply}: tree {root} is stuck in growing: the message has 2 reviews (2 required) but no verdict"
    ]


async def test_a_prompt_with_the_reviews_required_but_no_verdict_is_stuck(new_engine, clock, users, db):
    engine = new_engine()
    d = Driver(engine, clock, users)
    root = await d.write_prompt(users[0])
    await d.review(root, [users[1], users[2]])
    assert await check_database(db, engine.cfg) == []
    problems = await check_database(db, EngineConfig(num_reviews_initial_prompt=2))
    assert len(problems) == 1 and problems[0].startswith(
        f"message {root}: tree {root} is stuck in initial_prompt_review"
    )


async def test_a_prompt_in_review_that_is_already_accepted_is_stuck(new_engine, clock, users, db):
    engine = new_engine()
    root = await Driver(engine, clock, users).accepted_prompt(users[0])
    await db._conn.execute("UPDATE trees SET state = 'initial_prompt_review', active = 1 WHERE id = ?", (root,))
    problems = await check_database(db, engine.cfg)
    assert problems == [
        f"tree {root}: stuck in initial_prompt_review: its prompt is already accepted, "
        "so it belongs in prompt_lottery_waiting"
    ]


async def test_a_growing_tree_that_cannot_reach_its_goal_is_stuck(new_engine, clock, users, db):
    """Settings whose trees hold fewer messages than their goal: the engine leaves such a tree growing for ever."""
    engine = new_engine(goal=5, max_tree_depth=1, max_children_count=1)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    await accepted_reply(d, users[1], parent=root)
    assert (await engine.tree_status(root)).state is TreeState.GROWING
    assert await check_database(db, engine.cfg) == [
        f"tree {root}: stuck in growing: only 2 of its goal of 5 messages are accepted, none awaits review, "
        "and no message can take another reply"
    ]


async def test_a_growing_tree_at_its_goal_and_a_tree_left_in_ready_for_scoring_are_stuck(new_engine, clock, users, db):
    engine = new_engine(goal=4)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    await accepted_reply(d, users[1], parent=root)
    assert await check_database(db, engine.cfg) == []
    await db._conn.execute("UPDATE trees SET goal_tree_size = 2 WHERE id = ?", (root,))
    assert await check_database(db, engine.cfg) == [
        f"tree {root}: stuck in growing: 2 accepted messages reach its goal of 2 and none awaits review, "
        "yet it was not moved to ranking"
    ]
    await db._conn.execute("UPDATE trees SET state = 'ready_for_scoring' WHERE id = ?", (root,))
    problems = await check_database(db, engine.cfg)
    assert [p for p in problems if "stuck" in p] == [
        f"tree {root}: stuck in ready_for_scoring: a tree is scored in the step that enters this state, "
        "so nothing moves it on"
    ]
