"""What moderation shows, as pure functions: a Grove message as a feed or queue post (never truncated), the
notice that replaces a removed message, and the moderation log kept on queue posts. No bot, no I/O.

Posts are for everyone in a server, so they are in the server's language; they are recognised (a removed post,
the log, the status field) by their titles in any interface language, so a server that changes its language
keeps working posts."""

from __future__ import annotations

import io
import re

import discord

from cogs.i18n import N_, SOURCE, Tr, every_translation, tr_in
from engine.records import MessageRow
from engine.types import Role

PIECE = 3900  # one embed description (limit 4096)
INLINE_TEXT = 5000  # text shown in embeds (limit 6000 for all embeds of a message); longer goes to a file
EXCERPT = 160
LOG_TITLE = N_("Moderation")
LOG_LINES = 15
STATUS = N_("Status")
DELETED_STATUS = N_("deleted")
REACTION_HELP = N_("React 👍 👎 🚩 · moderators ⛔ halt 🗑️ delete ✅ restore or clear flags")
DELETED = N_("This message was deleted")
PURGED = N_("This message was removed: its author deleted their data")
DELETED_TITLE, PURGED_TITLE = f"🗑️ {DELETED}", f"🗑️ {PURGED}"  # as an English post shows them


def removed_titles() -> frozenset[str]:
    return frozenset(f"🗑️ {t}" for title in (DELETED, PURGED) for t in every_translation(title))


def title_of(tr: Tr, message: MessageRow) -> str:
    if message.parent_id is None:
        return "✍️ " + tr("New prompt")
    return "🤖 " + tr("Assistant reply") if message.role == Role.ASSISTANT else "👤 " + tr("User reply")


_UNESCAPED_BRACKET = re.compile(r"(\\.)|([\[\]()])", re.DOTALL)  # an escape pair, or a bare bracket


def neutral(text: str) -> str:
    """A member's text as inert Discord markdown: shown as typed, but no heading, quote, subtext, masked link or
    formatting can take effect (a typed backslash is escaped too, so it cannot undo an escape). Posts show it as
    the bot's own message, so nothing in it may pass for the bot or the moderators."""
    escaped = discord.utils.escape_markdown(text)  # (escapes typed backslashes too)
    # and every bracket it left bare, so no masked link can form, not even inside one Grove writes around it
    return _UNESCAPED_BRACKET.sub(lambda m: m[1] or "\\" + m[2], escaped)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def split_text(text: str, size: int = PIECE) -> list[str]:
    """Consecutive pieces of at most `size` characters, cut at a line break or space when there is one, and never
    right after an escaping backslash (the escape and what it escapes stay in one piece)."""
    pieces: list[str] = []
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        while cut > 1 and _escapes(text, cut):
            cut -= 1
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def _escapes(text: str, cut: int) -> bool:
    """Whether text[cut - 1] is a backslash that escapes text[cut] (an odd run of backslashes ends there)."""
    run = 0
    while cut - 1 - run >= 0 and text[cut - 1 - run] == "\\":
        run += 1
    return run % 2 == 1


def message_post(
    message: MessageRow,
    *,
    lang: str,
    tr: Tr | None = None,
    parent: MessageRow | None = None,
    parent_link: str | None = None,
    colour: discord.Colour | None = None,
) -> tuple[list[discord.Embed], list[discord.File]]:
    """Embeds (and a file when the text is too long for embeds) showing a message with its references, in the
    server's language `tr` (English by default)."""
    tr = tr or tr_in(SOURCE)
    colour = colour or (discord.Colour.green() if message.role == Role.ASSISTANT else discord.Colour.blurple())
    files: list[discord.File] = []
    shown = neutral(message.text)
    if len(shown) <= INLINE_TEXT:
        pieces = split_text(shown)
    else:
        data = io.BytesIO(message.text.encode("utf-8"))
        files.append(discord.File(data, filename=f"message-{message.id}.txt", description=tr("The full text")))
        attached = tr.plural(
            "The text ({count} character) is attached in full.",
            "The text ({count} characters) is attached in full.",
            len(message.text),
        )
        pieces = [f"*{attached}*"]
    head = discord.Embed(title=title_of(tr, message), description=pieces[0], colour=colour)
    head.add_field(name=tr("Language"), value=lang)
    head.add_field(name=tr("Tree"), value=f"`{message.tree_id}`")
    if parent is not None:
        ref = neutral(excerpt(parent.text)) or tr("(removed)")
        head.add_field(name=tr("In reply to"), value=f"[{ref}]({parent_link})" if parent_link else ref, inline=False)
    if message.deleted:
        head.add_field(name=tr(STATUS), value="🗑️ " + tr(DELETED_STATUS), inline=False)
    head.set_footer(text=tr("message {id} · {help}", id=message.id, help=tr(REACTION_HELP)))
    more = [discord.Embed(description=p, colour=colour) for p in pieces[1:]]
    return [head, *more], files


def removed_post(tr: Tr, message: MessageRow, *, purged: bool) -> discord.Embed:
    """What a post shows instead of a removed message: no text of it, no excerpt of anything."""
    title = "🗑️ " + tr(PURGED if purged else DELETED)
    embed = discord.Embed(title=title, colour=discord.Colour.dark_grey())
    if not purged:
        embed.description = tr("A moderator can restore it.")
    embed.add_field(name=tr("Tree"), value=f"`{message.tree_id}`")
    embed.set_footer(text=tr("message {id}", id=message.id))
    return embed


def is_removed(embeds: list[discord.Embed]) -> bool:
    return bool(embeds) and embeds[0].title in removed_titles()


def is_log(embed: discord.Embed) -> bool:
    return embed.title in every_translation(LOG_TITLE)


def log_embeds(embeds: list[discord.Embed]) -> list[discord.Embed]:
    """The moderation log of a queue post (empty for a feed post)."""
    return [e for e in embeds if is_log(e)]


_STAMPED = re.compile(r"<t:\d+:t> (?P<text>.*?)(?: ×(?P<times>\d+))?")
STORM = ("🚩", "📝")  # flags and reports: the lines a storm is made of


def with_log_line(tr: Tr, embeds: list[discord.Embed], line: str, at: float) -> list[discord.Embed]:
    """The post's embeds with one more line in its moderation log. The log summarises rather than scrolls: a line
    that repeats the one before it counts up (`×N`), and past LOG_LINES the oldest flag or report lines go first,
    so a storm of them never pushes the moderators' own actions out."""
    kept = [e for e in embeds if not is_log(e)]
    old = next((e.description or "" for e in embeds if is_log(e)), "")
    lines = old.splitlines()
    last = _STAMPED.fullmatch(lines[-1]) if lines else None
    if last is not None and last["text"] == line:
        lines[-1] = f"<t:{int(at)}:t> {line} ×{int(last['times'] or 1) + 1}"
    else:
        lines.append(f"<t:{int(at)}:t> {line}")
    while len(lines) > LOG_LINES:
        storm = [i for i, text in enumerate(lines) if (m := _STAMPED.fullmatch(text)) and m["text"].startswith(STORM)]
        del lines[storm[0] if storm else 0]
    log = discord.Embed(title=tr(LOG_TITLE), description="\n".join(lines), colour=discord.Colour.dark_grey())
    return [*kept, log]


def with_status(tr: Tr, embeds: list[discord.Embed], message: MessageRow) -> list[discord.Embed]:
    """A queue post's embeds with its status brought up to date (deleted or not); the text is left as it is."""
    if not embeds or is_removed(embeds):
        return list(embeds)
    head = discord.Embed.from_dict(embeds[0].to_dict())
    for i in reversed([i for i, f in enumerate(head.fields) if f.name in every_translation(STATUS)]):
        head.remove_field(i)
    if message.deleted:
        head.add_field(name=tr(STATUS), value="🗑️ " + tr(DELETED_STATUS), inline=False)
    return [head, *embeds[1:]]
