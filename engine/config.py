"""The engine's settings, with the reference tree manager's defaults (reference §1.1, §1.2; decisions)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

LABELS_PROMPT = (
    "spam",
    "lang_mismatch",
    "quality",
    "creativity",
    "humor",
    "toxicity",
    "violence",
    "not_appropriate",
    "pii",
    "hate_speech",
    "sexual_content",
)
LABELS_ASSISTANT = (
    "spam",
    "lang_mismatch",
    "fails_task",
    "quality",
    "helpfulness",
    "creativity",
    "humor",
    "toxicity",
    "violence",
    "not_appropriate",
    "pii",
    "hate_speech",
    "sexual_content",
)


class TaskWeights(BaseModel):
    """Weights of the random task-type choice (reference §4.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ranking: float = Field(default=10.0, ge=0)
    label_reply: float = Field(default=5.0, ge=0)
    label_prompt: float = Field(default=5.0, ge=0)
    reply: float = Field(default=2.0, ge=0)
    prompt: float = Field(default=0.01, ge=0)


class EngineConfig(BaseModel):
    """Every rule's number. Names follow the reference's TreeManagerConfiguration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_active_trees: int = Field(default=10, ge=0)
    max_initial_prompt_review: int = Field(default=100, ge=0)
    max_tree_depth: int = Field(default=3, ge=1)
    max_children_count: int = Field(default=3, ge=1)
    num_prompter_replies: int = Field(default=1, ge=1)
    goal_tree_size: int = Field(default=12, ge=2)
    random_goal_tree_size: bool = False
    min_goal_tree_size: int = Field(default=5, ge=2)
    num_reviews_initial_prompt: int = Field(default=3, ge=1)
    num_reviews_reply: int = Field(default=3, ge=1)
    auto_mod_enabled: bool = True
    auto_mod_max_skip_reply: int = Field(default=25, ge=1)
    auto_mod_red_flags: int = Field(default=4, ge=1)
    p_full_labeling_review_prompt: float = Field(default=1.0, ge=0, le=1)
    p_full_labeling_review_reply_assistant: float = Field(default=1.0, ge=0, le=1)
    # The reference's config says 0.25 but its code overwrites it with 0.1 at run time (quirk 2).
    p_full_labeling_review_reply_prompter: float = Field(default=0.1, ge=0, le=1)
    acceptance_threshold_initial_prompt: float = Field(default=0.6, ge=0, le=1)
    acceptance_threshold_reply: float = Field(default=0.6, ge=0, le=1)
    num_required_rankings: int = Field(default=3, ge=1)
    p_activate_backlog_tree: float = Field(default=0.1, ge=0, le=1)
    min_active_rankings_per_lang: int = Field(default=0, ge=0)
    labels_initial_prompt: tuple[str, ...] = LABELS_PROMPT
    labels_assistant_reply: tuple[str, ...] = LABELS_ASSISTANT
    labels_prompter_reply: tuple[str, ...] = LABELS_PROMPT
    mandatory_labels_initial_prompt: tuple[str, ...] = ("spam",)
    mandatory_labels_assistant_reply: tuple[str, ...] = ("spam",)
    mandatory_labels_prompter_reply: tuple[str, ...] = ("spam",)
    rank_prompter_replies: bool = False
    lonely_children_count: int = Field(default=2, ge=0)
    p_lonely_child_extension: float = Field(default=0.75, ge=0, le=1)
    recent_tasks_span_sec: int = Field(default=300, ge=0)
    max_pending_tasks_per_user: int = Field(default=8, ge=1)
    max_prompt_lottery_waiting: int = Field(default=250, ge=0)
    init_prompt_disabled_langs: tuple[str, ...] = ()
    message_size_limit: int = Field(default=2000, ge=1)
    duplicate_message_filter_window_minutes: int = Field(default=120, ge=0)
    task_validity_minutes: int = Field(default=2880, ge=0)  # 0: tasks never expire
    # Slot leases (decisions #15, #16): how long a handed-out task holds its slot without the member working on it.
    reservation_minutes: float = Field(default=20, gt=0)  # writing tasks
    review_reservation_minutes: float = Field(default=5, gt=0)  # review and ranking tasks
    # Rate limits per member (the reference's numbers); a window of 0 turns a limit off.
    task_requests_per_window: int = Field(default=30, ge=1)
    task_requests_window_sec: int = Field(default=240, ge=0)
    explicit_assistant_replies_per_window: int = Field(default=4, ge=1)
    explicit_assistant_replies_window_sec: int = Field(default=120, ge=0)
    explicit_prompter_replies_per_window: int = Field(default=8, ge=1)
    explicit_prompter_replies_window_sec: int = Field(default=120, ge=0)
    # Grove's own cap (issue 18): prompts one member may write per window (0 s: no cap)
    prompts_per_window: int = Field(default=20, ge=1)
    prompts_window_sec: int = Field(default=3600, ge=0)
    require_task_ack: bool = False  # Grove's front-end delivers tasks in-process; set true for OA's ack protocol
    # Consent first (issue 15): nothing a member gives is stored before they agreed to the dataset's terms.
    require_consent: bool = True
    weights: TaskWeights = TaskWeights()

    @model_validator(mode="after")
    def _check(self) -> EngineConfig:
        if self.min_goal_tree_size > self.goal_tree_size:
            raise ValueError("min_goal_tree_size must not exceed goal_tree_size")
        for kind in ("initial_prompt", "assistant_reply", "prompter_reply"):
            labels = getattr(self, f"labels_{kind}")
            missing = set(getattr(self, f"mandatory_labels_{kind}")) - set(labels)
            if missing:
                raise ValueError(f"mandatory_labels_{kind} lists labels not in labels_{kind}: {sorted(missing)}")
        return self
