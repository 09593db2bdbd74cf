"""Who may do what: admins, moderators, and the refusal a check raises (told by `cogs.errors`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from cogs.i18n import N_, Tr

if TYPE_CHECKING:
    from bot.bot import Grove

T = TypeVar("T")
MODERATORS, ADMINS, OWNERS = "moderators", "admins", "owners"
ONLY = {
    MODERATORS: N_("Only moderators may do that."),
    ADMINS: N_("Only server admins (Manage Server) may do that."),
    OWNERS: N_("Only the bot's owners may do that."),
}


class NotPermitted(app_commands.CheckFailure):
    def __init__(self, needed: str) -> None:
        super().__init__(needed)
        self.needed = needed  # MODERATORS or ADMINS


def permission_sentence(tr: Tr, error: BaseException) -> str:
    if isinstance(error, NotPermitted):
        return tr(ONLY.get(error.needed, ONLY[ADMINS]))
    missing = getattr(error, "missing_permissions", None) or []
    if not missing:
        return tr("You need more permissions for that.")
    # Discord's own names of the permissions, as its English settings show them
    return tr("You need {permissions} for that.", permissions=", ".join(p.replace("_", " ").title() for p in missing))


async def is_admin(interaction: discord.Interaction[Grove]) -> bool:
    """A bot owner, or Manage Server (or Administrator) in a server."""
    if interaction.user.id in interaction.client.config.discord.owner_ids:
        return True
    perms = interaction.permissions
    return interaction.guild is not None and (perms.manage_guild or perms.administrator)


async def is_moderator(interaction: discord.Interaction[Grove]) -> bool:
    """Manage Messages, or the server's configured moderator role (admins count too)."""
    if await is_admin(interaction):
        return True
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    return await member_is_moderator(interaction.client, interaction.user, interaction.permissions)


async def member_is_moderator(
    bot: Grove, member: discord.Member, permissions: discord.Permissions | None = None
) -> bool:
    """The same rule for a member outside an interaction (e.g. who reacted): an owner, Administrator or Manage
    Server, Manage Messages *on the server* (from their roles: Manage Messages granted in one channel's overwrites
    moderates that channel's chat, not Grove), or the moderator role. `permissions` (a channel's) only adds what no
    channel can grant: Administrator and Manage Server."""
    if member.id in bot.config.discord.owner_ids:
        return True
    server = member.guild_permissions
    if server.administrator or server.manage_guild or server.manage_messages:
        return True
    if permissions is not None and (permissions.administrator or permissions.manage_guild):
        return True
    settings = await bot.settings.get(member.guild.id)
    return settings.moderator_role_id is not None and any(r.id == settings.moderator_role_id for r in member.roles)


def heavy() -> Callable[[T], T]:
    """A command that costs much (a chart, an export file): `[discord] heavy_commands_per_minute` uses per member,
    on the bot's clock; past that the member is told when to retry (CommandOnCooldown)."""

    async def predicate(interaction: discord.Interaction[Grove]) -> bool:
        name = interaction.command.qualified_name if interaction.command else "?"
        wait = interaction.client.heavy.hit((interaction.user.id, name))
        if wait is not None:
            window = interaction.client.heavy
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(window.limit, window.seconds), wait)
        return True

    return app_commands.check(predicate)


async def require_moderator(interaction: discord.Interaction[Grove]) -> bool:
    """An `interaction_check`: moderators pass, everyone else is refused (told by the error handler)."""
    if not await is_moderator(interaction):
        raise NotPermitted(MODERATORS)
    return True
