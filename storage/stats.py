"""The stats read model: the leaderboard's raw counts and its stored frames (reference §7.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.sql import LABEL_TYPES, Queries, chunks

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


class StatsQueries(Queries):
    """The leaderboard's raw counts (reference §7.2); the score and ranks are the engine's."""

    async def counters(self, since: float | None) -> dict[tuple[int, str, int], dict[str, int]]:
        """(community, language, user id) -> counter -> count, over contributions created at or after `since`
        (None: all). A contribution counts in the community and language of the tree it went into."""
        base = -1e18 if since is None else since
        out: dict[tuple[int, str, int], dict[str, int]] = {}

        def add(key: tuple[int, str, int], name: str, n: int) -> None:
            out.setdefault(key, dict.fromkeys(STAT_COUNTERS, 0))[name] += n

        for row in await self._all(
            """SELECT t.community_id, t.lang, m.user_id,
                      sum(m.parent_id IS NULL), sum(m.parent_id IS NULL AND m.review_result = 1),
                      sum(m.parent_id IS NOT NULL AND m.role = 'assistant'),
                      sum(m.parent_id IS NOT NULL AND m.role = 'assistant' AND m.review_result = 1),
                      sum(m.parent_id IS NOT NULL AND m.role = 'prompter'),
                      sum(m.parent_id IS NOT NULL AND m.role = 'prompter' AND m.review_result = 1)
               FROM messages m JOIN trees t ON t.id = m.tree_id
               WHERE m.deleted = 0 AND m.review_result IS NOT 0 AND m.created_at >= ?
               GROUP BY t.community_id, t.lang, m.user_id""",  # rejected work scores nothing
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
                row[3:],
                strict=True,
            ):
                add((row[0], row[1], row[2]), name, n or 0)
        for community, lang, user_id, mode, n in await self._all(
            f"""SELECT community_id, lang, user_id, json_extract(payload, '$.mode'), count(*) FROM tasks
                WHERE status = 'done' AND type IN {LABEL_TYPES} AND created_at >= ?
                GROUP BY community_id, lang, user_id, json_extract(payload, '$.mode')""",
            (base,),
        ):
            add((community, lang, user_id), "labels_simple" if mode == "simple" else "labels_full", n)
        for community, lang, user_id, n in await self._all(
            """SELECT t.community_id, t.lang, r.user_id, count(*) FROM rankings r JOIN trees t ON t.id = r.tree_id
               WHERE r.created_at >= ? GROUP BY t.community_id, t.lang, r.user_id""",
            (base,),
        ):
            add((community, lang, user_id), "rankings_total", n)
        for community, lang, author, position, n in await self._all(
            """SELECT t.community_id, t.lang, m.user_id, CAST(j.key AS INTEGER), count(*)
               FROM rankings r JOIN trees t ON t.id = r.tree_id, json_each(r.ranked_ids) j
               JOIN messages m ON m.id = j.value
               WHERE r.created_at >= ? AND CAST(j.key AS INTEGER) < 3
               GROUP BY t.community_id, t.lang, m.user_id, CAST(j.key AS INTEGER)""",
            (base,),
        ):
            add((community, lang, author), f"reply_ranked_{position + 1}", n)
        return out

    async def replace_frame(self, frame: str, base: float | None, now: float, rows: list[dict[str, Any]]) -> None:
        """Replace a time frame's rows (each with its community_id and lang, '' for every language)."""
        await self._run("DELETE FROM user_stats WHERE time_frame = ?", (frame,))
        columns = (
            "community_id",
            "lang",
            "time_frame",
            "user_id",
            "base_date",
            "modified_at",
            "leader_score",
            "rank",
            *STAT_COUNTERS,
        )
        await self._c.executemany(
            f"INSERT INTO user_stats ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [
                (
                    r["community_id"],
                    r["lang"],
                    frame,
                    r["user_id"],
                    base,
                    now,
                    r["leader_score"],
                    r["rank"],
                    *(r[c] for c in STAT_COUNTERS),
                )
                for r in rows
            ],
        )

    async def daily_contributions(self, user_id: int, since: float) -> dict[int, int]:
        """Days since `since` (0, 1, …) -> tasks the user completed that were handed out on that day."""
        rows = await self._all(
            """SELECT CAST((created_at - ?) / 86400 AS INTEGER), count(*) FROM tasks
               WHERE user_id = ? AND created_at >= ? AND status = 'done' GROUP BY 1""",
            (since, user_id, since),
        )
        return {r[0]: r[1] for r in rows}

    async def users_of_auth(self, auth_method: str) -> set[int]:
        rows = await self._all("SELECT id FROM users WHERE auth_method = ?", (auth_method,))
        return {r[0] for r in rows}

    async def rankable_users(self) -> set[int]:
        rows = await self._all("SELECT id FROM users WHERE show_on_leaderboard = 1 AND enabled = 1 AND deleted = 0")
        return {r[0] for r in rows}

    async def stats_of(self, frame: str, user_id: int, community: int, lang: str = "") -> dict[str, Any] | None:
        row = await self._one(
            """SELECT * FROM user_stats WHERE community_id = ? AND lang = ? AND time_frame = ? AND user_id = ?""",
            (community, lang, frame, user_id),
        )
        return None if row is None else dict(row)

    async def leaderboard(
        self, frame: str, offset: int, limit: int, community: int, lang: str = ""
    ) -> list[dict[str, Any]]:
        rows = await self._all(
            """SELECT s.*, u.display_name, u.username FROM user_stats s JOIN users u ON u.id = s.user_id
               WHERE s.community_id = ? AND s.lang = ? AND s.time_frame = ? AND s.rank IS NOT NULL
               ORDER BY s.rank LIMIT ? OFFSET ?""",
            (community, lang, frame, limit, offset),
        )
        return [dict(r) for r in rows]

    async def communities_of(self, user_id: int) -> list[int]:
        """The communities whose boards hold a row of this member."""
        rows = await self._all(
            "SELECT DISTINCT community_id FROM user_stats WHERE user_id = ? ORDER BY community_id", (user_id,)
        )
        return [r[0] for r in rows]

    async def ranked_count(self, frame: str, community: int, lang: str = "") -> int:
        return await self._int(
            """SELECT count(*) FROM user_stats
               WHERE community_id = ? AND lang = ? AND time_frame = ? AND rank IS NOT NULL""",
            (community, lang, frame),
        )

    async def messages_per_role(self, lang: str | None) -> dict[str, int]:
        sql = """SELECT CASE WHEN m.parent_id IS NULL THEN 'prompt' ELSE m.role END, count(*)
                 FROM messages m JOIN trees t ON t.id = m.tree_id WHERE m.deleted = 0"""
        rows = await self._all(
            sql + " AND t.lang = ? GROUP BY 1" if lang else sql + " GROUP BY 1", (lang,) if lang else ()
        )
        return {r[0]: r[1] for r in rows}

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in chunks(list(user_ids)):
            rows = await self._all(
                f"SELECT id, display_name, username FROM users WHERE id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            out.update({r[0]: r[1] or r[2] for r in rows})
        return out

    async def tree_counts_by_lang(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for lang, state, n in await self._all("SELECT lang, state, count(*) FROM trees GROUP BY lang, state"):
            out.setdefault(lang, {})[state] = n
        return out
