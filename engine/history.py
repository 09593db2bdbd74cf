"""What became of a member's work (/history): their prompts and replies, newest first, each with its review result,
its tree's state and its rank among its siblings; and how many reviews and rankings they gave.

Only the step's community is read (`Step.community`; None: every community, the operator's view).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.step import Step
from engine.types import Role, TreeState


class HistoryKind(StrEnum):
    ALL = "all"
    PROMPTS = "prompts"
    REPLIES = "replies"


@dataclass(frozen=True)
class HistoryItem:
    message_id: str
    tree_id: str
    is_prompt: bool
    role: Role
    text: str
    created_at: float
    deleted: bool
    review_result: bool | None  # None: waiting for review
    tree_state: TreeState
    withdrawn: bool  # its tree was withdrawn from the dataset (its prompt's author deleted their texts)
    rank: int | None  # 0: ranked best among its siblings; None: not ranked
    ranked_siblings: int  # how many of its sibling set (itself included) got a rank; 0 when unranked


@dataclass(frozen=True)
class HistoryPage:
    user_id: int
    kind: HistoryKind
    items: list[HistoryItem]
    page: int  # 0-based, within [0, pages)
    pages: int
    total: int  # messages of this kind
    reviews_given: int
    rankings_given: int


PER_PAGE = 10


def _roots(kind: HistoryKind) -> bool | None:
    return {HistoryKind.ALL: None, HistoryKind.PROMPTS: True, HistoryKind.REPLIES: False}[kind]


def _item(row: dict[str, Any]) -> HistoryItem:
    result = row["review_result"]
    return HistoryItem(
        message_id=row["id"],
        tree_id=row["tree_id"],
        is_prompt=row["parent_id"] is None,
        role=Role(row["role"]),
        text=row["text"],
        created_at=row["created_at"],
        deleted=bool(row["deleted"]),
        review_result=None if result is None else bool(result),
        tree_state=TreeState(row["tree_state"]),
        withdrawn=bool(row["withdrawn"]),
        rank=row["rank"],
        ranked_siblings=row["ranked_siblings"],
    )


async def page(
    step: Step, user_id: int, kind: HistoryKind, page: int, per_page: int = PER_PAGE, include_deleted: bool = False
) -> HistoryPage:
    """One page of the member's history (clamped to the pages there are); deleted messages only on request."""
    await step.user(user_id)
    queries, community, roots = step.repo.history, step.community, _roots(kind)
    per_page = max(1, per_page)
    total, reviews, rankings = await queries.counts_of(user_id, community, roots=roots, include_deleted=include_deleted)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = await queries.messages_of(
        user_id, community, roots=roots, include_deleted=include_deleted, limit=per_page, offset=page * per_page
    )
    return HistoryPage(user_id, kind, [_item(r) for r in rows], page, pages, total, reviews, rankings)
