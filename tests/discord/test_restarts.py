"""Restarts and time: scheduled jobs catch up after downtime, once and never twice at once, and what a
member was doing (tasks, drafts, cards, an open modal) survives a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import SchedulerSettings
from bot.scheduler import SKIPPED, Job, JobRunner, first_runs, jobs, start_scheduler
from engine import Engine, EngineConfig, FakeClock
from engine.stats import Stats
from engine.types import TaskStatus, TaskType, TreeState
from storage import jobs as job_runs
from storage.database import Database
from tests.discord_env import Env
from tests.driver import Driver, answer, fill_labels, ranking_tree
from tests.fakes import DiscordErrorLog

SETTINGS = SchedulerSettings()
HOURS = 3600.0
DOWN = 3 * HOURS
# With the default intervals, 3 h of downtime leaves every job overdue but the two 4-hourly ones.
OVERDUE = {
    "prompt-lottery",
    "auto-moderation",
    "task-expiry",
    "scoring-retry",
    "backlog-activation",
    "halt-banned-prompts",
    "reconcile",
    "leaderboard-day",
    "leaderboard-week",
    "leaderboard-month",
}
NOT_OVERDUE = {"streak-reset", "leaderboard-total"}


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (in real time: APScheduler keeps the wall clock) until `condition()` holds."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the state changes inside APScheduler's callbacks
            await asyncio.sleep(0.005)


def counted(job_list: Iterable[Job], runs: dict[str, int]) -> list[Job]:
    """The same jobs, each counting its passes in `runs` before doing its real work."""

    def wrap(job: Job) -> Job:
        async def run() -> object:
            runs[job.id] = runs.get(job.id, 0) + 1
            return await job.run()

        return dataclasses.replace(job, run=run)

    return [wrap(job) for job in job_list]


def real_jobs(db: Database, clock: FakeClock, runs: dict[str, int]) -> list[Job]:
    engine = Engine(db, EngineConfig(), clock=clock, rng=np.random.default_rng(0))
    return counted(jobs(engine, Stats(db, clock=clock), SETTINGS), runs)


def seconds_until(scheduler: AsyncIOScheduler, job_id: str) -> float:
    job = scheduler.get_job(job_id)
    assert job is not None and job.next_run_time is not None
    return (job.next_run_time - dt.datetime.now(dt.UTC)).total_seconds()


# ---------------------------------------------------------------------- the catch-up policy


def test_the_first_tick_of_each_job_follows_its_last_run() -> None:
    job_list = [Job(name, minutes, lambda: asyncio.sleep(0), name) for name, minutes in (("a", 5), ("b", 60), ("c", 5))]
    now = 100 * HOURS
    # never ran: all overdue, staggered in order
    assert first_runs(job_list, {}, now, gap=2) == {"a": 0, "b": 2, "c": 4}
    # b ran 10 min ago: its next tick 50 min from now; a exactly one interval ago counts as overdue
    assert first_runs(job_list, {"a": now - 300, "b": now - 600, "c": now - 299}, now, gap=2) == {
        "a": 0,
        "b": 3000,
        "c": 1,
    }
    # a last run "in the future" (the clock was set back) waits one interval, not longer
    assert first_runs(job_list, {"a": now + HOURS, "b": now, "c": now}, now, gap=2)["a"] == 300


async def test_after_3_hours_down_the_overdue_jobs_run_once_promptly_and_the_others_keep_their_rhythm(
    tmp_path: Path,
) -> None:
    path, clock = tmp_path / "grove.db", FakeClock()
    t0 = clock.now()
    db = await Database.open(path)
    runs: dict[str, int] = {}
    runner = JobRunner(db, clock)
    for job in real_jobs(db, clock, runs):  # the bot ran every job at t0, then went down
        await runner.run(job)
    await db.close()
    assert set(runs) == OVERDUE | NOT_OVERDUE

    clock.advance(DOWN)
    db = await Database.open(path)
    runs.clear()
    job_list = real_jobs(db, clock, runs)
    scheduler = await start_scheduler(job_list, SETTINGS, JobRunner(db, clock), gap=0.01)
    try:
        await until(lambda: set(runs) >= OVERDUE)
        await asyncio.sleep(0.2)  # time for a second run, or a run of a job that is not due, to show up
        assert runs == dict.fromkeys(OVERDUE, 1)
        for job in job_list:  # the catch-up was the job's own first tick: the next follows one interval on
            expected = job.minutes * 60 if job.id in OVERDUE else 4 * HOURS - DOWN
            assert abs(seconds_until(scheduler, job.id) - expected) < 5, job.id
        async with db.read() as repo:
            last = await job_runs.last_runs(repo)
        assert last == {job.id: t0 + DOWN if job.id in OVERDUE else t0 for job in job_list}
    finally:
        scheduler.shutdown(wait=False)
        await db.close()


async def test_a_fresh_database_runs_every_job_at_start_up(db: Database, clock: FakeClock) -> None:
    runs: dict[str, int] = {}
    scheduler = await start_scheduler(real_jobs(db, clock, runs), SETTINGS, JobRunner(db, clock), gap=0.0)
    try:
        await until(lambda: len(runs) == len(OVERDUE | NOT_OVERDUE))
        assert set(runs.values()) == {1}
    finally:
        scheduler.shutdown(wait=False)


# ---------------------------------------------------------------------- never twice at once


class SlowJob:
    """A job whose pass waits for `release`, counting passes started and finished."""

    def __init__(self, job_id: str = "slow", minutes: float = 1) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.finished = 0
        self.job = Job(job_id, minutes, self.run, "a job that takes its time")

    async def run(self) -> int:
        self.started += 1
        await self.release.wait()
        self.finished += 1
        return 1


async def test_a_job_never_overlaps_itself(db: Database, clock: FakeClock) -> None:
    slow = SlowJob()
    runner = JobRunner(db, clock)
    scheduler = await start_scheduler([slow.job], SETTINGS, runner, gap=0.0)  # never ran: catches up at once
    refused = asyncio.Event()
    scheduler.add_listener(lambda _event: refused.set(), EVENT_JOB_MAX_INSTANCES)
    try:
        await until(lambda: slow.started == 1)
        assert runner.is_running("slow")
        # the interval tick comes round while the catch-up still runs: APScheduler declines to start it
        scheduler.modify_job("slow", next_run_time=dt.datetime.now(dt.UTC))
        await asyncio.wait_for(refused.wait(), 5)
        # a trigger from outside the scheduler is skipped by the job's own lock, not queued behind it
        assert await asyncio.wait_for(runner.run(slow.job), 1) is SKIPPED
        await asyncio.sleep(0.05)
        assert (slow.started, slow.finished) == (1, 0)

        slow.release.set()
        await until(lambda: slow.finished == 1 and not runner.is_running("slow"))
        async with db.read() as repo:
            assert await job_runs.run_count(repo, "slow") == 1
        # once it is done the next trigger runs again
        assert await runner.run(slow.job) == 1
        assert (slow.started, slow.finished) == (2, 2)
        async with db.read() as repo:
            assert await job_runs.run_count(repo, "slow") == 2
    finally:
        slow.release.set()
        scheduler.shutdown(wait=False)


async def test_concurrent_triggers_start_one_pass(db: Database, clock: FakeClock) -> None:
    slow = SlowJob()
    runner = JobRunner(db, clock)
    first = asyncio.create_task(runner.run(slow.job))
    await until(lambda: slow.started == 1)
    others = await asyncio.wait_for(asyncio.gather(*(runner.run(slow.job) for _ in range(5))), 1)
    assert others == [SKIPPED] * 5
    slow.release.set()
    assert await first == 1 and slow.started == 1


# ---------------------------------------------------------------------- the run record


async def test_the_last_run_is_kept_across_a_restart(tmp_path: Path) -> None:
    path, clock = tmp_path / "grove.db", FakeClock()
    t0 = clock.now()
    job = Job("tidy", 60, lambda: asyncio.sleep(0, result=3), "tidy up")
    db = await Database.open(path)
    try:
        assert await JobRunner(db, clock).last_runs() == {}
        assert await JobRunner(db, clock).run(job) == 3
    finally:
        await db.close()
    clock.advance(30 * 60)
    db = await Database.open(path)
    scheduler = None
    try:
        runner = JobRunner(db, clock)
        assert await runner.last_runs() == {"tidy": t0}
        # half an interval later, the restarted scheduler waits the other half instead of running now
        scheduler = await start_scheduler([job], SETTINGS, runner, paused=True)
        assert abs(seconds_until(scheduler, "tidy") - 30 * 60) < 5
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await db.close()


async def test_a_failed_run_is_logged_not_recorded_and_retried_at_the_next_tick(
    db: Database, clock: FakeClock, discord_errors: DiscordErrorLog
) -> None:
    attempts: list[float] = []

    async def flaky() -> int:
        attempts.append(clock.now())
        if len(attempts) == 1:
            raise RuntimeError("the database was busy")
        return 1

    runner = JobRunner(db, clock)
    scheduler = await start_scheduler([Job("flaky", 5, flaky, "fails once")], SETTINGS, runner, gap=0.0)
    try:
        await until(lambda: bool(discord_errors.pop("scheduled job flaky failed")))
        discord_errors.pop("the database was busy")  # APScheduler logs it as well
        assert await runner.last_runs() == {}  # nothing recorded: at the next start it would still be overdue
        assert 250 < seconds_until(scheduler, "flaky") <= 300  # tried again next interval, not in a loop
        clock.advance(5 * 60)
        scheduler.modify_job("flaky", next_run_time=dt.datetime.now(dt.UTC))  # that next tick, now
        await until(lambda: len(attempts) == 2 and not runner.is_running("flaky"))
        assert await runner.last_runs() == {"flaky": attempts[1]}
    finally:
        scheduler.shutdown(wait=False)


async def test_a_run_cut_short_by_the_shutdown_is_not_an_error(db: Database, clock: FakeClock) -> None:
    slow = SlowJob()
    runner = JobRunner(db, clock)
    scheduler = await start_scheduler([slow.job], SETTINGS, runner, gap=0.0)
    await until(lambda: slow.started == 1)
    scheduler.shutdown(wait=False)  # as Grove.close does: APScheduler cancels the run under way
    await until(lambda: not runner.is_running("slow"))
    assert slow.finished == 0
    assert await runner.last_runs() == {}  # not recorded: it catches up at the next start
    assert await asyncio.wait_for(runner.run(slow.job), 1) is SKIPPED  # nothing new starts while stopping
    # (the autouse discord_errors fixture fails the test if APScheduler or Grove logged an error)


# ---------------------------------------------------------------------- the bot, restarted


async def test_the_bot_reschedules_from_the_run_record_at_every_start(env: Env) -> None:
    for job in env.bot.jobs:
        await env.bot.job_runner.run(job)
    env.clock.advance(DOWN)
    await env.restart()
    for job_id in OVERDUE:
        assert seconds_until(env.bot.scheduler, job_id) < len(OVERDUE) * 1.5, job_id  # staggered from now
    for job_id in NOT_OVERDUE:
        assert abs(seconds_until(env.bot.scheduler, job_id) - (4 * HOURS - DOWN)) < 5, job_id


async def test_a_task_that_expired_while_the_bot_was_down_returns_the_members_text(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    env.clock.advance(3 * 24 * 3600)  # the modal stays open for days; the bot restarts meanwhile
    await env.restart()
    [expiry] = [job for job in env.bot.jobs if job.id == "task-expiry"]
    assert await env.bot.job_runner.run(expiry) >= 1  # the catch-up marks the task expired
    member = await env.member_id(env.alice)
    assert (await env.bot.engine.get_task(task_id, member)).status is TaskStatus.EXPIRED
    refused = await env.sim.submit_modal(opened, env.alice, {"text": "written over a long weekend"})
    assert refused.ephemeral and "expired" in refused.text()
    assert "written over a long weekend" in refused.text()


async def test_a_pending_task_and_its_draft_survive_a_restart(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    shown = await env.sim.submit_modal(opened, env.alice, {"text": "Half a thought, saved"})
    await env.restart()
    member = await env.member_id(env.alice)
    task = await env.bot.engine.get_task(task_id, member)
    assert task.status is TaskStatus.PENDING and task.draft == "Half a thought, saved"
    # Edit on the card shown before the restart reopens the modal with the draft in it
    edit = next(c for c in shown.custom_ids() if c.startswith(f"g:t:{task_id}:write"))
    reopened = await env.sim.click(shown.message, edit, env.alice)
    assert reopened.kind == 9 and "Half a thought, saved" in str(reopened.modal)


async def test_a_restart_with_lower_thresholds_moves_the_trees_they_let_through(env: Env) -> None:
    """The operator lowers `num_reviews_reply` and `num_required_rankings` and restarts: the start-up check gives the
    verdict two reviews now reach, and exports the tree whose answers now have rankings enough."""
    env.engine_overrides.update(goal_tree_size=4, min_goal_tree_size=4, num_reviews_reply=3, recent_tasks_span_sec=0)
    await env.restart()
    engine = env.bot.engine
    users = [await engine.ensure_user("test", f"u{i}", f"User {i}") for i in range(12)]
    for user in users:
        await engine.give_consent(user)
    d = Driver(engine, env.clock, users)
    ranked, _ = await ranking_tree(d)
    for user in users[9:11]:  # two of the three rankings it needs
        task = await engine.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)
        await engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
    growing = await d.growing_tree(users[1])
    waiting = await answer(d, users[2], TaskType.ASSISTANT_REPLY, growing)
    for user in users[3:5]:  # two of the three reviews it needs
        task = await engine.next_task(user, "en", TaskType.LABEL_ASSISTANT_REPLY)
        await engine.submit_labels(task.id, user, fill_labels(task, {"spam": 0.0}))
    assert (await engine.message(waiting)).review_result is None
    assert (await engine.tree_status(ranked)).state is TreeState.RANKING

    env.engine_overrides.update(num_reviews_reply=2, num_required_rankings=2)
    await env.restart()  # no job runs (start_jobs=False): only the start-up check can move them
    engine = env.bot.engine
    assert (await engine.message(waiting)).review_result is True
    assert (await engine.tree_status(ranked)).state is TreeState.READY_FOR_EXPORT
