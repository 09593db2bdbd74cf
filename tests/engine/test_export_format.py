"""Every export mode writes the oasst form exactly, on a database holding every kind of message (issue 17).

The database: a simulated community's trees (accepted, rejected, pending, deleted, ranked, unranked, reacted to,
an "all bad"-free mix), one message marked synthetic, and an imported tree and loose messages with missing
authors, dates and languages, detoxify scores, an origin and events of every type. `grove check` accepts it;
every combination of the export's options writes lines the strict model (`tests/oasst_format.py`) accepts, in
OA's field order, without nulls. The strict model itself is pinned to the reference's field list, and the
engine's reading models to it, both ways.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from bot.simulation import Community
from engine import Engine, EngineConfig, FakeClock
from engine import oasst as engine_format
from engine.check import check_database
from engine.export import ExportOptions, export, find_member
from engine.importer import import_trees
from engine.types import Emoji, TreeState
from storage.database import Database
from tests import oasst_format as strict

DETOX = dict.fromkeys(strict.DETOXIFY_FIELDS, 0.001)
IMPORTED_TREE = {
    "message_tree_id": "imp-1",
    "tree_state": "ready_for_export",
    "prompt": {
        "message_id": "imp-1",
        "text": "An imported prompt without author, date or language.",
        "role": "prompter",
        "review_count": 3,
        "review_result": True,
        "emojis": {"+1": 1},
        "replies": [
            {
                "message_id": "imp-2",
                "parent_id": "imp-1",
                "user_id": "ext-author",
                "created_date": "2023-02-05T14:23:50.983374+00:00",
                "text": "A synthetic answer.",
                "role": "assistant",
                "lang": "en",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
                "rank": 0,
                "synthetic": True,
                "model_name": "some-model",
                "replies": [],
                "detoxify": DETOX,
            },
            {
                "message_id": "imp-3",
                "parent_id": "imp-1",
                "text": "An unranked answer, deleted.",
                "role": "assistant",
                "review_count": 3,
                "review_result": True,
                "deleted": True,
                "replies": [],
            },
        ],
        "events": {
            "emoji": [{"type": "emoji", "user_id": "ext-author", "emoji": "+1"}],
            "rating": [{"type": "rating", "user_id": "ext-2", "rating": "good"}],
            "ranking": [
                {
                    "type": "ranking",
                    "user_id": "ext-3",
                    "ranking": [0, 1],
                    "ranked_message_ids": ["imp-2", "imp-3"],
                    "ranking_parent_id": "imp-1",
                    "message_tree_id": "imp-1",
                    "not_rankable": True,
                }
            ],
            "report": [{"type": "report", "user_id": "ext-4", "report_type": "spam", "reason": "ad"}],
            "score": [{"type": "score", "user_id": "ext-5", "score": 1}],
        },
        "detoxify": DETOX,
    },
    "origin": "a-sample",
}
LOOSE = [
    {
        "message_id": "loose-1",
        "parent_id": "elsewhere",
        "text": "A rejected reply from a flat file.",
        "role": "assistant",
        "lang": "de",
        "review_count": 3,
        "review_result": False,
        "deleted": False,
        "synthetic": False,
        "message_tree_id": "elsewhere-root",
        "tree_state": "ready_for_export",
    },
    {"message_id": "loose-2", "text": "A prompt, nothing else known.", "role": "prompter"},
]


async def _build(folder: Path) -> Path:
    path = folder / "every-kind.db"
    db = await Database.open(path)
    try:
        clock = FakeClock()
        engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(1))
        community = Community(engine, clock, seed=1, langs=("en", "de"))
        await community.add_members(30)
        await community.run(3)
        async with db.read() as repo:
            ready = await repo.tree_ids_in_state("ready_for_export")
            messages = await repo.messages_of_tree(ready[0])
        for m in messages[:3]:
            await engine.react(messages[-1].user_id, m.id, Emoji.THUMBS_UP.value)
        await engine.delete_message(next(m.id for m in messages if m.parent_id is not None), None, "kinds")
        source = folder / "imported.jsonl"
        source.write_text("".join(json.dumps(line) + "\n" for line in [IMPORTED_TREE, *LOOSE]))
        result = await import_trees(db, source)
        assert result.errors == [] and (result.trees, result.loose) == (1, 2)
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            """UPDATE messages SET synthetic = 1, model_name = 'grove-model' WHERE id = (
                   SELECT id FROM messages WHERE parent_id IS NOT NULL AND imported IS NULL ORDER BY id LIMIT 1)"""
        )
    conn.close()
    return path


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(_build(tmp_path_factory.mktemp("kinds")))


FILTERS = ("exclude", "include", "only")
# every combination of the three message filters and the two state selections, with labels and events; each
# also as prompts only, without labels and events, and anonymised
COMBINATIONS = [
    ExportOptions(
        states=states,
        deleted=deleted,  # type: ignore[arg-type]
        spam=spam,  # type: ignore[arg-type]
        synthetic=synthetic,  # type: ignore[arg-type]
        **extra,
    )
    for states, deleted, spam, synthetic in itertools.product((None, ("ready_for_export",)), *[FILTERS] * 3)
    for extra in (
        {"labels": True, "events": True},
        {"prompts_only": True, "labels": True},
        {},
        {"labels": True, "events": True, "anonymize_seed": "salt"},
    )
]


async def test_the_database_holds_every_kind_and_passes_check(every_kind):
    db = await Database.open(every_kind)
    try:
        assert await check_database(db) == []
        ready = await _messages(db, "ready_for_export")
        assert any(m.synthetic for m in ready) and any(m.deleted for m in ready)
        assert any(m.rank is None and m.parent_id for m in ready)
        every = [m for state in TreeState for m in await _messages(db, state)]
        assert any(m.review_result is False for m in every) and any(m.review_result is None for m in every)
        async with db.read() as repo:
            loose = await repo.exports.loose_messages(user_id=None, after=0, limit=10)
        assert len(loose) == 2
    finally:
        await db.close()


async def _messages(db: Database, state: str) -> list[Any]:
    out = []
    async with db.read() as repo:
        for tree_id in await repo.tree_ids_in_state(state):
            out += await repo.messages_of_tree(tree_id)
    return out


async def test_every_mode_writes_the_oasst_form(every_kind, tmp_path):
    db = await Database.open(every_kind, migrate=False)
    seen_node: set[str] = set()
    seen_tree: set[str] = set()
    seen_event: dict[str, set[str]] = {}
    try:
        author = await find_member(db, "ext-author")
        options = [*COMBINATIONS, ExportOptions(user=author, states=None, labels=True, events=True)]
        for i, o in enumerate(options):
            out = tmp_path / f"{i}.jsonl"
            result = await export(db, out, o)
            text = out.read_text()
            assert text.count("\n") == (result.messages if o.message_mode else result.trees), o
            for line in text.splitlines():
                obj = strict.validate_line(line)
                _collect(obj, seen_node, seen_tree, seen_event)
    finally:
        await db.close()
    # the other way round: every field of the format is written by some mode
    assert seen_node == set(strict.REFERENCE_NODE_FIELDS)
    assert seen_tree == set(strict.REFERENCE_TREE_FIELDS)
    for kind, fields in strict.REFERENCE_EVENT_FIELDS.items():
        assert set(fields) <= seen_event[kind] <= set(fields) | set(strict.GROVE_EVENT_EXTENSIONS.get(kind, ()))


def _collect(obj: dict[str, Any], nodes: set[str], trees: set[str], events: dict[str, set[str]]) -> None:
    def node(n: dict[str, Any]) -> None:
        nodes.update(n)
        for items in n.get("events", {}).values():
            for e in items:
                events.setdefault(e["type"], set()).update(e)
        for reply in n.get("replies", []):
            node(reply)

    if "message_id" in obj:
        node(obj)
    else:
        trees.update(obj)
        node(obj["prompt"])


# ------------------------------------------------------------------ the strict model, pinned both ways


def test_the_strict_model_has_exactly_the_reference_fields():
    assert list(strict.ExportMessageNode.model_fields) == strict.REFERENCE_NODE_FIELDS
    assert list(strict.ExportMessageTree.model_fields) == strict.REFERENCE_TREE_FIELDS
    assert list(strict.DetoxifyRating.model_fields) == strict.DETOXIFY_FIELDS
    models = {"emoji": strict.EmojiEvent, "rating": strict.RatingEvent, "ranking": strict.RankingEvent}
    models |= {"report": strict.ReportEvent, "score": strict.ScoreEvent}
    for kind, model in models.items():
        extension = strict.GROVE_EVENT_EXTENSIONS.get(kind, [])
        assert list(model.model_fields) == strict.REFERENCE_EVENT_FIELDS[kind] + extension


def test_the_engine_reads_and_orders_exactly_the_strict_models_fields():
    assert list(engine_format.NODE_FIELDS) == strict.REFERENCE_NODE_FIELDS
    assert list(engine_format.TREE_FIELDS) == strict.REFERENCE_TREE_FIELDS
    assert list(engine_format.ExportMessageNode.model_fields) == strict.REFERENCE_NODE_FIELDS
    assert list(engine_format.ExportMessageTree.model_fields) == strict.REFERENCE_TREE_FIELDS
    for kind, model in engine_format.EVENT_MODELS.items():
        extension = strict.GROVE_EVENT_EXTENSIONS.get(kind, [])
        assert list(model.model_fields) == strict.REFERENCE_EVENT_FIELDS[kind] + extension


@pytest.mark.parametrize(
    "change",
    [
        {"surprise": 1},  # a field the format does not have
        {"review_count": "3"},  # a count as text
        {"deleted": 0},  # a flag as a number
        {"events": {"ranking": [{"type": "ranking", "ranked_message_ids": []}]}},  # no `ranking`
        {"events": {"score": [{"type": "score", "score": 2}]}},  # out of range
        {"detoxify": {"toxicity": 0.1}},  # scores missing
    ],
)
def test_the_strict_model_can_fail(change):
    good = {"message_id": "m", "text": "t", "role": "prompter", "review_count": 3, "deleted": False}
    strict.ExportMessageNode.model_validate_json(json.dumps(good))
    with pytest.raises(ValidationError):
        strict.ExportMessageNode.model_validate_json(json.dumps(good | change))


def test_the_form_check_can_fail():
    with pytest.raises(AssertionError):
        strict.check_form({"message_id": "m", "text": "t", "role": "prompter", "rank": None})
    with pytest.raises(AssertionError):
        strict.check_form({"text": "t", "message_id": "m", "role": "prompter"})
    with pytest.raises(AssertionError):
        strict.validate_line(json.dumps({"message_id": "m", "text": "é", "role": "prompter"}, ensure_ascii=False))
