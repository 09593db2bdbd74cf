"""Helpers for the interface-language tests: members whose Discord app speaks a language, a pseudo catalog that
marks every translated text, and the visible texts of what Grove sent."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from babel.messages.pofile import read_po

from cogs import i18n
from tests.fakes import payloads
from tests.fakes.discord_api import Call, walk_components
from tests.fakes.payloads import Person

Json = dict[str, Any]
OPEN, CLOSE = "⟦", "⟧"
PSEUDO_NAME = "ps-"


def speak(monkeypatch: pytest.MonkeyPatch, locales: Mapping[int, str]) -> None:
    """Every interaction of these people (by Discord id) carries their Discord app's locale."""
    build = payloads.interaction

    def interaction(type_: int, data: Json, person: Person, **kw: Any) -> Json:
        if person.id in locales:
            kw["locale"] = locales[person.id]
        return build(type_, data, person, **kw)

    monkeypatch.setattr(payloads, "interaction", interaction)


Key = tuple[str, str | None]  # (msgid, msgctxt)


class Pseudo(gettext.NullTranslations):
    """Every text wrapped in ⟦…⟧ (placeholders kept), command and option names prefixed with "ps-": anything
    Grove shows outside the brackets did not come from the catalog. `asked` collects what was looked up."""

    def __init__(self, asked: set[Key]) -> None:
        super().__init__()
        self.asked = asked

    def gettext(self, message: str) -> str:
        self.asked.add((message, None))
        return f"{OPEN}{message}{CLOSE}"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        self.asked.add((msgid1, None))
        return f"{OPEN}{msgid1 if n == 1 else msgid2}{CLOSE}"

    def pgettext(self, context: str, message: str) -> str:
        self.asked.add((message, context))
        if context in (i18n.COMMAND_NAME, i18n.OPTION_NAME):
            return PSEUDO_NAME + message
        return f"{OPEN}{message}{CLOSE}"


def pseudo(monkeypatch: pytest.MonkeyPatch, locale: str) -> set[Key]:
    """`locale` speaks the pseudo catalog (the other locales keep theirs); returns the set of the (msgid,
    msgctxt) it is asked for, filled as Grove runs."""
    real = i18n.translations
    asked: set[Key] = set()
    catalog = Pseudo(asked)

    def translations(code: str) -> gettext.NullTranslations:
        return catalog if code == locale else real(code)

    monkeypatch.setattr(i18n, "translations", translations)
    return asked


def template_keys() -> set[Key]:
    """(msgid, msgctxt) of every message of the template (a plural by its singular)."""
    with i18n.POT.open("rb") as f:
        pot = read_po(f)
    return {(m.id[0] if isinstance(m.id, tuple | list) else m.id, m.context) for m in pot if m.id}


# ---------------------------------------------------------------------------------------------- what was sent


def texts(body: Json | None) -> Iterator[str]:
    """The visible texts of a message, an interaction callback (message, modal or autocomplete) or an edit."""
    if not body:
        return
    data = body.get("data") if isinstance(body.get("data"), dict) and "type" in body else body
    assert isinstance(data, dict)
    yield from (data.get(k) or "" for k in ("content", "title"))
    for choice in data.get("choices") or []:
        yield choice.get("name", "")
    for embed in data.get("embeds") or []:
        yield from (embed.get("author", {}).get("name", ""), embed.get("title", ""), embed.get("description", ""))
        for f in embed.get("fields", []):
            yield from (f.get("name", ""), f.get("value", ""))
        yield embed.get("footer", {}).get("text", "")
    for c in walk_components(data.get("components") or []):
        yield from (c.get(k) or "" for k in ("label", "placeholder", "description", "content"))
        for option in c.get("options") or []:
            yield from (option.get("label", ""), option.get("description") or "")
    for attachment in data.get("attachments") or []:
        yield attachment.get("description") or ""


def sent_texts(calls: list[Call]) -> list[str]:
    """Every visible text Grove sent or edited in these calls (interaction answers, follow-ups, posts, edits)."""
    out: list[str] = []
    for call in calls:
        if call.method in ("POST", "PATCH") and isinstance(call.json, dict):
            out += [t for t in texts(call.json) if t]
    return out


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DISCORD_MARKUP = re.compile(r"<(?:t:\d+:[tTdDfFR]|@[!&]?\d+|#\d+)>")


def outside_catalog(text: str, allowed: tuple[str, ...] = ()) -> str:
    """What of a text is not from the pseudo catalog: the bracketed parts, the texts members wrote (`allowed`),
    ids, Discord's own markup (timestamps, mentions) and pseudo command names removed; digits, emoji and
    punctuation are left for the caller to ignore."""
    text = re.sub(rf"/?{PSEUDO_NAME}[-\w]+", " ", text)
    for member_text in sorted(allowed, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(member_text)}(?!\w)", " ", text)
    while True:  # innermost brackets first: catalog texts nest (a title inside a sentence)
        inner = re.sub(rf"{OPEN}[^{OPEN}{CLOSE}]*(?:{CLOSE}|…$)", " ", text)  # (or cut to a limit with "…")
        if inner == text:
            break
        text = inner
    return UUID.sub(" ", DISCORD_MARKUP.sub(" ", text))


def words(text: str) -> list[str]:
    """Runs of two or more letters: text in some language."""
    return re.findall(r"[^\W\d_]{2,}", text)


# ---------------------------------------------------------------------------------------------- the catalogs


def translated(locale: str) -> dict[tuple[str, str | None], tuple[str, ...]]:
    """(msgid, msgctxt) -> the translation's forms, for each translated message of a locale's .po file."""
    with i18n.po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=i18n.folder(locale))
    out = {}
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        forms = tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)
        if all(forms):
            ids = tuple(m.id) if isinstance(m.id, tuple | list) else (m.id,)
            for msgid in ids:
                out[(msgid, m.context)] = tuple(str(f) for f in forms)
    return out


def source_leaks(locale: str, sent: list[str]) -> list[str]:
    """The English source texts that have a translation in `locale` yet appear in what was sent: each literal
    piece of such a msgid (placeholders cut out) of four or more letters, unless a translation of the locale uses
    it itself (a loanword such as "Spam" may stay) or a message not translated yet holds it too (while the
    catalog is unfinished, "Guidelines" on a button may be German and the same word in a title still English)."""
    catalog = translated(locale)
    used = " ".join(form for forms in catalog.values() for form in forms)
    with i18n.POT.open("rb") as f:
        pending = " ".join(
            " ".join(m.id) if isinstance(m.id, tuple | list) else m.id
            for m in read_po(f)
            if m.id and (m.id[0] if isinstance(m.id, tuple | list) else m.id, m.context) not in catalog
        )
    body = "\n".join(sent)
    leaks = []
    for (msgid, _), forms in catalog.items():
        if forms == (msgid,):
            continue
        for piece in re.split(r"\{\w*\}", msgid):
            piece = piece.strip(" .,:;·—–-()*_`\n")
            if len(re.sub(r"\W", "", piece)) < 4 or piece in used or contains(pending, piece):
                continue
            if contains(body, piece):
                leaks.append(f"{msgid!r} (as {piece!r})")
    return sorted(set(leaks))


def contains(text: str, piece: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text) is not None


# ---------------------------------------------------------------------------------------------- Discord's limits

EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
COMPONENT_TEXT = {
    2: {"label": 80},  # button
    3: {"placeholder": 150},  # string select
    4: {"label": 45, "placeholder": 100},  # text input
    18: {"label": 45, "description": 100},  # label (modal)
}


def limit_problems(body: Json) -> list[str]:
    """Where a message, interaction answer, modal or edit Grove sent breaks one of Discord's limits."""
    data = body.get("data") if isinstance(body.get("data"), dict) and "type" in body else body
    assert isinstance(data, dict)
    out: list[str] = []

    def over(what: str, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            out.append(f"{what} has {len(text)} characters (limit {limit}): {text[:60]!r}…")

    over("content", data.get("content"), 2000)
    if body.get("type") == 9:  # a modal
        over("modal title", data.get("title"), 45)
        if len(data.get("components") or []) > 5:
            out.append(f"modal has {len(data['components'])} components (limit 5)")
    choices = data.get("choices") or []
    if len(choices) > 25:
        out.append(f"{len(choices)} autocomplete choices (limit 25)")
    for choice in choices:
        over("choice name", choice.get("name"), 100)
    embeds = data.get("embeds") or []
    if len(embeds) > 10:
        out.append(f"{len(embeds)} embeds (limit 10)")
    total = 0
    for embed in embeds:
        for key, limit in EMBED_LIMITS.items():
            over(f"embed {key}", embed.get(key), limit)
        over("embed footer", embed.get("footer", {}).get("text"), 2048)
        over("embed author", embed.get("author", {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            out.append(f"embed has {len(fields)} fields (limit 25)")
        for f in fields:
            for key, limit in FIELD_LIMITS.items():
                over(f"embed field {key}", f.get(key), limit)
                if not f.get(key):
                    out.append(f"an embed field has an empty {key}")
        total += sum(len(embed.get(k) or "") for k in ("title", "description"))
        total += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
        total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
    if total > 6000:
        out.append(f"the embeds have {total} characters together (limit 6000)")
    rows = data.get("components") or []
    if body.get("type") != 9 and len(rows) > 5:
        out.append(f"{len(rows)} component rows (limit 5)")
    for row in rows:
        if row.get("type") == 1 and len(row.get("components") or []) > 5:
            out.append(f"a row holds {len(row['components'])} components (limit 5)")
    for c in walk_components(rows):
        over("custom_id", c.get("custom_id"), 100)
        for key, limit in COMPONENT_TEXT.get(c.get("type", 0), {}).items():
            over(f"component {c.get('type')} {key}", c.get(key), limit)
        options = c.get("options") or []
        if len(options) > (10 if c.get("type") in (21, 22) else 25):
            out.append(f"component {c.get('type')} has {len(options)} options")
        for option in options:
            over("option label", option.get("label"), 100)
            over("option description", option.get("description"), 100)
            over("option value", option.get("value"), 100)
    for attachment in data.get("attachments") or []:
        over("attachment description", attachment.get("description"), 1024)
    return out
