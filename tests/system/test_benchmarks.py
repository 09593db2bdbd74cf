"""The benchmarks run at a tiny size, so they keep working; their figures are not judged here."""

import pytest

from benchmarks.engine import run

pytestmark = pytest.mark.slow


async def test_engine_benchmark_runs_at_a_tiny_size(capsys):
    summary = await run([1500, 3000], ops=25, seed=1, keep=None)
    out = capsys.readouterr().out
    assert "next_task" in out
    assert summary["messages"] == 3000
    for key in (
        "next_task_p50_ms",
        "next_task_p99_ms",
        "submit_p99_ms",
        "point_read_p50_ms",
        "next_task_to_point_read",
        "peak_rss_mb",
    ):
        assert summary[key] > 0, key
    assert out.strip().splitlines()[-1].startswith("{")


def test_export_benchmark_runs_at_a_tiny_size(capsys):
    from benchmarks.export import run as run_export

    summary = run_export(1500)
    assert summary["trees_written"] > 0
    assert summary["peak_rss_mb"] > 0
    assert capsys.readouterr().out.strip().startswith("{")


@pytest.mark.parametrize("where", ["own process", "in process"])
async def test_discord_benchmark_runs_at_a_tiny_size(capsys, where):
    """By default the bot runs as `grove run` in its own process over the fake's REST API and gateway."""
    from benchmarks.discord import run_in_process, run_remote

    if where == "own process":
        summary = await run_remote(members=5, seconds=2.0, think=0.2, seed=1, flooding=False, asyncio_loop=True)
        assert summary["bot_cpu_s"] > 0
    else:
        summary = await run_in_process(members=5, seconds=2.0, think=0.2, seed=1, flooding=False)
    out = capsys.readouterr().out
    assert "slash_task" in out
    assert summary["members"] == 5 and summary["bot"].startswith(where)
    assert summary["interactions"] > 5
    assert summary["errors"] == 0
    assert summary["first_response_p99_ms"] >= summary["first_response_p50_ms"] > 0
    for key in ("over_3s", "interactions_per_s", "first_response_max_ms", "peak_rss_mb"):
        assert key in summary, key
    assert out.strip().splitlines()[-1].startswith("{")


async def test_discord_benchmark_floods_at_a_tiny_size(capsys):
    """`--flood`: one admin hammering /stats and /config export is slowed down by the gate; nothing errors."""
    from benchmarks.discord import run_remote

    summary = await run_remote(members=5, seconds=8.0, think=0.5, seed=1, flooding=True, asyncio_loop=True)
    out = capsys.readouterr().out
    assert "flood_stats" in out and summary["errors"] == 0
    limit = 20  # [discord] member_interactions_per_window, per 10 s
    assert summary["flood_interactions"] > 0
    assert summary["told_slow_down"] == max(0, summary["flood_interactions"] - limit) or summary["told_slow_down"] > 0


@pytest.mark.postgresql
async def test_engine_benchmark_runs_on_postgresql(capsys, pg_server):
    """`--database-url`: the SQLite build copied into PostgreSQL, the same measure there."""
    summary = await run([1500], ops=20, seed=2, keep=None, database_url=pg_server.admin_url)
    assert summary["database"] == "postgresql" and summary["hand_out"] == "sql"
    assert summary["next_task_p50_ms"] > 0 and summary["submit_p99_ms"] > 0
    assert "copied into PostgreSQL" in capsys.readouterr().out


@pytest.mark.postgresql
async def test_discord_benchmark_runs_two_shards_on_postgresql(capsys, pg_server):
    """`--procs 2`: two `grove run --shard-ids` processes on one PostgreSQL database, each serving its server's
    members through the fake gateway's shard routing; nothing errors in either."""
    from benchmarks.shards import run_shards

    summary = await run_shards(
        members=6, seconds=3.0, think=0.3, seed=1, procs=2, database_url=pg_server.admin_url, asyncio_loop=True
    )
    out = capsys.readouterr().out
    assert "slash_task" in out
    assert summary["procs"] == 2 and summary["bot"].startswith("2 processes")
    assert summary["interactions"] > 6
    assert summary["errors"] == 0, out
    assert summary["bot_cpu_s"] > 0
