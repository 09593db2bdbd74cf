"""The SQLite connection: pragmas, numbered migrations, and serialised transactions on one writer connection."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage import integrity
from storage.repository import Repository

MEMORY = ":memory:"
Synchronous = Literal["full", "normal"]
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

    def __init__(self, conn: aiosqlite.Connection, path: str, synchronous: Synchronous = "full") -> None:
        self._conn = conn
        self.path = path
        self.synchronous = synchronous
        self._sync_now = synchronous  # the connection's current PRAGMA synchronous
        self._lock = asyncio.Lock()
        self._repo = Repository(conn)
        self._writes = 0
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, migrate: bool = True, synchronous: Synchronous = "full"
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
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA temp_store=MEMORY")
            # Checkpoints run from a second connection in the background (see _checkpoint), never
            # inside a request's COMMIT, where they were the slowest 1% of hand-outs.
            await conn.execute(f"PRAGMA wal_autocheckpoint={0 if path != MEMORY else 1000}")
            await conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: the active trees and hot indexes stay in memory
            db = cls(conn, path, synchronous)
            if migrate:
                await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        if self._checkpointer is not None:
            await self._checkpointer.close()
        async with self._lock:
            try:
                await self._conn.execute("PRAGMA optimize")
            finally:
                await self._conn.close()  # the last connection to close checkpoints the rest of the WAL

    def _after_write(self) -> None:
        self._writes += 1
        if self.path == MEMORY or self._writes % self.CHECKPOINT_EVERY:
            return
        if self._checkpoint_task is None or self._checkpoint_task.done():
            self._checkpoint_task = asyncio.get_running_loop().create_task(self._checkpoint())

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
                if number <= await self.schema_version():
                    continue
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in split_statements(sql):
                        await self._conn.execute(statement)
                    await self._conn.execute(f"PRAGMA user_version = {number}")
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._conn.execute("ROLLBACK")
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
            if write:
                wanted = "normal" if not durable else self.synchronous
                if wanted != self._sync_now:
                    # One round trip: the pragma is only allowed outside a transaction.
                    await self._conn.executescript(f"PRAGMA synchronous={wanted.upper()}; BEGIN IMMEDIATE")
                    self._sync_now = wanted
                else:
                    await self._conn.execute("BEGIN IMMEDIATE")
            else:
                await self._conn.execute("BEGIN")
            try:
                yield self._repo
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")
                if write:
                    self._after_write()

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


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
