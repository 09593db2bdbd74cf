"""Grove's rules: conversation trees, tasks, reviews, rankings. No Discord here, ever.

Importing this package imports nothing else: storage may import the vocabulary
(`engine.types`, `engine.records`, `engine.errors`, `engine.lang`, `engine.events`) without
pulling in the rules. The names below are loaded on first use (`from engine import Engine`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine import errors, policy
    from engine.clock import Clock, FakeClock, SystemClock
    from engine.config import EngineConfig
    from engine.engine import Engine
    from engine.errors import DomainError
    from engine.ranking import ranked_pairs
    from engine.types import Emoji, EmojiOp, LabelMode, Role, Task, TaskKind, TaskStatus, TaskType, TreeState

_WHERE = {
    "Clock": "engine.clock",
    "FakeClock": "engine.clock",
    "SystemClock": "engine.clock",
    "EngineConfig": "engine.config",
    "Engine": "engine.engine",
    "DomainError": "engine.errors",
    "ranked_pairs": "engine.ranking",
    **dict.fromkeys(
        ["Emoji", "EmojiOp", "LabelMode", "Role", "Task", "TaskKind", "TaskStatus", "TaskType", "TreeState"],
        "engine.types",
    ),
}
_SUBMODULES = {"errors", "policy"}

__all__ = [
    "Clock",
    "DomainError",
    "Emoji",
    "EmojiOp",
    "Engine",
    "EngineConfig",
    "FakeClock",
    "LabelMode",
    "Role",
    "SystemClock",
    "Task",
    "TaskKind",
    "TaskStatus",
    "TaskType",
    "TreeState",
    "errors",
    "policy",
    "ranked_pairs",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"engine.{name}")
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
