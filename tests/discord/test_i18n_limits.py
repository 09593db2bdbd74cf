"""Discord's limits hold in every interface language, with the real catalogs: every card, modal and message Grove
sends (the flows of `test_i18n_flows` run with every member's app, and the server, in each locale), the largest
cards and forms (ten replies to rank, every label, 25 open tasks), and the commands' localised names."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest
from discord import app_commands

from cogs import i18n
from cogs.error_texts import DEFAULTS, SENTENCES, error_text
from cogs.i18n import LOCALES, Tr
from cogs.moderation.render import message_post, removed_post, with_log_line
from cogs.tasks import parts
from cogs.tasks.cards import render
from cogs.tasks.labelling import ReviewModal, pages
from cogs.tasks.ranking import LETTERS
from cogs.tasks.reporting import PARENT, ReportModal, picker
from cogs.tasks.resume import Scope, listing
from cogs.tasks.writing import PREVIEW, WriteModal
from cogs.translator import GroveTranslator
from engine import errors
from engine.labels import LABELS
from engine.records import MessageRow
from engine.types import ConversationMessage, LabelMode, Role, Task, TaskStatus, TaskType
from tests.discord.locales import limit_problems, speak
from tests.discord.test_i18n_flows import all_flows, engine_overrides  # noqa: F401 (the flows' engine settings)
from tests.discord_env import Env

DISCORD_LOCALE = {"en-US": "en-US", **{code: code for code in i18n.TRANSLATED}}
TASK_ID = "0f0f0f0f-0000-4000-8000-000000000000"
LONG = ("A long turn of a conversation, with words to wrap. " * 90).strip()


def payload(embeds: list[discord.Embed], view: discord.ui.View | None = None, content: str | None = None) -> dict:
    body: dict[str, Any] = {"content": content, "embeds": [e.to_dict() for e in embeds]}
    if view is not None:
        body["components"] = view.to_components()
    return body


def modal(m: discord.ui.Modal) -> dict:
    return {"type": 9, "data": m.to_dict()}


def task(task_type: TaskType, *, candidates: int = 0, draft: str | None = None, labels: bool = False) -> Task:
    turns = (
        ConversationMessage("m0", Role.PROMPTER, LONG, "de", 1),
        ConversationMessage("m1", Role.ASSISTANT, LONG, "de", 2),
    )
    shown = tuple(ConversationMessage(f"c{i}", Role.ASSISTANT, LONG, "de", 3) for i in range(candidates))
    names = tuple(LABELS) if labels else ()
    return Task(
        TASK_ID,
        task_type,
        1,
        "pt-br",
        TaskStatus.PENDING,
        0.0,
        1e10,
        target_id="m1",
        conversation=turns,
        candidates=shown,
        draft=draft,
        valid_labels=names,
        mandatory_labels=("spam", "quality") if labels else (),
        label_mode=LabelMode.FULL if labels else LabelMode.SIMPLE,
    )


# ---------------------------------------------------------------------------------------------- through the flows


@pytest.mark.parametrize("locale", LOCALES)
async def test_everything_grove_sends_fits_in_every_locale(
    env: Env, monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    speak(monkeypatch, {person.id: DISCORD_LOCALE[locale] for person in env.people.values()})
    guild = env.bot.get_guild(env.sim.guild_id)
    assert guild is not None
    guild.preferred_locale = discord.Locale(DISCORD_LOCALE[locale])
    start = len(env.fake.calls)
    await all_flows(env)
    sent = [c for c in env.fake.calls[start:] if c.method in ("POST", "PATCH") and isinstance(c.json, dict)]
    assert len(sent) > 80
    problems = {f"{c.method} {c.path}": found for c in sent if (found := limit_problems(c.json))}
    assert problems == {}


# ---------------------------------------------------------------------------------------------- the largest ones


@pytest.fixture(scope="module", autouse=True)
def card_parts() -> None:
    parts.install()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_largest_cards_and_forms_fit_in_every_locale(locale: str) -> None:
    tr = Tr(locale)
    bodies: list[dict] = []
    for task_type in TaskType:
        for state in ("", PREVIEW):
            card = render(
                task(task_type, draft=LONG if state else None), tr, state, notice="✅ " + tr("Saved — thank you!")
            )
            bodies += [payload(card.embeds, card.view) for page in range(card.pages)]
    ranking = task(TaskType.RANK_ASSISTANT_REPLIES, candidates=len(LETTERS))
    for state in ("", "JI", LETTERS[:-1]):
        for page in range(render(ranking, tr, state).pages):
            card = render(ranking, tr, state, page)
            bodies.append(payload(card.embeds, card.view))
    embed, view = picker(tr, ranking)
    bodies.append(payload([embed], view))
    for pair in (task(TaskType.RANK_PROMPTER_REPLIES, candidates=2),):
        card = render(pair, tr)
        bodies.append(payload(card.embeds, card.view))
    review = task(TaskType.LABEL_ASSISTANT_REPLY, labels=True)
    state = "_" * len(review.valid_labels)
    for number in range(len(pages(review))):
        bodies.append(modal(ReviewModal(review, state, tr)))
        card = render(review, tr, state)
        bodies.append(payload(card.embeds, card.view))
        answered = [n for p in pages(review)[: number + 1] for part in p for n in part.names]
        state = "".join("1" if n in answered else "_" for n in review.valid_labels)
    bodies.append(modal(WriteModal(task(TaskType.ASSISTANT_REPLY, draft=LONG), 2000, tr)))
    bodies += [modal(ReportModal(TASK_ID, choice, tr)) for choice in ("", "J", PARENT)]
    open_tasks = [task(t, draft=LONG) for t in list(TaskType) * 4][:25]
    for scope in (Scope(), Scope("rank_assistant_replies", "zh-hant-tw")):
        for shown, notice in ((open_tasks, "🗑️ " + tr("Released “{kind}”.", kind="x" * 40)), (open_tasks[:3], "")):
            embed, view = listing(tr, shown, scope, notice=notice)
            bodies.append(payload([embed], view))
    problems = {i: found for i, body in enumerate(bodies) if (found := limit_problems(body))}
    assert problems == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_posts_and_refusals_fit_in_every_locale(locale: str) -> None:
    tr = Tr(locale)
    message = message_row(LONG * 2)
    embeds, _ = message_post(message, lang="pt-br", parent=message_row("x" * 500), parent_link="https://x", tr=tr)
    logged = embeds
    for n in range(20):
        logged = with_log_line(tr, logged, f"✅ {tr('checked: nothing to undo')} — <@{10**18 + n}>", 1.7e9)
    bodies = [payload(logged), payload([removed_post(tr, message, purged=True)])]
    refusals = [error_text(tr, cls()) for cls in errors.ALL_ERRORS]
    refusals += [tr(s) for s in SENTENCES if "{" not in s] + [tr(s) for s in DEFAULTS.values()]
    bodies += [{"content": "⚠️ " + text} for text in refusals]
    problems = {i: found for i, body in enumerate(bodies) if (found := limit_problems(body))}
    assert problems == {}


def message_row(text: str) -> MessageRow:
    return MessageRow(
        id="0f0f0f0f-0000-4000-8000-00000000000a",
        tree_id="0f0f0f0f-0000-4000-8000-00000000000b",
        parent_id="0f0f0f0f-0000-4000-8000-00000000000c",
        user_id=1,
        task_id=None,
        role=Role.ASSISTANT,
        text=text,
        lang="pt-br",
        depth=1,
        created_at=0.0,
        deleted=True,
        review_count=0,
        review_result=None,
        ranking_count=0,
        rank=None,
        synthetic=False,
        model_name=None,
        emojis={},
    )


# ---------------------------------------------------------------------------------------------- the commands


NAME = re.compile(r"^[-_\w]{1,32}$")


@pytest.mark.parametrize("locale", sorted(set(i18n.DISCORD_LOCALES) - {"en-US", "en-GB"}))
async def test_localised_command_names_keep_discords_rules(env: Env, locale: str) -> None:
    """In every locale: names lower-case and valid, unique among their siblings; descriptions and choices ≤ 100."""
    translator = GroveTranslator()
    where = app_commands.TranslationContextLocation

    async def name_of(item: Any, location: Any) -> str:
        context = app_commands.TranslationContext(location, item)
        return await translator.translate(app_commands.locale_str(item.name), discord.Locale(locale), context) or ""

    async def check(items: list[Any]) -> None:
        names = []
        for item in items:
            is_group = isinstance(item, app_commands.Group)
            name = await name_of(item, where.group_name if is_group else where.command_name)
            assert NAME.fullmatch(name) and name == name.lower(), (locale, item.qualified_name, name)
            names.append(name)
            description = await translator.translate(
                app_commands.locale_str(item.description),
                discord.Locale(locale),
                app_commands.TranslationContext(where.command_description, item),
            )
            assert description and len(description) <= 100, (locale, item.qualified_name)
            if is_group:
                await check(item.commands)
            else:
                options = []
                for p in item.parameters:
                    context = app_commands.TranslationContext(where.parameter_name, p)
                    option = (
                        await translator.translate(app_commands.locale_str(p.name), discord.Locale(locale), context)
                        or ""
                    )
                    assert NAME.fullmatch(option) and option == option.lower(), (locale, item.qualified_name, option)
                    options.append(option)
                    for choice in p.choices:
                        context = app_commands.TranslationContext(where.choice_name, choice)
                        said = await translator.translate(
                            app_commands.locale_str(choice.name), discord.Locale(locale), context
                        )
                        assert said is None or 1 <= len(said) <= 100
                assert len(options) == len(set(options)), (locale, item.qualified_name, options)
        assert len(names) == len(set(names)), (locale, names)

    await check(env.bot.tree.get_commands())


# ---------------------------------------------------------------------------------------------- room to translate


class HalfAgainAsLong(i18n.gettext.NullTranslations):
    """Every text half again as long as its English (German runs about a third longer), names kept."""

    @staticmethod
    def longer(text: str) -> str:
        return "".join(p if p.startswith("{") else p + "~" * (len(p) // 2) for p in re.split(r"(\{\w*\})", text))

    def gettext(self, message: str) -> str:
        return self.longer(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.longer(msgid1 if n == 1 else msgid2)

    def pgettext(self, context: str, message: str) -> str:
        return message if context in (i18n.COMMAND_NAME, i18n.OPTION_NAME) else self.longer(message)


async def test_translations_half_again_as_long_still_fit(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for translators: with every text 50% longer than its English, nothing Grove sends breaks a limit."""
    real = i18n.translations
    monkeypatch.setattr(i18n, "translations", lambda code: HalfAgainAsLong() if code == "de" else real(code))
    speak(monkeypatch, {person.id: "de" for person in env.people.values()})
    guild = env.bot.get_guild(env.sim.guild_id)
    assert guild is not None
    guild.preferred_locale = discord.Locale.german
    start = len(env.fake.calls)
    await all_flows(env)
    sent = [c for c in env.fake.calls[start:] if c.method in ("POST", "PATCH") and isinstance(c.json, dict)]
    assert {f"{c.method} {c.path}": found for c in sent if (found := limit_problems(c.json))} == {}
    test_the_largest_cards_and_forms_fit_in_every_locale("de")
    test_posts_and_refusals_fit_in_every_locale("de")
