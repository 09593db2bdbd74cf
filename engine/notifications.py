"""Notifications: what became of a member's work, recorded when it happens and told later in one DM.

Recording (inside the transaction that made the change, for members who opted in with `/notifications on`):

    prompt_accepted / prompt_rejected   the prompt's initial review ended (`lifecycle.judge`)
    reply_ranked                        a reply got rank 1, 2 or 3 when its tree was scored (`lifecycle.score_tree`);
                                        detail "rank/ranked siblings", e.g. "1/3"; told again only if its rank changed
    tree_finished                       the member's prompt's tree reached ready_for_export for the first time in
                                        this step (a purge that re-scores a finished tree tells nothing new)

The same notification is not recorded twice while it waits. Delivery belongs to the front-end: it asks for the
members who are due (`due`: waiting notifications, last DM at least an interval ago), tells them, and marks what
it handled (`told`), which also stamps the member's last DM, so a member gets at most one DM per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.events import TreeStateChanged
from engine.records import MessageRow, TreeRow
from engine.step import Step
from engine.types import TreeState

TOLD_RANKS = 3  # ranks 1st, 2nd and 3rd are told


class NotificationKind(StrEnum):
    PROMPT_ACCEPTED = "prompt_accepted"
    PROMPT_REJECTED = "prompt_rejected"
    REPLY_RANKED = "reply_ranked"
    TREE_FINISHED = "tree_finished"


@dataclass(frozen=True)
class Notice:
    id: int
    kind: NotificationKind
    message_id: str | None
    tree_id: str | None
    detail: str
    created_at: float
    text: str  # the message's text ("" when it is gone)


@dataclass(frozen=True)
class Digest:
    """What one member is due to be told in one DM."""

    user_id: int
    auth_method: str
    username: str  # the front-end's id of the member (a Discord user id for auth_method "discord")
    ui_locale: str | None
    notices: list[Notice]  # the oldest waiting ones, at most the limit asked for
    more: int  # waiting beyond `notices`
    upto: int | None  # the newest waiting notification's id: `told` handles everything up to it


# ---------------------------------------------------------------------- recording (called by lifecycle)


async def _record(step: Step, user_id: int, kind: NotificationKind, message_id: str, tree_id: str, detail: str) -> None:
    await step.repo.history.record(user_id, kind.value, message_id, tree_id, detail, step.now())


async def prompt_judged(step: Step, message: MessageRow, accepted: bool | None) -> None:
    """The prompt's initial review ended (None: no verdict, nothing to tell)."""
    if accepted is None:
        return
    kind = NotificationKind.PROMPT_ACCEPTED if accepted else NotificationKind.PROMPT_REJECTED
    await _record(step, message.user_id, kind, message.id, message.tree_id, "")


async def ranks_before_scoring(step: Step, tree: TreeRow) -> dict[str, int]:
    """The ranks the tree's replies by opted-in members hold before scoring (to tell only what changed)."""
    return {mid: rank for mid, _, rank, _ in await step.repo.history.ranked_replies_to_tell(tree.id)}


async def tree_scored(step: Step, tree: TreeRow, before: dict[str, int]) -> None:
    """The tree was scored (it is entering ready_for_export): its new top ranks, and its prompt's author."""
    for message_id, author, rank, ranked in await step.repo.history.ranked_replies_to_tell(tree.id):
        if rank < TOLD_RANKS and before.get(message_id) != rank:
            await _record(step, author, NotificationKind.REPLY_RANKED, message_id, tree.id, f"{rank + 1}/{ranked}")
    if tree.state is TreeState.READY_FOR_EXPORT or _was_finished(step, tree.id):
        return
    root = await step.repo.message(tree.id)
    if root is not None and not root.deleted:
        await _record(step, root.user_id, NotificationKind.TREE_FINISHED, root.id, tree.id, "")


def _was_finished(step: Step, tree_id: str) -> bool:
    """The tree left ready_for_export earlier in this step (a re-scoring after a purge)."""
    return any(
        isinstance(e, TreeStateChanged) and e.tree_id == tree_id and e.old is TreeState.READY_FOR_EXPORT
        for e in step.events
    )


# ---------------------------------------------------------------------- the member's choice and data


async def set_enabled(step: Step, user_id: int, on: bool) -> None:
    await step.user(user_id)
    await step.repo.history.set_notify(user_id, on)


async def enabled(step: Step, user_id: int) -> bool:
    await step.user(user_id)
    return await step.repo.history.notify_of(user_id)


async def of_member(step: Step, user_id: int) -> list[dict[str, Any]]:
    """Every notification recorded for the member, told or waiting (for a privacy export)."""
    return await step.repo.history.notifications_of(user_id)


async def forget(step: Step, user_id: int) -> int:
    """Delete every notification recorded for the member; returns how many there were."""
    return await step.repo.history.delete_notifications_of(user_id)


# ---------------------------------------------------------------------- delivery


async def due(step: Step, interval_seconds: float, members: int, per_member: int) -> list[Digest]:
    """Up to `members` members with waiting notifications whose last notification DM is at least
    `interval_seconds` old (longest waiting first), each with up to `per_member` notices."""
    queries = step.repo.history
    out = []
    for row in await queries.members_due(step.now() - interval_seconds, members):
        notices = [
            Notice(
                id=n["id"],
                kind=NotificationKind(n["kind"]),
                message_id=n["message_id"],
                tree_id=n["tree_id"],
                detail=n["detail"],
                created_at=n["created_at"],
                text=n["text"],
            )
            for n in await queries.waiting(row["id"], per_member)
        ]
        live, upto = await queries.waiting_totals(row["id"])
        more = max(0, live - len(notices))
        out.append(Digest(row["id"], row["auth_method"], row["username"], row["ui_locale"], notices, more, upto))
    return out


async def told(step: Step, user_id: int, upto: int | None) -> int:
    """The member's waiting notifications up to id `upto` were told (or skipped for good; None: none were) and
    their last notification DM is now. Returns how many were marked."""
    return await step.repo.history.mark_told(user_id, upto, step.now())
