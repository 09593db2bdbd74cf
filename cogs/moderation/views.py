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

from cogs.checks import NotPermitted, is_moderator
from cogs.context import member_id
from cogs.errors import report_error
from cogs.moderation.actions import ACTIONS, moderate
from cogs.moderation.posts import POST_LOCKS
from cogs.moderation.render import with_log_line, with_status

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.moderation")

MESSAGE_ID = r"[0-9a-f-]{36}"
QUEUE_BUTTON = re.compile(rf"g:q:(?P<message>{MESSAGE_ID}):(?P<action>{'|'.join(ACTIONS)})")

BUTTONS = {
    "halt": ("Halt tree", "⛔", discord.ButtonStyle.danger),
    "delete": ("Delete", "🗑️", discord.ButtonStyle.danger),
    "restore": ("Restore / resume", "✅", discord.ButtonStyle.success),
    "ban": ("Ban author", "🔨", discord.ButtonStyle.secondary),
    "dismiss": ("Dismiss", "👌", discord.ButtonStyle.secondary),
}


def queue_id(message_id: str, action: str) -> str:
    return f"g:q:{message_id}:{action}"


class QueueButton(ui.DynamicItem[ui.Button], template=QUEUE_BUTTON.pattern):
    """One moderator action on a queued message."""

    def __init__(self, message_id: str, action: str) -> None:
        label, emoji, style = BUTTONS[action]
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
        await report_error(interaction, NotPermitted("moderators"))
        return False

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        try:
            await self.act(interaction)
        except Exception as exc:
            await report_error(interaction, exc)

    async def act(self, interaction: discord.Interaction[Grove]) -> None:
        """Act, then show who did what on the queue post (and the message's new status)."""
        bot = interaction.client
        line = await moderate(bot, self.action, self.message_id, await member_id(interaction), "mod queue")
        log.info("%s (user %s, message %s)", line, interaction.user.id, self.message_id)
        line = f"{line} — {interaction.user.mention}"
        if interaction.message is None:  # a button always comes with its message; a forged one may not
            await interaction.response.send_message(line, ephemeral=True)
            return
        async with POST_LOCKS.hold(interaction.message.id):  # an event may be refreshing this post
            message = await bot.engine.message(self.message_id)
            embeds = with_status(interaction.message.embeds, message)
            await interaction.response.edit_message(embeds=with_log_line(embeds, line, bot.clock.now()))


def queue_view(message_id: str) -> ui.View:
    view = ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(QueueButton(message_id, action))
    return view
