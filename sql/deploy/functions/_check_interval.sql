-- Deploy pgjobs:functions/_check_interval to pg
-- requires: schema
-- An interval pgjobs accepts must be positive and at most a documented maximum: a lease,
-- an expiry or a backfill window of 7,000 years makes now() +- it overflow (22008) in every
-- later call that reads it. NULL passes (the caller's default).

BEGIN;

CREATE FUNCTION app_jobs._check_interval(value interval, argument text, maximum interval)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NOT NULL AND (value <= interval '0' OR value > maximum) THEN
    RAISE EXCEPTION USING
      ERRCODE = 'PJ105',
      MESSAGE = pg_catalog.format('%s must be a positive interval of at most %s, got %s', argument, maximum, value),
      HINT = pg_catalog.format('Pass an interval above 0 and at most %s, or NULL for the default.', maximum);
  END IF;
END;
$$;

REVOKE ALL ON FUNCTION app_jobs._check_interval(interval, text, interval) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._check_interval(interval, text, interval) IS
  'Internal: raises PJ105 (message starting with argument, e.g. ''get_job: job_expiry'') unless value is NULL or above 0 and at most maximum.';

COMMIT;
