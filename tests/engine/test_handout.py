"""Hand-out: which task a member gets, when, and what it looks like (reference §4.1, §4.5, §4.9; decisions)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from engine import EngineConfig, LabelMode, Role, TaskKind, TaskStatus, TaskType, TreeState, errors, policy
from engine.config import LABELS_ASSISTANT, LABELS_PROMPT, TaskWeights
from tests.driver import SPAM, Driver, answer, member, ranking_tree

DAY = 86400.0
HIDE = 301  # just past recent_tasks_span_sec
# Small trees: the root plus three answers fills the goal, so the tree goes to ranking.
SMALL = {"goal_tree_size": 4, "min_goal_tree_size": 2}


async def table_dump(db) -> dict[str, list[tuple]]:
    tables = [r[0] for r in await db._conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out = {}
    for t in sorted(tables):
        out[t] = sorted(tuple(r) for r in await db._conn.execute_fetchall(f"SELECT * FROM {t}"))
    return out


async def scalar(db, sql: str, *params):
    rows = list(await db._conn.execute_fetchall(sql, params))
    return rows[0][0]


# ---------------------------------------------------------------------------------------------- each task type


async def test_initial_prompt_task(engine, users, clock):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    assert task.type is TaskType.INITIAL_PROMPT
    assert task.kind is TaskKind.PROMPT
    assert task.user_id == users[0]
    assert task.lang == "en"
    assert task.status is TaskStatus.PENDING
    assert task.created_at == clock.now()
    assert task.tree_id is None and task.target_id is None
    assert task.conversation == () and task.candidates == ()
    assert task.label_mode is None


async def test_assistant_reply_task_answers_a_prompt(driver, users):
    root = await driver.growing_tree(author=users[0])
    task = await driver.engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert task.type is TaskType.ASSISTANT_REPLY
    assert task.tree_id == root and task.target_id == root
    assert [m.id for m in task.conversation] == [root]
    assert task.conversation[0].role is Role.PROMPTER
    assert task.conversation[0].user_id == users[0]


async def test_prompter_reply_task_answers_an_assistant_reply(driver, users):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    avail = await driver.engine.availability(users[2], "en")
    assert avail.counts[TaskType.PROMPTER_REPLY] == 0  # not accepted yet: no parent
    await driver.review(reply, users[3:6])
    task = await driver.engine.next_task(users[2], "en", TaskType.PROMPTER_REPLY)
    assert task.type is TaskType.PROMPTER_REPLY
    assert task.tree_id == root and task.target_id == reply
    assert [m.id for m in task.conversation] == [root, reply]
    assert [m.role for m in task.conversation] == [Role.PROMPTER, Role.ASSISTANT]


async def test_label_initial_prompt_task_is_full_with_the_prompt_labels(driver, users):
    prompt = await driver.write_prompt(users[0])
    task = await driver.engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.type is TaskType.LABEL_INITIAL_PROMPT
    assert task.target_id == prompt and task.tree_id == prompt
    assert [m.id for m in task.conversation] == [prompt]
    assert task.label_mode is LabelMode.FULL
    assert task.valid_labels == LABELS_PROMPT and len(task.valid_labels) == 11
    assert task.mandatory_labels == ("spam",)


async def test_label_assistant_reply_task_is_full_with_13_labels(driver, users):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    for user, request in ((users[2], TaskType.LABEL_ASSISTANT_REPLY), (users[3], None)):
        task = await driver.engine.next_task(user, "en", request)
        assert task.type is TaskType.LABEL_ASSISTANT_REPLY
        assert task.target_id == reply and task.tree_id == root
        assert [m.id for m in task.conversation] == [root, reply]  # the pending reply comes last
        assert task.label_mode is LabelMode.FULL  # p_full 1.0, random or not
        assert task.valid_labels == LABELS_ASSISTANT and len(task.valid_labels) == 13
        assert task.mandatory_labels == ("spam",)


async def test_label_prompter_reply_task_requested_explicitly_is_full(driver, users):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    await driver.review(reply, users[3:6])
    follow_up = await answer(driver, users[2], TaskType.PROMPTER_REPLY, reply)
    for user in users[6:11]:
        task = await driver.engine.next_task(user, "en", TaskType.LABEL_PROMPTER_REPLY)
        assert task.type is TaskType.LABEL_PROMPTER_REPLY
        assert task.target_id == follow_up and task.tree_id == root
        assert [m.id for m in task.conversation] == [root, reply, follow_up]
        assert task.label_mode is LabelMode.FULL
        assert task.valid_labels == LABELS_PROMPT
        await driver.engine.skip_task(task.id, user)


async def test_rank_assistant_replies_candidates_are_the_accepted_children_shuffled_per_user(
    make_engine, clock, users, engine
):
    d = Driver(make_engine(num_required_rankings=50, **SMALL), clock, users)
    root, children = await ranking_tree(d)
    orders = set()
    rankers = [users[0], *users[4:12]]
    for seed in range(1, 5):
        rankers.append(await member(engine, f"seed{seed}"))
    for i, user in enumerate(rankers):
        e = d.engine if i < 9 else make_engine(seed=i, num_required_rankings=50, **SMALL)
        task = await e.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)
        assert task.type is TaskType.RANK_ASSISTANT_REPLIES
        assert task.target_id == root and task.tree_id == root
        assert [m.id for m in task.conversation] == [root]
        ids = [c.id for c in task.candidates]
        assert sorted(ids) == sorted(children)
        assert all(c.role is Role.ASSISTANT for c in task.candidates)
        assert task.reveal_synthetic is False
        orders.add(tuple(ids))
    assert len(orders) > 1, "every member saw the answers in the same order"


async def test_rank_assistant_replies_excludes_rejected_children(make_engine, clock, users):
    d = Driver(make_engine(**SMALL), clock, users)
    u = users
    root = await d.growing_tree(author=u[0])
    bad = await answer(d, u[1], TaskType.ASSISTANT_REPLY, root)
    await d.review(bad, u[6:9], labels=SPAM)
    good = []
    for author in u[2:5]:
        child = await answer(d, author, TaskType.ASSISTANT_REPLY, root)
        await d.review(child, u[6:9])
        good.append(child)
    assert (await d.engine.tree_status(root)).state is TreeState.RANKING
    task = await d.engine.next_task(u[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert sorted(c.id for c in task.candidates) == sorted(good)
    # users[1] wrote only the rejected answer, which is not among the candidates: they may rank.
    task = await d.engine.next_task(u[1], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert bad not in [c.id for c in task.candidates]


async def _prompter_ranking_tree(d: Driver) -> tuple[str, str, list[str]]:
    u = d.users
    root = await d.growing_tree(author=u[0])
    reply = await answer(d, u[1], TaskType.ASSISTANT_REPLY, root)
    await d.review(reply, u[4:7])
    follow_ups = []
    for author in (u[2], u[3]):
        child = await answer(d, author, TaskType.PROMPTER_REPLY, reply)
        await d.review(child, u[7:10])
        follow_ups.append(child)
    assert (await d.engine.tree_status(root)).state is TreeState.RANKING
    return root, reply, follow_ups


async def test_rank_prompter_replies_only_when_enabled(make_engine, clock, users):
    on = make_engine(rank_prompter_replies=True, num_prompter_replies=2, **SMALL)
    root, reply, follow_ups = await _prompter_ranking_tree(Driver(on, clock, users))

    off = make_engine(seed=1, num_prompter_replies=2, **SMALL)  # rank_prompter_replies defaults to False
    for user in (users[10], users[11]):
        assert (await off.availability(user, "en")).counts[TaskType.RANK_PROMPTER_REPLIES] == 0
        with pytest.raises(errors.NoTaskAvailable):
            await off.next_task(user, "en", TaskType.RANK_PROMPTER_REPLIES)
    for _ in range(12):  # random requests never yield it either
        task = await off.next_task(users[11], "en")
        assert task.type is not TaskType.RANK_PROMPTER_REPLIES
        await off.skip_task(task.id, users[11])

    avail = await on.availability(users[10], "en")
    assert avail.counts[TaskType.RANK_PROMPTER_REPLIES] == 1
    assert avail.counts[TaskType.RANK_ASSISTANT_REPLIES] == 0
    task = await on.next_task(users[10], "en", TaskType.RANK_PROMPTER_REPLIES)
    assert task.type is TaskType.RANK_PROMPTER_REPLIES
    assert task.target_id == reply and task.tree_id == root
    assert [m.id for m in task.conversation] == [root, reply]
    assert sorted(c.id for c in task.candidates) == sorted(follow_ups)
    assert all(c.role is Role.PROMPTER for c in task.candidates)


# ---------------------------------------------------------------------------------------------- random choice


def test_choose_task_kind_follows_the_weights():
    rng = np.random.default_rng(2024)
    available = dict.fromkeys(policy.KIND_ORDER, 3)
    n = 20000
    draws = Counter(policy.choose_task_kind(available, TaskWeights(), rng) for _ in range(n))
    total = 10 + 5 + 5 + 2 + 0.01
    expected = {
        TaskKind.RANKING: 10 / total,
        TaskKind.LABEL_REPLY: 5 / total,
        TaskKind.LABEL_PROMPT: 5 / total,
        TaskKind.REPLY: 2 / total,
    }
    for kind, p in expected.items():
        assert draws[kind] / n == pytest.approx(p, abs=0.015), kind
    assert 0 < draws[TaskKind.PROMPT] < 40  # 0.045 % of 20000 ≈ 9
    assert draws[TaskKind.RANKING] > draws[TaskKind.LABEL_REPLY] > draws[TaskKind.REPLY]


def test_choose_task_kind_draws_only_among_available_kinds():
    rng = np.random.default_rng(7)
    available = {TaskKind.RANKING: 0, TaskKind.LABEL_REPLY: 4, TaskKind.LABEL_PROMPT: 0, TaskKind.REPLY: 1}
    n = 10000
    draws = Counter(policy.choose_task_kind(available, TaskWeights(), rng) for _ in range(n))
    assert set(draws) == {TaskKind.LABEL_REPLY, TaskKind.REPLY}
    assert draws[TaskKind.LABEL_REPLY] / n == pytest.approx(5 / 7, abs=0.02)
    # the counts do not matter, only whether anything is available
    assert draws[TaskKind.REPLY] / n == pytest.approx(2 / 7, abs=0.02)


def test_choose_task_kind_is_none_when_nothing_is_available():
    rng = np.random.default_rng(0)
    assert policy.choose_task_kind({}, TaskWeights(), rng) is None
    assert policy.choose_task_kind(dict.fromkeys(policy.KIND_ORDER, 0), TaskWeights(), rng) is None
    # a kind whose weight is 0 is never chosen
    zero = TaskWeights(prompt=0)
    assert policy.choose_task_kind({TaskKind.PROMPT: 5}, zero, rng) is None


async def test_next_task_without_anything_available_raises_no_task(make_engine, users):
    engine = make_engine(init_prompt_disabled_langs=("en",))
    assert (await engine.availability(users[0], "en")).total == 0
    with pytest.raises(errors.NoTaskAvailable) as exc:
        await engine.next_task(users[0], "en")
    assert exc.value.code == errors.ErrorCode.NO_TASK_AVAILABLE


async def test_random_requests_prefer_reviews_over_new_prompts(driver, users, engine):
    prompt = await driver.write_prompt(users[0])
    got = [await engine.next_task(user, "en") for user in users[1:8]]
    # label-prompt weighs 5 against 0.01 for a new prompt; three reviews can be handed out, then only prompts are left
    assert [t.type for t in got[:3]] == [TaskType.LABEL_INITIAL_PROMPT] * 3
    assert all(t.target_id == prompt for t in got[:3])
    assert [t.type for t in got[3:]] == [TaskType.INITIAL_PROMPT] * 4
    assert all(t.label_mode is LabelMode.FULL for t in got[:3])


# ---------------------------------------------------------------------------------------------- eligibility


async def test_no_self_review(driver, users, engine):
    prompt = await driver.write_prompt(users[0])
    assert (await engine.availability(users[0], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    assert (await engine.availability(users[1], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 1
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[0], "en", TaskType.LABEL_INITIAL_PROMPT)
    for _ in range(10):  # random requests: never their own prompt
        task = await engine.next_task(users[0], "en")
        assert task.type is TaskType.INITIAL_PROMPT
        await engine.skip_task(task.id, users[0])
    task = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt


async def test_no_self_review_of_replies(driver, users, engine):
    root = await driver.growing_tree(author=users[0])
    await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    assert (await engine.availability(users[1], "en")).counts[TaskType.LABEL_ASSISTANT_REPLY] == 0
    assert (await engine.availability(users[2], "en")).counts[TaskType.LABEL_ASSISTANT_REPLY] == 1
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.LABEL_ASSISTANT_REPLY)


async def test_no_self_ranking(make_engine, clock, users):
    d = Driver(make_engine(**SMALL), clock, users)
    root, _ = await ranking_tree(d)
    for author in users[1:4]:
        assert (await d.engine.availability(author, "en")).counts[TaskType.RANK_ASSISTANT_REPLIES] == 0
        with pytest.raises(errors.NoTaskAvailable):
            await d.engine.next_task(author, "en", TaskType.RANK_ASSISTANT_REPLIES)
    # the prompt's author wrote none of the answers and may rank them
    assert (await d.engine.availability(users[0], "en")).counts[TaskType.RANK_ASSISTANT_REPLIES] == 1
    task = await d.engine.next_task(users[0], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert task.target_id == root


async def test_skipped_reply_target_never_comes_back(driver, users, engine, clock):
    root = await driver.growing_tree(author=users[0])
    task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    await engine.skip_task(task.id, users[1])
    clock.advance(3 * DAY)
    assert (await engine.availability(users[1], "en")).counts[TaskType.ASSISTANT_REPLY] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    # others still get it, and the skip freed its slot at once
    assert (await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)).target_id == root


async def test_skipped_label_target_never_comes_back(driver, users, engine, clock):
    prompt = await driver.write_prompt(users[0])
    task = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    await engine.skip_task(task.id, users[1])
    clock.advance(3 * DAY)
    assert (await engine.availability(users[1], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert (await engine.next_task(users[2], "en", TaskType.LABEL_INITIAL_PROMPT)).target_id == prompt


async def test_skipped_ranking_never_comes_back(make_engine, clock, users):
    d = Driver(make_engine(**SMALL), clock, users)
    root, _ = await ranking_tree(d)
    task = await d.engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await d.engine.skip_task(task.id, users[9])
    clock.advance(3 * DAY)
    assert (await d.engine.availability(users[9], "en")).counts[TaskType.RANK_ASSISTANT_REPLIES] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert (await d.engine.next_task(users[10], "en", TaskType.RANK_ASSISTANT_REPLIES)).target_id == root


async def test_one_live_reply_per_parent_until_it_is_rejected(driver, users, engine, clock):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    clock.advance(HIDE)
    assert (await engine.availability(users[1], "en")).counts[TaskType.ASSISTANT_REPLY] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert (await engine.availability(users[2], "en")).counts[TaskType.ASSISTANT_REPLY] == 1

    await driver.review(reply, users[3:6], labels=SPAM)
    assert (await engine.message(reply)).review_result is False
    task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert task.target_id == root
    second = await engine.submit_reply(task.id, users[1], "A better answer")
    assert (await engine.message(second.message_id)).parent_id == root


async def test_a_member_may_answer_their_own_prompt(driver, users, engine):
    root = await driver.growing_tree(author=users[0])
    assert (await engine.availability(users[0], "en")).counts[TaskType.ASSISTANT_REPLY] == 1
    task = await engine.next_task(users[0], "en", TaskType.ASSISTANT_REPLY)
    assert task.target_id == root
    result = await engine.submit_reply(task.id, users[0], "I answer myself")
    assert (await engine.message(result.message_id)).user_id == users[0]


async def test_a_label_task_is_never_offered_twice_for_one_message(driver, users, engine, clock):
    prompt = await driver.write_prompt(users[0])
    task = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    # while it is pending
    assert (await engine.availability(users[1], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    # and once it is done
    await engine.submit_labels(task.id, users[1], {"spam": 0.0})
    clock.advance(HIDE)
    assert (await engine.availability(users[1], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert (await engine.availability(users[2], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 1


# ---------------------------------------------------------------------------------------------- label modes


def test_label_prompter_reply_on_random_requests_is_mostly_simple():
    cfg = EngineConfig()
    rng = np.random.default_rng(99)
    n = 5000
    modes = Counter()
    for _ in range(n):
        mode, valid, mandatory = policy.label_task_spec(TaskType.LABEL_PROMPTER_REPLY, True, cfg, rng)
        modes[mode] += 1
        assert mandatory == ("spam",)
        if mode is LabelMode.SIMPLE:
            assert valid == ("spam", "lang_mismatch", "quality")
        else:
            assert valid == LABELS_PROMPT
    assert modes[LabelMode.FULL] / n == pytest.approx(0.1, abs=0.02)


def test_explicit_label_requests_are_always_full():
    cfg = EngineConfig()
    rng = np.random.default_rng(5)
    for _ in range(500):
        assert policy.label_task_spec(TaskType.LABEL_PROMPTER_REPLY, False, cfg, rng) == (
            LabelMode.FULL,
            LABELS_PROMPT,
            ("spam",),
        )
        assert policy.label_task_spec(TaskType.LABEL_ASSISTANT_REPLY, True, cfg, rng)[0] is LabelMode.FULL
        assert policy.label_task_spec(TaskType.LABEL_INITIAL_PROMPT, True, cfg, rng)[0] is LabelMode.FULL


def test_simple_label_sets():
    rng = np.random.default_rng(0)
    cfg = EngineConfig(p_full_labeling_review_prompt=0, p_full_labeling_review_reply_assistant=0)
    assert policy.label_task_spec(TaskType.LABEL_INITIAL_PROMPT, False, cfg, rng) == (
        LabelMode.SIMPLE,
        ("spam", "lang_mismatch"),
        ("spam",),
    )
    assert policy.label_task_spec(TaskType.LABEL_ASSISTANT_REPLY, True, cfg, rng) == (
        LabelMode.SIMPLE,
        ("spam", "lang_mismatch", "quality"),
        ("spam",),
    )
    # explicit reply-label requests stay full even when p_full is 0
    assert policy.label_task_spec(TaskType.LABEL_ASSISTANT_REPLY, False, cfg, rng)[0] is LabelMode.FULL
    with pytest.raises(ValueError):
        policy.label_task_spec(TaskType.ASSISTANT_REPLY, True, cfg, rng)


async def test_simple_prompt_review_task_offers_only_spam_and_lang_mismatch(make_engine, driver, users):
    await driver.write_prompt(users[0])
    engine = make_engine(seed=1, p_full_labeling_review_prompt=0)
    task = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.label_mode is LabelMode.SIMPLE
    assert task.valid_labels == ("spam", "lang_mismatch")
    assert task.mandatory_labels == ("spam",)
    with pytest.raises(errors.LabelsInvalidLabel):
        await engine.submit_labels(task.id, users[1], {"spam": 0.0, "quality": 1.0})
    await engine.submit_labels(task.id, users[1], {"spam": 0.0, "lang_mismatch": 0.0})


# ---------------------------------------------------------------------------------------------- lonely child


def _parent(name: str, role: Role, children: int) -> policy.ParentCandidate:
    return policy.ParentCandidate(name, "tree", role, 1 if role is Role.ASSISTANT else 0, children)


def test_lonely_prompter_parents_are_preferred():
    cfg = EngineConfig()
    parents = [
        _parent("lonely", Role.PROMPTER, 1),
        _parent("empty", Role.PROMPTER, 0),
        _parent("full", Role.PROMPTER, 2),
        _parent("assistant", Role.ASSISTANT, 1),  # one child, but not a prompter message
    ]
    rng = np.random.default_rng(11)
    n = 8000
    picks = Counter(policy.pick_reply_parent(parents, cfg, rng).id for _ in range(n))
    # 0.75 directly, plus a quarter of the uniform fallback
    assert picks["lonely"] / n == pytest.approx(0.75 + 0.25 / 4, abs=0.02)
    for other in ("empty", "full", "assistant"):
        assert picks[other] / n == pytest.approx(0.25 / 4, abs=0.015)


def test_without_lonely_parents_or_extension_the_choice_is_uniform():
    rng = np.random.default_rng(12)
    parents = [_parent("a", Role.PROMPTER, 0), _parent("b", Role.PROMPTER, 2), _parent("c", Role.ASSISTANT, 0)]
    n = 6000
    picks = Counter(policy.pick_reply_parent(parents, EngineConfig(), rng).id for _ in range(n))
    for name in "abc":
        assert picks[name] / n == pytest.approx(1 / 3, abs=0.025)
    off = EngineConfig(p_lonely_child_extension=0)
    with_lonely = [_parent("lonely", Role.PROMPTER, 1), *parents]
    picks = Counter(policy.pick_reply_parent(with_lonely, off, rng).id for _ in range(n))
    assert picks["lonely"] / n == pytest.approx(0.25, abs=0.025)


async def test_engine_prefers_the_lonely_prompt(make_engine, engine, clock, users):
    """Two growing trees: one prompt already has an answer, the other has none; assistant replies go mostly to
    the one with a single answer (0.75 + 0.25 / 2)."""
    d = Driver(make_engine(seed=3), clock, users)
    lonely_root = await d.growing_tree(author=users[0])
    await answer(d, users[1], TaskType.ASSISTANT_REPLY, lonely_root)
    other_root = await d.growing_tree(author=users[2])
    picks = Counter()
    for seed in range(40):
        user = await member(engine, f"lonely{seed}")
        task = await make_engine(seed=100 + seed).next_task(user, "en", TaskType.ASSISTANT_REPLY)
        picks[task.target_id] += 1
        clock.advance(2 * DAY + 1)  # the task expires and gives its slot back
    assert set(picks) == {lonely_root, other_root}
    assert picks[lonely_root] / 40 > 0.7


# ---------------------------------------------------------------------------------------------- pending cap


async def test_pending_task_cap(engine, users, clock):
    user = users[1]
    tasks = [await engine.next_task(user, "en", TaskType.INITIAL_PROMPT) for _ in range(8)]
    with pytest.raises(errors.TooManyPending) as exc:
        await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
    assert exc.value.code == errors.ErrorCode.TOO_MANY_PENDING
    with pytest.raises(errors.TooManyPending):
        await engine.next_task(user, "en")
    # other members are not affected
    await engine.next_task(users[2], "en", TaskType.INITIAL_PROMPT)

    await engine.submit_reply(tasks[0].id, user, "a finished prompt")  # done tasks do not count
    tasks.append(await engine.next_task(user, "en", TaskType.INITIAL_PROMPT))
    with pytest.raises(errors.TooManyPending):
        await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
    await engine.skip_task(tasks[1].id, user)  # nor do skipped ones
    tasks.append(await engine.next_task(user, "en", TaskType.INITIAL_PROMPT))
    with pytest.raises(errors.TooManyPending):
        await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)

    clock.advance(299)
    with pytest.raises(errors.TooManyPending):
        await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
    clock.advance(2)  # the first eight are now older than 300 s
    await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)


# ---------------------------------------------------------------------------------------------- hiding and reservation


async def test_reply_parent_hidden_for_300_s_while_a_reply_task_is_pending(driver, users, engine, clock):
    root = await driver.growing_tree(author=users[0])
    await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(299)
    for user in (users[1], users[2], users[0]):
        assert (await engine.availability(user, "en")).counts[TaskType.ASSISTANT_REPLY] == 0
        with pytest.raises(errors.NoTaskAvailable):
            await engine.next_task(user, "en", TaskType.ASSISTANT_REPLY)
    clock.advance(2)
    assert (await engine.availability(users[2], "en")).counts[TaskType.ASSISTANT_REPLY] == 1
    assert (await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)).target_id == root
    # users[1] still holds a live task for that parent
    clock.advance(HIDE)
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)


async def test_label_task_reserves_a_review_slot(driver, users, engine):
    prompt = await driver.write_prompt(users[0])
    for user in users[1:4]:
        assert (await engine.next_task(user, "en", TaskType.LABEL_INITIAL_PROMPT)).target_id == prompt
    assert (await engine.availability(users[4], "en")).counts[TaskType.LABEL_INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)


async def test_abandoned_label_tasks_free_their_slots_after_the_review_lease(driver, users, engine, clock):
    """Leases (decisions #15, #16): the slot is held for the review lease, not for the task's whole life."""
    prompt = await driver.write_prompt(users[0])
    first = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    for user in users[2:4]:
        await engine.next_task(user, "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(engine.cfg.review_reservation_minutes * 60 - 1)
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(2)
    task = await engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    # the abandoned task itself lives on until it expires
    clock.advance(engine.cfg.task_validity_minutes * 60)
    with pytest.raises(errors.TaskExpired):
        await engine.submit_labels(first.id, users[1], {"spam": 0.0})


async def test_skipped_label_task_frees_its_slot(driver, users, engine):
    prompt = await driver.write_prompt(users[0])
    tasks = [await engine.next_task(user, "en", TaskType.LABEL_INITIAL_PROMPT) for user in users[1:4]]
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)
    await engine.skip_task(tasks[0].id, users[1])
    assert (await engine.next_task(users[4], "en", TaskType.LABEL_INITIAL_PROMPT)).target_id == prompt
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[5], "en", TaskType.LABEL_INITIAL_PROMPT)


async def test_reply_tasks_reserve_tree_size_and_the_tree_never_overshoots(make_engine, clock, users, db):
    # leases long enough to outlast the loop below (9 members x 301 s), so only reservations stop hand-outs
    d = Driver(make_engine(goal_tree_size=5, min_goal_tree_size=2, reservation_minutes=24 * 60), clock, users)
    u = users
    root = await d.growing_tree(author=u[0])
    for author in u[1:3]:
        reply = await answer(d, author, TaskType.ASSISTANT_REPLY, root)
        await d.review(reply, u[6:9])
    # three parents could take a reply (the prompt one more, each answer one), but the tree has room for two
    assert (await d.engine.availability(u[3], "en")).counts[TaskType.PROMPTER_REPLY] == 2
    handed = []
    for user in u[3:]:
        for task_type in (TaskType.ASSISTANT_REPLY, TaskType.PROMPTER_REPLY):
            try:
                handed.append((user, await d.engine.next_task(user, "en", task_type)))
            except errors.NoTaskAvailable:
                continue
        clock.advance(HIDE)  # past the 300 s hiding, so only the reservation stops more hand-outs
    assert len(handed) == 2
    for user in u[3:]:
        avail = await d.engine.availability(user, "en")
        assert avail.counts[TaskType.ASSISTANT_REPLY] == avail.counts[TaskType.PROMPTER_REPLY] == 0
    for user, task in handed:
        await d.engine.submit_reply(task.id, user, d.text())
    assert await scalar(db, "SELECT count(*) FROM messages WHERE tree_id = ?", root) == 5
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(u[11], "en", TaskType.PROMPTER_REPLY)


async def test_reply_task_reserves_a_parent_slot(driver, users, engine, clock):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    await driver.review(reply, users[3:6])
    task = await engine.next_task(users[2], "en", TaskType.PROMPTER_REPLY)
    assert task.target_id == reply
    clock.advance(HIDE)
    # an assistant message takes one prompter reply, and that slot is held
    assert (await engine.availability(users[6], "en")).counts[TaskType.PROMPTER_REPLY] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[6], "en", TaskType.PROMPTER_REPLY)
    # a prompt takes three assistant replies: one is written, two more can be held
    for user in users[6:8]:
        assert (await engine.next_task(user, "en", TaskType.ASSISTANT_REPLY)).target_id == root
        clock.advance(HIDE)
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[8], "en", TaskType.ASSISTANT_REPLY)


async def test_expired_reply_task_frees_its_slot(make_engine, clock, users):
    d = Driver(make_engine(goal_tree_size=2, min_goal_tree_size=2), clock, users)
    root = await d.growing_tree(author=users[0])
    first = await d.engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(HIDE)
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(2 * DAY)
    task = await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    assert task.target_id == root
    with pytest.raises(errors.TaskExpired):
        await d.engine.submit_reply(first.id, users[1], "too late")


async def test_skipped_reply_task_frees_its_slot(make_engine, clock, users):
    d = Driver(make_engine(goal_tree_size=2, min_goal_tree_size=2), clock, users)
    root = await d.growing_tree(author=users[0])
    first = await d.engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(HIDE)
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    await d.engine.skip_task(first.id, users[1])
    assert (await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)).target_id == root


async def test_ranking_task_reserves_a_ranking_slot(make_engine, clock, users):
    d = Driver(make_engine(**SMALL), clock, users)
    root, _ = await ranking_tree(d)
    tasks = [await d.engine.next_task(u, "en", TaskType.RANK_ASSISTANT_REPLIES) for u in users[9:12]]
    assert all(t.target_id == root for t in tasks)
    assert (await d.engine.availability(users[0], "en")).counts[TaskType.RANK_ASSISTANT_REPLIES] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[0], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await d.engine.skip_task(tasks[0].id, users[9])
    assert (await d.engine.next_task(users[0], "en", TaskType.RANK_ASSISTANT_REPLIES)).target_id == root


# ---------------------------------------------------------------------------------------------- expiry


async def test_tasks_expire_after_two_days(engine, users, clock):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    assert task.expires_at == task.created_at + 2 * DAY
    clock.advance(2 * DAY - 1)
    assert await engine.expire_tasks() == 0
    assert (await engine.get_task(task.id, users[0])).status is TaskStatus.PENDING
    clock.advance(1)
    assert await engine.expire_tasks() == 1
    assert (await engine.get_task(task.id, users[0])).status is TaskStatus.EXPIRED
    assert await engine.expire_tasks() == 0


async def test_expire_tasks_leaves_done_and_skipped_tasks_alone(engine, users, clock):
    done = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    skipped = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    pending = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(done.id, users[0], "done")
    await engine.skip_task(skipped.id, users[0])
    clock.advance(3 * DAY)
    assert await engine.expire_tasks() == 1
    assert (await engine.get_task(done.id, users[0])).status is TaskStatus.DONE
    assert (await engine.get_task(skipped.id, users[0])).status is TaskStatus.SKIPPED
    assert (await engine.get_task(pending.id, users[0])).status is TaskStatus.EXPIRED


# ---------------------------------------------------------------------------------------------- disabled languages


async def test_init_prompt_disabled_langs_honoured_by_availability_and_next_task(make_engine, users):
    engine = make_engine(init_prompt_disabled_langs=("de",))
    assert (await engine.availability(users[0], "de")).counts[TaskType.INITIAL_PROMPT] == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[0], "de", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[0], "DE")  # random request, language normalised
    # other languages are not affected
    assert (await engine.availability(users[0], "en")).counts[TaskType.INITIAL_PROMPT] > 0
    assert (await engine.next_task(users[0], "en")).type is TaskType.INITIAL_PROMPT


# ------------------------------------------------------------------------------------ availability is read-only


async def test_availability_writes_nothing(driver, users, make_engine, db, clock):
    quiet = make_engine(seed=2, auto_mod_enabled=False)
    quiet_driver = Driver(quiet, clock, users)
    growing = await quiet_driver.growing_tree(author=users[0])
    waiting = await quiet_driver.accepted_prompt(author=users[1])  # the reference would promote it
    in_review = await quiet_driver.write_prompt(users[2])
    reply = await answer(quiet_driver, users[3], TaskType.ASSISTANT_REPLY, growing)
    for flagger in users[4:9]:  # enough red flags for auto-moderation, which was off
        await quiet.react(flagger, reply, "red_flag")
    stale = await quiet.next_task(users[5], "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(3 * DAY)  # `stale` is past its expiry but not marked yet

    engine = make_engine(seed=1)
    before = await table_dump(db)
    counts_before = await engine.tree_counts()
    seen = []
    for user in users:
        seen.append((await engine.availability(user, "en")).total)
        await engine.availability(user, "de")
    assert await table_dump(db) == before
    assert await engine.tree_counts() == counts_before
    assert (await engine.tree_status(waiting)).state is TreeState.PROMPT_LOTTERY_WAITING
    assert not (await engine.message(reply)).deleted
    assert (await engine.get_task(stale.id, users[5])).status is TaskStatus.PENDING
    assert (await engine.tree_status(in_review)).state is TreeState.INITIAL_PROMPT_REVIEW
    assert any(seen)


# ---------------------------------------------------------------------------------------------- requests


@pytest.mark.parametrize("lang", ["", "e", "english", "en-", "12", "en_US_x-toolongpart", "e1", "xx", "qq-zz", "tlh"])
async def test_invalid_language_codes(engine, users, lang):
    """Malformed codes, and made-up languages CLDR does not know (issue 18: members created unlimited pools)."""
    with pytest.raises(errors.InvalidLanguage) as exc:
        await engine.next_task(users[0], lang)
    assert exc.value.code == errors.ErrorCode.INVALID_LANGUAGE
    with pytest.raises(errors.InvalidLanguage):
        await engine.availability(users[0], lang)


async def test_language_codes_are_normalised(engine, users):
    assert (await engine.next_task(users[0], " EN ", TaskType.INITIAL_PROMPT)).lang == "en"
    assert (await engine.next_task(users[0], "pt_BR", TaskType.INITIAL_PROMPT)).lang == "pt-br"
    assert (await engine.availability(users[0], "pt-BR")).lang == "pt-br"


async def test_unknown_task_type(engine, users, db):
    with pytest.raises(errors.UnknownTaskType) as exc:
        await engine.next_task(users[0], "en", "write_a_poem")
    assert exc.value.code == errors.ErrorCode.UNKNOWN_TASK_TYPE
    assert await scalar(db, "SELECT count(*) FROM tasks") == 0
    # the string form of a real type works
    assert (await engine.next_task(users[0], "en", "initial_prompt")).type is TaskType.INITIAL_PROMPT


async def test_disabled_user_gets_no_tasks(engine, users, db):
    task = await engine.next_task(users[3], "en", TaskType.INITIAL_PROMPT)
    await engine.ban_user(users[3], users[0], "spam")
    with pytest.raises(errors.UserDisabled) as exc:
        await engine.next_task(users[3], "en")
    assert exc.value.code == errors.ErrorCode.USER_DISABLED
    with pytest.raises(errors.UserDisabled):
        await engine.availability(users[3], "en")
    with pytest.raises(errors.UserDisabled):
        await engine.submit_reply(task.id, users[3], "still here")
    assert (await engine.get_task(task.id, users[3])).status is TaskStatus.CANCELLED
    assert await scalar(db, "SELECT count(*) FROM messages") == 0
    await engine.unban_user(users[3], users[0])
    assert (await engine.next_task(users[3], "en", TaskType.INITIAL_PROMPT)).type is TaskType.INITIAL_PROMPT


async def test_unknown_user(engine):
    with pytest.raises(errors.UserNotFound):
        await engine.next_task(424242, "en")


def test_weights_sum_matches_the_reference_percentages():
    w = policy.kind_weights(TaskWeights())
    total = sum(w.values())
    assert math.isclose(w[TaskKind.RANKING] / total, 0.454, abs_tol=0.001)
    assert math.isclose(w[TaskKind.REPLY] / total, 0.091, abs_tol=0.001)
