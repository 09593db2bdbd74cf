"""Property: whatever members and moderators do, valid or not, the database stays sound.

Each example builds a fresh in-memory database and engine, applies a random sequence of operations
and runs `check_database` after every step. Domain errors are expected for invalid operations; any
other exception fails the test. A refused operation must leave every row as it was (except the draft
a refused reply leaves on its task, which is intended: decisions #17).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Emoji, Engine, EngineConfig, FakeClock, TaskType, TreeState, errors
from engine.check import check_database
from engine.types import LABEL_TYPES, WRITING_TYPES, Task
from storage.database import Database
from tests.driver import GOOD, SPAM, Driver, fill_labels, member

N_USERS = 6
LANGS = ("en", "de")
TASK_TYPES = [None, *TaskType]
EMOJIS = [e.value for e in Emoji] + ["banana"]

# ------------------------------------------------------------------ operations

idx = st.integers(0, 1_000)  # resolved modulo the number of users/tasks/messages/trees when applied
user = st.integers(0, N_USERS - 1)
lang = st.sampled_from(LANGS)

ops_strategy = st.one_of(
    st.tuples(st.just("next"), user, lang, st.sampled_from(TASK_TYPES)),
    st.tuples(st.just("reply"), idx, st.sampled_from(["good", "good", "empty", "long", "dup", "nul"])),
    st.tuples(
        st.just("labels"),
        idx,
        st.sampled_from(["good", "good", "spam", "bad_name", "out_of_range", "nan", "missing", "wrong_message"]),
    ),
    st.tuples(st.just("rank"), idx, st.sampled_from(["valid", "valid", "invalid", "not_rankable", "none"]), idx),
    st.tuples(st.just("wrong_kind"), idx),
    st.tuples(st.just("skip"), idx),
    st.tuples(st.just("foreign"), idx, user),
    st.tuples(st.just("unknown"), user, st.sampled_from(["reply", "labels", "rank", "skip"])),
    st.tuples(st.just("react"), user, idx, st.sampled_from(EMOJIS), st.sampled_from(["toggle", "add", "remove"])),
    st.tuples(st.just("lottery"), lang),
    st.tuples(st.just("expire"), st.sampled_from([1.0, 60.0, 400.0, 1800.0, 4000.0])),
    st.tuples(st.just("jobs"), lang),
    st.tuples(st.just("halt"), idx),
    st.tuples(st.just("resume"), idx),
    st.tuples(st.just("delete"), idx),
    st.tuples(st.just("restore"), idx),
    st.tuples(st.just("ban"), user),
    st.tuples(st.just("unban"), user),
    st.tuples(st.just("purge"), user),
    # a burst of well-behaved work, so that trees actually get to ranking and export
    st.tuples(st.just("work"), user, lang, st.integers(1, 25)),
    st.tuples(st.just("work"), user, lang, st.integers(1, 25)),
)


@dataclass
class World:
    db: Database
    engine: Engine
    clock: FakeClock
    users: list[int]
    moderator: int
    rng: random.Random
    n: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        self.n += 1
        return f"contribution number {self.n}"


async def _rows(db: Database, sql: str) -> list[Any]:
    return [tuple(r) for r in await db._conn.execute_fetchall(sql)]


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table; tasks without their draft column."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    tables = [r[0] for r in await _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table == "tasks":
            cols = [r[1] for r in await _rows(db, "PRAGMA table_info(tasks)") if r[1] != "draft"]
            rows = await _rows(db, f"SELECT {', '.join(cols)} FROM tasks")
        else:
            rows = await _rows(db, f"SELECT * FROM {table}")
        out[table] = sorted(rows, key=repr)
    return out


async def _pick(db: Database, sql: str, i: int) -> tuple[Any, ...] | None:
    rows = await _rows(db, sql)
    return rows[i % len(rows)] if rows else None


async def _task(w: World, i: int) -> tuple[Task, int] | None:
    row = await _pick(w.db, "SELECT id, user_id FROM tasks ORDER BY created_at, id", i)
    if row is None:
        return None
    return await w.engine.get_task(row[0], row[1]), row[1]


async def _submit_good(w: World, task: Task, owner: int) -> None:
    if task.type in WRITING_TYPES:
        await w.engine.submit_reply(task.id, owner, w.text())
    elif task.type in LABEL_TYPES:
        await w.engine.submit_labels(task.id, owner, fill_labels(task, GOOD))
    else:
        order = list(range(len(task.candidates)))
        w.rng.shuffle(order)
        await w.engine.submit_ranking(task.id, owner, order)


async def apply(w: World, op: tuple[Any, ...]) -> None:
    """One operation; may raise DomainError."""
    e, kind = w.engine, op[0]
    if kind == "next":
        _, u, lg, tt = op
        await e.next_task(w.users[u], lg, tt)
    elif kind == "reply":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        text = {
            "good": w.text(),
            "empty": "  \n ",
            "long": "x" * (e.cfg.message_size_limit + 1),
            "dup": "the very same words",
            "nul": "a\x00b",
        }[op[2]]
        await e.submit_reply(task.id, owner, text)
    elif kind == "labels":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        mode = op[2]
        message_id = None
        if mode in ("good", "spam", "wrong_message"):
            labels = fill_labels(task, GOOD if mode != "spam" else SPAM)
            if mode == "wrong_message":
                message_id = str(uuid.UUID(int=w.rng.getrandbits(128)))
        elif mode == "bad_name":
            labels = {"spam": 0.0, "not_a_label": 0.5}
        elif mode == "out_of_range":
            labels = {"spam": 1.5}
        elif mode == "nan":
            labels = {"spam": float("nan")}
        else:
            labels = {"quality": 0.5}  # spam, which is mandatory, is missing
        await e.submit_labels(task.id, owner, labels, message_id=message_id)
    elif kind == "rank":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        n = len(task.candidates)
        mode = op[2]
        if mode == "valid":
            order = list(range(n))
            random.Random(op[3]).shuffle(order)
            await e.submit_ranking(task.id, owner, order)
        elif mode == "invalid":
            await e.submit_ranking(task.id, owner, [0] * max(n, 2) if op[3] % 2 else list(range(n + 1)))
        elif mode == "not_rankable":
            await e.submit_ranking(task.id, owner, None, not_rankable=True)
        else:
            await e.submit_ranking(task.id, owner, None)
    elif kind == "wrong_kind":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        if task.type in WRITING_TYPES:
            await e.submit_labels(task.id, owner, {"spam": 0.0})
        elif task.type in LABEL_TYPES:
            await e.submit_ranking(task.id, owner, [0, 1])
        else:
            await e.submit_reply(task.id, owner, w.text())
    elif kind == "skip":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        await e.skip_task(task.id, owner)
    elif kind == "foreign":
        found = await _task(w, op[1])
        if found is None:
            return
        task, owner = found
        other = w.users[op[2]]
        if other == owner:
            other = w.moderator
        await _submit_good(w, task, other)
    elif kind == "unknown":
        fake = str(uuid.UUID(int=w.rng.getrandbits(128)))
        u = w.users[op[1]]
        if op[2] == "reply":
            await e.submit_reply(fake, u, w.text())
        elif op[2] == "labels":
            await e.submit_labels(fake, u, {"spam": 0.0})
        elif op[2] == "rank":
            await e.submit_ranking(fake, u, [0, 1])
        else:
            await e.skip_task(fake, u)
    elif kind == "react":
        _, u, i, emoji, emoji_op = op
        row = await _pick(w.db, "SELECT id FROM messages ORDER BY created_at, id", i)
        message_id = row[0] if row else str(uuid.UUID(int=i))
        await e.react(w.users[u], message_id, emoji, emoji_op)
    elif kind == "lottery":
        await e.run_prompt_lottery(op[1])
    elif kind == "expire":
        w.clock.advance(op[1])
        await e.expire_tasks()
    elif kind == "jobs":
        await e.run_auto_moderation(op[1])
        await e.halt_prompts_of_disabled_users()
        await e.retry_scoring()
        await e.activate_backlog(op[1])
    elif kind in ("halt", "resume"):
        # mostly trees the operation applies to, sometimes any tree (which may be refused)
        wanted = "=" if kind == "resume" else "!="
        row = (
            None
            if op[1] % 5 == 0
            else await _pick(
                w.db, f"SELECT id FROM trees WHERE state {wanted} 'halted_by_moderator' ORDER BY created_at, id", op[1]
            )
        )
        row = row or await _pick(w.db, "SELECT id FROM trees ORDER BY created_at, id", op[1])
        if row is None:
            return
        if kind == "halt":
            await e.halt_tree(row[0], w.moderator, "property test")
        else:
            await e.resume_tree(row[0], w.moderator, "property test")
    elif kind in ("delete", "restore"):
        row = (
            None
            if op[1] % 5 == 0
            else await _pick(
                w.db, f"SELECT id FROM messages WHERE deleted = {int(kind == 'restore')} ORDER BY created_at, id", op[1]
            )
        )
        row = row or await _pick(w.db, "SELECT id FROM messages ORDER BY created_at, id", op[1])
        if row is None:
            return
        if kind == "delete":
            await e.delete_message(row[0], w.moderator, "property test")
        else:
            await e.restore_message(row[0], w.moderator, "property test")
    elif kind == "ban":
        await e.ban_user(w.users[op[1]], w.moderator, "property test")
    elif kind == "unban":
        await e.unban_user(w.users[op[1]], w.moderator, "property test")
    elif kind == "purge":
        await e.purge_user(w.users[op[1]], w.moderator, reason="property test")
    else:  # pragma: no cover
        raise AssertionError(f"unknown operation {op!r}")


async def work(w: World, u: int, lg: str, steps: int) -> None:
    """Well-behaved members take random tasks and complete them correctly; invariants checked after each."""
    for i in range(steps):
        member = w.users[(u + i) % len(w.users)]
        w.clock.advance(5.0)
        try:
            try:
                task = await w.engine.next_task(member, lg)
            except errors.NoTaskAvailable:
                task = await w.engine.next_task(member, lg, TaskType.INITIAL_PROMPT)
            await _submit_good(w, task, member)
            w.outcomes["work_done"] = w.outcomes.get("work_done", 0) + 1
        except errors.DomainError:
            w.outcomes["work_refused"] = w.outcomes.get("work_refused", 0) + 1
        problems = await check_database(w.db, w.engine.cfg)
        assert problems == [], f"after work step {i} of member {member}: {problems}"


async def new_world(seed: int, cfg: EngineConfig) -> World:
    db = await Database.open(":memory:")
    clock = FakeClock()
    engine = Engine(db, cfg, clock=clock, rng=np.random.default_rng(seed))
    users = [await member(engine, f"user{i}", f"User {i}", auth="prop") for i in range(N_USERS)]
    moderator = await member(engine, "moderator", "Moderator", auth="prop")
    return World(db, engine, clock, users, moderator, random.Random(seed))


async def scenario(seed: int, cfg: EngineConfig, ops: list[tuple[Any, ...]]) -> World:
    w = await new_world(seed, cfg)
    try:
        for step, op in enumerate(ops):
            w.clock.advance(1.0)
            if op[0] == "work":
                await work(w, op[1], op[2], op[3])
                continue
            before = await snapshot(w.db)
            try:
                await apply(w, op)
            except errors.DomainError as exc:
                w.outcomes[f"refused:{exc.code.name}"] = w.outcomes.get(f"refused:{exc.code.name}", 0) + 1
                assert await snapshot(w.db) == before, f"step {step}: refused {op!r} ({exc!r}) changed the database"
            else:
                w.outcomes[op[0]] = w.outcomes.get(op[0], 0) + 1
            problems = await check_database(w.db, w.engine.cfg)
            assert problems == [], f"step {step}: {op!r} broke invariants: {problems}"
        return w
    finally:
        await w.db.close()


configs = st.builds(
    lambda goal, random_goal, red_flags, skips, validity, backlog, rank_prompter: EngineConfig(
        goal_tree_size=goal,
        min_goal_tree_size=2,
        random_goal_tree_size=random_goal,
        auto_mod_red_flags=red_flags,
        auto_mod_max_skip_reply=skips,
        task_validity_minutes=validity,
        p_activate_backlog_tree=backlog,
        rank_prompter_replies=rank_prompter,
        max_pending_tasks_per_user=4,
    ),
    st.sampled_from([3, 4, 4, 5]),
    st.booleans(),
    st.integers(2, 4),
    st.integers(2, 6),
    st.sampled_from([0, 10, 60]),
    st.sampled_from([0.0, 0.1, 1.0]),
    st.booleans(),
)


@pytest.mark.slow
@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed=st.integers(0, 2**32 - 1), cfg=configs, ops=st.lists(ops_strategy, min_size=30, max_size=60))
def test_random_operations_keep_the_database_sound(seed, cfg, ops):
    asyncio.run(scenario(seed, cfg, ops))


def test_well_behaved_work_alone_exports_trees():
    """The operations above can reach every stage: a run of good work exports trees in both languages."""

    async def run() -> dict[str, int]:
        cfg = EngineConfig(goal_tree_size=4, min_goal_tree_size=2)
        ops: list[tuple[Any, ...]] = []
        for r in range(6):
            ops += [("work", r % N_USERS, "en", 25), ("work", r % N_USERS, "de", 25)]
        w = await new_world(7, cfg)
        try:
            for op in ops:
                await work(w, op[1], op[2], op[3])
            counts = {lg: (await w.engine.tree_counts(lg))[TreeState.READY_FOR_EXPORT] for lg in LANGS}
        finally:
            await w.db.close()
        return counts

    counts = asyncio.run(run())
    assert all(n > 0 for n in counts.values()), counts


def test_refusals_of_every_kind_change_nothing():
    """A fixed sequence with many kinds of refusal, each compared against a snapshot (see `scenario`)."""
    ops: list[tuple[Any, ...]] = [
        ("next", 0, "en", TaskType.INITIAL_PROMPT),
        ("reply", 0, "empty"),
        ("reply", 0, "long"),
        ("reply", 0, "nul"),
        ("foreign", 0, 1),
        ("unknown", 2, "reply"),
        ("wrong_kind", 0),
        ("reply", 0, "good"),
        ("reply", 0, "good"),  # already done
        ("skip", 0),  # already done
        ("react", 0, 0, "banana", "add"),
        ("react", 0, 0, "+1", "add"),  # own message: a no-op, not an error
        ("react", 1, 0, "+1", "toggle"),
        ("resume", 0),  # not halted
        ("restore", 0),  # not deleted
        ("next", 1, "en", TaskType.LABEL_INITIAL_PROMPT),
        ("labels", 1, "bad_name"),
        ("labels", 1, "out_of_range"),
        ("labels", 1, "nan"),
        ("labels", 1, "missing"),
        ("labels", 1, "wrong_message"),
        ("labels", 1, "good"),
        ("next", 0, "english!", None),
        ("next", 3, "en", TaskType.RANK_ASSISTANT_REPLIES),
        ("halt", 0),
        ("halt", 0),  # already halted
        ("resume", 0),
        ("delete", 0),
        ("delete", 0),  # already deleted
        ("restore", 0),
        ("ban", 4),
        ("next", 4, "en", None),  # banned
        ("unban", 4),
    ]
    w = asyncio.run(scenario(3, EngineConfig(goal_tree_size=4, min_goal_tree_size=2), ops))
    refused = {k for k in w.outcomes if k.startswith("refused:")}
    for code in (
        "MESSAGE_EMPTY",
        "MESSAGE_TOO_LONG",
        "TASK_NOT_YOURS",
        "TASK_NOT_FOUND",
        "TASK_WRONG_KIND",
        "TASK_ALREADY_DONE",
        "INVALID_EMOJI",
        "INVALID_STATE_CHANGE",
        "LABELS_INVALID_LABEL",
        "LABELS_INVALID_VALUE",
        "LABELS_MANDATORY_MISSING",
        "LABELS_WRONG_MESSAGE",
        "INVALID_LANGUAGE",
        "NO_TASK_AVAILABLE",
        "USER_DISABLED",
    ):
        assert f"refused:{code}" in refused, (code, w.outcomes)


# ------------------------------------------------------------------ regressions the property test found


async def _small_tree(make_engine, clock, users, goal: int = 3) -> tuple[Engine, Driver, str]:
    engine = make_engine(goal_tree_size=goal, min_goal_tree_size=2)
    driver = Driver(engine, clock, users)
    return engine, driver, await driver.growing_tree()


async def _reply(engine: Engine, driver: Driver, user: int) -> str:
    task = await engine.next_task(user, "en", TaskType.ASSISTANT_REPLY)
    result = await engine.submit_reply(task.id, user, driver.text("answer"))
    assert result.message_id is not None
    return result.message_id


async def test_restoring_a_reply_whose_slot_was_refilled_is_refused(make_engine, clock, users, db):
    engine, driver, _tree_id = await _small_tree(make_engine, clock, users)
    mod = users[-1]
    first = await _reply(engine, driver, users[1])
    await engine.delete_message(first, mod)
    await _reply(engine, driver, users[2])
    await _reply(engine, driver, users[3])  # the tree is full again: prompt + 2 replies = goal 3
    with pytest.raises(errors.InvalidStateChange):
        await engine.restore_message(first, mod)
    assert (await engine.message(first)).deleted
    assert await check_database(db) == []


async def test_restoring_a_reply_while_its_slot_is_reserved_is_refused(make_engine, clock, users, db):
    engine, driver, _tree_id = await _small_tree(make_engine, clock, users)
    mod = users[-1]
    first = await _reply(engine, driver, users[1])
    await engine.delete_message(first, mod)
    await _reply(engine, driver, users[2])
    task = await engine.next_task(users[3], "en", TaskType.ASSISTANT_REPLY)  # holds the last slot
    with pytest.raises(errors.InvalidStateChange):
        await engine.restore_message(first, mod)
    await engine.submit_reply(task.id, users[3], "the last answer")
    assert await check_database(db) == []


async def test_restoring_a_reply_into_an_exported_tree_sends_it_back_to_ranking(make_engine, clock, users, db):
    engine, driver, tree_id = await _small_tree(make_engine, clock, users)
    mod = users[-1]
    first = await _reply(engine, driver, users[1])
    second = await _reply(engine, driver, users[2])
    await driver.work(kinds=frozenset({TaskType.LABEL_ASSISTANT_REPLY}), until_state=(tree_id, TreeState.RANKING))
    assert (await engine.tree_status(tree_id)).state is TreeState.RANKING
    # with one answer left there is nothing to rank: the tree is exported at once
    assert await engine.delete_message(second, mod) is TreeState.READY_FOR_EXPORT
    # the restored answer makes the pair rankable again, and it has no rankings
    assert await engine.restore_message(second, mod) is TreeState.RANKING
    assert await check_database(db) == []
    await driver.work(until_state=(tree_id, TreeState.READY_FOR_EXPORT))
    assert (await engine.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT
    assert {(await engine.message(m)).rank for m in (first, second)} == {0, 1}
    assert await check_database(db) == []


async def test_resuming_an_exported_tree_that_lost_rankings_while_halted_reopens_ranking(make_engine, clock, users, db):
    engine, driver, tree_id = await _small_tree(make_engine, clock, users)
    mod = users[-1]
    await _reply(engine, driver, users[1])
    await _reply(engine, driver, users[2])
    await driver.work(until_state=(tree_id, TreeState.READY_FOR_EXPORT))
    assert (await engine.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT
    ranker = await _a_ranker(db, tree_id)
    await engine.halt_tree(tree_id, mod)
    await engine.purge_user(ranker, mod)
    assert await check_database(db) == []
    assert await engine.resume_tree(tree_id, mod) is TreeState.RANKING
    assert await check_database(db) == []


async def _a_ranker(db: Database, tree_id: str) -> int:
    rows = await _rows(db, f"SELECT user_id FROM rankings WHERE tree_id = '{tree_id}' ORDER BY created_at")
    return int(rows[0][0])
