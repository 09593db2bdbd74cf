"""Engine benchmark: task hand-out and submissions on databases of growing size.

    python -m benchmarks.engine                      # 10,000 and 200,000 messages
    python -m benchmarks.engine --messages 5000 --ops 200
    python -m benchmarks.engine --database-url postgresql://user@host/grove   # the same on PostgreSQL

On PostgreSQL each size's database is built in SQLite, then copied (`grove migrate`) into a database named
grove_bench_<size> on the URL's server, created afresh (the URL's own database is only used to create it).

The sizes are measured in turns (a quarter of the operations on each, four times over), so that a shared
machine's speed drifting during the run weighs on every size alike: the growth ratio compares like with like.
Prints a table per size, then one JSON line with the headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.bulk import BulkSpec, build
from engine import Engine, EngineConfig, FakeClock, errors
from engine.types import LABEL_TYPES, RANKING_TYPES, TaskKind
from storage.store import Store, open_store


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


class Measure:
    """Hand-outs, each followed by its submission, on one database; `ops` runs the next `n` of them."""

    def __init__(self, path: Path | str, spec: BulkSpec, seed: int, model: bool = True) -> None:
        self.path, self.spec, self.seed, self.model = path, spec, seed, model
        self.times: dict[str, list[float]] = defaultdict(list)
        self.done = 0

    async def open(self) -> None:
        self.db: Store = await open_store(self.path, active_set=self.model)
        async with self.db.read() as repo:
            latest = await repo.latest_time()
            sample_tree = (await repo.tree_ids_in_state("ready_for_export"))[0]
            self.sample = [m.id for m in await repo.messages_of_tree(sample_tree)]
        self.clock = FakeClock((latest or self.spec.start) + 60.0)
        # The builder drew its ids from default_rng(seed); the engine must draw from another stream.
        self.engine = Engine(self.db, EngineConfig(), clock=self.clock, rng=np.random.default_rng([self.seed, 1]))
        self.rng = np.random.default_rng(self.seed + 1)

    async def close(self) -> None:
        await self.db.close()

    async def ops(self, n: int) -> None:
        engine, clock, rng, spec, times, seed = self.engine, self.clock, self.rng, self.spec, self.times, self.seed
        conn = self.db._conn  # the point read measures the same connection the engine uses
        for i in range(self.done, self.done + n):
            user = int(rng.integers(1, spec.users + 1))
            lang = spec.langs[i % len(spec.langs)]
            clock.advance(float(rng.exponential(2.0)))
            t = time.perf_counter()
            await conn.execute_fetchall("SELECT * FROM messages WHERE id = ?", (self.sample[i % len(self.sample)],))
            times["point_read"].append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                task = await engine.next_task(user, lang)
            except (errors.NoTaskAvailable, errors.TooManyPending):
                times["next_task"].append(time.perf_counter() - t)
                continue
            times["next_task"].append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                if task.type in LABEL_TYPES:
                    await engine.submit_labels(task.id, user, {n: 0.0 for n in task.valid_labels})
                    name = "submit_labels"
                elif task.type in RANKING_TYPES:
                    await engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
                    name = "submit_ranking"
                elif task.kind is TaskKind.PROMPT:
                    await engine.submit_reply(task.id, user, f"benchmark prompt {i} {seed}")
                    name = "submit_prompt"
                else:
                    await engine.submit_reply(task.id, user, f"benchmark reply {i} {seed}")
                    name = "submit_reply"
            except errors.DomainError:
                continue
            times[name].append(time.perf_counter() - t)
            if i % 50 == 0:
                for lang_ in spec.langs:
                    await engine.run_prompt_lottery(lang_)
        self.done += n


ROUNDS = 4  # the sizes take turns, so a machine that slows down or speeds up meanwhile weighs on each alike


async def measure_all(runs: list[Measure], ops: int, rounds: int = ROUNDS) -> None:
    """`ops` operations on each database, in `rounds` turns taken in order of size."""
    for run in runs:
        await run.open()
    try:
        for r in range(rounds):
            for run in runs:
                await run.ops(ops * (r + 1) // rounds - ops * r // rounds)
    finally:
        for run in runs:
            await run.close()


def report(messages: int, build_s: float, counts: dict[str, int], times: dict[str, list[float]]) -> dict[str, float]:
    print(
        f"\n{messages:,} messages (built in {build_s:.1f}s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ")"
    )
    print(f"  {'operation':<16}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'ops/s':>10}")
    for name in ("next_task", "submit_reply", "submit_prompt", "submit_labels", "submit_ranking", "point_read"):
        v = times.get(name, [])
        if not v:
            continue
        p50, p99 = pct(v, 50) * 1e3, pct(v, 99) * 1e3
        print(f"  {name:<16}{len(v):>6}{p50:>10.3f}{p99:>10.3f}{max(v) * 1e3:>10.3f}{len(v) / sum(v):>10.0f}")
    submits = [
        x for k in ("submit_reply", "submit_prompt", "submit_labels", "submit_ranking") for x in times.get(k, [])
    ]
    return {
        "next_task_p50_ms": pct(times["next_task"], 50) * 1e3,
        "next_task_p99_ms": pct(times["next_task"], 99) * 1e3,
        "submit_p99_ms": max((pct(times[k], 99) * 1e3 for k in times if k.startswith("submit")), default=float("nan")),
        "submit_all_p99_ms": pct(submits, 99) * 1e3,
        "point_read_p50_ms": pct(times["point_read"], 50) * 1e3,
        "build_s": build_s,
    }


def on_postgres(url: str, path: Path, n: int | str) -> str:
    """The SQLite database at `path` copied into a fresh PostgreSQL database grove_bench_<n>; its URL."""
    import psycopg

    from storage.pg.migrate import copy

    base, _, query = url.partition("?")
    target = base.rsplit("/", 1)[0] + f"/grove_bench_{n}" + (f"?{query}" if query else "")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS grove_bench_{n} WITH (FORCE)")  # type: ignore[arg-type]
        admin.execute(f"CREATE DATABASE grove_bench_{n}")  # type: ignore[arg-type]
    t = time.perf_counter()
    copy(path, target)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  copied into PostgreSQL in {time.perf_counter() - t:.1f}s")
    return target


async def run(
    sizes: list[int], ops: int, seed: int, keep: Path | None, model: bool = True, database_url: str | None = None
) -> dict[str, float | int | None]:
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="grove-bench-") as tmp:
        built: list[tuple[int, float, dict[str, int]]] = []
        runs: list[Measure] = []
        (keep or Path(tmp)).mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = (keep or Path(tmp)) / f"bench-{n}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            spec = BulkSpec(messages=n, seed=seed)
            t = time.perf_counter()
            counts = build(str(path), spec)
            built.append((n, time.perf_counter() - t, counts))
            target: Path | str = (
                path if database_url is None else await asyncio.to_thread(on_postgres, database_url, path, n)
            )
            runs.append(Measure(target, spec, seed, model))
        await measure_all(runs, ops)
        for (n, build_s, counts), run_ in zip(built, runs, strict=True):
            results[n] = report(n, build_s, counts, run_.times)
    largest, smallest = max(sizes), min(sizes)
    head = results[largest]
    summary = {
        "messages": largest,
        "database": "sqlite" if database_url is None else "postgresql",
        "hand_out": "model" if model and database_url is None else "sql",
        "next_task_p50_ms": round(head["next_task_p50_ms"], 3),
        "next_task_p99_ms": round(head["next_task_p99_ms"], 3),
        "submit_p99_ms": round(head["submit_p99_ms"], 3),
        "point_read_p50_ms": round(head["point_read_p50_ms"], 4),
        "next_task_to_point_read": round(head["next_task_p50_ms"] / head["point_read_p50_ms"], 1),
        "growth_p50_200k_over_10k"
        if (largest, smallest) == (200_000, 10_000)
        else f"growth_p50_{largest}_over_{smallest}": round(
            head["next_task_p50_ms"] / results[smallest]["next_task_p50_ms"], 2
        ),
        "build_s": round(head["build_s"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": os.cpu_count(),
    }
    print()
    print(json.dumps(summary))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument(
        "--ops", type=int, default=1000, help="hand-outs measured per size (each followed by its submit)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="build the databases in this folder and keep them")
    parser.add_argument(
        "--hand-out",
        choices=("model", "sql"),
        default="model",
        help="decide hand-outs from the in-memory model of the active set (default) or from HAND_OUT_SQL alone",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help="run on PostgreSQL: postgresql://user@host/db (the SQLite build is copied to grove_bench_<size> there)",
    )
    args = parser.parse_args()
    asyncio.run(run(sorted(args.messages), args.ops, args.seed, args.keep, args.hand_out == "model", args.database_url))


if __name__ == "__main__":
    main()
