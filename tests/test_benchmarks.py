"""The benchmarks run at a tiny size, so they keep working; their figures are not judged here."""

from benchmarks.engine import run


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
