"""Leaderboards and member stats (reference §7): counters per time frame, the leader score, ranks and levels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from engine.clock import Clock, SystemClock
from engine.oasst import IMPORTED_AUTH
from engine.privacy import REMOVED_AUTH
from engine.types import DEFAULT_COMMUNITY
from storage.stats import STAT_COUNTERS, StatsQueries
from storage.store import Store


class TimeFrame(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    TOTAL = "total"


# How often each frame is recomputed (reference §1.2), in minutes.
REFRESH_MINUTES = {TimeFrame.DAY: 5, TimeFrame.WEEK: 15, TimeFrame.MONTH: 60, TimeFrame.TOTAL: 240}

SCORE_WEIGHTS = {
    "replies_assistant": 4,
    "replies_prompter": 1,
    "labels_simple": 1,
    "labels_full": 2,
    "rankings_total": 1,
    "rankings_good": 1,
    "accepted_replies_assistant": 4,
    "accepted_replies_prompter": 1,
    "reply_ranked_1": 9,
    "reply_ranked_2": 3,
    "reply_ranked_3": 1,
}

POINTS_FORMULA = (
    "⌊prompts ÷ 10⌋ + 4 × assistant replies + user replies + quick reviews + 2 × full reviews + rankings "
    "+ ⌊accepted prompts ÷ 10⌋ + 4 × accepted assistant replies + accepted user replies "
    "+ 9 / 3 / 1 for each time a reply of yours was ranked 1st / 2nd / 3rd"
)


def leader_score(c: Mapping[str, int]) -> int:
    """The reference's leader score (§7.2)."""
    return (
        math.floor(0.1 * c.get("prompts", 0))
        + math.floor(0.1 * c.get("accepted_prompts", 0))
        + sum(w * c.get(name, 0) for name, w in SCORE_WEIGHTS.items())
    )


LEVEL_THRESHOLDS: tuple[int, ...] = tuple(round(sum(1.1521 * i + 3 for i in range(1, k + 1))) for k in range(100))


def level_of(score: int | None) -> int:
    """1..100: how many thresholds the score reaches; 0 without stats."""
    if score is None:
        return 0
    return sum(1 for t in LEVEL_THRESHOLDS if t <= score)


def frame_base(frame: TimeFrame, now: float) -> float | None:
    """Contributions at or after this time count in the frame (reference §7.1)."""
    if frame is TimeFrame.TOTAL:
        return None
    if frame is TimeFrame.DAY:
        return now - 24 * 3600
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = 7 if frame is TimeFrame.WEEK else 30
    return (midnight - timedelta(days=days)).timestamp()


@dataclass(frozen=True)
class MemberStats:
    user_id: int
    frame: TimeFrame
    score: int
    rank: int | None
    level: int
    counters: dict[str, int]


@dataclass(frozen=True)
class LeaderRow:
    """One ranked member on a leaderboard page."""

    user_id: int
    rank: int
    score: int
    level: int
    display_name: str
    username: str  # the front-end's id for the member (a Discord user id for Discord members)


@dataclass(frozen=True)
class LeaderboardPage:
    frame: TimeFrame
    page: int  # 0-based, clamped to the pages there are
    pages: int  # at least 1
    rows: tuple[LeaderRow, ...]


@dataclass(frozen=True)
class Contributor:
    user_id: int
    name: str
    score: int


@dataclass(frozen=True)
class Summary:
    """Trees per language and state, messages per role, and the top contributors of all time."""

    trees: dict[str, dict[str, int]]
    messages: dict[str, int]
    top_contributors: tuple[Contributor, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `grove stats --json` prints."""
        return {
            "trees": self.trees,
            "messages": self.messages,
            "top_contributors": [asdict(c) for c in self.top_contributors],
        }


Key = tuple[int, str, int]  # (community, language, member)


async def _community(q: StatsQueries, counters: dict[Key, dict[str, int]]) -> dict[Key, dict[str, int]]:
    """The counters of community members only: authors known only from an imported dataset, and the anonymous
    rows that took over the work of members who removed their name, never count."""
    outside = await q.users_of_auth(IMPORTED_AUTH) | await q.users_of_auth(REMOVED_AUTH)
    return {key: c for key, c in counters.items() if key[2] not in outside}


def _boards(counters: dict[Key, dict[str, int]]) -> dict[tuple[int, str], dict[int, dict[str, int]]]:
    """One board per community and language, and one per community over every language (language "")."""
    boards: dict[tuple[int, str], dict[int, dict[str, int]]] = {}
    for (community, lang, user_id), c in counters.items():
        boards.setdefault((community, lang), {})[user_id] = dict(c)
        total = boards.setdefault((community, ""), {}).setdefault(user_id, dict.fromkeys(STAT_COUNTERS, 0))
        for name, n in c.items():
            total[name] += n
    return boards


def _per_member(counters: dict[Key, dict[str, int]]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for (_, _, user_id), c in counters.items():
        total = out.setdefault(user_id, dict.fromkeys(STAT_COUNTERS, 0))
        for name, n in c.items():
            total[name] += n
    return out


class Stats:
    def __init__(self, db: Store, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    async def refresh(self, frame: TimeFrame | str) -> int:
        """Scheduled: rebuild one time frame's boards (one per community and language, and one per community over
        every language) with their ranks; returns the number of rows written."""
        frame = TimeFrame(frame)
        now = self.clock.now()
        base = frame_base(frame, now)
        async with self.db.transaction() as repo:
            q = repo.stats
            counters = await _community(q, await q.counters(base))
            rankable = await q.rankable_users()
            rows: list[dict[str, Any]] = []
            for (community, lang), board in sorted(_boards(counters).items()):
                ranked: list[dict[str, Any]] = sorted(
                    ({"user_id": u, "leader_score": leader_score(c), **c} for u, c in board.items()),
                    key=lambda r: (-r["leader_score"], r["user_id"]),
                )
                rank = 0
                for row in ranked:
                    row["community_id"], row["lang"] = community, lang
                    if row["user_id"] in rankable:
                        rank += 1
                        row["rank"] = rank
                    else:
                        row["rank"] = None
                rows += ranked
            await q.replace_frame(frame.value, base, now, rows)
            return len(rows)

    async def refresh_all(self) -> None:
        for frame in TimeFrame:
            await self.refresh(frame)

    async def daily(self, user_id: int, days: int = 30) -> list[int]:
        """Contributions per day over the last `days` days (UTC), oldest first, today last."""
        now = self.clock.now()
        start = (now // 86400 - (days - 1)) * 86400
        async with self.db.read() as repo:
            per_day = await repo.stats.daily_contributions(user_id, start)
        return [per_day.get(d, 0) for d in range(days)]

    async def member(
        self,
        user_id: int,
        frame: TimeFrame | str = TimeFrame.TOTAL,
        *,
        community: int = DEFAULT_COMMUNITY,
        lang: str | None = None,
    ) -> MemberStats:
        """A member's score, rank and counts in one community (and language; None: every language)."""
        frame = TimeFrame(frame)
        async with self.db.read() as repo:
            row = await repo.stats.stats_of(frame.value, user_id, community, lang or "")
        if row is None:
            return MemberStats(user_id, frame, 0, None, 0, dict.fromkeys(STAT_COUNTERS, 0))
        return MemberStats(
            user_id,
            frame,
            row["leader_score"],
            row["rank"],
            level_of(row["leader_score"]),
            {c: row[c] for c in STAT_COUNTERS},
        )

    async def communities_of(self, user_id: int) -> list[int]:
        """The communities where the member has contributed (as of the last refresh)."""
        async with self.db.read() as repo:
            return await repo.stats.communities_of(user_id)

    async def board(
        self,
        frame: TimeFrame | str = TimeFrame.TOTAL,
        *,
        page: int = 0,
        per_page: int = 10,
        community: int = DEFAULT_COMMUNITY,
        lang: str | None = None,
    ) -> LeaderboardPage:
        """One page of a community's ranked members (in one language, or all), best first; a page past the end is
        the last page. Only members who contributed to that community are on it."""
        frame = TimeFrame(frame)
        async with self.db.read() as repo:
            q = repo.stats
            pages = max(1, math.ceil(await q.ranked_count(frame.value, community, lang or "") / per_page))
            page = min(max(0, page), pages - 1)
            rows = await q.leaderboard(frame.value, page * per_page, per_page, community, lang or "")
        return LeaderboardPage(
            frame,
            page,
            pages,
            tuple(
                LeaderRow(
                    r["user_id"],
                    r["rank"],
                    r["leader_score"],
                    level_of(r["leader_score"]),
                    r["display_name"] or "",
                    str(r["username"]),
                )
                for r in rows
            ),
        )

    async def leaderboard(
        self,
        frame: TimeFrame | str = TimeFrame.TOTAL,
        *,
        page: int = 0,
        per_page: int = 10,
        community: int = DEFAULT_COMMUNITY,
        lang: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of ranked members as plain rows (with their level), and the number of pages.
        Prefer `board`, which returns typed rows; this shape stays for callers that print or compare dicts."""
        frame = TimeFrame(frame)
        async with self.db.read() as repo:
            q = repo.stats
            total = await q.ranked_count(frame.value, community, lang or "")
            rows = await q.leaderboard(frame.value, max(0, page) * per_page, per_page, community, lang or "")
        for r in rows:
            r["level"] = level_of(r["leader_score"])
        return rows, max(1, math.ceil(total / per_page))

    async def overview(self, lang: str | None = None, top: int = 10) -> Summary:
        """Tree counts per language and state, messages per role, and the top contributors of all time."""
        async with self.db.read() as repo:
            q = repo.stats
            trees = await q.tree_counts_by_lang()
            roles = await q.messages_per_role(lang)
            counters = _per_member(await _community(q, await q.counters(None)))
            rankable = await q.rankable_users()
            leaders = sorted(
                ((leader_score(c), u) for u, c in counters.items() if u in rankable), key=lambda x: (-x[0], x[1])
            )[:top]
            names = await q.display_names([u for _, u in leaders])
        if lang is not None:
            trees = {lang: trees.get(lang, {})}
        return Summary(trees, roles, tuple(Contributor(u, names.get(u, str(u)), s) for s, u in leaders))

    async def summary(self, lang: str | None = None, top: int = 10) -> dict[str, Any]:
        """`overview` as plain JSON data (what `grove stats` prints)."""
        return (await self.overview(lang, top)).as_dict()
