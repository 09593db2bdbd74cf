"""Contributor commands: /task, /tasks, /status, /language task|ui, /guidelines, /help; and the router for Grove's
modals. Every answer is in the member's language (`cogs.i18n`); what /status, /help and /language show is in
`info.py`."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.charts import render_trees
from cogs.checks import heavy, is_admin, is_moderator
from cogs.context import engine_of, member_id, task_language
from cogs.i18n import LOCALES, chosen_locale, from_discord, supported, tr_for, tr_in, verbatim
from cogs.replies import send
from cogs.tasks import parts, resume
from cogs.tasks.cards import type_title
from cogs.tasks.guidelines import guidelines_for
from cogs.tasks.info import help_embed, interface_languages, language_name, status_embed
from cogs.tasks.items import answer_stale, dispatch_modal
from engine import errors
from engine.lang import normalize_lang
from engine.types import TaskType, TreeState

if TYPE_CHECKING:
    from bot.bot import Grove

RANDOM = "random"
AUTO = "auto"  # /language ui: follow the Discord app's language
UI_CHOICES = [app_commands.Choice(name=verbatim(language_name(code)), value=code) for code in LOCALES]
UI_CHOICES.append(app_commands.Choice(name="Discord's language (automatic)", value=AUTO))
REVIEW_RESULTS = {True: "accepted", False: "rejected", None: "pending"}  # a message's review result, as exported


class Tasks(commands.Cog):
    member_data_held: ClassVar[str] = "the messages the member wrote on task cards, and their drafts"
    language = app_commands.Group(name="language", description="Your languages: of your tasks, and of Grove itself.")

    def __init__(self, bot: Grove) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        parts.install()  # the bodies and actions of every card (kept when unloaded: they are code, not state)

    # ------------------------------------------------------------------ what the member's data is (cogs.privacy)

    async def member_data(self, user_id: int) -> dict[str, Any]:
        """The member's messages with what became of them: review result, their tree's state, their rank."""
        return {
            "messages": [
                {
                    "message_id": m.id,
                    "tree_id": m.tree_id,
                    "parent_id": m.parent_id,
                    "role": m.role,
                    "lang": m.lang,
                    "created": datetime.fromtimestamp(m.created_at, UTC).isoformat(),
                    "text": m.text,
                    "review": REVIEW_RESULTS[m.review_result],
                    "tree_state": own.tree_state.value,
                    "rank": m.rank,
                }
                for own in await self.bot.engine.own_messages(user_id)
                if not (m := own.message).deleted
            ]
        }

    async def delete_member_data(self, user_id: int) -> None:
        """Nothing is left here after the engine's purge: it withdrew the member's open tasks and erased their
        texts and drafts; cards are ephemeral (only the member saw them) and their buttons now find no task."""

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Grove]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            if (running := asyncio.current_task()) is not None:
                running.set_name("grove-modal")  # counted among the interactions at work (bot/gate.py)
            if not await dispatch_modal(interaction):
                await answer_stale(interaction)
        elif interaction.type is discord.InteractionType.component:
            await answer_stale(interaction)  # only custom_ids no Grove button takes

    # ------------------------------------------------------------------ /task

    @app_commands.command(name="task", description="Get a task: write, reply, review or rank.")
    @app_commands.describe(type="What kind of task (default: a random one)", language="Language code, e.g. en or de")
    async def task(
        self, interaction: discord.Interaction[Grove], type: str | None = None, language: str | None = None
    ) -> None:
        tr = await tr_for(interaction)
        lang = await task_language(interaction, language)
        task_type = resume.valid_type(tr, None if type in (None, "", RANDOM) else type)
        await resume.offer_or_hand_out(interaction, tr, task_type, lang)  # open tasks first, with New task

    # ------------------------------------------------------------------ /tasks

    @app_commands.command(name="tasks", description="Your unfinished tasks: resume or release them.")
    async def tasks(self, interaction: discord.Interaction[Grove]) -> None:
        await resume.show_list(interaction, await tr_for(interaction))

    @task.autocomplete("type")
    async def task_type_choices(
        self, interaction: discord.Interaction[Grove], current: str
    ) -> list[app_commands.Choice[str]]:
        tr = await tr_for(interaction)
        option = getattr(interaction.namespace, "language", None)
        try:
            lang = await task_language(interaction, option)
            counts = (await (await engine_of(interaction)).availability(await member_id(interaction), lang)).counts
        except errors.DomainError:
            counts = {}
        total = sum(counts.values())
        choices = [
            app_commands.Choice(name=tr("Random ({count} available)", count=tr.number(total))[:100], value=RANDOM)
        ]
        for t in TaskType:
            n = counts.get(t, 0)
            name = tr("{kind} ({count} available)", kind=type_title(tr, t), count=tr.number(n))
            choices.append(app_commands.Choice(name=name[:100], value=t.value))
        needle = current.lower()
        return [c for c in choices if needle in c.name.lower() or needle in c.value][:25]

    @task.autocomplete("language")
    async def language_choices(
        self, interaction: discord.Interaction[Grove], current: str
    ) -> list[app_commands.Choice[str]]:
        tr = await tr_for(interaction)
        if interaction.guild_id is not None:  # the languages this server enables (`/config language`)
            langs = set((await interaction.client.settings.get(interaction.guild_id)).languages)
        else:
            langs = set(await (await engine_of(interaction)).languages()) | {"en"}
        found = [code for code in sorted(langs) if code.startswith(current.lower())]
        return [app_commands.Choice(name=f"{code} · {tr.language(code)}"[:100], value=code) for code in found[:25]]

    # ------------------------------------------------------------------ /status

    @app_commands.command(name="status", description="What you can do now, and how the trees of a language stand.")
    @heavy()
    @app_commands.describe(language="Language code, e.g. en or de")
    async def status(self, interaction: discord.Interaction[Grove], language: str | None = None) -> None:
        tr = await tr_for(interaction)
        lang = await task_language(interaction, language)
        engine = await engine_of(interaction)
        availability = await engine.availability(await member_id(interaction), lang)
        counts = await engine.tree_counts(lang)
        embed = status_embed(tr, lang, availability, counts)
        await interaction.response.defer(ephemeral=True, thinking=True)  # drawing the chart takes a moment
        every_state = {state: counts.get(state, 0) for state in TreeState}
        png = await render_trees(tr, every_state, lang)
        embed.set_image(url="attachment://trees.png")
        await send(interaction, embeds=[embed], files=[discord.File(io.BytesIO(png), filename="trees.png")])

    # ------------------------------------------------------------------ /language task | ui

    @language.command(name="task", description="Show or set the language of your tasks.")
    @app_commands.describe(code="A language code such as en, de or pt-BR; leave out to see the current one")
    async def language_task(self, interaction: discord.Interaction[Grove], code: str | None = None) -> None:
        bot = interaction.client
        tr = await tr_for(interaction)
        member = await member_id(interaction)
        if code is None:
            user = await bot.engine.user(member)
            here = await task_language(interaction, None)
            preferred = f"**{user.preferred_lang}**" if user.preferred_lang else f"**{tr('not set')}**"
            said = tr(
                "Your preferred language: {preferred}. Tasks here come in **{here}**.", preferred=preferred, here=here
            )
            await send(interaction, said)
            return
        lang = normalize_lang(code)
        await bot.engine.set_preferred_language(member, lang)
        bot.task_langs[interaction.user.id] = lang
        await send(interaction, tr("Your preferred language is now **{language}**.", language=lang))

    @language.command(name="ui", description="Show or choose the language Grove speaks to you.")
    @app_commands.describe(code="The language of Grove's cards and messages; leave out to see the current one")
    @app_commands.choices(code=UI_CHOICES)
    async def language_ui(
        self, interaction: discord.Interaction[Grove], code: app_commands.Choice[str] | None = None
    ) -> None:
        bot = interaction.client
        client = from_discord(interaction.locale)
        if code is None:
            chosen = await chosen_locale(bot, interaction.user)
            tr = tr_in(chosen or client, client)
            await send(interaction, interface_languages(tr, chosen, client))
            return
        locale = None if code.value == AUTO else supported(code.value)
        if code.value != AUTO and locale is None:
            raise errors.InvalidLanguage()
        await bot.engine.set_ui_locale(await member_id(interaction), locale)
        bot.ui_locales[interaction.user.id] = locale
        tr = tr_in(locale or client, client)  # the answer is in the new language already
        said = tr("Grove now speaks to you in **{language}**.", language=language_name(tr.locale))
        await send(interaction, said)

    # ------------------------------------------------------------------ /guidelines and /help

    @app_commands.command(name="guidelines", description="How to write, review and rank well.")
    @app_commands.describe(task="The kind of task")
    @app_commands.choices(
        task=[app_commands.Choice(name=type_title(tr_in("en-US"), t), value=t.value) for t in TaskType]
    )
    async def guidelines(
        self, interaction: discord.Interaction[Grove], task: app_commands.Choice[str] | None = None
    ) -> None:
        tr = await tr_for(interaction)
        text = guidelines_for(tr, TaskType(task.value) if task else None)
        await send(interaction, embeds=[discord.Embed(title="📖 " + tr("Guidelines"), description=text)])

    @app_commands.command(name="help", description="What Grove is and what you can do with it.")
    async def help(self, interaction: discord.Interaction[Grove]) -> None:
        tr = await tr_for(interaction)
        embed = help_embed(tr, moderator=await is_moderator(interaction), admin=await is_admin(interaction))
        await send(interaction, embeds=[embed])
