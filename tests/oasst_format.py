"""The oasst export format, strictly (reference §8.1 and OA's published export models), for tests.

Every field is typed without coercion (a count must be a JSON integer, a flag a JSON boolean) and nothing
outside the format is allowed, except the one extension Grove documents: `shown_message_ids` on a ranking
event (the order the ranker was shown, which `ranking` indexes). Lines are validated from their JSON text.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.oasst import public_member_id
from storage.database import Database


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LabelAvgValue(Strict):
    value: float | None = None
    count: int


class EmojiEvent(Strict):
    type: Literal["emoji"]
    user_id: str | None = None
    emoji: str


class RatingEvent(Strict):
    type: Literal["rating"]
    user_id: str | None = None
    rating: str


class RankingEvent(Strict):
    type: Literal["ranking"]
    user_id: str | None = None
    ranking: list[int]
    ranked_message_ids: list[str]
    ranking_parent_id: str | None = None
    message_tree_id: str | None = None
    not_rankable: bool | None = None
    shown_message_ids: list[str] | None = None  # Grove's documented extension


class ReportEvent(Strict):
    type: Literal["report"]
    user_id: str | None = None
    report_type: str
    reason: str


class ScoreEvent(Strict):
    type: Literal["score"]
    user_id: str | None = None
    score: int = Field(ge=-1, le=1)


Event = Annotated[EmojiEvent | RatingEvent | RankingEvent | ReportEvent | ScoreEvent, Field(discriminator="type")]


class DetoxifyRating(Strict):
    toxicity: float
    severe_toxicity: float
    obscene: float
    identity_attack: float
    insult: float
    threat: float
    sexual_explicit: float


class ExportMessageNode(Strict):
    message_id: str
    parent_id: str | None = None
    user_id: str | None = None
    created_date: datetime | None = None
    text: str
    role: Literal["prompter", "assistant"]
    lang: str | None = None
    review_count: int | None = None
    review_result: bool | None = None
    deleted: bool | None = None
    rank: int | None = None
    synthetic: bool | None = None
    model_name: str | None = None
    emojis: dict[str, int] | None = None
    replies: list[ExportMessageNode] | None = None
    labels: dict[str, LabelAvgValue] | None = None
    events: dict[str, list[Event]] | None = None
    detoxify: DetoxifyRating | None = None
    message_tree_id: str | None = None
    tree_state: str | None = None


class ExportMessageTree(Strict):
    message_tree_id: str
    tree_state: str | None = None
    prompt: ExportMessageNode | None = None
    origin: str | None = None


# The reference's field lists (§8.1), written out: the models above must have exactly these.
REFERENCE_NODE_FIELDS = (
    "message_id parent_id user_id created_date text role lang review_count review_result deleted rank synthetic "
    "model_name emojis replies labels events detoxify message_tree_id tree_state"
).split()
REFERENCE_TREE_FIELDS = ["message_tree_id", "tree_state", "prompt", "origin"]
REFERENCE_EVENT_FIELDS = {
    "emoji": ["type", "user_id", "emoji"],
    "rating": ["type", "user_id", "rating"],
    "ranking": [
        "type",
        "user_id",
        "ranking",
        "ranked_message_ids",
        "ranking_parent_id",
        "message_tree_id",
        "not_rankable",
    ],
    "report": ["type", "user_id", "report_type", "reason"],
    "score": ["type", "user_id", "score"],
}
GROVE_EVENT_EXTENSIONS = {"ranking": ["shown_message_ids"]}
DETOXIFY_FIELDS = "toxicity severe_toxicity obscene identity_attack insult threat sexual_explicit".split()


def in_oasst_order(obj: Any, fields: list[str]) -> bool:
    keys = [k for k in obj if k in fields]
    return keys == [f for f in fields if f in obj]


def check_form(line: dict[str, Any]) -> None:
    """What pydantic does not see: no null fields (OA writes with exclude_none) and OA's field order."""

    def visit(obj: Any, fields: list[str] | None) -> None:
        if isinstance(obj, dict):
            assert None not in obj.values(), f"null field in {obj}"
            if fields is not None:
                assert in_oasst_order(obj, fields), list(obj)
            for key, value in obj.items():
                if key in ("prompt",) or key == "replies":
                    for node in value if isinstance(value, list) else [value]:
                        visit(node, REFERENCE_NODE_FIELDS)
                elif key == "events":
                    for items in value.values():
                        for event in items:
                            order = REFERENCE_EVENT_FIELDS.get(event["type"], []) + GROVE_EVENT_EXTENSIONS.get(
                                event["type"], []
                            )
                            visit(event, order)
                else:
                    visit(value, None)
        elif isinstance(obj, list):
            for item in obj:
                visit(item, None)

    visit(
        line, REFERENCE_TREE_FIELDS if "message_tree_id" in line and "message_id" not in line else REFERENCE_NODE_FIELDS
    )


def validate_line(text: str) -> dict[str, Any]:
    """One exported line, checked strictly: a tree line or a message line (without replies)."""
    obj = json.loads(text)
    assert text == json.dumps(obj), "written as OA writes: ASCII, ', ' and ': ' separators"
    if "message_id" in obj:
        ExportMessageNode.model_validate_json(text)
        assert "replies" not in obj
    else:
        ExportMessageTree.model_validate_json(text)
    check_form(obj)
    return obj


async def member_ids(db: Database) -> dict[int, str | None]:
    """Internal member id -> the user_id exports give that member."""
    async with db.read() as repo:
        seed = await repo.exports.member_seed()
        members = await repo.exports.member_list()
    return {user_id: public_member_id(seed, user_id, auth, name) for user_id, auth, name in members}
