"""`grove migrate --from sqlite:PATH --to postgresql://…`: a SQLite database's rows copied into PostgreSQL.

Every table of the schema, every row, every column, in one PostgreSQL transaction: the target holds all of it or,
on any error, nothing. Rows go in an order the foreign keys accept (parents before children, messages by depth).
The target must hold no data yet; its schema is created when missing. The SQLite file is only read (after being
brought to the current schema, as every grove command does).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage.database import Database
from storage.pg.database import PgDatabase, _connect

# Parents before children (foreign keys are checked row by row); within messages, parents before replies.
TABLES: tuple[tuple[str, str], ...] = (
    ("communities", "id"),
    ("users", "id"),
    ("trees", "id"),
    ("messages", "depth, created_at, id"),
    ("tasks", "created_at, id"),
    ("labels", "created_at, id"),
    ("rankings", "created_at, task_id"),
    ("message_emojis", "message_id, user_id, emoji"),
    ("flagged_messages", "message_id"),
    ("moderation_log", "id"),
    ("guild_settings", "guild_id"),
    ("language_channels", "guild_id, channel_id"),
    ("discord_posts", "discord_message_id"),
    ("job_runs", "job_id"),
    ("loose_messages", "rowid"),
    ("guild_communities", "guild_id"),
    ("community_bans", "community_id, user_id"),
    ("notifications", "id"),
    ("user_stats", "community_id, lang, time_frame, user_id"),
    ("guild_languages", "guild_id, lang"),
    ("tree_changes", "tree_id"),
)
BATCH = 2000


class MigrateError(Exception):
    """Why the copy cannot be made (one sentence for the operator)."""


def copy(sqlite_path: Path, url: str, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of the SQLite database at `sqlite_path` into the PostgreSQL database at `url`; the rows
    copied per table. Raises MigrateError when the source is missing or the target already holds data."""
    if not sqlite_path.is_file():
        raise MigrateError(f"no SQLite database at {sqlite_path}")

    async def prepare() -> None:
        source = await Database.open(sqlite_path)  # the current schema, as the copy expects it
        await source.close()
        target = await PgDatabase.open(url)  # creates the schema in an empty database
        await target.close()

    asyncio.run(prepare())
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    dst = _connect(url)
    counts: dict[str, int] = {}
    try:
        busy = [t for t, _ in TABLES if t not in ("communities", "job_runs") and _has_rows(dst, t)]
        if busy:
            raise MigrateError(f"the PostgreSQL database already holds data (table {busy[0]}); give an empty one")
        dst.execute("BEGIN")
        try:
            dst.execute("DELETE FROM communities")  # the schema's default community; the source has its own
            dst.execute("DELETE FROM job_runs")
            for table, order in TABLES:
                counts[table] = _copy_table(src, dst, table, order, progress)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
    finally:
        src.close()
        dst.close()
    return counts


def _has_rows(dst: Any, table: str) -> bool:
    return bool(dst.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0])


def _copy_table(
    src: sqlite3.Connection, dst: Any, table: str, order: str, progress: Callable[[str, int], None] | None
) -> int:
    columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(columns)
    cursor = src.execute(f"SELECT {names} FROM {table} ORDER BY {order}")
    copied = 0
    with dst.cursor() as out, out.copy(f"COPY {table} ({names}) FROM STDIN") as rows_in:  # PostgreSQL's bulk path
        while rows := cursor.fetchmany(BATCH):
            for row in rows:
                rows_in.write_row(row)
            copied += len(rows)
            if progress is not None:
                progress(table, copied)
    return copied
