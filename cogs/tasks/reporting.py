"""Report from a task card: the marked message of a review, the last turn of a writing task, and on a ranking
card the reply the member picks (A, B, C… or the message they answer) before the form asks why.

    Report (g:t:<task>:report) → ranking card: a select g:s:<task>:report of the replies → the form
    g:m:<task>:report:<letter|parent>; any other card: the form g:m:<task>:report at once.
"""

from __future__ import annotations

import discord
from discord import ui

from cogs.context import community_of
from cogs.i18n import Tr, tr_in
from cogs.replies import send
from cogs.tasks.cards import excerpt
from cogs.tasks.items import SELECTED, Act, CardPart, TaskSelect, modal_id, open_modal
from cogs.tasks.ranking import badge, letters, reply_name
from engine import errors
from engine.types import Task, TaskKind

REASON = "reason"
PARENT = "parent"  # the message the replies of a ranking answer


class ReportModal(ui.Modal):
    def __init__(self, task_id: str, choice: str = "", tr: Tr | None = None) -> None:
        tr = tr or tr_in("en-US")
        # Translators: the title of the report form (at most 45 characters; longer is cut)
        if choice == PARENT:
            title = tr("Report the message answered")
        elif choice:
            title = tr("Report reply {letter}", letter=choice)
        else:
            title = tr("Report this message")
        super().__init__(title=title[:45], custom_id=modal_id(task_id, "report", choice), timeout=None)
        self.add_item(
            ui.Label(
                text=tr("What is wrong with it?"),
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


def choices(task: Task) -> dict[str, str]:
    """A ranking card's reportable messages: choice (a reply's letter, or PARENT) -> message id."""
    out = {c: m.id for c, m in zip(letters(task), task.candidates, strict=False)}
    parent = reported_message(task)
    if parent is not None:
        out[PARENT] = parent
    return out


def chosen(tr: Tr, task: Task, choice: str) -> str:
    """The message a report is about."""
    if task.kind is TaskKind.RANKING:
        if choice not in choices(task):  # none (a form from an older card) or not one of this card's
            raise errors.TaskWrongKind(tr("Say which reply you report: press Report on the card again and pick it."))
        return choices(task)[choice]
    if choice:  # only ranking cards ask which message
        raise errors.TaskWrongKind()
    message_id = reported_message(task)
    if message_id is None:
        raise errors.MessageNotFound(tr("This task has no message to report."))
    return message_id


def thanks(tr: Tr, choice: str) -> str:
    if choice == PARENT:
        return tr("Reported the message answered — moderators will have a look. Thank you.")
    if choice:
        return tr("Reported reply {letter} — moderators will have a look. Thank you.", letter=choice)
    return tr("Reported — moderators will have a look. Thank you.")


def picker(tr: Tr, task: Task) -> tuple[discord.Embed, ui.View]:
    """Which reply of a ranking card to report (a select; choosing opens the form)."""
    options = [
        discord.SelectOption(label=reply_name(tr, c), value=c, emoji=badge(c), description=excerpt(m.text, 100) or None)
        for c, m in zip(letters(task), task.candidates, strict=False)
    ]
    parent = next((m for m in task.conversation if m.id == reported_message(task)), None)
    if parent is not None:
        text = excerpt(parent.text, 100) or None
        label = tr("The message they answer")
        options.append(discord.SelectOption(label=label[:100], value=PARENT, emoji="💬", description=text))
    view = ui.View(timeout=None)
    placeholder = tr("Which one do you report?")[:150]
    view.add_item(TaskSelect(task.id, "report", options=options[:25], placeholder=placeholder))
    embed = discord.Embed(
        title="🚩 " + tr("Report which reply?"),
        description=tr("Pick the reply (or the message they answer) that breaks the rules; then say why."),
        colour=discord.Colour.red(),
    )
    return embed, view


async def report(act: Act) -> None:
    task = await (await act.engine()).get_task(act.task_id, await act.member())  # only the card's owner
    if task.kind is TaskKind.RANKING and task.candidates:
        embed, view = picker(act.tr, task)
        await send(act.interaction, embeds=[embed], view=view)
        return
    await open_modal(act.interaction, ReportModal(act.task_id, tr=act.tr))


async def pick(act: Act) -> None:
    task = await (await act.engine()).get_task(act.task_id, await act.member())
    values = act.values.get(SELECTED) or []
    choice = values[0] if len(values) == 1 else ""
    chosen(act.tr, task, choice)  # refused unless it is one of the card's messages
    await open_modal(act.interaction, ReportModal(act.task_id, choice, act.tr))


async def reported(act: Act) -> None:
    reason = act.values.get(REASON)
    reason = reason if isinstance(reason, str) else ""
    try:
        member = await act.member()
        task = await (await act.engine()).get_task(act.task_id, member)
        message_id = chosen(act.tr, task, act.arg)
        await (await act.engine()).report(member, message_id, reason)
    except errors.DomainError as exc:  # what the member typed comes back with the refusal
        exc.text = exc.text or reason or None
        raise
    act.bot.dispatch("grove_report", message_id, await community_of(act.interaction), member)
    await send(act.interaction, f"🚩 {thanks(act.tr, act.arg)}")


PART = CardPart("reporting", buttons={"report": report}, selects={"report": pick}, modals={"report": reported})
