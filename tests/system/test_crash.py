"""Crash safety: `grove simulate` killed with SIGKILL over and over loses nothing it acknowledged.

The simulation writes every acknowledged result to an ack log after its transaction commits; the log is the
outside witness. After two dozen kills at random points (during start-up and migration, and in the middle
of the members' work) and restarts on the same database, everything the log names is in the database, the
database passes `grove check` and SQLite's integrity check, and no task stays pending past its expiry.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.clock import FakeClock
from engine.config import EngineConfig
from engine.engine import Engine
from storage.database import Database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KILLS = 24
# A small community; --trees is out of reach, so every round runs until it is killed.
SIMULATE = ["--users", "10", "--trees", "10000", "--seed", "3"]


def pending_tasks(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # read-only: it must not checkpoint the crashed WAL
    try:
        return int(conn.execute("SELECT count(*) FROM tasks WHERE status = 'pending'").fetchone()[0])
    except sqlite3.OperationalError:  # killed before the first migration made the table
        return 0
    finally:
        conn.close()


def grove(*args: str | Path, **kwargs) -> subprocess.Popen[str]:
    """`grove ARGS` in a subprocess, as a user starts it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *map(str, args)], cwd=ROOT, env=env, text=True, **kwargs)


def check(db: Path) -> None:
    proc = grove("check", "--db", db, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out


def read_ack_log(path: Path) -> tuple[list[dict[str, str]], int]:
    """The acknowledgements in the log, and the number of lines a kill cut short (unreadable)."""
    acks, torn = [], 0
    if not path.is_file():
        return acks, torn
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            acks.append(json.loads(line))
        except json.JSONDecodeError:
            torn += 1
    return acks, torn


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"grove simulate stopped by itself (exit {proc.returncode})"
        assert time.monotonic() < deadline, "grove simulate made no progress"
        time.sleep(0.002)


def lost(db: Path, acks: list[dict[str, str]]) -> list[dict[str, str]]:
    """The acknowledged results the database lacks (or holds otherwise than acknowledged)."""
    conn = sqlite3.connect(db)
    try:
        return [ack for ack in acks if not _holds(conn, ack)]
    finally:
        conn.close()


def _holds(conn: sqlite3.Connection, ack: dict[str, str]) -> bool:
    status = conn.execute("SELECT status FROM tasks WHERE id = ?", (ack["task"],)).fetchone()
    if ack["kind"] == "skip":
        return status == ("skipped",)
    if ack["kind"] == "message":
        row = conn.execute("SELECT task_id FROM messages WHERE id = ?", (ack["id"],)).fetchone()
    elif ack["kind"] == "label":
        row = conn.execute("SELECT task_id FROM labels WHERE task_id = ?", (ack["task"],)).fetchone()
    else:
        row = conn.execute("SELECT task_id FROM rankings WHERE task_id = ?", (ack["task"],)).fetchone()
    return status == ("done",) and row == (ack["task"],)


async def expire_everything_due(path: Path) -> tuple[int, int]:
    """Run the expiry job as if the bot restarted long after the crashes: (tasks expired, tasks still overdue)."""
    db = await Database.open(path)
    try:
        async with db.read() as repo:
            latest = await repo.latest_time()
        cfg = EngineConfig()
        clock = FakeClock(latest + cfg.task_validity_minutes * 60.0 + 1.0)
        expired = await Engine(db, cfg, clock=clock).expire_tasks()
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    try:
        (overdue,) = conn.execute(
            "SELECT count(*) FROM tasks WHERE status = 'pending' AND (expires_at IS NULL OR expires_at <= ?)",
            (clock.now(),),
        ).fetchone()
    finally:
        conn.close()
    return expired, overdue


def test_sigkill_at_random_points_loses_no_acknowledged_result(tmp_path):
    db, log, stderr = tmp_path / "grove.sqlite3", tmp_path / "acks.jsonl", tmp_path / "stderr.txt"
    rng = random.Random(2024)
    kills = grew = held = 0  # held: the most tasks a kill left handed out and unanswered
    with stderr.open("ab") as err:
        for round_ in range(KILLS):
            before = size(log)
            proc = grove("simulate", "--db", db, *SIMULATE, "--ack-log", log, stdout=subprocess.DEVNULL, stderr=err)
            try:
                if round_ == 0:  # the database is being created and migrated
                    wait_for(Path(f"{db}-wal").exists, proc)
                    time.sleep(rng.uniform(0.0, 0.03))
                elif rng.random() < 0.3:  # start-up: imports, opening, the first jobs
                    time.sleep(rng.uniform(0.05, 0.8))
                else:  # mid-run: members are writing
                    wait_for(lambda n=before: size(log) > n + 1, proc)  # more than a torn line's repair
                    time.sleep(rng.uniform(0.0, 0.4))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            kills += proc.returncode == -signal.SIGKILL
            grew += size(log) > before
            held = max(held, pending_tasks(db))
    assert kills == KILLS, stderr.read_text()
    assert grew >= KILLS // 2, "too few rounds reached the members' work"
    witnessed, torn = read_ack_log(log)
    assert len(witnessed) >= 100
    assert torn <= kills

    # Straight after the crashes: SQLite's own check, everything acknowledged is there, grove's invariants.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (ready,) = conn.execute("SELECT count(*) FROM trees WHERE state = 'ready_for_export'").fetchone()
    finally:
        conn.close()
    assert lost(db, witnessed) == []
    check(db)

    # Tasks handed out just before a kill stay pending (and hold their slot) until they expire; then the expiry
    # job reclaims every one of them, and the community carries on: one more tree reaches export, without a kill.
    # (Whether the last kill left any depends on timing: a restarted run that finds no task to give expires the
    # ones earlier kills left, so it is enough that some kill left tasks behind.)
    assert held > 0, "no kill ever caught a member holding a task"
    pending = pending_tasks(db)
    expired, overdue = asyncio.run(expire_everything_due(db))
    assert expired == pending
    assert overdue == 0
    final = grove("simulate", "--db", db, *SIMULATE[:2], "--trees", str(ready + 1), "--seed", "3", "--ack-log", log)
    assert final.wait(timeout=120) == 0
    acks, _ = read_ack_log(log)
    assert len(acks) > len(witnessed)
    assert {a["kind"] for a in acks} == {"message", "label", "ranking", "skip"}
    assert lost(db, acks) == []
    check(db)
