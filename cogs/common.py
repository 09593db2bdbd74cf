"""What every cog shares: answering an interaction whatever its state, turning errors into messages,
who the caller is to the engine, and who counts as a moderator or admin."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from engine.errors import DomainError, UserNotFound
from engine.errors import DatabaseBusy

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.interactions")

PREFIX = "g"  # every custom_id Grove makes starts with "g:"
EMBED_TEXT = 3900  # room for a text in one embed description (limit 4096)
NO_MENTIONS = discord.AllowedMentions.none()
STALE_COMMAND = "This command has changed since your Discord app loaded it; please try again in a minute."


def grove(interaction: discord.Interaction) -> Grove:
    return interaction.client  # type: ignore[return-value]


async def send(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
    files: Sequence[discord.File] = (),
    ephemeral: bool = True,
) -> None:
    """Answer an interaction: the first response if still possible, else a follow-up."""
    kwargs: dict[str, Any] = {"content": content, "embeds": list(embeds), "ephemeral": ephemeral}
    kwargs["allowed_mentions"] = NO_MENTIONS
    if files:
        kwargs["files"] = list(files)
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(**kwargs)
    else:
        await interaction.followup.send(**kwargs)


def text_back(text: str) -> tuple[list[discord.Embed], list[discord.File]]:
    """Give typed text back to its author: in an embed when it fits, else as a file."""
    if not text:
        return [], []
    if len(text) <= EMBED_TEXT:
        embed = discord.Embed(title="Your text (nothing was lost)", description=text, colour=discord.Colour.greyple())
        return [embed], []
    data = io.BytesIO(text.encode("utf-8"))
    return [], [discord.File(data, filename="your-text.txt", description="Your text (nothing was lost)")]


UNKNOWN_INTERACTION = 10062  # Discord's code for an interaction answered after its 3 s or expired


async def report_error(interaction: discord.Interaction, error: BaseException, *, typed: str = "") -> None:
    """The one place errors become messages: domain errors are told plainly, others are logged with an id.
    `typed` is text the member submitted with the interaction; it is given back when the error has none."""
    original = getattr(error, "original", None) or error
    if isinstance(original, app_commands.TransformerError):
        original = original.__cause__ or original
    if isinstance(original, DomainError):
        embeds, files = text_back(original.text or typed)
        await _safe_send(interaction, f"⚠️ {original.message}", embeds, files)
        return
    if isinstance(original, app_commands.MissingPermissions | NotPermitted):
        await _safe_send(interaction, f"⛔ {permission_sentence(original)}", [], [])
        return
    if isinstance(original, app_commands.NoPrivateMessage):
        await _safe_send(interaction, "This command works in a server only.", [], [])
        return
    if isinstance(original, app_commands.TransformerError):  # an option value Discord let through but Grove can't use
        await _safe_send(interaction, f"⚠️ “{str(original.value)[:100]}” is not a valid value for that option.", [], [])
        return
    if isinstance(original, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        log.warning("user %s used a command unknown or changed since the last sync: %s", interaction.user.id, original)
        await _safe_send(interaction, f"⚠️ {STALE_COMMAND}", [], [])
        return
    if isinstance(original, DatabaseBusy):  # another program held the database past the busy timeout
        log.warning("database busy for user %s: %s", interaction.user.id, original)
        await _safe_send(interaction, f"⏳ {original} Nothing you typed was lost.", *text_back(typed))
        return
    if isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION:
        # Discord allows 3 s for the first answer; past that nobody can be told. Whatever the engine stored
        # stays stored, and a second press is answered (e.g. "already done").
        log.warning("answered user %s too late; Discord dropped the interaction: %s", interaction.user.id, original)
        return
    if isinstance(original, app_commands.CommandOnCooldown):
        await _safe_send(interaction, f"Slow down: try again in {original.retry_after:.0f} s.", [], [])
        return
    error_id = secrets.token_hex(4)
    log.error(
        "unexpected error %s in %s by user %s (custom_id=%s): %r",
        error_id,
        getattr(interaction.command, "qualified_name", None) or interaction.type.name,
        interaction.user.id,
        (interaction.data or {}).get("custom_id"),
        original,
        exc_info=original,
    )
    message = f"Something went wrong; nothing you did was lost. (error id `{error_id}`)"
    await _safe_send(interaction, message, *text_back(typed))


async def _safe_send(
    interaction: discord.Interaction, content: str, embeds: list[discord.Embed], files: list[discord.File]
) -> None:
    try:
        await send(interaction, content, embeds=embeds, files=files)
    except discord.HTTPException as exc:  # the interaction expired (15 min) or Discord refused: nothing more to do
        log.warning("could not tell user %s about an error: %s", interaction.user.id, exc)


# ---------------------------------------------------------------------- roles


class NotPermitted(app_commands.CheckFailure):
    def __init__(self, needed: str) -> None:
        super().__init__(needed)
        self.needed = needed


def permission_sentence(error: BaseException) -> str:
    if isinstance(error, NotPermitted):
        return f"Only {error.needed} may do that."
    missing = getattr(error, "missing_permissions", None) or []
    names = ", ".join(p.replace("_", " ").title() for p in missing) or "more permissions"
    return f"You need {names} for that."


async def is_admin(interaction: discord.Interaction) -> bool:
    if interaction.user.id in grove(interaction).config.discord.owner_ids:
        return True
    perms = interaction.permissions
    return interaction.guild is not None and (perms.manage_guild or perms.administrator)


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Manage Messages, or the server's configured moderator role (admins count too)."""
    if await is_admin(interaction):
        return True
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    return await member_is_moderator(grove(interaction), interaction.user, interaction.permissions)


async def member_is_moderator(
    bot: Grove, member: discord.Member, permissions: discord.Permissions | None = None
) -> bool:
    """The same rule for a member outside an interaction (e.g. who reacted): an owner, Manage Server or
    Manage Messages (in `permissions`, else the member's server permissions), or the moderator role."""
    if member.id in bot.config.discord.owner_ids:
        return True
    perms = permissions if permissions is not None else member.guild_permissions
    if perms.administrator or perms.manage_guild or perms.manage_messages:
        return True
    settings = await bot.settings.get(member.guild.id)
    return settings.moderator_role_id is not None and any(r.id == settings.moderator_role_id for r in member.roles)


async def member_id(interaction: discord.Interaction, user: discord.abc.User | None = None) -> int:
    """The engine's id of a Discord user (created on first sight)."""
    if user is not None and not isinstance(user, discord.User | discord.Member):
        raise UserNotFound()  # Discord resolves user options; a bare id (a forged or stale payload) is no one
    return await grove(interaction).member_id(user or interaction.user)
