"""Consent first (issue 15): the one-time card that says what Grove collects, where it goes and under which licence,
with Agree and Not now. An extension (no cog, no commands): it registers its buttons and answers the engine's
`ConsentRequired` through the central error handler (`cogs.errors.ANSWERS`), so every way of contributing (a
task, a draft, a submit, a review, a report) shows the card instead, with whatever the member typed given back.

custom_id grammar (DynamicItems: they keep working after a restart):
    g:cs:agree[:<task type|any>:<lang>]   agree; after /task, the answer offers the task asked for (`g:n:…`, the
                                          tasks feature's Next button)
    g:cs:later                            not now: nothing is stored, the card says how to agree later
The member is always the one who clicked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.context import member_id, task_language
from cogs.errors import ANSWERS, report_error
from cogs.i18n import Tr, day, tr_for
from cogs.replies import send, text_back
from engine.errors import ConsentRequired, DomainError
from engine.privacy import ConsentState
from engine.types import TaskType

if TYPE_CHECKING:
    from bot.bot import Grove

CS_ID = re.compile(r"g:cs:(?P<action>agree|later)(?::(?P<type>[a-z_]{3,30}):(?P<lang>[a-z0-9-]{2,20}))?")
NEXT_ID = re.compile(r"g:n:[a-z_]{3,30}:[a-z0-9-]{2,20}")  # the tasks feature's Next button (`cogs.tasks.flow`)
ANY = "any"
RANDOM = "random"
TITLE = "📜 "


# ---------------------------------------------------------------------------------------------- what the card says


def card_embed(tr: Tr, bot: Grove, state: ConsentState) -> discord.Embed:
    """What Grove collects, where it goes, under which licence, and what the member can do about it."""
    settings = bot.config.community
    what = tr(
        "Grove collects what you give here to build an open dataset of conversations for training and "
        "evaluating AI assistants:\n"
        "• **the texts you write** (prompts and replies),\n"
        "• **your reviews and rankings** of other members' texts, and your reactions to them,\n"
        "• **your Discord id**, kept only as a pseudonymous member id: the dataset shows a random-looking id, "
        "never your name or your Discord account."
    )
    embed = discord.Embed(title=TITLE + tr("Before your first contribution"), description=what)
    embed.colour = discord.Colour.blurple()
    where = tr(
        "Your community's admins export it as an openly licensed dataset in the Open-Assistant (oasst) format, "
        "which anyone may download and use."
    )
    embed.add_field(name=tr("Where it goes"), value=where, inline=False)
    embed.add_field(name=tr("Licence"), value=settings.dataset_license[:100], inline=False)
    choices = tr(
        "Nothing of yours is stored until you agree. You can withdraw any time with {privacy}: nothing new is "
        "stored after that, and what you gave before stays unless you also remove your name or delete your "
        "texts there.",
        privacy=tr.code("privacy"),
    )
    if state.withdrawn_at is not None:
        withdrawn = tr("You withdrew your consent on {date}.", date=day(state.withdrawn_at))
        choices = f"{withdrawn}\n{choices}"
    embed.add_field(name=tr("Your choice"), value=choices[:1024], inline=False)
    if settings.terms_url:
        embed.add_field(name=tr("Terms"), value=tr("[Read the full terms]({url})", url=settings.terms_url))
    return embed


def card_view(tr: Tr, agree_id: str = "g:cs:agree") -> ui.View:
    view = ui.View(timeout=None)
    view.add_item(ConsentButton(agree_id, tr.ctx("button", "I agree"), discord.ButtonStyle.success))
    view.add_item(ConsentButton("g:cs:later", tr.ctx("button", "Not now"), discord.ButtonStyle.secondary))
    return view


def agreed_embed(tr: Tr, state: ConsentState) -> discord.Embed:
    text = tr(
        "Thank you — you agreed on {date}. You can see or withdraw your consent any time with {privacy}.",
        date=day(state.agreed_at or 0),
        privacy=tr.code("privacy"),
    )
    return discord.Embed(title="✅ " + tr("You agreed"), description=text, colour=discord.Colour.green())


def later_embed(tr: Tr) -> discord.Embed:
    text = tr(
        "Nothing of yours was stored. When you are ready, agree with {privacy} or the next time you take a {task}.",
        privacy=tr.code("privacy"),
        task=tr.code("task"),
    )
    return discord.Embed(title=tr("Not now"), description=text, colour=discord.Colour.light_grey())


# ---------------------------------------------------------------------------------------------- showing the card


async def agree_id(interaction: discord.Interaction[Grove]) -> str:
    """Agree's custom_id: after /task it carries the request, so the answer can offer that task."""
    command = interaction.command
    if command is None or command.qualified_name != "task":
        return "g:cs:agree"
    task_type = getattr(interaction.namespace, "type", None) or RANDOM
    option = getattr(interaction.namespace, "language", None)
    if task_type != RANDOM and task_type not in {t.value for t in TaskType}:
        return "g:cs:agree"
    try:
        lang = await task_language(interaction, option)
    except DomainError:
        return "g:cs:agree"
    custom_id = f"g:cs:agree:{ANY if task_type == RANDOM else task_type}:{lang}"
    return custom_id if CS_ID.fullmatch(custom_id) else "g:cs:agree"


async def show_card(interaction: discord.Interaction[Grove], error: DomainError, tr: Tr, typed: str) -> None:
    """Answer `ConsentRequired` with the card (ephemeral), giving back what the member typed: it was not stored."""
    state = await interaction.client.engine.consent(await member_id(interaction))
    embeds, files = text_back(tr, typed)
    card = card_embed(tr, interaction.client, state)
    await send(interaction, embeds=[card, *embeds], files=files, view=card_view(tr, await agree_id(interaction)))


class ConsentButton(ui.DynamicItem[ui.Button], template=CS_ID.pattern):
    def __init__(
        self, custom_id: str, label: str | None = None, style: discord.ButtonStyle = discord.ButtonStyle.secondary
    ) -> None:
        super().__init__(ui.Button(label=label, style=style, custom_id=custom_id))
        match = CS_ID.fullmatch(custom_id)
        assert match is not None
        self.action, self.task_type, self.lang = match["action"], match["type"], match["lang"]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> ConsentButton:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            await self.act(interaction, tr)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)

    async def act(self, interaction: discord.Interaction[Grove], tr: Tr) -> None:
        # what the member typed (given back below the card, or attached) stays on the message
        message = interaction.message
        kept = list(message.embeds[1:]) if message is not None else []
        typed_back = bool(kept or (message is not None and message.attachments))
        if self.action == "later":
            await interaction.response.edit_message(embeds=[later_embed(tr), *kept], view=None)
            return
        state = await interaction.client.engine.give_consent(await member_id(interaction))
        view = None
        if self.task_type and self.lang and NEXT_ID.fullmatch(next_id := f"g:n:{self.task_type}:{self.lang}"):
            view = ui.View(timeout=None)
            label = tr.ctx("button", "Get my task")
            view.add_item(ui.Button(label=label, emoji="▶️", style=discord.ButtonStyle.primary, custom_id=next_id))
        elif typed_back:
            note = tr("Nothing you typed was lost: it is kept with this message. Send it again from your task card.")
            kept.insert(0, discord.Embed(description=note, colour=discord.Colour.green()))
        await interaction.response.edit_message(embeds=[agreed_embed(tr, state), *kept], view=view)


async def setup(bot: Grove) -> None:
    bot.add_dynamic_items(ConsentButton)
    ANSWERS[ConsentRequired] = show_card


async def teardown(bot: Grove) -> None:
    bot.remove_dynamic_items(ConsentButton)
    if ANSWERS.get(ConsentRequired) is show_card:
        del ANSWERS[ConsentRequired]
