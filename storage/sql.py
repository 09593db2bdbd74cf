"""A small query base and the SQL vocabulary, built from the enums (never retyped)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import aiosqlite

from engine.types import LABEL_TYPES as _LABEL
from engine.types import RANKING_TYPES as _RANK
from engine.types import WRITING_TYPES as _WRITING

if TYPE_CHECKING:
    from storage.active import ActiveSet, Patch


def words(values: Iterable[Any]) -> str:
    """An IN list of string literals for fixed, trusted vocabularies (roles, states, task types)."""
    vals = sorted(str(v) for v in values) if isinstance(values, (set, frozenset)) else [str(v) for v in values]
    for v in vals:
        if not v.replace("_", "").isalnum():
            raise ValueError(f"not a vocabulary word: {v!r}")
    return "(" + ", ".join(f"'{v}'" for v in vals) + ")"


T = TypeVar("T")

SqlValue: TypeAlias = int | float | str | bytes | None  # what SQLite stores and returns in one cell
SqlParams: TypeAlias = Sequence[SqlValue] | Mapping[str, SqlValue]  # positional (?) or named (:name) parameters


def chunks(ids: Sequence[T], size: int = 500) -> list[Sequence[T]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


REPLY_TYPES = words(_WRITING)
LABEL_TYPES = words(_LABEL)
RANK_TYPES = words(_RANK)
RESULT_TYPES = words(_LABEL | _RANK)  # tasks whose result a purge removes
LIVE = "(k.lease_until > :now)"  # a pending task whose lease still holds its slot (decisions #15, #16)


class _Count:
    """What `InThread.execute` gives back: the statement's row count (a cursor's `rowcount`), already closed."""

    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    async def close(self) -> None:
        return None


class InThread:
    """The database thread's own sqlite3 connection behind aiosqlite's method names.

    Its coroutines never suspend: a unit of work built on it runs to its end in one `send` on the database
    thread (`Database.run`), so the event loop hands the whole unit over once instead of once per statement
    (issue 19). Only ever called on that thread.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute_fetchall(self, sql: str, parameters: SqlParams = ()) -> list[sqlite3.Row]:
        return self._raw.execute(sql, parameters).fetchall()

    async def execute(self, sql: str, parameters: SqlParams = ()) -> _Count:
        cur = self._raw.execute(sql, parameters)
        n = cur.rowcount
        cur.close()
        return _Count(n)

    async def executemany(self, sql: str, parameters: Iterable[SqlParams]) -> _Count:
        cur = self._raw.executemany(sql, parameters)
        n = cur.rowcount
        cur.close()
        return _Count(n)


Conn: TypeAlias = aiosqlite.Connection | InThread  # awaited on the loop (aiosqlite) or driven on the database thread


class Queries:
    """One connection's queries; every read and write model derives from this."""

    # The in-memory model of the active set that this connection's writes keep in step (the database thread's
    # repository only; see `ActiveSet.tracked`).
    _model: ActiveSet | None = None

    def __init__(self, conn: Conn) -> None:
        self._c = conn

    async def _tracked(self, run: Callable[[], Awaitable[T]], patch: Patch[T] | None = None) -> T:
        """A write that may stamp trees (migration 0010), told to the model when there is one."""
        if self._model is None:
            return await run()
        return await self._model.tracked(self, run, patch)

    async def _all(self, sql: str, params: SqlParams = ()) -> list[sqlite3.Row]:
        return list(await self._c.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: SqlParams = ()) -> sqlite3.Row | None:
        rows = await self._c.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _scalar(self, sql: str, params: SqlParams = ()) -> SqlValue:
        """The first column of the first row; None when there is no row (or the cell is NULL)."""
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _int(self, sql: str, params: SqlParams = ()) -> int:
        """The integer a query always yields (a count(*), a RETURNING counter); TypeError when it yields nothing."""
        value = await self._scalar(sql, params)
        if value is None:
            raise TypeError(f"expected an integer, got no row or NULL from: {sql}")
        return int(value)

    async def _run(self, sql: str, params: SqlParams = ()) -> int:
        cur = await self._c.execute(sql, params)
        n = cur.rowcount
        await cur.close()
        return n
