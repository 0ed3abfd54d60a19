-- Revert pgjobs:functions/_live_job_info from pg
-- Back to the 0.4.0 definition (deploy/functions/_live_job_info@v0.4.0.sql).

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._live_job_info(j app_jobs.jobs)
RETURNS app_jobs.job_info
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ROW(
    (j).id, (j).uid,
    CASE WHEN (j).state = 'running' THEN 'running'
         WHEN (j).state = 'paused'
              OR EXISTS (SELECT 1 FROM app_jobs.job_pauses AS p
                          WHERE (p.database_id IS NULL OR p.database_id = (j).database_id)
                            AND (p.queue_name IS NULL OR p.queue_name = (j).queue_name)
                            AND (p.task_identifier IS NULL OR p.task_identifier = (j).task_identifier))
           THEN 'paused'
         WHEN (j).last_error IS NOT NULL THEN 'retrying'
         WHEN (j).run_at > pg_catalog.now() THEN 'scheduled'
         ELSE 'pending' END,
    (j).database_id, (j).task_identifier, (j).queue_name, (j).key, (j).correlation_id,
    (j).payload, (j).priority, (j).run_at, (j).attempts, (j).max_attempts, (j).last_error,
    NULL::jsonb, (j).progress, (j).progress_message, (j).locked_by, (j).created_at,
    (j).first_started_at, (j).locked_at, NULL::timestamptz,
    pg_catalog.now() - (j).locked_at, (j).cancel_requested_at, (j).rerun_of,
    (j).scheduled_job_id, NULL::jsonb)::app_jobs.job_info;
$$;

REVOKE ALL ON FUNCTION app_jobs._live_job_info(app_jobs.jobs) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._live_job_info(app_jobs.jobs) IS
  'Internal: a waiting or running job as app_jobs.job_info, with its status (running, paused, retrying, scheduled or pending).';

COMMIT;
