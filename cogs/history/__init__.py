"""What became of a member's work: /history (paged) and /notifications (told by DM, in batches).

cog.py     the History cog: the commands, the delivery of notification DMs, what it holds about a member
views.py   the history page buttons (custom_id grammar)
render.py  what they show (pure)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.history.cog import History
    from cogs.history.views import HistoryButton

    bot.add_dynamic_items(HistoryButton)
    await bot.add_cog(History(bot))


async def teardown(bot: Grove) -> None:
    from cogs.history.views import HistoryButton

    bot.remove_dynamic_items(HistoryButton)
