"""Consent first (issue 15): nothing of a member is stored before they agree; agreeing lets them contribute;
withdrawing stops new contributions and keeps what they gave."""

from __future__ import annotations

import pytest

from engine import Emoji, EmojiOp, TaskStatus, TaskType, TreeState, errors
from tests.driver import GOOD, Driver, fill_labels, member, ranking_tree

SMALL = {"goal_tree_size": 4, "min_goal_tree_size": 2}  # the prompt plus three answers
TEXT = "A prompt typed before agreeing"


async def stored(db) -> dict[str, int]:
    """How many rows of each kind of contribution the database holds (drafts included)."""
    async with db.read() as repo:
        return {
            table: int(await repo._scalar(sql))
            for table, sql in {
                "messages": "SELECT count(*) FROM messages",
                "labels": "SELECT count(*) FROM labels",
                "rankings": "SELECT count(*) FROM rankings",
                "emojis": "SELECT count(*) FROM message_emojis",
                "flags": "SELECT count(*) FROM flagged_messages",
                "tasks": "SELECT count(*) FROM tasks",
                "drafts": "SELECT count(*) FROM tasks WHERE draft IS NOT NULL",
            }.items()
        }


async def forget_consent(db, user_id: int) -> None:
    """A member from before consent existed: they hold tasks but never agreed."""
    async with db.transaction() as repo:
        await repo._run("UPDATE users SET consent_at = NULL WHERE id = ?", (user_id,))


async def test_a_newcomer_gets_no_task_and_stores_nothing_before_agreeing(engine, db, users, driver):
    prompt = await driver.write_prompt(users[0])
    newcomer = await member(engine, "newcomer", consent=False)
    state = await engine.consent(newcomer)
    assert state.required and not state.agreed and state.agreed_at is None and not state.may_contribute
    before = await stored(db)
    for task_type in (None, TaskType.INITIAL_PROMPT, TaskType.LABEL_INITIAL_PROMPT):
        with pytest.raises(errors.ConsentRequired):
            await engine.next_task(newcomer, "en", task_type)
    with pytest.raises(errors.ConsentRequired) as refused:
        await engine.report(newcomer, prompt, "this is spam")
    assert refused.value.text == "this is spam"  # the comment comes back, it is not stored
    for emoji in (Emoji.THUMBS_UP, Emoji.RED_FLAG):
        with pytest.raises(errors.ConsentRequired):
            await engine.react(newcomer, prompt, emoji, EmojiOp.ADD)
    assert await stored(db) == before
    assert (await engine.availability(newcomer, "en")).counts  # reading what there is stays open

    agreed = await engine.give_consent(newcomer)
    assert agreed.agreed and agreed.agreed_at is not None and agreed.may_contribute
    task = await engine.next_task(newcomer, "en", TaskType.INITIAL_PROMPT)
    result = await engine.submit_reply(task.id, newcomer, TEXT)
    assert (await engine.message(result.message_id)).text == TEXT
    assert (await engine.give_consent(newcomer)).agreed_at == agreed.agreed_at  # agreeing again changes nothing


async def test_a_member_who_never_agreed_stores_no_draft_reply_review_ranking_or_report(make_engine, clock, db, users):
    d = Driver(make_engine(seed=5, **SMALL), clock, users)
    engine = d.engine
    root, children = await ranking_tree(d)
    prompt = await d.write_prompt(users[4])
    legacy = users[10]
    writing = await engine.next_task(legacy, "en", TaskType.INITIAL_PROMPT)
    review = await engine.next_task(legacy, "en", TaskType.LABEL_INITIAL_PROMPT)
    assert review.target_id == prompt
    rank = await engine.next_task(legacy, "en", TaskType.RANK_ASSISTANT_REPLIES)
    await forget_consent(db, legacy)
    before = await stored(db)

    with pytest.raises(errors.ConsentRequired) as refused:
        await engine.save_draft(writing.id, legacy, TEXT)
    assert refused.value.text == TEXT
    with pytest.raises(errors.ConsentRequired) as refused:
        await engine.save_draft(writing.id, legacy, TEXT, check=True)
    assert refused.value.text == TEXT
    with pytest.raises(errors.ConsentRequired) as refused:
        await engine.submit_reply(writing.id, legacy, TEXT)
    assert refused.value.text == TEXT  # given back, and not kept as a draft either
    with pytest.raises(errors.ConsentRequired):
        await engine.submit_labels(review.id, legacy, fill_labels(review, GOOD))
    with pytest.raises(errors.ConsentRequired):
        await engine.submit_ranking(rank.id, legacy, list(range(len(rank.candidates))))
    with pytest.raises(errors.ConsentRequired):
        await engine.report(legacy, children[0], "")
    with pytest.raises(errors.ConsentRequired):
        await engine.resume_task(writing.id, legacy)
    with pytest.raises(errors.ConsentRequired):
        await engine.next_task(legacy, "en")
    assert await stored(db) == before
    assert (await engine.get_task(writing.id, legacy)).draft is None

    await engine.give_consent(legacy)  # then the same tasks go through
    await engine.save_draft(writing.id, legacy, TEXT)
    assert (await engine.get_task(writing.id, legacy)).draft == TEXT
    assert (await engine.submit_reply(writing.id, legacy, TEXT)).message_id
    await engine.submit_labels(review.id, legacy, fill_labels(review, GOOD))
    await engine.submit_ranking(rank.id, legacy, list(range(len(rank.candidates))))
    await engine.report(legacy, children[0], "looks odd")
    after = await stored(db)
    assert after["messages"] == before["messages"] + 1
    assert after["labels"] == before["labels"] + 2  # the review and the report
    assert after["rankings"] == before["rankings"] + 1
    assert (await engine.tree_status(root)).state in (TreeState.RANKING, TreeState.READY_FOR_EXPORT)


async def test_withdrawing_stops_new_contributions_and_keeps_the_old_ones(engine, db, users, driver):
    author = users[0]
    prompt = await driver.write_prompt(author)
    other = await driver.write_prompt(users[1])
    await engine.react(author, other, Emoji.THUMBS_UP, EmojiOp.ADD)
    writing = await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)
    await engine.save_draft(writing.id, author, "half a thought")

    state = await engine.withdraw_consent(author)
    assert not state.agreed and state.withdrawn_at is not None and not state.may_contribute
    task = await engine.get_task(writing.id, author)
    assert task.status is TaskStatus.CANCELLED and task.draft is None  # nothing reserved, no text kept
    assert await engine.open_tasks(author) == []
    with pytest.raises(errors.ConsentRequired):
        await engine.next_task(author, "en")
    with pytest.raises(errors.ConsentRequired):
        await engine.report(author, other, "")
    with pytest.raises(errors.ConsentRequired):
        await engine.react(author, other, Emoji.RED_FLAG, EmojiOp.ADD)
    assert (await engine.react(author, other, Emoji.THUMBS_UP, EmojiOp.REMOVE)).get(Emoji.THUMBS_UP.value, 0) == 0

    kept = await engine.message(prompt)  # what was given stays
    assert not kept.deleted and kept.text and kept.user_id == author
    assert [m.id for m in await engine.messages_of_user(author)] == [prompt]
    assert (await engine.withdraw_consent(author)).withdrawn_at == state.withdrawn_at  # again: nothing changes

    again = await engine.give_consent(author)
    assert again.agreed and again.withdrawn_at == state.withdrawn_at
    assert await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)


async def test_without_require_consent_nobody_is_asked(make_engine, clock):
    engine = make_engine(require_consent=False)
    newcomer = await member(engine, "free", consent=False)
    state = await engine.consent(newcomer)
    assert not state.required and not state.agreed and state.may_contribute
    task = await engine.next_task(newcomer, "en", TaskType.INITIAL_PROMPT)
    assert (await engine.submit_reply(task.id, newcomer, TEXT)).message_id
