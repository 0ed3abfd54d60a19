-- Deploy pgjobs:functions/job_throughput to pg
-- requires: tables/job_history
-- Finished jobs per minute and task, for the dashboard's charts. Reads only the history rows
-- finished within `since` (at most a day) through the finished_at index of the day
-- partitions that hold them, so the cost does not grow with the history kept.

BEGIN;

CREATE FUNCTION app_jobs.job_throughput(since interval DEFAULT interval '1 hour')
RETURNS TABLE (
  minute timestamptz,
  task_identifier text,
  completed bigint,
  failed bigint,
  cancelled bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF since IS NULL OR since <= interval '0' OR since > interval '1 day' THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ150',
      MESSAGE = pg_catalog.format('job_throughput: since must be a positive interval of at most 1 day, got %s',
                                  coalesce(since::text, 'NULL')),
      HINT = 'Pass how far back to count, e.g. since := interval ''1 hour''.';
  END IF;
  RETURN QUERY
  SELECT pg_catalog.date_trunc('minute', h.finished_at) AS minute, h.task_identifier,
         count(*) FILTER (WHERE h.status = 'completed'),
         count(*) FILTER (WHERE h.status = 'failed'),
         count(*) FILTER (WHERE h.status = 'cancelled')
    FROM app_jobs.job_history AS h
   WHERE h.finished_at >= pg_catalog.now() - job_throughput.since
   GROUP BY 1, 2
   ORDER BY 1, 2;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs.job_throughput(interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs.job_throughput(interval) IS
  'Jobs finished within `since` (positive, at most 1 day; default 1 hour), per minute (the minute of finished_at) and task: completed, failed and cancelled counts. Minutes without finished jobs have no row. Raises PJ150 for a bad since.';

COMMIT;
