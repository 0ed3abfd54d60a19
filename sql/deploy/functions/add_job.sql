-- Deploy pgjobs:functions/add_job to pg
-- requires: functions/add_job@v0.4.0
-- requires: functions/_add_jobs
-- requires: functions/_add_dependent_jobs
-- The contract's enqueue (see deploy/functions/add_job@v0.4.0.sql for its history). 0.5.0:
-- depends_on, appended last (every call written for 0.4.0 keeps its meaning): the ids of the
-- jobs this job waits for (app_jobs._add_dependent_jobs). Without it, the call is exactly the
-- 0.4.0 one: app_jobs._add_jobs, nothing more. A new parameter is a new signature: the 0.4.0
-- one is dropped first (no overloads) and its EXECUTE grants move to the new one.

BEGIN;

-- The grants of the function it replaces are given to the new signature (below).
SELECT pg_catalog.set_config('pgjobs.add_job_acl',
         coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc AS p
                    WHERE p.oid = 'app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text)'::pg_catalog.regprocedure), '{}'), true);

DROP FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text);

CREATE FUNCTION app_jobs.add_job(
  db_id uuid,
  identifier text,
  payload json DEFAULT '{}',
  job_key text DEFAULT NULL,
  queue_name text DEFAULT NULL,
  run_at timestamptz DEFAULT pg_catalog.now(),
  max_attempts integer DEFAULT NULL,
  priority integer DEFAULT NULL,
  correlation_id text DEFAULT NULL,
  backoff jsonb DEFAULT NULL,
  timeout interval DEFAULT NULL,
  job_key_mode text DEFAULT NULL,
  depends_on bigint[] DEFAULT NULL)
RETURNS app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job app_jobs.jobs;
BEGIN
  db_id := app_jobs._tenant(db_id, 'add_job');  -- tenant isolation (issue 15)
  IF depends_on IS NOT NULL THEN
    -- Job dependencies (0.5.0): the job waits for these jobs (app_jobs._add_dependent_jobs).
    SELECT * INTO v_job
      FROM app_jobs._add_dependent_jobs(
             ARRAY[ROW(db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                       priority)::app_jobs.job_spec],
             ARRAY[correlation_id], ARRAY[backoff], ARRAY[timeout], 'add_job', job_key_mode,
             ARRAY[pg_catalog.to_jsonb(depends_on)]);
    RETURN v_job;
  END IF;
  -- PL/pgSQL rather than SQL: its statement plans are cached for the session.
  SELECT * INTO v_job
    FROM app_jobs._add_jobs(
           ARRAY[ROW(db_id, identifier, payload, job_key, queue_name, run_at, max_attempts,
                     priority)::app_jobs.job_spec],
           ARRAY[correlation_id], ARRAY[backoff], ARRAY[timeout], 'add_job', job_key_mode);
  RETURN v_job;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[]) FROM PUBLIC;

DO $$
DECLARE
  v_grant record;
BEGIN
  FOR v_grant IN
    SELECT a.grantee, a.is_grantable, r.rolname
      FROM pg_catalog.aclexplode(pg_catalog.current_setting('pgjobs.add_job_acl')::pg_catalog.aclitem[]) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE'
       AND a.grantee <> (SELECT p.proowner FROM pg_catalog.pg_proc AS p WHERE p.oid = 'app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[])'::pg_catalog.regprocedure)
  LOOP
    IF v_grant.grantee = 0 THEN
      EXECUTE 'GRANT EXECUTE ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[]) TO PUBLIC';
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[]) TO %I%s', v_grant.rolname,
                                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END IF;
  END LOOP;
END
$$;

COMMENT ON FUNCTION app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text, jsonb, interval, text, bigint[]) IS
  'Enqueues a job and returns its row. db_id: tenant (NULL = the default tenant, the nil uuid); identifier: task name; payload: JSON arguments; job_key: optional key, unique per tenant (an existing waiting job with the key is replaced in place, with attempts and last_error reset; a running one finishes undisturbed without retry and a new job takes the key); queue_name: optional serial queue of the tenant; run_at: not before (default now); max_attempts (left out: the task''s setting, else 25); priority: lower runs first (left out: the task''s setting, else 0); correlation_id: optional id tying related jobs together (list_jobs filters on it); backoff: optional retry delay options of this job ({"strategy": "exponential"|"linear"|"fixed"|"none", "base": seconds, "cap": seconds, "jitter": 0-1}), else fail_job''s, else exp(min(attempts, 10)) seconds; timeout: optional longest run of one attempt (more than 0, at most 7 days, else PJ406): past it the worker stops the handler and fails the attempt, retried as any failure. Left-out max_attempts, priority, queue_name, backoff and timeout take the task''s settings (app_jobs.task_settings). job_key_mode: what a key a job already holds does: replace (default: the waiting job is replaced), preserve_run_at (replaced, its run_at kept), unsafe_dedupe (the existing job is returned untouched, even running). depends_on (0.5.0): ids of jobs this job waits for: it runs only once all have completed (status waiting until then), and is cancelled if one fails or is cancelled; a dependency already completed is met, one failed or cancelled is refused (PJ213), an unknown one PJ211, another tenant''s PJ212; at most 1000, no NULL or duplicate (PJ210); not with job_key (PJ214). Sends NOTIFY "jobs:insert" unless run_at is in the future.';

COMMIT;
