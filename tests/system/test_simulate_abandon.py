"""`grove simulate --abandon P --json`: members who walk away from task cards, deterministically for a seed, and
a JSON summary line; the flow benchmark built on it runs at a tiny size."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.simulation import GLANCE, TURN_SECONDS, Community
from engine import Engine, EngineConfig, FakeClock
from storage.database import Database

FIELDS = {"trees_exported", "actions", "tasks_taken", "abandoned", "simulated_hours", "outcomes", "stopped_because"}


def dump(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, *r) for t in tables for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
    finally:
        conn.close()


def simulate(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict, str]:
    code = main(["simulate", "--db", str(path), "--users", "12", "--seed", "4", *extra, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1]), "\n".join(lines[:-1])


def test_abandonment_is_deterministic_for_a_seed_and_counted(tmp_path, capsys):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    args = ("--trees", "1000", "--hours", "1.5", "--abandon", "0.3")
    code_a, summary_a, human = simulate(a, capsys, *args)
    code_b, summary_b, _ = simulate(b, capsys, *args)
    assert code_a == code_b == 0, summary_a  # the hours ran out: the run did what was asked
    assert summary_a == summary_b
    assert dump(a) == dump(b)
    assert FIELDS <= summary_a.keys()
    assert summary_a["abandoned"] > 0
    assert summary_a["outcomes"]["abandoned"] == summary_a["abandoned"]
    assert summary_a["tasks_taken"] >= summary_a["abandoned"]
    assert 1.5 <= summary_a["simulated_hours"] < 1.6
    assert summary_a["stopped_because"] == "1.5 simulated hours have passed"
    assert "task cards abandoned" in human and "simulated hours" in human
    # an abandoned card is never answered: it stays pending, with no result
    conn = sqlite3.connect(a)
    pending = conn.execute("SELECT count(*) FROM tasks WHERE status = 'pending'").fetchone()[0]
    conn.close()
    assert pending >= 1
    assert main(["check", "--db", str(a)]) == 0


def test_another_seed_abandons_other_cards(tmp_path, capsys):
    _, first, _ = simulate(tmp_path / "a.db", capsys, "--trees", "1000", "--hours", "1", "--abandon", "0.3")
    args = ["--users", "12", "--seed", "5", "--trees", "1000", "--hours", "1", "--abandon", "0.3", "--json"]
    code = main(["simulate", "--db", str(tmp_path / "b.db"), *args])
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert second != first


def test_without_abandonment_the_json_line_reports_the_run(tmp_path, capsys):
    code, summary, human = simulate(tmp_path / "g.db", capsys, "--trees", "1")
    assert code == 0
    assert summary["trees_exported"] >= 1
    assert summary["abandoned"] == 0 and "abandoned" not in summary["outcomes"]
    assert summary["actions"] == sum(summary["outcomes"].values()) > 0
    assert summary["simulated_hours"] > 0
    assert "trees ready for export" in human and "abandoned" not in human


@pytest.mark.parametrize("value", ["1", "1.5", "-0.1", "nan", "inf", "half"])
def test_an_abandon_probability_out_of_range_is_refused(value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--db", str(tmp_path / "x.db"), "--abandon", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--abandon" in err and value in err
    assert not (tmp_path / "x.db").exists()


async def test_the_community_refuses_an_abandon_probability_out_of_range():
    db = await Database.open(":memory:")
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock)
        for p in (-0.5, 1.0, float("nan")):
            with pytest.raises(ValueError, match="abandon"):
                Community(engine, clock, seed=1, abandon=p)
    finally:
        await db.close()


@pytest.mark.slow
async def test_under_abandonment_time_passes_at_the_community_pace():
    """Progress comes from time passing turn by turn, never from a jump over the held slots. (Six members
    abandoning 40% of their cards stall for hours while abandoned tasks hold their slots for the task's whole
    validity; with short slot holds they do not stall. Either way a turn takes its usual time, an abandoned card a
    glance.)"""
    db = await Database.open(":memory:")
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(1))
        community = Community(engine, clock, seed=1, abandon=0.4)
        await community.add_members(6)
        before = clock.now()
        report = await community.run(10**6, hours=12)
    finally:
        await db.close()
    assert report.abandoned > 0
    assert report.out_of_time
    # a turn takes its usual time, an abandoned card a glance: nothing else makes time pass
    expected = (report.actions - report.abandoned + GLANCE * report.abandoned) * TURN_SECONDS
    assert 0.85 * expected < clock.now() - before < 1.15 * expected


async def test_the_flow_benchmark_runs_at_a_tiny_size(capsys):
    from benchmarks.flow import run

    summary = await run(members=8, hours=0.5, seed=1)
    out = capsys.readouterr().out
    assert "/hour" in out
    assert out.strip().splitlines()[-1].startswith("{")
    assert summary["members"] == 8
    for key in ("p00", "p20", "p40"):
        for field in ("trees_exported", "actions", "abandoned", "per_1k_actions", "per_hour"):
            assert f"{key}_{field}" in summary, (key, field)
    assert summary["p00_abandoned"] == 0 < summary["p20_abandoned"]
    assert "ratio_per_hour_0.2_over_0" in summary and "ratio_per_1k_actions_0.2_over_0" in summary
    # the control run holds slots for the task's whole validity, as Grove did before leases
    assert "p20_control_per_hour" in summary and "control_ratio_per_hour_0.2_over_0" in summary
    assert summary["p20_control_abandoned"] > 0
