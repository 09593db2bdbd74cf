"""The tree manager: hands out tasks, takes submissions and moves trees through their states.

Each public method is one transaction. Rules come from `engine.policy` (pure functions) and the
`EngineConfig`; persistence from `storage`; time and randomness are injected.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine import errors, policy
from engine.clock import Clock, SystemClock
from engine.config import EngineConfig
from engine.lang import normalize_lang
from engine.ranking import ranked_pairs
from engine.types import (
    INACTIVE_STATES,
    LABEL_TYPES,
    RANKING_TYPES,
    SKIP_EMOJI_OF_KIND,
    TRULY_TERMINAL_STATES,
    WRITING_TYPES,
    Availability,
    ConversationMessage,
    Emoji,
    EmojiOp,
    LabelMode,
    Role,
    SubmitResult,
    Task,
    TaskKind,
    TaskStatus,
    TaskType,
    TreeState,
    is_active_state,
)
from storage.database import Database
from engine.records import MessageRow, TaskRow, TreeRow, UserRow
from storage.handout import HandOutSnapshot
from storage.repository import Repository

log = logging.getLogger(__name__)

MONTH = 30 * 24 * 3600.0
STREAK_GRACE = 36 * 3600.0  # a streak survives this long without activity

# Which pending tasks a tree in a given state can still accept; the others are withdrawn on entry.
_TASKS_ALLOWED_IN = {
    TreeState.INITIAL_PROMPT_REVIEW: frozenset({TaskType.LABEL_INITIAL_PROMPT}),
    TreeState.GROWING: frozenset(
        {
            TaskType.PROMPTER_REPLY,
            TaskType.ASSISTANT_REPLY,
            TaskType.LABEL_PROMPTER_REPLY,
            TaskType.LABEL_ASSISTANT_REPLY,
        }
    ),
    TreeState.RANKING: RANKING_TYPES,
}


@dataclass(frozen=True)
class TreeStatus:
    id: str
    state: TreeState
    active: bool
    lang: str


class Engine:
    def __init__(
        self,
        db: Database,
        config: EngineConfig | None = None,
        *,
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        ranker: Callable[[Sequence[Sequence[str]]], list[str]] = ranked_pairs,
    ) -> None:
        self.db = db
        self.cfg = config or EngineConfig()
        self.clock = clock or SystemClock()
        self.rng = rng if rng is not None else np.random.default_rng()
        self._ranker = ranker

    # ================================================================== users

    async def ensure_user(self, auth_method: str, username: str, display_name: str = "") -> int:
        """The internal id of a front-end user, created on first sight."""
        async with self.db.transaction() as repo:
            return (await repo.upsert_user(auth_method, str(username), display_name, self.clock.now())).id

    async def user(self, user_id: int) -> UserRow:
        async with self.db.read() as repo:
            return await self._user(repo, user_id)

    async def set_preferred_language(self, user_id: int, lang: str | None) -> None:
        if lang is not None:
            lang = normalize_lang(lang)
        async with self.db.transaction() as repo:
            await self._user(repo, user_id)
            await repo.set_preferred_lang(user_id, lang)

    async def set_show_on_leaderboard(self, user_id: int, show: bool) -> None:
        """Whether the member is ranked on leaderboards (takes effect at the next refresh)."""
        async with self.db.transaction() as repo:
            await self._user(repo, user_id)
            await repo.set_show_on_leaderboard(user_id, show)

    async def messages_of_user(self, user_id: int, *, include_deleted: bool = False) -> list[MessageRow]:
        """The member's own messages (for a privacy export), deleted ones only on request."""
        async with self.db.read() as repo:
            await self._user(repo, user_id)
            rows = await repo.messages_of_user(user_id)
        return rows if include_deleted else [m for m in rows if not m.deleted]

    async def _user(self, repo: Repository, user_id: int) -> UserRow:
        user = await repo.user(user_id)
        if user is None:
            raise errors.UserNotFound()
        return user

    async def _enabled_user(self, repo: Repository, user_id: int) -> UserRow:
        user = await self._user(repo, user_id)
        if not user.enabled or user.deleted:
            raise errors.UserDisabled()
        return user

    # ================================================================== availability

    async def availability(self, user_id: int, lang: str) -> Availability:
        """How many tasks of each type this user could get now; reads only (decisions #27)."""
        lang = normalize_lang(lang)
        async with self.db.read() as repo:
            c = self._candidates(await self._snapshot(repo, user_id, lang), lang)
        counts = {t: 0 for t in TaskType}
        counts[TaskType.INITIAL_PROMPT] = c.prompts_offered
        for p in c.reply_parents:
            counts[policy.reply_type_for_parent(p.role)] += 1
        counts[TaskType.LABEL_INITIAL_PROMPT] = len(c.prompts_to_review)
        for _, role, _ in c.replies_to_review:
            counts[_label_type_for(role)] += 1
        for row in c.rankings:
            counts[_rank_type_for(row["role"])] += 1
        return Availability(lang=lang, counts=counts)

    async def tree_counts(self, lang: str | None = None) -> dict[TreeState, int]:
        async with self.db.read() as repo:
            raw = await repo.tree_counts(None if lang is None else normalize_lang(lang))
        return {s: raw.get(s.value, 0) for s in TreeState}

    # ================================================================== hand-out

    async def next_task(self, user_id: int, lang: str, task_type: TaskType | str | None = None) -> Task:
        """Hand out one task (random kind when `task_type` is None) and reserve its slot."""
        lang = normalize_lang(lang)
        if task_type is not None:
            try:
                task_type = TaskType(task_type)
            except ValueError:
                raise errors.UnknownTaskType(f"“{task_type}” is not a task type.") from None
        # A reservation lost to a power cut costs nothing: the member is told the task is gone and asks again.
        async with self.db.transaction(durable=False) as repo:
            snap = await self._snapshot(repo, user_id, lang)
            if snap.pending >= self.cfg.max_pending_tasks_per_user:
                raise errors.TooManyPending()
            if snap.pipeline[0] == 0 and await self._prompt_lottery(repo, lang, max_activate=2):
                snap = await self._snapshot(repo, user_id, lang)  # the lottery changed the trees
            return await self._hand_out(repo, user_id, lang, task_type, self._candidates(snap, lang), self.clock.now())

    async def _snapshot(self, repo: Repository, user_id: int, lang: str) -> HandOutSnapshot:
        """One read of everything the hand-out decides on; refuses unknown and disabled users."""
        cfg, now = self.cfg, self.clock.now()
        snap = await repo.handout.snapshot(
            lang,
            user_id,
            now=now,
            pending_since=now - cfg.recent_tasks_span_sec,
            recent_since=now - cfg.recent_tasks_span_sec,
            prompt_reviews=cfg.num_reviews_initial_prompt,
            reply_reviews=cfg.num_reviews_reply,
            ranked_roles=self._ranked_roles(),
        )
        if not snap.user_found:
            raise errors.UserNotFound()
        if not snap.user_enabled or snap.user_deleted:
            raise errors.UserDisabled()
        return snap

    def _candidates(self, snap: HandOutSnapshot, lang: str) -> _Candidates:
        cfg = self.cfg
        room = {tree_id: goal - size for tree_id, goal, size in snap.tree_sizes if size < goal}
        parents: list[policy.ParentCandidate] = []
        for row in snap.reply_parents:
            role = Role(row["role"])
            limit = (
                row["max_children_count"]
                if role is Role.PROMPTER
                else min(row["max_children_count"], cfg.num_prompter_replies)
            )
            if row["tree_id"] in room and row["children"] < limit:
                parents.append(policy.ParentCandidate(row["id"], row["tree_id"], role, row["depth"], row["children"]))
        rankings = [row for row in snap.rankings if row["rankings"] < cfg.num_required_rankings]
        offered = 0 if lang in cfg.init_prompt_disabled_langs else policy.initial_prompts_offered(*snap.pipeline, cfg)
        return _Candidates(
            snap.prompts_to_review, snap.replies_to_review, parents, sum(room.values()), rankings, offered
        )

    def _ranked_roles(self) -> tuple[str, ...]:
        return ("assistant", "prompter") if self.cfg.rank_prompter_replies else ("assistant",)

    async def _hand_out(
        self, repo: Repository, user_id: int, lang: str, task_type: TaskType | None, c: _Candidates, now: float
    ) -> Task:
        rng = self.rng
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
                self.cfg.weights,
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
            parent = policy.pick_reply_parent(parents, self.cfg, rng)
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
                replies = [r for r in replies if _label_type_for(r[1]) is task_type]
            if not replies:
                raise errors.NoTaskAvailable("No reply is waiting for your review right now.")
            target_id, role, tree_id = replies[int(rng.integers(len(replies)))]
            chosen_type = _label_type_for(role)
        else:  # ranking
            rows = c.rankings
            if task_type is not None:
                rows = [r for r in rows if _rank_type_for(r["role"]) is task_type]
            if not rows:
                raise errors.NoTaskAvailable("No answers are waiting to be ranked by you right now.")
            row = rows[int(rng.integers(len(rows)))]
            tree_id, target_id = row["tree_id"], row["id"]
            chosen_type = _rank_type_for(row["role"])
            conversation, children = await repo.conversation_and_children(target_id, self._ranked_roles())
            order = rng.permutation(len(children))
            payload["candidates"] = [children[int(i)].id for i in order]
            payload["reveal_synthetic"] = all(ch.synthetic for ch in children)

        if chosen_type in LABEL_TYPES:
            mode, valid, mandatory = policy.label_task_spec(chosen_type, random_request, self.cfg, rng)
            payload.update(mode=mode.value, valid_labels=list(valid), mandatory_labels=list(mandatory))
        task_id = self._new_id()
        validity = self.cfg.task_validity_minutes * 60.0
        row = await repo.insert_task(
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
        )
        return await self._task_view(repo, row, known=children, path=conversation)

    async def _task_view(
        self,
        repo: Repository,
        row: TaskRow,
        known: Sequence[MessageRow] = (),
        path: Sequence[MessageRow] | None = None,
    ) -> Task:
        """The task as a member sees it; `known` candidates and the target's `path` spare a read each."""
        task_type = TaskType(row.type)
        conversation: tuple[ConversationMessage, ...] = ()
        candidates: tuple[ConversationMessage, ...] = ()
        if row.target_id is not None:
            if path is None:
                path = await repo.conversation(row.target_id)
            conversation = tuple(_conv(m) for m in path)
        reveal = bool(row.payload.get("reveal_synthetic", False))
        if task_type in RANKING_TYPES:
            by_id = {m.id: m for m in known} or await repo.messages_by_ids(row.payload["candidates"])
            candidates = tuple(
                _conv(by_id[i], reveal_synthetic=reveal) for i in row.payload["candidates"] if i in by_id
            )
        mode = row.payload.get("mode")
        return Task(
            id=row.id,
            type=task_type,
            user_id=row.user_id,
            lang=row.lang,
            status=TaskStatus(row.status),
            created_at=row.created_at,
            expires_at=row.expires_at,
            tree_id=row.tree_id,
            target_id=row.target_id,
            conversation=conversation,
            label_mode=LabelMode(mode) if mode else None,
            valid_labels=tuple(row.payload.get("valid_labels", ())),
            mandatory_labels=tuple(row.payload.get("mandatory_labels", ())),
            candidates=candidates,
            reveal_synthetic=reveal,
            draft=row.draft,
            frontend_ref=row.frontend_ref,
        )

    def _new_id(self) -> str:
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    # ================================================================== task lifecycle

    async def get_task(self, task_id: str, user_id: int) -> Task:
        """A task of this user's, as it stands now (to redraw a card after a restart)."""
        async with self.db.read() as repo:
            row = await self._own_task(repo, task_id, user_id)
            return await self._task_view(repo, row)

    async def open_task(self, task_id: str, user_id: int) -> Task:
        """A task of this user's that can still be answered, or the reason it cannot."""
        async with self.db.read() as repo:
            row = await self._own_task(repo, task_id, user_id)
            self._check_open(row)
            return await self._task_view(repo, row)

    async def ack_task(self, task_id: str, user_id: int, frontend_ref: str) -> None:
        """Bind the front-end's reference (e.g. the card's message id) to the task; idempotent."""
        async with self.db.transaction() as repo:
            row = await self._own_task(repo, task_id, user_id)
            if row.frontend_ref == frontend_ref:
                return
            self._check_open(row)
            await repo.set_frontend_ref(task_id, frontend_ref)

    async def save_draft(self, task_id: str, user_id: int, text: str, *, check: bool = False) -> None:
        """Keep what the user typed for a task until the task ends.

        With `check`, then refuse (with the text given back) when the task can no longer be answered
        or the text could never be stored; the draft is kept either way.
        """
        async with self.db.transaction() as repo:
            row = await self._own_task(repo, task_id, user_id)
            if TaskType(row.type) not in WRITING_TYPES:
                raise errors.TaskWrongKind("Only writing tasks keep drafts.", text=text)
            if row.status in (TaskStatus.PENDING, TaskStatus.EXPIRED, TaskStatus.CANCELLED):
                # a done or skipped task needs no draft; the text comes back in the refusal
                await repo.set_draft(task_id, policy.storable(text) if isinstance(text, str) else text)
        if check:
            self._check_open(row, text)
            policy.clean_reply_text(text, self.cfg)

    async def skip_task(self, task_id: str, user_id: int) -> None:
        """Decline a task; its target is never offered to this user again (decisions: skips never come back)."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            row = await self._own_task(repo, task_id, user_id)
            if row.status != TaskStatus.PENDING:
                self._check_open(row)
            await repo.end_task(task_id, TaskStatus.SKIPPED, now, clear_draft=False)
            kind = TaskType(row.type).kind
            if row.target_id is not None and kind in SKIP_EMOJI_OF_KIND:
                await self._add_emoji(repo, row.target_id, user_id, SKIP_EMOJI_OF_KIND[kind], now)
                if kind is TaskKind.REPLY:
                    await self._moderate_message(repo, row.target_id)

    async def _own_task(self, repo: Repository, task_id: str, user_id: int) -> TaskRow:
        row = await repo.task(str(task_id))
        if row is None:
            raise errors.TaskNotFound()
        if row.user_id != user_id:
            raise errors.TaskNotYours()
        return row

    def _check_open(self, row: TaskRow, text: str | None = None) -> None:
        """Refuse a task that can no longer be answered, in the reference's order (§4.11 step 4)."""
        now = self.clock.now()
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

    async def _open_task(
        self, repo: Repository, task_id: str, user_id: int, types: frozenset[TaskType], text: str | None = None
    ) -> tuple[UserRow, TaskRow]:
        user = await self._enabled_user(repo, user_id)
        row = await self._own_task(repo, task_id, user_id)
        self._check_open(row, text)
        if self.cfg.require_task_ack and row.frontend_ref is None:
            raise errors.TaskNotAck(text=text)
        if TaskType(row.type) not in types:
            raise errors.TaskWrongKind(text=text)
        return user, row

    # ================================================================== submissions

    async def submit_reply(self, task_id: str, user_id: int, text: str) -> SubmitResult:
        """Store the text of a writing task. On any refusal the text is kept as the task's draft."""
        try:
            async with self.db.transaction() as repo:
                return await self._submit_reply(repo, task_id, user_id, text)
        except errors.DomainError as exc:
            exc.text = text if isinstance(text, str) else None
            await self._keep_draft(task_id, user_id, exc.text)
            raise

    async def _keep_draft(self, task_id: str, user_id: int, text: str | None) -> None:
        if not text:
            return
        async with self.db.transaction() as repo:
            row = await repo.task(str(task_id))
            if row is not None and row.user_id == user_id and TaskType(row.type) in WRITING_TYPES:
                if row.status in (TaskStatus.PENDING, TaskStatus.EXPIRED, TaskStatus.CANCELLED):
                    await repo.set_draft(row.id, policy.storable(text))

    async def _submit_reply(self, repo: Repository, task_id: str, user_id: int, text: str) -> SubmitResult:
        cfg, now = self.cfg, self.clock.now()
        user, row = await self._open_task(repo, task_id, user_id, WRITING_TYPES)
        clean = policy.clean_reply_text(text, cfg)
        window = cfg.duplicate_message_filter_window_minutes * 60.0
        if window > 0 and await repo.has_recent_duplicate(user_id, clean, now - window):
            raise errors.MessageDuplicated()
        task_type = TaskType(row.type)
        message_id = self._new_id()
        if task_type is TaskType.INITIAL_PROMPT:
            tree_id, depth, parent_id = message_id, 0, None
            await repo.insert_tree(
                tree_id,
                state=TreeState.INITIAL_PROMPT_REVIEW,
                active=True,
                lang=row.lang,
                goal_tree_size=policy.draw_goal_tree_size(cfg, self.rng),
                max_depth=cfg.max_tree_depth,
                max_children_count=cfg.max_children_count,
                now=now,
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
        await self._record_activity(repo, user, now)
        tree = await repo.tree(tree_id)
        assert tree is not None
        return SubmitResult(task_id=row.id, message_id=message_id, tree_state=TreeState(tree.state))

    async def submit_labels(
        self,
        task_id: str,
        user_id: int,
        labels: Mapping[str, float],
        *,
        message_id: str | None = None,
        comment: str = "",
    ) -> SubmitResult:
        """Store a review; the third review decides the message's fate (final, decisions #14)."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            user, row = await self._open_task(repo, task_id, user_id, LABEL_TYPES)
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
            values = policy.validate_labels(
                labels, row.payload.get("valid_labels", ()), row.payload.get("mandatory_labels", ())
            )
            await repo.insert_label(
                label_id=row.id,
                message_id=message.id,
                user_id=user_id,
                task_id=row.id,
                mode=row.payload.get("mode"),
                labels=values,
                comment=policy.storable(str(comment or "")[:4000]),
                is_report=False,
                now=now,
            )
            review_count = await repo.add_review(message.id)
            await repo.end_task(row.id, TaskStatus.DONE, now, clear_draft=True)
            required = self.cfg.num_reviews_initial_prompt if is_root else self.cfg.num_reviews_reply
            if message.review_result is None and review_count >= required:
                threshold = (
                    self.cfg.acceptance_threshold_initial_prompt if is_root else self.cfg.acceptance_threshold_reply
                )
                verdict = policy.review_verdict(await repo.reviews(message.id), required, threshold)
                await repo.set_review_result(message.id, verdict)
                if is_root:
                    if verdict:
                        await self._enter_state(repo, tree, TreeState.PROMPT_LOTTERY_WAITING)
                    else:
                        await self._enter_state(repo, tree, TreeState.ABORTED_LOW_GRADE)
            if not is_root:
                await self._check_ranking_state(repo, tree.id)
            await self._record_activity(repo, user, now)
            state = TreeState((await repo.tree(tree.id)).state)  # type: ignore[union-attr]
            return SubmitResult(task_id=row.id, tree_state=state)

    async def submit_ranking(
        self, task_id: str, user_id: int, ranking: Sequence[int] | None, *, not_rankable: bool = False
    ) -> SubmitResult:
        """Store a ranking: shown indices, best first; or "not rankable" (all answers bad), order optional."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            user, row = await self._open_task(repo, task_id, user_id, RANKING_TYPES)
            tree = await repo.tree(row.tree_id or "")
            if tree is None or tree.state != TreeState.RANKING or not tree.active:
                raise errors.TreeNotAccepting("These answers are no longer being ranked.")
            shown: list[str] = list(row.payload["candidates"])
            current = {m.id for m in await repo.accepted_children(row.target_id or "", self._ranked_roles())}
            if not set(shown) <= current:
                raise errors.CorruptRanking()
            if ranking is None or (not_rankable and isinstance(ranking, Sequence) and len(ranking) == 0):
                if not not_rankable:
                    raise errors.InvalidRanking("Please order the answers, or mark them all as bad.")
                order: list[int] | None = None
                ranked_ids: list[str] = []
            else:
                order = policy.validate_ranking(ranking, len(shown))
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
            await self._check_scoring_state(repo, tree.id)
            await self._record_activity(repo, user, now)
            state = TreeState((await repo.tree(tree.id)).state)  # type: ignore[union-attr]
            return SubmitResult(task_id=row.id, tree_state=state)

    async def _record_activity(self, repo: Repository, user: UserRow, now: float) -> None:
        """Streaks (reference §7.3): a streak counts whole days since it started; the reset job ends it."""
        start = user.streak_last_day_at
        if start is None or start > now:
            start, days = now, 0
        else:
            days = int((now - start) // 86400)
        await repo.record_activity(user.id, now, start, days)

    # ================================================================== emojis

    async def react(
        self, user_id: int, message_id: str, emoji: Emoji | str, op: EmojiOp | str = EmojiOp.TOGGLE
    ) -> dict[str, int]:
        """Add, remove or toggle a user's emoji on a message; returns the message's emoji counts."""
        try:
            emoji, op = Emoji(emoji), EmojiOp(op)
        except ValueError:
            raise errors.InvalidEmoji() from None
        now = self.clock.now()
        async with self.db.transaction() as repo:
            await self._enabled_user(repo, user_id)
            message = await repo.message(str(message_id))
            if message is None:
                raise errors.MessageNotFound()
            has = emoji.value in await repo.user_emojis(message.id, user_id)
            if op is EmojiOp.TOGGLE:
                op = EmojiOp.REMOVE if has else EmojiOp.ADD
            if op is EmojiOp.ADD and not has:
                await self._add_emoji(repo, message.id, user_id, emoji, now)
                if emoji in (Emoji.RED_FLAG, Emoji.SKIP_REPLY):
                    await self._moderate_message(repo, message.id)
            elif op is EmojiOp.REMOVE and has:
                await self._remove_emoji(repo, message.id, user_id, emoji)
            return await repo.emoji_counts(message.id)

    async def _add_emoji(self, repo: Repository, message_id: str, user_id: int, emoji: Emoji, now: float) -> None:
        if emoji in (Emoji.THUMBS_UP, Emoji.THUMBS_DOWN):
            other = Emoji.THUMBS_DOWN if emoji is Emoji.THUMBS_UP else Emoji.THUMBS_UP
            if other.value in await repo.user_emojis(message_id, user_id):
                await self._remove_emoji(repo, message_id, user_id, other)
            message = await repo.message(message_id)
            if message is not None and message.user_id == user_id:
                return  # no voting on one's own message
        if emoji is Emoji.RED_FLAG:
            await repo.flag_message(message_id, now)
        if await repo.insert_emoji(message_id, user_id, emoji.value, now):
            counts = await repo.emoji_counts(message_id)
            counts[emoji.value] = counts.get(emoji.value, 0) + 1
            await repo.set_emoji_counts(message_id, counts)

    async def _remove_emoji(self, repo: Repository, message_id: str, user_id: int, emoji: Emoji) -> None:
        if await repo.delete_emoji(message_id, user_id, emoji.value):
            counts = await repo.emoji_counts(message_id)
            counts[emoji.value] = counts.get(emoji.value, 0) - 1
            await repo.set_emoji_counts(message_id, counts)

    async def report(self, user_id: int, message_id: str, comment: str = "") -> None:
        """A free report: a red flag plus a report label row with the reporter's comment."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            await self._enabled_user(repo, user_id)
            message = await repo.message(str(message_id))
            if message is None:
                raise errors.MessageNotFound()
            await repo.insert_label(
                label_id=self._new_id(),
                message_id=message.id,
                user_id=user_id,
                task_id=None,
                mode=None,
                labels={},
                comment=policy.storable(str(comment or "")[:4000]),
                is_report=True,
                now=now,
            )
            if Emoji.RED_FLAG.value not in await repo.user_emojis(message.id, user_id):
                await self._add_emoji(repo, message.id, user_id, Emoji.RED_FLAG, now)
                await self._moderate_message(repo, message.id)

    # ================================================================== state machine

    async def _enter_state(self, repo: Repository, tree: TreeRow, state: TreeState) -> TreeRow:
        """Every state change goes through here: active flag, lottery stamp, halted_from, backlog dice,
        and withdrawal of pending tasks the new state cannot take."""
        now = self.clock.now()
        was_active = tree.active
        halted_from = tree.state if state is TreeState.HALTED_BY_MODERATOR else None
        if state is TreeState.HALTED_BY_MODERATOR and tree.state == TreeState.HALTED_BY_MODERATOR:
            halted_from = tree.halted_from
        await repo.set_tree_state(
            tree.id,
            state,
            is_active_state(state),
            now,
            halted_from=halted_from,
            stamp_lottery=state is TreeState.GROWING,
        )
        allowed = _TASKS_ALLOWED_IN.get(state, frozenset())
        await repo.cancel_pending_tasks(now, tree_id=tree.id, types=[t.value for t in TaskType if t not in allowed])
        log.debug("tree %s: %s -> %s", tree.id, tree.state, state)
        if state in TRULY_TERMINAL_STATES and was_active:
            await self._maybe_activate_backlog(repo, tree.lang, exclude=tree.id)
        new = await repo.tree(tree.id)
        assert new is not None
        return new

    async def _check_lottery_state(self, repo: Repository, tree_id: str) -> bool:
        tree = await repo.tree(tree_id)
        if tree is None or not tree.active or tree.state != TreeState.INITIAL_PROMPT_REVIEW:
            return False
        root = await repo.message(tree.id)
        if root is None or root.review_result is not True or root.deleted:
            return False
        await self._enter_state(repo, tree, TreeState.PROMPT_LOTTERY_WAITING)
        return True

    async def _check_ranking_state(self, repo: Repository, tree_id: str) -> bool:
        """growing → ranking once enough messages are accepted and none waits for review (reference §4.8.2)."""
        tree = await repo.tree(tree_id)
        if tree is None or not tree.active or tree.state != TreeState.GROWING:
            return False
        accepted, awaiting = await repo.tree_size(tree.id)
        if accepted == 0:
            await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)
            return False
        if accepted < tree.goal_tree_size or awaiting > 0:
            return False
        await self._enter_state(repo, tree, TreeState.RANKING)
        await self._check_scoring_state(repo, tree.id)  # decisions #7: a tree with nothing to rank completes now
        return True

    async def _check_scoring_state(self, repo: Repository, tree_id: str) -> bool:
        """ranking → ready_for_scoring → ready_for_export when every rankable parent has enough rankings."""
        tree = await repo.tree(tree_id)
        if tree is None:
            return False
        if tree.state == TreeState.SCORING_FAILED:
            pass
        elif not tree.active or tree.state not in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
            return False
        parents = await repo.rankable_parents(tree.id, self._ranked_roles())
        counts = await repo.ranking_counts(list(parents))
        if any(n < self.cfg.num_required_rankings for n in counts.values()):
            return False
        if tree.state != TreeState.READY_FOR_SCORING:
            tree = await self._enter_state(repo, tree, TreeState.READY_FOR_SCORING)
        return await self._score_tree(repo, tree, parents)

    async def _score_tree(self, repo: Repository, tree: TreeRow, parents: Mapping[str, list[str]]) -> bool:
        """Write every parent's consensus ranks in one step: all of them or none (decisions #7, #8)."""
        await repo.savepoint("scoring")
        try:
            for parent_id, children in parents.items():
                await self._rank_siblings(repo, parent_id, children)
        except Exception:
            log.exception("scoring tree %s failed; it waits for the retry job", tree.id)
            await repo.rollback_to("scoring")
            await self._enter_state(repo, tree, TreeState.SCORING_FAILED)
            return False
        await repo.release("scoring")
        await self._enter_state(repo, tree, TreeState.READY_FOR_EXPORT)
        return True

    async def _rank_siblings(self, repo: Repository, parent_id: str, children: Sequence[str]) -> int:
        """Consensus of the ballots on their common ids (reference §4.8.5); returns the rows changed, 0 if none."""
        ballots = [b for b in await repo.ballots(parent_id) if b]
        if not ballots:
            return await repo.set_ranks(parent_id, {})
        common = set(children)
        for b in ballots:
            common &= set(b)
        if len(common) < 2:
            return 0
        reduced = [[i for i in b if i in common] for b in ballots]
        consensus = self._ranker(reduced)
        return await repo.set_ranks(parent_id, {mid: pos for pos, mid in enumerate(consensus)})

    # ================================================================== lottery, backlog, moderation jobs

    async def run_prompt_lottery(self, lang: str, max_activate: int | None = None) -> int:
        """Promote waiting prompts to growing until the language has max_active_trees growing; returns how many."""
        lang = normalize_lang(lang)
        async with self.db.transaction() as repo:
            return await self._prompt_lottery(repo, lang, max_activate)

    async def _prompt_lottery(self, repo: Repository, lang: str, max_activate: int | None) -> int:
        if lang in self.cfg.init_prompt_disabled_langs:
            return 0
        activated = 0
        while max_activate is None or activated < max_activate:
            growing = await repo.count_trees(lang, TreeState.GROWING, active_only=True)
            if growing >= self.cfg.max_active_trees:
                break
            authors = await repo.lottery_candidates(lang, self.clock.now() - MONTH)
            if not authors:
                break
            author = policy.pick_lottery_author(authors, self.rng)
            prompts = await repo.waiting_prompts_of(lang, author)
            tree = await repo.tree(prompts[int(self.rng.integers(len(prompts)))])
            assert tree is not None
            await self._enter_state(repo, tree, TreeState.GROWING)
            activated += 1
        return activated

    async def _maybe_activate_backlog(self, repo: Repository, lang: str, exclude: str) -> None:
        roll = self.rng.random() < self.cfg.p_activate_backlog_tree
        if not roll and self.cfg.min_active_rankings_per_lang > 0:
            roll = await self._incomplete_ranking_count(repo, lang) < self.cfg.min_active_rankings_per_lang
        if roll:
            await self._activate_backlog_tree(repo, lang)

    async def _incomplete_ranking_count(self, repo: Repository, lang: str) -> int:
        rows = await repo.handout.ranking_parents(lang, -1, self._ranked_roles(), self.clock.now())
        return sum(1 for r in rows if r["rankings"] < self.cfg.num_required_rankings)

    async def _activate_backlog_tree(self, repo: Repository, lang: str) -> str | None:
        tried: list[str] = []
        while (tree_id := await repo.backlog_tree(lang, tried)) is not None:
            tried.append(tree_id)
            tree = await repo.tree(tree_id)
            assert tree is not None
            if not await repo.rankable_parents(tree_id, self._ranked_roles()):
                await self._enter_state(repo, tree, TreeState.ABORTED_LOW_GRADE)
                continue
            await self._enter_state(repo, tree, TreeState.RANKING)
            await self._check_scoring_state(repo, tree_id)
            return tree_id
        return None

    async def activate_backlog(self, lang: str) -> str | None:
        """Scheduled: keep min_active_rankings_per_lang parents to rank by activating a backlog tree."""
        lang = normalize_lang(lang)
        async with self.db.transaction() as repo:
            if self.cfg.min_active_rankings_per_lang <= 0:
                return None
            if await self._incomplete_ranking_count(repo, lang) >= self.cfg.min_active_rankings_per_lang:
                return None
            return await self._activate_backlog_tree(repo, lang)

    async def run_auto_moderation(self, lang: str) -> int:
        """Scheduled: act on messages that reached the red-flag or skip thresholds; returns how many."""
        lang = normalize_lang(lang)
        async with self.db.transaction() as repo:
            if not self.cfg.auto_mod_enabled:
                return 0
            suspects = await repo.moderation_suspects(
                lang, self.cfg.auto_mod_red_flags, self.cfg.auto_mod_max_skip_reply
            )
            for message in suspects:
                await self._moderate_message(repo, message.id)
            return len(suspects)

    async def _moderate_message(self, repo: Repository, message_id: str) -> None:
        """Auto-moderation for one message (reference §4.4, thresholds inclusive)."""
        if not self.cfg.auto_mod_enabled:
            return
        message = await repo.message(message_id)
        if message is None or message.deleted or (message.review_result is False and message.parent_id is not None):
            return
        tree = await repo.tree(message.tree_id)
        if tree is None or not tree.active or tree.state not in (TreeState.INITIAL_PROMPT_REVIEW, TreeState.GROWING):
            return
        now = self.clock.now()
        if message.emojis.get(Emoji.RED_FLAG.value, 0) >= self.cfg.auto_mod_red_flags:
            if message.parent_id is None:
                await repo.log(now, None, "auto_abort", tree.id, "red flags on the prompt")
                tree = await self._enter_state(repo, tree, TreeState.ABORTED_LOW_GRADE)
            else:
                await repo.log(now, None, "auto_delete", message.id, "red flags")
                await self._delete_subtree(repo, message)
                await self._check_ranking_state(repo, tree.id)
                tree = await repo.tree(tree.id)  # type: ignore[assignment]
        if (
            tree is not None
            and tree.active
            and message.emojis.get(Emoji.SKIP_REPLY.value, 0) >= self.cfg.auto_mod_max_skip_reply
        ):
            await repo.log(now, None, "auto_halt", tree.id, "skipped too often")
            await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)

    async def expire_tasks(self) -> int:
        """Scheduled: mark pending tasks past their expiry as expired (their drafts stay readable)."""
        async with self.db.transaction() as repo:
            return await repo.expire_tasks(self.clock.now())

    async def retry_scoring(self) -> int:
        """Scheduled: score trees whose scoring failed; back to ranking if their rankings are incomplete."""
        done = 0
        async with self.db.transaction() as repo:
            for tree_id in await repo.tree_ids_in_state(TreeState.SCORING_FAILED):
                if await self._check_scoring_state(repo, tree_id):
                    done += 1
                    continue
                tree = await repo.tree(tree_id)
                if tree is not None and tree.state == TreeState.SCORING_FAILED:
                    parents = await repo.rankable_parents(tree_id, self._ranked_roles())
                    counts = await repo.ranking_counts(list(parents))
                    if any(n < self.cfg.num_required_rankings for n in counts.values()):
                        await self._enter_state(repo, tree, TreeState.RANKING)
        return done

    async def reset_streaks(self) -> int:
        """Scheduled: members inactive for more than 36 hours lose their streak (reference §7.3)."""
        async with self.db.transaction() as repo:
            return await repo.reset_streaks(self.clock.now() - STREAK_GRACE)

    async def halt_prompts_of_disabled_users(self) -> int:
        """Scheduled: waiting prompts of banned or deleted authors leave the lottery."""
        async with self.db.transaction() as repo:
            ids = await repo.waiting_trees_of_disabled_authors()
            for tree_id in ids:
                tree = await repo.tree(tree_id)
                assert tree is not None
                await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)
            return len(ids)

    async def languages(self) -> list[str]:
        async with self.db.read() as repo:
            return await repo.languages()

    # ================================================================== moderator operations

    async def clear_flags(self, message_id: str, actor_id: int | None, reason: str = "") -> int:
        """A moderator withdraws every red flag on a message (it was fine); returns how many there were.
        Those who flagged it may flag it again."""
        async with self.db.transaction() as repo:
            message = await self._message(repo, message_id)
            removed = await repo.delete_emoji_of_all(message.id, Emoji.RED_FLAG.value)
            if removed:
                counts = await repo.emoji_counts(message.id)
                counts.pop(Emoji.RED_FLAG.value, None)
                await repo.set_emoji_counts(message.id, counts)
                await repo.log(self.clock.now(), actor_id, "clear_flags", message.id, reason)
            return removed

    async def halt_tree(self, tree_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        async with self.db.transaction() as repo:
            tree = await self._tree(repo, tree_id)
            if tree.state == TreeState.HALTED_BY_MODERATOR:
                raise errors.InvalidStateChange("This tree is already halted.")
            await repo.log(self.clock.now(), actor_id, "halt", tree.id, reason)
            return TreeState((await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)).state)

    async def resume_tree(self, tree_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Return a halted tree to the state it was halted from (decisions #20), then re-run its checks."""
        async with self.db.transaction() as repo:
            tree = await self._tree(repo, tree_id)
            if tree.state != TreeState.HALTED_BY_MODERATOR:
                raise errors.InvalidStateChange("Only a halted tree can be resumed.")
            root = await repo.message(tree.id)
            if root is not None and root.deleted:
                raise errors.InvalidStateChange("Restore the prompt before resuming its tree.")
            await repo.log(self.clock.now(), actor_id, "resume", tree.id, reason)
            return await self._resume(repo, tree)

    async def _resume(self, repo: Repository, tree: TreeRow) -> TreeState:
        target = TreeState(tree.halted_from or TreeState.GROWING)
        tree = await self._enter_state(repo, tree, target)
        if target is TreeState.INITIAL_PROMPT_REVIEW:
            await self._check_lottery_state(repo, tree.id)
        elif target is TreeState.GROWING:
            await self._check_ranking_state(repo, tree.id)
        elif target in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
            await self._check_scoring_state(repo, tree.id)
        elif target is TreeState.READY_FOR_EXPORT:
            await self._rescore_exported(repo, tree)  # a purge or restore while halted may have changed its sets
        return TreeState((await self._tree(repo, tree.id)).state)

    async def delete_message(self, message_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Soft-delete a message with its subtree; deleting a prompt halts its tree."""
        async with self.db.transaction() as repo:
            message = await self._message(repo, message_id)
            if message.deleted:
                raise errors.InvalidStateChange("This message is already deleted.")
            await repo.log(self.clock.now(), actor_id, "delete", message.id, reason)
            await self._delete_subtree(repo, message)
            tree = await self._tree(repo, message.tree_id)
            if message.parent_id is None:
                if tree.state != TreeState.HALTED_BY_MODERATOR:
                    await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)
            else:
                await self._recheck(repo, tree)
            return TreeState((await self._tree(repo, tree.id)).state)

    async def _delete_subtree(self, repo: Repository, message: MessageRow) -> list[str]:
        ids = await repo.subtree_ids(message.id)
        await repo.set_deleted(ids, True)
        now = self.clock.now()
        await repo.cancel_pending_tasks(now, target_ids=ids)
        if message.parent_id is not None:  # the answers to rank under its parent changed
            await repo.cancel_pending_tasks(now, target_ids=[message.parent_id], types=[t.value for t in RANKING_TYPES])
        return ids

    async def _recheck(self, repo: Repository, tree: TreeRow) -> None:
        """After the tree's messages changed under it, re-run the check for its state."""
        if tree.state == TreeState.GROWING:
            await self._check_ranking_state(repo, tree.id)
        elif tree.state in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
            await self._check_scoring_state(repo, tree.id)
        elif tree.state == TreeState.READY_FOR_EXPORT:
            await self._rescore_exported(repo, tree)

    async def _rescore_exported(self, repo: Repository, tree: TreeRow) -> None:
        """An exported tree whose sibling sets changed under it goes back to ranking if a set now lacks
        rankings; otherwise its ranks are recomputed from the ballots it has."""
        parents = await repo.rankable_parents(tree.id, self._ranked_roles())
        counts = await repo.ranking_counts(list(parents))
        if any(n < self.cfg.num_required_rankings for n in counts.values()):
            await repo.clear_ranks(tree.id)
            await self._enter_state(repo, tree, TreeState.RANKING)
        else:
            await self._score_tree(repo, tree, parents)

    async def _restore_overfills(self, repo: Repository, tree: TreeRow, ids: Sequence[str]) -> bool:
        """Would undeleting `ids` put the tree over its goal, or a message over its reply limit? The slots a
        deletion freed may have been filled since (decisions #15, #16: trees never overshoot)."""
        if tree.origin is not None:
            return False
        messages = await repo.messages_of_tree(tree.id)
        reserved = await repo.reserved_reply_targets(tree.id, self.clock.now())
        role_of = {m.id: m.role for m in messages}
        restoring = set(ids)
        before = {m.id for m in messages if not m.deleted and m.review_result is not False}
        after = before | {m.id for m in messages if m.id in restoring and m.review_result is not False}
        if len(after) + len(reserved) > tree.goal_tree_size and len(after) > len(before):
            return True

        def children(live: set[str]) -> dict[str, int]:
            out: dict[str, int] = {}
            for parent_id in [m.parent_id for m in messages if m.id in live] + list(reserved):
                if parent_id is not None:
                    out[parent_id] = out.get(parent_id, 0) + 1
            return out

        was, will = children(before), children(after)
        for parent_id, n in will.items():
            limit = tree.max_children_count
            if role_of.get(parent_id) != Role.PROMPTER:
                limit = min(limit, self.cfg.num_prompter_replies)
            if n > limit and n > was.get(parent_id, 0):
                return True
        return False

    async def restore_message(self, message_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Undo a deletion: the message and its subtree; a restored prompt resumes its tree."""
        async with self.db.transaction() as repo:
            message = await self._message(repo, message_id)
            if not message.deleted:
                raise errors.InvalidStateChange("This message is not deleted.")
            if message.parent_id is not None:
                parent = await repo.message(message.parent_id)
                if parent is not None and parent.deleted:
                    raise errors.InvalidStateChange("Restore the message it answers first.")
            ids = await repo.subtree_ids(message.id)
            tree = await self._tree(repo, message.tree_id)
            if await self._restore_overfills(repo, tree, ids):
                raise errors.InvalidStateChange(
                    "This conversation has grown on without that message; restoring it would overfill it."
                )
            await repo.log(self.clock.now(), actor_id, "restore", message.id, reason)
            await repo.set_deleted(ids, False)
            if message.parent_id is None and tree.state == TreeState.HALTED_BY_MODERATOR:
                await self._resume(repo, tree)
            else:
                await self._recheck(repo, tree)
            return TreeState((await self._tree(repo, tree.id)).state)

    async def ban_user(self, user_id: int, actor_id: int | None, reason: str = "") -> None:
        """No more tasks for this user; their open tasks are withdrawn and waiting prompts halted."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            await self._user(repo, user_id)
            await repo.log(now, actor_id, "ban", str(user_id), reason)
            await repo.set_user_enabled(user_id, False)
            await repo.cancel_pending_tasks(now, user_id=user_id)
            for tree_id in await repo.waiting_trees_of_user(user_id):
                await self._enter_state(repo, await self._tree(repo, tree_id), TreeState.HALTED_BY_MODERATOR)

    async def unban_user(self, user_id: int, actor_id: int | None, reason: str = "") -> None:
        async with self.db.transaction() as repo:
            user = await self._user(repo, user_id)
            if user.deleted:
                raise errors.InvalidStateChange("This member's data was purged; they cannot be unbanned.")
            await repo.log(self.clock.now(), actor_id, "unban", str(user_id), reason)
            await repo.set_user_enabled(user_id, True)

    async def purge_user(self, user_id: int, actor_id: int | None, *, ban: bool = False, reason: str = "") -> int:
        """Remove a user's contributions (decisions #10): messages soft-deleted with their subtrees, emojis,
        labels and rankings removed, every affected count recomputed and every affected tree re-checked.
        Returns the number of messages removed."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            await self._user(repo, user_id)
            await repo.log(now, actor_id, "purge", str(user_id), reason)
            await repo.cancel_pending_tasks(now, user_id=user_id)
            affected_trees: set[str] = set()
            removed = 0
            for message in await repo.messages_of_user(user_id):
                current = await repo.message(message.id)
                if current is None or current.deleted:
                    continue
                removed += len(await self._delete_subtree(repo, current))
                affected_trees.add(message.tree_id)
                if message.parent_id is None:
                    tree = await self._tree(repo, message.tree_id)
                    if tree.state != TreeState.HALTED_BY_MODERATOR:
                        await self._enter_state(repo, tree, TreeState.HALTED_BY_MODERATOR)
            emoji_messages = sorted({m for m, _ in await repo.emojis_of_user(user_id)})
            await repo.delete_emojis_of_user(user_id)
            await repo.recount_emojis(emoji_messages)
            await repo.mark_results_purged(user_id)
            labelled = sorted({m for m, _ in await repo.labels_of_user(user_id)})
            await repo.delete_labels_of_user(user_id)
            await repo.recount_reviews(labelled)
            rankings = await repo.rankings_of_user(user_id)
            await repo.delete_rankings_of_user(user_id)
            await repo.recount_ranking_counts(sorted({p for p, _, _ in rankings}))
            affected_trees |= {t for _, t, _ in rankings}
            for message_id in labelled:
                message = await repo.message(message_id)
                if message is not None:
                    affected_trees.add(message.tree_id)
            for tree_id in sorted(affected_trees):
                await self._rescore_after_purge(repo, tree_id)
            if ban:
                await repo.set_user_deleted(user_id)
            return removed

    async def _rescore_after_purge(self, repo: Repository, tree_id: str) -> None:
        tree = await self._tree(repo, tree_id)
        state = TreeState(tree.state)
        if state in (TreeState.READY_FOR_EXPORT, TreeState.SCORING_FAILED, TreeState.READY_FOR_SCORING):
            parents = await repo.rankable_parents(tree_id, self._ranked_roles())
            counts = await repo.ranking_counts(list(parents))
            if any(n < self.cfg.num_required_rankings for n in counts.values()):
                await repo.clear_ranks(tree_id)
                await self._enter_state(repo, tree, TreeState.RANKING)
            else:
                tree = await self._enter_state(repo, tree, TreeState.READY_FOR_SCORING)
                await self._score_tree(repo, tree, parents)
        else:
            await self._recheck(repo, tree)

    async def _tree(self, repo: Repository, tree_id: str) -> TreeRow:
        tree = await repo.tree(str(tree_id))
        if tree is None:
            raise errors.TreeNotFound()
        return tree

    async def _message(self, repo: Repository, message_id: str) -> MessageRow:
        message = await repo.message(str(message_id))
        if message is None:
            raise errors.MessageNotFound()
        return message

    async def tree_status(self, tree_id: str) -> TreeStatus:
        async with self.db.read() as repo:
            tree = await self._tree(repo, tree_id)
            return TreeStatus(tree.id, TreeState(tree.state), tree.active, tree.lang)

    async def message(self, message_id: str) -> MessageRow:
        async with self.db.read() as repo:
            return await self._message(repo, message_id)


@dataclass(frozen=True)
class _Candidates:
    prompts_to_review: list[str]
    replies_to_review: list[tuple[str, str, str]]
    reply_parents: list[policy.ParentCandidate]
    missing_replies: int
    rankings: list[dict[str, object]]
    prompts_offered: int


def _label_type_for(role: str) -> TaskType:
    return TaskType.LABEL_ASSISTANT_REPLY if role == Role.ASSISTANT else TaskType.LABEL_PROMPTER_REPLY


def _rank_type_for(parent_role: str) -> TaskType:
    """Children of a prompter message are assistant replies, and the other way round."""
    return TaskType.RANK_ASSISTANT_REPLIES if parent_role == Role.PROMPTER else TaskType.RANK_PROMPTER_REPLIES


def _conv(m: MessageRow, *, reveal_synthetic: bool = True) -> ConversationMessage:
    return ConversationMessage(
        id=m.id,
        role=Role(m.role),
        text=m.text,
        lang=m.lang,
        user_id=m.user_id,
        synthetic=m.synthetic and reveal_synthetic,
    )


__all__ = ["Engine", "TreeStatus"]
