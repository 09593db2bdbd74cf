"""Fast synthetic databases at oasst scale (benchmarks): plain sqlite3 and executemany, no engine calls.

The shape follows what a long-running Grove produces: mostly exported trees of 12 messages with their
reviews, rankings and done tasks; per language some trees growing, under review, waiting and ranking.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass

import numpy as np

from storage.database import migrations, split_statements

# A tree of 12 messages (index: parent index, role). Rankable sets: 0 -> {1,2,3}, 4 -> {7,8}, 5 -> {9,10}.
SHAPE: tuple[tuple[int | None, str], ...] = (
    (None, "prompter"),
    (0, "assistant"),
    (0, "assistant"),
    (0, "assistant"),
    (1, "prompter"),
    (2, "prompter"),
    (3, "prompter"),
    (4, "assistant"),
    (4, "assistant"),
    (5, "assistant"),
    (5, "assistant"),
    (6, "assistant"),
)
LABEL_TYPE = {"prompter": "label_prompter_reply", "assistant": "label_assistant_reply"}
REPLY_TYPE = {"prompter": "prompter_reply", "assistant": "assistant_reply"}


@dataclass(frozen=True)
class BulkSpec:
    messages: int = 10_000
    langs: tuple[str, ...] = ("en", "de", "es", "fr", "ru")
    users: int = 2000
    growing_per_lang: int = 10
    review_per_lang: int = 20
    waiting_per_lang: int = 40
    ranking_per_lang: int = 10
    seed: int = 0
    start: float = 1_767_225_600.0  # 2026-01-01


def build(path: str, spec: BulkSpec) -> dict[str, int]:
    """Create a migrated database at `path` filled per `spec`; returns row counts per table."""
    rng = np.random.default_rng(spec.seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-32768")
    conn.execute("BEGIN")
    for number, _name, sql in migrations():
        for statement in split_statements(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    # Loading without indexes and building them once at the end is several times faster.
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    # Nor the triggers that stamp changed trees for the active-set model: a freshly built file has no model to
    # tell, and without their index each stamp would read every stamp before it.
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    b = _Builder(conn, rng, spec)
    b.users()
    active_messages = len(spec.langs) * (
        spec.review_per_lang + spec.waiting_per_lang + spec.growing_per_lang * 6 + spec.ranking_per_lang * 12
    )
    exported = max(0, (spec.messages - active_messages) // len(SHAPE))
    for i in range(exported):
        b.tree(spec.langs[i % len(spec.langs)], "ready_for_export", len(SHAPE))
    for lang in spec.langs:
        for _ in range(spec.ranking_per_lang):
            b.tree(lang, "ranking", len(SHAPE), rankings=1)
        for _ in range(spec.growing_per_lang):
            b.tree(lang, "growing", 6, pending_last=2)
        for _ in range(spec.review_per_lang):
            b.tree(lang, "initial_prompt_review", 1, pending_last=1)
        for _ in range(spec.waiting_per_lang):
            b.tree(lang, "prompt_lottery_waiting", 1)
    b.flush()
    for _, sql in indexes + triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    counts = {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("users", "trees", "messages", "tasks", "labels", "rankings")
    }
    conn.close()
    return counts


class _Builder:
    def __init__(self, conn: sqlite3.Connection, rng: np.random.Generator, spec: BulkSpec) -> None:
        self.conn, self.spec = conn, spec
        self.r = random.Random(int(rng.integers(2**63)))
        self.t = spec.start
        self.rows: dict[str, list[tuple]] = {k: [] for k in ("trees", "messages", "tasks", "labels", "rankings")}

    def _id(self) -> str:
        # uuid4-shaped ids from a seeded stream; random.Random is ~20x faster than numpy per call here
        h = f"{self.r.getrandbits(128) & ~(0xF << 76) | (4 << 76):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _user(self) -> int:
        return self.r.randint(1, self.spec.users)

    def users(self) -> None:
        self.conn.executemany(
            """INSERT INTO users (id, auth_method, username, display_name, created_at, consent_at)
               VALUES (?, 'bench', ?, ?, ?, ?)""",  # simulated members have agreed to the dataset terms
            [(i, f"user{i}", f"User {i}", self.spec.start, self.spec.start) for i in range(1, self.spec.users + 1)],
        )

    def tree(self, lang: str, state: str, size: int, *, pending_last: int = 0, rankings: int = 3) -> None:
        inactive = state in ("ready_for_export", "prompt_lottery_waiting")
        ids = [self._id() for _ in range(size)]
        tree_id = ids[0]
        self.t += 7.0
        won = self.t if state in ("growing", "ranking", "ready_for_export") else None
        self.rows["trees"].append((tree_id, state, 0 if inactive else 1, lang, 12, 3, 3, won, self.t, self.t))
        authors = []
        for i in range(size):
            parent, role = SHAPE[i]
            author = self._user()
            authors.append(author)
            pending = i >= size - pending_last
            task_id = self._id()
            created = self.t + i
            self.rows["tasks"].append(
                (
                    task_id,
                    author,
                    "initial_prompt" if parent is None else REPLY_TYPE[role],
                    lang,
                    tree_id if parent is not None else None,
                    None if parent is None else ids[parent],
                    "{}",
                    "done",
                    created,
                    created + 172800,
                    created,
                )
            )
            rank = None
            if state == "ready_for_export" and i in (1, 2, 3, 7, 8, 9, 10):
                rank = {1: 0, 2: 1, 3: 2, 7: 0, 8: 1, 9: 0, 10: 1}[i]
            reviews = 0 if pending else 3
            ranked = rankings if state in ("ranking", "ready_for_export") and i in (1, 2, 3, 7, 8, 9, 10) else 0
            self.rows["messages"].append(
                (
                    ids[i],
                    tree_id,
                    None if parent is None else ids[parent],
                    author,
                    task_id,
                    role,
                    f"message {ids[i][:8]} in {lang}: " + "lorem ipsum " * 8,
                    lang,
                    0 if parent is None else (1 if parent == 0 else (2 if parent in (1, 2, 3) else 3)),
                    created,
                    reviews,
                    None if pending else 1,
                    rank,
                    ranked,
                )
            )
            for _ in range(reviews):
                label_task = self._id()
                reviewer = self._user()
                kind = "label_initial_prompt" if parent is None else LABEL_TYPE[role]
                self.rows["tasks"].append(
                    (
                        label_task,
                        reviewer,
                        kind,
                        lang,
                        tree_id,
                        ids[i],
                        '{"mode": "full"}',
                        "done",
                        created + 60,
                        created + 172860,
                        created + 60,
                    )
                )
                self.rows["labels"].append(
                    (
                        label_task,
                        ids[i],
                        reviewer,
                        label_task,
                        "full",
                        '{"lang_mismatch": 0.0, "spam": 0.0}',
                        created + 60,
                    )
                )
        if state in ("ranking", "ready_for_export"):
            for parent, children in ((0, (1, 2, 3)), (4, (7, 8)), (5, (9, 10))):
                for _ in range(rankings):
                    rank_task = self._id()
                    ranker = self._user()
                    order = [ids[c] for c in children]
                    self.rows["tasks"].append(
                        (
                            rank_task,
                            ranker,
                            "rank_assistant_replies",
                            lang,
                            tree_id,
                            ids[parent],
                            json.dumps({"candidates": order}),
                            "done",
                            self.t + 100,
                            self.t + 172900,
                            self.t + 100,
                        )
                    )
                    self.rows["rankings"].append(
                        (
                            rank_task,
                            ranker,
                            ids[parent],
                            tree_id,
                            json.dumps(order),
                            json.dumps(list(range(len(order)))),
                            json.dumps(order),
                            self.t + 100,
                        )
                    )
        if len(self.rows["tasks"]) > 100_000:
            self.flush()

    def flush(self) -> None:
        c = self.conn
        c.executemany(
            """INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count,
                                  won_prompt_lottery_at, created_at, state_changed_at) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            self.rows["trees"],
        )
        c.executemany(
            """INSERT INTO tasks (id, user_id, type, lang, tree_id, target_id, payload, status, created_at,
                                  expires_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
            self.rows["tasks"],
        )
        c.executemany(
            """INSERT INTO messages (id, tree_id, parent_id, user_id, task_id, role, text, lang, depth, created_at,
                                     review_count, review_result, rank, ranking_count)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            self.rows["messages"],
        )
        c.executemany(
            """INSERT INTO labels (id, message_id, user_id, task_id, mode, labels, created_at)
               VALUES (?,?,?,?,?,?,?)""",
            self.rows["labels"],
        )
        c.executemany(
            """INSERT INTO rankings (task_id, user_id, parent_id, tree_id, shown_ids, ranking, ranked_ids, created_at)
               VALUES (?,?,?,?,?,?,?,?)""",
            self.rows["rankings"],
        )
        for v in self.rows.values():
            v.clear()
