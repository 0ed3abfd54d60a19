"""Every SQL statement the pgjobs client sends, by name.

Python never re-implements queue logic: each statement here only calls a function of the
``app_jobs`` schema (tests/python/test_architecture.py enforces it), so the Python client and a
client in any other language behave the same. Parameters are named (``%(name)s``); each
statement returns whole ``app_jobs.jobs`` rows where it returns jobs.
"""

from __future__ import annotations

from typing import Final

ADD_JOB: Final = """
SELECT * FROM app_jobs.add_job(
  db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
  job_key := %(job_key)s, queue_name := %(queue_name)s, run_at := %(run_at)s,
  max_attempts := %(max_attempts)s, priority := %(priority)s)
"""

ADD_JOB_DELAYED: Final = """
SELECT * FROM app_jobs.add_job(
  db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
  job_key := %(job_key)s, queue_name := %(queue_name)s, run_at := now() + %(delay)s,
  max_attempts := %(max_attempts)s, priority := %(priority)s)
"""

ADD_JOBS: Final = """
SELECT * FROM app_jobs.add_jobs(specs := %(specs)s::app_jobs.job_spec[])
"""

GET_JOB: Final = """
SELECT * FROM app_jobs.get_job(
  worker_id := %(worker_id)s, task_identifiers := %(task_identifiers)s,
  job_expiry := %(job_expiry)s)
"""

CLAIM_JOB: Final = """
SELECT * FROM app_jobs.claim_job(worker_id := %(worker_id)s, job_id := %(job_id)s)
"""

COMPLETE_JOB: Final = """
SELECT * FROM app_jobs.complete_job(worker_id := %(worker_id)s, job_id := %(job_id)s)
"""

FAIL_JOB: Final = """
SELECT * FROM app_jobs.fail_job(
  worker_id := %(worker_id)s, job_id := %(job_id)s, error_message := %(error_message)s,
  permanent := %(permanent)s)
"""

HEARTBEAT: Final = """
SELECT app_jobs.heartbeat(worker_id := %(worker_id)s, lease := %(lease)s) AS held
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

# Test support (pgjobs.testing): the waiting jobs of these tasks that are due later, due now.
RUN_LATER_JOBS_NOW: Final = """
SELECT * FROM app_jobs.reschedule_jobs(
  job_ids := ARRAY(SELECT j.id FROM app_jobs.jobs AS j
                    WHERE j.state = 'scheduled' AND j.task_identifier = ANY(%(tasks)s)),
  run_at := now())
"""

ALL: Final[dict[str, str]] = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
}
