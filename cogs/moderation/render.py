"""What moderation shows, as pure functions: a Grove message as a feed or queue post (never truncated), the
notice that replaces a removed message, and the moderation log kept on queue posts. No bot, no I/O."""

from __future__ import annotations

import io

import discord

from engine.records import MessageRow
from engine.types import Role

PIECE = 3900  # one embed description (limit 4096)
INLINE_TEXT = 5000  # text shown in embeds (limit 6000 for all embeds of a message); longer goes to a file
EXCERPT = 160
LOG_TITLE = "Moderation"
LOG_LINES = 15
STATUS = "Status"
DELETED_STATUS = "🗑️ deleted"
REACTION_HELP = "React 👍 👎 🚩 · moderators ⛔ halt 🗑️ delete ✅ restore or clear flags"
DELETED_TITLE = "🗑️ This message was deleted"
PURGED_TITLE = "🗑️ This message was removed: its author deleted their data"
REMOVED_TITLES = frozenset({DELETED_TITLE, PURGED_TITLE})


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
        ref = excerpt(parent.text) or "(removed)"
        head.add_field(name="In reply to", value=f"[{ref}]({parent_link})" if parent_link else ref, inline=False)
    if message.deleted:
        head.add_field(name=STATUS, value=DELETED_STATUS, inline=False)
    head.set_footer(text=f"message {message.id} · {REACTION_HELP}")
    more = [discord.Embed(description=p, colour=colour) for p in pieces[1:]]
    return [head, *more], files


def removed_post(message: MessageRow, *, purged: bool) -> discord.Embed:
    """What a post shows instead of a removed message: no text of it, no excerpt of anything."""
    embed = discord.Embed(title=PURGED_TITLE if purged else DELETED_TITLE, colour=discord.Colour.dark_grey())
    if not purged:
        embed.description = "A moderator can restore it."
    embed.add_field(name="Tree", value=f"`{message.tree_id}`")
    embed.set_footer(text=f"message {message.id}")
    return embed


def is_removed(embeds: list[discord.Embed]) -> bool:
    return bool(embeds) and embeds[0].title in REMOVED_TITLES


def log_embeds(embeds: list[discord.Embed]) -> list[discord.Embed]:
    """The moderation log of a queue post (empty for a feed post)."""
    return [e for e in embeds if e.title == LOG_TITLE]


def with_log_line(embeds: list[discord.Embed], line: str, at: float) -> list[discord.Embed]:
    """The post's embeds with one more line in its moderation log (kept to the last few lines)."""
    kept = [e for e in embeds if e.title != LOG_TITLE]
    old = next((e.description or "" for e in embeds if e.title == LOG_TITLE), "")
    lines = [*old.splitlines(), f"<t:{int(at)}:t> {line}"][-LOG_LINES:]
    return [*kept, discord.Embed(title=LOG_TITLE, description="\n".join(lines), colour=discord.Colour.dark_grey())]


def with_status(embeds: list[discord.Embed], message: MessageRow) -> list[discord.Embed]:
    """A queue post's embeds with its status brought up to date (deleted or not); the text is left as it is."""
    if not embeds or is_removed(embeds):
        return list(embeds)
    head = discord.Embed.from_dict(embeds[0].to_dict())
    for i in reversed([i for i, f in enumerate(head.fields) if f.name == STATUS]):
        head.remove_field(i)
    if message.deleted:
        head.add_field(name=STATUS, value=DELETED_STATUS, inline=False)
    return [head, *embeds[1:]]
