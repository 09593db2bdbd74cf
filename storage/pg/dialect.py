"""Grove's SQL is written once, in SQLite's dialect; this turns a statement into PostgreSQL's (issue 19).

Most of the shared SQL is standard. What is not is either rewritten here (placeholders, `INSERT OR IGNORE`, `IS 0`,
SQLite's JSON paths, `group_concat`) or provided on the PostgreSQL side by the few functions `schema.sql` defines
with SQLite's names and meaning (`sum` over booleans, the two-argument `min`/`max`). Each distinct statement is
translated once and cached: the shared SQL is a fixed set of strings.
"""

from __future__ import annotations

import re
from functools import lru_cache

_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_IS_VALUE = re.compile(r"\bIS\s+(NOT\s+)?([01]\b|\?|:\w+)", re.IGNORECASE)  # SQLite's IS compares any two values
_JSON_NUMBER = re.compile(r"coalesce\(json_extract\(([\w.]+), '\$\.(\w+)'\), 0\)")
_JSON_KEY = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\)")
_JSON_INDEX = re.compile(r"json_extract\(([\w.]+), '\$\[(\d+)\]'\)")
_JSON_EACH = re.compile(r"json_each\(([\w.]+)\)\s+(\w+)")
_GROUP_CONCAT = re.compile(r"group_concat\(([\w.]+)(?:, ('[^']*'))?\)")
_JSON_GROUP_OBJECT = re.compile(r"json_group_object\((\w+), (\w+)\)")
_CAST_REAL = re.compile(r"\bAS\s+REAL\)", re.IGNORECASE)
_CROSS_JOIN_ON = re.compile(r"\bCROSS JOIN (\w+ \w+) ON\b")  # SQLite's way to fix the join order
_TABLE_INFO = re.compile(r"^PRAGMA table_info\(\"?(\w+)\"?\)$")
_UNARY_PLUS = re.compile(r"(?<=[\s(])\+(?=[a-z_])")  # SQLite's "+column": keep the planner off an index


# SQLite's catalogue, as the checks and tools ask it: every table of Grove's schema
_CATALOG = {
    "SELECT name FROM sqlite_master WHERE type = 'table'": (
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ),
}


def _rewrite(sql: str) -> str:
    """The dialect rewrites proper, on the statement's text outside its string literals where it matters."""
    if sql in _CATALOG:
        return _CATALOG[sql]
    if info := _TABLE_INFO.match(sql):
        return (
            "SELECT ordinal_position - 1 AS cid, column_name AS name FROM information_schema.columns"
            f" WHERE table_schema = current_schema() AND table_name = '{info.group(1)}' ORDER BY ordinal_position"
        )
    sql = _CROSS_JOIN_ON.sub(r"JOIN \1 ON", sql)
    if _INSERT_OR_IGNORE.search(sql):
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
        returning = _RETURNING.search(sql)
        if returning is None:
            sql = sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        else:
            sql = sql[: returning.start()] + "ON CONFLICT DO NOTHING " + sql[returning.start() :]
    sql = _IS_VALUE.sub(lambda m: f"IS {'DISTINCT' if m.group(1) else 'NOT DISTINCT'} FROM {m.group(2)}", sql)
    sql = _JSON_NUMBER.sub(r"coalesce((\1::jsonb->>'\2')::double precision, 0)", sql)
    sql = _JSON_KEY.sub(r"(\1::jsonb->>'\2')", sql)
    sql = _JSON_INDEX.sub(r"(\1::jsonb->>\2)", sql)
    sql = _JSON_EACH.sub(  # an array's elements as rows: (value, key = 0-based position), as SQLite's json_each
        r"LATERAL (SELECT e.value, e.n - 1 AS key"
        r" FROM jsonb_array_elements_text(\1::jsonb) WITH ORDINALITY AS e(value, n)) \2",
        sql,
    )
    sql = _GROUP_CONCAT.sub(lambda m: f"string_agg({m.group(1)}::text, {m.group(2) or chr(39) + ',' + chr(39)})", sql)
    sql = _JSON_GROUP_OBJECT.sub(  # SQLite's compact text ({"a":1,"b":2}), byte for byte
        r"coalesce('{' || string_agg(to_json(\1)::text || ':' || \2, ',') || '}', '{}')", sql
    )
    sql = _UNARY_PLUS.sub("", sql)
    return _CAST_REAL.sub("AS double precision)", sql)


@lru_cache(maxsize=4096)
def to_postgres(sql: str, has_params: bool = True) -> str:
    """`sql` (SQLite's dialect, `?` or `:name` placeholders) in PostgreSQL's dialect with psycopg's placeholders
    (`%s`, `%(name)s`). Without parameters psycopg reads no placeholders, so a `%` stays as it is."""
    sql = _rewrite(sql)
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):  # a string literal or a quoted name: copied whole ('' and "" stay doubled)
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            chunk = sql[i : end + 1]
            out.append(chunk.replace("%", "%%") if has_params else chunk)
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):  # a comment, to the end of its line
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(" ")
            i = end
        elif ch == "?" and has_params:
            out.append("%s")
            i += 1
        elif ch == ":" and has_params and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            if i > 0 and sql[i - 1] == ":":  # a PostgreSQL cast (::type), never a parameter
                out.append(ch)
                i += 1
                continue
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            out.append(f"%({sql[i + 1 : end]})s")
            i = end
        elif ch == "%" and has_params:
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_PARAM_NULL_TEST = re.compile(r"(\?|:\w+)\s+IS\s+(NOT\s+)?NULL", re.IGNORECASE)


@lru_cache(maxsize=4096)
def needs_client_binding(sql: str) -> bool:
    """Whether a statement's parameters must be bound on the client: one tested with IS NULL has no type the
    server could infer. Every other statement is bound on the server, where a statement run often is prepared once
    and planned once (the hand-out's snapshot spent half its time in the planner)."""
    return bool(_PARAM_NULL_TEST.search(sql))
