"""PostgreSQL as Grove's database, for more than one bot process on one dataset (issue 19).

The same units of work as on SQLite (`storage.database.Database`): a unit is a coroutine function that gets a
`Repository` and runs to its end in one hand-off to the database thread, here a thread holding one psycopg
connection. The repository's SQL is SQLite's, turned into PostgreSQL's once per statement (`storage.pg.dialect`).

Writers, in this process and in every other one on the same database, take one transaction-scoped advisory lock
before anything else: writes are serialised exactly as SQLite's single writer serialises them, so every rule the
engine checks before it writes (a free slot, a tree's state, a member's cap) still holds when it writes, and no
slot is handed out twice. Reads take a repeatable-read snapshot and never wait. Waiting for the lock is bounded by
the same budget as SQLite's busy timeout, after which the member hears "busy" (`DatabaseBusy`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, TypeVar

import psycopg
import psycopg.errors
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus
from psycopg.types.string import StrDumperUnknown

from engine.errors import DatabaseBusy, StorageFull
from storage import integrity
from storage.database import BUSY_TIMEOUT_MS, Synchronous, Unit, _drive, _Waiting
from storage.pg.dialect import needs_client_binding, to_postgres
from storage.pg.exports import PgExportQueries
from storage.repository import Repository
from storage.sql import SqlParams, _Count

T = TypeVar("T")
log = logging.getLogger(__name__)

BASE_VERSION = 10  # the SQLite migration schema.sql matches; later ones come in pairs (pg_migrations)


def pg_migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of PostgreSQL's migrations after schema.sql (storage/pg/NNNN_name.sql), in order: each
    the twin of SQLite's migration with the same number."""
    out = []
    for entry in resources.files("storage.pg").iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            out.append((int(entry.name[:4]), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


SCHEMA_VERSION = max([BASE_VERSION, *(n for n, _, _ in pg_migrations())])
WRITE_LOCK = 0x67726F76  # the advisory lock every writer holds for its transaction ("grov")


class Row(tuple):  # type: ignore[type-arg]
    """A result row readable by position and by column name, as sqlite3.Row is."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})


def _rows(cursor: psycopg.Cursor[Any]) -> Any:
    names = tuple(c.name for c in cursor.description or ())
    cls = _row_class(names)
    return lambda values: cls(values)


class _FlagDumper(Dumper):
    """Python's True/False go in as 1/0: flags are integer columns, as in SQLite."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _NumberLoader(Loader):
    """numeric (what sum() and avg() of integers give) comes back as int when whole, else float, as in SQLite."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        return float(text) if b"." in text or b"e" in text.lower() else int(text)


class _TextLoader(Loader):
    """JSON comes back as its text, as SQLite's JSON functions give it."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


# PostgreSQL's text cannot hold U+0000, which SQLite stores and a member can type (a draft, a report comment):
# it goes in as U+FFFF, a noncharacter no keyboard produces, and comes back as U+0000. Nothing is lost.
_NUL, _NUL_STORED = "\x00", "\uffff"


class _StrDumper(StrDumperUnknown):
    def dump(self, obj: str) -> Any:
        return super().dump(obj.replace(_NUL, _NUL_STORED) if _NUL in obj else obj)

    def quote(self, obj: str) -> Any:
        return super().quote(obj.replace(_NUL, _NUL_STORED) if _NUL in obj else obj)


class _StrLoader(Loader):
    def load(self, data: Any) -> str:
        text = bytes(data).decode()
        return text.replace(_NUL_STORED, _NUL) if _NUL_STORED in text else text


def _params(parameters: SqlParams) -> Sequence[Any] | Mapping[str, Any] | None:
    if isinstance(parameters, Mapping):
        return dict(parameters)
    return tuple(parameters) or None


class PgInThread:
    """The database thread's psycopg connection behind aiosqlite's method names (see `storage.sql.InThread`)."""

    __slots__ = ("_raw", "_server")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self._raw = raw
        self._server: psycopg.Cursor[Any] = psycopg.Cursor(raw, row_factory=_rows)  # values bound on the server

    def _execute(self, sql: str, parameters: SqlParams) -> psycopg.Cursor[Any]:
        params = _params(parameters)
        if params is None or needs_client_binding(sql):
            return self._raw.execute(to_postgres(sql, params is not None), params)
        return self._server.execute(to_postgres(sql, True), params)

    def fetchall_now(self, sql: str, parameters: SqlParams = ()) -> list[Any]:
        cur = self._execute(sql, parameters)
        return cur.fetchall() if cur.description else []

    def run_now(self, sql: str, parameters: SqlParams = ()) -> _Count:
        return _Count(self._execute(sql, parameters).rowcount)

    def many_now(self, sql: str, parameters: Iterable[SqlParams]) -> _Count:
        rows = [_params(p) or () for p in parameters]
        if not rows:
            return _Count(0)
        with self._raw.cursor() as cur:
            cur.executemany(to_postgres(sql, True), rows)
            return _Count(cur.rowcount)

    async def execute_fetchall(self, sql: str, parameters: SqlParams = ()) -> list[Any]:
        return self.fetchall_now(sql, parameters)

    async def execute(self, sql: str, parameters: SqlParams = ()) -> _Count:
        return self.run_now(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[SqlParams]) -> _Count:
        return self.many_now(sql, parameters)


class PgOnLoop:
    """The same connection for code on the event loop (`PgDatabase.transaction`): each statement handed over."""

    def __init__(self, here: PgInThread, executor: ThreadPoolExecutor) -> None:
        self._here = here
        self._executor = executor

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def execute_fetchall(self, sql: str, parameters: SqlParams = ()) -> list[Any]:
        return await self._call(self._here.fetchall_now, sql, parameters)  # type: ignore[no-any-return]

    async def execute(self, sql: str, parameters: SqlParams = ()) -> _Count:
        return await self._call(self._here.run_now, sql, parameters)  # type: ignore[no-any-return]

    async def executemany(self, sql: str, parameters: Iterable[SqlParams]) -> _Count:
        return await self._call(self._here.many_now, sql, list(parameters))  # type: ignore[no-any-return]


class PgDatabase:
    """`storage.database.Database`'s interface on PostgreSQL: `run`, `transaction`, `read`, `migrate`, `close`."""

    active = None  # the in-memory active set is SQLite's; here the hand-out reads its snapshot with SQL

    def __init__(self, url: str, executor: ThreadPoolExecutor, raw: psycopg.Connection[Any], synchronous: str) -> None:
        self.url = url
        self.path = url  # what `grove` prints and export workers would open
        self.synchronous = synchronous
        self.busy_timeout = BUSY_TIMEOUT_MS / 1000
        self._executor = executor
        self._raw = raw
        self._here = PgInThread(raw)
        self._repo_here = _repository(self._here)
        self._conn = PgOnLoop(self._here, executor)  # statements outside units (autocommit), as Database._conn
        self._repo_loop = _repository(self._conn)
        self._lock = asyncio.Lock()
        self._waiting: list[_Waiting] = []
        self._committer: asyncio.Task[None] | None = None
        self._longest_queue_wait = 0.0

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, synchronous: Synchronous = "full", **_sqlite_only: Any
    ) -> PgDatabase:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grove-pg")
        loop = asyncio.get_running_loop()
        try:
            raw = await loop.run_in_executor(executor, _connect, url)
        except psycopg.OperationalError as exc:
            executor.shutdown(wait=False)
            raise RuntimeError(f"could not connect to PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
        db = cls(url, executor, raw, synchronous)
        try:
            if migrate:
                await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        async with self._lock:
            await self._call(self._raw.close)
        self._executor.shutdown(wait=True)

    async def schema_version(self) -> int:
        return int(await self._call(self._version_here))

    def _version_here(self) -> int:
        exists = self._here.fetchall_now("SELECT to_regclass('grove_schema') IS NOT NULL")[0][0]
        if not exists:
            return 0
        return int(self._here.fetchall_now("SELECT max(version) FROM grove_schema")[0][0] or 0)

    async def migrate(self) -> int:
        async with self._lock:
            return int(await self._call(self._migrate_here))

    def _migrate_here(self) -> int:
        raw = self._raw
        raw.execute("BEGIN")
        try:
            raw.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            version = self._version_here()
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"this PostgreSQL database has Grove schema {version}, newer than this Grove knows "
                    f"({SCHEMA_VERSION}); upgrade Grove"
                )
            applied = 0
            if version == 0:
                raw.execute(resources.files("storage.pg").joinpath("schema.sql").read_text(encoding="utf-8"))
                version, applied = BASE_VERSION, 1
            for number, _, sql in pg_migrations():
                if number > version:
                    raw.execute(sql)
                    raw.execute(f"UPDATE grove_schema SET version = {number}")
                    applied += 1
            raw.execute("COMMIT")
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        return applied

    # ------------------------------------------------------------------ units of work

    async def run(self, unit: Unit[T], *, write: bool = True, durable: bool = True) -> T:
        """As `Database.run`: the whole unit on the database thread in one hand-off; writes grouped under one
        COMMIT, each unit in its own savepoint."""
        deadline = time.monotonic() + self.busy_timeout
        if write:
            waiting = _Waiting(unit, durable, deadline, asyncio.get_running_loop().create_future())
            self._waiting.append(waiting)
            if self._committer is None or self._committer.done():
                self._committer = asyncio.get_running_loop().create_task(self._commit_waiting())
            return await waiting.future  # type: ignore[no-any-return]
        async with self._lock:
            try:
                return await self._call(self._read_here, unit, deadline)  # type: ignore[no-any-return]
            except psycopg.Error as exc:
                raise _domain(exc) from exc

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            async with self._lock:
                try:
                    outcomes = await self._call(self._group_here, group)
                except BaseException as exc:
                    for w in group:
                        _settle(w.future, False, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
            for w, (ok, value) in zip(group, outcomes, strict=True):
                _settle(w.future, ok, value)

    def take_queue_wait(self) -> float:
        longest, self._longest_queue_wait = self._longest_queue_wait, 0.0
        return longest

    def _waited(self, deadline: float) -> None:
        self._longest_queue_wait = max(self._longest_queue_wait, time.monotonic() - (deadline - self.busy_timeout))

    def _read_here(self, unit: Unit[T], deadline: float) -> T:
        self._waited(deadline)
        self._raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            return _drive(unit(self._repo_here))
        finally:
            self._raw.execute("ROLLBACK")

    def _begin_write(self, deadline: float, durable: bool) -> None:
        """BEGIN and take the write lock, waiting no longer than the oldest request has left."""
        left = int((deadline - time.monotonic()) * 1000)
        if left < 1:
            raise DatabaseBusy(_BUSY)
        raw = self._raw
        raw.execute("BEGIN")
        raw.execute(f"SET LOCAL lock_timeout = {left}")
        if not durable or self.synchronous == "normal":
            raw.execute("SET LOCAL synchronous_commit = off")
        raw.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        raw.execute("SET LOCAL lock_timeout = 0")

    def _group_here(self, group: list[_Waiting]) -> list[tuple[bool, Any]]:
        for w in group:
            self._waited(w.deadline)
        raw = self._raw
        try:
            self._begin_write(min(w.deadline for w in group), any(w.durable for w in group))
        except BaseException:
            self._end_open_transaction_here()
            raise
        alone = len(group) == 1
        outcomes: list[tuple[bool, Any]] = []
        try:
            for w in group:
                if not alone:
                    raw.execute("SAVEPOINT unit")
                try:
                    value = _drive(w.unit(self._repo_here))
                except Exception as exc:
                    if not alone:
                        raw.execute("ROLLBACK TO SAVEPOINT unit")
                        raw.execute("RELEASE SAVEPOINT unit")
                    outcomes.append((False, exc))
                    continue
                if not alone:
                    raw.execute("RELEASE SAVEPOINT unit")
                outcomes.append((True, value))
            if not any(ok for ok, _ in outcomes):
                raw.execute("ROLLBACK")
                return outcomes
            raw.execute("COMMIT")
            return outcomes
        except BaseException as exc:
            self._end_open_transaction_here()
            if not isinstance(exc, Exception):
                raise
            return [(False, exc)] * len(group)

    def _end_open_transaction_here(self) -> None:
        if self._raw.info.transaction_status != TransactionStatus.IDLE:
            try:
                self._raw.execute("ROLLBACK")
            except psycopg.Error:
                log.warning("rollback failed", exc_info=True)

    @asynccontextmanager
    async def transaction(self, *, write: bool = True, durable: bool = True) -> AsyncIterator[Repository]:
        """A unit of work spanning awaits (imports, exports, tools), statement by statement on the thread."""
        async with self._lock:
            deadline = time.monotonic() + self.busy_timeout
            try:
                if write:
                    await self._call(self._begin_write, deadline, durable)
                else:
                    await self._call(self._raw.execute, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            except psycopg.Error as exc:
                await asyncio.shield(self._call(self._end_open_transaction_here))
                raise _domain(exc) from exc
            try:
                yield self._repo_loop
            except psycopg.Error as exc:
                await asyncio.shield(self._call(self._end_open_transaction_here))
                raise _domain(exc) from exc
            except BaseException:
                await asyncio.shield(self._call(self._end_open_transaction_here))
                raise
            else:
                try:
                    await self._call(self._raw.execute, "COMMIT")
                except psycopg.Error as exc:
                    await asyncio.shield(self._call(self._end_open_transaction_here))
                    raise _domain(exc) from exc

    @asynccontextmanager
    async def job_claim(self, job_id: str, now: float, interval: float) -> AsyncIterator[bool]:
        """Whether this process runs scheduled job `job_id` now. Every process on the database schedules every job;
        the one that gets the job's advisory lock first, at a time when no process has run the job for half an
        interval, runs it, holding the lock until it has recorded the run. The others skip that tick: a job runs
        once per interval across processes, with no leader to elect or lose."""
        async with self._lock:
            mine = bool(await self._call(self._claim_here, job_id, now - interval / 2))
        try:
            yield mine
        finally:
            if mine:
                async with self._lock:
                    await self._call(self._unclaim_here, job_id)

    def _claim_here(self, job_id: str, ran_since: float) -> bool:
        got = self._here.fetchall_now(f"SELECT pg_try_advisory_lock({WRITE_LOCK}, hashtext(?))", (job_id,))[0][0]
        if not got:
            return False
        last = self._here.fetchall_now("SELECT last_run FROM job_runs WHERE job_id = ?", (job_id,))
        if last and float(last[0][0]) > ran_since:  # another process ran it this interval
            self._unclaim_here(job_id)
            return False
        return True

    def _unclaim_here(self, job_id: str) -> None:
        self._here.fetchall_now(f"SELECT pg_advisory_unlock({WRITE_LOCK}, hashtext(?))", (job_id,))

    @property
    def shared(self) -> bool:
        """Several bot processes may serve one PostgreSQL database (`grove run --shard-ids`)."""
        return True

    def read(self) -> AbstractAsyncContextManager[Repository]:
        return self.transaction(write=False)

    async def find_violations(self, params: dict[str, Any]) -> list[str]:
        async with self.read():
            return await integrity.find_violations(PgOnLoop(self._here, self._executor), params)  # type: ignore[arg-type]

    async def integrity_check(self) -> list[str]:
        """PostgreSQL checks its pages and foreign keys itself; nothing to add here."""
        return []


def _repository(conn: PgInThread | PgOnLoop) -> Repository:
    repo = Repository(conn)  # type: ignore[arg-type]
    repo.exports = PgExportQueries(conn)  # type: ignore[arg-type]
    return repo


_BUSY = "The database is busy with another program (an import or another Grove process?); try again."


def _connect(url: str) -> psycopg.Connection[Any]:
    # Values are bound on the client (ClientCursor), as SQLite's untyped parameters behave: `? IS NULL OR x = ?`
    # needs no declared type on the server.
    raw: psycopg.Connection[Any] = psycopg.connect(
        url, autocommit=True, row_factory=_rows, cursor_factory=psycopg.ClientCursor
    )
    raw.adapters.register_dumper(bool, _FlagDumper)
    raw.adapters.register_dumper(str, _StrDumper)
    raw.adapters.register_loader("text", _StrLoader)
    raw.adapters.register_loader("numeric", _NumberLoader)
    raw.adapters.register_loader("json", _TextLoader)
    raw.adapters.register_loader("jsonb", _TextLoader)
    raw.execute("SET TIME ZONE 'UTC'")
    return raw


def _domain(exc: BaseException) -> BaseException:
    errors = psycopg.errors
    if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled | errors.DeadlockDetected):
        return DatabaseBusy(_BUSY)
    if isinstance(exc, errors.DiskFull | errors.OutOfMemory):
        return StorageFull(f"The database could not grow ({exc}); the write was rolled back.")
    return exc


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(_domain(value))
