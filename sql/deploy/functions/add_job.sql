-- Deploy pgjobs:functions/add_job to pg
-- requires: functions/add_job@v0.3.0
-- requires: functions/_add_jobs
-- The contract's enqueue: add_job(db_id, identifier, payload, job_key, queue_name, run_at,
-- max_attempts, priority) (and correlation_id, backoff). It is the one-element case of the
-- set-based app_jobs._add_jobs behind add_jobs: one implementation of the checks, the
-- defaults and the job keys (a waiting job with the key is replaced in place; a running one is
-- left to finish without a retry and a new job takes the key).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.add_job(
  db_id uuid,
  identifier text,
  payload json DEFAULT '{}',
  job_key text DEFAULT NULL,
  queue_name text DEFAULT NULL,
  run_at timestamptz DEFAULT pg_catalog.now(),
  max_attempts integer DEFAULT 25,
  priority integer DEFAULT 0,
  correlation_id text DEFAULT NULL,
  backoff jsonb DEFAULT NULL)
RETURNS app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  db_id := app_jobs._tenant(db_id, 'add_job');  -- tenant isolation (issue 15)
  -- PL/pgSQL rather than SQL: its statement plans are cached for the session.
  SELECT * INTO v_job
    FROM app_jobs._add_jobs(
           ARRAY[ROW(db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                     priority)::app_jobs.job_spec],
           ARRAY[correlation_id], ARRAY[backoff], 'add_job');
  RETURN v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb) IS
  'Enqueues a job and returns its row. db_id: tenant (NULL = the default tenant, the nil uuid); identifier: task name; payload: JSON arguments; job_key: optional key, unique per tenant (an existing waiting job with the key is replaced in place, with attempts and last_error reset; a running one finishes undisturbed without retry and a new job takes the key); queue_name: optional serial queue of the tenant; run_at: not before (default now); max_attempts (default 25); priority: lower runs first (default 0); correlation_id: optional id tying related jobs together (list_jobs filters on it); backoff: optional retry delay options of this job ({"strategy": "exponential"|"linear"|"fixed"|"none", "base": seconds, "cap": seconds, "jitter": 0-1}), else fail_job''s, else exp(min(attempts, 10)) seconds. Sends NOTIFY "jobs:insert" unless run_at is in the future.';

COMMIT;
