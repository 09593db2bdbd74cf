"""Typed records: rows as storage returns them, with the vocabulary's enums; values only, no rules.

Part of the vocabulary (see docs/architecture.md): imports nothing of Grove but `engine.types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.types import Role, TaskStatus, TaskType, TreeState


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
    ui_locale: str | None  # the interface language the member chose (None: their client's)
    created_at: float
    last_activity_at: float | None
    streak_last_day_at: float | None
    streak_days: int
    home_community_id: int | None = None  # where the member's DM work goes (the server they last used)
    consent_at: float | None = None  # agreed to the dataset terms (None: not yet, or withdrawn)
    consent_withdrawn_at: float | None = None
    name_removed_at: float | None = None  # /privacy "remove my name" done
    texts_deleted_at: float | None = None  # /privacy "delete my texts" done
    notify: bool = False  # DM me what became of my work
    notified_at: float | None = None


@dataclass(frozen=True)
class TreeRow:
    id: str
    state: TreeState
    active: bool
    lang: str
    goal_tree_size: int
    max_depth: int
    max_children_count: int
    halted_from: TreeState | None
    won_prompt_lottery_at: float | None
    origin: str | None
    created_at: float
    state_changed_at: float
    community_id: int = 1
    withdrawn_at: float | None = None  # its prompt's author deleted their texts: left out of exports


@dataclass(frozen=True)
class MessageRow:
    id: str
    tree_id: str
    parent_id: str | None
    user_id: int
    task_id: str | None
    role: Role
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
    type: TaskType
    lang: str
    random_request: bool
    tree_id: str | None
    target_id: str | None
    payload: dict[str, Any]
    status: TaskStatus
    created_at: float
    expires_at: float | None
    ended_at: float | None
    lease_until: float | None  # the slot is held until then (None: it holds none)
    frontend_ref: str | None
    draft: str | None
    community_id: int = 1
