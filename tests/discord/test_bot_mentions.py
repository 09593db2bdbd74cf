"""A chat message that mentions the bot, delivered over the fake gateway to the running bot: Grove has no prefix
commands, so it is not a command and nothing is logged as an error (the autouse fixture fails on any)."""

from __future__ import annotations

import asyncio

import discord

from tests.discord_env import Env
from tests.fakes import FakeGateway, Person, payloads, use_gateway
from tests.fakes.payloads import BOT_ID, GUILD_ID, Json


def chat_message(env: Env, author: Person, content: str, mentions: list[Json]) -> Json:
    """A MESSAGE_CREATE as Discord sends it to a bot without the message-content intent: content is included
    when the bot is mentioned."""
    return {
        "id": str(env.fake.snowflake()),
        "channel_id": str(env.channels["general"]),
        "guild_id": str(GUILD_ID),
        "type": 0,
        "author": payloads.user(author.id, author.name),
        "member": payloads.person_member(author, permissions=False, with_user=False),
        "content": content,
        "timestamp": payloads.now_iso(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "flags": 0,
    }


async def test_a_mention_of_the_bot_over_the_gateway_logs_no_error(env: Env) -> None:
    guild = env.bot.get_guild(GUILD_ID)
    assert guild is not None
    members = [payloads.person_member(p, permissions=False) for p in env.people.values()]
    channels = [payloads.text_channel(cid, GUILD_ID, name) for name, cid in env.channels.items()]
    bot_user = payloads.user(BOT_ID, "Grove", bot=True)
    async with FakeGateway([payloads.guild(GUILD_ID, channels=channels, members=members)], fake=env.fake) as gw:
        with use_gateway(gw.url):
            env.bot._connection.guild_ready_timeout = 0.05
            runner = asyncio.create_task(env.bot.connect(reconnect=False))
            try:
                await gw.wait_identified()
                async with asyncio.timeout(5):
                    await env.bot.wait_until_ready()
                seen: list[discord.Message] = []
                for content in (f"<@{BOT_ID}> hello there", f"<@!{BOT_ID}> task", f"<@{BOT_ID}>"):
                    waiter = asyncio.ensure_future(env.bot.wait_for("message", timeout=5))
                    before = set(asyncio.all_tasks())
                    await gw.dispatch("MESSAGE_CREATE", chat_message(env, env.alice, content, [bot_user]))
                    seen.append(await waiter)
                    await env.sim.settle(since=before | {runner})  # the bot's own message handlers have run
                assert seen[0].content == f"<@{BOT_ID}> hello there"
                assert all(env.bot.user in m.mentions for m in seen)
            finally:
                await env.bot.close()
                async with asyncio.timeout(5):
                    await runner
    assert env.fake.find("POST", r"^/channels/\d+/messages$") == []  # and Grove said nothing in the channel
