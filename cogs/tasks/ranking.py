"""Ranking tasks: tap the replies best first; the order so far is the card state ("CA" = C first, then A).

The state travels in the custom_ids of the card's buttons, so a half-done ranking survives a restart.
Letters name the candidates in `task.candidates` order (the member's shuffled order): A is shown index 0.
"""

from __future__ import annotations

import discord
from discord import ui

from cogs.i18n import Tr
from cogs.tasks import flow
from cogs.tasks.cards import Body
from cogs.tasks.items import Act, CardPart, TaskButton
from engine import errors
from engine.types import RANKING_TYPES, Task

LETTERS = "ABCDEFGHIJ"  # 10 candidates: rows 0 and 1 (row 2 holds the controls); letters stay Latin everywhere


def letters(task: Task) -> str:
    return LETTERS[: len(task.candidates)]


def taps(task: Task, state: str) -> str:
    """The tapped letters of `state`; an invalid state (e.g. from an older card) starts afresh."""
    shown = letters(task)
    ok = len(set(state)) == len(state) and set(state) <= set(shown)
    return state[: max(len(shown) - 1, 0)] if ok else ""


def complete(task: Task, tapped: str) -> str:
    """The full order once one candidate is left (it is filled in), else ""."""
    shown = letters(task)
    if len(tapped) < len(shown) - 1:
        return ""
    return tapped + "".join(c for c in shown if c not in tapped)


def indices(task: Task, order: str) -> list[int]:
    shown = letters(task)
    if sorted(order) != sorted(shown):
        raise errors.InvalidRanking()
    return [shown.index(c) for c in order]


def badge(letter: str) -> str:
    return chr(0x1F1E6 + ord(letter) - ord("A"))  # regional indicator 🇦, 🇧, …


def bad_button(task: Task, row: int, tr: Tr) -> TaskButton:
    if len(task.candidates) == 2:
        label = tr.ctx("button", "Both bad (not rankable)")
    else:
        label = tr.ctx("button", "All bad (not rankable)")
    return TaskButton(task.id, "rank_bad", label=label, emoji="👎", style=discord.ButtonStyle.danger, row=row)


def reply_name(tr: Tr, letter: str) -> str:
    return tr("Reply {letter}", letter=letter)


def body(task: Task, state: str, tr: Tr) -> Body:
    tid, shown = task.id, letters(task)
    blocks = [(f"{badge(c)} {reply_name(tr, c)}", m.text) for c, m in zip(shown, task.candidates, strict=False)]
    if len(shown) == 2:
        better = tr.ctx("button", "{letter} is better", letter="A"), tr.ctx("button", "{letter} is better", letter="B")
        items: list[ui.Item] = [
            TaskButton(tid, "rank_submit", "AB", label=better[0], emoji=badge("A"), row=0),
            TaskButton(tid, "rank_submit", "BA", label=better[1], emoji=badge("B"), row=0),
            bad_button(task, 1, tr),
        ]
        return Body(items=items, blocks=blocks, status=tr("Which reply is better?"))
    tapped = taps(task, state)
    order = complete(task, tapped)
    placed = order or tapped
    items = [
        TaskButton(tid, "rank", tapped + c, label=c, emoji=badge(c), disabled=c in placed, row=i // 5)
        for i, c in enumerate(shown)
    ]
    row = 2 if len(shown) > 5 else 1
    success = discord.ButtonStyle.success
    items += [
        TaskButton(
            tid, "rank_undo", tapped[:-1], label=tr.ctx("button", "Undo"), emoji="↩️", disabled=not tapped, row=row
        ),
        TaskButton(tid, "rank_reset", label=tr.ctx("button", "Reset"), emoji="🔄", disabled=not tapped, row=row),
        bad_button(task, row, tr),
        TaskButton(
            tid,
            "rank_submit",
            order,
            label=tr.ctx("button", "Submit"),
            emoji="✅",
            style=success,
            disabled=not order,
            row=row,
        ),
    ]
    so_far = "  ".join(f"{n}. {c}" for n, c in enumerate(placed, 1))
    if order:
        status = tr("Your order: {order} — press **Submit**.", order=so_far)
    elif tapped:
        status = tr("So far: {order} — tap the next best.", order=so_far)
    else:
        status = tr("Tap the best reply first, then the next best…")
    return Body(items=items, blocks=blocks, status=status)


async def tap(act: Act) -> None:
    """A tap on a reply, Undo or Reset: the member is working on the ranking, so its place is held from now."""
    task = await flow.open_task(act)
    if task.type not in RANKING_TYPES:  # a forged button: only ranking cards have one
        raise errors.TaskWrongKind()
    await flow.touch(act)
    await flow.show(act, task, taps(task, act.arg) if act.action != "rank_reset" else "")


async def submit(act: Act) -> None:
    member = await act.member()
    task = await (await act.engine()).get_task(act.task_id, member)
    await (await act.engine()).submit_ranking(act.task_id, member, indices(task, act.arg))
    await flow.next_card(act, task, flow.saved(act.tr))


async def not_rankable(act: Act) -> None:
    member = await act.member()
    task = await (await act.engine()).get_task(act.task_id, member)
    await (await act.engine()).submit_ranking(act.task_id, member, None, not_rankable=True)
    await flow.next_card(act, task, flow.saved(act.tr))


PART = CardPart(
    "ranking",
    family="rank",
    body=body,
    buttons={"rank": tap, "rank_undo": tap, "rank_reset": tap, "rank_submit": submit, "rank_bad": not_rankable},
)
