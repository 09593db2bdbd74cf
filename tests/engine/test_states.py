"""Tree state machine: the main path, acceptance, growing → ranking, scoring, lottery, backlog, halt/resume."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from engine import Engine, EngineConfig, TaskStatus, TaskType, TreeState, errors, lifecycle, policy
from engine.check import check_database
from engine.engine import MONTH
from engine.ranking import ranked_pairs
from engine.records import MessageRow
from tests.driver import GOOD, SPAM, Driver, accepted_reply, reply, tree_row

LANG_MISMATCH = {"spam": 0.0, "lang_mismatch": 1.0}


# ---------------------------------------------------------------------------------------------- helpers


async def tree_messages(db, tree_id: str) -> list[MessageRow]:
    async with db.read() as repo:
        return await repo.messages_of_tree(tree_id)


async def state_of(engine: Engine, tree_id: str) -> TreeState:
    return (await engine.tree_status(tree_id)).state


def best_by_highest_id(task) -> list[int]:
    """A ranking (shown indices, best first) that prefers the candidate with the highest id."""
    ids = [c.id for c in task.candidates]
    return sorted(range(len(ids)), key=lambda i: ids[i], reverse=True)


async def rank_everything(engine: Engine, rankers: Sequence[int], limit: int | None = None) -> int:
    """Each ranker ranks every sibling set offered to them (best = highest id); returns rankings given."""
    given = 0
    for user in rankers:
        while limit is None or given < limit:
            try:
                task = await engine.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)
            except errors.NoTaskAvailable:
                break
            await engine.submit_ranking(task.id, user, best_by_highest_id(task))
            given += 1
    return given


async def ranking_tree(d: Driver) -> tuple[str, list[str]]:
    """A goal-3 tree (prompt by users[0], two assistant replies by users[1] and users[2]) now in ranking."""
    root = await d.growing_tree(d.users[0])
    replies = [await accepted_reply(d, d.users[1], parent=root)]
    assert await state_of(d.engine, root) is TreeState.GROWING
    replies.append(await accepted_reply(d, d.users[2], parent=root))
    assert await state_of(d.engine, root) is TreeState.RANKING
    return root, replies


async def two_sibling_sets_tree(d: Driver) -> tuple[str, dict[str, list[str]]]:
    """A goal-6 tree with two rankable sibling sets (needs max_children_count=2), now in ranking:
    root → A1, A2; P1 under one of them; P1 → A3, A4."""
    u = d.users
    root = await d.growing_tree(u[0])
    a1 = await accepted_reply(d, u[1], parent=root)
    a2 = await accepted_reply(d, u[2], parent=root)
    p1 = await accepted_reply(d, u[3], TaskType.PROMPTER_REPLY)
    a3 = await accepted_reply(d, u[4], parent=p1)
    assert await state_of(d.engine, root) is TreeState.GROWING
    a4 = await accepted_reply(d, u[5], parent=p1)
    assert await state_of(d.engine, root) is TreeState.RANKING
    return root, {root: sorted([a1, a2]), p1: sorted([a3, a4])}


async def insert_backlog_tree(db, clock, tree_id: str, author: int, children: int) -> list[str]:
    """An imported, inactive backlog_ranking tree: an accepted prompt with `children` accepted assistant replies."""
    async with db.transaction() as repo:
        await repo.insert_tree(
            tree_id,
            state="backlog_ranking",
            active=False,
            lang="en",
            goal_tree_size=12,
            max_depth=3,
            max_children_count=3,
            now=clock.now(),
            community=1,
            origin="import",
        )
        await repo.insert_message(
            message_id=tree_id,
            tree_id=tree_id,
            parent_id=None,
            user_id=author,
            task_id=None,
            role="prompter",
            text=f"imported prompt {tree_id}",
            lang="en",
            depth=0,
            now=clock.now(),
            review_count=3,
            review_result=True,
        )
        ids = []
        for i in range(children):
            child = f"{tree_id}-r{i}"
            await repo.insert_message(
                message_id=child,
                tree_id=tree_id,
                parent_id=tree_id,
                user_id=author,
                task_id=None,
                role="assistant",
                text=f"imported reply {i}",
                lang="en",
                depth=1,
                now=clock.now(),
                review_count=3,
                review_result=True,
            )
            ids.append(child)
    return ids


# ---------------------------------------------------------------------------------------------- main path


async def test_main_path_visits_every_state_with_the_right_active_flag(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    u = users
    root = await d.write_prompt(u[0])
    t = await tree_row(db, root)
    assert (t.state, t.active, t.won_prompt_lottery_at) == (TreeState.INITIAL_PROMPT_REVIEW, True, None)

    await d.review(root, [u[1], u[2]])
    assert await state_of(d.engine, root) is TreeState.INITIAL_PROMPT_REVIEW
    assert (await d.engine.message(root)).review_result is None
    await d.review(root, [u[3]])
    t = await tree_row(db, root)
    assert (t.state, t.active, t.won_prompt_lottery_at) == (TreeState.PROMPT_LOTTERY_WAITING, False, None)
    assert (await d.engine.message(root)).review_result is True

    clock.advance(60)
    won_at = clock.now()
    assert await d.engine.run_prompt_lottery("en") == 1
    t = await tree_row(db, root)
    assert (t.state, t.active, t.won_prompt_lottery_at) == (TreeState.GROWING, True, won_at)

    a = await accepted_reply(d, u[1], parent=root)
    assert await state_of(d.engine, root) is TreeState.GROWING
    b = await accepted_reply(d, u[2], parent=root)
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.RANKING, True)

    # two rankings are not enough; the third completes the tree
    assert await rank_everything(d.engine, [u[3], u[4]]) == 2
    assert await state_of(d.engine, root) is TreeState.RANKING
    assert all(m.rank is None for m in await tree_messages(db, root))
    task = await d.engine.next_task(u[5], "en", TaskType.RANK_ASSISTANT_REPLIES)
    result = await d.engine.submit_ranking(task.id, u[5], best_by_highest_id(task))
    assert result.tree_state is TreeState.READY_FOR_EXPORT
    t = await tree_row(db, root)
    assert (t.state, t.active, t.won_prompt_lottery_at) == (TreeState.READY_FOR_EXPORT, False, won_at)
    ranks = {m.id: m.rank for m in await tree_messages(db, root)}
    best, second = sorted([a, b], reverse=True)
    assert ranks == {root: None, best: 0, second: 1}
    # nothing is left to do on a finished tree
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(u[6], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert await check_database(db) == []


async def test_won_prompt_lottery_at_is_stamped_only_the_first_time(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    root = await d.growing_tree()
    first = (await tree_row(db, root)).won_prompt_lottery_at
    assert first == clock.now()
    clock.advance(3600)
    await d.engine.halt_tree(root, users[11])
    clock.advance(3600)
    assert await d.engine.resume_tree(root, users[11]) is TreeState.GROWING
    assert (await tree_row(db, root)).won_prompt_lottery_at == first


async def test_every_sibling_set_gets_ranks_0_to_n_minus_1_from_ranked_pairs(driver, db):
    tree_id = await driver.exported_tree()
    async with db.read() as repo:
        parents = await repo.rankable_parents(tree_id, ("assistant",))
        ballots = {p: await repo.ballots(p) for p in parents}
    assert len(parents) >= 2, "the default-size tree should have several sibling sets"
    by_id = {m.id: m for m in await tree_messages(db, tree_id)}
    for parent, children in parents.items():
        assert len(ballots[parent]) >= 3
        consensus = ranked_pairs(ballots[parent])
        assert sorted(consensus) == sorted(children)
        assert [by_id[c].rank for c in consensus] == list(range(len(children)))
    ranked_children = {c for cs in parents.values() for c in cs}
    assert all(m.rank is None for m in by_id.values() if m.id not in ranked_children)


async def test_two_sibling_sets_are_ranked_independently(new_engine, clock, users, db):
    d = Driver(new_engine(6, max_children_count=2), clock, users)
    root, sets = await two_sibling_sets_tree(d)
    assert await rank_everything(d.engine, users[9:12]) == 6
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT
    by_id = {m.id: m for m in await tree_messages(db, root)}
    for children in sets.values():
        # every ranker preferred the higher id
        assert [by_id[c].rank for c in sorted(children, reverse=True)] == [0, 1]
        assert all(by_id[c].ranking_count == 3 for c in children)
    assert await check_database(db) == []


# ---------------------------------------------------------------------------------------------- acceptance


async def test_a_prompt_with_one_spam_flag_is_accepted(driver, users):
    root = await driver.write_prompt(users[0])
    await driver.review(root, [users[1]], SPAM)
    await driver.review(root, [users[2], users[3]], GOOD)
    msg = await driver.engine.message(root)
    assert (msg.review_count, msg.review_result) == (3, True)
    assert await state_of(driver.engine, root) is TreeState.PROMPT_LOTTERY_WAITING


@pytest.mark.parametrize(
    "reviews",
    [
        pytest.param([SPAM, LANG_MISMATCH, GOOD], id="spam+lang_mismatch"),
        pytest.param([SPAM, SPAM, GOOD], id="two-spam"),
        pytest.param([{"spam": 1.0, "lang_mismatch": 1.0}, GOOD, GOOD], id="both-flags-one-reviewer"),
    ],
)
async def test_a_prompt_with_two_flags_is_rejected_and_its_tree_aborted(driver, users, db, reviews):
    root = await driver.write_prompt(users[0])
    for reviewer, labels in zip(users[1:4], reviews, strict=True):
        await driver.review(root, [reviewer], labels)
    msg = await driver.engine.message(root)
    assert (msg.review_count, msg.review_result) == (3, False)
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.ABORTED_LOW_GRADE, False)
    # an aborted prompt never enters the lottery
    assert await driver.engine.run_prompt_lottery("en") == 0
    assert await state_of(driver.engine, root) is TreeState.ABORTED_LOW_GRADE


async def test_the_engine_uses_its_own_acceptance_threshold(new_engine, clock, users):
    d = Driver(new_engine(acceptance_threshold_initial_prompt=0.7), clock, users)
    root = await d.write_prompt(users[0])
    await d.review(root, [users[1]], SPAM)
    await d.review(root, [users[2], users[3]])
    assert (await d.engine.message(root)).review_result is False  # 0.667 is not above 0.7
    assert await state_of(d.engine, root) is TreeState.ABORTED_LOW_GRADE


async def test_a_rejected_reply_stays_in_the_growing_tree_and_frees_its_slot(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    bad = await reply(d.engine, u[1], parent=root)
    await d.review(bad, [u[2], u[3]], SPAM)
    await d.review(bad, [u[4]])
    msg = await d.engine.message(bad)
    assert (msg.review_result, msg.deleted) == (False, False)
    assert await state_of(d.engine, root) is TreeState.GROWING
    assert bad in {m.id for m in await tree_messages(db, root)}
    # the rejected reply does not count towards the goal: two more replies are still wanted
    await accepted_reply(d, u[5], parent=root)
    assert await state_of(d.engine, root) is TreeState.GROWING
    await accepted_reply(d, u[6], parent=root)
    assert await state_of(d.engine, root) is TreeState.RANKING


def test_acceptance_score_and_verdict_at_the_edges():
    cfg = EngineConfig()
    t_prompt, t_reply = cfg.acceptance_threshold_initial_prompt, cfg.acceptance_threshold_reply
    ok, spam = {"spam": 0.0}, {"spam": 1.0}
    assert policy.acceptance_score([ok, ok, ok]) == 1.0
    assert policy.acceptance_score([spam, ok, ok]) == pytest.approx(2 / 3)
    assert policy.acceptance_score([spam, spam, ok]) == pytest.approx(1 / 3)
    assert policy.acceptance_score([spam, spam, spam]) == 0.0
    assert policy.acceptance_score([{"spam": 1.0, "lang_mismatch": 1.0}] * 3) == -1.0  # can go negative
    # a missing lang_mismatch counts as 0
    assert policy.acceptance_score([ok, ok, ok]) == policy.acceptance_score([{**ok, "lang_mismatch": 0.0}] * 3)
    assert policy.acceptance_score([{"spam": 0.0, "lang_mismatch": 1.0}, ok, ok]) == pytest.approx(2 / 3)

    assert policy.review_verdict([ok, ok, ok], 3, t_prompt) is True
    assert policy.review_verdict([spam, ok, ok], 3, t_reply) is True
    assert policy.review_verdict([spam, spam, ok], 3, t_reply) is False
    assert policy.review_verdict([spam, {"spam": 0.0, "lang_mismatch": 1.0}, ok], 3, t_prompt) is False
    # a score of exactly the threshold is rejected (strict)
    exactly = [spam, spam, ok, ok, ok]
    assert policy.acceptance_score(exactly) == 0.6 == t_prompt == t_reply
    assert policy.review_verdict(exactly, 5, t_prompt) is False
    assert policy.review_verdict(exactly, 5, t_reply) is False
    assert policy.review_verdict([spam, ok, ok, ok, ok], 5, t_reply) is True  # 0.8
    # no verdict before the required number of reviews
    assert policy.review_verdict([ok, ok], 3, t_prompt) is None
    assert policy.review_verdict([], 3, t_prompt) is None


# ---------------------------------------------------------------------------------------------- late reviews


async def test_a_decided_prompt_is_no_longer_offered_for_review(driver, users):
    root = await driver.write_prompt(users[0])
    await driver.review(root, users[1:4])
    assert (await driver.engine.availability(users[4], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await driver.engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)
    msg = await driver.engine.message(root)
    assert (msg.review_count, msg.review_result) == (3, True)


async def test_review_slots_are_reserved_so_a_fourth_review_is_never_handed_out(driver, users):
    root = await driver.write_prompt(users[0])
    tasks = [await driver.engine.next_task(u, "en", TaskType.LABEL_INITIAL_PROMPT) for u in users[1:4]]
    assert {t.target_id for t in tasks} == {root}
    with pytest.raises(errors.NoTaskAvailable):
        await driver.engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)
    for user, task in zip(users[1:4], tasks, strict=True):
        await driver.engine.submit_labels(task.id, user, {"spam": 0.0})
    assert (await driver.engine.message(root)).review_count == 3


@pytest.mark.parametrize(
    ("first", "late", "verdict"),
    [
        # 2 good reviews accept; with a late double flag the 3 reviews would score 0.333 (reject)
        pytest.param([GOOD, GOOD], {"spam": 1.0, "lang_mismatch": 1.0}, True, id="accepted-stays-accepted"),
        # good + spam scores 0.5 and rejects; with a late good review the 3 would score 0.667 (accept)
        pytest.param([GOOD, SPAM], GOOD, False, id="rejected-stays-rejected"),
    ],
)
async def test_a_late_review_does_not_flip_a_final_verdict(new_engine, clock, users, first, late, verdict):
    """Tasks handed out under num_reviews_reply=3; the verdict falls after 2 reviews under num_reviews_reply=2;
    the third, late review is stored but changes nothing (decisions #14)."""
    three = new_engine(5)
    d = Driver(three, clock, users)
    root = await d.growing_tree(users[0])
    target = await reply(three, users[1], parent=root)
    tasks = [await three.next_task(u, "en", TaskType.LABEL_ASSISTANT_REPLY) for u in users[2:5]]
    assert {t.target_id for t in tasks} == {target}

    two = new_engine(5, num_reviews_reply=2)
    for user, task, labels in zip(users[2:4], tasks[:2], first, strict=True):
        await two.submit_labels(task.id, user, {**labels, "quality": 0.5})
    assert (await two.message(target)).review_result is verdict

    await three.submit_labels(tasks[2].id, users[4], {**late, "quality": 0.5})
    msg = await three.message(target)
    assert (msg.review_count, msg.review_result) == (3, verdict)
    assert (await three.get_task(tasks[2].id, users[4])).status is TaskStatus.DONE
    assert await state_of(three, root) is TreeState.GROWING


# ---------------------------------------------------------------------------------------------- growing → ranking


async def test_ranking_waits_for_the_goal_and_for_every_pending_review(new_engine, clock, users):
    d = Driver(new_engine(3), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    await accepted_reply(d, u[1], parent=root)
    assert await state_of(d.engine, root) is TreeState.GROWING  # accepted 2 < goal 3
    b = await reply(d.engine, u[2], parent=root)
    # the tree is full (root + 2 replies), so nobody is offered another reply
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(u[3], "en", TaskType.ASSISTANT_REPLY)
    await d.review(b, [u[3], u[4]])
    assert await state_of(d.engine, root) is TreeState.GROWING  # b still awaits its third review
    await d.review(b, [u[5]])
    assert await state_of(d.engine, root) is TreeState.RANKING


async def test_pending_reviews_hold_back_ranking_even_when_the_goal_is_met(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    await accepted_reply(d, u[1], parent=root)
    last = await reply(d.engine, u[2], parent=root)
    # an extra unreviewed message (e.g. one that arrived before the goal was lowered) sits in the tree
    async with db.transaction() as repo:
        await repo.insert_message(
            message_id="extra",
            tree_id=root,
            parent_id=root,
            user_id=u[3],
            task_id=None,
            role="assistant",
            text="extra reply",
            lang="en",
            depth=1,
            now=clock.now(),
        )
    await d.review(last, [u[4], u[5], u[6]])
    async with db.read() as repo:
        assert await repo.tree_size(root) == (3, 1)  # accepted = goal, but one message awaits review
    assert await state_of(d.engine, root) is TreeState.GROWING
    await d.review("extra", [u[4], u[5], u[6]])
    assert await state_of(d.engine, root) is TreeState.RANKING


async def test_a_growing_tree_with_nothing_accepted_left_is_halted(new_engine, clock, users, db):
    engine = new_engine(3)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    await accepted_reply(d, users[1], parent=root)
    async with db.transaction() as repo:
        await repo.set_deleted(await repo.subtree_ids(root), True)
        assert await repo.tree_size(root) == (0, 0)
        assert await lifecycle.check_ranking_state(engine.step_on(repo), root) is False
    t = await tree_row(db, root)
    assert (t.state, t.active, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, False, TreeState.GROWING)


async def test_a_tree_with_nothing_to_rank_goes_straight_to_export(new_engine, clock, users, db):
    d = Driver(new_engine(2), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    only = await reply(d.engine, u[1], parent=root)
    await d.review(only, [u[2], u[3]])
    assert await state_of(d.engine, root) is TreeState.GROWING
    task = await d.engine.next_task(u[4], "en", TaskType.LABEL_ASSISTANT_REPLY)
    result = await d.engine.submit_labels(task.id, u[4], {"spam": 0.0, "quality": 1.0})
    assert result.tree_state is TreeState.READY_FOR_EXPORT
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.READY_FOR_EXPORT, False)
    assert all(m.rank is None for m in await tree_messages(db, root))
    assert await check_database(db) == []


# ---------------------------------------------------------------------------------------------- scoring failure


async def test_a_failing_ranker_leaves_no_partial_ranks_and_the_retry_job_scores_later(new_engine, clock, users, db):
    calls = []

    def second_call_fails(ballots):
        calls.append(ballots)
        if len(calls) == 2:
            raise RuntimeError("ranker broke")
        return ranked_pairs(ballots)

    cfg = EngineConfig(goal_tree_size=6, min_goal_tree_size=5, max_children_count=2)
    flaky = Engine(db, cfg, clock=clock, rng=np.random.default_rng(1001), ranker=second_call_fails)
    d = Driver(flaky, clock, users)
    root, sets = await two_sibling_sets_tree(d)
    assert await rank_everything(flaky, users[9:12]) == 6
    assert len(calls) == 2  # the first sibling set was scored before the second one failed

    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.SCORING_FAILED, False)
    assert all(m.rank is None for m in await tree_messages(db, root)), "a partial rank survived the failure"
    # a failed tree is not offered for more rankings
    with pytest.raises(errors.NoTaskAvailable):
        await flaky.next_task(users[8], "en", TaskType.RANK_ASSISTANT_REPLIES)

    working = new_engine(6, max_children_count=2)
    assert await working.retry_scoring() == 1
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.READY_FOR_EXPORT, False)
    by_id = {m.id: m for m in await tree_messages(db, root)}
    for children in sets.values():
        assert [by_id[c].rank for c in sorted(children, reverse=True)] == [0, 1]
    assert await working.retry_scoring() == 0
    assert await check_database(db) == []


async def test_a_failing_ranker_on_a_single_sibling_set(new_engine, clock, users, db):
    def boom(ballots):
        raise ValueError("no consensus today")

    cfg = EngineConfig(goal_tree_size=3, min_goal_tree_size=3)
    broken = Engine(db, cfg, clock=clock, rng=np.random.default_rng(1002), ranker=boom)
    d = Driver(broken, clock, users)
    root, replies = await ranking_tree(d)
    await rank_everything(broken, users[3:6])
    assert await state_of(broken, root) is TreeState.SCORING_FAILED
    assert [m.rank for m in await tree_messages(db, root)] == [None, None, None]
    assert await broken.retry_scoring() == 0  # still failing: stays in scoring_failed
    assert await state_of(broken, root) is TreeState.SCORING_FAILED
    assert await new_engine(3).retry_scoring() == 1
    ranks = {m.id: m.rank for m in await tree_messages(db, root)}
    assert ranks[max(replies)] == 0 and ranks[min(replies)] == 1


async def test_retry_sends_a_failed_tree_with_missing_rankings_back_to_ranking(new_engine, clock, users, db):
    def boom(ballots):
        raise ValueError("no consensus today")

    cfg = EngineConfig(goal_tree_size=3, min_goal_tree_size=3)
    broken = Engine(db, cfg, clock=clock, rng=np.random.default_rng(1003), ranker=boom)
    d = Driver(broken, clock, users)
    root, replies = await ranking_tree(d)
    await rank_everything(broken, users[3:6])
    assert await state_of(broken, root) is TreeState.SCORING_FAILED
    async with db.transaction() as repo:  # one ballot is lost (e.g. restored from an older backup)
        await repo.delete_rankings_of_user(users[3])
        await repo.recount_ranking_counts([root])
    working = new_engine(3)
    assert await working.retry_scoring() == 0
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.RANKING, True)
    assert await rank_everything(working, users[6:8]) == 1
    assert await state_of(working, root) is TreeState.READY_FOR_EXPORT
    assert {m.rank for m in await tree_messages(db, root) if m.id in replies} == {0, 1}


# ---------------------------------------------------------------------------------------------- lottery


async def waiting_prompts(new_engine, clock, users, authors: Sequence[int], lang: str = "en") -> list[str]:
    """Accepted prompts that stay in prompt_lottery_waiting (built by an engine that never activates trees)."""
    d = Driver(new_engine(max_active_trees=0), clock, users)
    return [await d.accepted_prompt(a, lang) for a in authors]


async def test_the_lottery_activates_up_to_max_active_trees(new_engine, clock, users, db):
    prompts = await waiting_prompts(new_engine, clock, users, users[:3])
    engine = new_engine(max_active_trees=2)
    assert await engine.run_prompt_lottery("en") == 2
    counts = await engine.tree_counts("en")
    assert counts[TreeState.GROWING] == 2
    assert counts[TreeState.PROMPT_LOTTERY_WAITING] == 1
    assert await engine.run_prompt_lottery("en") == 0  # already at the limit
    for tree_id in prompts:
        t = await tree_row(db, tree_id)
        assert t.active is (t.state == TreeState.GROWING)
        assert (t.won_prompt_lottery_at is not None) is (t.state == TreeState.GROWING)
    # max_activate limits a single call
    await waiting_prompts(new_engine, clock, users, users[3:6])
    assert await new_engine(max_active_trees=10).run_prompt_lottery("en", max_activate=1) == 1
    assert (await engine.tree_counts("en"))[TreeState.GROWING] == 3


async def test_the_lottery_only_draws_prompts_of_its_language(new_engine, clock, users):
    [de] = await waiting_prompts(new_engine, clock, users, [users[0]], lang="de")
    engine = new_engine()
    assert await engine.run_prompt_lottery("en") == 0
    assert await state_of(engine, de) is TreeState.PROMPT_LOTTERY_WAITING
    assert await engine.run_prompt_lottery("de") == 1
    assert await state_of(engine, de) is TreeState.GROWING


async def test_prompts_of_disabled_authors_are_not_drawn(new_engine, clock, users, db):
    [blocked, fine] = await waiting_prompts(new_engine, clock, users, [users[0], users[1]])
    async with db.transaction() as repo:
        await repo.set_user_enabled(users[0], False)
    engine = new_engine()
    assert await engine.run_prompt_lottery("en") == 1
    assert await state_of(engine, fine) is TreeState.GROWING
    assert await state_of(engine, blocked) is TreeState.PROMPT_LOTTERY_WAITING
    assert await engine.run_prompt_lottery("en") == 0


async def test_next_task_runs_the_lottery_for_its_language_when_nothing_grows(new_engine, clock, users):
    [first, second] = await waiting_prompts(new_engine, clock, users, [users[0], users[1]])
    [german] = await waiting_prompts(new_engine, clock, users, [users[2]], lang="de")
    engine = new_engine(max_active_trees=1)
    task = await engine.next_task(users[5], "en")
    states = {t: await state_of(engine, t) for t in (first, second)}
    assert sorted(states.values()) == sorted([TreeState.GROWING, TreeState.PROMPT_LOTTERY_WAITING])
    assert await state_of(engine, german) is TreeState.PROMPT_LOTTERY_WAITING
    grown = next(t for t, s in states.items() if s is TreeState.GROWING)
    assert task.type is TaskType.ASSISTANT_REPLY and task.target_id == grown
    # while a tree grows, asking for a task does not draw another one
    await new_engine(max_active_trees=10).next_task(users[6], "en")
    waiting = next(t for t, s in states.items() if s is TreeState.PROMPT_LOTTERY_WAITING)
    assert await state_of(engine, waiting) is TreeState.PROMPT_LOTTERY_WAITING


def test_lottery_author_weights_favour_monthly_first_places():
    assert policy.lottery_author_weight(0) == 1.0
    assert policy.lottery_author_weight(3) == 4.0
    rng = np.random.default_rng(1234)
    draws = [policy.pick_lottery_author({7: 3, 9: 0}, rng) for _ in range(4000)]
    share = draws.count(7) / len(draws)
    assert 0.77 < share < 0.83  # 4 / (4 + 1)
    # every author can win, and the draw is reproducible from the seed
    assert set(draws) == {7, 9}
    again = np.random.default_rng(1234)
    assert [policy.pick_lottery_author({7: 3, 9: 0}, again) for _ in range(4000)] == draws
    assert policy.pick_lottery_author({5: 0}, rng) == 5


async def test_lottery_candidates_count_replies_ranked_first_this_month(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    root, replies = await ranking_tree(d)
    await rank_everything(d.engine, users[3:6])
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT
    winner = (await d.engine.message(max(replies))).user_id  # every ranker put the highest id first
    loser = (await d.engine.message(min(replies))).user_id
    await waiting_prompts(new_engine, clock, users, [winner, loser])
    async with db.read() as repo:
        assert await repo.lottery_candidates(1, "en", clock.now() - MONTH) == {winner: 3, loser: 0}
    clock.advance(MONTH + 1)
    async with db.read() as repo:
        assert await repo.lottery_candidates(1, "en", clock.now() - MONTH) == {winner: 0, loser: 0}


def test_initial_prompts_offered_formula_and_floors():
    cfg = EngineConfig()
    assert policy.initial_prompts_offered(0, 0, 0, cfg) == 110  # min(10 + 100, 250)
    assert policy.initial_prompts_offered(3, 98, 0, cfg) == 9  # 7 + 2
    assert policy.initial_prompts_offered(10, 100, 0, cfg) == 0
    assert policy.initial_prompts_offered(0, 0, 245, cfg) == 5  # capped by the waiting room
    assert policy.initial_prompts_offered(0, 0, 250, cfg) == 0
    assert policy.initial_prompts_offered(15, 130, 300, cfg) == 0  # every term floored at 0
    assert policy.initial_prompts_offered(15, 90, 0, cfg) == 10  # negative missing_growing floored, not subtracted
    small = EngineConfig(max_active_trees=2, max_initial_prompt_review=3, max_prompt_lottery_waiting=4)
    assert policy.initial_prompts_offered(1, 1, 0, small) == 3
    assert policy.initial_prompts_offered(1, 1, 3, small) == 1


# ---------------------------------------------------------------------------------------------- backlog


async def test_a_backlog_tree_is_activated_when_an_active_tree_finishes(new_engine, clock, users, db):
    children = await insert_backlog_tree(db, clock, "backlog-1", users[11], 3)
    d = Driver(new_engine(2, p_activate_backlog_tree=1.0), clock, users)
    root = await d.growing_tree(users[0])
    assert await state_of(d.engine, "backlog-1") is TreeState.BACKLOG_RANKING  # accepting a prompt did not roll
    await accepted_reply(d, users[1], parent=root)
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT
    t = await tree_row(db, "backlog-1")
    assert (t.state, t.active) == (TreeState.RANKING, True)
    # the activated tree is ranked like any other and then exported
    assert await rank_everything(d.engine, users[:3]) == 3
    assert await state_of(d.engine, "backlog-1") is TreeState.READY_FOR_EXPORT
    ranks = {m.id: m.rank for m in await tree_messages(db, "backlog-1")}
    assert [ranks[c] for c in sorted(children, reverse=True)] == [0, 1, 2]


async def test_a_backlog_tree_with_nothing_to_rank_is_aborted_and_the_next_one_taken(new_engine, clock, users, db):
    await insert_backlog_tree(db, clock, "backlog-a", users[11], 1)
    await insert_backlog_tree(db, clock, "backlog-b", users[11], 2)
    d = Driver(new_engine(3, p_activate_backlog_tree=1.0), clock, users)
    root = await d.growing_tree(users[0])
    await d.engine.halt_tree(root, users[10])  # an active tree enters a terminal state
    a, b = await tree_row(db, "backlog-a"), await tree_row(db, "backlog-b")
    assert (a.state, a.active) == (TreeState.ABORTED_LOW_GRADE, False)
    assert (b.state, b.active) == (TreeState.RANKING, True)


async def test_entering_prompt_lottery_waiting_does_not_roll_the_backlog_dice(new_engine, clock, users, db):
    await insert_backlog_tree(db, clock, "backlog-1", users[11], 2)
    d = Driver(new_engine(p_activate_backlog_tree=1.0, max_active_trees=0), clock, users)
    root = await d.accepted_prompt(users[0])
    assert await state_of(d.engine, root) is TreeState.PROMPT_LOTTERY_WAITING
    assert await state_of(d.engine, "backlog-1") is TreeState.BACKLOG_RANKING
    # a rejected prompt is truly terminal and does roll it
    bad = await d.write_prompt(users[1])
    await d.review(bad, users[2:4], SPAM)
    await d.review(bad, [users[4]])
    assert await state_of(d.engine, bad) is TreeState.ABORTED_LOW_GRADE
    assert await state_of(d.engine, "backlog-1") is TreeState.RANKING


async def test_no_backlog_activation_with_probability_zero(new_engine, clock, users, db):
    await insert_backlog_tree(db, clock, "backlog-1", users[11], 2)
    d = Driver(new_engine(3, p_activate_backlog_tree=0.0), clock, users)
    root = await d.growing_tree(users[0])
    await d.engine.halt_tree(root, users[10])
    assert await state_of(d.engine, "backlog-1") is TreeState.BACKLOG_RANKING


async def test_activate_backlog_job_keeps_min_active_rankings(new_engine, clock, users, db):
    await insert_backlog_tree(db, clock, "backlog-1", users[11], 2)
    await insert_backlog_tree(db, clock, "backlog-2", users[11], 2)
    assert await new_engine().activate_backlog("en") is None  # min_active_rankings_per_lang = 0: off
    engine = new_engine(min_active_rankings_per_lang=1)
    assert await engine.activate_backlog("en") == "backlog-1"
    assert await engine.activate_backlog("en") is None  # one parent to rank already
    assert await state_of(engine, "backlog-2") is TreeState.BACKLOG_RANKING


# ---------------------------------------------------------------------------------------------- halt / resume


async def test_halt_and_resume_a_growing_tree(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    root = await d.growing_tree(users[0])
    assert await d.engine.halt_tree(root, users[11], "looks off") is TreeState.HALTED_BY_MODERATOR
    t = await tree_row(db, root)
    assert (t.state, t.active, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, False, TreeState.GROWING)
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.halt_tree(root, users[11])
    assert await d.engine.resume_tree(root, users[11]) is TreeState.GROWING
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.GROWING, True)
    await accepted_reply(d, users[1], parent=root)


async def test_halt_and_resume_a_ranking_tree(new_engine, clock, users, db):
    d = Driver(new_engine(3), clock, users)
    root, _ = await ranking_tree(d)
    assert await rank_everything(d.engine, [users[3]]) == 1
    await d.engine.halt_tree(root, users[11])
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[4], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert await d.engine.resume_tree(root, users[11]) is TreeState.RANKING
    assert (await tree_row(db, root)).active is True
    assert await rank_everything(d.engine, users[4:8]) == 2  # only the two missing rankings are handed out
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT


async def test_halt_and_resume_from_other_states(new_engine, clock, users, db):
    d = Driver(new_engine(max_active_trees=0), clock, users)
    waiting = await d.accepted_prompt(users[1])
    in_review = await d.write_prompt(users[0])
    for tree_id, state in ((in_review, TreeState.INITIAL_PROMPT_REVIEW), (waiting, TreeState.PROMPT_LOTTERY_WAITING)):
        await d.engine.halt_tree(tree_id, users[11])
        assert (await tree_row(db, tree_id)).halted_from == state
        assert await d.engine.resume_tree(tree_id, users[11]) is state
        assert (await tree_row(db, tree_id)).active is (state is TreeState.INITIAL_PROMPT_REVIEW)


async def test_resuming_a_tree_that_is_not_halted_is_refused(new_engine, clock, users):
    d = Driver(new_engine(3), clock, users)
    root = await d.growing_tree(users[0])
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.resume_tree(root, users[11])
    assert await state_of(d.engine, root) is TreeState.GROWING
    with pytest.raises(errors.TreeNotFound):
        await d.engine.halt_tree("no-such-tree", users[11])


async def test_halting_withdraws_pending_tasks_and_gives_the_text_back(new_engine, clock, users, db):
    d = Driver(new_engine(4), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    pending_reply = await reply(d.engine, u[1], parent=root)
    reply_task = await d.engine.next_task(u[2], "en", TaskType.ASSISTANT_REPLY)
    label_task = await d.engine.next_task(u[3], "en", TaskType.LABEL_ASSISTANT_REPLY)
    assert label_task.target_id == pending_reply
    await d.engine.halt_tree(root, u[11])

    text = "A carefully written answer that must not be lost."
    with pytest.raises(errors.TaskCancelled) as exc:
        await d.engine.submit_reply(reply_task.id, u[2], text)
    assert exc.value.text == text
    kept = await d.engine.get_task(reply_task.id, u[2])
    assert (kept.status, kept.draft) == (TaskStatus.CANCELLED, text)
    with pytest.raises(errors.TaskCancelled):
        await d.engine.submit_labels(label_task.id, u[3], {"spam": 0.0, "quality": 0.5})
    assert (await d.engine.get_task(label_task.id, u[3])).status is TaskStatus.CANCELLED
    assert len(await tree_messages(db, root)) == 2  # nothing was stored
    assert (await d.engine.message(pending_reply)).review_count == 0
    assert await check_database(db) == []
