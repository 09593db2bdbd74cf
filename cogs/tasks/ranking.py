"""Ranking tasks (placeholder body until the ranking UI lands)."""

from __future__ import annotations

from cogs.tasks.cards import BODIES, Body
from engine.types import Task


def body(task: Task, state: str) -> Body:
    return Body()


BODIES["rank"] = body
