"""Several processes on one PostgreSQL database (issue 19): one slot, one winner; one job run per interval.

Each worker is a separate Python process with its own engine and its own connection, as two `grove run
--shard-ids` processes would be; they share nothing but the database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock, TaskType
from storage.pg.database import PgDatabase
from tests.driver import member

pytestmark = pytest.mark.postgresql

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0

RACE = textwrap.dedent(
    """
    import asyncio, json, sys, time
    import numpy as np
    from engine import Engine, EngineConfig, FakeClock, TaskType, errors
    from storage.pg.database import PgDatabase

    async def main(url, users, seed, t0, start_at):
        db = await PgDatabase.open(url)
        engine = Engine(db, EngineConfig(num_reviews_initial_prompt=1), clock=FakeClock(t0),
                        rng=np.random.default_rng(seed))
        await engine.user(users[0])  # connected and warm
        await asyncio.sleep(max(0.0, start_at - time.time()))  # both processes ask at the same moment
        async def ask(user):
            try:
                task = await engine.next_task(user, "en", TaskType.LABEL_INITIAL_PROMPT)
                return task.target_id
            except errors.NoTaskAvailable:
                return None
        got = await asyncio.gather(*(ask(u) for u in users))
        await db.close()
        print(json.dumps(got))

    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))
    """
)

JOBS = textwrap.dedent(
    """
    import asyncio, json, sys
    from bot.scheduler import SKIPPED, Job, JobRunner
    from engine import FakeClock
    from storage.pg.database import PgDatabase

    async def main(url, ticks, t0):
        db = await PgDatabase.open(url)
        clock = FakeClock(t0)
        ran = []
        async def work():
            ran.append(clock.now())
            await asyncio.sleep(0.02)  # long enough for the other process to try the same tick meanwhile
        runner = JobRunner(db, clock)
        job = Job("lottery", 1, work, "a job both processes schedule")
        for i in range(ticks):
            clock.t = t0 + 60 * i
            await runner.run(job)
        await db.close()
        print(json.dumps(ran))

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
    """
)


async def _workers(script: str, *argv: list[str]) -> list[object]:
    """Start one process per argument list, all at once; their printed JSON, in order."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, *args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for args in argv
    ]
    outs = await asyncio.gather(*(p.communicate() for p in procs))
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()
    return [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outs]


async def test_members_of_two_processes_racing_for_the_last_slot_get_it_once(pg_url: str) -> None:
    db = await PgDatabase.open(pg_url)
    try:
        engine = Engine(
            db, EngineConfig(num_reviews_initial_prompt=1), clock=FakeClock(T0), rng=np.random.default_rng(0)
        )
        author = await member(engine, "author")
        racers = [await member(engine, f"racer{i}") for i in range(24)]
        task = await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)
        prompt = await engine.submit_reply(task.id, author, "Which slot is the last one?")
        halves = [racers[:12], racers[12:]]
        start_at = str(time.time() + 4)  # after both processes have started and connected
        results = await _workers(
            RACE, *([pg_url, json.dumps(half), str(i + 1), str(T0 + 1), start_at] for i, half in enumerate(halves))
        )
        winners = [target for got in results for target in got if target is not None]  # type: ignore[attr-defined]
        assert winners == [prompt.message_id]  # one review slot: one member of one process holds it
        async with db.read() as repo:
            rows = await repo._all(
                "SELECT count(*) FROM tasks WHERE target_id = ? AND status = 'pending' AND type = ?",
                (prompt.message_id, TaskType.LABEL_INITIAL_PROMPT.value),
            )
        assert rows[0][0] == 1
    finally:
        await db.close()


async def test_a_job_both_processes_schedule_runs_once_per_interval(pg_url: str) -> None:
    ticks = 12
    runs = await _workers(JOBS, [pg_url, str(ticks), str(T0)], [pg_url, str(ticks), str(T0)])
    ran = [t for r in runs for t in r]  # type: ignore[attr-defined]
    assert len(ran) == len(set(ran)), "a tick ran in both processes"
    assert ran, "no process ran the job"
    db = await PgDatabase.open(pg_url)
    try:
        async with db.read() as repo:
            assert await repo.jobs.run_count("lottery") == len(ran)
    finally:
        await db.close()
