"""An in-memory model of each language's active set: what a hand-out decides on, without reading history.

`HAND_OUT_SQL` (storage/handout.py) answers a hand-out from the database in one statement; this model gives
the same `HandOutSnapshot` from Python structures held per (community, language): the trees in the hand-out's
states, and for the active ones their messages, the slots held on them and who may not get what. The SQL stays
the source of truth: `tests/storage/test_active_set.py` compares the two after random operations.

Kept in step two ways. The engine's own writes apply themselves: the repository's hot writes (a task handed
out, ended or its lease moved, a review, a verdict, a ranking, a reply, a skip, a tree's state) tell the model
what they changed (`ActiveSet.tracked`), so the next hand-out reads nothing. Any other writer is seen through the
database: migration 0010's triggers stamp every tree a write touches with the next number in `tree_changes`,
whichever program writes (`grove import`, a second process, a bulk job). Before each use the model reads the
highest stamp; when it moved past what the model reflects, it reloads exactly the trees stamped since (a few
indexed reads of one tree each), so the cost follows what changed, not the history. A tracked write counts its
own stamps: the model applies it only when it reflected every stamp before it, so nothing another writer did is
skipped. The model runs only on the database thread, inside the unit's transaction (`Database.run`), so it never
sees half of another unit's work; a unit that rolls back after the model read or applied its uncommitted rows
makes the model start over (`Database`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any, TypeAlias, TypeVar

from engine.types import LABEL_TYPES as _LABEL_TYPES
from engine.types import RANKING_TYPES as _RANK_TYPES
from engine.types import WRITING_TYPES as _WRITING_TYPES
from engine.types import Role
from storage.handout import HandOutSnapshot, ParentSlot, RankSlot
from storage.sql import Queries, chunks, words

T = TypeVar("T")

MODEL_STATES = frozenset({"growing", "initial_prompt_review", "ranking"})  # active trees whose rows the model holds
PIPELINE_STATES = ("growing", "initial_prompt_review", "prompt_lottery_waiting", "ranking")
SKIPS = ("_skip_labeling", "_skip_reply", "_skip_ranking")
NEVER = float("-inf")  # a lease that holds nothing (NULL in the database)

_LABEL = frozenset(t.value for t in _LABEL_TYPES)
_RANK = frozenset(t.value for t in _RANK_TYPES)
_REPLY = frozenset(t.value for t in _WRITING_TYPES)
_ROLE = {r.value: r for r in Role}


class HeldMessage:
    """One message of an active tree, with the slots held on it and the members who may not work on it."""

    __slots__ = (
        "deleted",
        "depth",
        "id",
        "label_blocked",
        "label_leases",
        "parent_id",
        "rank_blocked",
        "rank_leases",
        "rankings",
        "reply_blocked",
        "reply_tasks",
        "review_count",
        "review_result",
        "role",
        "user_id",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        self.id: str = row[0]
        self.parent_id: str | None = row[1]
        self.user_id: int = int(row[2])
        self.role: Role = _ROLE[str(row[3])]
        self.depth: int = int(row[4])
        self.deleted: bool = bool(row[5])
        self.review_result: int | None = None if row[6] is None else int(row[6])
        self.review_count: int = int(row[7])
        self.label_leases: list[float] = []  # pending review tasks' leases
        self.label_blocked: set[int] = set()  # members who hold, did or skipped a review task, labelled, or opted out
        self.reply_tasks: list[tuple[int, float, float]] = []  # pending reply tasks: (member, created at, lease)
        self.reply_blocked: set[int] = set()  # members with a live reply here, or who opted out of replying
        self.rank_leases: list[float] = []  # pending ranking tasks' leases
        self.rank_blocked: set[int] = set()  # members who ranked, hold or skipped a ranking task here, or opted out
        self.rankings = 0


class HeldTree:
    __slots__ = ("active", "goal", "id", "live", "max_children", "max_depth", "messages", "reply_leases", "state")

    def __init__(self, row: Sequence[Any]) -> None:  # the columns of _TREE_COLS
        self.id: str = row[0]
        self.state: str = row[3]
        self.active = bool(row[4])
        self.goal, self.max_depth, self.max_children = int(row[5]), int(row[6]), int(row[7])
        self.messages: dict[str, HeldMessage] = {}
        self.reply_leases: list[float] = []  # pending reply tasks of the tree (its size counts the live ones)
        self.live = 0  # messages that count toward the tree's size: not deleted, not rejected


class _Pair:
    """One community's language: its trees in the pipeline's states, the active ones with their rows."""

    __slots__ = ("states", "trees")

    def __init__(self) -> None:
        self.states: dict[str, tuple[str, bool]] = {}  # tree id -> (state, active), every tree in PIPELINE_STATES
        self.trees: dict[str, HeldTree] = {}  # the active trees in MODEL_STATES, with their messages


_TREE_COLS = "id, community_id, lang, state, active, goal_tree_size, max_depth, max_children_count"
_TOP = "SELECT coalesce(max(seq), 0) FROM tree_changes"

# What a tracked write changed, told to the model: given the trees the write stamped (None for one the model does
# not hold), apply the change and say True, or say False when it cannot tell exactly (its trees are then reloaded).
Patch: TypeAlias = Callable[[dict[str, "HeldTree | None"], T], Awaitable[bool]]


class ActiveSet:
    """The model of every (community, language) a hand-out asked about, loaded on first use."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[int, str], _Pair] = {}
        self._where: dict[str, tuple[int, str]] = {}  # tree id -> its pair, for the trees a pair holds
        self.seen = 0  # the highest `tree_changes` stamp the model reflects
        self.version = 0  # moves whenever the model read rows
        # The connection's count of changed rows (sqlite3's total_changes) when the model last read rows: a unit
        # that rolls back resets the model only when it read rows after the unit's own writes (`Database`).
        self.changes: Callable[[], int] = lambda: 0
        self.read_at = 0

    def _reading(self) -> None:
        self.version += 1
        self.read_at = self.changes()

    def read_uncommitted_since(self, version: int, changes: int) -> bool:
        """Whether the model read rows since `version` after the connection had changed rows since `changes`:
        rows a rollback may take back."""
        return self.version != version and self.read_at > changes

    def reset(self) -> None:
        """Forget everything: the next use loads again from the database."""
        self._pairs.clear()
        self._where.clear()
        self.seen = 0
        self.version += 1

    async def catch_up(self, q: Queries) -> None:
        """Reload the trees any program changed since the model last looked."""
        top = int(await q._scalar(_TOP) or 0)
        if top == self.seen:
            return
        self._reading()
        if top < self.seen:  # stamps went backwards (a restored file): nothing known holds
            self.reset()
            self.seen = top
            return
        changed = [r[0] for r in await q._all("SELECT tree_id FROM tree_changes WHERE seq > ?", (self.seen,))]
        self.seen = top
        if self._pairs:
            await self._reload(q, changed)

    async def _pair(self, q: Queries, community: int, lang: str) -> _Pair:
        pair = self._pairs.get((community, lang))
        if pair is None:
            self._reading()
            pair = self._pairs[(community, lang)] = _Pair()
            rows = await q._all(
                f"SELECT {_TREE_COLS} FROM trees WHERE community_id = ? AND lang = ?"
                f" AND state IN {words(PIPELINE_STATES)}",
                (community, lang),
            )
            await self._place(q, rows)
        return pair

    async def _reload(self, q: Queries, tree_ids: Sequence[str]) -> None:
        for part in chunks(tree_ids):
            for tree_id in part:  # forget first: a tree no longer in a pipeline state finds no row below
                key = self._where.pop(tree_id, None)
                if key is not None and (pair := self._pairs.get(key)) is not None:
                    pair.states.pop(tree_id, None)
                    pair.trees.pop(tree_id, None)
            marks = ", ".join("?" * len(part))
            rows = await q._all(
                f"SELECT {_TREE_COLS} FROM trees WHERE id IN ({marks}) AND state IN {words(PIPELINE_STATES)}",
                list(part),
            )
            await self._place(q, [r for r in rows if (r[1], r[2]) in self._pairs])

    async def _place(self, q: Queries, rows: Iterable[Sequence[Any]]) -> None:
        """File tree rows under their pairs, and load the rows of the active ones in MODEL_STATES."""
        loaded: dict[str, HeldTree] = {}
        for row in rows:
            tree_id, community, lang, state, active = str(row[0]), int(row[1]), str(row[2]), str(row[3]), bool(row[4])
            pair = self._pairs[(community, lang)]
            pair.states[tree_id] = (state, active)
            self._where[tree_id] = (community, lang)
            if active and state in MODEL_STATES:
                pair.trees[tree_id] = loaded[tree_id] = HeldTree(row)
        for part in chunks(list(loaded)):
            await _load_rows(q, {t: loaded[t] for t in part})

    # ------------------------------------------------------------------ the engine's own writes

    async def tracked(self, q: Queries, run: Callable[[], Awaitable[T]], patch: Patch[T] | None) -> T:
        """Run one write of this unit and keep the model in step with it. When the model reflected every stamp
        before the write, the stamps the write adds are its own (the unit holds the write lock): `patch` applies
        them, or the trees they name are reloaded now, and the model stays current. When the model was behind
        already, the write just runs: the next `catch_up` reloads its trees with the rest."""
        before = int(await q._scalar(_TOP) or 0)
        if before != self.seen:
            return await run()
        result = await run()
        after = int(await q._scalar(_TOP) or 0)
        if after == before:
            return result
        self._reading()  # the model now holds this unit's uncommitted rows: a rollback must reset it
        if self._pairs:
            changed = [str(r[0]) for r in await q._all("SELECT tree_id FROM tree_changes WHERE seq > ?", (before,))]
            trees = {t: self._held(t) for t in changed}
            if patch is None or not await patch(trees, result):
                await self._reload(q, changed)
        self.seen = after
        return result

    def _held(self, tree_id: str | None) -> HeldTree | None:
        key = None if tree_id is None else self._where.get(tree_id)
        pair = None if key is None else self._pairs.get(key)
        return None if pair is None or tree_id is None else pair.trees.get(tree_id)

    async def tree_moved(self, trees: dict[str, HeldTree | None], tree_id: str, state: str, active: bool) -> bool:
        """A tree changed state. Between the states whose rows the model holds (growing to ranking, say), its
        rows stay; any other move is reloaded."""
        tree, key = trees.get(tree_id), self._where.get(tree_id)
        if tree is None or key is None or not active or state not in MODEL_STATES:
            return False
        tree.state, tree.active = state, active
        self._pairs[key].states[tree_id] = (state, active)
        return True

    async def snapshot(
        self,
        q: Queries,
        community: int,
        lang: str,
        *,
        user_id: int,
        now: float,
        recent_since: float,
        prompt_reviews: int,
        reply_reviews: int,
        ranked_roles: Sequence[str],
    ) -> HandOutSnapshot:
        """The trees' part of `HAND_OUT_SQL`'s answer (everything but the member's own row), from the model."""
        await self.catch_up(q)
        pair = await self._pair(q, community, lang)
        snap = HandOutSnapshot()
        growing = reviewing = waiting = 0
        for state, active in pair.states.values():
            if state == "prompt_lottery_waiting":
                waiting += 1
            elif active and state == "growing":
                growing += 1
            elif active and state == "initial_prompt_review":
                reviewing += 1
        snap.pipeline = (growing, reviewing, waiting)
        roles = frozenset(str(getattr(r, "value", r)) for r in ranked_roles)
        for tree in pair.trees.values():
            if tree.state == "initial_prompt_review":
                m = tree.messages.get(tree.id)
                if m is not None and m.user_id != user_id and _reviewable(m, user_id, prompt_reviews, now):
                    snap.prompts_to_review.append(m.id)
            elif tree.state == "growing":
                _growing(tree, snap, user_id, now, recent_since, reply_reviews)
            else:
                _ranking(tree, snap, user_id, now, roles)
        snap.prompts_to_review.sort()
        snap.replies_to_review.sort()
        snap.tree_sizes.sort()
        snap.reply_parents.sort(key=attrgetter("id"))
        snap.rankings.sort(key=attrgetter("id"))
        return snap


def _reviewable(m: HeldMessage, user_id: int, required: int, now: float) -> bool:
    if m.deleted or m.review_result is not None or user_id in m.label_blocked:
        return False
    held = sum(1 for lease in m.label_leases if lease > now)
    return m.review_count + held < required


def _growing(tree: HeldTree, snap: HandOutSnapshot, user_id: int, now: float, recent: float, reviews: int) -> None:
    held = sum(1 for lease in tree.reply_leases if lease > now)
    snap.tree_sizes.append((tree.id, tree.goal, tree.live + held))
    children: dict[str, int] = {}
    for m in tree.messages.values():
        if not m.deleted and m.review_result != 0 and m.parent_id is not None:
            children[m.parent_id] = children.get(m.parent_id, 0) + 1
    for m in tree.messages.values():
        if m.parent_id is not None and m.user_id != user_id and _reviewable(m, user_id, reviews, now):
            snap.replies_to_review.append((m.id, m.role, tree.id))
        if m.deleted or m.review_result != 1 or m.depth >= tree.max_depth or user_id in m.reply_blocked:
            continue
        live = 0
        for holder, created, lease in m.reply_tasks:
            if lease > now:
                if created >= recent or holder == user_id:
                    break
                live += 1
        else:
            snap.reply_parents.append(
                ParentSlot(m.id, tree.id, m.role, m.depth, tree.max_children, children.get(m.id, 0) + live)
            )


def _ranking(tree: HeldTree, snap: HandOutSnapshot, user_id: int, now: float, roles: frozenset[str]) -> None:
    sets: dict[str, list[int]] = {}
    for c in tree.messages.values():
        if not c.deleted and c.review_result == 1 and c.role.value in roles and c.parent_id is not None:
            sets.setdefault(c.parent_id, []).append(c.user_id)
    for parent_id, authors in sets.items():
        if len(authors) < 2 or user_id in authors:
            continue
        p = tree.messages.get(parent_id)
        if p is None or p.deleted or user_id in p.rank_blocked:
            continue
        held = sum(1 for lease in p.rank_leases if lease > now)
        snap.rankings.append(RankSlot(p.id, tree.id, p.role, p.rankings + held))


async def _load_rows(q: Queries, trees: dict[str, HeldTree]) -> None:
    """The rows of these active trees: messages, the tasks on them, labels, rankings and opt-outs."""
    if not trees:
        return
    ids = list(trees)
    marks = ", ".join("?" * len(ids))
    where: dict[str, HeldMessage] = {}
    for row in await q._all(
        "SELECT tree_id, id, parent_id, user_id, role, depth, deleted, review_result, review_count"
        f" FROM messages WHERE tree_id IN ({marks})",
        ids,
    ):
        tree = trees[row[0]]
        m = tree.messages[row[1]] = where[row[1]] = HeldMessage(tuple(row)[1:])
        if not m.deleted and m.review_result != 0:
            tree.live += 1
    for tree in trees.values():  # a member who wrote a live child may not write another under the same parent
        for m in tree.messages.values():
            if m.parent_id is not None and not m.deleted and m.review_result != 0 and m.parent_id in tree.messages:
                tree.messages[m.parent_id].reply_blocked.add(m.user_id)
    for target, user, type_, status, created, lease in await q._all(
        "SELECT k.target_id, k.user_id, k.type, k.status, k.created_at, k.lease_until"
        f" FROM messages m JOIN tasks k ON k.target_id = m.id WHERE m.tree_id IN ({marks})"
        " AND k.status IN ('pending', 'done', 'skipped')",
        ids,
    ):
        m = where[target]
        live = NEVER if lease is None else float(lease)
        if type_ in _LABEL:
            m.label_blocked.add(int(user))
            if status == "pending":
                m.label_leases.append(live)
        elif type_ in _RANK:
            if status != "done":
                m.rank_blocked.add(int(user))
            if status == "pending":
                m.rank_leases.append(live)
        elif type_ in _REPLY and status == "pending":
            m.reply_tasks.append((int(user), float(created), live))
    for tree_id, lease in await q._all(
        f"SELECT tree_id, lease_until FROM tasks WHERE tree_id IN ({marks}) AND status = 'pending'"
        f" AND type IN {words(sorted(_REPLY))}",
        ids,
    ):
        trees[tree_id].reply_leases.append(NEVER if lease is None else float(lease))
    for message_id, user in await q._all(
        f"SELECT l.message_id, l.user_id FROM messages m JOIN labels l ON l.message_id = m.id"
        f" WHERE m.tree_id IN ({marks}) AND l.task_id IS NOT NULL",
        ids,
    ):
        where[message_id].label_blocked.add(int(user))
    for parent_id, user in await q._all(
        "SELECT r.parent_id, r.user_id FROM messages m JOIN rankings r ON r.parent_id = m.id"
        f" WHERE m.tree_id IN ({marks})",
        ids,
    ):
        p = where[parent_id]
        p.rankings += 1
        p.rank_blocked.add(int(user))
    for message_id, user, emoji in await q._all(
        f"SELECT e.message_id, e.user_id, e.emoji FROM messages m JOIN message_emojis e ON e.message_id = m.id"
        f" WHERE m.tree_id IN ({marks}) AND e.emoji IN {words(SKIPS)}",
        ids,
    ):
        m = where[message_id]
        (m.label_blocked if emoji == SKIPS[0] else m.reply_blocked if emoji == SKIPS[1] else m.rank_blocked).add(
            int(user)
        )
