"""Flow benchmark: how many trees a simulated community carries to export when members abandon task cards.

    python -m benchmarks.flow                        # 40 members, 24 simulated hours, abandonment 0, 0.2, 0.4
    python -m benchmarks.flow --members 100 --hours 72 --seed 3

Each run is a fresh in-memory database with the default engine settings and the simulated community of
`grove simulate` (bot/simulation.py): one member turn about every 20 simulated seconds, the scheduled jobs every
few simulated minutes. A member who abandons a card never submits or skips it, so its slot is held for as long as
the engine holds it. Prints a table per run, the ratio of the 0.2 run to the 0 run in trees per simulated hour,
then one JSON line with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import numpy as np

from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock
from storage.database import Database

ABANDON = (0.0, 0.2, 0.4)


async def measure(abandon: float, *, members: int, hours: float, seed: int, langs: tuple[str, ...]) -> dict[str, Any]:
    """One community for `hours` of simulated time on a fresh database; its figures."""
    db = await Database.open(":memory:")
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng([seed, 0]))
        community = Community(engine, clock, seed=[seed, 1], langs=langs, abandon=abandon)
        await community.add_members(members)
        started = time.perf_counter()
        report = await community.run(10**9, max_actions=10**9, hours=hours)
        wall = time.perf_counter() - started
    finally:
        await db.close()
    sim_hours = report.simulated_hours
    return {
        "abandon": abandon,
        "trees_exported": report.exported,
        "actions": report.actions,
        "tasks_taken": report.tasks_taken,
        "abandoned": report.abandoned,
        "no_task": report.outcomes["no_task"],
        "simulated_hours": round(sim_hours, 2),
        "per_1k_actions": round(1000 * report.exported / report.actions, 2) if report.actions else 0.0,
        "per_1k_tasks_taken": round(1000 * report.exported / report.tasks_taken, 2) if report.tasks_taken else 0.0,
        "per_hour": round(report.exported / sim_hours, 3) if sim_hours else 0.0,
        "stopped_because": report.stopped_because,
        "wall_s": round(wall, 1),
    }


def show(rows: list[dict[str, Any]]) -> None:
    print(
        f"  {'abandon':>8}{'trees':>7}{'actions':>9}{'taken':>8}{'abandoned':>11}{'no task':>9}{'hours':>8}"
        f"{'/1k actions':>13}{'/1k taken':>11}{'/hour':>8}{'wall s':>8}"
    )
    for r in rows:
        print(
            f"  {r['abandon']:>8.2f}{r['trees_exported']:>7}{r['actions']:>9}{r['tasks_taken']:>8}{r['abandoned']:>11}"
            f"{r['no_task']:>9}{r['simulated_hours']:>8.1f}{r['per_1k_actions']:>13.2f}{r['per_1k_tasks_taken']:>11.2f}"
            f"{r['per_hour']:>8.3f}{r['wall_s']:>8.1f}"
        )


async def run(members: int, hours: float, seed: int, langs: tuple[str, ...] = ("en",)) -> dict[str, Any]:
    print(f"{members} members, {hours:g} simulated hours per run, seed {seed}, languages {','.join(langs)}")
    rows = [await measure(p, members=members, hours=hours, seed=seed, langs=langs) for p in ABANDON]
    show(rows)
    by_p = {r["abandon"]: r for r in rows}
    base = by_p[0.0]["per_hour"]
    ratio = round(by_p[0.2]["per_hour"] / base, 3) if base else None
    print(f"\n  trees per simulated hour, abandonment 0.2 / 0: {ratio if ratio is not None else 'n/a (none at 0)'}")
    summary: dict[str, Any] = {
        "members": members,
        "hours": hours,
        "seed": seed,
        "ratio_per_hour_0.2_over_0": ratio,
    }
    for r in rows:
        key = f"p{round(r['abandon'] * 100):02d}"
        for field in ("trees_exported", "actions", "tasks_taken", "abandoned", "per_1k_actions", "per_hour"):
            summary[f"{key}_{field}"] = r[field]
    print()
    print(json.dumps(summary))
    return summary


def _positive(value: str) -> float:
    x = float(value)
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return x


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flow", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40, help="simulated members (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hours", type=_positive, default=24.0, help="simulated hours per run (default 24)")
    parser.add_argument("--langs", default="en", help="comma-separated languages (default en)")
    args = parser.parse_args()
    if args.members < 1:
        parser.error("--members must be at least 1")
    langs = tuple(x.strip() for x in args.langs.split(",") if x.strip()) or ("en",)
    asyncio.run(run(args.members, args.hours, args.seed, langs))


if __name__ == "__main__":
    main()
