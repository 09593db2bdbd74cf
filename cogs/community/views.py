"""The community buttons: leaderboard pages and the privacy panel. They work for the member who clicks.

custom_id grammar (DynamicItems: they keep working after a restart):
    g:lb:<period>:<page>   show that page of the leaderboard (the caller's own row is always added)
    g:pv:<action>          a privacy action (hide, show, export, delete, purge, cancel) for the clicking member
The member is always the one who clicked, so no one can act for someone else.
"""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs import privacy
from cogs.community.render import confirm_delete, deleted_embed, leaderboard_embed, name_of, privacy_embed
from cogs.context import community_of, engine_of, member_id
from cogs.errors import report_error
from cogs.i18n import Tr, tr_for
from cogs.replies import send
from engine.stats import TimeFrame

if TYPE_CHECKING:
    from bot.bot import Grove

PER_PAGE = 10
PERIODS = "|".join(f.value for f in TimeFrame)
LB_ID = re.compile(rf"g:lb:(?P<period>{PERIODS}):(?P<page>-?\d{{1,6}})(?::(?P<lang>[a-z0-9-]{{1,35}}))?")
PV_ACTIONS = ("hide", "show", "export", "delete", "purge", "cancel")
PV_ID = re.compile(rf"g:pv:(?P<action>{'|'.join(PV_ACTIONS)})")
PURGE_REASON = "deleted by the member (/privacy)"


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


async def privacy_panel(
    interaction: discord.Interaction[Grove], tr: Tr, note: str = ""
) -> tuple[discord.Embed, ui.View]:
    user = await (await engine_of(interaction)).user(await member_id(interaction))
    shown = user.show_on_leaderboard
    view = ui.View(timeout=None)
    secondary, primary, danger = discord.ButtonStyle.secondary, discord.ButtonStyle.primary, discord.ButtonStyle.danger
    if shown:
        view.add_item(PrivacyButton("hide", tr.ctx("button", "Hide me from leaderboards"), secondary))
    else:
        view.add_item(PrivacyButton("show", tr.ctx("button", "Show me"), secondary))
    view.add_item(PrivacyButton("export", tr.ctx("button", "Export my contributions"), primary))
    view.add_item(PrivacyButton("delete", tr.ctx("button", "Delete my data"), danger))
    return privacy_embed(tr, shown, note), view


def confirm_view(tr: Tr) -> ui.View:
    view = ui.View(timeout=None)
    view.add_item(PrivacyButton("purge", tr.ctx("button", "Yes, delete everything"), discord.ButtonStyle.danger))
    view.add_item(PrivacyButton("cancel", tr.ctx("button", "Cancel"), discord.ButtonStyle.secondary))
    return view


async def export_file(bot: Grove, me: int) -> discord.File:
    """What every loaded feature holds about the member, as one JSON file."""
    data = await privacy.member_data(bot, me)
    raw = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return discord.File(io.BytesIO(raw), filename="grove-my-contributions.json")


class PrivacyButton(ui.DynamicItem[ui.Button], template=PV_ID.pattern):
    def __init__(
        self, action: str, label: str | None = None, style: discord.ButtonStyle = discord.ButtonStyle.secondary
    ) -> None:
        super().__init__(ui.Button(label=label, style=style, custom_id=f"g:pv:{action}"))
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> PrivacyButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            await self.act(interaction, tr)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)

    async def act(self, interaction: discord.Interaction[Grove], tr: Tr) -> None:
        bot = interaction.client
        me = await member_id(interaction)  # always the clicking member
        if self.action in ("hide", "show"):
            await bot.engine.set_show_on_leaderboard(me, self.action == "show")
            note = "✅ " + tr("Saved; the leaderboards reflect it at their next refresh (within minutes).")
            embed, view = await privacy_panel(interaction, tr, note)
            await interaction.response.edit_message(embed=embed, view=view)
        elif self.action == "export":
            await send(interaction, tr("What Grove holds about you:"), files=[await export_file(bot, me)])
        elif self.action == "delete":
            await interaction.response.edit_message(embed=confirm_delete(tr), view=confirm_view(tr))
        elif self.action == "cancel":
            embed, view = await privacy_panel(interaction, tr, tr("Nothing was deleted."))
            await interaction.response.edit_message(embed=embed, view=view)
        elif self.action == "purge":
            await interaction.response.defer()
            removed = await bot.engine.purge_user(me, me, reason=PURGE_REASON, erase=True)
            failed = await privacy.delete_member_data(bot, me)  # every feature clears what it holds
            bot.ui_locales.pop(interaction.user.id, None)  # the purge may have reset the member's choices
            await interaction.edit_original_response(embed=deleted_embed(tr, removed, failed), view=None)
