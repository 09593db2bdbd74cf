"""The `grove` command line: run and sync (Discord), check, simulate, demo, export, import and stats."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot import datasets
from bot.config import ConfigError, load_config
from bot.guard import damage_found
from bot.progress import Progress
from bot.simulation import AckHook, AckLog, Community, SimulationReport
from engine.check import check_database
from engine.clock import FakeClock
from engine.config import EngineConfig
from engine.engine import Engine
from engine.errors import DomainError
from engine.export import ExportOptions, export
from engine.importer import IMPORT_STATES
from engine.lang import normalize_lang
from engine.stats import Stats
from engine.types import TreeState
from storage.database import Database
from storage.store import Store, is_postgres_url, open_store


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grove", description="Grow ranked conversation trees with a community.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the Discord bot (token from the DISCORD_TOKEN environment variable)")
    run.add_argument("--config", type=Path, default=None, help="config file (default: ./config.toml if present)")
    run.add_argument(
        "--shard-ids",
        type=int,
        nargs="+",
        default=None,
        metavar="ID",
        help="the Discord shard this process serves (one per process; needs [database] url: PostgreSQL)",
    )
    run.add_argument("--shard-count", type=int, default=None, help="how many shards the bot has in all")
    syn = sub.add_parser("sync", help="register the slash commands with Discord (globally, or in one guild)")
    syn.add_argument("--config", type=Path, default=None, help="config file (default: ./config.toml if present)")
    syn.add_argument("--guild", type=int, default=None, help="a guild id: commands appear there at once")

    bak = sub.add_parser("backup", help="copy a database safely while the bot runs (SQLite online backup)")
    bak.add_argument("--db", required=True, type=Path, help="the live SQLite database")
    bak.add_argument("--out", required=True, type=Path, help="the backup file (replaced only when complete)")

    check = sub.add_parser("check", help="verify a database's invariants; exit 1 if any is broken")
    check.add_argument(
        "--db", type=_db_target, default=None, help="the SQLite database or a postgresql:// URL (default: the config's)"
    )
    check.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="the bot's config.toml: check against its [engine] thresholds instead of the defaults",
    )

    sim = sub.add_parser("simulate", help="let simulated members work on a database until T trees are exported")
    sim.add_argument("--db", required=True, type=Path, help="SQLite database (created if missing, else continued)")
    sim.add_argument("--users", type=_positive, default=40, help="number of simulated members (default 40)")
    sim.add_argument("--trees", type=_positive, default=10, help="stop once this many trees are exported")
    sim.add_argument(
        "--seed", type=int, default=0, help="seed; the same seed on the same database gives the same result"
    )
    sim.add_argument("--langs", type=_langs, default=("en",), help="comma-separated languages (default en)")
    sim.add_argument(
        "--ack-log",
        type=Path,
        default=None,
        metavar="FILE",
        help="append one JSON line per acknowledged result (kind, id, task) to FILE, written after its "
        "transaction commits and before the next action: a witness for crash tests",
    )
    sim.add_argument(
        "--abandon",
        type=_probability,
        default=0.0,
        metavar="P",
        help="chance (0 <= P < 1) that a member walks away from a task card they took: no submit, no skip",
    )
    sim.add_argument(
        "--hours",
        type=_positive_float,
        default=None,
        metavar="H",
        help="also stop once H hours of simulated time have passed (then exit 0 even short of --trees)",
    )
    sim.add_argument("--json", action="store_true", help="end with one JSON line of the run's figures")

    exp = sub.add_parser("export", help="write the dataset as oasst JSON Lines (gzip when --out ends in .gz)")
    exp.add_argument("--db", required=True, type=_db_target, help="the SQLite database, or a postgresql:// URL")
    exp.add_argument("--out", required=True, type=Path, help="output file, e.g. trees.jsonl or trees.jsonl.gz")
    exp.add_argument("--state", default=None, help="tree states, comma-separated, or 'all' (default ready_for_export)")
    exp.add_argument("--lang", type=_lang, default=None, help="only trees in this language")
    for name, what in (
        ("deleted", "deleted messages"),
        ("spam", "messages not accepted"),
        ("synthetic", "trees with synthetic messages"),
    ):
        group = exp.add_mutually_exclusive_group()
        group.add_argument(f"--include-{name}", action="store_true", help=f"include {what}")
        group.add_argument(f"--{name}-only", action="store_true", help=f"only {what} (one message per line)")
    exp.add_argument(
        "--user", default=None, help="only this member's messages (internal id, username or exported user_id)"
    )
    exp.add_argument("--prompts-only", action="store_true", help="prompts without their replies")
    exp.add_argument("--labels", action="store_true", help="add label means and counts")
    exp.add_argument("--events", action="store_true", help="add emoji and ranking events")
    exp.add_argument("--limit", type=_positive, default=None, help="at most this many trees (or messages)")
    exp.add_argument(
        "--anonymize",
        metavar="SALT",
        default=None,
        help=f"replace every id by a sha256 salted with SALT (at least {datasets.MIN_SALT} characters; keep it secret)",
    )
    exp.add_argument("--community", default=None, help="only this community (its id or name; default: all)")
    exp.add_argument("--force", action="store_true", help="replace --out if it exists (never a database)")
    exp.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        help="worker processes, each exporting a share of the trees (the file is the same; not with --limit)",
    )

    imp = sub.add_parser(
        "import", help="import oasst JSON Lines (plain or gzip) losslessly; importing twice adds nothing"
    )
    imp.add_argument(
        "--db", required=True, type=_db_target, help="SQLite database (created if missing), or a postgresql:// URL"
    )
    imp.add_argument("file", type=Path, help="oasst trees or messages, one per line (.jsonl or .jsonl.gz)")
    imp.add_argument(
        "--state",
        choices=[s.value for s in IMPORT_STATES],
        default=None,
        help="instead of each tree's own state: fully ranked trees go here, the others wait in backlog_ranking",
    )
    imp.add_argument("--strict", action="store_true", help="import nothing if any line is malformed")
    imp.add_argument(
        "--community", default="1", help="the community (id or name) the trees go into (default 1, the first)"
    )

    com = sub.add_parser("communities", help="list the communities (data pools) and their servers, or join one")
    com.add_argument("--db", required=True, type=Path, help="path of the SQLite database")
    com_sub = com.add_subparsers(dest="action")
    join = com_sub.add_parser("join", help="put a server into a community (its data moves along if it was alone)")
    join.add_argument("guild", type=int, help="the server's id")
    join.add_argument("community", help="the community's id or name")

    st = sub.add_parser("stats", help="tree counts per state and language, messages per role, top contributors")
    st.add_argument("--db", required=True, type=_db_target, help="the SQLite database, or a postgresql:// URL")
    st.add_argument("--lang", type=_lang, default=None, help="only this language")
    st.add_argument("--json", action="store_true", help="print JSON instead of tables")

    mig = sub.add_parser("migrate", help="copy a SQLite database into an empty PostgreSQL database")
    mig.add_argument("--from", dest="source", required=True, help="sqlite:PATH, the database to copy (only read)")
    mig.add_argument("--to", dest="target", required=True, help="postgresql://user@host/database (must be empty)")

    demo = sub.add_parser("demo", help="see Grove work without Discord: a simulated community in a fresh folder")
    demo.add_argument("--dir", type=Path, default=None, help="folder to create (default: a new grove-demo-* folder)")
    demo.add_argument("--trees", type=_positive, default=5, help="trees to carry to export (default 5)")
    demo.add_argument("--seed", type=int, default=7)

    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from bot import runner

            return runner.run(args.config, args.shard_ids, args.shard_count)
        if args.command == "sync":
            from bot import runner

            return runner.sync(args.config, args.guild)
        if args.command == "backup":
            return _backup(args.db, args.out)
        if args.command == "check":
            return _check_command(args.db, args.config)
        if args.command == "simulate":
            from bot.guard import AlreadyRunning, InstanceLock

            try:
                lock = InstanceLock(args.db)
                lock.acquire()  # simulated members write as the bot does: never beside a running bot
            except AlreadyRunning as exc:
                print(f"grove simulate: {exc}", file=sys.stderr)
                return 2
            try:
                return asyncio.run(
                    _simulate(
                        args.db,
                        args.users,
                        args.trees,
                        args.seed,
                        args.langs,
                        args.ack_log,
                        abandon=args.abandon,
                        hours=args.hours,
                        as_json=args.json,
                    )
                )
            finally:
                lock.release()
        if args.command == "export":
            return asyncio.run(datasets.export_command(args))
        if args.command == "import":
            state = None if args.state is None else TreeState(args.state)
            return asyncio.run(datasets.import_command(args.db, args.file, state, args.strict, args.community))
        if args.command == "communities":
            return asyncio.run(datasets.communities_command(args))
        if args.command == "stats":
            return asyncio.run(_stats(args.db, args.lang, args.json))
        if args.command == "migrate":
            return datasets.migrate_command(args.source, args.target)
        if args.command == "demo":
            return asyncio.run(_demo(args.dir, args.trees, args.seed))
    except KeyboardInterrupt:
        print("interrupted; everything acknowledged so far is saved", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _db_target(value: str) -> Path | str:
    """A database on the command line: a postgresql:// URL as given (a Path would fold its //), else a file."""
    return value if is_postgres_url(value) else Path(value)


def _positive(value: str) -> int:
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return n


def _positive_float(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 < x < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return x


def _probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= p < 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {value}")
    return p


def _lang(value: str) -> str:
    try:
        return normalize_lang(value)
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _langs(value: str) -> tuple[str, ...]:
    try:
        langs = tuple(dict.fromkeys(normalize_lang(v) for v in value.split(",") if v.strip()))
    except DomainError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    if not langs:
        raise argparse.ArgumentTypeError("give at least one language")
    return langs


def _backup(path: Path, out: Path) -> int:
    from storage.backup import BackupError, backup

    try:
        size = backup(path, out)
    except BackupError as exc:
        print(f"grove backup: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: {size / 1e6:.1f} MB, integrity ok (restore: stop the bot, copy it over the database, start)")
    return 0


def _check_command(path: Path | str | None, config_file: Path | None) -> int:
    cfg = EngineConfig()
    if config_file is not None:
        try:
            config = load_config(config_file)
        except ConfigError as exc:
            print("grove check: " + " ".join(str(exc).split()), file=sys.stderr)  # one line, whatever the parser said
            return 2
        cfg = config.engine
        path = path or (config.database.url or config.database.path)
    if path is None:
        print("grove check: give --db PATH, or --config FILE to check the database it names", file=sys.stderr)
        return 2
    return asyncio.run(_check(path, cfg, config_file))


async def _check(path: Path | str, cfg: EngineConfig, config_file: Path | None = None) -> int:
    if isinstance(path, str):
        return await _check_postgres(path, cfg, config_file)
    if not path.is_file():
        print(f"grove check: no database at {path}", file=sys.stderr)
        return 2
    damage = damage_found(path, limit=20)
    if damage:  # SQLite's own check first: the invariant queries cannot run on a damaged file
        for line in damage:
            print(line)
        print(f"grove check: {path} is damaged ({len(damage)} problem(s) above); restore a backup", file=sys.stderr)
        return 1
    try:
        db = await Database.open(path, migrate=False)
    except sqlite3.OperationalError as exc:  # an SQLite file this process may not open for writing
        print(f"grove check: cannot open {path} ({exc}): a read-only file or folder, or locked", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # not an SQLite file at all
        print(f"grove check: {path} is not a Grove database ({exc})", file=sys.stderr)
        return 2
    try:
        version = await db.schema_version()
        if version == 0:
            print(f"grove check: {path} is not a Grove database (no schema)", file=sys.stderr)
            return 2
        problems = await check_database(db, cfg)
    except sqlite3.DatabaseError as exc:
        print(f"grove check: {path} is damaged: {' '.join(str(exc).split())}; restore a backup", file=sys.stderr)
        return 1
    finally:
        await db.close()
    return _report(path, version, problems, config_file)


def _report(path: Path | str, version: int, problems: list[str], config_file: Path | None) -> int:
    against = f"the thresholds of {config_file}" if config_file else "the default thresholds"
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} violation(s) in {path} (checked against {against})", file=sys.stderr)
        return 1
    print(f"{path}: schema version {version}, checked against {against}: no violations")
    return 0


async def _check_postgres(url: str, cfg: EngineConfig, config_file: Path | None) -> int:
    """`grove check` on PostgreSQL: the same invariants (PostgreSQL checks its own pages and foreign keys)."""
    try:
        db = await open_store(url, migrate=False)
    except RuntimeError as exc:
        print(f"grove check: {exc}", file=sys.stderr)
        return 2
    try:
        version = await db.schema_version()
        if version == 0:
            print("grove check: that PostgreSQL database is not a Grove database (no schema)", file=sys.stderr)
            return 2
        problems = await check_database(db, cfg)
    finally:
        await db.close()
    return _report(url, version, problems, config_file)


async def _stats(path: Path | str, lang: str | None, as_json: bool) -> int:
    if isinstance(path, Path) and not path.is_file():
        print(f"grove stats: no database at {path}", file=sys.stderr)
        return 2
    try:
        db = await open_store(path, migrate=False)
    except RuntimeError as exc:  # PostgreSQL: the server refused, or the schema is newer
        print(f"grove stats: {exc}", file=sys.stderr)
        return 2
    try:
        if await db.schema_version() == 0:
            print(f"grove stats: {path} is not a Grove database", file=sys.stderr)
            return 2
        summary = await Stats(db).summary(lang)
    finally:
        await db.close()
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return 0
    states = [s.value for s in TreeState]
    langs = sorted(summary["trees"])
    print("Trees per state" + (f" ({lang})" if lang else ""))
    print(f"  {'state':<24}" + "".join(f"{x:>8}" for x in langs) + f"{'all':>8}")
    for state in states:
        row = [summary["trees"][x].get(state, 0) for x in langs]
        if any(row):
            print(f"  {state:<24}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
    print("\nMessages (undeleted)")
    for kind in ("prompt", "assistant", "prompter"):
        print(f"  {kind:<24}{summary['messages'].get(kind, 0):>8}")
    print("\nTop contributors (all time)")
    for i, row in enumerate(summary["top_contributors"], start=1):
        print(f"  {i:>2}. {row['name']:<30}{row['score']:>8}")
    return 0


async def run_simulation(
    db: Store,
    *,
    users: int,
    trees: int,
    seed: int,
    langs: Sequence[str],
    progress: Progress | None = None,
    on_acknowledged: AckHook | None = None,
    abandon: float = 0.0,
    hours: float | None = None,
) -> SimulationReport:
    """Continue the database's history with a seeded community until `trees` trees are exported (or `hours` of
    simulated time have passed); each task card is abandoned with probability `abandon`."""
    async with db.read() as repo:
        latest = await repo.latest_time()
    clock = FakeClock() if latest is None else FakeClock(latest + 1.0)
    # Mix the database's progress into the seed: a continued run must not draw the ids of an earlier one.
    stream = [seed, int(latest or 0)]
    engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(stream))
    community = Community(
        engine, clock, seed=stream, langs=tuple(langs), on_acknowledged=on_acknowledged, abandon=abandon
    )
    await community.add_members(users)
    return await community.run(trees, hours=hours, progress=progress.update if progress else None)


async def _simulate(
    path: Path,
    users: int,
    trees: int,
    seed: int,
    langs: Sequence[str],
    ack_log: Path | None = None,
    *,
    abandon: float = 0.0,
    hours: float | None = None,
    as_json: bool = False,
) -> int:
    db = await Database.open(path)
    witness = None
    try:
        witness = AckLog(ack_log) if ack_log else None
        started = time.perf_counter()
        report = await run_simulation(
            db, users=users, trees=trees, seed=seed, langs=langs, on_acknowledged=witness, abandon=abandon, hours=hours
        )
        counts = await Engine(db).tree_counts()
    finally:
        await db.close()
        if witness:
            witness.close()
    exported = counts[TreeState.READY_FOR_EXPORT]
    abandoned = f", {report.abandoned} task cards abandoned" if abandon else ""
    print(
        f"{path}: {report.actions} actions by {users} members in {time.perf_counter() - started:.1f}s "
        f"({report.simulated_hours:.1f} simulated hours{abandoned}); "
        f"{exported} trees ready for export; {report.stopped_because}"
    )
    if as_json:
        print(json.dumps(simulation_summary(report, trees_exported=exported, members=users, abandon=abandon)))
    return 0 if exported >= trees or report.out_of_time else 1


def simulation_summary(
    report: SimulationReport, *, trees_exported: int, members: int, abandon: float
) -> dict[str, Any]:
    """A run's figures as JSON-ready values; the same seed on the same database gives the same summary."""
    return {
        "trees_exported": trees_exported,
        "actions": report.actions,
        "tasks_taken": report.tasks_taken,
        "abandoned": report.abandoned,
        "simulated_hours": round(report.simulated_hours, 3),
        "members": members,
        "abandon": abandon,
        "outcomes": dict(sorted(report.outcomes.items())),
        "stopped_because": report.stopped_because,
    }


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
        exported = await export(db, folder / "trees.jsonl", ExportOptions(labels=True))
    finally:
        await db.close()
    print(f"\n{report.actions} member actions: " + ", ".join(f"{k} {v}" for k, v in report.outcomes.most_common()))
    print("\nTrees per state")
    for state, n in counts.items():
        if n:
            print(f"  {state.value:<24}{n:>5}")
    print(f"\nDatabase: {path} (grove check: {'no violations' if not problems else f'{len(problems)} violations'})")
    print(f"Dataset:  {exported.path} ({exported.trees} trees, {exported.messages} messages, oasst JSON Lines)")
    return 0 if counts[TreeState.READY_FOR_EXPORT] >= trees and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
