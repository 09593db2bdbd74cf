"""The fate of a member's work: their messages with review result, tree state and rank (/history), the reviews
and rankings they gave, and the notifications waiting to be told to them by DM.

Every read goes through an index: a member's messages through `messages_user_created`, their reviews through
`labels_user_message`, their rankings through `rankings_user_parent`, waiting notifications through the partial
index `notifications_waiting`. `:community` NULL means every community (the operator's view).
"""

from __future__ import annotations

from typing import Any

from storage.sql import Queries

_MINE = """m.user_id = :user AND (:community IS NULL OR t.community_id = :community)
           AND (:deleted = 1 OR m.deleted = 0)
           AND (:roots IS NULL OR (CASE WHEN m.parent_id IS NULL THEN 1 ELSE 0 END) = :roots)"""


class HistoryQueries(Queries):
    # ------------------------------------------------------------------ /history

    async def messages_of(
        self,
        user_id: int,
        community: int | None,
        *,
        roots: bool | None,
        include_deleted: bool,
        limit: int,
        offset: int,
    ) -> list[dict[str, Any]]:
        """The member's messages, newest first, with their tree's state and, when ranked, how many siblings were."""
        rows = await self._all(
            f"""SELECT m.id, m.tree_id, m.parent_id, m.role, m.text, m.created_at, m.deleted, m.review_result,
                       m.rank, t.state AS tree_state, t.withdrawn_at IS NOT NULL AS withdrawn,
                       CASE WHEN m.rank IS NULL OR m.parent_id IS NULL THEN 0 ELSE
                           (SELECT count(*) FROM messages s WHERE s.parent_id = m.parent_id AND s.rank IS NOT NULL)
                       END AS ranked_siblings
                FROM messages m JOIN trees t ON t.id = m.tree_id
                WHERE {_MINE}
                ORDER BY m.created_at DESC, m.id DESC LIMIT :limit OFFSET :offset""",
            {
                "user": user_id,
                "community": community,
                "deleted": int(include_deleted),
                "roots": None if roots is None else int(roots),
                "limit": limit,
                "offset": offset,
            },
        )
        return [dict(r) for r in rows]

    async def counts_of(
        self, user_id: int, community: int | None, *, roots: bool | None, include_deleted: bool
    ) -> tuple[int, int, int]:
        """(messages as `messages_of` lists them, reviews given, rankings given) in the community."""
        row = await self._one(
            f"""SELECT (SELECT count(*) FROM messages m JOIN trees t ON t.id = m.tree_id WHERE {_MINE}),
                       (SELECT count(*) FROM labels l JOIN messages m ON m.id = l.message_id
                            JOIN trees t ON t.id = m.tree_id
                        WHERE l.user_id = :user AND l.task_id IS NOT NULL AND l.is_report = 0
                          AND (:community IS NULL OR t.community_id = :community)),
                       (SELECT count(*) FROM rankings r JOIN trees t ON t.id = r.tree_id
                        WHERE r.user_id = :user AND (:community IS NULL OR t.community_id = :community))""",
            {
                "user": user_id,
                "community": community,
                "deleted": int(include_deleted),
                "roots": None if roots is None else int(roots),
            },
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    # ------------------------------------------------------------------ notifications: the member's choice

    async def notify_of(self, user_id: int) -> bool:
        return bool(await self._scalar("SELECT notify FROM users WHERE id = ?", (user_id,)))

    async def set_notify(self, user_id: int, on: bool) -> None:
        """Turn notifications on or off; off drops what was still waiting to be told."""
        await self._run("UPDATE users SET notify = ? WHERE id = ?", (int(on), user_id))
        if not on:
            await self._run("DELETE FROM notifications WHERE user_id = ? AND sent_at IS NULL", (user_id,))

    # ------------------------------------------------------------------ notifications: recording

    async def record(
        self, user_id: int, kind: str, message_id: str | None, tree_id: str | None, detail: str, now: float
    ) -> bool:
        """A notification for the member if they opted in, unless the same one already waits; True if recorded."""
        return (
            await self._run(
                """INSERT INTO notifications (user_id, kind, message_id, tree_id, detail, created_at)
                   SELECT u.id, :kind, :message, :tree, :detail, :now FROM users u
                   WHERE u.id = :user AND u.notify = 1 AND NOT EXISTS (
                       SELECT 1 FROM notifications n WHERE n.user_id = :user AND n.sent_at IS NULL
                          AND n.kind = :kind AND n.message_id IS :message AND n.detail = :detail)""",
                {"user": user_id, "kind": kind, "message": message_id, "tree": tree_id, "detail": detail, "now": now},
            )
            > 0
        )

    async def ranked_replies_to_tell(self, tree_id: str) -> list[tuple[str, int, int, int]]:
        """(message id, author, rank, ranked siblings) of the tree's ranked replies whose authors opted in."""
        rows = await self._all(
            """SELECT m.id, m.user_id, m.rank,
                      (SELECT count(*) FROM messages s WHERE s.parent_id = m.parent_id AND s.rank IS NOT NULL)
               FROM messages m CROSS JOIN users u ON u.id = m.user_id
               WHERE m.tree_id = ? AND m.deleted = 0 AND m.rank IS NOT NULL AND m.parent_id IS NOT NULL
                 AND u.notify = 1""",
            (tree_id,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    # ------------------------------------------------------------------ notifications: delivery

    async def members_due(self, cutoff: float, limit: int) -> list[dict[str, Any]]:
        """Members with waiting notifications whose last notification DM is older than `cutoff`, longest waiting
        first."""
        rows = await self._all(
            """SELECT u.id, u.auth_method, u.username, u.ui_locale, w.first
               FROM (SELECT user_id, min(created_at) AS first FROM notifications WHERE sent_at IS NULL
                     GROUP BY user_id) w
               CROSS JOIN users u ON u.id = w.user_id
               WHERE u.notified_at IS NULL OR u.notified_at <= :cutoff
               ORDER BY w.first, u.id LIMIT :limit""",
            {"cutoff": cutoff, "limit": limit},
        )
        return [dict(r) for r in rows]

    async def waiting(self, user_id: int, limit: int) -> list[dict[str, Any]]:
        """The member's waiting notifications about messages still there, oldest first, with the message's text."""
        rows = await self._all(
            """SELECT n.id, n.kind, n.message_id, n.tree_id, n.detail, n.created_at, coalesce(m.text, '') AS text
               FROM notifications n LEFT JOIN messages m ON m.id = n.message_id
               WHERE n.user_id = ? AND n.sent_at IS NULL AND coalesce(m.deleted, 0) = 0
               ORDER BY n.created_at, n.id LIMIT ?""",
            (user_id, limit),
        )
        return [dict(r) for r in rows]

    async def waiting_totals(self, user_id: int) -> tuple[int, int | None]:
        """(waiting notifications about messages still there, the newest waiting notification's id)."""
        row = await self._one(
            """SELECT coalesce(sum(coalesce(m.deleted, 0) = 0), 0), max(n.id)
               FROM notifications n LEFT JOIN messages m ON m.id = n.message_id
               WHERE n.user_id = ? AND n.sent_at IS NULL""",
            (user_id,),
        )
        assert row is not None
        return int(row[0]), row[1]

    async def mark_told(self, user_id: int, upto: int | None, now: float) -> int:
        """The member's waiting notifications up to id `upto` are handled (None: none); their last DM was `now`."""
        await self._run("UPDATE users SET notified_at = ? WHERE id = ?", (now, user_id))
        if upto is None:
            return 0
        return await self._run(
            "UPDATE notifications SET sent_at = ? WHERE user_id = ? AND sent_at IS NULL AND id <= ?",
            (now, user_id, upto),
        )

    # ------------------------------------------------------------------ notifications: the member's data

    async def notifications_of(self, user_id: int) -> list[dict[str, Any]]:
        rows = await self._all(
            """SELECT id, kind, message_id, tree_id, detail, created_at, sent_at FROM notifications
               WHERE user_id = ? ORDER BY created_at, id""",
            (user_id,),
        )
        return [dict(r) for r in rows]

    async def delete_notifications_of(self, user_id: int) -> int:
        return await self._run("DELETE FROM notifications WHERE user_id = ?", (user_id,))
