"""Row mappers: SQLite rows to the vocabulary's typed records (enums wrapped here, once)."""

from __future__ import annotations

import json
import sqlite3

from engine.records import MessageRow, TaskRow, TreeRow, UserRow
from engine.types import Role, TaskStatus, TaskType, TreeState


def _bool(v: object) -> bool | None:
    return None if v is None else bool(v)


def user_from(row: sqlite3.Row) -> UserRow:
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
        ui_locale=row["ui_locale"],
        created_at=row["created_at"],
        last_activity_at=row["last_activity_at"],
        streak_last_day_at=row["streak_last_day_at"],
        streak_days=row["streak_days"],
        home_community_id=row["home_community_id"],
        consent_at=row["consent_at"],
        consent_withdrawn_at=row["consent_withdrawn_at"],
        name_removed_at=row["name_removed_at"],
        texts_deleted_at=row["texts_deleted_at"],
        notify=bool(row["notify"]),
        notified_at=row["notified_at"],
    )


def tree_from(row: sqlite3.Row) -> TreeRow:
    return TreeRow(
        id=row["id"],
        state=TreeState(row["state"]),
        active=bool(row["active"]),
        lang=row["lang"],
        goal_tree_size=row["goal_tree_size"],
        max_depth=row["max_depth"],
        max_children_count=row["max_children_count"],
        halted_from=None if row["halted_from"] is None else TreeState(row["halted_from"]),
        won_prompt_lottery_at=row["won_prompt_lottery_at"],
        origin=row["origin"],
        created_at=row["created_at"],
        state_changed_at=row["state_changed_at"],
        community_id=row["community_id"],
        withdrawn_at=row["withdrawn_at"],
    )


def message_from(row: sqlite3.Row) -> MessageRow:
    return MessageRow(
        id=row["id"],
        tree_id=row["tree_id"],
        parent_id=row["parent_id"],
        user_id=row["user_id"],
        task_id=row["task_id"],
        role=Role(row["role"]),
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


def task_from(row: sqlite3.Row) -> TaskRow:
    return TaskRow(
        id=row["id"],
        user_id=row["user_id"],
        type=TaskType(row["type"]),
        lang=row["lang"],
        random_request=bool(row["random_request"]),
        tree_id=row["tree_id"],
        target_id=row["target_id"],
        payload=json.loads(row["payload"]),
        status=TaskStatus(row["status"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        ended_at=row["ended_at"],
        lease_until=row["lease_until"],
        frontend_ref=row["frontend_ref"],
        draft=row["draft"],
        community_id=row["community_id"],
    )
