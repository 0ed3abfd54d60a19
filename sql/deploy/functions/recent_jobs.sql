-- Deploy pgjobs:functions/recent_jobs to pg
-- requires: functions/list_jobs
-- The newest jobs, for a dashboard's "recent jobs" panel: list_jobs without filters.

BEGIN;

CREATE FUNCTION app_jobs.recent_jobs(row_limit integer DEFAULT 20)
RETURNS SETOF app_jobs.job_info
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF recent_jobs.row_limit IS NULL OR recent_jobs.row_limit < 1 OR recent_jobs.row_limit > 10000 THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ116',
      MESSAGE = pg_catalog.format('recent_jobs: row_limit must be between 1 and 10000, got %s', coalesce(recent_jobs.row_limit::text, 'NULL')),
      HINT = 'Pass how many jobs to show, e.g. 20.';
  END IF;
  RETURN QUERY SELECT * FROM app_jobs.list_jobs(row_limit => recent_jobs.row_limit);
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.recent_jobs(integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.recent_jobs(integer) IS
  'The row_limit (default 20, at most 10000) newest jobs, live first, then the latest finished: list_jobs without filters.';

COMMIT;
