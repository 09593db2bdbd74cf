"""Community commands: /stats (with a chart), /leaderboard (paged) and /privacy (hide, export, delete)."""

from __future__ import annotations

from discord.ext import commands

from cogs.community.cog import Community, LeaderboardButton, PrivacyButton


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(LeaderboardButton, PrivacyButton)
    await bot.add_cog(Community(bot))


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(LeaderboardButton, PrivacyButton)
