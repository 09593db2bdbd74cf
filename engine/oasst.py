"""The oasst dataset format (reference §8): field order, the reading models, member ids and the anonymiser.

Written from the reference's field list and OA's published export models: a tree line is an `ExportMessageTree`,
a message line an `ExportMessageNode`. OA writes them with pydantic, leaving out null fields, in model field
order, through `json.dump` (ASCII, `", "` and `": "` separators); Grove writes the same form.

The reading models here are lenient on purpose: unknown fields are allowed (the importer keeps them), so a file
from a newer exporter still imports. The strict form of what Grove writes is pinned by the tests
(`tests/oasst_format.py`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.labels import LABELS

# Field order of OA's models; the export writes known fields in this order and unknown (kept) ones after them.
NODE_FIELDS = (
    "message_id",
    "parent_id",
    "user_id",
    "created_date",
    "text",
    "role",
    "lang",
    "review_count",
    "review_result",
    "deleted",
    "rank",
    "synthetic",
    "model_name",
    "emojis",
    "replies",
    "labels",
    "events",
    "detoxify",
    "message_tree_id",
    "tree_state",
)
TREE_FIELDS = ("message_tree_id", "tree_state", "prompt", "origin")
# What a message's own columns give; `replies`, `labels` and `events` depend on the export's options.
COLUMN_FIELDS = frozenset(NODE_FIELDS) - {"replies", "labels", "events", "detoxify", "message_tree_id", "tree_state"}
OPTION_FIELDS = frozenset({"replies", "labels", "events"})

_LABEL_ORDER = {name: i for i, name in enumerate(LABELS)}  # OA's TextLabel order

IMPORTED_AUTH = "import"  # users.auth_method of authors known only from an imported file (username: their id)
_MEMBER_NAMESPACE = uuid.UUID("5b0e8f7a-3c1d-5e2a-9f4b-6d7c8e9a0b1c")  # fixed: ids stay the same across releases


# ------------------------------------------------------------------ reading models (lenient: unknown fields allowed)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class LabelValue(_Lenient):
    value: float | None = None
    count: int


class ExportMessageEvent(_Lenient):
    """Any event: the base of OA's event models; a type Grove does not know is kept as it is."""

    type: str
    user_id: str | None = None


class EmojiEvent(ExportMessageEvent):
    type: Literal["emoji"] = "emoji"
    emoji: str


class RatingEvent(ExportMessageEvent):
    type: Literal["rating"] = "rating"
    rating: str


class RankingEvent(ExportMessageEvent):
    """One ballot on a sibling set, attached to the parent. OA's model requires `ranking`; Grove always writes it,
    as [] for an "all bad" ballot given without an order. Files of older Grove versions that left it out read."""

    type: Literal["ranking"] = "ranking"
    ranking: list[int] = Field(default_factory=list)
    ranked_message_ids: list[str]
    ranking_parent_id: str | None = None
    message_tree_id: str | None = None
    not_rankable: bool | None = None
    shown_message_ids: list[str] | None = None  # Grove: the order the ranker saw, which `ranking` indexes


class ReportEvent(ExportMessageEvent):
    type: Literal["report"] = "report"
    report_type: str
    reason: str


class ScoreEvent(ExportMessageEvent):
    type: Literal["score"] = "score"
    score: int = Field(ge=-1, le=1)


EVENT_MODELS: dict[str, type[ExportMessageEvent]] = {
    "emoji": EmojiEvent,
    "rating": RatingEvent,
    "ranking": RankingEvent,
    "report": ReportEvent,
    "score": ScoreEvent,
}


class ExportMessageNode(_Lenient):
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
    labels: dict[str, LabelValue] | None = None
    events: dict[str, list[dict[str, Any]]] | None = None
    detoxify: dict[str, float] | None = None
    message_tree_id: str | None = None
    tree_state: str | None = None

    @field_validator("events")
    @classmethod
    def _known_events_are_well_formed(cls, events: dict[str, list[dict[str, Any]]] | None) -> Any:
        """Each event is checked against the model of its `type` (an unknown type against the base)."""
        for kind, items in (events or {}).items():
            for i, item in enumerate(items):
                model = EVENT_MODELS.get(str(item.get("type")), ExportMessageEvent)
                try:
                    model.model_validate(item)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first.get("loc", ()))
                    raise ValueError(f"{kind}[{i}].{where}: {first.get('msg', 'invalid')}") from None
        return events


class ExportMessageTree(_Lenient):
    message_tree_id: str
    tree_state: str | None = None
    prompt: ExportMessageNode | None = None
    origin: str | None = None


# ------------------------------------------------------------------ values as OA writes them


def micros(timestamp: float) -> int:
    """Seconds since the epoch as whole microseconds, rounded as the export's SQL rounds them
    (`storage.exports._DATE` writes `date_text(micros(t))`)."""
    return int(timestamp * 1_000_000 + 0.5)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def date_text(us: int) -> str:
    """A creation time (µs since the epoch) as OA writes it: ISO 8601 in UTC with its offset, microseconds
    when there are any."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def timestamp_of(date: datetime) -> float:
    """Seconds since the epoch; a date without a zone is read as UTC (OA's dates are UTC)."""
    return (date if date.tzinfo is not None else date.replace(tzinfo=UTC)).timestamp()


def shown_review_result(result: int | bool | None, review_count: int) -> bool | None:
    """A verdict is shown once it is an acceptance or more than two reviews were made (reference §8.2)."""
    if result is None or not (result or review_count > 2):
        return None
    return bool(result)


def column_node(
    message_id: str,
    parent_id: str | None,
    user_id: str | None,
    created_date: str,
    text: str,
    role: str,
    lang: str,
    review_count: int,
    review_result: int | bool | None,
    deleted: bool | int,
    rank: int | None,
    synthetic: bool | int,
    model_name: str | None,
    emojis: dict[str, int] | None,
) -> dict[str, Any]:
    """What a message's own columns give, in OA's field order, null fields left out (reference §8.2)."""
    node: dict[str, Any] = {"message_id": message_id}
    if parent_id is not None:
        node["parent_id"] = parent_id
    if user_id is not None:
        node["user_id"] = user_id
    node["created_date"] = created_date
    node["text"] = text
    node["role"] = role
    node["lang"] = lang
    node["review_count"] = review_count
    shown = shown_review_result(review_result, review_count)
    if shown is not None:
        node["review_result"] = shown
    node["deleted"] = bool(deleted)
    if rank is not None:
        node["rank"] = rank
    node["synthetic"] = bool(synthetic)
    if model_name is not None:
        node["model_name"] = model_name
    if emojis:
        node["emojis"] = emojis
    return node


def kept_fields(
    raw: dict[str, Any], written: dict[str, Any], skip: frozenset[str], canonical: Iterable[str]
) -> dict[str, Any]:
    """What an export must write back to reproduce `raw` (a file's tree or node) where Grove would write
    `written`: the file's value of each field Grove writes otherwise or not at all ("kept"), the fields Grove
    writes that the file did not have ("absent"), Grove's own values of both at import ("base": a field
    changed here since shows its new value), and the file's key order when it is not OA's ("order")."""
    kept = {k: v for k, v in raw.items() if k not in skip and (k not in written or not _same(v, written[k]))}
    absent = [k for k in written if k not in raw and k not in skip]
    out: dict[str, Any] = {}
    if kept:
        out["kept"] = kept
    if absent:
        out["absent"] = absent
    base = {k: written[k] for k in (*kept, *absent) if k in written}
    if base:
        out["base"] = base
    keys = list(raw)
    if keys != list(ordered(dict.fromkeys(keys), None, canonical)):
        out["order"] = keys
    return out


def _same(a: Any, b: Any) -> bool:
    """Written the same: of one type (1 is not 1.0 nor true) and, for objects and lists, in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        return json.dumps(a) == json.dumps(b)
    return bool(a == b)


def written_back(node: dict[str, Any], imported: dict[str, Any]) -> dict[str, Any]:
    """`node` (a tree or message as Grove writes it) with what its file gave written back (see `kept_fields`),
    field by field, where Grove's own value is still the one it had at import; a field changed here since (a new
    review, a rank, an emoji, a state) shows its new value."""
    kept: dict[str, Any] = imported.get("kept") or {}
    absent: list[str] = imported.get("absent") or []
    if not kept and not absent:
        return node
    base: dict[str, Any] = imported.get("base") or {}

    def unchanged(key: str) -> bool:
        return (key in node and node[key] == base[key]) if key in base else key not in node

    for key in absent:
        if key not in OPTION_FIELDS and unchanged(key):
            node.pop(key, None)
    for key, value in kept.items():
        if key not in OPTION_FIELDS and unchanged(key):
            node[key] = value
    return node


def label_means(rows: list[dict[str, float]]) -> dict[str, Any]:
    """name -> {value: mean, count} over label rows (reference §8.2), in OA's label order, unknown names last."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
    names = sorted(sums, key=lambda n: (_LABEL_ORDER.get(n, len(_LABEL_ORDER)), n))
    return {name: {"value": sums[name] / counts[name], "count": counts[name]} for name in names}


def ordered(node: dict[str, Any], order: list[str] | None, canonical: Iterable[str]) -> dict[str, Any]:
    """`node` in the file's key order when it has exactly those keys, else known fields first in OA's order and
    the others after them (in the file's order when known)."""
    if order is not None and len(order) == len(node) and set(order) == set(node):
        return {k: node[k] for k in order}
    out = {k: node[k] for k in canonical if k in node}
    if len(out) != len(node):
        rest = [k for k in (order or ()) if k in node and k not in out]
        rest += [k for k in node if k not in out and k not in rest]
        out.update((k, node[k]) for k in rest)
    return out


# ------------------------------------------------------------------ member ids


def member_uuid(seed: str, user_id: int) -> str:
    """A member's id in the dataset: a UUID of a fixed namespace, the database's member seed (when its first
    member was created: `storage.imports.MemberIds.member_seed`) and the member's internal id. The same member
    always gets the same id (in copies and backups too, and for the same seeded simulation); another Grove's
    member 5 gets another id than this one's, so files of several Groves can be imported into one; and the id
    says no more about who it is than the internal id did (not their Discord account)."""
    return str(uuid.uuid5(_MEMBER_NAMESPACE, f"{seed}:{user_id}"))


def public_member_id(seed: str, user_id: int, auth_method: str, username: str) -> str | None:
    """The exported `user_id`: an imported author's own id as the file gave it (None: the file had none), else
    the member's UUID."""
    if auth_method == IMPORTED_AUTH:
        return username or None
    return member_uuid(seed, user_id)


class Ids:
    """Ids as written: as they are, or salted sha256 hashes that stay consistent in the file (reference §8.2).

    Tree ids are their prompt's id, so both hash in the message collection and stay equal, events included.
    """

    def __init__(self, seed: str | None) -> None:
        self.seed = seed
        self._cache: dict[str, str] = {}

    def _hash(self, key: str) -> str:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 200_000:
                self._cache.clear()
            found = self._cache[key] = hashlib.sha256(f"{key}{self.seed}".encode()).hexdigest()
        return found

    def message(self, message_id: str) -> str:
        return message_id if self.seed is None else self._hash(f"message:{message_id}")

    def user(self, user_id: str) -> str:
        return user_id if self.seed is None else self._hash(f"user:{user_id}")

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A copy of an event with its ids hashed (the event itself when ids are kept)."""
        if self.seed is None:
            return event
        out = dict(event)
        if isinstance(out.get("user_id"), str):
            out["user_id"] = self.user(out["user_id"])
        for key in ("ranking_parent_id", "message_tree_id"):
            if isinstance(out.get(key), str):
                out[key] = self.message(out[key])
        for key in ("ranked_message_ids", "shown_message_ids"):
            if isinstance(out.get(key), list):
                out[key] = [self.message(i) if isinstance(i, str) else i for i in out[key]]
        return out

    def node_fields(self, node: dict[str, Any]) -> None:
        """Hash the id fields of a node written from a file's values (in place)."""
        if self.seed is None:
            return
        for key in ("message_id", "parent_id", "message_tree_id"):
            if isinstance(node.get(key), str):
                node[key] = self.message(node[key])
        if isinstance(node.get("user_id"), str):
            node["user_id"] = self.user(node["user_id"])
