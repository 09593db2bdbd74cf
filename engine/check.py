"""`grove check`: the invariants every Grove database must satisfy, whatever happened to it."""

from __future__ import annotations

from engine import policy
from engine.config import EngineConfig
from storage.store import Store


async def check_database(db: Store, cfg: EngineConfig | None = None) -> list[str]:
    """Every violation found, one line each; an empty list means the database is sound.

    `cfg` holds the thresholds the database was run with (review counts, rankings required, ranked roles); the
    defaults are assumed when it is None. Besides corruption, a violation is a stuck tree: an active tree that no
    task can move on under these thresholds.
    """
    cfg = cfg or EngineConfig()
    return await db.find_violations(
        {
            "num_reviews_reply": cfg.num_reviews_reply,
            "num_reviews_initial_prompt": cfg.num_reviews_initial_prompt,
            "num_required_rankings": cfg.num_required_rankings,
            "num_prompter_replies": cfg.num_prompter_replies,
            "ranked_roles": [str(role) for role in policy.ranked_roles(cfg)],
        }
    )
