"""An oasst file with every field the format allows imports and exports again with nothing lost (issue 17).

The file below is written by hand from the reference's field list (§8.1) and OA's export models: events of every
type (and one OA does not know), detoxify scores, a tree origin, authors and dates left out, unranked siblings
whose ids sort the other way round, label means that are not sums of equal parts, an empty emoji map, dates in
other forms than OA writes, explicit nulls, a state Grove does not know, fields no oasst model has, a
one-message-per-line part, and one broken line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine import EngineConfig, FakeClock
from engine.check import check_database
from engine.export import ExportOptions, export
from engine.importer import import_trees
from engine.stats import Stats
from engine.types import TreeState
from storage.database import Database

DETOX = {
    "toxicity": 0.00051,
    "severe_toxicity": 3.1e-05,
    "obscene": 0.00019,
    "identity_attack": 0.0001,
    "insult": 0.0002,
    "threat": 4e-05,
    "sexual_explicit": 2.5e-05,
}
R1, A1, A2, A3, A4, P1, D1 = (f"{c}0000000-0000-4000-8000-00000000000{i}" for i, c in enumerate("9873215"))

EVERYTHING: dict[str, Any] = {
    "message_tree_id": R1,
    "tree_state": "ready_for_export",
    "prompt": {
        "message_id": R1,
        "user_id": "c5b0f3b4-6c47-4c5e-9d2a-2f1f5d9b7a01",
        "created_date": "2023-02-05T14:23:50.983374+00:00",
        "text": "¿Qué es un monopsonio? 日本語でも説明してください。",
        "role": "prompter",
        "lang": "es",
        "review_count": 3,
        "review_result": True,
        "deleted": False,
        "synthetic": False,
        "emojis": {"+1": 2, "_skip_reply": 1, "red_flag": 0},
        "replies": [
            {
                "message_id": A1,
                "parent_id": R1,
                "text": "Un monopsonio es un mercado con un solo comprador.",
                "role": "assistant",
                "lang": "es",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
                "rank": 0,
                "synthetic": True,
                "model_name": "oasst-sft-1-pythia-12b",
                "emojis": {},
                "replies": [
                    {
                        "message_id": P1,
                        "parent_id": A1,
                        "user_id": "c5b0f3b4-6c47-4c5e-9d2a-2f1f5d9b7a01",
                        "created_date": "2023-02-05T16:00:00Z",
                        "text": "¿Y un monopolio?",
                        "role": "prompter",
                        "lang": "es",
                        "review_count": 2,
                        "deleted": False,
                        "synthetic": False,
                        "replies": [],
                        "labels": {"spam": {"value": 0.0, "count": 2}},
                    }
                ],
                "labels": {
                    "spam": {"value": 0.1, "count": 3},
                    "quality": {"value": 0.7916666666666666, "count": 3},
                    "helpfulness": {"value": None, "count": 0},
                },
                "detoxify": DETOX,
            },
            {
                "message_id": A2,
                "parent_id": R1,
                "user_id": "0e8f2a11-3c5d-4b6e-8f70-91a2b3c4d5e6",
                "created_date": "2023-02-05T15:00:00+00:00",
                "text": "Es lo contrario de un monopolio.",
                "role": "assistant",
                "lang": "es",
                "review_count": 1,
                "review_result": False,
                "deleted": False,
                "rank": 1,
                "synthetic": False,
                "model_name": None,
                "replies": [],
            },
            {
                "message_id": A3,
                "parent_id": R1,
                "text": "Sin fecha ni autor, primero.",
                "role": "assistant",
                "lang": "es",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
                "synthetic": False,
                "replies": [],
                "frontend_message_id": "web-17",
            },
            {
                "message_id": A4,
                "parent_id": R1,
                "text": "Sin fecha ni autor, segundo.",
                "role": "assistant",
                "lang": "es",
                "review_count": 3,
                "review_result": True,
                "deleted": False,
                "synthetic": False,
                "replies": [],
            },
            {
                "message_id": D1,
                "parent_id": R1,
                "user_id": "0e8f2a11-3c5d-4b6e-8f70-91a2b3c4d5e6",
                "created_date": "2023-02-06T09:30:00.5+00:00",
                "text": "Borrado.",
                "role": "assistant",
                "lang": "es",
                "review_count": 0,
                "deleted": True,
                "synthetic": False,
                "replies": [],
            },
        ],
        "labels": {"spam": {"value": 0.0, "count": 3}, "lang_mismatch": {"value": 0.0, "count": 3}},
        "events": {
            "emoji": [
                {"type": "emoji", "user_id": "0e8f2a11-3c5d-4b6e-8f70-91a2b3c4d5e6", "emoji": "+1"},
                {"type": "emoji", "user_id": None, "emoji": "_skip_reply"},
            ],
            "rating": [{"type": "rating", "user_id": "a1", "rating": "good"}],
            "ranking": [
                {
                    "type": "ranking",
                    "user_id": "a2",
                    "ranking": [1, 0, 2, 3],
                    "ranked_message_ids": [A2, A1, A3, A4],
                    "ranking_parent_id": R1,
                    "message_tree_id": R1,
                },
                {
                    "type": "ranking",
                    "user_id": "a3",
                    "ranking": [],
                    "ranked_message_ids": [],
                    "ranking_parent_id": R1,
                    "message_tree_id": R1,
                    "not_rankable": True,
                },
            ],
            "report": [{"type": "report", "user_id": "a4", "report_type": "spam", "reason": "reads like an ad"}],
            "score": [{"type": "score", "user_id": "a5", "score": -1}],
            "mystery": [{"type": "mystery", "user_id": "a6", "payload": {"x": [1, 2]}}],
        },
        "detoxify": DETOX,
        "message_tree_id": R1,
        "tree_state": "ready_for_export",
        "frontend_message_id": "web-1",
    },
    "origin": "oasst2-sample",
    "export_note": {"by": "hand", "fields": ["all"]},
}

BARE = {  # no state, no origin; a prompt of the three required fields, a reply with a date without a zone
    "message_tree_id": "bare-1",
    "prompt": {
        "message_id": "bare-1",
        "text": "Only the required fields.",
        "role": "prompter",
        "replies": [
            {
                "text": "A reply written first in its line.",
                "message_id": "bare-2",
                "role": "assistant",
                "created_date": "2023-03-01T10:00:00",
                "labels": {"quality": {"value": 0.3333333333333333, "count": 3}},
            }
        ],
    },
}

FOREIGN = {  # a state Grove does not know
    "message_tree_id": "foreign-1",
    "tree_state": "awaiting_translation",
    "prompt": {"message_id": "foreign-1", "text": "Translate me.", "role": "prompter", "lang": "fr"},
}

FLAT = [  # one message per line, as flat datasets carry them (with their tree's id and state)
    {
        "message_id": "flat-2",
        "parent_id": "flat-1",
        "user_id": "c5b0f3b4-6c47-4c5e-9d2a-2f1f5d9b7a01",
        "created_date": "2023-04-01T12:00:00.000001+00:00",
        "text": "A reply whose tree is not in the file.",
        "role": "assistant",
        "lang": "de",
        "review_count": 3,
        "review_result": True,
        "deleted": False,
        "rank": 2,
        "synthetic": False,
        "emojis": {"-1": 1},
        "labels": {"fails_task": {"value": 0.5, "count": 2}},
        "events": {"emoji": [{"type": "emoji", "user_id": "a7", "emoji": "-1"}]},
        "detoxify": DETOX,
        "message_tree_id": "flat-1",
        "tree_state": "ready_for_export",
    },
    {"message_id": "flat-3", "text": "Nothing but what a message must have.", "role": "prompter"},
]

BROKEN = {
    "message_tree_id": "broken-1",
    "prompt": {
        "message_id": "broken-1",
        "text": "A prompt answered by a prompter.",
        "role": "prompter",
        "replies": [{"message_id": "broken-2", "text": "Not an answer.", "role": "prompter"}],
    },
}

EVERY_OPTION = ExportOptions(
    states=None, spam="include", deleted="include", synthetic="include", labels=True, events=True
)
MESSAGES = ExportOptions(  # message mode: how loose messages come out again
    states=None, spam="include", deleted="include", synthetic="only", labels=True, events=True
)


def write_file(path: Path) -> Path:
    lines = [EVERYTHING, BARE, BROKEN, FOREIGN, *FLAT]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def as_exported(line: dict[str, Any], *, labels: bool) -> dict[str, Any]:
    """The line as the export writes it, by what the README states: leaves carry `"replies": []`, every
    message `labels` when they are asked for (`{}` when it has none)."""
    out = copy.deepcopy(line)

    def visit(node: dict[str, Any]) -> None:
        node.setdefault("replies", [])
        if labels:
            node.setdefault("labels", {})
        for reply in node["replies"]:
            visit(reply)

    if "prompt" in out:
        visit(out["prompt"])
    elif labels:
        out.setdefault("labels", {})
    return out


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
async def imported(tmp_path: Path) -> Database:
    db = await Database.open(tmp_path / "fidelity.db")
    result = await import_trees(db, write_file(tmp_path / "every-field.jsonl"), clock=FakeClock(1.8e9))
    assert result.errors == ["line 3: message broken-2: a prompter message answers a prompter message"]
    assert (result.trees, result.messages, result.loose) == (3, 10, 2)
    assert result.by_state == {"ready_for_export": 1, "backlog_ranking": 2}
    yield db
    await db.close()


async def test_every_field_comes_back(imported, tmp_path):
    trees = read(await _export(imported, tmp_path / "trees.jsonl", EVERY_OPTION))
    assert len(trees) == 3
    by_id = {t["message_tree_id"]: t for t in trees}
    assert by_id[R1] == as_exported(EVERYTHING, labels=True)
    assert by_id["bare-1"] == as_exported(BARE, labels=True)
    assert by_id["foreign-1"] == as_exported(FOREIGN, labels=True)
    # the state the file named, the missing one left out, the foreign one kept (the tree itself waits here)
    assert [t.get("tree_state") for t in trees] == ["ready_for_export", None, "awaiting_translation"]

    messages = read(await _export(imported, tmp_path / "messages.jsonl", MESSAGES))
    loose = [m for m in messages if m["message_id"].startswith("flat")]
    assert loose == [as_exported(m, labels=True) for m in FLAT]
    assert "replies" not in loose[0]


async def test_unranked_siblings_keep_their_order_and_values_their_form(imported, tmp_path):
    (tree,) = [
        t for t in read(await _export(imported, tmp_path / "t.jsonl", EVERY_OPTION)) if t["message_tree_id"] == R1
    ]
    prompt = tree["prompt"]
    assert [r["message_id"] for r in prompt["replies"]] == [A1, A2, A3, A4, D1]  # A4 < A3 by id, kept after it
    a1 = prompt["replies"][0]
    assert a1["labels"]["spam"] == {"value": 0.1, "count": 3}  # not 0.10000000000000002
    assert a1["emojis"] == {} and "user_id" not in a1 and "created_date" not in a1
    assert prompt["replies"][0]["replies"][0]["created_date"] == "2023-02-05T16:00:00Z"
    assert list(prompt["emojis"]) == ["+1", "_skip_reply", "red_flag"]
    assert prompt["events"]["ranking"][1] == EVERYTHING["prompt"]["events"]["ranking"][1]
    # without the options, the export leaves labels and events out, and says nothing else differently
    plain_options = ExportOptions(synthetic="include")
    plain = {t["message_tree_id"]: t for t in read(await _export(imported, tmp_path / "p.jsonl", plain_options))}
    assert set(plain) == {R1}
    assert "labels" not in plain[R1]["prompt"] and "events" not in plain[R1]["prompt"]
    assert plain[R1]["prompt"]["detoxify"] == DETOX and plain[R1]["origin"] == "oasst2-sample"


async def test_reimport_adds_nothing_and_the_copy_exports_the_same_bytes(imported, tmp_path):
    source = tmp_path / "every-field.jsonl"
    again = await import_trees(imported, source)
    assert (again.trees, again.messages, again.loose, again.already_present) == (0, 0, 0, 5)
    assert len(again.errors) == 1

    first = await _export(imported, tmp_path / "first.jsonl.gz", EVERY_OPTION)
    first_messages = await _export(imported, tmp_path / "first-messages.jsonl", MESSAGES)
    copy_db = await Database.open(tmp_path / "copy.db")
    try:
        for path in (first, first_messages):
            result = await import_trees(copy_db, path)
            assert result.errors == []
        # the messages file holds the synthetic tree's messages again: already there
        assert (await _export(copy_db, tmp_path / "second.jsonl.gz", EVERY_OPTION)).read_bytes() == first.read_bytes()
        second_messages = await _export(copy_db, tmp_path / "second-messages.jsonl", MESSAGES)
        assert second_messages.read_bytes() == first_messages.read_bytes()
        assert await check_database(copy_db) == []
    finally:
        await copy_db.close()


async def test_authors_stay_who_the_file_says_and_off_the_leaderboard(imported, tmp_path):
    async with imported.read() as repo:
        members = await repo.exports.member_list()
    imported_members = {name: user_id for user_id, auth, name in members if auth == "import"}
    # one member per external id (the prompt's author also wrote P1 and the flat reply), one for "no author"
    assert set(imported_members) == {
        "",
        "c5b0f3b4-6c47-4c5e-9d2a-2f1f5d9b7a01",
        "0e8f2a11-3c5d-4b6e-8f70-91a2b3c4d5e6",
    }
    stats = Stats(imported, clock=FakeClock(1.8e9))
    await stats.refresh_all()
    board, _ = await stats.leaderboard()
    assert board == []
    assert (await stats.overview()).top_contributors == ()
    for user_id in imported_members.values():
        assert (await stats.member(user_id)).counters == (await stats.member(-1)).counters
    assert await check_database(imported, EngineConfig()) == []


async def test_the_state_option_overrides_the_files_states(tmp_path):
    db = await Database.open(tmp_path / "override.db")
    try:
        source = write_file(tmp_path / "every-field.jsonl")
        result = await import_trees(db, source, state=TreeState.READY_FOR_EXPORT)
        # R1's unranked answers have the file's two ballots, fewer than the three a set needs: backlog
        assert result.by_state == {"ready_for_export": 2, "backlog_ranking": 1}
        trees = {t["message_tree_id"]: t for t in read(await _export(db, tmp_path / "o.jsonl", EVERY_OPTION))}
        assert trees[R1]["tree_state"] == "backlog_ranking"
        assert trees["bare-1"]["tree_state"] == trees["foreign-1"]["tree_state"] == "ready_for_export"
    finally:
        await db.close()


async def _export(db: Database, path: Path, options: ExportOptions) -> Path:
    await export(db, path, options)
    return path
