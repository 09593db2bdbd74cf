"""A request's cost must not grow with history: no statement on a request path scans a whole table.

Every statement the engine runs while handing out and taking tasks is captured and explained; each
table must be reached through an index (SQLite reports SEARCH), never read in full (SCAN).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from benchmarks.bulk import BulkSpec, build
from engine import Engine, EngineConfig, FakeClock, TaskType
from storage.database import Database
from tests.driver import fill_labels

# SQLite names the table or its alias; recursive CTEs (path, sub), json_each and constant rows are not history,
# nor is the hand-out's grouped subquery of the active ranking trees' sibling sets.
NOT_HISTORY = {"path", "sub", "CONSTANT", "sibling_sets"}


def full_scans(plan_rows) -> list[str]:
    """Plan lines that read a whole table or a whole index of one (both grow with history)."""
    out = []
    for detail in (r[3] for r in plan_rows):
        m = re.match(r"\s*SCAN (\S+)", detail)
        if m and m.group(1) not in NOT_HISTORY and not m.group(1).startswith("(") and "VIRTUAL TABLE" not in detail:
            out.append(detail)
    return out


@pytest.fixture
async def bench_db(tmp_path):
    path = tmp_path / "history.sqlite3"
    build(str(path), BulkSpec(messages=3000, users=200, seed=3))
    db = await Database.open(path)
    yield db
    await db.close()


async def test_request_paths_use_indexes_only(bench_db):
    async with bench_db.read() as repo:
        latest = await repo.latest_time()
    clock = FakeClock(latest + 60)
    engine = Engine(bench_db, EngineConfig(), clock=clock, rng=np.random.default_rng([3, 1]))
    statements: list[str] = []
    covered = set()
    conn = bench_db._conn
    await conn.set_trace_callback(statements.append)
    try:
        for i, wanted in enumerate(
            [
                None,
                TaskType.LABEL_INITIAL_PROMPT,
                TaskType.LABEL_PROMPTER_REPLY,
                TaskType.PROMPTER_REPLY,
                TaskType.RANK_ASSISTANT_REPLIES,
                TaskType.INITIAL_PROMPT,
            ]
        ):
            user = 10 + i
            task = await engine.next_task(user, "en", wanted)
            covered.add(task.kind)
            await engine.availability(user, "en")
            if task.kind.value.startswith("label"):
                await engine.submit_labels(task.id, user, fill_labels(task, {"spam": 0.0}))
            elif task.kind.value == "ranking":
                await engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
            else:
                await engine.submit_reply(task.id, user, f"an answer from the plan test {i}")
            clock.advance(5)
    finally:
        await conn.set_trace_callback(None)

    # the detector itself must see a real full scan
    for probe in ("SELECT * FROM messages WHERE text = 'x'", "SELECT count(*) FROM tasks k WHERE k.draft = 'x'"):
        assert full_scans(await conn.execute_fetchall("EXPLAIN QUERY PLAN " + probe)), probe

    explained = 0
    offenders = []
    for sql in dict.fromkeys(statements):
        head = sql.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "WITH", "UPDATE", "INSERT", "DELETE"):
            continue
        rows = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql)
        explained += 1
        if scans := full_scans(rows):
            offenders.append(f"{sql[:300]}...\n  " + "\n  ".join(scans))
    assert len(covered) == 5, f"every kind of task should be exercised, got {covered}"
    assert explained > 15, "the trace caught too few statements to mean anything"
    assert not offenders, "full table scans on a request path:\n\n" + "\n\n".join(offenders)
