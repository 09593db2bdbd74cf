"""Who may do what, table-driven: every app command and every moderator reaction and queue button, for a member,
a moderator and an admin, in a server and in DMs. Exactly the allowed ones act (an effect in the database, or the
command's own answer); everyone else gets a short ephemeral refusal and nothing changes.

The tables follow spec/discord.md: contributor commands for everyone, in servers and DMs; `/mod …` for moderators
(Manage Messages or the configured role; admins count too) and `/config …` for admins (Manage Server), both in
servers only. 👍 👎 🚩 are for anyone; ⛔ 🗑️ ✅ for moderators, and others' are removed. Reactions in DMs do nothing.
A command added without a row here fails `test_every_command_has_a_row`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from discord import AppCommandType, Permissions, app_commands

from engine.types import TaskStatus, TaskType, TreeState
from tests.discord.test_discord_hostile import changes, snapshot
from tests.discord_env import HELPER_ROLE, Env
from tests.fakes import Exchange, Person, message_text
from tests.fakes.discord_api import mention_leaks

MEMBER, MODERATOR, ADMIN = "member", "moderator", "admin"
ROLES = (MEMBER, MODERATOR, ADMIN)
EVERYONE = frozenset(ROLES)
MODERATORS = frozenset({MODERATOR, ADMIN})
ADMINS = frozenset({ADMIN})
PERSON = {MEMBER: "alice", MODERATOR: "mod", ADMIN: "admin"}  # see tests/discord_env.py for their permissions
REFUSAL = {MODERATORS: "Only moderators may do that.", ADMINS: "Only server admins (Manage Server) may do that."}
GUILD_ONLY = "This command works in a server only."
TEXTS = itertools.count()


@pytest.fixture
async def env(env: Env) -> AsyncIterator[Env]:
    """Every person known to the engine first (a refusal must add no row), and no ping in anything Grove wrote."""
    for person in env.people.values():
        await env.member_id(person)
    yield env
    assert mention_leaks(env.fake.calls) == []


# ---------------------------------------------------------------------------------------------- helpers


@dataclass
class Ctx:
    """What a row prepared: the command's options and the things its check looks at."""

    options: dict[str, Any] = field(default_factory=dict)
    target: str = ""  # a tree or message id
    person: Person | None = None  # a member acted upon


Prepare = Callable[[Env], Awaitable[Ctx]]
Check = Callable[[Env, Ctx, Exchange, Person], Awaitable[None]]


async def prompt_by(env: Env, person: Person) -> str:
    member = await env.member_id(person)
    task = await env.bot.engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
    result = await env.bot.engine.submit_reply(task.id, member, f"Which tea goes with cake? ({next(TEXTS)})")
    assert result.message_id
    return result.message_id


async def state(env: Env, tree_id: str) -> TreeState:
    return (await env.bot.engine.tree_status(tree_id)).state


async def deleted(env: Env, message_id: str) -> bool:
    return (await env.bot.engine.message(message_id)).deleted


async def enabled(env: Env, person: Person) -> bool:
    """Not banned in the server's community."""
    engine = env.bot.engine.scoped(await env.bot.community_of_guild(env.sim.guild_id))
    return not await engine.is_banned(await env.member_id(person))


async def settings(env: Env):
    return await env.bot.settings.get(env.sim.guild_id)


def says(*pieces: str) -> Check:
    """The command's own answer (for commands that only show something)."""

    async def check(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
        text = exchange.text()
        assert exchange.ephemeral and all(p in text for p in pieces), text

    return check


async def nothing(env: Env) -> Ctx:
    return Ctx()


# ---------------------------------------------------------------------------------------------- the commands


async def task_prepare(env: Env) -> Ctx:
    return Ctx({"type": "initial_prompt"})


async def task_acted(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    task_id = exchange.custom_ids()[0].split(":")[2]
    task = await env.bot.engine.get_task(task_id, await env.member_id(actor))
    assert task.type is TaskType.INITIAL_PROMPT and task.status is TaskStatus.PENDING


async def language_acted(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await env.bot.engine.user(await env.member_id(actor))).preferred_lang == "de"


async def ui_language_acted(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await env.bot.engine.user(await env.member_id(actor))).ui_locale == "de"


async def tree_prepare(env: Env) -> Ctx:
    tree = await prompt_by(env, env.dave)
    return Ctx({"tree": tree}, target=tree)


async def halted_prepare(env: Env) -> Ctx:
    ctx = await tree_prepare(env)
    await env.bot.engine.halt_tree(ctx.target, None)
    return ctx


async def halted(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert await state(env, ctx.target) is TreeState.HALTED_BY_MODERATOR


async def resumed(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert await state(env, ctx.target) is TreeState.INITIAL_PROMPT_REVIEW


async def message_prepare(env: Env) -> Ctx:
    message = await prompt_by(env, env.dave)
    return Ctx({"message": message}, target=message)


async def deleted_prepare(env: Env) -> Ctx:
    ctx = await message_prepare(env)
    await env.bot.engine.delete_message(ctx.target, None)
    return ctx


async def was_deleted(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert await deleted(env, ctx.target)


async def was_restored(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert not await deleted(env, ctx.target)


async def ban_prepare(env: Env) -> Ctx:
    return Ctx({"member": env.erin}, person=env.erin)


async def banned_prepare(env: Env) -> Ctx:
    community = await env.bot.community_of_guild(env.sim.guild_id)
    await env.bot.engine.scoped(community).ban_user(await env.member_id(env.erin), None)
    return await ban_prepare(env)


async def was_banned(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert not await enabled(env, env.erin)


async def was_unbanned(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert await enabled(env, env.erin)


async def fr_channel(env: Env) -> Ctx:
    await env.bot.settings.set_language_channel(env.sim.guild_id, env.channels["fr"], "fr", None)
    return Ctx({"channel": env.channels["fr"]})


async def fr_listed(env: Env) -> Ctx:
    await fr_channel(env)
    return Ctx()


async def de_channel_set(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).language_channels == {env.channels["de"]: "de"}


async def ja_added(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).added_languages == ("ja",)


async def ja_enabled(env: Env) -> Ctx:
    await env.bot.settings.add_language(env.sim.guild_id, "ja", None)
    return Ctx({"language": "ja"})


async def ja_removed(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).added_languages == ()


async def fr_channel_removed(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).language_channels == {}


async def moderator_role_set(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).moderator_role_id == HELPER_ROLE


async def feed_set(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).feed_channel_id == env.channels["feed"]


async def queue_set(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).mod_queue_channel_id == env.channels["queue"]


async def default_language_set(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert (await settings(env)).default_lang == "de"


async def exported(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert "Exported" in exchange.text()
    assert next(name for c in exchange.calls for name, _ in c.files).endswith(".jsonl.gz")


async def notifications_on(env: Env, ctx: Ctx, exchange: Exchange, actor: Person) -> None:
    assert await env.bot.engine.notifications_enabled(await env.member_id(actor))


def options(**values: Any) -> Prepare:
    async def prepare(env: Env) -> Ctx:
        return Ctx({k: env.channels[v] if k == "channel" else v for k, v in values.items()})

    return prepare


@dataclass(frozen=True)
class Row:
    who: frozenset[str]  # who acts in a server; everyone else is refused
    in_dms: bool  # whether those act in DMs too (else: refused there, for everyone)
    prepare: Prepare
    acted: Check


COMMANDS: dict[str, Row] = {
    # contributors: everyone, everywhere
    "task": Row(EVERYONE, True, task_prepare, task_acted),
    "tasks": Row(EVERYONE, True, nothing, says("You have no open tasks")),
    "status": Row(EVERYONE, True, nothing, says("Status · en", "Tasks for you now")),
    "language task": Row(EVERYONE, True, options(code="de"), language_acted),
    "language ui": Row(EVERYONE, True, options(code="de"), ui_language_acted),
    "guidelines": Row(EVERYONE, True, options(task="initial_prompt"), says("Guidelines", "Writing a prompt")),
    "help": Row(EVERYONE, True, nothing, says("Grove", "/task")),
    "stats": Row(EVERYONE, True, nothing, says("Score", "Streak")),
    "leaderboard": Row(EVERYONE, True, nothing, says("Leaderboard", "You: not ranked")),
    "privacy": Row(EVERYONE, True, nothing, says("Your data in Grove")),
    "history": Row(EVERYONE, True, nothing, says("History of", "Reviews given")),
    "notifications": Row(EVERYONE, True, options(setting="on"), notifications_on),
    # moderators, in a server
    "mod halt": Row(MODERATORS, False, tree_prepare, halted),
    "mod resume": Row(MODERATORS, False, halted_prepare, resumed),
    "mod delete": Row(MODERATORS, False, message_prepare, was_deleted),
    "mod restore": Row(MODERATORS, False, deleted_prepare, was_restored),
    "mod ban": Row(MODERATORS, False, ban_prepare, was_banned),
    "mod unban": Row(MODERATORS, False, banned_prepare, was_unbanned),
    # admins, in a server
    "config language-channel set": Row(ADMINS, False, options(channel="de", language="de"), de_channel_set),
    "config language-channel remove": Row(ADMINS, False, fr_channel, fr_channel_removed),
    "config language-channel list": Row(ADMINS, False, fr_listed, says("→ **fr**")),
    "config language add": Row(ADMINS, False, options(language="ja"), ja_added),
    "config language remove": Row(ADMINS, False, ja_enabled, ja_removed),
    "config language list": Row(ADMINS, False, fr_listed, says("**en**", "**fr**")),
    "config moderator-role": Row(ADMINS, False, options(role=HELPER_ROLE), moderator_role_set),
    "config feed-channel": Row(ADMINS, False, options(channel="feed"), feed_set),
    "config mod-queue-channel": Row(ADMINS, False, options(channel="queue"), queue_set),
    "config default-language": Row(ADMINS, False, options(language="de"), default_language_set),
    "config export": Row(ADMINS, False, nothing, exported),
    "config show": Row(ADMINS, False, nothing, says("Grove settings for this server")),
    "config community": Row(ADMINS, False, nothing, says("data pool is community 1")),
}


def leaf_commands(env: Env) -> dict[str, app_commands.Command[Any, ..., Any]]:
    return {c.qualified_name: c for c in env.bot.tree.walk_commands() if isinstance(c, app_commands.Command)}


async def run(env: Env, name: str, actor: Person, ctx: Ctx, *, guild: bool) -> Exchange:
    return await env.sim.slash(name, actor, guild=guild, **ctx.options)


def exports(env: Env) -> list[Path]:
    folder = env.path.parent / "exports"
    return sorted(folder.iterdir()) if folder.exists() else []


def refused(exchange: Exchange) -> bool:
    return exchange.text() in {GUILD_ONLY, *(f"⛔ {sentence}" for sentence in REFUSAL.values())}


async def assert_refused(env: Env, exchange: Exchange, expected: str, before: Any, files_before: list[Path]) -> None:
    assert exchange.kind == 4 and exchange.ephemeral, f"callback type {exchange.kind}: {exchange.text()}"
    assert exchange.text() == f"⛔ {expected}" or exchange.text() == expected, exchange.text()
    assert not [f for c in exchange.calls for f in c.files]
    assert changes(before, snapshot(env)) == {}
    assert exports(env) == files_before


# ---------------------------------------------------------------------------------------------- the tests


async def test_every_command_has_a_row(env: Env) -> None:
    """A new command without a row here fails: decide who may use it, and where."""
    assert set(leaf_commands(env)) == set(COMMANDS)
    assert not env.bot.tree.get_commands(type=AppCommandType.user)
    assert not env.bot.tree.get_commands(type=AppCommandType.message)


async def test_the_gates_discord_sees_match_the_table(env: Env) -> None:
    """Gated twice (spec): Discord hides what a role may not use (default_permissions, guild_only); the tests below
    show the bot's own check holds without it."""
    hidden_unless = {
        EVERYONE: None,
        # /mod is shown to everyone: moderators by role or by Manage Server would not see it behind a
        # Manage Messages gate; the bot's own check (below) refuses the others.
        MODERATORS: None,
        ADMINS: Permissions(manage_guild=True),
    }
    for name, command in leaf_commands(env).items():
        row, root = COMMANDS[name], command.root_parent or command
        assert root.guild_only is (not row.in_dms), name
        assert root.default_permissions == hidden_unless[row.who], name


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in sorted(COMMANDS) for r in ROLES])
async def test_in_a_server_exactly_the_allowed_act(env: Env, name: str, role: str) -> None:
    row, actor = COMMANDS[name], env.people[PERSON[role]]
    ctx = await row.prepare(env)
    before, files_before = snapshot(env), exports(env)
    exchange = await run(env, name, actor, ctx, guild=True)
    if role in row.who:
        assert exchange.ephemeral and not refused(exchange), exchange.text()
        await row.acted(env, ctx, exchange, actor)
    else:
        await assert_refused(env, exchange, REFUSAL[row.who], before, files_before)


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_in_dms(env: Env, name: str) -> None:
    """Each of the three roles in turn (in a DM Discord sends no permissions: the role cannot matter)."""
    row = COMMANDS[name]
    for role in ROLES:
        actor = env.people[PERSON[role]]
        ctx = await row.prepare(env)
        before, files_before = snapshot(env), exports(env)
        exchange = await run(env, name, actor, ctx, guild=False)
        assert "guild_id" not in exchange.payload and "member" not in exchange.payload
        if row.in_dms:
            assert exchange.ephemeral and not refused(exchange), exchange.text()
            await row.acted(env, ctx, exchange, actor)
        else:
            await assert_refused(env, exchange, GUILD_ONLY, before, files_before)


# ---------------------------------------------------------------------------------------------- reactions


async def feed_post(env: Env, message_id: str) -> dict[str, Any]:
    await env.bot.settings.set_feed_channel(env.sim.guild_id, env.channels["feed"], None)
    await env.bot.settings.set_mod_queue_channel(env.sim.guild_id, env.channels["queue"], None)
    env.bot.dispatch("grove_message", message_id, await env.bot.community_of_guild(env.sim.guild_id))
    await env.sim.settle()
    [post] = [p for p in await env.bot.settings.posts_of(message_id) if p.kind == "feed"]
    return env.fake.message(post.discord_message_id)


async def emojis(env: Env, message_id: str) -> dict[str, int]:
    return {k: v for k, v in (await env.bot.engine.message(message_id)).emojis.items() if v}


async def restore_prepare(env: Env, message_id: str) -> None:
    await env.bot.engine.delete_message(message_id, None)


async def no_prepare(env: Env, message_id: str) -> None:
    return None


def emoji_count(key: str) -> Callable[[Env, str], Awaitable[None]]:
    async def check(env: Env, message_id: str) -> None:
        assert await emojis(env, message_id) == {key: 1}

    return check


async def flag_queued(env: Env, message_id: str) -> None:
    assert await emojis(env, message_id) == {"red_flag": 1}
    assert [p.kind for p in await env.bot.settings.posts_of(message_id)] == ["feed", "queue"]


async def tree_halted(env: Env, message_id: str) -> None:
    assert await state(env, message_id) is TreeState.HALTED_BY_MODERATOR


async def message_deleted(env: Env, message_id: str) -> None:
    assert await deleted(env, message_id)


async def message_restored(env: Env, message_id: str) -> None:
    assert not await deleted(env, message_id)


@dataclass(frozen=True)
class Reaction:
    who: frozenset[str]
    prepare: Callable[[Env, str], Awaitable[None]]
    acted: Callable[[Env, str], Awaitable[None]]


REACTIONS: dict[str, Reaction] = {
    "👍": Reaction(EVERYONE, no_prepare, emoji_count("+1")),
    "👎": Reaction(EVERYONE, no_prepare, emoji_count("-1")),
    "🚩": Reaction(EVERYONE, no_prepare, flag_queued),
    "⛔": Reaction(MODERATORS, no_prepare, tree_halted),
    "🗑️": Reaction(MODERATORS, no_prepare, message_deleted),
    "✅": Reaction(MODERATORS, restore_prepare, message_restored),
}


def removed(exchange: Exchange) -> list[str]:
    return [c.path for c in exchange.calls if c.method == "DELETE" and "/reactions/" in c.path]


@pytest.mark.parametrize(("emoji", "role"), [(e, r) for e in REACTIONS for r in ROLES])
async def test_reactions_on_the_feed(env: Env, emoji: str, role: str) -> None:
    row, actor = REACTIONS[emoji], env.people[PERSON[role]]
    prompt = await prompt_by(env, env.dave)
    post = await feed_post(env, prompt)
    await row.prepare(env, prompt)
    before = snapshot(env)
    exchange = await env.sim.react(int(post["id"]), int(post["channel_id"]), emoji, actor)
    if role in row.who:
        assert removed(exchange) == []
        await row.acted(env, prompt)
    else:  # a moderator emoji from a member: taken off the post, nothing else
        [path] = removed(exchange)
        assert path.endswith(f"/{actor.id}") and f"/messages/{post['id']}/" in path
        assert changes(before, snapshot(env)) == {}


async def test_reactions_in_dms_do_nothing(env: Env) -> None:
    prompt = await prompt_by(env, env.dave)
    post = await feed_post(env, prompt)
    before = snapshot(env)
    for role in ROLES:
        actor = env.people[PERSON[role]]
        dm = int(env.fake.dm_channel(actor.id)["id"])
        for emoji in REACTIONS:
            exchange = await env.sim.react(int(post["id"]), dm, emoji, actor)
            assert "guild_id" not in exchange.payload and exchange.calls == []
    assert changes(before, snapshot(env)) == {}


# ---------------------------------------------------------------------------------------------- mod-queue buttons


async def author_banned(env: Env, message_id: str) -> None:
    assert not await enabled(env, env.dave)


async def dismissed(env: Env, message_id: str) -> None:
    assert not await deleted(env, message_id) and await state(env, message_id) is TreeState.INITIAL_PROMPT_REVIEW


QUEUE_BUTTONS: dict[str, Reaction] = {
    "halt": Reaction(MODERATORS, no_prepare, tree_halted),
    "delete": Reaction(MODERATORS, no_prepare, message_deleted),
    "restore": Reaction(MODERATORS, restore_prepare, message_restored),
    "ban": Reaction(MODERATORS, no_prepare, author_banned),
    "dismiss": Reaction(MODERATORS, no_prepare, dismissed),
}


@pytest.mark.parametrize(("action", "role"), [(a, r) for a in QUEUE_BUTTONS for r in ROLES])
async def test_mod_queue_buttons(env: Env, action: str, role: str) -> None:
    row, actor = QUEUE_BUTTONS[action], env.people[PERSON[role]]
    prompt = await prompt_by(env, env.dave)
    await feed_post(env, prompt)
    community = await env.bot.community_of_guild(env.sim.guild_id)
    env.bot.dispatch("grove_report", prompt, community, await env.member_id(env.carol))
    await env.sim.settle()
    [queued] = [m for m in env.fake.messages.values() if m["channel_id"] == str(env.channels["queue"])]
    await row.prepare(env, prompt)
    await env.sim.settle()  # the post catches up with what prepare did (e.g. a deletion) before the click
    before, post_before = snapshot(env), env.fake.message(queued["id"])
    exchange = await env.sim.click(queued, f"g:q:{prompt}:{action}", actor)
    if role in row.who:
        assert exchange.kind == 7, exchange.text()
        assert f"<@{actor.id}>" in message_text(exchange.message).split("Moderation")[-1]  # who did it, logged
        await row.acted(env, prompt)
    else:
        await assert_refused(env, exchange, REFUSAL[MODERATORS], before, [])
        assert env.fake.message(queued["id"]) == post_before
