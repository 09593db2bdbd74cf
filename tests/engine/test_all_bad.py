"""Rankings marked "all bad", end to end (issue "Fair task flow", item 6).

The rule (README, "How the engine differs from the reference"): an "all bad" ballot without an order counts
toward a sibling set's required rankings but adds nothing to its consensus. The set's ranks come from its
ordered ballots only; a set whose every ballot was "all bad" keeps no ranks. The export shows each such
ballot as a ranking event on the parent with `ranking` [], `ranked_message_ids` [] and `not_rankable` true;
a set never ranked has no ranking events, and its tree is not in ready_for_export (only exported trees
carry ranks, and every rankable set of an exported tree had its required ballots).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from bot.cli import main
from engine import Engine, TaskType, TreeState
from engine.check import check_database
from engine.export import ExportMessageTree, ExportOptions, export
from engine.importer import import_trees
from storage.database import Database
from tests.driver import Driver, ranking_tree
from tests.oasst_format import member_ids

SMALL = {"goal_tree_size": 4, "min_goal_tree_size": 2}  # the prompt and three answers: one sibling set


class OasstRankingEvent(BaseModel):
    """The ranking event as the oasst-data reader declares it: `ranking` and `ranked_message_ids` are required."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["ranking"]
    user_id: str | None
    ranking: list[int]
    ranked_message_ids: list[str]
    ranking_parent_id: str | None
    message_tree_id: str | None
    not_rankable: bool | None


@pytest.fixture
def d(make_engine, clock, users) -> Driver:
    return Driver(make_engine(seed=5, **SMALL), clock, users)


def rankers(d: Driver) -> list[int]:
    """Members who wrote none of the answers (users[1..3] did), so they may rank them."""
    u = d.users
    return [u[9], u[10], u[11], u[4], u[5]]


async def ballot(
    d: Driver, ranker: int, parent: str, best_first: list[str] | None = None, *, all_bad: bool = False
) -> tuple[list[int] | None, TreeState]:
    """`ranker` ranks the answers under `parent`: the ids `best_first`, or "all bad" (with that order if given).
    Returns the order as submitted (indices into what the ranker was shown) and the tree's state after it."""
    task = await d.engine.next_task(ranker, "en", TaskType.RANK_ASSISTANT_REPLIES)
    assert task.target_id == parent
    shown = [c.id for c in task.candidates]
    order = None if best_first is None else [shown.index(i) for i in best_first]
    result = await d.engine.submit_ranking(task.id, ranker, order, not_rankable=all_bad)
    return order, result.tree_state


async def ranks(engine: Engine, ids: list[str]) -> list[int | None]:
    return [(await engine.message(i)).rank for i in ids]


async def all_bad_tree(d: Driver) -> tuple[str, list[str]]:
    root, children = await ranking_tree(d)
    for ranker in rankers(d)[:3]:
        await ballot(d, ranker, root, all_bad=True)
    return root, children


async def ranked_tree(d: Driver) -> tuple[str, list[str], list[str]]:
    """A tree ranked by three identical ballots; returns (root, children, the consensus best first)."""
    root, children = await ranking_tree(d)
    consensus = [children[1], children[2], children[0]]
    for ranker in rankers(d)[:3]:
        await ballot(d, ranker, root, consensus)
    return root, children, consensus


async def exported(db: Database, path: Path, **options: Any) -> dict[str, dict[str, Any]]:
    await export(db, path, ExportOptions(**options))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {t["message_tree_id"]: t for t in lines}


# ------------------------------------------------------------------ the engine


async def test_all_bad_ballots_count_toward_the_required_rankings(d, db):
    root, children = await ranking_tree(d)
    states = [(await ballot(d, r, root, all_bad=True))[1] for r in rankers(d)[:3]]
    assert states == [TreeState.RANKING, TreeState.RANKING, TreeState.READY_FOR_EXPORT]
    # nothing to build a consensus from: the set keeps no ranks, and no answer was counted as ranked
    assert await ranks(d.engine, children) == [None, None, None]
    assert [(await d.engine.message(c)).ranking_count for c in children] == [0, 0, 0]
    assert await check_database(db, d.engine.cfg) == []


async def test_all_bad_ballots_add_nothing_to_the_consensus(d, db):
    root, children = await ranking_tree(d)
    first, second, third = rankers(d)[:3]
    best_first = [children[2], children[0], children[1]]
    _, state = await ballot(d, first, root, all_bad=True)
    _, state = await ballot(d, second, root, best_first)
    assert state is TreeState.RANKING
    _, state = await ballot(d, third, root, all_bad=True)
    assert state is TreeState.READY_FOR_EXPORT
    # the one ordered ballot decides, as if it had been the only one
    by_id = dict(zip(children, await ranks(d.engine, children), strict=True))
    assert [by_id[i] for i in best_first] == [0, 1, 2]
    assert await check_database(db, d.engine.cfg) == []


async def test_an_all_bad_ballot_with_an_order_counts_like_any_ballot(d, db, tmp_path):
    """The API also takes "all bad" with an order (the reference stores the flag and ignores it when scoring)."""
    root, children = await ranking_tree(d)
    best_first = [children[0], children[2], children[1]]
    orders = []
    for ranker in rankers(d)[:3]:
        order, state = await ballot(d, ranker, root, best_first, all_bad=True)
        orders.append(order)
    assert state is TreeState.READY_FOR_EXPORT
    by_id = dict(zip(children, await ranks(d.engine, children), strict=True))
    assert [by_id[i] for i in best_first] == [0, 1, 2]
    events = (await exported(db, tmp_path / "t.jsonl", events=True))[root]["prompt"]["events"]["ranking"]
    assert sorted((e["ranking"], e["ranked_message_ids"], e["not_rankable"]) for e in events) == sorted(
        (order, best_first, True) for order in orders
    )


# ------------------------------------------------------------------ the export


async def test_all_bad_ballots_are_exported_with_an_empty_ranking(d, db, tmp_path):
    root, children = await all_bad_tree(d)
    trees = await exported(db, tmp_path / "events.jsonl", events=True)
    prompt = trees[root]["prompt"]
    events = prompt["events"]["ranking"]
    assert len(events) == 3
    for event in events:
        OasstRankingEvent.model_validate(event)  # what OA's reader requires
        assert event["ranking"] == [] and event["ranked_message_ids"] == []
        assert event["not_rankable"] is True
        assert event["ranking_parent_id"] == root and event["message_tree_id"] == root
        assert sorted(event["shown_message_ids"]) == sorted(children)
    public = await member_ids(db)  # members are exported under stable UUIDs (issue 17; was their internal id)
    assert sorted(e["user_id"] for e in events) == sorted(public[u] for u in rankers(d)[:3])
    assert all("rank" not in reply for reply in prompt["replies"])
    ExportMessageTree.model_validate(trees[root])  # and what Grove's own reader (the importer) requires


async def test_anonymized_all_bad_events_keep_their_empty_lists(d, db, tmp_path):
    root, _ = await all_bad_tree(d)
    (tree,) = (await exported(db, tmp_path / "anon.jsonl", events=True, anonymize_seed="salt")).values()
    for event in tree["prompt"]["events"]["ranking"]:
        assert (event["ranking"], event["ranked_message_ids"], event["not_rankable"]) == ([], [], True)
        assert event["ranking_parent_id"] == tree["prompt"]["message_id"] != root


def classify(tree: dict[str, Any], parent: dict[str, Any], *, events: bool) -> str:
    """What became of a parent's set of assistant answers, as a dataset reader tells it by the rule in the module
    docstring; `events` says whether the file was exported with events."""
    if any("rank" in r for r in parent.get("replies", [])):
        return "ranked"
    if events:
        ballots = parent.get("events", {}).get("ranking", [])
        if not ballots:
            return "never ranked"
        return "all bad" if all(b["not_rankable"] and b["ranked_message_ids"] == [] for b in ballots) else "open"
    # without events: every rankable set of an exported tree had its ballots, and only exported trees have ranks
    return "all bad" if tree["tree_state"] == TreeState.READY_FOR_EXPORT.value else "never ranked"


async def test_a_reader_tells_an_all_bad_set_from_a_never_ranked_one(d, db, tmp_path):
    ranked_root, _, consensus = await ranked_tree(d)
    bad_root, _ = await all_bad_tree(d)
    open_root, _ = await ranking_tree(d)  # stays in ranking: nobody ranked it yet

    # the default export: only exported trees; the ranked set has ranks, the all-bad set none
    default = await exported(db, tmp_path / "default.jsonl")
    assert set(default) == {ranked_root, bad_root}
    assert [r["message_id"] for r in default[ranked_root]["prompt"]["replies"]] == consensus
    assert [r["rank"] for r in default[ranked_root]["prompt"]["replies"]] == [0, 1, 2]
    assert classify(default[ranked_root], default[ranked_root]["prompt"], events=False) == "ranked"
    assert classify(default[bad_root], default[bad_root]["prompt"], events=False) == "all bad"

    # every state, without events: the open set's tree is still in ranking
    every = await exported(db, tmp_path / "every.jsonl", states=None)
    assert every[open_root]["tree_state"] == TreeState.RANKING.value
    assert all("rank" not in r for r in every[open_root]["prompt"]["replies"])
    assert classify(every[open_root], every[open_root]["prompt"], events=False) == "never ranked"
    assert classify(every[bad_root], every[bad_root]["prompt"], events=False) == "all bad"

    # every state, with events: the parent's ballots say it directly
    with_events = await exported(db, tmp_path / "events.jsonl", states=None, events=True)
    assert "events" not in with_events[open_root]["prompt"]
    for root, verdict in ((open_root, "never ranked"), (bad_root, "all bad"), (ranked_root, "ranked")):
        assert classify(with_events[root], with_events[root]["prompt"], events=True) == verdict


async def test_an_all_bad_ballot_in_an_unfinished_set_is_shown_as_it_stands(d, db, tmp_path):
    root, _ = await ranking_tree(d)
    await ballot(d, rankers(d)[0], root, all_bad=True)
    tree = (await exported(db, tmp_path / "open.jsonl", states=None, events=True))[root]
    assert tree["tree_state"] == TreeState.RANKING.value
    (event,) = tree["prompt"]["events"]["ranking"]
    assert (event["ranking"], event["ranked_message_ids"], event["not_rankable"]) == ([], [], True)
    assert classify(tree, tree["prompt"], events=True) == "all bad"


# ------------------------------------------------------------------ import


async def import_with_cli(path: Path, db_path: Path) -> int:
    """`grove import --state ready_for_export` (in a thread: the command runs its own event loop)."""
    return await asyncio.to_thread(main, ["import", "--db", str(db_path), str(path), "--state", "ready_for_export"])


async def test_grove_import_reads_an_export_with_all_bad_events(d, db, tmp_path):
    ranked_root, _, consensus = await ranked_tree(d)
    bad_root, _ = await all_bad_tree(d)
    source = tmp_path / "events.jsonl"
    before = await exported(db, source, events=True)
    assert await import_with_cli(source, tmp_path / "copy.sqlite3") == 0

    copy = await Database.open(tmp_path / "copy.sqlite3")
    try:
        async with copy.read() as repo:
            ranked = await repo.tree(ranked_root)
            bad = await repo.tree(bad_root)
            assert ranked is not None and bad is not None
            assert ranked.state is TreeState.READY_FOR_EXPORT
            for m in await repo.messages_of_tree(ranked_root):
                if m.parent_id is not None:
                    assert m.rank == consensus.index(m.id)
            texts = {m.id: m.text for m in await repo.messages_of_tree(bad_root)}
            assert texts == {n["message_id"]: n["text"] for n in walk(before[bad_root]["prompt"])}
            assert all(m.rank is None for m in await repo.messages_of_tree(bad_root))
        after = await exported(copy, tmp_path / "again.jsonl")
        assert comparable(after[ranked_root]["prompt"]) == comparable(before[ranked_root]["prompt"])
        assert await check_database(copy) == []
    finally:
        await copy.close()


async def test_an_imported_all_bad_set_stays_judged(d, db, tmp_path):
    bad_root, _ = await all_bad_tree(d)
    source = tmp_path / "events.jsonl"
    await exported(db, source, events=True)
    copy = await Database.open(tmp_path / "copy.sqlite3")
    try:
        result = await import_trees(copy, source, state=TreeState.READY_FOR_EXPORT)
        assert result.errors == []
        assert result.by_state == {TreeState.READY_FOR_EXPORT.value: 1}
        again = await exported(copy, tmp_path / "again.jsonl", events=True)
        assert classify(again[bad_root], again[bad_root]["prompt"], events=True) == "all bad"
    finally:
        await copy.close()


async def test_an_older_all_bad_event_without_ranking_still_reads(d, db, tmp_path):
    """Earlier Grove exports left `ranking` out of an all-bad event; the importer still takes such files."""
    await all_bad_tree(d)
    source = tmp_path / "events.jsonl"
    await exported(db, source, events=True)
    old = json.loads(source.read_text())
    for event in old["prompt"]["events"]["ranking"]:
        del event["ranking"]
    older = tmp_path / "older.jsonl"
    older.write_text(json.dumps(old) + "\n")
    copy = await Database.open(tmp_path / "copy.sqlite3")
    try:
        result = await import_trees(copy, older)
        assert result.errors == [] and result.trees == 1
    finally:
        await copy.close()


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for r in node.get("replies", []) for n in walk(r))]


def comparable(node: dict[str, Any]) -> dict[str, Any]:
    """A node without what an import does not keep: its author (members are re-keyed) and its events."""
    out = {k: v for k, v in node.items() if k not in ("user_id", "events", "replies")}
    out["replies"] = [comparable(r) for r in node.get("replies", [])]
    return out
