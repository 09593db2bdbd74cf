"""Grove's own words in the member's language: the names of tree states (moderation answers, /status, charts)."""

from __future__ import annotations

from cogs.i18n import N_, Tr
from engine.types import TreeState

STATE_NAMES = {
    # Translators: a state of a conversation tree, as moderators and /status name it (lower-case in English)
    TreeState.INITIAL_PROMPT_REVIEW: N_("initial prompt review"),
    TreeState.PROMPT_LOTTERY_WAITING: N_("prompt lottery waiting"),
    TreeState.GROWING: N_("growing"),
    TreeState.RANKING: N_("ranking"),
    TreeState.READY_FOR_SCORING: N_("ready for scoring"),
    TreeState.READY_FOR_EXPORT: N_("ready for export"),
    TreeState.SCORING_FAILED: N_("scoring failed"),
    TreeState.ABORTED_LOW_GRADE: N_("aborted low grade"),
    TreeState.HALTED_BY_MODERATOR: N_("halted by moderator"),
    TreeState.BACKLOG_RANKING: N_("backlog ranking"),
}


def state_name(tr: Tr, state: TreeState | str) -> str:
    """A tree state as a member reads it ("halted by moderator")."""
    try:
        return tr(STATE_NAMES[TreeState(state)])
    except (KeyError, ValueError):
        return str(state).replace("_", " ")
