"""The dataset's way in: bulk writes of imported trees, messages, loose messages and their authors.

Reached as `repo.imports` inside a `Database.transaction()`: one batch of trees is one unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from storage.sql import Queries, chunks


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class MemberIds(Queries):
    """What a member's exported id is made of (see `engine.oasst.public_member_id`)."""

    async def member_seed(self) -> str:
        """What makes this database's member ids its own: when its first member was created ("" before that).
        Users rows are never deleted, and the value never changes."""
        first = await self._scalar("SELECT created_at FROM users ORDER BY id LIMIT 1")
        return "" if first is None else repr(float(first))

    async def member_list(self) -> list[tuple[int, str, str]]:
        """(id, auth_method, username) of every member."""
        rows = await self._all("SELECT id, auth_method, username FROM users ORDER BY id")
        return [(r[0], r[1], r[2]) for r in rows]


class ImportWrites(MemberIds):
    async def existing_trees(self, tree_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for chunk in chunks(tree_ids):
            rows = await self._all(f"SELECT id FROM trees WHERE id IN ({_marks(chunk)})", tuple(chunk))
            out.update(r[0] for r in rows)
        return out

    async def existing_messages(self, message_ids: Sequence[str]) -> dict[str, str]:
        """message id -> "tree" (a message of a tree) or "loose" (a loose message), for the ids already stored."""
        out: dict[str, str] = {}
        for chunk in chunks(message_ids):
            marks = _marks(chunk)
            rows = await self._all(
                f"""SELECT id, 'loose' FROM loose_messages WHERE id IN ({marks})
                    UNION ALL SELECT id, 'tree' FROM messages WHERE id IN ({marks})""",
                (*chunk, *chunk),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    async def drop_loose(self, message_ids: Sequence[str]) -> None:
        """Forget loose copies of messages that now arrive with their tree."""
        await self._c.executemany("DELETE FROM loose_messages WHERE id = ?", [(i,) for i in message_ids])

    async def members(self, auth_method: str, usernames: Sequence[str]) -> dict[str, int]:
        """username -> member id, for the given usernames that exist under `auth_method`."""
        out: dict[str, int] = {}
        for chunk in chunks(usernames):
            rows = await self._all(
                f"SELECT username, id FROM users WHERE auth_method = ? AND username IN ({_marks(chunk)})",
                (auth_method, *chunk),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    async def add_members(self, auth_method: str, usernames: Sequence[str], now: float) -> dict[str, int]:
        """Create members kept off the leaderboard (authors known only from a file); username -> member id."""
        await self._c.executemany(
            """INSERT OR IGNORE INTO users (auth_method, username, display_name, show_on_leaderboard, created_at,
                                            streak_last_day_at) VALUES (?, ?, '', 0, ?, ?)""",
            [(auth_method, u, now, now) for u in usernames],
        )
        return await self.members(auth_method, usernames)

    async def insert_trees(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (id, state, active, lang, goal_tree_size, max_depth, max_children_count, origin,
        won_prompt_lottery_at, created_at, imported, community_id)."""
        await self._c.executemany(
            """INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count, origin,
                                  won_prompt_lottery_at, created_at, state_changed_at, imported, community_id)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)""",
            rows,
        )

    async def insert_messages(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (id, tree_id, parent_id, user_id, role, text, lang, depth, created_at, deleted, review_count,
        review_result, rank, synthetic, model_name, emojis, imported); parents before their replies."""
        await self._c.executemany(
            """INSERT INTO messages (id, tree_id, parent_id, user_id, role, text, lang, depth, created_at, deleted,
                                     review_count, review_result, rank, synthetic, model_name, emojis, imported)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )

    async def insert_loose(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (id, user_id, lang, tree_state, deleted, review_result, synthetic, node, community_id)."""
        await self._c.executemany(
            """INSERT INTO loose_messages (id, user_id, lang, tree_state, deleted, review_result, synthetic, node,
                                            community_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
