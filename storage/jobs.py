"""The scheduled jobs' run record (table job_runs): when each job last completed a run.

A read/write model like the others: reached as `repo.jobs` inside a `Database.transaction()` or
`read()`, so the unit of work stays the Database's. The module functions keep the older call form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.sql import Queries

if TYPE_CHECKING:
    from storage.repository import Repository


class JobRuns(Queries):
    async def last_runs(self) -> dict[str, float]:
        """job id -> when its last successful run began (epoch seconds); jobs that never ran are absent."""
        rows = await self._all("SELECT job_id, last_run FROM job_runs")
        return {str(r["job_id"]): float(r["last_run"]) for r in rows}

    async def record_run(self, job_id: str, started: float, finished: float) -> None:
        """Remember a successful run of `job_id` that began at `started`."""
        await self._run(
            """INSERT INTO job_runs (job_id, last_run, finished_at) VALUES (?, ?, ?)
               ON CONFLICT (job_id) DO UPDATE SET last_run = excluded.last_run,
                   finished_at = excluded.finished_at, runs = job_runs.runs + 1""",
            (job_id, started, finished),
        )

    async def run_count(self, job_id: str) -> int:
        """Successful runs of `job_id` recorded so far (0 if it never ran)."""
        return int(await self._scalar("SELECT runs FROM job_runs WHERE job_id = ?", (job_id,)) or 0)


async def last_runs(repo: Repository) -> dict[str, float]:
    return await repo.jobs.last_runs()


async def record_run(repo: Repository, job_id: str, started: float, finished: float) -> None:
    await repo.jobs.record_run(job_id, started, finished)


async def run_count(repo: Repository, job_id: str) -> int:
    return await repo.jobs.run_count(job_id)
