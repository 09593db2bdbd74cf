"""Submissions: drafts, skips, replies, reviews (labels), rankings, and the streak they feed.

Each function runs inside the caller's `Step`. A refusal raises a domain error that carries the
member's text back; the facade keeps that text as the task's draft (nothing typed is lost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine import errors, handout, leases, lifecycle, moderation, policy
from engine.events import MessageAdded
from engine.records import TaskRow, UserRow
from engine.step import Step
from engine.types import (
    LABEL_TYPES,
    RANKING_TYPES,
    SKIP_EMOJI_OF_KIND,
    WRITING_TYPES,
    Role,
    SubmitResult,
    TaskKind,
    TaskStatus,
    TaskType,
    TreeState,
)

# A draft is kept for a task that may still be answered or was taken away; a done or skipped one needs none.
DRAFT_STATUSES = (TaskStatus.PENDING, TaskStatus.EXPIRED, TaskStatus.CANCELLED)


async def open_task(
    step: Step, task_id: str, user_id: int, types: frozenset[TaskType], text: str | None = None
) -> tuple[UserRow, TaskRow]:
    user = await step.enabled_user(user_id, contributing=True, text=text)
    row = await step.own_task(task_id, user_id)
    if await step.repo.banned_in(row.community_id, user_id):
        raise errors.UserDisabled()
    step.check_open(row, text)
    if step.cfg.require_task_ack and row.frontend_ref is None:
        raise errors.TaskNotAck(text=text)
    if row.type not in types:
        raise errors.TaskWrongKind(text=text)
    return user, row


async def save_draft(step: Step, task_id: str, user_id: int, text: str) -> TaskRow:
    await step.consenting(user_id, text if isinstance(text, str) else None)  # no draft before consent
    row = await step.own_task(task_id, user_id)
    if row.type not in WRITING_TYPES:
        raise errors.TaskWrongKind("Only writing tasks keep drafts.", text=text)
    if row.status in DRAFT_STATUSES:
        # a done or skipped task needs no draft; the text comes back in the refusal
        await step.repo.set_draft(task_id, policy.storable(text) if isinstance(text, str) else text)
        if row.status == TaskStatus.PENDING:
            await leases.extend(step, row)  # the member is working on it
    return row


async def keep_draft(step: Step, task_id: str, user_id: int, text: str) -> None:
    """After a refused submission: keep the text as the draft of the member's writing task, if it still may
    (never for a member who has not agreed to how contributions are used: the refusal gives the text back)."""
    row = await step.repo.task(str(task_id))
    user = await step.repo.user(user_id)
    if user is None or not step.agreed(user):
        return
    if row is not None and row.user_id == user_id and row.type in WRITING_TYPES and row.status in DRAFT_STATUSES:
        await step.repo.set_draft(row.id, policy.storable(text))


async def skip(step: Step, task_id: str, user_id: int) -> None:
    """Decline a task; its target is never offered to this user again (decisions: skips never come back)."""
    now = step.now()
    row = await step.own_task(task_id, user_id)
    if row.status != TaskStatus.PENDING:
        step.check_open(row)
    await step.repo.end_task(task_id, TaskStatus.SKIPPED, now, clear_draft=False)
    kind = row.type.kind
    if row.target_id is not None and kind in SKIP_EMOJI_OF_KIND:
        await moderation.add_emoji(step, row.target_id, user_id, SKIP_EMOJI_OF_KIND[kind], now)
        if kind is TaskKind.REPLY:
            await lifecycle.moderate_message(step, row.target_id)


async def reply(step: Step, task_id: str, user_id: int, text: str) -> SubmitResult:
    repo, cfg, now = step.repo, step.cfg, step.now()
    user, row = await open_task(step, task_id, user_id, WRITING_TYPES)
    clean = policy.clean_reply_text(text, cfg)
    window = cfg.duplicate_message_filter_window_minutes * 60.0
    if window > 0 and await repo.has_recent_duplicate(user_id, clean, now - window):
        raise errors.MessageDuplicated()
    task_type = row.type
    if task_type is TaskType.INITIAL_PROMPT and (capped := await handout.prompt_cap(step, user_id, text)):
        raise capped  # a prompt task taken before the cap was reached: refused, the text given back
    message_id = step.new_id()
    if task_type is TaskType.INITIAL_PROMPT:
        tree_id, depth, parent_id = message_id, 0, None
        await repo.insert_tree(
            tree_id,
            state=TreeState.INITIAL_PROMPT_REVIEW,
            active=True,
            lang=row.lang,
            goal_tree_size=policy.draw_goal_tree_size(cfg, step.rng),
            max_depth=cfg.max_tree_depth,
            max_children_count=cfg.max_children_count,
            now=now,
            community=row.community_id,
        )
    else:
        parent = await repo.message(row.target_id or "")
        tree = await repo.tree(row.tree_id or "")
        if parent is None or tree is None or parent.deleted:
            raise errors.TreeNotAccepting("The message you answered has been removed.")
        if tree.state != TreeState.GROWING or not tree.active:
            raise errors.TreeNotAccepting("This conversation has stopped taking replies.")
        if await repo.has_live_reply(parent.id, user_id):
            raise errors.DuplicateReply()
        await leases.hold(step, row, text)
        tree_id, depth, parent_id = tree.id, parent.depth + 1, parent.id
    role = Role.ASSISTANT if task_type is TaskType.ASSISTANT_REPLY else Role.PROMPTER
    await repo.insert_message(
        message_id=message_id,
        tree_id=tree_id,
        parent_id=parent_id,
        user_id=user_id,
        task_id=row.id,
        role=role,
        text=clean,
        lang=row.lang,
        depth=depth,
        now=now,
    )
    await repo.end_task(row.id, TaskStatus.DONE, now, clear_draft=True)
    await record_activity(step, user, now)
    step.emit(MessageAdded(message_id, tree_id, user_id, role, row.lang))
    return SubmitResult(task_id=row.id, message_id=message_id, tree_state=await lifecycle.state_of(step, tree_id))


async def labels(
    step: Step, task_id: str, user_id: int, values: Mapping[str, float], message_id: str | None, comment: str
) -> SubmitResult:
    """Store a review; the third review decides the message's fate (final, decisions #14)."""
    repo, now = step.repo, step.now()
    user, row = await open_task(step, task_id, user_id, LABEL_TYPES)
    if message_id is not None and message_id != row.target_id:
        raise errors.LabelsWrongMessage()
    message = await repo.message(row.target_id or "")
    tree = await repo.tree(row.tree_id or "")
    if message is None or tree is None or message.deleted:
        raise errors.TaskCancelled("The message to review has been removed; ask for a new task.")
    is_root = message.parent_id is None
    wanted = TreeState.INITIAL_PROMPT_REVIEW if is_root else TreeState.GROWING
    if tree.state != wanted or not tree.active:
        raise errors.TreeNotAccepting("This message no longer needs reviews.")
    if message.user_id == user_id:
        raise errors.LabelsSelfLabeling()
    if await repo.has_task_label(message.id, user_id):
        raise errors.LabelsDuplicate()
    await leases.hold(step, row)
    checked = policy.validate_labels(
        values, row.payload.get("valid_labels", ()), row.payload.get("mandatory_labels", ())
    )
    await repo.insert_label(
        label_id=row.id,
        message_id=message.id,
        user_id=user_id,
        task_id=row.id,
        mode=row.payload.get("mode"),
        labels=checked,
        comment=policy.storable(str(comment or "")[:4000]),
        is_report=False,
        now=now,
    )
    review_count = await repo.add_review(message.id)
    await repo.end_task(row.id, TaskStatus.DONE, now, clear_draft=True)
    await lifecycle.judge(step, message, tree, review_count)
    if not is_root:
        await lifecycle.check_ranking_state(step, tree.id)
    await record_activity(step, user, now)
    return SubmitResult(task_id=row.id, tree_state=await lifecycle.state_of(step, tree.id))


async def ranking(
    step: Step, task_id: str, user_id: int, order_given: Sequence[int] | None, not_rankable: bool
) -> SubmitResult:
    """Store a ranking: shown indices, best first; or "not rankable" (all answers bad), order optional."""
    repo, now = step.repo, step.now()
    user, row = await open_task(step, task_id, user_id, RANKING_TYPES)
    tree = await repo.tree(row.tree_id or "")
    if tree is None or tree.state != TreeState.RANKING or not tree.active:
        raise errors.TreeNotAccepting("These answers are no longer being ranked.")
    shown: list[str] = list(row.payload["candidates"])
    current = {m.id for m in await repo.accepted_children(row.target_id or "", step.ranked_roles)}
    if not set(shown) <= current:
        raise errors.CorruptRanking()
    await leases.hold(step, row)
    if order_given is None or (not_rankable and isinstance(order_given, Sequence) and len(order_given) == 0):
        if not not_rankable:
            raise errors.InvalidRanking("Please order the answers, or mark them all as bad.")
        order: list[int] | None = None
        ranked_ids: list[str] = []
    else:
        order = policy.validate_ranking(order_given, len(shown))
        ranked_ids = [shown[i] for i in order]
    await repo.insert_ranking(
        task_id=row.id,
        user_id=user_id,
        parent_id=row.target_id or "",
        tree_id=tree.id,
        shown_ids=shown,
        ranking=order,
        ranked_ids=ranked_ids,
        not_rankable=bool(not_rankable),
        now=now,
    )
    await repo.add_ranking_counts(ranked_ids)
    await repo.end_task(row.id, TaskStatus.DONE, now, clear_draft=True)
    await lifecycle.check_scoring_state(step, tree.id)
    await record_activity(step, user, now)
    return SubmitResult(task_id=row.id, tree_state=await lifecycle.state_of(step, tree.id))


async def touch(step: Step, task_id: str, user_id: int) -> None:
    """The member is visibly working (opened the modal, paged the conversation, tapped a rank)."""
    row = await step.own_task(task_id, user_id)
    step.check_open(row)
    await leases.extend(step, row)


async def release(step: Step, task_id: str, user_id: int, *, end: bool) -> None:
    """Stop: the slot is free at once, the task stays open to resume. With `end`, the task is withdrawn
    (Release in /tasks): nothing stays reserved and no skip is counted."""
    row = await step.own_task(task_id, user_id)
    if row.status != TaskStatus.PENDING:
        return  # already finished: nothing is held
    if end:
        await step.repo.end_task(row.id, TaskStatus.CANCELLED, step.now(), clear_draft=False)
    else:
        await leases.release(step, row)


async def resume(step: Step, task_id: str, user_id: int) -> TaskRow:
    """Take an open task up again: it must still be answerable and its slot still (or again) free."""
    await step.consenting(user_id)
    row = await step.own_task(task_id, user_id)
    step.check_open(row)
    await leases.hold(step, row, row.draft, renew=True)
    refreshed = await step.repo.task(row.id)
    assert refreshed is not None
    return refreshed


async def record_activity(step: Step, user: UserRow, now: float) -> None:
    """Streaks (reference §7.3): a streak counts whole days since it started; the reset job ends it."""
    start = user.streak_last_day_at
    if start is None or start > now:
        start, days = now, 0
    else:
        days = int((now - start) // 86400)
    await step.repo.record_activity(user.id, now, start, days)
