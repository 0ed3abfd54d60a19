-- Revert pgjobs:functions/_reclaim_job from pg
-- Back to the 0.2.0 definition (deploy/functions/_reclaim_job@v0.2.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._reclaim_job(p_job app_jobs.jobs, p_reason text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_job.queue_name IS NOT NULL THEN
    PERFORM 1 FROM app_jobs.job_queues AS q
      WHERE q.database_id = p_job.database_id AND q.queue_name = p_job.queue_name
        FOR UPDATE SKIP LOCKED;
    IF NOT FOUND AND EXISTS (SELECT 1 FROM app_jobs.job_queues AS q
                              WHERE q.database_id = p_job.database_id
                                AND q.queue_name = p_job.queue_name) THEN
      RETURN;
    END IF;
  END IF;
  PERFORM app_jobs._release_job(p_job, p_reason, false);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._reclaim_job(app_jobs.jobs, text) IS
  'Internal: takes a running job (whose row the caller holds) back from a dead holder as a failed attempt, unless its queue row is busy right now.';

COMMIT;
