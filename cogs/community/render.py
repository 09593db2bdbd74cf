"""What the community commands show, as pure functions of the member's language: the /stats embed, a leaderboard
page, the privacy panels."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.i18n import N_, Tr
from engine.stats import LeaderboardPage, LeaderRow, MemberStats, TimeFrame

PERIOD_NAMES = {
    TimeFrame.DAY: N_("today"),
    TimeFrame.WEEK: N_("this week"),
    TimeFrame.MONTH: N_("this month"),
    TimeFrame.TOTAL: N_("all time"),
}
PERIOD_CHOICES = [  # their names are localised by the command translator (msgctxt "choice")
    app_commands.Choice(name="day", value=TimeFrame.DAY.value),
    app_commands.Choice(name="week", value=TimeFrame.WEEK.value),
    app_commands.Choice(name="month", value=TimeFrame.MONTH.value),
    app_commands.Choice(name="total (all time)", value=TimeFrame.TOTAL.value),
]


def period_of(choice: app_commands.Choice[str] | None) -> TimeFrame:
    return TimeFrame(choice.value) if choice else TimeFrame.TOTAL


def name_of(user: discord.abc.User) -> str:
    return discord.utils.escape_markdown(getattr(user, "display_name", None) or user.name)


def points_formula(tr: Tr) -> str:
    """How points are counted (`engine.stats.POINTS_FORMULA`, kept equal by a test)."""
    return tr(
        "⌊prompts ÷ 10⌋ + 4 × assistant replies + user replies + quick reviews + 2 × full reviews + rankings "
        "+ ⌊accepted prompts ÷ 10⌋ + 4 × accepted assistant replies + accepted user replies "
        "+ 9 / 3 / 1 for each time a reply of yours was ranked 1st / 2nd / 3rd"
    )


def stats_embed(tr: Tr, name: str, stats: MemberStats, streak_days: int) -> discord.Embed:
    c = {k: tr.number(v) for k, v in stats.counters.items()}
    title = "📊 " + tr("{name} · {period}", name=name, period=tr(PERIOD_NAMES[stats.frame]))
    embed = discord.Embed(title=title, colour=discord.Colour.green())
    embed.add_field(name=tr("Score"), value=tr.number(stats.score))
    embed.add_field(name=tr("Rank"), value=f"#{tr.number(stats.rank)}" if stats.rank else tr("not ranked"))
    embed.add_field(name=tr("Level"), value=tr.number(stats.level))
    embed.add_field(
        name=tr("Written (accepted)"),
        value=tr(
            "Prompts: {prompts} ({accepted_prompts})\n"
            "Assistant replies: {replies_assistant} ({accepted_replies_assistant})\n"
            "User replies: {replies_prompter} ({accepted_replies_prompter})",
            **c,
        ),
    )
    embed.add_field(
        name=tr("Reviews and rankings"),
        value=tr("Quick reviews: {labels_simple}\nFull reviews: {labels_full}\nRankings: {rankings_total}", **c),
    )
    embed.add_field(
        name=tr("Replies ranked"),
        value=tr("1st: {reply_ranked_1}\n2nd: {reply_ranked_2}\n3rd: {reply_ranked_3}", **c),
    )
    embed.add_field(name=tr("Streak"), value=tr.plural("{count} day", "{count} days", streak_days))
    embed.add_field(name=tr("How points are counted"), value=points_formula(tr)[:1024], inline=False)
    embed.set_image(url="attachment://stats.png")
    embed.set_footer(text=tr("Leaderboards are refreshed every few minutes (all time: every few hours)."))
    return embed


def row_name(row: LeaderRow) -> str:
    """A member's stored name, else a mention of a Discord user (it renders as their name and pings no one)."""
    if row.display_name:
        return discord.utils.escape_markdown(row.display_name)
    return f"<@{row.username}>" if row.username.isdigit() else discord.utils.escape_markdown(row.username)


def leader_line(tr: Tr, rank: int, name: str, score: int, level: int, mine: bool) -> str:
    text = tr.plural(
        "**#{rank}** {name} — {count} point · level {level}",
        "**#{rank}** {name} — {count} points · level {level}",
        score,
        rank=rank,
        name=name,
        level=level,
    )
    return f"➡️ __{text}__" if mine else text


def leaderboard_embed(tr: Tr, board: LeaderboardPage, me: int, own: MemberStats, my_name: str) -> discord.Embed:
    """A page of the leaderboard; the caller's own row is marked, and added below when not on the page."""
    lines = [leader_line(tr, r.rank, row_name(r), r.score, r.level, r.user_id == me) for r in board.rows]
    if not lines:
        lines.append(tr("No one is ranked yet: take a {task} and be the first!", task=tr.code("task")))
    if not any(r.user_id == me for r in board.rows):
        lines.append("")
        if own.rank is not None:
            lines.append(leader_line(tr, own.rank, my_name, own.score, own.level, True))
        else:
            mine = tr.plural(
                "You: not ranked ({count} point · level {level})",
                "You: not ranked ({count} points · level {level})",
                own.score,
                level=own.level,
            )
            lines.append(f"➡️ {mine}")
    embed = discord.Embed(
        title="🏆 " + tr("Leaderboard · {period}", period=tr(PERIOD_NAMES[board.frame])),
        description="\n".join(lines),
        colour=discord.Colour.gold(),
    )
    embed.set_footer(text=tr("Page {page} of {pages}", page=board.page + 1, pages=board.pages))
    return embed
