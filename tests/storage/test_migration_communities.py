"""Migration 0008 (communities): a database from before it moves whole into community 1, owned by the first server
that used Grove there, and passes `grove check`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.check import check_database
from engine.guilds import GuildSettings
from storage.database import Database, migrations, split_statements

FIRST_SERVER, LATER_SERVER = 222, 111


def at_schema(path: Path, version: int) -> sqlite3.Connection:
    """A new database file migrated up to `version` only (a database from an older Grove), left open."""
    conn = sqlite3.connect(path)
    for number, _, sql in migrations():
        if number > version:
            break
        for statement in split_statements(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    return conn


def old_database(path: Path) -> None:
    """Schema 7 (before communities) holding a member, a tree in review, a task, a post, stats and a log line."""
    conn = at_schema(path, 7)
    conn.executescript(
        f"""
        INSERT INTO users (id, auth_method, username, display_name, created_at) VALUES (1, 'discord', '42', 'Ann', 1);
        INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count, created_at,
                           state_changed_at) VALUES ('t1', 'initial_prompt_review', 1, 'en', 12, 5, 3, 1, 1);
        INSERT INTO messages (id, tree_id, user_id, task_id, role, text, lang, depth, created_at)
            VALUES ('t1', 't1', 1, 'k1', 'prompter', 'What is moss?', 'en', 0, 1);
        INSERT INTO tasks (id, user_id, type, lang, tree_id, status, created_at, ended_at)
            VALUES ('k1', 1, 'initial_prompt', 'en', NULL, 'done', 1, 2);
        INSERT INTO guild_settings (guild_id, feed_channel_id, updated_at) VALUES ({LATER_SERVER}, 5, 50);
        INSERT INTO discord_posts (discord_message_id, message_id, guild_id, channel_id, kind, created_at)
            VALUES (9, 't1', {FIRST_SERVER}, 7, 'feed', 3);
        INSERT INTO moderation_log (at, actor_id, action, target) VALUES (4, 1, 'halt', 't1');
        INSERT INTO user_stats (time_frame, user_id, modified_at, leader_score, rank, prompts)
            VALUES ('total', 1, 5, 2, 1, 1);
        """
    )
    conn.commit()
    conn.close()


async def test_old_data_moves_into_the_first_servers_community(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_database(path)
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(migrations())
        async with db.read() as repo:
            for table in ("trees", "tasks", "moderation_log", "user_stats"):
                values = await repo._all(f"SELECT DISTINCT community_id FROM {table}")
                assert [tuple(v) for v in values] == [(1,)], table
            stats = await repo.stats.stats_of("total", 1, 1)
            assert stats is not None and stats["lang"] == "" and stats["rank"] == 1
        settings = GuildSettings(db)
        assert await settings.guilds_of(1) == [FIRST_SERVER]  # the earliest post, before the later settings
        assert await settings.community_of(FIRST_SERVER) == 1
        assert await settings.community_of(LATER_SERVER) == 2  # a later server gets its own, empty community
        assert await check_database(db) == []
    finally:
        await db.close()


async def test_a_fresh_database_gives_community_1_to_the_first_server(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new.db")
    try:
        settings = GuildSettings(db)
        assert await settings.community_of(555) == 1
        assert await settings.community_of(666) == 2
        assert await settings.community_of(555) == 1
        assert [c.guild_ids for c in await settings.communities()] == [(555,), (666,)]
    finally:
        await db.close()
