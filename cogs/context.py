"""Who the caller is to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from engine.errors import UserNotFound

if TYPE_CHECKING:
    from bot.bot import Grove


async def member_id(interaction: discord.Interaction[Grove], user: discord.abc.User | None = None) -> int:
    """The engine's id of a Discord user (the caller by default), created on first sight."""
    if user is not None and not isinstance(user, discord.User | discord.Member):
        raise UserNotFound()  # Discord resolves user options; a bare id (a forged or stale payload) is no one
    return await interaction.client.member_id(user or interaction.user)
