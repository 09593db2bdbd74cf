"""Community commands: /stats (with a chart), /leaderboard (paged) and /privacy (hide, export, delete).

cog.py     the Community cog: the commands, and what it holds about a member (cogs.privacy)
views.py   leaderboard and privacy buttons (custom_id grammar)
render.py  what they show (pure)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.community.cog import Community
    from cogs.community.views import LeaderboardButton, PrivacyButton

    bot.add_dynamic_items(LeaderboardButton, PrivacyButton)
    await bot.add_cog(Community(bot))


async def teardown(bot: Grove) -> None:
    from cogs.community.views import LeaderboardButton, PrivacyButton

    bot.remove_dynamic_items(LeaderboardButton, PrivacyButton)
