"""The write model: what the rules change, and the point reads they decide on.

`Repository` is one unit of work's view of the database (see `Database.transaction`). Its
writes are grouped by aggregate in `storage/messages.py` and `storage/tasks.py`; the read
models (hand-out, export, stats, guild settings, job runs) hang off it as attributes, one
module each, sharing its connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from engine.records import TreeRow, UserRow
from storage.active import ActiveSet
from storage.exports import ExportQueries
from storage.guilds import GuildQueries
from storage.handout import HandOutQueries
from storage.history import HistoryQueries
from storage.imports import ImportWrites
from storage.jobs import JobRuns
from storage.messages import MessageWrites
from storage.privacy import PrivacyQueries
from storage.rows import tree_from, user_from
from storage.sql import Conn
from storage.stats import StatsQueries
from storage.tasks import TaskWrites


class Repository(MessageWrites, TaskWrites):
    def __init__(self, conn: Conn, active: ActiveSet | None = None) -> None:
        super().__init__(conn)
        self._model = active  # its hot writes keep the model in step (`storage.active_patches`)
        self.handout = HandOutQueries(conn, active)
        self.exports = ExportQueries(conn)
        self.stats = StatsQueries(conn)
        self.guilds = GuildQueries(conn)
        self.jobs = JobRuns(conn)
        self.history = HistoryQueries(conn)  # /history and the notifications waiting for a DM
        self.imports = ImportWrites(conn)  # the dataset's way in: same connection, same unit of work
        self.privacy = PrivacyQueries(conn)  # consent, remove my name, delete my texts (issue 15)

    async def savepoint(self, name: str) -> None:
        await self._run(f"SAVEPOINT {name}")

    async def release(self, name: str) -> None:
        await self._run(f"RELEASE {name}")

    async def rollback_to(self, name: str) -> None:
        await self._run(f"ROLLBACK TO {name}")
        await self._run(f"RELEASE {name}")

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

    async def set_ui_locale(self, user_id: int, locale: str | None) -> None:
        await self._run("UPDATE users SET ui_locale = ? WHERE id = ?", (locale, user_id))

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
        community: int,
        origin: str | None = None,
        won_prompt_lottery_at: float | None = None,
    ) -> None:
        await self._run(
            """INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count,
                                  origin, won_prompt_lottery_at, created_at, state_changed_at, community_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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
                community,
            ),
        )

    async def community_of_tree(self, tree_id: str) -> int | None:
        return cast(int | None, await self._scalar("SELECT community_id FROM trees WHERE id = ?", (tree_id,)))

    async def set_tree_state(
        self, tree_id: str, state: str, active: bool, now: float, *, halted_from: str | None, stamp_lottery: bool
    ) -> None:
        sql = """UPDATE trees SET state = ?, active = ?, state_changed_at = ?, halted_from = ?,
                     won_prompt_lottery_at = CASE WHEN ? = 1 AND won_prompt_lottery_at IS NULL THEN ?
                                                  ELSE won_prompt_lottery_at END
                 WHERE id = ?"""
        params = (state, int(active), now, halted_from, int(stamp_lottery), now, tree_id)
        model = self._model
        await self._tracked(
            lambda: self._run(sql, params),
            None if model is None else lambda trees, _: model.tree_moved(trees, tree_id, state, active),
        )

    async def tree_counts(self, lang: str | None = None, community: int | None = None) -> dict[str, int]:
        """Trees per state, of one language and/or community (None: all)."""
        rows = await self._all(
            """SELECT state, count(*) FROM trees WHERE (:lang IS NULL OR lang = :lang)
                 AND (:community IS NULL OR community_id = :community) GROUP BY state""",
            {"lang": lang, "community": community},
        )
        return {r[0]: r[1] for r in rows}

    async def count_trees(self, community: int, lang: str, state: str, *, active_only: bool) -> int:
        sql = "SELECT count(*) FROM trees WHERE community_id = ? AND lang = ? AND state = ?"
        if active_only:
            sql += " AND active = 1"
        return await self._int(sql, (community, lang, state))

    async def tree_ids_in_state(self, state: str, lang: str | None = None) -> list[str]:
        if lang is None:
            rows = await self._all("SELECT id FROM trees WHERE state = ? ORDER BY id", (state,))
        else:
            rows = await self._all("SELECT id FROM trees WHERE state = ? AND lang = ? ORDER BY id", (state, lang))
        return [r[0] for r in rows]

    async def latest_time(self) -> float | None:
        """The newest timestamp the database holds (to continue a simulation's clock)."""
        latest = await self._scalar(
            """SELECT max(t) FROM (SELECT max(created_at) AS t FROM tasks UNION ALL
                                  SELECT max(ended_at) FROM tasks UNION ALL
                                  SELECT max(created_at) FROM users) latest"""
        )
        return cast(float | None, latest)

    async def languages(self, community: int | None = None) -> list[str]:
        if community is None:
            return [r[0] for r in await self._all("SELECT DISTINCT lang FROM trees ORDER BY lang")]
        rows = await self._all("SELECT DISTINCT lang FROM trees WHERE community_id = ? ORDER BY lang", (community,))
        return [r[0] for r in rows]

    async def community_languages(self) -> list[tuple[int, str]]:
        """(community, language) of every pool that holds trees: what the scheduled passes go over."""
        rows = await self._all("SELECT DISTINCT community_id, lang FROM trees ORDER BY community_id, lang")
        return [(r[0], r[1]) for r in rows]

    async def lottery_candidates(self, community: int, lang: str, month_start: float) -> dict[int, int]:
        """Authors of accepted, undeleted waiting prompts in `lang` who may still take part, with the
        number of times a reply of theirs was ranked best in a ballot since `month_start`."""
        rows = await self._all(
            """SELECT DISTINCT m.user_id FROM trees t
               JOIN messages m ON m.id = t.id
               JOIN users u ON u.id = m.user_id
               WHERE t.community_id = ? AND t.lang = ? AND t.state = 'prompt_lottery_waiting'
                 AND m.deleted = 0 AND m.review_result = 1 AND u.enabled = 1 AND u.deleted = 0
                 AND NOT EXISTS (SELECT 1 FROM community_bans b
                                 WHERE b.community_id = t.community_id AND b.user_id = m.user_id)""",
            (community, lang),
        )
        authors = {r[0]: 0 for r in rows}
        if not authors:
            return authors
        placeholders = ",".join("?" * len(authors))
        firsts = await self._all(  # from the authors' replies, through rankings_first (migration 0011)
            f"""SELECT m.user_id, count(*) FROM messages m
                CROSS JOIN rankings r ON json_extract(r.ranked_ids, '$[0]') = +m.id AND +r.created_at >= ?
                WHERE m.user_id IN ({placeholders}) AND m.parent_id IS NOT NULL
                GROUP BY m.user_id""",
            (month_start, *authors),
        )
        for user_id, n in firsts:
            authors[user_id] = n
        return authors

    async def waiting_prompts_of(self, community: int, lang: str, user_id: int, limit: int = 100) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id
               WHERE t.community_id = ? AND t.lang = ? AND t.state = 'prompt_lottery_waiting' AND m.user_id = ?
                 AND m.deleted = 0 AND m.review_result = 1
               ORDER BY t.id LIMIT ?""",
            (community, lang, user_id, limit),
        )
        return [r[0] for r in rows]

    async def waiting_trees_of_disabled_authors(self) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id JOIN users u ON u.id = m.user_id
               WHERE t.state = 'prompt_lottery_waiting' AND (u.enabled = 0 OR u.deleted = 1)
               ORDER BY t.id"""
        )
        return [r[0] for r in rows]

    async def waiting_trees_of_user(self, user_id: int, community: int | None = None) -> list[str]:
        rows = await self._all(
            """SELECT t.id FROM trees t JOIN messages m ON m.id = t.id
               WHERE t.state = 'prompt_lottery_waiting' AND m.user_id = :user
                 AND (:community IS NULL OR t.community_id = :community) ORDER BY t.id""",
            {"user": user_id, "community": community},
        )
        return [r[0] for r in rows]

    async def backlog_tree(self, community: int, lang: str, exclude: Sequence[str] = ()) -> str | None:
        rows = await self._all(
            """SELECT id FROM trees WHERE community_id = ? AND state = 'backlog_ranking' AND lang = ?
               ORDER BY id LIMIT ?""",
            (community, lang, len(exclude) + 1),
        )
        tree_ids: list[str] = [r[0] for r in rows]
        for tree_id in tree_ids:
            if tree_id not in exclude:
                return tree_id
        return None

    async def user_by_id_or_name(self, ident: str) -> UserRow | None:
        """A member by front-end username (e.g. a Discord id) first, else by internal id."""
        row = await self._one("SELECT * FROM users WHERE username = ? ORDER BY id LIMIT 1", (ident,))
        if row is None and ident.isdigit():
            row = await self._one("SELECT * FROM users WHERE id = ?", (int(ident),))
        return None if row is None else user_from(row)

    async def erase_texts_of_user(self, user_id: int) -> None:
        """Blank every text the member wrote: their messages (already deleted) and their drafts."""
        await self._run("UPDATE messages SET text = '' WHERE user_id = ?", (user_id,))
        await self._run("UPDATE tasks SET draft = NULL WHERE user_id = ? AND draft IS NOT NULL", (user_id,))
