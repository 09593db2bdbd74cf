"""Writing tasks (prompt, reply as user, reply as assistant): modal → preview → Submit / Edit / Skip."""

from __future__ import annotations

import discord
from discord import ui

from cogs.context import community_of
from cogs.i18n import N_, Tr, tr_in
from cogs.tasks import flow
from cogs.tasks.cards import Body
from cogs.tasks.items import Act, CardPart, TaskButton, modal_id, open_modal
from engine import errors
from engine.types import WRITING_TYPES, Task, TaskType

TEXT = "text"
PREVIEW = "preview"
PLACEHOLDERS = {
    TaskType.INITIAL_PROMPT: N_("Ask or request something…"),
    TaskType.PROMPTER_REPLY: N_("Your follow-up as the user…"),
    TaskType.ASSISTANT_REPLY: N_("Your answer as the assistant…"),
}


def body(task: Task, state: str, tr: Tr) -> Body:
    tid = task.id
    if state == PREVIEW and task.draft:
        return Body(
            items=[
                TaskButton(
                    tid,
                    "submit",
                    label=tr.ctx("button", "Submit"),
                    emoji="✅",
                    style=discord.ButtonStyle.success,
                    row=0,
                ),
                TaskButton(tid, "write", PREVIEW, label=tr.ctx("button", "Edit"), emoji="✏️", row=0),
            ],
            blocks=[("📝 " + tr("Your text — check it, then Submit"), task.draft)],
            status=tr("Preview: nothing is stored until you press **Submit**."),
        )
    label = tr.ctx("button", "Continue writing") if task.draft else tr.ctx("button", "Write")
    status = tr("You have a saved draft.") if task.draft else ""
    return Body(
        items=[TaskButton(tid, "write", label=label, emoji="✍️", style=discord.ButtonStyle.primary, row=0)],
        status=status,
    )


class WriteModal(ui.Modal):
    def __init__(self, task: Task, limit: int, tr: Tr | None = None) -> None:
        tr = tr or tr_in("en-US")
        # Translators: the title of the form a member writes in (at most 45 characters)
        super().__init__(title=tr("Your text")[:45], custom_id=modal_id(task.id, "write"), timeout=None)
        placeholder = PLACEHOLDERS.get(task.type)
        self.text: ui.TextInput[WriteModal] = ui.TextInput(
            custom_id=TEXT,
            style=discord.TextStyle.paragraph,
            default=(task.draft or "")[:limit] or None,
            placeholder=tr(placeholder) if placeholder else None,
            max_length=limit,
            required=True,
        )
        description = tr.plural("Up to {count} character.", "Up to {count} characters.", limit)
        self.add_item(ui.Label(text=tr("Text"), description=description, component=self.text))


async def write(act: Act) -> None:
    task = await flow.open_task(act)
    if task.type not in WRITING_TYPES:  # a forged button: only writing cards have one
        raise errors.TaskWrongKind()
    await flow.touch(act)  # writing: the place stays the member's while the form is open
    limit = min(act.bot.config.engine.message_size_limit, 4000)
    await open_modal(act.interaction, WriteModal(task, limit, act.tr))


async def written(act: Act) -> None:
    text = act.values.get(TEXT)
    if not isinstance(text, str) or not text:  # the field is required: without it (forged, stale) keep the draft
        raise errors.MessageEmpty(act.tr("The form arrived without your text; nothing was changed. Press Write again."))
    member = await act.member()
    await (await act.engine()).save_draft(act.task_id, member, text, check=True)
    task = await (await act.engine()).get_task(act.task_id, member)
    await flow.show(act, task, PREVIEW)


async def submit(act: Act) -> None:
    member = await act.member()
    task = await (await act.engine()).get_task(act.task_id, member)
    result = await (await act.engine()).submit_reply(act.task_id, member, task.draft or "")
    if result.message_id:
        act.bot.dispatch("grove_message", result.message_id, await community_of(act.interaction))
    await flow.next_card(act, task, flow.saved(act.tr))


PART = CardPart(
    "writing", family="write", body=body, buttons={"write": write, "submit": submit}, modals={"write": written}
)
