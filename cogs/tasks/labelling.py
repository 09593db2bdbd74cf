"""Review tasks: quick buttons in simple mode; in full mode a modal of radio and checkbox groups, paged by five.

The answers of finished form pages live in the card state (one character per valid label, in the task's order:
"_" not asked yet, "x" left blank, "0"/"1" for yes/no and flags, "1".."5" for scales), carried in the custom_ids
of the card's buttons and of the modal, so nothing is lost when the bot restarts between pages.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import discord
from discord import ui

from cogs.tasks import flow
from cogs.tasks.cards import Body
from cogs.tasks.items import Act, CardPart, TaskButton, modal_id, open_modal
from engine import errors
from engine.labels import LABELS, LIKERT_STEPS, Widget
from engine.types import LABEL_TYPES, LabelMode, Task

PER_PAGE = 5  # top-level components of a modal
FLAGS_PER_GROUP = 10  # options of a checkbox group
NOT_ASKED, BLANK = "_", "x"
SAVED = "✅ Saved — thank you!"
TITLES = {
    "spam": "Is it spam?",
    "fails_task": "Does it fail the task?",
    "lang_mismatch": "Wrong language",
    "pii": "Personal information",
    "not_appropriate": "Inappropriate",
    "hate_speech": "Hate speech",
    "sexual_content": "Sexual content",
    "moral_judgement": "Moral judgement",
    "political_content": "Political views",
}
SCALE = ("not at all", "a little", "somewhat", "quite", "very")
SCALES = {"quality": ("very poor", "poor", "okay", "good", "excellent")}


def widget(name: str) -> Widget:
    info = LABELS.get(name)
    return info.widget if info else Widget.YES_NO


def title(name: str) -> str:
    return TITLES.get(name, name.replace("_", " ").capitalize())[:45]


def question(name: str) -> str:
    info = LABELS.get(name)
    return textwrap.shorten(info.question if info else title(name), 100, placeholder="…")


# ---------------------------------------------------------------------- simple mode


def quick_labels(task: Task, choice: str) -> dict[str, float]:
    """The labels of a quick answer ("ok", "spam" or "lang"): yes/no and flag labels only."""
    binary = [n for n in task.valid_labels if widget(n) is not Widget.LIKERT]
    if choice == "ok":
        return dict.fromkeys(binary, 0.0)
    out = {n: 0.0 for n in task.mandatory_labels if n in binary}
    if choice == "spam" and "spam" in binary:
        return out | {"spam": 1.0}
    if choice == "lang" and "lang_mismatch" in binary:
        return out | ({"spam": 0.0} if "spam" in binary else {}) | {"lang_mismatch": 1.0}
    raise errors.LabelsInvalidLabel("That answer does not fit this review; please take a new task.")


def quick_buttons(task: Task) -> list[ui.Item]:
    tid, valid = task.id, task.valid_labels
    items: list[ui.Item] = [
        TaskButton(tid, "label", "ok", label="Looks fine", emoji="👍", style=discord.ButtonStyle.success, row=0)
    ]
    if "spam" in valid:
        items.append(TaskButton(tid, "label", "spam", label="Spam", emoji="🗑️", style=discord.ButtonStyle.danger, row=0))
    if "lang_mismatch" in valid:
        items.append(TaskButton(tid, "label", "lang", label="Wrong language", emoji="🌐", row=0))
    return items


# ---------------------------------------------------------------------- full mode: pages and state


@dataclass(frozen=True)
class Part:
    """One top-level modal component: a yes/no or 1–5 question, or a group of flags."""

    key: str  # custom_id of its input
    names: tuple[str, ...]

    @property
    def flags(self) -> bool:
        return widget(self.names[0]) is Widget.FLAG


def parts(task: Task) -> list[Part]:
    names = task.valid_labels
    flags = [n for n in names if widget(n) is Widget.FLAG]
    out = [Part(n, (n,)) for n in names if widget(n) is Widget.YES_NO]
    groups = [tuple(flags[i : i + FLAGS_PER_GROUP]) for i in range(0, len(flags), FLAGS_PER_GROUP)]
    out += [Part(f"flags{i}", group) for i, group in enumerate(groups)]
    out += [Part(n, (n,)) for n in names if widget(n) is Widget.LIKERT]
    return out


def pages(task: Task) -> list[list[Part]]:
    all_parts = parts(task)
    return [all_parts[i : i + PER_PAGE] for i in range(0, len(all_parts), PER_PAGE)] or [[]]


def clean_state(task: Task, state: str) -> str:
    """The answers so far; anything that is not a valid state of this task counts as a fresh start."""
    n = len(task.valid_labels)
    ok = len(state) == n and NOT_ASKED in state and all(c in "_x012345" for c in state)
    return state if ok else NOT_ASKED * n


def page_of(task: Task, state: str) -> int:
    """The first form page with a question not asked yet."""
    index = {name: i for i, name in enumerate(task.valid_labels)}
    for number, page in enumerate(pages(task)):
        if any(state[index[n]] == NOT_ASKED for part in page for n in part.names):
            return number
    return len(pages(task))


def decode(task: Task, state: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, c in zip(task.valid_labels, state, strict=True):
        if c in (NOT_ASKED, BLANK):
            continue
        out[name] = LIKERT_STEPS[int(c) - 1] if widget(name) is Widget.LIKERT else float(c == "1")
    return out


def answer(part: Part, values: dict[str, object]) -> dict[str, str]:
    """State characters for one part from the submitted values (custom_id -> value or list of values)."""
    raw = values.get(part.key)
    if part.flags:
        ticked = set(raw) if isinstance(raw, list) else set()
        return {n: "1" if n in ticked else "0" for n in part.names}
    name = part.names[0]
    allowed = "12345" if widget(name) is Widget.LIKERT else "01"
    return {name: raw if isinstance(raw, str) and len(raw) == 1 and raw in allowed else BLANK}


class ReviewModal(ui.Modal):
    def __init__(self, task: Task, state: str) -> None:
        all_pages = pages(task)
        number = page_of(task, state)
        head = "Review" if len(all_pages) == 1 else f"Review (page {number + 1} of {len(all_pages)})"
        super().__init__(title=head, custom_id=modal_id(task.id, "review", state), timeout=None)
        mandatory = set(task.mandatory_labels)
        for part in all_pages[number]:
            self.add_item(self.component(part, mandatory))

    @staticmethod
    def component(part: Part, mandatory: set[str]) -> ui.Label:
        if part.flags:
            group: ui.CheckboxGroup = ui.CheckboxGroup(
                custom_id=part.key, required=False, min_values=0, max_values=len(part.names)
            )
            for name in part.names:
                group.add_option(label=title(name), value=name, description=question(name))
            return ui.Label(text="Tick what applies", description="Leave empty if none applies.", component=group)
        name = part.names[0]
        radio: ui.RadioGroup = ui.RadioGroup(custom_id=name, required=name in mandatory)
        if widget(name) is Widget.LIKERT:
            words = SCALES.get(name, SCALE)
            for i, word in enumerate(words, 1):
                radio.add_option(label=f"{i} · {word}", value=str(i))
        else:
            radio.add_option(label="Yes", value="1")
            radio.add_option(label="No", value="0")
        return ui.Label(text=title(name), description=question(name), component=radio)


# ---------------------------------------------------------------------- card body and handlers


def body(task: Task, state: str) -> Body:
    if task.label_mode is LabelMode.SIMPLE and not any(widget(m) is Widget.LIKERT for m in task.mandatory_labels):
        return Body(items=quick_buttons(task), status="Quick check: does the marked message look fine?")
    state = clean_state(task, state)
    total, number = len(pages(task)), page_of(task, state)
    questions = len(parts(task))
    if number == 0:
        more = f" on {total} pages" if total > 1 else ""
        button = TaskButton(task.id, "review", label="Review", emoji="📝", style=discord.ButtonStyle.primary, row=0)
        return Body(items=[button], status=f"Press **Review** and answer {questions} questions{more}.")
    label = f"Continue (page {number + 1} of {total})"
    items: list[ui.Item] = [
        TaskButton(task.id, "review", state, label=label, emoji="📝", style=discord.ButtonStyle.primary, row=0),
        TaskButton(task.id, "show", label="Start over", emoji="↩️", row=0),
    ]
    return Body(items=items, status=f"Page {number} of {total} is kept on this card; nothing is stored yet.")


async def quick(act: Act) -> None:
    member = await act.member()
    task = await act.bot.engine.get_task(act.task_id, member)
    await act.bot.engine.submit_labels(act.task_id, member, quick_labels(task, act.arg), message_id=task.target_id)
    await flow.next_card(act, task, SAVED)


def reviewable(task: Task) -> Task:
    """The task, if it is a review: a forged review button or form on another card is refused."""
    if task.type not in LABEL_TYPES:
        raise errors.TaskWrongKind()
    return task


async def review(act: Act) -> None:
    task = reviewable(await flow.open_task(act))
    await flow.touch(act)
    await open_modal(act.interaction, ReviewModal(task, clean_state(task, act.arg)))


async def reviewed(act: Act) -> None:
    member = await act.member()
    task = reviewable(await act.bot.engine.get_task(act.task_id, member))
    state = clean_state(task, act.arg)
    all_pages, number = pages(task), page_of(task, state)
    chars = dict(zip(task.valid_labels, state, strict=True))
    for part in all_pages[number]:
        chars.update(answer(part, act.values))
    asked = [n for part in all_pages[number] for n in part.names]
    missing = [title(n) for n in asked if n in task.mandatory_labels and chars[n] == BLANK]
    if missing:
        raise errors.LabelsMandatoryMissing(f"Please answer: {', '.join(missing)} — nothing was stored.")
    new_state = "".join(chars[n] for n in task.valid_labels)
    if number + 1 < len(all_pages):
        await flow.show(act, task, new_state)
        return
    await act.bot.engine.submit_labels(act.task_id, member, decode(task, new_state), message_id=task.target_id)
    await flow.next_card(act, task, SAVED)


PART = CardPart(
    "labelling", family="label", body=body, buttons={"label": quick, "review": review}, modals={"review": reviewed}
)
