"""Notifications are recorded in the transaction that makes the change, only for members who opted in, and handed
to the front-end in batches (at most one DM per member per interval). /history reads a member's work in one
community."""

from __future__ import annotations

import dataclasses

import pytest

from engine import EngineConfig, TreeState
from engine.history import HistoryKind
from engine.history import page as history_page
from engine.notifications import NotificationKind
from tests.driver import SPAM, Driver

HOUR = 3600.0
# members here contribute without the consent card (consent has its own tests)
NO_CONSENT = {"require_consent": False} if "require_consent" in EngineConfig.model_fields else {}


@pytest.fixture
def engine(make_engine):
    return make_engine(**NO_CONSENT)


async def kinds(engine, user: int) -> list[tuple[str, str]]:
    return [(n["kind"], n["detail"]) for n in await engine.notifications_of(user)]


async def test_nothing_is_recorded_for_members_who_did_not_opt_in(driver: Driver, users: list[int]) -> None:
    engine = driver.engine
    tree_id = await driver.exported_tree()
    rejected = await driver.write_prompt(users[5])
    await driver.review(rejected, driver.others(users[5])[:3], labels=SPAM)
    assert (await engine.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT
    for user in users:
        assert not await engine.notifications_enabled(user)
        assert await engine.notifications_of(user) == []
    assert await engine.notifications_due(0, members=50, per_member=10) == []


async def test_opted_in_members_are_told_each_kind_once(driver: Driver, users: list[int], clock) -> None:
    engine = driver.engine
    for user in users:
        await engine.set_notifications(user, True)
    author = users[0]
    tree_id = await driver.growing_tree(author)
    assert await kinds(engine, author) == [(NotificationKind.PROMPT_ACCEPTED, "")]

    rejected = await driver.write_prompt(users[5])
    await driver.review(rejected, driver.others(users[5])[:3], labels=SPAM)
    assert (NotificationKind.PROMPT_REJECTED, "") in await kinds(engine, users[5])

    await driver.work(until_state=(tree_id, TreeState.READY_FOR_EXPORT))
    told = await kinds(engine, author)
    assert told.count((NotificationKind.TREE_FINISHED, "")) == 1

    # every reply ranked 1st to 3rd was told to its author, with its rank among its ranked siblings
    async with engine.db.read() as repo:
        ranked = [
            r for r in await repo.history.ranked_replies_to_tell(tree_id) if r[2] < 3
        ]  # (message, author, rank, siblings)
    assert ranked
    recorded = {
        (n["message_id"], n["detail"])
        for user in users
        for n in await engine.notifications_of(user)
        if n["kind"] == NotificationKind.REPLY_RANKED
    }
    assert recorded == {(mid, f"{rank + 1}/{siblings}") for mid, _, rank, siblings in ranked}

    # a re-check of the exported tree that changes no rank tells nothing new
    before = {u: await engine.notifications_of(u) for u in users}
    await engine.reconcile()
    await engine.retry_scoring()
    assert {u: await engine.notifications_of(u) for u in users} == before


async def test_delivery_is_batched_per_member_and_interval(driver: Driver, users: list[int], clock) -> None:
    engine = driver.engine
    author = users[0]
    await engine.set_notifications(author, True)
    first = await driver.accepted_prompt(author)
    second = await driver.write_prompt(author)
    await driver.review(second, driver.others(author)[:3], labels=SPAM)

    [digest] = await engine.notifications_due(HOUR, members=50, per_member=1)
    assert digest.user_id == author and digest.username == "u0" and digest.auth_method == "test"
    assert [(n.kind, n.message_id) for n in digest.notices] == [(NotificationKind.PROMPT_ACCEPTED, first)]
    assert digest.notices[0].text.startswith("prompt") and digest.more == 1
    assert await engine.notifications_told(author, digest.upto) == 2  # the one listed and the one summed up
    assert await engine.notifications_due(HOUR, members=50, per_member=10) == []

    third = await driver.write_prompt(author)
    await driver.review(third, driver.others(author)[:3])
    assert await engine.notifications_due(HOUR, members=50, per_member=10) == []  # told less than an hour ago
    clock.advance(HOUR)
    [later] = await engine.notifications_due(HOUR, members=50, per_member=10)
    assert [n.message_id for n in later.notices] == [third] and later.more == 0

    # turning notifications off drops what waits, and records nothing more
    await engine.set_notifications(author, False)
    assert await engine.notifications_due(0, members=50, per_member=10) == []
    await driver.accepted_prompt(author)
    assert [n["message_id"] for n in await engine.notifications_of(author)] == [first, second]
    assert await engine.forget_notifications(author) == 2
    assert await engine.notifications_of(author) == []


async def test_a_deleted_message_is_not_told_but_is_handled(driver: Driver, users: list[int]) -> None:
    engine = driver.engine
    author = users[0]
    await engine.set_notifications(author, True)
    prompt = await driver.accepted_prompt(author)
    await engine.delete_message(prompt, users[-1])
    [digest] = await engine.notifications_due(0, members=50, per_member=10)
    assert digest.notices == [] and digest.more == 0 and digest.upto is not None
    assert await engine.notifications_told(author, digest.upto) == 1


async def test_history_lists_a_members_work_with_its_fate(driver: Driver, users: list[int]) -> None:
    engine = driver.engine
    author = users[0]
    tree_id = await driver.exported_tree()
    page = await engine.member_history(author, HistoryKind.PROMPTS)
    [prompt] = page.items
    assert prompt.message_id == tree_id and prompt.is_prompt and prompt.review_result is True
    assert prompt.tree_state is TreeState.READY_FOR_EXPORT and prompt.rank is None
    replies = await engine.member_history(users[1], "replies", per_page=100)
    assert replies.total == len(replies.items) > 0 and not any(i.is_prompt for i in replies.items)
    assert [i.created_at for i in replies.items] == sorted((i.created_at for i in replies.items), reverse=True)
    ranked = [i for i in replies.items if i.rank is not None]
    assert ranked and all(0 <= i.rank < i.ranked_siblings for i in ranked)
    assert replies.reviews_given > 0 and replies.rankings_given > 0

    everything = await engine.member_history(users[1], per_page=2, page=99)  # clamped to the last page
    assert everything.pages == -(-everything.total // 2) and everything.page == everything.pages - 1

    # another community's engine sees none of it
    async with engine.db.read() as repo:
        step = dataclasses.replace(engine.step_on(repo), community=2)
        elsewhere = await history_page(step, users[1], HistoryKind.ALL, 0)
    assert elsewhere.items == [] and elsewhere.total == elsewhere.reviews_given == elsewhere.rankings_given == 0


async def test_history_leaves_out_deleted_messages_unless_asked(driver: Driver, users: list[int]) -> None:
    engine = driver.engine
    prompt = await driver.write_prompt(users[0])
    await engine.delete_message(prompt, users[-1])
    assert (await engine.member_history(users[0])).items == []
    [shown] = (await engine.member_history(users[0], include_deleted=True)).items
    assert shown.deleted and shown.review_result is None and shown.tree_state is TreeState.HALTED_BY_MODERATOR
