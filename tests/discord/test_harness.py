"""Proves the offline Discord harness in tests/fakes with a small throw-away bot (not Grove's)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import discord
import pytest
from discord import app_commands, ui
from discord.ext import commands

from tests.fakes import (
    DiscordErrorLog,
    FakeDiscord,
    FakeGateway,
    Person,
    Simulator,
    payloads,
    use_gateway,
    use_route_base,
)
from tests.fakes.payloads import APP_ID, CHANNEL_ID, GUILD_ID, PERMS_ADMIN, PERMS_MODERATOR

MOD_LOG = CHANNEL_ID + 1
MOD_ROLE = GUILD_ID + 1


# --- the throw-away bot -------------------------------------------------------------------------------------------


class GoButton(ui.DynamicItem[ui.Button[ui.View]], template=r"h:(?P<n>\d+):go"):
    def __init__(self, n: int) -> None:
        super().__init__(ui.Button(label="Go", style=discord.ButtonStyle.primary, custom_id=f"h:{n}:go"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str]
    ) -> GoButton:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(AnswerModal(self.n))


class AnswerModal(ui.Modal, title="Answer"):
    def __init__(self, n: int) -> None:
        super().__init__(custom_id=f"h:{n}:modal")
        self.n = n
        self.answer: ui.TextInput[AnswerModal] = ui.TextInput(custom_id="answer", max_length=200)
        self.mood: ui.RadioGroup[AnswerModal] = ui.RadioGroup(
            custom_id="mood",
            options=[discord.RadioGroupOption(label="Happy", value="happy"), discord.RadioGroupOption(label="Sad")],
        )
        self.add_item(ui.Label(text="Your answer", component=self.answer))
        self.add_item(ui.Label(text="Mood", component=self.mood))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        text = f"task {self.n}: {self.answer.value} ({self.mood.value})"
        await interaction.response.send_message(text, ephemeral=True)


class DoneView(ui.View):
    @ui.button(label="Done", custom_id="h:done")
    async def done(self, interaction: discord.Interaction, button: ui.Button[DoneView]) -> None:
        await interaction.response.edit_message(content="done!", view=None)


class Harness(commands.Cog):
    config = app_commands.Group(name="config", description="Settings")
    language = app_commands.Group(name="language-channel", description="Language channels", parent=config)

    def __init__(self, bot: HarnessBot) -> None:
        self.bot = bot

    @app_commands.command(description="Ping")
    async def ping(self, interaction: discord.Interaction) -> None:
        view = ui.View(timeout=None)
        view.add_item(GoButton(7))
        await interaction.response.send_message("pong", view=view, ephemeral=True)

    @app_commands.command(name="done-demo", description="A message with a button that edits it")
    async def done_demo(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("working", view=DoneView())

    @app_commands.command(description="Always fails")
    async def boom(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom")

    @app_commands.command(description="Greet someone")
    @app_commands.guilds(GUILD_ID)
    @app_commands.default_permissions(manage_messages=True)
    async def greet(
        self,
        interaction: discord.Interaction,
        who: discord.Member,
        times: app_commands.Range[int, 1, 5] = 1,
        loud: bool = False,
        where: discord.TextChannel | None = None,
        role: discord.Role | None = None,
        ratio: float = 0.5,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = f"hi {who.display_name} x{times} loud={loud} in={where and where.name} role={role and role.name} {ratio}"
        await interaction.followup.send(embed=discord.Embed(title="Greeting", description=text))

    @language.command(name="set", description="Set a language channel")
    async def language_set(self, interaction: discord.Interaction, language: str, channel: discord.TextChannel) -> None:
        await interaction.response.send_message(f"{language} -> #{channel.name}", ephemeral=True)

    @language_set.autocomplete("language")
    async def language_complete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=code, value=code) for code in ("de", "en", "es") if code.startswith(current)]

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if str(payload.emoji) != "⚠" or payload.member is None:
            return
        if payload.member.guild_permissions.manage_messages:
            channel = self.bot.get_channel(MOD_LOG)
            assert isinstance(channel, discord.TextChannel)
            await channel.send(f"flagged {payload.message_id} by {payload.member.name}")


class HarnessBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        super().__init__(commands.when_mentioned, intents=intents, chunk_guilds_at_startup=False)
        self.ready = asyncio.Event()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(GoButton)
        await self.add_cog(Harness(self))

    async def on_ready(self) -> None:
        self.ready.set()


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def discord_errors() -> Iterator[DiscordErrorLog]:
    """Fails a test that logs an error (same name as the project conftest's fixture, which it overrides here)."""
    with DiscordErrorLog() as log:
        yield log
    log.assert_clean()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        with use_route_base(fake.api_base):
            yield fake
    fake.assert_clean()


@pytest.fixture
async def make_bot(fake: FakeDiscord) -> AsyncIterator[Callable[[], Awaitable[HarnessBot]]]:
    bots: list[HarnessBot] = []

    async def make() -> HarnessBot:
        bot = HarnessBot()
        bots.append(bot)
        await bot.login("x")
        return bot

    yield make
    for bot in bots:
        await bot.close()


def world(sim: Simulator) -> None:
    channels = [
        payloads.text_channel(CHANNEL_ID, GUILD_ID, "general"),
        payloads.text_channel(MOD_LOG, GUILD_ID, "mod-log"),
    ]
    sim.create_guild(channels=channels, roles=[payloads.role(MOD_ROLE, "Moderators", PERMS_MODERATOR)])


@pytest.fixture
async def sim(make_bot: Callable[[], Awaitable[HarnessBot]], fake: FakeDiscord) -> Simulator:
    sim = Simulator(await make_bot(), fake)
    world(sim)
    return sim


@pytest.fixture
def alice(sim: Simulator) -> Person:
    return sim.member("alice")


# --- tests --------------------------------------------------------------------------------------------------------


async def test_slash_button_modal_reply(sim: Simulator, fake: FakeDiscord, alice: Person) -> None:
    ping = await sim.slash("ping", alice)
    assert ping.callback is not None and ping.callback.query == {"with_response": "1"}
    assert ping.kind == 4 and ping.callback.json["data"]["flags"] == 64 and ping.ephemeral
    assert ping.text() == "pong" and ping.custom_ids() == ["h:7:go"]

    click = await sim.click(ping.message, "h:7:go", alice)  # type: ignore[arg-type]
    assert click.kind == 9 and click.modal is not None
    assert (click.modal["custom_id"], click.modal["title"]) == ("h:7:modal", "Answer")
    text_label, mood_label = click.modal["components"]
    assert (text_label["type"], text_label["label"]) == (18, "Your answer")
    assert text_label["component"] | {"type": 4, "custom_id": "answer", "max_length": 200} == text_label["component"]
    assert mood_label["component"]["type"] == 21
    assert [o["value"] for o in mood_label["component"]["options"]] == ["happy", "Sad"]

    with pytest.raises(AssertionError, match="required"):
        await sim.submit_modal(click, alice, {"answer": "a cat"})
    with pytest.raises(AssertionError, match="no options"):
        await sim.submit_modal(click, alice, {"answer": "a cat", "mood": "angry"})
    reply = await sim.submit_modal(click, alice, {"answer": "a cat", "mood": "happy"})
    assert reply.kind == 4 and reply.ephemeral and reply.text() == "task 7: a cat (happy)"
    assert len(fake.messages) == 2 and fake.message(ping.message["id"])["edited_timestamp"] is None  # type: ignore[index]


async def test_dynamic_item_routes_after_restart(
    make_bot: Callable[[], Awaitable[HarnessBot]], fake: FakeDiscord, sim: Simulator, alice: Person
) -> None:
    ping = await sim.slash("ping", alice)
    await sim.bot.close()

    reborn = Simulator(await make_bot(), fake)  # a new process: empty view store, same Discord
    world(reborn)
    click = await reborn.click(ping.message["id"], "h:7:go", alice)  # type: ignore[index]
    assert click.kind == 9 and click.modal is not None and click.modal["custom_id"] == "h:7:modal"


async def test_moderator_reaction_posts_to_channel(sim: Simulator, alice: Person) -> None:
    mod = sim.member("mod", PERMS_MODERATOR, roles=[MOD_ROLE])
    msg = (await sim.slash("done-demo", alice)).message
    assert msg is not None

    ignored = await sim.react(int(msg["id"]), CHANNEL_ID, "⚠", alice)  # no manage_messages
    assert ignored.calls == []
    flagged = await sim.react(int(msg["id"]), CHANNEL_ID, "⚠", mod)
    [post] = flagged.created
    assert post["channel_id"] == str(MOD_LOG) and post["content"] == f"flagged {msg['id']} by mod"
    assert (await sim.react(int(msg["id"]), CHANNEL_ID, "⚠", mod, remove=True)).calls == []


async def test_guild_sync_payload(sim: Simulator, fake: FakeDiscord) -> None:
    synced = await sim.bot.tree.sync(guild=discord.Object(GUILD_ID))  # type: ignore[attr-defined]
    [put] = fake.find("PUT", rf"^/applications/{APP_ID}/guilds/{GUILD_ID}/commands$")
    [greet] = put.json
    assert greet["name"] == "greet" and greet["default_member_permissions"] == 8192  # an int, not a string
    assert [(o["name"], o["type"], o["required"]) for o in greet["options"]] == [
        ("who", 6, True),
        ("times", 4, False),
        ("loud", 5, False),
        ("where", 7, False),
        ("role", 8, False),
        ("ratio", 10, False),
    ]
    assert [c.name for c in synced] == ["greet"] and synced[0].default_member_permissions is not None
    assert synced[0].guild_id == GUILD_ID and synced[0].id == fake.command_id("greet", GUILD_ID)

    await sim.bot.tree.sync()  # type: ignore[attr-defined]
    [put] = fake.find("PUT", rf"^/applications/{APP_ID}/commands$")
    config = next(c for c in put.json if c["name"] == "config")
    [group] = config["options"]
    assert (group["name"], group["type"], group["options"][0]["name"], group["options"][0]["type"]) == (
        "language-channel",
        2,
        "set",
        1,
    )


async def test_gateway_start_ready_and_interaction(fake: FakeDiscord) -> None:
    alice = Person(100_000_000_000_999, "alice")
    guild = payloads.guild(members=[payloads.member(alice.id, alice.name, permissions=None)])
    async with FakeGateway([guild], fake=fake) as gw:
        with use_gateway(gw.url):
            bot = HarnessBot()
            bot._connection.guild_ready_timeout = 0.05
            runner = asyncio.create_task(bot.start("x"))
            try:
                async with asyncio.timeout(5):
                    await bot.ready.wait()
                assert (await gw.wait_identified())["token"] == "x"
                ready_guild = bot.get_guild(GUILD_ID)
                assert ready_guild is not None and ready_guild.member_count == 2 and ready_guild.me is not None

                payload = payloads.slash("ping", alice, interaction_id=fake.snowflake())
                await gw.dispatch("INTERACTION_CREATE", payload)
                [callback] = await fake.wait_for("POST", rf"^/interactions/{payload['id']}/")
                assert callback.json["data"]["content"] == "pong"
            finally:
                await bot.close()
                async with asyncio.timeout(5):
                    await runner
    assert gw.connections == 1 and any(frame["op"] == 1 for frame in gw.received)


async def test_update_message_edits_stored_message(sim: Simulator, fake: FakeDiscord, alice: Person) -> None:
    demo = await sim.slash("done-demo", alice)
    assert demo.message is not None and not demo.ephemeral and demo.custom_ids() == ["h:done"]
    mid = int(demo.message["id"])

    done = await sim.click(mid, "h:done", alice)
    assert done.kind == 7 and done.message is not None and int(done.message["id"]) == mid
    assert fake.message(mid)["content"] == "done!" and fake.message(mid)["components"] == []
    assert fake.message(mid)["edited_timestamp"] is not None and len(fake.messages) == 1
    with pytest.raises(AssertionError, match="has no component"):
        await sim.click(mid, "h:done", alice)


async def test_gathered_clicks_carry_the_same_message_state(sim: Simulator, fake: FakeDiscord, alice: Person) -> None:
    demo = await sim.slash("done-demo", alice)
    assert demo.message is not None
    first, second = await asyncio.gather(*(sim.click(demo.message, "h:done", alice) for _ in range(2)))
    assert first.payload["message"]["content"] == second.payload["message"]["content"] == "working"
    assert first.kind == second.kind == 7 and fake.message(demo.message["id"])["content"] == "done!"


async def test_callback_error_is_captured(sim: Simulator, alice: Person, discord_errors: DiscordErrorLog) -> None:
    boom = await sim.slash("boom", alice)
    assert boom.callback is None  # discord.py only logs it; nothing reaches the user
    with pytest.raises(AssertionError, match="kaboom"):
        discord_errors.assert_clean()
    [record] = discord_errors.pop("kaboom")
    assert record.name == "discord.app_commands.tree" and "boom" in record.getMessage()
    discord_errors.assert_clean()


async def test_options_defer_followup_groups_and_autocomplete(sim: Simulator, fake: FakeDiscord, alice: Person) -> None:
    bob = sim.member("bob", PERMS_ADMIN)
    greet = await sim.slash("greet", alice, who=bob, times=3, loud=True, where=MOD_LOG, role=MOD_ROLE, ratio=2)
    options = {o["name"]: (o["type"], o["value"]) for o in greet.payload["data"]["options"]}
    assert options == {
        "who": (6, str(bob.id)),
        "times": (4, 3),
        "loud": (5, True),
        "where": (7, str(MOD_LOG)),
        "role": (8, str(MOD_ROLE)),
        "ratio": (10, 2.0),
    }
    assert greet.payload["data"]["guild_id"] == str(GUILD_ID)  # a guild command
    assert greet.kind == 5 and greet.ephemeral and len(greet.followups) == 1
    assert greet.message is not None and greet.message["flags"] == 64  # the followup filled the "thinking" message
    assert greet.text() == "Greeting\nhi bob x3 loud=True in=mod-log role=Moderators 2.0"

    assert await sim.autocomplete("config language-channel set", alice, "language", language="e") == [
        {"name": "en", "value": "en"},
        {"name": "es", "value": "es"},
    ]
    lang = await sim.slash("config", alice, sub=("language-channel", "set"), language="de", channel=MOD_LOG)
    assert lang.text() == "de -> #mod-log"
    with pytest.raises(AssertionError, match="needs options"):
        await sim.slash("config language-channel set", alice, language="de")

    dm = await sim.slash("ping", alice, guild=False)
    assert dm.payload["context"] == 1 and "user" in dm.payload and dm.text() == "pong"
    assert fake.channels[int(dm.payload["channel_id"])]["type"] == 1
