"""The app commands in every interface language: an extension that sets `GroveTranslator` on the command tree, so
`grove sync` and the dev-guild sync send name and description localisations for every interface locale.

(An extension module of its own: discord.py re-executes an extension's module when it loads it, so the catalogs and
their caches live in `cogs.i18n`, which is imported once.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.i18n import (
    COMMAND_NAME,
    CONTEXTS,
    DISCORD_LOCALES,
    OPTION_NAME,
    SOURCE,
    TRANSLATED,
    VERBATIM,
    command_name,
    tr_in,
    translations,
)

if TYPE_CHECKING:
    from bot.bot import Grove


class GroveTranslator(app_commands.Translator):
    """Command, group and option names, their descriptions and choices from the catalogs (msgctxt: `CONTEXTS`).

    Every Discord locale that maps to a catalog gets a localisation (the English text where a message is not
    translated yet), so the sync payload carries every interface locale; names keep Discord's rules (lower-case,
    no spaces, ≤ 32) or stay English; a string marked `VERBATIM` is left alone."""

    async def load(self) -> None:
        for locale in TRANSLATED:  # read the catalogs now, not on a member's first click
            translations(locale)

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        target = DISCORD_LOCALES.get(locale.value)
        if target is None or target == SOURCE or string.extras.get(VERBATIM):
            return None
        msgctxt = CONTEXTS.get(context.location)
        if msgctxt in (COMMAND_NAME, OPTION_NAME):
            return command_name(target, string.message, msgctxt)
        tr = tr_in(target)
        return tr.ctx(msgctxt, string.message) if msgctxt else tr(string.message)


async def setup(bot: Grove) -> None:
    await bot.tree.set_translator(GroveTranslator())


async def teardown(bot: Grove) -> None:
    await bot.tree.set_translator(None)
