-- Deploy pgjobs:functions/_retry_delay to pg
-- requires: functions/_retry_delay@v0.3.0
-- How long a job waits after its attempt number `p_attempts` failed. Without options: the
-- contract's exp(min(attempts, 10)) seconds. With options (see _check_backoff), n = attempts,
-- base b (default 1 s), cap c (default 6 hours):
--   exponential  b * 2^(n-1)      linear  b * n      fixed  b      none  0
-- then jitter j spreads it uniformly over [1 - j, 1 + j] times, and the cap applies last.
-- 0.4.0: never raises: options are read rounded to a microsecond and clamped, so a stored
-- {"base": 1e-400} (accepted before 0.4.0) no longer fails fail_job with 22003.

BEGIN;

CREATE OR REPLACE FUNCTION app_jobs._retry_delay(p_backoff jsonb, p_attempts integer)
RETURNS interval
LANGUAGE sql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
    WHEN p_backoff IS NULL THEN
      pg_catalog.make_interval(secs => pg_catalog.exp(least(p_attempts, 10)))
    ELSE
      pg_catalog.make_interval(secs => least(
        coalesce(o.cap, 21600),
        (CASE coalesce(p_backoff ->> 'strategy', 'exponential')
           WHEN 'none' THEN 0
           WHEN 'fixed' THEN coalesce(o.base, 1)
           WHEN 'linear' THEN coalesce(o.base, 1) * greatest(p_attempts, 1)
           ELSE coalesce(o.base, 1) * pg_catalog.power(2::float8, least(greatest(p_attempts, 1) - 1, 60))
         END)
        * (1 + coalesce(o.jitter, 0) * (2 * pg_catalog.random() - 1))))
  END
  FROM (SELECT
          -- Each option read as a number rounded to a microsecond and clamped to what
          -- _check_backoff accepts: a stored option from before 0.4.0 (base 1e-400) or
          -- anything else odd gives a delay, never an error. CASE, not a filter: only a CASE
          -- arm is sure never to be evaluated (even folded at plan time) when not taken.
          CASE WHEN pg_catalog.jsonb_typeof(p_backoff -> 'base') = 'number'
               THEN least(greatest(pg_catalog.round((p_backoff ->> 'base')::numeric, 6), 0), 31622400)::float8
          END AS base,
          CASE WHEN pg_catalog.jsonb_typeof(p_backoff -> 'cap') = 'number'
               THEN least(greatest(pg_catalog.round((p_backoff ->> 'cap')::numeric, 6), 0), 31622400)::float8
          END AS cap,
          CASE WHEN pg_catalog.jsonb_typeof(p_backoff -> 'jitter') = 'number'
               THEN least(greatest(pg_catalog.round((p_backoff ->> 'jitter')::numeric, 6), 0), 1)::float8
          END AS jitter) AS o;
$$;

REVOKE ALL ON FUNCTION app_jobs._retry_delay(jsonb, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._retry_delay(jsonb, integer) IS
  'Internal: the delay before the retry after failed attempt p_attempts: exp(min(attempts, 10)) s without options; else exponential b*2^(n-1), linear b*n, fixed b or none 0 (base b default 1 s), times a uniform [1-jitter, 1+jitter], capped (default 6 h).';

COMMIT;
