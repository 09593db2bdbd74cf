"""End to end: a simulated community carries trees in two languages from prompt to export, and the result checks."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock, TreeState
from engine.check import check_database
from engine.ranking import ranked_pairs
from storage.database import Database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGET = 20


async def test_a_community_exports_ranked_trees_in_two_languages(tmp_path):
    path = tmp_path / "grove.db"
    db = await Database.open(path)
    clock = FakeClock()
    cfg = EngineConfig()
    engine = Engine(db, cfg, clock=clock, rng=np.random.default_rng(2024))
    community = Community(engine, clock, seed=2024, langs=("en", "de"))
    await community.add_members(40)
    report = await community.run(TARGET)
    try:
        assert report.exported >= TARGET, report
        per_lang = {lang: (await engine.tree_counts(lang))[TreeState.READY_FOR_EXPORT] for lang in ("en", "de")}
        assert sum(per_lang.values()) >= TARGET
        assert all(n > 0 for n in per_lang.values()), per_lang

        exported = []
        async with db.read() as repo:
            for lang in ("en", "de"):
                exported += await repo.tree_ids_in_state(TreeState.READY_FOR_EXPORT, lang)
        assert len(exported) >= TARGET

        ranked_sets = 0
        async with db.read() as repo:
            for tree_id in exported:
                messages = await repo.messages_of_tree(tree_id)
                by_id = {m.id: m for m in messages}
                assert all(m.lang in ("en", "de") for m in messages)
                # rankable sibling sets: accepted, undeleted assistant replies of an undeleted parent, more than one
                sets: dict[str, list[str]] = {}
                for m in messages:
                    parent = by_id.get(m.parent_id) if m.parent_id else None
                    if (
                        parent is not None
                        and not parent.deleted
                        and not m.deleted
                        and m.review_result is True
                        and m.role == "assistant"
                    ):
                        sets.setdefault(parent.id, []).append(m.id)
                rankable = {p: c for p, c in sets.items() if len(c) > 1}
                ranked_children: set[str] = set()
                for parent_id, children in rankable.items():
                    ballots = await repo.ballots(parent_id)
                    assert len(ballots) >= cfg.num_required_rankings, (tree_id, parent_id)
                    ballots = [b for b in ballots if b]
                    common = set(children)
                    for b in ballots:
                        common &= set(b)
                    if not ballots or len(common) < 2:
                        continue
                    consensus = ranked_pairs([[i for i in b if i in common] for b in ballots])
                    assert {c: by_id[c].rank for c in consensus} == {c: k for k, c in enumerate(consensus)}
                    ranked_children |= set(consensus)
                    ranked_sets += 1
                # nothing else in the tree carries a rank
                others = {m.id: m.rank for m in messages if m.id not in ranked_children and m.rank is not None}
                assert others == {}, (tree_id, others)
        assert ranked_sets >= TARGET, "most exported trees should hold at least one ranked sibling set"
        assert await check_database(db, cfg) == []
    finally:
        await db.close()

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "check",
        "--db",
        str(path),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, (out + err).decode()
    assert "no violations" in out.decode()
