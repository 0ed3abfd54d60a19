"""Every SQL statement the dashboard, its HTTP API and the metrics exporters send, by name.

As pgjobs.queries for the client: each statement calls exactly one public ``app_jobs``
function and reads or writes no table itself (tests/python/test_architecture.py enforces it).
Parameters are named (``%(name)s``).
"""

from __future__ import annotations

from typing import Final

# -- overview ---------------------------------------------------------------------------------

#: Per (task, queue): live counts, the last hour's completions and failures, oldest queued age.
QUEUE_STATS: Final = """
SELECT * FROM app_jobs.queue_stats()
"""

#: Finished jobs per minute and task over the last ``since``.
JOB_THROUGHPUT: Final = """
SELECT * FROM app_jobs.job_throughput(since := %(since)s)
"""

LIST_WORKERS: Final = """
SELECT * FROM app_jobs.list_workers()
"""

# -- jobs -------------------------------------------------------------------------------------

LIST_JOBS: Final = """
SELECT * FROM app_jobs.list_jobs(
  status := %(status)s, task := %(task)s, queue := %(queue)s, db_id := %(db_id)s,
  correlation_id := %(correlation_id)s, row_limit := %(row_limit)s, row_offset := %(row_offset)s)
"""

#: list_jobs with a payload filter: live jobs and a bounded window of history.
SEARCH_JOBS: Final = """
SELECT * FROM app_jobs.search_jobs(
  payload_contains := %(payload_contains)s::jsonb, payload_text := %(payload_text)s,
  status := %(status)s, task := %(task)s, queue := %(queue)s, db_id := %(db_id)s,
  correlation_id := %(correlation_id)s, history_window := %(history_window)s,
  row_limit := %(row_limit)s, row_offset := %(row_offset)s)
"""

FIND_JOB: Final = """
SELECT * FROM app_jobs.find_job(job_id := %(job_id)s, with_attempts := true)
"""

#: A job's dependency edges, both ways, with the other end's status (0.5.0).
JOB_DEPENDENCIES: Final = """
SELECT * FROM app_jobs.list_job_dependencies(job_id := %(job_id)s)
"""

RERUN_JOB: Final = """
SELECT * FROM app_jobs.rerun_job(job_id := %(job_id)s)
"""

CANCEL_JOB: Final = """
SELECT * FROM app_jobs.cancel_job(job_id := %(job_id)s)
"""

#: How many waiting jobs cancel_jobs would cancel now (for its confirmation), up to 10,000.
COUNT_UPCOMING: Final = """
SELECT count(*) AS waiting FROM app_jobs.list_jobs(
  status := '{pending,scheduled,retrying}', task := %(task)s, queue := %(queue)s,
  db_id := %(db_id)s, row_limit := 10000)
"""

CANCEL_UPCOMING: Final = """
SELECT app_jobs.cancel_jobs(
  task := %(task)s, queue := %(queue)s, db_id := %(db_id)s, all_tenants := %(all_tenants)s
) AS cancelled
"""

# -- schedules --------------------------------------------------------------------------------

LIST_SCHEDULES: Final = """
SELECT * FROM app_jobs.list_scheduled_jobs(db_id := NULL)
"""

ENABLE_SCHEDULE: Final = """
SELECT id, enabled FROM app_jobs.enable_scheduled_job(
  scheduled_job_id := %(scheduled_job_id)s, enabled := %(enabled)s)
"""

RUN_SCHEDULE: Final = """
SELECT id FROM app_jobs.run_scheduled_job(scheduled_job_id := %(scheduled_job_id)s)
"""

# -- the HTTP API for serverless platforms ------------------------------------------------------

RUN_DUE_SCHEDULES: Final = """
SELECT count(*) AS enqueued FROM app_jobs.run_due_schedules()
"""

RECLAIM_STUCK_JOBS: Final = """
SELECT app_jobs.reclaim_stuck_jobs(older_than := %(older_than)s) AS reclaimed
"""

CLEANUP_JOBS: Final = """
SELECT * FROM app_jobs.cleanup_jobs(older_than := %(older_than)s)
"""

# -- metrics ----------------------------------------------------------------------------------

#: Ready jobs per task and queue, recounted at most once per max_age by one caller.
QUEUE_GAUGES: Final = """
SELECT * FROM app_jobs.queue_gauges(max_age := %(max_age)s)
"""

ALL: Final[dict[str, str]] = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
}
