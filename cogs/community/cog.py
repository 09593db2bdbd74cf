"""Community commands: /stats (with a chart), /leaderboard (paged) and /privacy (consent, hide, export, remove my
name, delete my texts)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.charts import render_contributions
from cogs.checks import heavy
from cogs.community.privacy_views import privacy_panel
from cogs.community.render import PERIOD_CHOICES, PERIOD_NAMES, name_of, period_of, stats_embed
from cogs.community.views import leaderboard_message
from cogs.context import community_of, member_id
from cogs.i18n import tr_for
from cogs.replies import send
from engine.lang import normalize_lang
from engine.stats import TimeFrame
from engine.types import DEFAULT_COMMUNITY

if TYPE_CHECKING:
    from bot.bot import Grove


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Community(commands.Cog):
    member_data_held: ClassVar[str] = "the member's profile, leaderboard choice and stats"

    def __init__(self, bot: Grove) -> None:
        self.bot = bot

    # ------------------------------------------------------------------ what the member's data is (cogs.privacy)

    async def member_data(self, user_id: int) -> dict[str, Any]:
        user = await self.bot.engine.user(user_id)
        discord_id = await self.bot.discord_id(user_id)
        stats: dict[str, dict[str, Any]] = {}
        for community in await self.bot.stats.communities_of(user_id) or [DEFAULT_COMMUNITY]:
            frames = stats[str(community)] = {}  # per community: each server's community keeps its own board
            for frame in TimeFrame:
                s = await self.bot.stats.member(user_id, frame, community=community)
                frames[frame.value] = {"score": s.score, "rank": s.rank, "level": s.level, "counters": s.counters}
        return {
            "member": {
                "discord_id": str(discord_id) if discord_id else None,
                "display_name": user.display_name,
                "preferred_language": user.preferred_lang,
                "interface_language": user.ui_locale,
                "shown_on_leaderboards": user.show_on_leaderboard,
                "joined": iso(user.created_at),
                "streak_days": user.streak_days,
                "stats": stats,  # community id -> time frame -> score, rank, level, counters
                "consent_given": iso(user.consent_at) if user.consent_at is not None else None,
                "consent_withdrawn": iso(user.consent_withdrawn_at) if user.consent_withdrawn_at is not None else None,
                "name_removed": iso(user.name_removed_at) if user.name_removed_at is not None else None,
                "texts_deleted": iso(user.texts_deleted_at) if user.texts_deleted_at is not None else None,
            }
        }

    async def delete_member_data(self, user_id: int) -> None:
        """The leaderboards forget the member now, not at their next refresh."""
        await self.bot.stats.refresh_all()

    # ------------------------------------------------------------------ commands

    @app_commands.command(name="stats", description="Score, rank, level and contributions of a member.")
    @heavy()
    @app_commands.describe(member="Whose stats (default: yours)", period="Which period (default: all time)")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def stats(
        self,
        interaction: discord.Interaction[Grove],
        member: discord.User | None = None,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        bot = interaction.client
        tr = await tr_for(interaction)
        target = member or interaction.user
        uid = await member_id(interaction, target)
        user = await bot.engine.user(uid)
        if target.id != interaction.user.id and (not user.show_on_leaderboard or user.deleted):
            await send(interaction, tr("{name} keeps their stats private.", name=name_of(target)))
            return
        stats = await bot.stats.member(uid, period_of(period), community=await community_of(interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)
        daily = await bot.stats.daily(uid)
        png = await render_contributions(tr, stats.counters, target.display_name, PERIOD_NAMES[stats.frame], daily)
        embed = stats_embed(tr, name_of(target), stats, user.streak_days)
        await send(interaction, embeds=[embed], files=[discord.File(io.BytesIO(png), filename="stats.png")])

    @app_commands.command(name="leaderboard", description="The top contributors here, with your own place.")
    @app_commands.describe(
        period="Which period (default: all time)", language="Only this language, e.g. de (default: every language)"
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    async def leaderboard(
        self,
        interaction: discord.Interaction[Grove],
        period: app_commands.Choice[str] | None = None,
        language: str | None = None,
    ) -> None:
        lang = normalize_lang(language) if language else None
        tr = await tr_for(interaction)
        embed, view = await leaderboard_message(interaction, tr, period_of(period), 0, lang)
        await send(interaction, embeds=[embed], view=view)

    @app_commands.command(
        name="privacy", description="Your consent and your data: hide, export, remove your name, delete your texts."
    )
    async def privacy(self, interaction: discord.Interaction[Grove]) -> None:
        embed, view = await privacy_panel(interaction, await tr_for(interaction))
        await send(interaction, embeds=[embed], view=view)
