"""The `grove` command line: check, simulate and demo (run, export, import and stats arrive with their issues)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.progress import Progress
from bot.simulation import Community, SimulationReport
from engine.check import check_database
from engine.clock import FakeClock
from engine.config import EngineConfig
from engine.engine import Engine, normalize_lang
from engine.errors import DomainError
from engine.types import TreeState
from storage.database import Database


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grove", description="Grow ranked conversation trees with a community.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="verify a database's invariants; exit 1 if any is broken")
    check.add_argument("--db", required=True, type=Path, help="path of the SQLite database")

    sim = sub.add_parser("simulate", help="let simulated members work on a database until T trees are exported")
    sim.add_argument("--db", required=True, type=Path, help="SQLite database (created if missing, else continued)")
    sim.add_argument("--users", type=_positive, default=40, help="number of simulated members (default 40)")
    sim.add_argument("--trees", type=_positive, default=10, help="stop once this many trees are exported")
    sim.add_argument(
        "--seed", type=int, default=0, help="seed; the same seed on the same database gives the same result"
    )
    sim.add_argument("--langs", type=_langs, default=("en",), help="comma-separated languages (default en)")

    demo = sub.add_parser("demo", help="see Grove work without Discord: a simulated community in a fresh folder")
    demo.add_argument("--dir", type=Path, default=None, help="folder to create (default: a new grove-demo-* folder)")
    demo.add_argument("--trees", type=_positive, default=5, help="trees to carry to export (default 5)")
    demo.add_argument("--seed", type=int, default=7)

    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return asyncio.run(_check(args.db))
        if args.command == "simulate":
            return asyncio.run(_simulate(args.db, args.users, args.trees, args.seed, args.langs))
        if args.command == "demo":
            return asyncio.run(_demo(args.dir, args.trees, args.seed))
    except KeyboardInterrupt:
        print("interrupted; everything acknowledged so far is saved", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _positive(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return n


def _langs(value: str) -> tuple[str, ...]:
    try:
        langs = tuple(dict.fromkeys(normalize_lang(v) for v in value.split(",") if v.strip()))
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    if not langs:
        raise argparse.ArgumentTypeError("give at least one language")
    return langs


async def _check(path: Path) -> int:
    if not path.is_file():
        print(f"grove check: no database at {path}", file=sys.stderr)
        return 2
    try:
        db = await Database.open(path, migrate=False)
    except sqlite3.DatabaseError as exc:  # not an SQLite file at all
        print(f"grove check: {path} is not a Grove database ({exc})", file=sys.stderr)
        return 2
    try:
        version = await db.schema_version()
        if version == 0:
            print(f"grove check: {path} is not a Grove database (no schema)", file=sys.stderr)
            return 2
        problems = await check_database(db, EngineConfig())
    finally:
        await db.close()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} violation(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: schema version {version}, no violations")
    return 0


async def run_simulation(
    db: Database, *, users: int, trees: int, seed: int, langs: Sequence[str], progress: Progress | None = None
) -> SimulationReport:
    """Continue the database's history with a seeded community until `trees` trees are exported."""
    async with db.read() as repo:
        latest = await repo.latest_time()
    clock = FakeClock() if latest is None else FakeClock(latest + 1.0)
    # Mix the database's progress into the seed: a continued run must not draw the ids of an earlier one.
    stream = [seed, int(latest or 0)]
    engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(stream))
    community = Community(engine, clock, seed=stream, langs=tuple(langs))
    await community.add_members(users)
    return await community.run(trees, progress=progress.update if progress else None)


async def _simulate(path: Path, users: int, trees: int, seed: int, langs: Sequence[str]) -> int:
    db = await Database.open(path)
    try:
        started = time.perf_counter()
        report = await run_simulation(db, users=users, trees=trees, seed=seed, langs=langs)
        counts = await Engine(db).tree_counts()
    finally:
        await db.close()
    print(
        f"{path}: {report.actions} actions by {users} members in {time.perf_counter() - started:.1f}s; "
        f"{counts[TreeState.READY_FOR_EXPORT]} trees ready for export; {report.stopped_because}"
    )
    return 0 if counts[TreeState.READY_FOR_EXPORT] >= trees else 1


async def _demo(folder: Path | None, trees: int, seed: int) -> int:
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="grove-demo-", dir="."))
    elif folder.exists() and any(folder.iterdir()):
        print(f"grove demo: {folder} is not empty; choose a new folder", file=sys.stderr)
        return 2
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "grove.sqlite3"
    print(f"Grove demo: 30 simulated members (some spam, some skip, some flag) grow {trees} conversation trees")
    print(f"in English and German, through the real engine, in {path}\n")
    db = await Database.open(path)
    try:
        progress = Progress("trees exported", total=trees)
        report = await run_simulation(db, users=30, trees=trees, seed=seed, langs=("en", "de"), progress=progress)
        progress.done()
        counts = await Engine(db).tree_counts()
        problems = await check_database(db)
    finally:
        await db.close()
    print(f"\n{report.actions} member actions: " + ", ".join(f"{k} {v}" for k, v in report.outcomes.most_common()))
    print("\nTrees per state")
    for state, n in counts.items():
        if n:
            print(f"  {state.value:<24}{n:>5}")
    print(f"\nDatabase: {path} (grove check: {'no violations' if not problems else f'{len(problems)} violations'})")
    return 0 if counts[TreeState.READY_FOR_EXPORT] >= trees and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
