"""The tree manager's public face: every method is one transaction that calls the capability modules.

    handout      availability, the hand-out, the task as shown
    submissions  drafts, skips, replies, reviews, rankings
    lifecycle    the tree state machine, scoring, lottery, backlog, auto-moderation (each rule once)
    moderation   reactions, reports, flags, halt/resume, delete/restore, ban, purge
    jobs         the scheduled passes

Rules come from `engine.policy` (pure functions) and the `EngineConfig`; persistence from `storage`;
time and randomness are injected. What changed is published to subscribers after the commit
(`engine.events`), never before and never for a rolled-back transaction.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from engine import errors, handout, history, jobs, lifecycle, moderation, notifications, policy, privacy, submissions
from engine.clock import Clock, SystemClock
from engine.config import EngineConfig
from engine.events import Event
from engine.jobs import STREAK_GRACE
from engine.lang import normalize_lang
from engine.lifecycle import MONTH
from engine.ranking import ranked_pairs
from engine.records import MessageRow, UserRow
from engine.step import Ranker, Step
from engine.types import Availability, Emoji, EmojiOp, SubmitResult, Task, TaskType, TreeState
from storage.repository import Repository
from storage.store import Store

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]
T = TypeVar("T")


@dataclass(frozen=True)
class TreeStatus:
    id: str
    state: TreeState
    active: bool
    lang: str


class Engine:
    def __init__(
        self,
        db: Store,
        config: EngineConfig | None = None,
        *,
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        ranker: Ranker = ranked_pairs,
        community: int | None = None,
    ) -> None:
        self.db = db
        # None: the operator's engine, which sees every community and puts new work in the first; a front-end
        # acting for a member works through `scoped(community)`, which sees only that community's data.
        self.community = community
        self.cfg = config or EngineConfig()
        self.clock = clock or SystemClock()
        self.rng = rng if rng is not None else np.random.default_rng()
        self._ranker = ranker
        self._listeners: list[Listener] = []

    # ================================================================== units of work and events

    def scoped(self, community: int) -> Engine:
        """This engine acting within one community: its hand-out, lottery and moderators see only that
        community's trees; another community's tree, message or task is "not found"."""
        if community == self.community:
            return self
        twin = copy.copy(self)
        twin.community = community
        return twin

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event, after the transaction that produced it has committed."""
        self._listeners.append(listener)

    def step_on(self, repo: Repository) -> Step:
        """A unit of work on an open transaction (for tests and tools that hold one already)."""
        return Step(repo, self.cfg, self.clock, self.rng, self._ranker, self.community)

    async def _write(self, work: Callable[[Step], Awaitable[T]], *, durable: bool = True) -> T:
        """Run `work` as one unit of work (`Database.run`: one transaction, one hand-off to the database thread),
        then publish the events it produced; a unit that raises publishes nothing."""
        events: list[Event] = []

        async def unit(repo: Repository) -> T:
            step = self.step_on(repo)
            result = await work(step)
            events.extend(step.events)
            return result

        result = await self.db.run(unit, durable=durable)
        self._publish(events)
        return result

    async def _read(self, work: Callable[[Step], Awaitable[T]]) -> T:
        """Run `work` as one read-only unit of work (a consistent snapshot)."""

        async def unit(repo: Repository) -> T:
            return await work(self.step_on(repo))

        return await self.db.run(unit, write=False)

    def _publish(self, events: Sequence[Event]) -> None:
        for event in events:
            for listener in self._listeners:
                try:
                    listener(event)
                except Exception:  # the work is committed; a listener's failure must not undo the answer
                    log.exception("event listener failed on %s", event)

    # ================================================================== users

    async def ensure_user(self, auth_method: str, username: str, display_name: str = "") -> int:
        """The internal id of a front-end user, created on first sight."""

        async def work(step: Step) -> int:
            return (await step.repo.upsert_user(auth_method, str(username), display_name, step.now())).id

        return await self._write(work)

    async def user(self, user_id: int) -> UserRow:
        return await self._read(lambda step: step.user(user_id))

    async def set_preferred_language(self, user_id: int, lang: str | None) -> None:
        if lang is not None:
            lang = normalize_lang(lang)

        async def work(step: Step) -> None:
            await step.user(user_id)
            await step.repo.set_preferred_lang(user_id, lang)

        await self._write(work)

    async def set_ui_locale(self, user_id: int, locale: str | None) -> None:
        """The interface language the member chose (a front-end's locale code), or None for their client's."""
        if locale is not None:
            locale = normalize_lang(locale)

        async def work(step: Step) -> None:
            await step.user(user_id)
            await step.repo.set_ui_locale(user_id, locale)

        await self._write(work)

    async def set_show_on_leaderboard(self, user_id: int, show: bool) -> None:
        """Whether the member is ranked on leaderboards (takes effect at the next refresh)."""

        async def work(step: Step) -> None:
            await step.user(user_id)
            await step.repo.set_show_on_leaderboard(user_id, show)

        await self._write(work)

    async def messages_of_user(self, user_id: int, *, include_deleted: bool = False) -> list[MessageRow]:
        """The member's own messages (for a privacy export), deleted ones only on request."""

        async def work(step: Step) -> list[MessageRow]:
            await step.user(user_id)
            return await step.repo.messages_of_user(user_id, self.community)

        rows = await self._read(work)
        return rows if include_deleted else [m for m in rows if not m.deleted]

    # ================================================================== hand-out

    async def availability(self, user_id: int, lang: str) -> Availability:
        """How many tasks of each type this user could get now; reads only (decisions #27)."""
        lang = normalize_lang(lang)

        async def work(step: Step) -> Availability:
            snap = await handout.snapshot(step, user_id, lang)
            return handout.availability(handout.candidates(step, snap, lang), lang)

        return await self._read(work)

    async def tree_counts(self, lang: str | None = None) -> dict[TreeState, int]:
        raw = await self._read(
            lambda step: step.repo.tree_counts(None if lang is None else normalize_lang(lang), self.community)
        )
        return {s: raw.get(s.value, 0) for s in TreeState}

    async def next_task(self, user_id: int, lang: str, task_type: TaskType | str | None = None) -> Task:
        """Hand out one task (random kind when `task_type` is None) and reserve its slot."""
        lang, wanted = normalize_lang(lang), _task_type(task_type)
        # A reservation lost to a power cut costs nothing: the member is told the task is gone and asks again.
        return await self._write(lambda step: handout.next_task(step, user_id, lang, wanted), durable=False)

    # ================================================================== a task's life

    async def get_task(self, task_id: str, user_id: int) -> Task:
        """A task of this user's, as it stands now (to redraw a card after a restart)."""

        async def work(step: Step) -> Task:
            return await handout.task_view(step, await step.own_task(task_id, user_id))

        return await self._read(work)

    async def open_task(self, task_id: str, user_id: int) -> Task:
        """A task of this user's that can still be answered, or the reason it cannot."""

        async def work(step: Step) -> Task:
            row = await step.own_task(task_id, user_id)
            step.check_open(row)
            return await handout.task_view(step, row)

        return await self._read(work)

    async def ack_task(self, task_id: str, user_id: int, frontend_ref: str) -> None:
        """Bind the front-end's reference (e.g. the card's message id) to the task; idempotent."""

        async def work(step: Step) -> None:
            row = await step.own_task(task_id, user_id)
            if row.frontend_ref == frontend_ref:
                return
            step.check_open(row)
            await step.repo.set_frontend_ref(task_id, frontend_ref)

        await self._write(work)

    async def save_draft(self, task_id: str, user_id: int, text: str, *, check: bool = False) -> None:
        """Keep what the user typed for a task until the task ends.

        With `check`, then refuse (with the text given back) when the task can no longer be answered
        or the text could never be stored; the draft is kept either way.
        """
        row = await self._write(lambda step: submissions.save_draft(step, task_id, user_id, text))
        if check:
            policy.check_open(row, self.clock.now(), text)
            policy.clean_reply_text(text, self.cfg)

    async def touch_task(self, task_id: str, user_id: int) -> None:
        """The member is visibly working on the task (opened its modal, paged it, tapped a rank): its slot lease
        runs from now (decisions #15, #16)."""
        await self._write(lambda step: submissions.touch(step, task_id, user_id))

    async def release_task(self, task_id: str, user_id: int, *, end: bool = False) -> None:
        """Give the task's slot back now (Stop); with `end`, also withdraw the task (no skip is counted)."""
        await self._write(lambda step: submissions.release(step, task_id, user_id, end=end))

    async def open_tasks(self, user_id: int, limit: int = 25) -> list[Task]:
        """The member's tasks that can still be answered, newest first, with their drafts."""

        async def work(step: Step) -> list[Task]:
            await step.user(user_id)
            rows = await step.repo.open_tasks_of(user_id, step.now(), limit, self.community)
            return [await handout.task_view(step, row) for row in rows]

        return await self._read(work)

    async def open_or_next_task(
        self, user_id: int, lang: str, task_type: TaskType | str | None = None, *, limit: int = 25
    ) -> list[Task] | Task:
        """`/task` in one unit of work: the member's open tasks (as `open_tasks`) when they hold any, to be offered
        first; else a new task handed out (as `next_task`)."""
        lang, wanted = normalize_lang(lang), _task_type(task_type)

        async def work(step: Step) -> list[Task] | Task:
            await step.user(user_id)
            rows = await step.repo.open_tasks_of(user_id, step.now(), limit, self.community)
            if rows:
                return [await handout.task_view(step, row) for row in rows]
            return await handout.next_task(step, user_id, lang, wanted)

        return await self._write(work, durable=False)

    async def resume_task(self, task_id: str, user_id: int) -> Task:
        """Take an open task up again, retaking its slot if its lease ended (refused if someone took it)."""

        async def work(step: Step) -> Task:
            return await handout.task_view(step, await submissions.resume(step, task_id, user_id))

        return await self._write(work)

    async def skip_task(self, task_id: str, user_id: int) -> None:
        """Decline a task; its target is never offered to this user again (decisions: skips never come back)."""
        await self._write(lambda step: submissions.skip(step, task_id, user_id))

    # ================================================================== submissions

    async def submit_reply(self, task_id: str, user_id: int, text: str) -> SubmitResult:
        """Store the text of a writing task. On any refusal the text is kept as the task's draft."""
        try:
            return await self._write(lambda step: submissions.reply(step, task_id, user_id, text))
        except errors.DomainError as exc:
            exc.text = kept = text if isinstance(text, str) else None
            if kept:
                await self._write(lambda step: submissions.keep_draft(step, task_id, user_id, kept))
            raise

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
        return await self._write(lambda step: submissions.labels(step, task_id, user_id, labels, message_id, comment))

    async def submit_ranking(
        self, task_id: str, user_id: int, ranking: Sequence[int] | None, *, not_rankable: bool = False
    ) -> SubmitResult:
        """Store a ranking: shown indices, best first; or "not rankable" (all answers bad), order optional."""
        return await self._write(lambda step: submissions.ranking(step, task_id, user_id, ranking, not_rankable))

    # ================================================================== reactions and reports

    async def react(
        self, user_id: int, message_id: str, emoji: Emoji | str, op: EmojiOp | str = EmojiOp.TOGGLE
    ) -> dict[str, int]:
        """Add, remove or toggle a user's emoji on a message; returns the message's emoji counts."""
        try:
            emoji, op = Emoji(emoji), EmojiOp(op)
        except ValueError:
            raise errors.InvalidEmoji() from None

        return await self._write(lambda step: moderation.react(step, user_id, message_id, emoji, op))

    async def report(self, user_id: int, message_id: str, comment: str = "") -> None:
        """A free report: a red flag plus a report label row with the reporter's comment."""
        await self._write(lambda step: moderation.report(step, user_id, message_id, comment))

    # ================================================================== scheduled passes

    async def run_prompt_lottery(self, lang: str, max_activate: int | None = None) -> int:
        """Promote waiting prompts to growing until the language has max_active_trees growing; returns how many."""
        lang = normalize_lang(lang)

        return await self._write(lambda step: lifecycle.prompt_lottery(step, step.pool, lang, max_activate))

    async def activate_backlog(self, lang: str) -> str | None:
        """Scheduled: keep min_active_rankings_per_lang parents to rank by activating a backlog tree."""
        lang = normalize_lang(lang)

        return await self._write(lambda step: jobs.activate_backlog(step, lang))

    async def run_auto_moderation(self, lang: str) -> int:
        """Scheduled: act on messages that reached the red-flag or skip thresholds; returns how many."""
        lang = normalize_lang(lang)

        return await self._write(lambda step: jobs.auto_moderation(step, lang))

    async def expire_tasks(self) -> int:
        """Scheduled: mark pending tasks past their expiry as expired (their drafts stay readable)."""
        return await self._write(lambda step: step.repo.expire_tasks(step.now()))

    async def retry_scoring(self) -> int:
        """Scheduled: score trees whose scoring failed; back to ranking if their rankings are incomplete."""
        return await self._write(lambda step: jobs.retry_scoring(step))

    async def reset_streaks(self) -> int:
        """Scheduled: members inactive for more than 36 hours lose their streak (reference §7.3)."""
        return await self._write(lambda step: step.repo.reset_streaks(step.now() - STREAK_GRACE))

    async def halt_prompts_of_disabled_users(self) -> int:
        """Scheduled: waiting prompts of banned or deleted authors leave the lottery."""
        return await self._write(lambda step: jobs.halt_prompts_of_disabled_users(step))

    async def reconcile(self) -> jobs.Reconciled:
        """At start-up and scheduled: re-check every active tree under the current configuration."""
        return await self._write(lambda step: jobs.reconcile(step))

    async def languages(self) -> list[str]:
        return await self._read(lambda step: step.repo.languages(self.community))

    async def community_languages(self) -> list[tuple[int, str]]:
        """(community, language) of every pool holding trees: what the per-language jobs go over."""
        return await self._read(lambda step: step.repo.community_languages())

    # ================================================================== moderators

    async def clear_flags(self, message_id: str, actor_id: int | None, reason: str = "") -> int:
        """A moderator withdraws every red flag on a message (it was fine); returns how many there were.
        Those who flagged it may flag it again."""
        return await self._write(lambda step: moderation.clear_flags(step, message_id, actor_id, reason))

    async def halt_tree(self, tree_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        return await self._write(lambda step: moderation.halt(step, tree_id, actor_id, reason))

    async def resume_tree(self, tree_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Return a halted tree to the state it was halted from (decisions #20), then re-run its checks."""
        return await self._write(lambda step: moderation.resume(step, tree_id, actor_id, reason))

    async def delete_message(self, message_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Soft-delete a message with its subtree; deleting a prompt halts its tree."""
        return await self._write(lambda step: moderation.delete(step, message_id, actor_id, reason))

    async def restore_message(self, message_id: str, actor_id: int | None, reason: str = "") -> TreeState:
        """Undo a deletion: the message and its subtree; a restored prompt resumes its tree."""
        return await self._write(lambda step: moderation.restore(step, message_id, actor_id, reason))

    async def ban_user(self, user_id: int, actor_id: int | None, reason: str = "") -> None:
        """No more tasks for this user; their open tasks are withdrawn and waiting prompts halted."""
        await self._write(lambda step: moderation.ban(step, user_id, actor_id, reason))

    async def unban_user(self, user_id: int, actor_id: int | None, reason: str = "") -> None:
        await self._write(lambda step: moderation.unban(step, user_id, actor_id, reason))

    async def is_banned(self, user_id: int) -> bool:
        """Banned everywhere, or (scoped) in this community."""

        async def work(step: Step) -> bool:
            user = await step.user(user_id)
            if not user.enabled or user.deleted:
                return True
            return self.community is not None and await step.repo.banned_in(self.community, user_id)

        return await self._read(work)

    async def purge_user(
        self, user_id: int, actor_id: int | None, *, ban: bool = False, reason: str = "", erase: bool = False
    ) -> int:
        """Remove a user's contributions (decisions #10); with `erase`, their texts leave the database too.
        Returns the number of messages removed."""

        return await self._write(
            lambda step: moderation.purge(step, user_id, actor_id, ban=ban, reason=reason, erase=erase)
        )

    # ================================================================== lookups

    async def tree_status(self, tree_id: str) -> TreeStatus:
        async def work(step: Step) -> TreeStatus:
            tree = await step.tree(tree_id)
            return TreeStatus(tree.id, tree.state, tree.active, tree.lang)

        return await self._read(work)

    async def message(self, message_id: str) -> MessageRow:
        return await self._read(lambda step: step.message(message_id))

    # === history and notifications

    async def member_history(
        self,
        user_id: int,
        kind: history.HistoryKind | str = history.HistoryKind.ALL,
        page: int = 0,
        *,
        per_page: int = history.PER_PAGE,
        include_deleted: bool = False,
    ) -> history.HistoryPage:
        """A member's prompts and replies in this community, newest first, each with its review result, its tree's
        state and its rank; with the reviews and rankings they gave. Deleted messages only on request."""

        return await self._read(
            lambda step: history.page(step, user_id, history.HistoryKind(kind), page, per_page, include_deleted)
        )

    async def notifications_enabled(self, user_id: int) -> bool:
        return await self._read(lambda step: notifications.enabled(step, user_id))

    async def set_notifications(self, user_id: int, on: bool) -> None:
        """Opt in to (or out of) being told by DM what became of one's work; off drops what still waits."""
        await self._write(lambda step: notifications.set_enabled(step, user_id, on))

    async def notifications_due(
        self, interval_seconds: float, *, members: int, per_member: int
    ) -> list[notifications.Digest]:
        """Members to tell now: waiting notifications, and no notification DM for at least the interval."""
        return await self._read(lambda step: notifications.due(step, interval_seconds, members, per_member))

    async def notifications_told(self, user_id: int, upto: int | None) -> int:
        """The member's waiting notifications up to id `upto` are handled (None: none); their last DM is now."""
        return await self._write(lambda step: notifications.told(step, user_id, upto))

    async def notifications_of(self, user_id: int) -> list[dict[str, Any]]:
        """Every notification recorded for the member (a privacy export)."""
        return await self._read(lambda step: notifications.of_member(step, user_id))

    async def forget_notifications(self, user_id: int) -> int:
        """Delete every notification recorded for the member."""
        return await self._write(lambda step: notifications.forget(step, user_id))

    # === privacy and consent

    async def consent(self, user_id: int) -> privacy.ConsentState:
        """Whether the member agreed to how contributions are used, and when."""

        async def work(step: Step) -> privacy.ConsentState:
            return privacy.consent_of(step, await step.user(user_id))

        return await self._read(work)

    async def give_consent(self, user_id: int) -> privacy.ConsentState:
        """The member agrees; agreeing again changes nothing."""
        return await self._write(lambda step: privacy.give_consent(step, user_id))

    async def withdraw_consent(self, user_id: int) -> privacy.ConsentState:
        """No new contributions: open tasks withdrawn, drafts deleted; what was given stays."""
        return await self._write(lambda step: privacy.withdraw_consent(step, user_id))

    async def remove_name(self, user_id: int) -> int:
        """The member's contributions stay in the dataset with no link to them; returns the messages moved.
        AlreadyDone when done before with nothing new since."""
        return await self._write(lambda step: privacy.remove_name(step, user_id))

    async def texts_deletion_preview(self, user_id: int) -> privacy.TextsDeletion:
        """What `delete_texts` would do now: texts erased, trees withdrawn, others' conversations among them."""
        return await self._read(lambda step: privacy.texts_deletion_preview(step, user_id))

    async def delete_texts(self, user_id: int) -> privacy.TextsDeletion:
        """Erase the member's texts; trees where others' work hangs under them leave the exports instead of being
        deleted. AlreadyDone when done before with nothing new since."""
        return await self._write(lambda step: privacy.delete_texts(step, user_id))

    async def own_messages(self, user_id: int) -> list[privacy.OwnMessage]:
        """The member's messages (deleted ones too) with their tree's state, for their data export."""
        return await self._read(lambda step: privacy.own_messages(step, user_id))


__all__ = ["MONTH", "STREAK_GRACE", "Engine", "TreeStatus"]


def _task_type(task_type: TaskType | str | None) -> TaskType | None:
    """A task type asked for by name (None: a random one); unknown names are refused."""
    if task_type is None:
        return None
    try:
        return TaskType(task_type)
    except ValueError:
        raise errors.UnknownTaskType(f"“{task_type}” is not a task type.") from None
