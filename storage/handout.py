"""The hand-out read model: everything one hand-out decides on, in one statement.

Every part starts from the `trees` rows of one language and state, so a request's cost follows
the active trees, not the history (`tests/storage/test_query_plans.py` fails on a full scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.types import Role
from storage.sql import LABEL_TYPES, LIVE, RANK_TYPES, REPLY_TYPES, Conn, Queries, words

if TYPE_CHECKING:
    from storage.active import ActiveSet


def _reviewable(required: str) -> str:
    """Message m still wants reviews (counting review slots held by live tasks) and :user may give one."""
    return f"""m.review_count + (SELECT count(*) FROM tasks k WHERE k.target_id = m.id
                        AND k.status = 'pending' AND k.type IN {LABEL_TYPES} AND {LIVE}) < {required}
                  AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = m.id
                        AND k.type IN {LABEL_TYPES} AND k.status IN ('pending', 'done', 'skipped'))
                  AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.user_id = :user AND l.message_id = m.id
                        AND l.task_id IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = m.id
                        AND e.user_id = :user AND e.emoji = '_skip_labeling')"""


# One hand-out's view of a language, as tagged rows (kind, id, tree_id, role, depth, a, b, c):
#   user      a enabled, b deleted, c open tasks: created since :pending_since, or holding a slot lease
#   pipeline  a active growing trees, b active trees in initial review, c trees waiting in the lottery
#   prompt    an initial prompt this user may review
#   review    a reply in a growing tree this user may review
#   size      a growing tree: a its goal size, b its size (live messages plus reply slots held by live tasks)
#   parent    a message that could take a reply from this user: a max children, b live children plus held slots
#   rank      a parent this user may rank: a done rankings plus ranking slots held by live tasks
# Every part starts from the `trees` rows of one language and state, so its cost follows the active trees.
# The rows come unordered; hand_out_snapshot sorts each kind by id, so a seed picks the same task on the same data.
USER_SQL = f"""
SELECT 'user', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS INTEGER),
       CASE WHEN u.enabled = 1 AND NOT EXISTS (SELECT 1 FROM community_bans b WHERE b.community_id = :community
                                 AND b.user_id = u.id) THEN 1 ELSE 0 END, u.deleted,
       (SELECT count(*) FROM tasks k WHERE k.user_id = u.id AND k.status = 'pending'
            AND (k.created_at >= :pending_since OR (k.target_id IS NOT NULL AND {LIVE})))
  FROM users u WHERE u.id = :user"""
HAND_OUT_SQL = (
    USER_SQL
    + f"""
UNION ALL
SELECT 'pipeline', NULL, NULL, NULL, NULL, coalesce(sum(state = 'growing' AND active = 1), 0),
       coalesce(sum(state = 'initial_prompt_review' AND active = 1), 0),
       coalesce(sum(state = 'prompt_lottery_waiting'), 0)
  FROM trees WHERE community_id = :community AND lang = :lang
   AND state IN ('growing', 'initial_prompt_review', 'prompt_lottery_waiting')
UNION ALL
SELECT 'prompt', m.id, m.tree_id, m.role, NULL, NULL, NULL, NULL FROM trees t JOIN messages m ON m.id = t.id
 WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'initial_prompt_review' AND t.active = 1
   AND m.deleted = 0 AND m.review_result IS NULL AND m.user_id != :user
   AND {_reviewable(":prompt_reviews")}
UNION ALL
SELECT 'review', m.id, m.tree_id, m.role, NULL, NULL, NULL, NULL FROM trees t JOIN messages m ON m.tree_id = t.id
 WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'growing' AND t.active = 1
   AND m.parent_id IS NOT NULL AND m.deleted = 0 AND m.review_result IS NULL AND m.user_id != :user
   AND {_reviewable(":reply_reviews")}
UNION ALL
SELECT 'size', t.id, t.id, NULL, NULL, t.goal_tree_size,
       (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.deleted = 0 AND m.review_result IS NOT 0)
     + (SELECT count(*) FROM tasks k WHERE k.tree_id = t.id AND k.status = 'pending'
            AND k.type IN {REPLY_TYPES} AND {LIVE}), NULL
  FROM trees t WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'growing' AND t.active = 1
UNION ALL
SELECT 'parent', p.id, p.tree_id, p.role, p.depth, t.max_children_count,
       (SELECT count(*) FROM messages c WHERE c.parent_id = p.id AND c.deleted = 0 AND c.review_result IS NOT 0)
     + (SELECT count(*) FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
            AND k.type IN {REPLY_TYPES} AND {LIVE}), NULL
  FROM trees t JOIN messages p ON p.tree_id = t.id
 WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'growing' AND t.active = 1
   AND p.deleted = 0 AND p.review_result = 1 AND p.depth < t.max_depth
   AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
        AND k.type IN {REPLY_TYPES} AND k.created_at >= :recent AND {LIVE})
   AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = p.id
        AND k.type IN {REPLY_TYPES} AND k.status = 'pending' AND {LIVE})
   AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = p.id AND c.user_id = :user
        AND c.deleted = 0 AND c.review_result IS NOT 0)
   AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = p.id
        AND e.user_id = :user AND e.emoji = '_skip_reply')
UNION ALL
SELECT 'rank', p.id, p.tree_id, p.role, NULL,
       (SELECT count(*) FROM rankings r WHERE r.parent_id = p.id)
     + (SELECT count(*) FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
            AND k.type IN {RANK_TYPES} AND {LIVE}), NULL, NULL
  FROM (SELECT c.parent_id AS pid FROM trees t JOIN messages c ON c.tree_id = t.id
         WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'ranking' AND t.active = 1
           AND c.deleted = 0 AND c.review_result = 1 AND c.role IN :ranked_roles
         GROUP BY c.parent_id HAVING count(*) > 1 AND sum(c.user_id = :user) = 0) sibling_sets
  JOIN messages p ON p.id = sibling_sets.pid
 WHERE p.deleted = 0
   AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.user_id = :user AND r.parent_id = p.id)
   AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = p.id
        AND k.type IN {RANK_TYPES} AND k.status IN ('pending', 'skipped'))
   AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = p.id
        AND e.user_id = :user AND e.emoji = '_skip_ranking')"""
)


_ROLE = {r.value: r for r in Role}  # a dict lookup: Role(value) costs ten times more, a hundred times a hand-out


class ParentSlot(NamedTuple):
    """A message that could take a reply: its reply limit and its live children plus held reply slots."""

    id: str
    tree_id: str
    role: Role
    depth: int
    max_children_count: int
    children: int


class RankSlot(NamedTuple):
    """A sibling set this member may rank: its parent and the rankings done plus ranking slots held."""

    id: str
    tree_id: str
    role: Role
    rankings: int


@dataclass
class HandOutSnapshot:
    user_found: bool = False
    user_enabled: bool = False
    user_deleted: bool = False
    pending: int = 0
    pipeline: tuple[int, int, int] = (0, 0, 0)
    prompts_to_review: list[str] = field(default_factory=list)
    replies_to_review: list[tuple[str, Role, str]] = field(default_factory=list)  # (message id, role, tree id)
    tree_sizes: list[tuple[str, int, int]] = field(default_factory=list)  # (tree id, goal, size)
    reply_parents: list[ParentSlot] = field(default_factory=list)
    rankings: list[RankSlot] = field(default_factory=list)


class HandOutQueries(Queries):
    def __init__(self, conn: Conn, active: ActiveSet | None = None) -> None:
        super().__init__(conn)
        self.active = active  # the in-memory model, on the database thread's own connection only (`Database.run`)

    async def snapshot(
        self,
        community: int,
        lang: str,
        user_id: int,
        *,
        now: float,
        pending_since: float,
        recent_since: float,
        prompt_reviews: int,
        reply_reviews: int,
        ranked_roles: Sequence[str],
    ) -> HandOutSnapshot:
        """Everything a hand-out decides on, for one user and language: in one statement, or from the in-memory
        model of the active set and one statement for the member's own row when the model is there."""
        if self.active is not None:
            return await self._modelled(
                self.active,
                community,
                lang,
                user_id,
                now=now,
                pending_since=pending_since,
                recent_since=recent_since,
                prompt_reviews=prompt_reviews,
                reply_reviews=reply_reviews,
                ranked_roles=ranked_roles,
            )
        rows = await self._all(
            HAND_OUT_SQL.replace(":ranked_roles", words(ranked_roles)),
            {
                "community": community,
                "lang": lang,
                "user": user_id,
                "now": now,
                "pending_since": pending_since,
                "recent": recent_since,
                "prompt_reviews": prompt_reviews,
                "reply_reviews": reply_reviews,
            },
        )
        snap = HandOutSnapshot()
        for kind, id_, tree_id, role, depth, a, b, c in rows:
            if kind == "user":
                snap.user_found, snap.user_enabled, snap.user_deleted, snap.pending = True, bool(a), bool(b), int(c)
            elif kind == "pipeline":
                snap.pipeline = (int(a), int(b), int(c))
            elif kind == "prompt":
                snap.prompts_to_review.append(id_)
            elif kind == "review":
                snap.replies_to_review.append((id_, _ROLE[role], tree_id))
            elif kind == "size":
                snap.tree_sizes.append((tree_id, int(a), int(b)))
            elif kind == "parent":
                snap.reply_parents.append(ParentSlot(id_, tree_id, _ROLE[role], int(depth), int(a), int(b)))
            else:
                snap.rankings.append(RankSlot(id_, tree_id, _ROLE[role], int(a)))
        # Sorted here rather than in SQL, where ORDER BY over the compound costs more than these sorts.
        snap.prompts_to_review.sort()
        snap.replies_to_review.sort()
        snap.tree_sizes.sort()
        snap.reply_parents.sort(key=attrgetter("id"))
        snap.rankings.sort(key=attrgetter("id"))
        return snap

    async def _modelled(
        self,
        active: ActiveSet,
        community: int,
        lang: str,
        user_id: int,
        *,
        now: float,
        pending_since: float,
        recent_since: float,
        prompt_reviews: int,
        reply_reviews: int,
        ranked_roles: Sequence[str],
    ) -> HandOutSnapshot:
        snap = await active.snapshot(
            self,
            community,
            lang,
            user_id=user_id,
            now=now,
            recent_since=recent_since,
            prompt_reviews=prompt_reviews,
            reply_reviews=reply_reviews,
            ranked_roles=ranked_roles,
        )
        row = await self._one(
            USER_SQL, {"community": community, "user": user_id, "now": now, "pending_since": pending_since}
        )
        if row is not None:
            snap.user_found, snap.user_enabled, snap.user_deleted, snap.pending = (
                True,
                bool(row[5]),
                bool(row[6]),
                int(row[7]),
            )
        return snap

    async def ranking_parents(
        self, community: int, lang: str, user_id: int, roles: Sequence[str], now: float
    ) -> list[dict[str, Any]]:
        """Parents in active ranking trees with more than one accepted child of the given roles, that this
        user may rank, with their done rankings and the ranking slots held by live tasks."""
        rows = await self._all(
            f"""SELECT p.id, p.tree_id, p.role, count(*) AS n_children, sum(c.user_id = :user) AS own,
                   (SELECT count(*) FROM rankings r WHERE r.parent_id = p.id)
                 + (SELECT count(*) FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
                        AND k.type IN {RANK_TYPES} AND {LIVE}) AS rankings
                FROM trees t JOIN messages c ON c.tree_id = t.id JOIN messages p ON p.id = c.parent_id
                WHERE t.community_id = :community AND t.lang = :lang AND t.state = 'ranking' AND t.active = 1
                  AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {words(roles)} AND p.deleted = 0
                  AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.user_id = :user AND r.parent_id = p.id)
                  AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = p.id
                        AND k.type IN {RANK_TYPES} AND k.status IN ('pending', 'skipped'))
                  AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = p.id
                        AND e.user_id = :user AND e.emoji = '_skip_ranking')
                GROUP BY p.id HAVING count(*) > 1
                ORDER BY p.id""",
            {"community": community, "lang": lang, "user": user_id, "now": now},
        )
        return [dict(r) for r in rows]
