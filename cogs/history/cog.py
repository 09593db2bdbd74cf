"""/history (what became of a member's prompts and replies) and /notifications (being told by DM), with the delivery
of the notifications: the bot's scheduled job "notifications" calls `deliver_notifications`.

Delivery: one DM per member summing up everything waiting (what does not fit is counted), at most one DM per member
per `[scheduler] notification_interval_minutes`, at most `DMS_PER_RUN` DMs per run, sent one after the other
(discord.py keeps to Discord's rate limits). A member Discord will not let Grove DM (DMs closed: 403 with code
50007, or gone) is skipped, their waiting notifications are dropped so they are not tried again and again, and
this is logged once per member (INFO).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.context import engine_of, member_id
from cogs.history.render import KIND_CHOICES, digest_embed, setting_text
from cogs.history.views import history_message
from cogs.i18n import SOURCE, supported, tr_for, tr_in
from cogs.replies import NO_MENTIONS, send
from engine.history import HistoryKind
from engine.notifications import Digest

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.notifications")

DMS_PER_RUN = 10  # DMs one run of the job sends at most (it runs every minute or so)
NOTICES_PER_DM = 15  # notifications listed in one DM; the rest are counted
# Discord's answers that say the member cannot be sent a DM, now or later: DMs closed (50007), no such user (10013),
# not a valid recipient (50033), no server in common (50278)
UNREACHABLE = frozenset({50007, 10013, 50033, 50278})
SETTING_CHOICES = [app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]


def name_of(user: discord.abc.User) -> str:
    return discord.utils.escape_markdown(getattr(user, "display_name", None) or user.name)


class History(commands.Cog):
    member_data_held: ClassVar[str] = "the member's notification setting and the notifications recorded for them"

    def __init__(self, bot: Grove) -> None:
        self.bot = bot
        self._unreachable: set[int] = set()  # members already logged as not reachable by DM (logged once)

    # ------------------------------------------------------------------ what the member's data is (cogs.privacy)

    async def member_data(self, user_id: int) -> dict[str, Any]:
        engine = self.bot.engine
        return {
            "notifications": {
                "enabled": await engine.notifications_enabled(user_id),
                "recorded": await engine.notifications_of(user_id),
            }
        }

    async def delete_member_data(self, user_id: int) -> None:
        await self.bot.engine.set_notifications(user_id, False)
        await self.bot.engine.forget_notifications(user_id)

    # ------------------------------------------------------------------ commands

    @app_commands.command(name="history", description="What became of a member's prompts and replies.")
    @app_commands.describe(member="Whose history (default: yours)", kind="Prompts, replies or both (default: both)")
    @app_commands.choices(kind=KIND_CHOICES)
    async def history(
        self,
        interaction: discord.Interaction[Grove],
        member: discord.User | None = None,
        kind: app_commands.Choice[str] | None = None,
    ) -> None:
        tr = await tr_for(interaction)
        target = member or interaction.user
        uid = await member_id(interaction, target)
        chosen = HistoryKind(kind.value) if kind else HistoryKind.ALL
        embed, view, refusal = await history_message(interaction, tr, uid, chosen, 0, name_of(target))
        if embed is None:
            await send(interaction, refusal)
        else:
            await send(interaction, embeds=[embed], view=view)

    @app_commands.command(
        name="notifications",
        description="Get a DM when your prompt is reviewed, your reply ranked or your conversation finished.",
    )
    @app_commands.describe(setting="on or off (default: show your setting)")
    @app_commands.choices(setting=SETTING_CHOICES)
    async def notifications(
        self, interaction: discord.Interaction[Grove], setting: app_commands.Choice[str] | None = None
    ) -> None:
        tr = await tr_for(interaction)
        engine = await engine_of(interaction)
        me = await member_id(interaction)
        if setting is not None:
            await engine.set_notifications(me, setting.value == "on")
        on = await engine.notifications_enabled(me)
        minutes = self.bot.config.scheduler.notification_interval_minutes
        await send(interaction, setting_text(tr, on, setting is not None, minutes))

    # ------------------------------------------------------------------ delivery (the scheduled job)

    async def deliver_notifications(self) -> int:
        """One run of the job: tell the members who are due; returns how many DMs were sent."""
        engine = self.bot.engine  # every community: one DM per member, whichever community the news is from
        interval = self.bot.config.scheduler.notification_interval_minutes * 60
        sent = 0
        for digest in await engine.notifications_due(interval, members=DMS_PER_RUN, per_member=NOTICES_PER_DM):
            sent += await self._tell(digest)
        return sent

    async def _tell(self, digest: Digest) -> bool:
        """DM one member their digest and mark it handled (left waiting after a passing failure)."""
        handled, sent = digest.upto, False
        if digest.notices and digest.auth_method == "discord" and digest.username.isdigit():
            try:
                await self._dm(int(digest.username), digest)
                sent = True
                self._unreachable.discard(digest.user_id)
            except discord.HTTPException as exc:
                if isinstance(exc, discord.Forbidden | discord.NotFound) or exc.code in UNREACHABLE:
                    self._skip(digest, exc)
                else:  # Discord failed for now: the notifications wait for the next interval
                    log.warning("notification DM to member %s failed (%s); tried again later", digest.user_id, exc)
                    handled = None
        await self.bot.engine.notifications_told(digest.user_id, handled)
        return sent

    def _skip(self, digest: Digest, exc: discord.HTTPException) -> None:
        """Discord will not let Grove DM the member: their notifications are dropped; logged once per member."""
        if digest.user_id not in self._unreachable:
            self._unreachable.add(digest.user_id)
            log.info(
                "member %s cannot be sent DMs (Discord error %s: %s); their notifications are skipped",
                digest.user_id,
                exc.code,
                exc.text,
            )

    async def _dm(self, discord_id: int, digest: Digest) -> None:
        channel = await self.bot.create_dm(discord.Object(discord_id))  # the known DM channel, else opens one
        tr = tr_in(supported(digest.ui_locale) or SOURCE)
        await channel.send(embed=digest_embed(tr, digest), allowed_mentions=NO_MENTIONS)
