"""The community buttons: leaderboard pages. They work for the member who clicks (the privacy panel's buttons are
in `privacy_views.py`).

custom_id grammar (DynamicItems: they keep working after a restart):
    g:lb:<period>:<page>   show that page of the leaderboard (the caller's own row is always added)
The member is always the one who clicked, so no one can act for someone else.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.community.render import leaderboard_embed, name_of
from cogs.context import community_of, member_id
from cogs.errors import report_error
from cogs.i18n import Tr, tr_for
from engine.stats import TimeFrame

if TYPE_CHECKING:
    from bot.bot import Grove

PER_PAGE = 10
PERIODS = "|".join(f.value for f in TimeFrame)
LB_ID = re.compile(rf"g:lb:(?P<period>{PERIODS}):(?P<page>-?\d{{1,6}})(?::(?P<lang>[a-z0-9-]{{1,35}}))?")


async def leaderboard_message(
    interaction: discord.Interaction[Grove], tr: Tr, frame: TimeFrame, page: int, lang: str | None = None
) -> tuple[discord.Embed, ui.View]:
    """A page of the leaderboard of the interaction's community (in one language, or all)."""
    stats = interaction.client.stats
    me = await member_id(interaction)
    community = await community_of(interaction)
    board = await stats.board(frame, page=page, per_page=PER_PAGE, community=community, lang=lang)
    own = await stats.member(me, frame, community=community, lang=lang)
    embed = leaderboard_embed(tr, board, me, own, name_of(interaction.user))
    if lang:
        embed.title = f"{embed.title} · {lang}"
    view = ui.View(timeout=None)
    view.add_item(LeaderboardButton(frame, board.page - 1, lang, emoji="◀", disabled=board.page <= 0))
    view.add_item(LeaderboardButton(frame, board.page + 1, lang, emoji="▶", disabled=board.page >= board.pages - 1))
    return embed, view


class LeaderboardButton(ui.DynamicItem[ui.Button], template=LB_ID.pattern):
    def __init__(
        self, frame: TimeFrame, page: int, lang: str | None = None, *, emoji: str | None = None, disabled: bool = False
    ) -> None:
        custom_id = f"g:lb:{frame.value}:{page}" + (f":{lang}" if lang else "")
        super().__init__(ui.Button(emoji=emoji, disabled=disabled, custom_id=custom_id))
        self.frame, self.page, self.lang = frame, page, lang

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> LeaderboardButton:
        return cls(TimeFrame(match["period"]), int(match["page"]), match["lang"])

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            embed, view = await leaderboard_message(interaction, tr, self.frame, self.page, self.lang)
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)
