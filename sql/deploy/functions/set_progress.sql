-- Deploy pgjobs:functions/set_progress to pg
-- requires: tables/jobs
-- A running handler reports how far it got; find_job and list_jobs show it while it runs.
-- Only the lock holder can; a late worker changes nothing.

BEGIN;

CREATE FUNCTION app_jobs.set_progress(
  worker_id text,
  job_id bigint,
  percent numeric,
  message text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF set_progress.worker_id IS NULL OR set_progress.worker_id = '' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ102',
      MESSAGE = 'set_progress: worker_id must be a non-empty text',
      HINT = 'Pass the worker_id that claimed the job.';
  END IF;
  IF set_progress.job_id IS NULL THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ103',
      MESSAGE = 'set_progress: job_id must not be NULL',
      HINT = 'Pass the id of the running job.';
  END IF;
  IF set_progress.percent < 0 OR set_progress.percent > 100 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ118',
      MESSAGE = pg_catalog.format('set_progress: percent must be between 0 and 100, got %s', set_progress.percent),
      HINT = 'Pass how far the job got in percent, or NULL to report only a message.';
  END IF;
  UPDATE app_jobs.jobs AS j
     SET progress = coalesce(set_progress.percent, j.progress),
         progress_message = coalesce(set_progress.message, j.progress_message)
   WHERE j.id = set_progress.job_id AND j.locked_by = set_progress.worker_id;
  RETURN FOUND;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.set_progress(text, bigint, numeric, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.set_progress(text, bigint, numeric, text) IS
  'Records the progress of a job held by worker_id: percent (0-100; NULL keeps it) and message (NULL keeps it), shown by find_job and list_jobs while it runs. Returns false (and changes nothing) when worker_id does not hold the job.';

COMMIT;
