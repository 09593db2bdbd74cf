"""Messages: the tree's nodes, their counters, reactions and flags (part of the write model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from engine.records import MessageRow
from storage import active_patches as patches
from storage.rows import message_from
from storage.sql import LIVE, REPLY_TYPES, Queries, words


class MessageWrites(Queries):
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
        result = None if review_result is None else int(review_result)
        params = (
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
            result,
            rank,
            int(synthetic),
            model_name,
            json.dumps(emojis or {}, sort_keys=True),
        )
        held = (message_id, parent_id, user_id, role, depth, int(deleted), result, review_count)  # as the model reads
        await self._tracked(
            lambda: self._run(
                """INSERT INTO messages (id, tree_id, parent_id, user_id, task_id, role, text, lang, depth,
                                         created_at, deleted, review_count, review_result, rank, synthetic,
                                         model_name, emojis)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                params,
            ),
            lambda trees, _: patches.message_added(trees, tree_id, held),
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
                   AND m.review_result = 1 AND m.role IN {words(roles)}""",
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

    async def due_verdicts(self, min_reviews: int) -> list[MessageRow]:
        """Undeleted messages without a verdict but with at least `min_reviews` reviews, in active trees that
        are still reviewing (what a lowered review threshold leaves waiting); prompts first, by id."""
        rows = await self._all(
            """SELECT m.* FROM trees t JOIN messages m ON m.tree_id = t.id
               WHERE t.state IN ('initial_prompt_review', 'growing') AND t.active = 1
                 AND m.deleted = 0 AND m.review_result IS NULL AND m.review_count >= ?
               ORDER BY m.depth, m.id""",
            (min_reviews,),
        )
        return [message_from(r) for r in rows]

    async def live_size(self, tree_id: str) -> int:
        """The tree's messages that count toward its goal: undeleted and not rejected."""
        return await self._int(
            "SELECT count(*) FROM messages WHERE tree_id = ? AND deleted = 0 AND review_result IS NOT 0", (tree_id,)
        )

    async def live_children_count(self, parent_id: str) -> int:
        return await self._int(
            "SELECT count(*) FROM messages WHERE parent_id = ? AND deleted = 0 AND review_result IS NOT 0",
            (parent_id,),
        )

    async def add_review(self, message_id: str) -> int:
        return await self._tracked(
            lambda: self._int(
                "UPDATE messages SET review_count = review_count + 1 WHERE id = ? RETURNING review_count",
                (message_id,),
            ),
            lambda trees, count: patches.review_counted(trees, message_id, count),
        )

    async def set_review_result(self, message_id: str, result: bool | None) -> None:
        await self._tracked(
            lambda: self._run(
                "UPDATE messages SET review_result = ? WHERE id = ?",
                (None if result is None else int(result), message_id),
            ),
            lambda trees, _: patches.verdict(trees, message_id, result),
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
                WHERE c.tree_id = ? AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {words(roles)}
                  AND p.deleted = 0
                ORDER BY c.parent_id, c.id""",
            (tree_id,),
        )
        out: dict[str, list[str]] = {}
        for parent_id, child_id in rows:
            out.setdefault(parent_id, []).append(child_id)
        return {p: c for p, c in out.items() if len(c) > 1}

    async def accepted_children(self, parent_id: str, roles: Sequence[str]) -> list[MessageRow]:
        rows = await self._all(
            f"""SELECT * FROM messages WHERE parent_id = ? AND deleted = 0 AND review_result = 1
                AND role IN {words(roles)} ORDER BY id""",
            (parent_id,),
        )
        return [message_from(r) for r in rows]

    async def emoji_counts(self, message_id: str) -> dict[str, int]:
        emojis = cast(str | None, await self._scalar("SELECT emojis FROM messages WHERE id = ?", (message_id,)))
        return cast(dict[str, int], json.loads(emojis or "{}"))

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
        n = await self._tracked(
            lambda: self._run(
                "INSERT OR IGNORE INTO message_emojis (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)",
                (message_id, user_id, emoji, now),
            ),
            lambda trees, _: patches.skipped(trees, message_id, user_id, emoji),
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

    async def moderation_suspects(
        self, community: int, lang: str, red_flags: int, skip_replies: int
    ) -> list[MessageRow]:
        """Undeleted, not rejected messages of active trees in review or growing that reach a threshold."""
        rows = await self._all(
            """SELECT m.* FROM trees t JOIN messages m ON m.tree_id = t.id
               WHERE t.community_id = ? AND t.lang = ? AND t.active = 1
                 AND t.state IN ('initial_prompt_review', 'growing')
                 AND m.deleted = 0 AND m.review_result IS NOT 0
                 AND (coalesce(json_extract(m.emojis, '$.red_flag'), 0) >= ?
                      OR coalesce(json_extract(m.emojis, '$._skip_reply'), 0) >= ?)
               ORDER BY m.depth, m.id""",
            (community, lang, red_flags, skip_replies),
        )
        return [message_from(r) for r in rows]
