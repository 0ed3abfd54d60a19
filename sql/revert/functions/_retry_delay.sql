-- Revert pgjobs:functions/_retry_delay from pg
-- Back to the 0.3.0 definition (deploy/functions/_retry_delay@v0.3.0.sql).
-- How long a job waits after its attempt number `p_attempts` failed. Without options: the
-- contract's exp(min(attempts, 10)) seconds. With options (see _check_backoff), n = attempts,
-- base b (default 1 s), cap c (default 6 hours):
--   exponential  b * 2^(n-1)      linear  b * n      fixed  b      none  0
-- then jitter j spreads it uniformly over [1 - j, 1 + j] times, and the cap applies last.

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
        coalesce((p_backoff ->> 'cap')::float8, 21600),
        (CASE coalesce(p_backoff ->> 'strategy', 'exponential')
           WHEN 'none' THEN 0
           WHEN 'fixed' THEN coalesce((p_backoff ->> 'base')::float8, 1)
           WHEN 'linear' THEN coalesce((p_backoff ->> 'base')::float8, 1) * greatest(p_attempts, 1)
           ELSE coalesce((p_backoff ->> 'base')::float8, 1)
                * pg_catalog.power(2::float8, least(greatest(p_attempts, 1) - 1, 60))
         END)
        * (1 + coalesce((p_backoff ->> 'jitter')::float8, 0) * (2 * pg_catalog.random() - 1))))
  END;
$$;

REVOKE ALL ON FUNCTION app_jobs._retry_delay(jsonb, integer) FROM PUBLIC;

COMMENT ON FUNCTION app_jobs._retry_delay(jsonb, integer) IS
  'Internal: the delay before the retry after failed attempt p_attempts: exp(min(attempts, 10)) s without options; else exponential b*2^(n-1), linear b*n, fixed b or none 0 (base b default 1 s), times a uniform [1-jitter, 1+jitter], capped (default 6 h).';

COMMIT;
