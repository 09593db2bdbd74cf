"""What /history and the notification DMs show, as pure functions of the member's language. Member texts are quoted
as short excerpts on one line, with markdown and mentions escaped (and every message is sent without pings)."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.i18n import N_, Tr, relative
from engine.history import HistoryItem, HistoryKind, HistoryPage
from engine.notifications import Digest, Notice, NotificationKind
from engine.records import UserRow
from engine.types import Role, TreeState

EXCERPT = 80  # characters of a member's text quoted in a list
DESCRIPTION = 3900  # room in one embed description (limit 4096)
MEDALS = ("🥇", "🥈", "🥉")

KIND_CHOICES = [  # their names are localised by the command translator (msgctxt "choice")
    app_commands.Choice(name="all", value=HistoryKind.ALL.value),
    app_commands.Choice(name="prompts", value=HistoryKind.PROMPTS.value),
    app_commands.Choice(name="replies", value=HistoryKind.REPLIES.value),
]
KIND_NAMES = {
    HistoryKind.ALL: N_("prompts and replies"),
    HistoryKind.PROMPTS: N_("prompts"),
    HistoryKind.REPLIES: N_("replies"),
}
TREE_WORDS = {  # a tree's state as /history tells a member
    # Translators: what became of a member's conversation tree, as /history tells it (lower-case in English)
    TreeState.INITIAL_PROMPT_REVIEW: N_("prompt under review"),
    TreeState.PROMPT_LOTTERY_WAITING: N_("waiting to grow"),
    TreeState.GROWING: N_("growing"),
    TreeState.RANKING: N_("being ranked"),
    TreeState.READY_FOR_SCORING: N_("being ranked"),
    TreeState.SCORING_FAILED: N_("being ranked"),
    TreeState.BACKLOG_RANKING: N_("waiting to be ranked"),
    TreeState.READY_FOR_EXPORT: N_("finished"),
    TreeState.ABORTED_LOW_GRADE: N_("stopped"),
    TreeState.HALTED_BY_MODERATOR: N_("halted by moderators"),
}


def quote(text: str, limit: int = EXCERPT) -> str:
    """A member's text on one line, cut to `limit` characters, with markdown and mentions made harmless."""
    flat = " ".join(text.split())
    cut = flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(cut))


def member_name(user: UserRow) -> str:
    """A member's stored name, else a mention of a Discord user (it renders as their name and pings no one)."""
    if user.display_name:
        return discord.utils.escape_markdown(user.display_name)
    return f"<@{user.username}>" if user.username.isdigit() else discord.utils.escape_markdown(user.username)


def medal(rank: int) -> str:
    return MEDALS[rank] if 0 <= rank < len(MEDALS) else "🏅"


# ---------------------------------------------------------------------------------------------- /history


def what(tr: Tr, item: HistoryItem) -> str:
    if item.is_prompt:
        return "✍️ " + tr("Prompt")
    return "🤖 " + tr("Assistant reply") if item.role == Role.ASSISTANT else "👤 " + tr("User reply")


def fate(tr: Tr, item: HistoryItem) -> str:
    """Its review result, its rank among its siblings and its tree's state, in words."""
    if item.deleted:
        bits = ["🗑️ " + tr("deleted")]
    elif item.review_result is None:
        bits = ["⏳ " + tr("waiting for review")]
    elif item.review_result:
        bits = ["✅ " + tr("accepted")]
    else:
        bits = ["❌ " + tr("not accepted")]
    if item.rank is not None and not item.deleted:
        ranked = tr("ranked #{rank} of {count}", rank=item.rank + 1, count=item.ranked_siblings)
        bits.append(f"{medal(item.rank)} {ranked}")
    state = tr(TREE_WORDS.get(item.tree_state, item.tree_state.value))
    bits.append("🌳 " + tr("tree: {state}", state=state))
    if item.withdrawn:
        bits.append(tr("withdrawn from the dataset"))
    return " · ".join(bits)


def item_text(tr: Tr, item: HistoryItem) -> str:
    excerpt = quote(item.text) or tr("(no text)")
    return f"**{what(tr, item)}** · {relative(item.created_at)}\n> {excerpt}\n{fate(tr, item)}"


def history_embed(tr: Tr, name: str, page: HistoryPage) -> discord.Embed:
    """One page of a member's history, with the reviews and rankings they gave."""
    lines: list[str] = []
    for item in page.items:
        text = item_text(tr, item)
        if sum(len(line) + 2 for line in lines) + len(text) > DESCRIPTION:
            break
        lines.append(text)
    if not lines:
        lines.append(tr("Nothing here yet: take a {task} and write something!", task=tr.code("task")))
    embed = discord.Embed(
        title="📜 " + tr("History of {name} · {kind}", name=name, kind=tr(KIND_NAMES[page.kind])),
        description="\n\n".join(lines),
        colour=discord.Colour.teal(),
    )
    embed.add_field(name=tr("Reviews given"), value=tr.number(page.reviews_given))
    embed.add_field(name=tr("Rankings given"), value=tr.number(page.rankings_given))
    embed.set_footer(text=tr("Page {page} of {pages}", page=page.page + 1, pages=page.pages))
    return embed


# ---------------------------------------------------------------------------------------------- notifications


def notice_line(tr: Tr, notice: Notice) -> str:
    text = quote(notice.text) or tr("(no text)")
    if notice.kind is NotificationKind.PROMPT_ACCEPTED:
        return "✅ " + tr("Your prompt was accepted: “{text}”", text=text)
    if notice.kind is NotificationKind.PROMPT_REJECTED:
        return "❌ " + tr("Your prompt was not accepted: “{text}”", text=text)
    if notice.kind is NotificationKind.REPLY_RANKED:
        rank, _, count = notice.detail.partition("/")
        place = int(rank) if rank.isdigit() else 0
        ranked = tr(
            "Your reply was ranked #{rank} of {count}: “{text}”",
            rank=place,
            count=int(count) if count.isdigit() else place,
            text=text,
        )
        return f"{medal(place - 1)} {ranked}"
    return "🏁 " + tr("The conversation under your prompt is finished: “{text}”", text=text)


def digest_embed(tr: Tr, digest: Digest) -> discord.Embed:
    """One DM telling a member everything waiting for them; what does not fit is counted ("and N more")."""
    lines: list[str] = []
    more = digest.more
    for n, notice in enumerate(digest.notices):
        line = notice_line(tr, notice)
        if sum(len(x) + 1 for x in lines) + len(line) > DESCRIPTION - 400:  # room for the last lines
            more += len(digest.notices) - n
            break
        lines.append(line)
    if more:
        lines.append(
            tr.plural(
                "…and {count} more: see {command}.",
                "…and {count} more: see {command}.",
                more,
                command=tr.code("history"),
            )
        )
    lines += ["", tr("You get these messages because you turned on {command}.", command=tr.code("notifications"))]
    return discord.Embed(
        title="🌳 " + tr("What became of your work"), description="\n".join(lines), colour=discord.Colour.teal()
    )


def setting_text(tr: Tr, on: bool, changed: bool, minutes: float) -> str:
    """The member's notification setting (after changing it, when `changed`)."""
    if on:
        text = tr(
            "Notifications are **on**: Grove tells you by DM when your prompt is accepted or not, when your reply "
            "is ranked 1st, 2nd or 3rd, and when the conversation under your prompt is finished."
        )
        count = max(1, round(minutes))
        text += " " + tr.plural("At most one DM every {count} minute.", "At most one DM every {count} minutes.", count)
    else:
        text = tr("Notifications are **off**: Grove sends you no DMs about your work.")
    return ("✅ " + tr("Saved.") + " " if changed else "") + text
