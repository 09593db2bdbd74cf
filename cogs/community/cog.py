"""Community commands: /stats, /leaderboard and /privacy.

custom_id grammar (DynamicItems: they keep working after a restart):
    g:lb:<period>:<page>   show that page of the leaderboard (the caller's own row is always added)
    g:pv:<action>          a privacy action (hide, show, export, delete, purge, cancel) for the clicking member
The member is always the one who clicked, so no one can act for someone else.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands, ui
from discord.ext import commands

from cogs.common import grove, member_id, report_error, send
from cogs.community.charts import render_contributions
from engine.stats import POINTS_FORMULA, MemberStats, TimeFrame

PER_PAGE = 10
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
PERIODS = "|".join(f.value for f in TimeFrame)
LB_ID = re.compile(rf"g:lb:(?P<period>{PERIODS}):(?P<page>-?\d{{1,6}})")
PV_ACTIONS = ("hide", "show", "export", "delete", "purge", "cancel")
PV_ID = re.compile(rf"g:pv:(?P<action>{'|'.join(PV_ACTIONS)})")


def period_of(choice: app_commands.Choice[str] | None) -> TimeFrame:
    return TimeFrame(choice.value) if choice else TimeFrame.TOTAL


def name_of(user: discord.abc.User) -> str:
    return discord.utils.escape_markdown(getattr(user, "display_name", None) or user.name)


# ---------------------------------------------------------------------- /stats


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


# ---------------------------------------------------------------------- /leaderboard


async def leaderboard_message(
    interaction: discord.Interaction, frame: TimeFrame, page: int
) -> tuple[discord.Embed, ui.View]:
    bot = grove(interaction)
    me = await member_id(interaction)
    _, pages = await bot.stats.leaderboard(frame, page=0, per_page=PER_PAGE)
    page = min(max(0, page), pages - 1)
    rows, pages = await bot.stats.leaderboard(frame, page=page, per_page=PER_PAGE)
    own = await bot.stats.member(me, frame)

    def line(rank: int, name: str, score: int, level: int, mine: bool) -> str:
        text = f"**#{rank}** {name} — {score} points · level {level}"
        return f"➡️ __{text}__" if mine else text

    lines = [line(r["rank"], row_name(r), r["leader_score"], r["level"], r["user_id"] == me) for r in rows]
    if not lines:
        lines.append("No one is ranked yet: take a `/task` and be the first!")
    if not any(r["user_id"] == me for r in rows):
        lines.append("")
        if own.rank is not None:
            lines.append(line(own.rank, name_of(interaction.user), own.score, own.level, True))
        else:
            lines.append(f"➡️ You: not ranked ({own.score} points · level {own.level})")
    embed = discord.Embed(
        title=f"🏆 Leaderboard · {PERIOD_NAMES[frame]}", description="\n".join(lines), colour=discord.Colour.gold()
    )
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    view = ui.View(timeout=None)
    view.add_item(LeaderboardButton(frame, page - 1, emoji="◀", disabled=page <= 0))
    view.add_item(LeaderboardButton(frame, page + 1, emoji="▶", disabled=page >= pages - 1))
    return embed, view


def row_name(row: dict[str, Any]) -> str:
    """A member's stored name, else a mention of a Discord user (it renders as their name and pings no one)."""
    if row["display_name"]:
        return discord.utils.escape_markdown(row["display_name"])
    username = str(row["username"])
    return f"<@{username}>" if username.isdigit() else discord.utils.escape_markdown(username)


class LeaderboardButton(ui.DynamicItem[ui.Button], template=LB_ID.pattern):
    def __init__(self, frame: TimeFrame, page: int, *, emoji: str | None = None, disabled: bool = False) -> None:
        super().__init__(ui.Button(emoji=emoji, disabled=disabled, custom_id=f"g:lb:{frame.value}:{page}"))
        self.frame, self.page = frame, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Button, match: re.Match[str], /
    ) -> LeaderboardButton:
        return cls(TimeFrame(match["period"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            embed, view = await leaderboard_message(interaction, self.frame, self.page)
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as exc:
            await report_error(interaction, exc)


# ---------------------------------------------------------------------- /privacy


async def privacy_panel(interaction: discord.Interaction, note: str = "") -> tuple[discord.Embed, ui.View]:
    user = await grove(interaction).engine.user(await member_id(interaction))
    shown = user.show_on_leaderboard
    embed = discord.Embed(title="🔒 Your data in Grove", colour=discord.Colour.blurple())
    embed.description = (note + "\n\n" if note else "") + (
        f"You are **{'shown on' if shown else 'hidden from'}** the leaderboards.\n"
        "**Export** sends you every message you wrote, as a JSON file.\n"
        "**Delete** removes all your contributions (messages, reviews, rankings, reactions) from Grove and "
        "from future exports of the dataset. It cannot be undone."
    )
    view = ui.View(timeout=None)
    if shown:
        view.add_item(PrivacyButton("hide", "Hide me from leaderboards", discord.ButtonStyle.secondary))
    else:
        view.add_item(PrivacyButton("show", "Show me", discord.ButtonStyle.secondary))
    view.add_item(PrivacyButton("export", "Export my contributions", discord.ButtonStyle.primary))
    view.add_item(PrivacyButton("delete", "Delete my data", discord.ButtonStyle.danger))
    return embed, view


def confirm_panel() -> tuple[discord.Embed, ui.View]:
    embed = discord.Embed(
        title="Delete all your data?",
        description=(
            "Your messages (and the replies under them), reviews, rankings and reactions will be removed, and "
            "nothing of yours will be in future exports. This cannot be undone."
        ),
        colour=discord.Colour.red(),
    )
    view = ui.View(timeout=None)
    view.add_item(PrivacyButton("purge", "Yes, delete everything", discord.ButtonStyle.danger))
    view.add_item(PrivacyButton("cancel", "Cancel", discord.ButtonStyle.secondary))
    return embed, view


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def export_file(interaction: discord.Interaction) -> discord.File:
    bot = grove(interaction)
    me = await member_id(interaction)
    user = await bot.engine.user(me)
    messages = await bot.engine.messages_of_user(me)
    data: dict[str, Any] = {
        "member": {
            "discord_id": str(interaction.user.id),
            "display_name": user.display_name,
            "preferred_language": user.preferred_lang,
            "shown_on_leaderboards": user.show_on_leaderboard,
            "joined": iso(user.created_at),
        },
        "messages": [
            {
                "message_id": m.id,
                "tree_id": m.tree_id,
                "parent_id": m.parent_id,
                "role": m.role,
                "lang": m.lang,
                "created": iso(m.created_at),
                "text": m.text,
            }
            for m in messages
        ],
    }
    raw = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return discord.File(io.BytesIO(raw), filename="grove-my-contributions.json")


class PrivacyButton(ui.DynamicItem[ui.Button], template=PV_ID.pattern):
    def __init__(
        self, action: str, label: str | None = None, style: discord.ButtonStyle = discord.ButtonStyle.secondary
    ) -> None:
        super().__init__(ui.Button(label=label, style=style, custom_id=f"g:pv:{action}"))
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Button, match: re.Match[str], /
    ) -> PrivacyButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.act(interaction)
        except Exception as exc:
            await report_error(interaction, exc)

    async def act(self, interaction: discord.Interaction) -> None:
        bot = grove(interaction)
        me = await member_id(interaction)  # always the clicking member
        if self.action in ("hide", "show"):
            await bot.engine.set_show_on_leaderboard(me, self.action == "show")
            note = "✅ Saved; the leaderboards reflect it at their next refresh (within minutes)."
            embed, view = await privacy_panel(interaction, note)
            await interaction.response.edit_message(embed=embed, view=view)
        elif self.action == "export":
            await send(interaction, "Your contributions (messages you wrote):", files=[await export_file(interaction)])
        elif self.action == "delete":
            embed, view = confirm_panel()
            await interaction.response.edit_message(embed=embed, view=view)
        elif self.action == "cancel":
            embed, view = await privacy_panel(interaction, "Nothing was deleted.")
            await interaction.response.edit_message(embed=embed, view=view)
        elif self.action == "purge":
            await interaction.response.defer()
            removed = await bot.engine.purge_user(me, me, reason="deleted by the member (/privacy)")
            embed = discord.Embed(
                title="🗑️ Your data was deleted",
                description=f"{removed} messages and all your reviews, rankings and reactions were removed.",
                colour=discord.Colour.dark_grey(),
            )
            await interaction.edit_original_response(embed=embed, view=None)


# ---------------------------------------------------------------------- the cog


class Community(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="stats", description="Score, rank, level and contributions of a member.")
    @app_commands.describe(member="Whose stats (default: yours)", period="Which period (default: all time)")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def stats(
        self,
        interaction: discord.Interaction,
        member: discord.User | None = None,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = grove(interaction)
        target = member or interaction.user
        uid = await member_id(interaction, target)
        user = await bot.engine.user(uid)
        if target.id != interaction.user.id and (not user.show_on_leaderboard or user.deleted):
            await send(interaction, f"{name_of(target)} keeps their stats private.")
            return
        stats = await bot.stats.member(uid, period_of(period))
        await interaction.response.defer(ephemeral=True, thinking=True)
        daily = await bot.stats.daily(uid)
        title = f"{target.display_name} · {PERIOD_NAMES[stats.frame]}"
        png = await render_contributions(stats.counters, title, daily)
        embed = stats_embed(name_of(target), stats, user.streak_days)
        await send(interaction, embeds=[embed], files=[discord.File(io.BytesIO(png), filename="stats.png")])

    @app_commands.command(name="leaderboard", description="The top contributors, with your own place.")
    @app_commands.describe(period="Which period (default: all time)")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def leaderboard(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        embed, view = await leaderboard_message(interaction, period_of(period), 0)
        await send(interaction, embeds=[embed], view=view)

    @app_commands.command(name="privacy", description="Hide yourself from leaderboards, export or delete your data.")
    async def privacy(self, interaction: discord.Interaction) -> None:
        embed, view = await privacy_panel(interaction)
        await send(interaction, embeds=[embed], view=view)
