"""Moderation: the feed of new messages, emoji reactions as data, the mod queue and `/mod …`.

cog.py      the Moderation cog: listeners (new messages, reports, reactions, engine events), `/mod …`
posts.py    feed and queue posts: posting them, keeping them true to the message (one lock per post)
render.py   what a post shows (pure)
actions.py  moderator actions as engine calls that answer with a sentence
views.py    the queue's buttons (custom_id grammar)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.moderation.cog import Moderation
    from cogs.moderation.views import QueueButton

    bot.add_dynamic_items(QueueButton)
    await bot.add_cog(Moderation(bot))


async def teardown(bot: Grove) -> None:
    from cogs.moderation.views import QueueButton

    bot.remove_dynamic_items(QueueButton)
