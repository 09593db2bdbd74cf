"""Moderation: the feed of new messages, emoji reactions as data, the mod queue and `/mod …`."""

from __future__ import annotations

from discord.ext import commands

from cogs.moderation.cog import Moderation
from cogs.moderation.views import QueueButton


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(QueueButton)
    await bot.add_cog(Moderation(bot))  # type: ignore[arg-type]


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(QueueButton)
