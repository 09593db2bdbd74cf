"""The scheduled passes (decisions #27): auto-moderation, expiry, scoring retry, streaks, backlog,
and halting prompts of banned authors. Each runs inside the caller's `Step`."""

from __future__ import annotations

from dataclasses import dataclass

from engine import lifecycle
from engine.step import Step
from engine.types import TreeState

STREAK_GRACE = 36 * 3600.0  # a streak survives this long without activity


async def auto_moderation(step: Step, lang: str) -> int:
    """Act on messages that reached the red-flag or skip thresholds; returns how many."""
    cfg = step.cfg
    if not cfg.auto_mod_enabled:
        return 0
    suspects = await step.repo.moderation_suspects(step.pool, lang, cfg.auto_mod_red_flags, cfg.auto_mod_max_skip_reply)
    for message in suspects:
        await lifecycle.moderate_message(step, message.id)
    return len(suspects)


async def retry_scoring(step: Step) -> int:
    """Score trees whose scoring failed; back to ranking if their rankings are incomplete."""
    done = 0
    for tree_id in await step.repo.tree_ids_in_state(TreeState.SCORING_FAILED):
        if await lifecycle.check_scoring_state(step, tree_id):
            done += 1
            continue
        tree = await step.repo.tree(tree_id)
        if tree is not None and tree.state == TreeState.SCORING_FAILED:
            _, lacking = await lifecycle.sets_to_rank(step, tree_id)
            if lacking:
                await lifecycle.enter_state(step, tree, TreeState.RANKING)
    return done


async def activate_backlog(step: Step, lang: str) -> str | None:
    """Keep min_active_rankings_per_lang parents to rank by activating a backlog tree."""
    wanted = step.cfg.min_active_rankings_per_lang
    if wanted <= 0:
        return None
    if await lifecycle.incomplete_ranking_count(step, step.pool, lang) >= wanted:
        return None
    return await lifecycle.activate_backlog_tree(step, step.pool, lang)


async def halt_prompts_of_disabled_users(step: Step) -> int:
    """Waiting prompts of banned or deleted authors leave the lottery."""
    ids = await step.repo.waiting_trees_of_disabled_authors()
    for tree_id in ids:
        await lifecycle.enter_state(step, await step.tree(tree_id), TreeState.HALTED_BY_MODERATOR)
    return len(ids)


@dataclass(frozen=True)
class Reconciled:
    trees_checked: int
    verdicts: int
    trees_moved: int
    leases_ended: int


# Trees a changed threshold can leave waiting for a check that no submission will trigger again.
_RECHECKED = (TreeState.INITIAL_PROMPT_REVIEW, TreeState.GROWING, TreeState.RANKING, TreeState.READY_FOR_SCORING)


async def reconcile(step: Step) -> Reconciled:
    """At start-up and as a job: re-check every active tree under the current configuration (verdicts the
    review counts now reach, trees that now have their size or their rankings), and drop ended leases."""
    repo, cfg = step.repo, step.cfg
    verdicts = 0
    for message in await repo.due_verdicts(min(cfg.num_reviews_initial_prompt, cfg.num_reviews_reply)):
        tree = await step.tree(message.tree_id)
        if tree.active and tree.state in (TreeState.INITIAL_PROMPT_REVIEW, TreeState.GROWING):
            if await lifecycle.judge(step, message, tree, message.review_count) is not None:
                verdicts += 1
    checked = moved = 0
    for state in _RECHECKED:
        for tree_id in await repo.tree_ids_in_state(state):
            tree = await step.tree(tree_id)
            if not tree.active or tree.state != state:
                continue  # an earlier check moved this one (a verdict, a backlog activation)
            checked += 1
            if state == TreeState.INITIAL_PROMPT_REVIEW:
                await lifecycle.check_lottery_state(step, tree_id)
            else:
                await lifecycle.recheck(step, tree)
            if (await step.tree(tree_id)).state != state:
                moved += 1
    ended = await repo.drop_ended_leases(step.now())
    return Reconciled(checked, verdicts, moved, ended)
