-- Deploy pgjobs:types/job_info to pg
-- requires: schema
-- One shape for every job, waiting, running or finished: what find_job, list_jobs,
-- recent_jobs, cancel_job and rerun_job return. `status` is the one vocabulary: pending,
-- scheduled, running, retrying (live, in app_jobs.jobs) and completed, failed, cancelled
-- (finished, in app_jobs.job_history).

BEGIN;

CREATE TYPE app_jobs.job_info AS (
  id bigint,
  uid uuid,
  status text,
  database_id uuid,
  task_identifier text,
  queue_name text,
  key text,
  correlation_id text,
  payload jsonb,
  priority integer,
  run_at timestamptz,
  attempts integer,
  max_attempts integer,
  last_error text,
  result jsonb,
  progress numeric,
  progress_message text,
  worker_id text,
  created_at timestamptz,
  first_started_at timestamptz,
  locked_at timestamptz,
  finished_at timestamptz,
  duration interval,
  cancel_requested_at timestamptz,
  rerun_of bigint,
  scheduled_job_id bigint,
  attempt_log jsonb
);

REVOKE ALL ON TYPE app_jobs.job_info FROM PUBLIC;

COMMENT ON TYPE app_jobs.job_info IS
  'A job, live or finished. status: pending (due, waiting for a worker), scheduled (run_at in the future), running, retrying (an attempt failed; waiting for the next), completed, failed, cancelled. worker_id and locked_at: the current or final attempt; duration: how long that attempt ran (so far); attempt_log: the attempts (find_job with with_attempts), else NULL.';

COMMIT;
