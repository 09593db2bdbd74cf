"""Grove's message catalogs: extract the template from the code, merge it into every language, check them.

    python -m cogs.catalogs extract        write cogs/locale/grove.pot and merge it into every language's .po
                                           (a language without a .po gets one, msgstr empty)
    python -m cogs.catalogs check          per language: untranslated, fuzzy or empty messages, placeholders that
                                           differ, the Plural-Forms header; exit 1 if a catalog is broken
    python -m cogs.catalogs add LOCALE     a new interface language (also list it in `cogs.i18n.LOCALES`)

The template holds (1) every text the cogs pass to `tr(...)`, `tr.plural(...)`, `tr.ctx(...)`, `later(...)`,
`later_plural(...)` or mark with `N_(...)` / `NC_(...)`, found by Babel's Python extractor (a `# Translators:`
comment on the line above the call reaches the translator), and
(2) every app command string Discord shows: command, group and option names (msgctxt "command name" / "option
name"), descriptions ("description") and choices ("choice"), collected by loading the feature extensions into a
bare bot and asking each command for its sync payload.
"""

from __future__ import annotations

import argparse
import asyncio
import pkgutil
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import discord
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po, write_po
from discord import app_commands
from discord.ext import commands

import cogs
from cogs import i18n

ROOT = Path(cogs.__file__).resolve().parent
KEYWORDS = {
    "tr": None,
    "N_": None,
    "later": None,
    "plural": (1, 2),
    "later_plural": (1, 2),
    "ctx": ((1, "c"), 2),
    "NC_": ((1, "c"), 2),
}
COMMENT_TAGS = ["Translators:"]
# gettext's Plural-Forms per language (the forms translators know from GNU gettext and Weblate)
PLURAL_FORMS = {
    "de": "nplurals=2; plural=(n != 1);",
    "es-ES": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "pt-BR": "nplurals=2; plural=(n > 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "zh-CN": "nplurals=1; plural=0;",
    "ja": "nplurals=1; plural=0;",
}
STAMP = datetime(2026, 12, 1, tzinfo=UTC)  # fixed, so extracting unchanged code changes no file
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
HINTS = {
    i18n.COMMAND_NAME: "A slash command name: lower-case, no spaces (use - or _), at most 32 characters.",
    i18n.OPTION_NAME: "A slash command option name: lower-case, no spaces (use - or _), at most 32 characters.",
    i18n.DESCRIPTION: "A slash command or option description: at most 100 characters.",
    i18n.CHOICE: "A choice in a slash command option: at most 100 characters.",
}

Key = tuple[str, str | None]  # (msgid, msgctxt)


# ---------------------------------------------------------------------------------------------- extraction


def code_messages(root: Path = ROOT) -> Iterator[Message]:
    """The texts of the cogs' Python code, in file and line order."""
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        where = path.relative_to(root.parent).as_posix()
        with path.open("rb") as f:
            for lineno, funcname, value, comments in extract_python(f, KEYWORDS, COMMENT_TAGS, {}):  # type: ignore[arg-type]
                message = _message(str(funcname), value)
                if message is not None:
                    message.locations = [(where, lineno)]
                    message.auto_comments = [str(c).removeprefix("Translators:").strip() for c in comments or ()]
                    yield message


def _message(funcname: str, value: object) -> Message | None:
    """A Message from what the extractor found, or None when the call has no literal text (e.g. `tr(TITLE)`)."""
    if (
        funcname in ("plural", "later_plural")
        and isinstance(value, tuple)
        and all(isinstance(v, str) for v in value[:2])
    ):
        return Message((value[0], value[1]))
    if funcname in ("ctx", "NC_") and isinstance(value, tuple) and all(isinstance(v, str) for v in value[:2]):
        return Message(value[1], context=value[0])
    if funcname in ("tr", "N_", "later"):
        msgid = value[0] if isinstance(value, tuple) and value else value  # (msgid, None…) when named values follow
        return Message(msgid) if isinstance(msgid, str) and msgid else None
    return None


class _Recorder(app_commands.Translator):
    """Notes every string a sync would ask to translate, with its msgctxt."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[Key, set[str]] = {}

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if not string.extras.get(i18n.VERBATIM):
            msgctxt = i18n.CONTEXTS.get(context.location)
            self.found.setdefault((string.message, msgctxt), set()).add(_where(context))
        return None


def _where(context: app_commands.TranslationContextTypes) -> str:
    data = context.data
    if isinstance(data, app_commands.Parameter):
        return f"/{data.command.qualified_name} {data.display_name}"
    if isinstance(data, app_commands.Command | app_commands.Group):
        return f"/{data.qualified_name}"
    return "a choice"


def feature_extensions() -> list[str]:
    """The feature packages of `cogs` (each an extension with app commands)."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules([str(ROOT)]) if m.ispkg)


async def command_messages() -> list[Message]:
    """Every name, description and choice of Grove's app commands, as a sync would send them."""
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.none(), help_command=None)
    for name in feature_extensions():
        await bot.load_extension(name)
    recorder = _Recorder()
    for command in bot.tree.get_commands():
        await command.get_translated_payload(bot.tree, recorder)  # type: ignore[arg-type]
    await bot.close()
    out = []
    for (msgid, msgctxt), used in recorder.found.items():
        hint = HINTS.get(msgctxt or "")
        comments = ([hint] if hint else []) + [f"Used by {', '.join(sorted(used))}."]
        out.append(Message(msgid, context=msgctxt, auto_comments=comments, locations=[("app-commands", 0)]))
    return out


def template(messages: Iterable[Message]) -> Catalog:
    catalog = _catalog(None)
    for m in messages:
        if (known := catalog.get(m.id, m.context)) is not None:
            known.locations += [loc for loc in m.locations if loc not in known.locations]
            known.auto_comments += [c for c in m.auto_comments if c not in known.auto_comments]
        else:
            catalog[m.id] = m  # keyed by msgid and msgctxt
    return catalog


def _catalog(locale: str | None) -> Catalog:
    catalog = Catalog(
        locale=i18n.folder(locale) if locale else None,
        domain=i18n.DOMAIN,
        project="Grove",
        version="1",
        copyright_holder="Grove contributors",
        msgid_bugs_address="https://github.com/grove/grove/issues",
        creation_date=STAMP,
        revision_date=STAMP,
        language_team=f"{locale} translators" if locale else "LANGUAGE <LL@li.org>",
        fuzzy=False,
    )
    if locale in PLURAL_FORMS:
        catalog.mime_headers = [*_without_plural(catalog.mime_headers), ("Plural-Forms", PLURAL_FORMS[locale])]
    return catalog


def _without_plural(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != "plural-forms"]


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=116, include_lineno=False, ignore_obsolete=True)


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=i18n.folder(locale) if locale else None, domain=i18n.DOMAIN)


def merged(pot: Catalog, locale: str) -> Catalog:
    """The language's catalog brought up to the template: new messages empty, removed ones dropped, changed ones
    fuzzy (a translator checks them); the translations and the Plural-Forms header kept."""
    path = i18n.po_path(locale)
    catalog = read(path, locale) if path.exists() else _catalog(locale)
    catalog.update(pot, update_header_comment=False)
    for message in catalog:
        if message.fuzzy and not any(forms(message)):  # a guess from an empty translation guesses nothing
            message.flags.discard("fuzzy")
    catalog.mime_headers = [*_without_plural(catalog.mime_headers), ("Plural-Forms", PLURAL_FORMS[locale])]
    catalog.revision_date = STAMP
    return catalog


async def extract() -> Catalog:
    pot = template([*code_messages(), *await command_messages()])
    write(pot, i18n.POT)
    for locale in i18n.TRANSLATED:
        write(merged(pot, locale), i18n.po_path(locale))
    return pot


# ---------------------------------------------------------------------------------------------- checks


def placeholders(text: str) -> set[str]:
    return {m[1] for m in PLACEHOLDER.finditer(text)}


def forms(message: Message) -> tuple[str, ...]:
    string = message.string
    if isinstance(string, tuple | list):
        return tuple(str(s or "") for s in string)
    return (str(string or ""),)


def describe(message: Message) -> str:
    source = message.id[0] if isinstance(message.id, tuple) else message.id
    return f"{source!r}" + (f" (msgctxt {message.context!r})" if message.context else "")


def _same_rule(a: str, b: str) -> bool:
    return re.sub(r"[\s;]", "", a) == re.sub(r"[\s;]", "", b)


def problems(locale: str, po: Path | None = None, pot: Path | None = None) -> list[str]:
    """What keeps a language's catalog from being complete: each untranslated, fuzzy or empty message and each
    translation whose placeholders differ from the source, with its msgid and the locale; and a wrong
    Plural-Forms header or a catalog that no longer matches the template."""
    template, catalog = read(pot or i18n.POT), read(po or i18n.po_path(locale), locale)
    out = []
    if not _same_rule(catalog.plural_forms, PLURAL_FORMS[locale]):
        out.append(f"{locale}: Plural-Forms is {catalog.plural_forms!r}, expected {PLURAL_FORMS[locale]!r}")
    wanted = {(m.id, m.context) for m in template if m.id}
    have = {(m.id, m.context) for m in catalog if m.id}
    out += [
        f"{locale}: {describe(Message(i, context=c))} is missing; run `python -m cogs.catalogs extract`"
        for i, c in wanted - have
    ]
    for message in catalog:
        if not message.id or (message.id, message.context) not in wanted:
            continue
        source = placeholders(" ".join(message.id) if isinstance(message.id, tuple | list) else str(message.id))
        if message.fuzzy:
            out.append(f"{locale}: {describe(message)} is fuzzy (check the translation, then drop the flag)")
        elif not all(s.strip() for s in forms(message)):
            out.append(f"{locale}: {describe(message)} is untranslated")
        elif bad := [s for s in forms(message) if placeholders(s) != source]:
            out.append(
                f"{locale}: {describe(message)} has placeholders {sorted(placeholders(bad[0]))}, not {sorted(source)}"
            )
        elif len(forms(message)) != catalog.num_plurals and isinstance(message.id, tuple):
            out.append(
                f"{locale}: {describe(message)} has {len(forms(message))} plural forms, not {catalog.num_plurals}"
            )
    return out


def broken(locale: str, po: Path | None = None, pot: Path | None = None) -> list[str]:
    """Problems that break a catalog (not merely unfinished ones): placeholders, plural forms, header, template."""
    return [
        p
        for p in problems(locale, po, pot)
        if not p.endswith((" is untranslated", "(check the translation, then drop the flag)"))
    ]


def add(locale: str) -> Path:
    """Start a new interface language from the template (msgstr empty)."""
    if locale not in PLURAL_FORMS:
        raise SystemExit(f"add {locale!r} to PLURAL_FORMS in cogs/catalogs.py (its gettext Plural-Forms) first")
    path = i18n.po_path(locale)
    if path.exists():
        raise SystemExit(f"{path} exists already")
    write(merged(read(i18n.POT), locale), path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cogs.catalogs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("extract", help="write grove.pot and merge it into every .po")
    sub.add_parser("check", help="how complete each language is; exit 1 if a catalog is broken")
    sub.add_parser("add", help="start a new language from the template").add_argument("locale")
    args = parser.parse_args(argv)
    if args.command == "extract":
        pot = asyncio.run(extract())
        print(f"{i18n.POT.relative_to(ROOT.parent)}: {sum(1 for m in pot if m.id)} messages")
        return 0
    if args.command == "add":
        print(f"created {add(args.locale)}")
        return 0
    total, failed = sum(1 for m in read(i18n.POT) if m.id), False
    for locale in i18n.TRANSLATED:
        found, fatal = problems(locale), broken(locale)
        failed = failed or bool(fatal)
        print(f"{locale}: {total - len(found)} of {total} complete" + (f", {len(fatal)} broken" if fatal else ""))
        for line in fatal:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
