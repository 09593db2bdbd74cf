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

from cogs.i18n import N_, Tr
from cogs.tasks import flow
from cogs.tasks.cards import Body
from cogs.tasks.items import Act, CardPart, TaskButton, modal_id, open_modal
from engine import errors
from engine.labels import LABELS, LIKERT_STEPS, Widget
from engine.types import LABEL_TYPES, LabelMode, Task

PER_PAGE = 5  # top-level components of a modal
FLAGS_PER_GROUP = 10  # options of a checkbox group
NOT_ASKED, BLANK = "_", "x"
TITLES = {
    # Translators: a label's title, above its question in the review form (at most 45 characters)
    "spam": N_("Is it spam?"),
    "fails_task": N_("Does it fail the task?"),
    "lang_mismatch": N_("Wrong language"),
    "pii": N_("Personal information"),
    "not_appropriate": N_("Inappropriate"),
    "hate_speech": N_("Hate speech"),
    "sexual_content": N_("Sexual content"),
    "moral_judgement": N_("Moral judgement"),
    "political_content": N_("Political views"),
    "quality": N_("Quality"),
    "toxicity": N_("Toxicity"),
    "humor": N_("Humor"),
    "helpfulness": N_("Helpfulness"),
    "creativity": N_("Creativity"),
    "violence": N_("Violence"),
}
QUESTIONS = {  # engine.labels' questions (a test keeps them equal), translated by label name
    # Translators: a label's question, under its title in the review form (at most 100 characters)
    "spam": N_("Is this low-effort, off-topic or junk?"),
    "fails_task": N_("Does the reply fail to do what was asked?"),
    "lang_mismatch": N_("Is it written in another language than the task's?"),
    "pii": N_("Does it contain personal information about someone?"),
    "not_appropriate": N_("Is it inappropriate?"),
    "hate_speech": N_(
        "Is it abusive or threatening towards people for their gender, ethnicity, religion, orientation or alike?"
    ),
    "sexual_content": N_("Does it contain sexual content?"),
    "moral_judgement": N_("Does it express a moral judgement?"),
    "political_content": N_("Does it express political views?"),
    "quality": N_("How good is it overall? (low to high)"),
    "toxicity": N_("How rude, abusive or insulting is it?"),
    "humor": N_("How humorous is it?"),
    "helpfulness": N_("How helpful is it?"),
    "creativity": N_("How creative is it?"),
    "violence": N_("How much violence, abuse or self-harm does it contain?"),
}
# Translators: the steps of a 1–5 scale in the review form, from 1 to 5
SCALE = (N_("not at all"), N_("a little"), N_("somewhat"), N_("quite"), N_("very"))
SCALES = {"quality": (N_("very poor"), N_("poor"), N_("okay"), N_("good"), N_("excellent"))}


def widget(name: str) -> Widget:
    info = LABELS.get(name)
    return info.widget if info else Widget.YES_NO


def title(tr: Tr, name: str) -> str:
    known = TITLES.get(name)
    return (tr(known) if known else name.replace("_", " ").capitalize())[:45]


def question(tr: Tr, name: str) -> str:
    known = QUESTIONS.get(name)
    return textwrap.shorten(tr(known) if known else title(tr, name), 100, placeholder="…")


# ---------------------------------------------------------------------- simple mode


def quick_labels(tr: Tr, task: Task, choice: str) -> dict[str, float]:
    """The labels of a quick answer ("ok", "spam" or "lang"): yes/no and flag labels only."""
    binary = [n for n in task.valid_labels if widget(n) is not Widget.LIKERT]
    if choice == "ok":
        return dict.fromkeys(binary, 0.0)
    out = {n: 0.0 for n in task.mandatory_labels if n in binary}
    if choice == "spam" and "spam" in binary:
        return out | {"spam": 1.0}
    if choice == "lang" and "lang_mismatch" in binary:
        return out | ({"spam": 0.0} if "spam" in binary else {}) | {"lang_mismatch": 1.0}
    raise errors.LabelsInvalidLabel(tr("That answer does not fit this review; please take a new task."))


def quick_buttons(task: Task, tr: Tr) -> list[ui.Item]:
    tid, valid = task.id, task.valid_labels
    success, danger = discord.ButtonStyle.success, discord.ButtonStyle.danger
    items: list[ui.Item] = [
        TaskButton(tid, "label", "ok", label=tr.ctx("button", "Looks fine"), emoji="👍", style=success, row=0)
    ]
    if "spam" in valid:
        items.append(TaskButton(tid, "label", "spam", label=tr.ctx("button", "Spam"), emoji="🗑️", style=danger, row=0))
    if "lang_mismatch" in valid:
        items.append(TaskButton(tid, "label", "lang", label=tr.ctx("button", "Wrong language"), emoji="🌐", row=0))
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
    def __init__(self, task: Task, state: str, tr: Tr) -> None:
        all_pages = pages(task)
        number = page_of(task, state)
        if len(all_pages) == 1:
            head = tr("Review")
        else:
            head = tr("Review (page {page} of {pages})", page=number + 1, pages=len(all_pages))
        super().__init__(title=head[:45], custom_id=modal_id(task.id, "review", state), timeout=None)
        mandatory = set(task.mandatory_labels)
        for part in all_pages[number]:
            self.add_item(self.component(tr, part, mandatory))

    @staticmethod
    def component(tr: Tr, part: Part, mandatory: set[str]) -> ui.Label:
        if part.flags:
            group: ui.CheckboxGroup = ui.CheckboxGroup(
                custom_id=part.key, required=False, min_values=0, max_values=len(part.names)
            )
            for name in part.names:
                group.add_option(label=title(tr, name), value=name, description=question(tr, name))
            return ui.Label(
                text=tr("Tick what applies"), description=tr("Leave empty if none applies."), component=group
            )
        name = part.names[0]
        radio: ui.RadioGroup = ui.RadioGroup(custom_id=name, required=name in mandatory)
        if widget(name) is Widget.LIKERT:
            words = SCALES.get(name, SCALE)
            for i, word in enumerate(words, 1):
                radio.add_option(label=tr("{step} · {word}", step=i, word=tr(word)), value=str(i))
        else:
            radio.add_option(label=tr("Yes"), value="1")
            radio.add_option(label=tr("No"), value="0")
        return ui.Label(text=title(tr, name), description=question(tr, name), component=radio)


# ---------------------------------------------------------------------- card body and handlers


def body(task: Task, state: str, tr: Tr) -> Body:
    if task.label_mode is LabelMode.SIMPLE and not any(widget(m) is Widget.LIKERT for m in task.mandatory_labels):
        return Body(items=quick_buttons(task, tr), status=tr("Quick check: does the marked message look fine?"))
    state = clean_state(task, state)
    total, number = len(pages(task)), page_of(task, state)
    questions = len(parts(task))
    primary = discord.ButtonStyle.primary
    if number == 0:
        button = TaskButton(task.id, "review", label=tr.ctx("button", "Review"), emoji="📝", style=primary, row=0)
        if total > 1:
            status = tr.plural(
                "Press **Review** and answer {count} question on {pages} pages.",
                "Press **Review** and answer {count} questions on {pages} pages.",
                questions,
                pages=total,
            )
        else:
            status = tr.plural(
                "Press **Review** and answer {count} question.",
                "Press **Review** and answer {count} questions.",
                questions,
            )
        return Body(items=[button], status=status)
    label = tr.ctx("button", "Continue (page {page} of {pages})", page=number + 1, pages=total)
    items: list[ui.Item] = [
        TaskButton(task.id, "review", state, label=label, emoji="📝", style=primary, row=0),
        TaskButton(task.id, "show", label=tr.ctx("button", "Start over"), emoji="↩️", row=0),
    ]
    status = tr("Page {page} of {pages} is kept on this card; nothing is stored yet.", page=number, pages=total)
    return Body(items=items, status=status)


async def quick(act: Act) -> None:
    member = await act.member()
    task = await (await act.engine()).get_task(act.task_id, member)
    labels = quick_labels(act.tr, task, act.arg)
    await (await act.engine()).submit_labels(act.task_id, member, labels, message_id=task.target_id)
    await flow.next_card(act, task, flow.saved(act.tr))


def reviewable(task: Task) -> Task:
    """The task, if it is a review: a forged review button or form on another card is refused."""
    if task.type not in LABEL_TYPES:
        raise errors.TaskWrongKind()
    return task


async def review(act: Act) -> None:
    task = reviewable(await flow.open_task(act))
    await flow.touch(act)
    await open_modal(act.interaction, ReviewModal(task, clean_state(task, act.arg), act.tr))


async def reviewed(act: Act) -> None:
    member = await act.member()
    task = reviewable(await (await act.engine()).get_task(act.task_id, member))
    state = clean_state(task, act.arg)
    all_pages, number = pages(task), page_of(task, state)
    chars = dict(zip(task.valid_labels, state, strict=True))
    for part in all_pages[number]:
        chars.update(answer(part, act.values))
    asked = [n for part in all_pages[number] for n in part.names]
    missing = [title(act.tr, n) for n in asked if n in task.mandatory_labels and chars[n] == BLANK]
    if missing:
        labels = act.tr.join(missing)
        raise errors.LabelsMandatoryMissing(act.tr("Please answer: {labels} — nothing was stored.", labels=labels))
    new_state = "".join(chars[n] for n in task.valid_labels)
    if number + 1 < len(all_pages):
        await flow.show(act, task, new_state)
        return
    await (await act.engine()).submit_labels(act.task_id, member, decode(task, new_state), message_id=task.target_id)
    await flow.next_card(act, task, flow.saved(act.tr))


PART = CardPart(
    "labelling", family="label", body=body, buttons={"label": quick, "review": review}, modals={"review": reviewed}
)
