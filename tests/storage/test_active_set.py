"""The in-memory model of the active set (storage/active.py) against the hand-out's SQL, its source of truth.

After every one of many random operations through the engine's public API (hand-outs, submissions, skips,
releases, lease touches, emojis, moderation, bans, the lottery, the scheduled jobs, time passing), the model's
snapshot must equal `HAND_OUT_SQL`'s for several members, languages and thresholds. Writes by another connection
(as `grove import` or a second process makes them) must be seen by the next hand-out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Engine, EngineConfig, FakeClock, TaskType, errors
from engine.types import LABEL_TYPES, RANKING_TYPES
from storage.database import Database
from storage.handout import HandOutSnapshot
from tests.driver import Driver, fill_labels, member, ranking_tree


@pytest.fixture
async def db():
    """The in-memory model is SQLite's (on PostgreSQL the hand-out reads its snapshot with SQL): SQLite only."""
    database = await Database.open(":memory:")
    yield database
    await database.close()


LANGS = ("en", "de")
ROLES = (("assistant",), ("assistant", "prompter"))


async def both(db: Database, user: int, lang: str, now: float, **kw: Any) -> tuple[HandOutSnapshot, HandOutSnapshot]:
    """(SQL, model) snapshots of the same committed data."""
    args: dict[str, Any] = dict(
        now=now,
        pending_since=now - kw.get("recent", 300),
        recent_since=now - kw.get("recent", 300),
        prompt_reviews=kw.get("prompt_reviews", 3),
        reply_reviews=kw.get("reply_reviews", 3),
        ranked_roles=kw.get("ranked_roles", ROLES[0]),
    )
    async with db.read() as repo:  # the aiosqlite repository: always the SQL
        assert repo.handout.active is None
        sql = await repo.handout.snapshot(1, lang, user, **args)

    async def modelled(repo):
        assert repo.handout.active is db.active
        return await repo.handout.snapshot(1, lang, user, **args)

    return sql, await db.run(modelled, write=False)


async def compare(db: Database, clock: FakeClock, users: list[int], rng: np.random.Generator) -> int:
    checked = 0
    for user in [*rng.choice(users, size=3, replace=False).tolist(), 999_999]:
        for lang in LANGS:
            kw = dict(
                prompt_reviews=int(rng.integers(1, 4)),
                reply_reviews=int(rng.integers(1, 4)),
                ranked_roles=ROLES[int(rng.integers(0, 2))],
                recent=float(rng.choice([0, 60, 300, 3600])),
            )
            sql, model = await both(db, int(user), lang, clock.now(), **kw)
            assert model == sql, f"model and SQL differ for member {user} in {lang} with {kw}"
            checked += 1
    return checked


# (rows to pick from, the edit, the values it may set): a write no engine rule makes, as another program might
RAW_EDITS: tuple[tuple[str, str, tuple[Any, ...]], ...] = (
    ("SELECT id FROM messages", "UPDATE messages SET deleted = 1 - deleted WHERE id = :id", (None,)),
    ("SELECT id FROM messages", "UPDATE messages SET review_result = :v WHERE id = :id", (None, 0, 1)),
    ("SELECT id FROM messages", "UPDATE messages SET review_count = :v WHERE id = :id", (0, 1, 2, 3)),
    ("SELECT id FROM tasks", "UPDATE tasks SET status = :v WHERE id = :id", ("pending", "done", "skipped", "expired")),
    ("SELECT id FROM tasks WHERE type LIKE 'rank%'", "UPDATE tasks SET status = :v WHERE id = :id", ("skipped",)),
    (
        "SELECT id FROM tasks WHERE status = 'pending'",
        "UPDATE tasks SET lease_until = :v WHERE id = :id",
        (None, -10, 600),
    ),
    ("SELECT task_id FROM rankings", "DELETE FROM rankings WHERE task_id = :id", (None,)),
    ("SELECT id FROM labels", "DELETE FROM labels WHERE id = :id", (None,)),
    ("SELECT id FROM trees", "UPDATE trees SET active = 1 - active WHERE id = :id", (None,)),
    (
        "SELECT id FROM trees",
        "UPDATE trees SET state = :v WHERE id = :id",
        ("growing", "ranking", "prompt_lottery_waiting", "initial_prompt_review"),
    ),
)


OPS = ("take",) * 3 + ("finish",) * 2 + ("skip", "release", "touch", "emoji", "delete", "halt", "ban", "lottery")
OPS += ("jobs", "time") + ("raw",) * 3


async def raw_edit(db: Database, rng: np.random.Generator, now: float) -> None:
    """A write no engine rule makes, as another program might: the model must follow any data, not only the
    engine's moves (the triggers stamp the trees whoever writes). Leases are set relative to `now`."""
    pick, edit, values = RAW_EDITS[int(rng.integers(0, len(RAW_EDITS)))]
    async with db.transaction() as repo:
        ids = sorted(r[0] for r in await repo._all(pick))
        if not ids:
            return
        v = values[int(rng.integers(0, len(values)))]
        if "lease_until" in edit and v is not None:
            v = now + v
        await repo._run(edit, {"id": ids[int(rng.integers(0, len(ids)))], "v": v})


async def random_walk(seed: int, steps: int) -> int:
    db = await Database.open(":memory:")
    clock = FakeClock()
    cfg = EngineConfig(goal_tree_size=4, min_goal_tree_size=2)
    engine = Engine(db, cfg, clock=clock, rng=np.random.default_rng([seed, 1]))
    rng = np.random.default_rng(seed)
    try:
        users = [await member(engine, f"m{i}") for i in range(10)]
        d = Driver(engine, clock, users)
        await ranking_tree(d)  # a tree in ranking, and one growing in each language, to start from
        for lang in LANGS:
            await d.growing_tree(users[int(rng.integers(0, 10))], lang)
        checked = await compare(db, clock, users, rng)
        held: list[tuple[Any, int]] = []  # (task, member) handed out and not yet finished
        messages: list[str] = []
        for _ in range(steps):
            op = str(rng.choice(OPS))
            user = int(rng.choice(users))
            lang = str(rng.choice(LANGS))
            try:
                if op == "take":
                    wanted = None if rng.random() < 0.5 else TaskType(str(rng.choice([t.value for t in TaskType])))
                    task = await engine.next_task(user, lang, wanted)
                    held.append((task, user))
                elif op in ("finish", "skip", "release", "touch") and held:
                    task, owner = held.pop(int(rng.integers(0, len(held))))
                    if op == "finish":
                        if task.type in LABEL_TYPES:
                            spam = float(rng.random() < 0.3)
                            await engine.submit_labels(task.id, owner, fill_labels(task, {"spam": spam}))
                        elif task.type in RANKING_TYPES:
                            await engine.submit_ranking(task.id, owner, list(rng.permutation(len(task.candidates))))
                        else:
                            result = await engine.submit_reply(task.id, owner, d.text(task.type.value))
                            if result.message_id:
                                messages.append(result.message_id)
                    elif op == "skip":
                        await engine.skip_task(task.id, owner)
                    elif op == "release":
                        await engine.release_task(task.id, owner, end=bool(rng.random() < 0.5))
                    else:
                        await engine.touch_task(task.id, owner)
                        held.append((task, owner))
                elif op == "emoji" and messages:
                    emoji = str(rng.choice(["+1", "-1", "red_flag", "_skip_reply", "_skip_labeling", "_skip_ranking"]))
                    await engine.react(user, str(rng.choice(messages)), emoji, "toggle")
                elif op == "delete" and messages and rng.random() < 0.3:
                    await engine.delete_message(str(rng.choice(messages)), None, "test")
                elif op == "halt" and messages:
                    tree_id = (await engine.message(str(rng.choice(messages)))).tree_id
                    if rng.random() < 0.5:
                        await engine.halt_tree(tree_id, None, "test")
                    else:
                        await engine.resume_tree(tree_id, None, "test")
                elif op == "ban" and rng.random() < 0.2:
                    await (engine.ban_user if rng.random() < 0.5 else engine.unban_user)(user, None, "test")
                elif op == "lottery":
                    await engine.run_prompt_lottery(lang)
                elif op == "jobs":
                    await engine.expire_tasks()
                    await engine.reconcile()
                elif op == "raw":
                    await raw_edit(db, rng, clock.now())
                elif op == "time":
                    clock.advance(float(rng.choice([5, 60, 400, 1500, 7200])))
            except errors.DomainError:
                pass
            clock.advance(float(rng.exponential(3.0)))
            checked += await compare(db, clock, users, rng)
        return checked
    finally:
        await db.close()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_model_equals_the_sql_after_random_operations(seed: int) -> None:
    assert asyncio.run(random_walk(seed, steps=100)) > 800


async def test_model_is_used_for_hand_outs_and_follows_its_own_writes(driver, engine, db, users):
    tree_id = await driver.growing_tree(users[0])
    assert db.active is not None
    task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert db.active.seen > 0, "the hand-out did not go through the model"
    seen = db.active.seen
    await engine.submit_reply(task.id, users[1], "an answer")
    task = await engine.next_task(users[2], "en", TaskType.LABEL_ASSISTANT_REPLY)
    assert db.active.seen > seen and task.tree_id == tree_id


async def test_a_write_by_another_connection_is_seen_by_the_next_hand_out(tmp_path, clock):
    """As `grove import` or a second bot process would write: the model reloads exactly what changed."""
    path = tmp_path / "shared.sqlite3"
    bot = await Database.open(path)
    other = await Database.open(path)
    try:
        engine = Engine(bot, EngineConfig(), clock=clock, rng=np.random.default_rng(0))
        users = [await member(engine, f"m{i}") for i in range(6)]
        d = Driver(engine, clock, users)
        tree_id = await d.growing_tree(users[0])
        reply = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
        await engine.submit_reply(reply.id, users[1], "an answer")
        before = (await engine.availability(users[2], "en")).counts[TaskType.LABEL_ASSISTANT_REPLY]
        assert before == 1
        # another program deletes the reply behind the bot's back
        async with other.transaction() as repo:
            await repo._run("UPDATE messages SET deleted = 1 WHERE tree_id = ? AND parent_id IS NOT NULL", (tree_id,))
        assert (await engine.availability(users[2], "en")).counts[TaskType.LABEL_ASSISTANT_REPLY] == 0
        with pytest.raises(errors.NoTaskAvailable):
            await engine.next_task(users[2], "en", TaskType.LABEL_ASSISTANT_REPLY)
        # and a whole new tree written by the other program is offered
        other_engine = Engine(other, EngineConfig(), clock=clock, rng=np.random.default_rng(1))
        await Driver(other_engine, clock, users).growing_tree(users[3], "de")
        assert (await engine.availability(users[4], "de")).counts[TaskType.ASSISTANT_REPLY] == 1
    finally:
        await other.close()
        await bot.close()


async def test_a_unit_that_rolls_back_after_the_model_read_its_rows_resets_the_model(driver, engine, db, users):
    await driver.growing_tree(users[0])
    await engine.availability(users[1], "en")
    assert db.active is not None
    version = db.active.version

    class Boom(Exception):
        pass

    async def write_then_read_then_fail(repo):
        await repo._run("UPDATE trees SET active = 0")
        await repo.handout.snapshot(
            1, "en", users[1], now=0.0, pending_since=0.0, recent_since=0.0, prompt_reviews=3, reply_reviews=3,
            ranked_roles=["assistant"],
        )  # fmt: skip
        raise Boom

    with pytest.raises(Boom):
        await db.run(write_then_read_then_fail)
    assert db.active.version > version and db.active.seen == 0, "the model kept rows that were rolled back"
    counts = (await engine.availability(users[1], "en")).counts
    assert counts[TaskType.ASSISTANT_REPLY] == 1, "the rolled-back deactivation must not hide the tree"


async def test_the_model_can_be_turned_off():
    db = await Database.open(":memory:", active_set=False)
    try:
        assert db.active is None

        async def unit(repo):
            return repo.handout.active

        assert await db.run(unit, write=False) is None
    finally:
        await db.close()


async def test_a_skipped_ranking_task_without_its_opt_out_still_excludes_the_member(make_engine, db, clock):
    """Rows no engine move leaves behind alone (a skipped ranking task whose opt-out emoji is gone): the random
    walk rarely meets them, so each is checked here."""
    engine = make_engine(goal_tree_size=4, min_goal_tree_size=2)
    users = [await member(engine, f"m{i}") for i in range(10)]
    root, _ = await ranking_tree(Driver(engine, clock, users))
    task = await engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await engine.skip_task(task.id, users[9])
    async with db.transaction() as repo:
        await repo._run("DELETE FROM message_emojis WHERE message_id = ?", (root,))
    for user in users:
        sql, model = await both(db, user, "en", clock.now(), ranked_roles=("assistant",))
        assert model == sql
    sql, _ = await both(db, users[9], "en", clock.now())
    assert sql.rankings == [] and (await both(db, users[5], "en", clock.now()))[0].rankings != []


async def test_a_refusal_before_any_write_keeps_the_model(driver, engine, db, users):
    """Most refusals (no task of that kind, too many open tasks) come before the unit writes: the model read only
    committed rows and stays loaded (a reset per refusal once cost half the bot's CPU under load)."""
    await driver.growing_tree(users[0])
    await engine.availability(users[1], "en")
    assert db.active is not None
    held = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    for _ in range(3):
        await engine.touch_task(held.id, users[2])  # a write: the next hand-out reloads that tree
        with pytest.raises(errors.NoTaskAvailable):
            await engine.next_task(users[1], "en", TaskType.RANK_ASSISTANT_REPLIES)
        assert db.active._pairs, "the refused hand-out made the model forget everything"
