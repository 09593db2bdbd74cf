"""Contributor-facing tasks: commands, cards, writing, labelling and ranking."""

from __future__ import annotations

from discord.ext import commands

from cogs.tasks import flow, labelling, ranking, writing  # noqa: F401  (they register their card parts)
from cogs.tasks.cog import Tasks
from cogs.tasks.items import TaskButton


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(TaskButton, flow.NextButton)
    await bot.add_cog(Tasks(bot))


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(TaskButton, flow.NextButton)
