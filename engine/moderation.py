"""Moderation: reactions and reports from members; flags, halt/resume, delete/restore, ban and purge from
moderators. Every moderator action is logged with who did it and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import errors, lifecycle, policy
from engine.events import MemberPurged, MessagesRestored
from engine.records import TreeRow
from engine.step import Step
from engine.types import Emoji, EmojiOp, Role, TreeState

# ---------------------------------------------------------------------- reactions and reports


async def react(step: Step, user_id: int, message_id: str, emoji: Emoji, op: EmojiOp) -> dict[str, int]:
    repo, now = step.repo, step.now()
    message, community = await step.message_in_community(message_id)
    user = await step.enabled_user(user_id, community=community)
    has = emoji.value in await repo.user_emojis(message.id, user_id)
    if op is EmojiOp.TOGGLE:
        op = EmojiOp.REMOVE if has else EmojiOp.ADD
    if op is EmojiOp.ADD and not has:
        step.check_consent(user)  # a reaction is data too (taking one back never needs consent)
        await add_emoji(step, message.id, user_id, emoji, now)
        if emoji in (Emoji.RED_FLAG, Emoji.SKIP_REPLY):
            await lifecycle.moderate_message(step, message.id)
    elif op is EmojiOp.REMOVE and has:
        await remove_emoji(step, message.id, user_id, emoji)
    return await repo.emoji_counts(message.id)


async def add_emoji(step: Step, message_id: str, user_id: int, emoji: Emoji, now: float) -> None:
    repo = step.repo
    if emoji in (Emoji.THUMBS_UP, Emoji.THUMBS_DOWN):
        other = Emoji.THUMBS_DOWN if emoji is Emoji.THUMBS_UP else Emoji.THUMBS_UP
        if other.value in await repo.user_emojis(message_id, user_id):
            await remove_emoji(step, message_id, user_id, other)
        message = await repo.message(message_id)
        if message is not None and message.user_id == user_id:
            return  # no voting on one's own message
    if emoji is Emoji.RED_FLAG:
        await repo.flag_message(message_id, now)
    if await repo.insert_emoji(message_id, user_id, emoji.value, now):
        counts = await repo.emoji_counts(message_id)
        counts[emoji.value] = counts.get(emoji.value, 0) + 1
        await repo.set_emoji_counts(message_id, counts)


async def remove_emoji(step: Step, message_id: str, user_id: int, emoji: Emoji) -> None:
    repo = step.repo
    if await repo.delete_emoji(message_id, user_id, emoji.value):
        counts = await repo.emoji_counts(message_id)
        counts[emoji.value] = counts.get(emoji.value, 0) - 1
        await repo.set_emoji_counts(message_id, counts)


async def report(step: Step, user_id: int, message_id: str, comment: str) -> None:
    """A free report: a red flag plus a report label row with the reporter's comment."""
    repo, now = step.repo, step.now()
    message, community = await step.message_in_community(message_id)
    await step.enabled_user(user_id, community=community, contributing=True, text=comment or None)
    await repo.insert_label(
        label_id=step.new_id(),
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
        await add_emoji(step, message.id, user_id, Emoji.RED_FLAG, now)
        await lifecycle.moderate_message(step, message.id)


async def clear_flags(step: Step, message_id: str, actor_id: int | None, reason: str) -> int:
    repo = step.repo
    message = await step.message(message_id)
    removed = await repo.delete_emoji_of_all(message.id, Emoji.RED_FLAG.value)
    if removed:
        counts = await repo.emoji_counts(message.id)
        counts.pop(Emoji.RED_FLAG.value, None)
        await repo.set_emoji_counts(message.id, counts)
        await repo.log(step.now(), actor_id, "clear_flags", message.id, reason, community=step.community)
    return removed


# ---------------------------------------------------------------------- trees and messages


async def halt(step: Step, tree_id: str, actor_id: int | None, reason: str) -> TreeState:
    tree = await step.tree(tree_id)
    if tree.state == TreeState.HALTED_BY_MODERATOR:
        raise errors.InvalidStateChange("This tree is already halted.")
    await step.repo.log(step.now(), actor_id, "halt", tree.id, reason, community=tree.community_id)
    return (await lifecycle.enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)).state


async def resume(step: Step, tree_id: str, actor_id: int | None, reason: str) -> TreeState:
    tree = await step.tree(tree_id)
    if tree.state != TreeState.HALTED_BY_MODERATOR:
        raise errors.InvalidStateChange("Only a halted tree can be resumed.")
    if tree.withdrawn_at is not None:
        raise errors.InvalidStateChange("This conversation was withdrawn: a member deleted their texts in it.")
    root = await step.repo.message(tree.id)
    if root is not None and root.deleted:
        raise errors.InvalidStateChange("Restore the prompt before resuming its tree.")
    await step.repo.log(step.now(), actor_id, "resume", tree.id, reason, community=tree.community_id)
    return await lifecycle.resume(step, tree)


async def delete(step: Step, message_id: str, actor_id: int | None, reason: str) -> TreeState:
    message = await step.message(message_id)
    if message.deleted:
        raise errors.InvalidStateChange("This message is already deleted.")
    await step.repo.log(step.now(), actor_id, "delete", message.id, reason, community=step.community)
    await lifecycle.delete_subtree(step, message)
    tree = await step.tree(message.tree_id)
    if message.parent_id is None:
        if tree.state != TreeState.HALTED_BY_MODERATOR:
            await lifecycle.enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)
    else:
        await lifecycle.recheck(step, tree)
    return await lifecycle.state_of(step, tree.id)


async def restore(step: Step, message_id: str, actor_id: int | None, reason: str) -> TreeState:
    """Undo a deletion: the message and its subtree; a restored prompt resumes its tree. Messages whose
    author erased their data stay deleted: there is no text left to restore."""
    repo = step.repo
    message = await step.message(message_id)
    if not message.deleted:
        raise errors.InvalidStateChange("This message is not deleted.")
    if not message.text:
        raise errors.InvalidStateChange("Its author deleted their data; there is nothing to restore.")
    if message.parent_id is not None:
        parent = await repo.message(message.parent_id)
        if parent is not None and parent.deleted:
            raise errors.InvalidStateChange("Restore the message it answers first.")
    ids = await repo.subtree_ids(message.id)
    erased = {m.id for m in (await repo.messages_by_ids(ids)).values() if not m.text}
    ids = [i for i in ids if i not in erased]
    tree = await step.tree(message.tree_id)
    if await restore_overfills(step, tree, ids):
        raise errors.InvalidStateChange(
            "This conversation has grown on without that message; restoring it would overfill it."
        )
    await repo.log(step.now(), actor_id, "restore", message.id, reason, community=tree.community_id)
    await repo.set_deleted(ids, False)
    step.emit(MessagesRestored(tree.id, tuple(ids)))
    if message.parent_id is None and tree.state == TreeState.HALTED_BY_MODERATOR:
        await lifecycle.resume(step, tree)
    else:
        await lifecycle.recheck(step, tree)
    return await lifecycle.state_of(step, tree.id)


async def restore_overfills(step: Step, tree: TreeRow, ids: Sequence[str]) -> bool:
    """Would undeleting `ids` put the tree over its goal, or a message over its reply limit? The slots a
    deletion freed may have been filled since (decisions #15, #16: trees never overshoot)."""
    if tree.origin is not None:
        return False
    messages = await step.repo.messages_of_tree(tree.id)
    reserved = await step.repo.reserved_reply_targets(tree.id, step.now())
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
            limit = min(limit, step.cfg.num_prompter_replies)
        if n > limit and n > was.get(parent_id, 0):
            return True
    return False


# ---------------------------------------------------------------------- members


async def ban(step: Step, user_id: int, actor_id: int | None, reason: str) -> None:
    """No more tasks for this user in the step's community (a scoped step), or anywhere (an unscoped one: the
    owners' global ban); their open tasks there are withdrawn and their waiting prompts there halted."""
    repo, now, community = step.repo, step.now(), step.community
    await step.user(user_id)
    await repo.log(now, actor_id, "ban", str(user_id), reason, community=community)
    if community is None:
        await repo.set_user_enabled(user_id, False)
    else:
        await repo.ban_in_community(community, user_id, now, actor_id, reason)
    await repo.cancel_pending_tasks(now, user_id=user_id, community=community)
    for tree_id in await repo.waiting_trees_of_user(user_id, community):
        await lifecycle.enter_state(step, await step.tree(tree_id), TreeState.HALTED_BY_MODERATOR)


async def unban(step: Step, user_id: int, actor_id: int | None, reason: str) -> None:
    """Lift the ban of the step's community (scoped) or the global ban (unscoped)."""
    user = await step.user(user_id)
    if user.deleted:
        raise errors.InvalidStateChange("This member's data was purged; they cannot be unbanned.")
    await step.repo.log(step.now(), actor_id, "unban", str(user_id), reason, community=step.community)
    if step.community is None:
        await step.repo.set_user_enabled(user_id, True)
    else:
        await step.repo.unban_in_community(step.community, user_id)


async def purge(step: Step, user_id: int, actor_id: int | None, *, ban: bool, reason: str, erase: bool) -> int:
    """Remove a user's contributions (decisions #10): messages soft-deleted with their subtrees, emojis,
    labels and rankings removed, every affected count recomputed and every affected tree re-checked.
    With `erase` (the member's own request) their texts and drafts are blanked in the database too.
    Returns the number of messages removed."""
    repo, now, community = step.repo, step.now(), step.community
    await step.user(user_id)
    await repo.log(now, actor_id, "purge", str(user_id), reason, community=community)
    await repo.cancel_pending_tasks(now, user_id=user_id, community=community)
    affected_trees: set[str] = set()
    removed = 0
    own = await repo.messages_of_user(user_id, community)
    for message in own:
        current = await repo.message(message.id)
        if current is None or current.deleted:
            continue
        removed += len(await lifecycle.delete_subtree(step, current))
        affected_trees.add(message.tree_id)
        if message.parent_id is None:
            tree = await step.tree(message.tree_id)
            if tree.state != TreeState.HALTED_BY_MODERATOR:
                await lifecycle.enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)
    emoji_messages = sorted({m for m, _ in await repo.emojis_of_user(user_id, community)})
    await repo.delete_emojis_of_user(user_id, community)
    await repo.recount_emojis(emoji_messages)
    await repo.mark_results_purged(user_id, community)
    labelled = sorted({m for m, _ in await repo.labels_of_user(user_id, community)})
    await repo.delete_labels_of_user(user_id, community)
    await repo.recount_reviews(labelled)
    rankings = await repo.rankings_of_user(user_id, community)
    await repo.delete_rankings_of_user(user_id, community)
    await repo.recount_ranking_counts(sorted({p for p, _, _ in rankings}))
    affected_trees |= {t for _, t, _ in rankings}
    for message_id in labelled:
        labelled_message = await repo.message(message_id)
        if labelled_message is not None:
            affected_trees.add(labelled_message.tree_id)
    for tree_id in sorted(affected_trees):
        await lifecycle.rescore_after_purge(step, tree_id)
    if ban and community is None:
        await repo.set_user_deleted(user_id)
    elif ban and community is not None:
        await repo.ban_in_community(community, user_id, now, actor_id, reason)
    if erase:
        await repo.erase_texts_of_user(user_id)
    step.emit(MemberPurged(user_id, tuple(m.id for m in own), erase))
    return removed
