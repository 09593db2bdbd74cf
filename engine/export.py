"""The dataset out: oasst JSON Lines (reference §8) in OA's own form, streamed tree page by tree page.

Tree mode writes one `ExportMessageTree` per line; message mode (by member, or with a filter that makes trees
incomplete) writes one `ExportMessageNode` per line without replies, then the loose messages an import kept.
Whatever an imported file carried beyond Grove's columns is written back as it came (`engine.importer`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

try:
    import orjson as _orjson
except ImportError:  # optional: `pip install -e ".[fast]"`
    _orjson = None  # type: ignore[assignment]

from engine.oasst import (
    IMPORTED_AUTH,
    NODE_FIELDS,
    TREE_FIELDS,
    EmojiEvent,
    ExportMessageEvent,
    ExportMessageNode,
    ExportMessageTree,
    Ids,
    LabelValue,
    RankingEvent,
    column_node,
    label_means,
    member_uuid,
    ordered,
    public_member_id,
    written_back,
)
from engine.sink import Sink
from engine.types import TreeState
from storage.database import MEMORY
from storage.store import Store, open_store

__all__ = [
    "EmojiEvent",
    "ExportMessageEvent",
    "ExportMessageNode",
    "ExportMessageTree",
    "ExportOptions",
    "ExportResult",
    "LabelValue",
    "RankingEvent",
    "export",
    "find_member",
]

PAGE = 100  # trees (or messages) per read; memory stays flat whatever the database's size
EXPORT_CACHE_MIB = 8  # the page cache of an export's own connection: it reads each page once
_YIELD_EVERY = 5  # trees written between two chances for the next page's read (and a bot's other work) to go on
_PAUSE = 0.00003  # seconds; see _pause
_NO_LABELS: dict[str, Any] = {}


def _loads(text: str) -> Any:
    """A page of SQLite's JSON: read by orjson when installed (the [fast] extra), else by the standard library,
    which also reads what orjson refuses (a lone surrogate escaped in a text)."""
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _pause() -> None:
    """Leave Python's lock to SQLite's thread for a moment. Without this, a thread as busy as this one hands it
    over only when it waits on I/O, and takes it back before the other thread wakes up: the next page's read
    would make no progress while this page is written."""
    time.sleep(_PAUSE)


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
    community: int | None = None  # None: every community (the operator's export)
    jobs: int = 1  # worker processes, each exporting a range of tree ids (`_export_in_parallel`)

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

    def full(self, options: ExportOptions) -> bool:
        if options.limit is None:
            return False
        return (self.messages if options.message_mode else self.trees) >= options.limit


# ------------------------------------------------------------------ export


async def export(
    db: Store,
    out: Path,
    options: ExportOptions = ExportOptions(),
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the selected trees or messages to `out` (gzip when the name ends in .gz)."""
    result = ExportResult(path=out, mode="messages" if options.message_mode else "trees")
    async with db.read() as repo:
        seed = await repo.exports.member_seed()
    w = _Writer(seed, options)
    with Sink(out) as sink:
        if options.user is not None:
            await _export_user(db, sink, w, result)
        elif options.jobs > 1 and options.limit is None and db.path != MEMORY:
            await _export_in_parallel(db, sink, result, options)
        else:
            await _export_trees(db, sink, w, result, progress)
        if options.message_mode:
            await _export_loose(db, sink, w, result)
    return result


def export_file(database: str | os.PathLike[str], out: Path, options: ExportOptions = ExportOptions()) -> ExportResult:
    """`export` on a connection of its own, in the calling thread (a worker thread: the bot's event loop and its
    connection go on serving members meanwhile)."""

    async def run() -> ExportResult:
        db = await open_store(database, migrate=False, cache_mib=EXPORT_CACHE_MIB)
        try:
            return await export(db, out, options)
        finally:
            await db.close()

    return asyncio.run(run())


async def find_member(db: Store, ident: str) -> int | None:
    """A member by front-end username (e.g. a Discord id), internal id, or the id exports give them."""
    async with db.read() as repo:
        user = await repo.user_by_id_or_name(ident)
        if user is not None:
            return user.id
        seed = await repo.exports.member_seed()
        members = await repo.exports.member_list()
    for user_id, auth_method, _ in members:
        if auth_method != IMPORTED_AUTH and member_uuid(seed, user_id) == ident:
            return int(user_id)
    return None


@dataclass
class _Page:
    trees: list[list[Any]]  # [id, state, imported]
    messages: str  # JSON arrays, see `storage.exports`
    labels: str
    emojis: str
    rankings: str


async def _read_page(db: Store, options: ExportOptions, after: str, upto: str | None = None) -> _Page | None:
    """The next page of trees after `after` (up to `upto`) with all the export needs of them: one statement."""
    async with db.read() as repo:
        trees, messages, labels, emojis, rankings = await repo.exports.page(
            states=options.states,
            lang=options.lang,
            after=after,
            upto=upto,
            limit=PAGE,
            labels=options.labels,
            events=options.events,
            community=options.community,
        )
    page = _loads(trees)
    return _Page(page, messages, labels, emojis, rankings) if page else None


async def _export_in_parallel(db: Store, sink: Sink, result: ExportResult, options: ExportOptions) -> None:
    """Up to `options.jobs` worker processes each export a range of tree ids (equal numbers of trees) to a part file of
    their own, with their own connection; the parts are then written out in id order, so the file holds exactly
    what one process would have written."""
    bounds = await db.run(
        lambda repo: repo.exports.tree_bounds(
            options.jobs, states=options.states, lang=options.lang, community=options.community
        ),
        write=False,
    )
    ranges = list(zip(["", *bounds], [*bounds, None], strict=True))
    single = dataclasses.replace(options, jobs=1)
    loop = asyncio.get_running_loop()
    with (
        tempfile.TemporaryDirectory(dir=sink.folder, prefix=".grove-export-parts-") as tmp,
        ProcessPoolExecutor(len(ranges), mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        suffix = ".jsonl.gz" if sink.gzip else ".jsonl"  # each worker compresses its own part
        parts = [Path(tmp) / f"part-{i}{suffix}" for i in range(len(ranges))]
        done = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _export_part, db.path, str(part), single, after, upto)
                for part, (after, upto) in zip(parts, ranges, strict=True)
            )
        )
        for part, (trees, messages, skipped, warnings) in zip(parts, done, strict=True):
            sink.append(part)
            result.trees += trees
            result.messages += messages
            result.skipped_trees += skipped
            result.warnings += warnings


def _export_part(
    database: str, part: str, options: ExportOptions, after: str, upto: str | None
) -> tuple[int, int, int, list[str]]:
    """A worker process's share of `_export_in_parallel`: the trees after `after`, up to `upto` (the last range: to
    the end)."""

    async def run() -> tuple[int, int, int, list[str]]:
        db = await open_store(database, migrate=False, cache_mib=EXPORT_CACHE_MIB)
        try:
            seed = await db.run(lambda repo: repo.exports.member_seed(), write=False)
            result = ExportResult(path=Path(part))
            with Sink(Path(part)) as sink:
                await _export_trees(db, sink, _Writer(seed, options), result, None, start=after, stop=upto)
            return result.trees, result.messages, result.skipped_trees, result.warnings
        finally:
            await db.close()

    return asyncio.run(run())


async def _export_trees(
    db: Store,
    sink: Sink,
    w: _Writer,
    result: ExportResult,
    progress: Callable[[int], None] | None,
    *,
    start: str = "",
    stop: str | None = None,
) -> None:
    """Page after page; the next page is read while this one is written (the loop yields now and then, so the
    read's statements go on in SQLite's thread meanwhile)."""
    options = w.options
    seen = 0
    ahead: asyncio.Future[_Page | None] = asyncio.ensure_future(_read_page(db, options, start, stop))
    try:
        while not result.full(options):
            page = await ahead
            if page is None:
                return
            messages = _loads(page.messages)
            emojis, rankings = _loads(page.emojis), _loads(page.rankings)
            await w.meet(db, [m[2] for m in messages] + [e[1]["user_id"] for e in emojis + rankings])
            ahead = asyncio.ensure_future(_read_page(db, options, page.trees[-1][0], stop))
            w.load_page(_loads(page.labels), emojis, rankings)
            by_tree: dict[str, list[list[Any]]] = {}
            for row in messages:
                by_tree.setdefault(row[15], []).append(row)
            lines: list[str] = []
            for i, (tree_id, state, imported) in enumerate(page.trees):
                if result.full(options):
                    break
                if i % _YIELD_EVERY == 0:  # the next page's read goes on, and so does a bot running this
                    if not ahead.done():
                        _pause()
                    await asyncio.sleep(0)
                selected = w.select(by_tree.get(tree_id, ()))
                if selected is None:
                    continue
                if options.message_mode:
                    for row in selected:
                        if result.full(options):
                            break
                        lines.append(w.line(w.node(row, replies=False)))
                        result.messages += 1
                    continue
                tree = w.tree(tree_id, state, imported, selected)
                if tree is None:
                    result.skipped_trees += 1
                    continue
                lines.append(w.line(tree[0]))
                result.trees += 1
                result.messages += tree[1]
            sink.write("".join(lines))
            seen += len(page.trees)
            if progress:
                progress(seen)
    finally:
        await ahead  # a read never stops half way: its transaction ends before the export returns


async def _export_user(db: Store, sink: Sink, w: _Writer, result: ExportResult) -> None:
    options = w.options
    assert options.user is not None
    after = ""
    while not result.full(options):
        async with db.read() as repo:
            q = repo.exports
            rows = _loads(await q.user_messages(options.user, after, PAGE, options.community))
            if not rows:
                return
            after = rows[-1][0]
            rows = [
                m
                for m in rows
                if (options.states is None or m[16] in options.states)
                and (options.lang is None or m[6] == options.lang)
                and w.synthetic_tree_ok(bool(m[17]))
            ]
            wanted = [m[0] for m in rows]
            labels = _joined(await q.labels(wanted)) if options.labels else []
            emojis = _joined(await q.emoji_events(wanted)) if options.events else []
            rankings = _joined(await q.ranking_events(wanted)) if options.events else []
        await w.meet(db, [options.user] + [e[1]["user_id"] for e in emojis + rankings])
        rows = [m for m in rows if w.keep(m)]
        w.load_page(labels, emojis, rankings)
        lines = []
        for m in rows:
            if result.full(options):
                break
            lines.append(w.line(w.node(m, replies=False)))
            result.messages += 1
        sink.write("".join(lines))


def _joined(arrays: list[str]) -> list[list[Any]]:
    return [item for text in arrays for item in _loads(text)]


async def _export_loose(db: Store, sink: Sink, w: _Writer, result: ExportResult) -> None:
    """Messages imported without their tree: written back as they came, if the message filters keep them."""
    options = w.options
    after = 0
    while not result.full(options):
        async with db.read() as repo:
            rows = await repo.exports.loose_messages(
                user_id=options.user, after=after, limit=PAGE, community=options.community
            )
        if not rows:
            return
        after = rows[-1][0]
        lines = []
        for _, node, lang, tree_state, deleted, review_result, synthetic, excluded in rows:
            if result.full(options):
                break
            if excluded or not w.message_ok(bool(deleted), review_result):
                continue
            if (options.lang is not None and lang not in (None, options.lang)) or (
                tree_state is not None and options.states is not None and tree_state not in options.states
            ):
                continue
            if options.synthetic == "exclude" and synthetic:  # no tree to look at: the message itself decides
                continue
            lines.append(w.line(w.loose(json.loads(node))))
            result.messages += 1
        sink.write("".join(lines))


# ------------------------------------------------------------------ one page's nodes


class _Writer:
    """Turns rows into oasst nodes and lines under one set of options; holds the page's labels and events."""

    def __init__(self, seed: str, options: ExportOptions) -> None:
        self.seed = seed  # the database's member seed
        self.options = options
        self.ids = Ids(options.anonymize_seed)
        self._members: dict[int, str | None] = {}  # member id -> the user_id exports give them
        self._excluded: dict[int, bool] = {}  # member id -> whether they left the dataset
        self.labels: dict[str, dict[str, Any]] = {}
        self._means: dict[str, dict[str, Any]] = {}  # label rows (as text) -> their means: many messages share them
        self.emojis: dict[str, list[dict[str, Any]]] = {}
        self.rankings: dict[str, list[dict[str, Any]]] = {}
        self._tree_mode_replies = not options.message_mode and not options.prompts_only

    # filters (reference §8.4) and the members' own choice to stay out of the dataset

    def message_ok(self, deleted: bool, result: int | None) -> bool:
        o = self.options
        if (o.deleted == "exclude" and deleted) or (o.deleted == "only" and not deleted):
            return False
        if o.spam == "exclude" and result != 1:
            return False
        return not (o.spam == "only" and result != 0)

    def keep(self, m: list[Any]) -> bool:
        return not self._excluded[m[2]] and self.message_ok(bool(m[9]), m[8])

    def synthetic_tree_ok(self, has_synthetic: bool) -> bool:
        o = self.options
        return not ((o.synthetic == "exclude" and has_synthetic) or (o.synthetic == "only" and not has_synthetic))

    def select(self, rows: Iterable[list[Any]]) -> list[list[Any]] | None:
        """The messages of one tree to write, or None when the synthetic filter drops the whole tree."""
        rows = list(rows)
        if not self.synthetic_tree_ok(any(m[11] for m in rows)):
            return None
        return [m for m in rows if self.keep(m)]

    # members

    async def meet(self, db: Store, user_ids: list[int]) -> None:
        """Learn the members named by a page that this export has not met yet: their exported id, and whether
        they left the dataset (as of the first page that names them)."""
        new = sorted(set(user_ids) - self._members.keys())
        if not new:
            return
        async with db.read() as repo:
            arrays = await repo.exports.members(new)
        for user_id, auth_method, username, excluded in _joined(arrays):
            self._members[user_id] = public_member_id(self.seed, user_id, auth_method, username)
            self._excluded[user_id] = bool(excluded)

    # a page's labels and events, by message

    def load_page(self, labels: list[list[Any]], emojis: list[list[Any]], rankings: list[list[Any]]) -> None:
        """A page's label rows and events, by message (see `storage.exports` for their fields)."""
        self.labels, self.emojis, self.rankings = {}, {}, {}
        means = self._means
        if len(means) > 10_000:
            means.clear()
        for message_id, rows in labels:
            found = means.get(rows)
            if found is None:
                found = means[rows] = label_means(json.loads(rows))
            self.labels[message_id] = found
        # Events come as OA writes them (an "all bad" ballot without an order has `ranking` [] and
        # `ranked_message_ids` [], `not_rankable` only when true), with the member's internal id to replace.
        members = self._members
        for by_message, items in ((self.emojis, emojis), (self.rankings, rankings)):
            for message_id, event in items:
                who = members[event["user_id"]]
                if who is None:
                    del event["user_id"]
                else:
                    event["user_id"] = who
                by_message.setdefault(message_id, []).append(event)

    # nodes

    def node(self, m: list[Any], *, replies: bool) -> dict[str, Any]:
        """The node of message `m` (see `storage.exports` for its fields)."""
        mid, imported = m[0], m[14]
        node = column_node(
            mid,
            m[1],
            self._members[m[2]],
            m[3],
            m[4],
            m[5],
            m[6],
            m[7],
            m[8],
            m[9],
            m[10],
            m[11],
            m[12],
            m[13] or None,
        )
        if imported is not None:
            node = written_back(node, imported)
        if replies:
            node["replies"] = []
        o = self.options
        if o.labels:
            node["labels"] = self._labels(mid, imported)
        if o.events:
            events = self._events(mid, imported)
            if events:
                node["events"] = events
        if imported is not None:
            node = ordered(node, imported.get("order"), NODE_FIELDS)
        if self.ids.seed is not None:
            self.ids.node_fields(node)
        return node

    def _labels(self, message_id: str, imported: dict[str, Any] | None) -> dict[str, Any]:
        """Label means and counts over every label row of the message, in OA's label order; an imported
        message's means and counts as the file gave them, joined by any labels given here since."""
        here = self.labels.get(message_id, _NO_LABELS)  # shared by messages with the same rows: never changed
        if imported is None or not isinstance(imported.get("labels"), dict):
            return here
        out: dict[str, Any] = {}
        rest = dict(here)
        for name, given in imported["labels"].items():
            mine = rest.pop(name, None)
            if mine is not None and isinstance(given, dict) and isinstance(given.get("value"), (int, float)):
                n = given.get("count", 0) + mine["count"]
                total = given["value"] * given.get("count", 0) + mine["value"] * mine["count"]
                given = {**given, "value": total / n, "count": n}
            out[name] = given
        out.update(rest)
        return out

    def _events(self, message_id: str, imported: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
        """The events an imported message came with (as they came), then the emojis and ballots given here."""
        ids = self.ids
        out: dict[str, list[dict[str, Any]]] = {}
        emojis, ballots = self.emojis.get(message_id), self.rankings.get(message_id)
        if imported is None and ids.seed is None:  # the common case, without copies
            if emojis:
                out["emoji"] = emojis
            if ballots:
                out["ranking"] = ballots
            return out
        if imported is not None and isinstance(imported.get("events"), dict):
            for kind, items in imported["events"].items():
                out[kind] = [ids.event(e) for e in items]
        for kind, items in (("emoji", emojis), ("ranking", ballots)):
            if items:
                out.setdefault(kind, []).extend(ids.event(e) for e in items)
        return out

    def loose(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A loose message's line as it came, with labels and events as the options ask."""
        o = self.options
        node = {k: v for k, v in raw.items() if k not in ("labels", "events")}
        if o.labels:
            node["labels"] = raw["labels"] if isinstance(raw.get("labels"), dict) else {}
        if o.events and raw.get("events"):
            node["events"] = {kind: [self.ids.event(e) for e in items] for kind, items in raw["events"].items()}
        node = ordered(node, list(raw), NODE_FIELDS)
        self.ids.node_fields(node)
        return node

    def tree(
        self, tree_id: str, state: str, imported: dict[str, Any] | None, selected: list[list[Any]]
    ) -> tuple[dict[str, Any], int] | None:
        """One tree line and the number of messages in it, or None when the filters removed its prompt."""
        root = next((m for m in selected if m[1] is None), None)
        if root is None:
            return None
        replies = self._tree_mode_replies
        nodes = {m[0]: self.node(m, replies=replies) for m in selected}
        written = 1
        if replies:
            positions = {m[0]: m[14].get("pos", _LAST) for m in selected if m[14] is not None}
            children: dict[str, list[list[Any]]] = {}
            for m in selected:
                if m[1] is not None and m[1] in nodes:
                    children.setdefault(m[1], []).append(m)
            stack = [root]
            while stack:
                m = stack.pop()
                kids = children.get(m[0])
                if not kids:
                    continue
                if len(kids) > 1:
                    kids.sort(key=lambda c: (c[10] is None, c[10] or 0, positions.get(c[0], _LAST)))
                nodes[m[0]]["replies"] = [nodes[c[0]] for c in kids]
                written += len(kids)
                stack.extend(kids)
        line: dict[str, Any] = {"message_tree_id": tree_id, "tree_state": state, "prompt": nodes[root[0]]}
        if imported is not None:
            line = ordered(written_back(line, imported), imported.get("order"), TREE_FIELDS)
        if self.ids.seed is not None and isinstance(line.get("message_tree_id"), str):
            line["message_tree_id"] = self.ids.message(line["message_tree_id"])
        return line, written

    @staticmethod
    def line(obj: dict[str, Any]) -> str:
        return _encode(obj) + "\n"


_LAST = 1 << 62
# As OA's json.dump writes (ASCII, ", " and ": " separators); nodes share label objects, never in a cycle.
_encode = json.JSONEncoder(check_circular=False).encode
