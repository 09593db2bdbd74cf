"""The scheduled passes (decisions #27): auto-moderation, expiry, scoring retry, streaks, backlog,
and halting prompts of banned authors. Each runs inside the caller's `Step`."""

from __future__ import annotations

from engine import lifecycle
from engine.step import Step
from engine.types import TreeState

STREAK_GRACE = 36 * 3600.0  # a streak survives this long without activity


async def auto_moderation(step: Step, lang: str) -> int:
    """Act on messages that reached the red-flag or skip thresholds; returns how many."""
    cfg = step.cfg
    if not cfg.auto_mod_enabled:
        return 0
    suspects = await step.repo.moderation_suspects(lang, cfg.auto_mod_red_flags, cfg.auto_mod_max_skip_reply)
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
    if await lifecycle.incomplete_ranking_count(step, lang) >= wanted:
        return None
    return await lifecycle.activate_backlog_tree(step, lang)


async def halt_prompts_of_disabled_users(step: Step) -> int:
    """Waiting prompts of banned or deleted authors leave the lottery."""
    ids = await step.repo.waiting_trees_of_disabled_authors()
    for tree_id in ids:
        await lifecycle.enter_state(step, await step.tree(tree_id), TreeState.HALTED_BY_MODERATOR)
    return len(ids)
