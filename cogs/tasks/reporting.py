"""Report from a task card: the marked message of a review, the last turn of a writing task, and on a ranking
card the reply the member picks (A, B, C… or the message they answer) before the form asks why.

    Report (g:t:<task>:report) → ranking card: a select g:s:<task>:report of the replies → the form
    g:m:<task>:report:<letter|parent>; any other card: the form g:m:<task>:report at once.
"""

from __future__ import annotations

import discord
from discord import ui

from cogs.replies import send
from cogs.tasks.cards import excerpt
from cogs.tasks.items import SELECTED, Act, CardPart, TaskSelect, modal_id, open_modal
from cogs.tasks.ranking import badge, letters
from engine import errors
from engine.types import Task, TaskKind

REASON = "reason"
PARENT = "parent"  # the message the replies of a ranking answer


class ReportModal(ui.Modal):
    def __init__(self, task_id: str, choice: str = "", what: str = "") -> None:
        title = f"Report {what or 'this message'}"[:45]
        super().__init__(title=title, custom_id=modal_id(task_id, "report", choice), timeout=None)
        self.add_item(
            ui.Label(
                text="What is wrong with it?",
                component=ui.TextInput(
                    custom_id=REASON, style=discord.TextStyle.paragraph, max_length=1000, required=False
                ),
            )
        )


def reported_message(task: Task) -> str | None:
    """What a report from a card that is not a ranking is about: the marked message, else the last turn."""
    if task.target_id and any(m.id == task.target_id for m in task.conversation):
        return task.target_id
    return task.conversation[-1].id if task.conversation else None


def choices(task: Task) -> dict[str, tuple[str, str]]:
    """A ranking card's reportable messages: choice -> (message id, how the member knows it)."""
    out = {c: (m.id, f"reply {c}") for c, m in zip(letters(task), task.candidates, strict=False)}
    parent = reported_message(task)
    if parent is not None:
        out[PARENT] = (parent, "the message answered")
    return out


def chosen(task: Task, choice: str) -> tuple[str, str]:
    """The message a report is about, and how to name it to the member."""
    if task.kind is TaskKind.RANKING:
        if choice not in choices(task):  # none (a form from an older card) or not one of this card's
            raise errors.TaskWrongKind("Say which reply you report: press Report on the card again and pick it.")
        return choices(task)[choice]
    if choice:  # only ranking cards ask which message
        raise errors.TaskWrongKind()
    message_id = reported_message(task)
    if message_id is None:
        raise errors.MessageNotFound("This task has no message to report.")
    return message_id, ""


def picker(task: Task) -> tuple[discord.Embed, ui.View]:
    """Which reply of a ranking card to report (a select; choosing opens the form)."""
    options = [
        discord.SelectOption(label=f"Reply {c}", value=c, emoji=badge(c), description=excerpt(m.text, 100) or None)
        for c, m in zip(letters(task), task.candidates, strict=False)
    ]
    parent = next((m for m in task.conversation if m.id == reported_message(task)), None)
    if parent is not None:
        text = excerpt(parent.text, 100) or None
        label = "The message they answer"
        options.append(discord.SelectOption(label=label, value=PARENT, emoji="💬", description=text))
    view = ui.View(timeout=None)
    view.add_item(TaskSelect(task.id, "report", options=options[:25], placeholder="Which one do you report?"))
    embed = discord.Embed(
        title="🚩 Report which reply?",
        description="Pick the reply (or the message they answer) that breaks the rules; then say why.",
        colour=discord.Colour.red(),
    )
    return embed, view


async def report(act: Act) -> None:
    task = await act.bot.engine.get_task(act.task_id, await act.member())  # only the card's owner
    if task.kind is TaskKind.RANKING and task.candidates:
        embed, view = picker(task)
        await send(act.interaction, embeds=[embed], view=view)
        return
    await open_modal(act.interaction, ReportModal(act.task_id))


async def pick(act: Act) -> None:
    task = await act.bot.engine.get_task(act.task_id, await act.member())
    values = act.values.get(SELECTED) or []
    choice = values[0] if len(values) == 1 else ""
    _, what = chosen(task, choice)
    await open_modal(act.interaction, ReportModal(act.task_id, choice, what))


async def reported(act: Act) -> None:
    reason = act.values.get(REASON)
    reason = reason if isinstance(reason, str) else ""
    try:
        member = await act.member()
        task = await act.bot.engine.get_task(act.task_id, member)
        message_id, what = chosen(task, act.arg)
        await act.bot.engine.report(member, message_id, reason)
    except errors.DomainError as exc:  # what the member typed comes back with the refusal
        exc.text = exc.text or reason or None
        raise
    act.bot.dispatch("grove_report", message_id, act.interaction.guild_id, member)
    await send(act.interaction, f"🚩 Reported{f' {what}' if what else ''} — moderators will have a look. Thank you.")


PART = CardPart("reporting", buttons={"report": report}, selects={"report": pick}, modals={"report": reported})
