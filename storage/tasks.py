"""Tasks, reviews, rankings, the moderation log and a member's contributions (part of the write model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engine.records import MessageRow, TaskRow
from storage import active_patches as patches
from storage.rows import message_from, task_from
from storage.sql import LIVE, REPLY_TYPES, RESULT_TYPES, Queries, SqlValue, words


def _in_community(column: str) -> str:
    """`column` (a message id) lies in community :community, or :community is NULL (every community)."""
    return f"""(:community IS NULL OR EXISTS (SELECT 1 FROM messages m JOIN trees t ON t.id = m.tree_id
                                            WHERE m.id = {column} AND t.community_id = :community))"""


class TaskWrites(Queries):
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
        community: int,
        lease_until: float | None = None,
    ) -> TaskRow:
        params = (
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
            lease_until,
            community,
        )
        row = await self._tracked(
            lambda: self._one(
                """INSERT INTO tasks (id, user_id, type, lang, random_request, tree_id, target_id, payload,
                                      created_at, expires_at, lease_until, community_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *""",
                params,
            ),
            lambda trees, found: patches.task_inserted(trees, None if found is None else task_from(found)),
        )
        assert row is not None
        return task_from(row)

    async def task(self, task_id: str) -> TaskRow | None:
        row = await self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return None if row is None else task_from(row)

    async def end_task(self, task_id: str, status: str, now: float, *, clear_draft: bool) -> None:
        sql = f"""UPDATE tasks SET status = ?, ended_at = ?{", draft = NULL" if clear_draft else ""}
                  WHERE id = ? AND status = 'pending'"""
        prior = None if self._model is None else await self.task(task_id)  # what the model must let go of
        await self._tracked(
            lambda: self._run(sql, (status, now, task_id)),
            None if prior is None else lambda trees, _: patches.task_ended(self, trees, prior, status),
        )

    async def set_frontend_ref(self, task_id: str, ref: str) -> None:
        await self._run("UPDATE tasks SET frontend_ref = ? WHERE id = ?", (ref, task_id))

    async def set_draft(self, task_id: str, text: str | None) -> None:
        await self._run("UPDATE tasks SET draft = ? WHERE id = ?", (text, task_id))

    async def set_lease(self, task_id: str, until: float | None) -> None:
        prior = None if self._model is None else await self.task(task_id)
        await self._tracked(
            lambda: self._run("UPDATE tasks SET lease_until = ? WHERE id = ? AND status = 'pending'", (until, task_id)),
            None if prior is None else lambda trees, _: patches.lease_moved(trees, prior, until),
        )

    async def drop_ended_leases(self, now: float) -> int:
        """Pending tasks whose lease has ended hold nothing; say so in the row (their task lives on)."""
        return await self._run(
            "UPDATE tasks SET lease_until = NULL WHERE status = 'pending' AND lease_until <= ?", (now,)
        )

    async def open_tasks_of(self, user_id: int, now: float, limit: int, community: int | None = None) -> list[TaskRow]:
        """The member's pending tasks that have not expired, newest first (in one community, or all)."""
        rows = await self._all(
            """SELECT * FROM tasks WHERE user_id = :user AND status = 'pending'
                 AND (expires_at IS NULL OR expires_at > :now) AND (:community IS NULL OR community_id = :community)
               ORDER BY created_at DESC, id LIMIT :limit""",
            {"user": user_id, "now": now, "limit": limit, "community": community},
        )
        return [task_from(r) for r in rows]

    async def held_leases(self, target_id: str, types: Sequence[str], now: float, exclude_task: str) -> int:
        """Slots on `target_id` held by live leases of other pending tasks of the given types."""
        return await self._int(
            f"""SELECT count(*) FROM tasks k WHERE k.target_id = :target AND k.status = 'pending'
                AND k.type IN {words(types)} AND {LIVE} AND k.id != :task""",
            {"target": target_id, "now": now, "task": exclude_task},
        )

    async def held_tree_leases(self, tree_id: str, now: float, exclude_task: str) -> int:
        """Reply slots of `tree_id` held by live leases of other pending writing tasks."""
        return await self._int(
            f"""SELECT count(*) FROM tasks k WHERE k.tree_id = :tree AND k.status = 'pending'
                AND k.type IN {REPLY_TYPES} AND k.target_id IS NOT NULL AND {LIVE} AND k.id != :task""",
            {"tree": tree_id, "now": now, "task": exclude_task},
        )

    async def requests_since(self, user_id: int, since: float, *, explicit_type: str | None = None) -> list[float]:
        """Creation times (oldest first) of the member's tasks after `since`; with `explicit_type`, only tasks
        of that type asked for by name (random requests do not count against a per-type limit)."""
        if explicit_type is None:
            rows = await self._all(
                "SELECT created_at FROM tasks WHERE user_id = ? AND created_at > ? ORDER BY created_at",
                (user_id, since),
            )
        else:
            rows = await self._all(
                """SELECT created_at FROM tasks WHERE user_id = ? AND created_at > ? AND type = ?
                   AND random_request = 0 ORDER BY created_at""",
                (user_id, since, explicit_type),
            )
        return [float(r[0]) for r in rows]

    async def prompts_since(self, user_id: int, since: float) -> list[float]:
        """Creation times (oldest first) of the prompts the member wrote after `since`."""
        # `+parent_id`: the member's recent messages (messages_user_created) are few; every prompt ever written
        # (messages_parent, where SQLite would look by default) grows with history.
        rows = await self._all(
            """SELECT created_at FROM messages WHERE user_id = ? AND created_at > ? AND +parent_id IS NULL
               ORDER BY created_at""",
            (user_id, since),
        )
        return [float(r[0]) for r in rows]

    async def pending_task_count(self, user_id: int, since: float) -> int:
        return await self._int(
            "SELECT count(*) FROM tasks WHERE user_id = ? AND created_at >= ? AND status = 'pending'",
            (user_id, since),
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
        community: int | None = None,
    ) -> int:
        conds: list[str] = ["status = 'pending'"]
        params: list[SqlValue] = [now]
        if community is not None:
            conds.append("community_id = ?")
            params.append(community)
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
            conds.append(f"type IN {words(types)}")
        return await self._run(
            f"UPDATE tasks SET status = 'cancelled', ended_at = ? WHERE {' AND '.join(conds)}", params
        )

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
        params = (
            label_id,
            message_id,
            user_id,
            task_id,
            mode,
            json.dumps(labels, sort_keys=True),
            comment,
            int(is_report),
            now,
        )
        await self._tracked(
            lambda: self._run(
                """INSERT INTO labels (id, message_id, user_id, task_id, mode, labels, comment, is_report, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                params,
            ),
            lambda trees, _: patches.labelled(trees, message_id, user_id, task_id is not None),
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
        params = (
            task_id,
            user_id,
            parent_id,
            tree_id,
            json.dumps(list(shown_ids)),
            None if ranking is None else json.dumps(list(ranking)),
            json.dumps(list(ranked_ids)),
            int(not_rankable),
            now,
        )
        await self._tracked(
            lambda: self._run(
                """INSERT INTO rankings (task_id, user_id, parent_id, tree_id, shown_ids, ranking, ranked_ids,
                                         not_rankable, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                params,
            ),
            lambda trees, _: patches.ranked(trees, parent_id, user_id),
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

    async def log(
        self, now: float, actor_id: int | None, action: str, target: str, detail: str = "", *, community: int | None
    ) -> None:
        """One moderation log line, in `community` (None: an owner's action over every community)."""
        await self._run(
            """INSERT INTO moderation_log (at, actor_id, action, target, detail, community_id)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (now, actor_id, action, target, detail, community),
        )

    async def moderation_log(self, limit: int = 50, community: int | None = None) -> list[dict[str, Any]]:
        rows = await self._all(
            """SELECT * FROM moderation_log WHERE :community IS NULL OR community_id = :community
               ORDER BY id DESC LIMIT :limit""",
            {"community": community, "limit": limit},
        )
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ community bans

    async def ban_in_community(
        self, community: int, user_id: int, now: float, actor_id: int | None, reason: str
    ) -> bool:
        """Ban a member from one community; False when they already were."""
        return (
            await self._run(
                """INSERT INTO community_bans (community_id, user_id, at, actor_id, reason) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (community, user_id, now, actor_id, reason),
            )
            > 0
        )

    async def unban_in_community(self, community: int, user_id: int) -> bool:
        return (
            await self._run("DELETE FROM community_bans WHERE community_id = ? AND user_id = ?", (community, user_id))
            > 0
        )

    async def banned_in(self, community: int, user_id: int) -> bool:
        return (
            await self._scalar(
                "SELECT 1 FROM community_bans WHERE community_id = ? AND user_id = ?", (community, user_id)
            )
            is not None
        )

    # A member's contributions, in one community or (None) in all: what a purge goes over.

    async def messages_of_user(self, user_id: int, community: int | None = None) -> list[MessageRow]:
        rows = await self._all(
            """SELECT m.* FROM messages m WHERE m.user_id = :user AND (:community IS NULL
                   OR (SELECT t.community_id FROM trees t WHERE t.id = m.tree_id) = :community)
               ORDER BY m.depth, m.id""",
            {"user": user_id, "community": community},
        )
        return [message_from(r) for r in rows]

    async def emojis_of_user(self, user_id: int, community: int | None = None) -> list[tuple[str, str]]:
        rows = await self._all(
            f"SELECT message_id, emoji FROM message_emojis WHERE user_id = :user AND {_in_community('message_id')}",
            {"user": user_id, "community": community},
        )
        return [(r[0], r[1]) for r in rows]

    async def delete_emojis_of_user(self, user_id: int, community: int | None = None) -> None:
        await self._run(
            f"DELETE FROM message_emojis WHERE user_id = :user AND {_in_community('message_id')}",
            {"user": user_id, "community": community},
        )

    async def labels_of_user(self, user_id: int, community: int | None = None) -> list[tuple[str, str | None]]:
        """(message id, task id) of every label row the user wrote."""
        rows = await self._all(
            f"SELECT message_id, task_id FROM labels WHERE user_id = :user AND {_in_community('message_id')}",
            {"user": user_id, "community": community},
        )
        return [(r[0], r[1]) for r in rows]

    async def mark_results_purged(self, user_id: int, community: int | None = None) -> None:
        """The user's done reviews and rankings lose their results: say so on the tasks."""
        await self._run(
            f"""UPDATE tasks SET status = 'purged' WHERE user_id = :user AND status = 'done'
                AND type IN {RESULT_TYPES} AND (:community IS NULL OR community_id = :community)""",
            {"user": user_id, "community": community},
        )

    async def delete_labels_of_user(self, user_id: int, community: int | None = None) -> None:
        await self._run(
            f"DELETE FROM labels WHERE user_id = :user AND {_in_community('message_id')}",
            {"user": user_id, "community": community},
        )

    async def rankings_of_user(self, user_id: int, community: int | None = None) -> list[tuple[str, str, list[str]]]:
        """(parent id, tree id, ranked ids) of every ranking the user gave."""
        rows = await self._all(
            f"""SELECT parent_id, tree_id, ranked_ids FROM rankings WHERE user_id = :user
                AND {_in_community("parent_id")}""",
            {"user": user_id, "community": community},
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    async def delete_rankings_of_user(self, user_id: int, community: int | None = None) -> None:
        await self._run(
            f"DELETE FROM rankings WHERE user_id = :user AND {_in_community('parent_id')}",
            {"user": user_id, "community": community},
        )

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
                        GROUP BY emoji ORDER BY emoji) c), '{}')
               WHERE id = ?""",
            [(i,) for i in message_ids],
        )
