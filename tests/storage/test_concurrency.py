"""Many requests at once: one result per task, no slot handed out twice, one transition per tree.

Every race runs twice: on one connection (the bot: every request of the process shares one Database)
and on two connections to one file (the bot plus a second process, such as `grove import`, where
SQLite's own locking serialises the writers). After every race the database must pass `check_database`,
and no exception but a DomainError may reach a caller (no "database is locked").
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from engine import Engine, EngineConfig, FakeClock, TaskStatus, TaskType, TreeState, errors
from engine.check import check_database
from engine.export import export
from engine.stats import Stats
from engine.types import Task
from storage.backup import backup
from storage.database import Database
from tests.driver import GOOD, SPAM, Driver, answer, fill_labels, member, ranking_tree

T = TypeVar("T")
N_MEMBERS = 32
HIDE = 301.0  # past the 300 s a parent stays hidden while a reply task for it is pending
DAY = 86400.0
Snapshot = dict[str, list[tuple[Any, ...]]]


# ---------------------------------------------------------------------------------------------- the site


@dataclass
class Site:
    """The engines of one deployment: [bot] on one connection, or [bot, second process] on one file."""

    engines: list[Engine]
    dbs: list[Database]
    clock: FakeClock
    users: list[int]

    @property
    def engine(self) -> Engine:
        return self.engines[0]

    @property
    def db(self) -> Database:
        return self.dbs[0]

    @property
    def cfg(self) -> EngineConfig:
        return self.engine.cfg

    @property
    def driver(self) -> Driver:
        return Driver(self.engine, self.clock, self.users)

    def engine_of(self, i: int) -> Engine:
        """Member i's requests go through this engine (alternating between processes when there are two)."""
        return self.engines[i % len(self.engines)]

    async def moves(self, tree_id: str | None = None) -> Counter[tuple[str, str]]:
        """How often each committed state change (old, new) happened, to one tree or to any, in both processes."""
        out: Counter[tuple[str, str]] = Counter()
        for db in self.dbs:
            rows = await db._conn.execute_fetchall("SELECT tree_id, old, new FROM temp.moves")
            out.update((r[1], r[2]) for r in rows if tree_id is None or r[0] == tree_id)
        return out

    async def forget_moves(self) -> None:
        for db in self.dbs:
            await db._conn.execute("DELETE FROM temp.moves")

    async def sound(self) -> None:
        assert await check_database(self.db, self.cfg) == []


async def _record_transitions(db: Database) -> None:
    """Log every committed state change of this connection in a temporary table (rolled back with its
    transaction, so a hand-out that runs the lottery and is then refused leaves no trace)."""
    await db._conn.executescript(
        """CREATE TEMP TABLE moves (tree_id TEXT, old TEXT, new TEXT);
           CREATE TEMP TRIGGER record_moves AFTER UPDATE OF state ON main.trees
           WHEN old.state IS NOT new.state
           BEGIN INSERT INTO moves VALUES (old.id, old.state, new.state); END;"""
    )


@pytest.fixture(params=["one_connection", "two_connections"])
async def open_site(request: pytest.FixtureRequest, tmp_path: Path):
    opened: list[Database] = []

    async def build(**overrides: Any) -> Site:
        cfg = EngineConfig(**overrides)
        clock = FakeClock()
        if request.param == "one_connection":
            dbs = [await Database.open(":memory:")]
        else:
            path = tmp_path / "grove.db"
            dbs = [await Database.open(path)]
            dbs.append(await Database.open(path))
        opened.extend(dbs)
        engines = [Engine(db, cfg, clock=clock, rng=np.random.default_rng(seed)) for seed, db in enumerate(dbs, 1)]
        users = [await member(engines[0], f"m{i}", f"Member {i}") for i in range(N_MEMBERS)]
        for db in dbs:
            await _record_transitions(db)
        return Site(engines, dbs, clock, users)

    yield build
    for db in opened:
        await db.close()


# ---------------------------------------------------------------------------------------------- helpers


async def race(calls: Iterable[Awaitable[T]]) -> tuple[list[T], Counter[str]]:
    """Run the calls at once; the results of those accepted, and the codes of those refused.

    Anything but a DomainError (a crash, "database is locked") fails the test."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    accepted: list[T] = []
    refused: Counter[str] = Counter()
    for outcome in outcomes:
        if isinstance(outcome, errors.DomainError):
            refused[outcome.code.name] += 1
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            accepted.append(outcome)
    return accepted, refused


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table but `tree_changes` (the active-set model's bookkeeping, stamped by triggers)."""
    conn = db._conn
    tables = [
        r[0]
        for r in await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        if r[0] != "tree_changes"
    ]
    return {t: sorted((tuple(r) for r in await conn.execute_fetchall(f"SELECT * FROM {t}")), key=repr) for t in tables}


def changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[int, int]]:
    """Per changed table: (rows gone, rows new); a changed row counts once in each."""
    out = {}
    for table in after:
        old, new = Counter(before.get(table, [])), Counter(after[table])
        gone, came = sum((old - new).values()), sum((new - old).values())
        if gone or came:
            out[table] = (gone, came)
    return out


async def scalar(db: Database, sql: str, *params: Any) -> Any:
    return next(iter(await db._conn.execute_fetchall(sql, params)))[0]


# ---------------------------------------------------------------------------------------------- (a) one task, 50 times


async def _submit(engine: Engine, task: Task, user: int, how: str) -> object:
    if how == "skip":
        return await engine.skip_task(task.id, user)
    if task.type in (TaskType.INITIAL_PROMPT, TaskType.ASSISTANT_REPLY, TaskType.PROMPTER_REPLY):
        return await engine.submit_reply(task.id, user, "the one and only answer")
    if task.kind.name.startswith("LABEL"):
        return await engine.submit_labels(task.id, user, fill_labels(task, GOOD))
    return await engine.submit_ranking(task.id, user, list(range(len(task.candidates))))


# (task to take, how it is answered, every table that must change: {table: (rows gone, rows new)})
SUBMISSIONS = {
    "initial prompt": (
        TaskType.INITIAL_PROMPT,
        "submit",
        {"tasks": (1, 1), "messages": (0, 1), "trees": (0, 1)},
    ),
    "assistant reply": (TaskType.ASSISTANT_REPLY, "submit", {"tasks": (1, 1), "messages": (0, 1)}),
    "prompt review": (TaskType.LABEL_INITIAL_PROMPT, "submit", {"tasks": (1, 1), "labels": (0, 1), "messages": (1, 1)}),
    "ranking": (TaskType.RANK_ASSISTANT_REPLIES, "submit", {"tasks": (1, 1), "rankings": (0, 1), "messages": (3, 3)}),
    "skip of a reply": (
        TaskType.ASSISTANT_REPLY,
        "skip",
        {"tasks": (1, 1), "message_emojis": (0, 1), "messages": (1, 1)},
    ),
}


@pytest.mark.parametrize("case", list(SUBMISSIONS))
async def test_one_task_submitted_50_times_at_once_has_one_result(open_site, case):
    task_type, how, must_change = SUBMISSIONS[case]
    site = await open_site(goal_tree_size=4, min_goal_tree_size=2)
    d, u = site.driver, site.users
    if task_type is TaskType.RANK_ASSISTANT_REPLIES:
        await ranking_tree(d)
    elif task_type is TaskType.ASSISTANT_REPLY:
        await d.growing_tree(author=u[0])
    elif task_type is TaskType.LABEL_INITIAL_PROMPT:
        await d.write_prompt(u[0])
    member = u[20]
    task = await site.engine.next_task(member, "en", task_type)
    site.clock.advance(1)
    await site.forget_moves()
    before = await snapshot(site.db)

    accepted, refused = await race(_submit(site.engine_of(i), task, member, how) for i in range(50))

    assert len(accepted) == 1
    assert refused == {"TASK_SKIPPED" if how == "skip" else "TASK_ALREADY_DONE": 49}
    changed = changes(before, await snapshot(site.db))
    # the member's streak row may change with the one accepted submission; nothing else may
    assert changed.pop("users", (1, 1)) == (1, 1)
    assert changed == must_change
    status = (await site.engine.get_task(task.id, member)).status
    assert status is (TaskStatus.SKIPPED if how == "skip" else TaskStatus.DONE)
    assert await site.moves() == {}  # a first review or ranking, or a new prompt, moves no tree
    await site.sound()


async def test_submit_and_skip_of_one_task_at_once_settle_it_exactly_once(open_site):
    """Double clicks on both buttons of a card: the task ends once, done or skipped, never both."""
    site = await open_site()
    d, u = site.driver, site.users
    root = await d.growing_tree(author=u[0])
    member = u[20]
    task = await site.engine.next_task(member, "en", TaskType.ASSISTANT_REPLY)

    calls = [_submit(site.engine_of(i), task, member, "submit" if i % 2 else "skip") for i in range(50)]
    accepted, refused = await race(calls)

    assert len(accepted) == 1
    assert sum(refused.values()) == 49
    status = (await site.engine.get_task(task.id, member)).status
    replies = await scalar(site.db, "SELECT count(*) FROM messages WHERE parent_id = ?", root)
    skips = await scalar(site.db, "SELECT count(*) FROM message_emojis WHERE message_id = ?", root)
    if status is TaskStatus.DONE:
        assert (replies, skips) == (1, 0)
        assert refused == {"TASK_ALREADY_DONE": 49}
    else:
        assert status is TaskStatus.SKIPPED
        assert (replies, skips) == (0, 1)
        assert refused == {"TASK_SKIPPED": 49}
    await site.sound()


# ---------------------------------------------------------------------------------------------- (b) reply slots


async def _reply_wave(site: Site, members: list[int]) -> list[tuple[int, Task]]:
    """Every member asks for a reply task at once (alternately assistant and prompter replies)."""
    kinds = (TaskType.ASSISTANT_REPLY, TaskType.PROMPTER_REPLY)

    async def ask(i: int, member: int) -> tuple[int, Task]:
        return member, await site.engine_of(i).next_task(member, "en", kinds[i % 2])

    handed, refused = await race(ask(i, m) for i, m in enumerate(members))
    assert set(refused) <= {"NO_TASK_AVAILABLE"}
    return handed


async def test_twenty_members_asking_for_the_last_reply_slot_get_one(open_site):
    """Free slots: the tree's goal minus its live messages and held reply tasks (decisions #15, #16).
    Here the goal is 3 and the prompt has one accepted answer: one slot, though two parents could take a reply."""
    site = await open_site(goal_tree_size=3, min_goal_tree_size=2)
    d, u = site.driver, site.users
    root = await d.growing_tree(author=u[0])
    first = await answer(d, u[1], TaskType.ASSISTANT_REPLY, root)
    await d.review(first, u[2:5])
    members = u[10:30]

    handed = await _reply_wave(site, members)
    assert len(handed) == 1
    for _ in range(3):  # later waves, after the parent is no longer hidden: the slot stays held
        site.clock.advance(HIDE)
        assert await _reply_wave(site, members) == []
    await site.sound()

    holder, task = handed[0]
    others = [m for m in members if m != holder]
    calls = [site.engine.submit_reply(task.id, holder, "the last answer") for _ in range(10)]
    accepted, refused = await race(calls)
    assert len(accepted) == 1 and refused == {"TASK_ALREADY_DONE": 9}
    assert await scalar(site.db, "SELECT count(*) FROM messages WHERE tree_id = ?", root) == 3
    assert await _reply_wave(site, others) == []
    await site.sound()


async def test_reply_hand_outs_never_exceed_the_trees_room_when_parents_offer_more(open_site):
    """Goal 5, a prompt with two accepted answers: three parents could take a reply, the tree has room for two."""
    site = await open_site(goal_tree_size=5, min_goal_tree_size=2)
    d, u = site.driver, site.users
    root = await d.growing_tree(author=u[0])
    for author in u[1:3]:
        child = await answer(d, author, TaskType.ASSISTANT_REPLY, root)
        await d.review(child, u[4:7])
    members = u[10:30]

    handed: list[tuple[int, Task]] = []
    for _ in range(4):
        handed += await _reply_wave(site, members)
        site.clock.advance(HIDE)
    assert len(handed) == 2
    per_parent = Counter(task.target_id for _, task in handed)
    assert all(n == 1 for n in per_parent.values())  # each parent still has its own free slot
    await site.sound()

    async def write(member: int, task: Task) -> list[object]:
        accepted, _ = await race(site.engine.submit_reply(task.id, member, f"answer of {member}") for _ in range(5))
        return accepted

    results = await asyncio.gather(*(write(m, t) for m, t in handed))
    assert [len(r) for r in results] == [1, 1]
    assert await scalar(site.db, "SELECT count(*) FROM messages WHERE tree_id = ?", root) == 5
    assert await _reply_wave(site, members) == []
    await site.sound()


async def test_a_slot_freed_by_an_expired_task_is_filled_once(open_site):
    """The expired holder and twenty newcomers race for the freed slot: only one of them fills it."""
    site = await open_site(goal_tree_size=2, min_goal_tree_size=2)
    d, u = site.driver, site.users
    root = await d.growing_tree(author=u[0])
    holder = u[9]
    stale = await site.engine.next_task(holder, "en", TaskType.ASSISTANT_REPLY)
    site.clock.advance(2 * DAY)  # the task expired; the expiry job has not run yet
    members = u[10:30]

    async def newcomer(i: int, member: int) -> str:
        task = await site.engine_of(i).next_task(member, "en", TaskType.ASSISTANT_REPLY)
        return (await site.engine_of(i).submit_reply(task.id, member, f"answer of {member}")).message_id or ""

    calls: list[Awaitable[Any]] = [newcomer(i, m) for i, m in enumerate(members)]
    calls.insert(10, site.engine.submit_reply(stale.id, holder, "my late answer"))
    accepted, refused = await race(calls)

    assert len(accepted) == 1
    assert refused == {"NO_TASK_AVAILABLE": 19, "TASK_EXPIRED": 1}
    assert await scalar(site.db, "SELECT count(*) FROM messages WHERE tree_id = ?", root) == 2
    assert (await site.engine.get_task(stale.id, holder)).draft == "my late answer"  # decisions #17
    await site.sound()


# ---------------------------------------------------------------------------------------------- (c) reviews


async def _review_until_none_left(
    site: Site, i: int, member: int, task_type: TaskType, labels: dict[str, float]
) -> tuple[int, int, Counter[str]]:
    """A member takes review tasks and submits each twice at once, until none is left for them.
    Returns (tasks taken, reviews accepted, refusal codes)."""
    engine = site.engine_of(i)
    taken = accepted = 0
    refused: Counter[str] = Counter()
    while True:
        try:
            task = await engine.next_task(member, "en", task_type)
        except errors.NoTaskAvailable:
            return taken, accepted, refused
        taken += 1
        ok, no = await race(engine.submit_labels(task.id, member, fill_labels(task, labels)) for _ in range(2))
        accepted += len(ok)
        refused += no


@pytest.mark.parametrize(
    ("labels", "target"),
    [(GOOD, TreeState.PROMPT_LOTTERY_WAITING), (SPAM, TreeState.ABORTED_LOW_GRADE)],
    ids=["accepted", "rejected"],
)
async def test_twenty_reviewers_at_once_give_a_prompt_exactly_its_reviews(open_site, labels, target):
    site = await open_site()
    prompt = await site.driver.write_prompt(site.users[0])
    members = site.users[10:30]
    need = site.cfg.num_reviews_initial_prompt

    outcomes = await asyncio.gather(
        *(_review_until_none_left(site, i, m, TaskType.LABEL_INITIAL_PROMPT, labels) for i, m in enumerate(members))
    )

    assert sum(taken for taken, _, _ in outcomes) == need
    assert sum(accepted for _, accepted, _ in outcomes) == need
    assert sum((r for _, _, r in outcomes), Counter()) == {"TASK_ALREADY_DONE": need}
    message = await site.engine.message(prompt)
    assert (message.review_count, message.review_result) == (need, labels is GOOD)
    assert await scalar(site.db, "SELECT count(*) FROM labels WHERE message_id = ?", prompt) == need
    moves = await site.moves(prompt)
    verdict = {("initial_prompt_review", target.value): 1}
    lottery = {("prompt_lottery_waiting", "growing"): 1}
    # an accepted prompt may also win the lottery, once, when a later request finds no growing tree
    assert moves in ([verdict, verdict | lottery] if target is TreeState.PROMPT_LOTTERY_WAITING else [verdict])
    state = (await site.engine.tree_status(prompt)).state
    assert state is (TreeState.GROWING if moves == verdict | lottery else target)
    await site.sound()


async def test_twenty_reviewers_at_once_move_a_growing_tree_to_ranking_once(open_site):
    site = await open_site(goal_tree_size=3, min_goal_tree_size=2)
    d, u = site.driver, site.users
    root = await d.growing_tree(author=u[0])
    replies = [await answer(d, author, TaskType.ASSISTANT_REPLY, root) for author in u[1:3]]
    await site.forget_moves()
    members = u[10:30]
    need = site.cfg.num_reviews_reply

    outcomes = await asyncio.gather(
        *(_review_until_none_left(site, i, m, TaskType.LABEL_ASSISTANT_REPLY, GOOD) for i, m in enumerate(members))
    )

    assert sum(taken for taken, _, _ in outcomes) == need * len(replies)
    assert sum(accepted for _, accepted, _ in outcomes) == need * len(replies)
    for reply in replies:
        message = await site.engine.message(reply)
        assert (message.review_count, message.review_result) == (need, True)
    assert await site.moves(root) == {("growing", "ranking"): 1}
    assert (await site.engine.tree_status(root)).state is TreeState.RANKING
    await site.sound()


# ---------------------------------------------------------------------------------------------- (d) rankings


async def test_twenty_rankers_at_once_give_exactly_the_required_rankings_and_one_scoring(open_site):
    site = await open_site(goal_tree_size=4, min_goal_tree_size=2)
    root, children = await ranking_tree(site.driver)
    await site.forget_moves()
    members = site.users[10:30]
    need = site.cfg.num_required_rankings

    async def rank(i: int, member: int) -> tuple[int, int]:
        engine = site.engine_of(i)
        try:
            task = await engine.next_task(member, "en", TaskType.RANK_ASSISTANT_REPLIES)
        except errors.NoTaskAvailable:
            return 0, 0
        order = list(range(len(task.candidates)))
        ok, no = await race(engine.submit_ranking(task.id, member, order) for _ in range(3))
        assert set(no) <= {"TASK_ALREADY_DONE"}
        return 1, len(ok)

    outcomes = await asyncio.gather(*(rank(i, m) for i, m in enumerate(members)))

    assert sum(t for t, _ in outcomes) == need
    assert sum(a for _, a in outcomes) == need
    assert await scalar(site.db, "SELECT count(*) FROM rankings WHERE parent_id = ?", root) == need
    rows = [await site.engine.message(c) for c in children]
    assert [m.ranking_count for m in rows] == [need] * len(children)
    assert sorted(m.rank for m in rows) == [0, 1, 2]
    assert await site.moves(root) == {("ranking", "ready_for_scoring"): 1, ("ready_for_scoring", "ready_for_export"): 1}
    await site.sound()


# ---------------------------------------------------------------------------------------------- (e) two processes


async def _work(engine: Engine, member: int, lang: str, steps: int, seen: Counter[str]) -> None:
    """A member takes random tasks and completes them well; refusals are counted, anything else raises."""
    d = Driver(engine, engine.clock, [member])  # type: ignore[arg-type]
    for _ in range(steps):
        try:
            try:
                task = await engine.next_task(member, lang)
            except errors.NoTaskAvailable:
                task = await engine.next_task(member, lang, TaskType.INITIAL_PROMPT)
            await d.complete(task, member)
            seen["done"] += 1
        except errors.DomainError as exc:
            seen[exc.code.name] += 1
        await asyncio.sleep(0)


async def test_the_bot_and_a_second_process_on_one_file_never_see_a_locked_database(tmp_path: Path):
    """The bot's members work while another process writes (its own members, a leaderboard refresh), reads
    (availability, an export, `grove check`) and takes an online backup, all on the same file at once."""
    path = tmp_path / "grove.db"
    clock = FakeClock()
    cfg = EngineConfig(goal_tree_size=4, min_goal_tree_size=2)
    bot_db = await Database.open(path)
    cli_db = await Database.open(path)
    try:
        bot = Engine(bot_db, cfg, clock=clock, rng=np.random.default_rng(1))
        cli = Engine(cli_db, cfg, clock=clock, rng=np.random.default_rng(2))
        members = [await member(bot, f"m{i}", f"Member {i}") for i in range(12)]
        seen: Counter[str] = Counter()
        for _ in range(3):  # some trees to read and copy
            await asyncio.gather(*(_work(bot, m, "en", 5, seen) for m in members))
            clock.advance(400)

        async def second_process() -> None:
            others = [await member(cli, f"c{i}", f"Other {i}", auth="cli") for i in range(4)]
            for round_ in range(4):
                await asyncio.gather(*(_work(cli, m, "de", 3, seen) for m in others))
                await Stats(cli_db, clock=clock).refresh_all()
                await cli.availability(others[0], "en")
                await export(cli_db, tmp_path / f"export-{round_}.jsonl")
                assert await check_database(cli_db, cfg) == []

        copy = tmp_path / "copy.db"
        await asyncio.gather(
            *(_work(bot, m, "en", 12, seen) for m in members),
            second_process(),
            asyncio.to_thread(backup, path, copy, pages_per_step=8),
        )
    finally:
        await cli_db.close()
        await bot_db.close()

    assert seen["done"] > 100, seen
    for file in (path, copy):
        db = await Database.open(file, migrate=False)
        try:
            assert await check_database(db, cfg) == []
        finally:
            await db.close()


# ---------------------------------------------------------------------------------------------- known storage defects


async def test_a_request_cancelled_at_any_point_leaves_the_database_usable(db, engine, users, clock):
    """A cancelled request (bot shutdown, a timeout around an engine call) must not break the next ones."""
    member = users[0]
    for steps in range(12):
        task = await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
        request = asyncio.ensure_future(engine.submit_reply(task.id, member, f"prompt number {steps}"))
        for _ in range(steps):
            await asyncio.sleep(0)
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        clock.advance(301)
        await engine.tree_counts()  # the next request of anyone works
        assert await check_database(db, engine.cfg) == []


async def test_two_processes_creating_the_database_at_once_both_open_it(tmp_path: Path):
    for attempt in range(10):
        path = tmp_path / f"new-{attempt}.db"
        opened = await asyncio.gather(Database.open(path), Database.open(path), return_exceptions=True)
        for db in opened:
            if isinstance(db, Database):
                await db.close()
        for outcome in opened:
            if isinstance(outcome, BaseException):
                raise outcome


async def test_requests_queued_behind_a_held_lock_do_not_wait_in_turn(tmp_path: Path) -> None:
    """Issue 18: another program holds the write lock. Each request waits at most the busy timeout from when it
    was made, not from when the database thread reaches it: three at once are all told "busy" after about one
    timeout (waiting in turn would take three), and nothing is stored."""
    db = await Database.open(tmp_path / "held.db")
    engine = Engine(db, EngineConfig(), clock=FakeClock(1_000_000.0), rng=np.random.default_rng(1))
    try:
        members = [await member(engine, f"m{i}") for i in range(3)]
        db.busy_timeout = 0.5
        with closing(sqlite3.connect(tmp_path / "held.db", isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(engine.set_preferred_language(m, "de") for m in members), return_exceptions=True
            )
            waited = time.monotonic() - started
            other.execute("ROLLBACK")
        assert all(isinstance(o, errors.DatabaseBusy) for o in outcomes), outcomes
        assert waited < 1.2, f"the requests waited in turn ({waited:.2f} s for a 0.5 s timeout each)"
        assert [(await engine.user(m)).preferred_lang for m in members] == [None, None, None]
        await engine.set_preferred_language(members[0], "de")  # the lock is gone: the same request works
        assert (await engine.user(members[0])).preferred_lang == "de"
    finally:
        await db.close()


async def test_writes_asked_for_together_share_one_commit_and_fail_alone(tmp_path: Path) -> None:
    """Group commit (issue 19): write units that arrive while the database thread is busy run as one transaction,
    a savepoint each, and share one COMMIT (one sync of the disk). A unit that fails rolls back to its savepoint
    alone: what it wrote before failing is gone, the others' work is stored."""
    db = await Database.open(tmp_path / "group.db")
    engine = Engine(db, EngineConfig(), clock=FakeClock(1_000_000.0), rng=np.random.default_rng(1))
    try:
        members = [await member(engine, f"m{i}") for i in range(20)]
        statements: list[str] = []
        await db._conn.set_trace_callback(statements.append)

        async def half_then_fail(repo: Any) -> None:
            await repo.set_preferred_lang(members[0], "fr")  # written, then rolled back with its savepoint
            raise ValueError("this unit fails after writing")

        outcomes = await asyncio.gather(
            *(engine.set_preferred_language(m, "de") for m in members[1:]),
            db.run(half_then_fail),
            engine.set_preferred_language(999_999, "de"),  # no such member: refused alone
            return_exceptions=True,
        )
        await db._conn.set_trace_callback(None)
        assert outcomes[:19] == [None] * 19
        assert isinstance(outcomes[19], ValueError) and isinstance(outcomes[20], errors.UserNotFound)
        commits = sum(1 for s in statements if s.strip().upper() == "COMMIT")
        assert 1 <= commits <= 3, f"{commits} commits for 21 writes asked for at once"
        assert (await engine.user(members[0])).preferred_lang is None
        assert [(await engine.user(m)).preferred_lang for m in members[1:]] == ["de"] * 19
    finally:
        await db.close()
