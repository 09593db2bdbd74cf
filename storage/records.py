"""Plain rows as storage returns them; no rules, just values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserRow:
    id: int
    auth_method: str
    username: str
    display_name: str
    enabled: bool
    deleted: bool
    show_on_leaderboard: bool
    dataset_opt_out: bool
    preferred_lang: str | None
    created_at: float
    last_activity_at: float | None
    streak_last_day_at: float | None
    streak_days: int


@dataclass(frozen=True)
class TreeRow:
    id: str
    state: str
    active: bool
    lang: str
    goal_tree_size: int
    max_depth: int
    max_children_count: int
    halted_from: str | None
    won_prompt_lottery_at: float | None
    origin: str | None
    created_at: float
    state_changed_at: float


@dataclass(frozen=True)
class MessageRow:
    id: str
    tree_id: str
    parent_id: str | None
    user_id: int
    task_id: str | None
    role: str
    text: str
    lang: str
    depth: int
    created_at: float
    deleted: bool
    review_count: int
    review_result: bool | None
    ranking_count: int
    rank: int | None
    synthetic: bool
    model_name: str | None
    emojis: dict[str, int]


@dataclass(frozen=True)
class TaskRow:
    id: str
    user_id: int
    type: str
    lang: str
    random_request: bool
    tree_id: str | None
    target_id: str | None
    payload: dict[str, Any]
    status: str
    created_at: float
    expires_at: float | None
    ended_at: float | None
    frontend_ref: str | None
    draft: str | None


def _bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


def user_from(row: Any) -> UserRow:
    return UserRow(
        id=row["id"],
        auth_method=row["auth_method"],
        username=row["username"],
        display_name=row["display_name"],
        enabled=bool(row["enabled"]),
        deleted=bool(row["deleted"]),
        show_on_leaderboard=bool(row["show_on_leaderboard"]),
        dataset_opt_out=bool(row["dataset_opt_out"]),
        preferred_lang=row["preferred_lang"],
        created_at=row["created_at"],
        last_activity_at=row["last_activity_at"],
        streak_last_day_at=row["streak_last_day_at"],
        streak_days=row["streak_days"],
    )


def tree_from(row: Any) -> TreeRow:
    return TreeRow(
        id=row["id"],
        state=row["state"],
        active=bool(row["active"]),
        lang=row["lang"],
        goal_tree_size=row["goal_tree_size"],
        max_depth=row["max_depth"],
        max_children_count=row["max_children_count"],
        halted_from=row["halted_from"],
        won_prompt_lottery_at=row["won_prompt_lottery_at"],
        origin=row["origin"],
        created_at=row["created_at"],
        state_changed_at=row["state_changed_at"],
    )


def message_from(row: Any) -> MessageRow:
    return MessageRow(
        id=row["id"],
        tree_id=row["tree_id"],
        parent_id=row["parent_id"],
        user_id=row["user_id"],
        task_id=row["task_id"],
        role=row["role"],
        text=row["text"],
        lang=row["lang"],
        depth=row["depth"],
        created_at=row["created_at"],
        deleted=bool(row["deleted"]),
        review_count=row["review_count"],
        review_result=_bool(row["review_result"]),
        ranking_count=row["ranking_count"],
        rank=row["rank"],
        synthetic=bool(row["synthetic"]),
        model_name=row["model_name"],
        emojis=json.loads(row["emojis"]),
    )


def task_from(row: Any) -> TaskRow:
    return TaskRow(
        id=row["id"],
        user_id=row["user_id"],
        type=row["type"],
        lang=row["lang"],
        random_request=bool(row["random_request"]),
        tree_id=row["tree_id"],
        target_id=row["target_id"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
        frontend_ref=row["frontend_ref"],
        draft=row["draft"],
    )
