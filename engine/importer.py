"""The dataset in: oasst JSON Lines (plain or gzip), trees and single messages, kept so that they export again
exactly as they came. Trees keep their ids, so importing a file twice adds nothing.

What a line carries goes into Grove's columns where Grove has one; everything else (fields Grove does not model,
values in another form than Grove writes them, missing fields, key order, sibling order, label means, events) is
kept beside it as JSON (`trees.imported`, `messages.imported`) and written back by the export. A line of a
one-message-per-line file is a loose message: kept whole, exported again in message mode.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine import policy
from engine.clock import Clock, SystemClock
from engine.config import EngineConfig
from engine.oasst import (
    IMPORTED_AUTH,
    NODE_FIELDS,
    OPTION_FIELDS,
    TREE_FIELDS,
    ExportMessageNode,
    ExportMessageTree,
    column_node,
    date_text,
    kept_fields,
    micros,
    timestamp_of,
)
from engine.types import DEFAULT_COMMUNITY, TreeState, is_active_state
from storage.imports import ImportWrites
from storage.store import Store

IMPORT_STATES = (TreeState.BACKLOG_RANKING, TreeState.READY_FOR_EXPORT)  # what `state=` may force
BATCH = 200  # trees per transaction (unless strict: then the whole file is one)
NO_AUTHOR = ""  # the username of the one member that stands for "the file names no author"
_STATES = {s.value: s for s in TreeState}


@dataclass
class ImportResult:
    trees: int = 0
    messages: int = 0  # messages of the imported trees
    loose: int = 0  # single messages imported without their tree
    already_present: int = 0  # trees and loose messages found in the database already
    by_state: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "line N: what is wrong"


class ImportFailed(Exception):
    """A strict import found bad lines and imported nothing."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        super().__init__(f"{len(result.errors)} bad line(s); nothing imported")


@dataclass
class _Node:
    model: ExportMessageNode
    raw: dict[str, Any]
    parent_id: str | None
    depth: int
    pos: int  # its place among its siblings in the file


@dataclass
class _Tree:
    line_no: int
    model: ExportMessageTree
    raw: dict[str, Any]
    nodes: list[_Node]  # parents before their replies


@dataclass
class _Loose:
    line_no: int
    model: ExportMessageNode
    raw: dict[str, Any]


_Line = _Tree | _Loose


async def import_trees(
    db: Store,
    path: Path,
    *,
    state: TreeState | None = None,
    strict: bool = False,
    config: EngineConfig | None = None,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    community: int = DEFAULT_COMMUNITY,
) -> ImportResult:
    """Import every line of `path`. A tree takes the state its line names (backlog_ranking when it names none).
    With `state` (backlog_ranking or ready_for_export) every tree whose rankable sibling sets all carry ranks or
    their required ballots goes to `state` instead, and the others to backlog_ranking, to be ranked here.
    Everything goes into `community` (the first one by default)."""
    if state is not None and state not in IMPORT_STATES:
        raise ValueError(f"imported trees go to {' or '.join(s.value for s in IMPORT_STATES)}, not {state}")
    importer = _Importer(db, path, state, config or EngineConfig(), (clock or SystemClock()).now(), community)
    result = importer.result
    if strict:  # read everything first; then one transaction, so it is all or nothing
        lines = list(_parse(path, result))
        if result.errors:
            raise ImportFailed(result)
        async with db.transaction() as repo:
            await importer.batch(repo.imports, lines)
            if result.errors:
                raise ImportFailed(result)  # rolls the transaction back
        return result
    batch: list[_Line] = []
    for line in _parse(path, result):
        batch.append(line)
        if len(batch) >= BATCH:
            async with db.transaction() as repo:
                await importer.batch(repo.imports, batch)
            batch.clear()
            if progress:
                progress(line.line_no)
    if batch:
        async with db.transaction() as repo:
            await importer.batch(repo.imports, batch)
    return result


# ------------------------------------------------------------------ reading


MAX_LINE = 16 * 2**20  # bytes of one line (one tree): a longer one is reported and skipped, never held whole
MAX_TEXT = 100_000  # characters of one message's text (oasst's longest are a few tens of thousands)


def _open(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rb")
    return open(path, "rb")


def _lines(f: io.BufferedIOBase) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of every line, or (number, None) for one longer than MAX_LINE, which is skipped in
    bounded pieces: memory stays flat whatever the file (a gzip bomb of one endless line included)."""
    line_no = 0
    while True:
        data = f.readline(MAX_LINE + 1)
        if not data:
            return
        line_no += 1
        if len(data) <= MAX_LINE or data.endswith(b"\n"):
            yield line_no, data
            continue
        while data and not data.endswith(b"\n"):  # the rest of the overlong line
            data = f.readline(MAX_LINE + 1)
        yield line_no, None


def _parse(path: Path, result: ImportResult) -> Iterator[_Line]:
    with _open(path) as f:
        for line_no, data in _lines(f):
            if data is None:
                result.errors.append(f"line {line_no}: longer than {MAX_LINE // 2**20} MB; skipped")
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                result.errors.append(
                    f"line {line_no}: not UTF-8 (byte 0x{data[exc.start]:02x} at column {exc.start + 1})"
                )
                continue
            if not text.strip():
                continue
            problem, line = _read_line(line_no, text)
            if problem is not None:
                result.errors.append(f"line {line_no}: {problem}")
            elif line is not None:
                yield line


def _read_line(line_no: int, text: str) -> tuple[str | None, _Line | None]:
    """The line read, or what is wrong with it."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg} at column {exc.colno})", None
    if not isinstance(raw, dict):
        return "not a JSON object", None
    try:
        if "message_id" in raw:
            loose = ExportMessageNode.model_validate(raw)
            if len(loose.text) > MAX_TEXT:
                return f"message {loose.message_id}: text longer than {MAX_TEXT:,} characters", None
            return None, _Loose(line_no, loose, _normalised(raw))
        if "message_tree_id" not in raw and "prompt" not in raw:
            return "neither a tree (message_tree_id) nor a message (message_id)", None
        tree = ExportMessageTree.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        return f"{where}: {first.get('msg', 'invalid')}", None
    if tree.prompt is None:
        return "the tree has no prompt", None
    if len(tree.prompt.text) > MAX_TEXT:
        return f"message {tree.prompt.message_id}: text longer than {MAX_TEXT:,} characters", None
    if tree.prompt.parent_id is not None or tree.prompt.role != "prompter":
        return "the prompt must be a prompter message without a parent", None
    nodes = [_Node(tree.prompt, _normalised(raw["prompt"]), None, 0, 0)]
    seen = {tree.prompt.message_id}
    for node in nodes:  # grows while it is walked: breadth first, parents before replies
        for pos, (reply, reply_raw) in enumerate(
            zip(node.model.replies or [], node.raw.get("replies") or [], strict=True)
        ):
            if reply.message_id in seen:
                return f"message {reply.message_id} appears twice in the tree", None
            if len(reply.text) > MAX_TEXT:
                return f"message {reply.message_id}: text longer than {MAX_TEXT:,} characters", None
            if reply.role == node.model.role:
                return f"message {reply.message_id}: a {reply.role} message answers a {reply.role} message", None
            seen.add(reply.message_id)
            nodes.append(_Node(reply, _normalised(reply_raw), node.model.message_id, node.depth + 1, pos))
    return None, _Tree(line_no, tree, raw, nodes)


def _normalised(raw: dict[str, Any]) -> dict[str, Any]:
    """A node as read; a ranking event without `ranking` (older Grove files) gets the [] OA's model requires."""
    events = raw.get("events")
    if not isinstance(events, dict) or not any(
        e.get("type") == "ranking" and "ranking" not in e for items in events.values() for e in items
    ):
        return raw
    fixed: dict[str, list[dict[str, Any]]] = {}
    for kind, items in events.items():
        fixed[kind] = []
        for e in items:
            if e.get("type") == "ranking" and "ranking" not in e:
                before = {k: v for k, v in e.items() if k in ("type", "user_id")}
                e = {**before, "ranking": [], **{k: v for k, v in e.items() if k not in before}}
            fixed[kind].append(e)
    return {**raw, "events": fixed}


# ------------------------------------------------------------------ writing


class _Importer:
    def __init__(
        self, db: Store, path: Path, state: TreeState | None, cfg: EngineConfig, now: float, community: int
    ) -> None:
        self.db = db
        self.community = community
        self.origin = path.name
        self.state = state
        self.cfg = cfg
        self.now = now
        self.result = ImportResult()
        self.roles = tuple(str(role) for role in policy.ranked_roles(cfg))
        self._members: dict[str, int] = {}

    async def batch(self, w: ImportWrites, lines: list[_Line]) -> None:
        trees = [t for t in lines if isinstance(t, _Tree)]
        loose = [m for m in lines if isinstance(m, _Loose)]
        present_trees = await w.existing_trees(
            [t.model.message_tree_id for t in trees] + [t.nodes[0].model.message_id for t in trees]
        )
        stored = await w.existing_messages(
            [n.model.message_id for t in trees for n in t.nodes] + [m.model.message_id for m in loose]
        )
        await self._authors(w, [n.model.user_id for t in trees for n in t.nodes] + [m.model.user_id for m in loose])
        taken: set[str] = set()  # ids this batch has written
        tree_rows: list[tuple[Any, ...]] = []
        message_rows: list[tuple[Any, ...]] = []
        superseded: list[str] = []
        for tree in trees:
            root = tree.nodes[0].model.message_id
            if root in present_trees or tree.model.message_tree_id in present_trees or root in taken:
                self.result.already_present += 1
                continue
            ids = [n.model.message_id for n in tree.nodes]
            clash = next((i for i in ids if stored.get(i) == "tree" or i in taken), None)
            if clash is not None:
                self.result.errors.append(f"line {tree.line_no}: message {clash} is already in another tree")
                continue
            superseded += [i for i in ids if stored.get(i) == "loose"]
            taken.update(ids)
            state = self._state_of(tree)
            tree_rows.append(self._tree_row(tree, state))
            message_rows += [self._message_row(tree, n) for n in tree.nodes]
            self.result.trees += 1
            self.result.messages += len(tree.nodes)
            self.result.by_state[state.value] = self.result.by_state.get(state.value, 0) + 1
        loose_rows = []
        for line in loose:
            message_id = line.model.message_id
            if message_id in stored or message_id in taken:
                self.result.already_present += 1
                continue
            taken.add(message_id)
            loose_rows.append(self._loose_row(line))
            self.result.loose += 1
        if superseded:
            await w.drop_loose(superseded)
        await w.insert_trees(tree_rows)
        await w.insert_messages(message_rows)
        await w.insert_loose(loose_rows)

    # authors

    async def _authors(self, w: ImportWrites, external: list[str | None]) -> None:
        """Give every author a member: one per external id, kept as it is; the one "no author" member when the
        file names none."""
        wanted = sorted({NO_AUTHOR if e is None else e for e in external} - set(self._members))
        if wanted:
            self._members.update(await w.add_members(IMPORTED_AUTH, wanted, self.now))

    def _author(self, external: str | None) -> int:
        return self._members[NO_AUTHOR if external is None else external]

    # trees

    def _state_of(self, tree: _Tree) -> TreeState:
        if self.state is None:
            return _STATES.get(tree.model.tree_state or "", TreeState.BACKLOG_RANKING)
        return self.state if self._complete(tree) else TreeState.BACKLOG_RANKING

    def _complete(self, tree: _Tree) -> bool:
        """Every set of two or more accepted, undeleted siblings of a ranked role carries ranks or, in the file,
        the ballots it needs (an "all bad" set has ballots but no ranks)."""
        for node in tree.nodes:
            siblings = [
                r
                for r in node.model.replies or []
                if r.role in self.roles and r.review_result is True and not r.deleted
            ]
            if len(siblings) < 2 or all(r.rank is not None for r in siblings):
                continue
            ballots = [e for items in (node.model.events or {}).values() for e in items if e.get("type") == "ranking"]
            if len(ballots) < self.cfg.num_required_rankings:
                return False
        return True

    def _tree_row(self, tree: _Tree, state: TreeState) -> tuple[Any, ...]:
        root = tree.nodes[0].model
        written = {"message_tree_id": root.message_id, "tree_state": state.value}
        skip = {"prompt"}
        if self.state is not None or tree.model.tree_state in _STATES:
            skip.add("tree_state")  # the tree's state is the one stored; only a foreign or missing one is kept
        imported = kept_fields(tree.raw, written, frozenset(skip), TREE_FIELDS)
        origin = tree.model.origin if isinstance(tree.model.origin, str) else self.origin
        return (
            root.message_id,
            state.value,
            int(is_active_state(state)),
            root.lang or "en",
            max(self.cfg.goal_tree_size, len(tree.nodes)),
            max(self.cfg.max_tree_depth, max(n.depth for n in tree.nodes)),
            max(self.cfg.max_children_count, max(len(n.model.replies or []) for n in tree.nodes)),
            origin,
            self.now,
            timestamp_of(root.created_date) if root.created_date else self.now,
            json.dumps(imported),
            self.community,
        )

    def _message_row(self, tree: _Tree, node: _Node) -> tuple[Any, ...]:
        m = node.model
        created = timestamp_of(m.created_date) if m.created_date else self.now
        lang = m.lang or tree.nodes[0].model.lang or "en"
        emojis = {k: v for k, v in (m.emojis or {}).items() if v > 0}
        author = self._author(m.user_id)
        written = column_node(
            m.message_id,
            node.parent_id,
            m.user_id,
            date_text(micros(created)),
            m.text,
            m.role,
            lang,
            m.review_count or 0,
            m.review_result,
            bool(m.deleted),
            m.rank,
            bool(m.synthetic),
            m.model_name,
            emojis,
        )
        imported: dict[str, Any] = {"pos": node.pos}
        imported.update(kept_fields(node.raw, written, OPTION_FIELDS, NODE_FIELDS))
        for key in ("labels", "events"):
            if isinstance(node.raw.get(key), dict):
                imported[key] = node.raw[key]
        return (
            m.message_id,
            tree.nodes[0].model.message_id,
            node.parent_id,
            author,
            m.role,
            m.text,
            lang,
            node.depth,
            created,
            int(bool(m.deleted)),
            m.review_count or 0,
            None if m.review_result is None else int(m.review_result),
            m.rank,
            int(bool(m.synthetic)),
            m.model_name,
            json.dumps(emojis, sort_keys=True),
            json.dumps(imported),
        )

    def _loose_row(self, line: _Loose) -> tuple[Any, ...]:
        m = line.model
        return (
            m.message_id,
            self._author(m.user_id),
            m.lang,
            m.tree_state,
            int(bool(m.deleted)),
            None if m.review_result is None else int(m.review_result),
            int(bool(m.synthetic)),
            json.dumps(line.raw),
            self.community,
        )
