"""Who the caller is to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from engine.errors import UserNotFound

if TYPE_CHECKING:
    from bot.bot import Grove
    from engine.engine import Engine


async def member_id(interaction: discord.Interaction[Grove], user: discord.abc.User | None = None) -> int:
    """The engine's id of a Discord user (the caller by default), created on first sight."""
    if user is not None and not isinstance(user, discord.User | discord.Member):
        raise UserNotFound()  # Discord resolves user options; a bare id (a forged or stale payload) is no one
    return await interaction.client.member_id(user or interaction.user)


async def community_of(interaction: discord.Interaction[Grove], *, home: bool = False) -> int:
    """The community an interaction acts in: its server's; in DMs, the member's home community (the server they
    last took a task in). With `home` (a hand-out), the server's community becomes the member's home."""
    bot = interaction.client
    if interaction.guild_id is not None:
        community = await bot.community_of_guild(interaction.guild_id)
        if home:
            await bot.note_home(interaction.user, community)
        return community
    return await bot.home_of(interaction.user)


async def engine_of(interaction: discord.Interaction[Grove], *, home: bool = False) -> Engine:
    """The engine acting within the interaction's community (see `community_of`): another community's trees,
    messages and tasks are "not found" through it."""
    return interaction.client.engine.scoped(await community_of(interaction, home=home))


async def preferred_language(bot: Grove, user: discord.abc.User) -> str | None:
    """The task language the member chose with `/language task` (None: none), cached per process like the
    interface locale (`cogs.i18n.chosen_locale`): a `/task` needs no read of the member's row for it."""
    if user.id not in bot.task_langs or bot.db.shared:
        bot.task_langs[user.id] = (await bot.engine.user(await bot.member_id(user))).preferred_lang
    return bot.task_langs[user.id]


async def task_language(interaction: discord.Interaction[Grove], option: str | None) -> str:
    """The task language: the option, the channel's, the member's preference, their Discord app's language when this
    server collects it, the server's default, else en (`engine.guilds.resolve_language`); only a language the
    server enables (in DMs: the member's home community's servers)."""
    bot = interaction.client
    return await bot.settings.language_for(
        interaction.guild_id,
        interaction.channel_id,
        option,
        await preferred_language(bot, interaction.user),
        str(interaction.locale),
        community=None if interaction.guild_id is not None else await community_of(interaction),
    )
