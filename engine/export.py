"""The dataset: oasst-format JSON Lines (reference §8), streamed tree page by tree page.

Tree mode writes one `ExportMessageTree` per line; message mode (by user, or with a filter that makes
trees incomplete) writes one `ExportMessageNode` per line without replies.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.types import TreeState
from storage.database import Database

PAGE = 200  # trees per read; memory stays flat whatever the database's size


# ------------------------------------------------------------------ the oasst schema (reference §8.1)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelValue(_Model):
    value: float | None = None
    count: int


class EmojiEvent(_Model):
    type: Literal["emoji"] = "emoji"
    user_id: str | None = None
    emoji: str


class RankingEvent(_Model):
    """One ballot on a sibling set, attached to the parent. OA's model requires `ranking`; Grove always writes
    it, as [] for an "all bad" ballot given without an order (`not_rankable` true, `ranked_message_ids` []).
    Files from Grove versions that left it out for such ballots still read, as []."""

    type: Literal["ranking"] = "ranking"
    user_id: str | None = None
    ranking: list[int] = Field(default_factory=list)
    ranked_message_ids: list[str]
    ranking_parent_id: str | None = None
    message_tree_id: str | None = None
    not_rankable: bool | None = None
    shown_message_ids: list[str] | None = None  # Grove: the order the ranker saw, which `ranking` indexes


class ExportMessageNode(_Model):
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
    events: dict[str, list[EmojiEvent | RankingEvent]] | None = None
    detoxify: dict[str, float] | None = None
    message_tree_id: str | None = None
    tree_state: str | None = None


class ExportMessageTree(_Model):
    message_tree_id: str
    tree_state: str | None = None
    prompt: ExportMessageNode | None = None
    origin: str | None = None


# ------------------------------------------------------------------ options and result


@dataclass(frozen=True)
class ExportOptions:
    states: tuple[str, ...] | None = (TreeState.READY_FOR_EXPORT.value,)  # None: every state
    lang: str | None = None
    deleted: Literal["exclude", "include", "only"] = "exclude"
    spam: Literal["exclude", "include", "only"] = "exclude"  # "exclude": accepted messages only
    synthetic: Literal["exclude", "include", "only"] = "exclude"
    user: int | None = None
    prompts_only: bool = False
    labels: bool = False
    events: bool = False
    limit: int | None = None  # trees (tree mode) or messages (message mode)
    anonymize_seed: str | None = None

    @property
    def message_mode(self) -> bool:
        return self.user is not None or "only" in (self.deleted, self.spam, self.synthetic)


@dataclass
class ExportResult:
    path: Path
    trees: int = 0
    messages: int = 0
    skipped_trees: int = 0  # trees whose prompt the filters removed
    mode: str = "trees"
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ export


async def export(
    db: Database,
    out: Path,
    options: ExportOptions = ExportOptions(),
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the selected trees or messages to `out` (gzip when the name ends in .gz)."""
    result = ExportResult(path=out, mode="messages" if options.message_mode else "trees")
    ids = _Ids(options.anonymize_seed)
    with _open(out) as f:
        if options.user is not None:
            await _export_user(db, f, options, ids, result)
        else:
            await _export_trees(db, f, options, ids, result, progress)
    return result


def _open(path: Path) -> io.TextIOBase:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8")
    return open(path, "w", encoding="utf-8")  # closed by the caller's with


async def _export_trees(
    db: Database,
    f: io.TextIOBase,
    options: ExportOptions,
    ids: _Ids,
    result: ExportResult,
    progress: Callable[[int], None] | None,
) -> None:
    after = ""
    seen = 0
    while True:
        async with db.read() as repo:
            page = await repo.exports.tree_page(states=options.states, lang=options.lang, after=after, limit=PAGE)
            if not page:
                return
            after = page[-1][0]
            messages = await repo.exports.messages([t for t, _ in page])
            by_tree: dict[str, list[dict[str, Any]]] = {}
            for m in messages:
                by_tree.setdefault(m["tree_id"], []).append(m)
            chosen = {t: _select(by_tree.get(t, []), options) for t, _ in page}
            wanted = [m["id"] for ms in chosen.values() if ms is not None for m in ms]
            labels = await repo.exports.labels(wanted) if options.labels else {}
            emojis = await repo.exports.emoji_events(wanted) if options.events else {}
            rankings = await repo.exports.ranking_events(wanted) if options.events else {}
        for tree_id, state in page:
            selected = chosen[tree_id]
            if selected is None:
                continue
            nodes = {m["id"]: _node(m, options, ids, labels, emojis, rankings) for m in selected}
            if options.message_mode:
                for m in selected:
                    if options.limit is not None and result.messages >= options.limit:
                        return
                    _write(f, nodes[m["id"]])
                    result.messages += 1
                continue
            if options.limit is not None and result.trees >= options.limit:
                return
            root = next((m for m in selected if m["parent_id"] is None), None)
            if root is None:
                result.skipped_trees += 1
                continue
            written = _assemble(selected, nodes, options)
            _write(f, {"message_tree_id": ids.message(tree_id), "tree_state": state, "prompt": nodes[root["id"]]})
            result.trees += 1
            result.messages += written
        seen += len(page)
        if progress:
            progress(seen)


async def _export_user(db: Database, f: io.TextIOBase, options: ExportOptions, ids: _Ids, result: ExportResult) -> None:
    after = ""
    while True:
        async with db.read() as repo:
            rows = await repo.exports.user_messages(options.user or 0, after, PAGE)
            if not rows:
                return
            after = rows[-1]["id"]
            rows = [
                m
                for m in rows
                if (options.states is None or m["tree_state"] in options.states)
                and (options.lang is None or m["lang"] == options.lang)
                and _keep(m, options)
            ]
            wanted = [m["id"] for m in rows]
            labels = await repo.exports.labels(wanted) if options.labels else {}
            emojis = await repo.exports.emoji_events(wanted) if options.events else {}
            rankings = await repo.exports.ranking_events(wanted) if options.events else {}
        for m in rows:
            if options.limit is not None and result.messages >= options.limit:
                return
            _write(f, _node(m, options, ids, labels, emojis, rankings))
            result.messages += 1


def _keep(m: dict[str, Any], options: ExportOptions) -> bool:
    """The per-message filters (reference §8.4) and the members' own choice to stay out of the dataset."""
    if m["author_excluded"]:
        return False
    deleted = bool(m["deleted"])
    if (options.deleted == "exclude" and deleted) or (options.deleted == "only" and not deleted):
        return False
    result = m["review_result"]
    if options.spam == "exclude" and result != 1:
        return False
    return not (options.spam == "only" and result != 0)


def _select(messages: list[dict[str, Any]], options: ExportOptions) -> list[dict[str, Any]] | None:
    """The messages of one tree to write, or None when the synthetic filter drops the whole tree."""
    has_synthetic = any(m["synthetic"] for m in messages)
    if (options.synthetic == "exclude" and has_synthetic) or (options.synthetic == "only" and not has_synthetic):
        return None
    return [m for m in messages if _keep(m, options)]


def _assemble(selected: list[dict[str, Any]], nodes: dict[str, dict[str, Any]], options: ExportOptions) -> int:
    """Nest replies under their parents, best rank first, unranked last; returns the messages reachable."""
    children: dict[str, list[dict[str, Any]]] = {}
    for m in selected:
        if m["parent_id"] is not None and m["parent_id"] in nodes:
            children.setdefault(m["parent_id"], []).append(m)
    reachable = 0
    stack = [next(m for m in selected if m["parent_id"] is None)]
    while stack:
        m = stack.pop()
        reachable += 1
        kids = sorted(children.get(m["id"], []), key=lambda c: (c["rank"] is None, c["rank"] or 0))
        if options.prompts_only:
            continue
        if kids:
            nodes[m["id"]]["replies"] = [nodes[c["id"]] for c in kids]
        stack.extend(kids)
    return 1 if options.prompts_only else reachable


def _node(
    m: dict[str, Any],
    options: ExportOptions,
    ids: _Ids,
    labels: dict[str, list[dict[str, float]]],
    emojis: dict[str, list[tuple[int, str]]],
    rankings: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    review_count = m["review_count"]
    result = m["review_result"]
    node: dict[str, Any] = {
        "message_id": ids.message(m["id"]),
        "parent_id": ids.message(m["parent_id"]) if m["parent_id"] else None,
        "user_id": ids.user(m["user_id"]),
        "created_date": datetime.fromtimestamp(m["created_at"], UTC).isoformat(),
        "text": m["text"],
        "role": m["role"],
        "lang": m["lang"],
        "review_count": review_count,
        # A verdict is shown once it exists or enough reviews were made (reference §8.2).
        "review_result": bool(result) if result is not None and (result or review_count > 2) else None,
        "deleted": bool(m["deleted"]),
        "rank": m["rank"],
        "synthetic": bool(m["synthetic"]),
        "model_name": m["model_name"],
        "emojis": json.loads(m["emojis"]) or None,
    }
    if options.labels and m["id"] in labels:
        node["labels"] = _label_means(labels[m["id"]]) or None
    if options.events:
        events: dict[str, list[dict[str, Any]]] = {}
        for user_id, emoji in emojis.get(m["id"], []):
            events.setdefault("emoji", []).append({"type": "emoji", "user_id": ids.user(user_id), "emoji": emoji})
        for r in rankings.get(m["id"], []):
            events.setdefault("ranking", []).append(_ranking_event(r, ids))
        node["events"] = events or None
    return node


def _ranking_event(r: dict[str, Any], ids: _Ids) -> dict[str, Any]:
    """A ballot as an oasst ranking event. An "all bad" ballot without an order has `ranking` [] and
    `ranked_message_ids` [] (both always present: OA's event model requires them) and `not_rankable` true; it
    counted toward the set's required rankings but not toward its consensus ranks."""
    order = json.loads(r["ranking"]) if r["ranking"] is not None else []
    return {
        "type": "ranking",
        "user_id": ids.user(r["user_id"]),
        "ranking": order,
        "ranked_message_ids": [ids.message(i) for i in json.loads(r["ranked_ids"])],
        "ranking_parent_id": ids.message(r["parent_id"]),
        "message_tree_id": ids.message(r["tree_id"]),
        "not_rankable": bool(r["not_rankable"]),
        "shown_message_ids": [ids.message(i) for i in json.loads(r["shown_ids"])],
    }


def _label_means(rows: Iterable[dict[str, float]]) -> dict[str, dict[str, Any]]:
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
    return {name: {"value": sums[name] / counts[name], "count": counts[name]} for name in sorted(sums)}


def _write(f: io.TextIOBase, obj: dict[str, Any]) -> None:
    f.write(json.dumps(_drop_nulls(obj), ensure_ascii=False))
    f.write("\n")


def _drop_nulls(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_nulls(v) for v in obj]
    return obj


class _Ids:
    """Identity, or salted sha256 ids that stay consistent everywhere in the file (reference §8.2)."""

    def __init__(self, seed: str | None) -> None:
        self.seed = seed
        self._cache: dict[tuple[str, str], str] = {}

    def _hash(self, collection: str, value: str) -> str:
        key = (collection, value)
        if key not in self._cache:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = hashlib.sha256(f"{collection}:{value}{self.seed}".encode()).hexdigest()
        return self._cache[key]

    def message(self, message_id: str) -> str:
        # Tree ids are their prompt's id, so both hash in the message collection and stay equal.
        return message_id if self.seed is None else self._hash("message", message_id)

    def user(self, user_id: int) -> str:
        return str(user_id) if self.seed is None else self._hash("user", str(user_id))
