"""The message catalogs: the template holds every text the code shows, every language has every message translated
with the same placeholders, and the texts the cogs keep in step with the engine (errors, label questions, the
points formula) still say what the engine says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from cogs import catalogs, error_texts, i18n
from cogs.error_texts import DEFAULTS, SENTENCES, error_text, rate_limited
from cogs.i18n import Tr
from cogs.tasks import labelling
from engine import errors
from engine.labels import LABELS
from engine.stats import POINTS_FORMULA

ROOT = Path(__file__).resolve().parents[2]


def keys(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


# ---------------------------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
def test_every_message_is_translated_in_every_locale(locale: str) -> None:
    """Every message of the template is translated in the locale, no translation is empty or fuzzy, and its
    placeholders are the source's; a failure names each message and the locale."""
    found = catalogs.problems(locale)
    assert found == [], f"{len(found)} problems in {locale}:\n" + "\n".join(found)


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
def test_no_catalog_is_broken(locale: str) -> None:
    """Whatever is translated so far keeps its placeholders and plural forms; the header's Plural-Forms is right;
    the catalog holds exactly the template's messages."""
    assert catalogs.broken(locale) == []


def test_the_completeness_check_names_the_message_and_the_locale(tmp_path: Path) -> None:
    pot = tmp_path / "grove.pot"
    po = tmp_path / "grove.po"
    template = catalogs.template([catalogs.Message("Stop"), catalogs.Message("Page {page} of {pages}")])
    template.add(("{count} tree", "{count} trees"))
    catalogs.write(template, pot)
    german = catalogs._catalog("de")
    german.update(template)
    german.get("Page {page} of {pages}").string = "Seite {seite} von {pages}"
    german.get("{count} tree").string = ("{count} Baum", "")
    catalogs.write(german, po)
    found = catalogs.problems("de", po, pot)
    assert "de: 'Stop' is untranslated" in found
    assert "de: '{count} tree' is untranslated" in found  # a plural with an empty form
    assert "de: 'Page {page} of {pages}' has placeholders ['pages', 'seite'], not ['page', 'pages']" in found
    assert catalogs.broken("de", po, pot) == [found[-1]] or len(catalogs.broken("de", po, pot)) == 1


def test_the_template_holds_every_text_of_the_code() -> None:
    """`python -m cogs.catalogs extract` was run after the last change of a text (else translators miss it)."""
    import asyncio

    extracted = catalogs.template([*catalogs.code_messages(), *asyncio.run(catalogs.command_messages())])
    pot = catalogs.read(i18n.POT)
    missing = keys(extracted) - keys(pot)
    stale = keys(pot) - keys(extracted)
    assert (missing, stale) == (set(), set()), "run `python -m cogs.catalogs extract`"


@pytest.mark.parametrize("locale", i18n.TRANSLATED)
def test_each_locale_has_the_gettext_plural_rule(locale: str) -> None:
    catalog = catalogs.read(i18n.po_path(locale), locale)
    assert catalogs._same_rule(catalog.plural_forms, catalogs.PLURAL_FORMS[locale])
    assert catalog.num_plurals == {"ru": 3, "zh-CN": 1, "ja": 1}.get(locale, 2)


def test_plural_rules_choose_the_right_form() -> None:
    """The catalog's Plural-Forms drive ngettext (one form in Japanese, three in Russian)."""
    ru = i18n.translations("ru")
    assert ru.plural(1) == 0 and ru.plural(3) == 1 and ru.plural(5) == 2 and ru.plural(21) == 0 and ru.plural(12) == 2
    fr = i18n.translations("fr")
    assert fr.plural(0) == 0 and fr.plural(1) == 0 and fr.plural(2) == 1
    assert i18n.translations("ja").plural(7) == 0


# ---------------------------------------------------------------------------------------------- the runtime


def test_an_untranslated_message_shows_its_english_source() -> None:
    fr = Tr("fr")
    assert fr("A text that no catalog holds") == "A text that no catalog holds"
    assert fr.plural("{count} thing no catalog holds", "{count} things no catalog holds", 3) == (
        "3 things no catalog holds"
    )
    assert Tr("de").plural("{count} day", "{count} days", 1) == "1 Tag"
    assert Tr("de").plural("{count} day", "{count} days", 1234) == "1.234 Tage"  # numbers in the locale
    assert Tr("en-US").number(1234567) == "1,234,567" and Tr("fr").decimal(2.5) == "2,5"


def test_a_translation_with_wrong_placeholders_falls_back_to_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(i18n.gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "Seite {seite}"

    monkeypatch.setattr(i18n, "translations", lambda code: Broken())
    assert Tr("de")("Page {page} of {pages}", page=1, pages=2) == "Page 1 of 2"


def test_locale_codes() -> None:
    assert i18n.supported("DE") == "de" and i18n.supported("pt_br") == "pt-BR" and i18n.supported("zh") == "zh-CN"
    assert i18n.supported("en") == "en-US" and i18n.supported("klingon") is None
    assert i18n.from_discord("en-GB") == "en-US" and i18n.from_discord("es-419") == "es-ES"
    assert i18n.from_discord("ko") == "en-US" and i18n.from_discord(None) == "en-US"
    assert [i18n.folder(code) for code in i18n.TRANSLATED] == ["de", "es_ES", "fr", "pt_BR", "ru", "zh_CN", "ja"]


def test_language_names_are_babels() -> None:
    from cogs.tasks.info import language_name

    assert [language_name(code) for code in i18n.LOCALES] == [
        "English",
        "Deutsch",
        "Español (España)",
        "Français",
        "Português (Brasil)",
        "Русский",
        "中文 (简体, 中国)",
        "日本語",
    ]
    assert Tr("de").language("fr") == "Französisch" and Tr("en-US").language("xx-not") == "xx-not"


# ---------------------------------------------------------------------------------------------- in step with the engine


def test_every_error_code_has_its_engine_sentence() -> None:
    for cls in errors.ALL_ERRORS:
        assert DEFAULTS.get(cls.code) == cls.default_message, cls.__name__


def engine_sentences() -> list[str]:
    """Every specific sentence the engine raises an error with, its f-string values as `{}`."""
    found = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "errors"):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
            elif isinstance(first, ast.JoinedStr):
                found.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in first.values))
    return found


def test_every_sentence_the_engine_raises_is_in_the_catalog() -> None:
    """A new `raise errors.X("...")` in the engine needs its sentence in `cogs.error_texts.SENTENCES` (a template
    for one with values), or members of other languages would read it in English."""
    templates = {re.sub(r"\{\w*\}", "{}", s) for s in SENTENCES}
    rates = {  # told by `rate_limited`
        "You have asked for {} {} within {}; you can ask again shortly.",
        "You have written {} prompts within {}; you can write more shortly.",
    }
    missing = [s for s in engine_sentences() if s not in templates and s not in rates]
    assert missing == []


def test_engine_sentences_with_values_are_read_back() -> None:
    de = Tr("de")
    error = errors.MessageTooLong("Your text has 2300 characters; the limit is 2000.")
    assert error_text(Tr("en-US"), error) == "Your text has 2,300 characters; the limit is 2,000."
    assert error_text(de, errors.TaskNotYours()) == de(DEFAULTS[errors.ErrorCode.TASK_NOT_YOURS])
    assert error_text(de, errors.TreeNotAccepting("Something a cog wrote.")) == "Something a cog wrote."
    limited = errors.RateLimited(
        "You have asked for 4 assistant reply tasks by name within 120 seconds; you can ask again shortly.",
        retry_at=1000.0,
    )
    said = rate_limited(Tr("en-US"), limited)
    expected = "You have asked for 4 “Reply as the assistant” tasks by name within 120 seconds."
    assert said == f"{expected} You can ask again <t:1000:R>."
    assert error_texts.RATE.fullmatch(limited.message)
    capped = errors.RateLimited(
        "You have written 20 prompts within 60 minutes; you can write more shortly.", retry_at=1000.0
    )
    assert (
        rate_limited(Tr("en-US"), capped)
        == "You have written 20 prompts within 60 minutes. You can write more <t:1000:R>."
    )


def test_label_questions_are_the_engines() -> None:
    assert {name: info.question for name, info in LABELS.items()} == labelling.QUESTIONS
    assert set(LABELS) == set(labelling.TITLES)


def test_the_points_formula_is_the_engines() -> None:
    from cogs.community.render import points_formula

    assert points_formula(Tr("en-US")) == POINTS_FORMULA


def test_the_catalogs_are_package_data() -> None:
    """`pip install` ships every catalog (they are read at start-up, there is no compile step)."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["cogs"]
    files = [p.relative_to(ROOT / "cogs").as_posix() for p in i18n.LOCALE_DIR.rglob("*") if p.is_file()]
    assert sorted(files) == sorted(
        ["locale/grove.pot", *(f"locale/{i18n.folder(c)}/LC_MESSAGES/grove.po" for c in i18n.TRANSLATED)]
    )
    assert all(any(fnmatch.fnmatch(f, p) for p in patterns) for f in files)
