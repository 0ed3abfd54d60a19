-- Deploy pgjobs:functions/remove_job to pg
-- requires: functions/remove_job@v0.1.0
-- requires: functions/_tenant
-- Removes a tenant's waiting job by key (graphile-worker's remove_job, scoped by tenant:
-- one tenant can never remove another's job).
-- 0.2.0 (rework): a job_key longer than add_job accepts (512 characters) is refused with
-- PJ106, as add_job refuses it, instead of silently matching nothing: such a key cannot exist,
-- so the caller has a bug (a truncated or over-built key) that a quiet "no row" would hide.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs.remove_job(
  job_key text,
  db_id uuid DEFAULT '00000000-0000-0000-0000-000000000000')
RETURNS SETOF app_jobs.jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid := coalesce(app_jobs._tenant(db_id, 'remove_job'), '00000000-0000-0000-0000-000000000000'::uuid);  -- tenant isolation (issue 15)
  v_job app_jobs.jobs;
BEGIN
  IF job_key IS NULL OR job_key = '' OR pg_catalog.length(job_key) > 512 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ106',
      MESSAGE = pg_catalog.format('remove_job: job_key must be a non-empty text of at most 512 characters, got %s',
                                  CASE WHEN job_key IS NULL THEN 'NULL'
                                       ELSE pg_catalog.length(job_key)::text || ' characters' END),
      HINT = 'Pass the job_key the job was enqueued with (and its tenant as db_id); add_job accepts no key longer than that.';
  END IF;
  DELETE FROM app_jobs.jobs AS j
   WHERE j.database_id = v_tenant AND j.key = job_key AND j.state <> 'running'
  RETURNING j.* INTO v_job;
  IF FOUND THEN
    PERFORM app_jobs._archive_job(v_job, 'cancelled');
    RETURN NEXT v_job;
    RETURN;
  END IF;
  -- Running: it finishes undisturbed, but loses the key and will not be retried.
  UPDATE app_jobs.jobs AS j
     SET key = NULL, superseded = true, max_attempts = greatest(j.attempts, 1),
           updated_at = pg_catalog.now()
   WHERE j.database_id = v_tenant AND j.key = job_key AND j.state = 'running'
  RETURNING j.* INTO v_job;
  IF FOUND THEN
    RETURN NEXT v_job;
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.remove_job(text, uuid) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.remove_job(text, uuid) IS
  'Removes the waiting job with this key of tenant db_id (default: the default tenant); it moves to job_history as cancelled. A running job with the key finishes undisturbed but loses the key and is not retried. Returns the job, or no row when the tenant has no job with that key. A NULL, empty or over-long (> 512 characters) key raises PJ106.';

COMMIT;
