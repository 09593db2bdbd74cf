"""Which language Grove speaks to a member, which language their tasks are in, and the commands' localisations in
the sync payload, through the fake Discord."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import DatabaseSettings, DiscordSettings, GroveConfig
from bot.runner import register
from cogs import i18n
from cogs.i18n import LOCALES, SOURCE, Tr, tr_in
from cogs.tasks.cards import INSTRUCTIONS
from engine.guilds import collected_language, resolve_language
from engine.types import TaskType
from tests.discord.locales import speak
from tests.discord_env import Env
from tests.fakes import Exchange, FakeDiscord
from tests.fakes.payloads import GUILD_ID

Json = dict[str, Any]
# every Discord client locale that reads one of Grove's catalogs (es-419 reads the Spanish one)
LOCALISED = {"de", "es-ES", "es-419", "fr", "pt-BR", "ru", "zh-CN", "ja"}
WRITE_A_PROMPT = "Write a prompt"


def header(card: Exchange) -> Json:
    return card.message["embeds"][0]


def field(card: Exchange, index: int) -> Json:
    return header(card)["fields"][index]


# ---------------------------------------------------------------------------------------------- the member's locale


async def test_the_member_sees_their_discord_apps_language(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    speak(monkeypatch, {env.alice.id: "de", env.bob.id: "ko", env.carol.id: "en-GB"})
    german = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert header(german)["title"] == "✍️ Prompt schreiben" and field(german, 0)["name"] == "Sprache"
    labels = [c["label"] for row in german.message["components"] for c in row["components"]]
    assert "Überspringen" in labels and "Schreiben" in labels
    korean = await env.sim.slash("task", env.bob, type="initial_prompt")  # no Korean catalog: English
    british = await env.sim.slash("task", env.carol, type="initial_prompt")
    for card in (korean, british):
        assert header(card)["title"] == f"✍️ {WRITE_A_PROMPT}" and field(card, 0)["name"] == "Language"


async def test_language_ui_overrides_the_app_and_auto_returns_to_it(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    speak(monkeypatch, {env.alice.id: "de"})
    shown = await env.sim.slash("language ui", env.alice)
    text = shown.text()
    assert shown.ephemeral and "Deutsch" in text
    for name in ("English", "Español (España)", "Français", "Português (Brasil)", "Русский", "日本語", "中文"):
        assert name in text, name  # every interface language, in its own words (Babel's display names)
    chosen = await env.sim.slash("language ui", env.alice, code="ja")
    assert "日本語" in chosen.text()
    assert (await env.bot.engine.user(await env.member_id(env.alice))).ui_locale == "ja"
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert header(card)["title"] == "✍️ プロンプトを書く" and field(card, 0)["name"] == "言語"
    await env.restart()  # the choice is stored, not remembered in memory only
    offer = await env.sim.slash("task", env.alice, type="initial_prompt")  # her open task first, then New task
    card = await env.sim.click(offer.message, next(c for c in offer.custom_ids() if c.startswith("g:n:")), env.alice)
    assert header(card)["title"] == "✍️ プロンプトを書く"
    await env.sim.slash("language ui", env.alice, code="auto")
    assert (await env.bot.engine.user(await env.member_id(env.alice))).ui_locale is None
    offer = await env.sim.slash("task", env.alice, type="initial_prompt")
    assert "Deine offenen Aufgaben" in offer.text()  # her app's German
    card = await env.sim.click(offer.message, next(c for c in offer.custom_ids() if c.startswith("g:n:")), env.alice)
    assert header(card)["title"] == "✍️ Prompt schreiben"  # her app's German again


async def test_an_unknown_interface_language_is_refused(env: Env) -> None:
    from tests.discord.test_discord_hostile import forged_slash

    refused = await forged_slash(
        env, "language", env.alice, [{"name": "ui", "type": 1, "options": [{"name": "code", "type": 3, "value": "xx"}]}]
    )
    assert refused.ephemeral and "“xx”" in refused.text()
    assert (await env.bot.engine.user(await env.member_id(env.alice))).ui_locale is None


# ---------------------------------------------------------------------------------------------- the task's language


async def test_a_japanese_member_in_a_german_channel_gets_a_japanese_card_on_a_german_task(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    speak(monkeypatch, {env.alice.id: "ja"})
    de = env.channels["de"]
    await env.sim.slash("config", env.admin, sub=("language-channel", "set"), channel=de, language="de")
    card = await env.sim.slash("task", env.alice, type="initial_prompt", channel_id=de)
    task_id = card.custom_ids()[0].split(":")[2]
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).lang == "de"  # a German task
    japanese = tr_in("ja")
    assert header(card)["title"] == f"✍️ {japanese(WRITE_A_PROMPT)}" == "✍️ プロンプトを書く"
    assert field(card, 0) == {"name": "言語", "value": "de", "inline": True}
    assert header(card)["description"] == japanese(INSTRUCTIONS[TaskType.INITIAL_PROMPT])
    labels = [c["label"] for row in card.message["components"] for c in row["components"]]
    assert "スキップ" in labels


def test_the_language_order() -> None:
    """option → channel → preference → client locale when the server collects it → server default → en."""
    collected = frozenset({"de", "pt-br", "fr"})
    assert resolve_language("ES", "de", "fr", "en", client="ja", collected=collected) == "es"
    assert resolve_language(None, "de", "fr", "en", client="ja", collected=collected) == "de"
    assert resolve_language(None, None, "fr", "en", client="de", collected=collected) == "fr"
    assert resolve_language(None, None, None, "en", client="de", collected=collected) == "de"
    assert resolve_language(None, None, None, "en", client="pt-BR", collected=collected) == "pt-br"
    assert resolve_language(None, None, None, "en", client="ja", collected=collected) == "en"  # not collected
    assert resolve_language(None, None, None, None, client="ja", collected=collected) == "en"
    assert resolve_language(None, None, None, None) == "en"
    assert collected_language("de-AT", frozenset({"de"})) == "de"  # the base language counts
    assert collected_language("es-ES", frozenset({"es"})) == "es"
    assert collected_language("zh-CN", frozenset({"zh-tw"})) is None
    assert collected_language("not a code", frozenset({"de"})) is None


async def test_the_client_locale_picks_a_language_the_server_collects(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    speak(monkeypatch, {env.alice.id: "fr", env.bob.id: "ja", env.carol.id: "de", env.mod.id: "fr"})

    async def lang_of(person: Any, **options: Any) -> str:
        card = await env.sim.slash("task", person, type="initial_prompt", **options)
        return field(card, 0)["value"]

    await env.sim.slash("config", env.admin, sub=("language-channel", "set"), channel=env.channels["fr"], language="fr")
    await env.sim.slash("config", env.admin, sub="default-language", language="de")
    assert await lang_of(env.alice) == "fr"  # French app; the server has a French channel: French tasks here too
    assert await lang_of(env.bob) == "de"  # no Japanese channel: the server's default
    await env.sim.slash("language task", env.carol, code="es")
    assert await lang_of(env.carol) == "de"  # a preference for a language the server does not enable is passed over
    await env.sim.slash("config", env.admin, sub=("language", "add"), language="es")
    await env.sim.slash("language task", env.erin, code="es")
    assert await lang_of(env.erin) == "es"  # a preference outranks the app
    assert await lang_of(env.dave) == "de"  # English app, no English channel: the default
    assert await lang_of(env.admin, channel_id=env.channels["fr"]) == "fr"  # the channel outranks everything else
    assert await lang_of(env.mod, guild=False) == "fr"  # in DMs: what the servers of the member's community collect


# ---------------------------------------------------------------------------------------------- the sync payload


def walk(commands: list[Json]) -> Iterator[Json]:
    """Every command, group, subcommand, option and choice of a sync payload."""
    for command in commands:
        yield command
        yield from walk(command.get("options") or [])
        for choice in command.get("choices") or []:
            yield choice | {"_choice": True}


def check_localised(payload: list[Json]) -> None:
    verbatim = {tr_in(code).language(code.split("-")[0] if code == SOURCE else code) for code in LOCALES}
    for item in walk(payload):
        if item.get("_choice") and item["name"] in verbatim:  # a language's own name: the same in every locale
            assert not item.get("name_localizations"), item
            continue
        assert set(item.get("name_localizations") or {}) == LOCALISED, item["name"]
        for name in item["name_localizations"].values():
            assert 1 <= len(name) <= (100 if item.get("_choice") else 32)
        if "description" in item and not item.get("_choice"):
            assert set(item.get("description_localizations") or {}) == LOCALISED, item["name"]


async def test_the_dev_guild_sync_sends_every_interface_locale(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    from bot.bot import Grove

    config = GroveConfig(
        discord=DiscordSettings(api_base_url=fake_discord.api_base, dev_guild_id=GUILD_ID),
        database=DatabaseSettings(path=tmp_path / "g.db"),
    )
    bot = Grove(config, start_jobs=False)
    try:
        await bot.login("fake-token")
    finally:
        await bot.close()
    [sync] = fake_discord.find("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands")
    check_localised(sync.json)
    task = next(c for c in sync.json if c["name"] == "task")
    assert task["name_localizations"]["de"] == "aufgabe" and task["name_localizations"]["ja"] == "タスク"
    assert task["name_localizations"]["fr"] == "tache"
    assert task["description_localizations"]["de"].startswith("Hol dir eine Aufgabe")


async def test_grove_sync_sends_every_interface_locale(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        config = GroveConfig(
            discord=DiscordSettings(api_base_url=fake.api_base), database=DatabaseSettings(path=tmp_path / "g.db")
        )
        assert await register(config, "fake-token", None) == 0
        [sync] = fake.find("PUT", r"/applications/\d+/commands$")
    check_localised(sync.json)
    language = next(c for c in sync.json if c["name"] == "language")
    ui = next(o for o in language["options"] if o["name"] == "ui")
    names = {c["name"] for c in ui["options"][0]["choices"]}
    assert {"Deutsch", "日本語", "English"} <= names


async def test_the_translator_keeps_discords_name_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A translation that breaks Discord's name rules (spaces, too long) is not sent: the English name is."""
    from cogs.translator import GroveTranslator

    class Catalog(i18n.gettext.NullTranslations):
        def pgettext(self, context: str, message: str) -> str:
            return {"task": "Eine Aufgabe", "tasks": "Aufgaben", "status": "x" * 33}.get(message, message)

    monkeypatch.setattr(i18n, "translations", lambda code: Catalog())
    translator = GroveTranslator()
    context = discord.app_commands.TranslationContext(
        discord.app_commands.TranslationContextLocation.command_name, None
    )
    ask = translator.translate
    assert await ask(discord.app_commands.locale_str("task"), discord.Locale.german, context) == "task"
    assert await ask(discord.app_commands.locale_str("tasks"), discord.Locale.german, context) == "aufgaben"
    assert await ask(discord.app_commands.locale_str("status"), discord.Locale.german, context) == "status"
    assert await ask(discord.app_commands.locale_str("tasks"), discord.Locale.american_english, context) is None
    assert await ask(discord.app_commands.locale_str("tasks"), discord.Locale.korean, context) is None
    assert Tr("de").command("tasks") == "/aufgaben"  # texts name the commands as the member's app shows them
