"""Flow benchmark: how many trees a simulated community carries to export when members abandon task cards.

    python -m benchmarks.flow                        # 40 members, 24 simulated hours, abandonment 0, 0.2, 0.4
    python -m benchmarks.flow --members 100 --hours 72 --seed 3

Each run is a fresh in-memory database with the default engine settings and the simulated community of
`grove simulate` (bot/simulation.py): one member turn about every 20 simulated seconds, the scheduled jobs every
few simulated minutes. A member who abandons a card never submits or skips it, so its slot is held for as long as
the engine holds it; the card costs the community a glance (a quarter of a turn's time), not a task's work.

Trees per 1,000 member actions count the abandoned cards as actions: they show what the abandoned cards cost in
member attention. Trees per simulated hour show what they cost the pipeline: held slots. A control run repeats
abandonment 0.2 with slots held for the task's whole validity (48 hours, Grove before leases), to show what the
leases are worth. Prints a table, the ratios to the 0 run, then one JSON line with the headline figures.
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


async def measure(
    abandon: float, *, members: int, hours: float, seed: int, langs: tuple[str, ...], held_for_validity: bool = False
) -> dict[str, Any]:
    """One community for `hours` of simulated time on a fresh database; its figures. `held_for_validity`: a task
    holds its slot until it expires (no leases: the control run)."""
    cfg = EngineConfig()
    if held_for_validity:
        whole = float(cfg.task_validity_minutes)
        cfg = cfg.model_copy(update={"reservation_minutes": whole, "review_reservation_minutes": whole})
    db = await Database.open(":memory:")
    try:
        clock = FakeClock()
        engine = Engine(db, cfg, clock=clock, rng=np.random.default_rng([seed, 0]))
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
        "leases": not held_for_validity,
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
        f"  {'abandon':>8}{'leases':>8}{'trees':>7}{'actions':>9}{'taken':>8}{'abandoned':>11}{'no task':>9}"
        f"{'hours':>8}{'/1k actions':>13}{'/1k taken':>11}{'/hour':>8}{'wall s':>8}"
    )
    for r in rows:
        print(
            f"  {r['abandon']:>8.2f}{'yes' if r['leases'] else 'no':>8}{r['trees_exported']:>7}{r['actions']:>9}"
            f"{r['tasks_taken']:>8}{r['abandoned']:>11}"
            f"{r['no_task']:>9}{r['simulated_hours']:>8.1f}{r['per_1k_actions']:>13.2f}{r['per_1k_tasks_taken']:>11.2f}"
            f"{r['per_hour']:>8.3f}{r['wall_s']:>8.1f}"
        )


async def run(members: int, hours: float, seed: int, langs: tuple[str, ...] = ("en",)) -> dict[str, Any]:
    print(f"{members} members, {hours:g} simulated hours per run, seed {seed}, languages {','.join(langs)}")
    kwargs: dict[str, Any] = {"members": members, "hours": hours, "seed": seed, "langs": langs}
    rows = [await measure(p, **kwargs) for p in ABANDON]
    control = await measure(0.2, held_for_validity=True, **kwargs)
    show([*rows, control])
    by_p = {r["abandon"]: r for r in rows}

    def ratio(row: dict[str, Any], field: str) -> float | None:
        base = by_p[0.0][field]
        return round(row[field] / base, 3) if base else None

    summary: dict[str, Any] = {
        "members": members,
        "hours": hours,
        "seed": seed,
        "ratio_per_hour_0.2_over_0": ratio(by_p[0.2], "per_hour"),
        "ratio_per_hour_0.4_over_0": ratio(by_p[0.4], "per_hour"),
        "ratio_per_1k_actions_0.2_over_0": ratio(by_p[0.2], "per_1k_actions"),
        "control_ratio_per_hour_0.2_over_0": ratio(control, "per_hour"),
    }
    print()
    for key, what in (
        ("ratio_per_hour_0.2_over_0", "trees per simulated hour, abandonment 0.2 / 0"),
        ("ratio_per_hour_0.4_over_0", "trees per simulated hour, abandonment 0.4 / 0"),
        ("ratio_per_1k_actions_0.2_over_0", "trees per 1,000 actions, abandonment 0.2 / 0"),
        ("control_ratio_per_hour_0.2_over_0", "control, slots held for 48 h: trees per hour, 0.2 / 0"),
    ):
        value = summary[key]
        print(f"  {what}: {value if value is not None else 'n/a (none at 0)'}")
    for r in [*rows, control]:
        key = f"p{round(r['abandon'] * 100):02d}" + ("" if r["leases"] else "_control")
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
