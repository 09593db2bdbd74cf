"""What the community commands show, as pure functions: the /stats embed, a leaderboard page, the privacy panels."""

from __future__ import annotations

import discord
from discord import app_commands

from engine.stats import POINTS_FORMULA, LeaderboardPage, LeaderRow, MemberStats, TimeFrame

PERIOD_NAMES = {
    TimeFrame.DAY: "today",
    TimeFrame.WEEK: "this week",
    TimeFrame.MONTH: "this month",
    TimeFrame.TOTAL: "all time",
}
PERIOD_CHOICES = [
    app_commands.Choice(name="day", value=TimeFrame.DAY.value),
    app_commands.Choice(name="week", value=TimeFrame.WEEK.value),
    app_commands.Choice(name="month", value=TimeFrame.MONTH.value),
    app_commands.Choice(name="total (all time)", value=TimeFrame.TOTAL.value),
]


def period_of(choice: app_commands.Choice[str] | None) -> TimeFrame:
    return TimeFrame(choice.value) if choice else TimeFrame.TOTAL


def name_of(user: discord.abc.User) -> str:
    return discord.utils.escape_markdown(getattr(user, "display_name", None) or user.name)


def stats_embed(name: str, stats: MemberStats, streak_days: int) -> discord.Embed:
    c = stats.counters
    embed = discord.Embed(title=f"📊 {name} · {PERIOD_NAMES[stats.frame]}", colour=discord.Colour.green())
    embed.add_field(name="Score", value=str(stats.score))
    embed.add_field(name="Rank", value=f"#{stats.rank}" if stats.rank else "not ranked")
    embed.add_field(name="Level", value=str(stats.level))
    embed.add_field(
        name="Written (accepted)",
        value=(
            f"Prompts: {c['prompts']} ({c['accepted_prompts']})\n"
            f"Assistant replies: {c['replies_assistant']} ({c['accepted_replies_assistant']})\n"
            f"User replies: {c['replies_prompter']} ({c['accepted_replies_prompter']})"
        ),
    )
    embed.add_field(
        name="Reviews and rankings",
        value=f"Quick reviews: {c['labels_simple']}\nFull reviews: {c['labels_full']}\nRankings: {c['rankings_total']}",
    )
    embed.add_field(
        name="Replies ranked",
        value=f"1st: {c['reply_ranked_1']}\n2nd: {c['reply_ranked_2']}\n3rd: {c['reply_ranked_3']}",
    )
    embed.add_field(name="Streak", value=f"{streak_days} day{'s' if streak_days != 1 else ''}")
    embed.add_field(name="How points are counted", value=POINTS_FORMULA, inline=False)
    embed.set_image(url="attachment://stats.png")
    embed.set_footer(text="Leaderboards are refreshed every few minutes (all time: every few hours).")
    return embed


def row_name(row: LeaderRow) -> str:
    """A member's stored name, else a mention of a Discord user (it renders as their name and pings no one)."""
    if row.display_name:
        return discord.utils.escape_markdown(row.display_name)
    return f"<@{row.username}>" if row.username.isdigit() else discord.utils.escape_markdown(row.username)


def leader_line(rank: int, name: str, score: int, level: int, mine: bool) -> str:
    text = f"**#{rank}** {name} — {score} points · level {level}"
    return f"➡️ __{text}__" if mine else text


def leaderboard_embed(board: LeaderboardPage, me: int, own: MemberStats, my_name: str) -> discord.Embed:
    """A page of the leaderboard; the caller's own row is marked, and added below when not on the page."""
    lines = [leader_line(r.rank, row_name(r), r.score, r.level, r.user_id == me) for r in board.rows]
    if not lines:
        lines.append("No one is ranked yet: take a `/task` and be the first!")
    if not any(r.user_id == me for r in board.rows):
        lines.append("")
        if own.rank is not None:
            lines.append(leader_line(own.rank, my_name, own.score, own.level, True))
        else:
            lines.append(f"➡️ You: not ranked ({own.score} points · level {own.level})")
    embed = discord.Embed(
        title=f"🏆 Leaderboard · {PERIOD_NAMES[board.frame]}",
        description="\n".join(lines),
        colour=discord.Colour.gold(),
    )
    embed.set_footer(text=f"Page {board.page + 1} of {board.pages}")
    return embed


def privacy_embed(shown: bool, note: str = "") -> discord.Embed:
    embed = discord.Embed(title="🔒 Your data in Grove", colour=discord.Colour.blurple())
    embed.description = (note + "\n\n" if note else "") + (
        f"You are **{'shown on' if shown else 'hidden from'}** the leaderboards.\n"
        "**Export** sends you what Grove holds about you (your messages, profile, stats and the posts about your "
        "messages), as a JSON file.\n"
        "**Delete** removes all your contributions (messages, reviews, rankings, reactions) from Grove and "
        "from future exports of the dataset. It cannot be undone."
    )
    return embed


CONFIRM_DELETE = discord.Embed(
    title="Delete all your data?",
    description=(
        "Your messages (and the replies under them), reviews, rankings and reactions will be removed, their "
        "texts erased, and the posts Grove made about them cleared; nothing of yours will be in future exports. "
        "This cannot be undone."
    ),
    colour=discord.Colour.red(),
)


def deleted_embed(removed: int, failed: list[str]) -> discord.Embed:
    description = f"{removed} messages and all your reviews, rankings and reactions were removed."
    if failed:
        description += f"\n⚠️ Some Discord posts could not be cleared yet ({', '.join(failed)}); moderators can see why."
    return discord.Embed(title="🗑️ Your data was deleted", description=description, colour=discord.Colour.dark_grey())
