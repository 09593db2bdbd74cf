"""The dataset read model on PostgreSQL: `storage.exports.ExportQueries`' statements with PostgreSQL's JSON.

The same arrays with the same fields in the same order as SQLite's; only the pieces that build them differ
(json_build_array, json_agg, casts to json). The export decodes them the same way, so a dataset exported from
either database is byte for byte the same file (tests/storage/test_pg_migrate.py).
"""

from __future__ import annotations

from storage.exports import ExportQueries

# A message's creation time as oasst writes it: whole microseconds, ISO 8601 in UTC (SQLite's CAST truncates)
_US = "trunc(m.created_at * 1000000 + 0.5)::bigint"
_F = f"((({_US}) % 1000000 + 1000000) % 1000000)"
_DATE = f"""to_char(to_timestamp(({_US} - {_F}) / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN {_F} <> 0 THEN '.' || lpad({_F}::text, 6, '0') ELSE '' END || '+00:00'"""
_BALLOT_COMMON = """'type', 'ranking', 'user_id', r.user_id, 'ranking', coalesce(r.ranking, '[]')::json,
                    'ranked_message_ids', r.ranked_ids::json, 'ranking_parent_id', r.parent_id,
                    'message_tree_id', r.tree_id"""


class PgExportQueries(ExportQueries):
    MESSAGE_FIELDS = f"""m.id, m.parent_id, m.user_id, {_DATE}, m.text, m.role, m.lang, m.review_count,
                         m.review_result, m.deleted, m.rank, m.synthetic, m.model_name, m.emojis::json,
                         m.imported::json, m.tree_id"""
    BALLOT = f"""json_build_array(r.parent_id, CASE WHEN r.not_rankable = 1
                 THEN json_build_object({_BALLOT_COMMON}, 'not_rankable', true, 'shown_message_ids', r.shown_ids::json)
                 ELSE json_build_object({_BALLOT_COMMON}, 'shown_message_ids', r.shown_ids::json) END)"""
    EMOJI = "json_build_array(e.message_id, json_build_object('type', 'emoji', 'user_id', e.user_id, 'emoji', e.emoji))"
    LABELS = (  # label rows in the order they were stored
        "json_build_array({t}message_id, '[' || string_agg({t}labels, ',' ORDER BY {t}created_at, {t}id) || ']')"
        " AS item"
    )
    MEMBER = "json_build_array(u.id, u.auth_method, u.username, u.dataset_opt_out = 1 OR u.deleted = 1)"
    ARRAY = "json_build_array"
    ITEM = "item"  # already JSON

    def _agg(self, value: str) -> str:
        return f"json_agg({value})"

    def _as_json(self, column: str) -> str:
        return f"{column}::json"
