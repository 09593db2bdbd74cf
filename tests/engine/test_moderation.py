"""Moderation: emojis, auto-moderation, delete/restore, ban/unban, purge and the moderation log."""

from __future__ import annotations

import itertools

import pytest

from engine import Emoji, EmojiOp, Engine, TaskStatus, TaskType, TreeState, errors
from engine.check import check_database
from engine.records import MessageRow
from tests.driver import Driver, accepted_reply, member, reply, tree_row

# ---------------------------------------------------------------------------------------------- helpers


async def more_users(engine: Engine, n: int, prefix: str = "extra") -> list[int]:
    return [await member(engine, f"{prefix}{i}", f"{prefix} {i}") for i in range(n)]


async def tree_messages(db, tree_id: str) -> dict[str, MessageRow]:
    async with db.read() as repo:
        return {m.id: m for m in await repo.messages_of_tree(tree_id)}


async def state_of(engine: Engine, tree_id: str) -> TreeState:
    return (await engine.tree_status(tree_id)).state


async def emoji_rows(db, message_id: str) -> dict[str, int]:
    """Per-emoji counts computed from the per-user rows."""
    async with db.read() as repo:
        rows = await repo._all(
            "SELECT emoji, count(*) FROM message_emojis WHERE message_id = ? GROUP BY emoji", (message_id,)
        )
    return {r[0]: r[1] for r in rows}


async def thread(d: Driver) -> tuple[str, str, str]:
    """A growing tree (goal 5): prompt by users[0] → accepted answer A by users[1] → accepted follow-up P by
    users[2]."""
    u = d.users
    root = await d.growing_tree(u[0])
    a = await accepted_reply(d, u[1], parent=root)
    p = await accepted_reply(d, u[2], TaskType.PROMPTER_REPLY, parent=a)
    return root, a, p


# ---------------------------------------------------------------------------------------------- emojis


async def test_thumbs_up_and_down_exclude_each_other(driver, users, db):
    msg = await driver.write_prompt(users[0])
    assert await driver.engine.react(users[1], msg, Emoji.THUMBS_UP) == {"+1": 1}
    assert await driver.engine.react(users[2], msg, "+1") == {"+1": 2}
    assert await driver.engine.react(users[1], msg, Emoji.THUMBS_DOWN) == {"+1": 1, "-1": 1}
    async with db.read() as repo:
        assert await repo.user_emojis(msg, users[1]) == {"-1"}
    assert await driver.engine.react(users[1], msg, "+1", EmojiOp.ADD) == {"+1": 2}
    async with db.read() as repo:
        assert await repo.user_emojis(msg, users[1]) == {"+1"}
    assert (await driver.engine.message(msg)).emojis == await emoji_rows(db, msg) == {"+1": 2}


async def test_voting_on_ones_own_message_is_ignored(driver, users, db):
    msg = await driver.write_prompt(users[0])
    assert await driver.engine.react(users[0], msg, Emoji.THUMBS_UP) == {}
    assert await driver.engine.react(users[0], msg, Emoji.THUMBS_DOWN) == {}
    assert await emoji_rows(db, msg) == {}
    # other emojis on one's own message are kept
    assert await driver.engine.react(users[0], msg, Emoji.HEART_EYES) == {"heart_eyes": 1}


async def test_toggle_adds_then_removes_and_add_remove_are_idempotent(driver, users, db):
    msg = await driver.write_prompt(users[0])
    engine = driver.engine
    assert await engine.react(users[1], msg, "clap") == {"clap": 1}
    assert await engine.react(users[1], msg, "clap") == {}
    assert await emoji_rows(db, msg) == {}
    assert await engine.react(users[1], msg, "clap", "add") == {"clap": 1}
    assert await engine.react(users[1], msg, "clap", "add") == {"clap": 1}
    assert await engine.react(users[2], msg, "clap", "add") == {"clap": 2}
    assert await engine.react(users[3], msg, "clap", "remove") == {"clap": 2}
    assert await engine.react(users[1], msg, "clap", "remove") == {"clap": 1}
    assert await engine.react(users[1], msg, "clap", "remove") == {"clap": 1}
    for user, emoji in itertools.product(users[1:6], ("100", "rofl", "+1", "-1", "+1")):
        await engine.react(user, msg, emoji)
    stored = (await engine.message(msg)).emojis
    assert stored == await emoji_rows(db, msg)
    # per user: +1 added, replaced by -1, then +1 again (which replaces the -1)
    assert stored == {"100": 5, "rofl": 5, "+1": 5, "clap": 1}
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


async def test_red_flag_records_a_flagged_message(driver, users, db):
    msg = await driver.write_prompt(users[0])
    assert await driver.engine.react(users[1], msg, Emoji.RED_FLAG) == {"red_flag": 1}
    async with db.read() as repo:
        rows = await repo._all("SELECT message_id, processed FROM flagged_messages")
    assert [tuple(r) for r in rows] == [(msg, 0)]
    # a report is a red flag plus a report label
    await driver.engine.report(users[2], msg, "rude")
    assert (await driver.engine.message(msg)).emojis == {"red_flag": 2}
    async with db.read() as repo:
        reports = await repo._all(
            "SELECT user_id, comment, is_report, task_id FROM labels WHERE message_id = ?", (msg,)
        )
    assert [tuple(r) for r in reports] == [(users[2], "rude", 1, None)]
    assert (await driver.engine.message(msg)).review_count == 0  # a report is not a review


async def test_invalid_emoji_and_unknown_message_are_refused(driver, users, db):
    msg = await driver.write_prompt(users[0])
    with pytest.raises(errors.InvalidEmoji):
        await driver.engine.react(users[1], msg, "party_parrot")
    with pytest.raises(errors.InvalidEmoji):
        await driver.engine.react(users[1], msg, "+1", "double")
    with pytest.raises(errors.MessageNotFound):
        await driver.engine.react(users[1], "no-such-message", "+1")
    with pytest.raises(errors.MessageNotFound):
        await driver.engine.report(users[1], "no-such-message", "?")
    assert await emoji_rows(db, msg) == {}


# ---------------------------------------------------------------------------------------------- auto-moderation


async def test_four_red_flags_abort_a_prompt_in_review(driver, users, db):
    msg = await driver.write_prompt(users[0])
    for user in users[1:4]:
        await driver.engine.react(user, msg, Emoji.RED_FLAG)
    assert await state_of(driver.engine, msg) is TreeState.INITIAL_PROMPT_REVIEW
    pending = await driver.engine.next_task(users[5], "en", TaskType.LABEL_INITIAL_PROMPT)
    await driver.engine.react(users[4], msg, Emoji.RED_FLAG)
    t = await tree_row(db, msg)
    assert (t.state, t.active) == (TreeState.ABORTED_LOW_GRADE, False)
    with pytest.raises(errors.TaskCancelled):
        await driver.engine.submit_labels(pending.id, users[5], {"spam": 0.0})
    async with db.read() as repo:
        log = await repo.moderation_log()
    assert [(e["action"], e["target"], e["actor_id"]) for e in log] == [("auto_abort", msg, None)]


async def test_four_red_flags_delete_a_reply_with_its_subtree(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    root, a, p = await thread(d)
    for user in users[5:8]:
        await d.engine.react(user, a, Emoji.RED_FLAG)
    assert not (await d.engine.message(a)).deleted
    await d.engine.react(users[8], a, Emoji.RED_FLAG)
    msgs = await tree_messages(db, root)
    assert (msgs[root].deleted, msgs[a].deleted, msgs[p].deleted) == (False, True, True)
    assert await state_of(d.engine, root) is TreeState.GROWING
    # the root takes new answers again
    assert (await d.engine.next_task(users[9], "en", TaskType.ASSISTANT_REPLY)).target_id == root


async def test_skip_reply_halts_a_tree_at_25(new_engine, clock, users, db):
    engine = new_engine(5)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    skippers = await more_users(engine, 25)
    for user in skippers[:24]:
        await engine.react(user, root, Emoji.SKIP_REPLY)
    assert (await engine.message(root)).emojis == {"_skip_reply": 24}
    assert await state_of(engine, root) is TreeState.GROWING
    await engine.react(skippers[24], root, Emoji.SKIP_REPLY)
    t = await tree_row(db, root)
    assert (t.state, t.active, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, False, TreeState.GROWING)
    async with db.read() as repo:
        assert (await repo.moderation_log())[0]["action"] == "auto_halt"


async def test_skipped_reply_tasks_count_towards_the_skip_threshold(new_engine, clock, users):
    engine = new_engine(5, auto_mod_max_skip_reply=3)
    d = Driver(engine, clock, users)
    root = await d.growing_tree(users[0])
    for user in users[1:4]:
        task = await engine.next_task(user, "en", TaskType.ASSISTANT_REPLY)
        assert task.target_id == root
        await engine.skip_task(task.id, user)
    assert (await engine.message(root)).emojis == {"_skip_reply": 3}
    assert await state_of(engine, root) is TreeState.HALTED_BY_MODERATOR


async def test_auto_moderation_can_be_disabled_and_the_job_catches_up(new_engine, clock, users, db):
    off = new_engine(5, auto_mod_enabled=False)
    d = Driver(off, clock, users)
    prompt = await d.write_prompt(users[0])
    for user in users[1:6]:
        await off.react(user, prompt, Emoji.RED_FLAG)
    assert await state_of(off, prompt) is TreeState.INITIAL_PROMPT_REVIEW
    assert await off.run_auto_moderation("en") == 0
    assert await state_of(off, prompt) is TreeState.INITIAL_PROMPT_REVIEW

    on = new_engine(5)
    assert await on.run_auto_moderation("de") == 0  # other languages are not touched
    assert await on.run_auto_moderation("en") == 1
    assert await state_of(on, prompt) is TreeState.ABORTED_LOW_GRADE
    assert await on.run_auto_moderation("en") == 0  # inactive trees are no longer suspects


async def test_auto_moderation_job_deletes_flagged_replies_and_halts_skipped_trees(new_engine, clock, users, db):
    off = new_engine(5, auto_mod_enabled=False)
    d = Driver(off, clock, users)
    root, a, p = await thread(d)
    skipped = await d.growing_tree(users[3])
    for user in users[5:9]:
        await off.react(user, a, Emoji.RED_FLAG)
    skippers = await more_users(off, 25)
    for user in skippers:
        await off.react(user, skipped, Emoji.SKIP_REPLY)
    assert await state_of(off, skipped) is TreeState.GROWING
    assert not (await off.message(a)).deleted

    on = new_engine(5)
    assert await on.run_auto_moderation("en") == 2
    msgs = await tree_messages(db, root)
    assert (msgs[root].deleted, msgs[a].deleted, msgs[p].deleted) == (False, True, True)
    assert await state_of(on, root) is TreeState.GROWING
    assert await state_of(on, skipped) is TreeState.HALTED_BY_MODERATOR
    async with db.read() as repo:
        actions = {e["action"]: e["target"] for e in await repo.moderation_log()}
    assert actions == {"auto_delete": a, "auto_halt": skipped}


async def test_auto_moderation_ignores_trees_past_growing(new_engine, clock, users, db):
    d = Driver(new_engine(2), clock, users)
    root = await d.growing_tree(users[0])
    only = await accepted_reply(d, users[1], parent=root)
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT
    for user in users[2:7]:
        await d.engine.react(user, only, Emoji.RED_FLAG)
    assert not (await d.engine.message(only)).deleted
    assert await d.engine.run_auto_moderation("en") == 0
    assert await state_of(d.engine, root) is TreeState.READY_FOR_EXPORT


# ---------------------------------------------------------------------------------------------- delete / restore


async def test_deleting_a_reply_removes_its_subtree_and_withdraws_its_tasks(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    a = await accepted_reply(d, u[1], parent=root)
    a2 = await reply(d.engine, u[3], parent=root)  # a sibling, still under review
    p = await reply(d.engine, u[2], TaskType.PROMPTER_REPLY, parent=a)  # a follow-up under a, under review
    outside = await d.engine.next_task(u[4], "en", TaskType.LABEL_ASSISTANT_REPLY)
    inside = await d.engine.next_task(u[5], "en", TaskType.LABEL_PROMPTER_REPLY)
    assert (outside.target_id, inside.target_id) == (a2, p)

    assert await d.engine.delete_message(a, u[11], "off-topic") is TreeState.GROWING
    msgs = await tree_messages(db, root)
    assert (msgs[root].deleted, msgs[a].deleted, msgs[p].deleted, msgs[a2].deleted) == (False, True, True, False)
    with pytest.raises(errors.TaskCancelled):
        await d.engine.submit_labels(inside.id, u[5], {"spam": 0.0})
    assert (await d.engine.get_task(inside.id, u[5])).status is TaskStatus.CANCELLED
    # tasks on messages outside the deleted subtree stay open
    await d.engine.submit_labels(outside.id, u[4], {"spam": 0.0, "quality": 0.5})
    assert (await d.engine.message(a2)).review_count == 1
    # a deleted message is not offered for review
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(u[6], "en", TaskType.LABEL_PROMPTER_REPLY)
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.delete_message(p, u[11])  # already deleted
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


async def test_restore_brings_back_the_subtree_in_order(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    root, a, p = await thread(d)
    await d.engine.delete_message(a, users[11])
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.restore_message(p, users[11])  # its parent is still deleted
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.restore_message(root, users[11])  # not deleted
    assert await d.engine.restore_message(a, users[11]) is TreeState.GROWING
    msgs = await tree_messages(db, root)
    assert not any(m.deleted for m in msgs.values())
    # the restored follow-up can be answered again
    assert (await d.engine.next_task(users[5], "en", TaskType.ASSISTANT_REPLY)).target_id in {root, p}
    with pytest.raises(errors.MessageNotFound):
        await d.engine.delete_message("no-such-message", users[11])


async def test_deleting_a_root_halts_the_tree_and_restoring_it_resumes(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    root, _, _ = await thread(d)
    assert await d.engine.delete_message(root, users[11]) is TreeState.HALTED_BY_MODERATOR
    t = await tree_row(db, root)
    assert (t.state, t.active, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, False, TreeState.GROWING)
    assert all(m.deleted for m in (await tree_messages(db, root)).values())
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.resume_tree(root, users[11])  # restore the prompt first
    assert await d.engine.restore_message(root, users[11]) is TreeState.GROWING
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.GROWING, True)
    assert not any(m.deleted for m in (await tree_messages(db, root)).values())


async def test_deleting_a_prompt_halts_its_tree_in_any_state(new_engine, clock, users, db):
    d = Driver(new_engine(5, max_active_trees=0), clock, users)
    waiting = await d.accepted_prompt(users[1])
    in_review = await d.write_prompt(users[0])
    pending = await d.engine.next_task(users[2], "en", TaskType.LABEL_INITIAL_PROMPT)
    for tree_id, state in ((in_review, TreeState.INITIAL_PROMPT_REVIEW), (waiting, TreeState.PROMPT_LOTTERY_WAITING)):
        assert await d.engine.delete_message(tree_id, users[11]) is TreeState.HALTED_BY_MODERATOR
        t = await tree_row(db, tree_id)
        assert (t.state, t.active, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, False, state)
    assert (await d.engine.get_task(pending.id, users[2])).status is TaskStatus.CANCELLED
    assert await d.engine.restore_message(in_review, users[11]) is TreeState.INITIAL_PROMPT_REVIEW
    assert await d.engine.restore_message(waiting, users[11]) is TreeState.PROMPT_LOTTERY_WAITING
    assert (await tree_row(db, in_review)).active is True
    assert (await d.engine.next_task(users[3], "en", TaskType.LABEL_INITIAL_PROMPT)).target_id == in_review


async def test_deleting_a_reply_in_ranking_can_complete_the_tree(new_engine, clock, users, db):
    """A sibling set of two loses one answer: nothing is left to rank, so the tree is scored and exported."""
    d = Driver(new_engine(3), clock, users)
    u = users
    root = await d.growing_tree(u[0])
    keep = await accepted_reply(d, u[1], parent=root)
    drop = await accepted_reply(d, u[2], parent=root)
    assert await state_of(d.engine, root) is TreeState.RANKING
    task = await d.engine.next_task(u[5], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert await d.engine.delete_message(drop, u[11]) is TreeState.READY_FOR_EXPORT
    with pytest.raises(errors.TaskCancelled):
        await d.engine.submit_ranking(task.id, u[5], [0, 1])
    msgs = await tree_messages(db, root)
    assert msgs[drop].deleted and not msgs[keep].deleted
    assert all(m.rank is None for m in msgs.values())
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


# ---------------------------------------------------------------------------------------------- ban / unban


async def test_a_banned_member_gets_no_tasks_and_their_waiting_prompts_halt(new_engine, clock, users, db):
    d = Driver(new_engine(5, max_active_trees=0), clock, users)
    u = users
    waiting = await d.accepted_prompt(u[3])
    in_review = await d.write_prompt(u[3])
    open_task = await d.engine.next_task(u[3], "en", TaskType.INITIAL_PROMPT)

    await d.engine.ban_user(u[3], u[11], "spam")
    assert (await d.engine.user(u[3])).enabled is False
    with pytest.raises(errors.UserDisabled):
        await d.engine.next_task(u[3], "en")
    with pytest.raises(errors.UserDisabled):
        await d.engine.availability(u[3], "en")
    with pytest.raises(errors.UserDisabled):
        await d.engine.react(u[3], in_review, Emoji.THUMBS_UP)
    with pytest.raises(errors.UserDisabled):
        await d.engine.submit_reply(open_task.id, u[3], "one more")
    assert (await d.engine.get_task(open_task.id, u[3])).status is TaskStatus.CANCELLED
    t = await tree_row(db, waiting)
    assert (t.state, t.halted_from) == (TreeState.HALTED_BY_MODERATOR, TreeState.PROMPT_LOTTERY_WAITING)
    # a prompt still in review is not waiting for the lottery: it stays where it is
    assert await state_of(d.engine, in_review) is TreeState.INITIAL_PROMPT_REVIEW

    await d.engine.unban_user(u[3], u[11])
    assert (await d.engine.user(u[3])).enabled is True
    task = await d.engine.next_task(u[3], "en", TaskType.INITIAL_PROMPT)
    assert task.user_id == u[3]
    assert await d.engine.react(u[3], in_review, Emoji.HEART_EYES) == {"heart_eyes": 1}
    # the halted prompt does not come back by itself; a moderator resumes it to the lottery
    assert await state_of(d.engine, waiting) is TreeState.HALTED_BY_MODERATOR
    assert await d.engine.resume_tree(waiting, u[11]) is TreeState.PROMPT_LOTTERY_WAITING


async def test_the_hourly_job_halts_waiting_prompts_of_disabled_authors(new_engine, clock, users, db):
    d = Driver(new_engine(max_active_trees=0), clock, users)
    mine = await d.accepted_prompt(users[1])
    theirs = await d.accepted_prompt(users[2])
    async with db.transaction() as repo:  # disabled behind the engine's back (e.g. by another tool)
        await repo.set_user_enabled(users[1], False)
    assert await d.engine.halt_prompts_of_disabled_users() == 1
    assert await state_of(d.engine, mine) is TreeState.HALTED_BY_MODERATOR
    assert await state_of(d.engine, theirs) is TreeState.PROMPT_LOTTERY_WAITING
    assert await d.engine.halt_prompts_of_disabled_users() == 0


async def test_banning_an_unknown_member_is_refused(driver, users):
    with pytest.raises(errors.UserNotFound):
        await driver.engine.ban_user(10_000, users[11])
    with pytest.raises(errors.UserNotFound):
        await driver.engine.unban_user(10_000, users[11])


# ---------------------------------------------------------------------------------------------- purge


async def test_purge_removes_every_contribution_and_recounts(new_engine, clock, users, db):
    u = users
    victim = u[4]
    # an exported tree: victim reviewed both answers, ranked them, and reacted
    d = Driver(new_engine(3), clock, users)
    done = await d.growing_tree(u[0])
    r1 = await accepted_reply(d, u[1], parent=done, reviewers=[victim, u[5], u[6]])
    r2 = await accepted_reply(d, u[2], parent=done, reviewers=[victim, u[5], u[6]])
    for ranker in (victim, u[7], u[8]):
        task = await d.engine.next_task(ranker, "en", TaskType.RANK_ASSISTANT_REPLIES)
        await d.engine.submit_ranking(task.id, ranker, list(range(len(task.candidates))))
    assert await state_of(d.engine, done) is TreeState.READY_FOR_EXPORT
    assert {m.rank for m in (await tree_messages(db, done)).values()} == {None, 0, 1}
    await d.engine.react(victim, r1, Emoji.THUMBS_UP)
    await d.engine.react(u[5], r1, Emoji.THUMBS_UP)
    await d.engine.react(victim, r2, Emoji.RED_FLAG)

    # a growing tree where the victim wrote an answer that has a follow-up by someone else
    d2 = Driver(new_engine(5), clock, users)
    growing = await d2.growing_tree(u[9])
    v_reply = await accepted_reply(d2, victim, parent=growing)
    survivor = await reply(d2.engine, u[11], parent=growing)
    follow_up = await accepted_reply(d2, u[10], TaskType.PROMPTER_REPLY, parent=v_reply)
    await d2.engine.react(victim, growing, Emoji.CLAP)

    removed = await d.engine.purge_user(victim, u[11], reason="requested")
    assert removed == 2  # the victim's answer and the follow-up below it

    # messages: the victim's answer and its subtree are gone, the rest stays
    grown = await tree_messages(db, growing)
    assert (grown[v_reply].deleted, grown[follow_up].deleted) == (True, True)
    assert (grown[growing].deleted, grown[survivor].deleted) == (False, False)
    assert await state_of(d.engine, growing) is TreeState.GROWING
    # emojis: rows gone and counts recomputed, other members' emojis kept
    async with db.read() as repo:
        assert await repo.emojis_of_user(victim) == []
        assert await repo.labels_of_user(victim) == []
        assert await repo.rankings_of_user(victim) == []
    finished = await tree_messages(db, done)
    assert finished[r1].emojis == {"+1": 1}
    assert finished[r2].emojis == {}
    assert grown[growing].emojis == {}
    # labels: review_count recomputed; the verdict stands (decisions #14)
    assert (finished[r1].review_count, finished[r1].review_result) == (2, True)
    assert (finished[r2].review_count, finished[r2].review_result) == (2, True)
    # rankings: ranking_count recomputed, and with only 2 rankings left the tree is back in ranking, unranked
    assert (finished[r1].ranking_count, finished[r2].ranking_count) == (2, 2)
    t = await tree_row(db, done)
    assert (t.state, t.active) == (TreeState.RANKING, True)
    assert all(m.rank is None for m in finished.values())
    # the purged member is still a member (no ban), and their task history was not re-counted as work
    assert (await d.engine.user(victim)).enabled is True
    assert (await check_database(db)) == [], "\n".join(await check_database(db))

    # one more ranking completes the tree again
    task = await d.engine.next_task(u[9], "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert task.target_id == done
    await d.engine.submit_ranking(task.id, u[9], [0, 1])
    assert await state_of(d.engine, done) is TreeState.READY_FOR_EXPORT
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


async def test_purging_a_prompt_author_halts_their_trees(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    root, _, _ = await thread(d)
    assert await d.engine.purge_user(users[0], users[11]) == 3
    t = await tree_row(db, root)
    assert (t.state, t.active) == (TreeState.HALTED_BY_MODERATOR, False)
    assert all(m.deleted for m in (await tree_messages(db, root)).values())
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


async def test_purge_with_ban_marks_the_member_deleted_and_disabled(new_engine, clock, users, db):
    d = Driver(new_engine(5, max_active_trees=0), clock, users)
    waiting = await d.accepted_prompt(users[3])
    await d.engine.purge_user(users[3], users[11], ban=True)
    member = await d.engine.user(users[3])
    assert (member.enabled, member.deleted) == (False, True)
    assert await state_of(d.engine, waiting) is TreeState.HALTED_BY_MODERATOR
    with pytest.raises(errors.UserDisabled):
        await d.engine.next_task(users[3], "en")
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.unban_user(users[3], users[11])
    assert (await check_database(db)) == [], "\n".join(await check_database(db))


# ---------------------------------------------------------------------------------------------- moderation log


async def test_every_moderator_action_is_logged_with_actor_and_time(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    mod = users[11]
    root, a, _ = await thread(d)
    steps = [
        ("halt", root, d.engine.halt_tree(root, mod, "check")),
        ("resume", root, d.engine.resume_tree(root, mod, "ok")),
        ("delete", a, d.engine.delete_message(a, mod, "rude")),
        ("restore", a, d.engine.restore_message(a, mod, "fine after all")),
        ("ban", str(users[6]), d.engine.ban_user(users[6], mod, "spam")),
        ("unban", str(users[6]), d.engine.unban_user(users[6], mod, "appeal")),
        ("purge", str(users[7]), d.engine.purge_user(users[7], mod, reason="asked")),
    ]
    expected = []
    for action, target, call in steps:
        clock.advance(10)
        await call
        expected.append((action, target, mod, clock.now()))
    async with db.read() as repo:
        log = await repo.moderation_log()
    assert [(e["action"], e["target"], e["actor_id"], e["at"]) for e in reversed(log)] == expected
    assert [e["detail"] for e in reversed(log)] == ["check", "ok", "rude", "fine after all", "spam", "appeal", "asked"]


async def test_a_refused_moderator_action_leaves_no_log_entry(new_engine, clock, users, db):
    d = Driver(new_engine(5), clock, users)
    root = await d.growing_tree(users[0])
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.resume_tree(root, users[11])
    with pytest.raises(errors.InvalidStateChange):
        await d.engine.restore_message(root, users[11])
    async with db.read() as repo:
        assert await repo.moderation_log() == []


async def test_a_purged_members_done_tasks_cannot_be_submitted_again(driver, users, db):
    """Purging marks the member's done reviews `purged`; those tasks stay closed (found by the property test)."""
    engine = driver.engine
    prompt = await driver.write_prompt(users[0])
    reviewer = users[1]
    task = await engine.next_task(reviewer, "en", TaskType.LABEL_INITIAL_PROMPT)
    assert task.target_id == prompt
    await engine.submit_labels(task.id, reviewer, {"spam": 0.0, "lang_mismatch": 0.0})
    await engine.purge_user(reviewer, users[11])
    await engine.unban_user(reviewer, users[11])  # purge without ban leaves them enabled; be explicit
    with pytest.raises(errors.TaskAlreadyDone):
        await engine.submit_labels(task.id, reviewer, {"spam": 0.0, "lang_mismatch": 0.0})
    async with db.read() as repo:
        assert await repo.reviews(prompt) == []
    assert await check_database(db) == []
