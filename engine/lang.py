"""Language codes: one normal form for every layer (part of the vocabulary; imports only `engine.errors`)."""

from __future__ import annotations

from engine import errors


def normalize_lang(lang: str) -> str:
    """A BCP-47-ish code, lower-cased: 'en', 'de', 'pt-br'."""
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
    return code
