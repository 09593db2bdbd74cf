"""A small query base and the SQL vocabulary, built from the enums (never retyped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from engine.types import LABEL_TYPES as _LABEL
from engine.types import RANKING_TYPES as _RANK
from engine.types import WRITING_TYPES as _WRITING


def words(values: Iterable[Any]) -> str:
    """An IN list of string literals for fixed, trusted vocabularies (roles, states, task types)."""
    vals = sorted(str(v) for v in values) if isinstance(values, (set, frozenset)) else [str(v) for v in values]
    for v in vals:
        if not v.replace("_", "").isalnum():
            raise ValueError(f"not a vocabulary word: {v!r}")
    return "(" + ", ".join(f"'{v}'" for v in vals) + ")"


def chunks(ids: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


REPLY_TYPES = words(_WRITING)
LABEL_TYPES = words(_LABEL)
RANK_TYPES = words(_RANK)
RESULT_TYPES = words(_LABEL | _RANK)  # tasks whose result a purge removes
LIVE = "(k.expires_at IS NULL OR k.expires_at > :now)"  # a pending task that still holds its slot


class Queries:
    """One connection's queries; every read and write model derives from this."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._c = conn

    async def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._c.execute_fetchall(sql, params))

    async def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        rows = await self._c.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _run(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        cur = await self._c.execute(sql, params)
        n = cur.rowcount
        await cur.close()
        return n
