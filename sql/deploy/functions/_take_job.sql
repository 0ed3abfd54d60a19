-- Deploy pgjobs:functions/_take_job to pg
-- requires: tables/jobs
-- The claim step shared by get_job and claim_job: the job becomes running, locked by the
-- worker, with one more attempt. The caller holds the job row and, for a job of a named
-- queue, has taken the queue.

BEGIN;

CREATE FUNCTION app_jobs._take_job(p_job_id bigint, p_worker_id text)
RETURNS SETOF app_jobs.jobs
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  UPDATE app_jobs.jobs AS j
     SET state = 'running',
         first_started_at = coalesce(j.first_started_at, pg_catalog.now()),
         locked_by = p_worker_id,
         locked_at = pg_catalog.now(),
         attempts = j.attempts + 1,
         updated_at = pg_catalog.now()
   WHERE j.id = p_job_id
  RETURNING j.*;
$$;

REVOKE ALL ON FUNCTION app_jobs._take_job(bigint, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._take_job(bigint, text) IS
  'Internal: locks job p_job_id for worker p_worker_id (state running, attempts + 1) and returns it; the caller holds the row and its queue.';

COMMIT;
