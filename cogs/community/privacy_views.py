"""The /privacy panel and its buttons: consent, leaderboards, export, remove my name, delete my texts (issue 15).
Each acts for the member who clicks, never for someone else. Consent and privacy are the member's own, across
every community, so they go to the bot's engine itself (not one scoped to a community).

custom_id grammar (DynamicItems: they keep working after a restart):
    g:pv:<action>   hide, show: the leaderboards · export: the member's data as JSON · name, name_yes: remove my
                    name (ask, then do) · delete, erase: delete my texts (ask with what it withdraws, then do) ·
                    withdraw, withdraw_yes: withdraw consent · consent: show the consent card · cancel: back
"""

from __future__ import annotations

import io
import json
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs import privacy
from cogs.community.privacy_render import (
    confirm_name,
    confirm_texts,
    confirm_withdraw,
    name_removed_embed,
    panel_embed,
    texts_deleted_embed,
)
from cogs.consent import card_embed, card_view
from cogs.context import member_id
from cogs.errors import report_error
from cogs.i18n import Tr, tr_for
from cogs.replies import send
from engine import errors
from engine.privacy import ALREADY_DELETED

if TYPE_CHECKING:
    from bot.bot import Grove

PV_ACTIONS = ("hide", "show", "export", "name", "name_yes", "delete", "erase", "withdraw", "withdraw_yes")
PV_ID = re.compile(rf"g:pv:(?P<action>{'|'.join((*PV_ACTIONS, 'consent', 'cancel'))})")


async def privacy_panel(
    interaction: discord.Interaction[Grove], tr: Tr, note: str = ""
) -> tuple[discord.Embed, ui.View]:
    engine = interaction.client.engine
    me = await member_id(interaction)
    user, consent = await engine.user(me), await engine.consent(me)
    secondary, primary, danger = discord.ButtonStyle.secondary, discord.ButtonStyle.primary, discord.ButtonStyle.danger
    view = ui.View(timeout=None)
    if user.show_on_leaderboard:
        view.add_item(PrivacyButton("hide", tr.ctx("button", "Hide me from leaderboards"), secondary, row=0))
    else:
        view.add_item(PrivacyButton("show", tr.ctx("button", "Show me"), secondary, row=0))
    view.add_item(PrivacyButton("export", tr.ctx("button", "Export my data"), primary, row=0))
    view.add_item(PrivacyButton("name", tr.ctx("button", "Remove my name"), secondary, row=1))
    view.add_item(PrivacyButton("delete", tr.ctx("button", "Delete my texts"), danger, row=1))
    if consent.agreed:
        view.add_item(PrivacyButton("withdraw", tr.ctx("button", "Withdraw consent"), secondary, row=2))
    elif consent.required:
        view.add_item(PrivacyButton("consent", tr.ctx("button", "Give consent"), discord.ButtonStyle.success, row=2))
    return panel_embed(tr, user, consent, note), view


def confirm_view(tr: Tr, action: str, label: str) -> ui.View:
    view = ui.View(timeout=None)
    view.add_item(PrivacyButton(action, label, discord.ButtonStyle.danger))
    view.add_item(PrivacyButton("cancel", tr.ctx("button", "Cancel"), discord.ButtonStyle.secondary))
    return view


async def export_file(bot: Grove, me: int) -> discord.File:
    """What every loaded feature holds about the member, as one JSON file."""
    data = await privacy.member_data(bot, me)
    raw = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return discord.File(io.BytesIO(raw), filename="grove-my-contributions.json")


class PrivacyButton(ui.DynamicItem[ui.Button], template=PV_ID.pattern):
    def __init__(
        self,
        action: str,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(ui.Button(label=label, style=style, custom_id=f"g:pv:{action}"), row=row)
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
        engine = bot.engine
        me = await member_id(interaction)  # always the clicking member
        edit = interaction.response.edit_message
        if self.action in ("hide", "show"):
            await engine.set_show_on_leaderboard(me, self.action == "show")
            note = tr("Saved; the leaderboards reflect it at their next refresh (within minutes).")
            await self.panel(interaction, tr, f"✅ {note}")
        elif self.action == "export":
            await send(interaction, tr("What Grove holds about you:"), files=[await export_file(bot, me)])
        elif self.action == "name":
            label = tr.ctx("button", "Yes, remove my name")
            await edit(embed=confirm_name(tr), view=confirm_view(tr, "name_yes", label))
        elif self.action == "name_yes":
            await interaction.response.defer()
            moved = await engine.remove_name(me)
            await bot.stats.refresh_all()  # the leaderboards forget the member's contributions now
            await interaction.edit_original_response(embed=name_removed_embed(tr, moved), view=None)
        elif self.action == "delete":
            preview = await engine.texts_deletion_preview(me)
            if preview.done_at is not None and not preview.messages:
                raise errors.AlreadyDone(ALREADY_DELETED)
            label = tr.ctx("button", "Yes, delete my texts")
            await edit(embed=confirm_texts(tr, preview), view=confirm_view(tr, "erase", label))
        elif self.action == "erase":
            await interaction.response.defer()
            done = await engine.delete_texts(me)
            failed = await privacy.delete_member_data(bot, me)  # every feature clears what it shows of them
            await interaction.edit_original_response(embed=texts_deleted_embed(tr, done, failed), view=None)
        elif self.action == "withdraw":
            label = tr.ctx("button", "Yes, withdraw my consent")
            await edit(embed=confirm_withdraw(tr), view=confirm_view(tr, "withdraw_yes", label))
        elif self.action == "withdraw_yes":
            await engine.withdraw_consent(me)
            await self.panel(interaction, tr, "✅ " + tr("Consent withdrawn: nothing new of yours is stored."))
        elif self.action == "consent":
            await edit(embed=card_embed(tr, bot, await engine.consent(me)), view=card_view(tr))
        else:  # cancel
            await self.panel(interaction, tr, tr("Nothing changed."))

    @staticmethod
    async def panel(interaction: discord.Interaction[Grove], tr: Tr, note: str) -> None:
        embed, view = await privacy_panel(interaction, tr, note)
        await interaction.response.edit_message(embed=embed, view=view)
