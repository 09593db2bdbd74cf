"""A request's cost must not grow with history: no statement on a request path scans a whole table.

Every statement the engine runs while handing out and taking tasks is captured and explained; each
table must be reached through an index (SQLite reports SEARCH), never read in full (SCAN).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from benchmarks.bulk import BulkSpec, build
from engine import Engine, EngineConfig, FakeClock, TaskType, TreeState, notifications
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


def every_prompt(sql: str, plan_rows) -> list[str]:
    """Plan lines that look up `parent_id IS NULL` by the parent index: every prompt ever written (a full scan in
    all but name; the prompt cap once spent 1.5 ms of a 3 ms hand-out there at 200,000 messages)."""
    if "parent_id IS NULL" not in sql:
        return []
    return [r[3] for r in plan_rows if "messages_parent (parent_id=?)" in r[3]]


async def referencing(conn) -> dict[str, set[str]]:
    """table -> the tables whose foreign keys refer to it."""
    out: dict[str, set[str]] = {}
    for (table,) in await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for fk in await conn.execute_fetchall(f"PRAGMA foreign_key_list({table})"):
            out.setdefault(fk[2], set()).add(table)
    return out


def parent_side_checks(sql: str, scans: list[str], children: dict[str, set[str]]) -> list[str]:
    """Scans minus the ones SQLite lists for an INSERT into a table other tables refer to, once that table has
    triggers (migration 0010): the parent side of a foreign key, which only runs while a deferred violation is
    outstanding. Grove's foreign keys are immediate, so it never runs; an insert timed on 950,000 tasks takes 0.1 ms."""
    m = re.match(r"\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", sql, re.IGNORECASE)
    if m is None:
        return scans
    exempt = children.get(m.group(1), set())
    return [d for d in scans if (hit := re.match(r"\s*SCAN (\S+)", d)) is None or hit.group(1) not in exempt]


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
    children = await referencing(conn)
    for sql in dict.fromkeys(statements):
        head = sql.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "WITH", "UPDATE", "INSERT", "DELETE"):
            continue
        rows = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql)
        explained += 1
        if scans := parent_side_checks(sql, full_scans(rows), children) + every_prompt(sql, rows):
            offenders.append(f"{sql[:300]}...\n  " + "\n  ".join(scans))
    assert len(covered) == 5, f"every kind of task should be exercised, got {covered}"
    assert explained > 15, "the trace caught too few statements to mean anything"
    assert not offenders, "full table scans on a request path:\n\n" + "\n\n".join(offenders)


# The notifications waiting for a DM are read through their partial index (and `w`, the members it names): it holds
# only what waits, not history.
WAITING = ("INDEX notifications_waiting", "SCAN w")


async def test_history_and_notifications_use_indexes_only(bench_db):
    """/history of busy members, recording notifications when a tree is judged or scored, and their delivery."""
    async with bench_db.read() as repo:
        latest = await repo.latest_time()
        tree_id = (await repo.tree_ids_in_state("ready_for_export"))[0]
        root = await repo.message(tree_id)
    assert root is not None
    clock = FakeClock((latest or 0) + 60)
    engine = Engine(bench_db, EngineConfig(), clock=clock, rng=np.random.default_rng([3, 2]))
    statements: list[str] = []
    conn = bench_db._conn
    await conn.set_trace_callback(statements.append)
    try:
        for user in (root.user_id, 10, 11):
            await engine.set_notifications(user, True)
            for kind in ("all", "prompts", "replies"):
                first = await engine.member_history(user, kind)
                await engine.member_history(user, kind, first.pages - 1)
        async with bench_db.transaction() as repo:
            step = engine.step_on(repo)
            tree = await step.tree(tree_id)
            before = await notifications.ranks_before_scoring(step, tree)
            await notifications.prompt_judged(step, root, True)
            await notifications.tree_scored(step, dataclasses.replace(tree, state=TreeState.READY_FOR_SCORING), before)
        for digest in await engine.notifications_due(0, members=10, per_member=10):
            await engine.notifications_told(digest.user_id, digest.upto)
    finally:
        await conn.set_trace_callback(None)

    offenders = []
    for sql in dict.fromkeys(statements):
        if sql.lstrip().split(None, 1)[0].upper() not in ("SELECT", "WITH", "UPDATE", "INSERT", "DELETE"):
            continue
        plan = await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql)
        scans = [s for s in full_scans(plan) if not any(w in s for w in WAITING)]
        if scans:
            offenders.append(f"{sql[:300]}...\n  " + "\n  ".join(scans))
    assert any("notifications" in s for s in statements)
    assert not offenders, "full table scans on /history or notifications:\n\n" + "\n\n".join(offenders)


async def test_the_prompt_lottery_counts_first_places_from_the_authors_replies(bench_db):
    """The lottery weighs each waiting author by their replies ranked first this month: counted from the authors'
    own replies through `rankings_first` (migration 0011), not by reading every ballot of the month (250 ms at
    200,000 messages, in the lottery job and in a /task that runs the lottery)."""
    conn = bench_db._conn
    # some finished trees' prompts waiting for the lottery again: their authors are candidates
    await conn.execute(
        "UPDATE trees SET state = 'prompt_lottery_waiting' WHERE id IN "
        "(SELECT id FROM trees WHERE state = 'ready_for_export' AND lang = 'en' LIMIT 5)"
    )
    statements: list[str] = []
    await conn.set_trace_callback(statements.append)
    try:
        async with bench_db.read() as repo:
            weights = await repo.lottery_candidates(1, "en", 0.0)
    finally:
        await conn.set_trace_callback(None)
    assert weights and sum(weights.values()) > 0, weights
    firsts = [s for s in dict.fromkeys(statements) if "json_extract(r.ranked_ids, '$[0]')" in s]
    assert firsts, "the lottery had no candidates to weigh"
    for sql in firsts:
        plan = [r[3] for r in await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql)]
        assert any("rankings_first" in line for line in plan), plan
        assert not full_scans(await conn.execute_fetchall("EXPLAIN QUERY PLAN " + sql)), plan
