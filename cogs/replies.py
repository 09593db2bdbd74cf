"""Answering without pings: the one way cogs answer an interaction, and how typed text goes back to its author.

Every message Grove sends or edits carries `NO_MENTIONS` (the bot's default too), so no text a member wrote
can ping @everyone, a role or a member.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from cogs.i18n import Tr

if TYPE_CHECKING:
    from bot.bot import Grove

NO_MENTIONS = discord.AllowedMentions.none()
EMBED_TEXT = 3900  # room for a text in one embed description (limit 4096)


async def send(
    interaction: discord.Interaction[Grove],
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
    files: Sequence[discord.File] = (),
    ephemeral: bool = True,
) -> None:
    """Answer an interaction: the first response if still possible, else a follow-up."""
    kwargs: dict[str, Any] = {"content": content, "embeds": list(embeds), "ephemeral": ephemeral}
    kwargs["allowed_mentions"] = NO_MENTIONS
    if files:
        kwargs["files"] = list(files)
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(**kwargs)
    else:
        await interaction.followup.send(**kwargs)


def text_back(tr: Tr, text: str) -> tuple[list[discord.Embed], list[discord.File]]:
    """Give typed text back to its author: in an embed when it fits, else as a file."""
    if not text:
        return [], []
    title = tr("Your text (nothing was lost)")
    if len(text) <= EMBED_TEXT:
        return [discord.Embed(title=title, description=text, colour=discord.Colour.greyple())], []
    data = io.BytesIO(text.encode("utf-8"))
    return [], [discord.File(data, filename="your-text.txt", description=title)]
