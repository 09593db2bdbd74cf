"""Review tasks (placeholder body until the labelling UI lands)."""

from __future__ import annotations

from cogs.tasks.cards import BODIES, Body
from engine.types import Task


def body(task: Task, state: str) -> Body:
    return Body()


BODIES["label"] = body
