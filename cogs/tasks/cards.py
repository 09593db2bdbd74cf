"""Task cards: a task rendered as embeds and persistent buttons, paged so that no text is ever cut."""

from __future__ import annotations

from dataclasses import dataclass, field

import discord
from discord import ui

from cogs.i18n import N_, Tr, relative
from cogs.tasks.items import PARTS, TaskButton
from engine.types import ConversationMessage, Role, Task, TaskKind, TaskType

PAGE_CHARS = 5200  # embed text per message (limit 6000 for all embeds together), with room for the header
PIECE = 3800  # one embed description (limit 4096)
MAX_EMBEDS = 10

TITLES = {  # (emoji, title): the title is a catalog message, told with `type_title`
    TaskType.INITIAL_PROMPT: ("✍️", N_("Write a prompt")),
    TaskType.PROMPTER_REPLY: ("👤", N_("Reply as the user")),
    TaskType.ASSISTANT_REPLY: ("🤖", N_("Reply as the assistant")),
    TaskType.LABEL_INITIAL_PROMPT: ("🔎", N_("Review a prompt")),
    TaskType.LABEL_PROMPTER_REPLY: ("🔎", N_("Review a user's reply")),
    TaskType.LABEL_ASSISTANT_REPLY: ("🔎", N_("Review an assistant's reply")),
    TaskType.RANK_ASSISTANT_REPLIES: ("🏅", N_("Rank the assistant's replies")),
    TaskType.RANK_PROMPTER_REPLIES: ("🏅", N_("Rank the user's replies")),
}
INSTRUCTIONS = {
    TaskType.INITIAL_PROMPT: N_("Start a conversation: ask or request something a helpful assistant should answer."),
    TaskType.PROMPTER_REPLY: N_("Continue the conversation as the user would: a follow-up, a correction, a new ask."),
    TaskType.ASSISTANT_REPLY: N_("Answer the last message as a helpful, honest and harmless assistant would."),
    TaskType.LABEL_INITIAL_PROMPT: N_("Is this prompt fit for the dataset? Judge the marked message."),
    TaskType.LABEL_PROMPTER_REPLY: N_("Is the marked reply fit for the dataset? Judge it in its conversation."),
    TaskType.LABEL_ASSISTANT_REPLY: N_("Is the marked reply fit for the dataset? Judge it in its conversation."),
    TaskType.RANK_ASSISTANT_REPLIES: N_("Order the replies from best to worst."),
    TaskType.RANK_PROMPTER_REPLIES: N_("Order the replies from best to worst."),
}
ROLE_HEAD = {Role.PROMPTER: ("👤", N_("User")), Role.ASSISTANT: ("🤖", N_("Assistant"))}
COLOURS = {
    TaskKind.PROMPT: discord.Colour.blurple(),
    TaskKind.REPLY: discord.Colour.green(),
    TaskKind.LABEL_PROMPT: discord.Colour.gold(),
    TaskKind.LABEL_REPLY: discord.Colour.gold(),
    TaskKind.RANKING: discord.Colour.purple(),
}


@dataclass
class Body:
    """What a task family adds to the card: text blocks after the conversation, and its main buttons."""

    items: list[ui.Item] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (heading, text), paged like the conversation
    status: str = ""  # one line under the instruction (e.g. the ranking so far)
    skip: bool = True  # offer Skip


def type_title(tr: Tr, task_type: TaskType | str) -> str:
    """A task type's name in the member's language ("Write a prompt")."""
    return tr(TITLES[TaskType(task_type)][1])


def excerpt(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with "…" (for lists and select options only: a card itself
    never cuts a text)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def family(task: Task) -> str:
    """Which card part draws the task's card (see `CardPart.family`)."""
    if task.kind in (TaskKind.PROMPT, TaskKind.REPLY):
        return "write"
    if task.kind is TaskKind.RANKING:
        return "rank"
    return "label"


@dataclass
class Card:
    embeds: list[discord.Embed]
    view: ui.View
    page: int
    pages: int


def turn_blocks(tr: Tr, conversation: tuple[ConversationMessage, ...], marked: str | None) -> list[tuple[str, str]]:
    blocks = []
    for i, m in enumerate(conversation):
        emoji, role = ROLE_HEAD.get(m.role, ("", str(m.role)))
        head = f"{emoji} {tr(role)}".strip()
        if m.id == marked:
            head = f"{emoji} " + tr("{role} · ◀ this message", role=tr(role))
        elif marked is None and i == len(conversation) - 1:
            head = f"{emoji} " + tr("{role} · last turn", role=tr(role))
        blocks.append((head, m.text))
    return blocks


def paginate(tr: Tr, blocks: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split blocks into pages of embeds: long texts are cut into consecutive pieces, never shortened."""
    pieces: list[tuple[str, str]] = []
    for head, text in blocks:
        parts = [text[i : i + PIECE] for i in range(0, len(text), PIECE)] or [""]
        for n, part in enumerate(parts):
            numbered = tr("{heading} ({part}/{parts})", heading=head, part=n + 1, parts=len(parts))
            pieces.append((head if len(parts) == 1 else numbered, part))
    pages: list[list[tuple[str, str]]] = [[]]
    size = 0
    for head, part in pieces:
        cost = len(head) + len(part)
        if pages[-1] and (size + cost > PAGE_CHARS or len(pages[-1]) >= MAX_EMBEDS - 1):
            pages.append([])
            size = 0
        pages[-1].append((head, part))
        size += cost
    return pages


def render(
    task: Task, tr: Tr, state: str = "", page: int | None = None, *, notice: str = "", stop: bool = True
) -> Card:
    """The card of `task` in `state` (family-specific, e.g. "preview" or a ranking order), at `page`, in the
    member's language."""
    body = PARTS.body(family(task))(task, state, tr)
    marked = task.target_id if task.kind in (TaskKind.LABEL_PROMPT, TaskKind.LABEL_REPLY) else None
    pages = paginate(tr, turn_blocks(tr, task.conversation, marked) + body.blocks)
    last = len(pages) - 1
    page = last if page is None else max(0, min(page, last))
    emoji = TITLES[task.type][0]
    header = discord.Embed(
        title=f"{emoji} {type_title(tr, task.type)}",
        colour=COLOURS.get(task.kind),
        description=tr(INSTRUCTIONS[task.type]),
    )
    if body.status:
        header.description = f"{header.description}\n\n{body.status}"
    header.add_field(name=tr("Language"), value=task.lang)
    if task.expires_at:
        header.add_field(name=tr("Expires"), value=relative(task.expires_at))
    if len(pages) > 1:
        header.add_field(name=tr("Page"), value=tr("{page} of {pages}", page=page + 1, pages=len(pages)))
    if notice:
        header.add_field(name="\u200b", value=notice[:1024], inline=False)
    header.set_footer(text=tr("task {id}", id=task.id))
    grey = discord.Colour.dark_grey()
    embeds = [header] + [discord.Embed(title=head[:256], description=text, colour=grey) for head, text in pages[page]]
    view = ui.View(timeout=None)
    for item in body.items:
        view.add_item(item)
    tid = task.id
    if body.skip:
        view.add_item(TaskButton(tid, "skip", label=tr.ctx("button", "Skip"), emoji="⏭️", row=3))
    view.add_item(TaskButton(tid, "guide", label=tr.ctx("button", "Guidelines"), emoji="📖", row=3))
    if task.conversation:
        view.add_item(TaskButton(tid, "report", label=tr.ctx("button", "Report"), emoji="🚩", row=3))
    if stop:
        view.add_item(TaskButton(tid, "stop", label=tr.ctx("button", "Stop"), emoji="⏹️", row=3))
    if len(pages) > 1:
        view.add_item(TaskButton(tid, "page", f"{page - 1}.{state}", label="◀", disabled=page == 0, row=4))
        view.add_item(TaskButton(tid, "page", f"{page + 1}.{state}", label="▶", disabled=page == last, row=4))
    return Card(embeds, view, page, len(pages))
