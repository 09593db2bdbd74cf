"""The mod queue's buttons. They act through `actions` and edit their own post; they never need the cog.

custom_id grammar (≤ 100 characters):
    g:q:<message id>:<action>   a button on a mod-queue post (DynamicItem: works after a restart);
                                actions: halt, delete, restore, ban, dismiss
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.checks import MODERATORS, NotPermitted, is_moderator
from cogs.context import engine_of, member_id
from cogs.errors import report_error
from cogs.i18n import NC_, Tr, server_tr, tr_for
from cogs.moderation.actions import ACTIONS, moderate
from cogs.moderation.posts import POST_LOCKS
from cogs.moderation.render import with_log_line, with_status

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.moderation")

MESSAGE_ID = r"[0-9a-f-]{36}"
QUEUE_BUTTON = re.compile(rf"g:q:(?P<message>{MESSAGE_ID}):(?P<action>{'|'.join(ACTIONS)})")

BUTTONS = {  # the labels are told with msgctxt "button", in the server's language
    "halt": (NC_("button", "Halt tree"), "⛔", discord.ButtonStyle.danger),
    "delete": (NC_("button", "Delete"), "🗑️", discord.ButtonStyle.danger),
    "restore": (NC_("button", "Restore / resume"), "✅", discord.ButtonStyle.success),
    "ban": (NC_("button", "Ban author"), "🔨", discord.ButtonStyle.secondary),
    "dismiss": (NC_("button", "Dismiss"), "👌", discord.ButtonStyle.secondary),
}


def queue_id(message_id: str, action: str) -> str:
    return f"g:q:{message_id}:{action}"


class QueueButton(ui.DynamicItem[ui.Button], template=QUEUE_BUTTON.pattern):
    """One moderator action on a queued message."""

    def __init__(self, message_id: str, action: str, label: str | None = None) -> None:
        _, emoji, style = BUTTONS[action]
        super().__init__(ui.Button(label=label, emoji=emoji, style=style, custom_id=queue_id(message_id, action)))
        self.message_id, self.action = message_id, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> QueueButton:
        return cls(match["message"], match["action"])

    async def interaction_check(self, interaction: discord.Interaction[Grove]) -> bool:  # type: ignore[override]
        """Moderators only; everyone else is told (discord.py swallows what a dynamic item's check raises)."""
        if await is_moderator(interaction):
            return True
        await report_error(interaction, NotPermitted(MODERATORS))
        return False

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            await self.act(interaction, tr)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)

    async def act(self, interaction: discord.Interaction[Grove], tr: Tr) -> None:
        """Act, then show who did what on the queue post (in the server's language) and the message's new status."""
        bot = interaction.client
        engine = await engine_of(interaction)
        line = await moderate(bot, engine, self.action, self.message_id, await member_id(interaction), "mod queue")
        log.info("%s (user %s, message %s)", line, interaction.user.id, self.message_id)
        who = interaction.user.mention
        if interaction.message is None:  # a button always comes with its message; a forged one may not
            await interaction.response.send_message(f"{line(tr)} — {who}", ephemeral=True)
            return
        post_tr = server_tr(bot, interaction.guild_id)
        async with POST_LOCKS.hold(interaction.message.id):  # an event may be refreshing this post
            message = await engine.message(self.message_id)
            embeds = with_status(post_tr, interaction.message.embeds, message)
            logged = with_log_line(post_tr, embeds, f"{line(post_tr)} — {who}", bot.clock.now())
            await interaction.response.edit_message(embeds=logged)


def queue_view(message_id: str, tr: Tr) -> ui.View:
    """The moderator buttons of a queue post, labelled in the server's language."""
    view = ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(QueueButton(message_id, action, tr.ctx("button", BUTTONS[action][0])))
    return view
