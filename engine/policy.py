"""The engine's decisions as small pure functions: which task, which parent, accept or reject, who wins the lottery."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine import errors
from engine.config import EngineConfig, TaskWeights
from engine.records import TaskRow
from engine.types import LabelMode, Role, TaskKind, TaskStatus, TaskType

KIND_ORDER = (TaskKind.RANKING, TaskKind.LABEL_REPLY, TaskKind.LABEL_PROMPT, TaskKind.REPLY, TaskKind.PROMPT)


def kind_weights(weights: TaskWeights) -> dict[TaskKind, float]:
    return {
        TaskKind.RANKING: weights.ranking,
        TaskKind.LABEL_REPLY: weights.label_reply,
        TaskKind.LABEL_PROMPT: weights.label_prompt,
        TaskKind.REPLY: weights.reply,
        TaskKind.PROMPT: weights.prompt,
    }


def choose_task_kind(
    available: Mapping[TaskKind, int], weights: TaskWeights, rng: np.random.Generator
) -> TaskKind | None:
    """Draw a task kind among those with something available, by weight; None when nothing is (reference §4.1)."""
    w = kind_weights(weights)
    probs = np.array([w[k] if available.get(k, 0) > 0 else 0.0 for k in KIND_ORDER])
    total = probs.sum()
    if total <= 1e-8:
        return None
    return KIND_ORDER[int(rng.choice(len(KIND_ORDER), p=probs / total))]


def acceptance_score(reviews: Sequence[Mapping[str, float]]) -> float:
    """1 − (mean spam + mean lang_mismatch); a missing lang_mismatch counts as 0 (reference §4.7)."""
    if not reviews:
        return 1.0
    spam = sum(r.get("spam", 0.0) for r in reviews) / len(reviews)
    lang = sum(r.get("lang_mismatch", 0.0) for r in reviews) / len(reviews)
    return 1.0 - (spam + lang)


def review_verdict(reviews: Sequence[Mapping[str, float]], required: int, threshold: float) -> bool | None:
    """The verdict once `required` reviews exist (accept iff score > threshold, strictly); None before that."""
    if len(reviews) < required:
        return None
    return acceptance_score(reviews) > threshold


def initial_prompts_offered(growing: int, in_review: int, waiting: int, cfg: EngineConfig) -> int:
    """How many new initial prompts the language wants (reference §4.3 step 3)."""
    missing_growing = max(0, cfg.max_active_trees - growing)
    remaining_review = max(0, cfg.max_initial_prompt_review - in_review)
    remaining_lottery = max(0, cfg.max_prompt_lottery_waiting - waiting)
    return max(0, min(missing_growing + remaining_review, remaining_lottery))


@dataclass(frozen=True)
class ParentCandidate:
    id: str
    tree_id: str
    role: Role
    depth: int
    children: int  # live children plus reserved reply slots


def is_lonely(parent: ParentCandidate, cfg: EngineConfig) -> bool:
    return parent.role is Role.PROMPTER and 0 < parent.children < cfg.lonely_children_count


def pick_reply_parent(
    parents: Sequence[ParentCandidate], cfg: EngineConfig, rng: np.random.Generator
) -> ParentCandidate:
    """Prefer prompter parents with one answer, so sibling sets become rankable (reference §4.5 REPLY)."""
    if cfg.p_lonely_child_extension > 0 and cfg.lonely_children_count > 1:
        lonely = [p for p in parents if is_lonely(p, cfg)]
        if lonely and rng.random() < cfg.p_lonely_child_extension:
            return lonely[int(rng.integers(len(lonely)))]
    return parents[int(rng.integers(len(parents)))]


def reply_type_for_parent(parent_role: Role) -> TaskType:
    """A prompter parent is answered by the assistant, an assistant parent by the prompter."""
    return TaskType.ASSISTANT_REPLY if parent_role is Role.PROMPTER else TaskType.PROMPTER_REPLY


def label_task_spec(
    task_type: TaskType, random_request: bool, cfg: EngineConfig, rng: np.random.Generator
) -> tuple[LabelMode, tuple[str, ...], tuple[str, ...]]:
    """Mode, valid labels and mandatory labels of a label task (reference §4.5)."""
    if task_type is TaskType.LABEL_INITIAL_PROMPT:
        full, mandatory = cfg.labels_initial_prompt, cfg.mandatory_labels_initial_prompt
        simple = _with(mandatory, "lang_mismatch")
        # For prompts the draw happens on every request, random or not.
        p_full, may_be_simple = cfg.p_full_labeling_review_prompt, True
    elif task_type is TaskType.LABEL_ASSISTANT_REPLY:
        full, mandatory = cfg.labels_assistant_reply, cfg.mandatory_labels_assistant_reply
        simple = _with(mandatory, "lang_mismatch", "quality")
        p_full, may_be_simple = cfg.p_full_labeling_review_reply_assistant, random_request
    elif task_type is TaskType.LABEL_PROMPTER_REPLY:
        full, mandatory = cfg.labels_prompter_reply, cfg.mandatory_labels_prompter_reply
        simple = _with(mandatory, "lang_mismatch", "quality")
        p_full, may_be_simple = cfg.p_full_labeling_review_reply_prompter, random_request
    else:
        raise ValueError(f"{task_type} is not a label task")
    if may_be_simple and rng.random() > p_full:
        return LabelMode.SIMPLE, simple, mandatory
    return LabelMode.FULL, full, mandatory


def _with(base: Sequence[str], *extra: str) -> tuple[str, ...]:
    out = list(base)
    out.extend(e for e in extra if e not in out)
    return tuple(out)


def draw_goal_tree_size(cfg: EngineConfig, rng: np.random.Generator) -> int:
    if cfg.random_goal_tree_size and cfg.min_goal_tree_size < cfg.goal_tree_size:
        return int(rng.integers(cfg.min_goal_tree_size, cfg.goal_tree_size + 1))
    return cfg.goal_tree_size


def lottery_author_weight(ranked_first_this_month: int) -> float:
    """Authors whose answers were ranked best this month are favoured; everyone can still win (reference §4.3)."""
    return 1.0 + ranked_first_this_month


def pick_lottery_author(authors: Mapping[int, int], rng: np.random.Generator) -> int:
    """Draw one author id from {author: monthly reply_ranked_1} by weight 1 + reply_ranked_1."""
    ids = sorted(authors)
    weights = np.array([lottery_author_weight(authors[a]) for a in ids])
    return ids[int(rng.choice(len(ids), p=weights / weights.sum()))]


# Code points that draw nothing by themselves although they are neither whitespace nor controls nor format
# characters: Unicode's Default_Ignorable_Code_Point ranges (combining grapheme joiner, Hangul fillers, Mongolian
# variation selectors, variation selectors, the tag block, ...) and the blank braille pattern, a popular way to
# post a message that looks empty. Inclusive (first, last) pairs.
_BLANK_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def is_invisible(char: str) -> bool:
    """Does this character show nothing on its own? Whitespace, controls (Cc), format characters (Cf: zero-width
    space and joiners, word joiner, BOM, soft hyphen, direction marks) and the blanks in `_BLANK_RANGES`."""
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
        return True
    code = ord(char)
    return any(first <= code <= last for first, last in _BLANK_RANGES)


def has_visible_text(text: str) -> bool:
    """True when some character of `text` would be seen; a text of invisible characters only counts as empty."""
    return not all(is_invisible(c) for c in text)


def clean_reply_text(text: str, cfg: EngineConfig) -> str:
    """The text as stored (surrounding whitespace stripped), or a domain error (reference §5.1).

    A text made only of invisible characters (`is_invisible`) is refused as empty. A text with something
    visible is kept as typed apart from the stripping: its zero-width joiners, direction marks and other
    format characters stay, so emoji sequences such as 👨‍👩‍👧 survive unchanged.
    """
    if not isinstance(text, str):
        raise errors.MessageEmpty(text=None)
    stripped = text.strip()
    if not stripped:
        raise errors.MessageEmpty(text=text)
    if not has_visible_text(stripped):
        raise errors.MessageEmpty(
            "Your text has only invisible characters (such as zero-width spaces); please write something.",
            text=text,
        )
    if len(stripped) > cfg.message_size_limit:
        raise errors.MessageTooLong(
            f"Your text has {len(stripped)} characters; the limit is {cfg.message_size_limit}.", text=text
        )
    if "\x00" in stripped:
        raise errors.MessageEmpty("Your text contains a NUL character, which cannot be stored.", text=text)
    if stripped != storable(stripped):
        raise errors.MessageEmpty(
            "Your text contains broken characters (lone surrogates), which cannot be stored.", text=text
        )
    return stripped


def storable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (lone surrogates) replaced by "?": safe to keep as a draft."""
    return text.encode("utf-8", "replace").decode("utf-8")


def validate_labels(labels: Mapping[str, float], valid: Sequence[str], mandatory: Sequence[str]) -> dict[str, float]:
    """Check names against the task's labels and values against [0, 1] (reference §5.2)."""
    if not isinstance(labels, Mapping):
        raise errors.LabelsInvalidValue("Labels must map label names to numbers.")
    out: dict[str, float] = {}
    for name, value in labels.items():
        if valid and name not in valid:
            raise errors.LabelsInvalidLabel(f"“{name}” is not one of this task's labels.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.LabelsInvalidValue(f"The value of “{name}” must be a number between 0 and 1.")
        try:
            v = float(value)
        except OverflowError:  # an int too large for a float is out of range too
            v = math.inf
        if not math.isfinite(v) or not 0.0 <= v <= 1.0:
            raise errors.LabelsInvalidValue(f"The value of “{name}” must lie between 0 and 1, not {value}.")
        out[name] = v
    missing = [m for m in mandatory if m not in out]
    if missing:
        raise errors.LabelsMandatoryMissing(f"Please answer: {', '.join(missing)}.")
    return out


def validate_ranking(ranking: Sequence[int], n: int) -> list[int]:
    """A ranking lists the shown indices best first: a permutation of 0..n−1 (reference §5.3)."""
    try:
        values = [int(i) for i in ranking]
        if any(isinstance(i, bool) or int(i) != i for i in ranking):
            raise ValueError
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise errors.InvalidRanking() from None
    if sorted(values) != list(range(n)):
        raise errors.InvalidRanking(f"A ranking must list each of the {n} answers exactly once.")
    return values


def ranked_roles(cfg: EngineConfig) -> tuple[Role, ...]:
    """Whose replies are ranked: assistant replies always, prompter replies when configured (written once)."""
    return (Role.ASSISTANT, Role.PROMPTER) if cfg.rank_prompter_replies else (Role.ASSISTANT,)


def lacks_rankings(counts: Mapping[str, int], cfg: EngineConfig) -> bool:
    """Does any sibling set (parent id -> rankings it has) still need rankings? (written once)"""
    return any(n < cfg.num_required_rankings for n in counts.values())


def check_open(row: TaskRow, now: float, text: str | None = None) -> None:
    """Refuse a task that can no longer be answered at `now`, in the reference's order (§4.11 step 4);
    `text` (what the member typed) travels back with the refusal."""
    if row.status == TaskStatus.EXPIRED or (
        row.status == TaskStatus.PENDING and row.expires_at is not None and row.expires_at <= now
    ):
        raise errors.TaskExpired(text=text)
    if row.status in (TaskStatus.DONE, TaskStatus.PURGED):
        raise errors.TaskAlreadyDone(text=text)
    if row.status == TaskStatus.SKIPPED:
        raise errors.TaskSkipped(text=text)
    if row.status == TaskStatus.CANCELLED:
        raise errors.TaskCancelled(text=text)
    if row.status != TaskStatus.PENDING:  # a status added later must not slip through as open
        raise errors.TaskAlreadyUpdated(text=text)
