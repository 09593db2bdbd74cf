"""Language codes: one normal form for every layer (part of the vocabulary; imports only `engine.errors`, and
Babel for the languages CLDR knows)."""

from __future__ import annotations

import functools

from babel import localedata

from engine import errors


@functools.lru_cache(maxsize=1024)
def _known(language: str) -> bool:
    """Whether CLDR (through Babel) knows the primary language subtag: made-up codes make no language pools."""
    return localedata.exists(language)


def normalize_lang(lang: str) -> str:
    """A BCP 47 code, lower-cased: 'en', 'de', 'pt-br'; its language must be one CLDR knows (no 'xx')."""
    if not isinstance(lang, str):
        raise errors.InvalidLanguage()
    code = lang.strip().lower().replace("_", "-")
    parts = code.split("-")
    if (
        not code.isascii()  # isalpha/isalnum accept any script's letters and digits: "日本", "ｅｎ"
        or not (2 <= len(parts[0]) <= 3 and parts[0].isalpha())
        or any(not (1 <= len(p) <= 8 and p.isalnum()) for p in parts[1:])
    ):
        raise errors.InvalidLanguage(f"“{lang}” is not a language code such as en, de or pt-BR.")
    if not _known(parts[0]):
        raise errors.InvalidLanguage(f"“{lang}” is not a language code such as en, de or pt-BR.")
    return code
