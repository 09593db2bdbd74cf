"""Consent and privacy (issue 15): a member agrees before anything of theirs is stored, can withdraw (no new
contributions; what was given stays), take their name off their contributions, and delete their texts without
destroying what others wrote under them.

Consent is enforced where contributions are stored, each once: `Step.consenting` / `Step.enabled_user(...,
contributing=True)` in the hand-out, drafts, submissions, reports and reactions.

Remove my name: the member's contributions (messages, reviews, rankings, reactions, and the ended tasks behind
them) move to a fresh member row of their own that nothing leads back to (`REMOVED_AUTH`, a random username, no
name, never ranked); the dataset keeps them under that member's id.

Delete my texts: every text of the member is blanked (messages, drafts, review and report comments) and their
messages are deleted. A tree goes out of every export (`trees.withdrawn_at`) and is halted when it grew from the
member's prompt, or when another member's live message hangs below one of theirs: others' messages are never
deleted, so their counts stay. A message of theirs with nothing of others' below it is deleted the way a
moderator deletes one, and its tree goes on.

Each request acts once: repeated with nothing new to act on, it raises `AlreadyDone` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine import errors, lifecycle
from engine.events import TextsDeleted
from engine.records import MessageRow, UserRow
from engine.step import Step
from engine.types import TreeState

REMOVED_AUTH = "removed"  # users.auth_method of the rows that took over a member's contributions (remove my name)
ALREADY_NAMELESS = "Your name was already removed from your contributions; nothing changed."
ALREADY_DELETED = "Your texts were already deleted; nothing changed."


@dataclass(frozen=True)
class ConsentState:
    required: bool  # whether this Grove asks for consent at all (`EngineConfig.require_consent`)
    agreed_at: float | None  # when the member agreed (None: not yet, or withdrawn since)
    withdrawn_at: float | None  # when the member last withdrew their consent

    @property
    def agreed(self) -> bool:
        return self.agreed_at is not None

    @property
    def may_contribute(self) -> bool:
        return self.agreed or not self.required


@dataclass(frozen=True)
class TextsDeletion:
    """What deleting a member's texts does (a preview) or did."""

    messages: int  # the member's messages whose text goes
    trees: int  # trees left out of exports from now on
    others: int  # of those, conversations holding other members' work (what the warning counts)
    done_at: float | None  # when the member deleted their texts (None: never)


@dataclass(frozen=True)
class OwnMessage:
    """One of the member's messages with what became of it (for their data export)."""

    message: MessageRow
    tree_state: TreeState


# ---------------------------------------------------------------------- consent


def consent_of(step: Step, user: UserRow) -> ConsentState:
    return ConsentState(step.cfg.require_consent, user.consent_at, user.consent_withdrawn_at)


async def give_consent(step: Step, user_id: int) -> ConsentState:
    """The member agrees to how contributions are used; agreeing again changes nothing."""
    user = await step.user(user_id)
    if user.consent_at is None:
        await step.repo.privacy.set_consent(user_id, step.now())
        user = await step.user(user_id)
    return consent_of(step, user)


async def withdraw_consent(step: Step, user_id: int) -> ConsentState:
    """No new contributions from now: the member's open tasks are withdrawn (nothing stays reserved) and their
    drafts deleted. What they gave before stays."""
    repo, now = step.repo, step.now()
    user = await step.user(user_id)
    if user.consent_at is not None:
        await repo.privacy.withdraw_consent(user_id, now)
        await repo.cancel_pending_tasks(now, user_id=user_id)
        await repo.privacy.clear_drafts(user_id)
        user = await step.user(user_id)
    return consent_of(step, user)


# ---------------------------------------------------------------------- remove my name


async def remove_name(step: Step, user_id: int) -> int:
    """Move the member's contributions to a new nameless member; returns the number of messages moved."""
    repo, now = step.repo, step.now()
    user = await step.user(user_id)
    if not await repo.privacy.has_contributions(user_id):
        if user.name_removed_at is not None:
            raise errors.AlreadyDone(ALREADY_NAMELESS)
        moved = 0
    else:
        anonymous = await repo.privacy.new_anonymous_member(REMOVED_AUTH, step.new_id(), now)
        moved = await repo.privacy.move_contributions(user_id, anonymous)
    await repo.privacy.mark_name_removed(user_id, now)
    await repo.log(now, user_id, "remove_name", str(user_id), "", community=None)
    return moved


# ---------------------------------------------------------------------- delete my texts


@dataclass(frozen=True)
class _Plan:
    own: list[MessageRow]  # every message of the member
    withdraw: list[str]  # trees to leave out of exports (and halt)
    others: int  # of those, trees holding other members' live messages
    alone: list[MessageRow]  # live messages of theirs with nothing of others' below, in trees that go on (topmost)
    replies: list[str]  # others' messages answering one of theirs


async def _plan(step: Step, user_id: int) -> _Plan:
    q = step.repo.privacy
    messages = await q.tree_messages(await q.trees_of_user(user_id))
    by_tree: dict[str, list[MessageRow]] = {}
    for m in messages:  # by depth within each tree: a parent comes before its replies
        by_tree.setdefault(m.tree_id, []).append(m)
    own: list[MessageRow] = []
    withdraw: list[str] = []
    alone: list[MessageRow] = []
    replies: list[str] = []
    others = 0
    for tree_id, rows in by_tree.items():
        mine = {m.id for m in rows if m.user_id == user_id}
        below: set[str] = set()  # messages below one of the member's
        for m in rows:
            if m.parent_id in mine or m.parent_id in below:
                below.add(m.id)
        theirs = [m for m in rows if m.user_id != user_id and not m.deleted]
        own += [m for m in rows if m.id in mine]
        replies += [m.id for m in rows if m.user_id != user_id and m.parent_id in mine]
        prompt_is_mine = any(m.parent_id is None and m.id in mine for m in rows)
        if prompt_is_mine or any(m.id in below for m in theirs):
            withdraw.append(tree_id)
            others += bool(theirs)
        else:
            alone += [m for m in rows if m.id in mine and not m.deleted and m.id not in below]
    return _Plan(own, withdraw, others, alone, replies)


def _summary(plan: _Plan, done_at: float | None) -> TextsDeletion:
    return TextsDeletion(sum(bool(m.text) for m in plan.own), len(plan.withdraw), plan.others, done_at)


async def texts_deletion_preview(step: Step, user_id: int) -> TextsDeletion:
    """What `delete_texts` would do now (its warning's numbers)."""
    user = await step.user(user_id)
    return _summary(await _plan(step, user_id), user.texts_deleted_at)


async def delete_texts(step: Step, user_id: int) -> TextsDeletion:
    """Erase the member's texts; withdraw the trees where others' work hangs under them (see the module)."""
    repo, now = step.repo, step.now()
    user = await step.user(user_id)
    plan = await _plan(step, user_id)
    if user.texts_deleted_at is not None and not any(m.text for m in plan.own):
        raise errors.AlreadyDone(ALREADY_DELETED)
    done = _summary(plan, now)
    await repo.log(now, user_id, "delete_texts", str(user_id), "", community=None)
    await repo.cancel_pending_tasks(now, user_id=user_id)
    await _withdraw(step, plan.withdraw, [m for m in plan.own if not m.deleted and m.tree_id in plan.withdraw])
    for message in plan.alone:
        await lifecycle.delete_subtree(step, message)
    for tree_id in sorted({m.tree_id for m in plan.alone}):
        tree = await repo.tree(tree_id)
        if tree is not None:
            await lifecycle.recheck(step, tree)
    await repo.privacy.erase_texts(user_id)
    await repo.privacy.mark_texts_deleted(user_id, now)
    own = tuple(m.id for m in plan.own)
    step.emit(TextsDeleted(user_id, own, tuple(plan.replies), tuple(plan.withdraw)))
    return done


async def _withdraw(step: Step, tree_ids: Sequence[str], own_live: Sequence[MessageRow]) -> None:
    """Out of exports and halted, so no new work goes into them; only the member's own messages are deleted."""
    repo = step.repo
    await repo.privacy.withdraw_trees(tree_ids, step.now())
    await repo.set_deleted([m.id for m in own_live], True)
    for tree_id in tree_ids:
        tree = await repo.tree(tree_id)
        if tree is not None and tree.state != TreeState.HALTED_BY_MODERATOR:
            await lifecycle.enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)


# ---------------------------------------------------------------------- export my data


async def own_messages(step: Step, user_id: int) -> list[OwnMessage]:
    """The member's messages (deleted ones too) with their tree's state, shallowest first."""
    await step.user(user_id)
    rows = await step.repo.privacy.messages_with_tree_state(user_id)
    return [OwnMessage(message, TreeState(state)) for message, state in rows]
