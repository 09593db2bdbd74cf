"""Grove in the member's language: gettext catalogs read with Babel, the `Tr` every text goes through, and which
interface locale a member sees.

Every text a cog shows is a catalog message (its English source is the msgid) looked up through a `Tr`:

    tr("Page {page} of {pages}", page=2, pages=5)            named placeholders only, `str.format` style
    tr.plural("{count} tree", "{count} trees", n)            ngettext; `{count}` is `n` in the locale's digits
    tr.ctx("button", "Review")                               pgettext, where one English word means two things
    later("deleted message `{message}`", message=m)          a `Msg`: told later, in the language where it is shown
    TITLE = N_("Write a prompt") … tr(TITLE)                 N_ marks a module-level text; `tr` translates it
    LABEL = NC_("button", "Delete") … tr.ctx("button", LABEL)  the same, with a msgctxt

`python -m cogs.catalogs extract` collects these calls (and every command, option and choice name) into
`cogs/locale/grove.pot`; each interface language has `cogs/locale/<ll_CC>/LC_MESSAGES/grove.po`. The .po files
are read at start-up (no compile step); a message without a translation shows its English source.

Which locale: the member's choice (`/language ui`, stored as `users.ui_locale`), else their Discord client's
locale when Grove has a catalog for it, else English. Public posts (feed, mod queue) use the server's locale.

`cogs.translator` (an extension) localises the app commands from the same catalogs.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

if TYPE_CHECKING:
    from bot.bot import Grove

log = logging.getLogger("grove.i18n")

DOMAIN = "grove"
LOCALE_DIR = Path(__file__).resolve().with_name("locale")
POT = LOCALE_DIR / f"{DOMAIN}.pot"
SOURCE = "en-US"  # the msgids are the English interface
LOCALES: tuple[str, ...] = (SOURCE, "de", "es-ES", "fr", "pt-BR", "ru", "zh-CN", "ja")
TRANSLATED = LOCALES[1:]  # the locales with a .po file
# Discord's client locales (discord.Locale values) -> the interface locale shown; any other is shown English
DISCORD_LOCALES: Mapping[str, str] = {
    "en-US": SOURCE,
    "en-GB": SOURCE,
    "de": "de",
    "es-ES": "es-ES",
    "es-419": "es-ES",  # Latin American Spanish reads the Spanish catalog rather than English
    "fr": "fr",
    "pt-BR": "pt-BR",
    "ru": "ru",
    "zh-CN": "zh-CN",
    "ja": "ja",
}
# short or differently spelt codes a member may type for /language ui
ALIASES: Mapping[str, str] = {"en": SOURCE, "en-gb": SOURCE, "es": "es-ES", "pt": "pt-BR", "zh": "zh-CN"}

# msgctxt of the strings of app commands (see GroveTranslator); a name must keep Discord's name rules
COMMAND_NAME, OPTION_NAME, DESCRIPTION, CHOICE = "command name", "option name", "description", "choice"
CONTEXTS: Mapping[Where, str] = {
    Where.command_name: COMMAND_NAME,
    Where.group_name: COMMAND_NAME,
    Where.parameter_name: OPTION_NAME,
    Where.command_description: DESCRIPTION,
    Where.group_description: DESCRIPTION,
    Where.parameter_description: DESCRIPTION,
    Where.choice_name: CHOICE,
}
NAME_RULE = re.compile(r"[-_\w]{1,32}")  # Discord: ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$, lower-case
VERBATIM = "verbatim"  # a locale_str extra: shown as written in every locale (e.g. a language's own name)


def N_(message: str) -> str:
    """Mark a text for the catalog where it is defined (a module constant); translate it where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """`N_` with a msgctxt: translate it where it is shown with `tr.ctx(context, message)`."""
    return message


def folder(locale: str) -> str:
    """The catalog folder (gettext's ll_CC) of an interface locale: pt-BR -> pt_BR."""
    return locale.replace("-", "_")


def po_path(locale: str) -> Path:
    return LOCALE_DIR / folder(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def supported(code: str | None) -> str | None:
    """The interface locale `code` names (de, DE, pt_br, pt-BR, pt, zh, en…), or None when Grove has no catalog."""
    if not code:
        return None
    key = code.strip().replace("_", "-").lower()
    by_key = {locale.lower(): locale for locale in LOCALES}
    return by_key.get(key) or ALIASES.get(key)


def from_discord(locale: discord.Locale | str | None) -> str:
    """The interface locale for a Discord client (or server) locale: its catalog, else English."""
    return DISCORD_LOCALES.get(str(locale or ""), SOURCE)


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The locale's catalog, read from its .po file once per process. Untranslated, partly translated (a plural
    with an empty form) and fuzzy messages are left out, so they show their English source."""
    if locale == SOURCE:
        return gettext.NullTranslations()
    with po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=folder(locale), domain=DOMAIN)
    for message in list(catalog)[1:]:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            catalog.delete(message.id, message.context)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(folder(locale))


@dataclass(frozen=True)
class Tr:
    """Texts, numbers and language names in one interface locale. `commands` is the locale the member's Discord
    client shows the app commands in (it may differ from `locale` after `/language ui`)."""

    locale: str = SOURCE
    commands: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "locale", supported(self.locale) or SOURCE)
        object.__setattr__(self, "commands", supported(self.commands) or self.locale)

    @property
    def catalog(self) -> gettext.NullTranslations:
        return translations(self.locale)

    def __call__(self, message: str, /, **named: object) -> str:
        return self._format(self.catalog.gettext(message), message, named)

    def plural(self, singular: str, plural: str, count: int, /, **named: object) -> str:
        source = singular if count == 1 else plural
        return self._format(self.catalog.ngettext(singular, plural, count), source, {"count": count, **named})

    def ctx(self, context: str, message: str, /, **named: object) -> str:
        return self._format(self.catalog.pgettext(context, message), message, named)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=babel_locale(self.locale))

    def decimal(self, value: float, digits: int = 1) -> str:
        """`value` with exactly `digits` decimals, in the locale's digits ("2.5" in en, "2,5" in de)."""
        return format_decimal(value, format="#,##0." + "0" * digits, locale=babel_locale(self.locale))

    def join(self, items: list[str]) -> str:
        """Items as a list in this locale ("A, B, and C" in en, "A, B und C" in de, "A、B、C" in ja)."""
        return format_list(items, locale=babel_locale(self.locale)) if items else ""

    def language(self, code: str) -> str:
        """A language's name in this locale ("German" in en, "Deutsch" in de); the code itself if Babel has none."""
        try:
            name = Locale.parse(code.replace("-", "_")).get_display_name(babel_locale(self.locale))
        except (ValueError, UnknownLocaleError):
            return code
        return (name[:1].upper() + name[1:]) if name else code

    def command(self, path: str) -> str:
        """An app command as the member's client shows it, e.g. "mod halt" -> "/mod halt" in English."""
        words = [command_name(self.commands, word) for word in path.split()]
        return "/" + " ".join(words)

    def code(self, path: str) -> str:
        """An app command as inline code, as texts mention it ("`/tasks`")."""
        return f"`{self.command(path)}`"

    def option(self, name: str) -> str:
        """An app command option's name as the member's client shows it."""
        return command_name(self.commands, name, OPTION_NAME)

    def _format(self, text: str, source: str, named: Mapping[str, object]) -> str:
        if not named:
            return text
        values = {
            k: self.number(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for k, v in named.items()
        }
        try:
            return text.format_map(values)
        except (KeyError, IndexError, ValueError):  # a translation with a wrong placeholder: the source is right
            log.warning(
                "translation of %r in %s has placeholders that do not fit; shown in English", source, self.locale
            )
            return source.format_map(values)


def relative(timestamp: float) -> str:
    """A time as Discord shows it in each member's own language and time zone, relative ("in 5 minutes")."""
    return f"<t:{int(timestamp)}:R>"


def day(timestamp: float) -> str:
    """A date as Discord shows it in each member's own language and time zone ("June 1, 2026")."""
    return f"<t:{int(timestamp)}:D>"


@functools.cache
def tr_in(locale: str, commands: str = "") -> Tr:
    return Tr(locale, commands)


def every_translation(message: str, context: str | None = None) -> frozenset[str]:
    """A text in every interface locale (to recognise a post Grove made in whichever language it was made)."""
    if context is None:
        return frozenset(tr_in(locale)(message) for locale in LOCALES)
    return frozenset(tr_in(locale).ctx(context, message) for locale in LOCALES)


def command_name(locale: str, name: str, context: str = COMMAND_NAME) -> str:
    """A command, group or option name in a locale as it is synced: the translation lower-cased when it keeps
    Discord's name rules, else the English name."""
    translated = tr_in(locale).ctx(context, name).strip().lower()
    return translated if NAME_RULE.fullmatch(translated) else name


@dataclass(frozen=True)
class Msg:
    """A text to be told later in a language not known yet (e.g. a log line posted in the server's language and
    answered in the moderator's): a catalog message, its values, and a plural when `count` is given. A value that
    is itself a `Msg` (or any callable taking a `Tr`) is told in the same language."""

    message: str
    named: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def __call__(self, tr: Tr) -> str:
        named = {k: v(tr) if isinstance(v, Msg) or callable(v) else v for k, v in self.named.items()}
        if self.plural is not None and self.count is not None:
            return tr.plural(self.message, self.plural, self.count, **named)
        return tr(self.message, **named)


def later(message: str, /, **named: object) -> Msg:
    """A catalog message to be told later, in the language of wherever it is shown."""
    return Msg(message, named)


def later_plural(singular: str, plural: str, count: int, /, **named: object) -> Msg:
    return Msg(singular, named, plural, count)


# ---------------------------------------------------------------------------------------------- whose language


async def chosen_locale(bot: Grove, user: discord.abc.User) -> str | None:
    """The interface locale the member chose with `/language ui` (None: their client's), cached per process (read
    each time when other processes share the database: the member may choose it through another)."""
    if user.id not in bot.ui_locales or bot.db.shared:
        row = await bot.engine.user(await bot.member_id(user))
        bot.ui_locales[user.id] = supported(row.ui_locale)
    return bot.ui_locales[user.id]


async def tr_for(interaction: discord.Interaction[Grove]) -> Tr:
    """The member's language for this interaction: their choice, else their client's, else English."""
    commands = from_discord(interaction.locale)
    try:
        chosen = await chosen_locale(interaction.client, interaction.user)
    except Exception as exc:  # the database is busy or the member is gone: their client's language will do
        log.warning("interface locale of user %s unknown (%r); using the client's", interaction.user.id, exc)
        chosen = None
    return tr_in(chosen or commands, commands)


def server_tr(bot: Grove, guild_id: int | None) -> Tr:
    """The language of what Grove posts in a server for everyone (feed, mod queue): the server's locale."""
    guild = bot.get_guild(guild_id) if guild_id is not None else None
    return tr_in(from_discord(guild.preferred_locale if guild is not None else None))


def verbatim(text: str) -> app_commands.locale_str:
    """A command string shown as written in every locale (no localisation is sent for it)."""
    return app_commands.locale_str(text, **{VERBATIM: True})
