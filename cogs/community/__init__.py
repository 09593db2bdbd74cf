"""Community commands: /stats (with a chart), /leaderboard (paged) and /privacy (consent, hide, export, remove my
name, delete my texts).

cog.py             the Community cog: the commands, and what it holds about a member (cogs.privacy)
views.py           leaderboard buttons (custom_id grammar)
render.py          what /stats and /leaderboard show (pure)
privacy_views.py   the /privacy panel and its buttons (custom_id grammar)
privacy_render.py  what /privacy shows (pure)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.community.cog import Community
    from cogs.community.privacy_views import PrivacyButton
    from cogs.community.views import LeaderboardButton

    bot.add_dynamic_items(LeaderboardButton, PrivacyButton)
    await bot.add_cog(Community(bot))


async def teardown(bot: Grove) -> None:
    from cogs.community.privacy_views import PrivacyButton
    from cogs.community.views import LeaderboardButton

    bot.remove_dynamic_items(LeaderboardButton, PrivacyButton)
