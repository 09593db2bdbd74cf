"""Scheduled jobs: thin async functions over the engine, on an in-memory APScheduler rebuilt at start-up.

The database is the source of truth; every job is idempotent, so a missed or repeated run only
does its work later or finds nothing to do. What the scheduler must remember across a restart is
kept in the database too: each job's last successful run (table `job_runs`, storage/jobs.py).

Catch-up after downtime (the policy):
- A run is recorded only when it succeeds, with the injected clock's time at which it began. A run
  that raises is logged (`_log_failure`) and simply tried again at the next tick.
- At start-up, a job that never ran, or whose last run began an interval or more ago, is overdue.
  Overdue jobs run once, soon: their interval job's first tick is set `CATCH_UP_GAP` seconds apart,
  in the order of `jobs()`, so the first interactions after a restart do not queue behind all
  eleven at once. One run covers any number of missed intervals (the jobs work from the state of
  the database, not per interval), and the ticks after it follow the interval from there.
- A job that is not overdue keeps its rhythm: its first tick is at its last run plus its interval.
- A job never runs twice at once. The catch-up is the interval job's own first tick, so APScheduler's
  max_instances=1 and coalesce=True cover it; and every run goes through `JobRunner.run`, which holds
  a per-job lock: a trigger that arrives while the job runs is skipped, not queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_ERROR, EVENT_SCHEDULER_SHUTDOWN, JobExecutionEvent  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.config import SchedulerSettings
from engine.clock import Clock
from engine.engine import Engine
from engine.stats import Stats, TimeFrame
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    minutes: float
    run: Callable[[], Awaitable[object]]
    what: str


def jobs(engine: Engine, stats: Stats, settings: SchedulerSettings) -> list[Job]:
    """Every scheduled job with its interval; `run` does one pass (tests call it directly)."""

    async def per_language(step: Callable[[Engine, str], Awaitable[int | str | None]]) -> int:
        """One pass per community and language: each community's pool is its own."""
        done = 0
        for community, lang in await engine.community_languages():
            result = await step(engine.scoped(community), lang)
            done += int(bool(result)) if not isinstance(result, int) else result
        return done

    async def lottery() -> int:
        return await per_language(lambda e, lang: e.run_prompt_lottery(lang))

    async def moderation() -> int:
        return await per_language(lambda e, lang: e.run_auto_moderation(lang))

    async def backlog() -> int:
        return await per_language(lambda e, lang: e.activate_backlog(lang))

    def refresh(frame: TimeFrame) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            return await stats.refresh(frame)

        return run

    s = settings
    return [
        Job("prompt-lottery", s.prompt_lottery, lottery, "activate waiting prompts per language"),
        Job("auto-moderation", s.auto_moderation, moderation, "act on flagged and often-skipped messages"),
        Job("task-expiry", s.task_expiry, engine.expire_tasks, "mark tasks past their validity expired"),
        Job("scoring-retry", s.scoring_retry, engine.retry_scoring, "score trees whose scoring failed"),
        Job("backlog-activation", s.backlog_activation, backlog, "move backlog trees into ranking"),
        Job(
            "halt-banned-prompts",
            s.halt_banned_prompts,
            engine.halt_prompts_of_disabled_users,
            "halt waiting prompts of banned members",
        ),
        Job(
            "reconcile",
            s.reconcile,
            engine.reconcile,
            "re-check active trees under the current thresholds; drop ended slot leases",
        ),
        Job("streak-reset", s.streak_reset, engine.reset_streaks, "reset streaks after 36 h without activity"),
        Job("leaderboard-day", s.leaderboard_day, refresh(TimeFrame.DAY), "refresh today's leaderboard"),
        Job("leaderboard-week", s.leaderboard_week, refresh(TimeFrame.WEEK), "refresh this week's leaderboard"),
        Job("leaderboard-month", s.leaderboard_month, refresh(TimeFrame.MONTH), "refresh this month's leaderboard"),
        Job("leaderboard-total", s.leaderboard_total, refresh(TimeFrame.TOTAL), "refresh the all-time leaderboard"),
    ]


CATCH_UP_GAP = 1.0  # seconds between the catch-up runs of overdue jobs at start-up
SKIPPED = object()  # JobRunner.run's result when the job was already running


class JobRunner:
    """Runs jobs one instance per job at a time and records each success in `job_runs`."""

    def __init__(self, db: Store, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._stopping = False

    def now(self) -> float:
        return self._clock.now()

    def is_running(self, job_id: str) -> bool:
        lock = self._locks.get(job_id)
        return lock is not None and lock.locked()

    def stop(self) -> None:
        """The scheduler is shutting down (it cancels the runs under way): start nothing more, and let a
        run cut short go unrecorded, to catch up at the next start, rather than be reported as a failure."""
        self._stopping = True

    async def run(self, job: Job) -> object:
        """One pass of `job` and its record; `SKIPPED` if a pass of it is already under way."""
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        if lock.locked():  # checked and taken with no await in between: no other task can slip in
            log.info("scheduled job %s is still running; this trigger is skipped", job.id)
            return SKIPPED
        if self._stopping:
            return SKIPPED
        async with lock:
            started = self._clock.now()
            # With several bot processes on one database (PostgreSQL), one of them runs each tick of a job.
            async with self._db.job_claim(job.id, started, job.minutes * 60) as mine:
                if not mine:
                    log.info("scheduled job %s ran in another process this interval; this trigger is skipped", job.id)
                    return SKIPPED
                try:
                    result = await job.run()
                    async with self._db.transaction() as repo:
                        await repo.jobs.record_run(job.id, started, self._clock.now())
                except (Exception, asyncio.CancelledError) as exc:
                    if not self._stopping:
                        raise
                    log.info("scheduled job %s was cut short by the shutdown (%r); it catches up later", job.id, exc)
                    return SKIPPED
                return result

    async def last_runs(self) -> dict[str, float]:
        async with self._db.read() as repo:
            return await repo.jobs.last_runs()


def is_overdue(job: Job, last_run: float | None, now: float) -> bool:
    """A job that never ran, or whose last run began an interval or more ago."""
    return last_run is None or now - last_run >= job.minutes * 60


def first_runs(
    job_list: list[Job], last_runs: Mapping[str, float], now: float, gap: float = CATCH_UP_GAP
) -> dict[str, float]:
    """Seconds from start-up to each job's first tick: overdue jobs staggered `gap` apart from 0,
    the others at their last run plus their interval."""
    delays: dict[str, float] = {}
    overdue = 0
    for job in job_list:
        last, interval = last_runs.get(job.id), job.minutes * 60
        if last is None or is_overdue(job, last, now):
            delays[job.id] = overdue * gap
            overdue += 1
        else:  # a last run "in the future" (the clock was set back) waits one interval at most
            delays[job.id] = min(last + interval - now, interval)
    return delays


def build_scheduler(
    job_list: list[Job],
    settings: SchedulerSettings,
    runner: JobRunner,
    delays: Mapping[str, float] | None = None,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler (in-memory store) holding `job_list`, each job's first tick `delays[id]`
    seconds from now (default: one interval); start it inside the running loop."""
    scheduler = AsyncIOScheduler(
        job_defaults={"misfire_grace_time": settings.misfire_grace_seconds, "coalesce": True, "max_instances": 1},
        timezone="UTC",
    )
    start = dt.datetime.now(dt.UTC)  # APScheduler keeps wall-clock time; only the delays come from our clock
    for job in job_list:
        delay = job.minutes * 60 if delays is None else delays[job.id]
        scheduler.add_job(
            runner.run,
            IntervalTrigger(minutes=job.minutes, timezone="UTC"),
            args=(job,),
            id=job.id,
            name=job.what,
            replace_existing=True,
            next_run_time=start + dt.timedelta(seconds=delay),
        )
    scheduler.add_listener(_log_failure, EVENT_JOB_ERROR)
    scheduler.add_listener(lambda _event: runner.stop(), EVENT_SCHEDULER_SHUTDOWN)
    return scheduler


async def start_scheduler(
    job_list: list[Job],
    settings: SchedulerSettings,
    runner: JobRunner,
    *,
    paused: bool = False,
    gap: float = CATCH_UP_GAP,
) -> AsyncIOScheduler:
    """Build and start the scheduler with overdue jobs caught up first (see the module docstring)."""
    last_runs, now = await runner.last_runs(), runner.now()
    delays = first_runs(job_list, last_runs, now, gap)
    overdue = [job.id for job in job_list if is_overdue(job, last_runs.get(job.id), now)]
    scheduler = build_scheduler(job_list, settings, runner, delays)
    scheduler.start(paused=paused)
    log.info("scheduler started%s; catching up %s", " (paused)" if paused else "", ", ".join(overdue) or "nothing")
    return scheduler


def _log_failure(event: JobExecutionEvent) -> None:
    log.error("scheduled job %s failed", event.job_id, exc_info=event.exception)
