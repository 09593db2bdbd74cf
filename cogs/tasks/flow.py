"""The moves every card shares: hand out, redraw, touch, next card (continuous mode), skip, stop, pages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.context import engine_of
from cogs.error_texts import rate_limited
from cogs.errors import report_error
from cogs.i18n import Tr, relative, tr_for
from cogs.replies import send
from cogs.tasks.cards import Card, render, type_title
from cogs.tasks.guidelines import guidelines_for
from cogs.tasks.items import Act, CardPart, TaskButton
from engine import errors
from engine.types import Task, TaskType

if TYPE_CHECKING:
    from bot.bot import Grove

ANY = "any"


class NextButton(ui.DynamicItem[ui.Button], template=r"g:n:(?P<type>[a-z_]{3,30}):(?P<lang>[a-z0-9-]{2,20})"):
    """ "Next task" on a card that ran out of work; hands out a task of that type (or any) in that language."""

    def __init__(
        self, task_type: str, lang: str, *, label: str | None = None, emoji: str = "▶️", row: int | None = None
    ) -> None:
        style = discord.ButtonStyle.primary
        super().__init__(ui.Button(label=label, emoji=emoji, style=style, custom_id=f"g:n:{task_type}:{lang}"), row=row)
        self.task_type, self.lang = task_type, lang

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> NextButton:
        return cls(match["type"], match["lang"])

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            member = await interaction.client.member_id(interaction.user)
            task_type = None if self.task_type == ANY else self.task_type
            task = await (await engine_of(interaction)).next_task(member, self.lang, task_type)
            card = render(task, tr, stop=True)
            await interaction.response.edit_message(embeds=card.embeds, view=card.view, attachments=[])
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)


def saved(tr: Tr) -> str:
    """The notice on the card after a submit."""
    return "✅ " + tr("Saved — thank you!")


async def open_task(act: Act) -> Task:
    return await (await act.engine()).open_task(act.task_id, await act.member())


async def touch(act: Act) -> None:
    """The member is visibly working on the task (opened a form, paged, tapped a rank): its place is held for
    them from now. A finished or expired task is refused like any stale card."""
    await (await act.engine()).touch_task(act.task_id, await act.member())


async def show(act: Act, task: Task, state: str = "", page: int | None = None, notice: str = "") -> None:
    """Redraw the card this interaction came from."""
    card = render(task, act.tr, state, page, notice=notice)
    await edit_card(act.interaction, card)


async def edit_card(interaction: discord.Interaction[Grove], card: Card) -> None:
    if interaction.message is not None:
        await interaction.response.edit_message(embeds=card.embeds, view=card.view, attachments=[])
    else:
        await send(interaction, embeds=card.embeds, view=card.view)


def finished(tr: Tr, notice: str, task_type: str, lang: str, detail: str) -> tuple[discord.Embed, ui.View]:
    embed = discord.Embed(title=notice, description=detail, colour=discord.Colour.green())
    view = ui.View(timeout=None)
    label = tr.ctx("button", "Same kind again") if task_type != ANY else tr.ctx("button", "Next task")
    view.add_item(NextButton(task_type, lang, label=label))
    if task_type != ANY:
        view.add_item(NextButton(ANY, lang, label=tr.ctx("button", "Any task")))
    return embed, view


async def next_card(act: Act, done: Task, notice: str) -> None:
    """After a submit or skip: the next task of the same type (continuous mode), or a way to go on."""
    member, tr = await act.member(), act.tr
    if act.bot.config.tasks.continuous:  # an untouched next card costs no one anything: its lease runs out
        try:
            task = await (await act.engine()).next_task(member, done.lang, done.type)
        except errors.NoTaskAvailable:
            title = type_title(tr, done.type)
            detail = tr(
                "No more “{kind}” tasks in {language} right now. Try another kind:", kind=title, language=done.lang
            )
            embed, view = finished(tr, notice, ANY, done.lang, detail)
            await act.interaction.response.edit_message(embeds=[embed], view=view, attachments=[])
            return
        except errors.RateLimited as exc:  # what was done is stored; only the next card must wait
            embed, view = finished(tr, notice, done.type.value, done.lang, f"⏳ {rate_limited(tr, exc)}")
            await act.interaction.response.edit_message(embeds=[embed], view=view, attachments=[])
            return
        await show(act, task, notice=notice)
        return
    embed, view = finished(tr, notice, done.type.value, done.lang, tr("Ready for another one?"))
    await act.interaction.response.edit_message(embeds=[embed], view=view, attachments=[])


async def skip(act: Act) -> None:
    member, tr = await act.member(), act.tr
    task = await (await act.engine()).get_task(act.task_id, member)
    if task.draft and act.arg != "sure":
        embed = discord.Embed(
            title=tr("Skip this task?"),
            description=tr("You have a draft for it; skipping throws the draft away."),
            colour=discord.Colour.orange(),
        )
        view = ui.View(timeout=None)
        danger, primary = discord.ButtonStyle.danger, discord.ButtonStyle.primary
        view.add_item(TaskButton(task.id, "skip", "sure", label=tr.ctx("button", "Skip anyway"), style=danger))
        view.add_item(TaskButton(task.id, "show", label=tr.ctx("button", "Back to my draft"), style=primary))
        await act.interaction.response.edit_message(embeds=[embed], view=view, attachments=[])
        return
    await (await act.engine()).skip_task(act.task_id, member)
    await next_card(act, task, "⏭️ " + tr("Skipped — you won't see that one again."))


async def show_again(act: Act) -> None:
    await show(act, await open_task(act))


async def page(act: Act) -> None:
    number, _, state = act.arg.partition(".")
    await touch(act)
    await show(act, await open_task(act), state, int(number) if number.lstrip("-").isdigit() else None)


async def stop(act: Act) -> None:
    """Stop: the task's place goes back to others at once; the task (and its draft) stays the member's to resume."""
    task, tr = await open_task(act), act.tr
    await (await act.engine()).release_task(task.id, await act.member())
    named = {"when": relative(task.expires_at) if task.expires_at else "", "tasks": tr.code("tasks")}
    if task.expires_at and task.draft:
        text = tr(
            "Its place is free for others now. The task stays yours until {when}, draft included: press "
            "**Continue**, or find it later with {tasks}.",
            **named,
        )
    elif task.expires_at:
        text = tr(
            "Its place is free for others now. The task stays yours until {when}: press **Continue**, "
            "or find it later with {tasks}.",
            **named,
        )
    elif task.draft:
        text = tr(
            "Its place is free for others now. The task stays yours, draft included: press **Continue**, "
            "or find it later with {tasks}.",
            **named,
        )
    else:
        text = tr(
            "Its place is free for others now. The task stays yours: press **Continue**, "
            "or find it later with {tasks}.",
            **named,
        )
    embed = discord.Embed(title="⏹️ " + tr("Stopped"), description=text, colour=discord.Colour.light_grey())
    view = ui.View(timeout=None)
    primary = discord.ButtonStyle.primary
    view.add_item(TaskButton(task.id, "resume", label=tr.ctx("button", "Continue"), emoji="▶️", style=primary))
    await act.interaction.response.edit_message(embeds=[embed], view=view, attachments=[])


async def guide(act: Act) -> None:
    task = await (await act.engine()).get_task(act.task_id, await act.member())
    title = "📖 " + act.tr("Guidelines")
    embed = discord.Embed(title=title, description=guidelines_for(act.tr, task.type), colour=discord.Colour.teal())
    await send(act.interaction, embeds=[embed])


async def hand_out(
    interaction: discord.Interaction[Grove], tr: Tr, task_type: TaskType | str | None, lang: str
) -> None:
    """`/task`: a new task as an ephemeral card."""
    bot = interaction.client
    member = await bot.member_id(interaction.user)
    task = await (await engine_of(interaction, home=True)).next_task(member, lang, task_type)
    card = render(task, tr)
    await send(interaction, embeds=card.embeds, view=card.view)


PART = CardPart(
    "flow",
    buttons={"skip": skip, "show": show_again, "page": page, "stop": stop, "guide": guide},
)
