"""Scheduled jobs: thin async functions over the engine, registered on an in-memory APScheduler at start-up.

The database is the source of truth; every job is idempotent, so a missed or repeated run only
does its work later or finds nothing to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import SchedulerSettings
from engine.engine import Engine
from engine.stats import Stats, TimeFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    minutes: float
    run: Callable[[], Awaitable[object]]
    what: str


def jobs(engine: Engine, stats: Stats, settings: SchedulerSettings) -> list[Job]:
    """Every scheduled job with its interval; `run` does one pass (tests call it directly)."""

    async def per_language(step: Callable[[str], Awaitable[int | str | None]]) -> int:
        done = 0
        for lang in await engine.languages():
            result = await step(lang)
            done += int(bool(result)) if not isinstance(result, int) else result
        return done

    async def lottery() -> int:
        return await per_language(engine.run_prompt_lottery)

    async def moderation() -> int:
        return await per_language(engine.run_auto_moderation)

    async def backlog() -> int:
        return await per_language(engine.activate_backlog)

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
        Job("streak-reset", s.streak_reset, engine.reset_streaks, "reset streaks after 36 h without activity"),
        Job("leaderboard-day", s.leaderboard_day, refresh(TimeFrame.DAY), "refresh today's leaderboard"),
        Job("leaderboard-week", s.leaderboard_week, refresh(TimeFrame.WEEK), "refresh this week's leaderboard"),
        Job("leaderboard-month", s.leaderboard_month, refresh(TimeFrame.MONTH), "refresh this month's leaderboard"),
        Job("leaderboard-total", s.leaderboard_total, refresh(TimeFrame.TOTAL), "refresh the all-time leaderboard"),
    ]


def build_scheduler(job_list: list[Job], settings: SchedulerSettings) -> AsyncIOScheduler:
    """An AsyncIOScheduler (in-memory store) holding `job_list`; start it inside the running loop."""
    scheduler = AsyncIOScheduler(
        job_defaults={"misfire_grace_time": settings.misfire_grace_seconds, "coalesce": True, "max_instances": 1},
        timezone="UTC",
    )
    for job in job_list:
        scheduler.add_job(
            job.run,
            IntervalTrigger(minutes=job.minutes, timezone="UTC"),
            id=job.id,
            name=job.what,
            replace_existing=True,
        )
    scheduler.add_listener(_log_failure, EVENT_JOB_ERROR)
    return scheduler


def _log_failure(event: JobExecutionEvent) -> None:
    log.error("scheduled job %s failed", event.job_id, exc_info=event.exception)
