"""The PostgreSQL backend's own pieces (issue 19): the dialect, the schema's numbering, what only it does.

Everything the engine does runs on both backends through the `db` fixture (tests/engine, tests/storage); these
are the parts that have no SQLite twin to compare with.
"""

from __future__ import annotations

import pytest

from bot.config import ConfigError, DatabaseSettings, GroveConfig
from bot.runner import shard_of
from storage.database import migrations
from storage.pg.database import BASE_VERSION, SCHEMA_VERSION, PgDatabase, pg_migrations
from storage.pg.dialect import to_postgres
from storage.store import is_postgres_url


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = :b", "SELECT * FROM t WHERE a = %s AND b = %(b)s"),
        ("SELECT '50% of ?' , ? ", "SELECT '50%% of ?' , %s "),  # literals keep their ? and their %
        ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING"),
        (
            "INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING a",
            "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING a",
        ),
        (
            "x IS NOT 0 AND y IS 1 AND z IS ?",
            "x IS DISTINCT FROM 0 AND y IS NOT DISTINCT FROM 1 AND z IS NOT DISTINCT FROM %s",
        ),
        ("a IS NULL AND b IS NOT NULL", "a IS NULL AND b IS NOT NULL"),
        (
            "coalesce(json_extract(m.emojis, '$.red_flag'), 0) >= ?",
            "coalesce((m.emojis::jsonb->>'red_flag')::double precision, 0) >= %s",
        ),
        ("json_extract(r.ranked_ids, '$[0]')", "(r.ranked_ids::jsonb->>0)"),
        ("group_concat(g.guild_id)", "string_agg(g.guild_id::text, ',')"),
        ("WHERE x = 1 AND +parent_id IS NULL AND a + b > 2", "WHERE x = 1 AND parent_id IS NULL AND a + b > 2"),
        ("FROM w CROSS JOIN users u ON u.id = w.user_id", "FROM w JOIN users u ON u.id = w.user_id"),
        ("SELECT 1 -- a comment with ? and :name\nFROM t", "SELECT 1  \nFROM t"),
    ],
)
def test_the_dialect_rewrites_sqlite_words(sqlite: str, postgres: str) -> None:
    assert to_postgres(sqlite) == postgres


def test_without_parameters_a_percent_sign_stays_single() -> None:
    assert to_postgres("SELECT '100%'", has_params=False) == "SELECT '100%'"


def test_every_sqlite_migration_after_the_base_schema_has_a_postgres_twin() -> None:
    sqlite_numbers = [n for n, _, _ in migrations() if n > BASE_VERSION]
    assert [n for n, _, _ in pg_migrations()] == sqlite_numbers, (
        "a migration after 0010 needs its PostgreSQL twin in storage/pg/ under the same number"
    )
    assert SCHEMA_VERSION == migrations()[-1][0]


def test_the_database_url_is_a_postgresql_one() -> None:
    assert DatabaseSettings(url="postgresql://grove@localhost/grove").target == "postgresql://grove@localhost/grove"
    assert DatabaseSettings().target == "grove.db"
    with pytest.raises(ValueError, match="PostgreSQL URL"):
        DatabaseSettings(url="mysql://grove@localhost/grove")
    assert is_postgres_url("postgres://h/d") and not is_postgres_url("grove.db")
    assert ConfigError  # the config file's errors name the key (tests/system/test_config.py)


def test_shards_need_postgresql_and_one_id_per_process() -> None:
    sqlite = GroveConfig()
    pg = GroveConfig(database=DatabaseSettings(url="postgresql://grove@localhost/grove"))
    assert shard_of(sqlite, None, None) is None
    assert "PostgreSQL" in str(shard_of(sqlite, [0], 2))
    assert shard_of(pg, [1], 2) == (1, 2)
    assert "one shard per process" in str(shard_of(pg, [0, 1], 2))
    assert "not one of the 2 shards" in str(shard_of(pg, [2], 2))
    assert "go together" in str(shard_of(pg, [0], None))


@pytest.mark.postgresql
async def test_a_nul_character_survives_a_round_trip(pg_url: str) -> None:
    db = await PgDatabase.open(pg_url)
    try:
        rows = await db._conn.execute_fetchall("SELECT ? AS t, length(?) AS n", ("a\x00b", "a\x00b"))
        assert rows[0]["t"] == "a\x00b" and rows[0]["n"] == 3
    finally:
        await db.close()


@pytest.mark.postgresql
async def test_a_newer_schema_is_refused_in_one_sentence(pg_url: str) -> None:
    db = await PgDatabase.open(pg_url)
    await db._conn.execute(f"UPDATE grove_schema SET version = {SCHEMA_VERSION + 1}")
    await db.close()
    with pytest.raises(RuntimeError, match="newer than this Grove knows"):
        await PgDatabase.open(pg_url)


@pytest.mark.postgresql
async def test_an_unreachable_server_is_one_sentence() -> None:
    with pytest.raises(RuntimeError, match="could not connect to PostgreSQL"):
        await PgDatabase.open("postgresql://nobody@/nothing?host=/nonexistent-socket-dir")
