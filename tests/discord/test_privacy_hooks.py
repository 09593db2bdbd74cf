"""Every feature answers for what it holds about a member (cogs.privacy), and `/privacy` Delete leaves nothing of
the member's text: not in the posts Grove made on Discord, not in any column of any table of the database."""

from __future__ import annotations

import inspect
import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from discord.ext import commands

from cogs import privacy
from engine.guilds import PostKind
from tests.discord_env import Env
from tests.fakes import message_text
from tests.fakes.discord_api import EPHEMERAL

# Features that post or store something about members, and what (kept in step with the cogs' declarations:
# a cog may not stop answering by declaring "" instead).
HOLDERS = {
    "Moderation": "feed and mod-queue posts",
    "Community": "profile, leaderboard choice, stats",
    "Tasks": "messages written on cards, drafts",
    "History": "notification setting, notifications recorded",
}
TEXT = "My grandmother's secret plum cake recipe, with the exact oven time"


# ---------------------------------------------------------------------------------------------- the registry


def test_every_loaded_cog_declares_and_answers_for_member_data(env: Env) -> None:
    assert set(HOLDERS) <= set(env.bot.cogs)
    for name, cog in env.bot.cogs.items():
        assert privacy.problems(cog) == [], name
    holding = {name for name, cog in env.bot.cogs.items() if privacy.declared(cog)}
    assert set(HOLDERS) <= holding
    for name in holding:
        cog = env.bot.cogs[name]
        assert isinstance(cog, privacy.MemberDataHolder)
        for hook in privacy.HOOKS:
            method = getattr(cog, hook)
            assert inspect.iscoroutinefunction(method), (name, hook)
            assert list(inspect.signature(method).parameters) == ["user_id"], (name, hook)
    assert {type(h).__name__ for h in privacy.holders(env.bot)} == holding


def test_a_cog_that_holds_data_without_the_hooks_is_reported() -> None:
    class Silent(commands.Cog):
        pass

    class Forgetful(commands.Cog):
        member_data_held: ClassVar[str] = "notes about members"

        async def member_data(self, user_id: int) -> dict[str, Any]:
            return {}

    class Stateless(commands.Cog):
        member_data_held: ClassVar[str] = ""

    assert privacy.problems(Silent()) == ["Silent does not declare `member_data_held`"]
    assert privacy.problems(Forgetful()) == [
        "Forgetful holds notes about members but has no async `delete_member_data`"
    ]
    assert privacy.problems(Stateless()) == []


async def test_export_gathers_what_every_feature_holds(env: Env) -> None:
    alice = await env.member_id(env.alice)
    message_id = await written(env)
    data = await privacy.member_data(env.bot, alice)
    assert {"member", "messages", "posts"} <= set(data)
    assert [m["text"] for m in data["messages"]] == [TEXT]
    assert data["member"]["discord_id"] == str(env.alice.id)
    assert {(p["message_id"], p["kind"]) for p in data["posts"]} == {(message_id, "feed")}


# ---------------------------------------------------------------------------------------------- acceptance


async def written(env: Env) -> str:
    """Alice writes a prompt on a task card (in the server, so it is mirrored to the feed); returns its id."""
    settings, guild = env.bot.settings, env.sim.guild_id
    await settings.set_feed_channel(guild, env.channels["feed"], None)
    await settings.set_mod_queue_channel(guild, env.channels["queue"], None)
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    preview = await env.sim.submit_modal(opened, env.alice, {"text": TEXT})
    done = await env.sim.click(preview.message, f"g:t:{task_id}:submit", env.alice)
    assert "Saved" in done.text()
    [message] = await env.bot.engine.messages_of_user(await env.member_id(env.alice))
    return message.id


def rows_holding(path: Path, needle: str) -> list[str]:
    """Every (table, column) of the database whose value contains `needle`, whatever the column's type."""
    found = []
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]:
                hits = db.execute(
                    f'SELECT count(*) FROM "{table}" WHERE instr(CAST("{column}" AS TEXT), ?) > 0', (needle,)
                ).fetchone()[0]
                if hits:
                    found.append(f"{table}.{column} ({hits} rows)")
    return found


async def test_deleting_my_data_clears_the_feed_the_queue_and_the_database(env: Env) -> None:
    message_id = await written(env)
    [feed] = [p for p in await env.bot.settings.posts_of(message_id) if p.kind is PostKind.FEED]
    feed_post = env.fake.message(feed.discord_message_id)
    assert TEXT in message_text(feed_post)
    await env.sim.react(feed.discord_message_id, feed.channel_id, "🚩", env.bob)
    [queue] = [p for p in await env.bot.settings.posts_of(message_id) if p.kind is PostKind.QUEUE]
    assert TEXT in message_text(env.fake.message(queue.discord_message_id))
    assert rows_holding(env.path, TEXT)  # the scan sees the text while it is there

    panel = await env.sim.slash("privacy", env.alice)
    confirm = await env.sim.click(panel.message, "g:pv:delete", env.alice)
    done = await env.sim.click(confirm.message, "g:pv:erase", env.alice)
    assert "were deleted" in done.text() and "could not" not in done.text()

    for post in (feed, queue):  # edited to a notice (or deleted): either way, none of the text is left
        shown = env.fake.messages.get(post.discord_message_id)
        if shown is not None:
            assert TEXT not in message_text(shown) and TEXT not in json.dumps(shown, ensure_ascii=False)
            assert shown["attachments"] == []
    public = [m for m in env.fake.messages.values() if not m["flags"] & EPHEMERAL]
    assert public and not [m for m in public if TEXT in json.dumps(m, ensure_ascii=False)]
    assert rows_holding(env.path, TEXT) == []
    assert rows_holding(env.path, TEXT[:20]) == []  # no excerpt either
