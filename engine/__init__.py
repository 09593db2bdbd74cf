"""Grove's rules: conversation trees, tasks, reviews, rankings. No Discord here, ever."""

from engine.clock import Clock, FakeClock, SystemClock
from engine.config import EngineConfig
from engine.engine import Engine
from engine.errors import DomainError
from engine.ranking import ranked_pairs
from engine.types import Emoji, EmojiOp, LabelMode, Role, Task, TaskKind, TaskStatus, TaskType, TreeState

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
    "ranked_pairs",
]
