"""The export read model: trees, messages, labels and events, streamed in pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from storage.sql import Queries, chunks, words


class ExportQueries(Queries):
    async def tree_page(
        self, *, states: Sequence[str] | None, lang: str | None, after: str, limit: int
    ) -> list[tuple[str, str]]:
        """(tree id, state) of the next page of trees after `after`, in id order."""
        conds, params = ["id > ?"], [after]
        if states is not None:
            conds.append(f"state IN {words(states)}")
        if lang is not None:
            conds.append("lang = ?")
            params.append(lang)
        rows = await self._all(
            f"SELECT id, state FROM trees WHERE {' AND '.join(conds)} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [(r[0], r[1]) for r in rows]

    async def messages(self, tree_ids: Sequence[str]) -> list[dict[str, Any]]:
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

    async def user_messages(self, user_id: int, after: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._all(
            """SELECT m.*, (u.dataset_opt_out = 1 OR u.deleted = 1) AS author_excluded, t.state AS tree_state
               FROM messages m JOIN users u ON u.id = m.user_id JOIN trees t ON t.id = m.tree_id
               WHERE m.user_id = ? AND m.id > ? ORDER BY m.id LIMIT ?""",
            (user_id, after, limit),
        )
        return [dict(r) for r in rows]

    async def labels(self, message_ids: Sequence[str]) -> dict[str, list[dict[str, float]]]:
        """message id -> the label values of every label row on it (reviews, free labels and reports)."""
        out: dict[str, list[dict[str, float]]] = {}
        for chunk in chunks(message_ids):
            rows = await self._all(
                f"SELECT message_id, labels FROM labels WHERE message_id IN ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            for message_id, labels in rows:
                out.setdefault(message_id, []).append(json.loads(labels))
        return out

    async def emoji_events(self, message_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        out: dict[str, list[tuple[int, str]]] = {}
        for chunk in chunks(message_ids):
            rows = await self._all(
                f"""SELECT message_id, user_id, emoji FROM message_emojis
                    WHERE message_id IN ({",".join("?" * len(chunk))}) ORDER BY message_id, created_at, user_id""",
                tuple(chunk),
            )
            for message_id, user_id, emoji in rows:
                out.setdefault(message_id, []).append((user_id, emoji))
        return out

    async def ranking_events(self, parent_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(parent_ids):
            rows = await self._all(
                f"""SELECT * FROM rankings WHERE parent_id IN ({",".join("?" * len(chunk))})
                    ORDER BY parent_id, created_at, task_id""",
                tuple(chunk),
            )
            for r in rows:
                out.setdefault(r["parent_id"], []).append(dict(r))
        return out
