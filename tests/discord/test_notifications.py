"""/notifications and the notification DMs through the fake Discord: opt in, then an accepted prompt and a ranked reply
make exactly one DM (at most one per member per interval); a member with DMs closed is skipped and logged once."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest

from cogs.history.cog import NOTICES_PER_DM
from cogs.history.render import digest_embed, history_embed
from cogs.i18n import LOCALES, Tr
from engine import EngineConfig, TaskType, TreeState
from engine.history import PER_PAGE, HistoryItem, HistoryKind, HistoryPage
from engine.notifications import Digest, Notice, NotificationKind
from engine.types import Role
from tests.discord.locales import limit_problems
from tests.discord_env import Env
from tests.driver import Driver
from tests.fakes import message_text
from tests.fakes.discord_api import error

NO_CONSENT = {"require_consent": False} if "require_consent" in EngineConfig.model_fields else {}
HOUR = 3600.0


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    return {**NO_CONSENT, "goal_tree_size": 4, "min_goal_tree_size": 4}


async def driver(env: Env) -> Driver:
    """bob, alice, carol, then test members enough to review and rank."""
    engine = env.bot.engine
    ids = [await env.member_id(env.people[name]) for name in ("bob", "alice", "carol")]
    ids += [await engine.ensure_user("test", f"u{i}", f"Member {i}") for i in range(9)]
    return Driver(engine, env.clock, ids)


async def alices_news(d: Driver) -> tuple[str, str]:
    """alice's prompt is accepted, and her answer under bob's prompt is ranked when bob's tree is scored."""
    bob, alice, carol = d.users[:3]
    root = await d.growing_tree(author=bob)
    answers = {}
    for author in (alice, carol, d.users[3]):
        task = await d.engine.next_task(author, "en", TaskType.ASSISTANT_REPLY)
        assert task.target_id == root
        answers[author] = (await d.engine.submit_reply(task.id, author, d.text("answer"))).message_id
        await d.review(answers[author], d.users[6:9])
    await d.work(kinds=frozenset({TaskType.RANK_ASSISTANT_REPLIES}), until_state=(root, TreeState.READY_FOR_EXPORT))
    assert (await d.engine.tree_status(root)).state is TreeState.READY_FOR_EXPORT
    prompt = await d.accepted_prompt(alice)
    return prompt, answers[alice]


async def job(env: Env) -> object:
    """One run of the scheduled job that sends the notification DMs."""
    [notifications] = [j for j in env.bot.jobs if j.id == "notifications"]
    return await notifications.run()


def dms(env: Env) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in env.fake.calls if c.path.startswith(("/users/@me/channels", "/channels/"))]


async def test_notifications_on_then_one_batched_dm(env: Env) -> None:
    shown = await env.sim.slash("notifications", env.alice)
    assert shown.ephemeral and "Notifications are **off**" in shown.text()
    on = await env.sim.slash("notifications", env.alice, setting="on")
    assert "Saved." in on.text() and "Notifications are **on**" in on.text() and "every 60 minutes" in on.text()
    d = await driver(env)
    alice = d.users[1]
    assert await env.bot.engine.notifications_enabled(alice)

    _prompt, answer = await alices_news(d)
    rank = (await env.bot.engine.message(answer)).rank
    assert rank is not None
    env.fake.clear()
    assert await job(env) == 1
    dm = env.fake.dm_channel(env.alice.id)
    assert dms(env) == [("POST", "/users/@me/channels"), ("POST", f"/channels/{dm['id']}/messages")]
    [opened, sent] = env.fake.calls
    assert opened.json["recipient_id"] in (env.alice.id, str(env.alice.id))
    text = message_text(env.fake.message(sent.message_id))
    assert "What became of your work" in text
    assert "✅ Your prompt was accepted: “prompt" in text
    assert f"Your reply was ranked #{rank + 1} of 3: “answer" in text
    assert "/notifications" in text and "more" not in text

    # told: nothing more now; news within the hour waits for the hour to pass, then comes in one DM
    env.fake.clear()
    assert await job(env) == 0 and dms(env) == []
    await d.accepted_prompt(alice)
    env.clock.advance(HOUR / 2)
    assert await job(env) == 0 and dms(env) == []
    env.clock.advance(HOUR / 2)
    assert await job(env) == 1
    assert dms(env) == [("POST", f"/channels/{dm['id']}/messages")]  # the DM channel is known now

    # bob did not opt in: his accepted prompt and finished tree were never recorded
    assert await env.bot.engine.notifications_of(d.users[0]) == []
    off = await env.sim.slash("notifications", env.alice, setting="off")
    assert "Notifications are **off**" in off.text() and not await env.bot.engine.notifications_enabled(alice)


async def test_a_member_with_dms_closed_is_skipped_and_logged_once(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.sim.slash("notifications", env.alice, setting="on")
    d = await driver(env)
    alice = d.users[1]
    dm = env.fake.dm_channel(env.alice.id)

    @env.fake.route("POST", rf"^/channels/{dm['id']}/messages$")
    def closed(call: Any, match: Any) -> Any:
        return error(403, "Cannot send messages to this user", 50007)

    caplog.set_level(logging.INFO, logger="grove")
    await d.accepted_prompt(alice)
    assert await job(env) == 0
    assert await env.bot.engine.notifications_due(0, members=10, per_member=10) == []  # handled, not retried
    for _ in range(2):  # news later: tried again after the interval, refused again, not logged again
        await d.accepted_prompt(alice)
        env.clock.advance(HOUR)
        assert await job(env) == 0
    refused = [c for c in env.fake.calls if c.path == f"/channels/{dm['id']}/messages"]
    assert len(refused) == 3 and all(c.status == 403 for c in refused)
    logged = [r for r in caplog.records if "cannot be sent DMs" in r.getMessage()]
    assert [(r.levelno, r.name) for r in logged] == [(logging.INFO, "grove.notifications")]
    assert "50007" in logged[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("grove", "cogs"))]
    assert all(n["sent_at"] is not None for n in await env.bot.engine.notifications_of(alice))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_largest_history_page_and_digest_fit_in_every_locale(locale: str) -> None:
    """Ten entries and fifteen notices of texts that escape to twice their length, a long name, many more."""
    tr = Tr(locale)
    worst = "*_`|~>" * 400
    entries = [
        HistoryItem(
            f"m{i}", "t", False, Role.ASSISTANT, worst, 1e9, False, True, TreeState.READY_FOR_EXPORT, True, 2, 3
        )
        for i in range(PER_PAGE)
    ]
    page = HistoryPage(1, HistoryKind.ALL, entries, 99_998, 99_999, 999_999, 123_456, 123_456)
    notices = [
        Notice(i, kind, "m", "t", "3/10", 1e9, worst)
        for i, kind in zip(range(NOTICES_PER_DM), itertools.cycle(NotificationKind), strict=False)
    ]
    digest = Digest(1, "discord", "1", locale, notices, 99_999, 99)
    for embed in (history_embed(tr, "_*" * 32, page), digest_embed(tr, digest)):
        assert limit_problems({"content": None, "embeds": [embed.to_dict()]}) == []
    if locale == "en-US":
        assert "…and 99,999 more: see `/history`." in (digest_embed(tr, digest).description or "")
