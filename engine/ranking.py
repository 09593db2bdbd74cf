"""Ranked pairs (Tideman, by margins): the consensus of several best-first ballots (reference §6)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, Self, TypeVar

import numpy as np


class _Candidate(Hashable, Protocol):
    """A ballot entry: hashable (it is indexed) and ordered (ties go to the lower id)."""

    def __lt__(self, other: Self, /) -> bool: ...


T = TypeVar("T", bound=_Candidate)


def ranked_pairs(ballots: Sequence[Sequence[T]]) -> list[T]:
    """Return the consensus order, best first, of ballots that each order the same ids.

    Candidates are indexed by ascending id; every tie goes to the lower id. Equal
    margins keep (a, b) order, a tie contributes both directions and the second one
    is skipped as a 2-cycle, and a pair is locked unless it closes a cycle.
    """
    if not ballots:
        return []
    candidates = sorted(ballots[0])
    n = len(candidates)
    index = {c: i for i, c in enumerate(candidates)}
    if n < 2:
        return list(candidates)
    for ballot in ballots:
        if len(ballot) != n or set(ballot) != set(candidates):
            raise ValueError("every ballot must order the same candidates exactly once")

    wins = np.zeros((n, n), dtype=np.int64)
    for ballot in ballots:
        positions = np.empty(n, dtype=np.int64)
        for pos, c in enumerate(ballot):
            positions[index[c]] = pos
        wins += positions[:, None] < positions[None, :]
    margins = wins - wins.T

    pairs = [(a, b) for a in range(n) for b in range(n) if a != b and margins[a, b] >= 0]
    pairs.sort(key=lambda p: -margins[p])  # list.sort is stable: equal margins keep (a, b) order

    beats: list[set[int]] = [set() for _ in range(n)]
    for a, b in pairs:
        if not _reaches(beats, b, a):
            beats[a].add(b)

    order: list[int] = []
    remaining = set(range(n))
    while remaining:
        beaten = {b for a in remaining for b in beats[a] if b in remaining}
        winner = min(remaining - beaten)
        order.append(winner)
        remaining.remove(winner)
    return [candidates[i] for i in order]


def _reaches(beats: list[set[int]], start: int, goal: int) -> bool:
    """True if `goal` can be reached from `start` along locked edges (so locking goal→start closes a cycle)."""
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in beats[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False
