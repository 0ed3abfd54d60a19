-- Deploy pgjobs:functions/_check_time to pg
-- requires: schema
-- Every time pgjobs accepts (run_at, after, a reschedule) must be one that every client can
-- read back: PostgreSQL takes 'infinity', '-infinity' and years from 4713 BC to 294276, but
-- Python's datetime (and so the worker) only years 1 to 9999, and a job at +-infinity either
-- never runs or breaks every reader of the row (queue_stats' ages, the worker's decoding).
-- Accepted: from 0001-01-02 to 9999-12-30 (UTC), a day inside Python's range at both ends so
-- that the time stays readable in any session time zone. NULL passes (the caller's default).

BEGIN;

CREATE FUNCTION app_jobs._check_time(value timestamptz, argument text)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NOT NULL
     AND (NOT pg_catalog.isfinite(value)
          OR value < '0001-01-02 00:00:00+00'::timestamptz
          OR value > '9999-12-30 00:00:00+00'::timestamptz) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ119',
      MESSAGE = pg_catalog.format('%s must be a time from 0001-01-02 to 9999-12-30 (UTC), got %s', argument, value),
      DETAIL = 'Infinite, BC and far-future times are refused: no job could run at them, and clients cannot read them back.',
      HINT = 'Pass a real time such as now() + interval ''1 hour'', or NULL for the default.';
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_time(timestamptz, text) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_time(timestamptz, text) IS
  'Internal: raises PJ119 (message starting with argument, e.g. ''add_job: run_at'') unless value is NULL or a time from 0001-01-02 to 9999-12-30 UTC (no infinity, no BC, nothing Python''s datetime cannot hold in any zone).';

COMMIT;
