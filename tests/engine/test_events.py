"""Engine events: collected while a transaction runs, published to subscribers only after it commits."""

from __future__ import annotations

import pytest

from engine import TaskType, TreeState, errors
from engine.events import Event, MemberPurged, MessageAdded, MessagesDeleted, MessagesRestored, TreeStateChanged
from tests.driver import accepted_reply


@pytest.fixture
def seen(engine) -> list[Event]:
    events: list[Event] = []
    engine.subscribe(events.append)
    return events


async def test_a_reply_and_the_reviews_that_follow_are_told_in_order(driver, engine, users, seen):
    root = await driver.write_prompt(users[0])
    assert seen == [MessageAdded(root, root, users[0], "prompter", "en")]
    await driver.review(root, users[1:4])
    assert seen[-1] == TreeStateChanged(root, TreeState.INITIAL_PROMPT_REVIEW, TreeState.PROMPT_LOTTERY_WAITING)
    await engine.run_prompt_lottery("en")
    assert seen[-1] == TreeStateChanged(root, TreeState.PROMPT_LOTTERY_WAITING, TreeState.GROWING)


async def test_a_refused_submission_publishes_nothing(driver, engine, users, seen):
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    with pytest.raises(errors.MessageEmpty):
        await engine.submit_reply(task.id, users[0], "   ")
    assert seen == []


async def test_a_listener_that_fails_does_not_undo_the_committed_work(driver, engine, users, caplog):
    def broken(event: Event) -> None:
        raise RuntimeError("listener broke")

    engine.subscribe(broken)
    root = await driver.write_prompt(users[0])
    assert (await engine.message(root)).text.startswith("prompt")
    assert "event listener failed" in caplog.text


async def test_delete_and_restore_name_every_message_of_the_subtree(driver, engine, users, seen):
    root = await driver.growing_tree(users[0])
    answer = await accepted_reply(driver, users[1], parent=root)
    follow_up = await accepted_reply(driver, users[2], TaskType.PROMPTER_REPLY, parent=answer)
    seen.clear()
    await engine.delete_message(answer, users[11], "spam")
    deleted = [e for e in seen if isinstance(e, MessagesDeleted)]
    assert deleted == [MessagesDeleted(root, (answer, follow_up))]
    seen.clear()
    await engine.restore_message(answer, users[11], "fine after all")
    assert [e for e in seen if isinstance(e, MessagesRestored)] == [MessagesRestored(root, (answer, follow_up))]


async def test_an_erasing_purge_leaves_none_of_the_members_text_and_cannot_be_restored(driver, engine, users, seen, db):
    root = await driver.growing_tree(users[0])
    answer = await accepted_reply(driver, users[1], parent=root)
    text = (await engine.message(answer)).text
    draft_task = await engine.next_task(users[1], "en", TaskType.INITIAL_PROMPT)
    await engine.save_draft(draft_task.id, users[1], "a draft only I wrote")
    seen.clear()

    assert await engine.purge_user(users[1], users[1], reason="privacy", erase=True) == 1
    assert MemberPurged(users[1], (answer,), True) in seen
    assert MessagesDeleted(root, (answer,)) in seen
    assert (await engine.message(answer)).text == ""
    with pytest.raises(errors.InvalidStateChange, match="deleted their data"):
        await engine.restore_message(answer, users[11])

    async with db.read() as repo:
        tables = [r[0] for r in await repo._all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in await repo._all(f"SELECT * FROM {table}"):
                dumped = repr(tuple(row))
                assert text not in dumped and "a draft only I wrote" not in dumped, table


async def test_a_moderator_purge_keeps_the_text_for_review(driver, engine, users, seen):
    root = await driver.growing_tree(users[0])
    answer = await accepted_reply(driver, users[1], parent=root)
    text = (await engine.message(answer)).text
    await engine.purge_user(users[1], users[11], reason="spammer")
    assert MemberPurged(users[1], (answer,), False) in seen
    assert (await engine.message(answer)).text == text
