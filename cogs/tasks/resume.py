"""The member's open tasks: the offer `/task` makes first, the `/tasks` list, and their Resume, Release and pick.

A task handed out and not finished stays the member's until it expires, with its draft; its *place* in the
conversation (a reply, review or ranking slot) is held only while they work on it (the engine's lease, decisions
#15, #16). Resume takes the place again and draws the card; if someone else took it meanwhile, the member is told
so and gets the draft back. Release withdraws the task. The custom_ids (`g:o:…`) are in `cogs.tasks.items`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import ui

from cogs.context import community_of, engine_of
from cogs.errors import report_error
from cogs.i18n import N_, Tr, relative, tr_for
from cogs.replies import EMBED_TEXT, send, text_back
from cogs.tasks import flow
from cogs.tasks.cards import TITLES, excerpt, type_title
from cogs.tasks.items import TASK_ID, Act, CardPart, TaskButton
from engine import errors
from engine.types import Task, TaskStatus, TaskType

if TYPE_CHECKING:
    from bot.bot import Grove

LISTED = 4  # tasks listed with a row of buttons each (the fifth row holds New task); more go into a select
OPTIONS = 25  # options of a select (Discord's limit; the engine lists at most 25 open tasks)
LIST_TEXT = 3900  # the list's embed description (limit 4096)
SCOPE = r"(?::(?P<type>[a-z_]{3,30}):(?P<lang>[a-z0-9-]{2,20}))?"
RELEASE = re.compile(rf"g:o:(?P<task>{TASK_ID}):release{SCOPE}")
PICK = re.compile(rf"g:o:pick{SCOPE}")
FENCE = "```"
TAKEN = N_("Someone else took this task's place while it sat idle, so it cannot be resumed now.")


@dataclass(frozen=True)
class Scope:
    """Which list a button belongs to: /tasks (`new_type` None), or /task's offer, whose New task asks for
    `new_type` (a task type, or `flow.ANY`) in `lang`."""

    new_type: str | None = None
    lang: str = ""

    @property
    def suffix(self) -> str:
        return f":{self.new_type}:{self.lang}" if self.new_type else ""

    @classmethod
    def of(cls, match: re.Match[str]) -> Scope:
        return cls(match["type"], match["lang"]) if match["type"] else cls()


# ---------------------------------------------------------------------------------------------- rendering


def about(task: Task) -> str:
    """The text a task is about: its marked message (the reply to review, the message to answer or whose replies
    to rank), else the last turn; a new prompt is about its draft, if any."""
    target = next((m for m in task.conversation if m.id == task.target_id), None)
    if target is None and task.conversation:
        target = task.conversation[-1]
    return target.text if target is not None else task.draft or ""


def line(tr: Tr, number: int, task: Task, width: int) -> str:
    emoji = TITLES[task.type][0]
    bits = [f"**{number}.** {emoji} {type_title(tr, task.type)}", task.lang]
    if task.draft:
        bits.append("📝 " + tr("draft saved"))
    if task.expires_at:
        bits.append(tr("expires {when}", when=relative(task.expires_at)))
    else:
        bits.append(tr("no expiry"))
    text = excerpt(about(task), width)
    return " · ".join(bits) + (f"\n> {discord.utils.escape_markdown(text)}" if text else "")


def option(tr: Tr, number: int, task: Task, chosen: bool) -> discord.SelectOption:
    emoji, title = TITLES[task.type][0], type_title(tr, task.type)
    label = f"{number}. {title} · {task.lang}" + (" · " + tr("draft") if task.draft else "")
    text = excerpt(about(task), 100)
    return discord.SelectOption(label=label[:100], value=task.id, emoji=emoji, description=text or None, default=chosen)


def listing(
    tr: Tr, tasks: list[Task], scope: Scope, *, chosen: str = "", notice: str = ""
) -> tuple[discord.Embed, ui.View]:
    """The list of open tasks: each with Resume and Release (a select picks one when there are more than
    `LISTED`), and New task on /task's offer."""
    view = ui.View(timeout=None)
    embed = discord.Embed(title="📋 " + tr("Your open tasks"), colour=discord.Colour.blurple())
    head = [notice] if notice else []
    new_task = tr.ctx("button", "New task")
    if not tasks:
        embed.description = "\n\n".join([*head, tr("You have no open tasks.")])
        if scope.new_type:
            view.add_item(flow.NextButton(scope.new_type, scope.lang, label=new_task, emoji="🆕"))
        return embed, view
    if scope.new_type:
        head.append(tr("You have unfinished tasks: pick one up again, release it, or ask for a **New task**."))
    else:
        head.append(tr("Pick one up again where you left off, or release what you won't finish."))
    width = 90 if len(tasks) <= 10 else 50
    text = "\n\n".join(head)
    for number, task in enumerate(tasks, 1):
        entry = line(tr, number, task, width)
        if len(text) + len(entry) + 80 > LIST_TEXT:
            more = len(tasks) - number + 1
            text += "\n\n" + tr.plural(
                "…and {count} more: pick it in the menu.", "…and {count} more: pick them in the menu.", more
            )
            break
        text += "\n\n" + entry
    embed.description = text
    embed.set_footer(text=tr("A task keeps your draft until it expires; its place is held only while you work on it."))
    if len(tasks) <= LISTED:
        for row, task in enumerate(tasks):
            add_buttons(tr, view, task.id, scope, row + 1 if len(tasks) > 1 else None, row)
    else:
        shown = tasks[:OPTIONS]
        pick = next((t for t in shown if t.id == chosen), shown[0])
        options = [option(tr, n, t, t.id == pick.id) for n, t in enumerate(shown, 1)]
        view.add_item(PickSelect(scope, options=options, placeholder=tr("Choose a task…")))
        add_buttons(tr, view, pick.id, scope, shown.index(pick) + 1, 1)
    if scope.new_type:
        view.add_item(flow.NextButton(scope.new_type, scope.lang, label=new_task, emoji="🆕", row=LISTED))
    return embed, view


def add_buttons(tr: Tr, view: ui.View, task_id: str, scope: Scope, number: int | None, row: int) -> None:
    primary = discord.ButtonStyle.primary
    if number is None:
        resume, release = tr.ctx("button", "Resume"), tr.ctx("button", "Release")
    else:
        # Translators: the buttons of the task numbered {number} in a list of open tasks
        resume = tr.ctx("button", "Resume {number}", number=number)
        release = tr.ctx("button", "Release {number}", number=number)
    view.add_item(TaskButton(task_id, "resume", label=resume, emoji="▶️", style=primary, row=row))
    view.add_item(ReleaseButton(task_id, scope, label=release, row=row))


def draft_back(tr: Tr, text: str | None) -> tuple[list[discord.Embed], list[discord.File]]:
    """A draft given back to copy: in a code block (markdown shown as typed) when it fits, else as a file."""
    if not text:
        return [], []
    if len(text) <= EMBED_TEXT and FENCE not in text:
        body = f"{FENCE}\n{text}\n{FENCE}"
        return [discord.Embed(title="📝 " + tr("Your draft (nothing was lost)"), description=body)], []
    return text_back(tr, text)


# ---------------------------------------------------------------------------------------------- entry points


def offer_scope(task_type: str | None, lang: str) -> Scope | None:
    """/task's offer for a request (None when the request cannot travel in a custom_id: then no offer)."""
    scope = Scope(task_type or flow.ANY, lang)
    return scope if PICK.fullmatch(f"g:o:pick{scope.suffix}") else None


async def offer_or_hand_out(interaction: discord.Interaction[Grove], tr: Tr, task_type: str | None, lang: str) -> None:
    """`/task` in one engine call: the member's open tasks first (with New task for this request) when they hold
    any, else a new task as an ephemeral card (and this server becomes their home community)."""
    scope = offer_scope(task_type, lang)
    if scope is None:  # the request cannot travel in an offer's custom_id: no offer
        await flow.hand_out(interaction, tr, task_type, lang)
        return
    bot = interaction.client
    got = await (await engine_of(interaction)).open_or_next_task(await bot.member_id(interaction.user), lang, task_type)
    if isinstance(got, list):
        embed, view = listing(tr, got, scope)
        await send(interaction, embeds=[embed], view=view)
        return
    if interaction.guild_id is not None:
        await bot.note_home(interaction.user, await community_of(interaction))
    card = flow.render(got, tr)
    await send(interaction, embeds=card.embeds, view=card.view)


async def show_list(interaction: discord.Interaction[Grove], tr: Tr) -> None:
    """`/tasks`: the member's open tasks with Resume and Release."""
    bot = interaction.client
    tasks = await (await engine_of(interaction)).open_tasks(await bot.member_id(interaction.user))
    if not tasks:
        await send(interaction, tr("You have no open tasks; {task} gets you a new one.", task=tr.code("task")))
        return
    embed, view = listing(tr, tasks, Scope())
    await send(interaction, embeds=[embed], view=view)


# ---------------------------------------------------------------------------------------------- Resume, Release, pick


async def resume(act: Act) -> None:
    """Resume (and Continue after Stop): take the task's place again and draw its card, draft kept."""
    member = await act.member()
    try:
        task = await (await act.engine()).resume_task(act.task_id, member)
    except errors.TaskSlotTaken as exc:
        await place_taken(act, exc.text)
        return
    except (errors.TaskExpired, errors.TaskCancelled) as exc:  # ended since the list was drawn: the draft comes back
        exc.text = exc.text or (await (await act.engine()).get_task(act.task_id, member)).draft
        raise
    await flow.show(act, task)


async def place_taken(act: Act, draft: str | None) -> None:
    """Someone else holds the task's place: say so, give the draft back, and offer to try later or release."""
    tr = act.tr
    if draft:
        sentence = "⚠️ " + tr(
            "Someone else took this task's place while it sat idle, so it cannot be resumed now. "
            "Here is your draft; it also stays with the task."
        )
    else:
        sentence = f"⚠️ {tr(TAKEN)}"
    view = ui.View(timeout=None)
    view.add_item(TaskButton(act.task_id, "resume", label=tr.ctx("button", "Try again"), emoji="🔁"))
    view.add_item(ReleaseButton(act.task_id, Scope(), label=tr.ctx("button", "Release it")))
    embeds, files = draft_back(tr, draft)
    await send(act.interaction, sentence, embeds=embeds, files=files, view=view)


async def release(interaction: discord.Interaction[Grove], tr: Tr, task_id: str, scope: Scope) -> None:
    bot = interaction.client
    member = await bot.member_id(interaction.user)
    engine = await engine_of(interaction)
    task = await engine.get_task(task_id, member)  # only the member's own
    await engine.release_task(task_id, member, end=True)
    title = type_title(tr, task.type)
    pending = task.status is TaskStatus.PENDING
    notice = "🗑️ " + tr("Released “{kind}”.", kind=title) if pending else tr("“{kind}” had already ended.", kind=title)
    embed, view = listing(tr, await engine.open_tasks(member), scope, notice=notice)
    await interaction.response.edit_message(content=None, embeds=[embed], view=view, attachments=[])
    if pending and task.draft:  # nothing typed is lost, even on a release
        embeds, files = draft_back(tr, task.draft)
        await send(interaction, tr("Your draft of the released task, in case you want it:"), embeds=embeds, files=files)


async def pick(interaction: discord.Interaction[Grove], tr: Tr, scope: Scope) -> None:
    bot = interaction.client
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    values = [str(v) for v in data.get("values") or []]
    tasks = await (await engine_of(interaction)).open_tasks(await bot.member_id(interaction.user))
    chosen = values[0] if len(values) == 1 else ""
    notice = "" if any(t.id == chosen for t in tasks) else tr("That task has ended meanwhile.")
    embed, view = listing(tr, tasks, scope, chosen=chosen, notice=notice)
    await interaction.response.edit_message(embeds=[embed], view=view, attachments=[])


class ReleaseButton(ui.DynamicItem[ui.Button], template=RELEASE.pattern):
    """Release on a list of open tasks (or after a refused resume): withdraws the task, redraws the list."""

    def __init__(self, task_id: str, scope: Scope, *, label: str | None = None, row: int | None = None) -> None:
        custom_id = f"g:o:{task_id}:release{scope.suffix}"
        super().__init__(ui.Button(label=label, emoji="🗑️", custom_id=custom_id), row=row)
        self.task_id, self.scope = task_id, scope

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> ReleaseButton:
        return cls(match["task"], Scope.of(match))

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            await release(interaction, tr, self.task_id, self.scope)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)


class PickSelect(ui.DynamicItem[ui.Select], template=PICK.pattern):
    """The select of a list of more than `LISTED` open tasks: redraws the list with the chosen task's buttons."""

    def __init__(self, scope: Scope, *, options: list[discord.SelectOption], placeholder: str | None = None) -> None:
        select: ui.Select[Any] = ui.Select(
            custom_id=f"g:o:pick{scope.suffix}", options=options, placeholder=placeholder
        )
        super().__init__(select, row=0)
        self.scope = scope

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> PickSelect:
        options = list(item.options) if isinstance(item, ui.Select) else []
        return cls(Scope.of(match), options=options)

    async def callback(self, interaction: discord.Interaction[Grove]) -> None:  # type: ignore[override]
        tr = await tr_for(interaction)
        try:
            await pick(interaction, tr, self.scope)
        except Exception as exc:
            await report_error(interaction, exc, tr=tr)


def valid_type(tr: Tr, task_type: str | None) -> str | None:
    """A /task type option, checked before it travels in a custom_id."""
    if task_type is not None:
        try:
            TaskType(task_type)
        except ValueError:
            raise errors.UnknownTaskType(tr("“{type}” is not a task type.", type=task_type)) from None
    return task_type


PART = CardPart("resume", buttons={"resume": resume})
