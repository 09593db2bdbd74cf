"""Every query the engine needs, in the domain's words. Only this module (and migrations) write SQL.

The hand-out queries start from the `trees` rows of one language and state, so their cost
follows the active part of the data, not the number of finished trees.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import aiosqlite

from storage.records import (
    MessageRow,
    TaskRow,
    TreeRow,
    UserRow,
    message_from,
    task_from,
    tree_from,
    user_from,
)

REPLY_TYPES = "('prompter_reply', 'assistant_reply', 'initial_prompt')"
LABEL_TYPES = "('label_initial_prompt', 'label_prompter_reply', 'label_assistant_reply')"
RANK_TYPES = "('rank_assistant_replies', 'rank_prompter_replies')"
LIVE = "(k.expires_at IS NULL OR k.expires_at > :now)"  # a pending task that still holds its slot


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
#   user      a enabled, b deleted, c pending tasks created since :pending_since
#   pipeline  a active growing trees, b active trees in initial review, c trees waiting in the lottery
#   prompt    an initial prompt this user may review
#   review    a reply in a growing tree this user may review
#   size      a growing tree: a its goal size, b its size (live messages plus reply slots held by live tasks)
#   parent    a message that could take a reply from this user: a max children, b live children plus held slots
#   rank      a parent this user may rank: a done rankings plus ranking slots held by live tasks
# Every part starts from the `trees` rows of one language and state, so its cost follows the active trees.
# The rows come unordered; hand_out_snapshot sorts each kind by id, so a seed picks the same task on the same data.
HAND_OUT_SQL = f"""
SELECT 'user', NULL, NULL, NULL, NULL, u.enabled, u.deleted,
       (SELECT count(*) FROM tasks k WHERE k.user_id = u.id AND k.created_at >= :pending_since
            AND k.status = 'pending')
  FROM users u WHERE u.id = :user
UNION ALL
SELECT 'pipeline', NULL, NULL, NULL, NULL, coalesce(sum(state = 'growing' AND active = 1), 0),
       coalesce(sum(state = 'initial_prompt_review' AND active = 1), 0),
       coalesce(sum(state = 'prompt_lottery_waiting'), 0)
  FROM trees WHERE lang = :lang AND state IN ('growing', 'initial_prompt_review', 'prompt_lottery_waiting')
UNION ALL
SELECT 'prompt', m.id, m.tree_id, m.role, NULL, NULL, NULL, NULL FROM trees t JOIN messages m ON m.id = t.id
 WHERE t.lang = :lang AND t.state = 'initial_prompt_review' AND t.active = 1
   AND m.deleted = 0 AND m.review_result IS NULL AND m.user_id != :user
   AND {_reviewable(":prompt_reviews")}
UNION ALL
SELECT 'review', m.id, m.tree_id, m.role, NULL, NULL, NULL, NULL FROM trees t JOIN messages m ON m.tree_id = t.id
 WHERE t.lang = :lang AND t.state = 'growing' AND t.active = 1
   AND m.parent_id IS NOT NULL AND m.deleted = 0 AND m.review_result IS NULL AND m.user_id != :user
   AND {_reviewable(":reply_reviews")}
UNION ALL
SELECT 'size', t.id, t.id, NULL, NULL, t.goal_tree_size,
       (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.deleted = 0 AND m.review_result IS NOT 0)
     + (SELECT count(*) FROM tasks k WHERE k.tree_id = t.id AND k.status = 'pending'
            AND k.type IN {REPLY_TYPES} AND {LIVE}), NULL
  FROM trees t WHERE t.lang = :lang AND t.state = 'growing' AND t.active = 1
UNION ALL
SELECT 'parent', p.id, p.tree_id, p.role, p.depth, t.max_children_count,
       (SELECT count(*) FROM messages c WHERE c.parent_id = p.id AND c.deleted = 0 AND c.review_result IS NOT 0)
     + (SELECT count(*) FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
            AND k.type IN {REPLY_TYPES} AND {LIVE}), NULL
  FROM trees t JOIN messages p ON p.tree_id = t.id
 WHERE t.lang = :lang AND t.state = 'growing' AND t.active = 1
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
         WHERE t.lang = :lang AND t.state = 'ranking' AND t.active = 1
           AND c.deleted = 0 AND c.review_result = 1 AND c.role IN :ranked_roles
         GROUP BY c.parent_id HAVING count(*) > 1 AND sum(c.user_id = :user) = 0) sibling_sets
  JOIN messages p ON p.id = sibling_sets.pid
 WHERE p.deleted = 0
   AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.user_id = :user AND r.parent_id = p.id)
   AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = p.id
        AND k.type IN {RANK_TYPES} AND k.status IN ('pending', 'skipped'))
   AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = p.id
        AND e.user_id = :user AND e.emoji = '_skip_ranking')"""


@dataclass
class HandOutSnapshot:
    user_found: bool = False
    user_enabled: bool = False
    user_deleted: bool = False
    pending: int = 0
    pipeline: tuple[int, int, int] = (0, 0, 0)
    prompts_to_review: list[str] = field(default_factory=list)
    replies_to_review: list[tuple[str, str, str]] = field(default_factory=list)  # (message id, role, tree id)
    tree_sizes: list[tuple[str, int, int]] = field(default_factory=list)  # (tree id, goal, size)
    reply_parents: list[dict[str, Any]] = field(default_factory=list)
    rankings: list[dict[str, Any]] = field(default_factory=list)


def _in(values: Iterable[Any]) -> str:
    """An IN list of string literals for fixed, trusted vocabularies (roles, states, task types)."""
    vals = list(values)
    for v in vals:
        if not isinstance(v, str) or not v.replace("_", "").isalnum():
            raise ValueError(f"not a vocabulary word: {v!r}")
    return "(" + ", ".join(f"'{v}'" for v in vals) + ")"


class Repository:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._c = conn

    async def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._c.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        rows = await self._c.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        cur = await self._c.execute(sql, params)
        n = cur.rowcount
        await cur.close()
        return n

    # ------------------------------------------------------------------ savepoints

    async def savepoint(self, name: str) -> None:
        await self._run(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        await self._run(f"RELEASE {name}")

    async def rollback_to(self, name: str) -> None:
        await self._run(f"ROLLBACK TO {name}")
        await self._run(f"RELEASE {name}")

    # ------------------------------------------------------------------ users

    async def user(self, user_id: int) -> UserRow | None:
        row = await self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else user_from(row)

    async def user_by_username(self, auth_method: str, username: str) -> UserRow | None:
        row = await self._one("SELECT * FROM users WHERE auth_method = ? AND username = ?", (auth_method, username))
        return None if row is None else user_from(row)

    async def upsert_user(self, auth_method: str, username: str, display_name: str, now: float) -> UserRow:
        row = await self._one(
            """INSERT INTO users (auth_method, username, display_name, created_at, streak_last_day_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (auth_method, username) DO UPDATE SET display_name = excluded.display_name
               WHERE users.display_name != excluded.display_name
               RETURNING *""",
            (auth_method, username, display_name, now, now),
        )
        if row is None:  # existed with the same name: the upsert updated nothing and returned nothing
            found = await self.user_by_username(auth_method, username)
            assert found is not None
            return found
        return user_from(row)

    async def set_user_enabled(self, user_id: int, enabled: bool) -> None:
        await self._run("UPDATE users SET enabled = ? WHERE id = ?", (int(enabled), user_id))

    async def set_user_deleted(self, user_id: int) -> None:
        await self._run("UPDATE users SET deleted = 1, enabled = 0 WHERE id = ?", (user_id,))

    async def set_preferred_lang(self, user_id: int, lang: str | None) -> None:
        await self._run("UPDATE users SET preferred_lang = ? WHERE id = ?", (lang, user_id))

    async def set_dataset_opt_out(self, user_id: int, opt_out: bool) -> None:
        await self._run("UPDATE users SET dataset_opt_out = ? WHERE id = ?", (int(opt_out), user_id))

    async def set_show_on_leaderboard(self, user_id: int, show: bool) -> None:
        await self._run("UPDATE users SET show_on_leaderboard = ? WHERE id = ?", (int(show), user_id))

    async def record_activity(self, user_id: int, now: float, streak_start: float, streak_days: int) -> None:
        await self._run(
            "UPDATE users SET last_activity_at = ?, streak_last_day_at = ?, streak_days = ? WHERE id = ?",
            (now, streak_start, streak_days, user_id),
        )

    async def reset_streaks(self, inactive_since: float) -> int:
        return await self._run(
            """UPDATE users SET streak_days = 0, streak_last_day_at = NULL
               WHERE last_activity_at < ? AND streak_last_day_at IS NOT NULL""",
            (inactive_since,),
        )

    # ------------------------------------------------------------------ trees

    async def tree(self, tree_id: str) -> TreeRow | None:
        row = await self._one("SELECT * FROM trees WHERE id = ?", (tree_id,))
        return None if row is None else tree_from(row)

    async def insert_tree(
        self,
        tree_id: str,
        *,
        state: str,
        active: bool,
        lang: str,
        goal_tree_size: int,
        max_depth: int,
        max_children_count: int,
        now: float,
        origin: str | None = None,
        won_prompt_lottery_at: float | None = None,
    ) -> None:
        await self._run(
            """INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count,
                                  origin, won_prompt_lottery_at, created_at, state_changed_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                tree_id,
                state,
                int(active),
                lang,
                goal_tree_size,
                max_depth,
                max_children_count,
                origin,
                won_prompt_lottery_at,
                now,
                now,
            ),
        )

    async def set_tree_state(
        self, tree_id: str, state: str, active: bool, now: float, *, halted_from: str | None, stamp_lottery: bool
    ) -> None:
        await self._run(
            """UPDATE trees SET state = ?, active = ?, state_changed_at = ?, halted_from = ?,
                   won_prompt_lottery_at = CASE WHEN ? AND won_prompt_lottery_at IS NULL THEN ?
                                                ELSE won_prompt_lottery_at END
               WHERE id = ?""",
            (state, int(active), now, halted_from, int(stamp_lottery), now, tree_id),
        )

    async def tree_counts(self, lang: str | None = None) -> dict[str, int]:
        if lang is None:
            rows = await self._all("SELECT state, count(*) FROM trees GROUP BY state")
        else:
            rows = await self._all("SELECT state, count(*) FROM trees WHERE lang = ? GROUP BY state", (lang,))
        return {r[0]: r[1] for r in rows}

    async def count_trees(self, lang: str, state: str, *, active_only: bool) -> int:
        sql = "SELECT count(*) FROM trees WHERE lang = ? AND state = ?"
        if active_only:
            sql += " AND active = 1"
        return int(await self._scalar(sql, (lang, state)))

    async def tree_ids_in_state(self, state: str, lang: str | None = None) -> list[str]:
        if lang is None:
            rows = await self._all("SELECT id FROM trees WHERE state = ? ORDER BY id", (state,))
        else:
            rows = await self._all("SELECT id FROM trees WHERE state = ? AND lang = ? ORDER BY id", (state, lang))
        return [r[0] for r in rows]

    async def latest_time(self) -> float | None:
        """The newest timestamp the database holds (to continue a simulation's clock)."""
        return await self._scalar(
            """SELECT max(t) FROM (SELECT max(created_at) AS t FROM tasks UNION ALL
                                  SELECT max(ended_at) FROM tasks UNION ALL
                                  SELECT max(created_at) FROM users)"""
        )

    async def languages(self) -> list[str]:
        return [r[0] for r in await self._all("SELECT DISTINCT lang FROM trees ORDER BY lang")]

    async def lottery_candidates(self, lang: str, month_start: float) -> dict[int, int]:
        """Authors of accepted, undeleted waiting prompts in `lang` who may still take part, with the
        number of times a reply of theirs was ranked best in a ballot since `month_start`."""
        rows = await self._all(
            """SELECT DISTINCT m.user_id FROM trees t
               JOIN messages m ON m.id = t.id
               JOIN users u ON u.id = m.user_id
               WHERE t.lang = ? AND t.state = 'prompt_lottery_waiting'
                 AND m.deleted = 0 AND m.review_result = 1 AND u.enabled = 1 AND u.deleted = 0""",
            (lang,),
        )
        authors = {r[0]: 0 for r in rows}
        if not authors:
            return authors
        placeholders = ",".join("?" * len(authors))
        firsts = await self._all(
            f"""SELECT m.user_id, count(*) FROM rankings r
                JOIN messages m ON m.id = json_extract(r.ranked_ids, '$[0]')
                WHERE r.created_at >= ? AND m.user_id IN ({placeholders})
                GROUP BY m.user_id""",
            (month_start, *authors),
        )
        for user_id, n in firsts:
            authors[user_id] = n
        return authors

    async def waiting_prompts_of(self, lang: str, user_id: int, limit: int = 100) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id
               WHERE t.lang = ? AND t.state = 'prompt_lottery_waiting' AND m.user_id = ?
                 AND m.deleted = 0 AND m.review_result = 1
               ORDER BY t.id LIMIT ?""",
            (lang, user_id, limit),
        )
        return [r[0] for r in rows]

    async def waiting_trees_of_disabled_authors(self) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id JOIN users u ON u.id = m.user_id
               WHERE t.state = 'prompt_lottery_waiting' AND (u.enabled = 0 OR u.deleted = 1)
               ORDER BY t.id"""
        )
        return [r[0] for r in rows]

    async def waiting_trees_of_user(self, user_id: int) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id
               WHERE t.state = 'prompt_lottery_waiting' AND m.user_id = ? ORDER BY t.id""",
            (user_id,),
        )
        return [r[0] for r in rows]

    async def backlog_tree(self, lang: str, exclude: Sequence[str] = ()) -> str | None:
        rows = await self._all(
            "SELECT id FROM trees WHERE state = 'backlog_ranking' AND lang = ? ORDER BY id LIMIT ?",
            (lang, len(exclude) + 1),
        )
        for (tree_id,) in rows:
            if tree_id not in exclude:
                return tree_id
        return None

    # ------------------------------------------------------------------ messages

    async def message(self, message_id: str) -> MessageRow | None:
        row = await self._one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return None if row is None else message_from(row)

    async def messages_of_tree(self, tree_id: str) -> list[MessageRow]:
        rows = await self._all("SELECT * FROM messages WHERE tree_id = ? ORDER BY depth, created_at, id", (tree_id,))
        return [message_from(r) for r in rows]

    async def insert_message(
        self,
        *,
        message_id: str,
        tree_id: str,
        parent_id: str | None,
        user_id: int,
        task_id: str | None,
        role: str,
        text: str,
        lang: str,
        depth: int,
        now: float,
        deleted: bool = False,
        review_count: int = 0,
        review_result: bool | None = None,
        rank: int | None = None,
        synthetic: bool = False,
        model_name: str | None = None,
        emojis: dict[str, int] | None = None,
    ) -> None:
        await self._run(
            """INSERT INTO messages (id, tree_id, parent_id, user_id, task_id, role, text, lang, depth,
                                     created_at, deleted, review_count, review_result, rank, synthetic,
                                     model_name, emojis)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                message_id,
                tree_id,
                parent_id,
                user_id,
                task_id,
                role,
                text,
                lang,
                depth,
                now,
                int(deleted),
                review_count,
                None if review_result is None else int(review_result),
                rank,
                int(synthetic),
                model_name,
                json.dumps(emojis or {}, sort_keys=True),
            ),
        )

    async def conversation(self, message_id: str) -> list[MessageRow]:
        """The path from the root to `message_id`, root first."""
        rows = await self._all(
            """WITH RECURSIVE path(id, parent_id, n) AS (
                   SELECT id, parent_id, 0 FROM messages WHERE id = ?
                   UNION ALL
                   SELECT m.id, m.parent_id, path.n + 1 FROM messages m JOIN path ON m.id = path.parent_id
               )
               SELECT m.* FROM path JOIN messages m ON m.id = path.id ORDER BY path.n DESC""",
            (message_id,),
        )
        return [message_from(r) for r in rows]

    async def conversation_and_children(
        self, message_id: str, roles: Sequence[str]
    ) -> tuple[list[MessageRow], list[MessageRow]]:
        """The path from the root to `message_id` (root first) and its accepted, undeleted children of the
        given roles (by id), in one round trip."""
        rows = await self._all(
            f"""WITH RECURSIVE path(id, parent_id, n) AS (
                   SELECT id, parent_id, 0 FROM messages WHERE id = :id
                   UNION ALL
                   SELECT m.id, m.parent_id, path.n + 1 FROM messages m JOIN path ON m.id = path.parent_id
               )
               SELECT 0 AS part, -path.n AS pos, m.* FROM path JOIN messages m ON m.id = path.id
               UNION ALL
               SELECT 1, 0, m.* FROM messages m WHERE m.parent_id = :id AND m.deleted = 0
                   AND m.review_result = 1 AND m.role IN {_in(roles)}""",
            {"id": message_id},
        )
        rows.sort(key=lambda r: (r["part"], r["pos"], r["id"]))
        path = [message_from(r) for r in rows if r["part"] == 0]
        return path, [message_from(r) for r in rows if r["part"] == 1]

    async def messages_by_ids(self, ids: Sequence[str]) -> dict[str, MessageRow]:
        if not ids:
            return {}
        rows = await self._all(f"SELECT * FROM messages WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        return {r["id"]: message_from(r) for r in rows}

    async def subtree_ids(self, message_id: str) -> list[str]:
        rows = await self._all(
            """WITH RECURSIVE sub(id) AS (
                   SELECT ? UNION ALL SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id
               ) SELECT id FROM sub""",
            (message_id,),
        )
        return [r[0] for r in rows]

    async def set_deleted(self, ids: Sequence[str], deleted: bool) -> None:
        await self._c.executemany("UPDATE messages SET deleted = ? WHERE id = ?", [(int(deleted), i) for i in ids])

    async def has_recent_duplicate(self, user_id: int, text: str, since: float) -> bool:
        return (
            await self._scalar(
                "SELECT 1 FROM messages WHERE user_id = ? AND created_at >= ? AND text = ? LIMIT 1",
                (user_id, since, text),
            )
            is not None
        )

    async def has_live_reply(self, parent_id: str, user_id: int) -> bool:
        return (
            await self._scalar(
                """SELECT 1 FROM messages WHERE parent_id = ? AND user_id = ? AND deleted = 0
                   AND review_result IS NOT 0 LIMIT 1""",
                (parent_id, user_id),
            )
            is not None
        )

    async def reserved_reply_targets(self, tree_id: str, now: float) -> list[str]:
        """The parent of every reply slot held by a live pending writing task in this tree."""
        rows = await self._all(
            f"""SELECT k.target_id FROM tasks k WHERE k.tree_id = :tree AND k.status = 'pending'
                AND k.type IN {REPLY_TYPES} AND k.target_id IS NOT NULL AND {LIVE}""",
            {"tree": tree_id, "now": now},
        )
        return [r[0] for r in rows]

    async def live_children_count(self, parent_id: str) -> int:
        return int(
            await self._scalar(
                "SELECT count(*) FROM messages WHERE parent_id = ? AND deleted = 0 AND review_result IS NOT 0",
                (parent_id,),
            )
        )

    async def add_review(self, message_id: str) -> int:
        return int(
            await self._scalar(
                "UPDATE messages SET review_count = review_count + 1 WHERE id = ? RETURNING review_count",
                (message_id,),
            )
        )

    async def set_review_result(self, message_id: str, result: bool | None) -> None:
        await self._run(
            "UPDATE messages SET review_result = ? WHERE id = ?",
            (None if result is None else int(result), message_id),
        )

    async def add_ranking_counts(self, ids: Sequence[str]) -> None:
        await self._c.executemany(
            "UPDATE messages SET ranking_count = ranking_count + 1 WHERE id = ?", [(i,) for i in ids]
        )

    async def set_ranks(self, parent_id: str, ranks: dict[str, int]) -> int:
        """Give each listed child its rank, and no rank to the other children of `parent_id`."""
        changed = 0
        rows = await self._all("SELECT id, rank FROM messages WHERE parent_id = ?", (parent_id,))
        for child_id, old in rows:
            new = ranks.get(child_id)
            if new != old:
                await self._run("UPDATE messages SET rank = ? WHERE id = ?", (new, child_id))
                changed += 1
        return changed

    async def clear_ranks(self, tree_id: str) -> None:
        await self._run("UPDATE messages SET rank = NULL WHERE tree_id = ? AND rank IS NOT NULL", (tree_id,))

    async def tree_size(self, tree_id: str) -> tuple[int, int]:
        """(accepted, awaiting review) among the tree's undeleted messages."""
        row = await self._one(
            """SELECT coalesce(sum(review_result = 1), 0), coalesce(sum(review_result IS NULL), 0)
               FROM messages WHERE tree_id = ? AND deleted = 0""",
            (tree_id,),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def rankable_parents(self, tree_id: str, roles: Sequence[str]) -> dict[str, list[str]]:
        """parent id -> its accepted, undeleted children of the given roles, for parents with more than one."""
        rows = await self._all(
            f"""SELECT c.parent_id, c.id FROM messages c JOIN messages p ON p.id = c.parent_id
                WHERE c.tree_id = ? AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {_in(roles)}
                  AND p.deleted = 0
                ORDER BY c.parent_id, c.id""",
            (tree_id,),
        )
        out: dict[str, list[str]] = {}
        for parent_id, child_id in rows:
            out.setdefault(parent_id, []).append(child_id)
        return {p: c for p, c in out.items() if len(c) > 1}

    async def emoji_counts(self, message_id: str) -> dict[str, int]:
        return json.loads(await self._scalar("SELECT emojis FROM messages WHERE id = ?", (message_id,)) or "{}")

    async def set_emoji_counts(self, message_id: str, counts: dict[str, int]) -> None:
        await self._run(
            "UPDATE messages SET emojis = ? WHERE id = ?",
            (json.dumps({k: v for k, v in counts.items() if v > 0}, sort_keys=True), message_id),
        )

    async def user_emojis(self, message_id: str, user_id: int) -> set[str]:
        rows = await self._all(
            "SELECT emoji FROM message_emojis WHERE message_id = ? AND user_id = ?", (message_id, user_id)
        )
        return {r[0] for r in rows}

    async def insert_emoji(self, message_id: str, user_id: int, emoji: str, now: float) -> bool:
        n = await self._run(
            "INSERT OR IGNORE INTO message_emojis (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)",
            (message_id, user_id, emoji, now),
        )
        return n > 0

    async def delete_emoji(self, message_id: str, user_id: int, emoji: str) -> bool:
        n = await self._run(
            "DELETE FROM message_emojis WHERE message_id = ? AND user_id = ? AND emoji = ?",
            (message_id, user_id, emoji),
        )
        return n > 0

    async def delete_emoji_of_all(self, message_id: str, emoji: str) -> int:
        """Remove one emoji from a message for every user; how many were removed."""
        return await self._run("DELETE FROM message_emojis WHERE message_id = ? AND emoji = ?", (message_id, emoji))

    async def flag_message(self, message_id: str, now: float) -> None:
        await self._run(
            """INSERT INTO flagged_messages (message_id, processed, created_at) VALUES (?, 0, ?)
               ON CONFLICT (message_id) DO UPDATE SET processed = 0, created_at = excluded.created_at""",
            (message_id, now),
        )

    async def moderation_suspects(self, lang: str, red_flags: int, skip_replies: int) -> list[MessageRow]:
        """Undeleted, not rejected messages of active trees in review or growing that reach a threshold."""
        rows = await self._all(
            """SELECT m.* FROM trees t JOIN messages m ON m.tree_id = t.id
               WHERE t.lang = ? AND t.active = 1 AND t.state IN ('initial_prompt_review', 'growing')
                 AND m.deleted = 0 AND m.review_result IS NOT 0
                 AND (coalesce(json_extract(m.emojis, '$.red_flag'), 0) >= ?
                      OR coalesce(json_extract(m.emojis, '$._skip_reply'), 0) >= ?)
               ORDER BY m.depth, m.id""",
            (lang, red_flags, skip_replies),
        )
        return [message_from(r) for r in rows]

    # ------------------------------------------------------------------ hand-out candidates

    async def hand_out_snapshot(
        self,
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
        """Everything a hand-out decides on, for one user and language, in one statement (one round trip)."""
        rows = await self._all(
            HAND_OUT_SQL.replace(":ranked_roles", _in(ranked_roles)),
            {
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
                snap.replies_to_review.append((id_, role, tree_id))
            elif kind == "size":
                snap.tree_sizes.append((tree_id, int(a), int(b)))
            elif kind == "parent":
                snap.reply_parents.append(
                    {
                        "id": id_,
                        "tree_id": tree_id,
                        "role": role,
                        "depth": depth,
                        "max_children_count": a,
                        "children": b,
                    }
                )
            else:
                snap.rankings.append({"id": id_, "tree_id": tree_id, "role": role, "rankings": int(a)})
        # Sorted here rather than in SQL, where ORDER BY over the compound costs more than these sorts.
        snap.prompts_to_review.sort()
        snap.replies_to_review.sort()
        snap.tree_sizes.sort()
        snap.reply_parents.sort(key=itemgetter("id"))
        snap.rankings.sort(key=itemgetter("id"))
        return snap

    async def ranking_parents(self, lang: str, user_id: int, roles: Sequence[str], now: float) -> list[dict[str, Any]]:
        """Parents in active ranking trees with more than one accepted child of the given roles, that this
        user may rank, with their done rankings and the ranking slots held by live tasks."""
        rows = await self._all(
            f"""SELECT p.id, p.tree_id, p.role, count(*) AS n_children, sum(c.user_id = :user) AS own,
                   (SELECT count(*) FROM rankings r WHERE r.parent_id = p.id)
                 + (SELECT count(*) FROM tasks k WHERE k.target_id = p.id AND k.status = 'pending'
                        AND k.type IN {RANK_TYPES} AND {LIVE}) AS rankings
                FROM trees t JOIN messages c ON c.tree_id = t.id JOIN messages p ON p.id = c.parent_id
                WHERE t.lang = :lang AND t.state = 'ranking' AND t.active = 1
                  AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {_in(roles)} AND p.deleted = 0
                  AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.user_id = :user AND r.parent_id = p.id)
                  AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.user_id = :user AND k.target_id = p.id
                        AND k.type IN {RANK_TYPES} AND k.status IN ('pending', 'skipped'))
                  AND NOT EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = p.id
                        AND e.user_id = :user AND e.emoji = '_skip_ranking')
                GROUP BY p.id HAVING count(*) > 1
                ORDER BY p.id""",
            {"lang": lang, "user": user_id, "now": now},
        )
        return [dict(r) for r in rows]

    async def accepted_children(self, parent_id: str, roles: Sequence[str]) -> list[MessageRow]:
        rows = await self._all(
            f"""SELECT * FROM messages WHERE parent_id = ? AND deleted = 0 AND review_result = 1
                AND role IN {_in(roles)} ORDER BY id""",
            (parent_id,),
        )
        return [message_from(r) for r in rows]

    # ------------------------------------------------------------------ tasks

    async def insert_task(
        self,
        *,
        task_id: str,
        user_id: int,
        type: str,
        lang: str,
        random_request: bool,
        tree_id: str | None,
        target_id: str | None,
        payload: dict[str, Any],
        now: float,
        expires_at: float | None,
    ) -> TaskRow:
        row = await self._one(
            """INSERT INTO tasks (id, user_id, type, lang, random_request, tree_id, target_id, payload,
                                  created_at, expires_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
            (
                task_id,
                user_id,
                type,
                lang,
                int(random_request),
                tree_id,
                target_id,
                json.dumps(payload, sort_keys=True),
                now,
                expires_at,
            ),
        )
        assert row is not None
        return task_from(row)

    async def task(self, task_id: str) -> TaskRow | None:
        row = await self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return None if row is None else task_from(row)

    async def end_task(self, task_id: str, status: str, now: float, *, clear_draft: bool) -> None:
        await self._run(
            f"""UPDATE tasks SET status = ?, ended_at = ?{", draft = NULL" if clear_draft else ""}
                WHERE id = ? AND status = 'pending'""",
            (status, now, task_id),
        )

    async def set_frontend_ref(self, task_id: str, ref: str) -> None:
        await self._run("UPDATE tasks SET frontend_ref = ? WHERE id = ?", (ref, task_id))

    async def set_draft(self, task_id: str, text: str | None) -> None:
        await self._run("UPDATE tasks SET draft = ? WHERE id = ?", (text, task_id))

    async def pending_task_count(self, user_id: int, since: float) -> int:
        return int(
            await self._scalar(
                "SELECT count(*) FROM tasks WHERE user_id = ? AND created_at >= ? AND status = 'pending'",
                (user_id, since),
            )
        )

    async def expire_tasks(self, now: float) -> int:
        return await self._run(
            "UPDATE tasks SET status = 'expired', ended_at = ? WHERE status = 'pending' AND expires_at <= ?",
            (now, now),
        )

    async def cancel_pending_tasks(
        self,
        now: float,
        *,
        tree_id: str | None = None,
        target_ids: Sequence[str] = (),
        user_id: int | None = None,
        types: Sequence[str] | None = None,
    ) -> int:
        conds, params = ["status = 'pending'"], [now]
        if tree_id is not None:
            conds.append("tree_id = ?")
            params.append(tree_id)
        if target_ids:
            conds.append(f"target_id IN ({','.join('?' * len(target_ids))})")
            params.extend(target_ids)
        if user_id is not None:
            conds.append("user_id = ?")
            params.append(user_id)
        if types is not None:
            conds.append(f"type IN {_in(types)}")
        return await self._run(
            f"UPDATE tasks SET status = 'cancelled', ended_at = ? WHERE {' AND '.join(conds)}", params
        )

    # ------------------------------------------------------------------ labels

    async def insert_label(
        self,
        *,
        label_id: str,
        message_id: str,
        user_id: int,
        task_id: str | None,
        mode: str | None,
        labels: dict[str, float],
        comment: str,
        is_report: bool,
        now: float,
    ) -> None:
        await self._run(
            """INSERT INTO labels (id, message_id, user_id, task_id, mode, labels, comment, is_report, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                label_id,
                message_id,
                user_id,
                task_id,
                mode,
                json.dumps(labels, sort_keys=True),
                comment,
                int(is_report),
                now,
            ),
        )

    async def has_task_label(self, message_id: str, user_id: int) -> bool:
        return (
            await self._scalar(
                "SELECT 1 FROM labels WHERE message_id = ? AND user_id = ? AND task_id IS NOT NULL LIMIT 1",
                (message_id, user_id),
            )
            is not None
        )

    async def reviews(self, message_id: str) -> list[dict[str, float]]:
        """The label values of every task-based review of a message."""
        rows = await self._all(
            "SELECT labels FROM labels WHERE message_id = ? AND task_id IS NOT NULL ORDER BY created_at, id",
            (message_id,),
        )
        return [json.loads(r[0]) for r in rows]

    # ------------------------------------------------------------------ rankings

    async def insert_ranking(
        self,
        *,
        task_id: str,
        user_id: int,
        parent_id: str,
        tree_id: str,
        shown_ids: Sequence[str],
        ranking: Sequence[int] | None,
        ranked_ids: Sequence[str],
        not_rankable: bool,
        now: float,
    ) -> None:
        await self._run(
            """INSERT INTO rankings (task_id, user_id, parent_id, tree_id, shown_ids, ranking, ranked_ids,
                                     not_rankable, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                task_id,
                user_id,
                parent_id,
                tree_id,
                json.dumps(list(shown_ids)),
                None if ranking is None else json.dumps(list(ranking)),
                json.dumps(list(ranked_ids)),
                int(not_rankable),
                now,
            ),
        )

    async def ballots(self, parent_id: str) -> list[list[str]]:
        """Each ranking's ids, best first (empty for a "not rankable" answer without an order)."""
        rows = await self._all(
            "SELECT ranked_ids FROM rankings WHERE parent_id = ? ORDER BY created_at, task_id", (parent_id,)
        )
        return [json.loads(r[0]) for r in rows]

    async def ranking_counts(self, parent_ids: Sequence[str]) -> dict[str, int]:
        if not parent_ids:
            return {}
        rows = await self._all(
            f"""SELECT parent_id, count(*) FROM rankings WHERE parent_id IN ({",".join("?" * len(parent_ids))})
                GROUP BY parent_id""",
            tuple(parent_ids),
        )
        out = {p: 0 for p in parent_ids}
        out.update({r[0]: r[1] for r in rows})
        return out

    # ------------------------------------------------------------------ moderation log

    async def log(self, now: float, actor_id: int | None, action: str, target: str, detail: str = "") -> None:
        await self._run(
            "INSERT INTO moderation_log (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (now, actor_id, action, target, detail),
        )

    async def moderation_log(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self._all("SELECT * FROM moderation_log ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ purge

    async def messages_of_user(self, user_id: int) -> list[MessageRow]:
        rows = await self._all("SELECT * FROM messages WHERE user_id = ? ORDER BY depth, id", (user_id,))
        return [message_from(r) for r in rows]

    async def emojis_of_user(self, user_id: int) -> list[tuple[str, str]]:
        rows = await self._all("SELECT message_id, emoji FROM message_emojis WHERE user_id = ?", (user_id,))
        return [(r[0], r[1]) for r in rows]

    async def delete_emojis_of_user(self, user_id: int) -> None:
        await self._run("DELETE FROM message_emojis WHERE user_id = ?", (user_id,))

    async def labels_of_user(self, user_id: int) -> list[tuple[str, str | None]]:
        """(message id, task id) of every label row the user wrote."""
        rows = await self._all("SELECT message_id, task_id FROM labels WHERE user_id = ?", (user_id,))
        return [(r[0], r[1]) for r in rows]

    async def mark_results_purged(self, user_id: int) -> None:
        """The user's done reviews and rankings lose their results: say so on the tasks."""
        await self._run(
            f"""UPDATE tasks SET status = 'purged' WHERE user_id = ? AND status = 'done'
                AND type IN {LABEL_TYPES[:-1]}, {RANK_TYPES[1:]}""",
            (user_id,),
        )

    async def delete_labels_of_user(self, user_id: int) -> None:
        await self._run("DELETE FROM labels WHERE user_id = ?", (user_id,))

    async def rankings_of_user(self, user_id: int) -> list[tuple[str, str, list[str]]]:
        """(parent id, tree id, ranked ids) of every ranking the user gave."""
        rows = await self._all("SELECT parent_id, tree_id, ranked_ids FROM rankings WHERE user_id = ?", (user_id,))
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    async def delete_rankings_of_user(self, user_id: int) -> None:
        await self._run("DELETE FROM rankings WHERE user_id = ?", (user_id,))

    async def recount_reviews(self, message_ids: Sequence[str]) -> None:
        await self._c.executemany(
            """UPDATE messages SET review_count =
                   (SELECT count(*) FROM labels l WHERE l.message_id = messages.id AND l.task_id IS NOT NULL)
               WHERE id = ?""",
            [(i,) for i in message_ids],
        )

    async def recount_ranking_counts(self, parent_ids: Sequence[str]) -> None:
        await self._c.executemany(
            """UPDATE messages SET ranking_count =
                   (SELECT count(*) FROM rankings r, json_each(r.ranked_ids) j
                    WHERE r.parent_id = messages.parent_id AND j.value = messages.id)
               WHERE parent_id = ?""",
            [(i,) for i in parent_ids],
        )

    async def recount_emojis(self, message_ids: Sequence[str]) -> None:
        await self._c.executemany(
            """UPDATE messages SET emojis = coalesce(
                   (SELECT json_group_object(emoji, n) FROM
                       (SELECT emoji, count(*) AS n FROM message_emojis e WHERE e.message_id = messages.id
                        GROUP BY emoji ORDER BY emoji)), '{}')
               WHERE id = ?""",
            [(i,) for i in message_ids],
        )

    # ------------------------------------------------------------------ export (streamed in pages)

    async def export_tree_page(
        self, *, states: Sequence[str] | None, lang: str | None, after: str, limit: int
    ) -> list[tuple[str, str]]:
        """(tree id, state) of the next page of trees after `after`, in id order."""
        conds, params = ["id > ?"], [after]
        if states is not None:
            conds.append(f"state IN {_in(states)}")
        if lang is not None:
            conds.append("lang = ?")
            params.append(lang)
        rows = await self._all(
            f"SELECT id, state FROM trees WHERE {' AND '.join(conds)} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [(r[0], r[1]) for r in rows]

    async def export_messages(self, tree_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every message of the given trees, with whether its author left the dataset."""
        if not tree_ids:
            return []
        rows = await self._all(
            f"""SELECT m.*, (u.dataset_opt_out = 1 OR u.deleted = 1) AS author_excluded
                FROM messages m JOIN users u ON u.id = m.user_id
                WHERE m.tree_id IN ({",".join("?" * len(tree_ids))})
                ORDER BY m.tree_id, m.depth, m.created_at, m.id""",
            tuple(tree_ids),
        )
        return [dict(r) for r in rows]

    async def export_user_messages(self, user_id: int, after: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._all(
            """SELECT m.*, (u.dataset_opt_out = 1 OR u.deleted = 1) AS author_excluded, t.state AS tree_state
               FROM messages m JOIN users u ON u.id = m.user_id JOIN trees t ON t.id = m.tree_id
               WHERE m.user_id = ? AND m.id > ? ORDER BY m.id LIMIT ?""",
            (user_id, after, limit),
        )
        return [dict(r) for r in rows]

    async def export_labels(self, message_ids: Sequence[str]) -> dict[str, list[dict[str, float]]]:
        """message id -> the label values of every label row on it (reviews, free labels and reports)."""
        out: dict[str, list[dict[str, float]]] = {}
        for chunk in _chunks(message_ids):
            rows = await self._all(
                f"SELECT message_id, labels FROM labels WHERE message_id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            for message_id, labels in rows:
                out.setdefault(message_id, []).append(json.loads(labels))
        return out

    async def export_emoji_events(self, message_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        out: dict[str, list[tuple[int, str]]] = {}
        for chunk in _chunks(message_ids):
            rows = await self._all(
                f"""SELECT message_id, user_id, emoji FROM message_emojis
                    WHERE message_id IN ({",".join("?" * len(chunk))}) ORDER BY message_id, created_at, user_id""",
                tuple(chunk),
            )
            for message_id, user_id, emoji in rows:
                out.setdefault(message_id, []).append((user_id, emoji))
        return out

    async def export_ranking_events(self, parent_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in _chunks(parent_ids):
            rows = await self._all(
                f"""SELECT * FROM rankings WHERE parent_id IN ({",".join("?" * len(chunk))})
                    ORDER BY parent_id, created_at, task_id""",
                tuple(chunk),
            )
            for r in rows:
                out.setdefault(r["parent_id"], []).append(dict(r))
        return out

    async def user_by_id_or_name(self, ident: str) -> UserRow | None:
        """A member by front-end username (e.g. a Discord id) first, else by internal id."""
        row = await self._one("SELECT * FROM users WHERE username = ? ORDER BY id LIMIT 1", (ident,))
        if row is None and ident.isdigit():
            row = await self._one("SELECT * FROM users WHERE id = ?", (int(ident),))
        return None if row is None else user_from(row)


def _chunks(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# ---------------------------------------------------------------------------------------------- stats

STAT_COUNTERS = (
    "prompts",
    "replies_assistant",
    "replies_prompter",
    "labels_simple",
    "labels_full",
    "rankings_total",
    "rankings_good",
    "accepted_prompts",
    "accepted_replies_assistant",
    "accepted_replies_prompter",
    "reply_ranked_1",
    "reply_ranked_2",
    "reply_ranked_3",
)


class StatsQueries:
    """The leaderboard's raw counts (reference §7.2); the score and ranks are the engine's."""

    def __init__(self, repo: Repository) -> None:
        self.r = repo

    async def counters(self, since: float | None) -> dict[int, dict[str, int]]:
        """user id -> counter -> count, over contributions created at or after `since` (None: all)."""
        base = -1e18 if since is None else since
        out: dict[int, dict[str, int]] = {}

        def add(user_id: int, name: str, n: int) -> None:
            out.setdefault(user_id, dict.fromkeys(STAT_COUNTERS, 0))[name] += n

        for row in await self.r._all(
            """SELECT user_id,
                      sum(parent_id IS NULL), sum(parent_id IS NULL AND review_result = 1),
                      sum(parent_id IS NOT NULL AND role = 'assistant'),
                      sum(parent_id IS NOT NULL AND role = 'assistant' AND review_result = 1),
                      sum(parent_id IS NOT NULL AND role = 'prompter'),
                      sum(parent_id IS NOT NULL AND role = 'prompter' AND review_result = 1)
               FROM messages WHERE deleted = 0 AND created_at >= ? GROUP BY user_id""",
            (base,),
        ):
            for name, n in zip(
                (
                    "prompts",
                    "accepted_prompts",
                    "replies_assistant",
                    "accepted_replies_assistant",
                    "replies_prompter",
                    "accepted_replies_prompter",
                ),
                row[1:],
                strict=True,
            ):
                add(row[0], name, n or 0)
        for user_id, mode, n in await self.r._all(
            f"""SELECT user_id, json_extract(payload, '$.mode'), count(*) FROM tasks
                WHERE status = 'done' AND type IN {LABEL_TYPES} AND created_at >= ?
                GROUP BY user_id, json_extract(payload, '$.mode')""",
            (base,),
        ):
            add(user_id, "labels_simple" if mode == "simple" else "labels_full", n)
        for user_id, n in await self.r._all(
            "SELECT user_id, count(*) FROM rankings WHERE created_at >= ? GROUP BY user_id", (base,)
        ):
            add(user_id, "rankings_total", n)
        for author, position, n in await self.r._all(
            """SELECT m.user_id, CAST(j.key AS INTEGER), count(*) FROM rankings r, json_each(r.ranked_ids) j
               JOIN messages m ON m.id = j.value
               WHERE r.created_at >= ? AND CAST(j.key AS INTEGER) < 3
               GROUP BY m.user_id, CAST(j.key AS INTEGER)""",
            (base,),
        ):
            add(author, f"reply_ranked_{position + 1}", n)
        return out

    async def replace_frame(self, frame: str, base: float | None, now: float, rows: list[dict[str, Any]]) -> None:
        await self.r._run("DELETE FROM user_stats WHERE time_frame = ?", (frame,))
        columns = ("time_frame", "user_id", "base_date", "modified_at", "leader_score", "rank", *STAT_COUNTERS)
        await self.r._c.executemany(
            f"INSERT INTO user_stats ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [
                (frame, r["user_id"], base, now, r["leader_score"], r["rank"], *(r[c] for c in STAT_COUNTERS))
                for r in rows
            ],
        )

    async def daily_contributions(self, user_id: int, since: float) -> dict[int, int]:
        """Days since `since` (0, 1, …) -> tasks the user completed that were handed out on that day."""
        rows = await self.r._all(
            """SELECT CAST((created_at - ?) / 86400 AS INTEGER), count(*) FROM tasks
               WHERE user_id = ? AND created_at >= ? AND status = 'done' GROUP BY 1""",
            (since, user_id, since),
        )
        return {r[0]: r[1] for r in rows}

    async def rankable_users(self) -> set[int]:
        rows = await self.r._all("SELECT id FROM users WHERE show_on_leaderboard = 1 AND enabled = 1 AND deleted = 0")
        return {r[0] for r in rows}

    async def stats_of(self, frame: str, user_id: int) -> dict[str, Any] | None:
        row = await self.r._one("SELECT * FROM user_stats WHERE time_frame = ? AND user_id = ?", (frame, user_id))
        return None if row is None else dict(row)

    async def leaderboard(self, frame: str, offset: int, limit: int) -> list[dict[str, Any]]:
        rows = await self.r._all(
            """SELECT s.*, u.display_name, u.username FROM user_stats s JOIN users u ON u.id = s.user_id
               WHERE s.time_frame = ? AND s.rank IS NOT NULL ORDER BY s.rank LIMIT ? OFFSET ?""",
            (frame, limit, offset),
        )
        return [dict(r) for r in rows]

    async def ranked_count(self, frame: str) -> int:
        return int(
            await self.r._scalar("SELECT count(*) FROM user_stats WHERE time_frame = ? AND rank IS NOT NULL", (frame,))
        )

    async def messages_per_role(self, lang: str | None) -> dict[str, int]:
        sql = """SELECT CASE WHEN m.parent_id IS NULL THEN 'prompt' ELSE m.role END, count(*)
                 FROM messages m JOIN trees t ON t.id = m.tree_id WHERE m.deleted = 0"""
        rows = await self.r._all(
            sql + " AND t.lang = ? GROUP BY 1" if lang else sql + " GROUP BY 1", (lang,) if lang else ()
        )
        return {r[0]: r[1] for r in rows}

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(list(user_ids)):
            rows = await self.r._all(
                f"SELECT id, display_name, username FROM users WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            out.update({r[0]: r[1] or r[2] for r in rows})
        return out

    async def tree_counts_by_lang(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for lang, state, n in await self.r._all("SELECT lang, state, count(*) FROM trees GROUP BY lang, state"):
            out.setdefault(lang, {})[state] = n
        return out


class GuildQueries:
    """Per-server settings of the Discord front-end, and the bot's posts about messages."""

    SETTINGS = ("moderator_role_id", "feed_channel_id", "mod_queue_channel_id", "default_lang")

    def __init__(self, repo: Repository) -> None:
        self.r = repo

    async def settings(self, guild_id: int) -> dict[str, Any] | None:
        row = await self.r._one("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return None if row is None else dict(row)

    async def set_setting(self, guild_id: int, key: str, value: Any, now: float, actor_id: int | None) -> None:
        if key not in self.SETTINGS:
            raise ValueError(f"not a guild setting: {key!r}")
        await self.r._run(
            f"""INSERT INTO guild_settings (guild_id, {key}, updated_at, updated_by) VALUES (?, ?, ?, ?)
                ON CONFLICT (guild_id) DO UPDATE SET {key} = excluded.{key},
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            (guild_id, value, now, actor_id),
        )

    async def language_channels(self, guild_id: int) -> dict[int, str]:
        rows = await self.r._all(
            "SELECT channel_id, lang FROM language_channels WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def channel_language(self, guild_id: int, channel_id: int) -> str | None:
        return await self.r._scalar(
            "SELECT lang FROM language_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
        )

    async def set_language_channel(
        self, guild_id: int, channel_id: int, lang: str, now: float, actor_id: int | None
    ) -> None:
        await self.r._run(
            """INSERT INTO language_channels (guild_id, channel_id, lang, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (guild_id, channel_id) DO UPDATE SET lang = excluded.lang,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            (guild_id, channel_id, lang, now, actor_id),
        )

    async def remove_language_channel(self, guild_id: int, channel_id: int) -> bool:
        n = await self.r._run(
            "DELETE FROM language_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
        )
        return n > 0

    async def add_post(
        self, discord_message_id: int, message_id: str, guild_id: int, channel_id: int, kind: str, now: float
    ) -> None:
        await self.r._run(
            """INSERT OR IGNORE INTO discord_posts (discord_message_id, message_id, guild_id, channel_id, kind,
               created_at) VALUES (?, ?, ?, ?, ?, ?)""",
            (discord_message_id, message_id, guild_id, channel_id, kind, now),
        )

    async def post(self, discord_message_id: int) -> dict[str, Any] | None:
        row = await self.r._one("SELECT * FROM discord_posts WHERE discord_message_id = ?", (discord_message_id,))
        return None if row is None else dict(row)

    async def posts_of(self, message_id: str) -> list[dict[str, Any]]:
        rows = await self.r._all("SELECT * FROM discord_posts WHERE message_id = ? ORDER BY created_at", (message_id,))
        return [dict(r) for r in rows]
