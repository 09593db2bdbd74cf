"""The engine's own writes keep the in-memory model of the active set in step without reloading trees
(storage/active_patches.py), only when the model had seen every earlier stamp, and never past a rollback.

The random walk in `test_active_set.py` checks the patched model against `HAND_OUT_SQL` after every operation;
these tests check that the patches are what keeps it in step, and the cases where they must not be used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock, TaskType
from storage.active import ActiveSet
from storage.database import Database
from tests.driver import Driver, fill_labels, member, ranking_tree
from tests.storage.test_active_set import both


@pytest.fixture
async def db():
    """The in-memory model is SQLite's: SQLite only."""
    database = await Database.open(":memory:")
    yield database
    await database.close()


@pytest.fixture
def reloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every tree id the model reloads from the database."""
    seen: list[str] = []
    original = ActiveSet._reload

    async def spy(self: ActiveSet, q: Any, tree_ids: Any) -> None:
        seen.extend(tree_ids)
        await original(self, q, tree_ids)

    monkeypatch.setattr(ActiveSet, "_reload", spy)
    return seen


async def same(db: Database, users: list[int], clock: FakeClock) -> None:
    for user in users:
        for roles in (("assistant",), ("assistant", "prompter")):
            sql, model = await both(db, user, "en", clock.now(), ranked_roles=roles)
            assert model == sql, f"model and SQL differ for member {user}"


async def test_hand_outs_and_submissions_keep_the_model_without_reloading(db, clock, reloads):
    engine = Engine(db, EngineConfig(goal_tree_size=4, min_goal_tree_size=2), clock=clock, rng=np.random.default_rng(0))
    users = [await member(engine, f"m{i}") for i in range(10)]
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    await engine.availability(users[1], "en")  # the model loads this language
    reloads.clear()
    # a reply, its reviews (the third gives the verdict), a skip, a touched lease, a released task
    task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    await engine.touch_task(task.id, users[1])
    reply = (await engine.submit_reply(task.id, users[1], "an answer")).message_id
    for user in users[2:5]:
        review = await engine.next_task(user, "en", TaskType.LABEL_ASSISTANT_REPLY)
        assert review.target_id == reply
        await engine.submit_labels(review.id, user, fill_labels(review, {"spam": 0.0}))
    assert (await engine.message(reply)).review_result is True
    skipped = await engine.next_task(users[5], "en", TaskType.ASSISTANT_REPLY)
    await engine.skip_task(skipped.id, users[5])
    released = await engine.next_task(users[6], "en", TaskType.ASSISTANT_REPLY)
    await engine.release_task(released.id, users[6], end=True)
    await same(db, users, clock)
    assert reloads == [], f"the engine's own writes reloaded trees {reloads} (root {root})"


async def test_rankings_and_the_move_to_export_keep_the_model(db, clock, reloads):
    engine = Engine(db, EngineConfig(goal_tree_size=4, min_goal_tree_size=4), clock=clock, rng=np.random.default_rng(1))
    users = [await member(engine, f"m{i}") for i in range(12)]
    root, _ = await ranking_tree(Driver(engine, clock, users))
    await engine.availability(users[9], "en")
    reloads.clear()
    for i, user in enumerate(users[9:12]):
        task = await engine.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)
        await engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
        await same(db, users, clock)
        if i < 2:  # the ballots apply themselves
            assert reloads == [], reloads
    # the third ballot scores the tree, which leaves the states the model holds: that tree alone is reloaded
    assert set(reloads) == {root}


async def test_a_write_after_another_programs_write_leaves_the_other_write_to_the_reload(tmp_path, clock, reloads):
    """The model applies its own write only when it had seen every stamp before it: another program's earlier
    write must still be read, or the model would skip it for good."""
    path = tmp_path / "shared.sqlite3"
    bot, other = await Database.open(path), await Database.open(path)
    try:
        engine = Engine(bot, EngineConfig(), clock=clock, rng=np.random.default_rng(0))
        users = [await member(engine, f"m{i}") for i in range(6)]
        tree_id = await Driver(engine, clock, users).growing_tree(users[0])
        await engine.availability(users[1], "en")
        async with other.transaction() as repo:  # another program lowers the tree's goal behind the bot's back
            await repo._run("UPDATE trees SET max_children_count = 1 WHERE id = ?", (tree_id,))
        reloads.clear()
        task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)  # catches up first, then writes
        assert reloads == [tree_id]
        reloads.clear()
        async with other.transaction() as repo:
            await repo._run("UPDATE trees SET max_children_count = 3 WHERE id = ?", (tree_id,))
        await engine.touch_task(task.id, users[1])  # the bot's own write, after the other program's
        sql, model = await both(bot, users[2], "en", clock.now())
        assert model == sql
        assert reloads == [tree_id], "the other program's write was skipped"
    finally:
        await other.close()
        await bot.close()


async def test_a_unit_that_rolls_back_after_a_patch_resets_the_model(db, clock, reloads):
    engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(0))
    users = [await member(engine, f"m{i}") for i in range(6)]
    root = await Driver(engine, clock, users).growing_tree(users[0])
    await engine.availability(users[1], "en")
    assert db.active is not None

    class Boom(Exception):
        pass

    async def hand_out_then_fail(repo: Any) -> None:
        await repo.insert_task(
            task_id="t-rolled-back", user_id=users[1], type="assistant_reply", lang="en", random_request=False,
            tree_id=root, target_id=root, payload={}, now=clock.now(), expires_at=None, community=1,
            lease_until=clock.now() + 600,
        )  # fmt: skip
        raise Boom

    with pytest.raises(Boom):
        await db.run(hand_out_then_fail)
    assert db.active.seen == 0, "the model kept a reservation that was rolled back"
    await same(db, users, clock)
