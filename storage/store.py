"""What the engine and the bot need of a database, and how one is opened: SQLite's file or PostgreSQL's URL.

`storage.database.Database` (SQLite, the embedded default) and `storage.pg.database.PgDatabase` (PostgreSQL, for
more than one bot process on one dataset) both have this shape; nothing above storage knows which it has.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from storage.repository import Repository

T = TypeVar("T")


def is_postgres_url(target: str | os.PathLike[str]) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


class Store(Protocol):
    path: str  # the SQLite file, or the PostgreSQL URL
    busy_timeout: float

    @property
    def shared(self) -> bool:
        """Whether other bot processes may use the same database at the same time (PostgreSQL)."""
        ...

    async def run(
        self, unit: Callable[[Repository], Coroutine[Any, Any, T]], *, write: bool = True, durable: bool = True
    ) -> T: ...

    def transaction(self, *, write: bool = True, durable: bool = True) -> AbstractAsyncContextManager[Repository]: ...

    def read(self) -> AbstractAsyncContextManager[Repository]: ...

    async def close(self) -> None: ...

    async def migrate(self) -> int: ...

    async def schema_version(self) -> int: ...

    def take_queue_wait(self) -> float: ...

    def job_claim(self, job_id: str, now: float, interval: float) -> AbstractAsyncContextManager[bool]: ...

    async def find_violations(self, params: dict[str, Any]) -> list[str]: ...

    async def integrity_check(self) -> list[str]: ...


async def open_store(target: str | os.PathLike[str], **options: Any) -> Store:
    """Open the database `target` names: a postgresql:// URL, else a SQLite file (see `Database.open` for the
    options; PostgreSQL takes `migrate` and `synchronous` and ignores SQLite's own)."""
    if is_postgres_url(target):
        from storage.pg.database import PgDatabase  # psycopg is an extra: imported only when asked for

        return await PgDatabase.open(str(target), **options)
    from storage.database import Database

    return await Database.open(target, **options)
