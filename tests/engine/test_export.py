"""The dataset export (reference §8): oasst JSON Lines read back and checked against the database.

A simulated community (30 members, two languages) produces a database once per module; tests that change
data work on their own copy. The command line runs in-process through `bot.cli.main`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import fmean
from typing import Any

import numpy as np
import pytest

from benchmarks.bulk import BulkSpec, build
from bot.cli import main
from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock
from engine.records import MessageRow
from engine.types import Emoji
from storage.database import Database
from tests.oasst_format import ExportMessageTree, member_ids, validate_line

SEED = 1
TARGET = 4
HEX64 = re.compile(r"[0-9a-f]{64}")


# ------------------------------------------------------------------ the simulated database


async def _simulate(path: Path) -> None:
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(SEED))
        community = Community(engine, clock, seed=SEED, langs=("en", "de"))
        await community.add_members(30)
        report = await community.run(TARGET)
        assert report.exported >= TARGET, report
    finally:
        await db.close()


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "grove.db"
    asyncio.run(_simulate(path))
    return path


def copy_db(src: Path, folder: Path) -> Path:
    dst = folder / "copy.db"
    shutil.copy(src, dst)
    for suffix in ("-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


@dataclass
class Snapshot:
    """What the database says, to compare the export with."""

    trees: dict[str, tuple[str, str]]  # id -> (state, lang)
    messages: dict[str, MessageRow]
    kids: dict[str, list[MessageRow]]  # parent id -> children, in the tree's message order
    users: dict[int, str]  # id -> username
    excluded: set[int]  # opted out or deleted members
    labels: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    emojis: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    rankings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # parent id -> rows
    public: dict[int, str | None] = field(default_factory=dict)  # member id -> the user_id exports give them

    def accepted(self, m: MessageRow) -> bool:
        """The default per-message filter: accepted, not deleted, author still in the dataset."""
        return m.review_result is True and not m.deleted and m.user_id not in self.excluded

    def expected_tree(self, tree_id: str, keep: Callable[[MessageRow], bool]) -> dict[str, list[str]] | None:
        """node id -> ids of its replies in export order (rank ascending, unranked last), or None if the
        root is filtered out."""
        if not keep(self.messages[tree_id]):
            return None
        out: dict[str, list[str]] = {}
        stack = [tree_id]
        while stack:
            node = stack.pop()
            children = sorted(
                (c for c in self.kids.get(node, []) if keep(c)), key=lambda c: (c.rank is None, c.rank or 0)
            )
            out[node] = [c.id for c in children]
            stack.extend(out[node])
        return out


async def _snapshot(path: Path) -> Snapshot:
    conn = sqlite3.connect(path)
    try:
        trees = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, state, lang FROM trees")}
        users = dict(conn.execute("SELECT id, username FROM users").fetchall())
        excluded = {r[0] for r in conn.execute("SELECT id FROM users WHERE dataset_opt_out = 1 OR deleted = 1")}
        labels: dict[str, list[dict[str, float]]] = {}
        for message_id, values in conn.execute("SELECT message_id, labels FROM labels"):
            labels.setdefault(message_id, []).append(json.loads(values))
        emojis: dict[str, list[tuple[int, str]]] = {}
        for message_id, user_id, emoji in conn.execute("SELECT message_id, user_id, emoji FROM message_emojis"):
            emojis.setdefault(message_id, []).append((user_id, emoji))
        rankings: dict[str, list[dict[str, Any]]] = {}
        conn.row_factory = sqlite3.Row
        for r in conn.execute("SELECT * FROM rankings"):
            rankings.setdefault(r["parent_id"], []).append(dict(r))
    finally:
        conn.close()
    messages: dict[str, MessageRow] = {}
    kids: dict[str, list[MessageRow]] = {}
    db = await Database.open(path, migrate=False)
    try:
        async with db.read() as repo:
            for tree_id in trees:
                for m in await repo.messages_of_tree(tree_id):
                    messages[m.id] = m
                    if m.parent_id is not None:
                        kids.setdefault(m.parent_id, []).append(m)
        public = await member_ids(db)
    finally:
        await db.close()
    return Snapshot(trees, messages, kids, users, excluded, labels, emojis, rankings, public)


def snapshot(path: Path) -> Snapshot:
    return asyncio.run(_snapshot(path))


@pytest.fixture(scope="module")
def sim(sim_db: Path) -> Snapshot:
    snap = snapshot(sim_db)
    ready = [t for t, (state, _) in snap.trees.items() if state == "ready_for_export"]
    assert len(ready) >= TARGET
    assert {snap.trees[t][1] for t in ready} == {"en", "de"}, "both languages should have exported trees"
    return snap


# ------------------------------------------------------------------ reading an export


def export(db: Path, out: Path, *args: str) -> int:
    return main(["export", "--db", str(db), "--out", str(out), *args])


def tree_lines(path: Path) -> list[dict[str, Any]]:
    """Every line, validated strictly as an ExportMessageTree (tests/oasst_format.py), as plain JSON."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = validate_line(line)
        assert "message_id" not in obj and "prompt" in obj
        out.append(obj)
    return out


def message_lines(path: Path) -> list[dict[str, Any]]:
    """Every line, validated strictly as an ExportMessageNode without replies, as plain JSON."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        obj = validate_line(line)
        assert "replies" not in obj and "prompt" not in obj
        out.append(obj)
    return out


def walk(node: dict[str, Any], parent: dict[str, Any] | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
    yield node, parent
    for reply in node.get("replies", []):
        yield from walk(reply, node)


def all_nodes(trees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [node for t in trees for node, _ in walk(t["prompt"])]


def shape(tree: dict[str, Any]) -> dict[str, list[str]]:
    return {n["message_id"]: [r["message_id"] for r in n.get("replies", [])] for n, _ in walk(tree["prompt"])}


def nulls(obj: Any, where: str = "$") -> list[str]:
    if obj is None:
        return [where]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in nulls(v, f"{where}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in nulls(v, f"{where}[{i}]")]
    return []


def values_of(obj: Any, key: str) -> list[Any]:
    """Every value of `key` anywhere in a JSON document."""
    if isinstance(obj, dict):
        return [v for k, v in obj.items() if k == key] + [x for v in obj.values() for x in values_of(v, key)]
    if isinstance(obj, list):
        return [x for v in obj for x in values_of(v, key)]
    return []


def ids_of(lines: list[dict[str, Any]]) -> set[str]:
    return {m["message_id"] for m in lines}


def ready(snap: Snapshot, lang: str | None = None) -> set[str]:
    return {t for t, (s, lg) in snap.trees.items() if s == "ready_for_export" and lang in (None, lg)}


def expected_review_result(m: MessageRow) -> bool | None:
    """§8.2: shown only if true or after more than two reviews."""
    if m.review_result is True or (m.review_result is False and m.review_count > 2):
        return m.review_result
    return None


def check_node(node: dict[str, Any], m: MessageRow, snap: Snapshot) -> None:
    assert node["text"] == m.text
    assert node["role"] == m.role
    assert node["lang"] == m.lang
    # members are exported under a stable UUID (issue 17: was the internal id as a string)
    assert node["user_id"] == snap.public[m.user_id] and len(node["user_id"]) == 36
    assert node.get("parent_id") == m.parent_id
    assert node.get("rank") == m.rank
    assert node["deleted"] is m.deleted
    assert node["synthetic"] is m.synthetic
    assert node["review_count"] == m.review_count
    assert node.get("review_result") == expected_review_result(m)
    if m.emojis:
        assert node["emojis"] == m.emojis
    else:
        assert "emojis" not in node  # no empty objects either
    assert datetime.fromisoformat(node["created_date"]).timestamp() == pytest.approx(m.created_at, abs=1e-3)
    assert "message_tree_id" not in node and "tree_state" not in node  # only in flat datasets


def expected_labels(rows: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    names = sorted({name for row in rows for name in row})
    out = {}
    for name in names:
        values = [row[name] for row in rows if name in row]
        out[name] = {"value": pytest.approx(fmean(values)), "count": len(values)}
    return out


# ------------------------------------------------------------------ the whole export against the database


def test_the_default_export_matches_the_database_tree_by_tree(sim_db, sim, tmp_path, capsys):
    out = tmp_path / "trees.jsonl"
    assert export(sim_db, out, "--labels") == 0
    raw = out.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    trees = tree_lines(out)
    assert f"wrote {len(trees)} trees" in capsys.readouterr().out
    assert nulls([json.loads(line) for line in raw.splitlines()]) == [], "null fields must be omitted"

    assert {t["message_tree_id"] for t in trees} == ready(sim)
    assert len(trees) == len(ready(sim))
    ranked = branched = labelled = 0
    for tree in trees:
        tree_id = tree["message_tree_id"]
        assert tree["tree_state"] == "ready_for_export"
        assert tree["prompt"]["message_id"] == tree_id
        assert "parent_id" not in tree["prompt"]
        assert "origin" not in tree
        # shape and order: every node's replies are its accepted, undeleted children by rank, unranked last
        assert shape(tree) == sim.expected_tree(tree_id, sim.accepted)
        for node, parent in walk(tree["prompt"]):
            m = sim.messages[node["message_id"]]
            assert m.tree_id == tree_id
            check_node(node, m, sim)
            if parent is not None:
                assert node["parent_id"] == parent["message_id"]
            ranks = [r.get("rank") for r in node.get("replies", [])]
            assert ranks == sorted(ranks, key=lambda r: (r is None, r or 0))
            ranked += node.get("rank") is not None
            branched += len(node.get("replies", [])) > 1
            # labels: mean and count over every label row of the message
            assert node.get("labels", {}) == expected_labels(sim.labels.get(m.id, []))
            labelled += "labels" in node
            assert "events" not in node
    assert ranked > 0 and branched > 0 and labelled > 0, "the simulated trees should be ranked, branched, labelled"


def test_review_results_are_shown_only_once_true_or_after_three_reviews(sim_db, sim, tmp_path):
    out = tmp_path / "all.jsonl"
    assert export(sim_db, out, "--state", "all", "--include-spam") == 0
    nodes = all_nodes(tree_lines(out))
    seen = Counter()
    for node in nodes:
        m = sim.messages[node["message_id"]]
        assert node.get("review_result") == expected_review_result(m)
        seen[m.review_result] += 1
    assert seen[None] > 0 and seen[False] > 0 and seen[True] > 0, seen

    # a rejection with too few reviews is not shown as a verdict; an acceptance always is
    db = copy_db(sim_db, tmp_path)
    spam = next(m for m in sim.messages.values() if m.review_result is False)
    good = next(m for m in sim.messages.values() if m.review_result is True and m.parent_id is None)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE messages SET review_count = 2 WHERE id = ?", (spam.id,))
        conn.execute("UPDATE messages SET review_count = 1 WHERE id = ?", (good.id,))
    conn.close()
    out2 = tmp_path / "changed.jsonl"
    assert export(db, out2, "--state", "all", "--include-spam") == 0
    by_id = {n["message_id"]: n for n in all_nodes(tree_lines(out2))}
    assert "review_result" not in by_id[spam.id]
    assert by_id[good.id]["review_result"] is True


# ------------------------------------------------------------------ filters


def test_state_and_language_filters(sim_db, sim, tmp_path, capsys):
    default = tree_lines(_run(sim_db, tmp_path / "default.jsonl"))
    assert {t["tree_state"] for t in default} == {"ready_for_export"}

    everything = tree_lines(_run(sim_db, tmp_path / "all.jsonl", "--state", "all"))
    expected = {t for t in sim.trees if sim.accepted(sim.messages[t])}
    assert {t["message_tree_id"] for t in everything} == expected
    assert {t["tree_state"] for t in everything} > {"ready_for_export"}
    for tree in everything:
        assert tree["tree_state"] == sim.trees[tree["message_tree_id"]][0]
        assert shape(tree) == sim.expected_tree(tree["message_tree_id"], sim.accepted)

    growing = tree_lines(_run(sim_db, tmp_path / "growing.jsonl", "--state", "growing"))
    assert {t["message_tree_id"] for t in growing} == {t for t in expected if sim.trees[t][0] == "growing"}
    assert growing and {t["tree_state"] for t in growing} == {"growing"}

    for lang in ("en", "de"):
        trees = tree_lines(_run(sim_db, tmp_path / f"{lang}.jsonl", "--lang", lang))
        assert {t["message_tree_id"] for t in trees} == ready(sim, lang)
        assert trees and {n["lang"] for n in all_nodes(trees)} == {lang}
        assert {t["prompt"]["lang"] for t in trees} == {lang}


def _run(db: Path, out: Path, *args: str) -> Path:
    assert export(db, out, *args) == 0
    return out


def test_prompts_only_and_limit(sim_db, sim, tmp_path, capsys):
    full = tree_lines(_run(sim_db, tmp_path / "full.jsonl"))
    capsys.readouterr()

    prompts = tree_lines(_run(sim_db, tmp_path / "prompts.jsonl", "--prompts-only"))
    assert f"wrote {len(full)} trees ({len(full)} messages)" in capsys.readouterr().out
    assert [t["message_tree_id"] for t in prompts] == [t["message_tree_id"] for t in full]
    for tree in prompts:
        assert "replies" not in tree["prompt"]
        check_node(tree["prompt"], sim.messages[tree["message_tree_id"]], sim)

    limited = _run(sim_db, tmp_path / "two.jsonl", "--limit", "2")
    assert "wrote 2 trees" in capsys.readouterr().out
    assert tree_lines(limited) == full[:2]
    assert limited.read_text().splitlines() == (tmp_path / "full.jsonl").read_text().splitlines()[:2]

    one = message_lines(_run(sim_db, tmp_path / "one.jsonl", "--spam-only", "--state", "all", "--limit", "1"))
    assert len(one) == 1
    assert "wrote 1 messages" in capsys.readouterr().out


def test_spam_only_writes_the_rejected_messages_one_per_line(sim_db, sim, tmp_path, capsys):
    out = _run(sim_db, tmp_path / "spam.jsonl", "--spam-only", "--state", "all")
    lines = message_lines(out)
    assert f"wrote {len(lines)} messages" in capsys.readouterr().out
    expected = {
        m.id
        for m in sim.messages.values()
        if m.review_result is False and not m.deleted and m.user_id not in sim.excluded
    }
    assert expected and ids_of(lines) == expected
    for line in lines:
        check_node(line, sim.messages[line["message_id"]], sim)
        assert line["review_result"] is False  # every rejection in the simulation had three reviews

    in_ready = message_lines(_run(sim_db, tmp_path / "spam-ready.jsonl", "--spam-only"))
    assert ids_of(in_ready) == {i for i in expected if sim.messages[i].tree_id in ready(sim)}

    # --include-spam brings rejected replies into the trees
    trees = tree_lines(_run(sim_db, tmp_path / "with-spam.jsonl", "--include-spam"))
    assert {t["message_tree_id"] for t in trees} == ready(sim)
    for tree in trees:
        keep = lambda m: not m.deleted and m.user_id not in sim.excluded  # noqa: E731
        assert shape(tree) == sim.expected_tree(tree["message_tree_id"], keep)


def test_deleted_messages_are_left_out_unless_asked_for(sim_db, sim, tmp_path):
    db = copy_db(sim_db, tmp_path)
    # an accepted answer to an exported prompt that has accepted replies of its own
    target = next(
        c
        for t in sorted(ready(sim))
        for c in sim.kids[t]
        if sim.accepted(c) and any(sim.accepted(g) for g in sim.kids.get(c.id, []))
    )
    tree_id = target.tree_id

    async def delete() -> str:
        database = await Database.open(db, migrate=False)
        try:
            engine = Engine(database, EngineConfig(), clock=FakeClock(t=4e9), rng=np.random.default_rng(7))
            return (await engine.delete_message(target.id, None, "test")).value
        finally:
            await database.close()

    state = asyncio.run(delete())
    after = snapshot(db)
    gone = {m.id for m in after.messages.values() if m.deleted}
    assert target.id in gone and len(gone) > 1, "the reply's subtree is deleted with it"
    assert gone <= {m.id for m in after.messages.values() if m.tree_id == tree_id}

    # default: deleted messages are not exported; the tree may have gone back to ranking
    default = tree_lines(_run(db, tmp_path / "default.jsonl"))
    assert (tree_id in {t["message_tree_id"] for t in default}) == (state == "ready_for_export")
    assert not gone & {n["message_id"] for n in all_nodes(default)}
    everything = tree_lines(_run(db, tmp_path / "all.jsonl", "--state", "all"))
    tree = next(t for t in everything if t["message_tree_id"] == tree_id)
    assert tree["tree_state"] == state
    assert shape(tree) == after.expected_tree(tree_id, after.accepted)
    assert not gone & set(shape(tree))
    assert all(n["deleted"] is False for n in all_nodes(everything))

    # --include-deleted: the subtree is back, marked deleted
    with_deleted = tree_lines(_run(db, tmp_path / "with.jsonl", "--state", "all", "--include-deleted"))
    tree = next(t for t in with_deleted if t["message_tree_id"] == tree_id)
    keep = lambda m: m.review_result is True and m.user_id not in after.excluded  # noqa: E731
    assert shape(tree) == after.expected_tree(tree_id, keep)
    accepted_gone = {i for i in gone if after.messages[i].review_result is True}
    flagged = {n["message_id"] for n in all_nodes(with_deleted) if n["deleted"]}
    assert flagged == accepted_gone and target.id in flagged

    # --deleted-only: message mode, only the deleted messages
    only = message_lines(_run(db, tmp_path / "only.jsonl", "--state", "all", "--deleted-only"))
    assert ids_of(only) == accepted_gone
    for line in only:
        assert line["deleted"] is True
        check_node(line, after.messages[line["message_id"]], after)


def test_a_member_who_opted_out_is_not_in_the_dataset(sim_db, sim, tmp_path, capsys):
    db = copy_db(sim_db, tmp_path)
    exported = sorted(ready(sim))
    # one member wrote an exported prompt; another wrote an exported reply that others answered
    prompt_author = sim.messages[exported[0]].user_id
    reply = next(
        m
        for t in exported[1:]
        for m in sim.messages.values()
        if m.tree_id == t
        and m.parent_id is not None
        and sim.accepted(m)
        and m.user_id != prompt_author
        and any(sim.accepted(c) and c.user_id != m.user_id for c in sim.kids.get(m.id, []))
        and all(sim.messages[r].user_id != m.user_id for r in exported)
    )
    leaving = {prompt_author, reply.user_id}

    async def opt_out() -> None:
        database = await Database.open(db, migrate=False)
        try:
            for user_id in leaving:
                async with database.transaction() as repo:
                    await repo.set_dataset_opt_out(user_id, True)
        finally:
            await database.close()

    asyncio.run(opt_out())
    after = snapshot(db)
    assert after.excluded == leaving

    trees = tree_lines(_run(db, tmp_path / "trees.jsonl", "--labels", "--events"))
    tree_ids = {t["message_tree_id"] for t in trees}
    assert exported[0] not in tree_ids, "a tree whose prompt left is skipped"
    assert tree_ids == {t for t in exported if sim.messages[t].user_id not in leaving}
    assert reply.tree_id in tree_ids
    for tree in trees:
        assert shape(tree) == after.expected_tree(tree["message_tree_id"], after.accepted)
    nodes = {n["message_id"] for n in all_nodes(trees)}
    assert {n["user_id"] for n in all_nodes(trees)}.isdisjoint({after.public[u] for u in leaving})
    assert reply.id not in nodes
    # the answers to their reply vanish with it, whoever wrote them
    assert any(c.id not in nodes for c in sim.kids[reply.id] if c.user_id not in leaving)

    # message mode and the by-member export leave them out too
    spam = message_lines(_run(db, tmp_path / "spam.jsonl", "--state", "all", "--spam-only"))
    assert all(m["user_id"] not in {after.public[u] for u in leaving} for m in spam)
    capsys.readouterr()
    for user_id in leaving:
        assert message_lines(_run(db, tmp_path / f"user{user_id}.jsonl", "--user", str(user_id))) == []
        assert "wrote 0 messages" in capsys.readouterr().out


# ------------------------------------------------------------------ labels and events


@pytest.fixture(scope="module")
def reacted_db(sim_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int, str]]]:
    """A copy where members reacted to exported messages, and a free report label row exists."""
    db = copy_db(sim_db, tmp_path_factory.mktemp("reacted"))
    sim = snapshot(db)
    target = sorted(ready(sim))[0]
    messages = [m for m in sim.messages.values() if m.tree_id == target and sim.accepted(m)]
    reactions = []
    for i, m in enumerate(messages[:4]):
        others = [u for u in sim.users if u != m.user_id]
        reactions.append((m.id, others[i], Emoji.THUMBS_UP.value))
        reactions.append((m.id, others[i + 1], Emoji.HEART_EYES.value))

    async def react() -> None:
        database = await Database.open(db, migrate=False)
        try:
            engine = Engine(database, EngineConfig(), clock=FakeClock(t=4e9), rng=np.random.default_rng(3))
            for message_id, user_id, emoji in reactions:
                await engine.react(user_id, message_id, emoji)
        finally:
            await database.close()

    asyncio.run(react())
    conn = sqlite3.connect(db)
    with conn:  # a free report with values: label means count every row, not only reviews
        conn.execute(
            "INSERT INTO labels (id, message_id, user_id, task_id, mode, labels, comment, is_report, created_at)"
            " VALUES ('free-1', ?, ?, NULL, NULL, ?, 'meh', 1, 4e9)",
            (messages[0].id, reactions[0][1], json.dumps({"spam": 1.0, "fails_task": 0.5})),
        )
    conn.close()
    return db, reactions


def test_labels_count_every_label_row_of_a_message(reacted_db, tmp_path):
    db, reactions = reacted_db
    snap = snapshot(db)
    trees = tree_lines(_run(db, tmp_path / "labels.jsonl", "--labels"))
    nodes = {n["message_id"]: n for n in all_nodes(trees)}
    for message_id, node in nodes.items():
        assert node.get("labels", {}) == expected_labels(snap.labels.get(message_id, []))
    reported = nodes[reactions[0][0]]["labels"]
    reviews = [r for r in snap.labels[reactions[0][0]] if "spam" in r]
    assert reported["spam"]["count"] == len(reviews) and len(reviews) >= 4
    assert reported["fails_task"]["count"] >= 1
    assert reported["spam"]["value"] > 0  # the report's 1.0 is in the mean

    plain = tree_lines(_run(db, tmp_path / "plain.jsonl"))
    assert not any("labels" in n for n in all_nodes(plain))


def test_events_carry_emojis_and_rankings_on_the_parent(reacted_db, tmp_path):
    db, reactions = reacted_db
    snap = snapshot(db)
    trees = tree_lines(_run(db, tmp_path / "events.jsonl", "--events"))
    ranking_events = emoji_events = 0
    for tree in trees:
        tree_id = tree["message_tree_id"]
        for node, _ in walk(tree["prompt"]):
            m = snap.messages[node["message_id"]]
            events = node.get("events", {})
            assert set(events) <= {"emoji", "ranking"}
            check_node(node, m, snap)
            # one emoji event per per-user emoji row, _skip_* included
            got = Counter((e["user_id"], e["emoji"]) for e in events.get("emoji", []))
            assert all(e["type"] == "emoji" for e in events.get("emoji", []))
            assert got == Counter((snap.public[u], e) for u, e in snap.emojis.get(m.id, []))
            emoji_events += sum(got.values())
            # ranking events sit on the parent of the ranked replies
            rows = snap.rankings.get(m.id, [])
            got_rankings = events.get("ranking", [])
            assert len(got_rankings) == len(rows)
            expected = sorted(
                (
                    snap.public[r["user_id"]],
                    json.loads(r["ranked_ids"]),
                    json.loads(r["shown_ids"]),
                    bool(r["not_rankable"]),
                )
                for r in rows
            )
            assert (
                sorted(
                    # OA writes not_rankable only when true (issue 17: was always written)
                    (e["user_id"], e["ranked_message_ids"], e["shown_message_ids"], e.get("not_rankable", False))
                    for e in got_rankings
                )
                == expected
            )
            child_ids = {c.id for c in snap.kids.get(m.id, [])}
            for e in got_rankings:
                assert e["type"] == "ranking"
                assert e["ranking_parent_id"] == m.id
                assert e["message_tree_id"] == tree_id
                assert set(e["ranked_message_ids"]) <= child_ids
                assert set(e["shown_message_ids"]) <= child_ids
                if "ranking" in e:  # indexes into the order the ranker was shown
                    assert [e["shown_message_ids"][i] for i in e["ranking"]] == e["ranked_message_ids"]
                    assert sorted(e["ranking"]) == list(range(len(e["ranking"])))
            ranking_events += len(got_rankings)
    assert ranking_events > 0 and emoji_events >= len(reactions)
    exported = {n["message_id"]: n for n in all_nodes(trees)}
    for message_id, user_id, emoji in reactions:
        event = {"type": "emoji", "user_id": snap.public[user_id], "emoji": emoji}
        assert event in exported[message_id]["events"]["emoji"]
        assert exported[message_id]["emojis"][emoji] >= 1
    assert sum(len(snap.rankings.get(i, [])) for i in exported) == ranking_events

    plain = tree_lines(_run(db, tmp_path / "plain.jsonl"))
    assert not any("events" in n for n in all_nodes(plain))


# ------------------------------------------------------------------ anonymisation and gzip


def test_anonymized_ids_are_salted_hashes_used_consistently(reacted_db, tmp_path):
    db, _ = reacted_db
    snap = snapshot(db)
    args = ("--labels", "--events", "--state", "all", "--include-spam")
    plain = tree_lines(_run(db, tmp_path / "plain.jsonl", *args))
    out = _run(db, tmp_path / "anon.jsonl", *args, "--anonymize", "salt-number-one-xyz")
    raw = out.read_text(encoding="utf-8")
    anon = tree_lines(out)
    assert len(anon) == len(plain) > 0

    for original in list(snap.messages) + list(snap.trees):
        assert original not in raw
    user_ids = values_of([json.loads(line) for line in raw.splitlines()], "user_id")
    assert user_ids and all(HEX64.fullmatch(u) for u in user_ids)
    assert not {str(u) for u in snap.users} & set(user_ids)

    def message_hash(i: str) -> str:
        return hashlib.sha256(f"message:{i}salt-number-one-xyz".encode()).hexdigest()

    def user_hash(i: str) -> str:
        return hashlib.sha256(f"user:{i}salt-number-one-xyz".encode()).hexdigest()

    user_map: dict[str, str] = {}
    ranking_events = 0
    for p, a in zip(plain, anon, strict=True):
        assert a["message_tree_id"] == message_hash(p["message_tree_id"]) == a["prompt"]["message_id"]
        pn, an = list(walk(p["prompt"])), list(walk(a["prompt"]))
        assert len(pn) == len(an)
        anon_ids = {n["message_id"] for n, _ in an}
        for (pnode, _), (anode, aparent) in zip(pn, an, strict=True):
            assert anode["message_id"] == message_hash(pnode["message_id"])
            assert anode["user_id"] == user_hash(pnode["user_id"])
            assert user_map.setdefault(pnode["user_id"], anode["user_id"]) == anode["user_id"]
            if aparent is not None:
                assert anode["parent_id"] == aparent["message_id"]
            assert anode["text"] == pnode["text"] and anode.get("labels") == pnode.get("labels")
            for pe, ae in zip(
                pnode.get("events", {}).get("emoji", []), anode.get("events", {}).get("emoji", []), strict=True
            ):
                assert ae["user_id"] == user_hash(pe["user_id"]) and ae["emoji"] == pe["emoji"]
            for pe, ae in zip(
                pnode.get("events", {}).get("ranking", []), anode.get("events", {}).get("ranking", []), strict=True
            ):
                assert ae["ranking_parent_id"] == anode["message_id"]
                assert ae["message_tree_id"] == a["message_tree_id"]
                assert ae["ranked_message_ids"] == [message_hash(i) for i in pe["ranked_message_ids"]]
                assert ae["shown_message_ids"] == [message_hash(i) for i in pe["shown_message_ids"]]
                assert set(ae["ranked_message_ids"]) <= anon_ids | {
                    message_hash(c.id) for c in snap.kids.get(pnode["message_id"], [])
                }
                assert ae["user_id"] == user_hash(pe["user_id"])
                ranking_events += 1
    assert ranking_events > 0
    assert len(set(user_map.values())) == len(user_map), "different members keep different ids"

    other = tree_lines(_run(db, tmp_path / "anon2.jsonl", *args, "--anonymize", "salt-number-two-xyz"))
    again = tree_lines(_run(db, tmp_path / "anon1.jsonl", *args, "--anonymize", "salt-number-one-xyz"))
    assert again == anon
    for a1, a2 in zip(anon, other, strict=True):
        for (n1, _), (n2, _) in zip(walk(a1["prompt"]), walk(a2["prompt"]), strict=True):
            assert n1["message_id"] != n2["message_id"] and n1["user_id"] != n2["user_id"]


def test_gzip_output_holds_the_same_lines(sim_db, tmp_path):
    plain = _run(sim_db, tmp_path / "trees.jsonl", "--labels", "--events")
    packed = _run(sim_db, tmp_path / "trees.jsonl.gz", "--labels", "--events")
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(packed, "rt", encoding="utf-8") as f:
        text = f.read()
    assert text == plain.read_text(encoding="utf-8")
    assert text.count("\n") >= TARGET
    for line in text.splitlines():
        ExportMessageTree.model_validate_json(line)


# ------------------------------------------------------------------ by member, and refusals


def test_export_by_member_writes_only_their_messages(sim_db, sim, tmp_path, capsys):
    authored = Counter(m.user_id for m in sim.messages.values() if sim.accepted(m))
    user_id = authored.most_common(1)[0][0]
    out = _run(sim_db, tmp_path / "user.jsonl", "--user", str(user_id))
    lines = message_lines(out)
    assert f"wrote {len(lines)} messages" in capsys.readouterr().out
    expected = {m.id for m in sim.messages.values() if m.user_id == user_id and sim.accepted(m)}
    assert ids_of(lines) == expected and len(expected) > 1
    assert {line["user_id"] for line in lines} == {sim.public[user_id]}
    for line in lines:
        check_node(line, sim.messages[line["message_id"]], sim)
    # every tree state, not only exported trees
    assert any(sim.trees[sim.messages[i].tree_id][0] != "ready_for_export" for i in expected)

    by_name = _run(sim_db, tmp_path / "by-name.jsonl", "--user", sim.users[user_id])
    assert by_name.read_text() == out.read_text()
    assert len(message_lines(_run(sim_db, tmp_path / "two.jsonl", "--user", str(user_id), "--limit", "2"))) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "1", "--state", "growing"), "cannot be combined with --state"),
        (("--user", "no-such-member"), "no member"),
        (("--user", "99999"), "no member"),
        (("--state", "finished"), "unknown tree state"),
        (("--state", "ready_for_export,nope"), "unknown tree state"),
    ],
)
def test_bad_export_arguments_exit_2_with_a_reason(sim_db, tmp_path, capsys, args, message):
    out = tmp_path / "out.jsonl"
    assert export(sim_db, out, *args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_missing_database_exits_2(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert export(tmp_path / "missing.db", out) == 2
    assert "no database" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "missing.db").exists()


# ------------------------------------------------------------------ at scale


def test_a_bulk_database_exports_every_ready_tree(tmp_path, capsys):
    path = tmp_path / "bulk.db"
    build(str(path), BulkSpec(messages=5000, users=300))
    conn = sqlite3.connect(path)
    ready_trees = {r[0] for r in conn.execute("SELECT id FROM trees WHERE state = 'ready_for_export'")}
    conn.close()
    assert len(ready_trees) > 200
    out = _run(path, tmp_path / "bulk.jsonl.gz")
    assert f"wrote {len(ready_trees)} trees" in capsys.readouterr().out
    with gzip.open(out, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert len(lines) == len(ready_trees)
    seen = set()
    for line in lines:
        tree = ExportMessageTree.model_validate_json(line)
        assert tree.tree_state == "ready_for_export" and tree.prompt is not None
        assert tree.prompt.message_id == tree.message_tree_id
        seen.add(tree.message_tree_id)
    assert seen == ready_trees
