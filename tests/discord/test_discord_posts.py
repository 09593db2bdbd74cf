"""Engine events reach Discord: feed and mod-queue posts follow their message when it is deleted (by a moderator
or by the engine itself), restored, or its author's data is deleted; Discord refusing an edit is logged, not an
error. Pings are checked for every test by the `fake_discord` fixture."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cogs.moderation.render import DELETED_TITLE, PURGED_TITLE, neutral
from engine.events import MessagesDeleted
from engine.guilds import PostKind
from tests.discord_env import Env
from tests.driver import Driver, accepted_reply
from tests.fakes import message_text
from tests.fakes.discord_api import error

Json = dict[str, Any]


@pytest.fixture
async def d(env: Env) -> Driver:
    settings, guild = env.bot.settings, env.sim.guild_id
    await settings.set_feed_channel(guild, env.channels["feed"], None)
    await settings.set_mod_queue_channel(guild, env.channels["queue"], None)
    ids = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave)]
    return Driver(env.bot.engine, env.bot.clock, ids)


async def published(env: Env, message_id: str) -> None:
    """What the writing flow does after storing a message: mirror it to the feed."""
    env.bot.dispatch("grove_message", message_id, await env.bot.community_of_guild(env.sim.guild_id))
    await env.sim.settle()


async def post_of(env: Env, message_id: str, kind: PostKind) -> Json:
    [post] = [p for p in await env.bot.settings.posts_of(message_id) if p.kind is kind]
    return env.fake.message(post.discord_message_id)


def status(post: Json) -> str | None:
    """The Status field of a post's head embed ("🗑️ deleted" for a deleted message still in the queue)."""
    return {f["name"]: f["value"] for f in post["embeds"][0].get("fields", [])}.get("Status")


async def queued(env: Env, message_id: str, who) -> Json:
    feed = await post_of(env, message_id, PostKind.FEED)
    await env.sim.react(int(feed["id"]), int(feed["channel_id"]), "🚩", who)
    return await post_of(env, message_id, PostKind.QUEUE)


async def test_a_deleted_message_leaves_the_feed_and_comes_back_when_restored(env: Env, d: Driver) -> None:
    alice, bob, carol, dave = d.users
    root = await d.growing_tree(alice)
    reply = await accepted_reply(d, bob, parent=root, reviewers=[alice, carol, dave])
    await published(env, root)
    await published(env, reply)
    text = neutral((await env.bot.engine.message(reply)).text)  # as posts show it
    queue = await queued(env, reply, env.carol)
    assert text in message_text(await post_of(env, reply, PostKind.FEED)) and text in message_text(queue)

    await env.sim.slash("mod", env.mod, sub="delete", message=root)  # the prompt and the reply below it
    for message_id in (root, reply):
        feed = await post_of(env, message_id, PostKind.FEED)
        assert feed["embeds"][0]["title"] == DELETED_TITLE and feed["attachments"] == []
        assert (await env.bot.engine.message(message_id)).text not in message_text(feed)
    queue = await post_of(env, reply, PostKind.QUEUE)  # moderators keep the text, marked, to decide on a restore
    assert text in message_text(queue) and status(queue) == "🗑️ deleted"
    assert "flagged by" in message_text(queue) and queue["components"]  # the log and the buttons stay

    await env.sim.slash("mod", env.mod, sub="restore", message=root)
    feed = await post_of(env, reply, PostKind.FEED)
    assert feed["embeds"][0]["description"] == text and "In reply to" in message_text(feed)
    queue = await post_of(env, reply, PostKind.QUEUE)
    assert text in message_text(queue) and status(queue) is None and "flagged by" in message_text(queue)


async def test_the_queue_buttons_and_the_events_agree_on_the_post(env: Env, d: Driver) -> None:
    """A Delete press edits its post while the deletion event refreshes it: neither loses the other's change."""
    root = await d.write_prompt(d.users[0])
    await published(env, root)
    queue = await queued(env, root, env.bob)
    await env.sim.click(queue, f"g:q:{root}:delete", env.mod)
    after = env.fake.message(queue["id"])
    assert status(after) == "🗑️ deleted" and "deleted message" in message_text(after)
    assert "flagged by" in message_text(after)
    await env.sim.click(after, f"g:q:{root}:restore", env.mod)
    after = env.fake.message(queue["id"])
    assert status(after) is None and "restored message" in message_text(after)
    assert (await post_of(env, root, PostKind.FEED))["embeds"][0]["title"] == "✍️ New prompt"


async def test_a_deletion_by_the_engine_itself_reaches_the_feed(env: Env, d: Driver) -> None:
    """Not only moderators delete: whatever the engine deletes is published after its commit."""
    root = await d.write_prompt(d.users[0])
    await published(env, root)
    seen: list[MessagesDeleted] = []

    async def listener(event: MessagesDeleted) -> None:
        seen.append(event)

    env.bot.add_listener(listener, "on_grove_messages_deleted")
    await env.bot.engine.delete_message(root, None, "spam wave")  # no Discord interaction at all
    await env.sim.settle()
    assert [e.message_ids for e in seen] == [(root,)]
    assert (await post_of(env, root, PostKind.FEED))["embeds"][0]["title"] == DELETED_TITLE


async def test_a_post_already_gone_is_ignored(env: Env, d: Driver, caplog: pytest.LogCaptureFixture) -> None:
    root = await d.write_prompt(d.users[0])
    await published(env, root)
    feed = await post_of(env, root, PostKind.FEED)
    env.fake._delete(int(feed["id"]))  # someone removed Grove's post by hand
    with caplog.at_level(logging.INFO, logger="grove.moderation"):
        await env.bot.engine.delete_message(root, None)
        await env.sim.settle()
    assert "is gone" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_missing_permissions_are_a_warning_not_an_error(
    env: Env, d: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    root = await d.write_prompt(d.users[0])
    await published(env, root)
    feed = await post_of(env, root, PostKind.FEED)

    @env.fake.route("PATCH", rf"^/channels/\d+/messages/{feed['id']}$")
    def refuse(call, match):
        return error(403, "Missing Permissions", 50013)

    with caplog.at_level(logging.WARNING, logger="grove.moderation"):
        await env.bot.engine.delete_message(root, None)
        await env.sim.settle()
    [warning] = [r for r in caplog.records if r.name == "grove.moderation"]
    assert warning.levelno == logging.WARNING and "no permission" in warning.getMessage()
    assert env.fake.message(feed["id"])["embeds"][0]["title"] == "✍️ New prompt"  # unchanged: Discord refused


async def test_a_purged_members_posts_keep_no_text_of_theirs(env: Env, d: Driver) -> None:
    """Replies by others under the purged member's prompt are deleted with it; no post quotes the prompt."""
    alice, bob, carol, dave = d.users
    root = await d.growing_tree(alice)
    reply = await accepted_reply(d, bob, parent=root, reviewers=[alice, carol, dave])
    await published(env, root)
    await published(env, reply)
    prompt = (await env.bot.engine.message(root)).text
    await queued(env, root, env.carol)
    await queued(env, reply, env.dave)  # its queue post quotes the prompt ("In reply to")
    assert sum(prompt in message_text(m) for m in env.fake.messages.values() if "webhook_id" not in m) == 4

    await env.bot.engine.purge_user(alice, alice, reason="test", erase=True)
    await env.sim.settle()
    posts = [m for m in env.fake.messages.values() if "webhook_id" not in m]
    assert posts and not [m for m in posts if prompt in message_text(m)]
    assert (await post_of(env, root, PostKind.FEED))["embeds"][0]["title"] == PURGED_TITLE
    queue = await post_of(env, root, PostKind.QUEUE)
    assert queue["embeds"][0]["title"] == PURGED_TITLE and queue["components"] == []
    assert "flagged by" in message_text(queue)  # the moderation log stays


def test_a_members_markdown_cannot_pass_for_the_bot_or_the_moderators():
    """Issue 18: the feed shows a member's text as the bot's own message, so headings, subtext, quotes, masked links
    and formatting are made inert (a typed backslash cannot undo the escape); the text still reads as typed."""
    import re

    from cogs.moderation.render import INLINE_TEXT, PIECE, message_post
    from engine.records import MessageRow
    from engine.types import Role

    hostile = (
        "# 📢 ANNOUNCEMENT from the moderators\n"
        "-# official\n"
        "> Grove staff: verify your account [here](https://evil.example/login)\n"
        "\\[also here](https://evil.example/2) **now** ||spoiler|| `code` ~~gone~~ __under__"
    )

    def row(text: str) -> MessageRow:
        return MessageRow(
            "m1", "t1", "p1", 1, None, Role.ASSISTANT, text, "en", 1, 0.0, False, 0, None, 0, None, False, None, {}
        )

    parent = row("[forged reply](https://evil.example/3)")
    embeds, _ = message_post(row(hostile), lang="en", parent=parent, parent_link="https://discord.com/channels/1/2/3")
    shown = embeds[0].description or ""
    for line in shown.splitlines():
        assert not re.match(r"#{1,3} |-# |> ", line), line  # no heading, subtext or quote takes effect
    assert not re.search(r"(?<!\\)\[[^\]]*\]\(", shown)  # no masked link: every "[" is escaped
    assert "\\*\\*now\\*\\*" in shown and "\\|\\|spoiler\\|\\|" in shown
    reply_to = next(f.value for f in embeds[0].fields if f.name == "In reply to")
    assert reply_to.startswith("[\\[forged reply\\]") and reply_to.endswith("(https://discord.com/channels/1/2/3)")

    marked = "abcdef*" * 600  # escaping adds a backslash per mark: pieces still fit, no cut splits an escape
    embeds, files = message_post(row(marked), lang="en")
    pieces = [e.description or "" for e in embeds]
    assert len(pieces) == 2 and all(len(p) <= PIECE for p in pieces) and not files
    assert not any(p.startswith(("*", "_")) for p in pieces)
    assert sum(len(p) for p in pieces) <= INLINE_TEXT or files
