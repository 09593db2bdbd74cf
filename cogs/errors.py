"""The one place errors become messages, installed as the command tree's error handler by this extension.

Views, buttons and modals call `report_error` from their callbacks; slash commands reach it through
`CommandTree.on_error`. Domain errors are told plainly in the member's language (`cogs.error_texts`), with the
member's text given back; anything unexpected is logged with an id the member can quote.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.checks import NotPermitted, permission_sentence
from cogs.error_texts import error_text, rate_limited
from cogs.i18n import N_, Tr, from_discord, tr_for, tr_in
from cogs.replies import send, text_back
from engine.errors import DatabaseBusy, DomainError, RateLimited, StorageFull

if TYPE_CHECKING:
    from bot.bot import Grove
    from bot.gate import Refusal

log = logging.getLogger("grove.interactions")

STALE_COMMAND = N_("This command has changed since your Discord app loaded it; please try again in a minute.")
BUSY = N_(
    "The database is busy with another program (a backup, an import or a second Grove?); try again. "
    "Nothing you typed was lost."
)
FULL = N_(
    "Grove's storage is full, so nothing of this was saved; your text is below. "
    "Please tell the server's admins, and try again later."
)
UNKNOWN_INTERACTION = 10062  # Discord's code for an interaction answered after its 3 s or expired

# Domain errors answered with more than a sentence, by the extension that knows how (e.g. `ConsentRequired` with the
# consent card: `cogs.consent`): (interaction, error, the member's Tr, the text to give back) -> answered.
Answer = Callable[["discord.Interaction[Grove]", DomainError, Tr, str], Awaitable[None]]
ANSWERS: dict[type[DomainError], Answer] = {}


async def report_error(
    interaction: discord.Interaction[Grove], error: BaseException, *, typed: str = "", tr: Tr | None = None
) -> None:
    """Tell the member what went wrong, in their language: domain errors plainly, others are logged with an id.
    `typed` is text the member submitted with the interaction; it is given back when the error has none."""
    original = getattr(error, "original", None) or error
    if isinstance(original, app_commands.TransformerError):
        original = original.__cause__ or original
    if isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION:
        # Discord allows 3 s for the first answer; past that nobody can be told. Whatever the engine stored
        # stays stored, and a second press is answered (e.g. "already done").
        log.warning("answered user %s too late; Discord dropped the interaction: %s", interaction.user.id, original)
        return
    tr = tr or await tr_for(interaction)
    if isinstance(original, RateLimited):
        await _safe_send(interaction, f"⏳ {rate_limited(tr, original)}", *text_back(tr, original.text or typed))
        return
    if isinstance(original, DomainError) and (answer := ANSWERS.get(type(original))) is not None:
        try:
            await answer(interaction, original, tr, original.text or typed)
            return
        except Exception as exc:  # the plain sentence below is the last try
            log.warning("could not answer user %s with more than a sentence: %r", interaction.user.id, exc)
    if isinstance(original, DomainError):
        embeds, files = text_back(tr, original.text or typed)
        await _safe_send(interaction, f"⚠️ {error_text(tr, original)}", embeds, files)
        return
    if isinstance(original, app_commands.MissingPermissions | NotPermitted):
        await _safe_send(interaction, f"⛔ {permission_sentence(tr, original)}", [], [])
        return
    if isinstance(original, app_commands.NoPrivateMessage):
        await _safe_send(interaction, tr("This command works in a server only."), [], [])
        return
    if isinstance(original, app_commands.TransformerError):  # an option value Discord let through but Grove can't use
        value = str(original.value)[:100]
        await _safe_send(interaction, "⚠️ " + tr("“{value}” is not a valid value for that option.", value=value), [], [])
        return
    if isinstance(original, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        log.warning("user %s used a command unknown or changed since the last sync: %s", interaction.user.id, original)
        await _safe_send(interaction, f"⚠️ {tr(STALE_COMMAND)}", [], [])
        return
    if isinstance(original, StorageFull):  # the disk is full: the write was rolled back, nothing was stored
        log.warning("storage full for user %s: %s", interaction.user.id, original)
        await _safe_send(interaction, f"💾 {tr(FULL)}", *text_back(tr, typed))
        return
    if isinstance(original, DatabaseBusy):  # another program held the database past the busy timeout
        log.warning("database busy for user %s: %s", interaction.user.id, original)
        await _safe_send(interaction, f"⏳ {tr(BUSY)}", *text_back(tr, typed))
        return
    if isinstance(original, app_commands.CommandOnCooldown):
        seconds = round(original.retry_after)
        await _safe_send(interaction, tr("Slow down: try again in {seconds} s.", seconds=seconds), [], [])
        return
    error_id = secrets.token_hex(4)
    log.error(
        "unexpected error %s in %s by user %s (custom_id=%s): %r",
        error_id,
        getattr(interaction.command, "qualified_name", None) or interaction.type.name,
        interaction.user.id,
        dict(interaction.data or {}).get("custom_id"),
        original,
        exc_info=original,
    )
    message = tr("Something went wrong; nothing you did was lost. (error id `{error_id}`)", error_id=error_id)
    await _safe_send(interaction, message, *text_back(tr, typed))


async def _safe_send(
    interaction: discord.Interaction[Grove], content: str, embeds: list[discord.Embed], files: list[discord.File]
) -> None:
    try:
        await send(interaction, content, embeds=embeds, files=files)
    except discord.HTTPException as exc:  # the interaction expired (15 min) or Discord refused: nothing more to do
        log.warning("could not tell user %s about an error: %s", interaction.user.id, exc)


async def on_app_command_error(interaction: discord.Interaction[Grove], error: app_commands.AppCommandError) -> None:
    await report_error(interaction, error)


NOT_ENABLED = N_("Grove is not enabled in this server.")


async def only_where_enabled(interaction: discord.Interaction[Grove]) -> bool:
    """The command tree's check: outside `[discord] allowed_guild_ids` every command gets one sentence."""
    if interaction.client.allowed_in(interaction.guild_id):
        return True
    if interaction.type is discord.InteractionType.autocomplete:
        await interaction.response.autocomplete([])
        return False
    await _safe_send(interaction, (await tr_for(interaction))(NOT_ENABLED), [], [])
    return False


BUSY_NOW = N_("Grove is very busy right now; try again in a moment.")


async def on_grove_refused(interaction: discord.Interaction[Grove], refusal: Refusal, typed: str) -> None:
    """The gate turned an interaction away (bot/gate.py): say so at once, in the client's language (no database
    read), with any text the member typed."""
    if interaction.type is discord.InteractionType.autocomplete:
        with contextlib.suppress(discord.HTTPException):
            await interaction.response.autocomplete([])
        return
    chosen = interaction.client.ui_locales.get(interaction.user.id)  # known without a database read, or not
    tr = tr_in(chosen or from_discord(interaction.locale))
    if refusal.reason == "busy":
        said = f"⏳ {tr(BUSY_NOW)}"
    else:
        said = tr("Slow down: try again in {seconds} s.", seconds=math.ceil(refusal.retry_after))
    await _safe_send(interaction, said, *text_back(tr, typed))


async def setup(bot: Grove) -> None:
    bot.add_listener(on_grove_refused)
    bot.tree.error(on_app_command_error)
    bot.tree.interaction_check = only_where_enabled  # type: ignore[method-assign]


async def teardown(bot: Grove) -> None:
    bot.remove_listener(on_grove_refused)
    if bot.tree.on_error is on_app_command_error:  # installed on the instance: back to the tree's own
        del bot.tree.on_error
    if bot.tree.interaction_check is only_where_enabled:
        del bot.tree.interaction_check
