"""What moderation shows: a Grove message as feed or queue post (never truncated), and the queue's buttons.

custom_id grammar (≤ 100 characters):
    g:q:<message id>:<action>   a button on a mod-queue post (DynamicItem: works after a restart);
                                actions: halt, delete, restore, ban, dismiss
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import discord
from discord import ui

from cogs.common import NotPermitted, grove, is_moderator, report_error
from engine.types import Role
from engine.records import MessageRow

if TYPE_CHECKING:
    from cogs.moderation.cog import Moderation

MESSAGE_ID = r"[0-9a-f-]{36}"
ACTIONS = ("halt", "delete", "restore", "ban", "dismiss")
QUEUE_BUTTON = re.compile(rf"g:q:(?P<message>{MESSAGE_ID}):(?P<action>{'|'.join(ACTIONS)})")

PIECE = 3900  # one embed description (limit 4096)
INLINE_TEXT = 5000  # text shown in embeds (limit 6000 for all embeds of a message); longer goes to a file
EXCERPT = 160
LOG_TITLE = "Moderation"
LOG_LINES = 15
REACTION_HELP = "React 👍 👎 🚩 · moderators ⛔ halt 🗑️ delete ✅ restore or clear flags"


def title_of(message: MessageRow) -> str:
    if message.parent_id is None:
        return "✍️ New prompt"
    return "🤖 Assistant reply" if message.role == Role.ASSISTANT else "👤 User reply"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def split_text(text: str, size: int = PIECE) -> list[str]:
    """Consecutive pieces of at most `size` characters, cut at a line break or space when there is one."""
    pieces: list[str] = []
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def message_post(
    message: MessageRow,
    *,
    lang: str,
    parent: MessageRow | None = None,
    parent_link: str | None = None,
    colour: discord.Colour | None = None,
    note: str = "",
) -> tuple[list[discord.Embed], list[discord.File]]:
    """Embeds (and a file when the text is too long for embeds) showing a message with its references."""
    colour = colour or (discord.Colour.green() if message.role == Role.ASSISTANT else discord.Colour.blurple())
    files: list[discord.File] = []
    if len(message.text) <= INLINE_TEXT:
        pieces = split_text(message.text)
    else:
        data = io.BytesIO(message.text.encode("utf-8"))
        files.append(discord.File(data, filename=f"message-{message.id}.txt", description="The full text"))
        pieces = [f"*The text ({len(message.text)} characters) is attached in full.*"]
    head = discord.Embed(title=title_of(message), description=pieces[0], colour=colour)
    head.add_field(name="Language", value=lang)
    head.add_field(name="Tree", value=f"`{message.tree_id}`")
    if parent is not None:
        ref = excerpt(parent.text)
        head.add_field(name="In reply to", value=f"[{ref}]({parent_link})" if parent_link else ref, inline=False)
    if message.deleted:
        head.add_field(name="Status", value="🗑️ deleted", inline=False)
    if note:
        head.add_field(name="\u200b", value=note[:1024], inline=False)
    head.set_footer(text=f"message {message.id} · {REACTION_HELP}")
    more = [discord.Embed(description=p, colour=colour) for p in pieces[1:]]
    return [head, *more], files


def with_log_line(embeds: list[discord.Embed], line: str, at: float) -> list[discord.Embed]:
    """The post's embeds with one more line in its moderation log (kept to the last few lines)."""
    kept = [e for e in embeds if e.title != LOG_TITLE]
    old = next((e.description or "" for e in embeds if e.title == LOG_TITLE), "")
    lines = [*old.splitlines(), f"<t:{int(at)}:t> {line}"][-LOG_LINES:]
    return [*kept, discord.Embed(title=LOG_TITLE, description="\n".join(lines), colour=discord.Colour.dark_grey())]


def queue_id(message_id: str, action: str) -> str:
    return f"g:q:{message_id}:{action}"


BUTTONS = {
    "halt": ("Halt tree", "⛔", discord.ButtonStyle.danger),
    "delete": ("Delete", "🗑️", discord.ButtonStyle.danger),
    "restore": ("Restore / resume", "✅", discord.ButtonStyle.success),
    "ban": ("Ban author", "🔨", discord.ButtonStyle.secondary),
    "dismiss": ("Dismiss", "👌", discord.ButtonStyle.secondary),
}


class QueueButton(ui.DynamicItem[ui.Button], template=QUEUE_BUTTON.pattern):
    """One moderator action on a queued message; the work is done by the Moderation cog."""

    def __init__(self, message_id: str, action: str) -> None:
        label, emoji, style = BUTTONS[action]
        super().__init__(ui.Button(label=label, emoji=emoji, style=style, custom_id=queue_id(message_id, action)))
        self.message_id, self.action = message_id, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Button, match: re.Match[str], /
    ) -> QueueButton:
        return cls(match["message"], match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if not await is_moderator(interaction):
                raise NotPermitted("moderators")
            cog: Moderation | None = grove(interaction).get_cog("Moderation")  # type: ignore[assignment]
            if cog is None:
                raise RuntimeError("the Moderation cog is not loaded")
            await cog.queue_action(interaction, self.message_id, self.action)
        except Exception as exc:
            await report_error(interaction, exc)


def queue_view(message_id: str) -> ui.View:
    view = ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(QueueButton(message_id, action))
    return view
