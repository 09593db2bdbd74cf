"""The dataset read model on PostgreSQL: `storage.exports.ExportQueries`' pages, built with PostgreSQL's JSON.

The same arrays with the same fields in the same order as SQLite's (see `storage.exports`); only the functions
that build them differ (json_build_array, json_agg). The export decodes them the same way, so a dataset exported
from either database is byte for byte the same file (tests/engine/test_export*.py run on both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.exports import ExportQueries, _marks, _tree_filters
from storage.sql import chunks

# A message's creation time as oasst writes it: whole microseconds, ISO 8601 in UTC (SQLite's CAST truncates)
_US = "trunc(m.created_at * 1000000 + 0.5)::bigint"
_F = f"((({_US}) % 1000000 + 1000000) % 1000000)"
_DATE = f"""to_char(to_timestamp(({_US} - {_F}) / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN {_F} <> 0 THEN '.' || lpad({_F}::text, 6, '0') ELSE '' END || '+00:00'"""
_MESSAGE_FIELDS = f"""m.id, m.parent_id, m.user_id, {_DATE}, m.text, m.role, m.lang, m.review_count,
                      m.review_result, m.deleted, m.rank, m.synthetic, m.model_name, m.emojis::json,
                      m.imported::json, m.tree_id"""
_MESSAGE = f"json_build_array({_MESSAGE_FIELDS})"
_BALLOT_COMMON = """'type', 'ranking', 'user_id', r.user_id, 'ranking', coalesce(r.ranking, '[]')::json,
                    'ranked_message_ids', r.ranked_ids::json, 'ranking_parent_id', r.parent_id,
                    'message_tree_id', r.tree_id"""
_BALLOT = f"""json_build_array(r.parent_id, CASE WHEN r.not_rankable = 1
                 THEN json_build_object({_BALLOT_COMMON}, 'not_rankable', true, 'shown_message_ids', r.shown_ids::json)
                 ELSE json_build_object({_BALLOT_COMMON}, 'shown_message_ids', r.shown_ids::json) END)"""
_EMOJI = "json_build_array(e.message_id, json_build_object('type', 'emoji', 'user_id', e.user_id, 'emoji', e.emoji))"
_LABELS = (  # label rows in the order they were stored
    "json_build_array({t}message_id, '[' || string_agg({t}labels, ',' ORDER BY {t}created_at, {t}id) || ']') AS item"
)
_MEMBER = "json_build_array(u.id, u.auth_method, u.username, u.dataset_opt_out = 1 OR u.deleted = 1)"


def _agg(item: str) -> str:
    return f"coalesce(json_agg({item}), '[]')"


class PgExportQueries(ExportQueries):
    async def page(
        self,
        *,
        states: Sequence[str] | None,
        lang: str | None,
        after: str,
        limit: int,
        labels: bool,
        events: bool,
        community: int | None = None,
        upto: str | None = None,
    ) -> tuple[str, str, str, str, str]:
        conds, params = ["id > ?", "withdrawn_at IS NULL"], list[Any]([after])
        if upto is not None:
            conds.append("id <= ?")
            params.append(upto)
        conds += _tree_filters(params, states, lang, community)
        none = "'[]'"
        in_page = "m.tree_id IN (SELECT id FROM page)"
        label_rows = f"""(SELECT {_agg("item")} FROM (
                SELECT {_LABELS.format(t="l.")} FROM messages m JOIN labels l ON l.message_id = m.id
                WHERE {in_page} GROUP BY l.message_id ORDER BY l.message_id) x)"""
        emojis = f"""(SELECT {_agg(_EMOJI)} FROM (
                SELECT e.* FROM messages m JOIN message_emojis e ON e.message_id = m.id
                WHERE {in_page} ORDER BY e.message_id, e.created_at, e.user_id) e)"""
        ballots = f"""(SELECT {_agg(_BALLOT)} FROM (
                SELECT r.* FROM messages m JOIN rankings r ON r.parent_id = m.id
                WHERE {in_page} ORDER BY r.parent_id, r.created_at, r.task_id) r)"""
        row = await self._one(
            f"""WITH page AS MATERIALIZED (
                    SELECT id, state, imported FROM trees WHERE {" AND ".join(conds)} ORDER BY id LIMIT ?)
                SELECT (SELECT {_agg("json_build_array(p.id, p.state, p.imported::json)")} FROM
                            (SELECT * FROM page ORDER BY id) p),
                       (SELECT {_agg(_MESSAGE)} FROM (
                            SELECT * FROM messages WHERE tree_id IN (SELECT id FROM page)
                            ORDER BY tree_id, depth, created_at, id) m),
                       {label_rows if labels else none}, {emojis if events else none}, {ballots if events else none}""",
            (*params, limit),
        )
        assert row is not None
        texts = tuple(str(v) if v is not None else "[]" for v in row)
        return texts[0], texts[1], texts[2], texts[3], texts[4]

    async def members(self, user_ids: Sequence[int]) -> list[str]:
        return [
            await self._json(f"SELECT {_agg(_MEMBER)} FROM users u WHERE u.id IN ({_marks(c)})", c)
            for c in chunks(user_ids)
        ]

    async def user_messages(self, user_id: int, after: str, limit: int, community: int | None = None) -> str:
        return await self._json(
            f"""SELECT {
                _agg(f'''json_build_array({_MESSAGE_FIELDS},
                       (SELECT t.state FROM trees t WHERE t.id = m.tree_id),
                       EXISTS (SELECT 1 FROM messages s WHERE s.tree_id = m.tree_id AND s.synthetic = 1))''')
            }
                FROM (SELECT * FROM messages m WHERE m.user_id = ? AND m.id > ? AND EXISTS (SELECT 1 FROM trees t
                      WHERE t.id = m.tree_id AND t.withdrawn_at IS NULL AND (? IS NULL OR t.community_id = ?))
                      ORDER BY m.id LIMIT ?) m""",
            (user_id, after, community, community, limit),
        )

    async def labels(self, message_ids: Sequence[str]) -> list[str]:
        return [
            await self._json(
                f"""SELECT {_agg("item")} FROM (
                        SELECT {_LABELS.format(t="")} FROM labels WHERE message_id IN ({_marks(chunk)})
                        GROUP BY message_id ORDER BY message_id) x""",
                chunk,
            )
            for chunk in chunks(message_ids)
        ]

    async def emoji_events(self, message_ids: Sequence[str]) -> list[str]:
        return [
            await self._json(
                f"""SELECT {_agg(_EMOJI)} FROM (
                        SELECT * FROM message_emojis WHERE message_id IN ({_marks(chunk)})
                        ORDER BY message_id, created_at, user_id) e""",
                chunk,
            )
            for chunk in chunks(message_ids)
        ]

    async def ranking_events(self, parent_ids: Sequence[str]) -> list[str]:
        return [
            await self._json(
                f"""SELECT {_agg(_BALLOT)} FROM (
                        SELECT * FROM rankings WHERE parent_id IN ({_marks(chunk)})
                        ORDER BY parent_id, created_at, task_id) r""",
                chunk,
            )
            for chunk in chunks(parent_ids)
        ]
