"""The engine's own writes applied to the in-memory model of the active set (`storage.active`).

Each function takes the trees one write stamped (None for one the model does not hold) and the write's facts,
changes the model as reloading those trees would, and says True; or False when it cannot tell exactly, and the
trees are reloaded instead. `tests/storage/test_active_set.py` compares the model with `HAND_OUT_SQL` after random
operations, so a patch that drifts from `_load_rows` fails there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.records import TaskRow
from engine.types import LABEL_TYPES, RANKING_TYPES, WRITING_TYPES
from storage.active import NEVER, SKIPS, HeldMessage, HeldTree
from storage.sql import Queries, words

_LABEL = frozenset(t.value for t in LABEL_TYPES)
_RANK = frozenset(t.value for t in RANKING_TYPES)
_REPLY = frozenset(t.value for t in WRITING_TYPES)


# Where a pending task holds its slot in the model: lists of leases, each with the entry that stands for a lease.
_Slot = tuple[list[Any], Callable[[float], Any]]


def _same(lease: float) -> float:
    return lease


def _slots(trees: dict[str, HeldTree | None], task: TaskRow) -> tuple[HeldMessage | None, list[_Slot]] | None:
    """The task's target (if any) and the lists its lease sits in, as `_load_rows` files it: its tree's reply
    leases for a writing task, and its target's leases of its kind. None when the model lacks a tree or message
    that it should hold."""
    type_ = task.type.value
    slots: list[_Slot] = []
    if type_ in _REPLY and task.tree_id is not None:
        tree = trees.get(task.tree_id)
        if tree is None:
            return None
        slots.append((tree.reply_leases, _same))
    if task.target_id is None:
        return None, slots
    m = _find(trees, task.target_id)
    if m is None:
        return None
    if type_ in _LABEL:
        slots.append((m.label_leases, _same))
    elif type_ in _RANK:
        slots.append((m.rank_leases, _same))
    elif type_ in _REPLY:
        user, created = task.user_id, float(task.created_at)
        slots.append((m.reply_tasks, lambda lease: (user, created, lease)))
    return m, slots


async def task_inserted(trees: dict[str, HeldTree | None], row: TaskRow | None) -> bool:
    """A task handed out: it holds its slot (its lease) and blocks its member from the same work."""
    if row is None:
        return False
    if not any(trees.values()):
        return True  # nothing the model holds
    found = _slots(trees, row)
    if found is None:
        return False
    m, slots = found
    for values, entry in slots:
        values.append(entry(_lease(row.lease_until)))
    if m is not None and row.type.value in _LABEL:
        m.label_blocked.add(row.user_id)
    elif m is not None and row.type.value in _RANK:
        m.rank_blocked.add(row.user_id)
    return True


async def task_ended(q: Queries, trees: dict[str, HeldTree | None], prior: TaskRow, status: str) -> bool:
    """A pending task ended (done, skipped, released, expired…): its slot is free; whether its member stays
    blocked from the same work depends on what else they did there."""
    if not any(trees.values()):
        return True
    found = _slots(trees, prior)
    if found is None:
        return False
    m, slots = found
    lease = _lease(prior.lease_until)
    if not all(_drop(values, entry(lease)) for values, entry in slots):
        return False
    user = prior.user_id
    if m is not None and prior.type.value in _LABEL:
        if status not in ("done", "skipped") and not await _still(q, _LABEL_BLOCKED, m.id, user):
            m.label_blocked.discard(user)
    elif m is not None and prior.type.value in _RANK:
        if status != "skipped" and not await _still(q, _RANK_BLOCKED, m.id, user):
            m.rank_blocked.discard(user)
    return True


async def lease_moved(trees: dict[str, HeldTree | None], prior: TaskRow, until: float | None) -> bool:
    """A pending task's lease was extended (or dropped): the same slot, held until another time."""
    if not any(trees.values()):
        return True
    found = _slots(trees, prior)
    if found is None:
        return False
    old, new = _lease(prior.lease_until), _lease(until)
    return all(_swap(values, entry(old), entry(new)) for values, entry in found[1])


async def labelled(trees: dict[str, HeldTree | None], message_id: str, user: int, by_task: bool) -> bool:
    """A review stored: a member who reviewed a message through a task does not get it again."""
    return _on_message(trees, message_id, lambda m: m.label_blocked.add(user) if by_task else None)


async def review_counted(trees: dict[str, HeldTree | None], message_id: str, count: int) -> bool:
    return _on_message(trees, message_id, lambda m: setattr(m, "review_count", count))


async def verdict(trees: dict[str, HeldTree | None], message_id: str, result: bool | None) -> bool:
    """A review verdict. Accepting keeps a message live; one that turns a live message dead (or back) changes
    who may reply where, and is reloaded instead."""
    if not any(trees.values()):
        return True
    m = _find(trees, message_id)
    new = None if result is None else int(result)
    if m is None or (m.review_result != 0) != (new != 0):
        return False
    m.review_result = new
    return True


async def ranked(trees: dict[str, HeldTree | None], parent_id: str, user: int) -> bool:
    """A ballot on a parent's replies: one more ranking, and its member does not rank them again."""

    def apply(p: HeldMessage) -> None:
        p.rankings += 1
        p.rank_blocked.add(user)

    return _on_message(trees, parent_id, apply)


async def skipped(trees: dict[str, HeldTree | None], message_id: str, user: int, emoji: str) -> bool:
    """A skip (or opt-out) mark: its member does not get that work on that message again."""
    if emoji not in SKIPS:
        return True

    def apply(m: HeldMessage) -> None:
        blocked = m.label_blocked if emoji == SKIPS[0] else m.reply_blocked if emoji == SKIPS[1] else m.rank_blocked
        blocked.add(user)

    return _on_message(trees, message_id, apply)


async def message_added(trees: dict[str, HeldTree | None], tree_id: str, row: Sequence[Any]) -> bool:
    """A reply stored (`row` as `HeldMessage` reads it): the tree has one more message, its parent one more
    live child by that member."""
    if not any(trees.values()):
        return True
    tree = trees.get(tree_id)
    if tree is None:
        return False
    m = tree.messages[str(row[0])] = HeldMessage(row)
    if not m.deleted and m.review_result != 0:
        tree.live += 1
        parent = None if m.parent_id is None else tree.messages.get(m.parent_id)
        if parent is not None:
            parent.reply_blocked.add(m.user_id)
    return True


def _lease(until: float | None) -> float:
    return NEVER if until is None else float(until)


def _find(trees: dict[str, HeldTree | None], message_id: str) -> HeldMessage | None:
    for tree in trees.values():
        if tree is not None and (m := tree.messages.get(message_id)) is not None:
            return m
    return None


def _on_message(trees: dict[str, HeldTree | None], message_id: str, apply: Callable[[HeldMessage], object]) -> bool:
    """Apply a change to one message of the stamped trees; True when the model holds none of them (nothing to do),
    False when it holds the tree but not the message."""
    if not any(trees.values()):
        return True
    m = _find(trees, message_id)
    if m is None:
        return False
    apply(m)
    return True


def _drop(values: list[Any], value: Any) -> bool:
    try:
        values.remove(value)
    except ValueError:
        return False
    return True


def _swap(values: list[Any], old: Any, new: Any) -> bool:
    try:
        values[values.index(old)] = new
    except ValueError:
        return False
    return True


# Whether a member is still kept from reviewing (ranking under) a message after one of their tasks there ended:
# as `_load_rows` decides it, for one member and one message.
_LABEL_BLOCKED = f"""SELECT 1 FROM tasks WHERE target_id = :m AND user_id = :u AND type IN {words(sorted(_LABEL))}
                        AND status IN ('pending', 'done', 'skipped')
                     UNION ALL SELECT 1 FROM labels WHERE message_id = :m AND user_id = :u AND task_id IS NOT NULL
                     UNION ALL SELECT 1 FROM message_emojis
                               WHERE message_id = :m AND user_id = :u AND emoji = '{SKIPS[0]}'
                     LIMIT 1"""
_RANK_BLOCKED = f"""SELECT 1 FROM tasks WHERE target_id = :m AND user_id = :u AND type IN {words(sorted(_RANK))}
                       AND status IN ('pending', 'skipped')
                    UNION ALL SELECT 1 FROM rankings WHERE parent_id = :m AND user_id = :u
                    UNION ALL SELECT 1 FROM message_emojis
                              WHERE message_id = :m AND user_id = :u AND emoji = '{SKIPS[2]}'
                    LIMIT 1"""


async def _still(q: Queries, sql: str, message_id: str, user: int) -> bool:
    return await q._one(sql, {"m": message_id, "u": user}) is not None
