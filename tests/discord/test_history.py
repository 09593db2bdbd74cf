"""/history through the fake Discord: a member's prompts and replies, paged with persistent buttons, each with its
review result, its tree's state and its rank; the reviews and rankings they gave; another member's history only if
they show on leaderboards."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine import EngineConfig, TaskType, TreeState
from engine.types import DEFAULT_COMMUNITY
from tests.discord_env import Env
from tests.driver import SPAM, Driver
from tests.fakes import payloads
from tests.fakes.payloads import GUILD_ID

GUILD_B = GUILD_ID + 5000

MENTIONED = 123456789012345678  # a Discord user id a member's text mentions
NO_CONSENT = {"require_consent": False} if "require_consent" in EngineConfig.model_fields else {}


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    return {**NO_CONSENT, "goal_tree_size": 4, "min_goal_tree_size": 4}


async def members(env: Env, *names: str, others: int = 9) -> list[int]:
    """The named people's engine ids, then test members enough to review and rank."""
    engine = env.bot.engine
    ids = [await env.member_id(env.people[name]) for name in names]
    return ids + [await engine.ensure_user("test", f"u{i}", f"Member {i}") for i in range(others)]


async def write_prompt(env: Env, user: int, text: str) -> str:
    task = await env.bot.engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
    result = await env.bot.engine.submit_reply(task.id, user, text)
    assert result.message_id is not None
    return result.message_id


async def alices_work(env: Env) -> tuple[Driver, str, list[str]]:
    """A finished tree under alice's prompt with three ranked answers (by bob, carol and dave), then eleven prompts
    of hers: one rejected, ten waiting for review (the newest first in her history)."""
    users = await members(env, "alice", "bob", "carol", "dave")
    d = Driver(env.bot.engine, env.clock, users)
    root = await d.growing_tree(author=users[0])
    answers = []
    for author in users[1:4]:
        task = await d.engine.next_task(author, "en", TaskType.ASSISTANT_REPLY)
        answers.append((await d.engine.submit_reply(task.id, author, d.text("answer"))).message_id)
        await d.review(answers[-1], users[6:9])
    await d.work(kinds=frozenset({TaskType.RANK_ASSISTANT_REPLIES}), until_state=(root, TreeState.READY_FOR_EXPORT))
    assert (await d.engine.tree_status(root)).state is TreeState.READY_FOR_EXPORT
    env.clock.advance(60)
    rejected = await d.write_prompt(users[0])
    await d.review(rejected, users[5:8], labels=SPAM)
    for i in range(10):
        env.clock.advance(60)
        await write_prompt(env, users[0], f"**Bold** question {i} for @everyone and <@{MENTIONED}> _here_")
    return d, root, answers


def items(text: str) -> list[str]:
    """The history entries of an exchange's text (each starts with its kind in bold)."""
    return re.findall(r"^\*\*(?:✍️|🤖|👤) [^*]+\*\*.*$", text, flags=re.M)


async def test_history_pages_through_a_members_work_with_its_fate(env: Env) -> None:
    d, _root, _answers = await alices_work(env)
    alice = d.users[0]
    first = await env.sim.slash("history", env.alice)
    text = first.text()
    assert first.ephemeral and "History of alice · prompts and replies" in text and "Page 1 of 2" in text
    assert first.custom_ids() == [f"g:hi:{alice}:all:-1", f"g:hi:{alice}:all:1"]
    assert len(items(text)) == 10
    assert text.count("⏳ waiting for review · 🌳 tree: prompt under review") == 10
    # member text is quoted escaped, on one line, and pings no one (the fake checks allowed_mentions)
    assert "\\*\\*Bold\\*\\* question 9 for @\u200beveryone" in text and "\\_here\\_" in text
    assert f"<@{MENTIONED}>" not in text and f"<@\u200b{MENTIONED}>" in text
    assert "Reviews given\n" in text and "Rankings given\n" in text

    second = await env.sim.click(first.message, f"g:hi:{alice}:all:1", env.alice)
    text = second.text()
    assert second.kind == 7 and "Page 2 of 2" in text and len(items(text)) == 2
    assert "❌ not accepted · 🌳 tree: stopped" in text
    assert "✅ accepted · 🌳 tree: finished" in text
    assert second.custom_ids() == [f"g:hi:{alice}:all:0", f"g:hi:{alice}:all:2"]
    back = await env.sim.click(second.message, f"g:hi:{alice}:all:0", env.alice)
    assert "Page 1 of 2" in back.text()

    # bob's answer was ranked: its rank among the three, and the reviews and rankings he gave
    bob = d.users[1]
    mine = await env.bot.engine.member_history(bob, "replies")
    [answer] = mine.items
    assert answer.rank is not None
    replies = await env.sim.slash("history", env.bob, kind="replies")
    text = replies.text()
    assert "History of bob · replies" in text and "Page 1 of 1" in text
    assert f"ranked #{answer.rank + 1} of 3" in text and "✅ accepted" in text and "🌳 tree: finished" in text
    assert f"Reviews given\n{mine.reviews_given}" in text and f"Rankings given\n{mine.rankings_given}" in text
    prompts = await env.sim.slash("history", env.bob, kind="prompts")
    assert "Nothing here yet" in prompts.text() and "Page 1 of 1" in prompts.text()


async def test_another_members_history_only_when_they_show_on_leaderboards(env: Env) -> None:
    users = await members(env, "alice")
    alice = users[0]
    d = Driver(env.bot.engine, env.clock, users)
    kept = await d.accepted_prompt(alice)
    gone = await write_prompt(env, alice, "a prompt a moderator deletes")
    await env.bot.engine.delete_message(gone, users[-1])
    for i in range(10):
        env.clock.advance(60)
        await write_prompt(env, alice, f"waiting prompt {i}")

    seen = await env.sim.slash("history", env.bob, member=env.alice)
    assert "History of alice" in seen.text() and "Page 1 of 2" in seen.text()
    later = await env.sim.click(seen.message, f"g:hi:{alice}:all:1", env.bob)
    assert len(items(later.text())) == 1 and "🗑️" not in later.text()  # not the deleted one
    own = await env.sim.slash("history", env.alice)
    own = await env.sim.click(own.message, f"g:hi:{alice}:all:1", env.alice)
    assert len(items(own.text())) == 2 and "🗑️ deleted" in own.text()  # her own, deleted one included
    assert (await env.bot.engine.message(kept)).review_result is True

    await env.bot.engine.set_show_on_leaderboard(alice, False)
    refused = await env.sim.slash("history", env.bob, member=env.alice)
    assert refused.ephemeral and refused.text() == "alice keeps their history private."
    assert not refused.custom_ids()
    # a button of bob's old page is refused the same way; alice still sees her own
    clicked = await env.sim.click(later.message, f"g:hi:{alice}:all:0", env.bob)
    assert clicked.text() == f"<@{env.alice.id}> keeps their history private." and not clicked.custom_ids()
    assert "History of alice" in (await env.sim.slash("history", env.alice)).text()


async def test_history_shows_only_the_servers_community(env: Env) -> None:
    """alice's work in server A (community 1) is not in her history in server B, another community."""
    users = await members(env, "alice")
    assert await env.bot.community_of_guild(GUILD_ID) == DEFAULT_COMMUNITY
    d = Driver(env.bot.engine.scoped(DEFAULT_COMMUNITY), env.clock, users)
    await d.accepted_prompt(users[0])
    env.sim.create_guild(GUILD_B, name="Server B", channels=[payloads.text_channel(GUILD_B + 1, GUILD_B, "general")])
    env.fake.members[(GUILD_B, env.alice.id)] = payloads.person_member(env.alice, permissions=False)

    env.sim.guild_id = GUILD_B
    elsewhere = await env.sim.slash("history", env.alice)
    assert await env.bot.community_of_guild(GUILD_B) != DEFAULT_COMMUNITY
    assert "Nothing here yet" in elsewhere.text() and "Reviews given\n0" in elsewhere.text()
    env.sim.guild_id = GUILD_ID
    home = await env.sim.slash("history", env.alice)
    assert len(items(home.text())) == 1 and "✅ accepted" in home.text()
