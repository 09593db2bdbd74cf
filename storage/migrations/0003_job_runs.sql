-- The scheduled jobs' memory across restarts: when each job last completed a run.
-- At start-up a job whose last run is an interval or more ago (or that never ran) catches up at once.

CREATE TABLE job_runs (
    job_id TEXT PRIMARY KEY,            -- the scheduler's job id, e.g. 'task-expiry'
    last_run REAL NOT NULL,             -- when the last successful run began (UTC epoch seconds)
    finished_at REAL NOT NULL,          -- when it ended
    runs INTEGER NOT NULL DEFAULT 1 CHECK (runs >= 1)  -- successful runs so far
) WITHOUT ROWID;
