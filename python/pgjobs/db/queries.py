"""Every SQL statement the pgjobs client sends, by name.

Python never re-implements queue logic: each statement here only calls a function of the
``app_jobs`` schema (tests/python/test_architecture.py enforces it), so the Python client and a
client in any other language behave the same. Parameters are named (``%(name)s``); each
statement returns whole ``app_jobs.jobs`` rows where it returns jobs.
"""

from __future__ import annotations

from typing import Final

#: The version of a schema that has no ``app_jobs.schema_version()`` (it came in 0.2.0).
SCHEMA_WITHOUT_VERSION: Final = "0.1.0"

ADD_JOB: Final = """
SELECT * FROM app_jobs.add_job(
  db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
  job_key := %(job_key)s, queue_name := %(queue_name)s, run_at := %(run_at)s,
  max_attempts := %(max_attempts)s, priority := %(priority)s,
  correlation_id := %(correlation_id)s, backoff := %(backoff)s::jsonb,
  timeout := %(timeout)s::interval, job_key_mode := %(job_key_mode)s,
  depends_on := %(depends_on)s::bigint[])
"""

ADD_JOB_DELAYED: Final = """
SELECT * FROM app_jobs.add_job(
  db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
  job_key := %(job_key)s, queue_name := %(queue_name)s, run_at := now() + %(delay)s,
  max_attempts := %(max_attempts)s, priority := %(priority)s,
  correlation_id := %(correlation_id)s, backoff := %(backoff)s::jsonb,
  timeout := %(timeout)s::interval, job_key_mode := %(job_key_mode)s,
  depends_on := %(depends_on)s::bigint[])
"""

ADD_JOBS: Final = """
SELECT * FROM app_jobs.add_jobs(
  specs := %(specs)s::app_jobs.job_spec[], timeouts := %(timeouts)s::interval[],
  correlation_ids := %(correlation_ids)s::text[], backoffs := %(backoffs)s::jsonb[],
  job_key_mode := %(job_key_mode)s, depends_on := %(depends_on)s::jsonb[])
"""

#: add_jobs when only the new jobs' ids are wanted: the rows stay in the database.
ADD_JOBS_IDS: Final = """
SELECT id FROM app_jobs.add_jobs(
  specs := %(specs)s::app_jobs.job_spec[], timeouts := %(timeouts)s::interval[],
  correlation_ids := %(correlation_ids)s::text[], backoffs := %(backoffs)s::jsonb[],
  job_key_mode := %(job_key_mode)s, depends_on := %(depends_on)s::jsonb[])
"""

GET_JOB: Final = """
SELECT * FROM app_jobs.get_job(
  worker_id := %(worker_id)s, task_identifiers := %(task_identifiers)s,
  job_expiry := %(job_expiry)s)
"""

GET_JOBS: Final = """
SELECT * FROM app_jobs.get_jobs(
  worker_id := %(worker_id)s, task_identifiers := %(task_identifiers)s,
  job_expiry := %(job_expiry)s, batch_size := %(batch_size)s)
"""

# The worker's claims (0.4.0): started := true for jobs that run at once, false for its
# buffer (see START_JOBS).
GET_JOBS_CLAIM: Final = """
SELECT * FROM app_jobs.get_jobs(
  worker_id := %(worker_id)s, task_identifiers := %(task_identifiers)s,
  job_expiry := %(job_expiry)s, batch_size := %(batch_size)s, started := %(started)s)
"""

# The worker's batch of outcomes: completions and failures (fail_job's arguments per element).
FINISH_OUTCOMES: Final = """
SELECT * FROM app_jobs.finish_jobs(
  worker_id := %(worker_id)s, job_ids := %(job_ids)s, results := %(results)s::json[],
  error_messages := %(error_messages)s, error_details := %(error_details)s::json[],
  permanent := %(permanent)s, backoffs := %(backoffs)s::json[])
"""

START_JOBS: Final = """
SELECT app_jobs.start_jobs(worker_id := %(worker_id)s, job_ids := %(job_ids)s) AS started
"""

SETTLE_JOBS: Final = """
SELECT * FROM app_jobs.settle_jobs(
  worker_id := %(worker_id)s, job_ids := %(job_ids)s, fail_started := %(fail_started)s)
"""

FINISH_JOBS: Final = """
SELECT * FROM app_jobs.finish_jobs(
  worker_id := %(worker_id)s, job_ids := %(job_ids)s, results := %(results)s::json[])
"""

CLAIM_JOB: Final = """
SELECT * FROM app_jobs.claim_job(worker_id := %(worker_id)s, job_id := %(job_id)s)
"""

COMPLETE_JOB: Final = """
SELECT * FROM app_jobs.complete_job(
  worker_id := %(worker_id)s, job_id := %(job_id)s, result := %(result)s::jsonb)
"""

FAIL_JOB: Final = """
SELECT * FROM app_jobs.fail_job(
  worker_id := %(worker_id)s, job_id := %(job_id)s, error_message := %(error_message)s,
  permanent := %(permanent)s, error_details := %(error_details)s::jsonb,
  backoff := %(backoff)s::jsonb)
"""

HEARTBEAT: Final = """
SELECT app_jobs.heartbeat(worker_id := %(worker_id)s, lease := %(lease)s) AS held
"""

HEARTBEAT_INSTANCE: Final = """
SELECT app_jobs.heartbeat(
  worker_id := %(worker_id)s, lease := %(lease)s, instance := %(instance)s) AS held
"""

UNREGISTER_WORKER: Final = """
SELECT app_jobs.unregister_worker(worker_id := %(worker_id)s, instance := %(instance)s) AS ended
"""

RELEASE_JOBS: Final = """
SELECT * FROM app_jobs.release_jobs(worker_id := %(worker_id)s)
"""

SCHEMA_VERSION: Final = """
SELECT app_jobs.schema_version() AS version
"""

CREATE_HISTORY_PARTITIONS: Final = """
SELECT app_jobs.create_history_partitions(days_ahead := %(days_ahead)s) AS created
"""

REMOVE_JOB: Final = """
SELECT * FROM app_jobs.remove_job(job_key := %(job_key)s, db_id := %(db_id)s)
"""

RESCHEDULE_JOBS: Final = """
SELECT * FROM app_jobs.reschedule_jobs(
  job_ids := %(job_ids)s, run_at := %(run_at)s, priority := %(priority)s,
  attempts := %(attempts)s, max_attempts := %(max_attempts)s)
"""

# Test support (the pytest plugin's drain(later=True)): these tasks' later jobs, due now.
RUN_JOBS_NOW: Final = """
SELECT * FROM app_jobs.run_jobs_now(task_identifiers := %(task_identifiers)s)
"""

ADD_SCHEDULED_JOB: Final = """
SELECT * FROM app_jobs.add_scheduled_job(
  db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
  schedule_info := %(schedule_info)s::json, job_key := %(job_key)s, queue_name := %(queue_name)s,
  max_attempts := %(max_attempts)s, priority := %(priority)s, cron := %(cron)s, tz := %(tz)s,
  missed_runs := %(missed_runs)s, backfill_limit := %(backfill_limit)s,
  backfill_window := %(backfill_window)s, correlation_id := %(correlation_id)s,
  backoff := %(backoff)s::jsonb, timeout := %(timeout)s)
"""

RUN_DUE_SCHEDULES: Final = """
SELECT * FROM app_jobs.run_due_schedules()
"""

RUN_SCHEDULED_JOB: Final = """
SELECT * FROM app_jobs.run_scheduled_job(scheduled_job_id := %(scheduled_job_id)s)
"""

ENABLE_SCHEDULED_JOB: Final = """
SELECT * FROM app_jobs.enable_scheduled_job(
  scheduled_job_id := %(scheduled_job_id)s, enabled := %(enabled)s)
"""

FIND_SCHEDULED_JOB: Final = """
SELECT * FROM app_jobs.find_scheduled_job(job_key := %(job_key)s, db_id := %(db_id)s)
"""

LIST_SCHEDULED_JOBS: Final = """
SELECT * FROM app_jobs.list_scheduled_jobs(db_id := %(db_id)s)
"""

# -- the lifecycle: every statement returns app_jobs.job_info rows unless said otherwise ---------

FIND_JOB: Final = """
SELECT * FROM app_jobs.find_job(
  job_id := %(job_id)s, job_uid := %(job_uid)s, with_attempts := %(with_attempts)s)
"""

#: A job's dependency edges, both ways, with the other end's status (0.5.0).
LIST_JOB_DEPENDENCIES: Final = """
SELECT * FROM app_jobs.list_job_dependencies(job_id := %(job_id)s)
"""

LIST_JOBS: Final = """
SELECT * FROM app_jobs.list_jobs(
  status := %(status)s, task := %(task)s, queue := %(queue)s, db_id := %(db_id)s,
  correlation_id := %(correlation_id)s, row_limit := %(row_limit)s, row_offset := %(row_offset)s)
"""

RECENT_JOBS: Final = """
SELECT * FROM app_jobs.recent_jobs(row_limit := %(row_limit)s)
"""

WATCH_JOB: Final = """
SELECT * FROM app_jobs.watch_job(job_id := %(job_id)s)
"""

CANCEL_JOB: Final = """
SELECT * FROM app_jobs.cancel_job(job_id := %(job_id)s)
"""

CANCEL_JOBS: Final = """
SELECT app_jobs.cancel_jobs(
  task := %(task)s, priority := %(priority)s, run_at := %(run_at)s, queue := %(queue)s,
  db_id := %(db_id)s, all_tenants := %(all_tenants)s) AS cancelled
"""

RERUN_JOB: Final = """
SELECT * FROM app_jobs.rerun_job(job_id := %(job_id)s)
"""

SET_PROGRESS: Final = """
SELECT app_jobs.set_progress(
  worker_id := %(worker_id)s, job_id := %(job_id)s, percent := %(percent)s,
  message := %(message)s) AS held
"""

RECLAIM_STUCK_JOBS: Final = """
SELECT app_jobs.reclaim_stuck_jobs(older_than := %(older_than)s) AS reclaimed
"""

CLEANUP_JOBS: Final = """
SELECT * FROM app_jobs.cleanup_jobs(older_than := %(older_than)s, statuses := %(statuses)s)
"""

#: Rows of (task_identifier, queue_name, queued, scheduled, running, retrying, total,
#: completed_last_hour, failed_last_hour, cancelled_last_hour, oldest_queued_age, avg_duration,
#: failure_rate).
QUEUE_STATS: Final = """
SELECT * FROM app_jobs.queue_stats()
"""

# -- task settings (0.4.0): app_jobs.task_settings, applied by every enqueue path ---------------

DECLARE_TASK_SETTINGS: Final = """
SELECT app_jobs.declare_task_settings(
  settings := %(settings)s::jsonb, code_version := %(code_version)s) AS written
"""

SET_TASK_SETTINGS: Final = """
SELECT * FROM app_jobs.set_task_settings(
  identifier := %(identifier)s, db_id := %(db_id)s, max_attempts := %(max_attempts)s,
  backoff := %(backoff)s::jsonb, priority := %(priority)s, queue_name := %(queue_name)s,
  timeout := %(timeout)s, retention := %(retention)s,
  payload_schema := %(payload_schema)s::jsonb)
"""

UNSET_TASK_SETTINGS: Final = """
SELECT app_jobs.unset_task_settings(
  identifier := %(identifier)s, db_id := %(db_id)s, settings := %(settings)s) AS changed
"""

LIST_TASK_SETTINGS: Final = """
SELECT * FROM app_jobs.list_task_settings(db_id := %(db_id)s)
"""

# -- pause and resume (0.4.0): app_jobs.job_pauses ----------------------------------------------

PAUSE_JOBS: Final = """
SELECT * FROM app_jobs.pause_jobs(
  task := %(task)s, queue := %(queue)s, db_id := %(db_id)s, reason := %(reason)s)
"""

RESUME_JOBS: Final = """
SELECT app_jobs.resume_jobs(task := %(task)s, queue := %(queue)s, db_id := %(db_id)s) AS resumed
"""

LIST_PAUSES: Final = """
SELECT * FROM app_jobs.list_pauses(db_id := %(db_id)s)
"""

PARK_PAUSED_JOBS: Final = """
SELECT app_jobs.park_paused_jobs(max_jobs := %(max_jobs)s) AS parked
"""

# -- limits and tenant fairness (0.5.0): app_jobs.job_limits, app_jobs.job_fairness ------------

SET_JOB_LIMIT: Final = """
SELECT * FROM app_jobs.set_job_limit(
  task := %(task)s, db_id := %(db_id)s, max_running := %(max_running)s,
  max_starts := %(max_starts)s, per_period := %(per_period)s)
"""

REMOVE_JOB_LIMIT: Final = """
SELECT app_jobs.remove_job_limit(task := %(task)s, db_id := %(db_id)s) AS removed
"""

LIST_JOB_LIMITS: Final = """
SELECT * FROM app_jobs.list_job_limits(db_id := %(db_id)s)
"""

SET_TENANT_FAIRNESS: Final = """
SELECT app_jobs.set_tenant_fairness(enabled := %(enabled)s) AS enabled
"""

# -- which tasks the live workers serve (issue 14) ---------------------------------------------

DECLARE_WORKER_TASKS: Final = """
SELECT app_jobs.declare_worker_tasks(
  worker_id := %(worker_id)s, task_identifiers := %(task_identifiers)s) AS declared
"""

#: Rows of (worker_id, alive, first_seen_at, last_heartbeat_at, lease_expires_at, running_jobs).
LIST_WORKERS: Final = """
SELECT * FROM app_jobs.list_workers()
"""

#: Rows of (task_identifier, queued, scheduled, running, oldest_queued_age, live_workers).
TASK_COVERAGE: Final = """
SELECT * FROM app_jobs.task_coverage(db_id := %(db_id)s)
"""

ALL: Final[dict[str, str]] = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, str) and name != "SCHEMA_WITHOUT_VERSION"
}
