"""Ranked pairs (reference §6): the worked examples, general properties, and an independent reimplementation."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ranking import ranked_pairs

# ------------------------------------------------------------------ the reference's consequences


def test_two_way_tie_goes_to_the_lower_id():
    assert ranked_pairs([["a", "b"], ["b", "a"]]) == ["a", "b"]
    assert ranked_pairs([["b", "a"], ["a", "b"]]) == ["a", "b"]


def test_two_way_tie_inside_a_larger_ranking_goes_to_the_lower_id():
    # x is clearly best; b and a are tied for second.
    ballots = [["x", "b", "a"], ["x", "a", "b"]]
    assert ranked_pairs(ballots) == ["x", "a", "b"]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_complete_tie_gives_sorted_id_order(n):
    ids = ["d", "b", "c", "a"][:n]
    ballots = [list(p) for p in itertools.permutations(ids)]
    assert ranked_pairs(ballots) == sorted(ids)


def test_condorcet_cycle_locks_a_b_then_b_c():
    ballots = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert ranked_pairs(ballots) == ["a", "b", "c"]
    # the result depends on ids, not on the order the ballots arrive in
    for perm in itertools.permutations(ballots):
        assert ranked_pairs(list(perm)) == ["a", "b", "c"]


def test_reverse_condorcet_cycle_locks_in_id_order_of_the_pairs():
    # a>c, c>b, b>a, all by margin 1. Pairs in (a, b) order: a→c, b→a, c→b; the last closes a cycle.
    ballots = [["a", "c", "b"], ["c", "b", "a"], ["b", "a", "c"]]
    assert ranked_pairs(ballots) == ["b", "a", "c"]


@pytest.mark.parametrize(
    "ballot",
    [["b", "a"], ["c", "a", "b"], ["e", "d", "c", "b", "a"], ["3", "1", "4", "0", "2", "5"]],
)
def test_single_ballot_is_reproduced_exactly(ballot):
    assert ranked_pairs([ballot]) == ballot


def test_unanimous_ballots_are_reproduced():
    ballot = ["q", "z", "a", "m"]
    assert ranked_pairs([list(ballot) for _ in range(5)]) == ballot


def test_majority_beats_minority():
    assert ranked_pairs([["b", "a"], ["b", "a"], ["a", "b"]]) == ["b", "a"]


def test_empty_and_single_candidate():
    assert ranked_pairs([]) == []
    assert ranked_pairs([["only"]]) == ["only"]


def test_uuid_ids_are_ordered_like_their_128_bit_value():
    lo = str(uuid.UUID(int=1))
    hi = str(uuid.UUID(int=2**127))
    assert ranked_pairs([[hi, lo], [lo, hi]]) == [lo, hi]


@pytest.mark.parametrize(
    "ballots",
    [
        [["a", "b"], ["a", "c"]],  # different candidates
        [["a", "b", "c"], ["a", "b"]],  # a missing candidate
        [["a", "b"], ["a", "b", "c"]],  # an extra candidate
        [["a", "b"], ["a", "a"]],  # a repeated candidate
    ],
)
def test_ballots_over_different_candidates_are_refused(ballots):
    with pytest.raises(ValueError):
        ranked_pairs(ballots)


# ------------------------------------------------------------------ an independent reimplementation of §6


def reference_ranked_pairs(ballots: list[list[str]]) -> list[str]:
    """The algorithm exactly as reference §6 spells it out, with the original's sink-removal cycle check."""
    cands = sorted(ballots[0])
    n = len(cands)
    idx = {c: i for i, c in enumerate(cands)}
    # 2. pairwise tallies and margins
    w = [[0] * n for _ in range(n)]
    for ballot in ballots:
        for hi_pos, hi in enumerate(ballot):
            for lo in ballot[hi_pos + 1 :]:
                w[idx[hi]][idx[lo]] += 1
    m = [[w[a][b] - w[b][a] for b in range(n)] for a in range(n)]
    # 3. majorities, enumerated in (a, b) order, then a stable sort by margin descending
    majorities = [(a, b, m[a][b]) for a in range(n) for b in range(n) if a != b and m[a][b] >= 0]
    majorities = sorted(majorities, key=lambda t: t[2], reverse=True)  # sorted() is stable, also with reverse

    # 4. lock in unless a cycle appears; cycles found by repeatedly removing sinks
    def has_cycle(edges: set[tuple[int, int]]) -> bool:
        edges = set(edges)
        while edges:
            winners = {a for a, _ in edges}
            losers = {b for _, b in edges}
            sinks = losers - winners
            if not sinks:
                return True
            edges = {(a, b) for a, b in edges if b not in sinks}
        return False

    locked: set[tuple[int, int]] = set()
    for a, b, _ in majorities:
        if not has_cycle(locked | {(a, b)}):
            locked.add((a, b))
    # 5. repeatedly take the lowest-index candidate no remaining candidate beats
    remaining = list(range(n))
    order = []
    while remaining:
        unbeaten = [c for c in remaining if not any((o, c) in locked for o in remaining if o != c)]
        winner = min(unbeaten)
        order.append(winner)
        remaining.remove(winner)
    return [cands[i] for i in order]


def test_reimplementation_agrees_on_the_worked_examples():
    assert reference_ranked_pairs([["b", "a"], ["a", "b"]]) == ["a", "b"]
    assert reference_ranked_pairs([["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]) == ["a", "b", "c"]
    assert reference_ranked_pairs([["c", "a", "b"]]) == ["c", "a", "b"]


def _uuid_ids(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.uuids(version=4).map(str), min_size=n, max_size=n, unique=True)


@st.composite
def instances(draw: st.DrawFn, min_n: int = 2, max_n: int = 6, max_m: int = 7) -> list[list[str]]:
    n = draw(st.integers(min_n, max_n))
    m = draw(st.integers(1, max_m))
    ids = draw(_uuid_ids(n))
    return [draw(st.permutations(ids)) for _ in range(m)]


@st.composite
def small_alphabet_instances(draw: st.DrawFn) -> list[list[str]]:
    """Few candidates and ballots, so ties and cycles are frequent."""
    n = draw(st.integers(2, 4))
    m = draw(st.integers(1, 7))
    ids = draw(st.permutations("abcdef"))[:n]
    return [draw(st.permutations(ids)) for _ in range(m)]


@settings(max_examples=400, deadline=None)
@given(instances())
def test_matches_the_independent_reimplementation(ballots):
    assert ranked_pairs(ballots) == reference_ranked_pairs(ballots)


@settings(max_examples=300, deadline=None)
@given(small_alphabet_instances())
def test_matches_the_independent_reimplementation_on_tie_heavy_instances(ballots):
    assert ranked_pairs(ballots) == reference_ranked_pairs(ballots)


@settings(max_examples=200, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_result_is_a_permutation_and_ballot_order_does_not_matter(ballots, rnd):
    result = ranked_pairs(ballots)
    assert sorted(result) == sorted(ballots[0])
    assert len(result) == len(set(result))
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert ranked_pairs(shuffled) == result


@settings(max_examples=100, deadline=None)
@given(_uuid_ids(5).flatmap(lambda ids: st.tuples(st.just(ids), st.integers(1, 7))))
def test_unanimous_ballots_are_reproduced_for_any_ids(args):
    ids, m = args
    assert ranked_pairs([list(ids) for _ in range(m)]) == ids


@settings(max_examples=100, deadline=None)
@given(instances())
def test_a_condorcet_winner_is_ranked_first(ballots):
    cands = ballots[0]
    for c in cands:
        if all(sum(b.index(c) < b.index(o) for b in ballots) * 2 > len(ballots) for o in cands if o != c):
            assert ranked_pairs(ballots)[0] == c
