"""Contributor commands: /task, /tasks, /status, /language, /guidelines, /help; and the router for Grove's modals."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from cogs.charts import render_trees
from cogs.checks import is_admin, is_moderator
from cogs.context import member_id
from cogs.replies import send
from cogs.tasks import flow, parts, resume
from cogs.tasks.cards import TITLES
from cogs.tasks.guidelines import guidelines_for
from cogs.tasks.items import answer_stale, dispatch_modal
from engine import errors
from engine.lang import normalize_lang
from engine.types import TaskType, TreeState

if TYPE_CHECKING:
    from bot.bot import Grove

RANDOM = "random"
STATE_WORDS = {
    TreeState.INITIAL_PROMPT_REVIEW: "prompts wait for reviews",
    TreeState.PROMPT_LOTTERY_WAITING: "accepted prompts wait for the lottery",
    TreeState.GROWING: "trees are growing (they need replies and reviews)",
    TreeState.RANKING: "trees wait for rankings",
    TreeState.READY_FOR_SCORING: "trees wait to be scored",
    TreeState.READY_FOR_EXPORT: "trees are finished and exported",
    TreeState.SCORING_FAILED: "trees failed scoring (retried automatically)",
    TreeState.ABORTED_LOW_GRADE: "prompts were rejected by reviewers",
    TreeState.HALTED_BY_MODERATOR: "trees are halted by moderators",
    TreeState.BACKLOG_RANKING: "imported trees wait in the backlog",
}


def type_name(t: TaskType) -> str:
    return TITLES[t][1]


class Tasks(commands.Cog):
    member_data_held: ClassVar[str] = "the messages the member wrote on task cards, and their drafts"

    def __init__(self, bot: Grove) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        parts.install()  # the bodies and actions of every card (kept when unloaded: they are code, not state)

    # ------------------------------------------------------------------ what the member's data is (cogs.privacy)

    async def member_data(self, user_id: int) -> dict[str, Any]:
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
                }
                for m in await self.bot.engine.messages_of_user(user_id)
            ]
        }

    async def delete_member_data(self, user_id: int) -> None:
        """Nothing is left here after the engine's purge: it withdrew the member's open tasks and erased their
        texts and drafts; cards are ephemeral (only the member saw them) and their buttons now find no task."""

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Grove]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            if not await dispatch_modal(interaction):
                await answer_stale(interaction)
        elif interaction.type is discord.InteractionType.component:
            await answer_stale(interaction)  # only custom_ids no Grove button takes

    async def _language(self, interaction: discord.Interaction[Grove], option: str | None) -> str:
        bot = interaction.client
        user = await bot.engine.user(await member_id(interaction))
        return await bot.settings.language_for(
            interaction.guild_id, interaction.channel_id, option, user.preferred_lang
        )

    # ------------------------------------------------------------------ /task

    @app_commands.command(name="task", description="Get a task: write, reply, review or rank.")
    @app_commands.describe(type="What kind of task (default: a random one)", language="Language code, e.g. en or de")
    async def task(
        self, interaction: discord.Interaction[Grove], type: str | None = None, language: str | None = None
    ) -> None:
        lang = await self._language(interaction, language)
        task_type = resume.valid_type(None if type in (None, "", RANDOM) else type)
        if not await resume.offer(interaction, task_type, lang):  # open tasks first, with New task
            await flow.hand_out(interaction, task_type, lang)

    # ------------------------------------------------------------------ /tasks

    @app_commands.command(name="tasks", description="Your unfinished tasks: resume or release them.")
    async def tasks(self, interaction: discord.Interaction[Grove]) -> None:
        await resume.show_list(interaction)

    @task.autocomplete("type")
    async def task_type_choices(
        self, interaction: discord.Interaction[Grove], current: str
    ) -> list[app_commands.Choice[str]]:
        option = getattr(interaction.namespace, "language", None)
        try:
            lang = await self._language(interaction, option)
            counts = (await interaction.client.engine.availability(await member_id(interaction), lang)).counts
        except errors.DomainError:
            counts = {}
        total = sum(counts.values())
        choices = [app_commands.Choice(name=f"Random ({total} available)", value=RANDOM)]
        choices += [
            app_commands.Choice(name=f"{type_name(t)} ({counts.get(t, 0)} available)", value=t.value) for t in TaskType
        ]
        needle = current.lower()
        return [c for c in choices if needle in c.name.lower() or needle in c.value][:25]

    @task.autocomplete("language")
    async def language_choices(
        self, interaction: discord.Interaction[Grove], current: str
    ) -> list[app_commands.Choice[str]]:
        langs = set(await interaction.client.engine.languages()) | {"en"}
        found = [code for code in sorted(langs) if code.startswith(current.lower())]
        return [app_commands.Choice(name=code, value=code) for code in found[:25]]

    # ------------------------------------------------------------------ /status

    @app_commands.command(name="status", description="What you can do now, and how the trees of a language stand.")
    @app_commands.describe(language="Language code, e.g. en or de")
    async def status(self, interaction: discord.Interaction[Grove], language: str | None = None) -> None:
        bot = interaction.client
        lang = await self._language(interaction, language)
        availability = await bot.engine.availability(await member_id(interaction), lang)
        counts = await bot.engine.tree_counts(lang)
        embed = discord.Embed(title=f"Status · {lang}", colour=discord.Colour.blurple())
        lines = [f"**{type_name(t)}**: {n}" for t, n in availability.counts.items() if n]
        embed.add_field(
            name="Tasks for you now",
            value="\n".join(lines) or "Nothing right now — see why below.",
            inline=False,
        )
        trees = [f"{n} {STATE_WORDS[TreeState(s)]}" for s, n in counts.items() if n]
        embed.add_field(name="Trees", value="\n".join(trees) or f"No trees in {lang} yet: write the first prompt!")
        if not availability.total:
            embed.add_field(name="Why nothing?", value=why_nothing(counts), inline=False)
        await interaction.response.defer(ephemeral=True, thinking=True)  # drawing the chart takes a moment
        every_state = {state.value: counts.get(state, 0) for state in TreeState}
        png = await render_trees(every_state, f"Trees per state · {lang}")
        embed.set_image(url="attachment://trees.png")
        await send(interaction, embeds=[embed], files=[discord.File(io.BytesIO(png), filename="trees.png")])

    # ------------------------------------------------------------------ /language

    @app_commands.command(name="language", description="Show or set your preferred language.")
    @app_commands.describe(code="A language code such as en, de or pt-BR; leave out to see the current one")
    async def language(self, interaction: discord.Interaction[Grove], code: str | None = None) -> None:
        bot = interaction.client
        member = await member_id(interaction)
        if code is None:
            user = await bot.engine.user(member)
            here = await self._language(interaction, None)
            await send(
                interaction,
                f"Your preferred language: **{user.preferred_lang or 'not set'}**. Tasks here come in **{here}**.",
            )
            return
        lang = normalize_lang(code)
        await bot.engine.set_preferred_language(member, lang)
        await send(interaction, f"Your preferred language is now **{lang}**.")

    # ------------------------------------------------------------------ /guidelines and /help

    @app_commands.command(name="guidelines", description="How to write, review and rank well.")
    @app_commands.describe(task="The kind of task")
    @app_commands.choices(task=[app_commands.Choice(name=type_name(t), value=t.value) for t in TaskType])
    async def guidelines(
        self, interaction: discord.Interaction[Grove], task: app_commands.Choice[str] | None = None
    ) -> None:
        text = guidelines_for(TaskType(task.value) if task else None)
        await send(interaction, embeds=[discord.Embed(title="📖 Guidelines", description=text)])

    @app_commands.command(name="help", description="What Grove is and what you can do with it.")
    async def help(self, interaction: discord.Interaction[Grove]) -> None:
        embed = discord.Embed(
            title="🌳 Grove",
            description=(
                "Grove grows a dataset of conversations for training assistants. Write prompts, answer as the "
                "assistant or the user, review messages and rank answers; finished trees are exported openly."
            ),
            colour=discord.Colour.green(),
        )
        embed.add_field(
            name="Everyone",
            value=(
                "`/task` get a task · `/tasks` your unfinished ones · `/status` what is available\n"
                "`/language` your language · `/guidelines` how to do it well · `/help` this page\n"
                "A card you leave alone keeps your draft, but after a few minutes its place goes to others; "
                "**Stop** gives it back at once. `/tasks` picks it up again."
            ),
            inline=False,
        )
        if await is_moderator(interaction):
            embed.add_field(
                name="Moderators",
                value=(
                    "`/mod halt|resume <tree>` · `/mod delete|restore <message>` · `/mod ban|unban <member>`\n"
                    "In the feed: ⛔ halts the tree, 🗑️ deletes the message, ✅ clears flags or restores."
                ),
                inline=False,
            )
        if await is_admin(interaction):
            embed.add_field(
                name="Admins",
                value=(
                    "`/config language-channel set|remove|list` · `/config moderator-role` · `/config feed-channel`"
                    " · `/config mod-queue-channel` · `/config default-language` · `/config show`"
                ),
                inline=False,
            )
        await send(interaction, embeds=[embed])


def why_nothing(counts: Mapping[TreeState, int]) -> str:
    c = {TreeState(k): v for k, v in counts.items()}
    reasons = []
    if c.get(TreeState.INITIAL_PROMPT_REVIEW):
        reasons.append(f"{c[TreeState.INITIAL_PROMPT_REVIEW]} prompts wait for reviews by others")
    if c.get(TreeState.GROWING):
        reasons.append(f"{c[TreeState.GROWING]} growing trees have no free slot for you (or only your own messages)")
    if c.get(TreeState.RANKING):
        reasons.append(f"{c[TreeState.RANKING]} trees wait for rankings you already gave or cannot give")
    if not reasons:
        reasons.append("there is no open work in this language")
    return "; ".join(reasons) + ". Try again later or another language."
