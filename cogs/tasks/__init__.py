"""Contributor-facing tasks: commands, cards, writing, labelling and ranking.

cog.py        /task, /tasks, /status, /language, /guidelines, /help, and the router for Grove's modals
parts.py      every card part, listed once (installed by the cog)
items.py      the custom_id grammar, task buttons and selects, the parts registry, modal dispatch
cards.py      a task as embeds and buttons, paged (never cut)
flow.py       moves every card shares (hand out, touch, next card, skip, stop, pages)
resume.py     the member's open tasks: /task's offer, /tasks, Resume and Release
reporting.py  Report from a card (on a ranking card: which reply)
writing.py, labelling.py, ranking.py   one card part per task family
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bot import Grove


async def setup(bot: Grove) -> None:
    from cogs.tasks.cog import Tasks
    from cogs.tasks.parts import DYNAMIC_ITEMS

    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(Tasks(bot))


async def teardown(bot: Grove) -> None:
    from cogs.tasks.parts import DYNAMIC_ITEMS

    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
