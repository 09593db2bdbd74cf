"""Slot leases (decisions #15, #16): a handed-out task holds its slot — a reply slot in its tree and under its
parent, a review slot on its message, a ranking slot on its sibling set — only for a short lease that the
member's visible work extends. The task itself, with its draft, lives until it expires.

When a lease has ended the slot is free for others. A member who comes back takes it again if it is still
free (in the same transaction as their submission or their resume); if someone else took it, they are told
so and keep their text.
"""

from __future__ import annotations

from engine import errors
from engine.records import TaskRow
from engine.step import Step
from engine.types import LABEL_TYPES, RANKING_TYPES, WRITING_TYPES, Role, TaskType


def lease_seconds(task_type: TaskType, step: Step) -> float:
    minutes = step.cfg.reservation_minutes if task_type in WRITING_TYPES else step.cfg.review_reservation_minutes
    return minutes * 60.0


def holds_slot(row: TaskRow) -> bool:
    """Initial prompts hold no slot; every other task holds one on its target."""
    return row.target_id is not None


def live(row: TaskRow, now: float) -> bool:
    return row.lease_until is not None and row.lease_until > now


async def extend(step: Step, row: TaskRow) -> None:
    """The member is visibly working on the task: its lease runs from now. A lease that has ended is taken
    again only if the slot is still free; if it is not, nothing changes here (the submission will say so)."""
    if not holds_slot(row):
        return
    now = step.now()
    if live(row, now) or await slot_free(step, row):
        await step.repo.set_lease(row.id, now + lease_seconds(row.type, step))


async def hold(step: Step, row: TaskRow, text: str | None = None, *, renew: bool = False) -> None:
    """Make sure the task holds its slot now: keep a live lease (from now on, with `renew`), retake an ended
    one if the slot is free, else refuse with the member's text given back."""
    if not holds_slot(row):
        return
    now = step.now()
    if live(row, now):
        if renew:
            await step.repo.set_lease(row.id, now + lease_seconds(row.type, step))
        return
    if not await slot_free(step, row):
        raise errors.TaskSlotTaken(text=text)
    await step.repo.set_lease(row.id, now + lease_seconds(row.type, step))


async def release(step: Step, row: TaskRow) -> None:
    """Give the slot back at once (Stop on a card); the task stays open and can be resumed."""
    if holds_slot(row) and live(row, step.now()):
        await step.repo.set_lease(row.id, step.now())


async def slot_free(step: Step, row: TaskRow) -> bool:
    """Is there room for this task's contribution, counting the slots other members' live leases hold?"""
    repo, cfg, now = step.repo, step.cfg, step.now()
    target = row.target_id
    if target is None:
        return True
    if row.type in WRITING_TYPES:
        tree = await repo.tree(row.tree_id or "")
        parent = await repo.message(target)
        if tree is None or parent is None:
            return False
        size = await repo.live_size(tree.id) + await repo.held_tree_leases(tree.id, now, row.id)
        if size >= tree.goal_tree_size:
            return False
        limit = tree.max_children_count
        if parent.role is not Role.PROMPTER:
            limit = min(limit, cfg.num_prompter_replies)
        writing = [t.value for t in WRITING_TYPES]
        children = await repo.live_children_count(target) + await repo.held_leases(target, writing, now, row.id)
        return children < limit
    if row.type in LABEL_TYPES:
        message = await repo.message(target)
        if message is None:
            return False
        required = cfg.num_reviews_initial_prompt if message.parent_id is None else cfg.num_reviews_reply
        held = await repo.held_leases(target, [t.value for t in LABEL_TYPES], now, row.id)
        return message.review_count + held < required
    if row.type in RANKING_TYPES:
        done = (await repo.ranking_counts([target]))[target]
        held = await repo.held_leases(target, [t.value for t in RANKING_TYPES], now, row.id)
        return done + held < cfg.num_required_rankings
    return True
