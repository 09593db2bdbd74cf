"""The engine's vocabulary: tree states, task types, roles, labels, and the value objects it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_COMMUNITY = 1  # the first community: the operator's default, and the pool of data stored before communities


class TreeState(StrEnum):
    INITIAL_PROMPT_REVIEW = "initial_prompt_review"
    PROMPT_LOTTERY_WAITING = "prompt_lottery_waiting"
    GROWING = "growing"
    RANKING = "ranking"
    READY_FOR_SCORING = "ready_for_scoring"
    READY_FOR_EXPORT = "ready_for_export"
    SCORING_FAILED = "scoring_failed"
    ABORTED_LOW_GRADE = "aborted_low_grade"
    HALTED_BY_MODERATOR = "halted_by_moderator"
    BACKLOG_RANKING = "backlog_ranking"


# Entering one of these sets active=false (reference §2.2); all others set active=true.
INACTIVE_STATES = frozenset(
    {
        TreeState.READY_FOR_EXPORT,
        TreeState.ABORTED_LOW_GRADE,
        TreeState.SCORING_FAILED,
        TreeState.HALTED_BY_MODERATOR,
        TreeState.BACKLOG_RANKING,
        TreeState.PROMPT_LOTTERY_WAITING,
    }
)

# Entering one of these from an active state rolls the backlog-activation dice (decisions #6).
TRULY_TERMINAL_STATES = frozenset(
    {
        TreeState.READY_FOR_EXPORT,
        TreeState.ABORTED_LOW_GRADE,
        TreeState.SCORING_FAILED,
        TreeState.HALTED_BY_MODERATOR,
    }
)


def is_active_state(state: TreeState) -> bool:
    return state not in INACTIVE_STATES


class Role(StrEnum):
    PROMPTER = "prompter"
    ASSISTANT = "assistant"


class TaskType(StrEnum):
    INITIAL_PROMPT = "initial_prompt"
    PROMPTER_REPLY = "prompter_reply"
    ASSISTANT_REPLY = "assistant_reply"
    LABEL_INITIAL_PROMPT = "label_initial_prompt"
    LABEL_PROMPTER_REPLY = "label_prompter_reply"
    LABEL_ASSISTANT_REPLY = "label_assistant_reply"
    RANK_ASSISTANT_REPLIES = "rank_assistant_replies"
    RANK_PROMPTER_REPLIES = "rank_prompter_replies"

    @property
    def kind(self) -> TaskKind:
        return _KIND_OF[self]


class TaskKind(StrEnum):
    """The five kinds the random choice weighs (reference §4.1)."""

    RANKING = "ranking"
    LABEL_REPLY = "label_reply"
    LABEL_PROMPT = "label_prompt"
    REPLY = "reply"
    PROMPT = "prompt"


_KIND_OF = {
    TaskType.INITIAL_PROMPT: TaskKind.PROMPT,
    TaskType.PROMPTER_REPLY: TaskKind.REPLY,
    TaskType.ASSISTANT_REPLY: TaskKind.REPLY,
    TaskType.LABEL_INITIAL_PROMPT: TaskKind.LABEL_PROMPT,
    TaskType.LABEL_PROMPTER_REPLY: TaskKind.LABEL_REPLY,
    TaskType.LABEL_ASSISTANT_REPLY: TaskKind.LABEL_REPLY,
    TaskType.RANK_ASSISTANT_REPLIES: TaskKind.RANKING,
    TaskType.RANK_PROMPTER_REPLIES: TaskKind.RANKING,
}

WRITING_TYPES = frozenset({TaskType.INITIAL_PROMPT, TaskType.PROMPTER_REPLY, TaskType.ASSISTANT_REPLY})
LABEL_TYPES = frozenset({TaskType.LABEL_INITIAL_PROMPT, TaskType.LABEL_PROMPTER_REPLY, TaskType.LABEL_ASSISTANT_REPLY})
RANKING_TYPES = frozenset({TaskType.RANK_ASSISTANT_REPLIES, TaskType.RANK_PROMPTER_REPLIES})


class TaskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # its target went away (moderation, purge)
    PURGED = "purged"  # done, but its result was removed with its author's data (decisions #10)


class LabelMode(StrEnum):
    SIMPLE = "simple"
    FULL = "full"


class Emoji(StrEnum):
    THUMBS_UP = "+1"
    THUMBS_DOWN = "-1"
    RED_FLAG = "red_flag"
    HUNDRED = "100"
    ROFL = "rofl"
    CLAP = "clap"
    DIAMOND = "diamond"
    HEART_EYES = "heart_eyes"
    DISAPPOINTED = "disappointed"
    POOP = "poop"
    SKULL = "skull"
    SKIP_REPLY = "_skip_reply"
    SKIP_RANKING = "_skip_ranking"
    SKIP_LABELING = "_skip_labeling"


SKIP_EMOJI_OF_KIND = {
    TaskKind.REPLY: Emoji.SKIP_REPLY,
    TaskKind.LABEL_PROMPT: Emoji.SKIP_LABELING,
    TaskKind.LABEL_REPLY: Emoji.SKIP_LABELING,
    TaskKind.RANKING: Emoji.SKIP_RANKING,
}


class EmojiOp(StrEnum):
    TOGGLE = "toggle"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True)
class ConversationMessage:
    id: str
    role: Role
    text: str
    lang: str
    user_id: int
    synthetic: bool = False


@dataclass(frozen=True)
class Task:
    """A task as handed to a front-end: everything a card needs to render it."""

    id: str
    type: TaskType
    user_id: int
    lang: str
    status: TaskStatus
    created_at: float
    expires_at: float | None
    tree_id: str | None = None
    target_id: str | None = None
    conversation: tuple[ConversationMessage, ...] = ()
    # label tasks
    label_mode: LabelMode | None = None
    valid_labels: tuple[str, ...] = ()
    mandatory_labels: tuple[str, ...] = ()
    # ranking tasks: candidates in the order shown to this user
    candidates: tuple[ConversationMessage, ...] = ()
    reveal_synthetic: bool = False
    draft: str | None = None
    frontend_ref: str | None = None
    lease_until: float | None = None  # until when the task holds its slot (None: it holds none now)

    @property
    def kind(self) -> TaskKind:
        return self.type.kind


@dataclass(frozen=True)
class Availability:
    """How many tasks of each type a user could get now in one language (read-only)."""

    lang: str
    counts: dict[TaskType, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class SubmitResult:
    task_id: str
    message_id: str | None = None  # the stored reply, for writing tasks
    tree_state: TreeState | None = None  # state of the affected tree after the submission
