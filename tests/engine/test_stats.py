"""Leaderboard (reference §7): counters per time frame, the leader score, ranks, levels, and `grove stats`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.cli import main
from engine import TaskType, TreeState
from engine.stats import LEVEL_THRESHOLDS, Stats, TimeFrame, frame_base, leader_score, level_of
from tests.driver import Driver


def test_leader_score_formula():
    counters = {
        "prompts": 19,  # floor(1.9) = 1
        "accepted_prompts": 10,  # 1
        "replies_assistant": 2,  # 8
        "replies_prompter": 3,  # 3
        "labels_simple": 4,  # 4
        "labels_full": 5,  # 10
        "rankings_total": 6,  # 6
        "accepted_replies_assistant": 1,  # 4
        "accepted_replies_prompter": 2,  # 2
        "reply_ranked_1": 1,  # 9
        "reply_ranked_2": 2,  # 6
        "reply_ranked_3": 3,  # 3
    }
    assert leader_score(counters) == 1 + 1 + 8 + 3 + 4 + 10 + 6 + 4 + 2 + 9 + 6 + 3
    assert leader_score({"prompts": 9, "accepted_prompts": 9}) == 0


def test_levels_follow_the_reference_thresholds():
    assert LEVEL_THRESHOLDS[:15] == (0, 4, 9, 16, 24, 32, 42, 53, 65, 79, 93, 109, 126, 144, 163)
    assert LEVEL_THRESHOLDS[-1] == 6000 and len(LEVEL_THRESHOLDS) == 100
    assert (level_of(None), level_of(0), level_of(3), level_of(4), level_of(5999), level_of(6000)) == (
        0,
        1,
        1,
        2,
        99,
        100,
    )


def test_frame_bases():
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC).timestamp()
    assert frame_base(TimeFrame.DAY, now) == now - 86400
    assert frame_base(TimeFrame.WEEK, now) == datetime(2026, 3, 3, tzinfo=UTC).timestamp()
    assert frame_base(TimeFrame.MONTH, now) == datetime(2026, 2, 8, tzinfo=UTC).timestamp()
    assert frame_base(TimeFrame.TOTAL, now) is None


async def test_counters_and_score_on_a_hand_built_history(engine, clock, users, db):
    d = Driver(engine, clock, users)
    author, helper = users[0], users[1]
    tree = await d.growing_tree(author=author)  # author: 1 accepted prompt; users 1..3 reviewed it (full)
    # helper answers the prompt (assistant reply), reviewed by three others and accepted
    task = await engine.next_task(helper, "en", TaskType.ASSISTANT_REPLY)
    reply = (await engine.submit_reply(task.id, helper, "a helpful answer")).message_id
    await d.review(reply, [users[4], users[5], users[6]])
    stats = Stats(db, clock=clock)
    await stats.refresh(TimeFrame.TOTAL)

    a = await stats.member(author)
    assert a.counters["prompts"] == 1 and a.counters["accepted_prompts"] == 1
    assert a.score == 0  # floor(0.1) + floor(0.1)
    h = await stats.member(helper)
    # one full review of the prompt (2) + one accepted assistant reply (4 + 4)
    assert (h.counters["labels_full"], h.counters["replies_assistant"], h.counters["accepted_replies_assistant"]) == (
        1,
        1,
        1,
    )
    assert h.score == 2 + 4 + 4
    assert h.level == level_of(10)
    assert (await engine.tree_status(tree)).state is TreeState.GROWING


async def test_ranked_first_second_third_credit_the_authors(make_engine, clock, users, db):
    d = Driver(make_engine(seed=4, goal_tree_size=4, min_goal_tree_size=4), clock, users)
    tree = await d.growing_tree(author=users[0])
    authors = users[1:4]
    replies = []
    for author in authors:
        task = await d.engine.next_task(author, "en", TaskType.ASSISTANT_REPLY)
        assert task.target_id == tree
        replies.append((await d.engine.submit_reply(task.id, author, f"answer by {author}")).message_id)
        await d.review(replies[-1], users[5:8])
    assert (await d.engine.tree_status(tree)).state is TreeState.RANKING
    best_first = [replies[2], replies[0], replies[1]]  # author 3 first, author 1 second, author 2 third
    for ranker in users[8:11]:
        task = await d.engine.next_task(ranker, "en", TaskType.RANK_ASSISTANT_REPLIES)
        shown = [c.id for c in task.candidates]
        await d.engine.submit_ranking(task.id, ranker, [shown.index(i) for i in best_first])
    assert (await d.engine.tree_status(tree)).state is TreeState.READY_FOR_EXPORT
    stats = Stats(db, clock=clock)
    await stats.refresh(TimeFrame.TOTAL)
    firsts = [(await stats.member(a)).counters for a in authors]
    assert [(c["reply_ranked_1"], c["reply_ranked_2"], c["reply_ranked_3"]) for c in firsts] == [
        (0, 3, 0),
        (0, 0, 3),
        (3, 0, 0),
    ]
    scores = [(await stats.member(a)).score for a in authors]
    base = 4 + 4 + 2  # an accepted assistant reply, and each of them reviewed the prompt in full
    assert scores == [base + 3 * 3, base + 3 * 1, base + 3 * 9]
    assert (await stats.member(users[8])).counters["rankings_total"] == 1


async def test_time_frames_count_only_their_window(engine, clock, users, db):
    stats = Stats(db, clock=clock)
    writer = users[0]

    async def write(n: int) -> None:
        task = await engine.next_task(writer, "en", TaskType.INITIAL_PROMPT)
        await engine.submit_reply(task.id, writer, f"prompt {n}")

    clock.t = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    for n in range(10):
        await write(n)  # ten prompts on March 1st
    clock.t = datetime(2026, 3, 10, 0, 0, tzinfo=UTC).timestamp() - 1  # just before the week's base moves past it
    await write(10)
    clock.t = datetime(2026, 3, 17, 0, 0, 1, tzinfo=UTC).timestamp()
    for frame in TimeFrame:
        await stats.refresh(frame)
    prompts = {f: (await stats.member(writer, f)).counters["prompts"] for f in TimeFrame}
    # week base = March 10th 00:00: the prompt one second before it is out; the month holds all eleven
    assert prompts == {TimeFrame.DAY: 0, TimeFrame.WEEK: 0, TimeFrame.MONTH: 11, TimeFrame.TOTAL: 11}
    assert (await stats.member(writer, TimeFrame.MONTH)).score == 1  # floor(11 / 10)


async def test_ranks_skip_hidden_members_and_break_ties_by_id(engine, clock, users, db):
    for i, user in enumerate(users[:4]):
        for n in range(10 * (1 + (i % 2))):  # users 0 and 2: 10 prompts; users 1 and 3: 20 prompts
            task = await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
            await engine.submit_reply(task.id, user, f"prompt {user} {n}")
            clock.advance(1)
    async with db.transaction() as repo:
        await repo.set_show_on_leaderboard(users[1], False)
    stats = Stats(db, clock=clock)
    await stats.refresh(TimeFrame.TOTAL)
    ranks = {u: (await stats.member(u)).rank for u in users[:4]}
    assert ranks == {users[3]: 1, users[0]: 2, users[2]: 3, users[1]: None}
    rows, pages = await stats.leaderboard(TimeFrame.TOTAL, page=0, per_page=2)
    assert [r["user_id"] for r in rows] == [users[3], users[0]] and pages == 2
    rows, _ = await stats.leaderboard(TimeFrame.TOTAL, page=1, per_page=2)
    assert [r["user_id"] for r in rows] == [users[2]]


def test_grove_stats_cli(tmp_path, capsys):
    db = tmp_path / "s.sqlite3"
    assert main(["simulate", "--db", str(db), "--users", "15", "--trees", "1", "--seed", "3", "--langs", "en,de"]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Trees per state" in out and "ready_for_export" in out and "Top contributors" in out
    assert main(["stats", "--db", str(db), "--json", "--lang", "de"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["trees"]) == {"de"} and data["top_contributors"]
    assert main(["stats", "--db", str(tmp_path / "missing.sqlite3")]) == 2


async def test_daily_contributions_count_done_tasks_per_day(engine, clock, users):
    from engine.stats import Stats
    from engine.types import TaskType

    stats = Stats(engine.db, clock=clock)
    assert await stats.daily(users[0], days=3) == [0, 0, 0]
    for text in ("first prompt", "second prompt"):
        task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
        await engine.submit_reply(task.id, users[0], text)
    clock.advance(86400)
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(task.id, users[0], "a day later")
    task = await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    await engine.skip_task(task.id, users[0])  # a skip is not a contribution
    assert await stats.daily(users[0], days=3) == [0, 2, 1]


async def test_boards_per_community_and_per_language(engine, clock, users, db):
    """Issue 15: one board per community over every language and one per community and language; a member is on a
    community's boards only for work done there."""
    first_pool = [users[0], users[1], users[3], users[4], users[5]]  # users 3-5 review in community 1
    second_pool = [users[2], users[6], users[7], users[8]]  # users 6-8 review in the second
    d1 = Driver(engine, clock, first_pool)  # the operator's engine works in community 1
    await d1.accepted_prompt(users[0], "en")
    await d1.accepted_prompt(users[1], "de")
    async with db.transaction() as repo:
        second = await repo.guilds.new_community("second", clock.now())
    await Driver(engine.scoped(second), clock, second_pool).accepted_prompt(users[2], "en")
    stats = Stats(db, clock=clock)
    await stats.refresh(TimeFrame.TOTAL)

    def ids(board) -> set[int]:
        return {r.user_id for r in board.rows}

    assert ids(await stats.board(community=1)) <= set(first_pool) and {users[0], users[1]} <= ids(
        await stats.board(community=1)
    )
    assert users[1] in ids(await stats.board(community=1, lang="de"))
    prompts = {
        (u, lang): (await stats.member(u, community=1, lang=lang)).counters["prompts"]
        for u in (users[0], users[1])
        for lang in ("en", "de")
    }
    assert prompts == {(users[0], "en"): 1, (users[0], "de"): 0, (users[1], "en"): 0, (users[1], "de"): 1}
    second_all = ids(await stats.board(community=second))
    assert users[2] in second_all and second_all <= set(second_pool)
    de_row = await stats.member(users[1], community=1, lang="de")
    all_row = await stats.member(users[1], community=1)
    assert de_row.counters["prompts"] == all_row.counters["prompts"] == 1
    assert (await stats.member(users[1], community=second)).rank is None  # nothing of theirs there


async def test_rejected_work_scores_nothing(engine, clock, users, db):
    """Issue 18 (decisions): replies rejected as spam score no points; the same replies waiting for review do."""
    d = Driver(engine, clock, users)
    author = users[1]
    replies = []
    for _ in range(3):
        root = await d.growing_tree(users[0])
        task = await engine.next_task(author, "en", TaskType.ASSISTANT_REPLY)
        assert task.target_id == root
        replies.append((await engine.submit_reply(task.id, author, f"spam number {len(replies)}")).message_id)
    stats = Stats(db, clock=clock)
    await stats.refresh(TimeFrame.TOTAL)
    pending = await stats.member(author)
    assert pending.counters["replies_assistant"] == 3 and pending.score >= 12
    async with db.transaction() as repo:  # reviewers rejected them
        for message_id in replies:
            await repo.set_review_result(message_id, False)
    await stats.refresh(TimeFrame.TOTAL)
    rejected = await stats.member(author)
    assert rejected.counters["replies_assistant"] == 0 and rejected.score < pending.score - 11
