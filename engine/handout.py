"""Hand-out: one snapshot read → the candidates a member may get → one task, and the task as shown.

Availability and hand-out read the same snapshot and filter it with the same rules, so the counts a
member sees and the tasks they get agree (decisions #27: asking what is available never writes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from engine import errors, leases, lifecycle, policy
from engine.records import MessageRow, TaskRow
from engine.step import Step
from engine.types import (
    LABEL_TYPES,
    RANKING_TYPES,
    Availability,
    ConversationMessage,
    LabelMode,
    Role,
    Task,
    TaskKind,
    TaskType,
)
from storage.handout import HandOutSnapshot, RankSlot


@dataclass(frozen=True)
class Candidates:
    prompts_to_review: list[str]
    replies_to_review: list[tuple[str, Role, str]]
    reply_parents: list[policy.ParentCandidate]
    missing_replies: int
    rankings: list[RankSlot]
    prompts_offered: int


def label_type_for(role: str) -> TaskType:
    return TaskType.LABEL_ASSISTANT_REPLY if role == Role.ASSISTANT else TaskType.LABEL_PROMPTER_REPLY


def rank_type_for(parent_role: str) -> TaskType:
    """Children of a prompter message are assistant replies, and the other way round."""
    return TaskType.RANK_ASSISTANT_REPLIES if parent_role == Role.PROMPTER else TaskType.RANK_PROMPTER_REPLIES


async def snapshot(step: Step, user_id: int, lang: str) -> HandOutSnapshot:
    """One read of everything the hand-out decides on; refuses unknown and disabled users."""
    cfg, now = step.cfg, step.now()
    snap = await step.repo.handout.snapshot(
        step.pool,
        lang,
        user_id,
        now=now,
        pending_since=now - cfg.recent_tasks_span_sec,
        recent_since=now - cfg.recent_tasks_span_sec,
        prompt_reviews=cfg.num_reviews_initial_prompt,
        reply_reviews=cfg.num_reviews_reply,
        ranked_roles=step.ranked_roles,
    )
    if not snap.user_found:
        raise errors.UserNotFound()
    if not snap.user_enabled or snap.user_deleted:
        raise errors.UserDisabled()
    return snap


def candidates(step: Step, snap: HandOutSnapshot, lang: str) -> Candidates:
    cfg = step.cfg
    room = {tree_id: goal - size for tree_id, goal, size in snap.tree_sizes if size < goal}
    parents: list[policy.ParentCandidate] = []
    for row in snap.reply_parents:
        limit = row.max_children_count
        if row.role is not Role.PROMPTER:
            limit = min(limit, cfg.num_prompter_replies)
        if row.tree_id in room and row.children < limit:
            parents.append(policy.ParentCandidate(row.id, row.tree_id, row.role, row.depth, row.children))
    rankings = [row for row in snap.rankings if policy.lacks_rankings({row.id: row.rankings}, cfg)]
    offered = 0 if lang in cfg.init_prompt_disabled_langs else policy.initial_prompts_offered(*snap.pipeline, cfg)
    return Candidates(snap.prompts_to_review, snap.replies_to_review, parents, sum(room.values()), rankings, offered)


def availability(c: Candidates, lang: str) -> Availability:
    counts = {t: 0 for t in TaskType}
    counts[TaskType.INITIAL_PROMPT] = c.prompts_offered
    for p in c.reply_parents:
        counts[policy.reply_type_for_parent(p.role)] += 1
    counts[TaskType.LABEL_INITIAL_PROMPT] = len(c.prompts_to_review)
    for _, role, _ in c.replies_to_review:
        counts[label_type_for(role)] += 1
    for row in c.rankings:
        counts[rank_type_for(row.role)] += 1
    return Availability(lang=lang, counts=counts)


async def next_task(step: Step, user_id: int, lang: str, task_type: TaskType | None) -> Task:
    """Hand out one task (random kind when `task_type` is None) and reserve its slot."""
    snap = await snapshot(step, user_id, lang)
    await step.consenting(user_id)  # consent first (issue 15): no task, so nothing stored, before it
    if snap.pending >= step.cfg.max_pending_tasks_per_user:
        raise errors.TooManyPending()
    await check_rate_limits(step, user_id, task_type)
    capped = await prompt_cap(step, user_id)
    if capped is not None and task_type is TaskType.INITIAL_PROMPT:
        raise capped
    # with no tree growing, the lottery may run for this language first (decisions #27)
    if snap.pipeline[0] == 0 and await lifecycle.prompt_lottery(step, step.pool, lang, max_activate=2):
        snap = await snapshot(step, user_id, lang)  # the lottery changed the trees
    found = candidates(step, snap, lang)
    if capped is not None:  # a random request offers no prompt to write until the window has room again
        found = dataclasses.replace(found, prompts_offered=0)
    return await hand_out(step, user_id, lang, task_type, found, step.now())


async def prompt_cap(step: Step, user_id: int, text: str | None = None) -> errors.RateLimited | None:
    """The refusal for a member who wrote `prompts_per_window` prompts within the window, else None."""
    cfg, now = step.cfg, step.now()
    window, limit = cfg.prompts_window_sec, cfg.prompts_per_window
    if window <= 0:
        return None
    times = await step.repo.prompts_since(user_id, now - window)
    if len(times) < limit:
        return None
    return errors.RateLimited(
        f"You have written {limit} prompts within {_span(window)}; you can write more shortly.",
        text=text,
        retry_at=times[len(times) - limit] + window,
    )


async def check_rate_limits(step: Step, user_id: int, task_type: TaskType | None) -> None:
    """The reference's per-member limits: task requests per window, and explicit (asked for by name)
    assistant and prompter replies per window. A window of 0 turns a limit off."""
    cfg, now = step.cfg, step.now()
    limits: list[tuple[int, int, TaskType | None]] = [
        (cfg.task_requests_per_window, cfg.task_requests_window_sec, None)
    ]
    if task_type is TaskType.ASSISTANT_REPLY:
        limits.append((cfg.explicit_assistant_replies_per_window, cfg.explicit_assistant_replies_window_sec, task_type))
    elif task_type is TaskType.PROMPTER_REPLY:
        limits.append((cfg.explicit_prompter_replies_per_window, cfg.explicit_prompter_replies_window_sec, task_type))
    for limit, window, explicit in limits:
        if window <= 0:
            continue
        times = await step.repo.requests_since(user_id, now - window, explicit_type=explicit)
        if len(times) >= limit:
            retry_at = times[len(times) - limit] + window
            what = "tasks" if explicit is None else f"{explicit.value.replace('_', ' ')} tasks by name"
            raise errors.RateLimited(
                f"You have asked for {limit} {what} within {_span(window)}; you can ask again shortly.",
                retry_at=retry_at,
            )


def _span(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 and seconds >= 120 else f"{seconds} seconds"


async def hand_out(step: Step, user_id: int, lang: str, task_type: TaskType | None, c: Candidates, now: float) -> Task:
    rng, cfg = step.rng, step.cfg
    random_request = task_type is None
    if task_type is None:
        kind = policy.choose_task_kind(
            {
                TaskKind.RANKING: len(c.rankings),
                TaskKind.LABEL_REPLY: len(c.replies_to_review),
                TaskKind.LABEL_PROMPT: len(c.prompts_to_review),
                TaskKind.REPLY: c.missing_replies if c.reply_parents else 0,
                TaskKind.PROMPT: c.prompts_offered,
            },
            cfg.weights,
            rng,
        )
        if kind is None:
            raise errors.NoTaskAvailable("There is no task for you right now; please try again later.")
    else:
        kind = task_type.kind

    tree_id: str | None = None
    target_id: str | None = None
    payload: dict[str, object] = {}
    children: list[MessageRow] = []
    conversation: list[MessageRow] | None = None
    if kind is TaskKind.PROMPT:
        if not c.prompts_offered:
            raise errors.NoTaskAvailable("No new prompts are wanted in this language right now.")
        chosen_type = TaskType.INITIAL_PROMPT
    elif kind is TaskKind.REPLY:
        parents = c.reply_parents
        if task_type is not None:
            parents = [p for p in parents if policy.reply_type_for_parent(p.role) is task_type]
        if not parents:
            raise errors.NoTaskAvailable("No conversation is waiting for that kind of reply right now.")
        parent = policy.pick_reply_parent(parents, cfg, rng)
        chosen_type = policy.reply_type_for_parent(parent.role)
        tree_id, target_id = parent.tree_id, parent.id
    elif kind is TaskKind.LABEL_PROMPT:
        if not c.prompts_to_review:
            raise errors.NoTaskAvailable("No prompt is waiting for your review right now.")
        target_id = c.prompts_to_review[int(rng.integers(len(c.prompts_to_review)))]
        tree_id = target_id
        chosen_type = TaskType.LABEL_INITIAL_PROMPT
    elif kind is TaskKind.LABEL_REPLY:
        replies = c.replies_to_review
        if task_type is not None:
            replies = [r for r in replies if label_type_for(r[1]) is task_type]
        if not replies:
            raise errors.NoTaskAvailable("No reply is waiting for your review right now.")
        target_id, role, tree_id = replies[int(rng.integers(len(replies)))]
        chosen_type = label_type_for(role)
    else:  # ranking
        rows = c.rankings
        if task_type is not None:
            rows = [r for r in rows if rank_type_for(r.role) is task_type]
        if not rows:
            raise errors.NoTaskAvailable("No answers are waiting to be ranked by you right now.")
        row = rows[int(rng.integers(len(rows)))]
        tree_id, target_id = row.tree_id, row.id
        chosen_type = rank_type_for(row.role)
        conversation, children = await step.repo.conversation_and_children(row.id, step.ranked_roles)
        order = rng.permutation(len(children))
        payload["candidates"] = [children[int(i)].id for i in order]
        payload["reveal_synthetic"] = all(ch.synthetic for ch in children)

    if chosen_type in LABEL_TYPES:
        mode, valid, mandatory = policy.label_task_spec(chosen_type, random_request, cfg, rng)
        payload.update(mode=mode.value, valid_labels=list(valid), mandatory_labels=list(mandatory))
    task_id = step.new_id()
    validity = cfg.task_validity_minutes * 60.0
    lease = now + leases.lease_seconds(chosen_type, step) if target_id is not None else None
    task_row = await step.repo.insert_task(
        task_id=task_id,
        user_id=user_id,
        type=chosen_type.value,
        lang=lang,
        random_request=random_request,
        tree_id=tree_id,
        target_id=target_id,
        payload=payload,
        now=now,
        expires_at=now + validity if validity > 0 else None,
        community=step.pool,
        lease_until=lease,
    )
    return await task_view(step, task_row, known=children, path=conversation)


async def task_view(
    step: Step, row: TaskRow, known: Sequence[MessageRow] = (), path: Sequence[MessageRow] | None = None
) -> Task:
    """The task as a member sees it; `known` candidates and the target's `path` spare a read each."""
    repo = step.repo
    conversation: tuple[ConversationMessage, ...] = ()
    candidates_shown: tuple[ConversationMessage, ...] = ()
    if row.target_id is not None:
        if path is None:
            path = await repo.conversation(row.target_id)
        conversation = tuple(conv(m) for m in path)
    reveal = bool(row.payload.get("reveal_synthetic", False))
    if row.type in RANKING_TYPES:
        by_id = {m.id: m for m in known} or await repo.messages_by_ids(row.payload["candidates"])
        candidates_shown = tuple(
            conv(by_id[i], reveal_synthetic=reveal) for i in row.payload["candidates"] if i in by_id
        )
    mode = row.payload.get("mode")
    return Task(
        id=row.id,
        type=row.type,
        user_id=row.user_id,
        lang=row.lang,
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        tree_id=row.tree_id,
        target_id=row.target_id,
        conversation=conversation,
        label_mode=LabelMode(mode) if mode else None,
        valid_labels=tuple(row.payload.get("valid_labels", ())),
        mandatory_labels=tuple(row.payload.get("mandatory_labels", ())),
        candidates=candidates_shown,
        reveal_synthetic=reveal,
        draft=row.draft,
        frontend_ref=row.frontend_ref,
        lease_until=row.lease_until,
    )


def conv(m: MessageRow, *, reveal_synthetic: bool = True) -> ConversationMessage:
    return ConversationMessage(
        id=m.id,
        role=m.role,
        text=m.text,
        lang=m.lang,
        user_id=m.user_id,
        synthetic=m.synthetic and reveal_synthetic,
    )
