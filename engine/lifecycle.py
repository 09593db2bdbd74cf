"""The tree life cycle, each rule written once: the state machine and the checks that move a tree on,
scoring, the prompt lottery, the backlog, auto-moderation, and deleting a subtree.

Every function runs inside the caller's `Step` (one transaction); none opens its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from engine import notifications, policy
from engine.events import MessagesDeleted, TreeStateChanged
from engine.records import MessageRow, TreeRow
from engine.step import Step
from engine.types import RANKING_TYPES, TRULY_TERMINAL_STATES, Emoji, TaskType, TreeState, is_active_state

log = logging.getLogger("engine.engine")

MONTH = 30 * 24 * 3600.0

# Which pending tasks a tree in a given state can still accept; the others are withdrawn on entry.
TASKS_ALLOWED_IN = {
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


# ---------------------------------------------------------------------- the state machine


async def enter_state(step: Step, tree: TreeRow, state: TreeState) -> TreeRow:
    """Every state change goes through here: active flag, lottery stamp, halted_from, backlog dice,
    and withdrawal of pending tasks the new state cannot take."""
    repo = step.repo
    now = step.now()
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
    allowed = TASKS_ALLOWED_IN.get(state, frozenset())
    await repo.cancel_pending_tasks(now, tree_id=tree.id, types=[t.value for t in TaskType if t not in allowed])
    log.debug("tree %s: %s -> %s", tree.id, tree.state, state)
    if tree.state != state:
        step.emit(TreeStateChanged(tree.id, tree.state, state))
    if state in TRULY_TERMINAL_STATES and was_active:
        await maybe_activate_backlog(step, tree.community_id, tree.lang, exclude=tree.id)
    new = await repo.tree(tree.id)
    assert new is not None
    return new


async def state_of(step: Step, tree_id: str) -> TreeState:
    return (await step.tree(tree_id)).state


async def sets_to_rank(step: Step, tree_id: str) -> tuple[dict[str, list[str]], bool]:
    """The tree's rankable sibling sets (parent id -> child ids) and whether any still lacks rankings."""
    parents = await step.repo.rankable_parents(tree_id, step.ranked_roles)
    counts = await step.repo.ranking_counts(list(parents))
    return parents, policy.lacks_rankings(counts, step.cfg)


async def judge(step: Step, message: MessageRow, tree: TreeRow, review_count: int) -> bool | None:
    """Give a message its verdict once it has the required reviews (final, decisions #14); a prompt's
    verdict moves its tree to the lottery or aborts it. Returns the verdict given, None if none was due."""
    cfg, repo = step.cfg, step.repo
    is_root = message.parent_id is None
    required = cfg.num_reviews_initial_prompt if is_root else cfg.num_reviews_reply
    if message.review_result is not None or review_count < required:
        return None
    threshold = cfg.acceptance_threshold_initial_prompt if is_root else cfg.acceptance_threshold_reply
    verdict = policy.review_verdict(await repo.reviews(message.id), required, threshold)
    await repo.set_review_result(message.id, verdict)
    if is_root:
        await notifications.prompt_judged(step, message, verdict)  # told by DM if the author opted in
        if verdict:
            await enter_state(step, tree, TreeState.PROMPT_LOTTERY_WAITING)
        else:
            await enter_state(step, tree, TreeState.ABORTED_LOW_GRADE)
    return verdict


async def check_lottery_state(step: Step, tree_id: str) -> bool:
    repo = step.repo
    tree = await repo.tree(tree_id)
    if tree is None or not tree.active or tree.state != TreeState.INITIAL_PROMPT_REVIEW:
        return False
    root = await repo.message(tree.id)
    if root is None or root.review_result is not True or root.deleted:
        return False
    await enter_state(step, tree, TreeState.PROMPT_LOTTERY_WAITING)
    return True


async def check_ranking_state(step: Step, tree_id: str) -> bool:
    """growing → ranking once enough messages are accepted and none waits for review (reference §4.8.2)."""
    repo = step.repo
    tree = await repo.tree(tree_id)
    if tree is None or not tree.active or tree.state != TreeState.GROWING:
        return False
    accepted, awaiting = await repo.tree_size(tree.id)
    if accepted == 0:
        await enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)
        return False
    if accepted < tree.goal_tree_size or awaiting > 0:
        return False
    await enter_state(step, tree, TreeState.RANKING)
    await check_scoring_state(step, tree.id)  # decisions #7: a tree with nothing to rank completes now
    return True


async def check_scoring_state(step: Step, tree_id: str) -> bool:
    """ranking → ready_for_scoring → ready_for_export when every rankable parent has enough rankings."""
    tree = await step.repo.tree(tree_id)
    if tree is None:
        return False
    if tree.state == TreeState.SCORING_FAILED:
        pass
    elif not tree.active or tree.state not in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
        return False
    parents, lacking = await sets_to_rank(step, tree.id)
    if lacking:
        return False
    if tree.state != TreeState.READY_FOR_SCORING:
        tree = await enter_state(step, tree, TreeState.READY_FOR_SCORING)
    return await score_tree(step, tree, parents)


async def score_tree(step: Step, tree: TreeRow, parents: Mapping[str, list[str]]) -> bool:
    """Write every parent's consensus ranks in one step: all of them or none (decisions #7, #8)."""
    repo = step.repo
    before = await notifications.ranks_before_scoring(step, tree)
    await repo.savepoint("scoring")
    try:
        for parent_id, children in parents.items():
            await rank_siblings(step, parent_id, children)
    except Exception:
        log.exception("scoring tree %s failed; it waits for the retry job", tree.id)
        await repo.rollback_to("scoring")
        await enter_state(step, tree, TreeState.SCORING_FAILED)
        return False
    await repo.release("scoring")
    await notifications.tree_scored(step, tree, before)  # top ranks and a finished tree, told by DM if opted in
    await enter_state(step, tree, TreeState.READY_FOR_EXPORT)
    return True


async def rank_siblings(step: Step, parent_id: str, children: Sequence[str]) -> int:
    """Consensus of the ballots on their common ids (reference §4.8.5); returns the rows changed, 0 if none."""
    repo = step.repo
    ballots = [b for b in await repo.ballots(parent_id) if b]
    if not ballots:
        return await repo.set_ranks(parent_id, {})
    common = set(children)
    for b in ballots:
        common &= set(b)
    if len(common) < 2:
        return 0
    reduced = [[i for i in b if i in common] for b in ballots]
    consensus = step.ranker(reduced)
    return await repo.set_ranks(parent_id, {mid: pos for pos, mid in enumerate(consensus)})


async def recheck(step: Step, tree: TreeRow) -> None:
    """After the tree's messages changed under it, re-run the check for its state."""
    if tree.state == TreeState.GROWING:
        await check_ranking_state(step, tree.id)
    elif tree.state in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
        await check_scoring_state(step, tree.id)
    elif tree.state == TreeState.READY_FOR_EXPORT:
        await rescore_exported(step, tree)


async def rescore_exported(step: Step, tree: TreeRow) -> None:
    """An exported tree whose sibling sets changed under it goes back to ranking if a set now lacks
    rankings; otherwise its ranks are recomputed from the ballots it has."""
    parents, lacking = await sets_to_rank(step, tree.id)
    if lacking:
        await step.repo.clear_ranks(tree.id)
        await enter_state(step, tree, TreeState.RANKING)
    else:
        await score_tree(step, tree, parents)


async def rescore_after_purge(step: Step, tree_id: str) -> None:
    tree = await step.tree(tree_id)
    state = tree.state
    if state in (TreeState.READY_FOR_EXPORT, TreeState.SCORING_FAILED, TreeState.READY_FOR_SCORING):
        parents, lacking = await sets_to_rank(step, tree_id)
        if lacking:
            await step.repo.clear_ranks(tree_id)
            await enter_state(step, tree, TreeState.RANKING)
        else:
            tree = await enter_state(step, tree, TreeState.READY_FOR_SCORING)
            await score_tree(step, tree, parents)
    else:
        await recheck(step, tree)


async def resume(step: Step, tree: TreeRow) -> TreeState:
    """Return a halted tree to the state it was halted from (decisions #20), then re-run its checks."""
    target = tree.halted_from or TreeState.GROWING
    tree = await enter_state(step, tree, target)
    if target is TreeState.INITIAL_PROMPT_REVIEW:
        await check_lottery_state(step, tree.id)
    elif target is TreeState.GROWING:
        await check_ranking_state(step, tree.id)
    elif target in (TreeState.RANKING, TreeState.READY_FOR_SCORING):
        await check_scoring_state(step, tree.id)
    elif target is TreeState.READY_FOR_EXPORT:
        await rescore_exported(step, tree)  # a purge or restore while halted may have changed its sets
    return await state_of(step, tree.id)


async def delete_subtree(step: Step, message: MessageRow) -> list[str]:
    repo = step.repo
    ids = await repo.subtree_ids(message.id)
    await repo.set_deleted(ids, True)
    now = step.now()
    await repo.cancel_pending_tasks(now, target_ids=ids)
    if message.parent_id is not None:  # the answers to rank under its parent changed
        await repo.cancel_pending_tasks(now, target_ids=[message.parent_id], types=[t.value for t in RANKING_TYPES])
    step.emit(MessagesDeleted(message.tree_id, tuple(ids)))
    return ids


# ---------------------------------------------------------------------- lottery and backlog


async def prompt_lottery(step: Step, community: int, lang: str, max_activate: int | None) -> int:
    """Promote waiting prompts to growing until the community's language has max_active_trees growing;
    returns how many. Each community draws from its own waiting prompts."""
    # init_prompt_disabled_langs stops new prompts only; those already waiting still grow (decisions #5)
    repo, cfg = step.repo, step.cfg
    activated = 0
    while max_activate is None or activated < max_activate:
        growing = await repo.count_trees(community, lang, TreeState.GROWING, active_only=True)
        if growing >= cfg.max_active_trees:
            break
        authors = await repo.lottery_candidates(community, lang, step.now() - MONTH)
        if not authors:
            break
        author = policy.pick_lottery_author(authors, step.rng)
        prompts = await repo.waiting_prompts_of(community, lang, author)
        tree = await repo.tree(prompts[int(step.rng.integers(len(prompts)))])
        assert tree is not None
        await enter_state(step, tree, TreeState.GROWING)
        activated += 1
    return activated


async def maybe_activate_backlog(step: Step, community: int, lang: str, exclude: str) -> None:
    cfg = step.cfg
    roll = step.rng.random() < cfg.p_activate_backlog_tree
    if not roll and cfg.min_active_rankings_per_lang > 0:
        roll = await incomplete_ranking_count(step, community, lang) < cfg.min_active_rankings_per_lang
    if roll:
        await activate_backlog_tree(step, community, lang)


async def incomplete_ranking_count(step: Step, community: int, lang: str) -> int:
    rows = await step.repo.handout.ranking_parents(community, lang, -1, step.ranked_roles, step.now())
    return sum(1 for r in rows if policy.lacks_rankings({r["id"]: r["rankings"]}, step.cfg))


async def activate_backlog_tree(step: Step, community: int, lang: str) -> str | None:
    repo = step.repo
    tried: list[str] = []
    while (tree_id := await repo.backlog_tree(community, lang, tried)) is not None:
        tried.append(tree_id)
        tree = await repo.tree(tree_id)
        assert tree is not None
        if not await repo.rankable_parents(tree_id, step.ranked_roles):
            await enter_state(step, tree, TreeState.ABORTED_LOW_GRADE)
            continue
        await enter_state(step, tree, TreeState.RANKING)
        await check_scoring_state(step, tree_id)
        return tree_id
    return None


# ---------------------------------------------------------------------- auto-moderation


async def moderate_message(step: Step, message_id: str) -> None:
    """Auto-moderation for one message (reference §4.4, thresholds inclusive)."""
    repo, cfg = step.repo, step.cfg
    if not cfg.auto_mod_enabled:
        return
    message = await repo.message(message_id)
    if message is None or message.deleted or (message.review_result is False and message.parent_id is not None):
        return
    tree = await repo.tree(message.tree_id)
    if tree is None or not tree.active or tree.state not in (TreeState.INITIAL_PROMPT_REVIEW, TreeState.GROWING):
        return
    now = step.now()
    if message.emojis.get(Emoji.RED_FLAG.value, 0) >= cfg.auto_mod_red_flags:
        if message.parent_id is None:
            await repo.log(now, None, "auto_abort", tree.id, "red flags on the prompt", community=tree.community_id)
            tree = await enter_state(step, tree, TreeState.ABORTED_LOW_GRADE)
        else:
            await repo.log(now, None, "auto_delete", message.id, "red flags", community=tree.community_id)
            await delete_subtree(step, message)
            await check_ranking_state(step, tree.id)
            tree = await repo.tree(tree.id)
    if (
        tree is not None
        and tree.active
        and message.emojis.get(Emoji.SKIP_REPLY.value, 0) >= cfg.auto_mod_max_skip_reply
    ):
        await repo.log(now, None, "auto_halt", tree.id, "skipped too often", community=tree.community_id)
        await enter_state(step, tree, TreeState.HALTED_BY_MODERATOR)
