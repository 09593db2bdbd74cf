"""The /history page buttons. They work for whoever clicks, with the same rule as the command: another member's
history only if they show on leaderboards.

custom_id grammar (DynamicItems: they keep working after a restart):
    g:hi:<member>:<kind>:<page>   show that page (0-based) of the history of <member> (the engine's member id) of
                                  that kind (all, prompts, replies)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.context import engine_of, member_id
from cogs.errors import report_error
from cogs.history.render import history_embed, member_name
from cogs.i18n import Tr, tr_for
from cogs.replies import NO_MENTIONS
from engine.history import HistoryKind

if TYPE_CHECKING:
    from bot.bot import Grove

KINDS = "|".join(k.value for k in HistoryKind)
HI_ID = re.compile(rf"g:hi:(?P<member>\d{{1,19}}):(?P<kind>{KINDS}):(?P<page>-?\d{{1,6}})")


async def history_message(
    interaction: discord.Interaction[Grove], tr: Tr, uid: int, kind: HistoryKind, page: int, name: str | None = None
) -> tuple[discord.Embed | None, ui.View | None, str]:
    """A page of member `uid`'s history with its buttons, or (None, None, why not) for another member's private
    history. `name` is how to call the member (default: their stored name)."""
    engine = await engine_of(interaction)  # the interaction's community only
    me = await member_id(interaction)
    user = await engine.user(uid)
    if name is None:  # a page button: the member as Discord knows them now, else as Grove stored them
        known = interaction.client.get_user(int(user.username)) if user.auth_method == "discord" else None
        name = discord.utils.escape_markdown(known.display_name) if known is not None else member_name(user)
    if uid != me and (not user.show_on_leaderboard or user.deleted):
        return None, None, tr("{name} keeps their history private.", name=name)
    shown = await engine.member_history(uid, kind, page, include_deleted=uid == me)
    view = ui.View(timeout=None)
    view.add_item(HistoryButton(uid, kind, shown.page - 1, emoji="◀", disabled=shown.page <= 0))
    view.add_item(HistoryButton(uid, kind, shown.page + 1, emoji="▶", disabled=shown.page >= shown.pages - 1))
    return history_embed(tr, name, shown), view, ""


class HistoryButton(ui.DynamicItem[ui.Button], template=HI_ID.pattern):
    def __init__(
        self, uid: int, kind: HistoryKind, page: int, *, emoji: str | None = None, disabled: bool = False
    ) -> None:
        custom_id = f"g:hi:{uid}:{kind.value}:{page}"
        super().__init__(ui.Button(emoji=emoji, disabled=disabled, custom_id=custom_id))
        self.uid, self.kind, self.page = uid, kind, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> HistoryButton:
        return cls(int(match["member"]), HistoryKind(match["kind"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            embed, view, refusal = await history_message(interaction, tr, self.uid, self.kind, self.page)
            if embed is None:
                await interaction.response.edit_message(
                    content=refusal, embed=None, view=None, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)
