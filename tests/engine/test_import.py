"""Import of oasst tree JSON Lines: round trip with export, idempotence, bad lines, strictness, backlog."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock, TaskType, TreeState
from engine.check import check_database
from engine.export import ExportOptions, export
from engine.importer import ImportFailed, import_trees
from storage.database import Database
from tests.driver import member


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """An oasst file of a few trees grown by a simulated community (with labels)."""
    folder = tmp_path_factory.mktemp("source")

    async def grow() -> Path:
        db = await Database.open(folder / "source.sqlite3")
        try:
            clock = FakeClock()
            engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(11))
            community = Community(engine, clock, seed=11, langs=("en", "de"))
            await community.add_members(30)
            await community.run(3)
            out = folder / "trees.jsonl"
            await export(db, out, ExportOptions(labels=True))
            return out
        finally:
            await db.close()

    import asyncio

    return asyncio.run(grow())


def comparable(node: dict) -> dict:
    """A node without its author (member ids are re-keyed on import), replies in order."""
    out = {k: v for k, v in node.items() if k not in ("user_id", "replies")}
    out["replies"] = [comparable(r) for r in node.get("replies", [])]
    return out


def trees_of(path: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {t["message_tree_id"]: comparable(t["prompt"]) for t in lines}


async def test_export_import_export_gives_the_same_trees(exported, tmp_path):
    db = await Database.open(tmp_path / "copy.sqlite3")
    try:
        result = await import_trees(db, exported, state=TreeState.READY_FOR_EXPORT)
        assert result.trees == len(exported.read_text().splitlines()) >= 3
        assert result.errors == []
        again = tmp_path / "again.jsonl"
        await export(db, again, ExportOptions(labels=True))
        assert trees_of(again) == trees_of(exported)
        assert await check_database(db) == []
    finally:
        await db.close()


async def test_importing_twice_adds_nothing(exported, tmp_path):
    db = await Database.open(tmp_path / "twice.sqlite3")
    try:
        first = await import_trees(db, exported)
        second = await import_trees(db, exported)
        assert second.trees == 0 and second.messages == 0
        assert second.already_present == first.trees
    finally:
        await db.close()


async def test_imported_trees_get_their_true_depths(exported, tmp_path):
    db = await Database.open(tmp_path / "depth.sqlite3")
    try:
        result = await import_trees(db, exported)
        # trees keep the state their line names now (these were exported), not backlog_ranking for all
        assert result.by_state == {"ready_for_export": result.trees}
        async with db.read() as repo:
            for tree_id in await repo.tree_ids_in_state("ready_for_export"):
                by_id = {m.id: m for m in await repo.messages_of_tree(tree_id)}
                for m in by_id.values():
                    assert m.depth == (0 if m.parent_id is None else by_id[m.parent_id].depth + 1)
                assert max(m.depth for m in by_id.values()) >= 2
    finally:
        await db.close()


def broken_copy(exported: Path, folder: Path) -> Path:
    lines = exported.read_text().splitlines()
    lines.insert(1, '{"message_tree_id": "x", "prompt": {"text": "no id or role"}}')
    lines.insert(3, "this is not json")
    out = folder / "broken.jsonl"
    out.write_text("\n".join(lines) + "\n")
    return out


async def test_a_broken_line_is_named_and_the_rest_imported(exported, tmp_path):
    broken = broken_copy(exported, tmp_path)
    db = await Database.open(tmp_path / "broken.sqlite3")
    try:
        result = await import_trees(db, broken)
        assert [e.split(":")[0] for e in result.errors] == ["line 2", "line 4"]
        assert result.trees == len(exported.read_text().splitlines())
    finally:
        await db.close()


async def test_strict_import_of_a_broken_file_imports_nothing(exported, tmp_path):
    broken = broken_copy(exported, tmp_path)
    db = await Database.open(tmp_path / "strict.sqlite3")
    try:
        with pytest.raises(ImportFailed) as exc:
            await import_trees(db, broken, strict=True)
        assert len(exc.value.result.errors) == 2
        assert sum((await Engine(db).tree_counts()).values()) == 0
    finally:
        await db.close()


def test_cli_reports_bad_lines_and_reads_gzip(exported, tmp_path, capsys):
    broken = broken_copy(exported, tmp_path)
    gz = tmp_path / "broken.jsonl.gz"
    gz.write_bytes(gzip.compress(broken.read_bytes()))
    assert main(["import", "--db", str(tmp_path / "cli.sqlite3"), str(gz)]) == 1
    captured = capsys.readouterr()
    assert "line 2:" in captured.err and "line 4:" in captured.err
    assert "2 bad line(s) skipped" in captured.out
    assert main(["import", "--db", str(tmp_path / "cli.sqlite3"), str(gz), "--strict"]) == 1
    assert main(["import", "--db", str(tmp_path / "cli.sqlite3"), str(tmp_path / "missing.jsonl")]) == 2
    assert main(["check", "--db", str(tmp_path / "cli.sqlite3")]) == 0


async def test_backlog_trees_are_ranked_here_once_activated(exported, tmp_path):
    db = await Database.open(tmp_path / "backlog.sqlite3")
    try:
        # each tree would keep its own state (ready_for_export); the option sends them to the backlog instead
        result = await import_trees(db, exported, state=TreeState.BACKLOG_RANKING)
        assert result.by_state == {"backlog_ranking": result.trees}
        clock = FakeClock(2_000_000_000.0)
        engine = Engine(db, EngineConfig(min_active_rankings_per_lang=1), clock=clock, rng=np.random.default_rng(2))
        lang = json.loads(exported.read_text().splitlines()[0])["prompt"]["lang"]
        tree_id = await engine.activate_backlog(lang)
        assert tree_id is not None
        assert (await engine.tree_status(tree_id)).state is TreeState.RANKING
        ranker = await member(engine, "ranker")
        task = await engine.next_task(ranker, lang, TaskType.RANK_ASSISTANT_REPLIES)
        assert task.tree_id == tree_id and len(task.candidates) >= 2
        assert await check_database(db) == []
    finally:
        await db.close()


async def test_a_default_export_of_imported_synthetic_messages_leaves_them_out(exported, tmp_path):
    """A tree holding a synthetic reply exported with default options once crashed with a TypeError."""
    first = json.loads(exported.read_text().splitlines()[0])
    reply = first["prompt"]["replies"][0]
    reply["synthetic"], reply["model_name"] = True, "some-model"
    source = tmp_path / "synthetic.jsonl"
    source.write_text(json.dumps(first) + "\n")
    db = await Database.open(tmp_path / "synthetic.sqlite3")
    try:
        await import_trees(db, source, state=TreeState.READY_FOR_EXPORT)
        out = tmp_path / "out.jsonl"
        await export(db, out, ExportOptions())
        text = out.read_text()
        assert reply["message_id"] not in text and "some-model" not in text
        await export(db, tmp_path / "with.jsonl", ExportOptions(synthetic="include"))
        assert reply["message_id"] in (tmp_path / "with.jsonl").read_text()
    finally:
        await db.close()


async def test_an_imported_tree_in_an_active_state_is_worked_on_here(tmp_path):
    """A tree imported in `ranking` is active: its sets lack ballots here (imported ballots are kept as events, not
    counted), so members are handed its rankings."""
    replies = [
        {"message_id": f"a{i}", "text": f"answer {i}", "role": "assistant", "review_count": 3, "review_result": True}
        for i in range(3)
    ]
    line = {
        "message_tree_id": "p",
        "tree_state": "ranking",
        "prompt": {
            "message_id": "p",
            "user_id": "someone",
            "text": "a prompt",
            "role": "prompter",
            "lang": "en",
            "review_count": 3,
            "review_result": True,
            "replies": replies,
        },
    }
    source = tmp_path / "ranking.jsonl"
    source.write_text(json.dumps(line) + "\n")
    db = await Database.open(tmp_path / "active.sqlite3")
    try:
        result = await import_trees(db, source)
        assert result.by_state == {"ranking": 1}
        assert await check_database(db) == []
        engine = Engine(db, EngineConfig(), clock=FakeClock(2_000_000_000.0), rng=np.random.default_rng(4))
        ranker = await member(engine, "ranker")
        task = await engine.next_task(ranker, "en", TaskType.RANK_ASSISTANT_REPLIES)
        assert task.tree_id == "p" and sorted(c.id for c in task.candidates) == ["a0", "a1", "a2"]
    finally:
        await db.close()


def test_imports_go_into_a_named_community_and_exports_can_take_one(exported, tmp_path, capsys):
    """`grove import --community`, `grove communities [join]` and `grove export --community`."""
    db = str(tmp_path / "pools.sqlite3")
    assert main(["import", "--db", db, str(exported)]) == 0  # community 1 by default
    assert main(["import", "--db", db, str(exported), "--community", "2"]) == 2  # no such community yet
    assert "no community '2'" in capsys.readouterr().err

    async def second_pool() -> None:
        from engine.guilds import GuildSettings

        database = await Database.open(db)
        try:
            settings = GuildSettings(database)
            assert await settings.community_of(555) == 1 and await settings.community_of(666) == 2
        finally:
            await database.close()

    import asyncio

    asyncio.run(second_pool())
    capsys.readouterr()
    assert main(["communities", "--db", db]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[0] == "1" and "555" in listing[0] and "trees: 0" not in listing[0]
    assert listing[1].split()[0] == "2" and "666" in listing[1] and "trees: 0" in listing[1]
    for community, expect in (("1", True), ("2", False)):
        out = tmp_path / f"c{community}.jsonl"
        assert main(["export", "--db", db, "--out", str(out), "--state", "all", "--community", community]) == 0
        assert bool(out.read_text()) is expect
    assert main(["export", "--db", db, "--out", str(tmp_path / "x.jsonl"), "--community", "nope"]) == 2
    assert main(["communities", "--db", db, "join", "666", "1"]) == 0  # 666's empty pool merges into 1
    assert "now in community 1" in capsys.readouterr().out
    assert main(["check", "--db", db]) == 0
