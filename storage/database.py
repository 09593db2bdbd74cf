"""The SQLite connection: pragmas, numbered migrations, and serialised transactions on one writer connection."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from engine.errors import DatabaseBusy, StorageFull
from storage import integrity
from storage.active import ActiveSet
from storage.repository import Repository
from storage.sql import InThread

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 2000  # how long a write waits for another connection's write (Discord allows 3 s to answer)


Synchronous = Literal["full", "normal"]
T = TypeVar("T")
Unit = Callable[[Repository], Coroutine[Any, Any, T]]  # one unit of work: reads and writes on the repository it gets
log = logging.getLogger(__name__)


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration file, in order."""
    out = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    out.sort()
    numbers = [n for n, _, _ in out]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return out


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements, so they can run inside one explicit transaction."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise ValueError(f"incomplete SQL statement at end of migration: {buf[:80]!r}")
    return statements


class Database:
    """One long-lived connection; every unit of work runs under one lock in its own transaction.

    aiosqlite shares a transaction among all users of a connection, so the lock is what keeps
    one request's writes out of another's rollback.
    """

    CHECKPOINT_EVERY = 200  # write transactions between background checkpoints
    JOURNAL_LIMIT = 64 * 2**20  # bytes: a checkpointed WAL is cut back to this when it starts over (issue 18)

    def __init__(
        self, conn: aiosqlite.Connection, path: str, synchronous: Synchronous = "full", *, active_set: bool = True
    ) -> None:
        self._conn = conn
        self.path = path
        self.synchronous = synchronous
        self._sync_now = synchronous  # the connection's current PRAGMA synchronous
        self._lock = asyncio.Lock()
        self._repo = Repository(conn)
        self._here: Repository | None = None  # the repository on the database thread's own connection (`run`)
        # The in-memory model of the active set the hand-out reads in units (`run`); None: the hand-out's SQL.
        self.active: ActiveSet | None = ActiveSet() if active_set else None
        # How long a unit of work may wait for another program's write lock, counted from when it was asked for
        # (not from when the database thread reaches it): requests queued behind a waiting one do not wait in turn.
        self.busy_timeout = BUSY_TIMEOUT_MS / 1000
        self._longest_queue_wait = 0.0  # seconds a unit waited for the database thread, since `take_queue_wait`
        self._waiting: list[_Waiting] = []  # write units waiting to be handed over as the next group
        self._committer: asyncio.Task[None] | None = None
        self._writes = 0
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._restart_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        migrate: bool = True,
        synchronous: Synchronous = "full",
        cache_mib: int = 64,
        active_set: bool = True,
    ) -> Database:
        """Open (creating it owner-only) and migrate the database at `path`.

        With `synchronous="full"` every durable commit syncs the WAL to disk, so an acknowledged write
        survives a power cut or an operating-system crash too; with "normal" commits survive a crash of
        the process only (SQLite's WAL guarantees), which is faster.
        """
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
        path = str(path)
        if path != MEMORY:
            _create_private(Path(path))
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await _enter_wal(conn)
            await conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA temp_store=MEMORY")
            # Checkpoints run from a second connection in the background (see _checkpoint), never
            # inside a request's COMMIT, where they were the slowest 1% of hand-outs.
            await conn.execute(f"PRAGMA wal_autocheckpoint={0 if path != MEMORY else 1000}")
            # 64 MiB by default: the active trees and hot indexes stay in memory; an export reading everything once
            # gains little from a large cache and asks for less (EXPORT_CACHE_MIB)
            await conn.execute(f"PRAGMA cache_size={-1024 * cache_mib}")
            await conn.execute(f"PRAGMA journal_size_limit={cls.JOURNAL_LIMIT}")
            db = cls(conn, path, synchronous, active_set=active_set)
            if migrate:
                await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        for task in (self._checkpoint_task, self._restart_task):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
        if self._checkpointer is not None:
            await self._checkpointer.close()
        async with self._lock:
            try:
                await self._conn.execute("PRAGMA optimize")
            finally:
                await self._conn.close()  # the last connection to close checkpoints the rest of the WAL

    def _after_write(self) -> None:
        self._writes += 1
        if self.path == MEMORY:
            return
        loop = asyncio.get_running_loop()
        if self._wal_too_big():
            if self._restart_task is None or self._restart_task.done():
                self._restart_task = loop.create_task(self._restart_wal())
            return
        if self._writes % self.CHECKPOINT_EVERY:
            return
        if self._checkpoint_task is None or self._checkpoint_task.done():
            self._checkpoint_task = loop.create_task(self._checkpoint())

    async def _restart_wal(self) -> None:
        """Let the WAL start over once it has outgrown JOURNAL_LIMIT. The background checkpoint never gets there
        while writes keep coming: each commit lands while it copies, so it never reaches the WAL's end, and the
        WAL only starts over after a copy that did (it grew to 170 MB in 3,600 hand-outs and submissions). Here
        the writer's own connection copies what is left between two units, when nothing else writes; the next
        write starts the WAL over and cuts the file back to JOURNAL_LIMIT. Requests wait behind it as behind a
        unit. Background passes first copy the pages while writes go on, each a shorter tail than the one before,
        until a pass is quick: little is left for this one (one such pass took 240 ms, requests waiting behind)."""
        if self._checkpoint_task is not None and not self._checkpoint_task.done():
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        for _ in range(6):
            started = time.monotonic()
            await self._checkpoint()
            if time.monotonic() - started < 0.01:
                break
        try:
            async with self._lock:
                await self._conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")  # stepped to its end
        except Exception:  # as for _checkpoint: the WAL grows until the next try
            log.warning("checkpoint of %s failed", self.path, exc_info=True)

    def _wal_too_big(self) -> bool:
        """A few large transactions (an import) can outgrow the limit long before CHECKPOINT_EVERY writes."""
        try:
            return os.stat(f"{self.path}-wal").st_size > self.JOURNAL_LIMIT
        except OSError:
            return False

    async def _checkpoint(self) -> None:
        """Copy committed WAL pages into the database file without blocking the writer (PASSIVE)."""
        try:
            if self._checkpointer is None:
                self._checkpointer = await aiosqlite.connect(self.path, isolation_level=None)
                await self._checkpointer.execute("PRAGMA busy_timeout=1000")
            await self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # a missed checkpoint only lets the WAL grow until the next one
            log.warning("background checkpoint of %s failed", self.path, exc_info=True)

    async def schema_version(self) -> int:
        rows = await self._conn.execute_fetchall("PRAGMA user_version")
        return int(next(iter(rows))[0])

    async def migrate(self) -> int:
        """Apply every migration newer than the file's user_version; each in its own transaction."""
        applied = 0
        for number, name, sql in migrations():
            async with self._lock:
                # The version is read inside the write transaction: another process opening the same new
                # file at the same moment applies each migration once, and the other finds it applied.
                await self._begin("BEGIN IMMEDIATE")
                try:
                    if number <= await self.schema_version():
                        await self._conn.execute("ROLLBACK")
                        continue
                    for statement in split_statements(sql):
                        await self._conn.execute(statement)
                    await self._conn.execute(f"PRAGMA user_version = {number}")
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await asyncio.shield(self._end_open_transaction())
                    raise RuntimeError(f"migration {name} failed") from None
                applied += 1
        return applied

    @asynccontextmanager
    async def transaction(self, *, write: bool = True, durable: bool = True) -> AsyncIterator[Repository]:
        """A unit of work: commit on success, roll back on any exception.

        A write that is not `durable` (a task reservation, which a member can simply ask for again)
        commits without syncing the disk; the next durable commit syncs it along with its own rows.
        """
        async with self._lock:
            if not write:
                await self._begin("BEGIN")
            elif (wanted := "normal" if not durable else self.synchronous) != self._sync_now:
                self._sync_now = wanted  # set first: once queued, the pragma runs even if this request is cancelled
                # One round trip: the pragma is only allowed outside a transaction.
                await self._begin(f"PRAGMA synchronous={wanted.upper()}; BEGIN IMMEDIATE", script=True)
            else:
                await self._begin("BEGIN IMMEDIATE")
            try:
                yield self._repo
            except sqlite3.OperationalError as exc:  # a statement found the disk full, or the file locked
                await asyncio.shield(self._end_open_transaction())
                raise _busy_or(exc) from exc
            except BaseException:
                await asyncio.shield(self._end_open_transaction())
                raise
            else:
                try:
                    await self._conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    await asyncio.shield(self._end_open_transaction())
                    raise _busy_or(exc) from exc
                if write:
                    self._after_write()

    async def run(self, unit: Unit[T], *, write: bool = True, durable: bool = True) -> T:
        """Run a unit of work in its own transaction, all of it on the database thread in one hand-off.

        `unit` gets a repository whose coroutines never suspend (`storage.sql.InThread`): the event loop waits
        once per request instead of once per statement (issue 19), and no other request's statements can come
        between them. The unit must await nothing but that repository. Commit on success, roll back on any
        exception (which is then raised here); `durable` as in `transaction`.

        Group commit: write units asked for while the database thread is busy wait together and then run in one
        transaction, each inside its own savepoint (a unit that fails rolls back to it, alone), so they share one
        COMMIT and one sync of the disk. None is answered before that commit is on disk (`synchronous=full`).
        """
        deadline = time.monotonic() + self.busy_timeout
        if write:
            waiting = _Waiting(unit, durable, deadline, asyncio.get_running_loop().create_future())
            self._waiting.append(waiting)
            if self._committer is None or self._committer.done():
                self._committer = asyncio.get_running_loop().create_task(self._commit_waiting())
            result: T = await waiting.future  # a cancelled request still commits or fails whole with its group
            self._after_write()
            return result
        async with self._lock:
            try:
                return await self._conn._execute(self._read_here, unit, deadline)  # type: ignore[no-any-return, no-untyped-call]
            except sqlite3.OperationalError as exc:  # the file locked by another program
                raise _busy_or(exc) from exc

    async def _commit_waiting(self) -> None:
        """Hand every write unit waiting now to the database thread as one group; again until none waits."""
        while self._waiting:
            group, self._waiting = self._waiting, []
            async with self._lock:
                pragma = None
                if (wanted := self.synchronous if any(w.durable for w in group) else "normal") != self._sync_now:
                    self._sync_now = pragma = wanted  # set first: once queued, the pragma runs even if cancelled
                try:
                    outcomes = await self._conn._execute(self._group_here, group, pragma)  # type: ignore[no-untyped-call]
                except BaseException as exc:  # nothing of the group ran (the write lock was not had): all fail
                    for w in group:
                        _settle(w.future, False, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
            for w, (ok, value) in zip(group, outcomes, strict=True):
                _settle(w.future, ok, value)

    def take_queue_wait(self) -> float:
        """The longest a unit of work waited for the database thread (behind others) since the last call: how far
        behind the database is (the admission gate's second measure of load, besides the event loop's lag)."""
        longest, self._longest_queue_wait = self._longest_queue_wait, 0.0
        return longest

    def _waited(self, deadline: float) -> None:
        waited = time.monotonic() - (deadline - self.busy_timeout)
        if waited > self._longest_queue_wait:
            self._longest_queue_wait = waited

    def _prepared(self) -> tuple[sqlite3.Connection, Repository]:
        raw = self._conn._conn
        if self._here is None:
            self._here = Repository(InThread(raw), self.active)
            if self.active is not None:
                self.active.changes = lambda: raw.total_changes
        return raw, self._here

    def _model_mark(self, raw: sqlite3.Connection) -> tuple[int, int]:
        """Where the model and the connection stand before work that may roll back: (model version, rows changed)."""
        return (-1 if self.active is None else self.active.version), raw.total_changes

    def _forget_model_since(self, mark: tuple[int, int]) -> None:
        """Work rolled back after the model read rows the same work had written: the model may hold rows that never
        were. (A unit refused before it wrote, as most refusals are, keeps the model: it read committed rows.)"""
        if self.active is not None and self.active.read_uncommitted_since(*mark):
            self.active.reset()

    def _read_here(self, unit: Unit[T], deadline: float) -> T:
        """A read unit, on the database thread: a consistent snapshot (in WAL, readers never wait)."""
        self._waited(deadline)
        raw, repo = self._prepared()
        raw.execute("BEGIN")
        try:
            return _drive(unit(repo))
        finally:
            raw.execute("ROLLBACK")

    def _group_here(self, group: list[_Waiting], pragma: str | None) -> list[tuple[bool, Any]]:
        """A group of write units, on the database thread: one transaction, a savepoint each, one COMMIT.
        Returns (ok, result or exception) per unit; raises only when the write lock could not be had."""
        for w in group:
            self._waited(w.deadline)
        raw, repo = self._prepared()
        if pragma is not None:
            raw.execute(f"PRAGMA synchronous={pragma.upper()}")
        # Wait for another program's write lock only as long as the oldest unit of the group has left.
        left = (min(w.deadline for w in group) - time.monotonic()) * 1000  # ms
        if left < 1:
            raise sqlite3.OperationalError("database is locked (no time left to wait for it)")
        ms = int(left) if left < 100 else int(left) // 50 * 50  # steps of 50: few distinct statements to cache
        if self.busy_timeout * 1000 >= BUSY_TIMEOUT_MS and ms >= BUSY_TIMEOUT_MS - 100:
            # nearly the whole budget left, as almost always: the connection's own timeout (two statements fewer)
            raw.execute("BEGIN IMMEDIATE")
        else:
            raw.execute(f"PRAGMA busy_timeout={ms}")
            try:
                raw.execute("BEGIN IMMEDIATE")
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        alone = len(group) == 1
        outcomes: list[tuple[bool, Any]] = []
        start = self._model_mark(raw)
        try:
            for w in group:
                if not alone:
                    raw.execute("SAVEPOINT unit")
                before = self._model_mark(raw)
                try:
                    value = _drive(w.unit(repo))
                except Exception as exc:
                    if not raw.in_transaction:  # SQLite rolled the whole transaction back (a full disk, say)
                        self._forget_model_since(start)
                        return [(False, exc)] * len(group)
                    if not alone:
                        raw.execute("ROLLBACK TO unit")
                        raw.execute("RELEASE unit")
                    self._forget_model_since(before)
                    outcomes.append((False, exc))
                    continue
                if not alone:
                    raw.execute("RELEASE unit")
                outcomes.append((True, value))
            if not any(ok for ok, _ in outcomes):
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                return outcomes
            raw.execute("COMMIT")
            return outcomes
        except BaseException as exc:  # the savepoints or the COMMIT failed: nothing of the group is stored
            self._forget_model_since(start)
            if raw.in_transaction:
                try:
                    raw.execute("ROLLBACK")
                except sqlite3.Error:  # the original error says more; SQLite rolls back a broken transaction itself
                    log.warning("rollback failed", exc_info=True)
            if not isinstance(exc, Exception):
                raise
            return [(False, exc)] * len(group)

    async def _begin(self, sql: str, *, script: bool = False) -> None:
        """Start a transaction. A request cancelled meanwhile must not leave the connection inside the
        transaction its queued BEGIN opens; a database another process holds too long is `DatabaseBusy`."""
        try:
            if script:
                await self._conn.executescript(sql)
            else:
                await self._conn.execute(sql)
        except BaseException as exc:
            await asyncio.shield(self._end_open_transaction())
            if isinstance(exc, sqlite3.OperationalError):
                raise _busy_or(exc) from exc
            raise

    async def _end_open_transaction(self) -> None:
        """Roll back whatever transaction the connection is in, once every statement queued before has run."""
        await self._conn.execute("SELECT 1")  # aiosqlite runs statements in order: a queued BEGIN has run now
        if self._conn.in_transaction:
            await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def job_claim(self, job_id: str, now: float, interval: float) -> AsyncIterator[bool]:
        """Whether this process runs scheduled job `job_id` now: always, as the only process on the file (see
        `PgDatabase.job_claim` for several)."""
        yield True

    @property
    def shared(self) -> bool:
        """One bot process per SQLite file (bot/guard.py): nobody else writes as the bot."""
        return False

    def read(self) -> AbstractAsyncContextManager[Repository]:
        """A read-only unit of work (a consistent snapshot; never writes)."""
        return self.transaction(write=False)

    async def find_violations(self, params: dict[str, Any]) -> list[str]:
        """Rows that break the schema's invariants (see storage.integrity), plus SQLite's own checks."""
        problems = await self.integrity_check()
        async with self._lock:
            await self._conn.execute("BEGIN")
            try:
                problems += await integrity.find_violations(self._conn, params)
            finally:
                await self._conn.execute("ROLLBACK")
        return problems

    async def integrity_check(self) -> list[str]:
        async with self._lock:
            rows = await self._conn.execute_fetchall("PRAGMA integrity_check")
            problems = [str(r[0]) for r in rows if r[0] != "ok"]
            fk = await self._conn.execute_fetchall("PRAGMA foreign_key_check")
            problems += [f"foreign key: table {r[0]} rowid {r[1]} points to missing {r[2]}" for r in fk]
            return problems


@dataclass
class _Waiting:
    """A write unit waiting for its group's commit (`Database.run`)."""

    unit: Unit[Any]
    durable: bool
    deadline: float  # time.monotonic() by which it must have the write lock
    future: asyncio.Future[Any]


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    elif isinstance(value, sqlite3.OperationalError):  # the disk full, or the file locked by another program
        future.set_exception(_busy_or(value))
    else:
        future.set_exception(value)


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, here and now."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a unit of work given to Database.run awaited something other than its repository")


def _busy_or(exc: sqlite3.OperationalError) -> Exception:
    if "locked" in str(exc) or "busy" in str(exc):
        return DatabaseBusy(
            "The database is busy with another program (a backup, an import or a second Grove?); try again."
        )
    if "disk is full" in str(exc) or "disk I/O error" in str(exc):
        return StorageFull(f"The database could not grow ({exc}); the write was rolled back.")
    return exc


async def _enter_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL. On a file another process is creating at the same moment SQLite refuses the switch
    without calling the busy handler, so retry for as long as the busy timeout would have waited."""
    deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.02)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
