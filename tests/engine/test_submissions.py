"""Submissions: replies, labels and rankings, what is refused and what is stored (reference §4.11, §5; decisions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock, Role, TaskStatus, TaskType, TreeState, errors
from storage.database import Database
from tests.driver import Driver, answer, member, ranking_tree

DAY = 86400.0
MINUTE = 60.0
SMALL = {"goal_tree_size": 4, "min_goal_tree_size": 2}  # the prompt plus three answers


async def rows(db, sql: str, *params) -> list[tuple]:
    return [tuple(r) for r in await db._conn.execute_fetchall(sql, params)]


async def scalar(db, sql: str, *params):
    return (await rows(db, sql, *params))[0][0]


async def message_count(db) -> int:
    return await scalar(db, "SELECT count(*) FROM messages")


async def ranking_counts(engine, ids) -> list[int]:
    return [(await engine.message(i)).ranking_count for i in ids]


@pytest.fixture
async def reply_task(driver, users, engine):
    """A growing tree and an assistant-reply task for users[1] on its prompt."""
    root = await driver.growing_tree(author=users[0])
    task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert task.target_id == root
    return task


# ---------------------------------------------------------------------------------------------- reply validation


@pytest.mark.parametrize("text", ["", "   ", " \n\t "])
async def test_empty_reply_is_refused(engine, users, db, text):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.MessageEmpty) as exc:
        await engine.submit_reply(task.id, users[0], text)
    assert exc.value.code == errors.ErrorCode.MESSAGE_EMPTY
    assert exc.value.text == text
    after = await engine.get_task(task.id, users[0])
    assert after.status is TaskStatus.PENDING
    assert after.draft == (text or None)  # nothing typed, nothing to keep
    assert await message_count(db) == 0
    assert await scalar(db, "SELECT count(*) FROM trees") == 0


async def test_reply_length_limit_is_measured_after_stripping(engine, users, db):
    tasks = [await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT) for _ in range(3)]
    too_long = "x" * 2001
    with pytest.raises(errors.MessageTooLong) as exc:
        await engine.submit_reply(tasks[0].id, users[0], too_long)
    assert exc.value.text == too_long
    assert (await engine.get_task(tasks[0].id, users[0])).draft == too_long
    assert await message_count(db) == 0

    exactly = "y" * 2000
    result = await engine.submit_reply(tasks[1].id, users[0], exactly)
    assert (await engine.message(result.message_id)).text == exactly

    padded = "  \n" + "z" * 2000 + "\n  "
    result = await engine.submit_reply(tasks[2].id, users[0], padded)
    assert (await engine.message(result.message_id)).text == "z" * 2000  # stored stripped
    assert await message_count(db) == 2


async def test_the_same_text_twice_within_120_minutes_is_refused(engine, users, db, clock):
    first = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(first.id, users[0], "What is a tree?")
    clock.advance(119 * MINUTE)
    second = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.MessageDuplicated) as exc:
        await engine.submit_reply(second.id, users[0], "  What is a tree?  ")  # compared after stripping
    assert exc.value.code == errors.ErrorCode.MESSAGE_DUPLICATED
    assert exc.value.text == "  What is a tree?  "
    kept = await engine.get_task(second.id, users[0])
    assert kept.status is TaskStatus.PENDING and kept.draft == "  What is a tree?  "
    assert await message_count(db) == 1

    # another member may write the same words
    other = await engine.next_task(users[1], "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(other.id, users[1], "What is a tree?")

    clock.advance(2 * MINUTE)  # 121 minutes after the first
    result = await engine.submit_reply(second.id, users[0], "What is a tree?")
    assert (await engine.message(result.message_id)).text == "What is a tree?"
    assert await message_count(db) == 3
    assert (await engine.get_task(second.id, users[0])).draft is None


async def test_reply_to_a_tree_that_left_growing_is_refused_and_the_text_kept(reply_task, users, engine, db):
    """Halting withdraws the reply task; the refusal gives the text back and keeps it as the draft.

    The engine withdraws (cancels) pending reply tasks when the tree leaves growing, so the refusal is
    TaskCancelled, which is checked before the tree's state (TreeNotAccepting)."""
    before = await message_count(db)
    await engine.halt_tree(reply_task.tree_id, users[11], "checking")
    text = "My carefully written answer"
    with pytest.raises(errors.TaskCancelled) as exc:
        await engine.submit_reply(reply_task.id, users[1], text)
    assert exc.value.text == text
    after = await engine.get_task(reply_task.id, users[1])
    assert after.status is TaskStatus.CANCELLED
    assert after.draft == text
    assert await message_count(db) == before
    # resuming does not bring the withdrawn task back
    await engine.resume_tree(reply_task.tree_id, users[11])
    with pytest.raises(errors.TaskCancelled):
        await engine.submit_reply(reply_task.id, users[1], text)


async def test_reply_whose_parent_was_deleted_is_refused(driver, users, engine, db):
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    await driver.review(reply, users[3:6])
    task = await engine.next_task(users[2], "en", TaskType.PROMPTER_REPLY)
    await engine.delete_message(reply, users[11], "off-topic")
    before = await message_count(db)
    with pytest.raises(errors.TaskCancelled) as exc:  # deleting the parent withdrew the task
        await engine.submit_reply(task.id, users[2], "a follow-up")
    assert exc.value.text == "a follow-up"
    after = await engine.get_task(task.id, users[2])
    assert after.status is TaskStatus.CANCELLED
    assert after.draft == "a follow-up"
    assert await message_count(db) == before


# ---------------------------------------------------------------------------------------------- task lifecycle


async def test_unknown_task_id(engine, users):
    for call in (
        engine.submit_reply("no-such-task", users[0], "text"),
        engine.submit_labels("no-such-task", users[0], {"spam": 0.0}),
        engine.submit_ranking("no-such-task", users[0], [0, 1]),
        engine.get_task("no-such-task", users[0]),
        engine.skip_task("no-such-task", users[0]),
        engine.save_draft("no-such-task", users[0], "text"),
        engine.ack_task("no-such-task", users[0], "card"),
    ):
        with pytest.raises(errors.TaskNotFound) as exc:
            await call
        assert exc.value.code == errors.ErrorCode.TASK_NOT_FOUND


async def test_someone_elses_task(reply_task, users, engine, db):
    await engine.save_draft(reply_task.id, users[1], "owner's draft")
    before = await message_count(db)
    with pytest.raises(errors.TaskNotYours) as exc:
        await engine.submit_reply(reply_task.id, users[2], "hijack")
    assert exc.value.code == errors.ErrorCode.TASK_NOT_YOURS
    for call in (
        engine.get_task(reply_task.id, users[2]),
        engine.skip_task(reply_task.id, users[2]),
        engine.save_draft(reply_task.id, users[2], "hijack"),
        engine.ack_task(reply_task.id, users[2], "card"),
    ):
        with pytest.raises(errors.TaskNotYours):
            await call
    task = await engine.get_task(reply_task.id, users[1])
    assert task.status is TaskStatus.PENDING
    assert task.draft == "owner's draft"
    assert task.frontend_ref is None
    assert await message_count(db) == before
    await engine.submit_reply(reply_task.id, users[1], "the owner's answer")


async def test_double_submit(reply_task, users, engine, db):
    before = await message_count(db)
    result = await engine.submit_reply(reply_task.id, users[1], "first")
    with pytest.raises(errors.TaskAlreadyDone) as exc:
        await engine.submit_reply(reply_task.id, users[1], "second")
    assert exc.value.code == errors.ErrorCode.TASK_ALREADY_DONE
    assert exc.value.text == "second"
    assert await message_count(db) == before + 1
    assert await rows(db, "SELECT id, text FROM messages WHERE task_id = ?", reply_task.id) == [
        (result.message_id, "first")
    ]
    assert (await engine.get_task(reply_task.id, users[1])).draft is None


async def test_expired_task(reply_task, users, engine, db, clock):
    before = await message_count(db)
    clock.advance(2 * DAY)
    with pytest.raises(errors.TaskExpired) as exc:
        await engine.submit_reply(reply_task.id, users[1], "late answer")
    assert exc.value.code == errors.ErrorCode.TASK_EXPIRED
    assert exc.value.text == "late answer"
    assert (await engine.get_task(reply_task.id, users[1])).draft == "late answer"
    # once the job has marked it, the same refusal, and the draft stays readable
    assert await engine.expire_tasks() == 1
    with pytest.raises(errors.TaskExpired):
        await engine.submit_reply(reply_task.id, users[1], "later answer")
    task = await engine.get_task(reply_task.id, users[1])
    assert task.status is TaskStatus.EXPIRED
    assert task.draft == "later answer"
    assert await message_count(db) == before


async def test_skipped_task(reply_task, users, engine, db):
    await engine.skip_task(reply_task.id, users[1])
    before = await message_count(db)
    with pytest.raises(errors.TaskSkipped) as exc:
        await engine.submit_reply(reply_task.id, users[1], "changed my mind")
    assert exc.value.code == errors.ErrorCode.TASK_SKIPPED
    assert exc.value.text == "changed my mind"
    with pytest.raises(errors.TaskSkipped):
        await engine.skip_task(reply_task.id, users[1])
    assert (await engine.get_task(reply_task.id, users[1])).status is TaskStatus.SKIPPED
    assert await message_count(db) == before


async def test_wrong_kind_of_answer(reply_task, driver, users, engine, db):
    with pytest.raises(errors.TaskWrongKind) as exc:
        await engine.submit_labels(reply_task.id, users[1], {"spam": 0.0})
    assert exc.value.code == errors.ErrorCode.TASK_WRONG_KIND
    with pytest.raises(errors.TaskWrongKind):
        await engine.submit_ranking(reply_task.id, users[1], [0, 1])
    prompt = await driver.write_prompt(users[0])
    label = await engine.next_task(users[2], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert label.target_id == prompt
    before = await message_count(db)
    with pytest.raises(errors.TaskWrongKind) as exc:
        await engine.submit_reply(label.id, users[2], "some text")
    assert exc.value.text == "some text"
    with pytest.raises(errors.TaskWrongKind):
        await engine.save_draft(label.id, users[2], "some text")
    assert await message_count(db) == before
    assert (await engine.get_task(reply_task.id, users[1])).status is TaskStatus.PENDING
    assert (await engine.get_task(label.id, users[2])).status is TaskStatus.PENDING


async def test_ack_required_when_configured(make_engine, users, db):
    engine = make_engine(seed=1, require_task_ack=True)
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.TaskNotAck) as exc:
        await engine.submit_reply(task.id, users[0], "before delivery")
    assert exc.value.code == errors.ErrorCode.TASK_NOT_ACK
    assert exc.value.text == "before delivery"
    assert await message_count(db) == 0
    await engine.ack_task(task.id, users[0], "card-1")
    await engine.ack_task(task.id, users[0], "card-1")  # idempotent
    assert (await engine.get_task(task.id, users[0])).frontend_ref == "card-1"
    result = await engine.submit_reply(task.id, users[0], "after delivery")
    assert (await engine.message(result.message_id)).text == "after delivery"
    await engine.ack_task(task.id, users[0], "card-1")  # still fine once done


async def test_ack_is_not_required_by_default(engine, users):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    assert task.frontend_ref is None
    await engine.submit_reply(task.id, users[0], "no ack needed")
    assert (await engine.get_task(task.id, users[0])).status is TaskStatus.DONE


async def test_ack_of_an_expired_task_is_refused(engine, users, clock):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    clock.advance(2 * DAY)
    with pytest.raises(errors.TaskExpired):
        await engine.ack_task(task.id, users[0], "card")
    assert (await engine.get_task(task.id, users[0])).frontend_ref is None


# ---------------------------------------------------------------------------------------------- drafts


async def test_draft_is_kept_until_the_task_is_done(reply_task, users, engine):
    assert reply_task.draft is None
    await engine.save_draft(reply_task.id, users[1], "half an answer")
    assert (await engine.get_task(reply_task.id, users[1])).draft == "half an answer"
    await engine.save_draft(reply_task.id, users[1], "most of an answer")
    assert (await engine.get_task(reply_task.id, users[1])).draft == "most of an answer"
    await engine.submit_reply(reply_task.id, users[1], "the whole answer")
    task = await engine.get_task(reply_task.id, users[1])
    assert task.status is TaskStatus.DONE
    assert task.draft is None


async def test_draft_survives_a_restart(tmp_path):
    path = tmp_path / "grove.db"
    clock = FakeClock()
    db = await Database.open(path)
    try:
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(1))
        user = await member(engine, "writer")
        task = await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
        await engine.save_draft(task.id, user, "a draft worth keeping")
    finally:
        await db.close()

    db = await Database.open(path)
    try:
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(2))
        again = await engine.get_task(task.id, user)
        assert again.draft == "a draft worth keeping"
        assert again.status is TaskStatus.PENDING
        result = await engine.submit_reply(task.id, user, again.draft)
        assert (await engine.message(result.message_id)).text == "a draft worth keeping"
    finally:
        await db.close()


# ---------------------------------------------------------------------------------------------- labels


@pytest.fixture
async def label_task(driver, users, engine):
    prompt = await driver.write_prompt(users[0])
    task = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    return task


async def assert_no_review(db, engine, task, user) -> None:
    assert await scalar(db, "SELECT count(*) FROM labels") == 0
    assert (await engine.message(task.target_id)).review_count == 0
    assert (await engine.get_task(task.id, user)).status is TaskStatus.PENDING


@pytest.mark.parametrize("name", ["nonsense", "fails_task", "helpfulness", "Spam"])
async def test_unknown_label_name(label_task, users, engine, db, name):
    with pytest.raises(errors.LabelsInvalidLabel) as exc:
        await engine.submit_labels(label_task.id, users[1], {"spam": 0.0, name: 1.0})
    assert exc.value.code == errors.ErrorCode.LABELS_INVALID_LABEL
    await assert_no_review(db, engine, label_task, users[1])


@pytest.mark.parametrize("value", [1.5, -0.1, float("nan"), float("inf"), True, False, "0.5", None])
async def test_label_value_outside_0_1(label_task, users, engine, db, value):
    with pytest.raises(errors.LabelsInvalidValue) as exc:
        await engine.submit_labels(label_task.id, users[1], {"spam": 0.0, "quality": value})
    assert exc.value.code == errors.ErrorCode.LABELS_INVALID_VALUE
    with pytest.raises(errors.LabelsInvalidValue):
        await engine.submit_labels(label_task.id, users[1], {"spam": value})
    await assert_no_review(db, engine, label_task, users[1])


async def test_label_values_at_the_bounds_are_stored(label_task, users, engine, db):
    await engine.submit_labels(label_task.id, users[1], {"spam": 0, "quality": 1, "humor": 0.25})
    stored = await rows(db, "SELECT message_id, user_id, task_id, mode, labels FROM labels")
    assert len(stored) == 1
    message_id, user_id, task_id, mode, labels = stored[0]
    assert (message_id, user_id, task_id, mode) == (label_task.target_id, users[1], label_task.id, "full")
    assert json.loads(labels) == {"spam": 0.0, "quality": 1.0, "humor": 0.25}
    assert (await engine.message(label_task.target_id)).review_count == 1
    assert (await engine.get_task(label_task.id, users[1])).status is TaskStatus.DONE


async def test_missing_mandatory_spam_label(label_task, users, engine, db):
    with pytest.raises(errors.LabelsMandatoryMissing) as exc:
        await engine.submit_labels(label_task.id, users[1], {"lang_mismatch": 0.0, "quality": 0.5})
    assert exc.value.code == errors.ErrorCode.LABELS_MANDATORY_MISSING
    with pytest.raises(errors.LabelsMandatoryMissing):
        await engine.submit_labels(label_task.id, users[1], {})
    await assert_no_review(db, engine, label_task, users[1])


async def test_labels_for_another_message(label_task, driver, users, engine, db):
    other = await driver.write_prompt(users[2])
    with pytest.raises(errors.LabelsWrongMessage) as exc:
        await engine.submit_labels(label_task.id, users[1], {"spam": 0.0}, message_id=other)
    assert exc.value.code == errors.ErrorCode.LABELS_WRONG_MESSAGE
    await assert_no_review(db, engine, label_task, users[1])
    assert (await engine.message(other)).review_count == 0
    # naming the task's own message is fine
    await engine.submit_labels(label_task.id, users[1], {"spam": 0.0}, message_id=label_task.target_id)
    assert (await engine.message(label_task.target_id)).review_count == 1


async def test_labels_for_another_message_on_a_reply_task(driver, users, engine, db):
    """Reference quirk 9: the check must also work for reply-label tasks (decisions #9)."""
    root = await driver.growing_tree(author=users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    task = await engine.next_task(users[2], "en", TaskType.LABEL_ASSISTANT_REPLY)
    assert task.target_id == reply
    labels_before = await scalar(db, "SELECT count(*) FROM labels")
    with pytest.raises(errors.LabelsWrongMessage):
        await engine.submit_labels(task.id, users[2], {"spam": 0.0}, message_id=root)
    assert await scalar(db, "SELECT count(*) FROM labels") == labels_before
    assert (await engine.message(reply)).review_count == 0


# ---------------------------------------------------------------------------------------------- rankings


@pytest.fixture
async def ranking(make_engine, clock, users):
    """(engine, root, children, a ranking task for users[9])."""
    d = Driver(make_engine(seed=5, **SMALL), clock, users)
    root, children = await ranking_tree(d)
    task = await d.engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert sorted(c.id for c in task.candidates) == sorted(children)
    return d.engine, root, children, task


@pytest.mark.parametrize(
    "order",
    [[0, 0, 1], [0, 1, 3], [0, 1], [0, 1, 2, 0], [-1, 0, 1], [], [0, 1, 2.5], [True, False, 2], ["a", "b", "c"]],
)
async def test_ranking_must_be_a_permutation(ranking, users, db, order):
    engine, _, children, task = ranking
    with pytest.raises(errors.InvalidRanking) as exc:
        await engine.submit_ranking(task.id, users[9], order)
    assert exc.value.code == errors.ErrorCode.INVALID_RANKING
    assert await scalar(db, "SELECT count(*) FROM rankings") == 0
    assert await ranking_counts(engine, children) == [0] * len(children)
    assert (await engine.get_task(task.id, users[9])).status is TaskStatus.PENDING


async def test_ranking_none_needs_not_rankable(ranking, users, db):
    engine, _, _, task = ranking
    with pytest.raises(errors.InvalidRanking):
        await engine.submit_ranking(task.id, users[9], None)
    assert await scalar(db, "SELECT count(*) FROM rankings") == 0


async def test_not_rankable_without_order_is_stored(ranking, users, db):
    engine, root, children, task = ranking
    result = await engine.submit_ranking(task.id, users[9], None, not_rankable=True)
    assert result.tree_state is TreeState.RANKING
    stored = await rows(db, "SELECT parent_id, user_id, ranking, ranked_ids, not_rankable, shown_ids FROM rankings")
    assert len(stored) == 1
    parent_id, user_id, order, ranked_ids, not_rankable, shown = stored[0]
    assert (parent_id, user_id, order, json.loads(ranked_ids), not_rankable) == (root, users[9], None, [], 1)
    assert json.loads(shown) == [c.id for c in task.candidates]
    assert await ranking_counts(engine, children) == [0] * len(children)
    assert (await engine.get_task(task.id, users[9])).status is TaskStatus.DONE


async def test_ranking_maps_shown_indices_to_ids_and_counts_each_child(ranking, users, db):
    engine, root, children, task = ranking
    shown = [c.id for c in task.candidates]
    await engine.submit_ranking(task.id, users[9], [2, 0, 1])
    ranked = json.loads(await scalar(db, "SELECT ranked_ids FROM rankings WHERE task_id = ?", task.id))
    assert ranked == [shown[2], shown[0], shown[1]]
    assert await ranking_counts(engine, children) == [1, 1, 1]
    second = await engine.next_task(users[10], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await engine.submit_ranking(second.id, users[10], [0, 1, 2])
    assert await ranking_counts(engine, children) == [2, 2, 2]
    with pytest.raises(errors.TaskAlreadyDone):
        await engine.submit_ranking(second.id, users[10], [0, 1, 2])
    assert await scalar(db, "SELECT count(*) FROM rankings WHERE parent_id = ?", root) == 2


async def test_ranking_after_a_candidate_was_deleted(ranking, users, db):
    """Deleting one of three answers leaves two to rank: the open ranking task is withdrawn (so it does not
    hold a ranking slot until it expires) and its submission refused; the member may rank the new set."""
    engine, root, children, task = ranking
    await engine.delete_message(children[0], users[11], "spam")
    assert (await engine.tree_status(root)).state is TreeState.RANKING
    with pytest.raises(errors.TaskCancelled) as exc:
        await engine.submit_ranking(task.id, users[9], [0, 1, 2])
    assert exc.value.code == errors.ErrorCode.TASK_CANCELLED
    again = await engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert sorted(c.id for c in again.candidates) == sorted(children[1:])
    assert await scalar(db, "SELECT count(*) FROM rankings") == 0
    assert await ranking_counts(engine, children) == [0] * len(children)
    # a new task shows only the remaining two
    fresh = await engine.next_task(users[10], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert sorted(c.id for c in fresh.candidates) == sorted(children[1:])


async def test_ranking_after_the_set_fell_below_two(make_engine, clock, users, db):
    """With two answers, deleting one leaves nothing to rank: the tree completes and the task is withdrawn."""
    d = Driver(make_engine(seed=6, goal_tree_size=3, min_goal_tree_size=2), clock, users)
    root = await d.growing_tree(author=users[0])
    children = []
    for author in users[1:3]:
        child = await answer(d, author, TaskType.ASSISTANT_REPLY, root)
        await d.review(child, users[6:9])
        children.append(child)
    assert (await d.engine.tree_status(root)).state is TreeState.RANKING
    task = await d.engine.next_task(users[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await d.engine.delete_message(children[0], users[11], "spam")
    with pytest.raises(errors.TaskCancelled):
        await d.engine.submit_ranking(task.id, users[9], [0, 1])
    assert await scalar(db, "SELECT count(*) FROM rankings") == 0


# ---------------------------------------------------------------------------------------------- what is stored


async def test_new_prompt_creates_a_tree_in_review_with_the_task_language(engine, users, db):
    task = await engine.next_task(users[0], "de", TaskType.INITIAL_PROMPT)
    result = await engine.submit_reply(task.id, users[0], "Was ist ein Baum?")
    assert result.tree_state is TreeState.INITIAL_PROMPT_REVIEW
    message = await engine.message(result.message_id)
    assert message.tree_id == result.message_id
    assert message.parent_id is None
    assert message.depth == 0
    assert message.role == Role.PROMPTER
    assert message.lang == "de"
    assert message.user_id == users[0]
    assert message.task_id == task.id
    assert message.review_count == 0 and message.review_result is None
    status = await engine.tree_status(result.message_id)
    assert status.state is TreeState.INITIAL_PROMPT_REVIEW
    assert status.active is True
    assert status.lang == "de"
    assert (await engine.tree_counts("de"))[TreeState.INITIAL_PROMPT_REVIEW] == 1
    assert (await engine.tree_counts("en"))[TreeState.INITIAL_PROMPT_REVIEW] == 0
    goal = await scalar(db, "SELECT goal_tree_size FROM trees WHERE id = ?", result.message_id)
    assert goal == engine.cfg.goal_tree_size


async def test_replies_get_depth_and_role_from_their_task(driver, users, engine):
    root = await driver.growing_tree(author=users[0])
    a_task = await engine.next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    a_result = await engine.submit_reply(a_task.id, users[1], "An assistant's answer")
    assert a_result.tree_state is TreeState.GROWING
    a = await engine.message(a_result.message_id)
    assert (a.parent_id, a.tree_id, a.depth, a.role, a.lang) == (root, root, 1, Role.ASSISTANT, "en")
    await driver.review(a.id, users[3:6])

    p_task = await engine.next_task(users[2], "en", TaskType.PROMPTER_REPLY)
    p = await engine.message((await engine.submit_reply(p_task.id, users[2], "A follow-up question")).message_id)
    assert (p.parent_id, p.tree_id, p.depth, p.role) == (a.id, root, 2, Role.PROMPTER)
    await driver.review(p.id, users[3:6])

    deeper = await engine.next_task(users[6], "en", TaskType.ASSISTANT_REPLY)
    if deeper.target_id != p.id:  # the prompt may also be chosen; skip until the follow-up comes up
        await engine.skip_task(deeper.id, users[6])
        deeper = await engine.next_task(users[6], "en", TaskType.ASSISTANT_REPLY)
    assert deeper.target_id == p.id
    d = await engine.message((await engine.submit_reply(deeper.id, users[6], "A deeper answer")).message_id)
    assert (d.parent_id, d.depth, d.role) == (p.id, 3, Role.ASSISTANT)
    assert [m.id for m in (await engine.get_task(deeper.id, users[6])).conversation] == [root, a.id, p.id]
