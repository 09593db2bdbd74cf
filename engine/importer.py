"""Import oasst tree JSON Lines (plain or gzip): the trees keep their ids, so importing twice adds nothing."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from engine import policy
from engine.clock import Clock, SystemClock
from engine.config import EngineConfig
from engine.export import ExportMessageNode, ExportMessageTree
from engine.types import TreeState
from storage.database import Database
from storage.repository import Repository

IMPORT_STATES = (TreeState.BACKLOG_RANKING, TreeState.READY_FOR_EXPORT)
BATCH = 200  # trees per transaction (unless strict: then the whole file is one)


@dataclass
class ImportResult:
    trees: int = 0
    messages: int = 0
    already_present: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "line N: what is wrong"


class ImportFailed(Exception):
    """A strict import found bad lines and imported nothing."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        super().__init__(f"{len(result.errors)} bad line(s); nothing imported")


async def import_trees(
    db: Database,
    path: Path,
    *,
    state: TreeState = TreeState.BACKLOG_RANKING,
    strict: bool = False,
    config: EngineConfig | None = None,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Read every line of `path`; trees whose rankable sibling sets are all ranked go to `state`
    (ready_for_export or backlog_ranking), the others to backlog_ranking to be ranked here."""
    if state not in IMPORT_STATES:
        raise ValueError(f"imported trees go to {' or '.join(s.value for s in IMPORT_STATES)}, not {state}")
    cfg = config or EngineConfig()
    now = (clock or SystemClock()).now()
    result = ImportResult()
    origin = path.name
    if strict:  # read everything first; then one transaction, so it is all or nothing
        trees = [tree for _, tree in _parse(path, result)]
        if result.errors:
            raise ImportFailed(result)
        await _import_batch(db, trees, state, origin, cfg, now, result)
        return result
    batch: list[ExportMessageTree] = []
    for line_no, tree in _parse(path, result):
        batch.append(tree)
        if len(batch) >= BATCH:
            await _import_batch(db, batch, state, origin, cfg, now, result)
            batch.clear()
            if progress:
                progress(line_no)
    await _import_batch(db, batch, state, origin, cfg, now, result)
    return result


async def _import_batch(
    db: Database,
    batch: list[ExportMessageTree],
    state: TreeState,
    origin: str,
    cfg: EngineConfig,
    now: float,
    result: ImportResult,
) -> None:
    if not batch:
        return
    async with db.transaction() as repo:
        for tree in batch:
            await _import_tree(repo, tree, state, origin, cfg, now, result)


def _open(path: Path) -> io.TextIOBase:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse(path: Path, result: ImportResult) -> Iterator[tuple[int, ExportMessageTree]]:
    with _open(path) as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                tree = ExportMessageTree.model_validate_json(line)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "line"
                result.errors.append(f"line {line_no}: {where}: {first.get('msg', 'invalid')}")
                continue
            if tree.prompt is None:
                result.errors.append(f"line {line_no}: the tree has no prompt")
                continue
            if tree.prompt.parent_id is not None or tree.prompt.role != "prompter":
                result.errors.append(f"line {line_no}: the prompt must be a prompter message without a parent")
                continue
            yield line_no, tree


def _walk(node: ExportMessageNode, depth: int = 0) -> Iterator[tuple[ExportMessageNode, int]]:
    yield node, depth
    for reply in node.replies or []:
        yield from _walk(reply, depth + 1)


def _fully_ranked(root: ExportMessageNode, roles: tuple[str, ...]) -> bool:
    """Every set of two or more accepted, undeleted siblings of a ranked role carries ranks."""
    for node, _ in _walk(root):
        siblings = [r for r in node.replies or [] if r.role in roles and r.review_result is True and not r.deleted]
        if len(siblings) > 1 and any(r.rank is None for r in siblings):
            return False
    return True


async def _import_tree(
    repo: Repository,
    tree: ExportMessageTree,
    state: TreeState,
    origin: str,
    cfg: EngineConfig,
    now: float,
    result: ImportResult,
) -> None:
    root = tree.prompt
    assert root is not None
    if await repo.tree(root.message_id) is not None or await repo.message(root.message_id) is not None:
        result.already_present += 1
        return
    roles = tuple(str(role) for role in policy.ranked_roles(cfg))
    target = state if _fully_ranked(root, roles) else TreeState.BACKLOG_RANKING
    nodes = list(_walk(root))
    await repo.insert_tree(
        root.message_id,
        state=target,
        active=False,
        lang=root.lang or "en",
        goal_tree_size=max(cfg.goal_tree_size, len(nodes)),
        max_depth=max(cfg.max_tree_depth, max(d for _, d in nodes)),
        max_children_count=max(cfg.max_children_count, max(len(n.replies or []) for n, _ in nodes)),
        now=now,
        origin=origin,
        won_prompt_lottery_at=now,
    )
    users: dict[str, int] = {}
    parents = {reply.message_id: node.message_id for node, _ in nodes for reply in node.replies or []}
    for node, depth in nodes:
        author = node.user_id or "unknown"
        if author not in users:
            users[author] = (await repo.upsert_user("import", author, "", now)).id
        await repo.insert_message(
            message_id=node.message_id,
            tree_id=root.message_id,
            parent_id=parents.get(node.message_id),
            user_id=users[author],
            task_id=None,
            role=node.role,
            text=node.text,
            lang=node.lang or root.lang or "en",
            depth=depth,
            now=node.created_date.timestamp() if node.created_date else now,
            deleted=bool(node.deleted),
            review_count=node.review_count or 0,
            # Exports show a verdict once it exists (reference §8.2): a missing one stays pending.
            review_result=node.review_result,
            rank=node.rank,
            synthetic=bool(node.synthetic),
            model_name=node.model_name,
            emojis={k: v for k, v in (node.emojis or {}).items() if v > 0},
        )
        if node.labels:
            await _import_labels(repo, node, users, now)
        result.messages += 1
    result.trees += 1
    result.by_state[target.value] = result.by_state.get(target.value, 0) + 1


async def _import_labels(repo: Repository, node: ExportMessageNode, users: dict[str, int], now: float) -> None:
    """Rebuild label rows whose means and counts equal the exported ones: row i carries every label
    counted more than i times, at its mean value."""
    labels = {k: v for k, v in (node.labels or {}).items() if v.value is not None and v.count > 0}
    if not labels:
        return
    if "import" not in users:
        users["import"] = (await repo.upsert_user("import", "import", "imported labels", now)).id
    for i in range(max(v.count for v in labels.values())):
        await repo.insert_label(
            label_id=f"{node.message_id}:import:{i}",
            message_id=node.message_id,
            user_id=users["import"],
            task_id=None,
            mode=None,
            labels={k: float(v.value) for k, v in labels.items() if v.count > i},  # type: ignore[arg-type]
            comment="",
            is_report=False,
            now=now,
        )
