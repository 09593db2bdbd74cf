"""Export → import into an empty database → export gives the same file, in every mode (issue 17).

The source is a simulated community's database with every kind of message an export can select: accepted,
rejected and pending, deleted, synthetic, reacted to, reported, ranked and unranked. Each mode's file is
imported into a fresh database and exported again with the same options: byte for byte the same file
(anonymised files, whose ids are hashed once more, compared on structure); importing the file a second time
adds nothing.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.cli import main
from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock
from engine.check import check_database
from engine.importer import import_trees
from engine.oasst import Ids
from engine.types import Emoji, TaskType
from storage.database import Database
from tests.driver import member
from tests.oasst_format import member_ids, validate_line

SEED = 5


async def _grow(path: Path) -> None:
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(SEED))
        community = Community(engine, clock, seed=SEED, langs=("en", "de"))
        await community.add_members(30)
        report = await community.run(4)
        assert report.exported >= 4, report
        members = sorted(await member_ids(db))
        async with db.read() as repo:
            ready = await repo.tree_ids_in_state("ready_for_export")
            first = await repo.messages_of_tree(ready[0])
            second = await repo.messages_of_tree(ready[1])
        # reactions (emoji events), one of them a skip; a deleted reply with its subtree
        for i, m in enumerate(first[:4]):
            await engine.react(members[i], m.id, Emoji.THUMBS_UP.value)
            await engine.react(members[i + 1], m.id, Emoji.HEART_EYES.value)
        reply = next(m for m in second if m.parent_id is not None and m.review_result)
        await engine.delete_message(reply.id, None, "round trip")
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    with conn:
        # a free report with label values, and a synthetic answer in a third exported tree
        conn.execute(
            "INSERT INTO labels (id, message_id, user_id, task_id, mode, labels, comment, is_report, created_at)"
            " VALUES ('free-1', ?, ?, NULL, NULL, ?, 'meh', 1, 4e9)",
            (first[1].id, members[5], json.dumps({"spam": 1.0, "fails_task": 0.5, "quality": 0.1})),
        )
        third = conn.execute(
            "SELECT id FROM messages WHERE tree_id = ? AND parent_id IS NOT NULL AND role = 'assistant' LIMIT 1",
            (ready[2],),
        ).fetchone()[0]
        conn.execute("UPDATE messages SET synthetic = 1, model_name = 'some-model-1' WHERE id = ?", (third,))
        # a member whose messages show in no export
        conn.execute("UPDATE users SET dataset_opt_out = 1 WHERE id = ?", (members[-1],))
    conn.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("roundtrip") / "source.db"
    asyncio.run(_grow(path))
    return path


async def export(db: Path, out: Path, *args: str) -> None:
    """`grove export` (in a thread: the command runs its own event loop)."""
    assert await asyncio.to_thread(main, ["export", "--db", str(db), "--out", str(out), *args]) == 0


def read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()


def lines(path: Path) -> list[dict[str, Any]]:
    return [validate_line(line) for line in read(path).decode().splitlines()]


def busiest_member(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        (user_id,) = conn.execute(
            """SELECT user_id FROM messages WHERE review_result = 1 AND deleted = 0
               GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"""
        ).fetchone()
    finally:
        conn.close()
    return str(user_id)


MODES = {
    "trees": (),
    "labels": ("--labels",),
    "events": ("--events",),
    "everything": (
        "--state",
        "all",
        "--labels",
        "--events",
        "--include-spam",
        "--include-deleted",
        "--include-synthetic",
    ),
    "state-all": ("--state", "all"),
    "growing": ("--state", "growing,ranking", "--labels"),
    "lang": ("--lang", "de", "--events"),
    "limit": ("--limit", "2", "--labels"),
    "prompts-only": ("--prompts-only", "--state", "all", "--labels"),
    "spam-only": ("--spam-only", "--state", "all", "--labels", "--events"),
    "deleted-only": ("--deleted-only", "--state", "all"),
    "synthetic-only": ("--synthetic-only", "--labels"),
}


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize("mode", list(MODES))
async def test_export_import_export_is_byte_identical(source, tmp_path, mode, suffix):
    first = tmp_path / f"first{suffix}"
    await export(source, first, *MODES[mode])
    written = lines(first)
    assert written, "the mode should select something"
    copy = tmp_path / "copy.db"
    result = await asyncio.to_thread(main, ["import", "--db", str(copy), str(first)])
    assert result == 0
    again = tmp_path / f"again{suffix}"
    await export(copy, again, *MODES[mode])
    assert again.read_bytes() == first.read_bytes()  # .gz included: no name or time in the gzip header

    db = await Database.open(copy)
    try:
        repeat = await import_trees(db, first)
        assert (repeat.trees, repeat.messages, repeat.loose, repeat.errors) == (0, 0, 0, [])
        assert repeat.already_present == len(written)
        problems = await check_database(db)
        if mode == "prompts-only":
            # trees that were ranking keep that state with their prompt alone: nothing is left to rank, which
            # `grove check` names; the engine's re-check (at start-up and as a job) scores them
            assert problems and all("stuck in ranking" in p for p in problems)
        else:
            assert problems == []
    finally:
        await db.close()
    await export(copy, tmp_path / f"third{suffix}", *MODES[mode])
    assert (tmp_path / f"third{suffix}").read_bytes() == first.read_bytes()


async def test_a_members_messages_come_back_under_the_same_id(source, tmp_path):
    first = tmp_path / "member.jsonl"
    await export(source, first, "--user", busiest_member(source), "--labels")
    written = lines(first)
    assert len(written) > 1 and len({m["user_id"] for m in written}) == 1
    user_id = written[0]["user_id"]
    copy = tmp_path / "copy.db"
    assert await asyncio.to_thread(main, ["import", "--db", str(copy), str(first)]) == 0
    again = tmp_path / "again.jsonl"
    await export(copy, again, "--user", user_id, "--labels")  # the exported id finds the member, here and there
    assert again.read_bytes() == first.read_bytes()
    await export(source, tmp_path / "by-uuid.jsonl", "--user", user_id, "--labels")
    assert (tmp_path / "by-uuid.jsonl").read_bytes() == first.read_bytes()


def rehashed(obj: Any, ids: Ids) -> Any:
    """`obj` with every id hashed once more with `ids`' seed, as an export of its import must write it."""
    if isinstance(obj, list):
        return [rehashed(v, ids) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key in ("message_id", "parent_id", "message_tree_id", "ranking_parent_id"):
            out[key] = ids.message(value)
        elif key in ("ranked_message_ids", "shown_message_ids"):
            out[key] = [ids.message(v) for v in value]
        elif key == "user_id":
            out[key] = ids.user(value)
        else:
            out[key] = rehashed(value, ids)
    return out


def by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {line.get("message_tree_id", line.get("message_id")): line for line in lines}


@pytest.mark.parametrize("args", [("--labels", "--events", "--state", "all"), ("--spam-only", "--events")])
async def test_an_anonymised_export_round_trips_in_structure(source, tmp_path, args):
    """Its import keeps the hashed ids; anonymised again, every id is hashed once more and nothing else changes
    (the lines come in another order: the export's order is that of the ids)."""
    first = tmp_path / "anon.jsonl"
    await export(source, first, *args, "--anonymize", "salt-number-one-xyz")
    copy = tmp_path / "copy.db"
    assert await asyncio.to_thread(main, ["import", "--db", str(copy), str(first)]) == 0
    again = tmp_path / "again.jsonl"
    await export(copy, again, *args, "--anonymize", "salt-number-two-xyz")
    before, after = lines(first), lines(again)
    assert before and len(before) == len(after)
    assert by_id(after) == by_id(rehashed(before, Ids("salt-number-two-xyz")))


@pytest.mark.parametrize("mode", ["everything", "spam-only", "lang"])
async def test_an_export_by_several_processes_holds_exactly_what_one_writes(source, tmp_path, mode):
    """`grove export --jobs N` (issue 19): worker processes export ranges of tree ids; the file is the same."""
    one, three = tmp_path / "one.jsonl.gz", tmp_path / "three.jsonl.gz"
    await export(source, one, *MODES[mode])
    await export(source, three, *MODES[mode], "--jobs", "3")
    assert read(three) == read(one) and read(one)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no part left behind


async def test_a_cli_import_into_a_running_bots_database_is_seen_by_its_next_hand_out(source, tmp_path):
    """Issue 19: the bot's process keeps its database open while `grove import` (another connection) writes the
    same file; the bot's next hand-out offers the imported trees' work without a restart."""
    dump = tmp_path / "all.jsonl"
    await export(source, dump, "--state", "all")
    bot_db = await Database.open(tmp_path / "bot.db")
    try:
        clock = FakeClock(4e9)  # after every imported date
        engine = Engine(bot_db, EngineConfig(), clock=clock, rng=np.random.default_rng(3))
        newcomer = await member(engine, "newcomer")

        async def work_on_trees() -> list[TaskType]:  # (writing a new prompt is always available)
            counts = (await engine.availability(newcomer, "en")).counts
            return [kind for kind, n in counts.items() if n and kind is not TaskType.INITIAL_PROMPT]

        assert await work_on_trees() == []
        assert await asyncio.to_thread(main, ["import", "--db", str(tmp_path / "bot.db"), str(dump)]) == 0
        kinds = await work_on_trees()
        assert kinds
        task = await engine.next_task(newcomer, "en", kinds[0])
        assert task.tree_id in {t["message_tree_id"] for t in lines(dump)}
    finally:
        await bot_db.close()


async def test_orjson_and_the_standard_library_read_the_pages_alike(source, tmp_path, monkeypatch):
    """The [fast] extra's orjson reads the export's pages when installed: the file is the same without it."""
    import engine.export

    pytest.importorskip("orjson")
    fast, plain = tmp_path / "fast.jsonl", tmp_path / "plain.jsonl"
    await export(source, fast, *MODES["everything"])
    monkeypatch.setattr(engine.export, "_orjson", None)
    await export(source, plain, *MODES["everything"])
    assert read(fast) == read(plain) and read(fast)
