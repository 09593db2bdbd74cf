"""Communities through the offline fake Discord: two servers, each its own data pool and authority; owners pool
servers; DM work belongs to the member's home community; `[discord] allowed_guild_ids`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.config import DiscordSettings, GroveConfig
from engine import errors
from engine.clock import FakeClock
from engine.types import DEFAULT_COMMUNITY, TaskType, TreeState
from tests.discord_env import Env
from tests.driver import Driver
from tests.fakes import Exchange, Person, payloads
from tests.fakes.payloads import GUILD_ID, PERMS_ADMIN, PERMS_MODERATOR

GUILD_B = GUILD_ID + 5000
B_GENERAL, B_FEED, B_QUEUE = GUILD_B + 1, GUILD_B + 2, GUILD_B + 3
B_MOD_ROLE = GUILD_B + 7


class Two:
    """Server A (the env's guild, community 1) with a tree, and server B with its own admin and moderator."""

    def __init__(self, env: Env) -> None:
        self.env, self.sim = env, env.sim
        self.b_admin: Person
        self.b_mod: Person

    async def build(self) -> None:
        env, sim = self.env, self.sim
        assert await env.bot.community_of_guild(GUILD_ID) == DEFAULT_COMMUNITY  # the first server takes community 1
        channels = [
            payloads.text_channel(B_GENERAL, GUILD_B, "general", position=0),
            payloads.text_channel(B_FEED, GUILD_B, "feed", position=1),
            payloads.text_channel(B_QUEUE, GUILD_B, "queue", position=2),
        ]
        roles = [payloads.role(B_MOD_ROLE, "B moderators", PERMS_MODERATOR)]
        sim.create_guild(GUILD_B, name="Server B", channels=channels, roles=roles)
        self.b_admin = sim.member("b-admin", PERMS_ADMIN)
        self.b_mod = sim.member("b-mod", PERMS_MODERATOR, roles=(B_MOD_ROLE,))  # Manage Messages from a role
        for person in (env.carol, env.dave, env.erin, env.mod, env.admin):  # only alice and bob are in B too
            env.fake.members.pop((GUILD_B, person.id), None)
        sim.guild_id = GUILD_ID
        self.members = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave, env.erin)]
        self.d = Driver(env.bot.engine.scoped(DEFAULT_COMMUNITY), env.clock, self.members)

    def in_b(self) -> None:
        self.sim.guild_id = GUILD_B

    def in_a(self) -> None:
        self.sim.guild_id = GUILD_ID


@pytest.fixture
async def two(env: Env) -> Two:
    world = Two(env)
    await world.build()
    return world


async def click_in_b(env: Env, message: dict, custom_id: str, person: Person) -> Exchange:
    """A click in server B on `custom_id`, as if `message` carried that button (a forged queue post)."""
    carrier = copy.deepcopy(message)
    carrier["components"] = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "?", "custom_id": custom_id}]}]
    payload = payloads.component(
        carrier, custom_id, person, interaction_id=env.fake.snowflake(), guild_id=GUILD_B, channel_id=B_GENERAL
    )
    return await env.sim.dispatch(payload)


async def state_of(env: Env, tree_id: str) -> TreeState:
    return (await env.bot.engine.tree_status(tree_id)).state


async def test_another_servers_staff_get_not_found_and_change_nothing(two: Two) -> None:
    env, sim = two.env, two.sim
    root = await two.d.accepted_prompt(two.members[0])
    before = await state_of(env, root)

    two.in_b()
    b_community = await env.bot.community_of_guild(GUILD_B)
    assert b_community != DEFAULT_COMMUNITY
    for who in (two.b_admin, two.b_mod):
        halt = await sim.slash("mod", who, sub=("halt",), tree=root)
        assert "no such" in halt.text().lower(), halt.text()
        delete = await sim.slash("mod", who, sub=("delete",), message=root)
        assert "no such" in delete.text().lower(), delete.text()
        restore = await sim.slash("mod", who, sub=("restore",), message=root)
        assert "no such" in restore.text().lower(), restore.text()
    with pytest.raises(errors.MessageNotFound):  # what the queue's Dismiss and 👌 do, from server B
        await env.bot.engine.scoped(b_community).clear_flags(root, None)
    carrier = (await sim.slash("config", two.b_admin, sub=("community",))).message
    for action in ("dismiss", "restore", "halt", "delete", "ban"):  # A's message on a (forged) queue post in B
        answer = await click_in_b(env, carrier, f"g:q:{root}:{action}", two.b_mod)
        assert "no such message" in answer.text().lower(), (action, answer.text())
    stranger = await sim.slash("mod", two.b_mod, sub=("ban",), member=env.carol)  # not in server B
    assert "no such member" in stranger.text()
    banned = await sim.slash("mod", two.b_mod, sub=("ban",), member=env.alice)  # in both servers: banned in B
    assert "banned" in banned.text()
    export_b = await sim.slash("config", two.b_admin, sub=("export",), everything=True)
    assert "Exported 0 trees" in export_b.text(), export_b.text()

    two.in_a()
    assert await state_of(env, root) is before  # nothing moved
    assert not (await env.bot.engine.message(root)).deleted
    # B's ban is B's: alice still works in A
    task = await env.bot.engine.scoped(DEFAULT_COMMUNITY).next_task(two.members[0], "en", TaskType.INITIAL_PROMPT)
    assert task.type is TaskType.INITIAL_PROMPT
    with pytest.raises(errors.UserDisabled):
        await env.bot.engine.scoped(b_community).next_task(two.members[0], "en", TaskType.INITIAL_PROMPT)
    # and A's own staff can act, and A's export has A's tree
    export_a = await sim.slash("config", env.admin, sub=("export",), everything=True)
    assert "Exported 1 tree" in export_a.text(), export_a.text()
    halted = await sim.slash("mod", env.mod, sub=("halt",), tree=root)
    assert "halted" in halted.text()
    assert await state_of(env, root) is TreeState.HALTED_BY_MODERATOR


async def test_a_global_ban_is_for_owners_only(two: Two) -> None:
    env, sim = two.env, two.sim
    refused = await sim.slash("mod", env.mod, sub=("ban",), member=env.bob, everywhere=True)
    assert "owners" in refused.text()
    assert (await env.bot.engine.user(two.members[1])).enabled


async def test_leaderboards_are_per_community_and_pooled_servers_share_one(two: Two) -> None:
    env, sim = two.env, two.sim
    a_member, b_member = two.members[0], two.members[1]
    others = two.members[2:]  # carol, dave and erin review in both
    a_driver = Driver(env.bot.engine.scoped(DEFAULT_COMMUNITY), env.clock, [a_member, *others])
    await a_driver.accepted_prompt(a_member)
    b_community = await env.bot.community_of_guild(GUILD_B)
    b_driver = Driver(env.bot.engine.scoped(b_community), env.clock, [b_member, *others])
    await b_driver.accepted_prompt(b_member)
    await env.bot.stats.refresh_all()

    board_a = await sim.slash("leaderboard", env.carol)
    two.in_b()
    board_b = await sim.slash("leaderboard", env.bob)
    alice, bob = f"<@{env.alice.id}>", f"<@{env.bob.id}>"
    assert alice in board_a.text() and bob not in board_a.text()
    assert bob in board_b.text() and alice not in board_b.text()

    # an owner pools B into A's community: B's data moves along, and both show one board
    await env.bot.join_community(GUILD_B, DEFAULT_COMMUNITY, None)
    await env.bot.stats.refresh_all()
    pooled_b = await sim.slash("leaderboard", env.bob)
    two.in_a()
    pooled_a = await sim.slash("leaderboard", env.carol)
    for board in (pooled_a, pooled_b):
        assert alice in board.text() and bob in board.text()
    two.in_b()
    export_b = await sim.slash("config", two.b_admin, sub=("export",), everything=True)
    assert "Exported 2 trees" in export_b.text(), export_b.text()


async def test_a_dm_prompt_reaches_the_home_feed_and_a_dm_report_its_queue(two: Two) -> None:
    env, sim = two.env, two.sim
    settings = env.bot.settings
    await settings.set_feed_channel(GUILD_ID, env.channels["feed"], None)
    await settings.set_mod_queue_channel(GUILD_ID, env.channels["queue"], None)
    await settings.set_feed_channel(GUILD_B, B_FEED, None)
    await sim.slash("task", env.alice)  # alice last took a task in server A: her home

    offer = await sim.slash("task", env.alice, type="initial_prompt", guild=False)  # her open task first
    card = await sim.click(offer.message, "g:n:initial_prompt:en", env.alice)  # New task, in the DM
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    shown = await sim.submit_modal(opened, env.alice, {"text": "Written in a DM: what is a lichen?"})
    await sim.click(shown.message, f"g:t:{task_id}:submit", env.alice)
    await sim.settle()
    feed = [m for m in env.fake.messages.values() if m["channel_id"] == str(env.channels["feed"])]
    assert any("what is a lichen" in json.dumps(m) for m in feed)
    assert not [m for m in env.fake.messages.values() if m["channel_id"] == str(B_FEED)]

    review = await sim.slash("task", env.bob, type="label_initial_prompt", guild=False)
    review_id = review.custom_ids()[0].split(":")[2]
    opened = await sim.click(review.message, f"g:t:{review_id}:report", env.bob)
    await sim.submit_modal(opened, env.bob, {"reason": "a test report from a DM"})
    await sim.settle()
    queue = [m for m in env.fake.messages.values() if m["channel_id"] == str(env.channels["queue"])]
    assert any("what is a lichen" in json.dumps(q) for q in queue)


class OtherServersOnly(Env):
    """Grove configured to work in another server only."""

    @property
    def config(self) -> GroveConfig:
        base = super().config
        discord = DiscordSettings(api_base_url=self.fake.api_base, allowed_guild_ids=(GUILD_ID + 1,))
        return GroveConfig(discord=discord, database=base.database, engine=base.engine)


async def test_a_server_not_allowed_gets_one_sentence(fake_discord, tmp_path: Path) -> None:
    env = OtherServersOnly(fake_discord, tmp_path / "grove.db", FakeClock())
    await env.start()
    try:
        refused = await env.sim.slash("task", env.alice, type="initial_prompt")
        assert refused.text() == "Grove is not enabled in this server." and refused.ephemeral
        dm = await env.sim.slash("status", env.alice, guild=False)  # DMs still work
        assert "not enabled" not in dm.text()
        async with env.bot.db.read() as repo:
            assert await repo.guilds.community_of(GUILD_ID) is None  # nothing was made for that server
    finally:
        await env.close()


@pytest.fixture
def engine_overrides() -> dict[str, object]:
    return {"require_consent": False}  # consent has its own tests (test_consent*); here: who may touch what


async def test_owners_pool_a_server_with_config_community(two: Two) -> None:
    env, sim = two.env, two.sim
    two.in_b()
    shown = await sim.slash("config", two.b_admin, sub=("community",))
    assert "community 2" in shown.text()
    refused = await sim.slash("config", two.b_admin, sub=("community",), join_server=str(GUILD_ID))
    assert "owners" in refused.text()
    assert await env.bot.community_of_guild(GUILD_B) == 2
    owner = sim.member("owner", PERMS_ADMIN)
    env.bot.config.discord.__dict__["owner_ids"] = (owner.id,)  # frozen settings: set as a loaded config would be
    joined = await sim.slash("config", owner, sub=("community",), join_server=str(GUILD_ID))
    assert "community 1" in joined.text() and "2 server" in joined.text()
    assert await env.bot.community_of_guild(GUILD_B) == DEFAULT_COMMUNITY


async def test_a_flag_in_a_pooled_community_reaches_every_servers_queue(two: Two) -> None:
    env, sim = two.env, two.sim
    await env.bot.join_community(GUILD_B, DEFAULT_COMMUNITY, None)
    settings = env.bot.settings
    await settings.set_feed_channel(GUILD_ID, env.channels["feed"], None)
    await settings.set_mod_queue_channel(GUILD_ID, env.channels["queue"], None)
    await settings.set_mod_queue_channel(GUILD_B, B_QUEUE, None)
    root = await two.d.accepted_prompt(two.members[0])
    env.bot.dispatch("grove_message", root, DEFAULT_COMMUNITY)
    await sim.settle()
    [post] = [p for p in await settings.posts_of(root) if p.kind == "feed" and p.guild_id == GUILD_ID]
    await sim.react(post.discord_message_id, post.channel_id, "🚩", env.carol)
    queues = {p.guild_id for p in await settings.posts_of(root) if p.kind == "queue"}
    assert queues == {GUILD_ID, GUILD_B}
