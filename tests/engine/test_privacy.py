"""Privacy that does not destroy others' work (issue 15): remove my name keeps the contributions in the dataset
under an author nothing leads back to; delete my texts erases the member's texts and withdraws, rather than
deletes, the conversations others built on them. Each acts once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import TaskStatus, TaskType, TreeState, errors
from engine.check import check_database
from engine.events import TextsDeleted
from engine.export import ExportOptions, export
from engine.oasst import member_uuid
from engine.privacy import REMOVED_AUTH
from engine.stats import Stats
from tests.driver import Driver, accepted_reply, tree_row

EVERYTHING = ExportOptions(states=None, spam="include", labels=True, events=True)


async def exported(db, path: Path, options: ExportOptions = EVERYTHING) -> str:
    await export(db, path, options)
    return path.read_text()


async def seed_of(db) -> str:
    async with db.read() as repo:
        return await repo.exports.member_seed()


async def texts_anywhere(db, needle: str) -> list[str]:
    """Every (table, column) of the database holding `needle` in any row."""
    found = []
    async with db.read() as repo:
        tables = [r[0] for r in await repo._all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [r[1] for r in await repo._all(f'PRAGMA table_info("{table}")')]:
                n = await repo._scalar(
                    f'SELECT count(*) FROM "{table}" WHERE instr(CAST("{column}" AS TEXT), ?) > 0', (needle,)
                )
                if n:
                    found.append(f"{table}.{column}")
    return found


async def links_of(db, user_id: int) -> dict[str, int]:
    """What still ties the member to contributions: rows of theirs in each table."""
    async with db.read() as repo:
        return {
            table: int(await repo._scalar(f"SELECT count(*) FROM {table} WHERE user_id = ?{extra}", (user_id,)))
            for table, extra in (
                ("messages", ""),
                ("labels", ""),
                ("rankings", ""),
                ("message_emojis", ""),
                ("tasks", " AND status != 'pending'"),
            )
        }


# ---------------------------------------------------------------------------------------------- remove my name


async def test_remove_my_name_keeps_the_texts_under_an_author_nothing_leads_back_to(
    engine, db, users, driver, tmp_path, clock
):
    author = users[0]
    tree_id = await driver.exported_tree()
    own = await engine.messages_of_user(author)
    assert own and tree_id in {m.id for m in own}
    uuid = member_uuid(await seed_of(db), author)
    before = await exported(db, tmp_path / "before.jsonl")
    assert uuid in before
    assert all(m.text in before for m in own)
    assert any((await links_of(db, author)).values())

    moved = await engine.remove_name(author)
    assert moved == len(own)
    after = await exported(db, tmp_path / "after.jsonl")
    assert all(m.text in after for m in own)  # the contributions stay in the dataset ...
    assert uuid not in after  # ... under no id of the member's
    [line] = [json.loads(line) for line in after.splitlines() if json.loads(line)["message_tree_id"] == tree_id]
    prompt_author = line["prompt"]["user_id"]
    assert prompt_author != uuid
    assert await links_of(db, author) == dict.fromkeys(("messages", "labels", "rankings", "message_emojis", "tasks"), 0)
    assert await engine.messages_of_user(author) == []
    user = await engine.user(author)
    assert user.name_removed_at is not None and user.display_name == "User 0"

    anonymous = (await engine.message(tree_id)).user_id
    row = await engine.user(anonymous)
    assert row.auth_method == REMOVED_AUTH and row.display_name == "" and row.username != user.username
    assert not row.show_on_leaderboard and row.enabled  # its waiting prompts would still take part in the lottery
    assert member_uuid(await seed_of(db), anonymous) == prompt_author

    stats = Stats(db, clock=clock)
    await stats.refresh_all()
    board = await stats.board(per_page=50)
    assert anonymous not in {r.user_id for r in board.rows} and author not in {r.user_id for r in board.rows}
    assert (await stats.member(anonymous)).rank is None

    assert await check_database(db) == []
    with pytest.raises(errors.AlreadyDone):  # once: a repeated request changes nothing
        await engine.remove_name(author)
    assert (await engine.user(author)).name_removed_at == user.name_removed_at
    assert await exported(db, tmp_path / "again.jsonl") == after


async def test_remove_my_name_keeps_open_tasks_and_acts_again_on_new_work(engine, db, users, driver):
    author = users[0]
    await driver.write_prompt(author)
    open_task = await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)
    assert await engine.remove_name(author) == 1
    assert (await engine.get_task(open_task.id, author)).status is TaskStatus.PENDING  # still theirs to finish
    await engine.submit_reply(open_task.id, author, "written after the name was removed")
    assert await engine.remove_name(author) == 1  # new work since: the request acts on it
    with pytest.raises(errors.AlreadyDone):
        await engine.remove_name(author)


# ---------------------------------------------------------------------------------------------- delete my texts


async def conversations(d: Driver) -> dict[str, str]:
    """A's texts in four trees: t1 is A's prompt with E's reply; t2 is B's prompt with A's reply and D's answer
    under it; t3 is C's prompt with A's reply and nothing below it; t4 is A's prompt under review."""
    u, e = d.users, d.engine
    a, b, c, dd, ee = u[0], u[1], u[2], u[4], u[5]
    ids: dict[str, str] = {}
    ids["t1"] = await d.growing_tree(author=a)
    ids["e_reply"] = await accepted_reply(d, ee, TaskType.ASSISTANT_REPLY, parent=ids["t1"])
    await e.halt_tree(ids["t1"], None)
    ids["t3"] = await d.growing_tree(author=c)
    ids["a_leaf"] = await accepted_reply(d, a, TaskType.ASSISTANT_REPLY, parent=ids["t3"])
    await e.halt_tree(ids["t3"], None)
    ids["t2"] = await d.growing_tree(author=b)
    ids["a_mid"] = await accepted_reply(d, a, TaskType.ASSISTANT_REPLY, parent=ids["t2"])
    ids["d_reply"] = await accepted_reply(d, dd, TaskType.PROMPTER_REPLY, parent=ids["a_mid"])
    await e.resume_tree(ids["t1"], None)
    await e.resume_tree(ids["t3"], None)
    ids["t4"] = await d.write_prompt(a)
    return ids


async def test_delete_my_texts_withdraws_others_conversations_and_deletes_nothing_of_theirs(
    engine, db, users, driver, tmp_path, clock
):
    a = users[0]
    ids = await conversations(driver)
    mine = {m.id: m.text for m in await engine.messages_of_user(a)}
    assert set(mine) == {ids["t1"], ids["a_leaf"], ids["a_mid"], ids["t4"]}
    others = {i: (await engine.message(i)).text for i in (ids["e_reply"], ids["t2"], ids["d_reply"], ids["t3"])}
    stats = Stats(db, clock=clock)
    await stats.refresh_all()
    counts = {u: (await stats.member(u)).counters for u in users[1:6]}
    events: list[object] = []
    engine.subscribe(events.append)

    preview = await engine.texts_deletion_preview(a)
    assert (preview.messages, preview.trees, preview.others, preview.done_at) == (4, 3, 2, None)
    before = await exported(db, tmp_path / "before.jsonl")
    assert all(text in before for text in mine.values())

    done = await engine.delete_texts(a)
    assert (done.messages, done.trees, done.others) == (4, 3, 2) and done.done_at is not None

    for message_id in mine:  # the member's texts are gone, from every table
        message = await engine.message(message_id)
        assert message.deleted and message.text == ""
    for text in mine.values():
        assert await texts_anywhere(db, text) == []
    for message_id, text in others.items():  # nothing of others' is deleted
        message = await engine.message(message_id)
        assert not message.deleted and message.text == text
    for tree in ("t1", "t2", "t4"):
        row = await tree_row(db, ids[tree])
        assert row.withdrawn_at is not None and row.state is TreeState.HALTED_BY_MODERATOR, tree
    t3 = await tree_row(db, ids["t3"])  # A's leaf reply was deleted the way a moderator deletes one
    assert t3.withdrawn_at is None and t3.state is TreeState.GROWING

    after = await exported(db, tmp_path / "after.jsonl", ExportOptions(states=None, spam="include", deleted="include"))
    trees = {json.loads(line)["message_tree_id"] for line in after.splitlines()}
    assert trees == {ids["t3"]}  # withdrawn trees are out of every export
    assert not any(text in after for text in mine.values())
    by_member = await exported(db, tmp_path / "e.jsonl", ExportOptions(states=None, user=users[5], spam="include"))
    assert others[ids["e_reply"]] not in by_member  # out of a member's export too

    await stats.refresh_all()
    assert {u: (await stats.member(u)).counters for u in users[1:6]} == counts  # others' stats intact

    assert await check_database(db) == []
    [event] = [e for e in events if isinstance(e, TextsDeleted)]
    assert event.user_id == a and set(event.message_ids) == set(mine)
    assert set(event.replies) == {ids["e_reply"], ids["d_reply"]}
    assert set(event.withdrawn) == {ids["t1"], ids["t2"], ids["t4"]}

    with pytest.raises(errors.AlreadyDone):  # once: a repeated request changes nothing
        await engine.delete_texts(a)
    assert (await engine.texts_deletion_preview(a)).done_at == done.done_at
    assert len([e for e in events if isinstance(e, TextsDeleted)]) == 1


async def test_delete_my_texts_blanks_drafts_and_comments_and_withdraws_open_tasks(engine, db, users, driver):
    a = users[0]
    prompt = await driver.write_prompt(users[1])
    await engine.report(a, prompt, "A comment only the reporter wrote")
    task = await engine.next_task(a, "en", TaskType.INITIAL_PROMPT)
    await engine.save_draft(task.id, a, "A draft nobody else saw")
    done = await engine.delete_texts(a)
    assert done.messages == 0 and done.trees == 0
    assert await texts_anywhere(db, "A comment only the reporter wrote") == []
    assert await texts_anywhere(db, "A draft nobody else saw") == []
    assert (await engine.get_task(task.id, a)).status is TaskStatus.CANCELLED
    assert not (await engine.message(prompt)).deleted
    with pytest.raises(errors.AlreadyDone):
        await engine.delete_texts(a)
    new = await engine.next_task(a, "en", TaskType.INITIAL_PROMPT)  # the member may go on contributing
    await engine.submit_reply(new.id, a, "written afterwards")
    assert (await engine.delete_texts(a)).messages == 1  # and delete that too


async def test_own_messages_tell_what_became_of_each(engine, users, driver):
    tree_id = await driver.exported_tree()
    own = await engine.own_messages(users[0])
    assert {m.message.id for m in own} == {m.id for m in await engine.messages_of_user(users[0])}
    root = next(m for m in own if m.message.id == tree_id)
    assert root.tree_state is TreeState.READY_FOR_EXPORT and root.message.review_result is True


async def test_the_moderator_purge_keeps_its_full_power(engine, users, driver):
    ids = await conversations(driver)
    removed = await engine.purge_user(users[0], None, reason="spammer")
    assert removed >= 5  # the member's messages with every reply under them
    assert (await engine.message(ids["d_reply"])).deleted and (await engine.message(ids["e_reply"])).deleted
